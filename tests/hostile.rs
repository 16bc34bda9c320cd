//! Odd repositories and hostile input, through the real hooks: every shape must either block a
//! token or let a clean change through, every error must block with one line and exit 2, and no
//! full token may ever be printed.

mod common;

use std::path::Path;

use common::{api_token, clean_command, Repo, Run};

fn hooked_repo() -> Repo {
    let repo = Repo::new();
    repo.install_hooks();
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo
}

fn assert_blocked(repo: &Repo, run: &Run, token: &str, commits_before: usize) {
    assert_ne!(run.code, 0, "{}", run.all());
    run.expect_no_full_token(&[token]);
    assert_eq!(repo.commit_count(), commits_before, "{}", run.all());
}

#[test]
fn linked_worktree_commits_are_checked() {
    let repo = hooked_repo();
    let worktree = repo.sibling("worktree");
    repo.git_ok(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "side",
        worktree.to_str().unwrap(),
    ]);
    let token = api_token(81);
    std::fs::write(worktree.join("a.txt"), format!("{token}\n")).unwrap();
    repo.git_in(&worktree, &["add", "a.txt"]).expect_code(0);
    let run = repo.git_in(&worktree, &["commit", "-q", "-m", "token in worktree"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("a.txt:1:1");
    std::fs::write(worktree.join("a.txt"), "clean\n").unwrap();
    repo.git_in(&worktree, &["add", "a.txt"]).expect_code(0);
    repo.git_in(&worktree, &["commit", "-q", "-m", "clean"])
        .expect_code(0);
}

#[test]
fn submodule_changes_are_not_files() {
    let repo = hooked_repo();
    let sub = Repo::new();
    sub.commit_file_unchecked("lib.rs", "// sub\n", "sub initial");
    repo.git_ok(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.path.to_str().unwrap(),
        "vendor/sub",
    ]);
    repo.commit("add submodule", &[]).expect_code(0);
    sub.commit_file_unchecked("lib.rs", "// sub v2\n", "sub update");
    let sub_checkout = repo.path.join("vendor/sub");
    repo.git_in(
        &sub_checkout,
        &["-c", "protocol.file.allow=always", "pull", "-q", "origin"],
    )
    .expect_code(0);
    repo.git_ok(&["add", "vendor/sub"]);
    repo.commit("bump submodule", &[]).expect_code(0);
    assert_eq!(repo.commit_count(), 3);
}

#[test]
fn symlinks_are_scanned_as_their_target_text_and_never_followed() {
    let repo = hooked_repo();
    let token = api_token(82);
    std::os::unix::fs::symlink(&token, repo.path.join("link")).unwrap();
    repo.git_ok(&["add", "link"]);
    let run = repo.commit("symlink named like a token", &[]);
    assert_blocked(&repo, &run, &token, 1);
    run.expect_contains("link:1:1");
    repo.git_ok(&["rm", "-q", "--cached", "link"]);
    std::fs::remove_file(repo.path.join("link")).unwrap();
    // A link out of the repository to a file full of tokens: only the link text is scanned.
    let outside = repo.sibling("outside.txt");
    std::fs::write(&outside, format!("{token}\n")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.path.join("out")).unwrap();
    repo.git_ok(&["add", "out"]);
    repo.commit("link out", &[]).expect_code(0);
}

