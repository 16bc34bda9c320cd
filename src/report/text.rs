//! The human report: what was found, where, and what to do now.
//!
//! Colour comes from the `colored` crate, whose global switch the binary sets once (terminal and
//! `NO_COLOR`); this module never decides it.

use std::io::{self, Write};

use colored::Colorize;

use super::{count, Finding, Report, Scope, Status};
use crate::source::{CommitInfo, COMMIT_MESSAGE, TAG_MESSAGE};

/// Writes `report` for a person.
pub fn write_report(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let blocking: Vec<&Finding> = report.blocking().collect();
    let passed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| !f.is_blocking())
        .collect();
    if blocking.is_empty() {
        let headline = if passed.is_empty() {
            format!("no crates.io token in {}", scope_phrase(report))
        } else {
            format!(
                "nothing blocks in {}; {}",
                scope_phrase(report),
                not_blocking_counts(&passed)
            )
        };
        writeln!(out, "{} {headline}", "cio-hook:".green().bold())?;
    } else {
        let what = match report.scope {
            Scope::Staged | Scope::CommitMessage => "commit blocked",
            Scope::Push { .. } => "push blocked",
            Scope::Commits { .. } | Scope::Files => "secrets found",
            Scope::Package { .. } => "package blocked",
        };
        writeln!(
            out,
            "{} {}: {} in {}",
            "cio-hook:".red().bold(),
            what.red().bold(),
            credential_count(&blocking),
            scope_phrase(report)
        )?;
        writeln!(out)?;
        write_findings(out, &blocking)?;
    }
    if !passed.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", "Not blocking:".bold())?;
        write_findings(out, &passed)?;
    }
    if !blocking.is_empty() {
        writeln!(out)?;
        write_remediation(out, report, &blocking)?;
    }
    Ok(())
}

/// What a report covered, for its first line: `3 commits (all refs)`, `the staged changes`.
pub fn scope_phrase(report: &Report) -> String {
    match &report.scope {
        Scope::Staged => "the staged changes".to_string(),
        Scope::CommitMessage => "the commit message".to_string(),
        Scope::Push { remote } => format!(
            "{} to push to {remote}",
            count(report.commits_scanned, "commit", "commits")
        ),
        Scope::Commits { description } => format!(
            "{} ({description})",
            count(report.commits_scanned, "commit", "commits")
        ),
        Scope::Files => "the files scanned".to_string(),
        Scope::Package { packages } => format!(
            "what `cargo package` would upload for {}",
            packages.join(", ")
        ),
    }
}

/// `2 crates.io credentials`, `1 registry credential` (an alternative registry's token), or
/// `3 credentials (2 crates.io, 1 other registry)`.
fn credential_count(blocking: &[&Finding]) -> String {
    let crates_io = blocking.iter().filter(|f| f.is_crates_io_token()).count();
    let other = blocking.len() - crates_io;
    match (crates_io, other) {
        (_, 0) => count(crates_io, "crates.io credential", "crates.io credentials"),
        (0, _) => count(other, "registry credential", "registry credentials"),
        _ => format!(
            "{} ({crates_io} crates.io, {other} other registry)",
            count(blocking.len(), "credential", "credentials")
        ),
    }
}

/// `1 allowed, 2 placeholders`: what the "Not blocking" list holds.
fn not_blocking_counts(passed: &[&Finding]) -> String {
    let placeholders = passed
        .iter()
        .filter(|f| matches!(f.status, Status::Placeholder))
        .count();
    let allowed = passed.len() - placeholders;
    let mut parts = Vec::new();
    if allowed > 0 {
        parts.push(format!("{allowed} allowed"));
    }
    if placeholders > 0 {
        parts.push(count(placeholders, "placeholder", "placeholders"));
    }
    format!("{} listed below", parts.join(", "))
}

/// Findings in report order, each commit's header once above its findings.
fn write_findings(out: &mut dyn Write, findings: &[&Finding]) -> io::Result<()> {
    let mut previous: Option<&str> = None;
    for finding in findings {
        if let Some(commit) = &finding.commit {
            if previous != Some(commit.oid.as_str()) {
                write_commit_header(out, commit)?;
            }
            previous = Some(commit.oid.as_str());
        } else {
            previous = None;
        }
        write_finding(out, finding)?;
    }
    Ok(())
}

