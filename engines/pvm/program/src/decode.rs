//! Instruction decoding (GP 0.7.2 Appendix A.2 and A.5): skip lengths from
//! the opcode bitmask, immediates, and one operand reader per [`Format`].
//!
//! [`crate::isa::Format`]: every `pub(crate) fn` named after a format returns
//! that format's operands in the order the instruction table lists them.

#![allow(
    non_snake_case,
    reason = "functions are named after the instruction formats"
)]

use crate::isa::{Instruction, Opcode, PvmSpec, Reg, decode_operands};

/// The longest skip the Gray Paper allows (A.2: `min(24, ...)`).
pub const MAX_SKIP: u32 = 24;

/// Skip length ℓ of the instruction at `pc` (GP A.2): the number of bytes
/// after the opcode before the next instruction start in `bitmask`, at most
/// 24. Bits past the end of the code count as set (`k ⌢ [1, 1, ...]`).
pub fn skip(bitmask: &[u8], code_len: u32, pc: u32) -> u32 {
    let first = u64::from(pc) + 1;
    if first + u64::from(MAX_SKIP) < u64::from(code_len) {
        // The 25 bits after `pc` are all inside the code: read the (at most
        // five) bitmask bytes that hold them as one little-endian word.
        // Bytes past the bitmask read as 0; they only hold bits past the
        // 25, which `min` cuts off.
        let at = (first / 8) as usize;
        let mut bytes = [0u8; 8];
        match bitmask.get(at..at + 8) {
            // A fixed-size copy where eight bytes are there.
            Some(word) => bytes.copy_from_slice(word),
            None => {
                let end = bitmask.len().max(at);
                bytes[..end - at].copy_from_slice(&bitmask[at..end]);
            }
        }
        let word = u64::from_le_bytes(bytes) >> (first % 8);
        return word.trailing_zeros().min(MAX_SKIP);
    }
    // Near the end: gather the bits one by one; a bit past the code's end
    // counts as set and stops the count there.
    let mut word: u32 = 0;
    for j in 0..=MAX_SKIP {
        let i = pc as u64 + 1 + j as u64;
        let bit = if i >= code_len as u64 {
            1
        } else {
            (bitmask[(i / 8) as usize] >> (i % 8)) & 1
        };
        word |= u32::from(bit) << j;
    }
    word.trailing_zeros().min(MAX_SKIP)
}

/// Whether `pc` starts an instruction (its bitmask bit is set).
pub fn is_instruction_start(bitmask: &[u8], code_len: u32, pc: u32) -> bool {
    pc < code_len && (bitmask[(pc / 8) as usize] >> (pc % 8)) & 1 == 1
}

/// Decodes the instruction at `pc`: opcode byte, then operands from the 16
/// bytes that follow (zero past the end of the code, GP A.1). Returns the
/// instruction and its skip length. An undefined opcode byte decodes as
/// [`Instruction::invalid`]; `pc` at or past the end of the code decodes as
/// `trap` (the code is implicitly followed by zeros).
pub fn decode(code: &[u8], bitmask: &[u8], pc: u32, spec: PvmSpec) -> (Instruction, u32) {
    let skip = skip(bitmask, code.len() as u32, pc);
    (decode_at(code, pc, skip, spec), skip)
}

/// [`decode`] with the skip length already known: the instruction alone,
/// which fits two registers (a pair with the skip would be returned
/// through memory, and the caller's copy of it out of there stalls on
/// store forwarding).
pub fn decode_at(code: &[u8], pc: u32, skip: u32, spec: PvmSpec) -> Instruction {
    let byte = code.get(pc as usize).copied().unwrap_or(0);
    let mut args = [0u8; 16];
    let from = pc as usize + 1;
    match code.get(from..from + 16) {
        // All 16 inside the code: a fixed-size copy.
        Some(inside) => args.copy_from_slice(inside),
        None => {
            let from = from.min(code.len());
            args[..code.len() - from].copy_from_slice(&code[from..]);
        }
    }
    match Opcode::from_byte(byte, spec) {
        Some(opcode) => decode_operands(opcode, &args, skip, pc),
        None => Instruction::invalid,
    }
}

