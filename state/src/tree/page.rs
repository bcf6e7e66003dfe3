//! Pages: the unit of storage and caching.
//!
//! A page is the 4-level binary subtree below one position whose depth is a
//! multiple of [`PAGE_BITS`]: its 16 *slots* are the positions 4 levels
//! further down. A slot is empty, holds a single leaf (key hash and value
//! hash), or points to a child page (by the hash of the child's subtree). The
//! 15 internal hashes inside a page are not stored; they are recomputed from
//! the slots with [`fold`] (at most 15 blake2b calls).
//!
//! A page exists at a position exactly when the subtree there holds two or
//! more keys, except the root page, which exists whenever the tree is not
//! empty.

use crate::{Result, StateError};

use super::node::{Hash, Leaf, Node, combine, leaf_hash, shares_prefix};

/// Binary levels covered by one page.
pub(crate) const PAGE_BITS: usize = 4;
/// Slots per page: `2^PAGE_BITS`.
pub(crate) const SLOTS: usize = 1 << PAGE_BITS;
/// Depth of the deepest possible page (its slots are at depth 256).
pub(crate) const MAX_PAGE_DEPTH: usize = 256 - PAGE_BITS;
/// Storage key of the root pointer in [`Column::Tree`](crate::Column::Tree):
/// `0xFF` is never the first byte of a page key (page depths are multiples of 4, at most 252).
pub(crate) const ROOT_POINTER_KEY: &[u8] = &[0xFF];

/// Where a page sits: its depth in bits (a multiple of 4, `0..=252`) and the
/// first `depth` bits of every key path below it (later bits zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PageKey {
    pub(crate) depth: u8,
    pub(crate) prefix: Hash,
}

impl PageKey {
    /// The root page.
    pub(crate) const ROOT: PageKey = PageKey {
        depth: 0,
        prefix: [0; 32],
    };

    /// Depth in bits, as an index.
    pub(crate) fn depth(&self) -> usize {
        self.depth as usize
    }

    /// The child page below slot `slot` (`0..16`).
    pub(crate) fn child(&self, slot: usize) -> PageKey {
        let depth = self.depth();
        debug_assert!(
            depth < MAX_PAGE_DEPTH,
            "no page below depth {MAX_PAGE_DEPTH}"
        );
        let mut prefix = self.prefix;
        let byte = depth / 8;
        if depth.is_multiple_of(8) {
            prefix[byte] |= (slot as u8) << 4;
        } else {
            prefix[byte] |= slot as u8;
        }
        PageKey {
            depth: (depth + PAGE_BITS) as u8,
            prefix,
        }
    }

    /// Parses a storage key made by [`PageKey::storage_key`].
    ///
    /// # Errors
    /// [`StateError::Corrupt`] when the depth is not a multiple of 4 up to
    /// 252, the prefix length disagrees with it, or bits past the depth are set.
    pub(crate) fn from_storage_key(bytes: &[u8]) -> Result<PageKey> {
        let corrupt = |detail: String| StateError::Corrupt {
            what: "merkle page key",
            detail,
        };
        let Some((&depth, prefix)) = bytes.split_first() else {
            return Err(corrupt("empty key".into()));
        };
        let depth_bits = depth as usize;
        if !depth_bits.is_multiple_of(PAGE_BITS) || depth_bits > MAX_PAGE_DEPTH {
            return Err(corrupt(format!(
                "depth {depth} is not a multiple of {PAGE_BITS} up to {MAX_PAGE_DEPTH}"
            )));
        }
        if prefix.len() != depth_bits.div_ceil(8) {
            return Err(corrupt(format!(
                "{}-byte prefix for depth {depth}",
                prefix.len()
            )));
        }
        let mut key = PageKey {
            depth,
            prefix: [0; 32],
        };
        key.prefix[..prefix.len()].copy_from_slice(prefix);
        if !depth_bits.is_multiple_of(8) && key.prefix[depth_bits / 8] & 0x0F != 0 {
            return Err(corrupt(format!(
                "prefix {} has bits set past depth {depth}",
                hex(prefix)
            )));
        }
        Ok(key)
    }

    /// The storage key: `depth (1 byte) ‖ prefix (ceil(depth / 8) bytes)`,
    /// 1 to 33 bytes.
    pub(crate) fn storage_key(&self) -> Vec<u8> {
        let len = self.depth().div_ceil(8);
        let mut key = Vec::with_capacity(1 + len);
        key.push(self.depth);
        key.extend_from_slice(&self.prefix[..len]);
        key
    }
}

/// Slot index (`0..16`) of `path` in a page at `depth` bits: path bits
/// `depth..depth + 4`.
pub(crate) fn slot_of(path: &Hash, depth: usize) -> usize {
    let byte = path[depth / 8];
    if depth.is_multiple_of(8) {
        (byte >> 4) as usize
    } else {
        (byte & 0x0F) as usize
    }
}

/// A page's slots, in one allocation: the stored encoding (see
/// [`Page::encode`]) followed, in memory only, by the leaf hashes (32 bytes
/// per leaf, slot order) so that unchanged leaves are never re-hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Page {
    bytes: Box<[u8]>,
}

