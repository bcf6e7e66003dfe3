//! The kernel: one call stack per transaction (RFC 0002).
//!
//! Rules (DESIGN.md "Kernel"): exactly one invocation runs; each writes only
//! inside its mutator scope, into its own working set; an instance appears
//! at most once on the stack; HALT merges the callee's working set into its
//! caller's, a fault or revert drops it; cross-engine reads see only what
//! halted invocations committed; one Braid gas budget per transaction.
//!
//! The working sets of a block are one [`WriteJournal`]: an invocation takes a
//! checkpoint when it is pushed, HALT keeps its writes, a fault reverts to
//! its checkpoint, and a read of committed state reads the journal as of the
//! root invocation's checkpoint (RFC 0002, "Working sets as a journal").

use std::collections::BTreeMap;

use braid_core::{
    BlockEnv, BlockHashes, CallResult, CoreError, EngineId, Engines, FaultReason, Host, Identity,
    Invoker, Log, Message, OutOfGas, Outcome, Result, ScopeKind, StateKey, keccak256, key,
};
use braid_state::{Checkpoint, StateDb, StateError, WriteJournal};

use crate::layout;

/// A state failure as the seam reports it: a key limit stays typed, the
/// rest (backend I/O, corrupt data) stops the block.
pub(crate) fn state_err(error: StateError) -> CoreError {
    match error {
        StateError::Key(key) => CoreError::Key(key),
        other => CoreError::state(other),
    }
}

pub use braid_core::MAX_CALL_DEPTH;

/// A block under construction: the committed state plus the writes of the
/// transactions applied so far in this block (and, while a [`Kernel`] runs,
/// of its transaction).
pub struct BlockState<'db> {
    db: &'db StateDb,
    pending: WriteJournal,
    env: BlockEnv,
}

impl<'db> BlockState<'db> {
    /// Starts a block over `db`.
    pub fn new(db: &'db StateDb, env: BlockEnv) -> Self {
        BlockState {
            db,
            pending: WriteJournal::new(),
            env,
        }
    }

    /// The block environment.
    pub fn env(&self) -> &BlockEnv {
        &self.env
    }

    /// The committed state underneath.
    pub fn db(&self) -> &'db StateDb {
        self.db
    }

    /// Reads a key as of the transactions applied so far.
    ///
    /// # Errors
    /// State failures.
    pub fn get(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        self.get_with(engine, identity, engine_key, |v| v.map(<[u8]>::to_vec))
    }

    /// Reads a key as [`BlockState::get`] does and hands the value to `read`
    /// without copying it; returns what `read` returns.
    ///
    /// # Errors
    /// State failures.
    pub fn get_with<R>(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        match self.pending.get(engine, identity, engine_key) {
            Some(v) => Ok(read(v)),
            None => self
                .db
                .get_with(engine, identity, engine_key, read)
                .map_err(state_err),
        }
    }

    /// A privileged write by the chain itself (genesis, sender nonces),
    /// outside any invocation. Checked like any write.
    ///
    /// # Errors
    /// [`CoreError::Key`] for an oversized key or value.
    pub fn set(&mut self, key: StateKey, value: Option<Vec<u8>>) -> Result<()> {
        key.check()?;
        if let Some(v) = &value {
            key::check_value(&key, v)?;
        }
        self.pending
            .put(key.engine, key.identity, &key.engine_key, value);
        self.pending.accept();
        Ok(())
    }

    /// The writes of every transaction applied, sorted by key, ready for
    /// [`StateDb::commit_block`].
    pub fn into_changes(self) -> Vec<(StateKey, Option<Vec<u8>>)> {
        self.pending.into_changes()
    }

    /// Number of keys written so far.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

/// One invocation on the stack.
struct Frame {
    engine: EngineId,
    scope: ScopeKind,
    identity: Identity,
    caller: Identity,
    /// Where the block's [`WriteJournal`] stood when the frame was pushed.
    checkpoint: Checkpoint,
    logs: Vec<Log>,
    gas_limit: u64,
    gas_used: u64,
}