/// `X_n`: the `len`-byte little-endian immediate at `args[at..]`,
/// sign-extended to 32 bits (GP A.1). `len` 0 reads 0.
///
/// Reads four bytes whatever `len` (every caller's `at` is at most 6, so
/// they are inside `args`) and shifts the `len` wanted ones up and back
/// down: a fixed-size copy, not one sized at run time.
#[inline]
pub(crate) fn imm(args: &[u8; 16], at: usize, len: u32) -> u32 {
    if len == 0 {
        return 0;
    }
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&args[at..at + 4]);
    let value = u32::from_le_bytes(bytes);
    let shift = 32 - 8 * len;
    (((value << shift) as i32) >> shift) as u32
}

fn reg_lo(args: &[u8; 16], at: usize) -> Reg {
    Reg::clamped(args[at] & 15)
}

fn reg_hi(args: &[u8; 16], at: usize) -> Reg {
    Reg::clamped(args[at] >> 4)
}

/// A.5.1: no operands.
pub(crate) fn NoArgs(_: &[u8; 16], _: u32, _: u32) {}

/// A.5.2: `l_X = min(4, ℓ)`.
pub(crate) fn Imm(args: &[u8; 16], skip: u32, _: u32) -> (u32,) {
    (imm(args, 0, skip.min(4)),)
}

/// A.5.3: `r_A = min(12, c₁ mod 16)`, an 8-byte immediate.
pub(crate) fn RegImm64(args: &[u8; 16], _: u32, _: u32) -> (Reg, u64) {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&args[1..9]);
    (reg_lo(args, 0), u64::from_le_bytes(bytes))
}

/// A.5.4: `l_X = min(4, c₁ mod 8)`, `l_Y = min(4, max(0, ℓ − l_X − 1))`.
pub(crate) fn ImmImm(args: &[u8; 16], skip: u32, _: u32) -> (u32, u32) {
    let lx = u32::from(args[0] & 7).min(4);
    let ly = skip.saturating_sub(lx + 1).min(4);
    (imm(args, 1, lx), imm(args, 1 + lx as usize, ly))
}

/// A.5.5: `l_X = min(4, ℓ)`, target `ı + X`.
pub(crate) fn Offset(args: &[u8; 16], skip: u32, pc: u32) -> (u32,) {
    (pc.wrapping_add(imm(args, 0, skip.min(4))),)
}

/// A.5.6: `r_A`, `l_X = min(4, max(0, ℓ − 1))`.
pub(crate) fn RegImm(args: &[u8; 16], skip: u32, _: u32) -> (Reg, u32) {
    (reg_lo(args, 0), imm(args, 1, skip.saturating_sub(1).min(4)))
}

/// A.5.7: `r_A`, `l_X = min(4, ⌊c₁/16⌋ mod 8)`, `l_Y = min(4, max(0, ℓ − l_X − 1))`.
pub(crate) fn RegImmImm(args: &[u8; 16], skip: u32, _: u32) -> (Reg, u32, u32) {
    let lx = u32::from((args[0] >> 4) & 7).min(4);
    let ly = skip.saturating_sub(lx + 1).min(4);
    (
        reg_lo(args, 0),
        imm(args, 1, lx),
        imm(args, 1 + lx as usize, ly),
    )
}

/// A.5.8: as A.5.7, the second immediate an offset from `ı`.
pub(crate) fn RegImmOffset(args: &[u8; 16], skip: u32, pc: u32) -> (Reg, u32, u32) {
    let (a, x, y) = RegImmImm(args, skip, pc);
    (a, x, pc.wrapping_add(y))
}

/// A.5.9: `r_D = min(12, c₁ mod 16)`, `r_A = min(12, ⌊c₁/16⌋)`.
pub(crate) fn RegReg(args: &[u8; 16], _: u32, _: u32) -> (Reg, Reg) {
    (reg_lo(args, 0), reg_hi(args, 0))
}

/// A.5.10: `r_A`, `r_B`, `l_X = min(4, max(0, ℓ − 1))`.
pub(crate) fn RegRegImm(args: &[u8; 16], skip: u32, _: u32) -> (Reg, Reg, u32) {
    (
        reg_lo(args, 0),
        reg_hi(args, 0),
        imm(args, 1, skip.saturating_sub(1).min(4)),
    )
}

