//! The Braid cross-engine read precompile at `0x…0B4A1D` (RFC 0006 "Braid
//! read precompile"): EVM contracts reading PVM/WASM (and EVM) storage as
//! committed, its price, and how it fails.
//!
//! A hand-written probe contract `STATICCALL`s an address with an input, both
//! taken from its calldata, measures the gas the call used with `GAS` before
//! and after, stores `success + 1` in slot 0 and returns
//! `success (32 bytes) ‖ gas used (32 bytes) ‖ return data`.

mod common;

use std::sync::Arc;

use alloy_sol_types::SolCall;
use braid_core::{CoreError, EngineId, Identity, Outcome, StateKey};
use braid_evm::READ_PRECOMPILE;
use braid_evm::layout::{self, GenesisAccount};
use braid_evm::revm::context::TxEnv;
use braid_evm::revm::primitives::hardfork::SpecId;
use braid_evm::revm::primitives::{Address, Bytes, TxKind, U256};
use braid_precompiles::read::{self, readCall, readU64Call};
use braid_state::{Backend, Column, MemoryBackend, StateDb, StateError, WriteBatch};
use common::{Harness, eoa, ether};

const SENDER: Address = Address::repeat_byte(0xa1);
const PROBE: Address = Address::repeat_byte(0xc2);
/// A PVM module with a few storage keys.
const MODULE: Identity = Identity([0x77; 20]);
/// A WASM instance with one storage key.
const WASM_INSTANCE: Identity = Identity([0x33; 20]);
/// Slot of `MODULE` read with `readU64`, and its value.
const SLOT: u64 = 5;
const SLOT_VALUE: u64 = 0x1122_3344_5566_7788;
/// A 40-byte value (two words) under `MODULE`'s key `b"hello"`.
const LONG_VALUE: [u8; 40] = {
    let mut v = [0u8; 40];
    let mut i = 0;
    while i < 40 {
        v[i] = i as u8 + 1;
        i += 1;
    }
    v
};
/// An EVM storage value of `PROBE` in genesis, slot 9.
const EVM_SLOT_VALUE: u64 = 0xabcdef;

/// `gas_used` by the `STATICCALL` = `g0 - g1 - OVERHEAD`: the eight
/// `PUSH1`/`DUP4`/`CALLDATALOAD` (3 each) between the two `GAS`, the second
/// `GAS` (2), and the warm account access of the call (100, EIP-2929).
const OVERHEAD: u8 = 24 + 2 + 100;

/// The probe. Calldata: `gas (word) ‖ address (word) ‖ input`.
fn probe_code() -> Vec<u8> {
    vec![
        0x60, 0x40, 0x36, 0x03, // len = CALLDATASIZE - 64
        0x80, 0x60, 0x40, 0x60, 0x00, 0x37, // CALLDATACOPY(0, 64, len)
        0x5a, // g0 = GAS
        0x60, 0x00, 0x60, 0x00, // retSize 0, retOffset 0
        0x83, 0x60, 0x00, // argsSize len, argsOffset 0
        0x60, 0x20, 0x35, // address = CALLDATALOAD(32)
        0x60, 0x00, 0x35, // gas = CALLDATALOAD(0)
        0xfa, // r = STATICCALL
        0x5a, // g1 = GAS
        0x81, 0x60, 0x01, 0x01, 0x60, 0x00, 0x55, // SSTORE(0, r + 1)
        0x90, 0x60, 0x00, 0x52, // MSTORE(0, r)
        0x90, 0x03, 0x60, OVERHEAD, 0x90, 0x03, // used = g0 - g1 - OVERHEAD
        0x60, 0x20, 0x52, 0x50, // MSTORE(32, used); POP len
        0x3d, 0x60, 0x00, 0x60, 0x40, 0x3e, // RETURNDATACOPY(64, 0, RETURNDATASIZE)
        0x3d, 0x60, 0x40, 0x01, 0x60, 0x00, 0xf3, // RETURN(0, 64 + RETURNDATASIZE)
    ]
}

/// What the probe saw.
#[derive(Debug)]
struct Probe {
    success: bool,
    gas_used: u64,
    output: Vec<u8>,
}

impl Probe {
    fn parse(output: &[u8]) -> Self {
        assert!(output.len() >= 64, "probe output {output:?}");
        let success = U256::from_be_slice(&output[..32]);
        assert!(success <= U256::from(1));
        Probe {
            success: success == U256::from(1),
            gas_used: U256::from_be_slice(&output[32..64]).to(),
            output: output[64..].to_vec(),
        }
    }
}

fn probe_calldata(gas: u64, target: Address, input: &[u8]) -> Vec<u8> {
    let mut data = U256::from(gas).to_be_bytes::<32>().to_vec();
    data.extend_from_slice(&[0; 12]);
    data.extend_from_slice(target.as_slice());
    data.extend_from_slice(input);
    data
}

