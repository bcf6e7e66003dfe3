//! Inclusion and exclusion proofs, and their verifier.
//!
//! A [`Proof`] is the path from the root toward `blake2b-256(key)`: the
//! sibling hash at every depth, root first, down to the first position whose
//! subtree is empty or a single leaf (the [`Terminal`]). The verifier
//! rebuilds the root from the terminal upward and compares.

use parity_scale_codec::{Decode, Encode};

use super::node::{
    EMPTY_ROOT, Hash, PATH_BITS, bit, internal_hash, key_hash, leaf_hash, shares_prefix, value_hash,
};

/// Where a proof's path ends.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Terminal {
    /// The subtree at the end of the path holds no key: the key is absent.
    Empty,
    /// The subtree at the end of the path holds exactly this one leaf. If its
    /// `key_hash` is the proven key's, the key is present with a value
    /// hashing to `value_hash`; otherwise the key is absent.
    Leaf {
        /// `blake2b-256` of the leaf's encoded key (32 bytes).
        key_hash: Hash,
        /// `blake2b-256` of the leaf's value (32 bytes).
        value_hash: Hash,
    },
}

/// A Merkle proof that one key is present with some value (inclusion) or
/// absent (exclusion), against one root.
///
/// SCALE-encoded as `key_hash (32 bytes) ‖ compact(n) ‖ n × 32-byte
/// siblings ‖ terminal (tag 0 = empty; tag 1 ‖ key_hash ‖ value_hash)`:
/// `34 + 32·n` bytes for an empty terminal, `98 + 32·n` for a leaf, where
/// `n ≤ 256` is the depth at which the path ends (about `log2(keys) + 1`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Proof {
    /// `blake2b-256` of the encoded key the proof is about: binds the proof to
    /// that key.
    pub key_hash: Hash,
    /// `siblings[d]` is the hash of the sibling of the path's node at depth
    /// `d + 1` (the other child of the node at depth `d`); an empty sibling is
    /// 32 zero bytes.
    pub siblings: Vec<Hash>,
    /// What the path ends on, at depth `siblings.len()`.
    pub terminal: Terminal,
}

impl Proof {
    /// Whether the proof shows the key present (the terminal leaf is the key's own).
    pub fn is_inclusion(&self) -> bool {
        matches!(&self.terminal, Terminal::Leaf { key_hash, .. } if *key_hash == self.key_hash)
    }

    /// Depth in bits at which the proven path ends (`0..=256`).
    pub fn depth(&self) -> usize {
        self.siblings.len()
    }
}

/// Why a proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The proof is about another key than the one given.
    #[error("proof is for key hash {}, not {}", hex(.proof_key_hash), hex(.key_hash))]
    KeyMismatch {
        /// `blake2b-256` of the key given to the verifier.
        key_hash: Hash,
        /// The key hash the proof carries.
        proof_key_hash: Hash,
    },
    /// The proof has more siblings than a 256-bit path has levels.
    #[error("proof has {depth} siblings, at most {max} fit a 256-bit path")]
    TooDeep {
        /// Siblings in the proof.
        depth: usize,
        /// Largest possible depth, 256.
        max: usize,
    },
    /// The terminal leaf does not lie on the key's path.
    #[error("terminal leaf {} does not share the first {depth} bits of key hash {}", hex(.leaf_key_hash), hex(.key_hash))]
    LeafOffPath {
        /// The terminal leaf's key hash.
        leaf_key_hash: Hash,
        /// The proven key's hash.
        key_hash: Hash,
        /// Depth of the terminal, in bits.
        depth: usize,
    },
    /// A value was claimed but the proof shows the key absent.
    #[error("a value was claimed for key hash {}, but the proof shows the key absent", hex(.key_hash))]
    KeyAbsent {
        /// The proven key's hash.
        key_hash: Hash,
    },
    /// Absence was claimed but the proof shows the key present.
    #[error("absence was claimed for key hash {}, but the proof shows the key present", hex(.key_hash))]
    KeyPresent {
        /// The proven key's hash.
        key_hash: Hash,
    },
    /// The key is present, but with another value than the one claimed.
    #[error("claimed value hashes to {}, the proof commits to {}", hex(.claimed), hex(.proven))]
    ValueMismatch {
        /// `blake2b-256` of the claimed value.
        claimed: Hash,
        /// The value hash in the proof's leaf.
        proven: Hash,
    },
    /// The path does not hash to the given root.
    #[error("proof hashes to root {}, expected {}", hex(.computed), hex(.expected))]
    RootMismatch {
        /// The root the verifier was given.
        expected: Hash,
        /// The root the proof hashes to.
        computed: Hash,
    },
}

fn hex(hash: &Hash) -> String {
    crate::key::hex_of(hash)
}

/// Verifies `proof` for `key` against `root`, with nothing else.
///
/// `value = Some(v)` claims the key is present with value `v`; `None` claims
/// the key is absent. Cost: one blake2b-256 of the key, one of the value, one
/// leaf hash and one internal hash per sibling.
///
/// # Errors
/// A [`ProofError`] naming the first check that failed: the proof is for
/// another key, is deeper than 256, its terminal leaf is off the key's path,
/// the claim (present with `v`, or absent) contradicts the proof, or the path
/// does not hash to `root`.
pub fn verify_proof(
    root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &Proof,
) -> Result<(), ProofError> {
    verify_hashed(root, &key_hash(key), value.map(value_hash).as_ref(), proof)
}

/// [`verify_proof`] on a key hash and a value hash instead of the key and the value.
///
/// # Errors
/// As [`verify_proof`].
pub fn verify_hashed(
    root: &Hash,
    key_hash: &Hash,
    value_hash: Option<&Hash>,
    proof: &Proof,
) -> Result<(), ProofError> {
    if proof.key_hash != *key_hash {
        return Err(ProofError::KeyMismatch {
            key_hash: *key_hash,
            proof_key_hash: proof.key_hash,
        });
    }
    let depth = proof.siblings.len();
    if depth > PATH_BITS {
        return Err(ProofError::TooDeep {
            depth,
            max: PATH_BITS,
        });
    }
    let mut node = match &proof.terminal {
        Terminal::Empty => {
            if value_hash.is_some() {
                return Err(ProofError::KeyAbsent {
                    key_hash: *key_hash,
                });
            }
            EMPTY_ROOT
        }
        Terminal::Leaf {
            key_hash: leaf_key,
            value_hash: leaf_value,
        } => {
            if !shares_prefix(leaf_key, key_hash, depth) {
                return Err(ProofError::LeafOffPath {
                    leaf_key_hash: *leaf_key,
                    key_hash: *key_hash,
                    depth,
                });
            }
            match (leaf_key == key_hash, value_hash) {
                (true, None) => {
                    return Err(ProofError::KeyPresent {
                        key_hash: *key_hash,
                    });
                }
                (true, Some(claimed)) if claimed != leaf_value => {
                    return Err(ProofError::ValueMismatch {
                        claimed: *claimed,
                        proven: *leaf_value,
                    });
                }
                (false, Some(_)) => {
                    return Err(ProofError::KeyAbsent {
                        key_hash: *key_hash,
                    });
                }
                _ => {}
            }
            leaf_hash(leaf_key, leaf_value)
        }
    };
    for (d, sibling) in proof.siblings.iter().enumerate().rev() {
        node = if bit(key_hash, d) {
            internal_hash(sibling, &node)
        } else {
            internal_hash(&node, sibling)
        };
    }
    if node != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed: node,
        });
    }
    Ok(())
}
