//! Differential tests: `braid-pvm` against the interpreter of polkavm 0.30.0,
//! the last polkavm whose `JamV1` instruction set is the Gray Paper 0.7.2
//! opcode table.
//!
//! - [`service_blobs_match_polkavm_until_the_first_host_call`]: the three real
//!   JAM service blobs in `../shared/programs/pvm/*.jam`, loaded as GP standard
//!   programs on both sides, agree up to their first exit.
//! - [`random_programs_match_polkavm`]: random valid (and a few deliberately
//!   odd) raw programs agree on status, pc, registers, gas, page-fault
//!   address and memory, across host calls.
//!
//! One difference is known and not a Braid bug (see `tests/vectors/README.md`):
//! polkavm turns only accesses below 16 KiB into a trap, while GP 0.7.2 makes
//! every access that touches an address below 2^16 a panic; where polkavm
//! reports a page fault below 64 KiB and Braid a panic, with everything else
//! equal, the case counts as agreeing with the Gray Paper.

use std::path::PathBuf;

use braid_pvm::isa::Format;
use braid_pvm::{ExitReason, Instance, Module, Opcode, ProgramBlob, PvmSpec, Reg, StandardProgram};
use polkavm::program::InstructionSetKind;
use polkavm::{
    BackendKind, Config, Engine, GasMeteringKind, InterruptKind, MemoryProtection, ModuleConfig,
    ProgramCounter, ProgramParts, RawInstance,
};
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};

const PAGE: u32 = 4096;
const HALT: u64 = 0xFFFF_0000;

/// How a run stopped, in the same terms for both VMs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Halt,
    Panic,
    OutOfGas,
    PageFault(u32),
    HostCall(u32),
}

/// Everything observable at one exit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    status: Status,
    pc: u32,
    regs: [u64; 13],
    gas: i64,
    /// The contents of each page the test mapped, in the test's order.
    memory: Vec<(u32, Vec<u8>)>,
}

/// One way to shrink a failing case; `false` if it does not apply.
type Shrink = Box<dyn Fn(&mut Case) -> bool>;

fn engine() -> Engine {
    let mut config = Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    config.set_allow_dynamic_paging(true);
    Engine::new(&config).expect("polkavm interpreter engine")
}

fn braid_status(exit: ExitReason) -> Status {
    match exit {
        ExitReason::Halt => Status::Halt,
        ExitReason::Panic => Status::Panic,
        ExitReason::OutOfGas => Status::OutOfGas,
        ExitReason::PageFault(address) => Status::PageFault(address),
        ExitReason::HostCall(n) => Status::HostCall(n),
    }
}

fn braid_regs(instance: &Instance) -> [u64; 13] {
    instance.regs()
}

fn polkavm_regs(instance: &RawInstance) -> [u64; 13] {
    let mut out = [0; 13];
    for (i, reg) in polkavm::Reg::ALL.iter().enumerate() {
        out[i] = instance.reg(*reg);
    }
    out
}

/// Runs polkavm (built with step tracing) to its next exit; `Step`s only
/// record the pc, so a halt reports the pc of the halting jump as Braid does.
fn polkavm_run(instance: &mut RawInstance) -> (Status, u32) {
    let mut last_step = None;
    loop {
        let interrupt = instance.run().expect("polkavm run");
        let pc = instance.program_counter().map(|pc| pc.0);
        let status = match interrupt {
            InterruptKind::Step => {
                last_step = pc;
                continue;
            }
            InterruptKind::Finished => {
                return (
                    Status::Halt,
                    last_step.expect("a halt follows at least one step"),
                );
            }
            InterruptKind::Trap => Status::Panic,
            InterruptKind::Ecalli(n) => Status::HostCall(n),
            InterruptKind::Segfault(fault) => Status::PageFault(fault.page_address),
            InterruptKind::NotEnoughGas => Status::OutOfGas,
        };
        return (status, pc.expect("polkavm reports the pc of the exit"));
    }
}

// ---------------------------------------------------------------------------
// 1. The JAM service blobs.
// ---------------------------------------------------------------------------

fn shared_programs_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/programs/pvm");
    assert!(
        dir.is_dir(),
        "the PVM service blobs are missing: expected {} (the `shared` folder beside the repository)",
        dir.display()
    );
    dir
}

