//! braid-evm against plain revm 43, in one process, on the same transactions.
//!
//! Three workloads, each run by every contender on its own copy of the same
//! genesis, with the same transaction sequence (contender `k` runs
//! transactions `0, 1, 2, ...` of the workload, whatever criterion's
//! iteration counts):
//!
//! 1. `erc20`: OpenZeppelin `ERC20PresetFixedSupply` (from `../shared`)
//!    `transfer(address,uint256)` to a fresh recipient per transaction,
//!    EIP-1559 (base fee 7 gwei, max fee 20 gwei, tip 1 gwei), 51,384 gas
//!    each; one criterion iteration is a block of [`TXS_PER_BLOCK`]
//!    transactions.
//! 2. `eth`: 1-wei value transfers between EOAs (21,000 gas) to a fresh
//!    recipient per transaction; one iteration is a block.
//! 3. `sload`: one call transaction to a hand-written contract that SLOADs
//!    1,000 consecutive slots ([`SLOAD_LOOP`]) of its 1,000,000 stored slots;
//!    one iteration is one transaction.
//!
//! Contenders: `braid_memory` and `braid_rocksdb` (braid-evm through a
//! `Kernel` per transaction over a `BlockState` over a `StateDb`; the block
//! committed with `StateDb::commit_block` every [`TXS_PER_BLOCK`]
//! transactions, the commit timed in the `+commit` variants and excluded in
//! the `exec` ones) and `revm_cachedb` (one revm 43 `MainnetEvm` over
//! `CacheDB<EmptyDB>`, `transact_commit` per transaction).
//!
//! After criterion's own report the bench prints a summary: microseconds
//! per transaction (mean of criterion's samples, which is criterion's own
//! point estimate in flat sampling) and the ratio to revm.
//!
//! `BRAID_EVM_PROFILE=<workload>-<contender>` (e.g. `erc20-braid`) instead
//! runs [`PROFILE_BLOCKS`] blocks (`BRAID_EVM_PROFILE_BLOCKS`) of one
//! contender without criterion, for a profiler: `braid` (memory backend),
//! `braid_rocksdb`, `revm`, and two diagnostics, `revm_rebuild` and
//! `revm_rebuild_lazy` ([`RevmBuild`]). The execution is inside the
//! never-inlined `*_execute_txs` functions, so
//! `valgrind --tool=callgrind --toggle-collect='*execute_txs*'` counts
//! only the transactions.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use braid_core::{BlockEnv, EngineId, Engines, NoBlockHashes, StateKey};
use braid_evm::EvmEngine;
use braid_evm::layout::{self, GenesisAccount};
use braid_kernel::{BlockState, Kernel};
use braid_state::{Backend, MemoryBackend, RocksDbBackend, StateDb};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use revm::context::{Evm, FrameStack, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::instructions::EthInstructions;
use revm::handler::{EthPrecompiles, MainnetContext};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, Bytes, KECCAK_EMPTY, TxKind, U256, keccak256};
use revm::state::{AccountInfo, Bytecode};
use revm::{Database, ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm};

/// Transactions per block: the block is committed after this many.
const TXS_PER_BLOCK: u64 = 100;
/// Criterion samples per benchmark.
const SAMPLES: usize = 10;
/// Blocks run by the profile mode.
const PROFILE_BLOCKS: u64 = 20;
/// The hard fork every contender runs.
const SPEC: SpecId = SpecId::PRAGUE;
const CHAIN_ID: u64 = 1;
const GWEI: u64 = 1_000_000_000;
const BASE_FEE: u64 = 7 * GWEI;
const MAX_FEE: u128 = 20 * GWEI as u128;
const TIP: u128 = GWEI as u128;

/// Sends every measured transaction.
const SENDER: Address = Address::repeat_byte(0x11);
/// Deploys the ERC20 (so the sender's nonces start at 0 in every workload).
const DEPLOYER: Address = Address::repeat_byte(0x22);
/// The block's fee recipient.
const COINBASE: Address = Address::repeat_byte(0xc0);
/// The SLOAD contract.
const SLOAD_CONTRACT: Address = Address::repeat_byte(0x5a);

