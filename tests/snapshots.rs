//! The reports people read are snapshots, so that a change of wording is reviewed as a diff.
//! `UPDATE_SNAPSHOTS=1 cargo test --test snapshots` rewrites them.

mod common;

use common::{api_token, Repo};

fn assert_snapshot(name: &str, actual: &str) {
    let path = common::checkout().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_SNAPSHOTS=1", path.display()));
    assert_eq!(
        actual, expected,
        "{name} changed; review, then UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn blocked_commit_report() {
    let repo = Repo::new();
    let token = api_token(1000);
    repo.write(
        ".cargo/credentials.toml",
        format!("[registry]\ntoken = \"{token}\"\n"),
    );
    repo.write(
        "docs/setup.md",
        format!("cargo login {}\n", ["cio", &"x".repeat(32)].concat()),
    );
    repo.git_ok(&["add", "."]);
    let run = repo.cio_hook(&["scan-staged"]);
    run.expect_code(1).expect_no_full_token(&[&token]);
    assert_snapshot("scan-staged-blocked.txt", &run.stdout);
}

#[test]
fn commit_range_report() {
    let repo = Repo::new();
    let token = api_token(1001);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.commit_file_unchecked(
        ".env",
        &format!("CARGO_REGISTRY_TOKEN={token}\n"),
        "add env file",
    );
    let run = repo.cio_hook(&["scan-range", "HEAD~1..HEAD"]);
    run.expect_code(1).expect_no_full_token(&[&token]);
    // Commit ids and dates depend on the clock; the snapshot keeps the report's shape.
    let short = &repo.head()[..10];
    let date = common::iso_author_date(&repo, "HEAD");
    assert_snapshot(
        "scan-range-blocked.txt",
        &run.stdout
            .replace(short, "<commit>")
            .replace(&date, "<date>"),
    );
}
