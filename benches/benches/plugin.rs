//! The example stack engine through the plugin C ABI against the same engine
//! linked statically, in one process, on the same calls.
//!
//! Contenders, both registered as engine `0x10` in their own `Engines` over
//! their own `StateDb` (memory backend):
//!
//! - `c_abi`: `braid_plugin_loader::load` of the real
//!   `target/release/libbraid_plugin_stack.so`, pinned with its SHA-256 (the
//!   bench panics, saying how to build it, if the library is missing): the
//!   loader's `PluginEngine`, its host vtable and the plugin's `extern "C"`
//!   exports, as a node runs a plugin.
//! - `static`: [`StaticStackEngine`], the same interpreter (the `rlib` of
//!   `braid-plugin-stack`: `validate`, `run`) called through the Rust
//!   [`Engine`] trait, with a [`VmHost`] straight over the kernel's [`Host`].
//!   It does what the loader does around the interpreter (instance record,
//!   code fetched through the host, storage under `0x01 ‖ key`, the same gas
//!   and the same limits), without the C boundary: no vtable, no
//!   `catch_unwind`, no sinks.
//!
//! Workloads (one criterion iteration = one whole `Kernel::call`: a fresh
//! `Kernel` over the sample's `BlockState`, the call, `Kernel::commit` into
//! the block; the block is dropped after each sample, so every sample starts
//! from the deployed state):
//!
//! 1. `small`: [`SMALL`], 21 instructions (2 SLOAD, 2 SSTORE, arithmetic).
//! 2. `loop`: [`LOOP`], 1,000 iterations of SLOAD + SSTORE to 1,000 keys.
//!
//! Before timing, both contenders run each workload twice on a fresh state
//! and the bench asserts identical call results (outcome and gas),
//! transaction effects and block writes.
//!
//! After criterion's report the bench prints a summary: nanoseconds per call
//! (mean of criterion's samples) and the ratio C ABI / static, then an
//! interleaved check (the two contenders alternate in short batches, so a
//! neighbour's load on the shared machine hits both alike) giving medians.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use braid_core::key::{MAX_ENGINE_KEY_LEN, MAX_VALUE_LEN};
use braid_core::{
    BlockEnv, CallResult, CodeRejection, CoreError, Engine, EngineId, Engines, FaultReason, Host,
    Identity, Message, NoBlockHashes, Outcome, StateKey, namespace,
};
use braid_kernel::{BlockState, Kernel, TransactionEffects};
use braid_plugin_stack::{Exit, HostStop, VmHost, assemble};
use braid_state::{MemoryBackend, StateDb};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};

/// The engine id both contenders run under.
const STACK: EngineId = EngineId(0x10);
/// The deployed instance.
const INSTANCE: Identity = Identity([0xA; 20]);
/// The caller of every call.
const SENDER: Identity = Identity([1; 20]);
/// Braid gas budget of each transaction.
const TX_GAS: u64 = 10_000_000;
/// Criterion samples per benchmark.
const SAMPLES: usize = 20;
/// Rounds of the interleaved check.
const ROUNDS: usize = 21;

/// The small call: `x` = input word 0; slot 1 += x; slot 2 := 3·slot 2 + x;
/// returns x + slot 2. 21 instructions, 2 SLOAD and 2 SSTORE, 318 gas.
const SMALL: &str = "
    PUSH 0 INPUT                ; x
    PUSH 1 SLOAD                ; x a
    DUP 1 ADD                   ; x a+x
    PUSH 1 SWAP 0 SSTORE        ; x            slot 1 := a+x
    PUSH 2 SLOAD                ; x b
    PUSH 3 MUL DUP 1 ADD        ; x 3b+x
    DUP 0 PUSH 2 SWAP 0 SSTORE  ; x 3b+x       slot 2 := 3b+x
    ADD RETURN
";

