//! Caps, slot 0 and YIELD/RESUME through real PVM contracts (RFC 0010,
//! CAPS.md §7.12): the PVM as a resumable engine on the kernel's
//! trampoline, host calls 15–36 from C (`contracts/src/capscript.c`,
//! `orch.c`, `worker.c`, `square.c`). The kernel rules themselves are
//! tested through a scripted engine in `kernel/tests/caps.rs`; these tests
//! show the PVM side reaches them. Every test runs on every backend.

#[macro_use]
mod common;

use std::path::PathBuf;
use std::sync::Arc;

use braid_core::{
    BlockEnv, CallResult, EngineId, Engines, Identity, Message, NoBlockHashes, Outcome,
    module_identity, namespace,
};
use braid_kernel::{BlockState, Kernel, TraceEvent};
use braid_pvm::caps::{HUH, YIELDED};
use braid_pvm::host::{OK, WHAT};
use braid_pvm::{Backend, Config, PvmEngine, PvmSpec};
use braid_state::{Backend as StateBackend, MemoryBackend, RocksDbBackend, StateDb, StateKey};

run_tests! {
    t3_a_64_deep_pvm_relay_chain_runs_on_a_256_kib_stack_and_the_65th_call_is_refused,
    t5_pvm_slots_commit_on_halt_and_vanish_on_revert_fault_and_a_faulting_caller,
    t6_pvm_cap_keys_are_provable_and_roots_agree_across_backends_and_reruns,
    t7_pvm_data_is_canonical_and_padded_on_read,
    t8_pvm_cnodes_round_trip_and_refuse_a_yieldref,
    t9_a_pvm_storage_key_shaped_like_a_slot_is_storage,
    t11_pvm_type_chains_follow_the_spawner,
    t12_a_call_through_a_stale_pvm_instance_cap_is_a_type_mismatch,
    t13_a_pinned_slot_of_a_pvm_instance_refuses_every_write_path,
    t14_a_pvm_set_image_changes_the_pinned_overlay_from_the_next_invocation,
    t15_pvm_slot_0_goes_down_on_call_up_on_halt_and_stays_on_revert_or_fault,
    t16_a_pvm_yieldref_stays_in_slot_0_and_ephemeral_slots,
    t17_a_pvm_yield_and_resume_round_trip_through_a_call_cap,
    t18_a_pvm_yield_past_an_intermediate_wakes_only_the_target,
    t19_a_pvm_handler_yields_further_down_and_everything_resumes_in_order,
    t20_a_pvm_resume_fault_cancels_the_yielder_and_its_caller_carries_on,
    t21_the_end_of_a_pvm_handler_cancels_the_subtree_waiting_on_it,
    t22_pvm_yields_in_the_wrong_direction_or_of_the_wrong_kind_are_huh,
    t23_a_pvm_handler_cannot_reenter_anything_on_the_stack,
    t24_a_pvm_handler_cannot_call_what_a_paused_subtree_touched,
    t25_a_faulting_pvm_yielder_reverts_its_own_writes_and_keeps_the_handlers,
    t27_a_pvm_yield_through_a_stale_yieldref_is_huh_and_changes_nothing,
    t28_a_trapping_pvm_handler_takes_its_subtree_with_it,
    t29_the_reserved_ids_answer_what,
    t30_a_resumed_pvm_yielder_gets_at_most_what_its_handler_left,
    t31_a_pvm_spawn_lives_with_its_spawner,
    t32_a_pvm_set_image_switches_code_from_the_next_call_and_only_on_halt,
    t34_the_orchestrator_pattern_on_pvm_contracts,
    t34_a_faulting_service_sends_failed_and_keeps_the_workers_first_write,
    t34_the_handler_cannot_reenter_the_worker,
    t34_roots_agree_on_memory_and_rocksdb_and_across_reruns,
}

