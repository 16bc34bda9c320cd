//! No false alarms on real code (issue 12): cio-hook over public Rust repositories, when their
//! mirrors are on this machine. rust-lang/cargo and cargo-bins/cargo-binstall raise no blocking
//! finding, on their HEAD trees or in their histories; rust-lang/crates.io raises exactly one
//! secret, its own Trusted Publishing test token (`crates/crates_io_trustpub/src/access_token.rs`).
//!
//! Mirrors are bare git directories at `$CIO_HOOK_MIRRORS/<owner>+<name>/repo` (by default
//! under `/work/.mirror`); a test whose mirror is missing says so and checks nothing. History
//! scans take minutes, so these tests are ignored by default. Run them with
//! `cargo test --release --test real_repositories -- --ignored --nocapture --test-threads 1`.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{binary, clean_command, Run};
use serde_json::Value;

/// The bare git directory of a mirrored repository, or `None` (with a message) when absent.
fn mirror(name: &str) -> PathBuf {
    let root = std::env::var_os("CIO_HOOK_MIRRORS")
        .map_or_else(|| PathBuf::from("/work/.mirror"), PathBuf::from);
    let path = root.join(name.replace('/', "+")).join("repo");
    assert!(
        path.join("HEAD").is_file(),
        "this check needs a bare mirror of {name} at {}: `git clone --mirror \
         https://github.com/{name} {}`, or set CIO_HOOK_MIRRORS to a folder holding one",
        path.display(),
        path.display()
    );
    path
}

fn git(dir: &Path, args: &[&str]) -> Run {
    let run = Run::from_output(clean_command("git", dir).args(args).output().unwrap());
    run.expect_code(0);
    run
}

/// One finding of a JSON report, as the assertions need it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    rule: String,
    path: String,
    status: String,
    fingerprint: String,
}

/// Runs cio-hook with `args` in `dir` and returns the report's findings and commit count.
fn scan(dir: &Path, args: &[&str]) -> (Vec<Found>, u64) {
    let run = Run::from_output(
        clean_command(binary(), dir)
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap(),
    );
    assert!(run.code == 0 || run.code == 1, "{args:?}: {}", run.all());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| Found {
            rule: finding["rule"]["id"].as_str().unwrap().to_string(),
            path: finding["path"].as_str().unwrap().to_string(),
            status: finding["status"]["kind"].as_str().unwrap().to_string(),
            fingerprint: finding["fingerprint"].as_str().unwrap().to_string(),
        })
        .collect();
    (findings, report["commits_scanned"].as_u64().unwrap_or(0))
}

/// Prints the figures of one scan and returns its blocking findings.
fn summary(what: &str, findings: &[Found], commits: u64) -> Vec<Found> {
    let blocking: Vec<Found> = findings
        .iter()
        .filter(|found| found.status == "blocking")
        .cloned()
        .collect();
    let placeholders = findings
        .iter()
        .filter(|f| f.status == "placeholder")
        .count();
    println!(
        "{what}: {} findings, {} blocking, {placeholders} placeholders{}",
        findings.len(),
        blocking.len(),
        if commits > 0 {
            format!(", {commits} commits")
        } else {
            String::new()
        }
    );
    for found in &blocking {
        println!(
            "  blocking: {} {} {}",
            found.rule, found.path, found.fingerprint
        );
    }
    blocking
}

/// A new bare repository in `dir` that borrows `mirror`'s objects (alternates), so that nothing
/// is ever written into the mirror.
fn borrowing_repository(mirror: &Path, dir: &Path) -> PathBuf {
    let copy = dir.join("borrowing.git");
    git(dir, &["init", "-q", "--bare", copy.to_str().unwrap()]);
    let alternates = copy.join("objects/info/alternates");
    let objects = mirror.join("objects");
    std::fs::write(&alternates, format!("{}\n", objects.display())).unwrap();
    copy
}

/// The mirror's HEAD tree scanned twice: as files (`scan-path` over a `git archive` checkout,
/// which respects .gitignore files as it would in a working tree), and as git sees it (one
/// parentless commit of that tree, every tracked file added, through `scan-range`). Both must
/// agree; returns the blocking findings.
fn scan_head_tree(mirror: &Path, name: &str) -> Vec<Found> {
    let dir = tempfile::tempdir().unwrap();
    let copy = borrowing_repository(mirror, dir.path());
    let tree = git(mirror, &["rev-parse", "HEAD^{tree}"]).stdout;
    let commit = git(&copy, &["commit-tree", "-m", "HEAD tree", tree.trim()]).stdout;
    let (findings, _) = scan(&copy, &["scan-range", commit.trim()]);
    let as_commit = summary(&format!("{name} HEAD tree as one commit"), &findings, 0);
    let as_files = scan_checkout(mirror, name, dir.path());
    assert_eq!(as_commit, as_files, "{name}: the two scans of HEAD differ");
    as_files
}

