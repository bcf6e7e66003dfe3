//! The JSON-RPC methods: Ethereum's (`eth_*`, `net_*`, `web3_*`,
//! `txpool_status`), each answered as geth answers it, and Braid's
//! (`braid_*`); method list and shapes in `rfcs/0012-node.md`.
//!
//! State methods (`eth_getBalance`, `eth_call`, ...) answer for the head
//! only: the state is kept at the last committed block (RFC 0001 stores no
//! history), so a block tag or number other than the head's is refused with
//! a message naming both (geth's answer on a pruned block is the same kind
//! of error). Blocks, transactions, receipts and logs are kept for every block.

use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, TxKind, U64, U256};
use alloy_rpc_types_eth::pubsub::{Params, SubscriptionKind};
use alloy_rpc_types_eth::state::StateOverride;
use alloy_rpc_types_eth::{
    BlockId, BlockNumberOrTag, FeeHistory, Filter, FilterBlockOption, Log, TransactionRequest,
};
use alloy_sol_types::SolError;
use braid_chain::{
    AccountOverride, BraidCallRequest, CallStatus, ChainError, EthCall, RawTransaction, Receipt,
    Snapshot, StateOverrides, TransactionKind,
};
use braid_core::{EngineId, Identity, StateKey};
use braid_evm::EvmExit;
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use parity_scale_codec::Encode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::convert::{self, Place};
use crate::filters::FilterKind;
use crate::shared::Shared;
use crate::validate::SubmitError;

/// geth's code for a failed request that is not a parameter error.
pub const SERVER_ERROR: i32 = -32000;
/// JSON-RPC's invalid-params code.
pub const INVALID_PARAMS: i32 = -32602;
/// JSON-RPC's internal-error code.
pub const INTERNAL_ERROR: i32 = -32603;
/// EIP-1474's "limit exceeded".
pub const LIMIT_EXCEEDED: i32 = -32005;
/// geth's code for a reverted call, with the revert data in `data`.
pub const EXECUTION_REVERTED: i32 = 3;

/// Most blocks `eth_feeHistory` covers in one call (geth's 1,024).
const MAX_FEE_HISTORY: u64 = 1024;
/// Blocks the priority-fee suggestion samples (geth's oracle: 20).
const TIP_BLOCKS: u64 = 20;
/// Suggested tip with no recent transaction: 1 gwei.
const DEFAULT_TIP: u128 = 1_000_000_000;

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    tracing::error!(error = %e, "internal error answering a request");
    error(INTERNAL_ERROR, format!("internal error: {e}"))
}

fn chain_error(e: ChainError) -> ErrorObjectOwned {
    match e {
        ChainError::InvalidCall { reason } => error(SERVER_ERROR, reason.to_string()),
        other => internal(other),
    }
}

fn submit_error(e: SubmitError) -> ErrorObjectOwned {
    match e {
        SubmitError::Internal(e) => internal(e),
        other => error(SERVER_ERROR, other.to_string()),
    }
}

/// geth's answer to a call that reverted: code 3, "execution reverted" with
/// the decoded `Error(string)` reason if there is one, the revert data in `data`.
pub fn revert_error(output: &[u8]) -> ErrorObjectOwned {
    let message = match alloy_sol_types::Revert::abi_decode(output) {
        Ok(revert) => format!("execution reverted: {}", revert.reason),
        Err(_) => match alloy_sol_types::Panic::abi_decode(output) {
            Ok(panic) => format!("execution reverted: {panic}"),
            Err(_) => "execution reverted".to_string(),
        },
    };
    ErrorObjectOwned::owned(
        EXECUTION_REVERTED,
        message,
        Some(format!("0x{}", hex::encode(output))),
    )
}

/// An engine named as `evm`, `pvm`, `wasm`, `system`, or a number (JSON
/// number, decimal or 0x-hex string).
#[derive(Clone, Copy, Debug)]
pub struct EngineParam(pub EngineId);

impl<'de> Deserialize<'de> for EngineParam {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let parsed = match &value {
            Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
            Value::String(s) => match s.as_str() {
                "system" => Some(0),
                "evm" => Some(1),
                "pvm" => Some(2),
                "wasm" => Some(3),
                other => match other.strip_prefix("0x") {
                    Some(hex) => u8::from_str_radix(hex, 16).ok(),
                    None => other.parse().ok(),
                },
            },
            _ => None,
        };
        parsed.map(|id| EngineParam(EngineId(id))).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "engine {value} is not evm, pvm, wasm, system or a number 0..255"
            ))
        })
    }
}

/// `braid_call`'s request.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BraidCallParams {
    /// The engine.
    pub engine: EngineParam,
    /// The instance (20 bytes).
    pub target: Address,
    /// Input bytes.
    #[serde(default)]
    pub input: Bytes,
    /// The caller the instance sees (default zero).
    #[serde(default)]
    pub caller: Address,
    /// Value, wei (EVM only).
    #[serde(default)]
    pub value: U256,
    /// Budget, Braid gas (default: the block's).
    pub gas: Option<U64>,
}

