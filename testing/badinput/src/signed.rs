//! The transaction cases that need a signature: each a block's list of
//! transactions, signed with the corpus's public keys ([`crate::keys`]) for
//! the base chain, breaking exactly one rule. Generated here, committed as
//! `testing/corpus/{ethereum,braid}/signed.toml`, and checked against this
//! code by `tests/corpus_index.rs` (set `BRAID_CORPUS_WRITE=1` to rewrite
//! them after changing this file). Signatures are deterministic (RFC 6979,
//! RFC 8032), so the files are reproducible byte for byte.

use alloy_consensus::{
    SignableTransaction, TxEip1559, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar, TxEip7702,
    TxEnvelope, TxLegacy,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip4844::BlobTransactionSidecar;
use alloy_eips::eip7594::BlobTransactionSidecarVariant;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use braid_chain::ChainSpec;
use braid_chain::tx::{BraidCall, SignedBraidTransaction};
use parity_scale_codec::Encode;

use crate::keys::{
    FUNDED, UNFUNDED, account_address, account_key, braid_address, braid_key, braid_transaction,
    hex0x,
};

/// One generated case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCase {
    /// The case's name (its key in `signed.toml`).
    pub name: &'static str,
    /// What it breaks.
    pub breaks: String,
    /// What the error must name.
    pub names: Vec<String>,
    /// The block's transactions, 0x-hex, in order.
    pub txs: Vec<String>,
}

fn case(name: &'static str, breaks: &str, names: &[&str], txs: Vec<String>) -> SignedCase {
    SignedCase {
        name,
        breaks: breaks.to_owned(),
        names: names.iter().map(|s| (*s).to_owned()).collect(),
        txs,
    }
}

/// The recipient of every Ethereum case's call.
const TO: Address = Address::repeat_byte(0xd0);

fn sign(from: usize, hash: B256) -> Signature {
    let (sig, recid) = account_key(from)
        .sign_prehash_recoverable(hash.as_slice())
        .expect("signing a 32-byte prehash");
    Signature::from((sig, recid))
}

