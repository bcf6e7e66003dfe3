//! `braid-plugin-loader`: loads engine plugins that speak the C ABI of
//! `braid-plugin-abi` (RFC 0005) and adapts each to [`braid_core::Engine`],
//! so the kernel cannot tell a loaded plugin from a built-in engine.
//!
//! What it is: [`load`], which reads a shared library, checks its SHA-256
//! against the pinned digest BEFORE the dynamic loader sees it, opens it,
//! finds the one descriptor symbol and checks magic and ABI major; and
//! [`PluginEngine`], the [`Engine`] that calls the plugin's `validate` and
//! `call` with a host vtable over the kernel's [`Host`].
//!
//! What it does not do: it reads no chain spec (chains pass the path, the
//! digest and the engine id) and it never unloads a library (see below).
//! Layer: depends on `braid-core` (and `braid-state` for its limits and
//! errors); chains depend on it.
//!
//! # Policies
//! - **Pinning.** The file is read and hashed through one open descriptor
//!   and, on Linux, the dynamic loader opens that same descriptor
//!   (`/proc/self/fd/N`), so swapping the path after the check does not
//!   swap the code. Rewriting the file in place between the two is not
//!   excluded: keep plugins where only the operator can write (RFC 0005).
//! - **Versions.** Magic must be `b"BRPL"` and the ABI major equal to
//!   [`BRAID_PLUGIN_ABI_MAJOR`]; the minor may be older or newer. The host
//!   reads only descriptor fields inside the plugin's `struct_size` and
//!   refuses a descriptor too small for the fields it needs.
//! - **Never unload.** The `Library` is leaked on purpose: code, statics and
//!   thread-locals of a plugin may be referenced after any call (a
//!   registered thread-local destructor, a spawned thread), and `dlclose`
//!   under them is undefined behaviour. A node loads a handful of plugins
//!   once, so the leak is bounded.
//! - **Panics.** Every call into the plugin and every host callback runs
//!   inside `catch_unwind`. A plugin must not unwind across its boundary
//!   (unwinding out of an `extern "C"` function aborts the process); the
//!   catch here is the host's own line of defence.
//! - **Internal errors stop the block.** An internal status (or a panic the
//!   plugin caught) becomes `Err(CoreError::Engine { .. })` carrying a
//!   [`PluginError`], never an [`Outcome`], and the plugin is marked
//!   unusable: every later `validate` or `call` fails with
//!   [`PluginError::Unusable`] until the node restarts.

#![deny(unsafe_code)]

mod error;
mod host;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use braid_core::{
    CodeRejection, CoreError, Engine, EngineFailure, EngineId, FaultReason, Host, Message, Outcome,
};
use braid_plugin_abi::{
    BRAID_PLUGIN_ABI_MAJOR, BRAID_PLUGIN_ABI_MINOR, BRAID_PLUGIN_HEADER_SIZE, BRAID_PLUGIN_MAGIC,
    BraidBytes, BraidCallFn, BraidDescriptorFn, BraidHostContext, BraidMessage,
    BraidPluginDescriptor, BraidSink, BraidValidateFn, DESCRIPTOR_SYMBOL, status,
};
use sha2::{Digest, Sha256};

pub use error::{PluginError, Result, Sha256Digest};
pub use host::MAX_LOG_TOPICS;

/// SHA-256 of `bytes`, the digest a chain spec pins.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The shared library `name` (file `lib{name}.so` on Linux) as cargo builds
/// a workspace member: looked up next to the running executable and in the
/// `deps/` folder beside it, up to three folders up (so it is found from
/// `target/release/deps/<test or bench>`). For tests and benches that load
/// a plugin the workspace builds; `None` if it is not there.
pub fn find_built_library(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let file = format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    exe.ancestors()
        .skip(1)
        .take(3)
        .flat_map(|dir| [dir.join(&file), dir.join("deps").join(&file)])
        .find(|candidate| candidate.is_file())
}

