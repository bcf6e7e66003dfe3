//! Program formats: the raw program blob (GP 0.7.2 §A.2, `deblob`) and the
//! JAM standard program (§A.7), with a typed error for every malformed field.

use crate::error::{PvmError, Result};

/// Page size Z_P, bytes (GP 0.7.2 §4.8.1).
pub const PAGE_SIZE: u32 = 1 << 12;
/// Zone size Z_Z, bytes: the standard program's regions are aligned to it,
/// and the low zone is never accessible.
pub const ZONE_SIZE: u32 = 1 << 16;
/// Argument region size Z_I, bytes.
pub const INPUT_SIZE: u32 = 1 << 24;
/// Address whose dynamic jump halts (GP: `2^32 − 2^16`).
pub const HALT_ADDRESS: u32 = 0xFFFF_0000;
/// How far `sbrk` may grow a standard program's heap past its read-write
/// region, bytes (64 MiB). The Gray Paper bounds it only by the address
/// space; Braid bounds the host memory a guest can claim for 1 gas. A
/// request past it returns 0 (RFC 0003). Every backend applies it.
pub const MAX_HEAP_GROWTH: u32 = 64 << 20;

/// A raw PVM program (GP `deblob`): `E(|j|) ‖ E_1(z) ‖ E(|c|) ‖ E_z(j) ‖ c ‖ k`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramBlob {
    /// Jump table: code offsets of dynamic jump targets (GP `j`).
    pub jump_table: Vec<u32>,
    /// Instruction bytes (GP `c`).
    pub code: Vec<u8>,
    /// Opcode bitmask, one bit per code byte, least significant first (GP
    /// `k`), `⌈|c|/8⌉` bytes.
    pub bitmask: Vec<u8>,
}

/// A reader over an input that reports truncation with the field's name.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, what: &'static str, len: u64) -> Result<&'a [u8]> {
        let available = self.bytes.len() - self.at;
        if len > available as u64 {
            return Err(PvmError::Truncated {
                what,
                offset: self.at,
                needed: len,
                available,
            });
        }
        let out = &self.bytes[self.at..self.at + len as usize];
        self.at += len as usize;
        Ok(out)
    }

    /// `E_n`: an `n`-byte little-endian number.
    fn fixed(&mut self, what: &'static str, n: usize) -> Result<u64> {
        let bytes = self.take(what, n as u64)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// `E`: the Gray Paper's variable-length natural number (§C.1, eq. C.6).
    fn natural(&mut self, what: &'static str) -> Result<u64> {
        let head = self.take(what, 1)?[0];
        let len = head.leading_ones() as usize;
        if len == 8 {
            return self.fixed(what, 8);
        }
        let high = u64::from(head) & ((1u64 << (7 - len)) - 1);
        let low = self.fixed(what, len)?;
        Ok((high << (8 * len)) | low)
    }

    fn finish(&self, what: &'static str) -> Result<()> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            extra => Err(PvmError::TrailingBytes { what, extra }),
        }
    }
}

fn check_u32(what: &'static str, len: u64) -> Result<u32> {
    u32::try_from(len).map_err(|_| PvmError::TooLarge {
        what,
        len,
        limit: u64::from(u32::MAX),
    })
}

