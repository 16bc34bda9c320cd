//! The commands for a token that was found: `verify` (is it live?) and `revoke` (kill it now).
//!
//! `verify` and `revoke` are the only commands that reach the network, and only after the person
//! said yes (a prompt on a terminal, or `--yes`). Everything they print names tokens by their
//! redacted form and fingerprint.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use git2::Repository;
use serde::Serialize;

use cio_hook::allow;
use cio_hook::baseline::found_at;
use cio_hook::crates_io::{ApiUrl, Client, Liveness, Revocation, TokenKind, TOKENS_PAGE};
use cio_hook::redact::redact_text;
use cio_hook::report::text::scope_phrase;
use cio_hook::report::{count, Finding, Report, Scope, Status};
use cio_hook::repository::{GitRepository, Opened};
use cio_hook::source::{commits, range};
use cio_hook::{Scanner, EXIT_CLEAN, EXIT_ERROR, EXIT_FOUND};

use crate::cli::{Format, Network, TokenScope};

use super::context::{progress, Context};

/// One token to send, with the first place it was found.
struct Target<'a> {
    finding: &'a Finding,
    secret: Vec<u8>,
}

/// One token's line in the JSON output of `verify` and `revoke`.
#[derive(Serialize)]
struct TokenResult<'a, T: Serialize> {
    token: &'a str,
    fingerprint: &'a str,
    found_at: String,
    result: T,
}

/// The JSON document `verify` and `revoke` write with `--format json`.
#[derive(Serialize)]
struct Document<'a, T: Serialize> {
    version: u32,
    command: &'static str,
    api_url: String,
    tokens: Vec<TokenResult<'a, T>>,
}

/// `verify`: asks crates.io whether the tokens with these fingerprints (every token found when
/// none is given) are live.
pub fn verify(
    context: &Context,
    fingerprints: &[String],
    scope: &TokenScope,
    network: &Network,
) -> Result<i32> {
    verify_or_revoke(context, fingerprints, scope, network, "verify")
}

/// `revoke`: revokes the token with this fingerprint through crates.io's API.
pub fn revoke(
    context: &Context,
    fingerprint: &str,
    scope: &TokenScope,
    network: &Network,
) -> Result<i32> {
    verify_or_revoke(
        context,
        &[fingerprint.to_string()],
        scope,
        network,
        "revoke",
    )
}

fn verify_or_revoke(
    context: &Context,
    wanted: &[String],
    scope: &TokenScope,
    network: &Network,
    command: &'static str,
) -> Result<i32> {
    let wanted = wanted
        .iter()
        .map(|text| {
            fingerprint_prefix(text.trim()).with_context(|| {
                format!(
                    "{} is not a fingerprint: pass the \"sha256:…\" value a report prints (or \
                     its start, at least {MIN_PREFIX_HEX} hex digits), never the token",
                    redact_text(text.as_bytes())
                )
            })
        })
        .collect::<Result<Vec<String>>>()?;
    // Checked before scanning, so that a mistake costs nothing.
    let api_url = ApiUrl::parse(&network.api_url)?;
    let (scanner, report) = scan(context, scope)?;
    let targets = select(&scanner, &report, &wanted, scope)?;
    let text = context.format == Format::Text;
    if targets.is_empty() {
        if text {
            println!(
                "cio-hook: no crates.io token in {}; nothing to {command}",
                scope_phrase(&report)
            );
        } else {
            print_json(command, &api_url, Vec::<TokenResult<Liveness>>::new())?;
        }
        return Ok(EXIT_CLEAN);
    }
    let mut notice: Box<dyn Write> = if text {
        Box::new(std::io::stdout())
    } else {
        Box::new(std::io::stderr())
    };
    writeln!(
        notice,
        "cio-hook: {} in {}:",
        count(targets.len(), "token", "tokens"),
        scope_phrase(&report)
    )?;
    for target in &targets {
        writeln!(
            notice,
            "  {}  {}\n    found at {}",
            target.finding.token,
            target.finding.fingerprint,
            found_at(target.finding)
        )?;
    }
    writeln!(notice)?;
    let sending = Sending {
        api_url,
        timeout: Duration::from_secs(network.timeout.max(1)),
        yes: network.yes,
        reads_stdin: scope.path.iter().any(|path| path.as_os_str() == "-"),
        notice,
        text,
    };
    if command == "verify" {
        check_liveness(&targets, sending)
    } else {
        revoke_one(&targets[0], sending)
    }
}

