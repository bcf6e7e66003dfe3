//! The OpenZeppelin ERC20 (`ERC20PresetFixedSupply`, from `../shared`) run
//! through braid-evm on the unified state and through plain revm on a
//! `CacheDB<EmptyDB>`: 1,000 transfers (some of them reverting), compared
//! transaction by transaction, then every balance.

mod common;

use std::collections::HashMap;

use braid_core::{EngineId, Outcome};
use braid_evm::layout::GenesisAccount;
use braid_evm::revm::context::TxEnv;
use braid_evm::revm::context_interface::result::ExecutionResult;
use braid_evm::revm::database::{CacheDB, EmptyDB};
use braid_evm::revm::primitives::hardfork::SpecId;
use braid_evm::revm::primitives::{
    Address, B256, Bytes, KECCAK_EMPTY, Log, TxKind, U256, keccak256,
};
use braid_evm::revm::state::{AccountInfo, Bytecode};
use braid_evm::revm::{
    Context, DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext,
};
use braid_evm::{EvmExit, EvmTransactOutcome};
use common::{Harness, eoa, ether};

const TRANSFERS: usize = 1_000;
const PER_BLOCK: usize = 100;
const RECIPIENTS: usize = 40;
const GWEI: u128 = 1_000_000_000;

fn artifact_creation_code() -> Vec<u8> {
    let path = common::shared_dir().join("programs/evm/ERC20PresetFixedSupply.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the ERC20 artifact {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("artifact is JSON");
    let hex_code = json["bytecode"].as_str().expect("artifact has `bytecode`");
    hex::decode(hex_code.trim_start_matches("0x")).expect("bytecode is hex")
}

fn word(value: U256) -> [u8; 32] {
    value.to_be_bytes::<32>()
}

fn address_word(address: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(address.as_slice());
    w
}

/// ABI encoding of `(string, string, uint256, address)`.
fn constructor_args(name: &str, symbol: &str, supply: U256, owner: Address) -> Vec<u8> {
    fn string_tail(s: &str) -> Vec<u8> {
        let mut out = word(U256::from(s.len())).to_vec();
        let mut data = s.as_bytes().to_vec();
        data.resize(s.len().div_ceil(32) * 32, 0);
        out.extend(data);
        out
    }
    let name_tail = string_tail(name);
    let mut out = Vec::new();
    out.extend(word(U256::from(4 * 32)));
    out.extend(word(U256::from(4 * 32 + name_tail.len())));
    out.extend(word(supply));
    out.extend(address_word(owner));
    out.extend(name_tail);
    out.extend(string_tail(symbol));
    out
}

fn transfer_input(to: Address, amount: U256) -> Bytes {
    let mut input = vec![0xa9, 0x05, 0x9c, 0xbb];
    input.extend(address_word(to));
    input.extend(word(amount));
    input.into()
}

fn balance_of_input(holder: Address) -> Vec<u8> {
    let mut input = vec![0x70, 0xa0, 0x82, 0x31];
    input.extend(address_word(holder));
    input
}

/// Slot of `_balances[holder]` in OpenZeppelin's ERC20 (mapping at slot 0).
fn balance_slot(holder: Address) -> U256 {
    let mut preimage = address_word(holder).to_vec();
    preimage.extend([0u8; 32]);
    U256::from_be_bytes(keccak256(&preimage).0)
}

fn recipient(i: usize) -> Address {
    Address::from_slice(&keccak256((i as u64).to_be_bytes()).0[12..])
}

struct Senders {
    nonces: HashMap<Address, u64>,
}

impl Senders {
    fn tx(
        &mut self,
        caller: Address,
        kind: TxKind,
        data: Bytes,
        gas_limit: u64,
        i: usize,
    ) -> TxEnv {
        let nonce = self.nonces.entry(caller).or_default();
        let tx = TxEnv {
            caller,
            kind,
            data,
            gas_limit,
            nonce: *nonce,
            chain_id: Some(1),
            // Alternate legacy and EIP-1559 transactions.
            tx_type: if i.is_multiple_of(2) { 0 } else { 2 },
            gas_price: if i.is_multiple_of(2) {
                10 * GWEI
            } else {
                20 * GWEI
            },
            gas_priority_fee: if i.is_multiple_of(2) {
                None
            } else {
                Some(2 * GWEI)
            },
            ..TxEnv::default()
        };
        *nonce += 1;
        tx
    }
}

fn assert_same(i: usize, braid: &EvmTransactOutcome, revm: &ExecutionResult) {
    let exit_matches = match (&braid.exit, revm) {
        (EvmExit::Success, ExecutionResult::Success { .. })
        | (EvmExit::Revert, ExecutionResult::Revert { .. }) => true,
        (EvmExit::Halt(a), ExecutionResult::Halt { reason: b, .. }) => a == b,
        _ => false,
    };
    assert!(
        exit_matches,
        "tx {i}: braid {:?}, revm {revm:?}",
        braid.exit
    );
    assert_eq!(braid.success, revm.is_success(), "tx {i}: success flag");
    assert_eq!(braid.gas_used, revm.tx_gas_used(), "tx {i}: gas used");
    assert_eq!(braid.logs.as_slice(), revm.logs(), "tx {i}: logs");
    assert_eq!(Some(&braid.output), revm.output(), "tx {i}: output");
    assert_eq!(
        braid.created_address,
        revm.created_address(),
        "tx {i}: created address"
    );
}

fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

fn assert_transfer_log(
    i: usize,
    log: &Log,
    token: Address,
    from: Address,
    to: Address,
    amount: U256,
) {
    assert_eq!(log.address, token, "tx {i}: log address");
    let topics = log.topics();
    assert_eq!(topics.len(), 3, "tx {i}: Transfer has 3 topics");
    assert_eq!(topics[0], transfer_topic(), "tx {i}: topic 0");
    assert_eq!(topics[1].0, address_word(from), "tx {i}: from");
    assert_eq!(topics[2].0, address_word(to), "tx {i}: to");
    assert_eq!(log.data.data.as_ref(), &word(amount), "tx {i}: amount");
}

#[test]
fn erc20_transfers_match_plain_revm() {
    let spec = SpecId::PRAGUE;
    let owner = Address::repeat_byte(0x11);
    let coinbase = Address::repeat_byte(0xc0);
    let supply = ether(1_000_000);
    let recipients: Vec<Address> = (0..RECIPIENTS).map(recipient).collect();

    // Genesis: the owner and every recipient hold ether for gas.
    let mut alloc = vec![(owner, eoa(ether(1_000)))];
    alloc.extend(recipients.iter().map(|r| (*r, eoa(ether(1)))));

    let mut braid = Harness::new(spec);
    braid.env.coinbase = braid_evm::layout::identity(coinbase);
    braid.genesis(&alloc);

    let mut cache = CacheDB::new(EmptyDB::default());
    for (address, GenesisAccount { balance, nonce, .. }) in &alloc {
        cache.insert_account_info(
            *address,
            AccountInfo::new(*balance, *nonce, KECCAK_EMPTY, Bytecode::default()),
        );
    }
    let mut revm = Context::mainnet()
        .with_db(cache)
        .with_cfg(braid.engine.cfg(1))
        .with_block(braid.engine.block_env(&braid.env))
        .build_mainnet();

    let mut senders = Senders {
        nonces: HashMap::new(),
    };

    // Block 1: deploy.
    let mut deploy_data = artifact_creation_code();
    deploy_data.extend(constructor_args("Braid Token", "BRD", supply, owner));
    let deploy = senders.tx(owner, TxKind::Create, deploy_data.into(), 3_000_000, 0);
    let applied = braid.block(vec![deploy.clone()]);
    let deployed = applied[0].result.as_ref().expect("deploy is valid");
    let expected = revm.transact_commit(deploy).expect("revm deploy is valid");
    assert_same(0, deployed, &expected);
    assert!(deployed.success, "deploy succeeds: {deployed:?}");
    let token = deployed.created_address.expect("deploy creates the token");
    assert_eq!(token, owner.create(0));

    // Blocks 2..: 1,000 transfers, 100 per block. Every 10th is sent by a
    // recipient; every 50th asks for more than the sender holds and reverts.
    let mut model: HashMap<Address, U256> = HashMap::from([(owner, supply)]);
    let mut plan = Vec::with_capacity(TRANSFERS);
    for i in 0..TRANSFERS {
        let (from, to) = if i % 10 == 9 {
            (
                recipients[(i / 10) % RECIPIENTS],
                recipients[(i / 10 + 7) % RECIPIENTS],
            )
        } else {
            (owner, recipients[i % RECIPIENTS])
        };
        let held = model.get(&from).copied().unwrap_or_default();
        let amount = if i % 50 == 49 {
            held + U256::from(1)
        } else if i % 10 == 9 {
            held / U256::from(2)
        } else {
            U256::from(i as u64 + 1) * U256::from(1_000_000u64)
        };
        let succeeds = amount <= held;
        if succeeds {
            *model.entry(from).or_default() -= amount;
            *model.entry(to).or_default() += amount;
        }
        plan.push((from, to, amount, succeeds));
    }

    let mut reverts = 0;
    for (block_index, chunk) in plan.chunks(PER_BLOCK).enumerate() {
        revm.set_block(braid.engine.block_env(&braid.env));
        let txs: Vec<TxEnv> = chunk
            .iter()
            .enumerate()
            .map(|(j, (from, to, amount, _))| {
                let i = block_index * PER_BLOCK + j;
                senders.tx(
                    *from,
                    TxKind::Call(token),
                    transfer_input(*to, *amount),
                    100_000,
                    i,
                )
            })
            .collect();
        let applied = braid.block(txs.clone());
        for (j, ((tx, applied), (from, to, amount, succeeds))) in
            txs.into_iter().zip(&applied).zip(chunk).enumerate()
        {
            let i = block_index * PER_BLOCK + j;
            let ours = applied
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("tx {i} is valid: {e}"));
            let theirs = revm
                .transact_commit(tx)
                .unwrap_or_else(|e| panic!("revm tx {i} is valid: {e}"));
            assert_same(i, ours, &theirs);
            assert_eq!(ours.success, *succeeds, "tx {i}: success as the model says");
            if *succeeds {
                assert_eq!(ours.logs.len(), 1, "tx {i}: one Transfer log");
                assert_transfer_log(i, &ours.logs[0], token, *from, *to, *amount);
                assert_eq!(
                    ours.output.as_ref(),
                    &word(U256::from(1)),
                    "tx {i}: transfer returns true"
                );
            } else {
                reverts += 1;
                assert_eq!(ours.exit, EvmExit::Revert, "tx {i}: reverts");
                assert!(ours.logs.is_empty(), "tx {i}: no logs on revert");
            }
            // The kernel kept exactly the receipt's logs.
            assert_eq!(
                applied.kernel_logs.len(),
                ours.logs.len(),
                "tx {i}: kernel logs"
            );
            for (k, r) in applied.kernel_logs.iter().zip(&ours.logs) {
                assert_eq!(k.engine, EngineId::EVM);
                assert_eq!(k.identity.0, r.address.into_array());
                assert_eq!(k.topics, r.topics().iter().map(|t| t.0).collect::<Vec<_>>());
                assert_eq!(k.data, r.data.data.to_vec());
            }
        }
    }
    assert_eq!(reverts, TRANSFERS / 50);

    // Every token balance: storage on both sides, `balanceOf` through a
    // Braid call, and the model.
    let cache = &revm.ctx.journaled_state.database;
    let mut holders = vec![owner];
    holders.extend(&recipients);
    let mut total = U256::ZERO;
    for holder in &holders {
        let expected = model.get(holder).copied().unwrap_or_default();
        total += expected;
        let slot = balance_slot(*holder);
        assert_eq!(
            braid.storage(token, slot),
            expected,
            "braid storage balance of {holder}"
        );
        assert_eq!(
            cache.storage_ref(token, slot).unwrap(),
            expected,
            "revm storage balance of {holder}"
        );
        match braid.call(*holder, token, balance_of_input(*holder)) {
            Outcome::Halt { output } => assert_eq!(output, word(expected), "balanceOf({holder})"),
            other => panic!("balanceOf({holder}) did not halt: {other:?}"),
        }
    }
    assert_eq!(total, supply, "transfers move tokens, never create them");

    // Every ether balance and nonce (senders, recipients, coinbase, token).
    holders.extend([coinbase, token]);
    for address in &holders {
        let ours = braid.account(*address).expect("account exists");
        let theirs = cache
            .basic_ref(*address)
            .unwrap()
            .expect("revm account exists");
        assert_eq!(ours.balance(), theirs.balance, "ether balance of {address}");
        assert_eq!(ours.nonce, theirs.nonce, "nonce of {address}");
        assert_eq!(ours.code_hash(), theirs.code_hash, "code hash of {address}");
    }
    assert_eq!(braid.account(owner).unwrap().nonce, senders.nonces[&owner]);
    assert!(
        braid.account(coinbase).unwrap().balance() > U256::ZERO,
        "the coinbase earned priority fees"
    );
    // The analysed token code was cached once and reused.
    assert!(!braid.engine.bytecode_cache().is_empty());
}
