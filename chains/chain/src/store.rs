//! What a chain stores beside the state, in the metadata column, in the same
//! atomic batch as each block (`rfcs/0012-node.md`, "Persistence"):
//!
//! | key | value |
//! |---|---|
//! | `head` | RLP of the head's Ethereum-shaped [`BlockHeader`] |
//! | `chain_id` | the chain id, 8 bytes big-endian (written with genesis) |
//! | `header/` ‖ number (8 bytes BE) | RLP header |
//! | `hash/` ‖ block hash (32 bytes) | number, 8 bytes BE |
//! | `body/` ‖ number | SCALE `Vec<RawTransaction>` (the transactions' bytes) |
//! | `receipts/` ‖ number | SCALE list of receipts ([`crate::Receipt`]) |
//! | `tx/` ‖ transaction hash | SCALE `(number: u64, index: u32)` |

use braid_core::{BlockHashes, CoreError};
use braid_state::StateDb;

use crate::block::BlockHeader;
use crate::{ChainError, Result};

pub(crate) const HEAD_KEY: &[u8] = b"head";
pub(crate) const CHAIN_ID_KEY: &[u8] = b"chain_id";

fn numbered(prefix: &[u8], number: u64) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&number.to_be_bytes());
    key
}

fn hashed(prefix: &[u8], hash: &[u8; 32]) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(hash);
    key
}

pub(crate) fn header_key(number: u64) -> Vec<u8> {
    numbered(b"header/", number)
}

pub(crate) fn body_key(number: u64) -> Vec<u8> {
    numbered(b"body/", number)
}

pub(crate) fn receipts_key(number: u64) -> Vec<u8> {
    numbered(b"receipts/", number)
}

pub(crate) fn block_hash_key(hash: &[u8; 32]) -> Vec<u8> {
    hashed(b"hash/", hash)
}

pub(crate) fn tx_key(hash: &[u8; 32]) -> Vec<u8> {
    hashed(b"tx/", hash)
}

/// A stored record that does not decode.
pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> ChainError {
    ChainError::State(braid_state::StateError::Corrupt {
        what,
        detail: detail.to_string(),
    })
}

pub(crate) fn decode_header(bytes: &[u8]) -> Result<BlockHeader> {
    BlockHeader::decode(bytes).map_err(|e| corrupt("block header", e))
}

pub(crate) fn decode_u64(what: &'static str, bytes: &[u8]) -> Result<u64> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| corrupt(what, format!("{} bytes, expected 8", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

/// Answers `BLOCKHASH` from the stored headers (the last 256 blocks).
pub(crate) struct StoredHashes<'a> {
    pub(crate) db: &'a StateDb,
    pub(crate) head: u64,
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
        let header = BlockHeader::decode(&bytes).map_err(|e| fail(Box::new(e)))?;
        Ok(Some(header.hash()))
    }
}

/// A block inside the `BLOCKHASH` window has no stored header.
#[derive(Debug, thiserror::Error)]
#[error("no header is stored for block {number}")]
struct MissingHeader {
    number: u64,
}
