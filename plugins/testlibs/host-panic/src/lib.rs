//! `braid-testlib-host-panic`: a plugin whose `call` drives one host
//! callback, chosen by the first input byte, with fixed marker arguments
//! ([`MARKER_KEY`], [`MARKER_IDENTITY`], [`MARKER_GAS`], [`MARKER_TOPIC`]).
//! The loader's tests run it under a test host that panics when it sees a
//! marker, so the panic happens inside the Rust code of a host callback,
//! behind the loader's own `catch_unwind` guard, and never inside the
//! plugin. Never pin it in a chain spec.
//!
//! A call does, in order:
//! 1. `storage_set("before", "1")`;
//! 2. the chosen callback (see [`Callback`]) with the marker arguments;
//! 3. `storage_set("after", "1")`.
//!
//! If any host function returned `host::ERROR` (for `gas_left`, which
//! cannot say so, a result of 0 counts), it returns `HOST_ERROR`, as the
//! ABI asks of a plugin whose host failed. Otherwise it halts with the
//! three statuses (4 bytes each, little-endian) followed by the value
//! `gas_left` returned (8 bytes, little-endian; 0 unless the callback was
//! `gas_left`). An unknown selector traps.

#![deny(unsafe_code)]

use std::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};

use braid_plugin_abi::{
    BRAID_PLUGIN_ABI_MAJOR, BRAID_PLUGIN_ABI_MINOR, BRAID_PLUGIN_MAGIC, BraidBytes,
    BraidHostContext, BraidHostVtable, BraidMessage, BraidPluginDescriptor, BraidSink,
    StaticDescriptor, host, status,
};

/// The engine name in the descriptor.
pub const ENGINE_NAME: &str = "host-panic";

/// The own-scope key passed to `storage_get`, `storage_set`,
/// `storage_delete` and `state_read`, and the data of `log`.
pub const MARKER_KEY: &[u8] = b"boom";
/// The identity passed to `state_read`.
pub const MARKER_IDENTITY: [u8; 20] = [0xB0; 20];
/// The engine passed to `state_read` (the EVM).
pub const MARKER_ENGINE: u8 = 0x01;
/// The amount passed to `charge_gas`, in native gas.
pub const MARKER_GAS: u64 = 0xB00B;
/// The one topic passed to `log`.
pub const MARKER_TOPIC: [u8; 32] = [0xB0; 32];
/// The key written before the chosen callback.
pub const BEFORE_KEY: &[u8] = b"before";
/// The key written after the chosen callback.
pub const AFTER_KEY: &[u8] = b"after";

/// The host callback a call drives: the first input byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Callback {
    /// `storage_get(MARKER_KEY)`.
    StorageGet = 0,
    /// `storage_set(MARKER_KEY, "x")`.
    StorageSet = 1,
    /// `storage_delete(MARKER_KEY)`.
    StorageDelete = 2,
    /// `state_read(MARKER_ENGINE, MARKER_IDENTITY, MARKER_KEY)`.
    StateRead = 3,
    /// `charge_gas(MARKER_GAS)`.
    ChargeGas = 4,
    /// `gas_left()`.
    GasLeft = 5,
    /// `log([MARKER_TOPIC], MARKER_KEY)`.
    Log = 6,
}

impl Callback {
    /// Every callback of the ABI 1.0 host vtable, in vtable order.
    pub const ALL: [Callback; 7] = [
        Callback::StorageGet,
        Callback::StorageSet,
        Callback::StorageDelete,
        Callback::StateRead,
        Callback::ChargeGas,
        Callback::GasLeft,
        Callback::Log,
    ];

    /// The vtable function's name, as the loader names it in errors.
    pub fn name(self) -> &'static str {
        match self {
            Callback::StorageGet => "storage_get",
            Callback::StorageSet => "storage_set",
            Callback::StorageDelete => "storage_delete",
            Callback::StateRead => "state_read",
            Callback::ChargeGas => "charge_gas",
            Callback::GasLeft => "gas_left",
            Callback::Log => "log",
        }
    }

    fn from_byte(byte: u8) -> Option<Callback> {
        Callback::ALL.into_iter().find(|c| *c as u8 == byte)
    }
}

static DESCRIPTOR: StaticDescriptor = StaticDescriptor(BraidPluginDescriptor {
    magic: BRAID_PLUGIN_MAGIC,
    abi_major: BRAID_PLUGIN_ABI_MAJOR,
    abi_minor: BRAID_PLUGIN_ABI_MINOR,
    struct_size: size_of::<BraidPluginDescriptor>() as u32,
    reserved: 0,
    name: BraidBytes {
        ptr: ENGINE_NAME.as_ptr(),
        len: ENGINE_NAME.len(),
    },
    validate: Some(validate),
    call: Some(call),
});

/// The one exported symbol (`braid_plugin_descriptor`).
#[allow(unsafe_code, reason = "no_mangle: the exported descriptor symbol")]
#[unsafe(no_mangle)]
pub extern "C" fn braid_plugin_descriptor() -> *const BraidPluginDescriptor {
    DESCRIPTOR.as_ptr()
}

