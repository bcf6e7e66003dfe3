//! The input files of `braid statetest` and `braid pvm-vectors`: the files
//! named on the command line, and every `*.json` under the directories named.

use std::path::{Path, PathBuf};

/// Why the input files could not be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// A symlink points to a directory that contains it: walking it would
    /// never end.
    #[error("directory loop: {link} points back to its ancestor {ancestor}")]
    Loop {
        /// The symlink, as reached from the path given.
        link: PathBuf,
        /// The directory it points to.
        ancestor: PathBuf,
    },
    /// A directory or entry could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Every `*.json` file under `paths`, sorted and without duplicates. A path
/// that is not a directory is taken as a file (a missing or malformed one is
/// the command's failure to report, by name). Directories are searched
/// recursively, following symlinks, since vector sets are often linked in.
///
/// # Errors
/// [`FilesError::Loop`] naming the symlink and its ancestor if a symlink
/// leads back into a directory that contains it; [`FilesError::Io`] if a
/// directory cannot be read. Nothing is returned then: a run over a partial
/// list would look complete.
pub fn json_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FilesError> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(path).follow_links(true) {
            let entry = entry.map_err(|e| walk_error(path, e))?;
            let file = entry.path();
            if !entry.file_type().is_dir() && file.extension().is_some_and(|e| e == "json") {
                out.push(file.to_path_buf());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk_error(root: &Path, e: walkdir::Error) -> FilesError {
    let path = e.path().unwrap_or(root).to_path_buf();
    if let Some(ancestor) = e.loop_ancestor() {
        return FilesError::Loop {
            link: path,
            ancestor: ancestor.to_path_buf(),
        };
    }
    let source = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("directory walk failed"));
    FilesError::Io { path, source }
}
