//! [`CompiledInstance`]: one run of a [`CompiledModule`].

use std::sync::Arc;

use braid_pvm_program::blob::{HALT_ADDRESS, INPUT_SIZE, MAX_HEAP_GROWTH, PAGE_SIZE, ZONE_SIZE};
use braid_pvm_program::isa::{Instruction, Reg};
use braid_pvm_program::{AccessFault, ExitReason, PvmError, Result};

use crate::CompiledModule;
use crate::layout::{self, CTX_SIZE, ExitKind, GUARD_SIZE, GUEST_SIZE, VmCtx};
use crate::sys::{Access, Mapping, Running};

/// A range of guest pages with one access (GP 0.7.2 §4.8.1).
#[derive(Clone, Copy, Debug)]
struct Region {
    start: u32,
    /// Exclusive end, as u64 so a region may end at 2^32.
    end: u64,
    writable: bool,
}

/// One run of a [`CompiledModule`] (the wasmtime `Instance` of this
/// backend): registers, gas and memory in its own reservation, and where
/// the next run starts. Dropping it unmaps its memory.
#[derive(Debug)]
pub struct CompiledInstance {
    module: Arc<CompiledModule>,
    /// `[jump table | context page | guest memory | guard]`
    /// ([`crate::layout`]).
    memory: Mapping,
    /// Offset of guest address 0 in `memory`.
    base: usize,
    /// Accessible guest pages, sorted by start, adjacent regions of the
    /// same access merged.
    regions: Vec<Region>,
    /// Code offset the next run enters at, or `None`: the next run panics.
    next: Option<u32>,
    /// The pc of the last exit (or of `set_pc`).
    pc: u32,
    heap_top: u32,
    heap_limit: u32,
}

