//! The recompiler's safety and equivalence, each checked against the
//! interpreter (the reference):
//! - loads and stores of every width at every kind of page boundary
//!   (inaccessible, read-only, writable, the low 64 KiB, the top of the
//!   4 GiB space, addresses that wrap past 2^32 through the register, the
//!   immediate or both) give the interpreter's outcome, and each hardware
//!   fault went through the signal handler;
//! - a guest cannot reach host memory: addresses that would land in host
//!   memory, the context page or the jump table on a naive layout (a
//!   register's 64-bit value added to the base, negative offsets) stay in
//!   the guest's 4 GiB, and a host canary is untouched;
//! - deep recursion ends in a page fault on the page below the stack;
//! - an infinite loop ends out of gas (also `tests/engine.rs` on both backends);
//! - a JIT bomb is bounded: the module runs on the interpreter;
//! - crosscheck mode passes on real contracts and names the first difference.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use braid_pvm::blob::{PAGE_SIZE, ProgramBlob, StandardProgram};
use braid_pvm::{
    Backend, Config, ExitReason, GuestAccess, Instance, Module, Opcode, PvmError, PvmSpec, Reg,
};

/// A raw program assembled from instructions (each: opcode and operand
/// bytes), every instruction start marked in the bitmask.
fn blob(instructions: &[Vec<u8>]) -> ProgramBlob {
    let mut code = Vec::new();
    let mut starts = Vec::new();
    for i in instructions {
        starts.push(code.len());
        code.extend_from_slice(i);
    }
    let mut bitmask = vec![0u8; code.len().div_ceil(8)];
    for s in starts {
        bitmask[s / 8] |= 1 << (s % 8);
    }
    ProgramBlob {
        jump_table: vec![],
        code,
        bitmask,
    }
}

/// `op a, b, imm` (RegRegImm) with a 4-byte immediate.
fn reg_reg_imm(op: Opcode, a: u8, b: u8, imm: u32) -> Vec<u8> {
    let mut i = vec![op.byte(), a | (b << 4)];
    i.extend_from_slice(&imm.to_le_bytes());
    i
}

/// `op a, imm` (RegImm) with a 4-byte immediate.
fn reg_imm(op: Opcode, a: u8, imm: u32) -> Vec<u8> {
    let mut i = vec![op.byte(), a];
    i.extend_from_slice(&imm.to_le_bytes());
    i
}

/// What a run shows: exit, pc, registers, gas, and the bytes of `pages`.
type Seen = (ExitReason, u32, [u64; 13], i64, Vec<Vec<u8>>);

fn run(
    backend: Backend,
    program: &ProgramBlob,
    pages: &[(u32, bool)],
    regs: &[(u8, u64)],
    gas: i64,
) -> Seen {
    let config = Config::new(PvmSpec::Gp0_7_2).with_backend(backend);
    let module = Module::from_blob(&config, program).unwrap();
    assert_eq!(module.backend(), backend);
    let mut vm = Instance::new(&module);
    for (n, &(page, writable)) in pages.iter().enumerate() {
        vm.map(page, u64::from(PAGE_SIZE), writable);
        // Recognisable contents: a guest load shows which page it read.
        let fill: Vec<u8> = (0..PAGE_SIZE).map(|i| (i as u8) ^ (n as u8 * 37)).collect();
        vm.init(page, &fill);
    }
    for &(r, value) in regs {
        vm.set_reg(Reg::new(r).unwrap(), value);
    }
    vm.set_gas(gas);
    vm.set_pc(0);
    let exit = vm.run();
    let memory = pages
        .iter()
        .map(|&(p, _)| vm.read_vec(p, PAGE_SIZE).unwrap())
        .collect();
    (exit, vm.pc(), vm.regs(), vm.gas(), memory)
}

const LOADS: [Opcode; 7] = [
    Opcode::load_ind_u8,
    Opcode::load_ind_i8,
    Opcode::load_ind_u16,
    Opcode::load_ind_i16,
    Opcode::load_ind_u32,
    Opcode::load_ind_i32,
    Opcode::load_ind_u64,
];
const STORES: [Opcode; 4] = [
    Opcode::store_ind_u8,
    Opcode::store_ind_u16,
    Opcode::store_ind_u32,
    Opcode::store_ind_u64,
];
const DIRECT: [Opcode; 11] = [
    Opcode::load_u8,
    Opcode::load_i16,
    Opcode::load_u32,
    Opcode::load_i32,
    Opcode::load_u64,
    Opcode::store_u8,
    Opcode::store_u16,
    Opcode::store_u32,
    Opcode::store_u64,
    Opcode::load_i8,
    Opcode::load_u16,
];

