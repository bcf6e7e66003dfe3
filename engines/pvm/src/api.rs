//! The backend-neutral API, in the wasmtime/polkavm words: a [`Config`]
//! chooses the [`Backend`]; a [`Module`] is a validated, analysed program
//! lowered for that backend (cacheable, cheap to clone); an [`Instance`] is
//! one run of it, ending at an [`ExitReason`]; [`GuestAccess`] reads and
//! writes its registers, gas and memory, the same way on every backend.
//!
//! The interpreter is the reference backend. The x86-64 recompiler
//! (`braid-pvm-recompiler`) is the second; where it is not available
//! (another architecture, a CPU without POPCNT/LZCNT/BMI1/BMI2),
//! [`Backend::Compiler`] is refused with [`PvmError::BackendUnavailable`],
//! never silently run on the interpreter. With [`Config::crosscheck`] the
//! interpreter runs beside it in lockstep.

use std::sync::Arc;

pub use braid_pvm_program::{Backend, ExitReason};

use crate::AccessFault;
use crate::blob::{ProgramBlob, StandardProgram};
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
use crate::compiled::Compiled;
use crate::interpreter::{Code, Interpreter};
use crate::isa::{PvmSpec, Reg};
use crate::program::Program;
use crate::{PvmError, Result};

/// How PVM code is run (the wasmtime `Config`). The default runs GP 0.7.2
/// programs on the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Config {
    /// The instruction set programs target.
    pub spec: PvmSpec,
    /// The backend modules are lowered for.
    pub backend: Backend,
    /// Run the reference interpreter in lockstep and stop at the first
    /// disagreement in status, pc, registers or gas (polkavm's crosscheck).
    /// Only meaningful for a backend other than the interpreter, which is
    /// itself the reference; with [`Backend::Interpreter`] it changes
    /// nothing.
    pub crosscheck: bool,
}

impl Config {
    /// The default configuration for programs of `spec`: the interpreter,
    /// no crosscheck.
    pub fn new(spec: PvmSpec) -> Config {
        Config {
            spec,
            ..Config::default()
        }
    }

    /// The same configuration on `backend`.
    pub fn with_backend(mut self, backend: Backend) -> Config {
        self.backend = backend;
        self
    }

    /// The same configuration with crosscheck on or off.
    pub fn with_crosscheck(mut self, crosscheck: bool) -> Config {
        self.crosscheck = crosscheck;
        self
    }

    /// `Ok` if this build can run the configured backend.
    ///
    /// # Errors
    /// [`PvmError::BackendUnavailable`].
    pub fn check(&self) -> Result<()> {
        if self.backend.is_available() {
            Ok(())
        } else {
            Err(PvmError::BackendUnavailable {
                backend: self.backend,
            })
        }
    }
}

/// The guest's registers, gas and memory, as host calls and test harnesses
/// see them on every backend. Zero-length reads and writes always succeed.
pub trait GuestAccess {
    /// Register `reg`.
    fn reg(&self, reg: Reg) -> u64;

    /// Sets register `reg`.
    fn set_reg(&mut self, reg: Reg, value: u64);

    /// Gas left, PVM gas. Running never takes it below 0 (a block that cannot
    /// be paid for is not entered); only [`GuestAccess::set_gas`] can.
    fn gas(&self) -> i64;

    /// Sets the gas left, PVM gas.
    fn set_gas(&mut self, gas: i64);

    /// Copies `buf.len()` bytes at `address` into `buf`, across pages.
    ///
    /// # Errors
    /// The [`AccessFault`] of the lowest inaccessible byte.
    fn read(&self, address: u32, buf: &mut [u8]) -> Result<(), AccessFault>;

    /// Writes `bytes` at `address`, across pages; nothing is written if any
    /// byte is not writable.
    ///
    /// # Errors
    /// The [`AccessFault`] of the lowest inaccessible or read-only byte.
    fn write(&mut self, address: u32, bytes: &[u8]) -> Result<(), AccessFault>;

    /// Checks that `[address, address + len)` is readable, without reading.
    ///
    /// # Errors
    /// As [`GuestAccess::read`].
    fn check_readable(&self, address: u32, len: u32) -> Result<(), AccessFault>;