/// Slots stored in the SLOAD contract: the whole state has more than 1M keys.
const STORED_SLOTS: u64 = 1_000_000;
/// Slots read by one SLOAD transaction.
const SLOADS_PER_TX: u64 = 1_000;
/// Distinct windows of [`SLOADS_PER_TX`] slots: a transaction reads window
/// `k % WINDOWS`, so 1,000 transactions in a row never read a slot twice.
const WINDOWS: u64 = STORED_SLOTS / SLOADS_PER_TX;

/// Runtime code of the SLOAD contract: reads slots `base .. base + 1000`,
/// `base` being the first calldata word, and stops. Stack shown top first.
///
/// ```text
/// 00  60 00     PUSH1 0
/// 02  35        CALLDATALOAD        [base]
/// 03  80        DUP1                [base, base]
/// 04  61 03e8   PUSH2 1000          [1000, base, base]
/// 07  01        ADD                 [end, i = base]
/// 08  90        SWAP1               [i, end]
/// 09  5b        JUMPDEST            loop:
/// 0a  80        DUP1                [i, i, end]
/// 0b  54        SLOAD               [storage[i], i, end]
/// 0c  50        POP                 [i, end]
/// 0d  60 01     PUSH1 1
/// 0f  01        ADD                 [i + 1, end]
/// 10  81        DUP2                [end, i + 1, end]
/// 11  81        DUP2                [i + 1, end, i + 1, end]
/// 12  10        LT                  [i + 1 < end, i + 1, end]
/// 13  60 09     PUSH1 0x09
/// 15  57        JUMPI               to loop while i + 1 < end
/// 16  00        STOP
/// ```
///
/// 2,134 gas per iteration with a cold SLOAD (2,100 + 34), so a transaction
/// uses 21,000 + calldata + 2,134,000 gas: the gas itself proves every SLOAD
/// was cold in the EIP-2929 sense.
const SLOAD_LOOP: [u8; 23] = [
    0x60, 0x00, 0x35, 0x80, 0x61, 0x03, 0xe8, 0x01, 0x90, 0x5b, 0x80, 0x54, 0x50, 0x60, 0x01, 0x01,
    0x81, 0x81, 0x10, 0x60, 0x09, 0x57, 0x00,
];

// ---------------------------------------------------------------- workloads

/// What the measured transactions do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    /// ERC20 `transfer(recipient(i), 1)`.
    Erc20,
    /// 1 wei to `recipient(i)`.
    Eth,
    /// 1,000 SLOADs of window `i % WINDOWS`.
    Sload,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Erc20 => "erc20",
            Workload::Eth => "eth",
            Workload::Sload => "sload",
        }
    }

    /// Transactions per criterion iteration.
    fn txs_per_iteration(self) -> u64 {
        match self {
            Workload::Erc20 | Workload::Eth => TXS_PER_BLOCK,
            Workload::Sload => 1,
        }
    }

    /// Transaction `i` of the workload, sent by [`SENDER`] with nonce `i`.
    fn tx(self, i: u64) -> TxEnv {
        let (kind, value, data, gas_limit) = match self {
            Workload::Erc20 => {
                let mut input = vec![0xa9, 0x05, 0x9c, 0xbb];
                input.extend(address_word(recipient(i)));
                input.extend(U256::from(1).to_be_bytes::<32>());
                (
                    TxKind::Call(token_address()),
                    U256::ZERO,
                    Bytes::from(input),
                    100_000,
                )
            }
            Workload::Eth => (
                TxKind::Call(recipient(i)),
                U256::from(1),
                Bytes::new(),
                21_000,
            ),
            Workload::Sload => {
                let base = (i % WINDOWS) * SLOADS_PER_TX;
                let input = U256::from(base).to_be_bytes::<32>();
                (
                    TxKind::Call(SLOAD_CONTRACT),
                    U256::ZERO,
                    Bytes::copy_from_slice(&input),
                    2_500_000,
                )
            }
        };
        TxEnv {
            tx_type: 2,
            caller: SENDER,
            gas_limit,
            gas_price: MAX_FEE,
            gas_priority_fee: Some(TIP),
            kind,
            value,
            data,
            nonce: i,
            chain_id: Some(CHAIN_ID),
            ..TxEnv::default()
        }
    }

    /// Transactions `first .. first + count`.
    fn txs(self, first: u64, count: u64) -> Vec<TxEnv> {
        (first..first + count).map(|i| self.tx(i)).collect()
    }
}

