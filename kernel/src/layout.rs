//! The kernel's data in the state (RFC 0002, RFC 0010, DESIGN.md "State").
//!
//! In an instance's scope `(engine, identity, ..)`, written by the kernel
//! only (an engine's write there is [`braid_core::CoreError::ReservedKey`]):
//! - `0x00`: the instance record, 32 bytes `code_hash` (written by
//!   [`crate::Kernel::deploy`]) or 96 bytes `code_hash ‖ image_hash ‖ chain`
//!   (written by `set_image` and `derive_spawn`). A 32-byte record has the
//!   implicit image `Image { engine, code_hash, pinned: [] }` and its chain
//!   is that image's hash. The EVM keeps its own account records in its
//!   engine scope.
//! - `0x04 ‖ 0x00 ‖ slot`, slot in 1..=0xEF: the cap in a persistent slot
//!   ([`braid_core::Cap::encode`]).
//! - `0x04 ‖ 0x01`: the spawn nonce, 8 bytes big-endian.
//!
//! Under the system engine `(0x00, 0^20, ..)`, content-addressed, never
//! deleted:
//! - `0x02 ‖ keccak256(code)`: code ([`braid_core::StateKey::code`]).
//! - `0x03 ‖ sender`: a Braid sender's nonce, 8 bytes big-endian.
//! - `0x05 ‖ data_hash`: the bytes of a [`braid_core::Cap::Data`], trailing
//!   zeros stripped.
//! - `0x06 ‖ image_hash`: SCALE([`braid_core::cap::Image`]).
//! - `0x07 ‖ cnode_hash`: SCALE([`braid_core::cap::CNodeValue`]).

use braid_core::cap::{CapDecodeError, Image};
use braid_core::{CoreError, EngineId, Identity, Result, StateKey, namespace};

/// System-engine namespace of Braid transaction sender nonces: `0x03 ‖ sender`.
pub const NONCE: u8 = 0x03;
/// Instance namespace of caps: `0x04 ‖ 0x00 ‖ slot` and `0x04 ‖ 0x01`.
pub const CAPS: u8 = 0x04;
/// System-engine namespace of Data bytes: `0x05 ‖ data_hash`.
pub const DATA: u8 = 0x05;
/// System-engine namespace of images: `0x06 ‖ image_hash`.
pub const IMAGE: u8 = 0x06;
/// System-engine namespace of cnodes: `0x07 ‖ cnode_hash`.
pub const CNODE: u8 = 0x07;

/// The namespaces of an instance's scope that only the kernel writes.
pub const RESERVED: [u8; 2] = [namespace::RECORD, CAPS];

/// The engine key of an instance record.
pub const INSTANCE_RECORD_KEY: [u8; 1] = [namespace::RECORD];

/// The engine key of an instance's spawn nonce.
pub const SPAWN_NONCE_KEY: [u8; 2] = [CAPS, 0x01];

/// Domain tag of image hashes.
pub const IMAGE_DOMAIN: &[u8] = b"braid/image/v1";
/// Domain tag of cnode hashes.
pub const CNODE_DOMAIN: &[u8] = b"braid/cnode/v1";
/// Domain tag of spawned identities.
pub const SPAWN_DOMAIN: &[u8] = b"braid/spawn";
/// Chain extension tag of `set_image`.
pub const CHAIN_SET_IMAGE: u8 = 0x01;
/// Chain extension tag of `derive_spawn`.
pub const CHAIN_SPAWN: u8 = 0x02;

/// The state key of a Braid sender's nonce.
pub fn nonce_key(sender: &Identity) -> StateKey {
    let mut key = vec![NONCE];
    key.extend_from_slice(&sender.0);
    StateKey::new(EngineId::SYSTEM, Identity::ZERO, key)
}

/// The engine key of persistent slot `slot`: `0x04 ‖ 0x00 ‖ slot`.
pub fn slot_key(slot: u8) -> [u8; 3] {
    [CAPS, 0x00, slot]
}

/// A content-addressed system key `namespace ‖ hash`.
pub fn system_key(namespace: u8, hash: &[u8; 32]) -> StateKey {
    let mut key = Vec::with_capacity(33);
    key.push(namespace);
    key.extend_from_slice(hash);
    StateKey::new(EngineId::SYSTEM, Identity::ZERO, key)
}

