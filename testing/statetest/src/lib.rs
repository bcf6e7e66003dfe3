//! `braid-statetest`: the Ethereum state-test runner. Every case runs its
//! transaction through Braid's own Ethereum transaction path over Braid's
//! unified state, then the Ethereum roots are rebuilt from Braid's keys and
//! compared with the vector.
//!
//! What it is: conformance tooling beside the product crates (as revm keeps
//! `revme` apart), behind `braid statetest <file-or-dir>...`. It depends on
//! `braid-chain` for the transaction decoder and validity rules, on
//! `braid-evm` and the kernel for execution, and on `braid-state` for the
//! state; nothing in the chain depends on it.
//!
//! What it does not do: run blocks (no system contracts, no fees beyond the
//! transaction's own, no block-level rules), or decide anything a chain
//! relies on.
//!
//! Per case (one `post[fork][i]` entry of one test): a fresh [`StateDb`] over
//! a [`MemoryBackend`], the `pre` allocation committed as genesis, then the
//! transaction:
//! - **from `txbytes`** (every case of the shared vectors): decoded and
//!   signer-recovered by [`EthereumTransaction::decode`], checked by
//!   [`EthereumTransaction::validate`] under Ethereum's rules for the fork
//!   and the env's chain id ([`EthereumRules::new`]: pre-EIP-155 legacy
//!   transactions accepted), then run as [`EthereumTransaction::tx_env`]
//!   through the kernel with [`EvmEngine::invoke_transaction`], as
//!   `braid-chain` runs an Ethereum transaction of a block;
//! - **from the template fields** (`transaction` + `indexes`), only when a
//!   case has no `txbytes`: revm's own validation alone.
//!
//! The block is committed; then the Ethereum MPT state root is rebuilt from
//! the EVM engine's keys ([`StateDb::scan_engine`]) and compared with
//! `hash`, and keccak-256 of the RLP list of logs with `logs`.
//!
//! A case with `expectException` must be refused for one of the reasons it
//! names ([`exceptions::satisfies`]) and leave the state as it was (its
//! root must still equal `hash`). A transaction that cannot be built (bytes
//! that do not decode, fields that do not parse) fails the case, whatever
//! it expects.
//!
//! The fork comes from the `post` key. `Constantinople` (EIP-1283, never
//! activated on mainnet, absent from revm) runs as Petersburg, like
//! `ConstantinopleFix`. `BLOCKHASH(n)` answers `keccak256` of the decimal
//! ASCII of `n` ([`DecimalKeccakHashes`]), as the state tests expect. A file
//! that does not parse is one failure naming the file, and the run goes on.

pub mod exceptions;
mod model;
mod roots;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy_primitives::{Address, B256, Log, keccak256};
use braid_chain::TxError;
use braid_chain::tx::{EthereumRules, EthereumTransaction};
use braid_core::{BlockEnv, BlockHashes, CoreError, EngineFailure, Engines};
use braid_evm::layout::{self, GenesisAccount};
use braid_evm::{EvmEngine, EvmError};
use braid_kernel::{BlockState, Kernel};
use braid_state::{MemoryBackend, StateDb};
use revm::context::TxEnv;
use revm::context::either::Either;
use revm::context_interface::transaction::{
    AccessList, AccessListItem, Authorization, SignedAuthorization, TransactionType,
};
use revm::primitives::TxKind;
use revm::primitives::hardfork::SpecId;

use model::{
    PostCase, TestUnit, address, b256, bytes, u64_of, u64_saturating, u128_saturating, u256,
};

/// Totals of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateTestSummary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed, plus files that did not parse.
    pub failed: usize,
    /// Cases whose transaction came from `txbytes`.
    pub txbytes: PathTotals,
    /// Cases whose transaction was built from the template fields (no `txbytes`).
    pub fields: PathTotals,
    /// Every failure, in run order.
    pub failures: Vec<StateTestFailure>,
}

/// Where a case's transaction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxSource {
    /// The case's signed `txbytes`, through the chain's decoder and rules.
    TxBytes,
    /// The `transaction` template with the case's `indexes`.
    Fields,
}

/// Cases run through one [`TxSource`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathTotals {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
}

