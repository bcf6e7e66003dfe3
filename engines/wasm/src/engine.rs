//! [`WasmEngine`]: WebAssembly on wasmtime as a Braid [`Engine`] (engine id
//! `0x03`, RFC 0004).

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use braid_core::{
    CoreError, Engine, EngineId, FaultCode, FaultReason, Host, Message, Outcome, Result, ScopeKind,
    keccak256,
};
use rustc_hash::FxHashMap;
use wasmtime::{InstancePre, Linker, Module, Store, Trap};

use crate::config::{self, limits};
use crate::error::WasmError;
use crate::host::{self, Exit, Guest, Limits, Mailbox, Reply};
use crate::instrument;
use crate::validate::{self, ModuleFacts};

/// The wasmtime release Braid pins (root `Cargo.toml`); part of the cache key.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// What the module cache is keyed by: the code, the configuration that
/// compiled it and the compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// keccak-256 of the module bytes (the code hash of the instance record).
    pub code_hash: [u8; 32],
    /// Hash of the wasmtime configuration (and of wasmtime's own
    /// compatibility data, which includes its version) and of the
    /// stack-height instrumentation's parameters.
    pub config_hash: u64,
    /// [`WASMTIME_VERSION`].
    pub wasmtime_version: &'static str,
}

/// A validated, compiled module, ready to instantiate.
#[derive(Clone)]
pub struct Compiled {
    pre: InstancePre<Guest>,
    facts: ModuleFacts,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("facts", &self.facts)
            .finish()
    }
}

impl Compiled {
    /// Fuel charged before instantiation: [`limits::INSTANTIATE_FUEL`] plus
    /// [`limits::GROW_FUEL_PER_PAGE`] per initial page.
    pub fn instantiate_fuel(&self) -> u64 {
        limits::INSTANTIATE_FUEL + u64::from(limits::GROW_FUEL_PER_PAGE) * self.facts.initial_pages
    }
}

/// The WASM engine: validates and compiles modules with the deterministic
/// configuration of RFC 0004, caches them by [`CacheKey`], and runs calls
/// with the `"braid"` host functions.
pub struct WasmEngine {
    engine: wasmtime::Engine,
    linker: Linker<Guest>,
    config_hash: u64,
    modules: RwLock<FxHashMap<CacheKey, Compiled>>,
}

impl std::fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmEngine")
            .field("config_hash", &self.config_hash)
            .field("cached", &self.cached_modules())
            .finish()
    }
}

fn runtime(e: wasmtime::Error) -> WasmError {
    WasmError::Runtime {
        source: e.into_boxed_dyn_error(),
    }
}

fn core(e: WasmError) -> CoreError {
    CoreError::engine(EngineId::WASM, e.failure(), e)
}

