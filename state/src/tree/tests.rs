//! The tree against its naive twin: a reference that recomputes the root
//! (and proofs) recursively from the full sorted leaf set.

use std::collections::BTreeMap;

use parity_scale_codec::{Decode, Encode};
use proptest::prelude::*;

use super::node::{EMPTY_ROOT, Hash, bit, internal_hash, key_hash, leaf_hash, value_hash};
use super::{MerkleTree, Proof, Terminal, verify_hashed, verify_proof};
use crate::backend::{Backend, Column, MemoryBackend, RocksDbBackend, WriteBatch};
use crate::key::{EngineId, Identity, encode_parts};

// ---------------------------------------------------------------------------
// The naive twin.

/// Root of the tree holding `leaves` (key hash -> value hash), by recursion
/// over the sorted leaf set.
fn naive_root(leaves: &BTreeMap<Hash, Hash>) -> Hash {
    let sorted: Vec<(Hash, Hash)> = leaves.iter().map(|(k, v)| (*k, *v)).collect();
    naive_subtree(&sorted, 0)
}

fn naive_subtree(leaves: &[(Hash, Hash)], depth: usize) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [(key, value)] => leaf_hash(key, value),
        _ => {
            let split = leaves.partition_point(|(key, _)| !bit(key, depth));
            internal_hash(
                &naive_subtree(&leaves[..split], depth + 1),
                &naive_subtree(&leaves[split..], depth + 1),
            )
        }
    }
}