/// The `i`-th fresh recipient: never an account or a token holder before.
fn recipient(i: u64) -> Address {
    Address::from_slice(&keccak256(i.to_be_bytes()).0[12..])
}

fn address_word(address: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(address.as_slice());
    w
}

fn token_address() -> Address {
    DEPLOYER.create(0)
}

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000_000_000_000u64)
}

/// Creation code of `ERC20PresetFixedSupply` from `../shared`.
///
/// # Panics
/// If the artifact is missing or malformed, naming the path.
fn erc20_creation_code() -> Vec<u8> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/programs/evm/ERC20PresetFixedSupply.json"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the ERC20 bench needs the OpenZeppelin artifact {} (the `shared/` folder beside the repository): {e}",
            path.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let code = json["bytecode"]
        .as_str()
        .unwrap_or_else(|| panic!("{} has no `bytecode` string", path.display()));
    hex::decode(code.trim_start_matches("0x"))
        .unwrap_or_else(|e| panic!("`bytecode` of {} is not hex: {e}", path.display()))
}

/// The deploy transaction: `ERC20PresetFixedSupply("Bench", "BNC", 1e27, SENDER)`
/// from [`DEPLOYER`], so the whole supply is the sender's.
fn erc20_deploy_tx() -> TxEnv {
    fn string_tail(s: &str) -> Vec<u8> {
        let mut out = U256::from(s.len()).to_be_bytes::<32>().to_vec();
        let mut data = s.as_bytes().to_vec();
        data.resize(s.len().div_ceil(32) * 32, 0);
        out.extend(data);
        out
    }
    let (name, symbol) = (string_tail("Bench"), string_tail("BNC"));
    let mut data = erc20_creation_code();
    data.extend(U256::from(4 * 32).to_be_bytes::<32>());
    data.extend(U256::from(4 * 32 + name.len()).to_be_bytes::<32>());
    data.extend(ether(1_000_000_000).to_be_bytes::<32>());
    data.extend(address_word(SENDER));
    data.extend(name);
    data.extend(symbol);
    TxEnv {
        tx_type: 2,
        caller: DEPLOYER,
        gas_limit: 3_000_000,
        gas_price: MAX_FEE,
        gas_priority_fee: Some(TIP),
        kind: TxKind::Create,
        data: data.into(),
        nonce: 0,
        chain_id: Some(CHAIN_ID),
        ..TxEnv::default()
    }
}

/// Genesis accounts of a workload (besides the 1M SLOAD slots, added in bulk).
fn genesis_accounts(workload: Workload) -> Vec<(Address, GenesisAccount)> {
    let eoa = |balance| GenesisAccount {
        balance,
        ..GenesisAccount::default()
    };
    let mut alloc = vec![(SENDER, eoa(ether(1_000_000))), (COINBASE, eoa(ether(1)))];
    match workload {
        Workload::Erc20 => alloc.push((DEPLOYER, eoa(ether(10)))),
        Workload::Eth => {}
        Workload::Sload => alloc.push((
            SLOAD_CONTRACT,
            GenesisAccount {
                code: SLOAD_LOOP.to_vec(),
                ..GenesisAccount::default()
            },
        )),
    }
    alloc
}

/// Value stored at slot `slot` of the SLOAD contract (never zero).
fn sload_value(slot: u64) -> U256 {
    U256::from(slot + 1)
}

fn block_env() -> BlockEnv {
    BlockEnv {
        chain_id: CHAIN_ID,
        number: 1,
        timestamp: 1_700_000_000,
        coinbase: layout::identity(COINBASE),
        base_fee: BASE_FEE,
        ..BlockEnv::default()
    }
}

// ---------------------------------------------------------------- braid

/// Where a braid contender keeps its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BackendKind {
    Memory,
    RocksDb,
}

/// A Braid chain: `StateDb` + the EVM engine, one `Kernel` per transaction,
/// one `BlockState` per block.
struct BraidChain {
    db: StateDb,
    backend: Arc<dyn Backend>,
    engine: Arc<EvmEngine>,
    engines: Engines,
    env: BlockEnv,
    /// RocksDB's directory, removed on drop.
    dir: Option<tempfile::TempDir>,
}

