//! The bad-input corpus (`testing/corpus`, indexed by `braid-badinput`)
//! through the `braid` binary, its real entry point for chain specs,
//! genesis, block files and the transactions inside them, PVM and WASM
//! code given as genesis modules, plugin libraries pinned by a spec, proofs
//! (`braid verify-proof`) and command lines. Every case must exit with its
//! code (1: refused; 2: a usage error), print no panic, name what its index
//! says it names, and change nothing: no database is created, or the
//! database still holds genesis with the same root.
//!
//! The runs that need a library entry point (`Chain::apply_block` with a
//! Braid `Deploy`, `braid_plugin_loader::load`) and the mutation property
//! tests are `braid-badinput`'s own tests (`testing/badinput/tests`).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use braid_badinput::keys::{FUNDED, account_address, base_chain_dir, base_spec};
use braid_badinput::{Case, cases, corpus_dir, plugin};
use braid_chain::Chain;
use braid_state::RocksDbBackend;
use common::{listing, stderr, stdout};

/// Runs `braid` in `cwd` and waits for it.
fn braid_in(cwd: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_braid"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Asserts `o` is `case`'s refusal: exit code `code`, no panic, and every
/// string of its `names` in the output (stderr, and stdout where commands
/// print their verdicts).
fn assert_refused(case: &Case, o: &Output, code: i32, replace: &[(&str, &str)]) {
    let (out, err) = (stdout(o), stderr(o));
    assert!(
        !err.contains("panicked at"),
        "{case} ({}): braid panicked:\n{err}",
        case.breaks
    );
    assert_eq!(
        o.status.code(),
        Some(code),
        "{case} ({}): exit status {:?}\nstdout:\n{out}\nstderr:\n{err}",
        case.breaks,
        o.status
    );
    case.assert_named(&format!("{err}{out}"), replace);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A chain directory in a fresh temporary folder: `spec` as `chain.toml`,
/// an empty `blocks/`.
fn chain_dir(spec: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chain.toml"), spec).unwrap();
    std::fs::create_dir(dir.path().join("blocks")).unwrap();
    dir
}

fn base_spec_text() -> String {
    std::fs::read_to_string(base_chain_dir().join("chain.toml")).unwrap()
}

/// `braid run <dir> --db <dir>/db`, which must refuse `case` and create no
/// database: the chain directory is as it was.
fn run_refused_without_database(case: &Case, dir: &Path, replace: &[(&str, &str)]) {
    let before = listing(dir);
    let db = dir.join("db");
    let args = ["run".into(), path_arg(dir), "--db".into(), path_arg(&db)];
    let o = braid_in(dir, &args);
    assert_refused(case, &o, 1, replace);
    assert!(!db.exists(), "{case}: a database was created");
    assert_eq!(listing(dir), before, "{case}: the chain directory changed");
}

fn path_arg(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// Chain specs and genesis: `chain.toml` is the case file; the folder's
/// `files/` is linked beside it for module paths.
fn spec_cases(parser: &str) {
    let files = corpus_dir().join(parser).join("files");
    for case in cases(parser) {
        let dir = chain_dir(&std::fs::read(case.path()).unwrap());
        if files.is_dir() {
            std::os::unix::fs::symlink(&files, dir.path().join("files")).unwrap();
        }
        run_refused_without_database(&case, dir.path(), &[]);
    }
}

#[test]
fn spec_corpus() {
    spec_cases("spec");
}

#[test]
fn genesis_corpus() {
    spec_cases("genesis");
}

/// PVM and WASM code as a genesis module of the base chain: refused with
/// the module's field and the engine's reason, before any database exists.
fn code_cases(parser: &str, engine: &str) {
    for case in cases(parser) {
        let module = format!(
            "\n[[genesis.modules]]\nengine = \"{engine}\"\nname = \"case\"\nversion = 1\npath = {:?}\n",
            path_arg(&case.path())
        );
        let dir = chain_dir(format!("{}{module}", base_spec_text()).as_bytes());
        run_refused_without_database(&case, dir.path(), &[]);
        let err = stderr(&braid_in(
            dir.path(),
            &["run".into(), path_arg(dir.path()), "--memory".into()],
        ));
        assert!(
            err.contains("genesis.modules[0].path"),
            "{case}: the field is not named:\n{err}"
        );
    }
}

#[test]
fn pvm_corpus() {
    code_cases("pvm", "pvm");
}

#[test]
fn wasm_corpus() {
    code_cases("wasm", "wasm");
}

/// Plugin libraries pinned by the base chain's spec.
#[test]
fn plugin_corpus() {
    for case in cases("plugins") {
        let libs = tempfile::tempdir().unwrap();
        let pinned = plugin::materialize(&case, libs.path());
        let spec = format!("{}\n{}", base_spec_text(), pinned.spec_entry());
        let dir = chain_dir(spec.as_bytes());
        let path = pinned.path.display().to_string();
        run_refused_without_database(&case, dir.path(), &[("path", &path)]);
    }
}

/// The base chain with genesis written: a template database every block
/// and transaction case starts from, and its root.
fn genesis_database() -> &'static (tempfile::TempDir, [u8; 32]) {
    static DB: OnceLock<(tempfile::TempDir, [u8; 32])> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let chain = dir.path().join("chain");
        copy_dir(&base_chain_dir(), &chain);
        std::fs::create_dir_all(chain.join("blocks")).unwrap();
        let db = dir.path().join("db");
        let o = braid_in(
            dir.path(),
            &["run".into(), path_arg(&chain), "--db".into(), path_arg(&db)],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let (head, root) = head_of(&db);
        assert_eq!(head, 0);
        (dir, root)
    })
}

/// The head's number and state root of the database at `db`, opened
/// read-only with the base spec.
fn head_of(db: &Path) -> (u64, [u8; 32]) {
    let backend = RocksDbBackend::open_read_only(db).unwrap();
    let chain = Chain::open_existing(base_spec(), Arc::new(backend)).unwrap();
    (chain.head().number, chain.head().state_root)
}

/// Runs the base chain with `blocks` written into `blocks/` over a copy of
/// the genesis database: refused, and the database still holds genesis.
fn run_blocks_refused(case: &Case, write_blocks: impl FnOnce(&Path)) {
    let (template, genesis_root) = genesis_database();
    let dir = chain_dir(base_spec_text().as_bytes());
    write_blocks(&dir.path().join("blocks"));
    let db = dir.path().join("db");
    copy_dir(&template.path().join("db"), &db);
    let args = [
        "run".into(),
        path_arg(dir.path()),
        "--db".into(),
        path_arg(&db),
    ];
    let o = braid_in(dir.path(), &args);
    assert_refused(case, &o, 1, &[]);
    assert_eq!(
        head_of(&db),
        (0, *genesis_root),
        "{case}: the refused block changed the state"
    );
}

#[test]
fn block_file_corpus() {
    for case in cases("blocks") {
        let source = case.path();
        run_blocks_refused(&case, |blocks| {
            if source.is_dir() {
                copy_dir(&source, blocks);
            } else {
                std::fs::copy(&source, blocks.join("0001.json")).unwrap();
            }
        });
    }
}

/// Transactions of one kind, as block 1's list.
fn transaction_cases(parser: &str) {
    let spec = base_spec();
    for case in cases(parser) {
        let txs: Vec<String> = case.texts("txs");
        assert!(!txs.is_empty(), "{case}: no `txs`");
        run_blocks_refused(&case, |blocks| {
            std::fs::write(
                blocks.join("0001.json"),
                braid_badinput::keys::block_json_texts(&spec, 1, parser, &txs),
            )
            .unwrap();
        });
    }
}

#[test]
fn ethereum_transaction_corpus() {
    transaction_cases("ethereum");
}

#[test]
fn braid_transaction_corpus() {
    transaction_cases("braid");
}

/// The printed `label value` line of `braid query`.
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{out}"))
}

