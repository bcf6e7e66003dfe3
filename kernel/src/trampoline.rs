//! The trampoline (RFC 0010 "The stack and the trampoline"): the loop that
//! drives the invocations of a resumable engine. An engine runs until it
//! returns a [`Step`]; the kernel pushes, pops or switches entries and wakes
//! the invocation that runs next with its [`Continuation`]. Nothing
//! recurses: a chain of 64 calls is 64 entries and one Rust frame.
//!
//! The rules it enforces on top of DESIGN.md's:
//! - CALL: depth, reentrancy (R1), busy (R2: not into anything a subtree
//!   paused under a yield touched), type (R3: a `call_cap`'s chain must be
//!   the target's current one). A refused call never runs; the caller sees
//!   a fault with no gas used and continues.
//! - YIELD (R4): by a YieldRef to an invocation strictly below the yielder's
//!   own, on the stack above the trampoline's root, waiting on a call; the
//!   payload (slot 0) goes up, the yielder's descendants settle their gas.
//! - RESUME / RESUME_FAULT: only by the invocation handling the top
//!   reference; slot 0 goes down, waiting descendants' gas limits are
//!   clamped, the reference pops (one resumer, by construction).
//! - The end of a handler's invocation cancels everything above it first.

use std::sync::Arc;

use braid_core::{
    CallResult, CallTarget, Cap, CapRefusal, Continuation, CoreError, Engine, EngineId,
    FaultReason, Identity, Message, Outcome, Result, Resumable, Step, Wake,
};

use crate::kernel::{Entry, EntryStatus, InvocationState, Kernel, Suspended, refused};
use crate::trace::TraceEvent;

pub use braid_core::MAX_CALL_DEPTH;

/// How the trampoline runs the running invocation next.
enum Next {
    /// From its start.
    Start,
    /// Resume it with what happened.
    Wake(Continuation, Wake),
}

impl Kernel<'_, '_> {
    /// A call into a resumable engine: its root invocation and every
    /// invocation it calls run here until the root pops.
    pub(crate) fn run_trampoline(
        &mut self,
        engine: EngineId,
        runner: &Arc<dyn Engine>,
        message: Message,
    ) -> Result<CallResult> {
        let resumable = runner.resumable().ok_or(CoreError::Invariant {
            what: "the trampoline ran an engine that is not resumable",
        })?;
        let scope = runner.scope_kind();
        if let Some(reason) = self.refusal(engine, scope, &message.target) {
            return Ok(refused(reason));
        }
        let saved = (self.running, self.base);
        let base = self.stack.len();
        let suspended = Suspended {
            message: None,
            endpoint: 0,
            cont: None,
        };
        let index = self.push(engine, scope, &message, Some(suspended))?;
        let gas_limit = self.invocation(index)?.gas_limit;
        self.suspended(index)?.message = Some(Message {
            gas_limit,
            ..message
        });
        self.running = index;
        self.base = base;
        let result = self.drive(resumable, base);
        if result.is_err() {
            self.unwind(base);
        }
        (self.running, self.base) = saved;
        result
    }

    fn drive(&mut self, engine: &dyn Resumable, base: usize) -> Result<CallResult> {
        let mut next = Next::Start;
        loop {
            let index = self.running;
            // I1: exactly one invocation runs, the one the top entry names.
            if self.top_runner()? != index {
                return Err(CoreError::Invariant {
                    what: "the running invocation is not the one the top entry runs",
                });
            }
            let frame = self.invocation_mut(index)?;
            frame.state = InvocationState::Running;
            let suspended = frame.resumable.as_mut().ok_or(CoreError::Invariant {
                what: "a resumable invocation has no trampoline state",
            })?;
            let endpoint = suspended.endpoint;
            let message = suspended.message.take().ok_or(CoreError::Invariant {
                what: "a resumable invocation's message is taken",
            })?;
            let step = match next {
                Next::Start => engine.start(self, &message, endpoint),
                Next::Wake(cont, wake) => engine.resume(self, &message, cont, wake),
            };
            self.suspended(index)?.message = Some(message);
            next = match step? {
                Step::Done(outcome) => {
                    let result = self.finish(index, outcome)?;
                    if self.stack.len() == base {
                        return Ok(result);
                    }
                    self.deliver(Wake::Returned(result))?
                }
                Step::Call {
                    target,
                    endpoint,
                    input,
                    gas_limit,
                    cont,
                } => self.step_call(index, target, endpoint, input, gas_limit, cont)?,
                Step::Yield { via_slot, cont } => self.step_yield(index, via_slot, cont)?,
                Step::Resume { fault, cont } => self.step_resume(index, fault, cont)?,
            };
        }
    }