/// How `verify` and `revoke` send, confirm and write, from the command line.
struct Sending {
    api_url: ApiUrl,
    timeout: Duration,
    /// `--yes`: confirmed in advance.
    yes: bool,
    /// Standard input carries the text to scan, so it cannot answer a question.
    reads_stdin: bool,
    /// Where the list of tokens and the notice before sending go (stderr for JSON output).
    notice: Box<dyn Write>,
    /// Text output rather than JSON.
    text: bool,
}

fn check_liveness(targets: &[Target<'_>], sending: Sending) -> Result<i32> {
    let Sending {
        api_url,
        timeout,
        yes,
        reads_stdin,
        mut notice,
        text,
    } = sending;
    let to_send = targets
        .iter()
        .filter(|target| TokenKind::of(&target.secret) == Some(TokenKind::Api))
        .count();
    if to_send > 0 {
        writeln!(
            notice,
            "verify sends {} to {api_url} (GET /api/v1/me, read-only, one request each).\n\
             crates.io records every request as the token's \"last used\" time, the owner's \
             evidence of\nwhether someone else used it: read that time at {TOKENS_PAGE} first.",
            count(to_send, "token", "tokens")
        )?;
        notice.flush()?;
        if !confirm("Send?", yes, reads_stdin, "verify", &api_url)? {
            writeln!(notice, "cio-hook: nothing sent")?;
            return Ok(EXIT_ERROR);
        }
    }
    let client = Client::new(api_url.clone(), timeout, "verify");
    let mut results = Vec::new();
    for target in targets {
        results.push((target.finding, client.check(&target.secret)));
    }
    let live = results
        .iter()
        .filter(|(_, result)| matches!(result, Liveness::Live { .. }))
        .count();
    let unknown = results
        .iter()
        .filter(|(_, result)| matches!(result, Liveness::Unknown { .. }))
        .count();
    if text {
        let mut out = std::io::stdout().lock();
        writeln!(out)?;
        for (finding, result) in &results {
            let (label, why) = match result {
                Liveness::Live { why } => ("LIVE", why),
                Liveness::NotLive { why } => ("not live", why),
                Liveness::Unknown { why } => ("could not tell", why),
            };
            writeln!(out, "  {}  {label}: {why}", finding.token)?;
        }
        writeln!(
            out,
            "\n{} live, {} not live, {} could not tell",
            live,
            results.len() - live - unknown,
            unknown
        )?;
        if live > 0 {
            writeln!(
                out,
                "\nA live token may be in use by someone else. Now: read its \"last used\" time at\n\
                 {TOKENS_PAGE}, then revoke it (`cio-hook revoke FINGERPRINT`, or on that page),\n\
                 create a new one with the narrowest scopes (or move CI to Trusted Publishing), and\n\
                 check your crates' recent versions (yank anything you did not publish)."
            )?;
        }
    } else {
        print_json("verify", &api_url, token_results(results))?;
    }
    Ok(if live > 0 {
        EXIT_FOUND
    } else if unknown > 0 {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    })
}

fn revoke_one(target: &Target<'_>, sending: Sending) -> Result<i32> {
    let Sending {
        api_url,
        timeout,
        yes,
        reads_stdin,
        mut notice,
        text,
    } = sending;
    let endpoint = match TokenKind::of(&target.secret) {
        Some(TokenKind::Api) => "DELETE /api/v1/tokens/current",
        Some(TokenKind::TrustedPublishing) => "DELETE /api/v1/trusted_publishing/tokens",
        None => bail!(
            "{} is not in crates.io's token format (a secret for another registry, say): revoke \
             it where it was issued; nothing was sent",
            target.finding.token
        ),
    };
    writeln!(
        notice,
        "revoke sends the token to {api_url} ({endpoint}): anything still using it stops working.\n\
         A revoked token disappears from {TOKENS_PAGE}: read its \"last used\" time there first."
    )?;
    notice.flush()?;
    if !confirm("Revoke it?", yes, reads_stdin, "revoke", &api_url)? {
        writeln!(notice, "cio-hook: nothing sent")?;
        return Ok(EXIT_ERROR);
    }
    let result = Client::new(api_url.clone(), timeout, "revoke").revoke(&target.secret);
    let code = match result {
        Revocation::Revoked { .. } | Revocation::NotLive { .. } => EXIT_CLEAN,
        Revocation::LiveNotRevoked { .. } => EXIT_FOUND,
        Revocation::NotSent { .. } | Revocation::OutcomeUnknown { .. } => EXIT_ERROR,
    };
    if text {
        let (label, why) = match &result {
            Revocation::Revoked { why } => ("revoked", why),
            Revocation::NotLive { why } => ("not live, nothing to revoke", why),
            Revocation::LiveNotRevoked { why } => ("LIVE, NOT revoked", why),
            Revocation::NotSent { why } => ("not revoked", why),
            Revocation::OutcomeUnknown { why } => ("outcome unknown", why),
        };
        println!("\n  {}  {label}: {why}", target.finding.token);
        if matches!(result, Revocation::Revoked { .. }) {
            println!(
                "\nNow: create a new token with the narrowest scopes and an expiry date (or move CI \
                 to\nTrusted Publishing), check your crates' recent versions (yank anything you did \
                 not\npublish), then remove the token from history (`git filter-repo --replace-text`)."
            );
        }
    } else {
        print_json(
            "revoke",
            &api_url,
            token_results(vec![(target.finding, result)]),
        )?;
    }
    Ok(code)
}

/// Asks on the terminal whether to send; `--yes` answers in advance. Without a terminal to ask
/// on (or when standard input carries the text to scan), refuses unless `--yes` was given.
fn confirm(
    question: &str,
    yes: bool,
    reads_stdin: bool,
    command: &str,
    api_url: &ApiUrl,
) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if reads_stdin || !stdin.is_terminal() {
        bail!(
            "{command} asks before sending a token to {} and there is no terminal to ask on: \
             pass --yes to confirm; nothing was sent",
            service_name(api_url)
        );
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `crates.io` for its API, else the `--api-url` given: what a message says a token goes to.
fn service_name(api_url: &ApiUrl) -> String {
    if api_url.to_string() == cio_hook::crates_io::DEFAULT_API_URL {
        "crates.io".to_string()
    } else {
        api_url.to_string()
    }
}

/// Scans the scope the command names (all refs' history by default), keeping token text.
fn scan(context: &Context, scope: &TokenScope) -> Result<(Scanner, Report)> {
    if !scope.path.is_empty() {
        let repo = Repository::open_from_env().ok();
        let scanner = context.scanner(repo.as_ref())?.keeping_secrets();
        let report = scanner.scan_paths(&scope.path)?;
        return Ok((scanner, report));
    }
    let repo = match context.open()? {
        Opened::Libgit2(repo) => repo,
        Opened::Git(repo) => return scan_with_git(context, &repo, scope),
    };
    let scanner = context.scanner(Some(&repo))?.keeping_secrets();
    let report = if scope.staged {
        scanner.scan_staged(&repo)?
    } else {
        let (commit_ids, description) = match &scope.range {
            Some(revspec) => (range::commits_in_range(&repo, revspec)?, revspec.clone()),
            None => (commits::all_commits(&repo)?, "all refs".to_string()),
        };
        let scope = Scope::Commits { description };
        scanner.scan_commits(&repo, &commit_ids, scope, &mut progress())?
    };
    Ok((scanner, report))
}

/// [`scan`] on a repository read through git.
fn scan_with_git(
    context: &Context,
    repo: &GitRepository,
    scope: &TokenScope,
) -> Result<(Scanner, Report)> {
    let scanner = context.git_scanner(repo)?.keeping_secrets();
    let report = if scope.staged {
        scanner.scan_staged_git(repo)?
    } else if let Some(revspec) = &scope.range {
        scanner.scan_range_git(repo, revspec, &mut progress())?
    } else {
        let commits = cio_hook::source::git_cli::rev_list(repo, &["--all"])?;
        let scope = Scope::Commits {
            description: "all refs".to_string(),
        };
        scanner.scan_commits_git(repo, &commits, scope, &mut progress())?
    };
    Ok((scanner, report))
}

/// The fewest hex digits a fingerprint prefix must have, as git asks of a short object id.
const MIN_PREFIX_HEX: usize = 4;

/// A fingerprint or its start (`sha256:` and at least [`MIN_PREFIX_HEX`] hex digits), lowercase;
/// `None` for anything else (a token pasted by mistake, say).
fn fingerprint_prefix(text: &str) -> Option<String> {
    if let Some(full) = allow::normalized_fingerprint(text) {
        return Some(full);
    }
    let hex = text
        .get(..7)?
        .eq_ignore_ascii_case("sha256:")
        .then(|| &text[7..])?;
    let well_formed =
        (MIN_PREFIX_HEX..64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// The tokens to send: those whose fingerprints start with the wanted ones (each must name
/// exactly one token found), or every token found but placeholders; one per fingerprint, at its
/// first finding.
fn select<'a>(
    scanner: &Scanner,
    report: &'a Report,
    wanted: &[String],
    scope: &TokenScope,
) -> Result<Vec<Target<'a>>> {
    let mut chosen: Vec<&str> = Vec::new();
    for prefix in wanted {
        let mut matching: Vec<&Finding> = Vec::new();
        for finding in &report.findings {
            let new = !matching
                .iter()
                .any(|seen| seen.fingerprint == finding.fingerprint);
            if finding.fingerprint.starts_with(prefix.as_str()) && new {
                matching.push(finding);
            }
        }
        match matching.as_slice() {
            [] => bail!(
                "no token with fingerprint {prefix} in {}; pick the scope where it was reported \
                 ({})",
                scope_phrase(report),
                other_scopes(scope)
            ),
            [one] => chosen.push(&one.fingerprint),
            several => {
                let candidates: Vec<String> = several
                    .iter()
                    .map(|finding| format!("{} ({})", finding.fingerprint, found_at(finding)))
                    .collect();
                bail!(
                    "{prefix} is ambiguous: it starts {} fingerprints in {}: {}; give more of it",
                    several.len(),
                    scope_phrase(report),
                    candidates.join(", ")
                );
            }
        }
    }
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for finding in &report.findings {
        let picked = if wanted.is_empty() {
            finding.status != Status::Placeholder
        } else {
            chosen.contains(&finding.fingerprint.as_str())
        };
        if picked && seen.insert(finding.fingerprint.as_str()) {
            let secret = scanner
                .secret(&finding.fingerprint)
                .context("internal error: a token found was not kept")?;
            targets.push(Target { finding, secret });
        }
    }
    Ok(targets)
}

/// The scope options other than the one just searched, for the hint after a miss.
fn other_scopes(scope: &TokenScope) -> String {
    let searched = if scope.staged {
        "--staged"
    } else if scope.range.is_some() {
        "--range REVSPEC"
    } else if !scope.path.is_empty() {
        "--path PATH"
    } else {
        "--history"
    };
    let others: Vec<&str> = ["--staged", "--range REVSPEC", "--history", "--path PATH"]
        .into_iter()
        .filter(|option| *option != searched)
        .collect();
    others.join(", ")
}

fn token_results<T: Serialize>(results: Vec<(&Finding, T)>) -> Vec<TokenResult<'_, T>> {
    results
        .into_iter()
        .map(|(finding, result)| TokenResult {
            token: &finding.token,
            fingerprint: &finding.fingerprint,
            found_at: found_at(finding),
            result,
        })
        .collect()
}

fn print_json<T: Serialize>(
    command: &'static str,
    api_url: &ApiUrl,
    tokens: Vec<TokenResult<'_, T>>,
) -> Result<()> {
    let document = Document {
        version: 1,
        command,
        api_url: api_url.to_string(),
        tokens,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &document)?;
    writeln!(out)?;
    Ok(())
}