#[test]
fn service_blobs_match_polkavm_until_the_first_host_call() {
    let dir = shared_programs_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jam"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        3,
        "expected the three service blobs in {}",
        dir.display()
    );
    let engine = engine();
    let mut host_calls = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let program = StandardProgram::parse_service_code(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let layout = program.layout().unwrap();
        let module = Module::from_standard(&program, PvmSpec::Gp0_7_2).unwrap();

        let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
        parts.ro_data_size = program.ro_data.len() as u32;
        parts.rw_data_size = (program.rw_data.len() as u32).div_ceil(PAGE) * PAGE
            + u32::from(program.heap_pages) * PAGE;
        parts.stack_size = program.stack_size;
        parts.ro_data = program.ro_data.clone().into();
        parts.rw_data = program.rw_data.clone().into();
        parts.code_and_jump_table = program.blob.encode().into();
        let blob = polkavm::ProgramBlob::from_parts(parts).expect("polkavm parses the blob");
        let mut config = ModuleConfig::new();
        config.set_gas_metering(Some(GasMeteringKind::Sync));
        config.set_step_tracing(true);
        config.set_aux_data_size(1 << 24);
        let pmodule = polkavm::Module::from_blob(&engine, &config, blob).expect("polkavm module");
        let map = pmodule.memory_map();
        // The GP 0.7.2 memory map (eq. A.42), as SOURCE.md says.
        assert_eq!(map.ro_data_address(), layout.ro_start);
        assert_eq!(map.rw_data_address(), layout.rw_start);
        assert_eq!(
            map.stack_address_high(),
            layout.stack_start + layout.stack_len
        );
        assert_eq!(map.stack_address_low(), layout.stack_start);
        assert_eq!(map.aux_data_address(), layout.input_start);

        let inputs: [&[u8]; 3] = [&[], &[1, 2, 3, 4, 5, 6, 7], &[0xAB; 300]];
        for entry in [0u32, 5] {
            for input in inputs {
                for gas in [0i64, 3, 20, 1_000_000] {
                    let what = format!(
                        "{} entry {entry} input {} bytes gas {gas}",
                        file.file_name().unwrap().to_string_lossy(),
                        input.len()
                    );
                    let mut braid = Instance::standard(&module, input, gas).unwrap();
                    braid.set_pc(entry);
                    let exit = braid_status(braid.run());

                    let mut pvm = pmodule.instantiate().expect("polkavm instance");
                    pvm.clear_regs();
                    pvm.set_accessible_aux_size(input.len() as u32).unwrap();
                    pvm.write_memory(map.aux_data_address(), input).unwrap();
                    pvm.set_reg(polkavm::Reg::RA, HALT);
                    pvm.set_reg(polkavm::Reg::SP, u64::from(map.stack_address_high()));
                    pvm.set_reg(polkavm::Reg::A0, u64::from(map.aux_data_address()));
                    pvm.set_reg(polkavm::Reg::A1, input.len() as u64);
                    pvm.set_gas(gas);
                    pvm.set_next_program_counter(ProgramCounter(entry));
                    let (status, pc) = polkavm_run(&mut pvm);

                    assert_eq!(exit, status, "{what}: status");
                    assert_eq!(braid.pc(), pc, "{what}: pc");
                    assert_eq!(braid_regs(&braid), polkavm_regs(&pvm), "{what}: registers");
                    assert_eq!(braid.gas(), pvm.gas(), "{what}: gas");
                    // The writable regions (data + heap, stack) hold the same bytes.
                    for (start, len) in [
                        (layout.rw_start, layout.rw_len),
                        (layout.stack_start, layout.stack_len),
                    ] {
                        assert_eq!(
                            braid.memory().read_vec(start, len).unwrap(),
                            pvm.read_memory(start, len).unwrap(),
                            "{what}: memory at {start:#x}"
                        );
                    }
                    if gas == 1_000_000 {
                        assert!(
                            matches!(exit, Status::HostCall(_)),
                            "{what}: expected a host call, got {exit:?}"
                        );
                        host_calls += 1;
                    }
                }
            }
        }
    }
    assert_eq!(host_calls, 3 * 2 * 3);
}

// ---------------------------------------------------------------------------
// 2. Random programs.
// ---------------------------------------------------------------------------

/// SplitMix64: the whole case derives from one proptest-drawn seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Pages a case may map. 0x10000 and 0x11000 are adjacent (accesses across
/// them), 0xFEFF0000 is the argument zone, 0xFFFFF000 the last page.
const PAGE_CHOICES: [u32; 6] = [
    0x10000,
    0x11000,
    0x20000,
    0xFEFF_0000,
    0xFFFF_E000,
    0xFFFF_F000,
];

/// Whether the last page (0xFFFFF000) may be mapped. An access that runs
/// past 2^32 wraps to address 0 in GP 0.7.2 (addresses are taken modulo
/// 2^32), so it panics (the lowest bad address is below 2^16); polkavm
/// panics too when the last page is mapped, but Braid reports a page fault
/// at 0xFFFFF000 (`vectors/access_wrapping_past_2_32_panics.json`, which
/// Braid passes). The page stays unmapped because polkavm 0.30 also traps
/// on any access that *ends* exactly at 2^32 on a mapped last page (its
/// `address + length` overflows u32), where GP and Braid complete the
/// access or fault on a read-only page.
const MAP_LAST_PAGE: bool = false;

/// Where to write a relative branch offset once the layout is known.
#[derive(Clone, Debug)]
struct Patch {
    /// Byte position inside the instruction.
    at: usize,
    /// Offset length, bytes.
    len: usize,
    /// Target instruction index (taken modulo the instruction count).
    target: usize,
}

#[derive(Clone, Debug)]
struct Inst {
    bytes: Vec<u8>,
    patch: Option<Patch>,
}