/// The proof for `key_hash`, by descending the sorted leaf set.
fn naive_proof(leaves: &BTreeMap<Hash, Hash>, key_hash: &Hash) -> Proof {
    let sorted: Vec<(Hash, Hash)> = leaves.iter().map(|(k, v)| (*k, *v)).collect();
    let mut here: &[(Hash, Hash)] = &sorted;
    let mut siblings = Vec::new();
    let mut depth = 0;
    loop {
        match here {
            [] => {
                return Proof {
                    key_hash: *key_hash,
                    siblings,
                    terminal: Terminal::Empty,
                };
            }
            [(key, value)] => {
                let terminal = Terminal::Leaf {
                    key_hash: *key,
                    value_hash: *value,
                };
                return Proof {
                    key_hash: *key_hash,
                    siblings,
                    terminal,
                };
            }
            _ => {
                let split = here.partition_point(|(key, _)| !bit(key, depth));
                let (left, right) = here.split_at(split);
                let (path, other) = if bit(key_hash, depth) {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(naive_subtree(other, depth + 1));
                here = path;
                depth += 1;
            }
        }
    }
}

/// How many pages the store must hold for `leaves`: one per position at a
/// depth multiple of 4 whose subtree has two or more keys, plus the root page
/// when the tree is not empty.
fn naive_page_count(leaves: &BTreeMap<Hash, Hash>) -> usize {
    fn count(leaves: &[Hash], depth: usize) -> usize {
        if leaves.len() < 2 {
            return 0;
        }
        let here = usize::from(depth.is_multiple_of(4));
        let split = leaves.partition_point(|key| !bit(key, depth));
        here + count(&leaves[..split], depth + 1) + count(&leaves[split..], depth + 1)
    }
    let keys: Vec<Hash> = leaves.keys().copied().collect();
    match keys.len() {
        0 => 0,
        1 => 1,
        _ => count(&keys, 0),
    }
}

/// Pages in the backend's tree column (every record but the root pointer).
fn stored_pages(backend: &dyn Backend) -> usize {
    backend
        .scan_prefix(Column::Tree, &[])
        .unwrap()
        .iter()
        .filter(|(key, _)| key.as_slice() != [0xFF])
        .count()
}

// ---------------------------------------------------------------------------
// Helpers.

type Changes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A state key from a small index, spread over three engines.
fn state_key(index: u16) -> Vec<u8> {
    let [hi, lo] = index.to_be_bytes();
    encode_parts(
        EngineId((index % 3) as u8),
        &Identity([hi; 20]),
        &[0x01, hi, lo],
    )
}

/// Prepares, writes and applies one block; returns the new root.
fn commit(tree: &mut MerkleTree, backend: &dyn Backend, changes: &Changes) -> Hash {
    let mut batch = WriteBatch::new();
    let update = tree.prepare(backend, changes, &mut batch).unwrap();
    backend.write(batch).unwrap();
    tree.apply(update);
    tree.root()
}

fn commit_hashed(
    tree: &mut MerkleTree,
    backend: &dyn Backend,
    changes: &[(Hash, Option<Hash>)],
) -> Hash {
    let mut batch = WriteBatch::new();
    let update = tree
        .prepare_hashed_changes(backend, changes, &mut batch)
        .unwrap();
    backend.write(batch).unwrap();
    tree.apply(update);
    tree.root()
}

/// Applies `changes` to the model (key -> value).
fn apply_model(model: &mut BTreeMap<Vec<u8>, Vec<u8>>, changes: &Changes) {
    for (key, value) in changes {
        match value {
            Some(value) => model.insert(key.clone(), value.clone()),
            None => model.remove(key),
        };
    }
}

fn hashed_model(model: &BTreeMap<Vec<u8>, Vec<u8>>) -> BTreeMap<Hash, Hash> {
    model
        .iter()
        .map(|(k, v)| (key_hash(k), value_hash(v)))
        .collect()
}

/// Checks root and proofs of `tree` against the naive twin, for every key
/// of the model and for `absent` keys.
fn check_against_model(
    tree: &MerkleTree,
    backend: &dyn Backend,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    absent: &[Vec<u8>],
) {
    let hashed = hashed_model(model);
    assert_eq!(tree.root(), naive_root(&hashed));
    for (key, value) in model {
        let proof = tree.prove(backend, key).unwrap();
        assert_eq!(proof, naive_proof(&hashed, &key_hash(key)));
        assert!(proof.is_inclusion());
        verify_proof(&tree.root(), key, Some(value), &proof).unwrap();
        assert!(verify_proof(&tree.root(), key, None, &proof).is_err());
    }
    for key in absent.iter().filter(|key| !model.contains_key(*key)) {
        let proof = tree.prove(backend, key).unwrap();
        assert_eq!(proof, naive_proof(&hashed, &key_hash(key)));
        assert!(!proof.is_inclusion());
        verify_proof(&tree.root(), key, None, &proof).unwrap();
        assert!(verify_proof(&tree.root(), key, Some(b"x"), &proof).is_err());
    }
}

/// Every single-byte change of the encoded proof, the value, the key and the
/// root makes verification fail.
fn check_tamper(root: &Hash, key: &[u8], value: Option<&[u8]>, proof: &Proof) {
    verify_proof(root, key, value, proof).unwrap();
    let encoded = proof.encode();
    for i in 0..encoded.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bytes = encoded.clone();
            bytes[i] ^= mask;
            if let Ok(tampered) = Proof::decode(&mut bytes.as_slice()) {
                assert!(
                    verify_proof(root, key, value, &tampered).is_err(),
                    "proof byte {i} ^ {mask:#x} still verifies"
                );
            }
        }
    }
    if let Some(value) = value {
        for i in 0..value.len() {
            let mut tampered = value.to_vec();
            tampered[i] ^= 0x01;
            assert!(
                verify_proof(root, key, Some(&tampered), proof).is_err(),
                "value byte {i} flipped still verifies"
            );
        }
        assert!(verify_proof(root, key, None, proof).is_err());
    } else {
        assert!(verify_proof(root, key, Some(b""), proof).is_err());
    }
    for i in 0..key.len() {
        let mut tampered = key.to_vec();
        tampered[i] ^= 0x01;
        assert!(
            verify_proof(root, &tampered, value, proof).is_err(),
            "key byte {i} flipped still verifies"
        );
    }
    for i in 0..32 {
        let mut tampered = *root;
        tampered[i] ^= 0x01;
        assert!(
            verify_proof(&tampered, key, value, proof).is_err(),
            "root byte {i} flipped still verifies"
        );
    }
}

// ---------------------------------------------------------------------------
// Strategies.

/// A block: up to 40 changes over a 64-key space, values from a small set
/// (so that setting a key to the value it has happens), about a third deletes.
fn arb_block() -> impl Strategy<Value = Changes> {
    proptest::collection::btree_map(0u16..64, proptest::option::weighted(0.7, 0u8..4), 0..40)
        .prop_map(|map| {
            map.into_iter()
                .map(|(index, value)| (state_key(index), value.map(|v| vec![v; 1 + v as usize])))
                .collect()
        })
}