/// Loads the plugin at `path` as engine `engine`.
///
/// Order: engine id in `0x10..=0xFE`; read the file; SHA-256 equal to
/// `expected_sha256` (nothing is opened otherwise); `dlopen`; look up
/// `braid_plugin_descriptor`; check magic, ABI major, descriptor size, name
/// and functions. The library is never unloaded, even when refused after
/// opening (its initialisers have run; see the crate docs).
///
/// # Errors
/// [`PluginError::EngineIdOutOfRange`], [`PluginError::Io`],
/// [`PluginError::HashMismatch`], [`PluginError::Open`],
/// [`PluginError::MissingDescriptor`], [`PluginError::NoDescriptor`],
/// [`PluginError::BadMagic`], [`PluginError::AbiMajorMismatch`],
/// [`PluginError::DescriptorTooSmall`], [`PluginError::BadDescriptor`].
pub fn load(
    path: impl AsRef<Path>,
    expected_sha256: &[u8; 32],
    engine: EngineId,
) -> Result<PluginEngine> {
    let path = path.as_ref().to_path_buf();
    if !(EngineId::FIRST_PLUGIN..=EngineId::LAST_PLUGIN).contains(&engine.0) {
        return Err(PluginError::EngineIdOutOfRange { path, engine });
    }
    let io = |source| PluginError::Io {
        path: path.clone(),
        source,
    };
    // Hash and open the SAME file: read through one descriptor, then hand
    // the dynamic loader that descriptor (Linux: `/proc/self/fd/N`), so a
    // file renamed over `path` in between is not the one opened.
    let mut file = std::fs::File::open(&path).map_err(io)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io)?;
    let actual = sha256(&bytes);
    if actual != *expected_sha256 {
        return Err(PluginError::HashMismatch {
            path,
            expected: Sha256Digest(*expected_sha256),
            actual: Sha256Digest(actual),
        });
    }
    drop(bytes);
    let library = open(&path, file)?;
    let descriptor = descriptor(library, &path)?;
    PluginEngine::new(engine, path, actual, &descriptor)
}

/// What the dynamic loader is asked to open for `file`, read from `path`:
/// the open descriptor itself where the OS names it, else the path.
fn open_name(path: &Path, file: &std::fs::File) -> PathBuf {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let _ = path;
        PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        path.to_path_buf()
    }
}

/// Opens the library (the already hashed `file`) and leaks it, and the file
/// descriptor with it: neither is ever closed.
#[allow(unsafe_code, reason = "dlopen runs the library's initialisers")]
fn open(path: &Path, file: std::fs::File) -> Result<&'static libloading::Library> {
    let name = open_name(path, &file);
    // SAFETY: opening a library runs its initialisers. The file's bytes were
    // just checked against the digest the chain spec pins, so the code run
    // is the code the operator chose to trust; a plugin is trusted native
    // code by construction (RFC 0005).
    let library =
        unsafe { libloading::Library::new(&name) }.map_err(|source| PluginError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    // The descriptor stays open as long as the library: the loader knows
    // the library by the name `/proc/self/fd/N`, and a later plugin opened
    // under a reused N would be taken for this one.
    std::mem::forget(file);
    Ok(Box::leak(Box::new(library)))
}

/// Finds, calls and checks the descriptor; returns a copy of the fields this
/// host reads.
#[allow(
    unsafe_code,
    reason = "calls the descriptor symbol and reads the descriptor"
)]
fn descriptor(library: &'static libloading::Library, path: &Path) -> Result<BraidPluginDescriptor> {
    let err_path = || path.to_path_buf();
    // SAFETY: the symbol's type is fixed by the ABI: `extern "C" fn() ->
    // *const BraidPluginDescriptor`. The library is leaked, so the function
    // pointer stays valid forever.
    let get: BraidDescriptorFn = unsafe { library.get::<BraidDescriptorFn>(DESCRIPTOR_SYMBOL) }
        .map(|symbol| *symbol)
        .map_err(|source| PluginError::MissingDescriptor {
            path: err_path(),
            source,
        })?;
    // SAFETY: calls the plugin's descriptor function, which takes nothing.
    let ptr = catch_unwind(|| unsafe { get() }).unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return Err(PluginError::NoDescriptor { path: err_path() });
    }
    // The header first: 16 bytes that never change, whatever the major.
    // SAFETY: the ABI guarantees at least the 16-byte header at a non-null
    // descriptor pointer, valid forever; unaligned reads need no alignment.
    let (magic, major, minor, struct_size) = unsafe {
        let base = ptr.cast::<u8>();
        (
            base.cast::<u32>().read_unaligned(),
            base.add(4).cast::<u16>().read_unaligned(),
            base.add(6).cast::<u16>().read_unaligned(),
            base.add(8).cast::<u32>().read_unaligned(),
        )
    };
    debug_assert_eq!(BRAID_PLUGIN_HEADER_SIZE, 16);
    if magic != BRAID_PLUGIN_MAGIC {
        return Err(PluginError::BadMagic {
            path: err_path(),
            found: magic,
            expected: BRAID_PLUGIN_MAGIC,
        });
    }
    if major != BRAID_PLUGIN_ABI_MAJOR {
        return Err(PluginError::AbiMajorMismatch {
            path: err_path(),
            plugin_major: major,
            plugin_minor: minor,
            host_major: BRAID_PLUGIN_ABI_MAJOR,
            host_minor: BRAID_PLUGIN_ABI_MINOR,
        });
    }
    let needed = size_of::<BraidPluginDescriptor>() as u32;
    if struct_size < needed {
        return Err(PluginError::DescriptorTooSmall {
            path: err_path(),
            plugin_major: major,
            plugin_minor: minor,
            struct_size,
            needed,
        });
    }
    // SAFETY: the plugin declares at least `needed` bytes of descriptor, laid
    // out as ABI 1.x defines them; it is static, so a copy is a snapshot.
    Ok(unsafe { ptr.read_unaligned() })
}

