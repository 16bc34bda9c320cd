//! The commands on a repository that libgit2 cannot open and git can (SHA-256 objects, reftable
//! refs), read through the git CLI; and `install` in a repository of a format neither reads.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use cio_hook::allow::{self, Allowlist};
use cio_hook::install::{self, Hook, Installed, Removed};
use cio_hook::report::Report;
use cio_hook::repository::{GitRepository, UnsupportedFormat};
use cio_hook::scan_git::every_local_ref;
use cio_hook::source::pre_push::{self, RefUpdate};
use cio_hook::{Scanner, EXIT_CLEAN};

use crate::cli::{Cli, Command};
use crate::commands::{finish, progress};

/// Runs a repository command on `repo`. Commands with no git-CLI path yet say so and block.
pub fn run(cli: &Cli, repo: &GitRepository) -> Result<i32> {
    let report = match &cli.command {
        Command::ScanStaged => scanner(repo, cli)?.scan_staged_git(repo)?,
        Command::ScanMessage { file } => scanner(repo, cli)?.scan_message(file)?,
        Command::PrePush { remote, url } => {
            let (remote, url, updates) = match remote {
                Some(remote) => (remote.clone(), url.clone(), updates_from_stdin()?),
                None => updates_from_pre_commit_framework(repo)?,
            };
            scanner(repo, cli)?.scan_push_git(
                repo,
                &remote,
                url.as_deref(),
                &updates,
                &mut progress(),
            )?
        }
        Command::ScanRange { revspec } => {
            scanner(repo, cli)?.scan_range_git(repo, revspec, &mut progress())?
        }
        Command::ScanHistory => scanner(repo, cli)?.scan_history_git(repo, &mut progress())?,
        Command::Allow {
            fingerprint,
            reason,
            expires,
        } => {
            let path = allowlist_path(repo, cli)?;
            allow::append_fingerprint_entry(&path, fingerprint, reason, *expires)?;
            println!("added an entry for {fingerprint} to {}", path.display());
            warn_if_untracked(repo, &path);
            return Ok(EXIT_CLEAN);
        }
        Command::Baseline { reason } => {
            let path = allowlist_path(repo, cli)?;
            let commits = cio_hook::source::git_cli::rev_list(repo, &["--all"])?;
            let scope = cio_hook::report::Scope::Commits {
                description: "all refs".to_string(),
            };
            let report =
                scanner(repo, cli)?.scan_commits_git(repo, &commits, scope, &mut progress())?;
            return crate::token_commands::write_and_print_baseline(&path, &report, reason);
        }
        Command::Install {
            pre_push,
            pre_receive,
            force,
        } => {
            let dir = hooks_dir(repo)?;
            return install_into(&dir, *pre_push, *pre_receive, *force);
        }
        Command::Uninstall => return uninstall_from(&hooks_dir(repo)?),
        Command::CheckConfig => bail!(
            "check-config does not read repositories of {} yet (cio-hook {}); scan-history \
             and scan-staged do",
            repo.describe_format(),
            env!("CARGO_PKG_VERSION")
        ),
        Command::ScanPath { .. }
        | Command::Verify { .. }
        | Command::Revoke { .. }
        | Command::PreReceive { .. } => unreachable!("handled before the repository is opened"),
    };
    finish(&report, cli)
}

/// A repository that could not be opened: `install` still installs the hooks when the cause is
/// a format cio-hook does not read, warning that they will block every commit until it does
/// (a hook that silently passed would let tokens through). Every other command fails with `err`.
pub fn unopened(cli: &Cli, err: anyhow::Error) -> Result<i32> {
    let Command::Install {
        pre_push,
        pre_receive,
        force,
    } = cli.command
    else {
        return Err(err);
    };
    let Some(unsupported) = err.downcast_ref::<UnsupportedFormat>() else {
        return Err(err);
    };
    let Some(dir) = unsupported.hooks_dir() else {
        return Err(err);
    };
    eprintln!("cio-hook: warning: {unsupported}");
    eprintln!(
        "cio-hook: warning: the hooks are installed and will block every commit{} until a \
         cio-hook release reads this format (bypass deliberately with --no-verify)",
        if pre_push { " and push" } else { "" }
    );
    install_into(&dir, pre_push, pre_receive, force)
}

