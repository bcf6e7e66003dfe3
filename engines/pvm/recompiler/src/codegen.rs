//! x86-64 code generation: one [`ProgramVisitor`] method per PVM
//! instruction (so an opcode the table gains is a compile error here until
//! it is lowered), emitted with `polkavm-assembler`.
//!
//! Everything here is safe Rust producing bytes. What makes running those
//! bytes safe is argued at the few places that matter, each marked
//! `MEMORY SAFETY`:
//! - every guest memory access is `[r15 + rcx]` with `rcx` the zero-extended
//!   32-bit guest address (or `[r15 + d]`, `0 <= d < 2^31`), at most 8
//!   bytes wide: it lands in `[base, base + 2^32 + 8)`, all inside the
//!   instance's reservation (see [`crate::layout`]);
//! - every other memory access is the context page or the jump table at a
//!   constant negative offset from `r15`, or the host stack in the entry
//!   and exit sequences;
//! - every indirect jump goes through the instance's jump table, indexed
//!   after a bounds check, and lands on a block entry of this module.

use std::cell::Cell;

use braid_pvm_program::blob::HALT_ADDRESS;
use braid_pvm_program::isa::{Instruction, ProgramVisitor, Reg};
use braid_pvm_program::program::Program;
use polkavm_assembler::amd64::addr::{base_index, imm8, imm32, imm64, reg_indirect};
use polkavm_assembler::amd64::inst::*;
use polkavm_assembler::amd64::{
    Condition, ImmKind, LoadKind, MemOp, Reg as N, RegIndex, RegMem, RegSize, Scale, Size,
};
use polkavm_assembler::{Assembler, Label};

use crate::layout::{self, ExitKind};

/// The host register holding each guest register `ω0..ω12` (polkavm's
/// map, so both compilers pay the same encodings: `rsp` is the host stack,
/// `rcx` the scratch register, `r15` the guest memory base).
pub(crate) const GUEST: [N; 13] = [
    N::rbx,
    N::rsi,
    N::r13,
    N::r14,
    N::r12,
    N::r8,
    N::r9,
    N::rdi,
    N::rax,
    N::rdx,
    N::rbp,
    N::r10,
    N::r11,
];

/// Scratch register (also the shift count, `cl`).
const TMP: N = N::rcx;
/// Guest memory base: address 0 of the guest is `[r15]`.
const BASE: N = N::r15;

/// Host registers the entry sequence saves (System V callee-saved, minus
/// `rsp`).
const CALLEE_SAVED: [N; 6] = [N::rbx, N::rbp, N::r12, N::r13, N::r14, N::r15];

#[inline]
fn g(reg: Reg) -> N {
    GUEST[reg.index()]
}

/// The context field at `offset` in the context page, addressed from `r15`.
fn ctx(offset: usize) -> MemOp {
    reg_indirect(
        RegSize::R64,
        BASE + (offset as i32 - layout::CTX_SIZE as i32),
    )
}

/// `[r15 + rcx]`: the guest byte at the address in `ecx`.
fn guest_at_tmp() -> MemOp {
    base_index(RegSize::R64, BASE, RegIndex::rcx)
}

/// BMI2's shifts: `d = a SHIFT (count mod width)` in any three registers,
/// no `cl`, no flags written. The compiler runs only where BMI2 is
/// present (`Backend::is_available` in `braid-pvm-program`).
#[derive(Clone, Copy, Debug)]
enum ShiftX {
    /// `shlx`
    Shl,
    /// `shrx`
    Shr,
    /// `sarx`
    Sar,
}

/// The bytes of `shlx`/`shrx`/`sarx d, a, count` (Intel SDM vol. 2B:
/// `VEX.LZ.{66,F2,F3}.0F38.W{0,1} F7 /r`, operands RMV: `ModRM.reg` = `d`,
/// `ModRM.rm` = `a`, `VEX.vvvv` = `count`). `polkavm-assembler` encodes
/// no VEX instructions, so these five bytes are ours; a test decodes every
/// register combination with `iced-x86`.
fn shiftx(kind: ShiftX, size: RegSize, d: N, a: N, count: N) -> [u8; 5] {
    let pp = match kind {
        ShiftX::Shl => 0b01,
        ShiftX::Sar => 0b10,
        ShiftX::Shr => 0b11,
    };
    let w = u8::from(size == RegSize::R64);
    let (d, a, count) = (d as u8, a as u8, count as u8);
    // VEX stores R, X, B and vvvv inverted; map 0b00010 is 0F38.
    let rxb_map = ((!d >> 3) & 1) << 7 | 1 << 6 | ((!a >> 3) & 1) << 5 | 0b00010;
    let w_vvvv_l_pp = w << 7 | (!count & 0xf) << 3 | pp;
    let modrm = 0b11 << 6 | (d & 7) << 3 | (a & 7);
    [0xc4, rxb_map, w_vvvv_l_pp, 0xf7, modrm]
}

/// Sign-extends a 32-bit immediate as the Gray Paper's `X_n` does.
#[inline]
fn sext(imm: u32) -> u64 {
    imm as i32 as i64 as u64
}

/// The longest out-of-line exit sequence, bytes (two 10-byte constants
/// and two 7-byte stores, a 5-byte jump).
const MAX_STUB: usize = 40;

/// A block's out-of-gas stub, bytes: `mov ecx, index` and a 5-byte jump
/// to the shared out-of-gas exit.
const OOG_STUB: usize = 10;

/// What an out-of-line exit sequence reports.
struct Stub {
    label: Label,
    kind: ExitKind,
    pc: u32,
    /// The host-call immediate, or `sbrk`'s registers.
    arg: u32,
    /// Where the host resumes: the body of the next instruction (host
    /// call, `sbrk`).
    resume: Resume,
}

enum Resume {
    None,
    Body(usize),
}

/// The output of compiling a program: `T` is what the caller's `place`
/// made of the machine code (its executable mapping).
pub(crate) struct Compiled<T> {
    /// The machine code as placed: the entry sequence at offset 0.
    pub code: T,
    /// Machine code length, bytes.
    pub code_len: usize,
    /// The fault exit's offset.
    pub fault_exit: u32,
    /// Per instruction index: the offset of its charged entry, or
    /// [`layout::NO_ENTRY`].
    pub entries: Vec<u32>,
    /// Per jump-table entry: the offset of the target's charged entry, or
    /// [`layout::NO_ENTRY`] if it is not a jump target.
    pub jump_table: Vec<u32>,
    /// `(code offset, instruction index)` of every instruction that touches
    /// guest memory, in offset order.
    pub fault_sites: Vec<(u32, u32)>,
}

