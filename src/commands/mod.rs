//! Glue between the command line and the library: open the repository, load the allowlist, run
//! the scan, write the report, choose the exit code.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use git2::Repository;

use cio_hook::allow::{self, Allowlist};
use cio_hook::install::{self, Hook, Installed, Removed};
use cio_hook::report::{self, Report, Scope};
use cio_hook::source::{commits, pre_push, range};
use cio_hook::{Scanner, EXIT_CLEAN, EXIT_FOUND};

use crate::cli::{Cli, Command, Format};

/// Whether this run is a git hook's: `pre-push` and `pre-receive` always are, other commands when the shim says so
/// with `--hook`.
fn runs_as_hook(cli: &Cli) -> bool {
    cli.hook
        || matches!(
            cli.command,
            Command::PrePush { .. } | Command::PreReceive { .. }
        )
}

/// Whether a report with no findings is left unprinted: a hook stays silent on success
/// (`git commit -q` too) unless asked for the summary. JSON and SARIF are always written, since
/// a consumer expects a document.
fn silent_when_clean(cli: &Cli) -> bool {
    let verbose_env =
        std::env::var_os("CIO_HOOK_VERBOSE").is_some_and(|value| !value.is_empty() && value != "0");
    runs_as_hook(cli) && !cli.verbose && !verbose_env && cli.format == Format::Text
}

/// The line that tells a person how to get past a hook that could not run; only for hooks, since
/// by hand nothing is being blocked.
pub fn bypass_hint(cli: &Cli) -> Option<&'static str> {
    if !runs_as_hook(cli) {
        return None;
    }
    match cli.command {
        Command::ScanStaged | Command::ScanMessage { .. } => Some(
            "the commit is blocked because the check could not run; to commit without it, \
             deliberately: git commit --no-verify",
        ),
        Command::PrePush { .. } => Some(
            "the push is blocked because the check could not run; to push without it, \
             deliberately: git push --no-verify",
        ),
        Command::PreReceive { .. } => Some(
            "the push is rejected because the check could not run; if this server's admin \
             enabled it: git push -o ciohook.bypass=\"reason\"",
        ),
        _ => None,
    }
}

/// An error as one line, its causes joined by ": ": git2's messages without the
/// `class=…; code=…` that libgit2 appends (git shows no such thing), a cause already said not
/// repeated, and every token redacted.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = match cause.downcast_ref::<git2::Error>() {
            Some(git_error) => git_error.message().to_string(),
            None => cause.to_string(),
        };
        if line.contains(text.as_str()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    cio_hook::redact::redact_text(line.as_bytes()).replace('\n', " ")
}

/// Writes the document that says the run failed, in the format asked for, on stdout: a JSON or
/// SARIF consumer gets a valid file that reads as a failure. Text needs none: the error is on
/// stderr. `message` must already be redacted.
pub fn write_error_document(format: Format, message: &str) {
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Text => return,
        Format::Json => report::json::write_error(&mut out, message),
        Format::Sarif => report::sarif::write_error(&mut out, message),
    };
    // Nothing more can be said if stdout itself is gone; the exit code still says it.
    let _ = written.and_then(|()| out.flush());
}

