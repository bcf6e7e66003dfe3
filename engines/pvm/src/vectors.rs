//! Gray Paper PVM program vectors (the JSON format of w3f/jamtestvectors
//! `pvm/programs`): parsing, running on a backend, and a readable diff.
//!
//! Every backend runs the same vectors through [`run_vector`], which sets
//! up and reads back the guest only through [`crate::Instance`] and
//! [`GuestAccess`]: today the interpreter; the recompiler plugs in as
//! [`Backend::Compiler`].

use std::collections::BTreeSet;

use serde::Deserialize;

pub use crate::api::Backend;
use crate::api::{Config, ExitReason, GuestAccess, Instance, Module};
use crate::blob::{PAGE_SIZE, ProgramBlob};
use crate::isa::{PvmSpec, Reg};

/// A page the vector makes accessible.
#[derive(Clone, Debug, Deserialize)]
pub struct PageMapEntry {
    /// Page-aligned start address, bytes.
    pub address: u32,
    /// Length, bytes.
    pub length: u32,
    /// Whether the guest may write it.
    #[serde(rename = "is-writable")]
    pub is_writable: bool,
}

/// Bytes at an address.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct MemoryChunk {
    /// Start address, bytes.
    pub address: u32,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// One program vector.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Vector {
    /// Test id.
    pub name: String,
    /// Registers before execution.
    pub initial_regs: [u64; 13],
    /// Starting pc.
    pub initial_pc: u32,
    /// Accessible pages.
    pub initial_page_map: Vec<PageMapEntry>,
    /// Initial non-zero memory.
    pub initial_memory: Vec<MemoryChunk>,
    /// Gas before execution.
    pub initial_gas: i64,
    /// The raw program blob (`deblob` format).
    pub program: Vec<u8>,
    /// `halt`, `panic` or `page-fault`.
    pub expected_status: String,
    /// Registers after execution.
    pub expected_regs: [u64; 13],
    /// pc of the instruction that ended the run.
    pub expected_pc: u32,
    /// Non-zero memory after execution.
    pub expected_memory: Vec<MemoryChunk>,
    /// Gas left.
    pub expected_gas: i64,
    /// Page of a page fault.
    #[serde(default)]
    pub expected_page_fault_address: Option<u32>,
}

/// What a run produced, in the vectors' terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorOutcome {
    /// `halt`, `panic`, `page-fault`, `out-of-gas` or `host-call`.
    pub status: String,
    /// Registers.
    pub regs: [u64; 13],
    /// pc of the instruction that ended the run.
    pub pc: u32,
    /// Gas left.
    pub gas: i64,
    /// Non-zero bytes of every accessible page, as runs of bytes.
    pub memory: Vec<MemoryChunk>,
    /// Page of a page fault.
    pub page_fault_address: Option<u32>,
}

