//! The pipeline: added text from a source, tokens from the detector, verdicts from the allowlist.
//!
//! [`Scanner`] runs the four steps for every way in: a source yields [`AddedText`], [`detect`]
//! finds token shapes in it ([`Scanner::findings_in`]), the allowlist decides each finding's
//! status, and the command layer renders the [`Report`]. This module holds the ways in that read
//! one change (the staged diff, a message, files); the others live beside it:
//! - [`walk`]: many commits (a range, all refs), shared among threads, after a pass over the
//!   packs when it pays;
//! - [`push`]: what a push makes new (its commits, annotated tags, tagged objects) and the refs
//!   that carry each finding;
//! - [`git_cli`]: the same scans for a repository only the git CLI reads (SHA-256 objects,
//!   reftable refs).
//!
//! [`detect`]: crate::detect

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Result;
use git2::Repository;
use memchr::memmem;

use crate::allow::{is_allowlist_file, Allowlist, Verdict};
use crate::detect::{
    candidate_lines, find_in_credentials_file, find_in_line, find_in_path, Detection, FileHint,
};
use crate::redact::{
    display_path, fingerprint, preview_line, redact_bytes, redact_token, show_placeholder,
};
use crate::report::{Finding, Report, Scope, Status, INLINE_ALLOW_MARKER};
use crate::source::{files, message, path_from_bytes, staged, AddedContent, AddedText};

pub mod git_cli;
pub mod push;
pub mod walk;

pub use push::name_pushed_refs;
pub use walk::add_object_dirs;

/// Progress of a commit scan: commits done, commits in all, blocking findings so far.
pub type ProgressFn<'a> = &'a mut dyn FnMut(usize, usize, usize);

