//! Repositories of Git 3.0's defaults: SHA-256 objects, reftable refs, and both. Every hook runs
//! through real `git commit` and `git push`; a format no reader here knows is named in the error.

mod common;

use common::{api_token, history_finding_numbers, json_findings, long_history_stream, Repo};

/// The formats, as `git init` arguments, besides SHA-1 objects with files refs.
const FORMATS: [&[&str]; 3] = [
    &["--object-format=sha256"],
    &["--ref-format=reftable"],
    &["--object-format=sha256", "--ref-format=reftable"],
];

/// The length of commit ids in hex in a repository made with `format`.
fn hex_len(format: &[&str]) -> usize {
    if format.contains(&"--object-format=sha256") {
        64
    } else {
        40
    }
}

/// A repository whose config names a ref storage format no git knows yet.
fn repository_of_a_future_format() -> Repo {
    let repo = Repo::new();
    repo.git_ok(&["config", "core.repositoryformatversion", "1"]);
    repo.git_ok(&["config", "extensions.refStorage", "future"]);
    repo
}

#[test]
fn a_format_nothing_here_reads_is_named_in_the_error() {
    let repo = repository_of_a_future_format();
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(2)
        .expect_contains("extensions.refstorage = future")
        .expect_contains("cannot read")
        .expect_contains("docs/git-formats.md");
    assert!(
        !run.stderr.contains("not in a git repository"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn install_in_a_format_nothing_here_reads_warns_and_its_hook_blocks() {
    let repo = repository_of_a_future_format();
    let run = repo.cio_hook(&["install"]);
    run.expect_code(0)
        .expect_contains("extensions.refstorage = future")
        .expect_contains("will block every commit");
    // git cannot commit in that repository either; the installed hook, run as git would run
    // it, blocks rather than passes.
    let hook = repo.path.join(".git/hooks/pre-commit");
    assert!(hook.is_file(), "{}", run.all());
    let run = common::Run::from_output(common::clean_command(&hook, &repo.path).output().unwrap());
    run.expect_code(2)
        .expect_contains("extensions.refstorage = future");
}

#[test]
fn not_a_repository_is_still_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::Run::from_output(
        common::clean_command(common::binary(), dir.path())
            .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
            .arg("scan-staged")
            .output()
            .unwrap(),
    );
    run.expect_code(2)
        .expect_contains("not a git repository (or any of the parent directories)");
}

#[test]
fn commits_with_a_token_are_refused_by_the_installed_hooks_in_every_format() {
    for format in FORMATS {
        let repo = Repo::in_format(format);
        let run = repo.cio_hook(&["install"]);
        run.expect_code(0);
        assert!(!run.stderr.contains("warning"), "{format:?}: {}", run.all());
        repo.write("README", "hello\n");
        repo.git_ok(&["add", "README"]);
        repo.commit("first", &[]).expect_code(0);

        let token = api_token(1);
        repo.write("config.toml", format!("token = \"{token}\"\n"));
        repo.git_ok(&["add", "config.toml"]);
        repo.commit("add config", &[])
            .expect_code(1)
            .expect_contains("config.toml:1:10")
            .expect_no_full_token(&[&token]);
        repo.git_ok(&["rm", "-q", "--cached", "config.toml"]);

        let in_message = api_token(2);
        repo.write("notes.txt", "notes\n");
        repo.git_ok(&["add", "notes.txt"]);
        repo.commit(&format!("notes {in_message}"), &[])
            .expect_code(1)
            .expect_contains("commit message")
            .expect_no_full_token(&[&in_message]);
        repo.commit("notes", &[]).expect_code(0);
        assert_eq!(repo.commit_count(), 2, "{format:?}");
        assert_eq!(repo.head().len(), hex_len(format));

        // `git commit -a` and `git commit PATH` commit from a temporary index.
        let in_tracked = api_token(3);
        repo.write("README", format!("hello\nkey = \"{in_tracked}\"\n"));
        repo.commit("readme", &["-a"])
            .expect_code(1)
            .expect_contains("README:2:8");
        repo.commit("readme", &["--", "README"])
            .expect_code(1)
            .expect_contains("README:2:8");
        repo.git_ok(&["checkout", "--", "README"]);

        // A linked worktree: git sets GIT_DIR for its hooks.
        let linked = repo.sibling("linked");
        repo.git_ok(&[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            linked.to_str().unwrap(),
        ]);
        std::fs::write(linked.join("env.sh"), format!("T={}\n", api_token(4))).unwrap();
        repo.git_in(&linked, &["add", "env.sh"]);
        let run = repo.git_in(&linked, &["commit", "-q", "-m", "env"]);
        run.expect_code(1).expect_contains("env.sh:1:3");
    }
}

#[test]
fn pushes_of_tokens_to_a_remote_of_the_same_format_are_refused() {
    for format in FORMATS {
        let repo = Repo::in_format(format);
        let remote = repo.sibling("remote.git");
        let mut init = vec!["init", "-q", "--bare", "-b", "main"];
        init.extend_from_slice(format);
        init.push(remote.to_str().unwrap());
        repo.git_ok(&init);
        repo.git_ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
        repo.cio_hook(&["install", "--pre-push"]).expect_code(0);
        repo.commit_file_unchecked("a.txt", "a\n", "first");
        repo.git_ok(&["push", "-q", "origin", "main"]);

        // A token in a file (committed past the hooks), one in a merge that neither parent had
        // (an evil merge), and one in an annotated tag's message.
        let in_file = api_token(10);
        let file_commit = repo.commit_file_unchecked(
            "deploy.toml",
            &format!("token = \"{in_file}\"\n"),
            "deploy",
        );
        repo.git_ok(&["checkout", "-q", "-b", "side", "HEAD~1"]);
        repo.commit_file_unchecked("side.txt", "side\n", "side");
        repo.git_ok(&["checkout", "-q", "main"]);
        repo.git_ok(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
        let in_merge = api_token(11);
        repo.write("merged.txt", format!("key = \"{in_merge}\"\n"));
        repo.git_ok(&["add", "merged.txt"]);
        repo.git_ok(&["commit", "-q", "--no-verify", "-m", "merge side"]);
        let merge = repo.head();
        let in_tag = api_token(12);
        repo.git_ok(&["tag", "-a", "v1", "-m", &format!("release {in_tag}")]);

        let run = repo.git(&["push", "origin", "main", "v1"]);
        run.expect_code(1)
            .expect_contains("deploy.toml")
            .expect_contains("merged.txt")
            .expect_contains("tag message")
            .expect_no_full_token(&[&in_file, &in_merge, &in_tag]);
        let oids: Vec<String> = json_findings(
            &repo
                .cio_hook_with_input(
                    &[
                        "pre-push",
                        "origin",
                        remote.to_str().unwrap(),
                        "--format",
                        "json",
                    ],
                    &format!(
                        "refs/heads/main {merge} refs/heads/main {}\n",
                        repo.git_ok(&["rev-parse", "origin/main"]).trim()
                    ),
                )
                .stdout,
        )
        .into_iter()
        .map(|(_, _, oid)| oid)
        .collect();
        assert_eq!(oids, [file_commit.clone(), merge.clone()], "{format:?}");
        assert!(oids.iter().all(|oid| oid.len() == hex_len(format)));
        // The merge's own side branch adds nothing: only the evil line is reported.
        let side = repo.cio_hook(&["scan-range", "main~1..main", "--format", "json"]);
        let paths: Vec<String> = json_findings(&side.stdout)
            .into_iter()
            .map(|(path, _, _)| path)
            .collect();
        assert_eq!(paths, ["merged.txt"], "{format:?}");

        // Deleting a branch adds nothing; git gives its id as zeros of the format's length.
        repo.git_ok(&["push", "-q", "origin", "side"]);
        repo.git(&["push", "origin", "--delete", "side"])
            .expect_code(0);
        let remote_side = repo.git_in(&remote, &["branch", "--list", "side"]);
        assert_eq!(remote_side.stdout.trim(), "", "{format:?}");
    }
}

#[test]
fn baseline_and_scan_history_agree_in_every_format() {
    for format in FORMATS {
        let repo = Repo::in_format(format);
        repo.commit_file_unchecked("a.toml", &format!("k = \"{}\"\n", api_token(20)), "a");
        repo.commit_file_unchecked("b.toml", &format!("k = \"{}\"\n", api_token(21)), "b");
        let history = repo.cio_hook(&["scan-history", "--format", "json"]);
        history.expect_code(1);
        assert_eq!(json_findings(&history.stdout).len(), 2, "{format:?}");
        repo.cio_hook(&["baseline", "--reason", "old test tokens"])
            .expect_code(0)
            .expect_contains("2 baseline entries added");
        repo.cio_hook(&["scan-history"]).expect_code(0);
        repo.cio_hook(&["scan-range", "HEAD~1..HEAD"])
            .expect_code(0);
    }
}

#[test]
fn unknown_revisions_are_named_in_every_format() {
    for format in FORMATS {
        let repo = Repo::in_format(format);
        repo.commit_file_unchecked("a.txt", "a\n", "a");
        repo.cio_hook(&["scan-range", "nope..HEAD"])
            .expect_code(2)
            .expect_contains("nope");
    }
}

/// A bare server repository of `format` next to `repo`, with cio-hook's pre-receive hook, as
/// `origin`.
fn server_with_pre_receive(repo: &Repo, format: &[&str]) -> std::path::PathBuf {
    let remote = repo.sibling("server.git");
    let mut init = vec!["init", "-q", "--bare", "-b", "main"];
    init.extend_from_slice(format);
    init.push(remote.to_str().unwrap());
    repo.git_ok(&init);
    repo.git_ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    common::Run::from_output(
        common::clean_command(common::binary(), &remote)
            .args(["install", "--pre-receive"])
            .output()
            .unwrap(),
    )
    .expect_code(0);
    remote
}

/// The server's `ref`, or `None` when it has none.
fn server_ref(repo: &Repo, server: &std::path::Path, name: &str) -> Option<String> {
    let run = repo.git_in(server, &["rev-parse", "-q", "--verify", name]);
    (run.code == 0).then(|| run.stdout.trim().to_string())
}

/// The server side: real pushes into SHA-256 and reftable bare repositories, whose objects git
/// holds in quarantine while the hook runs. Tokens in a file, a commit message, an evil merge
/// and an annotated tag are each rejected, with the server's refs unchanged; clean pushes land.
#[test]
fn pre_receive_checks_pushes_into_every_format() {
    for format in FORMATS {
        let repo = Repo::in_format(format);
        let server = server_with_pre_receive(&repo, format);
        repo.commit_file_unchecked("a.txt", "a\n", "first");
        repo.git(&["push", "origin", "main"]).expect_code(0);
        let accepted = server_ref(&repo, &server, "refs/heads/main").unwrap();
        assert_eq!(accepted.len(), hex_len(format));

        let rejected = |run: common::Run, what: &str, token: &str| {
            assert_ne!(run.code, 0, "{format:?} {what}: accepted\n{}", run.all());
            run.expect_contains("pre-receive hook declined")
                .expect_contains(what)
                .expect_no_full_token(&[token]);
        };

        let in_file = api_token(30);
        let bad = repo.commit_file_unchecked("deploy.toml", &format!("t = \"{in_file}\"\n"), "d");
        rejected(
            repo.git(&["push", "origin", "main"]),
            "deploy.toml",
            &in_file,
        );
        rejected(repo.git(&["push", "origin", "main"]), &bad[..10], &in_file);
        repo.git_ok(&["reset", "-q", "--hard", "HEAD~1"]);

        let in_message = api_token(31);
        repo.git_ok(&[
            "commit",
            "-q",
            "--no-verify",
            "--allow-empty",
            "-m",
            &in_message,
        ]);
        rejected(
            repo.git(&["push", "origin", "main"]),
            "commit message",
            &in_message,
        );
        repo.git_ok(&["reset", "-q", "--hard", "HEAD~1"]);

        repo.git_ok(&["checkout", "-q", "-b", "side"]);
        repo.commit_file_unchecked("side.txt", "side\n", "side");
        repo.git_ok(&["checkout", "-q", "main"]);
        repo.commit_file_unchecked("main.txt", "main\n", "main");
        repo.git_ok(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
        let in_merge = api_token(32);
        repo.write("merged.txt", format!("k = \"{in_merge}\"\n"));
        repo.git_ok(&["add", "merged.txt"]);
        repo.git_ok(&["commit", "-q", "--no-verify", "-m", "merge"]);
        rejected(
            repo.git(&["push", "origin", "main"]),
            "merged.txt",
            &in_merge,
        );
        repo.git_ok(&["rm", "-q", "merged.txt"]);
        repo.git_ok(&["commit", "-q", "--no-verify", "--amend", "-m", "merge"]);
        repo.git(&["push", "origin", "main", "side"]).expect_code(0);

        let in_tag = api_token(33);
        repo.git_ok(&["tag", "-a", "v1", "-m", &format!("release {in_tag}")]);
        rejected(repo.git(&["push", "origin", "v1"]), "tag message", &in_tag);
        assert_eq!(server_ref(&repo, &server, "refs/tags/v1"), None);
        assert_eq!(
            server_ref(&repo, &server, "refs/heads/main"),
            Some(repo.head()),
            "{format:?}: the clean merge landed"
        );
        repo.git(&["push", "origin", "--delete", "side"])
            .expect_code(0);
        assert_eq!(
            server_ref(&repo, &server, "refs/heads/side"),
            None,
            "{format:?}"
        );
    }
}

/// A long history (2,400 commits, as many blobs: enough for the pack pass on SHA-1 with reftable,
/// and for a second reader of blobs) gives its findings in history order, in every format, in
/// fast-import's pack and repacked.
#[test]
fn long_histories_are_scanned_in_history_order_in_every_format() {
    let (stream, expected) = long_history_stream(2400);
    for format in FORMATS {
        let repo = Repo::in_format(format);
        repo.git_with_input(&["fast-import", "--quiet"], &stream)
            .expect_code(0);
        for packed in [false, true] {
            if packed {
                repo.git_ok(&["repack", "-adq"]);
            }
            let subjects = history_finding_numbers(&repo, 2400);
            assert_eq!(subjects, expected, "{format:?}, packed: {packed}");
        }
    }
}

/// `check-config` in every format, as on SHA-1/files: an entry only history still needs is
/// named with the commit (the copy's own id), a stale one is listed for removal.
#[test]
fn check_config_reviews_the_allowlist_in_every_format() {
    for format in [&[][..]].into_iter().chain(FORMATS) {
        let repo = Repo::in_format(format);
        let token = api_token(2301);
        let fixture = repo.commit_file_unchecked("fixture.txt", &format!("{token}\n"), "fixture");
        assert_eq!(fixture.len(), hex_len(format));
        repo.git_ok(&["rm", "-q", "fixture.txt"]);
        repo.git_ok(&["commit", "-q", "--no-verify", "-m", "drop the fixture"]);
        let history = repo.cio_hook(&["scan-history", "--format", "json"]);
        history.expect_code(1);
        let report: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
        let fingerprint = report["findings"][0]["fingerprint"].as_str().unwrap();
        repo.write(
            ".ciokeyignore.toml",
            format!(
                "[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"revoked fixture\"\n\n\
                 [[allow]]\npath = \"gone/\"\nreason = \"stale\"\n"
            ),
        );
        repo.git_ok(&["add", ".ciokeyignore.toml"]);
        repo.git_ok(&["commit", "-q", "--no-verify", "-m", "allowlist"]);
        repo.cio_hook(&["check-config"])
            .expect_code(1)
            .expect_no_full_token(&[&token])
            .expect_contains(&format!(
                ".ciokeyignore.toml:1: matches nothing in the tracked files, but still a token \
                 in history: commit {} fixture.txt:1:1; keep it",
                &fixture[..10]
            ))
            .expect_contains(
                ".ciokeyignore.toml:5: matches nothing in the tracked files or in the history \
                 (3 commits); remove it (reason: stale)",
            )
            .expect_contains("2 entries, 1 to review");
        // A placeholder in a tracked file needs no entry, in any format.
        let placeholder = ["cio", &"x".repeat(32)].concat();
        repo.write("docs/setup.md", format!("cargo login {placeholder}\n"));
        repo.git_ok(&["add", "docs/setup.md"]);
        let json = repo.cio_hook(&["scan-path", "docs/setup.md", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let placeholder_fingerprint = report["findings"][0]["fingerprint"].as_str().unwrap();
        repo.cio_hook(&["allow", placeholder_fingerprint, "--reason", "docs example"])
            .expect_code(2)
            .expect_contains("is a placeholder's (at docs/setup.md:1:13)");
    }
}

/// A git repository of `format` holding package `pkg` 0.1.0 under `pkg/`, committed, with
/// `*.log` ignored.
fn repo_with_package(format: &[&str]) -> Repo {
    let repo = Repo::in_format(format);
    repo.write(
        "pkg/Cargo.toml",
        "[package]\nname = \"pkg\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         description = \"a test package\"\nlicense = \"MIT\"\n",
    );
    repo.write("pkg/src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    repo.write(".gitignore", "*.log\n");
    repo.git_ok(&["add", "."]);
    repo.commit("package", &["--no-verify"]).expect_code(0);
    repo
}

/// `scan-package` scans what cargo itself packs in each format. cargo reads no SHA-256
/// repository (whatever its refs): it packs as outside git, ignored files included, and the
/// finding says so. It cannot read reftable refs of SHA-1 objects at all (`cargo publish` fails
/// there too): the scan fails closed, saying why.
#[test]
fn scan_package_scans_what_cargo_packs_in_every_format() {
    for format in FORMATS {
        let repo = repo_with_package(format);
        let scan = || repo.cio_hook(&["scan-package", "--manifest-path", "pkg/Cargo.toml"]);
        if hex_len(format) == 40 {
            scan()
                .expect_code(2)
                .expect_contains("`cargo package` failed")
                .expect_contains("cargo cannot read a repository with reftable refs")
                .expect_contains("uploads nothing");
            continue;
        }
        scan()
            .expect_code(0)
            .expect_contains("no crates.io token in what `cargo package` would upload");
        let (ignored, untracked) = (api_token(2302), api_token(2303));
        repo.write("pkg/debug.log", format!("token = {ignored}\n"));
        repo.write("pkg/notes.txt", format!("token = {untracked}\n"));
        assert_eq!(
            repo.git_ok(&["status", "--porcelain", "--", "pkg/debug.log"]),
            ""
        );
        scan()
            .expect_code(1)
            .expect_no_full_token(&[&ignored, &untracked])
            .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/debug.log:1:9")
            .expect_contains(
                "pkg 0.1.0, file debug.log: ignored by git, yet packed: cargo did not read this \
                 git repository",
            )
            .expect_contains("pkg 0.1.0, file notes.txt: untracked and not ignored");
        repo.git_ok(&["add", "pkg/notes.txt"]);
        scan()
            .expect_code(1)
            .expect_contains("pkg 0.1.0, file notes.txt: staged but not committed");
    }
}
