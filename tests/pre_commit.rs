//! The pre-commit hook, installed by install.sh and run by real `git commit`.

mod common;

use common::{api_token, trusted_publishing_token, Repo};

/// A repository with the hooks installed and one clean commit.
fn repo_with_hooks() -> Repo {
    let repo = Repo::new();
    repo.install_hooks();
    repo.write("README.md", "# demo\n");
    repo.git_ok(&["add", "README.md"]);
    repo.commit("initial", &[]).expect_code(0);
    repo
}

#[test]
fn first_commit_with_a_token_is_refused() {
    let repo = Repo::new();
    repo.install_hooks();
    let token = api_token(1);
    repo.write(
        ".cargo/credentials.toml",
        format!("[registry]\ntoken = \"{token}\"\n"),
    );
    repo.git_ok(&["add", "."]);
    let run = repo.commit("add credentials", &[]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("commit blocked")
        .expect_contains(".cargo/credentials.toml:2:10")
        .expect_contains(&format!("{}…{}", &token[..7], &token[31..]))
        .expect_contains("crates.io API token")
        .expect_contains("sha256:")
        .expect_contains("git commit --no-verify");
    assert_eq!(repo.commit_count(), 0);
    repo.cio_hook(&["scan-staged"])
        .expect_code(1)
        .expect_no_full_token(&[&token]);
}

#[test]
fn clean_commit_goes_through() {
    let repo = repo_with_hooks();
    repo.write("src/lib.rs", "pub fn cio() -> &'static str { \"cio\" }\n");
    repo.git_ok(&["add", "."]);
    repo.commit("clean", &[]).expect_code(0);
    assert_eq!(repo.commit_count(), 2);
    repo.cio_hook(&["scan-staged"])
        .expect_code(0)
        .expect_contains("no crates.io token");
}

#[test]
fn trusted_publishing_token_is_refused() {
    let repo = repo_with_hooks();
    let token = trusted_publishing_token(2);
    repo.write("debug.log", format!("got {token} from OIDC\n"));
    repo.git_ok(&["add", "."]);
    repo.commit("debug", &[])
        .expect_no_full_token(&[&token])
        .expect_contains("Trusted Publishing");
    assert_eq!(repo.commit_count(), 1);
}

#[test]
fn tokens_already_committed_removed_or_in_context_do_not_block() {
    let repo = repo_with_hooks();
    let token = api_token(3);
    repo.commit_file_unchecked("notes.txt", &format!("a\n{token}\nb\n"), "bypassed");
    // Edit a neighbouring line: the token line is context.
    repo.write("notes.txt", format!("a changed\n{token}\nb\n"));
    repo.git_ok(&["add", "."]);
    repo.commit("edit neighbour", &[]).expect_code(0);
    // Remove the token line: a removed line does not block either.
    repo.write("notes.txt", "a changed\nb\n");
    repo.git_ok(&["add", "."]);
    repo.commit("remove token", &[]).expect_code(0);
    assert_eq!(repo.commit_count(), 4);
}

#[test]
fn unstaged_working_tree_tokens_do_not_block() {
    let repo = repo_with_hooks();
    let token = api_token(4);
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "a.txt"]);
    repo.write("a.txt", format!("clean\n{token}\n"));
    repo.write("untracked.txt", &token);
    repo.commit("staged part only", &[]).expect_code(0);
    assert_eq!(repo.commit_count(), 2);
}

