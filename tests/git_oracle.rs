//! git is the oracle: on generated repositories of many shapes, cio-hook's libgit2 answers must
//! equal what the git CLI says — the lines `git diff --cached -U0 --no-renames` and
//! `git show -U0 --no-renames` add (cio-hook treats a renamed file as new on purpose), and the
//! commits `git rev-list LOCAL --not --remotes=R` lists.
//!
//! Every generated line that matters holds a unique token, so "the lines a change adds that hold
//! a token" is exactly the set of cio-hook's findings.

mod common;

use std::collections::BTreeSet;

use common::{api_token, history_finding_numbers, json_findings, long_history_stream, Repo, Rng};

/// Lines that recur in real files, so that diffs have ambiguous alignments to resolve.
const COMMON_LINES: &[&str] = &["}", "", "    }", "fn main() {", "[dependencies]", "# notes"];

fn random_line(rng: &mut Rng) -> String {
    if rng.chance(45) {
        format!("key_{} = \"{}\"", rng.below(5), api_token(rng.seed()))
    } else {
        COMMON_LINES[rng.below(COMMON_LINES.len())].to_string()
    }
}

fn random_file(rng: &mut Rng) -> Vec<String> {
    (0..1 + rng.below(30)).map(|_| random_line(rng)).collect()
}

fn write_lines(repo: &Repo, path: &str, lines: &[String]) {
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    repo.write(path, text);
}

