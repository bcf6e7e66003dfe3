//! braid-pvm-contracts-tool: links Braid's C contracts into JAM standard
//! program files (Gray Paper 0.7.2 §A.7) and checks them.
//!
//! Subcommands:
//!   link <in.elf> <out.pvm> [--heap-pages N] [--min-stack BYTES]
//!       ELF (RISC-V rv64e, relocatable) -> polkavm blob (JamV1 ISA, dispatch
//!       table entry "call" at pc 0) -> standard program; re-parses the result
//!       and prints a summary (sizes, instruction count, ecalli immediates).
//!   inspect <file.pvm>...
//!       parses standard programs and prints the same summary.
//!   run <file.pvm> <input-hex> [--module HEXID=file.pvm]... [--evm HEX]
//!       runs a standard program in polkavm's interpreter with a small mock of
//!       the rfcs/0003 host (in-memory storage, nested `call`); prints the
//!       outcome and output as hex. For checking the contracts, not a reference.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use polkavm_common::program::{Instruction, InstructionSetKind, ProgramBlob, ProgramParts};

/// Zone size Z_Z of the Gray Paper (64 KiB) and page size Z_P (4 KiB).
const ZONE: u64 = 1 << 16;
const PAGE: u64 = 1 << 12;

// ---------------------------------------------------------------- codec ----

/// GP natural-number encoding E(x) (variable length, up to 2^64).
fn encode_natural(x: u64, out: &mut Vec<u8>) {
    if x == 0 {
        out.push(0);
        return;
    }
    for l in 0..8u32 {
        if x < 1u64 << (7 * (l + 1)) {
            let prefix = (256u64 - (1u64 << (8 - l))) + (x >> (8 * l));
            out.push(prefix as u8);
            out.extend_from_slice(&x.to_le_bytes()[..l as usize]);
            return;
        }
    }
    out.push(255);
    out.extend_from_slice(&x.to_le_bytes());
}

/// Inverse of `encode_natural`; returns the value and the bytes consumed.
fn decode_natural(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    if first == 255 {
        return Some((u64::from_le_bytes(b.get(1..9)?.try_into().ok()?), 9));
    }
    let l = first.leading_ones() as usize; // number of extra bytes
    let high = u64::from(first) & ((1u64 << (8 - l)) - 1).min(0xff);
    let mut low = 0u64;
    for (i, &byte) in b.get(1..1 + l)?.iter().enumerate() {
        low |= u64::from(byte) << (8 * i);
    }
    Some(((high << (8 * l)) | low, 1 + l))
}

fn push_le(out: &mut Vec<u8>, value: u64, n: usize) -> Result<(), String> {
    if n < 8 && value >> (8 * n) != 0 {
        return Err(format!("value {value} does not fit in {n} bytes"));
    }
    out.extend_from_slice(&value.to_le_bytes()[..n]);
    Ok(())
}

fn read_le(b: &[u8], at: &mut usize, n: usize) -> Result<u64, String> {
    let s = b.get(*at..*at + n).ok_or("truncated standard program header")?;
    *at += n;
    let mut v = 0u64;
    for (i, &x) in s.iter().enumerate() {
        v |= u64::from(x) << (8 * i);
    }
    Ok(v)
}

/// A JAM standard program, split into its fields.
#[derive(Debug, Clone, PartialEq)]
struct StandardProgram {
    ro_data: Vec<u8>,
    rw_data: Vec<u8>,
    heap_pages: u16,
    stack_size: u32,
    /// `deblob` format: E(|j|) ++ E_1(z) ++ E(|code|) ++ j ++ code ++ bitmask.
    code_blob: Vec<u8>,
}

impl StandardProgram {
    fn encode(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        push_le(&mut out, self.ro_data.len() as u64, 3)?;
        push_le(&mut out, self.rw_data.len() as u64, 3)?;
        push_le(&mut out, u64::from(self.heap_pages), 2)?;
        push_le(&mut out, u64::from(self.stack_size), 3)?;
        out.extend_from_slice(&self.ro_data);
        out.extend_from_slice(&self.rw_data);
        push_le(&mut out, self.code_blob.len() as u64, 4)?;
        out.extend_from_slice(&self.code_blob);
        Ok(out)
    }

