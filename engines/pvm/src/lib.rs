//! `braid-pvm`: the PVM of the JAM Gray Paper (0.7.2, Appendix A) as a
//! Braid engine.
//!
//! What it is: the instruction table ([`isa`], one macro from which the
//! opcode enum, decoder, validity and terminator tables and the
//! [`InstructionVisitor`] are generated), the program formats ([`blob`]: the
//! raw `deblob` blob and the JAM standard program), guest [`memory`], and the
//! reference backend ([`Module`] pre-decodes, [`Instance`] runs) with every
//! exit of GP ε: halt, panic, out-of-gas, page fault, host call.
//!
//! What it does not do: it compiles nothing to native code (the x86-64
//! recompiler is a second backend implementing the same visitor) and it
//! holds no state; everything reaches it through `braid_core::Host`.
//! It depends on `braid-core` only.

pub mod blob;
pub mod decode;
mod engine;
mod error;
pub mod host;
pub mod interpreter;
pub mod isa;
pub mod memory;
pub mod vectors;

pub use blob::{ProgramBlob, StandardProgram};
pub use engine::PvmEngine;
pub use error::{PvmError, Result};
pub use interpreter::{ExitReason, Instance, Module};
pub use isa::{Instruction, InstructionVisitor, Opcode, PvmSpec, Reg};
