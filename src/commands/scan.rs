//! The scan commands: `scan-staged`, `pre-push`, `scan-message`, `scan-range`, `scan-history`
//! and `scan-path`. Each makes a report and hands it to [`Context::finish`].

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use git2::Repository;

use cio_hook::report::Scope;
use cio_hook::repository::{GitRepository, Opened};
use cio_hook::scan::git_cli::every_local_ref;
use cio_hook::source::{commits, pre_push, range};

use super::context::{progress, Context};

/// `scan-staged`: the lines the staged changes add.
pub fn staged(context: &Context) -> Result<i32> {
    let repo = match context.open()? {
        Opened::Libgit2(repo) => repo,
        Opened::Git(repo) => {
            let report = context.git_scanner(&repo)?.scan_staged_git(&repo)?;
            return context.finish(&report);
        }
    };
    let report = context.scanner(Some(&repo))?.scan_staged(&repo)?;
    context.finish(&report)
}

/// `pre-push`: the commits a push makes new, from git's ref lines on stdin, or (without a
/// remote, under the pre-commit framework) from its `PRE_COMMIT_*` variables.
pub fn pre_push(context: &Context, remote: Option<&str>, url: Option<&str>) -> Result<i32> {
    let repo = match context.open()? {
        Opened::Libgit2(repo) => repo,
        Opened::Git(repo) => return pre_push_with_git(context, &repo, remote, url),
    };
    let (remote, url, updates) = pushed_updates(
        remote,
        url,
        |name| Ok(repo.revparse_single(name)?.id().to_string()),
        || pre_push::every_local_ref(&repo),
    )?;
    let report = context.scanner(Some(&repo))?.scan_push(
        &repo,
        &remote,
        url.as_deref(),
        &updates,
        &mut progress(),
    )?;
    context.finish(&report)
}

/// `scan-message`: a commit message file, as the commit-msg hook gets it.
pub fn message(context: &Context, file: &std::path::Path) -> Result<i32> {
    let scanner = match context.open()? {
        Opened::Libgit2(repo) => context.scanner(Some(&repo))?,
        Opened::Git(repo) => context.git_scanner(&repo)?,
    };
    let report = scanner.scan_message(file)?;
    context.finish(&report)
}

/// `scan-range`: the commits of a revision range.
pub fn range(context: &Context, revspec: &str) -> Result<i32> {
    let repo = match context.open()? {
        Opened::Libgit2(repo) => repo,
        Opened::Git(repo) => {
            let scanner = context.git_scanner(&repo)?;
            let report = scanner.scan_range_git(&repo, revspec, &mut progress())?;
            return context.finish(&report);
        }
    };
    let commit_ids = range::commits_in_range(&repo, revspec)?;
    let scope = Scope::Commits {
        description: revspec.to_string(),
    };
    let report =
        context
            .scanner(Some(&repo))?
            .scan_commits(&repo, &commit_ids, scope, &mut progress())?;
    context.finish(&report)
}

/// `scan-history`: every commit reachable from any ref, with stash-only commits folded.
pub fn history(context: &Context) -> Result<i32> {
    let repo = match context.open()? {
        Opened::Libgit2(repo) => repo,
        Opened::Git(repo) => {
            let scanner = context.git_scanner(&repo)?;
            let report = scanner.scan_history_git(&repo, &mut progress())?;
            return context.finish(&report);
        }
    };
    let scope = Scope::Commits {
        description: "all refs".to_string(),
    };
    let mut report = context
        .scanner(Some(&repo))?
        .scan_history(&repo, scope, &mut progress())?;
    let stash = commits::stash_only_commits(&repo)?;
    report.fold_stash(&stash.iter().map(|oid| oid.to_string()).collect());
    context.finish(&report)
}

/// `scan-path`: files and directories on disk (the current directory when none is given), or
/// standard input; works outside a repository too.
pub fn paths(context: &Context, paths: &[PathBuf]) -> Result<i32> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let repo = Repository::open_from_env().ok();
    let report = context.scanner(repo.as_ref())?.scan_paths(&paths)?;
    context.finish(&report)
}

/// The remote, its URL and the ref updates of a push: from git's arguments and its ref lines on
/// stdin, or, without a remote (under the pre-commit framework), from the framework's variables
/// ([`updates_from_pre_commit_framework`], with `resolve` and `local_refs`).
fn pushed_updates(
    remote: Option<&str>,
    url: Option<&str>,
    resolve: impl FnOnce(&str) -> Result<String>,
    local_refs: impl FnOnce() -> Result<Vec<pre_push::RefUpdate>>,
) -> Result<(String, Option<String>, Vec<pre_push::RefUpdate>)> {
    match remote {
        Some(remote) => Ok((
            remote.to_string(),
            url.map(str::to_string),
            updates_from_stdin()?,
        )),
        None => updates_from_pre_commit_framework(resolve, local_refs),
    }
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
///
/// `resolve` turns the described ref into its commit when the framework gives no
/// `PRE_COMMIT_TO_REF`; `local_refs` are the repository's branches and tags as updates.
fn updates_from_pre_commit_framework(
    resolve: impl FnOnce(&str) -> Result<String>,
    local_refs: impl FnOnce() -> Result<Vec<pre_push::RefUpdate>>,
) -> Result<(String, Option<String>, Vec<pre_push::RefUpdate>)> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let remote = var("PRE_COMMIT_REMOTE_NAME").context(
        "pre-push needs the remote's name and git's ref lines on stdin (git passes both to hooks)",
    )?;
    let local_ref = var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_else(|| "HEAD".to_string());
    let local_oid = match var("PRE_COMMIT_TO_REF") {
        Some(oid) => oid,
        None => resolve(&local_ref).with_context(|| format!("resolving {local_ref}"))?,
    };
    let zero = "0".repeat(local_oid.len());
    let described = pre_push::RefUpdate {
        local_ref,
        local_oid,
        remote_ref: var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_default(),
        remote_oid: var("PRE_COMMIT_FROM_REF").unwrap_or(zero),
    };
    let mut updates = vec![described];
    updates.extend(local_refs()?);
    Ok((remote, var("PRE_COMMIT_REMOTE_URL"), updates))
}

/// [`pre_push`] on a repository read through git.
fn pre_push_with_git(
    context: &Context,
    repo: &GitRepository,
    remote: Option<&str>,
    url: Option<&str>,
) -> Result<i32> {
    let (remote, url, updates) = pushed_updates(
        remote,
        url,
        |name| {
            let output = repo.git_output(["rev-parse", "--verify", "--end-of-options", name])?;
            Ok(String::from_utf8_lossy(&output).trim().to_string())
        },
        || every_local_ref(repo),
    )?;
    let report = context.git_scanner(repo)?.scan_push_git(
        repo,
        &remote,
        url.as_deref(),
        &updates,
        &mut progress(),
    )?;
    context.finish(&report)
}
