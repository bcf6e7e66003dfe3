//! State keys (RFC 0004): `engine: u8 ‖ identity: [u8; 20] ‖ engine_key: bytes`.
//!
//! The byte order of an encoded key groups every key first by engine, then by
//! identity, so a prefix scan over `engine ‖ identity` visits exactly one
//! instance's (or account's) keys.
//!
//! Keys are seam data: engines build them, the kernel checks them and the
//! state stores them, so they live here, below all three.

/// Why a key or a value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An encoded key is shorter than its 21-byte `engine ‖ identity` prefix.
    #[error("state key is {len} bytes, shorter than the 21-byte engine and identity prefix")]
    KeyTooShort {
        /// Length seen, in bytes.
        len: usize,
    },
    /// An identity is not 20 bytes.
    #[error("identity is {len} bytes, expected 20")]
    BadIdentityLength {
        /// Length seen, in bytes.
        len: usize,
    },
    /// An engine key exceeds [`MAX_ENGINE_KEY_LEN`].
    #[error("engine key is {len} bytes, limit {limit}")]
    EngineKeyTooLong {
        /// Length seen, in bytes.
        len: usize,
        /// Limit, in bytes.
        limit: usize,
    },
    /// A value exceeds [`MAX_VALUE_LEN`].
    #[error("value for key {key} is {len} bytes, limit {limit}")]
    ValueTooLarge {
        /// The key.
        key: StateKey,
        /// Length seen, in bytes.
        len: usize,
        /// Limit, in bytes.
        limit: usize,
    },
}

type Result<T, E = KeyError> = std::result::Result<T, E>;

/// Length of an [`Identity`] in bytes.
pub const IDENTITY_LEN: usize = 20;
/// Length of the fixed `engine ‖ identity` prefix of every encoded key, in bytes.
pub const KEY_PREFIX_LEN: usize = 1 + IDENTITY_LEN;
/// Largest `engine_key` accepted, in bytes.
pub const MAX_ENGINE_KEY_LEN: usize = 1024;
/// Largest value accepted for any key, in bytes (4 MiB, the JAM service code limit).
pub const MAX_VALUE_LEN: usize = 4 << 20;

/// First byte of every `engine_key`: what kind of record the key names.
///
/// These are the tags every engine sees (DESIGN.md "State"). The system
/// engine's own namespaces (sender nonces, caps) are kernel data and live in
/// `braid-kernel`.
pub mod namespace {
    /// Instance or account record (EVM: nonce, balance, code hash).
    pub const RECORD: u8 = 0x00;
    /// Contract storage (EVM: `0x01 ‖ slot` as 32 big-endian bytes). The
    /// cross-engine doors (RFC 0004) read this namespace only.
    pub const STORAGE: u8 = 0x01;
    /// Code, content-addressed: under the system engine, `0x02 ‖ keccak256(code)`.
    pub const CODE: u8 = 0x02;
}

/// One execution engine's id: the first byte of every key it owns.
///
/// `0x00` system, `0x01` EVM, `0x02` PVM, `0x03` WASM, `0x10..=0xFE` plugin
/// engines assigned in the chain spec. Other values are reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngineId(pub u8);

impl EngineId {
    /// Kernel records and content-addressed code.
    pub const SYSTEM: EngineId = EngineId(0x00);
    /// The Ethereum virtual machine (revm).
    pub const EVM: EngineId = EngineId(0x01);
    /// The JAM Gray Paper PVM.
    pub const PVM: EngineId = EngineId(0x02);
    /// WebAssembly (wasmtime).
    pub const WASM: EngineId = EngineId(0x03);
    /// First id a plugin engine may be assigned.
    pub const FIRST_PLUGIN: u8 = 0x10;
    /// Last id a plugin engine may be assigned.
    pub const LAST_PLUGIN: u8 = 0xFE;

    /// Whether the id is one of the built-in engines or in the plugin range.
    pub fn is_assignable(self) -> bool {
        self.0 <= 0x03 || (Self::FIRST_PLUGIN..=Self::LAST_PLUGIN).contains(&self.0)
    }
}

impl std::fmt::Display for EngineId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:02x}", self.0)
    }
}

/// A 20-byte identity inside one engine: an EVM address, or
/// `keccak256(chain_id_be8 ‖ module_name ‖ version_be4)[0..20]` for PVM and WASM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity(pub [u8; IDENTITY_LEN]);

impl Identity {
    /// The all-zero identity, used by the system engine.
    pub const ZERO: Identity = Identity([0; IDENTITY_LEN]);

    /// Reads an identity from exactly 20 bytes.
    ///
    /// # Errors
    /// [`KeyError::BadIdentityLength`] when `bytes` is not 20 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let raw: [u8; IDENTITY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::BadIdentityLength { len: bytes.len() })?;
        Ok(Identity(raw))
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A full state key: which engine owns it, which identity inside the engine,
/// and the engine's own key bytes (starting with a [`namespace`] tag).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateKey {
    /// Owning engine.
    pub engine: EngineId,
    /// Instance or account inside the engine.
    pub identity: Identity,
    /// Engine-defined key bytes, at most [`MAX_ENGINE_KEY_LEN`].
    pub engine_key: Vec<u8>,
}

impl std::fmt::Display for StateKey {
    /// The encoded key as 0x-prefixed hex.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex_of(&self.encode()))
    }
}

