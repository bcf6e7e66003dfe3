//! Bad chain directories and arguments, through the `braid` binary: each is
//! refused with an error naming the offending field, file or path, and
//! leaves the filesystem as it was.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{braid, listing, stderr, stdout};

/// A spec that `braid run` accepts: no plugins or modules, one funded account.
const SPEC: &str = r#"[chain]
name = "validation"
chain_id = 7
evm_spec = "prague"
block_gas_limit = 30000000
base_fee = 7

[gas]
evm = 1

[genesis]
timestamp = 1700000000
coinbase = "0x00000000000000000000000000000000000000c0"

[genesis.alloc]
"0x1111111111111111111111111111111111111111" = { balance = "1000000000000000000" }
"#;

/// A chain directory with `spec` and the given block files (name, number).
fn chain_dir(spec: &str, blocks: &[(&str, u64)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chain.toml"), spec).unwrap();
    std::fs::create_dir(dir.path().join("blocks")).unwrap();
    for (name, number) in blocks {
        let block = format!(
            r#"{{ "number": {number}, "timestamp": {}, "transactions": [] }}"#,
            1_700_000_000 + 12 * number
        );
        std::fs::write(dir.path().join("blocks").join(name), block).unwrap();
    }
    dir
}

/// `braid run` on `dir` with a RocksDB directory inside it: refused with
/// exit code 1, an error containing every `needle`, and no database created.
fn run_refused(dir: &Path, needles: &[&str]) {
    let before = listing(dir);
    let db = dir.join("db");
    let o = braid(&["run", dir.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{}{err}", stdout(&o));
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(listing(dir), before, "a refused run changed the directory");
}

#[test]
fn the_base_spec_runs() {
    let dir = chain_dir(SPEC, &[("0001.json", 1), ("0002.json", 2)]);
    let db = dir.path().join("db");
    let o = braid(&[
        "run",
        dir.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("head 2 root 0x"), "{}", stdout(&o));
}

#[test]
fn absurd_spec_values_are_refused_with_the_field_named() {
    let cases: &[(&str, &str, &[&str])] = &[
        // 30M EVM gas × 2^40 Braid gas per unit overflows a u64.
        (
            "evm = 1",
            "evm = 1099511627776",
            &["gas.evm", "1099511627776", "overflows"],
        ),
        // A rate above the whole block budget of 30M Braid gas.
        (
            "evm = 1",
            "evm = 1\npvm = 30000001",
            &["gas.pvm", "30000001", "block budget"],
        ),
        // Two keys naming one engine.
        (
            "evm = 1",
            "evm = 1\n\"0x01\" = 2",
            &["gas.", "already sets"],
        ),
        (
            "block_gas_limit = 30000000",
            "block_gas_limit = 0",
            &["chain.block_gas_limit", "\"0\""],
        ),
        // 21000 gas at 10^15 wei is more than the one account's 10^18 wei.
        (
            "base_fee = 7",
            "base_fee = 1000000000000000",
            &["chain.base_fee", "1000000000000000", "largest balance"],
        ),
        (
            "timestamp = 1700000000\n",
            "",
            &["genesis.timestamp", "missing"],
        ),
        (
            "coinbase = \"0x00000000000000000000000000000000000000c0\"\n",
            "",
            &["genesis.coinbase", "missing"],
        ),
        (
            "[genesis]\ntimestamp = 1700000000\ncoinbase = \"0x00000000000000000000000000000000000000c0\"\n\n[genesis.alloc]\n\"0x1111111111111111111111111111111111111111\" = { balance = \"1000000000000000000\" }\n",
            "",
            &["`genesis`", "missing"],
        ),
        (
            "[genesis.alloc]",
            "[[genesis.modules]]\nengine = \"pvm\"\nname = \"m\"\nversion = 1\npath = \"m.pvm\"\n\
             [[genesis.modules]]\nengine = \"wasm\"\nname = \"m\"\nversion = 1\npath = \"m.wasm\"\n\
             [genesis.alloc]",
            &["genesis.modules[1].name", "m v1", "genesis.modules[0]"],
        ),
    ];
    for (from, to, needles) in cases {
        assert!(SPEC.contains(from), "{from}");
        let dir = chain_dir(&SPEC.replace(from, to), &[("0001.json", 1)]);
        run_refused(dir.path(), needles);
    }
}

#[test]
fn block_zero_duplicates_and_gaps_are_refused_naming_the_files() {
    let dir = chain_dir(SPEC, &[("0000.json", 0), ("0001.json", 1)]);
    run_refused(dir.path(), &["0000.json", "block 0", "genesis"]);
    let dir = chain_dir(SPEC, &[("0001.json", 1), ("one-again.json", 1)]);
    run_refused(dir.path(), &["0001.json", "one-again.json", "same number"]);
    let dir = chain_dir(SPEC, &[("0001.json", 1), ("0003.json", 3)]);
    run_refused(dir.path(), &["0003.json", "expected block 2"]);
}

#[test]
fn query_on_a_directory_without_a_database_fails_and_creates_nothing() {
    let chain = chain_dir(SPEC, &[]);
    let query = |db: &Path| {
        braid(&[
            "query",
            chain.path().to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--engine",
            "evm",
            "--identity",
            "0x1111111111111111111111111111111111111111",
            "--key",
            "0x00",
        ])
    };
    // An empty directory, one with an unrelated file, and a missing one.
    let empty = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "not a database").unwrap();
    for dir in [empty.path(), other.path()] {
        let before = listing(dir);
        let o = query(dir);
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        assert!(stderr(&o).contains("no database at"), "{}", stderr(&o));
        assert_eq!(listing(dir), before, "query wrote into {}", dir.display());
    }
    let missing = empty.path().join("missing");
    assert_eq!(query(&missing).status.code(), Some(1));
    assert!(!missing.exists(), "query created {}", missing.display());
    // After `braid run`, the same query reads the chain and writes nothing.
    let db = tempfile::tempdir().unwrap();
    let db = db.path().join("db");
    let run = braid(&[
        "run",
        chain.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let before = listing(&db);
    let o = query(&db);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("value 0x"), "{}", stdout(&o));
    assert_eq!(listing(&db), before, "query wrote into the database");
}

/// Runs `braid <command> <dir>`, killing it if it has not ended in 60 s.
fn run_bounded(command: &str, dir: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_braid"))
        .args([command, dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("braid {command} still walking {} after 60 s", dir.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (o.status.code(), stderr(&o))
}

#[test]
fn vector_commands_stop_at_a_symlink_loop_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("set");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("case.json"), "{}").unwrap();
    // Two links back to ancestors: followed naively, the walk branches
    // without end (set/up/set/up/...).
    std::os::unix::fs::symlink(dir.path(), sub.join("up")).unwrap();
    std::os::unix::fs::symlink(".", sub.join("here")).unwrap();
    for command in ["pvm-vectors", "statetest"] {
        let (code, err) = run_bounded(command, dir.path());
        assert_eq!(code, Some(1), "braid {command}: {err}");
        assert!(
            err.contains("directory loop") && err.contains("points back to"),
            "braid {command}: {err}"
        );
    }
}
