//! Braid's PVM interpreter against polkavm 0.30's interpreter, side by side
//! in one process, on the same four compute guests.
//!
//! Guests: Braid's own C programs in `engines/pvm/contracts/build`
//! (`sieve`, `keccak`, `blake2b`, `sha256`; sources in `../src`), JAM
//! standard programs, loaded byte-for-byte by both:
//!
//! - `braid`: `braid_pvm::Module::from_standard` once (interpreter
//!   backend); each iteration is `Instance::standard` (memory set up from
//!   the program: the argument region mapped to the input's pages) and `run`
//!   to the halt, with gas metering.
//! - `polkavm`: `ProgramParts` (ISA `JamV1` = GP 0.7.2) from the same
//!   program, `Module::from_blob` once with the interpreter backend,
//!   synchronous gas metering (the same block-charging model) and an
//!   auxiliary (argument) region of exactly the input's pages, as Braid maps
//!   it (not polkavm's 16 MiB maximum, which it would zero on every
//!   instantiation); each iteration is `instantiate`, argument and
//!   registers set as GP A.7 does, and `run` to the halt. Only interpreters
//!   are compared here.
//!
//! Before timing, both run each guest once and the bench asserts the same
//! output, the same gas left and the expected answer.
//!
//! After criterion's report the bench prints, from 21 interleaved runs of
//! each (so a neighbour's load on the shared machine hits both alike), the
//! median and the minimum time per run and the ratio braid / polkavm of
//! each.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use braid_pvm::{
    Config as PvmConfig, ExitReason, GuestAccess, Instance, Module, PvmSpec, Reg, StandardProgram,
};
use criterion::{Criterion, criterion_group};
use polkavm::program::InstructionSetKind;
use polkavm::{
    BackendKind, Config, Engine, GasMeteringKind, InterruptKind, ModuleConfig, ProgramCounter,
    ProgramParts, RawInstance,
};

const GAS: i64 = 10_000_000_000;
const PAGE: u32 = 4096;

/// (guest, input) pairs: the sieve counts primes below 200,000; the hashes
/// digest 16 KiB.
fn guests() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("sieve", 200_000u32.to_le_bytes().to_vec()),
        ("keccak", 16_384u32.to_le_bytes().to_vec()),
        ("blake2b", 16_384u32.to_le_bytes().to_vec()),
        ("sha256", 16_384u32.to_le_bytes().to_vec()),
    ]
}

