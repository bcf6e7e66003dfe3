//! The PVM backend choice through the `braid` binary: `braid run
//! --pvm-backend`, `braid pvm-vectors --backend` and `braid pvm-run`, on the
//! interpreter and (where it runs) the x86-64 recompiler, giving the same
//! roots, vectors and exits; bad backends and bad programs refused by name.

mod common;

use std::path::PathBuf;

use common::{braid, last_line, stderr, stdout};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
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

/// The backends this machine runs: the interpreter everywhere, the
/// recompiler on x86-64 Linux (STYLE.md point 6: every test on each).
fn backends() -> Vec<&'static str> {
    let mut backends = vec!["interpreter"];
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        backends.push("compiler");
    }
    backends
}

#[test]
fn the_dev_chain_gives_the_same_roots_on_every_backend() {
    let dev = repo().join("chains/dev");
    let dev = dev.to_str().unwrap();
    let mut tables = Vec::new();
    for backend in backends() {
        let o = braid(&["run", dev, "--memory", "--pvm-backend", backend]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains(&format!("pvm backend {backend}")),
            "{backend}: {out}"
        );
        assert!(last_line(&o).starts_with("head 6 root 0x"), "{out}");
        // Every per-block row (height, ok, failed, gas, root) and the head.
        let table: Vec<String> = out
            .lines()
            .filter(|l| !l.starts_with("pvm backend"))
            .map(str::to_string)
            .collect();
        tables.push((backend, table));
    }
    for (backend, table) in &tables[1..] {
        assert_eq!(
            table, &tables[0].1,
            "{backend} differs from the interpreter"
        );
    }
}

#[test]
fn an_unknown_backend_is_refused_by_name() {
    let dev = repo().join("chains/dev");
    for args in [
        vec![
            "run",
            dev.to_str().unwrap(),
            "--memory",
            "--pvm-backend",
            "jit",
        ],
        vec!["pvm-vectors", dev.to_str().unwrap(), "--backend", "jit"],
        vec!["pvm-run", dev.to_str().unwrap(), "--backend", "jit"],
    ] {
        let o = braid(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("\"jit\" is not a PVM backend") && err.contains("interpreter or compiler"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn every_program_vector_passes_on_every_backend() {
    let programs = shared().join("vectors/pvm/programs");
    let regressions = repo().join("engines/pvm/tests/vectors");
    for backend in backends() {
        for dir in [&programs, &regressions] {
            let o = braid(&["pvm-vectors", dir.to_str().unwrap(), "--backend", backend]);
            let summary = last_line(&o);
            assert!(o.status.success(), "{backend}: {}", stdout(&o));
            let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
            assert!(
                passed > 0 && summary.ends_with(" passed, 0 failed"),
                "{backend} on {}: {summary}",
                dir.display()
            );
        }
    }
}

/// `braid pvm-run`'s lines that must not depend on the backend.
fn outcome(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            ["exit ", "gas ", "output ", "registers "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect()
}

#[test]
fn pvm_run_takes_a_service_blob_to_its_first_host_call_alike_on_every_backend() {
    let blob = shared().join("programs/pvm/test-service-0.1.27.jam");
    let mut seen = Vec::new();
    for backend in backends() {
        let o = braid(&[
            "pvm-run",
            blob.to_str().unwrap(),
            "--backend",
            backend,
            "--input",
            "0x0102",
            "--gas",
            "1000000",
        ]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let out = stdout(&o);
        for line in [
            "program   ",
            "(JAM service code,",
            &format!("backend   {backend}"),
            "exit      host call 1 ",
            "gas       used ",
            " of 1000000, ",
            "compile   ",
            "run       ",
        ] {
            assert!(out.contains(line), "{backend}: {line:?} missing:\n{out}");
        }
        seen.push(out);
    }
    for out in &seen[1..] {
        assert_eq!(outcome(out), outcome(&seen[0]));
    }
}

/// A raw `deblob` blob: no jump table, one-byte offsets, `code`, `bitmask`.
fn raw_blob(code: &[u8], bitmask: &[u8]) -> Vec<u8> {
    let mut blob = vec![0, 1, u8::try_from(code.len()).unwrap()];
    blob.extend_from_slice(code);
    blob.extend_from_slice(bitmask);
    blob
}

#[test]
fn pvm_run_runs_a_raw_blob_from_an_entry_pc_and_counts_gas() {
    // pc 0: trap; pc 1: load_imm r7, 5 (opcode 51, reg, 1-byte imm);
    // pc 4: fallthrough; pc 5: trap. From pc 1, two blocks: 2 + 1 gas,
    // and the trap panics at pc 5 with r7 = 5.
    let code = [0, 51, 7, 5, 1, 0];
    let bitmask = [0b0011_0011];
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("raw.pvm");
    std::fs::write(&file, raw_blob(&code, &bitmask)).unwrap();
    for backend in backends() {
        let o = braid(&[
            "pvm-run",
            file.to_str().unwrap(),
            "--backend",
            backend,
            "--entry",
            "1",
            "--gas",
            "100",
        ]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("(raw program blob,"), "{out}");
        assert!(out.contains("exit      panic at pc 5"), "{backend}: {out}");
        assert!(
            out.contains("gas       used 3 of 100, 97 left"),
            "{backend}: {out}"
        );
        assert!(out.contains(" r7=0x5 "), "{backend}: {out}");
    }
    // Input needs a standard program's argument region.
    let o = braid(&["pvm-run", file.to_str().unwrap(), "--input", "0x01"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--input needs a standard program"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pvm_run_refuses_what_is_not_a_program() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("junk.pvm");
    std::fs::write(&file, b"\xff\xff\xff\xff not a program").unwrap();
    let o = braid(&["pvm-run", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("not a PVM program") && !err.contains("panicked"),
        "{err}"
    );
    let missing = tmp.path().join("missing.pvm");
    let o = braid(&["pvm-run", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.pvm"), "{}", stderr(&o));
    let o = braid(&["pvm-run", file.to_str().unwrap(), "--input", "0xzz"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("input"), "{}", stderr(&o));
}
