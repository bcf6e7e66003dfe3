//! The recompiler's x86-64 assembler against the alternatives RFC 0011
//! names: the same instruction stream encoded by `polkavm-assembler` (what
//! `braid-pvm-recompiler` uses), `iced-x86`'s `CodeAssembler` and
//! `dynasmrt`'s `VecAssembler`, each through its own API as its users
//! write it, into a byte vector with every label resolved.
//!
//! The stream is shaped after the recompiler's own output: the histogram of
//! the 417,768 bytes of native code it emits for the JAM bootstrap service
//! (`objdump` of `CompiledModule::code`) is led by 32- and 64-bit `lea`
//! (address and add-immediate), `mov` of an immediate (mostly the out-of-gas
//! stubs' `mov ecx, index`), `jmp`, the block's gas charge (`sub qword
//! [r15 - k], imm` and `jl`), guest loads and stores at `[r15 + rcx]`,
//! register moves, compares with `je`/`jne`, context stores, `movabs`,
//! shifts, byte loads and `or`. One block below has one of each (20
//! instructions, three branches to labels) and its out-of-gas stub (two
//! more); `BLOCKS` blocks with registers rotated through the guest register
//! map make 110,002 instructions, about the size of the bootstrap service's
//! native code (with a `ud2` after the last block and the stubs' shared
//! `ret`). Labels go forward, backward and to the out-of-line stubs.
//!
//! Every branch is a 32-bit relative one in all contenders, as the
//! recompiler emits them (its labels are resolved after the code is laid
//! out): `iced-x86` gets `set_prefer_short_branch(false)` and
//! `BlockEncoderOptions::DONT_FIX_BRANCHES`; the `iced-x86-default` row is
//! its `CodeAssembler` as it comes, whose block encoder also shortens every
//! branch that fits (more work, smaller code). Before timing, the bench decodes all outputs with
//! `iced-x86`'s decoder and asserts they are the same instructions (same
//! mnemonics and operands; branch targets compared as instruction indices).
//!
//! `cargo bench --workspace --bench pvm_asm`; after criterion's report it
//! prints interleaved minima and the ratio of each contender to
//! `polkavm-assembler`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};
use iced_x86::code_asm::{self as ia, CodeAssembler};
use polkavm_assembler::amd64::addr::{base_index, imm32, imm64, reg_indirect};
use polkavm_assembler::amd64::inst::*;
use polkavm_assembler::amd64::{Condition, LoadKind, Reg as N, RegIndex, RegMem, RegSize, Size};
use polkavm_assembler::{Assembler, Label};

/// Blocks in the stream (22 instructions each with its stub).
const BLOCKS: usize = 5_000;

/// Interleaved runs of each contender for the printed summary.
const RUNS: usize = 21;

/// The recompiler's guest register map (`ω0..ω12`), as x86-64 register
/// numbers (rax = 0 ... r15 = 15): rbx rsi r13 r14 r12 r8 r9 rdi rax rdx
/// rbp r10 r11.
const GUEST: [u8; 13] = [3, 6, 13, 14, 12, 8, 9, 7, 0, 2, 5, 10, 11];

/// The gas counter and a context slot, below the guest memory base (r15).
const GAS: i32 = -0xea0;
const SLOT: i32 = -0xf00;

/// The `i`-th register of block `b`: the guest map rotated by the block.
fn r(b: usize, i: usize) -> u8 {
    GUEST[(b + i) % GUEST.len()]
}

fn n64(x: u8) -> N {
    [
        N::rax,
        N::rcx,
        N::rdx,
        N::rbx,
        N::rsp,
        N::rbp,
        N::rsi,
        N::rdi,
        N::r8,
        N::r9,
        N::r10,
        N::r11,
        N::r12,
        N::r13,
        N::r14,
        N::r15,
    ][x as usize]
}

