//! The PVM and WASM corpus through its library entry points: the engine's
//! deploy check (`Engine::validate`, which the kernel's deploy calls) must
//! refuse each case with `CoreError::InvalidCode` naming the offending
//! value, and a Braid `Deploy` of it through `Chain::apply_block` must fail
//! the transaction (a deterministic outcome: the block is applied, the
//! sender pays) without creating the instance or storing the code.

use std::sync::Arc;

use braid_badinput::keys::{FUNDED, base_spec, braid_raw, braid_transaction};
use braid_badinput::{Case, cases};
use braid_chain::tx::BraidCall;
use braid_chain::{Block, Chain};
use braid_core::{CoreError, Engine, EngineId, StateKey, keccak256, module_identity, namespace};
use braid_pvm::{PvmEngine, PvmSpec};
use braid_state::MemoryBackend;
use braid_wasm::WasmEngine;

fn deploy_refused(parser: &str, engine_id: EngineId, engine: &dyn Engine) {
    let spec = base_spec();
    let mut chain = Chain::open(spec.clone(), Arc::new(MemoryBackend::new())).unwrap();
    for (nonce, case) in cases(parser).into_iter().enumerate() {
        let code = std::fs::read(case.path()).unwrap();
        check_validate(&case, engine_id, engine, &code);

        let name = format!("case-{nonce}").into_bytes();
        let identity = module_identity(spec.chain_id, &name, 1);
        let deploy = BraidCall::Deploy {
            engine: engine_id.0,
            name,
            version: 1,
            code: code.clone(),
        };
        let tx = braid_transaction(&spec, nonce as u64, vec![deploy], 5_000_000);
        let number = chain.head().number + 1;
        let block = Block {
            number,
            timestamp: spec.genesis_timestamp + 12 * number,
            transactions: vec![braid_raw(tx, FUNDED)],
        };
        let instances = chain.db().scan_engine(engine_id).unwrap();
        let report = chain
            .apply_block(&block)
            .unwrap_or_else(|e| panic!("{case}: the block was refused: {e}"));
        assert!(!report.receipts[0].success, "{case}: the deploy succeeded");
        let record = chain
            .db()
            .get(engine_id, &identity, &[namespace::RECORD])
            .unwrap();
        assert_eq!(record, None, "{case}: an instance record was written");
        let code_key = StateKey::code(&keccak256(&code));
        let stored = chain
            .db()
            .get(code_key.engine, &code_key.identity, &code_key.engine_key)
            .unwrap();
        assert_eq!(stored, None, "{case}: the code was stored");
        assert_eq!(
            chain.db().scan_engine(engine_id).unwrap(),
            instances,
            "{case}: the engine's state changed"
        );
    }
}

/// The deploy check refuses `code` as invalid code of `engine_id`, naming
/// what `case` says.
fn check_validate(case: &Case, engine_id: EngineId, engine: &dyn Engine, code: &[u8]) {
    let err = engine
        .validate(code)
        .map(|()| panic!("{case}: the engine accepts it"))
        .unwrap_err();
    let CoreError::InvalidCode {
        engine: refused, ..
    } = &err
    else {
        panic!("{case}: not an invalid-code refusal: {err:?}");
    };
    assert_eq!(*refused, engine_id, "{case}");
    case.assert_named(&err.to_string(), &[]);
}

#[test]
fn pvm_corpus_is_refused_at_deploy_and_changes_nothing() {
    deploy_refused("pvm", EngineId::PVM, &PvmEngine::new(PvmSpec::Gp0_7_2));
}

#[test]
fn wasm_corpus_is_refused_at_deploy_and_changes_nothing() {
    let wasm = WasmEngine::new().unwrap();
    deploy_refused("wasm", EngineId::WASM, &wasm);
}
