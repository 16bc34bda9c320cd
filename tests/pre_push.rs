//! The pre-push hook, installed by install.sh and run by real `git push` to a local bare remote;
//! and the audit commands `scan-range` and `scan-history`.

mod common;

use common::{api_token, Repo, Run};

/// A repository with both hooks installed, a bare remote `origin`, and one clean commit on main
/// that is not pushed yet.
fn repo_with_remote() -> Repo {
    let repo = Repo::new();
    repo.install_hooks();
    repo.add_bare_origin();
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo
}

/// The remote's oid for `branch`, or `None` when it has no such ref.
fn remote_ref(repo: &Repo, reference: &str) -> Option<String> {
    let run = repo.git_in(
        &repo.sibling("remote.git"),
        &["rev-parse", "-q", "--verify", reference],
    );
    (run.code == 0).then(|| run.stdout.trim().to_string())
}

fn push(repo: &Repo, args: &[&str]) -> Run {
    let mut all = vec!["push", "-q", "origin"];
    all.extend_from_slice(args);
    repo.git(&all)
}

#[test]
fn first_push_with_a_token_in_history_is_refused() {
    let repo = repo_with_remote();
    let token = api_token(21);
    let bad = repo.commit_file_unchecked("ci.yml", &format!("token: {token}\n"), "add ci");
    repo.commit_file_unchecked("other.txt", "clean\n", "later, clean");
    let run = push(&repo, &["main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("push blocked")
        .expect_contains(&bad[..10])
        .expect_contains("add ci")
        .expect_contains("ci.yml:1:8")
        .expect_contains("git rebase -i")
        .expect_contains("revoke it now");
    assert_eq!(remote_ref(&repo, "main"), None);
}

#[test]
fn clean_first_push_and_fast_forward_go_through() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    repo.commit_file_unchecked("a.txt", "clean\n", "clean");
    push(&repo, &["main"]).expect_code(0);
    assert_eq!(remote_ref(&repo, "main"), Some(repo.head()));
}

#[test]
fn fast_forward_with_a_token_is_refused() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    let pushed = repo.head();
    let token = api_token(22);
    repo.commit_file_unchecked("a.env", &format!("CARGO_REGISTRY_TOKEN={token}\n"), "env");
    let run = push(&repo, &["main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("a.env:1:22");
    assert_eq!(remote_ref(&repo, "main"), Some(pushed));
}

#[test]
fn new_branch_scans_only_commits_new_to_the_remote() {
    let repo = repo_with_remote();
    let old_token = api_token(23);
    repo.commit_file_unchecked("old.txt", &format!("{old_token}\n"), "old leak");
    push(&repo, &["--no-verify", "main"]).expect_code(0);
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    repo.commit_file_unchecked("f.txt", "clean\n", "feature work");
    push(&repo, &["feature"]).expect_code(0);
    assert_eq!(remote_ref(&repo, "feature"), Some(repo.head()));

    repo.git_ok(&["checkout", "-q", "-b", "feature2"]);
    let new_token = api_token(24);
    repo.commit_file_unchecked("g.txt", &format!("{new_token}\n"), "new leak");
    let run = push(&repo, &["feature2"]);
    assert_ne!(run.code, 0);
    let old_redacted = format!("{}…", &old_token[..7]);
    run.expect_no_full_token(&[&old_token, &new_token])
        .expect_contains("1 crates.io credential in 1 commit")
        .expect_contains("g.txt:1:1");
    assert!(!run.all().contains(&old_redacted), "{}", run.all());
    assert_eq!(remote_ref(&repo, "feature2"), None);
}

#[test]
fn force_push_after_rewrite_is_checked() {
    let repo = repo_with_remote();
    repo.commit_file_unchecked("a.txt", "one\n", "one");
    push(&repo, &["main"]).expect_code(0);
    let pushed = repo.head();
    let token = api_token(25);
    repo.write("a.txt", format!("one\n{token}\n"));
    repo.git_ok(&["add", "a.txt"]);
    repo.git_ok(&[
        "commit",
        "-q",
        "--no-verify",
        "--amend",
        "-m",
        "one, amended",
    ]);
    let run = push(&repo, &["--force", "main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("a.txt:2:1");
    assert_eq!(remote_ref(&repo, "main"), Some(pushed.clone()));
    repo.write("a.txt", "one\ntwo\n");
    repo.git_ok(&["add", "a.txt"]);
    repo.git_ok(&["commit", "-q", "--no-verify", "--amend", "-m", "one, fixed"]);
    push(&repo, &["--force", "main"]).expect_code(0);
    assert_eq!(remote_ref(&repo, "main"), Some(repo.head()));
}

#[test]
fn force_push_over_commits_unknown_locally_falls_back_to_tracking_refs() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    // Someone else pushes a commit this clone never fetches.
    let other = repo.sibling("other");
    repo.git_ok(&[
        "clone",
        "-q",
        repo.sibling("remote.git").to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    std::fs::write(other.join("theirs.txt"), "theirs\n").unwrap();
    repo.git_in(&other, &["add", "."]);
    repo.git_in(&other, &["commit", "-q", "--no-verify", "-m", "theirs"]);
    repo.git_in(&other, &["push", "-q", "--no-verify", "origin", "main"])
        .expect_code(0);
    let token = api_token(26);
    repo.commit_file_unchecked("mine.txt", &format!("{token}\n"), "mine");
    let run = push(&repo, &["--force", "main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("in 1 commit to push")
        .expect_contains("mine.txt:1:1");
}

#[test]
fn deleting_a_branch_scans_nothing() {
    let repo = repo_with_remote();
    let token = api_token(27);
    repo.git_ok(&["checkout", "-q", "-b", "leaky"]);
    repo.commit_file_unchecked("a.txt", &format!("{token}\n"), "leak");
    push(&repo, &["--no-verify", "leaky"]).expect_code(0);
    push(&repo, &["--delete", "leaky"]).expect_code(0);
    assert_eq!(remote_ref(&repo, "leaky"), None);
}

#[test]
fn several_refs_in_one_push_are_all_checked() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    let main_before = repo.head();
    repo.commit_file_unchecked("clean.txt", "clean\n", "clean on main");
    repo.git_ok(&["checkout", "-q", "-b", "side"]);
    let token = api_token(28);
    repo.commit_file_unchecked("side.txt", &format!("{token}\n"), "leak on side");
    repo.git_ok(&["tag", "light"]);
    let run = push(&repo, &["main", "side", "light"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("side.txt:1:1")
        .expect_contains("leak on side  (in side, light)");
    // Reported once even though two refs reach it.
    assert_eq!(
        run.all().matches("side.txt:1:1").count(),
        1,
        "{}",
        run.all()
    );
    assert_eq!(remote_ref(&repo, "main"), Some(main_before));
    assert_eq!(remote_ref(&repo, "side"), None);
    assert_eq!(remote_ref(&repo, "refs/tags/light"), None);
    // The JSON report names the refs in full.
    let head = repo.head();
    let zero = "0".repeat(head.len());
    let lines: String = ["refs/heads/main", "refs/heads/side", "refs/tags/light"]
        .iter()
        .map(|name| {
            let oid = repo.git_ok(&["rev-parse", name]);
            format!("{name} {} {name} {zero}\n", oid.trim())
        })
        .collect();
    let run = repo.cio_hook_with_input(&["pre-push", "origin", "--format", "json"], &lines);
    run.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["commit"]["refs"],
        serde_json::json!(["refs/heads/side", "refs/tags/light"])
    );
}

#[test]
fn annotated_tag_message_is_scanned() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    let token = api_token(29);
    repo.git_ok(&[
        "tag",
        "-a",
        "v1.0.0",
        "-m",
        &format!("release\n\npublished with {token}"),
    ]);
    let run = push(&repo, &["v1.0.0"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("tag v1.0.0")
        .expect_contains("(tag message):3:16");
    assert_eq!(remote_ref(&repo, "refs/tags/v1.0.0"), None);
    repo.git_ok(&["tag", "-a", "v1.0.1", "-m", "clean release"]);
    push(&repo, &["v1.0.1"]).expect_code(0);
    assert!(remote_ref(&repo, "refs/tags/v1.0.1").is_some());
}

#[test]
fn token_added_then_removed_within_the_push_still_blocks() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    let token = api_token(30);
    let adding = repo.commit_file_unchecked("cfg.toml", &format!("token = \"{token}\"\n"), "add");
    repo.commit_file_unchecked("cfg.toml", "token = \"\"\n", "remove");
    let run = push(&repo, &["main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains(&adding[..10])
        .expect_contains("cfg.toml:1:10");
}

#[test]
fn token_in_a_commit_message_blocks() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    let token = api_token(31);
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "a.txt"]);
    repo.git_ok(&[
        "commit",
        "-q",
        "--no-verify",
        "-m",
        &format!("debug: publish with {token}"),
    ]);
    let run = push(&repo, &["main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("(commit message):1:21");
}

#[test]
fn clean_merge_is_not_blamed_but_an_evil_merge_is() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    let branch_token = api_token(32);
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    repo.commit_file_unchecked("feature.txt", &format!("{branch_token}\n"), "feature leak");
    push(&repo, &["--no-verify", "feature"]).expect_code(0);
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.commit_file_unchecked("main.txt", "main\n", "main work");
    repo.git_ok(&[
        "merge",
        "-q",
        "--no-ff",
        "--no-verify",
        "--no-edit",
        "feature",
    ]);
    push(&repo, &["main"]).expect_code(0);

    repo.git_ok(&["checkout", "-q", "-b", "feature2", "HEAD~1"]);
    repo.commit_file_unchecked("f2.txt", "f2\n", "feature2");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.git_ok(&["merge", "-q", "--no-ff", "--no-commit", "feature2"]);
    let evil_token = api_token(33);
    repo.write("main.txt", format!("main\n{evil_token}\n"));
    repo.git_ok(&["add", "main.txt"]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "evil merge"]);
    let merge = repo.head();
    let run = push(&repo, &["main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&branch_token, &evil_token])
        .expect_contains(&merge[..10])
        .expect_contains("main.txt:2:1")
        .expect_contains("1 crates.io credential in 2 commits");
}

#[test]
fn scan_history_and_range_report_old_tokens_with_commit_and_line() {
    let repo = repo_with_remote();
    let token = api_token(34);
    let planted = repo.commit_file_unchecked(
        "src/config.rs",
        &format!("// config\nconst T: &str = \"{token}\";\n"),
        "old config",
    );
    for index in 0..5 {
        repo.commit_file_unchecked("log.txt", &format!("{index}\n"), "later");
    }
    let run = repo.cio_hook(&["scan-history"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(&planted[..10])
        .expect_contains("old config")
        .expect_contains("src/config.rs:2:18")
        .expect_contains("in 7 commits");
    repo.cio_hook(&["scan-range", "HEAD~5..HEAD"])
        .expect_code(0);
    repo.cio_hook(&["scan-range", "HEAD~6..HEAD"])
        .expect_code(1)
        .expect_contains("src/config.rs:2:18");
    repo.cio_hook(&["scan-range", "no-such-ref..HEAD"])
        .expect_code(2)
        .expect_contains("no-such-ref");
}

#[test]
fn malformed_pre_push_input_blocks() {
    let repo = repo_with_remote();
    repo.cio_hook_with_input(&["pre-push", "origin"], "refs/heads/main nonsense\n")
        .expect_code(2)
        .expect_contains("pre-push input line 1")
        .expect_contains("git push --no-verify");
    repo.cio_hook_with_input(&["pre-push", "origin"], "")
        .expect_code(0);
}

#[test]
fn push_to_a_url_uses_the_matching_remotes_tracking_refs() {
    let repo = repo_with_remote();
    let old_token = api_token(35);
    repo.commit_file_unchecked("old.txt", &format!("{old_token}\n"), "old leak");
    for index in 0..4 {
        repo.commit_file_unchecked("log.txt", &format!("{index}\n"), "pushed");
    }
    push(&repo, &["--no-verify", "main"]).expect_code(0);
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    let token = api_token(36);
    repo.commit_file_unchecked("new.txt", &format!("{token}\n"), "new leak");
    let remote = repo.sibling("remote.git");
    let spellings = [
        remote.to_str().unwrap().to_string(),
        format!("{}/", remote.display()),
        format!("file://{}", remote.display()),
        repo.sibling("remote").to_str().unwrap().to_string(),
        "../remote.git".to_string(),
    ];
    for url in &spellings {
        let run = repo.git(&["push", "-q", url, "feature"]);
        assert_ne!(run.code, 0, "{url}");
        run.expect_no_full_token(&[&old_token, &token])
            .expect_contains("1 crates.io credential in 1 commit to push")
            .expect_contains("new.txt:1:1");
    }
    assert_eq!(remote_ref(&repo, "feature"), None);
    // A push URL configured apart from the fetch URL matches too.
    repo.git_ok(&[
        "remote",
        "set-url",
        "origin",
        "https://example.invalid/elsewhere.git",
    ]);
    repo.git_ok(&[
        "remote",
        "set-url",
        "--push",
        "origin",
        remote.to_str().unwrap(),
    ]);
    repo.git(&["push", "-q", remote.to_str().unwrap(), "feature"])
        .expect_contains("in 1 commit to push");
}

#[test]
fn push_to_an_unknown_url_scans_all_that_the_branch_reaches() {
    let repo = repo_with_remote();
    push(&repo, &["main"]).expect_code(0);
    repo.commit_file_unchecked("a.txt", "clean\n", "clean");
    let unknown = repo.sibling("unknown.git");
    repo.git_ok(&["init", "-q", "--bare", unknown.to_str().unwrap()]);
    // Nothing is known to be there: both commits are scanned (over-scan, never under-scan).
    repo.git(&["push", "-q", unknown.to_str().unwrap(), "main"])
        .expect_code(0);
    let token = api_token(37);
    repo.commit_file_unchecked("b.txt", &format!("{token}\n"), "leak");
    let run = repo.git(&["push", "-q", unknown.to_str().unwrap(), "main:other"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("1 crates.io credential in 3 commits to push");
}
