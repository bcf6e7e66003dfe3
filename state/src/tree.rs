//! The one Merkle tree over every key of every engine (RFC 0001).
//!
//! # Shape
//! A binary sparse Merkle tree over 256-bit paths: a key's path is
//! [`key_hash`]`(encoded key) = blake2b-256(engine ‖ identity ‖ engine_key)`,
//! read most significant bit first (`0` = left). A subtree holding no key
//! hashes to 32 zero bytes ([`EMPTY_ROOT`]); a subtree holding exactly one key
//! *is* that key's leaf, whatever its depth (single-leaf subtrees collapse, as
//! in Diem's Jellyfish Merkle tree); a subtree holding two or more keys is an
//! internal node. Hashes, all blake2b-256 with a one-byte domain tag:
//!
//! - leaf: `blake2b-256(0x00 ‖ key_hash ‖ blake2b-256(value))`,
//! - internal: `blake2b-256(0x01 ‖ left ‖ right)`, an empty child being 32 zero bytes.
//!
//! The root is a function of the set of `(key, value)` pairs only: not of the
//! order of writes, of how they were split into blocks, or of the backend.
//!
//! # Storage
//! Nodes are grouped in *pages*: a page is the 4-level subtree below a
//! position whose depth is a multiple of 4, keyed in [`Column::Tree`] by
//! `depth (1 byte) ‖ prefix (ceil(depth / 8) bytes)`. A page stores its 16
//! bottom slots only, each empty, a leaf (`key_hash ‖ value_hash`, 64 bytes)
//! or a child page's hash (32 bytes), as `leaf_mask: u16 LE ‖ child_mask:
//! u16 LE ‖ leaves ‖ children`; the 15 hashes inside a page are recomputed
//! (at most 15 blake2b calls). A page exists where the subtree holds two or
//! more keys (the root page: one or more). The root hash is also stored, at
//! key `0xFF`, and checked against the root page on [`MerkleTree::open`].
//!
//! A block rewrites only the pages on the paths of its changed keys, about
//! `log16(keys) + 1` pages per key, shared near the root; a page is 4 to
//! 1028 bytes (at 1M keys: 210 on average, 78 bytes per key in all; the
//! 125k pages a 100k-key block rewrites average 330).
//!
//! # Cache
//! A [`MerkleTree`] keeps the pages it has read or written in memory, up to a
//! budget in bytes ([`DEFAULT_CACHE_BYTES`]); the top four page levels (up to
//! 4369 pages) are loaded on open and never evicted. The cache is only a
//! cache: every page lives in the backend, and a tree reopened from the
//! backend has the same root and gives the same proofs.
//!
//! # Updating
//! [`MerkleTree::prepare`] computes the new root and stages the page writes
//! into the caller's [`WriteBatch`] without touching the tree; once the caller
//! has written the batch, [`MerkleTree::apply`] makes the update current.
//! Large batches are split over up to [`MerkleTree::set_threads`] threads by
//! the root page's 16 slots.

mod node;
mod page;
mod proof;
mod update;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::backend::{Backend, Column, WriteBatch};
use crate::{Result, StateError};

pub use node::{EMPTY_ROOT, Hash, internal_hash, key_hash, leaf_hash, value_hash};
pub use proof::{Proof, ProofError, Terminal, verify_hashed, verify_proof};

use node::{Node, bit};
use page::{PAGE_BITS, Page, PageKey, ROOT_POINTER_KEY, fold, fold_levels};
use update::{Change, Staged};

/// Default budget of the page cache: 512 MiB, about 4 million keys' worth of pages.
pub const DEFAULT_CACHE_BYTES: usize = 512 << 20;

/// Pages at depth below this many bits (the top four page levels, at most
/// 4369 pages, about 2 MiB) are loaded on open and never evicted.
const PINNED_DEPTH: usize = 16;

/// The Merkle tree of the state, with its in-memory page cache.
///
/// The tree never writes to the backend itself: [`MerkleTree::prepare`]
/// stages writes into the caller's batch.
#[derive(Debug)]
pub struct MerkleTree {
    root: Hash,
    pages: FxHashMap<PageKey, CachedPage>,
    cache_bytes: usize,
    cache_budget: usize,
    generation: u64,
    threads: usize,
}

#[derive(Debug)]
struct CachedPage {
    page: Page,
    /// The last update that wrote or loaded the page.
    generation: u64,
}

