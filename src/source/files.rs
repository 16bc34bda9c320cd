//! Files on disk and standard input, for `scan-path`: CI logs, build artifacts, folders outside
//! git. Everything in them counts as added.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

use super::archived::added_in_archive;
use super::blobs::added_content;
use super::AddedText;
use crate::archive::is_archive;
use crate::detect::may_contain_secret;

/// The label reports give to standard input.
pub const STDIN_LABEL: &str = "(stdin)";

/// Calls `sink` with the content of every file under `paths` that may hold a secret. A directory
/// is walked respecting `.gitignore` (and `.ignore`) files, hidden files included since secrets
/// live in `.env` and `.cargo/`; a file named explicitly is always read; `-` is standard input.
pub fn added_in_paths(
    paths: &[impl AsRef<Path>],
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<usize> {
    let mut files_read = 0;
    for path in paths {
        let path = path.as_ref();
        if path == Path::new("-") {
            let mut content = Vec::new();
            std::io::stdin()
                .read_to_end(&mut content)
                .context("reading standard input")?;
            files_read += 1;
            emit(STDIN_LABEL.as_bytes().to_vec(), &content, sink)?;
            continue;
        }
        // Said once, as other tools say it: "PATH: No such file or directory".
        std::fs::metadata(path).with_context(|| path.display().to_string())?;
        let walk = ignore::WalkBuilder::new(path)
            .hidden(false)
            .require_git(false)
            .filter_entry(|entry| entry.file_name() != ".git")
            .build();
        for entry in walk {
            let entry = entry.with_context(|| format!("walking {}", path.display()))?;
            if !entry.file_type().is_some_and(|kind| kind.is_file()) {
                continue;
            }
            let content = std::fs::read(entry.path())
                .with_context(|| format!("reading {}", entry.path().display()))?;
            files_read += 1;
            let label = entry.path().strip_prefix("./").unwrap_or(entry.path());
            emit(path_bytes(label), &content, sink)?;
        }
    }
    Ok(files_read)
}

fn emit(
    label: Vec<u8>,
    content: &[u8],
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    if let Some(added) = AddedText::new_path(&label, None) {
        sink(added)?;
    }
    if is_archive(content) {
        return added_in_archive(&label, content, None, sink);
    }
    if !may_contain_secret(&label, content) {
        return Ok(());
    }
    let added = added_content(None, content)?;
    sink(AddedText::new(label, None, added, content))
}

fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().replace('\\', "/").into_bytes()
    }
}