impl BraidChain {
    fn new(kind: BackendKind) -> Self {
        let (backend, dir): (Arc<dyn Backend>, _) = match kind {
            BackendKind::Memory => (Arc::new(MemoryBackend::new()), None),
            BackendKind::RocksDb => {
                let dir = tempfile::tempdir().expect("temporary directory for RocksDB");
                (
                    Arc::new(RocksDbBackend::open(dir.path()).expect("open RocksDB")),
                    Some(dir),
                )
            }
        };
        let engine = Arc::new(EvmEngine::new(SPEC));
        let mut engines = Engines::new();
        engines.register(engine.clone());
        let db = StateDb::open(backend.clone()).expect("open state");
        BraidChain {
            db,
            backend,
            engine,
            engines,
            env: block_env(),
            dir,
        }
    }

    fn commit(&mut self, changes: Vec<(StateKey, Option<Vec<u8>>)>) {
        self.db
            .commit_block(changes, |_| Vec::new())
            .expect("commit block");
    }

    /// Runs `txs` as one block, appending each transaction's gas to `gas`;
    /// returns (execution time, commit time). The commit includes
    /// `BlockState::into_changes`.
    fn block(&mut self, txs: Vec<TxEnv>, gas: &mut Vec<u64>) -> (Duration, Duration) {
        let mut block = BlockState::new(&self.db, self.env.clone());
        let start = Instant::now();
        braid_execute_txs(&mut block, &self.engines, &self.engine, txs, gas);
        let exec = start.elapsed();
        let start = Instant::now();
        let changes = block.into_changes();
        self.commit(changes);
        (exec, start.elapsed())
    }

    /// Drops the read cache: a fresh `StateDb` over the same backend.
    fn reopen_state(&mut self) {
        self.db = StateDb::open(self.backend.clone()).expect("reopen state");
    }

    /// Closes and reopens RocksDB itself (its memtables are flushed to SST
    /// files on reopen, and its block cache starts empty), then the state.
    fn reopen_rocksdb(&mut self) {
        let path = self
            .dir
            .as_ref()
            .expect("a RocksDB chain")
            .path()
            .to_path_buf();
        // Drop every handle on the database before opening it again.
        self.db = StateDb::open(Arc::new(MemoryBackend::new())).expect("placeholder state");
        self.backend = Arc::new(MemoryBackend::new());
        self.backend = Arc::new(RocksDbBackend::open(&path).expect("reopen RocksDB"));
        self.reopen_state();
    }
}

/// The measured part of a braid block: every transaction in its own kernel,
/// committed into the block. Appends the gas each transaction used to `gas`.
#[inline(never)]
fn braid_execute_txs(
    block: &mut BlockState<'_>,
    engines: &Engines,
    engine: &EvmEngine,
    txs: Vec<TxEnv>,
    gas: &mut Vec<u64>,
) {
    for tx in txs {
        let mut kernel = Kernel::new(block, engines, &NoBlockHashes, tx.gas_limit);
        let (_, outcome) = engine
            .invoke_transaction(&mut kernel, tx)
            .expect("a valid transaction");
        assert!(outcome.success, "transaction failed: {outcome:?}");
        black_box(kernel.commit());
        gas.push(outcome.gas_used);
    }
}

fn braid_genesis(kind: BackendKind, workload: Workload) -> BraidChain {
    let mut chain = BraidChain::new(kind);
    let writes = genesis_accounts(workload)
        .iter()
        .flat_map(|(a, acc)| layout::genesis_writes(*a, acc))
        .collect();
    chain.commit(writes);
    match workload {
        Workload::Erc20 => {
            let mut block = BlockState::new(&chain.db, chain.env.clone());
            let mut kernel = Kernel::new(&mut block, &chain.engines, &NoBlockHashes, 3_000_000);
            let (_, deployed) = chain
                .engine
                .invoke_transaction(&mut kernel, erc20_deploy_tx())
                .expect("deploy");
            assert!(
                deployed.success && deployed.created_address == Some(token_address()),
                "{deployed:?}"
            );
            kernel.commit();
            let changes = block.into_changes();
            chain.commit(changes);
        }
        Workload::Eth => {}
        Workload::Sload => {
            let id = layout::identity(SLOAD_CONTRACT);
            let writes = (0..STORED_SLOTS)
                .map(|slot| {
                    let key = layout::storage_key(&U256::from(slot).to_be_bytes::<32>());
                    (
                        StateKey::new(EngineId::EVM, id, key.to_vec()),
                        Some(sload_value(slot).to_be_bytes::<32>().to_vec()),
                    )
                })
                .collect();
            chain.commit(writes);
            match kind {
                BackendKind::Memory => chain.reopen_state(),
                BackendKind::RocksDb => chain.reopen_rocksdb(),
            }
        }
    }
    chain
}

