//! Added text read through the git CLI, for repositories libgit2 cannot open (SHA-256 objects,
//! reftable refs): see [`crate::repository`].
//!
//! git answers the questions libgit2 answers on the other path: `git diff-index --cached` what
//! the index changes, `git rev-list` which commits a range or push holds, `git diff-tree
//! --stdin` what each commit changes over each parent (one process for all commits), and one
//! `git cat-file --batch` process reads every commit, tag and blob. What is done with the answers
//! is the same as on the libgit2 path: the same prefilter, line diff, merge rules and
//! [`AddedText`] items, so the findings are the same.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};

use super::blobs::{added_content, added_lines, as_text};
use super::commits::iso_date;
use super::pack::choice;
use super::pack::{ObjectFormat, PackVerdicts, ScanMode};
use super::verdicts::Verdict;
use super::{all_lines, AddedContent, AddedText, CommitInfo, COMMIT_MESSAGE};
use crate::detect::credentials::is_credentials_path;
use crate::detect::may_contain_secret;
use crate::redact::{display_path, redact_text};
use crate::repository::GitRepository;

/// The mode git gives gitlinks (submodule commits), which are not files.
const GITLINK_MODE: u32 = 0o160000;

/// Whether `mode` is a file's (regular, executable or symlink), whose content is a blob.
fn is_file_mode(mode: u32) -> bool {
    mode & 0o170000 == 0o100000 || mode & 0o170000 == 0o120000
}

/// One `git cat-file --batch` process, reading any object by id (or `rev:path`); started at the
/// first read, so that a scan that reads nothing starts no process.
pub struct ObjectReader {
    repo: GitRepository,
    process: Option<CatFile>,
}

/// A running `git cat-file --batch`.
struct CatFile {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

/// An object read by [`ObjectReader`].
pub struct Object {
    /// `commit`, `tree`, `blob` or `tag`.
    pub kind: String,
    /// Its id in hex.
    pub id: String,
    pub data: Vec<u8>,
}

impl ObjectReader {
    /// The reader for `repo`.
    pub fn new(repo: &GitRepository) -> Result<ObjectReader> {
        Ok(ObjectReader {
            repo: repo.clone(),
            process: None,
        })
    }

