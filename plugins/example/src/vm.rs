//! The stack machine: one opcode table, validation, and the interpreter over
//! a [`VmHost`]. Shared verbatim (by `#[path]`) with the `test-faults`
//! variant in `plugins/testlibs/faulty`, which sets `crate::FAULT_OPCODES`.

use std::fmt;

/// Most values on the stack; one more traps.
pub const MAX_STACK: usize = 1024;

macro_rules! define_opcodes {
    ($(
        $(#[$doc:meta])*
        $name:ident = $byte:literal, $mnemonic:literal, imm $imm:literal, gas $gas:literal;
    )*) => {
        /// An instruction of the stack engine. The table in this module is
        /// the one source of its byte, mnemonic, immediate size and gas.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Opcode {
            $($(#[$doc])* $name = $byte,)*
        }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &[Opcode] = &[$(Opcode::$name),*];

            /// The opcode encoded by `byte`, if any (including the fault
            /// opcodes, whatever the build: validation decides if they run).
            pub fn from_byte(byte: u8) -> Option<Opcode> {
                match byte {
                    $($byte => Some(Opcode::$name),)*
                    _ => None,
                }
            }

            /// The assembler's name for it (upper case).
            pub fn mnemonic(self) -> &'static str {
                match self {
                    $(Opcode::$name => $mnemonic,)*
                }
            }

            /// Fixed immediate bytes after the opcode byte (`XREAD` adds its
            /// key after these).
            pub fn immediate_len(self) -> usize {
                match self {
                    $(Opcode::$name => $imm,)*
                }
            }

            /// Gas charged before the instruction runs, in the engine's native unit.
            pub fn gas(self) -> u64 {
                match self {
                    $(Opcode::$name => $gas,)*
                }
            }
        }
    };
}

define_opcodes! {
    /// Halts with empty output. Running past the last instruction does the same.
    Stop = 0x00, "STOP", imm 0, gas 0;
    /// Pushes the 8-byte big-endian immediate.
    Push = 0x01, "PUSH", imm 8, gas 1;
    /// Drops the top value.
    Pop = 0x02, "POP", imm 0, gas 1;
    /// Pushes a copy of the value `n` below the top (1-byte immediate; 0 = top).
    Dup = 0x03, "DUP", imm 1, gas 1;
    /// Swaps the top with the value `n + 1` below it (1-byte immediate).
    Swap = 0x04, "SWAP", imm 1, gas 1;
    /// `a b -- a+b` (wrapping).
    Add = 0x10, "ADD", imm 0, gas 1;
    /// `a b -- a-b` (wrapping).
    Sub = 0x11, "SUB", imm 0, gas 1;
    /// `a b -- a*b` (wrapping).
    Mul = 0x12, "MUL", imm 0, gas 2;
    /// `a b -- (a<b ? 1 : 0)`.
    Lt = 0x13, "LT", imm 0, gas 1;
    /// `a b -- (a==b ? 1 : 0)`.
    Eq = 0x14, "EQ", imm 0, gas 1;
    /// `a -- (a==0 ? 1 : 0)`.
    IsZero = 0x15, "ISZERO", imm 0, gas 1;
    /// Jumps to the 4-byte big-endian byte offset (an instruction start).
    Jump = 0x20, "JUMP", imm 4, gas 2;
    /// `c --`: jumps to the 4-byte big-endian offset if `c != 0`.
    JumpI = 0x21, "JUMPI", imm 4, gas 2;
    /// `k -- v`: own storage, 8-byte big-endian key and value; absent is 0.
    SLoad = 0x30, "SLOAD", imm 0, gas 50;
    /// `k v --`: own storage; storing 0 deletes the key.
    SStore = 0x31, "SSTORE", imm 0, gas 100;
    /// `-- v`: cross-engine read of committed state. Immediates: engine
    /// (1 byte), identity (20 bytes), key length (1 byte), then the full
    /// engine key. Pushes the low 64 bits of the value read as a big-endian
    /// integer; 0 if absent.
    XRead = 0x32, "XREAD", imm 22, gas 50;
    /// `i -- w`: the 8-byte big-endian word at input bytes `8i..8i+8`,
    /// zero-padded past the end.
    Input = 0x40, "INPUT", imm 0, gas 2;
    /// `v --`: emits a log with no topics and `v` (8 bytes big-endian) as data.
    Log = 0x50, "LOG", imm 0, gas 20;
    /// `v --`: halts with `v` (8 bytes big-endian) as output.
    Return = 0x60, "RETURN", imm 0, gas 0;
    /// `v --`: reverts with `v` (8 bytes big-endian) as output.
    Revert = 0x61, "REVERT", imm 0, gas 0;
    /// TEST FAULT: panics inside the engine. Refused by validation unless
    /// the library was built with fault opcodes (`plugins/testlibs/faulty`).
    Panic = 0xF0, "PANIC", imm 0, gas 0;
    /// TEST FAULT: aborts the whole process. Refused by validation unless
    /// the library was built with fault opcodes (`plugins/testlibs/faulty`).
    Abort = 0xF1, "ABORT", imm 0, gas 0;
}

