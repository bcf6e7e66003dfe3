//! Every Gray Paper PVM program vector in `../shared/vectors/pvm/programs`
//! passes on every backend (status, pc, registers, gas, memory).

use std::path::PathBuf;

use braid_pvm::vectors::{Backend, diff, parse_vector, run_vector};

fn vectors_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/vectors/pvm/programs");
    assert!(
        dir.is_dir(),
        "the PVM vectors are missing: expected {} (the `shared` folder beside the repository)",
        dir.display()
    );
    dir
}

fn run_all(backend: Backend) {
    let mut files: Vec<_> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 200, "only {} vectors found", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let vector = parse_vector(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = run_vector(&vector, backend).unwrap();
        let lines = diff(&vector, &outcome);
        if !lines.is_empty() {
            failures.push(format!("{}:\n  {}", vector.name, lines.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_program_vector_passes_on_the_interpreter() {
    run_all(Backend::Interpreter);
}