/// `validate`: any non-empty code is accepted (the code is never run).
#[allow(unsafe_code, reason = "C ABI export reading host-lent slices")]
unsafe extern "C" fn validate(code: BraidBytes, reason: BraidSink) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        if code.len == 0 {
            // SAFETY: `reason` is the sink the host handed to this call.
            unsafe { reason.put(b"empty code") };
            return status::INVALID_CODE;
        }
        status::OK
    }))
    .unwrap_or(status::PANIC)
}

/// `call`: the sequence of the crate docs.
#[allow(unsafe_code, reason = "C ABI export calling through the host vtable")]
unsafe extern "C" fn call(
    vtable: *const BraidHostVtable,
    ctx: *mut BraidHostContext,
    message: *const BraidMessage,
    output: BraidSink,
) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        if vtable.is_null() || message.is_null() {
            return status::INTERNAL_ERROR;
        }
        // SAFETY: both are non-null and the host keeps them alive and
        // unmodified for the duration of this call (ABI ownership rule).
        let (vt, message) = unsafe { (&*vtable, &*message) };
        if (vt.struct_size as usize) < size_of::<BraidHostVtable>() {
            return status::INTERNAL_ERROR;
        }
        // SAFETY: the message's input is lent for this call.
        let input = unsafe { message.input.as_slice() };
        let Some(callback) = input.first().copied().and_then(Callback::from_byte) else {
            return status::TRAP;
        };
        let host = Vtable { vt, ctx };
        let before = host.storage_set(BEFORE_KEY, b"1");
        let mut read = Vec::new();
        let mut gas_left = 0u64;
        let during = match callback {
            Callback::StorageGet => host.storage_get(MARKER_KEY, &mut read),
            Callback::StorageSet => host.storage_set(MARKER_KEY, b"x"),
            Callback::StorageDelete => host.storage_delete(MARKER_KEY),
            Callback::StateRead => host.state_read(&mut read),
            Callback::ChargeGas => host.charge_gas(MARKER_GAS),
            Callback::GasLeft => {
                gas_left = host.gas_left();
                if gas_left == 0 { host::ERROR } else { host::OK }
            }
            Callback::Log => host.log(),
        };
        let after = host.storage_set(AFTER_KEY, b"1");
        if [before, during, after].contains(&host::ERROR) {
            return status::HOST_ERROR;
        }
        let mut out = Vec::with_capacity(20);
        for s in [before, during, after] {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out.extend_from_slice(&gas_left.to_le_bytes());
        // SAFETY: `output` is the sink the host handed to this call.
        unsafe { output.put(&out) };
        status::HALT
    }))
    .unwrap_or(status::PANIC)
}

/// The host vtable and context of one call.
struct Vtable<'a> {
    vt: &'a BraidHostVtable,
    ctx: *mut BraidHostContext,
}

// SAFETY (every block below): `vt` and `ctx` are the ones handed to the
// running call, and every slice, identity and sink buffer lent outlives the
// callback it is lent to.
#[allow(unsafe_code, reason = "calls through the host vtable")]
impl Vtable<'_> {
    fn storage_set(&self, key: &[u8], value: &[u8]) -> u32 {
        // SAFETY: see the impl.
        unsafe {
            (self.vt.storage_set)(
                self.ctx,
                BraidBytes::from_slice(key),
                BraidBytes::from_slice(value),
            )
        }
    }

    fn storage_get(&self, key: &[u8], out: &mut Vec<u8>) -> u32 {
        // SAFETY: see the impl.
        unsafe {
            (self.vt.storage_get)(
                self.ctx,
                BraidBytes::from_slice(key),
                BraidSink::to_vec(out),
            )
        }
    }

    fn storage_delete(&self, key: &[u8]) -> u32 {
        // SAFETY: see the impl.
        unsafe { (self.vt.storage_delete)(self.ctx, BraidBytes::from_slice(key)) }
    }

    fn state_read(&self, out: &mut Vec<u8>) -> u32 {
        // SAFETY: see the impl; the identity is 20 bytes.
        unsafe {
            (self.vt.state_read)(
                self.ctx,
                MARKER_ENGINE,
                MARKER_IDENTITY.as_ptr(),
                BraidBytes::from_slice(MARKER_KEY),
                BraidSink::to_vec(out),
            )
        }
    }

    fn charge_gas(&self, amount: u64) -> u32 {
        // SAFETY: see the impl.
        unsafe { (self.vt.charge_gas)(self.ctx, amount) }
    }

    fn gas_left(&self) -> u64 {
        // SAFETY: see the impl.
        unsafe { (self.vt.gas_left)(self.ctx) }
    }

    fn log(&self) -> u32 {
        // SAFETY: see the impl; one 32-byte topic.
        unsafe {
            (self.vt.log)(
                self.ctx,
                MARKER_TOPIC.as_ptr(),
                1,
                BraidBytes::from_slice(MARKER_KEY),
            )
        }
    }
}
