//! The fast history scan against a plain reference: for every commit, a full libgit2 diff of
//! every changed file against the first parent (other parents of a merge narrowing the added
//! lines, as documented), every added line and commit message scanned, with no prefilter, no
//! blob cache and libgit2 reading every object. The findings (commit, path, line, column,
//! offset, fingerprint, status) must be identical: from `cio-hook scan-history`, and from the
//! commit walk given the reference verdicts (`common::verdicts`, all of them or only half) and
//! the verdicts of the pass over the packs.
//!
//! The generated history has merges and evil merges, renames and copies, a blob that is clean
//! at one path and a credentials file at another, credentials files with and without tokens,
//! tokens in file and directory names, files added below a directory whose name holds a token,
//! whole directories moved (to names with and without tokens), binary, base64 and UTF-16
//! content, reverts to earlier blobs, a large file, enough commits for the scan to use several
//! threads, a second root, deep delta chains (`git repack -adf --depth=250`), a second pack and
//! loose objects on top.

mod common;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use cio_hook::allow::Allowlist;
use cio_hook::detect::decode::decode_utf16;
use cio_hook::report::Scope;
use cio_hook::source::commits::{all_commits, commit_info, tips};
use cio_hook::source::pack::PackVerdicts;
use cio_hook::source::verdicts::Verdicts;
use cio_hook::source::{AddedContent, AddedLine, AddedText, COMMIT_MESSAGE};
use cio_hook::Scanner;
use common::verdicts::{HalfForgotten, ReferenceVerdicts};
use common::{
    api_token, base64, binary, clean_command, random_alphanumerics, trusted_publishing_token, Repo,
    Rng, Run,
};
use git2::{DiffOptions, ObjectType, Oid, Patch, Repository, Tree};

/// What a finding is compared on.
type Key = (
    String,
    String,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    String,
    String,
);

fn key_of(finding: &serde_json::Value) -> Key {
    (
        finding["commit"]["oid"].as_str().unwrap_or("").to_string(),
        finding["path"].as_str().unwrap().to_string(),
        finding["line"].as_u64(),
        finding["column"].as_u64(),
        finding["offset"].as_u64(),
        finding["fingerprint"].as_str().unwrap().to_string(),
        finding["status"].to_string(),
    )
}

/// Findings of `cio-hook -C GIT_DIR scan-history --format json`, sorted.
fn fast_findings(repo: &Repo, git_dir: &Path) -> Vec<Key> {
    let git_dir = git_dir.to_str().unwrap();
    let run = repo.cio_hook(&["-C", git_dir, "scan-history", "--format", "json"]);
    assert!(
        run.code == 0 || run.code == 1,
        "scan-history failed:\n{}",
        run.all()
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut found: Vec<Key> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(key_of)
        .collect();
    found.sort();
    found
}

/// Findings of the commit walk over every commit of `git_dir`, skipping what `verdicts` calls
/// clean, sorted.
fn findings_with_verdicts(git_dir: &Path, verdicts: &dyn Verdicts) -> Vec<Key> {
    let repo = Repository::open(git_dir).unwrap();
    let scanner = Scanner::new(Allowlist::default());
    let scope = Scope::Commits {
        description: "all refs".to_string(),
    };
    let commits = all_commits(&repo).unwrap();
    let report = scanner
        .scan_commits_with_verdicts(&repo, &commits, scope, verdicts, &mut |_, _, _| {})
        .unwrap();
    let mut found: Vec<Key> = report
        .findings
        .iter()
        .map(|finding| key_of(&serde_json::to_value(finding).unwrap()))
        .collect();
    found.sort();
    found
}

/// How many leading bytes git looks at for a NUL byte.
const BINARY_SNIFF_LEN: usize = 8000;

fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_LEN)].contains(&0)
}

/// The lines libgit2's plain line diff marks as added in `new` over `old`.
fn diff_added_lines(old: &[u8], new: &[u8]) -> Vec<AddedLine> {
    let mut options = DiffOptions::new();
    options
        .context_lines(0)
        .interhunk_lines(0)
        .force_text(true)
        .indent_heuristic(true);
    let patch = Patch::from_buffers(old, None, new, None, Some(&mut options)).unwrap();
    let mut lines = Vec::new();
    for hunk in 0..patch.num_hunks() {
        for index in 0..patch.num_lines_in_hunk(hunk).unwrap() {
            let line = patch.line_in_hunk(hunk, index).unwrap();
            if let (b'+', Some(number)) = (line.origin() as u8, line.new_lineno()) {
                lines.push(AddedLine {
                    number,
                    bytes: line.content().to_vec(),
                });
            }
        }
    }
    lines
}

