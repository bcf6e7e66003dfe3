//! `braid-precompiles`: what every Braid engine shares that is not a VM.
//!
//! What it is: the crypto functions engines expose to guests (blake2b-256,
//! keccak-256, ed25519-verify), each with its price declared once in
//! [`prices`], and the EVM → PVM/WASM cross-engine [`read`] precompile
//! (RFC 0004, DESIGN.md "Cross-engine reads"), written against a closure
//! that reads committed state so that it does not depend on revm.
//!
//! What it does not do: it holds no state and runs no guest code. It depends
//! on `braid-core` only; engines depend on it (STYLE.md point 1).

pub mod host_calls;
pub mod read;

use blake2::{Blake2b, Digest, digest::consts::U32};

pub use braid_core::keccak256 as keccak_256;

/// The price of a function whose cost grows with its input: `base +
/// per_word · ⌈len / 32⌉`, in the calling engine's native gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    /// Fixed part.
    pub base: u64,
    /// Per 32-byte word of input.
    pub per_word: u64,
}

impl Price {
    /// Gas for an input of `len` bytes.
    pub fn of(self, len: u64) -> u64 {
        self.base
            .saturating_add(self.per_word.saturating_mul(len.div_ceil(32)))
    }
}

/// Prices of the shared functions, in PVM/WASM gas (RFC 0003). The keccak
/// price is the EVM's `KECCAK256`; blake2b is priced at twice that.
pub mod prices {
    use super::Price;

    /// blake2b-256.
    pub const BLAKE2B_256: Price = Price {
        base: 60,
        per_word: 12,
    };
    /// keccak-256.
    pub const KECCAK_256: Price = Price {
        base: 30,
        per_word: 6,
    };
    /// ed25519 signature verification (the message is hashed inside).
    pub const ED25519_VERIFY: Price = Price {
        base: 3000,
        per_word: 0,
    };
}

/// blake2b with a 256-bit output (RFC 7693), as JAM and Braid's state tree use.
pub fn blake2b_256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(data);
    hasher.finalize().into()
}

/// Verifies an ed25519 signature (RFC 8032, strict: small-order public keys
/// and non-canonical signatures fail). `false` for a malformed public key.
pub fn ed25519_verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_known_answers() {
        // RFC 7693 / reference implementation, blake2b-256("abc").
        assert_eq!(blake2b_256(b"abc")[..4], [0xbd, 0xdd, 0x81, 0x3c]);
        // keccak-256("") = c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470.
        assert_eq!(keccak_256(b"")[..4], [0xc5, 0xd2, 0x46, 0x01]);
    }

    #[test]
    fn ed25519_rejects_a_flipped_bit_and_a_bad_key() {
        use ed25519_dalek::{Signer, SigningKey};
        let key = SigningKey::from_bytes(&[7; 32]);
        let sig = key.sign(b"braid").to_bytes();
        let pk = key.verifying_key().to_bytes();
        assert!(ed25519_verify(&pk, b"braid", &sig));
        assert!(!ed25519_verify(&pk, b"braiD", &sig));
        let mut bad = sig;
        bad[0] ^= 1;
        assert!(!ed25519_verify(&pk, b"braid", &bad));
        assert!(!ed25519_verify(&[0xFF; 32], b"braid", &sig));
    }

    #[test]
    fn prices_round_up_to_words() {
        assert_eq!(prices::KECCAK_256.of(0), 30);
        assert_eq!(prices::KECCAK_256.of(1), 36);
        assert_eq!(prices::KECCAK_256.of(64), 42);
    }
}
