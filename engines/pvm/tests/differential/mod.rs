//! The PVM differential fuzzer, shared by `tests/polkavm.rs` (CI's fixed
//! budget) and `examples/differential.rs` (any number of cases).
//!
//! A case is a raw program with registers, mapped pages, initial memory and
//! gas. Two [`Vm`]s run it, resuming host calls without touching anything,
//! and must agree at every exit on status, pc, registers, gas, page-fault
//! address and the contents of every mapped page. The reference is Braid's
//! interpreter; the subject is polkavm 0.30's interpreter today, Braid's
//! recompiler later ([`BraidVm`] on another [`Backend`]): both share the
//! generator and the shrinker.
//!
//! Two generators:
//! - **soup** ([`soup_case`]): random instructions of every format with
//!   odd encodings, jump tables with bad entries, pages at the edges of the
//!   address space and small gas: decoding and exit corner cases.
//! - **structured** ([`structured_case`]): programs that run: counted loops
//!   (backward branches), calls and returns through the jump table (direct
//!   `load_imm_jump` and indirect `load_imm_jump_ind`, returns by
//!   `jump_ind r0`, nested calls saving `r0` on a stack page), loads and
//!   stores over several adjacent mapped pages (fixed and data-dependent
//!   addresses), occasional host calls, and gas budgets up to 200,000.
//!
//! [`Report`] gives exits by kind and percentiles of the gas each case used
//! (1 gas per instruction, charged per basic block: for a halt or an
//! out-of-gas exit, exactly the instructions executed).

#![allow(
    dead_code,
    reason = "shared by tests/polkavm.rs and examples/differential.rs, each uses part"
)]

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use braid_pvm::isa::Format;
use braid_pvm::{
    Backend, Config, ExitReason, GuestAccess, Instance, Module, Opcode, ProgramBlob, PvmSpec, Reg,
};
use polkavm::program::InstructionSetKind;
use polkavm::{
    BackendKind, Engine, GasMeteringKind, InterruptKind, MemoryProtection, ModuleConfig,
    ProgramCounter, ProgramParts, RawInstance,
};

pub const PAGE: u32 = 4096;
pub const HALT: u64 = 0xFFFF_0000;
/// A case stops after this many exits (host calls are resumed until then).
pub const MAX_EXITS: usize = 16;
/// Gas a case must use, ending in a halt or out of gas, to count as deep.
pub const DEEP_GAS: u64 = 1_000;

/// How a run stopped, in the same terms for both VMs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Halt,
    Panic,
    OutOfGas,
    PageFault(u32),
    HostCall(u32),
}

/// Everything observable at one exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub pc: u32,
    pub regs: [u64; 13],
    pub gas: i64,
    /// The contents of each page the test mapped, in the test's order.
    pub memory: Vec<(u32, Vec<u8>)>,
}

pub fn polkavm_regs(instance: &RawInstance) -> [u64; 13] {
    let mut out = [0; 13];
    for (i, reg) in polkavm::Reg::ALL.iter().enumerate() {
        out[i] = instance.reg(*reg);
    }
    out
}

/// Runs polkavm (built with step tracing) to its next exit; `Step`s only
/// record the pc, so a halt reports the pc of the halting jump as Braid does.
pub fn polkavm_run(instance: &mut RawInstance) -> (Status, u32) {
    let mut last_step = None;
    loop {
        let interrupt = instance.run().expect("polkavm run");
        let pc = instance.program_counter().map(|pc| pc.0);
        let status = match interrupt {
            InterruptKind::Step => {
                last_step = pc;
                continue;
            }
            InterruptKind::Finished => {
                return (
                    Status::Halt,
                    last_step.expect("a halt follows at least one step"),
                );
            }
            InterruptKind::Trap => Status::Panic,
            InterruptKind::Ecalli(n) => Status::HostCall(n),
            InterruptKind::Segfault(fault) => Status::PageFault(fault.page_address),
            InterruptKind::NotEnoughGas => Status::OutOfGas,
        };
        return (status, pc.expect("polkavm reports the pc of the exit"));
    }
}

/// A VM under test: runs a case to its final exit, resuming host calls
/// without touching anything, at most [`MAX_EXITS`] exits (wasmtime's
/// fuzzing oracles, polkavm's crosscheck).
pub trait Vm {
    /// A short name for reports.
    fn name(&self) -> String;

    /// Every exit of `case`: host calls, then the final one.
    ///
    /// # Errors
    /// The VM could not load the case (a generator or harness bug).
    fn run(&self, case: &Case) -> Result<Vec<Outcome>, String>;

    /// `Some(name)` if `this` differs from the reference's `reference` only
    /// in a documented way where this VM deviates from GP 0.7.2.
    fn known_difference(
        &self,
        _case: &Case,
        _reference: &Outcome,
        _this: &Outcome,
    ) -> Option<&'static str> {
        None
    }
}

/// Braid on `backend`, set up and read back only through [`Instance`] and
/// [`GuestAccess`].
pub struct BraidVm {
    pub backend: Backend,
}

/// An [`ExitReason`] in the terms both VMs share.
pub fn braid_status(exit: ExitReason) -> Status {
    match exit {
        ExitReason::Halt => Status::Halt,
        ExitReason::Panic => Status::Panic,
        ExitReason::OutOfGas => Status::OutOfGas,
        ExitReason::PageFault(address) => Status::PageFault(address),
        ExitReason::HostCall(n) => Status::HostCall(n),
    }
}

impl Vm for BraidVm {
    fn name(&self) -> String {
        format!("braid-{}", self.backend)
    }

    fn run(&self, case: &Case) -> Result<Vec<Outcome>, String> {
        let blob = ProgramBlob::parse(&case.blob().encode()).map_err(|e| e.to_string())?;
        let config = Config::new(PvmSpec::Gp0_7_2).with_backend(self.backend);
        let module = Module::from_blob(&config, &blob).map_err(|e| e.to_string())?;
        let mut instance = Instance::new(&module);
        for &(page, writable) in &case.pages {
            instance.map(page, u64::from(PAGE), writable);
        }
        for (at, bytes) in case.init_chunks() {
            instance.init(*at, bytes);
        }
        for (i, &value) in case.regs.iter().enumerate() {
            instance.set_reg(Reg::new(i as u8).unwrap(), value);
        }
        instance.set_gas(case.gas);
        instance.set_pc(0);
        let mut out = Vec::new();
        loop {
            let status = braid_status(instance.run());
            out.push(Outcome {
                status,
                pc: instance.pc(),
                regs: instance.regs(),
                gas: instance.gas(),
                memory: case.memory_of(|p| instance.read_vec(p, PAGE).unwrap()),
            });
            if !matches!(status, Status::HostCall(_)) || out.len() >= MAX_EXITS {
                return Ok(out);
            }
        }
    }
}

/// polkavm 0.30's interpreter, the last polkavm whose `JamV1` instruction
/// set is the GP 0.7.2 opcode table; gas metered per block
/// (`GasMeteringKind::Sync`), dynamic paging so any page can be mapped.
pub struct PolkavmVm {
    engine: Engine,
}

impl PolkavmVm {
    pub fn new() -> PolkavmVm {
        PolkavmVm { engine: engine() }
    }
}

/// polkavm's interpreter engine, with dynamic paging allowed.
pub fn engine() -> Engine {
    let mut config = polkavm::Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    config.set_allow_dynamic_paging(true);
    Engine::new(&config).expect("polkavm interpreter engine")
}

impl Vm for PolkavmVm {
    fn name(&self) -> String {
        "polkavm-0.30-interpreter".into()
    }

