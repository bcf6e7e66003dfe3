//! The host vtable handed to a plugin: the kernel's [`Host`] behind C
//! callbacks. Each callback catches panics; storage functions prefix the
//! plugin's key with the storage namespace and use the running instance's
//! identity, which the plugin cannot choose.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use braid_core::key::MAX_VALUE_LEN;
use braid_core::{CoreError, EngineFailure, EngineId, Host, Identity};
use braid_plugin_abi::{BraidBytes, BraidHostContext, BraidHostVtable, BraidSink, host};
use braid_precompiles::host_calls::fits;

use crate::PluginError;

/// Most topics a plugin log may carry (as EVM `LOG4`).
pub const MAX_LOG_TOPICS: usize = 4;

/// What the callbacks of one call see, behind the opaque [`BraidHostContext`].
pub(crate) struct HostCtx<'a> {
    pub(crate) host: &'a mut dyn Host,
    pub(crate) identity: Identity,
    pub(crate) path: &'a Path,
    /// The first host failure; the call then fails with it, whatever the
    /// plugin returns, and every later callback returns [`host::ERROR`].
    pub(crate) error: Option<CoreError>,
}

impl HostCtx<'_> {
    /// Records a host failure, which stops the call ([`host::ERROR`]).
    /// (Key and value limits are checked before the host is asked: the
    /// guest sees [`host::LIMIT`].)
    fn fail(&mut self, error: CoreError) -> u32 {
        self.error.get_or_insert(error);
        host::ERROR
    }

    fn misuse(&mut self, function: &'static str, what: &'static str) -> u32 {
        let engine = self.host.engine();
        self.error.get_or_insert(CoreError::engine(
            engine,
            EngineFailure::Internal,
            PluginError::HostMisuse {
                path: self.path.to_path_buf(),
                function,
                what,
            },
        ));
        host::ERROR
    }
}

/// The vtable, the same for every call.
pub(crate) static HOST_VTABLE: BraidHostVtable = BraidHostVtable {
    struct_size: size_of::<BraidHostVtable>() as u32,
    reserved: 0,
    storage_get,
    storage_set,
    storage_delete,
    state_read,
    charge_gas,
    gas_left,
    log,
};

/// Own-scope engine key of a plugin key: `0x01 ‖ key`, so a plugin cannot
/// touch its instance record (`0x00`).
fn storage_key(key: &[u8]) -> Vec<u8> {
    braid_precompiles::host_calls::storage_key(key)
}

