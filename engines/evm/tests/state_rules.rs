//! revm `State` commit semantics on Braid's keys: EIP-161 removal of touched
//! empty accounts, SELFDESTRUCT deleting an account with its storage (before
//! Cancun, and for accounts created in the same transaction from Cancun on,
//! EIP-6780), and a re-created account's old storage wiped.

mod common;

use braid_core::Outcome;
use braid_evm::layout::GenesisAccount;
use braid_evm::revm::context::TxEnv;
use braid_evm::revm::primitives::hardfork::SpecId;
use braid_evm::revm::primitives::{Address, B256, Bytes, KECCAK_EMPTY, TxKind, U256, keccak256};
use common::{Harness, eoa, ether};

/// `CALLER SELFDESTRUCT`.
const SELFDESTRUCT_TO_CALLER: &[u8] = &[0x33, 0xff];

/// Runtime code of a CREATE2 factory: copies the calldata (init code) to
/// memory, `CREATE2(value 0, salt 0)`, returns the new address as a word.
const FACTORY: &[u8] = &[
    0x36, 0x60, 0x00, 0x60, 0x00, 0x37, // CALLDATACOPY(0, 0, CALLDATASIZE)
    0x60, 0x00, 0x36, 0x60, 0x00, 0x60, 0x00, 0xf5, // CREATE2(0, 0, CALLDATASIZE, 0)
    0x60, 0x00, 0x52, // MSTORE(0, address)
    0x60, 0x20, 0x60, 0x00, 0xf3, // RETURN(0, 32)
];

/// Init code: `SSTORE(3, 0x33)`, then deploys the one-byte runtime `STOP`.
const INIT_STORE_SLOT_3: &[u8] = &[0x60, 0x33, 0x60, 0x03, 0x55, 0x60, 0x01, 0x60, 0x00, 0xf3];

/// Init code: `SSTORE(1, 0x11)`, then `SELFDESTRUCT(CALLER)` inside the constructor.
const INIT_STORE_THEN_SELFDESTRUCT: &[u8] = &[0x60, 0x11, 0x60, 0x01, 0x55, 0x33, 0xff];

const SENDER: Address = Address::repeat_byte(0xa1);

fn call(nonce: u64, to: Address, data: &[u8], value: U256) -> TxEnv {
    TxEnv {
        caller: SENDER,
        kind: TxKind::Call(to),
        nonce,
        value,
        data: Bytes::copy_from_slice(data),
        gas_limit: 1_000_000,
        gas_price: 1_000_000_000,
        chain_id: Some(1),
        ..TxEnv::default()
    }
}

fn run_ok(harness: &mut Harness, tx: TxEnv) -> braid_evm::EvmTransactOutcome {
    let mut applied = harness.block(vec![tx]);
    let outcome = applied.remove(0).result.expect("valid transaction");
    assert!(outcome.success, "{outcome:?}");
    outcome
}

fn contract(code: &[u8], storage: &[(u64, u64)], balance: U256) -> GenesisAccount {
    GenesisAccount {
        nonce: 1,
        balance,
        code: code.to_vec(),
        storage: storage
            .iter()
            .map(|(k, v)| (U256::from(*k), U256::from(*v)))
            .collect(),
    }
}

fn create2_address(factory: Address, init: &[u8]) -> Address {
    factory.create2(B256::ZERO, keccak256(init))
}

