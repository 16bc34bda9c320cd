//! Hooks say nothing when nothing blocks (a commit prints no success line, `git commit -q` stays
//! quiet); `--verbose` or `CIO_HOOK_VERBOSE=1` brings the summary back. Commands run by hand
//! always report their result, and only hooks talk about bypassing a hook.

mod common;

use common::{api_token, clean_command, Repo, Run};

/// A repository with the hooks installed, one clean commit, and a bare remote `origin` that has
/// it.
fn hooked_repo_with_remote() -> Repo {
    let repo = Repo::new();
    repo.install_hooks();
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.add_bare_origin();
    repo.git_ok(&["push", "-q", "--no-verify", "origin", "main"]);
    repo
}

/// Runs git with `CIO_HOOK_VERBOSE` set to `value`, so that it reaches the hooks.
fn git_with_verbose_env(repo: &Repo, value: &str, args: &[&str]) -> Run {
    Run::from_output(
        clean_command("git", &repo.path)
            .env("CIO_HOOK_VERBOSE", value)
            .args(args)
            .output()
            .unwrap(),
    )
}

#[test]
fn a_clean_commit_prints_nothing() {
    let repo = hooked_repo_with_remote();
    repo.write("src/lib.rs", "pub fn cio() {}\n");
    repo.git_ok(&["add", "."]);
    let quiet = repo.commit("clean, quiet", &[]);
    quiet.expect_code(0);
    assert_eq!(
        quiet.all(),
        "",
        "git commit -q with a clean change printed something"
    );

    repo.write("src/lib.rs", "pub fn cio() -> u8 { 1 }\n");
    repo.git_ok(&["add", "."]);
    let normal = repo.git(&["commit", "-m", "clean, not quiet"]);
    normal.expect_code(0);
    assert!(!normal.all().contains("cio-hook"), "{}", normal.all());

    repo.write("src/lib.rs", "pub fn cio() -> u8 { 2 }\n");
    repo.git_ok(&["add", "."]);
    git_with_verbose_env(&repo, "1", &["commit", "-q", "-m", "clean, verbose"])
        .expect_code(0)
        .expect_contains("cio-hook: no crates.io token in the staged changes");
    assert_eq!(repo.commit_count(), 4);
}

#[test]
fn a_blocked_commit_still_reports() {
    let repo = hooked_repo_with_remote();
    let token = api_token(1400);
    repo.write(".env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    repo.git_ok(&["add", "."]);
    let run = repo.commit("token", &[]);
    assert_eq!(run.code, 1);
    run.expect_no_full_token(&[&token])
        .expect_contains("commit blocked")
        .expect_contains("git commit --no-verify");
}

#[test]
fn a_clean_push_prints_nothing_unless_verbose() {
    let repo = hooked_repo_with_remote();
    repo.commit_file_unchecked("a.txt", "clean\n", "clean change");
    let push = repo.git(&["push", "-q", "origin", "main"]);
    push.expect_code(0);
    assert!(!push.all().contains("cio-hook"), "{}", push.all());

    repo.commit_file_unchecked("b.txt", "clean\n", "another clean change");
    git_with_verbose_env(&repo, "1", &["push", "-q", "origin", "main"])
        .expect_code(0)
        .expect_contains("cio-hook: no crates.io token in 1 commit to push to origin");

    // By hand, `pre-push` is still the hook's command: quiet unless asked.
    let head = repo.head();
    let line = format!("refs/heads/main {head} refs/heads/main {head}\n");
    let run = repo.cio_hook_with_input(&["pre-push", "origin"], &line);
    run.expect_code(0);
    assert_eq!(run.all(), "");
    repo.cio_hook_with_input(&["pre-push", "--verbose", "origin"], &line)
        .expect_code(0)
        .expect_contains("no crates.io token in 0 commits to push to origin");
}

#[test]
fn commands_run_by_hand_report_their_result() {
    let repo = hooked_repo_with_remote();
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "."]);
    repo.cio_hook(&["scan-staged"])
        .expect_code(0)
        .expect_contains("no crates.io token in the staged changes");
    repo.cio_hook(&["scan-range", "HEAD"])
        .expect_code(0)
        .expect_contains("no crates.io token in 1 commit (HEAD)");
    repo.cio_hook(&["scan-history"])
        .expect_code(0)
        .expect_contains("no crates.io token in 1 commit (all refs)");
    repo.cio_hook(&["scan-path", "a.txt"])
        .expect_code(0)
        .expect_contains("no crates.io token in the files scanned");
    // `--hook` is what makes a command quiet; JSON is always written.
    assert_eq!(repo.cio_hook(&["scan-staged", "--hook"]).all(), "");
    let json = repo.cio_hook(&["scan-staged", "--hook", "--format", "json"]);
    assert!(
        json.stdout.contains("\"blocked\": false"),
        "{}",
        json.stdout
    );
}

#[test]
fn only_a_hook_speaks_of_blocking_and_bypassing() {
    let dir = tempfile::tempdir().unwrap();
    let outside = |extra: &[&str]| {
        Run::from_output(
            clean_command(common::binary(), dir.path())
                .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
                .arg("scan-staged")
                .args(extra)
                .output()
                .unwrap(),
        )
    };
    let by_hand = outside(&[]);
    by_hand
        .expect_code(2)
        .expect_contains("not a git repository (or any of the parent directories)");
    assert_eq!(by_hand.stderr.lines().count(), 1, "{}", by_hand.stderr);
    assert!(!by_hand.all().contains("blocked"), "{}", by_hand.all());
    assert!(!by_hand.all().contains("--no-verify"), "{}", by_hand.all());

    let as_hook = outside(&["--hook"]);
    as_hook
        .expect_code(2)
        .expect_contains("the commit is blocked")
        .expect_contains("git commit --no-verify");
}

/// `script` gives the command a terminal, so that the progress line is drawn.
fn on_a_terminal(repo: &Repo, args: &str) -> String {
    let command = format!("'{}' {args}", common::binary().display());
    let run = Run::from_output(
        clean_command("script", &repo.path)
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .output()
            .expect("this test needs `script` (util-linux; Debian: bsdutils) to get a terminal"),
    );
    run.stdout
}

#[test]
fn the_progress_line_is_erased_not_repeated() {
    let repo = hooked_repo_with_remote();
    for number in 0..30 {
        repo.commit_file_unchecked("n.txt", &format!("{number}\n"), &format!("commit {number}"));
    }
    let output = on_a_terminal(&repo, "scan-history");
    assert!(
        output.contains("no crates.io token in 31 commits"),
        "{output:?}"
    );
    // The final count would be stale the moment the report follows it: it is never drawn, and
    // whatever was drawn is erased before the report.
    assert!(!output.contains("scanned 31/31"), "{output:?}");
    if let Some(last) = output.rfind("cio-hook: scanned") {
        assert!(output[last..].contains("\r\x1b[2K"), "{output:?}");
    }
}