/// A braid contender: a chain, the index of its next transaction, and
/// whether the block commit is timed.
struct BraidContender {
    chain: BraidChain,
    workload: Workload,
    next: u64,
    timed_commit: bool,
}

impl BraidContender {
    /// Runs `iterations` criterion iterations; returns the measured time and
    /// the gas of every transaction run, in order.
    fn run(&mut self, iterations: u64) -> (Duration, Vec<u64>) {
        let mut measured = Duration::ZERO;
        let mut gas = Vec::new();
        match self.workload {
            Workload::Erc20 | Workload::Eth => {
                for _ in 0..iterations {
                    let txs = self.workload.txs(self.next, TXS_PER_BLOCK);
                    self.next += TXS_PER_BLOCK;
                    let (exec, commit) = self.chain.block(txs, &mut gas);
                    measured += exec
                        + if self.timed_commit {
                            commit
                        } else {
                            Duration::ZERO
                        };
                }
            }
            Workload::Sload => {
                // Blocks of at most TXS_PER_BLOCK, never reusing a window
                // while the read cache may hold it; commit untimed.
                let mut left = iterations;
                while left > 0 {
                    let window_left = WINDOWS - self.next % WINDOWS;
                    let count = left.min(TXS_PER_BLOCK).min(window_left);
                    let txs = self.workload.txs(self.next, count);
                    let (exec, _) = self.chain.block(txs, &mut gas);
                    measured += exec;
                    self.next += count;
                    left -= count;
                    if self.next.is_multiple_of(WINDOWS) {
                        self.chain.reopen_state();
                    }
                }
            }
        }
        (measured, gas)
    }
}

// ---------------------------------------------------------------- revm

type RevmEvm = MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>;

/// Plain revm 43 over `CacheDB<EmptyDB>` with the same genesis, config and block.
struct RevmContender {
    evm: RevmEvm,
    workload: Workload,
    next: u64,
}

impl RevmContender {
    fn new(workload: Workload) -> Self {
        let mut cache = CacheDB::new(EmptyDB::default());
        for (address, account) in genesis_accounts(workload) {
            let code = Bytecode::new_raw(Bytes::from(account.code.clone()));
            let hash = if account.code.is_empty() {
                KECCAK_EMPTY
            } else {
                code.hash_slow()
            };
            cache.insert_account_info(
                address,
                AccountInfo::new(account.balance, account.nonce, hash, code),
            );
        }
        if workload == Workload::Sload {
            for slot in 0..STORED_SLOTS {
                cache
                    .insert_account_storage(SLOAD_CONTRACT, U256::from(slot), sload_value(slot))
                    .expect("insert slot");
            }
        }
        // The same configuration and block environment as braid-evm uses.
        let engine = EvmEngine::new(SPEC);
        let mut evm = revm::Context::mainnet()
            .with_db(cache)
            .with_cfg(engine.cfg(CHAIN_ID))
            .with_block(engine.block_env(&block_env()))
            .build_mainnet();
        if workload == Workload::Erc20 {
            let deployed = evm.transact_commit(erc20_deploy_tx()).expect("deploy");
            assert!(
                deployed.is_success() && deployed.created_address() == Some(token_address()),
                "{deployed:?}"
            );
        }
        RevmContender {
            evm,
            workload,
            next: 0,
        }
    }