/// The heavy call: for i in 0..n (n = input word 0), slot i := slot i + i + 1;
/// returns n. 16 instructions and 166 gas per iteration.
const LOOP: &str = "
    PUSH 0 INPUT                ; n
    PUSH 0                      ; n i
loop:
    DUP 0 DUP 2 LT ISZERO JUMPI done
    DUP 0                       ; n i i
    DUP 0 SLOAD                 ; n i i s
    DUP 1 ADD PUSH 1 ADD        ; n i i s+i+1
    SSTORE                      ; n i          slot i := s+i+1
    PUSH 1 ADD                  ; n i+1
    JUMP loop
done:
    RETURN
";

// ---------------------------------------------------------------- static engine

/// The stack engine linked statically: `braid-plugin-stack`'s interpreter
/// behind the Rust [`Engine`] trait, doing what `PluginEngine` does around
/// it (see the module docs) without crossing a C boundary.
struct StaticStackEngine {
    id: EngineId,
}

impl Engine for StaticStackEngine {
    fn id(&self) -> EngineId {
        self.id
    }

    fn name(&self) -> &'static str {
        braid_plugin_stack::ENGINE_NAME
    }

    fn validate(&self, code: &[u8]) -> braid_core::Result<()> {
        braid_plugin_stack::validate(code, braid_plugin_stack::FAULT_OPCODES).map_err(|reason| {
            CoreError::invalid_code(self.id, code, CodeRejection::Malformed, reason)
        })
    }

    fn call(&self, host: &mut dyn Host, message: &Message) -> braid_core::Result<Outcome> {
        let me = host.self_identity();
        let Some(hash) = host.instance_code_hash()? else {
            return Ok(Outcome::Fault(FaultReason::NoSuchInstance { identity: me }));
        };
        let code = host.code(&hash)?.ok_or(CoreError::Invariant {
            what: "an instance record names code that is not stored",
        })?;
        let mut vm_host = KernelVmHost {
            host,
            identity: me,
            error: None,
        };
        let exit = braid_plugin_stack::run(&code, &message.input, &message.value, &mut vm_host);
        if let Some(error) = vm_host.error.take() {
            return Err(error);
        }
        Ok(match exit {
            Exit::Halt(output) => Outcome::Halt { output },
            Exit::Revert(output) => Outcome::Revert { output },
            Exit::OutOfGas => Outcome::Fault(FaultReason::OutOfGas),
            Exit::Trap => Outcome::Fault(FaultReason::Trap),
            Exit::HostError => {
                return Err(CoreError::Invariant {
                    what: "the stack engine stopped on a host error that was not recorded",
                });
            }
        })
    }
}

/// The kernel's [`Host`] as the interpreter's [`VmHost`], with the loader's
/// host semantics: own keys stored as `0x01 ‖ key`, key/value limits a trap,
/// any other failure recorded and returned by the call.
struct KernelVmHost<'a> {
    host: &'a mut dyn Host,
    identity: Identity,
    error: Option<CoreError>,
}

impl KernelVmHost<'_> {
    fn fail(&mut self, error: CoreError) -> HostStop {
        self.error.get_or_insert(error);
        HostStop::Error
    }
}

/// Whether a plugin key (before `0x01`) and value fit the state limits, as
/// the loader checks them.
fn fits(key: &[u8], value: Option<&[u8]>) -> bool {
    key.len() < MAX_ENGINE_KEY_LEN && value.is_none_or(|v| v.len() <= MAX_VALUE_LEN)
}

/// `0x01 ‖ key`, as the loader's host stores a plugin key.
fn storage_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(namespace::STORAGE);
    k.extend_from_slice(key);
    k
}

