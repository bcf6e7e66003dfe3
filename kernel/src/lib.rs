//! `braid-kernel`: the kernel that isolates engines over Braid's one state.
//!
//! What it is: the [`Kernel`] of one transaction (a strict call stack in
//! which each piece of mutable state has at most one in-flight mutator, HALT
//! commits the callee's working set into its caller's, a fault discards it,
//! and reentrancy is refused; RFC 0002), the [`BlockState`] of a block under
//! construction, and the kernel's own data in the state ([`layout`]: instance
//! records, code, sender nonces).
//!
//! What it does not do: it runs no bytecode (engines do, behind
//! `braid_core::Engine`), and it signs, decodes and orders no transaction and
//! writes no block (chains do). Layers (`rfcs/0008-architecture.md`): it
//! depends on `braid-core` and `braid-state`; chains depend on it; engines
//! never see it.

mod kernel;
pub mod layout;

pub use kernel::{BlockState, Kernel, MAX_CALL_DEPTH, TransactionEffects};
