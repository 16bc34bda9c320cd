//! [`PackVerdicts`]: the verdict on every blob and tree the packs hold, from one traversal.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Result};
use git2::Oid;

use super::delta::{Delta, Instruction};
use super::entry::ObjectKind;
use super::idx::{ObjectFormat, MAX_ID_LEN};
use super::traverse::{Forest, Object, Packs, Parent, TraversalStats, Visitor};
use crate::detect::decode::utf16_bom;
use crate::detect::{
    may_contain_secret, name_may_hold_token, prefilter_matches, PREFILTER_LONGEST_LITERAL,
};
use crate::source::verdicts::{CommitOutline, Verdict, Verdicts};
use crate::source::COMMIT_MESSAGE;
use crate::timings::timed;

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
/// A commit whose message cannot hold a secret; its tree decides.
const COMMIT_QUIET: u8 = 8;
/// A commit whose message may hold a secret.
const COMMIT_CANDIDATE: u8 = 9;

/// No object: a commit whose tree the packs do not hold, or that could not be parsed.
const NO_TREE: u32 = u32::MAX;
/// No object: a parent the packs do not hold.
const NO_PARENT: u32 = u32::MAX;

/// A child reference: the global index, with this bit set when the entry is a tree.
const TREE_BIT: u32 = 1 << 31;

/// Entry names that make a blob a possible cargo credentials or config file.
const CREDENTIALS_NAMES: [&[u8]; 4] = [
    b"credentials",
    b"credentials.toml",
    b"config",
    b"config.toml",
];

/// How blobs are tested for the literals every rule needs
/// ([`prefilter_matches`](crate::detect::prefilter_matches)) before the detector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMode {
    /// Every blob is searched from end to end.
    Full,
    /// A blob rebuilt from a delta is searched only around what the delta inserts and where
    /// two copied ranges meet; the occurrences inside copied ranges are its parent's, moved.
    /// Blobs starting with a UTF-16 byte order mark, and their children, are searched in full.
    Windows,
    /// [`ScanMode::Windows`], with every blob also searched in full and the two results
    /// compared: a difference is an error (for tests).
    Checked,
}

/// Verdicts on every blob and tree of a repository's packs (`objects/pack/*.pack`), computed by
/// one parallel traversal of all their objects. Loose objects, alternates and objects whose
/// delta base is missing are [`Verdict::Unknown`].
///
/// The [`Verdicts`] trait names objects by libgit2's 20-byte [`Oid`], so it answers for SHA-1
/// repositories; [`PackVerdicts::blob_verdict`] answers by raw id in either object format.
pub struct PackVerdicts {
    packs: Packs,
    states: Vec<u8>,
    /// The global index of each commit's tree ([`NO_TREE`] for other objects).
    commit_trees: Vec<u32>,
    /// Every packed commit's parents, in order: `(commit, parent)` sorted by commit.
    parents: Vec<(u32, u32)>,
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
    /// Bytes of blobs searched for the literals every rule needs.
    pub bytes_searched: u64,
    /// Wall time of the whole computation.
    pub seconds: f64,
}

impl PackVerdicts {
    /// Reads every pack of the SHA-1 repository at `git_dir` (its `.git` directory, or a bare
    /// repository) once and decides every blob and tree in them, searching delta children only
    /// around their edits ([`ScanMode::Windows`], proven equal to a full search by tests on
    /// generated and real repositories).
    pub fn compute(git_dir: &Path) -> Result<PackVerdicts> {
        PackVerdicts::compute_with(git_dir, ScanMode::Windows)
    }

    /// [`PackVerdicts::compute`], searching blobs as `mode` says (the verdicts are the same).
    pub fn compute_with(git_dir: &Path, mode: ScanMode) -> Result<PackVerdicts> {
        PackVerdicts::compute_format(git_dir, ObjectFormat::Sha1, mode)
    }

