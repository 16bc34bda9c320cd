//! The pack reader against git itself: every object it reconstructs hashes to the id the pack
//! index gives it, it reconstructs exactly the objects `git cat-file --batch-all-objects` lists,
//! and the verdicts it computes equal a plain reference reading every object with libgit2.
//!
//! Generated histories have many versions of each file (deep delta chains after
//! `git repack -adf --depth=250 --window=250`), REF_DELTA entries, several packs, binary, empty,
//! base64 and UTF-16 files, a file larger than zlib's window, tokens split across edits or
//! appearing only when two copied ranges meet, tokens in file and directory names, credentials
//! files and loose objects on top.
//!
//! The same histories in a SHA-256 repository (`git init --object-format=sha256`, 32-byte ids
//! in trees, commits, indexes, REF_DELTA bases and trailers) are read the same way, against
//! git's own listing and a reference reading every object through `git cat-file`.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cio_hook::detect::{may_contain_secret, name_may_hold_token};
use cio_hook::source::pack::idx::PackIndex;
use cio_hook::source::pack::{
    Forest, Object, ObjectFormat, PackVerdicts, Packs, Parent, ScanMode, Visitor,
};
use cio_hook::source::verdicts::{CommitOutline, Verdict, Verdicts};
use cio_hook::source::COMMIT_MESSAGE;
use common::{api_token, base64, random_alphanumerics, utf16_with_bom, Repo, Rng};
use git2::{ObjectType, Oid, Repository};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// A history whose files change a little in every commit, so that git stores most versions as
/// deltas of others.
struct History {
    repo: Repo,
    rng: Rng,
    commits: usize,
    code: Vec<String>,
    big: Vec<String>,
    binary: Vec<u8>,
    wide: Vec<String>,
}

impl History {
    fn new(seed: u64) -> History {
        History::in_format(seed, &[])
    }

    /// A history in a repository made by `git init` with `format_args`.
    fn in_format(seed: u64, format_args: &[&str]) -> History {
        let mut rng = Rng::new(seed);
        let code = (0..60).map(|_| clean_line(&mut rng)).collect();
        // About 300 KB: larger than zlib's 32 KB window, so copies reach far back.
        let big = (0..6000)
            .map(|number| format!("{number:05} {}", random_alphanumerics(rng.seed(), 40)))
            .collect();
        let binary = (0..6000u32)
            .map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8 & 0x7f)
            .collect();
        let wide = (0..50).map(|_| clean_line(&mut rng)).collect();
        History {
            repo: Repo::in_format(format_args),
            rng,
            commits: 0,
            code,
            big,
            binary,
            wide,
        }
    }

    /// Makes `count` more commits, each editing every file a little.
    fn commit(&mut self, count: usize) {
        for _ in 0..count {
            self.edit();
            let message = self.message();
            self.repo.git_ok(&["add", "-A"]);
            self.repo.git_ok(&[
                "commit",
                "-q",
                "--no-verify",
                "--allow-empty",
                "-m",
                &message,
            ]);
            self.commits += 1;
        }
    }

    /// A commit message: every seventh holds a token, below a subject line.
    fn message(&mut self) -> String {
        if self.commits % 7 == 3 {
            let token = api_token(self.rng.seed());
            format!("commit {}\n\nRotated to {token}", self.commits)
        } else {
            format!("commit {}", self.commits)
        }
    }

    fn edit(&mut self) {
        let rng = &mut self.rng;
        let step = self.commits;
        for _ in 0..3 {
            let at = rng.below(self.code.len());
            match rng.below(4) {
                0 => self.code.insert(at, clean_line(rng)),
                1 if self.code.len() > 20 => {
                    self.code.remove(at);
                }
                _ => self.code[at] = clean_line(rng),
            }
        }
        if rng.chance(15) {
            let at = rng.below(self.code.len());
            self.code.insert(at, secret_line(rng));
        }
        for _ in 0..3 {
            let at = rng.below(self.big.len());
            self.big[at] = format!("{at:05} {}", random_alphanumerics(rng.seed(), 40));
        }
        if step % 9 == 4 {
            let at = rng.below(self.big.len());
            self.big[at] = secret_line(rng);
        }
        for _ in 0..8 {
            let at = rng.below(self.binary.len());
            self.binary[at] = rng.below(256) as u8;
        }
        if step % 11 == 7 {
            let at = rng.below(self.binary.len());
            let token = api_token(rng.seed());
            self.binary.splice(at..at, token.bytes().chain([0]));
        }
        let at = rng.below(self.wide.len());
        self.wide[at] = if rng.chance(20) {
            secret_line(rng)
        } else {
            clean_line(rng)
        };

        let repo = &self.repo;
        repo.write("src/lib.rs", self.code.join("\n"));
        repo.write("big.txt", self.big.join("\n"));
        repo.write("data.bin", &self.binary);
        repo.write("notes.utf16.txt", utf16_with_bom(&self.wide.join("\r\n")));
        repo.write("empty.txt", "");
        repo.write(
            "clean/a/b/c.txt",
            format!("so precious, and delicious {}\n", step / 5),
        );
        repo.write(
            "docs/guide.md",
            format!("# Guide\n\nrevision {}\n", step / 3),
        );
        // A token written over two commits: half, then the rest.
        let token = api_token(step as u64 / 10);
        let split = match step % 10 {
            3 => format!("key = \"{}\n", &token[..17]),
            4 => format!("key = \"{token}\"\n"),
            _ => "key = none\n".to_string(),
        };
        repo.write("split.txt", split);
        // A token that appears only when two copied ranges meet: the newline between them goes.
        let tail = random_alphanumerics(step as u64 / 10, 32);
        let filler = "unchanged text between the two halves\n".repeat(4);
        let joined = match step % 10 {
            5 => format!("{filler}left cio\n{tail} right\n{filler}"),
            6 => format!("{filler}left cio{tail} right\n{filler}"),
            _ => format!("{filler}left\n{filler}"),
        };
        repo.write("join.txt", joined);
        // Literals made only where two copied ranges meet: `ci` + `o…`, `CARGO_` + `REGISTRY…`.
        let first: String = (0..6)
            .map(|line| format!("first part, line {line}\n"))
            .collect();
        let between = "a middle part that one version drops\n".repeat(3);
        let last: String = (0..6)
            .map(|line| format!("last part, line {line}\n"))
            .collect();
        let value = random_alphanumerics(step as u64 / 10 + 100, 32);
        let joint = match step % 10 {
            8 => format!("{first}key ci{between}o{value} end\n{last}"),
            9 => format!("{first}key cio{value} end\n{last}"),
            1 => format!("{first}export CARGO_{between}REGISTRY_TOKEN={value}\n{last}"),
            2 => format!("{first}export CARGO_REGISTRY_TOKEN={value}\n{last}"),
            _ => format!("{first}{between}{last}"),
        };
        repo.write("joint.txt", joint);
        // Names: a token in a file name and a directory name, credentials and config files.
        let named = [
            format!("notes-{}.txt", api_token(7)),
            format!("{}/readme.txt", api_token(8)),
            ".cargo/credentials.toml".to_string(),
            "settings/config".to_string(),
        ];
        for (index, path) in named.iter().enumerate() {
            let full = repo.path.join(path);
            if step % 13 == 2 + index {
                repo.write(
                    path,
                    format!("[registry]\ntoken = \"{}\"\n", random_alphanumerics(9, 32)),
                );
            } else if full.exists() {
                std::fs::remove_file(full).unwrap();
            }
        }
    }
}

