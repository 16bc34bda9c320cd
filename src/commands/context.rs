//! What every command shares: the global options, and the repository, allowlist, scanner and
//! output made from them. This module imports no command module; each command imports it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use git2::Repository;

use cio_hook::allow::{self, Allowlist};
use cio_hook::report::{self, Report};
use cio_hook::repository::{GitRepository, Opened};
use cio_hook::{Scanner, EXIT_CLEAN, EXIT_FOUND};

use crate::cli::{Cli, Command, Format};

/// The global options every command runs with.
pub struct Context {
    /// `--config`: the allowlist to use instead of `.ciokeyignore.toml` at the repository root.
    pub config: Option<PathBuf>,
    /// `--format`: how reports are written.
    pub format: Format,
    /// Whether this run is a git hook's (see [`runs_as_hook`]).
    pub hook: bool,
    /// `--verbose`: print the summary even as a hook when nothing blocks.
    pub verbose: bool,
    /// Whether to warn that the allowlist is not tracked. The commit-msg hook does not: it runs
    /// in the same `git commit` as pre-commit, which already said so.
    pub warns_untracked: bool,
}

impl Context {
    /// The context of a parsed command line.
    pub fn new(cli: &Cli) -> Self {
        Context {
            config: cli.config.clone(),
            format: cli.format,
            hook: runs_as_hook(cli),
            verbose: cli.verbose,
            warns_untracked: !(runs_as_hook(cli)
                && matches!(cli.command, Command::ScanMessage { .. })),
        }
    }

    /// Opens the repository the way git's hooks expect: from the current directory, honouring
    /// `GIT_DIR`, `GIT_WORK_TREE` and `GIT_INDEX_FILE`; through the git CLI when its format is
    /// one libgit2 cannot read (SHA-256 objects, reftable refs).
    pub fn open(&self) -> Result<Opened> {
        cio_hook::repository::open_from_env()
    }

    /// [`Context::scanner`] for a repository read through git.
    pub fn git_scanner(&self, repo: &GitRepository) -> Result<Scanner> {
        let (allowlist, path) = match (&self.config, &repo.work_tree) {
            (Some(path), _) => (Allowlist::load(path, path, true)?, Some(path.clone())),
            (None, Some(top)) => {
                let path = top.join(allow::FILE_NAME);
                (
                    Allowlist::load(&path, Path::new(allow::FILE_NAME), false)?,
                    Some(path),
                )
            }
            (None, None) => (Allowlist::default(), None),
        };
        if let Some(path) = path.filter(|_| !allowlist.entries.is_empty()) {
            git_warn_if_untracked(repo, &path);
        }
        Ok(Scanner::new(allowlist))
    }

    /// [`Context::allowlist_path`] for a repository read through git.
    pub fn git_allowlist_path(&self, repo: &GitRepository) -> Result<PathBuf> {
        if let Some(path) = &self.config {
            return Ok(path.clone());
        }
        let top = repo.work_tree.as_ref().context(
            "a bare repository has no working tree for .ciokeyignore.toml; use --config",
        )?;
        Ok(top.join(allow::FILE_NAME))
    }

    /// The scanner with the allowlist from `--config`, or `.ciokeyignore.toml` at the root of the
    /// working tree (outside a repository: in the current directory) when there is one.
    pub fn scanner(&self, repo: Option<&Repository>) -> Result<Scanner> {
        let default_path = match repo {
            Some(repo) => repo.workdir().map(|workdir| workdir.join(allow::FILE_NAME)),
            None => Some(PathBuf::from(allow::FILE_NAME)),
        };
        let (allowlist, path) = match (&self.config, default_path) {
            (Some(path), _) => (Allowlist::load(path, path, true)?, path.clone()),
            (None, Some(path)) => (
                Allowlist::load(&path, Path::new(allow::FILE_NAME), false)?,
                path,
            ),
            (None, None) => (Allowlist::default(), PathBuf::new()),
        };
        if let Some(repo) = repo.filter(|_| self.warns_untracked && !allowlist.entries.is_empty()) {
            warn_if_untracked(repo, &path);
        }
        Ok(Scanner::new(allowlist))
    }