    fn run(&self, case: &Case) -> Result<Vec<Outcome>, String> {
        let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
        parts.code_and_jump_table = case.blob().encode().into();
        let blob =
            polkavm::ProgramBlob::from_parts(parts).map_err(|e| format!("polkavm parse: {e}"))?;
        let mut config = ModuleConfig::new();
        config.set_gas_metering(Some(GasMeteringKind::Sync));
        config.set_dynamic_paging(true);
        config.set_step_tracing(true);
        let module = polkavm::Module::from_blob(&self.engine, &config, blob)
            .map_err(|e| format!("polkavm module: {e}"))?;
        let mut instance = module
            .instantiate()
            .map_err(|e| format!("polkavm instance: {e}"))?;
        for &(page, _) in &case.pages {
            instance
                .zero_memory_with_memory_protection(page, PAGE, MemoryProtection::ReadWrite)
                .unwrap();
        }
        for (at, bytes) in case.init_chunks() {
            instance.write_memory(*at, bytes).unwrap();
        }
        for &(page, writable) in &case.pages {
            if !writable {
                instance.protect_memory(page, PAGE).unwrap();
            }
        }
        for (i, reg) in polkavm::Reg::ALL.iter().enumerate() {
            instance.set_reg(*reg, case.regs[i]);
        }
        instance.set_gas(case.gas);
        instance.set_next_program_counter(ProgramCounter(0));
        let mut out = Vec::new();
        loop {
            let (status, pc) = polkavm_run(&mut instance);
            out.push(Outcome {
                status,
                pc,
                regs: polkavm_regs(&instance),
                gas: instance.gas(),
                memory: case.memory_of(|p| instance.read_memory(p, PAGE).unwrap()),
            });
            if !matches!(status, Status::HostCall(_)) || out.len() >= MAX_EXITS {
                return Ok(out);
            }
        }
    }

    fn known_difference(
        &self,
        case: &Case,
        braid: &Outcome,
        polkavm: &Outcome,
    ) -> Option<&'static str> {
        known_difference(case, braid, polkavm)
    }
}

/// What comparing one case gave.
pub enum Verdict {
    /// Same exits (up to the known differences hit, named); the reference's exits.
    Agree {
        known: Vec<&'static str>,
        exits: Vec<Outcome>,
    },
    /// A disagreement, described.
    Disagree(String),
    /// The subject panicked (counted against the panic budget).
    SubjectPanicked(String),
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".into())
}

/// Runs `case` on both and compares every exit.
pub fn compare(reference: &dyn Vm, subject: &dyn Vm, case: &Case) -> Verdict {
    let expected = match catch_unwind(AssertUnwindSafe(|| reference.run(case))) {
        Ok(Ok(exits)) => exits,
        Ok(Err(e)) => {
            return Verdict::Disagree(format!("{} could not run it: {e}", reference.name()));
        }
        Err(p) => {
            return Verdict::Disagree(format!(
                "the reference {} panicked: {}",
                reference.name(),
                panic_message(&*p)
            ));
        }
    };
    let got = match catch_unwind(AssertUnwindSafe(|| subject.run(case))) {
        Ok(Ok(exits)) => exits,
        Ok(Err(e)) => {
            return Verdict::Disagree(format!("{} could not run it: {e}", subject.name()));
        }
        Err(p) => return Verdict::SubjectPanicked(panic_message(&*p)),
    };
    let (r, s) = (reference.name(), subject.name());
    if expected.len() != got.len() {
        return Verdict::Disagree(format!(
            "different exits:\n  {r} {expected:?}\n  {s} {got:?}"
        ));
    }
    let mut known = Vec::new();
    for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
        if e == g {
            continue;
        }
        if let Some(k) = subject.known_difference(case, e, g) {
            known.push(k);
            continue;
        }
        let mut lines = vec![format!("exit #{i}:")];
        if e.status != g.status {
            lines.push(format!("  status: {r} {:?}, {s} {:?}", e.status, g.status));
        }
        if e.pc != g.pc {
            lines.push(format!("  pc: {r} {}, {s} {}", e.pc, g.pc));
        }
        if e.gas != g.gas {
            lines.push(format!("  gas: {r} {}, {s} {}", e.gas, g.gas));
        }
        for n in 0..13 {
            if e.regs[n] != g.regs[n] {
                lines.push(format!(
                    "  r{n}: {r} {:#x}, {s} {:#x}",
                    e.regs[n], g.regs[n]
                ));
            }
        }
        for ((page, em), (_, gm)) in e.memory.iter().zip(&g.memory) {
            if em != gm {
                lines.push(format!("  memory differs in page {page:#x}"));
            }
        }
        return Verdict::Disagree(lines.join("\n"));
    }
    Verdict::Agree {
        known,
        exits: expected,
    }
}

/// One way to shrink a failing case; `false` if it does not apply.
type Shrink = Box<dyn Fn(&mut Case) -> bool>;

/// Greedily drops instructions, jump-table entries, pages, memory and
/// register values while the case still disagrees.
pub fn minimise(reference: &dyn Vm, subject: &dyn Vm, case: &Case) -> Case {
    let fails = |c: &Case| matches!(compare(reference, subject, c), Verdict::Disagree(_));
    let mut best = case.clone();
    loop {
        let mut progress = false;
        let mut i = best.insts.len();
        while i > 0 && best.insts.len() > 1 {
            i -= 1;
            let mut c = best.clone();
            c.insts.remove(i);
            let remap = |t: usize| if t > i { t - 1 } else { t };
            for inst in &mut c.insts {
                if let Some(p) = &mut inst.patch {
                    p.target = remap(p.target % best.insts.len());
                }
            }
            for e in &mut c.jump_table {
                if let JumpEntry::Inst(t) = e {
                    *t = remap(*t);
                }
            }
            if fails(&c) {
                best = c;
                progress = true;
            }
        }
        let tries: Vec<Shrink> = vec![
            Box::new(|c: &mut Case| c.jump_table.pop().is_some()),
            Box::new(|c: &mut Case| c.bitmask_flips.pop().is_some()),
            Box::new(|c: &mut Case| c.init.pop().is_some()),
            Box::new(|c: &mut Case| c.pages.pop().is_some()),
            Box::new(|c: &mut Case| {
                c.pages.len() > 1 && {
                    c.pages.remove(0);
                    true
                }
            }),
            Box::new(|c: &mut Case| {
                c.init.len() > 1 && {
                    c.init.remove(0);
                    true
                }
            }),
        ];
        for t in &tries {
            let mut c = best.clone();
            if t(&mut c) && fails(&c) {
                best = c;
                progress = true;
            }
        }
        for r in 0..13 {
            for simpler in [0u64, 1] {
                if best.regs[r] != simpler && best.regs[r] > 1 {
                    let mut c = best.clone();
                    c.regs[r] = simpler;
                    if fails(&c) {
                        best = c;
                        progress = true;
                        break;
                    }
                }
            }
        }
        for gas in [10_000, 1_000, 100] {
            if best.gas > gas {
                let mut c = best.clone();
                c.gas = gas;
                if fails(&c) {
                    best = c;
                    progress = true;
                    break;
                }
            }
        }
        if !progress {
            return best;
        }
    }
}

// ---------------------------------------------------------------------------
// Campaigns.
// ---------------------------------------------------------------------------

/// A run of many cases.
#[derive(Clone, Copy, Debug)]
pub struct Campaign {
    /// Case `i` derives from `seed` and `i` alone ([`case_seed`]).
    pub seed: u64,
    /// The first case index.
    pub first: u64,
    pub cases: u64,
    /// Worker threads (the result does not depend on it).
    pub threads: usize,
    /// Stop shrinking and reporting after this many disagreements.
    pub max_disagreements: usize,
    /// Subject panics allowed before the campaign counts as failed.
    pub panic_budget: usize,
}

/// The seed of case `index` of a campaign.
pub fn case_seed(seed: u64, index: u64) -> u64 {
    Rng(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)).next()
}

/// A case from its seed: structured 70% of the time, soup otherwise.
pub fn case(seed: u64) -> Case {
    if Rng(seed).below(100) < 70 {
        structured_case(seed)
    } else {
        soup_case(seed)
    }
}

