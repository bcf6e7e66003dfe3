//! The PVM host calls (RFC 0003): `ecalli n` mapped onto [`braid_core::Host`].
//!
//! [`HostCall`] is the table (id, name), declared once; [`HostCall::price`]
//! the gas of each. Arguments are in `r7..r12`, results in `r7` (and `r8`).
//! Guest memory that a call cannot read or write makes the invocation panic
//! (GP 0.7.2), with nothing written.

use braid_core::{EngineId, FaultReason, Host, Identity, Outcome, Result};
use braid_precompiles::{self as precompiles, prices};

use crate::interpreter::Instance;
use crate::isa::Reg;
use crate::memory::AccessFault;

/// `OK`: success.
pub const OK: u64 = 0;
/// `NONE`: the key has no value (GP B.5: 2^64 − 1).
pub const NONE: u64 = u64::MAX;
/// `WHAT`: unknown host call, or an argument out of its domain (2^64 − 2).
pub const WHAT: u64 = u64::MAX - 1;
/// `FULL`: key or value over the state limits (2^64 − 5).
pub const FULL: u64 = u64::MAX - 4;

/// Base price of every host call, PVM gas.
pub const BASE_GAS: u64 = 10;

macro_rules! host_calls {
    ($($(#[$doc:meta])* $name:ident = $id:literal,)*) => {
        /// A host call id (the `ecalli` immediate), RFC 0003.
        #[allow(non_camel_case_types, reason = "RFC 0003 names")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum HostCall {
            $($(#[$doc])* $name = $id,)*
        }

        impl HostCall {
            /// The host call with id `id`.
            pub fn from_id(id: u32) -> Option<HostCall> {
                match id {
                    $($id => Some(HostCall::$name),)*
                    _ => None,
                }
            }

            /// The RFC 0003 name.
            pub fn name(self) -> &'static str {
                match self {
                    $(HostCall::$name => stringify!($name),)*
                }
            }
        }
    };
}

host_calls! {
    /// `r7` = gas left.
    gas = 0,
    /// Copy input bytes.
    input = 1,
    /// Write the caller's identity.
    caller = 2,
    /// Write the running instance's identity.
    self_identity = 3,
    /// Read own storage.
    storage_read = 4,
    /// Write own storage.
    storage_write = 5,
    /// Delete own storage.
    storage_delete = 6,
    /// Read an EVM storage slot (cross-engine).
    evm_storage_read = 7,
    /// Read any engine's storage (cross-engine).
    state_read = 8,
    /// Emit a log.
    log = 9,
    /// blake2b-256.
    blake2b_256 = 10,
    /// keccak-256.
    keccak_256 = 11,
    /// ed25519 signature check.
    ed25519_verify = 12,
    /// Call another PVM module through the kernel.
    call = 13,
    /// End the invocation with `Outcome::Revert`.
    revert = 14,
}

fn words(len: u64) -> u64 {
    len.div_ceil(32)
}

impl HostCall {
    /// Gas charged before the call runs, PVM gas (RFC 0003 table). `regs`
    /// are the guest's registers: sizes come from them.
    pub fn price(self, regs: &[u64; 13]) -> u64 {
        let r = |i: usize| regs[i];
        match self {
            HostCall::gas | HostCall::caller | HostCall::self_identity | HostCall::revert => {
                BASE_GAS
            }
            HostCall::input => BASE_GAS + words(r(9)),
            HostCall::storage_read => 200 + words(r(11)),
            HostCall::storage_write => 2000u64.saturating_add(8u64.saturating_mul(words(r(10)))),
            HostCall::storage_delete => 2000,
            HostCall::evm_storage_read => 2100,
            HostCall::state_read => 2100 + words(r(12)),
            HostCall::log => 375u64
                .saturating_add(375u64.saturating_mul(r(8).min(5)))
                .saturating_add(8u64.saturating_mul(r(10))),
            HostCall::blake2b_256 => prices::BLAKE2B_256.of(r(8)),
            HostCall::keccak_256 => prices::KECCAK_256.of(r(8)),
            HostCall::ed25519_verify => prices::ED25519_VERIFY.of(r(9)),
            HostCall::call => 700,
        }
    }
}

/// What the engine does after a host call.
pub(crate) enum Next {
    /// Resume the guest.
    Resume,
    /// End the invocation with this outcome.
    Stop(Outcome),
}

/// The invocation's context for host calls.
pub(crate) struct Context<'a> {
    pub host: &'a mut dyn Host,
    pub me: Identity,
    pub caller: Identity,
    pub input: &'a [u8],
}

fn r7() -> Reg {
    Reg::clamped(7)
}
fn r8() -> Reg {
    Reg::clamped(8)
}

/// A guest memory failure inside a host call: the invocation panics.
struct Panic;

impl From<AccessFault> for Panic {
    fn from(_: AccessFault) -> Panic {
        Panic
    }
}

fn ptr(value: u64) -> std::result::Result<u32, Panic> {
    u32::try_from(value).map_err(|_| Panic)
}

fn read(instance: &Instance, address: u64, len: u64) -> std::result::Result<Vec<u8>, Panic> {
    let len = u32::try_from(len).map_err(|_| Panic)?;
    Ok(instance.memory().read_vec(ptr(address)?, len)?)
}

fn read_array<const N: usize>(
    instance: &Instance,
    address: u64,
) -> std::result::Result<[u8; N], Panic> {
    let mut out = [0u8; N];
    instance.memory().read_slow(ptr(address)?, &mut out)?;
    Ok(out)
}

fn write(instance: &mut Instance, address: u64, bytes: &[u8]) -> std::result::Result<(), Panic> {
    if bytes.is_empty() {
        return Ok(());
    }
    Ok(instance.memory_mut().write(ptr(address)?, bytes)?)
}

/// Copies `value[offset..]`, at most `len` bytes, to `buf` (checked first).
fn write_window(
    instance: &mut Instance,
    buf: u64,
    offset: u64,
    len: u64,
    value: &[u8],
) -> std::result::Result<(), Panic> {
    let start = (offset.min(value.len() as u64)) as usize;
    let n = (len.min((value.len() - start) as u64)) as usize;
    write(instance, buf, &value[start..start + n])
}

/// The engine key of own storage key `key`: `0x01 ‖ key`.
fn storage_key(key: &[u8]) -> Vec<u8> {
    precompiles::read::storage_key(key)
}

/// Runs host call `call` (already paid for) on `instance`.
///
/// # Errors
/// Host failures (the block stops); guest mistakes are outcomes.
pub(crate) fn dispatch(
    which: HostCall,
    instance: &mut Instance,
    cx: &mut Context<'_>,
) -> Result<Next> {
    match run(which, instance, cx) {
        Ok(next) => next,
        Err(Panic) => Ok(Next::Stop(Outcome::Fault(FaultReason::Trap))),
    }
}

/// Oversized keys and values are `FULL`, not errors: the guest may retry.
fn is_size_error(error: &braid_core::CoreError) -> bool {
    use braid_core::StateError;
    matches!(
        error,
        braid_core::CoreError::State(
            StateError::EngineKeyTooLong { .. } | StateError::ValueTooLarge { .. }
        )
    )
}

fn run(
    which: HostCall,
    instance: &mut Instance,
    cx: &mut Context<'_>,
) -> std::result::Result<Result<Next>, Panic> {
    let r = instance.regs();
    let set = |instance: &mut Instance, value: u64| instance.set_reg(r7(), value);
    macro_rules! host {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            }
        };
    }
    match which {
        HostCall::gas => set(instance, cx.host.gas_left()),
        HostCall::input => {
            write_window(instance, r[7], r[8], r[9], cx.input)?;
            set(instance, cx.input.len() as u64);
        }
        HostCall::caller => {
            write(instance, r[7], &cx.caller.0)?;
            set(instance, OK);
        }
        HostCall::self_identity => {
            write(instance, r[7], &cx.me.0)?;
            set(instance, OK);
        }
        HostCall::storage_read => {
            let key = storage_key(&read(instance, r[7], r[8])?);
            let value = match cx.host.get(&cx.me, &key) {
                Ok(v) => v,
                Err(e) if is_size_error(&e) => {
                    set(instance, FULL);
                    return Ok(Ok(Next::Resume));
                }
                Err(e) => return Ok(Err(e)),
            };
            match value {
                Some(value) => {
                    write_window(instance, r[9], r[10], r[11], &value)?;
                    set(instance, value.len() as u64);
                }
                None => set(instance, NONE),
            }
        }
        HostCall::storage_write => {
            let key = storage_key(&read(instance, r[7], r[8])?);
            let value = read(instance, r[9], r[10])?;
            match cx.host.set(&cx.me, &key, &value) {
                Ok(()) => set(instance, OK),
                Err(e) if is_size_error(&e) => set(instance, FULL),
                Err(e) => return Ok(Err(e)),
            }
        }
        HostCall::storage_delete => {
            let key = storage_key(&read(instance, r[7], r[8])?);
            match cx.host.delete(&cx.me, &key) {
                Ok(()) => set(instance, OK),
                Err(e) if is_size_error(&e) => set(instance, FULL),
                Err(e) => return Ok(Err(e)),
            }
        }
        HostCall::evm_storage_read => {
            let address: [u8; 20] = read_array(instance, r[7])?;
            let slot: [u8; 32] = read_array(instance, r[8])?;
            instance.memory().check_writable(ptr(r[9])?, 32)?;
            let value = host!(cx.host.read_state(
                EngineId::EVM,
                &Identity(address),
                &storage_key(&slot)
            ));
            let mut word = [0u8; 32];
            if let Some(v) = value {
                let n = v.len().min(32);
                word[32 - n..].copy_from_slice(&v[v.len() - n..]);
            }
            write(instance, r[9], &word)?;
            set(instance, OK);
        }
        HostCall::state_read => {
            let Ok(engine) = u8::try_from(r[7]) else {
                set(instance, WHAT);
                return Ok(Ok(Next::Resume));
            };
            let identity: [u8; 20] = read_array(instance, r[8])?;
            let key = storage_key(&read(instance, r[9], r[10])?);
            let value = match cx
                .host
                .read_state(EngineId(engine), &Identity(identity), &key)
            {
                Ok(v) => v,
                Err(e) if is_size_error(&e) => {
                    set(instance, FULL);
                    return Ok(Ok(Next::Resume));
                }
                Err(e) => return Ok(Err(e)),
            };
            match value {
                Some(value) => {
                    write_window(instance, r[11], 0, r[12], &value)?;
                    set(instance, value.len() as u64);
                }
                None => set(instance, NONE),
            }
        }
        HostCall::log => {
            if r[8] > 4 {
                set(instance, WHAT);
                return Ok(Ok(Next::Resume));
            }
            let topic_bytes = read(instance, r[7], r[8] * 32)?;
            let topics = topic_bytes
                .chunks_exact(32)
                .map(|t| t.try_into().expect("32-byte chunks"))
                .collect();
            let data = read(instance, r[9], r[10])?;
            host!(cx.host.log(&cx.me, topics, data));
            set(instance, OK);
        }
        HostCall::blake2b_256 | HostCall::keccak_256 => {
            let data = read(instance, r[7], r[8])?;
            let digest = if which == HostCall::blake2b_256 {
                precompiles::blake2b_256(&data)
            } else {
                precompiles::keccak_256(&data)
            };
            write(instance, r[9], &digest)?;
            set(instance, OK);
        }
        HostCall::ed25519_verify => {
            let key: [u8; 32] = read_array(instance, r[7])?;
            let message = read(instance, r[8], r[9])?;
            let signature: [u8; 64] = read_array(instance, r[10])?;
            let valid = precompiles::ed25519_verify(&key, &message, &signature);
            set(instance, u64::from(!valid));
        }
        HostCall::call => {
            let callee: [u8; 20] = read_array(instance, r[7])?;
            let input = read(instance, r[8], r[9])?;
            let result = host!(cx.host.call(Identity(callee), input, [0; 32], r[10]));
            let (status, output) = match result.outcome {
                Outcome::Halt { output } => (0, output),
                Outcome::Revert { output } => (1, output),
                Outcome::Fault(_) => (2, Vec::new()),
            };
            write_window(instance, r[11], 0, r[12], &output)?;
            set(instance, status);
            instance.set_reg(r8(), output.len() as u64);
        }
        HostCall::revert => {
            let data = read(instance, r[7], r[8])?;
            return Ok(Ok(Next::Stop(Outcome::Revert { output: data })));
        }
    }
    Ok(Ok(Next::Resume))
}