#[derive(Clone, Debug)]
enum JumpEntry {
    /// The pc of this instruction index.
    Inst(usize),
    /// A raw pc (possibly not an instruction start, or out of range).
    Raw(u32),
}

/// One random test case.
#[derive(Clone, Debug)]
struct Case {
    insts: Vec<Inst>,
    jump_table: Vec<JumpEntry>,
    /// Code offsets whose bitmask bit is toggled after layout.
    bitmask_flips: Vec<u32>,
    regs: [u64; 13],
    /// Mapped pages: (address, writable).
    pages: Vec<(u32, bool)>,
    /// Initial bytes (may land on read-only pages).
    init: Vec<(u32, Vec<u8>)>,
    gas: i64,
}

fn page_address(rng: &mut Rng) -> u64 {
    let page = u64::from(rng.pick(&PAGE_CHOICES));
    let offset: i64 = match rng.below(4) {
        0 => rng.below(16) as i64 - 8,
        1 => 4096 - rng.below(16) as i64,
        2 => rng.below(4096 + 16) as i64,
        _ => 0,
    };
    page.wrapping_add(offset as u64)
}

/// A random register value, biased towards interesting ones.
fn reg_value(rng: &mut Rng, jump_entries: usize) -> u64 {
    match rng.below(12) {
        0 | 1 => rng.below(17),
        2 | 3 => page_address(rng) & 0xFFFF_FFFF,
        4 => 2 * (rng.below(jump_entries as u64 + 2)),
        5 => HALT,
        6 => rng.next(),
        7 => rng.next() & 0xFFFF_FFFF,
        8 => (rng.below(64) as i64 - 32) as u64,
        9 => rng.pick(&[
            i64::MIN as u64,
            i64::MAX as u64,
            u64::MAX,
            0x8000_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            0xFFFF_FFFF_8000_0000,
        ]),
        10 => (1u64 << 32) | (page_address(rng) & 0xFFFF_FFFF),
        _ => rng.below(64),
    }
}

#[derive(Clone, Copy)]
enum ImmKind {
    Any,
    Address,
    Small,
    Jump,
}

fn imm_value(rng: &mut Rng, kind: ImmKind) -> u32 {
    match kind {
        ImmKind::Address if rng.chance(85) => page_address(rng) as u32,
        ImmKind::Small if rng.chance(85) => (rng.below(80) as i32 - 16) as u32,
        ImmKind::Jump if rng.chance(85) => 2 * rng.below(6) as u32,
        _ => match rng.below(5) {
            0 => rng.below(8) as u32,
            1 => (rng.below(16) as i32 - 8) as u32,
            2 => rng.next() as u32,
            3 => rng.below(70) as u32,
            _ => page_address(rng) as u32,
        },
    }
}

/// The encoding of `value` as an immediate: usually the shortest
/// sign-extending length, sometimes 4 bytes, sometimes a random truncation.
fn imm_bytes(value: u32, rng: &mut Rng) -> Vec<u8> {
    let minimal = (0..=4usize)
        .find(|&n| {
            if n == 0 {
                return value == 0;
            }
            let shift = 32 - 8 * n as u32;
            n == 4 || (((value << shift) as i32) >> shift) as u32 == value
        })
        .unwrap();
    let len = match rng.below(10) {
        0 | 1 => 4,
        2 => rng.below(5) as usize,
        _ => minimal,
    };
    value.to_le_bytes()[..len].to_vec()
}

fn reg_nibble(rng: &mut Rng) -> u8 {
    if rng.chance(5) {
        13 + rng.below(3) as u8
    } else {
        rng.below(13) as u8
    }
}

fn offset_len(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0..=4 => 4,
        5..=7 => 2,
        _ => 1,
    }
}

fn is_memory_op(op: Opcode) -> bool {
    let n = op.name();
    n.starts_with("load_u")
        || n.starts_with("load_i")
        || n.starts_with("store")
        || n.starts_with("load_ind")
}

/// Whether undefined opcode bytes may appear anywhere, or only as the last
/// instruction. Braid treats an undefined opcode as a basic-block
/// terminator, so a branch to the instruction after one is accepted; GP
/// 0.7.2 (ϖ only follows opcodes in T) and polkavm panic at the branch
/// (`vectors/invalid_opcode_does_not_start_a_block.json`, which Braid
/// passes). They stay last because polkavm 0.30 reports a trap on an
/// undefined opcode in the middle of a block at the block's first pc,
/// while the vectors (and Braid) give the undefined opcode's own pc.
const INVALID_OPCODES_ANYWHERE: bool = false;

