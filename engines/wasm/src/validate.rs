//! Deploy-time checks (RFC 0004 "Deploy-time checks"): everything a module
//! must satisfy before it is compiled, each refusal a typed [`WasmError`].

use braid_precompiles::host_calls::HostCall;
use wasmtime::wasmparser::{
    BinaryReaderError, CompositeInnerType, ExternalKind, FuncType, FuncValidatorAllocations,
    Imports, Parser, Payload, TypeRef, ValType, ValidPayload, Validator,
};

use crate::config::{self, limits};
use crate::error::{Result, WasmError};

/// What deploy learns about a module that running it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleFacts {
    /// Initial linear memory, pages.
    pub initial_pages: u64,
}

/// The export name of the stack-height counter the deploy-time
/// instrumentation adds (RFC 0004 "Configuration", stack). A module that
/// exports this name itself is refused ([`WasmError::ReservedExport`]).
pub const STACK_HEIGHT_EXPORT: &str = "braid:stack_height";

/// The export name the instrumentation gives a module's start function,
/// which the engine then calls right after instantiation (so a start
/// function that passes the stack limit reports it like any call). A
/// module that exports this name itself is refused
/// ([`WasmError::ReservedExport`]).
pub const START_EXPORT: &str = "braid:start";

/// Validates `code` under Braid's features (not its limits) and returns
/// the stack weight of each defined function, in definition order:
/// [`limits::FRAME_SLOTS`] + parameters + declared locals + the largest
/// operand-stack height the validator sees after any operator.
///
/// # Errors
/// The validator's first error.
pub fn weigh(code: &[u8]) -> std::result::Result<Vec<u32>, BinaryReaderError> {
    let mut validator = Validator::new_with_features(config::features());
    let mut weights = Vec::new();
    let mut allocations = FuncValidatorAllocations::default();
    for payload in Parser::new(0).parse_all(code) {
        let payload = payload?;
        // A core module has no nested parsers: `Parser` payloads cannot occur.
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            let mut func = func.into_validator(std::mem::take(&mut allocations));
            // As `FuncValidator::validate`, recording the height after each operator.
            let mut reader = body.get_binary_reader();
            func.read_locals(&mut reader)?;
            reader.set_features(*func.features());
            let mut height = 0u32;
            while !reader.eof() {
                reader.visit_operator(&mut func.visitor(reader.original_position()))??;
                height = height.max(func.operand_stack_height());
            }
            reader.finish_expression(&func.visitor(reader.original_position()))?;
            weights.push(
                limits::FRAME_SLOTS
                    .saturating_add(func.len_locals())
                    .saturating_add(height),
            );
            allocations = func.into_allocations();
        }
    }
    Ok(weights)
}

/// The RFC 0004 signature of `host_call`: parameters, results, as text.
pub fn signature(host_call: HostCall) -> (&'static [ValType], &'static [ValType], &'static str) {
    use ValType::{I32, I64};
    match host_call {
        HostCall::gas => (&[], &[I64], "() -> i64"),
        HostCall::input => (&[I32, I32, I32], &[I64], "(i32, i32, i32) -> i64"),
        HostCall::caller | HostCall::self_identity => (&[I32], &[I64], "(i32) -> i64"),
        HostCall::storage_read => (
            &[I32, I32, I32, I32, I32],
            &[I64],
            "(i32, i32, i32, i32, i32) -> i64",
        ),
        HostCall::storage_write | HostCall::log => {
            (&[I32, I32, I32, I32], &[I64], "(i32, i32, i32, i32) -> i64")
        }
        HostCall::storage_delete => (&[I32, I32], &[I64], "(i32, i32) -> i64"),
        HostCall::evm_storage_read | HostCall::blake2b_256 | HostCall::keccak_256 => {
            (&[I32, I32, I32], &[I64], "(i32, i32, i32) -> i64")
        }
        HostCall::state_read => (
            &[I32, I32, I32, I32, I32, I32],
            &[I64],
            "(i32, i32, i32, i32, i32, i32) -> i64",
        ),
        HostCall::ed25519_verify => (&[I32, I32, I32, I32], &[I64], "(i32, i32, i32, i32) -> i64"),
        HostCall::call => (
            &[I32, I32, I32, I64, I32, I32],
            &[I64],
            "(i32, i32, i32, i64, i32, i32) -> i64",
        ),
        HostCall::revert => (&[I32, I32], &[], "(i32, i32) -> ()"),
    }
}

fn too_many(what: &'static str, count: u64, limit: u64) -> Result<()> {
    if count > limit {
        return Err(WasmError::TooMany { what, count, limit });
    }
    Ok(())
}

/// Validates `code` under Braid's features and limits, without compiling.
///
/// # Errors
/// The first refusal found, in this order: size, WebAssembly validity
/// (naming a disabled proposal when one would make it valid), counts,
/// function sizes and locals, imports, exports (including
/// [`WasmError::ReservedExport`] for [`STACK_HEIGHT_EXPORT`] and
/// [`START_EXPORT`]).
pub fn check(code: &[u8]) -> Result<ModuleFacts> {
    check_and_weigh(code).map(|(facts, _)| facts)
}