/// Key hashes that share long prefixes: four random bases with a few bits
/// flipped near the end, so pages go as deep as depth 252.
fn arb_deep_changes(bases: [Hash; 4]) -> impl Strategy<Value = Vec<(Hash, Option<Hash>)>> {
    let one = (
        0usize..5,
        proptest::collection::vec(180usize..256, 0..3),
        proptest::option::weighted(0.7, 0u8..3),
    );
    proptest::collection::vec(one, 0..30).prop_map(move |picks| {
        let mut out: BTreeMap<Hash, Option<Hash>> = BTreeMap::new();
        for (base, flips, value) in picks {
            let mut path = if base < 4 { bases[base] } else { [0xA5; 32] };
            for bit in flips {
                path[bit / 8] ^= 0x80 >> (bit % 8);
            }
            out.insert(path, value.map(|v| [v; 32]));
        }
        out.into_iter().collect()
    })
}

fn absent_keys() -> Vec<Vec<u8>> {
    (1000..1012).map(state_key).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    /// The tree agrees with the naive twin, block after block, on root and on
    /// every proof, and a reopened tree agrees too.
    #[test]
    fn tree_matches_naive_twin(blocks in proptest::collection::vec(arb_block(), 1..6)) {
        let backend = MemoryBackend::new();
        let mut tree = MerkleTree::open(&backend).unwrap();
        let mut model = BTreeMap::new();
        for block in &blocks {
            commit(&mut tree, &backend, block);
            apply_model(&mut model, block);
            check_against_model(&tree, &backend, &model, &absent_keys());
            prop_assert_eq!(stored_pages(&backend), naive_page_count(&hashed_model(&model)));
            let reopened = MerkleTree::open(&backend).unwrap();
            prop_assert_eq!(reopened.root(), tree.root());
        }
        let reopened = MerkleTree::open(&backend).unwrap();
        check_against_model(&reopened, &backend, &model, &absent_keys());
    }

    /// The root depends on the final contents only: not on the order of the
    /// writes nor on how they are split into blocks.
    #[test]
    fn root_is_independent_of_order_and_blocks(
        writes in proptest::collection::vec((0u16..200, proptest::option::weighted(0.8, any::<u8>())), 1..120),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..5),
        seed in any::<u64>(),
    ) {
        // The final contents, and one block with every final write.
        let mut last: BTreeMap<u16, Option<u8>> = BTreeMap::new();
        for (index, value) in &writes {
            last.insert(*index, *value);
        }
        let as_change = |(index, value): (u16, Option<u8>)| (state_key(index), value.map(|v| vec![v, v, 7]));
        let one_block: Changes = last.iter().map(|(i, v)| as_change((*i, *v))).collect();

        // The writes in a shuffled order, keeping each key's writes in order,
        // split into several blocks (each block keeps its last write per key).
        let mut shuffled = writes.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = (state % (i as u64 + 1)) as usize;
            if shuffled[i].0 != shuffled[j].0 {
                shuffled.swap(i, j);
            }
        }
        let per_key_order_kept = {
            let mut fixed = Vec::new();
            let mut remaining: BTreeMap<u16, Vec<Option<u8>>> = BTreeMap::new();
            for (index, value) in &writes {
                remaining.entry(*index).or_default().push(*value);
            }
            let mut next: BTreeMap<u16, usize> = BTreeMap::new();
            for (index, _) in &shuffled {
                let n = next.entry(*index).or_default();
                fixed.push((*index, remaining[index][*n]));
                *n += 1;
            }
            fixed
        };
        let mut cut_points: Vec<usize> = cuts.iter().map(|c| c.index(per_key_order_kept.len() + 1)).collect();
        cut_points.push(0);
        cut_points.push(per_key_order_kept.len());
        cut_points.sort_unstable();

        let a = MemoryBackend::new();
        let mut tree_a = MerkleTree::open(&a).unwrap();
        commit(&mut tree_a, &a, &one_block);

        let b = MemoryBackend::new();
        let mut tree_b = MerkleTree::open(&b).unwrap();
        for window in cut_points.windows(2) {
            let block: Changes = per_key_order_kept[window[0]..window[1]].iter().map(|w| as_change(*w)).collect();
            commit(&mut tree_b, &b, &block);
        }
        prop_assert_eq!(tree_a.root(), tree_b.root());
        let model: BTreeMap<Hash, Hash> = last
            .iter()
            .filter_map(|(i, v)| v.map(|v| (key_hash(&state_key(*i)), value_hash(&[v, v, 7]))))
            .collect();
        prop_assert_eq!(tree_a.root(), naive_root(&model));
    }

    /// Long shared prefixes: chains of pages down to depth 252, collapsing
    /// back up on deletes; checked against the twin with hashed keys.
    #[test]
    fn deep_paths_match_naive_twin(
        seq in any::<[Hash; 4]>().prop_flat_map(|bases| proptest::collection::vec(arb_deep_changes(bases), 1..6)),
    ) {
        let backend = MemoryBackend::new();
        let mut tree = MerkleTree::open(&backend).unwrap();
        let mut model: BTreeMap<Hash, Hash> = BTreeMap::new();
        for block in &seq {
            commit_hashed(&mut tree, &backend, block);
            for (key, value) in block {
                match value {
                    Some(value) => model.insert(*key, *value),
                    None => model.remove(key),
                };
            }
            prop_assert_eq!(tree.root(), naive_root(&model));
            prop_assert_eq!(stored_pages(&backend), naive_page_count(&model));
            for (key, value) in &model {
                let proof = tree.prove_hashed(&backend, key).unwrap();
                prop_assert_eq!(&proof, &naive_proof(&model, key));
                prop_assert!(verify_hashed(&tree.root(), key, Some(value), &proof).is_ok());
            }
            for (key, _) in block.iter().filter(|(key, _)| !model.contains_key(key)) {
                let proof = tree.prove_hashed(&backend, key).unwrap();
                prop_assert!(verify_hashed(&tree.root(), key, None, &proof).is_ok());
            }
        }
        prop_assert_eq!(MerkleTree::open(&backend).unwrap().root(), tree.root());
    }

    /// Any flipped byte of an encoded proof, the value, the key or the root
    /// fails verification, for inclusion and exclusion proofs.
    #[test]
    fn tampering_fails_verification(block in arb_block(), probe in 0u16..80) {
        let backend = MemoryBackend::new();
        let mut tree = MerkleTree::open(&backend).unwrap();
        let mut model = BTreeMap::new();
        commit(&mut tree, &backend, &block);
        apply_model(&mut model, &block);
        let key = state_key(probe);
        let proof = tree.prove(&backend, &key).unwrap();
        check_tamper(&tree.root(), &key, model.get(&key).map(Vec::as_slice), &proof);
    }
}

