//! The host-call table shared by the PVM (RFC 0003) and WASM (RFC 0004)
//! engines: ids, names, prices, sentinels, and every part of the semantics
//! that does not depend on how a guest passes arguments.
//!
//! An engine decodes arguments from its guest (PVM registers and memory,
//! WASM parameters and linear memory), charges [`HostCall::price`], calls the
//! function of this module that does the work against
//! [`braid_core::Host`], and writes the result back. Guest memory faults,
//! and how a result reaches the guest, stay in the engine.

use braid_core::key::{MAX_ENGINE_KEY_LEN, MAX_VALUE_LEN};
use braid_core::{EngineId, Host, Identity, Outcome, Result};

use crate::prices;

/// `OK`: success.
pub const OK: u64 = 0;
/// `NONE`: the key has no value (GP B.5: 2^64 − 1; −1 as a WASM `i64`).
pub const NONE: u64 = u64::MAX;
/// `WHAT`: unknown host call, or an argument out of its domain (2^64 − 2; −2).
pub const WHAT: u64 = u64::MAX - 1;
/// `FULL`: key or value over the state limits (2^64 − 5; −5).
pub const FULL: u64 = u64::MAX - 4;

/// Base price of every host call, in the engine's native gas.
pub const BASE_GAS: u64 = 10;

/// Most topics a `log` may carry; more answers [`WHAT`].
pub const MAX_TOPICS: u64 = 4;