/// Text as the scanner reads it: UTF-16 with a byte-order mark decoded, anything else as is.
fn as_text(bytes: &[u8]) -> Cow<'_, [u8]> {
    match decode_utf16(bytes) {
        Some(text) => Cow::Owned(text.into_bytes()),
        None => Cow::Borrowed(bytes),
    }
}

/// What `new` adds over `old` (and over every one of `others`, a merge's other parents'
/// versions), every changed file diffed in full.
fn reference_added<'a>(
    old: Option<&'a [u8]>,
    new: &'a [u8],
    others: &[Option<&'a [u8]>],
) -> AddedContent<'a> {
    let new_text = as_text(new);
    let is_utf16 = matches!(new_text, Cow::Owned(_));
    let old_text = old.map(as_text);
    if !is_utf16 && (looks_binary(new) || old_text.as_deref().is_some_and(looks_binary)) {
        let mut previous: Vec<Cow<'a, [u8]>> = old.map(Cow::Borrowed).into_iter().collect();
        previous.extend(others.iter().flatten().map(|&other| Cow::Borrowed(other)));
        return AddedContent::Binary {
            bytes: Cow::Borrowed(new),
            previous,
        };
    }
    let mut lines = diff_added_lines(old_text.as_deref().unwrap_or_default(), &new_text);
    for other in others {
        let over_other = match other {
            Some(other) => diff_added_lines(&as_text(other), &new_text),
            None => continue,
        };
        lines.retain(|line| over_other.iter().any(|kept| kept.number == line.number));
    }
    AddedContent::Lines(lines)
}

/// The blob at `path` in `tree`, when there is one.
fn blob_at<'r>(repo: &'r Repository, tree: &Tree<'_>, path: &str) -> Option<git2::Blob<'r>> {
    let entry = tree.get_path(Path::new(path)).ok()?;
    if entry.kind() != Some(ObjectType::Blob) {
        return None;
    }
    Some(repo.find_blob(entry.id()).unwrap())
}

/// The reference scan of every commit reachable from any ref, sorted.
fn reference_findings(git_dir: &Path) -> Vec<Key> {
    let repo = Repository::open(git_dir).unwrap();
    let scanner = Scanner::new(Allowlist::default());
    let mut walk = repo.revwalk().unwrap();
    walk.push_glob("refs/*").unwrap();
    let _ = walk.push_head();
    let mut findings = Vec::new();
    for oid in walk {
        let commit = repo.find_commit(oid.unwrap()).unwrap();
        let info = Arc::new(commit_info(&commit));
        findings.extend(scanner.findings_in(&AddedText::message(
            COMMIT_MESSAGE,
            info.clone(),
            commit.message_bytes(),
        )));
        let tree = commit.tree().unwrap();
        let parents: Vec<Tree<'_>> = commit.parents().map(|p| p.tree().unwrap()).collect();
        let mut options = DiffOptions::new();
        options.include_typechange(true);
        let diff = repo
            .diff_tree_to_tree(parents.first(), Some(&tree), Some(&mut options))
            .unwrap();
        for delta in diff.deltas() {
            let is_file = |mode: git2::FileMode| {
                matches!(
                    mode,
                    git2::FileMode::Blob | git2::FileMode::BlobExecutable | git2::FileMode::Link
                )
            };
            if !is_file(delta.new_file().mode()) || delta.new_file().id().is_zero() {
                continue;
            }
            let path = delta
                .new_file()
                .path()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let other_has_path = parents
                .iter()
                .skip(1)
                .any(|parent| parent.get_path(Path::new(&path)).is_ok());
            if !is_file(delta.old_file().mode()) && !other_has_path {
                // A new path (renames are not detected): a token in the path itself.
                let added = AddedText::new_path(path.as_bytes(), Some(info.clone()));
                findings.extend(added.iter().flat_map(|added| scanner.findings_in(added)));
            }
            let new_blob = repo.find_blob(delta.new_file().id()).unwrap();
            let old_blob = (is_file(delta.old_file().mode()) && !delta.old_file().id().is_zero())
                .then(|| repo.find_blob(delta.old_file().id()).unwrap());
            let other_blobs: Vec<Option<git2::Blob<'_>>> = parents
                .iter()
                .skip(1)
                .map(|parent| blob_at(&repo, parent, &path))
                .collect();
            let others: Vec<Option<&[u8]>> = other_blobs
                .iter()
                .map(|blob| blob.as_ref().map(|blob| blob.content()))
                .collect();
            let content = reference_added(
                old_blob.as_ref().map(|blob| blob.content()),
                new_blob.content(),
                &others,
            );
            let added = AddedText::new(
                path.into_bytes(),
                Some(info.clone()),
                content,
                new_blob.content(),
            );
            if !added.is_empty() {
                findings.extend(scanner.findings_in(&added));
            }
        }
    }
    let mut found: Vec<Key> = findings
        .iter()
        .map(|finding| key_of(&serde_json::to_value(finding).unwrap()))
        .collect();
    found.sort();
    found
}

