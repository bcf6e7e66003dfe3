//! Caps, slot 0 and YIELD/RESUME in the kernel (RFC 0010), through a
//! resumable scripted engine (`scripts/mod.rs`): CAPS.md §7.12's tests
//! T3, T5-T8, T10-T32 at the kernel level, and the adversarial cases of
//! issue 13, each refused with its documented refusal and nothing written.

mod scripts;

use std::sync::Arc;

use braid_core::cap::{CNodeValue, Image, MAX_DATA_SIZE};
use braid_core::{
    BlockEnv, CallResult, Cap, CapRefusal, CoreError, EngineId, Engines, FaultReason, Identity,
    Message, NoBlockHashes, Outcome, keccak256,
};
use braid_kernel::{BlockState, Kernel, MAX_CALL_DEPTH, TraceEvent, TransactionEffects};
use braid_state::{Backend, MemoryBackend, RocksDbBackend, StateDb, StateKey, verify_proof};
use scripts::{Op, Scripts, Seen};

const E: EngineId = EngineId(0x10);

const fn id(byte: u8) -> Identity {
    Identity([byte; 20])
}

const R: Identity = id(0x52);
const S: Identity = id(0x53);
const T: Identity = id(0x54);
const A: Identity = id(0xA0);
const B: Identity = id(0xB0);
const C: Identity = id(0xC0);
const D: Identity = id(0xD0);
const K: Identity = id(0x4B);
const P: Identity = id(0x50);
const X: Identity = id(0x58);
const Y: Identity = id(0x59);

/// The writes of a block, as `BlockState::into_changes` returns them.
type Changes = Vec<(StateKey, Option<Vec<u8>>)>;

/// A chain of one scripted engine: instances deployed in a genesis block,
/// then one transaction per [`World::tx`], each committed as a block.
struct World {
    db: StateDb,
    engines: Engines,
    scripts: Arc<Scripts>,
}

/// What one transaction did.
struct Tx<T> {
    out: T,
    changes: Changes,
    trace: Vec<TraceEvent>,
    effects: TransactionEffects,
}

impl World {
    /// `programs` by name; `instances` deployed with the named program as
    /// their code.
    fn new(programs: Vec<(&'static str, Vec<Op>)>, instances: &[(Identity, &str)]) -> World {
        World::on(Arc::new(MemoryBackend::new()), programs, instances)
    }

    fn on(
        backend: Arc<dyn Backend>,
        programs: Vec<(&'static str, Vec<Op>)>,
        instances: &[(Identity, &str)],
    ) -> World {
        let scripts = Scripts::new(E, programs);
        let mut engines = Engines::new();
        engines.register(scripts.clone());
        let mut world = World {
            db: StateDb::open(backend).unwrap(),
            engines,
            scripts,
        };
        world.tx(|k| {
            for (identity, name) in instances {
                k.deploy(E, *identity, name.as_bytes()).unwrap();
            }
        });
        world
    }

    /// Runs `f` as one transaction with the trace on, commits it as a block.
    fn tx<T>(&mut self, f: impl FnOnce(&mut Kernel<'_, '_>) -> T) -> Tx<T> {
        let mut block = BlockState::new(&self.db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 10_000_000);
        kernel.record_trace();
        let out = f(&mut kernel);
        let trace = kernel.take_trace();
        let effects = kernel.commit();
        let changes = block.into_changes();
        self.db
            .commit_block(changes.clone(), |_| Vec::new())
            .unwrap();
        Tx {
            out,
            changes,
            trace,
            effects,
        }
    }

    /// One root call of `target` as one transaction.
    fn call(&mut self, target: Identity) -> Tx<CallResult> {
        self.tx(|k| k.call(E, message(target)).unwrap())
    }

    fn seen_by(&self, who: Identity) -> Vec<Seen> {
        self.scripts.seen_by(who)
    }
}

fn message(target: Identity) -> Message {
    Message {
        caller: Identity([1; 20]),
        target,
        input: vec![],
        value: [0; 32],
        gas_limit: u64::MAX,
    }
}

fn halt() -> Outcome {
    Outcome::Halt { output: vec![] }
}

fn storage(key: &[u8]) -> Vec<u8> {
    [&[1][..], key].concat()
}

/// The value `changes` give `(engine, identity, engine_key)`, if written.
fn written(changes: &Changes, identity: Identity, engine_key: &[u8]) -> Option<Option<Vec<u8>>> {
    changes
        .iter()
        .find(|(k, _)| k.engine == E && k.identity == identity && k.engine_key == engine_key)
        .map(|(_, v)| v.clone())
}

/// The storage keys `changes` write, as `(identity, key without 0x01)`.
fn stored(changes: &Changes) -> Vec<(Identity, Vec<u8>)> {
    let mut keys: Vec<_> = changes
        .iter()
        .filter(|(k, v)| k.engine == E && k.engine_key.first() == Some(&1) && v.is_some())
        .map(|(k, _)| (k.identity, k.engine_key[1..].to_vec()))
        .collect();
    keys.sort();
    keys
}

fn keys(list: &[(Identity, &str)]) -> Vec<(Identity, Vec<u8>)> {
    let mut keys: Vec<_> = list
        .iter()
        .map(|(i, k)| (*i, k.as_bytes().to_vec()))
        .collect();
    keys.sort();
    keys
}

fn slot_key(slot: u8) -> Vec<u8> {
    vec![0x04, 0x00, slot]
}

fn blake2b(parts: &[&[u8]]) -> [u8; 32] {
    use blake2::digest::{Update, VariableOutput};
    let mut hasher = blake2::Blake2bVar::new(32).unwrap();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; 32];
    hasher.finalize_variable(&mut out).unwrap();
    out
}

fn data_cap(bytes: &[u8], size: u32) -> Cap {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    Cap::Data {
        hash: blake2b(&[&bytes[..end]]),
        size,
    }
}

/// The chain of a deployed instance of program `name` (32-byte record):
/// the hash of its implicit image.
fn deployed_chain(name: &str) -> [u8; 32] {
    let image = Image {
        engine: E,
        code_hash: keccak256(name.as_bytes()),
        pinned: vec![],
    };
    blake2b(&[b"braid/image/v1", &image.encode()])
}

fn image_hash(image: &Image) -> [u8; 32] {
    blake2b(&[b"braid/image/v1", &image.encode()])
}

fn spawn_identity(spawner: Identity, nonce: u64) -> Identity {
    let preimage = [
        &b"braid/spawn"[..],
        &[E.0],
        &spawner.0,
        &nonce.to_be_bytes(),
    ]
    .concat();
    Identity(keccak256(&preimage)[..20].try_into().unwrap())
}

fn push(identity: Identity) -> TraceEvent {
    TraceEvent::Push {
        engine: E,
        identity,
    }
}

fn pop(identity: Identity, outcome: Outcome) -> TraceEvent {
    TraceEvent::Pop { identity, outcome }
}

fn yielded(from: Identity, to: Identity) -> TraceEvent {
    TraceEvent::Yield { from, to }
}

fn resumed(by: Identity, to: Identity, fault: bool) -> TraceEvent {
    TraceEvent::Resume { by, to, fault }
}

fn cancel(identity: Identity) -> TraceEvent {
    TraceEvent::Cancel { identity }
}

fn returned(outcome: Outcome) -> Seen {
    Seen::Returned(outcome, 0)
}

const OK: Seen = Seen::Cap(Ok(()));

fn refused(refusal: CapRefusal) -> Seen {
    Seen::Cap(Err(refusal))
}

// --- A. No regression --------------------------------------------------

/// T3 (kernel side): a chain of 64 resumable invocations runs on a thread
/// with a 256 KiB stack, and the 65th call is refused; the trampoline holds
/// the stack, so no Rust frame is spent per level.
#[test]
fn t3_a_64_deep_chain_runs_on_a_256_kib_stack_and_the_65th_call_is_refused() {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let ids: Vec<Identity> = (0..=MAX_CALL_DEPTH as u8)
                .map(|i| Identity([i + 1; 20]))
                .collect();
            let names: Vec<&'static str> = (0..=MAX_CALL_DEPTH)
                .map(|i| &*Box::leak(format!("L{i}").into_boxed_str()))
                .collect();
            let programs = (0..=MAX_CALL_DEPTH)
                .map(|i| {
                    let ops = match ids.get(i + 1) {
                        Some(next) => vec![Op::Store(b"k", b"1"), Op::Call(*next, 1_000_000)],
                        None => vec![Op::Store(b"k", b"1")],
                    };
                    (names[i], ops)
                })
                .collect();
            let instances: Vec<(Identity, &str)> =
                ids.iter().zip(&names).map(|(i, n)| (*i, *n)).collect();
            let mut world = World::new(programs, &instances);
            let tx = world.call(ids[0]);
            assert_eq!(tx.out.outcome, halt());
            let deepest = world.seen_by(ids[MAX_CALL_DEPTH - 1]);
            assert_eq!(
                deepest,
                vec![returned(Outcome::Fault(FaultReason::CallDepthExceeded))]
            );
            assert_eq!(stored(&tx.changes).len(), MAX_CALL_DEPTH, "64 levels wrote");
            assert_eq!(
                written(&tx.changes, ids[MAX_CALL_DEPTH], &storage(b"k")),
                None
            );
        })
        .unwrap()
        .join()
        .unwrap();
}

