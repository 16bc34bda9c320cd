//! The allowlist can never let a token in: an entry holding a token, a catch-all entry or a token
//! inside `.ciokeyignore.toml` itself blocks; `allow` and `check-config` catch the usual mistakes.

mod common;

use common::{api_token, Repo};

const ALLOWLIST: &str = ".ciokeyignore.toml";

/// A repository with hooks installed, one clean commit, and `fixture.txt` staged with a token.
fn repo_with_staged_token(seed: u64) -> (Repo, String) {
    let repo = Repo::new();
    repo.install_hooks();
    repo.commit_file_unchecked("README", "hello\n", "first");
    let token = api_token(seed);
    repo.write("fixture.txt", format!("{token}\n"));
    repo.git_ok(&["add", "fixture.txt"]);
    (repo, token)
}

/// The fingerprint a JSON report gives the first finding.
fn first_fingerprint(repo: &Repo) -> String {
    let report: serde_json::Value =
        serde_json::from_str(&repo.cio_hook(&["scan-staged", "--format", "json"]).stdout).unwrap();
    report["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn an_entry_holding_the_token_is_refused_and_the_commit_blocked() {
    let (repo, token) = repo_with_staged_token(201);
    let fingerprint = first_fingerprint(&repo);
    repo.write(
        ALLOWLIST,
        format!("[[allow]]\npattern = \"{token}\"\nreason = \"fixture\"\n"),
    );
    let run = repo.commit("token allowed by itself", &[]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(".ciokeyignore.toml:2:12: holds a crates.io API token")
        .expect_contains(&format!("fingerprint = \"{fingerprint}\""))
        .expect_contains("--no-verify");
    repo.cio_hook(&["scan-staged"])
        .expect_code(2)
        .expect_no_full_token(&[&token]);
    repo.cio_hook(&["check-config"])
        .expect_code(2)
        .expect_no_full_token(&[&token])
        .expect_contains(".ciokeyignore.toml:2:12");
    // Spelled through a TOML escape, or in a regex with one escaped character: still refused.
    for pattern in [
        format!("\\u0063{}", &token[1..]),
        format!(
            "^{}\\\\x{:02x}{}$",
            &token[..5],
            token.as_bytes()[5],
            &token[6..]
        ),
    ] {
        repo.write(
            ALLOWLIST,
            format!("[[allow]]\npattern = \"{pattern}\"\nreason = \"fixture\"\n"),
        );
        repo.cio_hook(&["scan-staged"])
            .expect_code(2)
            .expect_no_full_token(&[&token])
            .expect_contains(".ciokeyignore.toml:2:11: ")
            .expect_contains("must never contain a secret");
    }
    assert_eq!(repo.commit_count(), 1);
    // The way that works: the fingerprint.
    repo.write(
        ALLOWLIST,
        format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"fixture\"\n"),
    );
    repo.git_ok(&["add", ALLOWLIST]);
    repo.commit("fixture allowed by fingerprint", &[])
        .expect_code(0);
}

#[test]
fn a_token_inside_the_allowlist_file_is_never_allowed() {
    let (repo, token) = repo_with_staged_token(202);
    let fingerprint = first_fingerprint(&repo);
    let allowing = format!(
        "[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"fixture\"\n\n\
         [[allow]]\npath = \"{ALLOWLIST}\"\nreason = \"the allowlist itself\"\n"
    );
    // The index holds an allowlist with the token in a comment; the working tree's copy (the one
    // that is loaded) allows the token by fingerprint and the allowlist by path.
    repo.write(ALLOWLIST, format!("# {token}\n{allowing}"));
    repo.git_ok(&["add", ALLOWLIST]);
    repo.write(ALLOWLIST, &allowing);
    let run = repo.commit("token hidden in the allowlist", &[]);
    assert_ne!(run.code, 0, "{}", run.all());
    run.expect_no_full_token(&[&token])
        .expect_contains(".ciokeyignore.toml:1:3");
    assert_eq!(repo.commit_count(), 1);
    // The same file, committed without the hook: scan-history blocks on it, though the current
    // allowlist allows the token (in fixture.txt) everywhere else.
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "bypassed"]);
    let history = repo.cio_hook(&["scan-history", "--format", "json"]);
    history.expect_code(1).expect_no_full_token(&[&token]);
    let report: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let statuses: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["path"].as_str().unwrap().to_string(),
                finding["status"]["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (ALLOWLIST.to_string(), "blocking".to_string()),
            ("fixture.txt".to_string(), "allowed".to_string()),
        ]
    );
}