fn contract(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/build")
        .join(format!("{name}.pvm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const ALICE: Identity = Identity([0xa1; 20]);

struct Chain {
    db: StateDb,
    engines: Engines,
    /// The keys the last transaction wrote.
    written: Vec<StateKey>,
}

impl Chain {
    fn new(backend: Backend) -> Chain {
        Chain::on(backend, Arc::new(MemoryBackend::new()))
    }

    fn on(backend: Backend, state: Arc<dyn StateBackend>) -> Chain {
        let mut engines = Engines::new();
        let engine = PvmEngine::with_config(Config::new(PvmSpec::Gp0_7_2).with_backend(backend))
            .expect("the backend is available");
        engines.register(Arc::new(engine));
        Chain {
            db: StateDb::open(state).unwrap(),
            engines,
            written: Vec::new(),
        }
    }

    /// Runs `f` as one transaction of one block, committed, with the
    /// kernel's trace on; answers `f`'s value and the trace.
    fn tx<T>(&mut self, f: impl FnOnce(&mut Kernel<'_, '_>) -> T) -> (T, Vec<TraceEvent>) {
        let mut block = BlockState::new(&self.db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 50_000_000);
        kernel.record_trace();
        let out = f(&mut kernel);
        let trace = kernel.take_trace();
        kernel.commit();
        let changes = block.into_changes();
        self.written = changes.iter().map(|(key, _)| key.clone()).collect();
        self.db.commit_block(changes, |_| Vec::new()).unwrap();
        (out, trace)
    }

    /// Deploys `N` capscript instances, numbered from 0.
    fn capscripts<const N: usize>(&mut self) -> [Identity; N] {
        std::array::from_fn(|n| self.deploy("capscript", n as u32))
    }

    /// Deploys contract `name` as instance number `n` of it.
    fn deploy(&mut self, name: &str, n: u32) -> Identity {
        let id = module_identity(4242, format!("{name}/{n}").as_bytes(), 1);
        let code = contract(name);
        self.tx(|k| k.deploy(EngineId::PVM, id, &code)).0.unwrap();
        id
    }

    fn call(&mut self, target: Identity, input: Vec<u8>) -> (CallResult, Vec<TraceEvent>) {
        let (result, trace) = self.tx(|k| {
            k.call(
                EngineId::PVM,
                Message {
                    caller: ALICE,
                    target,
                    input,
                    value: [0; 32],
                    gas_limit: 10_000_000,
                },
            )
        });
        (result.unwrap(), trace)
    }

    /// Guest storage key `key` of `id` (under `0x01`).
    fn storage(&self, id: Identity, key: &[u8]) -> Option<Vec<u8>> {
        self.raw(id, &[&[namespace::STORAGE][..], key].concat())
    }

    /// Engine key `key` of `id`, as stored.
    fn raw(&self, id: Identity, key: &[u8]) -> Option<Vec<u8>> {
        self.db.get(EngineId::PVM, &id, key).unwrap()
    }

    /// The answers capscript instance `id` stored under "r" (u64 each).
    fn answers(&self, id: Identity) -> Option<Vec<u64>> {
        self.storage(id, b"r").map(|bytes| {
            bytes
                .chunks(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect()
        })
    }
}

/// capscript ops (contracts/src/capscript.c).
mod op {
    use braid_core::Identity;

    pub fn storage_write(key: &[u8], value: &[u8]) -> Vec<u8> {
        [
            &[0x01, key.len() as u8][..],
            key,
            &[value.len() as u8],
            value,
        ]
        .concat()
    }
    pub fn slot_kind(slot: u8) -> Vec<u8> {
        vec![0x02, slot]
    }
    pub fn data_mint(bytes: &[u8], dst: u8) -> Vec<u8> {
        [&[0x03, bytes.len() as u8][..], bytes, &[0, dst]].concat()
    }
    pub fn slot_copy(src: u8, dst: u8) -> Vec<u8> {
        vec![0x04, src, dst]
    }
    pub fn slot_move(src: u8, dst: u8) -> Vec<u8> {
        vec![0x05, src, dst]
    }
    pub fn yieldref_mint(dst: u8) -> Vec<u8> {
        vec![0x07, dst]
    }
    pub fn call(id: Identity, input: &[u8]) -> Vec<u8> {
        [&[0x08][..], &id.0, &[input.len() as u8], input].concat()
    }
    pub fn call_cap(slot: u8, input: &[u8]) -> Vec<u8> {
        [&[0x09, slot, 0, input.len() as u8][..], input].concat()
    }
    pub fn yield_via(slot: u8) -> Vec<u8> {
        vec![0x0A, slot]
    }
    pub fn resume() -> Vec<u8> {
        vec![0x0B]
    }
    pub fn resume_fault() -> Vec<u8> {
        vec![0x0C]
    }
    /// A byte no op starts with: capscript reverts "bad script".
    pub fn revert() -> Vec<u8> {
        vec![0xFF]
    }
    pub fn trap() -> Vec<u8> {
        vec![0x10]
    }
    pub fn reserved() -> Vec<u8> {
        vec![0x0D]
    }
    pub fn instance_cap(id: Identity, dst: u8) -> Vec<u8> {
        [&[0x0E, 2][..], &id.0, &[dst]].concat()
    }
    pub fn same_type(a: u8, b: u8) -> Vec<u8> {
        vec![0x11, a, b]
    }
    pub fn data_read(slot: u8) -> Vec<u8> {
        vec![0x0F, slot]
    }
    pub fn slot_drop(slot: u8) -> Vec<u8> {
        vec![0x06, slot]
    }
    pub fn cnode_pack(first: u8, count: u8, dst: u8) -> Vec<u8> {
        vec![0x12, first, count, dst]
    }
    pub fn cnode_unpack(cnode: u8, first: u8) -> Vec<u8> {
        vec![0x13, cnode, first]
    }
    /// `pinned` 0xFF: no pinned slots.
    pub fn image_make(code: u8, pinned: u8, dst: u8) -> Vec<u8> {
        vec![0x14, code, pinned, dst]
    }
    pub fn derive_spawn(image: u8, dst: u8) -> Vec<u8> {
        vec![0x15, image, dst]
    }
    pub fn set_image(slot: u8) -> Vec<u8> {
        vec![0x16, slot]
    }
    /// Burns gas until at most `target` is left; answers the gas left.
    pub fn burn_to(target: u32) -> Vec<u8> {
        [&[0x18][..], &target.to_le_bytes()].concat()
    }
    pub fn gas() -> Vec<u8> {
        vec![0x19]
    }
    /// Increments the u64 under storage key `key`; answers the new value.
    pub fn incr(key: &[u8]) -> Vec<u8> {
        [&[0x1A, key.len() as u8][..], key].concat()
    }
    /// A Data cap of up to 65,535 bytes (its size: their length).
    pub fn data_mint_long(bytes: &[u8], dst: u8) -> Vec<u8> {
        let len = u16::try_from(bytes.len()).expect("at most 65,535 bytes");
        [&[0x17][..], &len.to_le_bytes(), bytes, &[dst]].concat()
    }
}

fn script(ops: &[Vec<u8>]) -> Vec<u8> {
    ops.concat()
}

fn pushes(trace: &[TraceEvent]) -> usize {
    trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Push { .. }))
        .count()
}

/// How many times PVM instance `identity` was pushed.
fn pushes_of(trace: &[TraceEvent], identity: Identity) -> usize {
    trace
        .iter()
        .filter(|e| {
            **e == TraceEvent::Push {
                engine: EngineId::PVM,
                identity,
            }
        })
        .count()
}

/// T3: relays `0..n` each call the next, the last calls `target`; run on a
/// thread with a native stack of `stack_kib` KiB. The trampoline keeps one
/// Rust frame for all levels; the recursive path (one interpreter loop and
/// kernel call per level) overflowed 128 KiB with 64 levels when measured
/// (RFC 0010 "The stack and the trampoline"), the trampoline runs in 32.
fn relay_chain(
    backend: Backend,
    relays: u32,
    stack_kib: usize,
) -> (Outcome, usize, Option<Vec<u64>>) {
    std::thread::Builder::new()
        .stack_size(stack_kib << 10)
        .spawn(move || {
            let mut chain = Chain::new(backend);
            let ids: Vec<Identity> = (0..relays).map(|n| chain.deploy("relay", n)).collect();
            let target = chain.deploy("capscript", 0);
            // Innermost first: relay i's input is next ‖ key ‖ next's input.
            let mut input = Vec::new();
            let mut next = target;
            for (i, id) in ids.iter().enumerate().rev() {
                input = [&next.0[..], &[i as u8], &input].concat();
                next = *id;
            }
            let (result, trace) = chain.call(ids[0], input);
            (result.outcome, pushes(&trace), chain.answers(target))
        })
        .unwrap()
        .join()
        .unwrap()
}

fn t3_a_64_deep_pvm_relay_chain_runs_on_a_256_kib_stack_and_the_65th_call_is_refused(
    backend: Backend,
) {
    // 63 relays and the target: 64 invocations, every status 0 (halt), on
    // CAPS.md's 256 KiB and on 64 KiB, where a recursive kernel overflows.
    for stack_kib in [256, 64] {
        let (outcome, pushed, target) = relay_chain(backend, 63, stack_kib);
        assert_eq!(
            outcome,
            Outcome::Halt {
                output: vec![0; 63]
            }
        );
        assert_eq!(pushed, 64);
        assert_eq!(target, Some(vec![]), "the target at depth 64 ran");
    }

    // 64 relays: the 64th's call would be the 65th invocation. It is
    // refused (status 2), never pushed, and the target never runs.
    let (outcome, pushed, target) = relay_chain(backend, 64, 256);
    let mut statuses = vec![0; 63];
    statuses.push(2);
    assert_eq!(outcome, Outcome::Halt { output: statuses });
    assert_eq!(pushed, 64);
    assert_eq!(target, None);
}

fn t9_a_pvm_storage_key_shaped_like_a_slot_is_storage(backend: Backend) {
    let mut chain = Chain::new(backend);
    let me = chain.deploy("capscript", 0);
    let (result, _) = chain.call(
        me,
        script(&[
            op::storage_write(&[0x04, 0x00, 0x05], b"v"),
            op::slot_kind(5),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(me), Some(vec![OK, 0]), "slot 5 is empty");
    assert_eq!(
        chain.raw(me, &[0x01, 0x04, 0x00, 0x05]),
        Some(b"v".to_vec())
    );
    assert_eq!(chain.raw(me, &[0x04, 0x00, 0x05]), None);
}

fn t17_a_pvm_yield_and_resume_round_trip_through_a_call_cap(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [a, b] = chain.capscripts();
    // B: keep the ref A passed in slot 0, yield "P", read what A resumed with.
    let b_script = script(&[
        op::slot_copy(0, 0xF0),
        op::data_mint(b"P", 0),
        op::yield_via(0xF0),
        op::data_read(0),
    ]);
    // A: a ref to itself in slot 0, call B through an Instance cap, read
    // the payload, answer "Q", resume.
    let a_script = script(&[
        op::yieldref_mint(0),
        op::instance_cap(b, 0xF1),
        op::call_cap(0xF1, &b_script),
        op::data_read(0),
        op::data_mint(b"Q", 0),
        op::resume(),
    ]);
    let (result, trace) = chain.call(a, a_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    let p = u64::from(b'P');
    let q = u64::from(b'Q');
    assert_eq!(
        chain.answers(a),
        Some(vec![OK, OK, YIELDED, 1, p, OK, 0]),
        "call_cap answered 3 with P in slot 0; resume answered B's halt"
    );
    assert_eq!(chain.answers(b), Some(vec![OK, OK, OK, 1, q]));
    let push = |identity| TraceEvent::Push {
        engine: EngineId::PVM,
        identity,
    };
    assert_eq!(trace.first(), Some(&push(a)));
    assert_eq!(trace.get(1), Some(&push(b)));
    assert!(trace.contains(&TraceEvent::Yield { from: b, to: a }));
    assert!(trace.contains(&TraceEvent::Resume {
        by: a,
        to: b,
        fault: false
    }));
}

fn t5_pvm_slots_commit_on_halt_and_vanish_on_revert_fault_and_a_faulting_caller(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [me, callee] = chain.capscripts();
    // Halt: slot 5 holds the Data cap, stored under the slot key, with the
    // bytes content-addressed under the system engine.
    let (result, _) = chain.call(me, script(&[op::data_mint(b"x", 5)]));
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    let slot = StateKey::new(
        EngineId::PVM,
        me,
        braid_kernel::layout::slot_key(5).to_vec(),
    );
    assert!(chain.written.contains(&slot), "{:?}", chain.written);
    assert!(chain.raw(me, &braid_kernel::layout::slot_key(5)).is_some());
    let blobs = chain
        .written
        .iter()
        .filter(|k| k.engine == EngineId::SYSTEM)
        .count();
    assert_eq!(blobs, 1, "the Data bytes: {:?}", chain.written);
    assert_eq!(chain.written.len(), 3, "slot, bytes, the answers");
    // Revert, fault, and a caller that faults after its callee halted:
    // no key at all, the callee's slot 7 included.
    for input in [
        script(&[op::data_mint(b"y", 6), op::revert()]),
        script(&[op::data_mint(b"y", 6), op::trap()]),
        script(&[op::call(callee, &op::data_mint(b"y", 7)), op::trap()]),
    ] {
        let (result, _) = chain.call(me, input);
        assert!(!matches!(result.outcome, Outcome::Halt { .. }));
        assert_eq!(chain.written, vec![], "{:?}", result.outcome);
    }
    assert!(chain.raw(me, &braid_kernel::layout::slot_key(6)).is_none());
    assert!(
        chain
            .raw(callee, &braid_kernel::layout::slot_key(7))
            .is_none()
    );
}

fn t6_pvm_cap_keys_are_provable_and_roots_agree_across_backends_and_reruns(backend: Backend) {
    // Data, a CNode and an Image in persistent slots, through real host
    // calls; on memory and RocksDB, twice each, and on the other PVM
    // backend: one root. Every key the transaction wrote has a proof
    // against it.
    let dir = tempfile::tempdir().unwrap();
    let other = match backend {
        Backend::Interpreter => Backend::Compiler,
        _ => Backend::Interpreter,
    };
    let mut roots = Vec::new();
    for (run, pvm) in [backend, backend, other].into_iter().enumerate() {
        if !pvm.is_available() {
            continue;
        }
        for state in [
            Arc::new(MemoryBackend::new()) as Arc<dyn StateBackend>,
            Arc::new(RocksDbBackend::open(dir.path().join(format!("run{run}"))).unwrap()),
        ] {
            let mut chain = Chain::on(pvm, state);
            let me = chain.deploy("capscript", 0);
            let (result, _) = chain.call(
                me,
                script(&[
                    op::data_mint(b"hello", 4),
                    op::data_mint(b"w", 6),
                    op::cnode_pack(4, 3, 7),
                    op::data_mint_long(&contract("square"), 0xF0),
                    op::image_make(0xF0, 0xFF, 3),
                ]),
            );
            assert!(matches!(result.outcome, Outcome::Halt { .. }));
            let root = chain.db.root();
            for key in &chain.written {
                let value = chain
                    .db
                    .get(key.engine, &key.identity, &key.engine_key)
                    .unwrap();
                assert!(value.is_some(), "{key}");
                let proof = chain.db.prove(key).unwrap();
                braid_state::verify_proof(&root, &key.encode(), value.as_deref(), &proof)
                    .unwrap_or_else(|e| panic!("{key}: {e}"));
            }
            // The four persistent slots (4, 6, 7, 3) are stored; 0xF0 is
            // ephemeral and is not.
            let slots = chain
                .written
                .iter()
                .filter(|k| k.identity == me && k.engine_key[0] == 0x04)
                .count();
            assert_eq!(slots, 4, "{:?}", chain.written);
            roots.push(root);
        }
    }
    assert!(roots.len() >= 4);
    assert!(roots.windows(2).all(|w| w[0] == w[1]), "{roots:?}");
}

fn t7_pvm_data_is_canonical_and_padded_on_read(backend: Backend) {
    let mut chain = Chain::new(backend);
    let me = chain.deploy("capscript", 0);
    // "ab\0\0" and "ab" at size 8 are one value: both read back as 8
    // bytes, "ab" then zeros, and one blob holds "ab". Bytes longer than
    // the size are refused (`WHAT`) and the slot stays empty.
    let mint = |bytes: &[u8], size: u8, dst: u8| {
        [&[0x03, bytes.len() as u8][..], bytes, &[size, dst]].concat()
    };
    let (result, _) = chain.call(
        me,
        script(&[
            mint(b"ab\0\0", 8, 1),
            mint(b"ab", 8, 2),
            op::data_read(1),
            op::data_read(2),
            mint(b"abc", 2, 3),
            op::slot_kind(3),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    let ab = u64::from_le_bytes(*b"ab\0\0\0\0\0\0");
    assert_eq!(chain.answers(me), Some(vec![OK, OK, 8, ab, 8, ab, WHAT, 0]));
    let blobs: Vec<&StateKey> = chain
        .written
        .iter()
        .filter(|k| k.engine == EngineId::SYSTEM)
        .collect();
    assert_eq!(blobs.len(), 1, "{:?}", chain.written);
    assert_eq!(
        chain
            .db
            .get(blobs[0].engine, &blobs[0].identity, &blobs[0].engine_key)
            .unwrap(),
        Some(b"ab".to_vec())
    );
}

/// `slot_kind` answers (RFC 0010): empty, Data.
const KIND_EMPTY: u64 = 0;

fn t8_pvm_cnodes_round_trip_and_refuse_a_yieldref(backend: Backend) {
    let mut chain = Chain::new(backend);
    let me = chain.deploy("capscript", 0);
    // Pack slots 10..13 (10 and 12 full), empty them, unpack: the same caps
    // come back at the same offsets. A range holding a YieldRef does not
    // pack (`HUH`); a range past slot 0xFF is `WHAT`.
    let (result, _) = chain.call(
        me,
        script(&[
            op::data_mint(b"1", 10),
            op::data_mint(b"2", 12),
            op::cnode_pack(10, 3, 0xF0),
            op::slot_drop(10),
            op::slot_drop(12),
            op::cnode_unpack(0xF0, 10),
            op::data_read(10),
            op::slot_kind(11),
            op::data_read(12),
            op::yieldref_mint(0xF2),
            op::cnode_pack(0xF1, 3, 20),
            op::slot_kind(20),
            op::cnode_pack(0xFF, 2, 20),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    let (one, two) = (u64::from(b'1'), u64::from(b'2'));
    assert_eq!(
        chain.answers(me),
        Some(vec![
            OK, OK, OK, OK, OK, OK, 1, one, KIND_EMPTY, 1, two, OK, HUH, KIND_EMPTY, WHAT
        ])
    );
    // The CNode's value is stored once, content-addressed under the system
    // engine (namespace 0x07).
    let cnodes = chain
        .written
        .iter()
        .filter(|k| k.engine == EngineId::SYSTEM && k.engine_key[0] == 0x07)
        .count();
    assert_eq!(cnodes, 1, "{:?}", chain.written);
}

fn t11_pvm_type_chains_follow_the_spawner(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [x, y] = chain.capscripts();
    let spawn = [
        op::data_mint_long(&contract("capscript"), 0xF0),
        op::image_make(0xF0, 0xFF, 0xF1),
        op::derive_spawn(0xF1, 1),
    ]
    .concat();
    // A type chain follows code, not identity: X and Y run the same code,
    // so Y first sets its image again (to the same code), which extends its
    // chain. Y spawns one child; X spawns two from the same image and holds
    // an Instance cap of Y's child too: X's two share a type chain, Y's
    // child's starts from Y's and differs.
    chain.call(
        y,
        [
            op::data_mint_long(&contract("capscript"), 0xF0),
            op::image_make(0xF0, 0xFF, 0xF1),
            op::set_image(0xF1),
        ]
        .concat(),
    );
    chain.call(y, spawn.clone());
    let y_child = braid_kernel::layout::spawn_identity(EngineId::PVM, &y, 0);
    let (result, _) = chain.call(
        x,
        [
            spawn,
            op::derive_spawn(0xF1, 2),
            op::instance_cap(y_child, 3),
            op::same_type(1, 2),
            op::same_type(1, 3),
        ]
        .concat(),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(x), Some(vec![OK, OK, OK, OK, OK, 1, 0]));
    for n in 0..2 {
        let child = braid_kernel::layout::spawn_identity(EngineId::PVM, &x, n);
        assert!(chain.raw(child, &[0x00]).is_some(), "child {n}");
    }
    assert_eq!(
        chain.raw(x, &[0x04, 0x01]),
        Some(2u64.to_be_bytes().to_vec()),
        "the nonce counts spawns"
    );
}

fn t12_a_call_through_a_stale_pvm_instance_cap_is_a_type_mismatch(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [a, b] = chain.capscripts();
    // A holds a cap of B; B switches its image to square; the call through
    // the old cap faults before B runs; a fresh cap reaches square.
    let switch = [
        op::data_mint_long(&contract("square"), 0xF0),
        op::image_make(0xF0, 0xFF, 0xF1),
        op::set_image(0xF1),
    ]
    .concat();
    let (result, trace) = chain.call(
        a,
        script(&[
            op::instance_cap(b, 1),
            op::call(b, &switch),
            op::call_cap(1, &[7, 0]),
            op::instance_cap(b, 2),
            op::call_cap(2, &[7, 0]),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(a), Some(vec![OK, 0, 2, OK, 0]));
    assert_eq!(chain.storage(b, b"sq"), Some(vec![49]));
    let b_pushes = pushes_of(&trace, b);
    assert_eq!(b_pushes, 2, "B ran by identity and through the fresh cap");
}

fn t13_a_pinned_slot_of_a_pvm_instance_refuses_every_write_path(backend: Backend) {
    let mut chain = Chain::new(backend);
    let p = chain.deploy("capscript", 0);
    // P makes an image of capscript's own code pinning slot 3 to Data "X"
    // (a CNode with X at offset 3), spawns an instance of it and calls it.
    let child = braid_kernel::layout::spawn_identity(EngineId::PVM, &p, 0);
    let child_script = script(&[
        op::data_read(3),
        op::data_mint(b"Z", 0),
        op::slot_copy(0, 3),
        op::data_mint(b"Y", 3),
        op::slot_move(0, 3),
        op::slot_move(3, 4),
        op::slot_drop(3),
        op::data_mint(b"W", 0xF0),
        op::data_mint(b"V", 0xF2),
        op::cnode_pack(0xF0, 3, 0xF5),
        op::cnode_unpack(0xF5, 1),
        op::data_read(3),
        op::slot_kind(1),
        op::slot_kind(4),
    ]);
    let (result, _) = chain.call(
        p,
        script(&[
            op::data_mint_long(&contract("capscript"), 0xF0),
            op::data_mint(b"X", 23),
            op::cnode_pack(20, 4, 0xF5),
            op::image_make(0xF0, 0xF5, 0xF6),
            op::derive_spawn(0xF6, 0xF7),
            op::call_cap(0xF7, &child_script),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(p), Some(vec![OK, OK, OK, OK, OK, 0]));
    let x = u64::from(b'X');
    // Copy, mint, move into, move out of and drop the pinned slot, and an
    // unpack across it: each `HUH`; slot 3 still reads X, 1 and 4 empty.
    assert_eq!(
        chain.answers(child),
        Some(vec![
            1, x, OK, HUH, HUH, HUH, HUH, HUH, OK, OK, OK, HUH, 1, x, KIND_EMPTY, KIND_EMPTY
        ])
    );
    for slot in [1, 3, 4] {
        assert_eq!(
            chain.raw(child, &braid_kernel::layout::slot_key(slot)),
            None,
            "slot {slot} of the child"
        );
    }
}

fn t14_a_pvm_set_image_changes_the_pinned_overlay_from_the_next_invocation(backend: Backend) {
    let mut chain = Chain::new(backend);
    let a = chain.deploy("capscript", 0);
    // A stores Data "S" in slot 3, then sets an image of its own code that
    // pins slot 3 to "Y" (a CNode with Y at offset 3, built in ephemeral
    // slots). The running invocation still reads S; the next reads Y; the
    // stored S is shadowed, not deleted.
    let (result, _) = chain.call(
        a,
        script(&[
            op::data_mint(b"S", 3),
            op::data_mint_long(&contract("capscript"), 0xF0),
            op::data_mint(b"Y", 0xF5),
            op::cnode_pack(0xF2, 4, 0xF6),
            op::image_make(0xF0, 0xF6, 0xF7),
            op::set_image(0xF7),
            op::data_read(3),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    let (s, y) = (u64::from(b'S'), u64::from(b'Y'));
    assert_eq!(chain.answers(a), Some(vec![OK, OK, OK, OK, OK, OK, 1, s]));
    let stored = chain.raw(a, &braid_kernel::layout::slot_key(3));
    assert!(stored.is_some());
    let (result, _) = chain.call(a, script(&[op::data_read(3)]));
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(a), Some(vec![1, y]));
    assert_eq!(
        chain.raw(a, &braid_kernel::layout::slot_key(3)),
        stored,
        "shadowed, not deleted"
    );
}

fn t15_pvm_slot_0_goes_down_on_call_up_on_halt_and_stays_on_revert_or_fault(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [r, a, b, c] = chain.capscripts();
    // A reads slot 0 and halts with "a" in it; B puts "b" there and
    // reverts (a malformed op reverts "bad script"); C reads slot 0, puts
    // "c" there and traps.
    let a_script = script(&[op::data_read(0), op::data_mint(b"a", 0)]);
    let b_script = [script(&[op::data_mint(b"b", 0)]), vec![0xFF]].concat();
    let c_script = script(&[op::data_read(0), op::data_mint(b"c", 0), vec![0x10]]);
    let r_script = script(&[
        op::data_mint(b"r", 0),
        op::call(a, &a_script),
        op::data_read(0),
        op::call(b, &b_script),
        op::data_read(0),
        op::call(c, &c_script),
        op::data_read(0),
    ]);
    let (result, _) = chain.call(r, r_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    let (ra, rb) = (u64::from(b'r'), u64::from(b'a'));
    // `call` answers 0 halt, 1 revert, 2 fault (RFC 0003); slot 0 holds
    // "a" after A's halt, and still "a" after B's revert and C's fault.
    assert_eq!(
        chain.answers(r),
        Some(vec![OK, 0, 1, rb, 1, 1, rb, 2, 1, rb])
    );
    assert_eq!(chain.answers(a), Some(vec![1, ra, OK]), "A saw R's \"r\"");
    assert_eq!(chain.answers(b), None, "B reverted");
    assert_eq!(chain.answers(c), None, "C faulted");
}

fn t20_a_pvm_resume_fault_cancels_the_yielder_and_its_caller_carries_on(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [t, a, b] = chain.capscripts();
    // T's ref goes down slot 0 through A to B; B writes, yields to T; T
    // answers with resume_fault: B is cancelled, A's call answers fault and
    // A carries on; T's resume_fault answers A's halt.
    let b_script = script(&[
        op::storage_write(b"b", b"1"),
        op::yield_via(0),
        op::storage_write(b"b2", b"1"),
    ]);
    let a_script = script(&[
        op::storage_write(b"a", b"1"),
        op::call(b, &b_script),
        op::storage_write(b"a2", b"1"),
    ]);
    let t_script = script(&[
        op::yieldref_mint(0),
        op::call(a, &a_script),
        op::resume_fault(),
        op::storage_write(b"t", b"1"),
    ]);
    let (result, trace) = chain.call(t, t_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(t), Some(vec![OK, YIELDED, 0, OK]));
    assert_eq!(chain.answers(a), Some(vec![OK, 2, OK]));
    assert_eq!(chain.answers(b), None, "B was cancelled");
    assert_eq!(chain.storage(b, b"b"), None);
    assert_eq!(chain.storage(b, b"b2"), None);
    for (id, key) in [(a, &b"a"[..]), (a, b"a2"), (t, b"t")] {
        assert_eq!(chain.storage(id, key), Some(b"1".to_vec()));
    }
    assert!(trace.contains(&TraceEvent::Resume {
        by: t,
        to: b,
        fault: true
    }));
}

fn t23_a_pvm_handler_cannot_reenter_anything_on_the_stack(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [r, a, b] = chain.capscripts();
    // R calls A; A calls B, which yields to A. A, handling, calls B (paused
    // above it), itself and R (below it): each is a reentrancy fault that
    // pushes nothing; then A resumes B, which writes and halts.
    let b_script = script(&[op::yield_via(0), op::storage_write(b"b", b"1")]);
    let a_script = script(&[
        op::yieldref_mint(0),
        op::call(b, &b_script),
        op::call(b, &[]),
        op::call(a, &[]),
        op::call(r, &[]),
        op::resume(),
    ]);
    let (result, trace) = chain.call(r, script(&[op::call(a, &a_script)]));
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(r), Some(vec![0]));
    assert_eq!(chain.answers(a), Some(vec![OK, YIELDED, 2, 2, 2, 0]));
    assert_eq!(chain.answers(b), Some(vec![OK, OK]));
    assert_eq!(chain.storage(b, b"b"), Some(b"1".to_vec()));
    assert_eq!(pushes(&trace), 3, "R, A, B and nothing else: {trace:?}");
}

/// The yield and resume events of a trace, in order.
fn yields_and_resumes(trace: &[TraceEvent]) -> Vec<TraceEvent> {
    trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Yield { .. } | TraceEvent::Resume { .. }))
        .cloned()
        .collect()
}

/// T18 on PVM contracts: R → T → A → B; B yields past A to T, which
/// resumes it; then T halts, or traps when `trap`.
fn t18_run(backend: Backend, trap: bool) -> (Chain, [Identity; 4], Vec<TraceEvent>) {
    let mut chain = Chain::new(backend);
    let [r, t, a, b] = chain.capscripts();
    let b_script = script(&[
        op::storage_write(b"b", b"1"),
        op::yield_via(0),
        op::storage_write(b"b2", b"1"),
    ]);
    let a_script = script(&[
        op::storage_write(b"a", b"1"),
        op::call(b, &b_script),
        op::storage_write(b"a2", b"1"),
    ]);
    let mut t_ops = vec![op::yieldref_mint(0), op::call(a, &a_script), op::resume()];
    if trap {
        t_ops.push(op::trap());
    }
    let r_script = script(&[op::storage_write(b"r0", b"1"), op::call(t, &script(&t_ops))]);
    let (result, trace) = chain.call(r, r_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    (chain, [r, t, a, b], trace)
}

fn t18_a_pvm_yield_past_an_intermediate_wakes_only_the_target(backend: Backend) {
    let (chain, [r, t, a, b], trace) = t18_run(backend, false);
    // A only sees its call return (B halted); T sees the yield, then its
    // resume answers A's halt.
    assert_eq!(chain.answers(a), Some(vec![OK, 0, OK]));
    assert_eq!(chain.answers(t), Some(vec![OK, YIELDED, 0]));
    assert_eq!(chain.answers(b), Some(vec![OK, OK, OK]));
    assert_eq!(chain.answers(r), Some(vec![OK, 0]));
    assert_eq!(
        yields_and_resumes(&trace),
        vec![
            TraceEvent::Yield { from: b, to: t },
            TraceEvent::Resume {
                by: t,
                to: b,
                fault: false
            },
        ]
    );
    // T traps after resuming: A's and B's halted writes go with T's.
    let (chain, [r, t, a, b], _) = t18_run(backend, true);
    assert_eq!(chain.answers(r), Some(vec![OK, 2]));
    for id in [t, a, b] {
        assert_eq!(chain.answers(id), None);
    }
    assert_eq!(chain.storage(a, b"a2"), None);
    assert_eq!(chain.storage(b, b"b2"), None);
    assert_eq!(chain.storage(r, b"r0"), Some(b"1".to_vec()));
}

fn t19_a_pvm_handler_yields_further_down_and_everything_resumes_in_order(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [s, t, a, b] = chain.capscripts();
    // S → T → A → B. B yields to T; T, handling, yields to S through the
    // ref S passed it (kept in an ephemeral slot); S resumes T, T resumes
    // B; B, A, T and S halt in turn and every write lands.
    let b_script = script(&[
        op::storage_write(b"b", b"1"),
        op::yield_via(0),
        op::storage_write(b"b2", b"1"),
    ]);
    let a_script = script(&[op::storage_write(b"a", b"1"), op::call(b, &b_script)]);
    let t_script = script(&[
        op::slot_move(0, 0xF0),
        op::yieldref_mint(0),
        op::call(a, &a_script),
        op::storage_write(b"t", b"1"),
        op::yield_via(0xF0),
        op::storage_write(b"t2", b"1"),
        op::resume(),
    ]);
    let s_script = script(&[
        op::yieldref_mint(0),
        op::call(t, &t_script),
        op::storage_write(b"s", b"1"),
        op::resume(),
    ]);
    let (result, trace) = chain.call(s, s_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(s), Some(vec![OK, YIELDED, OK, 0]));
    assert_eq!(chain.answers(t), Some(vec![OK, OK, YIELDED, OK, OK, OK, 0]));
    assert_eq!(chain.answers(a), Some(vec![OK, 0]));
    assert_eq!(chain.answers(b), Some(vec![OK, OK, OK]));
    for (id, key) in [
        (s, &b"s"[..]),
        (t, b"t"),
        (t, b"t2"),
        (a, b"a"),
        (b, b"b"),
        (b, b"b2"),
    ] {
        assert_eq!(chain.storage(id, key), Some(b"1".to_vec()));
    }
    assert_eq!(
        yields_and_resumes(&trace),
        vec![
            TraceEvent::Yield { from: b, to: t },
            TraceEvent::Yield { from: t, to: s },
            TraceEvent::Resume {
                by: s,
                to: t,
                fault: false
            },
            TraceEvent::Resume {
                by: t,
                to: b,
                fault: false
            },
        ]
    );
}

/// T21 on PVM contracts: R → T → A → B, B yields to T, and T ends without
/// resuming: by halting (`trap = false`) or by trapping.
fn t21_run(backend: Backend, trap: bool) -> (Chain, [Identity; 4], Vec<TraceEvent>) {
    let mut chain = Chain::new(backend);
    let [r, t, a, b] = chain.capscripts();
    let b_script = script(&[op::storage_write(b"b", b"1"), op::yield_via(0)]);
    let a_script = script(&[op::storage_write(b"a", b"1"), op::call(b, &b_script)]);
    let mut t_ops = vec![
        op::storage_write(b"t0", b"1"),
        op::yieldref_mint(0),
        op::call(a, &a_script),
        op::storage_write(b"t1", b"1"),
    ];
    if trap {
        t_ops.push(op::trap());
    }
    let r_script = script(&[
        op::storage_write(b"r0", b"1"),
        op::call(t, &script(&t_ops)),
        op::storage_write(b"r2", b"1"),
    ]);
    let (result, trace) = chain.call(r, r_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    (chain, [r, t, a, b], trace)
}

fn t21_the_end_of_a_pvm_handler_cancels_the_subtree_waiting_on_it(backend: Backend) {
    // T halts while B waits on it: B and A are cancelled (their writes
    // gone), T's and R's writes land.
    let (chain, [r, t, a, b], trace) = t21_run(backend, false);
    assert_eq!(chain.answers(r), Some(vec![OK, 0, OK]));
    assert_eq!(chain.answers(t), Some(vec![OK, OK, YIELDED, OK]));
    assert_eq!((chain.answers(a), chain.answers(b)), (None, None));
    for (id, key, kept) in [
        (r, &b"r0"[..], true),
        (r, b"r2", true),
        (t, b"t0", true),
        (t, b"t1", true),
        (a, b"a", false),
        (b, b"b", false),
    ] {
        assert_eq!(chain.storage(id, key).is_some(), kept, "{key:?}");
    }
    let cancels: Vec<_> = trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Cancel { .. }))
        .cloned()
        .collect();
    assert_eq!(
        cancels,
        vec![
            TraceEvent::Cancel { identity: b },
            TraceEvent::Cancel { identity: a }
        ]
    );
    // T traps instead: everything above R goes, R's call answers a fault.
    let (chain, [r, t, a, b], _) = t21_run(backend, true);
    assert_eq!(chain.answers(r), Some(vec![OK, 2, OK]));
    assert_eq!(chain.answers(t), None);
    for (id, key) in [(t, &b"t0"[..]), (t, b"t1"), (a, b"a"), (b, b"b")] {
        assert_eq!(chain.storage(id, key), None, "{key:?}");
    }
    assert_eq!(chain.storage(r, b"r2"), Some(b"1".to_vec()));
}

fn t24_a_pvm_handler_cannot_call_what_a_paused_subtree_touched(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [r, a, b, c] = chain.capscripts();
    // B calls C (C halts, its write pending in B's subtree), then yields
    // to A. A's handler calling C is busy: a fault, C does not run again.
    let b_script = script(&[
        op::call(c, &op::storage_write(b"n", b"1")),
        op::yield_via(0),
    ]);
    let a_script = script(&[
        op::yieldref_mint(0),
        op::call(b, &b_script),
        op::call(c, &op::storage_write(b"n", b"2")),
        op::resume(),
    ]);
    let (result, trace) = chain.call(r, script(&[op::call(a, &a_script)]));
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(a), Some(vec![OK, YIELDED, 2, 0]));
    assert_eq!(chain.answers(b), Some(vec![0, OK]));
    assert_eq!(chain.storage(c, b"n"), Some(b"1".to_vec()), "C ran once");
    let c_pushes = pushes_of(&trace, c);
    assert_eq!(c_pushes, 1);
}

fn t30_a_resumed_pvm_yielder_gets_at_most_what_its_handler_left(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [t, a, b] = chain.capscripts();
    // Calls pass all the gas left down, so B starts with millions; B yields
    // to T, which burns down to 20,000 and resumes B: B goes on with at
    // most what T has left.
    let b_script = script(&[op::gas(), op::yield_via(0), op::gas()]);
    let a_script = script(&[op::call(b, &b_script)]);
    let (result, _) = chain.call(
        t,
        script(&[
            op::yieldref_mint(0),
            op::call(a, &a_script),
            op::burn_to(20_000),
            op::resume(),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    let t_answers = chain.answers(t).unwrap();
    assert_eq!(t_answers[..2], [OK, YIELDED]);
    assert_eq!(t_answers[3], 0, "A halted");
    let handler_left = t_answers[2];
    assert!(handler_left <= 20_000, "{t_answers:?}");
    let b_answers = chain.answers(b).unwrap();
    assert_eq!(b_answers[1], OK, "resumed");
    let (before, after) = (b_answers[0], b_answers[2]);
    assert!(before > 1_000_000, "B started with {before}");
    assert!(
        after > 0 && after < handler_left,
        "B resumed with {after}, its handler had {handler_left}"
    );
}

fn t31_a_pvm_spawn_lives_with_its_spawner(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [p, x] = chain.capscripts();
    let code = contract("capscript");
    let spawn = [
        op::data_mint_long(&code, 0xF0),
        op::image_make(0xF0, 0xFF, 0xF1),
        op::derive_spawn(0xF1, 1),
    ]
    .concat();
    // X spawns, then traps: the spawn goes with X's writes.
    let (result, _) = chain.call(x, [spawn.clone(), op::trap()].concat());
    assert!(!matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.written, vec![]);
    let lost = braid_kernel::layout::spawn_identity(EngineId::PVM, &x, 0);
    assert_eq!(chain.raw(lost, &[0x00]), None, "no instance record");
    // P spawns and halts: the child's record names capscript's code, P's
    // Instance cap to it sits in slot 1, and the child runs when called.
    let (result, _) = chain.call(p, spawn);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(p), Some(vec![OK, OK, OK]));
    let child = braid_kernel::layout::spawn_identity(EngineId::PVM, &p, 0);
    let record = chain.raw(child, &[0x00]).expect("the child's record");
    assert_eq!(record.len(), 96);
    assert_eq!(record[..32], braid_core::keccak256(&code));
    assert!(chain.raw(p, &braid_kernel::layout::slot_key(1)).is_some());
    let (result, _) = chain.call(child, op::storage_write(b"c", b"1"));
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.storage(child, b"c"), Some(b"1".to_vec()));
}

fn t32_a_pvm_set_image_switches_code_from_the_next_call_and_only_on_halt(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [a, b] = chain.capscripts();
    let square = contract("square");
    let switch = [
        op::data_mint_long(&square, 0xF0),
        op::image_make(0xF0, 0xFF, 0xF1),
        op::set_image(0xF1),
    ]
    .concat();
    let record_of = |chain: &Chain, id| chain.raw(id, &[0x00]).unwrap();
    // B switches, then traps: its record is as it was.
    let before = record_of(&chain, b);
    let (result, _) = chain.call(b, [switch.clone(), op::trap()].concat());
    assert!(!matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(record_of(&chain, b), before);
    // A switches and halts: the running invocation kept capscript (its
    // storage write after set_image ran), the record names square's code,
    // and the next call runs square (7 * 7 = 49, stored as "sq").
    let (result, _) = chain.call(a, [switch, op::storage_write(b"v1", b"1")].concat());
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(a), Some(vec![OK, OK, OK, OK]));
    assert_eq!(chain.storage(a, b"v1"), Some(b"1".to_vec()));
    assert_eq!(record_of(&chain, a)[..32], braid_core::keccak256(&square));
    let (result, _) = chain.call(a, vec![7, 0]);
    assert_eq!(result.outcome, Outcome::Halt { output: vec![49] });
    assert_eq!(chain.storage(a, b"sq"), Some(vec![49]));
}

/// The kind `slot_kind` answers for a YieldRef (RFC 0010 host call table).
const KIND_YIELD_REF: u64 = 5;

fn t16_a_pvm_yieldref_stays_in_slot_0_and_ephemeral_slots(backend: Backend) {
    let mut chain = Chain::new(backend);
    let me = chain.deploy("capscript", 0);
    // A ref to itself in slot 0; copies and moves of it into persistent
    // slots (1, 0xEF, 7) and a mint straight into one (5) are refused; an
    // ephemeral slot (0xF3) takes it.
    let (result, _) = chain.call(
        me,
        script(&[
            op::yieldref_mint(0),
            op::slot_copy(0, 1),
            op::slot_copy(0, 0xEF),
            op::slot_move(0, 7),
            op::slot_copy(0, 0xF3),
            op::yieldref_mint(5),
            op::slot_kind(0xF3),
            op::slot_kind(1),
            op::slot_kind(7),
            op::slot_kind(5),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(
        chain.answers(me),
        Some(vec![OK, HUH, HUH, HUH, OK, HUH, KIND_YIELD_REF, 0, 0, 0])
    );
    // The transaction stored only capscript's answer list: no slot key.
    assert_eq!(
        chain.written,
        vec![StateKey::new(
            EngineId::PVM,
            me,
            [&[namespace::STORAGE][..], b"r"].concat()
        )]
    );
}

fn t22_pvm_yields_in_the_wrong_direction_or_of_the_wrong_kind_are_huh(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [a, b] = chain.capscripts();
    // B holds A's ref (slot 0 on entry) in 0xF2; yields through a Data cap,
    // through a ref to itself and through an empty slot are refused; then
    // it yields to A with a ref to itself as the payload.
    let b_script = script(&[
        op::slot_move(0, 0xF2),
        op::data_mint(b"d", 0xF0),
        op::yield_via(0xF0),
        op::yieldref_mint(0xF1),
        op::yield_via(0xF1),
        op::yield_via(0xF5),
        op::storage_write(b"b", b"1"),
        op::yieldref_mint(0),
        op::yield_via(0xF2),
        op::storage_write(b"b2", b"1"),
    ]);
    // A, handling B's yield, yields through B's ref: an entry above A.
    let a_script = script(&[
        op::yieldref_mint(0),
        op::call(b, &b_script),
        op::yield_via(0),
        op::resume(),
    ]);
    let (result, trace) = chain.call(a, a_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(
        chain.answers(b),
        // Wrong kind (a Data cap, an empty slot) is `WHAT`; a ref to
        // oneself is not below, `HUH` (caps.rs: the refusal codes).
        Some(vec![OK, OK, WHAT, OK, HUH, WHAT, OK, OK, OK, OK])
    );
    assert_eq!(chain.answers(a), Some(vec![OK, YIELDED, HUH, 0]));
    assert_eq!(chain.storage(b, b"b"), Some(b"1".to_vec()));
    assert_eq!(chain.storage(b, b"b2"), Some(b"1".to_vec()));
    let yields = trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Yield { .. }))
        .count();
    assert_eq!(yields, 1, "only B's yield to A happened");
}

fn t25_a_faulting_pvm_yielder_reverts_its_own_writes_and_keeps_the_handlers(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [a, b, d] = chain.capscripts();
    // B writes, yields to A; A, handling, has D count to 1; A resumes B;
    // B has D count again (2, over the handler's write), then traps. B's
    // write and its D count go; the handler's D count stays: k = 1.
    let b_script = script(&[
        op::storage_write(b"b", b"1"),
        op::yield_via(0),
        op::call(d, &op::incr(b"k")),
        op::trap(),
    ]);
    let (result, _) = chain.call(
        a,
        script(&[
            op::yieldref_mint(0),
            op::call(b, &b_script),
            op::call(d, &op::incr(b"k")),
            op::resume(),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(
        chain.answers(a),
        Some(vec![OK, YIELDED, 0, 2]),
        "the resume answers B's fault"
    );
    assert_eq!(chain.storage(d, b"k"), Some(1u64.to_le_bytes().to_vec()));
    assert_eq!(chain.answers(d), Some(vec![1]), "D's answers from A's call");
    assert_eq!(chain.storage(b, b"b"), None);
}

fn t27_a_pvm_yield_through_a_stale_yieldref_is_huh_and_changes_nothing(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [k, p] = chain.capscripts();
    // P calls K; K mints a ref to itself into slot 0 and halts: slot 0
    // comes up to P holding a ref to an entry that popped.
    let k_script = script(&[op::yieldref_mint(0)]);
    let p_script = script(&[
        op::call(k, &k_script),
        op::slot_kind(0),
        op::yield_via(0),
        op::storage_write(b"after", b"1"),
    ]);
    let (result, _) = chain.call(p, p_script);
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(p), Some(vec![0, 5, HUH, OK]));
    assert_eq!(
        chain.storage(p, b"after"),
        Some(b"1".to_vec()),
        "P continued"
    );
}

fn t28_a_trapping_pvm_handler_takes_its_subtree_with_it(backend: Backend) {
    let mut chain = Chain::new(backend);
    let [r, t, a, b] = chain.capscripts();
    // R → T → A → B. B yields to T (with its own ref); T, handling, yields
    // to R twice (first with its own ref, then with B's), R resumes it each
    // time, and T traps: A and B are cancelled with T, R's resume answers
    // the fault, and both refs R kept are stale.
    let b_script = script(&[
        op::storage_write(b"b", b"1"),
        op::slot_move(0, 0xF0),
        op::yieldref_mint(0),
        op::yield_via(0xF0),
    ]);
    let a_script = script(&[op::storage_write(b"a", b"1"), op::call(b, &b_script)]);
    let t_script = script(&[
        op::slot_move(0, 0xF1),
        op::storage_write(b"t", b"1"),
        op::yieldref_mint(0),
        op::call(a, &a_script),
        op::slot_copy(0, 0xF2),
        op::yieldref_mint(0),
        op::yield_via(0xF1),
        op::slot_copy(0xF2, 0),
        op::yield_via(0xF1),
        op::trap(),
    ]);
    let (result, trace) = chain.call(
        r,
        script(&[
            op::storage_write(b"r0", b"1"),
            op::yieldref_mint(0),
            op::call(t, &t_script),
            op::slot_copy(0, 0xF5),
            op::resume(),
            op::slot_copy(0, 0xF6),
            op::resume(),
            op::yield_via(0xF5),
            op::yield_via(0xF6),
            op::storage_write(b"r2", b"1"),
        ]),
    );
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(
        chain.answers(r),
        Some(vec![OK, OK, YIELDED, OK, YIELDED, OK, 2, HUH, HUH, OK])
    );
    for id in [t, a, b] {
        assert_eq!(chain.answers(id), None);
    }
    for (id, key) in [(t, &b"t"[..]), (a, b"a"), (b, b"b")] {
        assert_eq!(chain.storage(id, key), None, "{key:?}");
    }
    assert_eq!(chain.storage(r, b"r2"), Some(b"1".to_vec()));
    let resumed = |by, to| TraceEvent::Resume {
        by,
        to,
        fault: false,
    };
    let events: Vec<TraceEvent> = trace
        .iter()
        .filter(|e| {
            matches!(
                e,
                TraceEvent::Yield { .. } | TraceEvent::Resume { .. } | TraceEvent::Cancel { .. }
            )
        })
        .cloned()
        .collect();
    assert_eq!(
        events,
        vec![
            TraceEvent::Yield { from: b, to: t },
            TraceEvent::Yield { from: t, to: r },
            resumed(r, t),
            TraceEvent::Yield { from: t, to: r },
            resumed(r, t),
            TraceEvent::Cancel { identity: b },
            TraceEvent::Cancel { identity: a },
        ]
    );
}

fn t29_the_reserved_ids_answer_what(backend: Backend) {
    let mut chain = Chain::new(backend);
    let me = chain.deploy("capscript", 0);
    let (result, _) = chain.call(me, op::reserved());
    assert!(matches!(result.outcome, Outcome::Halt { .. }));
    assert_eq!(chain.answers(me), Some(vec![WHAT, WHAT, WHAT]));
}

/// The three contracts of T34 and the orchestrator's input.
struct Orchestra {
    chain: Chain,
    orch: Identity,
    worker: Identity,
    service: Identity,
}

impl Orchestra {
    fn new(chain: Chain) -> Orchestra {
        let mut chain = chain;
        let orch = chain.deploy("orch", 0);
        let worker = chain.deploy("worker", 0);
        let service = chain.deploy("square", 0);
        Orchestra {
            chain,
            orch,
            worker,
            service,
        }
    }

    fn run(&mut self, flags: u8) -> Outcome {
        let input = [&self.worker.0[..], &self.service.0, &[flags]].concat();
        self.chain.call(self.orch, input).0.outcome
    }
}

fn t34_the_orchestrator_pattern_on_pvm_contracts(backend: Backend) {
    let mut o = Orchestra::new(Chain::new(backend));
    // Yielded, no reentrant call, the service halted, the worker halted.
    assert_eq!(
        o.run(0),
        Outcome::Halt {
            output: vec![3, 0xFF, 0, 0]
        }
    );
    assert_eq!(o.chain.storage(o.worker, b"x"), Some(vec![1]));
    assert_eq!(o.chain.storage(o.worker, b"y"), Some(vec![49]));
    assert_eq!(o.chain.storage(o.service, b"sq"), Some(vec![49]));
}

fn t34_a_faulting_service_sends_failed_and_keeps_the_workers_first_write(backend: Backend) {
    let mut o = Orchestra::new(Chain::new(backend));
    assert_eq!(
        o.run(1),
        Outcome::Halt {
            output: vec![3, 0xFF, 2, 0]
        }
    );
    assert_eq!(o.chain.storage(o.worker, b"x"), Some(vec![1]));
    assert_eq!(o.chain.storage(o.worker, b"y"), Some(b"failed".to_vec()));
    assert_eq!(
        o.chain.storage(o.service, b"sq"),
        None,
        "the service's write is gone"
    );
}

fn t34_the_handler_cannot_reenter_the_worker(backend: Backend) {
    let mut o = Orchestra::new(Chain::new(backend));
    // The handler's call to the paused worker is a fault (Reentrancy:
    // the worker is on the stack); the rest runs as before.
    assert_eq!(
        o.run(2),
        Outcome::Halt {
            output: vec![3, 2, 0, 0]
        }
    );
    assert_eq!(o.chain.storage(o.worker, b"y"), Some(vec![49]));
}

fn t34_roots_agree_on_memory_and_rocksdb_and_across_reruns(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let roots: Vec<_> = (0..2)
        .flat_map(|run| {
            let rocks = dir.path().join(format!("run{run}"));
            [
                Arc::new(MemoryBackend::new()) as Arc<dyn StateBackend>,
                Arc::new(RocksDbBackend::open(&rocks).unwrap()),
            ]
        })
        .map(|state| {
            let mut o = Orchestra::new(Chain::on(backend, state));
            for flags in [0, 1, 2] {
                o.run(flags);
            }
            o.chain.db.root()
        })
        .collect();
    assert!(roots.windows(2).all(|w| w[0] == w[1]), "{roots:?}");
}
