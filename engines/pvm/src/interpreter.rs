//! The reference PVM backend: [`Code`] lowers a [`Program`] once into an
//! array of instructions, branch targets as instruction indices, each paired
//! with the handler of its opcode; an [`Interpreter`] runs it by calling one
//! handler after another, each returning the next index (GP 0.7.2 Appendix
//! A, Ψ and Ψ₁). The instruction semantics are written once, as the
//! `InstructionVisitor` methods of `Exec`; a handler is one of them, inlined.
//!
//! Gas follows the conformance vectors (polkavm's "naive" model): a basic
//! block's instructions (1 gas each) are charged together when the block is
//! entered, and a block that cannot be paid for ends the run out of gas at
//! its first instruction with the gas untouched. RFC 0003 explains how this
//! differs from strict GP 0.7.2 on page faults.

use std::sync::Arc;

use crate::api::{ExitReason, GuestAccess};
use crate::blob::{HALT_ADDRESS, INPUT_SIZE};
use crate::isa::{InstructionVisitor, Reg};
use crate::memory::{AccessFault, Memory};
use crate::program::Program;
use crate::{PvmError, Result};

/// Instruction index meaning "not a valid jump target".
const INVALID: u32 = u32::MAX;

pub use crate::blob::MAX_HEAP_GROWTH;

/// A [`Program`] lowered for the interpreter.
#[derive(Debug)]
pub(crate) struct Code {
    program: Arc<Program>,
    /// The program's instructions, each with its handler, branch targets as
    /// instruction indices ([`INVALID`] if not a jump target).
    ops: Vec<Op>,
    /// The jump table, as instruction indices ([`INVALID`] if not a jump target).
    jump_table: Vec<u32>,
}

impl Code {
    /// Lowers `program`: every pc target becomes an instruction index, and
    /// every instruction becomes its opcode's handler with its operands.
    pub(crate) fn new(program: Arc<Program>) -> Code {
        let index = |pc: u32| -> u32 { program.jump_target(pc).map_or(INVALID, |i| i as u32) };
        let ops = program
            .iter()
            .map(|(_, _, instruction)| instruction.map_target(index).visit(&mut Lower))
            .collect();
        let jump_table = program.jump_table().iter().map(|&pc| index(pc)).collect();
        Code {
            ops,
            jump_table,
            program,
        }
    }
}