fn random_inst(rng: &mut Rng, count: usize, with_ecalli: bool, last: bool) -> Inst {
    if rng.chance(if INVALID_OPCODES_ANYWHERE || last {
        3
    } else {
        0
    }) {
        // An opcode byte GP 0.7.2 does not define.
        let byte = loop {
            let b = rng.below(256) as u8;
            if Opcode::from_byte(b, PvmSpec::Gp0_7_2).is_none() {
                break b;
            }
        };
        let mut bytes = vec![byte];
        for _ in 0..rng.below(3) {
            bytes.push(rng.next() as u8);
        }
        return Inst { bytes, patch: None };
    }
    let op = loop {
        let op = rng.pick(Opcode::ALL);
        if op == Opcode::sbrk || (op == Opcode::ecalli && !with_ecalli) {
            continue;
        }
        break op;
    };
    let memory = is_memory_op(op);
    let name = op.name();
    let jumpy = name.starts_with("jump_ind") || name == "load_imm_jump_ind";
    let shifty = name.contains("sh") || name.contains("rot");
    let target = rng.below(count as u64) as usize;
    let mut bytes = vec![op.byte()];
    let mut patch = None;
    let mut offset_at_end = false;
    match op.format() {
        Format::NoArgs => {}
        Format::Imm => bytes.extend(imm_bytes(imm_value(rng, ImmKind::Any), rng)),
        Format::RegImm64 => {
            bytes.push(reg_nibble(rng) | if rng.chance(5) { 0xA0 } else { 0 });
            let value = reg_value(rng, 4);
            let len = if rng.chance(5) {
                rng.below(9) as usize
            } else {
                8
            };
            bytes.extend(&value.to_le_bytes()[..len]);
        }
        Format::ImmImm => {
            let x = imm_bytes(imm_value(rng, ImmKind::Address), rng);
            let y = imm_bytes(imm_value(rng, ImmKind::Any), rng);
            let mut lx = x.len() as u8;
            if rng.chance(5) {
                lx |= 0xF8 & rng.next() as u8;
            }
            bytes.push(lx);
            bytes.extend(x);
            bytes.extend(y);
        }
        Format::Offset => {
            let len = offset_len(rng);
            patch = Some(Patch { at: 1, len, target });
            bytes.extend(vec![0; len]);
            offset_at_end = true;
        }
        Format::RegImm => {
            let kind = if jumpy {
                ImmKind::Jump
            } else if memory {
                ImmKind::Address
            } else {
                ImmKind::Any
            };
            let x = imm_bytes(imm_value(rng, kind), rng);
            bytes.push(reg_nibble(rng) | if rng.chance(5) { 0x70 } else { 0 });
            bytes.extend(x);
        }
        Format::RegImmImm | Format::RegImmOffset => {
            let kind = if memory { ImmKind::Small } else { ImmKind::Any };
            let x = imm_bytes(imm_value(rng, kind), rng);
            let mut lx = x.len() as u8;
            if rng.chance(3) {
                lx |= 8;
            }
            bytes.push(reg_nibble(rng) | (lx << 4));
            bytes.extend(x);
            if op.format() == Format::RegImmOffset {
                let len = offset_len(rng);
                patch = Some(Patch {
                    at: bytes.len(),
                    len,
                    target,
                });
                bytes.extend(vec![0; len]);
                offset_at_end = true;
            } else {
                bytes.extend(imm_bytes(imm_value(rng, ImmKind::Any), rng));
            }
        }
        Format::RegReg => bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4)),
        Format::RegRegImm => {
            let kind = if memory {
                if rng.chance(50) {
                    ImmKind::Small
                } else {
                    ImmKind::Address
                }
            } else if shifty {
                ImmKind::Small
            } else {
                ImmKind::Any
            };
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            bytes.extend(imm_bytes(imm_value(rng, kind), rng));
        }
        Format::RegRegOffset => {
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            let len = offset_len(rng);
            patch = Some(Patch { at: 2, len, target });
            bytes.extend(vec![0; len]);
            offset_at_end = true;
        }
        Format::RegRegImmImm => {
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            let x = imm_bytes(imm_value(rng, ImmKind::Any), rng);
            let y = imm_bytes(imm_value(rng, ImmKind::Jump), rng);
            let mut lx = x.len() as u8;
            if rng.chance(3) {
                lx |= 0xF8 & rng.next() as u8;
            }
            bytes.push(lx);
            bytes.extend(x);
            bytes.extend(y);
        }
        Format::RegRegReg => {
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            bytes.push(reg_nibble(rng) | if rng.chance(5) { 0x50 } else { 0 });
        }
    }
    // Trailing bytes the operands do not need (they lengthen the skip; an
    // immediate at the end then reads some of them, as GP A.5 says).
    let extra_chance = if offset_at_end { 3 } else { 10 };
    if rng.chance(extra_chance) {
        let n = if rng.chance(10) {
            20 + rng.below(8)
        } else {
            1 + rng.below(3)
        };
        for _ in 0..n {
            bytes.push(rng.next() as u8);
        }
    }
    // At most 24 bytes (skip <= 23). A skip is capped at 24 (GP A.2): where
    // the cap lands on a byte the bitmask does not mark, polkavm and the Gray
    // Paper differ (`vectors/skip_cap_lands_off_the_bitmask.json`), and a
    // skip of exactly 24 to a byte-aligned next instruction within 32 bytes
    // of the code's end is misread by polkavm 0.30 as an invalid instruction
    // (`vectors/skip_of_24_near_the_end_of_code.json`). Both are covered by
    // those vectors instead.
    bytes.truncate(24);
    Inst { bytes, patch }
}