/// Pages around every kind of boundary: writable next to read-only next to
/// unmapped, the first page above the low 64 KiB, the top of the space.
fn layouts() -> Vec<Vec<(u32, bool)>> {
    vec![
        vec![
            (0x10000, true),
            (0x11000, false),
            (0x13000, true),
            (0x14000, true),
            (0xFFFF_E000, false),
            (0xFFFF_F000, true),
        ],
        vec![(0x10000, false), (0x12000, true), (0xFFFF_E000, true)],
    ]
}

/// Addresses just below and at each boundary of the layouts, and wraps.
fn addresses() -> Vec<u32> {
    let boundaries = [
        0u32,
        0x1_0000,
        0x1_1000,
        0x1_2000,
        0x1_3000,
        0x1_5000,
        0x8000_0000,
        0xFFFF_E000,
        0xFFFF_F000,
    ];
    let mut out = Vec::new();
    for b in boundaries {
        for delta in -9i32..=2 {
            out.push(b.wrapping_add(delta as u32));
        }
    }
    out
}

#[test]
fn loads_and_stores_at_every_page_boundary_match_the_interpreter() {
    let faults_before = braid_pvm::compiled::faults_handled();
    let mut cases = 0;
    let mut compiled_faults = 0u64;
    for pages in layouts() {
        for address in addresses() {
            // The address reached three ways: in the register, split with
            // a negative immediate, and with garbage in the upper 32 bits
            // (a naive `base + reg` would leave the 4 GiB).
            let forms: [(u64, u32); 3] = [
                (u64::from(address), 0),
                (u64::from(address.wrapping_add(16)), (-16i32) as u32),
                (
                    0xDEAD_BEEF_0000_0000 | u64::from(address.wrapping_sub(0x100)),
                    0x100,
                ),
            ];
            for (reg, imm) in forms {
                for op in LOADS.iter().chain(&STORES) {
                    let program = blob(&[reg_reg_imm(*op, 2, 1, imm), vec![Opcode::trap.byte()]]);
                    let regs = [(1, reg), (2, 0x1122_3344_5566_7788)];
                    let want = run(Backend::Interpreter, &program, &pages, &regs, 100);
                    let got = run(Backend::Compiler, &program, &pages, &regs, 100);
                    assert_eq!(
                        got, want,
                        "{op} at {address:#x} (r1 {reg:#x}, imm {imm:#x}), pages {pages:x?}"
                    );
                    if matches!(got.0, ExitReason::PageFault(_))
                        || got.0 == ExitReason::Panic && got.1 == 0
                    {
                        compiled_faults += 1;
                    }
                    cases += 1;
                }
            }
            for op in DIRECT {
                let program = blob(&[reg_imm(op, 2, address), vec![Opcode::trap.byte()]]);
                let regs = [(2, 0x1122_3344_5566_7788)];
                let want = run(Backend::Interpreter, &program, &pages, &regs, 100);
                let got = run(Backend::Compiler, &program, &pages, &regs, 100);
                assert_eq!(got, want, "{op} at {address:#x}, pages {pages:x?}");
                if matches!(got.0, ExitReason::PageFault(_))
                    || got.0 == ExitReason::Panic && got.1 == 0
                {
                    compiled_faults += 1;
                }
                cases += 1;
            }
        }
    }
    assert!(cases > 2_000, "{cases} cases");
    // Every fault the compiled code met went through the signal handler
    // (other tests in this binary may add to the counter concurrently).
    let handled = braid_pvm::compiled::faults_handled() - faults_before;
    assert!(compiled_faults > 500, "{compiled_faults} faulting cases");
    assert!(
        handled >= compiled_faults,
        "{handled} faults handled for {compiled_faults} faulting accesses"
    );
}