/// Runs the instruction at an index and returns the index to run next, or
/// [`STOPPED`] once the run has ended (the reason is in [`Exec::stopped`]).
type Handler = fn(&mut Exec<'_>, &Op, u32) -> u32;

/// What [`Handler`] returns when the run ends.
const STOPPED: u32 = u32::MAX;

/// One lowered instruction: the handler of its opcode, which runs it
/// without dispatching on the opcode again (the interpreter chains
/// handlers, as polkavm's does), and its operands in the order of the
/// opcode's `InstructionVisitor` method: registers in `r`, then the 32-bit
/// immediates and targets in `x` and `y` (`load_imm_64`'s immediate in `y`).
#[derive(Clone, Copy, Debug)]
struct Op {
    handler: Handler,
    r: [Reg; 3],
    x: u32,
    y: u64,
}

/// The lowering: an [`InstructionVisitor`] that turns each instruction into
/// its [`Op`].
struct Lower;

/// The register that fills unused register slots.
fn r0() -> Reg {
    Reg::clamped(0)
}

/// `lowering!(Format name)`: the `Lower` method for opcode `name` of
/// operand format `Format`, and inside it the opcode's handler, which hands
/// the operands back to `Exec`'s method of the same name. A format's
/// operands go into an [`Op`] and come out of it in the same order here.
macro_rules! lowering {
    (@op $name:ident ($($arg:ident: $ty:ty),*) => [$($r:expr),*], $x:expr, $y:expr; ($($out:expr),*)) => {
        fn $name(&mut self, $($arg: $ty),*) -> Op {
            #[allow(unused_variables, reason = "an opcode without operands reads none")]
            fn run(exec: &mut Exec<'_>, op: &Op, index: u32) -> u32 {
                let control = exec.$name($($out(op)),*);
                exec.follow(control, index)
            }
            Op { handler: run, r: [$($r),*], x: $x, y: $y }
        }
    };
    (NoArgs $name:ident) => { lowering!(@op $name () => [r0(), r0(), r0()], 0, 0; ()); };
    (Imm $name:ident) => { lowering!(@op $name (imm: u32) => [r0(), r0(), r0()], imm, 0; (op_x)); };
    (RegImm64 $name:ident) => { lowering!(@op $name (a: Reg, imm: u64) => [a, a, a], 0, imm; (op_r0, op_y64)); };
    (ImmImm $name:ident) => { lowering!(@op $name (x: u32, y: u32) => [r0(), r0(), r0()], x, u64::from(y); (op_x, op_y)); };
    (Offset $name:ident) => { lowering!(@op $name (target: u32) => [r0(), r0(), r0()], target, 0; (op_x)); };
    (RegImm $name:ident) => { lowering!(@op $name (a: Reg, imm: u32) => [a, a, a], imm, 0; (op_r0, op_x)); };
    (RegImmImm $name:ident) => { lowering!(@op $name (a: Reg, x: u32, y: u32) => [a, a, a], x, u64::from(y); (op_r0, op_x, op_y)); };
    (RegImmOffset $name:ident) => { lowering!(@op $name (a: Reg, imm: u32, target: u32) => [a, a, a], imm, u64::from(target); (op_r0, op_x, op_y)); };
    (RegReg $name:ident) => { lowering!(@op $name (d: Reg, a: Reg) => [d, a, a], 0, 0; (op_r0, op_r1)); };
    (RegRegImm $name:ident) => { lowering!(@op $name (a: Reg, b: Reg, imm: u32) => [a, b, b], imm, 0; (op_r0, op_r1, op_x)); };
    (RegRegOffset $name:ident) => { lowering!(@op $name (a: Reg, b: Reg, target: u32) => [a, b, b], target, 0; (op_r0, op_r1, op_x)); };
    (RegRegImmImm $name:ident) => { lowering!(@op $name (a: Reg, b: Reg, x: u32, y: u32) => [a, b, b], x, u64::from(y); (op_r0, op_r1, op_x, op_y)); };
    (RegRegReg $name:ident) => { lowering!(@op $name (d: Reg, a: Reg, b: Reg) => [d, a, b], 0, 0; (op_r0, op_r1, op_r2)); };
}

/// An [`Op`]'s operands, by position.
#[inline(always)]
fn op_r0(op: &Op) -> Reg {
    op.r[0]
}
#[inline(always)]
fn op_r1(op: &Op) -> Reg {
    op.r[1]
}
#[inline(always)]
fn op_r2(op: &Op) -> Reg {
    op.r[2]
}
#[inline(always)]
fn op_x(op: &Op) -> u32 {
    op.x
}
#[inline(always)]
fn op_y(op: &Op) -> u32 {
    op.y as u32
}
#[inline(always)]
fn op_y64(op: &Op) -> u64 {
    op.y
}

macro_rules! lower_all {
    ($($format:ident { $($name:ident = $byte:literal [$($t:ident)?],)* })*) => {
        impl InstructionVisitor for Lower {
            type Output = Op;
            $($( lowering!($format $name); )*)*
            lowering!(NoArgs invalid);
        }
    };
}

braid_pvm_program::for_each_instruction!(lower_all);

/// One run of a program on the interpreter: registers, memory, gas and
/// position.
#[derive(Clone, Debug)]
pub struct Interpreter {
    code: Arc<Code>,
    regs: [u64; 16],
    memory: Memory,
    gas: i64,
    /// Index of the instruction that caused the last exit (or the next to run).
    index: u32,
    /// Index to continue at, and whether entering it charges its block.
    next: u32,
    charge_next: bool,
    heap_top: u32,
    heap_limit: u32,
}

impl Interpreter {
    /// An interpreter for `code` with no accessible memory, every register
    /// 0, no gas, at pc 0.
    pub(crate) fn new(code: &Arc<Code>) -> Interpreter {
        Interpreter {
            code: Arc::clone(code),
            regs: [0; 16],
            memory: Memory::new(),
            gas: 0,
            index: 0,
            next: 0,
            charge_next: true,
            heap_top: 0,
            heap_limit: 0,
        }
    }

    /// An interpreter for a standard program set up per GP 0.7.2 eq.
    /// A.42-A.43 (see [`crate::Instance::standard`]).
    pub(crate) fn standard(code: &Arc<Code>, input: &[u8], gas: i64) -> Result<Interpreter> {
        let data = code
            .program
            .standard()
            .expect("Instance::standard needs a module built from a standard program");
        if input.len() > INPUT_SIZE as usize {
            return Err(PvmError::InputTooLarge {
                len: input.len(),
                limit: INPUT_SIZE,
            });
        }
        let l = data.layout;
        let mut vm = Interpreter::new(code);
        let m = &mut vm.memory;
        m.map(l.ro_start, u64::from(l.ro_len), false);
        m.init(l.ro_start, &data.ro_data);
        m.map(l.rw_start, u64::from(l.rw_len), true);
        m.init(l.rw_start, &data.rw_data);
        m.map(l.stack_start, u64::from(l.stack_len), true);
        m.map(l.input_start, input.len() as u64, false);
        m.init(l.input_start, input);
        vm.heap_top = l.rw_start + l.rw_len;
        vm.heap_limit = l
            .heap_limit
            .min(vm.heap_top.saturating_add(MAX_HEAP_GROWTH));
        vm.regs[0] = u64::from(HALT_ADDRESS);
        vm.regs[1] = u64::from(l.stack_start + l.stack_len);
        vm.regs[7] = u64::from(l.input_start);
        vm.regs[8] = input.len() as u64;
        vm.gas = gas;
        Ok(vm)
    }

    /// The guest memory.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// The guest memory, for setting up.
    pub fn memory_mut(&mut self) -> &mut Memory {
        &mut self.memory
    }

    /// Sets where the next [`Interpreter::run`] starts, as a block entry.
    /// A pc that is not a block start makes the run panic there.
    pub fn set_pc(&mut self, pc: u32) {
        let program = &self.code.program;
        self.next = match program.index_of(pc) {
            Some(i) if program.block_gas(i) > 0 => i as u32,
            _ => INVALID,
        };
        self.index = self.next;
        self.charge_next = true;
    }

    /// The pc of the instruction that caused the last exit (see
    /// [`crate::Instance::pc`]).
    pub fn pc(&self) -> u32 {
        let program = &self.code.program;
        if (self.index as usize) < program.len() {
            program.pc(self.index as usize)
        } else {
            program.code_len()
        }
    }

    /// The current heap top (`sbrk` grows it).
    pub fn heap_top(&self) -> u32 {
        self.heap_top
    }

    /// Runs until an exit. After [`ExitReason::HostCall`] the caller handles
    /// the call (reading and writing registers and memory) and runs again;
    /// execution continues after the `ecalli`.
    pub fn run(&mut self) -> ExitReason {
        let code = Arc::clone(&self.code);
        let ops = &code.ops[..];
        let start = self.next;
        if start == INVALID {
            return ExitReason::Panic;
        }
        // A block is charged where it is entered: here when the run starts
        // at a block entry, then at every jump (a branch taken or not),
        // never on the path from one instruction to the next in a block.
        let block_gas = code.program.block_gas_table();
        if self.charge_next {
            let cost = i64::from(block_gas[start as usize]);
            if self.gas < cost {
                return self.out_of_gas(self.gas, start);
            }
            self.gas -= cost;
        }
        let mut exec = Exec {
            gas: self.gas,
            vm: self,
            jump_table: &code.jump_table,
            block_gas,
            stopped: (start, ExitReason::Panic),
        };
        let mut index = start;
        // Two call sites, taken in turn: each indirect call is predicted
        // from its own history, which the CPU learns better than one site
        // for every instruction (4-6% less wall time on the four compute
        // guests; four sites measured no better than two).
        while let Some(op) = ops.get(index as usize) {
            index = (op.handler)(&mut exec, op, index);
            let Some(op) = ops.get(index as usize) else {
                break;
            };
            index = (op.handler)(&mut exec, op, index);
        }
        let (at, reason) = exec.stopped;
        let gas = exec.gas;
        match reason {
            ExitReason::OutOfGas => self.out_of_gas(gas, at),
            reason => {
                self.gas = gas;
                self.exit_at(at, reason)
            }
        }
    }

    /// The block at `index` cannot be paid for with `gas`: the run ends
    /// there with the gas untouched, and a later run retries the entry.
    #[cold]
    fn out_of_gas(&mut self, gas: i64, index: u32) -> ExitReason {
        self.gas = gas;
        self.index = index;
        self.next = index;
        self.charge_next = true;
        ExitReason::OutOfGas
    }

    #[cold]
    fn exit_at(&mut self, index: u32, reason: ExitReason) -> ExitReason {
        self.index = index;
        match reason {
            ExitReason::HostCall(_) => {
                self.next = index + 1;
                self.charge_next = false;
            }
            _ => {
                self.next = INVALID;
                self.charge_next = false;
            }
        }
        reason
    }

    fn sbrk(&mut self, size: u64) -> u64 {
        if size == 0 {
            return u64::from(self.heap_top);
        }
        let Ok(size) = u32::try_from(size) else {
            return 0;
        };
        let Some(new_top) = self.heap_top.checked_add(size) else {
            return 0;
        };
        if new_top > self.heap_limit {
            return 0;
        }
        let mapped_end = self
            .memory
            .region_end(self.heap_top.saturating_sub(1))
            .unwrap_or(u64::from(self.heap_top));
        if u64::from(new_top) > mapped_end {
            self.memory
                .map(mapped_end as u32, u64::from(new_top) - mapped_end, true);
        }
        self.heap_top = new_top;
        u64::from(new_top)
    }
}

impl GuestAccess for Interpreter {
    fn reg(&self, reg: Reg) -> u64 {
        self.regs[reg.slot()]
    }

    fn set_reg(&mut self, reg: Reg, value: u64) {
        self.regs[reg.slot()] = value;
    }

    fn gas(&self) -> i64 {
        self.gas
    }

    fn set_gas(&mut self, gas: i64) {
        self.gas = gas;
    }

    fn read(&self, address: u32, buf: &mut [u8]) -> Result<(), AccessFault> {
        if buf.is_empty() {
            return Ok(());
        }
        self.memory.read_slow(address, buf)
    }

    fn write(&mut self, address: u32, bytes: &[u8]) -> Result<(), AccessFault> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.memory.write(address, bytes)
    }

    fn check_readable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        self.memory.check_readable(address, len)
    }

    fn check_writable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        self.memory.check_writable(address, len)
    }

    fn regs(&self) -> [u64; 13] {
        let mut out = [0; 13];
        out.copy_from_slice(&self.regs[..13]);
        out
    }
}

