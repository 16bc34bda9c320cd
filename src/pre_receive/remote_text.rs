//! What the pusher reads: git shows every line a pre-receive hook writes as `remote: …`.
//!
//! Short, redacted, and complete enough to act on: each blocking finding names its ref and
//! commit, a long list is capped with a count, and the report ends with what to do.

use std::io::{self, Write};

use super::ReceiveReport;
use crate::report::Finding;
use crate::source::TAG_MESSAGE;

/// At most this many findings are listed; the rest are counted.
pub const MAX_LISTED: usize = 10;

/// Writes why the push is rejected (or, with `bypass`, let through anyway).
pub fn write_rejection(
    out: &mut dyn Write,
    received: &ReceiveReport,
    bypass: Option<&str>,
) -> io::Result<()> {
    let blocking: Vec<(&str, &Finding)> = received.blocking().collect();
    let commits = received.report.commits_scanned;
    let verdict = if bypass.is_some() {
        "push let through by a bypass"
    } else {
        "push rejected"
    };
    writeln!(
        out,
        "cio-hook: {verdict}: {} in {}",
        plural(
            blocking.len(),
            "crates.io credential",
            "crates.io credentials"
        ),
        plural(commits, "new commit", "new commits"),
    )?;
    for (name, finding) in blocking.iter().take(MAX_LISTED) {
        let (commit, subject) = match &finding.commit {
            Some(commit) => (commit.short_oid(), commit.subject.as_str()),
            None => ("", ""),
        };
        writeln!(out, "  {name} {commit} {subject}")?;
        writeln!(
            out,
            "    {}  {}  {}  {}",
            finding.location(),
            finding.kind(),
            finding.token,
            finding.fingerprint
        )?;
    }
    if blocking.len() > MAX_LISTED {
        writeln!(out, "  … and {} more", blocking.len() - MAX_LISTED)?;
    }
    if bypass.is_some() {
        // The caller says who bypassed, why, and what to do, on one line.
        return Ok(());
    }
    writeln!(out, "What to do:")?;
    // Findings come parents first: the first one in a commit (not a tag's message) is in the
    // oldest commit to rewrite from.
    let oldest = blocking
        .iter()
        .filter(|(_, finding)| finding.path.as_bytes() != TAG_MESSAGE)
        .find_map(|(_, finding)| finding.commit.as_deref());
    match oldest {
        Some(commit) => {
            let base = if commit.root {
                "--root".to_string()
            } else {
                format!("{}~1", commit.short_oid())
            };
            writeln!(
                out,
                "  1. Rewrite the commits that add a token, then push again. From the oldest,\n     \
                 {} ({}):\n       \
                 git rebase -i {base}\n     \
                 mark it `edit`, remove the token, `git commit --amend`, `git rebase --continue`;\n     \
                 the last commit alone: remove it, `git commit --amend`; long history:\n     \
                 `git filter-repo --replace-text <file>`. Nothing was stored on this server.",
                commit.short_oid(),
                commit.subject
            )?;
        }
        None => writeln!(
            out,
            "  1. Write the tag again without the token in its message (`git tag -f -a NAME \
             'NAME^{{}}'`),\n     then push it again. Nothing was stored on this server."
        )?,
    }
    writeln!(
        out,
        "  2. The token left your machine in this push: revoke it at\n     \
         https://crates.io/settings/tokens and create a new one; a rewrite does not un-leak it."
    )?;
    writeln!(
        out,
        "  3. Not a live token (a test fixture)? Get its fingerprint allowed in the server's\n     \
         allowlist or in .ciokeyignore.toml on the default branch first; an entry in the\n     \
         pushed commits does not count."
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
