//! Which files a tree adds or changes over another, skipping every subtree whose id is the same
//! on both sides.
//!
//! libgit2's tree diff iterates every entry of both trees; a commit that touches three files of
//! a 20,000-file repository then costs as much as listing the whole repository. Comparing subtree
//! ids first makes the cost proportional to the directories the change touches, which is what
//! keeps history scans and the staged scan fast.
//!
//! With [`Verdicts`] from a pass over every object, a changed subtree or blob known clean is
//! skipped as well, so that a commit whose changes are all clean costs a few tree reads.

use anyhow::{Context, Result};
use git2::{ObjectType, Oid, Repository, Tree, TreeEntry};

use super::verdicts::{NoVerdicts, Verdict, Verdicts};
use crate::detect::credentials::is_credentials_path;
use crate::detect::name_may_hold_token;

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
    changed_files_to_scan(repo, old, new, &NoVerdicts)
}

/// [`changed_files`] without the changes that cannot add anything reportable according to
/// `verdicts`: see [`compare_to_scan`].
pub fn changed_files_to_scan(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    verdicts: &dyn Verdicts,
) -> Result<Vec<FileChange>> {
    let mut changes = Vec::new();
    compare_to_scan(repo, old, new, &mut Vec::new(), verdicts, &mut changes)?;
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
    compare_to_scan(repo, old, new, prefix, &NoVerdicts, changes)
}

/// [`compare`], leaving out what `verdicts` shows cannot add anything reportable:
/// - a changed subtree whose new id is clean is not read (no blob below it may hold a secret, no
///   name below it may hold a token, none is a credentials file), unless its own path may hold
///   a token: then the files added below it are still listed, for the path check;
/// - a changed file whose new blob is clean is not listed, unless it is a cargo credentials file
///   (whose test depends on the path) or it is added at a path that may hold a token.
///
/// A listed file may still have a clean blob; its content need not be read.
pub fn compare_to_scan(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    prefix: &mut Vec<u8>,
    verdicts: &dyn Verdicts,
    changes: &mut Vec<FileChange>,
) -> Result<()> {
    // Both trees list entries in git's order, so one merge pass pairs them up.
    let mut old_entries = old.map(|tree| tree.iter()).into_iter().flatten().peekable();
    for entry in new.iter() {
        let mut before = None;
        while let Some(candidate) = old_entries.peek() {
            let order = git_order(candidate, &entry);
            match order {
                std::cmp::Ordering::Less => {
                    old_entries.next();
                }
                std::cmp::Ordering::Equal => {
                    before = old_entries.next();
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        let before = before.map(|old| (old.id(), old.filemode(), old.kind()));
        if before.is_some_and(|(id, mode, _)| id == entry.id() && mode == entry.filemode()) {
            continue;
        }
        let depth = prefix.len();
        prefix.extend_from_slice(entry.name_bytes());
        match entry.kind() {
            Some(ObjectType::Tree)
                if verdicts.tree(entry.id()) == Verdict::Clean && !name_may_hold_token(prefix) => {}
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
                compare_to_scan(
                    repo,
                    old_subtree.as_ref(),
                    &subtree,
                    prefix,
                    verdicts,
                    changes,
                )?;
            }
            Some(ObjectType::Blob) if entry.filemode() != GITLINK_MODE => {
                let old = before
                    .filter(|&(_, mode, kind)| {
                        kind == Some(ObjectType::Blob) && mode != GITLINK_MODE
                    })
                    .map(|(id, mode, _)| (id, mode));
                let nothing_to_scan = verdicts.blob(entry.id()) == Verdict::Clean
                    && !is_credentials_path(prefix)
                    && (old.is_some() || !name_may_hold_token(prefix));
                if nothing_to_scan {
                    prefix.truncate(depth);
                    continue;
                }
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

/// How git orders two tree entries: by name, with a `/` after a directory's name.
fn git_order(a: &TreeEntry<'_>, b: &TreeEntry<'_>) -> std::cmp::Ordering {
    let (a_name, a_suffix) = order_key(a);
    let (b_name, b_suffix) = order_key(b);
    a_name
        .iter()
        .chain(a_suffix)
        .cmp(b_name.iter().chain(b_suffix))
}

fn order_key<'e>(entry: &'e TreeEntry<'_>) -> (&'e [u8], &'static [u8]) {
    let suffix: &'static [u8] = if entry.kind() == Some(ObjectType::Tree) {
        b"/"
    } else {
        b""
    };
    (entry.name_bytes(), suffix)
}
