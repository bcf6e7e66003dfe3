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
    /// The configured backend cannot run in this build (the x86-64
    /// recompiler before it exists, or on another architecture).
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
            _ => CodeRejection::Malformed,
        }
    }
}

/// `Result` with [`PvmError`].
pub type Result<T, E = PvmError> = std::result::Result<T, E>;
