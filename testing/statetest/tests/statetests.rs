//! Every Ethereum state test in `../shared/vectors/evm` (ethereum/tests
//! Cancun and older forks, EEST Prague) run through braid-evm on Braid's
//! unified state: every case must pass.

use std::path::PathBuf;

#[test]
fn every_shared_state_test_passes() {
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/evm");
    assert!(
        vectors.is_dir(),
        "the shared EVM vectors are missing: expected {} (the `shared/` folder beside the repository root)",
        vectors.display()
    );
    let files = braid_statetest::collect_files(std::slice::from_ref(&vectors));
    assert!(
        files.len() >= 300,
        "expected the 300 shared vector files, found {}",
        files.len()
    );

    let summary = braid_statetest::run_paths(&[vectors], &mut |_| {});
    for failure in &summary.failures {
        println!("FAIL {failure}");
    }
    println!(
        "state tests: {} passed, {} failed",
        summary.passed, summary.failed
    );
    assert_eq!(
        summary.failed,
        0,
        "{} of {} cases failed",
        summary.failed,
        summary.passed + summary.failed
    );
    assert!(
        summary.passed >= 1_600,
        "expected about 1,603 cases, ran {}",
        summary.passed
    );
}

/// The runner does fail: tampered copies of shared vectors are reported with
/// the right kind, and a bad file does not stop the run.
#[test]
fn tampered_vectors_are_reported() {
    use braid_statetest::FailureKind;
    use serde_json::{Value, json};

    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/evm");
    assert!(
        vectors.is_dir(),
        "the shared EVM vectors are missing: expected {}",
        vectors.display()
    );
    let read = |relative: &str| -> Value {
        let path = vectors.join(relative);
        serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap()
    };
    // One unit, one fork, one case: the first case matching `pick`.
    let single = |file: Value, pick: &dyn Fn(&Value) -> bool| -> Value {
        for (name, unit) in file.as_object().unwrap() {
            for (fork, cases) in unit["post"].as_object().unwrap() {
                if let Some(case) = cases.as_array().unwrap().iter().find(|c| pick(c)) {
                    let mut unit = unit.clone();
                    unit["post"] = json!({ fork.clone(): [case.clone()] });
                    return json!({ name.clone(): unit });
                }
            }
        }
        panic!("no case matches");
    };
    let yul = read("ethereum-tests/GeneralStateTests/Pyspecs/homestead/yul/yul.json");
    let validity = read(
        "eest-pectra-devnet-5/state_tests/prague/eip7623_increase_calldata_cost/transaction_validity/transaction_validity_type_0.json",
    );
    let valid = single(yul, &|c| c.get("expectException").is_none());
    let invalid = single(validity, &|c| c.get("expectException").is_some());
    fn case(v: &mut Value) -> &mut Value {
        let unit = v.as_object_mut().unwrap().values_mut().next().unwrap();
        let cases = unit["post"]
            .as_object_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        &mut cases[0]
    }

    let dir =
        std::env::temp_dir().join(format!("braid-statetests-tampered-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write =
        |name: &str, value: Value| std::fs::write(dir.join(name), value.to_string()).unwrap();
    write("a_untouched.json", valid.clone());
    let mut root = valid.clone();
    case(&mut root)["hash"] = json!(format!("0x{}", "11".repeat(32)));
    write("b_root.json", root);
    let mut logs = valid.clone();
    case(&mut logs)["logs"] = json!(format!("0x{}", "22".repeat(32)));
    write("c_logs.json", logs);
    let mut missing = valid.clone();
    case(&mut missing)["expectException"] = json!("TransactionException.INTRINSIC_GAS_TOO_LOW");
    write("d_missing.json", missing);
    let mut unexpected = invalid.clone();
    case(&mut unexpected)
        .as_object_mut()
        .unwrap()
        .remove("expectException");
    write("e_unexpected.json", unexpected);
    write("f_invalid_untouched.json", invalid);
    std::fs::write(dir.join("g_malformed.json"), "{\"broken\": ").unwrap();

    let mut progress = 0;
    let summary = braid_statetest::run_paths(std::slice::from_ref(&dir), &mut |_| progress += 1);
    std::fs::remove_dir_all(&dir).unwrap();
    let kinds: Vec<(String, FailureKind)> = summary
        .failures
        .iter()
        .map(|f| {
            (
                f.file.file_name().unwrap().to_string_lossy().into_owned(),
                f.kind,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("b_root.json".to_string(), FailureKind::RootMismatch),
            ("c_logs.json".to_string(), FailureKind::LogsMismatch),
            ("d_missing.json".to_string(), FailureKind::MissingException),
            (
                "e_unexpected.json".to_string(),
                FailureKind::UnexpectedException
            ),
            ("g_malformed.json".to_string(), FailureKind::MalformedFile),
        ]
    );
    assert_eq!((summary.passed, summary.failed, progress), (2, 5, 7));
    let unexpected = &summary.failures[3];
    assert!(
        unexpected.got.contains("intrinsic gas") || unexpected.got.contains("floor"),
        "{}",
        unexpected.got
    );
}