/// What to do after an instruction.
///
/// `repr(u8)` gives the enum its own tag instead of a niche in
/// [`ExitReason`]'s: each handler's [`Exec::follow`] then branches on a plain
/// byte, which LLVM folds where the variant is known. With the niche it kept
/// a jump table over constants in every load and store handler (callgrind:
/// 11% of keccak's host instructions).
#[repr(u8)]
enum Control {
    /// Run the next instruction of the same block.
    Next,
    /// Enter the block at this index (charging it), or panic if [`INVALID`].
    Jump(u32),
    /// Enter the block at the next index (charging it): a branch not taken,
    /// `fallthrough`.
    Fall,
    /// Stop.
    Exit(ExitReason),
}

/// The interpreter while it runs.
struct Exec<'a> {
    vm: &'a mut Interpreter,
    /// The jump table, as instruction indices.
    jump_table: &'a [u32],
    /// Gas charged on entering a block, by instruction index.
    block_gas: &'a [u32],
    /// Gas left; written back to the interpreter when the run ends.
    gas: i64,
    /// Where and why the run ended, once a handler returns [`STOPPED`].
    stopped: (u32, ExitReason),
}

#[inline(always)]
fn sext32(x: u64) -> u64 {
    x as u32 as i32 as i64 as u64
}

