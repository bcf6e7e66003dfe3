//! Braid's stored blocks, transactions and receipts in the shapes of the
//! Ethereum JSON-RPC (alloy's RPC types, serialised as geth serialises them).
//!
//! A Braid transaction has no Ethereum envelope: it is shown with type
//! `0x42` ([`braid_chain::BRAID_TX_TYPE`]), its sender as `from`, `to`
//! null, its Braid nonce, gas limit (Braid gas), fee caps, the total value
//! of its calls, its SCALE bytes as `input`, and a zero signature (the
//! ed25519 one is inside `input`). Its receipt is an EIP-1559-shaped receipt
//! with type `0x42`.

use alloy_consensus::transaction::Recovered;
use alloy_consensus::{Eip658Value, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, Bloom, U256};
use alloy_rpc_types_eth::{Header, Log, TransactionReceipt};
use braid_chain::tx::SignedBraidTransaction;
use braid_chain::{BRAID_TX_TYPE, BlockHeader, RawTransaction, Receipt, TransactionKind};
use serde_json::{Value, json};

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn quantity(n: impl Into<u128>) -> String {
    format!("{:#x}", n.into())
}

/// A header as `eth_getBlockBy*` and `newHeads` give it.
pub(crate) fn header(h: &BlockHeader) -> Header {
    let inner = h.ethereum();
    let size = h.encode().len();
    Header {
        hash: B256::from(h.hash()),
        inner,
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(size)),
    }
}

/// Where a transaction sits, for the fields every shape carries.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    pub(crate) block_hash: B256,
    pub(crate) block_number: u64,
    pub(crate) index: u64,
    pub(crate) timestamp: u64,
}

/// A transaction object (`eth_getTransactionByHash`, full blocks); `place`
/// is `None` for a pooled one. `from` comes from the receipt or the pool
/// (no signature recovery here).
pub(crate) fn transaction(
    raw: &RawTransaction,
    from: Address,
    place: Option<Place>,
    effective_gas_price: Option<u128>,
) -> Value {
    match raw {
        RawTransaction::Ethereum(bytes) => {
            let Ok(envelope) = TxEnvelope::decode_2718_exact(bytes) else {
                // Stored bytes were decoded when the block was applied.
                return Value::Null;
            };
            let tx = alloy_rpc_types_eth::Transaction {
                inner: Recovered::new_unchecked(envelope, from),
                block_hash: place.map(|p| p.block_hash),
                block_number: place.map(|p| p.block_number),
                transaction_index: place.map(|p| p.index),
                effective_gas_price,
                block_timestamp: place.map(|p| p.timestamp),
            };
            serde_json::to_value(&tx).unwrap_or(Value::Null)
        }
        RawTransaction::Braid(bytes) => {
            let Ok(signed) = SignedBraidTransaction::decode(bytes) else {
                return Value::Null;
            };
            let tx = &signed.transaction;
            let value = braid_chain::tx::braid_value(tx);
            json!({
                "type": quantity(BRAID_TX_TYPE),
                "hash": hex0x(&raw.hash()),
                "from": from,
                "to": Value::Null,
                "nonce": quantity(tx.nonce),
                "gas": quantity(tx.gas_limit),
                "maxFeePerGas": quantity(tx.max_fee_per_gas),
                "maxPriorityFeePerGas": quantity(tx.max_priority_fee_per_gas),
                "gasPrice": quantity(effective_gas_price.unwrap_or(tx.max_fee_per_gas)),
                "value": value,
                "input": hex0x(bytes),
                "chainId": quantity(tx.chain_id),
                "accessList": [],
                "v": "0x0",
                "yParity": "0x0",
                "r": "0x0",
                "s": "0x0",
                "blockHash": place.map(|p| p.block_hash),
                "blockNumber": place.map(|p| quantity(p.block_number)),
                "transactionIndex": place.map(|p| quantity(p.index)),
            })
        }
    }
}

/// The logs of `receipt` with their positions; `first_log_index` is the
/// block-wide index of its first log.
pub(crate) fn logs(receipt: &Receipt, place: Place, first_log_index: u64) -> Vec<Log> {
    receipt
        .ethereum_logs()
        .into_iter()
        .enumerate()
        .map(|(i, inner)| Log {
            inner,
            block_hash: Some(place.block_hash),
            block_number: Some(place.block_number),
            block_timestamp: Some(place.timestamp),
            transaction_hash: Some(B256::from(receipt.hash)),
            transaction_index: Some(place.index),
            log_index: Some(first_log_index + i as u64),
            removed: false,
        })
        .collect()
}

/// A receipt (`eth_getTransactionReceipt`, `eth_getBlockReceipts`).
pub(crate) fn receipt(receipt: &Receipt, place: Place, first_log_index: u64) -> Value {
    let rpc_logs = logs(receipt, place, first_log_index);
    let with_bloom = ReceiptWithBloom {
        receipt: alloy_consensus::Receipt {
            status: Eip658Value::Eip658(receipt.success),
            cumulative_gas_used: receipt.cumulative_gas_used,
            logs: rpc_logs,
        },
        logs_bloom: receipt.logs_bloom(),
    };
    let braid = receipt.kind == TransactionKind::Braid;
    let inner = match receipt.tx_type {
        0 => ReceiptEnvelope::Legacy(with_bloom),
        1 => ReceiptEnvelope::Eip2930(with_bloom),
        3 => ReceiptEnvelope::Eip4844(with_bloom),
        4 => ReceiptEnvelope::Eip7702(with_bloom),
        _ => ReceiptEnvelope::Eip1559(with_bloom),
    };
    let rpc = TransactionReceipt {
        inner,
        transaction_hash: B256::from(receipt.hash),
        transaction_index: Some(place.index),
        block_hash: Some(place.block_hash),
        block_number: Some(place.block_number),
        gas_used: receipt.gas_used,
        effective_gas_price: receipt.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: Address::from(receipt.from.0),
        to: receipt.to.map(|t| Address::from(t.0)),
        contract_address: receipt
            .created
            .filter(|_| !braid)
            .map(|c| Address::from(c.0)),
    };
    let mut value = serde_json::to_value(&rpc).unwrap_or(Value::Null);
    if braid && let Some(object) = value.as_object_mut() {
        object.insert("type".into(), json!(quantity(BRAID_TX_TYPE)));
    }
    value
}

/// A block's logs bloom as alloy's type.
pub(crate) fn bloom(h: &BlockHeader) -> Bloom {
    Bloom::from(h.logs_bloom)
}
