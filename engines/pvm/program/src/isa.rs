//! The PVM instruction set (Gray Paper 0.7.2, Appendix A.5), declared once.
//!
//! [`for_each_instruction!`] is the table: every opcode with its name, byte,
//! operand format and whether it ends a basic block. The [`Opcode`] enum, the
//! decoded [`Instruction`] enum, the validity table, the terminator table, the
//! gas table, the [`InstructionVisitor`] trait (operands only, what the
//! interpreter runs) and the [`ProgramVisitor`] trait (pc, next pc and
//! operands, what a compiler lowers from) are all generated from it, so a
//! backend that implements a visitor cannot forget an opcode.

use std::fmt;

/// A PVM register index, `0..=12` (GP ω₀..ω₁₂). The decoder clamps larger
/// encodings to 12 (GP A.5: `min(12, ...)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Reg(u8);

impl Reg {
    /// Number of registers (GP: 13).
    pub const COUNT: usize = 13;

    /// The register with index `min(12, raw)`, as the Gray Paper decodes it.
    pub fn clamped(raw: u8) -> Reg {
        Reg(raw.min(12))
    }

    /// The register index, `0..=12`.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The register with index `raw`, if it is `0..=12`.
    pub fn new(raw: u8) -> Option<Reg> {
        (raw <= 12).then_some(Reg(raw))
    }