    /// Where `allow` and `baseline` write: `--config`, or `.ciokeyignore.toml` at the working
    /// tree's root.
    pub fn allowlist_path(&self, repo: &Repository) -> Result<PathBuf> {
        if let Some(path) = &self.config {
            return Ok(path.clone());
        }
        let workdir = repo.workdir().context(
            "a bare repository has no working tree for .ciokeyignore.toml; use --config",
        )?;
        Ok(workdir.join(allow::FILE_NAME))
    }

    /// Writes the report (unless a hook found nothing at all) and picks the exit code. A hook
    /// that let a token through (allowlisted, marked inline, a placeholder) still says so.
    pub fn finish(&self, report: &Report) -> Result<i32> {
        if !(report.findings.is_empty() && self.silent_when_clean()) {
            write_report(report, self.format)?;
        }
        Ok(if report.blocks() {
            EXIT_FOUND
        } else {
            EXIT_CLEAN
        })
    }

    /// Whether a report with no findings is left unprinted: a hook stays silent on success
    /// (`git commit -q` too) unless asked for the summary. JSON and SARIF are always written,
    /// since a consumer expects a document.
    fn silent_when_clean(&self) -> bool {
        let verbose_env = std::env::var_os("CIO_HOOK_VERBOSE")
            .is_some_and(|value| !value.is_empty() && value != "0");
        self.hook && !self.verbose && !verbose_env && self.format == Format::Text
    }
}

/// Whether this run is a git hook's: `pre-push` and `pre-receive` always are, other commands
/// when the shim says so with `--hook`.
fn runs_as_hook(cli: &Cli) -> bool {
    cli.hook
        || matches!(
            cli.command,
            Command::PrePush { .. } | Command::PreReceive { .. }
        )
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

/// Warns (on stderr, without blocking) when the allowlist in use is a file in the working tree
/// that git does not track: teammates and CI do not have its entries, so their checks will
/// block what this one lets through.
pub fn warn_if_untracked(repo: &Repository, allowlist: &Path) {
    if let Some(shown) = untracked_in_worktree(repo, allowlist) {
        eprintln!(
            "cio-hook: warning: {shown} is not tracked by git, so teammates and CI do not have \
             its entries and their checks will block what it allows here (git add {shown})"
        );
    }
}

/// The path of `file` relative to the working tree (printable, redacted) when it is in the
/// working tree and git's index does not hold it; `None` when it is tracked or elsewhere.
pub fn untracked_in_worktree(repo: &Repository, file: &Path) -> Option<String> {
    let workdir = repo.workdir().and_then(|dir| dir.canonicalize().ok())?;
    let file = file.canonicalize().ok()?;
    let relative = file.strip_prefix(&workdir).ok()?;
    let tracked = repo
        .index()
        .map(|index| index.get_path(relative, 0).is_some())
        .unwrap_or(true);
    (!tracked).then(|| cio_hook::redact::redact_text(relative.as_os_str().as_encoded_bytes()))
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
pub fn use_colour(format: Format) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    format == Format::Text && !no_color && std::io::stdout().is_terminal()
}

/// A progress line on stderr for long commit scans, only when stderr is a terminal. It is
/// redrawn at most ten times a second and erased when the scan ends, so a fast scan draws nothing
/// and the final count is never left behind or drawn twice.
pub fn progress() -> impl FnMut(usize, usize, usize) {
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

/// [`warn_if_untracked`] for a repository read through git.
pub fn git_warn_if_untracked(repo: &GitRepository, allowlist: &Path) {
    let Some(top) = repo
        .work_tree
        .as_ref()
        .and_then(|top| top.canonicalize().ok())
    else {
        return;
    };
    let Ok(file) = allowlist.canonicalize() else {
        return;
    };
    let Ok(relative) = file.strip_prefix(&top) else {
        return;
    };
    let mut pathspec = std::ffi::OsString::from(":(top,literal)");
    pathspec.push(relative.as_os_str());
    let tracked = repo
        .git_output([
            "ls-files".as_ref(),
            "--error-unmatch".as_ref(),
            "--".as_ref(),
            pathspec.as_os_str(),
        ])
        .is_ok();
    if !tracked {
        let shown = cio_hook::redact::redact_text(relative.as_os_str().as_encoded_bytes());
        eprintln!(
            "cio-hook: warning: {shown} is not tracked by git, so teammates and CI do not have \
             its entries and their checks will block what it allows here (git add {shown})"
        );
    }
}