// ---------------------------------------------------------------------------
// Fixed scenarios, run on every backend.

fn scenario_empty_and_single(backend: &dyn Backend) {
    let mut tree = MerkleTree::open(backend).unwrap();
    assert_eq!(tree.root(), EMPTY_ROOT);
    let key = state_key(1);
    let proof = tree.prove(backend, &key).unwrap();
    assert_eq!(proof.depth(), 0);
    verify_proof(&EMPTY_ROOT, &key, None, &proof).unwrap();
    // One key: the root is its leaf.
    let root = commit(
        &mut tree,
        backend,
        &vec![(key.clone(), Some(b"v".to_vec()))],
    );
    assert_eq!(root, leaf_hash(&key_hash(&key), &value_hash(b"v")));
    check_tamper(&root, &key, Some(b"v"), &tree.prove(backend, &key).unwrap());
    // Deleting it empties the tree again, in the store too.
    assert_eq!(
        commit(&mut tree, backend, &vec![(key.clone(), None)]),
        EMPTY_ROOT
    );
    assert_eq!(MerkleTree::open(backend).unwrap().root(), EMPTY_ROOT);
}

fn scenario_noop_changes_are_harmless(backend: &dyn Backend) {
    let mut tree = MerkleTree::open(backend).unwrap();
    let block: Changes = (0..300)
        .map(|i| (state_key(i), Some(vec![i as u8; 32])))
        .collect();
    let root = commit(&mut tree, backend, &block);
    let mut noop: Changes = (0..300)
        .step_by(7)
        .map(|i| (state_key(i), Some(vec![i as u8; 32])))
        .collect();
    noop.extend((500..520).map(|i| (state_key(i), None)));
    let mut batch = WriteBatch::new();
    let update = tree.prepare(backend, &noop, &mut batch).unwrap();
    assert_eq!(update.root(), root);
    assert_eq!(update.pages_written(), 0);
    assert_eq!(batch.len(), 1, "only the root pointer is rewritten");
    backend.write(batch).unwrap();
    tree.apply(update);
    assert_eq!(MerkleTree::open(backend).unwrap().root(), root);
}

