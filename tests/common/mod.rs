//! Test support: real repositories made with the real `git` CLI in temporary directories, with
//! the freshly built `cio-hook` first on PATH so that installed hooks run it.
//!
//! Tokens are generated at run time from a seed, so that no token-shaped literal is committed.

#![allow(dead_code)]

pub mod servers;
pub mod verdicts;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// 32 random-looking alphanumerics from a seed (a 64-bit LCG; good enough for test data).
pub fn random_alphanumerics(seed: u64, len: usize) -> String {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ALPHANUMERIC[((state >> 33) % 62) as usize] as char
        })
        .collect()
}

/// A well-formed crates.io API token, different for each seed.
pub fn api_token(seed: u64) -> String {
    format!("{}{}", "cio", random_alphanumerics(seed, 32))
}

/// A well-formed Trusted Publishing token (valid checksum), different for each seed.
pub fn trusted_publishing_token(seed: u64) -> String {
    let random = random_alphanumerics(seed, 31);
    let xor = random.bytes().fold(0u8, |acc, byte| acc ^ byte);
    let checksum = ALPHANUMERIC[usize::from(xor) % 62] as char;
    format!("{}{random}{checksum}", "cio_tp_")
}

/// Standard base64 with padding, for tests that hide a token in encoded data.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let bits = u32::from_be_bytes([0, group[0], group[1], group[2]]);
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(ALPHABET[(bits >> (18 - 6 * index) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `text` as UTF-16 little-endian with a byte order mark, as Windows editors save it.
pub fn utf16_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

/// The path of the `cio-hook` binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cio-hook"))
}

/// The checkout's root (where install.sh and hooks/ live).
pub fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// PATH with the binary under test first.
fn test_path() -> String {
    let bin_dir = binary().parent().unwrap().to_path_buf();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A command with an environment that no outer git (a hook running `cargo test`) or user
/// configuration leaks into.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .env("PATH", test_path())
        .env_remove("CARGO_INSTALL_ROOT");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GIT_") {
            command.env_remove(&key);
        }
    }
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Output of a finished command, for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Both streams, for searching.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the output when the exit code differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that no full token appears, and returns self for chaining.
    pub fn expect_no_full_token(&self, tokens: &[&str]) -> &Run {
        let all = self.all();
        for token in tokens {
            assert!(!all.contains(token), "full token printed:\n{all}");
        }
        self
    }

    pub fn expect_contains(&self, needle: &str) -> &Run {
        assert!(
            self.all().contains(needle),
            "{needle:?} not in:\n{}",
            self.all()
        );
        self
    }
}

/// Runs `command` with `input` on its standard input.
pub fn run_with_input(command: &mut Command, input: &str) -> Run {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Run::from_output(child.wait_with_output().unwrap())
}

/// A git repository in a temporary directory.
pub struct Repo {
    _dir: TempDir,
    pub path: PathBuf,
}

impl Repo {
    /// A new, empty repository on branch `main`.
    pub fn new() -> Repo {
        Repo::in_format(&[])
    }

