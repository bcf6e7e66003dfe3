//! The corpus is what its indexes say: every parser has at least
//! [`MIN_CASES`] cases, each with a note and the strings its error must
//! name; every case file exists and every file is a case; the generated
//! signed cases are the ones `src/signed.rs` builds today.

use braid_badinput::keys::{FUNDED, account_address, base_chain_dir, base_spec, braid_address};
use braid_badinput::{MIN_CASES, PARSERS, case_entries, cases, corpus_dir, signed};

/// Parsers whose cases are files (or folders) beside the index.
const FILE_PARSERS: [&str; 5] = ["spec", "genesis", "blocks", "pvm", "wasm"];

#[test]
fn every_parser_has_enough_cases_each_with_a_note_and_names() {
    let mut counts = Vec::new();
    for parser in PARSERS {
        let cases = cases(parser);
        counts.push(format!("{parser} {}", cases.len()));
        assert!(
            cases.len() >= MIN_CASES,
            "testing/corpus/{parser} has {} cases, fewer than {MIN_CASES}",
            cases.len()
        );
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "{parser}: a case is listed twice");
    }
    println!("cases per parser: {}", counts.join(", "));
}

#[test]
fn every_case_file_exists_and_every_file_is_a_case() {
    for parser in FILE_PARSERS {
        let listed: std::collections::BTreeSet<String> =
            cases(parser).into_iter().map(|c| c.name).collect();
        let present = case_entries(parser);
        let missing: Vec<_> = listed.difference(&present).collect();
        let unlisted: Vec<_> = present.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "{parser}: listed but absent: {missing:?}"
        );
        assert!(
            unlisted.is_empty(),
            "{parser}: files without an entry in cases.toml: {unlisted:?}"
        );
    }
}

#[test]
fn the_base_chain_funds_the_corpus_keys() {
    let spec = base_spec();
    for address in [account_address(FUNDED), braid_address(FUNDED)] {
        assert!(
            spec.alloc
                .iter()
                .any(|a| a.address == address && !a.balance.is_zero()),
            "{} does not fund {address}",
            base_chain_dir().join("chain.toml").display()
        );
    }
}

#[test]
fn signed_cases_are_what_signed_rs_generates() {
    let spec = base_spec();
    let write = std::env::var_os("BRAID_CORPUS_WRITE").is_some();
    for (parser, cases) in [
        ("ethereum", signed::ethereum_cases(&spec)),
        ("braid", signed::braid_cases(&spec)),
    ] {
        let path = corpus_dir().join(parser).join("signed.toml");
        let text = signed::render(parser, &cases);
        if write {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} is not what src/signed.rs generates: run `BRAID_CORPUS_WRITE=1 cargo test \
             --release -p braid-badinput --test corpus_index` and commit it",
            path.display()
        );
    }
}