/// A loaded plugin, as a [`braid_core::Engine`] with [`braid_core::ScopeKind::Instance`].
///
/// Calls read the instance record `(engine, identity, 0x00)` (the code's
/// keccak-256 hash, written by the kernel's deploy (`braid_kernel::Kernel::deploy`)) and the code
/// through the host, then hand the plugin the message, the code and the
/// host vtable.
pub struct PluginEngine {
    id: EngineId,
    name: &'static str,
    path: PathBuf,
    sha256: [u8; 32],
    abi: (u16, u16),
    validate_fn: BraidValidateFn,
    call_fn: BraidCallFn,
    unusable: AtomicBool,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("path", &self.path)
            .field("sha256", &Sha256Digest(self.sha256))
            .field("abi", &self.abi)
            .field("usable", &self.is_usable())
            .finish()
    }
}

impl PluginEngine {
    #[allow(unsafe_code, reason = "reads the descriptor's static name")]
    fn new(
        id: EngineId,
        path: PathBuf,
        sha256: [u8; 32],
        descriptor: &BraidPluginDescriptor,
    ) -> Result<Self> {
        let bad = |field| PluginError::BadDescriptor {
            path: path.clone(),
            field,
        };
        if descriptor.name.ptr.is_null() || descriptor.name.len == 0 || descriptor.name.len > 64 {
            return Err(bad("name"));
        }
        // SAFETY: the descriptor's name is static bytes of the (leaked)
        // library, `len` of them at a non-null pointer.
        let name = unsafe { descriptor.name.as_slice() };
        let name = std::str::from_utf8(name).map_err(|_| bad("name"))?;
        let validate_fn = descriptor.validate.ok_or_else(|| bad("validate"))?;
        let call_fn = descriptor.call.ok_or_else(|| bad("call"))?;
        Ok(PluginEngine {
            id,
            // One small string per plugin, loaded once: leaked like the library.
            name: Box::leak(name.to_owned().into_boxed_str()),
            abi: (descriptor.abi_major, descriptor.abi_minor),
            path,
            sha256,
            validate_fn,
            call_fn,
            unusable: AtomicBool::new(false),
        })
    }

    /// The library's path, as given to [`load`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The library's SHA-256, as pinned.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// The ABI `(major, minor)` the plugin was built against.
    pub fn abi_version(&self) -> (u16, u16) {
        self.abi
    }

    /// Whether the plugin still accepts work (no internal error so far).
    pub fn is_usable(&self) -> bool {
        !self.unusable.load(Ordering::Acquire)
    }

    fn wrap(&self, error: PluginError) -> CoreError {
        CoreError::engine(self.id, EngineFailure::Internal, error)
    }

    fn check_usable(&self) -> braid_core::Result<()> {
        if self.is_usable() {
            Ok(())
        } else {
            Err(self.wrap(PluginError::Unusable {
                path: self.path.clone(),
            }))
        }
    }

