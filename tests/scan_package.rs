//! `cio-hook scan-package`: real `cargo package` on generated packages, each way a token gets
//! into a `.crate` that git does not show, blocked with the right reason.

mod common;

use common::{api_token, Repo};

/// A git repository holding package `pkg` 0.1.0 under `pkg/`, its manifest and source
/// committed; `manifest_extra` goes at the end of `[package]`.
fn repo_with_package(manifest_extra: &str) -> Repo {
    let repo = Repo::new();
    repo.write(
        "pkg/Cargo.toml",
        format!(
            "[package]\nname = \"pkg\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             description = \"a test package\"\nlicense = \"MIT\"\n{manifest_extra}\n"
        ),
    );
    repo.write("pkg/src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    repo.git_ok(&["add", "."]);
    repo.commit("package", &["--no-verify"]).expect_code(0);
    repo
}

fn scan_package(repo: &Repo) -> common::Run {
    repo.cio_hook(&["scan-package", "--manifest-path", "pkg/Cargo.toml"])
}

#[test]
fn a_clean_package_exits_0() {
    let repo = repo_with_package("");
    scan_package(&repo)
        .expect_code(0)
        .expect_contains("no crates.io token in what `cargo package` would upload for pkg 0.1.0");
}

#[test]
fn an_untracked_env_file_blocks_as_untracked() {
    let repo = repo_with_package("");
    let token = api_token(2111);
    repo.write(
        "pkg/.env",
        format!("# local\nCARGO_REGISTRY_TOKEN={token}\n"),
    );
    // git would commit nothing: the file is not staged, and a commit scan sees nothing.
    repo.cio_hook(&["scan-staged"]).expect_code(0);
    scan_package(&repo)
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("package blocked")
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/.env:2:22")
        .expect_contains("pkg 0.1.0, file .env: untracked and not ignored")
        .expect_contains("Nothing was uploaded")
        .expect_contains("exclude = [\"FILE\"]");
}

#[test]
fn a_token_in_a_manifest_comment_blocks_as_the_verbatim_manifest() {
    let token = api_token(2112);
    let repo = repo_with_package(&format!("# publish with {token}"));
    let run = scan_package(&repo);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/Cargo.toml.orig:7:16")
        .expect_contains("file Cargo.toml.orig: the manifest as written");
    let json = repo.cio_hook(&[
        "scan-package",
        "--format",
        "json",
        "--manifest-path",
        "pkg/Cargo.toml",
    ]);
    json.expect_code(1).expect_no_full_token(&[&token]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let packaged = &report["findings"][0]["packaged"];
    assert_eq!(packaged["package"], "pkg");
    assert_eq!(packaged["version"], "0.1.0");
    assert_eq!(packaged["file"], "Cargo.toml.orig");
    assert_eq!(report["scope"]["kind"], "package");
    let sarif = repo.cio_hook(&[
        "scan-package",
        "--format",
        "sarif",
        "--manifest-path",
        "pkg/Cargo.toml",
    ]);
    sarif.expect_code(1).expect_no_full_token(&[&token]);
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert!(common::sarif_schema_errors(&log).is_empty());
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["properties"]["packaged"]["file"], "Cargo.toml.orig");
    assert!(result["message"]["text"]
        .as_str()
        .unwrap()
        .contains("in package pkg 0.1.0 (Cargo.toml.orig: the manifest as written"));
}

#[test]
fn a_readme_from_outside_the_package_root_blocks_as_copied_in() {
    let repo = repo_with_package("readme = \"../README.md\"");
    let token = api_token(2113);
    repo.write(
        "README.md",
        format!("Publish with `cargo publish --token {token}`\n"),
    );
    repo.git_ok(&["add", "README.md"]);
    repo.commit("readme", &["--no-verify"]).expect_code(0);
    scan_package(&repo)
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/README.md:1:")
        .expect_contains("the `readme` file, copied in from")
        .expect_contains("outside the package root; its text is also sent with the upload");
}

#[test]
fn a_symlink_to_credentials_blocks_as_a_symlink_target() {
    let repo = repo_with_package("");
    let token = api_token(2114);
    let credentials = repo.sibling("credentials.toml");
    std::fs::write(&credentials, format!("[registry]\ntoken = \"{token}\"\n")).unwrap();
    std::os::unix::fs::symlink(&credentials, repo.path.join("pkg/notes.toml")).unwrap();
    repo.git_ok(&["add", "pkg/notes.toml"]);
    repo.commit("notes", &["--no-verify"]).expect_code(0);
    // The commit holds the link, not the token: history is clean.
    repo.cio_hook(&["scan-history"]).expect_code(0);
    scan_package(&repo)
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/notes.toml:2:10")
        .expect_contains("a symlink to")
        .expect_contains("cargo packs the target's content");
}

#[test]
fn a_file_only_include_brings_blocks_as_ignored_but_included() {
    let repo = repo_with_package("include = [\"src/**\", \"Cargo.toml\", \"secrets/deploy.txt\"]");
    repo.write(".gitignore", "secrets/\n");
    repo.git_ok(&["add", ".gitignore"]);
    repo.commit("ignore secrets", &["--no-verify"])
        .expect_code(0);
    let token = api_token(2115);
    repo.write("pkg/secrets/deploy.txt", format!("token: {token}\n"));
    scan_package(&repo)
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/secrets/deploy.txt:1:8")
        .expect_contains("ignored by git, yet packed: with `include` set");
}

#[test]
fn a_cargo_failure_is_exit_2_with_cargo_s_reason() {
    let repo = Repo::new();
    repo.write("pkg/Cargo.toml", "[package]\nname = \n");
    scan_package(&repo)
        .expect_code(2)
        .expect_contains("cio-hook: error: `cargo metadata` failed");
}

/// The cargo-release recipe of docs/publishing.md, run as cargo-release runs a
/// `pre-release-hook`: the command with `CRATE_ROOT` set; a non-zero exit aborts the release.
fn run_release_hook(repo: &Repo) -> common::Run {
    let guide = std::fs::read_to_string(common::checkout().join("docs/publishing.md")).unwrap();
    let line = guide
        .lines()
        .find(|line| line.starts_with("pre-release-hook = "))
        .expect("the cargo-release recipe");
    let table: toml::Table = toml::from_str(line).unwrap();
    let argv: Vec<String> = table["pre-release-hook"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap().to_string())
        .collect();
    let mut command = common::clean_command(&argv[0], &repo.path);
    command
        .args(&argv[1..])
        .env("CRATE_ROOT", repo.path.join("pkg"))
        .env("CRATE_NAME", "pkg")
        .env("NEW_VERSION", "0.1.0");
    common::Run::from_output(command.output().unwrap())
}

#[test]
fn the_cargo_release_recipe_aborts_a_release_that_would_publish_a_token() {
    let repo = repo_with_package("");
    run_release_hook(&repo).expect_code(0);
    let token = api_token(2116);
    repo.write(
        "pkg/.cargo/config.toml",
        format!("[registry]\ntoken = \"{token}\"\n"),
    );
    run_release_hook(&repo)
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/.cargo/config.toml:2:10");
}

/// The command of action.yml's package-scan step, run by bash as the runner runs it, with the
/// step's input in its environment.
#[test]
fn the_action_s_package_scan_step_blocks_a_token_in_the_package() {
    let action = std::fs::read_to_string(common::checkout().join("action.yml")).unwrap();
    assert!(
        action.contains("  package-scan:\n"),
        "the input is declared"
    );
    let step = action
        .split("- name: ")
        .find(|step| step.starts_with("Scan what cargo would publish"))
        .expect("the package-scan step");
    assert!(step.contains("inputs.package-scan == 'true'"));
    let run_line = step
        .lines()
        .find_map(|line| line.trim().strip_prefix("run: "))
        .expect("the step's command");
    let repo = repo_with_package("");
    let token = api_token(2117);
    repo.write("pkg/debug.log", format!("publishing with {token}\n"));
    let mut command = common::clean_command("bash", &repo.path);
    command
        .args(["-c", run_line])
        .env("CIO_HOOK_PACKAGE_ARGS", "--manifest-path pkg/Cargo.toml");
    common::Run::from_output(command.output().unwrap())
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/debug.log:1:17");
}

#[test]
fn a_workspace_is_scanned_member_by_member() {
    let repo = Repo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n",
    );
    for member in ["a", "b"] {
        repo.write(
            &format!("{member}/Cargo.toml"),
            format!(
                "[package]\nname = \"{member}\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\
                 description = \"member\"\nlicense = \"MIT\"\n"
            ),
        );
        repo.write(&format!("{member}/src/lib.rs"), "\n");
    }
    repo.git_ok(&["add", "."]);
    repo.commit("workspace", &["--no-verify"]).expect_code(0);
    let token = api_token(2118);
    repo.write("b/.env", format!("TOKEN={token}\n"));
    repo.cio_hook(&["scan-package", "--workspace"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("for a 0.2.0, b 0.2.0")
        .expect_contains("b-0.2.0.crate!b-0.2.0/.env:1:7");
    repo.cio_hook(&["scan-package", "--package", "a"])
        .expect_code(0)
        .expect_contains("for a 0.2.0");
}
