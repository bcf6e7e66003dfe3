//! Program analysis, shared by every backend: a [`Program`] is a decoded
//! code blob with the facts the Gray Paper derives from it (GP 0.7.2
//! Appendix A.2-A.3): instruction starts, basic-block starts (the jump
//! targets ϖ), the gas of each block, the jump table, and, for a standard
//! program, its data and memory layout (§A.7).
//!
//! Backends lower from this: the interpreter turns pcs into instruction
//! indices ([`crate::interpreter`]); a compiler walks the same instructions
//! with their pcs through a [`ProgramVisitor`]. Nothing here depends on how
//! a program is run.

use crate::blob::{MemoryLayout, ProgramBlob, StandardProgram};
#[cfg(test)]
use crate::decode::decode;
use crate::decode::{decode_at, is_instruction_start, skip};
use crate::error::{PvmError, Result};
use crate::isa::{Instruction, Opcode, ProgramVisitor, PvmSpec};

/// A decoded program and its analysis (backend-neutral).
///
/// Instructions are numbered in pc order by an *index* `0..len()`; the last
/// index is the implicit `trap` that follows the code (the code is followed
/// by zeros, GP A.1). Branch and jump targets inside [`Program::instruction`]
/// are absolute pcs.
#[derive(Debug)]
pub struct Program {
    spec: PvmSpec,
    /// Instructions in pc order, then the implicit final `trap`.
    instructions: Vec<Instruction>,
    /// The pc of each instruction; one more entry than `instructions`
    /// (the end of the last one), so `pcs[i + 1]` is instruction `i`'s next pc.
    pcs: Vec<u32>,
    /// The instruction index of each instruction start, by pc.
    pc_index: PcIndex,
    /// Whether each instruction is a basic-block start a jump may land on (GP ϖ).
    jump_target: Vec<bool>,
    /// Gas charged when a block is entered at this index (0: not a block start).
    block_gas: Vec<u32>,
    /// The jump table, as pcs (GP `j`).
    jump_table: Vec<u32>,
    code_len: u32,
    /// The byte at pc 0 (0 for empty code).
    entry_byte: u8,
    standard: Option<StandardData>,
}

/// The data of a standard program (GP 0.7.2 §A.7).
#[derive(Debug)]
pub struct StandardData {
    /// Read-only data `o`.
    pub ro_data: Vec<u8>,
    /// Read-write data `w`.
    pub rw_data: Vec<u8>,
    /// Where the regions go.
    pub layout: MemoryLayout,
}

impl Program {
    /// Decodes and analyses a raw program blob (GP `deblob`).
    pub fn from_blob(blob: &ProgramBlob, spec: PvmSpec) -> Program {
        Program::analyse(blob, spec, None)
    }

    /// Decodes and analyses a standard program (GP 0.7.2 §A.7).
    ///
    /// # Errors
    /// [`PvmError::MemoryLayoutTooLarge`] if its regions do not fit.
    pub fn from_standard(program: &StandardProgram, spec: PvmSpec) -> Result<Program> {
        let data = StandardData {
            ro_data: program.ro_data.clone(),
            rw_data: program.rw_data.clone(),
            layout: program.layout()?,
        };
        Ok(Program::analyse(&program.blob, spec, Some(data)))
    }

    /// Parses, decodes and analyses a standard program from its bytes.
    ///
    /// # Errors
    /// As [`StandardProgram::parse`].
    pub fn parse_standard(bytes: &[u8], spec: PvmSpec) -> Result<Program> {
        Program::from_standard(&StandardProgram::parse(bytes)?, spec)
    }

