//! The WASM engine through the real kernel and state: host calls, kernel
//! rules 1-4, determinism across runs, caches and backends, limits, and
//! typed refusals at deploy. Guest modules are written in WAT here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use braid_core::{
    BlockEnv, CallResult, CoreError, Engine, EngineId, Engines, FaultCode, FaultReason, Identity,
    Log, Message, NoBlockHashes, Outcome, keccak256, module_identity, namespace,
};
use braid_kernel::{BlockState, Kernel};
use braid_state::{Backend, MemoryBackend, RocksDbBackend, StateDb, StateKey};
use braid_wasm::validate::{STACK_HEIGHT_EXPORT, START_EXPORT};
use braid_wasm::{WasmEngine, WasmError, limits};

/// One module exercising every host function; `input[0]` picks the op
/// (see each arm). Memory: input at 0x100, output at 0x2000.
const PROBE: &str = r#"
(module
  (import "braid" "gas" (func $gas (result i64)))
  (import "braid" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "braid" "caller" (func $caller (param i32) (result i64)))
  (import "braid" "self_identity" (func $self (param i32) (result i64)))
  (import "braid" "storage_read" (func $read (param i32 i32 i32 i32 i32) (result i64)))
  (import "braid" "storage_write" (func $write (param i32 i32 i32 i32) (result i64)))
  (import "braid" "storage_delete" (func $delete (param i32 i32) (result i64)))
  (import "braid" "evm_storage_read" (func $evm (param i32 i32 i32) (result i64)))
  (import "braid" "state_read" (func $state (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "braid" "log" (func $log (param i32 i32 i32 i32) (result i64)))
  (import "braid" "blake2b_256" (func $blake (param i32 i32 i32) (result i64)))
  (import "braid" "keccak_256" (func $keccak (param i32 i32 i32) (result i64)))
  (import "braid" "ed25519_verify" (func $ed (param i32 i32 i32 i32) (result i64)))
  (import "braid" "call" (func $call (param i32 i32 i32 i64 i32 i32) (result i64)))
  (import "braid" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (func $out (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  ;; own storage "w" = 0x01
  (func $mark
    (i32.store8 (i32.const 0x50) (i32.const 0x77))
    (i32.store8 (i32.const 0x51) (i32.const 1))
    (drop (call $write (i32.const 0x50) (i32.const 1) (i32.const 0x51) (i32.const 1))))
  (func $rec (param $x i32) (result i32)
    (i32.add (call $rec (i32.add (local.get $x) (i32.const 1))) (i32.const 1)))
  ;; r (8 bytes LE) then the value at 0x2008 when r >= 0
  (func $r_and_value (param $r i64) (result i64)
    (i64.store (i32.const 0x2000) (local.get $r))
    (if (i64.lt_s (local.get $r) (i64.const 0))
      (then (return (call $out (i32.const 0x2000) (i32.const 8)))))
    (call $out (i32.const 0x2000) (i32.add (i32.const 8) (i32.wrap_i64 (local.get $r)))))
  (func $r (param $r i64) (result i64)
    (i64.store (i32.const 0x2000) (local.get $r))
    (call $out (i32.const 0x2000) (i32.const 8)))
  (func (export "call") (result i64)
    (local $n i32) (local $op i32) (local $r i64)
    (local.set $n (i32.wrap_i64 (call $input (i32.const 0x100) (i32.const 0) (i32.const 0x1000))))
    (local.set $op (i32.load8_u (i32.const 0x100)))
    ;; 0: echo the rest
    (if (i32.eqz (local.get $op))
      (then (return (call $out (i32.const 0x101) (i32.sub (local.get $n) (i32.const 1))))))
    ;; 1: write key (8 bytes) = rest
    (if (i32.eq (local.get $op) (i32.const 1)) (then (return (call $r
      (call $write (i32.const 0x101) (i32.const 8) (i32.const 0x109)
                   (i32.sub (local.get $n) (i32.const 9)))))))
    ;; 2: read key (8 bytes)
    (if (i32.eq (local.get $op) (i32.const 2)) (then (return (call $r_and_value
      (call $read (i32.const 0x101) (i32.const 8) (i32.const 0x2008) (i32.const 0) (i32.const 0x1000))))))
    ;; 3: delete key (8 bytes)
    (if (i32.eq (local.get $op) (i32.const 3)) (then (return (call $r
      (call $delete (i32.const 0x101) (i32.const 8))))))
    ;; 4: caller ‖ self
    (if (i32.eq (local.get $op) (i32.const 4)) (then
      (drop (call $caller (i32.const 0x2000)))
      (drop (call $self (i32.const 0x2014)))
      (return (call $out (i32.const 0x2000) (i32.const 40)))))
    ;; 5: evm_storage_read(address 20, slot 32)
    (if (i32.eq (local.get $op) (i32.const 5)) (then
      (drop (call $evm (i32.const 0x101) (i32.const 0x115) (i32.const 0x2000)))
      (return (call $out (i32.const 0x2000) (i32.const 32)))))
    ;; 6: state_read(engine 1 byte, identity 20, key = rest)
    (if (i32.eq (local.get $op) (i32.const 6)) (then (return (call $r_and_value
      (call $state (i32.load8_u (i32.const 0x101)) (i32.const 0x102) (i32.const 0x116)
                   (i32.sub (local.get $n) (i32.const 0x16)) (i32.const 0x2008) (i32.const 0x1000))))))
    ;; 7: blake2b_256(rest) ‖ keccak_256(rest)
    (if (i32.eq (local.get $op) (i32.const 7)) (then
      (drop (call $blake (i32.const 0x101) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0x2000)))
      (drop (call $keccak (i32.const 0x101) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0x2020)))
      (return (call $out (i32.const 0x2000) (i32.const 64)))))
    ;; 8: ed25519_verify(public key 32, signature 64, message = rest)
    (if (i32.eq (local.get $op) (i32.const 8)) (then (return (call $r
      (call $ed (i32.const 0x101) (i32.const 0x161) (i32.sub (local.get $n) (i32.const 0x61))
                (i32.const 0x121))))))
    ;; 9: log(one topic 32, data = rest)
    (if (i32.eq (local.get $op) (i32.const 9)) (then (return (call $r
      (call $log (i32.const 0x101) (i32.const 1) (i32.const 0x121)
                 (i32.sub (local.get $n) (i32.const 0x21)))))))
    ;; 10: mark, then call(callee 20, input = rest): r ‖ output
    (if (i32.eq (local.get $op) (i32.const 10)) (then
      (call $mark)
      (local.set $r (call $call (i32.const 0x101) (i32.const 0x115)
                     (i32.sub (local.get $n) (i32.const 0x15)) (i64.const -1)
                     (i32.const 0x2008) (i32.const 0x1000)))
      (i64.store (i32.const 0x2000) (local.get $r))
      (return (call $out (i32.const 0x2000)
        (i32.add (i32.const 8) (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))))))))
    ;; 11: mark, then revert(rest)
    (if (i32.eq (local.get $op) (i32.const 11)) (then
      (call $mark)
      (call $revert (i32.const 0x101) (i32.sub (local.get $n) (i32.const 1)))
      (unreachable)))
    ;; 12: mark, then memory.grow(u32 pages)
    (if (i32.eq (local.get $op) (i32.const 12)) (then
      (call $mark)
      (return (call $r (i64.extend_i32_s (memory.grow (i32.load (i32.const 0x101))))))))
    ;; 13: mark, then recurse without end
    (if (i32.eq (local.get $op) (i32.const 13)) (then
      (call $mark) (drop (call $rec (i32.const 0))) (unreachable)))
    ;; 14: mark, then loop forever
    (if (i32.eq (local.get $op) (i32.const 14)) (then
      (call $mark) (loop $l (br $l))))
    ;; 15: gas
    (if (i32.eq (local.get $op) (i32.const 15)) (then (return (call $r (call $gas)))))
    ;; 16: mark, then trap
    (if (i32.eq (local.get $op) (i32.const 16)) (then (call $mark) (unreachable)))
    ;; 17: an output range past the memory
    (if (i32.eq (local.get $op) (i32.const 17)) (then (return (call $out (i32.const 0xFFF0) (i32.const 0x20)))))
    (unreachable)))
"#;

const ALICE: Identity = Identity([0xa1; 20]);
const GAS: u64 = 10_000_000;

struct Chain {
    db: StateDb,
    engines: Engines,
    wasm: Arc<WasmEngine>,
}

impl Chain {
    fn new() -> Chain {
        Chain::on(
            Arc::new(MemoryBackend::new()),
            Arc::new(WasmEngine::new().unwrap()),
        )
    }

    fn on(backend: Arc<dyn Backend>, wasm: Arc<WasmEngine>) -> Chain {
        let mut engines = Engines::new();
        engines.register(wasm.clone());
        Chain {
            db: StateDb::open(backend).unwrap(),
            engines,
            wasm,
        }
    }

    fn tx<T>(&mut self, f: impl FnOnce(&mut Kernel<'_, '_>) -> T) -> T {
        self.tx_logs(f).0
    }

    /// Runs `f` as one transaction of one block, committed; also returns its logs.
    fn tx_logs<T>(&mut self, f: impl FnOnce(&mut Kernel<'_, '_>) -> T) -> (T, Vec<Log>) {
        let mut block = BlockState::new(&self.db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 50_000_000);
        let out = f(&mut kernel);
        let effects = kernel.commit();
        let changes = block.into_changes();
        self.db.commit_block(changes, |_| Vec::new()).unwrap();
        (out, effects.logs)
    }

    fn deploy_code(&mut self, name: &str, version: u32, code: &[u8]) -> Identity {
        let id = module_identity(4242, name.as_bytes(), version);
        self.tx(|k| k.deploy(EngineId::WASM, id, code)).unwrap();
        id
    }

    fn deploy(&mut self, version: u32) -> Identity {
        self.deploy_code("probe", version, &wat::parse_str(PROBE).unwrap())
    }

    fn call(&mut self, target: Identity, input: Vec<u8>) -> CallResult {
        self.call_with(target, input, GAS)
    }

    fn call_with(&mut self, target: Identity, input: Vec<u8>, gas_limit: u64) -> CallResult {
        self.tx(|k| {
            k.call(
                EngineId::WASM,
                Message {
                    caller: ALICE,
                    target,
                    input,
                    value: [0; 32],
                    gas_limit,
                },
            )
        })
        .unwrap()
    }

    fn storage(&self, id: Identity, key: &[u8]) -> Option<Vec<u8>> {
        let mut k = vec![namespace::STORAGE];
        k.extend_from_slice(key);
        self.db.get(EngineId::WASM, &id, &k).unwrap()
    }

    fn commit_raw(&mut self, engine: EngineId, id: Identity, key: &[u8], value: &[u8]) {
        let mut k = vec![namespace::STORAGE];
        k.extend_from_slice(key);
        self.db
            .commit_block(
                vec![(StateKey::new(engine, id, k), Some(value.to_vec()))],
                |_| Vec::new(),
            )
            .unwrap();
    }
}

fn op(code: u8, rest: &[u8]) -> Vec<u8> {
    [&[code][..], rest].concat()
}

fn halt(output: Vec<u8>) -> Outcome {
    Outcome::Halt { output }
}

fn r(value: i64) -> Vec<u8> {
    value.to_le_bytes().to_vec()
}

/// `call` through the probe: mark, call `callee` with `input`.
fn relay(callee: Identity, input: Vec<u8>) -> Vec<u8> {
    [&[10][..], &callee.0, &input].concat()
}

#[test]
fn storage_write_read_delete() {
    let mut chain = Chain::new();
    let probe = chain.deploy(1);
    let key = *b"balance!";
    assert_eq!(chain.call(probe, op(2, &key)).outcome, halt(r(-1)));
    let wrote = chain.call(probe, op(1, &[&key[..], b"1000"].concat()));
    assert_eq!(wrote.outcome, halt(r(0)));
    assert!(wrote.gas_used > 2000);
    assert_eq!(chain.storage(probe, &key), Some(b"1000".to_vec()));
    assert_eq!(
        chain.call(probe, op(2, &key)).outcome,
        halt([r(4), b"1000".to_vec()].concat())
    );
    assert_eq!(chain.call(probe, op(3, &key)).outcome, halt(r(0)));
    assert_eq!(chain.storage(probe, &key), None);
    assert_eq!(chain.call(probe, op(2, &key)).outcome, halt(r(-1)));
}

#[test]
fn input_output_and_identities() {
    let mut chain = Chain::new();
    let probe = chain.deploy(1);
    assert_eq!(
        chain.call(probe, op(0, b"hello")).outcome,
        halt(b"hello".to_vec())
    );
    assert_eq!(
        chain.call(probe, op(4, &[])).outcome,
        halt([ALICE.0, probe.0].concat())
    );
    // An output range outside the memory is a trap.
    assert_eq!(
        chain.call(probe, op(17, &[])).outcome,
        Outcome::Fault(FaultReason::Trap)
    );
    // Gas left is below the limit and above zero.
    let Outcome::Halt { output } = chain.call(probe, op(15, &[])).outcome else {
        panic!("gas halts")
    };
    let left = u64::from_le_bytes(output.try_into().unwrap());
    assert!(left > 0 && left < GAS, "{left}");
}

#[test]
fn cross_engine_reads_return_the_committed_bytes() {
    let mut chain = Chain::new();
    let probe = chain.deploy(1);
    let token = Identity([0x70; 20]);
    let slot = keccak256(b"slot");
    let mut balance = [0u8; 32];
    balance[30..].copy_from_slice(&500u16.to_be_bytes());
    chain.commit_raw(EngineId::EVM, token, &slot, &balance);
    // evm_storage_read: the 32-byte word; an unset slot is zero.
    assert_eq!(
        chain
            .call(probe, op(5, &[&token.0[..], &slot].concat()))
            .outcome,
        halt(balance.to_vec())
    );
    assert_eq!(
        chain
            .call(probe, op(5, &[&token.0[..], &[9; 32]].concat()))
            .outcome,
        halt(vec![0; 32])
    );
    // state_read of the EVM slot: exactly the stored bytes.
    let read =
        |engine: EngineId, id: Identity, key: &[u8]| op(6, &[&[engine.0][..], &id.0, key].concat());
    assert_eq!(
        chain.call(probe, read(EngineId::EVM, token, &slot)).outcome,
        halt([r(32), balance.to_vec()].concat())
    );
    // A PVM instance's storage, as the PVM itself would read it.
    let pvm_module = Identity([0x22; 20]);
    chain.commit_raw(EngineId::PVM, pvm_module, b"k", b"\x01\x02\x03");
    assert_eq!(
        chain
            .call(probe, read(EngineId::PVM, pvm_module, b"k"))
            .outcome,
        halt([r(3), vec![1, 2, 3]].concat())
    );
    assert_eq!(
        chain
            .call(probe, read(EngineId::PVM, pvm_module, b"absent"))
            .outcome,
        halt(r(-1))
    );
    // Another WASM instance's committed storage.
    let other = chain.deploy(2);
    chain.call(other, op(1, &[&b"kkkkkkkk"[..], b"v"].concat()));
    assert_eq!(
        chain
            .call(probe, read(EngineId::WASM, other, b"kkkkkkkk"))
            .outcome,
        halt([r(1), b"v".to_vec()].concat())
    );
}

#[test]
fn crypto_and_logs() {
    use ed25519_dalek::{Signer, SigningKey};
    let mut chain = Chain::new();
    let probe = chain.deploy(1);
    let hashes = chain.call(probe, op(7, b"abc")).outcome;
    assert_eq!(
        hashes,
        halt(
            [
                braid_precompiles::blake2b_256(b"abc"),
                braid_precompiles::keccak_256(b"abc")
            ]
            .concat()
        )
    );
    let key = SigningKey::from_bytes(&[7; 32]);
    let signature = key.sign(b"braid").to_bytes();
    let public = key.verifying_key().to_bytes();
    let verify = |message: &[u8]| op(8, &[&public[..], &signature, message].concat());
    assert_eq!(chain.call(probe, verify(b"braid")).outcome, halt(r(0)));
    assert_eq!(chain.call(probe, verify(b"braiD")).outcome, halt(r(1)));
    let (result, logged) = chain.tx_logs(|k| {
        k.call(
            EngineId::WASM,
            Message {
                caller: ALICE,
                target: probe,
                input: op(9, &[&[0xAB; 32][..], b"data"].concat()),
                value: [0; 32],
                gas_limit: GAS,
            },
        )
        .unwrap()
    });
    assert_eq!(result.outcome, halt(r(0)));
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].identity, probe);
    assert_eq!(logged[0].topics, vec![[0xAB; 32]]);
    assert_eq!(logged[0].data, b"data".to_vec());
}

