//! The [`Resumable`] seam: engines whose invocations the kernel can suspend
//! and resume, driven by the kernel's trampoline instead of Rust recursion
//! (RFC 0010 "The stack and the trampoline").
//!
//! A resumable engine never calls [`crate::Host::call`]: when its guest
//! CALLs, YIELDs or RESUMEs, the engine returns a [`Step`] carrying its
//! suspended state ([`Continuation`]); the kernel pushes, pops or switches
//! stack entries and later hands the continuation back with a [`Wake`]
//! saying what happened meanwhile. Every other host call stays a
//! synchronous [`crate::Host`] method. The call stack is then the kernel's
//! data, so an invocation can wait while another runs above or below it,
//! and a call chain 64 deep uses one native stack frame per level of the
//! trampoline, not one interpreter loop per level.

use std::any::Any;

use crate::{CallResult, CapRefusal, Host, Identity, Message, Outcome, Result};

/// An engine's suspended invocation: registers, memory, gas, position, and
/// whatever the pending host call needs to finish (an output buffer). Opaque
/// to the kernel, which stores it in the invocation's stack entry.
pub struct Continuation(pub Box<dyn Any + Send>);

impl std::fmt::Debug for Continuation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Continuation(..)")
    }
}

/// Whom a CALL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallTarget {
    /// An instance of the running engine, by identity (PVM `call`, id 13).
    Identity(Identity),
    /// The [`crate::Cap::Instance`] in this slot of the caller (PVM
    /// `call_cap`, id 15): the kernel checks its engine and type chain.
    Slot(u8),
}

/// Why a resumable invocation stopped running.
#[derive(Debug)]
pub enum Step {
    /// It ended.
    Done(Outcome),
    /// It calls another instance of its engine; it waits for the callee.
    Call {
        /// The callee.
        target: CallTarget,
        /// The callee's entry point (PVM: `r11` at start; 0 for `call`).
        endpoint: u8,
        /// Call data.
        input: Vec<u8>,
        /// Gas limit in the engine's native unit (capped at the caller's
        /// gas left by the kernel).
        gas_limit: u64,
        /// The caller, suspended.
        cont: Continuation,
    },
    /// It yields to the stack entry named by the [`crate::Cap::YieldRef`] in
    /// `via_slot`; its slot 0 goes up to the target as the payload.
    Yield {
        /// The slot holding the YieldRef.
        via_slot: u8,
        /// The yielder, suspended.
        cont: Continuation,
    },
    /// The handler of a yield resumes the yielder (`fault`: discards it,
    /// RESUME_FAULT); its slot 0 goes down to the yielder.
    Resume {
        /// Whether the yielder is discarded instead of woken.
        fault: bool,
        /// The handler, suspended.
        cont: Continuation,
    },
}

/// What happened while a resumable invocation waited, handed back with its
/// [`Continuation`].
#[derive(Debug)]
pub enum Wake {
    /// The entry directly above this invocation ended: the callee of its
    /// [`Step::Call`], or the yielder its [`Step::Resume`] woke (and
    /// everything that yielder went on to do). A CALL the kernel refused
    /// (depth, reentrancy, busy, type mismatch) arrives here as a fault with
    /// no gas used.
    Returned(CallResult),
    /// A yield from the subtree above this invocation named it: its pending
    /// call or resume answers "yielded" (PVM status 3), the payload is now in
    /// its slot 0, and it runs as the handler until it resumes.
    Yielded,
    /// Its own [`Step::Yield`] was resumed: the handler's arguments are in
    /// its slot 0.
    Resumed,
    /// Its [`Step::Yield`], [`Step::Resume`] or a [`CallTarget::Slot`] call
    /// was refused; nothing changed and it continues.
    Refused(CapRefusal),
}

/// An engine whose invocations the kernel drives through its trampoline.
/// Returned by [`crate::Engine::resumable`]; such an engine's
/// [`crate::Engine::call`] is not used by the kernel.
pub trait Resumable: Send + Sync {
    /// Starts an invocation at entry point `endpoint` (0 for a plain call
    /// and for root calls) and runs it until its first [`Step`].
    ///
    /// # Errors
    /// As [`crate::Engine::call`]: only when the call could not be processed.
    fn start(&self, host: &mut dyn Host, message: &Message, endpoint: u8) -> Result<Step>;

    /// Continues a suspended invocation (`message` is the one it started
    /// with) after `wake`, until its next [`Step`].
    ///
    /// # Errors
    /// As [`Resumable::start`]; a continuation that is not the engine's own
    /// is [`crate::CoreError::Invariant`].
    fn resume(
        &self,
        host: &mut dyn Host,
        message: &Message,
        cont: Continuation,
        wake: Wake,
    ) -> Result<Step>;
}