#[test]
fn renames_copies_mode_changes_and_deletions() {
    let repo = hooked_repo();
    let token = api_token(83);
    repo.commit_file_unchecked("a.txt", &format!("{token}\n"), "token, hook skipped");
    // A mode-only change adds no line.
    repo.git_ok(&["update-index", "--chmod=+x", "a.txt"]);
    repo.commit("chmod", &[]).expect_code(0);
    // A rename or a copy counts as a new file: the token is reported again.
    repo.git_ok(&["mv", "a.txt", "b.txt"]);
    let run = repo.commit("rename", &[]);
    assert_blocked(&repo, &run, &token, 3);
    run.expect_contains("b.txt:1:1");
    repo.git_ok(&["mv", "b.txt", "a.txt"]);
    std::fs::copy(repo.path.join("a.txt"), repo.path.join("copy.txt")).unwrap();
    repo.git_ok(&["add", "copy.txt"]);
    assert_blocked(&repo, &repo.commit("copy", &[]), &token, 3);
    repo.git_ok(&["rm", "-q", "-f", "copy.txt"]);
    // Deleting the file that holds it adds nothing.
    repo.git_ok(&["rm", "-q", "-f", "a.txt"]);
    repo.commit("delete", &[]).expect_code(0);
}

#[test]
fn intent_to_add_entries_do_not_break_the_scan() {
    let repo = hooked_repo();
    let token = api_token(84);
    repo.write("later.txt", format!("{token}\n"));
    repo.git_ok(&["add", "-N", "later.txt"]);
    repo.write("now.txt", "clean\n");
    repo.git_ok(&["add", "now.txt"]);
    repo.commit("clean, with an intent-to-add entry", &[])
        .expect_code(0);
    repo.git_ok(&["add", "later.txt"]);
    assert_blocked(&repo, &repo.commit("now the token", &[]), &token, 2);
}

#[test]
fn sparse_checkout_commits_are_checked() {
    let repo = hooked_repo();
    repo.commit_file_unchecked("in/a.txt", "a\n", "in");
    repo.commit_file_unchecked("out/b.txt", "b\n", "out");
    repo.git_ok(&["sparse-checkout", "set", "in"]);
    assert!(!repo.path.join("out/b.txt").exists());
    let token = api_token(85);
    repo.write("in/a.txt", format!("a\n{token}\n"));
    repo.git_ok(&["add", "in/a.txt"]);
    assert_blocked(&repo, &repo.commit("token", &[]), &token, 3);
    repo.write("in/a.txt", "a\nb\n");
    repo.git_ok(&["add", "in/a.txt"]);
    repo.commit("clean", &[]).expect_code(0);
}

