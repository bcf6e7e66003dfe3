//! Plugin-library cases are recipes (`testing/corpus/plugins/cases.toml`):
//! a library file is built from a committed or workspace-built library (or
//! from nothing) by byte patches or truncation, then pinned with an engine
//! id and a digest. [`materialize`] writes the file into a folder and says
//! how to pin it; the runners hand that to `braid_plugin_loader::load` and
//! to a chain spec's `[[plugins]]` entry.
//!
//! Recipe fields:
//! - `from`: `"stack"` (`chains/dev/plugins/libbraid_plugin_stack.so`, the
//!   dev chain's committed, stripped example plugin), `"built:<name>"`
//!   (`lib<name>.so` as the workspace builds it), `"text:<content>"`,
//!   `"dir"` (a directory), `"none"` (no file), `"loop"` (a symlink to
//!   itself);
//! - `patch`: `[[find, replace], ...]`, each `0x`-hex or ASCII, each `find`
//!   occurring exactly once in the file;
//! - `truncate`: keep the first N bytes;
//! - `pin`: `"own"` (the file's SHA-256, default) or `"flipped"` (it, with
//!   one bit flipped);
//! - `engine`: the engine id, as a chain spec writes it (default `"0x10"`);
//! - `file`: the file name (default `libcase.so`; may hold any character).

use std::path::{Path, PathBuf};

use crate::Case;

/// A library as the case pins it.
#[derive(Clone, Debug)]
pub struct Pinned {
    /// The library's path.
    pub path: PathBuf,
    /// The digest to pin.
    pub sha256: [u8; 32],
    /// The engine id, as a chain spec writes it (`"0x10"`).
    pub engine: String,
}

impl Pinned {
    /// The engine id as a number, if `engine` is one (else 0: an id the
    /// loader refuses too).
    pub fn engine_id(&self) -> u8 {
        let digits = self.engine.strip_prefix("0x").unwrap_or(&self.engine);
        u8::from_str_radix(digits, 16).unwrap_or(0)
    }

    /// The `[[plugins]]` entry of a chain spec pinning this library.
    pub fn spec_entry(&self) -> String {
        let mut entry = toml::Table::new();
        entry.insert("engine".into(), self.engine.clone().into());
        entry.insert(
            "path".into(),
            self.path.to_string_lossy().into_owned().into(),
        );
        entry.insert("sha256".into(), hex::encode(self.sha256).into());
        let mut doc = toml::Table::new();
        doc.insert("plugins".into(), toml::Value::Array(vec![entry.into()]));
        toml::to_string(&doc).expect("TOML renders")
    }
}

/// The committed library recipes start from.
pub fn stack_library() -> PathBuf {
    crate::repo_root().join("chains/dev/plugins/libbraid_plugin_stack.so")
}

fn bytes_of(text: &str) -> Vec<u8> {
    match text.strip_prefix("0x") {
        Some(digits) => hex::decode(digits).unwrap_or_else(|e| panic!("{text:?}: {e}")),
        None => text.as_bytes().to_vec(),
    }
}

/// Writes `case`'s library into `dir`.
///
/// # Panics
/// On a malformed recipe (unknown `from`, a `find` that does not occur
/// exactly once, a `built:` library the workspace has not built).
pub fn materialize(case: &Case, dir: &Path) -> Pinned {
    let file = case.text("file").unwrap_or("libcase.so");
    let path = dir.join(file);
    let from = case
        .text("from")
        .unwrap_or_else(|| panic!("{case}: no `from`"));
    let mut bytes = match from {
        "stack" => Some(std::fs::read(stack_library()).expect("the committed stack plugin")),
        "none" => None,
        "dir" => {
            std::fs::create_dir(&path).unwrap();
            None
        }
        "loop" => {
            std::os::unix::fs::symlink(&path, &path).unwrap();
            None
        }
        other => {
            if let Some(name) = other.strip_prefix("built:") {
                let lib = braid_plugin_loader::find_built_library(name).unwrap_or_else(|| {
                    panic!("{case}: lib{name} is not built (build the workspace first)")
                });
                Some(std::fs::read(lib).unwrap())
            } else if let Some(text) = other.strip_prefix("text:") {
                Some(text.as_bytes().to_vec())
            } else {
                panic!("{case}: unknown `from` {other:?}")
            }
        }
    };
    if let Some(bytes) = &mut bytes {
        if let Some(patches) = case.fields.get("patch") {
            let patches = patches.as_array().expect("`patch` is a list");
            for pair in patches {
                let pair = crate::strings(pair, case, "patch");
                let [find, replace] = &pair[..] else {
                    panic!("{case}: a patch is [find, replace]")
                };
                let (find, replace) = (bytes_of(find), bytes_of(replace));
                let at: Vec<usize> = bytes
                    .windows(find.len())
                    .enumerate()
                    .filter(|(_, w)| *w == find.as_slice())
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(
                    at.len(),
                    1,
                    "{case}: patch {find:02x?} occurs {} times",
                    at.len()
                );
                bytes.splice(at[0]..at[0] + find.len(), replace);
            }
        }
        if let Some(len) = case.number("truncate") {
            bytes.truncate(len as usize);
        }
        std::fs::write(&path, &bytes).unwrap();
    }
    let own = bytes
        .as_deref()
        .map_or([0; 32], braid_plugin_loader::sha256);
    let sha256 = match case.text("pin").unwrap_or("own") {
        "own" => own,
        "flipped" => {
            let mut d = own;
            d[31] ^= 1;
            d
        }
        other => panic!("{case}: unknown `pin` {other:?}"),
    };
    Pinned {
        path,
        sha256,
        engine: case.text("engine").unwrap_or("0x10").to_owned(),
    }
}
