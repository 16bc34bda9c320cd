//! The server-side gate: `cio-hook install --pre-receive` in a bare repository, and real
//! `git push`es to it through git's receive-pack (quarantine and all), `git daemon` and smart
//! HTTP behind lighttpd. Every scenario asserts the server's refs after the push.

mod common;

use common::servers::{GitServer, Transport};
use common::{api_token, Repo, Run};

/// A client repository with one clean commit on main, its remote `origin` the server.
struct Fixture {
    client: Repo,
    server: GitServer,
}

impl Fixture {
    fn new(transport: Transport) -> Fixture {
        let server = GitServer::start(transport);
        let client = Repo::new();
        client.git_ok(&["remote", "add", "origin", &server.url]);
        client.commit_file_unchecked("README.md", "# demo\n", "initial");
        Fixture { client, server }
    }

    /// Pushes with `git push origin ARGS…`.
    fn push(&self, args: &[&str]) -> Run {
        let mut all = vec!["push", "origin"];
        all.extend_from_slice(args);
        self.client.git(&all)
    }

    /// Pushes and expects the server to accept.
    fn push_ok(&self, args: &[&str]) -> Run {
        let run = self.push(args);
        run.expect_code(0);
        run
    }

    /// Pushes and expects the server to reject: git exits 1 and says the hook declined.
    fn push_rejected(&self, args: &[&str]) -> Run {
        let run = self.push(args);
        assert_ne!(run.code, 0, "the push went through:\n{}", run.all());
        run.expect_contains("pre-receive hook declined");
        run
    }

    fn commit_token(&self, path: &str, seed: u64, message: &str) -> (String, String) {
        let token = api_token(seed);
        let commit = self.client.commit_file_unchecked(
            path,
            &format!("registry_token = \"{token}\"\n"),
            message,
        );
        (token, commit)
    }

    fn set_config(&self, key: &str, value: &str) {
        self.server.git(&["config", key, value]);
    }
}

