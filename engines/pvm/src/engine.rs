//! [`PvmEngine`]: the PVM as a Braid [`Engine`] (engine id `0x02`, RFC 0003).

use std::sync::RwLock;

use braid_core::{
    CoreError, Engine, EngineFailure, EngineId, FaultCode, FaultReason, Host, Message, Outcome,
    Result, ScopeKind,
};
use rustc_hash::FxHashMap;

use crate::PvmError;
use crate::api::{Config, ExitReason, GuestAccess, Instance, Module};
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

    fn call(&self, host: &mut dyn Host, message: &Message) -> Result<Outcome> {
        let me = host.self_identity();
        let Some(hash) = host.instance_code_hash()? else {
            return Ok(Outcome::Fault(FaultReason::NoSuchInstance { identity: me }));
        };
        if message.value != [0; 32] {
            return Ok(Outcome::Fault(FaultReason::Engine {
                code: FaultCode::ValueNotAccepted,
            }));
        }
        let module = self.module(&hash, host)?;
        let start_gas = host.gas_left();
        let Ok(mut instance) = Instance::standard(&module, &message.input, gas_i64(start_gas))
        else {
            return Ok(Outcome::Fault(FaultReason::Engine {
                code: FaultCode::InputTooLarge,
            }));
        };
        let mut cx = Context {
            caller: message.caller,
            me,
            input: &message.input,
            host,
        };
        loop {
            let exit = instance.run();
            // Settle the gas the guest used since the last exit.
            let left = instance.gas().max(0) as u64;
            let used = cx.host.gas_left().saturating_sub(left);
            if cx.host.charge_gas(used).is_err() {
                return Ok(Outcome::Fault(FaultReason::OutOfGas));
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
                    let Some(which) = HostCall::from_id(id) else {
                        if cx.host.charge_gas(host::BASE_GAS).is_err() {
                            return Ok(Outcome::Fault(FaultReason::OutOfGas));
                        }
                        instance.set_reg(reg(7), host::WHAT);
                        instance.set_gas(gas_i64(cx.host.gas_left()));
                        continue;
                    };
                    if cx
                        .host
                        .charge_gas(host::price(which, &instance.regs()))
                        .is_err()
                    {
                        return Ok(Outcome::Fault(FaultReason::OutOfGas));
                    }
                    match host::dispatch(which, &mut instance, &mut cx)? {
                        Next::Resume => {
                            instance.set_gas(gas_i64(cx.host.gas_left()));
                            continue;
                        }
                        Next::Stop(outcome) => outcome,
                    }
                }
            };
            return Ok(outcome);
        }
    }
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