impl VmHost for KernelVmHost<'_> {
    fn charge_gas(&mut self, amount: u64) -> Result<(), HostStop> {
        self.host.charge_gas(amount).map_err(|_| HostStop::OutOfGas)
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostStop> {
        if !fits(key, None) {
            return Err(HostStop::Limit);
        }
        let key = storage_key(key);
        let mut value = None;
        let identity = self.identity;
        match self
            .host
            .get_with(&identity, &key, &mut |v| value = v.map(<[u8]>::to_vec))
        {
            Ok(()) => Ok(value),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn set(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), HostStop> {
        if !fits(key, value) {
            return Err(HostStop::Limit);
        }
        let key = storage_key(key);
        let identity = self.identity;
        let done = match value {
            Some(v) => self.host.set(&identity, &key, v),
            None => self.host.delete(&identity, &key),
        };
        done.map_err(|e| self.fail(e))
    }

    fn read(
        &mut self,
        engine: u8,
        identity: &[u8; 20],
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, HostStop> {
        if key.len() > MAX_ENGINE_KEY_LEN {
            return Err(HostStop::Limit);
        }
        self.host
            .read_state(EngineId(engine), &Identity(*identity), key)
            .map_err(|e| self.fail(e))
    }

    fn log(&mut self, data: &[u8]) -> Result<(), HostStop> {
        if data.len() > MAX_VALUE_LEN {
            return Err(HostStop::Limit);
        }
        let identity = self.identity;
        self.host
            .log(&identity, Vec::new(), data.to_vec())
            .map_err(|e| self.fail(e))
    }
}

// ---------------------------------------------------------------- contenders

/// `target/release/libbraid_plugin_stack.so`, found from this bench's own
/// path (`target/release/deps/plugin-*`).
///
/// # Panics
/// If it is missing, saying how to build it.
fn stack_library() -> PathBuf {
    braid_plugin_loader::find_built_library("braid_plugin_stack").unwrap_or_else(|| {
        panic!(
            "libbraid_plugin_stack not found next to this bench: build the workspace first \
             (`cargo build --release --workspace --all-targets` builds the plugin library)"
        )
    })
}

/// The loaded plugin, pinned with its own SHA-256.
fn load_plugin() -> Arc<dyn Engine> {
    let path = stack_library();
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read the plugin {}: {e}", path.display()));
    let digest = braid_plugin_loader::sha256(&bytes);
    let engine = braid_plugin_loader::load(&path, &digest, STACK)
        .unwrap_or_else(|e| panic!("cannot load the plugin {}: {e}", path.display()));
    Arc::new(engine)
}

/// How the stack engine is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CAbi,
    Static,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::CAbi => "c_abi",
            Kind::Static => "static",
        }
    }
}

/// What the measured calls run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    Small,
    Loop,
}

impl Workload {
    const ALL: [Workload; 2] = [Workload::Small, Workload::Loop];

    fn name(self) -> &'static str {
        match self {
            Workload::Small => "small",
            Workload::Loop => "loop",
        }
    }

    fn code(self) -> Vec<u8> {
        let source = match self {
            Workload::Small => SMALL,
            Workload::Loop => LOOP,
        };
        assemble(source).expect("the bench programs assemble")
    }

    /// The input of every call (word 0).
    fn input(self) -> Vec<u8> {
        let word: u64 = match self {
            Workload::Small => 7,
            Workload::Loop => 1_000,
        };
        word.to_be_bytes().to_vec()
    }

    /// Calls per batch of the interleaved check (about 5-10 ms each).
    fn batch(self) -> u64 {
        match self {
            Workload::Small => 2_000,
            Workload::Loop => 30,
        }
    }
}

/// One contender: its engine in its own `Engines`, over its own state with
/// the workload's program deployed as [`INSTANCE`].
struct Contender {
    db: StateDb,
    engines: Engines,
    message: Message,
}

