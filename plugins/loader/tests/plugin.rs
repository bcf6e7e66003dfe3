//! The loader driven end to end with the REAL shared libraries that
//! `cargo test --workspace` builds (`libbraid_plugin_stack.so` and the test
//! libraries under `plugins/testlibs`): pinning, refusals, the kernel seam,
//! outcomes, panic containment, abort isolation, scope, cross-engine reads.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use braid_core::{
    BlockEnv, CallResult, CoreError, Engine, EngineId, Engines, FaultReason, Identity, Message,
    NoBlockHashes, Outcome, namespace,
};
use braid_kernel::{BlockState, Kernel, TransactionEffects};
use braid_plugin_loader::{PluginEngine, PluginError, load, sha256};
use braid_plugin_stack::assemble;
use braid_state::{MemoryBackend, RocksDbBackend, StateDb, StateKey, verify_proof};

const STACK: EngineId = EngineId(0x10);
const FAULTY: EngineId = EngineId(0x11);
const A: Identity = Identity([0xA; 20]);
const B: Identity = Identity([0xB; 20]);
const SENDER: Identity = Identity([1; 20]);
const ABORT_CHILD_ENV: &str = "BRAID_PLUGIN_ABORT_CHILD_DB";

/// `target/release/lib{name}.so` (or `deps/`), found from this test binary's
/// own path (`target/release/deps/plugin-*`). Panics, saying how to build
/// it, if it is missing.
fn library(name: &str) -> PathBuf {
    braid_plugin_loader::find_built_library(name).unwrap_or_else(|| {
        panic!(
            "lib{name} not found next to this test: build the workspace first \
             (`cargo test --release --workspace` builds every plugin library)"
        )
    })
}

fn digest_of(path: &PathBuf) -> [u8; 32] {
    sha256(&std::fs::read(path).unwrap())
}

/// Loads a library with its true digest.
fn load_pinned(name: &str, engine: EngineId) -> Arc<PluginEngine> {
    let path = library(name);
    Arc::new(load(&path, &digest_of(&path), engine).unwrap())
}

fn stack() -> Arc<PluginEngine> {
    load_pinned("braid_plugin_stack", STACK)
}

fn engines(list: &[Arc<PluginEngine>]) -> Engines {
    let mut engines = Engines::new();
    for e in list {
        engines.register(Arc::clone(e) as Arc<dyn Engine>);
    }
    engines
}

fn msg(target: Identity, input: Vec<u8>, gas_limit: u64) -> Message {
    Message {
        caller: SENDER,
        target,
        input,
        value: [0; 32],
        gas_limit,
    }
}

