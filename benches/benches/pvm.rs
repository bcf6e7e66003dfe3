//! Braid's PVM against polkavm 0.30, side by side in one process: the two
//! interpreters, and the two x86-64 compilers.
//!
//! Guests: Braid's own C programs in `engines/pvm/contracts/build`
//! (`sieve`, `keccak`, `blake2b`, `sha256`; sources in `../src`), JAM
//! standard programs, loaded byte-for-byte by both; for compile time also
//! the three JAM service blobs in `../shared/programs/pvm` (they stop at a
//! host call within a few hundred instructions, so they have no run rows).
//!
//! - `braid`: `braid_pvm::Module::from_standard` (the interpreter, or the
//!   recompiler with `Backend::Compiler`); one call is `Instance::standard`
//!   (memory from the program, the argument region mapped to the input's
//!   pages) and `run` to the halt, gas metered.
//! - `polkavm`: `ProgramParts` (ISA `JamV1` = GP 0.7.2) from the same
//!   program, `Module::from_blob` with `BackendKind::Interpreter` or
//!   `BackendKind::Compiler`, `GasMeteringKind::Sync` (the same
//!   block-charging model) and an auxiliary (argument) region of exactly the
//!   input's pages, as Braid maps it (not polkavm's 16 MiB maximum, which it
//!   would zero on every instantiation); one call is `instantiate`, argument
//!   and registers set as GP A.7 does, and `run` to the halt. polkavm's
//!   compiler runs here on its generic sandbox (crate feature
//!   `generic-sandbox`, `Config::set_allow_experimental(true)`,
//!   `set_sandbox(Some(SandboxKind::Generic))`): its Linux sandbox needs
//!   userfaultfd, which this container refuses. Everything else is polkavm's
//!   default configuration (no module cache, 2 workers).
//!
//! Groups:
//! - `pvm/<guest>` and `pvm-compiler/<guest>`: one call (instantiate + run
//!   to the halt) of the long-running guests, interpreters and compilers.
//! - `pvm-short/<guest>`: one short call (sieve below 1,000, a 64-byte
//!   hash), the chain's typical call, on the compilers.
//! - `pvm-compile/<program>`: program to runnable module on each compiler
//!   (decode, analysis, code generation, the native code mapped).
//!
//! Before timing, all four run each guest once and the bench asserts the
//! same output, the same gas left and the expected answer.
//!
//! After criterion's report the bench prints, from interleaved runs (so a
//! neighbour's load on the shared machine hits both contenders alike), the
//! median and the minimum of each, split into instantiate and run, and the
//! ratio braid / polkavm. "b touched" is Braid's `run` after every page of
//! the module's memory was touched, as polkavm's instantiation touches it
//! (Braid maps pages lazily, so plain `run` includes their first-touch
//! faults): the like-for-like `run` split.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use braid_pvm::{
    Backend, Config as PvmConfig, ExitReason, GuestAccess, Instance, Module, PvmSpec, Reg,
    StandardProgram, blob::MemoryLayout,
};
use criterion::{Criterion, criterion_group};
use polkavm::program::InstructionSetKind;
use polkavm::{
    BackendKind, Config, Engine, GasMeteringKind, InterruptKind, ModuleConfig, ProgramCounter,
    ProgramParts, RawInstance, SandboxKind,
};

const GAS: i64 = 10_000_000_000;
const PAGE: u32 = 4096;

/// Interleaved runs per guest and contender pair for the summary.
const RUNS: usize = 21;

/// (guest, long input, short input): the sieve counts primes below 200,000
/// (short: 1,000); the hashes digest 16 KiB (short: 64 bytes).
fn guests() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let le = |n: u32| n.to_le_bytes().to_vec();
    vec![
        ("sieve", le(200_000), le(1_000)),
        ("keccak", le(16_384), le(64)),
        ("blake2b", le(16_384), le(64)),
        ("sha256", le(16_384), le(64)),
    ]
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn guest_program(name: &str) -> StandardProgram {
    let path = repo()
        .join("engines/pvm/contracts/build")
        .join(format!("{name}.pvm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    StandardProgram::parse(&bytes).unwrap()
}

/// The three JAM service blobs, as standard programs.
fn service_programs() -> Vec<(String, StandardProgram)> {
    let dir = repo().join("../shared/programs/pvm");
    assert!(
        dir.is_dir(),
        "the PVM service blobs are missing: expected {} (the `shared` folder beside the repository)",
        dir.display()
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jam"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        3,
        "expected three service blobs in {}",
        dir.display()
    );
    files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, StandardProgram::parse_service_code(&bytes).unwrap())
        })
        .collect()
}

