//! The recompiler behind [`crate::Instance`]: a [`CompiledInstance`] of
//! `braid-pvm-recompiler`, and in crosscheck mode the reference
//! interpreter beside it, in lockstep (polkavm's `crosscheck`).
//!
//! Crosscheck: both run the same setup and the same host-call writes;
//! at every exit they must agree on the exit reason, pc, gas and all 13
//! registers, or the run stops with [`PvmError::CrosscheckStatus`] or
//! [`PvmError::CrosscheckValue`] naming the first difference. Memory is
//! not compared at exits (host calls read it from the compiler).

use std::sync::Arc;

use braid_pvm_recompiler::{CompiledInstance, CompiledModule};

pub use braid_pvm_recompiler::faults_handled;

use crate::api::{Backend, ExitReason, GuestAccess};
use crate::interpreter::{Code, Interpreter};
use crate::isa::Reg;
use crate::{AccessFault, PvmError, Result};

/// A compiled instance, crosschecked or not.
#[derive(Clone, Debug)]
pub struct Compiled {
    vm: CompiledInstance,
    reference: Option<Box<Interpreter>>,
    /// Exits so far (for crosscheck errors).
    exits: u64,
}

impl Compiled {
    pub(crate) fn new(
        module: &Arc<CompiledModule>,
        reference: Option<&Arc<Code>>,
    ) -> Result<Compiled> {
        Ok(Compiled {
            vm: CompiledInstance::new(module)?,
            reference: reference.map(|code| Box::new(Interpreter::new(code))),
            exits: 0,
        })
    }

    pub(crate) fn standard(
        module: &Arc<CompiledModule>,
        reference: Option<&Arc<Code>>,
        input: &[u8],
        gas: i64,
    ) -> Result<Compiled> {
        Ok(Compiled {
            vm: CompiledInstance::standard(module, input, gas)?,
            reference: match reference {
                Some(code) => Some(Box::new(Interpreter::standard(code, input, gas)?)),
                None => None,
            },
            exits: 0,
        })
    }

    /// Whether the reference interpreter runs in lockstep.
    pub fn is_crosschecked(&self) -> bool {
        self.reference.is_some()
    }

    /// The compiled instance.
    pub fn instance(&self) -> &CompiledInstance {
        &self.vm
    }

    /// Runs to the next exit; with crosscheck, runs the interpreter too and
    /// compares.
    ///
    /// # Errors
    /// [`PvmError::CrosscheckStatus`], [`PvmError::CrosscheckValue`].
    pub fn try_run(&mut self) -> Result<ExitReason> {
        let exit = self.vm.run();
        let Some(reference) = &mut self.reference else {
            return Ok(exit);
        };
        let expected = reference.run();
        let n = self.exits;
        self.exits += 1;
        if expected != exit {
            return Err(PvmError::CrosscheckStatus {
                exit: n,
                backend: Backend::Compiler,
                interpreter: expected,
                other: exit,
            });
        }
        let value = |field: &'static str, interpreter: u64, other: u64| {
            (interpreter != other).then_some(PvmError::CrosscheckValue {
                exit: n,
                backend: Backend::Compiler,
                status: exit,
                field,
                interpreter,
                other,
            })
        };
        const NAMES: [&str; 13] = [
            "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12",
        ];
        let mismatch = value("pc", reference.pc().into(), self.vm.pc().into())
            .or_else(|| value("gas", reference.gas() as u64, self.vm.gas() as u64))
            .or_else(|| {
                let (expected, got) = (reference.regs(), self.vm.regs());
                (0..13).find_map(|i| value(NAMES[i], expected[i], got[i]))
            });
        match mismatch {
            Some(error) => Err(error),
            None => Ok(exit),
        }
    }

    /// Sets a register on the compiled instance only, not on the reference:
    /// a divergence for tests of crosscheck mode.
    #[doc(hidden)]
    pub fn diverge_for_test(&mut self, reg: Reg, value: u64) {
        self.vm.set_reg(reg, value);
    }

    pub(crate) fn pc(&self) -> u32 {
        self.vm.pc()
    }

    pub(crate) fn set_pc(&mut self, pc: u32) {
        self.vm.set_pc(pc);
        if let Some(r) = &mut self.reference {
            r.set_pc(pc);
        }
    }

    pub(crate) fn map(&mut self, start: u32, len: u64, writable: bool) {
        self.vm.map(start, len, writable);
        if let Some(r) = &mut self.reference {
            r.memory_mut().map(start, len, writable);
        }
    }

    pub(crate) fn init(&mut self, address: u32, bytes: &[u8]) {
        self.vm.init(address, bytes);
        if let Some(r) = &mut self.reference {
            r.memory_mut().init(address, bytes);
        }
    }

    pub(crate) fn heap_top(&self) -> u32 {
        self.vm.heap_top()
    }
}

impl GuestAccess for Compiled {
    fn reg(&self, reg: Reg) -> u64 {
        self.vm.reg(reg)
    }

    fn set_reg(&mut self, reg: Reg, value: u64) {
        self.vm.set_reg(reg, value);
        if let Some(r) = &mut self.reference {
            r.set_reg(reg, value);
        }
    }

    fn gas(&self) -> i64 {
        self.vm.gas()
    }

    fn set_gas(&mut self, gas: i64) {
        self.vm.set_gas(gas);
        if let Some(r) = &mut self.reference {
            r.set_gas(gas);
        }
    }

    fn read(&self, address: u32, buf: &mut [u8]) -> Result<(), AccessFault> {
        self.vm.read(address, buf)
    }

    fn write(&mut self, address: u32, bytes: &[u8]) -> Result<(), AccessFault> {
        let result = self.vm.write(address, bytes);
        if let Some(r) = &mut self.reference {
            // Same checks, same page map: the same result unless the
            // backends diverged, which the next exit reports.
            let _ = r.write(address, bytes);
        }
        result
    }

    fn check_readable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        self.vm.check_readable(address, len)
    }

    fn check_writable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        self.vm.check_writable(address, len)
    }

    fn regs(&self) -> [u64; 13] {
        self.vm.regs()
    }
}
