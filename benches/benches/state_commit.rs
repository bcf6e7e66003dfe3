//! State commit + root: Braid's Merkle tree against `jmt` 0.12 and `nomt`
//! 1.0.5, each committing the same blocks durably over a 1M-key state.
//!
//! Workload: keys are 56 bytes (`0x02 ‖ identity (20 bytes) ‖ 0x01 ‖ 34
//! bytes`), values 32 bytes, both pseudo-random. Each contender first builds
//! a state of [`INITIAL_KEYS`] keys (in blocks of [`BUILD_BLOCK`], untimed,
//! build time printed), then criterion times blocks of 10k and 100k writes:
//! half overwrites of existing keys (distinct, uniformly drawn), half fresh
//! keys, so the state grows by about 5k / 50k keys per timed block. Every
//! contender sees the same sequence of blocks.
//!
//! What one timed iteration includes, per contender:
//!
//! - `braid`: values put into a [`WriteBatch`] (column `state`),
//!   [`MerkleTree::prepare`] (key and value hashing, pages into the same
//!   batch), [`RocksDbBackend::write`] (one atomic batch, WAL synced) and
//!   [`MerkleTree::apply`]. The tree's page cache holds the whole tree.
//! - `jmt`: `JellyfishMerkleTree::<_, Blake2b<U32>>::put_value_set` (key
//!   hashing included) over a `TreeReader` that is an in-memory `HashMap` of
//!   every node (the equivalent of Braid's page cache), then the new nodes
//!   (borsh-encoded, column `tree`) and jmt's versioned values (column
//!   `state`) written in one synced batch through the same
//!   [`RocksDbBackend`], then the new nodes inserted into the map. Stale
//!   nodes are dropped from the map outside the timed section and never
//!   pruned from RocksDB (jmt leaves pruning to a separate process).
//! - `nomt`: a session with `commit_concurrency = 2`, blake2b-256
//!   (`BinaryHasher<Blake2b<U32>>`), `finish` with the sorted writes (key
//!   paths are `blake2b-256(key)`, hashing included) and `commit` to nomt's
//!   own database in a temp dir (its own durable write). Page and leaf
//!   caches are 2 GiB and 1 GiB so the whole tree fits, as for the others.
//!
//! `BRAID_STATE_BENCH_KEYS` overrides [`INITIAL_KEYS`] (for a quick run);
//! `BRAID_STATE_BENCH_ONLY=braid,nomt` runs only the named contenders;
//! `BRAID_STATE_BENCH_PHASES=1` prints Braid's prepare / write / apply split
//! instead of running criterion; `BRAID_STATE_BENCH_JMT_PHASES=1` prints
//! jmt's compute / write split for every timed block.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use blake2::Blake2b;
use blake2::Digest;
use blake2::digest::consts::U32;
use braid_state::tree::MerkleTree;
use braid_state::{Backend, Column, RocksDbBackend, WriteBatch};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use jmt::storage::{LeafNode, Node, NodeKey, StaleNodeIndexBatch, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use tempfile::TempDir;

type Blake2b256 = Blake2b<U32>;

/// Keys in the state before the timed blocks.
const INITIAL_KEYS: u64 = 1_000_000;
/// Keys per block while building the initial state.
const BUILD_BLOCK: u64 = 100_000;
/// Writes per timed block.
const BLOCK_SIZES: [usize; 2] = [10_000, 100_000];

/// One block: encoded keys (56 bytes) and new values (32 bytes).
type Block = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// SplitMix64: deterministic, dependency-free.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn fill(seed: u64, out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let word = mix(seed.wrapping_mul(31).wrapping_add(i as u64)).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// Key number `i`: `0x02 ‖ identity ‖ 0x01 ‖ 34 bytes`, 56 bytes; 64 keys per identity.
fn key(i: u64) -> Vec<u8> {
    let mut key = vec![0u8; 56];
    key[0] = 0x02;
    fill(i / 64 + 1, &mut key[1..21]);
    key[21] = 0x01;
    fill(!i, &mut key[22..48]);
    key[48..].copy_from_slice(&i.to_be_bytes());
    key
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut value = vec![0u8; 32];
    fill(i ^ (round << 40) ^ 0x5555, &mut value);
    value
}

/// The block sequence: the same for every contender.
struct Workload {
    next_fresh: u64,
    round: u64,
}

impl Workload {
    fn new(initial: u64) -> Self {
        Workload {
            next_fresh: initial,
            round: 0,
        }
    }

    fn initial_blocks(initial: u64) -> impl Iterator<Item = Block> {
        (0..initial)
            .step_by(BUILD_BLOCK as usize)
            .map(move |start| {
                (start..(start + BUILD_BLOCK).min(initial))
                    .map(|i| (key(i), Some(value(i, 0))))
                    .collect()
            })
    }

    /// `n` writes: `n / 2` overwrites of distinct existing keys, the rest fresh keys.
    fn block(&mut self, n: usize) -> Block {
        self.round += 1;
        let mut seen = HashSet::with_capacity(n);
        let mut block = Vec::with_capacity(n);
        let mut draw = self.round << 32;
        while block.len() < n / 2 {
            draw += 1;
            let i = mix(draw) % self.next_fresh;
            if seen.insert(i) {
                block.push((key(i), Some(value(i, self.round))));
            }
        }
        while block.len() < n {
            let i = self.next_fresh;
            self.next_fresh += 1;
            block.push((key(i), Some(value(i, self.round))));
        }
        block
    }
}

/// A state with a Merkle root that commits blocks durably.
trait Contender {
    /// Commits one block durably and makes it current; returns the new root.
    fn commit(&mut self, block: &Block) -> [u8; 32];
    /// Housekeeping after a timed commit (untimed).
    fn tidy(&mut self) {}
    /// Called once the initial state is built.
    fn built(&mut self) {}
}

// ---------------------------------------------------------------------------
// Braid.

struct Braid {
    backend: RocksDbBackend,
    tree: MerkleTree,
    _dir: TempDir,
}

impl Braid {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = RocksDbBackend::open(dir.path()).expect("rocksdb");
        let tree = MerkleTree::open(&backend).expect("open tree");
        Braid {
            backend,
            tree,
            _dir: dir,
        }
    }
}

