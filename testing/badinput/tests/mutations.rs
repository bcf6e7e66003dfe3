//! Valid inputs, mutated (bit flips, byte overwrites, truncation,
//! insertion, extension), through the entry points that parse them in a
//! node: `ChainSpec::load` (then `Chain::open`), `Block::load` and
//! `Chain::apply_block` (block files, and Ethereum and Braid transactions
//! inside them), the PVM and WASM engines' deploy check and a Braid
//! `Deploy` + call of whatever passes it, and `Proof::decode_all` +
//! `verify_proof`. Each must not panic (proptest fails a case that does),
//! must give a typed error or a valid outcome, and on error leave the
//! chain's head and root as they were. A mutated proof never verifies.
//!
//! Each test prints how its cases ended, by kind, and fails if too few
//! reach a kind it names (the mutations must get past the first check to
//! test anything behind it). Case counts are sized for CI (the file runs in
//! a few seconds on 2 cores in release); `PROPTEST_CASES` sets them all,
//! `PROPTEST_RNG_SEED` fixes the otherwise random seed.

use std::sync::Arc;

use braid_badinput::keys::{FUNDED, base_chain_dir, base_spec, braid_raw, braid_transaction};
use braid_badinput::signed::{valid_braid_call, valid_ethereum_transfer};
use braid_chain::tx::BraidCall;
use braid_chain::{Block, Chain, ChainError, ChainSpec, RawTransaction, TxError};
use braid_core::{CoreError, Engine, EngineId, module_identity};
use braid_pvm::{PvmEngine, PvmSpec};
use braid_state::{MemoryBackend, Proof, StateDb, StateKey, verify_proof};
use braid_wasm::WasmEngine;
use parity_scale_codec::{DecodeAll, Encode};
use proptest::prelude::*;
use proptest::sample::Index;

/// One change to a byte string.
#[derive(Clone, Debug)]
enum Mutation {
    /// Flips bit `bit` of the byte at the index.
    Flip(Index, u8),
    /// Overwrites the byte at the index.
    Set(Index, u8),
    /// Keeps the bytes before the index.
    Truncate(Index),
    /// Appends bytes.
    Extend(Vec<u8>),
    /// Inserts a byte at the index.
    Insert(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..4)
}

fn mutate(input: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for m in mutations {
        match m {
            Mutation::Flip(i, bit) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Mutation::Set(i, byte) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] = *byte;
            }
            Mutation::Truncate(i) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes.truncate(i);
            }
            Mutation::Insert(i, byte) => {
                let i = i.index(bytes.len() + 1);
                bytes.insert(i, *byte);
            }
            Mutation::Extend(more) => bytes.extend_from_slice(more),
            _ => {}
        }
    }
    bytes
}