// --- B. Caps in the state ---------------------------------------------

/// T5: slot writes commit when the root halts, and are absent after a
/// revert, a fault, and "callee halts, caller faults"; diffs key by key.
#[test]
fn t5_slots_commit_on_halt_and_vanish_on_revert_fault_and_a_faulting_caller() {
    let programs = vec![
        ("halts", vec![Op::Mint(b"x", 0, 5)]),
        ("reverts", vec![Op::Mint(b"x", 0, 5), Op::Revert]),
        ("faults", vec![Op::Mint(b"x", 0, 5), Op::Trap]),
        ("caller", vec![Op::Call(B, 100_000), Op::Trap]),
        ("callee", vec![Op::Mint(b"y", 0, 7)]),
    ];
    let instances = [
        (A, "halts"),
        (C, "reverts"),
        (D, "faults"),
        (R, "caller"),
        (B, "callee"),
    ];
    let mut world = World::new(programs, &instances);
    let tx = world.call(A);
    let cap = data_cap(b"x", 1);
    let blob = StateKey::new(
        EngineId::SYSTEM,
        Identity::ZERO,
        [&[0x05][..], &blake2b(&[b"x"])].concat(),
    );
    assert_eq!(
        tx.changes,
        vec![
            (blob, Some(b"x".to_vec())),
            (
                StateKey::new(E, A, slot_key(5)),
                Some(cap.encode().unwrap())
            ),
        ]
    );
    for target in [C, D, R] {
        let tx = world.call(target);
        assert!(!tx.out.outcome.is_halt());
        assert_eq!(tx.changes, vec![], "{target}");
    }
}

/// T6: slot keys, Data bytes and image records have proofs against the
/// block root; memory and RocksDB give the same root; a rerun too.
#[test]
fn t6_cap_keys_are_provable_and_roots_agree_across_backends_and_reruns() {
    let programs = || {
        vec![
            (
                "maker",
                vec![
                    Op::MintCode("other", 0xF0),
                    Op::ImageMake(0xF0, None, 3),
                    Op::Mint(b"hello", 0, 4),
                ],
            ),
            ("other", vec![]),
        ]
    };
    let dir = tempfile::tempdir().unwrap();
    let mut roots = Vec::new();
    for backend in [
        Arc::new(MemoryBackend::new()) as Arc<dyn Backend>,
        Arc::new(RocksDbBackend::open(dir.path()).unwrap()),
        Arc::new(MemoryBackend::new()),
    ] {
        let mut world = World::on(backend, programs(), &[(A, "maker")]);
        let tx = world.call(A);
        assert_eq!(tx.out.outcome, halt());
        let root = world.db.root();
        let image = Image {
            engine: E,
            code_hash: keccak256(b"other"),
            pinned: vec![],
        };
        let provable = [
            StateKey::new(E, A, slot_key(3)),
            StateKey::new(E, A, slot_key(4)),
            StateKey::new(
                EngineId::SYSTEM,
                Identity::ZERO,
                [&[0x05][..], &blake2b(&[b"hello"])].concat(),
            ),
            StateKey::new(
                EngineId::SYSTEM,
                Identity::ZERO,
                [&[0x06][..], &image_hash(&image)].concat(),
            ),
        ];
        for key in provable {
            let value = world
                .db
                .get(key.engine, &key.identity, &key.engine_key)
                .unwrap();
            assert!(value.is_some(), "{key}");
            let proof = world.db.prove(&key).unwrap();
            verify_proof(&root, &key.encode(), value.as_deref(), &proof).unwrap();
        }
        assert_eq!(
            world.db.get(E, &A, &slot_key(3)).unwrap(),
            Some(
                Cap::Image {
                    hash: image_hash(&image)
                }
                .encode()
                .unwrap()
            )
        );
        roots.push(root);
    }
    assert_eq!(roots[0], roots[1], "memory and RocksDB");
    assert_eq!(roots[0], roots[2], "rerun");
}

/// T7: Data is canonical: trailing zeros do not change the cap, a read pads
/// to the size, one blob per content, and the size limits are statuses.
#[test]
fn t7_data_is_canonical_padded_on_read_and_bounded() {
    let programs = vec![(
        "a",
        vec![
            Op::Mint(b"ab\0\0", 8, 1),
            Op::Mint(b"ab", 8, 2),
            Op::Peek(1),
            Op::Peek(2),
            Op::ReadData(1),
            Op::Mint(b"a", MAX_DATA_SIZE + 1, 3),
            Op::Mint(b"abc", 2, 3),
            Op::Peek(3),
        ],
    )];
    let mut world = World::new(programs, &[(A, "a")]);
    let tx = world.call(A);
    let cap = Some(data_cap(b"ab", 8));
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            OK,
            Seen::Slot(1, cap),
            Seen::Slot(2, cap),
            OK,
            refused(CapRefusal::TooLarge),
            refused(CapRefusal::BadArgument),
            Seen::Slot(3, None),
        ]
    );
    assert_eq!(
        tx.out.outcome,
        Outcome::Halt {
            output: b"ab\0\0\0\0\0\0".to_vec()
        }
    );
    let blobs: Vec<_> = tx
        .changes
        .iter()
        .filter(|(k, _)| k.engine == EngineId::SYSTEM && k.engine_key[0] == 0x05)
        .collect();
    assert_eq!(blobs.len(), 1);
    assert_eq!(blobs[0].1.as_deref(), Some(&b"ab"[..]));
}