#[inline(always)]
fn imm64(x: u32) -> u64 {
    x as i32 as i64 as u64
}

impl Exec<'_> {
    #[inline(always)]
    fn get(&self, r: Reg) -> u64 {
        self.vm.regs[r.slot()]
    }

    #[inline(always)]
    fn set(&mut self, r: Reg, value: u64) -> Control {
        self.vm.regs[r.slot()] = value;
        Control::Next
    }

    /// The index to run after the instruction at `index` did `control`.
    #[inline(always)]
    fn follow(&mut self, control: Control, index: u32) -> u32 {
        match control {
            Control::Next => index + 1,
            Control::Fall => self.enter(index, index + 1),
            Control::Jump(target) => self.enter(index, target),
            Control::Exit(reason) => self.stop(index, reason),
        }
    }

    /// A jump from `index` to the block at `target`: charges it, or ends the
    /// run out of gas there (gas untouched), or panics at `index` if
    /// `target` is no jump target.
    #[inline(always)]
    fn enter(&mut self, index: u32, target: u32) -> u32 {
        let Some(&cost) = self.block_gas.get(target as usize) else {
            return self.stop(index, ExitReason::Panic);
        };
        let cost = i64::from(cost);
        if self.gas < cost {
            return self.stop(target, ExitReason::OutOfGas);
        }
        self.gas -= cost;
        target
    }

    /// Ends the run at `index` with `reason`.
    #[cold]
    fn stop(&mut self, index: u32, reason: ExitReason) -> u32 {
        self.stopped = (index, reason);
        STOPPED
    }

    #[inline(always)]
    fn branch(&self, taken: bool, target: u32) -> Control {
        if taken {
            Control::Jump(target)
        } else {
            Control::Fall
        }
    }

    /// A dynamic jump (GP eq. A.18).
    #[inline(always)]
    fn djump(&self, address: u32) -> Control {
        if address == HALT_ADDRESS {
            return Control::Exit(ExitReason::Halt);
        }
        let table = self.jump_table;
        if address == 0 || !address.is_multiple_of(2) || (address / 2) as usize > table.len() {
            return Control::Exit(ExitReason::Panic);
        }
        Control::Jump(table[(address / 2 - 1) as usize])
    }

    /// Loads `N` bytes at `address` into `d`, sign- or zero-extended (GP
    /// A.5): the last two regions checked inline, else [`Exec::load_scan`].
    #[inline(always)]
    fn load<const N: usize>(&mut self, d: Reg, address: u64, signed: bool) -> Control {
        match self.vm.memory.read_last::<N>(address as u32) {
            Some(bytes) => self.set(d, widen(bytes, signed)),
            None => self.load_scan::<N>(d, address, signed),
        }
    }

    /// [`Exec::load`] past the last two regions: out of line and cold, so
    /// the inline path stays short.
    #[cold]
    #[inline(never)]
    fn load_scan<const N: usize>(&mut self, d: Reg, address: u64, signed: bool) -> Control {
        match self.vm.memory.read_scan::<N>(address as u32) {
            Ok(bytes) => self.set(d, widen(bytes, signed)),
            Err(fault) => fault_exit(fault),
        }
    }

    /// Stores the low `N` bytes of `value` at `address` (GP A.5): the last
    /// two regions checked inline, else [`Exec::store_scan`].
    #[inline(always)]
    fn store<const N: usize>(&mut self, address: u64, value: u64) -> Control {
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(&value.to_le_bytes()[..N]);
        if self.vm.memory.write_last::<N>(address as u32, bytes) {
            return Control::Next;
        }
        self.store_scan::<N>(address, bytes)
    }

    /// [`Exec::store`] past the last two regions, out of line and cold.
    #[cold]
    #[inline(never)]
    fn store_scan<const N: usize>(&mut self, address: u64, bytes: [u8; N]) -> Control {
        match self.vm.memory.write(address as u32, &bytes) {
            Ok(()) => Control::Next,
            Err(fault) => fault_exit(fault),
        }
    }
}