fn polkavm_assembler() -> Vec<u8> {
    let mut asm = Assembler::new();
    let blocks: Vec<Label> = (0..=BLOCKS).map(|_| asm.forward_declare_label()).collect();
    let stubs: Vec<Label> = (0..BLOCKS).map(|_| asm.forward_declare_label()).collect();
    let exit = asm.forward_declare_label();
    let tmp = N::rcx;
    let at_rcx = || base_index(RegSize::R64, N::r15, RegIndex::rcx);
    for b in 0..BLOCKS {
        let g = |i| n64(r(b, i));
        asm.define_label(blocks[b]);
        asm.push(sub((
            reg_indirect(RegSize::R64, N::r15 + GAS),
            imm64((b % 97 + 1) as i32),
        )));
        asm.push(jcc_label32(Condition::Less, stubs[b]));
        asm.push(lea(
            RegSize::R32,
            tmp,
            reg_indirect(RegSize::R64, g(0) + 0x10),
        ));
        asm.push(load(LoadKind::U64, g(1), at_rcx()));
        asm.push(lea(
            RegSize::R64,
            g(2),
            reg_indirect(RegSize::R64, g(3) + 8),
        ));
        asm.push(mov_imm(RegMem::Reg(g(4)), imm32(0x1234 + b as u32)));
        asm.push(mov(RegSize::R64, g(5), g(6)));
        asm.push(shl_imm(RegSize::R64, RegMem::Reg(g(7)), 3));
        asm.push(or((RegSize::R64, g(8), g(9))));
        asm.push(lea(
            RegSize::R32,
            tmp,
            reg_indirect(RegSize::R64, g(10) + 0x20),
        ));
        asm.push(load(LoadKind::U8, g(11), at_rcx()));
        asm.push(mov(RegSize::R32, tmp, g(12)));
        asm.push(store(Size::U64, at_rcx(), g(0)));
        asm.push(store(
            Size::U64,
            reg_indirect(RegSize::R64, N::r15 + SLOT),
            g(1),
        ));
        asm.push(cmp((g(2), imm64(7))));
        asm.push(jcc_label32(Condition::Equal, blocks[b + 1]));
        asm.push(mov_imm64(g(3), 0x0123_4567_89ab_cdef_u64));
        asm.push(cmp((RegSize::R64, g(4), g(5))));
        asm.push(jcc_label32(
            Condition::NotEqual,
            blocks[b.saturating_sub(1)],
        ));
        asm.push(jmp_label32(blocks[b + 1]));
    }
    asm.define_label(blocks[BLOCKS]);
    asm.push(ud2());
    for (b, stub) in stubs.iter().enumerate() {
        asm.define_label(*stub);
        asm.push(mov_imm(RegMem::Reg(tmp), imm32(b as u32)));
        asm.push(jmp_label32(exit));
    }
    asm.define_label(exit);
    asm.push(ret());
    Vec::from(asm.finalize())
}

/// `defaults`: the `CodeAssembler` as it comes (its block encoder shortens
/// every branch that fits); otherwise near branches, left as they are.
fn iced(defaults: bool) -> Vec<u8> {
    use ia::registers::*;
    let r64 = |x: u8| {
        [
            rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
        ][x as usize]
    };
    let r32 = |x: u8| {
        [
            eax, ecx, edx, ebx, esp, ebp, esi, edi, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d,
        ][x as usize]
    };
    let mut a = CodeAssembler::new(64).unwrap();
    if !defaults {
        a.set_prefer_short_branch(false);
    }
    let mut blocks: Vec<_> = (0..=BLOCKS).map(|_| a.create_label()).collect();
    let mut stubs: Vec<_> = (0..BLOCKS).map(|_| a.create_label()).collect();
    let mut exit = a.create_label();
    let ok = |r: Result<(), iced_x86::IcedError>| r.unwrap();
    for b in 0..BLOCKS {
        let g = |i| r64(r(b, i));
        ok(a.set_label(&mut blocks[b]));
        ok(a.sub(ia::qword_ptr(r15 + GAS), (b % 97 + 1) as i32));
        ok(a.jl(stubs[b]));
        ok(a.lea(ecx, ia::ptr(g(0) + 0x10)));
        ok(a.mov(g(1), ia::qword_ptr(r15 + rcx)));
        ok(a.lea(g(2), ia::ptr(g(3) + 8)));
        ok(a.mov(r32(r(b, 4)), 0x1234 + b as u32));
        ok(a.mov(g(5), g(6)));
        ok(a.shl(g(7), 3u32));
        ok(a.or(g(8), g(9)));
        ok(a.lea(ecx, ia::ptr(g(10) + 0x20)));
        ok(a.movzx(g(11), ia::byte_ptr(r15 + rcx)));
        ok(a.mov(ecx, r32(r(b, 12))));
        ok(a.mov(ia::qword_ptr(r15 + rcx), g(0)));
        ok(a.mov(ia::qword_ptr(r15 + SLOT), g(1)));
        ok(a.cmp(g(2), 7));
        ok(a.je(blocks[b + 1]));
        ok(a.mov(g(3), 0x0123_4567_89ab_cdef_u64));
        ok(a.cmp(g(4), g(5)));
        ok(a.jne(blocks[b.saturating_sub(1)]));
        ok(a.jmp(blocks[b + 1]));
    }
    ok(a.set_label(&mut blocks[BLOCKS]));
    ok(a.ud2());
    for (b, stub) in stubs.iter_mut().enumerate() {
        ok(a.set_label(stub));
        ok(a.mov(ecx, b as u32));
        ok(a.jmp(exit));
    }
    ok(a.set_label(&mut exit));
    ok(a.ret());
    if defaults {
        a.assemble(0).unwrap()
    } else {
        let options = iced_x86::BlockEncoderOptions::DONT_FIX_BRANCHES;
        let result = a.assemble_options(0, options).unwrap();
        result.inner.code_buffer
    }
}