/// Asserts that the fast scans (the command, and the walk given all or half of the reference
/// verdicts) and the reference agree, with a readable difference if not.
fn assert_same_findings(repo: &Repo, git_dir: &Path) -> usize {
    let reference = reference_findings(git_dir);
    let verdicts = ReferenceVerdicts::of_repository(git_dir);
    let [(clean_blobs, candidate_blobs), (clean_trees, candidate_trees)] = verdicts.counts();
    assert!(
        clean_blobs > 0 && candidate_blobs > 0 && clean_trees > 0 && candidate_trees > 0,
        "verdicts too uniform to test the walk: {:?}",
        verdicts.counts()
    );
    let fast_scans = [
        ("scan-history", fast_findings(repo, git_dir)),
        (
            "the walk with the reference verdicts",
            findings_with_verdicts(git_dir, &verdicts),
        ),
        (
            "the walk with half the reference verdicts",
            findings_with_verdicts(git_dir, &HalfForgotten(&verdicts)),
        ),
        (
            "the walk with the pack verdicts",
            findings_with_verdicts(git_dir, &PackVerdicts::compute(git_dir).unwrap()),
        ),
    ];
    for (name, fast) in fast_scans {
        let only_fast: Vec<_> = fast.iter().filter(|f| !reference.contains(f)).collect();
        let only_reference: Vec<_> = reference.iter().filter(|f| !fast.contains(f)).collect();
        assert!(
            fast == reference,
            "{name} and the reference differ ({} vs {} findings)\nonly in {name}: {only_fast:#?}\nonly in the reference: {only_reference:#?}",
            fast.len(),
            reference.len()
        );
    }
    reference.len()
}

fn random_line(rng: &mut Rng) -> String {
    match rng.below(20) {
        0..=5 => {
            ["}", "", "    }", "fn main() {", "[dependencies]", "# notes"][rng.below(6)].to_string()
        }
        6 | 7 => format!("so precious and delicious, ciox cio {}", rng.below(1000)),
        8 | 9 => format!("key_{} = \"{}\"", rng.below(5), api_token(rng.seed())),
        10 => format!("publish = {}", trusted_publishing_token(rng.seed())),
        11 => format!("example = \"cio{}\"", "x".repeat(32)),
        12 => format!(
            "CARGO_REGISTRY_TOKEN={}",
            random_alphanumerics(rng.seed(), 20)
        ),
        13 => format!(
            "export CARGO_REGISTRIES_MY_REG_TOKEN={}",
            random_alphanumerics(rng.seed(), 12)
        ),
        14 => format!(
            "blob: {}",
            base64(format!("t={}\n", api_token(rng.seed())).as_bytes())
        ),
        15 => format!(
            "let fixture = \"{}\"; // cio-hook: allow",
            api_token(rng.seed())
        ),
        16 => format!("token = \"{}\"", random_alphanumerics(rng.seed(), 24)),
        17 => "[registry]".to_string(),
        _ => format!("value_{} = compute({})", rng.below(100), rng.below(100)),
    }
}

/// File contents as the repository stores them: lines, encoded after the path's kind.
fn encode(path: &str, lines: &[String]) -> Vec<u8> {
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    if path.ends_with(".utf16.txt") {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    } else if path.ends_with(".bin") {
        let mut bytes = b"\x00\x01\x02binary\x00".to_vec();
        bytes.extend(text.into_bytes());
        bytes
    } else {
        text.into_bytes()
    }
}

/// Lines of the large file (about 50 bytes each).
const LARGE_FILE_LINES: usize = 20_000;

