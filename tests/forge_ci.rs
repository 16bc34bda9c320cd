//! The forge CI recipes: `ci/scan-pr-range.sh` (what action.yml and ci/gitlab-cio-hook.yml run),
//! run here with the variables GitHub Actions and GitLab CI set, on a real repository.

mod common;

use std::path::{Path, PathBuf};

use common::{api_token, checkout, clean_command, Repo, Run};

/// A repository whose main has an old token (outside any pull request's range), and a branch
/// `feature` with a clean commit then a commit adding a token.
struct PullRequest {
    repo: Repo,
    base: String,
    head: String,
    token: String,
}

impl PullRequest {
    fn new() -> PullRequest {
        let repo = Repo::new();
        repo.commit_file_unchecked("README.md", "# demo\n", "initial");
        repo.commit_file_unchecked(
            "old.env",
            &format!("CARGO_REGISTRY_TOKEN={}\n", api_token(30)),
            "an old leak, already on main",
        );
        let base = repo.head();
        repo.git_ok(&["checkout", "-q", "-b", "feature"]);
        repo.commit_file_unchecked("a.txt", "clean\n", "clean work");
        let token = api_token(31);
        repo.commit_file_unchecked(
            "deploy.toml",
            &format!("token = \"{token}\"\n"),
            "deploy settings",
        );
        let head = repo.head();
        repo.git_ok(&["checkout", "-q", "main"]);
        PullRequest {
            repo,
            base,
            head,
            token,
        }
    }

    fn sarif_path(&self) -> PathBuf {
        self.repo.sibling("out.sarif")
    }

    /// Runs the script in the repository with only `vars` describing the CI run.
    fn run(&self, vars: &[(&str, &str)]) -> Run {
        let mut command = clean_command(checkout().join("ci/scan-pr-range.sh"), &self.repo.path);
        for name in [
            "GITHUB_ACTIONS",
            "GITLAB_CI",
            "CI_MERGE_REQUEST_DIFF_BASE_SHA",
        ] {
            command.env_remove(name);
        }
        command.env("CIO_HOOK_SARIF", self.sarif_path());
        command.envs(vars.iter().copied());
        let run = Run::from_output(command.output().unwrap());
        run.expect_no_full_token(&[&self.token, &api_token(30)]);
        run
    }

    /// The results of the SARIF report as `(file, commit)`.
    fn sarif_results(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.sarif_path()).unwrap();
        assert!(!text.contains(&self.token), "full token in SARIF");
        let log: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(log["version"], "2.1.0");
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|result| {
                (
                    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    result["properties"]["commit"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

fn write_event(dir: &Path, event: serde_json::Value) -> PathBuf {
    let path = dir.join("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

#[test]
fn github_pull_request_scans_base_to_the_merge_commit() {
    let pr = PullRequest::new();
    // GitHub checks out refs/pull/N/merge: the PR head merged into the base.
    pr.repo.git_ok(&["checkout", "-q", "--detach", "main"]);
    pr.repo.git_ok(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request",
        "feature",
    ]);
    let merge = pr.repo.head();
    let event = write_event(
        pr.repo.sibling("").as_path(),
        serde_json::json!({
            "pull_request": { "base": { "sha": pr.base }, "head": { "sha": pr.head } }
        }),
    );
    let output = pr.repo.sibling("github-output");
    let run = pr.run(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ("GITHUB_SHA", &merge),
        ("GITHUB_BASE_REF", "main"),
        ("GITHUB_OUTPUT", output.to_str().unwrap()),
    ]);
    run.expect_code(1)
        .expect_contains(&format!(
            "scanning {}..{merge} (GitHub pull request)",
            pr.base
        ))
        .expect_contains("deploy.toml:1:10");
    assert_eq!(
        pr.sarif_results(),
        vec![("deploy.toml".to_string(), pr.head.clone())]
    );
    let outputs = std::fs::read_to_string(output).unwrap();
    assert!(outputs.contains(&format!("sarif={}", pr.sarif_path().display())));
}

#[test]
fn github_push_of_a_new_branch_scans_its_whole_history() {
    let pr = PullRequest::new();
    let event = write_event(
        pr.repo.sibling("").as_path(),
        serde_json::json!({ "before": "0".repeat(40), "after": pr.head }),
    );
    pr.run(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ("GITHUB_SHA", &pr.head),
    ])
    .expect_code(1)
    .expect_contains("no base commit");
    assert_eq!(pr.sarif_results().len(), 2);
}

#[test]
fn gitlab_merge_request_scans_the_diff_base_to_the_commit() {
    let pr = PullRequest::new();
    let gitlab = |head: &str| {
        pr.run(&[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", &pr.base),
            ("CI_COMMIT_SHA", head),
        ])
    };
    gitlab(&pr.head)
        .expect_code(1)
        .expect_contains("(GitLab merge request)")
        .expect_contains("deploy settings");
    assert_eq!(
        pr.sarif_results(),
        vec![("deploy.toml".to_string(), pr.head.clone())]
    );
    // A merge request whose commits are clean passes, with an empty SARIF report.
    let clean = pr
        .repo
        .git_ok(&["rev-parse", "feature~1"])
        .trim()
        .to_string();
    gitlab(&clean).expect_code(0);
    assert!(pr.sarif_results().is_empty());
}

#[test]
fn a_base_missing_from_a_shallow_clone_is_an_error() {
    let pr = PullRequest::new();
    let missing = "1234567890".repeat(4);
    pr.run(&[
        ("GITLAB_CI", "true"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", &missing),
        ("CI_COMMIT_SHA", &pr.head),
    ])
    .expect_code(2)
    .expect_contains(&format!("commit {missing} is not in this clone"))
    .expect_contains("GIT_DEPTH: 0");
    pr.run(&[])
        .expect_code(2)
        .expect_contains("no range: set CIO_HOOK_BASE");
}

#[test]
fn the_recipes_run_the_tested_script_and_upload_its_report() {
    let action = std::fs::read_to_string(checkout().join("action.yml")).unwrap();
    assert!(action.contains("using: composite"));
    assert!(action.contains("\"$GITHUB_ACTION_PATH/ci/scan-pr-range.sh\""));
    assert!(action.contains("github/codeql-action/upload-sarif@"));
    let gitlab = std::fs::read_to_string(checkout().join("ci/gitlab-cio-hook.yml")).unwrap();
    assert!(gitlab.contains("/tmp/cio-hook/ci/scan-pr-range.sh"));
    assert!(gitlab.contains("- cio-hook.sarif"));
}