fn cached_footprint(page: &Page) -> usize {
    std::mem::size_of::<PageKey>() + std::mem::size_of::<CachedPage>() + page.footprint() + 16
}

/// A computed but not yet current tree update: the new root and the pages
/// to put into the cache. Made by [`MerkleTree::prepare`], consumed by
/// [`MerkleTree::apply`].
#[derive(Debug)]
pub struct TreeUpdate {
    base: Hash,
    root: Hash,
    writes: Vec<(PageKey, Option<Page>)>,
    loaded: Vec<(PageKey, Page)>,
}

impl TreeUpdate {
    /// The root after the update.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The root the update was prepared against.
    pub fn base_root(&self) -> Hash {
        self.base
    }

    /// Pages put or deleted by the update (not counting the root pointer).
    pub fn pages_written(&self) -> usize {
        self.writes.len()
    }
}

impl MerkleTree {
    /// Opens the tree whose pages live in `backend`'s [`Column::Tree`], with
    /// a page cache of [`DEFAULT_CACHE_BYTES`]. An empty store opens as the
    /// empty tree ([`EMPTY_ROOT`]).
    ///
    /// Reads the root pointer and the top four page levels (at most 4369
    /// pages), and checks the root page against the root pointer.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure; [`StateError::Corrupt`] when
    /// the root pointer is not 32 bytes, a page does not decode, or the root
    /// page does not hash to the root pointer.
    pub fn open(backend: &dyn Backend) -> Result<Self> {
        Self::open_with_cache(backend, DEFAULT_CACHE_BYTES)
    }