#[test]
fn calls_halt_revert_and_fault_with_callee_writes_discarded() {
    let mut chain = Chain::new();
    let a = chain.deploy(1);
    let b = chain.deploy(2);
    // Halt: B's write commits; B sees A as its caller.
    let result = chain.call(a, relay(b, op(1, &[&b"from-a.."[..], b"x"].concat())));
    assert_eq!(result.outcome, halt([r(8 << 32), r(0)].concat()));
    assert_eq!(chain.storage(b, b"from-a.."), Some(b"x".to_vec()));
    let result = chain.call(a, relay(b, op(4, &[])));
    assert_eq!(
        result.outcome,
        halt([r(40 << 32), [a.0, b.0].concat()].concat())
    );
    // Revert: status 1 and the data; B's mark is discarded, A's kept.
    let result = chain.call(a, relay(b, op(11, b"no")));
    assert_eq!(
        result.outcome,
        halt([r(1 | (2 << 32)), b"no".to_vec()].concat())
    );
    assert_eq!(chain.storage(a, b"w"), Some(vec![1]));
    assert_eq!(chain.storage(b, b"w"), None);
    // Fault: status 2, nothing from B.
    assert_eq!(chain.call(a, relay(b, op(16, &[]))).outcome, halt(r(2)));
    assert_eq!(chain.storage(b, b"w"), None);
    // Alone, B reverts with its data and traps.
    assert_eq!(
        chain.call(b, op(11, b"no")).outcome,
        Outcome::Revert {
            output: b"no".to_vec()
        }
    );
    assert_eq!(
        chain.call(b, op(16, &[])).outcome,
        Outcome::Fault(FaultReason::Trap)
    );
    assert_eq!(chain.storage(b, b"w"), None);
}