/// A PVM/WASM storage write, as its owner engine lays it out (`0x01 ‖ key`).
fn storage_write(
    engine: EngineId,
    identity: Identity,
    key: &[u8],
    value: &[u8],
) -> (StateKey, Option<Vec<u8>>) {
    (
        StateKey::new(engine, identity, read::storage_key(key)),
        Some(value.to_vec()),
    )
}

/// The chain: the probe and a funded sender in genesis, then a block with the
/// PVM and WASM storage values.
fn setup(db: Option<StateDb>) -> Harness {
    let mut harness = Harness::new(SpecId::PRAGUE);
    if let Some(db) = db {
        harness.db = db;
    }
    let probe = GenesisAccount {
        nonce: 1,
        code: probe_code(),
        storage: vec![(U256::from(9), U256::from(EVM_SLOT_VALUE))],
        ..GenesisAccount::default()
    };
    harness.genesis(&[(SENDER, eoa(ether(1))), (PROBE, probe)]);
    let writes = vec![
        storage_write(
            EngineId::PVM,
            MODULE,
            &SLOT.to_le_bytes(),
            &SLOT_VALUE.to_le_bytes(),
        ),
        storage_write(EngineId::PVM, MODULE, b"hello", &LONG_VALUE),
        storage_write(EngineId::WASM, WASM_INSTANCE, &[9], &[1, 2, 3]),
    ];
    harness
        .db
        .commit_block(writes, |_| Vec::new())
        .expect("commit PVM storage");
    harness
}

/// Runs the probe in a Braid call.
fn probe(harness: &Harness, gas: u64, target: Address, input: &[u8]) -> Probe {
    match harness.call(SENDER, PROBE, probe_calldata(gas, target, input)) {
        Outcome::Halt { output } => Probe::parse(&output),
        other => panic!("probe did not halt: {other:?}"),
    }
}

fn read_u64_input(module: Identity, slot: u64) -> Vec<u8> {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(&module.0);
    readU64Call {
        module: word.into(),
        slot,
    }
    .abi_encode()
}

fn read_input(engine: EngineId, identity: Identity, key: &[u8]) -> Vec<u8> {
    readCall {
        engine: engine.0,
        identity: identity.0.into(),
        key: key.to_vec().into(),
    }
    .abi_encode()
}

fn decode_read(output: &[u8]) -> (bool, Vec<u8>) {
    let ret = readCall::abi_decode_returns(output).expect("read returns decode");
    (ret.found, ret.value.to_vec())
}

#[test]
fn the_gas_measurement_is_calibrated_on_the_identity_precompile() {
    // The identity precompile (0x04): 15 + 3 per word, and warm like ours.
    let harness = setup(None);
    let p = probe(&harness, 100_000, Address::with_last_byte(4), &[7; 32]);
    assert!(p.success);
    assert_eq!(p.output, [7; 32]);
    assert_eq!(p.gas_used, 18);
}

#[test]
fn read_u64_returns_the_committed_pvm_value() {
    let harness = setup(None);
    let p = probe(
        &harness,
        100_000,
        READ_PRECOMPILE,
        &read_u64_input(MODULE, SLOT),
    );
    assert!(p.success, "{p:?}");
    assert_eq!(
        readU64Call::abi_decode_returns(&p.output).unwrap(),
        SLOT_VALUE
    );
    // The base price and nothing else; the address is warm (a cold access
    // would add 2,500 to what the probe measures).
    assert_eq!(p.gas_used, read::COLD_READ_GAS);
    assert_eq!(p.gas_used, 2100);

    // An absent slot and an absent module read 0 at the same price.
    for input in [
        read_u64_input(MODULE, SLOT + 1),
        read_u64_input(Identity([0x78; 20]), SLOT),
    ] {
        let p = probe(&harness, 100_000, READ_PRECOMPILE, &input);
        assert!(p.success);
        assert_eq!(readU64Call::abi_decode_returns(&p.output).unwrap(), 0);
        assert_eq!(p.gas_used, 2100);
    }
}