/// The `--format` on a command line that clap refused (`--format X` or `--format=X`), so that
/// the error document can be written all the same.
pub fn format_in_args(args: &[std::ffi::OsString]) -> Option<Format> {
    use clap::ValueEnum;
    let args: Vec<&str> = args.iter().filter_map(|arg| arg.to_str()).collect();
    let mut format = None;
    for (index, arg) in args.iter().enumerate() {
        let value = match arg.strip_prefix("--format") {
            Some("") => args.get(index + 1).copied(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(parsed) = value.and_then(|value| Format::from_str(value, false).ok()) {
            format = Some(parsed);
        }
    }
    format
}

/// The commands that write no report, hence take no `--format` other than text.
fn report_free_command_name(command: &Command) -> Option<&'static str> {
    match command {
        Command::CheckConfig => Some("check-config"),
        Command::Install { .. } => Some("install"),
        Command::Uninstall => Some("uninstall"),
        Command::Allow { .. } => Some("allow"),
        Command::PreReceive { .. } => Some("pre-receive"),
        Command::Baseline { .. } => Some("baseline"),
        _ => None,
    }
}

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if let Some(name) =
        report_free_command_name(&cli.command).filter(|_| cli.format != Format::Text)
    {
        let format = clap::ValueEnum::to_possible_value(&cli.format)
            .map(|value| value.get_name().to_string())
            .unwrap_or_default();
        anyhow::bail!(
            "--format {format} applies to the scan commands (scan-staged, pre-push, scan-range, \
             scan-history, scan-path); {name} writes text only"
        );
    }
    if let Some(dir) = &cli.directory {
        std::env::set_current_dir(dir)
            .with_context(|| format!("cannot change to {}", dir.display()))?;
    }
    colored::control::set_override(use_colour(cli.format));
    // Objects come from the repository the user is committing to; re-hashing each one on read
    // (as git itself does not) would double the cost of a history scan.
    git2::opts::strict_hash_verification(false);
    cio_hook::source::limit_pack_memory();
    if let Command::Verify { .. } | Command::Revoke { .. } = &cli.command {
        return crate::token_commands::verify_or_revoke(&cli);
    }
    if let Command::ScanPath { paths } = &cli.command {
        let paths = if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.clone()
        };
        let repo = Repository::open_from_env().ok();
        let report = scanner(repo.as_ref(), &cli)?.scan_paths(&paths)?;
        return finish(&report, &cli);
    }
    if let Command::PreReceive { timeout } = cli.command {
        return crate::pre_receive_command::run(cli.config.as_deref(), timeout);
    }
    let repo = open_repository()?;
    let report = match cli.command {
        Command::ScanStaged => scanner(Some(&repo), &cli)?.scan_staged(&repo)?,
        Command::PrePush {
            ref remote,
            ref url,
        } => {
            let (remote, url, updates) = match remote {
                Some(remote) => (remote.clone(), url.clone(), updates_from_stdin()?),
                None => updates_from_pre_commit_framework(&repo)?,
            };
            scanner(Some(&repo), &cli)?.scan_push(
                &repo,
                &remote,
                url.as_deref(),
                &updates,
                &mut progress(),
            )?
        }
        Command::ScanMessage { ref file } => scanner(Some(&repo), &cli)?.scan_message(file)?,
        Command::ScanRange { ref revspec } => {
            let commit_ids = range::commits_in_range(&repo, revspec)?;
            let scope = Scope::Commits {
                description: revspec.clone(),
            };
            scanner(Some(&repo), &cli)?.scan_commits(&repo, &commit_ids, scope, &mut progress())?
        }
        Command::ScanHistory => {
            let scope = Scope::Commits {
                description: "all refs".to_string(),
            };
            let mut report =
                scanner(Some(&repo), &cli)?.scan_history(&repo, scope, &mut progress())?;
            let stash = commits::stash_only_commits(&repo)?;
            report.fold_stash(&stash.iter().map(|oid| oid.to_string()).collect());
            report
        }
        Command::Allow {
            ref fingerprint,
            ref reason,
            expires,
        } => {
            let path = allowlist_path(&repo, &cli)?;
            allow::append_fingerprint_entry(&path, fingerprint, reason, expires)?;
            println!("added an entry for {fingerprint} to {}", path.display());
            warn_if_untracked(&repo, &path);
            return Ok(EXIT_CLEAN);
        }
        Command::CheckConfig => return check_config(&repo, &cli),
        Command::Install {
            pre_push,
            pre_receive,
            force,
        } => return install_hooks(&repo, pre_push, pre_receive, force),
        Command::Uninstall => return uninstall_hooks(&repo),
        Command::Baseline { ref reason } => {
            return crate::token_commands::baseline(&repo, &cli, reason)
        }
        Command::ScanPath { .. } | Command::Verify { .. } | Command::Revoke { .. } => {
            unreachable!("handled above, without a repository")
        }
        Command::PreReceive { .. } => unreachable!("handled above, with git's environment"),
    };
    finish(&report, &cli)
}

/// Writes the report (unless a hook found nothing at all) and picks the exit code. A hook that
/// let a token through (allowlisted, marked inline, a placeholder) still says so.
fn finish(report: &Report, cli: &Cli) -> Result<i32> {
    if !(report.findings.is_empty() && silent_when_clean(cli)) {
        write_report(report, cli.format)?;
    }
    Ok(if report.blocks() {
        EXIT_FOUND
    } else {
        EXIT_CLEAN
    })
}