#[test]
fn a_calls_b_calls_a_is_a_reentrancy_fault_for_the_inner_call() {
    let mut chain = Chain::new();
    let a = chain.deploy(1);
    let b = chain.deploy(2);
    let result = chain.call(a, relay(b, relay(a, op(0, b"z"))));
    // A sees B halt with 8 bytes of output: B's view of its own call (fault, 2).
    assert_eq!(result.outcome, halt([r(8 << 32), r(2)].concat()));
    assert_eq!(chain.storage(a, b"w"), Some(vec![1]));
    assert_eq!(chain.storage(b, b"w"), Some(vec![1]));
}

#[test]
fn fuel_exhaustion_is_out_of_gas_and_uses_everything() {
    let mut chain = Chain::new();
    let probe = chain.deploy(1);
    let result = chain.call_with(probe, op(14, &[]), 1_000_000);
    assert_eq!(result.outcome, Outcome::Fault(FaultReason::OutOfGas));
    assert_eq!(result.gas_used, 1_000_000);
    assert_eq!(chain.storage(probe, b"w"), None);
}

#[test]
fn memory_growth_past_the_cap_faults_and_discards_the_callee() {
    let mut chain = Chain::new();
    let a = chain.deploy(1);
    let b = chain.deploy(2);
    // One page is fine: memory.grow answers the old size (1 page).
    assert_eq!(
        chain.call(b, op(12, &1u32.to_le_bytes())).outcome,
        halt(r(1))
    );
    let pages = (limits::MAX_MEMORY / limits::PAGE) as u32;
    assert_eq!(
        chain.call(b, op(12, &pages.to_le_bytes())).outcome,
        Outcome::Fault(FaultReason::Engine {
            code: FaultCode::MemoryLimit
        })
    );
    let c = chain.deploy(3);
    let result = chain.call(a, relay(c, op(12, &pages.to_le_bytes())));
    assert_eq!(result.outcome, halt(r(2)));
    assert_eq!(chain.storage(a, b"w"), Some(vec![1]));
    assert_eq!(chain.storage(c, b"w"), None);
}