    /// Index into a 16-slot register file: masking lets the compiler drop
    /// the bounds check.
    #[inline(always)]
    pub fn slot(self) -> usize {
        (self.0 & 15) as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Which version of the PVM a program targets. Only GP 0.7.2 exists today;
/// GP 0.8 (renumbered opcodes, no `sbrk`) would be a second value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[non_exhaustive]
pub enum PvmSpec {
    /// Gray Paper 0.7.2 (polkavm 0.30 `InstructionSetKind::JamV1`).
    #[default]
    Gp0_7_2,
}

/// The operand shape of an instruction (GP A.5.1-A.5.13).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// No operands (A.5.1).
    NoArgs,
    /// One immediate (A.5.2).
    Imm,
    /// One register and one 64-bit immediate (A.5.3).
    RegImm64,
    /// Two immediates (A.5.4).
    ImmImm,
    /// One offset (A.5.5).
    Offset,
    /// One register and one immediate (A.5.6).
    RegImm,
    /// One register and two immediates (A.5.7).
    RegImmImm,
    /// One register, one immediate and one offset (A.5.8).
    RegImmOffset,
    /// Two registers (A.5.9).
    RegReg,
    /// Two registers and one immediate (A.5.10).
    RegRegImm,
    /// Two registers and one offset (A.5.11).
    RegRegOffset,
    /// Two registers and two immediates (A.5.12).
    RegRegImmImm,
    /// Three registers (A.5.13).
    RegRegReg,
}

/// Calls `$m!` with the whole instruction table: one entry per opcode,
/// grouped by operand format, `name = byte` with `[T]` marking a basic-block
/// terminator (GP A.5: the set T).
#[macro_export]
macro_rules! for_each_instruction {
    ($m:ident) => {
        $m! {
            NoArgs {
                trap = 0 [T],
                fallthrough = 1 [T],
            }
            Imm {
                ecalli = 10 [],
            }
            RegImm64 {
                load_imm_64 = 20 [],
            }
            ImmImm {
                store_imm_u8 = 30 [],
                store_imm_u16 = 31 [],
                store_imm_u32 = 32 [],
                store_imm_u64 = 33 [],
            }
            Offset {
                jump = 40 [T],
            }
            RegImm {
                jump_ind = 50 [T],
                load_imm = 51 [],
                load_u8 = 52 [],
                load_i8 = 53 [],
                load_u16 = 54 [],
                load_i16 = 55 [],
                load_u32 = 56 [],
                load_i32 = 57 [],
                load_u64 = 58 [],
                store_u8 = 59 [],
                store_u16 = 60 [],
                store_u32 = 61 [],
                store_u64 = 62 [],
            }
            RegImmImm {
                store_imm_ind_u8 = 70 [],
                store_imm_ind_u16 = 71 [],
                store_imm_ind_u32 = 72 [],
                store_imm_ind_u64 = 73 [],
            }
            RegImmOffset {
                load_imm_jump = 80 [T],
                branch_eq_imm = 81 [T],
                branch_ne_imm = 82 [T],
                branch_lt_u_imm = 83 [T],
                branch_le_u_imm = 84 [T],
                branch_ge_u_imm = 85 [T],
                branch_gt_u_imm = 86 [T],
                branch_lt_s_imm = 87 [T],
                branch_le_s_imm = 88 [T],
                branch_ge_s_imm = 89 [T],
                branch_gt_s_imm = 90 [T],
            }
            RegReg {
                move_reg = 100 [],
                sbrk = 101 [],
                count_set_bits_64 = 102 [],
                count_set_bits_32 = 103 [],
                leading_zero_bits_64 = 104 [],
                leading_zero_bits_32 = 105 [],
                trailing_zero_bits_64 = 106 [],
                trailing_zero_bits_32 = 107 [],
                sign_extend_8 = 108 [],
                sign_extend_16 = 109 [],
                zero_extend_16 = 110 [],
                reverse_bytes = 111 [],
            }
            RegRegImm {
                store_ind_u8 = 120 [],
                store_ind_u16 = 121 [],
                store_ind_u32 = 122 [],
                store_ind_u64 = 123 [],
                load_ind_u8 = 124 [],
                load_ind_i8 = 125 [],
                load_ind_u16 = 126 [],
                load_ind_i16 = 127 [],
                load_ind_u32 = 128 [],
                load_ind_i32 = 129 [],
                load_ind_u64 = 130 [],
                add_imm_32 = 131 [],
                and_imm = 132 [],
                xor_imm = 133 [],
                or_imm = 134 [],
                mul_imm_32 = 135 [],
                set_lt_u_imm = 136 [],
                set_lt_s_imm = 137 [],
                shlo_l_imm_32 = 138 [],
                shlo_r_imm_32 = 139 [],
                shar_r_imm_32 = 140 [],
                neg_add_imm_32 = 141 [],
                set_gt_u_imm = 142 [],
                set_gt_s_imm = 143 [],
                shlo_l_imm_alt_32 = 144 [],
                shlo_r_imm_alt_32 = 145 [],
                shar_r_imm_alt_32 = 146 [],
                cmov_iz_imm = 147 [],
                cmov_nz_imm = 148 [],
                add_imm_64 = 149 [],
                mul_imm_64 = 150 [],
                shlo_l_imm_64 = 151 [],
                shlo_r_imm_64 = 152 [],
                shar_r_imm_64 = 153 [],
                neg_add_imm_64 = 154 [],
                shlo_l_imm_alt_64 = 155 [],
                shlo_r_imm_alt_64 = 156 [],
                shar_r_imm_alt_64 = 157 [],
                rot_r_64_imm = 158 [],
                rot_r_64_imm_alt = 159 [],
                rot_r_32_imm = 160 [],
                rot_r_32_imm_alt = 161 [],
            }
            RegRegOffset {
                branch_eq = 170 [T],
                branch_ne = 171 [T],
                branch_lt_u = 172 [T],
                branch_lt_s = 173 [T],
                branch_ge_u = 174 [T],
                branch_ge_s = 175 [T],
            }
            RegRegImmImm {
                load_imm_jump_ind = 180 [T],
            }
            RegRegReg {
                add_32 = 190 [],
                sub_32 = 191 [],
                mul_32 = 192 [],
                div_u_32 = 193 [],
                div_s_32 = 194 [],
                rem_u_32 = 195 [],
                rem_s_32 = 196 [],
                shlo_l_32 = 197 [],
                shlo_r_32 = 198 [],
                shar_r_32 = 199 [],
                add_64 = 200 [],
                sub_64 = 201 [],
                mul_64 = 202 [],
                div_u_64 = 203 [],
                div_s_64 = 204 [],
                rem_u_64 = 205 [],
                rem_s_64 = 206 [],
                shlo_l_64 = 207 [],
                shlo_r_64 = 208 [],
                shar_r_64 = 209 [],
                and = 210 [],
                xor = 211 [],
                or = 212 [],
                mul_upper_s_s = 213 [],
                mul_upper_u_u = 214 [],
                mul_upper_s_u = 215 [],
                set_lt_u = 216 [],
                set_lt_s = 217 [],
                cmov_iz = 218 [],
                cmov_nz = 219 [],
                rot_l_64 = 220 [],
                rot_l_32 = 221 [],
                rot_r_64 = 222 [],
                rot_r_32 = 223 [],
                and_inv = 224 [],
                or_inv = 225 [],
                xnor = 226 [],
                max = 227 [],
                max_u = 228 [],
                min = 229 [],
                min_u = 230 [],
            }
        }
    };
}

/// Flattens the grouped table into one entry per opcode carrying its
/// format, terminator mark, operand list and target field, then calls
/// `define_isa!` with it.
macro_rules! flatten_table {
    (@acc [$($acc:tt)*]) => { define_isa! { $($acc)* } };
    (@acc [$($acc:tt)*] NoArgs { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, NoArgs, [$($t)?], (), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] Imm { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, Imm, [$($t)?], (imm: u32), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegImm64 { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegImm64, [$($t)?], (a: Reg, imm: u64), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] ImmImm { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, ImmImm, [$($t)?], (x: u32, y: u32), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] Offset { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, Offset, [$($t)?], (target: u32), [target];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegImm { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegImm, [$($t)?], (a: Reg, imm: u32), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegImmImm { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegImmImm, [$($t)?], (a: Reg, x: u32, y: u32), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegImmOffset { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegImmOffset, [$($t)?], (a: Reg, imm: u32, target: u32), [target];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegReg { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegReg, [$($t)?], (d: Reg, a: Reg), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegRegImm { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegRegImm, [$($t)?], (a: Reg, b: Reg, imm: u32), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegRegOffset { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegRegOffset, [$($t)?], (a: Reg, b: Reg, target: u32), [target];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegRegImmImm { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegRegImmImm, [$($t)?], (a: Reg, b: Reg, x: u32, y: u32), [];)*] $($rest)*);
    };
    (@acc [$($acc:tt)*] RegRegReg { $($n:ident = $b:literal [$($t:ident)?],)* } $($rest:tt)*) => {
        flatten_table!(@acc [$($acc)* $($n = $b, RegRegReg, [$($t)?], (d: Reg, a: Reg, b: Reg), [];)*] $($rest)*);
    };
    ($($groups:tt)*) => { flatten_table!(@acc [] $($groups)*); };
}

macro_rules! is_terminator {
    (T) => {
        true
    };
    () => {
        false
    };
}

macro_rules! define_isa {
    ($( $name:ident = $byte:literal, $format:ident, [$($t:ident)?], ($($field:ident: $ty:ty),*), [$($tg:ident)?]; )*) => {
        /// A PVM opcode (GP 0.7.2 Appendix A.5). Names follow the Gray Paper's.
        #[allow(non_camel_case_types, reason = "Gray Paper instruction names")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[repr(u8)]
        pub enum Opcode {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($byte), ")")]
                $name = $byte,
            )*
        }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$( Opcode::$name, )*];

            /// The opcode with byte `byte`, if `spec` defines one.
            #[inline]
            pub fn from_byte(byte: u8, spec: PvmSpec) -> Option<Opcode> {
                match spec {
                    PvmSpec::Gp0_7_2 => OPCODE_TABLE[byte as usize],
                }
            }

            /// The opcode's byte.
            pub fn byte(self) -> u8 {
                self as u8
            }

            /// The Gray Paper name.
            pub fn name(self) -> &'static str {
                match self { $( Opcode::$name => stringify!($name), )* }
            }

            /// The operand format.
            pub fn format(self) -> Format {
                match self { $( Opcode::$name => Format::$format, )* }
            }

            /// Whether the instruction ends a basic block (GP A.5: the set T).
            #[inline]
            pub fn is_terminator(self) -> bool {
                match self { $( Opcode::$name => is_terminator!($($t)?), )* }
            }

            /// Gas the instruction costs, in PVM gas (GP 0.7.2: 1 for every
            /// instruction).
            #[inline]
            pub fn gas(self) -> u32 {
                1
            }
        }

        const OPCODE_TABLE: [Option<Opcode>; 256] = {
            let mut table = [None; 256];
            $( table[$byte] = Some(Opcode::$name); )*
            table
        };

        /// A decoded instruction with its operands (GP A.5). Immediates are
        /// kept as the 32-bit value of their sign extension (`X_n`); the
        /// 64-bit sign extension of that is the Gray Paper's value. Offsets
        /// are resolved to absolute program counters (`target`).
        #[allow(non_camel_case_types, reason = "Gray Paper instruction names")]
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum Instruction {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                #[allow(missing_docs, reason = "operands are named as in the Gray Paper's A.5 formats")]
                $name { $($field: $ty),* },
            )*
            /// An opcode byte that the spec does not define; behaves as `trap`.
            invalid,
        }

        /// One method per instruction: every backend (the interpreter, the
        /// recompiler, a disassembler) implements this trait, so an
        /// instruction a backend forgets is a compile error.
        pub trait InstructionVisitor {
            /// What each method returns.
            type Output;
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                fn $name(&mut self, $($field: $ty),*) -> Self::Output;
            )*
            /// An undefined opcode (GP: behaves as `trap`).
            fn invalid(&mut self) -> Self::Output;
        }

