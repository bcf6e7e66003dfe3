//! `braid-bench`: Braid's benchmarks as a command. `braid bench ARGS` runs
//! this binary (found next to `braid`) with `ARGS`, so the `braid` binary does
//! not link the bench library.
//!
//! `braid-bench cross-engine [--chart FILE] [--reads N] [--repetitions N]`:
//! the cross-engine read benchmark (`braid_benches::cross_engine`), the PVM
//! contracts on the interpreter, then the rows with the PVM as reader or
//! owner again on the x86-64 recompiler.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "braid bench", about = "Braid's benchmarks")]
struct Cli {
    #[command(subcommand)]
    which: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Every ordered pair of EVM, PVM and WASM: one 32-byte cross-engine read
    /// against the reader's native read, warm and cold (ns, median). Prints
    /// the table (Markdown) and writes it as an SVG bar chart.
    CrossEngine {
        /// Where to write the chart.
        #[arg(long, default_value = "cross-engine.svg")]
        chart: PathBuf,
        /// Reads per warm call.
        #[arg(long, default_value_t = 1000)]
        reads: u32,
        /// Repetitions per measurement (medians are reported).
        #[arg(long, default_value_t = 31)]
        repetitions: usize,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().which) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(which: BenchCommand) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match which {
        BenchCommand::CrossEngine {
            chart,
            reads,
            repetitions,
        } => {
            use braid_benches::cross_engine::{self, Params, World};
            let world = World::new(cross_engine::wasm_engine());
            world.check();
            let rows = world.run(Params {
                warm_reads: reads.max(1),
                repetitions: repetitions.max(1),
            });
            print!("{}", cross_engine::markdown(&rows));
            let floor = world.evm_precompile_floor(Params {
                warm_reads: reads.max(1),
                repetitions: repetitions.max(1),
            });
            println!(
                "\nEVM floor: the same STATICCALL to the identity precompile costs {floor:.0} ns per call (warm)"
            );
            let getter = world.evm_getter_read(Params {
                warm_reads: reads.max(1),
                repetitions: repetitions.max(1),
            });
            println!(
                "EVM reading another EVM contract (STATICCALL to a view getter that SLOADs) costs {getter:.0} ns per call (warm)"
            );
            if let Some(token) = world.token_workload(repetitions.max(1) * 20) {
                print!("\n{}", cross_engine::token_markdown(&token));
            }
            // The same PVM rows with the contracts on the x86-64 recompiler
            // (the chain's default backend where it runs).
            if braid_pvm::Backend::Compiler.is_available() {
                let compiled = World::with_pvm_backend(
                    cross_engine::wasm_engine(),
                    braid_pvm::Backend::Compiler,
                );
                compiled.check();
                let rows = compiled.run_pvm_pairs(Params {
                    warm_reads: reads.max(1),
                    repetitions: repetitions.max(1),
                });
                print!(
                    "\nThe PVM rows with the PVM contracts on the recompiler:\n{}",
                    cross_engine::markdown(&rows)
                );
            } else {
                println!("\n(the recompiler does not run on this machine: no compiler rows)");
            }
            cross_engine::chart(&rows, &chart).map_err(|e| e.to_string())?;
            println!("chart written to {}", chart.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