/// One disagreement, minimised.
pub struct Disagreement {
    pub case_seed: u64,
    pub why: String,
    pub minimised: String,
    /// The minimised case as a program vector expecting the reference's outcome.
    pub vector: String,
}

/// What a campaign saw.
#[derive(Default)]
pub struct Report {
    pub reference: String,
    pub subject: String,
    pub cases: u64,
    pub structured: u64,
    /// Final exits by kind (agreeing cases).
    pub exits: BTreeMap<&'static str, u64>,
    /// The same, for structured cases only.
    pub structured_exits: BTreeMap<&'static str, u64>,
    /// Gas used by each agreeing case (sorted by [`Report::finish`]).
    pub gas_used: Vec<u64>,
    /// Cases that halted or ran out of gas after more than [`DEEP_GAS`].
    pub deep: u64,
    /// Host calls resumed, over all cases.
    pub host_calls: u64,
    pub known: BTreeMap<&'static str, u64>,
    /// Subject panics: (case seed, message).
    pub subject_panics: Vec<(u64, String)>,
    /// The campaign's panic budget.
    pub panic_budget: usize,
    pub disagreements: Vec<Disagreement>,
}

fn exit_kind(status: Status) -> &'static str {
    match status {
        Status::Halt => "halt",
        Status::Panic => "panic",
        Status::OutOfGas => "out-of-gas",
        Status::PageFault(_) => "page-fault",
        Status::HostCall(_) => "host-call",
    }
}

impl Report {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Report) {
        if self.reference.is_empty() {
            self.reference = other.reference;
            self.subject = other.subject;
            self.panic_budget = other.panic_budget;
        }
        self.cases += other.cases;
        self.structured += other.structured;
        for (k, v) in other.exits {
            *self.exits.entry(k).or_default() += v;
        }
        for (k, v) in other.structured_exits {
            *self.structured_exits.entry(k).or_default() += v;
        }
        self.gas_used.extend(other.gas_used);
        self.deep += other.deep;
        self.host_calls += other.host_calls;
        for (k, v) in other.known {
            *self.known.entry(k).or_default() += v;
        }
        self.subject_panics.extend(other.subject_panics);
        self.disagreements.extend(other.disagreements);
    }

    /// Sorts what [`Report::percentile`] and the listing read.
    pub fn finish(&mut self) {
        self.gas_used.sort_unstable();
        self.subject_panics.sort();
        self.disagreements.sort_by_key(|d| d.case_seed);
    }

    /// The `p`-th percentile (0..=100) of the gas used per case.
    pub fn percentile(&self, p: u64) -> u64 {
        if self.gas_used.is_empty() {
            return 0;
        }
        let i = ((self.gas_used.len() - 1) as u64 * p / 100) as usize;
        self.gas_used[i]
    }

    /// Whether the subject panicked no more than the budget allows.
    pub fn within_panic_budget(&self) -> bool {
        self.subject_panics.len() <= self.panic_budget
    }

    /// The share of cases that are deep, 0..=1.
    pub fn deep_share(&self) -> f64 {
        self.deep as f64 / self.cases.max(1) as f64
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} vs {}: {} cases ({} structured, {} soup)",
            self.reference,
            self.subject,
            self.cases,
            self.structured,
            self.cases - self.structured
        )?;
        for (what, exits) in [
            ("final exits", &self.exits),
            ("of which structured", &self.structured_exits),
        ] {
            let total: u64 = exits.values().sum();
            write!(f, "  {what}:")?;
            for kind in ["halt", "panic", "out-of-gas", "page-fault", "host-call"] {
                let n = exits.get(kind).copied().unwrap_or(0);
                write!(
                    f,
                    " {kind} {n} ({:.1}%)",
                    100.0 * n as f64 / total.max(1) as f64
                )?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "  gas used per case (= instructions run, block-charged): p10 {} p50 {} p90 {} p99 {} max {}",
            self.percentile(10),
            self.percentile(50),
            self.percentile(90),
            self.percentile(99),
            self.percentile(100)
        )?;
        writeln!(
            f,
            "  deep (halt or out-of-gas after > {DEEP_GAS} gas): {} ({:.1}%); host calls resumed: {}",
            self.deep,
            100.0 * self.deep_share(),
            self.host_calls
        )?;
        writeln!(f, "  known GP-vs-subject differences: {:?}", self.known)?;
        writeln!(
            f,
            "  subject panics: {} (budget {})",
            self.subject_panics.len(),
            self.panic_budget
        )?;
        for (seed, message) in self.subject_panics.iter().take(5) {
            writeln!(f, "    case seed {seed:#x}: {message}")?;
        }
        write!(f, "  disagreements: {}", self.disagreements.len())?;
        for d in &self.disagreements {
            write!(
                f,
                "\n\ncase seed {:#x}:\n{}\n\nminimised:\n{}\nas a vector (expecting the reference's outcome):\n{}",
                d.case_seed, d.why, d.minimised, d.vector
            )?;
        }
        Ok(())
    }
}

/// Runs `campaign`, each worker thread on its own pair from `make`
/// (reference, subject). Case `i` is the same whatever the thread count.
pub fn run_campaign(
    campaign: Campaign,
    make: impl Fn() -> (Box<dyn Vm>, Box<dyn Vm>) + Sync,
) -> Report {
    let next = AtomicU64::new(0);
    let found = AtomicU64::new(0);
    let total = Mutex::new(Report::default());
    std::thread::scope(|scope| {
        for _ in 0..campaign.threads.max(1) {
            scope.spawn(|| {
                let (reference, subject) = make();
                let mut report = Report {
                    reference: reference.name(),
                    subject: subject.name(),
                    panic_budget: campaign.panic_budget,
                    ..Report::default()
                };
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= campaign.cases
                        || found.load(Ordering::Relaxed) >= campaign.max_disagreements as u64
                    {
                        break;
                    }
                    let seed = case_seed(campaign.seed, campaign.first + index);
                    let case = case(seed);
                    report.cases += 1;
                    report.structured += u64::from(case.structured);
                    match compare(&*reference, &*subject, &case) {
                        Verdict::Agree { known, exits } => {
                            for k in known {
                                *report.known.entry(k).or_default() += 1;
                            }
                            let last = exits.last().expect("at least one exit");
                            *report.exits.entry(exit_kind(last.status)).or_default() += 1;
                            if case.structured {
                                *report
                                    .structured_exits
                                    .entry(exit_kind(last.status))
                                    .or_default() += 1;
                            }
                            report.host_calls += exits
                                .iter()
                                .filter(|e| matches!(e.status, Status::HostCall(_)))
                                .count() as u64;
                            let used = (case.gas - last.gas).max(0) as u64;
                            report.gas_used.push(used);
                            if matches!(last.status, Status::Halt | Status::OutOfGas)
                                && used > DEEP_GAS
                            {
                                report.deep += 1;
                            }
                        }
                        Verdict::SubjectPanicked(message) => {
                            report.subject_panics.push((seed, message));
                        }
                        Verdict::Disagree(why) => {
                            found.fetch_add(1, Ordering::Relaxed);
                            let small = minimise(&*reference, &*subject, &case);
                            let detail = match compare(&*reference, &*subject, &small) {
                                Verdict::Disagree(d) => d,
                                _ => String::new(),
                            };
                            // A vector runs to the first exit only.
                            let vector = match reference.run(&small) {
                                Ok(exits) if exits.len() == 1 => {
                                    vector_json("minimised", &small, &exits[0])
                                }
                                Ok(exits) => format!(
                                    "(after {} host calls; a vector covers the first exit)\n{}",
                                    exits.len() - 1,
                                    vector_json("minimised", &small, &exits[0])
                                ),
                                Err(e) => e,
                            };
                            report.disagreements.push(Disagreement {
                                case_seed: seed,
                                why,
                                minimised: format!("{detail}\n{small:?}"),
                                vector,
                            });
                        }
                    }
                }
                total.lock().unwrap().merge(report);
            });
        }
    });
    let mut report = total.into_inner().unwrap();
    report.finish();
    report
}

