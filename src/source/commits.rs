//! Commits: what each one adds over its parents, message included.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::{Context, Result};
use git2::{Commit, ObjectType, Oid, Repository, Signature, Tree};

use super::blobs::{added_in_changes_skipping, added_lines, as_text, find_blob, CleanBlobs};
use super::pre_push::new_walk;
use super::tree_diff::{changed_files_to_scan, TreeReader};
use super::verdicts::{CommitOutline, Verdicts};
use super::{all_lines, path_from_bytes, AddedContent, AddedText, CommitInfo, COMMIT_MESSAGE};
use crate::allow::Day;
use crate::detect::may_contain_secret;
use crate::redact::{display_path, redact_text};

/// How reports name `commit`.
pub fn commit_info(commit: &Commit<'_>) -> CommitInfo {
    let message = commit.message_bytes();
    let subject = message
        .split(|&byte| byte == b'\n')
        .next()
        .unwrap_or_default();
    let (author, date) = signature_fields(&commit.author());
    CommitInfo {
        oid: commit.id().to_string(),
        subject: redact_text(subject),
        author: Some(author),
        date: Some(date),
        root: commit.parent_count() == 0,
        stash: false,
        refs: Vec::new(),
    }
}

/// A signature as reports show it: `Name <email>` (printable, tokens redacted) and its date in
/// ISO 8601 with the signer's UTC offset.
pub fn signature_fields(signature: &Signature<'_>) -> (String, String) {
    let mut who = signature.name_bytes().to_vec();
    who.extend_from_slice(b" <");
    who.extend_from_slice(signature.email_bytes());
    who.push(b'>');
    let when = signature.when();
    (
        display_path(&who),
        iso_date(when.seconds(), when.offset_minutes()),
    )
}

/// `seconds` since the epoch at a UTC offset of `offset_minutes`, as `YYYY-MM-DDTHH:MM:SS±HH:MM`.
pub(crate) fn iso_date(seconds: i64, offset_minutes: i32) -> String {
    let local = seconds + i64::from(offset_minutes) * 60;
    let day = Day::from_days_since_epoch(local.div_euclid(86_400));
    let second_of_day = local.rem_euclid(86_400);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.unsigned_abs();
    format!(
        "{day}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        offset / 60,
        offset % 60
    )
}

/// The commits that only the stash holds (`refs/stash`: its working-tree, index and untracked
/// commits), which are local and never pushed.
pub fn stash_only_commits(repo: &Repository) -> Result<HashSet<Oid>> {
    let Ok(stash) = repo.refname_to_id("refs/stash") else {
        return Ok(HashSet::new());
    };
    let mut walk = repo.revwalk().context("starting a revision walk")?;
    walk.push(stash)?;
    for reference in repo.references().context("listing refs")? {
        let reference = reference?;
        if reference.name_bytes() == b"refs/stash" {
            continue;
        }
        if let Ok(commit) = reference.peel_to_commit() {
            walk.hide(commit.id())?;
        }
    }
    if let Ok(head) = repo.head().and_then(|head| head.peel_to_commit()) {
        walk.hide(head.id())?;
    }
    walk.collect::<Result<HashSet<_>, _>>()
        .context("walking the stash's commits")
}

