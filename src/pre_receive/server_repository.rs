//! The repository a push is received into, read by libgit2 or, for SHA-256 objects and
//! reftable refs, through the git CLI: its config, its default branch, and what a push brings.

use std::path::Path;

use anyhow::{bail, Context, Result};
use git2::Repository;

use super::{refs_of_each, ReceiveReport, ReceivedRef};
use crate::redact::redact_text;
use crate::report::Scope;
use crate::repository::GitRepository;
use crate::scan::git_cli::GitPushPlan;
use crate::source::git_cli::ObjectReader;
use crate::Scanner;

/// A server's repository, opened by the reader that can read it.
pub enum ServerRepository {
    /// SHA-1 objects and files refs.
    Libgit2(Repository),
    /// Any other format git reads.
    Git(GitRepository),
}

impl ServerRepository {
    /// The git directory, where relative policy paths are resolved.
    pub fn git_dir(&self) -> &Path {
        match self {
            ServerRepository::Libgit2(repo) => repo.path(),
            ServerRepository::Git(repo) => &repo.git_dir,
        }
    }

    /// A boolean git config setting; unset is false, a value that is no boolean an error.
    pub fn config_bool(&self, name: &str) -> Result<bool> {
        match self {
            ServerRepository::Libgit2(repo) => {
                Ok(libgit2_config(repo, name, git2::Config::get_bool)?.unwrap_or(false))
            }
            ServerRepository::Git(repo) => {
                Ok(git_config(repo, &["--type=bool", "--get", name])?.as_deref() == Some("true"))
            }
        }
    }

    /// A git config setting as text, `None` when unset.
    pub fn config_string(&self, name: &str) -> Result<Option<String>> {
        match self {
            ServerRepository::Libgit2(repo) => libgit2_config(repo, name, git2::Config::get_string),
            ServerRepository::Git(repo) => git_config(repo, &["--get", name]),
        }
    }

    /// The ref the symbolic ref `name` points at, when it is one.
    pub fn symbolic_target(&self, name: &str) -> Option<String> {
        match self {
            ServerRepository::Libgit2(repo) => repo
                .find_reference(name)
                .ok()
                .and_then(|head| head.symbolic_target().map(str::to_string)),
            ServerRepository::Git(repo) => repo
                .git_output(["symbolic-ref", "-q", name])
                .ok()
                .map(|out| String::from_utf8_lossy(&out).trim().to_string())
                .filter(|target| !target.is_empty()),
        }
    }

    /// The blob at `path` in the tree of the commit `reference` points at, when there is one.
    pub fn file_at_ref(&self, reference: &str, path: &Path) -> Result<Option<Vec<u8>>> {
        match self {
            ServerRepository::Libgit2(repo) => super::file_at_ref(repo, reference, path),
            ServerRepository::Git(repo) => {
                let mut objects = ObjectReader::new(repo)?;
                let name = format!("{reference}:{}", path.display());
                Ok(objects
                    .read(&name)?
                    .filter(|object| object.kind == "blob")
                    .map(|object| object.data))
            }
        }
    }
}

/// `git config ARGS`: the value, `None` when unset (git exits 1), an error for a bad value.
fn git_config(repo: &GitRepository, args: &[&str]) -> Result<Option<String>> {
    let output = repo
        .git()
        .arg("config")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .context("running git config (is git installed and on PATH?)")?;
    match output.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&output.stdout)
                .trim_end_matches('\n')
                .to_string(),
        )),
        Some(1) => Ok(None),
        _ => bail!(
            "git config {}: {}",
            args.last().unwrap_or(&""),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

/// [`super::scan_received`] on a repository read through git: the commits the new oids reach
/// and no ref the server has (under `ref_prefix`) reaches, tag messages, tagged blobs and trees.
pub fn scan_received_with_git(
    repo: &GitRepository,
    scanner: &Scanner,
    received: &[ReceivedRef],
    ref_prefix: &str,
) -> Result<ReceiveReport> {
    let updates: Vec<(&str, &str)> = received
        .iter()
        .filter(|update| !update.is_deletion())
        .map(|update| (update.name.as_str(), update.new.as_str()))
        .collect();
    // Everything reachable from a ref the server has (in this namespace) is already there.
    let hidden = vec![format!("--glob={ref_prefix}refs/*")];
    let mut plan =
        GitPushPlan::for_tips(repo, &updates, &hidden).context("reading what the push brings")?;
    let scope = Scope::Push {
        remote: "this server".to_string(),
    };
    // Findings in a tagged blob or tree name no commit: each is scanned with the refs that
    // point at it.
    let tagged_objects = std::mem::take(&mut plan.tagged_objects);
    let mut report = scanner.scan_git_plan(repo, &plan, scope.clone(), &mut |_, _, _| {})?;
    plan.name_pushed_refs(repo, &mut report.findings)?;
    let mut refs = refs_of_each(&report.findings);
    for object in tagged_objects {
        let mut names = Vec::new();
        for &(name, tip) in &updates {
            let peeled = repo
                .git_output(["rev-parse", "--verify", &format!("{tip}^{{}}")])
                .with_context(|| format!("reading {} ({tip})", redact_text(name.as_bytes())))?;
            if String::from_utf8_lossy(&peeled).trim() == object.0 {
                names.push(redact_text(name.as_bytes()));
            }
        }
        let only_this = GitPushPlan {
            tagged_objects: vec![object],
            ..GitPushPlan::default()
        };
        let found = scanner.scan_git_plan(repo, &only_this, scope.clone(), &mut |_, _, _| {})?;
        let name = names.join(",");
        refs.extend(found.findings.iter().map(|_| name.clone()));
        report.findings.extend(found.findings);
    }
    Ok(ReceiveReport { report, refs })
}

/// A git config setting read by libgit2 with `get`, `None` when unset.
fn libgit2_config<T>(
    repo: &Repository,
    name: &str,
    get: impl FnOnce(&git2::Config, &str) -> Result<T, git2::Error>,
) -> Result<Option<T>> {
    let config = repo
        .config()
        .and_then(|mut config| config.snapshot())
        .context("reading git config")?;
    match get(&config, name) {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(err) => bail!("git config {name}: {}", err.message()),
    }
}