/// T8: cnodes round-trip; a range with a YieldRef does not pack.
#[test]
fn t8_cnodes_round_trip_and_refuse_a_yieldref() {
    let programs = vec![(
        "a",
        vec![
            Op::Mint(b"1", 0, 10),
            Op::Mint(b"2", 0, 12),
            Op::Pack(10, 3, 0xF0),
            Op::Drop(10),
            Op::Drop(12),
            Op::Unpack(0xF0, 10),
            Op::Peek(10),
            Op::Peek(11),
            Op::Peek(12),
            Op::MintRef(0xF2),
            Op::Pack(0xF1, 3, 20),
            Op::Peek(20),
            Op::Pack(0xFF, 2, 20),
        ],
    )];
    let mut world = World::new(programs, &[(A, "a")]);
    let tx = world.call(A);
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            OK,
            OK,
            OK,
            OK,
            OK,
            Seen::Slot(10, Some(data_cap(b"1", 1))),
            Seen::Slot(11, None),
            Seen::Slot(12, Some(data_cap(b"2", 1))),
            OK,
            refused(CapRefusal::NotPersistable),
            Seen::Slot(20, None),
            refused(CapRefusal::BadArgument),
        ]
    );
    let value = CNodeValue {
        entries: vec![(0, data_cap(b"1", 1)), (2, data_cap(b"2", 1))],
    };
    let hash = blake2b(&[b"braid/cnode/v1", &value.encode()]);
    let key = StateKey::new(
        EngineId::SYSTEM,
        Identity::ZERO,
        [&[0x07][..], &hash].concat(),
    );
    assert!(tx.changes.contains(&(key, Some(value.encode()))));
}

// --- C. Forgery and reserved keys --------------------------------------

/// T9: a guest's storage key `04 00 05` is storage (`0x01 ‖ 04 00 05`), not
/// slot 5.
#[test]
fn t9_a_storage_key_shaped_like_a_slot_is_storage() {
    let programs = vec![("a", vec![Op::Store(&[4, 0, 5], b"forged"), Op::Peek(5)])];
    let mut world = World::new(programs, &[(A, "a")]);
    let tx = world.call(A);
    assert_eq!(world.seen_by(A), vec![Seen::Slot(5, None)]);
    assert_eq!(
        tx.changes,
        vec![(
            StateKey::new(E, A, vec![1, 4, 0, 5]),
            Some(b"forged".to_vec())
        )]
    );
}

/// T10: an engine writing its own record or cap namespaces, or wiping a
/// prefix that covers them, is `ReservedKey`: the block stops and the
/// invocation's writes are gone.
#[test]
fn t10_engine_writes_into_the_kernel_namespaces_are_reserved_key_errors() {
    let attempts: Vec<(Vec<Op>, u8)> = vec![
        (vec![Op::RawSet(vec![4, 0, 5])], 4),
        (vec![Op::RawSet(vec![0])], 0),
        (vec![Op::RawDeletePrefix(vec![4])], 4),
        (vec![Op::RawDeletePrefix(vec![])], 0),
    ];
    for (attempt, namespace) in attempts {
        let program = [vec![Op::Store(b"own", b"1"), Op::Mint(b"d", 0, 9)], attempt].concat();
        let mut world = World::new(vec![("a", program.clone())], &[(A, "a")]);
        let tx = world.tx(|k| k.call(E, message(A)).unwrap_err());
        assert!(
            matches!(
                tx.out,
                CoreError::ReservedKey { engine: E, identity: A, namespace: n } if n == namespace
            ),
            "{program:?}: {}",
            tx.out
        );
        assert_eq!(tx.changes, vec![], "{program:?}");
    }
}

