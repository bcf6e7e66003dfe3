//! [`CoreError`]: a call could not be processed. Consensus outcomes (revert,
//! fault, out-of-gas) are [`crate::Outcome`]s, never errors (STYLE 9).

use crate::cap::CapDecodeError;
use crate::{EngineId, Identity, KeyError, ScopeKind, StateKey, key::hex_of};

/// A boxed error from a layer the seam does not name (the state backend, an
/// engine's own machinery), kept for its message and source chain.
type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an engine refused code at deploy time: a kind a caller can branch on.
/// The engine's own error, with the offending values, is the `reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeRejection {
    /// The bytes do not parse or do not validate as the engine's format.
    Malformed,
    /// A size limit of the engine (code length, function size, locals...).
    TooLarge,
    /// Valid for the format, but uses something the engine does not allow
    /// (a WASM proposal or import, a PVM entry point, EVM's `0xEF` prefix).
    Unsupported,
}

/// What failed inside an engine that could not process a call: a kind a
/// caller can branch on. The engine's own error is the `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineFailure {
    /// The EVM refused an Ethereum transaction (nonce, balance, fees, gas):
    /// it cannot be included in a block, and nothing it touched was written.
    InvalidTransaction,
    /// Code stored at deploy no longer loads (corrupt state or an engine
    /// that changed its validation).
    CorruptCode,
    /// The engine's own machinery failed (wasmtime, a plugin's internal
    /// error, a plugin that misused the host).
    Internal,
    /// A wall-clock backstop stopped a guest that its gas did not stop. Never
    /// a consensus outcome: it is an internal error that stops the block.
    Watchdog,
}

/// Errors at the seams: the call could not be processed, and the block stops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The state underneath the host failed (backend I/O, corrupt data). No
    /// engine branches on it; the block stops.
    #[error("state failure: {0}")]
    State(#[source] Source),
    /// A key or value an engine passed breaks a state limit. Engines check
    /// the limits of [`crate::key`] first (a guest's oversized write is a
    /// status or a fault, never this error): only a broken engine gets here.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An engine tried to read or write outside its mutator scope.
    #[error(
        "engine {engine} running {} tried to access identity {identity}, outside its mutator scope",
        scope_text(*.engine, *.scope, .running)
    )]
    ScopeViolation {
        /// The running engine.
        engine: EngineId,
        /// The scope it runs in.
        scope: ScopeKind,
        /// The running instance (or, for an engine-scoped engine, the
        /// called account).
        running: Identity,
        /// The identity it named.
        identity: Identity,
    },
    /// An instance-scoped engine tried to write (or wipe a prefix covering)
    /// a namespace only the kernel writes: its instance record (`0x00`) or
    /// its caps (`0x04`; RFC 0010). Only a broken engine gets here: guests'
    /// keys are always under `0x01`.
    #[error(
        "engine {engine} running {identity} tried to write the kernel's namespace 0x{namespace:02x}"
    )]
    ReservedKey {
        /// The running engine.
        engine: EngineId,
        /// The running instance.
        identity: Identity,
        /// The namespace tag (for a prefix wipe that covers several, the
        /// first: `0x00`).
        namespace: u8,
    },
    /// A cap operation reached a host that keeps no caps, or an engine
    /// whose scope is the whole engine (the EVM) asked for caps.
    #[error("engine {engine} asked for caps, which it does not have")]
    CapsUnsupported {
        /// The running engine.
        engine: EngineId,
    },
    /// Stored cap bytes (a slot, an image, a cnode, an instance record) do
    /// not decode. Only the kernel writes them: corrupt state.
    #[error("stored cap data at {key} does not decode: {source}")]
    CorruptCap {
        /// The key read.
        key: StateKey,
        /// What is wrong.
        #[source]
        source: CapDecodeError,
    },
    /// No engine is registered under this id.
    #[error("unknown engine id {engine}")]
    UnknownEngine {
        /// The id asked for.
        engine: EngineId,
    },
    /// Code refused at deploy time by the engine's validation.
    #[error("engine {engine} refused code with hash {}: {reason}", hex_of(.code_hash))]
    InvalidCode {
        /// The engine that validated it.
        engine: EngineId,
        /// keccak256 of the code.
        code_hash: [u8; 32],
        /// What kind of refusal.
        kind: CodeRejection,
        /// The engine's reason, with the offending values.
        #[source]
        reason: Source,
    },
    /// `Kernel::deploy` on an engine whose scope is the whole engine (the EVM
    /// deploys through its own CREATE instead).
    #[error("engine {engine} does not take deployments through the kernel")]
    DeployUnsupported {
        /// The engine.
        engine: EngineId,
    },
    /// A deploy named an instance that already exists.
    #[error("instance {identity} of engine {engine} already exists")]
    InstanceExists {
        /// The engine.
        engine: EngineId,
        /// The identity.
        identity: Identity,
    },
    /// An engine failed internally (not a guest outcome).
    #[error("engine {engine} failed ({kind:?}): {source}")]
    Engine {
        /// The engine that failed.
        engine: EngineId,
        /// What kind of failure.
        kind: EngineFailure,
        /// The engine's own error.
        #[source]
        source: Source,
    },
    /// `BLOCKHASH` could not be answered: the stored header of a block the
    /// chain must know is missing or does not decode, or the store failed.
    #[error("the hash of block {number} cannot be read: {source}")]
    BlockHash {
        /// The block asked for.
        number: u64,
        /// Why it cannot be read.
        #[source]
        source: Source,
    },
    /// The kernel's own bookkeeping was misused (e.g. a host call with no
    /// invocation running).
    #[error("kernel invariant broken: {what}")]
    Invariant {
        /// Which invariant.
        what: &'static str,
    },
}

impl CoreError {
    /// Wraps a failure of the state underneath the host.
    pub fn state(error: impl std::error::Error + Send + Sync + 'static) -> CoreError {
        CoreError::State(Box::new(error))
    }

    /// An engine's internal failure of `kind`.
    pub fn engine(
        engine: EngineId,
        kind: EngineFailure,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> CoreError {
        CoreError::Engine {
            engine,
            kind,
            source: Box::new(error),
        }
    }

    /// Code of `engine` refused at deploy time.
    pub fn invalid_code(
        engine: EngineId,
        code: &[u8],
        kind: CodeRejection,
        reason: impl std::error::Error + Send + Sync + 'static,
    ) -> CoreError {
        CoreError::InvalidCode {
            engine,
            code_hash: crate::keccak256(code),
            kind,
            reason: Box::new(reason),
        }
    }
}

fn scope_text(engine: EngineId, scope: ScopeKind, running: &Identity) -> String {
    match scope {
        ScopeKind::Engine => format!("engine {engine}"),
        ScopeKind::Instance => format!("{engine}/{running}"),
    }
}

/// `Result` with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
