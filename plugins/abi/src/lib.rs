//! `braid-plugin-abi`: the C ABI between Braid and an engine plugin (RFC 0005),
//! in the EVMC tradition.
//!
//! What it is: the `#[repr(C)]` types that cross the boundary, the status
//! codes, and a few helpers to turn borrowed slices back into Rust slices.
//! `include/braid_plugin.h` declares the same types for authors who do not
//! write Rust; `tests/layout.rs` checks that both agree.
//!
//! What it does not do: it loads nothing (that is `braid-plugin-loader`) and
//! runs nothing (plugins do). It depends on nothing, so a plugin written in
//! Rust links it without pulling in Braid.
//!
//! # The contract in one screen
//! - A plugin exports ONE symbol, [`DESCRIPTOR_SYMBOL`]: an `extern "C"`
//!   function with no arguments returning `*const` [`BraidPluginDescriptor`],
//!   valid for the life of the process.
//! - The descriptor opens with a header that never changes: [`BRAID_PLUGIN_MAGIC`]
//!   (`b"BRPL"` in memory order), ABI major, ABI minor, the descriptor's size
//!   in bytes, a reserved `u32`. Everything after it may grow with the minor.
//! - Only `#[repr(C)]` data, borrowed byte slices ([`BraidBytes`]: pointer
//!   plus length, valid for the duration of the call that lends them),
//!   function pointers and opaque handles ([`BraidHostContext`]) cross.
//!   Nothing allocated on one side is freed on the other: outputs (return
//!   data, read values, refusal reasons) are written into a [`BraidSink`], a
//!   callback the receiving side provides, which copies the bytes.
//! - The host hands the plugin a [`BraidHostVtable`]. Its storage functions
//!   take no engine and no identity: the host fills in the running engine
//!   and instance, so a plugin cannot name another scope.
//! - Statuses ([`status`]) split into consensus outcomes (halt, revert,
//!   out of gas, trap) and internal errors (`>= 0x100`) that stop the block.
//! - No panic or exception may unwind across the boundary, in either direction.
//!
//! # Versioning
//! [`BRAID_PLUGIN_ABI_MAJOR`] changes when a field changes meaning or place;
//! the loader refuses any other major. [`BRAID_PLUGIN_ABI_MINOR`] grows when
//! fields are appended to the descriptor or the vtable; each side reads the
//! other's `struct_size` and never touches a field past it (RFC 0005).

#![deny(unsafe_code)]

use std::ffi::c_void;

/// The name of the one exported symbol, NUL-terminated for `dlsym`.
pub const DESCRIPTOR_SYMBOL: &[u8] = b"braid_plugin_descriptor\0";

/// `b"BRPL"` read as a little-endian `u32` (`0x4C50_5242`): the first four
/// bytes of every descriptor, in memory order `B R P L`.
pub const BRAID_PLUGIN_MAGIC: u32 = u32::from_le_bytes(*b"BRPL");

/// ABI major version this crate describes. A loader refuses any other major.
pub const BRAID_PLUGIN_ABI_MAJOR: u16 = 1;

/// ABI minor version this crate describes: fields appended compatibly.
pub const BRAID_PLUGIN_ABI_MINOR: u16 = 0;

/// Size in bytes of the fixed header of [`BraidPluginDescriptor`] (magic,
/// major, minor, struct size, reserved), the part that never changes.
pub const BRAID_PLUGIN_HEADER_SIZE: u32 = 16;

/// Identity length in bytes (an EVM address).
pub const BRAID_IDENTITY_LEN: usize = 20;

