//! Ethereum's transaction-validity rules on the chain's own path: a block
//! holding a transaction that breaks one is refused with a typed error and
//! changes nothing; a valid EIP-7702 transaction applies its authorization.

use std::path::PathBuf;
use std::sync::Arc;

use alloy_consensus::{SignableTransaction, TxEip4844, TxEip7702, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip7702::{Authorization, SignedAuthorization};
use alloy_primitives::{Address, B256, Bytes, Signature, U256, keccak256};
use alloy_rlp::Encodable;
use braid_chain::{Block, Chain, ChainError, ChainSpec, RawTransaction, TxError};
use braid_core::{EngineId, Identity};
use braid_dev::{dev_address, dev_key};
use braid_evm::layout::{ACCOUNT_RECORD_KEY, AccountRecord};
use braid_state::MemoryBackend;

fn spec() -> ChainSpec {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dev");
    ChainSpec::load(&dir.join("chain.toml")).unwrap()
}

fn sign(hash: B256) -> Signature {
    let (sig, recid) = dev_key(1)
        .sign_prehash_recoverable(hash.as_slice())
        .unwrap();
    Signature::from((sig, recid))
}

fn raw(bytes: &[u8]) -> RawTransaction {
    RawTransaction::Ethereum(bytes.to_vec())
}

/// Fee caps the dev chain accepts (base fee 1 gwei).
fn fees(spec: &ChainSpec) -> (u128, u128) {
    (2 * u128::from(spec.base_fee) + 1, 1)
}

/// Block 1 holding `tx` on a fresh dev chain: refused by `check`, nothing written.
fn assert_refused(tx: RawTransaction, check: impl Fn(&TxError) -> bool) {
    let mut chain = Chain::open(spec(), Arc::new(MemoryBackend::new())).unwrap();
    let (head, root) = (chain.head().clone(), chain.db().root());
    let block = Block {
        number: 1,
        timestamp: head.timestamp + 12,
        transactions: vec![tx],
    };
    match chain.apply_block(&block).unwrap_err() {
        ChainError::InvalidTransaction { reason, .. } if check(&reason) => {}
        other => panic!("unexpected error: {other}"),
    }
    assert_eq!(chain.head(), &head, "the head moved");
    assert_eq!(chain.db().root(), root, "the state changed");
}

fn set_code(spec: &ChainSpec, authorizations: Vec<SignedAuthorization>) -> Vec<u8> {
    let (max_fee, tip) = fees(spec);
    let tx = TxEip7702 {
        chain_id: spec.chain_id,
        nonce: 0,
        gas_limit: 100_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: dev_address(2),
        authorization_list: authorizations,
        ..Default::default()
    };
    let signature = sign(tx.signature_hash());
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}

#[test]
fn a_set_code_transaction_without_authorizations_is_refused() {
    let spec = spec();
    assert_refused(raw(&set_code(&spec, vec![])), |e| {
        matches!(e, TxError::EmptyAuthorizationList)
    });
}

#[test]
fn a_set_code_transaction_applies_its_authorization() {
    let spec = spec();
    // Dev account 3 delegates to 0x…c0de; dev account 1 sends it.
    let delegate = Address::repeat_byte(0xc0);
    let auth = Authorization {
        chain_id: U256::from(spec.chain_id),
        address: delegate,
        nonce: 0,
    };
    let (sig, recid) = dev_key(3)
        .sign_prehash_recoverable(auth.signature_hash().as_slice())
        .unwrap();
    let signed = auth.into_signed(Signature::from((sig, recid)));
    let mut chain = Chain::open(spec.clone(), Arc::new(MemoryBackend::new())).unwrap();
    let block = Block {
        number: 1,
        timestamp: chain.head().timestamp + 12,
        transactions: vec![raw(&set_code(&spec, vec![signed]))],
    };
    let report = chain.apply_block(&block).unwrap();
    assert!(report.receipts[0].success);
    let record = chain
        .db()
        .get(
            EngineId::EVM,
            &Identity(dev_address(3).0.0),
            &ACCOUNT_RECORD_KEY,
        )
        .unwrap()
        .expect("dev account 3 has a record");
    let record = AccountRecord::from_bytes(&record).unwrap();
    let designator = [&[0xef, 0x01, 0x00][..], delegate.as_slice()].concat();
    assert_eq!(record.code_hash(), keccak256(&designator));
    assert_eq!(
        record.nonce, 1,
        "the authorization bumps the authority's nonce"
    );
}

fn blob_tx(spec: &ChainSpec, hashes: Vec<B256>) -> Vec<u8> {
    let (max_fee, tip) = fees(spec);
    let tx = TxEip4844 {
        chain_id: spec.chain_id,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: dev_address(2),
        blob_versioned_hashes: hashes,
        max_fee_per_blob_gas: 1,
        ..Default::default()
    };
    let signature = sign(tx.signature_hash());
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}

#[test]
fn a_blob_transaction_without_blob_hashes_is_refused() {
    let spec = spec();
    assert_refused(raw(&blob_tx(&spec, vec![])), |e| {
        matches!(e, TxError::NoBlobHashes)
    });
    let mut wrong_version = B256::repeat_byte(7);
    wrong_version.0[0] = 0x02;
    assert_refused(raw(&blob_tx(&spec, vec![wrong_version])), |e| {
        matches!(
            e,
            TxError::BlobHashVersion {
                index: 0,
                version: 2
            }
        )
    });
}

/// A type-3 transaction with an empty `to`, RLP-encoded field by field (no
/// alloy type can hold it) and signed over `0x03 ‖ rlp(fields)`.
fn blob_create(spec: &ChainSpec) -> Vec<u8> {
    let (max_fee, tip) = fees(spec);
    let mut hash = B256::repeat_byte(1);
    hash.0[0] = 0x01;
    let mut fields = Vec::new();
    spec.chain_id.encode(&mut fields);
    0u64.encode(&mut fields); // nonce
    tip.encode(&mut fields);
    max_fee.encode(&mut fields);
    100_000u64.encode(&mut fields); // gas limit
    Bytes::new().encode(&mut fields); // to: empty, a create
    U256::ZERO.encode(&mut fields);
    Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xf3]).encode(&mut fields);
    alloy_eips::eip2930::AccessList::default().encode(&mut fields);
    1u128.encode(&mut fields); // max fee per blob gas
    vec![hash].encode(&mut fields);
    let envelope = |fields: &[u8]| {
        let mut out = vec![0x03];
        alloy_rlp::Header {
            list: true,
            payload_length: fields.len(),
        }
        .encode(&mut out);
        out.extend_from_slice(fields);
        out
    };
    let signature = sign(keccak256(envelope(&fields)));
    signature.v().encode(&mut fields);
    signature.r().encode(&mut fields);
    signature.s().encode(&mut fields);
    envelope(&fields)
}

#[test]
fn a_blob_transaction_that_creates_a_contract_is_refused() {
    assert_refused(raw(&blob_create(&spec())), |e| {
        matches!(e, TxError::ContractCreation { tx_type: 3 })
    });
}
