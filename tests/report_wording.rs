//! What the text report says fits what was found: advice for the place the token is in (a
//! commit, an annotated tag, the stash), counts that name what was counted, each finding's line
//! with the token redacted and marked, and who committed it and when.

mod common;

use common::{api_token, clean_command, iso_author_date, trusted_publishing_token, Repo, Run};

/// A repository with a bare remote `origin` (no hooks: these tests run the commands directly).
fn repo_with_origin() -> Repo {
    let repo = Repo::new();
    repo.add_bare_origin();
    repo
}

/// `git commit` of everything staged, as `author` at `date`, without hooks.
fn commit_as(repo: &Repo, author: &str, date: &str, message: &str) {
    let (name, email) = author.split_once(" <").unwrap();
    let run = Run::from_output(
        clean_command("git", &repo.path)
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email.trim_end_matches('>'))
            .env("GIT_AUTHOR_DATE", date)
            .args(["commit", "-q", "--no-verify", "-m", message])
            .output()
            .unwrap(),
    );
    run.expect_code(0);
}

fn pre_push_line(repo: &Repo, local_ref: &str) -> String {
    let oid = repo.git_ok(&["rev-parse", local_ref]).trim().to_string();
    format!("{local_ref} {oid} {local_ref} {}\n", "0".repeat(40))
}

#[test]
fn history_advice_names_the_commit_to_rebase_from() {
    let repo = repo_with_origin();
    let token = api_token(1500);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    let bad = repo.commit_file_unchecked("ci.env", &format!("TOKEN={token}\n"), "add ci env");
    repo.commit_file_unchecked("later.txt", "clean\n", "later");
    let audit = repo.cio_hook(&["scan-range", "HEAD~2..HEAD"]);
    audit
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(&format!("git rebase -i {}~1", &bad[..10]))
        .expect_contains("mark it `edit`");
    // An audit blocks nothing: no bypass to offer.
    assert!(!audit.all().contains("--no-verify"), "{}", audit.all());

    let push = repo.cio_hook_with_input(
        &["pre-push", "origin"],
        &pre_push_line(&repo, "refs/heads/main"),
    );
    push.expect_code(1)
        .expect_contains("The push was stopped: nothing was sent.")
        .expect_contains(&format!("git rebase -i {}~1", &bad[..10]))
        .expect_contains("git push --no-verify");
}

