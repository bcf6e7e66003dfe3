//! PVM-to-PVM calls through the kernel (RFC 0010, CAPS.md T4): nanoseconds
//! per nested call on the kernel's trampoline (the PVM as a `Resumable`
//! engine, as the chain runs it) and on the recursive path (the same engine
//! with `resumable()` = `None`: each call nests `Engine::call` through
//! `Host::call`, one interpreter loop and kernel frame per level, as every
//! PVM call ran before RFC 0010).
//!
//! Workload: a chain of `n` relays (`engines/pvm/contracts/src/relay.c`,
//! each writes one key and calls the next) ending in `capscript` with an
//! empty script (it stores an empty result). One transaction per run on
//! the memory backend, not committed. The cost of one nested call is the
//! slope between chains of 1 and 63 relays: (t(63) − t(1)) / 62. Both
//! paths run interleaved, 21 times each; the median and the minimum are
//! printed. Before timing, both paths' outputs are checked equal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use braid_core::{
    BlockEnv, Engine, EngineId, Engines, Host, Identity, Message, NoBlockHashes, Outcome, Result,
    ScopeKind, module_identity,
};
use braid_kernel::{BlockState, Kernel};
use braid_pvm::{Config, PvmEngine, PvmSpec};
use braid_state::{MemoryBackend, StateDb};

/// The PVM engine without its `Resumable` side: the recursive path.
struct Recursive(PvmEngine);

impl Engine for Recursive {
    fn id(&self) -> EngineId {
        self.0.id()
    }
    fn name(&self) -> &'static str {
        "pvm (recursive)"
    }
    fn scope_kind(&self) -> ScopeKind {
        self.0.scope_kind()
    }
    fn validate(&self, code: &[u8]) -> Result<()> {
        self.0.validate(code)
    }
    fn call(&self, host: &mut dyn Host, message: &Message) -> Result<Outcome> {
        self.0.call(host, message)
    }
}

fn contract(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../engines/pvm/contracts/build")
        .join(format!("{name}.pvm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A state with 63 relays and the target deployed, and the engines.
struct Setup {
    db: StateDb,
    relays: Vec<Identity>,
    target: Identity,
}

fn setup(engines: &Engines) -> Setup {
    let db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
    let mut block = BlockState::new(&db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut block, engines, &NoBlockHashes, u64::MAX / 4);
    let mut deploy = |name: &str, n: u32| {
        let id = module_identity(4242, format!("{name}/{n}").as_bytes(), 1);
        kernel.deploy(EngineId::PVM, id, &contract(name)).unwrap();
        id
    };
    let relays: Vec<Identity> = (0..63).map(|n| deploy("relay", n)).collect();
    let target = deploy("capscript", 0);
    kernel.commit();
    let changes = block.into_changes();
    let mut db = db;
    db.commit_block(changes, |_| Vec::new()).unwrap();
    Setup { db, relays, target }
}

/// The root call into a chain of `n` relays ending in the target.
fn chain_input(setup: &Setup, n: usize) -> (Identity, Vec<u8>) {
    let mut input = Vec::new();
    let mut next = setup.target;
    for (i, id) in setup.relays[..n].iter().enumerate().rev() {
        input = [&next.0[..], &[i as u8], &input].concat();
        next = *id;
    }
    (next, input)
}

fn run(setup: &Setup, engines: &Engines, target: Identity, input: &[u8]) -> Outcome {
    let mut block = BlockState::new(&setup.db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut block, engines, &NoBlockHashes, 100_000_000);
    kernel
        .call(
            EngineId::PVM,
            Message {
                caller: Identity([0xa1; 20]),
                target,
                input: input.to_vec(),
                value: [0; 32],
                gas_limit: 100_000_000,
            },
        )
        .unwrap()
        .outcome
}

fn time(f: impl Fn()) -> Duration {
    const INNER: u32 = 20;
    let start = Instant::now();
    for _ in 0..INNER {
        f();
    }
    start.elapsed() / INNER
}

fn main() {
    let pvm = || PvmEngine::with_config(Config::new(PvmSpec::Gp0_7_2)).unwrap();
    let mut trampoline = Engines::new();
    trampoline.register(Arc::new(pvm()));
    let mut recursive = Engines::new();
    recursive.register(Arc::new(Recursive(pvm())));
    let setup = setup(&trampoline);
    let short = chain_input(&setup, 1);
    let long = chain_input(&setup, 63);
    for (target, input) in [&short, &long] {
        let a = run(&setup, &trampoline, *target, input);
        let b = run(&setup, &recursive, *target, input);
        assert!(matches!(a, Outcome::Halt { .. }), "{a:?}");
        assert_eq!(a, b, "both paths give the same outcome");
    }
    let mut slopes: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..21 {
        for (i, engines) in [&trampoline, &recursive].into_iter().enumerate() {
            let t1 = time(|| {
                run(&setup, engines, short.0, &short.1);
            });
            let t63 = time(|| {
                run(&setup, engines, long.0, &long.1);
            });
            slopes[i].push((t63.as_nanos() as f64 - t1.as_nanos() as f64) / 62.0);
        }
    }
    for (name, mut s) in ["trampoline", "recursive"].into_iter().zip(slopes) {
        s.sort_by(f64::total_cmp);
        println!(
            "pvm→pvm call, {name}: median {:.0} ns, min {:.0} ns per nested call",
            s[s.len() / 2],
            s[0]
        );
    }
}