/// The scanner with the allowlist from `--config`, or `.ciokeyignore.toml` at the top of the
/// working tree when there is one.
fn scanner(repo: &GitRepository, cli: &Cli) -> Result<Scanner> {
    let (allowlist, path) = match (&cli.config, &repo.work_tree) {
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
        warn_if_untracked(repo, &path);
    }
    Ok(Scanner::new(allowlist))
}

/// Where `allow` and `baseline` write: `--config`, or `.ciokeyignore.toml` at the top of the
/// working tree.
fn allowlist_path(repo: &GitRepository, cli: &Cli) -> Result<PathBuf> {
    if let Some(path) = &cli.config {
        return Ok(path.clone());
    }
    let top = repo
        .work_tree
        .as_ref()
        .context("a bare repository has no working tree for .ciokeyignore.toml; use --config")?;
    Ok(top.join(allow::FILE_NAME))
}

/// Warns (without blocking) when the allowlist in use is a file in the working tree that git
/// does not track.
fn warn_if_untracked(repo: &GitRepository, allowlist: &Path) {
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

/// The hooks directory git runs hooks from (`core.hooksPath` honoured).
fn hooks_dir(repo: &GitRepository) -> Result<PathBuf> {
    let output = repo.git_output(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])?;
    Ok(PathBuf::from(String::from_utf8_lossy(&output).trim_end()))
}

/// git's pre-push lines, from standard input.
fn updates_from_stdin() -> Result<Vec<RefUpdate>> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading git's pre-push lines from standard input")?;
    Ok(pre_push::parse_updates(&input)?)
}

/// A push under the pre-commit framework, as on the libgit2 path: the described ref plus every
/// local branch and tag.
fn updates_from_pre_commit_framework(
    repo: &GitRepository,
) -> Result<(String, Option<String>, Vec<RefUpdate>)> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let remote = var("PRE_COMMIT_REMOTE_NAME").context(
        "pre-push needs the remote's name and git's ref lines on stdin (git passes both to hooks)",
    )?;
    let local_ref = var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_else(|| "HEAD".to_string());
    let local_oid = match var("PRE_COMMIT_TO_REF") {
        Some(oid) => oid,
        None => {
            let output = repo
                .git_output(["rev-parse", "--verify", "--end-of-options", &local_ref])
                .with_context(|| format!("resolving {local_ref}"))?;
            String::from_utf8_lossy(&output).trim().to_string()
        }
    };
    let zero = "0".repeat(local_oid.len());
    let described = RefUpdate {
        local_ref,
        local_oid,
        remote_ref: var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_default(),
        remote_oid: var("PRE_COMMIT_FROM_REF").unwrap_or(zero),
    };
    let mut updates = vec![described];
    updates.extend(every_local_ref(repo)?);
    Ok((remote, var("PRE_COMMIT_REMOTE_URL"), updates))
}

/// Installs the hook shims into `dir` and says what was done.
fn install_into(dir: &Path, pre_push: bool, pre_receive: bool, force: bool) -> Result<i32> {
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
        match install::install(dir, hook, force)? {
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

/// Removes the hook shims from `dir` and says what was done.
fn uninstall_from(dir: &Path) -> Result<i32> {
    for hook in Hook::ALL {
        match install::uninstall(dir, hook)? {
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

/// The report of a token command's scope (`verify`, `revoke`) on a repository read through git.
pub fn scan_for_tokens(
    cli: &Cli,
    repo: &GitRepository,
    staged: bool,
    range: Option<&str>,
) -> Result<(Scanner, Report)> {
    let scanner = scanner(repo, cli)?.keeping_secrets();
    let report = if staged {
        scanner.scan_staged_git(repo)?
    } else if let Some(revspec) = range {
        scanner.scan_range_git(repo, revspec, &mut progress())?
    } else {
        let commits = cio_hook::source::git_cli::rev_list(repo, &["--all"])?;
        let scope = cio_hook::report::Scope::Commits {
            description: "all refs".to_string(),
        };
        scanner.scan_commits_git(repo, &commits, scope, &mut progress())?
    };
    Ok((scanner, report))
}
