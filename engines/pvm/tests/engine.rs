//! The PVM engine through the real kernel and state: Braid's C contracts
//! (`engines/pvm/contracts/build/*.pvm`), host calls, kernel rules 1-4, and
//! bad input at deploy and at run time. Every test runs on every backend.

#[macro_use]
mod common;

use std::path::PathBuf;
use std::sync::Arc;

use braid_core::{
    BlockEnv, CallResult, CoreError, Engine, EngineId, Engines, FaultReason, Identity, Message,
    NoBlockHashes, Outcome, keccak256, module_identity, namespace,
};
use braid_kernel::{BlockState, Kernel};
use braid_pvm::blob::{ProgramBlob, StandardProgram};
use braid_pvm::{Backend, Config, PvmEngine, PvmError, PvmSpec};
use braid_state::{MemoryBackend, StateDb, StateKey};

run_tests! {
    the_token_mints_transfers_and_reverts,
    the_gate_reads_an_evm_slot_and_stores_its_decision,
    a_faulting_callee_leaves_no_writes_and_its_caller_carries_on,
    a_calls_b_calls_a_is_a_reentrancy_fault_for_the_inner_call,
    the_callee_sees_its_caller_and_reverts_propagate_as_status,
    an_infinite_loop_ends_out_of_gas,
    a_host_call_with_out_of_range_pointers_panics_and_writes_nothing,
    an_unknown_host_call_answers_what_and_continues,
    bad_code_is_refused_at_deploy_with_a_typed_error,
    a_heap_request_past_the_limit_returns_zero,
}

