//! Every transaction is bounded and paid for (RFC 0009): Braid transactions
//! count against the block's gas budget, pay EIP-1559 fees from the sender's
//! EVM balance, and an infinite loop on any engine ends out of gas within
//! the largest gas limit a block allows.

use std::sync::Arc;
use std::time::Instant;

use alloy_primitives::{Address, U256};
use braid_chain::fee::{BRAID_TX_BASE_GAS, intrinsic_gas};
use braid_chain::tx::{BraidCall, BraidTransaction, braid_sender};
use braid_chain::{Block, Chain, ChainError, ChainSpec, GenesisModule, RawTransaction, TxError};
use braid_core::{EngineId, Identity, module_identity};
use braid_evm::layout::{ACCOUNT_RECORD_KEY, AccountRecord};
use braid_pvm::{ProgramBlob, StandardProgram};
use braid_state::MemoryBackend;
use ed25519_dalek::SigningKey;
use parity_scale_codec::Encode;

const CHAIN_ID: u64 = 77;
const BASE_FEE: u64 = 10;
const BLOCK_GAS: u64 = 30_000_000;
const COINBASE: &str = "0xc0ffee0000000000000000000000000000c0ffee";
/// 10 ether: enough for a full block's gas at the test prices.
const RICH: u128 = 10_000_000_000_000_000_000;
/// Enough for 21,000 gas at the base fee, not for a block's worth.
const POOR: u128 = 1_000_000;

fn rich_key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

fn poor_key() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

fn address_of(key: &SigningKey) -> Identity {
    braid_sender(&key.verifying_key().to_bytes())
}

/// A PVM standard program whose entry is `jump 0`: it never halts.
fn pvm_loop() -> Vec<u8> {
    StandardProgram {
        ro_data: vec![],
        rw_data: vec![],
        heap_pages: 0,
        stack_size: 4096,
        blob: ProgramBlob {
            jump_table: vec![],
            code: vec![40, 0],
            bitmask: vec![0b01],
        },
    }
    .encode()
}

/// A WASM module whose `call` loops forever.
fn wasm_loop() -> Vec<u8> {
    wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "call") (result i64) (loop $l (br $l)) (i64.const 0)))"#,
    )
    .unwrap()
}

fn spec() -> ChainSpec {
    let text = format!(
        r#"
[chain]
name = "fees"
chain_id = {CHAIN_ID}
evm_spec = "prague"
block_gas_limit = {BLOCK_GAS}
base_fee = {BASE_FEE}

[genesis]
timestamp = 1
coinbase = "{COINBASE}"

[genesis.alloc]
"{rich}" = {{ balance = "{RICH}" }}
"{poor}" = {{ balance = "{POOR}" }}
"#,
        rich = address_of(&rich_key()),
        poor = address_of(&poor_key()),
    );
    let mut spec = ChainSpec::parse(&text).unwrap();
    for (engine, name, code) in [
        (EngineId::PVM, "pvm-loop", pvm_loop()),
        (EngineId::WASM, "wasm-loop", wasm_loop()),
    ] {
        spec.modules.push(GenesisModule {
            engine,
            name: name.into(),
            version: 1,
            path: name.into(),
            code,
        });
    }
    spec
}

fn chain() -> Chain {
    Chain::open(spec(), Arc::new(MemoryBackend::new())).unwrap()
}

fn balance(chain: &Chain, who: Identity) -> U256 {
    chain
        .db()
        .get(EngineId::EVM, &who, &ACCOUNT_RECORD_KEY)
        .unwrap()
        .map_or(U256::ZERO, |r| {
            AccountRecord::from_bytes(&r).unwrap().balance()
        })
}

fn coinbase() -> Identity {
    Identity(COINBASE.parse::<Address>().unwrap().0.0)
}

struct Tx {
    key: SigningKey,
    nonce: u64,
    gas_limit: u64,
    max_fee: u128,
    tip: u128,
    calls: Vec<BraidCall>,
}