    /// The trampoline state of the invocation at `index`.
    fn suspended(&mut self, index: usize) -> Result<&mut Suspended> {
        self.invocation_mut(index)?
            .resumable
            .as_mut()
            .ok_or(CoreError::Invariant {
                what: "a resumable invocation has no trampoline state",
            })
    }

    /// Stack index of the invocation the top entry runs: the top
    /// invocation, or the target of a top reference.
    fn top_runner(&self) -> Result<usize> {
        match self.stack.last() {
            Some(Entry::Invocation(_)) => Ok(self.stack.len() - 1),
            Some(Entry::Reference { target }) => Ok(*target),
            None => Err(CoreError::Invariant {
                what: "the trampoline's stack is empty",
            }),
        }
    }

    /// Wakes the invocation the top entry runs with `wake`.
    fn deliver(&mut self, wake: Wake) -> Result<Next> {
        let index = self.top_runner()?;
        let expected = match wake {
            Wake::Resumed => InvocationState::Yielded,
            _ => InvocationState::Calling,
        };
        let frame = self.invocation_mut(index)?;
        if frame.state != expected {
            return Err(CoreError::Invariant {
                what: "a wake reached an invocation that does not wait for it",
            });
        }
        let cont = self
            .suspended(index)?
            .cont
            .take()
            .ok_or(CoreError::Invariant {
                what: "a waiting invocation has no continuation",
            })?;
        self.running = index;
        Ok(Next::Wake(cont, wake))
    }

    /// Suspends the invocation at `index` in `state` with `cont`.
    fn suspend(&mut self, index: usize, state: InvocationState, cont: Continuation) -> Result<()> {
        self.invocation_mut(index)?.state = state;
        self.suspended(index)?.cont = Some(cont);
        Ok(())
    }

    /// Ends the invocation at `index` with `outcome`: everything above it
    /// (a subtree waiting under a yield it handles) is cancelled first,
    /// top-down (RFC 0010 D6).
    fn finish(&mut self, index: usize, outcome: Outcome) -> Result<CallResult> {
        while self.stack.len() > index + 1 {
            self.cancel_top()?;
        }
        self.pop_top(outcome)
    }

    /// After an engine failure: drops every entry of this trampoline and
    /// reverts everything its root wrote.
    fn unwind(&mut self, base: usize) {
        let checkpoint = match self.stack.get(base) {
            Some(Entry::Invocation(root)) => root.checkpoint,
            _ => return,
        };
        while self.stack.len() > base {
            match self.stack.pop() {
                Some(Entry::Reference { .. }) => self.references -= 1,
                Some(Entry::Invocation(frame)) => {
                    if let Ok(meta) = self.entry_meta(frame.id.0) {
                        meta.status = EntryStatus::Dropped;
                    }
                }
                None => break,
            }
        }
        self.block.pending.revert(checkpoint);
    }