fn scenario_reopen_gives_same_root_and_proofs(backend: &dyn Backend) {
    let mut tree = MerkleTree::open(backend).unwrap();
    let mut model = BTreeMap::new();
    for block_no in 0..4u16 {
        let block: Changes = (0..2000u16)
            .filter(|i| i % 4 == block_no % 4 || i % 7 == 0)
            .map(|i| {
                let value = (i % 11 != 0).then(|| vec![block_no as u8, i as u8, 3]);
                (state_key(i), value)
            })
            .collect();
        commit(&mut tree, backend, &block);
        apply_model(&mut model, &block);
    }
    let reopened = MerkleTree::open(backend).unwrap();
    assert_eq!(reopened.root(), tree.root());
    assert_eq!(reopened.root(), naive_root(&hashed_model(&model)));
    for i in (0..2100u16).step_by(13) {
        let key = state_key(i);
        let proof = reopened.prove(backend, &key).unwrap();
        assert_eq!(proof, tree.prove(backend, &key).unwrap());
        verify_proof(
            &reopened.root(),
            &key,
            model.get(&key).map(Vec::as_slice),
            &proof,
        )
        .unwrap();
    }
}

fn scenario_tiny_cache_still_correct(backend: &dyn Backend) {
    // A budget of zero bytes keeps only the pinned levels: every deeper page
    // comes from the backend.
    let mut tree = MerkleTree::open_with_cache(backend, 0).unwrap();
    let mut model = BTreeMap::new();
    for block_no in 0..5u16 {
        let block: Changes = (0..3000u16)
            .filter(|i| (i + block_no) % 3 == 0)
            .map(|i| {
                (
                    state_key(i),
                    (i % 5 != block_no % 5).then(|| vec![block_no as u8; 8]),
                )
            })
            .collect();
        commit(&mut tree, backend, &block);
        apply_model(&mut model, &block);
        assert_eq!(tree.root(), naive_root(&hashed_model(&model)));
    }
    for i in (0..3000u16).step_by(101) {
        let key = state_key(i);
        let proof = tree.prove(backend, &key).unwrap();
        verify_proof(
            &tree.root(),
            &key,
            model.get(&key).map(Vec::as_slice),
            &proof,
        )
        .unwrap();
    }
}

fn scenario_parallel_matches_sequential(backend: &dyn Backend) {
    let block: Changes = (0..5000u16)
        .map(|i| (state_key(i), Some(i.to_le_bytes().to_vec())))
        .collect();
    let mut parallel = MerkleTree::open(backend).unwrap();
    parallel.set_threads(4);
    let sequential_backend = MemoryBackend::new();
    let mut sequential = MerkleTree::open(&sequential_backend).unwrap();
    sequential.set_threads(1);
    assert_eq!(
        commit(&mut parallel, backend, &block),
        commit(&mut sequential, &sequential_backend, &block)
    );
    let second: Changes = (0..5000u16)
        .step_by(2)
        .map(|i| (state_key(i), None))
        .collect();
    assert_eq!(
        commit(&mut parallel, backend, &second),
        commit(&mut sequential, &sequential_backend, &second)
    );
}

macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[test] fn $name() { super::$name(&super::MemoryBackend::new()); })*
        }
        mod rocksdb {
            $(#[test] fn $name() {
                let dir = tempfile::tempdir().unwrap();
                super::$name(&super::RocksDbBackend::open(dir.path()).unwrap());
            })*
        }
    };
}