// ---------------------------------------------------------------------------
// Soup cases.
// ---------------------------------------------------------------------------

/// SplitMix64: the whole case derives from one seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Pages a case may map. 0x10000 and 0x11000 are adjacent (accesses across
/// them), 0xFEFF0000 is the argument zone, 0xFFFFF000 the last page.
const PAGE_CHOICES: [u32; 6] = [
    0x10000,
    0x11000,
    0x20000,
    0xFEFF_0000,
    0xFFFF_E000,
    0xFFFF_F000,
];

/// Whether the last page (0xFFFFF000) may be mapped. An access that runs
/// past 2^32 wraps to address 0 in GP 0.7.2 (addresses are taken modulo
/// 2^32), so it panics (the lowest bad address is below 2^16); polkavm
/// panics too when the last page is mapped, but Braid reports a page fault
/// at 0xFFFFF000 (`vectors/access_wrapping_past_2_32_panics.json`, which
/// Braid passes). The page stays unmapped because polkavm 0.30 also traps
/// on any access that *ends* exactly at 2^32 on a mapped last page (its
/// `address + length` overflows u32), where GP and Braid complete the
/// access or fault on a read-only page.
const MAP_LAST_PAGE: bool = false;

/// Where to write a relative branch offset once the layout is known.
#[derive(Clone, Debug)]
struct Patch {
    /// Byte position inside the instruction.
    at: usize,
    /// Offset length, bytes.
    len: usize,
    /// Target instruction index (taken modulo the instruction count).
    target: usize,
}

#[derive(Clone, Debug)]
struct Inst {
    bytes: Vec<u8>,
    patch: Option<Patch>,
}

#[derive(Clone, Debug)]
enum JumpEntry {
    /// The pc of this instruction index.
    Inst(usize),
    /// A raw pc (possibly not an instruction start, or out of range).
    Raw(u32),
}

/// One random test case.
#[derive(Clone, Debug)]
pub struct Case {
    insts: Vec<Inst>,
    jump_table: Vec<JumpEntry>,
    /// Code offsets whose bitmask bit is toggled after layout.
    bitmask_flips: Vec<u32>,
    regs: [u64; 13],
    /// Mapped pages: (address, writable).
    pages: Vec<(u32, bool)>,
    /// Initial bytes (may land on read-only pages).
    init: Vec<(u32, Vec<u8>)>,
    gas: i64,
    /// Made by [`structured_case`].
    structured: bool,
}

fn page_address(rng: &mut Rng) -> u64 {
    let page = u64::from(rng.pick(&PAGE_CHOICES));
    let offset: i64 = match rng.below(4) {
        0 => rng.below(16) as i64 - 8,
        1 => 4096 - rng.below(16) as i64,
        2 => rng.below(4096 + 16) as i64,
        _ => 0,
    };
    page.wrapping_add(offset as u64)
}

/// A random register value, biased towards interesting ones.
fn reg_value(rng: &mut Rng, jump_entries: usize) -> u64 {
    match rng.below(12) {
        0 | 1 => rng.below(17),
        2 | 3 => page_address(rng) & 0xFFFF_FFFF,
        4 => 2 * (rng.below(jump_entries as u64 + 2)),
        5 => HALT,
        6 => rng.next(),
        7 => rng.next() & 0xFFFF_FFFF,
        8 => (rng.below(64) as i64 - 32) as u64,
        9 => rng.pick(&[
            i64::MIN as u64,
            i64::MAX as u64,
            u64::MAX,
            0x8000_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            0xFFFF_FFFF_8000_0000,
        ]),
        10 => (1u64 << 32) | (page_address(rng) & 0xFFFF_FFFF),
        _ => rng.below(64),
    }
}

#[derive(Clone, Copy)]
enum ImmKind {
    Any,
    Address,
    Small,
    Jump,
}

fn imm_value(rng: &mut Rng, kind: ImmKind) -> u32 {
    match kind {
        ImmKind::Address if rng.chance(85) => page_address(rng) as u32,
        ImmKind::Small if rng.chance(85) => (rng.below(80) as i32 - 16) as u32,
        ImmKind::Jump if rng.chance(85) => 2 * rng.below(6) as u32,
        _ => match rng.below(5) {
            0 => rng.below(8) as u32,
            1 => (rng.below(16) as i32 - 8) as u32,
            2 => rng.next() as u32,
            3 => rng.below(70) as u32,
            _ => page_address(rng) as u32,
        },
    }
}

/// The encoding of `value` as an immediate: usually the shortest
/// sign-extending length, sometimes 4 bytes, sometimes a random truncation.
fn imm_bytes(value: u32, rng: &mut Rng) -> Vec<u8> {
    let minimal = (0..=4usize)
        .find(|&n| {
            if n == 0 {
                return value == 0;
            }
            let shift = 32 - 8 * n as u32;
            n == 4 || (((value << shift) as i32) >> shift) as u32 == value
        })
        .unwrap();
    let len = match rng.below(10) {
        0 | 1 => 4,
        2 => rng.below(5) as usize,
        _ => minimal,
    };
    value.to_le_bytes()[..len].to_vec()
}

fn reg_nibble(rng: &mut Rng) -> u8 {
    if rng.chance(5) {
        13 + rng.below(3) as u8
    } else {
        rng.below(13) as u8
    }
}

fn offset_len(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0..=4 => 4,
        5..=7 => 2,
        _ => 1,
    }
}

fn is_memory_op(op: Opcode) -> bool {
    let n = op.name();
    n.starts_with("load_u")
        || n.starts_with("load_i")
        || n.starts_with("store")
        || n.starts_with("load_ind")
}

/// Whether undefined opcode bytes may appear anywhere, or only as the last
/// instruction. Braid treats an undefined opcode as a basic-block
/// terminator, so a branch to the instruction after one is accepted; GP
/// 0.7.2 (ϖ only follows opcodes in T) and polkavm panic at the branch
/// (`vectors/invalid_opcode_does_not_start_a_block.json`, which Braid
/// passes). They stay last because polkavm 0.30 reports a trap on an
/// undefined opcode in the middle of a block at the block's first pc,
/// while the vectors (and Braid) give the undefined opcode's own pc.
const INVALID_OPCODES_ANYWHERE: bool = false;

