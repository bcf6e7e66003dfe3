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

    /// Reads one value and hands it to `read` (by default a copy from
    /// [`Backend::get`]; an in-memory store lends its own bytes).
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure.
    fn get_with(
        &self,
        column: Column,
        key: &[u8],
        read: &mut dyn FnMut(Option<&[u8]>),
    ) -> Result<()> {
        read(self.get(column, key)?.as_deref());
        Ok(())
    }

    /// Whether every value already lives in this process's memory, so that a
    /// read cache in front of the store would only duplicate it (then
    /// [`crate::StateDb`] keeps none). `false` by default.
    fn is_in_memory(&self) -> bool {
        false
    }

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

    fn get_with(
        &self,
        column: Column,
        key: &[u8],
        read: &mut dyn FnMut(Option<&[u8]>),
    ) -> Result<()> {
        let columns = self.columns.read().map_err(|_| StateError::Poisoned)?;
        read(
            columns[column_index(column)]
                .values
                .get(key)
                .map(Vec::as_slice),
        );
        Ok(())
    }

    fn is_in_memory(&self) -> bool {
        true
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
        // Every column family gets these options (`DB::open_cf` would give
        // them RocksDB's defaults instead).
        let column = column_options();
        let columns =
            Column::ALL.map(|c| rocksdb::ColumnFamilyDescriptor::new(c.name(), column.clone()));
        let db = rocksdb::DB::open_cf_descriptors(&options, path, columns).map_err(|e| {
            StateError::Backend {
                context: format!("open {}", path.display()),
                message: e.to_string(),
            }
        })?;
        Ok(RocksDbBackend { db })
    }

    /// Opens an existing database for reading only (RocksDB's read-only
    /// mode): nothing in `path` is created or written, and
    /// [`Backend::write`] fails. A write-ahead log left by a crash is
    /// replayed in memory, so reads see every committed batch.
    ///
    /// # Errors
    /// [`StateError::NoDatabase`] if `path` holds no RocksDB database (no
    /// `CURRENT` file), checked before RocksDB touches the directory;
    /// [`StateError::Backend`] naming the path when RocksDB refuses to open it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.join("CURRENT").is_file() {
            return Err(StateError::NoDatabase { path: path.into() });
        }
        let options = rocksdb::Options::default();
        let column = column_options();
        let columns =
            Column::ALL.map(|c| rocksdb::ColumnFamilyDescriptor::new(c.name(), column.clone()));
        let db = rocksdb::DB::open_cf_descriptors_read_only(&options, path, columns, false)
            .map_err(|e| StateError::Backend {
                context: format!("open {} read-only", path.display()),
                message: e.to_string(),
            })?;
        Ok(RocksDbBackend { db })
    }

    /// Compacts every column family over its whole key range (RocksDB
    /// `compact_range`): flushes the memtables to SST files and rewrites
    /// them into the bottom level. Returns when the compaction is done.
    /// Maintenance after bulk loads; the crash campaign
    /// (`state/tests/crash.rs`) kills a process inside it.
    ///
    /// # Errors
    /// [`StateError::Backend`] if a column family is missing.
    pub fn compact(&self) -> Result<()> {
        tracing::debug!(step = "compacting", "RocksDB compaction begins");
        for column in Column::ALL {
            self.db
                .compact_range_cf(self.cf(column)?, None::<&[u8]>, None::<&[u8]>);
        }
        tracing::debug!(step = "compacted", "RocksDB compaction done");
        Ok(())
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

/// Options of each column family. Reads of absent keys are common (a fresh
/// recipient's balance, an exclusion proof's path): whole-key Bloom filters
/// (10 bits per key, about 1% false positives) in the SST files and in the
/// memtables answer most of them without a block read or a skip-list walk.
/// Filter and index blocks live in a shared 64 MiB LRU block cache, pinned
/// for level-0 files. Values are LZ4-compressed.
fn column_options() -> rocksdb::Options {
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_whole_key_filtering(true);
    table.set_block_cache(&rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES));
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut options = rocksdb::Options::default();
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    options.set_block_based_table_factory(&table);
    options.set_memtable_whole_key_filtering(true);
    options.set_memtable_prefix_bloom_ratio(0.1);
    options
}

/// Bytes of RocksDB's block cache (data, index and filter blocks).
const BLOCK_CACHE_BYTES: usize = 64 << 20;

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
        tracing::debug!(step = "writing", ops = batch.len(), "RocksDB write begins");
        self.db
            .write_opt(rocks, &options)
            .map_err(rocks_err("write batch"))?;
        tracing::debug!(step = "written", ops = batch.len(), "RocksDB write done");
        Ok(())
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