    /// Marks the plugin unusable and returns the internal error for `status`.
    fn internal(&self, during: &'static str, status: u32) -> CoreError {
        self.unusable.store(true, Ordering::Release);
        let meaning = match status {
            status::INTERNAL_ERROR => "internal error",
            status::HOST_ERROR => "stopped after a host error",
            status::PANIC => "the plugin caught a panic",
            status::INVALID_CODE => "invalid-code status outside validate",
            _ => "unknown status",
        };
        self.wrap(PluginError::Internal {
            path: self.path.clone(),
            during,
            status,
            meaning,
        })
    }

    fn panicked(&self, during: &'static str) -> CoreError {
        self.unusable.store(true, Ordering::Release);
        self.wrap(PluginError::Panicked {
            path: self.path.clone(),
            during,
        })
    }
}

impl Engine for PluginEngine {
    fn id(&self) -> EngineId {
        self.id
    }

    fn name(&self) -> &'static str {
        self.name
    }

    #[allow(unsafe_code, reason = "calls the plugin's validate")]
    fn validate(&self, code: &[u8]) -> braid_core::Result<()> {
        self.check_usable()?;
        let mut reason = Vec::new();
        let validate_fn = self.validate_fn;
        let sink = BraidSink::to_vec(&mut reason);
        // SAFETY: `validate_fn` comes from the checked descriptor of a
        // library that is never unloaded; `code` and the sink's buffer
        // outlive the call.
        let ran = catch_unwind(AssertUnwindSafe(|| unsafe {
            validate_fn(BraidBytes::from_slice(code), sink)
        }));
        match ran {
            Err(_) => Err(self.panicked("validate")),
            Ok(status::OK) => Ok(()),
            Ok(status::INVALID_CODE) => Err(CoreError::invalid_code(
                self.id,
                code,
                CodeRejection::Malformed,
                PluginError::CodeRefused {
                    path: self.path.clone(),
                    engine_name: self.name,
                    reason: String::from_utf8_lossy(&reason).into_owned(),
                },
            )),
            Ok(other) => Err(self.internal("validate", other)),
        }
    }

    #[allow(unsafe_code, reason = "calls the plugin's call with the host vtable")]
    fn call(&self, host: &mut dyn Host, message: &Message) -> braid_core::Result<Outcome> {
        self.check_usable()?;
        let me = host.self_identity();
        let Some(hash) = host.instance_code_hash()? else {
            return Ok(Outcome::Fault(FaultReason::NoSuchInstance { identity: me }));
        };
        let code = host.code(&hash)?.ok_or(CoreError::Invariant {
            what: "an instance record names code that is not stored",
        })?;
        let gas_limit = message.gas_limit.min(host.gas_left());
        let abi_message = BraidMessage {
            caller: message.caller.0,
            target: me.0,
            value: message.value,
            gas_limit,
            input: BraidBytes::from_slice(&message.input),
            code: BraidBytes::from_slice(&code),
        };
        let mut ctx = host::HostCtx {
            host,
            identity: me,
            path: &self.path,
            error: None,
        };
        let mut output = Vec::new();
        let sink = BraidSink::to_vec(&mut output);
        let call_fn = self.call_fn;
        let ctx_ptr = (&raw mut ctx).cast::<BraidHostContext>();
        // SAFETY: `call_fn` comes from the checked descriptor of a library
        // that is never unloaded. The vtable is static; `ctx`, the message
        // (and the input and code it lends) and the output buffer outlive
        // the call, and nothing else touches them during it.
        let ran = catch_unwind(AssertUnwindSafe(|| unsafe {
            call_fn(&host::HOST_VTABLE, ctx_ptr, &abi_message, sink)
        }));
        if let Some(error) = ctx.error.take() {
            // The host failed (or the plugin misused it): stop the block. A
            // misuse is the plugin's own failure: it takes no more work.
            if matches!(
                &error,
                CoreError::Engine {
                    kind: EngineFailure::Internal,
                    ..
                }
            ) {
                self.unusable.store(true, Ordering::Release);
            }
            return Err(error);
        }
        match ran {
            Err(_) => Err(self.panicked("call")),
            Ok(status::HALT) => Ok(Outcome::Halt { output }),
            Ok(status::REVERT) => Ok(Outcome::Revert { output }),
            Ok(status::OUT_OF_GAS) => Ok(Outcome::Fault(FaultReason::OutOfGas)),
            Ok(status::TRAP) => Ok(Outcome::Fault(FaultReason::Trap)),
            Ok(other) => Err(self.internal("call", other)),
        }
    }
}
