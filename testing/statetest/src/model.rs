//! The JSON shape of a filled Ethereum state test, read as text first and
//! then parsed field by field, so a bad value is reported by name.

use std::collections::BTreeMap;
use std::str::FromStr;

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::Deserialize;

/// One test unit: `env`, `pre`, `transaction`, `post`.
#[derive(Debug, Deserialize)]
pub(crate) struct TestUnit {
    pub env: Env,
    pub pre: BTreeMap<String, PreAccount>,
    pub transaction: Transaction,
    pub post: BTreeMap<String, Vec<PostCase>>,
}

/// The block the transaction runs in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Env {
    pub current_coinbase: String,
    pub current_gas_limit: String,
    pub current_number: String,
    pub current_timestamp: String,
    #[serde(default)]
    pub current_difficulty: Option<String>,
    #[serde(default)]
    pub current_random: Option<String>,
    #[serde(default)]
    pub current_base_fee: Option<String>,
    #[serde(default)]
    pub current_excess_blob_gas: Option<String>,
    #[serde(default, alias = "currentChainID")]
    pub current_chain_id: Option<String>,
}

/// One account of the pre-state.
#[derive(Debug, Deserialize)]
pub(crate) struct PreAccount {
    pub balance: String,
    pub nonce: String,
    pub code: String,
    #[serde(default)]
    pub storage: BTreeMap<String, String>,
}

/// The transaction template; `data`, `gasLimit` and `value` are picked by index.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Transaction {
    pub data: Vec<String>,
    pub gas_limit: Vec<String>,
    pub value: Vec<String>,
    pub nonce: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    #[serde(default)]
    pub gas_price: Option<String>,
    #[serde(default)]
    pub max_fee_per_gas: Option<String>,
    #[serde(default)]
    pub max_priority_fee_per_gas: Option<String>,
    #[serde(default)]
    pub max_fee_per_blob_gas: Option<String>,
    #[serde(default)]
    pub blob_versioned_hashes: Option<Vec<String>>,
    #[serde(default)]
    pub access_lists: Option<Vec<Option<Vec<AccessListItem>>>>,
    #[serde(default)]
    pub authorization_list: Option<Vec<Authorization>>,
    #[serde(default, rename = "type")]
    pub tx_type: Option<String>,
}

/// One EIP-2930 access list entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccessListItem {
    pub address: String,
    pub storage_keys: Vec<String>,
}

/// One EIP-7702 authorization tuple, with its signature.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Authorization {
    pub chain_id: String,
    pub address: String,
    pub nonce: String,
    #[serde(default)]
    pub v: Option<String>,
    #[serde(default)]
    pub y_parity: Option<String>,
    pub r: String,
    pub s: String,
}

/// One expected result.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostCase {
    pub indexes: Indexes,
    pub hash: String,
    pub logs: String,
    #[serde(default)]
    pub expect_exception: Option<String>,
    /// The signed transaction, EIP-2718 bytes in hex.
    #[serde(default)]
    pub txbytes: Option<String>,
}

/// Which element of `data`, `gasLimit` and `value` a case uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Indexes {
    pub data: usize,
    pub gas: usize,
    pub value: usize,
}

/// Parses a hex (`0x…`) or decimal integer; `field` names it in the error.
pub(crate) fn u256(field: &str, text: &str) -> Result<U256, String> {
    let t = text.trim();
    if t == "0x" || t.is_empty() {
        return Ok(U256::ZERO);
    }
    U256::from_str(t).map_err(|e| format!("{field}: `{text}` is not an integer: {e}"))
}

/// [`u256`] that must fit in a `u64`.
pub(crate) fn u64_of(field: &str, text: &str) -> Result<u64, String> {
    let v = u256(field, text)?;
    u64::try_from(v).map_err(|_| format!("{field}: {v} does not fit in 64 bits"))
}

/// [`u256`] saturated to a `u64` (gas limits above 2^64 - 1 stay invalid).
pub(crate) fn u64_saturating(field: &str, text: &str) -> Result<u64, String> {
    Ok(u64::try_from(u256(field, text)?).unwrap_or(u64::MAX))
}

/// [`u256`] saturated to a `u128` (fees).
pub(crate) fn u128_saturating(field: &str, text: &str) -> Result<u128, String> {
    Ok(u128::try_from(u256(field, text)?).unwrap_or(u128::MAX))
}

/// A 20-byte address in hex.
pub(crate) fn address(field: &str, text: &str) -> Result<Address, String> {
    Address::from_str(text.trim()).map_err(|e| format!("{field}: `{text}` is not an address: {e}"))
}

/// A 32-byte hash in hex.
pub(crate) fn b256(field: &str, text: &str) -> Result<B256, String> {
    B256::from_str(text.trim()).map_err(|e| format!("{field}: `{text}` is not a 32-byte hash: {e}"))
}

/// Bytes in hex (`0x` is empty).
pub(crate) fn bytes(field: &str, text: &str) -> Result<Bytes, String> {
    let t = text.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    hex::decode(digits)
        .map(Bytes::from)
        .map_err(|e| format!("{field}: not hex ({e})"))
}
