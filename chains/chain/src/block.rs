//! Blocks: the JSON files a chain directory bundles, and the header Braid
//! stores per block.
//!
//! A block file:
//! ```json
//! { "number": 1, "timestamp": 1700000012,
//!   "transactions": [ { "ethereum": "0x02f8..." }, { "braid": "0x..." } ] }
//! ```

use std::path::{Path, PathBuf};

use alloy_consensus::constants::EMPTY_WITHDRAWALS;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_primitives::{Address, B256, Bloom, Bytes, U256};
use alloy_rlp::{Decodable, Encodable};
use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::{ChainError, Result};

/// One raw transaction in a block: its bytes, as signed. Hex only in files
/// (`"0x…"` in a block file's JSON); bytes everywhere else, the database
/// included (SCALE: `0 ‖ compact(len) ‖ bytes` Ethereum, `1 ‖ …` Braid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(rename_all = "lowercase")]
pub enum RawTransaction {
    /// An EIP-2718 Ethereum transaction (a legacy RLP list or a typed envelope).
    Ethereum(#[serde(with = "hex_bytes")] Vec<u8>),
    /// A SCALE-encoded signed Braid transaction.
    Braid(#[serde(with = "hex_bytes")] Vec<u8>),
}

impl RawTransaction {
    /// The transaction's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            RawTransaction::Ethereum(bytes) | RawTransaction::Braid(bytes) => bytes,
        }
    }

    /// The transaction hash: keccak-256 of its bytes (an Ethereum
    /// transaction's EIP-2718 hash; for a Braid transaction, of its SCALE bytes).
    pub fn hash(&self) -> [u8; 32] {
        braid_core::keccak256(self.bytes())
    }
}

/// `0x`-hex (de)serialisation of the bytes of a [`RawTransaction`].
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text.strip_prefix("0x").unwrap_or(&text);
        hex::decode(digits).map_err(|e| {
            let prefix: String = text.chars().take(16).collect();
            serde::de::Error::custom(format!("transaction {prefix:?}... is not hex: {e}"))
        })
    }
}

/// A block as bundled in a chain directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Height; genesis is 0, so bundled blocks start at 1.
    pub number: u64,
    /// Unix time, seconds.
    pub timestamp: u64,
    /// Transactions, applied in order.
    pub transactions: Vec<RawTransaction>,
}

impl Block {
    /// Reads one block file.
    ///
    /// # Errors
    /// [`ChainError::Io`] or [`ChainError::BlockSyntax`] naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ChainError::Io {
            path: path.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| ChainError::BlockSyntax {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// Reads every `*.json` file of `dir`, sorted by block number: blocks
    /// 1, 2, 3, ... with none missing and none twice.
    ///
    /// # Errors
    /// As [`Block::load`]; [`ChainError::BlockFile`] naming the file if a
    /// file holds block 0 (genesis comes from the spec), if two files hold
    /// the same number (naming both), or if a number is skipped.
    pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Block)>> {
        let entries = std::fs::read_dir(dir).map_err(|source| ChainError::Io {
            path: dir.into(),
            source,
        })?;
        let mut blocks = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| ChainError::Io {
                    path: dir.into(),
                    source,
                })?
                .path();
            if path.extension().is_some_and(|e| e == "json") {
                let block = Block::load(&path)?;
                blocks.push((path, block));
            }
        }
        // By number, then by path: the error names the same file on every run.
        blocks.sort_by(|(p, a), (q, b)| (a.number, p).cmp(&(b.number, q)));
        let mut expected = 1;
        for (i, (path, block)) in blocks.iter().enumerate() {
            let reason = if block.number == 0 {
                "block 0 is genesis, written from the chain spec; bundled blocks start at 1"
                    .to_string()
            } else if i > 0 && blocks[i - 1].1.number == block.number {
                format!("{} holds the same number", blocks[i - 1].0.display())
            } else if block.number != expected {
                format!("expected block {expected} (no file holds it)")
            } else {
                expected += 1;
                continue;
            };
            return Err(ChainError::BlockFile {
                path: path.clone(),
                number: block.number,
                reason,
            });
        }
        Ok(blocks)
    }
}

/// The header Braid stores for each applied block: an Ethereum block header
/// (the Yellow Paper's, with the EIP-1559, EIP-4895, EIP-4844, EIP-4788 and,
/// from Prague, EIP-7685 fields), stored RLP-encoded, so its hash is what
/// Ethereum tools compute and what `BLOCKHASH` returns (`rfcs/0012-node.md`).
///
/// Fields Braid does not use are constants: no ommers, difficulty and nonce 0,
/// empty extra data, no withdrawals, no blob gas, a zero parent beacon root,
/// and the empty requests hash from Prague on. Gas is Braid gas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Height.
    pub number: u64,
    /// Hash of the previous header (zero for genesis).
    pub parent_hash: [u8; 32],
    /// Merkle root of Braid's state after the block (RFC 0001; not an MPT root).
    pub state_root: [u8; 32],
    /// Unix time, seconds.
    pub timestamp: u64,
    /// Root of the ordered Merkle-Patricia trie of the transactions' bytes
    /// (Ethereum's `transactionsRoot` for Ethereum transactions; a Braid
    /// transaction's leaf is its SCALE bytes).
    pub transactions_root: [u8; 32],
    /// Root of the ordered Merkle-Patricia trie of the EIP-2718 receipts
    /// (`rfcs/0012-node.md` for a Braid transaction's receipt).
    pub receipts_root: [u8; 32],
    /// Bloom filter of every log of the block (Yellow Paper 4.3.1), 256 bytes.
    pub logs_bloom: [u8; 256],
    /// Braid gas used by the block.
    pub gas_used: u64,
    /// The block's gas budget, in Braid gas (RFC 0009).
    pub gas_limit: u64,
    /// Base fee, wei per gas (EIP-1559; fixed by the chain spec).
    pub base_fee_per_gas: u64,
    /// Fee recipient (the chain spec's coinbase).
    pub beneficiary: [u8; 20],
    /// `prevrandao` (EIP-4399), in the header's `mixHash`.
    pub prevrandao: [u8; 32],
    /// Whether the header carries EIP-7685's `requestsHash` (Prague on).
    pub requests_hash: bool,
}