    /// [`PackVerdicts::compute_with`] for a repository whose objects are named in `format`.
    pub fn compute_format(
        git_dir: &Path,
        format: ObjectFormat,
        mode: ScanMode,
    ) -> Result<PackVerdicts> {
        let pack_dir = git_dir.join("objects").join("pack");
        let verdicts = PackVerdicts::compute_format_in_if(&pack_dir, format, mode, |_, _| true)?;
        Ok(verdicts.expect("a pass that is always worth it is made"))
    }

    /// [`PackVerdicts::compute_with`], made only when `worth_it(commits, objects)` is true for
    /// the number of commits and of objects the packs hold (both known before any is read).
    pub fn compute_if(
        git_dir: &Path,
        mode: ScanMode,
        worth_it: impl FnOnce(usize, usize) -> bool,
    ) -> Result<Option<PackVerdicts>> {
        PackVerdicts::compute_in_if(&git_dir.join("objects").join("pack"), mode, worth_it)
    }

    /// [`PackVerdicts::compute_if`] over the packs in `pack_dir` alone (for a server, the
    /// quarantine's: what a push brings). Objects outside them are [`Verdict::Unknown`], so a
    /// tree naming one is never clean.
    pub fn compute_in_if(
        pack_dir: &Path,
        mode: ScanMode,
        worth_it: impl FnOnce(usize, usize) -> bool,
    ) -> Result<Option<PackVerdicts>> {
        PackVerdicts::compute_format_in_if(pack_dir, ObjectFormat::Sha1, mode, worth_it)
    }

