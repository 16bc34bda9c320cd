//! Revision ranges for `scan-range`, in git's notation: `A..B`, `A...B`, a single revision with
//! its history, and the parent shorthands that libgit2's parser lacks (`X^!`, `X^@`, `X^-N`).
//! Errors read as git's do ("unknown revision 'X'"), never with libgit2's class and code.

use anyhow::{anyhow, Context, Result};
use git2::{Commit, ErrorCode, Oid, Repository, RevparseMode, Revwalk};

use super::pre_push::new_walk;

/// The commits of `revspec`, parents first: `A..B` (in B, not in A), `A...B` (in either, not in
/// both), `X^!` (the commit X alone), `X^@` (X's parents and their history), `X^-N` (as
/// `X^N..X`; `X^-` is `X^-1`), or a single revision with all its history.
pub fn commits_in_range(repo: &Repository, revspec: &str) -> Result<Vec<Oid>> {
    let mut walk = new_walk(repo)?;
    if let Some(revision) = revspec.strip_suffix("^!") {
        let commit = resolve_commit(repo, revision)?;
        walk.push(commit.id())?;
        for parent in commit.parent_ids() {
            walk.hide(parent)?;
        }
        return collect(walk);
    }
    if let Some(revision) = revspec.strip_suffix("^@") {
        for parent in resolve_commit(repo, revision)?.parent_ids() {
            walk.push(parent)?;
        }
        return collect(walk);
    }
    if let Some((revision, number)) = revspec.rsplit_once("^-") {
        let number: usize = match number {
            "" => 1,
            digits => digits
                .parse()
                .ok()
                .filter(|&number| number > 0)
                .ok_or_else(|| anyhow!("invalid revision '{revspec}'"))?,
        };
        let commit = resolve_commit(repo, revision)?;
        let parent = commit.parent_id(number - 1).map_err(|_| {
            anyhow!("unknown revision '{revspec}': {revision} has no parent {number}")
        })?;
        walk.push(commit.id())?;
        walk.hide(parent)?;
        return collect(walk);
    }
    let spec = repo
        .revparse(revspec)
        .map_err(|err| revision_error(repo, revspec, &err))?;
    let peel = |object: Option<&git2::Object<'_>>| -> Result<Option<Oid>> {
        object
            .map(|object| {
                let commit = object
                    .peel_to_commit()
                    .map_err(|_| anyhow!("'{revspec}' is not a commit"))?;
                Ok(commit.id())
            })
            .transpose()
    };
    let (from, to) = (peel(spec.from())?, peel(spec.to())?);
    match (from, to) {
        (Some(from), Some(to)) if spec.mode().contains(RevparseMode::MERGE_BASE) => {
            walk.push(from)?;
            walk.push(to)?;
            if let Ok(base) = repo.merge_base(from, to) {
                walk.hide(base)?;
            }
        }
        (Some(from), Some(to)) => {
            walk.push(to)?;
            walk.hide(from)?;
        }
        (Some(single), None) | (None, Some(single)) => walk.push(single)?,
        (None, None) => return Ok(Vec::new()),
    }
    collect(walk)
}

/// The commit a single revision names.
fn resolve_commit<'repo>(repo: &'repo Repository, revision: &str) -> Result<Commit<'repo>> {
    repo.revparse_single(revision)
        .map_err(|err| revision_error(repo, revision, &err))?
        .peel_to_commit()
        .map_err(|_| anyhow!("'{revision}' is not a commit"))
}

/// What went wrong with `revspec`, as git would say it: the side of a range that does not
/// resolve is named alone.
fn revision_error(repo: &Repository, revspec: &str, err: &git2::Error) -> anyhow::Error {
    if !matches!(err.code(), ErrorCode::NotFound | ErrorCode::Ambiguous) {
        return anyhow!("invalid revision '{revspec}': {}", err.message());
    }
    let unknown = revspec
        .split("...")
        .flat_map(|side| side.split(".."))
        .filter(|side| !side.is_empty())
        .find(|side| repo.revparse_single(side).is_err())
        .unwrap_or(revspec);
    match err.code() {
        ErrorCode::Ambiguous => anyhow!("ambiguous revision '{unknown}'"),
        _ => anyhow!("unknown revision '{unknown}'"),
    }
}

fn collect(walk: Revwalk<'_>) -> Result<Vec<Oid>> {
    walk.collect::<Result<Vec<_>, _>>()
        .context("walking commits")
}