impl ProgramBlob {
    /// Parses a raw program blob (GP 0.7.2 eq. A.2, `deblob`). The whole
    /// input must be used.
    ///
    /// # Errors
    /// [`PvmError::Truncated`], [`PvmError::TrailingBytes`],
    /// [`PvmError::JumpTableEntrySize`], [`PvmError::TooLarge`] for a code
    /// or jump table larger than the 32-bit address space.
    pub fn parse(bytes: &[u8]) -> Result<ProgramBlob> {
        let mut r = Reader::new(bytes);
        let entries = r.natural("jump table length")?;
        let entry_size = r.fixed("jump table entry size", 1)? as u8;
        let code_len = check_u32("code", r.natural("code length")?)?;
        if entry_size > 4 || (entry_size == 0 && entries > 0) {
            return Err(PvmError::JumpTableEntrySize {
                size: entry_size,
                entries,
            });
        }
        let table_bytes = entries.saturating_mul(u64::from(entry_size));
        let table = r.take("jump table", table_bytes)?;
        let jump_table = table
            .chunks_exact(entry_size.max(1) as usize)
            .take(entries as usize)
            .map(|entry| {
                entry
                    .iter()
                    .rev()
                    .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
            })
            .collect();
        let code = r.take("code", u64::from(code_len))?.to_vec();
        let bitmask = r
            .take("opcode bitmask", u64::from(code_len.div_ceil(8)))?
            .to_vec();
        r.finish("opcode bitmask")?;
        Ok(ProgramBlob {
            jump_table,
            code,
            bitmask,
        })
    }

    /// Encodes the blob (the inverse of [`ProgramBlob::parse`]), with the
    /// smallest jump-table entry size that fits every entry.
    pub fn encode(&self) -> Vec<u8> {
        let max = self.jump_table.iter().copied().max().unwrap_or(0);
        let entry_size: u8 = if self.jump_table.is_empty() {
            0
        } else {
            (1..=4u8)
                .find(|&n| n == 4 || u64::from(max) < 1u64 << (8 * n))
                .unwrap_or(4)
        };
        let mut out = Vec::new();
        encode_natural(&mut out, self.jump_table.len() as u64);
        out.push(entry_size);
        encode_natural(&mut out, self.code.len() as u64);
        for &entry in &self.jump_table {
            out.extend_from_slice(&entry.to_le_bytes()[..entry_size as usize]);
        }
        out.extend_from_slice(&self.code);
        out.extend_from_slice(&self.bitmask);
        out
    }
}

/// Appends `E(x)`, the Gray Paper's variable-length natural encoding (eq. C.6).
pub fn encode_natural(out: &mut Vec<u8>, x: u64) {
    for len in 0..8u32 {
        if x < 1u64 << (7 * (len + 1)) {
            let head = (0xFFu16 << (8 - len)) as u8 | (x >> (8 * len)) as u8;
            out.push(head);
            out.extend_from_slice(&x.to_le_bytes()[..len as usize]);
            return;
        }
    }
    out.push(0xFF);
    out.extend_from_slice(&x.to_le_bytes());
}

/// A JAM standard program (GP 0.7.2 eq. A.38):
/// `E_3(|o|) ‖ E_3(|w|) ‖ E_2(z) ‖ E_3(s) ‖ o ‖ w ‖ E_4(|c|) ‖ c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandardProgram {
    /// Read-only data `o`, mapped at [`ZONE_SIZE`].
    pub ro_data: Vec<u8>,
    /// Read-write data `w`, mapped after the read-only zone.
    pub rw_data: Vec<u8>,
    /// Extra heap pages `z` after the read-write data, 4096 bytes each.
    pub heap_pages: u16,
    /// Stack size `s`, bytes.
    pub stack_size: u32,
    /// The program blob `c`.
    pub blob: ProgramBlob,
}

/// Where the regions of a standard program are (GP 0.7.2 eq. A.39-A.43).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLayout {
    /// Start of the read-only data, bytes.
    pub ro_start: u32,
    /// Read-only region length, page-rounded, bytes.
    pub ro_len: u32,
    /// Start of the read-write data, bytes.
    pub rw_start: u32,
    /// Read-write region (data, then heap pages) length, page-rounded, bytes.
    pub rw_len: u32,
    /// Lowest stack address, bytes.
    pub stack_start: u32,
    /// Stack length, page-rounded, bytes.
    pub stack_len: u32,
    /// Start of the argument region, bytes.
    pub input_start: u32,
    /// End (exclusive) of the region `sbrk` may grow the heap into.
    pub heap_limit: u32,
}