/// Compiling stopped: the code would exceed `limit` bytes (a JIT bomb or a
/// program too large to compile); `instructions` were read.
pub(crate) struct TooLarge {
    pub instructions: usize,
}

thread_local! {
    /// The assembler of the last compile on this thread, kept for the next:
    /// its code buffer, labels and fixups keep their capacity, so a compile
    /// does not fault in a fresh buffer (polkavm's engine keeps its
    /// compiler's buffers the same way).
    static ASSEMBLER: Cell<Option<Assembler>> = const { Cell::new(None) };
}

/// An assembler whose code buffer grew past this is not kept, bytes.
const KEEP_CODE_CAPACITY: usize = 16 << 20;

/// Lowers `program` and hands the finished machine code to `place`, which
/// copies it where it will run. Linear in its instruction count: every
/// instruction emits a bounded sequence
/// ([`layout::MAX_NATIVE_PER_INSTRUCTION`]). Stops with [`TooLarge`] once
/// the code passes `limit` bytes.
pub(crate) fn compile<T>(
    program: &Program,
    limit: usize,
    place: impl FnOnce(&[u8]) -> T,
) -> Result<Compiled<T>, TooLarge> {
    let n = program.len();
    let mut asm = ASSEMBLER.take().unwrap_or_default();
    asm.clear();
    asm.reserve_code(n * 16 + 1024);
    let exit = asm.forward_declare_label();
    let mut c = Codegen {
        asm,
        program,
        index: 0,
        entries: Vec::with_capacity(n),
        body_offsets: vec![0; n],
        stubs: Vec::new(),
        out_of_gas: Vec::new(),
        fault_sites: Vec::new(),
        exit,
        table_disp: layout::jump_table_disp(program.jump_table().len()),
    };
    for i in 0..n {
        let label = (program.block_gas(i) > 0).then(|| c.asm.forward_declare_label());
        c.entries.push(label);
    }
    c.emit_entry_sequence();
    let mut falls_through = false;
    for (i, (pc, next_pc, instruction)) in program.iter().enumerate() {
        c.index = i;
        let cost = program.block_gas(i);
        if cost > 0 || falls_through {
            let label = match c.entries[i] {
                Some(label) => label,
                None => {
                    let label = c.asm.forward_declare_label();
                    c.entries[i] = Some(label);
                    label
                }
            };
            c.asm.define_label(label);
            c.charge(cost);
        }
        c.body_offsets[i] = c.asm.len() as u32;
        instruction.visit_at(pc, next_pc, &mut c);
        falls_through = match instruction.opcode() {
            Some(op) => op.is_terminator() && can_fall_through(instruction),
            None => false,
        };
        if c.asm.len() + c.stubs.len() * MAX_STUB + c.out_of_gas.len() * OOG_STUB > limit {
            return Err(TooLarge {
                instructions: i + 1,
            });
        }
    }
    c.emit_stubs();
    let fault_exit = c.emit_exit_sequences();
    if c.asm.len() > limit {
        return Err(TooLarge { instructions: n });
    }
    let entries: Vec<u32> = c
        .entries
        .iter()
        .map(|label| label.map_or(layout::NO_ENTRY, |l| c.offset(l)))
        .collect();
    let jump_table = program
        .jump_table()
        .iter()
        .map(|&pc| {
            program
                .jump_target(pc)
                .map_or(layout::NO_ENTRY, |i| entries[i])
        })
        .collect();
    let fault_sites = std::mem::take(&mut c.fault_sites);
    let code_len = c.asm.len();
    let code = place(&c.asm.finalize());
    if c.asm.spare_capacity() <= KEEP_CODE_CAPACITY {
        ASSEMBLER.set(Some(c.asm));
    }
    Ok(Compiled {
        code,
        code_len,
        fault_exit,
        entries,
        jump_table,
        fault_sites,
    })
}

/// Whether a terminator can continue at the next instruction (a branch not
/// taken, `fallthrough`): that entry then charges its block.
fn can_fall_through(instruction: Instruction) -> bool {
    use Instruction as I;
    !matches!(
        instruction,
        I::trap {}
            | I::jump { .. }
            | I::jump_ind { .. }
            | I::load_imm_jump { .. }
            | I::load_imm_jump_ind { .. }
    )
}

struct Codegen<'p> {
    asm: Assembler,
    program: &'p Program,
    /// The instruction being lowered.
    index: usize,
    /// Charged entry label of each instruction that has one.
    entries: Vec<Option<Label>>,
    /// Code offset of each instruction's body (after its charge).
    body_offsets: Vec<u32>,
    stubs: Vec<Stub>,
    /// Each block's out-of-gas stub and the instruction index it reports.
    out_of_gas: Vec<(Label, u32)>,
    fault_sites: Vec<(u32, u32)>,
    exit: Label,
    /// Displacement of jump-table entry 0 from `r15`.
    table_disp: i32,
}

/// Three-register ALU instructions lowered as `d = a OP b` on 64 bits.
macro_rules! alu64 {
    ($($name:ident => $op:ident, $commutative:expr;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
            self.binop64(d, a, b, $commutative, |x, y| $op((RegSize::R64, x, y)));
        }
    )*};
}

/// Three-register ALU instructions on 32 bits, result sign-extended.
macro_rules! alu32 {
    ($($name:ident => $op:ident;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
            self.mov32(TMP, g(a));
            self.asm.push($op((RegSize::R32, TMP, g(b))));
            self.asm.push(movsxd_32_to_64(g(d), TMP));
        }
    )*};
}

/// Variable shifts: `d = a OP (b mod width)`, one BMI2 instruction.
macro_rules! shift_x {
    ($($name:ident => $kind:ident, $size:ident;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
            self.shift_x(ShiftX::$kind, RegSize::$size, g(d), g(a), g(b));
        }
    )*};
}

/// Variable rotates: `d = a OP (b mod width)`, the count in `cl`.
macro_rules! shift_reg {
    ($($name:ident => $op:ident, $size:ident;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
            self.shift_by_reg(g(d), a, b, RegSize::$size, |r| $op(RegSize::$size, r));
        }
    )*};
}

/// Branches: `if a CC b goto target`, or `a CC imm`.
macro_rules! branches {
    ($($name:ident => $cond:ident;)*) => {$(
        fn $name(&mut self, pc: u32, _: u32, a: Reg, b: Reg, target: u32) {
            self.asm.push(cmp((RegSize::R64, g(a), g(b))));
            self.branch(pc, Condition::$cond, target);
        }
    )*};
    (imm $($name:ident => $cond:ident;)*) => {$(
        fn $name(&mut self, pc: u32, _: u32, a: Reg, imm: u32, target: u32) {
            self.asm.push(cmp((g(a), imm64(imm as i32))));
            self.branch(pc, Condition::$cond, target);
        }
    )*};
}