impl Contender {
    fn new(engine: Arc<dyn Engine>, workload: Workload) -> Self {
        let mut engines = Engines::new();
        engines.register(engine);
        let mut db = StateDb::open(Arc::new(MemoryBackend::new())).expect("open state");
        let mut block = BlockState::new(&db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &engines, &NoBlockHashes, TX_GAS);
        kernel
            .deploy(STACK, INSTANCE, &workload.code())
            .expect("deploy the bench program");
        kernel.commit();
        let changes = block.into_changes();
        db.commit_block(changes, |_| Vec::new())
            .expect("commit the deploy");
        Contender {
            db,
            engines,
            message: Message {
                caller: SENDER,
                target: INSTANCE,
                input: workload.input(),
                value: [0; 32],
                gas_limit: TX_GAS,
            },
        }
    }

    /// One measured call: a fresh kernel over `block`, the call, commit.
    fn call(&self, block: &mut BlockState<'_>) -> (CallResult, TransactionEffects) {
        let mut kernel = Kernel::new(block, &self.engines, &NoBlockHashes, TX_GAS);
        let result = kernel
            .call(STACK, self.message.clone())
            .expect("the call is processed");
        (result, kernel.commit())
    }

    /// `calls` calls in one block (dropped afterwards); the time they took.
    #[inline(never)]
    fn run(&self, calls: u64) -> Duration {
        let mut block = BlockState::new(&self.db, BlockEnv::default());
        let start = Instant::now();
        for _ in 0..calls {
            let (result, effects) = self.call(&mut block);
            debug_assert!(result.outcome.is_halt());
            black_box((result, effects));
        }
        let elapsed = start.elapsed();
        drop(black_box(block));
        elapsed
    }

    /// Two calls in one fresh block: results, effects and the block's writes.
    #[allow(clippy::type_complexity, reason = "a one-off comparison tuple")]
    fn outcome_of_two_calls(
        &self,
    ) -> (
        Vec<(CallResult, TransactionEffects)>,
        Vec<(StateKey, Option<Vec<u8>>)>,
    ) {
        let mut block = BlockState::new(&self.db, BlockEnv::default());
        let calls = vec![self.call(&mut block), self.call(&mut block)];
        (calls, block.into_changes())
    }
}

/// Asserts that both contenders produce identical results, gas, effects and
/// writes for `workload`; returns the gas of one call.
fn check_identical(plugin: &Arc<dyn Engine>, workload: Workload) -> u64 {
    let abi = Contender::new(plugin.clone(), workload).outcome_of_two_calls();
    let fixed =
        Contender::new(Arc::new(StaticStackEngine { id: STACK }), workload).outcome_of_two_calls();
    let (calls, writes) = &abi;
    for (result, _) in calls {
        assert!(
            result.outcome.is_halt(),
            "{}: the call did not halt: {result:?}",
            workload.name()
        );
    }
    assert!(!writes.is_empty(), "{}: no writes", workload.name());
    assert_eq!(
        abi.0,
        fixed.0,
        "{}: results or effects differ between the C ABI and the static engine",
        workload.name()
    );
    assert_eq!(
        abi.1,
        fixed.1,
        "{}: block writes differ between the C ABI and the static engine",
        workload.name()
    );
    calls[0].0.gas_used
}

// ---------------------------------------------------------------- bench

/// `(iterations, measured time)` of every criterion call, warm-up included;
/// the last [`SAMPLES`] are criterion's samples.
type Calls = Vec<(u64, Duration)>;

thread_local! {
    static RECORDS: RefCell<BTreeMap<(&'static str, &'static str), Calls>> =
        const { RefCell::new(BTreeMap::new()) };
}

fn bench_one(
    group: &mut BenchmarkGroup<'_, WallTime>,
    workload: Workload,
    kind: Kind,
    contender: &Contender,
) {
    group.bench_function(kind.name(), |b| {
        b.iter_custom(|iterations| {
            let measured = contender.run(iterations);
            RECORDS.with_borrow_mut(|r| {
                r.entry((workload.name(), kind.name()))
                    .or_default()
                    .push((iterations, measured));
            });
            measured
        });
    });
}