#[test]
fn touched_empty_accounts_are_removed_and_absent_ones_not_created() {
    let empty = Address::repeat_byte(0xe0);
    let absent = Address::repeat_byte(0xe1);
    let mut harness = Harness::new(SpecId::CANCUN);
    harness.genesis(&[(SENDER, eoa(ether(1))), (empty, GenesisAccount::default())]);
    assert!(
        harness.account(empty).is_some(),
        "genesis keeps an empty account"
    );

    run_ok(&mut harness, call(0, empty, &[], U256::ZERO));
    assert_eq!(
        harness.account(empty),
        None,
        "EIP-161: a touched empty account is deleted"
    );

    run_ok(&mut harness, call(1, absent, &[], U256::ZERO));
    assert_eq!(
        harness.account(absent),
        None,
        "a zero-value call creates no account"
    );

    run_ok(&mut harness, call(2, absent, &[], U256::from(9)));
    let record = harness.account(absent).expect("value creates the account");
    assert_eq!(
        (record.nonce, record.balance(), record.code_hash()),
        (0, U256::from(9), KECCAK_EMPTY)
    );
}

#[test]
fn empty_account_with_storage_loses_it_when_touched() {
    let empty = Address::repeat_byte(0xe2);
    let mut harness = Harness::new(SpecId::CANCUN);
    let with_storage = GenesisAccount {
        storage: vec![(U256::from(1), U256::from(2))],
        ..GenesisAccount::default()
    };
    harness.genesis(&[(SENDER, eoa(ether(1))), (empty, with_storage)]);
    run_ok(&mut harness, call(0, empty, &[], U256::ZERO));
    assert_eq!(harness.account(empty), None);
    assert!(
        harness.storage_slots(empty).is_empty(),
        "storage goes with the account"
    );
}

#[test]
fn selfdestruct_before_cancun_deletes_account_and_storage() {
    let victim = Address::repeat_byte(0xd0);
    let mut harness = Harness::new(SpecId::SHANGHAI);
    harness.genesis(&[
        (SENDER, eoa(ether(1))),
        (
            victim,
            contract(
                SELFDESTRUCT_TO_CALLER,
                &[(1, 0x11), (2, 0x22)],
                U256::from(5),
            ),
        ),
    ]);
    assert_eq!(harness.storage_slots(victim).len(), 2);
    let before = harness.account(SENDER).unwrap().balance();

    let outcome = run_ok(&mut harness, call(0, victim, &[], U256::ZERO));
    assert_eq!(harness.account(victim), None, "the account is gone");
    assert!(
        harness.storage_slots(victim).is_empty(),
        "with all its storage"
    );
    let fee = U256::from(outcome.gas_used) * U256::from(1_000_000_000u64);
    assert_eq!(
        harness.account(SENDER).unwrap().balance(),
        before - fee + U256::from(5),
        "balance moved to the caller"
    );
}

#[test]
fn selfdestruct_from_cancun_keeps_an_old_account() {
    let victim = Address::repeat_byte(0xd1);
    let mut harness = Harness::new(SpecId::CANCUN);
    harness.genesis(&[
        (SENDER, eoa(ether(1))),
        (
            victim,
            contract(SELFDESTRUCT_TO_CALLER, &[(1, 0x11)], U256::from(5)),
        ),
    ]);
    run_ok(&mut harness, call(0, victim, &[], U256::ZERO));
    let record = harness
        .account(victim)
        .expect("EIP-6780: the account stays");
    assert_eq!(record.balance(), U256::ZERO, "only its balance moves");
    assert_eq!(record.code_hash(), keccak256(SELFDESTRUCT_TO_CALLER));
    assert_eq!(
        harness.storage_slots(victim),
        vec![(U256::from(1), U256::from(0x11))]
    );
}

#[test]
fn selfdestruct_in_the_creating_transaction_leaves_nothing() {
    let factory = Address::repeat_byte(0xfa);
    let mut harness = Harness::new(SpecId::CANCUN);
    harness.genesis(&[
        (SENDER, eoa(ether(1))),
        (factory, contract(FACTORY, &[], U256::ZERO)),
    ]);
    // Base fee = gas price: no priority fee, so the coinbase gets no record either.
    harness.env.base_fee = 1_000_000_000;
    let child = create2_address(factory, INIT_STORE_THEN_SELFDESTRUCT);
    let keys = harness.evm_keys();

    let outcome = run_ok(
        &mut harness,
        call(0, factory, INIT_STORE_THEN_SELFDESTRUCT, U256::ZERO),
    );
    assert_eq!(
        outcome.output.as_ref(),
        B256::left_padding_from(child.as_slice()).as_slice()
    );
    assert_eq!(
        harness.account(child),
        None,
        "created and destroyed in one transaction"
    );
    assert!(harness.storage_slots(child).is_empty());
    // Only the sender's and the factory's records changed (factory nonce bump); no new key.
    assert_eq!(harness.evm_keys(), keys);
    assert_eq!(harness.account(factory).unwrap().nonce, 2);
}

