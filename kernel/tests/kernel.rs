//! Kernel rules (DESIGN.md "Kernel", RFC 0002), driven by a scripted test engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use braid_core::{
    BlockEnv, CallResult, CoreError, Engine, EngineId, Engines, FaultReason, Host, Identity,
    Message, NoBlockHashes, Outcome, ScopeKind,
};
use braid_kernel::{BlockState, Kernel, MAX_CALL_DEPTH};
use braid_state::{MemoryBackend, StateDb, StateKey};

/// One step of a scripted instance.
#[derive(Clone, Debug)]
enum Op {
    /// Write a key of the running instance.
    Set(&'static [u8], &'static [u8]),
    /// Try to write a key of another identity of the same engine.
    SetOther(Identity, &'static [u8]),
    /// Try to read a key of another identity through the own-scope door.
    GetOther(Identity, &'static [u8]),
    /// Try to log as another identity.
    LogAs(Identity),
    /// Write a value one byte over the state's value limit.
    SetOversized(&'static [u8]),
    /// Call another instance of the same engine with this gas limit.
    Call(Identity, u64),
    /// Cross-engine read; the value is appended to the output.
    ReadState(EngineId, Identity, &'static [u8]),
    /// Own-scope read; the value is appended to the output.
    Get(&'static [u8]),
    /// Charge gas; out of gas faults.
    Charge(u64),
    /// Fault with a trap.
    Trap,
    /// Revert.
    Revert,
}

/// A scripted engine: each identity runs its list of ops.
struct ScriptEngine {
    id: EngineId,
    scope: ScopeKind,
    programs: HashMap<Identity, Vec<Op>>,
    /// Results of nested calls, in order, as seen by the callers.
    seen: Mutex<Vec<(Identity, CallResult)>>,
}

impl ScriptEngine {
    fn new(id: EngineId, programs: Vec<(Identity, Vec<Op>)>) -> Arc<Self> {
        Arc::new(ScriptEngine {
            id,
            scope: ScopeKind::Instance,
            programs: programs.into_iter().collect(),
            seen: Mutex::new(Vec::new()),
        })
    }
    fn seen(&self) -> Vec<(Identity, CallResult)> {
        self.seen.lock().unwrap().clone()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("code must be non-empty")]
struct EmptyCode;

impl Engine for ScriptEngine {
    fn id(&self) -> EngineId {
        self.id
    }
    fn name(&self) -> &'static str {
        "script"
    }
    fn scope_kind(&self) -> ScopeKind {
        self.scope
    }
    fn validate(&self, code: &[u8]) -> braid_core::Result<()> {
        if code.is_empty() {
            return Err(CoreError::invalid_code(
                self.id,
                code,
                braid_core::CodeRejection::Malformed,
                EmptyCode,
            ));
        }
        Ok(())
    }
    fn call(&self, host: &mut dyn Host, message: &Message) -> braid_core::Result<Outcome> {
        let me = host.self_identity();
        assert_eq!(me, message.target);
        let mut output = Vec::new();
        let Some(program) = self.programs.get(&me) else {
            return Ok(Outcome::Fault(FaultReason::NoSuchInstance { identity: me }));
        };
        for op in program {
            match op {
                Op::Set(k, v) => host.set(&me, k, v)?,
                Op::SetOther(other, k) => host.set(other, k, b"intruder")?,
                Op::GetOther(other, k) => {
                    host.get(other, k)?;
                }
                Op::LogAs(other) => host.log(other, vec![], vec![])?,
                Op::SetOversized(k) => {
                    host.set(&me, k, &vec![0; braid_state::key::MAX_VALUE_LEN + 1])?
                }
                Op::Call(target, gas) => {
                    let result = host.call(*target, vec![], [0; 32], *gas)?;
                    self.seen.lock().unwrap().push((me, result));
                }
                Op::ReadState(engine, id, k) => {
                    output.extend(
                        host.read_state(*engine, id, k)?
                            .unwrap_or_else(|| b"-".to_vec()),
                    );
                }
                Op::Get(k) => output.extend(host.get(&me, k)?.unwrap_or_else(|| b"-".to_vec())),
                Op::Charge(n) => {
                    if host.charge_gas(*n).is_err() {
                        return Ok(Outcome::Fault(FaultReason::OutOfGas));
                    }
                }
                Op::Trap => return Ok(Outcome::Fault(FaultReason::Trap)),
                Op::Revert => return Ok(Outcome::Revert { output }),
            }
        }
        Ok(Outcome::Halt { output })
    }
}

const E: EngineId = EngineId(0x10);
const F: EngineId = EngineId(0x11);
const A: Identity = Identity([0xA; 20]);
const B: Identity = Identity([0xB; 20]);
const C: Identity = Identity([0xC; 20]);

fn msg(target: Identity, gas_limit: u64) -> Message {
    Message {
        caller: Identity([1; 20]),
        target,
        input: vec![],
        value: [0; 32],
        gas_limit,
    }
}

fn engines(list: &[&Arc<ScriptEngine>]) -> Engines {
    let mut engines = Engines::new();
    for e in list {
        engines.register(Arc::clone(e) as Arc<dyn Engine>);
    }
    engines
}

/// The writes of a block, as `BlockState::into_changes` returns them.
type Changes = Vec<(StateKey, Option<Vec<u8>>)>;

/// Runs `f` with a transaction kernel over an empty state, then returns what
/// `f` returned and the block's changes (empty unless `f` committed).
fn with_kernel<T>(
    engines: &Engines,
    braid_gas: u64,
    f: impl FnOnce(Kernel<'_, '_>) -> T,
) -> (T, Changes) {
    let db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
    let mut block = BlockState::new(&db, BlockEnv::default());
    let out = f(Kernel::new(&mut block, engines, &NoBlockHashes, braid_gas));
    (out, block.into_changes())
}

/// Runs one transaction of root calls `(engine, target)` and returns the
/// results and the block's changes.
fn run(engines: &Engines, calls: &[(EngineId, Identity)]) -> (Vec<CallResult>, Changes) {
    let db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
    let mut block = BlockState::new(&db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut block, engines, &NoBlockHashes, 1_000_000);
    let results = calls
        .iter()
        .map(|(e, t)| kernel.call(*e, msg(*t, 100_000)).unwrap())
        .collect();
    kernel.commit();
    (results, block.into_changes())
}

fn value(changes: &Changes, engine: EngineId, id: Identity, key: &[u8]) -> Option<Vec<u8>> {
    changes
        .iter()
        .find(|(k, _)| k.engine == engine && k.identity == id && k.engine_key == key)
        .and_then(|(_, v)| v.clone())
}

#[test]
fn halt_commits_the_callee_writes() {
    let e = ScriptEngine::new(E, vec![(A, vec![Op::Set(b"k", b"1")])]);
    let (results, changes) = run(&engines(&[&e]), &[(E, A)]);
    assert_eq!(results[0].outcome, Outcome::Halt { output: vec![] });
    assert_eq!(value(&changes, E, A, b"k"), Some(b"1".to_vec()));
}

#[test]
fn fault_discards_exactly_the_callee_writes_and_the_caller_continues() {
    let e = ScriptEngine::new(
        E,
        vec![
            (
                A,
                vec![
                    Op::Set(b"a1", b"1"),
                    Op::Call(B, 1000),
                    Op::Set(b"a2", b"2"),
                ],
            ),
            (B, vec![Op::Set(b"b1", b"1"), Op::Trap]),
        ],
    );
    let (results, changes) = run(&engines(&[&e]), &[(E, A)]);
    assert!(results[0].outcome.is_halt());
    assert_eq!(e.seen()[0].1.outcome, Outcome::Fault(FaultReason::Trap));
    assert_eq!(value(&changes, E, A, b"a1"), Some(b"1".to_vec()));
    assert_eq!(value(&changes, E, A, b"a2"), Some(b"2".to_vec()));
    assert_eq!(value(&changes, E, B, b"b1"), None);
    assert_eq!(changes.len(), 2, "only the caller's writes: {changes:?}");
}

#[test]
fn revert_discards_and_nested_halt_joins_the_caller() {
    let e = ScriptEngine::new(
        E,
        vec![
            (A, vec![Op::Call(B, 1000), Op::Call(C, 1000)]),
            (B, vec![Op::Set(b"b", b"1"), Op::Revert]),
            (C, vec![Op::Set(b"c", b"1")]),
        ],
    );
    let (_, changes) = run(&engines(&[&e]), &[(E, A)]);
    assert_eq!(value(&changes, E, B, b"b"), None);
    assert_eq!(value(&changes, E, C, b"c"), Some(b"1".to_vec()));
}

#[test]
fn a_fault_of_the_caller_discards_its_halted_callees_too() {
    let e = ScriptEngine::new(
        E,
        vec![
            (A, vec![Op::Call(B, 1000), Op::Trap]),
            (B, vec![Op::Set(b"b", b"1")]),
        ],
    );
    let (results, changes) = run(&engines(&[&e]), &[(E, A)]);
    assert!(e.seen()[0].1.outcome.is_halt());
    assert_eq!(results[0].outcome, Outcome::Fault(FaultReason::Trap));
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn reentrant_call_is_refused() {
    let e = ScriptEngine::new(
        E,
        vec![
            (A, vec![Op::Set(b"a", b"1"), Op::Call(B, 1000)]),
            (
                B,
                vec![Op::Set(b"b", b"1"), Op::Call(A, 1000), Op::Set(b"b2", b"2")],
            ),
        ],
    );
    let (results, changes) = run(&engines(&[&e]), &[(E, A)]);
    assert!(results[0].outcome.is_halt());
    let seen = e.seen();
    // The inner call B -> A is seen first (it returns first), then A -> B.
    assert_eq!(seen[0].0, B);
    assert_eq!(
        seen[0].1.outcome,
        Outcome::Fault(FaultReason::Reentrancy {
            engine: E,
            identity: A
        })
    );
    assert!(seen[1].1.outcome.is_halt());
    assert_eq!(
        value(&changes, E, B, b"b2"),
        Some(b"2".to_vec()),
        "B carried on after the refusal"
    );
    assert_eq!(value(&changes, E, A, b"a"), Some(b"1".to_vec()));
}

#[test]
fn engine_wide_scope_refuses_any_second_frame_of_the_engine() {
    let mut engine = ScriptEngine::new(
        E,
        vec![(A, vec![Op::Call(B, 1000)]), (B, vec![Op::Set(b"b", b"1")])],
    );
    Arc::get_mut(&mut engine).unwrap().scope = ScopeKind::Engine;
    let (_, changes) = run(&engines(&[&engine]), &[(E, A)]);
    assert_eq!(
        engine.seen()[0].1.outcome,
        Outcome::Fault(FaultReason::Reentrancy {
            engine: E,
            identity: B
        })
    );
    assert!(changes.is_empty());
}

#[test]
fn no_write_outside_the_mutator_scope() {
    let attempts: Vec<Vec<Op>> = vec![
        vec![Op::SetOther(B, b"k")],
        vec![Op::GetOther(B, b"k")],
        vec![Op::LogAs(B)],
    ];
    for program in attempts {
        // A writes its own key first: the failed invocation must leave nothing behind.
        let e = ScriptEngine::new(
            E,
            vec![(A, [vec![Op::Set(b"own", b"1")], program.clone()].concat())],
        );
        let (err, changes) = with_kernel(&engines(&[&e]), 1_000_000, |mut kernel| {
            let err = kernel.call(E, msg(A, 1000)).unwrap_err();
            kernel.commit();
            err
        });
        assert!(
            matches!(
                err,
                CoreError::ScopeViolation {
                    engine: E,
                    identity: B,
                    ..
                }
            ),
            "{program:?}: {err}"
        );
        assert!(changes.is_empty(), "{program:?} wrote {changes:?}");
    }
}

#[test]
fn engine_scope_may_write_any_identity_of_its_own_engine_only() {
    // An engine-scoped engine (the EVM's kind) writes several identities, all under its own engine id.
    let mut engine = ScriptEngine::new(
        E,
        vec![(A, vec![Op::SetOther(B, b"k"), Op::Set(b"k", b"v")])],
    );
    Arc::get_mut(&mut engine).unwrap().scope = ScopeKind::Engine;
    let (_, changes) = run(&engines(&[&engine]), &[(E, A)]);
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|(k, _)| k.engine == E));
}

#[test]
fn cross_engine_reads_see_committed_state_only() {
    let e = ScriptEngine::new(
        E,
        vec![
            // A writes, then calls B while A is still in flight.
            (A, vec![Op::Set(b"k", b"new"), Op::Call(B, 1000)]),
            // B reads A's key through the cross-engine door: A is in flight, so B sees nothing.
            (B, vec![Op::ReadState(E, A, b"k")]),
        ],
    );
    let f = ScriptEngine::new(F, vec![(C, vec![Op::ReadState(E, A, b"k")])]);
    let (results, _) = run(&engines(&[&e, &f]), &[(E, A), (F, C)]);
    assert_eq!(
        e.seen()[0].1.outcome,
        Outcome::Halt {
            output: b"-".to_vec()
        }
    );
    // The sibling root call in another engine runs after A halted: it sees A's write.
    assert_eq!(
        results[1].outcome,
        Outcome::Halt {
            output: b"new".to_vec()
        }
    );
}

#[test]
fn own_reads_see_the_invocations_own_writes() {
    let e = ScriptEngine::new(
        E,
        vec![(A, vec![Op::Get(b"k"), Op::Set(b"k", b"v"), Op::Get(b"k")])],
    );
    let (results, _) = run(&engines(&[&e]), &[(E, A)]);
    assert_eq!(
        results[0].outcome,
        Outcome::Halt {
            output: b"-v".to_vec()
        }
    );
}

#[test]
fn gas_flows_from_callee_to_caller_and_runs_out() {
    let e = ScriptEngine::new(
        E,
        vec![
            (A, vec![Op::Charge(10), Op::Call(B, 50), Op::Charge(5)]),
            (B, vec![Op::Charge(30)]),
            (C, vec![Op::Charge(10), Op::Call(B, 20)]),
        ],
    );
    let engines = engines(&[&e]);
    let (results, _) = run(&engines, &[(E, A)]);
    assert_eq!(results[0].gas_used, 45);
    assert_eq!(e.seen()[0].1.gas_used, 30);
    // B needs 30 but gets 20: out of gas, all 20 charged to C.
    let (results, _) = run(&engines, &[(E, C)]);
    assert_eq!(
        e.seen()[1].1,
        CallResult {
            outcome: Outcome::Fault(FaultReason::OutOfGas),
            gas_used: 20
        }
    );
    assert_eq!(results[0].gas_used, 30);
}

#[test]
fn braid_gas_converts_at_the_engine_rate() {
    let e = ScriptEngine::new(
        E,
        vec![(A, vec![Op::Charge(40)]), (B, vec![Op::Charge(40)])],
    );
    let mut engines = engines(&[&e]);
    engines.rates_mut().set(E, 3);
    let (effects, _) = with_kernel(&engines, 200, |mut kernel| {
        assert!(kernel.call(E, msg(A, 1000)).unwrap().outcome.is_halt());
        assert_eq!(kernel.braid_gas_left(), 80);
        // 80 Braid gas buys 26 native units: B (needs 40) runs out.
        assert_eq!(
            kernel.call(E, msg(B, 1000)).unwrap().outcome,
            Outcome::Fault(FaultReason::OutOfGas)
        );
        kernel.commit()
    });
    assert_eq!(effects.braid_gas_used, 120 + 78);
    assert_eq!(effects.gas_by_engine[&E], 66);
}

#[test]
fn call_depth_is_bounded() {
    // A chain of distinct instances, each calling the next.
    let ids: Vec<Identity> = (0..=MAX_CALL_DEPTH as u16 + 1)
        .map(|i| {
            let mut raw = [0x55; 20];
            raw[..2].copy_from_slice(&i.to_be_bytes());
            Identity(raw)
        })
        .collect();
    let programs = ids
        .windows(2)
        .map(|w| (w[0], vec![Op::Call(w[1], 1_000_000)]))
        .collect();
    let e = ScriptEngine::new(E, programs);
    let (results, _) = run(&engines(&[&e]), &[(E, ids[0])]);
    assert!(results[0].outcome.is_halt());
    assert_eq!(
        e.seen()[0].1.outcome,
        Outcome::Fault(FaultReason::CallDepthExceeded)
    );
}

#[test]
fn unknown_engine_is_a_typed_error() {
    let (err, _) = with_kernel(&Engines::new(), 1000, |mut kernel| {
        kernel.call(EngineId(0x42), msg(A, 10)).unwrap_err()
    });
    assert!(
        matches!(
            err,
            CoreError::UnknownEngine {
                engine: EngineId(0x42)
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string(), "unknown engine id 0x42");
}

#[test]
fn deploy_validates_and_refuses_duplicates() {
    let e = ScriptEngine::new(E, vec![]);
    let (hash, changes) = with_kernel(&engines(&[&e]), 1000, |mut kernel| {
        assert!(matches!(
            kernel.deploy(E, A, b""),
            Err(CoreError::InvalidCode { .. })
        ));
        let hash = kernel.deploy(E, A, b"code").unwrap();
        assert!(matches!(
            kernel.deploy(E, A, b"other"),
            Err(CoreError::InstanceExists { .. })
        ));
        kernel.commit();
        hash
    });
    assert_eq!(value(&changes, E, A, &[0x00]), Some(hash.to_vec()));
    let code_key = StateKey::code(&hash);
    assert_eq!(
        value(
            &changes,
            EngineId::SYSTEM,
            Identity::ZERO,
            &code_key.engine_key
        ),
        Some(b"code".to_vec())
    );
}

#[test]
fn oversized_value_is_a_typed_error_and_writes_nothing() {
    let too_long = braid_state::key::MAX_VALUE_LEN + 1;
    let e = ScriptEngine::new(
        E,
        vec![(A, vec![Op::Set(b"ok", b"1"), Op::SetOversized(b"big")])],
    );
    let (err, changes) = with_kernel(&engines(&[&e]), 1_000_000, |mut kernel| {
        let err = kernel.call(E, msg(A, 1000)).unwrap_err();
        kernel.commit();
        err
    });
    assert!(
        matches!(&err, CoreError::Key(braid_core::KeyError::ValueTooLarge { len, .. }) if *len == too_long),
        "{err}"
    );
    assert!(err.to_string().contains(&too_long.to_string()), "{err}");
    assert!(changes.is_empty(), "{changes:?}");
}
