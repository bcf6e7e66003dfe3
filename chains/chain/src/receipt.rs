//! Receipts: what one applied transaction did, as stored with its block and
//! served by a node (`rfcs/0012-node.md`, "Persistence").

use std::collections::BTreeMap;

use alloy_consensus::{Eip658Value, ReceiptWithBloom, TxType};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bloom, LogData};
use alloy_rlp::Encodable;
use braid_core::{EngineId, Identity, Log};
use parity_scale_codec::{Decode, Encode};

/// The EIP-2718 type byte a Braid transaction shows to Ethereum tools (its
/// receipt's leaf in the receipts trie and `type` over JSON-RPC): `0x42`.
pub const BRAID_TX_TYPE: u8 = 0x42;

/// Which kind of transaction a receipt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum TransactionKind {
    /// Ethereum-signed, run by the EVM.
    Ethereum,
    /// A Braid transaction (list of calls).
    Braid,
}

/// How one call of a Braid transaction ended (a receipt's per-call outcome).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum CallStatus {
    /// It halted: its writes committed into the transaction.
    Halt,
    /// It reverted by its own choice (its output is the revert data).
    Revert,
    /// It faulted; the text names the fault (`OutOfGas`, `Trap`, a fault code...).
    Fault(String),
}

/// One call (or deploy) of a Braid transaction, as it ran.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CallReport {
    /// The engine called.
    pub engine: u8,
    /// The instance called or deployed.
    pub target: [u8; 20],
    /// How it ended.
    pub status: CallStatus,
    /// Return or revert data (empty for a deploy or a fault).
    pub output: Vec<u8>,
    /// Gas used, in the engine's native unit.
    pub gas_used: u64,
}

/// The result of one applied transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Transaction kind.
    pub kind: TransactionKind,
    /// EIP-2718 type: 0 legacy, 1-4 typed Ethereum, [`BRAID_TX_TYPE`] Braid.
    pub tx_type: u8,
    /// The transaction hash (keccak-256 of its bytes).
    pub hash: [u8; 32],
    /// The sender (recovered signer, or `keccak256(public_key)[12..]`).
    pub from: Identity,
    /// An Ethereum transaction's recipient (`None` for a create and for a
    /// Braid transaction, whose calls name their targets).
    pub to: Option<Identity>,
    /// Whether it succeeded (Ethereum: status 1; Braid: every call halted).
    pub success: bool,
    /// Gas used, in Braid gas (a Braid transaction's includes its intrinsic gas).
    pub gas_used: u64,
    /// Braid gas used by the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// What the sender paid per gas, in wei (EIP-1559 `effective_gas_price`;
    /// per Braid gas for a Braid transaction, per EVM gas for an Ethereum one).
    pub effective_gas_price: u128,
    /// Logs of the transaction (empty if it failed).
    pub logs: Vec<Log>,
    /// Contract created by an Ethereum create transaction, or module
    /// deployed by a Braid transaction.
    pub created: Option<Identity>,
    /// Native gas used per engine.
    pub gas_by_engine: BTreeMap<EngineId, u64>,
    /// A Braid transaction's calls, in order, up to the first that did not
    /// halt (empty for an Ethereum transaction).
    pub calls: Vec<CallReport>,
}

impl Receipt {
    /// The logs as Ethereum logs (address = the emitting identity).
    pub fn ethereum_logs(&self) -> Vec<alloy_primitives::Log> {
        self.logs.iter().map(ethereum_log).collect()
    }

    /// The Bloom filter of the receipt's logs (Yellow Paper 4.3.1).
    pub fn logs_bloom(&self) -> Bloom {
        let mut bloom = Bloom::ZERO;
        for log in &self.logs {
            bloom.accrue_raw_log(
                Address::from(log.identity.0),
                &log.topics
                    .iter()
                    .map(|t| B256::from(*t))
                    .collect::<Vec<_>>(),
            );
        }
        bloom
    }

    /// The receipt's EIP-2718 encoding, its leaf in the receipts trie:
    /// `type ‖ rlp([status, cumulative_gas_used, logs_bloom, logs])` (no type
    /// byte for a legacy transaction; [`BRAID_TX_TYPE`] for a Braid one).
    pub fn encode_2718(&self) -> Vec<u8> {
        let receipt = ReceiptWithBloom {
            receipt: alloy_consensus::Receipt {
                status: Eip658Value::Eip658(self.success),
                cumulative_gas_used: self.cumulative_gas_used,
                logs: self.ethereum_logs(),
            },
            logs_bloom: self.logs_bloom(),
        };
        let mut out = Vec::new();
        match TxType::try_from(self.tx_type) {
            Ok(ty) if self.kind == TransactionKind::Ethereum => {
                alloy_consensus::ReceiptEnvelope::from_typed(ty, receipt).encode_2718(&mut out);
            }
            _ => {
                out.push(self.tx_type);
                receipt.encode(&mut out);
            }
        }
        out
    }
}

/// A Braid log as an Ethereum log.
pub fn ethereum_log(log: &Log) -> alloy_primitives::Log {
    alloy_primitives::Log {
        address: Address::from(log.identity.0),
        data: LogData::new_unchecked(
            log.topics.iter().map(|t| B256::from(*t)).collect(),
            log.data.clone().into(),
        ),
    }
}