#[allow(
    clippy::useless_conversion,
    reason = "`dynasm!` converts dynamic register numbers with `.into()`"
)]
fn dynasm() -> Vec<u8> {
    let mut ops = dynasmrt::VecAssembler::<dynasmrt::x64::X64Relocation>::new(0);
    let blocks: Vec<_> = (0..=BLOCKS).map(|_| ops.new_dynamic_label()).collect();
    let stubs: Vec<_> = (0..BLOCKS).map(|_| ops.new_dynamic_label()).collect();
    let exit = ops.new_dynamic_label();
    for b in 0..BLOCKS {
        let g = |i| r(b, i);
        let (cost, imm, next, back) = (
            (b % 97 + 1) as i32,
            0x1234 + b as i32,
            blocks[b + 1],
            blocks[b.saturating_sub(1)],
        );
        dynasm!(ops
            ; .arch x64
            ; =>blocks[b]
            ; sub QWORD [r15 + GAS], cost
            ; jl =>stubs[b]
            ; lea ecx, [Rq(g(0)) + 0x10]
            ; mov Rq(g(1)), QWORD [r15 + rcx]
            ; lea Rq(g(2)), [Rq(g(3)) + 8]
            ; mov Rd(g(4)), DWORD imm
            ; mov Rq(g(5)), Rq(g(6))
            ; shl Rq(g(7)), 3
            ; or Rq(g(8)), Rq(g(9))
            ; lea ecx, [Rq(g(10)) + 0x20]
            ; movzx Rq(g(11)), BYTE [r15 + rcx]
            ; mov ecx, Rd(g(12))
            ; mov QWORD [r15 + rcx], Rq(g(0))
            ; mov QWORD [r15 + SLOT], Rq(g(1))
            ; cmp Rq(g(2)), 7
            ; je =>next
            ; mov Rq(g(3)), QWORD 0x0123_4567_89ab_cdef
            ; cmp Rq(g(4)), Rq(g(5))
            ; jne =>back
            ; jmp =>next
        );
    }
    dynasm!(ops ; .arch x64 ; =>blocks[BLOCKS] ; ud2);
    for (b, stub) in stubs.iter().enumerate() {
        let index = b as i32;
        dynasm!(ops
            ; .arch x64
            ; =>*stub
            ; mov ecx, DWORD index
            ; jmp =>exit
        );
    }
    dynasm!(ops ; .arch x64 ; =>exit ; ret);
    ops.finalize().unwrap()
}

/// The decoded stream: each instruction's text (branches as the index of
/// their target instruction), so encodings of different lengths compare.
fn decoded(code: &[u8]) -> Vec<String> {
    use iced_x86::{Decoder, DecoderOptions, Formatter, NasmFormatter, OpKind};
    let instructions: Vec<_> = Decoder::with_ip(64, code, 0, DecoderOptions::NONE)
        .into_iter()
        .collect();
    let index: std::collections::HashMap<u64, usize> = instructions
        .iter()
        .enumerate()
        .map(|(i, x)| (x.ip(), i))
        .collect();
    let mut formatter = NasmFormatter::new();
    instructions
        .iter()
        .map(|x| {
            if matches!(x.op0_kind(), OpKind::NearBranch64) {
                format!("{:?} -> {}", x.mnemonic(), index[&x.near_branch_target()])
            } else {
                let mut text = String::new();
                formatter.format(x, &mut text);
                text
            }
        })
        .collect()
}

type Contender = (&'static str, fn() -> Vec<u8>);

fn bench(c: &mut Criterion) {
    let contenders: [Contender; 4] = [
        ("polkavm-assembler", polkavm_assembler),
        ("iced-x86", || iced(false)),
        ("iced-x86-default", || iced(true)),
        ("dynasmrt", dynasm),
    ];
    let reference = decoded(&polkavm_assembler());
    assert_eq!(reference.len(), BLOCKS * 22 + 2, "instructions");
    for (name, encode) in &contenders {
        assert_eq!(
            decoded(&encode()),
            reference,
            "{name}: the same instructions"
        );
    }

    let mut group = c.benchmark_group("pvm-asm");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for (name, encode) in &contenders {
        group.bench_function(*name, |b| b.iter(|| black_box(encode())));
    }
    group.finish();

    let mut times = vec![Vec::new(); contenders.len()];
    for _ in 0..RUNS {
        for (i, (_, encode)) in contenders.iter().enumerate() {
            let t = Instant::now();
            black_box(encode());
            times[i].push(t.elapsed());
        }
    }
    println!(
        "\nx86-64 assembler: {} instructions, {RUNS} interleaved runs each",
        reference.len()
    );
    println!(
        "{:<18} {:>9} {:>9} {:>7} {:>9} {:>8}",
        "assembler", "min µs", "med µs", "ratio", "ns/inst", "bytes"
    );
    let base = *times[0].iter().min().unwrap();
    for ((name, encode), t) in contenders.iter().zip(&mut times) {
        t.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "{:<18} {:>9.1} {:>9.1} {:>7.2} {:>9.2} {:>8}",
            name,
            us(t[0]),
            us(t[t.len() / 2]),
            us(t[0]) / us(base),
            t[0].as_nanos() as f64 / reference.len() as f64,
            encode().len()
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