#[test]
fn recreated_account_has_its_old_storage_wiped() {
    let factory = Address::repeat_byte(0xfb);
    let target = create2_address(factory, INIT_STORE_SLOT_3);
    let mut harness = Harness::new(SpecId::CANCUN);
    // The CREATE2 target already holds storage but no code and nonce 0, so
    // revm creates over it; its old slots must not survive.
    let leftover = GenesisAccount {
        balance: U256::from(3),
        storage: vec![
            (U256::from(1), U256::from(0x11)),
            (U256::from(3), U256::from(0x99)),
        ],
        ..GenesisAccount::default()
    };
    harness.genesis(&[
        (SENDER, eoa(ether(1))),
        (factory, contract(FACTORY, &[], U256::ZERO)),
        (target, leftover),
    ]);

    run_ok(
        &mut harness,
        call(0, factory, INIT_STORE_SLOT_3, U256::ZERO),
    );
    let record = harness.account(target).expect("created");
    assert_eq!(record.nonce, 1);
    assert_eq!(record.balance(), U256::from(3), "the balance carries over");
    assert_eq!(record.code_hash(), keccak256([0x00]));
    assert_eq!(
        harness.storage_slots(target),
        vec![(U256::from(3), U256::from(0x33))],
        "old slots wiped"
    );

    // The new code is stored by hash and runs.
    match harness.call(SENDER, target, vec![]) {
        Outcome::Halt { output } => assert!(output.is_empty()),
        other => panic!("calling the re-created account: {other:?}"),
    }
}

#[test]
fn braid_call_leaves_the_caller_nonce_alone() {
    let counter = Address::repeat_byte(0xc1);
    // Runtime: SSTORE(0, SLOAD(0) + 1)
    let code = [0x60, 0x00, 0x54, 0x60, 0x01, 0x01, 0x60, 0x00, 0x55];
    let mut harness = Harness::new(SpecId::PRAGUE);
    harness.genesis(&[
        (SENDER, eoa(ether(1))),
        (counter, contract(&code, &[], U256::ZERO)),
    ]);

    let mut block = braid_kernel::BlockState::new(&harness.db, harness.env.clone());
    let mut kernel = braid_kernel::Kernel::new(
        &mut block,
        &harness.engines,
        &braid_core::NoBlockHashes,
        100_000,
    );
    let message = braid_core::Message {
        caller: braid_evm::layout::identity(SENDER),
        target: braid_evm::layout::identity(counter),
        input: vec![],
        value: [0; 32],
        gas_limit: 100_000,
    };
    let result = kernel.call(braid_core::EngineId::EVM, message).unwrap();
    assert_eq!(result.outcome, Outcome::Halt { output: vec![] });
    assert!(
        result.gas_used > 21_000,
        "intrinsic plus SSTORE: {}",
        result.gas_used
    );
    let effects = kernel.commit();
    assert_eq!(effects.braid_gas_used, result.gas_used);
    let changes = block.into_changes();
    harness.db.commit_block(changes, |_| Vec::new()).unwrap();
    assert_eq!(harness.storage(counter, U256::ZERO), U256::from(1));
    let sender = harness.account(SENDER).unwrap();
    assert_eq!(
        (sender.nonce, sender.balance()),
        (0, ether(1)),
        "no nonce bump, no fee"
    );
}