/// One call's result and how its time split.
struct Call {
    output: Vec<u8>,
    gas_left: i64,
    instantiate: Duration,
    run: Duration,
}

struct Braid {
    module: Module,
    layout: MemoryLayout,
}

impl Braid {
    fn config(backend: Backend) -> PvmConfig {
        PvmConfig::new(PvmSpec::Gp0_7_2).with_backend(backend)
    }

    fn new(backend: Backend, program: &StandardProgram) -> Braid {
        let module = Module::from_standard(&Braid::config(backend), program).unwrap();
        assert_eq!(module.backend(), backend, "lowered for {backend:?}");
        let layout = program.layout().unwrap();
        Braid { module, layout }
    }

    fn call(&self, input: &[u8]) -> Call {
        self.call_touched(input, false)
    }

    /// One call; with `touch`, every page of the program's memory (read-only
    /// data, read-write data and heap, stack, argument region) is read, and
    /// the writable ones written back unchanged, before `run` starts: the
    /// first-touch page faults that Braid's lazily mapped memory takes inside
    /// `run` are taken in the instantiate phase instead, as polkavm's
    /// instantiation takes them. Only the `run` split changes meaning.
    fn call_touched(&self, input: &[u8], touch: bool) -> Call {
        let started = Instant::now();
        let mut instance = Instance::standard(&self.module, input, GAS).unwrap();
        if touch {
            let l = &self.layout;
            let input_len = (input.len() as u32).div_ceil(PAGE) * PAGE;
            for (start, len, writable) in [
                (l.ro_start, l.ro_len, false),
                (l.rw_start, l.rw_len, true),
                (l.stack_start, l.stack_len, true),
                (l.input_start, input_len, false),
            ] {
                let mut page = [0u8; PAGE as usize];
                for address in (start..start + len).step_by(PAGE as usize) {
                    instance.read(address, &mut page).unwrap();
                    if writable {
                        instance.write(address, &page).unwrap();
                    }
                }
            }
        }
        let ran = Instant::now();
        assert_eq!(instance.run(), ExitReason::Halt);
        let done = Instant::now();
        let (ptr, len) = (
            instance.reg(Reg::new(7).unwrap()),
            instance.reg(Reg::new(8).unwrap()),
        );
        Call {
            output: instance.read_vec(ptr as u32, len as u32).unwrap(),
            gas_left: instance.gas(),
            instantiate: ran - started,
            run: done - ran,
        }
    }
}

/// polkavm's engine for `backend`, configured as its users would here.
fn polkavm_engine(backend: BackendKind) -> Engine {
    let mut config = Config::new();
    config.set_backend(Some(backend));
    if backend == BackendKind::Compiler {
        config.set_allow_experimental(true);
        config.set_sandbox(Some(SandboxKind::Generic));
    }
    Engine::new(&config).unwrap()
}

/// The same program as polkavm's blob parts.
fn polkavm_parts(program: &StandardProgram) -> ProgramParts {
    let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
    parts.ro_data_size = program.ro_data.len() as u32;
    parts.rw_data_size =
        (program.rw_data.len() as u32).div_ceil(PAGE) * PAGE + u32::from(program.heap_pages) * PAGE;
    parts.stack_size = program.stack_size;
    parts.ro_data = program.ro_data.clone().into();
    parts.rw_data = program.rw_data.clone().into();
    parts.code_and_jump_table = program.blob.encode().into();
    parts
}

/// polkavm's module for `program` with an auxiliary region of `input_len`
/// bytes rounded up to whole pages: what Braid maps for the same input.
fn polkavm_module(engine: &Engine, program: &StandardProgram, input_len: usize) -> polkavm::Module {
    let blob = polkavm::ProgramBlob::from_parts(polkavm_parts(program)).unwrap();
    let mut config = ModuleConfig::new();
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_aux_data_size((input_len as u32).div_ceil(PAGE) * PAGE);
    polkavm::Module::from_blob(engine, &config, blob).unwrap()
}

struct Polkavm {
    module: polkavm::Module,
}

impl Polkavm {
    fn call(&self, input: &[u8]) -> Call {
        let started = Instant::now();
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
        let ran = Instant::now();
        match vm.run().unwrap() {
            InterruptKind::Finished => {}
            other => panic!("polkavm stopped with {other:?}"),
        }
        let done = Instant::now();
        let ptr = vm.reg(polkavm::Reg::A0) as u32;
        let len = vm.reg(polkavm::Reg::A1) as u32;
        Call {
            output: vm.read_memory(ptr, len).unwrap(),
            gas_left: vm.gas(),
            instantiate: ran - started,
            run: done - ran,
        }
    }
}