/// `P(x)`: `x` rounded up to whole pages.
pub fn page_align(x: u64) -> u64 {
    x.div_ceil(u64::from(PAGE_SIZE)) * u64::from(PAGE_SIZE)
}

/// `Z(x)`: `x` rounded up to whole zones.
pub fn zone_align(x: u64) -> u64 {
    x.div_ceil(u64::from(ZONE_SIZE)) * u64::from(ZONE_SIZE)
}

impl StandardProgram {
    /// Parses a standard program (GP 0.7.2 eq. A.38) and checks that its
    /// regions fit in the address space (eq. A.41).
    ///
    /// # Errors
    /// [`PvmError::Truncated`], [`PvmError::TrailingBytes`],
    /// [`PvmError::MemoryLayoutTooLarge`], and the errors of
    /// [`ProgramBlob::parse`].
    pub fn parse(bytes: &[u8]) -> Result<StandardProgram> {
        let mut r = Reader::new(bytes);
        let ro_len = r.fixed("read-only data length", 3)?;
        let rw_len = r.fixed("read-write data length", 3)?;
        let heap_pages = r.fixed("heap page count", 2)? as u16;
        let stack_size = r.fixed("stack size", 3)? as u32;
        let ro_data = r.take("read-only data", ro_len)?.to_vec();
        let rw_data = r.take("read-write data", rw_len)?.to_vec();
        let code_len = r.fixed("program blob length", 4)?;
        let blob = ProgramBlob::parse(r.take("program blob", code_len)?)?;
        r.finish("program blob")?;
        let program = StandardProgram {
            ro_data,
            rw_data,
            heap_pages,
            stack_size,
            blob,
        };
        program.layout()?;
        Ok(program)
    }

    /// Parses a JAM service code preimage, `E(|m|) ‖ m ‖ p` with metadata
    /// `m` and a standard program `p`, returning the program.
    ///
    /// # Errors
    /// As [`StandardProgram::parse`]; [`PvmError::Truncated`] for the metadata.
    pub fn parse_service_code(bytes: &[u8]) -> Result<StandardProgram> {
        let mut r = Reader::new(bytes);
        let meta_len = r.natural("metadata length")?;
        r.take("metadata", meta_len)?;
        StandardProgram::parse(&bytes[r.at..])
    }

    /// Encodes the program (the inverse of [`StandardProgram::parse`]).
    pub fn encode(&self) -> Vec<u8> {
        let blob = self.blob.encode();
        let mut out = Vec::with_capacity(15 + self.ro_data.len() + self.rw_data.len() + blob.len());
        out.extend_from_slice(&(self.ro_data.len() as u32).to_le_bytes()[..3]);
        out.extend_from_slice(&(self.rw_data.len() as u32).to_le_bytes()[..3]);
        out.extend_from_slice(&self.heap_pages.to_le_bytes());
        out.extend_from_slice(&self.stack_size.to_le_bytes()[..3]);
        out.extend_from_slice(&self.ro_data);
        out.extend_from_slice(&self.rw_data);
        out.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        out.extend_from_slice(&blob);
        out
    }