impl Tx {
    fn new(key: SigningKey, nonce: u64, gas_limit: u64, calls: Vec<BraidCall>) -> Tx {
        Tx {
            key,
            nonce,
            gas_limit,
            max_fee: 2 * u128::from(BASE_FEE),
            tip: 3,
            calls,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        BraidTransaction {
            chain_id: CHAIN_ID,
            nonce: self.nonce,
            gas_limit: self.gas_limit,
            max_fee_per_gas: self.max_fee,
            max_priority_fee_per_gas: self.tip,
            calls: self.calls.clone(),
        }
        .sign(&self.key)
        .encode()
    }

    fn raw(&self) -> RawTransaction {
        RawTransaction::Braid(self.bytes())
    }
}

fn call(engine: EngineId, name: &str) -> BraidCall {
    BraidCall::Call {
        engine: engine.0,
        target: module_identity(CHAIN_ID, name.as_bytes(), 1).0,
        input: vec![],
        value: [0; 32],
    }
}

fn block(number: u64, txs: Vec<RawTransaction>) -> Block {
    Block {
        number,
        timestamp: 1 + number,
        transactions: txs,
    }
}

/// The block is refused with this transaction error and nothing changed.
fn refused(chain: &mut Chain, txs: Vec<RawTransaction>) -> TxError {
    let root = chain.head().state_root;
    let number = chain.head().number + 1;
    let err = chain.apply_block(&block(number, txs)).unwrap_err();
    assert_eq!(
        chain.head().state_root,
        root,
        "a refused block changed the state"
    );
    assert_eq!(chain.head().number, number - 1);
    match err {
        ChainError::InvalidTransaction { reason, .. } => reason,
        other => panic!("expected an invalid transaction, got {other}"),
    }
}

#[test]
fn a_gas_limit_of_u64_max_is_refused_naming_both_numbers() {
    let mut chain = chain();
    let tx = Tx::new(
        rich_key(),
        0,
        u64::MAX,
        vec![call(EngineId::PVM, "pvm-loop")],
    );
    let reason = refused(&mut chain, vec![tx.raw()]);
    assert!(
        matches!(
            reason,
            TxError::BlockGasExceeded {
                gas_limit: u64::MAX,
                left: BLOCK_GAS
            }
        ),
        "{reason}"
    );
    let text = reason.to_string();
    assert!(
        text.contains(&u64::MAX.to_string()) && text.contains(&BLOCK_GAS.to_string()),
        "{text}"
    );
}

#[test]
fn a_gas_limit_above_the_blocks_remaining_gas_is_refused() {
    let mut chain = chain();
    // The first transaction burns its whole limit (a loop), leaving
    // BLOCK_GAS - 20M; the second asks for 20M.
    let first = Tx::new(
        rich_key(),
        0,
        20_000_000,
        vec![call(EngineId::PVM, "pvm-loop")],
    );
    let second = Tx::new(
        rich_key(),
        1,
        20_000_000,
        vec![call(EngineId::PVM, "pvm-loop")],
    );
    let reason = refused(&mut chain, vec![first.raw(), second.raw()]);
    assert!(
        matches!(
            reason,
            TxError::BlockGasExceeded {
                gas_limit: 20_000_000,
                left: 10_000_000
            }
        ),
        "{reason}"
    );
    // Each alone fits.
    chain.apply_block(&block(1, vec![first.raw()])).unwrap();
}

#[test]
fn infinite_loops_end_out_of_gas_at_the_largest_gas_limit_and_the_block_applies() {
    for (engine, name) in [(EngineId::PVM, "pvm-loop"), (EngineId::WASM, "wasm-loop")] {
        let mut chain = chain();
        let tx = Tx::new(rich_key(), 0, BLOCK_GAS, vec![call(engine, name)]);
        let start = Instant::now();
        let report = chain.apply_block(&block(1, vec![tx.raw()])).unwrap();
        let took = start.elapsed();
        let receipt = &report.receipts[0];
        assert!(!receipt.success, "{name}: a loop cannot halt");
        assert_eq!(
            receipt.gas_used, BLOCK_GAS,
            "{name}: out of gas uses everything"
        );
        assert_eq!(chain.head().number, 1);
        // Printed, never asserted (timings are not test material).
        println!("{name}: {BLOCK_GAS} gas of looping took {took:?}");
    }
}

#[test]
fn a_sender_without_the_balance_for_gas_limit_times_max_fee_is_refused() {
    let mut chain = chain();
    let tx = Tx::new(
        poor_key(),
        0,
        100_000,
        vec![call(EngineId::PVM, "pvm-loop")],
    );
    let reason = refused(&mut chain, vec![tx.raw()]);
    let TxError::InsufficientFunds {
        sender,
        balance,
        required,
    } = reason
    else {
        panic!("expected insufficient funds, got {reason}");
    };
    assert_eq!(sender, address_of(&poor_key()));
    assert_eq!(balance, U256::from(POOR));
    assert_eq!(required, U256::from(100_000u128 * 2 * u128::from(BASE_FEE)));
}

#[test]
fn a_max_fee_below_the_base_fee_and_a_limit_below_the_intrinsic_gas_are_refused() {
    let mut chain = chain();
    let mut cheap = Tx::new(
        rich_key(),
        0,
        100_000,
        vec![call(EngineId::PVM, "pvm-loop")],
    );
    cheap.max_fee = u128::from(BASE_FEE) - 1;
    cheap.tip = 0;
    let reason = refused(&mut chain, vec![cheap.raw()]);
    assert!(
        matches!(reason, TxError::MaxFeeBelowBaseFee { .. }),
        "{reason}"
    );

    let short = Tx::new(
        rich_key(),
        0,
        BRAID_TX_BASE_GAS,
        vec![call(EngineId::PVM, "pvm-loop")],
    );
    let reason = refused(&mut chain, vec![short.raw()]);
    assert!(
        matches!(reason, TxError::IntrinsicGasAboveLimit { gas_limit: BRAID_TX_BASE_GAS, intrinsic } if intrinsic == intrinsic_gas(short.bytes().len())),
        "{reason}"
    );
}

#[test]
fn fees_move_as_the_rfc_says() {
    let mut chain = chain();
    let sender = address_of(&rich_key());
    let before = balance(&chain, sender);
    let coinbase_before = balance(&chain, coinbase());
    // A loop with 1M gas: fails, uses it all, and pays for it all.
    let looping = Tx::new(
        rich_key(),
        0,
        1_000_000,
        vec![call(EngineId::PVM, "pvm-loop")],
    );
    // A deploy that succeeds: pays only its intrinsic gas, the rest is refunded.
    let deploy = Tx::new(
        rich_key(),
        1,
        1_000_000,
        vec![BraidCall::Deploy {
            engine: EngineId::PVM.0,
            name: b"another".to_vec(),
            version: 1,
            code: pvm_loop(),
        }],
    );
    let report = chain
        .apply_block(&block(1, vec![looping.raw(), deploy.raw()]))
        .unwrap();
    let [failed, deployed] = &report.receipts[..] else {
        panic!("two receipts");
    };
    assert!(!failed.success && deployed.success);
    assert_eq!(failed.gas_used, 1_000_000);
    assert_eq!(deployed.gas_used, intrinsic_gas(deploy.bytes().len()));
    // max fee 20, base fee 10, tip 3: the effective price is 13, 3 of it to the coinbase.
    assert_eq!(failed.effective_gas_price, 13);
    let used = u128::from(failed.gas_used + deployed.gas_used);
    assert_eq!(balance(&chain, sender), before - U256::from(used * 13));
    assert_eq!(
        balance(&chain, coinbase()),
        coinbase_before + U256::from(used * 3)
    );
    assert_eq!(report.header.gas_used, failed.gas_used + deployed.gas_used);
}
