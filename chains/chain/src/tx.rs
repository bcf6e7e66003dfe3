//! Transactions: Ethereum-signed (legacy/EIP-155, EIP-2930, EIP-1559, decoded
//! with alloy) and Braid transactions (SCALE-encoded, ed25519-signed).
//!
//! A Braid transaction is a list of calls, possibly to different engines, run
//! in order as siblings and all-or-nothing (DESIGN.md kernel rule 7).
//!
//! **Sender address.** A Braid sender's 20-byte identity is
//! `keccak256(ed25519_public_key)[12..32]`, the way Ethereum derives an address
//! from a secp256k1 key, so a Braid sender is an ordinary EVM address to the
//! contracts it calls. Its Braid nonce lives under the system engine at
//! `(0x00, 0^20, 0x03 ‖ sender)` as 8 bytes big-endian.
//!
//! **Signature.** ed25519 (RFC 8032, strict verification) over
//! `b"braid-tx" ‖ SCALE(BraidTransaction)`.

use alloy_consensus::TxEnvelope;
use alloy_consensus::transaction::{SignerRecoverable, Transaction};
use alloy_eips::Typed2718;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, U256};
use braid_core::{Identity, StateKey, keccak256};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use revm::context::TxEnv;

use crate::TxError;

/// Domain separator signed before the SCALE bytes of a Braid transaction.
pub const BRAID_TX_DOMAIN: &[u8] = b"braid-tx";

/// One action of a Braid transaction.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum BraidCall {
    /// Calls an instance.
    Call {
        /// Engine id (`0x01` EVM, `0x02` PVM, `0x03` WASM, plugins `0x10..=0xFE`).
        engine: u8,
        /// Target identity in that engine.
        target: [u8; 20],
        /// Call data.
        input: Vec<u8>,
        /// Value, 256-bit big-endian (EVM wei; zero for engines without a currency).
        value: [u8; 32],
    },
    /// Deploys `code` as a new instance of an instance-scoped engine (PVM,
    /// WASM, plugins) with identity
    /// [`braid_core::module_identity`]`(chain_id, name, version)`.
    Deploy {
        /// Engine id.
        engine: u8,
        /// Module name.
        name: Vec<u8>,
        /// Module version.
        version: u32,
        /// The code, validated by the engine.
        code: Vec<u8>,
    },
}

impl BraidCall {
    /// The engine the action addresses.
    pub fn engine(&self) -> braid_core::EngineId {
        match self {
            BraidCall::Call { engine, .. } | BraidCall::Deploy { engine, .. } => {
                braid_core::EngineId(*engine)
            }
        }
    }
}

/// An unsigned Braid transaction.
///
/// Fees follow EIP-1559 in Braid gas (RFC 0009): the sender pays
/// `gas_used × effective_gas_price` from its EVM balance, where
/// `effective_gas_price = min(max_fee_per_gas, base_fee + max_priority_fee_per_gas)`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BraidTransaction {
    /// The chain's id.
    pub chain_id: u64,
    /// The sender's Braid nonce (starts at 0).
    pub nonce: u64,
    /// Budget for the whole transaction (intrinsic gas and every call), in
    /// Braid gas; counts against the block's gas limit.
    pub gas_limit: u64,
    /// Most the sender pays per Braid gas, in wei (EIP-1559 `max_fee_per_gas`).
    pub max_fee_per_gas: u128,
    /// Most the sender tips the block's coinbase per Braid gas, in wei
    /// (EIP-1559 `max_priority_fee_per_gas`).
    pub max_priority_fee_per_gas: u128,
    /// The actions, run in order, all-or-nothing.
    pub calls: Vec<BraidCall>,
}

/// A signed Braid transaction, as carried in blocks (SCALE-encoded).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedBraidTransaction {
    /// What was signed.
    pub transaction: BraidTransaction,
    /// ed25519 public key of the sender (32 bytes).
    pub public_key: [u8; 32],
    /// ed25519 signature (64 bytes).
    pub signature: [u8; 64],
}

/// The identity of the sender holding `public_key`: `keccak256(public_key)[12..32]`.
pub fn braid_sender(public_key: &[u8; 32]) -> Identity {
    let hash = keccak256(public_key);
    let mut id = [0u8; 20];
    id.copy_from_slice(&hash[12..]);
    Identity(id)
}

/// The state key of a Braid sender's nonce (kernel data:
/// [`braid_kernel::layout::nonce_key`]).
pub fn nonce_key(sender: &Identity) -> StateKey {
    braid_kernel::layout::nonce_key(sender)
}

fn signing_payload(tx: &BraidTransaction) -> Vec<u8> {
    let mut payload = BRAID_TX_DOMAIN.to_vec();
    tx.encode_to(&mut payload);
    payload
}

impl BraidTransaction {
    /// Signs with `key`.
    pub fn sign(self, key: &SigningKey) -> SignedBraidTransaction {
        let signature = key.sign(&signing_payload(&self)).to_bytes();
        SignedBraidTransaction {
            transaction: self,
            public_key: key.verifying_key().to_bytes(),
            signature,
        }
    }
}

fn prefix_hex(bytes: &[u8]) -> String {
    hex::encode(&bytes[..bytes.len().min(8)])
}

