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
        .expect_contains("3 crates.io credentials");
    assert_eq!(repo.commit_count(), 1);
}