    fn decode(b: &[u8]) -> Result<Self, String> {
        let mut at = 0;
        let o = read_le(b, &mut at, 3)? as usize;
        let w = read_le(b, &mut at, 3)? as usize;
        let z = read_le(b, &mut at, 2)? as u16;
        let s = read_le(b, &mut at, 3)? as u32;
        let ro_data = b.get(at..at + o).ok_or("truncated o")?.to_vec();
        at += o;
        let rw_data = b.get(at..at + w).ok_or("truncated w")?.to_vec();
        at += w;
        let c = read_le(b, &mut at, 4)? as usize;
        let code_blob = b.get(at..at + c).ok_or("truncated c")?.to_vec();
        at += c;
        if at != b.len() {
            return Err(format!("{} trailing bytes after the standard program", b.len() - at));
        }
        Ok(StandardProgram { ro_data, rw_data, heap_pages: z, stack_size: s, code_blob })
    }

    /// GP §A.7 memory-fit check: 5·Z_Z + Z(|o|) + Z(|w| + z·Z_P) + Z(s) + Z_I <= 2^32.
    fn fits_memory(&self) -> bool {
        let zone = |x: u64| x.div_ceil(ZONE) * ZONE;
        let total = 5 * ZONE
            + zone(self.ro_data.len() as u64)
            + zone(self.rw_data.len() as u64 + u64::from(self.heap_pages) * PAGE)
            + zone(u64::from(self.stack_size))
            + (1 << 24);
        total <= 1 << 32
    }
}

/// Splits a deblob `c` into (jump table entry size, jump table entries, code, bitmask).
fn split_deblob(c: &[u8]) -> Result<(u8, Vec<u64>, &[u8], &[u8]), String> {
    let (count, n1) = decode_natural(c).ok_or("bad |j|")?;
    let entry_size = *c.get(n1).ok_or("bad z_j")?;
    let (code_len, n2) = decode_natural(&c[n1 + 1..]).ok_or("bad |code|")?;
    let mut at = n1 + 1 + n2;
    let mut jt = Vec::new();
    for _ in 0..count {
        jt.push(read_le(c, &mut at, entry_size as usize)?);
    }
    let code = c.get(at..at + code_len as usize).ok_or("truncated code")?;
    at += code_len as usize;
    let bitmask = &c[at..];
    if bitmask.len() as u64 != code_len.div_ceil(8) {
        return Err(format!("bitmask is {} bytes, expected {}", bitmask.len(), code_len.div_ceil(8)));
    }
    Ok((entry_size, jt, code, bitmask))
}

// ----------------------------------------------------------------- link ----

struct LinkOptions {
    heap_pages: u16,
    min_stack: u32,
}

fn link(elf: &[u8], opts: &LinkOptions) -> Result<(Vec<u8>, ProgramBlob), String> {
    let mut config = polkavm_linker::Config::default();
    config.set_strip(true);
    config.set_optimize(true);
    config.set_min_stack_size(opts.min_stack);
    // pc 0 = `jump` to the export "call" (the entry of a standard program).
    config.set_dispatch_table(vec![b"call".to_vec()]);
    let raw = polkavm_linker::program_from_elf(config, polkavm_linker::TargetInstructionSet::JamV1, elf)
        .map_err(|e| format!("polkavm-linker: {e}"))?;
    let parts = ProgramParts::from_bytes(raw.clone().into()).map_err(|e| format!("blob parts: {e}"))?;
    let blob = ProgramBlob::parse(raw.into()).map_err(|e| format!("blob: {e}"))?;
    if blob.isa() != InstructionSetKind::JamV1 {
        return Err(format!("unexpected ISA {:?}", blob.isa()));
    }

    // o: the read-only data, padded to its declared size (zeros), so that the
    // readable region P(|o|) covers everything the program may address.
    let mut ro_data = blob.ro_data().to_vec();
    ro_data.resize(blob.ro_data_size() as usize, 0);
    // w: the initialised read-write data only; the zero-initialised rest of the
    // polkavm rw region (.bss) becomes heap pages: the GP rw region is
    // P(|w|) + z·Z_P bytes, zero beyond w, contiguous.
    let rw_data = blob.rw_data().to_vec();
    let w_pages = (rw_data.len() as u64).div_ceil(PAGE) * PAGE;
    let bss_pages = (u64::from(blob.rw_data_size())).saturating_sub(w_pages).div_ceil(PAGE);
    let heap_pages = u16::try_from(bss_pages + u64::from(opts.heap_pages)).map_err(|_| "too many heap pages")?;

    // c: polkavm's code-and-jump-table section IS the GP deblob format
    // (polkavm varints are GP's natural encoding for u32). Re-encode it with
    // our own encoder and check both agree.
    let c = parts.code_and_jump_table.to_vec();
    let (entry_size, jt, code, bitmask) = split_deblob(&c)?;
    if code != blob.code() || bitmask != blob.bitmask() {
        return Err("deblob split disagrees with polkavm's parse".into());
    }
    let bj = blob.jump_table();
    if bj.len() as usize != jt.len() {
        return Err("jump table length mismatch".into());
    }
    for (i, &target) in jt.iter().enumerate() {
        let expected = bj.get_by_index(i as u32).map(|pc| u64::from(pc.0));
        if expected != Some(target) {
            return Err(format!("jump table entry {i}: {target} vs {expected:?}"));
        }
    }
    let mut c2 = Vec::new();
    encode_natural(jt.len() as u64, &mut c2);
    c2.push(entry_size);
    encode_natural(code.len() as u64, &mut c2);
    for &t in &jt {
        push_le(&mut c2, t, entry_size as usize)?;
    }
    c2.extend_from_slice(code);
    c2.extend_from_slice(bitmask);
    if c2 != c {
        return Err("re-encoded deblob differs from polkavm's".into());
    }

    let program = StandardProgram { ro_data, rw_data, heap_pages, stack_size: blob.stack_size(), code_blob: c2 };
    if !program.fits_memory() {
        return Err("program does not fit the GP memory layout".into());
    }
    let bytes = program.encode()?;
    if StandardProgram::decode(&bytes)? != program {
        return Err("standard program does not round-trip".into());
    }
    Ok((bytes, blob))
}