/// T11: chains cannot be forged: spawns by different spawners differ in
/// type, two spawns by one spawner share it, and `type_of` is
/// blake2b(0x02 ‖ spawner chain ‖ image hash). No host call takes chain
/// bytes: `Host` has none that does.
#[test]
fn t11_type_chains_follow_the_spawner_and_cannot_be_forged() {
    let spawner = vec![
        Op::MintCode("child", 0xF0),
        Op::ImageMake(0xF0, None, 0xF1),
        Op::Spawn(0xF1, 1),
        Op::Spawn(0xF1, 2),
        Op::Peek(1),
        Op::Peek(2),
    ];
    let programs = vec![("x", spawner.clone()), ("y", spawner), ("child", vec![])];
    let mut world = World::new(programs, &[(X, "x"), (Y, "y")]);
    let tx = world.call(X);
    world.call(Y);
    let image = Image {
        engine: E,
        code_hash: keccak256(b"child"),
        pinned: vec![],
    };
    let chain_of = |who: Identity, name: &str| {
        let extended = blake2b(&[&[0x02], &deployed_chain(name), &image_hash(&image)]);
        let caps: Vec<Cap> = world
            .seen_by(who)
            .into_iter()
            .filter_map(|s| match s {
                Seen::Slot(_, Some(cap)) => Some(cap),
                _ => None,
            })
            .collect();
        (extended, caps)
    };
    let (x_chain, x_caps) = chain_of(X, "x");
    let (y_chain, y_caps) = chain_of(Y, "y");
    let chains = |caps: &[Cap]| -> Vec<[u8; 32]> {
        caps.iter()
            .map(|c| match c {
                Cap::Instance { chain, .. } => *chain,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(chains(&x_caps), vec![x_chain, x_chain], "same_type = 1");
    assert_eq!(chains(&y_caps[..1]), vec![y_chain]);
    assert_ne!(x_chain, y_chain, "same_type = 0");
    let identities: Vec<Identity> = x_caps
        .iter()
        .map(|c| match c {
            Cap::Instance { identity, .. } => *identity,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(identities, vec![spawn_identity(X, 0), spawn_identity(X, 1)]);
    assert_eq!(
        written(&tx.changes, X, &[0x04, 0x01]),
        Some(Some(2u64.to_be_bytes().to_vec())),
        "the nonce counts spawns"
    );
}

/// T12: a typed cap goes stale when its instance changes image: the call
/// faults with `TypeMismatch`, the callee never runs, the caller goes on,
/// and a fresh `instance_cap` works.
#[test]
fn t12_a_call_through_a_stale_instance_cap_is_a_type_mismatch() {
    let programs = vec![
        (
            "a",
            vec![
                Op::InstanceCap(E, B, 1),
                Op::Call(B, 100_000),
                Op::CallCap(1, 100_000),
                Op::InstanceCap(E, B, 2),
                Op::CallCap(2, 100_000),
            ],
        ),
        (
            "b",
            vec![
                Op::MintCode("b2", 0xF0),
                Op::ImageMake(0xF0, None, 0xF1),
                Op::SetImage(0xF1),
            ],
        ),
        ("b2", vec![Op::Store(b"b2", b"ran")]),
    ];
    let mut world = World::new(programs, &[(A, "a"), (B, "b")]);
    let tx = world.call(A);
    let image = Image {
        engine: E,
        code_hash: keccak256(b"b2"),
        pinned: vec![],
    };
    let new_chain = blake2b(&[&[0x01], &deployed_chain("b"), &image_hash(&image)]);
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            returned(halt()),
            returned(Outcome::Fault(FaultReason::TypeMismatch {
                engine: E,
                identity: B,
                expected: deployed_chain("b"),
                found: new_chain,
            })),
            OK,
            returned(halt()),
        ]
    );
    assert_eq!(
        tx.trace,
        vec![
            push(A),
            push(B),
            pop(B, halt()),
            push(B),
            pop(B, halt()),
            pop(A, halt()),
        ],
        "B ran twice: by identity and through the fresh cap"
    );
    assert_eq!(stored(&tx.changes), keys(&[(B, "b2")]));
}

// --- D. Pinning --------------------------------------------------------

/// The ops that make an image of `code` pinning slot 3 to Data(`pin`) in
/// 0xF6 (scratch slots 0xF0..=0xF5 are used).
fn image_pinning_slot_3(code: &'static str, pin: &'static [u8]) -> Vec<Op> {
    vec![
        Op::Drop(0xF0),
        Op::Drop(0xF1),
        Op::Drop(0xF2),
        Op::Mint(pin, 0, 0xF3),
        Op::Pack(0xF0, 4, 0xF4),
        Op::MintCode(code, 0xF5),
        Op::ImageMake(0xF5, Some(0xF4), 0xF6),
    ]
}

/// T13 (and T31's "callable by the spawner in the same invocation"): slot 3
/// pinned by the image refuses every write path, keeps its cap, and is
/// never stored.
#[test]
fn t13_a_pinned_slot_refuses_every_write_path() {
    let spawner = [
        image_pinning_slot_3("pinned", b"X"),
        vec![Op::Spawn(0xF6, 0xF7), Op::CallCap(0xF7, 1_000_000)],
    ]
    .concat();
    let pinned = vec![
        Op::Peek(3),
        Op::Mint(b"Z", 0, 0),
        Op::Copy(0, 3),
        Op::Mint(b"Y", 0, 3),
        Op::Move(0, 3),
        Op::Move(3, 4),
        Op::Drop(3),
        Op::Mint(b"W", 0, 0xF0),
        Op::Mint(b"V", 0, 0xF2),
        Op::Pack(0xF0, 3, 0xF5),
        Op::Unpack(0xF5, 1),
        Op::Peek(3),
        Op::Peek(1),
        Op::Peek(4),
    ];
    let programs = vec![("spawner", spawner), ("pinned", pinned)];
    let mut world = World::new(programs, &[(P, "spawner")]);
    let tx = world.call(P);
    let child = spawn_identity(P, 0);
    assert_eq!(world.seen_by(P).last(), Some(&returned(halt())));
    let x = Some(data_cap(b"X", 1));
    let huh = refused(CapRefusal::Pinned);
    assert_eq!(
        world.seen_by(child),
        vec![
            Seen::Slot(3, x),
            OK,
            huh.clone(),
            huh.clone(),
            huh.clone(),
            huh.clone(),
            huh.clone(),
            OK,
            OK,
            OK,
            huh,
            Seen::Slot(3, x),
            Seen::Slot(1, None),
            Seen::Slot(4, None),
        ]
    );
    for slot in [1, 3, 4] {
        assert_eq!(
            written(&tx.changes, child, &slot_key(slot)),
            None,
            "slot {slot}"
        );
    }
}

/// T14: `set_image` to an image pinning slot 3 = Data(Y): the running
/// invocation keeps its pins (X), the next one sees Y; a cap stored under a
/// slot that becomes pinned is shadowed, not deleted.
#[test]
fn t14_set_image_changes_the_pinned_overlay_from_the_next_invocation() {
    let spawner = [
        image_pinning_slot_3("first", b"X"),
        vec![
            Op::Spawn(0xF6, 1),
            Op::CallCap(1, 1_000_000),
            Op::InstanceCap(E, spawn_identity(P, 0), 2),
            Op::CallCap(2, 1_000_000),
        ],
    ]
    .concat();
    let first = [
        vec![Op::Peek(3)],
        image_pinning_slot_3("second", b"Y"),
        vec![Op::SetImage(0xF6), Op::Peek(3)],
    ]
    .concat();
    let shadow = [
        vec![Op::Mint(b"S", 0, 3)],
        image_pinning_slot_3("second", b"Y"),
        vec![Op::SetImage(0xF6), Op::Peek(3)],
    ]
    .concat();
    let programs = vec![
        ("spawner", spawner),
        ("first", first),
        ("second", vec![Op::Peek(3)]),
        ("shadow", shadow),
    ];
    let mut world = World::new(programs, &[(P, "spawner"), (A, "shadow")]);
    world.call(P);
    let child = spawn_identity(P, 0);
    let slots: Vec<Seen> = world
        .seen_by(child)
        .into_iter()
        .filter(|s| matches!(s, Seen::Slot(..)))
        .collect();
    let (x, y) = (Some(data_cap(b"X", 1)), Some(data_cap(b"Y", 1)));
    assert_eq!(
        slots,
        vec![Seen::Slot(3, x), Seen::Slot(3, x), Seen::Slot(3, y)]
    );
    // A stored slot 3 under an image that comes to pin it.
    let tx = world.call(A);
    let s = data_cap(b"S", 1);
    assert_eq!(world.seen_by(A).last(), Some(&Seen::Slot(3, Some(s))));
    assert_eq!(
        written(&tx.changes, A, &slot_key(3)),
        Some(Some(s.encode().unwrap()))
    );
    world.call(A);
    assert_eq!(world.seen_by(A).last(), Some(&Seen::Slot(3, y)));
    assert_eq!(
        world.db.get(E, &A, &slot_key(3)).unwrap(),
        Some(s.encode().unwrap()),
        "shadowed, not deleted"
    );
}

// --- E. slot 0 ----------------------------------------------------------

/// T15: CALL copies the caller's slot 0 to the callee, HALT reflects the
/// callee's back, REVERT and FAULT leave the caller's as it was.
#[test]
fn t15_slot_0_goes_down_on_call_up_on_halt_and_stays_on_revert_or_fault() {
    let programs = vec![
        (
            "r",
            vec![
                Op::Mint(b"r", 0, 0),
                Op::Call(A, 100_000),
                Op::Peek(0),
                Op::Call(B, 100_000),
                Op::Peek(0),
                Op::Call(C, 100_000),
                Op::Peek(0),
            ],
        ),
        ("a", vec![Op::Peek(0), Op::Mint(b"a", 0, 0)]),
        ("b", vec![Op::Mint(b"b", 0, 0), Op::Revert]),
        ("c", vec![Op::Peek(0), Op::Mint(b"c", 0, 0), Op::Trap]),
    ];
    let mut world = World::new(programs, &[(R, "r"), (A, "a"), (B, "b"), (C, "c")]);
    world.call(R);
    let a = Some(data_cap(b"a", 1));
    assert_eq!(world.seen_by(A)[0], Seen::Slot(0, Some(data_cap(b"r", 1))));
    assert_eq!(world.seen_by(C)[0], Seen::Slot(0, a));
    let slot0: Vec<Seen> = world
        .seen_by(R)
        .into_iter()
        .filter(|s| matches!(s, Seen::Slot(..)))
        .collect();
    assert_eq!(slot0, vec![Seen::Slot(0, a); 3]);
}

/// T16: a YieldRef never reaches a persistent slot or a cnode; ephemeral
/// slots take it; no stored key holds one.
#[test]
fn t16_a_yieldref_stays_in_slot_0_and_ephemeral_slots() {
    let programs = vec![(
        "a",
        vec![
            Op::MintRef(0),
            Op::Copy(0, 1),
            Op::Copy(0, 0xEF),
            Op::Move(0, 7),
            Op::Copy(0, 0xF3),
            Op::MintRef(5),
            Op::Pack(0, 1, 0xF4),
            Op::Peek(0xF3),
        ],
    )];
    let mut world = World::new(programs, &[(A, "a")]);
    let tx = world.call(A);
    let huh = refused(CapRefusal::NotPersistable);
    let seen = world.seen_by(A);
    assert_eq!(
        seen[..7],
        [
            OK,
            huh.clone(),
            huh.clone(),
            huh.clone(),
            OK,
            huh.clone(),
            huh
        ]
    );
    assert!(matches!(
        seen[7],
        Seen::Slot(0xF3, Some(Cap::YieldRef { .. }))
    ));
    assert_eq!(tx.changes, vec![]);
}

// --- F. YIELD / RESUME --------------------------------------------------

/// T17: round trip on [R, A, B]: B yields P to A, A's call answers
/// "yielded" with P in slot 0, A resumes with Q, B's yield returns with Q,
/// B halts and A's resume returns 0. The trace is exact.
#[test]
fn t17_yield_and_resume_round_trip() {
    let programs = vec![
        ("r", vec![Op::Call(A, 1_000_000)]),
        (
            "a",
            vec![
                Op::MintRef(0),
                Op::Call(B, 100_000),
                Op::Peek(0),
                Op::Mint(b"Q", 0, 0),
                Op::Resume,
                Op::Peek(0),
            ],
        ),
        (
            "b",
            vec![
                Op::Move(0, 0xF0),
                Op::Mint(b"P", 0, 0),
                Op::Yield(0xF0),
                Op::Peek(0),
            ],
        ),
    ];
    let mut world = World::new(programs, &[(R, "r"), (A, "a"), (B, "b")]);
    let tx = world.call(R);
    assert_eq!(tx.out.outcome, halt());
    let (p, q) = (Some(data_cap(b"P", 1)), Some(data_cap(b"Q", 1)));
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            Seen::Yielded,
            Seen::Slot(0, p),
            OK,
            returned(halt()),
            Seen::Slot(0, q),
        ]
    );
    assert_eq!(
        world.seen_by(B),
        vec![OK, OK, Seen::Resumed, Seen::Slot(0, q)]
    );
    assert_eq!(
        tx.trace,
        vec![
            push(R),
            push(A),
            push(B),
            yielded(B, A),
            resumed(A, B, false),
            pop(B, halt()),
            pop(A, halt()),
            pop(R, halt()),
        ]
    );
}

fn writes_of_t18(handler_traps: bool) -> (Tx<CallResult>, World) {
    let handler = if handler_traps {
        vec![
            Op::MintRef(0),
            Op::Call(A, 100_000),
            Op::Store(b"t", b"1"),
            Op::Resume,
            Op::Trap,
        ]
    } else {
        vec![
            Op::MintRef(0),
            Op::Call(A, 100_000),
            Op::Store(b"t", b"1"),
            Op::Resume,
        ]
    };
    let programs = vec![
        ("r", vec![Op::Call(T, 1_000_000), Op::Store(b"r", b"1")]),
        ("t", handler),
        (
            "a",
            vec![
                Op::Store(b"a", b"1"),
                Op::Call(B, 10_000),
                Op::Store(b"a2", b"1"),
            ],
        ),
        (
            "b",
            vec![Op::Store(b"b", b"1"), Op::Yield(0), Op::Store(b"b2", b"1")],
        ),
    ];
    let mut world = World::new(programs, &[(R, "r"), (T, "t"), (A, "a"), (B, "b")]);
    (world.call(R), world)
}

/// T18: on [R, T, A, B], B yields past A to T; A is never woken; A's and
/// B's writes reach the state through T's halt, and only then.
#[test]
fn t18_a_yield_past_an_intermediate_wakes_only_the_target() {
    let (tx, world) = writes_of_t18(false);
    assert_eq!(
        world.seen_by(A),
        vec![returned(halt())],
        "A only sees its call return"
    );
    assert_eq!(
        stored(&tx.changes),
        keys(&[(R, "r"), (T, "t"), (A, "a"), (A, "a2"), (B, "b"), (B, "b2")])
    );
    assert_eq!(
        tx.trace,
        vec![
            push(R),
            push(T),
            push(A),
            push(B),
            yielded(B, T),
            resumed(T, B, false),
            pop(B, halt()),
            pop(A, halt()),
            pop(T, halt()),
            pop(R, halt()),
        ]
    );
    // T faults after resuming: A's and B's halted writes go with T's.
    let (tx, world) = writes_of_t18(true);
    assert_eq!(
        world.seen_by(R),
        vec![returned(Outcome::Fault(FaultReason::Trap))]
    );
    assert_eq!(stored(&tx.changes), keys(&[(R, "r")]));
}

/// T19: cascade on [S, T, A, B]: B yields to T, T's handler yields to S
/// with a ref kept in an ephemeral slot, S resumes T, T resumes B; the
/// trace is exact and all four instances' writes land.
#[test]
fn t19_a_handler_yields_further_down_and_everything_resumes_in_order() {
    let programs = vec![
        (
            "s",
            vec![
                Op::MintRef(0),
                Op::Call(T, 1_000_000),
                Op::Store(b"s", b"1"),
                Op::Resume,
            ],
        ),
        (
            "t",
            vec![
                Op::Move(0, 0xF0),
                Op::MintRef(0),
                Op::Call(A, 100_000),
                Op::Store(b"t", b"1"),
                Op::Yield(0xF0),
                Op::Store(b"t2", b"1"),
                Op::Resume,
            ],
        ),
        ("a", vec![Op::Store(b"a", b"1"), Op::Call(B, 10_000)]),
        (
            "b",
            vec![Op::Store(b"b", b"1"), Op::Yield(0), Op::Store(b"b2", b"1")],
        ),
    ];
    let mut world = World::new(programs, &[(S, "s"), (T, "t"), (A, "a"), (B, "b")]);
    let tx = world.call(S);
    assert_eq!(tx.out.outcome, halt());
    assert_eq!(
        tx.trace,
        vec![
            push(S),
            push(T),
            push(A),
            push(B),
            yielded(B, T),
            yielded(T, S),
            resumed(S, T, false),
            resumed(T, B, false),
            pop(B, halt()),
            pop(A, halt()),
            pop(T, halt()),
            pop(S, halt()),
        ]
    );
    assert_eq!(world.seen_by(S), vec![OK, Seen::Yielded, returned(halt())]);
    assert_eq!(
        world.seen_by(T),
        vec![OK, OK, Seen::Yielded, Seen::Resumed, returned(halt())]
    );
    assert_eq!(
        stored(&tx.changes),
        keys(&[(S, "s"), (T, "t"), (T, "t2"), (A, "a"), (B, "b"), (B, "b2")])
    );
}

/// T20: `resume_fault` cancels the yielder: its writes and logs are gone,
/// its caller sees `Cancelled` and carries on, the handler's
/// `resume_fault` returns the caller's halt.
#[test]
fn t20_resume_fault_cancels_the_yielder_and_its_caller_carries_on() {
    let programs = vec![
        (
            "t",
            vec![
                Op::MintRef(0),
                Op::Call(A, 100_000),
                Op::ResumeFault,
                Op::Log(b"t"),
            ],
        ),
        (
            "a",
            vec![
                Op::Store(b"a", b"1"),
                Op::Log(b"a"),
                Op::Call(B, 10_000),
                Op::Store(b"a2", b"1"),
            ],
        ),
        (
            "b",
            vec![
                Op::Store(b"b", b"1"),
                Op::Log(b"b"),
                Op::Yield(0),
                Op::Store(b"b2", b"1"),
            ],
        ),
    ];
    let mut world = World::new(programs, &[(T, "t"), (A, "a"), (B, "b")]);
    let tx = world.call(T);
    assert_eq!(tx.out.outcome, halt());
    assert_eq!(
        world.seen_by(A),
        vec![returned(Outcome::Fault(FaultReason::Cancelled))]
    );
    assert_eq!(world.seen_by(T), vec![OK, Seen::Yielded, returned(halt())]);
    assert_eq!(stored(&tx.changes), keys(&[(A, "a"), (A, "a2")]));
    let logs: Vec<&[u8]> = tx.effects.logs.iter().map(|l| &l.data[..]).collect();
    assert_eq!(logs, vec![&b"a"[..], b"t"]);
    assert_eq!(
        tx.trace,
        vec![
            push(T),
            push(A),
            push(B),
            yielded(B, T),
            resumed(T, B, true),
            cancel(B),
            pop(A, halt()),
            pop(T, halt()),
        ]
    );
}

fn t21(handler_end: Op) -> (Tx<CallResult>, World) {
    let programs = vec![
        (
            "r",
            vec![
                Op::Store(b"r", b"1"),
                Op::Call(T, 1_000_000),
                Op::Store(b"r2", b"1"),
            ],
        ),
        (
            "t",
            vec![
                Op::Store(b"t0", b"1"),
                Op::MintRef(0),
                Op::Call(A, 100_000),
                Op::Store(b"t1", b"1"),
                handler_end,
            ],
        ),
        ("a", vec![Op::Store(b"a", b"1"), Op::Call(B, 10_000)]),
        ("b", vec![Op::Store(b"b", b"1"), Op::Yield(0)]),
    ];
    let mut world = World::new(programs, &[(R, "r"), (T, "t"), (A, "a"), (B, "b")]);
    (world.call(R), world)
}

/// T21: a handler that halts while its yielder waits cancels the waiting
/// subtree and commits its own writes; one that traps faults with all of it.
#[test]
fn t21_the_end_of_a_handler_cancels_the_subtree_waiting_on_it() {
    let (tx, world) = t21(Op::GasLeft);
    assert_eq!(world.seen_by(R), vec![returned(halt())]);
    assert_eq!(
        stored(&tx.changes),
        keys(&[(R, "r"), (R, "r2"), (T, "t0"), (T, "t1")])
    );
    assert_eq!(
        tx.trace[4..],
        [
            yielded(B, T),
            cancel(B),
            cancel(A),
            pop(T, halt()),
            pop(R, halt())
        ]
    );
    let (tx, world) = t21(Op::Trap);
    assert_eq!(
        world.seen_by(R),
        vec![returned(Outcome::Fault(FaultReason::Trap))]
    );
    assert_eq!(stored(&tx.changes), keys(&[(R, "r"), (R, "r2")]));
}

/// T22 and "a yield to oneself or upward": a yield through a Data cap is
/// WHAT, to the yielder's own instance or to an entry above it HUH, at
/// depth 64 HUH; the yielder continues each time and nothing changes.
#[test]
fn t22_yields_in_the_wrong_direction_or_of_the_wrong_kind_are_refused() {
    let programs = vec![
        (
            "a",
            vec![
                Op::MintRef(0),
                Op::Call(B, 100_000),
                Op::Yield(0),
                Op::Resume,
            ],
        ),
        (
            "b",
            vec![
                Op::Move(0, 0xF2),
                Op::Mint(b"d", 0, 0xF0),
                Op::Yield(0xF0),
                Op::MintRef(0xF1),
                Op::Yield(0xF1),
                Op::Yield(0xF5),
                Op::Store(b"b", b"1"),
                Op::MintRef(0),
                Op::Yield(0xF2),
                Op::Store(b"b2", b"1"),
            ],
        ),
    ];
    let mut world = World::new(programs, &[(A, "a"), (B, "b")]);
    let tx = world.call(A);
    assert_eq!(
        world.seen_by(B)[..6],
        [
            OK,
            OK,
            Seen::Refused(CapRefusal::WrongKind),
            OK,
            Seen::Refused(CapRefusal::NotBelow),
            Seen::Refused(CapRefusal::WrongKind),
        ]
    );
    // B's last yield goes to A with B's own ref as payload (slot 0): A,
    // handling, yields with it, which names an entry above A.
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            Seen::Yielded,
            Seen::Refused(CapRefusal::NotBelow),
            returned(halt())
        ]
    );
    assert_eq!(stored(&tx.changes), keys(&[(B, "b"), (B, "b2")]));
    let yields = tx
        .trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Yield { .. }))
        .count();
    assert_eq!(yields, 1);
}