#[rpc(server)]
pub trait Api {
    /// EIP-695 chain id.
    #[method(name = "eth_chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    /// The network id (the chain id, decimal).
    #[method(name = "net_version")]
    fn net_version(&self) -> RpcResult<String>;
    /// Whether the node listens for peers (it has none).
    #[method(name = "net_listening")]
    fn net_listening(&self) -> RpcResult<bool>;
    /// `braid/vX.Y.Z`.
    #[method(name = "web3_clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    /// The head's number.
    #[method(name = "eth_blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;
    /// A block by number or tag, with transaction hashes or objects.
    #[method(name = "eth_getBlockByNumber")]
    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<Value>>;
    /// A block by hash.
    #[method(name = "eth_getBlockByHash")]
    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Value>>;
    /// A transaction, included or pooled.
    #[method(name = "eth_getTransactionByHash")]
    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Value>>;
    /// An included transaction's receipt.
    #[method(name = "eth_getTransactionReceipt")]
    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<Value>>;
    /// Every receipt of a block.
    #[method(name = "eth_getBlockReceipts")]
    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<Value>>>;
    /// An account's balance, wei.
    #[method(name = "eth_getBalance")]
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// An account's nonce (`pending`: after its pooled transactions).
    #[method(name = "eth_getTransactionCount")]
    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;
    /// An account's code.
    #[method(name = "eth_getCode")]
    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    /// A storage slot.
    #[method(name = "eth_getStorageAt")]
    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256>;
    /// A message call on a throw-away state, with state overrides.
    #[method(name = "eth_call", blocking)]
    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        overrides: Option<StateOverride>,
    ) -> RpcResult<Bytes>;
    /// The gas a transaction needs (geth's binary search).
    #[method(name = "eth_estimateGas", blocking)]
    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        overrides: Option<StateOverride>,
    ) -> RpcResult<U64>;
    /// Base fee plus the suggested tip, wei.
    #[method(name = "eth_gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;
    /// The suggested tip, wei.
    #[method(name = "eth_maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    /// Base fees, gas used ratios and tip percentiles of recent blocks.
    #[method(name = "eth_feeHistory")]
    fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    /// Submits a signed Ethereum transaction (EIP-2718 bytes).
    #[method(name = "eth_sendRawTransaction")]
    fn send_raw_transaction(&self, bytes: Bytes) -> RpcResult<B256>;
    /// Logs matching a filter, over at most the configured block range.
    #[method(name = "eth_getLogs", blocking)]
    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    /// Installs a log filter.
    #[method(name = "eth_newFilter")]
    fn new_filter(&self, filter: Filter) -> RpcResult<U64>;
    /// Installs a new-block filter.
    #[method(name = "eth_newBlockFilter")]
    fn new_block_filter(&self) -> RpcResult<U64>;
    /// What a filter matched since its last poll.
    #[method(name = "eth_getFilterChanges", blocking)]
    fn filter_changes(&self, id: U64) -> RpcResult<Value>;
    /// Every log a log filter matches.
    #[method(name = "eth_getFilterLogs", blocking)]
    fn filter_logs(&self, id: U64) -> RpcResult<Vec<Log>>;
    /// Removes a filter.
    #[method(name = "eth_uninstallFilter")]
    fn uninstall_filter(&self, id: U64) -> RpcResult<bool>;
    /// Always `false`: the node is its chain's only producer.
    #[method(name = "eth_syncing")]
    fn syncing(&self) -> RpcResult<bool>;
    /// Empty: the node holds no keys.
    #[method(name = "eth_accounts")]
    fn accounts(&self) -> RpcResult<Vec<Address>>;
    /// Pending and queued counts (geth's shape).
    #[method(name = "txpool_status")]
    fn txpool_status(&self) -> RpcResult<Value>;
    /// `newHeads` and `logs` subscriptions (WebSocket).
    #[subscription(name = "eth_subscribe" => "eth_subscription", unsubscribe = "eth_unsubscribe", item = Value)]
    async fn subscribe(&self, kind: SubscriptionKind, params: Option<Params>)
    -> SubscriptionResult;

    /// Submits a SCALE-encoded signed Braid transaction.
    #[method(name = "braid_sendTransaction")]
    fn braid_send_transaction(&self, bytes: Bytes) -> RpcResult<B256>;
    /// A read-only call to any engine's instance.
    #[method(name = "braid_call", blocking)]
    fn braid_call(&self, request: BraidCallParams) -> RpcResult<Value>;
    /// A committed value of any `(engine, identity, key)`.
    #[method(name = "braid_getState")]
    fn braid_get_state(
        &self,
        engine: EngineParam,
        identity: Address,
        key: Bytes,
    ) -> RpcResult<Value>;
    /// A committed value with the proof `braid verify-proof` checks.
    #[method(name = "braid_getProof")]
    fn braid_get_proof(
        &self,
        engine: EngineParam,
        identity: Address,
        key: Bytes,
    ) -> RpcResult<Value>;
    /// A receipt with per-call outcomes and per-engine gas.
    #[method(name = "braid_getReceipt")]
    fn braid_get_receipt(&self, hash: B256) -> RpcResult<Option<Value>>;
    /// A block as a bundled block file holds it (replay it with `braid run`).
    #[method(name = "braid_getBlock")]
    fn braid_get_block(&self, number: U64) -> RpcResult<Option<Value>>;
    /// Liveness, also served as `GET /health`.
    #[method(name = "system_health")]
    fn health(&self) -> RpcResult<Value>;
}