fn random_case(seed: u64) -> Case {
    let rng = &mut Rng(seed);
    let with_ecalli = rng.chance(50);
    let max = if rng.chance(20) { 60 } else { 16 };
    let count = 1 + rng.below(max) as usize;
    let insts: Vec<Inst> = (0..count)
        .map(|i| random_inst(rng, count, with_ecalli, i + 1 == count))
        .collect();
    let jump_table = (0..rng.below(6))
        .map(|_| match rng.below(10) {
            0 => JumpEntry::Raw(rng.below(200) as u32),
            _ => JumpEntry::Inst(rng.below(count as u64) as usize),
        })
        .collect::<Vec<_>>();
    // Extra bitmask bits make instructions start inside others, which
    // decodes undefined opcodes mid-program (see INVALID_OPCODES_ANYWHERE).
    let bitmask_flips = if INVALID_OPCODES_ANYWHERE && rng.chance(5) {
        vec![1 + rng.below(64) as u32]
    } else {
        vec![]
    };
    let mut regs = [0u64; 13];
    for r in &mut regs {
        *r = reg_value(rng, jump_table.len());
    }
    let mut pages: Vec<(u32, bool)> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let page = rng.pick(&PAGE_CHOICES);
        if page == 0xFFFF_F000 && !MAP_LAST_PAGE {
            continue;
        }
        if pages.iter().all(|&(p, _)| p != page) {
            pages.push((page, rng.chance(70)));
        }
    }
    let mut init = Vec::new();
    for &(page, _) in &pages {
        for at in [page, page + PAGE - 16] {
            if rng.chance(60) {
                init.push((at, (0..16).map(|_| rng.next() as u8).collect()));
            }
        }
    }
    let gas = match rng.below(10) {
        0 => rng.below(4) as i64,
        1 => rng.below(20) as i64,
        _ => 50 + rng.below(400) as i64,
    };
    Case {
        insts,
        jump_table,
        bitmask_flips,
        regs,
        pages,
        init,
        gas,
    }
}

impl Case {
    fn blob(&self) -> ProgramBlob {
        let mut pcs = Vec::with_capacity(self.insts.len());
        let mut code = Vec::new();
        for inst in &self.insts {
            pcs.push(code.len() as u32);
            code.extend_from_slice(&inst.bytes);
        }
        for (inst, &pc) in self.insts.iter().zip(&pcs) {
            if let Some(p) = &inst.patch {
                let target = pcs[p.target % pcs.len()];
                let offset = target.wrapping_sub(pc).to_le_bytes();
                let at = pc as usize + p.at;
                code[at..at + p.len].copy_from_slice(&offset[..p.len]);
            }
        }
        let mut bitmask = vec![0u8; code.len().div_ceil(8)];
        for &pc in &pcs {
            bitmask[pc as usize / 8] |= 1 << (pc % 8);
        }
        for &pc in &self.bitmask_flips {
            // Only ever set bits: clearing one could make a gap over 24.
            if (pc as usize) < code.len() {
                bitmask[pc as usize / 8] |= 1 << (pc % 8);
            }
        }
        let jump_table = self
            .jump_table
            .iter()
            .map(|e| match *e {
                JumpEntry::Inst(i) => pcs.get(i).copied().unwrap_or(code.len() as u32),
                JumpEntry::Raw(pc) => pc,
            })
            .collect();
        ProgramBlob {
            jump_table,
            code,
            bitmask,
        }
    }

    /// The initial bytes that land on a mapped page (the minimiser may drop pages).
    fn init_chunks(&self) -> impl Iterator<Item = &(u32, Vec<u8>)> {
        self.init
            .iter()
            .filter(|(at, _)| self.pages.iter().any(|&(p, _)| p == at / PAGE * PAGE))
    }

    fn memory_of(&self, read: impl Fn(u32) -> Vec<u8>) -> Vec<(u32, Vec<u8>)> {
        self.pages.iter().map(|&(p, _)| (p, read(p))).collect()
    }
}

/// The exits of one run: every host call (resumed without touching the
/// state, at most three times) and the final exit.
fn run_braid(case: &Case) -> Vec<Outcome> {
    let blob = ProgramBlob::parse(&case.blob().encode()).expect("our blob parses");
    let module = Module::from_blob(&blob, PvmSpec::Gp0_7_2);
    let mut instance = Instance::new(&module);
    for &(page, writable) in &case.pages {
        instance.memory_mut().map(page, u64::from(PAGE), writable);
    }
    for (at, bytes) in case.init_chunks() {
        instance.memory_mut().init(*at, bytes);
    }
    for (i, &value) in case.regs.iter().enumerate() {
        instance.set_reg(Reg::new(i as u8).unwrap(), value);
    }
    instance.set_gas(case.gas);
    instance.set_pc(0);
    let mut out = Vec::new();
    loop {
        let status = braid_status(instance.run());
        out.push(Outcome {
            status,
            pc: instance.pc(),
            regs: braid_regs(&instance),
            gas: instance.gas(),
            memory: case.memory_of(|p| instance.memory().read_vec(p, PAGE).unwrap()),
        });
        if !matches!(status, Status::HostCall(_)) || out.len() > 3 {
            return out;
        }
    }
}