/// What a committed transaction leaves besides its writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionEffects {
    /// Logs of halted invocations, in emission order.
    pub logs: Vec<Log>,
    /// Braid gas used by all root calls.
    pub braid_gas_used: u64,
    /// Native gas used per engine by root calls (nested calls count in their root).
    pub gas_by_engine: BTreeMap<EngineId, u64>,
}

/// The kernel of one transaction: its call stack, working sets and gas budget.
///
/// Create one per transaction with [`Kernel::new`], make root calls with
/// [`Kernel::call`] or [`Kernel::invoke`] (siblings, in order), then
/// [`Kernel::commit`] or drop it to discard everything.
pub struct Kernel<'k, 'db> {
    block: &'k mut BlockState<'db>,
    engines: &'k Engines,
    hashes: &'k dyn BlockHashes,
    /// Where the block's writes stood when the transaction started: dropping
    /// the kernel without [`Kernel::commit`] reverts to it.
    start: Checkpoint,
    committed: bool,
    effects: TransactionEffects,
    stack: Vec<Frame>,
    braid_gas_limit: u64,
}

impl<'k, 'db> Kernel<'k, 'db> {
    /// Starts a transaction with a budget of `braid_gas_limit` Braid gas.
    pub fn new(
        block: &'k mut BlockState<'db>,
        engines: &'k Engines,
        hashes: &'k dyn BlockHashes,
        braid_gas_limit: u64,
    ) -> Self {
        let start = block.pending.checkpoint();
        Kernel {
            block,
            engines,
            hashes,
            start,
            committed: false,
            effects: TransactionEffects::default(),
            stack: Vec::new(),
            braid_gas_limit,
        }
    }

    /// Braid gas left in the transaction's budget.
    pub fn braid_gas_left(&self) -> u64 {
        self.braid_gas_limit
            .saturating_sub(self.effects.braid_gas_used)
    }

