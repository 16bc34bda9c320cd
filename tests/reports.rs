//! Machine-readable reports and the allowlist workflow: JSON, SARIF validated against the
//! SARIF 2.1.0 schema, `allow`, `check-config`, the inline marker, and `install`/`uninstall`.

mod common;

use common::{api_token, Repo};
use serde_json::Value;

/// A repository whose staged change holds a blocking token, a placeholder, an inline-allowed
/// token and an allowlisted one; the last commit holds another token.
fn repo_with_every_status() -> (Repo, Vec<String>) {
    let repo = Repo::new();
    let committed = api_token(71);
    repo.commit_file_unchecked("old file.txt", &format!("{committed}\n"), "old token");
    let (blocking, inline, allowed) = (api_token(72), api_token(73), api_token(74));
    repo.write(
        "src/config.rs",
        format!("// leaked\nconst T: &str = \"{blocking}\";\n"),
    );
    repo.write(
        "docs/é.md",
        format!(
            "placeholder {}\nexample {inline} <!-- cio-hook: allow -->\n",
            ["cio", &"x".repeat(32)].concat()
        ),
    );
    repo.write("fixtures/revoked.txt", format!("{allowed}\n"));
    repo.write(
        ".ciokeyignore.toml",
        "[[allow]]\npath = \"fixtures/\"\nreason = \"revoked fixtures\"\n",
    );
    repo.git_ok(&["add", "-A"]);
    (repo, vec![committed, blocking, inline, allowed])
}

#[test]
fn json_report_lists_every_finding_with_its_status() {
    let (repo, tokens) = repo_with_every_status();
    let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let run = repo.cio_hook(&["scan-staged", "--format", "json"]);
    run.expect_code(1).expect_no_full_token(&token_refs);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["blocked"], true);
    let findings = report["findings"].as_array().unwrap();
    let summary: Vec<(String, String)> = findings
        .iter()
        .map(|finding| {
            (
                format!(
                    "{}:{}:{}",
                    finding["path"].as_str().unwrap(),
                    finding["line"],
                    finding["column"]
                ),
                finding["status"]["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("docs/é.md:1:13".to_string(), "placeholder".to_string()),
            ("docs/é.md:2:9".to_string(), "allowed-inline".to_string()),
            (
                "fixtures/revoked.txt:1:1".to_string(),
                "allowed".to_string()
            ),
            ("src/config.rs:2:18".to_string(), "blocking".to_string()),
        ]
    );
    assert_eq!(findings[2]["status"]["by"], ".ciokeyignore.toml:1");
    assert_eq!(findings[3]["rule"]["id"], "crates-io-api-token");
    assert!(findings[3]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(
        findings[3]["token"].as_str().unwrap(),
        format!("{}…{}", &tokens[1][..7], &tokens[1][31..])
    );

    let history = repo.cio_hook(&["scan-history", "--format", "json"]);
    history.expect_code(1).expect_no_full_token(&token_refs);
    let report: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(report["findings"][0]["commit"]["subject"], "old token");
    assert_eq!(report["findings"][0]["path"], "old file.txt");
}

#[test]
fn inline_marker_lets_a_commit_through_but_is_reported() {
    let repo = Repo::new();
    repo.install_hooks();
    let token = api_token(75);
    repo.write("a.md", format!("{token} <!-- cio-hook: allow -->\n"));
    repo.git_ok(&["add", "a.md"]);
    // The hook is silent when nothing blocks; the report by hand lists the allowed line.
    repo.cio_hook(&["scan-staged"])
        .expect_code(0)
        .expect_no_full_token(&[&token])
        .expect_contains("allowed inline");
    repo.commit("documented example", &[])
        .expect_code(0)
        .expect_no_full_token(&[&token]);
}

#[test]
fn sarif_report_is_valid_sarif_2_1_0() {
    let (repo, tokens) = repo_with_every_status();
    let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    for args in [
        &["scan-staged", "--format", "sarif"][..],
        &["scan-history", "--format", "sarif"],
        &["scan-path", "--format", "sarif", "."],
    ] {
        let run = repo.cio_hook(args);
        run.expect_code(1).expect_no_full_token(&token_refs);
        let log: Value = serde_json::from_str(&run.stdout).unwrap();
        let errors = common::sarif_schema_errors(&log);
        assert!(errors.is_empty(), "{args:?}:\n{}", errors.join("\n"));
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert!(!results.is_empty());
        for result in results {
            let rule_index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                log["runs"][0]["tool"]["driver"]["rules"][rule_index]["id"],
                result["ruleId"]
            );
        }
    }
    let run = repo.cio_hook(&["scan-staged", "--format", "sarif"]);
    let log: Value = serde_json::from_str(&run.stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&"docs/%C3%A9.md"), "{uris:?}");
    assert_eq!(
        results
            .iter()
            .filter(|r| r["suppressions"].is_array())
            .count(),
        2
    );
    assert_eq!(results.iter().filter(|r| r["level"] == "note").count(), 1);
}