fn run_polkavm(engine: &Engine, case: &Case) -> Result<Vec<Outcome>, String> {
    let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
    parts.code_and_jump_table = case.blob().encode().into();
    let blob =
        polkavm::ProgramBlob::from_parts(parts).map_err(|e| format!("polkavm parse: {e}"))?;
    let mut config = ModuleConfig::new();
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_dynamic_paging(true);
    config.set_step_tracing(true);
    let module = polkavm::Module::from_blob(engine, &config, blob)
        .map_err(|e| format!("polkavm module: {e}"))?;
    let mut instance = module
        .instantiate()
        .map_err(|e| format!("polkavm instance: {e}"))?;
    for &(page, _) in &case.pages {
        instance
            .zero_memory_with_memory_protection(page, PAGE, MemoryProtection::ReadWrite)
            .unwrap();
    }
    for (at, bytes) in case.init_chunks() {
        instance.write_memory(*at, bytes).unwrap();
    }
    for &(page, writable) in &case.pages {
        if !writable {
            instance.protect_memory(page, PAGE).unwrap();
        }
    }
    for (i, reg) in polkavm::Reg::ALL.iter().enumerate() {
        instance.set_reg(*reg, case.regs[i]);
    }
    instance.set_gas(case.gas);
    instance.set_next_program_counter(ProgramCounter(0));
    let mut out = Vec::new();
    loop {
        let (status, pc) = polkavm_run(&mut instance);
        out.push(Outcome {
            status,
            pc,
            regs: polkavm_regs(&instance),
            gas: instance.gas(),
            memory: case.memory_of(|p| instance.read_memory(p, PAGE).unwrap()),
        });
        if !matches!(status, Status::HostCall(_)) || out.len() > 3 {
            return Ok(out);
        }
    }
}

/// Differences polkavm 0.30 has from GP 0.7.2 where Braid follows the Gray
/// Paper: `Some(name)` when `braid` and `polkavm` differ only that way.
fn known_difference(case: &Case, braid: &Outcome, polkavm: &Outcome) -> Option<&'static str> {
    let same_but_status = |status| {
        (Outcome {
            status,
            ..polkavm.clone()
        }) == *braid
    };
    // GP 0.7.2: a fault reports the lowest address that cannot be written.
    // A write across a read-only page and the missing page after it faults
    // on the read-only page; polkavm 0.30 reports the missing one.
    if let (Status::PageFault(b), Status::PageFault(p)) = (braid.status, polkavm.status)
        && p == b.wrapping_add(PAGE)
        && case.pages.contains(&(b, false))
        && !case.pages.iter().any(|&(page, _)| page == p)
        && same_but_status(braid.status)
    {
        return Some("cross-page write: read-only page, then missing page");
    }
    // GP 0.7.2 (eq. A.9): an access touching any address below 2^16 panics;
    // polkavm 0.30 traps only below 16 KiB and reports a page fault above.
    if braid.status == Status::Panic
        && matches!(polkavm.status, Status::PageFault(p) if p < 0x10000)
        && (Outcome {
            status: Status::Panic,
            ..polkavm.clone()
        }) == *braid
    {
        return Some("low-memory page fault");
    }
    // GP 0.7.2: addresses are taken mod 2^32, so an access running past
    // 2^32 touches address 0 and panics; polkavm 0.30 reports a page fault
    // at the (unmapped) last page instead.
    if braid.status == Status::Panic
        && polkavm.status == Status::PageFault(0xFFFF_F000)
        && (Outcome {
            status: Status::Panic,
            ..polkavm.clone()
        }) == *braid
    {
        return Some("access wrapping past 2^32 to an unmapped last page");
    }
    None
}

/// Why `case` disagrees, or `Ok(known)` with the known differences it hit.
fn compare(engine: &Engine, case: &Case) -> Result<Vec<&'static str>, String> {
    let braid = run_braid(case);
    // polkavm 0.30 implements `sbrk` only without dynamic paging (`todo!()`
    // otherwise); the generator never emits it, but a jump into the middle
    // of an instruction can still decode one.
    let polkavm = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_polkavm(engine, case)
    })) {
        Ok(result) => result?,
        Err(_) => return Ok(vec!["skipped: polkavm panicked"]),
    };
    let mut known = Vec::new();
    if braid.len() != polkavm.len() {
        return Err(format!(
            "different exits:\n  braid   {braid:?}\n  polkavm {polkavm:?}"
        ));
    }
    for (i, (b, p)) in braid.iter().zip(&polkavm).enumerate() {
        if b == p {
            continue;
        }
        if let Some(k) = known_difference(case, b, p) {
            known.push(k);
            continue;
        }
        let mut lines = vec![format!("exit #{i}:")];
        if b.status != p.status {
            lines.push(format!(
                "  status: braid {:?}, polkavm {:?}",
                b.status, p.status
            ));
        }
        if b.pc != p.pc {
            lines.push(format!("  pc: braid {}, polkavm {}", b.pc, p.pc));
        }
        if b.gas != p.gas {
            lines.push(format!("  gas: braid {}, polkavm {}", b.gas, p.gas));
        }
        for r in 0..13 {
            if b.regs[r] != p.regs[r] {
                lines.push(format!(
                    "  r{r}: braid {:#x}, polkavm {:#x}",
                    b.regs[r], p.regs[r]
                ));
            }
        }
        for ((page, bm), (_, pm)) in b.memory.iter().zip(&p.memory) {
            if bm != pm {
                lines.push(format!("  memory differs in page {page:#x}"));
            }
        }
        return Err(lines.join("\n"));
    }
    Ok(known)
}