/// Bytes of the stored header: `leaf_mask: u16 LE ‖ child_mask: u16 LE`.
const HEADER: usize = 4;
/// Stored bytes per leaf: `key_hash ‖ value_hash`.
const LEAF_BYTES: usize = 64;
/// Stored bytes per child page: its subtree hash.
const CHILD_BYTES: usize = 32;

fn hash_at(bytes: &[u8], at: usize) -> Hash {
    bytes[at..at + 32].try_into().expect("32 bytes")
}

impl Page {
    fn masks(&self) -> (u16, u16) {
        let b = &self.bytes;
        (
            u16::from_le_bytes([b[0], b[1]]),
            u16::from_le_bytes([b[2], b[3]]),
        )
    }

    fn stored_len(leaves: usize, children: usize) -> usize {
        HEADER + LEAF_BYTES * leaves + CHILD_BYTES * children
    }

    /// The 16 slots, expanded.
    pub(crate) fn slots(&self) -> [Node; SLOTS] {
        let (leaf_mask, child_mask) = self.masks();
        let n_leaves = leaf_mask.count_ones() as usize;
        let stored = Self::stored_len(n_leaves, child_mask.count_ones() as usize);
        let b = &self.bytes;
        let mut slots = [Node::Empty; SLOTS];
        let (mut leaf, mut child) = (0, 0);
        for (s, slot) in slots.iter_mut().enumerate() {
            if leaf_mask & (1 << s) != 0 {
                let at = HEADER + LEAF_BYTES * leaf;
                *slot = Node::Leaf(Leaf {
                    key_hash: hash_at(b, at),
                    value_hash: hash_at(b, at + 32),
                    hash: hash_at(b, stored + 32 * leaf),
                });
                leaf += 1;
            } else if child_mask & (1 << s) != 0 {
                *slot = Node::Internal(hash_at(
                    b,
                    HEADER + LEAF_BYTES * n_leaves + CHILD_BYTES * child,
                ));
                child += 1;
            }
        }
        slots
    }

    /// Packs 16 slots.
    pub(crate) fn from_slots(slots: &[Node; SLOTS]) -> Page {
        let (mut leaf_mask, mut child_mask) = (0u16, 0u16);
        for (s, slot) in slots.iter().enumerate() {
            match slot {
                Node::Empty => {}
                Node::Leaf(_) => leaf_mask |= 1 << s,
                Node::Internal(_) => child_mask |= 1 << s,
            }
        }
        let n_leaves = leaf_mask.count_ones() as usize;
        let stored = Self::stored_len(n_leaves, child_mask.count_ones() as usize);
        let mut bytes = vec![0u8; stored + 32 * n_leaves].into_boxed_slice();
        bytes[0..2].copy_from_slice(&leaf_mask.to_le_bytes());
        bytes[2..4].copy_from_slice(&child_mask.to_le_bytes());
        let (mut leaf_at, mut child_at, mut hash_at) =
            (HEADER, HEADER + LEAF_BYTES * n_leaves, stored);
        for slot in slots {
            match slot {
                Node::Empty => {}
                Node::Leaf(leaf) => {
                    bytes[leaf_at..leaf_at + 32].copy_from_slice(&leaf.key_hash);
                    bytes[leaf_at + 32..leaf_at + 64].copy_from_slice(&leaf.value_hash);
                    bytes[hash_at..hash_at + 32].copy_from_slice(&leaf.hash);
                    leaf_at += LEAF_BYTES;
                    hash_at += 32;
                }
                Node::Internal(hash) => {
                    bytes[child_at..child_at + 32].copy_from_slice(hash);
                    child_at += CHILD_BYTES;
                }
            }
        }
        Page { bytes }
    }

    /// Memory held, in bytes (for the cache budget).
    pub(crate) fn footprint(&self) -> usize {
        std::mem::size_of::<Page>() + self.bytes.len()
    }

