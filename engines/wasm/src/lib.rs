//! `braid-wasm`: WebAssembly on wasmtime as a Braid engine (engine id
//! `0x03`, RFC 0004).
//!
//! What it is: the deterministic wasmtime configuration and Braid's limits
//! ([`config`]), the deploy-time checks ([`validate`]: size, features,
//! imports, exports, compile-time bomb bounds, each refusal a typed
//! [`WasmError`]), the deploy-time stack-height instrumentation (a
//! deterministic recursion bound counted in stack slots), the `"braid"` host functions (the host-call table shared
//! with the PVM in `braid_precompiles::host_calls`), and [`WasmEngine`],
//! which caches compiled modules and runs calls with fuel as gas.
//!
//! What it does not do: it holds no state (everything goes through
//! `braid_core::Host`), writes nothing to disk (the module cache is in
//! memory), and never lets wall-clock time decide an outcome: the epoch
//! watchdog only turns a stuck guest into an error. It depends on
//! `braid-core` and `braid-precompiles` only.

pub mod config;
mod engine;
mod error;
mod host;
mod instrument;
pub mod validate;

pub use config::limits;
pub use engine::{CacheKey, Compiled, WASMTIME_VERSION, WasmEngine};
pub use error::{Result, WasmError};
