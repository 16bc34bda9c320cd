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
            Scope::Staged { .. } | Scope::CommitMessage => "commit blocked",
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
        Scope::Staged { .. } => "the staged changes".to_string(),
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
    /// The files of that commit that hold one (not its message).
    oldest_commit_files: Vec<&'a str>,
    /// Whether the stash holds one.
    stash: bool,
}

impl<'a> Places<'a> {
    fn of(blocking: &[&'a Finding]) -> Places<'a> {
        let mut places = Places {
            oldest_commit: None,
            oldest_commit_files: Vec::new(),
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
            } else {
                // Commit scans list findings parents first: the first one is the oldest.
                let in_message = finding.path.as_bytes() == COMMIT_MESSAGE;
                let (oldest, _) = *places.oldest_commit.get_or_insert((commit, in_message));
                let path = finding.path.as_str();
                if oldest.oid == commit.oid
                    && !in_message
                    && !places.oldest_commit_files.contains(&path)
                {
                    places.oldest_commit_files.push(path);
                }
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
    let mut steps: Vec<String> = Vec::new();
    let bypass = match &report.scope {
        Scope::Staged { first_commit } => {
            let paths = distinct_paths(blocking);
            let files = shell_words(&paths);
            let (the_file, it) = if paths.len() == 1 {
                (files.clone(), "it")
            } else {
                ("each file".to_string(), "them")
            };
            // Before the first commit there is no HEAD to restore the index from.
            let unstage = if *first_commit {
                "git rm --cached -q"
            } else {
                "git restore --staged"
            };
            steps.push(format!(
                "Nothing has left this machine. Take the token out of {the_file}, then\n\
                 stage {it} again (first command) or unstage {it} instead (second):\n       \
                 git add {files}\n       \
                 {unstage} {files}"
            ));
            Some("git commit --no-verify")
        }
        Scope::CommitMessage => {
            steps.push(
                "Nothing has left this machine. Commit again with the token taken out of the\n\
                 message (git kept it in .git/COMMIT_EDITMSG: `git commit -e -F .git/COMMIT_EDITMSG`)."
                    .to_string(),
            );
            Some("git commit --no-verify")
        }
        Scope::Push { .. } | Scope::Commits { .. } => {
            let pushing = matches!(report.scope, Scope::Push { .. });
            let mut text = String::new();
            if pushing {
                text.push_str("The push was stopped: nothing was sent.\n");
            }
            text.push_str(&rewrite_advice(&Places::of(blocking)));
            steps.push(text);
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
            steps.push(
                "Remove the token from the file. If the file was ever shared (a CI log, a\n\
                 published artifact, a paste), treat the token as leaked: revoke it (below)."
                    .to_string(),
            );
            None
        }
    };
    let api_tokens = blocking
        .iter()
        .any(|f| !f.is_trusted_publishing() && !f.is_other_registry());
    let trusted_publishing: Vec<&Finding> = blocking
        .iter()
        .copied()
        .filter(|f| f.is_trusted_publishing())
        .collect();
    let mut registries: Vec<&str> = Vec::new();
    for registry in blocking
        .iter()
        .filter(|f| f.is_other_registry())
        .filter_map(|f| f.registry.as_deref())
    {
        if !registries.contains(&registry) {
            registries.push(registry);
        }
    }
    if api_tokens {
        steps.push(
            "Keep the secret out of the repository: `cargo login` stores it in\n\
             $CARGO_HOME/credentials.toml; a credential provider (cargo:libsecret,\n\
             cargo:macos-keychain, cargo:wincred) keeps it in the OS keyring; CI reads the\n\
             CARGO_REGISTRY_TOKEN secret, or better uses Trusted Publishing\n\
             (rust-lang/crates-io-auth-action), which needs no long-lived token."
                .to_string(),
        );
        steps.push(
            "If the token was ever pushed, pasted, logged or shared, revoke it now at\n\
             https://crates.io/settings/tokens and create a new one with the narrowest scopes\n\
             and an expiry date; rewriting history does not un-leak a token, revocation does.\n\
             Then check its \"last used\" time there and your crates' recent versions\n\
             (yank anything you did not publish)."
                .to_string(),
        );
    }
    if !trusted_publishing.is_empty() {
        let revoke: Vec<String> = trusted_publishing
            .iter()
            .map(|f| format!("cio-hook revoke {}", f.fingerprint))
            .collect();
        steps.push(format!(
            "A Trusted Publishing token is issued to one CI job and expires 30 minutes after;\n\
             it is not listed on crates.io's tokens page, and cargo does not store it. Until it\n\
             expires it can publish: if it may still be live, revoke it now:\n       \
             {}\n\
             then check your crates' recent versions (yank anything you did not publish), and\n\
             keep the job from writing it to a file or log.",
            revoke.join("\n       ")
        ));
    }
    for registry in &registries {
        let variable = format!(
            "CARGO_REGISTRIES_{}_TOKEN",
            registry.to_uppercase().replace('-', "_")
        );
        steps.push(format!(
            "This is a token of the registry `{registry}`, not of crates.io. Keep it out of the\n\
             repository: `cargo login --registry {registry}`, a credential provider, or the\n\
             {variable} secret in CI. If it was ever pushed, pasted, logged or\n\
             shared, revoke it where `{registry}` issues tokens and create a new one;\n\
             rewriting history does not un-leak a token, revocation does."
        ));
    }
    let mut fingerprints: Vec<&str> = blocking.iter().map(|f| f.fingerprint.as_str()).collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    let snippets: Vec<String> = fingerprints
        .iter()
        .map(|fingerprint| {
            format!(
                "       [[allow]]\n       fingerprint = \"{fingerprint}\"\n       \
                 reason = \"{}\"",
                crate::allow::TEMPLATE_REASON
            )
        })
        .collect();
    steps.push(format!(
        "A false positive (a test fixture, a revoked token)? Allow it by fingerprint in\n\
         .ciokeyignore.toml, never by pasting the token there{}:\n\n{}\n\n",
        if snippets.len() > 1 {
            " (one entry each)"
        } else {
            ""
        },
        snippets.join("\n\n")
    ));
    if let Some(bypass) = bypass {
        steps.push(format!(
            "To go ahead anyway, deliberately: {}",
            bypass.bold()
        ));
    }
    let last = steps.len() - 1;
    for (index, step) in steps.iter().enumerate() {
        let step = if index == last { step.trim_end() } else { step };
        let mut lines = step.lines();
        writeln!(out, "  {}. {}", index + 1, lines.next().unwrap_or_default())?;
        for line in lines {
            if line.is_empty() {
                writeln!(out)?;
            } else if line.starts_with("  ") {
                writeln!(out, "{line}")?;
            } else {
                writeln!(out, "     {line}")?;
            }
        }
    }
    Ok(())
}

/// The distinct paths of `findings`, in report order.
fn distinct_paths<'a>(findings: &[&'a Finding]) -> Vec<&'a str> {
    let mut paths: Vec<&str> = Vec::new();
    for finding in findings {
        if !paths.contains(&finding.path.as_str()) {
            paths.push(&finding.path);
        }
    }
    paths
}

/// Paths as shell words, space-separated: single-quoted when they hold anything but
/// `[A-Za-z0-9._/-]`, so that a command copied from the advice names exactly those files.
fn shell_words(paths: &[&str]) -> String {
    let words: Vec<String> = paths
        .iter()
        .map(|path| {
            let plain = !path.is_empty()
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
            if plain {
                path.to_string()
            } else {
                format!("'{}'", path.replace('\'', "'\\''"))
            }
        })
        .collect();
    words.join(" ")
}

/// How to get tokens out of commits, tags and the stash, with the actual commands: lines of one
/// step, commands indented by two spaces more than the text.
fn rewrite_advice(places: &Places<'_>) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    if let Some((commit, in_message)) = places.oldest_commit {
        let base = if commit.root {
            "--root".to_string()
        } else {
            format!("{}~1", commit.short_oid())
        };
        let files = shell_words(&places.oldest_commit_files);
        let steps = if in_message || places.oldest_commit_files.is_empty() {
            "mark it `reword`, then edit the message and `git rebase --continue`.".to_string()
        } else {
            format!(
                "mark it `edit`, then remove the token from {files}, `git add {files}`,\n\
                 `git commit --amend` and `git rebase --continue`. If that commit does nothing\n\
                 but add {files}, mark it `drop` instead (removing the file would leave an\n\
                 empty commit, which `--amend` refuses); a later commit that deletes it then\n\
                 has nothing left to do: `git rebase --skip` it if rebase stops there."
            )
        };
        paragraphs.push(format!(
            "The token is in committed history. Rewrite from the oldest commit\n\
             that adds one, {} ({}):\n       \
             git rebase -i {base}\n\
             {steps}\n\
             If it is the last commit, `git commit --amend` alone does it; for long or shared\n\
             history: `git filter-repo --replace-text <file>`.",
            commit.short_oid(),
            commit.subject
        ));
    }
    for tag in &places.tags {
        paragraphs.push(format!(
            "Annotated tag {tag} holds it in its message: write the tag again, on the same\n\
             commit, with the token taken out of the message:\n       \
             git tag -f -a {tag} '{tag}^{{}}'\n\
             If the tag was ever pushed, the token has leaked: revoke it (below)."
        ));
    }
    if places.stash {
        paragraphs.push(
            "The stash holds it (local, never pushed): once you have what you need from it,\n\
             drop it:\n       \
             git stash drop stash@{0}"
                .to_string(),
        );
    }
    paragraphs.join("\n")
}