/// Calls `sink` with what commit `id` adds: its message, and the lines it adds over its first
/// parent (a root commit: over the empty tree). For a merge, only lines that none of its parents
/// had count, so a clean merge adds nothing and an "evil merge" adds what it introduced.
///
/// Subtrees and blobs that `verdicts` calls clean are not read; blobs in `clean` are known to
/// hold nothing and are not read again; blobs found clean are added to it. Trees are read
/// through `trees`, which keeps those of the commits just compared. A commit whose outline
/// `verdicts` knows is read only when it adds something (for how reports name it).
pub fn added_in_commit(
    trees: &mut TreeReader<'_>,
    id: Oid,
    verdicts: &dyn Verdicts,
    clean: &CleanBlobs,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    let repo = trees.repo();
    let read = || {
        repo.find_commit(id)
            .with_context(|| format!("reading commit {id}"))
    };
    let (outline, mut commit) = match verdicts.commit_outline(id) {
        Some(outline) => (outline, None),
        None => {
            let commit = read()?;
            let outline = CommitOutline {
                tree: commit.tree_id(),
                parents: commit.parent_ids().collect(),
                message_may_hold_secret: may_contain_secret(COMMIT_MESSAGE, commit.message_bytes()),
            };
            (outline, Some(commit))
        }
    };
    trees.next_commit();
    trees.remember_commit_tree(id, outline.tree);
    let tree = trees.tree(outline.tree)?;
    let parent_trees = outline
        .parents
        .iter()
        .map(|&parent| match verdicts.commit_outline(parent) {
            Some(parent) => trees.tree(parent.tree),
            None => trees.commit_tree(parent),
        })
        .collect::<Result<Vec<_>>>()
        .context("reading a parent commit's tree")?;
    let mut changes = changed_files_to_scan(trees, parent_trees.first(), &tree, verdicts)?;
    let other_parents = parent_trees.get(1..).unwrap_or_default();
    if !other_parents.is_empty() {
        // A file that another parent already had exactly as the merge has it adds nothing (the
        // usual merged branch's change): it need not be read, diffed and narrowed line by line.
        let mut kept = Vec::with_capacity(changes.len());
        'changes: for change in changes {
            for parent_tree in other_parents {
                if trees.blob_at(parent_tree, &change.path)? == Some(change.new.0) {
                    continue 'changes;
                }
            }
            kept.push(change);
        }
        changes = kept;
    }
    if changes.is_empty() && !outline.message_may_hold_secret {
        return Ok(());
    }
    let commit = match commit.take() {
        Some(commit) => commit,
        None => read()?,
    };
    let info = Arc::new(commit_info(&commit));
    if outline.message_may_hold_secret {
        sink(AddedText::message(
            COMMIT_MESSAGE,
            info.clone(),
            commit.message_bytes(),
        ))?;
    }
    let with_commit = Some(&info);
    added_in_changes_skipping(
        repo,
        &changes,
        with_commit,
        verdicts,
        clean,
        &mut |mut added| {
            for parent_tree in other_parents {
                keep_only_new_since(repo, &tree, parent_tree, &mut added)?;
            }
            if added.is_empty() {
                return Ok(());
            }
            sink(added)
        },
    )
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
    for tip in tips(repo)? {
        walk.push(tip)?;
    }
    collect_walk(walk)
}

/// The commits that the refs (peeled through tags) and HEAD point at, in the order libgit2
/// lists the refs, HEAD last; refs to other objects are left out.
pub fn tips(repo: &Repository) -> Result<Vec<Oid>> {
    Ok(commits_at(repo, &ref_targets(repo)?, &|_| false))
}

/// The object each ref names (a symbolic ref: the object its target names), in the order
/// libgit2 lists the refs, HEAD's last. Reading them is mostly file system work: on
/// rust-lang/crates.io's 12,848 loose refs it took 0.6 s.
pub fn ref_targets(repo: &Repository) -> Result<Vec<Oid>> {
    let mut targets = Vec::new();
    for reference in repo.references().context("listing refs")? {
        let reference = reference?;
        let target = match reference.target() {
            Some(target) => Some(target),
            None => reference.resolve().ok().and_then(|direct| direct.target()),
        };
        targets.extend(target);
    }
    if let Some(head) = repo.head().ok().and_then(|head| head.target()) {
        targets.push(head);
    }
    Ok(targets)
}

/// The commits `targets` name, peeled through tags (objects that are no commit and name none
/// are left out). An id that `is_commit` knows to be a commit is taken as it is, unread.
pub fn commits_at(repo: &Repository, targets: &[Oid], is_commit: &dyn Fn(Oid) -> bool) -> Vec<Oid> {
    targets
        .iter()
        .filter_map(|&target| {
            if is_commit(target) {
                return Some(target);
            }
            let object = repo.find_object(target, None).ok()?;
            object.peel_to_commit().ok().map(|commit| commit.id())
        })
        .collect()
}

fn collect_walk(walk: git2::Revwalk<'_>) -> Result<Vec<Oid>> {
    walk.collect::<Result<Vec<_>, _>>()
        .context("walking commits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_the_signers_offset() {
        assert_eq!(iso_date(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_date(1_772_597_167, 60), "2026-03-04T05:06:07+01:00");
        assert_eq!(iso_date(1_772_620_567, -330), "2026-03-04T05:06:07-05:30");
    }
}