/// Runs `f` on the context behind `ctx`, catching panics; returns
/// `on_error` if the call already failed, the context is null, or `f` panics.
#[allow(
    unsafe_code,
    reason = "turns the opaque context back into the loader's HostCtx"
)]
fn guard<R: Copy>(
    ctx: *mut BraidHostContext,
    function: &'static str,
    on_error: R,
    f: impl FnOnce(&mut HostCtx<'_>) -> R,
) -> R {
    let cx = ctx.cast::<HostCtx<'_>>();
    if cx.is_null() {
        return on_error;
    }
    // SAFETY: the loader passes a pointer to a live `HostCtx`, exclusively
    // borrowed for the whole plugin call, and the plugin passes it back
    // unchanged on the same thread during that call (ABI rule); no other
    // reference to it exists while a callback runs.
    let cx = unsafe { &mut *cx };
    if cx.error.is_some() {
        return on_error;
    }
    match catch_unwind(AssertUnwindSafe(|| f(&mut *cx))) {
        Ok(r) => r,
        Err(_) => {
            let engine = cx.host.engine();
            cx.error.get_or_insert(CoreError::engine(
                engine,
                EngineFailure::Internal,
                PluginError::Panicked {
                    path: cx.path.to_path_buf(),
                    during: function,
                },
            ));
            on_error
        }
    }
}

#[allow(unsafe_code, reason = "C callback reading plugin-lent slices")]
unsafe extern "C" fn storage_get(
    ctx: *mut BraidHostContext,
    key: BraidBytes,
    out: BraidSink,
) -> u32 {
    guard(ctx, "storage_get", host::ERROR, |cx| {
        // SAFETY: the plugin lends `key` for the duration of this callback.
        let key = unsafe { key.as_slice() };
        if !fits(key, None) {
            return host::LIMIT;
        }
        let key = storage_key(key);
        let mut found = false;
        let identity = cx.identity;
        let read = cx.host.get_with(&identity, &key, &mut |value| {
            if let Some(value) = value {
                found = true;
                // SAFETY: `out` is the plugin's sink for this callback.
                unsafe { out.put(value) };
            }
        });
        match read {
            Ok(()) if found => host::OK,
            Ok(()) => host::NOT_FOUND,
            Err(e) => cx.fail(e),
        }
    })
}

#[allow(unsafe_code, reason = "C callback reading plugin-lent slices")]
unsafe extern "C" fn storage_set(
    ctx: *mut BraidHostContext,
    key: BraidBytes,
    value: BraidBytes,
) -> u32 {
    guard(ctx, "storage_set", host::ERROR, |cx| {
        // SAFETY: the plugin lends `key` and `value` for this callback.
        let (key, value) = unsafe { (key.as_slice(), value.as_slice()) };
        if !fits(key, Some(value)) {
            return host::LIMIT;
        }
        let key = storage_key(key);
        let identity = cx.identity;
        match cx.host.set(&identity, &key, value) {
            Ok(()) => host::OK,
            Err(e) => cx.fail(e),
        }
    })
}

#[allow(unsafe_code, reason = "C callback reading plugin-lent slices")]
unsafe extern "C" fn storage_delete(ctx: *mut BraidHostContext, key: BraidBytes) -> u32 {
    guard(ctx, "storage_delete", host::ERROR, |cx| {
        // SAFETY: the plugin lends `key` for this callback.
        let key = unsafe { key.as_slice() };
        if !fits(key, None) {
            return host::LIMIT;
        }
        let key = storage_key(key);
        let identity = cx.identity;
        match cx.host.delete(&identity, &key) {
            Ok(()) => host::OK,
            Err(e) => cx.fail(e),
        }
    })
}

#[allow(unsafe_code, reason = "C callback reading plugin-lent pointers")]
unsafe extern "C" fn state_read(
    ctx: *mut BraidHostContext,
    engine: u8,
    identity: *const u8,
    key: BraidBytes,
    out: BraidSink,
) -> u32 {
    guard(ctx, "state_read", host::ERROR, |cx| {
        if identity.is_null() {
            return cx.misuse("state_read", "null identity");
        }
        // SAFETY: non-null, and the plugin lends 20 bytes at `identity` and
        // the `key` slice for this callback.
        let (identity, key) = unsafe {
            (
                Identity(identity.cast::<[u8; 20]>().read_unaligned()),
                key.as_slice(),
            )
        };
        if !fits(key, None) {
            return host::LIMIT;
        }
        match cx.host.read_state(EngineId(engine), &identity, key) {
            Ok(Some(value)) => {
                // SAFETY: `out` is the plugin's sink for this callback.
                unsafe { out.put(&value) };
                host::OK
            }
            Ok(None) => host::NOT_FOUND,
            Err(e) => cx.fail(e),
        }
    })
}

#[allow(unsafe_code, reason = "C callback")]
unsafe extern "C" fn charge_gas(ctx: *mut BraidHostContext, amount: u64) -> u32 {
    guard(ctx, "charge_gas", host::ERROR, |cx| {
        match cx.host.charge_gas(amount) {
            Ok(()) => host::OK,
            Err(_) => host::OUT_OF_GAS,
        }
    })
}

#[allow(unsafe_code, reason = "C callback")]
unsafe extern "C" fn gas_left(ctx: *mut BraidHostContext) -> u64 {
    guard(ctx, "gas_left", 0, |cx| cx.host.gas_left())
}

#[allow(unsafe_code, reason = "C callback reading plugin-lent slices")]
unsafe extern "C" fn log(
    ctx: *mut BraidHostContext,
    topics: *const u8,
    topic_count: usize,
    data: BraidBytes,
) -> u32 {
    guard(ctx, "log", host::ERROR, |cx| {
        if topic_count > MAX_LOG_TOPICS || data.len > MAX_VALUE_LEN {
            return host::LIMIT;
        }
        if topic_count > 0 && topics.is_null() {
            return cx.misuse("log", "null topics with a non-zero count");
        }
        // SAFETY: the plugin lends `topic_count * 32` bytes at `topics`
        // (checked non-null when non-empty) and `data`, for this callback.
        let (topics, data) = unsafe {
            let raw = BraidBytes {
                ptr: topics,
                len: topic_count * 32,
            }
            .as_slice();
            (raw, data.as_slice())
        };
        let topics = topics
            .chunks_exact(32)
            .map(|t| t.try_into().expect("32-byte chunk"))
            .collect();
        let identity = cx.identity;
        match cx.host.log(&identity, topics, data.to_vec()) {
            Ok(()) => host::OK,
            Err(e) => cx.fail(e),
        }
    })
}