/// An EIP-1559 transfer of 1 wei from account `from` on `spec`'s chain,
/// nonce 0, 21,000 gas, max fee twice the base fee plus one, tip 1 wei;
/// `edit` changes fields before signing.
fn eip1559(spec: &ChainSpec, from: usize, edit: impl FnOnce(&mut TxEip1559)) -> TxEnvelope {
    let mut tx = TxEip1559 {
        chain_id: spec.chain_id,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * u128::from(spec.base_fee) + 1,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(TO),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    edit(&mut tx);
    let signature = sign(from, tx.signature_hash());
    tx.into_signed(signature).into()
}

fn legacy(spec: &ChainSpec, chain_id: Option<u64>) -> TxEnvelope {
    let tx = TxLegacy {
        chain_id,
        nonce: 0,
        gas_price: 2 * u128::from(spec.base_fee) + 1,
        gas_limit: 21_000,
        to: TxKind::Call(TO),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let signature = sign(FUNDED, tx.signature_hash());
    tx.into_signed(signature).into()
}

fn blob(spec: &ChainSpec, hashes: Vec<B256>) -> TxEip4844 {
    TxEip4844 {
        chain_id: spec.chain_id,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * u128::from(spec.base_fee) + 1,
        max_priority_fee_per_gas: 1,
        to: TO,
        blob_versioned_hashes: hashes,
        max_fee_per_blob_gas: 1,
        ..Default::default()
    }
}

fn signed_blob(tx: TxEip4844) -> TxEnvelope {
    let signature = sign(FUNDED, tx.signature_hash());
    tx.into_signed(signature).into()
}

fn kzg_hash(n: u8) -> B256 {
    let mut hash = B256::repeat_byte(n);
    hash.0[0] = 0x01;
    hash
}

fn set_code(spec: &ChainSpec) -> TxEip7702 {
    TxEip7702 {
        chain_id: spec.chain_id,
        gas_limit: 100_000,
        max_fee_per_gas: 2 * u128::from(spec.base_fee) + 1,
        max_priority_fee_per_gas: 1,
        to: TO,
        ..Default::default()
    }
}

fn encoded(envelope: &TxEnvelope) -> String {
    hex0x(&envelope.encoded_2718())
}

/// The typed transaction `bytes` (type byte, then an RLP list) with its
/// sixth field, `to`, replaced by the empty string: a type 3 or 4
/// transaction that would create a contract. The signature no longer
/// matches; the decoder refuses the shape first.
fn without_to(bytes: &[u8]) -> Vec<u8> {
    let (ty, mut rest) = (bytes[0], &bytes[1..]);
    let header = alloy_rlp::Header::decode(&mut rest).expect("a typed transaction is a list");
    let mut payload = &rest[..header.payload_length];
    let mut fields = Vec::new();
    while !payload.is_empty() {
        let start = payload;
        let field = alloy_rlp::Header::decode(&mut payload).expect("an RLP item");
        payload = &payload[field.payload_length..];
        fields.push(start[..start.len() - payload.len()].to_vec());
    }
    fields[5] = vec![alloy_rlp::EMPTY_STRING_CODE];
    let body: Vec<u8> = fields.concat();
    let mut out = vec![ty];
    alloy_rlp::Header {
        list: true,
        payload_length: body.len(),
    }
    .encode(&mut out);
    out.extend(body);
    out
}

/// The generated Ethereum cases.
pub fn ethereum_cases(spec: &ChainSpec) -> Vec<SignedCase> {
    let chain = spec.chain_id.to_string();
    let base_fee = spec.base_fee.to_string();
    let block_gas = spec.block_gas_limit;
    let good = || encoded(&eip1559(spec, FUNDED, |_| {}));
    let mut valid_bytes = eip1559(spec, FUNDED, |_| {}).encoded_2718();
    valid_bytes.push(0);
    let high_s = {
        let tx = eip1559(spec, FUNDED, |_| {});
        let TxEnvelope::Eip1559(signed) = &tx else {
            unreachable!("built as EIP-1559")
        };
        let sig = signed.signature();
        let n = U256::from_be_slice(&hex::decode(SECP256K1_ORDER).expect("hex"));
        let high = Signature::new(sig.r(), n - sig.s(), !sig.v());
        let TxEnvelope::Eip1559(signed) = tx else {
            unreachable!("built as EIP-1559")
        };
        encoded(&signed.strip_signature().into_signed(high).into())
    };
    let zero_r = {
        let TxEnvelope::Eip1559(signed) = eip1559(spec, FUNDED, |_| {}) else {
            unreachable!("built as EIP-1559")
        };
        let sig = *signed.signature();
        let bad = Signature::new(U256::ZERO, sig.s(), sig.v());
        encoded(&signed.strip_signature().into_signed(bad).into())
    };
    let with_sidecar = {
        let tx = blob(spec, vec![kzg_hash(1)]);
        let signature = sign(FUNDED, tx.signature_hash());
        let variant = TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar {
            tx,
            sidecar: BlobTransactionSidecarVariant::Eip4844(BlobTransactionSidecar {
                blobs: vec![],
                commitments: vec![],
                proofs: vec![],
            }),
        });
        encoded(&variant.into_signed(signature).into())
    };
    let set_code_signed = |tx: TxEip7702| -> TxEnvelope {
        let signature = sign(FUNDED, tx.signature_hash());
        tx.into_signed(signature).into()
    };
    let unfunded = account_address(UNFUNDED).to_string();
    vec![
        case(
            "wrong-chain-id",
            "an EIP-1559 transaction signed for chain 1",
            &["chain id 1", &chain],
            vec![encoded(&eip1559(spec, FUNDED, |tx| tx.chain_id = 1))],
        ),
        case(
            "legacy-without-chain-id",
            "a pre-EIP-155 legacy transaction (no replay protection)",
            &["no chain id", &chain],
            vec![encoded(&legacy(spec, None))],
        ),
        case(
            "legacy-wrong-chain-id",
            "an EIP-155 legacy transaction for chain 1",
            &["chain id 1", &chain],
            vec![encoded(&legacy(spec, Some(1)))],
        ),
        case(
            "nonce-too-high",
            "nonce 5 from an account at nonce 0",
            &["has nonce 0", "transaction has nonce 5"],
            vec![encoded(&eip1559(spec, FUNDED, |tx| tx.nonce = 5))],
        ),
        case(
            "replayed",
            "the same valid transaction twice in one block (the second reuses nonce 0)",
            &["transaction 1", "has nonce 1", "transaction has nonce 0"],
            vec![good(), good()],
        ),
        case(
            "unfunded-sender",
            "a sender with no balance",
            &[&unfunded, "has 0 wei"],
            vec![encoded(&eip1559(spec, UNFUNDED, |_| {}))],
        ),
        case(
            "value-above-balance",
            "a transfer of 10^30 wei from an account holding 10^21",
            &["1000000000000000000000 wei", "needs up to"],
            vec![encoded(&eip1559(spec, FUNDED, |tx| {
                tx.value = U256::from(10u128.pow(30));
            }))],
        ),
        case(
            "gas-limit-above-block",
            "a gas limit one above the block's",
            &[&(block_gas + 1).to_string(), &block_gas.to_string()],
            vec![encoded(&eip1559(spec, FUNDED, |tx| {
                tx.gas_limit = block_gas + 1;
            }))],
        ),
        case(
            "gas-limit-max",
            "a gas limit of 2^64 - 1",
            &["18446744073709551615", &block_gas.to_string()],
            vec![encoded(&eip1559(spec, FUNDED, |tx| {
                tx.gas_limit = u64::MAX
            }))],
        ),
        case(
            "gas-limit-below-intrinsic",
            "20999 gas for a 21000-gas transfer",
            &["intrinsic gas 21000", "gas limit 20999"],
            vec![encoded(&eip1559(spec, FUNDED, |tx| tx.gas_limit = 20_999))],
        ),
        case(
            "max-fee-below-base-fee",
            "a max fee of 6 wei under a base fee of 7",
            &["max fee per gas 6 wei", &format!("base fee {base_fee} wei")],
            vec![encoded(&eip1559(spec, FUNDED, |tx| {
                tx.max_fee_per_gas = 6;
                tx.max_priority_fee_per_gas = 0;
            }))],
        ),
        case(
            "tip-above-max-fee",
            "a priority fee of 16 wei above a max fee of 15",
            &["16 wei", "15 wei"],
            vec![encoded(&eip1559(spec, FUNDED, |tx| {
                tx.max_priority_fee_per_gas = 16;
            }))],
        ),
        case(
            "initcode-too-large",
            "a create with 49153 bytes of init code (EIP-3860 allows 49152)",
            &["49153", "49152"],
            vec![encoded(&eip1559(spec, FUNDED, |tx| {
                tx.to = TxKind::Create;
                tx.value = U256::ZERO;
                tx.gas_limit = 10_000_000;
                tx.input = Bytes::from(vec![0u8; 49_153]);
            }))],
        ),
        case(
            "signature-r-zero",
            "a signature with r = 0: no signer can be recovered",
            &["cannot recover the signer"],
            vec![zero_r],
        ),
        case(
            "signature-high-s",
            "a signature with s above n/2 (EIP-2 malleability)",
            &["bad signature"],
            vec![high_s],
        ),
        case(
            "trailing-byte",
            "a valid transaction followed by one more byte",
            &[
                "cannot decode ethereum transaction",
                &hex::encode(&valid_bytes[..8]),
            ],
            vec![hex0x(&valid_bytes)],
        ),
        case(
            "blob-creates",
            "a blob (type 3) transaction with an empty `to`",
            &["type 3", "cannot create a contract"],
            vec![hex0x(&without_to(
                &signed_blob(blob(spec, vec![kzg_hash(1)])).encoded_2718(),
            ))],
        ),
        case(
            "blob-without-hashes",
            "a blob transaction with no blob versioned hashes",
            &["no blob versioned hashes"],
            vec![encoded(&signed_blob(blob(spec, vec![])))],
        ),
        case(
            "blob-hash-version",
            "a blob versioned hash of version 0x02 (EIP-4844 wants 0x01)",
            &["blob versioned hash 0", "0x02"],
            vec![encoded(&signed_blob(blob(
                spec,
                vec![B256::repeat_byte(2)],
            )))],
        ),
        case(
            "too-many-blobs",
            "10 blob versioned hashes (Prague allows 9)",
            &["10 blob versioned hashes", "at most 9"],
            vec![encoded(&signed_blob(blob(
                spec,
                (1..=10).map(kzg_hash).collect(),
            )))],
        ),
        case(
            "blob-with-sidecar",
            "a blob transaction in its network form, with the sidecar",
            &["sidecar"],
            vec![with_sidecar],
        ),
        case(
            "set-code-without-authorizations",
            "an EIP-7702 transaction with an empty authorization list",
            &["empty authorization list"],
            vec![encoded(&set_code_signed(set_code(spec)))],
        ),
        case(
            "second-invalid",
            "a valid transfer, then bytes of no known type: the whole block is refused",
            &["transaction 1", "transaction type 0x05"],
            vec![good(), "0x05c0".to_owned()],
        ),
        case(
            "set-code-creates",
            "an EIP-7702 (type 4) transaction with an empty `to`",
            &["type 4", "cannot create a contract"],
            vec![hex0x(&without_to(
                &set_code_signed(set_code(spec)).encoded_2718(),
            ))],
        ),
    ]
}

/// The order of secp256k1, hex.
const SECP256K1_ORDER: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

/// A public key that is not a point of edwards25519: the first `[b; 32]`
/// that fails to decompress.
fn not_a_point() -> [u8; 32] {
    (0u8..=255)
        .map(|b| [b; 32])
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("some [b; 32] is not a point")
}

/// A call of the EVM account `TO` with no input.
fn evm_call() -> BraidCall {
    BraidCall::Call {
        engine: 0x01,
        target: TO.0.0,
        input: vec![],
        value: [0; 32],
    }
}

/// The generated Braid cases.
pub fn braid_cases(spec: &ChainSpec) -> Vec<SignedCase> {
    let chain = spec.chain_id.to_string();
    let gas = 100_000;
    let tx = |nonce, calls| braid_transaction(spec, nonce, calls, gas);
    let raw = |t: braid_chain::tx::BraidTransaction, from| {
        let braid_chain::RawTransaction::Braid(bytes) = crate::keys::braid_raw(t, from) else {
            unreachable!("a Braid transaction")
        };
        hex0x(&bytes)
    };
    let encode = |signed: &SignedBraidTransaction| hex0x(&signed.encode());
    let good = || raw(tx(0, vec![evm_call()]), FUNDED);
    let signed = |t| tx_signed(t);
    let mut value = [0xff; 32];
    value[0] = 0x7f;
    let unfunded = braid_address(UNFUNDED).to_string().to_lowercase();
    let funded = braid_address(FUNDED).to_string().to_lowercase();
    let block_gas = spec.block_braid_gas_limit();
    vec![
        case(
            "wrong-chain-id",
            "a Braid transaction signed for chain 1",
            &["chain id 1", &chain],
            vec![raw(
                braid_chain::tx::BraidTransaction {
                    chain_id: 1,
                    ..tx(0, vec![evm_call()])
                },
                FUNDED,
            )],
        ),
        case(
            "no-calls",
            "a transaction with an empty call list",
            &["no calls"],
            vec![raw(tx(0, vec![]), FUNDED)],
        ),
        case(
            "unknown-engine",
            "a call to engine 0x07, which no chain runs",
            &["call 0", "engine id 0x07"],
            vec![raw(
                tx(
                    0,
                    vec![BraidCall::Call {
                        engine: 0x07,
                        target: [1; 20],
                        input: vec![],
                        value: [0; 32],
                    }],
                ),
                FUNDED,
            )],
        ),
        case(
            "engine-not-loaded",
            "a second call to plugin engine 0x10, which the base chain does not load",
            &["call 1", "engine id 0x10"],
            vec![raw(
                tx(
                    0,
                    vec![
                        evm_call(),
                        BraidCall::Call {
                            engine: 0x10,
                            target: [1; 20],
                            input: vec![],
                            value: [0; 32],
                        },
                    ],
                ),
                FUNDED,
            )],
        ),
        case(
            "deploy-to-evm",
            "a Deploy to the EVM, which deploys by CREATE only",
            &["deploys to engine 0x01"],
            vec![raw(
                tx(
                    0,
                    vec![BraidCall::Deploy {
                        engine: 0x01,
                        name: b"m".to_vec(),
                        version: 1,
                        code: vec![0x00],
                    }],
                ),
                FUNDED,
            )],
        ),
        case(
            "nonce-too-high",
            "Braid nonce 1 from a sender at nonce 0",
            &["nonce 1", &funded, "expected 0"],
            vec![raw(tx(1, vec![evm_call()]), FUNDED)],
        ),
        case(
            "replayed",
            "the same valid transaction twice in one block (the second reuses nonce 0)",
            &["transaction 1", "nonce 0", "expected 1"],
            vec![good(), good()],
        ),
        case(
            "gas-below-intrinsic",
            "a gas limit of 100 Braid gas, below the 21000 + 16 per byte intrinsic gas",
            &["gas limit 100", "intrinsic gas"],
            vec![raw(
                braid_transaction(spec, 0, vec![evm_call()], 100),
                FUNDED,
            )],
        ),
        case(
            "gas-limit-max",
            "a gas limit of 2^64 - 1 Braid gas",
            &["18446744073709551615", &block_gas.to_string()],
            vec![raw(
                braid_transaction(spec, 0, vec![evm_call()], u64::MAX),
                FUNDED,
            )],
        ),
        case(
            "gas-limit-above-block",
            "a gas limit one above the block's budget",
            &[&(block_gas + 1).to_string(), &block_gas.to_string()],
            vec![raw(
                braid_transaction(spec, 0, vec![evm_call()], block_gas + 1),
                FUNDED,
            )],
        ),
        case(
            "gas-above-what-the-block-has-left",
            "a first transaction that fits, then one asking for the whole block budget",
            &["transaction 1", &format!("gas limit {block_gas}")],
            vec![
                good(),
                raw(
                    braid_transaction(spec, 1, vec![evm_call()], block_gas),
                    FUNDED,
                ),
            ],
        ),
        case(
            "max-fee-below-base-fee",
            "a max fee of 6 wei per gas under a base fee of 7",
            &["max fee per gas 6 wei", "base fee 7 wei"],
            vec![raw(
                braid_chain::tx::BraidTransaction {
                    max_fee_per_gas: 6,
                    max_priority_fee_per_gas: 0,
                    ..tx(0, vec![evm_call()])
                },
                FUNDED,
            )],
        ),
        case(
            "tip-above-max-fee",
            "a priority fee of 16 wei above a max fee of 15",
            &["16 wei", "15 wei"],
            vec![raw(
                braid_chain::tx::BraidTransaction {
                    max_priority_fee_per_gas: 16,
                    ..tx(0, vec![evm_call()])
                },
                FUNDED,
            )],
        ),
        case(
            "unfunded-sender",
            "a sender with no EVM balance",
            &[&unfunded, "has 0 wei"],
            vec![raw(tx(0, vec![evm_call()]), UNFUNDED)],
        ),
        case(
            "value-overflow",
            "two calls each sending 2^255 - 1 wei: more than any balance",
            &[&funded, "may cost up to"],
            vec![raw(
                tx(
                    0,
                    vec![
                        BraidCall::Call {
                            engine: 0x01,
                            target: TO.0.0,
                            input: vec![],
                            value,
                        },
                        BraidCall::Call {
                            engine: 0x01,
                            target: TO.0.0,
                            input: vec![],
                            value,
                        },
                    ],
                ),
                FUNDED,
            )],
        ),
        case(
            "signature-flipped",
            "a signature with one bit flipped",
            &[
                "does not verify",
                &hex::encode(braid_key(FUNDED).verifying_key().to_bytes()),
            ],
            vec![encode(&{
                let mut s = signed(tx(0, vec![evm_call()]));
                s.signature[0] ^= 1;
                s
            })],
        ),
        case(
            "signed-by-another-key",
            "a transaction signed by sender 0 carrying sender 1's public key",
            &[
                "does not verify",
                &hex::encode(braid_key(UNFUNDED).verifying_key().to_bytes()),
            ],
            vec![encode(&{
                let mut s = signed(tx(0, vec![evm_call()]));
                s.public_key = braid_key(UNFUNDED).verifying_key().to_bytes();
                s
            })],
        ),
        case(
            "public-key-not-a-point",
            "a public key that is not a point of edwards25519",
            &["not a valid ed25519 point", &hex::encode(not_a_point())],
            vec![encode(&{
                let mut s = signed(tx(0, vec![evm_call()]));
                s.public_key = not_a_point();
                s
            })],
        ),
        case(
            "signature-s-not-canonical",
            "a signature whose scalar s is 2^256 - 1, not below the group order",
            &["bad signature"],
            vec![encode(&{
                let mut s = signed(tx(0, vec![evm_call()]));
                s.signature[32..].fill(0xff);
                s
            })],
        ),
        case(
            "trailing-byte",
            "a valid transaction followed by one more byte",
            &["cannot decode braid transaction"],
            vec![format!("{}00", good())],
        ),
        case(
            "calls-length-huge",
            "a call list claiming 2^30 calls with no bytes behind it",
            &["cannot decode braid transaction"],
            vec![{
                let t = tx(0, vec![]);
                let mut bytes = (t.chain_id, t.nonce, t.gas_limit).encode();
                bytes.extend((t.max_fee_per_gas, t.max_priority_fee_per_gas).encode());
                parity_scale_codec::Compact(1u32 << 30).encode_to(&mut bytes);
                hex0x(&bytes)
            }],
        ),
        case(
            "call-tag-2",
            "a call whose enum tag is 2 (Call is 0, Deploy 1)",
            &["cannot decode braid transaction"],
            vec![{
                let mut bytes = signed(tx(0, vec![evm_call()])).encode();
                // chain id, nonce, gas limit (8 each), two u128 fees, one
                // byte of compact length, then the first call's tag.
                let at = 8 + 8 + 8 + 16 + 16 + 1;
                assert_eq!(bytes[at], 0, "the tag of Call");
                bytes[at] = 2;
                hex0x(&bytes)
            }],
        ),
        case(
            "truncated",
            "a valid transaction missing its last byte (the signature's)",
            &["cannot decode braid transaction"],
            vec![good()[..good().len() - 2].to_owned()],
        ),
    ]
}

fn tx_signed(tx: braid_chain::tx::BraidTransaction) -> SignedBraidTransaction {
    tx.sign(&braid_key(FUNDED))
}

/// `cases` as the TOML of a `signed.toml`.
pub fn render(parser: &str, cases: &[SignedCase]) -> String {
    let mut out = format!(
        "# GENERATED by braid-badinput (testing/badinput/src/signed.rs): {parser}\n\
         # transactions signed with the corpus's public keys for the base chain\n\
         # (testing/corpus/base), each breaking one rule. Do not edit: change\n\
         # signed.rs and run `BRAID_CORPUS_WRITE=1 cargo test --release -p\n\
         # braid-badinput --test corpus_index`. Fields as in cases.toml.\n"
    );
    for c in cases {
        let mut entry = toml::Table::new();
        entry.insert("breaks".into(), c.breaks.clone().into());
        entry.insert(
            "names".into(),
            toml::Value::Array(c.names.iter().cloned().map(Into::into).collect()),
        );
        entry.insert(
            "txs".into(),
            toml::Value::Array(c.txs.iter().cloned().map(Into::into).collect()),
        );
        let mut doc = toml::Table::new();
        doc.insert(c.name.into(), entry.into());
        out.push('\n');
        out.push_str(&toml::to_string(&doc).expect("TOML renders"));
    }
    out
}

/// A valid EIP-1559 transfer of 1 wei from account 0 with `nonce`, as
/// EIP-2718 bytes: the input the mutation tests start from.
pub fn valid_ethereum_transfer(spec: &ChainSpec, nonce: u64) -> Vec<u8> {
    eip1559(spec, FUNDED, |tx| tx.nonce = nonce).encoded_2718()
}

/// A valid signed Braid transaction from Braid sender 0 with `nonce`
/// calling an EVM account, as SCALE bytes.
pub fn valid_braid_call(spec: &ChainSpec, nonce: u64) -> Vec<u8> {
    tx_signed(braid_transaction(spec, nonce, vec![evm_call()], 100_000)).encode()
}