    /// CALL by the invocation at `index`.
    fn step_call(
        &mut self,
        index: usize,
        target: CallTarget,
        endpoint: u8,
        input: Vec<u8>,
        gas_limit: u64,
        cont: Continuation,
    ) -> Result<Next> {
        let frame = self.invocation(index)?;
        let (engine, scope, caller) = (frame.engine, frame.scope, frame.identity);
        let (identity, chain) = match target {
            CallTarget::Identity(identity) => (identity, None),
            CallTarget::Slot(slot) => match self.slot_of(index, slot)? {
                Some(Cap::Instance {
                    engine: e,
                    identity,
                    chain,
                }) if e == engine => (identity, Some(chain)),
                None => return Ok(Next::Wake(cont, Wake::Refused(CapRefusal::Empty))),
                Some(_) => return Ok(Next::Wake(cont, Wake::Refused(CapRefusal::WrongKind))),
            },
        };
        let refusal = match self.refusal(engine, scope, &identity) {
            Some(reason) => Some(reason),
            None if self.busy(engine, &identity) => Some(FaultReason::Busy { engine, identity }),
            None => match chain {
                Some(expected) => self.type_mismatch(engine, &identity, expected)?,
                None => None,
            },
        };
        if let Some(reason) = refusal {
            return Ok(Next::Wake(cont, Wake::Returned(refused(reason))));
        }
        self.suspend(index, InvocationState::Calling, cont)?;
        let scratch = self.invocation(index)?.scratch;
        let message = Message {
            caller,
            target: identity,
            input,
            value: [0; 32],
            gas_limit,
        };
        let suspended = Suspended {
            message: None,
            endpoint,
            cont: None,
        };
        let callee = self.push(engine, scope, &message, Some(suspended))?;
        let frame = self.invocation_mut(callee)?;
        frame.scratch = scratch;
        let gas_limit = frame.gas_limit;
        self.suspended(callee)?.message = Some(Message {
            gas_limit,
            ..message
        });
        self.running = callee;
        Ok(Next::Start)
    }

    /// R3: the fault of a `call_cap` whose cap carries `expected` when the
    /// instance's chain is another one, or that names no instance.
    fn type_mismatch(
        &self,
        engine: EngineId,
        identity: &Identity,
        expected: [u8; 32],
    ) -> Result<Option<FaultReason>> {
        let Some(record) = self.instance_record(engine, identity)? else {
            return Ok(Some(FaultReason::NoSuchInstance {
                identity: *identity,
            }));
        };
        let found = record.chain(engine);
        Ok((found != expected).then_some(FaultReason::TypeMismatch {
            engine,
            identity: *identity,
            expected,
            found,
        }))
    }

    /// R2: whether `(engine, identity)` was touched by an invocation paused
    /// under a yield: one strictly between a reference and the invocation it
    /// targets, or a callee (or spawn) whose halt merged into one. Free when
    /// no reference is on the stack.
    pub(crate) fn busy(&self, engine: EngineId, identity: &Identity) -> bool {
        if self.references == 0 {
            return false;
        }
        let paused: Vec<(usize, usize)> = self
            .stack
            .iter()
            .enumerate()
            .filter_map(|(r, e)| match e {
                Entry::Reference { target } => Some((*target, r)),
                Entry::Invocation(_) => None,
            })
            .collect();
        let is_paused = |index: usize| paused.iter().any(|(t, r)| *t < index && index < *r);
        let halted = self.meta.iter().filter_map(|m| {
            (m.status == EntryStatus::Halted && m.engine == engine && m.identity == *identity)
                .then_some(m.parent)
        });
        let spawned = self
            .spawns
            .iter()
            .filter(|(_, e, i)| *e == engine && i == identity)
            .map(|(spawner, _, _)| *spawner);
        let live = self
            .invocations()
            .any(|(index, f)| f.engine == engine && f.identity == *identity && is_paused(index));
        live || halted
            .chain(spawned)
            .any(|id| self.merged_into(id).is_some_and(is_paused))
    }

    /// The stack index of the live invocation that the writes of entry `id`
    /// now count as (itself if live, else its caller's through halts), or
    /// `None` if they were dropped on the way.
    fn merged_into(&self, mut id: u32) -> Option<usize> {
        loop {
            let meta = self.meta.get((id as usize).checked_sub(1)?)?;
            match meta.status {
                EntryStatus::Live => return Some(meta.index),
                EntryStatus::Halted => id = meta.parent,
                EntryStatus::Dropped => return None,
            }
        }
    }