    /// The engines of the chain.
    pub fn engines(&self) -> &'k Engines {
        self.engines
    }

    /// Calls `engine` with `message`: a root call when nothing is running, a
    /// nested CALL otherwise (then `engine` must be the running engine's).
    ///
    /// # Errors
    /// [`CoreError::UnknownEngine`]; engine or state failures.
    pub fn call(&mut self, engine: EngineId, message: Message) -> Result<CallResult> {
        let runner = self.engines.get(engine)?.clone();
        let (result, _) = self.invoke(engine, &message, |host| {
            Ok::<_, CoreError>((runner.call(host, &message)?, ()))
        })?;
        Ok(result)
    }

    /// Runs `run` as an invocation of `engine` on `message.target`: pushes a
    /// frame, hands `run` the [`Host`], pops the frame, then commits its
    /// working set into the caller's on [`Outcome::Halt`] or drops it.
    /// `run` returns the outcome and any engine-specific extra value, which
    /// is `None` when the kernel refused the call (depth, reentrancy). `run`
    /// may fail with its own error type `E` (the EVM's transaction path
    /// fails with `EvmError`), which comes back unchanged after the frame's
    /// writes are dropped.
    ///
    /// # Errors
    /// [`CoreError::UnknownEngine`]; whatever `run` fails with.
    pub fn invoke<T, E: From<CoreError>>(
        &mut self,
        engine: EngineId,
        message: &Message,
        run: impl FnOnce(&mut dyn Host) -> Result<(Outcome, T), E>,
    ) -> Result<(CallResult, Option<T>), E> {
        let scope = self.engines.get(engine)?.scope_kind();
        let refuse = |reason| {
            Ok((
                CallResult {
                    outcome: Outcome::Fault(reason),
                    gas_used: 0,
                },
                None,
            ))
        };
        if self.stack.len() >= MAX_CALL_DEPTH {
            return refuse(FaultReason::CallDepthExceeded);
        }
        let in_flight = self.stack.iter().any(|f| {
            f.engine == engine && (scope == ScopeKind::Engine || f.identity == message.target)
        });
        if in_flight {
            return refuse(FaultReason::Reentrancy {
                engine,
                identity: message.target,
            });
        }
        let available = match self.stack.last() {
            Some(parent) => parent.gas_limit - parent.gas_used,
            None => self
                .engines
                .rates()
                .to_native(engine, self.braid_gas_left()),
        };
        let gas_limit = message.gas_limit.min(available);
        let caller = message.caller;
        self.stack.push(Frame {
            engine,
            scope,
            identity: message.target,
            caller,
            checkpoint: self.block.pending.checkpoint(),
            logs: Vec::new(),
            gas_limit,
            gas_used: 0,
        });
        let ran = run(self);
        let Some(frame) = self.stack.pop() else {
            return Err(CoreError::Invariant {
                what: "frame popped by its callee",
            }
            .into());
        };
        let halted = matches!(&ran, Ok((outcome, _)) if outcome.is_halt());
        if !halted {
            // A fault, a revert or an error: the callee's writes are dropped.
            self.block.pending.revert(frame.checkpoint);
        }
        let (outcome, extra) = ran?;
        let gas_used = frame.gas_used.min(frame.gas_limit);
        if halted {
            // The callee's writes stay in the journal: they are now its caller's.
            match self.stack.last_mut() {
                Some(parent) => append(&mut parent.logs, frame.logs),
                None => append(&mut self.effects.logs, frame.logs),
            }
        }
        match self.stack.last_mut() {
            Some(parent) => parent.gas_used += gas_used,
            None => {
                self.effects.braid_gas_used += self.engines.rates().to_braid(engine, gas_used);
                *self.effects.gas_by_engine.entry(engine).or_default() += gas_used;
            }
        }
        Ok((CallResult { outcome, gas_used }, Some(extra)))
    }

    /// Deploys `code` as instance `identity` of `engine` (an engine with
    /// [`ScopeKind::Instance`]): validates it, stores it by hash under the
    /// system engine and writes the instance record `(engine, identity, 0x00)`
    /// = keccak256(code). Writes join the transaction like a halted root call.
    ///
    /// # Errors
    /// [`CoreError::UnknownEngine`], [`CoreError::DeployUnsupported`] for an
    /// engine-scoped engine, [`CoreError::InvalidCode`],
    /// [`CoreError::InstanceExists`], state failures.
    pub fn deploy(
        &mut self,
        engine: EngineId,
        identity: Identity,
        code: &[u8],
    ) -> Result<[u8; 32]> {
        let runner = self.engines.get(engine)?;
        if runner.scope_kind() != ScopeKind::Instance {
            return Err(CoreError::DeployUnsupported { engine });
        }
        runner.validate(code)?;
        if self.committed_get_with(engine, &identity, &layout::INSTANCE_RECORD_KEY, |v| {
            v.is_some()
        })? {
            return Err(CoreError::InstanceExists { engine, identity });
        }
        let hash = keccak256(code);
        let code_key = StateKey::code(&hash);
        key::check_value(&code_key, code)?;
        let writes = &mut self.block.pending;
        writes.put(
            code_key.engine,
            code_key.identity,
            &code_key.engine_key,
            Some(code.to_vec()),
        );
        writes.put(
            engine,
            identity,
            &layout::INSTANCE_RECORD_KEY,
            Some(hash.to_vec()),
        );
        Ok(hash)
    }

    /// Ends the transaction: its writes join the block, its effects are returned.
    pub fn commit(mut self) -> TransactionEffects {
        self.block.pending.accept();
        self.committed = true;
        std::mem::take(&mut self.effects)
    }

    /// Ends the transaction dropping every write; returns the effects it would
    /// have had (gas is still reported), with no logs.
    pub fn discard(mut self) -> TransactionEffects {
        TransactionEffects {
            logs: Vec::new(),
            ..std::mem::take(&mut self.effects)
        }
    }

    /// Read of committed state: halted invocations of this transaction, earlier
    /// transactions of the block, then the database; never the writes of an
    /// invocation on the stack (nor of the halted callees they absorbed).
    /// Hands the value to `read`.
    fn committed_get_with<R>(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        let Some(root) = self.stack.first() else {
            return self.block.get_with(engine, identity, engine_key, read);
        };
        match (self.block.pending).get_as_of(root.checkpoint, engine, identity, engine_key) {
            Some(v) => Ok(read(v)),
            None => (self.block.db)
                .get_with(engine, identity, engine_key, read)
                .map_err(state_err),
        }
    }

    /// Read through the in-flight working sets, then committed state. Hands
    /// the value to `read`.
    fn layered_get_with<R>(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        self.block.get_with(engine, identity, engine_key, read)
    }

    /// [`Kernel::layered_get_with`] returning a copy of the value.
    fn layered_get(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        self.layered_get_with(engine, identity, engine_key, |v| v.map(<[u8]>::to_vec))
    }

    /// Whether a key has a value, through the in-flight working sets.
    fn layered_contains(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<bool> {
        self.layered_get_with(engine, identity, engine_key, |v| v.is_some())
    }

    fn top(&self) -> Result<&Frame> {
        self.stack.last().ok_or(CoreError::Invariant {
            what: "host call with no invocation running",
        })
    }

    fn top_mut(&mut self) -> Result<&mut Frame> {
        self.stack.last_mut().ok_or(CoreError::Invariant {
            what: "host call with no invocation running",
        })
    }

    /// The running frame, after checking that `identity` is inside its scope.
    fn scoped(&mut self, identity: &Identity) -> Result<&mut Frame> {
        let frame = self.top_mut()?;
        if frame.scope == ScopeKind::Instance && frame.identity != *identity {
            return Err(CoreError::ScopeViolation {
                engine: frame.engine,
                scope: frame.scope,
                running: frame.identity,
                identity: *identity,
            });
        }
        Ok(frame)
    }

    fn write(
        &mut self,
        identity: &Identity,
        engine_key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<()> {
        let engine = self.scoped(identity)?.engine;
        key::check_write(engine, identity, engine_key, value)?;
        self.block
            .pending
            .put(engine, *identity, engine_key, value.map(<[u8]>::to_vec));
        Ok(())
    }
}

impl Invoker for Kernel<'_, '_> {
    fn invoke_dyn(
        &mut self,
        engine: EngineId,
        message: &Message,
        run: &mut dyn FnMut(&mut dyn Host) -> Result<Outcome>,
    ) -> Result<CallResult> {
        let (result, _) =
            self.invoke(engine, message, |host| Ok::<_, CoreError>((run(host)?, ())))?;
        Ok(result)
    }
}

impl Drop for Kernel<'_, '_> {
    /// A transaction not committed leaves nothing in the block.
    fn drop(&mut self) {
        if !self.committed {
            self.block.pending.revert(self.start);
        }
    }
}

/// Appends `logs` to `to`, taking over their buffer when `to` is empty (as
/// it is for a transaction's first halted call).
fn append(to: &mut Vec<Log>, logs: Vec<Log>) {
    if to.is_empty() {
        *to = logs;
    } else {
        to.extend(logs);
    }
}

impl Host for Kernel<'_, '_> {
    fn engine(&self) -> EngineId {
        self.stack.last().map_or(EngineId::SYSTEM, |f| f.engine)
    }

    fn self_identity(&self) -> Identity {
        self.stack.last().map_or(Identity::ZERO, |f| f.identity)
    }

    fn caller(&self) -> Identity {
        self.stack.last().map_or(Identity::ZERO, |f| f.caller)
    }

    fn block(&self) -> &BlockEnv {
        &self.block.env
    }

    fn block_hash(&self, number: u64) -> Result<Option<[u8; 32]>> {
        self.hashes.block_hash(number)
    }

    fn instance_code_hash(&mut self) -> Result<Option<[u8; 32]>> {
        let me = self.self_identity();
        let engine = self.scoped(&me)?.engine;
        self.layered_get_with(engine, &me, &layout::INSTANCE_RECORD_KEY, |record| {
            record.map(layout::record_code_hash).transpose()
        })?
    }

    fn get(&mut self, identity: &Identity, engine_key: &[u8]) -> Result<Option<Vec<u8>>> {
        let engine = self.scoped(identity)?.engine;
        self.layered_get(engine, identity, engine_key)
    }

    fn get_with(
        &mut self,
        identity: &Identity,
        engine_key: &[u8],
        read: &mut dyn FnMut(Option<&[u8]>),
    ) -> Result<()> {
        let engine = self.scoped(identity)?.engine;
        self.layered_get_with(engine, identity, engine_key, read)
    }

    fn set(&mut self, identity: &Identity, engine_key: &[u8], value: &[u8]) -> Result<()> {
        self.write(identity, engine_key, Some(value))
    }

    fn delete(&mut self, identity: &Identity, engine_key: &[u8]) -> Result<()> {
        self.write(identity, engine_key, None)
    }

    fn delete_prefix(&mut self, identity: &Identity, prefix: &[u8]) -> Result<()> {
        let engine = self.scoped(identity)?.engine;
        let mut keys: Vec<Vec<u8>> = self
            .block
            .db
            .scan(engine, identity, prefix)
            .map_err(state_err)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.extend(
            self.block
                .pending
                .scope_writes(engine, identity, prefix)
                .map(|(k, _)| k.to_vec()),
        );
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            if self.layered_contains(engine, identity, &key)? {
                self.write(identity, &key, None)?;
            }
        }
        Ok(())
    }

    fn read_state(
        &mut self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        self.committed_get_with(engine, identity, engine_key, |v| v.map(<[u8]>::to_vec))
    }

    fn code(&mut self, code_hash: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let key = StateKey::code(code_hash);
        self.layered_get(key.engine, &key.identity, &key.engine_key)
    }

    fn store_code(&mut self, code: &[u8]) -> Result<[u8; 32]> {
        let hash = keccak256(code);
        let key = StateKey::code(&hash);
        key::check_value(&key, code)?;
        if !self.layered_contains(key.engine, &key.identity, &key.engine_key)? {
            self.top()?;
            self.block.pending.put(
                key.engine,
                key.identity,
                &key.engine_key,
                Some(code.to_vec()),
            );
        }
        Ok(hash)
    }

    fn charge_gas(&mut self, amount: u64) -> Result<(), OutOfGas> {
        let Some(frame) = self.stack.last_mut() else {
            return Err(OutOfGas);
        };
        match frame.gas_used.checked_add(amount) {
            Some(used) if used <= frame.gas_limit => {
                frame.gas_used = used;
                Ok(())
            }
            _ => {
                frame.gas_used = frame.gas_limit;
                Err(OutOfGas)
            }
        }
    }

    fn gas_left(&self) -> u64 {
        self.stack.last().map_or(0, |f| f.gas_limit - f.gas_used)
    }

    fn log(&mut self, identity: &Identity, topics: Vec<[u8; 32]>, data: Vec<u8>) -> Result<()> {
        let frame = self.scoped(identity)?;
        let log = Log {
            engine: frame.engine,
            identity: *identity,
            topics,
            data,
        };
        frame.logs.push(log);
        Ok(())
    }

    fn call(
        &mut self,
        target: Identity,
        input: Vec<u8>,
        value: [u8; 32],
        gas_limit: u64,
    ) -> Result<CallResult> {
        let top = self.top()?;
        let (engine, caller) = (top.engine, top.identity);
        Kernel::call(
            self,
            engine,
            Message {
                caller,
                target,
                input,
                value,
                gas_limit,
            },
        )
    }
}
