//! Runs one of Braid's compute guests three times on the interpreter, for an
//! instruction counter: `benches/RESULTS.md` compares the interpreter's
//! instruction counts across commits with it.
//!
//! ```sh
//! cargo build --release --workspace --example interp_count
//! valgrind --tool=callgrind --toggle-collect='*run_guest*' \
//!     target/release/examples/interp_count sieve 200000
//! ```
//!
//! Arguments: the guest's name in `engines/pvm/contracts/build` (`sieve`,
//! `keccak`, `blake2b`, `sha256`) and its input as a u32 (the sieve's bound,
//! the hashes' byte count). Run from the repository root; prints the gas left
//! summed over the three runs.

use braid_pvm::{Config, ExitReason, GuestAccess, Instance, Module, PvmSpec, StandardProgram};

/// One call: instantiate and run to the halt (the counted region).
#[inline(never)]
fn run_guest(module: &Module, input: &[u8]) -> i64 {
    let mut instance = Instance::standard(module, input, 10_000_000_000).expect("instance");
    assert_eq!(instance.run(), ExitReason::Halt);
    instance.gas()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: interp_count <guest> <u32 input>");
        std::process::exit(2);
    };
    let n: u32 = n.parse().expect("the input is a u32");
    let path = format!("engines/pvm/contracts/build/{name}.pvm");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let program = StandardProgram::parse(&bytes).expect("a standard program");
    let module = Module::from_standard(&Config::new(PvmSpec::Gp0_7_2), &program).expect("module");
    let gas: i64 = (0..3).map(|_| run_guest(&module, &n.to_le_bytes())).sum();
    println!("{gas}");
}