impl PathTotals {
    /// Cases run.
    pub fn cases(&self) -> usize {
        self.passed + self.failed
    }
}

/// Why a case (or a file) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The rebuilt Ethereum state root differs from `hash`.
    RootMismatch,
    /// keccak-256 of the RLP logs differs from `logs`.
    LogsMismatch,
    /// The transaction was refused as invalid, but the case expects it valid.
    UnexpectedException,
    /// The case expects an invalid transaction (`expectException`), but it ran.
    MissingException,
    /// The transaction was refused, but for none of the reasons
    /// `expectException` names.
    WrongException,
    /// No transaction could be built: `txbytes` do not decode (or are not
    /// hex, or are signed by someone other than the fixture's sender), or
    /// the template fields do not parse.
    TransactionNotBuilt,
    /// The file (or a case in it) does not parse; `got` holds the parse error.
    MalformedFile,
    /// The `post` key names a fork this runner does not know.
    UnsupportedFork,
    /// The case could not be processed (a state or engine failure, not a
    /// transaction outcome).
    Execution,
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailureKind::RootMismatch => "state root mismatch",
            FailureKind::LogsMismatch => "logs hash mismatch",
            FailureKind::UnexpectedException => "unexpected exception",
            FailureKind::MissingException => "missing exception",
            FailureKind::WrongException => "wrong exception",
            FailureKind::TransactionNotBuilt => "transaction not built",
            FailureKind::MalformedFile => "malformed file",
            FailureKind::UnsupportedFork => "unsupported fork",
            FailureKind::Execution => "execution error",
        })
    }
}

/// One failed case, or one file that did not parse (then `test` and `fork`
/// are empty and `index` is 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateTestFailure {
    /// The vector file.
    pub file: PathBuf,
    /// The test name inside the file.
    pub test: String,
    /// The `post` key (fork name).
    pub fork: String,
    /// Index of the case in `post[fork]`.
    pub index: usize,
    /// Where the transaction came from (`None` for a file that does not parse).
    pub source: Option<TxSource>,
    /// What went wrong.
    pub kind: FailureKind,
    /// What the vector expects (a hash, an exception, a description).
    pub expected: String,
    /// What Braid produced (a hash, an error message, the parse error).
    pub got: String,
}

impl std::fmt::Display for StateTestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [{} / {} #{}]: {}: expected {}, got {}",
            self.file.display(),
            self.test,
            self.fork,
            self.index,
            self.kind,
            self.expected,
            self.got
        )
    }
}

/// Reported after every case (and after a file that does not parse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateTestProgress {
    /// The vector file.
    pub file: PathBuf,
    /// The test name (empty for a malformed file).
    pub test: String,
    /// The fork (empty for a malformed file).
    pub fork: String,
    /// Index of the case in `post[fork]`.
    pub index: usize,
    /// Whether the case passed.
    pub passed: bool,
    /// Cases passed so far in the run.
    pub passed_so_far: usize,
    /// Cases failed so far in the run.
    pub failed_so_far: usize,
}

/// `BLOCKHASH(n)` of the state tests: `keccak256` of the decimal ASCII of `n`
/// (what revm's `EmptyDB` answers, which the fillers used).
#[derive(Clone, Copy, Debug, Default)]
pub struct DecimalKeccakHashes;

impl BlockHashes for DecimalKeccakHashes {
    fn block_hash(&self, number: u64) -> braid_core::Result<Option<[u8; 32]>> {
        Ok(Some(keccak256(number.to_string().as_bytes()).0))
    }
}