/// Mean nanoseconds per call over criterion's samples.
fn nanos_per_call(calls: &Calls) -> Option<f64> {
    let samples = calls.get(calls.len().checked_sub(SAMPLES)?..)?;
    let mean = samples
        .iter()
        .map(|(n, d)| d.as_secs_f64() / *n as f64)
        .sum::<f64>()
        / SAMPLES as f64;
    Some(mean * 1e9)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The contenders alternate in batches of [`Workload::batch`] calls for
/// [`ROUNDS`] rounds (the order flips every round); returns the median ns
/// per call of each and the median of the per-round ratios C ABI / static.
fn interleaved(abi: &Contender, fixed: &Contender, workload: Workload) -> (f64, f64, f64) {
    let batch = workload.batch();
    let per_call = |d: Duration| d.as_secs_f64() * 1e9 / batch as f64;
    let (mut a, mut s, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (ta, ts) = if round % 2 == 0 {
            let ta = abi.run(batch);
            (ta, fixed.run(batch))
        } else {
            let ts = fixed.run(batch);
            (abi.run(batch), ts)
        };
        a.push(per_call(ta));
        s.push(per_call(ts));
        ratios.push(ta.as_secs_f64() / ts.as_secs_f64());
    }
    (median(a), median(s), median(ratios))
}

fn main() {
    let plugin = load_plugin();
    let gas: BTreeMap<&str, u64> = Workload::ALL
        .iter()
        .map(|w| (w.name(), check_identical(&plugin, *w)))
        .collect();

    let mut criterion = Criterion::default()
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let mut contenders = Vec::new();
    for workload in Workload::ALL {
        let abi = Contender::new(plugin.clone(), workload);
        let fixed = Contender::new(Arc::new(StaticStackEngine { id: STACK }), workload);
        let mut group = criterion.benchmark_group(format!("plugin_{}", workload.name()));
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Elements(1));
        bench_one(&mut group, workload, Kind::CAbi, &abi);
        bench_one(&mut group, workload, Kind::Static, &fixed);
        group.finish();
        contenders.push((workload, abi, fixed));
    }
    criterion.final_summary();

    let records = RECORDS.with_borrow(Clone::clone);
    if records.is_empty() {
        return;
    }
    println!(
        "\nSummary: ns per Kernel::call (mean of criterion's {SAMPLES} samples), ratio C ABI / static (goal <= 1.05)"
    );
    println!(
        "{:<8} {:>12} {:>12} {:>8} {:>10}",
        "workload", "c_abi ns", "static ns", "ratio", "gas/call"
    );
    for workload in Workload::ALL {
        let get = |kind: Kind| {
            records
                .get(&(workload.name(), kind.name()))
                .and_then(nanos_per_call)
        };
        if let (Some(a), Some(s)) = (get(Kind::CAbi), get(Kind::Static)) {
            println!(
                "{:<8} {a:>12.0} {s:>12.0} {:>7.3}x {:>10}",
                workload.name(),
                a / s,
                gas[workload.name()]
            );
        }
    }
    println!("\nInterleaved: medians over {ROUNDS} alternating batches per contender");
    println!(
        "{:<8} {:>12} {:>12} {:>8} {:>6}",
        "workload", "c_abi ns", "static ns", "ratio", "batch"
    );
    for (workload, abi, fixed) in &contenders {
        // Only for workloads whose two contenders criterion ran (a filter or
        // `--profile-time` may select one).
        let ran = |kind: Kind| records.contains_key(&(workload.name(), kind.name()));
        if !(ran(Kind::CAbi) && ran(Kind::Static)) {
            continue;
        }
        let (a, s, ratio) = interleaved(abi, fixed, *workload);
        println!(
            "{:<8} {a:>12.0} {s:>12.0} {ratio:>7.3}x {:>6}",
            workload.name(),
            workload.batch()
        );
    }
}