/// Rebuilds a polkavm `ProgramBlob` from a standard program (for disassembly and running).
fn blob_from_standard(p: &StandardProgram) -> Result<ProgramBlob, String> {
    let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
    parts.ro_data_size = p.ro_data.len() as u32;
    parts.rw_data_size = ((p.rw_data.len() as u64).div_ceil(PAGE) * PAGE + u64::from(p.heap_pages) * PAGE) as u32;
    parts.stack_size = p.stack_size;
    parts.ro_data = p.ro_data.clone().into();
    parts.rw_data = p.rw_data.clone().into();
    parts.code_and_jump_table = p.code_blob.clone().into();
    // Export "call" at pc 0 (the dispatch table entry), for polkavm's API.
    let mut exports = Vec::new();
    exports.push(1u8); // count (varint)
    exports.push(0u8); // pc (varint)
    exports.push(4u8); // symbol length
    exports.extend_from_slice(b"call");
    parts.exports = exports.into();
    ProgramBlob::from_parts(parts).map_err(|e| format!("polkavm rejects the program: {e}"))
}

fn summary(name: &str, file_len: usize, p: &StandardProgram) -> Result<(), String> {
    let blob = blob_from_standard(p)?;
    let mut count = 0usize;
    let mut ecalli: BTreeMap<u32, usize> = BTreeMap::new();
    let mut first = None;
    let mut invalid = 0usize;
    for inst in blob.instructions() {
        if first.is_none() {
            first = Some(inst.kind);
        }
        count += 1;
        match inst.kind {
            Instruction::ecalli(n) => *ecalli.entry(n).or_default() += 1,
            Instruction::invalid => invalid += 1,
            _ => {}
        }
    }
    let (_, jt, code, _) = split_deblob(&p.code_blob)?;
    let ids: Vec<String> = ecalli.iter().map(|(k, v)| format!("{k}(x{v})")).collect();
    println!(
        "{name}: {file_len} bytes | o={} w={} z={} pages s={} | code {} bytes, {count} instructions ({invalid} invalid), jump table {} | pc0: {} | ecalli: [{}]",
        p.ro_data.len(),
        p.rw_data.len(),
        p.heap_pages,
        p.stack_size,
        code.len(),
        jt.len(),
        first.map(|i| i.to_string()).unwrap_or_default(),
        ids.join(", ")
    );
    if !matches!(first, Some(Instruction::jump(_))) {
        return Err("pc 0 is not a jump".into());
    }
    if invalid != 0 {
        return Err("program contains invalid instructions".into());
    }
    if let Some(&bad) = ecalli.keys().find(|&&n| n > 36) {
        return Err(format!("ecalli {bad} is not an rfcs/0003 or rfcs/0010 host call"));
    }
    Ok(())
}

