//! Every Ethereum state test in `../shared/vectors/evm` (ethereum/tests
//! Cancun and older forks, EEST Prague) run through the chain's Ethereum
//! transaction path on Braid's unified state: every case must pass, from its
//! `txbytes`. And the runner fails where it should: tampered copies of the
//! vectors, and the committed fixtures in `tests/fixtures/` (each says in
//! `_info.comment` which vector it was derived from and what it checks).

use std::path::{Path, PathBuf};

use braid_statetest::{FailureKind, StateTestSummary, TxSource};
use serde_json::{Value, json};

fn shared_vectors() -> PathBuf {
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/evm");
    assert!(
        vectors.is_dir(),
        "the shared EVM vectors are missing: expected {} (the `shared/` folder beside the repository root)",
        vectors.display()
    );
    vectors
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(path: &Path) -> StateTestSummary {
    let summary = braid_statetest::run_paths(&[path.to_path_buf()], &mut |_| {});
    for failure in &summary.failures {
        println!("FAIL {failure}");
    }
    summary
}

/// `(index, kind)` of every failure, in order.
fn failed(summary: &StateTestSummary) -> Vec<(usize, FailureKind)> {
    summary.failures.iter().map(|f| (f.index, f.kind)).collect()
}

#[test]
fn every_shared_state_test_passes() {
    let vectors = shared_vectors();
    let files = braid_statetest::collect_files(std::slice::from_ref(&vectors));
    assert!(
        files.len() >= 300,
        "expected the 300 shared vector files, found {}",
        files.len()
    );

    let summary = run(&vectors);
    for failure in &summary.failures {
        println!("FAIL {failure}");
    }
    println!(
        "state tests: {} passed, {} failed; from txbytes {} ({} passed), from fields {}",
        summary.passed,
        summary.failed,
        summary.txbytes.cases(),
        summary.txbytes.passed,
        summary.fields.cases()
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
    // Every shared case carries `txbytes`: all of them ran through the
    // chain's decoder and rules, none from the template fields.
    assert_eq!(summary.txbytes.cases(), summary.passed);
    assert_eq!(summary.fields.cases(), 0);
}

/// The runner does fail: tampered copies of shared vectors are reported with
/// the right kind, and a bad file does not stop the run.
#[test]
fn tampered_vectors_are_reported() {
    let vectors = shared_vectors();
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

#[test]
fn a_wrong_exception_kind_fails() {
    let summary = run(&fixture("wrong_exception.json"));
    assert_eq!(failed(&summary), [(0, FailureKind::WrongException)]);
    assert_eq!((summary.txbytes.passed, summary.txbytes.failed), (3, 1));
    let failure = &summary.failures[0];
    assert_eq!(
        failure.expected,
        "TransactionException.INTRINSIC_GAS_TOO_LOW"
    );
    assert!(
        failure
            .got
            .contains("TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"),
        "{}",
        failure.got
    );
}

#[test]
fn undecodable_txbytes_fail_whatever_the_case_expects() {
    let summary = run(&fixture("undecodable_txbytes.json"));
    assert_eq!(
        failed(&summary),
        [
            (2, FailureKind::TransactionNotBuilt),
            (3, FailureKind::TransactionNotBuilt)
        ]
    );
    for failure in &summary.failures {
        assert!(
            failure.got.contains("cannot decode ethereum transaction"),
            "{}",
            failure.got
        );
        assert_eq!(failure.source, Some(TxSource::TxBytes));
    }
    assert!(
        summary.failures[1].got.contains("0x02c0ffee"),
        "{}",
        summary.failures[1].got
    );
}

#[test]
fn a_type3_transaction_that_creates_a_contract_is_invalid() {
    let summary = run(&fixture("type3_create.json"));
    // Case 0 expects TYPE_3_TX_CONTRACT_CREATION with the pre-state root and
    // passes; case 1 claims the transaction valid; case 2 names another reason.
    assert_eq!(
        failed(&summary),
        [
            (1, FailureKind::UnexpectedException),
            (2, FailureKind::WrongException)
        ]
    );
    assert!(
        summary.failures[0].got.contains("cannot create a contract"),
        "{}",
        summary.failures[0].got
    );
    assert_eq!(summary.txbytes.passed, 1);
}

/// The fixture's txbytes are what alloy signs for its template (with the
/// empty `to`), so the fixture can be checked and rebuilt.
#[test]
fn the_type3_create_fixture_is_signed_by_its_secret_key() {
    use alloy_primitives::{B256, Bytes, Signature, U256, keccak256};
    use alloy_rlp::Encodable;
    use std::str::FromStr;

    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("type3_create.json")).unwrap())
            .unwrap();
    let unit = &file["blobhashListBounds5_create"];
    let t = &unit["transaction"];
    let u = |v: &Value| U256::from_str(v.as_str().unwrap()).unwrap();
    let int = |v: &Value| u64::try_from(u(v)).unwrap();
    let hex_bytes = |v: &Value| Bytes::from_str(v.as_str().unwrap()).unwrap();
    assert_eq!(t["to"], "", "the fixture's transaction creates");

    let mut fields = Vec::new();
    1u64.encode(&mut fields); // chain id (env has none: 1)
    int(&t["nonce"]).encode(&mut fields);
    u(&t["maxPriorityFeePerGas"]).encode(&mut fields);
    u(&t["maxFeePerGas"]).encode(&mut fields);
    int(&t["gasLimit"][0]).encode(&mut fields);
    Bytes::new().encode(&mut fields); // `to`: empty
    u(&t["value"][0]).encode(&mut fields);
    hex_bytes(&t["data"][0]).encode(&mut fields);
    let access_list = alloy_eips::eip2930::AccessList(
        t["accessLists"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| alloy_eips::eip2930::AccessListItem {
                address: item["address"].as_str().unwrap().parse().unwrap(),
                storage_keys: item["storageKeys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| B256::from_str(k.as_str().unwrap()).unwrap())
                    .collect(),
            })
            .collect(),
    );
    access_list.encode(&mut fields);
    u(&t["maxFeePerBlobGas"]).encode(&mut fields);
    t["blobVersionedHashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| B256::from_str(h.as_str().unwrap()).unwrap())
        .collect::<Vec<_>>()
        .encode(&mut fields);
    let envelope = |fields: &[u8]| {
        let mut out = vec![0x03];
        alloy_rlp::Header {
            list: true,
            payload_length: fields.len(),
        }
        .encode(&mut out);
        out.extend_from_slice(fields);
        out
    };
    let key = k256::ecdsa::SigningKey::from_slice(
        B256::from_str(t["secretKey"].as_str().unwrap())
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let (sig, recid) = key
        .sign_prehash_recoverable(keccak256(envelope(&fields)).as_slice())
        .unwrap();
    let signature = Signature::from((sig, recid));
    signature.v().encode(&mut fields);
    signature.r().encode(&mut fields);
    signature.s().encode(&mut fields);
    let txbytes = format!("0x{}", hex::encode(envelope(&fields)));
    for case in unit["post"]["Cancun"].as_array().unwrap() {
        assert_eq!(case["txbytes"], txbytes.as_str());
    }
}

/// A case without `txbytes` runs from the template fields, and is counted so.
#[test]
fn a_case_without_txbytes_runs_from_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let strip = |name: &str, source: &Path| {
        let mut file: Value =
            serde_json::from_str(&std::fs::read_to_string(source).unwrap()).unwrap();
        for unit in file.as_object_mut().unwrap().values_mut() {
            for cases in unit["post"].as_object_mut().unwrap().values_mut() {
                for case in cases.as_array_mut().unwrap() {
                    case.as_object_mut().unwrap().remove("txbytes");
                }
            }
        }
        std::fs::write(dir.path().join(name), file.to_string()).unwrap();
    };
    strip(
        "a_out_of_funds.json",
        &shared_vectors().join("ethereum-tests/GeneralStateTests/stEIP1559/outOfFunds.json"),
    );
    // The field-built type-3 create is refused for the same reason as its txbytes.
    strip("b_type3_create.json", &fixture("type3_create.json"));
    let summary = run(dir.path());
    assert_eq!(summary.txbytes.cases(), 0);
    assert_eq!((summary.fields.passed, summary.fields.failed), (5, 2));
    assert_eq!(
        summary
            .failures
            .iter()
            .map(|f| (
                f.file.file_name().unwrap().to_str().unwrap(),
                f.index,
                f.kind
            ))
            .collect::<Vec<_>>(),
        [
            ("b_type3_create.json", 1, FailureKind::UnexpectedException),
            ("b_type3_create.json", 2, FailureKind::WrongException)
        ]
    );
}