#[test]
fn catch_all_entries_are_refused_with_the_reason() {
    let (repo, token) = repo_with_staged_token(203);
    for (selector, why) in [
        (
            "pattern = \"\"",
            "matches the empty string, so it matches every token",
        ),
        ("pattern = \".*\"", "matches the empty string"),
        ("pattern = \"^cio\"", "matches every token"),
        ("path = \"*\"", "matches every file"),
        ("path = \"**\"", "matches every file"),
        ("path = \"/**\"", "matches every file"),
        ("path = \"**/*\"", "matches every file"),
        ("path = \"\"", "is empty"),
    ] {
        repo.write(
            ALLOWLIST,
            format!("# team allowlist\n[[allow]]\n{selector}\nreason = \"everything\"\n"),
        );
        let run = repo.commit("everything allowed", &[]);
        assert_ne!(run.code, 0, "{selector}: {}", run.all());
        run.expect_no_full_token(&[&token])
            .expect_contains(".ciokeyignore.toml:3:")
            .expect_contains(why);
        repo.cio_hook(&["check-config"])
            .expect_code(2)
            .expect_contains(why);
    }
    assert_eq!(repo.commit_count(), 1);
}

#[test]
fn allow_refuses_a_past_expiry_and_a_fingerprint_without_its_prefix() {
    let (repo, _token) = repo_with_staged_token(204);
    let fingerprint = first_fingerprint(&repo);
    let hex = fingerprint.strip_prefix("sha256:").unwrap();
    repo.cio_hook(&[
        "allow",
        &fingerprint,
        "--reason",
        "fixture",
        "--expires",
        "2001-01-01",
    ])
    .expect_code(2)
    .expect_contains("--expires 2001-01-01 is in the past");
    repo.cio_hook(&["allow", hex, "--reason", "fixture"])
        .expect_code(2)
        .expect_contains(&format!("did you mean \"{fingerprint}\"?"));
    assert!(!repo.path.join(ALLOWLIST).exists());
    // The file `allow` creates is not tracked yet: it says so; a second entry for the same
    // fingerprint is refused.
    let untracked = ".ciokeyignore.toml is not tracked by git";
    repo.cio_hook(&["allow", &fingerprint, "--reason", "fixture"])
        .expect_code(0)
        .expect_contains(untracked);
    repo.cio_hook(&["allow", &fingerprint, "--reason", "again"])
        .expect_code(2)
        .expect_contains("is already allowed by ")
        .expect_contains(".ciokeyignore.toml:1; edit that entry instead");
    repo.write(
        ALLOWLIST,
        format!("[[allow]]\nfingerprint = \"{hex}\"\nreason = \"fixture\"\n"),
    );
    repo.cio_hook(&["scan-staged"])
        .expect_code(2)
        .expect_contains(".ciokeyignore.toml:2:15: [[allow]] entry: fingerprint must start")
        .expect_contains(&format!("did you mean \"{fingerprint}\"?"));
}