/// `scan-path` over a checkout of the mirror's HEAD tree made with `git archive` in `dir`.
fn scan_checkout(mirror: &Path, name: &str, dir: &Path) -> Vec<Found> {
    let tree = dir.join("tree");
    std::fs::create_dir(&tree).unwrap();
    let archive = dir.join("head.tar");
    git(
        mirror,
        &[
            "archive",
            "--format=tar",
            "-o",
            archive.to_str().unwrap(),
            "HEAD",
        ],
    );
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&tree)
        .status()
        .unwrap();
    assert!(
        untar.success(),
        "tar could not unpack the HEAD tree of {name}"
    );
    let (findings, _) = scan(&tree, &["scan-path", "."]);
    summary(&format!("{name} HEAD tree as files"), &findings, 0)
}

/// `scan-history` of every ref of the mirror.
fn scan_history(git_dir: &Path, name: &str) -> Vec<Found> {
    let (findings, commits) = scan(git_dir, &["scan-history"]);
    summary(&format!("{name} history"), &findings, commits)
}

/// The objects the mirror's history refers to but does not hold.
fn missing_objects(mirror: &Path) -> Vec<String> {
    git(
        mirror,
        &["rev-list", "--objects", "--all", "--missing=print"],
    )
    .stdout
    .lines()
    .filter_map(|line| line.strip_prefix('?'))
    .map(str::to_string)
    .collect()
}

/// A copy of the mirror's history in which every missing blob is the empty blob: `git
/// fast-export --no-data` (which names blobs without reading them), the missing ids replaced,
/// `git fast-import` into a new repository that borrows the mirror's objects (alternates).
fn rebuilt_without_missing_blobs(mirror: &Path, missing: &[String], into: &Path) -> PathBuf {
    const EMPTY_BLOB: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
    let copy = borrowing_repository(mirror, into);
    let empty = Run::from_output(
        clean_command("git", &copy)
            .args(["hash-object", "-w", "--stdin"])
            .output()
            .unwrap(),
    );
    assert_eq!(empty.stdout.trim(), EMPTY_BLOB);
    let export = clean_command("git", mirror)
        .args(["fast-export", "--all", "--no-data", "--signed-tags=strip"])
        .args(["--reencode=no"])
        .output()
        .unwrap();
    assert!(export.status.success(), "fast-export failed");
    let mut stream = export.stdout;
    for id in missing {
        let id = id.as_bytes();
        let mut at = 0;
        while let Some(found) = memchr::memmem::find(&stream[at..], id) {
            stream[at + found..at + found + id.len()].copy_from_slice(EMPTY_BLOB.as_bytes());
            at += found + id.len();
        }
    }
    let mut import = clean_command("git", &copy)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    import.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(import.wait().unwrap().success(), "fast-import failed");
    let head = git(mirror, &["symbolic-ref", "HEAD"]).stdout;
    git(&copy, &["symbolic-ref", "HEAD", head.trim()]);
    copy
}

#[test]
#[ignore = "minutes: scans whole histories of mirrored public repositories"]
fn cargo_raises_no_blocking_finding() {
    let mirror = mirror("rust-lang/cargo");
    assert_eq!(scan_head_tree(&mirror, "rust-lang/cargo"), Vec::new());
    assert_eq!(scan_history(&mirror, "rust-lang/cargo"), Vec::new());
}

#[test]
#[ignore = "minutes: scans whole histories of mirrored public repositories"]
fn cargo_binstall_raises_no_blocking_finding() {
    let mirror = mirror("cargo-bins/cargo-binstall");
    assert_eq!(
        scan_head_tree(&mirror, "cargo-bins/cargo-binstall"),
        Vec::new()
    );
    assert_eq!(
        scan_history(&mirror, "cargo-bins/cargo-binstall"),
        Vec::new()
    );
}

#[test]
#[ignore = "minutes: scans whole histories of mirrored public repositories"]
fn crates_io_raises_only_its_trusted_publishing_test_token() {
    let mirror = mirror("rust-lang/crates.io");
    let head = scan_head_tree(&mirror, "rust-lang/crates.io");
    assert_eq!(head.len(), 1, "{head:#?}");
    assert_eq!(head[0].rule, "crates-io-trusted-publishing-token");
    assert_eq!(
        head[0].path,
        "crates/crates_io_trustpub/src/access_token.rs"
    );

    let missing = missing_objects(&mirror);
    let dir = tempfile::tempdir().unwrap();
    let history_dir = if missing.is_empty() {
        mirror.clone()
    } else {
        println!(
            "rust-lang/crates.io: {} objects missing from the mirror; scanning a rebuilt copy \
             in which they are empty blobs",
            missing.len()
        );
        rebuilt_without_missing_blobs(&mirror, &missing, dir.path())
    };
    let history = scan_history(&history_dir, "rust-lang/crates.io");
    let secrets: BTreeSet<(&str, &str)> = history
        .iter()
        .map(|found| (found.rule.as_str(), found.fingerprint.as_str()))
        .collect();
    assert_eq!(
        secrets,
        BTreeSet::from([(head[0].rule.as_str(), head[0].fingerprint.as_str())]),
        "{history:#?}"
    );
}
