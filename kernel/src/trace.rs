//! The kernel's stack trace (RFC 0010 "Trace"): what entered and left the
//! stack, in order. Off by default; [`crate::Kernel::record_trace`] turns it
//! on for one transaction. Tests assert exact sequences with it; a node can
//! show how a transaction's invocations nested, yielded and resumed.

use braid_core::{EngineId, Identity, Outcome};

/// One event on the stack. Instances are named by `(engine, identity)`:
/// each is on the stack at most once (DESIGN.md kernel rule 3), so that
/// names the invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// An invocation was pushed (a root call, a CALL, a `call_cap`).
    Push {
        /// Its engine.
        engine: EngineId,
        /// Its instance.
        identity: Identity,
    },
    /// An invocation ended and popped with its own outcome.
    Pop {
        /// Its instance.
        identity: Identity,
        /// How it ended.
        outcome: Outcome,
    },
    /// An invocation waiting under a yield was discarded
    /// (`Fault(Cancelled)`): its handler ended, or answered with
    /// `resume_fault`.
    Cancel {
        /// Its instance.
        identity: Identity,
    },
    /// `from` yielded to `to`, which now handles the yield.
    Yield {
        /// The yielding instance.
        from: Identity,
        /// The instance the YieldRef named.
        to: Identity,
    },
    /// The handler `by` resumed the yielder `to` (`fault`: with
    /// `resume_fault`, which cancels it).
    Resume {
        /// The handler.
        by: Identity,
        /// The instance that yielded (or, for a handler that yielded further
        /// down, that handler's instance).
        to: Identity,
        /// Whether the yielder is cancelled instead of woken.
        fault: bool,
    },
}