/// A stored log: engine, emitting identity, topics, data.
type LogRecord = (u8, [u8; 20], Vec<[u8; 32]>, Vec<u8>);

/// The stored form of a [`Receipt`] (SCALE; `rfcs/0012-node.md`).
#[derive(Encode, Decode)]
struct ReceiptRecord {
    kind: TransactionKind,
    tx_type: u8,
    hash: [u8; 32],
    from: [u8; 20],
    to: Option<[u8; 20]>,
    success: bool,
    gas_used: u64,
    cumulative_gas_used: u64,
    effective_gas_price: u128,
    logs: Vec<LogRecord>,
    created: Option<[u8; 20]>,
    gas_by_engine: Vec<(u8, u64)>,
    calls: Vec<CallReport>,
}

impl From<&Receipt> for ReceiptRecord {
    fn from(r: &Receipt) -> Self {
        ReceiptRecord {
            kind: r.kind,
            tx_type: r.tx_type,
            hash: r.hash,
            from: r.from.0,
            to: r.to.map(|t| t.0),
            success: r.success,
            gas_used: r.gas_used,
            cumulative_gas_used: r.cumulative_gas_used,
            effective_gas_price: r.effective_gas_price,
            logs: r
                .logs
                .iter()
                .map(|l| (l.engine.0, l.identity.0, l.topics.clone(), l.data.clone()))
                .collect(),
            created: r.created.map(|c| c.0),
            gas_by_engine: r.gas_by_engine.iter().map(|(e, g)| (e.0, *g)).collect(),
            calls: r.calls.clone(),
        }
    }
}

impl From<ReceiptRecord> for Receipt {
    fn from(r: ReceiptRecord) -> Self {
        Receipt {
            kind: r.kind,
            tx_type: r.tx_type,
            hash: r.hash,
            from: Identity(r.from),
            to: r.to.map(Identity),
            success: r.success,
            gas_used: r.gas_used,
            cumulative_gas_used: r.cumulative_gas_used,
            effective_gas_price: r.effective_gas_price,
            logs: r
                .logs
                .into_iter()
                .map(|(engine, identity, topics, data)| Log {
                    engine: EngineId(engine),
                    identity: Identity(identity),
                    topics,
                    data,
                })
                .collect(),
            created: r.created.map(Identity),
            gas_by_engine: r
                .gas_by_engine
                .into_iter()
                .map(|(e, g)| (EngineId(e), g))
                .collect(),
            calls: r.calls,
        }
    }
}

/// SCALE bytes of a block's receipts, as stored.
pub(crate) fn encode_receipts(receipts: &[Receipt]) -> Vec<u8> {
    receipts
        .iter()
        .map(ReceiptRecord::from)
        .collect::<Vec<_>>()
        .encode()
}

/// Decodes [`encode_receipts`]'s bytes.
pub(crate) fn decode_receipts(bytes: &[u8]) -> Result<Vec<Receipt>, parity_scale_codec::Error> {
    let records = Vec::<ReceiptRecord>::decode(&mut &bytes[..])?;
    Ok(records.into_iter().map(Receipt::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(kind: TransactionKind, tx_type: u8) -> Receipt {
        Receipt {
            kind,
            tx_type,
            hash: [1; 32],
            from: Identity([2; 20]),
            to: Some(Identity([3; 20])),
            success: true,
            gas_used: 21_000,
            cumulative_gas_used: 42_000,
            effective_gas_price: 7,
            logs: vec![Log {
                engine: EngineId::EVM,
                identity: Identity([4; 20]),
                topics: vec![[5; 32]],
                data: vec![6, 7],
            }],
            created: None,
            gas_by_engine: [(EngineId::EVM, 21_000)].into(),
            calls: vec![CallReport {
                engine: 2,
                target: [8; 20],
                status: CallStatus::Fault("OutOfGas".into()),
                output: vec![],
                gas_used: 9,
            }],
        }
    }

    #[test]
    fn receipts_round_trip() {
        let receipts = vec![
            receipt(TransactionKind::Ethereum, 2),
            receipt(TransactionKind::Braid, BRAID_TX_TYPE),
        ];
        assert_eq!(
            decode_receipts(&encode_receipts(&receipts)).unwrap(),
            receipts
        );
    }

    #[test]
    fn an_ethereum_receipt_encodes_as_alloy_does() {
        let r = receipt(TransactionKind::Ethereum, 2);
        let alloy = alloy_consensus::ReceiptEnvelope::Eip1559(ReceiptWithBloom {
            receipt: alloy_consensus::Receipt {
                status: Eip658Value::Eip658(true),
                cumulative_gas_used: 42_000,
                logs: r.ethereum_logs(),
            },
            logs_bloom: alloy_primitives::logs_bloom(r.ethereum_logs().iter()),
        });
        assert_eq!(r.encode_2718(), alloy.encoded_2718());
        assert_eq!(r.encode_2718()[0], 2);
        assert_eq!(
            receipt(TransactionKind::Braid, BRAID_TX_TYPE).encode_2718()[0],
            BRAID_TX_TYPE
        );
    }
}
