//! `braid-pvm-recompiler`: the PVM's x86-64 backend (RFC 0011). It lowers
//! a [`Program`] (GP 0.7.2 Appendix A, analysed by `braid-pvm-program`) to
//! native code once per module, and runs it with the guest's memory in a
//! guarded 4 GiB reservation.
//!
//! What it is:
//! - [`CompiledModule`]: the program's machine code (one
//!   [`ProgramVisitor`](braid_pvm_program::isa::ProgramVisitor) method per
//!   instruction, so an opcode the table gains does not compile until it is
//!   lowered), its block entries and its jump table;
//! - [`CompiledInstance`]: one run of it: registers pinned to host
//!   registers while it runs, gas charged once per basic block on entry
//!   (the interpreter's model), dynamic jumps through the jump table,
//!   `ecalli` as an exit that resumes, `sbrk` done by the host as the
//!   interpreter does it, and out-of-gas, panic and page-fault exits with
//!   the exact pc; a hardware fault on guest memory is turned into the
//!   interpreter's page fault or panic by a signal handler that
//!   recognises faults in the running instance's code.
//!
//! What it does not do: it is not the reference (the interpreter in
//! `braid-pvm` is, and `braid-pvm`'s crosscheck mode runs both in
//! lockstep); it runs nothing but x86-64 Linux with POPCNT, LZCNT, BMI1
//! and BMI2
//! ([`Backend::is_available`](braid_pvm_program::Backend::is_available));
//! it holds no state and knows no host calls (an `ecalli` is an exit).
//!
//! Place in the graph: depends on `braid-pvm-program`, `polkavm-assembler`
//! (the encoder) and `libc`; `braid-pvm` depends on it for its `Compiled`
//! instances. It is the only PVM crate with `unsafe` code: mappings and the
//! signal handler in `sys`, the jump into generated code and raw guest
//! memory copies in `instance`, each block with its SAFETY argument.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod codegen;
mod instance;
mod layout;
mod sys;

use std::fmt;
use std::sync::Arc;

use braid_pvm_program::program::Program;
use braid_pvm_program::{Backend, PvmError, Result};

pub use instance::CompiledInstance;

use crate::sys::{Access, HOST_PAGE, Mapping};

/// The bound on a module's native code, bytes (64 MiB). Compilation stops
/// with [`PvmError::CompiledCodeTooLarge`] as soon as its output passes it,
/// so a program built to make the compiler slow or huge (a JIT bomb) costs
/// at most this much memory and the time to emit it. Every instruction
/// emits at most [`MAX_NATIVE_PER_INSTRUCTION`] bytes, so programs of up to
/// `MAX_NATIVE_CODE / MAX_NATIVE_PER_INSTRUCTION` (about 350,000)
/// instructions always compile; typical code emits 8-12 bytes per
/// instruction.
pub const MAX_NATIVE_CODE: usize = 64 << 20;

/// The most native code one PVM instruction lowers to, bytes, including
/// its block's gas check and its out-of-line exit sequences (checked for
/// every opcode by a test).
pub const MAX_NATIVE_PER_INSTRUCTION: usize = 192;

/// Hardware faults on guest memory the signal handler has turned into PVM
/// exits, in this process so far (for tests that must prove a fault went
/// through the handler).
pub fn faults_handled() -> u64 {
    sys::FAULTS_HANDLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A program compiled to x86-64 (the wasmtime `Module` of this backend):
/// immutable, shared by its instances.
pub struct CompiledModule {
    program: Arc<Program>,
    /// The machine code, read-only and executable.
    code: Mapping,
    code_len: usize,
    fault_exit: u32,
    /// Per instruction index: code offset of its charged entry, or
    /// `layout::NO_ENTRY`.
    entries: Vec<u32>,
    /// Per jump-table entry: code offset of its target's charged entry, or
    /// `layout::NO_ENTRY`.
    jump_table: Vec<u32>,
    /// `(code offset, instruction index)` of every guest memory access.
    fault_sites: Vec<(u32, u32)>,
}

/// Copies `code` into a fresh mapping and makes it read-execute (W^X:
/// never writable and executable at once).
///
/// # Errors
/// [`PvmError::MemoryRefused`] if the kernel refuses the mapping or its
/// protection.
fn map_code(code: &[u8]) -> Result<Mapping> {
    let len = code.len().div_ceil(HOST_PAGE).max(1) * HOST_PAGE;
    let refused = |e: std::io::Error| PvmError::MemoryRefused {
        what: "native code",
        bytes: len,
        errno: e.raw_os_error().unwrap_or(0),
    };
    let mapping = Mapping::populated(len).map_err(refused)?;
    // SAFETY: the mapping is `len >= code.len()` bytes, read-write, and
    // owned here; nothing else refers to it yet.
    #[allow(unsafe_code, reason = "copies the code into its mapping")]
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), mapping.as_ptr(), code.len());
    }
    mapping.protect(0, len, Access::ReadExec).map_err(refused)?;
    Ok(mapping)
}

impl fmt::Debug for CompiledModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledModule")
            .field("instructions", &self.program.len())
            .field("code_bytes", &self.code_len)
            .field("jump_table", &self.jump_table.len())
            .finish()
    }
}

impl CompiledModule {
    /// Compiles `program` with the default bound ([`MAX_NATIVE_CODE`]).
    ///
    /// # Errors
    /// [`PvmError::BackendUnavailable`] on a CPU without POPCNT, LZCNT,
    /// BMI1 or BMI2; [`PvmError::CompiledCodeTooLarge`] past the bound;
    /// [`PvmError::MemoryRefused`] if the code cannot be mapped.
    pub fn new(program: Arc<Program>) -> Result<CompiledModule> {
        CompiledModule::with_limit(program, MAX_NATIVE_CODE)
    }

