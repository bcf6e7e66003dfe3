//! `braid-dev`: the dev chain's keys and its bundled blocks.
//!
//! What it is: tooling beside the product crates (as revm keeps `revme`
//! apart): the public dev keys, transaction signing helpers, and the
//! generator of `chains/dev/blocks/*.json`. What it is not: part of
//! `braid-chain` or of the `braid` binary; nothing in the product depends on
//! it (`rfcs/0008-architecture.md`).
//!
//! The keys are PUBLIC test keys, derived from fixed strings: never use them
//! for anything of value. `braid-dev blocks chains/dev` regenerates
//! `chains/dev/blocks/*.json` from them and from Braid's own token contract
//! (`chains/dev/contracts/BraidToken.json`); signatures are deterministic
//! (RFC 6979 for secp256k1, RFC 8032 for ed25519), so the files are
//! reproducible byte for byte.

use std::path::Path;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_sol_types::abi::TokenSeq;
use alloy_sol_types::{SolType, SolValue};
use braid_core::{EngineId, keccak256};
use ed25519_dalek::SigningKey as Ed25519Key;
use k256::ecdsa::SigningKey as Secp256k1Key;

use braid_chain::tx::{BraidCall, BraidTransaction, braid_sender};
use braid_chain::{Block, ChainError, ChainSpec, RawTransaction, Result};

/// Number of secp256k1 dev accounts (funded in `chains/dev/chain.toml`).
pub const DEV_ACCOUNTS: usize = 8;
/// Number of ed25519 dev keys (Braid transaction senders).
pub const DEV_BRAID_KEYS: usize = 2;

/// Selector of `transfer(address,uint256)`.
pub const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// Selector of `approve(address,uint256)`.
pub const APPROVE: [u8; 4] = [0x09, 0x5e, 0xa7, 0xb3];
/// Selector of `transferFrom(address,address,uint256)`.
pub const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];
/// Selector of `balanceOf(address)`.
pub const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];

/// The secp256k1 key of dev account `i`: `keccak256("braid dev account {i}")`.
pub fn dev_key(i: usize) -> Secp256k1Key {
    Secp256k1Key::from_slice(&keccak256(format!("braid dev account {i}").as_bytes()))
        .expect("a keccak output below the curve order")
}

/// The address of dev account `i`.
pub fn dev_address(i: usize) -> Address {
    Address::from_private_key(&dev_key(i))
}

/// The ed25519 key of Braid dev sender `i`: seed `keccak256("braid dev ed25519 {i}")`.
pub fn dev_braid_key(i: usize) -> Ed25519Key {
    Ed25519Key::from_bytes(&keccak256(format!("braid dev ed25519 {i}").as_bytes()))
}

/// The EVM address of Braid dev sender `i` (see [`braid_sender`]).
pub fn dev_braid_address(i: usize) -> Address {
    Address::from(braid_sender(&dev_braid_key(i).verifying_key().to_bytes()).0)
}

/// ABI call data: selector followed by the ABI-encoded arguments.
pub fn calldata<A>(selector: [u8; 4], args: A) -> Vec<u8>
where
    A: SolValue,
    for<'a> <A::SolType as SolType>::Token<'a>: TokenSeq<'a>,
{
    let mut data = selector.to_vec();
    data.extend(args.abi_encode_params());
    data
}