    /// [`PackVerdicts::compute_in_if`] for a repository whose objects are named in `format`.
    pub fn compute_format_in_if(
        pack_dir: &Path,
        format: ObjectFormat,
        mode: ScanMode,
        worth_it: impl FnOnce(usize, usize) -> bool,
    ) -> Result<Option<PackVerdicts>> {
        let started = Instant::now();
        let packs = Packs::open_dir(pack_dir, format)?;
        let forest = timed("pack pass: delta forest", || Forest::build(&packs))?;
        if !worth_it(forest.count(ObjectKind::Commit), packs.len()) {
            return Ok(None);
        }
        let pass = VerdictPass {
            packs: &packs,
            id_len: format.id_len(),
            empty_blob: format.empty_blob(),
            mode,
            states: (0..packs.len()).map(|_| AtomicU8::new(UNKNOWN)).collect(),
            commit_trees: (0..packs.len()).map(|_| AtomicU32::new(NO_TREE)).collect(),
            parents: Mutex::new(Vec::new()),
            trees: Mutex::new(TreeChildren::default()),
            bytes_searched: AtomicU64::new(0),
        };
        let traversal = timed("pack pass: traversal", || {
            forest.traverse(&pass, super::thread_count())
        })?;
        drop(forest);
        let mut states: Vec<u8> = pass.states.into_iter().map(AtomicU8::into_inner).collect();
        let commit_trees = pass
            .commit_trees
            .into_iter()
            .map(AtomicU32::into_inner)
            .collect();
        let trees = pass
            .trees
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        timed("pack pass: tree verdicts", || trees.resolve(&mut states));
        let mut parents = pass
            .parents
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Stable: each commit's parents were recorded together, in order.
        parents.sort_by_key(|&(commit, _)| commit);
        let count = |state: u8| states.iter().filter(|&&known| known == state).count() as u64;
        let stats = PackStats {
            traversal,
            clean_blobs: count(BLOB_CLEAN),
            candidate_blobs: count(BLOB_CANDIDATE),
            clean_trees: count(TREE_CLEAN),
            candidate_trees: count(TREE_CANDIDATE),
            bytes_searched: pass.bytes_searched.into_inner(),
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok(Some(PackVerdicts {
            packs,
            states,
            commit_trees,
            parents,
            stats,
        }))
    }

    /// What the computation did.
    pub fn stats(&self) -> &PackStats {
        &self.stats
    }

    /// Every commit reachable from `tips`, each after its parents (first parents first), from
    /// the commits the packs hold; `None` when one of them is not in the packs or could not be
    /// read there (a loose commit, a shallow clone's missing parent): list them through
    /// libgit2 then.
    pub fn commits_reachable_from(&self, tips: &[Oid]) -> Option<Vec<Oid>> {
        const UNSEEN: u8 = 0;
        const OPEN: u8 = 1;
        const DONE: u8 = 2;
        let mut marks = vec![UNSEEN; self.packs.len()];
        let mut order = Vec::new();
        // Depth first; a commit is listed when its last parent is done.
        let mut stack: Vec<(u32, usize)> = Vec::new();
        for tip in tips {
            let tip = self.packs.find(tip.as_bytes())?;
            if marks[tip as usize] != UNSEEN {
                continue;
            }
            marks[tip as usize] = OPEN;
            stack.push((tip, 0));
            while let Some(&mut (commit, ref mut next)) = stack.last_mut() {
                if !self.read_commit(commit) {
                    return None;
                }
                let parents = self.parents_of(commit);
                let Some(&(_, parent)) = parents.get(*next) else {
                    marks[commit as usize] = DONE;
                    order.push(Oid::from_bytes(self.packs.id(commit)).ok()?);
                    stack.pop();
                    continue;
                };
                *next += 1;
                if parent == NO_PARENT {
                    return None;
                }
                if marks[parent as usize] == UNSEEN {
                    marks[parent as usize] = OPEN;
                    stack.push((parent, 0));
                }
            }
        }
        Some(order)
    }

    /// Whether `id` is a commit the packs hold and the pass read.
    pub fn is_commit(&self, id: Oid) -> bool {
        self.packs
            .find(id.as_bytes())
            .is_some_and(|index| self.read_commit(index))
    }

    /// Whether the object at `index` is a commit the pass read (its tree line and parents).
    fn read_commit(&self, index: u32) -> bool {
        matches!(self.states[index as usize], COMMIT_QUIET | COMMIT_CANDIDATE)
    }

    fn parents_of(&self, commit: u32) -> &[(u32, u32)] {
        let start = self.parents.partition_point(|&(child, _)| child < commit);
        let end = start + self.parents[start..].partition_point(|&(child, _)| child == commit);
        &self.parents[start..end]
    }

    fn state(&self, id: &[u8]) -> u8 {
        self.packs
            .find(id)
            .map_or(UNKNOWN, |index| self.states[index as usize])
    }

    /// What is known about the blob whose raw id is `id`, in the packs' object format.
    pub fn blob_verdict(&self, id: &[u8]) -> Verdict {
        if id == self.packs.format().empty_blob() {
            return Verdict::Clean;
        }
        match self.state(id) {
            BLOB_CLEAN => Verdict::Clean,
            BLOB_CANDIDATE => Verdict::Candidate,
            _ => Verdict::Unknown,
        }
    }

    /// What is known about the tree whose raw id is `id`, in the packs' object format.
    pub fn tree_verdict(&self, id: &[u8]) -> Verdict {
        self.packs
            .find(id)
            .map_or(Verdict::Unknown, |index| self.tree_state(index))
    }

    /// What is known about the blob whose id is `hex` (as git prints it), in the packs' object
    /// format; [`Verdict::Unknown`] for anything that is not such an id.
    pub fn blob_verdict_hex(&self, hex: &str) -> Verdict {
        self.verdict_hex(hex, PackVerdicts::blob_verdict)
    }

    /// What is known about the commit whose raw id is `id`: a candidate when its message may
    /// hold a secret, otherwise what is known about its tree ([`Verdict::Clean`]: nothing it
    /// adds over any parent can be reported).
    pub fn commit_verdict(&self, id: &[u8]) -> Verdict {
        let Some(index) = self.packs.find(id) else {
            return Verdict::Unknown;
        };
        match (
            self.states[index as usize],
            self.commit_trees[index as usize],
        ) {
            (COMMIT_CANDIDATE, _) => Verdict::Candidate,
            (COMMIT_QUIET, tree) if tree != NO_TREE => self.tree_state(tree),
            _ => Verdict::Unknown,
        }
    }

    /// [`PackVerdicts::commit_verdict`] of the commit whose id is `hex`, as git prints it.
    pub fn commit_verdict_hex(&self, hex: &str) -> Verdict {
        self.verdict_hex(hex, PackVerdicts::commit_verdict)
    }

    /// `verdict` of the object whose id is `hex`; [`Verdict::Unknown`] for anything that is not
    /// an id of the packs' object format.
    fn verdict_hex(&self, hex: &str, verdict: fn(&PackVerdicts, &[u8]) -> Verdict) -> Verdict {
        let id_len = self.packs.format().id_len();
        if hex.len() != 2 * id_len {
            return Verdict::Unknown;
        }
        match decode_hex_id(hex.as_bytes(), id_len) {
            Some(id) => verdict(self, &id[..id_len]),
            None => Verdict::Unknown,
        }
    }

    fn tree_state(&self, index: u32) -> Verdict {
        match self.states[index as usize] {
            TREE_CLEAN => Verdict::Clean,
            TREE_CANDIDATE => Verdict::Candidate,
            _ => Verdict::Unknown,
        }
    }
}

impl Verdicts for PackVerdicts {
    fn blob(&self, id: Oid) -> Verdict {
        self.blob_verdict(id.as_bytes())
    }