impl WasmEngine {
    /// An engine with the RFC 0004 configuration; starts the watchdog
    /// thread, which ends when the engine is dropped.
    ///
    /// # Errors
    /// [`WasmError::Runtime`] if wasmtime refuses the configuration (or
    /// cannot reserve the instance pool).
    pub fn new() -> std::result::Result<WasmEngine, WasmError> {
        let engine = wasmtime::Engine::new(&config::wasmtime_config()).map_err(runtime)?;
        let mut linker = Linker::new(&engine);
        host::define(&mut linker).map_err(runtime)?;
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        WASMTIME_VERSION.hash(&mut hasher);
        // The instrumentation is part of the compiled code: a change of its
        // parameters must compile again.
        (
            validate::STACK_HEIGHT_EXPORT,
            limits::MAX_STACK_SLOTS,
            limits::FRAME_SLOTS,
            limits::MAX_WASM_STACK,
        )
            .hash(&mut hasher);
        let config_hash = hasher.finish();
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("braid-wasm-watchdog".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(Duration::from_millis(limits::WATCHDOG_TICK_MS));
                }
            })
            .map_err(|e| WasmError::Runtime {
                source: Box::new(e),
            })?;
        Ok(WasmEngine {
            engine,
            linker,
            config_hash,
            modules: RwLock::default(),
        })
    }

    /// The cache key of `code_hash` under this engine.
    pub fn cache_key(&self, code_hash: [u8; 32]) -> CacheKey {
        CacheKey {
            code_hash,
            config_hash: self.config_hash,
            wasmtime_version: WASMTIME_VERSION,
        }
    }

    /// Checks, instruments with the stack-height counter and compiles a
    /// module as deploy does (not cached).
    ///
    /// # Errors
    /// Every [`WasmError`] of the deploy-time checks, and
    /// [`WasmError::Compile`].
    pub fn load(&self, code: &[u8]) -> std::result::Result<Compiled, WasmError> {
        let (facts, weights) = validate::check_and_weigh(code)?;
        let code = instrument::instrument(code, &weights)?;
        let compile = |e: wasmtime::Error| WasmError::Compile {
            source: e.into_boxed_dyn_error(),
        };
        let module = Module::from_binary(&self.engine, &code).map_err(compile)?;
        let pre = self.linker.instantiate_pre(&module).map_err(compile)?;
        Ok(Compiled { pre, facts })
    }

    /// Modules in the in-memory cache.
    pub fn cached_modules(&self) -> usize {
        self.modules.read().map_or(0, |m| m.len())
    }

    /// Empties the module cache (the next call compiles again).
    pub fn clear_cache(&self) {
        if let Ok(mut modules) = self.modules.write() {
            modules.clear();
        }
    }

    fn cached(&self, hash: [u8; 32]) -> Option<Compiled> {
        let key = self.cache_key(hash);
        self.modules.read().ok().and_then(|m| m.get(&key).cloned())
    }

    fn insert(&self, hash: [u8; 32], compiled: Compiled) {
        if let Ok(mut modules) = self.modules.write() {
            modules.insert(self.cache_key(hash), compiled);
        }
    }

    fn module(&self, hash: [u8; 32], host: &mut dyn Host) -> Result<Compiled> {
        if let Some(compiled) = self.cached(hash) {
            return Ok(compiled);
        }
        let code = host.code(&hash)?.ok_or(CoreError::Invariant {
            what: "an instance record names code that is not stored",
        })?;
        // Deployed code passed `validate`; failing now means corrupt state.
        let compiled = self.load(&code).map_err(core)?;
        self.insert(hash, compiled.clone());
        Ok(compiled)
    }
}

impl Engine for WasmEngine {
    fn id(&self) -> EngineId {
        EngineId::WASM
    }

    fn name(&self) -> &'static str {
        "wasm"
    }

    fn scope_kind(&self) -> ScopeKind {
        ScopeKind::Instance
    }

    fn validate(&self, code: &[u8]) -> Result<()> {
        let hash = keccak256(code);
        let compiled = self
            .load(code)
            .map_err(|e| CoreError::invalid_code(EngineId::WASM, code, e.rejection(), e))?;
        self.insert(hash, compiled);
        Ok(())
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
        let compiled = self.module(hash, host)?;
        if host.charge_gas(compiled.instantiate_fuel()).is_err() {
            return Ok(Outcome::Fault(FaultReason::OutOfGas));
        }
        let mailbox = Arc::new(Mutex::new(Mailbox::default()));
        let mut store = Store::new(
            &self.engine,
            Guest {
                memory: None,
                input: message.input.clone(),
                caller: message.caller,
                me,
                mailbox: mailbox.clone(),
                limits: Limits,
            },
        );
        store.limiter(|guest| &mut guest.limits);
        let start = host.gas_left();
        store.set_fuel(start).map_err(|e| core(runtime(e)))?;
        store.set_epoch_deadline(limits::WATCHDOG_TICKS);
        store.epoch_deadline_trap();
        let pre = compiled.pre.clone();
        let run = async move {
            let result = run(&mut store, &pre).await;
            // Fuel is always on (config): an error here is wasmtime's, not the guest's.
            let fuel = store.get_fuel();
            (result, fuel)
        };
        let mut run = std::pin::pin!(run);
        let mut cx = Context::from_waker(Waker::noop());
        // Gas the kernel and the store agree on since the last exchange.
        let mut synced = start;
        let (result, fuel) = loop {
            match run.as_mut().poll(&mut cx) {
                Poll::Ready(done) => break done,
                Poll::Pending => {
                    let Some((fuel, request)) = host::lock(&mailbox).request.take() else {
                        return Err(CoreError::Invariant {
                            what: "a WASM guest suspended without a host request",
                        });
                    };
                    let reply = if host.charge_gas(synced.saturating_sub(fuel)).is_err() {
                        Reply::OutOfGas
                    } else {
                        let answer = host::serve(host, &me, request)?;
                        synced = host.gas_left();
                        Reply::Done {
                            gas_left: synced,
                            answer,
                        }
                    };
                    host::lock(&mailbox).reply = Some(reply);
                }
            }
        };
        let fuel = fuel.map_err(|e| core(runtime(e)))?;
        let settled = host.charge_gas(synced.saturating_sub(fuel)).is_ok();
        let out_of_gas = |host: &mut dyn Host| {
            let _ = host.charge_gas(host.gas_left());
            Ok(Outcome::Fault(FaultReason::OutOfGas))
        };
        let error = match result {
            Ok(output) if settled => return Ok(Outcome::Halt { output }),
            Ok(_) => return out_of_gas(host),
            Err(error) => error,
        };
        let error = match error.downcast::<Exit>() {
            Ok(Exit::Revert(output)) => return Ok(Outcome::Revert { output }),
            Ok(Exit::OutOfGas) => return out_of_gas(host),
            Ok(Exit::BadRange) => return Ok(Outcome::Fault(FaultReason::Trap)),
            Ok(Exit::MemoryLimit) => {
                return Ok(Outcome::Fault(FaultReason::Engine {
                    code: FaultCode::MemoryLimit,
                }));
            }
            Ok(Exit::StackLimit) => {
                return Ok(Outcome::Fault(FaultReason::Engine {
                    code: FaultCode::StackLimit,
                }));
            }
            Err(error) => error,
        };
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => out_of_gas(host),
            // The backstop; the counter decides first for accepted modules.
            Some(Trap::StackOverflow) => Ok(Outcome::Fault(FaultReason::Engine {
                code: FaultCode::StackLimit,
            })),
            Some(Trap::Interrupt) => Err(core(WasmError::Watchdog {
                seconds: limits::WATCHDOG_TICKS * limits::WATCHDOG_TICK_MS / 1000,
            })),
            Some(_) => Ok(Outcome::Fault(FaultReason::Trap)),
            None => Err(core(runtime(error))),
        }
    }
}

