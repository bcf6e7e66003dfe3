//! Transactions: Ethereum-signed (legacy/EIP-155, EIP-2930, EIP-1559,
//! EIP-4844, EIP-7702, decoded with alloy and checked against
//! [`EthereumRules`]) and Braid transactions (SCALE-encoded, ed25519-signed).
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

use alloy_consensus::transaction::{SignerRecoverable, Transaction};
use alloy_consensus::{TxEip4844Variant, TxEnvelope};
use alloy_eips::Typed2718;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, U256};
use braid_core::{Identity, StateKey, keccak256};
use braid_evm::EvmEngine;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use revm::context::TxEnv;
use revm::context::either::Either;
use revm::primitives::hardfork::SpecId;

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

/// The value a Braid transaction's calls send in all, wei (deploys send none;
/// saturating at 2^256 − 1).
pub fn braid_value(tx: &BraidTransaction) -> U256 {
    tx.calls.iter().fold(U256::ZERO, |sum, call| match call {
        BraidCall::Call { value, .. } => sum.saturating_add(U256::from_be_bytes(*value)),
        BraidCall::Deploy { .. } => sum,
    })
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
    /// recovers the signer (secp256k1, `s` at most half the curve order,
    /// EIP-2; the chain id of a legacy `v`, EIP-155). Trailing bytes are
    /// refused. Rules that need the chain's fork and id are
    /// [`EthereumTransaction::validate`]'s.
    ///
    /// # Errors
    /// [`TxError::UnsupportedType`] for a type byte other than 1 to 4,
    /// [`TxError::ContractCreation`] for a type 3 or 4 transaction with an
    /// empty `to`, [`TxError::Decode`] for other malformed bytes,
    /// [`TxError::BadSignature`] if no signer can be recovered.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let envelope = TxEnvelope::decode_2718_exact(bytes).map_err(|e| match bytes.first() {
            Some(&ty @ 0x05..=0x7f) => TxError::UnsupportedType { tx_type: ty },
            Some(&ty @ (0x03 | 0x04)) if typed_to_is_empty(&bytes[1..]) => {
                TxError::ContractCreation { tx_type: ty }
            }
            _ => TxError::Decode {
                kind: "ethereum",
                prefix: prefix_hex(bytes),
                message: e.to_string(),
            },
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

    /// The revm transaction environment for this transaction: every field
    /// as signed, the EIP-7702 authorizations included, nothing filled in
    /// (revm's `build_fill` would add a dummy blob hash or authorization to
    /// an empty list and hide what [`EthereumTransaction::validate`] refuses).
    pub fn tx_env(&self) -> TxEnv {
        let tx = &self.envelope;
        TxEnv {
            tx_type: tx.ty(),
            caller: self.sender,
            gas_limit: tx.gas_limit(),
            gas_price: tx.max_fee_per_gas(),
            kind: tx.kind(),
            value: tx.value(),
            data: tx.input().clone(),
            nonce: tx.nonce(),
            chain_id: tx.chain_id(),
            access_list: tx.access_list().cloned().unwrap_or_default(),
            gas_priority_fee: tx.max_priority_fee_per_gas(),
            blob_hashes: tx
                .blob_versioned_hashes()
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
            max_fee_per_blob_gas: tx.max_fee_per_blob_gas().unwrap_or_default(),
            authorization_list: tx
                .authorization_list()
                .map(|list| list.iter().cloned().map(Either::Left).collect())
                .unwrap_or_default(),
        }
    }

    /// Checks the rules that need only the transaction and the chain, not
    /// the state (those are revm's: nonce, balance, intrinsic gas, base fee,
    /// blob gas price, EIP-3607, EIP-3860):
    /// - the type is active in `rules.spec` (EIP-2930 Berlin, EIP-1559
    ///   London, EIP-4844 Cancun, EIP-7702 Prague);
    /// - the chain id is `rules.chain_id` (EIP-155; a legacy transaction
    ///   without one passes unless `rules.require_chain_id`);
    /// - `max_priority_fee_per_gas <= max_fee_per_gas` (EIP-1559; types 2-4);
    /// - EIP-4844: the transaction alone, without its blob sidecar; at least
    ///   one blob versioned hash, each of version `0x01`, at most
    ///   `rules.max_blobs_per_tx`;
    /// - EIP-7702: a non-empty authorization list.
    ///
    /// Signature rules and "types 3 and 4 never create" are checked by
    /// [`EthereumTransaction::decode`].
    ///
    /// # Errors
    /// The first rule broken: [`TxError::TypeNotActive`],
    /// [`TxError::WrongChainId`], [`TxError::NoChainId`],
    /// [`TxError::PriorityFeeAboveMaxFee`], [`TxError::BlobSidecar`],
    /// [`TxError::NoBlobHashes`], [`TxError::BlobHashVersion`],
    /// [`TxError::TooManyBlobs`], [`TxError::EmptyAuthorizationList`].
    pub fn validate(&self, rules: &EthereumRules) -> Result<(), TxError> {
        let tx = &self.envelope;
        let tx_type = tx.ty();
        let activation = match tx_type {
            1 => SpecId::BERLIN,
            2 => SpecId::LONDON,
            3 => SpecId::CANCUN,
            4 => SpecId::PRAGUE,
            _ => SpecId::FRONTIER,
        };
        if !rules.spec.is_enabled_in(activation) {
            return Err(TxError::TypeNotActive {
                tx_type,
                spec: rules.spec,
            });
        }
        match tx.chain_id() {
            Some(got) if got != rules.chain_id => {
                return Err(TxError::WrongChainId {
                    expected: rules.chain_id,
                    got,
                });
            }
            None if rules.require_chain_id => {
                return Err(TxError::NoChainId {
                    expected: rules.chain_id,
                });
            }
            _ => {}
        }
        if let Some(tip) = tx.max_priority_fee_per_gas()
            && tip > tx.max_fee_per_gas()
        {
            return Err(TxError::PriorityFeeAboveMaxFee {
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: tx.max_fee_per_gas(),
            });
        }
        if let TxEnvelope::Eip4844(signed) = tx {
            if matches!(signed.tx(), TxEip4844Variant::TxEip4844WithSidecar(_)) {
                return Err(TxError::BlobSidecar);
            }
            let hashes = tx.blob_versioned_hashes().unwrap_or_default();
            if hashes.is_empty() {
                return Err(TxError::NoBlobHashes);
            }
            if let Some((index, hash)) = hashes
                .iter()
                .enumerate()
                .find(|(_, h)| h[0] != alloy_eips::eip4844::VERSIONED_HASH_VERSION_KZG)
            {
                return Err(TxError::BlobHashVersion {
                    index,
                    version: hash[0],
                });
            }
            if hashes.len() as u64 > rules.max_blobs_per_tx {
                return Err(TxError::TooManyBlobs {
                    count: hashes.len(),
                    max: rules.max_blobs_per_tx,
                });
            }
        }
        if tx_type == 4 && tx.authorization_list().is_none_or(<[_]>::is_empty) {
            return Err(TxError::EmptyAuthorizationList);
        }
        Ok(())
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

/// The rules [`EthereumTransaction::validate`] checks a transaction against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthereumRules {
    /// The chain id a transaction must carry (EIP-155; typed transactions
    /// always carry one).
    pub chain_id: u64,
    /// The hard fork the EVM runs: which transaction types are active.
    pub spec: SpecId,
    /// Most blob versioned hashes one transaction may carry (EIP-4844).
    pub max_blobs_per_tx: u64,
    /// Refuse legacy transactions without a chain id (pre-EIP-155).
    /// Ethereum accepts them; a Braid chain does not (RFC 0007).
    pub require_chain_id: bool,
}

impl EthereumRules {
    /// Ethereum's rules on chain `chain_id` for the fork `evm` runs, with its
    /// blob limit (6 Cancun, 9 Prague, 6 Osaka); legacy transactions without
    /// a chain id are accepted, as on Ethereum.
    pub fn new(evm: &EvmEngine, chain_id: u64) -> Self {
        EthereumRules {
            chain_id,
            spec: evm.spec(),
            max_blobs_per_tx: evm.cfg(chain_id).max_blobs_per_tx.unwrap_or(u64::MAX),
            require_chain_id: false,
        }
    }
}

/// Whether the RLP payload of a type 3 or 4 transaction (after the type
/// byte) has an empty `to`, its sixth field (after chain id, nonce, the two
/// fee caps and the gas limit). The network form of a blob transaction wraps
/// the transaction's list in an outer one; that is looked through. `false`
/// when the payload is too malformed to tell.
fn typed_to_is_empty(payload: &[u8]) -> bool {
    fn list_payload(buf: &mut &[u8]) -> Option<()> {
        let header = alloy_rlp::Header::decode(buf).ok()?;
        if !header.list {
            return None;
        }
        *buf = buf.get(..header.payload_length)?;
        Some(())
    }
    fn to_is_empty(mut fields: &[u8]) -> Option<bool> {
        list_payload(&mut fields)?;
        let mut first = fields;
        if alloy_rlp::Header::decode(&mut first).ok()?.list {
            // The network form: [transaction, blobs, commitments, proofs].
            list_payload(&mut fields)?;
        }
        for _ in 0..5 {
            let header = alloy_rlp::Header::decode(&mut fields).ok()?;
            // A single byte below 0x80 is its own payload: the header did not consume it.
            fields = fields.get(header.payload_length..)?;
        }
        let to = alloy_rlp::Header::decode(&mut fields).ok()?;
        Some(!to.list && to.payload_length == 0)
    }
    to_is_empty(payload).unwrap_or(false)
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

    mod ethereum {
        use alloy_consensus::{
            SignableTransaction, TxEip1559, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar,
            TxEip7702, TxEnvelope, TxLegacy,
        };
        use alloy_eips::eip2718::Encodable2718;
        use alloy_eips::eip4844::BlobTransactionSidecar;
        use alloy_eips::eip7594::BlobTransactionSidecarVariant;
        use alloy_eips::eip7702::{Authorization, SignedAuthorization};
        use alloy_primitives::{Address, B256, Signature, TxKind, U256};
        use k256::ecdsa::SigningKey as Secp256k1Key;
        use revm::primitives::hardfork::SpecId;

        use crate::TxError;
        use crate::tx::{EthereumRules, EthereumTransaction};

        const CHAIN: u64 = 4242;

        fn key() -> Secp256k1Key {
            Secp256k1Key::from_slice(&[7; 32]).unwrap()
        }

        fn sign(hash: B256) -> Signature {
            let (sig, recid) = key().sign_prehash_recoverable(hash.as_slice()).unwrap();
            Signature::from((sig, recid))
        }

        fn decode(envelope: TxEnvelope) -> Result<EthereumTransaction, TxError> {
            EthereumTransaction::decode(&envelope.encoded_2718())
        }

        fn rules(spec: SpecId) -> EthereumRules {
            EthereumRules {
                chain_id: CHAIN,
                spec,
                max_blobs_per_tx: 6,
                require_chain_id: true,
            }
        }

        fn eip1559(max_fee: u128, tip: u128) -> TxEnvelope {
            let tx = TxEip1559 {
                chain_id: CHAIN,
                gas_limit: 21_000,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to: TxKind::Call(Address::repeat_byte(1)),
                ..Default::default()
            };
            let signature = sign(tx.signature_hash());
            tx.into_signed(signature).into()
        }

        fn blob(hashes: Vec<B256>) -> TxEip4844 {
            TxEip4844 {
                chain_id: CHAIN,
                gas_limit: 21_000,
                max_fee_per_gas: 10,
                max_priority_fee_per_gas: 1,
                to: Address::repeat_byte(1),
                blob_versioned_hashes: hashes,
                max_fee_per_blob_gas: 1,
                ..Default::default()
            }
        }

        fn signed_blob(tx: TxEip4844) -> TxEnvelope {
            let signature = sign(tx.signature_hash());
            tx.into_signed(signature).into()
        }

        fn kzg_hash(n: u8) -> B256 {
            let mut hash = B256::repeat_byte(n);
            hash.0[0] = 0x01;
            hash
        }

        fn set_code(authorizations: Vec<SignedAuthorization>) -> TxEnvelope {
            let tx = TxEip7702 {
                chain_id: CHAIN,
                gas_limit: 100_000,
                max_fee_per_gas: 10,
                max_priority_fee_per_gas: 1,
                to: Address::repeat_byte(1),
                authorization_list: authorizations,
                ..Default::default()
            };
            let signature = sign(tx.signature_hash());
            tx.into_signed(signature).into()
        }

        fn authorization() -> SignedAuthorization {
            let auth = Authorization {
                chain_id: U256::from(CHAIN),
                address: Address::repeat_byte(2),
                nonce: 1,
            };
            let signature = sign(auth.signature_hash());
            auth.into_signed(signature)
        }

        #[test]
        fn valid_transactions_of_every_type_pass() {
            let prague = rules(SpecId::PRAGUE);
            for envelope in [
                eip1559(10, 1),
                signed_blob(blob(vec![kzg_hash(1)])),
                set_code(vec![authorization()]),
            ] {
                let tx = decode(envelope).unwrap();
                assert_eq!(
                    tx.sender,
                    alloy_primitives::Address::from_private_key(&key())
                );
                tx.validate(&prague).unwrap();
            }
        }

        #[test]
        fn the_revm_environment_carries_the_authorizations_as_signed() {
            let tx = decode(set_code(vec![authorization(), authorization()])).unwrap();
            let env = tx.tx_env();
            assert_eq!(env.authorization_list.len(), 2);
            assert_eq!(
                env.authorization_list[0].as_ref().left(),
                Some(&authorization())
            );
            // An empty list stays empty (revm's `build_fill` would add a dummy one).
            let empty = decode(set_code(vec![])).unwrap();
            assert!(empty.tx_env().authorization_list.is_empty());
            assert!(
                decode(signed_blob(blob(vec![])))
                    .unwrap()
                    .tx_env()
                    .blob_hashes
                    .is_empty()
            );
        }

        #[test]
        fn a_type_not_active_in_the_fork_is_refused() {
            let tx = decode(set_code(vec![authorization()])).unwrap();
            let err = tx.validate(&rules(SpecId::CANCUN)).unwrap_err();
            assert!(
                matches!(
                    err,
                    TxError::TypeNotActive {
                        tx_type: 4,
                        spec: SpecId::CANCUN
                    }
                ),
                "{err}"
            );
        }

        #[test]
        fn an_unknown_type_byte_is_named() {
            let err = EthereumTransaction::decode(&[0x05, 0xc0]).unwrap_err();
            assert!(
                matches!(err, TxError::UnsupportedType { tx_type: 5 }),
                "{err}"
            );
        }

        #[test]
        fn chain_id_rules() {
            let legacy = |chain_id| {
                let tx = TxLegacy {
                    chain_id,
                    gas_price: 10,
                    gas_limit: 21_000,
                    to: TxKind::Call(Address::repeat_byte(1)),
                    ..Default::default()
                };
                let signature = sign(tx.signature_hash());
                decode(tx.into_signed(signature).into()).unwrap()
            };
            let unprotected = legacy(None);
            let err = unprotected.validate(&rules(SpecId::PRAGUE)).unwrap_err();
            assert!(
                matches!(err, TxError::NoChainId { expected: CHAIN }),
                "{err}"
            );
            let ethereum = EthereumRules {
                require_chain_id: false,
                ..rules(SpecId::PRAGUE)
            };
            unprotected.validate(&ethereum).unwrap();
            let err = legacy(Some(1)).validate(&ethereum).unwrap_err();
            assert!(
                matches!(
                    err,
                    TxError::WrongChainId {
                        expected: CHAIN,
                        got: 1
                    }
                ),
                "{err}"
            );
        }

        #[test]
        fn a_tip_above_the_fee_cap_is_refused() {
            let err = decode(eip1559(10, 11))
                .unwrap()
                .validate(&rules(SpecId::PRAGUE))
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    TxError::PriorityFeeAboveMaxFee {
                        max_priority_fee_per_gas: 11,
                        max_fee_per_gas: 10
                    }
                ),
                "{err}"
            );
        }

        #[test]
        fn blob_rules() {
            let check = |tx: TxEip4844| {
                decode(signed_blob(tx))
                    .unwrap()
                    .validate(&rules(SpecId::PRAGUE))
                    .unwrap_err()
            };
            let err = check(blob(vec![]));
            assert!(matches!(err, TxError::NoBlobHashes), "{err}");
            let err = check(blob(vec![kzg_hash(1), B256::repeat_byte(2)]));
            assert!(
                matches!(
                    err,
                    TxError::BlobHashVersion {
                        index: 1,
                        version: 2
                    }
                ),
                "{err}"
            );
            let err = check(blob((0..7).map(kzg_hash).collect()));
            assert!(
                matches!(err, TxError::TooManyBlobs { count: 7, max: 6 }),
                "{err}"
            );

            // The network form, with its (here empty) sidecar, is not a block's.
            let tx = blob(vec![kzg_hash(1)]);
            let signature = sign(tx.signature_hash());
            let with_sidecar = TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar {
                tx,
                sidecar: BlobTransactionSidecarVariant::Eip4844(BlobTransactionSidecar {
                    blobs: vec![],
                    commitments: vec![],
                    proofs: vec![],
                }),
            });
            let err = decode(with_sidecar.into_signed(signature).into())
                .unwrap()
                .validate(&rules(SpecId::PRAGUE))
                .unwrap_err();
            assert!(matches!(err, TxError::BlobSidecar), "{err}");
        }

        #[test]
        fn an_empty_authorization_list_is_refused() {
            let err = decode(set_code(vec![]))
                .unwrap()
                .validate(&rules(SpecId::PRAGUE))
                .unwrap_err();
            assert!(matches!(err, TxError::EmptyAuthorizationList), "{err}");
        }
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
