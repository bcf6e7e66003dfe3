//! Invalid Ethereum transactions are typed errors naming the offending values,
//! and change nothing: no nonce, no fee, no key, same root.

mod common;

use braid_evm::EvmError;
use braid_evm::revm::context::TxEnv;
use braid_evm::revm::primitives::hardfork::SpecId;
use braid_evm::revm::primitives::{Address, TxKind, U256};
use common::{Harness, eoa, ether};

fn transfer(caller: Address, to: Address, nonce: u64, value: U256) -> TxEnv {
    TxEnv {
        caller,
        kind: TxKind::Call(to),
        nonce,
        value,
        gas_limit: 21_000,
        gas_price: 1_000_000_000,
        chain_id: Some(1),
        ..TxEnv::default()
    }
}

/// Runs `tx` alone in a block and returns the error it must give, after
/// checking that the block changed nothing.
fn rejected(harness: &mut Harness, tx: TxEnv) -> EvmError {
    let root = harness.db.root();
    let keys = harness.evm_keys();
    let mut applied = harness.block(vec![tx]);
    let error = applied
        .remove(0)
        .result
        .expect_err("the transaction is invalid");
    assert_eq!(
        harness.db.root(),
        root,
        "an invalid transaction changes the root"
    );
    assert_eq!(harness.evm_keys(), keys);
    let evm = EvmError::from_core(&error)
        .unwrap_or_else(|| panic!("not an EVM error: {error}"))
        .clone();
    assert!(evm.is_invalid_transaction(), "{evm}");
    evm
}

fn setup() -> (Harness, Address, Address) {
    let sender = Address::repeat_byte(0xa1);
    let receiver = Address::repeat_byte(0xb2);
    let mut harness = Harness::new(SpecId::CANCUN);
    harness.genesis(&[(sender, eoa(ether(1))), (receiver, eoa(U256::from(5)))]);
    (harness, sender, receiver)
}

#[test]
fn wrong_nonce_names_expected_and_got() {
    let (mut harness, sender, receiver) = setup();
    let error = rejected(&mut harness, transfer(sender, receiver, 3, U256::from(1)));
    assert_eq!(
        error,
        EvmError::NonceMismatch {
            address: sender,
            expected: 0,
            got: 3
        }
    );
    assert!(
        error
            .to_string()
            .contains("has nonce 0, transaction has nonce 3"),
        "{error}"
    );
    assert_eq!(harness.account(sender).unwrap().nonce, 0);
    assert_eq!(harness.account(sender).unwrap().balance(), ether(1));

    // The right nonce then goes through, and a replay is refused.
    let applied = harness.block(vec![transfer(sender, receiver, 0, U256::from(1))]);
    assert!(applied[0].result.as_ref().unwrap().success);
    let error = rejected(&mut harness, transfer(sender, receiver, 0, U256::from(1)));
    assert_eq!(
        error,
        EvmError::NonceMismatch {
            address: sender,
            expected: 1,
            got: 0
        }
    );
}

#[test]
fn insufficient_balance_names_balance_and_cost() {
    let (mut harness, sender, receiver) = setup();
    // The receiver holds 5 wei: it can pay neither the fee nor the value.
    let error = rejected(&mut harness, transfer(receiver, sender, 0, U256::from(1)));
    let required = U256::from(21_000u64 * 1_000_000_000 + 1);
    assert_eq!(
        error,
        EvmError::InsufficientBalance {
            address: receiver,
            balance: U256::from(5),
            required
        }
    );
    assert_eq!(harness.account(receiver).unwrap().balance(), U256::from(5));
    assert_eq!(harness.account(receiver).unwrap().nonce, 0);

    // Value above the balance, fee affordable.
    let error = rejected(&mut harness, transfer(sender, receiver, 0, ether(2)));
    assert!(
        matches!(error, EvmError::InsufficientBalance { address, .. } if address == sender),
        "{error}"
    );
}

#[test]
fn gas_limit_errors_name_the_limits() {
    let (mut harness, sender, receiver) = setup();
    let block_gas_limit = harness.env.gas_limit;
    let mut tx = transfer(sender, receiver, 0, U256::ZERO);
    tx.gas_limit = block_gas_limit + 1;
    let error = rejected(&mut harness, tx);
    assert_eq!(
        error,
        EvmError::GasLimitAboveBlock {
            gas_limit: block_gas_limit + 1,
            block_gas_limit
        }
    );

    let mut tx = transfer(sender, receiver, 0, U256::ZERO);
    tx.gas_limit = 20_000;
    let error = rejected(&mut harness, tx);
    assert_eq!(
        error,
        EvmError::IntrinsicGasAboveLimit {
            intrinsic: 21_000,
            gas_limit: 20_000
        }
    );

    let mut tx = transfer(sender, receiver, 0, U256::ZERO);
    tx.gas_price = 1;
    harness.env.base_fee = 7;
    let error = rejected(&mut harness, tx);
    assert_eq!(
        error,
        EvmError::GasPriceBelowBaseFee {
            max_fee: 1,
            base_fee: 7
        }
    );

    let mut tx = transfer(sender, receiver, 0, U256::ZERO);
    tx.chain_id = Some(5);
    let error = rejected(&mut harness, tx);
    assert_eq!(
        error,
        EvmError::ChainIdMismatch {
            expected: 1,
            got: Some(5)
        }
    );
}

#[test]
fn oversized_init_code_names_its_length_and_the_limit() {
    let (mut harness, sender, _) = setup();
    let mut tx = transfer(sender, Address::ZERO, 0, U256::ZERO);
    tx.kind = TxKind::Create;
    tx.gas_limit = 10_000_000;
    tx.data = vec![0u8; 49_153].into();
    let error = rejected(&mut harness, tx);
    assert_eq!(
        error,
        EvmError::InitcodeTooLarge {
            len: 49_153,
            limit: 49_152
        }
    );
}

#[test]
fn gas_limit_above_the_kernel_budget_is_refused() {
    use braid_kernel::{BlockState, Kernel};
    let (harness, sender, receiver) = setup();
    let mut block = braid_kernel::BlockState::new(&harness.db, harness.env.clone());
    let mut kernel = Kernel::new(
        &mut block,
        &harness.engines,
        &braid_core::NoBlockHashes,
        21_000 - 1,
    );
    let error = harness
        .engine
        .invoke_transaction(&mut kernel, transfer(sender, receiver, 0, U256::ZERO))
        .unwrap_err();
    assert_eq!(
        EvmError::from_core(&error),
        Some(&EvmError::GasLimitAboveBudget {
            gas_limit: 21_000,
            budget: 20_999
        })
    );
    kernel.commit();
    assert_eq!(BlockState::pending_len(&block), 0);
}