    fn tree(&self, id: Oid) -> Verdict {
        self.tree_verdict(id.as_bytes())
    }

    fn commit_outline(&self, id: Oid) -> Option<CommitOutline> {
        let index = self.packs.find(id.as_bytes())?;
        let message_may_hold_secret = match self.states[index as usize] {
            COMMIT_QUIET => false,
            COMMIT_CANDIDATE => true,
            _ => return None,
        };
        let tree = self.commit_trees[index as usize];
        if tree == NO_TREE {
            return None;
        }
        let parents = self
            .parents_of(index)
            .iter()
            .map(|&(_, parent)| {
                (parent != NO_PARENT)
                    .then(|| Oid::from_bytes(self.packs.id(parent)).ok())
                    .flatten()
            })
            .collect::<Option<Vec<Oid>>>()?;
        Some(CommitOutline {
            tree: Oid::from_bytes(self.packs.id(tree)).ok()?,
            parents,
            message_may_hold_secret,
        })
    }

    fn commit(&self, id: Oid) -> Verdict {
        self.commit_verdict(id.as_bytes())
    }
}

/// The visitor that decides blobs and records trees' children.
struct VerdictPass<'p> {
    packs: &'p Packs,
    /// How many bytes an object id has in the packs' format.
    id_len: usize,
    /// The empty blob's id in the packs' format.
    empty_blob: &'static [u8],
    mode: ScanMode,
    states: Vec<AtomicU8>,
    commit_trees: Vec<AtomicU32>,
    /// `(commit, parent)` for every parent line of every commit read ([`NO_PARENT`] for a
    /// parent the packs do not hold).
    parents: Mutex<Vec<(u32, u32)>>,
    trees: Mutex<TreeChildren>,
    bytes_searched: AtomicU64,
}

/// What visiting an object taught that its delta children can reuse.
enum Learned {
    Nothing,
    /// Where the literals every rule needs occur in a blob (without a UTF-16 byte order mark),
    /// sorted.
    Occurrences(Vec<Range<usize>>),
    /// A tree's entries that name a stored object: the entry's bytes in the tree, and the
    /// child reference it resolved to.
    Entries(Vec<(Range<usize>, u32)>),
}

