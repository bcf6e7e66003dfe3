//! `braid-badinput`: Braid's bad-input corpus and what runs it.
//!
//! What it is: the index of `testing/corpus/<parser>/cases.toml` ([`cases`]),
//! the corpus's public test keys and base chain ([`keys`]), the signed
//! transaction cases, generated here and committed as
//! `testing/corpus/{ethereum,braid}/signed.toml` ([`signed`]), and the
//! recipes that turn a plugin case into a library file ([`plugin`]). Its
//! tests run the cases whose real entry point is a library call
//! (`Chain::apply_block` with a Braid `Deploy` for PVM and WASM code,
//! `braid_plugin_loader::load` for plugin libraries) and the mutation
//! property tests; `chains/cli/tests/badinput.rs` runs every case whose
//! entry point is the `braid` binary (cargo hands the freshly built binary
//! only to that crate's tests).
//!
//! What it does not do: it is tooling beside the product crates; nothing
//! but tests depends on it.
//!
//! # The corpus
//! One folder per parser at the edge ([`PARSERS`]), each with a
//! `cases.toml`: one entry per case, keyed by the case's file (file
//! parsers) or name (table parsers), with `breaks` (what it breaks, one
//! line) and `names` (strings the error must contain: the offending value
//! or field), plus the case's data for table parsers. `testing/corpus/README.md`
//! describes each parser's entry point and fields.

pub mod keys;
pub mod plugin;
pub mod signed;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every parser the corpus covers, one folder each under `testing/corpus/`.
pub const PARSERS: [&str; 10] = [
    "spec", "genesis", "blocks", "ethereum", "braid", "pvm", "wasm", "plugins", "proofs", "cli",
];

/// Fewest cases a parser's folder holds.
pub const MIN_CASES: usize = 20;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `testing/corpus`.
pub fn corpus_dir() -> PathBuf {
    repo_root().join("testing/corpus")
}

/// One case of the corpus.
#[derive(Clone, Debug)]
pub struct Case {
    /// The parser's folder name.
    pub parser: String,
    /// The file (file parsers) or the case's name (table parsers).
    pub name: String,
    /// What it breaks.
    pub breaks: String,
    /// Strings the error must contain.
    pub names: Vec<String>,
    /// The entry's other fields (a table parser's data).
    pub fields: toml::Table,
}

impl Case {
    /// `testing/corpus/<parser>/<name>`: the case's file or folder.
    pub fn path(&self) -> PathBuf {
        corpus_dir().join(&self.parser).join(&self.name)
    }

    /// A string field.
    ///
    /// # Panics
    /// If it is present and not a string.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{self}: `{key}` is not a string"))
        })
    }

    /// A list-of-strings field (empty when absent).
    ///
    /// # Panics
    /// If it is present and not a list of strings.
    pub fn texts(&self, key: &str) -> Vec<String> {
        self.fields
            .get(key)
            .map_or_else(Vec::new, |v| strings(v, self, key))
    }

    /// An integer field.
    ///
    /// # Panics
    /// If it is present and not a non-negative integer.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.fields.get(key).map(|v| {
            v.as_integer()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or_else(|| panic!("{self}: `{key}` is not a non-negative integer"))
        })
    }

    /// Panics, naming the case, unless `text` contains every string of
    /// [`Case::names`] (after replacing each `{key}` with its value).
    pub fn assert_named(&self, text: &str, replace: &[(&str, &str)]) {
        for name in &self.names {
            let mut needle = name.clone();
            for (key, value) in replace {
                needle = needle.replace(&format!("{{{key}}}"), value);
            }
            assert!(
                text.contains(&needle),
                "{self} ({}): the error does not name {needle:?}:\n{text}",
                self.breaks
            );
        }
    }
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "testing/corpus/{}/{}", self.parser, self.name)
    }
}

fn strings(value: &toml::Value, case: &dyn std::fmt::Display, key: &str) -> Vec<String> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or_else(|| panic!("{case}: `{key}` is not a list of strings"))
}

/// Index files of a parser's folder: `cases.toml`, and `signed.toml` where
/// [`signed`] generates cases.
const INDEX_FILES: [&str; 2] = ["cases.toml", "signed.toml"];

/// The cases of `parser`, in index order (`cases.toml`, then `signed.toml`).
///
/// # Panics
/// If an index is missing or malformed, or an entry lacks `breaks` or
/// `names`: the corpus is broken and every test using it should say so.
pub fn cases(parser: &str) -> Vec<Case> {
    let dir = corpus_dir().join(parser);
    assert!(
        dir.join("cases.toml").is_file(),
        "{} has no cases.toml",
        dir.display()
    );
    let mut out = Vec::new();
    for index in INDEX_FILES {
        let path = dir.join(index);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let table: toml::Table = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a TOML table: {e}", path.display()));
        for (name, entry) in table {
            let label = format!("testing/corpus/{parser}/{name}");
            let mut fields = entry
                .as_table()
                .cloned()
                .unwrap_or_else(|| panic!("{label}: the entry is not a table"));
            let breaks = fields
                .remove("breaks")
                .and_then(|v| v.as_str().map(str::to_owned))
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| panic!("{label}: no `breaks` note"));
            let names = fields
                .remove("names")
                .map(|v| strings(&v, &label, "names"))
                .filter(|n| !n.is_empty() && n.iter().all(|s| !s.is_empty()))
                .unwrap_or_else(|| panic!("{label}: no `names`"));
            out.push(Case {
                parser: parser.to_owned(),
                name,
                breaks,
                names,
                fields,
            });
        }
    }
    out
}

/// Files and folders of a file parser's folder that are cases: everything
/// but the indexes and the support entries (`README.md`, `build.*`,
/// `src/`, `files/`).
pub fn case_entries(parser: &str) -> BTreeSet<String> {
    let dir = corpus_dir().join(parser);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !INDEX_FILES.contains(&name.as_str())
                && !matches!(name.as_str(), "README.md" | "src" | "files")
                && !name.starts_with("build.")
        })
        .collect()
}
