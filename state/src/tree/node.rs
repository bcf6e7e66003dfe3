//! Hashing and the binary node algebra of the tree: what a subtree hashes to.
//!
//! Everything here is pure: no storage, no pages. The page layer folds 16
//! slots with [`combine`]; the proof verifier hashes along a path with
//! [`internal_hash`].

use blake2::Blake2b;
use blake2::Digest;
use blake2::digest::consts::U32;

/// A 32-byte blake2b-256 digest: key hashes, value hashes and node hashes.
pub type Hash = [u8; 32];

/// The hash of an empty subtree, and so the root of the empty tree: 32 zero bytes.
pub const EMPTY_ROOT: Hash = [0; 32];

/// Domain tag prefixed to a leaf's preimage.
pub const LEAF_TAG: u8 = 0x00;
/// Domain tag prefixed to an internal node's preimage.
pub const INTERNAL_TAG: u8 = 0x01;

/// Number of bits in a key path (a key hash): the maximum depth of a leaf.
pub const PATH_BITS: usize = 256;

type Blake2b256 = Blake2b<U32>;

/// `blake2b-256(key)`: where an encoded state key lives in the tree.
///
/// Bit `i` of the path is bit `7 - i % 8` of byte `i / 8` (most significant
/// bit first); bit 0 chooses the root's child, `0` left and `1` right.
pub fn key_hash(key: &[u8]) -> Hash {
    Blake2b256::digest(key).into()
}

/// `blake2b-256(value)`: what a leaf commits to for its value.
pub fn value_hash(value: &[u8]) -> Hash {
    Blake2b256::digest(value).into()
}

/// A leaf's hash: `blake2b-256(0x00 ‖ key_hash ‖ value_hash)` (65-byte preimage).
pub fn leaf_hash(key_hash: &Hash, value_hash: &Hash) -> Hash {
    let mut hasher = Blake2b256::new();
    hasher.update([LEAF_TAG]);
    hasher.update(key_hash);
    hasher.update(value_hash);
    hasher.finalize().into()
}

/// An internal node's hash: `blake2b-256(0x01 ‖ left ‖ right)` (65-byte
/// preimage), where an empty child is [`EMPTY_ROOT`].
pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Blake2b256::new();
    hasher.update([INTERNAL_TAG]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Bit `depth` of `path`, most significant bit first.
///
/// # Panics
/// When `depth >= 256`.
pub(crate) fn bit(path: &Hash, depth: usize) -> bool {
    (path[depth / 8] >> (7 - depth % 8)) & 1 == 1
}

/// Whether `a` and `b` agree on their first `bits` bits.
pub(crate) fn shares_prefix(a: &Hash, b: &Hash, bits: usize) -> bool {
    let full = bits / 8;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xFFu8 << (8 - rest);
    (a[full] ^ b[full]) & mask == 0
}

/// One leaf: the key's path, the hash of its value, and (cached) its leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leaf {
    /// `blake2b-256(encoded key)`.
    pub(crate) key_hash: Hash,
    /// `blake2b-256(value)`.
    pub(crate) value_hash: Hash,
    /// [`leaf_hash`]`(key_hash, value_hash)`.
    pub(crate) hash: Hash,
}

impl Leaf {
    /// A leaf, computing its hash.
    pub(crate) fn new(key_hash: Hash, value_hash: Hash) -> Leaf {
        Leaf {
            key_hash,
            value_hash,
            hash: leaf_hash(&key_hash, &value_hash),
        }
    }
}

/// What a subtree is, as far as hashing goes.
///
/// A subtree with no key is `Empty`; with exactly one key it is that `Leaf`,
/// whatever its depth (single-leaf subtrees collapse); with two or more it is
/// an `Internal` node whose hash is [`internal_hash`] of its two children.
/// In a page slot, `Internal(h)` means "a child page whose subtree hashes to `h`".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// No key below.
    Empty,
    /// Exactly one key below.
    Leaf(Leaf),
    /// Two or more keys below; the subtree's hash.
    Internal(Hash),
}

impl Node {
    /// The node's hash: zeros, the leaf hash, or the internal hash.
    pub(crate) fn hash(&self) -> Hash {
        match self {
            Node::Empty => EMPTY_ROOT,
            Node::Leaf(leaf) => leaf.hash,
            Node::Internal(hash) => *hash,
        }
    }
}

/// The parent of two sibling subtrees, collapsing single-leaf subtrees.
pub(crate) fn combine(left: &Node, right: &Node) -> Node {
    match (left, right) {
        (Node::Empty, Node::Empty) => Node::Empty,
        (Node::Empty, Node::Leaf(leaf)) | (Node::Leaf(leaf), Node::Empty) => Node::Leaf(*leaf),
        (left, right) => Node::Internal(internal_hash(&left.hash(), &right.hash())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_msb_first() {
        let mut path = [0u8; 32];
        path[0] = 0b1000_0000;
        path[1] = 0b0000_0001;
        assert!(bit(&path, 0));
        assert!(!bit(&path, 1));
        assert!(bit(&path, 15));
        assert!(!bit(&path, 14));
    }

    #[test]
    fn prefix_comparison() {
        let a = [0xAB; 32];
        let mut b = a;
        b[2] ^= 0b0001_0000;
        assert!(shares_prefix(&a, &b, 19));
        assert!(!shares_prefix(&a, &b, 20));
        assert!(shares_prefix(&a, &a, 256));
        assert!(shares_prefix(&a, &b, 0));
    }

    #[test]
    fn leaf_and_internal_hashes_are_domain_separated() {
        let x = [7u8; 32];
        assert_ne!(leaf_hash(&x, &x), internal_hash(&x, &x));
    }

    #[test]
    fn combine_collapses_single_leaves() {
        let leaf = Node::Leaf(Leaf::new([1; 32], [2; 32]));
        assert_eq!(combine(&Node::Empty, &leaf), leaf);
        assert_eq!(combine(&leaf, &Node::Empty), leaf);
        assert_eq!(combine(&Node::Empty, &Node::Empty), Node::Empty);
        let internal = Node::Internal([3; 32]);
        assert_eq!(
            combine(&Node::Empty, &internal),
            Node::Internal(internal_hash(&EMPTY_ROOT, &[3; 32]))
        );
    }
}
