//! [`PvmEngine`]: the PVM as a Braid [`Engine`] (engine id `0x02`, RFC 0003).

use std::sync::RwLock;

use braid_core::{
    CallTarget, CapRefusal, Continuation, CoreError, Engine, EngineFailure, EngineId, FaultCode,
    FaultReason, Host, Identity, Message, Outcome, Result, Resumable, ScopeKind, Step, Wake,
};
use rustc_hash::FxHashMap;

use crate::api::{Config, ExitReason, GuestAccess, Instance, Module};
use crate::caps::{self, CapCall};
use crate::error::PvmError;
use crate::host::{self, Context, HostCall, Next};
use crate::isa::{PvmSpec, Reg};

/// The PVM engine: validates standard programs at deploy time, caches the
/// [`Module`] of each by code hash, and runs calls on the configured
/// backend with the host calls of RFC 0003.
#[derive(Debug, Default)]
pub struct PvmEngine {
    config: Config,
    modules: RwLock<FxHashMap<[u8; 32], Module>>,
}

impl PvmEngine {
    /// An engine for programs of `spec` on the reference interpreter
    /// ([`Config::new`]).
    pub fn new(spec: PvmSpec) -> PvmEngine {
        PvmEngine {
            config: Config::new(spec),
            modules: RwLock::default(),
        }
    }

