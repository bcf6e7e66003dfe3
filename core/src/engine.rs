//! The [`Engine`] seam and the values an invocation returns.

use std::sync::Arc;

use crate::{CoreError, EngineId, Host, Identity, Result, Resumable};

/// One call into an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Who called: a transaction sender, or the calling instance.
    pub caller: Identity,
    /// The instance (or, for the EVM, the account) being called.
    pub target: Identity,
    /// Call data.
    pub input: Vec<u8>,
    /// Value transferred, as a 256-bit big-endian integer (EVM wei); engines
    /// without a native currency fault on a non-zero value.
    pub value: [u8; 32],
    /// Gas limit in the engine's native unit.
    pub gas_limit: u64,
}

/// Why an invocation faulted. Consensus data.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultReason {
    /// The gas limit was reached.
    OutOfGas,
    /// The target is already on the call stack (DESIGN.md kernel rule 3).
    Reentrancy {
        /// Engine of the refused instance.
        engine: EngineId,
        /// Identity of the refused instance.
        identity: Identity,
    },
    /// The call stack is [`crate::MAX_CALL_DEPTH`] deep.
    CallDepthExceeded,
    /// No instance with this identity exists in the engine.
    NoSuchInstance {
        /// The identity called.
        identity: Identity,
    },
    /// The guest trapped (PVM panic, WASM trap, invalid instruction).
    Trap,
    /// The guest touched memory it may not (PVM page fault), at this address.
    PageFault {
        /// Faulting address, in bytes.
        address: u64,
    },
    /// Discarded while it waited under a yield (RFC 0010): the handler of
    /// the yield ended its invocation, or answered with `resume_fault`.
    Cancelled,
    /// The target was touched by an invocation that is paused under a yield
    /// the caller's handler chain is handling (RFC 0010 busy rule); the
    /// callee never ran.
    Busy {
        /// Engine of the refused instance.
        engine: EngineId,
        /// Identity of the refused instance.
        identity: Identity,
    },
    /// A call through a [`crate::Cap::Instance`] whose type chain is not the
    /// instance's current one (it changed image since the cap was made);
    /// the callee never ran.
    TypeMismatch {
        /// Engine of the refused instance.
        engine: EngineId,
        /// Identity of the refused instance.
        identity: Identity,
        /// The chain the cap carries.
        expected: [u8; 32],
        /// The instance's chain now.
        found: [u8; 32],
    },
    /// The guest broke an engine rule not listed above.
    Engine {
        /// Which rule, from the one table every engine shares.
        code: FaultCode,
    },
}

/// The rules a guest can break besides those [`FaultReason`] names: one
/// table for every engine (RFC 0002 "Fault codes"), so a caller reads a
/// fault the same way whichever engine reported it. The numbers are stable
/// (they appear in receipts and logs): new codes take new numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum FaultCode {
    /// A call carried a non-zero value to an engine without a native
    /// currency (PVM, WASM, plugins).
    ValueNotAccepted = 1,
    /// The input is larger than the engine's argument region (PVM: 16 MiB).
    InputTooLarge = 2,
    /// The guest grew its memory past the engine's cap (WASM `memory.grow`).
    MemoryLimit = 3,
    /// The guest's recursion passed the engine's stack bound (WASM stack slots).
    StackLimit = 4,
    /// EVM: an undefined opcode.
    EvmOpcodeNotFound = 0x101,
    /// EVM: the designated invalid opcode `0xFE`.
    EvmInvalidFeOpcode = 0x102,
    /// EVM: a jump to a byte that is not a `JUMPDEST`.
    EvmInvalidJump = 0x103,
    /// EVM: an opcode not active in the configured spec id.
    EvmNotActivated = 0x104,
    /// EVM: stack underflow.
    EvmStackUnderflow = 0x105,
    /// EVM: stack overflow (over 1,024 items).
    EvmStackOverflow = 0x106,
    /// EVM: memory or return-data offset out of range.
    EvmOutOfOffset = 0x107,
    /// EVM: CREATE/CREATE2 onto an address with code or nonce.
    EvmCreateCollision = 0x108,
    /// EVM: a precompile failed on its input.
    EvmPrecompileError = 0x109,
    /// EVM: a nonce would overflow `u64`.
    EvmNonceOverflow = 0x10A,
    /// EVM: deployed code over the EIP-170 limit.
    EvmCreateContractSizeLimit = 0x10B,
    /// EVM: deployed code starting with `0xEF` (EIP-3541).
    EvmCreateContractStartingWithEf = 0x10C,
    /// EVM: init code over the EIP-3860 limit.
    EvmCreateInitcodeSizeLimit = 0x10D,
    /// EVM: a value transfer overflowed a balance.
    EvmOverflowPayment = 0x10E,
    /// EVM: a state change inside a `STATICCALL`.
    EvmStateChangeDuringStaticCall = 0x10F,
    /// EVM: a value-carrying call inside a `STATICCALL`.
    EvmCallNotAllowedInsideStatic = 0x110,
    /// EVM: a call or create without the funds for its value.
    EvmOutOfFunds = 0x111,
    /// EVM: call depth over 1,024.
    EvmCallTooDeep = 0x112,
    /// A Braid call into the EVM refused: the caller cannot pay the value it sends.
    EvmInsufficientBalance = 0x180,
    /// A Braid call into the EVM refused: the caller address has code (EIP-3607).
    EvmCallerHasCode = 0x181,
    /// A Braid call into the EVM refused by revm's validation for another reason.
    EvmInvalidCall = 0x182,
}