#[test]
fn allow_refuses_a_placeholder_and_the_template_reason() {
    let (repo, _token) = repo_with_staged_token(230);
    let fingerprint = first_fingerprint(&repo);
    repo.cio_hook(&["allow", &fingerprint, "--reason", "why this is safe"])
        .expect_code(2)
        .expect_contains("\"why this is safe\" is the template's wording");
    repo.cio_hook(&["allow", &fingerprint, "--reason", " Why this is safe. "])
        .expect_code(2);
    let placeholder = ["cio", &"x".repeat(32)].concat();
    repo.write("docs/setup.md", format!("cargo login {placeholder}\n"));
    repo.git_ok(&["add", "docs/setup.md"]);
    let json = repo.cio_hook(&["scan-path", "docs/setup.md", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let placeholder_fingerprint = report["findings"][0]["fingerprint"].as_str().unwrap();
    repo.cio_hook(&["allow", placeholder_fingerprint, "--reason", "docs example"])
        .expect_code(2)
        .expect_contains(&format!(
            "{placeholder_fingerprint} is a placeholder's (at docs/setup.md:1:13), which never \
             blocks: no entry is needed"
        ));
    assert!(!repo.path.join(ALLOWLIST).exists());
}

#[test]
fn check_config_says_an_entry_matches_only_a_placeholder() {
    let repo = Repo::new();
    let placeholder = ["cio", &"x".repeat(32)].concat();
    repo.write("docs/setup.md", format!("cargo login {placeholder}\n"));
    repo.write(
        ALLOWLIST,
        "[[allow]]\npath = \"docs/\"\nreason = \"examples\"\n",
    );
    repo.git_ok(&["add", "."]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "docs"]);
    let run = repo.cio_hook(&["check-config"]);
    run.expect_code(1).expect_contains(&format!(
        ".ciokeyignore.toml:1: matches only a placeholder (docs/setup.md:1:13 {placeholder}), \
         which never blocks: not needed; remove it"
    ));
    assert!(!run.stdout.contains("matches nothing"), "{}", run.stdout);
}

#[test]
fn check_config_lists_duplicate_entries() {
    let (repo, token) = repo_with_staged_token(205);
    let fingerprint = first_fingerprint(&repo);
    repo.write(
        ALLOWLIST,
        format!(
            "[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"fixture\"\n\n\
             [[allow]]\nfingerprint = \"{}\"\nreason = \"the same, again\"\n",
            fingerprint.to_ascii_uppercase().replace("SHA256", "sha256")
        ),
    );
    repo.git_ok(&["add", "-A"]);
    repo.cio_hook(&["check-config"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(".ciokeyignore.toml:5: duplicates the entry at .ciokeyignore.toml:1")
        .expect_contains("2 entries, 1 to review");
}

#[test]
fn an_untracked_allowlist_gets_a_warning_that_does_not_block() {
    let (repo, _token) = repo_with_staged_token(206);
    let fingerprint = first_fingerprint(&repo);
    repo.write(
        ALLOWLIST,
        format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"fixture\"\n"),
    );
    let warning = ".ciokeyignore.toml is not tracked by git, so teammates and CI do not have";
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(0);
    assert!(run.stderr.contains(warning), "{}", run.stderr);
    assert!(!run.stdout.contains(warning), "{}", run.stdout);
    let run = repo.cio_hook(&["check-config"]);
    run.expect_code(0);
    assert!(run.stderr.contains(warning), "{}", run.stderr);
    let run = repo.commit("fixture, allowlist not added", &[]);
    run.expect_code(0).expect_contains(warning);
    // Once per commit: the commit-msg hook does not repeat what pre-commit said.
    assert_eq!(run.all().matches(warning).count(), 1, "{}", run.all());
    repo.git_ok(&["add", ALLOWLIST]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(0);
    assert!(!run.all().contains("not tracked"), "{}", run.all());
}

#[test]
fn check_config_counts_history_and_says_where_the_token_still_is() {
    let repo = Repo::new();
    let token = api_token(207);
    let fixture = repo.commit_file_unchecked("fixture.txt", &format!("{token}\n"), "fixture");
    repo.git_ok(&["rm", "-q", "fixture.txt"]);
    repo.git_ok(&["commit", "-q", "-m", "drop the fixture"]);
    let report: serde_json::Value =
        serde_json::from_str(&repo.cio_hook(&["scan-history", "--format", "json"]).stdout).unwrap();
    let fingerprint = report["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let history_entry =
        format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"revoked fixture\"\n");
    repo.write(
        ALLOWLIST,
        format!("{history_entry}\n[[allow]]\npath = \"gone/\"\nreason = \"stale\"\n"),
    );
    repo.git_ok(&["add", ALLOWLIST]);
    repo.git_ok(&["commit", "-q", "-m", "allowlist"]);
    repo.cio_hook(&["scan-history"]).expect_code(0);
    let run = repo.cio_hook(&["check-config"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(&format!(
            ".ciokeyignore.toml:1: matches nothing in the tracked files, but still a token in \
             history: commit {} fixture.txt:1:1; keep it",
            &fixture[..10]
        ))
        .expect_contains(
            ".ciokeyignore.toml:5: matches nothing in the tracked files or in the history \
             (3 commits); remove it (reason: stale)",
        )
        .expect_contains("2 entries, 1 to review");
    // Doing what it says keeps scan-history passing; removing the other entry would not.
    repo.write(ALLOWLIST, &history_entry);
    repo.cio_hook(&["check-config"])
        .expect_code(0)
        .expect_contains(", 0 to review");
    repo.cio_hook(&["scan-history"]).expect_code(0);
    repo.write(ALLOWLIST, "");
    repo.cio_hook(&["scan-history"])
        .expect_code(1)
        .expect_no_full_token(&[&token]);
}

#[test]
fn scan_staged_in_a_bare_repository_is_an_error() {
    let repo = Repo::new();
    repo.commit_file_unchecked("a.txt", "a\n", "first");
    let bare = repo.sibling("bare.git");
    repo.git_ok(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let run = repo.cio_hook(&["-C", bare.to_str().unwrap(), "scan-staged"]);
    run.expect_code(2)
        .expect_contains("is a bare repository: it has no index, so there are no staged changes");
    assert!(!run.all().contains("no crates.io token"), "{}", run.all());
    // Its commits can still be scanned.
    repo.cio_hook(&["-C", bare.to_str().unwrap(), "scan-history"])
        .expect_code(0);
}

/// The first line of stderr, which carries the error.
fn error_of(run: &common::Run) -> String {
    run.expect_code(2);
    run.stderr.lines().next().unwrap_or_default().to_string()
}

#[test]
fn errors_read_as_git_would_say_them() {
    let repo = Repo::new();
    repo.commit_file_unchecked("a.txt", "a\n", "first");
    let token = api_token(208);
    let with_token =
        repo.commit_file_unchecked("b.txt", &format!("{token}\n"), "second, with a token");
    repo.commit_file_unchecked("c.txt", "c\n", "third");
    assert_eq!(
        error_of(&repo.cio_hook(&["scan-range", "nonexistent"])),
        "cio-hook: error: unknown revision 'nonexistent'"
    );
    assert_eq!(
        error_of(&repo.cio_hook(&["scan-range", "main..nope"])),
        "cio-hook: error: unknown revision 'nope'"
    );
    assert_eq!(
        error_of(&repo.cio_hook(&["scan-path", "nonexist"])),
        "cio-hook: error: nonexist: No such file or directory (os error 2)"
    );
    // `X^!` is the commit X alone, `X^-` its changes over its first parent, as in git.
    let commits_scanned = |revspec: &str, code: i32| {
        let run = repo.cio_hook(&["scan-range", revspec, "--format", "json"]);
        run.expect_code(code).expect_no_full_token(&[&token]);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        report["commits_scanned"].as_u64().unwrap()
    };
    assert_eq!(commits_scanned("HEAD^!", 0), 1);
    assert_eq!(commits_scanned("HEAD~1^!", 1), 1);
    assert_eq!(commits_scanned(&format!("{with_token}^!"), 1), 1);
    assert_eq!(commits_scanned("HEAD^-", 0), 1);
    assert_eq!(commits_scanned("HEAD^@", 1), 2);
    // libgit2's "class=…; code=…" never reaches the user, whatever the bad input.
    let bare = repo.sibling("bare.git");
    repo.git_ok(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let bare = bare.to_str().unwrap();
    let zero = "0".repeat(40);
    let unknown_push = format!(
        "refs/heads/main {} refs/heads/main {zero}\n",
        "1".repeat(40)
    );
    let mut runs = vec![
        repo.cio_hook(&["scan-range", "HEAD~9"]),
        repo.cio_hook(&["scan-range", "HEAD^{tree}"]),
        repo.cio_hook(&["scan-range", "HEAD^{nope"]),
        repo.cio_hook(&["scan-range", "HEAD^-7"]),
        repo.cio_hook(&["scan-range", "nope^!"]),
        repo.cio_hook(&["--config", "missing.toml", "scan-staged"]),
        repo.cio_hook_with_input(&["pre-push", "origin"], &unknown_push),
        repo.cio_hook_with_input(&["pre-push", "origin"], "garbage\n"),
        repo.cio_hook(&["-C", bare, "scan-staged"]),
        repo.cio_hook(&["-C", bare, "scan-range", "nonexistent"]),
        repo.cio_hook(&[
            "-C",
            bare,
            "allow",
            &format!("sha256:{}", "a".repeat(64)),
            "--reason",
            "r",
        ]),
    ];
    // A missing object, as in a partial clone.
    let blob = repo.git_ok(&["rev-parse", "HEAD:c.txt"]);
    let blob = blob.trim();
    std::fs::remove_file(
        repo.path
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]),
    )
    .unwrap();
    runs.push(repo.cio_hook(&["scan-history"]));
    for run in &runs {
        let error = error_of(run);
        assert!(error.starts_with("cio-hook: error: "), "{}", run.all());
        assert!(
            !run.all().contains("class=") && !run.all().contains("code="),
            "{}",
            run.all()
        );
    }
    assert!(error_of(&runs[0]).ends_with("unknown revision 'HEAD~9'"));
    assert!(error_of(&runs[1]).ends_with("'HEAD^{tree}' is not a commit"));
}

#[test]
fn format_is_refused_where_it_does_not_apply() {
    let repo = Repo::new();
    let fingerprint = format!("sha256:{}", "a".repeat(64));
    let text_only: [&[&str]; 6] = [
        &["check-config"],
        &["install"],
        &["uninstall"],
        &["allow", &fingerprint, "--reason", "r"],
        &["pre-receive"],
        &["baseline"],
    ];
    let mut cases: Vec<(Vec<&str>, &str, &str)> = Vec::new();
    for args in text_only {
        for format in ["json", "sarif"] {
            cases.push((args.to_vec(), format, "text"));
        }
    }
    for args in [&["verify", &fingerprint][..], &["revoke", &fingerprint]] {
        cases.push((args.to_vec(), "sarif", "text or json"));
    }
    for (mut args, format, written) in cases {
        let command = args[0];
        args.extend(["--format", format]);
        let run = repo.cio_hook(&args);
        run.expect_code(2);
        assert!(
            error_of(&run).ends_with(&format!(
                "{command} writes {written} reports, not {format} (see `cio-hook --help`)"
            )),
            "{}",
            run.all()
        );
        // The refusal is a run that failed: json and sarif still get the document saying so,
        // never a report.
        if format == "json" {
            let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(document["blocked"], true, "{document}");
            assert!(document.get("findings").is_none(), "{document}");
        }
    }
    assert!(!repo.path.join(".git/hooks/pre-commit").exists());
    assert!(!repo.path.join(ALLOWLIST).exists());
    repo.cio_hook(&["install", "--format", "text"])
        .expect_code(0);
    assert!(repo.path.join(".git/hooks/pre-commit").exists());
}

/// The global help states the rule of the same table the check enforces: every command with
/// the formats it writes.
#[test]
fn global_help_lists_the_formats_of_every_command() {
    let repo = Repo::new();
    let help = repo.cio_hook(&["--help"]);
    help.expect_code(0);
    for line in [
        "scan-staged, pre-push, scan-message, scan-range, scan-history, scan-path, scan-package: \
         text, json, sarif",
        "verify, revoke: text, json",
        "allow, check-config, install, uninstall, baseline, pre-receive: text",
    ] {
        assert!(help.stdout.contains(line), "{line}\n{}", help.stdout);
    }
    assert!(!help.stdout.contains("Other commands write text only"));
}

#[test]
fn an_error_is_a_valid_json_or_sarif_document_that_says_the_run_failed() {
    let repo = Repo::new();
    repo.commit_file_unchecked("a.txt", "a\n", "first");
    let token = api_token(209);
    let bare = repo.sibling("bare.git");
    repo.git_ok(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    repo.write(ALLOWLIST, "[[allow]]\npath = \"a\"\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["scan-range", "nonexistent"],
            "unknown revision 'nonexistent'",
        ),
        (vec!["scan-range", &token], "unknown revision 'cio"),
        (
            vec!["scan-staged"],
            ".ciokeyignore.toml:1:1: [[allow]] entry: missing reason",
        ),
        (
            vec!["-C", bare.to_str().unwrap(), "scan-staged"],
            "is a bare repository",
        ),
        (
            vec!["scan-range"],
            "the following required arguments were not provided: <REVSPEC>",
        ),
        (vec!["scan-stagde"], "unrecognized subcommand 'scan-stagde'"),
        (
            vec!["check-config"],
            "check-config writes text reports, not",
        ),
    ];
    for (args, expected) in cases {
        let mut json_args = args.clone();
        json_args.extend(["--format", "json"]);
        let run = repo.cio_hook(&json_args);
        run.expect_code(2).expect_no_full_token(&[&token]);
        let document: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|err| panic!("{json_args:?}: not JSON ({err}):\n{}", run.all()));
        assert_eq!(document["version"], 1, "{document}");
        assert_eq!(document["blocked"], true, "{document}");
        assert!(document.get("findings").is_none(), "{document}");
        let error = document["error"].as_str().unwrap();
        assert!(error.contains(expected), "{json_args:?}: {error}");
        let stderr_words = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(stderr_words.contains(expected), "{}", run.stderr);

        let mut sarif_args = args.clone();
        sarif_args.insert(0, "--format=sarif");
        let run = repo.cio_hook(&sarif_args);
        run.expect_code(2).expect_no_full_token(&[&token]);
        let log: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|err| panic!("{sarif_args:?}: not SARIF ({err}):\n{}", run.all()));
        let errors = common::sarif_schema_errors(&log);
        assert!(errors.is_empty(), "{sarif_args:?}:\n{}", errors.join("\n"));
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false, "{log}");
        assert_eq!(invocation["exitCode"], 2, "{log}");
        let notification = &invocation["toolExecutionNotifications"][0];
        assert_eq!(notification["level"], "error");
        let text = notification["message"]["text"].as_str().unwrap();
        assert!(text.contains(expected), "{sarif_args:?}: {text}");
        assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
    }
    // Text stays as it was: the error on stderr, nothing on stdout.
    let run = repo.cio_hook(&["scan-range", "nonexistent"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
}

#[test]
fn baseline_says_a_token_inside_the_allowlist_cannot_be_baselined() {
    let repo = Repo::new();
    let (in_allowlist, elsewhere) = (api_token(210), api_token(211));
    repo.commit_file_unchecked(ALLOWLIST, &format!("# {in_allowlist}\n"), "oops");
    repo.commit_file_unchecked("ci.env", &format!("T={elsewhere}\n"), "ci");
    repo.commit_file_unchecked(ALLOWLIST, "", "clean allowlist");
    let run = repo.cio_hook(&["baseline"]);
    run.expect_code(0)
        .expect_no_full_token(&[&in_allowlist, &elsewhere])
        .expect_contains("1 baseline entry added")
        .expect_contains(".ciokeyignore.toml is never allowed; rewrite that commit");
    let history = repo.cio_hook(&["scan-history", "--format", "json"]);
    history
        .expect_code(1)
        .expect_no_full_token(&[&in_allowlist, &elsewhere]);
    let report: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["status"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![(ALLOWLIST, "blocking"), ("ci.env", "allowed")],
        "{}",
        history.stdout
    );
}