        /// [`InstructionVisitor`] with positions: every method also gets the
        /// instruction's pc and the pc after it (GP A.2: `ı` and
        /// `ı + 1 + skip(ı)`), with branch targets as absolute pcs. A
        /// compiler implements this one (see [`crate::program::Program::visit`]),
        /// so it too cannot forget an opcode.
        pub trait ProgramVisitor {
            /// What each method returns.
            type Output;
            $(
                #[doc = concat!("`", stringify!($name), "` at `pc`")]
                fn $name(&mut self, pc: u32, next_pc: u32, $($field: $ty),*) -> Self::Output;
            )*
            /// An undefined opcode at `pc` (GP: behaves as `trap`).
            fn invalid(&mut self, pc: u32, next_pc: u32) -> Self::Output;
        }

        /// A [`ProgramVisitor`] that hands each instruction back whole, with
        /// its pc and next pc, to a closure: for disassemblers and tests. A
        /// backend implements every method of the trait instead.
        #[derive(Debug)]
        pub struct ByInstruction<F>(pub F);

        impl<F: FnMut(u32, u32, Instruction) -> O, O> ProgramVisitor for ByInstruction<F> {
            type Output = O;
            $(
                fn $name(&mut self, pc: u32, next_pc: u32, $($field: $ty),*) -> O {
                    (self.0)(pc, next_pc, Instruction::$name { $($field),* })
                }
            )*
            fn invalid(&mut self, pc: u32, next_pc: u32) -> O {
                (self.0)(pc, next_pc, Instruction::invalid)
            }
        }

