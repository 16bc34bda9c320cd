//! The human report: what was found, where, and what to do now.
//!
//! Colour comes from the `colored` crate, whose global switch the binary sets once (terminal and
//! `NO_COLOR`); this module never decides it.

use std::io::{self, Write};

use colored::Colorize;

use super::{Finding, Report, Scope, Status};

/// Writes `report` for a person.
pub fn write_report(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let blocking: Vec<&Finding> = report.blocking().collect();
    let passed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| !f.is_blocking())
        .collect();
    if blocking.is_empty() {
        writeln!(
            out,
            "{} no crates.io token in {}",
            "cio-hook:".green().bold(),
            scope_phrase(report)
        )?;
    } else {
        let what = match report.scope {
            Scope::Staged => "commit blocked",
            Scope::Push { .. } => "push blocked",
            Scope::Commits { .. } | Scope::Files => "secrets found",
        };
        writeln!(
            out,
            "{} {}: {} in {}",
            "cio-hook:".red().bold(),
            what.red().bold(),
            count(
                blocking.len(),
                "crates.io credential",
                "crates.io credentials"
            ),
            scope_phrase(report)
        )?;
        writeln!(out)?;
        for finding in &blocking {
            write_finding(out, finding)?;
        }
    }
    if !passed.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", "Not blocking:".bold())?;
        for finding in &passed {
            write_finding(out, finding)?;
        }
    }
    if !blocking.is_empty() {
        writeln!(out)?;
        write_remediation(out, report, blocking[0])?;
    }
    Ok(())
}

/// What a report covered, for its first line: `3 commits (all refs)`, `the staged changes`.
pub fn scope_phrase(report: &Report) -> String {
    match &report.scope {
        Scope::Staged => "the staged changes".to_string(),
        Scope::Push { remote } => format!(
            "{} to push to {remote}",
            count(report.commits_scanned, "commit", "commits")
        ),
        Scope::Commits { description } => format!(
            "{} ({description})",
            count(report.commits_scanned, "commit", "commits")
        ),
        Scope::Files => "the files scanned".to_string(),
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
    if let Some(commit) = &finding.commit {
        writeln!(
            out,
            "  {} {}",
            commit.short_oid().yellow(),
            commit.subject.dimmed()
        )?;
        write!(out, "    ")?;
    } else {
        write!(out, "  ")?;
    }
    writeln!(
        out,
        "{}  {}  {}",
        finding.location().bold(),
        label,
        finding.token.red()
    )?;
    let indent = if finding.commit.is_some() {
        "      "
    } else {
        "    "
    };
    writeln!(out, "{indent}fingerprint {}", finding.fingerprint)?;
    match &finding.status {
        Status::Blocking {
            expired_allow: Some(expired),
        } => writeln!(
            out,
            "{indent}{} allowlist entry {expired}",
            "note:".yellow()
        ),
        Status::Allowed { by, reason } => writeln!(out, "{indent}allowed by {by}: {reason}"),
        _ => Ok(()),
    }
}

fn write_remediation(out: &mut dyn Write, report: &Report, example: &Finding) -> io::Result<()> {
    writeln!(out, "{}", "What to do now:".bold())?;
    let bypass = match &report.scope {
        Scope::Staged => {
            writeln!(
                out,
                "  1. Nothing has left this machine. Remove the token from the file, then \
                 `git add` the file\n     again (or `git restore --staged <file>` to unstage it)."
            )?;
            "git commit --no-verify"
        }
        Scope::Push { .. } | Scope::Commits { .. } => {
            writeln!(
                out,
                "  1. The token is in committed history{}.\n     Rewrite the commits that add it: \
                 the last commit: remove the token, `git add`, `git commit --amend`;\n     \
                 an older commit: `git rebase -i <commit>~1` and edit it;\n     \
                 long or shared history: `git filter-repo --replace-text <file>`.",
                if matches!(report.scope, Scope::Push { .. }) {
                    "; the push was stopped, nothing was sent"
                } else {
                    ""
                }
            )?;
            "git push --no-verify"
        }
        Scope::Files => {
            writeln!(
                out,
                "  1. Remove the token from the file. If the file was ever shared (a CI log, a\n     \
                 published artifact, a paste), treat the token as leaked: see step 3."
            )?;
            ""
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
         [[allow]]\n       fingerprint = \"{}\"\n       reason = \"why this is safe\"\n",
        example.fingerprint
    )?;
    if bypass.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  5. To go ahead anyway, deliberately: {}",
        bypass.bold()
    )
}
