//! The crash campaign: a process applying blocks to a RocksDB store is killed
//! with SIGKILL at chosen points inside a block's commit, and the store it
//! leaves must reopen at the previous or the new block, never in between,
//! with every value and proof intact.
//!
//! The test re-runs its own binary as a child (`crash_child`) that applies
//! blocks 1 to 4 (a small one, two large ones of tens of thousands of keys,
//! a small one) to a fresh store. The child reports every step of every
//! commit on its stderr the moment it happens: the `step` events that
//! `StateDb::commit_block` and `RocksDbBackend` emit, seen by a tracing layer
//! installed in the child:
//!
//! - `staged`: the block's batch (values, tree pages, header) is built and
//!   not yet handed to RocksDB;
//! - `writing`: RocksDB's synced write of the batch begins;
//! - `written`: that write returned, and the process has not yet moved its
//!   in-memory root;
//! - `applied`: the commit is over.
//!
//! and `compacting` / `compacted` around a forced compaction
//! (`RocksDbBackend::compact`). The parent kills the child:
//!
//! - at `staged` or `written` of the target block, where the child's layer
//!   pauses after reporting, so the kill lands there by construction;
//! - a random 0..D after `writing` of the target block, D being 90% of the
//!   25th-percentile duration of that block's writes so far (as the children
//!   timed them: an unkilled calibration run, then every trial), the delay
//!   skewed toward the start (uniform squared),
//!   so the kill lands inside RocksDB's write: the log append, its fsync or
//!   the memtable insert;
//! - a random moment inside a compaction forced after block 2.
//!
//! Where a kill landed is the last step the child reported: after the child
//! died the parent reads its stderr pipe to the end, so a step reported just
//! before the kill is never missed (the step the parent had read when it
//! sent SIGKILL is recorded too, and the report counts how often the child
//! had got further). Kills are counted by that phase.
//!
//! After each kill the parent reopens the store and checks that the head
//! lies between the last block whose synced write had returned (else a block
//! was lost) and the last block whose write had begun (else a block appeared
//! from nowhere): so the block before the target, or the target. Then that
//! the root, every header and the full contents of every engine equal the
//! reference for that head (computed in memory, without kills), never a mix
//! (a torn block); that every value's inclusion proof, and the exclusion
//! proof of every key the next block adds, verify against the stored root
//! (`verify_proof`); and that applying the remaining blocks gives the
//! reference roots. Torn blocks, lost blocks and proof failures are counted,
//! and must be 0.
//!
//! CI runs `cargo test --release -p braid-state --test crash` (36 trials, of
//! which at least 10 must land inside the RocksDB write and one inside the
//! compaction; about a minute on 2 cores). The long run of
//! `docs/crash.md`:
//! `BRAID_CRASH_TRIALS=1000 cargo test --release -p braid-state --test crash -- --nocapture`
//! (`BRAID_CRASH_KEYS` sets the size of the large blocks, `BRAID_CRASH_SEED`
//! the kill delays).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use braid_state::{
    Backend, EngineId, Hash, Identity, MemoryBackend, RocksDbBackend, StateDb, StateKey,
    verify_proof,
};

const CHILD_DIR: &str = "BRAID_CRASH_CHILD_DB";
const CHILD_PLAN: &str = "BRAID_CRASH_CHILD_PLAN";
const CHILD_KEYS: &str = "BRAID_CRASH_CHILD_KEYS";
/// Blocks the child applies; blocks 2 and 3 are the large ones kills target.
const BLOCKS: u64 = 4;
/// Keys of each large block unless `BRAID_CRASH_KEYS` says otherwise.
const DEFAULT_KEYS: u32 = 30_000;
/// Trials unless `BRAID_CRASH_TRIALS` says otherwise (CI's campaign).
const DEFAULT_TRIALS: usize = 36;
/// CI's floor on kills inside the RocksDB write.
const MIN_INSIDE_WRITE: usize = 10;

type Change = (StateKey, Option<Vec<u8>>);

