//! The committed state: values in a [`Backend`], the Merkle tree over them, an
//! in-memory read cache, and one atomic write per block.

use std::cell::RefCell;
use std::sync::Arc;

use indexmap::IndexMap;
use indexmap::map::raw_entry_v1::{RawEntryApiV1, RawEntryMut};
use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::backend::{Backend, Column, WriteBatch};
use crate::key::{self, EngineId, Identity, KEY_PREFIX_LEN, StateKey};
use crate::tree::{Hash, MerkleTree, Proof};
use crate::view::{StateView, ViewShared};
use crate::{Result, StateError};

/// Entries the read cache holds before it starts over; about 200 bytes each.
pub const READ_CACHE_CAPACITY: usize = 4_000_000;

/// One scope's cached values: engine key -> value, or `None` for a key known
/// to be absent. An `IndexMap`, which keeps each key's hash: growing a large
/// scope (a token's balances) rehashes from the stored hashes instead of
/// reading every key again.
type ScopeCache = IndexMap<Vec<u8>, Option<Vec<u8>>, FxBuildHasher>;

/// One engine's cached values, by identity.
type EngineCache = FxHashMap<Identity, ScopeCache>;

/// The read cache, indexed by engine, then identity, then engine key, so a
/// hit never builds the full encoded key (only a miss does, for the backend).
struct ReadCache {
    engines: Vec<EngineCache>,
    entries: usize,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache {
            engines: (0..256).map(|_| EngineCache::default()).collect(),
            entries: 0,
        }
    }
}

impl ReadCache {
    /// Empties the cache if it holds [`READ_CACHE_CAPACITY`] entries.
    fn make_room(&mut self) {
        if self.entries >= READ_CACHE_CAPACITY {
            self.engines.iter_mut().for_each(FxHashMap::clear);
            self.entries = 0;
        }
    }

    /// Caches `value`; a full cache starts over.
    fn insert(
        &mut self,
        engine: EngineId,
        identity: Identity,
        engine_key: Vec<u8>,
        value: Option<Vec<u8>>,
    ) {
        self.make_room();
        let scope = self.engines[engine.0 as usize].entry(identity).or_default();
        if scope.insert(engine_key, value).is_none() {
            self.entries += 1;
        }
    }

    /// Caches `value` under an encoded key (`engine ‖ identity ‖ engine_key`).
    fn insert_encoded(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        let mut identity = [0u8; 20];
        identity.copy_from_slice(&key[1..KEY_PREFIX_LEN]);
        self.insert(
            EngineId(key[0]),
            Identity(identity),
            key[KEY_PREFIX_LEN..].to_vec(),
            value,
        );
    }
}

/// Longest encoded key [`with_encoded_key`] builds on the stack (every EVM
/// key is 21 + 1 or 21 + 33 bytes).
const INLINE_KEY_LEN: usize = 64;

/// Calls `f` with `engine ‖ identity ‖ engine_key` (as [`StateKey::encode`]),
/// encoded in a stack buffer when it fits in [`INLINE_KEY_LEN`] bytes, on the
/// heap otherwise.
pub(crate) fn with_encoded_key<R>(
    engine: EngineId,
    identity: &Identity,
    engine_key: &[u8],
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    let len = KEY_PREFIX_LEN + engine_key.len();
    if len > INLINE_KEY_LEN {
        return f(&key::encode_parts(engine, identity, engine_key));
    }
    let mut buf = [0u8; INLINE_KEY_LEN];
    buf[0] = engine.0;
    buf[1..KEY_PREFIX_LEN].copy_from_slice(&identity.0);
    buf[KEY_PREFIX_LEN..len].copy_from_slice(engine_key);
    f(&buf[..len])
}

/// What one block commit wrote: the new root and the number of keys changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockCommit {
    /// Merkle root after the block.
    pub root: Hash,
    /// Keys written or deleted.
    pub keys_changed: usize,
}

/// The committed state of a chain.
///
/// Reads go to the cache, then the backend; [`StateDb::commit_block`] writes
/// values, tree nodes and the caller's metadata (the block header) in ONE
/// atomic batch, so a store reopened after a crash is at the last committed
/// block, never in between.
pub struct StateDb {
    backend: Arc<dyn Backend>,
    tree: MerkleTree,
    /// `None` over an in-memory backend ([`Backend::is_in_memory`]), whose
    /// own map answers a read as fast as the cache would.
    cache: Option<RefCell<ReadCache>>,
    /// What [`StateView`]s share: the backend and the committed root, under
    /// the lock [`StateDb::commit_block`] takes around its write.
    view: Arc<ViewShared>,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb")
            .field("root", &key::hex_of(&self.tree.root()))
            .finish()
    }
}