/// Greedily drops instructions, jump-table entries, pages, memory and
/// register values while the case still disagrees.
fn minimise(engine: &Engine, case: &Case) -> Case {
    let fails = |c: &Case| compare(engine, c).is_err();
    let mut best = case.clone();
    loop {
        let mut progress = false;
        let mut i = best.insts.len();
        while i > 0 && best.insts.len() > 1 {
            i -= 1;
            let mut c = best.clone();
            c.insts.remove(i);
            let remap = |t: usize| if t > i { t - 1 } else { t };
            for inst in &mut c.insts {
                if let Some(p) = &mut inst.patch {
                    p.target = remap(p.target % best.insts.len());
                }
            }
            for e in &mut c.jump_table {
                if let JumpEntry::Inst(t) = e {
                    *t = remap(*t);
                }
            }
            if fails(&c) {
                best = c;
                progress = true;
            }
        }
        let tries: Vec<Shrink> = vec![
            Box::new(|c: &mut Case| c.jump_table.pop().is_some()),
            Box::new(|c: &mut Case| c.bitmask_flips.pop().is_some()),
            Box::new(|c: &mut Case| c.init.pop().is_some()),
            Box::new(|c: &mut Case| c.pages.pop().is_some()),
            Box::new(|c: &mut Case| {
                c.pages.len() > 1 && {
                    c.pages.remove(0);
                    true
                }
            }),
            Box::new(|c: &mut Case| {
                c.init.len() > 1 && {
                    c.init.remove(0);
                    true
                }
            }),
        ];
        for t in &tries {
            let mut c = best.clone();
            if t(&mut c) && fails(&c) {
                best = c;
                progress = true;
            }
        }
        for r in 0..13 {
            for simpler in [0u64, 1] {
                if best.regs[r] != simpler && best.regs[r] > 1 {
                    let mut c = best.clone();
                    c.regs[r] = simpler;
                    if fails(&c) {
                        best = c;
                        progress = true;
                        break;
                    }
                }
            }
        }
        if best.gas > 0 {
            let mut c = best.clone();
            c.gas = 10_000;
            if best.gas != 10_000 && fails(&c) {
                best = c;
                progress = true;
            }
        }
        if !progress {
            return best;
        }
    }
}

/// The case as a program vector (the `/work/shared/vectors/pvm` schema),
/// expecting `outcome`.
fn vector_json(name: &str, case: &Case, outcome: &Outcome) -> String {
    let status = match outcome.status {
        Status::Halt => "halt",
        Status::Panic => "panic",
        Status::OutOfGas => "out-of-gas",
        Status::PageFault(_) => "page-fault",
        Status::HostCall(_) => "host-call",
    };
    let mut expected_memory = Vec::new();
    for (page, bytes) in &outcome.memory {
        let mut run: Option<(u32, Vec<u8>)> = None;
        for (i, &b) in bytes.iter().enumerate() {
            let at = page + i as u32;
            match &mut run {
                Some((s, v)) if b != 0 && *s + v.len() as u32 == at => v.push(b),
                _ => {
                    if let Some((s, v)) = run.take() {
                        expected_memory.push(serde_json::json!({"address": s, "contents": v}));
                    }
                    if b != 0 {
                        run = Some((at, vec![b]));
                    }
                }
            }
        }
        if let Some((s, v)) = run.take() {
            expected_memory.push(serde_json::json!({"address": s, "contents": v}));
        }
    }
    let mut v = serde_json::json!({
        "name": name,
        "initial-regs": case.regs,
        "initial-pc": 0,
        "initial-page-map": case.pages.iter().map(|&(a, w)| serde_json::json!({"address": a, "length": PAGE, "is-writable": w})).collect::<Vec<_>>(),
        "initial-memory": case.init.iter().map(|(a, c)| serde_json::json!({"address": a, "contents": c})).collect::<Vec<_>>(),
        "initial-gas": case.gas,
        "program": case.blob().encode(),
        "expected-status": status,
        "expected-regs": outcome.regs,
        "expected-pc": outcome.pc,
        "expected-memory": expected_memory,
        "expected-gas": outcome.gas,
    });
    if let Status::PageFault(address) = outcome.status {
        v["expected-page-fault-address"] = address.into();
    }
    serde_json::to_string_pretty(&v).unwrap()
}

