//! A small chain for the tests: a `StateDb` over `MemoryBackend`, one
//! `BlockState` per block, one `Kernel` per transaction, a commit per block.

#![allow(dead_code, reason = "each test binary uses part of the harness")]

use std::path::PathBuf;
use std::sync::Arc;

use braid_core::{BlockEnv, EngineId, Engines, Identity, Log, Message, NoBlockHashes, Outcome};
use braid_evm::EvmEngine;
use braid_evm::EvmTransactOutcome;
use braid_evm::layout::{self, AccountRecord, GenesisAccount};
use braid_evm::revm::context::TxEnv;
use braid_evm::revm::primitives::hardfork::SpecId;
use braid_evm::revm::primitives::{Address, U256};
use braid_kernel::{BlockState, Kernel};
use braid_state::{MemoryBackend, StateDb};

/// `../shared` beside the repository, where the real inputs live.
pub fn shared_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        dir.is_dir(),
        "the shared inputs are missing: expected {} (the `shared/` folder beside the repository root)",
        dir.display()
    );
    dir
}

/// What one transaction of a block gave.
pub struct Applied {
    /// The engine's result.
    pub result: braid_core::Result<EvmTransactOutcome>,
    /// Logs the kernel kept for the transaction (empty if it was not committed).
    pub kernel_logs: Vec<Log>,
}

/// A Braid state with the EVM engine registered.
pub struct Harness {
    pub db: StateDb,
    pub engine: Arc<EvmEngine>,
    pub engines: Engines,
    pub env: BlockEnv,
}

impl Harness {
    pub fn new(spec: SpecId) -> Self {
        let engine = Arc::new(EvmEngine::new(spec));
        let mut engines = Engines::new();
        engines.register(engine.clone());
        let db = StateDb::open(Arc::new(MemoryBackend::new())).expect("open memory state");
        let env = BlockEnv {
            number: 1,
            timestamp: 1_700_000_000,
            base_fee: 7,
            ..BlockEnv::default()
        };
        Harness {
            db,
            engine,
            engines,
            env,
        }
    }

    /// Commits a genesis allocation as one block.
    pub fn genesis(&mut self, alloc: &[(Address, GenesisAccount)]) {
        let writes = alloc
            .iter()
            .flat_map(|(a, acc)| layout::genesis_writes(*a, acc))
            .collect();
        self.db
            .commit_block(writes, |_| Vec::new())
            .expect("commit genesis");
    }

    /// Applies `txs` as one block: each through its own kernel, committed if
    /// valid, dropped if invalid; then commits the block and moves to the next.
    pub fn block(&mut self, txs: Vec<TxEnv>) -> Vec<Applied> {
        let mut block = BlockState::new(&self.db, self.env.clone());
        let mut applied = Vec::with_capacity(txs.len());
        for tx in txs {
            let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, u64::MAX);
            match self.engine.invoke_transaction(&mut kernel, tx) {
                Ok((_, outcome)) => {
                    let effects = kernel.commit();
                    applied.push(Applied {
                        result: Ok(outcome),
                        kernel_logs: effects.logs,
                    });
                }
                Err(e) => {
                    drop(kernel);
                    applied.push(Applied {
                        result: Err(e),
                        kernel_logs: Vec::new(),
                    });
                }
            }
        }
        let changes = block.into_changes();
        self.db
            .commit_block(changes, |_| Vec::new())
            .expect("commit block");
        self.env.number += 1;
        self.env.timestamp += 12;
        applied
    }

    /// A Braid call into the EVM (no fee, no nonce) in a throw-away transaction.
    pub fn call(&self, caller: Address, target: Address, input: Vec<u8>) -> Outcome {
        let mut block = BlockState::new(&self.db, self.env.clone());
        let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 10_000_000);
        let message = Message {
            caller: layout::identity(caller),
            target: layout::identity(target),
            input,
            value: [0; 32],
            gas_limit: 10_000_000,
        };
        kernel
            .call(EngineId::EVM, message)
            .expect("braid call")
            .outcome
    }

    pub fn account(&self, address: Address) -> Option<AccountRecord> {
        let raw = self
            .db
            .get(
                EngineId::EVM,
                &layout::identity(address),
                &layout::ACCOUNT_RECORD_KEY,
            )
            .unwrap();
        raw.map(|r| AccountRecord::from_bytes(&r).expect("record decodes"))
    }

    pub fn storage(&self, address: Address, slot: U256) -> U256 {
        let key = layout::storage_key(&slot.to_be_bytes::<32>());
        let raw = self
            .db
            .get(EngineId::EVM, &layout::identity(address), &key)
            .unwrap();
        raw.map_or(U256::ZERO, |v| U256::from_be_slice(&v))
    }

    /// Every stored storage slot of `address`, ascending.
    pub fn storage_slots(&self, address: Address) -> Vec<(U256, U256)> {
        let id: Identity = layout::identity(address);
        self.db
            .scan(EngineId::EVM, &id, &[braid_core::namespace::STORAGE])
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                (
                    U256::from_be_bytes(layout::slot_of(&k).unwrap()),
                    U256::from_be_slice(&v),
                )
            })
            .collect()
    }

    /// Number of keys of the EVM engine in committed state.
    pub fn evm_keys(&self) -> usize {
        self.db.scan_engine(EngineId::EVM).unwrap().len()
    }
}

pub fn eoa(balance: U256) -> GenesisAccount {
    GenesisAccount {
        balance,
        ..GenesisAccount::default()
    }
}

pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000_000_000_000u64)
}