impl StateDb {
    /// Opens the state held in `backend` (an empty backend is the empty state).
    ///
    /// # Errors
    /// [`StateError::Backend`] or [`StateError::Corrupt`] if the tree cannot be read.
    pub fn open(backend: Arc<dyn Backend>) -> Result<Self> {
        let tree = MerkleTree::open(backend.as_ref())?;
        let cache = (!backend.is_in_memory()).then(|| RefCell::new(ReadCache::default()));
        let view = Arc::new(ViewShared {
            backend: backend.clone(),
            committed: std::sync::RwLock::new(tree.root()),
        });
        Ok(StateDb {
            backend,
            tree,
            cache,
            view,
        })
    }

    /// The committed state at `root` without caches (no read cache, no tree
    /// pages loaded), for a [`crate::ViewGuard`]: reads and proofs go to the
    /// backend, which must hold the state of `root` while it is used.
    pub(crate) fn pinned(backend: Arc<dyn Backend>, root: Hash) -> Self {
        let view = Arc::new(ViewShared {
            backend: backend.clone(),
            committed: std::sync::RwLock::new(root),
        });
        StateDb {
            backend,
            tree: MerkleTree::unloaded(root),
            cache: None,
            view,
        }
    }

    /// A read view of the last committed block that any thread can use
    /// while this `StateDb` applies the next one ([`StateView`]).
    pub fn view(&self) -> StateView {
        StateView::new(self.view.clone())
    }

    /// The Merkle root of the committed state.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The backend underneath.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Reads a committed value.
    ///
    /// # Errors
    /// [`StateError::Backend`] if the backend fails on a cache miss.
    pub fn get(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        self.get_with(engine, identity, engine_key, |value| {
            value.map(<[u8]>::to_vec)
        })
    }

    /// Reads a committed value and hands it to `read`, without copying it:
    /// a cache hit lends the cached bytes, a miss moves the backend's bytes
    /// into the cache and lends them. One probe of the scope's cache either
    /// way. Returns what `read` returns.
    ///
    /// # Errors
    /// [`StateError::Backend`] if the backend fails on a cache miss.
    pub fn get_with<R>(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        let Some(Ok(mut cache)) = self.cache.as_ref().map(RefCell::try_borrow_mut) else {
            // A `read` that reads this state again: served without the cache.
            return self.get_uncached_with(engine, identity, engine_key, read);
        };
        cache.make_room();
        let scope = cache.engines[engine.0 as usize]
            .entry(*identity)
            .or_default();
        match scope.raw_entry_mut_v1().from_key(engine_key) {
            RawEntryMut::Occupied(hit) => Ok(read(hit.get().as_deref())),
            RawEntryMut::Vacant(miss) => {
                let value = with_encoded_key(engine, identity, engine_key, |key| {
                    self.backend.get(Column::State, key)
                })?;
                let (_, value) = miss.insert(engine_key.to_vec(), value);
                let out = read(value.as_deref());
                cache.entries += 1;
                Ok(out)
            }
        }
    }

    /// [`StateDb::get_with`] straight from the backend: without a cache, or
    /// for a read made while the cache is borrowed.
    fn get_uncached_with<R>(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        let mut read = Some(read);
        let mut out = None;
        with_encoded_key(engine, identity, engine_key, |key| {
            self.backend.get_with(Column::State, key, &mut |value| {
                out = read.take().map(|read| read(value));
            })
        })?;
        out.ok_or(StateError::Corrupt {
            what: "backend",
            detail: "Backend::get_with returned without handing over the value".into(),
        })
    }

    /// Every committed `(engine_key, value)` of one scope whose engine key starts
    /// with `prefix`, ascending. Goes to the backend (scans are not cached).
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure.
    pub fn scan(
        &self,
        engine: EngineId,
        identity: &Identity,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let full = key::encode_parts(engine, identity, prefix);
        let rows = self.backend.scan_prefix(Column::State, &full)?;
        Ok(rows
            .into_iter()
            .map(|(k, v)| (k[KEY_PREFIX_LEN..].to_vec(), v))
            .collect())
    }

    /// Every committed `(key, value)` of one engine, ascending.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure, [`StateError::Corrupt`] on a bad key.
    pub fn scan_engine(&self, engine: EngineId) -> Result<Vec<(StateKey, Vec<u8>)>> {
        self.backend
            .scan_prefix(Column::State, &[engine.0])?
            .into_iter()
            .map(|(k, v)| {
                let key = StateKey::decode(&k).map_err(|e| StateError::Corrupt {
                    what: "state key",
                    detail: e.to_string(),
                })?;
                Ok((key, v))
            })
            .collect()
    }

