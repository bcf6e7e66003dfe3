//! [`Chain`]: genesis, block application and the head, over one [`StateDb`].

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy_consensus::Transaction;
use alloy_eips::Typed2718;
use alloy_primitives::Bloom;
use braid_core::{
    BlockEnv, BlockHashes, CoreError, EngineFailure, EngineId, Engines, Identity, Message, Outcome,
    ScopeKind, module_identity,
};
use braid_evm::{EvmEngine, EvmError};
use braid_kernel::{BlockState, Kernel};
use braid_pvm::{Config as PvmConfig, PvmEngine, PvmSpec};
use braid_state::{Backend, StateDb};
use braid_wasm::WasmEngine;
use parity_scale_codec::Encode;

use crate::block::{Block, BlockHeader, RawTransaction};
use crate::call::{
    BraidCallRequest, BraidCallResult, EthCall, EthCallResult, Exec, StateOverrides,
};
use crate::fee;
use crate::reader::ChainReader;
use crate::receipt::{
    BRAID_TX_TYPE, CallReport, CallStatus, Receipt, TransactionKind, encode_receipts,
};
use crate::spec::{ChainSpec, EvmSpec};
use crate::store::{
    CHAIN_ID_KEY, HEAD_KEY, StoredHashes, block_hash_key, body_key, decode_header, decode_u64,
    header_key, receipts_key, tx_key,
};
use crate::tx::{BraidCall, EthereumRules, EthereumTransaction, SignedBraidTransaction, nonce_key};
use crate::{ChainError, Result, TxError};

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

/// The block environment of block `number` at `timestamp` on `spec`'s chain.
pub(crate) fn block_env(spec: &ChainSpec, number: u64, timestamp: u64) -> BlockEnv {
    BlockEnv {
        chain_id: spec.chain_id,
        number,
        timestamp,
        coinbase: Identity(spec.coinbase.0.0),
        gas_limit: spec.block_gas_limit,
        base_fee: spec.base_fee,
        prevrandao: [0; 32],
        difficulty: [0; 32],
        excess_blob_gas: Some(0),
    }
}