/// `N` little-endian bytes as a register value, sign- or zero-extended.
#[inline(always)]
fn widen<const N: usize>(bytes: [u8; N], signed: bool) -> u64 {
    let mut wide = [0u8; 8];
    wide[..N].copy_from_slice(&bytes);
    let value = u64::from_le_bytes(wide);
    if signed && N < 8 {
        let shift = 64 - 8 * N as u32;
        (((value << shift) as i64) >> shift) as u64
    } else {
        value
    }
}

#[cold]
fn fault_exit(fault: AccessFault) -> Control {
    Control::Exit(match fault {
        AccessFault::Panic => ExitReason::Panic,
        AccessFault::Page(address) => ExitReason::PageFault(address),
    })
}

fn div_s_64(a: i64, b: i64) -> u64 {
    if b == 0 {
        u64::MAX
    } else if a == i64::MIN && b == -1 {
        a as u64
    } else {
        (a / b) as u64
    }
}

fn rem_s_64(a: i64, b: i64) -> u64 {
    if b == 0 {
        a as u64
    } else if a == i64::MIN && b == -1 {
        0
    } else {
        (a % b) as u64
    }
}

fn div_s_32(a: i32, b: i32) -> u64 {
    if b == 0 {
        u64::MAX
    } else if a == i32::MIN && b == -1 {
        a as i64 as u64
    } else {
        (a / b) as i64 as u64
    }
}

fn rem_s_32(a: i32, b: i32) -> u64 {
    if b == 0 {
        a as i64 as u64
    } else if a == i32::MIN && b == -1 {
        0
    } else {
        (a % b) as i64 as u64
    }
}

/// Three-register ALU instructions: `$name(d, a, b) => expr of (a, b)`.
macro_rules! alu3 {
    ($($name:ident($a:ident, $b:ident) => $e:expr;)*) => {$(
        #[inline(always)]
        fn $name(&mut self, d: Reg, a: Reg, b: Reg) -> Control {
            let ($a, $b) = (self.get(a), self.get(b));
            self.set(d, $e)
        }
    )*};
}

/// Register-immediate ALU instructions: `$name(a, b, imm) => expr of (b, x)`
/// writing register A (GP A.5.10).
macro_rules! alu_imm {
    ($($name:ident($b:ident, $x:ident) => $e:expr;)*) => {$(
        #[inline(always)]
        fn $name(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
            let ($b, $x) = (self.get(b), imm64(imm));
            self.set(a, $e)
        }
    )*};
}

/// Two-register instructions: `$name(d, a) => expr of a`.
macro_rules! alu2 {
    ($($name:ident($a:ident) => $e:expr;)*) => {$(
        #[inline(always)]
        fn $name(&mut self, d: Reg, a: Reg) -> Control {
            let $a = self.get(a);
            self.set(d, $e)
        }
    )*};
}

/// Branches comparing register A with an immediate.
macro_rules! branch_imm {
    ($($name:ident($a:ident, $x:ident) => $e:expr;)*) => {$(
        #[inline(always)]
        fn $name(&mut self, a: Reg, imm: u32, target: u32) -> Control {
            let ($a, $x) = (self.get(a), imm64(imm));
            self.branch($e, target)
        }
    )*};
}