    /// Compiles `program`, stopping once the native code passes `limit`
    /// bytes.
    ///
    /// # Errors
    /// As [`CompiledModule::new`].
    pub fn with_limit(program: Arc<Program>, limit: usize) -> Result<CompiledModule> {
        if !Backend::Compiler.is_available() {
            return Err(PvmError::BackendUnavailable {
                backend: Backend::Compiler,
            });
        }
        let compiled = codegen::compile(&program, limit, map_code).map_err(|e| {
            PvmError::CompiledCodeTooLarge {
                instructions: e.instructions,
                limit,
            }
        })?;
        let code = compiled.code?;
        Ok(CompiledModule {
            program,
            code,
            code_len: compiled.code_len,
            fault_exit: compiled.fault_exit,
            entries: compiled.entries,
            jump_table: compiled.jump_table,
            fault_sites: compiled.fault_sites,
        })
    }

    /// The analysed program.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// Size of the native code, bytes.
    pub fn code_size(&self) -> usize {
        self.code_len
    }

    /// The machine code (for inspection and tests).
    pub fn code(&self) -> &[u8] {
        // SAFETY: the first `code_len` bytes of the mapping hold the code,
        // are readable (read-execute) and never written again.
        #[allow(unsafe_code, reason = "a view of the immutable code mapping")]
        unsafe {
            std::slice::from_raw_parts(self.code.as_ptr(), self.code_len)
        }
    }

    /// The code offset of the charged entry of the block starting at
    /// instruction `index`, if one starts there.
    fn entry(&self, index: usize) -> Option<u32> {
        self.entries
            .get(index)
            .copied()
            .filter(|&o| o != layout::NO_ENTRY)
    }

    /// The instruction index of the guest memory access at code offset
    /// `offset`, if there is one.
    fn fault_site(&self, offset: u32) -> Option<usize> {
        self.fault_sites
            .binary_search_by_key(&offset, |&(o, _)| o)
            .ok()
            .map(|i| self.fault_sites[i].1 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use braid_pvm_program::blob::ProgramBlob;
    use braid_pvm_program::isa::{Opcode, PvmSpec};

    /// `count` copies of `op` with `len` operand bytes of high entropy (so
    /// long immediates, registers up to 12, targets mostly invalid).
    fn repeated(op: Opcode, count: usize, len: usize) -> Program {
        let mut code = Vec::new();
        let mut bitmask = vec![0u8; (count * (1 + len)).div_ceil(8)];
        for i in 0..count {
            let at = code.len();
            bitmask[at / 8] |= 1 << (at % 8);
            code.push(op.byte());
            for j in 0..len {
                code.push([0xC7, 0x9A, 0x5B, 0xFE, 0x81, 0x33][(i + j) % 6]);
            }
        }
        Program::from_blob(
            &ProgramBlob {
                jump_table: vec![0, 2, 7],
                code,
                bitmask,
            },
            PvmSpec::Gp0_7_2,
        )
    }

    /// The documented bound holds for every opcode: the naive twin of the
    /// JIT-bomb budget (STYLE.md 8).
    #[test]
    fn no_instruction_lowers_to_more_than_the_documented_bound() {
        let base = CompiledModule::new(Arc::new(repeated(Opcode::trap, 1, 0)))
            .unwrap()
            .code_size();
        let mut worst = (0, Opcode::trap);
        for &op in Opcode::ALL {
            for len in [0, 2, 5, 9, 12] {
                let count = 64;
                let module = CompiledModule::new(Arc::new(repeated(op, count, len))).unwrap();
                let per = (module.code_size() - base).div_ceil(count);
                if per > worst.0 {
                    worst = (per, op);
                }
            }
        }
        assert!(
            worst.0 <= MAX_NATIVE_PER_INSTRUCTION,
            "{} lowers to {} bytes, documented bound {MAX_NATIVE_PER_INSTRUCTION}",
            worst.1,
            worst.0
        );
    }

    #[test]
    fn a_jit_bomb_stops_at_the_bound() {
        // 4 MiB of one-byte `fallthrough`s: 4 Mi one-instruction blocks,
        // each with its gas check and out-of-gas exit.
        let len = 4 << 20;
        let blob = ProgramBlob {
            jump_table: vec![],
            code: vec![Opcode::fallthrough.byte(); len],
            bitmask: vec![0xFF; len / 8],
        };
        let program = Arc::new(Program::from_blob(&blob, PvmSpec::Gp0_7_2));
        match CompiledModule::new(Arc::clone(&program)) {
            Err(PvmError::CompiledCodeTooLarge {
                instructions,
                limit,
            }) => {
                assert_eq!(limit, MAX_NATIVE_CODE);
                assert!(
                    instructions < program.len(),
                    "{instructions} of {}",
                    program.len()
                );
                assert!(instructions >= MAX_NATIVE_CODE / MAX_NATIVE_PER_INSTRUCTION);
            }
            other => panic!("expected the bomb refused, got {other:?}"),
        }
        // A smaller bound stops sooner, linearly.
        match CompiledModule::with_limit(program, 1 << 20) {
            Err(PvmError::CompiledCodeTooLarge { instructions, .. }) => {
                assert!(instructions < (1 << 20) / 8);
            }
            other => panic!("expected the bomb refused, got {other:?}"),
        }
    }
}