/// Loads at `ω_B + imm` (`ind`) or at `imm`.
macro_rules! loads {
    ($($name:ident => $kind:ident;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, a: Reg, imm: u32) {
            let mem = self.direct(imm);
            self.site();
            self.asm.push(load(LoadKind::$kind, g(a), mem));
        }
    )*};
    (ind $($name:ident => $kind:ident;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
            let mem = self.indirect(b, imm);
            self.site();
            self.asm.push(load(LoadKind::$kind, g(a), mem));
        }
    )*};
}

/// Stores of a register at `ω_B + imm` (`ind`) or at `imm`.
macro_rules! stores {
    ($($name:ident => $size:ident;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, a: Reg, imm: u32) {
            let mem = self.direct(imm);
            self.site();
            self.asm.push(store(Size::$size, mem, g(a)));
        }
    )*};
    (ind $($name:ident => $size:ident;)*) => {$(
        fn $name(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
            let mem = self.indirect(b, imm);
            self.site();
            self.asm.push(store(Size::$size, mem, g(a)));
        }
    )*};
}

impl Codegen<'_> {
    fn offset(&self, label: Label) -> u32 {
        self.asm
            .get_label_origin_offset(label)
            .expect("every label is defined before the code is finished") as u32
    }

    /// Records the next instruction as one that may fault on guest memory.
    fn site(&mut self) {
        self.fault_sites
            .push((self.asm.len() as u32, self.index as u32));
    }

    fn stub(&mut self, kind: ExitKind, pc: u32, arg: u32, resume: Resume) -> Label {
        let label = self.asm.forward_declare_label();
        self.stubs.push(Stub {
            label,
            kind,
            pc,
            arg,
            resume,
        });
        label
    }

    fn panic_stub(&mut self, pc: u32) -> Label {
        self.stub(ExitKind::Panic, pc, 0, Resume::None)
    }

    /// Exits now (the instruction ends the run).
    fn exit_now(&mut self, kind: ExitKind, pc: u32) {
        let label = self.stub(kind, pc, 0, Resume::None);
        self.asm.push(jmp_label32(label));
    }

    /// Charges the block entered at `entry` (GP 0.7.2 as the vectors meter
    /// it: the whole block on entry; one that cannot be paid for is not
    /// entered, ends out of gas at its first instruction, gas untouched).
    ///
    /// The stub only names the instruction index; the host refunds the
    /// block's cost, sets the pc and resumes at the block's charged entry
    /// from the program's tables (`CompiledInstance::run`), so a block's
    /// out-of-line code is 10 bytes, not a whole exit sequence.
    fn charge(&mut self, cost: u32) {
        // `sub` sets the flags of `gas - cost` exactly as `cmp` does:
        // `jl` is taken when gas < cost (signed).
        self.asm.push(sub((ctx(layout::GAS), imm64(cost as i32))));
        let oog = self.asm.forward_declare_label();
        self.out_of_gas.push((oog, self.index as u32));
        self.asm.push(jcc_label32(Condition::Less, oog));
    }

    /// `reg = value`, in the shortest encoding; leaves the flags alone.
    fn load_const(&mut self, reg: N, value: u64) {
        if value <= u64::from(u32::MAX) {
            self.asm
                .push(mov_imm(RegMem::Reg(reg), imm32(value as u32)));
        } else if i32::try_from(value as i64).is_ok() {
            self.asm
                .push(mov_imm(RegMem::Reg(reg), imm64(value as i64 as i32)));
        } else {
            self.asm.push(mov_imm64(reg, value));
        }
    }

    fn mov64(&mut self, dst: N, src: N) {
        if dst != src {
            self.asm.push(mov(RegSize::R64, dst, src));
        }
    }

    /// `dst = src` on 32 bits (zero-extending); always emitted, as it is
    /// also a truncation.
    fn mov32(&mut self, dst: N, src: N) {
        self.asm.push(mov(RegSize::R32, dst, src));
    }

    /// `d = a OP b` on 64 bits, whatever aliases.
    fn binop64<T>(
        &mut self,
        d: Reg,
        a: Reg,
        b: Reg,
        commutative: bool,
        op: impl Fn(N, N) -> polkavm_assembler::Instruction<T>,
    ) where
        T: core::fmt::Display,
    {
        let (d, a, b) = (g(d), g(a), g(b));
        if d == a {
            self.asm.push(op(d, b));
        } else if d == b && commutative {
            self.asm.push(op(d, a));
        } else if d == b {
            self.mov64(TMP, a);
            self.asm.push(op(TMP, b));
            self.mov64(d, TMP);
        } else {
            self.mov64(d, a);
            self.asm.push(op(d, b));
        }
    }

    /// `d = a SHIFT (count mod width)` with BMI2; 32-bit results
    /// sign-extended.
    fn shift_x(&mut self, kind: ShiftX, size: RegSize, d: N, a: N, count: N) {
        self.asm.push_raw(&shiftx(kind, size, d, a, count));
        if size == RegSize::R32 {
            self.asm.push(movsxd_32_to_64(d, d));
        }
    }

    /// As [`Codegen::shift_x`], the value an immediate (the `_alt` forms:
    /// `d = value SHIFT (b mod width)`).
    fn shift_imm_x(&mut self, kind: ShiftX, size: RegSize, d: Reg, value: u32, b: Reg) {
        match size {
            RegSize::R64 => self.load_const(TMP, sext(value)),
            RegSize::R32 => self.load_const(TMP, u64::from(value)),
        }
        self.shift_x(kind, size, g(d), TMP, g(b));
    }

    /// `d = a SHIFT (b mod width)`; 32-bit results sign-extended.
    fn shift_by_reg<T>(
        &mut self,
        d: N,
        a: Reg,
        b: Reg,
        size: RegSize,
        op: impl Fn(N) -> polkavm_assembler::Instruction<T>,
    ) where
        T: core::fmt::Display,
    {
        // The count goes to `cl` first, so `d` may be `b`.
        self.mov64(TMP, g(b));
        match size {
            RegSize::R64 => self.mov64(d, g(a)),
            RegSize::R32 => self.mov32(d, g(a)),
        }
        self.asm.push(op(d));
        if size == RegSize::R32 {
            self.asm.push(movsxd_32_to_64(d, d));
        }
    }

    /// As [`Codegen::shift_by_reg`], the value an immediate (the `_alt` forms).
    fn shift_imm_by_reg<T>(
        &mut self,
        d: Reg,
        value: u32,
        b: Reg,
        size: RegSize,
        op: impl Fn(N) -> polkavm_assembler::Instruction<T>,
    ) where
        T: core::fmt::Display,
    {
        let d = g(d);
        self.mov64(TMP, g(b));
        match size {
            RegSize::R64 => self.load_const(d, sext(value)),
            RegSize::R32 => self.load_const(d, u64::from(value)),
        }
        self.asm.push(op(d));
        if size == RegSize::R32 {
            self.asm.push(movsxd_32_to_64(d, d));
        }
    }

    /// `d = b SHIFT imm` on 32 bits (count taken mod 32), sign-extended.
    fn shift32_imm<T>(
        &mut self,
        d: Reg,
        b: Reg,
        op: impl Fn(RegMem) -> polkavm_assembler::Instruction<T>,
    ) where
        T: core::fmt::Display,
    {
        self.mov32(TMP, g(b));
        self.asm.push(op(RegMem::Reg(TMP)));
        self.asm.push(movsxd_32_to_64(g(d), TMP));
    }

    /// `d = b SHIFT imm` on 64 bits (count taken mod 64).
    fn shift64_imm<T>(
        &mut self,
        d: Reg,
        b: Reg,
        op: impl Fn(RegMem) -> polkavm_assembler::Instruction<T>,
    ) where
        T: core::fmt::Display,
    {
        self.mov64(g(d), g(b));
        self.asm.push(op(RegMem::Reg(g(d))));
    }

    /// `d = (a CC b) ? 1 : 0`, the comparison emitted by `compare`.
    fn set_if(&mut self, d: Reg, cond: Condition, compare: impl FnOnce(&mut Self)) {
        self.asm.push(xor((RegSize::R32, TMP, TMP)));
        compare(self);
        self.asm.push(setcc(cond, RegMem::Reg(TMP)));
        self.mov64(g(d), TMP);
    }

    /// `d = CC(a, b) ? b : a` (min and max).
    fn select(&mut self, d: Reg, a: Reg, b: Reg, take_b: Condition) {
        self.mov64(TMP, g(a));
        self.asm.push(cmp((RegSize::R64, TMP, g(b))));
        self.asm
            .push(cmov(take_b, RegSize::R64, TMP, RegMem::Reg(g(b))));
        self.mov64(g(d), TMP);
    }

    /// The guest address `imm` as a memory operand.
    fn direct(&mut self, address: u32) -> MemOp {
        // MEMORY SAFETY: a displacement below 2^31 from r15, or the
        // zero-extended address in rcx: inside the reservation.
        if address < 0x8000_0000 {
            reg_indirect(RegSize::R64, BASE + address as i32)
        } else {
            self.asm.push(mov_imm(RegMem::Reg(TMP), imm32(address)));
            guest_at_tmp()
        }
    }

    /// The guest address `(ω_B + imm) mod 2^32` as a memory operand.
    fn indirect(&mut self, b: Reg, imm: u32) -> MemOp {
        // MEMORY SAFETY: a 32-bit `lea` truncates the sum to 32 bits and
        // zero-extends it into rcx, so `[r15 + rcx]` is inside the guest's
        // 4 GiB (plus at most 7 bytes of the guard after it). With no
        // offset a 32-bit `mov` does the same truncation, and the CPU can
        // rename it away where `lea` costs a cycle on the address's path.
        if imm == 0 {
            self.mov32(TMP, g(b));
            return guest_at_tmp();
        }
        self.asm.push(lea(
            RegSize::R32,
            TMP,
            reg_indirect(RegSize::R64, g(b) + imm as i32),
        ));
        guest_at_tmp()
    }

    fn store_imm(&mut self, mem: MemOp, size: Size, value: u32) {
        let imm = match size {
            Size::U8 => imm8(value as u8),
            Size::U16 => ImmKind::I16(value as u16),
            Size::U32 => imm32(value),
            Size::U64 => imm64(value as i32),
        };
        self.site();
        self.asm.push(mov_imm(RegMem::Mem(mem), imm));
    }

    /// The charged entry of the block starting at `pc`, if it is a jump
    /// target (GP ϖ).
    fn target(&self, pc: u32) -> Option<Label> {
        self.program
            .jump_target(pc)
            .map(|i| self.entries[i].expect("a jump target starts a block"))
    }

    fn jump_to(&mut self, pc: u32, target: u32) {
        let label = match self.target(target) {
            Some(label) => label,
            None => self.panic_stub(pc),
        };
        self.asm.push(jmp_label32(label));
    }

    fn branch(&mut self, pc: u32, cond: Condition, target: u32) {
        let label = match self.target(target) {
            Some(label) => label,
            None => self.panic_stub(pc),
        };
        self.asm.push(jcc_label32(cond, label));
    }

    /// A dynamic jump to the guest address in `ecx` (GP eq. A.18): the
    /// halt address halts; `2(k + 1)` enters jump-table entry `k`; anything
    /// else, or an entry that is not a jump target, panics at `pc`.
    fn dynamic_jump(&mut self, pc: u32) {
        let halt = self.stub(ExitKind::Halt, pc, 0, Resume::None);
        let panic = self.panic_stub(pc);
        self.asm.push(cmp((TMP, imm32(HALT_ADDRESS))));
        self.asm.push(jcc_label32(Condition::Equal, halt));
        let entries = self.program.jump_table().len() as u32;
        if entries == 0 {
            self.asm.push(jmp_label32(panic));
            return;
        }
        // ecx = address - 2 = 2k; in range and even, or panic.
        self.asm.push(sub((TMP, imm32(2))));
        self.asm.push(cmp((TMP, imm32(2 * entries))));
        self.asm.push(jcc_label32(Condition::AboveOrEqual, panic));
        self.asm.push(test((TMP, imm8(1))));
        self.asm.push(jcc_label32(Condition::NotEqual, panic));
        // MEMORY SAFETY: rcx = 2k < 2 * entries, so [r15 + 4 rcx + disp]
        // is entry k of the instance's table (8 bytes each), which holds
        // the absolute address of a charged entry of this module or 0.
        self.asm.push(load(
            LoadKind::U64,
            TMP,
            MemOp::BaseIndexScaleOffset(
                None,
                RegSize::R64,
                BASE,
                RegIndex::rcx,
                Scale::x4,
                self.table_disp,
            ),
        ));
        self.asm.push(test((RegSize::R64, TMP, TMP)));
        self.asm.push(jcc_label32(Condition::Equal, panic));
        self.asm.push(jmp(RegMem::Reg(TMP)));
    }

    /// `d = a / b` or `a % b` with the Gray Paper's answers for a zero
    /// divisor and the signed overflow, never a `#DE`.
    fn divide(&mut self, d: Reg, a: Reg, b: Reg, size: RegSize, signed: bool, remainder: bool) {
        let (ax, dx) = (N::rax, N::rdx);
        self.asm.push(store(Size::U64, ctx(layout::SCRATCH), ax));
        self.asm
            .push(store(Size::U64, ctx(layout::SCRATCH + 8), dx));
        // ax and dx still hold their guest values here.
        self.mov64(TMP, g(b));
        self.mov64(ax, g(a));
        let zero = self.asm.forward_declare_label();
        let done = self.asm.forward_declare_label();
        self.asm.push(test((size, TMP, TMP)));
        self.asm.push(jcc_label8(Condition::Equal, zero));
        let mut minus_one = None;
        if signed {
            let label = self.asm.forward_declare_label();
            self.asm.push(cmp((
                TMP,
                match size {
                    RegSize::R64 => imm64(-1),
                    RegSize::R32 => imm32(u32::MAX),
                },
            )));
            self.asm.push(jcc_label8(Condition::Equal, label));
            minus_one = Some(label);
            match size {
                RegSize::R64 => self.asm.push(cqo()),
                RegSize::R32 => self.asm.push(cdq()),
            };
            self.asm.push(idiv(size, RegMem::Reg(TMP)));
        } else {
            self.asm.push(xor((RegSize::R32, dx, dx)));
            self.asm.push(div(size, RegMem::Reg(TMP)));
        }
        self.mov64(TMP, if remainder { dx } else { ax });
        self.asm.push(jmp_label8(done));
        if let Some(label) = minus_one {
            // x / -1 = -x (wrapping: MIN / -1 = MIN); x % -1 = 0.
            self.asm.define_label(label);
            if remainder {
                self.asm.push(xor((RegSize::R32, TMP, TMP)));
            } else {
                self.asm.push(neg(Size::from(size), RegMem::Reg(ax)));
                self.mov64(TMP, ax);
            }
            self.asm.push(jmp_label8(done));
        }
        // Divisor 0: the quotient is all ones, the remainder the dividend.
        self.asm.define_label(zero);
        if remainder {
            self.mov64(TMP, ax);
        } else {
            self.load_const(TMP, u64::MAX);
        }
        self.asm.define_label(done);
        self.asm.push(load(LoadKind::U64, ax, ctx(layout::SCRATCH)));
        self.asm
            .push(load(LoadKind::U64, dx, ctx(layout::SCRATCH + 8)));
        match size {
            RegSize::R64 => self.mov64(g(d), TMP),
            RegSize::R32 => {
                self.asm.push(movsxd_32_to_64(g(d), TMP));
            }
        }
    }

    /// `d` = the upper 64 bits of `a × b`: both signed, both unsigned, or
    /// `a` signed and `b` unsigned.
    fn mul_upper(&mut self, d: Reg, a: Reg, b: Reg, a_signed: bool, b_signed: bool) {
        let (ax, dx) = (N::rax, N::rdx);
        self.asm.push(store(Size::U64, ctx(layout::SCRATCH), ax));
        self.asm
            .push(store(Size::U64, ctx(layout::SCRATCH + 8), dx));
        self.mov64(TMP, g(b));
        self.mov64(ax, g(a));
        if a_signed && b_signed {
            self.asm.push(imul_dx_ax(RegSize::R64, RegMem::Reg(TMP)));
        } else if !a_signed {
            self.asm.push(mul(RegSize::R64, RegMem::Reg(TMP)));
        } else {
            // mulh_su(a, b) = mulhu(a, b) - (a < 0 ? b : 0).
            self.asm
                .push(store(Size::U64, ctx(layout::SCRATCH + 16), ax));
            self.asm.push(mul(RegSize::R64, RegMem::Reg(TMP)));
            self.asm
                .push(load(LoadKind::U64, ax, ctx(layout::SCRATCH + 16)));
            self.asm.push(sar_imm(RegSize::R64, RegMem::Reg(ax), 63));
            self.asm.push(and((RegSize::R64, ax, TMP)));
            self.asm.push(sub((RegSize::R64, dx, ax)));
        }
        self.mov64(TMP, dx);
        self.asm.push(load(LoadKind::U64, ax, ctx(layout::SCRATCH)));
        self.asm
            .push(load(LoadKind::U64, dx, ctx(layout::SCRATCH + 8)));
        self.mov64(g(d), TMP);
    }

    fn emit_entry_sequence(&mut self) {
        // extern "sysv64" fn(base: *mut u8 (rdi), target: *const u8 (rsi)).
        for reg in CALLEE_SAVED {
            self.asm.push(push(reg));
        }
        self.mov64(BASE, N::rdi);
        self.asm
            .push(store(Size::U64, ctx(layout::HOST_RSP), N::rsp));
        self.mov64(TMP, N::rsi);
        for (i, &reg) in GUEST.iter().enumerate() {
            self.asm
                .push(load(LoadKind::U64, reg, ctx(layout::REGS + 8 * i)));
        }
        self.asm.push(jmp(RegMem::Reg(TMP)));
    }

    fn emit_stubs(&mut self) {
        let out_of_gas = std::mem::take(&mut self.out_of_gas);
        if !out_of_gas.is_empty() {
            // The shared out-of-gas exit: the index from `ecx` into the
            // exit word's high half.
            let shared = self.asm.forward_declare_label();
            for (label, index) in out_of_gas {
                self.asm.define_label(label);
                self.asm.push(mov_imm(RegMem::Reg(TMP), imm32(index)));
                self.asm.push(jmp_label32(shared));
            }
            self.asm.define_label(shared);
            self.asm.push(shl_imm(RegSize::R64, RegMem::Reg(TMP), 32));
            self.asm
                .push(or((TMP, imm64(ExitKind::OutOfGas as u32 as i32))));
            self.asm.push(store(Size::U64, ctx(layout::EXIT), TMP));
            self.asm.push(jmp_label32(self.exit));
        }
        for stub in std::mem::take(&mut self.stubs) {
            self.asm.define_label(stub.label);
            let resume = match stub.resume {
                Resume::None => 0,
                Resume::Body(index) => self.body_offsets[index],
            };
            self.write_exit(stub.kind, stub.pc, resume, stub.arg);
            self.asm.push(jmp_label32(self.exit));
        }
    }

    fn write_exit(&mut self, kind: ExitKind, pc: u32, resume: u32, arg: u32) {
        self.load_const(TMP, layout::exit_word(kind, pc));
        self.asm.push(store(Size::U64, ctx(layout::EXIT), TMP));
        if resume != 0 || arg != 0 {
            self.load_const(TMP, layout::resume_word(resume, arg));
            self.asm.push(store(Size::U64, ctx(layout::RESUME), TMP));
        }
    }

    /// The exit sequence (store the guest registers, return to the host)
    /// and the fault exit before it; returns the fault exit's offset.
    fn emit_exit_sequences(&mut self) -> u32 {
        let fault_exit = self.asm.len() as u32;
        self.write_exit(ExitKind::Fault, 0, 0, 0);
        let exit = self.exit;
        self.asm.define_label(exit);
        for (i, &reg) in GUEST.iter().enumerate() {
            self.asm
                .push(store(Size::U64, ctx(layout::REGS + 8 * i), reg));
        }
        self.asm
            .push(load(LoadKind::U64, N::rsp, ctx(layout::HOST_RSP)));
        for reg in CALLEE_SAVED.iter().rev() {
            self.asm.push(pop(*reg));
        }
        self.asm.push(ret());
        fault_exit
    }
}

