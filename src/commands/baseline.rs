//! `baseline`: adopt cio-hook on a history that already holds tokens, by allowing each blocking
//! token by fingerprint (entries marked `baseline = DATE`).

use std::collections::HashSet;

use anyhow::Result;

use cio_hook::allow::{self, Day};
use cio_hook::baseline::{where_found, write_baseline};
use cio_hook::report::text::scope_phrase;
use cio_hook::report::{count, Scope, Status};
use cio_hook::repository::Opened;
use cio_hook::source::commits;
use cio_hook::EXIT_CLEAN;

use super::context::{progress, untracked_in_worktree, Context};

/// Runs `baseline`: scans all refs' history and allows each blocking token by fingerprint.
pub fn baseline(context: &Context, reason: &str) -> Result<i32> {
    let scope = Scope::Commits {
        description: "all refs".to_string(),
    };
    let (path, report, libgit2_repo) = match context.open()? {
        Opened::Libgit2(repo) => {
            let path = context.allowlist_path(&repo)?;
            let scanner = context.scanner(Some(&repo))?;
            let commit_ids = commits::all_commits(&repo)?;
            let report = scanner.scan_commits(&repo, &commit_ids, scope, &mut progress())?;
            (path, report, Some(repo))
        }
        Opened::Git(repo) => {
            let path = context.git_allowlist_path(&repo)?;
            let scanner = context.git_scanner(&repo)?;
            let commits = cio_hook::source::git_cli::rev_list(&repo, &["--all"])?;
            let report = scanner.scan_commits_git(&repo, &commits, scope, &mut progress())?;
            (path, report, None)
        }
    };
    let baseline = write_baseline(&path, &report, reason, Day::today())?;
    // After the write, which may have created the file: its path as `git add` takes it, when
    // git does not track it yet.
    let untracked = libgit2_repo
        .as_ref()
        .and_then(|repo| untracked_in_worktree(repo, &path));
    for finding in &baseline.added {
        println!(
            "baselined {}  {}",
            finding.fingerprint,
            where_found(finding)
        );
    }
    for finding in &baseline.expired {
        let note = match &finding.status {
            Status::Blocking {
                expired_allow: Some(note),
            } => note.as_str(),
            _ => "",
        };
        println!(
            "not baselined {}  {}: its allowlist entry {note}; renew or remove that entry",
            finding.fingerprint,
            where_found(finding)
        );
    }
    for finding in &baseline.in_allowlist {
        println!(
            "not baselined {}  {}: a token inside {} is never allowed; rewrite that commit \
             and revoke the token",
            finding.fingerprint,
            where_found(finding),
            allow::FILE_NAME
        );
    }
    let already = report
        .findings
        .iter()
        .filter(|finding| matches!(finding.status, Status::Allowed { .. }))
        .map(|finding| finding.fingerprint.as_str())
        .collect::<HashSet<_>>()
        .len();
    println!(
        "cio-hook: {} added to {} ({} already allowed) from {}",
        count(baseline.added.len(), "baseline entry", "baseline entries"),
        path.display(),
        already,
        scope_phrase(&report)
    );
    if !baseline.added.is_empty() {
        println!(
            "A baseline does not make a token safe: check them with `cio-hook verify --history` and \
             revoke any that is live."
        );
        if let Some(shown) = untracked {
            println!(
                "Commit the file, or teammates' and CI's checks still block these tokens: \
                 git add {shown} && git commit -m \"cio-hook baseline\""
            );
        }
    }
    Ok(EXIT_CLEAN)
}