impl SignedBraidTransaction {
    /// Decodes SCALE bytes; trailing bytes are refused.
    ///
    /// # Errors
    /// [`TxError::Decode`] naming the first bytes of the input.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        Self::decode_all(&mut &bytes[..]).map_err(|e| TxError::Decode {
            kind: "braid",
            prefix: prefix_hex(bytes),
            message: e.to_string(),
        })
    }

    /// Verifies the signature and returns the sender identity.
    ///
    /// # Errors
    /// [`TxError::BadSignature`].
    pub fn verify(&self) -> Result<Identity, TxError> {
        let key =
            VerifyingKey::from_bytes(&self.public_key).map_err(|e| TxError::BadSignature {
                message: format!(
                    "public key 0x{} is not a valid ed25519 point: {e}",
                    hex::encode(self.public_key)
                ),
            })?;
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature);
        key.verify(&signing_payload(&self.transaction), &signature)
            .map_err(|_| TxError::BadSignature {
                message: format!(
                    "ed25519 signature does not verify for public key 0x{}",
                    hex::encode(self.public_key)
                ),
            })?;
        key.verify_strict(&signing_payload(&self.transaction), &signature)
            .map_err(|_| TxError::BadSignature {
                message: "ed25519 signature is not canonical (strict verification)".into(),
            })?;
        Ok(braid_sender(&self.public_key))
    }
}

/// An Ethereum transaction with its recovered sender.
#[derive(Clone, Debug)]
pub struct EthereumTransaction {
    /// The decoded envelope.
    pub envelope: TxEnvelope,
    /// The signer recovered from the signature.
    pub sender: Address,
}

impl EthereumTransaction {
    /// Decodes EIP-2718 bytes (a legacy RLP list or a typed envelope) and
    /// recovers the signer.
    ///
    /// # Errors
    /// [`TxError::Decode`] for malformed bytes, [`TxError::BadSignature`] if
    /// no signer can be recovered.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let envelope = TxEnvelope::decode_2718_exact(bytes).map_err(|e| TxError::Decode {
            kind: "ethereum",
            prefix: prefix_hex(bytes),
            message: e.to_string(),
        })?;
        let sender = envelope
            .recover_signer()
            .map_err(|e| TxError::BadSignature {
                message: format!("cannot recover the signer: {e}"),
            })?;
        Ok(EthereumTransaction { envelope, sender })
    }

    /// The transaction's gas limit, in EVM gas.
    pub fn gas_limit(&self) -> u64 {
        self.envelope.gas_limit()
    }

    /// The EIP-155 chain id, if the transaction carries one.
    pub fn chain_id(&self) -> Option<u64> {
        self.envelope.chain_id()
    }

    /// The transaction hash.
    pub fn hash(&self) -> [u8; 32] {
        self.envelope.tx_hash().0
    }

    /// The revm transaction environment for this transaction.
    pub fn tx_env(&self) -> TxEnv {
        let tx = &self.envelope;
        TxEnv::builder()
            .tx_type(Some(tx.ty()))
            .caller(self.sender)
            .gas_limit(tx.gas_limit())
            .gas_price(tx.max_fee_per_gas())
            .gas_priority_fee(tx.max_priority_fee_per_gas())
            .kind(tx.kind())
            .value(tx.value())
            .data(tx.input().clone())
            .nonce(tx.nonce())
            .chain_id(tx.chain_id())
            .access_list(tx.access_list().cloned().unwrap_or_default())
            .blob_hashes(
                tx.blob_versioned_hashes()
                    .map(<[_]>::to_vec)
                    .unwrap_or_default(),
            )
            .max_fee_per_blob_gas(tx.max_fee_per_blob_gas().unwrap_or_default())
            .build_fill()
    }

    /// What the sender pays per gas in a block with `base_fee` (EIP-1559
    /// `effective_gas_price`; a legacy or EIP-2930 transaction's gas price).
    pub fn effective_gas_price(&self, base_fee: u64) -> u128 {
        self.envelope.effective_gas_price(Some(base_fee))
    }

    /// The value transferred, in wei.
    pub fn value(&self) -> U256 {
        self.envelope.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BraidTransaction {
        BraidTransaction {
            chain_id: 9,
            nonce: 3,
            gas_limit: 100_000,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            calls: vec![BraidCall::Call {
                engine: 1,
                target: [2; 20],
                input: vec![1, 2, 3],
                value: [0; 32],
            }],
        }
    }

    #[test]
    fn braid_transaction_round_trips_and_verifies() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signed = sample().sign(&key);
        let decoded = SignedBraidTransaction::decode(&signed.encode()).unwrap();
        assert_eq!(decoded, signed);
        assert_eq!(
            decoded.verify().unwrap(),
            braid_sender(&key.verifying_key().to_bytes())
        );
    }

    #[test]
    fn tampered_or_truncated_braid_transactions_are_refused() {
        let signed = sample().sign(&SigningKey::from_bytes(&[7; 32]));
        let mut tampered = signed.clone();
        tampered.transaction.nonce += 1;
        assert!(matches!(
            tampered.verify(),
            Err(TxError::BadSignature { .. })
        ));
        let mut bad_sig = signed.clone();
        bad_sig.signature[0] ^= 1;
        assert!(matches!(
            bad_sig.verify(),
            Err(TxError::BadSignature { .. })
        ));
        let bytes = signed.encode();
        let err = SignedBraidTransaction::decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(
            matches!(err, TxError::Decode { kind: "braid", .. }),
            "{err}"
        );
        let mut long = bytes.clone();
        long.push(0);
        assert!(
            SignedBraidTransaction::decode(&long).is_err(),
            "trailing bytes are refused"
        );
    }

    #[test]
    fn garbage_ethereum_bytes_are_a_decode_error() {
        let err = EthereumTransaction::decode(&[0x02, 0xff, 0x00]).unwrap_err();
        assert!(
            matches!(
                err,
                TxError::Decode {
                    kind: "ethereum",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("02ff00"), "{err}");
    }
}
