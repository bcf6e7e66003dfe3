//! [`WasmError`]: why the WASM engine refused a module (deploy) or could
//! not run one (never a guest outcome: those are [`braid_core::Outcome`]s).

use wasmtime::wasmparser::BinaryReaderError;

/// Errors of `braid-wasm`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasmError {
    /// The module is larger than [`crate::limits::MAX_CODE_SIZE`].
    #[error("module is {size} bytes, limit {limit}")]
    CodeTooLarge {
        /// Module size, bytes.
        size: usize,
        /// Limit, bytes.
        limit: usize,
    },
    /// The bytes are not a valid WebAssembly module under Braid's feature
    /// set, and no single disabled proposal would make them one.
    #[error("invalid WebAssembly: {source}")]
    InvalidWasm {
        /// The validator's error (message and byte offset).
        #[source]
        source: BinaryReaderError,
    },
    /// The module uses a WebAssembly proposal Braid disables (RFC 0004
    /// "Configuration"): threads, SIMD, relaxed SIMD, memory64, ...
    #[error("module uses the disabled WebAssembly feature `{feature}`")]
    DisabledFeature {
        /// The proposal, as wasmparser names it (`threads`, `simd`, ...).
        feature: &'static str,
    },
    /// An import that is not a function of module `"braid"` named in the
    /// host-call table.
    #[error("unknown import `{module}`.`{name}`")]
    UnknownImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// A `"braid"` import whose type is not the RFC 0004 signature.
    #[error("import `braid`.`{name}` has the wrong signature: expected {expected}")]
    ImportSignature {
        /// The host call.
        name: &'static str,
        /// The RFC 0004 signature.
        expected: &'static str,
    },
    /// A required export is missing or has the wrong type.
    #[error("missing export `{name}` ({expected})")]
    MissingExport {
        /// `memory` or `call`.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The module exports a name Braid's instrumentation reserves for
    /// itself (RFC 0004 "Configuration", stack).
    #[error("export `{name}` is reserved for Braid's stack-height instrumentation")]
    ReservedExport {
        /// The reserved name ([`crate::validate::STACK_HEIGHT_EXPORT`] or
        /// [`crate::validate::START_EXPORT`]).
        name: &'static str,
    },
    /// The module declares more of something than Braid compiles
    /// (functions, globals, tables, elements, initial memory pages).
    #[error("module declares {count} {what}, limit {limit}")]
    TooMany {
        /// What is counted.
        what: &'static str,
        /// Declared count.
        count: u64,
        /// Limit.
        limit: u64,
    },
    /// A function body over [`crate::limits::MAX_FUNCTION_SIZE`] bytes.
    #[error("function {index} body is {size} bytes, limit {limit}")]
    FunctionTooLarge {
        /// Defined-function index (imports not counted).
        index: u32,
        /// Body size, bytes.
        size: usize,
        /// Limit, bytes.
        limit: usize,
    },
    /// A function with more than [`crate::limits::MAX_LOCALS`] locals
    /// (parameters included).
    #[error("function {index} has {count} locals, limit {limit}")]
    TooManyLocals {
        /// Defined-function index (imports not counted).
        index: u32,
        /// Locals including parameters.
        count: u64,
        /// Limit.
        limit: u64,
    },
    /// wasmtime refused to compile a module that passed every check above
    /// (a wasmtime limit Braid does not check first).
    #[error("wasmtime could not compile the module: {source}")]
    Compile {
        /// wasmtime's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The stack weights handed to the instrumentation do not match the
    /// module's functions: the module skipped the deploy checks.
    #[error("{weights} stack weights do not match the module's functions")]
    WeightsMismatch {
        /// Weights given.
        weights: usize,
    },
    /// wasmtime could not be set up or could not instantiate (pool
    /// exhausted, mmap failure): not a guest outcome.
    #[error("wasmtime failed: {source}")]
    Runtime {
        /// wasmtime's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The wall-clock watchdog stopped a guest (RFC 0004: it never decides
    /// an outcome; the node could not process the call in time).
    #[error("the watchdog stopped a guest after {seconds} s")]
    Watchdog {
        /// The watchdog's budget, seconds.
        seconds: u64,
    },
}

impl WasmError {
    /// The kind of deploy refusal this is, for [`braid_core::CoreError::InvalidCode`].
    pub fn rejection(&self) -> braid_core::CodeRejection {
        use braid_core::CodeRejection;
        match self {
            WasmError::CodeTooLarge { .. }
            | WasmError::TooMany { .. }
            | WasmError::FunctionTooLarge { .. }
            | WasmError::TooManyLocals { .. } => CodeRejection::TooLarge,
            WasmError::DisabledFeature { .. }
            | WasmError::UnknownImport { .. }
            | WasmError::ImportSignature { .. }
            | WasmError::MissingExport { .. }
            | WasmError::ReservedExport { .. } => CodeRejection::Unsupported,
            _ => CodeRejection::Malformed,
        }
    }

    /// The kind of engine failure this is when a call cannot be processed.
    pub fn failure(&self) -> braid_core::EngineFailure {
        match self {
            WasmError::Watchdog { .. } => braid_core::EngineFailure::Watchdog,
            _ => braid_core::EngineFailure::Internal,
        }
    }
}

/// `Result` with [`WasmError`].
pub type Result<T, E = WasmError> = std::result::Result<T, E>;