/// The methods, over the shared node state.
pub(crate) struct Rpc {
    pub(crate) shared: Arc<Shared>,
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

impl Rpc {
    fn snapshot(&self) -> RpcResult<Snapshot<'_>> {
        self.shared.reader.snapshot().map_err(chain_error)
    }

    /// The number a tag names; `None` above the head.
    fn resolve(snap: &Snapshot<'_>, tag: BlockNumberOrTag) -> Option<u64> {
        let head = snap.head().number;
        match tag {
            BlockNumberOrTag::Number(n) if n <= head => Some(n),
            BlockNumberOrTag::Number(_) => None,
            BlockNumberOrTag::Earliest => Some(0),
            _ => Some(head),
        }
    }

    fn resolve_id(snap: &Snapshot<'_>, id: BlockId) -> RpcResult<Option<u64>> {
        match id {
            BlockId::Number(tag) => Ok(Self::resolve(snap, tag)),
            BlockId::Hash(hash) => snap.block_number(&hash.block_hash.0).map_err(chain_error),
        }
    }

    /// Checks that `block` names the head (state is kept for the head only).
    fn at_head(snap: &Snapshot<'_>, block: Option<BlockId>) -> RpcResult<()> {
        let Some(id) = block else { return Ok(()) };
        let head = snap.head().number;
        match Self::resolve_id(snap, id)? {
            Some(n) if n == head => Ok(()),
            Some(n) => Err(error(
                SERVER_ERROR,
                format!(
                    "historical state unavailable: block {n} is not the head ({head}); this node keeps the head's state only"
                ),
            )),
            None => Err(error(SERVER_ERROR, format!("header not found: {id:?}"))),
        }
    }

    fn place(header: &braid_chain::BlockHeader, index: usize) -> Place {
        Place {
            block_hash: B256::from(header.hash()),
            block_number: header.number,
            index: index as u64,
            timestamp: header.timestamp,
        }
    }

    fn block_json(snap: &Snapshot<'_>, number: u64, full: bool) -> RpcResult<Option<Value>> {
        let Some(header) = snap.header(number).map_err(chain_error)? else {
            return Ok(None);
        };
        let body = snap.body(number).map_err(chain_error)?.unwrap_or_default();
        let receipts = snap
            .receipts(number)
            .map_err(chain_error)?
            .unwrap_or_default();
        let transactions: Vec<Value> = body
            .iter()
            .zip(&receipts)
            .enumerate()
            .map(|(i, (raw, receipt))| {
                if full {
                    convert::transaction(
                        raw,
                        Address::from(receipt.from.0),
                        Some(Self::place(&header, i)),
                        Some(receipt.effective_gas_price),
                    )
                } else {
                    json!(hex0x(&receipt.hash))
                }
            })
            .collect();
        let mut block = serde_json::to_value(convert::header(&header)).map_err(internal)?;
        if let Some(object) = block.as_object_mut() {
            object.insert("transactions".into(), Value::Array(transactions));
            object.insert("uncles".into(), json!([]));
            object.insert("withdrawals".into(), json!([]));
        }
        Ok(Some(block))
    }

    fn eth_call_of(request: &TransactionRequest) -> EthCall {
        EthCall {
            from: request.from.unwrap_or_default(),
            to: match request.to {
                Some(TxKind::Call(to)) => Some(to),
                _ => None,
            },
            gas: request.gas,
            gas_price: request.gas_price.or(request.max_fee_per_gas).unwrap_or(0),
            max_priority_fee_per_gas: request.max_priority_fee_per_gas,
            value: request.value.unwrap_or_default(),
            input: request.input.input().cloned().unwrap_or_default(),
            nonce: request.nonce,
            access_list: request.access_list.clone().unwrap_or_default(),
        }
    }

    fn overrides_of(overrides: Option<StateOverride>) -> StateOverrides {
        overrides
            .unwrap_or_default()
            .into_iter()
            .map(|(address, o)| {
                (
                    address,
                    AccountOverride {
                        balance: o.balance,
                        nonce: o.nonce,
                        code: o.code.map(|c| c.to_vec()),
                        state: o.state.map(|s| s.into_iter().collect()),
                        state_diff: o.state_diff.map(|s| s.into_iter().collect()),
                    },
                )
            })
            .collect()
    }