/// Branches comparing registers A and B.
macro_rules! branch_reg {
    ($($name:ident($a:ident, $b:ident) => $e:expr;)*) => {$(
        #[inline(always)]
        fn $name(&mut self, a: Reg, b: Reg, target: u32) -> Control {
            let ($a, $b) = (self.get(a), self.get(b));
            self.branch($e, target)
        }
    )*};
}

/// Loads: `$name(N, signed)` at a direct (`imm`) or indirect (`ω_B + imm`) address.
macro_rules! loads {
    ($($name:ident($n:literal, $signed:literal);)*) => {$(
        #[inline(always)]
        fn $name(&mut self, a: Reg, imm: u32) -> Control {
            self.load::<$n>(a, u64::from(imm), $signed)
        }
    )*};
    (ind $($name:ident($n:literal, $signed:literal);)*) => {$(
        #[inline(always)]
        fn $name(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
            let address = self.get(b).wrapping_add(imm64(imm));
            self.load::<$n>(a, address, $signed)
        }
    )*};
}

impl InstructionVisitor for Exec<'_> {
    type Output = Control;

    fn trap(&mut self) -> Control {
        Control::Exit(ExitReason::Panic)
    }
    fn invalid(&mut self) -> Control {
        Control::Exit(ExitReason::Panic)
    }
    fn fallthrough(&mut self) -> Control {
        Control::Fall
    }
    fn ecalli(&mut self, imm: u32) -> Control {
        Control::Exit(ExitReason::HostCall(imm))
    }
    fn load_imm_64(&mut self, a: Reg, imm: u64) -> Control {
        self.set(a, imm)
    }

    #[inline(always)]
    fn store_imm_u8(&mut self, x: u32, y: u32) -> Control {
        self.store::<1>(u64::from(x), imm64(y))
    }
    #[inline(always)]
    fn store_imm_u16(&mut self, x: u32, y: u32) -> Control {
        self.store::<2>(u64::from(x), imm64(y))
    }
    #[inline(always)]
    fn store_imm_u32(&mut self, x: u32, y: u32) -> Control {
        self.store::<4>(u64::from(x), imm64(y))
    }
    #[inline(always)]
    fn store_imm_u64(&mut self, x: u32, y: u32) -> Control {
        self.store::<8>(u64::from(x), imm64(y))
    }

    fn jump(&mut self, target: u32) -> Control {
        Control::Jump(target)
    }
    fn jump_ind(&mut self, a: Reg, imm: u32) -> Control {
        self.djump(self.get(a).wrapping_add(imm64(imm)) as u32)
    }
    fn load_imm(&mut self, a: Reg, imm: u32) -> Control {
        self.set(a, imm64(imm))
    }
    loads! {
        load_u8(1, false);
        load_i8(1, true);
        load_u16(2, false);
        load_i16(2, true);
        load_u32(4, false);
        load_i32(4, true);
        load_u64(8, false);
    }
    #[inline(always)]
    fn store_u8(&mut self, a: Reg, imm: u32) -> Control {
        self.store::<1>(u64::from(imm), self.get(a))
    }
    #[inline(always)]
    fn store_u16(&mut self, a: Reg, imm: u32) -> Control {
        self.store::<2>(u64::from(imm), self.get(a))
    }
    #[inline(always)]
    fn store_u32(&mut self, a: Reg, imm: u32) -> Control {
        self.store::<4>(u64::from(imm), self.get(a))
    }
    #[inline(always)]
    fn store_u64(&mut self, a: Reg, imm: u32) -> Control {
        self.store::<8>(u64::from(imm), self.get(a))
    }

    #[inline(always)]
    fn store_imm_ind_u8(&mut self, a: Reg, x: u32, y: u32) -> Control {
        self.store::<1>(self.get(a).wrapping_add(imm64(x)), imm64(y))
    }
    #[inline(always)]
    fn store_imm_ind_u16(&mut self, a: Reg, x: u32, y: u32) -> Control {
        self.store::<2>(self.get(a).wrapping_add(imm64(x)), imm64(y))
    }
    #[inline(always)]
    fn store_imm_ind_u32(&mut self, a: Reg, x: u32, y: u32) -> Control {
        self.store::<4>(self.get(a).wrapping_add(imm64(x)), imm64(y))
    }
    #[inline(always)]
    fn store_imm_ind_u64(&mut self, a: Reg, x: u32, y: u32) -> Control {
        self.store::<8>(self.get(a).wrapping_add(imm64(x)), imm64(y))
    }

    fn load_imm_jump(&mut self, a: Reg, imm: u32, target: u32) -> Control {
        self.set(a, imm64(imm));
        Control::Jump(target)
    }
    branch_imm! {
        branch_eq_imm(a, x) => a == x;
        branch_ne_imm(a, x) => a != x;
        branch_lt_u_imm(a, x) => a < x;
        branch_le_u_imm(a, x) => a <= x;
        branch_ge_u_imm(a, x) => a >= x;
        branch_gt_u_imm(a, x) => a > x;
        branch_lt_s_imm(a, x) => (a as i64) < (x as i64);
        branch_le_s_imm(a, x) => (a as i64) <= (x as i64);
        branch_ge_s_imm(a, x) => (a as i64) >= (x as i64);
        branch_gt_s_imm(a, x) => (a as i64) > (x as i64);
    }

    fn move_reg(&mut self, d: Reg, a: Reg) -> Control {
        let value = self.get(a);
        self.set(d, value)
    }
    fn sbrk(&mut self, d: Reg, a: Reg) -> Control {
        let size = self.get(a);
        let result = self.vm.sbrk(size);
        self.set(d, result)
    }
    alu2! {
        count_set_bits_64(a) => u64::from(a.count_ones());
        count_set_bits_32(a) => u64::from((a as u32).count_ones());
        leading_zero_bits_64(a) => u64::from(a.leading_zeros());
        leading_zero_bits_32(a) => u64::from((a as u32).leading_zeros());
        trailing_zero_bits_64(a) => u64::from(a.trailing_zeros());
        trailing_zero_bits_32(a) => u64::from((a as u32).trailing_zeros());
        sign_extend_8(a) => a as u8 as i8 as i64 as u64;
        sign_extend_16(a) => a as u16 as i16 as i64 as u64;
        zero_extend_16(a) => u64::from(a as u16);
        reverse_bytes(a) => a.swap_bytes();
    }

    #[inline(always)]
    fn store_ind_u8(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
        self.store::<1>(self.get(b).wrapping_add(imm64(imm)), self.get(a))
    }
    #[inline(always)]
    fn store_ind_u16(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
        self.store::<2>(self.get(b).wrapping_add(imm64(imm)), self.get(a))
    }
    #[inline(always)]
    fn store_ind_u32(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
        self.store::<4>(self.get(b).wrapping_add(imm64(imm)), self.get(a))
    }
    #[inline(always)]
    fn store_ind_u64(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
        self.store::<8>(self.get(b).wrapping_add(imm64(imm)), self.get(a))
    }
    loads! { ind
        load_ind_u8(1, false);
        load_ind_i8(1, true);
        load_ind_u16(2, false);
        load_ind_i16(2, true);
        load_ind_u32(4, false);
        load_ind_i32(4, true);
        load_ind_u64(8, false);
    }
    alu_imm! {
        add_imm_32(b, x) => sext32(b.wrapping_add(x));
        and_imm(b, x) => b & x;
        xor_imm(b, x) => b ^ x;
        or_imm(b, x) => b | x;
        mul_imm_32(b, x) => sext32(b.wrapping_mul(x));
        set_lt_u_imm(b, x) => u64::from(b < x);
        set_lt_s_imm(b, x) => u64::from((b as i64) < (x as i64));
        shlo_l_imm_32(b, x) => sext32(u64::from((b as u32).wrapping_shl(x as u32)));
        shlo_r_imm_32(b, x) => sext32(u64::from((b as u32).wrapping_shr(x as u32)));
        shar_r_imm_32(b, x) => ((b as i32).wrapping_shr(x as u32)) as i64 as u64;
        neg_add_imm_32(b, x) => sext32(x.wrapping_sub(b));
        set_gt_u_imm(b, x) => u64::from(b > x);
        set_gt_s_imm(b, x) => u64::from((b as i64) > (x as i64));
        shlo_l_imm_alt_32(b, x) => sext32(u64::from((x as u32).wrapping_shl(b as u32)));
        shlo_r_imm_alt_32(b, x) => sext32(u64::from((x as u32).wrapping_shr(b as u32)));
        shar_r_imm_alt_32(b, x) => ((x as i32).wrapping_shr(b as u32)) as i64 as u64;
        add_imm_64(b, x) => b.wrapping_add(x);
        mul_imm_64(b, x) => b.wrapping_mul(x);
        shlo_l_imm_64(b, x) => b.wrapping_shl(x as u32);
        shlo_r_imm_64(b, x) => b.wrapping_shr(x as u32);
        shar_r_imm_64(b, x) => (b as i64).wrapping_shr(x as u32) as u64;
        neg_add_imm_64(b, x) => x.wrapping_sub(b);
        shlo_l_imm_alt_64(b, x) => x.wrapping_shl(b as u32);
        shlo_r_imm_alt_64(b, x) => x.wrapping_shr(b as u32);
        shar_r_imm_alt_64(b, x) => (x as i64).wrapping_shr(b as u32) as u64;
        rot_r_64_imm(b, x) => b.rotate_right(x as u32 % 64);
        rot_r_64_imm_alt(b, x) => x.rotate_right(b as u32 % 64);
        rot_r_32_imm(b, x) => sext32(u64::from((b as u32).rotate_right(x as u32 % 32)));
        rot_r_32_imm_alt(b, x) => sext32(u64::from((x as u32).rotate_right(b as u32 % 32)));
    }
    fn cmov_iz_imm(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
        if self.get(b) == 0 {
            self.set(a, imm64(imm));
        }
        Control::Next
    }
    fn cmov_nz_imm(&mut self, a: Reg, b: Reg, imm: u32) -> Control {
        if self.get(b) != 0 {
            self.set(a, imm64(imm));
        }
        Control::Next
    }

    branch_reg! {
        branch_eq(a, b) => a == b;
        branch_ne(a, b) => a != b;
        branch_lt_u(a, b) => a < b;
        branch_lt_s(a, b) => (a as i64) < (b as i64);
        branch_ge_u(a, b) => a >= b;
        branch_ge_s(a, b) => (a as i64) >= (b as i64);
    }

    fn load_imm_jump_ind(&mut self, a: Reg, b: Reg, x: u32, y: u32) -> Control {
        // The target uses ω_B before ω_A is written (they may be the same register).
        let address = self.get(b).wrapping_add(imm64(y)) as u32;
        self.set(a, imm64(x));
        self.djump(address)
    }

    alu3! {
        add_32(a, b) => sext32(a.wrapping_add(b));
        sub_32(a, b) => sext32(a.wrapping_sub(b));
        mul_32(a, b) => sext32(a.wrapping_mul(b));
        div_u_32(a, b) => match (a as u32).checked_div(b as u32) {
            Some(q) => sext32(u64::from(q)),
            None => u64::MAX,
        };
        div_s_32(a, b) => div_s_32(a as i32, b as i32);
        rem_u_32(a, b) => match (a as u32).checked_rem(b as u32) {
            Some(r) => sext32(u64::from(r)),
            None => sext32(a),
        };
        rem_s_32(a, b) => rem_s_32(a as i32, b as i32);
        shlo_l_32(a, b) => sext32(u64::from((a as u32).wrapping_shl(b as u32)));
        shlo_r_32(a, b) => sext32(u64::from((a as u32).wrapping_shr(b as u32)));
        shar_r_32(a, b) => (a as i32).wrapping_shr(b as u32) as i64 as u64;
        add_64(a, b) => a.wrapping_add(b);
        sub_64(a, b) => a.wrapping_sub(b);
        mul_64(a, b) => a.wrapping_mul(b);
        div_u_64(a, b) => a.checked_div(b).unwrap_or(u64::MAX);
        div_s_64(a, b) => div_s_64(a as i64, b as i64);
        rem_u_64(a, b) => a.checked_rem(b).unwrap_or(a);
        rem_s_64(a, b) => rem_s_64(a as i64, b as i64);
        shlo_l_64(a, b) => a.wrapping_shl(b as u32);
        shlo_r_64(a, b) => a.wrapping_shr(b as u32);
        shar_r_64(a, b) => (a as i64).wrapping_shr(b as u32) as u64;
        and(a, b) => a & b;
        xor(a, b) => a ^ b;
        or(a, b) => a | b;
        mul_upper_s_s(a, b) => ((i128::from(a as i64) * i128::from(b as i64)) >> 64) as u64;
        mul_upper_u_u(a, b) => ((u128::from(a) * u128::from(b)) >> 64) as u64;
        mul_upper_s_u(a, b) => ((i128::from(a as i64) * i128::from(b)) >> 64) as u64;
        set_lt_u(a, b) => u64::from(a < b);
        set_lt_s(a, b) => u64::from((a as i64) < (b as i64));
        rot_l_64(a, b) => a.rotate_left(b as u32 % 64);
        rot_l_32(a, b) => sext32(u64::from((a as u32).rotate_left(b as u32 % 32)));
        rot_r_64(a, b) => a.rotate_right(b as u32 % 64);
        rot_r_32(a, b) => sext32(u64::from((a as u32).rotate_right(b as u32 % 32)));
        and_inv(a, b) => a & !b;
        or_inv(a, b) => a | !b;
        xnor(a, b) => !(a ^ b);
        max(a, b) => (a as i64).max(b as i64) as u64;
        max_u(a, b) => a.max(b);
        min(a, b) => (a as i64).min(b as i64) as u64;
        min_u(a, b) => a.min(b);
    }
    fn cmov_iz(&mut self, d: Reg, a: Reg, b: Reg) -> Control {
        if self.get(b) == 0 {
            let value = self.get(a);
            self.set(d, value);
        }
        Control::Next
    }
    fn cmov_nz(&mut self, d: Reg, a: Reg, b: Reg) -> Control {
        if self.get(b) != 0 {
            let value = self.get(a);
            self.set(d, value);
        }
        Control::Next
    }
}