/// One whole token, in base units (18 decimals).
pub fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// Signs an Ethereum transaction with `key`: legacy (EIP-155) if `legacy`,
/// EIP-1559 otherwise, paying at most twice the chain's base fee plus one wei.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per transaction field, named at every call site"
)]
pub fn sign_ethereum(
    spec: &ChainSpec,
    key: &Secp256k1Key,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Vec<u8>,
    gas_limit: u64,
    legacy: bool,
) -> RawTransaction {
    let max_fee = 2 * u128::from(spec.base_fee) + 1;
    let sign = |hash: alloy_primitives::B256| -> Signature {
        let (sig, recid) = key
            .sign_prehash_recoverable(hash.as_slice())
            .expect("signing a 32-byte prehash");
        Signature::from((sig, recid))
    };
    let envelope: TxEnvelope = if legacy {
        let tx = TxLegacy {
            chain_id: Some(spec.chain_id),
            nonce,
            gas_price: max_fee,
            gas_limit,
            to,
            value,
            input: input.into(),
        };
        let signature = sign(tx.signature_hash());
        tx.into_signed(signature).into()
    } else {
        let tx = TxEip1559 {
            chain_id: spec.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: 1,
            to,
            value,
            access_list: Default::default(),
            input: Bytes::from(input),
        };
        let signature = sign(tx.signature_hash());
        tx.into_signed(signature).into()
    };
    RawTransaction::Ethereum(envelope.encoded_2718())
}

/// Signs a Braid transaction with `key` whose calls are `(engine, target, input)`.
pub fn sign_braid(
    spec: &ChainSpec,
    key: &Ed25519Key,
    nonce: u64,
    calls: Vec<(EngineId, [u8; 20], Vec<u8>)>,
    gas_limit: u64,
) -> RawTransaction {
    let calls = calls
        .into_iter()
        .map(|(engine, target, input)| BraidCall::Call {
            engine: engine.0,
            target,
            input,
            value: [0; 32],
        })
        .collect();
    sign_braid_actions(spec, key, nonce, calls, gas_limit)
}

/// Signs a Braid transaction with `key` carrying `actions` (calls and deploys).
pub fn sign_braid_actions(
    spec: &ChainSpec,
    key: &Ed25519Key,
    nonce: u64,
    actions: Vec<BraidCall>,
    gas_limit: u64,
) -> RawTransaction {
    let tx = BraidTransaction {
        chain_id: spec.chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas: 2 * u128::from(spec.base_fee) + 1,
        max_priority_fee_per_gas: 1,
        calls: actions,
    };
    let signed = tx.sign(key);
    RawTransaction::Braid(parity_scale_codec::Encode::encode(&signed))
}

/// Builds and signs the dev chain's transactions, tracking nonces.
struct Signer<'a> {
    spec: &'a ChainSpec,
    nonces: Vec<u64>,
    braid_nonces: Vec<u64>,
    count: u64,
}

impl Signer<'_> {
    /// An Ethereum transaction from dev account `from`; every third one is
    /// legacy (EIP-155), the others EIP-1559.
    fn eth(
        &mut self,
        from: usize,
        to: TxKind,
        value: U256,
        input: Vec<u8>,
        gas_limit: u64,
    ) -> RawTransaction {
        let nonce = self.nonces[from];
        self.nonces[from] += 1;
        self.count += 1;
        sign_ethereum(
            self.spec,
            &dev_key(from),
            nonce,
            to,
            value,
            input,
            gas_limit,
            self.count.is_multiple_of(3),
        )
    }

    /// An ERC-20 `transfer(to, amount)` of `token` from dev account `from`.
    fn transfer(
        &mut self,
        from: usize,
        token: Address,
        to: Address,
        amount: U256,
    ) -> RawTransaction {
        let input = calldata(TRANSFER, (to, amount));
        self.eth(from, TxKind::Call(token), U256::ZERO, input, TOKEN_GAS)
    }

    /// A Braid transaction from Braid dev key `from` with any actions.
    fn braid_actions(
        &mut self,
        from: usize,
        actions: Vec<BraidCall>,
        gas_limit: u64,
    ) -> RawTransaction {
        let nonce = self.braid_nonces[from];
        self.braid_nonces[from] += 1;
        sign_braid_actions(self.spec, &dev_braid_key(from), nonce, actions, gas_limit)
    }

    /// A Braid transaction from Braid dev key `from` calling the EVM.
    fn braid(
        &mut self,
        from: usize,
        calls: Vec<(Address, Vec<u8>)>,
        gas_limit: u64,
    ) -> RawTransaction {
        let nonce = self.braid_nonces[from];
        self.braid_nonces[from] += 1;
        let calls = calls
            .into_iter()
            .map(|(to, input)| (EngineId::EVM, to.0.0, input))
            .collect();
        sign_braid(self.spec, &dev_braid_key(from), nonce, calls, gas_limit)
    }
}