    /// Runs `iterations` criterion iterations, building the EVM as `build`
    /// says; returns the measured time and the gas of every transaction run.
    fn run(&mut self, iterations: u64, build: RevmBuild) -> (Duration, Vec<u64>) {
        let mut measured = Duration::ZERO;
        let mut gas = Vec::new();
        for _ in 0..iterations {
            let count = self.workload.txs_per_iteration();
            let txs = self.workload.txs(self.next, count);
            self.next += count;
            let start = Instant::now();
            match build {
                RevmBuild::Once => revm_execute_txs(&mut self.evm, txs, &mut gas),
                RevmBuild::PerTx | RevmBuild::PerTxLazyFrames => {
                    let lazy = build == RevmBuild::PerTxLazyFrames;
                    revm_rebuild_execute_txs(&mut self.evm, txs, lazy, &mut gas)
                }
            };
            measured += start.elapsed();
        }
        (measured, gas)
    }
}

/// How the revm contender gets its EVM. Only [`RevmBuild::Once`] is
/// benchmarked; the other two are profile-mode diagnostics that isolate
/// what braid-evm pays for building a revm EVM per transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RevmBuild {
    /// One EVM for the whole run (how revm is meant to be used).
    Once,
    /// `Context::mainnet()...build_mainnet()` per transaction over the same
    /// `CacheDB`, as braid-evm does over its `HostDatabase`.
    PerTx,
    /// The same, but with an empty `FrameStack` (frames built on first use)
    /// instead of `build_mainnet`'s eight preallocated frames.
    PerTxLazyFrames,
}

/// A mainnet EVM over `ctx` whose frame stack starts empty: revm builds a
/// frame (with its 32 KiB stack) only when a call depth is first reached.
fn build_mainnet_lazy<DB: Database>(ctx: MainnetContext<DB>) -> MainnetEvm<MainnetContext<DB>> {
    let spec = ctx.cfg.spec;
    Evm {
        ctx,
        inspector: (),
        instruction: EthInstructions::new_mainnet_with_spec(spec),
        precompiles: EthPrecompiles::new(spec),
        frame_stack: FrameStack::new(),
    }
}

/// Like [`revm_execute_txs`], but with a new EVM per transaction over the
/// same `CacheDB` (the profile-mode diagnostics of [`RevmBuild`]).
#[inline(never)]
fn revm_rebuild_execute_txs(evm: &mut RevmEvm, txs: Vec<TxEnv>, lazy: bool, gas: &mut Vec<u64>) {
    let (cfg, block) = (evm.ctx.cfg.clone(), evm.ctx.block.clone());
    for tx in txs {
        let db = &mut evm.ctx.journaled_state.database;
        let ctx = revm::Context::mainnet()
            .with_db(db)
            .with_cfg(cfg.clone())
            .with_block(block.clone());
        let mut fresh = if lazy {
            build_mainnet_lazy(ctx)
        } else {
            ctx.build_mainnet()
        };
        let result = fresh.transact_commit(tx).expect("a valid transaction");
        assert!(result.is_success(), "transaction failed: {result:?}");
        gas.push(result.tx_gas_used());
        black_box(result);
    }
}

/// The measured part of a revm block: `transact_commit` per transaction.
/// Appends the gas each transaction used to `gas`.
#[inline(never)]
fn revm_execute_txs(evm: &mut RevmEvm, txs: Vec<TxEnv>, gas: &mut Vec<u64>) {
    for tx in txs {
        let result = evm.transact_commit(tx).expect("a valid transaction");
        assert!(result.is_success(), "transaction failed: {result:?}");
        gas.push(result.tx_gas_used());
        black_box(result);
    }
}

// ---------------------------------------------------------------- bench

/// Criterion's samples per benchmark id, for the summary.
#[derive(Default)]
struct Record {
    /// `(iterations, measured time)` of every call, warm-up included; the
    /// last [`SAMPLES`] are criterion's samples.
    calls: Vec<(u64, Duration)>,
    txs_per_iteration: u64,
    /// Gas used by every transaction run, warm-up included, in order (each
    /// contender runs transactions 0, 1, 2, ... of the workload).
    gas: Vec<u64>,
}

thread_local! {
    static RECORDS: RefCell<BTreeMap<(String, String), Record>> = const { RefCell::new(BTreeMap::new()) };
}

