//! The cross-engine read benchmark (RFC 0004): every ordered pair of
//! Braid's engines, one 32-byte read across engines against the reading
//! engine's native read, warm and cold. The measurement lives in
//! `braid_benches::cross_engine` (shared with `braid bench cross-engine`);
//! this bench adds criterion's statistics for whole calls (`n` warm reads
//! per call, native and cross side by side) and prints the table.

use std::hint::black_box;

use braid_benches::cross_engine::{Params, World, markdown};
use criterion::{Criterion, criterion_group};

fn bench(c: &mut Criterion) {
    let world = World::new(braid_benches::cross_engine::wasm_engine());
    world.check();
    let sides = world.sides().to_vec();
    for &reader in &sides {
        let mut group = c.benchmark_group(format!("cross_engine/{}", reader.name()));
        group.sample_size(20);
        for &owner in &sides {
            group.bench_function(format!("read {} x1000", owner.name()), |b| {
                b.iter(|| black_box(world.timed_call(reader, owner, 1000)))
            });
        }
        group.finish();
    }
    let rows = world.run(Params::default());
    println!(
        "\nCross-engine reads (median ns per 32-byte read)\n{}",
        markdown(&rows)
    );
    if let Some(token) = world.token_workload(1000) {
        println!("{}", braid_benches::cross_engine::token_markdown(&token));
    }
    let svg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cross_engine.svg");
    braid_benches::cross_engine::chart(&rows, &svg).expect("chart");
    println!("chart: {}", svg.display());
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