#[test]
fn shallow_clone_pushes_are_checked() {
    let origin = Repo::new();
    for index in 0..3 {
        origin.commit_file_unchecked("log.txt", &format!("{index}\n"), "history");
    }
    let bare = origin.sibling("bare.git");
    origin.git_ok(&[
        "clone",
        "-q",
        "--bare",
        origin.path.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    let clone = origin.sibling("shallow");
    origin.git_ok(&[
        "clone",
        "-q",
        "--depth",
        "1",
        &format!("file://{}", bare.display()),
        clone.to_str().unwrap(),
    ]);
    let install = Run::from_output(
        clean_command(common::checkout().join("install.sh"), &clone)
            .args(["--no-build", "--hooks", "."])
            .output()
            .unwrap(),
    );
    install.expect_code(0);
    let token = api_token(86);
    std::fs::write(clone.join("new.txt"), format!("{token}\n")).unwrap();
    origin.git_in(&clone, &["add", "new.txt"]).expect_code(0);
    origin
        .git_in(&clone, &["commit", "-q", "--no-verify", "-m", "token"])
        .expect_code(0);
    let run = origin.git_in(&clone, &["push", "-q", "origin", "HEAD:main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("in 1 commit to push");
    origin
        .git_in(&clone, &["reset", "-q", "--hard", "HEAD~1"])
        .expect_code(0);
    std::fs::write(clone.join("new.txt"), "clean\n").unwrap();
    origin.git_in(&clone, &["add", "new.txt"]).expect_code(0);
    origin
        .git_in(&clone, &["commit", "-q", "-m", "clean"])
        .expect_code(0);
    origin
        .git_in(&clone, &["push", "-q", "origin", "HEAD:main"])
        .expect_code(0);
}

#[test]
fn bare_repositories_can_be_audited() {
    let repo = Repo::new();
    let token = api_token(87);
    repo.commit_file_unchecked("a.txt", &format!("{token}\n"), "token");
    let bare = repo.sibling("audit.git");
    repo.git_ok(&[
        "clone",
        "-q",
        "--bare",
        repo.path.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    let run = repo.cio_hook(&["-C", bare.to_str().unwrap(), "scan-range", "HEAD"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("a.txt:1:1");
    repo.cio_hook(&["-C", bare.to_str().unwrap(), "scan-history"])
        .expect_code(1);
}

#[test]
fn separate_git_dir_and_work_tree_are_honoured() {
    let repo = Repo::new();
    let git_dir = repo.sibling("separate.git");
    let work_tree = repo.sibling("tree");
    std::fs::create_dir(&work_tree).unwrap();
    repo.git_ok(&["init", "-q", "--bare", git_dir.to_str().unwrap()]);
    repo.git_ok(&[
        "--git-dir",
        git_dir.to_str().unwrap(),
        "config",
        "core.bare",
        "false",
    ]);
    let with_dirs = |args: &[&str]| {
        Run::from_output(
            clean_command("git", &work_tree)
                .env("GIT_DIR", &git_dir)
                .env("GIT_WORK_TREE", &work_tree)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    Run::from_output(
        clean_command(common::binary(), &work_tree)
            .env("GIT_DIR", &git_dir)
            .env("GIT_WORK_TREE", &work_tree)
            .args(["install"])
            .output()
            .unwrap(),
    )
    .expect_code(0);
    let token = api_token(88);
    std::fs::write(work_tree.join("a.txt"), format!("{token}\n")).unwrap();
    with_dirs(&["add", "a.txt"]).expect_code(0);
    let run = with_dirs(&["commit", "-q", "-m", "token"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("a.txt:1:1");
    std::fs::write(work_tree.join("a.txt"), "clean\n").unwrap();
    with_dirs(&["add", "a.txt"]).expect_code(0);
    with_dirs(&["commit", "-q", "-m", "clean"]).expect_code(0);
}

#[test]
fn odd_paths_are_reported_on_one_line() {
    let repo = hooked_repo();
    let token = api_token(89);
    let names: [&[u8]; 4] = [
        b"with space.txt",
        b"new\nline.txt",
        b"latin\xe9.txt",
        b"-leading-dash.txt",
    ];
    for name in names {
        let path = Path::new(std::ffi::OsStr::new(
            std::str::from_utf8(name).unwrap_or("latin\u{fffd}.txt"),
        ));
        let path = if name == b"latin\xe9.txt" {
            use std::os::unix::ffi::OsStrExt;
            Path::new(std::ffi::OsStr::from_bytes(name)).to_path_buf()
        } else {
            path.to_path_buf()
        };
        std::fs::write(repo.path.join(&path), format!("x {token}\n")).unwrap();
    }
    repo.git_ok(&["add", "-A"]);
    let run = repo.commit("odd names", &[]);
    assert_blocked(&repo, &run, &token, 1);
    run.expect_contains("with space.txt:1:3")
        .expect_contains("new\\nline.txt:1:3")
        .expect_contains("latin\u{fffd}.txt:1:3")
        .expect_contains("-leading-dash.txt:1:3")
        .expect_contains("4 crates.io credentials");
}

#[test]
fn crlf_no_final_newline_and_a_long_line() {
    let repo = hooked_repo();
    let token = api_token(90);
    repo.write(
        "crlf.env",
        format!("A=1\r\nCARGO_REGISTRY_TOKEN={token}\r\n"),
    );
    repo.write("no-newline.txt", format!("last line {token}"));
    let mut long = "x".repeat(1 << 20);
    long.push(' ');
    long.push_str(&token);
    repo.write("long.txt", long);
    repo.git_ok(&["add", "-A"]);
    let run = repo.commit("three shapes", &[]);
    assert_blocked(&repo, &run, &token, 1);
    run.expect_contains("crlf.env:2:22")
        .expect_contains("no-newline.txt:1:11")
        .expect_contains(&format!("long.txt:1:{}", (1 << 20) + 2));
}

/// A one-line error with exit 2 that names `needle`, plus the bypass hint.
fn assert_fails_closed(run: &Run, needle: &str) {
    run.expect_code(2).expect_contains(needle);
    let error_lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(error_lines.len(), 2, "{}", run.stderr);
    assert!(
        error_lines[0].starts_with("cio-hook: error: "),
        "{}",
        run.stderr
    );
    assert!(error_lines[1].contains("--no-verify"), "{}", run.stderr);
}

#[test]
fn corrupt_or_missing_objects_fail_closed() {
    let repo = hooked_repo();
    repo.write("staged.txt", "cio is a prefix, so this blob gets read\n");
    repo.git_ok(&["add", "staged.txt"]);
    let oid = repo
        .git_ok(&["rev-parse", ":staged.txt"])
        .trim()
        .to_string();
    let object = repo
        .path
        .join(".git/objects")
        .join(&oid[..2])
        .join(&oid[2..]);
    std::fs::write(&object, b"not a zlib stream").unwrap();
    assert_fails_closed(&repo.cio_hook(&["scan-staged", "--hook"]), "staged.txt");
    std::fs::remove_file(&object).unwrap();
    let run = repo.cio_hook(&["scan-staged", "--hook"]);
    assert_fails_closed(&run, "missing or corrupt object");
    assert_ne!(repo.commit("blocked", &[]).code, 0);
    assert_eq!(repo.commit_count(), 1);
}

#[test]
fn unreadable_index_and_allowlist_fail_closed() {
    let repo = hooked_repo();
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "a.txt"]);
    std::fs::create_dir(repo.path.join(".ciokeyignore.toml")).unwrap();
    assert_fails_closed(
        &repo.cio_hook(&["scan-staged", "--hook"]),
        ".ciokeyignore.toml",
    );
    std::fs::remove_dir(repo.path.join(".ciokeyignore.toml")).unwrap();
    std::fs::write(repo.path.join(".ciokeyignore.toml"), b"\xff\xfe").unwrap();
    assert_fails_closed(
        &repo.cio_hook(&["scan-staged", "--hook"]),
        "not valid UTF-8",
    );
    std::fs::remove_file(repo.path.join(".ciokeyignore.toml")).unwrap();
    let index = repo.path.join(".git/index");
    let mut bytes = std::fs::read(&index).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&index, bytes).unwrap();
    assert_fails_closed(&repo.cio_hook(&["scan-staged", "--hook"]), "index");
}

#[test]
fn split_and_sparse_indexes_are_handled() {
    let repo = hooked_repo();
    repo.git_ok(&["config", "core.splitIndex", "true"]);
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "a.txt"]);
    assert_fails_closed(
        &repo.cio_hook(&["scan-staged", "--hook"]),
        "core.splitIndex",
    );
    repo.git_ok(&["config", "core.splitIndex", "false"]);
    repo.git_ok(&["update-index", "--no-split-index"]);
    repo.cio_hook(&["scan-staged"]).expect_code(0);
    // A sparse index keeps directories outside the cone as single tree entries.
    repo.commit_file_unchecked("in/a.txt", "a\n", "in");
    repo.commit_file_unchecked("out/deep/b.txt", "b\n", "out");
    repo.git_ok(&["sparse-checkout", "set", "--cone", "--sparse-index", "in"]);
    let token = api_token(93);
    repo.write("in/a.txt", format!("a\n{token}\n"));
    repo.git_ok(&["add", "in/a.txt"]);
    let run = repo.commit("token in a sparse index", &[]);
    assert_blocked(&repo, &run, &token, 3);
    run.expect_contains("in/a.txt:2:1");
    repo.write("in/a.txt", "a\nclean\n");
    repo.git_ok(&["add", "in/a.txt"]);
    repo.commit("clean", &[]).expect_code(0);
}

#[test]
fn not_a_repository_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::from_output(
        clean_command(common::binary(), dir.path())
            .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
            .args(["scan-staged", "--hook"])
            .output()
            .unwrap(),
    );
    assert_fails_closed(
        &run,
        "not a git repository (or any of the parent directories)",
    );
}

/// Every command path with a planted token: no full token in any output or written file.
#[test]
fn no_command_ever_prints_or_writes_a_full_token() {
    let repo = hooked_repo();
    let token = api_token(91);
    let remote = repo.sibling("remote.git");
    repo.git_ok(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    repo.git_ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    repo.commit_file_unchecked(
        &format!("dir/{token}.txt"),
        &format!("{token}\n"),
        &format!("add {token}"),
    );
    repo.write("staged.env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    repo.git_ok(&["add", "staged.env"]);
    let head = repo.head();
    let zero = "0".repeat(40);
    let push_input = format!("refs/heads/main {head} refs/heads/main {zero}\n");
    let mut runs = Vec::new();
    for format in ["text", "json", "sarif"] {
        for args in [
            vec!["scan-staged"],
            vec!["scan-history"],
            vec!["scan-range", "HEAD"],
            vec!["scan-path", "."],
        ] {
            let mut args = args.clone();
            args.extend(["--format", format]);
            runs.push(repo.cio_hook(&args));
        }
        runs.push(
            repo.cio_hook_with_input(&["pre-push", "origin", "--format", format], &push_input),
        );
    }
    runs.push(repo.commit("through the hook", &[]));
    runs.push(repo.git(&["push", "origin", "main"]));
    runs.push(repo.cio_hook(&["scan-range", &token]));
    runs.push(repo.cio_hook(&["scan-range", &format!("{token}..HEAD")]));
    runs.push(repo.cio_hook(&[&token]));
    runs.push(repo.cio_hook(&["scan-staged", "--format", &token]));
    runs.push(repo.cio_hook(&["allow", &token, "--reason", "x"]));
    runs.push(repo.cio_hook(&["scan-path", &format!("missing-{token}")]));
    runs.push(repo.cio_hook(&["--config", &format!("{token}.toml"), "scan-staged"]));
    runs.push(repo.cio_hook(&["check-config"]));
    runs.push(repo.cio_hook(&["verify", &token, "--yes"]));
    runs.push(repo.cio_hook(&["revoke", &token, "--yes"]));
    runs.push(repo.cio_hook(&["verify", "--api-url", &format!("http://{token}")]));
    runs.push(repo.cio_hook(&["install", "--pre-push"]));
    for run in &runs {
        run.expect_no_full_token(&[&token]);
    }
    assert!(runs.iter().filter(|run| run.code == 1).count() >= 15);
    // Nothing the tool wrote holds the token either.
    for written in [".git/hooks/pre-commit", ".git/hooks/pre-push"] {
        let text = std::fs::read_to_string(repo.path.join(written)).unwrap();
        assert!(!text.contains(&token), "{written}");
    }
    assert!(!repo.path.join(".ciokeyignore.toml").exists());
}

/// 200 MB in one added file; run with `cargo test --release -- --ignored` and watch the memory
/// with `/usr/bin/time -v`.
#[test]
#[ignore = "slow: writes and scans a 200 MB file"]
fn a_200_mb_added_file_is_scanned() {
    let repo = hooked_repo();
    let token = api_token(92);
    let line = "fn main() { println!(\"cio is not a token\"); }\n";
    let mut content = line.repeat(200 * 1024 * 1024 / line.len());
    let lines_before = content.lines().count();
    content.push_str(&format!("let t = \"{token}\";\n"));
    repo.write("huge.rs", &content);
    repo.git_ok(&["add", "huge.rs"]);
    let run = repo.commit("huge", &[]);
    assert_blocked(&repo, &run, &token, 1);
    run.expect_contains(&format!("huge.rs:{}:10", lines_before + 1));
}