impl CompiledInstance {
    /// An instance of `module` with no accessible memory, every register
    /// 0, no gas, at pc 0.
    ///
    /// # Errors
    /// [`PvmError::MemoryRefused`] if the 4 GiB reservation cannot be made.
    pub fn new(module: &Arc<CompiledModule>) -> Result<CompiledInstance> {
        let table = layout::jump_table_area(module.jump_table.len());
        let base = table + CTX_SIZE;
        let total = base + GUEST_SIZE + GUARD_SIZE;
        let refused = |what: &'static str, bytes: usize| {
            move |e: std::io::Error| PvmError::MemoryRefused {
                what,
                bytes,
                errno: e.raw_os_error().unwrap_or(0),
            }
        };
        let memory = Mapping::reserve(total).map_err(refused("a guest address space", total))?;
        memory
            .protect(0, base, Access::ReadWrite)
            .map_err(refused("a jump table and context page", base))?;
        let code = module.code.as_ptr() as u64;
        // SAFETY: `[0, table)` is read-write, page-aligned and owned here;
        // entry `k` is at byte `8k < 8 * len <= table`.
        #[allow(unsafe_code, reason = "fills the jump table")]
        unsafe {
            let entries = memory.as_ptr().cast::<u64>();
            for (k, &offset) in module.jump_table.iter().enumerate() {
                let address = if offset == layout::NO_ENTRY {
                    0
                } else {
                    code + u64::from(offset)
                };
                entries.add(k).write(address);
            }
        }
        memory
            .protect(0, table, Access::Read)
            .map_err(refused("a jump table", table))?;
        let mut instance = CompiledInstance {
            module: Arc::clone(module),
            memory,
            base,
            regions: Vec::new(),
            next: None,
            pc: 0,
            heap_top: 0,
            heap_limit: 0,
        };
        let ctx = instance.ctx_mut();
        ctx.fault.code_start = code;
        ctx.fault.code_end = code + module.code_len as u64;
        ctx.fault.fault_exit = code + u64::from(module.fault_exit);
        instance.set_pc(0);
        Ok(instance)
    }

    /// An instance of a standard program set up per GP 0.7.2 eq.
    /// A.42-A.43, as the interpreter sets it up: regions mapped and filled,
    /// `r0` the halt address, `r1` the stack top, `r7`/`r8` the input.
    ///
    /// # Errors
    /// [`PvmError::InputTooLarge`] past the 16 MiB argument region; as
    /// [`CompiledInstance::new`].
    ///
    /// # Panics
    /// If the module was not compiled from a standard program.
    pub fn standard(
        module: &Arc<CompiledModule>,
        input: &[u8],
        gas: i64,
    ) -> Result<CompiledInstance> {
        let data = module
            .program
            .standard()
            .expect("a standard instance needs a module compiled from a standard program");
        if input.len() > INPUT_SIZE as usize {
            return Err(PvmError::InputTooLarge {
                len: input.len(),
                limit: INPUT_SIZE,
            });
        }
        let l = data.layout;
        let mut vm = CompiledInstance::new(module)?;
        vm.map(l.ro_start, u64::from(l.ro_len), false);
        vm.init(l.ro_start, &data.ro_data);
        vm.map(l.rw_start, u64::from(l.rw_len), true);
        vm.init(l.rw_start, &data.rw_data);
        vm.map(l.stack_start, u64::from(l.stack_len), true);
        vm.map(l.input_start, input.len() as u64, false);
        vm.init(l.input_start, input);
        vm.heap_top = l.rw_start + l.rw_len;
        vm.heap_limit = l
            .heap_limit
            .min(vm.heap_top.saturating_add(MAX_HEAP_GROWTH));
        let ctx = vm.ctx_mut();
        ctx.regs[0] = u64::from(HALT_ADDRESS);
        ctx.regs[1] = u64::from(l.stack_start + l.stack_len);
        ctx.regs[7] = u64::from(l.input_start);
        ctx.regs[8] = input.len() as u64;
        ctx.gas = gas;
        Ok(vm)
    }

    /// The module this instance runs.
    pub fn module(&self) -> &Arc<CompiledModule> {
        &self.module
    }

    fn ctx(&self) -> &VmCtx {
        // SAFETY: the context page is `[base - CTX_SIZE, base)` of the
        // mapping, read-write since `new`, page-aligned (so aligned for
        // VmCtx), holding plain integers (any bit pattern is a valid
        // VmCtx). Generated code writes it only during `enter`, which
        // takes `&mut self`, so no reference outlives into a run.
        #[allow(unsafe_code, reason = "the context page as a struct")]
        unsafe {
            &*self
                .memory
                .as_ptr()
                .add(self.base - CTX_SIZE)
                .cast::<VmCtx>()
        }
    }

    fn ctx_mut(&mut self) -> &mut VmCtx {
        // SAFETY: as in `ctx`, and `&mut self` makes this the only reference.
        #[allow(unsafe_code, reason = "the context page as a struct")]
        unsafe {
            &mut *self
                .memory
                .as_ptr()
                .add(self.base - CTX_SIZE)
                .cast::<VmCtx>()
        }
    }

    /// Register `reg`.
    pub fn reg(&self, reg: Reg) -> u64 {
        self.ctx().regs[reg.index()]
    }

    /// Sets register `reg`.
    pub fn set_reg(&mut self, reg: Reg, value: u64) {
        self.ctx_mut().regs[reg.index()] = value;
    }

    /// The 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        self.ctx().regs
    }

    /// Gas left, PVM gas.
    pub fn gas(&self) -> i64 {
        self.ctx().gas
    }

    /// Sets the gas left.
    pub fn set_gas(&mut self, gas: i64) {
        self.ctx_mut().gas = gas;
    }

    /// The pc of the instruction that caused the last exit (see
    /// `braid_pvm::Instance::pc`).
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// The current heap top, bytes.
    pub fn heap_top(&self) -> u32 {
        self.heap_top
    }

    /// Sets where the next run starts, as a block entry; a pc that is not
    /// a block start makes the run panic (as the interpreter does, its pc
    /// then reads as the code length).
    pub fn set_pc(&mut self, pc: u32) {
        let program = &self.module.program;
        let entry = program
            .index_of(pc)
            .filter(|&i| program.block_gas(i) > 0)
            .and_then(|i| self.module.entry(i));
        self.next = entry;
        self.pc = if entry.is_some() {
            pc
        } else {
            program.code_len()
        };
    }

    /// Runs until an exit. After [`ExitReason::HostCall`] the caller handles
    /// the call and runs again; execution continues after the `ecalli`.
    ///
    /// # Panics
    /// On a broken invariant of the recompiler: a hardware fault outside a
    /// guest memory access, or one the page map says cannot happen.
    pub fn run(&mut self) -> ExitReason {
        loop {
            let Some(entry) = self.next else {
                return ExitReason::Panic;
            };
            self.enter(entry);
            let ctx = self.ctx();
            let (kind, pc) = (ctx.exit as u32, (ctx.exit >> 32) as u32);
            let (resume, arg) = (ctx.resume as u32, (ctx.resume >> 32) as u32);
            let kind = ExitKind::from_u32(kind).expect("the generated code set an exit kind");
            self.next = None;
            if kind != ExitKind::Fault {
                self.pc = pc;
            }
            return match kind {
                ExitKind::Halt => ExitReason::Halt,
                ExitKind::Panic => ExitReason::Panic,
                ExitKind::OutOfGas => {
                    // The exit names the instruction whose block could not
                    // be paid for (`codegen::Codegen::charge`): give its
                    // cost back, stop at its pc, resume at its charged entry.
                    let index = pc as usize;
                    let program = &self.module.program;
                    let (pc, cost) = (program.pc(index), program.block_gas(index));
                    let entry = self
                        .module
                        .entry(index)
                        .expect("an out-of-gas exit names a charged block entry");
                    self.pc = pc;
                    self.ctx_mut().gas += i64::from(cost);
                    self.next = Some(entry);
                    ExitReason::OutOfGas
                }
                ExitKind::HostCall => {
                    self.next = Some(resume);
                    ExitReason::HostCall(arg)
                }
                ExitKind::Sbrk => {
                    let (d, a) = (arg as u8, (arg >> 8) as u8);
                    let size = self.ctx().regs[usize::from(a)];
                    let top = self.sbrk(size);
                    self.ctx_mut().regs[usize::from(d)] = top;
                    self.next = Some(resume);
                    continue;
                }
                ExitKind::Fault => self.fault_exit(),
            };
        }
    }

    /// Enters the generated code at `offset` until it exits.
    fn enter(&mut self, offset: u32) {
        let code = self.module.code.as_ptr();
        // SAFETY: `base` is inside the reservation (offset `base <
        // memory.len()`).
        #[allow(unsafe_code, reason = "pointer arithmetic inside the reservation")]
        let base = unsafe { self.memory.as_ptr().add(self.base) };
        let target = &mut self.ctx_mut().fault as *mut _;
        let _running = Running::enter(target);
        // SAFETY: offset 0 of the module's code is its entry sequence, an
        // `extern "sysv64" fn(base, target)` that saves the callee-saved
        // registers and the stack pointer, loads the guest registers from
        // the context page at `base - CTX_SIZE`, jumps to `target`, and
        // returns only through the exit sequence, which stores them back and
        // restores the host's registers. `target` is a block entry or resume
        // point of this module (`next` only ever holds offsets the compiler
        // produced). While it runs, the code touches only this instance's
        // reservation (see `codegen`'s MEMORY SAFETY notes) and the host
        // stack below the saved pointer; a fault there is redirected by the
        // signal handler to the fault exit, which returns the same way.
        // `&mut self` keeps every Rust reference to the reservation out of
        // the call.
        #[allow(unsafe_code, reason = "runs the generated code")]
        unsafe {
            let enter: unsafe extern "sysv64" fn(*mut u8, *const u8) = std::mem::transmute(code);
            enter(base, code.add(offset as usize));
        }
    }

    /// The exit for a hardware fault: the access at the faulting
    /// instruction, recomputed from the registers (unchanged: x86 faults
    /// are precise), and its fault per the page map, as the interpreter
    /// computes it.
    fn fault_exit(&mut self) -> ExitReason {
        let ctx = self.ctx();
        let (offset, fault_address, regs) = (
            ctx.fault.fault_rip - ctx.fault.code_start,
            ctx.fault.fault_address,
            ctx.regs,
        );
        let index = u32::try_from(offset)
            .ok()
            .and_then(|o| self.module.fault_site(o))
            .unwrap_or_else(|| {
                panic!(
                    "PVM recompiler: a fault at code offset {offset:#x} (address {fault_address:#x}) is not a guest memory access"
                )
            });
        let program = &self.module.program;
        self.pc = program.pc(index);
        let (address, len, write) =
            access(program.instruction(index), &regs).expect("a fault site is a load or a store");
        match self.fault(address, len, write) {
            Some(fault) => fault.into(),
            None => panic!(
                "PVM recompiler: pc {}: a fault on a {len}-byte {} at {address:#x}, which the page map allows",
                self.pc,
                if write { "write" } else { "read" }
            ),
        }
    }

    /// GP 0.7.2 `sbrk`, exactly as the interpreter does it: 0 returns the
    /// heap top; a request past the heap limit returns 0; otherwise the
    /// pages up to the new top are mapped read-write.
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
            .region_end(self.heap_top.saturating_sub(1))
            .unwrap_or(u64::from(self.heap_top));
        if u64::from(new_top) > mapped_end {
            self.map(mapped_end as u32, u64::from(new_top) - mapped_end, true);
        }
        self.heap_top = new_top;
        u64::from(new_top)
    }

    /// Makes `[start, start + len)` accessible, zero-filled, rounded out to
    /// whole pages (as `braid_pvm::Memory::map`).
    ///
    /// # Panics
    /// If the kernel refuses the protection change (its mapping limit).
    pub fn map(&mut self, start: u32, len: u64, writable: bool) {
        if len == 0 {
            return;
        }
        let page = u64::from(PAGE_SIZE);
        let lo = u64::from(start) / page * page;
        let hi = ((u64::from(start) + len).div_ceil(page) * page).min(1 << 32);
        let access = if writable {
            Access::ReadWrite
        } else {
            Access::Read
        };
        self.memory
            .protect(self.base + lo as usize, (hi - lo) as usize, access)
            .unwrap_or_else(|e| panic!("mapping guest pages {lo:#x}..{hi:#x}: {e}"));
        for r in &mut self.regions {
            if r.writable == writable && r.end == lo {
                r.end = hi;
                return;
            }
        }
        self.regions.push(Region {
            start: lo as u32,
            end: hi,
            writable,
        });
        self.regions.sort_by_key(|r| r.start);
    }

    /// Writes `bytes` at `address` whatever the page access (program
    /// loading); bytes outside every mapped page are dropped.
    pub fn init(&mut self, address: u32, bytes: &[u8]) {
        let (from, to) = (u64::from(address), u64::from(address) + bytes.len() as u64);
        for r in self.regions.clone() {
            let lo = from.max(u64::from(r.start));
            let hi = to.min(r.end);
            if lo >= hi {
                continue;
            }
            let page = u64::from(PAGE_SIZE);
            let (plo, phi) = (lo / page * page, hi.div_ceil(page) * page);
            let pages = (self.base + plo as usize, (phi - plo) as usize);
            if !r.writable {
                self.memory
                    .protect(pages.0, pages.1, Access::ReadWrite)
                    .expect("unprotecting read-only pages to load them");
            }
            self.copy_in(
                lo as u32,
                &bytes[(lo - from) as usize..(hi - from) as usize],
            );
            if !r.writable {
                self.memory
                    .protect(pages.0, pages.1, Access::Read)
                    .expect("protecting loaded read-only pages");
            }
        }
    }

    /// Copies `bytes` to guest `address`; the caller checked the range is
    /// mapped writable (or made it so).
    fn copy_in(&mut self, address: u32, bytes: &[u8]) {
        assert!(u64::from(address) + bytes.len() as u64 <= 1 << 32);
        // SAFETY: the range is inside the guest's 4 GiB (asserted), so inside
        // the reservation, and writable (the caller's check); `bytes` is host
        // memory, which never overlaps the reservation.
        #[allow(unsafe_code, reason = "a copy into guest memory")]
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.memory.as_ptr().add(self.base + address as usize),
                bytes.len(),
            );
        }
    }

    /// Copies guest `address..` into `out`, across pages.
    ///
    /// # Errors
    /// The [`AccessFault`] of the lowest inaccessible byte.
    pub fn read(&self, address: u32, out: &mut [u8]) -> Result<(), AccessFault> {
        if out.is_empty() {
            return Ok(());
        }
        let len = u32::try_from(out.len()).map_err(|_| AccessFault::Panic)?;
        self.check_readable(address, len)?;
        // SAFETY: `check_readable` proved `[address, address + len)` lies in
        // the guest's 4 GiB and is mapped readable, so inside the
        // reservation and readable; `out` is host memory.
        #[allow(unsafe_code, reason = "a copy out of guest memory")]
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.memory.as_ptr().add(self.base + address as usize),
                out.as_mut_ptr(),
                out.len(),
            );
        }
        Ok(())
    }

    /// Writes `bytes` at `address`, across pages; nothing is written if any
    /// byte is not writable.
    ///
    /// # Errors
    /// The [`AccessFault`] of the lowest inaccessible or read-only byte.
    pub fn write(&mut self, address: u32, bytes: &[u8]) -> Result<(), AccessFault> {
        if bytes.is_empty() {
            return Ok(());
        }
        let len = u32::try_from(bytes.len()).map_err(|_| AccessFault::Panic)?;
        self.check_writable(address, len)?;
        self.copy_in(address, bytes);
        Ok(())
    }

    /// Checks that `[address, address + len)` is readable.
    ///
    /// # Errors
    /// As [`CompiledInstance::read`].
    pub fn check_readable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        match self.fault(address, len, false) {
            Some(fault) => Err(fault),
            None => Ok(()),
        }
    }

    /// Checks that `[address, address + len)` is writable.
    ///
    /// # Errors
    /// As [`CompiledInstance::write`].
    pub fn check_writable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        match self.fault(address, len, true) {
            Some(fault) => Err(fault),
            None => Ok(()),
        }
    }

    /// The end (exclusive) of the region containing `address`.
    fn region_end(&self, address: u32) -> Option<u64> {
        let a = u64::from(address);
        self.regions
            .iter()
            .find(|r| u64::from(r.start) <= a && a < r.end)
            .map(|r| r.end)
    }

    /// The fault of an access of `len` bytes at `address`, if any: the
    /// lowest inaccessible (or, writing, read-only) byte, a panic below 64
    /// KiB or past 2^32 (GP 0.7.2: addresses wrap, and address 0 is never
    /// accessible). The same walk as the interpreter's `Memory::fault`.
    fn fault(&self, address: u32, len: u32, write: bool) -> Option<AccessFault> {
        if len == 0 {
            return None;
        }
        let mut a = u64::from(address);
        let end = a + u64::from(len);
        if end > 1 << 32 {
            return Some(AccessFault::Panic);
        }
        while a < end {
            let region = self
                .regions
                .iter()
                .find(|r| u64::from(r.start) <= a && a < r.end && (r.writable || !write));
            match region {
                Some(r) => a = r.end,
                None => {
                    let a = a as u32;
                    if a < ZONE_SIZE {
                        return Some(AccessFault::Panic);
                    }
                    return Some(AccessFault::Page(a / PAGE_SIZE * PAGE_SIZE));
                }
            }
        }
        None
    }
}

