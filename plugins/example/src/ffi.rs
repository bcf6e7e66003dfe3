//! The C ABI boundary of the stack engine: the descriptor, `validate` and
//! `call`, and the [`VmHost`] over the host vtable. Every export catches
//! panics: nothing unwinds into the host (a caught panic is
//! [`status::PANIC`], an internal error). Shared verbatim (by `#[path]`)
//! with `plugins/testlibs/faulty`.

use std::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};

use braid_plugin_abi::{
    BRAID_PLUGIN_ABI_MAJOR, BRAID_PLUGIN_ABI_MINOR, BRAID_PLUGIN_MAGIC, BraidBytes,
    BraidHostContext, BraidHostVtable, BraidMessage, BraidPluginDescriptor, BraidSink,
    StaticDescriptor, host, status,
};

use crate::vm::{self, Exit, HostStop, VmHost};

static DESCRIPTOR: StaticDescriptor = StaticDescriptor(BraidPluginDescriptor {
    magic: BRAID_PLUGIN_MAGIC,
    abi_major: BRAID_PLUGIN_ABI_MAJOR,
    abi_minor: BRAID_PLUGIN_ABI_MINOR,
    struct_size: size_of::<BraidPluginDescriptor>() as u32,
    reserved: 0,
    name: BraidBytes {
        ptr: crate::ENGINE_NAME.as_ptr(),
        len: crate::ENGINE_NAME.len(),
    },
    validate: Some(validate),
    call: Some(call),
});

/// The one exported symbol (`braid_plugin_descriptor`): the engine's descriptor.
#[allow(unsafe_code, reason = "no_mangle: the exported descriptor symbol")]
#[unsafe(no_mangle)]
pub extern "C" fn braid_plugin_descriptor() -> *const BraidPluginDescriptor {
    DESCRIPTOR.as_ptr()
}

/// `validate`: [`vm::validate`] with this build's fault-opcode setting.
#[allow(unsafe_code, reason = "C ABI export reading host-lent slices")]
unsafe extern "C" fn validate(code: BraidBytes, reason: BraidSink) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host lends `code` for the duration of this call.
        let code = unsafe { code.as_slice() };
        match vm::validate(code, crate::FAULT_OPCODES) {
            Ok(()) => status::OK,
            Err(invalid) => {
                // SAFETY: `reason` is the sink the host handed to this call.
                unsafe { reason.put(invalid.to_string().as_bytes()) };
                status::INVALID_CODE
            }
        }
    }))
    .unwrap_or(status::PANIC)
}

/// `call`: runs the message's code with [`vm::run`] over the host vtable.
#[allow(unsafe_code, reason = "C ABI export reading host-lent pointers")]
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
        let (vtable, message) = unsafe { (&*vtable, &*message) };
        if (vtable.struct_size as usize) < size_of::<BraidHostVtable>() {
            return status::INTERNAL_ERROR;
        }
        // SAFETY: the message's slices are lent for this call.
        let (code, input) = unsafe { (message.code.as_slice(), message.input.as_slice()) };
        let mut host = AbiHost { vtable, ctx };
        let put = |bytes: &[u8]| {
            // SAFETY: `output` is the sink the host handed to this call.
            unsafe { output.put(bytes) }
        };
        match vm::run(code, input, &message.value, &mut host) {
            Exit::Halt(out) => {
                put(&out);
                status::HALT
            }
            Exit::Revert(out) => {
                put(&out);
                status::REVERT
            }
            Exit::OutOfGas => status::OUT_OF_GAS,
            Exit::Trap => status::TRAP,
            Exit::HostError => status::HOST_ERROR,
        }
    }))
    .unwrap_or(status::PANIC)
}

/// The host vtable of one call, as a [`VmHost`].
struct AbiHost<'a> {
    vtable: &'a BraidHostVtable,
    ctx: *mut BraidHostContext,
}

fn host_stop(code: u32) -> HostStop {
    match code {
        host::OUT_OF_GAS => HostStop::OutOfGas,
        host::LIMIT => HostStop::Limit,
        _ => HostStop::Error,
    }
}

fn done(code: u32) -> Result<(), HostStop> {
    match code {
        host::OK => Ok(()),
        other => Err(host_stop(other)),
    }
}

fn found(code: u32, buf: Vec<u8>) -> Result<Option<Vec<u8>>, HostStop> {
    match code {
        host::OK => Ok(Some(buf)),
        host::NOT_FOUND => Ok(None),
        other => Err(host_stop(other)),
    }
}

#[allow(unsafe_code, reason = "calls through the host vtable")]
impl VmHost for AbiHost<'_> {
    fn charge_gas(&mut self, amount: u64) -> Result<(), HostStop> {
        // SAFETY: the vtable and context are the ones handed to this call.
        done(unsafe { (self.vtable.charge_gas)(self.ctx, amount) })
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostStop> {
        let mut buf = Vec::new();
        // SAFETY: as above; `key` and `buf` outlive the call.
        let code = unsafe {
            (self.vtable.storage_get)(
                self.ctx,
                BraidBytes::from_slice(key),
                BraidSink::to_vec(&mut buf),
            )
        };
        found(code, buf)
    }

    fn set(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), HostStop> {
        let key = BraidBytes::from_slice(key);
        // SAFETY: as above; `key` and `value` outlive the call.
        done(unsafe {
            match value {
                Some(v) => (self.vtable.storage_set)(self.ctx, key, BraidBytes::from_slice(v)),
                None => (self.vtable.storage_delete)(self.ctx, key),
            }
        })
    }

    fn read(
        &mut self,
        engine: u8,
        identity: &[u8; 20],
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, HostStop> {
        let mut buf = Vec::new();
        // SAFETY: as above; `identity` is 20 bytes and, with `key` and
        // `buf`, outlives the call.
        let code = unsafe {
            (self.vtable.state_read)(
                self.ctx,
                engine,
                identity.as_ptr(),
                BraidBytes::from_slice(key),
                BraidSink::to_vec(&mut buf),
            )
        };
        found(code, buf)
    }

    fn log(&mut self, data: &[u8]) -> Result<(), HostStop> {
        // SAFETY: as above; no topics, `data` outlives the call.
        done(unsafe {
            (self.vtable.log)(self.ctx, std::ptr::null(), 0, BraidBytes::from_slice(data))
        })
    }
}
