//! `braid run` killed (SIGKILL) inside its first genesis write, then run
//! again: the store holds nothing or the whole genesis, never part of it, and
//! the next run finishes with the genesis root of a run in memory.
//!
//! The kill is placed and proven with the state layer's `step` events, which
//! the binary prints on stderr under `RUST_LOG=braid_state=debug`: the
//! parent kills a random 0..D after "RocksDB write begins" of the genesis
//! batch (D: 90% of that write's duration in an unkilled run), and after
//! the child died reads the pipe to its end. A kill counts as inside the
//! write when "RocksDB write begins" is the last step the child reported.
//! The genesis is large (thousands of accounts with storage) so the write
//! lasts long enough to aim at. The state-level campaign with its per-phase
//! counts is `state/tests/crash.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use braid_chain::{Chain, ChainError, ChainSpec};
use braid_state::{EngineId, RocksDbBackend};
use common::{braid, last_line, stderr, stdout};

const ACCOUNTS: usize = 4_000;
const SLOTS: usize = 12;
/// Kills tried until one lands inside the genesis write.
const ATTEMPTS: usize = 10;

fn account(i: usize) -> String {
    format!("0x{:040x}", 0x1000 + i)
}

/// A chain whose genesis writes ACCOUNTS × (1 + SLOTS) keys; no blocks.
fn chain_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = String::from(
        "[chain]\nname = \"big-genesis\"\nchain_id = 9\nevm_spec = \"prague\"\n\n\
         [genesis]\ntimestamp = 1700000000\n\
         coinbase = \"0x00000000000000000000000000000000000000c0\"\n\n[genesis.alloc]\n",
    );
    for i in 0..ACCOUNTS {
        let storage: Vec<String> = (1..=SLOTS)
            .map(|s| format!("\"0x{s:x}\" = \"0x{:x}\"", i * 100 + s))
            .collect();
        spec.push_str(&format!(
            "\"{}\" = {{ balance = \"{}\", storage = {{ {} }} }}\n",
            account(i),
            i + 1,
            storage.join(", ")
        ));
    }
    std::fs::write(dir.path().join("chain.toml"), spec).unwrap();
    std::fs::create_dir(dir.path().join("blocks")).unwrap();
    dir
}

/// The state layer's step, if the log line is one.
fn step(line: &str) -> Option<&'static str> {
    [
        "RocksDB write begins",
        "RocksDB write done",
        "block batch staged",
        "block committed",
    ]
    .into_iter()
    .find(|s| line.contains(s))
}

/// Runs `braid run` on `db`, killing it `delay` after the genesis write
/// begins (or letting it finish, with `None`). Returns the steps reported,
/// read to the end of the pipe, and the write's duration if it was seen to end.
fn run_killed(
    chain: &Path,
    db: &Path,
    delay: Option<Duration>,
) -> (Vec<&'static str>, Option<Duration>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_braid"))
        .args(["run", chain.to_str().unwrap(), "--db", db.to_str().unwrap()])
        .env("RUST_LOG", "braid_state=debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut steps = Vec::new();
    let mut began = None;
    let mut took = None;
    for line in lines.by_ref() {
        let Some(s) = step(&line.unwrap()) else {
            continue;
        };
        steps.push(s);
        match s {
            "RocksDB write begins" => {
                began = Some(Instant::now());
                if let Some(delay) = delay {
                    std::thread::sleep(delay);
                    child.kill().unwrap();
                    break;
                }
            }
            "RocksDB write done" => took = began.map(|b| b.elapsed()),
            _ => {}
        }
    }
    child.wait().unwrap();
    steps.extend(lines.filter_map(|l| step(&l.unwrap())));
    (steps, took)
}

#[test]
fn a_kill_inside_the_genesis_write_leaves_nothing_or_all_of_it() {
    let chain = chain_dir();
    let memory = braid(&["run", chain.path().to_str().unwrap(), "--memory"]);
    assert!(memory.status.success(), "{}", stderr(&memory));
    let reference = last_line(&memory);
    assert!(reference.starts_with("head 0 root 0x"), "{reference}");
    // Calibration: an unkilled run, for the write's duration.
    let calibration = tempfile::tempdir().unwrap();
    let (steps, took) = run_killed(chain.path(), &calibration.path().join("db"), None);
    let window = took.unwrap_or_else(|| panic!("the genesis write was not reported: {steps:?}"));
    let spec = ChainSpec::load(&chain.path().join("chain.toml")).unwrap();
    let mut landed = Vec::new();
    let mut inside = 0;
    for attempt in 0..ATTEMPTS {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        // Spread over 0..90% of the write: 0%, 45%, 22%, 67%, ...
        let fraction = [0.0, 0.45, 0.22, 0.67, 0.11, 0.56, 0.33, 0.78, 0.05, 0.85][attempt];
        let (steps, _) = run_killed(chain.path(), &db, Some(window.mul_f64(fraction)));
        let last = *steps.last().unwrap();
        // The store holds no chain, or the whole genesis.
        let backend = Arc::new(RocksDbBackend::open(&db).unwrap());
        match Chain::open_existing(spec.clone(), backend.clone()) {
            Err(ChainError::NoChain) => {
                let state = braid_state::StateDb::open(backend).unwrap();
                assert_eq!(state.root(), [0; 32], "no head, yet a tree");
                for engine in [EngineId::SYSTEM, EngineId::EVM] {
                    assert_eq!(
                        state.scan_engine(engine).unwrap(),
                        vec![],
                        "no head, yet engine {engine} has keys"
                    );
                }
                assert_ne!(
                    last, "RocksDB write done",
                    "a synced genesis write was lost"
                );
                landed.push(format!("{last}: nothing stored"));
            }
            Ok(stored) => {
                assert_eq!(stored.head().number, 0);
                assert_eq!(
                    format!("head 0 root 0x{}", hex::encode(stored.head().state_root)),
                    reference
                );
                landed.push(format!("{last}: the whole genesis stored"));
            }
            Err(e) => panic!("the killed store does not reopen: {e}"),
        }
        // Run again: genesis is written (or kept) and the root is memory's.
        let again = braid(&[
            "run",
            chain.path().to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ]);
        assert!(again.status.success(), "{}", stderr(&again));
        assert_eq!(last_line(&again), reference);
        // A queried value of the last account verifies against that root.
        let q = braid(&[
            "query",
            chain.path().to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--engine",
            "evm",
            "--identity",
            &account(ACCOUNTS - 1),
            "--key",
            &format!("0x01{:064x}", SLOTS),
            "--proof",
        ]);
        let out = stdout(&q);
        assert!(q.status.success(), "{}", stderr(&q));
        assert!(
            out.contains(&format!("value 0x{:064x}", (ACCOUNTS - 1) * 100 + SLOTS)),
            "{out}"
        );
        if last == "RocksDB write begins" {
            inside += 1;
            break;
        }
    }
    println!("genesis write of {window:?}; kills landed after: {landed:?}");
    assert!(
        inside >= 1,
        "no kill landed inside the genesis write in {ATTEMPTS} attempts: {landed:?}"
    );
}
