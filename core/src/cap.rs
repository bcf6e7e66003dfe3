//! Capabilities (RFC 0010): the values the kernel keeps in an instance's
//! slots, and their stored encodings.
//!
//! Guests never hold cap bytes: they name slots (`u8`), and only the kernel
//! reads and writes cap values (RFC 0010 D2), so a cap cannot be forged
//! from guest data. Engines see caps only to answer a guest's questions
//! about them (kind, size, type chain).
//!
//! Four persistent kinds, stored by the kernel as ordinary state keys under
//! the one root: [`Cap::Data`], [`Cap::Image`] and [`Cap::CNode`] are values,
//! content-addressed by a hash of their bytes; [`Cap::Instance`] is a typed
//! reference to a resident instance (its `(engine, identity)` and the image
//! chain it had when the cap was made). One ephemeral kind, [`Cap::YieldRef`],
//! names an entry of the kernel's stack and has no stored encoding.

use parity_scale_codec::{Compact, Decode, Encode};

use crate::{EngineId, Identity};

/// An entry of the kernel's stack (an invocation or a reference pushed by a
/// yield): numbered per transaction from 1, monotonic, never reused, so a
/// [`Cap::YieldRef`] that outlives its entry names nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(pub u32);

/// Largest [`Cap::Data`] size, in bytes (4 MiB, the state's value limit).
pub const MAX_DATA_SIZE: u32 = 4 << 20;

/// The slot classes of an instance (RFC 0010 D3). Only slot 0 is fixed.
pub mod slot {
    use std::ops::RangeInclusive;

    /// The per-invocation scratchpad: copied to the callee on CALL, back to
    /// the caller on HALT, up to the target on YIELD and down on RESUME.
    pub const SCRATCH: u8 = 0;
    /// The instance's persistent slots, stored under its keys.
    pub const PERSISTENT: RangeInclusive<u8> = 1..=0xEF;
    /// Per-invocation slots: empty at entry, dropped when the invocation ends.
    pub const EPHEMERAL: RangeInclusive<u8> = 0xF0..=0xFF;
    /// Number of ephemeral slots.
    pub const EPHEMERAL_COUNT: usize = 16;

    /// Whether `slot` is stored with the instance.
    pub fn is_persistent(slot: u8) -> bool {
        PERSISTENT.contains(&slot)
    }
}

/// A capability held in a slot. `Copy`: every kind is a fixed-size value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cap {
    /// Bytes, by value: `hash` = blake2b-256 of the bytes with trailing zeros
    /// stripped, `size` the length they read as (zero-padded), at most
    /// [`MAX_DATA_SIZE`].
    Data {
        /// blake2b-256 of the stripped bytes.
        hash: [u8; 32],
        /// Length in bytes, stripped bytes plus zero padding.
        size: u32,
    },
    /// An image (engine, code, pinned slots), by value:
    /// `hash` = blake2b-256(`"braid/image/v1"` ‖ SCALE([`Image`])).
    Image {
        /// The image hash.
        hash: [u8; 32],
    },
    /// A node of caps, by value:
    /// `hash` = blake2b-256(`"braid/cnode/v1"` ‖ SCALE([`CNodeValue`])).
    CNode {
        /// The cnode hash.
        hash: [u8; 32],
    },
    /// A typed reference to a resident instance: calling through it checks
    /// that the instance's image chain is still `chain`.
    Instance {
        /// The instance's engine.
        engine: EngineId,
        /// The instance's identity.
        identity: Identity,
        /// Its image chain when the cap was made (RFC 0010 D10).
        chain: [u8; 32],
    },
    /// The right to yield to one stack entry, for the rest of that entry's
    /// life. Ephemeral: it lives only in slot 0 and ephemeral slots and
    /// has no stored encoding.
    YieldRef {
        /// The entry it names.
        entry: EntryId,
    },
}

/// The kind of a slot's content, as `slot_kind` answers it (RFC 0003).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum CapKind {
    /// No cap.
    Empty = 0,
    /// [`Cap::Data`].
    Data = 1,
    /// [`Cap::Image`].
    Image = 2,
    /// [`Cap::CNode`].
    CNode = 3,
    /// [`Cap::Instance`].
    Instance = 4,
    /// [`Cap::YieldRef`].
    YieldRef = 5,
}

impl CapKind {
    /// The kind of a slot holding `cap`.
    pub fn of(cap: Option<&Cap>) -> CapKind {
        match cap {
            None => CapKind::Empty,
            Some(Cap::Data { .. }) => CapKind::Data,
            Some(Cap::Image { .. }) => CapKind::Image,
            Some(Cap::CNode { .. }) => CapKind::CNode,
            Some(Cap::Instance { .. }) => CapKind::Instance,
            Some(Cap::YieldRef { .. }) => CapKind::YieldRef,
        }
    }
}

