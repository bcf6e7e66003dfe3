//! A tiny assembler, so tests and authors write stack programs as text.
//!
//! One instruction per line (or several separated by whitespace after the
//! operands are consumed); `;` starts a comment; `name:` defines a label
//! usable as a `JUMP`/`JUMPI` target. Operands: `PUSH n`, `DUP n`,
//! `SWAP n`, `JUMP label|n`, `JUMPI label|n`, `XREAD engine identity key`
//! (identity: 40 hex digits, key: hex, both `0x`-prefixed); numbers are
//! decimal or `0x` hex. `.byte b ...` emits raw bytes (for invalid code).
//! Mnemonics are case-insensitive.

use std::collections::HashMap;
use std::fmt;

use crate::vm::Opcode;

/// Why text did not assemble.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for AsmError {}

fn number(token: &str) -> Option<u64> {
    match token.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => token.parse().ok(),
    }
}

fn hex_bytes(token: &str) -> Option<Vec<u8>> {
    let hex = token.strip_prefix("0x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Assembles `source` into stack-engine bytecode. Does not validate: run
/// the result through [`crate::validate`] (or deploy it) for that.
///
/// # Errors
/// [`AsmError`] naming the line: unknown mnemonic, missing or malformed
/// operand, unknown or duplicate label.
pub fn assemble(source: &str) -> Result<Vec<u8>, AsmError> {
    let mut code = Vec::new();
    let mut labels = HashMap::new();
    // (offset of the 4-byte target, label, line)
    let mut fixups: Vec<(usize, String, usize)> = Vec::new();
    for (index, raw) in source.lines().enumerate() {
        let line = index + 1;
        let err = |message: String| AsmError { line, message };
        let text = raw.split(';').next().unwrap_or("");
        let mut tokens = text.split_whitespace();
        while let Some(token) = tokens.next() {
            if let Some(label) = token.strip_suffix(':') {
                if labels.insert(label.to_string(), code.len()).is_some() {
                    return Err(err(format!("label {label} defined twice")));
                }
                continue;
            }
            let mut operand = |what: &str| {
                tokens
                    .next()
                    .ok_or_else(|| err(format!("{token} needs {what}")))
            };
            if token == ".byte" {
                for b in tokens.by_ref() {
                    let b = number(b)
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| err(format!("bad byte {b}")))?;
                    code.push(b);
                }
                continue;
            }
            let upper = token.to_ascii_uppercase();
            let op = Opcode::ALL
                .iter()
                .copied()
                .find(|op| op.mnemonic() == upper)
                .ok_or_else(|| err(format!("unknown mnemonic {token}")))?;
            code.push(op as u8);
            match op {
                Opcode::Push => {
                    let t = operand("a number")?;
                    let n = number(t).ok_or_else(|| err(format!("bad number {t}")))?;
                    code.extend(n.to_be_bytes());
                }
                Opcode::Dup | Opcode::Swap => {
                    let t = operand("a depth")?;
                    let n = number(t)
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| err(format!("bad depth {t}")))?;
                    code.push(n);
                }
                Opcode::Jump | Opcode::JumpI => {
                    let t = operand("a target")?;
                    match number(t) {
                        Some(n) => {
                            let n = u32::try_from(n).map_err(|_| err(format!("bad target {t}")))?;
                            code.extend(n.to_be_bytes());
                        }
                        None => {
                            fixups.push((code.len(), t.to_string(), line));
                            code.extend([0; 4]);
                        }
                    }
                }
                Opcode::XRead => {
                    let e = operand("an engine")?;
                    let engine = number(e)
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| err(format!("bad engine {e}")))?;
                    let i = operand("an identity")?;
                    let identity = hex_bytes(i)
                        .filter(|b| b.len() == 20)
                        .ok_or_else(|| err(format!("identity {i} is not 0x + 40 hex digits")))?;
                    let k = operand("a key")?;
                    let key = hex_bytes(k)
                        .filter(|b| b.len() <= 255)
                        .ok_or_else(|| err(format!("key {k} is not 0x + at most 255 hex bytes")))?;
                    code.push(engine);
                    code.extend(identity);
                    code.push(key.len() as u8);
                    code.extend(key);
                }
                _ => {}
            }
        }
    }
    for (at, label, line) in fixups {
        let target = *labels.get(&label).ok_or_else(|| AsmError {
            line,
            message: format!("unknown label {label}"),
        })?;
        let target = u32::try_from(target).map_err(|_| AsmError {
            line,
            message: format!("label {label} past 4 GiB"),
        })?;
        code[at..at + 4].copy_from_slice(&target.to_be_bytes());
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::{InvalidCode, validate};

    #[test]
    fn labels_resolve_and_code_validates() {
        let code = assemble("PUSH 3 ; counter\nloop: PUSH 1 SUB DUP 0 JUMPI loop\nRETURN").unwrap();
        assert_eq!(code[0], Opcode::Push as u8);
        validate(&code, false).unwrap();
    }

    #[test]
    fn invalid_code_is_typed() {
        assert_eq!(validate(&[], false), Err(InvalidCode::Empty));
        assert_eq!(
            validate(&assemble(".byte 0xEE").unwrap(), false),
            Err(InvalidCode::UnknownOpcode {
                offset: 0,
                byte: 0xEE
            })
        );
        assert_eq!(
            validate(&assemble("STOP .byte 0x01 0x00").unwrap(), false),
            Err(InvalidCode::TruncatedImmediate {
                offset: 1,
                mnemonic: "PUSH"
            })
        );
        assert!(matches!(
            validate(&assemble("JUMP 99").unwrap(), false),
            Err(InvalidCode::BadJumpTarget { target: 99, .. })
        ));
        // Into the middle of the PUSH immediate.
        assert!(matches!(
            validate(&assemble("PUSH 1 JUMP 3").unwrap(), false),
            Err(InvalidCode::BadJumpTarget { target: 3, .. })
        ));
        let panic = assemble("PANIC").unwrap();
        assert!(matches!(
            validate(&panic, false),
            Err(InvalidCode::UnknownOpcode { .. })
        ));
        validate(&panic, true).unwrap();
    }

    #[test]
    fn bad_text_names_the_line() {
        let e = assemble("PUSH 1\nFROB").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            assemble("JUMP nowhere")
                .unwrap_err()
                .message
                .contains("nowhere")
        );
    }
}