/// Writes `git fast-import` commands for a history of about `commits` commits.
struct History {
    stream: Vec<u8>,
    marks: usize,
    blob_marks: HashMap<Vec<u8>, usize>,
    /// Marks of contents already encoded, by allocation (each holding its content alive).
    encoded: HashMap<EncodedKey, (Rc<Vec<String>>, usize)>,
    rng: Rng,
    next_name: usize,
    time: u64,
    /// Every version a file has had, to revert to.
    past: Vec<(String, Rc<Vec<String>>)>,
}

type Files = BTreeMap<String, Rc<Vec<String>>>;

/// A file's lines (by allocation) and the extension that decides their encoding.
type EncodedKey = (*const Vec<String>, String);

const PATHS: &[&str] = &[
    "src/lib.rs",
    "run.sh",
    "config.toml",
    "docs/notes.txt",
    "data/blob.bin",
    "data/text.utf16.txt",
    ".cargo/credentials.toml",
    "deploy/.env",
];

impl History {
    fn blob(&mut self, content: &[u8]) -> usize {
        if let Some(&mark) = self.blob_marks.get(content) {
            return mark;
        }
        self.marks += 1;
        let mark = self.marks;
        write!(self.stream, "blob\nmark :{mark}\ndata {}\n", content.len()).unwrap();
        self.stream.extend_from_slice(content);
        self.stream.push(b'\n');
        self.blob_marks.insert(content.to_vec(), mark);
        mark
    }

    /// A commit on `branch` with `parents` (marks) whose tree is exactly `files`.
    fn commit(&mut self, branch: &str, parents: &[usize], files: &Files, message: &str) -> usize {
        let entries: Vec<(String, usize)> = files
            .iter()
            .map(|(path, lines)| {
                let kind = path.rsplit('.').next().unwrap_or_default().to_string();
                let key = (Rc::as_ptr(lines), kind);
                let mark = match self.encoded.get(&key) {
                    Some(&(_, mark)) => mark,
                    None => {
                        let mark = self.blob(&encode(path, lines));
                        self.encoded.insert(key, (lines.clone(), mark));
                        mark
                    }
                };
                (path.clone(), mark)
            })
            .collect();
        self.marks += 1;
        self.time += 60;
        let mark = self.marks;
        write!(
            self.stream,
            "commit refs/heads/{branch}\nmark :{mark}\ncommitter Test <t@example.invalid> {} +0000\ndata {}\n{message}\n",
            self.time,
            message.len()
        )
        .unwrap();
        for (index, parent) in parents.iter().enumerate() {
            let verb = if index == 0 { "from" } else { "merge" };
            writeln!(self.stream, "{verb} :{parent}").unwrap();
        }
        self.stream.extend_from_slice(b"deleteall\n");
        for (path, blob) in entries {
            writeln!(self.stream, "M 100644 :{blob} {path}").unwrap();
        }
        self.stream.push(b'\n');
        mark
    }

    fn message(&mut self) -> String {
        if self.rng.chance(5) {
            format!("change with {}", api_token(self.rng.seed()))
        } else {
            format!("change {}", self.rng.below(100_000))
        }
    }

