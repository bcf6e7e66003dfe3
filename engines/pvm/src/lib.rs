//! `braid-pvm`: the PVM of the JAM Gray Paper (0.7.2, Appendix A) as a
//! Braid engine.
//!
//! What it is:
//! - the instruction table, decoder, program formats and backend-neutral
//!   analysis, re-exported from `braid-pvm-program` ([`isa`], [`decode`],
//!   [`blob`], [`program`]): every backend lowers from one
//!   [`program::Program`];
//! - the API every backend sits behind ([`api`], the wasmtime words):
//!   [`Config`] picks a [`Backend`], a [`Module`] is a program lowered for
//!   it, an [`Instance`] runs to an [`ExitReason`] of GP ε (halt, panic,
//!   out-of-gas, page fault, host call), and [`GuestAccess`] reads and
//!   writes registers, gas and memory for host calls and test harnesses;
//! - the reference backend ([`interpreter`], over guest [`memory`]), the
//!   x86-64 recompiler behind [`Instance::Compiled`] ([`compiled`], from
//!   `braid-pvm-recompiler`, with the crosscheck mode that runs the
//!   interpreter in lockstep), the host calls of RFC 0003 ([`host`], written
//!   once against [`GuestAccess`]), [`PvmEngine`] (the `braid_core::Engine`,
//!   caching modules by code hash), and the conformance-vector runner
//!   ([`vectors`]).
//!
//! What it does not do: it holds no state; everything reaches it through
//! `braid_core::Host`. Its code is safe Rust: the one PVM crate with
//! `unsafe` is `braid-pvm-recompiler` (RFC 0011). It depends on
//! `braid-core`, `braid-pvm-program`, `braid-precompiles` (the shared
//! host-call table) and, on x86-64 Linux, `braid-pvm-recompiler`.

pub mod api;
pub mod caps;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod compiled;
mod engine;
pub mod host;
pub mod interpreter;
pub mod memory;
pub mod vectors;

pub use braid_pvm_program::{blob, decode, isa, program};

pub use api::{Backend, Config, ExitReason, GuestAccess, Instance, Module};
pub use blob::{ProgramBlob, StandardProgram};
pub use braid_pvm_program::{AccessFault, PvmError, Result};
pub use engine::PvmEngine;
pub use isa::{Instruction, InstructionVisitor, Opcode, ProgramVisitor, PvmSpec, Reg};
pub use program::Program;
