//! `braid-core`: the seams between Braid's engines and the rest of Braid.
//!
//! What it is: ids and key encoding ([`EngineId`], [`Identity`],
//! [`StateKey`]), the [`Engine`] and [`Host`] traits, the values that cross
//! them ([`Message`], [`Outcome`], [`CallResult`], [`BlockEnv`], [`Log`]),
//! the one table of fault codes ([`FaultCode`]), gas [`GasRates`], the
//! seam error [`CoreError`], capabilities ([`Cap`], RFC 0010) and the
//! [`Resumable`] seam through which the kernel suspends and resumes an
//! engine's invocations.
//!
//! What it does not do: it holds no state, runs no call stack and no
//! bytecode. The kernel (`braid-kernel`) implements [`Host`] over the state
//! (`braid-state`); engines implement [`Engine`] and see nothing else, so
//! building an engine never builds RocksDB. Layers (`rfcs/0008-architecture.md`):
//! `core` <- `state` <- `kernel` <- `chains`, and `core` <- `engines/*`,
//! `precompiles` <- `plugins` <- `chains`.

pub mod cap;
mod engine;
mod error;
mod host;
pub mod key;
mod resume;

pub use cap::{Cap, CapKind, CapRefusal, CapResult, EntryId};
pub use engine::{
    CallResult, Engine, Engines, FaultCode, FaultReason, GasRates, Message, Outcome, ScopeKind,
};
pub use error::{CodeRejection, CoreError, EngineFailure, Result};
pub use host::{BlockEnv, BlockHashes, Host, Invoker, Log, NoBlockHashes, OutOfGas};
pub use key::{EngineId, Identity, KeyError, StateKey, namespace};
pub use resume::{CallTarget, Continuation, Resumable, Step, Wake};

/// Deepest call stack the kernel allows (invocations in flight at once); a
/// deeper CALL faults with [`FaultReason::CallDepthExceeded`]. A seam fact:
/// engines size per-invocation resources by it (WASM's instance pool).
pub const MAX_CALL_DEPTH: usize = 64;

/// The identity of a module instance (PVM, WASM, plugin engines; DESIGN.md
/// "State"): `keccak256(chain_id_be8 ‖ module_name ‖ version_be4)[0..20]`.
pub fn module_identity(chain_id: u64, module_name: &[u8], version: u32) -> Identity {
    let mut preimage = Vec::with_capacity(12 + module_name.len());
    preimage.extend_from_slice(&chain_id.to_be_bytes());
    preimage.extend_from_slice(module_name);
    preimage.extend_from_slice(&version.to_be_bytes());
    let hash = keccak256(&preimage);
    let mut id = [0u8; 20];
    id.copy_from_slice(&hash[..20]);
    Identity(id)
}

/// keccak-256 of `data` (the hash of code, as Ethereum defines it).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    use tiny_keccak::{Hasher, Keccak};
    let mut out = [0u8; 32];
    let mut hasher = Keccak::v256();
    hasher.update(data);
    hasher.finalize(&mut out);
    out
}