fn read_lines(repo: &Repo, path: &str) -> Vec<String> {
    std::fs::read_to_string(repo.path.join(path))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Random edits to the working tree: line inserts, deletes and rewrites, moved blocks, new,
/// deleted and renamed files.
fn mutate(repo: &Repo, rng: &mut Rng, files: &mut Vec<String>, next_file: &mut usize) {
    for _ in 0..1 + rng.below(4) {
        match rng.below(10) {
            0 => {
                let path = format!("dir{}/new{}.txt", rng.below(3), next_file);
                *next_file += 1;
                write_lines(repo, &path, &random_file(rng));
                files.push(path);
            }
            1 if files.len() > 1 => {
                let path = files.remove(rng.below(files.len()));
                std::fs::remove_file(repo.path.join(&path)).unwrap();
            }
            2 if !files.is_empty() => {
                let index = rng.below(files.len());
                let new_path = format!("moved{}/{}.txt", rng.below(2), next_file);
                *next_file += 1;
                std::fs::create_dir_all(repo.path.join(&new_path).parent().unwrap()).unwrap();
                std::fs::rename(repo.path.join(&files[index]), repo.path.join(&new_path)).unwrap();
                files[index] = new_path;
            }
            _ if !files.is_empty() => {
                let path = files[rng.below(files.len())].clone();
                let mut lines = read_lines(repo, &path);
                for _ in 0..1 + rng.below(6) {
                    let at = rng.below(lines.len() + 1);
                    match rng.below(4) {
                        0 => lines.insert(at, random_line(rng)),
                        1 if at < lines.len() => {
                            lines.remove(at);
                        }
                        2 if at < lines.len() => lines[at] = random_line(rng),
                        _ if !lines.is_empty() => {
                            let copy = lines[rng.below(lines.len())].clone();
                            lines.insert(at, copy);
                        }
                        _ => {}
                    }
                }
                write_lines(repo, &path, &lines);
            }
            _ => {}
        }
    }
}

/// `(path, new line number)` of every added line holding a token, from `git … -U0` output.
fn added_token_lines(patch: &str) -> BTreeSet<(String, u64)> {
    let mut found = BTreeSet::new();
    let mut path = String::new();
    let mut line = 0u64;
    for text in patch.lines() {
        if let Some(rest) = text.strip_prefix("+++ ") {
            path = rest.strip_prefix("b/").unwrap_or(rest).to_string();
        } else if let Some(header) = text.strip_prefix("@@ ") {
            let new_side = header.split(' ').nth(1).unwrap().trim_start_matches('+');
            line = new_side.split(',').next().unwrap().parse().unwrap();
        } else if let Some(added) = text.strip_prefix('+') {
            if added.contains("\"cio") {
                found.insert((path.clone(), line));
            }
            line += 1;
        }
    }
    found
}

fn cio_hook_lines(stdout: &str) -> BTreeSet<(String, u64)> {
    json_findings(stdout)
        .into_iter()
        .map(|(path, line, _)| (path, line))
        .collect()
}

#[test]
fn staged_and_committed_added_lines_match_git() {
    let compared = staged_and_committed_lines_match_git(&[], 0..40);
    assert!(
        compared > 200,
        "too few added token lines compared: {compared}"
    );
}

/// Git 3.0's formats: SHA-256 objects, reftable refs, and both, as `git init` arguments.
const GIT3_FORMATS: [&[&str]; 3] = [
    &["--object-format=sha256"],
    &["--ref-format=reftable"],
    &["--object-format=sha256", "--ref-format=reftable"],
];

#[test]
fn staged_and_committed_added_lines_match_git_in_every_format() {
    for (first, format) in (100..).step_by(12).zip(GIT3_FORMATS) {
        let compared = staged_and_committed_lines_match_git(format, first..first + 12);
        assert!(
            compared > 50,
            "{format:?}: too few lines compared: {compared}"
        );
    }
}

/// The generated shapes of [`staged_and_committed_added_lines_match_git`] in repositories made
/// with `format`, one per seed; returns how many added token lines were compared.
fn staged_and_committed_lines_match_git(format: &[&str], seeds: std::ops::Range<u64>) -> usize {
    let mut compared = 0;
    for seed in seeds {
        let mut rng = Rng::new(seed);
        let repo = Repo::in_format(format);
        // Index formats: v4 path compression and no checksum, besides the default.
        match seed % 3 {
            1 => repo.git_ok(&["config", "index.version", "4"]),
            2 => repo.git_ok(&["config", "index.skipHash", "true"]),
            _ => String::new(),
        };
        let mut files = Vec::new();
        let mut next_file = 0;
        for index in 0..1 + rng.below(4) {
            let path = format!("f{index}.toml");
            write_lines(&repo, &path, &random_file(&mut rng));
            files.push(path);
        }
        repo.git_ok(&["add", "-A"]);
        if rng.chance(70) {
            repo.git_ok(&["commit", "-q", "--no-verify", "-m", "base"]);
        }
        for round in 0..3 {
            mutate(&repo, &mut rng, &mut files, &mut next_file);
            repo.git_ok(&["add", "-A"]);
            let patch = repo.git_ok(&["diff", "--cached", "-U0", "--no-renames"]);
            let expected = added_token_lines(&patch);
            let staged = repo.cio_hook(&["scan-staged", "--format", "json"]);
            assert_eq!(
                cio_hook_lines(&staged.stdout),
                expected,
                "seed {seed} round {round}: scan-staged vs git diff --cached -U0 --no-renames\n{patch}"
            );
            repo.git_ok(&[
                "commit",
                "-q",
                "--no-verify",
                "--allow-empty",
                "-m",
                "change",
            ]);
            let has_parent = repo.git(&["rev-parse", "-q", "--verify", "HEAD~1"]).code == 0;
            let range = if has_parent { "HEAD~1..HEAD" } else { "HEAD" };
            let expected = added_token_lines(&repo.git_ok(&[
                "show",
                "--format=",
                "-U0",
                "--no-renames",
                "HEAD",
            ]));
            let committed = repo.cio_hook(&["scan-range", range, "--format", "json"]);
            assert_eq!(
                cio_hook_lines(&committed.stdout),
                expected,
                "seed {seed} round {round}: scan-range vs git show -U0 --no-renames"
            );
            compared += expected.len();
        }
    }
    compared
}

#[test]
fn commits_new_to_a_remote_match_git_rev_list() {
    commits_new_to_a_remote_match_rev_list(&[], 1000..1012);
}

#[test]
fn commits_new_to_a_remote_match_git_rev_list_in_every_format() {
    for (first, format) in (2000..).step_by(4).zip(GIT3_FORMATS) {
        commits_new_to_a_remote_match_rev_list(format, first..first + 4);
    }
}

/// The generated pushes of [`commits_new_to_a_remote_match_git_rev_list`], in repositories (and
/// remotes) made with `format`, one per seed.
fn commits_new_to_a_remote_match_rev_list(format: &[&str], seeds: std::ops::Range<u64>) {
    for seed in seeds {
        let mut rng = Rng::new(seed);
        let repo = Repo::in_format(format);
        let remote = repo.sibling("remote.git");
        let mut init = vec!["init", "-q", "--bare"];
        init.extend_from_slice(format);
        init.push(remote.to_str().unwrap());
        repo.git_ok(&init);
        repo.git_ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
        let mut branches = vec!["main".to_string()];
        // Every commit message holds a token, so every scanned commit yields one finding.
        let commit = |repo: &Repo, rng: &mut Rng| {
            let message = format!("change {}", api_token(rng.seed()));
            let file = format!("f{}.txt", rng.below(5));
            repo.write(&file, format!("{}\n", rng.seed()));
            repo.git_ok(&["add", "-A"]);
            repo.git_ok(&["commit", "-q", "--no-verify", "-m", &message]);
        };
        for _ in 0..2 + rng.below(4) {
            commit(&repo, &mut rng);
        }
        for step in 0..12 {
            match rng.below(6) {
                0 => {
                    let name = format!("b{step}");
                    repo.git_ok(&["checkout", "-q", "-b", &name]);
                    branches.push(name);
                }
                1 if branches.len() > 1 => {
                    let other = branches[rng.below(branches.len())].clone();
                    repo.git(&["merge", "-q", "--no-edit", "--no-verify", &other]);
                    if repo
                        .git(&["diff", "--name-only", "--diff-filter=U"])
                        .stdout
                        .is_empty()
                    {
                        continue;
                    }
                    repo.git_ok(&["merge", "--abort"]);
                }
                2 => {
                    let branch = &branches[rng.below(branches.len())];
                    repo.git_ok(&["push", "-q", "--no-verify", "origin", branch]);
                }
                3 => {
                    let branch = branches[rng.below(branches.len())].clone();
                    repo.git_ok(&["checkout", "-q", &branch]);
                }
                _ => commit(&repo, &mut rng),
            }
        }
        for branch in &branches {
            let local_oid = repo.git_ok(&["rev-parse", branch]).trim().to_string();
            let zero = "0".repeat(local_oid.len());
            let input = format!("refs/heads/{branch} {local_oid} refs/heads/{branch} {zero}\n");
            let expected: BTreeSet<String> = repo
                .git_ok(&["rev-list", branch, "--not", "--remotes=origin"])
                .lines()
                .map(str::to_string)
                .collect();
            let run = repo.cio_hook_with_input(
                &[
                    "pre-push",
                    "origin",
                    remote.to_str().unwrap(),
                    "--format",
                    "json",
                ],
                &input,
            );
            let scanned: BTreeSet<String> = json_findings(&run.stdout)
                .into_iter()
                .filter(|(path, _, _)| path == "(commit message)")
                .map(|(_, _, oid)| oid)
                .collect();
            assert_eq!(scanned, expected, "seed {seed}, branch {branch}");
        }
    }
}

#[test]
fn long_histories_are_scanned_in_parallel_in_history_order() {
    let repo = Repo::new();
    // 2,400 commits through fast-import (enough for two workers); every seventh adds a token.
    let (stream, expected) = long_history_stream(2400);
    repo.git_with_input(&["fast-import", "--quiet"], &stream)
        .expect_code(0);
    let subjects = history_finding_numbers(&repo, 2400);
    assert_eq!(subjects, expected);
}