/// Turns added text into findings under an allowlist.
pub struct Scanner {
    allowlist: Allowlist,
    /// Object directories beyond the repository's own, which every handle on it reads too
    /// (a server's quarantine, where a push's objects wait for the hook's verdict).
    extra_object_dirs: Vec<PathBuf>,
    /// For a server: the quarantine's pack directory, holding what the push brings, over which
    /// a large push's scan makes its pack pass.
    pushed_packs: Option<PathBuf>,
    /// Token text by fingerprint, kept only for `verify` and `revoke`, which must send it.
    secrets: Option<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Scanner {
    pub fn new(allowlist: Allowlist) -> Scanner {
        Scanner {
            allowlist,
            extra_object_dirs: Vec::new(),
            pushed_packs: None,
            secrets: None,
        }
    }

    /// Makes the handles that worker threads open read objects from `dirs` as well.
    pub fn with_extra_object_dirs(mut self, dirs: Vec<PathBuf>) -> Scanner {
        self.extra_object_dirs = dirs;
        self
    }

    /// Makes a large push's scan take its pack pass over the packs in `pack_dir` (a server's
    /// `$GIT_QUARANTINE_PATH/pack`) rather than none: the objects outside them are the
    /// server's, already accepted, and are read through libgit2 where a commit needs them.
    pub fn with_pushed_packs(mut self, pack_dir: PathBuf) -> Scanner {
        self.pushed_packs = Some(pack_dir);
        self
    }

    /// A scanner that also keeps the text of each token it finds, for [`Scanner::secret`].
    /// Reports still never hold it.
    pub fn keeping_secrets(mut self) -> Scanner {
        self.secrets = Some(Mutex::default());
        self
    }

    /// The text of the token with this fingerprint, when it was found by a scanner made with
    /// [`Scanner::keeping_secrets`].
    pub fn secret(&self, fingerprint: &str) -> Option<Vec<u8>> {
        let secrets = self.secrets.as_ref()?.lock().ok()?;
        secrets.get(fingerprint).cloned()
    }

    /// The findings in one piece of added text.
    pub fn findings_in(&self, added: &AddedText<'_>) -> Vec<Finding> {
        let path = display_path(&added.path);
        let real_path = redact_bytes(&added.path);
        let path_bytes = (real_path != path.as_bytes()).then_some(real_path);
        let fs_path = path_from_bytes(&added.path);
        let hint = FileHint::for_path(&added.path);
        let finding = |detection: Detection, line: Option<(&[u8], u32)>, preview| {
            let (line_number, column, offset) = match line {
                Some((text, number)) => (
                    Some(number),
                    Some(char_count(&text[..detection.start]) + 1),
                    None,
                ),
                None => (None, None, Some(detection.start as u64)),
            };
            let fingerprint = fingerprint(&detection.secret);
            if let Some(secrets) = &self.secrets {
                let mut secrets = secrets
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                secrets
                    .entry(fingerprint.clone())
                    .or_insert_with(|| detection.secret.clone());
            }
            Finding {
                rule: detection.rule,
                encoding: detection.encoding,
                registry: detection.registry.clone(),
                path: path.clone(),
                path_bytes: path_bytes.clone(),
                commit: added.commit.clone(),
                line: line_number,
                column,
                offset,
                token: shown_secret(&detection),
                preview,
                status: self.status(&fs_path, &detection, &fingerprint),
                fingerprint,
                packaged: None,
            }
        };
        let scan_line = |number: u32, line: &[u8], findings: &mut Vec<Finding>| {
            let allowed_inline = memmem::find(line, INLINE_ALLOW_MARKER).is_some();
            let detections = find_in_line(line, hint);
            let secrets = redacted_spans(&detections);
            for (index, detection) in detections.into_iter().enumerate() {
                let preview = preview_line(line, &secrets, index);
                let mut found = finding(detection, Some((line, number)), Some(preview));
                if allowed_inline && found.is_blocking() && !is_allowlist_file(&fs_path) {
                    found.status = Status::AllowedInline;
                }
                findings.push(found);
            }
        };
        let mut findings = Vec::new();
        match &added.content {
            AddedContent::Text(text) => {
                for (number, line) in candidate_lines(text) {
                    scan_line(number, line, &mut findings);
                }
            }
            AddedContent::Lines(lines) => {
                for line in lines {
                    scan_line(line.number, &line.bytes, &mut findings);
                }
            }
            AddedContent::Binary { bytes, previous } => {
                let known: HashSet<Vec<u8>> = previous
                    .iter()
                    .flat_map(|old| find_in_line(old, hint))
                    .map(|detection| detection.secret)
                    .collect();
                for detection in find_in_line(bytes, hint) {
                    if !known.contains(&detection.secret) {
                        findings.push(finding(detection, None, None));
                    }
                }
            }
            AddedContent::Path => {
                // The path is the location: no line, column or offset.
                for detection in find_in_path(&added.path) {
                    findings.push(Finding {
                        offset: None,
                        ..finding(detection, None, None)
                    });
                }
            }
        }
        if let Some(file_text) = &added.file_text {
            let file_lines: Vec<&[u8]> = file_text.split(|&b| b == b'\n').collect();
            for (number, detection) in find_in_credentials_file(file_text) {
                let is_added = match &added.content {
                    AddedContent::Lines(lines) => lines
                        .binary_search_by_key(&number, |line| line.number)
                        .is_ok(),
                    AddedContent::Text(_) => true,
                    AddedContent::Binary { .. } | AddedContent::Path => false,
                };
                if is_added {
                    let text = file_lines[number as usize - 1];
                    // Other secrets on the line are redacted in the preview too.
                    let mut on_line = vec![detection.clone()];
                    on_line.extend(find_in_line(text, hint));
                    let preview = preview_line(text, &redacted_spans(&on_line), 0);
                    findings.push(finding(detection, Some((text, number)), Some(preview)));
                }
            }
            findings.sort_by_key(|found| (found.line, found.column));
        }
        findings
    }

    /// What a detection means for the commit: a placeholder, allowed, or blocking.
    fn status(&self, path: &Path, detection: &Detection, fingerprint: &str) -> Status {
        if detection.placeholder {
            return Status::Placeholder;
        }
        match self.allowlist.verdict(path, &detection.secret, fingerprint) {
            Verdict::Allowed(entry) => Status::Allowed {
                by: entry.origin.clone(),
                reason: entry.shown_reason(),
            },
            Verdict::Expired(entry) => Status::Blocking {
                expired_allow: Some(format!(
                    "{} expired on {}",
                    entry.origin,
                    entry.expires.map(|day| day.to_string()).unwrap_or_default()
                )),
            },
            Verdict::NotListed => Status::Blocking {
                expired_allow: None,
            },
        }
    }

    /// The allowlist this scanner applies.
    pub fn allowlist(&self) -> &Allowlist {
        &self.allowlist
    }

    /// Runs a source and gathers the findings in everything it yields.
    fn findings_from<T>(
        &self,
        source: impl FnOnce(&mut dyn FnMut(AddedText<'_>) -> Result<()>) -> Result<T>,
    ) -> Result<Vec<Finding>> {
        let mut findings = Vec::new();
        source(&mut |added| {
            findings.extend(self.findings_in(&added));
            Ok(())
        })?;
        Ok(findings)
    }

    /// Scans everything the index tracks, all of it as new: for auditing the allowlist.
    pub fn scan_tracked(&self, repo: &Repository) -> Result<Vec<Finding>> {
        self.findings_from(|sink| staged::all_in_index(repo, sink))
    }

    /// Scans the staged change (the index against HEAD). A bare repository has no index, hence
    /// nothing staged: that is an error, not a clean result.
    pub fn scan_staged(&self, repo: &Repository) -> Result<Report> {
        if repo.is_bare() {
            anyhow::bail!(
                "{} is a bare repository: it has no index, so there are no staged changes to \
                 scan (scan-history or scan-range scan its commits)",
                display_path(repo.path().as_os_str().as_encoded_bytes())
            );
        }
        Ok(Report {
            scope: Scope::Staged {
                first_commit: repo.head().is_err(),
            },
            findings: self.findings_from(|sink| staged::added_in_index(repo, sink))?,
            commits_scanned: 0,
        })
    }

    /// Scans a commit message file before git commits it (the commit-msg hook).
    pub fn scan_message(&self, path: &Path) -> Result<Report> {
        Ok(Report {
            scope: Scope::CommitMessage,
            findings: self.findings_from(|sink| message::added_in_message_file(path, sink))?,
            commits_scanned: 0,
        })
    }

    /// Scans files and directories on disk (`-` for standard input), all of their content.
    pub fn scan_paths(&self, paths: &[PathBuf]) -> Result<Report> {
        Ok(Report {
            scope: Scope::Files,
            findings: self.findings_from(|sink| files::added_in_paths(paths, sink))?,
            commits_scanned: 0,
        })
    }
}

/// Each detection's span with its secret's redacted form, for line previews.
fn redacted_spans(detections: &[Detection]) -> Vec<(std::ops::Range<usize>, String)> {
    detections
        .iter()
        .map(|detection| (detection.start..detection.end, shown_secret(detection)))
        .collect()
}

/// How reports show a detection's secret: redacted, or in full when it is a placeholder (not a
/// secret; the reader must see what was classed as one).
fn shown_secret(detection: &Detection) -> String {
    if detection.placeholder {
        show_placeholder(&detection.secret)
    } else {
        redact_token(&detection.secret)
    }
}

/// Characters in `bytes`, counting each byte of invalid UTF-8 as one.
fn char_count(bytes: &[u8]) -> u32 {
    bytes
        .utf8_chunks()
        .map(|chunk| chunk.valid().chars().count() + chunk.invalid().len())
        .sum::<usize>() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        assert_eq!(char_count("héllo ".as_bytes()), 6);
        assert_eq!(char_count(b"\xff\xfeab"), 4);
    }
}