    /// The running process, started on first use.
    fn process(&mut self) -> Result<&mut CatFile> {
        if self.process.is_none() {
            let mut child = self
                .repo
                .git()
                .args(["cat-file", "--batch"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .context("running git cat-file --batch (is git installed and on PATH?)")?;
            let input = child.stdin.take().context("git cat-file's stdin")?;
            let output = BufReader::new(child.stdout.take().context("git cat-file's stdout")?);
            self.process = Some(CatFile {
                child,
                input,
                output,
            });
        }
        Ok(self.process.as_mut().expect("started above"))
    }

    /// The object `name` names, or `None` when the repository does not have it.
    pub fn read(&mut self, name: &str) -> Result<Option<Object>> {
        if name.contains('\n') {
            bail!(
                "object name {:?} holds a newline",
                redact_text(name.as_bytes())
            );
        }
        let process = self.process()?;
        writeln!(process.input, "{name}")
            .and_then(|()| process.input.flush())
            .context("writing to git cat-file")?;
        read_answer(&mut process.output).context("reading from git cat-file")
    }

    /// The blob `id`, for the file at `path`; an error names the file when it cannot be read.
    pub fn blob(&mut self, id: &str, path: &[u8]) -> Result<Vec<u8>> {
        match self.read(id)? {
            Some(object) if object.kind == "blob" => Ok(object.data),
            _ => bail!(
                "reading blob {id} of {} (missing or corrupt object)",
                redact_text(path)
            ),
        }
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls `each` with every object `names` names (`None` for one the repository does not have), in
/// order, read through one `git cat-file --batch --buffer` process that a thread feeds: no
/// round trip per object, and git inflates while the caller scans.
pub fn for_each_object(
    repo: &GitRepository,
    names: &[&str],
    each: &mut dyn FnMut(usize, Option<Object>) -> Result<()>,
) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut child = repo
        .git()
        .args(["cat-file", "--batch", "--buffer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("running git cat-file --batch (is git installed and on PATH?)")?;
    let mut input = child.stdin.take().context("git cat-file's stdin")?;
    let output = child.stdout.take().context("git cat-file's stdout")?;
    let mut output = BufReader::with_capacity(1 << 16, output);
    let result = std::thread::scope(|threads| -> Result<()> {
        let writer = threads.spawn(move || -> std::io::Result<()> {
            let mut input = std::io::BufWriter::new(&mut input);
            for name in names {
                writeln!(input, "{name}")?;
            }
            input.flush()
        });
        for (index, name) in names.iter().enumerate() {
            let object = read_answer(&mut output)
                .with_context(|| format!("reading {name} from git cat-file"))?;
            each(index, object)?;
        }
        writer
            .join()
            .map_err(|_| anyhow!("the thread feeding git cat-file panicked"))?
            .context("writing to git cat-file")?;
        Ok(())
    });
    if result.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    result
}

/// Reads one answer of `git cat-file --batch`: an object, or `None` for a missing one.
fn read_answer(output: &mut impl BufRead) -> Result<Option<Object>> {
    let mut header = String::new();
    output.read_line(&mut header)?;
    let header = header.trim_end();
    if header.is_empty() {
        bail!("git cat-file stopped");
    }
    let fields: Vec<&str> = header.split(' ').collect();
    let [id, kind, size] = fields[..] else {
        // `<name> missing` or `<name> ambiguous`.
        return Ok(None);
    };
    let size: usize = size
        .parse()
        .with_context(|| format!("git cat-file answered {header:?}"))?;
    let mut data = vec![0; size + 1];
    std::io::Read::read_exact(output, &mut data)?;
    data.pop();
    Ok(Some(Object {
        kind: kind.to_string(),
        id: id.to_string(),
        data,
    }))
}

/// A file that a change adds or modifies (deletions add nothing and are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: Vec<u8>,
    /// The old blob id and mode, when the path was a file before.
    pub old: Option<(String, u32)>,
    /// The new blob id and mode.
    pub new: (String, u32),
}

/// One entry of git's `--raw -z` diff output.
#[derive(Debug, Clone)]
struct RawEntry {
    old_mode: u32,
    new_mode: u32,
    old_id: String,
    new_id: String,
    status: u8,
    path: Vec<u8>,
}

impl RawEntry {
    /// The change to a file this entry is, if the new side is a file.
    fn change(&self) -> Option<Change> {
        if self.status == b'D' || !is_file_mode(self.new_mode) {
            return None;
        }
        let old = (self.status != b'A' && is_file_mode(self.old_mode) && self.old_mode != 0)
            .then(|| (self.old_id.clone(), self.old_mode));
        Some(Change {
            path: self.path.clone(),
            old,
            new: (self.new_id.clone(), self.new_mode),
        })
    }
}

/// Parses `:old_mode new_mode old_id new_id status` (the part before the path).
fn parse_raw_header(field: &[u8]) -> Result<RawEntry> {
    let text = std::str::from_utf8(field).context("git's raw diff is not ASCII")?;
    let fields: Vec<&str> = text.trim_start_matches(':').split(' ').collect();
    let [old_mode, new_mode, old_id, new_id, status] = fields[..] else {
        bail!("unexpected raw diff line {text:?}");
    };
    let mode = |mode: &str| {
        u32::from_str_radix(mode, 8).with_context(|| format!("unexpected mode in {text:?}"))
    };
    Ok(RawEntry {
        old_mode: mode(old_mode)?,
        new_mode: mode(new_mode)?,
        old_id: old_id.to_string(),
        new_id: new_id.to_string(),
        status: status.bytes().next().unwrap_or(b'M'),
        path: Vec::new(),
    })
}

/// The entries of a complete `--raw -z` diff.
fn parse_raw(output: &[u8]) -> Result<Vec<RawEntry>> {
    let mut fields = output.split(|&byte| byte == 0);
    let mut entries = Vec::new();
    while let Some(field) = fields.next() {
        if field.is_empty() {
            continue;
        }
        let mut entry = parse_raw_header(field)?;
        entry.path = fields
            .next()
            .context("a raw diff entry without a path")?
            .to_vec();
        entries.push(entry);
    }
    Ok(entries)
}

/// The id of the empty tree in `repo`'s object format.
pub fn empty_tree(repo: &GitRepository) -> &'static str {
    if repo.hex_len() == 64 {
        "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"
    } else {
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    }
}

/// The id of the empty blob in `repo`'s object format.
fn empty_blob(repo: &GitRepository) -> &'static str {
    if repo.hex_len() == 64 {
        "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"
    } else {
        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    }
}

/// What the index adds over HEAD's tree (an unborn HEAD: the empty tree), as `git diff --cached`
/// lists it. The index is git's: `GIT_INDEX_FILE` when git sets it.
pub fn staged_changes(repo: &GitRepository) -> Result<Vec<Change>> {
    let against = |base: &str| {
        repo.git_output([
            "diff-index",
            "--cached",
            "-z",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            base,
            "--",
        ])
    };
    let output = match against("HEAD") {
        Ok(output) => output,
        // The first commit: HEAD is unborn (any other failure shows again here).
        Err(_) => against(empty_tree(repo))?,
    };
    Ok(parse_raw(&output)?
        .iter()
        .filter_map(RawEntry::change)
        .collect())
}

/// Every file the index holds, as if all of it were added: what the repository tracks.
pub fn tracked_files(repo: &GitRepository) -> Result<Vec<Change>> {
    let output = repo.git_output(["ls-files", "--stage", "--full-name", "-z"])?;
    // `<mode> <id> <stage>\t<path>`; a conflict's stages other than 0 are left out.
    listed_files(&output, "git ls-files", |fields| match fields {
        [mode, id, stage] => Some((*mode, *id, *stage == b"0")),
        _ => None,
    })
}

/// Every file in the tree `tree`, as if all of it were added (a tree a tag points at).
pub fn files_in_tree(repo: &GitRepository, tree: &str) -> Result<Vec<Change>> {
    let output = repo.git_output(["ls-tree", "-r", "-z", "--full-tree", tree])?;
    // `<mode> <type> <id>\t<path>`
    listed_files(&output, "git ls-tree", |fields| match fields {
        [mode, _, id] => Some((*mode, *id, true)),
        _ => None,
    })
}

/// The files of a `-z` listing whose entries are `<fields>\t<path>`, each as added: `pick`
/// names the mode, the id and whether to keep the entry from the space-separated fields (None:
/// the line is not what `command` writes).
fn listed_files<'a>(
    output: &'a [u8],
    command: &str,
    pick: impl Fn(&[&'a [u8]]) -> Option<(&'a [u8], &'a [u8], bool)>,
) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for entry in output.split(|&byte| byte == 0).filter(|e| !e.is_empty()) {
        let tab =
            memchr::memchr(b'\t', entry).with_context(|| format!("unexpected {command} line"))?;
        let fields: Vec<&[u8]> = entry[..tab].split(|&byte| byte == b' ').collect();
        let Some((mode, id, keep)) = pick(&fields) else {
            bail!("unexpected {command} line");
        };
        let mode = u32::from_str_radix(&String::from_utf8_lossy(mode), 8)?;
        if !keep || !is_file_mode(mode) {
            continue;
        }
        changes.push(Change {
            path: entry[tab + 1..].to_vec(),
            old: None,
            new: (String::from_utf8_lossy(id).into_owned(), mode),
        });
    }
    Ok(changes)
}

/// A commit to scan, with its parents.
#[derive(Debug, Clone)]
pub struct ListedCommit {
    pub id: String,
    pub parents: Vec<String>,
}

/// The commits `git rev-list` lists for `args` (revisions, `--not`, `--all`…), each after its
/// parents, with their parents.
pub fn rev_list(repo: &GitRepository, args: &[&str]) -> Result<Vec<ListedCommit>> {
    let mut command = repo.git();
    command.args(["rev-list", "--topo-order", "--reverse", "--parents"]);
    command.args(args);
    let output = crate::repository::run(&mut command).map_err(|err| {
        // git's own words ("bad revision 'x'"), without the command line around them.
        let text = err.to_string();
        match text.split_once("failed: ") {
            Some((_, git_says)) => anyhow!("{}", git_says.trim_start_matches("fatal: ")),
            None => err,
        }
    })?;
    Ok(String::from_utf8_lossy(&output)
        .lines()
        .filter_map(|line| {
            let mut ids = line.split(' ').map(str::to_string);
            Some(ListedCommit {
                id: ids.next()?,
                parents: ids.collect(),
            })
        })
        .collect())
}

/// The fields of a commit object that reports and the scan need.
#[derive(Debug, Clone)]
pub struct CommitObject {
    pub message: Vec<u8>,
    /// `Name <email>` and date of the author.
    pub author: Option<(String, String)>,
}

/// A commit's or tag's header lines, as (key, value).
type Headers<'a> = Vec<(&'a [u8], &'a [u8])>;

/// The headers and message of a commit or tag object.
fn split_object(data: &[u8]) -> (Headers<'_>, &[u8]) {
    let mut headers = Vec::new();
    let mut rest = data;
    loop {
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        let next = &rest[(end + 1).min(rest.len())..];
        if line.is_empty() {
            return (headers, next);
        }
        if !line.starts_with(b" ") {
            let space = memchr::memchr(b' ', line).unwrap_or(line.len());
            headers.push((&line[..space], &line[(space + 1).min(line.len())..]));
        }
        if next.is_empty() {
            return (headers, next);
        }
        rest = next;
    }
}

/// `Name <email> 1234567890 +0100` as `Name <email>` and an ISO 8601 date.
fn parse_signature(value: &[u8]) -> Option<(String, String)> {
    let close = memchr::memrchr(b'>', value)?;
    let who = &value[..=close];
    let when = std::str::from_utf8(&value[close + 1..]).ok()?.trim();
    let (seconds, offset) = when.split_once(' ')?;
    let seconds: i64 = seconds.parse().ok()?;
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits = offset.trim_start_matches(['+', '-']);
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    Some((
        display_path(who),
        iso_date(seconds, sign * (hours * 60 + minutes)),
    ))
}

/// Parses a commit object.
pub fn parse_commit(data: &[u8]) -> CommitObject {
    let (headers, message) = split_object(data);
    let author = headers
        .iter()
        .find(|(key, _)| *key == b"author")
        .and_then(|(_, value)| parse_signature(value));
    CommitObject {
        message: message.to_vec(),
        author,
    }
}

/// An annotated tag object's fields.
#[derive(Debug, Clone)]
pub struct TagObject {
    pub target: String,
    pub target_kind: String,
    pub name: Vec<u8>,
    pub tagger: Option<(String, String)>,
    pub message: Vec<u8>,
}

/// Parses a tag object.
pub fn parse_tag(data: &[u8]) -> TagObject {
    let (headers, message) = split_object(data);
    let field = |name: &[u8]| {
        headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_vec())
            .unwrap_or_default()
    };
    TagObject {
        target: String::from_utf8_lossy(&field(b"object")).into_owned(),
        target_kind: String::from_utf8_lossy(&field(b"type")).into_owned(),
        name: field(b"tag"),
        tagger: headers
            .iter()
            .find(|(key, _)| *key == b"tagger")
            .and_then(|(_, value)| parse_signature(value)),
        message: message.to_vec(),
    }
}

/// How reports name commit `id` with these `parents`.
pub fn commit_info(id: &str, parents: &[String], commit: &CommitObject) -> CommitInfo {
    let subject = commit
        .message
        .split(|&byte| byte == b'\n')
        .next()
        .unwrap_or_default();
    CommitInfo {
        oid: id.to_string(),
        subject: redact_text(subject),
        author: commit.author.as_ref().map(|(who, _)| who.clone()),
        date: commit.author.as_ref().map(|(_, when)| when.clone()),
        root: parents.is_empty(),
        stash: false,
        refs: Vec::new(),
    }
}

/// Cuts down what a change adds (given the reader, the change, its new blob and the added text):
/// a merge's other parents.
pub type Narrow<'a> =
    &'a mut dyn FnMut(&mut ObjectReader, &Change, &[u8], &mut AddedText<'_>) -> Result<()>;

/// Reads blobs and remembers those that hold nothing, for one run.
pub struct BlobSource {
    pub objects: ObjectReader,
    clean: HashSet<String>,
    empty_blob: &'static str,
}

impl BlobSource {
    pub fn new(repo: &GitRepository) -> Result<BlobSource> {
        Ok(BlobSource {
            objects: ObjectReader::new(repo)?,
            clean: HashSet::new(),
            empty_blob: empty_blob(repo),
        })
    }