fn expected(name: &str, input: &[u8], output: &[u8]) {
    match (name, u32::from_le_bytes(input.try_into().unwrap())) {
        ("sieve", 200_000) => assert_eq!(output, 17_984u64.to_le_bytes(), "primes below 200,000"),
        ("sieve", 1_000) => assert_eq!(output, 168u64.to_le_bytes(), "primes below 1,000"),
        _ => assert_eq!(output.len(), 32, "{name} digest"),
    }
}

/// Sorted times of `RUNS` interleaved calls of each contender: (braid
/// total, run; polkavm total, run).
#[derive(Default)]
struct Interleaved {
    braid: Vec<Duration>,
    braid_run: Vec<Duration>,
    /// Braid's `run` with the module's memory touched first (see
    /// `Braid::call_touched`).
    braid_touched_run: Vec<Duration>,
    polkavm: Vec<Duration>,
    polkavm_run: Vec<Duration>,
}

fn interleave(braid: &Braid, polkavm: &Polkavm, input: &[u8]) -> Interleaved {
    let mut t = Interleaved::default();
    for _ in 0..RUNS {
        let b = black_box(braid.call(input));
        t.braid.push(b.instantiate + b.run);
        t.braid_run.push(b.run);
        let p = black_box(polkavm.call(input));
        t.polkavm.push(p.instantiate + p.run);
        t.polkavm_run.push(p.run);
        let touched = black_box(braid.call_touched(input, true));
        assert_eq!(
            touched.gas_left, b.gas_left,
            "touching pages changes nothing"
        );
        t.braid_touched_run.push(touched.run);
    }
    for v in [
        &mut t.braid,
        &mut t.braid_run,
        &mut t.braid_touched_run,
        &mut t.polkavm,
        &mut t.polkavm_run,
    ] {
        v.sort();
    }
    t
}