fn key(engine: EngineId, identity: u32, engine_key: &[u8]) -> StateKey {
    let mut id = [engine.0; 20];
    id[..4].copy_from_slice(&identity.to_be_bytes());
    StateKey::new(engine, Identity(id), engine_key.to_vec())
}

fn value(block: u64, i: u32, len: usize) -> Vec<u8> {
    let seed = (block << 32 | u64::from(i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|j| (seed >> ((j % 8) * 8)) as u8 ^ j as u8)
        .collect()
}

/// Block `n`'s changes. Block 1: 2,000 EVM slots. Block 2: `keys` new PVM
/// keys over 1,000 instances. Block 3: overwrites half of block 2's keys,
/// deletes a quarter of them and a tenth of block 1's, adds `keys / 4` WASM
/// keys. Block 4: 1,000 new keys, 500 deletions.
fn block(n: u64, keys: u32) -> Vec<Change> {
    let evm = |i: u32| key(EngineId::EVM, 1, &[&[1][..], &i.to_be_bytes()].concat());
    let pvm = |i: u32| {
        key(
            EngineId::PVM,
            i % 1_000,
            &[&[1][..], &i.to_be_bytes()].concat(),
        )
    };
    let wasm = |i: u32| {
        key(
            EngineId::WASM,
            i % 300,
            &[&[1][..], &i.to_be_bytes()].concat(),
        )
    };
    match n {
        1 => (0..2_000)
            .map(|i| (evm(i), Some(value(1, i, 32))))
            .collect(),
        2 => (0..keys).map(|i| (pvm(i), Some(value(2, i, 48)))).collect(),
        3 => {
            let mut changes: Vec<Change> = (0..keys)
                .filter_map(|i| match i % 4 {
                    0 | 2 => Some((pvm(i), Some(value(3, i, 40)))),
                    1 => Some((pvm(i), None)),
                    _ => None,
                })
                .collect();
            changes.extend((0..200).map(|i| (evm(i * 10), None)));
            changes.extend((0..keys / 4).map(|i| (wasm(i), Some(value(3, i, 64)))));
            changes
        }
        4 => {
            let mut changes: Vec<Change> = (0..1_000)
                .map(|i| (wasm(keys + i), Some(value(4, i, 24))))
                .collect();
            changes.extend((0..500).map(|i| (pvm(i * 4 + 2), None)));
            changes
        }
        _ => unreachable!("the campaign has {BLOCKS} blocks"),
    }
}

/// The metadata each block writes in its batch: `head` = number ‖ root and
/// `header/<number>` = root, as a chain writes its header with the block.
fn meta(n: u64) -> impl FnOnce(&Hash) -> Vec<(Vec<u8>, Vec<u8>)> {
    move |root| {
        let head = [&n.to_be_bytes()[..], root].concat();
        vec![(b"head".to_vec(), head), (header_key(n), root.to_vec())]
    }
}

fn header_key(n: u64) -> Vec<u8> {
    [&b"header/"[..], &n.to_be_bytes()].concat()
}

/// What every height must hold: the root and the full contents.
struct Reference {
    keys: u32,
    blocks: Vec<Vec<Change>>,
    /// `roots[h]`: the root after block `h` (`roots[0]` the empty state).
    roots: Vec<Hash>,
    /// `contents[h]`: every encoded key and its value after block `h`.
    contents: Vec<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl Reference {
    /// Applies the blocks in memory, without kills.
    fn new(keys: u32) -> Reference {
        let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        let mut roots = vec![db.root()];
        let mut contents = vec![BTreeMap::new()];
        let blocks: Vec<Vec<Change>> = (1..=BLOCKS).map(|n| block(n, keys)).collect();
        for (n, changes) in (1..).zip(&blocks) {
            roots.push(db.commit_block(changes.clone(), meta(n)).unwrap().root);
            let mut state = contents.last().cloned().unwrap_or_default();
            for (key, value) in changes {
                match value {
                    Some(v) => state.insert(key.encode(), v.clone()),
                    None => state.remove(&key.encode()),
                };
            }
            contents.push(state);
        }
        Reference {
            keys,
            blocks,
            roots,
            contents,
        }
    }
}

// ---------------------------------------------------------------- the child

/// What the child is told to do, as `BRAID_CRASH_CHILD_PLAN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Apply every block, no pause (calibration, and the timed kills).
    Run,
    /// Pause forever after reporting `step` of block `block`.
    Pause { block: u64, step: &'static str },
    /// Force a compaction after block 2.
    Compact,
}

impl Plan {
    fn encode(self) -> String {
        match self {
            Plan::Run => "run".into(),
            Plan::Pause { block, step } => format!("pause {block} {step}"),
            Plan::Compact => "compact".into(),
        }
    }

    fn decode(text: &str) -> Plan {
        let words: Vec<&str> = text.split(' ').collect();
        match words[..] {
            ["run"] => Plan::Run,
            ["compact"] => Plan::Compact,
            ["pause", block, step] => Plan::Pause {
                block: block.parse().unwrap(),
                step: STEPS.iter().find(|s| **s == step).expect("a known step"),
            },
            _ => panic!("bad plan {text:?}"),
        }
    }
}

const STEPS: [&str; 6] = [
    "staged",
    "writing",
    "written",
    "applied",
    "compacting",
    "compacted",
];

/// The block the child is committing (read by the reporting layer).
static CURRENT_BLOCK: AtomicU64 = AtomicU64::new(0);
/// The child's start, for the time of each step.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// The child's hook: reports each `step` event as `step <block> <name>
/// <microseconds since the child started>` on stderr, in one write, as it
/// happens; pauses after the planned one (for two minutes at most, should
/// the parent be gone).
struct Reporter {
    plan: Plan,
}

struct StepField(Option<&'static str>);

impl tracing::field::Visit for StepField {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "step" {
            self.0 = STEPS.iter().copied().find(|s| *s == value);
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Reporter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut step = StepField(None);
        event.record(&mut step);
        let Some(step) = step.0 else { return };
        let block = CURRENT_BLOCK.load(Ordering::SeqCst);
        let micros = STARTED.get_or_init(Instant::now).elapsed().as_micros();
        let line = format!("step {block} {step} {micros}\n");
        std::io::stderr().write_all(line.as_bytes()).unwrap();
        if self.plan == (Plan::Pause { block, step }) {
            std::thread::sleep(Duration::from_secs(120));
            std::process::abort();
        }
    }
}

/// The child: applies blocks 1..=4 to the store in `BRAID_CRASH_CHILD_DB`
/// under the plan, reporting its steps; killed by the parent.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    use tracing_subscriber::layer::SubscriberExt;
    let plan = Plan::decode(&std::env::var(CHILD_PLAN).unwrap());
    let keys: u32 = std::env::var(CHILD_KEYS).unwrap().parse().unwrap();
    STARTED.get_or_init(Instant::now);
    let subscriber = tracing_subscriber::registry().with(Reporter { plan });
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let backend = Arc::new(RocksDbBackend::open(&dir).unwrap());
    let mut db = StateDb::open(backend.clone()).unwrap();
    for n in 1..=BLOCKS {
        let changes = block(n, keys);
        CURRENT_BLOCK.store(n, Ordering::SeqCst);
        db.commit_block(changes, meta(n)).unwrap();
        if n == 2 && plan == Plan::Compact {
            backend.compact().unwrap();
        }
    }
    std::io::stderr().write_all(b"done\n").unwrap();
}

// --------------------------------------------------------------- the parent

/// One trial's kill.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// At the child's pause after `step` of `block`.
    AtPause { block: u64, step: &'static str },
    /// `delay` after `writing` of `block`.
    InWrite { block: u64, delay: Duration },
    /// `delay` after the compaction after block 2 began.
    InCompaction { delay: Duration },
}

/// A step the child reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    block: u64,
    name: &'static str,
}

/// A step line: the step and when the child reported it (µs since it started).
fn parse_step(line: &str) -> Option<(Step, u64)> {
    let mut words = line.strip_prefix("step ")?.split(' ');
    let block = words.next()?.parse().ok()?;
    let name = words.next()?;
    let name = STEPS.iter().copied().find(|s| *s == name)?;
    let micros = words.next()?.parse().ok()?;
    Some((Step { block, name }, micros))
}

fn spawn_child(dir: &std::path::Path, plan: Plan, keys: u32) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_PLAN, plan.encode())
        .env(CHILD_KEYS, keys.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What a killed child reported: every step, and its other output.
struct Killed {
    steps: Vec<Step>,
    /// When the child reported each step, µs since it started.
    times: Vec<u64>,
    /// The last step the parent had read when it sent SIGKILL.
    seen_at_kill: Option<Step>,
    other: Vec<String>,
}

impl Killed {
    fn last(&self) -> Option<Step> {
        self.steps.last().copied()
    }

    /// Each span from a `from` step to the `to` step right after it, by
    /// the block it was in, as the child timed it.
    fn spans<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
    ) -> impl Iterator<Item = (u64, Duration)> + 'a {
        self.steps
            .windows(2)
            .zip(self.times.windows(2))
            .filter_map(move |(steps, times)| match (steps, times) {
                ([begin, end], [began, ended]) if begin.name == from && end.name == to => {
                    Some((begin.block, Duration::from_micros(ended - began)))
                }
                _ => None,
            })
    }
}