/// git's pre-push lines, from standard input.
fn updates_from_stdin() -> Result<Vec<pre_push::RefUpdate>> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading git's pre-push lines from standard input")?;
    Ok(pre_push::parse_updates(&input)?)
}

/// What to scan for a push under the pre-commit framework, which gives hooks neither git's
/// arguments nor its standard input: the remote from `PRE_COMMIT_REMOTE_NAME` (and
/// `PRE_COMMIT_REMOTE_URL`), and as updates every local branch and tag (the framework describes
/// only the first pushed ref, so any other could hide a token) plus the ref it describes.
/// `PRE_COMMIT_FROM_REF` is the commit below the new ones; without it (a push that includes a
/// root commit) every commit not on the remote is new.
fn updates_from_pre_commit_framework(
    repo: &Repository,
) -> Result<(String, Option<String>, Vec<pre_push::RefUpdate>)> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let remote = var("PRE_COMMIT_REMOTE_NAME").context(
        "pre-push needs the remote's name and git's ref lines on stdin (git passes both to hooks)",
    )?;
    let local_ref = var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_else(|| "HEAD".to_string());
    let local_oid = match var("PRE_COMMIT_TO_REF") {
        Some(oid) => oid,
        None => repo
            .revparse_single(&local_ref)
            .with_context(|| format!("resolving {local_ref}"))?
            .id()
            .to_string(),
    };
    let zero = "0".repeat(local_oid.len());
    let described = pre_push::RefUpdate {
        local_ref,
        local_oid,
        remote_ref: var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_default(),
        remote_oid: var("PRE_COMMIT_FROM_REF").unwrap_or(zero),
    };
    let mut updates = vec![described];
    updates.extend(pre_push::every_local_ref(repo)?);
    Ok((remote, var("PRE_COMMIT_REMOTE_URL"), updates))
}

/// Opens the repository the way git's hooks expect: from the current directory, honouring
/// `GIT_DIR`, `GIT_WORK_TREE` and `GIT_INDEX_FILE`.
pub(crate) fn open_repository() -> Result<Repository> {
    Repository::open_from_env().map_err(|err| {
        let cwd = std::env::current_dir().unwrap_or_default();
        anyhow::anyhow!(
            "{} is not in a git repository ({})",
            cwd.display(),
            err.message()
        )
    })
}

/// The scanner with the allowlist from `--config`, or `.ciokeyignore.toml` at the root of the
/// working tree (outside a repository: in the current directory) when there is one.
pub(crate) fn scanner(repo: Option<&Repository>, cli: &Cli) -> Result<Scanner> {
    let default_path = match repo {
        Some(repo) => repo.workdir().map(|workdir| workdir.join(allow::FILE_NAME)),
        None => Some(PathBuf::from(allow::FILE_NAME)),
    };
    let (allowlist, path) = match (&cli.config, default_path) {
        (Some(path), _) => (Allowlist::load(path, path, true)?, path.clone()),
        (None, Some(path)) => (
            Allowlist::load(&path, Path::new(allow::FILE_NAME), false)?,
            path,
        ),
        (None, None) => (Allowlist::default(), PathBuf::new()),
    };
    if let Some(repo) = repo.filter(|_| !allowlist.entries.is_empty()) {
        warn_if_untracked(repo, &path);
    }
    Ok(Scanner::new(allowlist))
}

/// Warns (on stderr, without blocking) when the allowlist in use is a file in the working tree
/// that git does not track: teammates and CI do not have its entries, so their checks will
/// block what this one lets through.
fn warn_if_untracked(repo: &Repository, allowlist: &Path) {
    let Some(workdir) = repo.workdir().and_then(|dir| dir.canonicalize().ok()) else {
        return;
    };
    let Ok(file) = allowlist.canonicalize() else {
        return;
    };
    let Ok(relative) = file.strip_prefix(&workdir) else {
        return;
    };
    let tracked = repo
        .index()
        .map(|index| index.get_path(relative, 0).is_some())
        .unwrap_or(true);
    if !tracked {
        let shown = cio_hook::redact::redact_text(relative.as_os_str().as_encoded_bytes());
        eprintln!(
            "cio-hook: warning: {shown} is not tracked by git, so teammates and CI do not have \
             its entries and their checks will block what it allows here (git add {shown})"
        );
    }
}

