//! The kernel: one call stack per transaction (RFC 0002, RFC 0010).
//!
//! Rules (DESIGN.md "Kernel"): exactly one invocation runs; each writes only
//! inside its mutator scope, into its own working set; an instance appears
//! at most once on the stack; HALT merges the callee's working set into its
//! caller's, a fault or revert drops it; cross-engine reads see only what
//! halted invocations committed; one Braid gas budget per transaction.
//!
//! The stack holds entries (RFC 0010): an [`Invocation`] per CALL, and a
//! reference per YIELD naming the invocation that handles it. Engines that
//! cannot suspend (EVM, WASM, plugins) run as one Rust call per invocation
//! ([`Kernel::invoke`]); resumable engines (the PVM) are driven by the
//! trampoline in `trampoline.rs`, so their CALL, YIELD and RESUME are
//! pushes and pops of entries, not Rust recursion.
//!
//! The working sets of a block are one [`WriteJournal`]: an invocation takes a
//! checkpoint when it is pushed, HALT keeps its writes, a fault reverts to
//! its checkpoint, and a read of committed state reads the journal as of the
//! root invocation's checkpoint (RFC 0002, "Working sets as a journal").
//! Every write is tagged with the entry id of its writer, so that an
//! invocation a yield crossed reverts only its own subtree's writes (RFC
//! 0010, "The journal").

use std::collections::BTreeMap;

use braid_core::{
    BlockEnv, BlockHashes, CallResult, Cap, CapResult, Continuation, CoreError, EngineId, Engines,
    EntryId, FaultReason, Host, Identity, Invoker, Log, Message, OutOfGas, Outcome, Result,
    ScopeKind, StateKey, keccak256, key,
};
use braid_state::{Checkpoint, NO_OWNER, StateDb, StateError, WriteJournal};

use crate::layout::{self, InstanceRecord};
use crate::trace::TraceEvent;

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
    pub(crate) pending: WriteJournal,
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

/// Where a waiting or running invocation stands (RFC 0010 §"The stack").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InvocationState {
    /// Its code runs (it is the running invocation).
    Running,
    /// It waits for the entry above it: the callee of its CALL, or the
    /// yielder its RESUME woke.
    Calling,
    /// It waits for a RESUME of its own YIELD.
    Yielded,
}

/// What the trampoline keeps of a resumable invocation.
pub(crate) struct Suspended {
    /// The message it started with (taken out while its engine runs).
    pub(crate) message: Option<Message>,
    /// Its entry point.
    pub(crate) endpoint: u8,
    /// Its suspended state while it waits.
    pub(crate) cont: Option<Continuation>,
}

/// An invocation on the stack (an InstanceEntry, RFC 0010).
pub(crate) struct Invocation {
    pub(crate) id: EntryId,
    /// Stack index of the invocation that called it (`None` for a root call).
    pub(crate) parent: Option<usize>,
    pub(crate) engine: EngineId,
    pub(crate) scope: ScopeKind,
    pub(crate) identity: Identity,
    pub(crate) caller: Identity,
    /// Where the block's [`WriteJournal`] stood when it was pushed.
    pub(crate) checkpoint: Checkpoint,
    /// A yield from above it went to an entry below it: entries below may
    /// have written since its checkpoint, so a revert is by owner.
    pub(crate) crossed: bool,
    pub(crate) logs: Vec<Log>,
    /// Native gas limit; shrinks when a yield settles its use (RFC 0010 "Gas").
    pub(crate) gas_limit: u64,
    /// Native gas used and not yet settled into the caller.
    pub(crate) gas_used: u64,
    /// Native gas used in all, by it and its callees: what its
    /// [`CallResult::gas_used`] reports.
    pub(crate) gas_spent: u64,
    pub(crate) state: InvocationState,
    /// Set for invocations the trampoline drives.
    pub(crate) resumable: Option<Suspended>,
    /// Slot 0.
    pub(crate) scratch: Option<Cap>,
    /// Slots 0xF0..=0xFF, allocated on first write.
    pub(crate) ephemeral: Option<Box<[Option<Cap>; 16]>>,
    /// The pinned slots of its image, loaded on first use.
    pub(crate) pinned: Option<Vec<(u8, Cap)>>,
}