/// Byte offset of the key length in an `XREAD` instruction.
const XREAD_KEY_LEN_AT: usize = 22;

/// Why code was refused at deploy time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidCode {
    /// The code is empty.
    Empty,
    /// A byte that is no opcode (or a fault opcode in a build without them).
    UnknownOpcode {
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// An instruction's immediate runs past the end of the code.
    TruncatedImmediate {
        /// Offset of the instruction.
        offset: usize,
        /// Its mnemonic.
        mnemonic: &'static str,
    },
    /// A jump target past the end of the code or inside an instruction.
    BadJumpTarget {
        /// Offset of the jump.
        offset: usize,
        /// The target.
        target: u32,
        /// Code length, in bytes.
        len: usize,
    },
}

impl fmt::Display for InvalidCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidCode::Empty => write!(f, "code is empty"),
            InvalidCode::UnknownOpcode { offset, byte } => {
                write!(f, "unknown opcode 0x{byte:02x} at offset {offset}")
            }
            InvalidCode::TruncatedImmediate { offset, mnemonic } => {
                write!(f, "{mnemonic} at offset {offset} has a truncated immediate")
            }
            InvalidCode::BadJumpTarget {
                offset,
                target,
                len,
            } => write!(
                f,
                "jump at offset {offset} targets {target}, not an instruction start in {len} bytes of code"
            ),
        }
    }
}

impl std::error::Error for InvalidCode {}

/// Length of the instruction at `pc` (opcode byte included), if its
/// immediates fit in `code`.
fn instruction_len(code: &[u8], pc: usize, op: Opcode) -> Option<usize> {
    let fixed = 1 + op.immediate_len();
    let len = if op == Opcode::XRead {
        let key_len = *code.get(pc + 1 + XREAD_KEY_LEN_AT - 1)?;
        fixed + usize::from(key_len)
    } else {
        fixed
    };
    (pc + len <= code.len()).then_some(len)
}

fn jump_target(code: &[u8], pc: usize) -> u32 {
    u32::from_be_bytes(code[pc + 1..pc + 5].try_into().expect("4-byte immediate"))
}

/// Checks code: every byte an opcode or an immediate, immediates complete,
/// jump targets instruction starts; the fault opcodes only when
/// `fault_opcodes` is set.
///
/// # Errors
/// The first [`InvalidCode`] found, scanning from offset 0.
pub fn validate(code: &[u8], fault_opcodes: bool) -> Result<(), InvalidCode> {
    if code.is_empty() {
        return Err(InvalidCode::Empty);
    }
    let mut starts = vec![false; code.len()];
    let mut jumps = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let byte = code[pc];
        let op = Opcode::from_byte(byte)
            .filter(|op| fault_opcodes || !matches!(op, Opcode::Panic | Opcode::Abort))
            .ok_or(InvalidCode::UnknownOpcode { offset: pc, byte })?;
        let len = instruction_len(code, pc, op).ok_or(InvalidCode::TruncatedImmediate {
            offset: pc,
            mnemonic: op.mnemonic(),
        })?;
        starts[pc] = true;
        if matches!(op, Opcode::Jump | Opcode::JumpI) {
            jumps.push((pc, jump_target(code, pc)));
        }
        pc += len;
    }
    for (offset, target) in jumps {
        if !starts.get(target as usize).copied().unwrap_or(false) {
            return Err(InvalidCode::BadJumpTarget {
                offset,
                target,
                len: code.len(),
            });
        }
    }
    Ok(())
}

/// Why a host function stopped the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostStop {
    /// Gas ran out.
    OutOfGas,
    /// A key or value over the state limits: the guest traps.
    Limit,
    /// The host failed: the call cannot be processed.
    Error,
}