/// Where `allow` writes: `--config`, or `.ciokeyignore.toml` at the working tree's root.
pub(crate) fn allowlist_path(repo: &Repository, cli: &Cli) -> Result<PathBuf> {
    if let Some(path) = &cli.config {
        return Ok(path.clone());
    }
    let workdir = repo
        .workdir()
        .context("a bare repository has no working tree for .ciokeyignore.toml; use --config")?;
    Ok(workdir.join(allow::FILE_NAME))
}

/// Validates the allowlist (loading it fails on any mistake), then lists the entries to review:
/// duplicates, expired ones, and those that let nothing through in the tracked files or in any
/// commit of the history. An entry that only history still needs is named with where its token
/// is, not listed for removal: without it `scan-history` would block. Exit 1 when any is listed.
fn check_config(repo: &Repository, cli: &Cli) -> Result<i32> {
    let scanner = scanner(Some(repo), cli)?;
    let tracked = scanner.scan_tracked(repo)?;
    let scope = Scope::Commits {
        description: "all refs".to_string(),
    };
    let history = scanner.scan_history(repo, scope, &mut progress())?;
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
    let today = allow::Day::today();
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
        println!(
            "{baselined} of them are baseline entries for tokens already in history \
             (`cio-hook baseline`); check those with `cio-hook verify --history`"
        );
    }
    Ok(if to_review > 0 {
        EXIT_FOUND
    } else {
        EXIT_CLEAN
    })
}

fn write_report(report: &Report, format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Text => report::text::write_report(&mut out, report),
        Format::Json => report::json::write_report(&mut out, report),
        Format::Sarif => report::sarif::write_report(&mut out, report),
    }
    .and_then(|()| out.flush())
    .or_else(|err| match err.kind() {
        // A reader that stopped early (`| head`) has seen what it wanted.
        std::io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(err),
    })
    .context("writing the report")
}

/// Colour only for text on a terminal, and never when `NO_COLOR` is set to anything non-empty.
fn use_colour(format: Format) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    format == Format::Text && !no_color && std::io::stdout().is_terminal()
}

/// A progress line on stderr for long commit scans, only when stderr is a terminal. It is
/// redrawn at most ten times a second and erased when the scan ends, so a fast scan draws nothing
/// and the final count is never left behind or drawn twice.
pub(crate) fn progress() -> impl FnMut(usize, usize, usize) {
    let on_terminal = std::io::stderr().is_terminal();
    let mut last_shown = Instant::now();
    let mut drawn = false;
    move |done, total, found| {
        if !on_terminal {
            return;
        }
        if done == total {
            if drawn {
                eprint!("\r\x1b[2K");
                drawn = false;
            }
            return;
        }
        if last_shown.elapsed() > Duration::from_millis(100) {
            last_shown = Instant::now();
            drawn = true;
            eprint!("\rcio-hook: scanned {done}/{total} commits, {found} blocking so far");
        }
    }
}

fn install_hooks(repo: &Repository, pre_push: bool, pre_receive: bool, force: bool) -> Result<i32> {
    let dir = install::hooks_dir(repo)?;
    let hooks: Vec<Hook> = if pre_receive {
        vec![Hook::PreReceive]
    } else {
        let mut hooks = Hook::COMMIT_HOOKS.to_vec();
        if pre_push {
            hooks.push(Hook::PrePush);
        }
        hooks
    };
    for hook in hooks {
        match install::install(&dir, hook, force)? {
            Installed::Fresh(path) => println!("installed {}", path.display()),
            Installed::AlreadyPresent(path) => println!("already installed: {}", path.display()),
            Installed::Updated(path) => println!("updated {}", path.display()),
            Installed::Chained { hook, previous } => println!(
                "installed {}; the hook that was there is kept as {} and runs after the check",
                hook.display(),
                previous.display()
            ),
        }
    }
    Ok(EXIT_CLEAN)
}

fn uninstall_hooks(repo: &Repository) -> Result<i32> {
    let dir = install::hooks_dir(repo)?;
    for hook in Hook::ALL {
        match install::uninstall(&dir, hook)? {
            Removed::Removed {
                hook,
                restored: true,
            } => println!(
                "removed cio-hook from {}; restored the previous hook",
                hook.display()
            ),
            Removed::Removed { hook, .. } => println!("removed {}", hook.display()),
            Removed::NotInstalled(path) => println!("not installed: {}", path.display()),
        }
    }
    Ok(EXIT_CLEAN)
}