/// T22: a yield that would push the 65th entry is refused.
#[test]
fn t22_a_yield_at_depth_64_is_refused() {
    let ids: Vec<Identity> = (0..MAX_CALL_DEPTH as u8)
        .map(|i| Identity([i + 1; 20]))
        .collect();
    let names: Vec<&'static str> = (0..MAX_CALL_DEPTH)
        .map(|i| &*Box::leak(format!("L{i}").into_boxed_str()))
        .collect();
    let programs = (0..MAX_CALL_DEPTH)
        .map(|i| {
            let ops = match (i, ids.get(i + 1)) {
                (0, Some(next)) => vec![Op::MintRef(0), Op::Call(*next, 1_000_000)],
                (_, Some(next)) => vec![Op::Call(*next, 1_000_000)],
                (_, None) => vec![Op::Yield(0), Op::Store(b"went on", b"1")],
            };
            (names[i], ops)
        })
        .collect();
    let instances: Vec<(Identity, &str)> = ids.iter().zip(&names).map(|(i, n)| (*i, *n)).collect();
    let mut world = World::new(programs, &instances);
    let tx = world.call(ids[0]);
    assert_eq!(tx.out.outcome, halt());
    assert_eq!(
        world.seen_by(ids[MAX_CALL_DEPTH - 1]),
        vec![Seen::Refused(CapRefusal::DepthExceeded)]
    );
    assert_eq!(
        stored(&tx.changes),
        vec![(ids[MAX_CALL_DEPTH - 1], b"went on".to_vec())]
    );
}