backend_tests!(
    scenario_empty_and_single,
    scenario_noop_changes_are_harmless,
    scenario_reopen_gives_same_root_and_proofs,
    scenario_tiny_cache_still_correct,
    scenario_parallel_matches_sequential,
);

/// The same blocks give the same root on RocksDB and in memory, and a
/// RocksDB store closed and reopened gives the same root and proofs.
#[test]
fn rocksdb_agrees_with_memory_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let memory = MemoryBackend::new();
    let mut in_memory = MerkleTree::open(&memory).unwrap();
    let root = {
        let rocks = RocksDbBackend::open(dir.path()).unwrap();
        let mut on_disk = MerkleTree::open(&rocks).unwrap();
        for block_no in 0..3u16 {
            let block: Changes = (0..1500u16)
                .filter(|i| i % 3 != block_no)
                .map(|i| {
                    (
                        state_key(i),
                        (i % 10 != 0).then(|| vec![block_no as u8; 32]),
                    )
                })
                .collect();
            let a = commit(&mut on_disk, &rocks, &block);
            let b = commit(&mut in_memory, &memory, &block);
            assert_eq!(a, b);
        }
        on_disk.root()
    };
    let rocks = RocksDbBackend::open(dir.path()).unwrap();
    let reopened = MerkleTree::open(&rocks).unwrap();
    assert_eq!(reopened.root(), root);
    for i in (0..1600u16).step_by(37) {
        let key = state_key(i);
        assert_eq!(
            reopened.prove(&rocks, &key).unwrap(),
            in_memory.prove(&memory, &key).unwrap()
        );
    }
}

#[test]
fn proof_encoding_round_trips_and_has_the_documented_size() {
    let proof = Proof {
        key_hash: [1; 32],
        siblings: vec![[2; 32]; 3],
        terminal: Terminal::Empty,
    };
    assert_eq!(proof.encode().len(), 34 + 32 * 3);
    assert_eq!(
        Proof::decode(&mut proof.encode().as_slice()).unwrap(),
        proof
    );
    let proof = Proof {
        terminal: Terminal::Leaf {
            key_hash: [3; 32],
            value_hash: [4; 32],
        },
        ..proof
    };
    assert_eq!(proof.encode().len(), 98 + 32 * 3);
    assert_eq!(
        Proof::decode(&mut proof.encode().as_slice()).unwrap(),
        proof
    );
}

#[test]
fn too_deep_proof_is_refused() {
    let proof = Proof {
        key_hash: key_hash(b"k"),
        siblings: vec![[0; 32]; 257],
        terminal: Terminal::Empty,
    };
    assert_eq!(
        verify_proof(&EMPTY_ROOT, b"k", None, &proof),
        Err(super::ProofError::TooDeep {
            depth: 257,
            max: 256
        })
    );
}

/// Two keys that differ only in their last bit: a chain of 64 pages, a
/// 256-deep proof, and a full collapse (no page left behind) on delete.
#[test]
fn deepest_possible_path_builds_and_collapses() {
    let backend = MemoryBackend::new();
    let mut tree = MerkleTree::open(&backend).unwrap();
    let a = [0xAB; 32];
    let mut b = a;
    b[31] ^= 1;
    let root = commit_hashed(
        &mut tree,
        &backend,
        &[(a, Some([1; 32])), (b, Some([2; 32]))],
    );
    let model: BTreeMap<Hash, Hash> = [(a, [1; 32]), (b, [2; 32])].into_iter().collect();
    assert_eq!(root, naive_root(&model));
    assert_eq!(stored_pages(&backend), 64);
    let proof = tree.prove_hashed(&backend, &b).unwrap();
    assert_eq!(proof.depth(), 256);
    verify_hashed(&root, &b, Some(&[2; 32]), &proof).unwrap();
    assert_eq!(MerkleTree::open(&backend).unwrap().root(), root);
    let root = commit_hashed(&mut tree, &backend, &[(a, None)]);
    assert_eq!(root, leaf_hash(&b, &[2; 32]));
    assert_eq!(stored_pages(&backend), 1);
    assert_eq!(tree.cached_pages(), 1);
}

#[test]
fn tree_and_update_are_send() {
    fn send<T: Send>() {}
    send::<MerkleTree>();
    send::<super::TreeUpdate>();
}
