//! Glue between the command line and the library: open the repository, load the allowlist, run
//! the scan, write the report, choose the exit code.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use git2::Repository;

use cio_hook::allow::{self, Allowlist};
use cio_hook::install::{self, Hook, Installed, Removed};
use cio_hook::report::{self, Report, Scope};
use cio_hook::source::{commits, pre_push};
use cio_hook::{Scanner, EXIT_CLEAN, EXIT_FOUND};

use crate::cli::{Cli, Command, Format};

/// The line that tells a person how to get past a hook that could not run, for hook commands.
pub fn bypass_hint(command: &Command) -> Option<&'static str> {
    match command {
        Command::ScanStaged => Some(
            "the commit is blocked because the check could not run; to commit without it, \
             deliberately: git commit --no-verify",
        ),
        Command::PrePush { .. } => Some(
            "the push is blocked because the check could not run; to push without it, \
             deliberately: git push --no-verify",
        ),
        _ => None,
    }
}

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if let Some(dir) = &cli.directory {
        std::env::set_current_dir(dir)
            .with_context(|| format!("cannot change to {}", dir.display()))?;
    }
    colored::control::set_override(use_colour(cli.format));
    if let Command::ScanPath { paths } = &cli.command {
        let paths = if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.clone()
        };
        let repo = Repository::open_from_env().ok();
        let report = scanner(repo.as_ref(), &cli)?.scan_paths(&paths)?;
        return finish(&report, cli.format);
    }
    let repo = open_repository()?;
    let report = match cli.command {
        Command::ScanStaged => scanner(Some(&repo), &cli)?.scan_staged(&repo)?,
        Command::PrePush { ref remote, .. } => {
            let mut input = Vec::new();
            std::io::stdin()
                .read_to_end(&mut input)
                .context("reading git's pre-push lines from standard input")?;
            let updates = pre_push::parse_updates(&input)?;
            scanner(Some(&repo), &cli)?.scan_push(&repo, remote, &updates, &mut progress())?
        }
        Command::ScanRange { ref revspec } => {
            let commit_ids = commits::commits_in_range(&repo, revspec)?;
            let scope = Scope::Commits {
                description: revspec.clone(),
            };
            scanner(Some(&repo), &cli)?.scan_commits(&repo, &commit_ids, scope, &mut progress())?
        }
        Command::ScanHistory => {
            let commit_ids = commits::all_commits(&repo)?;
            let scope = Scope::Commits {
                description: "all refs".to_string(),
            };
            scanner(Some(&repo), &cli)?.scan_commits(&repo, &commit_ids, scope, &mut progress())?
        }
        Command::Install { pre_push, force } => return install_hooks(&repo, pre_push, force),
        Command::Uninstall => return uninstall_hooks(&repo),
        Command::ScanPath { .. } => unreachable!("handled above, without a repository"),
    };
    finish(&report, cli.format)
}

/// Writes the report and picks the exit code.
fn finish(report: &Report, format: Format) -> Result<i32> {
    write_report(report, format)?;
    Ok(if report.blocks() {
        EXIT_FOUND
    } else {
        EXIT_CLEAN
    })
}

/// Opens the repository the way git's hooks expect: from the current directory, honouring
/// `GIT_DIR`, `GIT_WORK_TREE` and `GIT_INDEX_FILE`.
fn open_repository() -> Result<Repository> {
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
fn scanner(repo: Option<&Repository>, cli: &Cli) -> Result<Scanner> {
    let default_path = match repo {
        Some(repo) => repo.workdir().map(|workdir| workdir.join(allow::FILE_NAME)),
        None => Some(PathBuf::from(allow::FILE_NAME)),
    };
    let allowlist = match (&cli.config, default_path) {
        (Some(path), _) => Allowlist::load(path, path, true)?,
        (None, Some(path)) => Allowlist::load(&path, Path::new(allow::FILE_NAME), false)?,
        (None, None) => Allowlist::default(),
    };
    Ok(Scanner::new(allowlist))
}

fn write_report(report: &Report, format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Text => report::text::write_report(&mut out, report),
        Format::Json => report::json::write_report(&mut out, report),
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

/// A progress line on stderr for long commit scans, only when stderr is a terminal.
fn progress() -> impl FnMut(usize, usize, usize) {
    let on_terminal = std::io::stderr().is_terminal();
    let mut last_shown = Instant::now();
    move |done, total, found| {
        if !on_terminal {
            return;
        }
        let finished = done == total;
        if finished || last_shown.elapsed() > Duration::from_millis(100) {
            last_shown = Instant::now();
            eprint!("\rcio-hook: scanned {done}/{total} commits, {found} blocking so far");
            if finished {
                eprint!("\r\x1b[2K");
            }
        }
    }
}

fn install_hooks(repo: &Repository, pre_push: bool, force: bool) -> Result<i32> {
    let dir = install::hooks_dir(repo)?;
    let hooks: &[Hook] = if pre_push {
        &[Hook::PreCommit, Hook::PrePush]
    } else {
        &[Hook::PreCommit]
    };
    for &hook in hooks {
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
    for hook in [Hook::PreCommit, Hook::PrePush] {
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