#[test]
fn recursion_past_the_stack_limit_faults_and_discards_the_callee() {
    let mut chain = Chain::new();
    let a = chain.deploy(1);
    let b = chain.deploy(2);
    let alone = chain.call(b, op(13, &[]));
    assert_eq!(
        alone.outcome,
        Outcome::Fault(FaultReason::Engine {
            code: FaultCode::StackLimit
        })
    );
    // Deterministic: the same gas every time.
    assert_eq!(chain.call(b, op(13, &[])).gas_used, alone.gas_used);
    let result = chain.call(a, relay(b, op(13, &[])));
    assert_eq!(result.outcome, halt(r(2)));
    assert_eq!(chain.storage(a, b"w"), Some(vec![1]));
    assert_eq!(chain.storage(b, b"w"), None);
}

/// A guest recursing to the depth its input names (`u32` LE); `$rec`
/// declares `locals` unused `i64` locals (weight only).
fn recursion(locals: usize) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
             (import "braid" "input" (func $input (param i32 i32 i32) (result i64)))
             (memory (export "memory") 1)
             (func $rec (param $d i32) (local{})
               (if (local.get $d)
                 (then (call $rec (i32.sub (local.get $d) (i32.const 1))))))
             (func (export "call") (result i64)
               (drop (call $input (i32.const 0) (i32.const 0) (i32.const 4)))
               (call $rec (i32.load (i32.const 0)))
               (i64.const 0)))"#,
        " i64".repeat(locals)
    ))
    .unwrap()
}