    /// The logs of blocks `from..=to` matching `filter`.
    fn collect_logs(
        &self,
        snap: &Snapshot<'_>,
        filter: &Filter,
        from: u64,
        to: u64,
    ) -> RpcResult<Vec<Log>> {
        let limits = self.shared.limits;
        if to >= from && to - from + 1 > limits.max_logs_blocks {
            return Err(error(
                LIMIT_EXCEEDED,
                format!(
                    "query exceeds max block range {}: blocks {from}..={to} span {}",
                    limits.max_logs_blocks,
                    to - from + 1
                ),
            ));
        }
        let mut out = Vec::new();
        for number in from..=to {
            let Some(header) = snap.header(number).map_err(chain_error)? else {
                break;
            };
            if !filter.matches_bloom(convert::bloom(&header)) {
                continue;
            }
            let receipts = snap
                .receipts(number)
                .map_err(chain_error)?
                .unwrap_or_default();
            let mut log_index = 0u64;
            for (i, receipt) in receipts.iter().enumerate() {
                let logs = convert::logs(receipt, Self::place(&header, i), log_index);
                log_index += logs.len() as u64;
                out.extend(logs.into_iter().filter(|l| filter.matches(&l.inner)));
                if out.len() > limits.max_logs {
                    return Err(error(
                        LIMIT_EXCEEDED,
                        format!(
                            "query returned more than {} results; narrow the block range (blocks {from}..={to})",
                            limits.max_logs
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The suggested tip: geth's oracle (the 60th percentile of the three
    /// lowest tips of each of the last 20 blocks), 1 gwei without samples.
    fn suggested_tip(&self, snap: &Snapshot<'_>) -> RpcResult<u128> {
        let head = snap.head().number;
        let base_fee = u128::from(snap.head().base_fee_per_gas);
        let mut samples = Vec::new();
        for number in head.saturating_sub(TIP_BLOCKS - 1)..=head {
            let receipts = snap
                .receipts(number)
                .map_err(chain_error)?
                .unwrap_or_default();
            let mut tips: Vec<u128> = receipts
                .iter()
                .map(|r| r.effective_gas_price.saturating_sub(base_fee))
                .filter(|tip| *tip >= 2)
                .collect();
            tips.sort_unstable();
            samples.extend(tips.into_iter().take(3));
        }
        if samples.is_empty() {
            return Ok(DEFAULT_TIP);
        }
        samples.sort_unstable();
        Ok(samples[(samples.len() - 1) * 60 / 100])
    }

    fn estimate(&self, request: &TransactionRequest, overrides: &StateOverrides) -> RpcResult<u64> {
        let snap = self.snapshot()?;
        let spec = self.shared.reader.spec();
        let call = Self::eth_call_of(request);
        let mut hi = call
            .gas
            .unwrap_or(spec.block_gas_limit)
            .min(spec.block_gas_limit);
        if call.gas_price > 0 {
            let balance = match overrides.get(&call.from).and_then(|o| o.balance) {
                Some(b) => b,
                None => snap.balance(call.from).map_err(chain_error)?,
            };
            if call.value > balance {
                return Err(error(
                    SERVER_ERROR,
                    format!(
                        "insufficient funds for transfer: address {} have {balance} want {}",
                        call.from, call.value
                    ),
                ));
            }
            let allowance = (balance - call.value) / U256::from(call.gas_price);
            if allowance < U256::from(hi) {
                hi = allowance.to::<u64>();
            }
        }
        let run = |gas: u64| {
            snap.eth_call(
                &EthCall {
                    gas: Some(gas),
                    ..call.clone()
                },
                overrides,
            )
        };
        let first = run(hi).map_err(chain_error)?;
        match &first.exit {
            EvmExit::Success => {}
            EvmExit::Revert => return Err(revert_error(&first.output)),
            EvmExit::Halt(_) => {
                return Err(error(
                    SERVER_ERROR,
                    format!("gas required exceeds allowance ({hi})"),
                ));
            }
        }
        let succeeds = |gas: u64| matches!(run(gas), Ok(r) if r.exit == EvmExit::Success);
        let mut lo = first.gas_used.saturating_sub(1);
        let optimistic = (first.gas_used + 2300) * 64 / 63;
        if optimistic < hi {
            if succeeds(optimistic) {
                hi = optimistic;
            } else {
                lo = optimistic;
            }
        }
        while lo + 1 < hi {
            if ((hi - lo) as f64) / (hi as f64) < 0.015 {
                break;
            }
            let mut mid = lo + (hi - lo) / 2;
            if mid > lo.saturating_mul(2) {
                mid = lo * 2;
            }
            if succeeds(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    fn submit(&self, raw: RawTransaction) -> RpcResult<B256> {
        self.shared
            .submit(raw)
            .map(B256::from)
            .map_err(submit_error)
    }

    fn state_key(engine: EngineParam, identity: Address, key: &Bytes) -> StateKey {
        StateKey::new(engine.0, Identity(identity.0.0), key.to_vec())
    }
}

fn receipt_json(receipt: &Receipt, place: Place) -> Value {
    let logs: Vec<Value> = receipt
        .logs
        .iter()
        .map(|l| {
            json!({
                "engine": l.engine.0,
                "address": hex0x(&l.identity.0),
                "topics": l.topics.iter().map(|t| hex0x(t)).collect::<Vec<_>>(),
                "data": hex0x(&l.data),
            })
        })
        .collect();
    let calls: Vec<Value> = receipt
        .calls
        .iter()
        .map(|c| {
            let (status, fault) = match &c.status {
                CallStatus::Halt => ("halt", None),
                CallStatus::Revert => ("revert", None),
                CallStatus::Fault(reason) => ("fault", Some(reason.clone())),
            };
            json!({
                "engine": c.engine,
                "target": hex0x(&c.target),
                "status": status,
                "fault": fault,
                "output": hex0x(&c.output),
                "gasUsed": c.gas_used,
            })
        })
        .collect();
    let gas_by_engine: serde_json::Map<String, Value> = receipt
        .gas_by_engine
        .iter()
        .map(|(e, g)| (format!("{:#04x}", e.0), json!(g)))
        .collect();
    json!({
        "transactionHash": hex0x(&receipt.hash),
        "blockHash": place.block_hash,
        "blockNumber": place.block_number,
        "transactionIndex": place.index,
        "kind": match receipt.kind { TransactionKind::Ethereum => "ethereum", TransactionKind::Braid => "braid" },
        "type": receipt.tx_type,
        "from": hex0x(&receipt.from.0),
        "to": receipt.to.map(|t| hex0x(&t.0)),
        "success": receipt.success,
        "gasUsed": receipt.gas_used,
        "cumulativeGasUsed": receipt.cumulative_gas_used,
        "effectiveGasPrice": receipt.effective_gas_price.to_string(),
        "created": receipt.created.map(|c| hex0x(&c.0)),
        "logs": logs,
        "gasByEngine": gas_by_engine,
        "calls": calls,
    })
}

#[jsonrpsee::core::async_trait]
impl ApiServer for Rpc {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.shared.reader.spec().chain_id))
    }

    fn net_version(&self) -> RpcResult<String> {
        Ok(self.shared.reader.spec().chain_id.to_string())
    }

    fn net_listening(&self) -> RpcResult<bool> {
        Ok(true)
    }

    fn client_version(&self) -> RpcResult<String> {
        Ok(self.shared.client_version.clone())
    }

    fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.snapshot()?.head().number))
    }

    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<Value>> {
        let snap = self.snapshot()?;
        match Self::resolve(&snap, number) {
            Some(n) => Self::block_json(&snap, n, full),
            None => Ok(None),
        }
    }

    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Value>> {
        let snap = self.snapshot()?;
        match snap.block_number(&hash.0).map_err(chain_error)? {
            Some(n) => Self::block_json(&snap, n, full),
            None => Ok(None),
        }
    }

    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Value>> {
        let snap = self.snapshot()?;
        if let Some(location) = snap.transaction(&hash.0).map_err(chain_error)? {
            let header = snap.header(location.block).map_err(chain_error)?;
            let body = snap.body(location.block).map_err(chain_error)?;
            let receipts = snap.receipts(location.block).map_err(chain_error)?;
            let index = location.index as usize;
            let (Some(header), Some(raw), Some(receipt)) = (
                header,
                body.as_ref().and_then(|b| b.get(index)),
                receipts.as_ref().and_then(|r| r.get(index)),
            ) else {
                return Err(internal(format!(
                    "block {} lacks transaction {index}",
                    location.block
                )));
            };
            return Ok(Some(convert::transaction(
                raw,
                Address::from(receipt.from.0),
                Some(Self::place(&header, index)),
                Some(receipt.effective_gas_price),
            )));
        }
        drop(snap);
        Ok(self
            .shared
            .pool()
            .get(&hash.0)
            .map(|tx| convert::transaction(&tx.raw, tx.sender, None, None)))
    }

    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<Value>> {
        let snap = self.snapshot()?;
        let Some(location) = snap.transaction(&hash.0).map_err(chain_error)? else {
            return Ok(None);
        };
        let (Some(header), Some(receipts)) = (
            snap.header(location.block).map_err(chain_error)?,
            snap.receipts(location.block).map_err(chain_error)?,
        ) else {
            return Err(internal(format!("block {} is missing", location.block)));
        };
        let index = location.index as usize;
        let first_log: usize = receipts[..index.min(receipts.len())]
            .iter()
            .map(|r| r.logs.len())
            .sum();
        Ok(receipts
            .get(index)
            .map(|r| convert::receipt(r, Self::place(&header, index), first_log as u64)))
    }

    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<Value>>> {
        let snap = self.snapshot()?;
        let Some(number) = Self::resolve_id(&snap, block)? else {
            return Ok(None);
        };
        let (Some(header), Some(receipts)) = (
            snap.header(number).map_err(chain_error)?,
            snap.receipts(number).map_err(chain_error)?,
        ) else {
            return Ok(None);
        };
        let mut log_index = 0u64;
        Ok(Some(
            receipts
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let json = convert::receipt(r, Self::place(&header, i), log_index);
                    log_index += r.logs.len() as u64;
                    json
                })
                .collect(),
        ))
    }

    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let snap = self.snapshot()?;
        Self::at_head(&snap, block)?;
        snap.balance(address).map_err(chain_error)
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        let pending = matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending)));
        loop {
            let snap = self.snapshot()?;
            Self::at_head(&snap, block)?;
            let nonce = snap.nonce(address).map_err(chain_error)?;
            let head = snap.head().number;
            drop(snap);
            if !pending {
                return Ok(U64::from(nonce));
            }
            let next =
                self.shared
                    .pool()
                    .pending_nonce(address, crate::pool::NonceSpace::Ethereum, nonce);
            // The producer commits a block, then drops its transactions from
            // the pool: if a block was committed since `nonce` was read, the
            // pool may already miss the transactions that `nonce` does not
            // count yet. Read again then (the head has not moved: the pool
            // read above saw the pool of `head`).
            if self.snapshot()?.head().number == head {
                return Ok(U64::from(next));
            }
        }
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        let snap = self.snapshot()?;
        Self::at_head(&snap, block)?;
        snap.code(address).map(Bytes::from).map_err(chain_error)
    }

    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256> {
        let snap = self.snapshot()?;
        Self::at_head(&snap, block)?;
        snap.storage(address, slot.to_be_bytes::<32>())
            .map(B256::from)
            .map_err(chain_error)
    }

    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        overrides: Option<StateOverride>,
    ) -> RpcResult<Bytes> {
        let snap = self.snapshot()?;
        Self::at_head(&snap, block)?;
        let result = snap
            .eth_call(&Self::eth_call_of(&request), &Self::overrides_of(overrides))
            .map_err(chain_error)?;
        match result.exit {
            EvmExit::Success => Ok(Bytes::from(result.output)),
            EvmExit::Revert => Err(revert_error(&result.output)),
            EvmExit::Halt(reason) => Err(error(
                SERVER_ERROR,
                format!("{} (gas limit {})", halt_message(&reason), result.gas_limit),
            )),
        }
    }

    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        overrides: Option<StateOverride>,
    ) -> RpcResult<U64> {
        {
            let snap = self.snapshot()?;
            Self::at_head(&snap, block)?;
        }
        self.estimate(&request, &Self::overrides_of(overrides))
            .map(U64::from)
    }

    fn gas_price(&self) -> RpcResult<U256> {
        let snap = self.snapshot()?;
        let tip = self.suggested_tip(&snap)?;
        Ok(U256::from(u128::from(snap.head().base_fee_per_gas) + tip))
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        let snap = self.snapshot()?;
        Ok(U256::from(self.suggested_tip(&snap)?))
    }

    fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let snap = self.snapshot()?;
        let count = block_count.to::<u64>();
        if count == 0 {
            return Ok(FeeHistory::default());
        }
        if count > MAX_FEE_HISTORY {
            return Err(error(
                INVALID_PARAMS,
                format!("block count {count} exceeds the maximum {MAX_FEE_HISTORY}"),
            ));
        }
        if let Some(p) = &percentiles {
            if let Some(bad) = p.iter().find(|x| !(0.0..=100.0).contains(*x)) {
                return Err(error(
                    INVALID_PARAMS,
                    format!("invalid reward percentile: {bad}"),
                ));
            }
            if p.windows(2).any(|w| w[0] > w[1]) {
                return Err(error(
                    INVALID_PARAMS,
                    format!("reward percentiles {p:?} are not in ascending order"),
                ));
            }
        }
        let Some(newest) = Self::resolve(&snap, newest) else {
            return Err(error(SERVER_ERROR, format!("header not found: {newest:?}")));
        };
        let oldest = newest.saturating_sub(count - 1);
        let mut history = FeeHistory {
            oldest_block: oldest,
            ..FeeHistory::default()
        };
        let mut rewards = Vec::new();
        for number in oldest..=newest {
            let Some(header) = snap.header(number).map_err(chain_error)? else {
                break;
            };
            history
                .base_fee_per_gas
                .push(u128::from(header.base_fee_per_gas));
            history
                .gas_used_ratio
                .push(header.gas_used as f64 / header.gas_limit.max(1) as f64);
            if let Some(p) = &percentiles {
                let receipts = snap
                    .receipts(number)
                    .map_err(chain_error)?
                    .unwrap_or_default();
                let base = u128::from(header.base_fee_per_gas);
                let mut tips: Vec<(u128, u64)> = receipts
                    .iter()
                    .map(|r| (r.effective_gas_price.saturating_sub(base), r.gas_used))
                    .collect();
                tips.sort_unstable();
                let total: u64 = tips.iter().map(|t| t.1).sum();
                let row = p
                    .iter()
                    .map(|pct| {
                        if tips.is_empty() {
                            return 0;
                        }
                        let threshold = (total as f64 * pct / 100.0) as u64;
                        let mut sum = 0u64;
                        for (tip, gas) in &tips {
                            sum += gas;
                            if sum >= threshold {
                                return *tip;
                            }
                        }
                        tips.last().map_or(0, |t| t.0)
                    })
                    .collect();
                rewards.push(row);
            }
        }
        // The base fee of the block after the newest (fixed on Braid).
        history
            .base_fee_per_gas
            .push(u128::from(snap.head().base_fee_per_gas));
        if percentiles.is_some() {
            history.reward = Some(rewards);
        }
        Ok(history)
    }

    fn send_raw_transaction(&self, bytes: Bytes) -> RpcResult<B256> {
        self.submit(RawTransaction::Ethereum(bytes.to_vec()))
    }

    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        let snap = self.snapshot()?;
        let head = snap.head().number;
        let (from, to) = match filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                match snap.block_number(&hash.0).map_err(chain_error)? {
                    Some(n) => (n, n),
                    None => return Err(error(SERVER_ERROR, format!("unknown block {hash}"))),
                }
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => {
                let from = from_block
                    .map_or(Some(head), |t| Self::resolve(&snap, t))
                    .unwrap_or(head + 1);
                let to = to_block
                    .map_or(Some(head), |t| Self::resolve(&snap, t))
                    .unwrap_or(head);
                if from > to && from <= head {
                    return Err(error(
                        INVALID_PARAMS,
                        format!(
                            "invalid block range params: fromBlock {from} is after toBlock {to}"
                        ),
                    ));
                }
                (from, to)
            }
        };
        if from > to {
            return Ok(Vec::new());
        }
        self.collect_logs(&snap, &filter, from, to)
    }

    fn new_filter(&self, filter: Filter) -> RpcResult<U64> {
        let head = self.snapshot()?.head().number;
        let start = match filter.block_option {
            FilterBlockOption::Range {
                from_block: Some(BlockNumberOrTag::Number(n)),
                ..
            } => n.saturating_sub(1).min(head),
            _ => head,
        };
        let max = self.shared.limits.max_filters;
        let mut filters = self
            .shared
            .filters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        filters
            .install(FilterKind::Logs(Box::new(filter)), start, max)
            .map(U64::from)
            .ok_or_else(|| {
                error(
                    LIMIT_EXCEEDED,
                    format!("too many filters installed (limit {max})"),
                )
            })
    }

    fn new_block_filter(&self) -> RpcResult<U64> {
        let head = self.snapshot()?.head().number;
        let max = self.shared.limits.max_filters;
        let mut filters = self
            .shared
            .filters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        filters
            .install(FilterKind::Blocks, head, max)
            .map(U64::from)
            .ok_or_else(|| {
                error(
                    LIMIT_EXCEEDED,
                    format!("too many filters installed (limit {max})"),
                )
            })
    }

    fn filter_changes(&self, id: U64) -> RpcResult<Value> {
        let snap = self.snapshot()?;
        let head = snap.head().number;
        let (kind, from) = {
            let mut filters = self
                .shared
                .filters
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let Some(filter) = filters.poll(id.to::<u64>()) else {
                return Err(error(SERVER_ERROR, format!("filter not found: {id}")));
            };
            let from = filter.last_block + 1;
            // Never more than the log range limit per poll.
            let to = head.min(from.saturating_add(self.shared.limits.max_logs_blocks - 1));
            filter.last_block = to.max(filter.last_block);
            (filter.kind.clone(), (from, to))
        };
        let (from, to) = from;
        match kind {
            FilterKind::Blocks => {
                let mut hashes = Vec::new();
                for n in from..=to {
                    if let Some(h) = snap.header(n).map_err(chain_error)? {
                        hashes.push(json!(B256::from(h.hash())));
                    }
                }
                Ok(Value::Array(hashes))
            }
            FilterKind::Logs(filter) => {
                let filter = match filter.block_option {
                    FilterBlockOption::Range {
                        to_block: Some(BlockNumberOrTag::Number(end)),
                        ..
                    } if end < to => {
                        return serde_json::to_value(self.collect_logs(&snap, &filter, from, end)?)
                            .map_err(internal);
                    }
                    _ => filter,
                };
                serde_json::to_value(self.collect_logs(&snap, &filter, from, to)?).map_err(internal)
            }
        }
    }

    fn filter_logs(&self, id: U64) -> RpcResult<Vec<Log>> {
        let kind = {
            let mut filters = self
                .shared
                .filters
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match filters.poll(id.to::<u64>()) {
                Some(f) => f.kind.clone(),
                None => return Err(error(SERVER_ERROR, format!("filter not found: {id}"))),
            }
        };
        match kind {
            FilterKind::Logs(filter) => self.logs(*filter),
            FilterKind::Blocks => Err(error(
                SERVER_ERROR,
                format!("filter {id} is a block filter, not a log filter"),
            )),
        }
    }

    fn uninstall_filter(&self, id: U64) -> RpcResult<bool> {
        Ok(self
            .shared
            .filters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .uninstall(id.to::<u64>()))
    }

    fn syncing(&self) -> RpcResult<bool> {
        Ok(false)
    }

    fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(Vec::new())
    }

    fn txpool_status(&self) -> RpcResult<Value> {
        let (pending, queued) = self.shared.pool().status();
        Ok(json!({ "pending": format!("{pending:#x}"), "queued": format!("{queued:#x}") }))
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
        params: Option<Params>,
    ) -> SubscriptionResult {
        let filter = match (kind, params) {
            (SubscriptionKind::NewHeads, None | Some(Params::None)) => None,
            (SubscriptionKind::Logs, Some(Params::Logs(filter))) => Some(*filter),
            (SubscriptionKind::Logs, None | Some(Params::None)) => Some(Filter::default()),
            (kind, params) => {
                pending
                    .reject(error(
                        INVALID_PARAMS,
                        format!("unsupported subscription {kind:?} with params {params:?}: this node serves newHeads and logs"),
                    ))
                    .await;
                return Ok(());
            }
        };
        let mut events = self.shared.events.subscribe();
        let sink = pending.accept().await?;
        loop {
            let block = tokio::select! {
                _ = sink.closed() => return Ok(()),
                event = events.recv() => match event {
                    Ok(block) => block,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "subscriber too slow: closing its subscription");
                        return Ok(());
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            };
            let items: Vec<Value> = match &filter {
                None => vec![serde_json::to_value(convert::header(&block.header))?],
                Some(filter) => {
                    let mut items = Vec::new();
                    let mut log_index = 0u64;
                    for (i, receipt) in block.receipts.iter().enumerate() {
                        let logs = convert::logs(receipt, Self::place(&block.header, i), log_index);
                        log_index += logs.len() as u64;
                        for log in logs.into_iter().filter(|l| filter.matches(&l.inner)) {
                            items.push(serde_json::to_value(log)?);
                        }
                    }
                    items
                }
            };
            for item in items {
                let message = SubscriptionMessage::from(serde_json::value::to_raw_value(&item)?);
                if sink.send(message).await.is_err() {
                    return Ok(());
                }
            }
        }
    }

    fn braid_send_transaction(&self, bytes: Bytes) -> RpcResult<B256> {
        self.submit(RawTransaction::Braid(bytes.to_vec()))
    }

    fn braid_call(&self, request: BraidCallParams) -> RpcResult<Value> {
        let snap = self.snapshot()?;
        let spec = self.shared.reader.spec();
        let gas_limit = request
            .gas
            .map_or(spec.block_braid_gas_limit(), |g| g.to::<u64>());
        let result = snap
            .braid_call(&BraidCallRequest {
                engine: request.engine.0,
                target: Identity(request.target.0.0),
                caller: Identity(request.caller.0.0),
                input: request.input.to_vec(),
                value: request.value.to_be_bytes::<32>(),
                gas_limit,
            })
            .map_err(chain_error)?;
        let (status, fault) = match result.status {
            CallStatus::Halt => ("halt", None),
            CallStatus::Revert => ("revert", None),
            CallStatus::Fault(reason) => ("fault", Some(reason)),
        };
        Ok(json!({
            "blockNumber": snap.head().number,
            "status": status,
            "fault": fault,
            "output": hex0x(&result.output),
            "gasUsed": result.gas_used,
            "braidGasUsed": result.braid_gas_used,
        }))
    }

    fn braid_get_state(
        &self,
        engine: EngineParam,
        identity: Address,
        key: Bytes,
    ) -> RpcResult<Value> {
        let snap = self.snapshot()?;
        let key = Self::state_key(engine, identity, &key);
        key.check()
            .map_err(|e| error(INVALID_PARAMS, e.to_string()))?;
        let value = snap.get(&key).map_err(chain_error)?;
        Ok(json!({
            "blockNumber": snap.head().number,
            "blockHash": B256::from(snap.head().hash()),
            "stateRoot": hex0x(&snap.root()),
            "value": value.map(|v| hex0x(&v)),
        }))
    }

    fn braid_get_proof(
        &self,
        engine: EngineParam,
        identity: Address,
        key: Bytes,
    ) -> RpcResult<Value> {
        let snap = self.snapshot()?;
        let state_key = Self::state_key(engine, identity, &key);
        state_key
            .check()
            .map_err(|e| error(INVALID_PARAMS, e.to_string()))?;
        let (value, proof) = snap.prove(&state_key).map_err(chain_error)?;
        Ok(json!({
            "blockNumber": snap.head().number,
            "blockHash": B256::from(snap.head().hash()),
            "stateRoot": hex0x(&snap.root()),
            "engine": engine.0.0,
            "identity": identity,
            "key": hex0x(&key),
            "encodedKey": hex0x(&state_key.encode()),
            "value": value.map(|v| hex0x(&v)),
            "proof": hex0x(&proof.encode()),
        }))
    }

    fn braid_get_receipt(&self, hash: B256) -> RpcResult<Option<Value>> {
        let snap = self.snapshot()?;
        let Some(location) = snap.transaction(&hash.0).map_err(chain_error)? else {
            return Ok(None);
        };
        let (Some(header), Some(receipts)) = (
            snap.header(location.block).map_err(chain_error)?,
            snap.receipts(location.block).map_err(chain_error)?,
        ) else {
            return Err(internal(format!("block {} is missing", location.block)));
        };
        let index = location.index as usize;
        Ok(receipts
            .get(index)
            .map(|r| receipt_json(r, Self::place(&header, index))))
    }

    fn braid_get_block(&self, number: U64) -> RpcResult<Option<Value>> {
        let snap = self.snapshot()?;
        let number = number.to::<u64>();
        let (Some(header), Some(body)) = (
            snap.header(number).map_err(chain_error)?,
            snap.body(number).map_err(chain_error)?,
        ) else {
            return Ok(None);
        };
        let block = braid_chain::Block {
            number,
            timestamp: header.timestamp,
            transactions: body,
        };
        serde_json::to_value(&block).map(Some).map_err(internal)
    }

    fn health(&self) -> RpcResult<Value> {
        let snap = self.snapshot()?;
        let (accepted, dropped) = self.shared.counters();
        let (pending, queued) = self.shared.pool().status();
        Ok(json!({
            "status": if self.shared.fatal().is_some() { "failed" } else { "ok" },
            "head": snap.head().number,
            "stateRoot": hex0x(&snap.root()),
            "pool": { "pending": pending, "queued": queued },
            "accepted": accepted,
            "dropped": dropped,
        }))
    }
}

/// geth's message for an exceptional halt of a call.
fn halt_message(reason: &revm::context_interface::result::HaltReason) -> String {
    use revm::context_interface::result::HaltReason as H;
    match reason {
        H::OutOfGas(_) => "out of gas".into(),
        H::OpcodeNotFound | H::InvalidFEOpcode => "invalid opcode".into(),
        H::InvalidJump => "invalid jump destination".into(),
        H::StackUnderflow => "stack underflow".into(),
        H::StackOverflow => "stack limit reached 1024".into(),
        H::CallTooDeep => "max call depth exceeded".into(),
        H::StateChangeDuringStaticCall | H::CallNotAllowedInsideStatic => "write protection".into(),
        H::OutOfFunds => "insufficient balance for transfer".into(),
        other => format!("execution halted: {other:?}"),
    }
}