    /// Reads a metadata record (block headers, head pointer).
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure.
    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.backend.get(Column::Meta, key)
    }

    /// Writes `changes` (sorted or not, each key once), the updated tree, and
    /// the metadata records that `meta` builds from the new root (the block
    /// header), all in one atomic batch; returns the new root.
    ///
    /// # Errors
    /// [`StateError::Key`] for an oversized key or value, before
    /// anything is written; [`StateError::Backend`] if the write fails, in
    /// which case neither the store nor this `StateDb` changed.
    pub fn commit_block(
        &mut self,
        changes: Vec<(StateKey, Option<Vec<u8>>)>,
        meta: impl FnOnce(&Hash) -> Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<BlockCommit> {
        let mut encoded = Vec::with_capacity(changes.len());
        for (key, value) in &changes {
            key.check()?;
            if let Some(value) = value {
                key::check_value(key, value)?;
            }
            encoded.push((key.encode(), value.clone()));
        }
        let mut batch = WriteBatch::new();
        for (key, value) in &encoded {
            match value {
                Some(value) => batch.put(Column::State, key.clone(), value.clone()),
                None => batch.delete(Column::State, key.clone()),
            }
        }
        let update = self
            .tree
            .prepare(self.backend.as_ref(), &encoded, &mut batch)?;
        for (key, value) in meta(&update.root()) {
            batch.put(Column::Meta, key, value);
        }
        // The `step` events mark the commit's phases for observers (the
        // crash campaign kills a process at each of them): `staged` before
        // the batch goes to the backend, the backend's own `writing` and
        // `written` around its write, `applied` once this view moved.
        tracing::debug!(step = "staged", ops = batch.len(), "block batch staged");
        let root = update.root();
        {
            // Readers of the committed block wait for this write only.
            let mut committed = self
                .view
                .committed
                .write()
                .map_err(|_| StateError::Poisoned)?;
            self.backend.write(batch)?;
            *committed = root;
        }
        self.tree.apply(update);
        tracing::debug!(step = "applied", keys = changes.len(), "block committed");
        let keys_changed = changes.len();
        if let Some(cache) = &self.cache {
            let mut cache = cache.borrow_mut();
            for (key, value) in encoded {
                cache.insert_encoded(&key, value);
            }
        }
        Ok(BlockCommit { root, keys_changed })
    }

    /// A proof for `key` against [`StateDb::root`]: inclusion if present,
    /// exclusion if absent. Check it with [`crate::verify_proof`].
    ///
    /// # Errors
    /// [`StateError::Backend`] / [`StateError::Corrupt`] reading tree nodes.
    pub fn prove(&self, key: &StateKey) -> Result<Proof> {
        self.tree.prove(self.backend.as_ref(), &key.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryBackend, RocksDbBackend, verify_proof};

    fn sample_changes(n: u8, salt: u8) -> Vec<(StateKey, Option<Vec<u8>>)> {
        (0..n)
            .map(|i| {
                let key = StateKey::new(EngineId(i % 4), Identity([i; 20]), vec![1, i]);
                (key, Some(vec![salt, i]))
            })
            .collect()
    }

    /// Reads through the read cache (RocksDB) and without one (memory) agree,
    /// for present and absent keys, on a miss, on a hit, after a commit that
    /// changes a cached value, and for a read made from inside a read.
    #[test]
    fn reads_agree_with_and_without_the_read_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cached = StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
        let plain = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        assert!(cached.cache.is_some() && plain.cache.is_none());
        let present = StateKey::new(EngineId(1), Identity([1; 20]), vec![1, 1]);
        let absent = StateKey::new(EngineId(1), Identity([1; 20]), vec![9]);
        for mut db in [cached, plain] {
            let read = |db: &StateDb, key: &StateKey| {
                db.get(key.engine, &key.identity, &key.engine_key).unwrap()
            };
            for _ in 0..2 {
                assert_eq!(read(&db, &present), None);
                assert_eq!(read(&db, &absent), None);
            }
            db.commit_block(sample_changes(2, 7), |_| vec![]).unwrap();
            for _ in 0..2 {
                assert_eq!(read(&db, &present), Some(vec![7, 1]));
                assert_eq!(read(&db, &absent), None);
            }
            let nested = db
                .get_with(
                    present.engine,
                    &present.identity,
                    &present.engine_key,
                    |outer| {
                        (
                            outer.map(<[u8]>::to_vec),
                            read(&db, &absent),
                            read(&db, &present),
                        )
                    },
                )
                .unwrap();
            assert_eq!(nested, (Some(vec![7, 1]), None, Some(vec![7, 1])));
        }
    }

    #[test]
    fn commit_then_read_and_prove() {
        let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        let empty = db.root();
        let commit = db.commit_block(sample_changes(20, 1), |_| vec![]).unwrap();
        assert_ne!(commit.root, empty);
        let key = StateKey::new(EngineId(3), Identity([3; 20]), vec![1, 3]);
        assert_eq!(
            db.get(key.engine, &key.identity, &key.engine_key).unwrap(),
            Some(vec![1, 3])
        );
        let proof = db.prove(&key).unwrap();
        verify_proof(&db.root(), &key.encode(), Some(&[1, 3]), &proof).unwrap();
        let absent = StateKey::new(EngineId(3), Identity([3; 20]), vec![9]);
        verify_proof(
            &db.root(),
            &absent.encode(),
            None,
            &db.prove(&absent).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn memory_and_rocksdb_give_the_same_roots() {
        let dir = tempfile::tempdir().unwrap();
        let mut rocks = StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
        let mut memory = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        for salt in 0..3 {
            let a = rocks
                .commit_block(sample_changes(50, salt), |_| vec![])
                .unwrap();
            let b = memory
                .commit_block(sample_changes(50, salt), |_| vec![])
                .unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn cache_sees_deletions_and_reopen_sees_commits() {
        let dir = tempfile::tempdir().unwrap();
        let key = StateKey::new(EngineId::EVM, Identity([1; 20]), vec![1, 2]);
        let root = {
            let mut db =
                StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
            db.commit_block(vec![(key.clone(), Some(b"v".to_vec()))], |_| vec![])
                .unwrap();
            assert_eq!(
                db.get(key.engine, &key.identity, &key.engine_key).unwrap(),
                Some(b"v".to_vec())
            );
            db.commit_block(vec![(key.clone(), None)], |_| {
                vec![(b"head".to_vec(), b"2".to_vec())]
            })
            .unwrap();
            assert_eq!(
                db.get(key.engine, &key.identity, &key.engine_key).unwrap(),
                None
            );
            db.root()
        };
        let db = StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
        assert_eq!(db.root(), root);
        assert_eq!(db.meta(b"head").unwrap(), Some(b"2".to_vec()));
        assert_eq!(
            db.get(key.engine, &key.identity, &key.engine_key).unwrap(),
            None
        );
    }

    #[test]
    fn stack_encoded_keys_match_encode_parts() {
        let identity = Identity([0xab; 20]);
        for len in [
            0,
            1,
            33,
            INLINE_KEY_LEN - KEY_PREFIX_LEN,
            INLINE_KEY_LEN,
            1024,
        ] {
            let engine_key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let encoded = with_encoded_key(EngineId::EVM, &identity, &engine_key, <[u8]>::to_vec);
            assert_eq!(
                encoded,
                key::encode_parts(EngineId::EVM, &identity, &engine_key)
            );
        }
    }

    #[test]
    fn get_with_lends_hits_and_misses_alike() {
        let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        db.commit_block(sample_changes(8, 5), |_| vec![]).unwrap();
        // A fresh view: the first read misses, the second hits.
        let db = StateDb::open(db.backend().clone()).unwrap();
        let key = StateKey::new(EngineId(2), Identity([2; 20]), vec![1, 2]);
        for _ in 0..2 {
            let len = db
                .get_with(key.engine, &key.identity, &key.engine_key, |v| {
                    v.map(<[u8]>::len)
                })
                .unwrap();
            assert_eq!(len, Some(2));
            assert_eq!(
                db.get(key.engine, &key.identity, &key.engine_key).unwrap(),
                Some(vec![5, 2])
            );
        }
        let absent = db
            .get_with(key.engine, &key.identity, &[9], |v| v.is_none())
            .unwrap();
        assert!(absent);
    }

    #[test]
    fn oversized_value_changes_nothing() {
        let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        let before = db.root();
        let key = StateKey::new(EngineId::EVM, Identity([1; 20]), vec![1]);
        let err = db
            .commit_block(
                vec![(key.clone(), Some(vec![0; key::MAX_VALUE_LEN + 1]))],
                |_| vec![],
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                StateError::Key(braid_core::KeyError::ValueTooLarge { .. })
            ),
            "{err}"
        );
        assert_eq!(db.root(), before);
        assert_eq!(
            db.get(key.engine, &key.identity, &key.engine_key).unwrap(),
            None
        );
    }
}
