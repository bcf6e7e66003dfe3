//! The `braid` binary, driven as a user drives it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn braid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_braid"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dev() -> String {
    repo().join("chains/dev").display().to_string()
}

fn shared() -> PathBuf {
    let path = repo().join("../shared");
    assert!(
        path.is_dir(),
        "the shared vectors are missing: expected {} beside the repository",
        path.display()
    );
    path
}

fn last_line(o: &Output) -> String {
    stdout(o).lines().last().unwrap_or_default().to_string()
}

#[test]
fn unknown_arguments_are_refused_by_name() {
    let o = braid(&["run", &dev(), "--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--frobnicate"), "{}", stderr(&o));
    let o = braid(&["launch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("launch"), "{}", stderr(&o));
}

#[test]
fn run_is_idempotent_and_memory_matches_rocksdb() {
    let db = tempfile::tempdir().unwrap();
    let db = db.path().to_str().unwrap();
    let first = braid(&["run", &dev(), "--db", db]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    for height in 1..=3 {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{height} "))),
            "no row for block {height}:\n{text}"
        );
    }
    assert!(last_line(&first).starts_with("head 6 root 0x"), "{text}");
    let again = braid(&["run", &dev(), "--db", db]);
    assert!(
        stdout(&again).contains("nothing to apply"),
        "{}",
        stdout(&again)
    );
    assert_eq!(last_line(&again), last_line(&first));
    let memory = braid(&["run", &dev(), "--memory"]);
    assert_eq!(last_line(&memory), last_line(&first));
}

#[test]
fn query_prints_a_proof_that_verify_proof_accepts() {
    let db = tempfile::tempdir().unwrap();
    let db = db.path().to_str().unwrap();
    assert!(braid(&["run", &dev(), "--db", db]).status.success());
    // The coinbase's account record: it earned priority fees.
    let coinbase = "0xc0ffee0000000000000000000000000000c0ffee";
    let q = braid(&[
        "query",
        &dev(),
        "--db",
        db,
        "--engine",
        "evm",
        "--identity",
        coinbase,
        "--key",
        "0x00",
        "--proof",
    ]);
    assert!(q.status.success(), "{}", stderr(&q));
    let field = |name: &str| {
        stdout(&q)
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {name} in {}", stdout(&q)))
    };
    let (root, value, proof) = (field("root"), field("value"), field("proof"));
    assert!(value.starts_with("0x"), "coinbase has no record: {value}");
    let base = [
        "verify-proof",
        "--root",
        &root,
        "--engine",
        "evm",
        "--identity",
        coinbase,
        "--key",
        "0x00",
    ];
    let ok = braid(&[&base[..], &["--value", &value, "--proof", &proof]].concat());
    assert!(ok.status.success(), "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).starts_with("valid"));
    // Claiming absence, or another value, fails.
    let absent = braid(&[&base[..], &["--proof", &proof]].concat());
    assert_eq!(absent.status.code(), Some(1), "{}", stdout(&absent));
    let mut wrong = value.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let tampered = braid(&[&base[..], &["--value", &wrong, "--proof", &proof]].concat());
    assert_eq!(tampered.status.code(), Some(1));
    // An absent key has an exclusion proof.
    let q = braid(&[
        "query",
        &dev(),
        "--db",
        db,
        "--engine",
        "evm",
        "--identity",
        coinbase,
        "--key",
        "0x0177",
        "--proof",
    ]);
    assert!(stdout(&q).contains("value absent"), "{}", stdout(&q));
}

#[test]
fn query_without_a_database_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let o = braid(&[
        "query",
        &dev(),
        "--db",
        missing.to_str().unwrap(),
        "--engine",
        "evm",
        "--identity",
        // Well-formed: query parses its arguments before it opens anything.
        "0x0000000000000000000000000000000000000000",
        "--key",
        "0x00",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("braid run"), "{}", stderr(&o));
}

#[test]
fn statetest_reports_a_malformed_file_by_name_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = shared().join("vectors/evm/ethereum-tests/GeneralStateTests/stExample");
    let good = std::fs::read_dir(&vectors)
        .unwrap_or_else(|e| panic!("{}: {e}", vectors.display()))
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    std::fs::copy(&good, dir.path().join("b_good.json")).unwrap();
    std::fs::write(dir.path().join("a_broken.json"), "{ this is not json").unwrap();
    let o = braid(&["statetest", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("a_broken.json"), "{out}");
    let summary = out.lines().last().unwrap();
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 1, "the good file did not run: {out}");
    assert!(summary.ends_with("1 failed"), "{summary}");
}

#[test]
fn statetest_passes_a_real_vector_file() {
    let file = shared().join("vectors/evm/ethereum-tests/GeneralStateTests/stExample");
    let o = braid(&["statetest", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(last_line(&o).ends_with(" passed, 0 failed"));
    let out = stdout(&o);
    let paths = out
        .lines()
        .find(|l| l.starts_with("transactions:"))
        .unwrap();
    assert!(paths.ends_with(", 0 from fields (0 passed)"), "{paths}");
}

#[test]
fn statetest_fails_a_type3_transaction_that_creates_a_contract() {
    let file = repo().join("testing/statetest/tests/fixtures/type3_create.json");
    let o = braid(&["statetest", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("#1] unexpected exception"), "{out}");
    assert!(out.contains("#2] wrong exception"), "{out}");
    assert!(
        out.contains("transactions: 3 cases from txbytes (1 passed), 0 from fields"),
        "{out}"
    );
    assert_eq!(last_line(&o), "1 passed, 2 failed");
}

#[test]
fn plugin_engine_state_is_queryable_with_a_proof() {
    let db = tempfile::tempdir().unwrap();
    let db = db.path().to_str().unwrap();
    assert!(braid(&["run", &dev(), "--db", db]).status.success());
    // The dev chain's Snapshot contract on the stack plugin engine (0x10):
    // module_identity(4242, "snapshot", 1); its call counter is key 0x01 ‖ 0u64.
    let identity = format!(
        "0x{}",
        hex::encode(braid_core::module_identity(4242, b"snapshot", 1).0)
    );
    let q = braid(&[
        "query",
        &dev(),
        "--db",
        db,
        "--engine",
        "0x10",
        "--identity",
        &identity,
        "--key",
        "0x010000000000000000",
        "--proof",
    ]);
    assert!(q.status.success(), "{}", stderr(&q));
    let out = stdout(&q);
    assert!(out.contains("value 0x0000000000000002"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("proof 0x")), "{out}");
}

#[test]
fn pvm_vectors_pass_and_a_wrong_expectation_is_shown_as_a_diff() {
    let dir = shared().join("vectors/pvm/programs");
    let o = braid(&["pvm-vectors", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
    let summary = last_line(&o);
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(
        passed >= 200 && summary.ends_with(" passed, 0 failed"),
        "{summary}"
    );
    // A vector whose expected gas is off by one fails with a diff line.
    let text = std::fs::read_to_string(dir.join("inst_add_32.json")).unwrap();
    let mut vector: serde_json::Value = serde_json::from_str(&text).unwrap();
    let gas = vector["expected-gas"].as_i64().unwrap();
    vector["expected-gas"] = (gas + 1).into();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("wrong_gas.json");
    std::fs::write(&file, vector.to_string()).unwrap();
    std::fs::write(tmp.path().join("broken.json"), "{").unwrap();
    let o = braid(&["pvm-vectors", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("wrong_gas.json")
            && out.contains(&format!("gas: expected {}, got {gas}", gas + 1)),
        "{out}"
    );
    assert!(out.contains("broken.json"), "{out}");
    assert_eq!(last_line(&o), "0 passed, 2 failed");
}

#[test]
fn bench_cross_engine_prints_six_pairs_and_writes_a_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("chart.svg");
    let o = braid(&[
        "bench",
        "cross-engine",
        "--reads",
        "5",
        "--repetitions",
        "1",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for pair in [
        "EVM → PVM",
        "EVM → WASM",
        "PVM → EVM",
        "PVM → WASM",
        "WASM → EVM",
        "WASM → PVM",
    ] {
        assert!(out.contains(pair), "{pair} missing:\n{out}");
    }
    assert!(out.contains("remote / local"), "{out}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"));
}