impl BlockHeader {
    /// The Ethereum header this is.
    pub fn ethereum(&self) -> Header {
        Header {
            parent_hash: B256::from(self.parent_hash),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::from(self.beneficiary),
            state_root: B256::from(self.state_root),
            transactions_root: B256::from(self.transactions_root),
            receipts_root: B256::from(self.receipts_root),
            logs_bloom: Bloom::from(self.logs_bloom),
            difficulty: U256::ZERO,
            number: self.number,
            gas_limit: self.gas_limit,
            gas_used: self.gas_used,
            timestamp: self.timestamp,
            extra_data: Bytes::new(),
            mix_hash: B256::from(self.prevrandao),
            nonce: Default::default(),
            base_fee_per_gas: Some(self.base_fee_per_gas),
            withdrawals_root: Some(EMPTY_WITHDRAWALS),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: self
                .requests_hash
                .then_some(alloy_eips::eip7685::EMPTY_REQUESTS_HASH),
            // Amsterdam fields (EIP-7928, slot number): not in the forks Braid runs.
            block_access_list_hash: None,
            slot_number: None,
        }
    }

    /// The header's RLP encoding (what the database stores).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(600);
        self.ethereum().encode(&mut out);
        out
    }

    /// Decodes [`BlockHeader::encode`]'s bytes.
    ///
    /// # Errors
    /// The RLP decoder's error for bytes that are not an Ethereum header.
    pub fn decode(bytes: &[u8]) -> Result<Self, alloy_rlp::Error> {
        let mut buf = bytes;
        let header = Header::decode(&mut buf)?;
        if !buf.is_empty() {
            return Err(alloy_rlp::Error::UnexpectedLength);
        }
        Ok(BlockHeader {
            number: header.number,
            parent_hash: header.parent_hash.0,
            state_root: header.state_root.0,
            timestamp: header.timestamp,
            transactions_root: header.transactions_root.0,
            receipts_root: header.receipts_root.0,
            logs_bloom: header.logs_bloom.0.0,
            gas_used: header.gas_used,
            gas_limit: header.gas_limit,
            base_fee_per_gas: header.base_fee_per_gas.unwrap_or_default(),
            beneficiary: header.beneficiary.0.0,
            prevrandao: header.mix_hash.0,
            requests_hash: header.requests_hash.is_some(),
        })
    }

    /// The block hash: keccak-256 of the RLP-encoded Ethereum header, as
    /// Ethereum computes it and `BLOCKHASH` returns it.
    pub fn hash(&self) -> [u8; 32] {
        braid_core::keccak256(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_hashes_as_ethereum_does() {
        let header = BlockHeader {
            number: 7,
            parent_hash: [1; 32],
            state_root: [2; 32],
            timestamp: 1_700_000_000,
            transactions_root: [3; 32],
            receipts_root: [4; 32],
            logs_bloom: [5; 256],
            gas_used: 21_000,
            gas_limit: 30_000_000,
            base_fee_per_gas: 7,
            beneficiary: [6; 20],
            prevrandao: [0; 32],
            requests_hash: true,
        };
        let bytes = header.encode();
        assert_eq!(BlockHeader::decode(&bytes).unwrap(), header);
        assert_eq!(header.hash(), header.ethereum().hash_slow().0);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(BlockHeader::decode(&trailing).is_err());
    }

    #[test]
    fn transactions_are_hex_in_files_and_bytes_in_memory() {
        let block: Block = serde_json::from_str(
            r#"{"number":1,"timestamp":2,"transactions":[{"ethereum":"0x02ab"},{"braid":"0x00"}]}"#,
        )
        .unwrap();
        assert_eq!(
            block.transactions,
            vec![
                RawTransaction::Ethereum(vec![2, 0xab]),
                RawTransaction::Braid(vec![0])
            ]
        );
        let text = serde_json::to_string(&block).unwrap();
        assert!(text.contains(r#"{"ethereum":"0x02ab"}"#), "{text}");
        let err = serde_json::from_str::<Block>(
            r#"{"number":1,"timestamp":2,"transactions":[{"braid":"0xzz"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"0xzz\"... is not hex"), "{err}");
    }
}