#[test]
fn the_recursion_bound_is_the_weight_formula_on_every_node() {
    let mut chain = Chain::new();
    for (version, locals) in [(1, 0), (2, 300)] {
        let id = chain.deploy_code("recursion", version, &recursion(locals));
        // Weight = FRAME_SLOTS + params + declared locals + largest operand
        // stack. `$rec`: 1 param, `locals` locals, stack 2 (`local.get $d;
        // i32.const 1`); `call`: no locals, stack 3 (the `input` arguments).
        let rec = limits::FRAME_SLOTS + 1 + locals as u32 + 2;
        let call = limits::FRAME_SLOTS + 3;
        // Depth d puts `call` and d + 1 frames of `$rec` in flight.
        let deepest = (limits::MAX_STACK_SLOTS - call) / rec - 1;
        let at = |chain: &mut Chain, depth: u32| chain.call(id, depth.to_le_bytes().to_vec());
        assert_eq!(
            at(&mut chain, deepest).outcome,
            halt(vec![]),
            "{locals} locals"
        );
        assert_eq!(
            at(&mut chain, deepest + 1).outcome,
            Outcome::Fault(FaultReason::Engine {
                code: FaultCode::StackLimit
            }),
            "{locals} locals"
        );
        // Each level costs its body (`local.get`, `if`, `local.get`,
        // `i32.const`, `i32.sub`, `call`: 6 fuel, plus wasmtime's 1 per
        // function entered) and its wrapper (13 operators, 1 `local.get`
        // per parameter, 1 for entering it).
        let step = at(&mut chain, 11).gas_used - at(&mut chain, 10).gas_used;
        assert_eq!(step, (6 + 1) + (13 + 1 + 1));
    }
}

#[test]
fn a_start_function_runs_first_and_is_bounded_like_any_call() {
    let start = |depth: u32| {
        wat::parse_str(format!(
            r#"(module
                 (memory (export "memory") 1)
                 (func $rec (param $d i32)
                   (if (local.get $d)
                     (then (call $rec (i32.sub (local.get $d) (i32.const 1))))))
                 (func $start (i32.store (i32.const 0) (i32.const 7))
                   (call $rec (i32.const {depth})))
                 (start $start)
                 (func (export "call") (result i64)
                   (i64.extend_i32_u (i32.load (i32.const 0)))))"#
        ))
        .unwrap()
    };
    let mut chain = Chain::new();
    let shallow = chain.deploy_code("start", 1, &start(3));
    // `call` returns 7 as (ptr 0, len 7): the start function's store.
    assert_eq!(
        chain.call(shallow, vec![]).outcome,
        halt(vec![7, 0, 0, 0, 0, 0, 0])
    );
    let deep = chain.deploy_code("start", 2, &start(limits::MAX_STACK_SLOTS));
    assert_eq!(
        chain.call(deep, vec![]).outcome,
        Outcome::Fault(FaultReason::Engine {
            code: FaultCode::StackLimit
        })
    );
}

#[test]
fn a_guests_own_unreachable_is_a_trap_not_the_stack_limit() {
    let mut chain = Chain::new();
    let id = chain.deploy_code("unreachable", 1, &module("(unreachable)"));
    assert_eq!(
        chain.call(id, vec![]).outcome,
        Outcome::Fault(FaultReason::Trap)
    );
}

/// Runs a fixed script and returns every outcome and gas figure.
fn script(chain: &mut Chain) -> Vec<CallResult> {
    let a = chain.deploy(1);
    let b = chain.deploy(2);
    vec![
        chain.call(a, op(1, &[&b"key....."[..], b"value"].concat())),
        chain.call(a, op(2, b"key.....")),
        chain.call(a, op(7, &[0x5A; 100])),
        chain.call(a, relay(b, op(1, &[&b"k2......"[..], b"v2"].concat()))),
        chain.call(a, relay(b, op(13, &[]))),
        chain.call(b, op(12, &3u32.to_le_bytes())),
        chain.call_with(a, op(14, &[]), 123_456),
    ]
}

#[test]
fn same_module_same_input_same_output_and_fuel() {
    let wasm = Arc::new(WasmEngine::new().unwrap());
    let mut first = Chain::on(Arc::new(MemoryBackend::new()), wasm.clone());
    let expected = script(&mut first);
    assert!(wasm.cached_modules() > 0);
    // Again, after dropping the module cache.
    wasm.clear_cache();
    assert_eq!(wasm.cached_modules(), 0);
    let mut again = Chain::on(Arc::new(MemoryBackend::new()), wasm.clone());
    assert_eq!(script(&mut again), expected);
    // With a fresh engine, on RocksDB.
    let dir = tempfile::tempdir().unwrap();
    let rocks = Arc::new(RocksDbBackend::open(dir.path()).unwrap());
    let mut on_rocks = Chain::on(rocks, Arc::new(WasmEngine::new().unwrap()));
    assert_eq!(script(&mut on_rocks), expected);
    assert_eq!(on_rocks.db.root(), first.db.root());
}

