//! The PVM differential fuzzer of `tests/differential/` on any number of
//! cases: Braid (on a backend) against polkavm 0.30's interpreter, or
//! against Braid's interpreter. Prints progress, then the exits by kind,
//! the gas-used percentiles, polkavm panics and every disagreement
//! (minimised, as a program vector). Exits 1 on a disagreement or more
//! panics than `--panic-budget`.
//!
//! ```sh
//! cargo run --release -p braid-pvm --example differential -- \
//!     --programs 10000000 [--seed 0x1234] [--threads 2] \
//!     [--backend interpreter|compiler] [--oracle polkavm|interpreter] [--panic-budget 0]
//! ```

#[path = "../tests/differential/mod.rs"]
mod differential;

use std::process::ExitCode;
use std::time::Instant;

use braid_pvm::Backend;
use differential::{BraidVm, Campaign, PolkavmVm, Report, Vm, run_campaign};

struct Args {
    programs: u64,
    seed: u64,
    threads: usize,
    backend: Backend,
    oracle: String,
    panic_budget: usize,
}

fn backend(name: &str) -> Result<Backend, String> {
    match name {
        "interpreter" => Ok(Backend::Interpreter),
        "compiler" => Ok(Backend::Compiler),
        other => Err(format!(
            "--backend {other}: expected interpreter or compiler"
        )),
    }
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        programs: 100_000,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_nanos() as u64,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        backend: Backend::Interpreter,
        oracle: "polkavm".into(),
        panic_budget: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<u64, String> {
            match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.replace('_', "").parse(),
            }
            .map_err(|e| format!("{flag} {v}: {e}"))
        };
        match flag.as_str() {
            "--programs" => args.programs = number(&value)?,
            "--seed" => args.seed = number(&value)?,
            "--threads" => args.threads = number(&value)? as usize,
            "--backend" => args.backend = backend(&value)?,
            "--oracle" if value == "polkavm" || value == "interpreter" => args.oracle = value,
            "--panic-budget" => args.panic_budget = number(&value)? as usize,
            other => return Err(format!("unknown argument {other} {value}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let make = || -> (Box<dyn Vm>, Box<dyn Vm>) {
        let subject: Box<dyn Vm> = match args.oracle.as_str() {
            "polkavm" => Box::new(PolkavmVm::new()),
            _ => Box::new(BraidVm {
                backend: Backend::Interpreter,
            }),
        };
        (
            Box::new(BraidVm {
                backend: args.backend,
            }),
            subject,
        )
    };
    println!(
        "seed {:#x}, {} programs, {} threads",
        args.seed, args.programs, args.threads
    );
    let started = Instant::now();
    let mut total = Report::default();
    const CHUNK: u64 = 200_000;
    let mut first = 0;
    while first < args.programs {
        let cases = CHUNK.min(args.programs - first);
        let campaign = Campaign {
            seed: args.seed,
            first,
            cases,
            threads: args.threads,
            max_disagreements: 10,
            panic_budget: args.panic_budget,
        };
        total.merge(run_campaign(campaign, make));
        first += cases;
        println!(
            "{first} programs, {:.0} s, {} disagreements, {} panics",
            started.elapsed().as_secs_f64(),
            total.disagreements.len(),
            total.subject_panics.len()
        );
        if !total.disagreements.is_empty() {
            break;
        }
    }
    total.finish();
    println!("{total}");
    if total.disagreements.is_empty() && total.within_panic_budget() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