fn program(name: &str) -> StandardProgram {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../engines/pvm/contracts/build")
        .join(format!("{name}.pvm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    StandardProgram::parse(&bytes).unwrap()
}

struct Braid {
    module: Module,
}

impl Braid {
    fn run(&self, input: &[u8]) -> (Vec<u8>, i64) {
        let mut instance = Instance::standard(&self.module, input, GAS).unwrap();
        assert_eq!(instance.run(), ExitReason::Halt);
        let (ptr, len) = (
            instance.reg(Reg::new(7).unwrap()),
            instance.reg(Reg::new(8).unwrap()),
        );
        let out = instance.read_vec(ptr as u32, len as u32).unwrap();
        (out, instance.gas())
    }
}

struct Polkavm {
    module: polkavm::Module,
}

impl Polkavm {
    /// A module whose auxiliary region holds `input_len` bytes, rounded up to
    /// whole pages: what Braid maps for the same input.
    fn new(engine: &Engine, program: &StandardProgram, input_len: usize) -> Polkavm {
        let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
        parts.ro_data_size = program.ro_data.len() as u32;
        parts.rw_data_size = (program.rw_data.len() as u32).div_ceil(PAGE) * PAGE
            + u32::from(program.heap_pages) * PAGE;
        parts.stack_size = program.stack_size;
        parts.ro_data = program.ro_data.clone().into();
        parts.rw_data = program.rw_data.clone().into();
        parts.code_and_jump_table = program.blob.encode().into();
        let blob = polkavm::ProgramBlob::from_parts(parts).unwrap();
        let mut config = ModuleConfig::new();
        config.set_gas_metering(Some(GasMeteringKind::Sync));
        config.set_aux_data_size((input_len as u32).div_ceil(PAGE) * PAGE);
        Polkavm {
            module: polkavm::Module::from_blob(engine, &config, blob).unwrap(),
        }
    }

    fn run(&self, input: &[u8]) -> (Vec<u8>, i64) {
        let map = self.module.memory_map();
        let mut vm: RawInstance = self.module.instantiate().unwrap();
        vm.set_accessible_aux_size(input.len() as u32).unwrap();
        vm.write_memory(map.aux_data_address(), input).unwrap();
        vm.set_reg(polkavm::Reg::RA, 0xFFFF_0000);
        vm.set_reg(polkavm::Reg::SP, u64::from(map.stack_address_high()));
        vm.set_reg(polkavm::Reg::A0, u64::from(map.aux_data_address()));
        vm.set_reg(polkavm::Reg::A1, input.len() as u64);
        vm.set_gas(GAS);
        vm.set_next_program_counter(ProgramCounter(0));
        match vm.run().unwrap() {
            InterruptKind::Finished => {}
            other => panic!("polkavm stopped with {other:?}"),
        }
        let ptr = vm.reg(polkavm::Reg::A0) as u32;
        let len = vm.reg(polkavm::Reg::A1) as u32;
        let out = vm.read_memory(ptr, len).unwrap();
        (out, vm.gas())
    }
}

fn expected(name: &str, output: &[u8]) {
    match name {
        "sieve" => assert_eq!(output, 17_984u64.to_le_bytes(), "primes below 200,000"),
        _ => assert_eq!(output.len(), 32, "{name} digest"),
    }
}

fn bench(c: &mut Criterion) {
    let mut config = Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    let engine = Engine::new(&config).unwrap();
    let mut summary = Vec::new();
    for (name, input) in guests() {
        let program = program(name);
        let braid = Braid {
            module: Module::from_standard(&PvmConfig::new(PvmSpec::Gp0_7_2), &program).unwrap(),
        };
        let polkavm = Polkavm::new(&engine, &program, input.len());
        let (out_b, gas_b) = braid.run(&input);
        let (out_p, gas_p) = polkavm.run(&input);
        assert_eq!(out_b, out_p, "{name}: outputs differ");
        assert_eq!(gas_b, gas_p, "{name}: gas left differs");
        expected(name, &out_b);
        let gas_used = GAS - gas_b;

        let mut group = c.benchmark_group(format!("pvm/{name}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(4));
        group.bench_function("braid", |b| {
            b.iter(|| black_box(braid.run(black_box(&input))))
        });
        group.bench_function("polkavm", |b| {
            b.iter(|| black_box(polkavm.run(black_box(&input))))
        });
        group.finish();

        // Interleaved batches: the same load hits both.
        let (mut tb, mut tp) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let t = Instant::now();
            black_box(braid.run(&input));
            tb.push(t.elapsed());
            let t = Instant::now();
            black_box(polkavm.run(&input));
            tp.push(t.elapsed());
        }
        tb.sort();
        tp.sort();
        summary.push((name, gas_used, tb, tp));
    }
    println!(
        "\nPVM interpreters, {RUNS} interleaved runs each (one run = instantiate + run to halt); \
         median, and min (the least disturbed run on a shared machine)"
    );
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8} {:>8}",
        "guest", "gas", "braid ms", "pvm ms", "ratio", "braid min", "pvm min", "ratio", "ns/gas"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (name, gas, b, p) in summary {
        let (bm, pm) = (b[b.len() / 2], p[p.len() / 2]);
        println!(
            "{:<8} {:>10} {:>10.3} {:>10.3} {:>8.2} {:>10.3} {:>10.3} {:>8.2} {:>8.2}",
            name,
            gas,
            ms(bm),
            ms(pm),
            ms(bm) / ms(pm),
            ms(b[0]),
            ms(p[0]),
            ms(b[0]) / ms(p[0]),
            b[0].as_nanos() as f64 / gas as f64
        );
    }
}

/// Interleaved runs per guest for the summary.
const RUNS: usize = 21;

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
