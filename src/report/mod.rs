//! What a scan reports: findings, and how they are rendered.
//!
//! The library builds [`Report`] values; only the binary writes them out, through [`text`] or
//! [`json`]. No field holds a full token: findings carry the redacted form, the fingerprint, and
//! their line with every secret on it redacted.

pub mod json;
pub mod sarif;
pub mod text;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use crate::detect::rules::{API_TOKEN, TRUSTED_PUBLISHING_TOKEN};
use crate::detect::{Encoding, Rule};
use crate::redact::LinePreview;
use crate::source::CommitInfo;

/// Text that, anywhere on a line, lets the secrets on that line through.
pub const INLINE_ALLOW_MARKER: &[u8] = b"cio-hook: allow";

/// What a finding means for the commit or push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Status {
    /// A token that blocks. `expired_allow` names an allowlist entry that would have let it
    /// through had it not expired.
    Blocking {
        #[serde(skip_serializing_if = "Option::is_none")]
        expired_allow: Option<String>,
    },
    /// Token-shaped but an obvious placeholder; listed, never blocking.
    Placeholder,
    /// Let through by an allowlist entry (`FILE:LINE`) with its reason.
    Allowed { by: String, reason: String },
    /// Let through by the [`INLINE_ALLOW_MARKER`] on its line; listed so reviewers see it.
    AllowedInline,
}

/// One token found in added text.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static Rule,
    /// How the secret was hidden, when the text had to be decoded to find it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    /// The alternative registry the secret is for, as its cargo variable or credentials entry
    /// names it (`corp`); absent for crates.io.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Path relative to the repository root (or a label such as `(commit message)`), printable
    /// and with any token in it redacted.
    pub path: String,
    /// The path's real bytes (tokens redacted), when `path` is not them: a name that is not
    /// UTF-8 or has control characters escaped in `path`. JSON writes it as an array of bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<Arc<CommitInfo>>,
    /// 1-based line and column (in characters) for text; `None` for binary content. A finding
    /// with neither a line nor an offset is in the path itself (an added or renamed file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Byte offset in the file, for binary content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The token, redacted (`cio1234…wxyz`).
    pub token: String,
    /// The line it is on, every secret redacted, for the text report; `None` for binary content.
    #[serde(skip)]
    pub preview: Option<LinePreview>,
    /// `sha256:` and the hex SHA-256 of the token, for the allowlist.
    pub fingerprint: String,
    pub status: Status,
    /// For a scan of what `cargo package` would upload: the package, and why the file is in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packaged: Option<Arc<PackagedFile>>,
}

/// A file inside a package's `.crate`, and why cargo packs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackagedFile {
    pub package: String,
    pub version: String,
    /// Its path inside the package (`.env`, `Cargo.toml.orig`), printable.
    pub file: String,
    /// Why it is in the package when git would not show it there (untracked, ignored but
    /// included, outside the package root, a symlink's target, the verbatim manifest).
    pub why: String,
}

impl Finding {
    /// Whether this finding stops the commit or push.
    pub fn is_blocking(&self) -> bool {
        matches!(self.status, Status::Blocking { .. })
    }

    /// The rule's name, with the encoding when the secret was decoded: `… (base64)`.
    pub fn kind(&self) -> String {
        match self.encoding {
            Some(Encoding::Base64) => format!("{} (base64)", self.rule.name),
            None => self.rule.name.to_string(),
        }
    }

    /// Whether the secret is a crates.io token (API or Trusted Publishing), rather than another
    /// registry's credential found by a cargo variable or credentials file.
    pub fn is_crates_io_token(&self) -> bool {
        self.rule.id == API_TOKEN.id || self.rule.id == TRUSTED_PUBLISHING_TOKEN.id
    }

    /// The path's real bytes, tokens redacted: what machine formats must round-trip to.
    pub fn real_path(&self) -> &[u8] {
        self.path_bytes.as_deref().unwrap_or(self.path.as_bytes())
    }

    /// Whether the secret is a Trusted Publishing token: short-lived, issued to CI, not on the
    /// account's tokens page.
    pub fn is_trusted_publishing(&self) -> bool {
        self.rule.id == TRUSTED_PUBLISHING_TOKEN.id
    }

    /// Whether the secret belongs to an alternative registry rather than crates.io.
    pub fn is_other_registry(&self) -> bool {
        self.registry.is_some() && !self.is_crates_io_token()
    }

    /// `path:line:column`, `path (byte offset N)` for binary content, or `path (in the path)`
    /// for a token in the path itself.
    pub fn location(&self) -> String {
        match (self.line, self.column, self.offset) {
            (Some(line), Some(column), _) => format!("{}:{line}:{column}", self.path),
            (_, _, Some(offset)) => format!("{} (byte offset {offset})", self.path),
            _ => format!("{} (in the path)", self.path),
        }
    }
}

/// What was scanned, which decides the wording of the report and its remediation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Scope {
    /// The staged change, before a commit; `first_commit` when there is no HEAD yet (nothing to
    /// restore the index from: `git rm --cached` unstages).
    Staged {
        #[serde(skip)]
        first_commit: bool,
    },
    /// The message of a commit being made (the commit-msg hook).
    CommitMessage,
    /// The commits a push would send to `remote`.
    Push { remote: String },
    /// A range of commits or the whole history, for audits.
    Commits { description: String },
    /// Files on disk or standard input.
    Files,
    /// What `cargo package` would upload for these packages (`name version`).
    Package { packages: Vec<String> },
}

/// The outcome of one scan.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scope: Scope,
    pub findings: Vec<Finding>,
    /// How many commits were scanned (0 for the staged change).
    pub commits_scanned: usize,
}

impl Report {
    /// Whether any finding blocks.
    pub fn blocks(&self) -> bool {
        self.findings.iter().any(Finding::is_blocking)
    }

    /// The findings that block, in report order.
    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|finding| finding.is_blocking())
    }

    /// Folds in what only the stash holds (`stash_commits`: local, never pushed). A stash's
    /// commits repeat the message of the commit it was made on, and each other's changes, so a
    /// token is kept once per place (a file, or the commit message), and not at all when a commit
    /// on a branch has it in the same place; the findings kept are marked as the stash's.
    pub fn fold_stash(&mut self, stash_commits: &HashSet<String>) {
        let in_stash = |finding: &Finding| {
            finding
                .commit
                .as_ref()
                .is_some_and(|commit| stash_commits.contains(&commit.oid))
        };
        let place = |finding: &Finding| (finding.fingerprint.clone(), finding.path.clone());
        let mut seen: HashSet<(String, String)> = self
            .findings
            .iter()
            .filter(|finding| !in_stash(finding))
            .map(place)
            .collect();
        let mut marked: HashMap<String, Arc<CommitInfo>> = HashMap::new();
        self.findings.retain_mut(|finding| {
            if !in_stash(finding) {
                return true;
            }
            if !seen.insert(place(finding)) {
                return false;
            }
            if let Some(commit) = &finding.commit {
                let stash_commit = marked.entry(commit.oid.clone()).or_insert_with(|| {
                    Arc::new(CommitInfo {
                        stash: true,
                        ..CommitInfo::clone(commit)
                    })
                });
                finding.commit = Some(stash_commit.clone());
            }
            true
        });
    }
}

/// `1 commit`, `2 commits`: a number with the word that fits it.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