    /// Random edits: line edits, new, deleted, renamed and copied files, reverts.
    fn mutate(&mut self, files: &mut Files) {
        let rng = &mut self.rng;
        for _ in 0..1 + rng.below(3) {
            let paths: Vec<String> = files.keys().cloned().collect();
            let pick = |rng: &mut Rng| paths[rng.below(paths.len())].clone();
            match rng.below(17) {
                0 => {
                    let base = PATHS[rng.below(PATHS.len())];
                    let mut path = format!("new{}/{base}", self.next_name);
                    if rng.chance(10) {
                        path = format!("new{}/notes-{}.txt", self.next_name, api_token(rng.seed()));
                    } else if rng.chance(10) {
                        // A token as a directory's name: every file below carries it.
                        path =
                            format!("new{}/dir-{}/{base}", self.next_name, api_token(rng.seed()));
                    }
                    self.next_name += 1;
                    let lines = (0..1 + rng.below(12)).map(|_| random_line(rng)).collect();
                    files.insert(path, Rc::new(lines));
                }
                1 if files.len() > 4 => {
                    files.remove(&pick(rng));
                }
                2 => {
                    let from = pick(rng);
                    let lines = files.remove(&from).unwrap();
                    let name = from.rsplit('/').next().unwrap().to_string();
                    files.insert(format!("moved{}/{name}", self.next_name), lines);
                    self.next_name += 1;
                }
                3 => {
                    // The same blob under another name: code, shell, credentials.
                    let from = pick(rng);
                    let lines = files[&from].clone();
                    let name = ["copy.rs", "copy.sh", "credentials", "copy.txt"][rng.below(4)];
                    files.insert(format!("copies{}/{name}", rng.below(3)), lines);
                }
                14 => {
                    // A file added next to an existing one (below a directory whose name may
                    // hold a token), sometimes in a new subdirectory.
                    let from = pick(rng);
                    let dir = from.rsplit_once('/').map_or("", |(dir, _)| dir);
                    let name = match rng.below(3) {
                        0 => format!("sub{}/added.rs", self.next_name),
                        _ => format!("added{}.txt", self.next_name),
                    };
                    self.next_name += 1;
                    let path = if dir.is_empty() {
                        name
                    } else {
                        format!("{dir}/{name}")
                    };
                    let lines = (0..1 + rng.below(4)).map(|_| random_line(rng)).collect();
                    files.insert(path, Rc::new(lines));
                }
                15 => {
                    // A whole directory moved: its subtree unchanged under a new name, which
                    // sometimes holds a token.
                    let from = pick(rng);
                    let Some((top, _)) = from.split_once('/') else {
                        continue;
                    };
                    let top = format!("{top}/");
                    let to = if rng.chance(30) {
                        format!("renamed{}-{}/", self.next_name, api_token(rng.seed()))
                    } else {
                        format!("renamed{}/", self.next_name)
                    };
                    self.next_name += 1;
                    let moved: Vec<String> = paths
                        .iter()
                        .filter(|path| path.starts_with(&top))
                        .cloned()
                        .collect();
                    for path in moved {
                        let lines = files.remove(&path).unwrap();
                        files.insert(format!("{to}{}", &path[top.len()..]), lines);
                    }
                }
                16 => {
                    // A credentials file without a token: clean content at a credentials path.
                    let name = [
                        ".cargo/config.toml",
                        "credentials.toml",
                        ".cargo/credentials",
                    ][rng.below(3)];
                    let lines = vec!["[registry]".to_string(), "# no token here".to_string()];
                    files.insert(format!("new{}/{name}", self.next_name), Rc::new(lines));
                    self.next_name += 1;
                }
                4 if !self.past.is_empty() => {
                    let (path, lines) = self.past[rng.below(self.past.len())].clone();
                    files.insert(path, lines);
                }
                _ => {
                    let path = pick(rng);
                    let lines = Rc::make_mut(files.get_mut(&path).unwrap());
                    for _ in 0..1 + rng.below(5) {
                        let at = rng.below(lines.len() + 1);
                        match rng.below(4) {
                            0 if at < lines.len() => {
                                lines.remove(at);
                            }
                            1 if at < lines.len() => lines[at] = random_line(rng),
                            2 if !lines.is_empty() => {
                                let copy = lines[rng.below(lines.len())].clone();
                                lines.insert(at, copy);
                            }
                            _ => lines.insert(at, random_line(rng)),
                        }
                    }
                }
            }
        }
        for (path, lines) in files.iter() {
            if self.rng.chance(3) {
                self.past.push((path.clone(), lines.clone()));
            }
        }
    }
}

