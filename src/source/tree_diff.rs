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

use std::collections::HashMap;

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
    changed_files_to_scan(&mut TreeReader::new(repo), old, new, &NoVerdicts)
}

/// [`changed_files`] without the changes that cannot add anything reportable according to
/// `verdicts`: see [`compare_to_scan`].
pub fn changed_files_to_scan<'r>(
    trees: &mut TreeReader<'r>,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    verdicts: &dyn Verdicts,
) -> Result<Vec<FileChange>> {
    let mut changes = Vec::new();
    compare_to_scan(trees, old, new, &mut Vec::new(), verdicts, &mut changes)?;
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
    let trees = &mut TreeReader::new(repo);
    compare_to_scan(trees, old, new, prefix, &NoVerdicts, changes)
}

/// Reads the trees that comparisons descend into, keeping those read for the last two commits:
/// a commit's first parent is usually the commit compared just before on the same thread, so
/// the old side of a comparison is mostly trees read for the new side a moment ago. (libgit2's
/// own object cache, once full, evicts at random and pays for it on every insertion.)
pub struct TreeReader<'r> {
    repo: &'r Repository,
    /// Trees read since [`TreeReader::next_commit`] was last called.
    current: HashMap<Oid, Tree<'r>>,
    /// Trees read between the two calls before.
    previous: HashMap<Oid, Tree<'r>>,
    /// The tree of each commit read through [`TreeReader::commit_tree`].
    commit_trees: HashMap<Oid, Oid>,
}

impl<'r> TreeReader<'r> {
    pub fn new(repo: &'r Repository) -> TreeReader<'r> {
        TreeReader {
            repo,
            current: HashMap::new(),
            previous: HashMap::new(),
            commit_trees: HashMap::new(),
        }
    }

    /// The repository trees are read from.
    pub fn repo(&self) -> &'r Repository {
        self.repo
    }

    /// Tree `id`.
    pub fn tree(&mut self, id: Oid) -> Result<Tree<'r>> {
        if let Some(tree) = self.current.get(&id) {
            return Ok(tree.clone());
        }
        let tree = match self.previous.remove(&id) {
            Some(tree) => tree,
            None => self
                .repo
                .find_tree(id)
                .with_context(|| format!("reading tree {id}"))?,
        };
        self.current.insert(id, tree.clone());
        Ok(tree)
    }

    /// The tree of commit `commit` (its id remembered, so that the commit is read once).
    pub fn commit_tree(&mut self, commit: Oid) -> Result<Tree<'r>> {
        let tree = match self.commit_trees.get(&commit) {
            Some(&tree) => tree,
            None => {
                let tree = self
                    .repo
                    .find_commit(commit)
                    .with_context(|| format!("reading commit {commit}"))?
                    .tree_id();
                self.commit_trees.insert(commit, tree);
                tree
            }
        };
        self.tree(tree)
    }

    /// The blob at `path` (`/`-separated, from the root) in `root`, when it is a file there.
    pub fn blob_at(&mut self, root: &Tree<'r>, path: &[u8]) -> Result<Option<Oid>> {
        let mut tree = root.clone();
        let mut names = path.split(|&byte| byte == b'/').peekable();
        while let Some(name) = names.next() {
            let Some((id, kind, mode)) = tree
                .get_name_bytes(name)
                .map(|entry| (entry.id(), entry.kind(), entry.filemode()))
            else {
                return Ok(None);
            };
            if names.peek().is_none() {
                let is_file = kind == Some(ObjectType::Blob) && mode != GITLINK_MODE;
                return Ok(is_file.then_some(id));
            }
            if kind != Some(ObjectType::Tree) {
                return Ok(None);
            }
            tree = self.tree(id)?;
        }
        Ok(None)
    }

    /// Remembers that `commit` has tree `tree`.
    pub fn remember_commit_tree(&mut self, commit: Oid, tree: Oid) {
        self.commit_trees.insert(commit, tree);
    }

    /// Starts the next commit: trees read before the previous one are let go.
    pub fn next_commit(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }
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
    trees: &mut TreeReader<'_>,
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
                let subtree = trees.tree(entry.id())?;
                let old_subtree = match before {
                    Some((id, _, Some(ObjectType::Tree))) => Some(trees.tree(id)?),
                    _ => None,
                };
                prefix.push(b'/');
                compare_to_scan(
                    trees,
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
