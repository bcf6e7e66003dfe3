//! How EVM accounts sit in Braid's state (RFC 0006, RFC 0004).
//!
//! Every EVM key lives under engine `0x01` with the 20-byte account address
//! as identity:
//!
//! | engine key | value |
//! |---|---|
//! | `0x00` ([`ACCOUNT_RECORD_KEY`]) | [`AccountRecord`]: nonce, balance, code hash (72 bytes) |
//! | `0x01 ‖ slot` (33 bytes, slot big-endian) | 32-byte big-endian value; zero is never stored |
//!
//! Code is not stored per account: it lives once, by keccak-256 hash, under the
//! system engine (`0x00`, identity zero, `0x02 ‖ code_hash`), written through
//! `Host::store_code`. An absent account record means "no account": an
//! account with storage always has a record.

use braid_core::{EngineId, Identity, StateKey, namespace};
use parity_scale_codec::{Decode, Encode};
use revm::primitives::{Address, B256, KECCAK_EMPTY, U256};

/// Engine key of an account record: the single byte [`namespace::RECORD`].
pub const ACCOUNT_RECORD_KEY: [u8; 1] = [namespace::RECORD];

/// Length of an encoded [`AccountRecord`], in bytes: 8 (nonce) + 32 + 32.
pub const ACCOUNT_RECORD_LEN: usize = 72;

/// The account record stored at engine key `0x00`, 72 bytes at fixed offsets:
///
/// | bytes | field |
/// |---|---|
/// | `0..8` | nonce, `u64` little-endian |
/// | `8..40` | balance in wei, 256-bit big-endian |
/// | `40..72` | code hash |
///
/// This is exactly the SCALE encoding of the struct (a `u64` then two byte
/// arrays, no length prefixes); [`AccountRecord::to_bytes`] and
/// [`AccountRecord::from_bytes`] write and read the offsets directly, and the
/// derived SCALE codec is kept as their reference twin, checked in the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct AccountRecord {
    /// Transaction count (EOA) or contract-creation count (contract).
    pub nonce: u64,
    /// Balance in wei, 256-bit big-endian.
    pub balance: [u8; 32],
    /// keccak-256 of the account's code; `KECCAK_EMPTY` for no code.
    pub code_hash: [u8; 32],
}

impl AccountRecord {
    /// A record from revm's values.
    pub fn new(nonce: u64, balance: U256, code_hash: B256) -> Self {
        AccountRecord {
            nonce,
            balance: balance.to_be_bytes::<32>(),
            code_hash: code_hash.0,
        }
    }

    /// The balance as a revm integer, in wei.
    pub fn balance(&self) -> U256 {
        U256::from_be_bytes(self.balance)
    }

    /// The code hash as a revm hash.
    pub fn code_hash(&self) -> B256 {
        B256::from(self.code_hash)
    }

    /// Whether the account is empty in the EIP-161 sense: nonce 0, balance 0, no code.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0
            && self.balance == [0; 32]
            && (self.code_hash == KECCAK_EMPTY.0 || self.code_hash == [0; 32])
    }

    /// The stored form ([`ACCOUNT_RECORD_LEN`] bytes, layout in the type docs).
    pub fn to_bytes(&self) -> [u8; ACCOUNT_RECORD_LEN] {
        let mut bytes = [0u8; ACCOUNT_RECORD_LEN];
        bytes[..8].copy_from_slice(&self.nonce.to_le_bytes());
        bytes[8..40].copy_from_slice(&self.balance);
        bytes[40..].copy_from_slice(&self.code_hash);
        bytes
    }

    /// Reads a stored record; `None` if `bytes` is not exactly
    /// [`ACCOUNT_RECORD_LEN`] bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != ACCOUNT_RECORD_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_first_chunk::<8>()?;
        let (balance, code_hash) = rest.split_first_chunk::<32>()?;
        Some(AccountRecord {
            nonce: u64::from_le_bytes(*nonce),
            balance: *balance,
            code_hash: code_hash.try_into().ok()?,
        })
    }
}

/// The engine key of storage slot `slot`: `0x01 ‖ slot` (33 bytes, slot big-endian).
pub fn storage_key(slot: &[u8; 32]) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = namespace::STORAGE;
    key[1..].copy_from_slice(slot);
    key
}