/// Runs a child under `plan` and SIGKILLs it as `kill` says (or lets it end,
/// with `None`); returns what it reported, read to the end of the pipe after
/// it died, and whether it exited successfully.
fn run_child(dir: &std::path::Path, keys: u32, plan: Plan, kill: Option<Kill>) -> (Killed, bool) {
    let mut child = spawn_child(dir, plan, keys);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut killed = Killed {
        steps: Vec::new(),
        times: Vec::new(),
        seen_at_kill: None,
        other: Vec::new(),
    };
    let mut sent = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let Some((step, micros)) = parse_step(&line) else {
            killed.other.push(line);
            continue;
        };
        killed.steps.push(step);
        killed.times.push(micros);
        let Some(kill) = kill else { continue };
        let delay = match kill {
            Kill::AtPause { block, step: at } if step == (Step { block, name: at }) => {
                Duration::ZERO
            }
            Kill::InWrite { block, delay }
                if step
                    == (Step {
                        block,
                        name: "writing",
                    }) =>
            {
                delay
            }
            Kill::InCompaction { delay } if step.name == "compacting" => delay,
            _ => continue,
        };
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL: no destructor, no flush.
        killed.seen_at_kill = Some(step);
        sent = true;
        break;
    }
    let status = child.wait().unwrap();
    // Everything the child wrote before it died is still in the pipe.
    for line in lines {
        let line = line.unwrap();
        match parse_step(&line) {
            Some((step, micros)) => {
                killed.steps.push(step);
                killed.times.push(micros);
            }
            None => killed.other.push(line),
        }
    }
    assert!(
        sent || kill.is_none(),
        "the child ended before the kill point {kill:?}; it said:\n{}",
        killed.other.join("\n")
    );
    (killed, status.success())
}