// ------------------------------------------------------------------ run ----

type Id = [u8; 20];

#[derive(Clone, Default)]
struct World {
    modules: HashMap<Id, StandardProgram>,
    storage: BTreeMap<(Id, Vec<u8>), Vec<u8>>,
    evm: BTreeMap<(Id, [u8; 32]), [u8; 32]>,
    logs: Vec<(Id, Vec<[u8; 32]>, Vec<u8>)>,
}

#[derive(Debug)]
enum Outcome {
    Halt(Vec<u8>),
    Revert(Vec<u8>),
    Fault(String),
}

fn keccak256(data: &[u8]) -> [u8; 32] {
    use tiny_keccak::Hasher;
    let mut h = tiny_keccak::Keccak::v256();
    h.update(data);
    let mut out = [0u8; 32];
    h.finalize(&mut out);
    out
}

fn invoke(world: &mut World, caller: Id, callee: Id, input: &[u8], depth: u32) -> Result<Outcome, String> {
    use polkavm::{Config, Engine, InterruptKind, ModuleConfig, ProgramCounter, Reg};
    if depth > 8 {
        return Ok(Outcome::Fault("depth".into()));
    }
    let program = world.modules.get(&callee).ok_or("unknown callee")?.clone();
    let blob = blob_from_standard(&program)?;
    let mut config = Config::new();
    config.set_backend(Some(polkavm::BackendKind::Interpreter));
    let engine = Engine::new(&config).map_err(|e| e.to_string())?;
    let mut mc = ModuleConfig::new();
    mc.set_aux_data_size(((input.len() as u32).max(1)).div_ceil(4096) * 4096);
    mc.set_page_size(4096);
    let module = polkavm::Module::from_blob(&engine, &mc, blob).map_err(|e| e.to_string())?;
    let mut inst = module.instantiate().map_err(|e| e.to_string())?;
    let aux = module.memory_map().aux_data_address();
    inst.write_memory(aux, input).map_err(|e| e.to_string())?;
    inst.prepare_call_untyped(ProgramCounter(0), &[u64::from(aux), input.len() as u64]);
    let snapshot = world.storage.clone();
    let read = |inst: &polkavm::RawInstance, a: u64, n: u64| inst.read_memory(a as u32, n as u32).map_err(|e| e.to_string());
    let outcome = loop {
        let interrupt = inst.run().map_err(|e| e.to_string())?;
        match interrupt {
            InterruptKind::Finished => {
                let (a, n) = (inst.reg(Reg::A0), inst.reg(Reg::A1));
                break Outcome::Halt(read(&inst, a, n).unwrap_or_default());
            }
            InterruptKind::Trap => break Outcome::Fault("trap".into()),
            InterruptKind::Ecalli(id) => {
                let r = |i: usize| inst.reg(Reg::ARG_REGS[i]);
                let (a0, a1, a2, a3, a4, a5) = (r(0), r(1), r(2), r(3), r(4), r(5));
                let res: Result<u64, String> = (|| {
                    Ok(match id {
                        0 => 1_000_000_000,
                        1 => {
                            let start = (a1 as usize).min(input.len());
                            let n = (input.len() - start).min(a2 as usize);
                            inst.write_memory(a0 as u32, &input[start..start + n]).map_err(|e| e.to_string())?;
                            input.len() as u64
                        }
                        2 => {
                            inst.write_memory(a0 as u32, &caller).map_err(|e| e.to_string())?;
                            0
                        }
                        3 => {
                            inst.write_memory(a0 as u32, &callee).map_err(|e| e.to_string())?;
                            0
                        }
                        4 => {
                            let key = read(&inst, a0, a1)?;
                            match world.storage.get(&(callee, key)) {
                                None => u64::MAX,
                                Some(v) => {
                                    let start = (a3 as usize).min(v.len());
                                    let n = (v.len() - start).min(a4 as usize);
                                    inst.write_memory(a2 as u32, &v[start..start + n]).map_err(|e| e.to_string())?;
                                    v.len() as u64
                                }
                            }
                        }
                        5 => {
                            let key = read(&inst, a0, a1)?;
                            let value = read(&inst, a2, a3)?;
                            world.storage.insert((callee, key), value);
                            0
                        }
                        6 => {
                            let key = read(&inst, a0, a1)?;
                            world.storage.remove(&(callee, key));
                            0
                        }
                        7 => {
                            let addr: Id = read(&inst, a0, 20)?.try_into().unwrap();
                            let slot: [u8; 32] = read(&inst, a1, 32)?.try_into().unwrap();
                            let v = world.evm.get(&(addr, slot)).copied().unwrap_or([0; 32]);
                            inst.write_memory(a2 as u32, &v).map_err(|e| e.to_string())?;
                            0
                        }
                        9 => {
                            if a1 > 4 {
                                return Ok(u64::MAX - 1);
                            }
                            let t = read(&inst, a0, 32 * a1)?;
                            let topics = t.chunks(32).map(|c| c.try_into().unwrap()).collect();
                            let data = read(&inst, a2, a3)?;
                            world.logs.push((callee, topics, data));
                            0
                        }
                        11 => {
                            let d = read(&inst, a0, a1)?;
                            inst.write_memory(a2 as u32, &keccak256(&d)).map_err(|e| e.to_string())?;
                            0
                        }
                        13 => {
                            let target: Id = read(&inst, a0, 20)?.try_into().unwrap();
                            let sub_input = read(&inst, a1, a2)?;
                            let _gas = a3;
                            let (status, out) = match invoke(world, callee, target, &sub_input, depth + 1)? {
                                Outcome::Halt(o) => (0, o),
                                Outcome::Revert(o) => (1, o),
                                Outcome::Fault(_) => (2, Vec::new()),
                            };
                            let n = out.len().min(a5 as usize);
                            inst.write_memory(a4 as u32, &out[..n]).map_err(|e| e.to_string())?;
                            inst.set_reg(Reg::A1, out.len() as u64);
                            status
                        }
                        14 => return Err(format!("REVERT:{}", hex(&read(&inst, a0, a1)?))),
                        _ => u64::MAX - 1,
                    })
                })();
                match res {
                    Ok(v) => inst.set_reg(Reg::A0, v),
                    Err(e) if e.starts_with("REVERT:") => break Outcome::Revert(unhex(&e[7..])?),
                    Err(e) => break Outcome::Fault(format!("host call {id}: {e}")),
                }
            }
            other => break Outcome::Fault(format!("{other:?}")),
        }
    };
    if !matches!(outcome, Outcome::Halt(_)) {
        world.storage = snapshot;
    }
    Ok(outcome)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd-length hex: {s}"));
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

fn id_from_hex(s: &str) -> Result<Id, String> {
    unhex(s)?.try_into().map_err(|_| format!("identity must be 20 bytes: {s}"))
}

fn load(path: &str) -> Result<StandardProgram, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    StandardProgram::decode(&bytes)
}


