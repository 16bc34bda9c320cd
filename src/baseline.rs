//! Adopting cio-hook on a repository whose history already holds tokens: one allowlist entry by
//! fingerprint for each token that blocks today, marked `baseline = DAY`, so that history scans
//! pass and any new token still blocks.
//!
//! A baseline records a decision about the past; it does not make a token safe. The tokens it
//! lists should be checked (`cio-hook verify`) and revoked if live.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Result;

use crate::allow::{append_fingerprint_entries, is_allowlist_file, Day, NewEntry};
use crate::redact::redact_text;
use crate::report::{Finding, Report, Status};

/// The reason written when none is given.
pub const DEFAULT_REASON: &str = "already in history when cio-hook was adopted";

/// What a baseline did.
#[derive(Debug, Default)]
pub struct Baseline<'a> {
    /// The first finding of each token that got an entry.
    pub added: Vec<&'a Finding>,
    /// Tokens held back by an expired allowlist entry: left blocking, since an expiry date was a
    /// deliberate decision that a baseline must not silently undo.
    pub expired: Vec<&'a Finding>,
    /// Tokens inside an allowlist file, which no entry can allow: only rewriting those commits
    /// (and revoking the token) clears them.
    pub in_allowlist: Vec<&'a Finding>,
}

/// Appends a baseline entry to the allowlist at `path` for each distinct token that blocks in
/// `report`, with `reason` and `today`'s date. Writes nothing when there is nothing to add, so a
/// second run leaves the file byte for byte as it was.
pub fn write_baseline<'a>(
    path: &Path,
    report: &'a Report,
    reason: &str,
    today: Day,
) -> Result<Baseline<'a>> {
    if redact_text(reason.as_bytes()) != reason {
        anyhow::bail!("the reason contains a token; describe it, never paste it");
    }
    let mut seen = HashSet::new();
    let mut baseline = Baseline::default();
    let mut seen_in_allowlist = HashSet::new();
    for finding in report.blocking() {
        if is_allowlist_file(Path::new(&finding.path)) {
            if seen_in_allowlist.insert(finding.fingerprint.as_str()) {
                baseline.in_allowlist.push(finding);
            }
            continue;
        }
        if !seen.insert(finding.fingerprint.as_str()) {
            continue;
        }
        match &finding.status {
            Status::Blocking {
                expired_allow: Some(_),
            } => baseline.expired.push(finding),
            _ => baseline.added.push(finding),
        }
    }
    let entries: Vec<NewEntry> = baseline
        .added
        .iter()
        .map(|finding| NewEntry {
            fingerprint: finding.fingerprint.clone(),
            reason: reason.to_string(),
            expires: None,
            baseline: Some(today),
            comment: Some(where_found(finding)),
        })
        .collect();
    if !entries.is_empty() {
        append_fingerprint_entries(path, &entries)?;
    }
    Ok(baseline)
}

/// `cioAbCd…2345 at src/ci.yml:3 in commit 1a2b3c4d5e`: the redacted token and where it was
/// first found, for the comment above its entry.
pub fn where_found(finding: &Finding) -> String {
    format!("{} at {}", finding.token, found_at(finding))
}

/// `src/ci.yml:3:8 in commit 1a2b3c4d5e`, or the location alone outside commits.
pub fn found_at(finding: &Finding) -> String {
    match &finding.commit {
        Some(commit) => format!("{} in commit {}", finding.location(), commit.short_oid()),
        None => finding.location(),
    }
}
