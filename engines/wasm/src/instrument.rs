//! The deploy-time stack-height instrumentation (RFC 0004 "Configuration",
//! stack): a deterministic, Braid-counted bound on recursion, applied to a
//! module that passed [`crate::validate::check_and_weigh`] before wasmtime
//! compiles it.
//!
//! The "thunk" scheme, which rewrites no function body: with `I` imported
//! and `N` defined functions, defined function `I + i` becomes a wrapper of
//! the same type, and the original body moves, byte for byte, to
//! `I + N + i`. Every `call`, export, table element and start function
//! still names `I + i`, so every call of a defined function (from the host
//! or from a moved body) goes through its wrapper:
//!
//! ```text
//! global.get $h  i32.const w_i  i32.add  global.set $h
//! global.get $h  i32.const MAX_STACK_SLOTS  i32.gt_u  if  unreachable  end
//! local.get 0 .. local.get (params - 1)  call (I + N + i)
//! global.get $h  i32.const w_i  i32.sub  global.set $h
//! ```
//!
//! `$h` is a new mutable `i32` global (initially 0) after every existing
//! global, exported as [`STACK_HEIGHT_EXPORT`]; `w_i` is the function's
//! weight. A start function is exported as [`START_EXPORT`] instead, and
//! the engine calls it right after instantiation (so its stack-limit
//! trap, like any, can read the counter). The custom `name` section is
//! dropped (its indices would lie); every other section is copied as it is.

use wasm_encoder::{BlockType, CodeSection, Encode, Function, FunctionSection, Instruction};
use wasmtime::wasmparser::{CompositeInnerType, Parser, Payload, TypeRef};

use crate::config::limits;
use crate::error::{Result, WasmError};
use crate::validate::{STACK_HEIGHT_EXPORT, START_EXPORT};

/// Section ids of the sections the instrumentation adds or extends.
const GLOBAL: u8 = 6;
const EXPORT: u8 = 7;

/// The position of a non-custom section id in the order the binary format
/// requires (the data-count section sits between element and code, the tag
/// section between memory and global).
fn rank(id: u8) -> u8 {
    match id {
        13 => 6,
        6..=9 => id + 1,
        12 => 11,
        10 => 12,
        11 => 13,
        _ => id,
    }
}

/// `count + added` followed by `entries` (the section's existing entries,
/// as they were) and `extra` (`added` more entries, encoded).
fn extended(count: u32, entries: &[u8], added: u32, extra: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(entries.len() + extra.len() + 5);
    (count + added).encode(&mut data);
    data.extend_from_slice(entries);
    data.extend_from_slice(extra);
    data
}

/// The new global: `(global (mut i32) (i32.const 0))`.
const COUNTER: [u8; 5] = [0x7F, 0x01, 0x41, 0x00, 0x0B];

/// The export entries of the counter, global `counter`, and of the start
/// function, if any: how many, and their bytes.
fn added_exports(counter: u32, start: Option<u32>) -> (u32, Vec<u8>) {
    let mut entries = Vec::new();
    STACK_HEIGHT_EXPORT.encode(&mut entries);
    entries.push(0x03);
    counter.encode(&mut entries);
    let Some(start) = start else {
        return (1, entries);
    };
    START_EXPORT.encode(&mut entries);
    entries.push(0x00);
    start.encode(&mut entries);
    (2, entries)
}

/// The section's entries after its leading count.
fn entries(code: &[u8], range: std::ops::Range<usize>) -> Result<(u32, &[u8])> {
    let data = &code[range];
    let mut reader = wasmtime::wasmparser::BinaryReader::new(data, 0);
    let count = reader
        .read_var_u32()
        .map_err(|source| WasmError::InvalidWasm { source })?;
    Ok((count, &data[reader.original_position()..]))
}

fn push_section(module: &mut Vec<u8>, id: u8, data: &[u8]) {
    module.push(id);
    data.encode(module);
}

/// The wrapper of a function with `params` parameters and weight
/// `weight`, calling `target` and counting in global `counter`.
fn wrapper(params: u32, weight: u32, target: u32, counter: u32) -> Function {
    // Weights of accepted modules are far below 2^31 (locals and body size
    // are bounded); a larger one only makes the wrapper always trap.
    let weight = i32::try_from(weight).unwrap_or(i32::MAX);
    let limit = limits::MAX_STACK_SLOTS as i32;
    let mut f = Function::new([]);
    f.instruction(&Instruction::GlobalGet(counter))
        .instruction(&Instruction::I32Const(weight))
        .instruction(&Instruction::I32Add)
        .instruction(&Instruction::GlobalSet(counter))
        .instruction(&Instruction::GlobalGet(counter))
        .instruction(&Instruction::I32Const(limit))
        .instruction(&Instruction::I32GtU)
        .instruction(&Instruction::If(BlockType::Empty))
        .instruction(&Instruction::Unreachable)
        .instruction(&Instruction::End);
    for local in 0..params {
        f.instruction(&Instruction::LocalGet(local));
    }
    f.instruction(&Instruction::Call(target))
        .instruction(&Instruction::GlobalGet(counter))
        .instruction(&Instruction::I32Const(weight))
        .instruction(&Instruction::I32Sub)
        .instruction(&Instruction::GlobalSet(counter))
        .instruction(&Instruction::End);
    f
}