    fn analyse(blob: &ProgramBlob, spec: PvmSpec, standard: Option<StandardData>) -> Program {
        let code_len = blob.code.len() as u32;
        // Real code averages between two and three bytes an instruction:
        // room for one every two bytes saves the vectors' regrowth copies.
        let estimate = code_len as usize / 2 + 2;
        let mut instructions = Vec::with_capacity(estimate);
        let mut pcs = Vec::with_capacity(estimate);
        let mut jump_target = Vec::with_capacity(estimate);
        let mut block_gas = Vec::with_capacity(estimate);
        // One pass along the instruction chain from pc 0 (GP A.2: ı' = ı +
        // 1 + skip(ı)), deciding each instruction's place as it is decoded:
        // - a jump target (GP ϖ) is pc 0, or an instruction start the
        //   bitmask marks right after a terminator (an undefined byte runs
        //   as `trap` but is not in T, so the instruction after it is no
        //   target);
        // - a gas block runs from a target, or from the instruction after
        //   an undefined byte, to the next terminator or undefined byte,
        //   where execution cannot go on; its whole cost sits on its first
        //   instruction and every other index costs 0.
        let mut pc = 0u32;
        let mut after_terminator = true;
        let mut after_undefined = false;
        let mut block = 0;
        while pc < code_len {
            let skip = skip(&blob.bitmask, code_len, pc);
            let instruction = decode_at(&blob.code, pc, skip, spec);
            let i = instructions.len();
            let target =
                i == 0 || (after_terminator && is_instruction_start(&blob.bitmask, code_len, pc));
            if target || after_undefined {
                block = i;
            }
            let opcode = instruction.opcode();
            jump_target.push(target);
            block_gas.push(0);
            block_gas[block] += opcode.map_or(1, |op| op.gas());
            instructions.push(instruction);
            pcs.push(pc);
            after_terminator = opcode.is_some_and(|op| op.is_terminator());
            after_undefined = opcode.is_none();
            pc = pc + 1 + skip;
        }
        // The code is followed by zeros: an implicit `trap`, one byte long.
        // It is a jump target only as the whole of an empty code, and starts
        // a gas block of its own after a terminator or an undefined byte.
        let i = instructions.len();
        if i == 0 || after_terminator || after_undefined {
            block = i;
        }
        jump_target.push(i == 0);
        block_gas.push(0);
        block_gas[block] += Opcode::trap.gas();
        instructions.push(Instruction::trap {});
        let end = code_len.max(pc);
        pcs.push(end);
        pcs.push(end.saturating_add(1));
        let n = instructions.len();
        Program {
            spec,
            pc_index: PcIndex::new(&pcs[..n]),
            instructions,
            pcs,
            jump_target,
            block_gas,
            jump_table: blob.jump_table.clone(),
            code_len,
            entry_byte: blob.code.first().copied().unwrap_or(0),
            standard,
        }
    }

    /// The checks Braid adds at deploy time, beyond what the Gray Paper
    /// needs to run a program: the code is not empty, pc 0 holds a valid
    /// instruction, and every jump table entry points inside the code.
    ///
    /// # Errors
    /// [`PvmError::EmptyCode`], [`PvmError::InvalidEntry`],
    /// [`PvmError::JumpTableEntryOutOfRange`].
    pub fn validate_for_deploy(&self) -> Result<()> {
        if self.code_len == 0 {
            return Err(PvmError::EmptyCode);
        }
        if self.instructions[0] == Instruction::invalid {
            return Err(PvmError::InvalidEntry {
                byte: self.entry_byte,
            });
        }
        for (index, &target) in self.jump_table.iter().enumerate() {
            if target >= self.code_len {
                return Err(PvmError::JumpTableEntryOutOfRange {
                    index,
                    target,
                    code_len: self.code_len,
                });
            }
        }
        Ok(())
    }

    /// The instruction set version.
    pub fn spec(&self) -> PvmSpec {
        self.spec
    }

    /// Code length, bytes.
    pub fn code_len(&self) -> u32 {
        self.code_len
    }