/// Every `.json` file under `paths` (files are taken as they are,
/// directories are walked recursively), sorted and without duplicates.
/// Paths that do not exist are kept, so that [`run_paths`] reports them.
pub fn collect_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            out.push(dir.to_path_buf());
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out);
        } else {
            out.push(path.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Runs every `.json` under each path (files or directories, recursively,
/// sorted), calling `on_case` after each case (for a progress bar).
/// Never stops early: a malformed file is one failure and the run goes on.
pub fn run_paths(
    paths: &[PathBuf],
    on_case: &mut dyn FnMut(&StateTestProgress),
) -> StateTestSummary {
    let mut runner = Runner {
        engines: BTreeMap::new(),
        summary: StateTestSummary::default(),
    };
    for file in collect_files(paths) {
        runner.run_file(&file, on_case);
    }
    runner.summary
}

struct Runner {
    /// One engine per fork, so analysed bytecode is shared across cases.
    engines: BTreeMap<u8, Arc<EvmEngine>>,
    summary: StateTestSummary,
}

/// A case's outcome before it is recorded.
struct Verdict {
    kind: FailureKind,
    expected: String,
    got: String,
}

impl Verdict {
    fn new(kind: FailureKind, expected: impl Into<String>, got: impl Into<String>) -> Self {
        Verdict {
            kind,
            expected: expected.into(),
            got: got.into(),
        }
    }
}

/// Where one case is in the run.
struct CaseId<'a> {
    file: &'a Path,
    test: &'a str,
    fork: &'a str,
    index: usize,
    source: Option<TxSource>,
}

impl Runner {
    fn record(
        &mut self,
        id: CaseId<'_>,
        verdict: Option<Verdict>,
        on_case: &mut dyn FnMut(&StateTestProgress),
    ) {
        let passed = verdict.is_none();
        let path = match id.source {
            Some(TxSource::TxBytes) => Some(&mut self.summary.txbytes),
            Some(TxSource::Fields) => Some(&mut self.summary.fields),
            None => None,
        };
        if let Some(path) = path {
            if passed {
                path.passed += 1;
            } else {
                path.failed += 1;
            }
        }
        match verdict {
            None => self.summary.passed += 1,
            Some(v) => {
                self.summary.failed += 1;
                self.summary.failures.push(StateTestFailure {
                    file: id.file.to_path_buf(),
                    test: id.test.to_string(),
                    fork: id.fork.to_string(),
                    index: id.index,
                    source: id.source,
                    kind: v.kind,
                    expected: v.expected,
                    got: v.got,
                });
            }
        }
        on_case(&StateTestProgress {
            file: id.file.to_path_buf(),
            test: id.test.to_string(),
            fork: id.fork.to_string(),
            index: id.index,
            passed,
            passed_so_far: self.summary.passed,
            failed_so_far: self.summary.failed,
        });
    }

    fn run_file(&mut self, file: &Path, on_case: &mut dyn FnMut(&StateTestProgress)) {
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| {
                serde_json::from_str::<BTreeMap<String, TestUnit>>(&text)
                    .map_err(|e| format!("not a state test: {e}"))
            });
        let units = match parsed {
            Ok(units) => units,
            Err(e) => {
                let verdict = Verdict::new(FailureKind::MalformedFile, "a state-test JSON file", e);
                let id = CaseId {
                    file,
                    test: "",
                    fork: "",
                    index: 0,
                    source: None,
                };
                self.record(id, Some(verdict), on_case);
                return;
            }
        };
        for (name, unit) in &units {
            let prepared = Prepared::new(unit);
            for (fork, cases) in &unit.post {
                for (index, case) in cases.iter().enumerate() {
                    let source = match case.txbytes {
                        Some(_) => TxSource::TxBytes,
                        None => TxSource::Fields,
                    };
                    let verdict = match &prepared {
                        Err(e) => Some(Verdict::new(
                            FailureKind::MalformedFile,
                            "a well-formed test",
                            e.clone(),
                        )),
                        Ok(prepared) => self.run_case(prepared, unit, fork, case),
                    };
                    let id = CaseId {
                        file,
                        test: name,
                        fork,
                        index,
                        source: Some(source),
                    };
                    self.record(id, verdict, on_case);
                }
            }
        }
    }

    fn engine(&mut self, spec: SpecId) -> Arc<EvmEngine> {
        self.engines
            .entry(spec as u8)
            .or_insert_with(|| Arc::new(EvmEngine::new(spec)))
            .clone()
    }

    fn run_case(
        &mut self,
        prepared: &Prepared,
        unit: &TestUnit,
        fork: &str,
        case: &PostCase,
    ) -> Option<Verdict> {
        let Some(spec) = fork_spec(fork) else {
            return Some(Verdict::new(
                FailureKind::UnsupportedFork,
                "a known fork",
                fork,
            ));
        };
        let expected = b256("post.hash", &case.hash)
            .and_then(|root| Ok((root, b256("post.logs", &case.logs)?)));
        let (expected_root, expected_logs) = match expected {
            Ok(expected) => expected,
            Err(e) => {
                return Some(Verdict::new(
                    FailureKind::MalformedFile,
                    "a well-formed case",
                    e,
                ));
            }
        };
        let engine = self.engine(spec);
        let built = match &case.txbytes {
            Some(txbytes) => {
                let rules = EthereumRules::new(&engine, prepared.chain_id);
                prepared.decode(txbytes, &rules)
            }
            None => prepared.tx(unit, case).map(|tx| match tx.kind {
                // What the chain's decoder refuses in txbytes; revm 43 does
                // not check it.
                TxKind::Create if matches!(tx.tx_type, 3 | 4) => {
                    Built::Refused(TxError::ContractCreation {
                        tx_type: tx.tx_type,
                    })
                }
                _ => Built::Run(tx),
            }),
        };
        let run = match built {
            Err(e) => {
                return Some(Verdict::new(
                    FailureKind::TransactionNotBuilt,
                    "a transaction",
                    e,
                ));
            }
            Ok(Built::Refused(error)) => pre_state_root(prepared).map(|root| CaseRun {
                root,
                logs: Vec::new(),
                invalid: Some(error),
                exit: None,
            }),
            Ok(Built::Run(tx)) => execute(&engine, prepared, tx),
        };
        match run {
            Err(e) => Some(Verdict::new(FailureKind::Execution, "the case to run", e)),
            Ok(run) => judge(case, expected_root, expected_logs, run),
        }
    }
}

/// A case's transaction, ready to run or already refused.
enum Built {
    /// Passed the chain's decoder and rules (or was built from fields).
    Run(TxEnv),
    /// Decoded, but refused by the chain's rules before it ran.
    Refused(TxError),
}

/// What running one case gave.
struct CaseRun {
    root: B256,
    logs: Vec<Log>,
    /// Why the transaction was refused, if it was.
    invalid: Option<TxError>,
    /// How a valid transaction ended (for messages).
    exit: Option<String>,
}

fn judge(
    case: &PostCase,
    expected_root: B256,
    expected_logs: B256,
    run: CaseRun,
) -> Option<Verdict> {
    match (&case.expect_exception, &run.invalid) {
        (Some(expected), None) => {
            let got = format!("a valid transaction ({})", run.exit.unwrap_or_default());
            return Some(Verdict::new(
                FailureKind::MissingException,
                expected.clone(),
                got,
            ));
        }
        (None, Some(error)) => {
            return Some(Verdict::new(
                FailureKind::UnexpectedException,
                "a valid transaction",
                error.to_string(),
            ));
        }
        (Some(expected), Some(error)) if !exceptions::satisfies(expected, error) => {
            let names = exceptions::fixture_names(error);
            let got = if names.is_empty() {
                format!("{error} (no fixture name)")
            } else {
                format!("{error} ({})", names.join(" | "))
            };
            return Some(Verdict::new(
                FailureKind::WrongException,
                expected.clone(),
                got,
            ));
        }
        _ => {}
    }
    let logs = roots::logs_hash(&run.logs);
    if logs != expected_logs {
        return Some(Verdict::new(
            FailureKind::LogsMismatch,
            expected_logs.to_string(),
            logs.to_string(),
        ));
    }
    if run.root != expected_root {
        return Some(Verdict::new(
            FailureKind::RootMismatch,
            expected_root.to_string(),
            run.root.to_string(),
        ));
    }
    None
}

/// A fresh state holding the unit's `pre`.
fn pre_state(prepared: &Prepared) -> Result<StateDb, String> {
    let mut db = StateDb::open(Arc::new(MemoryBackend::new()))
        .map_err(|e| format!("opening the state: {e}"))?;
    db.commit_block(prepared.genesis.clone(), |_| vec![])
        .map_err(|e| format!("committing the pre-state: {e}"))?;
    Ok(db)
}

/// The root of the unit's `pre` alone.
fn pre_state_root(prepared: &Prepared) -> Result<B256, String> {
    roots::state_root(&pre_state(prepared)?)
}

/// Runs `tx` on a fresh state holding the unit's `pre`, as the chain runs
/// an Ethereum transaction: one root invocation of the EVM engine through
/// the kernel, committed when valid.
fn execute(engine: &Arc<EvmEngine>, prepared: &Prepared, tx: TxEnv) -> Result<CaseRun, String> {
    let mut db = pre_state(prepared)?;
    let mut engines = Engines::new();
    engines.register(engine.clone());
    let mut block = BlockState::new(&db, prepared.env.clone());
    let (invalid, logs, exit) = {
        let mut kernel = Kernel::new(&mut block, &engines, &DecimalKeccakHashes, u64::MAX);
        match engine.invoke_transaction(&mut kernel, tx) {
            Ok((_, outcome)) => {
                kernel.commit();
                (
                    None,
                    outcome.logs,
                    Some(format!("{:?}, {} gas", outcome.exit, outcome.gas_used)),
                )
            }
            Err(
                error @ CoreError::Engine {
                    kind: EngineFailure::InvalidTransaction,
                    ..
                },
            ) => match EvmError::from_core(&error) {
                Some(evm) => (Some(TxError::Evm(evm.clone())), Vec::new(), None),
                None => return Err(error.to_string()),
            },
            Err(error) => return Err(error.to_string()),
        }
    };
    let changes = block.into_changes();
    db.commit_block(changes, |_| vec![])
        .map_err(|e| format!("committing the block: {e}"))?;
    let root = roots::state_root(&db)?;
    Ok(CaseRun {
        root,
        logs,
        invalid,
        exit,
    })
}

/// The parts of a unit shared by its cases: genesis writes, block, sender.
struct Prepared {
    genesis: Vec<(braid_core::StateKey, Option<Vec<u8>>)>,
    env: BlockEnv,
    /// `transaction.sender`, or the address of `transaction.secretKey`.
    sender: Option<Address>,
    chain_id: u64,
}

impl Prepared {
    fn new(unit: &TestUnit) -> Result<Self, String> {
        let mut genesis = Vec::new();
        for (addr, account) in &unit.pre {
            let address = address("pre", addr)?;
            let mut storage = Vec::with_capacity(account.storage.len());
            for (slot, value) in &account.storage {
                storage.push((
                    u256("pre.storage key", slot)?,
                    u256("pre.storage value", value)?,
                ));
            }
            let account = GenesisAccount {
                nonce: u64_of("pre.nonce", &account.nonce)?,
                balance: u256("pre.balance", &account.balance)?,
                code: bytes("pre.code", &account.code)?.to_vec(),
                storage,
            };
            genesis.extend(layout::genesis_writes(address, &account));
        }
        let env = &unit.env;
        let chain_id = match &env.current_chain_id {
            Some(id) => u64_of("env.currentChainId", id)?,
            None => 1,
        };
        let block = BlockEnv {
            chain_id,
            number: u64_of("env.currentNumber", &env.current_number)?,
            timestamp: u64_of("env.currentTimestamp", &env.current_timestamp)?,
            coinbase: layout::identity(address("env.currentCoinbase", &env.current_coinbase)?),
            gas_limit: u64_saturating("env.currentGasLimit", &env.current_gas_limit)?,
            base_fee: match &env.current_base_fee {
                Some(fee) => u64_saturating("env.currentBaseFee", fee)?,
                None => 0,
            },
            prevrandao: match &env.current_random {
                Some(r) => b256("env.currentRandom", r)?.0,
                None => [0; 32],
            },
            difficulty: match &env.current_difficulty {
                Some(d) => u256("env.currentDifficulty", d)?.to_be_bytes::<32>(),
                None => [0; 32],
            },
            excess_blob_gas: match &env.current_excess_blob_gas {
                Some(e) => Some(u64_of("env.currentExcessBlobGas", e)?),
                None => None,
            },
        };
        let tx = &unit.transaction;
        let sender = match (&tx.sender, &tx.secret_key) {
            (Some(sender), _) => Some(address("transaction.sender", sender)?),
            (None, Some(key)) => Some(sender_of_secret_key(&b256("transaction.secretKey", key)?)?),
            (None, None) => None,
        };
        Ok(Prepared {
            genesis,
            env: block,
            sender,
            chain_id,
        })
    }

    /// The case's `txbytes` through the chain's Ethereum transaction path:
    /// [`EthereumTransaction::decode`] (type, RLP, signature) then
    /// [`EthereumTransaction::validate`] under `rules`.
    ///
    /// # Errors
    /// Why no transaction could be built: not hex, bytes that do not decode
    /// ([`TxError::Decode`]), or a signer other than the fixture's sender.
    /// A decoded transaction the rules refuse is [`Built::Refused`].
    fn decode(&self, txbytes: &str, rules: &EthereumRules) -> Result<Built, String> {
        let bytes = bytes("txbytes", txbytes)?;
        let tx = match EthereumTransaction::decode(&bytes) {
            Ok(tx) => tx,
            Err(error @ TxError::Decode { .. }) => return Err(error.to_string()),
            Err(error) => return Ok(Built::Refused(error)),
        };
        if let Some(sender) = self.sender
            && sender != tx.sender
        {
            return Err(format!(
                "txbytes are signed by {}, the fixture's sender is {sender}",
                tx.sender
            ));
        }
        Ok(match tx.validate(rules) {
            Ok(()) => Built::Run(tx.tx_env()),
            Err(error) => Built::Refused(error),
        })
    }

    /// The case's transaction built from the template with `indexes`
    /// applied (for a case without `txbytes`).
    fn tx(&self, unit: &TestUnit, case: &PostCase) -> Result<TxEnv, String> {
        let t = &unit.transaction;
        let pick = |field: &str, list: &[String], i: usize| -> Result<String, String> {
            list.get(i).cloned().ok_or_else(|| {
                format!(
                    "transaction.{field} has no index {i} ({} entries)",
                    list.len()
                )
            })
        };
        let access_list = match &t.access_lists {
            Some(lists) => match lists.get(case.indexes.data) {
                Some(Some(items)) => Some(access_list(items)?),
                _ => None,
            },
            None => None,
        };
        let authorizations = match &t.authorization_list {
            Some(list) => Some(
                list.iter()
                    .map(authorization)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let tx_type = match &t.tx_type {
            Some(ty) => u64_of("transaction.type", ty)? as u8,
            None if t.max_fee_per_blob_gas.is_some() => TransactionType::Eip4844 as u8,
            None if authorizations.is_some() => TransactionType::Eip7702 as u8,
            None if t.max_fee_per_gas.is_some() => TransactionType::Eip1559 as u8,
            None if access_list.is_some() => TransactionType::Eip2930 as u8,
            None => TransactionType::Legacy as u8,
        };
        let gas_price = match (&t.gas_price, &t.max_fee_per_gas) {
            (Some(p), _) => u128_saturating("transaction.gasPrice", p)?,
            (None, Some(p)) => u128_saturating("transaction.maxFeePerGas", p)?,
            (None, None) => 0,
        };
        let kind = match t.to.as_deref().map(str::trim) {
            None | Some("") => TxKind::Create,
            Some(to) => TxKind::Call(address("transaction.to", to)?),
        };
        let caller = self
            .sender
            .ok_or("transaction has neither `sender` nor `secretKey`")?;
        Ok(TxEnv {
            tx_type,
            caller,
            gas_limit: u64_saturating(
                "transaction.gasLimit",
                &pick("gasLimit", &t.gas_limit, case.indexes.gas)?,
            )?,
            gas_price,
            kind,
            value: u256(
                "transaction.value",
                &pick("value", &t.value, case.indexes.value)?,
            )?,
            data: bytes(
                "transaction.data",
                &pick("data", &t.data, case.indexes.data)?,
            )?,
            nonce: u64_of("transaction.nonce", &t.nonce)?,
            chain_id: Some(self.chain_id),
            access_list: access_list.unwrap_or_default(),
            gas_priority_fee: match &t.max_priority_fee_per_gas {
                Some(p) => Some(u128_saturating("transaction.maxPriorityFeePerGas", p)?),
                None => None,
            },
            blob_hashes: match &t.blob_versioned_hashes {
                Some(hashes) => hashes
                    .iter()
                    .map(|h| b256("transaction.blobVersionedHashes", h))
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
            max_fee_per_blob_gas: match &t.max_fee_per_blob_gas {
                Some(f) => u128_saturating("transaction.maxFeePerBlobGas", f)?,
                None => 0,
            },
            authorization_list: authorizations
                .unwrap_or_default()
                .into_iter()
                .map(Either::Left)
                .collect(),
        })
    }
}

fn access_list(items: &[model::AccessListItem]) -> Result<AccessList, String> {
    let mut list = Vec::with_capacity(items.len());
    for item in items {
        list.push(AccessListItem {
            address: address("accessLists.address", &item.address)?,
            storage_keys: item
                .storage_keys
                .iter()
                .map(|k| b256("accessLists.storageKeys", k))
                .collect::<Result<_, _>>()?,
        });
    }
    Ok(AccessList(list))
}

fn authorization(auth: &model::Authorization) -> Result<SignedAuthorization, String> {
    let inner = Authorization {
        chain_id: u256("authorizationList.chainId", &auth.chain_id)?,
        address: address("authorizationList.address", &auth.address)?,
        nonce: u64_saturating("authorizationList.nonce", &auth.nonce)?,
    };
    let parity = match (&auth.y_parity, &auth.v) {
        (Some(y), _) => u256("authorizationList.yParity", y)?,
        (None, Some(v)) => u256("authorizationList.v", v)?,
        (None, None) => return Err("authorization has neither `yParity` nor `v`".to_string()),
    };
    // A parity that does not fit a byte can never verify; keep it invalid.
    let parity = u8::try_from(parity).unwrap_or(u8::MAX);
    Ok(SignedAuthorization::new_unchecked(
        inner,
        parity,
        u256("authorizationList.r", &auth.r)?,
        u256("authorizationList.s", &auth.s)?,
    ))
}

/// The address of a secp256k1 secret key: the last 20 bytes of keccak-256 of
/// the uncompressed public key without its `0x04` prefix.
fn sender_of_secret_key(key: &B256) -> Result<Address, String> {
    let signing = k256::ecdsa::SigningKey::from_slice(key.as_slice())
        .map_err(|e| format!("transaction.secretKey is not a secp256k1 key: {e}"))?;
    let point = signing.verifying_key().to_encoded_point(false);
    Ok(Address::from_slice(
        &keccak256(&point.as_bytes()[1..])[12..],
    ))
}

/// The revm spec id of a state-test fork name.
fn fork_spec(name: &str) -> Option<SpecId> {
    Some(match name {
        "Frontier" => SpecId::FRONTIER,
        "Homestead" => SpecId::HOMESTEAD,
        "EIP150" | "Tangerine" | "TangerineWhistle" => SpecId::TANGERINE,
        "EIP158" | "SpuriousDragon" => SpecId::SPURIOUS_DRAGON,
        "Byzantium" => SpecId::BYZANTIUM,
        "Constantinople" | "ConstantinopleFix" | "Petersburg" => SpecId::PETERSBURG,
        "Istanbul" => SpecId::ISTANBUL,
        "Berlin" => SpecId::BERLIN,
        "London" => SpecId::LONDON,
        "Paris" | "Merge" => SpecId::MERGE,
        "Shanghai" => SpecId::SHANGHAI,
        "Cancun" => SpecId::CANCUN,
        "Prague" => SpecId::PRAGUE,
        "Osaka" => SpecId::OSAKA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blockhash_is_keccak_of_decimal() {
        assert_eq!(
            DecimalKeccakHashes.block_hash(12).unwrap(),
            Some(keccak256(b"12").0)
        );
    }

    #[test]
    fn malformed_file_is_one_failure_and_the_run_goes_on() {
        let dir = std::env::temp_dir().join(format!("braid-statetest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{ not json").unwrap();
        let mut seen = 0;
        let summary = run_paths(std::slice::from_ref(&dir), &mut |_| seen += 1);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((summary.passed, summary.failed, seen), (0, 1, 1));
        assert_eq!(summary.failures[0].kind, FailureKind::MalformedFile);
        assert_eq!(summary.failures[0].file, bad);
        assert!(
            summary.failures[0].got.contains("not a state test"),
            "{}",
            summary.failures[0].got
        );
    }

    #[test]
    fn empty_state_has_the_empty_trie_root() {
        let db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        assert_eq!(roots::state_root(&db).unwrap(), alloy_trie::EMPTY_ROOT_HASH);
        assert_eq!(roots::logs_hash(&[]), keccak256([0xc0]));
    }
}
