//! The cross-engine read suite is differential before it is a benchmark:
//! every reader, for every owner, gets exactly the bytes the owner engine
//! holds (and reads natively), through Braid's real contracts.

use braid_benches::cross_engine::{Params, Side, World, wasm_engine};

#[test]
fn every_cross_engine_read_returns_what_the_owner_reads_natively() {
    let world = World::new(wasm_engine());
    assert_eq!(world.sides().len(), 3, "EVM, PVM and WASM");
    world.check();
}

#[test]
fn the_suite_measures_all_six_pairs_and_the_token_workload() {
    let world = World::new(wasm_engine());
    let rows = world.run(Params {
        warm_reads: 10,
        repetitions: 1,
    });
    assert_eq!(rows.len(), 6);
    let params = Params {
        warm_reads: 10,
        repetitions: 1,
    };
    // Both EVM baselines run their real calls (the getter checks its value).
    assert!(world.evm_precompile_floor(params).is_finite());
    assert!(world.evm_getter_read(params).is_finite());
    let token = world.token_workload(3).expect("the WASM token runs");
    assert!(token.local_gas > 0 && token.remote_gas > 0);
    let svg = tempfile::NamedTempFile::new().unwrap();
    braid_benches::cross_engine::chart(&rows, svg.path()).unwrap();
    let text = std::fs::read_to_string(svg.path()).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("WASM→PVM"),
        "{}",
        &text[..200]
    );
}

#[test]
fn both_sides_of_the_token_workload_do_the_same_writes() {
    let world = World::new(wasm_engine());
    let (local, remote) = world.token_transfer_writes().expect("the WASM token runs");
    assert_eq!(
        local.len(),
        3,
        "spent, the caller's and the holder's balance: {local:?}"
    );
    assert_eq!(local, remote);
}

#[test]
fn on_the_recompiler_every_pvm_read_returns_the_same_bytes() {
    let backend = braid_pvm::Backend::Compiler;
    if !backend.is_available() {
        eprintln!("the recompiler does not run here: nothing to check");
        return;
    }
    let world = World::with_pvm_backend(wasm_engine(), backend);
    assert_eq!(world.pvm_backend(), backend);
    world.check();
    let rows = world.run_pvm_pairs(Params {
        warm_reads: 10,
        repetitions: 1,
    });
    let pairs: Vec<_> = rows.iter().map(|r| (r.reader, r.owner)).collect();
    assert_eq!(
        pairs,
        [
            (Side::Evm, Side::Pvm),
            (Side::Pvm, Side::Evm),
            (Side::Pvm, Side::Wasm),
            (Side::Wasm, Side::Pvm),
        ]
    );
}
