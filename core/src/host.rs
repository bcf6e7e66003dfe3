//! The [`Host`] seam: the only door from an engine to the world.

use crate::{CallResult, Cap, CapResult, CoreError, EngineId, Identity, Message, Outcome, Result};

/// The block an invocation runs in. Shared by every engine; EVM-only fields
/// (difficulty, blob gas) are carried here so one value describes the block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockEnv {
    /// Chain id (EIP-155).
    pub chain_id: u64,
    /// Block number (height).
    pub number: u64,
    /// Unix time, in seconds.
    pub timestamp: u64,
    /// Fee recipient.
    pub coinbase: Identity,
    /// Block gas limit, in EVM gas.
    pub gas_limit: u64,
    /// EIP-1559 base fee, in wei per gas.
    pub base_fee: u64,
    /// EIP-4399 `prevrandao` (the `mixHash`).
    pub prevrandao: [u8; 32],
    /// Pre-merge difficulty, 256-bit big-endian.
    pub difficulty: [u8; 32],
    /// EIP-4844 excess blob gas, if the fork has blobs.
    pub excess_blob_gas: Option<u64>,
}

impl Default for BlockEnv {
    fn default() -> Self {
        BlockEnv {
            chain_id: 1,
            number: 0,
            timestamp: 0,
            coinbase: Identity::ZERO,
            gas_limit: 30_000_000,
            base_fee: 0,
            prevrandao: [0; 32],
            difficulty: [0; 32],
            excess_blob_gas: Some(0),
        }
    }
}

/// Where `BLOCKHASH` answers come from.
pub trait BlockHashes {
    /// The hash of block `number`: `None` when the chain does not answer for
    /// that number (the current block or later, or older than the window the
    /// chain keeps; `BLOCKHASH` then gives zero, as on Ethereum).
    ///
    /// # Errors
    /// [`crate::CoreError::BlockHash`] when a block the chain must know cannot
    /// be read (missing or corrupt header, backend failure): the block stops,
    /// it never runs on a made-up hash.
    fn block_hash(&self, number: u64) -> Result<Option<[u8; 32]>>;
}

/// A chain with no earlier blocks: every `BLOCKHASH` is unknown (zero). For
/// tests, benches and one-off runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoBlockHashes;

impl BlockHashes for NoBlockHashes {
    fn block_hash(&self, _number: u64) -> Result<Option<[u8; 32]>> {
        Ok(None)
    }
}

/// An event emitted by an invocation; kept if it halts, dropped if it faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// The emitting engine.
    pub engine: EngineId,
    /// The emitting instance or account.
    pub identity: Identity,
    /// Indexed topics.
    pub topics: Vec<[u8; 32]>,
    /// Payload.
    pub data: Vec<u8>,
}

/// Returned by [`Host::charge_gas`] when the invocation's gas limit is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfGas;

/// What an engine may do during one invocation. The kernel implements it.
///
/// Own-scope operations take an identity because the EVM's scope is the whole
/// engine; for every other engine the identity must be the running instance's
/// and anything else is refused with [`crate::CoreError::ScopeViolation`]. The
/// engine id is never named: writes always go to the running engine.
pub trait Host {
    /// The running engine.
    fn engine(&self) -> EngineId;
    /// The running instance (for the EVM: the called account).
    fn self_identity(&self) -> Identity;
    /// Who called the running invocation.
    fn caller(&self) -> Identity;
    /// The block being built.
    fn block(&self) -> &BlockEnv;
    /// The hash of an earlier block, if the chain answers for it.
    ///
    /// # Errors
    /// As [`BlockHashes::block_hash`].
    fn block_hash(&self, number: u64) -> Result<Option<[u8; 32]>>;

