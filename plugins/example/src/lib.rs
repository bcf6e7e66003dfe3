//! `braid-plugin-stack`: an example Braid engine plugin, a small deterministic
//! stack bytecode engine behind the C ABI of `braid-plugin-abi` (RFC 0005).
//!
//! What it is: built as a `cdylib`, the shared library Braid's loader pins
//! and loads (`libbraid_plugin_stack.so`); built as an `rlib`, the engine
//! ([`validate`], [`run`]) and the [`assemble`]r for tests and for linking
//! the engine statically. Layer: depends only on `braid-plugin-abi`; never
//! on `braid-core` (a plugin sees the world only through the host vtable).
//!
//! What it does not do: no calls to other instances, no currency (a
//! non-zero value traps), no memory besides a stack of at most
//! [`vm::MAX_STACK`] 64-bit words.
//!
//! # Instruction set and gas
//! [`Opcode`] is the table: byte, mnemonic, immediate size and gas per
//! instruction (charged through the host before it runs, native unit =
//! Braid gas at rate 1 unless the chain spec says otherwise). In short:
//! `PUSH`/`POP`/`DUP`/`SWAP`/`ADD`/`SUB`/`LT`/`EQ`/`ISZERO` 1, `MUL` 2,
//! `JUMP`/`JUMPI`/`INPUT` 2, `LOG` 20, `SLOAD` 50, `XREAD` 50 (the
//! documented cross-engine read price), `SSTORE` 100, `STOP`/`RETURN`/`REVERT` 0.
//!
//! # State layout
//! Own storage: 8-byte big-endian keys to 8-byte big-endian values; the host
//! stores them under `(engine, instance, 0x01 ‖ key)`. Storing 0 deletes.
//!
//! # Test faults
//! `PANIC` (0xF0) panics inside the engine and `ABORT` (0xF1) aborts the
//! process. This library refuses both at validation (and traps if it ever
//! meets them); only `plugins/testlibs/faulty`, which compiles these same
//! sources with [`FAULT_OPCODES`] set, accepts them, so Braid's tests can
//! check panic containment and abort isolation. Never pin that library.

#![deny(unsafe_code)]

pub mod asm;
mod ffi;
pub mod vm;
#[cfg(test)]
mod vm_tests;

pub use asm::{AsmError, assemble};
pub use vm::{Exit, HostStop, InvalidCode, Opcode, VmHost, run, validate};

/// The engine name in the descriptor.
pub const ENGINE_NAME: &str = "stack";

/// Whether this build accepts the test-fault opcodes `PANIC` and `ABORT`:
/// never in this crate.
pub const FAULT_OPCODES: bool = false;