/// Stored bytes that do not decode as a cap, an image or a cnode. Only the
/// kernel writes them, so this means corrupt state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct CapDecodeError {
    /// What is wrong.
    pub what: &'static str,
    /// Offset into the decoded bytes.
    pub at: usize,
}

const TAG_DATA: u8 = 1;
const TAG_IMAGE: u8 = 2;
const TAG_CNODE: u8 = 3;
const TAG_INSTANCE: u8 = 4;

impl Cap {
    /// The cap's kind.
    pub fn kind(&self) -> CapKind {
        CapKind::of(Some(self))
    }

    /// Whether the cap may be stored (in a persistent slot, an image or a
    /// cnode): every kind but [`Cap::YieldRef`].
    pub fn is_persistable(&self) -> bool {
        !matches!(self, Cap::YieldRef { .. })
    }

    /// Appends the stored encoding: a tag byte (1 Data, 2 Image, 3 CNode,
    /// 4 Instance) then the fields in SCALE (fixed arrays raw, `size` as u32
    /// little-endian): 37, 33, 33 or 54 bytes. `false` (nothing appended)
    /// for a [`Cap::YieldRef`], which has no stored form.
    pub fn encode_to(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Cap::Data { hash, size } => {
                out.push(TAG_DATA);
                out.extend_from_slice(hash);
                out.extend_from_slice(&size.to_le_bytes());
            }
            Cap::Image { hash } => {
                out.push(TAG_IMAGE);
                out.extend_from_slice(hash);
            }
            Cap::CNode { hash } => {
                out.push(TAG_CNODE);
                out.extend_from_slice(hash);
            }
            Cap::Instance {
                engine,
                identity,
                chain,
            } => {
                out.push(TAG_INSTANCE);
                out.push(engine.0);
                out.extend_from_slice(&identity.0);
                out.extend_from_slice(chain);
            }
            Cap::YieldRef { .. } => return false,
        }
        true
    }

    /// The stored encoding ([`Cap::encode_to`]), or `None` for a
    /// [`Cap::YieldRef`].
    pub fn encode(&self) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(54);
        self.encode_to(&mut out).then_some(out)
    }

    /// Decodes one cap from the front of `input`, advancing it.
    ///
    /// # Errors
    /// [`CapDecodeError`] on an unknown tag or truncated bytes.
    pub fn decode_from(input: &mut &[u8], start: usize) -> Result<Cap, CapDecodeError> {
        let mut reader = Reader { input, start };
        let tag = reader.byte()?;
        Ok(match tag {
            TAG_DATA => Cap::Data {
                hash: reader.array()?,
                size: u32::from_le_bytes(reader.array()?),
            },
            TAG_IMAGE => Cap::Image {
                hash: reader.array()?,
            },
            TAG_CNODE => Cap::CNode {
                hash: reader.array()?,
            },
            TAG_INSTANCE => Cap::Instance {
                engine: EngineId(reader.byte()?),
                identity: Identity(reader.array()?),
                chain: reader.array()?,
            },
            _ => return Err(reader.error("unknown cap tag")),
        })
    }

    /// Decodes exactly one cap (a persistent slot's value).
    ///
    /// # Errors
    /// [`CapDecodeError`] as [`Cap::decode_from`], or trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Cap, CapDecodeError> {
        let mut input = bytes;
        let cap = Cap::decode_from(&mut input, 0)?;
        finish(bytes, input)?;
        Ok(cap)
    }
}

/// A cursor over encoded bytes that reports offsets from the start.
struct Reader<'a, 'b> {
    input: &'a mut &'b [u8],
    start: usize,
}

impl Reader<'_, '_> {
    fn error(&self, what: &'static str) -> CapDecodeError {
        CapDecodeError {
            what,
            at: self.start,
        }
    }

    fn byte(&mut self) -> Result<u8, CapDecodeError> {
        let [b] = self.array()?;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CapDecodeError> {
        let Some((head, rest)) = self.input.split_first_chunk::<N>() else {
            return Err(self.error("truncated cap"));
        };
        *self.input = rest;
        self.start += N;
        Ok(*head)
    }
}

fn finish(all: &[u8], rest: &[u8]) -> Result<(), CapDecodeError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(CapDecodeError {
            what: "trailing bytes",
            at: all.len() - rest.len(),
        })
    }
}