impl Contender for Braid {
    fn commit(&mut self, block: &Block) -> [u8; 32] {
        let mut batch = WriteBatch::new();
        for (key, value) in block {
            match value {
                Some(value) => batch.put(Column::State, key.clone(), value.clone()),
                None => batch.delete(Column::State, key.clone()),
            }
        }
        let update = self
            .tree
            .prepare(&self.backend, block, &mut batch)
            .expect("prepare");
        self.backend.write(batch).expect("write");
        self.tree.apply(update);
        self.tree.root()
    }
}

// ---------------------------------------------------------------------------
// jmt 0.12.

/// Every live node in memory (jmt's `TreeReader`).
#[derive(Default)]
struct JmtNodes {
    nodes: RwLock<HashMap<NodeKey, Node>>,
}

impl TreeReader for JmtNodes {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.read().expect("lock").get(node_key).cloned())
    }

    fn get_value_option(&self, _: Version, _: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        unreachable!("the bench does not read values through jmt")
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        unreachable!("the bench does not restore")
    }
}

struct Jmt {
    backend: RocksDbBackend,
    nodes: JmtNodes,
    version: Version,
    stale: StaleNodeIndexBatch,
    built: bool,
    _dir: TempDir,
}

impl Jmt {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = RocksDbBackend::open(dir.path()).expect("rocksdb");
        Jmt {
            backend,
            nodes: JmtNodes::default(),
            version: 0,
            stale: Default::default(),
            built: false,
            _dir: dir,
        }
    }
}

impl Contender for Jmt {
    fn commit(&mut self, block: &Block) -> [u8; 32] {
        let start = Instant::now();
        let tree = JellyfishMerkleTree::<_, Blake2b256>::new(&self.nodes);
        let (root, update) = tree
            .put_value_set(
                block
                    .iter()
                    .map(|(k, v)| (KeyHash::with::<Blake2b256>(k), v.clone())),
                self.version,
            )
            .expect("put_value_set");
        let computed = start.elapsed();
        let mut batch = WriteBatch::new();
        for (node_key, node) in update.node_batch.nodes() {
            batch.put(
                Column::Tree,
                borsh::to_vec(node_key).expect("borsh"),
                borsh::to_vec(node).expect("borsh"),
            );
        }
        for ((version, key_hash), value) in update.node_batch.values() {
            let mut key = version.to_be_bytes().to_vec();
            key.extend_from_slice(&key_hash.0);
            batch.put(Column::State, key, value.clone().unwrap_or_default());
        }
        let records = batch.len();
        self.backend.write(batch).expect("write");
        if self.built && std::env::var_os("BRAID_STATE_BENCH_JMT_PHASES").is_some() {
            eprintln!(
                "jmt {}: put_value_set {:.1} ms, encode + write {:.1} ms, {records} records",
                block.len(),
                computed.as_secs_f64() * 1e3,
                (start.elapsed() - computed).as_secs_f64() * 1e3
            );
        }
        let mut nodes = self.nodes.nodes.write().expect("lock");
        for (node_key, node) in update.node_batch.nodes() {
            nodes.insert(node_key.clone(), node.clone());
        }
        drop(nodes);
        self.stale = update.stale_node_index_batch;
        self.version += 1;
        root.0
    }

    fn built(&mut self) {
        self.built = true;
    }

    fn tidy(&mut self) {
        let mut nodes = self.nodes.nodes.write().expect("lock");
        for stale in std::mem::take(&mut self.stale) {
            nodes.remove(&stale.node_key);
        }
    }
}

// ---------------------------------------------------------------------------
// nomt 1.0.5.

type NomtHasher = nomt::hasher::BinaryHasher<Blake2b256>;

struct Nomt {
    db: nomt::Nomt<NomtHasher>,
    _dir: TempDir,
}