#[test]
fn a_guest_cannot_reach_host_memory() {
    // A host buffer and its address: a naive layout (`base + reg`) or a
    // guest given host pointers could touch it.
    let canary = vec![0xA5u8; 3 * PAGE_SIZE as usize];
    let host = canary.as_ptr() as u64 + u64::from(PAGE_SIZE);
    let pages = [(0x20000u32, true), (0xFFFF_F000, true)];
    let mut targets = vec![
        host,
        host & 0xFFFF_FFFF,
        // Below the guest base: the context page and the jump table.
        (-8i64) as u64,
        (-4096i64) as u64,
        (-(1i64 << 20)) as u64,
        // Past the guest's 4 GiB: the guard, then whatever follows.
        1 << 32,
        (1 << 32) + 0x20000,
        u64::MAX,
        0x7FFF_FFFF_FFFF_F000,
    ];
    targets.extend((0..64).map(|i| host.wrapping_add(i << 32)));
    for target in targets {
        for op in STORES.iter().chain(&LOADS) {
            for imm in [0u32, 8, (-8i32) as u32, 0x7FFF_FFFF] {
                let program = blob(&[reg_reg_imm(*op, 2, 1, imm), vec![Opcode::trap.byte()]]);
                let regs = [(1, target), (2, 0x0BAD_0BAD_0BAD_0BAD)];
                let want = run(Backend::Interpreter, &program, &pages, &regs, 100);
                let got = run(Backend::Compiler, &program, &pages, &regs, 100);
                assert_eq!(got, want, "{op} at r1 {target:#x} + {imm:#x}");
            }
        }
    }
    assert!(
        canary.iter().all(|&b| b == 0xA5),
        "the host buffer was written"
    );
}

/// A standard program that calls itself forever, pushing a return address
/// each time: the stack runs into the unmapped page below it.
#[test]
fn deep_recursion_ends_in_a_page_fault_on_the_stack_guard() {
    // 0: fallthrough (so pc 1 is a block start)
    // 1: add_imm_64 r1, r1, -16; store_ind_u64 r0, r1, 8; load_imm_jump r0, 0x55, pc 1
    let body = [
        vec![Opcode::fallthrough.byte()],
        reg_reg_imm(Opcode::add_imm_64, 1, 1, (-16i32) as u32),
        reg_reg_imm(Opcode::store_ind_u64, 0, 1, 8),
    ];
    let mut b = blob(&body);
    let at = b.code.len();
    // load_imm_jump r0, imm 0x55 (1 byte), offset back to pc 1 (4 bytes).
    b.code
        .extend_from_slice(&[Opcode::load_imm_jump.byte(), 1 << 4, 0x55]);
    b.code.extend_from_slice(&(1i32 - at as i32).to_le_bytes());
    b.bitmask = vec![0; b.code.len().div_ceil(8)];
    for s in [0, 1, 7, at] {
        b.bitmask[s / 8] |= 1 << (s % 8);
    }
    let program = StandardProgram {
        ro_data: vec![],
        rw_data: vec![],
        heap_pages: 0,
        stack_size: 64 * 1024,
        blob: b,
    };
    let layout = program.layout().unwrap();
    let bytes = program.encode();
    let mut seen = Vec::new();
    for backend in [Backend::Interpreter, Backend::Compiler] {
        let config = Config::new(PvmSpec::Gp0_7_2).with_backend(backend);
        let module = Module::parse_standard(&config, &bytes).unwrap();
        let mut vm = Instance::standard(&module, &[], 1_000_000).unwrap();
        let exit = vm.run();
        assert_eq!(
            exit,
            ExitReason::PageFault(layout.stack_start - PAGE_SIZE),
            "{backend}"
        );
        assert_eq!(
            vm.reg(Reg::new(1).unwrap()),
            u64::from(layout.stack_start) - 16
        );
        seen.push((exit, vm.pc(), vm.regs(), vm.gas()));
    }
    assert_eq!(seen[0], seen[1]);
}

/// 0: fallthrough; 1: add_imm_64 r3, r3, 1; 2: jump back to 1.
fn counting_loop() -> ProgramBlob {
    let mut b = blob(&[
        vec![Opcode::fallthrough.byte()],
        reg_reg_imm(Opcode::add_imm_64, 3, 3, 1),
    ]);
    let at = b.code.len();
    b.code.push(Opcode::jump.byte());
    b.code.extend_from_slice(&(1i32 - at as i32).to_le_bytes());
    b.bitmask = vec![0; b.code.len().div_ceil(8)];
    for s in [0, 1, at] {
        b.bitmask[s / 8] |= 1 << (s % 8);
    }
    b
}

#[test]
fn an_infinite_loop_ends_out_of_gas_at_its_block() {
    let b = counting_loop();
    let want = run(Backend::Interpreter, &b, &[], &[], 1_000_001);
    let got = run(Backend::Compiler, &b, &[], &[], 1_000_001);
    assert_eq!(got, want);
    // 1 for the entry, then 2 per iteration: 500,000 iterations, 0 left
    // over, and the next block (pc 1) cannot be paid for.
    assert_eq!(
        (got.0, got.1, got.2[3], got.3),
        (ExitReason::OutOfGas, 1, 500_000, 0)
    );
}

