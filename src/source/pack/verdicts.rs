//! [`PackVerdicts`]: the verdict on every blob and tree the packs hold, from one traversal.

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Result;
use git2::Oid;

use super::entry::ObjectKind;
use super::idx::ID_LEN;
use super::traverse::{Forest, Object, Packs, Parent, TraversalStats, Visitor};
use crate::detect::{may_contain_secret, name_may_hold_token};
use crate::source::verdicts::{Verdict, Verdicts};

/// What is known about one object, by global index.
const UNKNOWN: u8 = 0;
const BLOB_CLEAN: u8 = 1;
const BLOB_CANDIDATE: u8 = 2;
const TREE_CLEAN: u8 = 3;
const TREE_CANDIDATE: u8 = 4;
/// A tree whose own entries are clean; its children decide.
const TREE_PENDING: u8 = 5;
/// A pending tree being resolved (met again only through a cycle, which a valid repository
/// cannot have).
const TREE_RESOLVING: u8 = 6;
const OTHER: u8 = 7;

/// A child reference: the global index, with this bit set when the entry is a tree.
const TREE_BIT: u32 = 1 << 31;

/// The empty blob's id, which git knows without storing it.
const EMPTY_BLOB: [u8; ID_LEN] = [
    0xe6, 0x9d, 0xe2, 0x9b, 0xb2, 0xd1, 0xd6, 0x43, 0x4b, 0x8b, 0x29, 0xae, 0x77, 0x5a, 0xd8, 0xc2,
    0xe4, 0x8c, 0x53, 0x91,
];

/// Entry names that make a blob a possible cargo credentials or config file.
const CREDENTIALS_NAMES: [&[u8]; 4] = [
    b"credentials",
    b"credentials.toml",
    b"config",
    b"config.toml",
];

/// Verdicts on every blob and tree of a repository's packs (`objects/pack/*.pack`), computed by
/// one parallel traversal of all their objects. Loose objects, alternates and objects whose
/// delta base is missing are [`Verdict::Unknown`].
pub struct PackVerdicts {
    packs: Packs,
    states: Vec<u8>,
    stats: PackStats,
}

/// What computing the verdicts did, for benchmarks.
#[derive(Debug, Default, Clone, Copy)]
pub struct PackStats {
    pub traversal: TraversalStats,
    pub clean_blobs: u64,
    pub candidate_blobs: u64,
    pub clean_trees: u64,
    pub candidate_trees: u64,
    /// Wall time of the whole computation.
    pub seconds: f64,
}

impl PackVerdicts {
    /// Reads every pack of the repository at `git_dir` (its `.git` directory, or a bare
    /// repository) once and decides every blob and tree in them.
    pub fn compute(git_dir: &Path) -> Result<PackVerdicts> {
        let started = Instant::now();
        let packs = Packs::open(git_dir)?;
        let forest = Forest::build(&packs)?;
        let pass = VerdictPass {
            packs: &packs,
            states: (0..packs.len()).map(|_| AtomicU8::new(UNKNOWN)).collect(),
            trees: Mutex::new(TreeChildren::default()),
        };
        let traversal = forest.traverse(&pass, super::thread_count())?;
        drop(forest);
        let mut states: Vec<u8> = pass.states.into_iter().map(AtomicU8::into_inner).collect();
        let trees = pass
            .trees
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        trees.resolve(&mut states);
        let count = |state: u8| states.iter().filter(|&&known| known == state).count() as u64;
        let stats = PackStats {
            traversal,
            clean_blobs: count(BLOB_CLEAN),
            candidate_blobs: count(BLOB_CANDIDATE),
            clean_trees: count(TREE_CLEAN),
            candidate_trees: count(TREE_CANDIDATE),
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok(PackVerdicts {
            packs,
            states,
            stats,
        })
    }

    /// What the computation did.
    pub fn stats(&self) -> &PackStats {
        &self.stats
    }

    fn state(&self, id: Oid) -> u8 {
        self.packs
            .find(id.as_bytes())
            .map_or(UNKNOWN, |index| self.states[index as usize])
    }
}

impl Verdicts for PackVerdicts {
    fn blob(&self, id: Oid) -> Verdict {
        if id.as_bytes() == EMPTY_BLOB {
            return Verdict::Clean;
        }
        match self.state(id) {
            BLOB_CLEAN => Verdict::Clean,
            BLOB_CANDIDATE => Verdict::Candidate,
            _ => Verdict::Unknown,
        }
    }

    fn tree(&self, id: Oid) -> Verdict {
        match self.state(id) {
            TREE_CLEAN => Verdict::Clean,
            TREE_CANDIDATE => Verdict::Candidate,
            _ => Verdict::Unknown,
        }
    }
}

/// The visitor that decides blobs and records trees' children.
struct VerdictPass<'p> {
    packs: &'p Packs,
    states: Vec<AtomicU8>,
    trees: Mutex<TreeChildren>,
}