    /// A new, empty repository on branch `main`, made by `git init` with `format_args`
    /// (`--object-format=sha256`, `--ref-format=reftable`).
    pub fn in_format(format_args: &[&str]) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let repo = Repo { _dir: dir, path };
        let mut args = vec!["init", "-q", "-b", "main"];
        args.extend_from_slice(format_args);
        repo.git_ok(&args);
        repo.git_ok(&["config", "commit.gpgsign", "false"]);
        repo
    }

    /// The same history in a new repository of `format_args` (through `git fast-export --all |
    /// git fast-import`), with each commit id of this repository mapped to the copy's.
    pub fn converted(
        &self,
        format_args: &[&str],
    ) -> (Repo, std::collections::HashMap<String, String>) {
        let copy = Repo::in_format(format_args);
        let exported = self.sibling("exported-marks");
        let imported = copy.sibling("imported-marks");
        let pipeline = format!(
            "git -C '{}' fast-export --all --signed-tags=strip --reencode=no --export-marks='{}' \
             | git -C '{}' fast-import --quiet --export-marks='{}'",
            self.path.display(),
            exported.display(),
            copy.path.display(),
            imported.display()
        );
        Run::from_output(
            clean_command("sh", &self.path)
                .args(["-c", &pipeline])
                .output()
                .unwrap(),
        )
        .expect_code(0);
        let marks = |path: &Path| -> std::collections::HashMap<String, String> {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .filter_map(|line| line.split_once(' '))
                .map(|(mark, oid)| (mark.to_string(), oid.to_string()))
                .collect()
        };
        let (old, new) = (marks(&exported), marks(&imported));
        let map = old
            .iter()
            .filter_map(|(mark, oid)| Some((oid.clone(), new.get(mark)?.clone())))
            .collect();
        if copy.git(&["rev-parse", "-q", "--verify", "HEAD"]).code != 0 {
            // fast-import leaves HEAD where init put it; point it at the original's branch.
            let branch = self.git_ok(&["symbolic-ref", "HEAD"]);
            copy.git_ok(&["symbolic-ref", "HEAD", branch.trim()]);
        }
        (copy, map)
    }

    /// A sibling directory inside the same temporary directory.
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.path.parent().unwrap().join(name)
    }

    /// Runs git in the repository.
    pub fn git(&self, args: &[&str]) -> Run {
        self.git_in(&self.path, args)
    }

    /// Runs git in `dir`.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> Run {
        Run::from_output(clean_command("git", dir).args(args).output().unwrap())
    }

    /// Runs git in the repository with extra environment variables (`PATH`, `GIT_EDITOR`, …).
    pub fn git_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = clean_command("git", &self.path);
        command.envs(env.iter().copied()).args(args);
        Run::from_output(command.output().unwrap())
    }

    /// Runs git and panics unless it succeeds; returns stdout.
    pub fn git_ok(&self, args: &[&str]) -> String {
        let run = self.git(args);
        assert_eq!(run.code, 0, "git {args:?}:\n{}", run.all());
        run.stdout
    }

    /// Runs git with `input` on stdin.
    pub fn git_with_input(&self, args: &[&str], input: &str) -> Run {
        run_with_input(clean_command("git", &self.path).args(args), input)
    }

    /// Runs the binary under test in the repository.
    pub fn cio_hook(&self, args: &[&str]) -> Run {
        Run::from_output(
            clean_command(binary(), &self.path)
                .args(args)
                .output()
                .unwrap(),
        )
    }

    /// Runs the binary under test with `input` on stdin.
    pub fn cio_hook_with_input(&self, args: &[&str], input: &str) -> Run {
        run_with_input(clean_command(binary(), &self.path).args(args), input)
    }

    /// Writes a file (creating directories) in the working tree.
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.path.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    /// Installs the hooks with the project's install.sh, using the binary under test.
    pub fn install_hooks(&self) -> Run {
        let run = Run::from_output(
            clean_command(checkout().join("install.sh"), &self.path)
                .args(["--no-build", "--hooks", "."])
                .output()
                .unwrap(),
        );
        run.expect_code(0);
        run
    }

    /// `git commit -m MESSAGE` plus `extra` arguments, through the installed hooks.
    pub fn commit(&self, message: &str, extra: &[&str]) -> Run {
        let mut args = vec!["commit", "-q", "-m", message];
        args.extend_from_slice(extra);
        self.git(&args)
    }

    /// Writes, stages and commits a file without running hooks.
    pub fn commit_file_unchecked(&self, path: &str, content: &str, message: &str) -> String {
        self.write(path, content);
        self.git_ok(&["add", "--", path]);
        self.git_ok(&["commit", "-q", "--no-verify", "-m", message]);
        self.head()
    }

    /// Creates an empty bare repository `remote.git` next to this one and adds it as `origin`.
    pub fn add_bare_origin(&self) -> PathBuf {
        let remote = self.sibling("remote.git");
        self.git_ok(&[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ]);
        self.git_ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
        remote
    }

    /// Merges `branch` into the current branch with a merge commit, without running hooks.
    pub fn merge_without_hooks(&self, branch: &str) -> String {
        self.git_ok(&["merge", "-q", "--no-ff", "--no-verify", "--no-edit", branch]);
        self.head()
    }

    /// The number of commits on HEAD (0 when unborn).
    pub fn commit_count(&self) -> usize {
        let run = self.git(&["rev-list", "--count", "HEAD"]);
        if run.code != 0 {
            return 0;
        }
        run.stdout.trim().parse().unwrap()
    }

    /// HEAD's object id.
    pub fn head(&self) -> String {
        self.git_ok(&["rev-parse", "HEAD"]).trim().to_string()
    }
}

