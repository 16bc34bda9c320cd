//! The real pre-commit framework, configured with this checkout as a hook repository, builds
//! cio-hook with cargo and runs it from real `git commit` and `git push`.
//!
//! pre-commit is taken from PATH, or installed from PyPI into a virtualenv under `target/`. Its
//! cache (`PRE_COMMIT_HOME`) also lives under `target/`, so the release build of the hook happens
//! once per checkout revision. The hook is built from the checkout's committed HEAD.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{api_token, checkout, Repo, Run};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| checkout().join("target"))
}

/// A `pre-commit` executable: the one on PATH, or one installed into `target/pre-commit-venv`.
fn pre_commit() -> PathBuf {
    let on_path = Command::new("pre-commit").arg("--version").output();
    if on_path.is_ok_and(|output| output.status.success()) {
        return PathBuf::from("pre-commit");
    }
    let venv = target_dir().join("pre-commit-venv");
    let executable = venv.join("bin/pre-commit");
    if !executable.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed to install pre-commit");
        assert!(status.success(), "creating a virtualenv for pre-commit");
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "pre-commit"])
            .status()
            .unwrap();
        assert!(status.success(), "pip install pre-commit");
    }
    executable
}

/// Runs a command in the repository with the framework's cache under target/.
fn run_in(repo: &Repo, program: &std::path::Path, args: &[&str]) -> Run {
    Run::from_output(
        common::clean_command(program, &repo.path)
            .env("PRE_COMMIT_HOME", target_dir().join("pre-commit-home"))
            .args(args)
            .output()
            .unwrap(),
    )
}

fn git(repo: &Repo, args: &[&str]) -> Run {
    run_in(repo, std::path::Path::new("git"), args)
}

#[test]
fn framework_hooks_block_tokens_and_pass_clean_changes() {
    let pre_commit = pre_commit();
    let repo = Repo::new();
    let revision = Run::from_output(
        common::clean_command("git", &checkout())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap(),
    );
    revision.expect_code(0);
    repo.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: cio-hook\n      - id: cio-hook-push\n",
            checkout().display(),
            revision.stdout.trim()
        ),
    );
    run_in(
        &repo,
        &pre_commit,
        &[
            "install",
            "--hook-type",
            "pre-commit",
            "--hook-type",
            "pre-push",
        ],
    )
    .expect_code(0);

    repo.write("README.md", "# demo\n");
    git(&repo, &["add", "."]).expect_code(0);
    git(&repo, &["commit", "-q", "-m", "clean"])
        .expect_code(0)
        .expect_contains("cio-hook (crates.io tokens in staged changes)");
    assert_eq!(repo.commit_count(), 1);

    // An unstaged token beside a clean staged change: the framework stashes it, cio-hook reads
    // the index, the commit passes, and the unstaged edit is back afterwards.
    let unstaged = api_token(61);
    repo.write("notes.txt", "clean\n");
    git(&repo, &["add", "notes.txt"]).expect_code(0);
    repo.write("README.md", format!("# demo\n{unstaged}\n"));
    git(&repo, &["commit", "-q", "-m", "clean with unstaged token"])
        .expect_code(0)
        .expect_no_full_token(&[&unstaged]);
    assert_eq!(repo.commit_count(), 2);
    assert!(std::fs::read_to_string(repo.path.join("README.md"))
        .unwrap()
        .contains(&unstaged));
    git(&repo, &["checkout", "README.md"]).expect_code(0);

    let token = api_token(62);
    repo.write("ci.env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    git(&repo, &["add", "ci.env"]).expect_code(0);
    let refused = git(&repo, &["commit", "-q", "-m", "token"]);
    assert_ne!(refused.code, 0);
    refused
        .expect_no_full_token(&[&token])
        .expect_contains("commit blocked")
        .expect_contains("ci.env:1:22");
    assert_eq!(repo.commit_count(), 2);

    // The pre-push hook, through the framework's PRE_COMMIT_* variables.
    let remote = repo.sibling("remote.git");
    git(&repo, &["init", "-q", "--bare", remote.to_str().unwrap()]).expect_code(0);
    git(
        &repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    )
    .expect_code(0);
    git(&repo, &["push", "-q", "origin", "main"]).expect_code(0);
    git(
        &repo,
        &["commit", "-q", "--no-verify", "-m", "token, hook skipped"],
    )
    .expect_code(0);
    let refused = git(&repo, &["push", "-q", "origin", "main"]);
    assert_ne!(refused.code, 0);
    refused
        .expect_no_full_token(&[&token])
        .expect_contains("push blocked")
        .expect_contains("in 1 commit to push");
}
