//! `braid-kernel`: the kernel that isolates engines over Braid's one state.
//!
//! What it is: the [`Kernel`] of one transaction (a strict call stack in
//! which each piece of mutable state has at most one in-flight mutator, HALT
//! commits the callee's working set into its caller's, a fault discards it,
//! and reentrancy is refused; RFC 0002), the [`BlockState`] of a block under
//! construction, and the kernel's own data in the state ([`layout`]: instance
//! records, code, sender nonces, caps). Capabilities, slot 0 and
//! YIELD/RESUME (RFC 0010): the stack holds invocations and the references
//! yields push; resumable engines run on a trampoline instead of Rust
//! recursion, every write is tagged with its writer so that a subtree
//! paused under a yield reverts exactly its own writes, and caps live in
//! ordinary state keys under the one root.
//!
//! What it does not do: it runs no bytecode (engines do, behind
//! `braid_core::Engine`), and it signs, decodes and orders no transaction and
//! writes no block (chains do). Layers (`rfcs/0008-architecture.md`): it
//! depends on `braid-core` and `braid-state`; chains depend on it; engines
//! never see it.

mod caps;
mod kernel;
pub mod layout;
mod trace;
mod trampoline;

pub use kernel::{BlockState, Kernel, MAX_CALL_DEPTH, TransactionEffects};
pub use trace::TraceEvent;
