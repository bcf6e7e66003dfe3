//! The kernel's data in the state (RFC 0002, DESIGN.md "State").
//!
//! - Instance record `(engine, identity, 0x00)` = keccak-256 of the
//!   instance's code (32 bytes), written by [`crate::Kernel::deploy`] for
//!   instance-scoped engines. The EVM keeps its own account records in its
//!   engine scope.
//! - Code `(0x00, 0^20, 0x02 ‖ keccak256(code))` = the code, content-addressed
//!   ([`braid_core::StateKey::code`]).
//! - Braid sender nonces `(0x00, 0^20, 0x03 ‖ sender)` = 8 bytes big-endian.

use braid_core::{CoreError, EngineId, Identity, Result, StateKey, namespace};

/// System-engine namespace of Braid transaction sender nonces: `0x03 ‖ sender`.
pub const NONCE: u8 = 0x03;

/// The engine key of an instance record.
pub const INSTANCE_RECORD_KEY: [u8; 1] = [namespace::RECORD];

/// The state key of a Braid sender's nonce.
pub fn nonce_key(sender: &Identity) -> StateKey {
    let mut key = vec![NONCE];
    key.extend_from_slice(&sender.0);
    StateKey::new(EngineId::SYSTEM, Identity::ZERO, key)
}

/// The code hash an instance record holds.
///
/// # Errors
/// [`CoreError::Invariant`] if the record is not 32 bytes (only the kernel
/// writes it, so that is corrupt state).
pub fn record_code_hash(record: &[u8]) -> Result<[u8; 32]> {
    record.try_into().map_err(|_| CoreError::Invariant {
        what: "an instance record is not a 32-byte code hash",
    })
}