    /// The memory layout (GP 0.7.2 eq. A.40-A.43).
    ///
    /// # Errors
    /// [`PvmError::MemoryLayoutTooLarge`] when eq. A.41 does not hold.
    pub fn layout(&self) -> Result<MemoryLayout> {
        let zone = u64::from(ZONE_SIZE);
        let ro = self.ro_data.len() as u64;
        let rw = self.rw_data.len() as u64 + u64::from(self.heap_pages) * u64::from(PAGE_SIZE);
        let stack = u64::from(self.stack_size);
        let needed =
            5 * zone + zone_align(ro) + zone_align(rw) + zone_align(stack) + u64::from(INPUT_SIZE);
        if needed > 1u64 << 32 {
            return Err(PvmError::MemoryLayoutTooLarge {
                ro_data: ro as u32,
                rw_data: self.rw_data.len() as u32,
                heap_pages: self.heap_pages,
                stack: self.stack_size,
                needed,
            });
        }
        let top = 1u64 << 32;
        let stack_end = top - 2 * zone - u64::from(INPUT_SIZE);
        let stack_len = page_align(stack);
        let rw_start = 2 * zone + zone_align(ro);
        let rw_len = page_align(self.rw_data.len() as u64)
            + u64::from(self.heap_pages) * u64::from(PAGE_SIZE);
        Ok(MemoryLayout {
            ro_start: ZONE_SIZE,
            ro_len: page_align(ro) as u32,
            rw_start: rw_start as u32,
            rw_len: rw_len as u32,
            stack_start: (stack_end - stack_len) as u32,
            stack_len: stack_len as u32,
            input_start: (top - zone - u64::from(INPUT_SIZE)) as u32,
            heap_limit: (stack_end - zone_align(stack) - zone) as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn natural_encoding_round_trips(x in any::<u64>()) {
            let mut out = Vec::new();
            encode_natural(&mut out, x);
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.natural("x").unwrap(), x);
            prop_assert!(r.finish("x").is_ok());
        }

        #[test]
        fn blobs_round_trip(
            table in proptest::collection::vec(any::<u32>(), 0..8),
            code in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let bitmask = vec![0xA5; code.len().div_ceil(8)];
            let blob = ProgramBlob { jump_table: table, code, bitmask };
            prop_assert_eq!(ProgramBlob::parse(&blob.encode()).unwrap(), blob);
        }

        #[test]
        fn truncated_blobs_are_errors_not_panics(
            code in proptest::collection::vec(any::<u8>(), 1..40),
            cut in any::<prop::sample::Index>(),
        ) {
            let blob = ProgramBlob { jump_table: vec![1, 2], code: code.clone(), bitmask: vec![1; code.len().div_ceil(8)] };
            let bytes = blob.encode();
            let cut = cut.index(bytes.len());
            prop_assert!(ProgramBlob::parse(&bytes[..cut]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ProgramBlob::parse(&bytes);
            let _ = StandardProgram::parse(&bytes);
        }
    }

    #[test]
    fn the_vector_example_parses() {
        let blob = ProgramBlob::parse(&[0, 0, 3, 190, 135, 9, 1]).unwrap();
        assert_eq!(blob.code, [190, 135, 9]);
        assert_eq!(blob.bitmask, [1]);
        assert!(blob.jump_table.is_empty());
    }

    #[test]
    fn malformed_fields_name_themselves() {
        assert!(matches!(
            ProgramBlob::parse(&[0, 0, 3, 190]),
            Err(PvmError::Truncated { what: "code", .. })
        ));
        assert!(matches!(
            ProgramBlob::parse(&[0, 0, 1, 0, 1, 9]),
            Err(PvmError::TrailingBytes { extra: 1, .. })
        ));
        assert!(matches!(
            ProgramBlob::parse(&[1, 5, 1, 0, 0, 0, 0, 0, 0, 1]),
            Err(PvmError::JumpTableEntrySize { size: 5, .. })
        ));
        // A declared code length larger than the input.
        assert!(matches!(
            ProgramBlob::parse(&[0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(PvmError::TooLarge { what: "code", .. })
        ));
    }

    #[test]
    fn oversized_sections_are_refused() {
        let program = StandardProgram {
            ro_data: vec![],
            rw_data: vec![],
            heap_pages: u16::MAX,
            stack_size: 0xFF_FFFF,
            blob: ProgramBlob {
                jump_table: vec![],
                code: vec![0],
                bitmask: vec![1],
            },
        };
        let mut bytes = program.encode();
        // 16 MiB stack + 256 MiB heap fit; make ro data claim 16 MiB more than there is.
        assert!(StandardProgram::parse(&bytes).is_ok());
        bytes[0..3].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
        assert!(matches!(
            StandardProgram::parse(&bytes),
            Err(PvmError::Truncated {
                what: "read-only data",
                ..
            })
        ));
    }
}