fn random_inst(rng: &mut Rng, count: usize, with_ecalli: bool, last: bool) -> Inst {
    if rng.chance(if INVALID_OPCODES_ANYWHERE || last {
        3
    } else {
        0
    }) {
        // An opcode byte GP 0.7.2 does not define.
        let byte = loop {
            let b = rng.below(256) as u8;
            if Opcode::from_byte(b, PvmSpec::Gp0_7_2).is_none() {
                break b;
            }
        };
        let mut bytes = vec![byte];
        for _ in 0..rng.below(3) {
            bytes.push(rng.next() as u8);
        }
        return Inst { bytes, patch: None };
    }
    let op = loop {
        let op = rng.pick(Opcode::ALL);
        if op == Opcode::sbrk || (op == Opcode::ecalli && !with_ecalli) {
            continue;
        }
        break op;
    };
    let memory = is_memory_op(op);
    let name = op.name();
    let jumpy = name.starts_with("jump_ind") || name == "load_imm_jump_ind";
    let shifty = name.contains("sh") || name.contains("rot");
    let target = rng.below(count as u64) as usize;
    let mut bytes = vec![op.byte()];
    let mut patch = None;
    let mut offset_at_end = false;
    match op.format() {
        Format::NoArgs => {}
        Format::Imm => bytes.extend(imm_bytes(imm_value(rng, ImmKind::Any), rng)),
        Format::RegImm64 => {
            bytes.push(reg_nibble(rng) | if rng.chance(5) { 0xA0 } else { 0 });
            let value = reg_value(rng, 4);
            let len = if rng.chance(5) {
                rng.below(9) as usize
            } else {
                8
            };
            bytes.extend(&value.to_le_bytes()[..len]);
        }
        Format::ImmImm => {
            let x = imm_bytes(imm_value(rng, ImmKind::Address), rng);
            let y = imm_bytes(imm_value(rng, ImmKind::Any), rng);
            let mut lx = x.len() as u8;
            if rng.chance(5) {
                lx |= 0xF8 & rng.next() as u8;
            }
            bytes.push(lx);
            bytes.extend(x);
            bytes.extend(y);
        }
        Format::Offset => {
            let len = offset_len(rng);
            patch = Some(Patch { at: 1, len, target });
            bytes.extend(vec![0; len]);
            offset_at_end = true;
        }
        Format::RegImm => {
            let kind = if jumpy {
                ImmKind::Jump
            } else if memory {
                ImmKind::Address
            } else {
                ImmKind::Any
            };
            let x = imm_bytes(imm_value(rng, kind), rng);
            bytes.push(reg_nibble(rng) | if rng.chance(5) { 0x70 } else { 0 });
            bytes.extend(x);
        }
        Format::RegImmImm | Format::RegImmOffset => {
            let kind = if memory { ImmKind::Small } else { ImmKind::Any };
            let x = imm_bytes(imm_value(rng, kind), rng);
            let mut lx = x.len() as u8;
            if rng.chance(3) {
                lx |= 8;
            }
            bytes.push(reg_nibble(rng) | (lx << 4));
            bytes.extend(x);
            if op.format() == Format::RegImmOffset {
                let len = offset_len(rng);
                patch = Some(Patch {
                    at: bytes.len(),
                    len,
                    target,
                });
                bytes.extend(vec![0; len]);
                offset_at_end = true;
            } else {
                bytes.extend(imm_bytes(imm_value(rng, ImmKind::Any), rng));
            }
        }
        Format::RegReg => bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4)),
        Format::RegRegImm => {
            let kind = if memory {
                if rng.chance(50) {
                    ImmKind::Small
                } else {
                    ImmKind::Address
                }
            } else if shifty {
                ImmKind::Small
            } else {
                ImmKind::Any
            };
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            bytes.extend(imm_bytes(imm_value(rng, kind), rng));
        }
        Format::RegRegOffset => {
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            let len = offset_len(rng);
            patch = Some(Patch { at: 2, len, target });
            bytes.extend(vec![0; len]);
            offset_at_end = true;
        }
        Format::RegRegImmImm => {
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            let x = imm_bytes(imm_value(rng, ImmKind::Any), rng);
            let y = imm_bytes(imm_value(rng, ImmKind::Jump), rng);
            let mut lx = x.len() as u8;
            if rng.chance(3) {
                lx |= 0xF8 & rng.next() as u8;
            }
            bytes.push(lx);
            bytes.extend(x);
            bytes.extend(y);
        }
        Format::RegRegReg => {
            bytes.push(reg_nibble(rng) | (reg_nibble(rng) << 4));
            bytes.push(reg_nibble(rng) | if rng.chance(5) { 0x50 } else { 0 });
        }
    }
    // Trailing bytes the operands do not need (they lengthen the skip; an
    // immediate at the end then reads some of them, as GP A.5 says).
    let extra_chance = if offset_at_end { 3 } else { 10 };
    if rng.chance(extra_chance) {
        let n = if rng.chance(10) {
            20 + rng.below(8)
        } else {
            1 + rng.below(3)
        };
        for _ in 0..n {
            bytes.push(rng.next() as u8);
        }
    }
    // At most 24 bytes (skip <= 23). A skip is capped at 24 (GP A.2): where
    // the cap lands on a byte the bitmask does not mark, polkavm and the Gray
    // Paper differ (`vectors/skip_cap_lands_off_the_bitmask.json`), and a
    // skip of exactly 24 to a byte-aligned next instruction within 32 bytes
    // of the code's end is misread by polkavm 0.30 as an invalid instruction
    // (`vectors/skip_of_24_near_the_end_of_code.json`). Both are covered by
    // those vectors instead.
    bytes.truncate(24);
    Inst { bytes, patch }
}

/// A soup case: random instructions of every format (see the module docs).
pub fn soup_case(seed: u64) -> Case {
    let rng = &mut Rng(seed);
    rng.next();
    let with_ecalli = rng.chance(50);
    let max = if rng.chance(20) { 60 } else { 16 };
    let count = 1 + rng.below(max) as usize;
    let insts: Vec<Inst> = (0..count)
        .map(|i| random_inst(rng, count, with_ecalli, i + 1 == count))
        .collect();
    let jump_table = (0..rng.below(6))
        .map(|_| match rng.below(10) {
            0 => JumpEntry::Raw(rng.below(200) as u32),
            _ => JumpEntry::Inst(rng.below(count as u64) as usize),
        })
        .collect::<Vec<_>>();
    // Extra bitmask bits make instructions start inside others, which
    // decodes undefined opcodes mid-program (see INVALID_OPCODES_ANYWHERE).
    let bitmask_flips = if INVALID_OPCODES_ANYWHERE && rng.chance(5) {
        vec![1 + rng.below(64) as u32]
    } else {
        vec![]
    };
    let mut regs = [0u64; 13];
    for r in &mut regs {
        *r = reg_value(rng, jump_table.len());
    }
    let mut pages: Vec<(u32, bool)> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let page = rng.pick(&PAGE_CHOICES);
        if page == 0xFFFF_F000 && !MAP_LAST_PAGE {
            continue;
        }
        if pages.iter().all(|&(p, _)| p != page) {
            pages.push((page, rng.chance(70)));
        }
    }
    let mut init = Vec::new();
    for &(page, _) in &pages {
        for at in [page, page + PAGE - 16] {
            if rng.chance(60) {
                init.push((at, (0..16).map(|_| rng.next() as u8).collect()));
            }
        }
    }
    let gas = match rng.below(10) {
        0 => rng.below(4) as i64,
        1 => rng.below(20) as i64,
        _ => 50 + rng.below(400) as i64,
    };
    Case {
        insts,
        jump_table,
        bitmask_flips,
        regs,
        pages,
        init,
        gas,
        structured: false,
    }
}

impl Case {
    pub fn blob(&self) -> ProgramBlob {
        let mut pcs = Vec::with_capacity(self.insts.len());
        let mut code = Vec::new();
        for inst in &self.insts {
            pcs.push(code.len() as u32);
            code.extend_from_slice(&inst.bytes);
        }
        for (inst, &pc) in self.insts.iter().zip(&pcs) {
            if let Some(p) = &inst.patch {
                let target = pcs[p.target % pcs.len()];
                let offset = target.wrapping_sub(pc).to_le_bytes();
                let at = pc as usize + p.at;
                code[at..at + p.len].copy_from_slice(&offset[..p.len]);
            }
        }
        let mut bitmask = vec![0u8; code.len().div_ceil(8)];
        for &pc in &pcs {
            bitmask[pc as usize / 8] |= 1 << (pc % 8);
        }
        for &pc in &self.bitmask_flips {
            // Only ever set bits: clearing one could make a gap over 24.
            if (pc as usize) < code.len() {
                bitmask[pc as usize / 8] |= 1 << (pc % 8);
            }
        }
        let jump_table = self
            .jump_table
            .iter()
            .map(|e| match *e {
                JumpEntry::Inst(i) => pcs.get(i).copied().unwrap_or(code.len() as u32),
                JumpEntry::Raw(pc) => pc,
            })
            .collect();
        ProgramBlob {
            jump_table,
            code,
            bitmask,
        }
    }