fn print_interleaved(title: &str, rows: &[(&str, i64, Interleaved)]) {
    println!("\n{title}: {RUNS} interleaved calls each (one call = instantiate + run to halt)");
    println!(
        "(\"b touched\": Braid's run with the module's memory touched before it, as polkavm's instantiate touches it)"
    );
    println!(
        "{:<8} {:>10} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6} | {:>9} {:>6} | {:>7}",
        "guest",
        "gas",
        "braid med",
        "pvm med",
        "ratio",
        "braid min",
        "pvm min",
        "ratio",
        "b run min",
        "p run min",
        "ratio",
        "b touched",
        "ratio",
        "ns/gas"
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for (name, gas, t) in rows {
        let med = |v: &Vec<Duration>| v[v.len() / 2];
        println!(
            "{:<8} {:>10} | {:>9.1} {:>9.1} {:>6.2} | {:>9.1} {:>9.1} {:>6.2} | {:>9.1} {:>9.1} {:>6.2} | {:>9.1} {:>6.2} | {:>7.3}",
            name,
            gas,
            us(med(&t.braid)),
            us(med(&t.polkavm)),
            us(med(&t.braid)) / us(med(&t.polkavm)),
            us(t.braid[0]),
            us(t.polkavm[0]),
            us(t.braid[0]) / us(t.polkavm[0]),
            us(t.braid_run[0]),
            us(t.polkavm_run[0]),
            us(t.braid_run[0]) / us(t.polkavm_run[0]),
            us(t.braid_touched_run[0]),
            us(t.braid_touched_run[0]) / us(t.polkavm_run[0]),
            t.braid[0].as_nanos() as f64 / *gas as f64
        );
    }
    println!("(times in µs)");
}

fn bench(c: &mut Criterion) {
    let engines = [
        (
            Backend::Interpreter,
            polkavm_engine(BackendKind::Interpreter),
        ),
        (Backend::Compiler, polkavm_engine(BackendKind::Compiler)),
    ];
    let (mut interpreted, mut compiled, mut short) = (Vec::new(), Vec::new(), Vec::new());
    for (name, input, short_input) in guests() {
        let program = guest_program(name);
        // One call of each contender on each input: same output, same gas.
        let mut pairs = Vec::new();
        for (backend, engine) in &engines {
            let braid = Braid::new(*backend, &program);
            let long = Polkavm {
                module: polkavm_module(engine, &program, input.len()),
            };
            let small = Polkavm {
                module: polkavm_module(engine, &program, short_input.len()),
            };
            pairs.push((*backend, braid, long, small));
        }
        let mut gas_used = [0; 2];
        for (i, data) in [&input, &short_input].into_iter().enumerate() {
            let reference = pairs[0].1.call(data);
            expected(name, data, &reference.output);
            for (backend, braid, long, small) in &pairs {
                let polkavm = if i == 0 { long } else { small };
                for (who, call) in [("braid", braid.call(data)), ("polkavm", polkavm.call(data))] {
                    assert_eq!(
                        call.output, reference.output,
                        "{name} {backend:?} {who}: output"
                    );
                    assert_eq!(
                        call.gas_left, reference.gas_left,
                        "{name} {backend:?} {who}: gas"
                    );
                }
            }
            gas_used[i] = GAS - reference.gas_left;
        }

        for (backend, braid, polkavm, small) in &pairs {
            let group_name = match backend {
                Backend::Compiler => format!("pvm-compiler/{name}"),
                _ => format!("pvm/{name}"),
            };
            let mut group = c.benchmark_group(group_name);
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(3));
            group.bench_function("braid", |b| {
                b.iter(|| black_box(braid.call(black_box(&input))))
            });
            group.bench_function("polkavm", |b| {
                b.iter(|| black_box(polkavm.call(black_box(&input))))
            });
            group.finish();
            let t = interleave(braid, polkavm, &input);
            match backend {
                Backend::Compiler => {
                    compiled.push((name, gas_used[0], t));
                    let mut group = c.benchmark_group(format!("pvm-short/{name}"));
                    group.sample_size(20);
                    group.measurement_time(Duration::from_secs(2));
                    group.bench_function("braid", |b| {
                        b.iter(|| black_box(braid.call(black_box(&short_input))))
                    });
                    group.bench_function("polkavm", |b| {
                        b.iter(|| black_box(small.call(black_box(&short_input))))
                    });
                    group.finish();
                    short.push((name, gas_used[1], interleave(braid, small, &short_input)));
                }
                _ => interpreted.push((name, gas_used[0], t)),
            }
        }
    }

    // Compile time: program to runnable module, on each compiler.
    let compiler = &engines[1].1;
    let mut programs: Vec<(String, StandardProgram)> = ["sieve", "keccak", "blake2b", "sha256"]
        .into_iter()
        .map(|n| (n.to_owned(), guest_program(n)))
        .collect();
    programs.extend(service_programs());
    let mut compile_rows = Vec::new();
    for (name, program) in &programs {
        let braid_compile = || {
            let module = Module::from_standard(&Braid::config(Backend::Compiler), program).unwrap();
            assert_eq!(module.backend(), Backend::Compiler);
            module
        };
        let polkavm_compile = || polkavm_module(compiler, program, PAGE as usize);
        let mut group = c.benchmark_group(format!("pvm-compile/{name}"));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(2));
        group.bench_function("braid", |b| b.iter(|| black_box(braid_compile())));
        group.bench_function("polkavm", |b| b.iter(|| black_box(polkavm_compile())));
        group.finish();
        let (mut tb, mut tp) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let t = Instant::now();
            black_box(braid_compile());
            tb.push(t.elapsed());
            let t = Instant::now();
            black_box(polkavm_compile());
            tp.push(t.elapsed());
        }
        tb.sort();
        tp.sort();
        let module = braid_compile();
        compile_rows.push((
            name.clone(),
            program.blob.code.len(),
            module.native_code_size().unwrap(),
            tb,
            tp,
        ));
    }

    print_interleaved("PVM interpreters, long calls", &interpreted);
    print_interleaved("PVM compilers, long calls", &compiled);
    print_interleaved("PVM compilers, short calls", &short);
    println!("\nPVM compile (program to runnable module): {RUNS} interleaved compiles each");
    println!(
        "{:<28} {:>8} {:>8} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6}",
        "program",
        "code B",
        "x86 B",
        "braid med",
        "pvm med",
        "ratio",
        "braid min",
        "pvm min",
        "ratio"
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for (name, code, native, tb, tp) in compile_rows {
        let (bm, pm) = (tb[tb.len() / 2], tp[tp.len() / 2]);
        println!(
            "{:<28} {:>8} {:>8} | {:>9.1} {:>9.1} {:>6.2} | {:>9.1} {:>9.1} {:>6.2}",
            name,
            code,
            native,
            us(bm),
            us(pm),
            us(bm) / us(pm),
            us(tb[0]),
            us(tp[0]),
            us(tb[0]) / us(tp[0])
        );
    }
    println!("(times in µs)");
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