// --- G. Reentrancy through a yield ------------------------------------

/// T23: on [R, A, B, ref(A)], A's handler calling B, A or R is reentrancy;
/// none of them runs.
#[test]
fn t23_a_handler_cannot_reenter_anything_on_the_stack() {
    let programs = vec![
        ("r", vec![Op::Call(A, 1_000_000)]),
        (
            "a",
            vec![
                Op::MintRef(0),
                Op::Call(B, 100_000),
                Op::Call(B, 1000),
                Op::Call(A, 1000),
                Op::Call(R, 1000),
                Op::Resume,
            ],
        ),
        ("b", vec![Op::Yield(0), Op::Store(b"b", b"1")]),
    ];
    let mut world = World::new(programs, &[(R, "r"), (A, "a"), (B, "b")]);
    let tx = world.call(R);
    let reentrancy = |identity| {
        returned(Outcome::Fault(FaultReason::Reentrancy {
            engine: E,
            identity,
        }))
    };
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            Seen::Yielded,
            reentrancy(B),
            reentrancy(A),
            reentrancy(R),
            returned(halt())
        ]
    );
    let pushes = tx
        .trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Push { .. }))
        .count();
    assert_eq!(pushes, 3, "{:?}", tx.trace);
    assert_eq!(stored(&tx.changes), keys(&[(B, "b")]));
}