impl ProgramVisitor for Codegen<'_> {
    type Output = ();

    fn trap(&mut self, pc: u32, _: u32) {
        self.exit_now(ExitKind::Panic, pc);
    }
    fn invalid(&mut self, pc: u32, _: u32) {
        self.exit_now(ExitKind::Panic, pc);
    }
    fn fallthrough(&mut self, _: u32, _: u32) {
        // The next instruction's charged entry follows.
    }
    fn ecalli(&mut self, pc: u32, _: u32, imm: u32) {
        let stub = self.stub(ExitKind::HostCall, pc, imm, Resume::Body(self.index + 1));
        self.asm.push(jmp_label32(stub));
    }
    fn load_imm_64(&mut self, _: u32, _: u32, a: Reg, imm: u64) {
        self.load_const(g(a), imm);
    }

    fn store_imm_u8(&mut self, _: u32, _: u32, x: u32, y: u32) {
        let mem = self.direct(x);
        self.store_imm(mem, Size::U8, y);
    }
    fn store_imm_u16(&mut self, _: u32, _: u32, x: u32, y: u32) {
        let mem = self.direct(x);
        self.store_imm(mem, Size::U16, y);
    }
    fn store_imm_u32(&mut self, _: u32, _: u32, x: u32, y: u32) {
        let mem = self.direct(x);
        self.store_imm(mem, Size::U32, y);
    }
    fn store_imm_u64(&mut self, _: u32, _: u32, x: u32, y: u32) {
        let mem = self.direct(x);
        self.store_imm(mem, Size::U64, y);
    }

    fn jump(&mut self, pc: u32, _: u32, target: u32) {
        self.jump_to(pc, target);
    }
    fn jump_ind(&mut self, pc: u32, _: u32, a: Reg, imm: u32) {
        self.asm.push(lea(
            RegSize::R32,
            TMP,
            reg_indirect(RegSize::R64, g(a) + imm as i32),
        ));
        self.dynamic_jump(pc);
    }
    fn load_imm(&mut self, _: u32, _: u32, a: Reg, imm: u32) {
        self.load_const(g(a), sext(imm));
    }
    loads! {
        load_u8 => U8;
        load_i8 => I8;
        load_u16 => U16;
        load_i16 => I16;
        load_u32 => U32;
        load_i32 => I32;
        load_u64 => U64;
    }
    stores! {
        store_u8 => U8;
        store_u16 => U16;
        store_u32 => U32;
        store_u64 => U64;
    }

    fn store_imm_ind_u8(&mut self, _: u32, _: u32, a: Reg, x: u32, y: u32) {
        let mem = self.indirect(a, x);
        self.store_imm(mem, Size::U8, y);
    }
    fn store_imm_ind_u16(&mut self, _: u32, _: u32, a: Reg, x: u32, y: u32) {
        let mem = self.indirect(a, x);
        self.store_imm(mem, Size::U16, y);
    }
    fn store_imm_ind_u32(&mut self, _: u32, _: u32, a: Reg, x: u32, y: u32) {
        let mem = self.indirect(a, x);
        self.store_imm(mem, Size::U32, y);
    }
    fn store_imm_ind_u64(&mut self, _: u32, _: u32, a: Reg, x: u32, y: u32) {
        let mem = self.indirect(a, x);
        self.store_imm(mem, Size::U64, y);
    }

    fn load_imm_jump(&mut self, pc: u32, _: u32, a: Reg, imm: u32, target: u32) {
        self.load_const(g(a), sext(imm));
        self.jump_to(pc, target);
    }
    branches! { imm
        branch_eq_imm => Equal;
        branch_ne_imm => NotEqual;
        branch_lt_u_imm => Below;
        branch_le_u_imm => BelowOrEqual;
        branch_ge_u_imm => AboveOrEqual;
        branch_gt_u_imm => Above;
        branch_lt_s_imm => Less;
        branch_le_s_imm => LessOrEqual;
        branch_ge_s_imm => GreaterOrEqual;
        branch_gt_s_imm => Greater;
    }

    fn move_reg(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.mov64(g(d), g(a));
    }
    fn sbrk(&mut self, pc: u32, _: u32, d: Reg, a: Reg) {
        let arg = (d.index() as u32) | ((a.index() as u32) << 8);
        let stub = self.stub(ExitKind::Sbrk, pc, arg, Resume::Body(self.index + 1));
        self.asm.push(jmp_label32(stub));
    }
    fn count_set_bits_64(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(popcnt(RegSize::R64, g(d), RegMem::Reg(g(a))));
    }
    fn count_set_bits_32(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(popcnt(RegSize::R32, g(d), RegMem::Reg(g(a))));
    }
    fn leading_zero_bits_64(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(lzcnt(RegSize::R64, g(d), RegMem::Reg(g(a))));
    }
    fn leading_zero_bits_32(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(lzcnt(RegSize::R32, g(d), RegMem::Reg(g(a))));
    }
    fn trailing_zero_bits_64(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(tzcnt(RegSize::R64, g(d), RegMem::Reg(g(a))));
    }
    fn trailing_zero_bits_32(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(tzcnt(RegSize::R32, g(d), RegMem::Reg(g(a))));
    }
    fn sign_extend_8(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(movsx_8_to_64(RegSize::R64, g(d), g(a)));
    }
    fn sign_extend_16(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(movsx_16_to_64(RegSize::R64, g(d), g(a)));
    }
    fn zero_extend_16(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.asm.push(movzx_16_to_64(RegSize::R64, g(d), g(a)));
    }
    fn reverse_bytes(&mut self, _: u32, _: u32, d: Reg, a: Reg) {
        self.mov64(g(d), g(a));
        self.asm.push(bswap(RegSize::R64, g(d)));
    }

    stores! { ind
        store_ind_u8 => U8;
        store_ind_u16 => U16;
        store_ind_u32 => U32;
        store_ind_u64 => U64;
    }
    loads! { ind
        load_ind_u8 => U8;
        load_ind_i8 => I8;
        load_ind_u16 => U16;
        load_ind_i16 => I16;
        load_ind_u32 => U32;
        load_ind_i32 => I32;
        load_ind_u64 => U64;
    }

    fn add_imm_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.asm.push(lea(
            RegSize::R32,
            TMP,
            reg_indirect(RegSize::R64, g(b) + imm as i32),
        ));
        self.asm.push(movsxd_32_to_64(g(a), TMP));
    }
    fn and_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.mov64(g(a), g(b));
        self.asm.push(and((g(a), imm64(imm as i32))));
    }
    fn xor_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.mov64(g(a), g(b));
        self.asm.push(xor((g(a), imm64(imm as i32))));
    }
    fn or_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.mov64(g(a), g(b));
        self.asm.push(or((g(a), imm64(imm as i32))));
    }
    fn mul_imm_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.asm
            .push(imul_imm(RegSize::R32, TMP, RegMem::Reg(g(b)), imm as i32));
        self.asm.push(movsxd_32_to_64(g(a), TMP));
    }
    fn set_lt_u_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.set_if(a, Condition::Below, |c| {
            c.asm.push(cmp((g(b), imm64(imm as i32))));
        });
    }
    fn set_lt_s_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.set_if(a, Condition::Less, |c| {
            c.asm.push(cmp((g(b), imm64(imm as i32))));
        });
    }
    fn shlo_l_imm_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift32_imm(a, b, |r| shl_imm(RegSize::R32, r, (imm & 31) as u8));
    }
    fn shlo_r_imm_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift32_imm(a, b, |r| shr_imm(RegSize::R32, r, (imm & 31) as u8));
    }
    fn shar_r_imm_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift32_imm(a, b, |r| sar_imm(RegSize::R32, r, (imm & 31) as u8));
    }
    fn neg_add_imm_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.mov32(TMP, g(b));
        self.asm.push(neg(Size::U32, RegMem::Reg(TMP)));
        self.asm.push(add((TMP, imm32(imm))));
        self.asm.push(movsxd_32_to_64(g(a), TMP));
    }
    fn set_gt_u_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.set_if(a, Condition::Above, |c| {
            c.asm.push(cmp((g(b), imm64(imm as i32))));
        });
    }
    fn set_gt_s_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.set_if(a, Condition::Greater, |c| {
            c.asm.push(cmp((g(b), imm64(imm as i32))));
        });
    }
    fn shlo_l_imm_alt_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_x(ShiftX::Shl, RegSize::R32, a, imm, b);
    }
    fn shlo_r_imm_alt_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_x(ShiftX::Shr, RegSize::R32, a, imm, b);
    }
    fn shar_r_imm_alt_32(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_x(ShiftX::Sar, RegSize::R32, a, imm, b);
    }
    fn cmov_iz_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.load_const(TMP, sext(imm));
        self.asm.push(test((RegSize::R64, g(b), g(b))));
        self.asm
            .push(cmov(Condition::Equal, RegSize::R64, g(a), RegMem::Reg(TMP)));
    }
    fn cmov_nz_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.load_const(TMP, sext(imm));
        self.asm.push(test((RegSize::R64, g(b), g(b))));
        self.asm.push(cmov(
            Condition::NotEqual,
            RegSize::R64,
            g(a),
            RegMem::Reg(TMP),
        ));
    }
    fn add_imm_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.asm.push(lea(
            RegSize::R64,
            g(a),
            reg_indirect(RegSize::R64, g(b) + imm as i32),
        ));
    }
    fn mul_imm_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.asm
            .push(imul_imm(RegSize::R64, g(a), RegMem::Reg(g(b)), imm as i32));
    }
    fn shlo_l_imm_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift64_imm(a, b, |r| shl_imm(RegSize::R64, r, (imm & 63) as u8));
    }
    fn shlo_r_imm_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift64_imm(a, b, |r| shr_imm(RegSize::R64, r, (imm & 63) as u8));
    }
    fn shar_r_imm_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift64_imm(a, b, |r| sar_imm(RegSize::R64, r, (imm & 63) as u8));
    }
    fn neg_add_imm_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.mov64(g(a), g(b));
        self.asm.push(neg(Size::U64, RegMem::Reg(g(a))));
        self.asm.push(add((g(a), imm64(imm as i32))));
    }
    fn shlo_l_imm_alt_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_x(ShiftX::Shl, RegSize::R64, a, imm, b);
    }
    fn shlo_r_imm_alt_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_x(ShiftX::Shr, RegSize::R64, a, imm, b);
    }
    fn shar_r_imm_alt_64(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_x(ShiftX::Sar, RegSize::R64, a, imm, b);
    }
    fn rot_r_64_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift64_imm(a, b, |r| ror_imm(RegSize::R64, r, (imm & 63) as u8));
    }
    fn rot_r_64_imm_alt(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_by_reg(a, imm, b, RegSize::R64, |r| ror_cl(RegSize::R64, r));
    }
    fn rot_r_32_imm(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift32_imm(a, b, |r| ror_imm(RegSize::R32, r, (imm & 31) as u8));
    }
    fn rot_r_32_imm_alt(&mut self, _: u32, _: u32, a: Reg, b: Reg, imm: u32) {
        self.shift_imm_by_reg(a, imm, b, RegSize::R32, |r| ror_cl(RegSize::R32, r));
    }

    branches! {
        branch_eq => Equal;
        branch_ne => NotEqual;
        branch_lt_u => Below;
        branch_lt_s => Less;
        branch_ge_u => AboveOrEqual;
        branch_ge_s => GreaterOrEqual;
    }

    fn load_imm_jump_ind(&mut self, pc: u32, _: u32, a: Reg, b: Reg, x: u32, y: u32) {
        // The address uses ω_B before ω_A is written (they may be one register).
        self.asm.push(lea(
            RegSize::R32,
            TMP,
            reg_indirect(RegSize::R64, g(b) + y as i32),
        ));
        self.load_const(g(a), sext(x));
        self.dynamic_jump(pc);
    }

    alu32! {
        add_32 => add;
        sub_32 => sub;
    }
    fn mul_32(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.mov32(TMP, g(a));
        self.asm.push(imul(RegSize::R32, TMP, RegMem::Reg(g(b))));
        self.asm.push(movsxd_32_to_64(g(d), TMP));
    }
    fn div_u_32(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R32, false, false);
    }
    fn div_s_32(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R32, true, false);
    }
    fn rem_u_32(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R32, false, true);
    }
    fn rem_s_32(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R32, true, true);
    }
    shift_x! {
        shlo_l_32 => Shl, R32;
        shlo_r_32 => Shr, R32;
        shar_r_32 => Sar, R32;
    }
    alu64! {
        add_64 => add, true;
        sub_64 => sub, false;
        and => and, true;
        xor => xor, true;
        or => or, true;
    }
    fn mul_64(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.binop64(d, a, b, true, |x, y| imul(RegSize::R64, x, RegMem::Reg(y)));
    }
    fn div_u_64(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R64, false, false);
    }
    fn div_s_64(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R64, true, false);
    }
    fn rem_u_64(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R64, false, true);
    }
    fn rem_s_64(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.divide(d, a, b, RegSize::R64, true, true);
    }
    shift_x! {
        shlo_l_64 => Shl, R64;
        shlo_r_64 => Shr, R64;
        shar_r_64 => Sar, R64;
    }
    shift_reg! {
        rot_l_64 => rol_cl, R64;
        rot_l_32 => rol_cl, R32;
        rot_r_64 => ror_cl, R64;
        rot_r_32 => ror_cl, R32;
    }
    fn mul_upper_s_s(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.mul_upper(d, a, b, true, true);
    }
    fn mul_upper_u_u(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.mul_upper(d, a, b, false, false);
    }
    fn mul_upper_s_u(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.mul_upper(d, a, b, true, false);
    }
    fn set_lt_u(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.set_if(d, Condition::Below, |c| {
            c.asm.push(cmp((RegSize::R64, g(a), g(b))));
        });
    }
    fn set_lt_s(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.set_if(d, Condition::Less, |c| {
            c.asm.push(cmp((RegSize::R64, g(a), g(b))));
        });
    }
    fn cmov_iz(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.asm.push(test((RegSize::R64, g(b), g(b))));
        self.asm.push(cmov(
            Condition::Equal,
            RegSize::R64,
            g(d),
            RegMem::Reg(g(a)),
        ));
    }
    fn cmov_nz(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.asm.push(test((RegSize::R64, g(b), g(b))));
        self.asm.push(cmov(
            Condition::NotEqual,
            RegSize::R64,
            g(d),
            RegMem::Reg(g(a)),
        ));
    }
    fn and_inv(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.mov64(TMP, g(b));
        self.asm.push(not(Size::U64, RegMem::Reg(TMP)));
        self.asm.push(and((RegSize::R64, TMP, g(a))));
        self.mov64(g(d), TMP);
    }
    fn or_inv(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.mov64(TMP, g(b));
        self.asm.push(not(Size::U64, RegMem::Reg(TMP)));
        self.asm.push(or((RegSize::R64, TMP, g(a))));
        self.mov64(g(d), TMP);
    }
    fn xnor(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.mov64(TMP, g(a));
        self.asm.push(xor((RegSize::R64, TMP, g(b))));
        self.asm.push(not(Size::U64, RegMem::Reg(TMP)));
        self.mov64(g(d), TMP);
    }
    fn max(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.select(d, a, b, Condition::Less);
    }
    fn max_u(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.select(d, a, b, Condition::Below);
    }
    fn min(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.select(d, a, b, Condition::Greater);
    }
    fn min_u(&mut self, _: u32, _: u32, d: Reg, a: Reg, b: Reg) {
        self.select(d, a, b, Condition::Above);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind, Register};

    /// iced-x86's name for a host register at `size`.
    fn iced(reg: N, size: RegSize) -> Register {
        use Register as R;
        let r64 = [
            R::RAX,
            R::RCX,
            R::RDX,
            R::RBX,
            R::RSP,
            R::RBP,
            R::RSI,
            R::RDI,
            R::R8,
            R::R9,
            R::R10,
            R::R11,
            R::R12,
            R::R13,
            R::R14,
            R::R15,
        ];
        let r32 = [
            R::EAX,
            R::ECX,
            R::EDX,
            R::EBX,
            R::ESP,
            R::EBP,
            R::ESI,
            R::EDI,
            R::R8D,
            R::R9D,
            R::R10D,
            R::R11D,
            R::R12D,
            R::R13D,
            R::R14D,
            R::R15D,
        ];
        match size {
            RegSize::R64 => r64[reg as usize],
            RegSize::R32 => r32[reg as usize],
        }
    }

    #[test]
    fn bmi2_shifts_decode_as_the_instruction_meant_for_every_register_triple() {
        const ALL: [N; 16] = [
            N::rax,
            N::rcx,
            N::rdx,
            N::rbx,
            N::rsp,
            N::rbp,
            N::rsi,
            N::rdi,
            N::r8,
            N::r9,
            N::r10,
            N::r11,
            N::r12,
            N::r13,
            N::r14,
            N::r15,
        ];
        let kinds = [
            (ShiftX::Shl, Mnemonic::Shlx),
            (ShiftX::Shr, Mnemonic::Shrx),
            (ShiftX::Sar, Mnemonic::Sarx),
        ];
        for (kind, mnemonic) in kinds {
            for size in [RegSize::R32, RegSize::R64] {
                for d in ALL {
                    for a in ALL {
                        for count in ALL {
                            let bytes = shiftx(kind, size, d, a, count);
                            let mut decoder = Decoder::new(64, &bytes, DecoderOptions::NONE);
                            let i = decoder.decode();
                            let what =
                                format!("{kind:?} {size:?} {d:?}, {a:?}, {count:?}: {bytes:02x?}");
                            assert_eq!(i.len(), 5, "{what}");
                            assert_eq!(i.mnemonic(), mnemonic, "{what}");
                            assert_eq!(i.op_count(), 3, "{what}");
                            for n in 0..3 {
                                assert_eq!(i.op_kind(n), OpKind::Register, "{what}");
                            }
                            assert_eq!(i.op0_register(), iced(d, size), "{what}");
                            assert_eq!(i.op1_register(), iced(a, size), "{what}");
                            assert_eq!(i.op2_register(), iced(count, size), "{what}");
                        }
                    }
                }
            }
        }
    }
}
