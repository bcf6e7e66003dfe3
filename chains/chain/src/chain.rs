//! [`Chain`]: genesis, block application and the head, over one [`StateDb`].

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy_primitives::U256;
use braid_core::{
    BlockEnv, BlockHashes, CoreError, EngineFailure, EngineId, Engines, Identity, Log, Message,
    ScopeKind, module_identity,
};
use braid_evm::{EvmEngine, EvmError};
use braid_kernel::{BlockState, Kernel};
use braid_pvm::{Config as PvmConfig, PvmEngine, PvmSpec};
use braid_state::{Backend, StateDb};
use braid_wasm::WasmEngine;
use parity_scale_codec::{Decode, Encode};

use crate::block::{Block, BlockHeader, RawTransaction};
use crate::fee;
use crate::spec::ChainSpec;
use crate::tx::{BraidCall, EthereumRules, EthereumTransaction, SignedBraidTransaction, nonce_key};
use crate::{ChainError, Result, TxError};

const HEAD_KEY: &[u8] = b"head";

fn header_key(number: u64) -> Vec<u8> {
    let mut key = b"header/".to_vec();
    key.extend_from_slice(&number.to_be_bytes());
    key
}

/// Which kind of transaction a receipt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionKind {
    /// Ethereum-signed, run by the EVM.
    Ethereum,
    /// A Braid transaction (list of calls).
    Braid,
}

/// The result of one applied transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Transaction kind.
    pub kind: TransactionKind,
    /// Whether it succeeded (Ethereum: status 1; Braid: every call halted).
    pub success: bool,
    /// Gas used, in Braid gas (a Braid transaction's includes its intrinsic gas).
    pub gas_used: u64,
    /// What the sender paid per gas, in wei (EIP-1559 `effective_gas_price`;
    /// per Braid gas for a Braid transaction, per EVM gas for an Ethereum one).
    pub effective_gas_price: u128,
    /// Logs of the transaction (empty if it failed).
    pub logs: Vec<Log>,
    /// Contract created by an Ethereum create transaction.
    pub created: Option<Identity>,
}

/// What applying one block did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockReport {
    /// The stored header.
    pub header: BlockHeader,
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Native gas used per engine.
    pub gas_by_engine: BTreeMap<EngineId, u64>,
}

impl BlockReport {
    /// Transactions that succeeded.
    pub fn ok(&self) -> usize {
        self.receipts.iter().filter(|r| r.success).count()
    }
    /// Transactions that were included but failed (reverted or faulted).
    pub fn failed(&self) -> usize {
        self.receipts.len() - self.ok()
    }
}

/// Answers `BLOCKHASH` from the stored headers (the last 256 blocks).
struct StoredHashes<'a> {
    db: &'a StateDb,
    head: u64,
}

impl BlockHashes for StoredHashes<'_> {
    /// The last 256 blocks' hashes (EIP-210's window, as `BLOCKHASH`
    /// defines it); `None` outside it. Every block in the window was
    /// committed with its header, so a header that is missing, does not
    /// decode, or cannot be read is an error that stops the block.
    fn block_hash(&self, number: u64) -> braid_core::Result<Option<[u8; 32]>> {
        if number > self.head || self.head - number > 256 {
            return Ok(None);
        }
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| CoreError::BlockHash {
            number,
            source,
        };
        let bytes = self
            .db
            .meta(&header_key(number))
            .map_err(|e| fail(Box::new(e)))?
            .ok_or_else(|| fail(Box::new(MissingHeader { number })))?;
        let header = BlockHeader::decode(&mut &bytes[..]).map_err(|e| fail(Box::new(e)))?;
        Ok(Some(header.hash()))
    }
}

/// A block inside the `BLOCKHASH` window has no stored header.
#[derive(Debug, thiserror::Error)]
#[error("no header is stored for block {number}")]
struct MissingHeader {
    number: u64,
}

/// A chain: its spec, its engines and its committed state.
pub struct Chain {
    spec: ChainSpec,
    db: StateDb,
    engines: Engines,
    evm: Arc<EvmEngine>,
    head: BlockHeader,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("name", &self.spec.name)
            .field("head", &self.head.number)
            .finish()
    }
}

