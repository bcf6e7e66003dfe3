//! [`PvmError`]: why a program could not be loaded.

/// Why a PVM program blob or standard program was refused. Every variant
/// names the offending value. Guest failures at run time are never errors:
/// they are [`crate::ExitReason`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PvmError {
    /// The input ended inside a field.
    #[error("{what} at byte {offset} needs {needed} bytes, only {available} remain")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Where it starts, in bytes from the start of the input.
        offset: usize,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the input.
        available: usize,
    },
    /// Bytes follow the last field.
    #[error("{extra} unexpected bytes after the {what}")]
    TrailingBytes {
        /// The last field read.
        what: &'static str,
        /// How many bytes are left over.
        extra: usize,
    },
    /// The jump table's entry size is not 0..=4 bytes (0 only for an empty table).
    #[error(
        "jump table entry size is {size} bytes for {entries} entries; allowed 1..=4 (0 for none)"
    )]
    JumpTableEntrySize {
        /// The declared size, in bytes.
        size: u8,
        /// The declared number of entries.
        entries: u64,
    },
    /// A jump table entry points outside the code (checked by
    /// [`crate::program::Program::validate_for_deploy`]).
    #[error("jump table entry {index} points at pc {target}, the code is {code_len} bytes")]
    JumpTableEntryOutOfRange {
        /// Index of the entry.
        index: usize,
        /// Its target pc.
        target: u32,
        /// Code length, in bytes.
        code_len: u32,
    },
    /// A length field is larger than the PVM's 32-bit address space allows.
    #[error("{what} is {len} bytes, limit {limit}")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// Its length, in bytes.
        len: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The standard program's regions do not fit in 4 GiB (GP 0.7.2 eq.
    /// A.41: `5·Z_Z + Z(|o|) + Z(|w| + z·Z_P) + Z(s) + Z_I ≤ 2^32`).
    #[error(
        "memory layout needs {needed} bytes (read-only {ro_data} B, read-write {rw_data} B, \
         {heap_pages} heap pages, stack {stack} B), the address space has 4294967296"
    )]
    MemoryLayoutTooLarge {
        /// Read-only data, bytes.
        ro_data: u32,
        /// Read-write data, bytes.
        rw_data: u32,
        /// Extra heap pages (4096 bytes each).
        heap_pages: u16,
        /// Stack, bytes.
        stack: u32,
        /// Bytes the layout needs.
        needed: u64,
    },
    /// The input for a standard program is larger than the argument region.
    #[error("input is {len} bytes, the argument region holds {limit}")]
    InputTooLarge {
        /// Input length, bytes.
        len: usize,
        /// Region size, bytes (GP Z_I = 2^24).
        limit: u32,
    },
    /// The program's first instruction is not a valid instruction (checked
    /// by [`crate::program::Program::validate_for_deploy`]).
    #[error("the entry point (pc 0) holds byte {byte:#04x}, which is not a valid instruction")]
    InvalidEntry {
        /// The byte at pc 0.
        byte: u8,
    },
    /// The program has no code at all.
    #[error("the program has no code")]
    EmptyCode,
    /// The recompiler stopped: the program's native code would pass its
    /// bound (a program built to make compilation slow or huge, a "JIT
    /// bomb"). Compilation is linear and stops at the bound, so this costs
    /// at most the bound in memory and time.
    #[error(
        "compiling stopped after {instructions} instructions: the native code passes its bound of {limit} bytes"
    )]
    CompiledCodeTooLarge {
        /// Instructions compiled before the bound was passed.
        instructions: usize,
        /// The bound, bytes of native code.
        limit: usize,
    },
    /// The operating system refused memory the recompiler asked for.
    #[error("the operating system refused {bytes} bytes for {what} (errno {errno})")]
    MemoryRefused {
        /// What the memory was for.
        what: &'static str,
        /// How much, bytes.
        bytes: usize,
        /// The `errno` of the refusal.
        errno: i32,
    },
    /// Crosscheck: the backend and the reference interpreter stopped for
    /// different reasons.
    #[error(
        "crosscheck, exit {exit}: the interpreter gives {interpreter:?}, the {backend} {other:?}"
    )]
    CrosscheckStatus {
        /// Exits both had before this one (0: the first).
        exit: u64,
        /// The backend checked.
        backend: crate::Backend,
        /// The interpreter's exit.
        interpreter: crate::ExitReason,
        /// The backend's exit.
        other: crate::ExitReason,
    },
    /// Crosscheck: at the same exit, the backend and the reference
    /// interpreter disagree on the pc, the gas or a register.
    #[error(
        "crosscheck, exit {exit} ({status:?}): {field} is {interpreter:#x} on the interpreter, {other:#x} on the {backend}"
    )]
    CrosscheckValue {
        /// Exits both had before this one (0: the first).
        exit: u64,
        /// The backend checked.
        backend: crate::Backend,
        /// The exit both reached.
        status: crate::ExitReason,
        /// `pc`, `gas` or `r0`..`r12`.
        field: &'static str,
        /// The interpreter's value (gas as its two's-complement bits).
        interpreter: u64,
        /// The backend's value.
        other: u64,
    },
    /// The configured backend cannot run in this build (the x86-64
    /// recompiler on another architecture, or a CPU without POPCNT, LZCNT,
    /// TZCNT and BMI2).
    #[error("the PVM {backend} backend is not available in this build")]
    BackendUnavailable {
        /// The backend asked for.
        backend: crate::Backend,
    },
}

impl PvmError {
    /// The kind of deploy refusal this is, for [`braid_core::CoreError::InvalidCode`].
    pub fn rejection(&self) -> braid_core::CodeRejection {
        use braid_core::CodeRejection;
        match self {
            PvmError::TooLarge { .. }
            | PvmError::MemoryLayoutTooLarge { .. }
            | PvmError::InputTooLarge { .. } => CodeRejection::TooLarge,
            PvmError::InvalidEntry { .. } => CodeRejection::Unsupported,
            PvmError::CompiledCodeTooLarge { .. } => CodeRejection::TooLarge,
            _ => CodeRejection::Malformed,
        }
    }
}

/// `Result` with [`PvmError`].
pub type Result<T, E = PvmError> = std::result::Result<T, E>;