impl FaultCode {
    /// The stable number of the code.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// How an invocation ended. Consensus data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Finished; its writes commit into the caller's working set.
    Halt {
        /// Return data.
        output: Vec<u8>,
    },
    /// Finished unsuccessfully by its own choice; its writes are discarded.
    Revert {
        /// Return data.
        output: Vec<u8>,
    },
    /// Stopped abnormally; its writes are discarded.
    Fault(FaultReason),
}

impl Outcome {
    /// Whether the outcome commits the invocation's writes.
    pub fn is_halt(&self) -> bool {
        matches!(self, Outcome::Halt { .. })
    }
}

/// The outcome of an invocation and the gas it used, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallResult {
    /// How it ended.
    pub outcome: Outcome,
    /// Gas used, in the called engine's native unit.
    pub gas_used: u64,
}

/// What an engine may write during one invocation (DESIGN.md kernel rule 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// Only the called instance's keys: `(engine, identity)`. PVM, WASM, plugins.
    Instance,
    /// Every key of the engine. The EVM, whose journal keeps Ethereum's
    /// per-frame revert semantics inside that scope.
    Engine,
}

/// An execution engine: validates code at deploy time and runs calls over a [`Host`].
///
/// An engine holds no state of its own beyond caches of validated code; every
/// read and write goes through the host.
pub trait Engine: Send + Sync {
    /// The engine's id, the first byte of every key it owns.
    fn id(&self) -> EngineId;

    /// A short human name (`evm`, `pvm`, ...).
    fn name(&self) -> &'static str;

    /// The mutator scope of one invocation. Default: [`ScopeKind::Instance`].
    fn scope_kind(&self) -> ScopeKind {
        ScopeKind::Instance
    }

    /// Checks code before it is deployed.
    ///
    /// # Errors
    /// [`CoreError::InvalidCode`] with a [`crate::CodeRejection`] kind and
    /// the engine's reason.
    fn validate(&self, code: &[u8]) -> Result<()>;

    /// Runs one call. Gas is charged through [`Host::charge_gas`]; the kernel
    /// reports the total as [`CallResult::gas_used`].
    ///
    /// # Errors
    /// Only when the call could not be processed (backend failure, broken
    /// invariant); guest failures are [`Outcome::Revert`] or [`Outcome::Fault`].
    fn call(&self, host: &mut dyn Host, message: &Message) -> Result<Outcome>;

    /// The engine's [`Resumable`] side, if the kernel may suspend its
    /// invocations (RFC 0010): the kernel then drives it through its
    /// trampoline and never calls [`Engine::call`] for it. Default: `None`
    /// (EVM, WASM, plugins run as one Rust call each).
    fn resumable(&self) -> Option<&dyn Resumable> {
        None
    }
}

/// Braid gas per unit of each engine's native gas, fixed in the chain spec
/// (DESIGN.md kernel rule 6). Default: 1 for every engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GasRates {
    rates: [u64; 256],
}

impl Default for GasRates {
    fn default() -> Self {
        GasRates { rates: [1; 256] }
    }
}

impl GasRates {
    /// Sets the rate of one engine (Braid gas per native unit, at least 1).
    pub fn set(&mut self, engine: EngineId, braid_gas_per_unit: u64) {
        self.rates[engine.0 as usize] = braid_gas_per_unit.max(1);
    }
    /// Braid gas that `native` gas of `engine` costs, or `None` if that
    /// overflows `u64` (chain specs refuse such rates at load).
    pub fn checked_to_braid(&self, engine: EngineId, native: u64) -> Option<u64> {
        native.checked_mul(self.rate(engine))
    }
    /// The rate of one engine.
    pub fn rate(&self, engine: EngineId) -> u64 {
        self.rates[engine.0 as usize]
    }
    /// Native gas that `braid_gas` buys in `engine` (rounded down).
    pub fn to_native(&self, engine: EngineId, braid_gas: u64) -> u64 {
        braid_gas / self.rate(engine)
    }
    /// Braid gas that `native` gas of `engine` costs (saturating).
    pub fn to_braid(&self, engine: EngineId, native: u64) -> u64 {
        native.saturating_mul(self.rate(engine))
    }
}

/// The engines of a chain, by id, with their gas rates.
#[derive(Clone, Default)]
pub struct Engines {
    slots: Vec<Option<Arc<dyn Engine>>>,
    rates: GasRates,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self
            .slots
            .iter()
            .flatten()
            .map(|e| (e.id(), e.name()))
            .collect();
        f.debug_struct("Engines").field("engines", &names).finish()
    }
}

impl Engines {
    /// No engines, every rate 1.
    pub fn new() -> Self {
        Engines {
            slots: vec![None; 256],
            rates: GasRates::default(),
        }
    }

    /// Registers an engine under its own id, replacing any previous one.
    pub fn register(&mut self, engine: Arc<dyn Engine>) {
        let id = engine.id().0 as usize;
        if self.slots.len() < 256 {
            self.slots.resize(256, None);
        }
        self.slots[id] = Some(engine);
    }

    /// The gas rates.
    pub fn rates(&self) -> &GasRates {
        &self.rates
    }

    /// The gas rates, for setting.
    pub fn rates_mut(&mut self) -> &mut GasRates {
        &mut self.rates
    }

    /// The engine registered under `id`.
    ///
    /// # Errors
    /// [`CoreError::UnknownEngine`] if none is.
    pub fn get(&self, id: EngineId) -> Result<&Arc<dyn Engine>> {
        self.slots
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .ok_or(CoreError::UnknownEngine { engine: id })
    }
}