impl Nomt {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = nomt::Options::new();
        options.path(dir.path().join("nomt"));
        options.commit_concurrency(2);
        // About 350k pages at 1.6M keys; keep the hash table under half full.
        options.hashtable_buckets(1_000_000);
        options.page_cache_size(2048);
        options.leaf_cache_size(1024);
        let db = nomt::Nomt::open(options).expect("open nomt");
        Nomt { db, _dir: dir }
    }
}

impl Contender for Nomt {
    fn commit(&mut self, block: &Block) -> [u8; 32] {
        let mut actuals: Vec<([u8; 32], nomt::KeyReadWrite)> = block
            .iter()
            .map(|(k, v)| {
                (
                    Blake2b256::digest(k).into(),
                    nomt::KeyReadWrite::Write(v.clone()),
                )
            })
            .collect();
        actuals.sort_unstable_by_key(|a| a.0);
        let session = self.db.begin_session(nomt::SessionParams::default());
        let finished = session.finish(actuals).expect("finish");
        let root = finished.root();
        finished.commit(&self.db).expect("commit");
        root.into_inner()
    }
}

// ---------------------------------------------------------------------------

fn initial_keys() -> u64 {
    std::env::var("BRAID_STATE_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(INITIAL_KEYS)
}

fn run(c: &mut Criterion, name: &str, make: impl FnOnce() -> Box<dyn Contender>) {
    if let Ok(only) = std::env::var("BRAID_STATE_BENCH_ONLY")
        && !only.split(',').any(|wanted| wanted == name)
    {
        return;
    }
    let initial = initial_keys();
    let start = Instant::now();
    let mut contender = make();
    for block in Workload::initial_blocks(initial) {
        contender.commit(&block);
        contender.tidy();
    }
    contender.built();
    eprintln!(
        "{name}: built {initial} keys in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let mut group = c.benchmark_group("state_commit");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    // One workload per contender, in the same order for each: same blocks.
    let mut workload = Workload::new(initial);
    for size in BLOCK_SIZES {
        group.bench_function(BenchmarkId::new(name, format!("{}k", size / 1000)), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let block = workload.block(size);
                    let start = Instant::now();
                    std::hint::black_box(contender.commit(&block));
                    total += start.elapsed();
                    contender.tidy();
                }
                total
            });
        });
    }
    group.finish();
}

/// `BRAID_STATE_BENCH_PHASES=1`: instead of criterion, Braid's commit split
/// into prepare, write and apply, with the batch size, over 5 blocks per size.
fn braid_phases() {
    let initial = initial_keys();
    let mut braid = Braid::new();
    for block in Workload::initial_blocks(initial) {
        braid.commit(&block);
    }
    let stored: usize = braid
        .backend
        .scan_prefix(Column::Tree, &[])
        .expect("scan")
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    eprintln!(
        "braid: {initial} keys, tree column {:.1} MB ({:.0} bytes per key)",
        stored as f64 / 1e6,
        stored as f64 / initial as f64
    );
    let mut workload = Workload::new(initial);
    for size in BLOCK_SIZES {
        let (mut prepare, mut write, mut apply, mut bytes, mut pages) = (0.0, 0.0, 0.0, 0, 0);
        const ROUNDS: usize = 5;
        for _ in 0..ROUNDS {
            let block = workload.block(size);
            let start = Instant::now();
            let mut batch = WriteBatch::new();
            for (key, value) in &block {
                batch.put(Column::State, key.clone(), value.clone().expect("put"));
            }
            let update = braid
                .tree
                .prepare(&braid.backend, &block, &mut batch)
                .expect("prepare");
            let prepared = Instant::now();
            bytes += batch
                .ops()
                .iter()
                .map(|(_, k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                .sum::<usize>();
            pages += update.pages_written();
            braid.backend.write(batch).expect("write");
            let written = Instant::now();
            braid.tree.apply(update);
            prepare += (prepared - start).as_secs_f64();
            write += (written - prepared).as_secs_f64();
            apply += written.elapsed().as_secs_f64();
        }
        let n = ROUNDS as f64;
        eprintln!(
            "braid {size}: prepare {:.1} ms, write {:.1} ms, apply {:.1} ms; batch {:.1} MB, {} pages; cache {} pages, {} MB",
            1e3 * prepare / n,
            1e3 * write / n,
            1e3 * apply / n,
            bytes as f64 / n / 1e6,
            pages / ROUNDS,
            braid.tree.cached_pages(),
            braid.tree.cached_bytes() >> 20,
        );
    }
}

fn state_commit(c: &mut Criterion) {
    if std::env::var_os("BRAID_STATE_BENCH_PHASES").is_some() {
        braid_phases();
        return;
    }
    run(c, "braid", || Box::new(Braid::new()));
    run(c, "jmt", || Box::new(Jmt::new()));
    run(c, "nomt", || Box::new(Nomt::new()));
}

criterion_group!(benches, state_commit);
criterion_main!(benches);