/// Where kills landed, and what was found after each.
#[derive(Default, Debug)]
struct Tally {
    /// Kills by the last step the child reported.
    by_phase: BTreeMap<&'static str, usize>,
    /// Kills after which the child turned out to have reported a step the
    /// parent had not read yet when it sent SIGKILL.
    overtaken: usize,
    /// Kills inside the RocksDB write that reopened at the previous block.
    write_rolled_back: usize,
    /// Kills inside the RocksDB write that reopened at the new block.
    write_kept: usize,
    /// A store that reopened at neither block, or with contents, headers or
    /// roots that do not belong to its head.
    torn: usize,
    /// A block whose synced write had returned, missing after reopen.
    lost: usize,
    /// Proofs that did not verify against the stored root.
    proof_failures: usize,
    /// Reopened stores whose remaining blocks did not give the reference roots.
    wrong_roots_after_recovery: usize,
    problems: Vec<String>,
}

impl Tally {
    fn problem(&mut self, trial: usize, what: String) {
        self.problems.push(format!("trial {trial}: {what}"));
    }
}

/// Which phase a kill landed in, named by the last step reported.
fn phase_of(last: Option<Step>, target: u64) -> &'static str {
    match last {
        Some(Step {
            block,
            name: "staged",
        }) if block == target => "before the write (staged)",
        Some(Step {
            block,
            name: "writing",
        }) if block == target => "inside the RocksDB write",
        Some(Step {
            block,
            name: "written",
        }) if block == target => "after the write, before the head moved",
        Some(Step {
            block,
            name: "applied",
        }) if block == target => "after the commit",
        Some(Step { block, .. }) if block > target => "after the commit",
        Some(Step {
            name: "compacting", ..
        }) => "inside a compaction",
        _ => "elsewhere",
    }
}