impl Clone for CompiledInstance {
    /// A copy in a new reservation: registers, gas, position, heap and
    /// every mapped page.
    ///
    /// # Panics
    /// If the reservation cannot be made (as a failed allocation does).
    fn clone(&self) -> CompiledInstance {
        let mut copy = CompiledInstance::new(&self.module)
            .unwrap_or_else(|e| panic!("cloning a PVM instance: {e}"));
        for r in &self.regions {
            copy.map(r.start, r.end - u64::from(r.start), r.writable);
            let mut bytes = vec![0; (r.end - u64::from(r.start)) as usize];
            self.read(r.start, &mut bytes)
                .expect("a mapped region is readable");
            copy.init(r.start, &bytes);
        }
        let (regs, gas) = (self.regs(), self.gas());
        let ctx = copy.ctx_mut();
        ctx.regs = regs;
        ctx.gas = gas;
        copy.next = self.next;
        copy.pc = self.pc;
        copy.heap_top = self.heap_top;
        copy.heap_limit = self.heap_limit;
        copy
    }
}

/// The guest access an instruction makes with these registers: `(address,
/// length, write)`, as the interpreter computes it.
fn access(instruction: Instruction, regs: &[u64; 13]) -> Option<(u32, u32, bool)> {
    use Instruction as I;
    let r = |reg: Reg| regs[reg.index()];
    let at = |base: u64, imm: u32| base.wrapping_add(imm as i32 as i64 as u64) as u32;
    Some(match instruction {
        I::store_imm_u8 { x, .. } => (x, 1, true),
        I::store_imm_u16 { x, .. } => (x, 2, true),
        I::store_imm_u32 { x, .. } => (x, 4, true),
        I::store_imm_u64 { x, .. } => (x, 8, true),
        I::load_u8 { imm, .. } | I::load_i8 { imm, .. } => (imm, 1, false),
        I::load_u16 { imm, .. } | I::load_i16 { imm, .. } => (imm, 2, false),
        I::load_u32 { imm, .. } | I::load_i32 { imm, .. } => (imm, 4, false),
        I::load_u64 { imm, .. } => (imm, 8, false),
        I::store_u8 { imm, .. } => (imm, 1, true),
        I::store_u16 { imm, .. } => (imm, 2, true),
        I::store_u32 { imm, .. } => (imm, 4, true),
        I::store_u64 { imm, .. } => (imm, 8, true),
        I::store_imm_ind_u8 { a, x, .. } => (at(r(a), x), 1, true),
        I::store_imm_ind_u16 { a, x, .. } => (at(r(a), x), 2, true),
        I::store_imm_ind_u32 { a, x, .. } => (at(r(a), x), 4, true),
        I::store_imm_ind_u64 { a, x, .. } => (at(r(a), x), 8, true),
        I::store_ind_u8 { b, imm, .. } => (at(r(b), imm), 1, true),
        I::store_ind_u16 { b, imm, .. } => (at(r(b), imm), 2, true),
        I::store_ind_u32 { b, imm, .. } => (at(r(b), imm), 4, true),
        I::store_ind_u64 { b, imm, .. } => (at(r(b), imm), 8, true),
        I::load_ind_u8 { b, imm, .. } | I::load_ind_i8 { b, imm, .. } => (at(r(b), imm), 1, false),
        I::load_ind_u16 { b, imm, .. } | I::load_ind_i16 { b, imm, .. } => {
            (at(r(b), imm), 2, false)
        }
        I::load_ind_u32 { b, imm, .. } | I::load_ind_i32 { b, imm, .. } => {
            (at(r(b), imm), 4, false)
        }
        I::load_ind_u64 { b, imm, .. } => (at(r(b), imm), 8, false),
        _ => return None,
    })
}