impl Visitor for VerdictPass<'_> {
    type State = ();

    fn visit(&self, object: Object<'_>, _parent: Option<Parent<'_, ()>>) -> Result<()> {
        let state = match object.kind {
            ObjectKind::Blob => {
                if may_contain_secret(b"", object.content) {
                    BLOB_CANDIDATE
                } else {
                    BLOB_CLEAN
                }
            }
            ObjectKind::Tree => self.visit_tree(object),
            ObjectKind::Commit | ObjectKind::Tag => OTHER,
        };
        self.states[object.index as usize].store(state, Ordering::Relaxed);
        Ok(())
    }
}

impl VerdictPass<'_> {
    /// A tree is a candidate on its own entries (a name that may hold a token, a possible
    /// credentials file, a child the packs do not hold, a malformed entry); otherwise its
    /// children are recorded and decide later.
    fn visit_tree(&self, tree: Object<'_>) -> u8 {
        let mut children = Vec::new();
        for entry in TreeEntries(tree.content) {
            let Some(entry) = entry else {
                return TREE_CANDIDATE;
            };
            if name_may_hold_token(entry.name) {
                return TREE_CANDIDATE;
            }
            let reference = match entry.mode {
                b"160000" => continue,
                b"40000" => TREE_BIT,
                _ if CREDENTIALS_NAMES.contains(&entry.name) => return TREE_CANDIDATE,
                _ if entry.id == EMPTY_BLOB => continue,
                _ => 0,
            };
            match self.packs.find(entry.id) {
                Some(index) if index & TREE_BIT == 0 => children.push(index | reference),
                _ => return TREE_CANDIDATE,
            }
        }
        self.trees
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .add(tree.index, &children);
        TREE_PENDING
    }
}

/// One entry of a tree object.
struct TreeEntry<'a> {
    mode: &'a [u8],
    name: &'a [u8],
    id: &'a [u8],
}

/// The entries of a tree object's content; `None` for a malformed entry (then stops).
struct TreeEntries<'a>(&'a [u8]);

impl<'a> Iterator for TreeEntries<'a> {
    type Item = Option<TreeEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let rest = self.0;
        let parsed = (|| {
            let space = memchr::memchr(b' ', rest)?;
            let nul = space + 1 + memchr::memchr(0, &rest[space + 1..])?;
            let id = rest.get(nul + 1..nul + 1 + ID_LEN)?;
            Some((
                TreeEntry {
                    mode: &rest[..space],
                    name: &rest[space + 1..nul],
                    id,
                },
                nul + 1 + ID_LEN,
            ))
        })();
        match parsed {
            Some((entry, len)) => {
                self.0 = &rest[len..];
                Some(Some(entry))
            }
            None => {
                self.0 = &[];
                Some(None)
            }
        }
    }
}

/// The children of every pending tree, compactly: global indices in one arena.
#[derive(Default)]
struct TreeChildren {
    /// (tree, start in `arena`, count).
    trees: Vec<(u32, u32, u32)>,
    arena: Vec<u32>,
}

impl TreeChildren {
    fn add(&mut self, tree: u32, children: &[u32]) {
        self.trees
            .push((tree, self.arena.len() as u32, children.len() as u32));
        self.arena.extend_from_slice(children);
    }

    /// Decides every pending tree: clean iff every child blob is clean and every child tree is
    /// clean, depth first with an explicit stack (no recursion limit).
    fn resolve(self, states: &mut [u8]) {
        let mut slot = vec![u32::MAX; states.len()];
        for (position, &(tree, _, _)) in self.trees.iter().enumerate() {
            slot[tree as usize] = position as u32;
        }
        let children_of = |tree: u32| {
            let (_, start, count) = self.trees[slot[tree as usize] as usize];
            &self.arena[start as usize..(start + count) as usize]
        };
        let mut stack: Vec<(u32, usize)> = Vec::new();
        for &(root, _, _) in &self.trees {
            if states[root as usize] != TREE_PENDING {
                continue;
            }
            states[root as usize] = TREE_RESOLVING;
            stack.push((root, 0));
            while let Some((tree, next)) = stack.last_mut() {
                let tree = *tree;
                let Some(&child) = children_of(tree).get(*next) else {
                    states[tree as usize] = TREE_CLEAN;
                    stack.pop();
                    continue;
                };
                *next += 1;
                let index = (child & !TREE_BIT) as usize;
                let clean = match (child & TREE_BIT != 0, states[index]) {
                    (false, BLOB_CLEAN) | (true, TREE_CLEAN) => true,
                    (true, TREE_PENDING) => {
                        states[index] = TREE_RESOLVING;
                        stack.push((index as u32, 0));
                        true
                    }
                    _ => false,
                };
                if !clean {
                    // Every tree on the stack contains the next one, so all of them hold it.
                    for (tree, _) in stack.drain(..) {
                        states[tree as usize] = TREE_CANDIDATE;
                    }
                }
            }
        }
    }
}