fn cases() -> u32 {
    std::env::var("BRAID_PVM_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000)
}

#[test]
fn random_programs_match_polkavm() {
    let engine = engine();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let known = std::cell::RefCell::new(std::collections::BTreeMap::<&str, u32>::new());
    let exits = std::cell::RefCell::new(std::collections::BTreeMap::<String, u32>::new());
    let result = runner.run(&proptest::prelude::any::<u64>(), |seed| {
        let case = random_case(seed);
        match compare(&engine, &case) {
            Ok(k) => {
                for name in k {
                    *known.borrow_mut().entry(name).or_default() += 1;
                }
                let last = run_braid(&case).last().unwrap().status;
                let kind = match last {
                    Status::PageFault(_) => "page-fault".to_string(),
                    Status::HostCall(_) => "host-call".to_string(),
                    s => format!("{s:?}"),
                };
                *exits.borrow_mut().entry(kind).or_default() += 1;
                Ok(())
            }
            Err(why) => {
                let small = minimise(&engine, &case);
                let detail = compare(&engine, &small).err().unwrap_or_default();
                Err(TestCaseError::fail(format!(
                    "seed {seed:#x}: braid and polkavm disagree:\n{why}\n\nminimised:\n{detail}\n{small:?}\nas a vector (expecting Braid's outcome):\n{}",
                    vector_json("minimised", &small, run_braid(&small).last().unwrap())
                )))
            }
        }
    });
    eprintln!(
        "random_programs_match_polkavm: {} cases, final exits {:?}, known GP-vs-polkavm differences {:?}",
        cases(),
        exits.borrow(),
        known.borrow()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------
// 3. The regression vectors in `tests/vectors/` on polkavm.
// ---------------------------------------------------------------------------

/// Vectors of `tests/vectors/` where polkavm 0.30 does not give the Gray
/// Paper 0.7.2 result the vector expects (see `tests/vectors/README.md`).
const POLKAVM_DEVIATES: &[&str] = &[
    "skip_of_24_near_the_end_of_code",
    "skip_cap_lands_off_the_bitmask",
    "low_memory_access_panics",
    "cross_page_write_faults_on_the_read_only_page",
];

/// Runs a program vector on polkavm: status, pc, registers, gas.
fn polkavm_vector(
    engine: &Engine,
    v: &braid_pvm::vectors::Vector,
) -> (Status, u32, [u64; 13], i64) {
    let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
    parts.code_and_jump_table = v.program.clone().into();
    let blob = polkavm::ProgramBlob::from_parts(parts).expect("polkavm parses the vector");
    let mut config = ModuleConfig::new();
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_dynamic_paging(true);
    config.set_step_tracing(true);
    let module = polkavm::Module::from_blob(engine, &config, blob).expect("polkavm module");
    let mut instance = module.instantiate().expect("polkavm instance");
    for page in &v.initial_page_map {
        instance
            .zero_memory_with_memory_protection(
                page.address,
                page.length,
                MemoryProtection::ReadWrite,
            )
            .unwrap();
    }
    for chunk in &v.initial_memory {
        instance
            .write_memory(chunk.address, &chunk.contents)
            .unwrap();
    }
    for page in &v.initial_page_map {
        if !page.is_writable {
            instance.protect_memory(page.address, page.length).unwrap();
        }
    }
    for (i, reg) in polkavm::Reg::ALL.iter().enumerate() {
        instance.set_reg(*reg, v.initial_regs[i]);
    }
    instance.set_gas(v.initial_gas);
    instance.set_next_program_counter(ProgramCounter(v.initial_pc));
    let (status, pc) = polkavm_run(&mut instance);
    (status, pc, polkavm_regs(&instance), instance.gas())
}

#[test]
fn regression_vectors_on_polkavm_deviate_only_where_documented() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let engine = engine();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    for file in &files {
        let v = braid_pvm::vectors::parse_vector(&std::fs::read_to_string(file).unwrap()).unwrap();
        let (status, pc, regs, gas) = polkavm_vector(&engine, &v);
        let expected_status = match v.expected_status.as_str() {
            "halt" => Status::Halt,
            "panic" => Status::Panic,
            "out-of-gas" => Status::OutOfGas,
            "page-fault" => Status::PageFault(v.expected_page_fault_address.unwrap()),
            other => panic!("{}: status {other}", v.name),
        };
        let agrees = status == expected_status
            && pc == v.expected_pc
            && regs == v.expected_regs
            && gas == v.expected_gas;
        let documented = POLKAVM_DEVIATES.contains(&v.name.as_str());
        assert_eq!(
            agrees, !documented,
            "{}: polkavm gives {status:?} at pc {pc}, gas {gas}, regs {regs:x?}; \
             the vector expects {expected_status:?} at pc {}, gas {}; documented deviation: {documented}",
            v.name, v.expected_pc, v.expected_gas
        );
    }
}