fn write_commit_header(out: &mut dyn Write, commit: &CommitInfo) -> io::Result<()> {
    let place = if commit.stash {
        " (in the stash: local, never pushed)"
    } else {
        ""
    };
    writeln!(
        out,
        "  {} {}{place}{}",
        commit.short_oid().yellow(),
        commit.subject.dimmed(),
        pushed_refs(&commit.refs)
    )?;
    match (&commit.author, &commit.date) {
        (Some(author), Some(date)) => writeln!(out, "    {}", format!("{author}, {date}").dimmed()),
        _ => Ok(()),
    }
}

fn write_finding(out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
    let label = match &finding.status {
        Status::Blocking { .. } => finding.kind(),
        Status::Placeholder => format!("placeholder, {} (not a real secret)", finding.kind()),
        Status::Allowed { .. } => format!("{} (allowed)", finding.kind()),
        Status::AllowedInline => {
            format!("{} (allowed inline by `cio-hook: allow`)", finding.kind())
        }
    };
    let indent = if finding.commit.is_some() {
        "    "
    } else {
        "  "
    };
    writeln!(
        out,
        "{indent}{}  {}  {}",
        finding.location().bold(),
        label,
        finding.token.red()
    )?;
    if let Some(preview) = &finding.preview {
        writeln!(out, "{indent}  {} {}", "|".dimmed(), preview.text)?;
        writeln!(
            out,
            "{indent}  {} {}{}",
            "|".dimmed(),
            " ".repeat(preview.caret_column),
            "^".repeat(preview.caret_width.max(1)).red().bold()
        )?;
    }
    writeln!(out, "{indent}  fingerprint {}", finding.fingerprint)?;
    if let Some(packaged) = &finding.packaged {
        writeln!(
            out,
            "{indent}  {} {} {}, file {}: {}",
            "packaged:".yellow(),
            packaged.package,
            packaged.version,
            packaged.file,
            packaged.why
        )?;
    }
    match &finding.status {
        Status::Blocking {
            expired_allow: Some(expired),
        } => writeln!(
            out,
            "{indent}  {} allowlist entry {expired}",
            "note:".yellow()
        ),
        Status::Allowed { by, reason } => writeln!(out, "{indent}  allowed by {by}: {reason}"),
        _ => Ok(()),
    }
}

/// `  (in main, v1.0)`: the pushed refs that carry a commit, by their short names; empty when
/// there are none.
fn pushed_refs(refs: &[String]) -> String {
    if refs.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = refs
        .iter()
        .map(|name| {
            name.strip_prefix("refs/heads/")
                .or_else(|| name.strip_prefix("refs/tags/"))
                .unwrap_or(name)
        })
        .collect();
    format!("  (in {})", names.join(", "))
}

/// Where the blocking tokens of a commit scan live, which decides how to get rid of them.
struct Places<'a> {
    /// The oldest commit on a branch (or HEAD) that adds one, and whether it is in its message.
    oldest_commit: Option<(&'a CommitInfo, bool)>,
    /// Annotated tags whose message holds one.
    tags: Vec<&'a str>,
    /// Whether the stash holds one.
    stash: bool,
}