impl Chain {
    /// Opens the chain stored in `backend`, writing genesis (block 0) in one
    /// atomic batch if the backend is empty.
    ///
    /// # Errors
    /// [`ChainError::WrongChain`] if the store holds another chain; state and
    /// core failures.
    pub fn open(spec: ChainSpec, backend: Arc<dyn Backend>) -> Result<Self> {
        let db = StateDb::open(backend)?;
        let evm = Arc::new(EvmEngine::new(spec.evm_spec.spec_id()));
        let mut engines = Engines::new();
        engines.register(evm.clone());
        let pvm =
            PvmEngine::with_config(PvmConfig::new(PvmSpec::Gp0_7_2).with_backend(spec.pvm_backend))
                .map_err(|e| CoreError::engine(EngineId::PVM, EngineFailure::Internal, e))?;
        engines.register(Arc::new(pvm));
        let wasm = WasmEngine::new()
            .map_err(|e| CoreError::engine(EngineId::WASM, EngineFailure::Internal, e))?;
        engines.register(Arc::new(wasm));
        for pin in &spec.plugins {
            let plugin = braid_plugin_loader::load(&pin.path, &pin.sha256, pin.engine)?;
            tracing::info!(engine = %pin.engine, path = %pin.path.display(), "plugin engine loaded");
            engines.register(Arc::new(plugin));
        }
        *engines.rates_mut() = spec.gas_rates.clone();
        let stored_head = match db.meta(HEAD_KEY)? {
            Some(bytes) => Some(decode_header(&bytes)?),
            None => None,
        };
        let mut chain = Chain {
            head: BlockHeader {
                number: 0,
                parent_hash: [0; 32],
                state_root: db.root(),
                timestamp: spec.genesis_timestamp,
                transactions_root: braid_core::keccak256(&[]),
                gas_used: 0,
                chain_id: spec.chain_id,
            },
            spec,
            db,
            engines,
            evm,
        };
        match stored_head {
            Some(head) => {
                if head.chain_id != chain.spec.chain_id {
                    return Err(ChainError::WrongChain {
                        stored: format!("chain id {}", head.chain_id),
                        spec: format!("chain id {}", chain.spec.chain_id),
                    });
                }
                chain.head = head;
            }
            None => chain.write_genesis()?,
        }
        Ok(chain)
    }

    fn write_genesis(&mut self) -> Result<()> {
        let env = self.block_env(0, self.spec.genesis_timestamp);
        let mut block = BlockState::new(&self.db, env);
        for account in &self.spec.alloc {
            let evm_account = braid_evm::layout::GenesisAccount {
                nonce: account.nonce,
                balance: account.balance,
                code: account.code.clone(),
                storage: account.storage.iter().map(|(k, v)| (*k, *v)).collect(),
            };
            for (key, value) in braid_evm::layout::genesis_writes(account.address, &evm_account) {
                block.set(key, value)?;
            }
        }
        // Genesis modules deploy through the kernel: validated, stored by
        // hash, instance record written (RFC 0002, Kernel::deploy).
        let hashes = StoredHashes {
            db: &self.db,
            head: 0,
        };
        let mut kernel = Kernel::new(&mut block, &self.engines, &hashes, 0);
        for (i, module) in self.spec.modules.iter().enumerate() {
            let identity = braid_core::module_identity(
                self.spec.chain_id,
                module.name.as_bytes(),
                module.version,
            );
            kernel
                .deploy(module.engine, identity, &module.code)
                .map_err(|e| ChainError::SpecField {
                    field: format!("genesis.modules[{i}].path"),
                    value: module.path.display().to_string(),
                    reason: e.to_string(),
                })?;
            tracing::info!(module = %module.name, version = module.version, %identity, "genesis module deployed");
        }
        kernel.commit();
        let changes = block.into_changes();
        self.commit(
            changes,
            0,
            self.spec.genesis_timestamp,
            braid_core::keccak256(&[]),
            0,
        )?;
        Ok(())
    }

    fn commit(
        &mut self,
        changes: Vec<(braid_state::StateKey, Option<Vec<u8>>)>,
        number: u64,
        timestamp: u64,
        transactions_root: [u8; 32],
        gas_used: u64,
    ) -> Result<BlockHeader> {
        // The header carries the new root and is written in the same batch.
        let parent_hash = if number == 0 {
            [0; 32]
        } else {
            self.head.hash()
        };
        let mut header = BlockHeader {
            number,
            parent_hash,
            state_root: [0; 32],
            timestamp,
            transactions_root,
            gas_used,
            chain_id: self.spec.chain_id,
        };
        let commit = self.db.commit_block(changes, |root| {
            header.state_root = *root;
            let encoded = header.encode();
            vec![
                (header_key(number), encoded.clone()),
                (HEAD_KEY.to_vec(), encoded),
            ]
        })?;
        debug_assert_eq!(commit.root, header.state_root);
        self.head = header.clone();
        Ok(header)
    }