/// Reopens the killed store, checks it, and applies the remaining blocks.
/// Returns the head it reopened at.
fn check_reopened(
    dir: &std::path::Path,
    reference: &Reference,
    trial: usize,
    tally: &mut Tally,
) -> Option<u64> {
    let backend: Arc<dyn Backend> = Arc::new(RocksDbBackend::open(dir).unwrap());
    let mut db = StateDb::open(backend.clone()).unwrap();
    let head = db.meta(b"head").unwrap();
    let (number, head_root) = match head.as_deref() {
        None => (0, reference.roots[0]),
        Some(bytes) if bytes.len() == 40 => (
            u64::from_be_bytes(bytes[..8].try_into().unwrap()),
            bytes[8..].try_into().unwrap(),
        ),
        Some(bytes) => {
            tally.torn += 1;
            tally.problem(trial, format!("head record of {} bytes", bytes.len()));
            return None;
        }
    };
    let h = number as usize;
    if h > BLOCKS as usize || db.root() != reference.roots[h] || head_root != db.root() {
        tally.torn += 1;
        tally.problem(
            trial,
            format!("head {number}: stored root is not that block's root"),
        );
        return None;
    }
    // Headers: one per committed block, none beyond the head.
    for n in 1..=BLOCKS {
        let stored = db.meta(&header_key(n)).unwrap();
        let expected = (n <= number).then(|| reference.roots[n as usize].to_vec());
        if stored != expected {
            tally.torn += 1;
            tally.problem(trial, format!("head {number}: header {n} is {stored:?}"));
            return None;
        }
    }
    // Contents: every engine's keys, exactly the reference's.
    let mut stored = BTreeMap::new();
    for engine in [EngineId::EVM, EngineId::PVM, EngineId::WASM] {
        for (key, value) in db.scan_engine(engine).unwrap() {
            stored.insert(key.encode(), value);
        }
    }
    if stored != reference.contents[h] {
        tally.torn += 1;
        tally.problem(
            trial,
            format!(
                "head {number}: {} keys stored, {} expected, or values differ",
                stored.len(),
                reference.contents[h].len()
            ),
        );
        return None;
    }
    // Proofs: inclusion of every value, and exclusion of every key the
    // next block adds, against the stored root.
    let mut claims: Vec<(&[u8], Option<&[u8]>)> = reference.contents[h]
        .iter()
        .map(|(k, v)| (k.as_slice(), Some(v.as_slice())))
        .collect();
    let next: Vec<Vec<u8>> = match reference.blocks.get(h) {
        Some(block) => block
            .iter()
            .map(|(k, _)| k.encode())
            .filter(|k| !reference.contents[h].contains_key(k))
            .collect(),
        None => Vec::new(),
    };
    claims.extend(next.iter().map(|k| (k.as_slice(), None)));
    tally.proof_failures += verify_all(&backend, db.root(), &claims);
    // Recovery: the remaining blocks give the reference roots.
    for n in number + 1..=BLOCKS {
        let commit = db
            .commit_block(reference.blocks[n as usize - 1].clone(), meta(n))
            .unwrap();
        if commit.root != reference.roots[n as usize] {
            tally.wrong_roots_after_recovery += 1;
            tally.problem(trial, format!("block {n} applied after reopen: wrong root"));
            return Some(number);
        }
    }
    Some(number)
}

