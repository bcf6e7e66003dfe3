//! Read-only execution: a call run on a throw-away block state over the
//! head, never committed (the base of `eth_call`, `eth_estimateGas` and
//! `braid_call`; `rfcs/0012-node.md`, "Calls").
//!
//! The block state starts as the committed head state plus any state
//! overrides, runs one call through the kernel exactly as a block would
//! (same engines, same gas rates, same `BLOCKHASH` answers), and is dropped.

use std::collections::BTreeMap;

use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use braid_core::{
    CoreError, EngineFailure, EngineId, Engines, Identity, Message, Outcome, StateKey,
};
use braid_evm::layout::{ACCOUNT_RECORD_KEY, AccountRecord, storage_key};
use braid_evm::{EvmEngine, EvmError, EvmExit};
use braid_kernel::{BlockState, Kernel};
use braid_state::StateDb;
use revm::context::TxEnv;
use revm::primitives::KECCAK_EMPTY;

use crate::block::BlockHeader;
use crate::receipt::CallStatus;
use crate::spec::ChainSpec;
use crate::store::StoredHashes;
use crate::{ChainError, Result, TxError};

/// An Ethereum message call, as `eth_call` and `eth_estimateGas` take it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EthCall {
    /// The sender (default: the zero address).
    pub from: Address,
    /// The recipient; `None` runs `input` as init code (a create).
    pub to: Option<Address>,
    /// Gas limit, EVM gas; `None` is the block gas limit (and a limit
    /// above it is capped to it).
    pub gas: Option<u64>,
    /// `gasPrice`, or `maxFeePerGas`, wei per gas. Zero runs without fees
    /// (and with the base fee taken as zero, as geth does).
    pub gas_price: u128,
    /// `maxPriorityFeePerGas` (an EIP-1559 call), wei per gas.
    pub max_priority_fee_per_gas: Option<u128>,
    /// Value sent, wei.
    pub value: U256,
    /// Call data (or init code).
    pub input: Bytes,
    /// The sender's nonce for a create's address; default its current nonce.
    pub nonce: Option<u64>,
    /// EIP-2930 access list.
    pub access_list: AccessList,
}

/// State replaced for one account during a call (geth's state override set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountOverride {
    /// New balance, wei.
    pub balance: Option<U256>,
    /// New nonce.
    pub nonce: Option<u64>,
    /// New runtime code.
    pub code: Option<Vec<u8>>,
    /// Replaces the whole storage with these slots.
    pub state: Option<BTreeMap<B256, B256>>,
    /// Sets these slots, keeping the others.
    pub state_diff: Option<BTreeMap<B256, B256>>,
}

/// Overrides by account.
pub type StateOverrides = BTreeMap<Address, AccountOverride>;

/// How an [`EthCall`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EthCallResult {
    /// Success, `REVERT` or an exceptional halt.
    pub exit: EvmExit,
    /// Return data, or the revert data.
    pub output: Vec<u8>,
    /// Gas used, EVM gas (after refunds, as a receipt would say).
    pub gas_used: u64,
    /// The gas limit the call ran with, EVM gas.
    pub gas_limit: u64,
    /// The logs it emitted.
    pub logs: Vec<alloy_primitives::Log>,
}

/// A read-only call to any engine's instance (`braid_call`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BraidCallRequest {
    /// Engine of the instance.
    pub engine: EngineId,
    /// The instance.
    pub target: Identity,
    /// The caller the instance sees.
    pub caller: Identity,
    /// Input bytes.
    pub input: Vec<u8>,
    /// Value, 256-bit big-endian (EVM only).
    pub value: [u8; 32],
    /// Budget, Braid gas.
    pub gas_limit: u64,
}

/// How a [`BraidCallRequest`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BraidCallResult {
    /// Halt, revert or fault.
    pub status: CallStatus,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Native gas used by the called engine.
    pub gas_used: u64,
    /// Braid gas used by the call.
    pub braid_gas_used: u64,
}

/// What a call runs with: the committed state of the head, the chain's
/// engines and spec.
pub(crate) struct Exec<'a> {
    pub(crate) db: &'a StateDb,
    pub(crate) engines: &'a Engines,
    pub(crate) evm: &'a EvmEngine,
    pub(crate) spec: &'a ChainSpec,
    pub(crate) head: &'a BlockHeader,
}

