//! `braid-testlib-faulty`: the stack engine of `plugins/example`, compiled
//! from the same sources with the test-fault opcodes enabled: `PANIC`
//! panics inside a call, `ABORT` aborts the process. Braid's loader tests
//! use it to check panic containment and abort isolation. Never pin it in a
//! chain spec.
//!
//! It includes the engine's files by path rather than depending on the
//! crate, so that its descriptor symbol does not clash with the example's
//! and its fault setting does not leak into it through feature unification.

#![deny(unsafe_code)]

#[path = "../../../example/src/ffi.rs"]
mod ffi;
#[path = "../../../example/src/vm.rs"]
#[allow(
    dead_code,
    reason = "shared engine source; this library uses only part of it"
)]
mod vm;

/// The engine name in the descriptor.
pub const ENGINE_NAME: &str = "stack-faulty";

/// This build accepts `PANIC` and `ABORT`.
pub const FAULT_OPCODES: bool = true;