/// Runs `check` on `cases` mutation lists (`PROPTEST_CASES` overrides the
/// count) and returns how many ended in each kind of outcome `check`
/// names. proptest fails the test, with a minimal failing input, if
/// `check` panics.
fn run(name: &str, cases: u32, check: impl FnMut(&[Mutation]) -> &'static str) -> Tally {
    let config = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let tally = std::cell::RefCell::new(Tally::default());
    let check = std::cell::RefCell::new(check);
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&mutations(), |m| {
            let kind = (check.borrow_mut())(&m);
            *tally.borrow_mut().0.entry(kind).or_default() += 1;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let tally = tally.into_inner();
    println!("{name}: {tally}");
    tally
}

/// Outcomes by kind.
#[derive(Default)]
struct Tally(std::collections::BTreeMap<&'static str, u32>);

impl Tally {
    /// Asserts that at least `min` cases ended as `kind`: the mutations
    /// reach that far.
    fn at_least(&self, kind: &str, min: u32) -> &Self {
        let got = self.0.get(kind).copied().unwrap_or(0);
        assert!(
            got >= min,
            "only {got} cases ended as {kind:?} (want {min}): {self}"
        );
        self
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{k} {n}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// A chain at genesis over memory, reopened after a block was applied so
/// every case starts from genesis.
struct AtGenesis {
    spec: ChainSpec,
    chain: Chain,
}

impl AtGenesis {
    fn new() -> Self {
        let spec = base_spec();
        let chain = Chain::open(spec.clone(), Arc::new(MemoryBackend::new())).unwrap();
        AtGenesis { spec, chain }
    }

    /// Applies `block`: `Ok` if it applied (the chain then goes back to
    /// genesis), or its error after checking that the head and root did
    /// not move.
    fn apply(&mut self, block: &Block) -> Result<(), ChainError> {
        let (head, root) = (self.chain.head().clone(), self.chain.db().root());
        match self.chain.apply_block(block) {
            Ok(_) => {
                *self = AtGenesis::new();
                Ok(())
            }
            Err(e) => {
                assert_eq!(
                    self.chain.head(),
                    &head,
                    "a refused block moved the head: {e}"
                );
                assert_eq!(
                    self.chain.db().root(),
                    root,
                    "a refused block moved the root: {e}"
                );
                Err(e)
            }
        }
    }

    fn block(&self, transactions: Vec<RawTransaction>) -> Block {
        Block {
            number: 1,
            timestamp: self.spec.genesis_timestamp + 12,
            transactions,
        }
    }
}

/// The kind of a transaction's refusal: it must be one (never an
/// internal failure of the chain), of block 1.
fn refusal_kind(e: &ChainError) -> &'static str {
    let ChainError::InvalidTransaction {
        block: 1, reason, ..
    } = e
    else {
        panic!("not an invalid-transaction refusal: {e:?}");
    };
    match reason {
        TxError::Decode { .. } | TxError::UnsupportedType { .. } => "refused: does not decode",
        TxError::BadSignature { .. } => "refused: signature",
        TxError::Evm(_) => "refused: by the EVM (nonce, funds, gas, fees)",
        _ => "refused: a validity rule",
    }
}

/// Mutated chain specs: loaded as `braid run` loads them, then opened over
/// memory if they load.
#[test]
fn mutated_specs_are_refused_or_open() {
    let text = std::fs::read(base_chain_dir().join("chain.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.toml");
    run("specs", 1024, |m| {
        std::fs::write(&path, mutate(&text, m)).unwrap();
        match ChainSpec::load(&path) {
            Ok(spec) => {
                // Whatever loads is a chain whose genesis can be written.
                Chain::open(spec, Arc::new(MemoryBackend::new())).unwrap();
                "loaded, genesis written"
            }
            Err(ChainError::Io { .. }) => "refused: not UTF-8",
            Err(ChainError::SpecSyntax { .. }) => "refused: syntax",
            Err(ChainError::SpecField { .. }) => "refused: field",
            Err(ChainError::SpecMissing { .. }) => "refused: missing field",
            Err(e) => panic!("not a spec refusal: {e:?}"),
        }
    })
    .at_least("loaded, genesis written", 50)
    .at_least("refused: syntax", 100)
    .at_least("refused: field", 10);
}

/// A valid block file of block 1: a transfer from account 0 and a Braid
/// call from Braid sender 0.
fn valid_block_json(spec: &ChainSpec) -> Vec<u8> {
    braid_badinput::keys::block_json(
        spec,
        1,
        &[
            RawTransaction::Ethereum(valid_ethereum_transfer(spec, 0)),
            RawTransaction::Braid(valid_braid_call(spec, 0)),
        ],
    )
    .into_bytes()
}

/// Mutated block files: loaded as `braid run` loads them, then applied.
#[test]
fn mutated_block_files_are_refused_or_applied() {
    let mut at = AtGenesis::new();
    let valid = valid_block_json(&at.spec);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0001.json");
    run("block files", 1024, |m| {
        std::fs::write(&path, mutate(&valid, m)).unwrap();
        let block = match Block::load(&path) {
            Ok(block) => block,
            Err(ChainError::BlockSyntax { .. } | ChainError::Io { .. }) => {
                return "refused: block file";
            }
            Err(e) => panic!("not a block-file refusal: {e:?}"),
        };
        match at.apply(&block) {
            Ok(()) => "applied",
            Err(ChainError::BlockOrder { .. }) => "refused: number or timestamp",
            Err(e) => refusal_kind(&e),
        }
    })
    .at_least("refused: block file", 500)
    // A transaction's hex is decoded with the block file (RawTransaction
    // holds bytes, RFC 0012), so most mutations of it are block-file
    // refusals; the bytes that still decode as hex but not as a
    // transaction are few. `mutated_*_transactions_*` below cover decoding.
    .at_least("refused: does not decode", 2)
    .at_least("refused: by the EVM (nonce, funds, gas, fees)", 5);
}

/// Mutated transactions of `kind`, alone in block 1.
fn mutated_transactions(name: &str, valid: &[u8], raw: fn(Vec<u8>) -> RawTransaction) -> Tally {
    let mut at = AtGenesis::new();
    run(name, 2048, |m| {
        let block = at.block(vec![raw(mutate(valid, m))]);
        match at.apply(&block) {
            Ok(()) => "applied",
            Err(e) => refusal_kind(&e),
        }
    })
}

#[test]
fn mutated_ethereum_transactions_are_refused_or_applied() {
    let valid = valid_ethereum_transfer(&base_spec(), 0);
    // Almost every change to a signed field recovers another sender, which
    // holds nothing: the EVM refuses it.
    mutated_transactions("Ethereum transactions", &valid, RawTransaction::Ethereum)
        .at_least("refused: does not decode", 400)
        .at_least("refused: by the EVM (nonce, funds, gas, fees)", 200)
        .at_least("refused: signature", 50);
}

#[test]
fn mutated_braid_transactions_are_refused_or_applied() {
    let valid = valid_braid_call(&base_spec(), 0);
    mutated_transactions("Braid transactions", &valid, RawTransaction::Braid)
        .at_least("refused: does not decode", 400)
        .at_least("refused: signature", 400);
}

/// Deploys `code` on `engine` in the next block and, in the same
/// transaction, calls it with `input`: the block applies whatever the code
/// does (a refused deploy or a faulting call fails the transaction, an
/// outcome). Each case is one more block on the same chain, from Braid
/// sender 0 (nonce = the block's number - 1), under a fresh module name.
/// Returns whether the transaction succeeded.
fn deploy_and_call(chain: &mut Chain, engine: EngineId, code: Vec<u8>, input: Vec<u8>) -> bool {
    let spec = chain.spec().clone();
    let number = chain.head().number + 1;
    let name = format!("mutant-{number}").into_bytes();
    let identity = module_identity(spec.chain_id, &name, 1);
    let actions = vec![
        BraidCall::Deploy {
            engine: engine.0,
            name,
            version: 1,
            code,
        },
        BraidCall::Call {
            engine: engine.0,
            target: identity.0,
            input,
            value: [0; 32],
        },
    ];
    let tx = braid_transaction(&spec, number - 1, actions, 2_000_000);
    let block = Block {
        number,
        timestamp: spec.genesis_timestamp + 12 * number,
        transactions: vec![braid_raw(tx, FUNDED)],
    };
    let report = chain
        .apply_block(&block)
        .unwrap_or_else(|e| panic!("a deploy and call refused the block: {e}"));
    report.receipts[0].success
}

/// The engine's deploy check accepts `code` or refuses it as invalid code,
/// never with another error.
fn validated(engine: &dyn Engine, code: &[u8]) -> bool {
    match engine.validate(code) {
        Ok(()) => true,
        Err(CoreError::InvalidCode { .. }) => false,
        Err(e) => panic!("not an invalid-code refusal: {e:?}"),
    }
}

fn contract(path: &str) -> Vec<u8> {
    std::fs::read(braid_badinput::repo_root().join(path)).unwrap()
}

/// Mutated code through the deploy check, then deployed (and called) by a
/// Braid transaction either way: a refused deploy must fail the
/// transaction; an accepted program must run to an outcome.
fn mutated_code(name: &str, cases: u32, engine: &dyn Engine, valid: &[u8], input: &[u8]) -> Tally {
    let mut chain = AtGenesis::new().chain;
    run(name, cases, |m| {
        let code = mutate(valid, m);
        let accepted = validated(engine, &code);
        let succeeded = deploy_and_call(&mut chain, engine.id(), code, input.to_vec());
        match (accepted, succeeded) {
            (false, false) => "refused at deploy (the transaction failed)",
            (false, true) => panic!("refused code deployed"),
            (true, true) => "deployed, the call halted",
            (true, false) => "deployed, the call faulted",
        }
    })
}

#[test]
fn mutated_pvm_programs_are_refused_or_run() {
    let pvm = PvmEngine::new(PvmSpec::Gp0_7_2);
    let token = contract("engines/pvm/contracts/build/token.pvm");
    mutated_code("PVM programs", 1024, &pvm, &token, &[0; 8])
        .at_least("refused at deploy (the transaction failed)", 200)
        .at_least("deployed, the call faulted", 200);
}

#[test]
fn mutated_wasm_modules_are_refused_or_run() {
    let wasm = WasmEngine::new().unwrap();
    let recorder = contract("engines/wasm/contracts/build/recorder.wasm");
    mutated_code("WASM modules", 256, &wasm, &recorder, &[])
        .at_least("refused at deploy (the transaction failed)", 150)
        .at_least("deployed, the call faulted", 5);
}

/// A state of 64 keys and the inclusion proof of one of them.
fn proof_fixture() -> ([u8; 32], Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
    let key = |i: u8| StateKey::new(EngineId::EVM, braid_core::Identity([i; 20]), vec![1, i]);
    let changes = (0..64u8).map(|i| (key(i), Some(vec![i; 8]))).collect();
    db.commit_block(changes, |_| vec![]).unwrap();
    let proven = key(7);
    let proof = db.prove(&proven).unwrap();
    verify_proof(&db.root(), &proven.encode(), Some(&[7; 8]), &proof).unwrap();
    (db.root(), proven.encode(), vec![7; 8], proof.encode())
}

/// A mutated proof either does not decode or does not verify.
#[test]
fn mutated_proofs_never_verify() {
    let (root, key, value, proof) = proof_fixture();
    run("proofs", 16384, |m| {
        let mutated = mutate(&proof, m);
        if mutated == proof {
            return "unchanged";
        }
        match Proof::decode_all(&mut &mutated[..]) {
            Err(_) => "does not decode",
            Ok(decoded) => {
                let err = verify_proof(&root, &key, Some(&value), &decoded);
                assert!(err.is_err(), "a mutated proof verifies: {mutated:02x?}");
                "decodes, does not verify"
            }
        }
    })
    .at_least("does not decode", 4000)
    .at_least("decodes, does not verify", 4000);
}