/// A chain: its spec, its engines and its committed state.
pub struct Chain {
    spec: Arc<ChainSpec>,
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
        let genesis_root = db.root();
        let mut chain = Chain {
            head: BlockHeader {
                number: 0,
                parent_hash: [0; 32],
                state_root: genesis_root,
                timestamp: spec.genesis_timestamp,
                transactions_root: alloy_consensus::EMPTY_ROOT_HASH.0,
                receipts_root: alloy_consensus::EMPTY_ROOT_HASH.0,
                logs_bloom: [0; 256],
                gas_used: 0,
                gas_limit: spec.block_braid_gas_limit(),
                base_fee_per_gas: spec.base_fee,
                beneficiary: spec.coinbase.0.0,
                prevrandao: [0; 32],
                requests_hash: spec.evm_spec != EvmSpec::Cancun,
            },
            spec: Arc::new(spec),
            db,
            engines,
            evm,
        };
        match stored_head {
            Some(head) => {
                let stored = match chain.db.meta(CHAIN_ID_KEY)? {
                    Some(bytes) => decode_u64("chain id", &bytes)?,
                    None => return Err(crate::store::corrupt("chain id", "missing")),
                };
                if stored != chain.spec.chain_id {
                    return Err(ChainError::WrongChain {
                        stored: format!("chain id {stored}"),
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
        let env = block_env(&self.spec, 0, self.spec.genesis_timestamp);
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
        self.commit(changes, 0, self.spec.genesis_timestamp, &[], &[])?;
        Ok(())
    }

    /// Writes the block's state changes, header, body, receipts and
    /// indexes in one atomic batch (`crate::store`) and makes it the head.
    fn commit(
        &mut self,
        changes: Vec<(braid_state::StateKey, Option<Vec<u8>>)>,
        number: u64,
        timestamp: u64,
        transactions: &[RawTransaction],
        receipts: &[Receipt],
    ) -> Result<BlockHeader> {
        let parent_hash = if number == 0 {
            [0; 32]
        } else {
            self.head.hash()
        };
        let mut logs_bloom = Bloom::ZERO;
        for receipt in receipts {
            logs_bloom |= receipt.logs_bloom();
        }
        let transactions_root =
            alloy_consensus::proofs::ordered_trie_root_with_encoder(transactions, |tx, buf| {
                buf.extend_from_slice(tx.bytes())
            });
        let receipts_root =
            alloy_consensus::proofs::ordered_trie_root_with_encoder(receipts, |r, buf| {
                buf.extend_from_slice(&r.encode_2718())
            });
        let mut header = BlockHeader {
            number,
            parent_hash,
            state_root: [0; 32],
            timestamp,
            transactions_root: transactions_root.0,
            receipts_root: receipts_root.0,
            logs_bloom: logs_bloom.0.0,
            gas_used: receipts.iter().map(|r| r.gas_used).sum(),
            gas_limit: self.spec.block_braid_gas_limit(),
            base_fee_per_gas: self.spec.base_fee,
            beneficiary: self.spec.coinbase.0.0,
            prevrandao: [0; 32],
            requests_hash: self.spec.evm_spec != EvmSpec::Cancun,
        };
        let body = transactions.to_vec().encode();
        let encoded_receipts = encode_receipts(receipts);
        let chain_id = self.spec.chain_id;
        let commit = self.db.commit_block(changes, |root| {
            header.state_root = *root;
            let encoded = header.encode();
            let hash = braid_core::keccak256(&encoded);
            let mut meta = vec![
                (header_key(number), encoded.clone()),
                (HEAD_KEY.to_vec(), encoded),
                (block_hash_key(&hash), number.to_be_bytes().to_vec()),
                (body_key(number), body),
                (receipts_key(number), encoded_receipts),
            ];
            for (index, receipt) in receipts.iter().enumerate() {
                let location = (number, index as u32).encode();
                meta.push((tx_key(&receipt.hash), location));
            }
            if number == 0 {
                meta.push((CHAIN_ID_KEY.to_vec(), chain_id.to_be_bytes().to_vec()));
            }
            meta
        })?;
        debug_assert_eq!(commit.root, header.state_root);
        self.head = header.clone();
        Ok(header)
    }

    /// The spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// A thread-safe handle on the committed blocks and state, for readers
    /// that run while this chain applies the next block ([`ChainReader`]).
    pub fn reader(&self) -> ChainReader {
        ChainReader {
            spec: self.spec.clone(),
            engines: self.engines.clone(),
            evm: self.evm.clone(),
            view: self.db.view(),
        }
    }

    fn exec(&self) -> Exec<'_> {
        Exec {
            db: &self.db,
            engines: &self.engines,
            evm: &self.evm,
            spec: &self.spec,
            head: &self.head,
        }
    }

    /// Runs an Ethereum call on a throw-away copy of the head state with
    /// `overrides`, never committed: the base of `eth_call` and
    /// `eth_estimateGas` (rules in [`braid_evm::EvmEngine::simulate`]).
    ///
    /// # Errors
    /// [`ChainError::InvalidCall`] if the EVM refuses the call (funds,
    /// intrinsic gas...); state and core failures.
    pub fn call(&self, call: &EthCall, overrides: &StateOverrides) -> Result<EthCallResult> {
        self.exec().eth_call(call, overrides)
    }

    /// Runs a call to any engine's instance on a throw-away copy of the head
    /// state, never committed (`braid_call`).
    ///
    /// # Errors
    /// [`ChainError::InvalidCall`] for an unknown engine; state and core failures.
    pub fn braid_call(&self, request: &BraidCallRequest) -> Result<BraidCallResult> {
        self.exec().braid_call(request)
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
        let env = block_env(&self.spec, block.number, block.timestamp);
        let hashes = StoredHashes {
            db: &self.db,
            head: self.head.number,
        };
        let mut state = BlockState::new(&self.db, env);
        let mut receipts: Vec<Receipt> = Vec::with_capacity(block.transactions.len());
        let mut gas_by_engine = BTreeMap::new();
        // One budget in Braid gas for every transaction of the block (RFC 0009).
        let mut gas_left = self.spec.block_braid_gas_limit();
        let mut cumulative_gas_used = 0u64;
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
            let mut receipt = match raw {
                RawTransaction::Ethereum(bytes) => {
                    let tx = EthereumTransaction::decode(bytes).map_err(invalid)?;
                    let gas_limit = (self.engines.rates())
                        .checked_to_braid(EngineId::EVM, tx.gas_limit())
                        .unwrap_or(u64::MAX);
                    if gas_limit > gas_left {
                        return Err(invalid(TxError::BlockGasExceeded {
                            gas_limit,
                            left: gas_left,
                        }));
                    }
                    self.apply_ethereum(&mut state, &hashes, &tx)
                        .map_err(applied)?
                }
                RawTransaction::Braid(bytes) => {
                    let tx = SignedBraidTransaction::decode(bytes).map_err(invalid)?;
                    if tx.transaction.gas_limit > gas_left {
                        return Err(invalid(TxError::BlockGasExceeded {
                            gas_limit: tx.transaction.gas_limit,
                            left: gas_left,
                        }));
                    }
                    let mut receipt = self
                        .apply_braid(&mut state, &hashes, &tx, bytes.len())
                        .map_err(applied)?;
                    receipt.hash = raw.hash();
                    receipt
                }
            };
            // Never below zero: a transaction uses at most its gas limit,
            // which fit in what was left.
            gas_left = gas_left.saturating_sub(receipt.gas_used);
            cumulative_gas_used = cumulative_gas_used.saturating_add(receipt.gas_used);
            receipt.cumulative_gas_used = cumulative_gas_used;
            for (engine, gas) in &receipt.gas_by_engine {
                *gas_by_engine.entry(*engine).or_insert(0) += gas;
            }
            tracing::debug!(block = block.number, index, kind = ?receipt.kind, success = receipt.success, gas = receipt.gas_used, "transaction applied");
            receipts.push(receipt);
        }
        let changes = state.into_changes();
        let header = self.commit(
            changes,
            block.number,
            block.timestamp,
            &block.transactions,
            &receipts,
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
    ) -> Result<Receipt, ApplyError> {
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
        Ok(Receipt {
            kind: TransactionKind::Ethereum,
            tx_type: tx.envelope.ty(),
            hash: tx.hash(),
            from: Identity(tx.sender.0.0),
            to: tx.envelope.to().map(|to| Identity(to.0.0)),
            success: outcome.success,
            gas_used: effects.braid_gas_used,
            cumulative_gas_used: 0,
            effective_gas_price: tx.effective_gas_price(self.spec.base_fee),
            logs: effects.logs,
            created: outcome.created_address.map(|a| Identity(a.0.0)),
            gas_by_engine: effects.gas_by_engine,
            calls: Vec::new(),
        })
    }

    fn apply_braid(
        &self,
        state: &mut BlockState<'_>,
        hashes: &dyn BlockHashes,
        signed: &SignedBraidTransaction,
        encoded_len: usize,
    ) -> Result<Receipt, ApplyError> {
        let invalid = |reason| Err(ApplyError::Invalid(reason));
        let sender =
            braid_static_checks(&self.spec, &self.engines, signed).map_err(ApplyError::Invalid)?;
        let tx = &signed.transaction;
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
        let (intrinsic, terms) =
            braid_fee_checks(&self.spec, signed, encoded_len).map_err(ApplyError::Invalid)?;
        let value = crate::tx::braid_value(tx);
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
        let mut calls = Vec::with_capacity(tx.calls.len());
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
                    let halted = result.outcome.is_halt();
                    let (status, output) = match result.outcome {
                        Outcome::Halt { output } => (CallStatus::Halt, output),
                        Outcome::Revert { output } => (CallStatus::Revert, output),
                        Outcome::Fault(reason) => {
                            (CallStatus::Fault(format!("{reason:?}")), Vec::new())
                        }
                    };
                    calls.push(CallReport {
                        engine: *engine,
                        target: *target,
                        status,
                        output,
                        gas_used: result.gas_used,
                    });
                    halted
                }
                BraidCall::Deploy {
                    engine,
                    name,
                    version,
                    code,
                } => {
                    let identity = module_identity(self.spec.chain_id, name, *version);
                    let deployed = match kernel.deploy(EngineId(*engine), identity, code) {
                        Ok(_) => {
                            created = Some(identity);
                            Ok(())
                        }
                        // Deterministic refusals of the deploy: the transaction fails.
                        Err(
                            e @ (CoreError::InvalidCode { .. } | CoreError::InstanceExists { .. }),
                        ) => Err(e.to_string()),
                        Err(e) => return Err(ApplyError::Chain(e.into())),
                    };
                    calls.push(CallReport {
                        engine: *engine,
                        target: identity.0,
                        status: match &deployed {
                            Ok(()) => CallStatus::Halt,
                            Err(reason) => CallStatus::Fault(reason.clone()),
                        },
                        output: Vec::new(),
                        gas_used: 0,
                    });
                    deployed.is_ok()
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
        let coinbase = Identity(self.spec.coinbase.0.0);
        fee::credit(
            state,
            &coinbase,
            fee::cost(gas_used, terms.priority_fee_per_gas),
        )
        .map_err(chain)?;
        state
            .set(nonce_key, Some((expected + 1).to_be_bytes().to_vec()))
            .map_err(|e| ApplyError::Chain(e.into()))?;
        Ok(Receipt {
            kind: TransactionKind::Braid,
            tx_type: BRAID_TX_TYPE,
            hash: [0; 32],
            from: sender,
            to: None,
            success,
            gas_used,
            cumulative_gas_used: 0,
            effective_gas_price: terms.effective_gas_price,
            logs: effects.logs,
            created: created.filter(|_| success),
            gas_by_engine: effects.gas_by_engine,
            calls,
        })
    }
}

/// The checks of a Braid transaction that need neither the state nor the
/// fees: signature, chain id, at least one call, known engines, deploys only
/// to instance-scoped engines. Returns the sender.
pub(crate) fn braid_static_checks(
    spec: &ChainSpec,
    engines: &Engines,
    signed: &SignedBraidTransaction,
) -> Result<Identity, TxError> {
    let sender = signed.verify()?;
    let tx = &signed.transaction;
    if tx.chain_id != spec.chain_id {
        return Err(TxError::WrongChainId {
            expected: spec.chain_id,
            got: tx.chain_id,
        });
    }
    if tx.calls.is_empty() {
        return Err(TxError::NoCalls);
    }
    for (call, c) in tx.calls.iter().enumerate() {
        let engine = c.engine();
        let Ok(runner) = engines.get(engine) else {
            return Err(TxError::UnknownEngine { call, engine });
        };
        if matches!(c, BraidCall::Deploy { .. }) && runner.scope_kind() != ScopeKind::Instance {
            return Err(TxError::DeployUnsupported { call, engine });
        }
    }
    Ok(sender)
}

/// RFC 0009's checks of a Braid transaction `encoded_len` bytes long: its
/// gas limit covers its intrinsic gas, its fee caps are consistent and at
/// least the base fee. Returns the intrinsic gas and the fee terms.
pub(crate) fn braid_fee_checks(
    spec: &ChainSpec,
    signed: &SignedBraidTransaction,
    encoded_len: usize,
) -> Result<(u64, fee::FeeTerms), TxError> {
    let tx = &signed.transaction;
    let intrinsic = fee::intrinsic_gas(encoded_len);
    if tx.gas_limit < intrinsic {
        return Err(TxError::IntrinsicGasAboveLimit {
            gas_limit: tx.gas_limit,
            intrinsic,
        });
    }
    let terms = fee::FeeTerms::new(
        tx.max_fee_per_gas,
        tx.max_priority_fee_per_gas,
        spec.base_fee,
    )?;
    Ok((intrinsic, terms))
}

enum ApplyError {
    Invalid(TxError),
    Chain(ChainError),
}