/// A borrowed byte slice: `len` bytes at `ptr`, valid only for the duration
/// of the call that lends it. `ptr` may be null when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BraidBytes {
    /// First byte, or null for an empty slice.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl BraidBytes {
    /// Lends `bytes` (the caller keeps them alive for the call).
    pub fn from_slice(bytes: &[u8]) -> Self {
        BraidBytes {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The empty slice.
    pub const EMPTY: BraidBytes = BraidBytes {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// The lent bytes as a Rust slice (empty if `ptr` is null or `len` 0).
    ///
    /// # Safety
    /// Unless `len` is 0 or `ptr` is null, `ptr` must point to `len`
    /// initialised bytes that stay valid and unmodified for `'a`, which the
    /// ABI guarantees for the duration of the call that lent them.
    #[allow(unsafe_code)]
    pub unsafe fn as_slice<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: non-null, and the caller guarantees `len` valid bytes for 'a.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Receives bytes from the other side: `write(ctx, bytes)` copies `bytes`
/// (it may be called several times; each call appends). The side that owns
/// `ctx` owns the copy; the writer keeps ownership of `bytes`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BraidSink {
    /// Opaque context of the receiver.
    pub ctx: *mut c_void,
    /// Appends `bytes` to what the receiver holds.
    pub write: unsafe extern "C" fn(ctx: *mut c_void, bytes: BraidBytes),
}

impl BraidSink {
    /// Appends `bytes` to the sink.
    ///
    /// # Safety
    /// `self` must be a sink the other side handed over for the current call.
    #[allow(unsafe_code)]
    pub unsafe fn put(&self, bytes: &[u8]) {
        // SAFETY: the sink is valid for the current call (caller's contract);
        // `bytes` outlives the call to `write`, which copies them.
        unsafe { (self.write)(self.ctx, BraidBytes::from_slice(bytes)) }
    }
}

impl BraidSink {
    /// A sink that appends to `buf`. The sink borrows `buf` through a raw
    /// pointer: hand it over only for a call during which `buf` stays alive
    /// and is not otherwise touched.
    pub fn to_vec(buf: &mut Vec<u8>) -> BraidSink {
        BraidSink {
            ctx: (buf as *mut Vec<u8>).cast(),
            write: append_to_vec,
        }
    }
}

/// [`BraidSink::write`] of [`BraidSink::to_vec`]: appends to the `Vec<u8>`
/// at `ctx`. Never unwinds (a failed allocation aborts, as everywhere in Rust).
#[allow(unsafe_code)]
unsafe extern "C" fn append_to_vec(ctx: *mut c_void, bytes: BraidBytes) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the `&mut Vec<u8>` given to `BraidSink::to_vec`,
        // alive and unaliased for the call that lent the sink; `bytes` is
        // lent by the writer for this call.
        unsafe { (*ctx.cast::<Vec<u8>>()).extend_from_slice(bytes.as_slice()) }
    }));
}

/// The host's side of one invocation: opaque to the plugin, passed back to
/// every [`BraidHostVtable`] function. Valid only during the `call` it was
/// given to.
#[repr(C)]
pub struct BraidHostContext {
    _private: [u8; 0],
}

/// Status codes returned across the boundary (`u32`).
///
/// `0..=0xFF`: consensus outcomes and refusals, deterministic data.
/// `0x100..`: internal errors: the call could not be processed; the host
/// stops the block with an error instead of recording a result, and a loader
/// marks the plugin unusable. Unknown codes are internal errors.
pub mod status {
    /// `call`: finished; writes commit. `validate`: code accepted.
    pub const HALT: u32 = 0;
    /// `validate`: code accepted (alias of [`HALT`]).
    pub const OK: u32 = 0;
    /// `call`: finished unsuccessfully by the guest's choice; writes discarded.
    pub const REVERT: u32 = 1;
    /// `call`: the gas limit was reached; writes discarded.
    pub const OUT_OF_GAS: u32 = 2;
    /// `call`: the guest trapped (invalid operation, stack underflow,
    /// oversized write, non-zero value); writes discarded.
    pub const TRAP: u32 = 3;
    /// `validate`: code refused; the reason (UTF-8 text) went to the sink.
    pub const INVALID_CODE: u32 = 4;
    /// First internal error code.
    pub const FIRST_INTERNAL: u32 = 0x100;
    /// The plugin failed in a way it cannot describe further.
    pub const INTERNAL_ERROR: u32 = 0x100;
    /// A host function returned [`super::host::ERROR`]; the plugin stopped.
    pub const HOST_ERROR: u32 = 0x101;
    /// The plugin caught a panic at its own boundary.
    pub const PANIC: u32 = 0x102;

    /// Whether `code` is an internal error (including unknown codes above 4).
    pub const fn is_internal(code: u32) -> bool {
        code > INVALID_CODE
    }
}

/// Status codes returned by [`BraidHostVtable`] functions (`u32`).
pub mod host {
    /// Done; for reads, the value was found and written to the sink.
    pub const OK: u32 = 0;
    /// Read: no value under the key (nothing written to the sink).
    pub const NOT_FOUND: u32 = 1;
    /// `charge_gas`: the limit is reached; the invocation has no gas left.
    /// The plugin returns [`super::status::OUT_OF_GAS`].
    pub const OUT_OF_GAS: u32 = 2;
    /// A key or value over the state limits (1023-byte plugin key, 4 MiB
    /// value): a guest error; the plugin should return [`super::status::TRAP`].
    pub const LIMIT: u32 = 3;
    /// The host failed (backend I/O, broken invariant). The plugin must stop
    /// and return [`super::status::HOST_ERROR`]; the host has recorded the
    /// error and stops the block whatever the plugin returns.
    pub const ERROR: u32 = 0x100;
}

