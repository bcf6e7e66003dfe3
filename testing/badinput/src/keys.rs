//! The corpus's PUBLIC test keys and the base chain
//! (`testing/corpus/base/chain.toml`) that block and transaction cases run
//! against. Never use these keys for anything of value.

use std::path::PathBuf;

use alloy_primitives::Address;
use braid_chain::tx::{BraidCall, BraidTransaction, braid_sender};
use braid_chain::{ChainSpec, RawTransaction};
use braid_core::keccak256;
use ed25519_dalek::SigningKey as Ed25519Key;
use k256::ecdsa::SigningKey as Secp256k1Key;
use parity_scale_codec::Encode;

/// The account funded in the base chain (account 0 and Braid sender 0).
pub const FUNDED: usize = 0;
/// An account the base chain does not fund.
pub const UNFUNDED: usize = 1;

/// The secp256k1 key of account `i`: `keccak256("braid badinput account {i}")`.
pub fn account_key(i: usize) -> Secp256k1Key {
    Secp256k1Key::from_slice(&keccak256(format!("braid badinput account {i}").as_bytes()))
        .expect("a keccak output below the curve order")
}

/// The address of account `i`.
pub fn account_address(i: usize) -> Address {
    Address::from_private_key(&account_key(i))
}

/// The ed25519 key of Braid sender `i`: seed `keccak256("braid badinput ed25519 {i}")`.
pub fn braid_key(i: usize) -> Ed25519Key {
    Ed25519Key::from_bytes(&keccak256(format!("braid badinput ed25519 {i}").as_bytes()))
}

/// The EVM address of Braid sender `i` (`keccak256(public_key)[12..32]`).
pub fn braid_address(i: usize) -> Address {
    Address::from(braid_sender(&braid_key(i).verifying_key().to_bytes()).0)
}

/// `testing/corpus/base`: `chain.toml` (no blocks).
pub fn base_chain_dir() -> PathBuf {
    crate::corpus_dir().join("base")
}

/// The base chain's spec.
///
/// # Panics
/// If `testing/corpus/base/chain.toml` does not load.
pub fn base_spec() -> ChainSpec {
    let path = base_chain_dir().join("chain.toml");
    ChainSpec::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A block file's JSON for block `number` (12 s per block after the base
/// chain's genesis) carrying `transactions`.
pub fn block_json(spec: &ChainSpec, number: u64, transactions: &[RawTransaction]) -> String {
    let block = braid_chain::Block {
        number,
        timestamp: spec.genesis_timestamp + 12 * number,
        transactions: transactions.to_vec(),
    };
    serde_json::to_string_pretty(&block).expect("a block serialises")
}

/// A block file of `number` whose transactions are `texts` as written
/// (`kind` is `ethereum` or `braid`): corpus entries that are no valid hex
/// cannot be a [`RawTransaction`], which holds bytes.
pub fn block_json_texts(spec: &ChainSpec, number: u64, kind: &str, texts: &[String]) -> String {
    let transactions: Vec<serde_json::Value> = texts
        .iter()
        .map(|t| serde_json::json!({ kind: t }))
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "number": number,
        "timestamp": spec.genesis_timestamp + 12 * number,
        "transactions": transactions,
    }))
    .expect("a block serialises")
}

/// An unsigned Braid transaction on the base chain with `actions`,
/// `gas_limit` Braid gas and a max fee of twice the base fee plus one wei
/// (tip 1 wei).
pub fn braid_transaction(
    spec: &ChainSpec,
    nonce: u64,
    actions: Vec<BraidCall>,
    gas_limit: u64,
) -> BraidTransaction {
    BraidTransaction {
        chain_id: spec.chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas: 2 * u128::from(spec.base_fee) + 1,
        max_priority_fee_per_gas: 1,
        calls: actions,
    }
}

/// Signs `tx` with Braid sender `from`'s key and encodes it as a block
/// carries it.
pub fn braid_raw(tx: BraidTransaction, from: usize) -> RawTransaction {
    RawTransaction::Braid(tx.sign(&braid_key(from)).encode())
}

/// `0x` + lowercase hex.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}