/// A.5.11: as A.5.10, the immediate an offset from `ı`.
pub(crate) fn RegRegOffset(args: &[u8; 16], skip: u32, pc: u32) -> (Reg, Reg, u32) {
    let (a, b, x) = RegRegImm(args, skip, pc);
    (a, b, pc.wrapping_add(x))
}

/// A.5.12: `r_A`, `r_B`, `l_X = min(4, c₂ mod 8)`, `l_Y = min(4, max(0, ℓ − l_X − 2))`.
pub(crate) fn RegRegImmImm(args: &[u8; 16], skip: u32, _: u32) -> (Reg, Reg, u32, u32) {
    let lx = u32::from(args[1] & 7).min(4);
    let ly = skip.saturating_sub(lx + 2).min(4);
    (
        reg_lo(args, 0),
        reg_hi(args, 0),
        imm(args, 2, lx),
        imm(args, 2 + lx as usize, ly),
    )
}

/// A.5.13: `r_A`, `r_B`, `r_D = min(12, c₂)`.
pub(crate) fn RegRegReg(args: &[u8; 16], _: u32, _: u32) -> (Reg, Reg, Reg) {
    (reg_lo(args, 1), reg_lo(args, 0), reg_hi(args, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The Gray Paper's definitions, bit by bit (STYLE.md point 8).
    fn naive_skip(bitmask: &[u8], code_len: u32, pc: u32) -> u32 {
        let bit = |i: u64| -> bool {
            i >= code_len as u64 || (bitmask[(i / 8) as usize] >> (i % 8)) & 1 == 1
        };
        let mut j = 0;
        while !bit(pc as u64 + 1 + j as u64) {
            j += 1;
        }
        j.min(MAX_SKIP)
    }

    fn naive_imm(bytes: &[u8]) -> u64 {
        let mut x: u64 = 0;
        for (i, &b) in bytes.iter().enumerate() {
            x += (b as u64) << (8 * i);
        }
        let n = bytes.len() as u32;
        if n == 0 {
            return 0;
        }
        let sign = x >> (8 * n - 1);
        x + sign * (u64::MAX - ((1u64 << (8 * n - 1)) << 1).wrapping_sub(1))
    }

    proptest! {
        #[test]
        fn skip_matches_the_gray_paper_definition(
            bitmask in proptest::collection::vec(any::<u8>(), 1..16),
            // Sparse masks, so that skips reach the cap of 24.
            sparse in any::<bool>(),
            unused_bits in 0u32..8,
            pc_seed in any::<u32>(),
        ) {
            let bitmask: Vec<u8> = if sparse {
                bitmask.iter().map(|b| b & 0x11 & b.rotate_left(3)).collect()
            } else {
                bitmask
            };
            let code_len = bitmask.len() as u32 * 8 - unused_bits;
            let pc = pc_seed % code_len;
            prop_assert_eq!(skip(&bitmask, code_len, pc), naive_skip(&bitmask, code_len, pc));
        }

        #[test]
        fn immediates_match_x_n(bytes in proptest::collection::vec(any::<u8>(), 0..=4)) {
            let mut args = [0u8; 16];
            args[..bytes.len()].copy_from_slice(&bytes);
            let ours = imm(&args, 0, bytes.len() as u32) as i32 as i64 as u64;
            prop_assert_eq!(ours, naive_imm(&bytes));
        }
    }

    #[test]
    fn add_32_from_the_vectors_decodes() {
        // inst_add_32: code [190, 135, 9], bitmask 0b001.
        let (i, skip) = decode(&[190, 135, 9], &[1], 0, PvmSpec::Gp0_7_2);
        assert_eq!(skip, 2);
        assert_eq!(
            i,
            Instruction::add_32 {
                d: Reg::clamped(9),
                a: Reg::clamped(7),
                b: Reg::clamped(8)
            }
        );
        // Past the end: trap.
        assert_eq!(
            decode(&[190, 135, 9], &[1], 3, PvmSpec::Gp0_7_2).0,
            Instruction::trap {}
        );
    }
}