impl Visitor for VerdictPass<'_> {
    type State = Learned;

    fn visit(&self, object: Object<'_>, parent: Option<Parent<'_, Learned>>) -> Result<Learned> {
        let (state, learned) = match object.kind {
            ObjectKind::Blob => {
                let (candidate, learned) = self.test_blob(object.content, parent)?;
                let state = if candidate {
                    BLOB_CANDIDATE
                } else {
                    BLOB_CLEAN
                };
                (state, learned)
            }
            ObjectKind::Tree => self.visit_tree(object, parent),
            ObjectKind::Commit => (self.visit_commit(object), Learned::Nothing),
            ObjectKind::Tag => (OTHER, Learned::Nothing),
        };
        self.states[object.index as usize].store(state, Ordering::Relaxed);
        Ok(learned)
    }

    fn wants_parent(&self) -> bool {
        true
    }
}

impl VerdictPass<'_> {
    /// Whether a blob may hold a secret (exactly `may_contain_secret(b"", content)`), and the
    /// occurrences its delta children can reuse.
    fn test_blob(
        &self,
        content: &[u8],
        parent: Option<Parent<'_, Learned>>,
    ) -> Result<(bool, Learned)> {
        if self.mode == ScanMode::Full || utf16_bom(content).is_some() {
            self.searched(content.len());
            return Ok((may_contain_secret(b"", content), Learned::Nothing));
        }
        let occurrences = match parent {
            Some(Parent {
                state: Learned::Occurrences(in_parent),
                delta,
                ..
            }) => {
                let (occurrences, searched) = occurrences_through_delta(content, in_parent, delta)?;
                self.searched(searched);
                occurrences
            }
            _ => {
                self.searched(content.len());
                prefilter_matches(content).collect()
            }
        };
        if self.mode == ScanMode::Checked {
            let full: Vec<Range<usize>> = prefilter_matches(content).collect();
            if full != occurrences {
                bail!(
                    "searching around a delta's edits found {occurrences:?}, a full search {full:?}"
                );
            }
        }
        // Without a byte order mark the detector reads the bytes as they are, and finds
        // nothing where no literal occurs.
        let candidate = (!occurrences.is_empty() && may_contain_secret(b"", content))
            || crate::archive::is_archive(content);
        Ok((candidate, Learned::Occurrences(occurrences)))
    }

    /// A commit's tree and parents are recorded and its message tested; a commit whose tree
    /// or parent lines cannot be read stays unknown.
    fn visit_commit(&self, commit: Object<'_>) -> u8 {
        let id_len = self.id_len;
        let hex_len = id_len * 2;
        let id_line = |rest: &[u8], name: &[u8]| -> Option<[u8; MAX_ID_LEN]> {
            let line = rest.strip_prefix(name)?.get(..hex_len + 1)?;
            if line[hex_len] != b'\n' {
                return None;
            }
            decode_hex_id(&line[..hex_len], id_len)
        };
        let line_len = hex_len + 1;
        let Some(tree) = id_line(commit.content, b"tree ") else {
            return UNKNOWN;
        };
        let mut rest = &commit.content[b"tree ".len() + line_len..];
        let mut parents = Vec::new();
        while rest.starts_with(b"parent ") {
            let Some(parent) = id_line(rest, b"parent ") else {
                return UNKNOWN;
            };
            parents.push((
                commit.index,
                self.packs.find(&parent[..id_len]).unwrap_or(NO_PARENT),
            ));
            rest = &rest[b"parent ".len() + line_len..];
        }
        if let Some(tree) = self.packs.find(&tree[..id_len]) {
            self.commit_trees[commit.index as usize].store(tree, Ordering::Relaxed);
        }
        if !parents.is_empty() {
            self.parents
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend_from_slice(&parents);
        }
        if may_contain_secret(COMMIT_MESSAGE, commit_message(commit.content)) {
            COMMIT_CANDIDATE
        } else {
            COMMIT_QUIET
        }
    }

    fn searched(&self, bytes: usize) {
        self.bytes_searched
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A tree is a candidate on its own entries (a name that may hold a token, a possible
    /// credentials file, a child the packs do not hold, a malformed entry); otherwise its
    /// children are recorded and decide later. An entry identical to one of the parent tree's
    /// (same mode, name and id) reuses the parent's lookup of its id.
    fn visit_tree(&self, tree: Object<'_>, parent: Option<Parent<'_, Learned>>) -> (u8, Learned) {
        let inherited = match &parent {
            Some(Parent {
                content,
                state: Learned::Entries(entries),
                ..
            }) => Some((*content, entries.as_slice())),
            _ => None,
        };
        let mut next_inherited = 0;
        let mut entries = Vec::new();
        // A candidate tree still looks up every entry, for its delta children to reuse.
        let mut candidate = false;
        for entry in TreeEntries::new(tree.content, self.id_len) {
            let Some((bytes, entry)) = entry else {
                return (TREE_CANDIDATE, Learned::Nothing);
            };
            candidate |= name_may_hold_token(entry.name);
            let kind = match entry.mode {
                b"160000" => continue,
                b"40000" => TREE_BIT,
                _ => {
                    candidate |= CREDENTIALS_NAMES.contains(&entry.name);
                    if entry.id == self.empty_blob {
                        continue;
                    }
                    0
                }
            };
            let entry_bytes = &tree.content[bytes.clone()];
            let mut reference = None;
            if let Some((parent_content, parent_entries)) = inherited {
                // Both trees are sorted by name: skip the parent's entries before this one.
                while let Some((range, child)) = parent_entries.get(next_inherited) {
                    let parent_bytes = &parent_content[range.clone()];
                    if parent_bytes == entry_bytes {
                        reference = Some(*child);
                        next_inherited += 1;
                        break;
                    }
                    if entry_name(parent_bytes) >= entry.name {
                        break;
                    }
                    next_inherited += 1;
                }
            }
            let reference = match reference {
                Some(reference) => reference,
                None => match self.packs.find(entry.id) {
                    Some(index) if index & TREE_BIT == 0 => index | kind,
                    // Not in the packs: unknown, so this tree is a candidate.
                    _ => {
                        candidate = true;
                        continue;
                    }
                },
            };
            entries.push((bytes, reference));
        }
        if candidate {
            return (TREE_CANDIDATE, Learned::Entries(entries));
        }
        let children: Vec<u32> = entries.iter().map(|&(_, reference)| reference).collect();
        self.trees
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .add(tree.index, &children);
        (TREE_PENDING, Learned::Entries(entries))
    }
}

/// A commit's message as libgit2 reads it (`git_commit_message`): what follows the first empty
/// line, up to a NUL byte, without leading newlines; empty when no line is empty.
fn commit_message(content: &[u8]) -> &[u8] {
    let Some(blank) = memchr::memmem::find(content, b"\n\n") else {
        return b"";
    };
    let message = &content[blank + 2..];
    let message = memchr::memchr(0, message).map_or(message, |nul| &message[..nul]);
    let start = message
        .iter()
        .position(|&byte| byte != b'\n')
        .unwrap_or(message.len());
    &message[start..]
}

/// An object id of `id_len` bytes in lowercase hexadecimal (`hex` holds `2 * id_len` digits),
/// decoded into the first `id_len` bytes.
fn decode_hex_id(hex: &[u8], id_len: usize) -> Option<[u8; MAX_ID_LEN]> {
    let digit = |byte: u8| match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    };
    let mut id = [0u8; MAX_ID_LEN];
    for (byte, pair) in id[..id_len].iter_mut().zip(hex.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(id)
}

/// The name in a tree entry's bytes (`mode name\0id`).
fn entry_name(entry: &[u8]) -> &[u8] {
    let start = memchr::memchr(b' ', entry).map_or(0, |space| space + 1);
    let end = memchr::memchr(0, &entry[start..]).map_or(entry.len(), |nul| start + nul);
    &entry[start..end]
}

/// The occurrences of the literals every rule needs in `content`, rebuilt by `delta` from a
/// parent with occurrences `in_parent`, and how many bytes were searched to find them.
///
/// An occurrence is at most [`PREFILTER_LONGEST_LITERAL`] bytes long and occurrences never
/// overlap, so each lies inside one copied range (an occurrence of the parent's, moved), or
/// meets an inserted range, or crosses the joint of two copied ranges: windows of the longest
/// literal's length minus one byte on each side of every insert and every such joint hold the
/// latter two.
fn occurrences_through_delta(
    content: &[u8],
    in_parent: &[Range<usize>],
    delta: &Delta<'_>,
) -> Result<(Vec<Range<usize>>, usize)> {
    let reach = PREFILTER_LONGEST_LITERAL - 1;
    let mut occurrences = Vec::new();
    let mut windows: Vec<Range<usize>> = Vec::new();
    let mut at: usize = 0;
    let mut after_copy = false;
    for instruction in delta.instructions() {
        match instruction? {
            Instruction::Copy { offset, len } => {
                if after_copy {
                    windows.push(at.saturating_sub(reach)..(at + reach).min(content.len()));
                }
                let end = offset + len;
                let first = in_parent.partition_point(|found| found.start < offset);
                for found in in_parent[first..]
                    .iter()
                    .take_while(|found| found.start < end)
                {
                    if found.end <= end {
                        occurrences.push(found.start - offset + at..found.end - offset + at);
                    }
                }
                after_copy = true;
                at += len;
            }
            Instruction::Insert(literal) => {
                let end = at + literal.len();
                windows.push(at.saturating_sub(reach)..(end + reach).min(content.len()));
                after_copy = false;
                at = end;
            }
        }
    }
    let mut searched = 0;
    let mut merged: Option<Range<usize>> = None;
    let mut search = |window: Range<usize>, occurrences: &mut Vec<Range<usize>>| {
        searched += window.len();
        let start = window.start;
        occurrences.extend(
            prefilter_matches(&content[window]).map(|found| found.start + start..found.end + start),
        );
    };
    // Windows come in order of their starts; overlapping ones are searched once.
    for window in windows {
        match &mut merged {
            Some(current) if window.start <= current.end => {
                current.end = current.end.max(window.end)
            }
            _ => {
                if let Some(done) = merged.replace(window) {
                    search(done, &mut occurrences);
                }
            }
        }
    }
    if let Some(done) = merged {
        search(done, &mut occurrences);
    }
    occurrences.sort_unstable_by_key(|found| found.start);
    occurrences.dedup();
    Ok((occurrences, searched))
}

/// One entry of a tree object.
struct TreeEntry<'a> {
    mode: &'a [u8],
    name: &'a [u8],
    id: &'a [u8],
}

