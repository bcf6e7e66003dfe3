//! `braid-state`: the one key-value state every Braid engine runs over, and its
//! one Merkle root.
//!
//! What it is: storage [`backend`]s (memory and
//! RocksDB), the [`WriteJournal`] that invocations write into, the committed
//! [`StateDb`] with its in-memory read cache, the Merkle [`tree`] with
//! inclusion and exclusion proofs, one atomic write per block, and
//! [`StateView`], reads of the last committed block from any thread.
//!
//! What it does not do: it knows no engine, no gas, no call stack and no
//! transaction. Keys and ids come from `braid-core`; the kernel
//! (`braid-kernel`) builds on this crate: `core` <- `state` <- `kernel` <- `chains`.

pub mod backend;
mod db;
mod journal;
pub mod tree;
mod view;

pub use braid_core::key;

pub use backend::{Backend, Column, MemoryBackend, RocksDbBackend, WriteBatch};
pub use db::{BlockCommit, StateDb};
pub use journal::{Checkpoint, NO_OWNER, WriteJournal};
pub use key::{EngineId, Identity, StateKey, namespace};
pub use tree::{Hash, Proof, ProofError, verify_proof};
pub use view::{StateView, ViewGuard};

/// Errors of the state layer: invalid keys or values, backend I/O, corrupt data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A key or value breaks a limit of the key encoding.
    #[error(transparent)]
    Key(#[from] braid_core::KeyError),
    /// The storage backend failed.
    #[error("backend failure during {context}: {message}")]
    Backend {
        /// What was being done.
        context: String,
        /// The backend's own message.
        message: String,
    },
    /// A directory holds no database (asked to open an existing one).
    #[error("no database at {path}")]
    NoDatabase {
        /// The directory.
        path: std::path::PathBuf,
    },
    /// Stored data does not decode (a node, a header, a root pointer).
    #[error("corrupt {what} in the store: {detail}")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A lock was poisoned by a panic in another thread.
    #[error("state lock poisoned by an earlier panic")]
    Poisoned,
}

/// `Result` with [`StateError`].
pub type Result<T, E = StateError> = std::result::Result<T, E>;