/// Instruments `code` (a module that passed the deploy checks) with
/// `weights`, one per defined function in definition order.
///
/// # Errors
/// [`WasmError::InvalidWasm`] if `code` does not parse and
/// [`WasmError::WeightsMismatch`] if `weights` does not match its functions: both
/// mean the module skipped the deploy checks.
pub(crate) fn instrument(code: &[u8], weights: &[u32]) -> Result<Vec<u8>> {
    let invalid = |source| WasmError::InvalidWasm { source };
    let mismatch = || WasmError::WeightsMismatch {
        weights: weights.len(),
    };
    let mut params_of_type: Vec<u32> = Vec::new();
    let mut imported_functions = 0u32;
    let mut globals = 0u32;
    let mut defined: Vec<u32> = Vec::new();
    let mut module = Vec::with_capacity(code.len() + 64 * weights.len() + 64);
    module.extend_from_slice(&wasm_encoder::Module::HEADER);
    let (mut global_done, mut export_done) = (false, false);
    let mut body: Option<(CodeSection, u32)> = None;
    // The start section follows the export section: find it first.
    let mut start = None;
    for payload in Parser::new(0).parse_all(code) {
        if let Payload::StartSection { func, .. } = payload.map_err(invalid)? {
            start = Some(func);
        }
    }
    for payload in Parser::new(0).parse_all(code) {
        let payload = payload.map_err(invalid)?;
        let section = payload.as_section();
        // Add the counter's sections if the module has none where they go.
        if let Some((id, _)) = section
            && id != 0
        {
            if !global_done && rank(id) > rank(GLOBAL) {
                push_section(&mut module, GLOBAL, &extended(0, &[], 1, &COUNTER));
                global_done = true;
            }
            if !export_done && rank(id) > rank(EXPORT) {
                let (added, extra) = added_exports(globals, start);
                push_section(&mut module, EXPORT, &extended(0, &[], added, &extra));
                export_done = true;
            }
        }
        match payload {
            Payload::Version { .. } => {}
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group.map_err(invalid)?.into_types() {
                        params_of_type.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => f.params().len() as u32,
                            _ => 0,
                        });
                    }
                }
                push_section(&mut module, 1, &code[reader.range()]);
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    match import.map_err(invalid)?.ty {
                        TypeRef::Func(_) => imported_functions += 1,
                        TypeRef::Global(_) => globals += 1,
                        _ => {}
                    }
                }
                push_section(&mut module, 2, &code[reader.range()]);
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    defined.push(ty.map_err(invalid)?);
                }
                if defined.len() != weights.len() {
                    return Err(mismatch());
                }
                let mut functions = FunctionSection::new();
                for ty in defined.iter().chain(&defined) {
                    functions.function(*ty);
                }
                module.push(3);
                functions.encode(&mut module);
            }
            Payload::GlobalSection(reader) => {
                let (count, existing) = entries(code, reader.range())?;
                push_section(&mut module, GLOBAL, &extended(count, existing, 1, &COUNTER));
                globals += count;
                global_done = true;
            }
            Payload::ExportSection(reader) => {
                let (count, existing) = entries(code, reader.range())?;
                let (added, extra) = added_exports(globals, start);
                push_section(
                    &mut module,
                    EXPORT,
                    &extended(count, existing, added, &extra),
                );
                export_done = true;
            }
            Payload::CodeSectionStart { count, .. } => {
                let n = defined.len() as u32;
                if count != n {
                    return Err(mismatch());
                }
                let mut section = CodeSection::new();
                for (i, (ty, weight)) in defined.iter().zip(weights).enumerate() {
                    let params = params_of_type.get(*ty as usize).copied().unwrap_or(0);
                    let target = imported_functions + n + i as u32;
                    section.function(&wrapper(params, *weight, target, globals));
                }
                body = Some((section, count));
                if count == 0 {
                    finish_code(&mut module, &mut body);
                }
            }
            Payload::CodeSectionEntry(function) => {
                let Some((section, left)) = body.as_mut() else {
                    return Err(mismatch());
                };
                section.raw(&code[function.range()]);
                *left -= 1;
                if *left == 0 {
                    finish_code(&mut module, &mut body);
                }
            }
            Payload::StartSection { .. } => {}
            Payload::CustomSection(custom) if custom.name() == "name" => {}
            Payload::End(_) => {
                if !global_done {
                    push_section(&mut module, GLOBAL, &extended(0, &[], 1, &COUNTER));
                }
                if !export_done {
                    let (added, extra) = added_exports(globals, start);
                    push_section(&mut module, EXPORT, &extended(0, &[], added, &extra));
                }
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    push_section(&mut module, id, &code[range]);
                }
            }
        }
    }
    Ok(module)
}