#[test]
fn read_returns_found_and_exactly_the_stored_bytes() {
    let harness = setup(None);

    // 40 bytes: two words, 2,100 + 2 × 3.
    let p = probe(
        &harness,
        100_000,
        READ_PRECOMPILE,
        &read_input(EngineId::PVM, MODULE, b"hello"),
    );
    assert!(p.success, "{p:?}");
    assert_eq!(decode_read(&p.output), (true, LONG_VALUE.to_vec()));
    assert_eq!(p.gas_used, 2100 + 2 * 3);

    // The readU64 key through the general form: the raw 8 bytes.
    let p = probe(
        &harness,
        100_000,
        READ_PRECOMPILE,
        &read_input(EngineId::PVM, MODULE, &SLOT.to_le_bytes()),
    );
    assert_eq!(
        decode_read(&p.output),
        (true, SLOT_VALUE.to_le_bytes().to_vec())
    );
    assert_eq!(p.gas_used, 2100 + 3);

    // WASM storage.
    let p = probe(
        &harness,
        100_000,
        READ_PRECOMPILE,
        &read_input(EngineId::WASM, WASM_INSTANCE, &[9]),
    );
    assert_eq!(decode_read(&p.output), (true, vec![1, 2, 3]));
    assert_eq!(p.gas_used, 2100 + 3);

    // EVM storage: the slot as 32 big-endian bytes, the value as stored.
    let p = probe(
        &harness,
        100_000,
        READ_PRECOMPILE,
        &read_input(
            EngineId::EVM,
            layout::identity(PROBE),
            &U256::from(9).to_be_bytes::<32>(),
        ),
    );
    assert_eq!(
        decode_read(&p.output),
        (
            true,
            U256::from(EVM_SLOT_VALUE).to_be_bytes::<32>().to_vec()
        )
    );
    assert_eq!(p.gas_used, 2100 + 3);

    // Absent: found = false, no bytes, the base price.
    for input in [
        read_input(EngineId::PVM, MODULE, b"absent"),
        read_input(EngineId::PVM, MODULE, b""),
        read_input(EngineId::WASM, MODULE, b"hello"),
        read_input(EngineId(0x42), MODULE, b"hello"),
    ] {
        let p = probe(&harness, 100_000, READ_PRECOMPILE, &input);
        assert!(p.success, "{p:?}");
        assert_eq!(decode_read(&p.output), (false, Vec::new()));
        assert_eq!(p.gas_used, 2100);
    }
}

#[test]
fn garbage_input_fails_the_call_and_consumes_its_gas() {
    let harness = setup(None);
    let mut truncated = read_input(EngineId::PVM, MODULE, b"hello");
    truncated.truncate(40);
    let mut bad_selector = read_u64_input(MODULE, SLOT);
    bad_selector[0] ^= 1;
    for input in [Vec::new(), vec![1, 2, 3], bad_selector, truncated] {
        let p = probe(&harness, 50_000, READ_PRECOMPILE, &input);
        assert!(!p.success, "{input:?} -> {p:?}");
        assert!(p.output.is_empty());
        assert_eq!(
            p.gas_used, 50_000,
            "a failed precompile call uses all its gas"
        );
    }
}

#[test]
fn too_little_gas_fails_the_call() {
    let harness = setup(None);
    let p = probe(
        &harness,
        2099,
        READ_PRECOMPILE,
        &read_u64_input(MODULE, SLOT),
    );
    assert!(!p.success);
    assert_eq!(p.gas_used, 2099);
    let p = probe(
        &harness,
        2100,
        READ_PRECOMPILE,
        &read_u64_input(MODULE, SLOT),
    );
    assert!(p.success);

    // The per-word part counts too: 2,106 for the 40-byte value.
    let input = read_input(EngineId::PVM, MODULE, b"hello");
    let p = probe(&harness, 2105, READ_PRECOMPILE, &input);
    assert!(!p.success);
    assert_eq!(p.gas_used, 2105);
    let p = probe(&harness, 2106, READ_PRECOMPILE, &input);
    assert!(p.success);
    assert_eq!(p.gas_used, 2106);
}

fn tx(nonce: u64, to: Address, data: Vec<u8>) -> TxEnv {
    TxEnv {
        caller: SENDER,
        kind: TxKind::Call(to),
        nonce,
        data: Bytes::from(data),
        gas_limit: 1_000_000,
        gas_price: 1_000_000_000,
        chain_id: Some(1),
        ..TxEnv::default()
    }
}

#[test]
fn in_a_transaction_a_failed_read_does_not_break_it() {
    let mut harness = setup(None);
    let applied = harness.block(vec![
        tx(
            0,
            PROBE,
            probe_calldata(50_000, READ_PRECOMPILE, &[0xde, 0xad]),
        ),
        tx(
            1,
            PROBE,
            probe_calldata(100_000, READ_PRECOMPILE, &read_u64_input(MODULE, SLOT)),
        ),
    ]);
    let failed = applied[0].result.as_ref().expect("valid transaction");
    assert!(failed.success, "{failed:?}");
    assert!(!Probe::parse(&failed.output).success);
    let ok = applied[1].result.as_ref().expect("valid transaction");
    assert!(ok.success, "{ok:?}");
    let p = Probe::parse(&ok.output);
    assert!(p.success);
    assert_eq!(
        readU64Call::abi_decode_returns(&p.output).unwrap(),
        SLOT_VALUE
    );
    // The probe's SSTORE(0, success + 1) of the last transaction.
    assert_eq!(harness.storage(PROBE, U256::ZERO), U256::from(2));
}

