//! Blocks: the JSON files a chain directory bundles, and the header Braid
//! stores per block.
//!
//! A block file:
//! ```json
//! { "number": 1, "timestamp": 1700000012,
//!   "transactions": [ { "ethereum": "0x02f8..." }, { "braid": "0x..." } ] }
//! ```

use std::path::{Path, PathBuf};

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::{ChainError, Result};

/// One raw transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawTransaction {
    /// An EIP-2718 Ethereum transaction, 0x-hex.
    Ethereum(String),
    /// A SCALE-encoded signed Braid transaction, 0x-hex.
    Braid(String),
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

/// The header Braid stores for each applied block (SCALE-encoded in the
/// metadata column, written in the block's atomic batch).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockHeader {
    /// Height.
    pub number: u64,
    /// Hash of the previous header (zero for genesis).
    pub parent_hash: [u8; 32],
    /// Merkle root of the state after the block.
    pub state_root: [u8; 32],
    /// Unix time, seconds.
    pub timestamp: u64,
    /// keccak256 of the concatenated transaction hashes.
    pub transactions_root: [u8; 32],
    /// Braid gas used by the block.
    pub gas_used: u64,
    /// The chain id, so a database cannot be opened with another chain's spec.
    pub chain_id: u64,
}

impl BlockHeader {
    /// keccak256 of the SCALE-encoded header.
    pub fn hash(&self) -> [u8; 32] {
        braid_core::keccak256(&self.encode())
    }
}