fn contract(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/build")
        .join(format!("{name}.pvm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const ALICE: Identity = Identity([0xa1; 20]);
const BOB: Identity = Identity([0xb0; 20]);

struct Chain {
    db: StateDb,
    engines: Engines,
}

/// The PVM engine on `backend`.
fn engine(backend: Backend) -> PvmEngine {
    PvmEngine::with_config(Config::new(PvmSpec::Gp0_7_2).with_backend(backend))
        .expect("the backend is available")
}

impl Chain {
    fn new(backend: Backend) -> Chain {
        let mut engines = Engines::new();
        engines.register(Arc::new(engine(backend)));
        Chain {
            db: StateDb::open(Arc::new(MemoryBackend::new())).unwrap(),
            engines,
        }
    }

    /// Runs `f` as one transaction of one block, committed.
    fn tx<T>(&mut self, f: impl FnOnce(&mut Kernel<'_, '_>) -> T) -> T {
        let mut block = BlockState::new(&self.db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 50_000_000);
        let out = f(&mut kernel);
        kernel.commit();
        let changes = block.into_changes();
        self.db.commit_block(changes, |_| Vec::new()).unwrap();
        out
    }

    fn deploy(&mut self, name: &str) -> Identity {
        let id = module_identity(4242, name.as_bytes(), 1);
        let code = contract(name);
        self.tx(|k| k.deploy(EngineId::PVM, id, &code)).unwrap();
        id
    }

    fn call(&mut self, caller: Identity, target: Identity, input: Vec<u8>) -> CallResult {
        self.tx(|k| {
            k.call(
                EngineId::PVM,
                Message {
                    caller,
                    target,
                    input,
                    value: [0; 32],
                    gas_limit: 10_000_000,
                },
            )
        })
        .unwrap()
    }

    fn storage(&self, engine: EngineId, id: Identity, key: &[u8]) -> Option<Vec<u8>> {
        let mut k = vec![namespace::STORAGE];
        k.extend_from_slice(key);
        self.db.get(engine, &id, &k).unwrap()
    }
}

fn transfer(to: Identity, amount: u64) -> Vec<u8> {
    let mut input = vec![1];
    input.extend_from_slice(&to.0);
    input.extend_from_slice(&amount.to_le_bytes());
    input
}

fn balance_of(who: Identity) -> Vec<u8> {
    let mut input = vec![2];
    input.extend_from_slice(&who.0);
    input
}

fn the_token_mints_transfers_and_reverts(backend: Backend) {
    let mut chain = Chain::new(backend);
    let token = chain.deploy("token");
    let init = chain.call(
        ALICE,
        token,
        [vec![0], 1000u64.to_le_bytes().to_vec()].concat(),
    );
    assert_eq!(init.outcome, Outcome::Halt { output: vec![] });
    assert!(init.gas_used > 0);
    let sent = chain.call(ALICE, token, transfer(BOB, 300));
    assert_eq!(
        sent.outcome,
        Outcome::Halt {
            output: 700u64.to_le_bytes().to_vec()
        }
    );
    assert_eq!(
        chain.call(ALICE, token, balance_of(BOB)).outcome,
        Outcome::Halt {
            output: 300u64.to_le_bytes().to_vec()
        }
    );
    // Writes land under engine 0x02, the instance's identity, namespace 0x01.
    assert_eq!(
        chain.storage(EngineId::PVM, token, &BOB.0),
        Some(300u64.to_le_bytes().to_vec())
    );
    let too_much = chain.call(BOB, token, transfer(ALICE, 301));
    assert_eq!(
        too_much.outcome,
        Outcome::Revert {
            output: b"insufficient balance".to_vec()
        }
    );
    assert_eq!(
        chain.storage(EngineId::PVM, token, &BOB.0),
        Some(300u64.to_le_bytes().to_vec())
    );
    let again = chain.call(
        ALICE,
        token,
        [vec![0], 5u64.to_le_bytes().to_vec()].concat(),
    );
    assert_eq!(
        again.outcome,
        Outcome::Revert {
            output: b"initialized".to_vec()
        }
    );
}

fn the_gate_reads_an_evm_slot_and_stores_its_decision(backend: Backend) {
    let mut chain = Chain::new(backend);
    let gate = chain.deploy("gate");
    // An ERC-20 balance as the EVM stores it: mapping at slot 0, key
    // keccak256(pad32(holder) ‖ pad32(0)), value 32 bytes big-endian.
    let token = Identity([0x70; 20]);
    let holder = Identity([0x11; 20]);
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(&holder.0);
    let slot = keccak256(&preimage);
    let mut balance = [0u8; 32];
    balance[30..].copy_from_slice(&500u16.to_be_bytes());
    let mut key = vec![namespace::STORAGE];
    key.extend_from_slice(&slot);
    chain
        .db
        .commit_block(
            vec![(
                StateKey::new(EngineId::EVM, token, key),
                Some(balance.to_vec()),
            )],
            |_| Vec::new(),
        )
        .unwrap();
    for (threshold, decision) in [(500u16, 1u8), (501, 0)] {
        let mut input = Vec::new();
        input.extend_from_slice(&token.0);
        input.extend_from_slice(&holder.0);
        input.extend_from_slice(&[0; 32]);
        let mut t = [0u8; 32];
        t[30..].copy_from_slice(&threshold.to_be_bytes());
        input.extend_from_slice(&t);
        let result = chain.call(ALICE, gate, input);
        let mut expected = balance.to_vec();
        expected.push(decision);
        assert_eq!(
            result.outcome,
            Outcome::Halt {
                output: expected.clone()
            }
        );
        assert_eq!(
            chain.storage(EngineId::PVM, gate, &holder.0),
            Some(expected)
        );
    }
}

fn a_faulting_callee_leaves_no_writes_and_its_caller_carries_on(backend: Backend) {
    let mut chain = Chain::new(backend);
    let relay = chain.deploy("relay");
    let faulty = chain.deploy("faulty");
    let mut input = faulty.0.to_vec();
    input.push(b'k');
    let result = chain.call(ALICE, relay, input);
    assert_eq!(result.outcome, Outcome::Halt { output: vec![2] });
    assert_eq!(chain.storage(EngineId::PVM, relay, b"k"), Some(vec![1]));
    assert_eq!(chain.storage(EngineId::PVM, faulty, b"f"), None);
    // Alone, the faulty module traps and writes nothing either.
    let alone = chain.call(ALICE, faulty, vec![]);
    assert_eq!(alone.outcome, Outcome::Fault(FaultReason::Trap));
    assert_eq!(chain.storage(EngineId::PVM, faulty, b"f"), None);
}

fn a_calls_b_calls_a_is_a_reentrancy_fault_for_the_inner_call(backend: Backend) {
    let mut chain = Chain::new(backend);
    let a = chain.deploy("relay");
    let b = {
        let id = module_identity(4242, b"relay", 2);
        let code = contract("relay");
        chain.tx(|k| k.deploy(EngineId::PVM, id, &code)).unwrap();
        id
    };
    // A(x) -> B(y) -> A(z): the inner call to A is refused.
    let mut input = b.0.to_vec();
    input.push(b'x');
    input.extend_from_slice(&a.0);
    input.push(b'y');
    input.extend_from_slice(&a.0);
    input.push(b'z');
    let result = chain.call(ALICE, a, input);
    // A sees B halt (0), and B reports that its call faulted (2).
    assert_eq!(result.outcome, Outcome::Halt { output: vec![0, 2] });
    assert_eq!(chain.storage(EngineId::PVM, a, b"x"), Some(vec![1]));
    assert_eq!(chain.storage(EngineId::PVM, b, b"y"), Some(vec![1]));
    assert_eq!(chain.storage(EngineId::PVM, a, b"z"), None);
}

fn the_callee_sees_its_caller_and_reverts_propagate_as_status(backend: Backend) {
    let mut chain = Chain::new(backend);
    let relay = chain.deploy("relay");
    let token = chain.deploy("token");
    // relay -> token.init: the token mints to its caller, the relay.
    let mut input = token.0.to_vec();
    input.push(b'k');
    input.push(0);
    input.extend_from_slice(&77u64.to_le_bytes());
    assert_eq!(
        chain.call(ALICE, relay, input).outcome,
        Outcome::Halt { output: vec![0] }
    );
    assert_eq!(
        chain.storage(EngineId::PVM, token, &relay.0),
        Some(77u64.to_le_bytes().to_vec())
    );
    // A second init reverts: status 1 and the revert data.
    let mut input = token.0.to_vec();
    input.push(b'k');
    input.push(0);
    input.extend_from_slice(&1u64.to_le_bytes());
    let mut expected = vec![1];
    expected.extend_from_slice(b"initialized");
    assert_eq!(
        chain.call(ALICE, relay, input).outcome,
        Outcome::Halt { output: expected }
    );
}

/// A standard program around `code` (every byte an instruction start unless
/// `bitmask` says otherwise).
fn program(code: Vec<u8>, bitmask: Vec<u8>, jump_table: Vec<u32>) -> Vec<u8> {
    StandardProgram {
        ro_data: vec![],
        rw_data: vec![],
        heap_pages: 0,
        stack_size: 4096,
        blob: ProgramBlob {
            jump_table,
            code,
            bitmask,
        },
    }
    .encode()
}

fn deploy_raw(chain: &mut Chain, name: &str, code: Vec<u8>) -> Identity {
    let id = module_identity(4242, name.as_bytes(), 1);
    chain.tx(|k| k.deploy(EngineId::PVM, id, &code)).unwrap();
    id
}

fn an_infinite_loop_ends_out_of_gas(backend: Backend) {
    let mut chain = Chain::new(backend);
    // pc 0: jump 0 (opcode 40, offset 0).
    let looping = deploy_raw(&mut chain, "loop", program(vec![40, 0], vec![0b01], vec![]));
    let result = chain.call(ALICE, looping, vec![]);
    assert_eq!(result.outcome, Outcome::Fault(FaultReason::OutOfGas));
    assert_eq!(result.gas_used, 10_000_000);
}

fn a_host_call_with_out_of_range_pointers_panics_and_writes_nothing(backend: Backend) {
    let mut chain = Chain::new(backend);
    // load_imm r7, 0x100 (below 64 KiB); load_imm r8, 4; ecalli 5 (storage_write); trap.
    let code = vec![51, 7, 0x00, 0x01, 51, 8, 4, 10, 5, 0];
    let bitmask = vec![0b1001_0001, 0b10];
    let bad = deploy_raw(&mut chain, "bad-pointer", program(code, bitmask, vec![]));
    let result = chain.call(ALICE, bad, vec![]);
    assert_eq!(result.outcome, Outcome::Fault(FaultReason::Trap));
    // A pointer past 4 GiB (r7 = -1) panics too.
    let code = vec![51, 7, 0xFF, 51, 8, 4, 10, 5, 0];
    let bitmask = vec![0b0100_1001, 0b1];
    let bad = deploy_raw(&mut chain, "bad-pointer-2", program(code, bitmask, vec![]));
    assert_eq!(
        chain.call(ALICE, bad, vec![]).outcome,
        Outcome::Fault(FaultReason::Trap)
    );
}

fn an_unknown_host_call_answers_what_and_continues(backend: Backend) {
    let mut chain = Chain::new(backend);
    // ecalli 99; then halt: jump_ind r0 (r0 = 0xFFFF0000) with r8 = 0 output.
    // r7 = WHAT after the call; output is memory[r7..r7+0] = empty.
    let code = vec![10, 99, 50, 0];
    let bitmask = vec![0b0101];
    let id = deploy_raw(&mut chain, "what", program(code, bitmask, vec![]));
    assert_eq!(
        chain.call(ALICE, id, vec![]).outcome,
        Outcome::Halt { output: vec![] }
    );
}

fn bad_code_is_refused_at_deploy_with_a_typed_error(backend: Backend) {
    let engine = engine(backend);
    let reason = |code: &[u8]| match engine.validate(code) {
        Err(CoreError::InvalidCode { reason, .. }) => *reason.downcast::<PvmError>().unwrap(),
        other => panic!("expected InvalidCode, got {other:?}"),
    };
    let good = contract("token");
    assert!(engine.validate(&good).is_ok());
    // Truncated.
    assert!(matches!(
        reason(&good[..good.len() - 1]),
        PvmError::Truncated { .. }
    ));
    // A jump table entry past the code.
    assert!(matches!(
        reason(&program(vec![0], vec![1], vec![5])),
        PvmError::JumpTableEntryOutOfRange {
            index: 0,
            target: 5,
            code_len: 1
        }
    ));
    // An undefined opcode at the entry.
    assert!(matches!(
        reason(&program(vec![255], vec![1], vec![])),
        PvmError::InvalidEntry { byte: 0xFF }
    ));
    // The error names the byte that is there (0xee: no opcode), not 0xff.
    assert!(matches!(
        reason(&program(vec![0xEE], vec![1], vec![])),
        PvmError::InvalidEntry { byte: 0xEE }
    ));
    // No code.
    assert!(matches!(
        reason(&program(vec![], vec![], vec![])),
        PvmError::EmptyCode
    ));
    // A section longer than the input.
    let mut oversized = program(vec![0], vec![1], vec![]);
    oversized[3..6].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
    assert!(matches!(reason(&oversized), PvmError::Truncated { .. }));
    // Through the kernel, nothing is written.
    let mut chain = Chain::new(backend);
    let id = module_identity(4242, b"bad", 1);
    let err = chain.tx(|k| k.deploy(EngineId::PVM, id, &good[..10]));
    assert!(matches!(err, Err(CoreError::InvalidCode { .. })));
    assert_eq!(
        chain
            .db
            .get(EngineId::PVM, &id, &[namespace::RECORD])
            .unwrap(),
        None
    );
}

fn a_heap_request_past_the_limit_returns_zero(backend: Backend) {
    use braid_pvm::{ExitReason, GuestAccess, Instance, Module, Reg};
    // load_imm_64 r9, X; sbrk r7, r9; ecalli 0 (stop here to look); repeat.
    let sbrk_then_stop = |size: u64| {
        let mut code = vec![20, 9];
        code.extend_from_slice(&size.to_le_bytes());
        code.extend_from_slice(&[101, 0x97, 10, 0]);
        code
    };
    let mut code = sbrk_then_stop(1 << 31);
    code.extend(sbrk_then_stop(4096));
    let mut bitmask = vec![0u8; 4];
    for pc in [0usize, 10, 12, 14, 24, 26] {
        bitmask[pc / 8] |= 1 << (pc % 8);
    }
    let bytes = program(code, bitmask, vec![]);
    let config = Config::new(PvmSpec::Gp0_7_2).with_backend(backend);
    let module = Module::parse_standard(&config, &bytes).unwrap();
    let mut instance = Instance::standard(&module, &[], 1000).unwrap();
    let top = instance.heap_top();
    let r7 = Reg::new(7).unwrap();
    // 2 GiB is past Braid's heap limit: sbrk answers 0 and maps nothing.
    assert_eq!(instance.run(), ExitReason::HostCall(0));
    assert_eq!(instance.reg(r7), 0);
    assert_eq!(instance.heap_top(), top);
    // One page is granted: the new top, and the page is writable.
    assert_eq!(instance.run(), ExitReason::HostCall(0));
    assert_eq!(instance.reg(r7), u64::from(top) + 4096);
    assert!(instance.write(top, &[1; 4096]).is_ok());
    assert!(instance.write(top + 4096, &[1]).is_err());
}

#[test]
fn a_backend_is_available_or_refused_by_name() {
    for backend in Backend::ALL {
        let config = Config::new(PvmSpec::Gp0_7_2).with_backend(backend);
        match PvmEngine::with_config(config) {
            Ok(engine) => {
                assert!(backend.is_available());
                assert_eq!(engine.config().backend, backend);
            }
            Err(e) => {
                assert!(!backend.is_available());
                assert_eq!(e, PvmError::BackendUnavailable { backend });
            }
        }
    }
    // On x86-64 Linux with LZCNT and BMI2 (CI's machine) the recompiler is
    // there.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    assert_eq!(
        Backend::Compiler.is_available(),
        std::arch::is_x86_feature_detected!("lzcnt") && std::arch::is_x86_feature_detected!("bmi2")
    );
}