    fn block_env(&self, number: u64, timestamp: u64) -> BlockEnv {
        BlockEnv {
            chain_id: self.spec.chain_id,
            number,
            timestamp,
            coinbase: self.coinbase(),
            gas_limit: self.spec.block_gas_limit,
            base_fee: self.spec.base_fee,
            prevrandao: [0; 32],
            difficulty: [0; 32],
            excess_blob_gas: Some(0),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The committed state.
    pub fn db(&self) -> &StateDb {
        &self.db
    }

    /// The header of the last applied block (genesis is block 0).
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }

    /// The stored header of block `number`.
    ///
    /// # Errors
    /// State failures; [`ChainError::State`] with a corrupt-record error if it does not decode.
    pub fn header(&self, number: u64) -> Result<Option<BlockHeader>> {
        match self.db.meta(&header_key(number))? {
            Some(bytes) => Ok(Some(decode_header(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Opens the chain already stored in `backend` and writes nothing, for
    /// readers such as `braid query` (over a read-only store).
    ///
    /// # Errors
    /// [`ChainError::NoChain`] if the backend holds no head block; as
    /// [`Chain::open`].
    pub fn open_existing(spec: ChainSpec, backend: Arc<dyn Backend>) -> Result<Self> {
        if backend.get(braid_state::Column::Meta, HEAD_KEY)?.is_none() {
            return Err(ChainError::NoChain);
        }
        Self::open(spec, backend)
    }

    /// Applies `block` on top of the head and writes it in one atomic batch.
    /// An invalid transaction refuses the whole block and changes nothing.
    ///
    /// # Errors
    /// [`ChainError::BlockOrder`] if the block does not extend the head;
    /// [`ChainError::InvalidTransaction`] naming the transaction and why;
    /// core and state failures.
    pub fn apply_block(&mut self, block: &Block) -> Result<BlockReport> {
        if block.number != self.head.number + 1 {
            return Err(ChainError::BlockOrder {
                number: block.number,
                reason: format!("expected block {}", self.head.number + 1),
            });
        }
        if block.timestamp < self.head.timestamp {
            return Err(ChainError::BlockOrder {
                number: block.number,
                reason: format!(
                    "timestamp {} is before the head's {}",
                    block.timestamp, self.head.timestamp
                ),
            });
        }
        let env = self.block_env(block.number, block.timestamp);
        let hashes = StoredHashes {
            db: &self.db,
            head: self.head.number,
        };
        let mut state = BlockState::new(&self.db, env);
        let mut receipts = Vec::with_capacity(block.transactions.len());
        let mut gas_by_engine = BTreeMap::new();
        let mut tx_hashes = Vec::with_capacity(32 * block.transactions.len());
        // One budget in Braid gas for every transaction of the block (RFC 0009).
        let mut gas_left = self.spec.block_braid_gas_limit();
        for (index, raw) in block.transactions.iter().enumerate() {
            let invalid = |reason| ChainError::InvalidTransaction {
                block: block.number,
                index,
                reason,
            };
            let applied = |e: ApplyError| match e {
                ApplyError::Invalid(reason) => invalid(reason),
                ApplyError::Chain(e) => e,
            };
            let (receipt, effects_gas, hash) = match raw {
                RawTransaction::Ethereum(hex) => {
                    let bytes = decode_hex("ethereum", hex).map_err(invalid)?;
                    let tx = EthereumTransaction::decode(&bytes).map_err(invalid)?;
                    let gas_limit = (self.engines.rates())
                        .checked_to_braid(EngineId::EVM, tx.gas_limit())
                        .unwrap_or(u64::MAX);
                    if gas_limit > gas_left {
                        return Err(invalid(TxError::BlockGasExceeded {
                            gas_limit,
                            left: gas_left,
                        }));
                    }
                    let (receipt, gas) = self
                        .apply_ethereum(&mut state, &hashes, &tx)
                        .map_err(applied)?;
                    (receipt, gas, tx.hash())
                }
                RawTransaction::Braid(hex) => {
                    let bytes = decode_hex("braid", hex).map_err(invalid)?;
                    let tx = SignedBraidTransaction::decode(&bytes).map_err(invalid)?;
                    if tx.transaction.gas_limit > gas_left {
                        return Err(invalid(TxError::BlockGasExceeded {
                            gas_limit: tx.transaction.gas_limit,
                            left: gas_left,
                        }));
                    }
                    let (receipt, gas) = self
                        .apply_braid(&mut state, &hashes, &tx, bytes.len())
                        .map_err(applied)?;
                    (receipt, gas, braid_core::keccak256(&bytes))
                }
            };
            // Never below zero: a transaction uses at most its gas limit,
            // which fit in what was left.
            gas_left = gas_left.saturating_sub(receipt.gas_used);
            for (engine, gas) in effects_gas {
                *gas_by_engine.entry(engine).or_insert(0) += gas;
            }
            tx_hashes.extend_from_slice(&hash);
            tracing::debug!(block = block.number, index, kind = ?receipt.kind, success = receipt.success, gas = receipt.gas_used, "transaction applied");
            receipts.push(receipt);
        }
        let gas_used = receipts.iter().map(|r| r.gas_used).sum();
        let changes = state.into_changes();
        let header = self.commit(
            changes,
            block.number,
            block.timestamp,
            braid_core::keccak256(&tx_hashes),
            gas_used,
        )?;
        tracing::info!(
            number = header.number,
            transactions = receipts.len(),
            gas = header.gas_used,
            root = %hex::encode(header.state_root),
            "block committed"
        );
        Ok(BlockReport {
            header,
            receipts,
            gas_by_engine,
        })
    }

    fn apply_ethereum(
        &self,
        state: &mut BlockState<'_>,
        hashes: &dyn BlockHashes,
        tx: &EthereumTransaction,
    ) -> Result<(Receipt, BTreeMap<EngineId, u64>), ApplyError> {
        // Ethereum's validity rules, plus replay protection (RFC 0007).
        let rules = EthereumRules {
            require_chain_id: true,
            ..EthereumRules::new(&self.evm, self.spec.chain_id)
        };
        tx.validate(&rules).map_err(ApplyError::Invalid)?;
        let budget = self.engines.rates().to_braid(EngineId::EVM, tx.gas_limit());
        let mut kernel = Kernel::new(state, &self.engines, hashes, budget);
        let (_, outcome) = self
            .evm
            .invoke_transaction(&mut kernel, tx.tx_env())
            .map_err(|e| match (&e, EvmError::from_core(&e)) {
                (
                    CoreError::Engine {
                        kind: EngineFailure::InvalidTransaction,
                        ..
                    },
                    Some(invalid),
                ) => ApplyError::Invalid(TxError::Evm(invalid.clone())),
                _ => ApplyError::Chain(e.into()),
            })?;
        let effects = kernel.commit();
        let receipt = Receipt {
            kind: TransactionKind::Ethereum,
            success: outcome.success,
            gas_used: effects.braid_gas_used,
            effective_gas_price: tx.effective_gas_price(self.spec.base_fee),
            logs: effects.logs,
            created: outcome.created_address.map(|a| Identity(a.0.0)),
        };
        Ok((receipt, effects.gas_by_engine))
    }

    fn apply_braid(
        &self,
        state: &mut BlockState<'_>,
        hashes: &dyn BlockHashes,
        signed: &SignedBraidTransaction,
        encoded_len: usize,
    ) -> Result<(Receipt, BTreeMap<EngineId, u64>), ApplyError> {
        let invalid = |reason| Err(ApplyError::Invalid(reason));
        let sender = signed.verify().map_err(ApplyError::Invalid)?;
        let tx = &signed.transaction;
        if tx.chain_id != self.spec.chain_id {
            return invalid(TxError::WrongChainId {
                expected: self.spec.chain_id,
                got: tx.chain_id,
            });
        }
        if tx.calls.is_empty() {
            return invalid(TxError::NoCalls);
        }
        for (call, c) in tx.calls.iter().enumerate() {
            let engine = c.engine();
            let Ok(runner) = self.engines.get(engine) else {
                return invalid(TxError::UnknownEngine { call, engine });
            };
            if matches!(c, BraidCall::Deploy { .. }) && runner.scope_kind() != ScopeKind::Instance {
                return invalid(TxError::DeployUnsupported { call, engine });
            }
        }
        let nonce_key = nonce_key(&sender);
        let expected = match state
            .get(nonce_key.engine, &nonce_key.identity, &nonce_key.engine_key)
            .map_err(|e| ApplyError::Chain(e.into()))?
        {
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                ApplyError::Chain(ChainError::State(braid_state::StateError::Corrupt {
                    what: "braid nonce",
                    detail: format!("{} bytes, expected 8", bytes.len()),
                }))
            })?),
            None => 0,
        };
        if tx.nonce != expected {
            return invalid(TxError::WrongNonce {
                sender,
                expected,
                got: tx.nonce,
            });
        }
        // Bounded and paid for (RFC 0009).
        let intrinsic = fee::intrinsic_gas(encoded_len);
        if tx.gas_limit < intrinsic {
            return invalid(TxError::IntrinsicGasAboveLimit {
                gas_limit: tx.gas_limit,
                intrinsic,
            });
        }
        let terms = fee::FeeTerms::new(
            tx.max_fee_per_gas,
            tx.max_priority_fee_per_gas,
            self.spec.base_fee,
        )
        .map_err(ApplyError::Invalid)?;
        let value = tx.calls.iter().fold(U256::ZERO, |sum, call| match call {
            BraidCall::Call { value, .. } => sum.saturating_add(U256::from_be_bytes(*value)),
            BraidCall::Deploy { .. } => sum,
        });
        let required = fee::cost(tx.gas_limit, tx.max_fee_per_gas).saturating_add(value);
        let balance = fee::balance(state, &sender).map_err(ApplyError::Chain)?;
        if balance < required {
            return invalid(TxError::InsufficientFunds {
                sender,
                balance,
                required,
            });
        }
        let chain = ApplyError::Chain;
        fee::debit(
            state,
            &sender,
            fee::cost(tx.gas_limit, terms.effective_gas_price),
        )
        .map_err(chain)?;

        let mut kernel = Kernel::new(state, &self.engines, hashes, tx.gas_limit - intrinsic);
        let mut success = true;
        let mut created = None;
        for call in &tx.calls {
            let halted = match call {
                BraidCall::Call {
                    engine,
                    target,
                    input,
                    value,
                } => {
                    let message = Message {
                        caller: sender,
                        target: Identity(*target),
                        input: input.clone(),
                        value: *value,
                        gas_limit: u64::MAX,
                    };
                    let result = kernel
                        .call(EngineId(*engine), message)
                        .map_err(|e| ApplyError::Chain(e.into()))?;
                    result.outcome.is_halt()
                }
                BraidCall::Deploy {
                    engine,
                    name,
                    version,
                    code,
                } => {
                    let identity = module_identity(self.spec.chain_id, name, *version);
                    match kernel.deploy(EngineId(*engine), identity, code) {
                        Ok(_) => {
                            created = Some(identity);
                            true
                        }
                        // Deterministic refusals of the deploy: the transaction fails.
                        Err(CoreError::InvalidCode { .. } | CoreError::InstanceExists { .. }) => {
                            false
                        }
                        Err(e) => return Err(ApplyError::Chain(e.into())),
                    }
                }
            };
            if !halted {
                success = false;
                break;
            }
        }
        let effects = if success {
            kernel.commit()
        } else {
            kernel.discard()
        };
        let gas_used = intrinsic
            .saturating_add(effects.braid_gas_used)
            .min(tx.gas_limit);
        let refund = fee::cost(tx.gas_limit - gas_used, terms.effective_gas_price);
        fee::credit(state, &sender, refund).map_err(chain)?;
        let coinbase = self.coinbase();
        fee::credit(
            state,
            &coinbase,
            fee::cost(gas_used, terms.priority_fee_per_gas),
        )
        .map_err(chain)?;
        state
            .set(nonce_key, Some((expected + 1).to_be_bytes().to_vec()))
            .map_err(|e| ApplyError::Chain(e.into()))?;
        let receipt = Receipt {
            kind: TransactionKind::Braid,
            success,
            gas_used,
            effective_gas_price: terms.effective_gas_price,
            logs: effects.logs,
            created: created.filter(|_| success),
        };
        Ok((receipt, effects.gas_by_engine))
    }

    fn coinbase(&self) -> Identity {
        Identity(self.spec.coinbase.0.0)
    }
}

enum ApplyError {
    Invalid(TxError),
    Chain(ChainError),
}

fn decode_hex(kind: &'static str, text: &str) -> Result<Vec<u8>, TxError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|e| TxError::Decode {
        kind,
        prefix: text.chars().take(16).collect(),
        message: format!("not hex: {e}"),
    })
}

fn decode_header(bytes: &[u8]) -> Result<BlockHeader> {
    BlockHeader::decode(&mut &bytes[..]).map_err(|e| {
        ChainError::State(braid_state::StateError::Corrupt {
            what: "block header",
            detail: e.to_string(),
        })
    })
}
