//! Detection through the real commands: scan-path on disk and stdin, and staged changes in the
//! forms that need more than a line search (binary, UTF-16, credentials context, base64).

mod common;

use common::{api_token, clean_command, Repo};

#[test]
fn scan_path_walks_directories_respecting_gitignore() {
    let repo = Repo::new();
    let (kept, ignored) = (api_token(41), api_token(42));
    repo.write("logs/build.log", format!("token {kept}\n"));
    repo.write("target/out.log", format!("token {ignored}\n"));
    repo.write(".gitignore", "target/\n");
    repo.write(".env", format!("CARGO_REGISTRY_TOKEN={}\n", api_token(43)));
    let run = repo.cio_hook(&["scan-path", "--format", "json"]);
    run.expect_code(1).expect_no_full_token(&[&kept, &ignored]);
    let found = common::json_findings(&run.stdout);
    let paths: Vec<&str> = found.iter().map(|(path, _, _)| path.as_str()).collect();
    assert_eq!(paths, vec![".env", "logs/build.log"], "{}", run.stdout);
    // A file named explicitly is scanned even when ignored.
    repo.cio_hook(&["scan-path", "target/out.log"])
        .expect_code(1)
        .expect_contains("target/out.log:1:7");
}

#[test]
fn scan_path_reads_stdin_outside_any_repository() {
    let dir = tempfile::tempdir().unwrap();
    let token = api_token(44);
    let log = format!("step 1\nstep 2: publishing with {token}\n");
    let run = common::run_with_input(
        clean_command(common::binary(), dir.path())
            .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
            .args(["scan-path", "-"]),
        &log,
    );
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("(stdin):2:25");
}

#[test]
fn staged_binary_utf16_base64_and_credentials_context_are_caught() {
    let repo = Repo::new();
    repo.install_hooks();
    repo.commit_file_unchecked(
        ".cargo/credentials.toml",
        "[registries.corp]\nindex = \"sparse+https://corp.example/\"\n",
        "registry config",
    );
    // The header is on an unchanged line; the added token line still counts.
    repo.write(
        ".cargo/credentials.toml",
        "[registries.corp]\nindex = \"sparse+https://corp.example/\"\ntoken = \"corp_9f8e7d6c5b4a39281706\"\n",
    );
    let binary_token = api_token(45);
    let mut blob = vec![0u8, 1, 2, 3];
    blob.extend_from_slice(binary_token.as_bytes());
    blob.push(0);
    repo.write("assets/blob.bin", &blob);
    let utf16_token = api_token(46);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in format!("TOKEN={utf16_token}\r\n").encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    repo.write("win/env.txt", &utf16);
    repo.git_ok(&["add", "-A"]);
    let run = repo.commit("several encodings", &[]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&binary_token, &utf16_token, "corp_9f8e7d6c5b4a39281706"])
        .expect_contains(
            ".cargo/credentials.toml:3:10  token in a cargo credentials or config file",
        )
        .expect_contains("assets/blob.bin (byte offset 4)")
        .expect_contains("win/env.txt:1:7")
        .expect_contains("3 credentials (2 crates.io, 1 other registry)");
    assert_eq!(repo.commit_count(), 1);
}

/// How reports show `token`: the prefix, four characters, an ellipsis and the last four.
fn redacted(token: &str) -> String {
    format!("{}…{}", &token[..7], &token[token.len() - 4..])
}

#[test]
fn a_token_in_a_new_file_name_is_refused_and_reported_at_the_path() {
    let repo = Repo::new();
    repo.install_hooks();
    let token = api_token(47);
    let name = format!("notes/notes-{token}.txt");
    repo.write(&name, "meeting notes, nothing secret\n");
    repo.git_ok(&["add", "-A"]);
    let run = repo.commit("notes", &[]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token])
        .expect_contains(&format!(
            "notes/notes-{}.txt (in the path)  crates.io API token",
            redacted(&token)
        ));
    assert_eq!(repo.commit_count(), 0);

    // Committed anyway: reported once where the path appears, not when the file changes later,
    // and again where a rename gives it a new path.
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "notes"]);
    let added = repo.head();
    repo.write(&name, "meeting notes, edited\n");
    repo.git_ok(&["commit", "-q", "--no-verify", "-am", "edit"]);
    let renamed_name = format!("archive/notes-{token}.txt");
    std::fs::create_dir_all(repo.path.join("archive")).unwrap();
    repo.git_ok(&["mv", &name, &renamed_name]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "archive"]);
    let renamed = repo.head();
    let run = repo.cio_hook(&["scan-history", "--format", "json"]);
    run.expect_code(1).expect_no_full_token(&[&token]);
    let shown = |path: &str| path.replace(&token, &redacted(&token));
    let mut expected = vec![(shown(&name), 0, added), (shown(&renamed_name), 0, renamed)];
    expected.sort();
    assert_eq!(
        common::json_findings(&run.stdout),
        expected,
        "{}",
        run.stdout
    );

    let run = repo.cio_hook(&["scan-history", "--format", "sarif"]);
    run.expect_code(1).expect_no_full_token(&[&token]);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(common::sarif_schema_errors(&log), Vec::<String>::new());
    let location = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert!(location["region"].is_null(), "{location}");

    // scan-path sees file names too.
    repo.cio_hook(&["scan-path", "archive"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("(in the path)");
}

#[test]
fn a_token_path_merged_from_a_branch_is_reported_at_the_branch_commit_only() {
    let repo = Repo::new();
    repo.commit_file_unchecked("README.md", "hello\n", "start");
    repo.git_ok(&["checkout", "-q", "-b", "side"]);
    let token = api_token(48);
    let name = format!("{token}.txt");
    let side = repo.commit_file_unchecked(&name, "plain\n", "add a file");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.commit_file_unchecked("other.txt", "other\n", "other work");
    repo.merge_without_hooks("side");
    let run = repo.cio_hook(&["scan-history", "--format", "json"]);
    run.expect_code(1).expect_no_full_token(&[&token]);
    assert_eq!(
        common::json_findings(&run.stdout),
        vec![(format!("{}.txt", redacted(&token)), 0, side)],
        "{}",
        run.stdout
    );
}