impl StateKey {
    /// Builds a key; see [`StateKey::check`] for the limits.
    pub fn new(engine: EngineId, identity: Identity, engine_key: impl Into<Vec<u8>>) -> Self {
        StateKey {
            engine,
            identity,
            engine_key: engine_key.into(),
        }
    }

    /// The content-addressed code key `(system, 0, 0x02 ‖ code_hash)`.
    pub fn code(code_hash: &[u8; 32]) -> Self {
        let mut engine_key = Vec::with_capacity(33);
        engine_key.push(namespace::CODE);
        engine_key.extend_from_slice(code_hash);
        StateKey::new(EngineId::SYSTEM, Identity::ZERO, engine_key)
    }

    /// Checks the engine key length.
    ///
    /// # Errors
    /// [`KeyError::EngineKeyTooLong`] past [`MAX_ENGINE_KEY_LEN`] bytes.
    pub fn check(&self) -> Result<()> {
        if self.engine_key.len() > MAX_ENGINE_KEY_LEN {
            return Err(KeyError::EngineKeyTooLong {
                len: self.engine_key.len(),
                limit: MAX_ENGINE_KEY_LEN,
            });
        }
        Ok(())
    }

    /// Encodes as `engine ‖ identity ‖ engine_key` (21 + `engine_key.len()` bytes).
    pub fn encode(&self) -> Vec<u8> {
        encode_parts(self.engine, &self.identity, &self.engine_key)
    }

    /// Decodes an encoded key.
    ///
    /// # Errors
    /// [`KeyError::KeyTooShort`] under 21 bytes, and the limits of [`StateKey::check`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < KEY_PREFIX_LEN {
            return Err(KeyError::KeyTooShort { len: bytes.len() });
        }
        let key = StateKey {
            engine: EngineId(bytes[0]),
            identity: Identity::from_slice(&bytes[1..KEY_PREFIX_LEN])?,
            engine_key: bytes[KEY_PREFIX_LEN..].to_vec(),
        };
        key.check()?;
        Ok(key)
    }
}

/// Encodes `engine ‖ identity ‖ engine_key` without building a [`StateKey`].
pub fn encode_parts(engine: EngineId, identity: &Identity, engine_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(KEY_PREFIX_LEN + engine_key.len());
    out.push(engine.0);
    out.extend_from_slice(&identity.0);
    out.extend_from_slice(engine_key);
    out
}

/// Checks a value's length against [`MAX_VALUE_LEN`].
///
/// # Errors
/// [`KeyError::ValueTooLarge`] naming the key and both lengths.
pub fn check_value(key: &StateKey, value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(KeyError::ValueTooLarge {
            key: key.clone(),
            len: value.len(),
            limit: MAX_VALUE_LEN,
        });
    }
    Ok(())
}

/// Checks a write an engine is about to make in its own scope: the engine
/// key against [`MAX_ENGINE_KEY_LEN`], the value (if any) against
/// [`MAX_VALUE_LEN`]. Engines call this before [`crate::Host::set`] and turn a
/// violation into a status or a fault of the guest.
///
/// # Errors
/// [`KeyError::EngineKeyTooLong`] or [`KeyError::ValueTooLarge`].
pub fn check_write(
    engine: EngineId,
    identity: &Identity,
    engine_key: &[u8],
    value: Option<&[u8]>,
) -> Result<()> {
    let key_ok = engine_key.len() <= MAX_ENGINE_KEY_LEN;
    let value_ok = value.is_none_or(|v| v.len() <= MAX_VALUE_LEN);
    if key_ok && value_ok {
        return Ok(());
    }
    // Built only to report it.
    let key = StateKey::new(engine, *identity, engine_key);
    key.check()?;
    check_value(&key, value.unwrap_or_default())
}

/// `bytes` as 0x-prefixed lowercase hex.
pub fn hex_of(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_key() -> impl Strategy<Value = StateKey> {
        (
            any::<u8>(),
            any::<[u8; 20]>(),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(e, i, k)| StateKey::new(EngineId(e), Identity(i), k))
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(key in arb_key()) {
            prop_assert_eq!(StateKey::decode(&key.encode()).unwrap(), key);
        }

        #[test]
        fn byte_order_groups_by_engine_then_identity(a in arb_key(), b in arb_key()) {
            let (ea, eb) = (a.encode(), b.encode());
            // Encoded order agrees with (engine, identity, engine_key) order.
            prop_assert_eq!(ea.cmp(&eb), (a.engine, a.identity, &a.engine_key).cmp(&(b.engine, b.identity, &b.engine_key)));
            // Keys of one (engine, identity) share the 21-byte prefix, and only they do.
            let same_scope = a.engine == b.engine && a.identity == b.identity;
            prop_assert_eq!(ea[..KEY_PREFIX_LEN] == eb[..KEY_PREFIX_LEN], same_scope);
        }
    }

    #[test]
    fn short_key_is_a_typed_error() {
        assert_eq!(
            StateKey::decode(&[1, 2, 3]),
            Err(KeyError::KeyTooShort { len: 3 })
        );
    }

    #[test]
    fn oversized_value_is_refused() {
        let key = StateKey::new(EngineId::EVM, Identity::ZERO, vec![1]);
        let err = check_value(&key, &vec![0; MAX_VALUE_LEN + 1]).unwrap_err();
        assert!(matches!(err, KeyError::ValueTooLarge { len, .. } if len == MAX_VALUE_LEN + 1));
        assert!(err.to_string().contains("0x0100000000"), "{err}");
    }
}
