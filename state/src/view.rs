//! [`StateView`]: reads of the last committed block, from any thread, while
//! the next block is being applied.
//!
//! [`StateDb`] is `!Sync` (its read cache is a `RefCell`) and belongs to the
//! one thread that applies blocks. A node's RPC handlers read through a
//! `StateView` instead: it is `Clone + Send + Sync`, reads straight from the
//! backend (RocksDB's own block cache, no Braid read cache), and pins one
//! committed block per [`StateView::read`].
//!
//! Consistency: values, tree pages and metadata are overwritten in place by
//! [`StateDb::commit_block`]'s one atomic batch. A [`ViewGuard`] holds a
//! shared lock that the commit takes exclusively around that write only, so
//! everything read through one guard (values, proofs, the head record) is of
//! one committed block. Executing a block never waits for readers; only its
//! final write does, and a reader waits at most for that write.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::backend::{Backend, Column};
use crate::db::StateDb;
use crate::key::StateKey;
use crate::tree::{Hash, Proof};
use crate::{Result, StateError};

/// What a [`StateDb`] shares with its views: the backend and the root of the
/// last committed block, under the lock that orders commits and reads.
pub(crate) struct ViewShared {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) committed: RwLock<Hash>,
}

/// A thread-safe read view of a [`StateDb`]'s last committed block; made by
/// [`StateDb::view`]. Cheap to clone.
#[derive(Clone)]
pub struct StateView {
    shared: Arc<ViewShared>,
}

impl std::fmt::Debug for StateView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateView").finish_non_exhaustive()
    }
}

impl StateView {
    pub(crate) fn new(shared: Arc<ViewShared>) -> Self {
        StateView { shared }
    }

    /// Pins the last committed block: every read through the guard is of
    /// that block. A commit waits for the guards taken before it to drop, so
    /// hold one for one request, not longer.
    ///
    /// # Errors
    /// [`StateError::Poisoned`] if a commit panicked while holding the lock.
    pub fn read(&self) -> Result<ViewGuard<'_>> {
        let root = self
            .shared
            .committed
            .read()
            .map_err(|_| StateError::Poisoned)?;
        let db = StateDb::pinned(self.shared.backend.clone(), *root);
        Ok(ViewGuard { _root: root, db })
    }
}

/// One committed block, pinned (see [`StateView::read`]).
pub struct ViewGuard<'a> {
    _root: RwLockReadGuard<'a, Hash>,
    db: StateDb,
}

impl ViewGuard<'_> {
    /// The pinned block's state as a read-only [`StateDb`] (no read cache,
    /// no page cache), for code that reads through one: a
    /// `braid_kernel::BlockState` executing a call on a throw-away block.
    /// It cannot commit: the guard lends it only by shared reference.
    pub fn db(&self) -> &StateDb {
        &self.db
    }

    /// The Merkle root of the pinned block.
    pub fn root(&self) -> Hash {
        self.db.root()
    }

    /// A committed value.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure.
    pub fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>> {
        self.db.get(key.engine, &key.identity, &key.engine_key)
    }

    /// A metadata record (block headers, receipts, indexes).
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure.
    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.backend().get(Column::Meta, key)
    }

    /// An inclusion or exclusion proof for `key` against [`ViewGuard::root`]
    /// (check it with [`crate::verify_proof`]).
    ///
    /// # Errors
    /// [`StateError::Backend`] / [`StateError::Corrupt`] reading tree pages.
    pub fn prove(&self, key: &StateKey) -> Result<Proof> {
        self.db.prove(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EngineId, Identity, MemoryBackend, RocksDbBackend, verify_proof};

    fn key(i: u8) -> StateKey {
        StateKey::new(EngineId::EVM, Identity([i; 20]), vec![1, i])
    }

    /// A guard taken before a commit keeps answering for its block (values,
    /// proofs, metadata); one taken after sees the new block.
    #[test]
    fn a_guard_pins_one_block_and_proofs_verify() {
        let dir = tempfile::tempdir().unwrap();
        for backend in [
            Arc::new(MemoryBackend::new()) as Arc<dyn Backend>,
            Arc::new(RocksDbBackend::open(dir.path()).unwrap()),
        ] {
            let mut db = StateDb::open(backend).unwrap();
            db.commit_block(vec![(key(1), Some(vec![1]))], |_| {
                vec![(b"head".to_vec(), b"1".to_vec())]
            })
            .unwrap();
            let view = db.view();
            let guard = view.read().unwrap();
            assert_eq!(guard.root(), db.root());
            assert_eq!(guard.get(&key(1)).unwrap(), Some(vec![1]));
            assert_eq!(guard.meta(b"head").unwrap(), Some(b"1".to_vec()));
            let proof = guard.prove(&key(1)).unwrap();
            verify_proof(&guard.root(), &key(1).encode(), Some(&[1]), &proof).unwrap();
            let absent = guard.prove(&key(2)).unwrap();
            verify_proof(&guard.root(), &key(2).encode(), None, &absent).unwrap();
            drop(guard);

            let before = db.root();
            let reader = {
                let view = view.clone();
                std::thread::spawn(move || {
                    let guard = view.read().unwrap();
                    (guard.root(), guard.get(&key(2)).unwrap())
                })
            };
            let (seen_root, seen) = reader.join().unwrap();
            assert_eq!((seen_root, seen), (before, None));
            db.commit_block(vec![(key(2), Some(vec![2]))], |_| {
                vec![(b"head".to_vec(), b"2".to_vec())]
            })
            .unwrap();
            let guard = view.read().unwrap();
            assert_eq!(guard.root(), db.root());
            assert_ne!(guard.root(), before);
            assert_eq!(guard.get(&key(2)).unwrap(), Some(vec![2]));
            assert_eq!(guard.meta(b"head").unwrap(), Some(b"2".to_vec()));
            let proof = guard.prove(&key(2)).unwrap();
            verify_proof(&guard.root(), &key(2).encode(), Some(&[2]), &proof).unwrap();
        }
    }

    /// A commit waits for a guard taken before it: readers never see a block
    /// half written.
    #[test]
    fn a_commit_waits_for_open_guards() {
        let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        let view = db.view();
        let guard = view.read().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                db.commit_block(vec![(key(3), Some(vec![3]))], |_| vec![])
                    .unwrap();
                tx.send(()).unwrap();
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(rx.try_recv().is_err(), "the commit went past a reader");
            assert_eq!(guard.get(&key(3)).unwrap(), None);
            drop(guard);
            rx.recv().unwrap();
        });
        assert_eq!(view.read().unwrap().get(&key(3)).unwrap(), Some(vec![3]));
    }
}
