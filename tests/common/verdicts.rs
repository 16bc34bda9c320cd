//! The reference [`Verdicts`]: every object of a repository read with libgit2 (loose and packed,
//! reachable or not) and the definitions of `cio_hook::source::verdicts` applied literally. It is
//! the oracle that a faster verdict pass (over the packs) and the commit walk that uses verdicts
//! are both compared with.

use std::collections::HashMap;
use std::path::Path;

use cio_hook::detect::{find_in_path, may_contain_secret};
use cio_hook::source::verdicts::{Verdict, Verdicts};
use cio_hook::source::COMMIT_MESSAGE;
use git2::{ObjectType, Odb, Oid, Repository};

/// Entry names that may make a cargo credentials path, whatever directory holds them.
const CREDENTIALS_NAMES: [&[u8]; 4] = [
    b"credentials",
    b"credentials.toml",
    b"config",
    b"config.toml",
];

/// Paths other than a credentials path, one read as code and one not: a clean blob is clean at
/// both.
const ORDINARY_PATHS: [&[u8]; 2] = [b"notes.txt", b"src/lib.rs"];

/// Verdicts on every object the repository's object database holds.
#[derive(Debug, Default)]
pub struct ReferenceVerdicts {
    blobs: HashMap<Oid, Verdict>,
    trees: HashMap<Oid, Verdict>,
    commits: HashMap<Oid, Verdict>,
}

impl ReferenceVerdicts {
    /// Reads every object of the repository at `git_dir`.
    pub fn of_repository(git_dir: &Path) -> ReferenceVerdicts {
        let repo = Repository::open(git_dir).unwrap();
        let odb = repo.odb().unwrap();
        let mut ids = Vec::new();
        odb.foreach(|id| {
            ids.push(*id);
            true
        })
        .unwrap();
        let mut verdicts = ReferenceVerdicts::default();
        let mut trees = Vec::new();
        let mut commits = Vec::new();
        for &id in &ids {
            let (_, kind) = odb.read_header(id).unwrap();
            match kind {
                ObjectType::Blob => {
                    let object = odb.read(id).unwrap();
                    let content = object.data();
                    let may_hold = ORDINARY_PATHS
                        .iter()
                        .any(|path| may_contain_secret(path, content));
                    let verdict = if may_hold {
                        Verdict::Candidate
                    } else {
                        Verdict::Clean
                    };
                    verdicts.blobs.insert(id, verdict);
                }
                ObjectType::Tree => trees.push(id),
                ObjectType::Commit => commits.push(id),
                _ => {}
            }
        }
        for id in trees {
            verdicts.tree_verdict(&repo, &odb, id);
        }
        for id in commits {
            let commit = repo.find_commit(id).unwrap();
            let verdict = if may_contain_secret(COMMIT_MESSAGE, commit.message_bytes()) {
                Verdict::Candidate
            } else {
                verdicts.tree_verdict(&repo, &odb, commit.tree_id())
            };
            verdicts.commits.insert(id, verdict);
        }
        verdicts
    }

    /// The verdict on tree `id`, computed from its entries (each subtree first) and remembered.
    /// A tree below which an object is missing is [`Verdict::Unknown`].
    fn tree_verdict(&mut self, repo: &Repository, odb: &Odb<'_>, id: Oid) -> Verdict {
        if let Some(&verdict) = self.trees.get(&id) {
            return verdict;
        }
        let Ok(tree) = repo.find_tree(id) else {
            return Verdict::Unknown;
        };
        let mut verdict = Verdict::Clean;
        for entry in tree.iter() {
            let name = entry.name_bytes();
            let below = match entry.kind() {
                Some(ObjectType::Blob) => {
                    let known = self.blobs.get(&entry.id()).copied();
                    known.unwrap_or(if odb.exists(entry.id()) {
                        Verdict::Candidate
                    } else {
                        Verdict::Unknown
                    })
                }
                Some(ObjectType::Tree) => self.tree_verdict(repo, odb, entry.id()),
                // A gitlink names a commit of another repository: nothing here to read.
                _ => Verdict::Clean,
            };
            let name_reportable =
                !find_in_path(name).is_empty() || CREDENTIALS_NAMES.contains(&name);
            verdict = match (verdict, below, name_reportable) {
                (Verdict::Unknown, _, _) | (_, Verdict::Unknown, _) => Verdict::Unknown,
                (Verdict::Clean, Verdict::Clean, false) => Verdict::Clean,
                _ => Verdict::Candidate,
            };
        }
        self.trees.insert(id, verdict);
        verdict
    }

    /// How many objects have each verdict: (clean, candidate) for blobs, then for trees.
    pub fn counts(&self) -> [(usize, usize); 2] {
        [&self.blobs, &self.trees].map(|verdicts| {
            let count = |wanted| verdicts.values().filter(|&&v| v == wanted).count();
            (count(Verdict::Clean), count(Verdict::Candidate))
        })
    }
}

impl Verdicts for ReferenceVerdicts {
    fn blob(&self, id: Oid) -> Verdict {
        self.blobs.get(&id).copied().unwrap_or(Verdict::Unknown)
    }

    fn tree(&self, id: Oid) -> Verdict {
        self.trees.get(&id).copied().unwrap_or(Verdict::Unknown)
    }

    fn commit(&self, id: Oid) -> Verdict {
        self.commits.get(&id).copied().unwrap_or(Verdict::Unknown)
    }
}

/// Verdicts that know only part of what `inner` knows: objects whose id's first byte is odd
/// (about half of them, different ones for each repository) are [`Verdict::Unknown`], as objects
/// that a verdict pass did not see.
pub struct HalfForgotten<'v>(pub &'v dyn Verdicts);

impl HalfForgotten<'_> {
    fn forgets(id: Oid) -> bool {
        id.as_bytes()[0] % 2 == 1
    }
}

impl Verdicts for HalfForgotten<'_> {
    fn blob(&self, id: Oid) -> Verdict {
        if Self::forgets(id) {
            return Verdict::Unknown;
        }
        self.0.blob(id)
    }

    fn tree(&self, id: Oid) -> Verdict {
        if Self::forgets(id) {
            return Verdict::Unknown;
        }
        self.0.tree(id)
    }

    fn commit(&self, id: Oid) -> Verdict {
        if Self::forgets(id) {
            return Verdict::Unknown;
        }
        self.0.commit(id)
    }
}