    /// Number of instructions, including the implicit final `trap`.
    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    /// Always false: every program has at least the implicit final `trap`.
    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }

    /// Instruction `index`, with targets as pcs.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn instruction(&self, index: usize) -> Instruction {
        self.instructions[index]
    }

    /// The pc of instruction `index` (for the final `trap`: the code length,
    /// or the end of the last instruction if that runs past it).
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn pc(&self, index: usize) -> u32 {
        self.pcs[index]
    }

    /// The pc after instruction `index` (GP A.2: `ı + 1 + skip(ı)`; for the
    /// final `trap`, its pc + 1).
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn next_pc(&self, index: usize) -> u32 {
        self.pcs[index + 1]
    }

    /// The index of the instruction starting at `pc`, if one does (on the
    /// instruction chain from pc 0, or the final `trap`).
    #[inline]
    pub fn index_of(&self, pc: u32) -> Option<usize> {
        self.pc_index.get(pc)
    }

    /// Whether a jump may land on instruction `index` (GP ϖ: pc 0, or a
    /// bitmask-marked instruction right after a terminator).
    ///
    /// # Panics
    /// If `index >= len()`.
    #[inline]
    pub fn is_jump_target(&self, index: usize) -> bool {
        self.jump_target[index]
    }

    /// The index a jump to `pc` lands on, or `None` if `pc` is not a jump
    /// target (such a jump panics).
    #[inline]
    pub fn jump_target(&self, pc: u32) -> Option<usize> {
        self.index_of(pc).filter(|&i| self.jump_target[i])
    }

    /// Gas charged on entering the block that starts at instruction `index`
    /// (GP 0.7.2: 1 per instruction); 0 if no block starts there. Blocks
    /// start at every jump target, after an undefined opcode, and at the
    /// final `trap` when a terminator precedes it.
    ///
    /// # Panics
    /// If `index >= len()`.
    #[inline]
    pub fn block_gas(&self, index: usize) -> u32 {
        self.block_gas[index]
    }

    /// Per-instruction block gas, indexed like the instructions.
    pub fn block_gas_table(&self) -> &[u32] {
        &self.block_gas
    }

    /// The jump table, as pcs (GP `j`). A dynamic jump to address `2(k+1)`
    /// goes to entry `k` (GP eq. A.18).
    pub fn jump_table(&self) -> &[u32] {
        &self.jump_table
    }

    /// The standard program's data and layout, if built from one.
    pub fn standard(&self) -> Option<&StandardData> {
        self.standard.as_ref()
    }

    /// Every instruction as `(pc, next pc, instruction)`, in pc order,
    /// ending with the implicit `trap`.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, Instruction)> + '_ {
        self.instructions
            .iter()
            .enumerate()
            .map(|(i, &instruction)| (self.pcs[i], self.pcs[i + 1], instruction))
    }

    /// Calls `visitor` for every instruction with its pc and next pc, in pc
    /// order, ending with the implicit `trap`: what a compiler lowers from.
    ///
    /// ```
    /// use braid_pvm_program::isa::ByInstruction;
    /// use braid_pvm_program::program::Program;
    /// use braid_pvm_program::blob::ProgramBlob;
    /// use braid_pvm_program::isa::{Opcode, PvmSpec};
    ///
    /// // add_32 r9, r7, r8 (3 bytes), then the implicit trap at pc 3.
    /// let blob = ProgramBlob::parse(&[0, 0, 3, 190, 135, 9, 1]).unwrap();
    /// let program = Program::from_blob(&blob, PvmSpec::Gp0_7_2);
    /// let mut seen = Vec::new();
    /// program.visit(&mut ByInstruction(|pc, next_pc, i: braid_pvm_program::isa::Instruction| {
    ///     seen.push((pc, next_pc, i.opcode()))
    /// }));
    /// assert_eq!(seen, [(0, 3, Some(Opcode::add_32)), (3, 4, Some(Opcode::trap))]);
    /// ```
    pub fn visit<V: ProgramVisitor<Output = ()>>(&self, visitor: &mut V) {
        for (pc, next_pc, instruction) in self.iter() {
            instruction.visit_at(pc, next_pc, visitor);
        }
    }
}

/// Instruction index by pc in constant time: one bit per code byte marks
/// the instruction starts on the chain from pc 0, and a rank directory holds
/// the number of starts before each 64-byte word. Costs 3 bits per code
/// byte (a dense `u32` table would cost 32); what the recompiler resolves
/// every branch target with, and the interpreter every jump.
#[derive(Debug)]
struct PcIndex {
    /// Bit `pc % 64` of word `pc / 64`: an instruction starts at `pc`.
    starts: Vec<u64>,
    /// Instruction starts before word `w`.
    rank: Vec<u32>,
}

impl PcIndex {
    /// From the instruction starts `pcs`, strictly ascending.
    fn new(pcs: &[u32]) -> PcIndex {
        let words = pcs.last().map_or(0, |&pc| pc as usize / 64 + 1);
        let mut starts = vec![0u64; words];
        for &pc in pcs {
            starts[pc as usize / 64] |= 1 << (pc % 64);
        }
        let mut rank = Vec::with_capacity(words);
        let mut count = 0u32;
        for word in &starts {
            rank.push(count);
            count += word.count_ones();
        }
        PcIndex { starts, rank }
    }