/// A list of `(slot, cap)` in SCALE: a compact length, then each slot byte
/// and cap encoding. Sorted by slot, no slot twice, no [`Cap::YieldRef`].
fn encode_entries(entries: &[(u8, Cap)], out: &mut Vec<u8>) {
    Compact(entries.len() as u32).encode_to(out);
    for (slot, cap) in entries {
        out.push(*slot);
        // Constructors refuse YieldRefs, so every entry encodes.
        let encoded = cap.encode_to(out);
        debug_assert!(encoded, "a YieldRef in a stored list");
    }
}

fn decode_entries(bytes: &[u8], input: &mut &[u8]) -> Result<Vec<(u8, Cap)>, CapDecodeError> {
    let offset = |input: &[u8]| bytes.len() - input.len();
    let len = Compact::<u32>::decode(input).map_err(|_| CapDecodeError {
        what: "bad entry count",
        at: offset(input),
    })?;
    let mut entries: Vec<(u8, Cap)> = Vec::new();
    for _ in 0..len.0 {
        let at = offset(input);
        let Some((slot, rest)) = input.split_first() else {
            return Err(CapDecodeError {
                what: "truncated entry",
                at,
            });
        };
        *input = rest;
        let cap = Cap::decode_from(input, at + 1)?;
        if entries.last().is_some_and(|(last, _)| *last >= *slot) {
            return Err(CapDecodeError {
                what: "entries not sorted by slot",
                at,
            });
        }
        entries.push((*slot, cap));
    }
    Ok(entries)
}

/// An image: what an instance runs (engine and code) and the caps it sees in
/// pinned slots (an overlay no write can change; RFC 0010 D3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The engine that runs the code.
    pub engine: EngineId,
    /// keccak-256 of the code (stored under the system engine, `0x02 ‖ hash`).
    pub code_hash: [u8; 32],
    /// Pinned slots: sorted, unique, in [`slot::PERSISTENT`], no
    /// [`Cap::YieldRef`].
    pub pinned: Vec<(u8, Cap)>,
}

impl Image {
    /// SCALE: `engine ‖ code_hash ‖ compact(len) ‖ (slot ‖ cap)*`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(34 + self.pinned.len() * 55);
        out.push(self.engine.0);
        out.extend_from_slice(&self.code_hash);
        encode_entries(&self.pinned, &mut out);
        out
    }

    /// Decodes [`Image::encode`]'s bytes.
    ///
    /// # Errors
    /// [`CapDecodeError`] for truncated or trailing bytes, unsorted pinned
    /// slots, a slot outside [`slot::PERSISTENT`].
    pub fn decode(bytes: &[u8]) -> Result<Image, CapDecodeError> {
        let mut input = bytes;
        let mut reader = Reader {
            input: &mut input,
            start: 0,
        };
        let engine = EngineId(reader.byte()?);
        let code_hash = reader.array()?;
        let pinned = decode_entries(bytes, &mut input)?;
        if pinned.iter().any(|(s, _)| !slot::is_persistent(*s)) {
            return Err(CapDecodeError {
                what: "pinned slot outside 1..=0xEF",
                at: 33,
            });
        }
        finish(bytes, input)?;
        Ok(Image {
            engine,
            code_hash,
            pinned,
        })
    }

    /// The cap pinned at `slot`, if any.
    pub fn pinned(&self, slot: u8) -> Option<&Cap> {
        self.pinned
            .binary_search_by_key(&slot, |(s, _)| *s)
            .ok()
            .map(|i| &self.pinned[i].1)
    }
}

/// The value of a [`Cap::CNode`]: caps under `u8` keys (offsets from the
/// first slot packed). Sorted, unique, no [`Cap::YieldRef`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CNodeValue {
    /// The entries.
    pub entries: Vec<(u8, Cap)>,
}

impl CNodeValue {
    /// SCALE: `compact(len) ‖ (key ‖ cap)*`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.entries.len() * 55);
        encode_entries(&self.entries, &mut out);
        out
    }

    /// Decodes [`CNodeValue::encode`]'s bytes.
    ///
    /// # Errors
    /// [`CapDecodeError`] for truncated or trailing bytes, unsorted keys.
    pub fn decode(bytes: &[u8]) -> Result<CNodeValue, CapDecodeError> {
        let mut input = bytes;
        let entries = decode_entries(bytes, &mut input)?;
        finish(bytes, input)?;
        Ok(CNodeValue { entries })
    }
}