fn record(workload: Workload, id: &str, iterations: u64, measured: Duration, gas: Vec<u64>) {
    RECORDS.with_borrow_mut(|records| {
        let r = records
            .entry((workload.name().to_string(), id.to_string()))
            .or_default();
        r.calls.push((iterations, measured));
        r.txs_per_iteration = workload.txs_per_iteration();
        r.gas.extend(gas);
    });
}

/// The gas of transactions `0..count` of `workload` as plain revm computes
/// them, run untimed on a fresh contender: the reference every contender's
/// every transaction is checked against.
fn reference_gas(workload: Workload, count: usize) -> Vec<u64> {
    let mut revm = RevmContender::new(workload);
    let mut gas = Vec::with_capacity(count);
    while gas.len() < count {
        let left = (count - gas.len()) as u64;
        let txs = workload.txs(revm.next, left.min(TXS_PER_BLOCK));
        revm.next += txs.len() as u64;
        revm_execute_txs(&mut revm.evm, txs, &mut gas);
    }
    gas
}

/// Contender ids, in the order the summary shows them.
const BRAID_IDS: [(&str, BackendKind, bool); 4] = [
    ("braid_memory/exec", BackendKind::Memory, false),
    ("braid_memory/exec+commit", BackendKind::Memory, true),
    ("braid_rocksdb/exec", BackendKind::RocksDb, false),
    ("braid_rocksdb/exec+commit", BackendKind::RocksDb, true),
];
const REVM_ID: &str = "revm_cachedb";

fn bench_braid(
    group: &mut BenchmarkGroup<'_, WallTime>,
    workload: Workload,
    id: &'static str,
    kind: BackendKind,
    timed_commit: bool,
) {
    let mut contender = None;
    group.bench_function(id, |b| {
        let c = contender.get_or_insert_with(|| {
            let setup = Instant::now();
            let chain = braid_genesis(kind, workload);
            eprintln!(
                "  [{}/{id}: genesis in {:.1?}]",
                workload.name(),
                setup.elapsed()
            );
            BraidContender {
                chain,
                workload,
                next: 0,
                timed_commit,
            }
        });
        b.iter_custom(|iterations| {
            let (measured, gas) = c.run(iterations);
            record(workload, id, iterations, measured, gas);
            measured
        });
    });
}

fn bench_revm(group: &mut BenchmarkGroup<'_, WallTime>, workload: Workload) {
    let mut contender = None;
    group.bench_function(REVM_ID, |b| {
        let c = contender.get_or_insert_with(|| {
            let setup = Instant::now();
            let c = RevmContender::new(workload);
            eprintln!(
                "  [{}/{REVM_ID}: genesis in {:.1?}]",
                workload.name(),
                setup.elapsed()
            );
            c
        });
        b.iter_custom(|iterations| {
            let (measured, gas) = c.run(iterations, RevmBuild::Once);
            record(workload, REVM_ID, iterations, measured, gas);
            measured
        });
    });
}

fn bench_workload(c: &mut Criterion, workload: Workload) {
    let mut group = c.benchmark_group(workload.name());
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(workload.txs_per_iteration()));
    bench_revm(&mut group, workload);
    for (id, kind, timed_commit) in BRAID_IDS {
        // The SLOAD workload measures execution only: its commit is two records.
        if workload == Workload::Sload && timed_commit {
            continue;
        }
        bench_braid(&mut group, workload, id, kind, timed_commit);
    }
    group.finish();
}

/// Mean microseconds per transaction over criterion's samples.
fn micros_per_tx(record: &Record) -> Option<f64> {
    if record.calls.len() < SAMPLES {
        return None;
    }
    let samples = &record.calls[record.calls.len() - SAMPLES..];
    let per_iteration: f64 = samples
        .iter()
        .map(|(n, d)| d.as_secs_f64() / *n as f64)
        .sum::<f64>()
        / SAMPLES as f64;
    Some(per_iteration * 1e6 / record.txs_per_iteration as f64)
}

