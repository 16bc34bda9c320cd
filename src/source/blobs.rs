//! From a tree-level diff to the added lines of the files that may hold a token.
//!
//! The tree-level diff only compares object ids. For each changed file the new blob is read once
//! and tested with the cheap prefilter; only blobs that pass get a line diff against their old
//! version. This keeps a small change in a huge repository, and a history scan, cheap.

use std::sync::Arc;

use anyhow::{Context, Result};
use git2::{Blob, Delta, Diff, DiffOptions, FileMode, Oid, Patch, Repository};

use super::{AddedContent, AddedLine, AddedText, CommitInfo};
use crate::detect::decode::decode_utf16;
use crate::detect::may_contain_secret;
use crate::redact::redact_text;

/// How many leading bytes git inspects for a NUL byte to call a file binary.
const BINARY_SNIFF_LEN: usize = 8000;

/// Diff options shared by every tree-level diff.
///
/// Renames are deliberately not detected (as `git diff --no-renames`): a renamed or copied file
/// counts as new, so a token in it is reported again rather than trusted because a similar file
/// existed. The fingerprint allowlist follows a token wherever it moves. Similarity detection
/// would also cost a content comparison per added file, and libgit2's heuristic differs from
/// git's, so the two would disagree on what a change adds.
pub fn tree_diff_options() -> DiffOptions {
    let mut options = DiffOptions::new();
    options.include_typechange(true).ignore_submodules(false);
    options
}

/// Calls `sink` with what `diff` adds to each file whose new content may hold a token.
pub fn added_in_diff(
    repo: &Repository,
    diff: &Diff<'_>,
    commit: Option<&Arc<CommitInfo>>,
    sink: &mut dyn FnMut(AddedText) -> Result<()>,
) -> Result<()> {
    for delta in diff.deltas() {
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) {
            continue;
        }
        let new_file = delta.new_file();
        let path = new_file.path_bytes().unwrap_or_default().to_vec();
        let Some(new_blob) = find_file_blob(repo, new_file.mode(), new_file.id(), &path)? else {
            continue;
        };
        if !may_contain_secret(&path, new_blob.content()) {
            continue;
        }
        let old_file = delta.old_file();
        let old_path = old_file.path_bytes().unwrap_or_default();
        let old_blob = find_file_blob(repo, old_file.mode(), old_file.id(), old_path)?;
        let content = added_content(old_blob.as_ref().map(Blob::content), new_blob.content())
            .with_context(|| format!("diffing {}", redact_text(&path)))?;
        sink(AddedText::new(
            path,
            commit.cloned(),
            content,
            new_blob.content(),
        ))?;
    }
    Ok(())
}

/// The blob behind a diff side, when that side is a regular file or a symlink (whose blob is the
/// link's target text). Gitlinks (submodules) and absent sides give `None`.
pub fn find_file_blob<'r>(
    repo: &'r Repository,
    mode: FileMode,
    id: Oid,
    path: &[u8],
) -> Result<Option<Blob<'r>>> {
    if id.is_zero()
        || !matches!(
            mode,
            FileMode::Blob | FileMode::BlobExecutable | FileMode::Link
        )
    {
        return Ok(None);
    }
    find_blob(repo, id, path).map(Some)
}

/// Reads a blob, naming the file it belongs to when it cannot be read (a corrupt object, or one
/// missing from a partial clone).
pub fn find_blob<'r>(repo: &'r Repository, id: Oid, path: &[u8]) -> Result<Blob<'r>> {
    repo.find_blob(id).with_context(|| {
        format!(
            "reading blob {id} of {} (missing or corrupt object)",
            redact_text(path)
        )
    })
}

/// Whether git would call this content binary: a NUL byte near the start.
pub fn is_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(BINARY_SNIFF_LEN)]).is_some()
}

/// What `new` adds over `old`: its added lines (UTF-16 text is decoded first), or for binary
/// content, the whole of it with the old version to compare secrets against.
pub fn added_content(old: Option<&[u8]>, new: &[u8]) -> Result<AddedContent> {
    let decoded_new = decode_utf16(new);
    let decoded_old = old.and_then(decode_utf16);
    let new_text = decoded_new.as_ref().map_or(new, |text| text.as_bytes());
    let old_text = match (&decoded_old, old) {
        (Some(text), _) => Some(text.as_bytes()),
        (None, old) => old,
    };
    if decoded_new.is_none() && (is_binary(new) || old_text.is_some_and(is_binary)) {
        return Ok(AddedContent::Binary {
            bytes: new.to_vec(),
            previous: old.map(<[u8]>::to_vec).into_iter().collect(),
        });
    }
    match old_text {
        None => Ok(AddedContent::Text(new_text.to_vec())),
        Some(old_text) => Ok(AddedContent::Lines(added_lines(Some(old_text), new_text)?)),
    }
}

/// The lines a line diff from `old` to `new` marks as added, as `git diff -U0` shows them.
pub fn added_lines(old: Option<&[u8]>, new: &[u8]) -> Result<Vec<AddedLine>> {
    let Some(old) = old else {
        return Ok(super::all_lines(new));
    };
    let mut options = DiffOptions::new();
    options
        .context_lines(0)
        .interhunk_lines(0)
        .force_text(true)
        .indent_heuristic(true);
    let patch = Patch::from_buffers(old, None, new, None, Some(&mut options))?;
    let mut lines = Vec::new();
    for hunk in 0..patch.num_hunks() {
        for index in 0..patch.num_lines_in_hunk(hunk)? {
            let line = patch.line_in_hunk(hunk, index)?;
            if line.origin() == '+' {
                if let Some(number) = line.new_lineno() {
                    lines.push(AddedLine {
                        number,
                        bytes: line.content().to_vec(),
                    });
                }
            }
        }
    }
    Ok(lines)
}