fn refusal(engine: &WasmEngine, code: &[u8]) -> WasmError {
    let started = Instant::now();
    let result = engine.validate(code);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refusal took {:?}",
        started.elapsed()
    );
    match result {
        Err(CoreError::InvalidCode { reason, .. }) => *reason.downcast::<WasmError>().unwrap(),
        other => panic!("expected InvalidCode, got {other:?}"),
    }
}

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
             (func (export "call") (result i64) {body}))"#
    ))
    .unwrap()
}

#[test]
fn bad_modules_are_refused_at_deploy_with_typed_errors() {
    let engine = WasmEngine::new().unwrap();
    assert!(engine.validate(&module("(i64.const 0)")).is_ok());
    assert!(matches!(
        refusal(&engine, b"\0asm\x01\0\0\0\x07garbage"),
        WasmError::InvalidWasm { .. }
    ));
    assert!(matches!(
        refusal(&engine, b"not wasm"),
        WasmError::InvalidWasm { .. }
    ));
    let threads = wat::parse_str(
        r#"(module (memory (export "memory") 1 1 shared)
             (func (export "call") (result i64)
               (i64.extend_i32_u (i32.atomic.load (i32.const 0)))))"#,
    )
    .unwrap();
    assert!(matches!(
        refusal(&engine, &threads),
        WasmError::DisabledFeature { feature: "threads" }
    ));
    let simd = module("(drop (v128.const i64x2 1 2)) (i64.const 0)");
    assert!(matches!(
        refusal(&engine, &simd),
        WasmError::DisabledFeature { feature: "simd" }
    ));
    let unknown = wat::parse_str(
        r#"(module (import "env" "abort" (func))
             (memory (export "memory") 1)
             (func (export "call") (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    assert!(matches!(
        refusal(&engine, &unknown),
        WasmError::UnknownImport { module, name } if module == "env" && name == "abort"
    ));
    let wrong_type = wat::parse_str(
        r#"(module (import "braid" "gas" (func (result i32)))
             (memory (export "memory") 1)
             (func (export "call") (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    assert!(matches!(
        refusal(&engine, &wrong_type),
        WasmError::ImportSignature { name: "gas", .. }
    ));
    let no_memory =
        wat::parse_str(r#"(module (func (export "call") (result i64) (i64.const 0)))"#).unwrap();
    assert!(matches!(
        refusal(&engine, &no_memory),
        WasmError::MissingExport { name: "memory", .. }
    ));
    let no_call = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    assert!(matches!(
        refusal(&engine, &no_call),
        WasmError::MissingExport { name: "call", .. }
    ));
    // The stack-height counter's export name is Braid's.
    let reserved = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
             (global (export "{STACK_HEIGHT_EXPORT}") (mut i32) (i32.const 0))
             (func (export "call") (result i64) (i64.const 0)))"#
    ))
    .unwrap();
    let error = refusal(&engine, &reserved);
    assert!(error.to_string().contains(STACK_HEIGHT_EXPORT), "{error}");
    assert!(matches!(
        error,
        WasmError::ReservedExport { name } if name == STACK_HEIGHT_EXPORT
    ));
    let reserved = module(&format!("(i64.const 0)) (func (export \"{START_EXPORT}\")"));
    assert!(matches!(
        refusal(&engine, &reserved),
        WasmError::ReservedExport { name } if name == START_EXPORT
    ));
    // Over the size limit: a large custom section.
    let mut large = module("(i64.const 0)");
    let payload = vec![0u8; limits::MAX_CODE_SIZE];
    large.push(0);
    let mut section = vec![4, b'p', b'a', b'd', b'!'];
    section.extend_from_slice(&payload);
    let mut len = section.len();
    while len >= 0x80 {
        large.push((len as u8 & 0x7F) | 0x80);
        len >>= 7;
    }
    large.push(len as u8);
    large.extend_from_slice(&section);
    assert!(matches!(
        refusal(&engine, &large),
        WasmError::CodeTooLarge { .. }
    ));
    // A compile-time bomb: one huge function, generated.
    let bomb = module(&format!(
        "{} (i64.const 0)",
        "(drop (i32.const 1))".repeat(40_000)
    ));
    assert!(bomb.len() < limits::MAX_CODE_SIZE);
    assert!(matches!(
        refusal(&engine, &bomb),
        WasmError::FunctionTooLarge { index: 0, .. }
    ));
    // And one with too many locals (a few bytes of declaration).
    let locals = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
             (func (export "call") (result i64) (local{}) (i64.const 0)))"#,
        " i64".repeat(limits::MAX_LOCALS as usize + 1)
    ))
    .unwrap();
    assert!(matches!(
        refusal(&engine, &locals),
        WasmError::TooManyLocals { .. }
    ));
    // Through the kernel, nothing is written.
    let mut chain = Chain::new();
    let id = module_identity(4242, b"bad", 1);
    let err = chain.tx(|k| k.deploy(EngineId::WASM, id, &simd));
    assert!(matches!(err, Err(CoreError::InvalidCode { .. })));
    assert_eq!(
        chain
            .db
            .get(EngineId::WASM, &id, &[namespace::RECORD])
            .unwrap(),
        None
    );
    let _ = chain.wasm.cached_modules();
}