    /// Checks that `[address, address + len)` is writable, without writing.
    ///
    /// # Errors
    /// As [`GuestAccess::write`].
    fn check_writable(&self, address: u32, len: u32) -> Result<(), AccessFault>;

    /// The 13 registers.
    fn regs(&self) -> [u64; 13] {
        let mut out = [0; 13];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = self.reg(Reg::clamped(i as u8));
        }
        out
    }

    /// A copy of `len` bytes at `address`, checked before anything is
    /// allocated (`len` may come from a guest register).
    ///
    /// # Errors
    /// As [`GuestAccess::read`].
    fn read_vec(&self, address: u32, len: u32) -> Result<Vec<u8>, AccessFault> {
        self.check_readable(address, len)?;
        let mut out = vec![0; len as usize];
        self.read(address, &mut out)?;
        Ok(out)
    }
}

/// A validated, analysed program lowered for one backend, cheap to clone
/// (the wasmtime `Module`).
#[derive(Clone, Debug)]
pub struct Module {
    program: Arc<Program>,
    lowered: Lowered,
}

/// A module's code as its backend runs it.
#[derive(Clone, Debug)]
enum Lowered {
    Interpreter(Arc<Code>),
    /// Native code, and with crosscheck the interpreter's lowering too.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    Compiled {
        module: Arc<braid_pvm_recompiler::CompiledModule>,
        reference: Option<Arc<Code>>,
    },
}

impl Module {
    /// Lowers `program` for `config`'s backend.
    ///
    /// A program whose native code would pass the recompiler's bound
    /// (`braid_pvm_recompiler::MAX_NATIVE_CODE`, a JIT bomb) is lowered for
    /// the interpreter instead: compilation stops at the bound, and every
    /// program runs the same on either backend, so which programs a chain
    /// accepts never depends on the backend (RFC 0011).
    ///
    /// # Errors
    /// [`PvmError::BackendUnavailable`] if this build cannot run the
    /// backend; [`PvmError::MemoryRefused`] if native code cannot be mapped.
    pub fn new(config: &Config, program: Arc<Program>) -> Result<Module> {
        config.check()?;
        let interpreter = |program: &Arc<Program>| Arc::new(Code::new(Arc::clone(program)));
        let lowered = match config.backend {
            Backend::Interpreter => Lowered::Interpreter(interpreter(&program)),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Backend::Compiler => {
                match braid_pvm_recompiler::CompiledModule::new(Arc::clone(&program)) {
                    Ok(module) => Lowered::Compiled {
                        module: Arc::new(module),
                        reference: config.crosscheck.then(|| interpreter(&program)),
                    },
                    Err(PvmError::CompiledCodeTooLarge { .. }) => {
                        Lowered::Interpreter(interpreter(&program))
                    }
                    Err(e) => return Err(e),
                }
            }
            backend => return Err(PvmError::BackendUnavailable { backend }),
        };
        Ok(Module { program, lowered })
    }

    /// Decodes and lowers a raw program blob (GP `deblob`).
    ///
    /// # Errors
    /// As [`Module::new`].
    pub fn from_blob(config: &Config, blob: &ProgramBlob) -> Result<Module> {
        config.check()?;
        Module::new(config, Arc::new(Program::from_blob(blob, config.spec)))
    }

    /// Decodes and lowers a standard program (GP 0.7.2 §A.7).
    ///
    /// # Errors
    /// [`PvmError::MemoryLayoutTooLarge`] if its regions do not fit; as
    /// [`Module::new`].
    pub fn from_standard(config: &Config, program: &StandardProgram) -> Result<Module> {
        config.check()?;
        Module::new(
            config,
            Arc::new(Program::from_standard(program, config.spec)?),
        )
    }

    /// Parses, decodes and lowers a standard program from its bytes.
    ///
    /// # Errors
    /// As [`StandardProgram::parse`] and [`Module::new`].
    pub fn parse_standard(config: &Config, bytes: &[u8]) -> Result<Module> {
        Module::from_standard(config, &StandardProgram::parse(bytes)?)
    }