/// blake2b-256 of the concatenation of `parts`.
pub fn blake2b_256(parts: &[&[u8]]) -> [u8; 32] {
    use blake2::digest::{Update, VariableOutput};
    let mut hasher = blake2::Blake2bVar::new(32).expect("32 is a valid blake2b output size");
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; 32];
    hasher
        .finalize_variable(&mut out)
        .expect("the output buffer is 32 bytes");
    out
}

/// The hash of an image: blake2b-256(`"braid/image/v1"` ‖ SCALE(image)).
pub fn image_hash(encoded: &[u8]) -> [u8; 32] {
    blake2b_256(&[IMAGE_DOMAIN, encoded])
}

/// The hash of a cnode: blake2b-256(`"braid/cnode/v1"` ‖ SCALE(value)).
pub fn cnode_hash(encoded: &[u8]) -> [u8; 32] {
    blake2b_256(&[CNODE_DOMAIN, encoded])
}

/// `chain` extended by `image_hash` with `tag` ([`CHAIN_SET_IMAGE`] or
/// [`CHAIN_SPAWN`]): blake2b-256(tag ‖ chain ‖ image_hash) (RFC 0010 D10).
pub fn extend_chain(tag: u8, chain: &[u8; 32], image_hash: &[u8; 32]) -> [u8; 32] {
    blake2b_256(&[&[tag], chain, image_hash])
}

/// The identity `derive_spawn` gives the `nonce`-th spawn of `spawner`:
/// keccak-256(`"braid/spawn"` ‖ engine ‖ spawner ‖ nonce as 8 bytes
/// big-endian)[0..20].
pub fn spawn_identity(engine: EngineId, spawner: &Identity, nonce: u64) -> Identity {
    let mut preimage = Vec::with_capacity(SPAWN_DOMAIN.len() + 29);
    preimage.extend_from_slice(SPAWN_DOMAIN);
    preimage.push(engine.0);
    preimage.extend_from_slice(&spawner.0);
    preimage.extend_from_slice(&nonce.to_be_bytes());
    let hash = braid_core::keccak256(&preimage);
    let mut id = [0u8; 20];
    id.copy_from_slice(&hash[..20]);
    Identity(id)
}

/// An instance record, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceRecord {
    /// keccak-256 of the code the instance runs.
    pub code_hash: [u8; 32],
    /// The image hash and chain of a 96-byte record; `None` for a 32-byte
    /// one (implicit image, chain = its hash).
    pub image: Option<([u8; 32], [u8; 32])>,
}

impl InstanceRecord {
    /// Decodes a 32- or 96-byte record.
    ///
    /// # Errors
    /// [`CoreError::CorruptCap`] for any other length (only the kernel
    /// writes records, so that is corrupt state).
    pub fn decode(engine: EngineId, identity: &Identity, record: &[u8]) -> Result<Self> {
        let hash = |at: usize| -> [u8; 32] {
            record[at..at + 32]
                .try_into()
                .expect("a 32-byte window of a checked length")
        };
        match record.len() {
            32 => Ok(InstanceRecord {
                code_hash: hash(0),
                image: None,
            }),
            96 => Ok(InstanceRecord {
                code_hash: hash(0),
                image: Some((hash(32), hash(64))),
            }),
            len => Err(CoreError::CorruptCap {
                key: StateKey::new(engine, *identity, INSTANCE_RECORD_KEY),
                source: CapDecodeError {
                    what: "an instance record is neither 32 nor 96 bytes",
                    at: len,
                },
            }),
        }
    }

    /// The 96-byte encoding `code_hash ‖ image_hash ‖ chain`.
    pub fn encode_with_image(
        code_hash: &[u8; 32],
        image_hash: &[u8; 32],
        chain: &[u8; 32],
    ) -> Vec<u8> {
        [&code_hash[..], image_hash, chain].concat()
    }

    /// The instance's image chain: the stored one, or for a 32-byte record
    /// the hash of its implicit image.
    pub fn chain(&self, engine: EngineId) -> [u8; 32] {
        match self.image {
            Some((_, chain)) => chain,
            None => image_hash(
                &Image {
                    engine,
                    code_hash: self.code_hash,
                    pinned: Vec::new(),
                }
                .encode(),
            ),
        }
    }
}
