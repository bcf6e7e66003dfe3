//! `braid-pvm-program`: the backend-neutral core of Braid's PVM (JAM Gray
//! Paper 0.7.2, Appendix A), shared by every backend.
//!
//! What it is:
//! - the instruction table ([`isa`]: one macro generating the opcode enum,
//!   decoder, validity, terminator and gas tables, the operand
//!   [`isa::InstructionVisitor`] and the pc-carrying [`isa::ProgramVisitor`]);
//! - the decoder ([`decode`]) and the program formats ([`blob`]: the raw
//!   `deblob` blob and the JAM standard program);
//! - program analysis ([`program`]: instruction starts, basic blocks, jump
//!   targets, per-block gas, the jump table, a standard program's layout);
//! - the words a running guest is described in by every backend:
//!   [`Backend`], [`ExitReason`], [`AccessFault`]; and the PVM's one error
//!   enum, [`PvmError`].
//!
//! What it does not do: it runs nothing. The interpreter and the engine
//! live in `braid-pvm`, the x86-64 recompiler in `braid-pvm-recompiler`;
//! both lower from [`program::Program`]. It exists as its own crate so the
//! recompiler (the only PVM crate allowed `unsafe`) can depend on the
//! program analysis while `braid-pvm` depends on the recompiler, without a
//! cycle. It depends on `braid-core` only (for the deploy-refusal kinds).

pub mod blob;
pub mod decode;
mod error;
pub mod isa;
pub mod program;

use std::fmt;

pub use error::{PvmError, Result};

/// Which backend runs PVM code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// The reference interpreter (`braid_pvm::interpreter`).
    #[default]
    Interpreter,
    /// The x86-64 recompiler (`braid-pvm-recompiler`): Linux on x86-64 with
    /// the POPCNT, LZCNT, BMI1 (TZCNT) and BMI2 (SHLX, SHRX, SARX)
    /// instructions.
    Compiler,
}

impl Backend {
    /// Both backends, the reference first.
    pub const ALL: [Backend; 2] = [Backend::Interpreter, Backend::Compiler];

    /// Whether this build, on this machine, can run code on the backend.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Interpreter => true,
            Backend::Compiler => compiler_supported(),
        }
    }

    /// The backend's name as the CLI and chain spec spell it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Interpreter => "interpreter",
            Backend::Compiler => "compiler",
        }
    }

    /// The backend named `name` (`interpreter` or `compiler`).
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The default backend of this build: the compiler where it is
    /// available (x86-64 Linux), the interpreter elsewhere.
    pub fn native_default() -> Backend {
        if Backend::Compiler.is_available() {
            Backend::Compiler
        } else {
            Backend::Interpreter
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn compiler_supported() -> bool {
    std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("lzcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn compiler_supported() -> bool {
    false
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a run returned (GP ε).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// A dynamic jump to [`blob::HALT_ADDRESS`] (GP ∎).
    Halt,
    /// `trap`, an invalid instruction, a jump to a non-block start, or an
    /// access below 64 KiB (GP ☇).
    Panic,
    /// The next basic block costs more gas than is left (GP ∞).
    OutOfGas,
    /// An access to the inaccessible (or, writing, read-only) page at this
    /// page-aligned address (GP F).
    PageFault(u32),
    /// `ecalli` with this immediate (GP h̵). Running again resumes after it.
    HostCall(u32),
}

/// Why a guest memory access failed (GP: `☇` or `F`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessFault {
    /// An access touching an address below 64 KiB, or running past 2^32
    /// (which wraps to address 0): GP panic, not a page fault.
    Panic,
    /// The page at this (page-aligned) address is inaccessible, or
    /// read-only for a write.
    Page(u32),
}

impl From<AccessFault> for ExitReason {
    fn from(fault: AccessFault) -> ExitReason {
        match fault {
            AccessFault::Panic => ExitReason::Panic,
            AccessFault::Page(address) => ExitReason::PageFault(address),
        }
    }
}
