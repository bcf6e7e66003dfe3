//! The PVM host calls (RFC 0003): `ecalli n` mapped onto [`braid_core::Host`].
//!
//! The table (ids, names, prices, sentinels) and the engine-independent
//! semantics live in [`braid_precompiles::host_calls`], shared with the WASM
//! engine; this module only decodes `r7..r12` and guest memory and writes
//! results to `r7` (and `r8`). Guest memory that a call cannot read or
//! write makes the invocation panic (GP 0.7.2), with nothing written.

use braid_core::{FaultReason, Host, Identity, Outcome, Result};
use braid_precompiles::host_calls::{self, Lookup};
use braid_precompiles::{self as precompiles};

pub use braid_precompiles::host_calls::{BASE_GAS, FULL, HostCall, NONE, OK, WHAT};

use crate::api::GuestAccess;
use crate::isa::Reg;
use crate::memory::AccessFault;

/// The price of `which` with the sizes taken from the guest's registers
/// (RFC 0003 table: which register holds each call's size).
pub fn price(which: HostCall, regs: &[u64; 13]) -> u64 {
    let (len, topics) = match which {
        HostCall::input => (regs[9], 0),
        HostCall::storage_read => (regs[11], 0),
        HostCall::state_read => (regs[12], 0),
        HostCall::storage_write | HostCall::log => (regs[10], regs[8]),
        HostCall::blake2b_256 | HostCall::keccak_256 => (regs[8], 0),
        HostCall::ed25519_verify => (regs[9], 0),
        _ => (0, 0),
    };
    which.price(len, topics)
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
pub(crate) struct Panic;

impl From<AccessFault> for Panic {
    fn from(_: AccessFault) -> Panic {
        Panic
    }
}

pub(crate) fn ptr(value: u64) -> std::result::Result<u32, Panic> {
    u32::try_from(value).map_err(|_| Panic)
}

pub(crate) fn read(
    guest: &dyn GuestAccess,
    address: u64,
    len: u64,
) -> std::result::Result<Vec<u8>, Panic> {
    let len = u32::try_from(len).map_err(|_| Panic)?;
    Ok(guest.read_vec(ptr(address)?, len)?)
}

pub(crate) fn read_array<const N: usize>(
    guest: &dyn GuestAccess,
    address: u64,
) -> std::result::Result<[u8; N], Panic> {
    let mut out = [0u8; N];
    guest.read(ptr(address)?, &mut out)?;
    Ok(out)
}

pub(crate) fn write(
    guest: &mut dyn GuestAccess,
    address: u64,
    bytes: &[u8],
) -> std::result::Result<(), Panic> {
    if bytes.is_empty() {
        return Ok(());
    }
    Ok(guest.write(ptr(address)?, bytes)?)
}

/// Copies `value[offset..]`, at most `len` bytes, to `buf` (checked first).
pub(crate) fn write_window(
    guest: &mut dyn GuestAccess,
    buf: u64,
    offset: u64,
    len: u64,
    value: &[u8],
) -> std::result::Result<(), Panic> {
    write(guest, buf, host_calls::window(value, offset, len))
}

/// Runs host call `which` (already paid for) on the guest.
///
/// # Errors
/// Host failures (the block stops); guest mistakes are outcomes.
pub(crate) fn dispatch(
    which: HostCall,
    instance: &mut dyn GuestAccess,
    cx: &mut Context<'_>,
) -> Result<Next> {
    match run(which, instance, cx) {
        Ok(next) => next,
        Err(Panic) => Ok(Next::Stop(Outcome::Fault(FaultReason::Trap))),
    }
}

fn run(
    which: HostCall,
    instance: &mut dyn GuestAccess,
    cx: &mut Context<'_>,
) -> std::result::Result<Result<Next>, Panic> {
    let r = instance.regs();
    let set = |instance: &mut dyn GuestAccess, value: u64| instance.set_reg(r7(), value);
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
            let key = read(instance, r[7], r[8])?;
            match host!(host_calls::storage_read(cx.host, &cx.me, &key)) {
                Lookup::Found(value) => {
                    write_window(instance, r[9], r[10], r[11], &value)?;
                    set(instance, value.len() as u64);
                }
                Lookup::Absent => set(instance, NONE),
                Lookup::Full => set(instance, FULL),
            }
        }
        HostCall::storage_write => {
            let key = read(instance, r[7], r[8])?;
            let value = read(instance, r[9], r[10])?;
            let status = host!(host_calls::storage_write(cx.host, &cx.me, &key, &value));
            set(instance, status);
        }
        HostCall::storage_delete => {
            let key = read(instance, r[7], r[8])?;
            let status = host!(host_calls::storage_delete(cx.host, &cx.me, &key));
            set(instance, status);
        }
        HostCall::evm_storage_read => {
            let address: [u8; 20] = read_array(instance, r[7])?;
            let slot: [u8; 32] = read_array(instance, r[8])?;
            instance.check_writable(ptr(r[9])?, 32)?;
            let word = host!(host_calls::evm_storage_read(cx.host, address, slot));
            write(instance, r[9], &word)?;
            set(instance, OK);
        }
        HostCall::state_read => {
            let Some(engine) = host_calls::state_read_engine(r[7]) else {
                set(instance, WHAT);
                return Ok(Ok(Next::Resume));
            };
            let identity: [u8; 20] = read_array(instance, r[8])?;
            let key = read(instance, r[9], r[10])?;
            match host!(host_calls::state_read(cx.host, engine, identity, &key)) {
                Lookup::Found(value) => {
                    write_window(instance, r[11], 0, r[12], &value)?;
                    set(instance, value.len() as u64);
                }
                Lookup::Absent => set(instance, NONE),
                Lookup::Full => set(instance, FULL),
            }
        }
        HostCall::log => {
            if r[8] > host_calls::MAX_TOPICS {
                set(instance, WHAT);
                return Ok(Ok(Next::Resume));
            }
            let topics = read(instance, r[7], r[8] * 32)?;
            let data = read(instance, r[9], r[10])?;
            let status = host!(host_calls::log(cx.host, &cx.me, &topics, data));
            set(instance, status);
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
            set(
                instance,
                host_calls::ed25519_verify(&key, &message, &signature),
            );
        }
        HostCall::call => {
            let callee: [u8; 20] = read_array(instance, r[7])?;
            let input = read(instance, r[8], r[9])?;
            let (status, output) = host!(host_calls::call(cx.host, callee, input, r[10]));
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