fn print_summary() {
    RECORDS.with_borrow(|records| {
        if records.is_empty() {
            return;
        }
        println!("\nSummary: microseconds per transaction (mean of criterion's {SAMPLES} samples), ratio to revm_cachedb");
        println!("{:<8} {:<27} {:>10} {:>8} {:>10} {:>12}", "workload", "contender", "µs/tx", "ratio", "gas tx 0", "txs checked");
        for workload in [Workload::Erc20, Workload::Eth, Workload::Sload] {
            let get = |id: &str| records.get(&(workload.name().to_string(), id.to_string()));
            let revm = get(REVM_ID).and_then(micros_per_tx);
            let ids = std::iter::once(REVM_ID).chain(BRAID_IDS.iter().map(|(id, ..)| *id));
            let longest = ids.clone().filter_map(get).map(|r| r.gas.len()).max().unwrap_or(0);
            // Every transaction every contender ran, checked against plain
            // revm's gas for the same transaction.
            let reference = reference_gas(workload, longest);
            for id in ids {
                let Some(record) = get(id) else { continue };
                if let Some(i) = (0..record.gas.len()).find(|&i| record.gas[i] != reference[i]) {
                    panic!(
                        "{} {id}: transaction {i} used {} gas, revm {}",
                        workload.name(),
                        record.gas[i],
                        reference[i]
                    );
                }
                let Some(us) = micros_per_tx(record) else { continue };
                let ratio = revm.map_or("-".to_string(), |r| format!("{:.2}x", us / r));
                let first = record.gas.first().copied().unwrap_or_default();
                println!("{:<8} {:<27} {:>10.2} {:>8} {:>10} {:>12}", workload.name(), id, us, ratio, first, record.gas.len());
            }
        }
    });
}

fn benches(c: &mut Criterion) {
    for workload in [Workload::Erc20, Workload::Eth, Workload::Sload] {
        bench_workload(c, workload);
    }
}

/// Runs [`PROFILE_BLOCKS`] blocks of one contender (see the module docs).
fn profile(spec: &str) {
    let (workload, contender) = spec
        .split_once('-')
        .unwrap_or_else(|| panic!("BRAID_EVM_PROFILE={spec}: expected <workload>-<braid|revm>"));
    let workload = [Workload::Erc20, Workload::Eth, Workload::Sload]
        .into_iter()
        .find(|w| w.name() == workload)
        .unwrap_or_else(|| panic!("unknown workload {workload}: erc20, eth or sload"));
    let blocks = std::env::var("BRAID_EVM_PROFILE_BLOCKS")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(PROFILE_BLOCKS);
    let iterations = blocks * TXS_PER_BLOCK / workload.txs_per_iteration();
    let start = Instant::now();
    let (measured, gas_each) = match contender {
        "braid" => {
            let chain = braid_genesis(BackendKind::Memory, workload);
            BraidContender {
                chain,
                workload,
                next: 0,
                timed_commit: false,
            }
            .run(iterations)
        }
        "braid_rocksdb" => {
            let chain = braid_genesis(BackendKind::RocksDb, workload);
            BraidContender {
                chain,
                workload,
                next: 0,
                timed_commit: false,
            }
            .run(iterations)
        }
        "revm" => RevmContender::new(workload).run(iterations, RevmBuild::Once),
        "revm_rebuild" => RevmContender::new(workload).run(iterations, RevmBuild::PerTx),
        "revm_rebuild_lazy" => {
            RevmContender::new(workload).run(iterations, RevmBuild::PerTxLazyFrames)
        }
        other => panic!(
            "unknown contender {other}: braid, braid_rocksdb, revm, revm_rebuild or revm_rebuild_lazy"
        ),
    };
    let txs = iterations * workload.txs_per_iteration();
    let reference = reference_gas(workload, gas_each.len());
    assert_eq!(gas_each, reference, "{spec}: gas differs from revm's");
    let gas = gas_each.first().copied().unwrap_or_default();
    eprintln!(
        "{spec}: {txs} transactions (gas of each checked against revm), {:.2} µs/tx measured, {gas} gas for tx 0, {:.1?} in all",
        measured.as_secs_f64() * 1e6 / txs as f64,
        start.elapsed()
    );
}

fn main() {
    if let Ok(spec) = std::env::var("BRAID_EVM_PROFILE") {
        profile(&spec);
        return;
    }
    let mut criterion = Criterion::default()
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    print_summary();
}