    /// YIELD by the invocation at `index` through the YieldRef in `via_slot`.
    fn step_yield(&mut self, index: usize, via_slot: u8, cont: Continuation) -> Result<Next> {
        let refuse = |cont, refusal| Ok(Next::Wake(cont, Wake::Refused(refusal)));
        let entry = match self.slot_of(index, via_slot)? {
            Some(Cap::YieldRef { entry }) => entry,
            _ => return refuse(cont, CapRefusal::WrongKind),
        };
        let Some(target) = self
            .invocations()
            .find(|(i, f)| *i >= self.base && f.id == entry)
            .map(|(i, _)| i)
        else {
            return refuse(cont, CapRefusal::Stale);
        };
        if target >= index {
            return refuse(cont, CapRefusal::NotBelow);
        }
        if self.invocation(target)?.state != InvocationState::Calling {
            return refuse(cont, CapRefusal::TargetSuspended);
        }
        if self.stack.len() >= MAX_CALL_DEPTH {
            return refuse(cont, CapRefusal::DepthExceeded);
        }
        // Gas: each waiting invocation from the yielder down to the target's
        // callee moves what it used into its caller (RFC 0010 "Gas").
        for i in (target + 1..=index).rev() {
            let Entry::Invocation(frame) = &mut self.stack[i] else {
                continue;
            };
            let (used, parent) = (frame.gas_used, frame.parent);
            frame.gas_limit -= used;
            frame.gas_used = 0;
            let parent = parent.ok_or(CoreError::Invariant {
                what: "an invocation above a yield target has no caller",
            })?;
            self.invocation_mut(parent)?.gas_used += used;
        }
        // Entries below the crossed ones may now write after their checkpoints.
        for entry in &mut self.stack[target + 1..] {
            if let Entry::Invocation(frame) = entry {
                frame.crossed = true;
            }
        }
        self.suspend(index, InvocationState::Yielded, cont)?;
        let payload = self.invocation(index)?.scratch;
        self.invocation_mut(target)?.scratch = payload;
        self.stack.push(Entry::Reference { target });
        self.references += 1;
        let (from, to) = (
            self.invocation(index)?.identity,
            self.invocation(target)?.identity,
        );
        self.record(|| TraceEvent::Yield { from, to });
        self.deliver(Wake::Yielded)
    }

    /// RESUME (`fault`: RESUME_FAULT) by the invocation at `index`.
    fn step_resume(&mut self, index: usize, fault: bool, cont: Continuation) -> Result<Next> {
        match self.stack.last() {
            Some(Entry::Reference { target }) if *target == index => {}
            _ => return Ok(Next::Wake(cont, Wake::Refused(CapRefusal::NotHandling))),
        }
        self.suspend(index, InvocationState::Calling, cont)?;
        self.stack.pop();
        self.references -= 1;
        let yielder = self.top_runner()?;
        let payload = self.invocation(index)?.scratch;
        self.invocation_mut(yielder)?.scratch = payload;
        // Gas: each waiting invocation above the handler may use at most
        // what its caller has left now.
        for i in index + 1..self.stack.len() {
            let Entry::Invocation(frame) = &self.stack[i] else {
                continue;
            };
            let parent = frame.parent.ok_or(CoreError::Invariant {
                what: "an invocation above a handler has no caller",
            })?;
            let caller = self.invocation(parent)?;
            let left = caller.gas_limit - caller.gas_used;
            let frame = self.invocation_mut(i)?;
            frame.gas_limit = frame.gas_limit.min(frame.gas_used + left);
        }
        let (by, to) = (
            self.invocation(index)?.identity,
            self.invocation(yielder)?.identity,
        );
        self.record(|| TraceEvent::Resume { by, to, fault });
        if !fault {
            return self.deliver(Wake::Resumed);
        }
        while self.stack.len() > yielder + 1 {
            self.cancel_top()?;
        }
        let result = self.cancel_top()?.ok_or(CoreError::Invariant {
            what: "a yielder is not an invocation",
        })?;
        self.deliver(Wake::Returned(result))
    }
}
