//! From a tree-level diff to the added lines of the files that may hold a token.
//!
//! The tree comparison ([`super::tree_diff`]) only compares object ids. For each changed file the
//! new blob is read once and tested with the cheap prefilter; only blobs that pass get a line diff
//! against their old version. This keeps a small change in a huge repository, and a history scan,
//! cheap.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use git2::{Blob, DiffOptions, Oid, Patch, Repository};

use super::tree_diff::FileChange;
use super::{AddedContent, AddedLine, AddedText, CommitInfo};
use crate::detect::credentials::is_credentials_path;
use crate::detect::decode::decode_utf16;
use crate::detect::may_contain_secret;
use crate::redact::redact_text;

/// How many leading bytes git inspects for a NUL byte to call a file binary.
const BINARY_SNIFF_LEN: usize = 8000;

/// Blobs found to hold nothing any rule can match, remembered for one run so that a blob that
/// many commits or paths carry is read and tested once. Shared by the scanning threads.
///
/// Only the "nothing here" verdict is kept: a blob with a candidate is diffed wherever it is
/// added, so findings are still attributed to the commit and path that added each line.
#[derive(Debug, Default)]
pub struct CleanBlobs {
    shards: [Mutex<HashSet<Oid>>; CLEAN_BLOB_SHARDS],
}

/// Independent locks, so that threads rarely wait for each other.
const CLEAN_BLOB_SHARDS: usize = 16;

impl CleanBlobs {
    fn shard(&self, id: Oid) -> &Mutex<HashSet<Oid>> {
        &self.shards[usize::from(id.as_bytes()[0]) % CLEAN_BLOB_SHARDS]
    }

    /// Whether `id` was found clean before.
    pub fn contains(&self, id: Oid) -> bool {
        self.shard(id)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&id)
    }

    /// Remembers that `id` holds nothing any rule can match.
    pub fn insert(&self, id: Oid) {
        self.shard(id)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id);
    }
}

/// Calls `sink` with what each change adds to a file whose new content may hold a secret, and
/// with the path of each added file whose path holds a token.
///
/// Renames are deliberately not detected (as `git diff --no-renames`): a renamed or copied file
/// counts as new, so a token in it is reported again rather than trusted because a similar file
/// existed. The fingerprint allowlist follows a token wherever it moves.
pub fn added_in_changes(
    repo: &Repository,
    changes: &[FileChange],
    commit: Option<&Arc<CommitInfo>>,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    added_in_changes_skipping(repo, changes, commit, &CleanBlobs::default(), sink)
}

/// [`added_in_changes`], skipping blobs already in `clean` and adding those found clean to it.
pub fn added_in_changes_skipping(
    repo: &Repository,
    changes: &[FileChange],
    commit: Option<&Arc<CommitInfo>>,
    clean: &CleanBlobs,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    for change in changes {
        if change.old.is_none() {
            if let Some(added) = AddedText::new_path(&change.path, commit.cloned()) {
                sink(added)?;
            }
        }
        let (new_id, _) = change.new;
        // A credentials file's verdict depends on its path, so it is never remembered.
        let remembered = !is_credentials_path(&change.path);
        if new_id == empty_blob_id() || (remembered && clean.contains(new_id)) {
            continue;
        }
        let new_blob = find_blob(repo, new_id, &change.path)?;
        if !may_contain_secret(&change.path, new_blob.content()) {
            if remembered {
                clean.insert(new_id);
            }
            continue;
        }
        let old_blob = match change.old {
            Some((old_id, _)) if old_id != empty_blob_id() => {
                Some(find_blob(repo, old_id, &change.path)?)
            }
            _ => None,
        };
        let content = added_content(old_blob.as_ref().map(Blob::content), new_blob.content())
            .with_context(|| format!("diffing {}", redact_text(&change.path)))?;
        sink(AddedText::new(
            change.path.clone(),
            commit.cloned(),
            content,
            new_blob.content(),
        ))?;
    }
    Ok(())
}

/// The id of the empty blob, which git does not always store (intent-to-add entries use it).
fn empty_blob_id() -> Oid {
    Oid::from_str("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391").expect("a valid object id")
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

/// Content as the detector reads it: UTF-16 text with a byte-order mark decoded to UTF-8,
/// anything else as it is.
pub fn as_text(content: &[u8]) -> Cow<'_, [u8]> {
    match decode_utf16(content) {
        Some(text) => Cow::Owned(text.into_bytes()),
        None => Cow::Borrowed(content),
    }
}

/// What `new` adds over `old`: its added lines (UTF-16 text is decoded first), or for binary
/// content, the whole of it with the old version to compare secrets against.
pub fn added_content<'a>(old: Option<&'a [u8]>, new: &'a [u8]) -> Result<AddedContent<'a>> {
    let decoded_new = decode_utf16(new);
    let decoded_old = old.and_then(decode_utf16);
    let new_text = decoded_new.as_ref().map_or(new, |text| text.as_bytes());
    let old_text = match (&decoded_old, old) {
        (Some(text), _) => Some(text.as_bytes()),
        (None, old) => old,
    };
    if decoded_new.is_none() && (is_binary(new) || old_text.is_some_and(is_binary)) {
        return Ok(AddedContent::Binary {
            bytes: Cow::Borrowed(new),
            previous: old.map(Cow::Borrowed).into_iter().collect(),
        });
    }
    match old_text {
        None => Ok(AddedContent::Text(match decoded_new {
            Some(text) => Cow::Owned(text.into_bytes()),
            None => Cow::Borrowed(new),
        })),
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
