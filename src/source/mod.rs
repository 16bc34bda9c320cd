//! Where added text comes from: the staged change, or the commits of a push or range.
//!
//! Every source yields the same [`AddedText`] items, so the scanner does not care which one
//! produced them. Sources only diff files whose new content may hold a token at all
//! ([`crate::detect::may_contain_secret`]); everything else costs one blob read.

pub mod archived;
pub mod blobs;
pub mod carriers;
pub mod commits;
pub mod files;
pub mod git_cli;
pub mod index_file;
pub mod message;
pub mod pack;
pub mod pre_push;
pub mod range;
pub mod staged;
pub mod tree_diff;
pub mod verdicts;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

use crate::detect::credentials::is_credentials_path;
use crate::detect::decode::decode_utf16;

/// The commit that added some text, as reports name it.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    /// The full object id in hex.
    pub oid: String,
    /// The first line of the message, with any token in it redacted.
    pub subject: String,
    /// Who wrote it (for a tag: who tagged), `Name <email>`, printable and redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When, ISO 8601 with the author's UTC offset: `2026-03-04T05:06:07+01:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// A commit without parents, rewritten with `git rebase -i --root`.
    #[serde(skip)]
    pub root: bool,
    /// Held only by the stash (`refs/stash`): local, never pushed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stash: bool,
    /// For a push: the pushed refs (full names, redacted) that carry this commit or tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<String>,
}

impl CommitInfo {
    /// The abbreviated object id reports show.
    pub fn short_oid(&self) -> &str {
        &self.oid[..self.oid.len().min(10)]
    }
}

/// One line that a change adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedLine {
    /// 1-based line number in the new version of the file.
    pub number: u32,
    /// The line's bytes, line terminator included when there is one.
    pub bytes: Vec<u8>,
}

/// What a change adds to one file (or message). Whole contents are borrowed from the blob or
/// buffer they were read into, so a huge file is held once, not copied.
#[derive(Debug)]
pub enum AddedContent<'a> {
    /// A text all of whose lines are added: a new file, a message.
    Text(Cow<'a, [u8]>),
    /// The added lines of a changed text file.
    Lines(Vec<AddedLine>),
    /// A binary file's new content and the versions it replaces: tokens found in `bytes` that
    /// are not in any of `previous` count as added.
    Binary {
        bytes: Cow<'a, [u8]>,
        previous: Vec<Cow<'a, [u8]>>,
    },
    /// Nothing of the content: the path itself is new (an added or renamed file) and holds a
    /// token ([`crate::detect::find_in_path`]).
    Path,
}

/// Added text, with where it was added.
#[derive(Debug)]
pub struct AddedText<'a> {
    /// Path relative to the repository root, as git stores it (not necessarily UTF-8), or a
    /// label such as [`COMMIT_MESSAGE`].
    pub path: Vec<u8>,
    /// The commit that adds it; `None` for the staged change.
    pub commit: Option<Arc<CommitInfo>>,
    pub content: AddedContent<'a>,
    /// The whole new file, kept only for files whose rules need context beyond the added lines
    /// (cargo credentials files, where a header may sit on an unchanged line).
    pub file_text: Option<Cow<'a, [u8]>>,
}

