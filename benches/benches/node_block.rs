//! A node's block, end to end: `Chain::apply_block` of 1,000 signed
//! Ethereum transfers (decode, signature recovery, validity rules,
//! execution through the kernel, the Merkle root, the stored header, body,
//! receipts and indexes, one synced RocksDB batch), against plain revm 43
//! running the same transactions on `CacheDB` (decode and recovery included,
//! `transact_commit` each, no root and no storage: the floor a node cannot
//! go below). Also Braid over the in-memory backend, to split the cost.
//!
//! Every iteration applies the next block (nonces advance); both sides get
//! the same bytes. Prints per-block and per-transaction times.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::Signature;
use braid_chain::tx::EthereumTransaction;
use braid_chain::{Block, Chain, ChainSpec, RawTransaction};
use braid_evm::EvmEngine;
use braid_state::{Backend, MemoryBackend, RocksDbBackend};
use criterion::{Criterion, criterion_group};
use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{Address, KECCAK_EMPTY, TxKind, U256};
use revm::state::{AccountInfo, Bytecode};
use revm::{ExecuteCommitEvm, MainBuilder, MainContext};

const SENDERS: usize = 100;
const PER_SENDER: u64 = 10;
const CHAIN_ID: u64 = 4444;
const BASE_FEE: u64 = 1_000_000_000;
const FUNDS: u128 = 1_000_000_000_000_000_000_000;

fn key(i: usize) -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(&braid_core::keccak256(
        format!("node bench {i}").as_bytes(),
    ))
    .unwrap()
}

fn spec(dir: &Path) -> ChainSpec {
    let mut toml = format!(
        "[chain]\nname = \"bench\"\nchain_id = {CHAIN_ID}\nevm_spec = \"prague\"\nbase_fee = {BASE_FEE}\n[genesis]\ntimestamp = 1\ncoinbase = \"0x0000000000000000000000000000000000000000\"\n[genesis.alloc]\n"
    );
    for i in 0..SENDERS {
        toml.push_str(&format!(
            "\"{}\" = {{ balance = \"{FUNDS}\" }}\n",
            Address::from_private_key(&key(i))
        ));
    }
    std::fs::write(dir.join("chain.toml"), toml).unwrap();
    ChainSpec::load(&dir.join("chain.toml")).unwrap()
}

/// Block `k` (from 0): every sender sends its transactions `k × PER_SENDER ..`
/// to fresh recipients.
fn block_txs(k: u64) -> Vec<Vec<u8>> {
    let mut txs = Vec::with_capacity(SENDERS * PER_SENDER as usize);
    for n in 0..PER_SENDER {
        for i in 0..SENDERS {
            let nonce = k * PER_SENDER + n;
            let mut to = [0u8; 20];
            to[..8].copy_from_slice(&(k * 1_000_000 + nonce * 1000 + i as u64).to_be_bytes());
            // Never a precompile: block 0's first recipient would be 0x…01
            // (ecrecover), which a 21,000-gas transfer cannot pay for.
            to[0] = 0xAA;
            to[19] = 1;
            let tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 2 * u128::from(BASE_FEE),
                max_priority_fee_per_gas: 1,
                to: TxKind::Call(Address::from(to)),
                value: U256::from(1),
                ..Default::default()
            };
            let (sig, recid) = key(i)
                .sign_prehash_recoverable(tx.signature_hash().as_slice())
                .unwrap();
            txs.push(
                TxEnvelope::from(tx.into_signed(Signature::from((sig, recid)))).encoded_2718(),
            );
        }
    }
    txs
}

fn braid_side(c: &mut Criterion, name: &str, backend: impl Fn(&Path) -> Arc<dyn Backend>) {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::open(spec(dir.path()), backend(&dir.path().join("db"))).unwrap();
    let mut next = 0u64;
    let mut group = c.benchmark_group("node_block");
    group.sample_size(10);
    group.bench_function(format!("braid apply_block, 1000 transfers, {name}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let block = Block {
                    number: chain.head().number + 1,
                    timestamp: chain.head().timestamp + 1,
                    transactions: block_txs(next)
                        .into_iter()
                        .map(RawTransaction::Ethereum)
                        .collect(),
                };
                next += 1;
                let started = Instant::now();
                let report = chain.apply_block(&block).unwrap();
                total += started.elapsed();
                assert_eq!(report.ok(), SENDERS * PER_SENDER as usize);
            }
            total
        })
    });
    group.finish();
}

fn revm_side(c: &mut Criterion) {
    let engine = EvmEngine::new(revm::primitives::hardfork::SpecId::PRAGUE);
    let mut cache = CacheDB::new(EmptyDB::default());
    for i in 0..SENDERS {
        cache.insert_account_info(
            Address::from_private_key(&key(i)),
            AccountInfo::new(U256::from(FUNDS), 0, KECCAK_EMPTY, Bytecode::default()),
        );
    }
    let mut block = engine.block_env(&braid_core::BlockEnv {
        chain_id: CHAIN_ID,
        number: 1,
        timestamp: 1,
        coinbase: braid_core::Identity([0; 20]),
        gas_limit: 30_000_000,
        base_fee: BASE_FEE,
        prevrandao: [0; 32],
        difficulty: [0; 32],
        excess_blob_gas: Some(0),
    });
    block.gas_limit = u64::MAX;
    let mut evm = revm::Context::mainnet()
        .with_db(cache)
        .with_cfg(engine.cfg(CHAIN_ID))
        .with_block(block)
        .build_mainnet();
    let mut next = 0u64;
    let mut group = c.benchmark_group("node_block");
    group.sample_size(10);
    group.bench_function(
        "revm CacheDB, 1000 transfers (decode + recover + transact_commit)",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let txs = block_txs(next);
                    next += 1;
                    let started = Instant::now();
                    for bytes in &txs {
                        let envelope = TxEnvelope::decode_2718_exact(bytes).unwrap();
                        let sender = envelope.recover_signer().unwrap();
                        let tx = EthereumTransaction { envelope, sender };
                        let result = evm
                            .transact_commit(black_box::<TxEnv>(tx.tx_env()))
                            .unwrap();
                        assert!(result.is_success());
                    }
                    total += started.elapsed();
                }
                total
            })
        },
    );
    group.finish();
}

fn bench(c: &mut Criterion) {
    braid_side(c, "RocksDB", |path| {
        Arc::new(RocksDbBackend::open(path).unwrap())
    });
    braid_side(c, "memory", |_| Arc::new(MemoryBackend::new()));
    revm_side(c);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