/// Why the kernel refused a capability operation. A value the guest sees
/// (the PVM maps it to a status: RFC 0003), never an error: the guest
/// continues and nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CapRefusal {
    /// The slot is empty. PVM: `NONE`.
    Empty,
    /// The slot holds the wrong kind of cap for the operation (or an image
    /// of another engine). PVM: `WHAT`.
    WrongKind,
    /// A slot range runs past slot 255, or an argument is out of its
    /// domain. PVM: `WHAT`.
    BadArgument,
    /// The destination slot is pinned by the instance's image, or an
    /// unpack would write one. PVM: `HUH`.
    Pinned,
    /// A [`Cap::YieldRef`] would be stored (persistent slot, cnode, image),
    /// or minted into a slot other than 0 and the ephemeral ones. PVM: `HUH`.
    NotPersistable,
    /// The [`Cap::YieldRef`] names an entry no longer on the stack (or
    /// outside the running trampoline). PVM: `HUH`.
    Stale,
    /// A yield to the yielder's own instance or to an entry above it. PVM: `HUH`.
    NotBelow,
    /// The yield's target is itself suspended in a yield of its own (it
    /// waits for a resume, not for the entry above it). PVM: `HUH`.
    TargetSuspended,
    /// A yield would push past [`crate::MAX_CALL_DEPTH`] entries. PVM: `HUH`.
    DepthExceeded,
    /// `resume` or `resume_fault` while the running instance handles no
    /// yield. PVM: `HUH`.
    NotHandling,
    /// No instance with that identity exists. PVM: `WHO`.
    NoSuchInstance,
    /// Past a size limit ([`MAX_DATA_SIZE`], or the code's engine limit). PVM: `FULL`.
    TooLarge,
    /// The engine refused the code at `image_make` (`Engine::validate`). PVM: `WHAT`.
    InvalidCode,
    /// `derive_spawn` would create an identity that already has an instance. PVM: `HUH`.
    Collision,
    /// The engine named does not keep instances (engine-scoped, or not
    /// registered). PVM: `WHAT`.
    Unsupported,
}

/// The answer of a capability operation: the value, or why it was refused.
pub type CapResult<T = ()> = std::result::Result<T, CapRefusal>;

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Vec<Cap> {
        vec![
            Cap::Data {
                hash: [1; 32],
                size: 0x0102_0304,
            },
            Cap::Image { hash: [2; 32] },
            Cap::CNode { hash: [3; 32] },
            Cap::Instance {
                engine: EngineId::PVM,
                identity: Identity([4; 20]),
                chain: [5; 32],
            },
        ]
    }

    #[test]
    fn caps_round_trip_with_fixed_lengths() {
        for (cap, len) in caps().into_iter().zip([37, 33, 33, 54]) {
            let bytes = cap.encode().unwrap();
            assert_eq!(bytes.len(), len, "{cap:?}");
            assert_eq!(Cap::decode(&bytes), Ok(cap));
            assert!(Cap::decode(&bytes[..len - 1]).is_err());
            let mut long = bytes.clone();
            long.push(0);
            assert_eq!(
                Cap::decode(&long),
                Err(CapDecodeError {
                    what: "trailing bytes",
                    at: len
                })
            );
        }
        assert_eq!(
            Cap::Data {
                hash: [0; 32],
                size: 1
            }
            .encode()
            .unwrap()[33..],
            [1, 0, 0, 0],
            "size is little-endian, as SCALE"
        );
    }

    #[test]
    fn a_yieldref_has_no_stored_form() {
        let cap = Cap::YieldRef { entry: EntryId(7) };
        assert_eq!(cap.encode(), None);
        assert!(!cap.is_persistable());
        assert_eq!(cap.kind(), CapKind::YieldRef);
        assert!(Cap::decode(&[5, 0, 0, 0, 7]).is_err());
    }

    #[test]
    fn images_and_cnodes_round_trip_and_refuse_unsorted_entries() {
        let pinned: Vec<(u8, Cap)> = caps()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i as u8 + 1, c))
            .collect();
        let image = Image {
            engine: EngineId::PVM,
            code_hash: [9; 32],
            pinned: pinned.clone(),
        };
        assert_eq!(Image::decode(&image.encode()), Ok(image.clone()));
        assert_eq!(image.pinned(2), Some(&Cap::Image { hash: [2; 32] }));
        assert_eq!(image.pinned(9), None);
        let cnode = CNodeValue { entries: pinned };
        assert_eq!(CNodeValue::decode(&cnode.encode()), Ok(cnode.clone()));
        let mut swapped = cnode.clone();
        swapped.entries.swap(0, 1);
        assert!(CNodeValue::decode(&swapped.encode()).is_err());
        let mut zero = image.clone();
        zero.pinned[0].0 = 0;
        assert!(Image::decode(&zero.encode()).is_err());
        // 200 entries need a two-byte compact length.
        let many = CNodeValue {
            entries: (0..200u8)
                .map(|i| (i, Cap::Image { hash: [i; 32] }))
                .collect(),
        };
        assert_eq!(CNodeValue::decode(&many.encode()), Ok(many));
    }
}