    /// The initial bytes that land on a mapped page (the minimiser may drop pages).
    fn init_chunks(&self) -> impl Iterator<Item = &(u32, Vec<u8>)> {
        self.init
            .iter()
            .filter(|(at, _)| self.pages.iter().any(|&(p, _)| p == at / PAGE * PAGE))
    }

    fn memory_of(&self, read: impl Fn(u32) -> Vec<u8>) -> Vec<(u32, Vec<u8>)> {
        self.pages.iter().map(|&(p, _)| (p, read(p))).collect()
    }
}

// ---------------------------------------------------------------------------
// Structured programs: loops, calls, memory traffic.
// ---------------------------------------------------------------------------

/// Registers a structured program's random instructions may write. `r0` is
/// the return address, `r1` the stack pointer, `r9` the data pointer,
/// `r10`/`r11` the main loops' counters and `r12` a leaf function's counter
/// (and the halt address at the end).
const SCRATCH: [u8; 7] = [2, 3, 4, 5, 6, 7, 8];
const RA: u8 = 0;
const SP: u8 = 1;
const DATA: u8 = 9;

/// The shortest sign-extending encoding of `value` (GP A.1 `X_n`).
fn min_imm(value: u32) -> Vec<u8> {
    let n = (0..=4usize)
        .find(|&n| {
            if n == 0 {
                return value == 0;
            }
            let shift = 32 - 8 * n as u32;
            n == 4 || (((value << shift) as i32) >> shift) as u32 == value
        })
        .unwrap();
    value.to_le_bytes()[..n].to_vec()
}

/// A label: an instruction index known once bound.
#[derive(Clone, Copy)]
struct Label(usize);

/// Builds a structured case; targets are labels until [`Builder::finish`].
struct Builder<'r> {
    rng: &'r mut Rng,
    insts: Vec<Inst>,
    /// For each instruction with a patch: the label it targets.
    patch_labels: Vec<(usize, Label)>,
    labels: Vec<Option<usize>>,
    jump_table: Vec<Label>,
    /// Function entries and whether they are leaves (may loop on `r12`).
    functions: Vec<(Label, bool)>,
    /// Jump-table address of each function entry, once one is needed.
    function_slots: Vec<Option<u32>>,
    /// Bytes of data reachable from `r9`.
    data_len: u32,
    /// Whether memory ops sometimes aim past the data (page faults).
    risky: bool,
    with_ecalli: bool,
    /// ALU opcodes (writing their first register operand) by format.
    alu: Vec<Opcode>,
}

fn is_alu(op: Opcode) -> bool {
    let n = op.name();
    match op.format() {
        Format::RegRegReg => true,
        Format::RegRegImm => !n.starts_with("load") && !n.starts_with("store"),
        Format::RegReg => op != Opcode::sbrk,
        Format::RegImm64 => true,
        Format::RegImm => op == Opcode::load_imm,
        _ => false,
    }
}