macro_rules! host_calls {
    ($($(#[$doc:meta])* $name:ident = $id:literal,)*) => {
        /// A host call: its id (the PVM `ecalli` immediate) and name (the
        /// WASM import name in module `"braid"`), RFC 0003 and RFC 0004.
        #[allow(non_camel_case_types, reason = "RFC 0003 names")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum HostCall {
            $($(#[$doc])* $name = $id,)*
        }

        impl HostCall {
            /// Every host call, by id.
            pub const ALL: &'static [HostCall] = &[$(HostCall::$name,)*];

            /// The host call with id `id`.
            pub fn from_id(id: u32) -> Option<HostCall> {
                match id {
                    $($id => Some(HostCall::$name),)*
                    _ => None,
                }
            }

            /// The host call named `name` (a WASM import name).
            pub fn from_name(name: &str) -> Option<HostCall> {
                match name {
                    $(stringify!($name) => Some(HostCall::$name),)*
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
    /// Gas left.
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
    /// Call another instance of the same engine through the kernel.
    call = 13,
    /// End the invocation with `Outcome::Revert`.
    revert = 14,
}

fn words(len: u64) -> u64 {
    len.div_ceil(32)
}

impl HostCall {
    /// Gas charged before the call runs, in the engine's native gas (RFC
    /// 0003 table). `len` is the size argument of the call, in bytes: the
    /// buffer length of `input`, `storage_read` and `state_read`, the value
    /// length of `storage_write`, the data length of `log`, `blake2b_256`
    /// and `keccak_256`, the message length of `ed25519_verify`; ignored by
    /// the others. `topics` is the topic count of `log` (ignored by the
    /// others; counts above 5 are priced as 5, they answer [`WHAT`]).
    pub fn price(self, len: u64, topics: u64) -> u64 {
        match self {
            HostCall::gas | HostCall::caller | HostCall::self_identity | HostCall::revert => {
                BASE_GAS
            }
            HostCall::input => BASE_GAS + words(len),
            HostCall::storage_read => 200 + words(len),
            HostCall::storage_write => 2000u64.saturating_add(8u64.saturating_mul(words(len))),
            HostCall::storage_delete => 2000,
            HostCall::evm_storage_read => 2100,
            HostCall::state_read => 2100 + words(len),
            HostCall::log => 375u64
                .saturating_add(375u64.saturating_mul(topics.min(MAX_TOPICS + 1)))
                .saturating_add(8u64.saturating_mul(len)),
            HostCall::blake2b_256 => prices::BLAKE2B_256.of(len),
            HostCall::keccak_256 => prices::KECCAK_256.of(len),
            HostCall::ed25519_verify => prices::ED25519_VERIFY.of(len),
            HostCall::call => 700,
        }
    }
}

/// The engine key of own storage key `key`: `0x01 ‖ key` (RFC 0003).
pub fn storage_key(key: &[u8]) -> Vec<u8> {
    crate::read::storage_key(key)
}

/// `value[offset..]`, at most `len` bytes: what `input` and `storage_read`
/// copy to the guest (an offset past the end copies nothing).
pub fn window(value: &[u8], offset: u64, len: u64) -> &[u8] {
    let start = offset.min(value.len() as u64) as usize;
    let n = len.min((value.len() - start) as u64) as usize;
    &value[start..start + n]
}

/// Whether a guest's storage key (before the `0x01` namespace prefix) and
/// value fit the state's limits ([`MAX_ENGINE_KEY_LEN`], [`MAX_VALUE_LEN`]).
/// A guest past them sees [`FULL`] (it may retry smaller); the host is never
/// asked, so an oversized write is a value, not an error.
pub fn fits(key: &[u8], value: Option<&[u8]>) -> bool {
    key.len() < MAX_ENGINE_KEY_LEN && value.is_none_or(|v| v.len() <= MAX_VALUE_LEN)
}

/// The answer of a read: a value, no value ([`NONE`]) or an oversized key
/// ([`FULL`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The value.
    Found(Vec<u8>),
    /// The key has no value: [`NONE`].
    Absent,
    /// The key is over the state limits: [`FULL`].
    Full,
}

fn lookup(value: Option<Vec<u8>>) -> Lookup {
    match value {
        Some(value) => Lookup::Found(value),
        None => Lookup::Absent,
    }
}

/// `storage_read`: own storage key `key` of instance `me`.
///
/// # Errors
/// Host failures other than an oversized key.
pub fn storage_read(host: &mut dyn Host, me: &Identity, key: &[u8]) -> Result<Lookup> {
    if !fits(key, None) {
        return Ok(Lookup::Full);
    }
    Ok(lookup(host.get(me, &storage_key(key))?))
}

/// `storage_write`: [`OK`] or [`FULL`].
///
/// # Errors
/// Host failures other than an oversized key or value.
pub fn storage_write(host: &mut dyn Host, me: &Identity, key: &[u8], value: &[u8]) -> Result<u64> {
    if !fits(key, Some(value)) {
        return Ok(FULL);
    }
    host.set(me, &storage_key(key), value)?;
    Ok(OK)
}

/// `storage_delete`: [`OK`] or [`FULL`].
///
/// # Errors
/// Host failures other than an oversized key.
pub fn storage_delete(host: &mut dyn Host, me: &Identity, key: &[u8]) -> Result<u64> {
    if !fits(key, None) {
        return Ok(FULL);
    }
    host.delete(me, &storage_key(key))?;
    Ok(OK)
}

/// `evm_storage_read`: the committed EVM storage slot `slot` of account
/// `address` as a 32-byte word, right-aligned (what `SLOAD` answers); an
/// unset slot reads as zero.
///
/// # Errors
/// Host failures.
pub fn evm_storage_read(
    host: &mut dyn Host,
    address: [u8; 20],
    slot: [u8; 32],
) -> Result<[u8; 32]> {
    let value = host.read_state(EngineId::EVM, &Identity(address), &storage_key(&slot))?;
    let mut word = [0u8; 32];
    if let Some(v) = value {
        let n = v.len().min(32);
        word[32 - n..].copy_from_slice(&v[v.len() - n..]);
    }
    Ok(word)
}

/// The engine id argument of `state_read`, or `None` (answer [`WHAT`],
/// before touching guest memory) if it is not a byte.
pub fn state_read_engine(engine: u64) -> Option<EngineId> {
    u8::try_from(engine).ok().map(EngineId)
}

/// `state_read`: the committed storage key `key` of `(engine, identity)`,
/// exactly the bytes its owner reads with `storage_read`.
///
/// # Errors
/// Host failures other than an oversized key.
pub fn state_read(
    host: &mut dyn Host,
    engine: EngineId,
    identity: [u8; 20],
    key: &[u8],
) -> Result<Lookup> {
    if !fits(key, None) {
        return Ok(Lookup::Full);
    }
    Ok(lookup(host.read_state(
        engine,
        &Identity(identity),
        &storage_key(key),
    )?))
}

/// `log`: `topics` is `32 · count` bytes with `count ≤` [`MAX_TOPICS`]
/// (checked by the engine first, which answers [`WHAT`] above it).
///
/// # Errors
/// Host failures.
pub fn log(host: &mut dyn Host, me: &Identity, topics: &[u8], data: Vec<u8>) -> Result<u64> {
    let topics = topics
        .chunks_exact(32)
        .map(|t| t.try_into().expect("32-byte chunks"))
        .collect();
    host.log(me, topics, data)?;
    Ok(OK)
}

/// `ed25519_verify`: 0 valid, 1 invalid.
pub fn ed25519_verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> u64 {
    u64::from(!crate::ed25519_verify(public_key, message, signature))
}

/// `call`: runs `callee` through the kernel with at most `gas`; answers the
/// status (0 halt, 1 revert, 2 fault) and the callee's output (empty on a
/// fault).
///
/// # Errors
/// Only when the call could not be processed.
pub fn call(
    host: &mut dyn Host,
    callee: [u8; 20],
    input: Vec<u8>,
    gas: u64,
) -> Result<(u64, Vec<u8>)> {
    let result = host.call(Identity(callee), input, [0; 32], gas)?;
    Ok(match result.outcome {
        Outcome::Halt { output } => (0, output),
        Outcome::Revert { output } => (1, output),
        Outcome::Fault(_) => (2, Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for (i, which) in HostCall::ALL.iter().enumerate() {
            assert_eq!(*which as u32, i as u32);
            assert_eq!(HostCall::from_id(i as u32), Some(*which));
            assert_eq!(HostCall::from_name(which.name()), Some(*which));
        }
        assert_eq!(HostCall::from_id(15), None);
        assert_eq!(HostCall::from_name("sbrk"), None);
    }

    #[test]
    fn prices_follow_the_table() {
        assert_eq!(HostCall::input.price(33, 0), 12);
        assert_eq!(HostCall::storage_write.price(64, 0), 2016);
        assert_eq!(HostCall::log.price(2, 9), 375 + 375 * 5 + 16);
        assert_eq!(HostCall::keccak_256.price(64, 0), 42);
        assert_eq!(HostCall::call.price(u64::MAX, u64::MAX), 700);
    }

    #[test]
    fn a_window_never_runs_past_the_value() {
        assert_eq!(window(b"abcdef", 2, 3), b"cde");
        assert_eq!(window(b"abcdef", 4, 10), b"ef");
        assert_eq!(window(b"abcdef", 10, 10), b"");
    }
}