    /// [`MerkleTree::open`] with a page cache budget of `cache_bytes` bytes
    /// (the pinned top levels are kept even past it).
    ///
    /// # Errors
    /// As [`MerkleTree::open`].
    pub fn open_with_cache(backend: &dyn Backend, cache_bytes: usize) -> Result<Self> {
        let root = match backend.get(Column::Tree, ROOT_POINTER_KEY)? {
            None => EMPTY_ROOT,
            Some(bytes) => bytes
                .as_slice()
                .try_into()
                .map_err(|_| StateError::Corrupt {
                    what: "merkle root pointer",
                    detail: format!("{} bytes, expected 32", bytes.len()),
                })?,
        };
        let mut tree = MerkleTree {
            root,
            pages: FxHashMap::default(),
            cache_bytes: 0,
            cache_budget: cache_bytes,
            generation: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        for depth in (0..PINNED_DEPTH).step_by(PAGE_BITS) {
            for (storage_key, bytes) in backend.scan_prefix(Column::Tree, &[depth as u8])? {
                let key = PageKey::from_storage_key(&storage_key)?;
                let page = Page::decode(&key, &bytes)?;
                tree.insert_page(key, page);
            }
        }
        let root_page = tree
            .pages
            .get(&PageKey::ROOT)
            .map(|cached| fold(&cached.page.slots()).hash());
        if root_page.unwrap_or(EMPTY_ROOT) != root {
            return Err(StateError::Corrupt {
                what: "merkle root pointer",
                detail: format!(
                    "root pointer {} but the root page hashes to {}",
                    crate::key::hex_of(&root),
                    crate::key::hex_of(&root_page.unwrap_or(EMPTY_ROOT))
                ),
            });
        }
        Ok(tree)
    }

    /// The tree at `root` with an empty page cache and nothing read: every
    /// page a proof needs comes from the backend (a read view's tree).
    pub(crate) fn unloaded(root: Hash) -> Self {
        MerkleTree {
            root,
            pages: FxHashMap::default(),
            cache_bytes: 0,
            cache_budget: 0,
            generation: 0,
            threads: 1,
        }
    }

    /// The current root: 32 bytes, [`EMPTY_ROOT`] for the empty tree.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Number of pages in the cache.
    pub fn cached_pages(&self) -> usize {
        self.pages.len()
    }

    /// Approximate memory held by the page cache, in bytes.
    pub fn cached_bytes(&self) -> usize {
        self.cache_bytes
    }

    /// Sets how many threads [`MerkleTree::prepare`] may use for a large
    /// batch (at least 1; default: the machine's available parallelism).
    /// Threads only split batches of 1024 changes or more.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Computes the root after `changes` without changing `self`, and stages
    /// every page put and delete, and the new root pointer, into `batch`.
    ///
    /// Each change is a full encoded state key and `Some(new value)` or
    /// `None` (delete). Keys should be unique; if one repeats, its last
    /// change wins. Order does not matter. Setting a key to the value it has,
    /// or deleting an absent key, changes nothing but rewriting the root
    /// pointer. Pages missing from the cache are read from `backend`, which
    /// must hold the state of [`MerkleTree::root`].
    ///
    /// Cost: two blake2b-256 per change (key and value) plus at most 15 per
    /// rewritten page; one `backend.get` per page not in the cache.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure; [`StateError::Corrupt`] when a
    /// needed page is missing or does not decode.
    pub fn prepare(
        &self,
        backend: &dyn Backend,
        changes: &[(Vec<u8>, Option<Vec<u8>>)],
        batch: &mut WriteBatch,
    ) -> Result<TreeUpdate> {
        let changes = self.hash_changes(changes);
        self.prepare_hashed(backend, changes, batch)
    }

    /// [`MerkleTree::prepare`] on changes already hashed: `(key_hash,
    /// Some(value_hash))` or `(key_hash, None)`.
    ///
    /// # Errors
    /// As [`MerkleTree::prepare`].
    pub fn prepare_hashed_changes(
        &self,
        backend: &dyn Backend,
        changes: &[(Hash, Option<Hash>)],
        batch: &mut WriteBatch,
    ) -> Result<TreeUpdate> {
        let changes = changes
            .iter()
            .map(|(key_hash, value_hash)| Change {
                key_hash: *key_hash,
                value_hash: *value_hash,
            })
            .collect();
        self.prepare_hashed(backend, changes, batch)
    }

    fn prepare_hashed(
        &self,
        backend: &dyn Backend,
        mut changes: Vec<Change>,
        batch: &mut WriteBatch,
    ) -> Result<TreeUpdate> {
        changes.sort_by_key(|change| change.key_hash);
        // Keep the last change of a repeated key.
        changes.dedup_by(|later, earlier| {
            let same = later.key_hash == earlier.key_hash;
            if same {
                *earlier = *later;
            }
            same
        });
        let mut staged = Staged::default();
        let root = self.update_root(backend, &changes, &mut staged)?;
        // In storage-key order: RocksDB inserts a sorted run into its
        // memtable faster than a scattered one.
        staged
            .writes
            .sort_unstable_by_key(|(key, _)| (key.depth, key.prefix));
        for (key, page) in &staged.writes {
            match page {
                Some(page) => batch.put(Column::Tree, key.storage_key(), page.encode()),
                None => batch.delete(Column::Tree, key.storage_key()),
            }
        }
        batch.put(Column::Tree, ROOT_POINTER_KEY.to_vec(), root.to_vec());
        Ok(TreeUpdate {
            base: self.root,
            root,
            writes: staged.writes,
            loaded: staged.loaded,
        })
    }

    /// Makes a prepared update current; call it once the batch that
    /// [`MerkleTree::prepare`] filled has been written durably.
    ///
    /// # Panics
    /// When `update` was prepared against another root than the current one
    /// (two updates prepared from one root and both applied).
    pub fn apply(&mut self, update: TreeUpdate) {
        assert_eq!(
            update.base,
            self.root,
            "tree update prepared against root {} applied to root {}",
            crate::key::hex_of(&update.base),
            crate::key::hex_of(&self.root)
        );
        self.generation += 1;
        for (key, page) in update.loaded {
            if !self.pages.contains_key(&key) {
                self.insert_page(key, page);
            }
        }
        for (key, page) in update.writes {
            match page {
                Some(page) => self.insert_page(key, page),
                None => {
                    if let Some(old) = self.pages.remove(&key) {
                        self.cache_bytes -= cached_footprint(&old.page);
                    }
                }
            }
        }
        self.root = update.root;
        if self.cache_bytes > self.cache_budget {
            self.evict();
        }
    }

    /// An inclusion proof if `key` (a full encoded state key) is present, an
    /// exclusion proof if it is absent, against [`MerkleTree::root`].
    ///
    /// Reads at most `depth / 4 + 1` pages, from the cache or `backend`.
    ///
    /// # Errors
    /// [`StateError::Backend`] on I/O failure; [`StateError::Corrupt`] when a
    /// page is missing, does not decode, or does not hash to what its parent
    /// records.
    pub fn prove(&self, backend: &dyn Backend, key: &[u8]) -> Result<Proof> {
        self.prove_hashed(backend, &key_hash(key))
    }

    /// [`MerkleTree::prove`] for a key hash.
    ///
    /// # Errors
    /// As [`MerkleTree::prove`].
    pub fn prove_hashed(&self, backend: &dyn Backend, key_hash: &Hash) -> Result<Proof> {
        let mut siblings = Vec::new();
        if self.root == EMPTY_ROOT {
            return Ok(Proof {
                key_hash: *key_hash,
                siblings,
                terminal: Terminal::Empty,
            });
        }
        let mut page_key = PageKey::ROOT;
        let mut expected = self.root;
        loop {
            let page = self.load(backend, &page_key)?;
            let levels = fold_levels(&page.slots());
            let top = levels[0][0];
            if top.hash() != expected {
                return Err(StateError::Corrupt {
                    what: "merkle page",
                    detail: format!(
                        "page at depth {} prefix {} hashes to {}, its parent records {}",
                        page_key.depth,
                        crate::key::hex_of(&page_key.prefix),
                        crate::key::hex_of(&top.hash()),
                        crate::key::hex_of(&expected)
                    ),
                });
            }
            let mut node = top;
            let mut index = 0;
            for (level, nodes) in levels.iter().enumerate().skip(1) {
                if !matches!(node, Node::Internal(_)) {
                    break;
                }
                let right = bit(key_hash, page_key.depth() + level - 1);
                index = 2 * index + usize::from(right);
                siblings.push(nodes[index ^ 1].hash());
                node = nodes[index];
            }
            match node {
                Node::Internal(hash) => {
                    page_key = page_key.child(index);
                    expected = hash;
                }
                Node::Empty => {
                    return Ok(Proof {
                        key_hash: *key_hash,
                        siblings,
                        terminal: Terminal::Empty,
                    });
                }
                Node::Leaf(leaf) => {
                    let terminal = Terminal::Leaf {
                        key_hash: leaf.key_hash,
                        value_hash: leaf.value_hash,
                    };
                    return Ok(Proof {
                        key_hash: *key_hash,
                        siblings,
                        terminal,
                    });
                }
            }
        }
    }

    /// A page from the cache, or read from the backend.
    fn load<'a>(&'a self, backend: &dyn Backend, key: &PageKey) -> Result<Cow<'a, Page>> {
        if let Some(cached) = self.pages.get(key) {
            return Ok(Cow::Borrowed(&cached.page));
        }
        match backend.get(Column::Tree, &key.storage_key())? {
            Some(bytes) => Ok(Cow::Owned(Page::decode(key, &bytes)?)),
            None => Err(StateError::Corrupt {
                what: "merkle page",
                detail: format!(
                    "page at depth {} prefix {} is referenced but missing",
                    key.depth,
                    crate::key::hex_of(&key.prefix)
                ),
            }),
        }
    }

    fn insert_page(&mut self, key: PageKey, page: Page) {
        self.cache_bytes += cached_footprint(&page);
        let cached = CachedPage {
            page,
            generation: self.generation,
        };
        if let Some(old) = self.pages.insert(key, cached) {
            self.cache_bytes -= cached_footprint(&old.page);
        }
    }

    /// Drops the least recently written or loaded pages below the pinned
    /// levels until the cache is at three quarters of its budget.
    fn evict(&mut self) {
        let target = self.cache_budget / 4 * 3;
        let mut candidates: Vec<(u64, usize)> = self
            .pages
            .iter()
            .filter(|(key, _)| key.depth() >= PINNED_DEPTH)
            .map(|(_, cached)| (cached.generation, cached_footprint(&cached.page)))
            .collect();
        candidates.sort_unstable();
        let mut bytes = self.cache_bytes;
        let mut cutoff = None;
        for (generation, size) in candidates {
            if bytes <= target && cutoff != Some(generation) {
                break;
            }
            bytes -= size;
            cutoff = Some(generation);
        }
        let Some(cutoff) = cutoff else { return };
        let mut freed = 0;
        self.pages.retain(|key, cached| {
            let keep = key.depth() < PINNED_DEPTH || cached.generation > cutoff;
            if !keep {
                freed += cached_footprint(&cached.page);
            }
            keep
        });
        self.cache_bytes -= freed;
        tracing::debug!(
            freed,
            cached = self.cache_bytes,
            pages = self.pages.len(),
            "merkle page cache evicted"
        );
    }
}
