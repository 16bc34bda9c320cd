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

use super::archived::added_in_archive;
use super::tree_diff::FileChange;
use super::verdicts::{NoVerdicts, Verdict, Verdicts};
use super::{AddedContent, AddedLine, AddedText, CommitInfo};
use crate::archive::is_archive;
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
    added_in_changes_skipping(
        repo,
        changes,
        commit,
        &NoVerdicts,
        &CleanBlobs::default(),
        sink,
    )
}

/// [`added_in_changes`], skipping blobs that `verdicts` calls clean or that are already in
/// `clean`, and adding those found clean to `clean`.
pub fn added_in_changes_skipping(
    repo: &Repository,
    changes: &[FileChange],
    commit: Option<&Arc<CommitInfo>>,
    verdicts: &dyn Verdicts,
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
        let known_clean =
            remembered && (verdicts.blob(new_id) == Verdict::Clean || clean.contains(new_id));
        if new_id == empty_blob_id() || known_clean {
            continue;
        }
        let new_blob = find_blob(repo, new_id, &change.path)?;
        if is_archive(new_blob.content()) {
            // Every entry counts as added: an archive's previous version is not compared.
            added_in_archive(&change.path, new_blob.content(), commit, sink)?;
            continue;
        }
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
///
/// Above [`TRIM_COMMON_LINES_ABOVE`] bytes, the lines both versions share at the start and at
/// the end are set aside before diffing: libgit2's line diff costs several times both versions
/// in memory, which for a huge file with a small change is the whole peak. The added lines are
/// the same text; where a change sits among repeated lines, its line numbers may be placed
/// differently than git's diff heuristics would place them.
pub fn added_lines(old: Option<&[u8]>, new: &[u8]) -> Result<Vec<AddedLine>> {
    let Some(old) = old else {
        return Ok(super::all_lines(new));
    };
    if old.len() + new.len() > TRIM_COMMON_LINES_ABOVE {
        return added_lines_between_common_ends(old, new);
    }
    diff_added_lines(old, new)
}

/// [`added_lines`] of the part of `old` and `new` between the lines they share at both ends.
fn added_lines_between_common_ends(old: &[u8], new: &[u8]) -> Result<Vec<AddedLine>> {
    let (prefix, suffix) = common_line_ends(old, new);
    let lines_before = memchr::memchr_iter(b'\n', &new[..prefix]).count() as u32;
    let mut lines = diff_added_lines(
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    )?;
    for line in &mut lines {
        line.number += lines_before;
    }
    Ok(lines)
}

/// Old and new versions larger than this together are diffed without their common lines.
pub const TRIM_COMMON_LINES_ABOVE: usize = 64 << 20;

/// The lengths in bytes of the whole lines that `old` and `new` share at their start and, in what
/// is left, at their end.
fn common_line_ends(old: &[u8], new: &[u8]) -> (usize, usize) {
    let same_start = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let prefix = memchr::memrchr(b'\n', &new[..same_start]).map_or(0, |end| end + 1);
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let same_end = old_rest
        .iter()
        .rev()
        .zip(new_rest.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    // The shared end must begin at the start of a line in both versions.
    let suffix = (0..=same_end)
        .rev()
        .find(|&length| {
            let starts_line = |rest: &[u8]| {
                let start = rest.len() - length;
                start == 0 || rest[start - 1] == b'\n'
            };
            starts_line(old_rest) && starts_line(new_rest)
        })
        .unwrap_or(0);
    (prefix, suffix)
}

fn diff_added_lines(old: &[u8], new: &[u8]) -> Result<Vec<AddedLine>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of distinct lines, so that every edit has one place and one diff.
    fn distinct_lines(count: usize, salt: &str) -> Vec<String> {
        (0..count).map(|i| format!("{salt} line {i}\n")).collect()
    }

    #[test]
    fn setting_common_ends_aside_finds_the_same_added_lines() {
        let mut state = 7u64;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % bound.max(1)
        };
        for round in 0..300 {
            let old = distinct_lines(next(40), "old");
            let mut new = old.clone();
            for edit in 0..next(4) {
                let at = next(new.len() + 1);
                match next(3) {
                    0 => new.insert(at, format!("added {round} {edit}\n")),
                    1 if at < new.len() => {
                        new.remove(at);
                    }
                    _ if at < new.len() => new[at] = format!("changed {round} {edit}\n"),
                    _ => {}
                }
            }
            let (old, mut new) = (old.concat(), new.concat());
            if next(4) == 0 {
                new.pop(); // no final newline
            }
            let full = diff_added_lines(old.as_bytes(), new.as_bytes()).unwrap();
            let trimmed = added_lines_between_common_ends(old.as_bytes(), new.as_bytes()).unwrap();
            assert_eq!(trimmed, full, "round {round}:\n{old}---\n{new}");
        }
    }

    #[test]
    fn common_ends_are_whole_lines() {
        assert_eq!(common_line_ends(b"a\nb\nc\n", b"a\nb\nc\n"), (6, 0));
        assert_eq!(common_line_ends(b"a\nbx\nc\n", b"a\nby\nc\n"), (2, 2));
        assert_eq!(common_line_ends(b"a\nb", b"a\nbc\n"), (2, 0));
        assert_eq!(common_line_ends(b"", b"a\n"), (0, 0));
        assert_eq!(common_line_ends(b"x\nend\n", b"yx\nend\n"), (0, 4));
    }
}
