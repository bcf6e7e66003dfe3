//! `braid-pvm`: the PVM of the JAM Gray Paper (0.7.2, Appendix A) as a
//! Braid engine.
//!
//! What it is:
//! - the instruction table ([`isa`], one macro from which the opcode enum,
//!   decoder, validity, terminator and gas tables, the
//!   [`InstructionVisitor`] and the pc-carrying [`ProgramVisitor`] are
//!   generated), and the program formats ([`blob`]: the raw `deblob` blob
//!   and the JAM standard program);
//! - backend-neutral analysis ([`program`]: instruction starts, basic
//!   blocks and jump targets, per-block gas, the jump table, the standard
//!   program's data), which every backend lowers from;
//! - the API every backend sits behind ([`api`], the wasmtime words):
//!   [`Config`] picks a [`Backend`], a [`Module`] is a program lowered for
//!   it, an [`Instance`] runs to an [`ExitReason`] of GP ε (halt, panic,
//!   out-of-gas, page fault, host call), and [`GuestAccess`] reads and
//!   writes registers, gas and memory for host calls and test harnesses;
//! - the reference backend ([`interpreter`], over guest [`memory`]), the
//!   host calls of RFC 0003 ([`host`], written once against
//!   [`GuestAccess`]), [`PvmEngine`] (the `braid_core::Engine`), and the
//!   conformance-vector runner ([`vectors`]).
//!
//! What it does not do: it compiles nothing to native code yet (the x86-64
//! recompiler will be [`Backend::Compiler`], lowering from the same
//! [`program::Program`] through [`ProgramVisitor`]; until then it is refused
//! with [`PvmError::BackendUnavailable`]) and it holds no state; everything
//! reaches it through `braid_core::Host`. It depends on `braid-core` (and
//! `braid-precompiles` for the shared host-call table) only.

pub mod api;
pub mod blob;
pub mod caps;
pub mod decode;
mod engine;
mod error;
pub mod host;
pub mod interpreter;
pub mod isa;
pub mod memory;
pub mod program;
pub mod vectors;

pub use api::{Backend, Config, ExitReason, GuestAccess, Instance, Module};
pub use blob::{ProgramBlob, StandardProgram};
pub use engine::PvmEngine;
pub use error::{PvmError, Result};
pub use isa::{Instruction, InstructionVisitor, Opcode, ProgramVisitor, PvmSpec, Reg};
pub use program::Program;