/// Why a vector could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    /// The JSON did not parse as a vector.
    #[error("not a PVM program vector: {0}")]
    Json(#[from] serde_json::Error),
    /// The program blob is malformed, or the backend is not available.
    #[error("the vector's program could not be loaded: {0}")]
    Program(#[from] crate::PvmError),
}

/// Parses a vector from its JSON text.
///
/// # Errors
/// [`VectorError::Json`].
pub fn parse_vector(json: &str) -> Result<Vector, VectorError> {
    Ok(serde_json::from_str(json)?)
}

/// Runs `vector` on `backend` until it halts, panics, faults, runs out of
/// gas or reaches a host call.
///
/// # Errors
/// [`VectorError::Program`] for a malformed blob, or a backend this build
/// cannot run ([`crate::PvmError::BackendUnavailable`]).
pub fn run_vector(vector: &Vector, backend: Backend) -> Result<VectorOutcome, VectorError> {
    let blob = ProgramBlob::parse(&vector.program)?;
    let config = Config::new(PvmSpec::Gp0_7_2).with_backend(backend);
    let module = Module::from_blob(&config, &blob)?;
    let mut instance = Instance::new(&module);
    for page in &vector.initial_page_map {
        instance.map(page.address, u64::from(page.length), page.is_writable);
    }
    for chunk in &vector.initial_memory {
        instance.init(chunk.address, &chunk.contents);
    }
    for (i, &value) in vector.initial_regs.iter().enumerate() {
        instance.set_reg(Reg::new(i as u8).expect("13 registers"), value);
    }
    instance.set_gas(vector.initial_gas);
    instance.set_pc(vector.initial_pc);
    let exit = instance.run();
    let (status, page_fault_address) = match exit {
        ExitReason::Halt => ("halt", None),
        ExitReason::Panic => ("panic", None),
        ExitReason::OutOfGas => ("out-of-gas", None),
        ExitReason::PageFault(address) => ("page-fault", Some(address)),
        ExitReason::HostCall(_) => ("host-call", None),
    };
    Ok(VectorOutcome {
        status: status.to_string(),
        regs: instance.regs(),
        pc: instance.pc(),
        gas: instance.gas(),
        memory: nonzero_runs(&instance, &vector.initial_page_map),
        page_fault_address,
    })
}

/// The non-zero bytes of every page the vector maps (a raw program cannot
/// map more: it has no heap for `sbrk` to grow), read through
/// [`GuestAccess`].
fn nonzero_runs(instance: &impl GuestAccess, page_map: &[PageMapEntry]) -> Vec<MemoryChunk> {
    let pages: BTreeSet<u32> = page_map
        .iter()
        .flat_map(|entry| {
            let first = u64::from(entry.address / PAGE_SIZE);
            let end =
                (u64::from(entry.address) + u64::from(entry.length)).div_ceil(PAGE_SIZE.into());
            (first..end).map(|page| (page * u64::from(PAGE_SIZE)) as u32)
        })
        .collect();
    let mut out: Vec<MemoryChunk> = Vec::new();
    let mut bytes = vec![0u8; PAGE_SIZE as usize];
    for page in pages {
        instance
            .read(page, &mut bytes)
            .expect("a page the vector maps is readable");
        for (i, &b) in bytes.iter().enumerate() {
            if b == 0 {
                continue;
            }
            let address = page + i as u32;
            match out.last_mut() {
                Some(run) if run.address + run.contents.len() as u32 == address => {
                    run.contents.push(b)
                }
                _ => out.push(MemoryChunk {
                    address,
                    contents: vec![b],
                }),
            }
        }
    }
    out
}

fn expected_runs(chunks: &[MemoryChunk]) -> Vec<MemoryChunk> {
    let mut bytes: Vec<(u32, u8)> = chunks
        .iter()
        .flat_map(|c| {
            c.contents
                .iter()
                .enumerate()
                .map(move |(i, &b)| (c.address + i as u32, b))
        })
        .filter(|&(_, b)| b != 0)
        .collect();
    bytes.sort_by_key(|&(a, _)| a);
    let mut out: Vec<MemoryChunk> = Vec::new();
    for (address, b) in bytes {
        match out.last_mut() {
            Some(run) if run.address + run.contents.len() as u32 == address => run.contents.push(b),
            _ => out.push(MemoryChunk {
                address,
                contents: vec![b],
            }),
        }
    }
    out
}

/// The differences between what `vector` expects and `outcome`, one line
/// each (`status: expected panic, got halt`); empty when they agree.
pub fn diff(vector: &Vector, outcome: &VectorOutcome) -> Vec<String> {
    let mut lines = Vec::new();
    if vector.expected_status != outcome.status {
        lines.push(format!(
            "status: expected {}, got {}",
            vector.expected_status, outcome.status
        ));
    }
    if vector.expected_pc != outcome.pc {
        lines.push(format!(
            "pc: expected {}, got {}",
            vector.expected_pc, outcome.pc
        ));
    }
    for (i, (e, g)) in vector.expected_regs.iter().zip(&outcome.regs).enumerate() {
        if e != g {
            lines.push(format!("r{i}: expected {e:#x}, got {g:#x}"));
        }
    }
    if vector.expected_gas != outcome.gas {
        lines.push(format!(
            "gas: expected {}, got {}",
            vector.expected_gas, outcome.gas
        ));
    }
    if vector.expected_page_fault_address.is_some()
        && vector.expected_page_fault_address != outcome.page_fault_address
    {
        lines.push(format!(
            "page fault address: expected {:#x?}, got {:#x?}",
            vector.expected_page_fault_address, outcome.page_fault_address
        ));
    }
    let expected = expected_runs(&vector.expected_memory);
    if expected != outcome.memory {
        let show = |runs: &[MemoryChunk]| {
            runs.iter()
                .map(|r| format!("{:#x}: {:02x?}", r.address, r.contents))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!(
            "memory: expected [{}], got [{}]",
            show(&expected),
            show(&outcome.memory)
        ));
    }
    lines
}