/// The slot of a storage engine key, if `engine_key` is one (`0x01` + 32 bytes).
pub fn slot_of(engine_key: &[u8]) -> Option<[u8; 32]> {
    match engine_key.split_first() {
        Some((&namespace::STORAGE, slot)) => slot.try_into().ok(),
        _ => None,
    }
}

/// The identity of an EVM address (the same 20 bytes).
pub fn identity(address: Address) -> Identity {
    Identity(address.into_array())
}

/// The address of an EVM identity (the same 20 bytes).
pub fn address(identity: &Identity) -> Address {
    Address::from(identity.0)
}

/// One account of a genesis allocation (geth-style `alloc` entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Runtime code; empty for an externally owned account.
    pub code: Vec<u8>,
    /// Storage slots; zero values are skipped.
    pub storage: Vec<(U256, U256)>,
}

/// The state writes that create `account` at `address`: its record, its
/// non-zero storage slots and, when it has code, the content-addressed code
/// under the system engine. The record is written even for an empty account
/// (a genesis may hold empty accounts; EIP-161 removes them once touched).
pub fn genesis_writes(
    address: Address,
    account: &GenesisAccount,
) -> Vec<(StateKey, Option<Vec<u8>>)> {
    let id = identity(address);
    let code_hash = if account.code.is_empty() {
        KECCAK_EMPTY
    } else {
        revm::primitives::keccak256(&account.code)
    };
    let record = AccountRecord::new(account.nonce, account.balance, code_hash);
    let mut writes = vec![(
        StateKey::new(EngineId::EVM, id, ACCOUNT_RECORD_KEY.to_vec()),
        Some(record.to_bytes().to_vec()),
    )];
    for (slot, value) in &account.storage {
        if !value.is_zero() {
            let key = storage_key(&slot.to_be_bytes::<32>());
            writes.push((
                StateKey::new(EngineId::EVM, id, key.to_vec()),
                Some(value.to_be_bytes::<32>().to_vec()),
            ));
        }
    }
    if !account.code.is_empty() {
        writes.push((StateKey::code(&code_hash.0), Some(account.code.clone())));
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_has_fixed_length() {
        let record = AccountRecord::new(7, U256::from(1_000_000u64), KECCAK_EMPTY);
        let bytes = record.to_bytes();
        assert_eq!(bytes.len(), ACCOUNT_RECORD_LEN);
        assert_eq!(&bytes[..8], &7u64.to_le_bytes());
        assert_eq!(AccountRecord::from_bytes(&bytes), Some(record));
        assert_eq!(AccountRecord::from_bytes(&bytes[1..]), None);
        assert!(!record.is_empty());
        assert!(AccountRecord::new(0, U256::ZERO, KECCAK_EMPTY).is_empty());
    }

    /// The fixed-offset codec against its reference twin, the derived SCALE
    /// codec, on records with every byte position exercised.
    #[test]
    fn record_codec_matches_scale() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            // xorshift64: deterministic, no dev-dependency needed.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut records = vec![
            AccountRecord::default(),
            AccountRecord::new(u64::MAX, U256::MAX, KECCAK_EMPTY),
        ];
        for _ in 0..256 {
            let mut record = AccountRecord {
                nonce: next(),
                ..AccountRecord::default()
            };
            for byte in record.balance.iter_mut().chain(record.code_hash.iter_mut()) {
                *byte = next() as u8;
            }
            records.push(record);
        }
        for record in records {
            let bytes = record.to_bytes();
            assert_eq!(bytes.to_vec(), record.encode(), "{record:?}");
            assert_eq!(AccountRecord::from_bytes(&bytes), Some(record));
            assert_eq!(
                AccountRecord::from_bytes(&bytes),
                AccountRecord::decode(&mut &bytes[..]).ok()
            );
            assert_eq!(
                AccountRecord::from_bytes(&[bytes.as_slice(), &[0]].concat()),
                None
            );
        }
    }

    #[test]
    fn storage_key_round_trips() {
        let slot = [9u8; 32];
        let key = storage_key(&slot);
        assert_eq!(key[0], namespace::STORAGE);
        assert_eq!(slot_of(&key), Some(slot));
        assert_eq!(slot_of(&ACCOUNT_RECORD_KEY), None);
    }
}