fn clean_line(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => "so precious and delicious, ciox cio".to_string(),
        1 => format!(
            "let value_{} = compute({});",
            rng.below(100),
            rng.below(100)
        ),
        2 => format!(
            "integrity = \"sha512-{}\"",
            random_alphanumerics(rng.seed(), 60)
        ),
        _ => format!("// {}", random_alphanumerics(rng.seed(), 30)),
    }
}

fn secret_line(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("token = \"{}\"", api_token(rng.seed())),
        1 => format!(
            "blob: {}",
            base64(format!("t={}\n", api_token(rng.seed())).as_bytes())
        ),
        2 => format!(
            "CARGO_REGISTRY_TOKEN={}",
            random_alphanumerics(rng.seed(), 24)
        ),
        _ => format!("x {} y", api_token(rng.seed())),
    }
}

/// Every pack index of the repository at `git_dir`.
fn index_paths(git_dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(git_dir.join("objects/pack"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "idx"))
        .collect();
    paths.sort();
    paths
}

/// Ids as `git cat-file --batch-all-objects` lists them (loose and packed).
fn all_object_ids(repo: &Repo, git_dir: &Path) -> HashSet<String> {
    let git_dir = git_dir.to_str().unwrap();
    repo.git_ok(&[
        "--git-dir",
        git_dir,
        "cat-file",
        "--batch-all-objects",
        "--batch-check=%(objectname)",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// Hashes every object the traversal hands over and keeps its id.
#[derive(Default)]
struct Hasher<'p> {
    packs: Option<&'p Packs>,
    seen: Mutex<Vec<(String, bool)>>,
}

impl Visitor for Hasher<'_> {
    type State = ();

    fn visit(&self, object: Object<'_>, _parent: Option<Parent<'_, ()>>) -> anyhow::Result<()> {
        let packs = self.packs.unwrap();
        let header = format!("{} {}\0", object.kind.name(), object.content.len());
        let hash = match packs.format() {
            ObjectFormat::Sha1 => Sha1::new()
                .chain_update(&header)
                .chain_update(object.content)
                .finalize()
                .to_vec(),
            ObjectFormat::Sha256 => Sha256::new()
                .chain_update(&header)
                .chain_update(object.content)
                .finalize()
                .to_vec(),
        };
        let id = packs.id(object.index);
        let hex = id.iter().map(|byte| format!("{byte:02x}")).collect();
        self.seen.lock().unwrap().push((hex, hash.as_slice() == id));
        Ok(())
    }
}

/// Reconstructs every object of the packs at `git_dir`; returns (id, hashes to its id) per
/// object, the number of objects rebuilt from a delta, and of those by a base's id.
fn reconstruct_all(git_dir: &Path) -> (Vec<(String, bool)>, u64, usize) {
    reconstruct_all_in(git_dir, ObjectFormat::Sha1)
}

/// [`reconstruct_all`] for a repository of object format `format`.
fn reconstruct_all_in(git_dir: &Path, format: ObjectFormat) -> (Vec<(String, bool)>, u64, usize) {
    let packs = Packs::open_dir(&git_dir.join("objects/pack"), format).unwrap();
    assert_eq!(packs.format(), format);
    let forest = Forest::build(&packs).unwrap();
    let hasher = Hasher {
        packs: Some(&packs),
        ..Hasher::default()
    };
    let stats = forest.traverse(&hasher, 2).unwrap();
    let seen = hasher.seen.into_inner().unwrap();
    assert_eq!(seen.len() as u64, stats.objects);
    assert_eq!(
        seen.len(),
        packs.len(),
        "every packed object is reconstructed"
    );
    (seen, stats.deltas, forest.ref_deltas())
}

/// Checks the traversal against git on the packs of `repo`, which has no loose objects;
/// returns how many entries were REF_DELTA.
fn assert_reconstructs_every_object(repo: &Repo) -> usize {
    let format = object_format(repo);
    let git_dir = repo.path.join(".git");
    let counts = repo.git_ok(&["count-objects", "-v"]);
    assert!(counts.lines().any(|line| line == "count: 0"), "{counts}");
    let (seen, deltas, ref_deltas) = reconstruct_all_in(&git_dir, format);
    let wrong: Vec<&String> = seen
        .iter()
        .filter(|(_, hashes)| !hashes)
        .map(|(id, _)| id)
        .collect();
    assert!(
        wrong.is_empty(),
        "objects not hashing to their id: {wrong:?}"
    );
    assert!(
        deltas * 3 > seen.len() as u64,
        "{deltas} deltas of {}",
        seen.len()
    );
    let reconstructed: HashSet<String> = seen.into_iter().map(|(id, _)| id).collect();
    assert_eq!(reconstructed, all_object_ids(repo, &git_dir));
    ref_deltas
}

/// The object format git says `repo` has.
fn object_format(repo: &Repo) -> ObjectFormat {
    let name = repo.git_ok(&["rev-parse", "--show-object-format"]);
    ObjectFormat::from_name(name.trim()).unwrap()
}

const SHA256: &[&str] = &["--object-format=sha256"];

#[test]
fn every_object_of_deep_delta_chains_hashes_to_its_id() {
    assert_deep_delta_chains_reconstruct(&[]);
}

#[test]
fn every_object_of_deep_sha256_delta_chains_hashes_to_its_id() {
    assert_deep_delta_chains_reconstruct(SHA256);
}

fn assert_deep_delta_chains_reconstruct(format_args: &[&str]) {
    let mut history = History::in_format(1, format_args);
    history.commit(60);
    let repo = &history.repo;
    repo.git_ok(&["repack", "-adfq", "--depth=250", "--window=250"]);
    let chains = repo.git_ok(&[
        "verify-pack",
        "-v",
        index_paths(&repo.path.join(".git"))[0].to_str().unwrap(),
    ]);
    assert!(
        chains.contains("chain length = 20:"),
        "expected delta chains of 20 and more:\n{}",
        &chains[chains.len().saturating_sub(2000)..]
    );
    assert_eq!(assert_reconstructs_every_object(repo), 0);
}

#[test]
fn ref_deltas_and_several_packs_reconstruct_every_object() {
    assert_ref_deltas_and_several_packs_reconstruct(&[]);
}

#[test]
fn sha256_ref_deltas_and_several_packs_reconstruct_every_object() {
    assert_ref_deltas_and_several_packs_reconstruct(SHA256);
}

fn assert_ref_deltas_and_several_packs_reconstruct(format_args: &[&str]) {
    let mut history = History::in_format(2, format_args);
    history.commit(25);
    let repo = &history.repo;
    repo.git_ok(&["-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq"]);
    assert!(assert_reconstructs_every_object(repo) > 50);
    // Two more packs on top, each holding what the commits since the last one added.
    history.commit(10);
    history.repo.git_ok(&["repack", "-dq"]);
    history.commit(10);
    history.repo.git_ok(&["repack", "-dq"]);
    assert_eq!(index_paths(&history.repo.path.join(".git")).len(), 3);
    assert_reconstructs_every_object(&history.repo);
}

/// The verdicts by the definitions of `Verdicts`, reading each object with libgit2: blobs and
/// trees the packs do not hold are unknown.
struct Reference {
    repo: Repository,
    packed: HashSet<Oid>,
    trees: HashMap<Oid, Verdict>,
}

const EMPTY_BLOB: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

impl Reference {
    fn new(repo: &Repo, git_dir: &Path) -> Reference {
        let mut packed = HashSet::new();
        for index in index_paths(git_dir) {
            let output = common::clean_command("git", &repo.path)
                .arg("show-index")
                .stdin(std::fs::File::open(&index).unwrap())
                .output()
                .unwrap();
            assert!(output.status.success());
            for line in String::from_utf8(output.stdout).unwrap().lines() {
                packed.insert(Oid::from_str(line.split(' ').nth(1).unwrap()).unwrap());
            }
        }
        Reference {
            repo: Repository::open(git_dir).unwrap(),
            packed,
            trees: HashMap::new(),
        }
    }

    fn blob(&self, id: Oid) -> Verdict {
        if id == Oid::from_str(EMPTY_BLOB).unwrap() {
            return Verdict::Clean;
        }
        if !self.packed.contains(&id) {
            return Verdict::Unknown;
        }
        let blob = self.repo.find_blob(id).unwrap();
        if may_contain_secret(b"", blob.content()) {
            Verdict::Candidate
        } else {
            Verdict::Clean
        }
    }

    fn commit(&mut self, id: Oid) -> Verdict {
        if !self.packed.contains(&id) {
            return Verdict::Unknown;
        }
        let (message_may_hold, tree) = {
            let commit = self.repo.find_commit(id).unwrap();
            (
                may_contain_secret(COMMIT_MESSAGE, commit.message_bytes()),
                commit.tree_id(),
            )
        };
        if message_may_hold {
            return Verdict::Candidate;
        }
        self.tree(tree)
    }

    fn tree(&mut self, id: Oid) -> Verdict {
        if !self.packed.contains(&id) {
            return Verdict::Unknown;
        }
        if let Some(&known) = self.trees.get(&id) {
            return known;
        }
        let entries: Vec<(Vec<u8>, Oid, Option<ObjectType>)> = self
            .repo
            .find_tree(id)
            .unwrap()
            .iter()
            .map(|entry| (entry.name_bytes().to_vec(), entry.id(), entry.kind()))
            .collect();
        let mut verdict = Verdict::Clean;
        for (name, child, kind) in entries {
            let clean = !name_may_hold_token(&name)
                && match kind {
                    Some(ObjectType::Tree) => self.tree(child) == Verdict::Clean,
                    Some(ObjectType::Blob) => {
                        !["credentials", "credentials.toml", "config", "config.toml"]
                            .iter()
                            .any(|credentials| name == credentials.as_bytes())
                            && self.blob(child) == Verdict::Clean
                    }
                    _ => true,
                };
            if !clean {
                verdict = Verdict::Candidate;
                break;
            }
        }
        self.trees.insert(id, verdict);
        verdict
    }
}

/// Compares `verdicts` with the reference on every object of the repository; returns how many
/// blobs, trees and commits were clean and candidates, for the caller to check the test saw
/// both.
fn assert_verdicts_equal_reference(
    repo: &Repo,
    git_dir: &Path,
    verdicts: &dyn Verdicts,
) -> [usize; 6] {
    let mut reference = Reference::new(repo, git_dir);
    let listing = repo.git_ok(&[
        "--git-dir",
        git_dir.to_str().unwrap(),
        "cat-file",
        "--batch-all-objects",
        "--batch-check=%(objectname) %(objecttype)",
    ]);
    let mut counts = [0; 6];
    let mut outlines = 0;
    let mut differences = Vec::new();
    for line in listing.lines() {
        let (id, kind) = line.split_once(' ').unwrap();
        let id = Oid::from_str(id).unwrap();
        let (ours, theirs, slot) = match kind {
            "blob" => (verdicts.blob(id), reference.blob(id), 0),
            "tree" => (verdicts.tree(id), reference.tree(id), 2),
            "commit" => (verdicts.commit(id), reference.commit(id), 4),
            _ => {
                assert_eq!(verdicts.blob(id), Verdict::Unknown);
                assert_eq!(verdicts.tree(id), Verdict::Unknown);
                continue;
            }
        };
        match theirs {
            Verdict::Clean => counts[slot] += 1,
            Verdict::Candidate => counts[slot + 1] += 1,
            Verdict::Unknown => {}
        }
        if ours != theirs {
            differences.push(format!("{kind} {id}: {ours:?}, reference {theirs:?}"));
        }
        if let Some(outline) = verdicts.commit_outline(id) {
            let commit = reference.repo.find_commit(id).unwrap();
            let by_libgit2 = CommitOutline {
                tree: commit.tree_id(),
                parents: commit.parent_ids().collect(),
                message_may_hold_secret: may_contain_secret(COMMIT_MESSAGE, commit.message_bytes()),
            };
            if outline != by_libgit2 {
                differences.push(format!("commit {id}: {outline:?}, libgit2 {by_libgit2:?}"));
            }
            outlines += 1;
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    assert!(
        counts[4] + counts[5] == 0 || outlines > 0,
        "no commit outline to compare"
    );
    counts
}

#[test]
fn pack_verdicts_equal_the_libgit2_reference() {
    let mut history = History::new(3);
    history.commit(40);
    history
        .repo
        .git_ok(&["repack", "-adfq", "--depth=250", "--window=250"]);
    // Loose objects on top: a new blob with a token, one clean, and the trees holding them.
    history.commit(2);
    let repo = &history.repo;
    let git_dir = repo.path.join(".git");
    let verdicts = PackVerdicts::compute_with(&git_dir, ScanMode::Full).unwrap();
    let [clean_blobs, candidate_blobs, clean_trees, candidate_trees, clean_commits, candidate_commits] =
        assert_verdicts_equal_reference(repo, &git_dir, &verdicts);
    assert!(
        clean_commits > 0 && candidate_commits > 5,
        "{clean_commits} {candidate_commits}"
    );
    assert!(
        clean_blobs > 50 && candidate_blobs > 10,
        "{clean_blobs} {candidate_blobs}"
    );
    assert!(
        clean_trees > 10 && candidate_trees > 10,
        "{clean_trees} {candidate_trees}"
    );
    let loose = Oid::from_str(repo.git_ok(&["rev-parse", "HEAD:src/lib.rs"]).trim()).unwrap();
    assert_eq!(verdicts.blob(loose), Verdict::Unknown);
    let root = Oid::from_str(repo.git_ok(&["rev-parse", "HEAD^{tree}"]).trim()).unwrap();
    assert_eq!(verdicts.tree(root), Verdict::Unknown);
    let clean = Oid::from_str(repo.git_ok(&["rev-parse", "HEAD~5:clean"]).trim()).unwrap();
    assert_eq!(verdicts.tree(clean), Verdict::Clean);
}

/// Commits whose messages libgit2 reads in unusual ways: after leading newlines, cut at a NUL
/// byte, absent (no empty line), and a token in a header rather than the message.
#[test]
fn commit_verdicts_read_the_message_as_libgit2_does() {
    let mut history = History::new(5);
    history.commit(3);
    let repo = &history.repo;
    let clean_tree = repo.git_ok(&["rev-parse", "HEAD:clean"]).trim().to_string();
    let token = api_token(77);
    let signature = "Test <t@example.invalid> 1700000000 +0000";
    let bodies = [
        (
            "leading newlines",
            format!("\n\n\nsubject {token}\n"),
            Verdict::Candidate,
        ),
        ("cut at NUL", format!("subject\0{token}\n"), Verdict::Clean),
        ("no empty line", String::new(), Verdict::Clean),
        ("empty message", "\n".to_string(), Verdict::Clean),
    ];
    let mut expected = Vec::new();
    for (number, (name, body, verdict)) in bodies.iter().enumerate() {
        let author = if number == 3 {
            format!("{token} <t@example.invalid> 1700000000 +0000")
        } else {
            signature.to_string()
        };
        let separator = if body.is_empty() { "" } else { "\n" };
        let raw =
            format!("tree {clean_tree}\nauthor {author}\ncommitter {signature}\n{separator}{body}");
        let id = repo
            .git_with_input(
                &[
                    "hash-object",
                    "-t",
                    "commit",
                    "-w",
                    "--literally",
                    "--stdin",
                ],
                &raw,
            )
            .expect_code(0)
            .all()
            .trim()
            .to_string();
        repo.git_ok(&["update-ref", &format!("refs/odd/{number}"), &id]);
        expected.push((*name, Oid::from_str(&id).unwrap(), *verdict));
    }
    repo.git_ok(&["repack", "-adq"]);
    let git_dir = repo.path.join(".git");
    let verdicts = PackVerdicts::compute(&git_dir).unwrap();
    assert_verdicts_equal_reference(repo, &git_dir, &verdicts);
    for (name, id, verdict) in expected {
        assert_eq!(verdicts.commit(id), verdict, "{name}");
    }
}

/// Computes the verdicts in full and in window mode (checked against a full search of every
/// blob); asserts they are equal on every object and returns the window mode's.
fn assert_window_mode_equals_full(repo: &Repo, git_dir: &Path) -> PackVerdicts {
    let full = PackVerdicts::compute_with(git_dir, ScanMode::Full).unwrap();
    let checked = PackVerdicts::compute_with(git_dir, ScanMode::Checked)
        .unwrap_or_else(|err| panic!("{}: {err:#}", git_dir.display()));
    let windows = PackVerdicts::compute_with(git_dir, ScanMode::Windows).unwrap();
    let listing = repo.git_ok(&[
        "--git-dir",
        git_dir.to_str().unwrap(),
        "cat-file",
        "--batch-all-objects",
        "--batch-check=%(objectname)",
    ]);
    let mut differences = Vec::new();
    for id in listing.lines() {
        let id = Oid::from_str(id).unwrap();
        let answers = |verdicts: &PackVerdicts| (verdicts.blob(id), verdicts.tree(id));
        if answers(&full) != answers(&windows) || answers(&full) != answers(&checked) {
            differences.push(format!(
                "{id}: full {:?}, windows {:?}, checked {:?}",
                answers(&full),
                answers(&windows),
                answers(&checked)
            ));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    let (full_stats, window_stats) = (full.stats(), windows.stats());
    assert_eq!(full_stats.candidate_blobs, window_stats.candidate_blobs);
    assert_eq!(full_stats.clean_trees, window_stats.clean_trees);
    eprintln!(
        "{}: searched {} of {} bytes; full {:.2} s, windows {:.2} s",
        git_dir.display(),
        window_stats.bytes_searched,
        full_stats.bytes_searched,
        full_stats.seconds,
        window_stats.seconds
    );
    windows
}

#[test]
fn window_mode_verdicts_equal_full_mode_on_deep_delta_chains() {
    let mut history = History::new(5);
    history.commit(60);
    let repo = &history.repo;
    repo.git_ok(&["repack", "-adfq", "--depth=250", "--window=250"]);
    let git_dir = repo.path.join(".git");
    let windows = assert_window_mode_equals_full(repo, &git_dir);
    let stats = windows.stats();
    assert!(
        stats.bytes_searched * 4 < stats.traversal.bytes_reconstructed,
        "window mode searched {} of {} bytes",
        stats.bytes_searched,
        stats.traversal.bytes_reconstructed
    );
    assert!(stats.candidate_blobs > 10 && stats.clean_blobs > 50);
    // REF_DELTA entries, and the window mode as the libgit2 reference sees it.
    repo.git_ok(&["-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq"]);
    let windows = assert_window_mode_equals_full(repo, &git_dir);
    assert_verdicts_equal_reference(repo, &git_dir, &windows);
}

/// A copy of a small repository whose pack can be damaged.
fn damaged_copy(
    repo: &Repo,
    name: &str,
    damage: impl FnOnce(&Path, Vec<u8>) -> Vec<u8>,
) -> PathBuf {
    let copy = repo.sibling(name);
    repo.git_ok(&["clone", "-q", "--bare", ".", copy.to_str().unwrap()]);
    let pack = index_paths(&copy)[0].with_extension("pack");
    let bytes = std::fs::read(&pack).unwrap();
    let damaged = damage(&pack, bytes);
    std::fs::remove_file(&pack).unwrap();
    std::fs::write(&pack, damaged).unwrap();
    copy
}

#[test]
fn a_damaged_pack_is_an_error_naming_it_not_a_panic() {
    let mut history = History::new(4);
    history.commit(12);
    let repo = &history.repo;
    repo.git_ok(&["repack", "-adfq"]);
    let truncated = damaged_copy(repo, "truncated.git", |_, mut bytes| {
        bytes.truncate(bytes.len() * 2 / 3);
        bytes
    });
    // A byte flipped in the middle of the data of each delta entry that git lists.
    let flipped = damaged_copy(repo, "flipped.git", |pack, mut bytes| {
        let listing = repo.git_ok(&["verify-pack", "-v", pack.to_str().unwrap()]);
        let mut flips = 0;
        for line in listing.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // id type size size-in-pack offset depth base
            if fields.len() == 7 && fields[1] == "blob" {
                let in_pack: usize = fields[3].parse().unwrap();
                let offset: usize = fields[4].parse().unwrap();
                if in_pack > 16 {
                    bytes[offset + in_pack / 2] ^= 0x5a;
                    flips += 1;
                }
            }
        }
        assert!(flips > 0, "no delta entry found:\n{listing}");
        bytes
    });
    for copy in [truncated, flipped] {
        let err = match PackVerdicts::compute(&copy) {
            Ok(_) => panic!("{} was read without an error", copy.display()),
            Err(err) => format!("{err:#}"),
        };
        assert!(err.contains(".pack"), "{err}");
    }
}

/// An object id printed by git, as bytes.
fn id_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

/// Every object of the repository at `git_dir` as git reads it (type and content, by id), from
/// one `git cat-file --batch-all-objects --batch`.
fn all_objects(repo: &Repo, git_dir: &Path) -> HashMap<String, (String, Vec<u8>)> {
    let output = common::clean_command("git", &repo.path)
        .args(["--git-dir", git_dir.to_str().unwrap()])
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let mut objects = HashMap::new();
    let mut rest = &output.stdout[..];
    while !rest.is_empty() {
        let newline = rest.iter().position(|&byte| byte == b'\n').unwrap();
        let header = std::str::from_utf8(&rest[..newline]).unwrap();
        let fields: Vec<&str> = header.split(' ').collect();
        let size: usize = fields[2].parse().unwrap();
        let content = rest[newline + 1..newline + 1 + size].to_vec();
        objects.insert(fields[0].to_string(), (fields[1].to_string(), content));
        rest = &rest[newline + 1 + size + 1..];
    }
    objects
}

/// The verdicts by the definitions of `Verdicts`, reading each object through `git cat-file`
/// (for SHA-256 repositories, which libgit2 cannot open): blobs and trees the packs do not hold
/// are unknown.
struct GitReference {
    objects: HashMap<String, (String, Vec<u8>)>,
    packed: HashSet<String>,
    id_len: usize,
    empty_blob: String,
    trees: HashMap<String, Verdict>,
}

impl GitReference {
    fn new(repo: &Repo, git_dir: &Path) -> GitReference {
        let mut packed = HashSet::new();
        for index in index_paths(git_dir) {
            let output = common::clean_command("git", &repo.path)
                .arg("show-index")
                .stdin(std::fs::File::open(&index).unwrap())
                .output()
                .unwrap();
            assert!(output.status.success());
            for line in String::from_utf8(output.stdout).unwrap().lines() {
                packed.insert(line.split(' ').nth(1).unwrap().to_string());
            }
        }
        let empty_blob = repo
            .git_with_input(&["hash-object", "-t", "blob", "--stdin"], "")
            .expect_code(0)
            .all()
            .trim()
            .to_string();
        GitReference {
            objects: all_objects(repo, git_dir),
            packed,
            id_len: object_format(repo).id_len(),
            empty_blob,
            trees: HashMap::new(),
        }
    }

    fn blob(&self, id: &str) -> Verdict {
        if id == self.empty_blob {
            return Verdict::Clean;
        }
        if !self.packed.contains(id) {
            return Verdict::Unknown;
        }
        if may_contain_secret(b"", &self.objects[id].1) {
            Verdict::Candidate
        } else {
            Verdict::Clean
        }
    }

    fn tree(&mut self, id: &str) -> Verdict {
        if !self.packed.contains(id) {
            return Verdict::Unknown;
        }
        if let Some(&known) = self.trees.get(id) {
            return known;
        }
        // Tree entries: `mode name\0` and the raw id.
        let mut entries = Vec::new();
        let mut rest = &self.objects[id].1[..];
        while !rest.is_empty() {
            let space = rest.iter().position(|&byte| byte == b' ').unwrap();
            let nul = rest.iter().position(|&byte| byte == 0).unwrap();
            let child: String = rest[nul + 1..nul + 1 + self.id_len]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            entries.push((rest[..space].to_vec(), rest[space + 1..nul].to_vec(), child));
            rest = &rest[nul + 1 + self.id_len..];
        }
        let mut verdict = Verdict::Clean;
        for (mode, name, child) in entries {
            let clean = !name_may_hold_token(&name)
                && match &mode[..] {
                    b"40000" => self.tree(&child) == Verdict::Clean,
                    b"160000" => true,
                    _ => {
                        !["credentials", "credentials.toml", "config", "config.toml"]
                            .iter()
                            .any(|credentials| name == credentials.as_bytes())
                            && self.blob(&child) == Verdict::Clean
                    }
                };
            if !clean {
                verdict = Verdict::Candidate;
                break;
            }
        }
        self.trees.insert(id.to_string(), verdict);
        verdict
    }
}

/// Compares `verdicts` (looked up by raw id and by hexadecimal id) with the git reference on
/// every blob and tree of the repository; returns how many blobs and trees were clean and
/// candidates.
fn assert_verdicts_equal_git_reference(
    repo: &Repo,
    git_dir: &Path,
    verdicts: &PackVerdicts,
) -> [usize; 4] {
    let mut reference = GitReference::new(repo, git_dir);
    let mut listing: Vec<(String, String)> = reference
        .objects
        .iter()
        .map(|(id, (kind, _))| (id.clone(), kind.clone()))
        .collect();
    listing.sort();
    let mut counts = [0; 4];
    let mut differences = Vec::new();
    for (id, kind) in listing {
        let bytes = id_bytes(&id);
        assert_eq!(bytes.len(), reference.id_len, "{id}");
        if verdicts.blob_verdict_hex(&id) != verdicts.blob_verdict(&bytes) {
            differences.push(format!("{id}: by hex and by bytes differ"));
        }
        let (ours, theirs, slot) = match kind.as_str() {
            "blob" => (verdicts.blob_verdict(&bytes), reference.blob(&id), 0),
            "tree" => (verdicts.tree_verdict(&bytes), reference.tree(&id), 2),
            _ => {
                assert_eq!(verdicts.blob_verdict(&bytes), Verdict::Unknown);
                assert_eq!(verdicts.tree_verdict(&bytes), Verdict::Unknown);
                continue;
            }
        };
        match theirs {
            Verdict::Clean => counts[slot] += 1,
            Verdict::Candidate => counts[slot + 1] += 1,
            Verdict::Unknown => {}
        }
        if ours != theirs {
            differences.push(format!("{kind} {id}: {ours:?}, reference {theirs:?}"));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    counts
}

/// Computes the verdicts of a SHA-256 repository in full, checked and window mode, and
/// compares each with the git reference.
fn assert_sha256_verdicts_equal_git_reference(repo: &Repo, git_dir: &Path) -> [usize; 4] {
    let mut all_counts = Vec::new();
    for mode in [ScanMode::Full, ScanMode::Checked, ScanMode::Windows] {
        let verdicts = PackVerdicts::compute_format(git_dir, ObjectFormat::Sha256, mode)
            .unwrap_or_else(|err| panic!("{mode:?}: {err:#}"));
        all_counts.push(assert_verdicts_equal_git_reference(
            repo, git_dir, &verdicts,
        ));
    }
    assert!(all_counts.windows(2).all(|pair| pair[0] == pair[1]));
    all_counts[0]
}

#[test]
fn sha256_pack_verdicts_equal_the_git_reference() {
    let mut history = History::in_format(3, SHA256);
    history.commit(40);
    history
        .repo
        .git_ok(&["repack", "-adfq", "--depth=250", "--window=250"]);
    // Loose objects on top: a new blob with a token, one clean, and the trees holding them.
    history.commit(2);
    let repo = &history.repo;
    let git_dir = repo.path.join(".git");
    let [clean_blobs, candidate_blobs, clean_trees, candidate_trees] =
        assert_sha256_verdicts_equal_git_reference(repo, &git_dir);
    assert!(
        clean_blobs > 50 && candidate_blobs > 10,
        "{clean_blobs} {candidate_blobs}"
    );
    assert!(
        clean_trees > 10 && candidate_trees > 10,
        "{clean_trees} {candidate_trees}"
    );
    let verdicts =
        PackVerdicts::compute_format(&git_dir, ObjectFormat::Sha256, ScanMode::Windows).unwrap();
    assert!(verdicts.stats().traversal.deltas > 100);
    let id = |revision: &str| repo.git_ok(&["rev-parse", revision]).trim().to_string();
    let loose = id("HEAD:src/lib.rs");
    assert_eq!(loose.len(), 64);
    assert_eq!(verdicts.blob_verdict_hex(&loose), Verdict::Unknown);
    assert_eq!(
        verdicts.tree_verdict(&id_bytes(&id("HEAD^{tree}"))),
        Verdict::Unknown
    );
    assert_eq!(
        verdicts.tree_verdict(&id_bytes(&id("HEAD~5:clean"))),
        Verdict::Clean
    );
    assert_eq!(
        verdicts.blob_verdict_hex(&id("HEAD:empty.txt")),
        Verdict::Clean
    );
    // A SHA-1 id, or a SHA-256 one cut short, is nothing the packs hold.
    assert_eq!(
        verdicts.blob_verdict_hex(&id("HEAD~5:big.txt")[..40]),
        Verdict::Unknown
    );
    // REF_DELTA entries, whose bases are named by 32-byte ids.
    repo.git_ok(&["-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq"]);
    let ref_verdicts =
        PackVerdicts::compute_format(&git_dir, ObjectFormat::Sha256, ScanMode::Windows).unwrap();
    assert!(ref_verdicts.stats().traversal.deltas > 100);
    assert_sha256_verdicts_equal_git_reference(repo, &git_dir);
}

#[test]
fn a_sha256_pack_index_finds_every_object_git_lists_at_its_offset() {
    let mut history = History::in_format(6, SHA256);
    history.commit(8);
    let repo = &history.repo;
    repo.git_ok(&["repack", "-adq"]);
    let paths = index_paths(&repo.path.join(".git"));
    assert_eq!(paths.len(), 1);
    let index = PackIndex::open(&paths[0], ObjectFormat::Sha256).unwrap();
    assert_eq!(index.id_len(), 32);
    let output = common::clean_command("git", &repo.path)
        .arg("show-index")
        .stdin(std::fs::File::open(&paths[0]).unwrap())
        .output()
        .unwrap();
    assert!(output.status.success());
    let listing = String::from_utf8(output.stdout).unwrap();
    let mut count = 0;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let id = id_bytes(fields[1]);
        assert_eq!(id.len(), 32, "{line}");
        let position = index
            .find(&id)
            .unwrap_or_else(|| panic!("{line}: not found"));
        assert_eq!(index.id(position), &id[..]);
        assert_eq!(
            index.offset(position).unwrap(),
            fields[0].parse::<u64>().unwrap()
        );
        // The first 20 bytes of an id name nothing in a SHA-256 index.
        assert_eq!(index.find(&id[..20]), None);
        count += 1;
    }
    assert_eq!(index.len(), count);
    assert!(count > 30, "{count} objects");
}

/// The read-only mirrors of public repositories, when this machine has them.
fn mirrors() -> Vec<PathBuf> {
    let mirrors: Vec<PathBuf> = [
        "rust-lang+cargo",
        "crate-ci+typos",
        "rust-lang+crates.io",
        "rust-lang+rust-analyzer",
    ]
    .iter()
    .map(|name| Path::new("/work/.mirror").join(name).join("repo"))
    .filter(|path| path.join("objects/pack").is_dir())
    .collect();
    assert!(
        !mirrors.is_empty(),
        "these checks need at least one bare mirror under /work/.mirror, such as \
         `git clone --mirror https://github.com/rust-lang/cargo /work/.mirror/rust-lang+cargo/repo`"
    );
    mirrors
}

#[test]
#[ignore = "reads every object of large public repositories (minutes)"]
fn window_mode_verdicts_equal_full_mode_on_the_mirrors() {
    let repo = Repo::new();
    for git_dir in mirrors() {
        assert_window_mode_equals_full(&repo, &git_dir);
    }
}

#[test]
#[ignore = "reads every object of large public repositories (minutes)"]
fn pack_verdicts_equal_the_libgit2_reference_on_the_mirrors() {
    let repo = Repo::new();
    for git_dir in mirrors() {
        let verdicts = PackVerdicts::compute(&git_dir).unwrap();
        let counts = assert_verdicts_equal_reference(&repo, &git_dir, &verdicts);
        eprintln!(
            "{}: equal to the reference; blobs clean/candidate {}/{}, trees {}/{}",
            git_dir.display(),
            counts[0],
            counts[1],
            counts[2],
            counts[3]
        );
    }
}

#[test]
#[ignore = "reads every object of large public repositories (minutes)"]
fn every_object_of_the_mirrors_hashes_to_its_id() {
    for git_dir in mirrors() {
        let started = std::time::Instant::now();
        let (seen, _, _) = reconstruct_all(&git_dir);
        let seconds = started.elapsed().as_secs_f64();
        let wrong = seen.iter().filter(|(_, hashes)| !hashes).count();
        eprintln!(
            "{}: {} objects in {seconds:.2} s ({:.0} objects/s), {wrong} wrong",
            git_dir.display(),
            seen.len(),
            seen.len() as f64 / seconds
        );
        assert_eq!(wrong, 0, "{}", git_dir.display());
    }
}
