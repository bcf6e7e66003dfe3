//! A process killed in the middle of a block commit leaves a RocksDB store
//! that reopens at a committed block, never in between.
//!
//! The test re-runs its own binary as a child (`crash_child`), which commits a
//! small block 1 and then a large block 2; the parent SIGKILLs it while block
//! 2 is being written, reopens the store, and checks that root, values and
//! proofs all belong to block 1 (or, if the kill came late, to block 2).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use braid_state::{
    EngineId, Identity, MemoryBackend, RocksDbBackend, StateDb, StateKey, verify_proof,
};

const CHILD_ENV: &str = "BRAID_CRASH_CHILD_DB";
const BIG_BLOCK_KEYS: u32 = 200_000;

fn block1() -> Vec<(StateKey, Option<Vec<u8>>)> {
    (0..1_000u32)
        .map(|i| {
            (
                StateKey::new(EngineId::EVM, Identity([1; 20]), i.to_be_bytes().to_vec()),
                Some(vec![1; 32]),
            )
        })
        .collect()
}

fn block2() -> Vec<(StateKey, Option<Vec<u8>>)> {
    (0..BIG_BLOCK_KEYS)
        .map(|i| {
            let mut id = [2u8; 20];
            id[..4].copy_from_slice(&(i % 5_000).to_be_bytes());
            (
                StateKey::new(EngineId::PVM, Identity(id), i.to_be_bytes().to_vec()),
                Some(i.to_le_bytes().repeat(8)),
            )
        })
        .collect()
}

/// The child: commits block 1, says so, then commits block 2 until killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut db = StateDb::open(Arc::new(RocksDbBackend::open(&dir).unwrap())).unwrap();
    db.commit_block(block1(), |_| vec![(b"head".to_vec(), b"1".to_vec())])
        .unwrap();
    println!("block1 committed");
    db.commit_block(block2(), |_| vec![(b"head".to_vec(), b"2".to_vec())])
        .unwrap();
    println!("block2 committed");
    std::thread::sleep(Duration::from_secs(60));
}

fn roots() -> ([u8; 32], [u8; 32]) {
    let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
    let r1 = db.commit_block(block1(), |_| vec![]).unwrap().root;
    let r2 = db.commit_block(block2(), |_| vec![]).unwrap().root;
    (r1, r2)
}

#[test]
fn killed_commit_reopens_at_a_committed_block() {
    let (root1, root2) = roots();
    let mut saw_block1_state = false;
    // Kill at a few different moments after block 1 is durable.
    for delay_ms in [0u64, 20, 80, 200] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next()
                .expect("child ended before committing block 1")
                .unwrap();
            if line.contains("block1 committed") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no destructor, no flush.
        child.wait().unwrap();

        let db = StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
        let head = db.meta(b"head").unwrap();
        let sample = &block2()[12_345];
        let probe = &sample.0;
        let value = db
            .get(probe.engine, &probe.identity, &probe.engine_key)
            .unwrap();
        let proof = db.prove(probe).unwrap();
        if db.root() == root1 {
            saw_block1_state = true;
            assert_eq!(head.as_deref(), Some(&b"1"[..]), "header and root disagree");
            assert_eq!(value, None, "a value of the killed block leaked");
            verify_proof(&root1, &probe.encode(), None, &proof).unwrap();
        } else {
            assert_eq!(
                db.root(),
                root2,
                "store reopened at a root of neither block (delay {delay_ms} ms)"
            );
            assert_eq!(head.as_deref(), Some(&b"2"[..]));
            assert_eq!(value, sample.1);
            verify_proof(&root2, &probe.encode(), sample.1.as_deref(), &proof).unwrap();
        }
    }
    assert!(
        saw_block1_state,
        "no kill landed during the block 2 commit; the test did not test anything"
    );
}
