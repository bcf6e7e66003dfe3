//! Where things are, for the generated code and the host alike.
//!
//! An instance reserves one region of host address space:
//!
//! ```text
//! [ jump table | context page | guest memory, 4 GiB | guard, 64 KiB ]
//!                               ^ base (r15): guest address 0
//! ```
//!
//! - the jump table: one 8-byte absolute code address per jump-table
//!   entry (0 if the entry is not a jump target), read-only once filled;
//! - the context page ([`VmCtx`]): gas, the guest registers between runs,
//!   the host stack pointer, the last exit, scratch slots, and what the
//!   signal handler needs; read-write, never reachable by a guest address;
//! - guest memory: every page inaccessible until mapped read-only or
//!   read-write (one host page per PVM page), so the low 64 KiB and every
//!   unmapped page fault in hardware;
//! - the guard: an 8-byte access at guest address `2^32 - 1` ends at most
//!   7 bytes into it, so no guest address reaches past the reservation.

use std::mem::offset_of;

use crate::sys::{FaultTarget, HOST_PAGE};

/// Size of the context page, bytes.
pub(crate) const CTX_SIZE: usize = HOST_PAGE;
/// The guest's address space, bytes (GP: 2^32).
pub(crate) const GUEST_SIZE: usize = 1 << 32;
/// Inaccessible bytes after the guest's address space.
pub(crate) const GUARD_SIZE: usize = 1 << 16;

/// An offset meaning "no entry here" (not a block start, not a jump target).
pub(crate) const NO_ENTRY: u32 = u32::MAX;

/// The context page's layout. Every field is plain data, so the all-zero
/// page a fresh mapping gives is a valid value.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct VmCtx {
    /// Gas left (signed: `set_gas` may make it negative).
    pub gas: i64,
    /// `ω0..ω12` while the guest is not running.
    pub regs: [u64; 13],
    /// The host stack pointer while the guest runs.
    pub host_rsp: u64,
    /// The last exit: [`ExitKind`] in the low 32 bits, pc in the high (for
    /// [`ExitKind::OutOfGas`], the instruction index of the block entry).
    pub exit: u64,
    /// Where to resume (code offset) in the low 32 bits, the exit's
    /// argument (host-call immediate, `sbrk` registers) in the high.
    pub resume: u64,
    /// Scratch slots (division and the upper multiplications save `rax`
    /// and `rdx` here).
    pub scratch: [u64; 3],
    /// What the signal handler reads and writes.
    pub fault: FaultTarget,
}

pub(crate) const GAS: usize = offset_of!(VmCtx, gas);
pub(crate) const REGS: usize = offset_of!(VmCtx, regs);
pub(crate) const HOST_RSP: usize = offset_of!(VmCtx, host_rsp);
pub(crate) const EXIT: usize = offset_of!(VmCtx, exit);
pub(crate) const RESUME: usize = offset_of!(VmCtx, resume);
pub(crate) const SCRATCH: usize = offset_of!(VmCtx, scratch);

const _: () = assert!(std::mem::size_of::<VmCtx>() <= CTX_SIZE);

/// Why the generated code returned to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum ExitKind {
    /// A dynamic jump to the halt address.
    Halt = 1,
    /// `trap`, an undefined opcode, a bad jump.
    Panic = 2,
    /// A block that cannot be paid for; the host refunds it and resumes at
    /// its entry.
    OutOfGas = 3,
    /// `ecalli`; resume after it.
    HostCall = 4,
    /// `sbrk`, done by the host; resume after it.
    Sbrk = 5,
    /// A hardware fault on guest memory, redirected by the signal handler.
    Fault = 6,
}

impl ExitKind {
    pub(crate) fn from_u32(kind: u32) -> Option<ExitKind> {
        Some(match kind {
            1 => ExitKind::Halt,
            2 => ExitKind::Panic,
            3 => ExitKind::OutOfGas,
            4 => ExitKind::HostCall,
            5 => ExitKind::Sbrk,
            6 => ExitKind::Fault,
            _ => return None,
        })
    }
}

pub(crate) fn exit_word(kind: ExitKind, pc: u32) -> u64 {
    kind as u64 | (u64::from(pc) << 32)
}

pub(crate) fn resume_word(resume: u32, arg: u32) -> u64 {
    u64::from(resume) | (u64::from(arg) << 32)
}

/// Bytes of the jump-table area for `entries` entries, whole pages.
pub(crate) fn jump_table_area(entries: usize) -> usize {
    (entries * 8).div_ceil(HOST_PAGE) * HOST_PAGE
}

/// Displacement of jump-table entry 0 from the guest base.
pub(crate) fn jump_table_disp(entries: usize) -> i32 {
    -((CTX_SIZE + jump_table_area(entries)) as i32)
}
