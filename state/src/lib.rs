//! `braid-state`: the one key-value state every Braid engine runs over, and its
//! one Merkle root.
//!
//! What it is: key encoding (RFC 0004), storage [`backend`]s (memory and
//! RocksDB), the [`WriteJournal`] that invocations write into, the committed
//! [`StateDb`] with its in-memory read cache, the Merkle [`tree`] with
//! inclusion and exclusion proofs, and one atomic write per block.
//!
//! What it does not do: it knows no engine, no gas, no call stack and no
//! transaction. It is the bottom layer: `state` <- `core` <- engines <- chains.

pub mod backend;
mod db;
mod journal;
pub mod key;
pub mod tree;

pub use backend::{Backend, Column, MemoryBackend, RocksDbBackend, WriteBatch};
pub use db::{BlockCommit, StateDb};
pub use journal::{Checkpoint, WriteJournal};
pub use key::{EngineId, Identity, StateKey, namespace};
pub use tree::{Hash, Proof, ProofError, verify_proof};

/// Errors of the state layer: invalid keys or values, backend I/O, corrupt data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// An encoded key is shorter than its 21-byte `engine ‖ identity` prefix.
    #[error("state key is {len} bytes, shorter than the 21-byte engine and identity prefix")]
    KeyTooShort {
        /// Length seen, in bytes.
        len: usize,
    },
    /// An identity is not 20 bytes.
    #[error("identity is {len} bytes, expected 20")]
    BadIdentityLength {
        /// Length seen, in bytes.
        len: usize,
    },
    /// An engine key exceeds the limit.
    #[error("engine key is {len} bytes, limit {limit}")]
    EngineKeyTooLong {
        /// Length seen, in bytes.
        len: usize,
        /// Limit, in bytes.
        limit: usize,
    },
    /// A value exceeds [`key::MAX_VALUE_LEN`].
    #[error("value for key {key} is {len} bytes, limit {limit}")]
    ValueTooLarge {
        /// The key, as 0x-prefixed hex.
        key: String,
        /// Length seen, in bytes.
        len: usize,
        /// Limit, in bytes.
        limit: usize,
    },
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
