//! Storage backends: one [`Backend`] trait (get, atomic batch write, prefix
//! scan) with [`MemoryBackend`] for tests and benches and [`RocksDbBackend`]
//! as the embedded default.
//!
//! A backend knows nothing of engines or Merkle trees: it stores bytes in three
//! [`Column`]s and applies a [`WriteBatch`] all-or-nothing.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use std::path::Path;
use std::sync::RwLock;

use crate::{Result, StateError};

/// A keyspace inside a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// State values, keyed by encoded [`StateKey`](crate::StateKey).
    State,
    /// Merkle tree nodes, keyed by the tree's own node keys.
    Tree,
    /// Chain metadata: block headers, head pointer.
    Meta,
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 3] = [Column::State, Column::Tree, Column::Meta];

    /// The column's name (the RocksDB column family).
    pub fn name(self) -> &'static str {
        match self {
            Column::State => "state",
            Column::Tree => "tree",
            Column::Meta => "meta",
        }
    }
}

/// One write in a [`WriteBatch`]: `Some(value)` puts, `None` deletes.
pub type BatchOp = (Column, Vec<u8>, Option<Vec<u8>>);

/// Writes applied together, all or nothing, in insertion order.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Puts `value` at `key` in `column`.
    pub fn put(&mut self, column: Column, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((column, key, Some(value)));
    }
    /// Deletes `key` from `column`.
    pub fn delete(&mut self, column: Column, key: Vec<u8>) {
        self.ops.push((column, key, None));
    }
    /// The writes, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }
    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// Whether the batch holds no write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A key-value store with three columns and atomic batches.
///
/// Implementations must apply [`Backend::write`] atomically: after a crash the
/// store holds either every write of a batch or none.
pub trait Backend: Send + Sync {
    /// Reads one value.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Applies a batch atomically and durably.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure; nothing of the batch is applied.
    fn write(&self, batch: WriteBatch) -> Result<()>;

    /// Every `(key, value)` in `column` whose key starts with `prefix`, in
    /// ascending key order.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure.
    fn scan_prefix(&self, column: Column, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
}

/// One column of a [`MemoryBackend`]: values in a hash map for point reads,
/// and the keys in order for prefix scans.
#[derive(Debug, Default)]
struct MemoryColumn {
    values: FxHashMap<Vec<u8>, Vec<u8>>,
    ordered: BTreeSet<Vec<u8>>,
}

/// An in-memory backend: three columns behind one lock. Point reads are one
/// hash lookup; scans walk the ordered key set.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    columns: RwLock<[MemoryColumn; 3]>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn column_index(column: Column) -> usize {
    column as usize
}

impl Backend for MemoryBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let columns = self.columns.read().map_err(|_| StateError::Poisoned)?;
        Ok(columns[column_index(column)].values.get(key).cloned())
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut columns = self.columns.write().map_err(|_| StateError::Poisoned)?;
        for (column, key, value) in batch.ops {
            let col = &mut columns[column_index(column)];
            match value {
                Some(value) => {
                    if !col.values.contains_key(&key) {
                        col.ordered.insert(key.clone());
                    }
                    col.values.insert(key, value);
                }
                None => {
                    if col.values.remove(&key).is_some() {
                        col.ordered.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn scan_prefix(&self, column: Column, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let columns = self.columns.read().map_err(|_| StateError::Poisoned)?;
        let col = &columns[column_index(column)];
        Ok(col
            .ordered
            .range(prefix.to_vec()..)
            .take_while(|k| k.starts_with(prefix))
            .map(|k| (k.clone(), col.values[k].clone()))
            .collect())
    }
}

/// RocksDB, one column family per [`Column`], every batch written with the
/// write-ahead log synced (`sync = true`) so a committed block survives a crash.
pub struct RocksDbBackend {
    db: rocksdb::DB,
}

impl std::fmt::Debug for RocksDbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbBackend")
            .field("path", &self.db.path())
            .finish()
    }
}

impl RocksDbBackend {
    /// Opens (or creates) a database at `path`.
    ///
    /// # Errors
    /// [`StateError::Backend`] naming the path when RocksDB refuses to open it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let db =
            rocksdb::DB::open_cf(&options, path, Column::ALL.map(Column::name)).map_err(|e| {
                StateError::Backend {
                    context: format!("open {}", path.display()),
                    message: e.to_string(),
                }
            })?;
        Ok(RocksDbBackend { db })
    }

    fn cf(&self, column: Column) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(column.name())
            .ok_or_else(|| StateError::Backend {
                context: "column family".into(),
                message: format!("missing column family {}", column.name()),
            })
    }
}

fn rocks_err(context: &str) -> impl Fn(rocksdb::Error) -> StateError + '_ {
    move |e| StateError::Backend {
        context: context.to_string(),
        message: e.to_string(),
    }
}

impl Backend for RocksDbBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db
            .get_cf(self.cf(column)?, key)
            .map_err(rocks_err("get"))
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut rocks = rocksdb::WriteBatch::default();
        for (column, key, value) in &batch.ops {
            let cf = self.cf(*column)?;
            match value {
                Some(value) => rocks.put_cf(cf, key, value),
                None => rocks.delete_cf(cf, key),
            }
        }
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(true);
        self.db
            .write_opt(rocks, &options)
            .map_err(rocks_err("write batch"))
    }

    fn scan_prefix(&self, column: Column, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let iter = self.db.iterator_cf(
            self.cf(column)?,
            rocksdb::IteratorMode::From(prefix, rocksdb::Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item.map_err(rocks_err("scan"))?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(backend: &dyn Backend) {
        let mut batch = WriteBatch::new();
        batch.put(Column::State, b"a1".to_vec(), b"x".to_vec());
        batch.put(Column::State, b"a2".to_vec(), b"y".to_vec());
        batch.put(Column::State, b"b1".to_vec(), b"z".to_vec());
        batch.put(Column::Meta, b"a1".to_vec(), b"meta".to_vec());
        backend.write(batch).unwrap();
        assert_eq!(
            backend.get(Column::State, b"a1").unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(
            backend.get(Column::Meta, b"a1").unwrap(),
            Some(b"meta".to_vec())
        );
        assert_eq!(backend.get(Column::Tree, b"a1").unwrap(), None);
        let scanned = backend.scan_prefix(Column::State, b"a").unwrap();
        assert_eq!(
            scanned,
            vec![
                (b"a1".to_vec(), b"x".to_vec()),
                (b"a2".to_vec(), b"y".to_vec())
            ]
        );
        // An overwrite replaces, never duplicates, in point reads and scans.
        let mut batch = WriteBatch::new();
        batch.put(Column::State, b"a2".to_vec(), b"y2".to_vec());
        backend.write(batch).unwrap();
        assert_eq!(
            backend.scan_prefix(Column::State, b"a").unwrap(),
            vec![
                (b"a1".to_vec(), b"x".to_vec()),
                (b"a2".to_vec(), b"y2".to_vec())
            ]
        );
        let mut batch = WriteBatch::new();
        batch.delete(Column::State, b"a1".to_vec());
        batch.delete(Column::State, b"zz".to_vec());
        backend.write(batch).unwrap();
        assert_eq!(backend.get(Column::State, b"a1").unwrap(), None);
        assert_eq!(
            backend.scan_prefix(Column::State, b"a").unwrap(),
            vec![(b"a2".to_vec(), b"y2".to_vec())]
        );
    }

    #[test]
    fn memory_backend_behaves() {
        exercise(&MemoryBackend::new());
    }

    #[test]
    fn rocksdb_backend_behaves() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&RocksDbBackend::open(dir.path()).unwrap());
    }
}