impl Builder<'_> {
    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    fn last_is_terminator(&self) -> bool {
        self.insts.last().is_none_or(|i| {
            Opcode::from_byte(i.bytes[0], PvmSpec::Gp0_7_2).is_some_and(|op| op.is_terminator())
        })
    }

    /// Binds `label` here; a jump target must follow a terminator (GP ϖ),
    /// so a `fallthrough` goes first where needed.
    fn bind(&mut self, label: Label) {
        if !self.last_is_terminator() {
            self.emit(vec![Opcode::fallthrough.byte()]);
        }
        self.labels[label.0] = Some(self.insts.len());
    }

    fn emit(&mut self, bytes: Vec<u8>) {
        self.insts.push(Inst { bytes, patch: None });
    }

    /// Emits `bytes` followed by a 4-byte offset to `label`.
    fn emit_to(&mut self, mut bytes: Vec<u8>, label: Label) {
        let at = bytes.len();
        bytes.extend([0; 4]);
        self.patch_labels.push((self.insts.len(), label));
        self.insts.push(Inst {
            bytes,
            patch: Some(Patch {
                at,
                len: 4,
                target: 0,
            }),
        });
    }

    fn scratch(&mut self) -> u8 {
        self.rng.pick(&SCRATCH)
    }

    fn any_reg(&mut self) -> u8 {
        self.rng.below(13) as u8
    }

    fn load_imm(&mut self, reg: u8, value: u32) {
        let mut bytes = vec![Opcode::load_imm.byte(), reg];
        bytes.extend(min_imm(value));
        self.emit(bytes);
    }

    fn add_imm(&mut self, reg: u8, delta: i32) {
        let mut bytes = vec![Opcode::add_imm_64.byte(), reg | (reg << 4)];
        bytes.extend(min_imm(delta as u32));
        self.emit(bytes);
    }

    /// A random ALU instruction writing a scratch register.
    fn alu(&mut self) {
        let op = self.rng.pick(&self.alu);
        let d = self.scratch();
        let (a, b) = (self.any_reg(), self.any_reg());
        let mut bytes = vec![op.byte()];
        match op.format() {
            Format::RegRegReg => bytes.extend([a | (b << 4), d]),
            Format::RegRegImm => {
                bytes.push(d | (a << 4));
                let imm = imm_value(self.rng, ImmKind::Any);
                bytes.extend(min_imm(imm));
            }
            Format::RegReg => bytes.push(d | (a << 4)),
            Format::RegImm64 => {
                bytes.push(d);
                bytes.extend(reg_value(self.rng, 4).to_le_bytes());
            }
            _ => {
                bytes.push(d);
                bytes.extend(min_imm(imm_value(self.rng, ImmKind::Any)));
            }
        }
        self.emit(bytes);
    }

    /// An offset into the data, usually well inside it.
    fn data_offset(&mut self, width: u32) -> u32 {
        if self.risky && self.rng.chance(10) {
            return self.data_len - 4 + self.rng.below(12) as u32;
        }
        let offset = self.rng.below(u64::from(self.data_len - width + 1)) as u32;
        if self.rng.chance(50) {
            offset & !(width - 1)
        } else {
            offset
        }
    }

    /// A load or store through `r9` (or the stack), at a fixed or a
    /// data-dependent address.
    fn memory(&mut self) {
        const LOADS: [(Opcode, u32); 7] = [
            (Opcode::load_ind_u8, 1),
            (Opcode::load_ind_i8, 1),
            (Opcode::load_ind_u16, 2),
            (Opcode::load_ind_i16, 2),
            (Opcode::load_ind_u32, 4),
            (Opcode::load_ind_i32, 4),
            (Opcode::load_ind_u64, 8),
        ];
        const STORES: [(Opcode, u32); 4] = [
            (Opcode::store_ind_u8, 1),
            (Opcode::store_ind_u16, 2),
            (Opcode::store_ind_u32, 4),
            (Opcode::store_ind_u64, 8),
        ];
        const STORES_IMM: [(Opcode, u32); 4] = [
            (Opcode::store_imm_ind_u8, 1),
            (Opcode::store_imm_ind_u16, 2),
            (Opcode::store_imm_ind_u32, 4),
            (Opcode::store_imm_ind_u64, 8),
        ];
        // The base: r9 plus an offset into the data, the stack pointer
        // minus up to 128 bytes, or r8 = r9 + (any register & a mask that
        // keeps it inside the data) plus a few bytes.
        #[derive(Clone, Copy, PartialEq)]
        enum Base {
            Data,
            Stack,
            Computed,
        }
        let base = match self.rng.below(10) {
            0..=5 => Base::Data,
            6 => Base::Stack,
            _ => {
                let mask = (1u32 << (31 - self.data_len.leading_zeros())) - 8;
                let src = self.any_reg();
                let mut bytes = vec![Opcode::and_imm.byte(), 8 | (src << 4)];
                bytes.extend(min_imm(mask));
                self.emit(bytes);
                self.emit(vec![Opcode::add_64.byte(), 8 | (DATA << 4), 8]);
                Base::Computed
            }
        };
        let base_reg = match base {
            Base::Data => DATA,
            Base::Stack => SP,
            Base::Computed => 8,
        };
        // Up to `8 - width` bytes past an 8-aligned address stay inside it.
        let imm = |b: &mut Self, width: u32| -> u32 {
            let slack = b.rng.below(8) as u32 & (8 - width);
            match base {
                Base::Stack => ((-8 * (1 + b.rng.below(16) as i32)) as u32).wrapping_add(slack),
                Base::Computed => slack,
                Base::Data => b.data_offset(width),
            }
        };
        match self.rng.below(3) {
            0 => {
                let (op, width) = self.rng.pick(&LOADS);
                let d = self.scratch();
                let x = imm(self, width);
                let mut bytes = vec![op.byte(), d | (base_reg << 4)];
                bytes.extend(min_imm(x));
                self.emit(bytes);
            }
            1 => {
                let (op, width) = self.rng.pick(&STORES);
                let value = self.any_reg();
                let x = imm(self, width);
                let mut bytes = vec![op.byte(), value | (base_reg << 4)];
                bytes.extend(min_imm(x));
                self.emit(bytes);
            }
            _ => {
                let (op, width) = self.rng.pick(&STORES_IMM);
                let x = min_imm(imm(self, width));
                let y = min_imm(self.rng.next() as u32);
                let mut bytes = vec![op.byte(), base_reg | ((x.len() as u8) << 4)];
                bytes.extend(x);
                bytes.extend(y);
                self.emit(bytes);
            }
        }
    }

    /// A forward branch over a few instructions.
    fn skip(&mut self, depth: u32) {
        const BRANCHES: [Opcode; 6] = [
            Opcode::branch_eq,
            Opcode::branch_ne,
            Opcode::branch_lt_u,
            Opcode::branch_lt_s,
            Opcode::branch_ge_u,
            Opcode::branch_ge_s,
        ];
        const BRANCHES_IMM: [Opcode; 4] = [
            Opcode::branch_eq_imm,
            Opcode::branch_lt_u_imm,
            Opcode::branch_gt_s_imm,
            Opcode::branch_ne_imm,
        ];
        let over = self.label();
        if self.rng.chance(50) {
            let op = self.rng.pick(&BRANCHES);
            let (a, b) = (self.any_reg(), self.any_reg());
            self.emit_to(vec![op.byte(), a | (b << 4)], over);
        } else {
            let op = self.rng.pick(&BRANCHES_IMM);
            let a = self.any_reg();
            let x = min_imm(self.rng.below(16) as u32);
            let mut bytes = vec![op.byte(), a | ((x.len() as u8) << 4)];
            bytes.extend(x);
            self.emit_to(bytes, over);
        }
        let n = 1 + self.rng.below(4);
        self.straight(n, depth + 1);
        self.bind(over);
    }

    /// `n` instructions without loops or calls.
    fn straight(&mut self, n: u64, depth: u32) {
        for _ in 0..n {
            match self.rng.below(100) {
                0..=54 => self.alu(),
                55..=84 => self.memory(),
                85..=92 if depth < 2 => self.skip(depth),
                93..=95 if self.with_ecalli => {
                    let mut bytes = vec![Opcode::ecalli.byte()];
                    bytes.extend(min_imm(self.rng.below(20) as u32));
                    self.emit(bytes);
                }
                _ => self.alu(),
            }
        }
    }

    /// A counted loop on `counter`: `counter = n; head: body; counter -= 1;
    /// if counter != 0 goto head`.
    fn counted_loop(&mut self, counter: u8, n: u32, body: impl FnOnce(&mut Self)) {
        self.load_imm(counter, n);
        let head = self.label();
        self.bind(head);
        body(self);
        self.add_imm(counter, -1);
        let mut bytes = vec![Opcode::branch_ne_imm.byte(), counter];
        bytes.extend(min_imm(0));
        if self.rng.chance(50) {
            self.emit_to(bytes, head);
        } else {
            // `counter > 0`, unsigned: the same loop by another branch.
            self.emit_to(vec![Opcode::branch_gt_u_imm.byte(), counter], head);
        }
    }

    /// The jump-table address (`2(k + 1)`, GP eq. A.18) of a new entry at `label`.
    fn jump_address(&mut self, label: Label) -> u32 {
        self.jump_table.push(label);
        2 * self.jump_table.len() as u32
    }

    /// A call of function `f`: `r0` = the return's jump-table address.
    fn call(&mut self, f: usize) {
        let ret = self.label();
        let ret_address = self.jump_address(ret);
        let entry = self.functions[f].0;
        if self.rng.chance(60) {
            let mut bytes = vec![Opcode::load_imm_jump.byte(), RA | (4 << 4)];
            bytes.extend(ret_address.to_le_bytes());
            self.emit_to(bytes, entry);
        } else {
            // Indirect: r8 = the function's jump-table address, then
            // `load_imm_jump_ind r0, r8, ret, 0`.
            let slot = match self.function_slots[f] {
                Some(slot) => slot,
                None => {
                    let address = self.jump_address(entry);
                    self.function_slots[f] = Some(address);
                    address
                }
            };
            self.load_imm(8, slot);
            let x = min_imm(ret_address);
            let mut bytes = vec![
                Opcode::load_imm_jump_ind.byte(),
                RA | (8 << 4),
                x.len() as u8,
            ];
            bytes.extend(x);
            self.emit(bytes);
        }
        self.bind(ret);
    }

    /// Function `f`: a leaf may loop on `r12`; a non-leaf saves `r0` on
    /// the stack and calls a later function. Returns with `jump_ind r0, 0`.
    fn function(&mut self, f: usize) {
        let (entry, leaf) = self.functions[f];
        self.bind(entry);
        if leaf {
            if self.rng.chance(60) {
                let n = 1 + self.rng.below(12) as u32;
                let k = 2 + self.rng.below(6);
                self.counted_loop(12, n, |b| b.straight(k, 0));
            } else {
                let k = 2 + self.rng.below(8);
                self.straight(k, 0);
            }
        } else {
            self.add_imm(SP, -8);
            self.emit(vec![Opcode::store_ind_u64.byte(), RA | (SP << 4)]);
            let k = 1 + self.rng.below(4);
            self.straight(k, 0);
            let callee = f + 1 + self.rng.below((self.functions.len() - f - 1) as u64) as usize;
            self.call(callee);
            let k = self.rng.below(4);
            self.straight(k, 0);
            self.emit(vec![Opcode::load_ind_u64.byte(), RA | (SP << 4)]);
            self.add_imm(SP, 8);
        }
        self.emit(vec![Opcode::jump_ind.byte(), RA]);
    }

    /// One item of a loop body (`depth` 1 or 2) or of the main sequence
    /// (`depth` 0): straight code, a counted loop (outer loops run 8-64
    /// times, inner ones 4-32), a call, or one instruction.
    fn item(&mut self, depth: u32) {
        let functions = self.functions.len();
        let roll = self.rng.below(10);
        let loops = if depth == 0 { 3..=7 } else { 4..=6 };
        if loops.contains(&roll) && depth < 2 {
            let counter = [10, 11][depth as usize];
            let n = if depth == 0 {
                8 + self.rng.below(57)
            } else {
                4 + self.rng.below(29)
            } as u32;
            let items = 1 + self.rng.below(3);
            self.counted_loop(counter, n, |b| {
                for _ in 0..items {
                    b.item(depth + 1);
                }
            });
        } else if roll <= 3 {
            let k = 2 + self.rng.below(10);
            self.straight(k, 0);
        } else if roll <= 8 && functions > 0 {
            let f = self.rng.below(functions as u64) as usize;
            self.call(f);
        } else {
            self.alu();
        }
    }

    /// Resolves labels into instruction indices.
    fn finish(self) -> (Vec<Inst>, Vec<JumpEntry>) {
        let mut insts = self.insts;
        for (at, label) in self.patch_labels {
            let index = self.labels[label.0].expect("every label is bound");
            insts[at].patch.as_mut().unwrap().target = index;
        }
        let jump_table = self
            .jump_table
            .iter()
            .map(|l| JumpEntry::Inst(self.labels[l.0].expect("every label is bound")))
            .collect();
        (insts, jump_table)
    }
}