impl<'a> Places<'a> {
    fn of(blocking: &[&'a Finding]) -> Places<'a> {
        let mut places = Places {
            oldest_commit: None,
            tags: Vec::new(),
            stash: false,
        };
        for finding in blocking {
            let Some(commit) = finding.commit.as_deref() else {
                continue;
            };
            if finding.path.as_bytes() == TAG_MESSAGE {
                let name = commit
                    .subject
                    .strip_prefix("tag ")
                    .unwrap_or(&commit.subject);
                if !places.tags.contains(&name) {
                    places.tags.push(name);
                }
            } else if commit.stash {
                places.stash = true;
            } else if places.oldest_commit.is_none() {
                // Commit scans list findings parents first: the first one is the oldest.
                let in_message = finding.path.as_bytes() == COMMIT_MESSAGE;
                places.oldest_commit = Some((commit, in_message));
            }
        }
        places
    }
}

fn write_remediation(
    out: &mut dyn Write,
    report: &Report,
    blocking: &[&Finding],
) -> io::Result<()> {
    writeln!(out, "{}", "What to do now:".bold())?;
    let bypass = match &report.scope {
        Scope::Staged => {
            writeln!(
                out,
                "  1. Nothing has left this machine. Remove the token from the file, then \
                 `git add` the file\n     again (or `git restore --staged <file>` to unstage it)."
            )?;
            Some("git commit --no-verify")
        }
        Scope::CommitMessage => {
            writeln!(
                out,
                "  1. Nothing has left this machine. Commit again with the token taken out of the\n     \
                 message (git kept it in .git/COMMIT_EDITMSG: `git commit -e -F .git/COMMIT_EDITMSG`)."
            )?;
            Some("git commit --no-verify")
        }
        Scope::Push { .. } | Scope::Commits { .. } => {
            let pushing = matches!(report.scope, Scope::Push { .. });
            write!(out, "  1. ")?;
            if pushing {
                writeln!(out, "The push was stopped: nothing was sent.")?;
            }
            write_rewrite_advice(out, &Places::of(blocking), !pushing)?;
            pushing.then_some("git push --no-verify")
        }
        Scope::Package { .. } => {
            writeln!(
                out,
                "  1. Nothing was uploaded. Remove the token from the file, or keep the file out\n     \
                 of the package: `exclude = [\"FILE\"]` in [package] (or a narrower `include`),\n     \
                 `.gitignore` for an untracked file (cargo packs untracked files git does not\n     \
                 ignore), a copy instead of a symlink. Check with\n     \
                 `cargo package --list --allow-dirty`. If a published version holds it, revoke\n     \
                 the token (step 3): yanking does not remove a version."
            )?;
            None
        }
        Scope::Files => {
            writeln!(
                out,
                "  1. Remove the token from the file. If the file was ever shared (a CI log, a\n     \
                 published artifact, a paste), treat the token as leaked: see step 3."
            )?;
            None
        }
    };
    writeln!(
        out,
        "  2. Keep the secret out of the repository: `cargo login` stores it in\n     \
         $CARGO_HOME/credentials.toml; a credential provider (cargo:libsecret,\n     \
         cargo:macos-keychain, cargo:wincred) keeps it in the OS keyring; CI reads the\n     \
         CARGO_REGISTRY_TOKEN secret, or better uses Trusted Publishing\n     \
         (rust-lang/crates-io-auth-action), which needs no long-lived token."
    )?;
    writeln!(
        out,
        "  3. If the token was ever pushed, pasted, logged or shared, revoke it now at\n     \
         https://crates.io/settings/tokens and create a new one with the narrowest scopes\n     \
         and an expiry date; rewriting history does not un-leak a token, revocation does.\n     \
         Then check its \"last used\" time there and your crates' recent versions\n     \
         (yank anything you did not publish)."
    )?;
    writeln!(
        out,
        "  4. A false positive (a test fixture, a revoked token)? Allow it by fingerprint in\n     \
         .ciokeyignore.toml, never by pasting the token there:\n\n       \
         [[allow]]\n       fingerprint = \"{}\"\n       reason = \"why this is safe\"",
        blocking[0].fingerprint
    )?;
    match bypass {
        Some(bypass) => writeln!(
            out,
            "\n  5. To go ahead anyway, deliberately: {}",
            bypass.bold()
        ),
        None => Ok(()),
    }
}

/// How to get tokens out of commits, tags and the stash, with the actual commands; the first
/// paragraph continues the current line when `first` is set.
fn write_rewrite_advice(out: &mut dyn Write, places: &Places<'_>, first: bool) -> io::Result<()> {
    let mut first = first;
    let mut paragraph = |out: &mut dyn Write, text: String| -> io::Result<()> {
        if first {
            first = false;
            writeln!(out, "{text}")
        } else {
            writeln!(out, "     {text}")
        }
    };
    if let Some((commit, in_message)) = places.oldest_commit {
        let base = if commit.root {
            "--root".to_string()
        } else {
            format!("{}~1", commit.short_oid())
        };
        let steps = if in_message {
            "mark it `reword`, then edit the message"
        } else {
            "mark it `edit`, then remove the token, `git add`, `git commit --amend`"
        };
        paragraph(
            out,
            format!(
                "The token is in committed history. Rewrite from the oldest commit\n     \
                 that adds one, {} ({}):\n       \
                 git rebase -i {base}\n     \
                 {steps}\n     \
                 and `git rebase --continue`.\n     \
                 If it is the last commit, `git commit --amend` alone does it; for long or shared\n     \
                 history: `git filter-repo --replace-text <file>`.",
                commit.short_oid(),
                commit.subject
            ),
        )?;
    }
    for tag in &places.tags {
        paragraph(
            out,
            format!(
                "Annotated tag {tag} holds it in its message: delete the tag and create it again\n     \
                 without the token:\n       \
                 git tag -d {tag}\n       \
                 git tag -a {tag} <commit>\n     \
                 If the tag was ever pushed, the token has leaked: revoke it (step 3)."
            ),
        )?;
    }
    if places.stash {
        paragraph(
            out,
            "The stash holds it (local, never pushed): once you have what you need from it,\n     \
             drop it: git stash drop stash@{0}"
                .to_string(),
        )?;
    }
    Ok(())
}