/// [`check`], also returning each defined function's stack weight
/// ([`weigh`]): the module is validated once.
///
/// # Errors
/// As [`check`].
pub fn check_and_weigh(code: &[u8]) -> Result<(ModuleFacts, Vec<u32>)> {
    if code.len() > limits::MAX_CODE_SIZE {
        return Err(WasmError::CodeTooLarge {
            size: code.len(),
            limit: limits::MAX_CODE_SIZE,
        });
    }
    let weights = match weigh(code) {
        Ok(weights) => weights,
        Err(source) => return Err(refusal(code, source)),
    };
    let invalid = |source| WasmError::InvalidWasm { source };
    let mut types: Vec<Option<FuncType>> = Vec::new();
    let mut functions: Vec<u32> = Vec::new();
    let mut imported = 0u32;
    let mut initial_pages = None;
    let mut exports = (false, None::<u32>);
    let mut defined = 0u32;
    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        types.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for group in reader {
                    let Imports::Single(_, import) = group.map_err(invalid)? else {
                        return Err(WasmError::DisabledFeature {
                            feature: "compact-imports",
                        });
                    };
                    let host = (import.module == "braid")
                        .then(|| HostCall::from_name(import.name))
                        .flatten();
                    let (Some(host), TypeRef::Func(ty)) = (host, import.ty) else {
                        return Err(WasmError::UnknownImport {
                            module: import.module.to_owned(),
                            name: import.name.to_owned(),
                        });
                    };
                    let (params, results, expected) = signature(host);
                    let ok = types
                        .get(ty as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|f| f.params() == params && f.results() == results);
                    if !ok {
                        return Err(WasmError::ImportSignature {
                            name: host.name(),
                            expected,
                        });
                    }
                    functions.push(ty);
                    imported += 1;
                }
            }
            Payload::FunctionSection(reader) => {
                too_many(
                    "functions",
                    u64::from(imported) + u64::from(reader.count()),
                    limits::MAX_FUNCTIONS,
                )?;
                for ty in reader {
                    functions.push(ty.map_err(invalid)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    too_many(
                        "table elements",
                        table.map_err(invalid)?.ty.initial,
                        limits::MAX_TABLE_ELEMENTS,
                    )?;
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(invalid)?;
                    too_many(
                        "initial memory pages",
                        memory.initial,
                        limits::MAX_MEMORY / limits::PAGE,
                    )?;
                    initial_pages = Some(memory.initial);
                }
            }
            Payload::GlobalSection(reader) => {
                too_many("globals", u64::from(reader.count()), limits::MAX_GLOBALS)?;
            }
            Payload::ElementSection(reader) => {
                too_many(
                    "element segments",
                    u64::from(reader.count()),
                    limits::MAX_SEGMENTS,
                )?;
            }
            Payload::DataSection(reader) => {
                too_many(
                    "data segments",
                    u64::from(reader.count()),
                    limits::MAX_SEGMENTS,
                )?;
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    match (export.name, export.kind) {
                        ("memory", ExternalKind::Memory) => exports.0 = true,
                        ("call", ExternalKind::Func) => exports.1 = Some(export.index),
                        (name @ (STACK_HEIGHT_EXPORT | START_EXPORT), _) => {
                            let name = if name == START_EXPORT {
                                START_EXPORT
                            } else {
                                STACK_HEIGHT_EXPORT
                            };
                            return Err(WasmError::ReservedExport { name });
                        }
                        _ => {}
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = defined;
                defined += 1;
                let size = body.range().len();
                if size > limits::MAX_FUNCTION_SIZE {
                    return Err(WasmError::FunctionTooLarge {
                        index,
                        size,
                        limit: limits::MAX_FUNCTION_SIZE,
                    });
                }
                let ty = functions
                    .get((imported + index) as usize)
                    .and_then(|t| types.get(*t as usize))
                    .and_then(Option::as_ref);
                let mut count = ty.map_or(0, |f| f.params().len() as u64);
                for local in body.get_locals_reader().map_err(invalid)? {
                    count += u64::from(local.map_err(invalid)?.0);
                }
                if count > limits::MAX_LOCALS {
                    return Err(WasmError::TooManyLocals {
                        index,
                        count,
                        limit: limits::MAX_LOCALS,
                    });
                }
            }
            _ => {}
        }
    }
    let (Some(initial_pages), true) = (initial_pages, exports.0) else {
        return Err(WasmError::MissingExport {
            name: "memory",
            expected: "the module's linear memory",
        });
    };
    let call_ok = exports
        .1
        .and_then(|f| functions.get(f as usize))
        .and_then(|t| types.get(*t as usize))
        .and_then(Option::as_ref)
        .is_some_and(|f| f.params().is_empty() && f.results() == [ValType::I64]);
    if !call_ok {
        return Err(WasmError::MissingExport {
            name: "call",
            expected: "a function () -> i64",
        });
    }
    Ok((ModuleFacts { initial_pages }, weights))
}

/// Why an invalid module is refused: the disabled proposal that would make
/// it valid, else the validator's error.
fn refusal(code: &[u8], source: BinaryReaderError) -> WasmError {
    for (extra, feature) in config::PROBED {
        if Validator::new_with_features(config::features() | *extra)
            .validate_all(code)
            .is_ok()
        {
            return WasmError::DisabledFeature { feature };
        }
    }
    WasmError::InvalidWasm { source }
}