    /// An engine with `config` (the wasmtime `Engine::new`).
    ///
    /// # Errors
    /// [`PvmError::BackendUnavailable`] if this build cannot run the
    /// configured backend.
    pub fn with_config(config: Config) -> std::result::Result<PvmEngine, PvmError> {
        config.check()?;
        Ok(PvmEngine {
            config,
            modules: RwLock::default(),
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Parses and checks a standard program as deploy does.
    ///
    /// # Errors
    /// Every [`PvmError`] of [`crate::StandardProgram::parse`] and
    /// [`Module::validate_for_deploy`].
    pub fn load(&self, code: &[u8]) -> std::result::Result<Module, PvmError> {
        let module = Module::parse_standard(&self.config, code)?;
        module.validate_for_deploy()?;
        Ok(module)
    }

    fn module(&self, hash: &[u8; 32], host: &mut dyn Host) -> Result<Module> {
        if let Some(module) = self.modules.read().ok().and_then(|m| m.get(hash).cloned()) {
            return Ok(module);
        }
        let code = host.code(hash)?.ok_or(CoreError::Invariant {
            what: "an instance record names code that is not stored",
        })?;
        // Deployed code passed `validate`; failing now means corrupt state.
        let module = self
            .load(&code)
            .map_err(|e| CoreError::engine(EngineId::PVM, EngineFailure::CorruptCode, e))?;
        if let Ok(mut modules) = self.modules.write() {
            modules.insert(*hash, module.clone());
        }
        Ok(module)
    }
}

impl Engine for PvmEngine {
    fn id(&self) -> EngineId {
        EngineId::PVM
    }

    fn name(&self) -> &'static str {
        "pvm"
    }

    fn scope_kind(&self) -> ScopeKind {
        ScopeKind::Instance
    }

    fn validate(&self, code: &[u8]) -> Result<()> {
        self.load(code)
            .map(|_| ())
            .map_err(|e| CoreError::invalid_code(EngineId::PVM, code, e.rejection(), e))
    }

    /// Runs a call to completion without the kernel's trampoline (a host
    /// that is not the kernel, or a caller that calls the engine
    /// directly): `call` (id 13) goes through [`Host::call`]; `call_cap`,
    /// `yield`, `resume` and `resume_fault` need the trampoline's stack and
    /// are refused (`call_cap`: `WHAT`; the others `HUH`). The kernel runs
    /// the PVM through [`Resumable`] instead.
    fn call(&self, host: &mut dyn Host, message: &Message) -> Result<Outcome> {
        let mut step = self.start(host, message, 0)?;
        loop {
            let (cont, wake) = match step {
                Step::Done(outcome) => return Ok(outcome),
                Step::Call {
                    target: CallTarget::Identity(callee),
                    input,
                    gas_limit,
                    cont,
                    ..
                } => {
                    let result = host.call(callee, input, [0; 32], gas_limit)?;
                    (cont, Wake::Returned(result))
                }
                Step::Call { cont, .. } => (cont, Wake::Refused(CapRefusal::Unsupported)),
                Step::Yield { cont, .. } => (cont, Wake::Refused(CapRefusal::Stale)),
                Step::Resume { cont, .. } => (cont, Wake::Refused(CapRefusal::NotHandling)),
            };
            step = self.resume(host, message, cont, wake)?;
        }
    }

    fn resumable(&self) -> Option<&dyn Resumable> {
        Some(self)
    }
}

/// A PVM invocation suspended in a host call that the kernel's trampoline
/// finishes (RFC 0010): the instance, and what the call answers on waking.
struct Suspended {
    instance: Instance,
    pending: Pending,
}

/// The host call a suspended invocation waits in.
enum Pending {
    /// `call`, `call_cap`, `resume` or `resume_fault`: answers a status in
    /// `r7` and the callee's output length in `r8`, the output copied to
    /// `[out, out + out_len)`.
    Call { out: u64, out_len: u64 },
    /// `yield`: answers `OK` when resumed, a refusal's status otherwise.
    Yield,
}

impl Resumable for PvmEngine {
    fn start(&self, host: &mut dyn Host, message: &Message, endpoint: u8) -> Result<Step> {
        let me = host.self_identity();
        let Some(hash) = host.instance_code_hash()? else {
            return Ok(Step::Done(Outcome::Fault(FaultReason::NoSuchInstance {
                identity: me,
            })));
        };
        if message.value != [0; 32] {
            return Ok(Step::Done(Outcome::Fault(FaultReason::Engine {
                code: FaultCode::ValueNotAccepted,
            })));
        }
        let module = self.module(&hash, host)?;
        let Ok(mut instance) =
            Instance::standard(&module, &message.input, gas_i64(host.gas_left()))
        else {
            return Ok(Step::Done(Outcome::Fault(FaultReason::Engine {
                code: FaultCode::InputTooLarge,
            })));
        };
        // The entry point of `call_cap` (RFC 0010); 0, the GP initial
        // value, for `call` and root calls.
        instance.set_reg(reg(11), u64::from(endpoint));
        run(host, message, instance)
    }

    fn resume(
        &self,
        host: &mut dyn Host,
        message: &Message,
        cont: Continuation,
        wake: Wake,
    ) -> Result<Step> {
        let Suspended {
            mut instance,
            pending,
        } = *cont
            .0
            .downcast::<Suspended>()
            .map_err(|_| CoreError::Invariant {
                what: "a PVM continuation of another engine",
            })?;
        let (status, output) = match (pending, wake) {
            (Pending::Call { out, out_len }, Wake::Returned(result)) => {
                let (status, output) = match result.outcome {
                    Outcome::Halt { output } => (0, output),
                    Outcome::Revert { output } => (1, output),
                    Outcome::Fault(_) => (2, Vec::new()),
                };
                if caps::write_output(&mut instance, out, out_len, &output).is_err() {
                    return Ok(Step::Done(Outcome::Fault(FaultReason::Trap)));
                }
                (status, output.len() as u64)
            }
            (Pending::Call { .. }, Wake::Yielded) => (caps::YIELDED, 0),
            (Pending::Yield, Wake::Resumed) => (host::OK, 0),
            (_, Wake::Refused(refusal)) => (caps::status(refusal), 0),
            _ => {
                return Err(CoreError::Invariant {
                    what: "a PVM invocation woken for a host call it is not waiting in",
                });
            }
        };
        instance.set_reg(reg(7), status);
        instance.set_reg(reg(8), output);
        instance.set_gas(gas_i64(host.gas_left()));
        run(host, message, instance)
    }
}

/// Runs `instance` until it ends or suspends in a call, yield or resume.
fn run(host: &mut dyn Host, message: &Message, mut instance: Instance) -> Result<Step> {
    let mut cx = Context {
        caller: message.caller,
        me: host.self_identity(),
        input: &message.input,
        host,
    };
    loop {
        let exit = instance.run();
        // Settle the gas the guest used since the last exit.
        let left = instance.gas().max(0) as u64;
        let used = cx.host.gas_left().saturating_sub(left);
        if cx.host.charge_gas(used).is_err() {
            return Ok(Step::Done(Outcome::Fault(FaultReason::OutOfGas)));
        }
        let outcome = match exit {
            ExitReason::Halt => Outcome::Halt {
                output: halt_output(&instance),
            },
            ExitReason::Panic => Outcome::Fault(FaultReason::Trap),
            ExitReason::OutOfGas => {
                let _ = cx.host.charge_gas(cx.host.gas_left());
                Outcome::Fault(FaultReason::OutOfGas)
            }
            ExitReason::PageFault(address) => Outcome::Fault(FaultReason::PageFault {
                address: u64::from(address),
            }),
            ExitReason::HostCall(id) => {
                let price = if let Some(which) = CapCall::from_id(id) {
                    which.price(&instance.regs())
                } else if let Some(which) = HostCall::from_id(id) {
                    host::price(which, &instance.regs())
                } else {
                    host::BASE_GAS
                };
                if cx.host.charge_gas(price).is_err() {
                    return Ok(Step::Done(Outcome::Fault(FaultReason::OutOfGas)));
                }
                match host_call(id, &mut instance, &mut cx)? {
                    Exit::Continue => {
                        instance.set_gas(gas_i64(cx.host.gas_left()));
                        continue;
                    }
                    Exit::Stop(outcome) => outcome,
                    Exit::Suspend(request, pending) => return Ok(request.step(instance, pending)),
                }
            }
        };
        return Ok(Step::Done(outcome));
    }
}

/// What the engine does after host call `id`.
enum Exit {
    /// Run the guest on.
    Continue,
    /// End the invocation.
    Stop(Outcome),
    /// Suspend it in `pending` and hand the kernel this request.
    Suspend(Request, Pending),
}

/// A suspending host call's request to the trampoline: a [`Step`] without
/// its continuation.
enum Request {
    Call {
        target: CallTarget,
        endpoint: u8,
        input: Vec<u8>,
        gas_limit: u64,
    },
    Yield {
        via_slot: u8,
    },
    Resume {
        fault: bool,
    },
}

impl Request {
    fn step(self, instance: Instance, pending: Pending) -> Step {
        let cont = Continuation(Box::new(Suspended { instance, pending }));
        match self {
            Request::Call {
                target,
                endpoint,
                input,
                gas_limit,
            } => Step::Call {
                target,
                endpoint,
                input,
                gas_limit,
                cont,
            },
            Request::Yield { via_slot } => Step::Yield { via_slot, cont },
            Request::Resume { fault } => Step::Resume { fault, cont },
        }
    }
}

/// Runs host call `id` (already paid for).
fn host_call(id: u32, instance: &mut Instance, cx: &mut Context<'_>) -> Result<Exit> {
    let regs = instance.regs();
    let trap = Ok(Exit::Stop(Outcome::Fault(FaultReason::Trap)));
    let returning = Pending::Call {
        out: regs[11],
        out_len: regs[12],
    };
    let request = if let Some(which) = CapCall::from_id(id) {
        match which {
            CapCall::call_cap => {
                let Ok(operand) = u16::try_from(regs[7]) else {
                    instance.set_reg(reg(7), host::WHAT);
                    return Ok(Exit::Continue);
                };
                let [slot, endpoint] = operand.to_le_bytes();
                let Ok(input) = read_input(instance, regs[8], regs[9]) else {
                    return trap;
                };
                Request::Call {
                    target: CallTarget::Slot(slot),
                    endpoint,
                    input,
                    gas_limit: regs[10],
                }
            }
            CapCall::r#yield => {
                let Some(via_slot) = caps::slot(regs[7]) else {
                    instance.set_reg(reg(7), host::WHAT);
                    return Ok(Exit::Continue);
                };
                return Ok(Exit::Suspend(Request::Yield { via_slot }, Pending::Yield));
            }
            CapCall::resume | CapCall::resume_fault => Request::Resume {
                fault: which == CapCall::resume_fault,
            },
            _ => {
                return Ok(match caps::run(which, instance, cx.host)? {
                    Ok(()) => Exit::Continue,
                    Err(host::Panic) => Exit::Stop(Outcome::Fault(FaultReason::Trap)),
                });
            }
        }
    } else {
        let Some(which) = HostCall::from_id(id) else {
            instance.set_reg(reg(7), host::WHAT);
            return Ok(Exit::Continue);
        };
        if which != HostCall::call {
            return Ok(match host::dispatch(which, instance, cx)? {
                Next::Resume => Exit::Continue,
                Next::Stop(outcome) => Exit::Stop(outcome),
            });
        }
        let mut callee = [0u8; 20];
        let read_callee = u32::try_from(regs[7])
            .ok()
            .and_then(|address| instance.read(address, &mut callee).ok());
        let (Some(()), Ok(input)) = (read_callee, read_input(instance, regs[8], regs[9])) else {
            return trap;
        };
        Request::Call {
            target: CallTarget::Identity(Identity(callee)),
            endpoint: 0,
            input,
            gas_limit: regs[10],
        }
    };
    Ok(Exit::Suspend(request, returning))
}

/// Call data at `[address, address + len)`, checked before it is copied.
fn read_input(instance: &Instance, address: u64, len: u64) -> std::result::Result<Vec<u8>, ()> {
    let (Ok(address), Ok(len)) = (u32::try_from(address), u32::try_from(len)) else {
        return Err(());
    };
    instance.read_vec(address, len).map_err(|_| ())
}

fn reg(i: u8) -> Reg {
    Reg::new(i).expect("register index below 13")
}

fn gas_i64(gas: u64) -> i64 {
    i64::try_from(gas).unwrap_or(i64::MAX)
}

/// The output of a halt: memory `[r7, r7 + r8)`, or nothing if that is not
/// readable (GP 0.7.2 Ψ_M).
fn halt_output(instance: &impl GuestAccess) -> Vec<u8> {
    let (address, len) = (instance.reg(reg(7)), instance.reg(reg(8)));
    match (u32::try_from(address), u32::try_from(len)) {
        // An unreadable range is a defined outcome (empty output), not a
        // failure to process.
        (Ok(address), Ok(len)) => instance.read_vec(address, len).unwrap_or_default(),
        _ => Vec::new(),
    }
}