#[test]
fn a_non_zero_value_and_a_missing_instance_fault() {
    let mut chain = Chain::new();
    let probe = chain.deploy(1);
    let result = chain.tx(|k| {
        k.call(
            EngineId::WASM,
            Message {
                caller: ALICE,
                target: probe,
                input: op(0, b""),
                value: [1; 32],
                gas_limit: GAS,
            },
        )
    });
    assert_eq!(
        result.unwrap().outcome,
        Outcome::Fault(FaultReason::Engine {
            code: FaultCode::ValueNotAccepted
        })
    );
    let nobody = Identity([0x99; 20]);
    assert!(matches!(
        chain.call(nobody, vec![]).outcome,
        Outcome::Fault(FaultReason::NoSuchInstance { .. })
    ));
}

/// A guest that makes NaNs by arithmetic and stores their bits: under key
/// `f32` the 4-byte results of the f32 cases, under `f64` the 8-byte
/// results of the f64 cases, under `bits` the sign-bit operations. Operands
/// are loaded from memory (a data segment) so the compiler cannot fold them:
/// 0x00 f32 0.0, 0x04 -1.0, 0x08 +inf, 0x0c 1.0, 0x10 a signalling NaN with a
/// payload (0x7fa00001), 0x14 a negative quiet NaN with a payload
/// (0xffc00123); 0x20.. the same six as f64 (signalling 0x7ff4000000000001,
/// negative 0xfff8000000000123).
const NANS: &str = r#"
(module
  (import "braid" "storage_write" (func $write (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0x00) "\00\00\00\00" "\00\00\80\bf" "\00\00\80\7f" "\00\00\80\3f"
                         "\01\00\a0\7f" "\23\01\c0\ff")
  (data (i32.const 0x20) "\00\00\00\00\00\00\00\00" "\00\00\00\00\00\00\f0\bf"
                         "\00\00\00\00\00\00\f0\7f" "\00\00\00\00\00\00\f0\3f"
                         "\01\00\00\00\00\00\f4\7f" "\23\01\00\00\00\00\f8\ff")
  (data (i32.const 0x80) "f32f64bits")
  (global $n (mut i32) (i32.const 0))
  (func $z32 (result f32) (f32.load (i32.const 0x00)))
  (func $m32 (result f32) (f32.load (i32.const 0x04)))
  (func $i32 (result f32) (f32.load (i32.const 0x08)))
  (func $o32 (result f32) (f32.load (i32.const 0x0c)))
  (func $s32 (result f32) (f32.load (i32.const 0x10)))
  (func $q32 (result f32) (f32.load (i32.const 0x14)))
  (func $z64 (result f64) (f64.load (i32.const 0x20)))
  (func $m64 (result f64) (f64.load (i32.const 0x28)))
  (func $i64 (result f64) (f64.load (i32.const 0x30)))
  (func $o64 (result f64) (f64.load (i32.const 0x38)))
  (func $s64 (result f64) (f64.load (i32.const 0x40)))
  (func $q64 (result f64) (f64.load (i32.const 0x48)))
  ;; Appends a result's bits at 0x1000 + $n.
  (func $put32 (param $v f32)
    (i32.store (i32.add (i32.const 0x1000) (global.get $n)) (i32.reinterpret_f32 (local.get $v)))
    (global.set $n (i32.add (global.get $n) (i32.const 4))))
  (func $put64 (param $v f64)
    (i64.store (i32.add (i32.const 0x1000) (global.get $n)) (i64.reinterpret_f64 (local.get $v)))
    (global.set $n (i32.add (global.get $n) (i32.const 8))))
  ;; Stores the results appended since the last flush under `key` (3 or 4 bytes at 0x80+).
  (func $flush (param $key i32) (param $len i32)
    (drop (call $write (local.get $key) (local.get $len) (i32.const 0x1000) (global.get $n)))
    (global.set $n (i32.const 0)))
  (func (export "call") (result i64)
    ;; f32: invalid operations, then NaN inputs through arithmetic.
    (call $put32 (f32.div (call $z32) (call $z32)))
    (call $put32 (f32.sqrt (call $m32)))
    (call $put32 (f32.sub (call $i32) (call $i32)))
    (call $put32 (f32.mul (call $i32) (call $z32)))
    (call $put32 (f32.add (call $s32) (call $o32)))
    (call $put32 (f32.mul (call $q32) (call $o32)))
    (call $put32 (f32.div (call $o32) (call $s32)))
    (call $put32 (f32.sub (call $q32) (call $s32)))
    (call $put32 (f32.min (call $s32) (call $o32)))
    (call $put32 (f32.max (call $q32) (call $o32)))
    (call $put32 (f32.sqrt (call $s32)))
    (call $put32 (f32.ceil (call $s32)))
    (call $put32 (f32.floor (call $q32)))
    (call $put32 (f32.trunc (call $s32)))
    (call $put32 (f32.nearest (call $q32)))
    (call $put32 (f32.demote_f64 (call $s64)))
    (call $put32 (f32.demote_f64 (call $q64)))
    (call $flush (i32.const 0x80) (i32.const 3))
    ;; f64: the same.
    (call $put64 (f64.div (call $z64) (call $z64)))
    (call $put64 (f64.sqrt (call $m64)))
    (call $put64 (f64.sub (call $i64) (call $i64)))
    (call $put64 (f64.mul (call $i64) (call $z64)))
    (call $put64 (f64.add (call $s64) (call $o64)))
    (call $put64 (f64.mul (call $q64) (call $o64)))
    (call $put64 (f64.div (call $o64) (call $s64)))
    (call $put64 (f64.sub (call $q64) (call $s64)))
    (call $put64 (f64.min (call $s64) (call $o64)))
    (call $put64 (f64.max (call $q64) (call $o64)))
    (call $put64 (f64.sqrt (call $s64)))
    (call $put64 (f64.ceil (call $s64)))
    (call $put64 (f64.floor (call $q64)))
    (call $put64 (f64.trunc (call $s64)))
    (call $put64 (f64.nearest (call $q64)))
    (call $put64 (f64.promote_f32 (call $s32)))
    (call $put64 (f64.promote_f32 (call $q32)))
    (call $flush (i32.const 0x83) (i32.const 3))
    ;; Sign-bit operations are not arithmetic: they keep the payload
    ;; (WebAssembly spec, "NaN propagation"), exactly.
    (call $put32 (f32.neg (call $s32)))
    (call $put32 (f32.abs (call $q32)))
    (call $put32 (f32.copysign (call $s32) (call $m32)))
    (call $put64 (f64.neg (call $s64)))
    (call $put64 (f64.abs (call $q64)))
    (call $put64 (f64.copysign (call $s64) (call $m64)))
    (call $flush (i32.const 0x86) (i32.const 4))
    (i64.const 0)))
"#;

/// WebAssembly leaves the bits of an arithmetic NaN to the machine; Braid's
/// engine canonicalises them (`cranelift_nan_canonicalization`, RFC 0004), so
/// every NaN that arithmetic makes, from invalid operations or from NaN
/// inputs with a sign or payload, is stored as the positive canonical NaN:
/// f32 0x7fc00000, f64 0x7ff8000000000000. The same bits on every run and
/// on a fresh engine.
#[test]
fn arithmetic_nans_are_stored_canonical_on_every_run() {
    const F32_CASES: usize = 17;
    const F64_CASES: usize = 17;
    let run = |chain: &mut Chain| {
        let id = chain.deploy_code("nans", 1, &wat::parse_str(NANS).unwrap());
        for _ in 0..2 {
            assert_eq!(chain.call(id, vec![]).outcome, halt(vec![]));
        }
        let stored = |key: &[u8]| chain.storage(id, key).expect("the guest stored its NaNs");
        (stored(b"f32"), stored(b"f64"), stored(b"bits"))
    };
    let (f32s, f64s, bits) = run(&mut Chain::new());
    let f32s: Vec<u32> = f32s
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let f64s: Vec<u64> = f64s
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(f32s, vec![0x7fc0_0000; F32_CASES], "f32 NaNs: {f32s:08x?}");
    assert_eq!(
        f64s,
        vec![0x7ff8_0000_0000_0000; F64_CASES],
        "f64 NaNs: {f64s:016x?}"
    );
    let expected_bits = [
        &0xffa0_0001u32.to_le_bytes()[..],
        &0x7fc0_0123u32.to_le_bytes(),
        &0xffa0_0001u32.to_le_bytes(),
        &0xfff4_0000_0000_0001u64.to_le_bytes(),
        &0x7ff8_0000_0000_0123u64.to_le_bytes(),
        &0xfff4_0000_0000_0001u64.to_le_bytes(),
    ]
    .concat();
    assert_eq!(bits, expected_bits);
    // A fresh engine and store, on RocksDB: the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let rocks = Arc::new(RocksDbBackend::open(dir.path()).unwrap());
    let mut fresh = Chain::on(rocks, Arc::new(WasmEngine::new().unwrap()));
    let (f32_again, f64_again, bits_again) = run(&mut fresh);
    let to_le32 = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let to_le64 = |v: &[u64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    assert_eq!(f32_again, to_le32(&f32s));
    assert_eq!(f64_again, to_le64(&f64s));
    assert_eq!(bits_again, expected_bits);
}

/// CAPS.md T33 (RFC 0010): WASM has no caps in this step. A module
/// importing a cap or YIELD host call of the shared table (named as the PVM
/// names it) is refused at deploy with `UnknownImport`, whatever its
/// signature.
#[test]
fn cap_and_yield_imports_are_refused_at_deploy() {
    let engine = WasmEngine::new().unwrap();
    let names = [
        "call_cap",
        "yield",
        "set_image",
        "derive_spawn",
        "image_make",
        "same_type",
        "type_of",
        "data_read",
        "data_mint",
        "instance_cap",
        "slot_copy",
        "slot_move",
        "slot_drop",
        "slot_kind",
        "cnode_pack",
        "cnode_unpack",
        "yieldref_mint",
        "resume",
        "resume_fault",
    ];
    for name in names {
        for signature in ["(param i64) (result i64)", "(result i64)"] {
            let code = wat::parse_str(format!(
                r#"(module (import "braid" "{name}" (func {signature}))
                     (memory (export "memory") 1)
                     (func (export "call") (result i64) (i64.const 0)))"#
            ))
            .unwrap();
            assert!(
                matches!(
                    refusal(&engine, &code),
                    WasmError::UnknownImport { ref module, name: ref n } if module == "braid" && n == name
                ),
                "{name}"
            );
        }
    }
}
