//! The staged change: what the index adds over HEAD's tree (`git diff --cached`).

use anyhow::{Context, Result};
use git2::{ErrorCode, Repository, Tree};

use super::blobs::{added_in_diff, tree_diff_options};
use super::AddedText;

/// Calls `sink` with what the index adds over the HEAD commit's tree. An unborn HEAD (the first
/// commit) counts as the empty tree.
///
/// The index is the one git points hooks at: `Repository::open_from_env` honours
/// `GIT_INDEX_FILE`, which `git commit -a`, `git commit PATH` and `--amend` set to a temporary
/// index. What is scanned is never the working tree.
pub fn added_in_index(
    repo: &Repository,
    sink: &mut dyn FnMut(AddedText) -> Result<()>,
) -> Result<()> {
    let head_tree = head_tree(repo)?;
    let index = repo.index().context("reading the index")?;
    let diff = repo
        .diff_tree_to_index(
            head_tree.as_ref(),
            Some(&index),
            Some(&mut tree_diff_options()),
        )
        .context("comparing the index with HEAD")?;
    added_in_diff(repo, &diff, None, sink)
}

/// HEAD's tree, or `None` when HEAD is unborn.
fn head_tree(repo: &Repository) -> Result<Option<Tree<'_>>> {
    match repo.head() {
        Ok(head) => Ok(Some(
            head.peel_to_tree()
                .context("reading the HEAD commit's tree")?,
        )),
        Err(err) if matches!(err.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(err) => Err(anyhow::Error::new(err).context("resolving HEAD")),
    }
}

/// Calls `sink` with the whole content of every file in the index, as if all of it were added:
/// what the repository tracks, for auditing the allowlist.
pub fn all_in_index(
    repo: &Repository,
    sink: &mut dyn FnMut(AddedText) -> Result<()>,
) -> Result<()> {
    let index = repo.index().context("reading the index")?;
    let diff = repo
        .diff_tree_to_index(None, Some(&index), Some(&mut tree_diff_options()))
        .context("listing the tracked files")?;
    added_in_diff(repo, &diff, None, sink)
}