fn word(n: u64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

fn slot(key: u64) -> Vec<u8> {
    let mut k = vec![namespace::STORAGE];
    k.extend(key.to_be_bytes());
    k
}

/// Runs one transaction with `f` and commits it and the block.
fn block<T>(
    db: &mut StateDb,
    engines: &Engines,
    f: impl FnOnce(&mut Kernel<'_, '_>) -> T,
) -> (T, TransactionEffects) {
    let mut state = BlockState::new(db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, engines, &NoBlockHashes, 10_000_000);
    let out = f(&mut kernel);
    let effects = kernel.commit();
    let changes = state.into_changes();
    db.commit_block(changes, |_| vec![]).unwrap();
    (out, effects)
}

fn deploy(db: &mut StateDb, engines: &Engines, engine: EngineId, id: Identity, source: &str) {
    let code = assemble(source).unwrap();
    block(db, engines, |k| k.deploy(engine, id, &code).unwrap());
}

fn memory_db() -> StateDb {
    StateDb::open(Arc::new(MemoryBackend::new())).unwrap()
}

/// Sum of 1..=n (n = input word 0) into slot 7, logged and returned.
const SUM: &str = "
    PUSH 0              ; acc
    PUSH 0 INPUT        ; acc n
loop:
    DUP 0 ISZERO JUMPI done
    DUP 0 SWAP 1 ADD    ; n acc+n
    SWAP 0 PUSH 1 SUB   ; acc+n n-1
    JUMP loop
done:
    POP                 ; acc
    DUP 0 PUSH 7 SWAP 0 SSTORE
    DUP 0 LOG
    RETURN
";

#[test]
fn stack_plugin_runs_under_the_kernel_and_its_writes_are_provable() {
    let plugin = stack();
    assert_eq!(plugin.name(), "stack");
    assert_eq!(plugin.id(), STACK);
    assert_eq!(plugin.abi_version(), (1, 0));
    let engines = engines(&[plugin]);
    let mut db = memory_db();
    deploy(&mut db, &engines, STACK, A, SUM);

    let before = db.root();
    let (result, effects) = block(&mut db, &engines, |k| {
        k.call(STACK, msg(A, word(10), 1_000_000)).unwrap()
    });
    assert_eq!(result.outcome, Outcome::Halt { output: word(55) });
    assert!(result.gas_used > 100, "SSTORE alone costs 100 gas");
    assert_eq!(effects.gas_by_engine[&STACK], result.gas_used);
    assert_eq!(effects.logs.len(), 1);
    assert_eq!(
        (effects.logs[0].engine, effects.logs[0].identity),
        (STACK, A)
    );
    assert_eq!(effects.logs[0].data, word(55));
    assert_ne!(db.root(), before);

    // The write sits under (0x10, A, 0x01 ‖ key) and is provable.
    let key = StateKey::new(STACK, A, slot(7));
    let value = db.get(STACK, &A, &slot(7)).unwrap();
    assert_eq!(value, Some(word(55)));
    let proof = db.prove(&key).unwrap();
    verify_proof(&db.root(), &key.encode(), value.as_deref(), &proof).unwrap();
    // An absent key gets an exclusion proof.
    let absent = StateKey::new(STACK, A, slot(8));
    verify_proof(
        &db.root(),
        &absent.encode(),
        None,
        &db.prove(&absent).unwrap(),
    )
    .unwrap();

    // Same inputs, same root and gas: a second chain agrees.
    let mut db2 = memory_db();
    deploy(&mut db2, &engines, STACK, A, SUM);
    let (again, _) = block(&mut db2, &engines, |k| {
        k.call(STACK, msg(A, word(10), 1_000_000)).unwrap()
    });
    assert_eq!((again, db2.root()), (result, db.root()));
}

#[test]
fn wrong_sha256_is_refused_naming_path_and_both_digests() {
    let path = library("braid_plugin_stack");
    let actual = digest_of(&path);
    let mut pinned = actual;
    pinned[0] ^= 1;
    let err = load(&path, &pinned, STACK).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PluginError::HashMismatch { .. }), "{err:?}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    let hex = |d: &[u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(
        text.contains(&hex(&actual)) && text.contains(&hex(&pinned)),
        "{text}"
    );
}

