//! Which files a tree adds or changes over another, skipping every subtree whose id is the same
//! on both sides.
//!
//! libgit2's tree diff iterates every entry of both trees; a commit that touches three files of
//! a 20,000-file repository then costs as much as listing the whole repository. Comparing subtree
//! ids first makes the cost proportional to the directories the change touches, which is what
//! keeps history scans and the staged scan fast.

use std::collections::HashMap;

use anyhow::{Context, Result};
use git2::{ObjectType, Oid, Repository, Tree};

/// A file that the new tree adds or changes. Deletions are not listed: they add nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path from the repository root, `/`-separated, as git stores it.
    pub path: Vec<u8>,
    /// The blob and mode the path had in the old tree, when it was a file (or symlink) there.
    pub old: Option<(Oid, i32)>,
    /// The new blob and mode.
    pub new: (Oid, i32),
}

/// The mode git gives gitlinks (submodule commits), which are not files.
pub const GITLINK_MODE: i32 = 0o160000;

/// Files added or changed from `old` (the empty tree when `None`) to `new`, in tree order.
pub fn changed_files(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<FileChange>> {
    let mut changes = Vec::new();
    compare(repo, old, new, &mut Vec::new(), &mut changes)?;
    Ok(changes)
}

/// Like [`changed_files`] for two trees found at `prefix` (ending in `/`), appending to `changes`
/// with full paths.
pub fn compare(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    prefix: &mut Vec<u8>,
    changes: &mut Vec<FileChange>,
) -> Result<()> {
    compare_trees(repo, old, new, prefix, changes)
}

fn compare_trees(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    prefix: &mut Vec<u8>,
    changes: &mut Vec<FileChange>,
) -> Result<()> {
    let old_entries: HashMap<Vec<u8>, (Oid, i32, Option<ObjectType>)> = old
        .map(|tree| {
            tree.iter()
                .map(|entry| {
                    let key = entry.name_bytes().to_vec();
                    (key, (entry.id(), entry.filemode(), entry.kind()))
                })
                .collect()
        })
        .unwrap_or_default();
    for entry in new.iter() {
        let name = entry.name_bytes();
        let before = old_entries.get(name).copied();
        if before.is_some_and(|(id, mode, _)| id == entry.id() && mode == entry.filemode()) {
            continue;
        }
        let depth = prefix.len();
        prefix.extend_from_slice(name);
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let subtree = repo
                    .find_tree(entry.id())
                    .with_context(|| format!("reading tree {}", entry.id()))?;
                let old_subtree = match before {
                    Some((id, _, Some(ObjectType::Tree))) => Some(
                        repo.find_tree(id)
                            .with_context(|| format!("reading tree {id}"))?,
                    ),
                    _ => None,
                };
                prefix.push(b'/');
                compare_trees(repo, old_subtree.as_ref(), &subtree, prefix, changes)?;
            }
            Some(ObjectType::Blob) if entry.filemode() != GITLINK_MODE => {
                let old = before
                    .filter(|&(_, mode, kind)| {
                        kind == Some(ObjectType::Blob) && mode != GITLINK_MODE
                    })
                    .map(|(id, mode, _)| (id, mode));
                changes.push(FileChange {
                    path: prefix.clone(),
                    old,
                    new: (entry.id(), entry.filemode()),
                });
            }
            // Gitlinks: a submodule's own hook scans its commits.
            _ => {}
        }
        prefix.truncate(depth);
    }
    Ok(())
}
