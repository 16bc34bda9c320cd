//! `allow` and `check-config`: adding an entry to `.ciokeyignore.toml`, and reviewing its entries.

use std::collections::HashMap;

use anyhow::Result;

use cio_hook::allow::{self, Day};
use cio_hook::report::{self, Scope};
use cio_hook::repository::Opened;
use cio_hook::{EXIT_CLEAN, EXIT_FOUND};

use super::context::{progress, warn_if_untracked, Context};

/// `allow`: an entry for one fingerprint, keeping the file's comments and formatting.
pub fn allow(
    context: &Context,
    fingerprint: &str,
    reason: &str,
    expires: Option<Day>,
) -> Result<i32> {
    match context.open()? {
        Opened::Libgit2(repo) => {
            let path = context.allowlist_path(&repo)?;
            if checks_placeholder(reason) {
                let tracked = context.scanner(Some(&repo))?.scan_tracked(&repo)?;
                refuse_placeholder(&tracked, fingerprint)?;
            }
            allow::append_fingerprint_entry(&path, fingerprint, reason, expires)?;
            println!("added an entry for {fingerprint} to {}", path.display());
            warn_if_untracked(&repo, &path);
        }
        Opened::Git(repo) => {
            let path = context.git_allowlist_path(&repo)?;
            if checks_placeholder(reason) {
                let tracked = context.git_scanner(&repo)?.scan_tracked_git(&repo)?;
                refuse_placeholder(&tracked, fingerprint)?;
            }
            allow::append_fingerprint_entry(&path, fingerprint, reason, expires)?;
            println!("added an entry for {fingerprint} to {}", path.display());
            super::context::git_warn_if_untracked(&repo, &path);
        }
    }
    Ok(EXIT_CLEAN)
}

/// Whether `allow` looks for a placeholder: not when the reason is refused anyway (the append
/// says why).
fn checks_placeholder(reason: &str) -> bool {
    !allow::is_template_reason(reason) && !reason.trim().is_empty()
}

/// Refuses a fingerprint that the tracked files (staged changes included; their findings are
/// `tracked`) show to be a placeholder's: placeholders never block, so an entry for one is noise
/// that hides nothing.
fn refuse_placeholder(tracked: &[report::Finding], fingerprint: &str) -> Result<()> {
    let Some(wanted) = allow::normalized_fingerprint(fingerprint.trim()) else {
        // Not a fingerprint at all: the append says why.
        return Ok(());
    };
    if let Some(placeholder) = tracked.iter().find(|finding| {
        finding.fingerprint == wanted && matches!(finding.status, report::Status::Placeholder)
    }) {
        anyhow::bail!(
            "{wanted} is a placeholder's (at {}), which never blocks: no entry is needed",
            placeholder.location()
        );
    }
    Ok(())
}

/// The first placeholder that `entry` selects among `findings`, as `location token`.
fn placeholder_selected_by(entry: &allow::Entry, findings: &[report::Finding]) -> Option<String> {
    findings
        .iter()
        .filter(|finding| matches!(finding.status, report::Status::Placeholder))
        .find(|finding| {
            entry.selects(
                std::path::Path::new(&finding.path),
                finding.token.as_bytes(),
                &finding.fingerprint,
            )
        })
        .map(|finding| format!("{} {}", finding.location(), finding.token))
}

/// Validates the allowlist (loading it fails on any mistake), then lists the entries to review:
/// duplicates, expired ones, and those that let nothing through in the tracked files or in any
/// commit of the history. An entry that only history still needs is named with where its token
/// is, not listed for removal: without it `scan-history` would block. Exit 1 when any is listed.
///
/// In every format: libgit2 reads SHA-1/files repositories, the git CLI the others.
pub fn check_config(context: &Context) -> Result<i32> {
    let (scanner, tracked, history) = match context.open()? {
        Opened::Libgit2(repo) => {
            let scanner = context.scanner(Some(&repo))?;
            let tracked = scanner.scan_tracked(&repo)?;
            let scope = Scope::Commits {
                description: "all refs".to_string(),
            };
            let history = scanner.scan_history(&repo, scope, &mut progress())?;
            (scanner, tracked, history)
        }
        Opened::Git(repo) => {
            let scanner = context.git_scanner(&repo)?;
            let tracked = scanner.scan_tracked_git(&repo)?;
            let history = scanner.scan_history_git(&repo, &mut progress())?;
            (scanner, tracked, history)
        }
    };
    let allowed_by = |findings: &[report::Finding]| {
        let mut first_use: HashMap<String, String> = HashMap::new();
        for finding in findings {
            if let report::Status::Allowed { by, .. } = &finding.status {
                first_use
                    .entry(by.clone())
                    .or_insert_with(|| match &finding.commit {
                        Some(commit) => {
                            format!("commit {} {}", commit.short_oid(), finding.location())
                        }
                        None => finding.location(),
                    });
            }
        }
        first_use
    };
    let used_in_tracked = allowed_by(&tracked);
    let used_in_history = allowed_by(&history.findings);
    let entries = &scanner.allowlist().entries;
    let duplicates = scanner.allowlist().duplicates();
    let today = Day::today();
    let mut to_review = 0;
    for entry in entries {
        let duplicate_of = duplicates
            .iter()
            .find(|(duplicate, _)| std::ptr::eq(*duplicate, entry))
            .map(|(_, first)| first);
        let problem = if let Some(first) = duplicate_of {
            format!(
                "duplicates the entry at {} ({}); remove one",
                first.origin,
                entry.selector.describe()
            )
        } else if entry.is_expired(today) {
            format!(
                "expired on {}",
                entry.expires.map(|day| day.to_string()).unwrap_or_default()
            )
        } else if used_in_tracked.contains_key(&entry.origin) {
            continue;
        } else if let Some(place) = used_in_history.get(&entry.origin) {
            println!(
                "{}: matches nothing in the tracked files, but still a token in history: {place}; \
                 keep it while that commit is reachable, or scan-history blocks (reason: {})",
                entry.origin,
                entry.shown_reason()
            );
            continue;
        } else if let Some(placeholder) = placeholder_selected_by(entry, &tracked)
            .or_else(|| placeholder_selected_by(entry, &history.findings))
        {
            format!("matches only a placeholder ({placeholder}), which never blocks: not needed; remove it")
        } else {
            let commits = report::count(history.commits_scanned, "commit", "commits");
            format!("matches nothing in the tracked files or in the history ({commits}); remove it")
        };
        to_review += 1;
        println!(
            "{}: {problem} (reason: {})",
            entry.origin,
            entry.shown_reason()
        );
    }
    println!(
        "{}, {to_review} to review",
        report::count(entries.len(), "entry", "entries")
    );
    let baselined = entries
        .iter()
        .filter(|entry| entry.baseline.is_some())
        .count();
    if baselined > 0 {
        let (verb, what) = if baselined == 1 {
            ("is", "a baseline entry for a token")
        } else {
            ("are", "baseline entries for tokens")
        };
        println!(
            "{baselined} of them {verb} {what} already in history (`cio-hook baseline`); check \
             {} with `cio-hook verify --history`",
            if baselined == 1 { "it" } else { "those" }
        );
    }
    Ok(if to_review > 0 {
        EXIT_FOUND
    } else {
        EXIT_CLEAN
    })
}