/// `braid query --proof` of `key` (of account 0) on the genesis database:
/// (root, value, proof), 0x-hex (value `None` when absent).
fn query(key: &str) -> (String, Option<String>, String) {
    let (template, _) = genesis_database();
    let chain = template.path().join("chain");
    let o = braid_in(
        template.path(),
        &[
            "query".into(),
            path_arg(&chain),
            "--db".into(),
            path_arg(&template.path().join("db")),
            "--engine".into(),
            "evm".into(),
            "--identity".into(),
            account_address(FUNDED).to_string(),
            "--key".into(),
            key.into(),
            "--proof".into(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let value = field(&out, "value");
    let value = (value != "absent").then_some(value);
    (field(&out, "root"), value, field(&out, "proof"))
}

/// `{name}` and `{name:op}` placeholders of a proof case (see its index).
fn expand(text: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("a closed placeholder");
        let inner = &rest[start + 1..end];
        let (name, op) = inner.split_once(':').unwrap_or((inner, ""));
        out.push_str(&placeholder(name, op, vars));
        rest = &rest[end + 1..];
    }
    out + rest
}

fn placeholder(name: &str, op: &str, vars: &[(&str, String)]) -> String {
    if name == "zeros" {
        return "00".repeat(op.parse().unwrap());
    }
    let value = &vars
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("unknown placeholder {name}"))
        .1;
    if op.is_empty() {
        return value.clone();
    }
    let mut bytes = hex::decode(value.trim_start_matches("0x")).unwrap();
    let index = |i: &str| -> usize {
        let i: i64 = i.parse().unwrap();
        if i < 0 {
            bytes.len() - i.unsigned_abs() as usize
        } else {
            i as usize
        }
    };
    match op.split_once('=').expect("op=argument") {
        ("drop", n) => bytes.truncate(bytes.len() - n.parse::<usize>().unwrap()),
        ("xor", i) => {
            let i = index(i);
            bytes[i] ^= 1;
        }
        ("set", arg) => {
            let (i, byte) = arg.split_once(':').unwrap();
            let i = index(i);
            bytes[i] = u8::from_str_radix(byte, 16).unwrap();
        }
        (other, _) => panic!("unknown op {other}"),
    }
    format!("0x{}", hex::encode(bytes))
}

#[test]
fn proof_corpus() {
    let (root, value, proof) = query("0x00");
    let absent_key = format!("0x01{}", "00".repeat(32));
    let (_, absent, absent_proof) = query(&absent_key);
    assert!(absent.is_none());
    let vars = [
        ("root", root.clone()),
        ("identity", account_address(FUNDED).to_string()),
        ("key", "0x00".to_owned()),
        ("value", value.expect("account 0 has a record")),
        ("proof", proof.clone()),
        ("absent_key", absent_key),
        ("absent_proof", absent_proof),
        ("keyhash", proof[2..66].to_owned()),
    ];
    let cwd = tempfile::tempdir().unwrap();
    // The arguments the cases start from verify: each case's change is what
    // breaks it.
    let valid: Vec<String> = [
        "verify-proof",
        "--root",
        "{root}",
        "--engine",
        "evm",
        "--identity",
        "{identity}",
        "--key",
        "{key}",
        "--value",
        "{value}",
        "--proof",
        "{proof}",
    ]
    .iter()
    .map(|a| expand(a, &vars))
    .collect();
    let o = braid_in(cwd.path(), &valid);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    for case in cases("proofs") {
        let args: Vec<String> = case
            .texts("args")
            .iter()
            .map(|a| expand(a, &vars))
            .collect();
        let o = braid_in(cwd.path(), &args);
        assert_refused(&case, &o, 1, &[("root", &root)]);
    }
    assert_eq!(listing(cwd.path()), vec![], "verify-proof wrote files");
}

#[test]
fn command_line_corpus() {
    for case in cases("cli") {
        let chain = tempfile::tempdir().unwrap();
        copy_dir(&base_chain_dir(), chain.path());
        std::fs::create_dir_all(chain.path().join("blocks")).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file.txt");
        std::fs::write(&file, "not a chain, not JSON\n").unwrap();
        let missing = tmp.path().join("missing");
        let cwd = tempfile::tempdir().unwrap();
        let vars = [
            ("chain", path_arg(chain.path())),
            ("tmp", path_arg(tmp.path())),
            ("file", path_arg(&file)),
            ("missing", path_arg(&missing)),
        ];
        let args: Vec<String> = case
            .texts("args")
            .iter()
            .map(|a| {
                vars.iter()
                    .fold(a.clone(), |a, (k, v)| a.replace(&format!("{{{k}}}"), v))
            })
            .collect();
        let before = [chain.path(), tmp.path(), cwd.path()].map(listing);
        let o = braid_in(cwd.path(), &args);
        let code = case.number("code").expect("a `code`") as i32;
        let replace: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_refused(&case, &o, code, &replace);
        let after = [chain.path(), tmp.path(), cwd.path()].map(listing);
        assert_eq!(after, before, "{case}: files were created or changed");
    }
}