/// One entry of the stack (RFC 0010).
#[expect(
    clippy::large_enum_variant,
    reason = "at most 64 entries in one Vec; boxing would allocate per call, and references are rare"
)]
pub(crate) enum Entry {
    /// An invocation.
    Invocation(Invocation),
    /// Pushed by a YIELD: the invocation at stack index `target` runs its
    /// handler on top of the stack until it resumes.
    Reference {
        /// Stack index of the handling invocation.
        target: usize,
    },
}

/// What the kernel remembers of each invocation of the transaction, by
/// entry id, after it left the stack too: whose call it was (selective
/// reverts, the busy rule) and how it ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryMeta {
    /// Entry id of its caller, or [`NO_OWNER`] for a root call.
    pub(crate) parent: u32,
    pub(crate) engine: EngineId,
    pub(crate) identity: Identity,
    pub(crate) status: EntryStatus,
    /// Its stack index while it is [`EntryStatus::Live`].
    pub(crate) index: usize,
}

/// Whether an invocation is on the stack, or how it left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryStatus {
    Live,
    Halted,
    Dropped,
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
    pub(crate) block: &'k mut BlockState<'db>,
    pub(crate) engines: &'k Engines,
    hashes: &'k dyn BlockHashes,
    /// Where the block's writes stood when the transaction started: dropping
    /// the kernel without [`Kernel::commit`] reverts to it.
    start: Checkpoint,
    committed: bool,
    effects: TransactionEffects,
    pub(crate) stack: Vec<Entry>,
    braid_gas_limit: u64,
    /// Stack index of the running invocation (meaningful while the stack is
    /// not empty): the top entry, or the target of a top reference.
    pub(crate) running: usize,
    /// Stack index of the innermost trampoline's root: yields stay above it.
    pub(crate) base: usize,
    /// Every invocation of the transaction: entry id `n` at index `n - 1`
    /// (id 0 is [`NO_OWNER`]).
    pub(crate) meta: Vec<EntryMeta>,
    /// Instances created by `derive_spawn`: `(spawner entry id, engine, identity)`.
    pub(crate) spawns: Vec<(u32, EngineId, Identity)>,
    /// Number of references on the stack.
    pub(crate) references: usize,
    pub(crate) trace: Option<Vec<TraceEvent>>,
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
            running: 0,
            base: 0,
            meta: Vec::new(),
            spawns: Vec::new(),
            references: 0,
            trace: None,
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

    /// Records every push, pop, yield, resume and cancellation of the
    /// stack from now on, for [`Kernel::take_trace`].
    pub fn record_trace(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }

    /// The events recorded since [`Kernel::record_trace`] (or the last
    /// call), in order.
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Calls `engine` with `message`: a root call when nothing is running, a
    /// nested CALL otherwise (then `engine` must be the running engine's).
    /// A resumable engine ([`braid_core::Engine::resumable`]) runs on the
    /// kernel's trampoline: its nested calls, yields and resumes are stack
    /// entries, and every yield inside is resolved before this returns.
    ///
    /// # Errors
    /// [`CoreError::UnknownEngine`]; engine or state failures.
    pub fn call(&mut self, engine: EngineId, message: Message) -> Result<CallResult> {
        let runner = self.engines.get(engine)?.clone();
        if runner.resumable().is_some() {
            return self.run_trampoline(engine, &runner, message);
        }
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
        if let Some(reason) = self.refusal(engine, scope, &message.target) {
            return Ok((refused(reason), None));
        }
        let saved = self.running;
        let index = self.push(engine, scope, message, None)?;
        self.running = index;
        let ran = run(self);
        self.running = saved;
        if self.stack.len() != index + 1 {
            return Err(CoreError::Invariant {
                what: "frame popped by its callee",
            }
            .into());
        }
        match ran {
            Ok((outcome, extra)) => Ok((self.pop_top(outcome)?, Some(extra))),
            Err(error) => {
                // The callee's writes are dropped.
                self.pop_top(Outcome::Fault(FaultReason::Trap))?;
                Err(error)
            }
        }
    }

    /// Why the kernel refuses to push an invocation of `(engine, target)`
    /// (DESIGN.md kernel rules 1 and 3), if it does.
    pub(crate) fn refusal(
        &self,
        engine: EngineId,
        scope: ScopeKind,
        target: &Identity,
    ) -> Option<FaultReason> {
        if self.stack.len() >= MAX_CALL_DEPTH {
            return Some(FaultReason::CallDepthExceeded);
        }
        let in_flight = self.invocations().any(|(_, f)| {
            f.engine == engine && (scope == ScopeKind::Engine || f.identity == *target)
        });
        in_flight.then_some(FaultReason::Reentrancy {
            engine,
            identity: *target,
        })
    }

    /// Pushes an invocation of `message` called by the running invocation
    /// (a root call when the stack is empty) and returns its stack index.
    /// Its gas limit is `message.gas_limit` capped at what the caller (or
    /// the transaction's budget) has left. It gets a fresh entry id and
    /// empty slots.
    pub(crate) fn push(
        &mut self,
        engine: EngineId,
        scope: ScopeKind,
        message: &Message,
        resumable: Option<Suspended>,
    ) -> Result<usize> {
        let parent = (!self.stack.is_empty()).then_some(self.running);
        let available = match parent {
            Some(p) => {
                let caller = self.invocation(p)?;
                caller.gas_limit - caller.gas_used
            }
            None => self
                .engines
                .rates()
                .to_native(engine, self.braid_gas_left()),
        };
        let id = u32::try_from(self.meta.len() + 1).map_err(|_| CoreError::Invariant {
            what: "more than 2^32 invocations in one transaction",
        })?;
        let parent_id = match parent {
            Some(p) => self.invocation(p)?.id.0,
            None => NO_OWNER,
        };
        let index = self.stack.len();
        self.meta.push(EntryMeta {
            parent: parent_id,
            engine,
            identity: message.target,
            status: EntryStatus::Live,
            index,
        });
        self.stack.push(Entry::Invocation(Invocation {
            id: EntryId(id),
            parent,
            engine,
            scope,
            identity: message.target,
            caller: message.caller,
            checkpoint: self.block.pending.checkpoint(),
            crossed: false,
            logs: Vec::new(),
            gas_limit: message.gas_limit.min(available),
            gas_used: 0,
            gas_spent: 0,
            state: InvocationState::Running,
            resumable,
            scratch: None,
            ephemeral: None,
            pinned: None,
        }));
        self.record(|| TraceEvent::Push {
            engine,
            identity: message.target,
        });
        Ok(index)
    }

    /// Pops the top entry, which must be an invocation, ending it with
    /// `outcome` (traced as a pop).
    pub(crate) fn pop_top(&mut self, outcome: Outcome) -> Result<CallResult> {
        let Some(Entry::Invocation(invocation)) = self.stack.pop() else {
            return Err(CoreError::Invariant {
                what: "the top entry is not an invocation",
            });
        };
        if self.trace.is_some() {
            let event = TraceEvent::Pop {
                identity: invocation.identity,
                outcome: outcome.clone(),
            };
            self.record(|| event);
        }
        self.end(invocation, outcome)
    }

    /// Pops the top entry as cancelled (RFC 0010 D6): a reference simply
    /// goes; an invocation ends with `Fault(Cancelled)`, whose result is
    /// returned.
    pub(crate) fn cancel_top(&mut self) -> Result<Option<CallResult>> {
        match self.stack.pop() {
            Some(Entry::Reference { .. }) => {
                self.references -= 1;
                Ok(None)
            }
            Some(Entry::Invocation(invocation)) => {
                let identity = invocation.identity;
                self.record(|| TraceEvent::Cancel { identity });
                let result = self.end(invocation, Outcome::Fault(FaultReason::Cancelled))?;
                Ok(Some(result))
            }
            None => Err(CoreError::Invariant {
                what: "cancel on an empty stack",
            }),
        }
    }

    /// Ends a popped invocation: HALT keeps its writes (they are now its
    /// caller's), merges its logs and reflects its slot 0 into its caller's;
    /// anything else reverts its writes and drops its logs. Its gas goes to
    /// its caller (or, at the root, to the transaction) either way.
    fn end(&mut self, invocation: Invocation, outcome: Outcome) -> Result<CallResult> {
        let halted = outcome.is_halt();
        if !halted {
            self.revert(&invocation);
        }
        self.entry_meta(invocation.id.0)?.status = if halted {
            EntryStatus::Halted
        } else {
            EntryStatus::Dropped
        };
        let gas_used = invocation.gas_spent;
        match invocation.parent {
            Some(p) => {
                let caller = self.invocation_mut(p)?;
                caller.gas_used += invocation.gas_used;
                caller.gas_spent += invocation.gas_spent;
                if halted {
                    append(&mut caller.logs, invocation.logs);
                    caller.scratch = invocation.scratch;
                }
            }
            None => {
                let engine = invocation.engine;
                self.effects.braid_gas_used += self.engines.rates().to_braid(engine, gas_used);
                *self.effects.gas_by_engine.entry(engine).or_default() += gas_used;
                if halted {
                    append(&mut self.effects.logs, invocation.logs);
                }
            }
        }
        Ok(CallResult { outcome, gas_used })
    }

    /// Undoes the writes of an invocation that did not halt: every write
    /// since its checkpoint when no yield crossed it (only its subtree ran
    /// since), else only those its subtree owns (RFC 0010 "The journal").
    fn revert(&mut self, invocation: &Invocation) {
        if !invocation.crossed {
            self.block.pending.revert(invocation.checkpoint);
            return;
        }
        let meta = &self.meta;
        let root = invocation.id.0;
        self.block
            .pending
            .revert_owned(invocation.checkpoint, |owner| descends(meta, owner, root));
    }

    /// What the kernel remembers of entry `id`.
    pub(crate) fn entry_meta(&mut self, id: u32) -> Result<&mut EntryMeta> {
        let index = (id as usize).wrapping_sub(1);
        self.meta.get_mut(index).ok_or(CoreError::Invariant {
            what: "an entry id the kernel did not issue",
        })
    }

    /// The invocations on the stack with their indices, bottom first.
    pub(crate) fn invocations(&self) -> impl Iterator<Item = (usize, &Invocation)> {
        self.stack.iter().enumerate().filter_map(|(i, e)| match e {
            Entry::Invocation(f) => Some((i, f)),
            Entry::Reference { .. } => None,
        })
    }

    /// The invocation at stack index `index`.
    pub(crate) fn invocation(&self, index: usize) -> Result<&Invocation> {
        match self.stack.get(index) {
            Some(Entry::Invocation(f)) => Ok(f),
            _ => Err(CoreError::Invariant {
                what: "no invocation at a stack index the kernel holds",
            }),
        }
    }

    /// The invocation at stack index `index`, for changing.
    pub(crate) fn invocation_mut(&mut self, index: usize) -> Result<&mut Invocation> {
        match self.stack.get_mut(index) {
            Some(Entry::Invocation(f)) => Ok(f),
            _ => Err(CoreError::Invariant {
                what: "no invocation at a stack index the kernel holds",
            }),
        }
    }

    /// Appends a trace event (built only when tracing).
    pub(crate) fn record(&mut self, event: impl FnOnce() -> TraceEvent) {
        if let Some(trace) = &mut self.trace {
            trace.push(event());
        }
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
        let Some(Entry::Invocation(root)) = self.stack.first() else {
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
    pub(crate) fn layered_get_with<R>(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        self.block.get_with(engine, identity, engine_key, read)
    }

    /// [`Kernel::layered_get_with`] returning a copy of the value.
    pub(crate) fn layered_get(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        self.layered_get_with(engine, identity, engine_key, |v| v.map(<[u8]>::to_vec))
    }

    /// Whether a key has a value, through the in-flight working sets.
    pub(crate) fn layered_contains(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<bool> {
        self.layered_get_with(engine, identity, engine_key, |v| v.is_some())
    }

    /// The instance record of `(engine, identity)` through the in-flight
    /// working sets, decoded.
    ///
    /// # Errors
    /// State failures; a record of the wrong length.
    pub(crate) fn instance_record(
        &self,
        engine: EngineId,
        identity: &Identity,
    ) -> Result<Option<InstanceRecord>> {
        self.layered_get_with(engine, identity, &layout::INSTANCE_RECORD_KEY, |record| {
            record.map(|r| InstanceRecord::decode(engine, identity, r))
        })?
        .transpose()
    }

    /// The running invocation.
    pub(crate) fn top(&self) -> Result<&Invocation> {
        if self.stack.is_empty() {
            return Err(CoreError::Invariant {
                what: "host call with no invocation running",
            });
        }
        self.invocation(self.running)
    }

    /// The running invocation, for changing.
    pub(crate) fn top_mut(&mut self) -> Result<&mut Invocation> {
        if self.stack.is_empty() {
            return Err(CoreError::Invariant {
                what: "host call with no invocation running",
            });
        }
        self.invocation_mut(self.running)
    }

    /// The running frame, after checking that `identity` is inside its scope.
    fn scoped(&mut self, identity: &Identity) -> Result<&mut Invocation> {
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

    /// An instance-scoped engine may not name the namespaces only the
    /// kernel writes (RFC 0010 D13); `prefix` is a key or a wiped prefix
    /// (an empty one covers them all).
    fn check_reserved(frame: &Invocation, prefix: &[u8]) -> Result<()> {
        if frame.scope != ScopeKind::Instance {
            return Ok(());
        }
        let namespace = match prefix.first() {
            None => Some(layout::RESERVED[0]),
            Some(tag) => layout::RESERVED.contains(tag).then_some(*tag),
        };
        match namespace {
            Some(namespace) => Err(CoreError::ReservedKey {
                engine: frame.engine,
                identity: frame.identity,
                namespace,
            }),
            None => Ok(()),
        }
    }

    fn write(
        &mut self,
        identity: &Identity,
        engine_key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<()> {
        let frame = self.scoped(identity)?;
        Self::check_reserved(frame, engine_key)?;
        let (engine, owner) = (frame.engine, frame.id.0);
        key::check_write(engine, identity, engine_key, value)?;
        self.block.pending.put_owned(
            owner,
            engine,
            *identity,
            engine_key,
            value.map(<[u8]>::to_vec),
        );
        Ok(())
    }

    /// A write by the kernel itself on behalf of the running invocation
    /// (caps, instance records, spawn nonces): owned by it, not checked
    /// against its scope or the reserved namespaces.
    pub(crate) fn kernel_write(&mut self, key: &StateKey, value: Option<Vec<u8>>) -> Result<()> {
        if let Some(v) = &value {
            key::check_value(key, v)?;
        }
        let owner = self.top()?.id.0;
        self.block
            .pending
            .put_owned(owner, key.engine, key.identity, &key.engine_key, value);
        Ok(())
    }

    /// Stores a content-addressed value (code, Data bytes, an image, a
    /// cnode) unless it is there already. Owned by nobody: a selective
    /// revert keeps it, because a cap naming it may have left the reverted
    /// subtree in a yield's payload (RFC 0010 "The journal").
    pub(crate) fn store_blob(&mut self, key: &StateKey, value: &[u8]) -> Result<()> {
        key::check_value(key, value)?;
        if !self.layered_contains(key.engine, &key.identity, &key.engine_key)? {
            self.block.pending.put_owned(
                NO_OWNER,
                key.engine,
                key.identity,
                &key.engine_key,
                Some(value.to_vec()),
            );
        }
        Ok(())
    }
}

/// Whether writes by entry `owner` belong to the subtree of entry `root`:
/// `owner` is `root` or one of its callees, transitively (at most
/// [`MAX_CALL_DEPTH`] steps up).
pub(crate) fn descends(meta: &[EntryMeta], mut owner: u32, root: u32) -> bool {
    while owner != NO_OWNER {
        if owner == root {
            return true;
        }
        owner = meta[owner as usize - 1].parent;
    }
    false
}

/// The result of a call the kernel refused: the callee never ran.
pub(crate) fn refused(reason: FaultReason) -> CallResult {
    CallResult {
        outcome: Outcome::Fault(reason),
        gas_used: 0,
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
        self.top().map_or(EngineId::SYSTEM, |f| f.engine)
    }

    fn self_identity(&self) -> Identity {
        self.top().map_or(Identity::ZERO, |f| f.identity)
    }

    fn caller(&self) -> Identity {
        self.top().map_or(Identity::ZERO, |f| f.caller)
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
        Ok(self.instance_record(engine, &me)?.map(|r| r.code_hash))
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
        let frame = self.scoped(identity)?;
        Self::check_reserved(frame, prefix)?;
        let engine = frame.engine;
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
        self.top()?;
        let hash = keccak256(code);
        self.store_blob(&StateKey::code(&hash), code)?;
        Ok(hash)
    }

    fn charge_gas(&mut self, amount: u64) -> Result<(), OutOfGas> {
        let Ok(frame) = self.top_mut() else {
            return Err(OutOfGas);
        };
        match frame.gas_used.checked_add(amount) {
            Some(used) if used <= frame.gas_limit => {
                frame.gas_used = used;
                frame.gas_spent += amount;
                Ok(())
            }
            _ => {
                frame.gas_spent += frame.gas_limit - frame.gas_used;
                frame.gas_used = frame.gas_limit;
                Err(OutOfGas)
            }
        }
    }

    fn gas_left(&self) -> u64 {
        self.top().map_or(0, |f| f.gas_limit - f.gas_used)
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

    fn cap(&mut self, slot: u8) -> Result<Option<Cap>> {
        self.slot_get(slot)
    }

    fn slot_copy(&mut self, src: u8, dst: u8) -> Result<CapResult> {
        self.cap_copy(src, dst, false)
    }

    fn slot_move(&mut self, src: u8, dst: u8) -> Result<CapResult> {
        self.cap_copy(src, dst, true)
    }

    fn slot_drop(&mut self, slot: u8) -> Result<CapResult> {
        self.cap_drop(slot)
    }

    fn data_mint(&mut self, bytes: &[u8], size: u32, dst: u8) -> Result<CapResult> {
        self.cap_data_mint(bytes, size, dst)
    }

    fn data_read(&mut self, slot: u8, read: &mut dyn FnMut(&[u8], u32)) -> Result<CapResult> {
        self.cap_data_read(slot, read)
    }

    fn image_make(&mut self, code: u8, pinned: Option<u8>, dst: u8) -> Result<CapResult> {
        self.cap_image_make(code, pinned, dst)
    }

    fn cnode_pack(&mut self, first: u8, count: u16, dst: u8) -> Result<CapResult> {
        self.cap_cnode_pack(first, count, dst)
    }

    fn cnode_unpack(&mut self, cnode: u8, first: u8) -> Result<CapResult> {
        self.cap_cnode_unpack(cnode, first)
    }

    fn instance_cap(
        &mut self,
        engine: EngineId,
        identity: &Identity,
        dst: u8,
    ) -> Result<CapResult> {
        self.cap_instance(engine, identity, dst)
    }

    fn set_image(&mut self, image: u8) -> Result<CapResult> {
        self.cap_set_image(image)
    }

    fn derive_spawn(&mut self, image: u8, dst: u8) -> Result<CapResult> {
        self.cap_derive_spawn(image, dst)
    }

    fn yieldref_mint(&mut self, dst: u8) -> Result<CapResult> {
        self.cap_yieldref_mint(dst)
    }
}