    /// The checks Braid adds at deploy time ([`Program::validate_for_deploy`]).
    ///
    /// # Errors
    /// As [`Program::validate_for_deploy`].
    pub fn validate_for_deploy(&self) -> Result<()> {
        self.program.validate_for_deploy()
    }

    /// The analysed program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The backend the module is lowered for (the interpreter for a
    /// program past the recompiler's bound, see [`Module::new`]).
    pub fn backend(&self) -> Backend {
        match self.lowered {
            Lowered::Interpreter(_) => Backend::Interpreter,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Lowered::Compiled { .. } => Backend::Compiler,
        }
    }

    /// Bytes of native code, for a compiled module.
    pub fn native_code_size(&self) -> Option<usize> {
        match &self.lowered {
            Lowered::Interpreter(_) => None,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Lowered::Compiled { module, .. } => Some(module.code_size()),
        }
    }

    /// The instruction set version.
    pub fn spec(&self) -> PvmSpec {
        self.program.spec()
    }

    /// Number of instructions (including the implicit final `trap`).
    pub fn instruction_count(&self) -> usize {
        self.program.len()
    }

    /// Whether the module was built from a standard program.
    pub fn is_standard(&self) -> bool {
        self.program.standard().is_some()
    }
}

/// One run of a [`Module`] (the wasmtime `Instance`): registers, memory,
/// gas and position, on the module's backend. Every method dispatches
/// through [`on_backend!`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Instance {
    /// On the reference interpreter.
    Interpreter(Interpreter),
    /// On the x86-64 recompiler (with the interpreter beside it in
    /// crosscheck mode).
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    Compiled(Compiled),
}

/// `on_backend!(instance, vm => expr)`: `expr` with `vm` bound to the
/// backend's instance. The one place a new backend adds an arm.
macro_rules! on_backend {
    ($instance:expr, $vm:ident => $e:expr) => {
        match $instance {
            Instance::Interpreter($vm) => $e,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Instance::Compiled($vm) => $e,
        }
    };
}

impl Instance {
    /// An instance of `module` with no accessible memory, every register 0,
    /// no gas, at pc 0.
    ///
    /// # Panics
    /// If the operating system refuses a compiled instance its 4 GiB
    /// address-space reservation (as a failed allocation would);
    /// [`Instance::try_new`] returns that as an error.
    pub fn new(module: &Module) -> Instance {
        Instance::try_new(module).unwrap_or_else(|e| panic!("PVM instance: {e}"))
    }

    /// As [`Instance::new`].
    ///
    /// # Errors
    /// [`PvmError::MemoryRefused`] for a compiled instance.
    pub fn try_new(module: &Module) -> Result<Instance> {
        Ok(match &module.lowered {
            Lowered::Interpreter(code) => Instance::Interpreter(Interpreter::new(code)),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Lowered::Compiled { module, reference } => {
                Instance::Compiled(Compiled::new(module, reference.as_ref())?)
            }
        })
    }

    /// An instance of a standard program set up per GP 0.7.2 eq. A.42-A.43:
    /// memory regions filled, `r0` = [`crate::blob::HALT_ADDRESS`], `r1` =
    /// stack top, `r7` = input address, `r8` = input length, `gas` PVM gas.
    ///
    /// # Errors
    /// [`PvmError::InputTooLarge`] past the 16 MiB argument region;
    /// [`PvmError::MemoryRefused`] for a compiled instance.
    ///
    /// # Panics
    /// If `module` was not built from a standard program.
    pub fn standard(module: &Module, input: &[u8], gas: i64) -> Result<Instance> {
        Ok(match &module.lowered {
            Lowered::Interpreter(code) => {
                Instance::Interpreter(Interpreter::standard(code, input, gas)?)
            }
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Lowered::Compiled { module, reference } => {
                Instance::Compiled(Compiled::standard(module, reference.as_ref(), input, gas)?)
            }
        })
    }

    /// The backend running this instance.
    pub fn backend(&self) -> Backend {
        match self {
            Instance::Interpreter(_) => Backend::Interpreter,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Instance::Compiled(_) => Backend::Compiler,
        }
    }

