//! `.ciokeyignore.toml`: the allowlist that lets a known, harmless token through.
//!
//! ```toml
//! [[allow]]
//! fingerprint = "sha256:9f86d08…"   # or: path = "tests/fixtures/**"  or: pattern = "^cio_tp_"
//! reason = "revoked token kept as a parser fixture"
//! expires = 2027-01-31              # optional: the entry stops applying after this day
//! baseline = 2026-11-23             # optional: written by `cio-hook baseline` on that day
//! ```
//!
//! Every entry has exactly one selector and a reason; unknown keys are errors, so a typo cannot
//! silently widen or narrow what is allowed. The file is committed and shared, so it may never
//! hold a token itself (in any entry, comment or escaped form), and an entry that would let every
//! token through (`pattern = ""`, `path = "*"`, …) is refused when the file is loaded.

//!
//! The parts: [`file`] loads and validates the file, [`guards`] refuses entries that would leak
//! or switch the check off, [`matching`] judges a finding against the entries, [`editing`]
//! appends entries, and [`Day`] is the calendar day of `expires` and `baseline`.

mod day;
mod editing;
mod file;
mod guards;
mod matching;

use std::path::Path;

use globset::GlobMatcher;
use regex::Regex;

pub use day::Day;
pub use editing::{append_fingerprint_entries, append_fingerprint_entry, NewEntry};
pub use file::ConfigError;

/// The allowlist's file name at the root of a repository's working tree.
pub const FILE_NAME: &str = ".ciokeyignore.toml";

/// The reason the reports' `[[allow]]` snippet shows, to be replaced: never a reason itself.
pub const TEMPLATE_REASON: &str = "why this is safe";

/// Whether `reason` is the snippet's [`TEMPLATE_REASON`] copied as it is (case, spaces and a
/// final full stop aside).
pub fn is_template_reason(reason: &str) -> bool {
    reason
        .trim()
        .trim_end_matches('.')
        .eq_ignore_ascii_case(TEMPLATE_REASON)
}

/// What an entry selects.
#[derive(Debug)]
pub enum Selector {
    /// `sha256:` and the lowercase hex SHA-256 of the token text.
    Fingerprint(String),
    /// A gitignore-style glob over the path relative to the repository root.
    Path(GlobMatcher, GlobMatcher),
    /// A regular expression searched for in the token text.
    Pattern(Regex),
}

impl Selector {
    /// The selector as written in the file (normalised), to tell duplicate entries apart.
    pub fn describe(&self) -> String {
        match self {
            Selector::Fingerprint(fingerprint) => format!("fingerprint = {fingerprint:?}"),
            Selector::Path(exact, _) => format!("path = {:?}", exact.glob().glob()),
            Selector::Pattern(regex) => format!("pattern = {:?}", regex.as_str()),
        }
    }
}

/// One `[[allow]]` entry.
#[derive(Debug)]
pub struct Entry {
    pub selector: Selector,
    pub reason: String,
    pub expires: Option<Day>,
    /// The day `cio-hook baseline` wrote the entry for a token already in history.
    pub baseline: Option<Day>,
    /// Where the entry starts, for reports: `FILE:LINE`.
    pub origin: String,
}

impl Entry {
    /// The reason as reports show it: baselined entries say so first.
    pub fn shown_reason(&self) -> String {
        match self.baseline {
            Some(day) => format!("baseline of {day}: {}", self.reason),
            None => self.reason.clone(),
        }
    }
}

/// What the allowlist says of one finding.
#[derive(Debug)]
pub enum Verdict<'a> {
    /// No entry selects it.
    NotListed,
    /// A live entry lets it through.
    Allowed(&'a Entry),
    /// Only expired entries select it; it blocks, and the report names the entry.
    Expired(&'a Entry),
}

/// The parsed allowlist.
#[derive(Debug, Default)]
pub struct Allowlist {
    pub entries: Vec<Entry>,
    today: Option<Day>,
}

/// Whether `path` (relative to the repository root) is an allowlist file, at any depth.
pub fn is_allowlist_file(path: &Path) -> bool {
    path.file_name() == Some(std::ffi::OsStr::new(FILE_NAME))
}

/// `sha256:` and 64 lowercase hex digits, from a fingerprint in either case; `None` for anything
/// else (a token pasted by mistake, say).
pub fn normalized_fingerprint(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:")?;
    let well_formed = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