#[test]
fn out_of_gas_resumes_at_the_refunded_block_as_on_the_interpreter() {
    // Each backend runs the counting loop out of gas, gets more, and goes
    // on: the refund, the pc and the resume point (the block's charged
    // entry) must agree.
    let b = counting_loop();
    let trace = |backend: Backend| {
        let config = Config::new(PvmSpec::Gp0_7_2).with_backend(backend);
        let module = Module::from_blob(&config, &b).unwrap();
        assert_eq!(module.backend(), backend);
        let mut vm = Instance::new(&module);
        vm.set_pc(0);
        let mut seen = Vec::new();
        for gas in [0, 2, 1, 7, 1_000, 3] {
            vm.set_gas(gas);
            let exit = vm.run();
            seen.push((exit, vm.pc(), vm.reg(Reg::new(3).unwrap()), vm.gas()));
        }
        seen
    };
    let want = trace(Backend::Interpreter);
    assert_eq!(trace(Backend::Compiler), want);
    assert!(want.iter().all(|s| s.0 == ExitReason::OutOfGas));
    // 1,000 gas pays the entry block's remaining cost and 2 per iteration.
    assert!(want[4].2 > want[3].2 + 400, "{want:?}");
}

#[test]
fn a_jit_bomb_runs_bounded_on_the_interpreter() {
    let len = 4 << 20;
    let bomb = ProgramBlob {
        jump_table: vec![],
        code: vec![Opcode::fallthrough.byte(); len],
        bitmask: vec![0xFF; len / 8],
    };
    let config = Config::new(PvmSpec::Gp0_7_2).with_backend(Backend::Compiler);
    let module = Module::from_blob(&config, &bomb).unwrap();
    assert_eq!(module.backend(), Backend::Interpreter);
    let mut vm = Instance::new(&module);
    vm.set_gas(10);
    assert_eq!(vm.run(), ExitReason::OutOfGas);
    assert_eq!((vm.pc(), vm.gas()), (10, 0));
}

fn contract(name: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/build")
        .join(format!("{name}.pvm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn crosscheck_runs_the_compute_guests_in_lockstep() {
    let config = Config::new(PvmSpec::Gp0_7_2)
        .with_backend(Backend::Compiler)
        .with_crosscheck(true);
    for name in ["sieve", "keccak", "blake2b", "sha256"] {
        let module = Module::parse_standard(&config, &contract(name)).unwrap();
        let mut vm = Instance::standard(&module, &[7; 64], 50_000_000).unwrap();
        let mut exits = 0;
        loop {
            let exit = vm.try_run().unwrap_or_else(|e| panic!("{name}: {e}"));
            exits += 1;
            match exit {
                ExitReason::HostCall(_) if exits < 100 => vm.set_reg(Reg::new(7).unwrap(), 0),
                _ => break,
            }
        }
    }
}

#[test]
fn crosscheck_names_the_first_difference() {
    // load_imm r7, 5; ecalli 1; add_imm_64 r7, r7, 1; trap.
    let program = blob(&[
        reg_imm(Opcode::load_imm, 7, 5),
        vec![Opcode::ecalli.byte(), 1],
        reg_reg_imm(Opcode::add_imm_64, 7, 7, 1),
        vec![Opcode::trap.byte()],
    ]);
    let config = Config::new(PvmSpec::Gp0_7_2)
        .with_backend(Backend::Compiler)
        .with_crosscheck(true);
    let module = Module::from_blob(&config, &program).unwrap();
    let mut vm = Instance::new(&module);
    vm.set_gas(100);
    assert_eq!(vm.try_run().unwrap(), ExitReason::HostCall(1));
    // A divergence only the compiled side sees (a test hook): the next
    // exit reports it, by name.
    let Instance::Compiled(compiled) = &mut vm else {
        panic!("a compiled instance")
    };
    compiled.diverge_for_test(Reg::new(7).unwrap(), 41);
    match vm.try_run() {
        Err(PvmError::CrosscheckValue {
            exit: 1,
            backend: Backend::Compiler,
            status: ExitReason::Panic,
            field: "r7",
            interpreter: 6,
            other: 42,
        }) => {}
        other => panic!("expected a crosscheck error on r7, got {other:?}"),
    }
}