/// Each scenario runs against every transport: a test per pair.
macro_rules! on_every_transport {
    ($($scenario:ident),* $(,)?) => {
        mod local {
            $(#[test] fn $scenario() { super::$scenario(&super::Fixture::new(super::Transport::Local)) })*
        }
        mod daemon {
            $(#[test] fn $scenario() { super::$scenario(&super::Fixture::new(super::Transport::Daemon)) })*
        }
        mod http {
            $(#[test] fn $scenario() { super::$scenario(&super::Fixture::new(super::Transport::Http)) })*
        }
    };
}

on_every_transport!(
    update_with_a_token_is_rejected,
    new_branches_are_checked_against_what_the_server_has,
    deletion_scans_nothing,
    force_push_is_checked,
    annotated_tags_are_checked,
    evil_merge_is_rejected,
    two_refs_one_dirty_names_the_dirty_one,
    token_added_then_removed_is_rejected,
    bypass_is_honoured_only_when_enabled_and_logged,
);

/// Whether the rejection of pushing main again still shows a `<commit>` placeholder.
fn run_all_contains_placeholder(f: &Fixture) -> bool {
    f.push(&["main"]).all().contains("<commit>")
}

fn update_with_a_token_is_rejected(f: &Fixture) {
    f.push_ok(&["main"]);
    let before = f.server.ref_oid("main");
    assert_eq!(before.as_deref(), Some(f.client.head().as_str()));
    let (token, commit) = f.commit_token("config/ci.toml", 1, "add ci settings");
    f.push_rejected(&["main"])
        .expect_no_full_token(&[&token])
        .expect_contains("remote: cio-hook: push rejected: 1 crates.io credential in 1 new commit")
        .expect_contains(&format!(
            "refs/heads/main {} add ci settings",
            &commit[..10]
        ))
        .expect_contains("config/ci.toml:1:19")
        .expect_contains("revoke it")
        .expect_contains(&format!("git rebase -i {}~1", &commit[..10]));
    assert!(
        !run_all_contains_placeholder(f),
        "the advice names the real commit"
    );
    assert_eq!(f.server.ref_oid("main"), before);
}

fn new_branches_are_checked_against_what_the_server_has(f: &Fixture) {
    f.push_ok(&["main"]);
    f.client.git_ok(&["checkout", "-q", "-b", "clean"]);
    f.client
        .commit_file_unchecked("a.txt", "clean\n", "clean work");
    f.push_ok(&["clean"]);
    assert_eq!(f.server.ref_oid("clean"), Some(f.client.head()));
    f.client.git_ok(&["checkout", "-q", "-b", "dirty", "main"]);
    let (token, _) = f.commit_token("b.env", 2, "dirty work");
    f.push_rejected(&["dirty"])
        .expect_no_full_token(&[&token])
        .expect_contains("refs/heads/dirty");
    assert_eq!(f.server.ref_oid("dirty"), None);
    assert_eq!(f.server.ref_oid("copy"), None);
}

fn deletion_scans_nothing(f: &Fixture) {
    f.push_ok(&["main"]);
    f.push_ok(&["main:refs/heads/old"]);
    assert!(f.server.ref_oid("old").is_some());
    f.push_ok(&["--delete", "old"]);
    assert_eq!(f.server.ref_oid("old"), None);
}

fn force_push_is_checked(f: &Fixture) {
    f.client.commit_file_unchecked("a.txt", "one\n", "one");
    f.push_ok(&["main"]);
    let pushed = f.server.ref_oid("main");
    f.client.git_ok(&["reset", "-q", "--hard", "HEAD~1"]);
    let (token, commit) = f.commit_token("a.txt", 3, "rewritten");
    f.push_rejected(&["--force", "main"])
        .expect_no_full_token(&[&token])
        .expect_contains(&commit[..10]);
    assert_eq!(f.server.ref_oid("main"), pushed);
    f.client.git_ok(&["reset", "-q", "--hard", "HEAD~1"]);
    f.client
        .commit_file_unchecked("a.txt", "two\n", "rewritten cleanly");
    f.push_ok(&["--force", "main"]);
    assert_eq!(f.server.ref_oid("main"), Some(f.client.head()));
}

fn annotated_tags_are_checked(f: &Fixture) {
    f.push_ok(&["main"]);
    let token = api_token(4);
    let message = format!("release\n\npublished with {token}\n");
    f.client.git_ok(&["tag", "-a", "v1", "-m", &message]);
    f.push_rejected(&["v1"])
        .expect_no_full_token(&[&token])
        .expect_contains("refs/tags/v1")
        .expect_contains("(tag message):3:16");
    assert_eq!(f.server.ref_oid("refs/tags/v1"), None);
    // A tag that brings a commit no branch on the server has: the commit is scanned.
    f.client.git_ok(&["checkout", "-q", "--detach"]);
    let (token, commit) = f.commit_token("release.env", 5, "release settings");
    f.client.git_ok(&["tag", "-a", "v2", "-m", "clean message"]);
    f.push_rejected(&["v2"])
        .expect_no_full_token(&[&token])
        .expect_contains(&format!("refs/tags/v2 {}", &commit[..10]));
    assert_eq!(f.server.ref_oid("refs/tags/v2"), None);
    f.client.git_ok(&["tag", "-a", "v3", "-m", "clean", "main"]);
    f.push_ok(&["v3"]);
    assert!(f.server.ref_oid("refs/tags/v3").is_some());
}

fn evil_merge_is_rejected(f: &Fixture) {
    f.push_ok(&["main"]);
    f.client.git_ok(&["checkout", "-q", "-b", "side"]);
    f.client.commit_file_unchecked("side.txt", "side\n", "side");
    f.client.git_ok(&["checkout", "-q", "main"]);
    f.client.commit_file_unchecked("main.txt", "main\n", "main");
    f.client
        .git_ok(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    let token = api_token(6);
    f.client
        .write("merged.env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    f.client.git_ok(&["add", "merged.env"]);
    f.client
        .git_ok(&["commit", "-q", "--no-verify", "-m", "merge side"]);
    let merge = f.client.head();
    f.push_rejected(&["main"])
        .expect_no_full_token(&[&token])
        .expect_contains(&format!("refs/heads/main {} merge side", &merge[..10]))
        .expect_contains("merged.env:1:22");
    assert_ne!(f.server.ref_oid("main"), Some(merge));
}

fn two_refs_one_dirty_names_the_dirty_one(f: &Fixture) {
    f.push_ok(&["main"]);
    f.client.git_ok(&["checkout", "-q", "-b", "dirty"]);
    let (token, _) = f.commit_token("d.txt", 7, "dirty");
    f.client.git_ok(&["checkout", "-q", "-b", "tidy", "main"]);
    f.client.commit_file_unchecked("t.txt", "tidy\n", "tidy");
    let run = f.push_rejected(&["tidy", "dirty", "dirty:refs/heads/copy"]);
    run.expect_no_full_token(&[&token])
        .expect_contains("refs/heads/dirty");
    // The commit is reported once, with both refs that bring it.
    let all = run.all();
    assert!(
        all.contains("refs/heads/dirty,refs/heads/copy ")
            || all.contains("refs/heads/copy,refs/heads/dirty "),
        "{all}"
    );
    assert!(!all.contains("refs/heads/tidy"), "{all}");
    // One pre-receive verdict covers the whole push: neither ref moved.
    assert_eq!(f.server.ref_oid("tidy"), None);
    assert_eq!(f.server.ref_oid("dirty"), None);
}

fn token_added_then_removed_is_rejected(f: &Fixture) {
    f.push_ok(&["main"]);
    let (token, added) = f.commit_token("leak.toml", 8, "add a token");
    f.client
        .commit_file_unchecked("leak.toml", "# removed\n", "remove the token");
    f.push_rejected(&["main"])
        .expect_no_full_token(&[&token])
        .expect_contains(&added[..10])
        .expect_contains("in 2 new commits");
    assert_ne!(f.server.ref_oid("main"), Some(f.client.head()));
}

fn bypass_is_honoured_only_when_enabled_and_logged(f: &Fixture) {
    f.push_ok(&["main"]);
    let before = f.server.ref_oid("main");
    let (token, commit) = f.commit_token("fixture.txt", 9, "incident fixture");
    let bypass = format!("ciohook.bypass=incident 7, token {token} revoked");
    // Push options not advertised: git itself refuses to send them.
    let run = f.push(&["-o", &bypass, "main"]);
    assert_ne!(run.code, 0);
    run.expect_no_full_token(&[&token]);
    assert_eq!(f.server.ref_oid("main"), before);
    // Advertised but not allowed: the push is checked as usual.
    f.set_config("receive.advertisePushOptions", "true");
    f.push_rejected(&["-o", &bypass, "main"])
        .expect_no_full_token(&[&token])
        .expect_contains("ciohook.bypass is not enabled on this server");
    assert_eq!(f.server.ref_oid("main"), before);
    let log = f.server.repo.join("cio-hook-bypass.log");
    assert!(!log.exists());
    // Allowed: the push goes through, said on the remote: lines and logged.
    f.set_config("ciohook.allowBypass", "true");
    // An empty reason is refused as such: the bypass is enabled, the check did run.
    let empty = f.push_rejected(&["-o", "ciohook.bypass=", "main"]);
    empty.expect_contains(
        "remote: cio-hook: push rejected: a bypass needs a reason: git push -o \
         ciohook.bypass=\"why\"",
    );
    assert!(!empty.all().contains("could not run"), "{}", empty.all());
    assert!(!empty.all().contains("cio-hook: error"), "{}", empty.all());
    let accepted = f.push_ok(&["-o", &bypass, "main"]);
    accepted
        .expect_no_full_token(&[&token])
        .expect_contains("remote: cio-hook: push let through by a bypass")
        .expect_contains("incident 7");
    // One line says who bypassed and why, not two near-duplicates.
    let bypass_lines: Vec<&str> = accepted
        .stderr
        .lines()
        .filter(|line| line.contains("incident 7"))
        .collect();
    assert_eq!(bypass_lines.len(), 1, "{}", accepted.all());
    assert!(
        bypass_lines[0].contains("cio-hook: bypass by "),
        "{}",
        accepted.all()
    );
    assert!(!accepted.all().contains("(found)"), "{}", accepted.all());
    assert_eq!(f.server.ref_oid("main"), Some(commit.clone()));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains(&token), "{logged}");
    let record: serde_json::Value = serde_json::from_str(logged.trim()).unwrap();
    assert!(record["reason"].as_str().unwrap().starts_with("incident 7"));
    // Named even where no variable names the pusher (USER unset, as under a web server).
    assert_ne!(record["pusher"], "unknown", "{record}");
    assert_eq!(record["outcome"], "found");
    let findings = record["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert!(findings[0]
        .as_str()
        .unwrap()
        .starts_with(&format!("refs/heads/main {commit} fixture.txt:1:19")));
}

#[test]
fn allowed_by_the_servers_own_allowlist() {
    let f = Fixture::new(Transport::Local);
    f.push_ok(&["main"]);
    let token = api_token(10);
    let fingerprint = fingerprint_of(&f, &token);
    let allowlist = f.server.root.join("server-allow.toml");
    std::fs::write(
        &allowlist,
        format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"revoked fixture\"\n"),
    )
    .unwrap();
    f.client
        .commit_file_unchecked("fixture.txt", &format!("old = \"{token}\"\n"), "fixture");
    f.push_rejected(&["main"]);
    f.set_config("ciohook.config", allowlist.to_str().unwrap());
    f.push_ok(&["main"]).expect_no_full_token(&[&token]);
    assert_eq!(f.server.ref_oid("main"), Some(f.client.head()));
    // A broken server allowlist is the admin's mistake: every push is rejected until fixed.
    std::fs::write(&allowlist, "[[allow]]\nreason = 1\n").unwrap();
    f.client.commit_file_unchecked("x.txt", "x\n", "x");
    f.push_rejected(&["main"])
        .expect_contains("server-allow.toml:2:");
}

#[test]
fn allowed_by_the_default_branch_but_not_by_the_push_itself() {
    let f = Fixture::new(Transport::Local);
    let token = api_token(11);
    let fingerprint = fingerprint_of(&f, &token);
    let entry =
        format!("[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"documented example\"\n");
    // The push that adds the allow entry and the token together does not allow itself.
    f.client.write(".ciokeyignore.toml", &entry);
    f.client
        .write("docs/example.md", format!("    cargo login {token}\n"));
    f.client.git_ok(&["add", "-A"]);
    f.client
        .git_ok(&["commit", "-q", "--no-verify", "-m", "example"]);
    f.push_rejected(&["main"])
        .expect_no_full_token(&[&token])
        .expect_contains("docs/example.md:1:17");
    assert_eq!(f.server.ref_oid("main"), None);
    // Once the entry is on the default branch (reviewed), a later push may use it.
    f.client.git_ok(&["reset", "-q", "--hard", "HEAD~1"]);
    f.client
        .commit_file_unchecked(".ciokeyignore.toml", &entry, "allow the example");
    f.push_ok(&["main"]);
    f.client.commit_file_unchecked(
        "docs/example.md",
        &format!("    cargo login {token}\n"),
        "example",
    );
    f.push_ok(&["main"]).expect_no_full_token(&[&token]);
    assert_eq!(f.server.ref_oid("main"), Some(f.client.head()));
    // A branch's own allowlist is not the default branch's: it allows nothing there.
    f.client
        .git_ok(&["checkout", "-q", "-b", "other", "HEAD~2"]);
    let other_token = api_token(12);
    let other = fingerprint_of(&f, &other_token);
    f.push_ok(&["other"]);
    f.client.commit_file_unchecked(
        ".ciokeyignore.toml",
        &format!("[[allow]]\nfingerprint = \"{other}\"\nreason = \"mine\"\n"),
        "self-allow",
    );
    f.push_ok(&["other"]);
    f.client
        .commit_file_unchecked("o.txt", &format!("t = \"{other_token}\"\n"), "use it");
    f.push_rejected(&["other"])
        .expect_no_full_token(&[&other_token]);
}

#[test]
fn hook_without_the_quarantine_variables_rejects() {
    let f = Fixture::new(Transport::Local);
    f.server.set_hook(
        "#!/bin/sh\nexec env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY \
         -u GIT_ALTERNATE_OBJECT_DIRECTORIES cio-hook pre-receive\n",
    );
    f.push_rejected(&["main"]).expect_contains(
        "remote: cio-hook: error: GIT_QUARANTINE_PATH and GIT_OBJECT_DIRECTORY are not set",
    );
    assert_eq!(f.server.ref_oid("main"), None);
    // Only GIT_QUARANTINE_PATH left: the objects are still read from it.
    f.server.set_hook(
        "#!/bin/sh\nexec env -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES \
         cio-hook pre-receive\n",
    );
    f.push_ok(&["main"]);
    let (token, _) = f.commit_token("q.txt", 13, "in quarantine");
    f.push_rejected(&["main"])
        .expect_no_full_token(&[&token])
        .expect_contains("q.txt:1:19");
}

#[test]
fn garbage_on_stdin_rejects() {
    let f = Fixture::new(Transport::Local);
    let head = f.client.head();
    let zero = "0".repeat(40);
    let garbage = [
        String::new(),
        "hello\n".to_string(),
        format!("{zero} {head}\n"),
        format!("{zero} {head} refs/heads/a b\n"),
        format!("{zero} {} refs/heads/main\n", &head[..39]),
        format!("{zero} {head} not-a-ref\n"),
    ];
    for input in garbage {
        let run = common::run_with_input(
            common::clean_command(common::binary(), &f.server.repo)
                .args(["pre-receive"])
                .env("GIT_QUARANTINE_PATH", f.server.repo.join("objects")),
            &input,
        );
        run.expect_code(2)
            .expect_contains("cio-hook: error: ")
            .expect_contains("git push -o ciohook.bypass");
    }
    // A well-formed line whose object the server does not have.
    let run = common::run_with_input(
        common::clean_command(common::binary(), &f.server.repo)
            .args(["pre-receive"])
            .env("GIT_QUARANTINE_PATH", f.server.repo.join("objects")),
        &format!("{zero} {head} refs/heads/main\n"),
    );
    run.expect_code(2).expect_contains(&head);
}

#[test]
fn namespaces_are_separate_repositories() {
    let f = Fixture::new(Transport::Local);
    let receive =
        |namespace: &str| format!("--receive-pack=git --namespace={namespace} receive-pack");
    f.push_ok(&[&receive("one"), "main"]);
    // A token that only namespace `one` has (pushed before the gate, say).
    let (token, commit) = f.commit_token("n.txt", 14, "namespaced");
    f.server.set_hook("#!/bin/sh\nexit 0\n");
    f.push_ok(&[&receive("one"), "main"]);
    f.server.git(&["config", "core.hooksPath", "hooks-gate"]);
    let gate = Run::from_output(
        common::clean_command(common::binary(), &f.server.repo)
            .args(["install", "--pre-receive"])
            .output()
            .unwrap(),
    );
    gate.expect_code(0);
    // Pushing it to another namespace brings it there: rejected.
    f.push_rejected(&[&receive("two"), "main"])
        .expect_no_full_token(&[&token])
        .expect_contains(&commit[..10]);
    // To the same namespace, a new branch at that commit brings nothing new.
    f.push_ok(&[&receive("one"), "main:refs/heads/again"]);
    assert_eq!(
        f.server.ref_oid("refs/namespaces/one/refs/heads/again"),
        Some(commit)
    );
    assert_eq!(
        f.server.ref_oid("refs/namespaces/two/refs/heads/main"),
        None
    );
    // Each namespace's default branch carries its own allowlist.
    let allowed = api_token(17);
    let entry = format!(
        "[[allow]]\nfingerprint = \"{}\"\nreason = \"fixture\"\n",
        fingerprint_of(&f, &allowed)
    );
    f.client
        .git_ok(&["checkout", "-q", "-b", "fresh", "main~1"]);
    f.client
        .commit_file_unchecked(".ciokeyignore.toml", &entry, "allowlist");
    f.push_ok(&[&receive("three"), "fresh:refs/heads/main"]);
    f.push_ok(&[&receive("four"), "fresh~1:refs/heads/main"]);
    f.client
        .commit_file_unchecked("f.txt", &format!("t = \"{allowed}\"\n"), "fixture");
    f.push_ok(&[&receive("three"), "fresh:refs/heads/main"]);
    f.push_rejected(&[&receive("four"), "fresh:refs/heads/main"])
        .expect_no_full_token(&[&allowed]);
}

#[test]
fn install_pre_receive_in_a_bare_repository_keeps_and_chains_an_existing_hook() {
    let f = Fixture::new(Transport::Local);
    let hook = f.server.repo.join("hooks/pre-receive");
    let ours = std::fs::read_to_string(&hook).unwrap();
    assert!(ours.contains("cio-hook pre-receive") || ours.contains("pre-receive"));
    f.server
        .set_hook("#!/bin/sh\nwhile read old new name; do echo \"site hook saw $name\"; done\n");
    let install = |args: &[&str]| {
        Run::from_output(
            common::clean_command(common::binary(), &f.server.repo)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    install(&["install", "--pre-receive"])
        .expect_code(2)
        .expect_contains("--force");
    install(&["install", "--pre-receive", "--force"]).expect_code(0);
    f.push_ok(&["main"])
        .expect_contains("remote: site hook saw refs/heads/main");
    let (token, _) = f.commit_token("c.txt", 15, "chained");
    let run = f.push_rejected(&["main"]);
    run.expect_no_full_token(&[&token]);
    assert!(!run.all().contains("site hook saw"), "{}", run.all());
    install(&["uninstall"]).expect_code(0);
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("site hook saw"));
}

/// The fingerprint cio-hook reports for `token`, from a scan of standard input.
fn fingerprint_of(f: &Fixture, token: &str) -> String {
    let run = f.client.cio_hook_with_input(
        &["--format", "json", "scan-path", "-"],
        &format!("t = \"{token}\"\n"),
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    report["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_long_push_is_read_from_the_quarantine_by_every_worker() {
    // Long pushes are scanned by one thread per core, each with its own handle on the
    // repository: every handle must read the quarantine, or the push could not be judged.
    let f = Fixture::new(Transport::Local);
    f.push_ok(&["main"]);
    let token = api_token(16);
    let mut stream = String::new();
    for number in 0..2500 {
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter T <t@example.invalid> {} +0000\ndata <<END\nchange {number}\nEND\n",
            1_700_000_000 + number
        ));
        if number == 0 {
            stream.push_str("from refs/heads/main^0\n");
        }
        let content = if number == 2100 {
            format!("token = \"{token}\"\n")
        } else {
            format!("value = {number}\n")
        };
        stream.push_str(&format!(
            "M 100644 inline file{}.toml\ndata {}\n{content}\n",
            number % 50,
            content.len()
        ));
    }
    f.client
        .git_with_input(&["fast-import", "--quiet"], &stream)
        .expect_code(0);
    let planted = f
        .client
        .git_ok(&["rev-parse", "main~399"])
        .trim()
        .to_string();
    let before = f.server.ref_oid("main");
    f.push_rejected(&["main"])
        .expect_no_full_token(&[&token])
        .expect_contains("1 crates.io credential in 2500 new commits")
        .expect_contains(&format!("refs/heads/main {} change 2100", &planted[..10]));
    assert_eq!(f.server.ref_oid("main"), before);
}

#[test]
fn a_long_list_is_capped_and_tagged_blobs_are_scanned() {
    let f = Fixture::new(Transport::Local);
    f.push_ok(&["main"]);
    let tokens: Vec<String> = (100..112).map(api_token).collect();
    let text: String = tokens
        .iter()
        .map(|token| format!("token = \"{token}\"\n"))
        .collect();
    f.client.commit_file_unchecked("many.toml", &text, "many");
    let run = f.push_rejected(&["main"]);
    let shown: Vec<&str> = tokens.iter().map(String::as_str).collect();
    run.expect_no_full_token(&shown)
        .expect_contains("12 crates.io credentials in 1 new commit")
        .expect_contains("many.toml:10:10")
        .expect_contains("… and 2 more");
    assert!(!run.all().contains("many.toml:11:"), "{}", run.all());
    // A tag pointing straight at a blob brings that blob: scanned whole.
    f.client.git_ok(&["reset", "-q", "--hard", "HEAD~1"]);
    let token = api_token(120);
    let blob_file = f.client.sibling("blob.txt");
    std::fs::write(&blob_file, format!("key {token}\n")).unwrap();
    let blob = f
        .client
        .git_ok(&["hash-object", "-w", blob_file.to_str().unwrap()])
        .trim()
        .to_string();
    f.client
        .git_ok(&["tag", "-a", "raw", "-m", "a raw blob", &blob]);
    f.push_rejected(&["raw"])
        .expect_no_full_token(&[&token])
        .expect_contains("refs/tags/raw")
        .expect_contains(&format!("(tagged blob {blob}):1:5"));
    assert_eq!(f.server.ref_oid("refs/tags/raw"), None);
}