/// Proves every claim `(encoded key, value or absent)` from the store and
/// verifies it against `root`, on every core (each thread its own view of
/// the store); returns how many failed.
fn verify_all(backend: &Arc<dyn Backend>, root: Hash, claims: &[(&[u8], Option<&[u8]>)]) -> usize {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let workers: Vec<_> = claims
            .chunks(claims.len().div_ceil(threads).max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    let view = StateDb::open(backend.clone()).unwrap();
                    chunk
                        .iter()
                        .filter(|(key, value)| {
                            let proof = view.prove(&StateKey::decode(key).unwrap()).unwrap();
                            verify_proof(&root, key, *value, &proof).is_err()
                        })
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
}

/// splitmix64: the kill delays, reproducible from the seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// An unkilled child: its store must hold the reference roots. Returns how
/// long each block's RocksDB write and the compaction took, as the child
/// timed them (`writing` to `written`, `compacting` to `compacted`).
fn calibrate(reference: &Reference) -> (Windows, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (run, success) = run_child(dir.path(), reference.keys, Plan::Compact, None);
    assert!(
        success && run.other.iter().any(|l| l == "done"),
        "the unkilled child failed: {}",
        run.other.join("\n")
    );
    let db = StateDb::open(Arc::new(RocksDbBackend::open(dir.path()).unwrap())).unwrap();
    assert_eq!(db.root(), reference.roots[BLOCKS as usize]);
    let mut windows = Windows::default();
    windows.record(&run);
    assert!(
        (1..=BLOCKS).all(|n| windows.seen.contains_key(&n)),
        "a block's write went unreported: {:?}",
        run.steps
    );
    let compaction = run.spans("compacting", "compacted").next().unwrap().1;
    (windows, compaction)
}

/// Every RocksDB write the children timed, by block.
#[derive(Default)]
struct Windows {
    seen: BTreeMap<u64, Vec<Duration>>,
}

impl Windows {
    fn record(&mut self, run: &Killed) {
        for (block, took) in run.spans("writing", "written") {
            self.seen.entry(block).or_default().push(took);
        }
    }

    /// The window a kill in block `block`'s write is aimed at: its 25th
    /// percentile duration, so that most writes last longer than the
    /// window however the fsync time varies.
    fn window(&mut self, block: u64) -> Duration {
        let seen = self.seen.get_mut(&block).expect("calibrated");
        seen.sort();
        seen[seen.len() / 4]
    }

    fn describe(&mut self) -> String {
        (1..=BLOCKS)
            .map(|n| format!("block {n}: {:.1?}", self.window(n)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[test]
fn kills_inside_the_commit_reopen_at_a_committed_block() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let trials: usize = env_or("BRAID_CRASH_TRIALS", DEFAULT_TRIALS);
    let keys: u32 = env_or("BRAID_CRASH_KEYS", DEFAULT_KEYS);
    let mut seed: u64 = env_or("BRAID_CRASH_SEED", 0x00c0_ffee);
    let started = Instant::now();
    let reference = Reference::new(keys);
    let (mut windows, compaction) = calibrate(&reference);
    println!(
        "crash campaign: {trials} trials, large blocks of {keys} keys; RocksDB writes take \
         {}; a compaction {compaction:.1?}",
        windows.describe()
    );
    let mut tally = Tally::default();
    for trial in 0..trials {
        // Every 25th trial (CI's 13th) kills inside a compaction. The others
        // cycle in sixes: in the write, paused before it, in the write, in
        // the write, paused after it, in the write; on block 2, then on
        // block 3 for the next six.
        let target = 2 + (trial / 6 % 2) as u64;
        // Uniform squared: skewed toward the write's start, where RocksDB
        // appends the batch to its log, so both outcomes of a kill inside
        // the write (the batch lost whole, the batch recovered whole) occur.
        let random = |seed: &mut u64, window: Duration| {
            let u = (splitmix(seed) >> 11) as f64 / (1u64 << 53) as f64;
            window.mul_f64(0.9 * u * u)
        };
        let pause = |step| {
            let plan = Plan::Pause {
                block: target,
                step,
            };
            let kill = Kill::AtPause {
                block: target,
                step,
            };
            (plan, kill, target)
        };
        let (plan, kill, target) = if trial % 25 == 12 {
            let delay = random(&mut seed, compaction);
            (Plan::Compact, Kill::InCompaction { delay }, 2)
        } else {
            match trial % 6 {
                1 => pause("staged"),
                4 => pause("written"),
                _ => {
                    let delay = random(&mut seed, windows.window(target));
                    let kill = Kill::InWrite {
                        block: target,
                        delay,
                    };
                    (Plan::Run, kill, target)
                }
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let (killed, _) = run_child(dir.path(), keys, plan, Some(kill));
        windows.record(&killed);
        let phase = phase_of(killed.last(), target);
        *tally.by_phase.entry(phase).or_default() += 1;
        if killed.seen_at_kill != killed.last() {
            tally.overtaken += 1;
        }
        if let Kill::AtPause { step, .. } = kill {
            assert_eq!(
                killed.last().map(|s| s.name),
                Some(step),
                "trial {trial}: the child did not pause where planned"
            );
        }
        let Some(head) = check_reopened(dir.path(), &reference, trial, &mut tally) else {
            continue;
        };
        // The head lies between the last block whose synced write returned
        // (durable) and the last block whose write began (it may have
        // reached the log): never a block that never began, never losing
        // one that returned.
        let reported = |name: &str| {
            killed
                .steps
                .iter()
                .filter(|s| s.name == name)
                .map(|s| s.block)
                .max()
                .unwrap_or(0)
        };
        let (durable, began) = (reported("written"), reported("writing"));
        if head < durable {
            tally.lost += 1;
            tally.problem(
                trial,
                format!("block {durable}'s write returned, the store reopened at {head}"),
            );
        } else if head > began {
            tally.torn += 1;
            tally.problem(
                trial,
                format!("block {head} is stored, its write never began"),
            );
        }
        if phase == "inside the RocksDB write" {
            if head == target {
                tally.write_kept += 1;
            } else {
                tally.write_rolled_back += 1;
            }
        }
    }
    let inside = tally
        .by_phase
        .get("inside the RocksDB write")
        .copied()
        .unwrap_or(0);
    println!(
        "kills by phase: {:?} ({} reported a later step than the parent had read at the kill)\n\
         inside the write: {} reopened at the previous block, {} at the new one\n\
         torn {}, lost {}, proof failures {}, wrong roots after recovery {}\n\
         {} trials in {:.1?}; RocksDB writes (25th percentile) {}",
        tally.by_phase,
        tally.overtaken,
        tally.write_rolled_back,
        tally.write_kept,
        tally.torn,
        tally.lost,
        tally.proof_failures,
        tally.wrong_roots_after_recovery,
        trials,
        started.elapsed(),
        windows.describe()
    );
    for problem in &tally.problems {
        println!("{problem}");
    }
    assert_eq!(tally.torn, 0, "torn blocks: {:?}", tally.problems);
    assert_eq!(tally.lost, 0, "lost blocks: {:?}", tally.problems);
    assert_eq!(tally.proof_failures, 0, "proof failures");
    assert_eq!(tally.wrong_roots_after_recovery, 0, "{:?}", tally.problems);
    if trials >= 30 {
        assert!(
            inside >= MIN_INSIDE_WRITE,
            "only {inside} kills landed inside the RocksDB write: {:?}",
            tally.by_phase
        );
        assert!(
            tally.by_phase.contains_key("inside a compaction"),
            "the compaction kill did not land inside the compaction: {:?}",
            tally.by_phase
        );
    }
}
