//! Throwaway: interpreter instruction counts for callgrind.
use braid_pvm::{Config, ExitReason, Instance, Module, PvmSpec, StandardProgram};
#[inline(never)]
fn run_guest(module: &Module, input: &[u8]) -> i64 {
    let mut i = Instance::standard(module, input, 10_000_000_000).unwrap();
    assert_eq!(i.run(), ExitReason::Halt);
    braid_pvm::GuestAccess::gas(&i)
}
fn main() {
    let name = std::env::args().nth(1).unwrap();
    let n: u32 = std::env::args().nth(2).unwrap().parse().unwrap();
    let bytes = std::fs::read(format!("engines/pvm/contracts/build/{name}.pvm")).unwrap();
    let program = StandardProgram::parse(&bytes).unwrap();
    let module = Module::from_standard(&Config::new(PvmSpec::Gp0_7_2), &program).unwrap();
    let mut g = 0;
    for _ in 0..3 { g += run_guest(&module, &n.to_le_bytes()); }
    println!("{g}");
}
