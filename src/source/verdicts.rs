//! What a pass over every object of a repository learned before the commit walk: which blobs
//! may hold a secret, and which trees hold nothing below them that any rule could report.
//!
//! A history scan reads each object once in that pass; the commit walk then skips every clean
//! subtree and blob without reading it again. Anything the pass did not see is
//! [`Verdict::Unknown`] and is read and tested as before, so a verdict source only ever saves
//! work: it never decides alone that something is clean unless it tested it.

use git2::Oid;

/// What is known about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Tested: nothing in it (for a tree: nothing below it) can be reported.
    Clean,
    /// Tested: it may hold something a rule reports; read and diff it.
    Candidate,
    /// Not tested here: read it and decide as if no verdicts existed.
    Unknown,
}

/// Verdicts on the objects of one repository, shared by the threads of a commit scan.
///
/// A blob is [`Verdict::Clean`] only when
/// [`may_contain_secret`](crate::detect::may_contain_secret) is false for its content at any
/// path other than a cargo credentials path. A tree is clean only when, recursively below it,
/// every blob is clean, no entry name may hold a token
/// ([`find_in_path`](crate::detect::find_in_path) on the name can match), and no entry could be
/// a credentials path (named `credentials`, `credentials.toml`, `config` or `config.toml`).
pub trait Verdicts: Sync {
    /// What is known about blob `id`.
    fn blob(&self, id: Oid) -> Verdict;
    /// What is known about tree `id`.
    fn tree(&self, id: Oid) -> Verdict;
    /// What is known about commit `id`: clean when its message (as libgit2 reads it) cannot
    /// hold a secret ([`may_contain_secret`](crate::detect::may_contain_secret) at
    /// [`COMMIT_MESSAGE`](crate::source::COMMIT_MESSAGE)) and its tree is clean, so that nothing
    /// it adds can be reported, whatever its parents.
    fn commit(&self, _id: Oid) -> Verdict {
        Verdict::Unknown
    }
    /// What the commit walk needs of commit `id` before reading it, when known.
    fn commit_outline(&self, _id: Oid) -> Option<CommitOutline> {
        None
    }
}

/// A commit as the walk first needs it: enough to compare its tree with its parents' and to
/// know whether its message must be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutline {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Whether [`may_contain_secret`](crate::detect::may_contain_secret) is true for its
    /// message as libgit2 reads it.
    pub message_may_hold_secret: bool,
}

/// No verdicts: every object is read and tested (scans of a few commits, hooks).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoVerdicts;

impl Verdicts for NoVerdicts {
    fn blob(&self, _id: Oid) -> Verdict {
        Verdict::Unknown
    }

    fn tree(&self, _id: Oid) -> Verdict {
        Verdict::Unknown
    }
}