/// A program that runs: a main sequence of loops (up to two deep), calls
/// and straight code, functions after it, memory over 1-3 adjacent data
/// pages and a stack page; it ends by halting (mostly), trapping or
/// running off the end.
pub fn structured_case(seed: u64) -> Case {
    let rng = &mut Rng(seed);
    rng.next();
    /// Where the data pages start: low, mid, the argument zone, near the top.
    const DATA_BASES: [u32; 4] = [0x10000, 0x20000, 0xFEFF_0000, 0xFFFF_C000];
    const STACK_PAGE: u32 = 0x40000;
    let data_base = rng.pick(&DATA_BASES);
    let data_pages = 1 + rng.below(3) as u32;
    let risky = rng.chance(15);
    let with_ecalli = rng.chance(15);
    let mut pages = Vec::new();
    for i in 0..data_pages {
        // A risky case may make its last data page read-only.
        let writable = !(risky && i + 1 == data_pages && rng.chance(50));
        pages.push((data_base + i * PAGE, writable));
    }
    pages.push((STACK_PAGE, true));
    let mut init = Vec::new();
    for &(page, _) in &pages {
        for _ in 0..rng.below(3) {
            let at = page + rng.below(u64::from(PAGE - 32)) as u32;
            init.push((at, (0..32).map(|_| rng.next() as u8).collect()));
        }
    }
    let n_functions = rng.below(5) as usize;
    let mut b = Builder {
        rng,
        insts: Vec::new(),
        patch_labels: Vec::new(),
        labels: Vec::new(),
        jump_table: Vec::new(),
        functions: Vec::new(),
        function_slots: vec![None; n_functions],
        data_len: data_pages * PAGE,
        risky,
        with_ecalli,
        alu: Opcode::ALL
            .iter()
            .copied()
            .filter(|&op| is_alu(op))
            .collect(),
    };
    for f in 0..n_functions {
        let entry = b.label();
        // The last function is always a leaf, so every call chain ends.
        let leaf = f + 1 == n_functions || b.rng.chance(50);
        b.functions.push((entry, leaf));
    }
    // Usually an outer loop first, then up to three more items.
    if b.rng.chance(80) {
        let n = 8 + b.rng.below(57) as u32;
        let items = 2 + b.rng.below(3);
        b.counted_loop(10, n, |b| {
            for _ in 0..items {
                b.item(1);
            }
        });
    }
    let items = b.rng.below(4);
    for _ in 0..items {
        b.item(0);
    }
    match b.rng.below(20) {
        0 => b.emit(vec![Opcode::trap.byte()]),
        1 => {}
        _ => {
            b.load_imm(12, HALT as u32);
            b.emit(vec![Opcode::jump_ind.byte(), 12]);
        }
    }
    for f in 0..n_functions {
        b.function(f);
    }
    let (insts, jump_table) = b.finish();
    let mut regs = [0u64; 13];
    for r in &mut regs {
        *r = rng.below(64);
    }
    regs[usize::from(SP)] = u64::from(STACK_PAGE + PAGE);
    regs[usize::from(DATA)] = u64::from(data_base);
    let gas = match rng.below(10) {
        0..=1 => 200_000,
        2..=7 => 1_000 + rng.below(60_000) as i64,
        _ => rng.below(2_000) as i64,
    };
    Case {
        insts,
        jump_table,
        bitmask_flips: Vec::new(),
        regs,
        pages,
        init,
        gas,
        structured: true,
    }
}

/// Differences polkavm 0.30 has from GP 0.7.2 where Braid follows the Gray
/// Paper: `Some(name)` when `braid` and `polkavm` differ only that way.
fn known_difference(case: &Case, braid: &Outcome, polkavm: &Outcome) -> Option<&'static str> {
    let same_but_status = |status| {
        (Outcome {
            status,
            ..polkavm.clone()
        }) == *braid
    };
    // GP 0.7.2: a fault reports the lowest address that cannot be written.
    // A write across a read-only page and the missing page after it faults
    // on the read-only page; polkavm 0.30 reports the missing one.
    if let (Status::PageFault(b), Status::PageFault(p)) = (braid.status, polkavm.status)
        && p == b.wrapping_add(PAGE)
        && case.pages.contains(&(b, false))
        && !case.pages.iter().any(|&(page, _)| page == p)
        && same_but_status(braid.status)
    {
        return Some("cross-page write: read-only page, then missing page");
    }
    // GP 0.7.2 (eq. A.9): an access touching any address below 2^16 panics;
    // polkavm 0.30 traps only below 16 KiB and reports a page fault above.
    if braid.status == Status::Panic
        && matches!(polkavm.status, Status::PageFault(p) if p < 0x10000)
        && (Outcome {
            status: Status::Panic,
            ..polkavm.clone()
        }) == *braid
    {
        return Some("low-memory page fault");
    }
    // GP 0.7.2: addresses are taken mod 2^32, so an access running past
    // 2^32 touches address 0 and panics; polkavm 0.30 reports a page fault
    // at the (unmapped) last page instead.
    if braid.status == Status::Panic
        && polkavm.status == Status::PageFault(0xFFFF_F000)
        && (Outcome {
            status: Status::Panic,
            ..polkavm.clone()
        }) == *braid
    {
        return Some("access wrapping past 2^32 to an unmapped last page");
    }
    None
}

/// The case as a program vector (the `/work/shared/vectors/pvm` schema),
/// expecting `outcome`.
pub fn vector_json(name: &str, case: &Case, outcome: &Outcome) -> String {
    let status = match outcome.status {
        Status::Halt => "halt",
        Status::Panic => "panic",
        Status::OutOfGas => "out-of-gas",
        Status::PageFault(_) => "page-fault",
        Status::HostCall(_) => "host-call",
    };
    let mut expected_memory = Vec::new();
    for (page, bytes) in &outcome.memory {
        let mut run: Option<(u32, Vec<u8>)> = None;
        for (i, &b) in bytes.iter().enumerate() {
            let at = page + i as u32;
            match &mut run {
                Some((s, v)) if b != 0 && *s + v.len() as u32 == at => v.push(b),
                _ => {
                    if let Some((s, v)) = run.take() {
                        expected_memory.push(serde_json::json!({"address": s, "contents": v}));
                    }
                    if b != 0 {
                        run = Some((at, vec![b]));
                    }
                }
            }
        }
        if let Some((s, v)) = run.take() {
            expected_memory.push(serde_json::json!({"address": s, "contents": v}));
        }
    }
    let mut v = serde_json::json!({
        "name": name,
        "initial-regs": case.regs,
        "initial-pc": 0,
        "initial-page-map": case.pages.iter().map(|&(a, w)| serde_json::json!({"address": a, "length": PAGE, "is-writable": w})).collect::<Vec<_>>(),
        "initial-memory": case.init.iter().map(|(a, c)| serde_json::json!({"address": a, "contents": c})).collect::<Vec<_>>(),
        "initial-gas": case.gas,
        "program": case.blob().encode(),
        "expected-status": status,
        "expected-regs": outcome.regs,
        "expected-pc": outcome.pc,
        "expected-memory": expected_memory,
        "expected-gas": outcome.gas,
    });
    if let Status::PageFault(address) = outcome.status {
        v["expected-page-fault-address"] = address.into();
    }
    serde_json::to_string_pretty(&v).unwrap()
}