        impl Instruction {
            /// Calls the visitor method for this instruction.
            #[inline(always)]
            pub fn visit<V: InstructionVisitor>(self, visitor: &mut V) -> V::Output {
                match self {
                    $( Instruction::$name { $($field),* } => visitor.$name($($field),*), )*
                    Instruction::invalid => visitor.invalid(),
                }
            }

            /// Calls the [`ProgramVisitor`] method for this instruction at
            /// `pc`, whose next instruction starts at `next_pc`.
            #[inline(always)]
            pub fn visit_at<V: ProgramVisitor>(self, pc: u32, next_pc: u32, visitor: &mut V) -> V::Output {
                match self {
                    $( Instruction::$name { $($field),* } => visitor.$name(pc, next_pc, $($field),*), )*
                    Instruction::invalid => visitor.invalid(pc, next_pc),
                }
            }

            /// The opcode (`None` for an undefined byte).
            #[inline]
            pub fn opcode(self) -> Option<Opcode> {
                match self {
                    $( Instruction::$name { .. } => Some(Opcode::$name), )*
                    Instruction::invalid => None,
                }
            }

            /// The branch or jump target, for instructions that have one.
            pub fn target(self) -> Option<u32> {
                #[allow(unreachable_patterns, reason = "one arm per instruction")]
                match self {
                    $( $( Instruction::$name { $tg, .. } => Some($tg), )? )*
                    _ => None,
                }
            }

            /// The same instruction with its target (if any) replaced by `f(target)`.
            pub fn map_target(mut self, f: impl FnOnce(u32) -> u32) -> Instruction {
                #[allow(unreachable_patterns, reason = "one arm per instruction")]
                match &mut self {
                    $( $( Instruction::$name { $tg, .. } => *$tg = f(*$tg), )? )*
                    _ => {}
                }
                self
            }
        }

        /// Decodes the operands of `opcode` from `args` (the bytes after the
        /// opcode, zero-padded to 16) whose skip length is `skip` (GP A.5:
        /// ℓ), at program counter `pc`.
        pub(crate) fn decode_operands(opcode: Opcode, args: &[u8; 16], skip: u32, pc: u32) -> Instruction {
            match opcode {
                $( Opcode::$name => {
                    let ($($field,)*) = crate::decode::$format(args, skip, pc);
                    Instruction::$name { $($field),* }
                } )*
            }
        }
    };
}

for_each_instruction!(flatten_table);

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_139_opcodes_of_gp_0_7_2() {
        assert_eq!(Opcode::ALL.len(), 139);
        for &op in Opcode::ALL {
            assert_eq!(Opcode::from_byte(op.byte(), PvmSpec::Gp0_7_2), Some(op));
        }
        let defined = (0..=255u8)
            .filter(|&b| Opcode::from_byte(b, PvmSpec::Gp0_7_2).is_some())
            .count();
        assert_eq!(defined, 139);
    }

    #[test]
    fn terminators_are_the_gray_paper_set() {
        let t: Vec<&str> = Opcode::ALL
            .iter()
            .filter(|op| op.is_terminator())
            .map(|op| op.name())
            .collect();
        assert_eq!(t.len(), 2 + 1 + 1 + 11 + 6 + 1);
        assert!(t.contains(&"trap") && t.contains(&"load_imm_jump_ind"));
        assert!(!Opcode::ecalli.is_terminator() && !Opcode::sbrk.is_terminator());
    }
}