/// Builds the generated repository described at the top of this file.
fn generated_repository(seed: u64, rounds: usize, large_file: bool) -> Repo {
    let repo = Repo::new();
    let mut history = History {
        stream: Vec::new(),
        marks: 0,
        blob_marks: HashMap::new(),
        encoded: HashMap::new(),
        rng: Rng::new(seed),
        next_name: 0,
        time: 1_700_000_000,
        past: Vec::new(),
    };
    let mut files: Files = PATHS
        .iter()
        .map(|path| {
            let lines = (0..3 + history.rng.below(10))
                .map(|_| random_line(&mut history.rng))
                .collect();
            (path.to_string(), Rc::new(lines))
        })
        .collect();
    // A large file: about 1 MB of lines, full of words holding `cio`, edited now and then.
    let large: Vec<String> = (0..LARGE_FILE_LINES)
        .map(|n| format!("{n:06} so precious, gracious and delicious: value {n}"))
        .collect();
    if large_file {
        files.insert("big/large.txt".to_string(), Rc::new(large));
    }
    let mut main = history.commit("main", &[], &files, "root");
    // A second root, never merged.
    let other_lines = Rc::new(vec![random_line(&mut history.rng)]);
    let other: Files = [("other.txt".to_string(), other_lines)].into();
    history.commit("other-root", &[], &other, "another root");
    for round in 0..rounds {
        let base_files = files.clone();
        let base = main;
        // The main line moves on.
        for _ in 0..1 + history.rng.below(8) {
            history.mutate(&mut files);
            let line = random_line(&mut history.rng);
            let at = history.rng.below(LARGE_FILE_LINES);
            match files.get_mut("big/large.txt") {
                Some(large) if history.rng.chance(4) => {
                    let large = Rc::make_mut(large);
                    large.insert(at.min(large.len()), line);
                }
                _ => {}
            }
            let message = history.message();
            main = history.commit("main", &[main], &files, &message);
        }
        if round % 3 == 2 {
            continue;
        }
        // A side branch from the earlier point, merged back.
        let branch = format!("side{round}");
        let mut side_files = base_files.clone();
        let mut side = base;
        for _ in 0..1 + history.rng.below(4) {
            history.mutate(&mut side_files);
            let message = history.message();
            side = history.commit(&branch, &[side], &side_files, &message);
        }
        let mut merged = files.clone();
        for (path, lines) in &side_files {
            if base_files.get(path) == Some(lines) {
                continue;
            }
            match (files.get(path), base_files.get(path)) {
                (Some(ours), Some(theirs_base)) if ours != theirs_base => {
                    // Both sides changed the file: keep both versions' lines.
                    let mut both = ours.as_ref().clone();
                    both.extend(lines.iter().cloned());
                    merged.insert(path.clone(), Rc::new(both));
                }
                _ => {
                    merged.insert(path.clone(), lines.clone());
                }
            }
        }
        for path in base_files.keys() {
            if !side_files.contains_key(path) && files.get(path) == base_files.get(path) {
                merged.remove(path);
            }
        }
        if history.rng.chance(40) {
            // An evil merge: a line that neither parent has.
            let paths: Vec<String> = merged.keys().cloned().collect();
            let path = paths[history.rng.below(paths.len())].clone();
            let line = format!("evil = \"{}\"", api_token(history.rng.seed()));
            Rc::make_mut(merged.get_mut(&path).unwrap()).push(line);
        }
        files = merged;
        main = history.commit("main", &[main, side], &files, "merge");
    }
    let stream_path = repo.sibling("history.fi");
    std::fs::write(&stream_path, &history.stream).unwrap();
    let output = clean_command("git", &repo.path)
        .args(["fast-import", "--quiet"])
        .stdin(std::fs::File::open(&stream_path).unwrap())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    repo.git_ok(&["reset", "-q", "--hard", "main"]);
    // Deep delta chains, a second pack, then loose objects on top.
    repo.git_ok(&["repack", "-adfq", "--depth=250", "--window=250"]);
    let token_dir = format!("late-{}", api_token(seed + 1));
    repo.write(&format!("{token_dir}/plain.txt"), "nothing here\n");
    repo.write("second-pack/.cargo/config.toml", "[build]\njobs = 2\n");
    repo.git_ok(&["add", "."]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "second pack"]);
    repo.git_ok(&["repack", "-dq"]);
    repo.write("loose.txt", format!("late = \"{}\"\n", api_token(seed)));
    repo.write(&format!("{token_dir}/later.txt"), "still nothing\n");
    repo.write("second-pack/.cargo/credentials.toml", "[registry]\n");
    repo.git_ok(&["add", "."]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "loose objects"]);
    let packs = std::fs::read_dir(repo.path.join(".git/objects/pack"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("pack".as_ref()))
        .count();
    assert_eq!(packs, 2, "expected two packs");
    repo
}

