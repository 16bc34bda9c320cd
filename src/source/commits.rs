//! Commits: what each one adds over its parents, message included.

use std::sync::Arc;

use anyhow::{Context, Result};
use git2::{Commit, ObjectType, Oid, Repository, Tree};

use super::blobs::{added_in_changes_skipping, added_lines, as_text, find_blob, CleanBlobs};
use super::pre_push::new_walk;
use super::tree_diff::changed_files;
use super::{all_lines, path_from_bytes, AddedContent, AddedText, CommitInfo, COMMIT_MESSAGE};
use crate::detect::may_contain_secret;
use crate::redact::redact_text;

/// How reports name `commit`.
pub fn commit_info(commit: &Commit<'_>) -> CommitInfo {
    let message = commit.message_bytes();
    let subject = message
        .split(|&byte| byte == b'\n')
        .next()
        .unwrap_or_default();
    CommitInfo {
        oid: commit.id().to_string(),
        subject: redact_text(subject),
    }
}

/// Calls `sink` with what `commit` adds: its message, and the lines it adds over its first
/// parent (a root commit: over the empty tree). For a merge, only lines that none of its parents
/// had count, so a clean merge adds nothing and an "evil merge" adds what it introduced.
///
/// Blobs in `clean` are known to hold nothing and are not read again; blobs found clean are
/// added to it.
pub fn added_in_commit(
    repo: &Repository,
    commit: &Commit<'_>,
    clean: &CleanBlobs,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    let info = Arc::new(commit_info(commit));
    let message = commit.message_bytes();
    if may_contain_secret(COMMIT_MESSAGE, message) {
        sink(AddedText::message(COMMIT_MESSAGE, info.clone(), message))?;
    }
    let tree = commit.tree().context("reading the commit's tree")?;
    let parent_trees = commit
        .parents()
        .map(|parent| parent.tree())
        .collect::<Result<Vec<_>, _>>()
        .context("reading a parent commit's tree")?;
    let changes = changed_files(repo, parent_trees.first(), &tree)?;
    let other_parents = parent_trees.get(1..).unwrap_or_default();
    added_in_changes_skipping(repo, &changes, Some(&info), clean, &mut |mut added| {
        for parent_tree in other_parents {
            keep_only_new_since(repo, &tree, parent_tree, &mut added)?;
        }
        if added.is_empty() {
            return Ok(());
        }
        sink(added)
    })
    .with_context(|| format!("scanning commit {}", info.short_oid()))
}

/// Narrows `added` (lines of a file in `tree` that are new over the first parent) to the lines
/// that are also new over another parent's tree.
fn keep_only_new_since(
    repo: &Repository,
    tree: &Tree<'_>,
    parent_tree: &Tree<'_>,
    added: &mut AddedText<'_>,
) -> Result<()> {
    let path = path_from_bytes(&added.path);
    if matches!(added.content, AddedContent::Path) {
        // A path the other parent has is not new: leave nothing to report.
        if parent_tree.get_path(&path).is_ok() {
            added.content = AddedContent::Lines(Vec::new());
        }
        return Ok(());
    }
    let blob_at = |tree: &Tree<'_>| -> Result<_> {
        match tree.get_path(&path) {
            Ok(entry) if entry.kind() == Some(ObjectType::Blob) => {
                find_blob(repo, entry.id(), &added.path).map(Some)
            }
            _ => Ok(None),
        }
    };
    let Some(new_blob) = blob_at(tree)? else {
        return Ok(());
    };
    let parent_blob = blob_at(parent_tree)?;
    if let AddedContent::Text(text) = &added.content {
        added.content = AddedContent::Lines(all_lines(text));
    }
    match &mut added.content {
        AddedContent::Text(_) | AddedContent::Path => unreachable!("handled above"),
        AddedContent::Lines(lines) => {
            // Compared as the first parent was: UTF-16 text decoded on both sides.
            let parent_text = parent_blob.as_ref().map(|blob| as_text(blob.content()));
            let new_over_parent =
                added_lines(parent_text.as_deref(), &as_text(new_blob.content()))?;
            lines.retain(|line| {
                new_over_parent
                    .binary_search_by_key(&line.number, |other| other.number)
                    .is_ok()
            });
        }
        AddedContent::Binary { previous, .. } => {
            if let Some(blob) = parent_blob {
                previous.push(std::borrow::Cow::Owned(blob.content().to_vec()));
            }
        }
    }
    Ok(())
}

/// Every commit reachable from any ref or from HEAD, parents first.
pub fn all_commits(repo: &Repository) -> Result<Vec<Oid>> {
    let mut walk = new_walk(repo)?;
    for reference in repo.references().context("listing refs")? {
        if let Ok(commit) = reference?.peel_to_commit() {
            walk.push(commit.id())?;
        }
    }
    if let Ok(head) = repo.head().and_then(|head| head.peel_to_commit()) {
        walk.push(head.id())?;
    }
    collect_walk(walk)
}

fn collect_walk(walk: git2::Revwalk<'_>) -> Result<Vec<Oid>> {
    walk.collect::<Result<Vec<_>, _>>()
        .context("walking commits")
}