    /// Runs until an exit. After [`ExitReason::HostCall`] the caller handles
    /// the call (through [`GuestAccess`]) and runs again; execution
    /// continues after the `ecalli`.
    ///
    /// # Panics
    /// In crosscheck mode, at the first disagreement with the interpreter
    /// ([`Instance::try_run`] returns it as an error).
    pub fn run(&mut self) -> ExitReason {
        self.try_run().unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Instance::run`], returning a crosscheck disagreement.
    ///
    /// # Errors
    /// [`PvmError::CrosscheckStatus`] or [`PvmError::CrosscheckValue`]: the
    /// first difference between the backend and the interpreter at this
    /// exit, in crosscheck mode.
    pub fn try_run(&mut self) -> Result<ExitReason> {
        match self {
            Instance::Interpreter(vm) => Ok(vm.run()),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Instance::Compiled(vm) => vm.try_run(),
        }
    }

    /// The pc of the instruction that caused the last exit: the `trap`, the
    /// faulting access, the `ecalli`, the halting jump, or the first
    /// instruction of the block that could not be paid for.
    pub fn pc(&self) -> u32 {
        on_backend!(self, vm => vm.pc())
    }

    /// Sets where the next [`Instance::run`] starts, as a block entry. A pc
    /// that is not a block start makes the run panic there.
    pub fn set_pc(&mut self, pc: u32) {
        on_backend!(self, vm => vm.set_pc(pc))
    }

    /// Makes `[start, start + len)` accessible, zero-filled, rounded out to
    /// whole pages (for setting up a raw program; a standard program's
    /// regions are mapped by [`Instance::standard`]).
    pub fn map(&mut self, start: u32, len: u64, writable: bool) {
        match self {
            Instance::Interpreter(vm) => vm.memory_mut().map(start, len, writable),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Instance::Compiled(vm) => vm.map(start, len, writable),
        }
    }

    /// Writes `bytes` at `address` whatever the page access (program
    /// loading); bytes outside every mapped page are dropped.
    pub fn init(&mut self, address: u32, bytes: &[u8]) {
        match self {
            Instance::Interpreter(vm) => vm.memory_mut().init(address, bytes),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Instance::Compiled(vm) => vm.init(address, bytes),
        }
    }

    /// The current heap top, bytes (`sbrk` grows it).
    pub fn heap_top(&self) -> u32 {
        on_backend!(self, vm => vm.heap_top())
    }
}

impl GuestAccess for Instance {
    fn reg(&self, reg: Reg) -> u64 {
        on_backend!(self, vm => vm.reg(reg))
    }

    fn set_reg(&mut self, reg: Reg, value: u64) {
        on_backend!(self, vm => vm.set_reg(reg, value))
    }

    fn gas(&self) -> i64 {
        on_backend!(self, vm => vm.gas())
    }

    fn set_gas(&mut self, gas: i64) {
        on_backend!(self, vm => vm.set_gas(gas))
    }

    fn read(&self, address: u32, buf: &mut [u8]) -> Result<(), AccessFault> {
        on_backend!(self, vm => vm.read(address, buf))
    }

    fn write(&mut self, address: u32, bytes: &[u8]) -> Result<(), AccessFault> {
        on_backend!(self, vm => vm.write(address, bytes))
    }

    fn check_readable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        on_backend!(self, vm => vm.check_readable(address, len))
    }

    fn check_writable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        on_backend!(self, vm => vm.check_writable(address, len))
    }

    fn regs(&self) -> [u64; 13] {
        on_backend!(self, vm => vm.regs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_lowers_or_is_refused_by_name() {
        let blob = ProgramBlob::parse(&[0, 0, 1, 0, 1]).unwrap();
        for backend in Backend::ALL {
            let config = Config::default().with_backend(backend);
            match Module::from_blob(&config, &blob) {
                Ok(module) => {
                    assert!(backend.is_available());
                    assert_eq!(module.backend(), backend);
                    assert_eq!(Instance::new(&module).backend(), backend);
                }
                Err(e) => {
                    assert!(!backend.is_available());
                    assert_eq!(e, PvmError::BackendUnavailable { backend });
                }
            }
        }
    }
}