#[test]
fn history_scan_equals_the_plain_reference_on_generated_histories() {
    // Enough commits (over 2,000) for the scan to share them among threads where there are
    // several cores; the large file only in the smaller histories, to keep the test quick.
    let repo = generated_repository(7, 500, false);
    let commits: usize = repo
        .git_ok(&["rev-list", "--all", "--count"])
        .trim()
        .parse()
        .unwrap();
    assert!(commits > 2000, "only {commits} commits generated");
    let git_dir = repo.path.join(".git");
    let found = assert_same_findings(&repo, &git_dir);
    assert!(found > 500, "too few findings to compare: {found}");
    // Packed whole, the history is listed from the pack pass rather than by libgit2.
    let listed_by_libgit2 = fast_findings(&repo, &git_dir);
    repo.git_ok(&["repack", "-adq"]);
    let run = Run::from_output(
        clean_command(binary(), &repo.path)
            .env("CIO_HOOK_TIMINGS", "1")
            .args([
                "-C",
                git_dir.to_str().unwrap(),
                "scan-history",
                "--format",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert!(
        run.stderr.contains("timing: pack pass") && !run.stderr.contains("through libgit2"),
        "{}",
        run.stderr
    );
    assert_eq!(fast_findings(&repo, &git_dir), listed_by_libgit2);
    for seed in 1..4 {
        let repo = generated_repository(seed, 25, true);
        assert_same_findings(&repo, &repo.path.join(".git"));
    }
}

/// The commits listed from the pack pass are those `git rev-list --all HEAD` lists, each after
/// its parents; with a commit the packs do not hold there is no list (libgit2 lists them then).
#[test]
fn commits_listed_from_the_packs_equal_git_rev_list() {
    let repo = generated_repository(11, 120, false);
    repo.git_ok(&["repack", "-adq"]);
    repo.git_ok(&["tag", "-a", "-m", "annotated", "v1", "HEAD~3"]);
    repo.git_ok(&["repack", "-adq"]);
    let git_dir = repo.path.join(".git");
    let libgit2 = Repository::open(&git_dir).unwrap();
    let verdicts = PackVerdicts::compute(&git_dir).unwrap();
    let listed = verdicts
        .commits_reachable_from(&tips(&libgit2).unwrap())
        .expect("every commit is packed");
    let mut by_git: Vec<String> = repo
        .git_ok(&["rev-list", "--all", "HEAD"])
        .lines()
        .map(str::to_string)
        .collect();
    let mut ours: Vec<String> = listed.iter().map(Oid::to_string).collect();
    let position: HashMap<String, usize> = ours
        .iter()
        .enumerate()
        .map(|(at, id)| (id.clone(), at))
        .collect();
    ours.sort();
    by_git.sort();
    assert_eq!(ours, by_git);
    let mut merges = 0;
    for line in repo.git_ok(&["rev-list", "--all", "--parents"]).lines() {
        let mut ids = line.split(' ');
        let commit = position[ids.next().unwrap()];
        let parents: Vec<usize> = ids.map(|parent| position[parent]).collect();
        merges += usize::from(parents.len() > 1);
        assert!(parents.iter().all(|&parent| parent < commit), "{line}");
    }
    assert!(merges > 10, "too few merges to test the order: {merges}");

    repo.write("loose.txt", "not packed\n");
    repo.git_ok(&["add", "loose.txt"]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "a loose commit"]);
    let libgit2 = Repository::open(&git_dir).unwrap();
    assert_eq!(
        verdicts.commits_reachable_from(&tips(&libgit2).unwrap()),
        None
    );
}

/// The same comparison on a real repository's whole history: `CIO_HOOK_REAL_REPO` or the
/// rust-lang/cargo mirror. Slow (minutes), so run on demand:
/// `cargo test --release --test history_reference -- --ignored`.
#[test]
#[ignore]
fn history_scan_equals_the_plain_reference_on_a_real_repository() {
    let source = std::env::var("CIO_HOOK_REAL_REPO")
        .unwrap_or_else(|_| "/work/.mirror/rust-lang+cargo/repo".to_string());
    assert!(
        Path::new(&source).exists(),
        "this check needs a real repository at {source}: `git clone --mirror \
         https://github.com/rust-lang/cargo {source}`, or set CIO_HOOK_REAL_REPO to one"
    );
    let repo = Repo::new();
    let clone = repo.sibling("real.git");
    repo.git_ok(&[
        "clone",
        "-q",
        "--bare",
        "--no-local",
        &source,
        clone.to_str().unwrap(),
    ]);
    let found = assert_same_findings(&repo, &clone);
    eprintln!("{found} findings identical on {source}");
}

/// Git 3.0's formats: the same generated histories, converted to SHA-256 objects, reftable refs
/// and both (`git fast-export | git fast-import`), give the same findings as the SHA-1/files
/// original, each naming the copy's own commit (64 hex digits for SHA-256).
#[test]
fn history_scan_is_the_same_in_every_git_format() {
    let formats: [&[&str]; 3] = [
        &["--object-format=sha256"],
        &["--ref-format=reftable"],
        &["--object-format=sha256", "--ref-format=reftable"],
    ];
    for (seed, format) in (11..).zip(formats) {
        let repo = generated_repository(seed, 20, seed == 11);
        let original = fast_findings(&repo, &repo.path.join(".git"));
        assert!(original.len() > 20, "too few findings: {}", original.len());
        let (copy, commit_ids) = repo.converted(format);
        let mut expected: Vec<Key> = original
            .into_iter()
            .map(|mut key| {
                key.0 = commit_ids[&key.0].clone();
                key
            })
            .collect();
        expected.sort();
        let found = fast_findings(&copy, &copy.path.join(".git"));
        assert_eq!(found, expected, "format {format:?}, seed {seed}");
        let hex_len = if format.contains(&"--object-format=sha256") {
            64
        } else {
            40
        };
        assert!(found.iter().all(|key| key.0.len() == hex_len));
    }
}

/// How many of the blobs stored as deltas in the packs of `git_dir` hold an API token (`cio`
/// and 32 letters or digits): what the pack pass must rebuild to find it.
fn tokens_in_delta_blobs(repo: &Repo, git_dir: &Path) -> usize {
    let pack_dir = git_dir.join("objects").join("pack");
    let mut delta_blobs = String::new();
    for entry in std::fs::read_dir(&pack_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "idx") {
            let listing = repo.git_ok(&["verify-pack", "-v", path.to_str().unwrap()]);
            // A delta's line: id, type, size, size in pack, offset, depth, base.
            for line in listing.lines() {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() == 7 && fields[1] == "blob" {
                    delta_blobs.push_str(fields[0]);
                    delta_blobs.push('\n');
                }
            }
        }
    }
    let mut cat_file = clean_command("git", &repo.path)
        .args([
            "--git-dir",
            git_dir.to_str().unwrap(),
            "cat-file",
            "--batch",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = cat_file.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(delta_blobs.as_bytes()).unwrap());
    let output = cat_file.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());
    // Each object: a header line, its bytes, a newline.
    let (mut holding, mut at, bytes) = (0, 0, &output.stdout);
    while at < bytes.len() {
        let header_end = at + bytes[at..].iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&bytes[at..header_end]).unwrap();
        let size: usize = header.rsplit(' ').next().unwrap().parse().unwrap();
        let content = &bytes[header_end + 1..header_end + 1 + size];
        let has_token = content.windows(35).any(|window| {
            window.starts_with(b"cio") && window[3..].iter().all(u8::is_ascii_alphanumeric)
        });
        holding += usize::from(has_token);
        at = header_end + 1 + size + 1;
    }
    holding
}