// ---------------------------------------------------------------- check ----

fn message(n: u64) -> Vec<u8> {
    (0..n).map(|i| i as u8).collect()
}

fn primes_below(n: u64) -> u64 {
    if n < 3 {
        return 0;
    }
    let mut composite = vec![false; n as usize];
    let mut count = 0;
    for i in 2..n as usize {
        if !composite[i] {
            count += 1;
            let mut j = i * i;
            while j < n as usize {
                composite[j] = true;
                j += i;
            }
        }
    }
    count
}

/// Runs every contract in `dir` in polkavm's interpreter against a mock host
/// and compares with Rust reference implementations.
fn check(dir: &str) -> Result<(), String> {
    use blake2::Digest as _;
    let load_in = |name: &str| load(&format!("{dir}/{name}.pvm"));
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut expect = |what: String, ok: bool, detail: String| {
        if ok {
            passed += 1;
        } else {
            failed += 1;
            println!("FAIL {what}: {detail}");
        }
    };
    let run1 = |name: &str, input: &[u8]| -> Result<Outcome, String> {
        let mut w = World::default();
        w.modules.insert([1; 20], load_in(name)?);
        invoke(&mut w, [2; 20], [1; 20], input, 0)
    };

    // Compute guests.
    for n in [0u64, 1, 2, 3, 10, 100, 1000, 65_536, 1_000_000] {
        let got = run1("sieve", &(n as u32).to_le_bytes())?;
        let want = primes_below(n).to_le_bytes().to_vec();
        expect(format!("sieve({n})"), matches!(&got, Outcome::Halt(o) if *o == want), format!("{got:?}"));
    }
    let mut cases: Vec<(Vec<u8>, Vec<u8>)> = Vec::new(); // (input, message)
    for n in [0u64, 1, 55, 56, 63, 64, 127, 128, 129, 135, 136, 137, 4095, 4096, 4097, 10_000, 100_000] {
        cases.push((n.to_le_bytes().to_vec(), message(n)));
    }
    cases.push((b"abcdefghi".to_vec(), b"abcdefghi".to_vec()));
    cases.push(((0..300u32).map(|i| (i * 7) as u8).collect(), (0..300u32).map(|i| (i * 7) as u8).collect()));
    for (input, msg) in &cases {
        let refs: [(&str, Vec<u8>); 3] = [
            ("keccak", keccak256(msg).to_vec()),
            ("sha256", sha2::Sha256::digest(msg).to_vec()),
            ("blake2b", blake2::Blake2b::<blake2::digest::consts::U32>::digest(msg).to_vec()),
        ];
        for (name, want) in refs {
            let got = run1(name, input)?;
            expect(
                format!("{name}(len {})", msg.len()),
                matches!(&got, Outcome::Halt(o) if *o == want),
                format!("{got:?} want {}", hex(&want)),
            );
        }
    }

    // token
    let (tok, alice, bob): (Id, Id, Id) = ([0x70; 20], [0xa1; 20], [0xb0; 20]);
    let mut w = World::default();
    w.modules.insert(tok, load_in("token")?);
    let call = |w: &mut World, from: Id, input: Vec<u8>| invoke(w, from, tok, &input, 0);
    let cat = |parts: &[&[u8]]| parts.concat();
    let got = call(&mut w, alice, cat(&[&[0], &1000u64.to_le_bytes()]))?;
    expect("token init".into(), matches!(&got, Outcome::Halt(o) if o.is_empty()), format!("{got:?}"));
    let got = call(&mut w, bob, cat(&[&[0], &5u64.to_le_bytes()]))?;
    expect("token init twice".into(), matches!(&got, Outcome::Revert(o) if o == b"initialized"), format!("{got:?}"));
    let got = call(&mut w, alice, cat(&[&[1], &bob, &300u64.to_le_bytes()]))?;
    expect("token transfer".into(), matches!(&got, Outcome::Halt(o) if *o == 700u64.to_le_bytes()), format!("{got:?}"));
    let log_ok = w.logs.len() == 1 && w.logs[0].1.len() == 3 && &w.logs[0].1[0][..8] == b"Transfer"
        && w.logs[0].1[1][12..] == alice && w.logs[0].1[2][12..] == bob && w.logs[0].2 == 300u64.to_le_bytes();
    expect("token transfer log".into(), log_ok, format!("{:?}", w.logs));
    let got = call(&mut w, bob, cat(&[&[1], &alice, &301u64.to_le_bytes()]))?;
    expect(
        "token insufficient".into(),
        matches!(&got, Outcome::Revert(o) if o == b"insufficient balance"),
        format!("{got:?}"),
    );
    let got = call(&mut w, bob, cat(&[&[1], &bob, &300u64.to_le_bytes()]))?;
    expect("token self transfer".into(), matches!(&got, Outcome::Halt(o) if *o == 300u64.to_le_bytes()), format!("{got:?}"));
    for (who, want) in [(alice, 700u64), (bob, 300), ([9; 20], 0)] {
        let got = call(&mut w, alice, cat(&[&[2], &who]))?;
        expect("token balance_of".into(), matches!(&got, Outcome::Halt(o) if *o == want.to_le_bytes()), format!("{got:?}"));
    }
    let got = call(&mut w, alice, vec![3])?;
    expect("token total_supply".into(), matches!(&got, Outcome::Halt(o) if *o == 1000u64.to_le_bytes()), format!("{got:?}"));
    let got = call(&mut w, alice, vec![7])?;
    expect("token bad selector".into(), matches!(&got, Outcome::Revert(o) if o == b"bad input"), format!("{got:?}"));

    // gate
    let (gate, erc20, holder): (Id, Id, Id) = ([0x6a; 20], [0xe2; 20], [0x40; 20]);
    let mut w = World::default();
    w.modules.insert(gate, load_in("gate")?);
    let mut slot = [0u8; 32];
    slot[31] = 3;
    let mut pre = [0u8; 64];
    pre[12..32].copy_from_slice(&holder);
    pre[32..].copy_from_slice(&slot);
    let mut balance = [0u8; 32];
    balance[30..].copy_from_slice(&500u16.to_be_bytes());
    w.evm.insert((erc20, keccak256(&pre)), balance);
    for (threshold, decision) in [(400u16, 1u8), (500, 1), (501, 0)] {
        let mut t = [0u8; 32];
        t[30..].copy_from_slice(&threshold.to_be_bytes());
        let got = invoke(&mut w, alice, gate, &cat(&[&erc20, &holder, &slot, &t]), 0)?;
        let want = cat(&[&balance, &[decision]]);
        expect(format!("gate threshold {threshold}"), matches!(&got, Outcome::Halt(o) if *o == want), format!("{got:?}"));
        expect("gate stored".into(), w.storage.get(&(gate, holder.to_vec())) == Some(&want), String::new());
    }
    let got = invoke(&mut w, alice, gate, &[0; 10], 0)?;
    expect("gate bad input".into(), matches!(&got, Outcome::Revert(o) if o == b"bad input"), format!("{got:?}"));

    // relay + faulty + token
    let (relay, faulty): (Id, Id) = ([0x4e; 20], [0xfa; 20]);
    let mut w = World::default();
    w.modules.insert(relay, load_in("relay")?);
    w.modules.insert(faulty, load_in("faulty")?);
    w.modules.insert(tok, load_in("token")?);
    let got = invoke(&mut w, alice, faulty, &[], 0)?;
    expect("faulty traps".into(), matches!(&got, Outcome::Fault(_)) && w.storage.is_empty(), format!("{got:?}"));
    let got = invoke(&mut w, alice, relay, &cat(&[&faulty, b"a"]), 0)?;
    expect("relay -> faulty".into(), matches!(&got, Outcome::Halt(o) if *o == [2]), format!("{got:?}"));
    expect(
        "faulty writes vanish".into(),
        w.storage.get(&(relay, b"a".to_vec())) == Some(&vec![1]) && !w.storage.contains_key(&(faulty, b"f".to_vec())),
        format!("{:?}", w.storage.keys().collect::<Vec<_>>()),
    );
    // A calls A calls faulty (reentrancy).
    let got = invoke(&mut w, alice, relay, &cat(&[&relay, b"x", &faulty, b"y"]), 0)?;
    expect("relay -> relay -> faulty".into(), matches!(&got, Outcome::Halt(o) if *o == [0, 2]), format!("{got:?}"));
    expect(
        "reentrant writes kept".into(),
        w.storage.get(&(relay, b"x".to_vec())) == Some(&vec![1]) && w.storage.get(&(relay, b"y".to_vec())) == Some(&vec![1]),
        String::new(),
    );
    let got = invoke(&mut w, alice, relay, &cat(&[&tok, b"r", &[9]]), 0)?;
    expect("relay -> token revert".into(), matches!(&got, Outcome::Halt(o) if *o == cat(&[&[1], b"bad input"])), format!("{got:?}"));
    let got = invoke(&mut w, alice, relay, &cat(&[&tok, b"i", &[0], &42u64.to_le_bytes()]), 0)?;
    expect("relay -> token init".into(), matches!(&got, Outcome::Halt(o) if *o == [0]), format!("{got:?}"));
    expect(
        "token saw relay as caller".into(),
        w.storage.get(&(tok, relay.to_vec())) == Some(&42u64.to_le_bytes().to_vec()),
        String::new(),
    );
    let got = invoke(&mut w, alice, relay, &[1; 5], 0)?;
    expect("relay bad input".into(), matches!(&got, Outcome::Revert(o) if o == b"bad input"), format!("{got:?}"));

    println!("check: {passed} passed, {failed} failed");
    if failed == 0 { Ok(()) } else { Err(format!("{failed} checks failed")) }
}