    /// Reads a key of the running engine, through every working set in flight.
    ///
    /// # Errors
    /// [`crate::CoreError::ScopeViolation`] outside the scope; state failures.
    fn get(&mut self, identity: &Identity, engine_key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Reads a key as [`Host::get`] does, but lends the value to `read`
    /// (`None`: absent) instead of returning a copy, so a host that holds
    /// the bytes (the kernel does) reads without allocating.
    ///
    /// # Errors
    /// As [`Host::get`]; `read` is not called then.
    fn get_with(
        &mut self,
        identity: &Identity,
        engine_key: &[u8],
        read: &mut dyn FnMut(Option<&[u8]>),
    ) -> Result<()> {
        read(self.get(identity, engine_key)?.as_deref());
        Ok(())
    }

    /// Writes a key of the running engine into the invocation's working set.
    ///
    /// Engines check a guest's key and value against [`crate::key`]'s limits
    /// first ([`crate::key::check_write`]) and turn a violation into a status
    /// or a fault of the guest.
    ///
    /// # Errors
    /// [`crate::CoreError::ScopeViolation`] outside the scope;
    /// [`crate::CoreError::Key`] for an oversized key or value (a broken
    /// engine); state failures.
    fn set(&mut self, identity: &Identity, engine_key: &[u8], value: &[u8]) -> Result<()>;

    /// Deletes a key of the running engine.
    ///
    /// # Errors
    /// As [`Host::set`].
    fn delete(&mut self, identity: &Identity, engine_key: &[u8]) -> Result<()>;

    /// Deletes every key of `identity` whose engine key starts with `prefix`
    /// (EVM `SELFDESTRUCT` and re-create wipe storage this way).
    ///
    /// # Errors
    /// As [`Host::set`].
    fn delete_prefix(&mut self, identity: &Identity, prefix: &[u8]) -> Result<()>;

    /// Cross-engine read (RFC 0004): a key of any engine, as committed by
    /// halted invocations so far; never the working set of an in-flight one.
    /// Costs no gas here: each engine charges its documented price.
    ///
    /// # Errors
    /// State failures.
    fn read_state(
        &mut self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<Option<Vec<u8>>>;

    /// The code hash of the running instance, from its instance record
    /// (kernel data, written at deploy); `None` when there is no such
    /// instance (engines fault with [`crate::FaultReason::NoSuchInstance`]).
    /// For instance-scoped engines.
    ///
    /// # Errors
    /// State failures; a record that does not decode.
    fn instance_code_hash(&mut self) -> Result<Option<[u8; 32]>>;

    /// Content-addressed code by keccak-256 hash, from the system engine.
    ///
    /// # Errors
    /// State failures.
    fn code(&mut self, code_hash: &[u8; 32]) -> Result<Option<Vec<u8>>>;

    /// Stores code by its keccak-256 hash under the system engine and returns
    /// the hash. Content-addressed, so it cannot overwrite anything else.
    ///
    /// # Errors
    /// [`crate::CoreError::Key`] past the value limit.
    fn store_code(&mut self, code: &[u8]) -> Result<[u8; 32]>;

    /// Charges `amount` native gas to the invocation.
    ///
    /// # Errors
    /// [`OutOfGas`] if that exceeds its limit; the invocation then has no gas left.
    fn charge_gas(&mut self, amount: u64) -> Result<(), OutOfGas>;

    /// Native gas left to the invocation.
    fn gas_left(&self) -> u64;

    /// Emits a log from `identity` (checked against the scope like a write).
    ///
    /// # Errors
    /// [`crate::CoreError::ScopeViolation`] outside the scope.
    fn log(&mut self, identity: &Identity, topics: Vec<[u8; 32]>, data: Vec<u8>) -> Result<()>;

    /// Calls another instance of the running engine through the kernel
    /// (DESIGN.md kernel rules 1-4). `gas_limit` is capped at [`Host::gas_left`];
    /// the gas the callee used is charged to the caller.
    ///
    /// # Errors
    /// Only when the call could not be processed; refusals (reentrancy, depth)
    /// are [`crate::Outcome::Fault`]s.
    fn call(
        &mut self,
        target: Identity,
        input: Vec<u8>,
        value: [u8; 32],
        gas_limit: u64,
    ) -> Result<CallResult>;

    // Capabilities (RFC 0010). Slots are named by number, never by cap
    // bytes: an engine reads caps to answer its guest, but every cap a slot
    // receives is made by the kernel. Slot classes: 0 scratch, 1..=0xEF
    // persistent, 0xF0..=0xFF ephemeral, plus the pinned overlay of the
    // running instance's image ([`crate::cap::slot`]). A refusal
    // ([`crate::CapRefusal`]) changes nothing. Default: every method fails
    // with [`CoreError::CapsUnsupported`] (a host without caps); the kernel
    // implements them for instance-scoped engines.

    /// The cap in `slot` of the running instance (pinned overlay first).
    ///
    /// # Errors
    /// [`CoreError::CapsUnsupported`]; state failures; corrupt stored caps.
    fn cap(&mut self, slot: u8) -> Result<Option<Cap>> {
        let _ = slot;
        Err(caps_unsupported(self.engine()))
    }

    /// Copies the cap in `src` to `dst` (an empty `src` empties `dst`).
    /// Refused: `dst` pinned, a [`Cap::YieldRef`] into a persistent slot.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn slot_copy(&mut self, src: u8, dst: u8) -> Result<CapResult> {
        let _ = (src, dst);
        Err(caps_unsupported(self.engine()))
    }

    /// Moves the cap in `src` to `dst`: as [`Host::slot_copy`], then `src`
    /// is emptied. Also refused when `src` is pinned.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn slot_move(&mut self, src: u8, dst: u8) -> Result<CapResult> {
        let _ = (src, dst);
        Err(caps_unsupported(self.engine()))
    }