/// A history long enough for the git-CLI path to take the pack pass (over 1,000 new blobs), in
/// SHA-256 objects with files and with reftable refs, repacked into deep delta chains: the same
/// findings as the SHA-1/files original, with blobs decided by the pack pass reading 32-byte ids,
/// tokens in delta-compressed blobs among them.
#[test]
fn long_sha256_histories_take_the_pack_pass_with_the_same_findings() {
    let repo = generated_repository(17, 300, false);
    let original = fast_findings(&repo, &repo.path.join(".git"));
    assert!(original.len() > 300, "too few findings: {}", original.len());
    let formats: [&[&str]; 2] = [
        &["--object-format=sha256"],
        &["--object-format=sha256", "--ref-format=reftable"],
    ];
    for format in formats {
        let (copy, commit_ids) = repo.converted(format);
        copy.git_ok(&["repack", "-adfq", "--depth=50", "--window=50"]);
        let git_dir = copy.path.join(".git");
        let in_deltas = tokens_in_delta_blobs(&copy, &git_dir);
        assert!(
            in_deltas > 20,
            "{format:?}: {in_deltas} delta blobs hold a token"
        );
        let mut expected: Vec<Key> = original
            .iter()
            .cloned()
            .map(|mut key| {
                key.0 = commit_ids[&key.0].clone();
                key
            })
            .collect();
        expected.sort();
        let run = Run::from_output(
            clean_command(binary(), &copy.path)
                .env("CIO_HOOK_TIMINGS", "1")
                .args(["scan-history", "--format", "json"])
                .output()
                .unwrap(),
        );
        assert!(
            run.stderr.contains("timing: pack pass: traversal"),
            "{format:?}: no pack pass\n{}",
            run.stderr
        );
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let mut found: Vec<Key> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(key_of)
            .collect();
        found.sort();
        assert_eq!(found, expected, "format {format:?}");
    }
}