#[test]
fn library_without_descriptor_is_refused() {
    let path = library("braid_testlib_no_descriptor");
    let err = load(&path, &digest_of(&path), STACK).unwrap_err();
    assert!(
        matches!(err, PluginError::MissingDescriptor { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("braid_plugin_descriptor"), "{text}");
}

#[test]
fn abi_major_mismatch_is_refused_naming_both_versions() {
    let path = library("braid_testlib_wrong_major");
    let err = load(&path, &digest_of(&path), STACK).unwrap_err();
    match &err {
        PluginError::AbiMajorMismatch {
            plugin_major,
            host_major,
            ..
        } => assert_eq!((*plugin_major, *host_major), (2, 1)),
        other => panic!("expected AbiMajorMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("ABI 2.0") && text.contains("speaks 1.0"),
        "{text}"
    );
}

#[test]
fn engine_ids_outside_the_plugin_range_and_missing_files_are_refused() {
    let path = library("braid_plugin_stack");
    let digest = digest_of(&path);
    for id in [0x00, 0x01, 0x03, 0x0F, 0xFF] {
        let err = load(&path, &digest, EngineId(id)).unwrap_err();
        assert!(
            matches!(err, PluginError::EngineIdOutOfRange { .. }),
            "{err:?}"
        );
    }
    let err = load(path.with_file_name("no-such-plugin.so"), &digest, STACK).unwrap_err();
    assert!(matches!(err, PluginError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-plugin.so"));
}

#[test]
fn invalid_code_is_refused_at_deploy_with_the_plugins_reason() {
    let engines = engines(&[stack()]);
    let db = memory_db();
    let mut state = BlockState::new(&db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, &engines, &NoBlockHashes, 1_000_000);
    for (source, expected) in [
        (".byte 0xEE", "unknown opcode 0xee at offset 0"),
        (
            "STOP .byte 0x01 0x00",
            "PUSH at offset 1 has a truncated immediate",
        ),
        ("JUMP 99", "targets 99"),
        ("PANIC", "unknown opcode 0xf0"),
    ] {
        let err = kernel
            .deploy(STACK, A, &assemble(source).unwrap())
            .unwrap_err();
        let CoreError::InvalidCode { engine, reason, .. } = &err else {
            panic!("expected InvalidCode, got {err:?}");
        };
        assert_eq!(*engine, STACK);
        assert!(reason.to_string().contains(expected), "{source}: {reason}");
        assert!(
            reason.to_string().contains("braid_plugin_stack"),
            "{reason}"
        );
    }
}

#[test]
fn revert_trap_and_out_of_gas_are_outcomes_and_discard_writes() {
    let engines = engines(&[stack()]);
    let mut db = memory_db();
    let programs = [
        (Identity([0x21; 20]), "PUSH 1 PUSH 9 SSTORE PUSH 3 REVERT"),
        (Identity([0x22; 20]), "PUSH 1 PUSH 9 SSTORE POP"),
        (Identity([0x23; 20]), "PUSH 1 PUSH 9 SSTORE l: JUMP l"),
    ];
    for (id, source) in &programs {
        deploy(&mut db, &engines, STACK, *id, source);
    }
    let root = db.root();
    let (results, _) = block(&mut db, &engines, |k| {
        let mut results: Vec<CallResult> = programs
            .iter()
            .map(|(id, _)| k.call(STACK, msg(*id, vec![], 10_000)).unwrap())
            .collect();
        let mut valued = msg(programs[0].0, vec![], 10_000);
        valued.value[31] = 1;
        results.push(k.call(STACK, valued).unwrap());
        results
    });
    assert_eq!(results[0].outcome, Outcome::Revert { output: word(3) });
    assert_eq!(results[1].outcome, Outcome::Fault(FaultReason::Trap));
    assert_eq!(results[2].outcome, Outcome::Fault(FaultReason::OutOfGas));
    assert_eq!(results[2].gas_used, 10_000);
    assert_eq!(
        results[3].outcome,
        Outcome::Fault(FaultReason::Trap),
        "no currency"
    );
    assert_eq!(db.root(), root, "no outcome but halt writes anything");
}

#[test]
fn panic_inside_a_call_is_contained_and_the_plugin_becomes_unusable() {
    let faulty = load_pinned("braid_testlib_faulty", FAULTY);
    assert_eq!(faulty.name(), "stack-faulty");
    let engines = engines(&[stack(), Arc::clone(&faulty)]);
    let mut db = memory_db();
    deploy(&mut db, &engines, FAULTY, A, "PUSH 1 PUSH 5 SSTORE PANIC");
    deploy(&mut db, &engines, FAULTY, B, "PUSH 1 RETURN");
    deploy(&mut db, &engines, STACK, A, SUM);
    let root = db.root();

    let mut state = BlockState::new(&db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, &engines, &NoBlockHashes, 1_000_000);
    let err = kernel.call(FAULTY, msg(A, vec![], 100_000)).unwrap_err();
    let CoreError::Engine {
        engine,
        kind,
        source,
    } = &err
    else {
        panic!("expected an internal engine error, got {err:?}");
    };
    assert_eq!(*engine, FAULTY);
    assert_eq!(*kind, braid_core::EngineFailure::Internal);
    match source.downcast_ref::<PluginError>() {
        Some(PluginError::Internal { status, .. }) => {
            assert_eq!(*status, braid_plugin_abi::status::PANIC)
        }
        other => panic!("expected PluginError::Internal, got {other:?}"),
    }
    assert!(!faulty.is_usable());
    // The block stops: the chain drops the transaction and the block.
    drop(kernel);
    assert_eq!(
        state.pending_len(),
        0,
        "nothing of the panicking call leaked"
    );
    assert_eq!(db.root(), root);

    // Unusable from now on, for calls and deploys alike; other engines go on.
    let mut state = BlockState::new(&db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, &engines, &NoBlockHashes, 1_000_000);
    let err = kernel.call(FAULTY, msg(B, vec![], 100_000)).unwrap_err();
    assert!(err.to_string().contains("unusable"), "{err}");
    let err = kernel
        .deploy(FAULTY, Identity([0x33; 20]), &assemble("STOP").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("unusable"), "{err}");
    let ok = kernel.call(STACK, msg(A, word(3), 100_000)).unwrap();
    assert_eq!(ok.outcome, Outcome::Halt { output: word(6) });
}

/// The child of [`abort_inside_a_call_leaves_the_database_intact`]: opens
/// the parent's RocksDB store, runs a block whose call aborts the process.
#[test]
fn abort_child() {
    let Ok(dir) = std::env::var(ABORT_CHILD_ENV) else {
        return;
    };
    let engines = engines(&[load_pinned("braid_testlib_faulty", FAULTY)]);
    let mut db = StateDb::open(Arc::new(RocksDbBackend::open(&dir).unwrap())).unwrap();
    block(&mut db, &engines, |k| {
        let _ = k.call(FAULTY, msg(B, vec![], 100_000));
    });
    println!("the ABORT call returned");
}

#[test]
fn abort_inside_a_call_leaves_the_database_intact() {
    let dir = tempfile::tempdir().unwrap();
    let engines = engines(&[load_pinned("braid_testlib_faulty", FAULTY)]);
    let root = {
        let mut db = StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
        deploy(&mut db, &engines, FAULTY, A, "PUSH 1 PUSH 77 SSTORE");
        deploy(&mut db, &engines, FAULTY, B, "PUSH 1 PUSH 5 SSTORE ABORT");
        block(&mut db, &engines, |k| {
            assert!(
                k.call(FAULTY, msg(A, vec![], 100_000))
                    .unwrap()
                    .outcome
                    .is_halt()
            )
        });
        db.root()
    };
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "abort_child", "--nocapture", "--test-threads=1"])
        .env(ABORT_CHILD_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the child survived ABORT: {stdout}");
    assert!(!stdout.contains("the ABORT call returned"), "{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(6),
            "SIGABRT expected: {:?}",
            out.status
        );
    }

    let db = StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
    assert_eq!(db.root(), root, "reopened at the last committed block");
    let key = StateKey::new(FAULTY, A, slot(1));
    let value = db.get(FAULTY, &A, &slot(1)).unwrap();
    assert_eq!(value, Some(word(77)));
    verify_proof(
        &root,
        &key.encode(),
        value.as_deref(),
        &db.prove(&key).unwrap(),
    )
    .unwrap();
    assert_eq!(db.get(FAULTY, &B, &slot(1)).unwrap(), None);
}

#[test]
fn a_plugin_writes_only_inside_its_own_scope() {
    let engines = engines(&[stack()]);
    let mut db = memory_db();
    // B reads A's slot 1 (cross-instance read is allowed); there is no
    // instruction, and no host function, that names another identity for
    // writing. Keys that spell out B's identity or the record key (0) still
    // land in A's storage namespace.
    let b_hex: String = B.0.iter().map(|b| format!("{b:02x}")).collect();
    let a_hex: String = A.0.iter().map(|b| format!("{b:02x}")).collect();
    deploy(
        &mut db,
        &engines,
        STACK,
        A,
        "PUSH 1 PUSH 11 SSTORE
         PUSH 0 PUSH 12 SSTORE
         PUSH 0x0b0b0b0b0b0b0b0b PUSH 13 SSTORE",
    );
    deploy(
        &mut db,
        &engines,
        STACK,
        B,
        &format!("XREAD 0x10 0x{a_hex} 0x010000000000000001 RETURN ; {b_hex}"),
    );
    let record_a = db.get(STACK, &A, &[namespace::RECORD]).unwrap();
    let record_b = db.get(STACK, &B, &[namespace::RECORD]).unwrap();

    let mut state = BlockState::new(&db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, &engines, &NoBlockHashes, 1_000_000);
    let a = kernel.call(STACK, msg(A, vec![], 100_000)).unwrap();
    let b = kernel.call(STACK, msg(B, vec![], 100_000)).unwrap();
    kernel.commit();
    let changes = state.into_changes();
    assert!(a.outcome.is_halt());
    assert_eq!(
        b.outcome,
        Outcome::Halt { output: word(11) },
        "B read A's committed slot"
    );
    assert_eq!(changes.len(), 3);
    for (key, _) in &changes {
        assert_eq!(
            (key.engine, key.identity),
            (STACK, A),
            "write outside (0x10, A): {key:?}"
        );
        assert_eq!(key.engine_key[0], namespace::STORAGE);
    }
    db.commit_block(changes, |_| vec![]).unwrap();
    assert_eq!(db.get(STACK, &A, &[namespace::RECORD]).unwrap(), record_a);
    assert_eq!(db.get(STACK, &B, &[namespace::RECORD]).unwrap(), record_b);
    assert_eq!(db.scan(STACK, &B, &[namespace::STORAGE]).unwrap(), vec![]);
}

#[test]
fn a_plugin_reads_evm_state_through_the_cross_engine_read() {
    let engines = engines(&[stack()]);
    let mut db = memory_db();
    // An EVM storage slot, written directly: (0x01, address, 0x01 ‖ slot),
    // 32-byte big-endian value (RFC 0006 layout).
    let token = Identity([0xE0; 20]);
    let mut evm_slot = vec![namespace::STORAGE];
    evm_slot.extend([0u8; 31]);
    evm_slot.push(3);
    let mut evm_value = [0u8; 32];
    evm_value[24..].copy_from_slice(&0x1234_5678u64.to_be_bytes());
    db.commit_block(
        vec![(
            StateKey::new(EngineId::EVM, token, evm_slot.clone()),
            Some(evm_value.to_vec()),
        )],
        |_| vec![],
    )
    .unwrap();

    let token_hex: String = token.0.iter().map(|b| format!("{b:02x}")).collect();
    let slot_hex: String = evm_slot.iter().map(|b| format!("{b:02x}")).collect();
    let mut missing = evm_slot.clone();
    missing[32] = 4;
    let missing_hex: String = missing.iter().map(|b| format!("{b:02x}")).collect();
    deploy(
        &mut db,
        &engines,
        STACK,
        A,
        &format!(
            "XREAD 0x01 0x{token_hex} 0x{slot_hex}     ; the EVM slot
             DUP 0 PUSH 1 SWAP 0 SSTORE              ; slot 1 := it
             XREAD 0x01 0x{token_hex} 0x{missing_hex} ; absent: 0
             ADD RETURN"
        ),
    );
    let (result, effects) = block(&mut db, &engines, |k| {
        k.call(STACK, msg(A, vec![], 100_000)).unwrap()
    });
    assert_eq!(
        result.outcome,
        Outcome::Halt {
            output: word(0x1234_5678)
        }
    );
    assert!(
        effects.gas_by_engine[&STACK] >= 100,
        "two XREADs at 50 gas each"
    );
    assert_eq!(
        db.get(STACK, &A, &slot(1)).unwrap(),
        Some(word(0x1234_5678))
    );
}

#[test]
fn the_digest_is_checked_before_the_dynamic_loader_sees_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libnot_a_plugin.so");
    std::fs::write(&path, b"not an ELF file").unwrap();
    // Wrong digest: refused as a mismatch, never opened.
    let err = load(&path, &[0; 32], STACK).unwrap_err();
    assert!(matches!(err, PluginError::HashMismatch { .. }), "{err:?}");
    // Right digest: only now does the dynamic loader refuse it.
    let err = load(&path, &digest_of(&path), STACK).unwrap_err();
    assert!(matches!(err, PluginError::Open { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn successive_loads_open_each_library_not_an_earlier_one() {
    // The loader opens libraries through `/proc/self/fd/N`; a reused N must
    // never make the dynamic loader hand back an earlier library.
    for _ in 0..3 {
        assert_eq!(stack().name(), "stack");
        let path = library("braid_testlib_wrong_major");
        let err = load(&path, &digest_of(&path), STACK).unwrap_err();
        assert!(
            matches!(err, PluginError::AbiMajorMismatch { .. }),
            "{err:?}"
        );
        assert_eq!(
            load_pinned("braid_testlib_faulty", FAULTY).name(),
            "stack-faulty"
        );
    }
}