/// What the interpreter needs from the world: the C ABI host vtable, or any
/// Rust host for a statically linked engine.
pub trait VmHost {
    /// Charges gas.
    fn charge_gas(&mut self, amount: u64) -> Result<(), HostStop>;
    /// Reads an own-scope key.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostStop>;
    /// Writes (`Some`) or deletes (`None`) an own-scope key.
    fn set(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), HostStop>;
    /// Cross-engine read of committed state.
    fn read(
        &mut self,
        engine: u8,
        identity: &[u8; 20],
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, HostStop>;
    /// Emits a log from the running instance.
    fn log(&mut self, data: &[u8]) -> Result<(), HostStop>;
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Halted with output.
    Halt(Vec<u8>),
    /// Reverted with output.
    Revert(Vec<u8>),
    /// Out of gas.
    OutOfGas,
    /// Trapped: stack underflow or overflow, a state limit, a non-zero value.
    Trap,
    /// The host failed; the call cannot be processed.
    HostError,
}

impl From<HostStop> for Exit {
    fn from(stop: HostStop) -> Exit {
        match stop {
            HostStop::OutOfGas => Exit::OutOfGas,
            HostStop::Limit => Exit::Trap,
            HostStop::Error => Exit::HostError,
        }
    }
}

/// The low 64 bits of `bytes` read as a big-endian integer (0 if empty).
fn low_u64(bytes: &[u8]) -> u64 {
    let tail = &bytes[bytes.len().saturating_sub(8)..];
    tail.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

/// Runs validated `code` on `input`. `value` must be zero (the engine has no
/// currency): a non-zero value traps before any gas is charged.
pub fn run(code: &[u8], input: &[u8], value: &[u8; 32], host: &mut dyn VmHost) -> Exit {
    if value.iter().any(|b| *b != 0) {
        return Exit::Trap;
    }
    match interpret(code, input, host) {
        Ok(exit) | Err(exit) => exit,
    }
}

fn interpret(code: &[u8], input: &[u8], host: &mut dyn VmHost) -> Result<Exit, Exit> {
    let mut stack: Vec<u64> = Vec::with_capacity(32);
    let mut pc = 0usize;
    macro_rules! pop {
        () => {
            stack.pop().ok_or(Exit::Trap)?
        };
    }
    macro_rules! push {
        ($v:expr) => {{
            let v = $v;
            if stack.len() >= MAX_STACK {
                return Err(Exit::Trap);
            }
            stack.push(v);
        }};
    }
    while pc < code.len() {
        // Validated code: every opcode known and every immediate in bounds.
        let op = Opcode::from_byte(code[pc]).ok_or(Exit::Trap)?;
        let len = instruction_len(code, pc, op).ok_or(Exit::Trap)?;
        let imm = &code[pc + 1..pc + len];
        host.charge_gas(op.gas())?;
        let mut next = pc + len;
        match op {
            Opcode::Stop => return Ok(Exit::Halt(Vec::new())),
            Opcode::Push => push!(u64::from_be_bytes(imm.try_into().map_err(|_| Exit::Trap)?)),
            Opcode::Pop => {
                pop!();
            }
            Opcode::Dup => {
                let n = usize::from(imm[0]);
                let v = *stack.iter().rev().nth(n).ok_or(Exit::Trap)?;
                push!(v);
            }
            Opcode::Swap => {
                let n = usize::from(imm[0]) + 1;
                let top = stack.len().checked_sub(1).ok_or(Exit::Trap)?;
                let other = top.checked_sub(n).ok_or(Exit::Trap)?;
                stack.swap(top, other);
            }
            Opcode::Add | Opcode::Sub | Opcode::Mul | Opcode::Lt | Opcode::Eq => {
                let b = pop!();
                let a = pop!();
                push!(match op {
                    Opcode::Add => a.wrapping_add(b),
                    Opcode::Sub => a.wrapping_sub(b),
                    Opcode::Mul => a.wrapping_mul(b),
                    Opcode::Lt => u64::from(a < b),
                    _ => u64::from(a == b),
                });
            }
            Opcode::IsZero => {
                let a = pop!();
                push!(u64::from(a == 0));
            }
            Opcode::Jump => next = jump_target(code, pc) as usize,
            Opcode::JumpI => {
                if pop!() != 0 {
                    next = jump_target(code, pc) as usize;
                }
            }
            Opcode::SLoad => {
                let k = pop!();
                let v = host.get(&k.to_be_bytes())?;
                push!(v.as_deref().map_or(0, low_u64));
            }
            Opcode::SStore => {
                let v = pop!();
                let k = pop!();
                let value = v.to_be_bytes();
                host.set(&k.to_be_bytes(), (v != 0).then_some(&value[..]))?;
            }
            Opcode::XRead => {
                let engine = imm[0];
                let identity: [u8; 20] = imm[1..21].try_into().map_err(|_| Exit::Trap)?;
                let key = &imm[XREAD_KEY_LEN_AT..];
                let v = host.read(engine, &identity, key)?;
                push!(v.as_deref().map_or(0, low_u64));
            }
            Opcode::Input => {
                let i = pop!();
                let mut word = [0u8; 8];
                let start = usize::try_from(i.saturating_mul(8)).unwrap_or(usize::MAX);
                if let Some(bytes) = input.get(start..) {
                    let n = bytes.len().min(8);
                    word[..n].copy_from_slice(&bytes[..n]);
                }
                push!(u64::from_be_bytes(word));
            }
            Opcode::Log => {
                let v = pop!();
                host.log(&v.to_be_bytes())?;
            }
            Opcode::Return => return Ok(Exit::Halt(pop!().to_be_bytes().to_vec())),
            Opcode::Revert => return Ok(Exit::Revert(pop!().to_be_bytes().to_vec())),
            Opcode::Panic | Opcode::Abort if !crate::FAULT_OPCODES => return Err(Exit::Trap),
            Opcode::Panic => panic!("PANIC opcode at offset {pc} (test fault)"),
            Opcode::Abort => std::process::abort(),
        }
        pc = next;
    }
    Ok(Exit::Halt(Vec::new()))
}
