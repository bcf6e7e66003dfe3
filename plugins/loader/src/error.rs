//! [`PluginError`]: why a plugin was refused or failed.

use std::fmt;
use std::path::PathBuf;

use braid_core::EngineId;

/// A SHA-256 digest, displayed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sha256Digest(pub [u8; 32]);

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

/// Errors of the plugin loader. Every variant names the library's path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The engine id is not in the plugin range `0x10..=0xFE`.
    #[error("plugin {path}: engine id {engine} is outside the plugin range 0x10..=0xfe")]
    EngineIdOutOfRange {
        /// The library.
        path: PathBuf,
        /// The id asked for.
        engine: EngineId,
    },
    /// The file could not be read.
    #[error("cannot read plugin {path}: {source}")]
    Io {
        /// The library.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file's SHA-256 is not the pinned one; it was not opened.
    #[error(
        "plugin {path} has SHA-256 {actual}, but the chain spec pins {expected}; refusing to load it"
    )]
    HashMismatch {
        /// The library.
        path: PathBuf,
        /// The pinned digest.
        expected: Sha256Digest,
        /// The file's digest.
        actual: Sha256Digest,
    },
    /// The dynamic loader refused the file (not a shared library, missing dependency).
    #[error("cannot open plugin {path}: {source}")]
    Open {
        /// The library.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: libloading::Error,
    },
    /// The library does not export `braid_plugin_descriptor`.
    #[error(
        "{path} is not a Braid plugin: it exports no `braid_plugin_descriptor` symbol ({source})"
    )]
    MissingDescriptor {
        /// The library.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: libloading::Error,
    },
    /// `braid_plugin_descriptor` returned null or unwound.
    #[error("plugin {path}: braid_plugin_descriptor() returned no descriptor")]
    NoDescriptor {
        /// The library.
        path: PathBuf,
    },
    /// The descriptor does not start with `b"BRPL"`.
    #[error(
        "plugin {path}: descriptor magic is 0x{found:08x}, expected 0x{expected:08x} (\"BRPL\")"
    )]
    BadMagic {
        /// The library.
        path: PathBuf,
        /// The magic read.
        found: u32,
        /// [`braid_plugin_abi::BRAID_PLUGIN_MAGIC`].
        expected: u32,
    },
    /// The plugin speaks another ABI major version.
    #[error(
        "plugin {path} speaks Braid plugin ABI {plugin_major}.{plugin_minor}, this host speaks {host_major}.{host_minor}: major versions differ"
    )]
    AbiMajorMismatch {
        /// The library.
        path: PathBuf,
        /// The plugin's ABI major.
        plugin_major: u16,
        /// The plugin's ABI minor.
        plugin_minor: u16,
        /// This host's ABI major.
        host_major: u16,
        /// This host's ABI minor.
        host_minor: u16,
    },
    /// The descriptor is smaller than the fields this host needs.
    #[error(
        "plugin {path}: descriptor of ABI {plugin_major}.{plugin_minor} is {struct_size} bytes, this host needs at least {needed}"
    )]
    DescriptorTooSmall {
        /// The library.
        path: PathBuf,
        /// The plugin's ABI major.
        plugin_major: u16,
        /// The plugin's ABI minor.
        plugin_minor: u16,
        /// The descriptor's `struct_size`, in bytes.
        struct_size: u32,
        /// Bytes this host reads, in bytes.
        needed: u32,
    },
    /// A required descriptor field is null or malformed.
    #[error("plugin {path}: descriptor field `{field}` is missing or malformed")]
    BadDescriptor {
        /// The library.
        path: PathBuf,
        /// The field.
        field: &'static str,
    },
    /// The plugin refused code at deploy time (the reason of a
    /// [`braid_core::CoreError::InvalidCode`]).
    #[error("plugin {path} ({engine_name}) refused the code: {reason}")]
    CodeRefused {
        /// The library.
        path: PathBuf,
        /// The engine's name.
        engine_name: &'static str,
        /// The plugin's reason, as it wrote it (lossy UTF-8).
        reason: String,
    },
    /// The plugin failed internally (an internal status, an unknown status,
    /// or a panic it caught at its boundary); it is now unusable.
    #[error(
        "plugin {path} failed internally during {during} with status 0x{status:x} ({meaning}); it is now unusable"
    )]
    Internal {
        /// The library.
        path: PathBuf,
        /// `validate` or `call`.
        during: &'static str,
        /// The status returned.
        status: u32,
        /// What the status means.
        meaning: &'static str,
    },
    /// A panic reached the loader's own boundary around a plugin call or a
    /// host callback; the plugin is now unusable.
    #[error(
        "plugin {path}: a panic reached the loader during {during}; the plugin is now unusable"
    )]
    Panicked {
        /// The library.
        path: PathBuf,
        /// Where.
        during: &'static str,
    },
    /// The plugin misused a host function (null pointer where data is required).
    #[error("plugin {path} misused the host function {function}: {what}")]
    HostMisuse {
        /// The library.
        path: PathBuf,
        /// The host function.
        function: &'static str,
        /// What was wrong.
        what: &'static str,
    },
    /// The plugin failed internally earlier; it refuses all work until the
    /// node restarts.
    #[error("plugin {path} is unusable after an earlier internal error")]
    Unusable {
        /// The library.
        path: PathBuf,
    },
}

/// `Result` with [`PluginError`].
pub type Result<T, E = PluginError> = std::result::Result<T, E>;