#[test]
fn a_token_in_the_root_commit_or_a_message_gets_its_own_rebase() {
    let repo = repo_with_origin();
    let token = api_token(1501);
    repo.commit_file_unchecked("ci.env", &format!("TOKEN={token}\n"), "root with a token");
    repo.cio_hook(&["scan-history"])
        .expect_code(1)
        .expect_contains("git rebase -i --root");

    let other = Repo::new();
    other.commit_file_unchecked("README.md", "# demo\n", "initial");
    let bad = other.commit_file_unchecked("a.txt", "a\n", &format!("debug {token}"));
    other
        .cio_hook(&["scan-history"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(&format!("git rebase -i {}~1", &bad[..10]))
        .expect_contains("mark it `reword`, then edit the message");
}

#[test]
fn a_token_in_an_annotated_tag_is_fixed_by_recreating_the_tag() {
    let repo = repo_with_origin();
    let token = api_token(1502);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.git_ok(&["push", "-q", "--no-verify", "origin", "main"]);
    repo.git_ok(&[
        "tag",
        "-a",
        "v1.0.0",
        "-m",
        &format!("release, published with {token}"),
    ]);
    let run = repo.cio_hook_with_input(
        &["pre-push", "origin"],
        &pre_push_line(&repo, "refs/tags/v1.0.0"),
    );
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("(tag message):1:")
        .expect_contains("Annotated tag v1.0.0 holds it in its message")
        .expect_contains("git tag -f -a v1.0.0 'v1.0.0^{}'");
    assert!(!run.all().contains("git rebase -i"), "{}", run.all());
    assert!(!run.all().contains("--amend"), "{}", run.all());
}

#[test]
fn an_alternative_registry_token_is_not_called_a_crates_io_credential() {
    let repo = Repo::new();
    repo.write(
        ".env",
        "CARGO_REGISTRIES_CORP_TOKEN=corp_9f8e7d6c5b4a39281706\n",
    );
    repo.git_ok(&["add", "."]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(1)
        .expect_contains("commit blocked: 1 registry credential in the staged changes");
    assert!(!run.all().contains("crates.io credential"), "{}", run.all());

    let token = api_token(1503);
    repo.write("b.env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    repo.git_ok(&["add", "."]);
    repo.cio_hook(&["scan-staged"])
        .expect_code(1)
        .expect_contains("2 credentials (1 crates.io, 1 other registry) in the staged changes");
}

#[test]
fn a_clean_result_with_an_allowed_token_says_so() {
    let repo = Repo::new();
    let token = api_token(1504);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.commit_file_unchecked("fixture.txt", &format!("{token}\n"), "fixture");
    let fingerprint = cio_hook::redact::fingerprint(token.as_bytes());
    repo.commit_file_unchecked(
        ".ciokeyignore.toml",
        &format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"revoked fixture\"\n"),
        "allow the fixture",
    );
    let run = repo.cio_hook(&["scan-history"]);
    run.expect_code(0)
        .expect_contains("cio-hook: nothing blocks in 3 commits (all refs); 1 allowed listed below")
        .expect_contains("Not blocking:")
        .expect_contains("allowed by .ciokeyignore.toml:1");
    assert!(!run.all().contains("no crates.io token"), "{}", run.all());
    repo.cio_hook(&["check-config"])
        .expect_code(0)
        .expect_contains("1 entry, 0 to review");
}

#[test]
fn one_commit_one_header_and_the_stash_counted_once() {
    let repo = Repo::new();
    let token = api_token(1505);
    let stashed = api_token(1506);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.write("ci.env", format!("TOKEN={token}\n"));
    repo.git_ok(&["add", "."]);
    repo.git_ok(&[
        "commit",
        "-q",
        "--no-verify",
        "-m",
        &format!("add ci, was {token}"),
    ]);
    let bad = repo.head();
    // A stash made on that commit repeats its subject in two stash commits' messages.
    repo.write("README.md", format!("# demo\n{stashed}\n"));
    repo.git_ok(&["stash", "-q"]);

    let run = repo.cio_hook(&["scan-history"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token, &stashed])
        .expect_contains("secrets found: 3 crates.io credentials in 4 commits (all refs)")
        .expect_contains("(in the stash: local, never pushed)")
        .expect_contains("git stash drop stash@{0}")
        .expect_contains(&format!("git rebase -i {}~1", &bad[..10]));
    let headers = run
        .stdout
        .lines()
        .filter(|line| line.starts_with(&format!("  {} ", &bad[..10])))
        .count();
    assert_eq!(headers, 1, "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("(commit message):1:").count(),
        1,
        "{}",
        run.stdout
    );

    let json: serde_json::Value =
        serde_json::from_str(&repo.cio_hook(&["scan-history", "--format", "json"]).stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{json:#}");
    let in_stash: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|finding| finding["commit"]["stash"] == true)
        .collect();
    assert_eq!(in_stash.len(), 1, "{json:#}");
    assert_eq!(in_stash[0]["path"], "README.md");
}

#[test]
fn the_offending_line_is_shown_redacted_with_a_caret() {
    let repo = Repo::new();
    let token = api_token(1507);
    let neighbour = api_token(1508);
    let long_prefix = "x".repeat(300);
    repo.write(
        "deploy.sh",
        format!(
            "#!/bin/sh\n\tcargo publish --token {token} # old: {neighbour} \x1b]0;title\x07\n{long_prefix} {token} tail\n"
        ),
    );
    repo.git_ok(&["add", "."]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token, &neighbour]);
    let redacted = format!("{}…{}", &token[..7], &token[31..]);
    let other = format!("{}…{}", &neighbour[..7], &neighbour[31..]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with("  deploy.sh:2:24 "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(
        lines[at + 1],
        format!("    |  cargo publish --token {redacted} # old: {other} \\u{{1b}}]0;title\\u{{7}}")
    );
    assert_eq!(
        lines[at + 2],
        format!("    | {}{}", " ".repeat(23), "^".repeat(12))
    );
    // A long line is cut around the token, and says so.
    let at = lines
        .iter()
        .position(|line| line.starts_with("  deploy.sh:3:302 "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(
        lines[at + 1],
        format!("    | …{} {redacted} tail", "x".repeat(39))
    );
    assert_eq!(
        lines[at + 2],
        format!("    | {}{}", " ".repeat(41), "^".repeat(12))
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "a terminal escape reached the report"
    );
}

#[test]
fn history_findings_carry_author_and_date() {
    let repo = repo_with_origin();
    let token = api_token(1509);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.write("ci.env", format!("TOKEN={token}\n"));
    repo.git_ok(&["add", "."]);
    commit_as(
        &repo,
        "Ann Example <ann@example.invalid>",
        "2026-03-04T05:06:07+01:00",
        "add ci",
    );
    let date = iso_author_date(&repo, "HEAD");
    assert_eq!(date, "2026-03-04T05:06:07+01:00");
    let byline = format!("    Ann Example <ann@example.invalid>, {date}");
    repo.cio_hook(&["scan-history"])
        .expect_code(1)
        .expect_contains(&byline);
    repo.cio_hook_with_input(
        &["pre-push", "origin"],
        &pre_push_line(&repo, "refs/heads/main"),
    )
    .expect_code(1)
    .expect_contains(&byline);
    let json: serde_json::Value = serde_json::from_str(
        &repo
            .cio_hook(&["scan-range", "HEAD", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let commit = &json["findings"][0]["commit"];
    assert_eq!(commit["author"], "Ann Example <ann@example.invalid>");
    assert_eq!(commit["date"], "2026-03-04T05:06:07+01:00");
    assert!(commit.get("stash").is_none(), "{json:#}");
}

#[test]
fn an_alternative_registry_token_gets_its_registry_advice_not_crates_io() {
    let repo = Repo::new();
    repo.write(
        ".env",
        "CARGO_REGISTRIES_CORP_TOKEN=corp_9f8e7d6c5b4a39281706\n",
    );
    repo.write(
        ".cargo/credentials.toml",
        "[registries.corp]\ntoken = \"corp_1a2b3c4d5e6f70819283\"\n",
    );
    repo.git_ok(&["add", "."]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(1)
        .expect_contains("This is a token of the registry `corp`, not of crates.io")
        .expect_contains("cargo login --registry corp");
    assert!(
        !run.all().contains("crates.io/settings/tokens"),
        "{}",
        run.all()
    );
    assert_eq!(
        run.all().matches("registry `corp`").count(),
        1,
        "{}",
        run.all()
    );
    let json = repo.cio_hook(&["scan-staged", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    for finding in report["findings"].as_array().unwrap() {
        assert_eq!(finding["registry"], "corp", "{finding}");
    }
}

#[test]
fn a_trusted_publishing_token_gets_revoke_and_its_expiry_not_cargo_login() {
    let repo = Repo::new();
    let token = trusted_publishing_token(1510);
    repo.write("ci.log", format!("using {token}\n"));
    repo.git_ok(&["add", "."]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("expires 30 minutes after")
        .expect_contains("cio-hook revoke sha256:");
    assert!(!run.all().contains("cargo login"), "{}", run.all());
    assert!(!run.all().contains("settings/tokens"), "{}", run.all());
}

#[test]
fn staged_advice_names_the_files_and_allows_each_finding() {
    let repo = Repo::new();
    let (first, second) = (api_token(1511), api_token(1512));
    repo.write(".env", format!("TOKEN={first}\n"));
    repo.write("my notes.txt", format!("{second}\n"));
    repo.git_ok(&["add", "."]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(1)
        .expect_contains("git add .env 'my notes.txt'");
    assert!(!run.all().contains("<file>"), "{}", run.all());
    assert_eq!(run.stdout.matches("[[allow]]").count(), 2, "{}", run.stdout);
    // Before the first commit there is no HEAD to restore from: `git rm --cached` unstages.
    run.expect_contains("git rm --cached -q .env 'my notes.txt'");
    repo.git_ok(&["rm", "--cached", "-q", ".env", "my notes.txt"]);
    repo.cio_hook(&["scan-staged"]).expect_code(0);

    // After it, the advice followed literally unstages exactly those files.
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.git_ok(&["add", "."]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(1)
        .expect_contains("git restore --staged .env 'my notes.txt'")
        .expect_contains("git add .env 'my notes.txt'");
    repo.git_ok(&["restore", "--staged", ".env", "my notes.txt"]);
    repo.cio_hook(&["scan-staged"]).expect_code(0);
}

#[test]
fn rewrite_advice_for_a_commit_that_only_adds_the_file_is_drop_and_works() {
    let repo = Repo::new();
    let token = api_token(1513);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    let bad = repo.commit_file_unchecked("ci.env", &format!("TOKEN={token}\n"), "add ci env");
    repo.git_ok(&["rm", "-q", "ci.env"]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "remove ci env"]);
    let run = repo.cio_hook(&["scan-history"]);
    run.expect_code(1)
        .expect_contains("remove the token from ci.env, `git add ci.env`")
        .expect_contains("but add ci.env, mark it `drop` instead")
        .expect_contains(&format!("git rebase -i {}~1", &bad[..10]));
    // Follow it: drop that commit, skip the deletion if rebase stops on it.
    let editor = format!("sed -i -e 's/^pick {} /drop {} /'", &bad[..7], &bad[..7]);
    let rebase = repo.git_with_env(
        &[("GIT_SEQUENCE_EDITOR", &editor)],
        &["rebase", "-q", "-i", &format!("{}~1", &bad[..10])],
    );
    if rebase.code != 0 {
        repo.git_ok(&["rebase", "--skip"]);
    }
    repo.cio_hook(&["scan-history"]).expect_code(0);
}