impl<'a> AddedText<'a> {
    /// Added text of the file at `path` whose new content is `new_content`.
    pub fn new(
        path: Vec<u8>,
        commit: Option<Arc<CommitInfo>>,
        content: AddedContent<'a>,
        new_content: &'a [u8],
    ) -> AddedText<'a> {
        let file_text = is_credentials_path(&path).then(|| match decode_utf16(new_content) {
            Some(text) => Cow::Owned(text.into_bytes()),
            None => Cow::Borrowed(new_content),
        });
        AddedText {
            path,
            commit,
            content,
            file_text,
        }
    }

    /// Added text that is a message (commit or tag), every line of it new.
    pub fn message(label: &[u8], commit: Arc<CommitInfo>, message: &'a [u8]) -> AddedText<'a> {
        AddedText {
            path: label.to_vec(),
            commit: Some(commit),
            content: AddedContent::Text(Cow::Borrowed(message)),
            file_text: None,
        }
    }

    /// The new path of an added or renamed file, when it holds a token; the file's content is
    /// yielded separately.
    pub fn new_path(path: &[u8], commit: Option<Arc<CommitInfo>>) -> Option<AddedText<'a>> {
        (!crate::detect::find_in_path(path).is_empty()).then(|| AddedText {
            path: path.to_vec(),
            commit,
            content: AddedContent::Path,
            file_text: None,
        })
    }

    /// Whether nothing is left to scan.
    pub fn is_empty(&self) -> bool {
        match &self.content {
            AddedContent::Text(text) => text.is_empty(),
            AddedContent::Lines(lines) => lines.is_empty(),
            AddedContent::Binary { .. } | AddedContent::Path => false,
        }
    }
}

/// A git path (bytes) as a filesystem-style path for tree lookups and glob matching.
pub fn path_from_bytes(bytes: &[u8]) -> std::borrow::Cow<'_, std::path::Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(std::path::PathBuf::from(
            String::from_utf8_lossy(bytes).into_owned(),
        ))
    }
}

/// The path reports give to text found in a commit message.
pub const COMMIT_MESSAGE: &[u8] = b"(commit message)";
/// The path reports give to text found in an annotated tag's message.
pub const TAG_MESSAGE: &[u8] = b"(tag message)";

/// Every line of `text` as added lines, numbered from 1.
pub fn all_lines(text: &[u8]) -> Vec<AddedLine> {
    text.split_inclusive(|&byte| byte == b'\n')
        .enumerate()
        .map(|(index, line)| AddedLine {
            number: index as u32 + 1,
            bytes: line.to_vec(),
        })
        .collect()
}

/// How much of the packfiles libgit2 keeps mapped at once (its default is 8 GiB on 64-bit), and
/// the size of each mapped window. Keeping every window mapped made the whole pack count in a
/// history scan's peak memory. The commit walk reads commits, trees and a few blobs from all over
/// the pack, so with few large windows libgit2 unmapped and remapped one on nearly every read
/// (52,000 16 MiB remaps on rust-lang/rust-analyzer, half the scan in the kernel); small windows
/// make a miss cheap: `scan-history` there went from 7.6 s to 4.4 s, on crates.io from 10.6 s
/// to 2.3 s, on cargo from 2.1 s to 1.2 s, for 10 to 30 MB more peak memory. A limit below the
/// packs' size still closed a window on most reads once the walk only read candidate trees
/// (rust-analyzer's 152 MB of packs: the walk took 1.5 s with 96 MiB mapped, 0.7 s with 256 MiB,
/// at the same peak memory, which the pass over the packs sets).
const PACK_MAPPED_LIMIT: usize = 256 << 20;
const PACK_WINDOW_SIZE: usize = 1 << 20;
/// Caps the pack memory libgit2 keeps mapped and turns its object cache off; call before opening
/// repositories.
///
/// The cache held every commit and tree a history scan read, and once full (its default is
/// 256 MiB; capped, a few MB of trees) it evicted entries on each insertion at a cost that grew
/// with the table, for few hits: a commit is read once, and the trees read again (the parent's,
/// compared a moment before) are kept by the commit walk itself
/// ([`tree_diff::TreeReader`]). Without it a history scan of rust-lang/cargo spends about a
/// fifth less time walking commits.
pub fn limit_pack_memory() {
    // SAFETY: these set process-wide libgit2 options and are called once, before any repository
    // is opened and before any other thread uses libgit2.
    unsafe {
        let _ = git2::opts::set_mwindow_size(PACK_WINDOW_SIZE);
        let _ = git2::opts::set_mwindow_mapped_limit(PACK_MAPPED_LIMIT);
    }
    git2::opts::enable_caching(false);
}
