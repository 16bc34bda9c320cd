//! `baseline`: adopting cio-hook on a repository whose history already holds tokens.

mod common;

use common::{api_token, trusted_publishing_token, Repo, Rng};

/// A repository with a generated history: files added and edited over many commits, some of
/// them adding tokens (the same token twice in places). Returns the tokens it holds.
fn generated_history(seed: u64) -> (Repo, Vec<String>) {
    let repo = Repo::new();
    let mut rng = Rng::new(seed);
    let mut tokens: Vec<String> = Vec::new();
    for commit in 0..40 {
        let path = format!("src/module{}.txt", rng.below(8));
        let mut content = format!("commit {commit}\n");
        if rng.chance(30) {
            let token = match (rng.below(4), tokens.last()) {
                (0, Some(previous)) => previous.clone(),
                (1, _) => trusted_publishing_token(rng.seed()),
                _ => api_token(rng.seed()),
            };
            content.push_str(&format!("registry_token = \"{token}\"\n"));
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
        repo.commit_file_unchecked(&path, &content, &format!("change {commit}"));
    }
    assert!(
        tokens.len() >= 3,
        "the generator should leave tokens in history"
    );
    (repo, tokens)
}

fn allowlist(repo: &Repo) -> String {
    std::fs::read_to_string(repo.path.join(".ciokeyignore.toml")).unwrap()
}

#[test]
fn baseline_lets_history_pass_once_and_new_tokens_still_block() {
    let (repo, tokens) = generated_history(1701);
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    repo.write(
        ".ciokeyignore.toml",
        "# team policy: fixtures only, by fingerprint\n",
    );
    repo.cio_hook(&["scan-history"]).expect_code(1);

    let run = repo.cio_hook(&["baseline"]);
    run.expect_code(0)
        .expect_no_full_token(&tokens)
        .expect_contains(&format!("{} baseline entries added", tokens.len()))
        .expect_contains("cio-hook verify --history");
    let written = allowlist(&repo);
    assert!(
        written.starts_with("# team policy: fixtures only, by fingerprint\n"),
        "{written}"
    );
    assert_eq!(
        written.matches("[[allow]]").count(),
        tokens.len(),
        "{written}"
    );
    assert_eq!(
        written.matches("baseline = ").count(),
        tokens.len(),
        "{written}"
    );
    for token in &tokens {
        assert!(!written.contains(token), "a token was written:\n{written}");
    }

    let history = repo.cio_hook(&["scan-history"]);
    history
        .expect_code(0)
        .expect_no_full_token(&tokens)
        .expect_contains("baseline of ");

    let again = repo.cio_hook(&["baseline"]);
    again
        .expect_code(0)
        .expect_contains("0 baseline entries added");
    assert_eq!(
        allowlist(&repo),
        written,
        "a second baseline changes nothing"
    );

    let check = repo.cio_hook(&["check-config"]);
    check
        .expect_code(0)
        .expect_contains(&format!("{} of them are baseline entries", tokens.len()));

    let new_token = api_token(1702);
    repo.commit_file_unchecked("deploy.env", &format!("TOKEN={new_token}\n"), "deploy");
    let blocked = repo.cio_hook(&["scan-history"]);
    blocked
        .expect_code(1)
        .expect_no_full_token(&[&new_token])
        .expect_contains("secrets found: 1 crates.io credential in");
    repo.install_hooks();
    repo.write("more.env", format!("TOKEN={}\n", api_token(1703)));
    repo.git_ok(&["add", "more.env"]);
    repo.commit("more", &[]).expect_code(1);
}

#[test]
fn an_expired_entry_is_not_renewed_behind_the_owner_s_back() {
    let repo = Repo::new();
    let kept = api_token(1711);
    let expired = api_token(1712);
    repo.commit_file_unchecked("a.env", &format!("A={kept}\n"), "a");
    repo.commit_file_unchecked("b.env", &format!("B={expired}\n"), "b");
    let fingerprint = cio_hook::redact::fingerprint(expired.as_bytes());
    repo.write(
        ".ciokeyignore.toml",
        format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"fixture\"\nexpires = 2020-01-01\n"),
    );
    let run = repo.cio_hook(&["baseline", "--reason", "legacy CI scripts"]);
    run.expect_code(0)
        .expect_contains("1 baseline entry added")
        .expect_contains(&format!("not baselined {fingerprint}"))
        .expect_contains("expired on 2020-01-01");
    assert!(allowlist(&repo).contains("reason = \"legacy CI scripts\""));
    repo.cio_hook(&["scan-history"])
        .expect_code(1)
        .expect_contains("expired on 2020-01-01");
}

#[test]
fn a_reason_holding_a_token_is_refused_and_nothing_is_written() {
    let repo = Repo::new();
    let token = api_token(1721);
    repo.commit_file_unchecked("a.env", &format!("A={token}\n"), "a");
    let run = repo.cio_hook(&["baseline", "--reason", &format!("old {token}")]);
    run.expect_code(2)
        .expect_no_full_token(&[&token])
        .expect_contains("the reason contains a token");
    assert!(!repo.path.join(".ciokeyignore.toml").exists());
}

#[test]
fn baseline_of_a_clean_history_writes_nothing() {
    let repo = Repo::new();
    repo.commit_file_unchecked("README.md", "# project\n", "start");
    repo.cio_hook(&["baseline"])
        .expect_code(0)
        .expect_contains("0 baseline entries added");
    assert!(!repo.path.join(".ciokeyignore.toml").exists());
}

#[test]
fn baseline_reminds_to_commit_the_file_and_counts_in_good_grammar() {
    let repo = Repo::new();
    let token = api_token(1720);
    repo.commit_file_unchecked("ci.env", &format!("TOKEN={token}\n"), "ci env");
    let run = repo.cio_hook(&["baseline"]);
    run.expect_code(0)
        .expect_contains("1 baseline entry added")
        .expect_contains("git add .ciokeyignore.toml && git commit");
    let run = repo.cio_hook(&["check-config"]);
    run.expect_code(0)
        .expect_contains("1 of them is a baseline entry for a token already in history");
    assert!(!run.all().contains("1 of them are"), "{}", run.all());
    // Once tracked, the reminder is not repeated.
    repo.git_ok(&["add", ".ciokeyignore.toml"]);
    repo.git_ok(&["commit", "-q", "--no-verify", "-m", "baseline"]);
    let second = api_token(1721);
    repo.commit_file_unchecked("ci2.env", &format!("TOKEN={second}\n"), "ci env 2");
    let run = repo.cio_hook(&["baseline"]);
    run.expect_code(0).expect_contains("1 baseline entry added");
    assert!(
        !run.all().contains("git add .ciokeyignore.toml"),
        "{}",
        run.all()
    );
}