// ----------------------------------------------------------------- main ----

fn real_main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: tool link <in.elf> <out.pvm> [--heap-pages N] [--min-stack BYTES] | tool inspect <f.pvm>... | tool check [dir] | tool disasm <f.pvm> | tool run <f.pvm> <input-hex> [--module ID=f.pvm]... [--evm ADDR:SLOT=VALUE]... [--storage ID:KEYHEX=VALHEX]... [--caller ID] [--self ID]";
    match args.first().map(String::as_str) {
        Some("link") => {
            let (input, output) = (args.get(1).ok_or(usage)?, args.get(2).ok_or(usage)?);
            let mut opts = LinkOptions { heap_pages: 0, min_stack: 64 * 1024 };
            let mut i = 3;
            while i < args.len() {
                let v = args.get(i + 1).ok_or(usage)?;
                match args[i].as_str() {
                    "--heap-pages" => opts.heap_pages = v.parse().map_err(|e| format!("{e}"))?,
                    "--min-stack" => opts.min_stack = v.parse().map_err(|e| format!("{e}"))?,
                    _ => return Err(usage.into()),
                }
                i += 2;
            }
            let elf = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
            let (bytes, blob) = link(&elf, &opts).map_err(|e| format!("{input}: {e}"))?;
            let exports: Vec<String> =
                blob.exports().map(|e| format!("{}@{}", e.symbol(), e.program_counter().0)).collect();
            let imports: Vec<String> = blob
                .imports()
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.filter(|s| !s.as_bytes().is_empty()).map(|s| format!("{i}={s}")))
                .collect();
            eprintln!("  polkavm blob: exports [{}], imports [{}]", exports.join(", "), imports.join(", "));
            std::fs::write(output, &bytes).map_err(|e| format!("{output}: {e}"))?;
            summary(output, bytes.len(), &StandardProgram::decode(&bytes)?)
        }
        Some("check") => check(args.get(1).map(String::as_str).unwrap_or("build")),
        Some("disasm") => {
            let p = load(args.get(1).ok_or(usage)?)?;
            let blob = blob_from_standard(&p)?;
            for inst in blob.instructions() {
                println!("{:>6}: {}", inst.offset.0, inst.kind);
            }
            Ok(())
        }
        Some("inspect") => {
            for path in &args[1..] {
                let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
                summary(path, bytes.len(), &StandardProgram::decode(&bytes)?)?;
            }
            Ok(())
        }
        Some("run") => {
            let (path, input) = (args.get(1).ok_or(usage)?, unhex(args.get(2).ok_or(usage)?)?);
            let mut world = World::default();
            let mut me: Id = [0x5e; 20];
            let mut caller: Id = [0xca; 20];
            let mut i = 3;
            let mut extra = Vec::new();
            while i < args.len() {
                let v = args.get(i + 1).ok_or(usage)?;
                match args[i].as_str() {
                    "--module" => extra.push(v.clone()),
                    "--self" => me = id_from_hex(v)?,
                    "--caller" => caller = id_from_hex(v)?,
                    "--evm" => {
                        let (k, val) = v.split_once('=').ok_or(usage)?;
                        let (a, s) = k.split_once(':').ok_or(usage)?;
                        world.evm.insert(
                            (id_from_hex(a)?, unhex(s)?.try_into().map_err(|_| "slot: 32 bytes")?),
                            unhex(val)?.try_into().map_err(|_| "value: 32 bytes")?,
                        );
                    }
                    "--storage" => {
                        let (k, val) = v.split_once('=').ok_or(usage)?;
                        let (a, key) = k.split_once(':').ok_or(usage)?;
                        world.storage.insert((id_from_hex(a)?, unhex(key)?), unhex(val)?);
                    }
                    _ => return Err(usage.into()),
                }
                i += 2;
            }
            world.modules.insert(me, load(path)?);
            for m in extra {
                let (id, file) = m.split_once('=').ok_or(usage)?;
                world.modules.insert(id_from_hex(id)?, load(file)?);
            }
            let outcome = invoke(&mut world, caller, me, &input, 0)?;
            match &outcome {
                Outcome::Halt(o) => println!("halt {}", hex(o)),
                Outcome::Revert(o) => println!("revert {}", hex(o)),
                Outcome::Fault(f) => println!("fault {f}"),
            }
            for ((id, k), v) in &world.storage {
                println!("storage {}:{} = {}", hex(id), hex(k), hex(v));
            }
            for (id, topics, data) in &world.logs {
                let t: Vec<String> = topics.iter().map(|t| hex(t)).collect();
                println!("log {} topics [{}] data {}", hex(id), t.join(","), hex(data));
            }
            Ok(())
        }
        _ => Err(usage.into()),
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_encoding_round_trips() {
        for x in [0u64, 1, 127, 128, 255, 16383, 16384, 1 << 21, (1 << 28) - 1, 1 << 35, u64::MAX >> 8, u64::MAX] {
            let mut v = Vec::new();
            encode_natural(x, &mut v);
            assert_eq!(decode_natural(&v), Some((x, v.len())), "{x}");
        }
        let mut v = Vec::new();
        encode_natural(128, &mut v);
        assert_eq!(v, [0x80, 0x80]);
    }
}