impl Exec<'_> {
    fn block_state(&self, overrides: &StateOverrides) -> Result<BlockState<'_>> {
        // A call runs in the head block's environment, as geth's does.
        let env = crate::chain::block_env(self.spec, self.head.number, self.head.timestamp);
        let mut state = BlockState::new(self.db, env);
        for (address, over) in overrides {
            apply_override(self.db, &mut state, *address, over)?;
        }
        Ok(state)
    }

    /// Runs `call` on a throw-away state (`eth_call`); see [`EthCall`].
    pub(crate) fn eth_call(
        &self,
        call: &EthCall,
        overrides: &StateOverrides,
    ) -> Result<EthCallResult> {
        let mut state = self.block_state(overrides)?;
        let gas_limit = call
            .gas
            .unwrap_or(self.spec.block_gas_limit)
            .min(self.spec.block_gas_limit);
        let nonce = match call.nonce {
            Some(nonce) => nonce,
            None => crate::fee::account(&state, &Identity(call.from.0.0))?.map_or(0, |r| r.nonce),
        };
        let tx = TxEnv {
            tx_type: if call.max_priority_fee_per_gas.is_some() {
                2
            } else {
                0
            },
            caller: call.from,
            gas_limit,
            gas_price: call.gas_price,
            kind: call.to.map_or(TxKind::Create, TxKind::Call),
            value: call.value,
            data: call.input.clone(),
            nonce,
            chain_id: Some(self.spec.chain_id),
            access_list: call.access_list.clone(),
            gas_priority_fee: call.max_priority_fee_per_gas,
            ..TxEnv::default()
        };
        let hashes = StoredHashes {
            db: self.db,
            head: self.head.number,
        };
        let budget = self.engines.rates().to_braid(EngineId::EVM, gas_limit);
        let mut kernel = Kernel::new(&mut state, self.engines, &hashes, budget);
        let ran = self.evm.invoke_simulation(&mut kernel, tx);
        kernel.discard();
        let (_, outcome) = ran.map_err(|e| match (&e, EvmError::from_core(&e)) {
            (
                CoreError::Engine {
                    kind: EngineFailure::InvalidTransaction,
                    ..
                },
                Some(invalid),
            ) => ChainError::InvalidCall {
                reason: TxError::Evm(invalid.clone()),
            },
            _ => ChainError::Core(e),
        })?;
        Ok(EthCallResult {
            exit: outcome.exit,
            output: outcome.output.to_vec(),
            gas_used: outcome.gas_used,
            gas_limit,
            logs: outcome.logs,
        })
    }

    /// Runs `request` through the kernel on a throw-away state (`braid_call`).
    pub(crate) fn braid_call(&self, request: &BraidCallRequest) -> Result<BraidCallResult> {
        if self.engines.get(request.engine).is_err() {
            return Err(ChainError::InvalidCall {
                reason: TxError::UnknownEngine {
                    call: 0,
                    engine: request.engine,
                },
            });
        }
        let mut state = self.block_state(&StateOverrides::new())?;
        let hashes = StoredHashes {
            db: self.db,
            head: self.head.number,
        };
        let mut kernel = Kernel::new(&mut state, self.engines, &hashes, request.gas_limit);
        let message = Message {
            caller: request.caller,
            target: request.target,
            input: request.input.clone(),
            value: request.value,
            gas_limit: u64::MAX,
        };
        let result = kernel.call(request.engine, message);
        let left = kernel.braid_gas_left();
        kernel.discard();
        let result = result?;
        let (status, output) = match result.outcome {
            Outcome::Halt { output } => (CallStatus::Halt, output),
            Outcome::Revert { output } => (CallStatus::Revert, output),
            Outcome::Fault(reason) => (CallStatus::Fault(format!("{reason:?}")), Vec::new()),
        };
        Ok(BraidCallResult {
            status,
            output,
            gas_used: result.gas_used,
            braid_gas_used: request.gas_limit - left,
        })
    }
}

/// Writes `over` for `address` into the throw-away `state`.
fn apply_override(
    db: &StateDb,
    state: &mut BlockState<'_>,
    address: Address,
    over: &AccountOverride,
) -> Result<()> {
    let id = Identity(address.0.0);
    let record =
        crate::fee::account(state, &id)?.unwrap_or(AccountRecord::new(0, U256::ZERO, KECCAK_EMPTY));
    let code_hash = match &over.code {
        Some(code) if !code.is_empty() => {
            let hash = braid_core::keccak256(code);
            state.set(StateKey::code(&hash), Some(code.clone()))?;
            B256::from(hash)
        }
        Some(_) => KECCAK_EMPTY,
        None => record.code_hash(),
    };
    let updated = AccountRecord::new(
        over.nonce.unwrap_or(record.nonce),
        over.balance.unwrap_or(record.balance()),
        code_hash,
    );
    state.set(
        StateKey::new(EngineId::EVM, id, ACCOUNT_RECORD_KEY.to_vec()),
        Some(updated.to_bytes().to_vec()),
    )?;
    let mut slots = BTreeMap::new();
    if let Some(full) = &over.state {
        for (key, _) in db.scan(EngineId::EVM, &id, &[braid_core::namespace::STORAGE])? {
            slots.insert(key, None);
        }
        for (slot, value) in full {
            slots.insert(storage_key(&slot.0).to_vec(), Some(*value));
        }
    }
    for (slot, value) in over.state_diff.iter().flatten() {
        slots.insert(storage_key(&slot.0).to_vec(), Some(*value));
    }
    for (key, value) in slots {
        let value = value.filter(|v| !v.is_zero()).map(|v| v.0.to_vec());
        state.set(StateKey::new(EngineId::EVM, id, key), value)?;
    }
    Ok(())
}