    /// Reads, in one pass, every new blob of `commits` that is not known yet, and remembers those
    /// that hold nothing: the commit walk then reads only the few that may. `early` holds the
    /// pack pass's verdicts when the caller made it before listing the changes.
    pub fn decide(
        &mut self,
        repo: &GitRepository,
        commits: &[CommitChanges],
        early: Option<PackVerdicts>,
    ) -> Result<()> {
        let mut wanted: Vec<&str> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for changes in commits {
            for entry in &changes.by_parent[0] {
                let new_id = entry.new_id.as_str();
                let is_file = entry.status != b'D'
                    && is_file_mode(entry.new_mode)
                    && entry.new_mode != GITLINK_MODE;
                if is_file
                    && new_id != self.empty_blob
                    && !is_credentials_path(&entry.path)
                    && !self.clean.contains(new_id)
                    && seen.insert(new_id)
                {
                    wanted.push(new_id);
                }
            }
        }
        // The project's pack pass reads the packs as on the libgit2 path, in either object
        // format, and only what it does not decide goes through git.
        let verdicts = match early {
            Some(verdicts) => Some(verdicts),
            None if choice::pass_pays_for_blobs(wanted.len()) => pack_verdicts(repo),
            None => None,
        };
        if let Some(verdicts) = verdicts {
            let clean = &mut self.clean;
            wanted.retain(|id| match verdicts.blob_verdict_hex(id) {
                Verdict::Clean => {
                    clean.insert((*id).to_string());
                    false
                }
                Verdict::Candidate => false,
                Verdict::Unknown => true,
            });
        }
        // One git cat-file per core, each with its share of the blobs: git inflates and
        // rebuilds every blob whole, which is most of the work.
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(wanted.len().div_ceil(MIN_BLOBS_PER_READER))
            .max(1);
        let share = wanted.len().div_ceil(workers).max(1);
        let found = std::thread::scope(|threads| {
            let readers: Vec<_> = wanted
                .chunks(share)
                .map(|names| threads.spawn(move || clean_blobs(repo, names)))
                .collect();
            readers
                .into_iter()
                .map(|reader| {
                    reader
                        .join()
                        .unwrap_or_else(|_| Err(anyhow!("a thread reading blobs panicked")))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        self.clean.extend(found.into_iter().flatten());
        Ok(())
    }

    /// Calls `sink` with what each change adds to a file whose new content may hold a secret,
    /// and with each added path that holds a token; `narrow` may cut down what a file adds
    /// (a merge's other parents) before it is yielded. Renames are not detected: a renamed file
    /// counts as new, as on the libgit2 path.
    pub fn added_in_changes(
        &mut self,
        changes: &[Change],
        commit: Option<&Arc<CommitInfo>>,
        narrow: Narrow<'_>,
        sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
    ) -> Result<()> {
        for change in changes {
            if change.old.is_none() {
                if let Some(mut added) = AddedText::new_path(&change.path, commit.cloned()) {
                    narrow(&mut self.objects, change, &[], &mut added)?;
                    if !added.is_empty() {
                        sink(added)?;
                    }
                }
            }
            let new_id = change.new.0.as_str();
            let remembered = !is_credentials_path(&change.path);
            if new_id == self.empty_blob || (remembered && self.clean.contains(new_id)) {
                continue;
            }
            let new_blob = self.objects.blob(new_id, &change.path)?;
            if !may_contain_secret(&change.path, &new_blob) {
                if remembered {
                    self.clean.insert(new_id.to_string());
                }
                continue;
            }
            let old_blob = match &change.old {
                Some((old_id, _)) if old_id != self.empty_blob => {
                    Some(self.objects.blob(old_id, &change.path)?)
                }
                _ => None,
            };
            let content = added_content(old_blob.as_deref(), &new_blob)
                .with_context(|| format!("diffing {}", redact_text(&change.path)))?;
            let mut added =
                AddedText::new(change.path.clone(), commit.cloned(), content, &new_blob);
            narrow(&mut self.objects, change, &new_blob, &mut added)?;
            if !added.is_empty() {
                sink(added)?;
            }
        }
        Ok(())
    }
}

/// Below this many blobs for each, a second `git cat-file` is not started.
const MIN_BLOBS_PER_READER: usize = 500;

/// The blobs of `names` that hold nothing any rule can match.
fn clean_blobs(repo: &GitRepository, names: &[&str]) -> Result<Vec<String>> {
    let mut clean = Vec::new();
    for_each_object(repo, names, &mut |index, object| {
        let object = object
            .filter(|object| object.kind == "blob")
            .with_context(|| {
                format!("reading blob {} (missing or corrupt object)", names[index])
            })?;
        // The path does not change the verdict outside credentials files, which are left out.
        if !may_contain_secret(b"", &object.data) {
            clean.push(object.id);
        }
        Ok(())
    })?;
    Ok(clean)
}

/// The verdicts of the project's pack pass on the repository's packs, in its object format, or
/// `None` when they cannot be read here (a format the pack reader does not know, a pack it
/// cannot read: git then reads every blob).
pub fn pack_verdicts(repo: &GitRepository) -> Option<PackVerdicts> {
    let format = ObjectFormat::from_name(&repo.object_format)?;
    let common_dir = repo
        .git_output(["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .ok()?;
    let common_dir = std::path::PathBuf::from(String::from_utf8_lossy(&common_dir).trim_end());
    crate::timings::timed("pack pass", || {
        PackVerdicts::compute_format(&common_dir, format, ScanMode::Windows)
    })
    .ok()
}

/// No narrowing: what a change adds over its only parent.
pub fn keep_all(_: &mut ObjectReader, _: &Change, _: &[u8], _: &mut AddedText<'_>) -> Result<()> {
    Ok(())
}

/// Reads the next NUL-terminated field of git's `-z` output into `field`; false at the end.
fn read_field(output: &mut impl BufRead, field: &mut Vec<u8>) -> Result<bool> {
    field.clear();
    let read = output
        .read_until(0, field)
        .context("reading git diff-tree's output")?;
    if field.last() == Some(&0) {
        field.pop();
    }
    Ok(read > 0)
}

/// What one commit changes over each of its parents (a root: over the empty tree), from
/// `git diff-tree --stdin`.
pub struct CommitChanges {
    pub commit: ListedCommit,
    /// One list per parent, in parent order; one list for a root commit.
    by_parent: Vec<Vec<RawEntry>>,
}

/// Streams [`CommitChanges`] for `commits`, in order, from one `git diff-tree --stdin` process
/// that a thread feeds.
pub fn for_each_commit_changes(
    repo: &GitRepository,
    commits: &[ListedCommit],
    each: &mut dyn FnMut(CommitChanges) -> Result<()>,
) -> Result<()> {
    if commits.is_empty() {
        return Ok(());
    }
    let mut child = repo
        .git()
        .args([
            "diff-tree",
            "--stdin",
            "-r",
            "-z",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            "--root",
            "--always",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("running git diff-tree (is git installed and on PATH?)")?;
    let mut input = child.stdin.take().context("git diff-tree's stdin")?;
    let mut output = BufReader::with_capacity(1 << 16, child.stdout.take().context("stdout")?);
    let result = std::thread::scope(|threads| -> Result<()> {
        let writer = threads.spawn(move || -> std::io::Result<()> {
            let mut input = std::io::BufWriter::new(&mut input);
            for commit in commits {
                if commit.parents.is_empty() {
                    writeln!(input, "{}", commit.id)?;
                }
                for parent in &commit.parents {
                    writeln!(input, "{} {parent}", commit.id)?;
                }
            }
            input.flush()
        });
        let mut field = Vec::new();
        // The first header.
        let mut more = read_field(&mut output, &mut field)?;
        for commit in commits {
            let diffs = commit.parents.len().max(1);
            let mut by_parent = Vec::with_capacity(diffs);
            for _ in 0..diffs {
                if !more || field.starts_with(b":") {
                    bail!("git diff-tree ended early, at commit {}", commit.id);
                }
                let mut entries = Vec::new();
                loop {
                    more = read_field(&mut output, &mut field)?;
                    if !more || !field.starts_with(b":") {
                        break;
                    }
                    let mut entry = parse_raw_header(&field)?;
                    if !read_field(&mut output, &mut field)? {
                        bail!("git diff-tree's output ends inside an entry");
                    }
                    entry.path = field.clone();
                    entries.push(entry);
                }
                by_parent.push(entries);
            }
            each(CommitChanges {
                commit: commit.clone(),
                by_parent,
            })?;
        }
        writer
            .join()
            .map_err(|_| anyhow!("the thread feeding git diff-tree panicked"))?
            .context("writing to git diff-tree")?;
        Ok(())
    });
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().context("waiting for git diff-tree")?;
    result?;
    if !status.success() {
        bail!("git diff-tree failed ({status})");
    }
    Ok(())
}

/// Calls `sink` with what a commit adds: its message (from `object`, the commit as read), and
/// the lines it adds over its first parent; for a merge, only lines that none of its parents had
/// (the libgit2 path's rules: [`super::commits::added_in_commit`]).
pub fn added_in_commit(
    blobs: &mut BlobSource,
    changes: &CommitChanges,
    object: Option<Object>,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    let commit = &changes.commit;
    let mut files: Vec<Change> = changes.by_parent[0]
        .iter()
        .filter_map(RawEntry::change)
        .filter(|change| change.new.1 != GITLINK_MODE)
        .collect();
    // For each other parent, what it has at each path it differs at; a path it does not list
    // it has exactly as the merge has it.
    let other_parents: Vec<HashMap<&[u8], &RawEntry>> = changes.by_parent[1..]
        .iter()
        .map(|entries| {
            entries
                .iter()
                .map(|entry| (entry.path.as_slice(), entry))
                .collect()
        })
        .collect();
    files.retain(|change| {
        !other_parents
            .iter()
            .any(|parent| match parent.get(change.path.as_slice()) {
                None => true,
                Some(entry) => {
                    entry.status != b'A'
                        && is_file_mode(entry.old_mode)
                        && entry.old_id == change.new.0
                }
            })
    });
    let object = object
        .filter(|object| object.kind == "commit")
        .with_context(|| format!("reading commit {}", commit.id))?;
    let parsed = parse_commit(&object.data);
    let message_may_hold_secret = may_contain_secret(COMMIT_MESSAGE, &parsed.message);
    if files.is_empty() && !message_may_hold_secret {
        return Ok(());
    }
    let info = Arc::new(commit_info(&commit.id, &commit.parents, &parsed));
    if message_may_hold_secret {
        sink(AddedText::message(
            COMMIT_MESSAGE,
            info.clone(),
            &parsed.message,
        ))?;
    }
    let mut narrow = |objects: &mut ObjectReader,
                      change: &Change,
                      new_blob: &[u8],
                      added: &mut AddedText<'_>|
     -> Result<()> {
        for parent in &other_parents {
            let before = parent
                .get(change.path.as_slice())
                .filter(|entry| entry.status != b'A');
            keep_only_new_since(objects, change, new_blob, before.copied(), added)?;
        }
        Ok(())
    };
    blobs
        .added_in_changes(&files, Some(&info), &mut narrow, sink)
        .with_context(|| format!("scanning commit {}", info.short_oid()))
}

/// Narrows `added` to what is also new over another parent, which had `before` at the path.
fn keep_only_new_since(
    objects: &mut ObjectReader,
    change: &Change,
    new_blob: &[u8],
    before: Option<&RawEntry>,
    added: &mut AddedText<'_>,
) -> Result<()> {
    if matches!(added.content, AddedContent::Path) {
        if before.is_some() {
            added.content = AddedContent::Lines(Vec::new());
        }
        return Ok(());
    }
    let parent_blob = match before {
        Some(entry) if is_file_mode(entry.old_mode) && entry.old_mode != GITLINK_MODE => {
            Some(objects.blob(&entry.old_id, &change.path)?)
        }
        _ => None,
    };
    if let AddedContent::Text(text) = &added.content {
        added.content = AddedContent::Lines(all_lines(text));
    }
    match &mut added.content {
        AddedContent::Text(_) | AddedContent::Path => unreachable!("handled above"),
        AddedContent::Lines(lines) => {
            let parent_text = parent_blob.as_deref().map(as_text);
            let new_over_parent = added_lines(parent_text.as_deref(), &as_text(new_blob))?;
            lines.retain(|line| {
                new_over_parent
                    .binary_search_by_key(&line.number, |other| other.number)
                    .is_ok()
            });
        }
        AddedContent::Binary { previous, .. } => {
            if let Some(blob) = parent_blob {
                previous.push(std::borrow::Cow::Owned(blob));
            }
        }
    }
    Ok(())
}

/// Runs `git` with `args` in `repo`, returning whether it exited 0 (for `merge-base
/// --is-ancestor` and `cat-file -e`, whose answer is the exit code).
pub fn git_succeeds(repo: &GitRepository, args: &[&str]) -> Result<bool> {
    let status = repo
        .git()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running git (is git installed and on PATH?)")?;
    Ok(status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_entries_become_changes() {
        let zero = "0".repeat(64);
        let id = "a".repeat(64);
        let output = format!(
            ":000000 100644 {zero} {id} A\0new\0:100644 100644 {id} {id} M\0dir/changed\0\
             :100644 000000 {id} {zero} D\0gone\0:000000 160000 {zero} {id} A\0sub\0"
        );
        let changes: Vec<Change> = parse_raw(output.as_bytes())
            .unwrap()
            .iter()
            .filter_map(RawEntry::change)
            .collect();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].path, b"new");
        assert_eq!(changes[0].old, None);
        assert_eq!(changes[1].old, Some((id.clone(), 0o100644)));
    }

    #[test]
    fn commit_objects_give_message_and_author() {
        let data = b"tree t\nparent p\nauthor A U Thor <a@example.invalid> 1772597167 +0100\n\
                     committer C <c@example.invalid> 1772597167 +0100\ngpgsig -----BEGIN-----\n \
                     line\n -----END-----\n\nsubject\n\nbody\n";
        let commit = parse_commit(data);
        assert_eq!(commit.message, b"subject\n\nbody\n");
        let (who, when) = commit.author.unwrap();
        assert_eq!(who, "A U Thor <a@example.invalid>");
        assert_eq!(when, "2026-03-04T05:06:07+01:00");
    }
}