fn finish_code(module: &mut Vec<u8>, body: &mut Option<(CodeSection, u32)>) {
    if let Some((section, _)) = body.take() {
        module.push(10);
        section.encode(module);
    }
}

#[cfg(test)]
mod tests {
    use wasmtime::wasmparser::{ElementItems, ExternalKind, Operator, Validator};

    use super::*;
    use crate::{config, validate};

    const MODULE: &str = r#"
      (module
        (import "braid" "gas" (func $gas (result i64)))
        (import "braid" "input" (func $input (param i32 i32 i32) (result i64)))
        (memory (export "memory") 1)
        (global $g (mut i32) (i32.const 7))
        (table 4 funcref)
        (elem (i32.const 1) $f $call)
        (func $f (param i32 i64) (result i64) (local f64 i32)
          (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
        (func $call (export "call") (result i64)
          (call $f (i32.const 1) (i64.const 2)))
        (export "f" (func $f))
        (export "g" (global $g)))"#;

    struct Shape {
        exports: Vec<(String, ExternalKind, u32)>,
        elements: Vec<u32>,
        globals: u32,
        functions: u32,
    }

    fn shape(code: &[u8]) -> Shape {
        let mut shape = Shape {
            exports: Vec::new(),
            elements: Vec::new(),
            globals: 0,
            functions: 0,
        };
        for payload in Parser::new(0).parse_all(code) {
            match payload.unwrap() {
                Payload::ExportSection(reader) => {
                    for e in reader {
                        let e = e.unwrap();
                        shape.exports.push((e.name.to_owned(), e.kind, e.index));
                    }
                }
                Payload::ElementSection(reader) => {
                    for e in reader {
                        let ElementItems::Functions(items) = e.unwrap().items else {
                            panic!("expected function indices");
                        };
                        shape.elements.extend(items.into_iter().map(Result::unwrap));
                    }
                }
                Payload::GlobalSection(reader) => shape.globals += reader.count(),
                Payload::FunctionSection(reader) => shape.functions += reader.count(),
                _ => {}
            }
        }
        shape
    }

    #[test]
    fn the_instrumented_module_validates_and_keeps_every_index() {
        let code = wat::parse_str(MODULE).unwrap();
        let (_, weights) = validate::check_and_weigh(&code).unwrap();
        // $f: 2 params + 2 locals + operand stack 2; $call: stack 2.
        assert_eq!(
            weights,
            [limits::FRAME_SLOTS + 4 + 2, limits::FRAME_SLOTS + 2]
        );
        let out = instrument(&code, &weights).unwrap();
        Validator::new_with_features(config::features())
            .validate_all(&out)
            .unwrap();
        let (before, after) = (shape(&code), shape(&out));
        assert_eq!(after.functions, 2 * before.functions);
        assert_eq!(after.globals, before.globals + 1);
        assert_eq!(after.elements, before.elements);
        let mut expected = before.exports.clone();
        expected.push((STACK_HEIGHT_EXPORT.into(), ExternalKind::Global, 1));
        assert_eq!(after.exports, expected);
        // Wrapper 2 ($f) calls the moved body at 2 + 2 + 0; moved bodies
        // are the original bytes.
        let mut bodies = Vec::new();
        for payload in Parser::new(0).parse_all(&out) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                bodies.push(body);
            }
        }
        let calls: Vec<u32> = bodies[0]
            .get_operators_reader()
            .unwrap()
            .into_iter()
            .filter_map(|op| match op.unwrap() {
                Operator::Call { function_index } => Some(function_index),
                _ => None,
            })
            .collect();
        assert_eq!(calls, [4]);
        let mut originals = Vec::new();
        for payload in Parser::new(0).parse_all(&code) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                originals.push(code[body.range()].to_vec());
            }
        }
        let moved: Vec<Vec<u8>> = bodies[2..]
            .iter()
            .map(|b| out[b.range()].to_vec())
            .collect();
        assert_eq!(moved, originals);
    }

    #[test]
    fn a_module_without_globals_gains_a_global_section_in_order() {
        let code = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                 (func (export "call") (result i64) (i64.const 0))
                 (data (i32.const 0) "x"))"#,
        )
        .unwrap();
        let (_, weights) = validate::check_and_weigh(&code).unwrap();
        let out = instrument(&code, &weights).unwrap();
        Validator::new_with_features(config::features())
            .validate_all(&out)
            .unwrap();
        let after = shape(&out);
        assert_eq!(after.globals, 1);
        assert_eq!(
            after.exports.last(),
            Some(&(STACK_HEIGHT_EXPORT.to_owned(), ExternalKind::Global, 0))
        );
    }
}