#[test]
fn a_transaction_or_braid_call_straight_to_the_precompile() {
    let mut harness = setup(None);
    let input = read_u64_input(MODULE, SLOT);
    let expected = readU64Call::abi_encode_returns(&SLOT_VALUE);
    assert_eq!(
        harness.call(SENDER, READ_PRECOMPILE, input.clone()),
        Outcome::Halt {
            output: expected.clone()
        }
    );
    let applied = harness.block(vec![
        tx(0, READ_PRECOMPILE, input),
        tx(1, READ_PRECOMPILE, vec![1]),
    ]);
    let ok = applied[0].result.as_ref().expect("valid transaction");
    assert!(ok.success);
    assert_eq!(ok.output.to_vec(), expected);
    let bad = applied[1].result.as_ref().expect("valid transaction");
    assert!(!bad.success, "{bad:?}");
    assert_eq!(
        bad.gas_used, 1_000_000,
        "a failed precompile uses all the gas"
    );
}

#[test]
fn reads_see_committed_state_only() {
    // A block writes the PVM value; a read in a later block sees the new one.
    let mut harness = setup(None);
    harness
        .db
        .commit_block(
            vec![storage_write(
                EngineId::PVM,
                MODULE,
                &SLOT.to_le_bytes(),
                &7u64.to_le_bytes(),
            )],
            |_| Vec::new(),
        )
        .unwrap();
    let p = probe(
        &harness,
        100_000,
        READ_PRECOMPILE,
        &read_u64_input(MODULE, SLOT),
    );
    assert_eq!(readU64Call::abi_decode_returns(&p.output).unwrap(), 7);

    // Slot 0 of the probe was never committed.
    let slot0 = U256::ZERO.to_be_bytes::<32>();
    let read_slot0 = read_input(EngineId::EVM, layout::identity(PROBE), &slot0);
    let p = probe(&harness, 100_000, READ_PRECOMPILE, &read_slot0);
    assert_eq!(decode_read(&p.output), (false, Vec::new()));
    // A transaction's SSTORE(0, 1) (its call failed on the empty input) is
    // committed into the block when it ends: the next transaction of the
    // same block reads it.
    let applied = harness.block(vec![
        tx(0, PROBE, probe_calldata(100_000, READ_PRECOMPILE, &[])),
        tx(
            1,
            PROBE,
            probe_calldata(100_000, READ_PRECOMPILE, &read_slot0),
        ),
    ]);
    let out = applied[1].result.as_ref().expect("valid transaction");
    let p = Probe::parse(&out.output);
    assert_eq!(
        decode_read(&p.output),
        (true, U256::from(1).to_be_bytes::<32>().to_vec())
    );
}

/// A memory backend whose reads of one `(engine, identity)` fail.
struct Poisoned {
    inner: MemoryBackend,
    prefix: Vec<u8>,
}

impl Backend for Poisoned {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if column == Column::State && key.starts_with(&self.prefix) {
            return Err(StateError::Backend {
                context: "test read".into(),
                message: "poisoned".into(),
            });
        }
        self.inner.get(column, key)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        self.inner.write(batch)
    }

    fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StateError> {
        self.inner.scan_prefix(column, prefix)
    }
}

#[test]
fn a_host_failure_stops_the_transaction() {
    let poisoned = Identity([0xee; 20]);
    let mut prefix = vec![EngineId::PVM.0];
    prefix.extend_from_slice(&poisoned.0);
    let db = StateDb::open(Arc::new(Poisoned {
        inner: MemoryBackend::new(),
        prefix,
    }))
    .unwrap();
    let mut harness = setup(Some(db));
    let applied = harness.block(vec![
        // Nested in the probe, and straight to the precompile.
        tx(
            0,
            PROBE,
            probe_calldata(100_000, READ_PRECOMPILE, &read_u64_input(poisoned, 1)),
        ),
        tx(
            0,
            READ_PRECOMPILE,
            read_input(EngineId::PVM, poisoned, b"k"),
        ),
    ]);
    for a in &applied {
        match &a.result {
            Err(CoreError::State(source)) => match source.downcast_ref::<StateError>() {
                Some(StateError::Backend { message, .. }) => assert_eq!(message, "poisoned"),
                other => panic!("expected the backend failure, got {other:?}"),
            },
            other => panic!("expected the backend failure, got {other:?}"),
        }
    }
    // Nothing was written: the sender's nonce is still 0.
    assert_eq!(harness.account(SENDER).unwrap().nonce, 0);
}