    /// The index of the instruction starting at `pc`.
    #[inline]
    fn get(&self, pc: u32) -> Option<usize> {
        let w = pc as usize / 64;
        let word = *self.starts.get(w)?;
        let bit = 1u64 << (pc % 64);
        (word & bit != 0).then(|| (self.rank[w] + (word & (bit - 1)).count_ones()) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::ByInstruction;
    use proptest::prelude::*;

    proptest! {
        /// The pc-carrying visitor sees exactly the decoder's instruction
        /// chain: every `(pc, next pc, instruction)` from pc 0, then the
        /// implicit `trap`.
        #[test]
        fn the_program_visitor_follows_the_decoder(
            code in proptest::collection::vec(any::<u8>(), 1..64),
            bits in proptest::collection::vec(any::<u8>(), 8),
        ) {
            let bitmask: Vec<u8> = bits[..code.len().div_ceil(8)].to_vec();
            let blob = ProgramBlob { jump_table: vec![], code: code.clone(), bitmask: bitmask.clone() };
            let program = Program::from_blob(&blob, PvmSpec::Gp0_7_2);
            let mut seen = Vec::new();
            program.visit(&mut ByInstruction(|pc, next_pc, i: Instruction| seen.push((pc, next_pc, i))));
            let mut expected = Vec::new();
            let mut pc = 0u32;
            while (pc as usize) < code.len() {
                let (instruction, skip) = decode(&code, &bitmask, pc, PvmSpec::Gp0_7_2);
                expected.push((pc, pc + 1 + skip, instruction));
                pc += 1 + skip;
            }
            expected.push((pc, pc + 1, Instruction::trap {}));
            // Every pc, past the end too: the index of the instruction
            // starting there, as a search of the chain finds it.
            let starts: Vec<u32> = expected.iter().map(|&(pc, _, _)| pc).collect();
            for pc in 0..code.len() as u32 + 80 {
                prop_assert_eq!(program.index_of(pc), starts.binary_search(&pc).ok(), "pc {}", pc);
            }
            // Jump targets and gas blocks, longhand from their definitions
            // over the chain: a target is pc 0 or a bitmask-marked start
            // right after a terminator (GP ϖ, never the implicit `trap`
            // after real code); a gas block starts at a target, after an
            // undefined byte, or at the implicit `trap` after a terminator,
            // and carries the cost of every instruction up to the next.
            let n = expected.len();
            let terminator = |i: usize| expected[i].2.opcode().is_some_and(|op| op.is_terminator());
            let undefined = |i: usize| expected[i].2.opcode().is_none();
            let mut gas = vec![0u32; n];
            let mut block = 0;
            for (i, &(pc, _, instruction)) in expected.iter().enumerate() {
                let target = i == 0
                    || (i < n - 1
                        && terminator(i - 1)
                        && is_instruction_start(&bitmask, code.len() as u32, pc));
                prop_assert_eq!(program.is_jump_target(i), target, "index {}", i);
                if target || (i > 0 && undefined(i - 1)) || (i == n - 1 && terminator(i - 1)) {
                    block = i;
                }
                gas[block] += instruction.opcode().map_or(1, |op| op.gas());
            }
            prop_assert_eq!(program.block_gas_table(), &gas[..]);
            prop_assert_eq!(seen, expected);
        }
    }

    #[test]
    fn blocks_start_at_jump_targets_and_carry_their_gas() {
        // 0: jump +3 (to 3); 2: trap; 3: fallthrough; 4: ecalli 0; 6: trap.
        let blob = ProgramBlob {
            jump_table: vec![3, 4],
            code: vec![40, 3, 0, 1, 10, 0, 0],
            bitmask: vec![0b0101_1101],
        };
        let program = Program::from_blob(&blob, PvmSpec::Gp0_7_2);
        let pcs: Vec<u32> = program.iter().map(|(pc, _, _)| pc).collect();
        assert_eq!(pcs, [0, 2, 3, 4, 6, 7]);
        assert_eq!(program.jump_target(3), Some(2));
        // pc 4 follows `fallthrough`, a terminator: a target.
        assert_eq!(program.jump_target(4), Some(3));
        // pc 6 follows `ecalli`, which is not a terminator: not a target.
        assert_eq!(program.jump_target(6), None);
        assert_eq!(program.jump_target(1), None);
        let gas: Vec<u32> = (0..program.len()).map(|i| program.block_gas(i)).collect();
        // [jump] [trap] [fallthrough] [ecalli, trap] [implicit trap after a terminator].
        assert_eq!(gas, [1, 1, 1, 2, 0, 1]);
        assert_eq!(program.jump_table(), [3, 4]);
    }
}