    /// Empties `slot`. Refused when it is pinned.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn slot_drop(&mut self, slot: u8) -> Result<CapResult> {
        let _ = slot;
        Err(caps_unsupported(self.engine()))
    }

    /// Mints a [`Cap::Data`] of `bytes` zero-padded to `size` bytes into
    /// `dst`, storing the bytes (trailing zeros stripped) by hash. Refused:
    /// `size` below `bytes.len()` ([`crate::CapRefusal::BadArgument`]), over
    /// [`crate::cap::MAX_DATA_SIZE`] ([`crate::CapRefusal::TooLarge`]), `dst`
    /// pinned.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn data_mint(&mut self, bytes: &[u8], size: u32, dst: u8) -> Result<CapResult> {
        let _ = (bytes, size, dst);
        Err(caps_unsupported(self.engine()))
    }

    /// Lends the stored bytes of the [`Cap::Data`] in `slot` (trailing
    /// zeros stripped) and its size to `read`; the bytes past the stripped
    /// ones up to the size are zeros.
    ///
    /// # Errors
    /// As [`Host::cap`]; a Data cap whose bytes are not stored (corrupt).
    fn data_read(&mut self, slot: u8, read: &mut dyn FnMut(&[u8], u32)) -> Result<CapResult> {
        let _ = (slot, read);
        Err(caps_unsupported(self.engine()))
    }

    /// Makes a [`Cap::Image`] of the running engine into `dst` whose code is
    /// the bytes of the [`Cap::Data`] in `code` (checked by
    /// `Engine::validate`) and whose pinned slots are the entries of the
    /// [`Cap::CNode`] in `pinned` (keys are slot numbers, each in
    /// 1..=0xEF). Stores the code and the image by hash.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn image_make(&mut self, code: u8, pinned: Option<u8>, dst: u8) -> Result<CapResult> {
        let _ = (code, pinned, dst);
        Err(caps_unsupported(self.engine()))
    }

    /// Packs slots `first .. first + count` (empty ones skipped, keys are
    /// offsets from `first`) into a [`Cap::CNode`] in `dst`. Refused: a
    /// [`Cap::YieldRef`] in the range, a range past slot 255.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn cnode_pack(&mut self, first: u8, count: u16, dst: u8) -> Result<CapResult> {
        let _ = (first, count, dst);
        Err(caps_unsupported(self.engine()))
    }

    /// Writes each entry `(k, cap)` of the [`Cap::CNode`] in `cnode` into
    /// slot `first + k`; slots without an entry are left as they are.
    /// Refused, writing nothing, if any target slot is pinned or past slot
    /// 255.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn cnode_unpack(&mut self, cnode: u8, first: u8) -> Result<CapResult> {
        let _ = (cnode, first);
        Err(caps_unsupported(self.engine()))
    }

    /// Puts a [`Cap::Instance`] of instance `(engine, identity)`, with its
    /// current image chain, into `dst`. Refused: no such instance, an engine
    /// that keeps no instances.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn instance_cap(
        &mut self,
        engine: EngineId,
        identity: &Identity,
        dst: u8,
    ) -> Result<CapResult> {
        let _ = (engine, identity, dst);
        Err(caps_unsupported(self.engine()))
    }

    /// Switches the running instance to the [`Cap::Image`] in `image` (of
    /// the running engine) from its next invocation on, extending its chain
    /// (RFC 0010 D10). The running invocation keeps its code and pinned
    /// slots; a fault undoes the switch.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn set_image(&mut self, image: u8) -> Result<CapResult> {
        let _ = image;
        Err(caps_unsupported(self.engine()))
    }

    /// Creates a new instance of the [`Cap::Image`] in `image`, with an
    /// identity derived from the running instance and its spawn nonce, and
    /// puts a [`Cap::Instance`] of it into `dst`.
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn derive_spawn(&mut self, image: u8, dst: u8) -> Result<CapResult> {
        let _ = (image, dst);
        Err(caps_unsupported(self.engine()))
    }

    /// Puts a [`Cap::YieldRef`] naming the running invocation's entry into
    /// `dst` (slot 0 or an ephemeral slot; any other is refused).
    ///
    /// # Errors
    /// As [`Host::cap`].
    fn yieldref_mint(&mut self, dst: u8) -> Result<CapResult> {
        let _ = dst;
        Err(caps_unsupported(self.engine()))
    }
}

fn caps_unsupported(engine: EngineId) -> CoreError {
    CoreError::CapsUnsupported { engine }
}

/// Runs root invocations: the kernel of a transaction, seen from an engine's
/// own entry point that is not a [`Message`] call (the EVM's Ethereum
/// transactions), so such an entry point runs as a kernel invocation without
/// naming the kernel.
pub trait Invoker {
    /// Runs `run` as an invocation of `engine` on `message.target`: the
    /// kernel pushes a frame, hands `run` the [`Host`], pops the frame, then
    /// commits its working set into the caller's on [`Outcome::Halt`] or
    /// drops it. When the kernel refuses the call (depth, reentrancy) `run`
    /// never runs and the result is the refusal's fault.
    ///
    /// # Errors
    /// [`crate::CoreError::UnknownEngine`]; whatever `run` fails with (the
    /// frame's writes are dropped first).
    fn invoke_dyn(
        &mut self,
        engine: EngineId,
        message: &Message,
        run: &mut dyn FnMut(&mut dyn Host) -> Result<Outcome>,
    ) -> Result<CallResult>;
}