#[test]
fn allow_appends_an_entry_that_lets_the_commit_through() {
    let repo = Repo::new();
    repo.install_hooks();
    let token = api_token(76);
    repo.write("fixture.txt", format!("{token}\n"));
    repo.git_ok(&["add", "fixture.txt"]);
    let report: Value =
        serde_json::from_str(&repo.cio_hook(&["scan-staged", "--format", "json"]).stdout).unwrap();
    let fingerprint = report["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    repo.write(".ciokeyignore.toml", "# reviewed by the security team\n");
    repo.cio_hook(&["allow", &fingerprint])
        .expect_code(2)
        .expect_contains("--reason");
    repo.cio_hook(&["allow", &token, "--reason", "oops"])
        .expect_code(2)
        .expect_no_full_token(&[&token])
        .expect_contains("never the token");
    repo.cio_hook(&[
        "allow",
        &fingerprint,
        "--reason",
        "revoked fixture",
        "--expires",
        "2999-12-31",
    ])
    .expect_code(0);
    let config = std::fs::read_to_string(repo.path.join(".ciokeyignore.toml")).unwrap();
    assert!(
        config.starts_with("# reviewed by the security team\n"),
        "{config}"
    );
    assert!(
        config.contains(&fingerprint) && config.contains("expires = 2999-12-31"),
        "{config}"
    );
    assert!(!config.contains(&token));
    repo.commit("fixture", &[]).expect_code(0);
}

#[test]
fn check_config_lists_expired_and_unused_entries() {
    let repo = Repo::new();
    let token = api_token(77);
    repo.commit_file_unchecked("fixture.txt", &format!("{token}\n"), "fixture");
    repo.write(
        ".ciokeyignore.toml",
        "[[allow]]\npath = \"fixture.txt\"\nreason = \"used\"\n\n\
         [[allow]]\npath = \"gone/\"\nreason = \"stale\"\n\n\
         [[allow]]\npattern = \"^cio_tp_\"\nreason = \"old\"\nexpires = 2001-01-01\n",
    );
    let run = repo.cio_hook(&["check-config"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains(
            ".ciokeyignore.toml:5: matches nothing in the tracked files or in the history \
             (1 commit); remove it (reason: stale)",
        )
        .expect_contains(".ciokeyignore.toml:9: expired on 2001-01-01 (reason: old)")
        .expect_contains("3 entries, 2 to review");
    assert!(
        !run.stdout.contains(".ciokeyignore.toml:1:"),
        "{}",
        run.stdout
    );
    repo.write(
        ".ciokeyignore.toml",
        "[[allow]]\npath = \"fixture.txt\"\nreason = \"used\"\n",
    );
    repo.cio_hook(&["check-config"]).expect_code(0);
    repo.write(".ciokeyignore.toml", "[[allow]]\npath = \"fixture.txt\"\n");
    repo.cio_hook(&["check-config"])
        .expect_code(2)
        .expect_contains(".ciokeyignore.toml:1:1");
}

#[test]
fn install_and_uninstall_from_the_binary() {
    let repo = Repo::new();
    repo.cio_hook(&["install", "--pre-push"])
        .expect_code(0)
        .expect_contains(".git/hooks/pre-commit")
        .expect_contains(".git/hooks/pre-push");
    repo.cio_hook(&["install", "--pre-push"])
        .expect_contains("already installed");
    let token = api_token(78);
    repo.write("a.txt", &token);
    repo.git_ok(&["add", "a.txt"]);
    assert_ne!(repo.commit("token", &[]).code, 0);
    repo.cio_hook(&["uninstall"]).expect_code(0);
    assert!(!repo.path.join(".git/hooks/pre-commit").exists());
    assert!(!repo.path.join(".git/hooks/pre-push").exists());
    repo.commit("token, unguarded", &[]).expect_code(0);
}

/// Percent-decodes a SARIF `uri` back to bytes.
fn percent_decode(uri: &str) -> Vec<u8> {
    let bytes = uri.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&uri[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Files whose names a display form cannot tell apart (a newline, a literal backslash and `n`)
/// or cannot show (Latin-1), committed with real git: JSON keeps a printable `path` and adds the
/// lossless `path_bytes`, SARIF percent-encodes the real bytes, and both give back the names git
/// lists.
#[cfg(unix)]
#[test]
fn json_and_sarif_paths_round_trip_to_the_real_file_names() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    let names: [&[u8]; 4] = [
        b"weird\nname.env",
        b"weird\\nname.env",
        b"lat\xe9.env",
        b"plain.env",
    ];
    for (seed, name) in names.iter().enumerate() {
        let path = repo.path.join(std::ffi::OsStr::from_bytes(name));
        std::fs::write(path, format!("TOKEN={}\n", api_token(80 + seed as u64))).unwrap();
    }
    repo.git_ok(&["add", "-A"]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "odd names"]);
    // git's own list of the names, NUL-separated and unquoted.
    let listed = std::process::Command::new("git")
        .args(["ls-tree", "-z", "--name-only", "HEAD"])
        .current_dir(&repo.path)
        .output()
        .unwrap()
        .stdout;
    let mut from_git: Vec<Vec<u8>> = listed
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    from_git.sort();
    assert_eq!(from_git.len(), 4);

    let json = repo.cio_hook(&["scan-history", "--format", "json"]);
    json.expect_code(1);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let mut from_json: Vec<Vec<u8>> = Vec::new();
    for finding in report["findings"].as_array().unwrap() {
        let path = finding["path"].as_str().unwrap();
        assert!(!path.chars().any(char::is_control), "{path:?}");
        let bytes = match finding.get("path_bytes") {
            Some(bytes) => bytes
                .as_array()
                .unwrap()
                .iter()
                .map(|byte| u8::try_from(byte.as_u64().unwrap()).unwrap())
                .collect(),
            None => path.as_bytes().to_vec(),
        };
        if bytes == b"plain.env" {
            assert!(finding.get("path_bytes").is_none(), "{finding}");
        }
        from_json.push(bytes);
    }
    from_json.sort();
    assert_eq!(from_json, from_git, "JSON paths");

    let sarif = repo.cio_hook(&["scan-history", "--format", "sarif"]);
    sarif.expect_code(1);
    let log: Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(common::sarif_schema_errors(&log), Vec::<String>::new());
    let mut from_sarif: Vec<Vec<u8>> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            percent_decode(uri)
        })
        .collect();
    from_sarif.sort();
    assert_eq!(from_sarif, from_git, "SARIF uris");
}

/// A placeholder is not a secret: every format shows it in full, so that a reader sees what was
/// classed as one. SARIF's `informationUri` is the tool's page, not crates.io's tokens page.
#[test]
fn placeholders_are_shown_in_full_and_sarif_points_at_the_tool() {
    let repo = Repo::new();
    let placeholder = ["cio", &"x".repeat(32)].concat();
    repo.write("docs/setup.md", format!("cargo login {placeholder}\n"));
    repo.git_ok(&["add", "."]);
    let text = repo.cio_hook(&["scan-staged"]);
    text.expect_code(0)
        .expect_contains(&format!("(not a real secret)  {placeholder}"))
        .expect_contains(&format!("| cargo login {placeholder}"));
    let json = repo.cio_hook(&["scan-staged", "--format", "json"]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["findings"][0]["token"], placeholder.as_str());
    let sarif = repo.cio_hook(&["scan-staged", "--format", "sarif"]);
    let log: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let result = &log["runs"][0]["results"][0];
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains(&placeholder),
        "{result}"
    );
    let uri = log["runs"][0]["tool"]["driver"]["informationUri"]
        .as_str()
        .unwrap();
    assert!(!uri.contains("settings/tokens"), "{uri}");
    assert!(uri.contains("cio-hook"), "{uri}");
}
