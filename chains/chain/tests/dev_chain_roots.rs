//! The dev chain's block roots, pinned: a change to any engine, the kernel,
//! the state or the chain that moves a root of a bundled block fails here,
//! on both backends and on a rerun. Blocks 1-5 were recorded at commit
//! f98dd06, before caps and YIELD/RESUME (RFC 0010), with
//! `braid run chains/dev --memory`; they must never change. Later blocks
//! are appended after them.

use std::path::PathBuf;
use std::sync::Arc;

use braid_chain::{Block, Chain, ChainSpec};
use braid_state::{Backend, MemoryBackend, RocksDbBackend};

/// The state roots of blocks 1-5 at f98dd06.
const PINNED_ROOTS: [&str; 5] = [
    "97e71f587ba75905d9e94e51609c954f656e17e5770c40c2ef8738e05c490ea4",
    "be662097e851efe51b83de45855d9e7a10eca2bdc7f84096671a8138a46316e5",
    "f68b8cffdc2b0401c9d26d70de279e6e81f452e935e11e370baa781114cef430",
    "690d5e332c7ff9f74a62ae0697552b52d920906a86318e72b5e92a54fb995208",
    "74f73ee35451b9eb8bf654a972cdc31537612030839da57d8e4f7b5c12583ccb",
];

fn dev_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dev")
}

fn roots_on(backend: Arc<dyn Backend>) -> Vec<String> {
    let spec = ChainSpec::load(&dev_dir().join("chain.toml")).unwrap();
    let mut chain = Chain::open(spec, backend).unwrap();
    Block::load_dir(&dev_dir().join("blocks"))
        .unwrap()
        .into_iter()
        .map(|(_, block)| hex::encode(chain.apply_block(&block).unwrap().header.state_root))
        .collect()
}

fn assert_pinned(roots: &[String], backend: &str) {
    assert!(roots.len() >= PINNED_ROOTS.len(), "{backend}: {roots:?}");
    for (height, (got, pinned)) in roots.iter().zip(PINNED_ROOTS).enumerate() {
        assert_eq!(
            got,
            pinned,
            "{backend}: the root of block {} moved",
            height + 1
        );
    }
}

#[test]
fn the_first_five_dev_blocks_keep_their_roots_on_memory_and_rocksdb_twice() {
    let memory = roots_on(Arc::new(MemoryBackend::new()));
    assert_pinned(&memory, "memory");
    assert_eq!(
        roots_on(Arc::new(MemoryBackend::new())),
        memory,
        "memory rerun"
    );
    for run in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let rocks = roots_on(Arc::new(RocksDbBackend::open(dir.path()).unwrap()));
        assert_pinned(&rocks, "rocksdb");
        assert_eq!(rocks, memory, "rocksdb run {run} differs from memory");
    }
}