/// Reads the creation bytecode of `contracts/BraidToken.json` in `chain_dir`.
///
/// # Errors
/// [`ChainError::Io`] / [`ChainError::SpecField`] if the artifact is missing or malformed.
pub fn token_creation_code(chain_dir: &Path) -> Result<Vec<u8>> {
    creation_code(chain_dir, "BraidToken")
}

/// Reads the creation bytecode of `contracts/<contract>.json` in `chain_dir`.
///
/// # Errors
/// [`ChainError::Io`] / [`ChainError::BlockSyntax`] if the artifact is missing or malformed.
pub fn creation_code(chain_dir: &Path, contract: &str) -> Result<Vec<u8>> {
    let path = chain_dir.join(format!("contracts/{contract}.json"));
    let text = std::fs::read_to_string(&path).map_err(|source| ChainError::Io {
        path: path.clone(),
        source,
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ChainError::BlockSyntax {
            path: path.clone(),
            message: e.to_string(),
        })?;
    let code = json["bytecode"]
        .as_str()
        .ok_or_else(|| ChainError::BlockSyntax {
            path: path.clone(),
            message: "no string field `bytecode`".into(),
        })?;
    hex::decode(code.strip_prefix("0x").unwrap_or(code)).map_err(|e| ChainError::BlockSyntax {
        path,
        message: format!("`bytecode` is not hex: {e}"),
    })
}

/// Gas limit of the dev chain's token transactions.
const TOKEN_GAS: u64 = 120_000;

/// Engine id of the stack plugin engine on the dev chain.
pub const DEV_PLUGIN_ENGINE: EngineId = EngineId(0x10);
/// Module name and version of the dev chain's Snapshot contract (stack engine).
pub const SNAPSHOT_MODULE: (&[u8], u32) = (b"snapshot", 1);

/// The identity of the Snapshot contract on a chain with `chain_id`.
pub fn snapshot_identity(chain_id: u64) -> braid_core::Identity {
    braid_core::module_identity(chain_id, SNAPSHOT_MODULE.0, SNAPSHOT_MODULE.1)
}

/// Assembles `contracts/Snapshot.stack` in `chain_dir` for the stack plugin engine.
///
/// # Errors
/// [`ChainError::Io`] if the source is missing; [`ChainError::BlockSyntax`] naming the
/// line if it does not assemble.
pub fn snapshot_code(chain_dir: &Path) -> Result<Vec<u8>> {
    let path = chain_dir.join("contracts/Snapshot.stack");
    let text = std::fs::read_to_string(&path).map_err(|source| ChainError::Io {
        path: path.clone(),
        source,
    })?;
    braid_plugin_stack::assemble(&text).map_err(|e| ChainError::BlockSyntax {
        path,
        message: e.to_string(),
    })
}

/// The address of Braid's token on the dev chain (deployed by dev account 0 with nonce 0).
pub fn dev_token_address() -> Address {
    dev_address(0).create(0)
}

/// Generates the dev chain's bundled blocks: 3 blocks, 100+ transactions
/// (deploy, ETH transfers, token transfers, approvals, transfer-from, a
/// reverting transfer, Braid transactions calling the EVM token, one of
/// them all-or-nothing with a reverting second call).
///
/// # Errors
/// If the token artifact cannot be read.
pub fn generate_blocks(spec: &ChainSpec, chain_dir: &Path) -> Result<Vec<Block>> {
    let creation = token_creation_code(chain_dir)?;
    let token = dev_token_address();
    let mut s = Signer {
        spec,
        nonces: vec![0; DEV_ACCOUNTS],
        braid_nonces: vec![0; DEV_BRAID_KEYS],
        count: 0,
    };
    let call = TxKind::Call;
    let eth = |n: u64| U256::from(n) * U256::from(10u64).pow(U256::from(15)); // milli-ether
    let mut blocks = Vec::new();

    // Block 1: deploy, fund, distribute.
    let mut txs = Vec::new();
    let mut deploy = creation;
    deploy.extend(
        (
            "Braid Token".to_string(),
            "BRD".to_string(),
            tokens(1_000_000),
        )
            .abi_encode_params(),
    );
    txs.push(s.eth(0, TxKind::Create, U256::ZERO, deploy, 2_000_000));
    for i in 1..DEV_ACCOUNTS {
        txs.push(s.eth(0, call(dev_address(i)), eth(10 * i as u64), vec![], 21_000));
        txs.push(s.transfer(0, token, dev_address(i), tokens(10_000)));
    }
    for b in 0..DEV_BRAID_KEYS {
        txs.push(s.transfer(0, token, dev_braid_address(b), tokens(500)));
    }
    for i in 1..DEV_ACCOUNTS {
        let to = dev_address(i % (DEV_ACCOUNTS - 1) + 1);
        txs.push(s.transfer(i, token, to, tokens(i as u64)));
    }
    blocks.push(Block {
        number: 1,
        timestamp: spec.genesis_timestamp + 12,
        transactions: txs,
    });

    // Block 2: approvals, transfer-from, transfers, a revert, Braid transactions.
    let mut txs = Vec::new();
    let spender = 6;
    for owner in 1..=5 {
        txs.push(s.eth(
            owner,
            call(token),
            U256::ZERO,
            calldata(APPROVE, (dev_address(spender), tokens(1_000))),
            TOKEN_GAS,
        ));
    }
    for owner in 1..=5 {
        let args = (dev_address(owner), dev_address(7), tokens(100));
        txs.push(s.eth(
            spender,
            call(token),
            U256::ZERO,
            calldata(TRANSFER_FROM, args),
            TOKEN_GAS,
        ));
    }
    for round in 0..2u64 {
        for i in 1..DEV_ACCOUNTS {
            let to = dev_address((i + round as usize) % (DEV_ACCOUNTS - 1) + 1);
            txs.push(s.transfer(i, token, to, tokens(round + 1)));
        }
    }
    for i in 1..DEV_ACCOUNTS {
        txs.push(s.eth(
            i,
            call(dev_address(i % (DEV_ACCOUNTS - 1) + 1)),
            eth(1),
            vec![],
            21_000,
        ));
    }
    // Reverts: far more than the balance (InsufficientBalance).
    txs.push(s.transfer(7, token, dev_address(1), tokens(1_000_000_000)));
    txs.push(s.braid(
        0,
        vec![(token, calldata(TRANSFER, (dev_address(1), tokens(5))))],
        200_000,
    ));
    // All-or-nothing: the second call reverts, so the first is undone too.
    txs.push(s.braid(
        1,
        vec![
            (token, calldata(TRANSFER, (dev_address(2), tokens(1)))),
            (
                token,
                calldata(TRANSFER, (dev_address(3), tokens(1_000_000))),
            ),
        ],
        300_000,
    ));
    // The stack plugin engine gets its contract.
    let deploy = BraidCall::Deploy {
        engine: DEV_PLUGIN_ENGINE.0,
        name: SNAPSHOT_MODULE.0.to_vec(),
        version: SNAPSHOT_MODULE.1,
        code: snapshot_code(chain_dir)?,
    };
    txs.push(s.braid_actions(0, vec![deploy], 100_000));
    blocks.push(Block {
        number: 2,
        timestamp: spec.genesis_timestamp + 24,
        transactions: txs,
    });

    // Block 3: busy trading, a transfer-from past the allowance (reverts), Braid calls.
    let mut txs = Vec::new();
    for round in 0..6u64 {
        for i in 1..DEV_ACCOUNTS {
            let to = dev_address((i + 2 * round as usize + 1) % (DEV_ACCOUNTS - 1) + 1);
            txs.push(s.transfer(i, token, to, tokens(round + 1)));
        }
    }
    let args = (dev_address(1), dev_address(6), tokens(5_000));
    txs.push(s.eth(
        spender,
        call(token),
        U256::ZERO,
        calldata(TRANSFER_FROM, args),
        TOKEN_GAS,
    ));
    txs.push(s.braid(
        0,
        vec![
            (token, calldata(TRANSFER, (dev_address(4), tokens(2)))),
            (token, calldata(TRANSFER, (dev_address(5), tokens(3)))),
        ],
        300_000,
    ));
    txs.push(s.braid(
        1,
        vec![(token, calldata(TRANSFER, (dev_braid_address(0), tokens(7))))],
        200_000,
    ));
    // The Snapshot contract reads dev 1's token balance from the EVM, twice:
    // once here, once after dev 1 transfers again.
    let snapshot_call = || {
        let target = snapshot_identity(spec.chain_id).0;
        vec![BraidCall::Call {
            engine: DEV_PLUGIN_ENGINE.0,
            target,
            input: vec![],
            value: [0; 32],
        }]
    };
    txs.push(s.braid_actions(1, snapshot_call(), 100_000));
    txs.push(s.transfer(1, token, dev_address(2), tokens(11)));
    txs.push(s.braid_actions(0, snapshot_call(), 100_000));
    blocks.push(Block {
        number: 3,
        timestamp: spec.genesis_timestamp + 36,
        transactions: txs,
    });

    // Block 4: the PVM next to the EVM. Braid's PVM token (a genesis
    // module) is minted and traded; the gate reads EVM token balances
    // through `evm_storage_read`; relay and faulty are deployed by Braid
    // transaction and show fault isolation.
    let mut txs = Vec::new();
    let pvm_call = |target: braid_core::Identity, input: Vec<u8>| BraidCall::Call {
        engine: EngineId::PVM.0,
        target: target.0,
        input,
        value: [0; 32],
    };
    let pvm_token = pvm_token_identity(spec.chain_id);
    let gate = gate_identity(spec.chain_id);
    let init = [vec![0], 1_000_000u64.to_le_bytes().to_vec()].concat();
    txs.push(s.braid_actions(0, vec![pvm_call(pvm_token, init)], PVM_GAS));
    let pvm_transfer =
        |to: Address, amount: u64| [vec![1], to.0.to_vec(), amount.to_le_bytes().to_vec()].concat();
    txs.push(s.braid_actions(
        0,
        vec![pvm_call(pvm_token, pvm_transfer(dev_braid_address(1), 250))],
        PVM_GAS,
    ));
    for i in 1..DEV_ACCOUNTS {
        let transfer = pvm_transfer(dev_address(i), 10 * i as u64);
        txs.push(s.braid_actions(0, vec![pvm_call(pvm_token, transfer)], PVM_GAS));
    }
    // Reverts: more than Braid key 1 holds.
    txs.push(s.braid_actions(
        1,
        vec![pvm_call(pvm_token, pvm_transfer(dev_address(1), 251))],
        PVM_GAS,
    ));
    for holder in [1, 7] {
        let input = gate_input(token, dev_address(holder), tokens(10_000));
        txs.push(s.braid_actions(1, vec![pvm_call(gate, input)], PVM_GAS));
    }
    let deploy = |name: &str| -> Result<BraidCall> {
        Ok(BraidCall::Deploy {
            engine: EngineId::PVM.0,
            name: name.as_bytes().to_vec(),
            version: 1,
            code: pvm_contract(chain_dir, name)?,
        })
    };
    let relay_v2 = BraidCall::Deploy {
        engine: EngineId::PVM.0,
        name: b"relay".to_vec(),
        version: 2,
        code: pvm_contract(chain_dir, "relay")?,
    };
    txs.push(s.braid_actions(
        0,
        vec![deploy("relay")?, deploy("faulty")?, relay_v2],
        1_500_000,
    ));
    let relay = braid_core::module_identity(spec.chain_id, b"relay", 1);
    let relay_b = braid_core::module_identity(spec.chain_id, b"relay", 2);
    let faulty = braid_core::module_identity(spec.chain_id, b"faulty", 1);
    txs.push(s.braid_actions(
        0,
        vec![pvm_call(relay, [faulty.0.to_vec(), b"k".to_vec()].concat())],
        PVM_GAS,
    ));
    // Reentrancy: relay v1 ('x') -> relay v2 ('y') -> relay v1 ('z') is refused.
    let cycle = [
        relay_b.0.to_vec(),
        b"x".to_vec(),
        relay.0.to_vec(),
        b"y".to_vec(),
        relay_b.0.to_vec(),
        b"z".to_vec(),
    ]
    .concat();
    txs.push(s.braid_actions(0, vec![pvm_call(relay, cycle)], PVM_GAS));
    // The EVM reads PVM storage through the read precompile: PvmReader
    // records Braid key 1's PVM token balance.
    assert_eq!(s.nonces[2], PVM_READER_NONCE, "dev account 2's nonce moved");
    txs.push(s.eth(
        2,
        TxKind::Create,
        U256::ZERO,
        creation_code(chain_dir, "PvmReader")?,
        1_000_000,
    ));
    let record = calldata(
        RECORD,
        (
            Address::from(pvm_token.0),
            Bytes::from(dev_braid_address(1).to_vec()),
        ),
    );
    txs.push(s.eth(
        2,
        TxKind::Call(pvm_reader_address()),
        U256::ZERO,
        record,
        200_000,
    ));
    blocks.push(Block {
        number: 4,
        timestamp: spec.genesis_timestamp + 48,
        transactions: txs,
    });

    // Block 5: WASM. The recorder reads an EVM token balance and a PVM
    // token balance of the same holders and records both.
    let mut txs = Vec::new();
    let recorder = recorder_identity(spec.chain_id);
    for (evm_holder, pvm_holder) in [
        (dev_address(1), dev_braid_address(1)),
        (dev_address(7), dev_address(7)),
    ] {
        let input = recorder_input(token, evm_holder, pvm_token, pvm_holder);
        let call = BraidCall::Call {
            engine: EngineId::WASM.0,
            target: recorder.0,
            input,
            value: [0; 32],
        };
        txs.push(s.braid_actions(1, vec![call], PVM_GAS));
    }
    blocks.push(Block {
        number: 5,
        timestamp: spec.genesis_timestamp + 60,
        transactions: txs,
    });

    // Block 6: caps and YIELD/RESUME (RFC 0010), the orchestrator pattern
    // of CAPS.md T34 in three PVM contracts. The orchestrator hands the
    // worker a YieldRef; the worker writes x = 1 and yields the request
    // "call a with 7"; the orchestrator calls the squaring service and
    // resumes the worker with 49, which it stores under y.
    let (orch, worker, service) = orchestra_identities(spec.chain_id);
    let run = pvm_call(orch, orch_input(worker, service, 0));
    let txs = vec![s.braid_actions(
        0,
        vec![deploy("orch")?, deploy("worker")?, deploy("square")?, run],
        2_000_000,
    )];
    blocks.push(Block {
        number: 6,
        timestamp: spec.genesis_timestamp + 72,
        transactions: txs,
    });
    Ok(blocks)
}

/// The identities of the dev chain's orchestrator, worker and squaring
/// service (modules `orch`, `worker`, `square` v1, deployed in block 6).
pub fn orchestra_identities(
    chain_id: u64,
) -> (
    braid_core::Identity,
    braid_core::Identity,
    braid_core::Identity,
) {
    let id = |name: &[u8]| braid_core::module_identity(chain_id, name, 1);
    (id(b"orch"), id(b"worker"), id(b"square"))
}

/// The orchestrator's input: `worker[20] ‖ service[20] ‖ flags` (bit 0: the
/// service faults; bit 1: the handler calls the worker again).
pub fn orch_input(
    worker: braid_core::Identity,
    service: braid_core::Identity,
    flags: u8,
) -> Vec<u8> {
    [&worker.0[..], &service.0, &[flags]].concat()
}

/// The identity of the dev chain's WASM recorder (genesis module `recorder` v1).
pub fn recorder_identity(chain_id: u64) -> braid_core::Identity {
    braid_core::module_identity(chain_id, b"recorder", 1)
}

/// The recorder's input: `token[20] ‖ holder[20] ‖ PVM module[20] ‖ key
/// length u8 ‖ key` (the PVM key is `pvm_holder`).
pub fn recorder_input(
    token: Address,
    holder: Address,
    pvm_module: braid_core::Identity,
    pvm_holder: Address,
) -> Vec<u8> {
    let mut input = Vec::with_capacity(81);
    input.extend_from_slice(token.as_slice());
    input.extend_from_slice(holder.as_slice());
    input.extend_from_slice(&pvm_module.0);
    input.push(20);
    input.extend_from_slice(pvm_holder.as_slice());
    input
}

/// `record(address,bytes)` of `contracts/PvmReader.sol`.
pub const RECORD: [u8; 4] = [0x66, 0x02, 0xb6, 0x56];

/// The dev chain's PvmReader (deployed by dev account 2 in block 4).
pub fn pvm_reader_address() -> Address {
    dev_address(2).create(PVM_READER_NONCE)
}

/// Dev account 2's nonce when it deploys PvmReader.
const PVM_READER_NONCE: u64 = 11;

/// Braid gas for the dev chain's PVM calls.
const PVM_GAS: u64 = 1_000_000;

/// The identity of the dev chain's PVM token (genesis module `braid-token-pvm` v1).
pub fn pvm_token_identity(chain_id: u64) -> braid_core::Identity {
    braid_core::module_identity(chain_id, b"braid-token-pvm", 1)
}

/// The identity of the dev chain's gate (genesis module `evm-gate` v1).
pub fn gate_identity(chain_id: u64) -> braid_core::Identity {
    braid_core::module_identity(chain_id, b"evm-gate", 1)
}

/// The gate's input: `token ‖ holder ‖ slot 0 (balanceOf) ‖ threshold`, 104 bytes.
pub fn gate_input(token: Address, holder: Address, threshold: U256) -> Vec<u8> {
    let mut input = Vec::with_capacity(104);
    input.extend_from_slice(token.as_slice());
    input.extend_from_slice(holder.as_slice());
    input.extend_from_slice(&[0; 32]);
    input.extend_from_slice(&threshold.to_be_bytes::<32>());
    input
}

/// Reads Braid's built PVM contract `name` (`engines/pvm/contracts/build`,
/// two folders above the dev chain).
///
/// # Errors
/// [`ChainError::Io`] if it is missing.
pub fn pvm_contract(chain_dir: &Path, name: &str) -> Result<Vec<u8>> {
    let path = chain_dir.join(format!("../../engines/pvm/contracts/build/{name}.pvm"));
    std::fs::read(&path).map_err(|source| ChainError::Io { path, source })
}

/// A block as pretty JSON with a trailing newline (the bundled file format).
pub fn block_json(block: &Block) -> String {
    let mut text = serde_json::to_string_pretty(block).expect("a block serialises");
    text.push('\n');
    text
}
