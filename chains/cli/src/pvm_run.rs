//! `braid pvm-run`: one PVM program, once, on a chosen backend (the PVM's
//! `revme evm`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use braid_pvm::program::Program;
use braid_pvm::{
    Backend, Config, ExitReason, GuestAccess, Instance, Module, ProgramBlob, PvmSpec, Reg,
    StandardProgram,
};

use crate::{AnyResult, hex0x};

/// A program file, in whichever format it parses as.
enum Loaded {
    Standard(StandardProgram, &'static str),
    Raw(ProgramBlob),
}

fn load(bytes: &[u8]) -> AnyResult<Loaded> {
    if let Ok(program) = StandardProgram::parse(bytes) {
        return Ok(Loaded::Standard(program, "JAM standard program"));
    }
    if let Ok(program) = StandardProgram::parse_service_code(bytes) {
        return Ok(Loaded::Standard(program, "JAM service code"));
    }
    match ProgramBlob::parse(bytes) {
        Ok(blob) => Ok(Loaded::Raw(blob)),
        Err(raw) => {
            let standard = StandardProgram::parse(bytes).err();
            Err(format!(
                "not a PVM program: as a standard program, {}; as a raw blob, {raw}",
                standard.map_or_else(String::new, |e| e.to_string())
            )
            .into())
        }
    }
}

pub(crate) fn run(
    path: &Path,
    input: &[u8],
    gas: i64,
    backend: Backend,
    entry: u32,
) -> AnyResult<ExitCode> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let loaded = load(&bytes)?;
    let config = Config::new(PvmSpec::Gp0_7_2).with_backend(backend);
    let started = Instant::now();
    let (module, format) = match &loaded {
        Loaded::Standard(program, format) => (Module::from_standard(&config, program)?, *format),
        Loaded::Raw(blob) => {
            if !input.is_empty() {
                return Err("--input needs a standard program: a raw blob maps no memory".into());
            }
            (
                Module::new(&config, Arc::new(Program::from_blob(blob, config.spec)))?,
                "raw program blob",
            )
        }
    };
    let compile = started.elapsed();
    let mut instance = match loaded {
        Loaded::Standard(..) => Instance::standard(&module, input, gas)?,
        Loaded::Raw(_) => {
            let mut instance = Instance::try_new(&module)?;
            instance.set_gas(gas);
            instance
        }
    };
    instance.set_pc(entry);
    let started = Instant::now();
    let exit = instance.try_run()?;
    let run = started.elapsed();

    println!(
        "program   {} ({format}, {} instructions, {} bytes of code)",
        path.display(),
        module.instruction_count(),
        module.program().code_len()
    );
    match module.native_code_size() {
        Some(size) => println!(
            "backend   {} ({size} bytes of native code)",
            module.backend()
        ),
        None if module.backend() != backend => println!(
            "backend   {} (past the compiler's bound, run on the interpreter)",
            module.backend()
        ),
        None => println!("backend   {}", module.backend()),
    }
    let what = match exit {
        ExitReason::Halt => "halt".to_string(),
        ExitReason::Panic => "panic".to_string(),
        ExitReason::OutOfGas => "out of gas".to_string(),
        ExitReason::PageFault(address) => format!("page fault at {address:#x}"),
        ExitReason::HostCall(id) => format!("host call {id} (not answered: the run ends here)"),
    };
    println!("exit      {what} at pc {}", instance.pc());
    println!(
        "gas       used {} of {gas}, {} left",
        gas.saturating_sub(instance.gas()),
        instance.gas()
    );
    if exit == ExitReason::Halt {
        let reg = |i| instance.reg(Reg::new(i).expect("a register"));
        let output = match (u32::try_from(reg(7)), u32::try_from(reg(8))) {
            (Ok(address), Ok(len)) => instance.read_vec(address, len).ok(),
            _ => None,
        };
        match output {
            Some(bytes) => println!("output    {} ({} bytes)", hex0x(&bytes), bytes.len()),
            None => println!("output    none ([r7, r7 + r8) is not readable)"),
        }
    }
    let regs = instance.regs();
    let shown: Vec<String> = regs
        .iter()
        .enumerate()
        .map(|(i, v)| format!("r{i}={v:#x}"))
        .collect();
    println!("registers {}", shown.join(" "));
    println!("compile   {:.3} ms", compile.as_secs_f64() * 1e3);
    println!("run       {:.3} ms", run.as_secs_f64() * 1e3);
    Ok(ExitCode::SUCCESS)
}
