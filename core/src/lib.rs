//! `braid-core`: the seams between Braid's engines and its state, and the
//! kernel that enforces isolation between them.
//!
//! What it is: the [`Engine`] and [`Host`] traits, the values that cross them
//! ([`Message`], [`Outcome`], [`CallResult`], [`BlockEnv`], [`Log`]), gas
//! [`GasRates`], and the [`Kernel`]: a strict call stack in which each piece of
//! mutable state has at most one in-flight mutator, HALT commits the callee's
//! working set into its caller's, a fault discards it, and reentrancy is
//! refused (RFC 0002).
//!
//! What it does not do: it runs no bytecode (engines do), signs and decodes no
//! transaction and writes no block (chains do). It depends on `braid-state`
//! only; engines depend on it and never on `braid-state` or on each other.

mod engine;
mod host;
mod kernel;

pub use braid_state::{EngineId, Identity, StateError, StateKey, namespace};
pub use engine::{CallResult, Engine, Engines, FaultReason, GasRates, Message, Outcome, ScopeKind};
pub use host::{BlockEnv, BlockHashes, Host, Log, OutOfGas};
pub use kernel::{BlockState, Kernel, MAX_CALL_DEPTH, TransactionEffects};

/// Errors of the core: the call could not be processed. Consensus outcomes
/// (revert, fault, out-of-gas) are [`Outcome`]s, never errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The state layer failed (backend I/O, corrupt data, invalid key).
    #[error(transparent)]
    State(#[from] braid_state::StateError),
    /// An engine tried to read or write outside its mutator scope.
    #[error(
        "engine {engine} running {scope} tried to access identity {identity}, outside its mutator scope"
    )]
    ScopeViolation {
        /// The running engine.
        engine: EngineId,
        /// The scope it runs in, as text (`engine 0x01` or `0x02/0x..`).
        scope: String,
        /// The identity it named.
        identity: Identity,
    },
    /// No engine is registered under this id.
    #[error("unknown engine id {engine}")]
    UnknownEngine {
        /// The id asked for.
        engine: EngineId,
    },
    /// Code refused at deploy time by the engine's validation.
    #[error("engine {engine} refused code with hash 0x{}: {reason}", hex(.code_hash))]
    InvalidCode {
        /// The engine that validated it.
        engine: EngineId,
        /// keccak256 of the code.
        code_hash: [u8; 32],
        /// The engine's reason.
        #[source]
        reason: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `Kernel::deploy` on an engine whose scope is the whole engine (the EVM
    /// deploys through its own CREATE instead).
    #[error("engine {engine} does not take deployments through the kernel")]
    DeployUnsupported {
        /// The engine.
        engine: EngineId,
    },
    /// A deploy named an instance that already exists.
    #[error("instance {identity} of engine {engine} already exists")]
    InstanceExists {
        /// The engine.
        engine: EngineId,
        /// The identity.
        identity: Identity,
    },
    /// An engine failed internally (not a guest outcome).
    #[error("engine {engine} failed: {source}")]
    Engine {
        /// The engine that failed.
        engine: EngineId,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The kernel's own bookkeeping was misused (e.g. a host call with no invocation running).
    #[error("kernel invariant broken: {what}")]
    Invariant {
        /// Which invariant.
        what: &'static str,
    },
}

/// `Result` with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// The identity of a module instance (PVM, WASM, plugin engines; DESIGN.md
/// "State"): `keccak256(chain_id_be8 ‖ module_name ‖ version_be4)[0..20]`.
pub fn module_identity(chain_id: u64, module_name: &[u8], version: u32) -> Identity {
    let mut preimage = Vec::with_capacity(12 + module_name.len());
    preimage.extend_from_slice(&chain_id.to_be_bytes());
    preimage.extend_from_slice(module_name);
    preimage.extend_from_slice(&version.to_be_bytes());
    let hash = keccak256(&preimage);
    let mut id = [0u8; 20];
    id.copy_from_slice(&hash[..20]);
    Identity(id)
}

/// keccak-256 of `data` (the hash of code, as Ethereum defines it).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    use tiny_keccak::{Hasher, Keccak};
    let mut out = [0u8; 32];
    let mut hasher = Keccak::v256();
    hasher.update(data);
    hasher.finalize(&mut out);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