/// The entries of a tree object's content, each with its bytes' range in the content; `None`
/// for a malformed entry (then stops).
struct TreeEntries<'a> {
    content: &'a [u8],
    id_len: usize,
    at: usize,
}

impl<'a> TreeEntries<'a> {
    /// The entries of `content`, whose ids have `id_len` bytes.
    fn new(content: &'a [u8], id_len: usize) -> Self {
        TreeEntries {
            content,
            id_len,
            at: 0,
        }
    }
}

impl<'a> Iterator for TreeEntries<'a> {
    type Item = Option<(Range<usize>, TreeEntry<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.at;
        let rest = self.content.get(start..).filter(|rest| !rest.is_empty())?;
        let parsed = (|| {
            let space = memchr::memchr(b' ', rest)?;
            let nul = space + 1 + memchr::memchr(0, &rest[space + 1..])?;
            let id = rest.get(nul + 1..nul + 1 + self.id_len)?;
            Some((
                TreeEntry {
                    mode: &rest[..space],
                    name: &rest[space + 1..nul],
                    id,
                },
                nul + 1 + self.id_len,
            ))
        })();
        match parsed {
            Some((entry, len)) => {
                self.at = start + len;
                Some(Some((start..start + len, entry)))
            }
            None => {
                self.at = self.content.len();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A delta as git writes it: sizes, then instructions (copies with every field byte).
    fn encode(base_len: usize, pieces: &[Result<(usize, usize), &[u8]>]) -> (Vec<u8>, usize) {
        let result_len: usize = pieces
            .iter()
            .map(|piece| match piece {
                Ok((_, len)) => *len,
                Err(literal) => literal.len(),
            })
            .sum();
        let mut delta = Vec::new();
        for mut size in [base_len, result_len] {
            loop {
                let byte = (size & 0x7f) as u8;
                size >>= 7;
                delta.push(if size > 0 { byte | 0x80 } else { byte });
                if size == 0 {
                    break;
                }
            }
        }
        for piece in pieces {
            match piece {
                Ok((offset, len)) => {
                    delta.push(0xff);
                    delta.extend_from_slice(&(*offset as u32).to_le_bytes());
                    delta.extend_from_slice(&(*len as u32).to_le_bytes()[..3]);
                }
                Err(literal) => {
                    delta.push(literal.len() as u8);
                    delta.extend_from_slice(literal);
                }
            }
        }
        (delta, result_len)
    }

    fn through(
        base: &[u8],
        pieces: &[Result<(usize, usize), &[u8]>],
    ) -> (Vec<u8>, Vec<Range<usize>>) {
        let (bytes, _) = encode(base.len(), pieces);
        let delta = Delta::parse(&bytes).unwrap();
        let mut result = Vec::new();
        delta.apply(base, &mut result).unwrap();
        let in_base: Vec<Range<usize>> = prefilter_matches(base).collect();
        let (found, _) = occurrences_through_delta(&result, &in_base, &delta).unwrap();
        (result, found)
    }

    #[test]
    fn a_literal_made_by_joining_two_copies_is_found() {
        let base = b"some text ending in ci, then other text, o and more: cio";
        let (result, found) = through(base, &[Ok((0, 22)), Ok((41, 15))]);
        assert_eq!(&result[..], b"some text ending in cio and more: cio");
        assert_eq!(found, vec![20..23, 34..37]);
    }

    #[test]
    fn occurrences_through_random_deltas_equal_a_full_search() {
        // Every literal whole and cut at every point, so that joints fall anywhere in one.
        let mut pieces: Vec<&[u8]> = vec![b"plain text ", b"\n"];
        for literal in ["cio", "CARGO_REGISTR", "Y2lv", "Npb", "jaW"] {
            for cut in 0..literal.len() {
                pieces.push(&literal.as_bytes()[..cut]);
                pieces.push(&literal.as_bytes()[cut..]);
            }
        }
        pieces.retain(|piece| !piece.is_empty());
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for _ in 0..20_000 {
            let base: Vec<u8> = (0..next(30) + 1)
                .flat_map(|_| pieces[next(pieces.len())].iter().copied())
                .collect();
            let inserts: Vec<Vec<u8>> = (0..4)
                .map(|_| pieces[next(pieces.len())].to_vec())
                .collect();
            let mut instructions = Vec::new();
            for _ in 0..next(8) + 1 {
                if next(3) == 0 {
                    instructions.push(Err(&inserts[next(4)][..]));
                } else {
                    let offset = next(base.len());
                    instructions.push(Ok((offset, next(base.len() - offset) + 1)));
                }
            }
            let (result, found) = through(&base, &instructions);
            let full: Vec<Range<usize>> = prefilter_matches(&result).collect();
            assert_eq!(found, full, "{:?}", String::from_utf8_lossy(&result));
        }
    }
}