/// T24: the busy rule: B called C (C halted, its writes pending in B), B
/// yields to A; A's handler calling C is `Busy`, C does not run, and C's
/// state is exactly what B's call wrote.
#[test]
fn t24_a_handler_cannot_call_what_a_paused_subtree_touched() {
    let programs = vec![
        ("r", vec![Op::Call(A, 1_000_000)]),
        (
            "a",
            vec![
                Op::MintRef(0),
                Op::Call(B, 100_000),
                Op::Call(C, 1000),
                Op::Resume,
            ],
        ),
        ("b", vec![Op::Call(C, 1000), Op::Yield(0)]),
        ("c", vec![Op::Incr(b"n")]),
    ];
    let mut world = World::new(programs, &[(R, "r"), (A, "a"), (B, "b"), (C, "c")]);
    let tx = world.call(R);
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            Seen::Yielded,
            returned(Outcome::Fault(FaultReason::Busy {
                engine: E,
                identity: C
            })),
            returned(halt()),
        ]
    );
    let c_pushes = tx.trace.iter().filter(|e| **e == push(C)).count();
    assert_eq!(c_pushes, 1);
    assert_eq!(written(&tx.changes, C, &storage(b"n")), Some(Some(vec![1])));
}

/// The busy rule covers what a paused subtree spawned, and lifts when the
/// yield is resolved: after the resume the same call runs.
#[test]
fn t31_a_spawn_by_a_paused_spawner_is_busy_until_it_resumes() {
    let spawned = spawn_identity(P, 0);
    let programs = vec![
        (
            "r",
            vec![
                Op::MintRef(0),
                Op::Call(P, 1_000_000),
                Op::Call(spawned, 1000),
                Op::Resume,
                Op::Call(spawned, 1000),
            ],
        ),
        (
            "p",
            vec![
                Op::Move(0, 0xF2),
                Op::MintCode("child", 0xF0),
                Op::ImageMake(0xF0, None, 0xF1),
                Op::Spawn(0xF1, 1),
                Op::Yield(0xF2),
            ],
        ),
        ("child", vec![Op::Store(b"c", b"1")]),
    ];
    let mut world = World::new(programs, &[(R, "r"), (P, "p")]);
    let tx = world.call(R);
    assert_eq!(
        world.seen_by(R),
        vec![
            OK,
            Seen::Yielded,
            returned(Outcome::Fault(FaultReason::Busy {
                engine: E,
                identity: spawned
            })),
            returned(halt()),
            returned(halt()),
        ]
    );
    assert_eq!(stored(&tx.changes), keys(&[(spawned, "c")]));
}

/// T25: ownership-aware revert: A's handler calls D (k = 1), resumes B, B
/// calls D (reads 1, writes 2) and faults: D.k is 1, the handler's write
/// survives B's revert.
#[test]
fn t25_a_faulting_yielder_reverts_its_own_writes_and_keeps_the_handlers() {
    let programs = vec![
        (
            "a",
            vec![
                Op::MintRef(0),
                Op::Call(B, 100_000),
                Op::Call(D, 1000),
                Op::Resume,
            ],
        ),
        (
            "b",
            vec![
                Op::Store(b"b", b"1"),
                Op::Yield(0),
                Op::Call(D, 1000),
                Op::Trap,
            ],
        ),
        ("d", vec![Op::Incr(b"k")]),
    ];
    let mut world = World::new(programs, &[(A, "a"), (B, "b"), (D, "d")]);
    let tx = world.call(A);
    assert_eq!(
        world.seen_by(B),
        vec![Seen::Resumed, returned(Outcome::Halt { output: vec![1] })],
        "D read the handler's k = 1"
    );
    assert_eq!(
        world.seen_by(A),
        vec![
            OK,
            Seen::Yielded,
            returned(Outcome::Halt { output: vec![0] }),
            returned(Outcome::Fault(FaultReason::Trap)),
        ]
    );
    assert_eq!(written(&tx.changes, D, &storage(b"k")), Some(Some(vec![1])));
    assert_eq!(written(&tx.changes, B, &storage(b"b")), None);
}

// --- H. Cascade revoke, structurally ----------------------------------

/// T27: a YieldRef passed down three levels works for the deepest entry;
/// once its entry popped it is stale: P's yield with it is refused and
/// nothing changes.
#[test]
fn t27_a_yieldref_is_stale_once_its_entry_popped() {
    let relay = |next| {
        vec![
            Op::Move(0, 0xF0),
            Op::Copy(0xF0, 0),
            Op::Call(next, 100_000),
        ]
    };
    let l1 = id(0x01);
    let l2 = id(0x02);
    let l3 = id(0x03);
    let programs = vec![
        (
            "p",
            vec![
                Op::Call(K, 1_000_000),
                Op::Peek(0),
                Op::Yield(0),
                Op::Store(b"p", b"1"),
            ],
        ),
        ("k", vec![Op::MintRef(0), Op::Call(l1, 500_000), Op::Resume]),
        ("l1", relay(l2)),
        ("l2", relay(l3)),
        (
            "l3",
            vec![Op::Move(0, 0xF2), Op::Copy(0xF2, 0), Op::Yield(0xF2)],
        ),
    ];
    let mut world = World::new(
        programs,
        &[(P, "p"), (K, "k"), (l1, "l1"), (l2, "l2"), (l3, "l3")],
    );
    let tx = world.call(P);
    assert_eq!(world.seen_by(l3), vec![OK, OK, Seen::Resumed]);
    let p = world.seen_by(P);
    assert!(
        matches!(p[1], Seen::Slot(0, Some(Cap::YieldRef { .. }))),
        "K halted with its ref in slot 0: {p:?}"
    );
    assert_eq!(p[2], Seen::Refused(CapRefusal::Stale));
    let yields = tx
        .trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Yield { .. }))
        .count();
    assert_eq!(yields, 1, "the stale yield left no trace");
    assert_eq!(stored(&tx.changes), keys(&[(P, "p")]));
}