/// The host functions a plugin may call during one `call`. Every function
/// takes the [`BraidHostContext`] given to that call. None unwinds.
///
/// Own-scope storage keys are the plugin's own bytes (at most 1023); the
/// host stores them under the running engine and instance, inside the
/// storage namespace, so a plugin can neither name another scope nor
/// overwrite its instance record.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BraidHostVtable {
    /// Size of this struct in bytes as the host built it: a plugin compiled
    /// against a newer minor must not call functions past it.
    pub struct_size: u32,
    /// Zero.
    pub reserved: u32,
    /// Reads an own-scope key: [`host::OK`] (value written to `out`),
    /// [`host::NOT_FOUND`], [`host::LIMIT`] or [`host::ERROR`].
    pub storage_get:
        unsafe extern "C" fn(ctx: *mut BraidHostContext, key: BraidBytes, out: BraidSink) -> u32,
    /// Writes an own-scope key: [`host::OK`], [`host::LIMIT`] or [`host::ERROR`].
    pub storage_set:
        unsafe extern "C" fn(ctx: *mut BraidHostContext, key: BraidBytes, value: BraidBytes) -> u32,
    /// Deletes an own-scope key: [`host::OK`], [`host::LIMIT`] or [`host::ERROR`].
    pub storage_delete: unsafe extern "C" fn(ctx: *mut BraidHostContext, key: BraidBytes) -> u32,
    /// Cross-engine read of committed state: the full engine key (namespace
    /// byte included) of `identity` (20 bytes at the pointer) in `engine`.
    /// [`host::OK`] (value written to `out`), [`host::NOT_FOUND`],
    /// [`host::LIMIT`] or [`host::ERROR`]. Costs no gas: the plugin charges
    /// its own documented price.
    pub state_read: unsafe extern "C" fn(
        ctx: *mut BraidHostContext,
        engine: u8,
        identity: *const u8,
        key: BraidBytes,
        out: BraidSink,
    ) -> u32,
    /// Charges gas in the engine's native unit: [`host::OK`] or [`host::OUT_OF_GAS`].
    pub charge_gas: unsafe extern "C" fn(ctx: *mut BraidHostContext, amount: u64) -> u32,
    /// Native gas left to the invocation.
    pub gas_left: unsafe extern "C" fn(ctx: *mut BraidHostContext) -> u64,
    /// Emits a log from the running instance: `topic_count` 32-byte topics
    /// at `topics` (null if 0), then `data`. [`host::OK`] or [`host::ERROR`].
    pub log: unsafe extern "C" fn(
        ctx: *mut BraidHostContext,
        topics: *const u8,
        topic_count: usize,
        data: BraidBytes,
    ) -> u32,
}

/// One call, as the host hands it to the plugin.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BraidMessage {
    /// Who called: a transaction sender or the calling instance.
    pub caller: [u8; BRAID_IDENTITY_LEN],
    /// The running instance.
    pub target: [u8; BRAID_IDENTITY_LEN],
    /// Value transferred, 256-bit big-endian; engines without a currency trap
    /// on non-zero.
    pub value: [u8; 32],
    /// Gas limit in the engine's native unit.
    pub gas_limit: u64,
    /// Call data.
    pub input: BraidBytes,
    /// The instance's code, as validated at deploy time.
    pub code: BraidBytes,
}

/// `validate(code, reason)`: [`status::OK`] or [`status::INVALID_CODE`] (a
/// UTF-8 reason written to `reason`); other codes are internal errors.
pub type BraidValidateFn = unsafe extern "C" fn(code: BraidBytes, reason: BraidSink) -> u32;

/// `call(host, ctx, message, output)`: runs one call; return data goes to
/// `output`. Returns a consensus status or an internal error.
pub type BraidCallFn = unsafe extern "C" fn(
    host: *const BraidHostVtable,
    ctx: *mut BraidHostContext,
    message: *const BraidMessage,
    output: BraidSink,
) -> u32;

/// What a plugin exports through [`DESCRIPTOR_SYMBOL`]. The first 16 bytes
/// (magic, major, minor, size, reserved) are the header and never change.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BraidPluginDescriptor {
    /// [`BRAID_PLUGIN_MAGIC`].
    pub magic: u32,
    /// ABI major the plugin was built against.
    pub abi_major: u16,
    /// ABI minor the plugin was built against.
    pub abi_minor: u16,
    /// `size_of::<BraidPluginDescriptor>()` as the plugin built it, in bytes.
    pub struct_size: u32,
    /// Zero.
    pub reserved: u32,
    /// The engine's short name, UTF-8 (no NUL needed), static.
    pub name: BraidBytes,
    /// Checks code before deploy.
    pub validate: Option<BraidValidateFn>,
    /// Runs one call.
    pub call: Option<BraidCallFn>,
}

/// A `*const BraidPluginDescriptor` that may live in a `static`: the
/// descriptor and everything it points to are immutable and live forever.
#[repr(transparent)]
pub struct StaticDescriptor(pub BraidPluginDescriptor);

// SAFETY: the descriptor is immutable, its name points to static bytes and
// its functions are plain function pointers; sharing it across threads is sound.
#[allow(unsafe_code)]
unsafe impl Sync for StaticDescriptor {}

impl StaticDescriptor {
    /// A pointer to the descriptor, to return from [`DESCRIPTOR_SYMBOL`].
    pub const fn as_ptr(&'static self) -> *const BraidPluginDescriptor {
        &self.0
    }
}

/// The type of the [`DESCRIPTOR_SYMBOL`] function.
pub type BraidDescriptorFn = unsafe extern "C" fn() -> *const BraidPluginDescriptor;
