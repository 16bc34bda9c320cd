//! The staged change: what the index adds over HEAD's tree (`git diff --cached`).

use std::collections::HashMap;

use anyhow::{Context, Result};
use git2::{Delta, DiffOptions, ErrorCode, FileMode, ObjectType, Oid, Repository, Tree};

use super::blobs::added_in_changes;
use super::index_file::{self, CachedTree, IndexEntry, SPARSE_DIRECTORY_MODE};
use super::tree_diff::{self, FileChange, GITLINK_MODE};
use super::AddedText;

/// Calls `sink` with what the index adds over the HEAD commit's tree. An unborn HEAD (the first
/// commit) counts as the empty tree.
///
/// The index is the one git commits from: `GIT_INDEX_FILE` when git sets it (`git commit -a`,
/// `git commit PATH` and `--amend` use a temporary index), else the repository's. What is scanned
/// is never the working tree.
pub fn added_in_index(
    repo: &Repository,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    let head_tree = head_tree(repo)?;
    let changes = index_changes(repo, head_tree.as_ref())?;
    added_in_changes(repo, &changes, None, sink)
}

/// Calls `sink` with the whole content of every file in the index, as if all of it were added:
/// what the repository tracks, for auditing the allowlist.
pub fn all_in_index(
    repo: &Repository,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    let changes = index_changes(repo, None)?;
    added_in_changes(repo, &changes, None, sink)
}

/// Files the index adds or changes over `base`.
///
/// The fast way reads the index file directly and, like `git commit`, trusts its cache of tree
/// ids: a directory whose cached id equals the base's subtree has nothing staged and is skipped
/// without reading it. Index formats the fast reader leaves alone go through libgit2, which
/// compares every entry.
fn index_changes(repo: &Repository, base: Option<&Tree<'_>>) -> Result<Vec<FileChange>> {
    match index_file::read_index(&index_file::index_path(repo)) {
        Ok(snapshot) => {
            let mut changes = Vec::new();
            let mut prefix = Vec::new();
            compare_directory(
                repo,
                base.cloned(),
                &snapshot.entries,
                snapshot.cached_trees.as_ref(),
                &mut prefix,
                &mut changes,
            )?;
            Ok(changes)
        }
        Err(err) if err.downcast_ref::<index_file::Unsupported>().is_some() => {
            index_changes_with_libgit2(repo, base)
        }
        Err(err) => Err(err),
    }
}

/// Compares the index entries under `prefix` (all of `entries`) with the base tree of that
/// directory, recursing only into directories whose cached tree id differs from the base's.
fn compare_directory(
    repo: &Repository,
    base: Option<Tree<'_>>,
    entries: &[IndexEntry],
    cached: Option<&CachedTree>,
    prefix: &mut Vec<u8>,
    changes: &mut Vec<FileChange>,
) -> Result<()> {
    let unchanged = matches!((cached.and_then(|tree| tree.id), &base), (Some(id), Some(tree)) if id == tree.id());
    if unchanged {
        return Ok(());
    }
    let base_entries: HashMap<Vec<u8>, (Oid, i32, Option<ObjectType>)> = base
        .as_ref()
        .map(|tree| {
            tree.iter()
                .map(|entry| {
                    let key = entry.name_bytes().to_vec();
                    (key, (entry.id(), entry.filemode(), entry.kind()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut index = 0;
    while index < entries.len() {
        let entry = &entries[index];
        let rest = &entry.path[prefix.len()..];
        if entry.mode == SPARSE_DIRECTORY_MODE {
            // A sparse index keeps a directory outside the cone as one entry: its tree.
            index += 1;
            let name = rest.strip_suffix(b"/").unwrap_or(rest);
            let sub_base = match base_entries.get(name) {
                Some(&(id, _, _)) if id == entry.id => continue,
                Some(&(id, _, Some(ObjectType::Tree))) => Some(repo.find_tree(id)?),
                _ => None,
            };
            let tree = repo
                .find_tree(entry.id)
                .with_context(|| format!("reading tree {}", entry.id))?;
            let mut sub_prefix = entry.path.clone();
            if !sub_prefix.ends_with(b"/") {
                sub_prefix.push(b'/');
            }
            tree_diff::compare(repo, sub_base.as_ref(), &tree, &mut sub_prefix, changes)?;
            continue;
        }
        if let Some(slash) = memchr::memchr(b'/', rest) {
            let name = rest[..slash].to_vec();
            let depth = prefix.len();
            prefix.extend_from_slice(&name);
            prefix.push(b'/');
            let end =
                index + entries[index..].partition_point(|other| other.path.starts_with(prefix));
            let sub_base = match base_entries.get(&name) {
                Some(&(id, _, Some(ObjectType::Tree))) => Some(
                    repo.find_tree(id)
                        .with_context(|| format!("reading tree {id}"))?,
                ),
                _ => None,
            };
            let sub_cached = cached.and_then(|tree| tree.children.get(&name));
            compare_directory(
                repo,
                sub_base,
                &entries[index..end],
                sub_cached,
                prefix,
                changes,
            )?;
            prefix.truncate(depth);
            index = end;
            continue;
        }
        index += 1;
        let mode = entry.mode as i32;
        if mode == GITLINK_MODE {
            continue;
        }
        let before = base_entries.get(rest).copied();
        if before.is_some_and(|(id, old_mode, _)| id == entry.id && old_mode == mode) {
            continue;
        }
        let old = before
            .filter(|&(_, old_mode, kind)| {
                kind == Some(ObjectType::Blob) && old_mode != GITLINK_MODE
            })
            .map(|(id, old_mode, _)| (id, old_mode));
        changes.push(FileChange {
            path: entry.path.clone(),
            old,
            new: (entry.id, mode),
        });
    }
    Ok(())
}

/// The slow, general comparison: libgit2's tree-to-index diff, which reads every entry.
fn index_changes_with_libgit2(
    repo: &Repository,
    base: Option<&Tree<'_>>,
) -> Result<Vec<FileChange>> {
    let index = repo.index().context("reading the index")?;
    let mut options = DiffOptions::new();
    options.include_typechange(true);
    let diff = repo
        .diff_tree_to_index(base, Some(&index), Some(&mut options))
        .context("comparing the index with HEAD")?;
    let is_file = |mode: FileMode| {
        matches!(
            mode,
            FileMode::Blob | FileMode::BlobExecutable | FileMode::Link
        )
    };
    Ok(diff
        .deltas()
        .filter(|delta| {
            matches!(
                delta.status(),
                Delta::Added | Delta::Modified | Delta::Typechange
            ) && is_file(delta.new_file().mode())
        })
        .map(|delta| {
            let (old, new) = (delta.old_file(), delta.new_file());
            FileChange {
                path: new.path_bytes().unwrap_or_default().to_vec(),
                old: is_file(old.mode()).then(|| (old.id(), i32::from(old.mode()))),
                new: (new.id(), i32::from(new.mode())),
            }
        })
        .collect())
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