/// A small seeded generator for generated repositories (deterministic per seed).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn seed(&mut self) -> u64 {
        self.below(usize::MAX) as u64
    }
}

/// The findings of a JSON report as `(path, line, commit oid or "")`, sorted.
pub fn json_findings(stdout: &str) -> Vec<(String, u64, String)> {
    let report: serde_json::Value = serde_json::from_str(stdout)
        .unwrap_or_else(|err| panic!("not a JSON report ({err}):\n{stdout}"));
    let mut found: Vec<(String, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["path"].as_str().unwrap().to_string(),
                finding["line"].as_u64().unwrap_or(0),
                finding["commit"]["oid"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

/// Where a SARIF log breaks the official SARIF 2.1.0 schema (vendored in tests/sarif); empty
/// when it is valid.
pub fn sarif_schema_errors(log: &serde_json::Value) -> Vec<String> {
    let schema_path = checkout().join("tests/sarif/sarif-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(log)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect()
}

/// The author date of `revision` as reports give it, from git: `2026-03-04T05:06:07+01:00`.
pub fn iso_author_date(repo: &Repo, revision: &str) -> String {
    let date = repo.git_ok(&[
        "log",
        "-1",
        "--format=%ad",
        "--date=format:%Y-%m-%dT%H:%M:%S%z",
        revision,
    ]);
    let date = date.trim();
    format!("{}:{}", &date[..date.len() - 2], &date[date.len() - 2..])
}

/// A `git fast-import` stream of `commits` commits on main, each changing one of 55 files under
/// five directories; every seventh (numbers 3, 10, 17, …) adds a token. Returns the stream and
/// the numbers of the commits that add one (each commit's message is `commit NUMBER`).
pub fn long_history_stream(commits: u64) -> (String, Vec<u64>) {
    let mut stream = String::new();
    let mut expected = Vec::new();
    for number in 0..commits {
        let content = if number % 7 == 3 {
            expected.push(number);
            format!("value {number}\nkey = \"{}\"\n", api_token(5000 + number))
        } else {
            format!("value {number}\n")
        };
        let path = format!("dir{}/file{}.txt", number % 5, number % 11);
        let message = format!("commit {number}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter T <t@example.invalid> {} +0000\ndata {}\n{message}",
            1_600_000_000 + number,
            message.len()
        ));
        stream.push_str(&format!(
            "M 100644 inline {path}\ndata {}\n{content}\n",
            content.len()
        ));
    }
    (stream, expected)
}

/// Runs `scan-history` in `repo`, which must find tokens, and returns the numbers of the commits
/// its findings name, in report order (messages `commit NUMBER`, as [`long_history_stream`]
/// writes them), after checking that it scanned `commits` commits.
pub fn history_finding_numbers(repo: &Repo, commits: u64) -> Vec<u64> {
    let run = repo.cio_hook(&["scan-history", "--format", "json"]);
    run.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["commits_scanned"], commits);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            let subject = finding["commit"]["subject"].as_str().unwrap();
            subject.trim_start_matches("commit ").parse().unwrap()
        })
        .collect()
}