#[test]
fn partial_staging_is_honoured() {
    let repo = repo_with_hooks();
    let token = api_token(5);
    let lines: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
    repo.commit_file_unchecked("f.txt", &(lines.join("\n") + "\n"), "base");
    // Working tree: a clean edit at the top, a token at the bottom.
    let mut edited = lines.clone();
    edited[0] = "line 0 edited".to_string();
    edited[19] = format!("line 19 {token}");
    repo.write("f.txt", edited.join("\n") + "\n");
    // Stage only the first hunk, as `git add -p` would.
    let patch = repo.git_ok(&["diff", "-U0", "f.txt"]);
    let first_hunk: String = {
        let mut out = String::new();
        let mut hunks = 0;
        for line in patch.lines() {
            if line.starts_with("@@") {
                hunks += 1;
            }
            if hunks <= 1 {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    };
    let run = repo.git_with_input(&["apply", "--cached", "--unidiff-zero", "-"], &first_hunk);
    run.expect_code(0);
    repo.commit("top edit only", &[]).expect_code(0);
    // Now stage the token hunk while the working tree no longer has it.
    repo.git_ok(&["add", "f.txt"]);
    repo.write("f.txt", "whatever\n");
    let run = repo.commit("token", &[]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("f.txt:20:9");
    assert_eq!(repo.commit_count(), 3);
}

#[test]
fn commit_all_is_checked() {
    let repo = repo_with_hooks();
    let token = api_token(6);
    repo.write(
        "README.md",
        format!("# demo\nexport CARGO_REGISTRY_TOKEN={token}\n"),
    );
    let run = repo.commit("commit -a", &["-a"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("README.md:2:29");
    assert_eq!(repo.commit_count(), 1);
}

#[test]
fn commit_with_a_path_is_checked() {
    let repo = repo_with_hooks();
    let token = api_token(7);
    repo.write("README.md", format!("# demo\n{token}\n"));
    let run = repo.git(&["commit", "-q", "-m", "by path", "--", "README.md"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("README.md:2:1");
    assert_eq!(repo.commit_count(), 1);
    // `--only` with a clean path passes even while another staged file holds a token.
    repo.git_ok(&["checkout", "README.md"]);
    repo.write("other.txt", &token);
    repo.git_ok(&["add", "other.txt"]);
    repo.write("README.md", "# demo, edited\n");
    repo.git(&["commit", "-q", "-m", "only readme", "--", "README.md"])
        .expect_code(0);
    assert_eq!(repo.commit_count(), 2);
}

#[test]
fn amend_is_checked() {
    let repo = repo_with_hooks();
    let token = api_token(8);
    repo.write("ci.yml", format!("token: {token}\n"));
    repo.git_ok(&["add", "ci.yml"]);
    let before = repo.head();
    let run = repo.commit("amended", &["--amend"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token]);
    assert_eq!(repo.head(), before);
    repo.git_ok(&["reset", "-q", "ci.yml"]);
    repo.commit("reworded", &["--amend"]).expect_code(0);
    assert_ne!(repo.head(), before);
}

#[test]
fn allowlist_by_fingerprint_path_and_expiry() {
    let repo = repo_with_hooks();
    let token = api_token(9);
    repo.write("fixtures/revoked.txt", format!("{token}\n"));
    repo.git_ok(&["add", "."]);
    let blocked = repo.cio_hook(&["scan-staged", "--format", "json"]);
    blocked.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&blocked.stdout).unwrap();
    let fingerprint = report["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    repo.write(
        ".ciokeyignore.toml",
        format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"revoked fixture\"\n"),
    );
    repo.cio_hook(&["scan-staged"])
        .expect_code(0)
        .expect_contains("allowed by .ciokeyignore.toml:1: revoked fixture");

    repo.write(
        ".ciokeyignore.toml",
        "# fixtures are revoked tokens\n[[allow]]\npath = \"fixtures/\"\nreason = \"fixtures\"\n",
    );
    repo.cio_hook(&["scan-staged"]).expect_code(0);

    repo.write(
        ".ciokeyignore.toml",
        "[[allow]]\npath = \"fixtures/**\"\nreason = \"fixtures\"\nexpires = 2001-01-01\n",
    );
    let run = repo.commit("expired allowlist", &[]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("expired on 2001-01-01");

    repo.write(
        ".ciokeyignore.toml",
        "[[allow]]\npath = \"fixtures/**\"\nreason = \"fixtures\"\nexpires = 2999-01-01\n",
    );
    repo.commit("live allowlist", &[]).expect_code(0);
    assert_eq!(repo.commit_count(), 2);
}

#[test]
fn malformed_allowlist_blocks_with_its_location() {
    let repo = repo_with_hooks();
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "a.txt"]);
    repo.write(
        ".ciokeyignore.toml",
        "[[allow]]\npath = \"a\"\nreason = \"r\"\n\n[[allow]]\npath = \"b\"\n",
    );
    let run = repo.commit("clean but config broken", &[]);
    assert_ne!(run.code, 0);
    run.expect_contains(".ciokeyignore.toml:5:1: [[allow]] entry: missing reason")
        .expect_contains("--no-verify");
    repo.cio_hook(&["scan-staged"]).expect_code(2);
    repo.write(
        ".ciokeyignore.toml",
        "[[allow]]\npath = \"a\"\nreasn = \"r\"\n",
    );
    repo.cio_hook(&["scan-staged"])
        .expect_code(2)
        .expect_contains(".ciokeyignore.toml:3:1")
        .expect_contains("unknown field `reasn`");
    assert_eq!(repo.commit_count(), 1);
}

#[test]
fn core_hooks_path_is_honoured() {
    let repo = Repo::new();
    repo.git_ok(&["config", "core.hooksPath", ".githooks"]);
    repo.install_hooks()
        .expect_contains(".githooks/pre-commit")
        .expect_contains(".githooks/pre-push");
    assert!(!repo.path.join(".git/hooks/pre-commit").exists());
    let token = api_token(10);
    repo.write("a.env", format!("TOKEN={token}\n"));
    repo.git_ok(&["add", "a.env"]);
    let run = repo.commit("token", &[]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token]);
    assert_eq!(repo.commit_count(), 0);
}

#[test]
fn install_is_idempotent_and_never_clobbers() {
    let repo = Repo::new();
    repo.install_hooks();
    repo.install_hooks().expect_contains("already installed");
    repo.git_ok(&["config", "core.hooksPath", "custom-hooks"]);
    repo.write("custom-hooks/pre-commit", "#!/bin/sh\necho own-hook-ran\n");
    std::fs::set_permissions(
        repo.path.join("custom-hooks/pre-commit"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let refused = common::Run::from_output(
        common::clean_command(common::checkout().join("install.sh"), &repo.path)
            .args(["--no-build", "--hooks", "."])
            .output()
            .unwrap(),
    );
    assert_ne!(refused.code, 0);
    refused.expect_contains("--force");
    let chained = common::Run::from_output(
        common::clean_command(common::checkout().join("install.sh"), &repo.path)
            .args(["--no-build", "--hooks", ".", "--force"])
            .output()
            .unwrap(),
    );
    chained.expect_code(0).expect_contains("kept as");
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "a.txt"]);
    repo.commit("clean", &[])
        .expect_code(0)
        .expect_contains("own-hook-ran");
    repo.cio_hook(&["uninstall"])
        .expect_code(0)
        .expect_contains("restored the previous hook");
    assert_eq!(
        std::fs::read_to_string(repo.path.join("custom-hooks/pre-commit")).unwrap(),
        "#!/bin/sh\necho own-hook-ran\n"
    );
}

#[test]
fn outside_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::Run::from_output(
        common::clean_command(common::binary(), dir.path())
            .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
            .arg("scan-staged")
            .output()
            .unwrap(),
    );
    // git's own wording, with the directory, and nothing of libgit2's.
    let dir_shown = dir.path().canonicalize().unwrap();
    run.expect_code(2).expect_contains(&format!(
        "cio-hook: error: not a git repository (or any of the parent directories): {}",
        dir_shown.display()
    ));
    assert!(
        !run.all().contains("could not find repository"),
        "{}",
        run.all()
    );
    // Run by hand, nothing is being blocked: the error alone, no bypass hint.
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn output_is_coloured_on_a_terminal_unless_no_color() {
    let repo = repo_with_hooks();
    let token = api_token(12);
    repo.write("a.txt", &token);
    repo.git_ok(&["add", "a.txt"]);
    // `script` (util-linux) gives the command a pseudo-terminal.
    let on_terminal = |no_color: Option<&str>| {
        let mut command = common::clean_command("script", &repo.path);
        command.env_remove("NO_COLOR").args([
            "-qc",
            &format!("{} scan-staged", common::binary().display()),
            "/dev/null",
        ]);
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        common::Run::from_output(command.output().unwrap())
    };
    let coloured = on_terminal(None);
    coloured.expect_no_full_token(&[&token]);
    assert!(coloured.stdout.contains("\x1b["), "{}", coloured.stdout);
    let plain = on_terminal(Some("1"));
    assert!(plain.stdout.contains("commit blocked"), "{}", plain.stdout);
    assert!(!plain.stdout.contains("\x1b["), "{}", plain.stdout);
}

#[test]
fn output_has_no_colour_when_piped() {
    let repo = repo_with_hooks();
    let token = api_token(11);
    repo.write("a.txt", &token);
    repo.git_ok(&["add", "a.txt"]);
    let run = common::Run::from_output(
        common::clean_command(common::binary(), &repo.path)
            .env_remove("NO_COLOR")
            .arg("scan-staged")
            .output()
            .unwrap(),
    );
    run.expect_code(1);
    assert!(!run.all().contains('\x1b'), "{}", run.all());
}

#[test]
fn token_in_a_commit_message_is_refused_by_the_commit_msg_hook() {
    let repo = repo_with_hooks();
    let token = api_token(13);
    repo.write("a.txt", "clean\n");
    repo.git_ok(&["add", "a.txt"]);
    let before = repo.head();
    for extra in [&[][..], &["--amend"][..]] {
        let run = repo.commit(&format!("debug: publish with {token}"), extra);
        assert_ne!(run.code, 0, "{extra:?}");
        run.expect_no_full_token(&[&token])
            .expect_contains("commit blocked: 1 crates.io credential in the commit message")
            .expect_contains("(commit message):1:21")
            .expect_contains("COMMIT_EDITMSG")
            .expect_contains("git commit --no-verify");
        assert_eq!(repo.head(), before);
    }
    repo.commit("clean message", &[]).expect_code(0);
    repo.cio_hook(&["scan-message", "--hook", "no/such/file"])
        .expect_code(2)
        .expect_contains("no/such/file")
        .expect_contains("git commit --no-verify");
}

#[test]
fn verbose_commit_diff_below_the_scissors_is_not_the_message() {
    let repo = repo_with_hooks();
    let token = api_token(14);
    repo.commit_file_unchecked("notes.txt", &format!("keep\n{token}\n"), "bypassed");
    // Removing the token: `git commit -v` shows the removed line in the message file, below
    // the scissors line that git cuts at.
    repo.write("notes.txt", "keep\n");
    repo.git_ok(&["add", "notes.txt"]);
    let editor = "sed -i '1s/^/remove the token/'";
    repo.git_with_env(&[("GIT_EDITOR", editor)], &["commit", "-q", "-v"])
        .expect_code(0);
    assert_eq!(repo.commit_count(), 3);
    assert_eq!(
        repo.git_ok(&["log", "-1", "--format=%s"]).trim(),
        "remove the token"
    );
}

#[test]
fn merge_that_git_commits_by_itself_is_checked() {
    let repo = repo_with_hooks();
    repo.git_ok(&["checkout", "-q", "-b", "leaky"]);
    let token = api_token(15);
    repo.commit_file_unchecked("leak.txt", &format!("{token}\n"), "leak, unchecked");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.commit_file_unchecked("main.txt", "main\n", "main work");
    let before = repo.head();
    let run = repo.git(&["merge", "-q", "--no-edit", "leaky"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains("commit blocked")
        .expect_contains("leak.txt:1:1");
    assert_eq!(repo.head(), before);
    repo.git_ok(&["merge", "--abort"]);

    repo.git_ok(&["checkout", "-q", "-b", "clean", "HEAD~1"]);
    repo.commit_file_unchecked("side.txt", "side\n", "side work");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-edit", "clean"])
        .expect_code(0);
    assert_eq!(repo.git_ok(&["rev-parse", "HEAD^1"]).trim(), before);
}