    /// The stored form: `leaf_mask (u16 LE) ‖ child_mask (u16 LE) ‖ leaves
    /// (key_hash ‖ value_hash, 64 bytes each, slot order) ‖ children (32
    /// bytes each, slot order)`, `4 + 64·leaves + 32·children` bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let (leaf_mask, child_mask) = self.masks();
        let stored = Self::stored_len(
            leaf_mask.count_ones() as usize,
            child_mask.count_ones() as usize,
        );
        self.bytes[..stored].to_vec()
    }

    /// Decodes the page stored at `key`, checking its shape, and hashes its leaves.
    ///
    /// # Errors
    /// [`StateError::Corrupt`] when the length disagrees with the masks, the
    /// masks overlap, a non-root page holds fewer than two keys, or a leaf's
    /// path does not lie below its slot.
    pub(crate) fn decode(key: &PageKey, bytes: &[u8]) -> Result<Page> {
        let corrupt = |detail: String| StateError::Corrupt {
            what: "merkle page",
            detail: format!(
                "page at depth {} prefix {}: {detail}",
                key.depth,
                hex(&key.prefix)
            ),
        };
        if bytes.len() < HEADER {
            return Err(corrupt(format!(
                "{} bytes, shorter than the 4-byte header",
                bytes.len()
            )));
        }
        let leaf_mask = u16::from_le_bytes([bytes[0], bytes[1]]);
        let child_mask = u16::from_le_bytes([bytes[2], bytes[3]]);
        if leaf_mask & child_mask != 0 {
            return Err(corrupt(format!(
                "leaf mask {leaf_mask:#06x} overlaps child mask {child_mask:#06x}"
            )));
        }
        let (n_leaves, n_children) = (
            leaf_mask.count_ones() as usize,
            child_mask.count_ones() as usize,
        );
        let expected = Self::stored_len(n_leaves, n_children);
        if bytes.len() != expected {
            return Err(corrupt(format!(
                "{} bytes, masks say {expected}",
                bytes.len()
            )));
        }
        if key.depth != 0 && n_children == 0 && n_leaves < 2 {
            return Err(corrupt(format!("holds {n_leaves} leaf and no child page")));
        }
        let mut full = Vec::with_capacity(expected + 32 * n_leaves);
        full.extend_from_slice(bytes);
        let slots_with_leaves = (0..SLOTS).filter(|s| leaf_mask & (1 << s) != 0);
        for (i, slot) in slots_with_leaves.enumerate() {
            let at = HEADER + LEAF_BYTES * i;
            let (key_hash, value_hash) = (hash_at(bytes, at), hash_at(bytes, at + 32));
            if !shares_prefix(&key_hash, &key.prefix, key.depth())
                || slot_of(&key_hash, key.depth()) != slot
            {
                return Err(corrupt(format!(
                    "leaf {} does not belong in slot {slot}",
                    hex(&key_hash)
                )));
            }
            full.extend_from_slice(&leaf_hash(&key_hash, &value_hash));
        }
        Ok(Page {
            bytes: full.into_boxed_slice(),
        })
    }
}

/// Folds 16 slots into the page's top node (at most 15 hashes).
pub(crate) fn fold(slots: &[Node; SLOTS]) -> Node {
    let mut level = *slots;
    let mut width = SLOTS;
    while width > 1 {
        for i in 0..width / 2 {
            level[i] = combine(&level[2 * i], &level[2 * i + 1]);
        }
        width /= 2;
    }
    level[0]
}

/// Every level of a page's subtree: `levels[j]` holds the `2^j` nodes at
/// `j` levels below the page's top (`levels[4]` are the slots).
pub(crate) fn fold_levels(slots: &[Node; SLOTS]) -> [Vec<Node>; PAGE_BITS + 1] {
    let mut levels: [Vec<Node>; PAGE_BITS + 1] = Default::default();
    levels[PAGE_BITS] = slots.to_vec();
    for j in (0..PAGE_BITS).rev() {
        let below = &levels[j + 1];
        levels[j] = below
            .chunks_exact(2)
            .map(|pair| combine(&pair[0], &pair[1]))
            .collect();
    }
    levels
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    crate::key::hex_of(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_keys_extend_the_prefix_by_one_nibble() {
        let a = PageKey::ROOT.child(0xA);
        assert_eq!((a.depth, a.prefix[0]), (4, 0xA0));
        let b = a.child(0x3);
        assert_eq!((b.depth, b.prefix[0]), (8, 0xA3));
        assert_eq!(b.storage_key(), vec![8, 0xA3]);
        let c = b.child(0xF);
        assert_eq!(c.storage_key(), vec![12, 0xA3, 0xF0]);
        assert_eq!(PageKey::ROOT.storage_key(), vec![0]);
        for key in [PageKey::ROOT, a, b, c] {
            assert_eq!(PageKey::from_storage_key(&key.storage_key()).unwrap(), key);
        }
        assert!(PageKey::from_storage_key(&[12, 0xA3, 0xF1]).is_err());
        assert!(PageKey::from_storage_key(&[6, 0xA3]).is_err());
    }

    #[test]
    fn slot_of_reads_nibbles() {
        let mut path = [0u8; 32];
        path[0] = 0xA3;
        assert_eq!(slot_of(&path, 0), 0xA);
        assert_eq!(slot_of(&path, 4), 0x3);
    }

    #[test]
    fn page_round_trips_and_rejects_bad_bytes() {
        let mut slots = [Node::Empty; SLOTS];
        let mut path = [0x11u8; 32];
        path[0] = 0x52;
        slots[2] = Node::Leaf(Leaf::new(path, [9; 32]));
        slots[7] = Node::Internal([4; 32]);
        let key = PageKey::ROOT.child(5);
        let page = Page::from_slots(&slots);
        let bytes = page.encode();
        assert_eq!(bytes.len(), 4 + 64 + 32);
        assert_eq!(Page::decode(&key, &bytes).unwrap(), page);
        assert_eq!(page.slots(), slots);
        assert!(Page::decode(&key, &bytes[..bytes.len() - 1]).is_err());
        // The same leaf under another page prefix is misplaced.
        assert!(Page::decode(&PageKey::ROOT.child(6), &bytes).is_err());
    }
}