/// T28: fault cascade on [R, T, A, B, ref(T)] when T's handler traps:
/// every entry above R pops (B and A cancelled, T trapped), refs naming T
/// and B are stale afterwards, state and logs are R's, and R paid for all.
#[test]
fn t28_a_trapping_handler_takes_its_subtree_with_it() {
    let programs = vec![
        (
            "r",
            vec![
                Op::Store(b"r", b"1"),
                Op::Log(b"r"),
                Op::MintRef(0),
                Op::Call(T, 1_000_000),
                Op::Copy(0, 0xF5),
                Op::Resume,
                Op::Copy(0, 0xF6),
                Op::Resume,
                Op::Yield(0xF5),
                Op::Yield(0xF6),
                Op::Store(b"r2", b"1"),
            ],
        ),
        (
            "t",
            vec![
                Op::Move(0, 0xF1),
                Op::Store(b"t", b"1"),
                Op::Log(b"t"),
                Op::MintRef(0),
                Op::Charge(100),
                Op::Call(A, 100_000),
                Op::Copy(0, 0xF2),
                Op::MintRef(0),
                Op::Yield(0xF1),
                Op::Copy(0xF2, 0),
                Op::Yield(0xF1),
                Op::Charge(50),
                Op::Trap,
            ],
        ),
        (
            "a",
            vec![Op::Store(b"a", b"1"), Op::Charge(10), Op::Call(B, 10_000)],
        ),
        (
            "b",
            vec![
                Op::Store(b"b", b"1"),
                Op::Log(b"b"),
                Op::Charge(20),
                Op::Move(0, 0xF0),
                Op::MintRef(0),
                Op::Yield(0xF0),
            ],
        ),
    ];
    let mut world = World::new(programs, &[(R, "r"), (T, "t"), (A, "a"), (B, "b")]);
    let tx = world.call(R);
    assert_eq!(
        world.seen_by(R),
        vec![
            OK,
            Seen::Yielded,
            OK,
            Seen::Yielded,
            OK,
            Seen::Returned(Outcome::Fault(FaultReason::Trap), 180),
            Seen::Refused(CapRefusal::Stale),
            Seen::Refused(CapRefusal::Stale),
        ]
    );
    assert_eq!(
        tx.trace[4..],
        [
            yielded(B, T),
            yielded(T, R),
            resumed(R, T, false),
            yielded(T, R),
            resumed(R, T, false),
            cancel(B),
            cancel(A),
            pop(T, Outcome::Fault(FaultReason::Trap)),
            pop(R, halt()),
        ]
    );
    assert_eq!(stored(&tx.changes), keys(&[(R, "r"), (R, "r2")]));
    let logs: Vec<&[u8]> = tx.effects.logs.iter().map(|l| &l.data[..]).collect();
    assert_eq!(logs, vec![&b"r"[..]]);
    assert_eq!(tx.out.gas_used, 180);
    assert_eq!(tx.effects.gas_by_engine[&E], 180);
}

// --- I. Gas -------------------------------------------------------------

/// T30: a yield settles the yielder's gas into the handler; the handler
/// burns down to 1,000; the resumed yielder is clamped to it and runs out.
#[test]
fn t30_a_resumed_yielder_gets_at_most_what_its_handler_left() {
    let programs = vec![
        (
            "t",
            vec![
                Op::MintRef(0),
                Op::Call(A, 50_000),
                Op::BurnTo(1000),
                Op::Resume,
            ],
        ),
        ("a", vec![Op::Call(B, 10_000)]),
        (
            "b",
            vec![
                Op::Charge(4000),
                Op::Yield(0),
                Op::GasLeft,
                Op::Charge(2000),
            ],
        ),
    ];
    let mut world = World::new(programs, &[(T, "t"), (A, "a"), (B, "b")]);
    let tx = world.tx(|k| {
        k.call(
            E,
            Message {
                gas_limit: 100_000,
                ..message(T)
            },
        )
        .unwrap()
    });
    assert_eq!(world.seen_by(B), vec![Seen::Resumed, Seen::Gas(1000)]);
    assert_eq!(
        world.seen_by(A),
        vec![Seen::Returned(Outcome::Fault(FaultReason::OutOfGas), 5000)]
    );
    assert_eq!(tx.out.outcome, halt());
    assert_eq!(tx.out.gas_used, 100_000);
    assert!(tx.effects.braid_gas_used <= 10_000_000);
    assert_eq!(tx.effects.gas_by_engine[&E], tx.out.gas_used);
}

// --- J. Spawn and set_image ----------------------------------------------

/// T31: the spawned identity follows the formula and the nonce counts; a
/// spawner that faults leaves no key of its spawn; otherwise the spawn is
/// callable in the next block.
#[test]
fn t31_derive_spawn_creates_an_instance_that_lives_with_its_spawner() {
    let spawn = vec![
        Op::MintCode("child", 0xF0),
        Op::ImageMake(0xF0, None, 0xF1),
        Op::Spawn(0xF1, 1),
    ];
    let programs = vec![
        ("p", spawn.clone()),
        ("faulty", [spawn, vec![Op::Trap]].concat()),
        ("child", vec![Op::Store(b"c", b"1")]),
    ];
    let mut world = World::new(programs, &[(P, "p"), (X, "faulty")]);
    let tx = world.call(X);
    assert!(!tx.out.outcome.is_halt());
    let lost = spawn_identity(X, 0);
    assert!(
        tx.changes
            .iter()
            .all(|(k, _)| k.identity != lost && k.identity != X)
    );
    let tx = world.call(P);
    let child = spawn_identity(P, 0);
    let record = written(&tx.changes, child, &[0x00]).flatten().unwrap();
    assert_eq!(record.len(), 96);
    assert_eq!(record[..32], keccak256(b"child"));
    assert_eq!(
        written(&tx.changes, P, &[0x04, 0x01]),
        Some(Some(1u64.to_be_bytes().to_vec()))
    );
    let tx = world.call(child);
    assert_eq!(tx.out.outcome, halt());
    assert_eq!(stored(&tx.changes), keys(&[(child, "c")]));
}

/// T32: `set_image` in a faulting invocation leaves the record as it was;
/// in a halting one the next call runs the new code and the chain is
/// blake2b(0x01 ‖ old chain ‖ image hash).
#[test]
fn t32_set_image_switches_code_from_the_next_call_and_only_on_halt() {
    let switch = vec![
        Op::MintCode("v2", 0xF0),
        Op::ImageMake(0xF0, None, 0xF1),
        Op::SetImage(0xF1),
    ];
    let programs = vec![
        (
            "v1",
            [switch.clone(), vec![Op::Store(b"v1", b"1")]].concat(),
        ),
        ("v1-faulty", [switch, vec![Op::Trap]].concat()),
        ("v2", vec![Op::Store(b"v2", b"1")]),
    ];
    let mut world = World::new(programs, &[(A, "v1"), (B, "v1-faulty")]);
    let tx = world.call(B);
    assert!(tx.changes.iter().all(|(k, _)| k.identity != B));
    assert_eq!(
        world.db.get(E, &B, &[0]).unwrap(),
        Some(keccak256(b"v1-faulty").to_vec())
    );
    let tx = world.call(A);
    assert_eq!(
        stored(&tx.changes),
        keys(&[(A, "v1")]),
        "the running invocation kept its code"
    );
    let image = Image {
        engine: E,
        code_hash: keccak256(b"v2"),
        pinned: vec![],
    };
    let chain = blake2b(&[&[0x01], &deployed_chain("v1"), &image_hash(&image)]);
    assert_eq!(
        world.db.get(E, &A, &[0]).unwrap(),
        Some([&keccak256(b"v2")[..], &image_hash(&image), &chain].concat())
    );
    let tx = world.call(A);
    assert_eq!(stored(&tx.changes), keys(&[(A, "v2")]));
}