/// `error`, or [`Exit::StackLimit`] when it is the `unreachable` of a
/// stack-height wrapper: the trap is `unreachable` and the counter is past
/// [`limits::MAX_STACK_SLOTS`] (a guest's own `unreachable` leaves it
/// within bounds, since every wrapper checks it on entry).
fn stack_limit(
    store: &mut Store<Guest>,
    instance: &wasmtime::Instance,
    error: wasmtime::Error,
) -> wasmtime::Error {
    if !matches!(
        error.downcast_ref::<Trap>(),
        Some(Trap::UnreachableCodeReached)
    ) {
        return error;
    }
    let height = instance
        .get_global(&mut *store, validate::STACK_HEIGHT_EXPORT)
        .and_then(|global| global.get(&mut *store).i32());
    match height {
        Some(height) if height as u32 > limits::MAX_STACK_SLOTS => {
            wasmtime::Error::new(Exit::StackLimit)
        }
        _ => error,
    }
}

/// Instantiates and runs `call`, returning the output bytes.
async fn run(store: &mut Store<Guest>, pre: &InstancePre<Guest>) -> wasmtime::Result<Vec<u8>> {
    let instance = pre.instantiate_async(&mut *store).await?;
    // The module's start function, moved out of instantiation by the
    // instrumentation: it runs here, before `call` and before the host
    // functions see the memory, as it would have.
    if let Some(start) = instance.get_func(&mut *store, validate::START_EXPORT) {
        let start = start.typed::<(), ()>(&*store)?;
        if let Err(error) = start.call_async(&mut *store, ()).await {
            return Err(stack_limit(store, &instance, error));
        }
    }
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| wasmtime::Error::new(Exit::BadRange))?;
    store.data_mut().memory = Some(memory);
    let call = instance.get_typed_func::<(), i64>(&mut *store, "call")?;
    let packed = match call.call_async(&mut *store, ()).await {
        Ok(packed) => packed as u64,
        Err(error) => return Err(stack_limit(store, &instance, error)),
    };
    let (ptr, len) = ((packed >> 32) as usize, (packed & 0xFFFF_FFFF) as usize);
    memory
        .data(&*store)
        .get(ptr..ptr + len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| wasmtime::Error::new(Exit::BadRange))
}
