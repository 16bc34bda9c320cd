//! The real pre-commit framework, configured exactly as the README says (only `repo` and `rev`
//! are pointed at this checkout and its HEAD commit), builds cio-hook with cargo and runs it from
//! real `git commit`, `git merge`, `git push` and `pre-commit run`.
//!
//! pre-commit is taken from PATH, or installed from PyPI into a virtualenv under `target/`. Its
//! cache (`PRE_COMMIT_HOME`) also lives under `target/`, so the release build of the hook happens
//! once per checkout revision. The hook is built from the checkout's committed HEAD.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{api_token, checkout, Repo, Run};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| checkout().join("target"))
}

/// A `pre-commit` executable: the one on PATH, or one installed into `target/pre-commit-venv`.
/// Tests run in parallel: the first to get here installs it, the others wait for it.
fn pre_commit() -> PathBuf {
    static INSTALLED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(find_or_install_pre_commit).clone()
}

fn find_or_install_pre_commit() -> PathBuf {
    let on_path = Command::new("pre-commit").arg("--version").output();
    if on_path.is_ok_and(|output| output.status.success()) {
        return PathBuf::from("pre-commit");
    }
    let venv = target_dir().join("pre-commit-venv");
    let executable = venv.join("bin/pre-commit");
    if !executable.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed to install pre-commit");
        assert!(status.success(), "creating a virtualenv for pre-commit");
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "pre-commit"])
            .status()
            .unwrap();
        assert!(status.success(), "pip install pre-commit");
    }
    executable
}

/// The README's framework set-up: its `.pre-commit-config.yaml` block, with `repo` and `rev`
/// replaced by `repo` and `rev`, and the arguments of its `pre-commit install` command.
fn readme_framework_setup(repo: &Path, rev: Option<&str>) -> (String, Vec<String>) {
    let readme = std::fs::read_to_string(checkout().join("README.md")).unwrap();
    let section = &readme[readme
        .find("**3. The [pre-commit](https://pre-commit.com) framework**")
        .expect("the README's framework section")..];
    let block = |fence: &str| {
        let start = section.find(fence).expect("a code block") + fence.len();
        &section[start..start + section[start..].find("\n```").unwrap() + 1]
    };
    let mut replaced = (0, 0);
    let config: String = block("```yaml\n")
        .lines()
        .map(|line| {
            let indent = &line[..line.len() - line.trim_start().len()];
            if line.trim_start().starts_with("- repo:") {
                replaced.0 += 1;
                format!("{indent}- repo: {}\n", repo.display())
            } else if line.trim_start().starts_with("rev:") {
                replaced.1 += 1;
                match rev {
                    Some(rev) => format!("{indent}rev: {rev}\n"),
                    None => format!("{line}\n"),
                }
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert_eq!(replaced, (1, 1), "one repo and one rev line:\n{config}");
    let install = block("```sh\n")
        .lines()
        .find(|line| line.starts_with("pre-commit install "))
        .expect("the README's `pre-commit install` command");
    let args = install
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    (config, args)
}

/// A repository set up for the framework as the README says, with the README's hooks installed.
struct FrameworkRepo {
    repo: Repo,
    pre_commit: PathBuf,
    /// The `git init` arguments of the repository and its remote.
    format: Vec<String>,
}

impl FrameworkRepo {
    fn new() -> FrameworkRepo {
        FrameworkRepo::in_format(&[])
    }

    /// [`FrameworkRepo::new`] in a repository made by `git init` with `format`
    /// (`--object-format=sha256`, `--ref-format=reftable`).
    fn in_format(format: &[&str]) -> FrameworkRepo {
        let pre_commit = pre_commit();
        let repo = Repo::in_format(format);
        let head = Run::from_output(
            common::clean_command("git", &checkout())
                .args(["rev-parse", "HEAD"])
                .output()
                .unwrap(),
        );
        head.expect_code(0);
        let (config, install) = readme_framework_setup(&checkout(), Some(head.stdout.trim()));
        repo.write(".pre-commit-config.yaml", config);
        let framework = FrameworkRepo {
            repo,
            pre_commit,
            format: format.iter().map(|arg| arg.to_string()).collect(),
        };
        let install: Vec<&str> = install.iter().map(String::as_str).collect();
        framework.pre_commit(&install).expect_code(0);
        framework
    }

    /// Runs a command in the repository with the framework's cache under target/.
    fn run(&self, program: &Path, args: &[&str]) -> Run {
        Run::from_output(
            common::clean_command(program, &self.repo.path)
                .env("PRE_COMMIT_HOME", target_dir().join("pre-commit-home"))
                .args(args)
                .output()
                .unwrap(),
        )
    }

    fn git(&self, args: &[&str]) -> Run {
        self.run(Path::new("git"), args)
    }

    fn pre_commit(&self, args: &[&str]) -> Run {
        self.run(&self.pre_commit, args)
    }

    /// Adds a bare remote `origin` of the repository's format and pushes `main` to it through
    /// the hooks.
    fn add_origin(&self) {
        let remote = self.repo.sibling("remote.git");
        let mut init = vec!["init", "-q", "--bare"];
        init.extend(self.format.iter().map(String::as_str));
        init.push(remote.to_str().unwrap());
        self.git(&init).expect_code(0);
        self.git(&["remote", "add", "origin", remote.to_str().unwrap()])
            .expect_code(0);
        self.git(&["push", "-q", "origin", "main"]).expect_code(0);
    }

    /// Whether the remote has `reference`.
    fn remote_has(&self, reference: &str) -> bool {
        let remote = self.repo.sibling("remote.git");
        self.repo
            .git_in(&remote, &["rev-parse", "-q", "--verify", reference])
            .code
            == 0
    }
}

/// The README's `rev` placeholder, copied as it is, draws no warning from pre-commit, and
/// `pre-commit autoupdate` replaces it with the repository's newest commit, as the README says.
#[test]
fn readme_rev_placeholder_is_filled_in_by_autoupdate_without_a_warning() {
    let pre_commit = pre_commit();
    let repo = Repo::new();
    let (config, _) = readme_framework_setup(&checkout(), None);
    repo.write(".pre-commit-config.yaml", &config);
    let autoupdate = Run::from_output(
        common::clean_command(&pre_commit, &repo.path)
            .env("PRE_COMMIT_HOME", target_dir().join("pre-commit-home"))
            .arg("autoupdate")
            .output()
            .unwrap(),
    );
    autoupdate.expect_code(0);
    assert!(
        !autoupdate.all().contains("mutable reference"),
        "{}",
        autoupdate.all()
    );
    let head = Run::from_output(
        common::clean_command("git", &checkout())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap(),
    );
    let updated = std::fs::read_to_string(repo.path.join(".pre-commit-config.yaml")).unwrap();
    let rev_line = updated
        .lines()
        .find(|line| line.trim_start().starts_with("rev:"))
        .unwrap();
    assert!(rev_line.contains(head.stdout.trim()), "{updated}");
}

#[test]
fn readme_config_blocks_tokens_in_staged_changes_messages_and_merges() {
    let framework = FrameworkRepo::new();
    let repo = &framework.repo;
    repo.write("README.md", "# demo\n");
    framework.git(&["add", "."]).expect_code(0);
    framework
        .git(&["commit", "-q", "-m", "clean"])
        .expect_code(0)
        .expect_contains("cio-hook (crates.io tokens in staged changes)")
        .expect_contains("cio-hook (crates.io tokens in the commit message)");
    assert_eq!(repo.commit_count(), 1);

    // An unstaged token beside a clean staged change: the framework stashes it, cio-hook reads
    // the index, the commit passes, and the unstaged edit is back afterwards.
    let unstaged = api_token(61);
    repo.write("notes.txt", "clean\n");
    framework.git(&["add", "notes.txt"]).expect_code(0);
    repo.write("README.md", format!("# demo\n{unstaged}\n"));
    framework
        .git(&["commit", "-q", "-m", "clean with unstaged token"])
        .expect_code(0)
        .expect_no_full_token(&[&unstaged]);
    assert_eq!(repo.commit_count(), 2);
    assert!(std::fs::read_to_string(repo.path.join("README.md"))
        .unwrap()
        .contains(&unstaged));
    framework.git(&["checkout", "README.md"]).expect_code(0);

    let token = api_token(62);
    repo.write("ci.env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    framework.git(&["add", "ci.env"]).expect_code(0);
    let refused = framework.git(&["commit", "-q", "-m", "token"]);
    assert_ne!(refused.code, 0);
    refused
        .expect_no_full_token(&[&token])
        .expect_contains("commit blocked")
        .expect_contains("ci.env:1:22");
    assert_eq!(repo.commit_count(), 2);
    framework
        .git(&["rm", "-q", "--cached", "ci.env"])
        .expect_code(0);

    // A token typed into the message, with a clean change and when amending.
    let in_message = api_token(63);
    repo.write("a.txt", "clean\n");
    framework.git(&["add", "a.txt"]).expect_code(0);
    let message = format!("publish with {in_message}");
    for args in [
        vec!["commit", "-q", "-m", &message],
        vec!["commit", "-q", "--amend", "-m", &message],
    ] {
        let refused = framework.git(&args);
        assert_ne!(refused.code, 0, "{args:?}");
        refused
            .expect_no_full_token(&[&in_message])
            .expect_contains("commit blocked: 1 crates.io credential in the commit message")
            .expect_contains("(commit message):1:14");
        assert_eq!(repo.commit_count(), 2);
    }
    framework
        .git(&["commit", "-q", "-m", "clean message"])
        .expect_code(0);

    // A merge that git commits by itself runs pre-merge-commit: the token the other branch
    // brings in is refused, a clean merge goes through.
    framework
        .git(&["checkout", "-q", "-b", "leaky"])
        .expect_code(0);
    let merged_token = api_token(64);
    repo.commit_file_unchecked("leak.txt", &format!("{merged_token}\n"), "leak, unchecked");
    framework.git(&["checkout", "-q", "main"]).expect_code(0);
    repo.commit_file_unchecked("main.txt", "main\n", "main work");
    let before = repo.head();
    let refused = framework.git(&["merge", "-q", "--no-edit", "leaky"]);
    assert_ne!(refused.code, 0);
    refused
        .expect_no_full_token(&[&merged_token])
        .expect_contains("commit blocked")
        .expect_contains("leak.txt:1:1");
    assert_eq!(repo.head(), before);
    framework.git(&["merge", "--abort"]).expect_code(0);
    framework
        .git(&["checkout", "-q", "-b", "clean", "HEAD~1"])
        .expect_code(0);
    repo.commit_file_unchecked("side.txt", "side\n", "side work");
    framework.git(&["checkout", "-q", "main"]).expect_code(0);
    framework
        .git(&["merge", "-q", "--no-edit", "clean"])
        .expect_code(0);
    assert_eq!(repo.git_ok(&["rev-parse", "HEAD^1"]).trim(), before);
}

#[test]
fn readme_config_push_scans_every_pushed_ref_and_names_it() {
    let framework = FrameworkRepo::new();
    let repo = &framework.repo;
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    framework.add_origin();

    // `git push origin a b`: the framework describes only `a`; the token is on `b`.
    framework.git(&["checkout", "-q", "-b", "a"]).expect_code(0);
    repo.commit_file_unchecked("a.txt", "clean\n", "clean on a");
    framework
        .git(&["checkout", "-q", "-b", "b", "main"])
        .expect_code(0);
    let token = api_token(65);
    let leak = repo.commit_file_unchecked("b.txt", &format!("{token}\n"), "leak on b");
    let refused = framework.git(&["push", "-q", "origin", "a", "b"]);
    assert_ne!(refused.code, 0);
    refused
        .expect_no_full_token(&[&token])
        .expect_contains("push blocked")
        .expect_contains(&format!("{} leak on b  (in b)", &leak[..10]))
        .expect_contains("b.txt:1:1");
    assert!(!framework.remote_has("a") && !framework.remote_has("b"));

    // Without the leaky branch, the push of `a` goes through.
    framework.git(&["checkout", "-q", "a"]).expect_code(0);
    framework.git(&["branch", "-q", "-D", "b"]).expect_code(0);
    framework.git(&["push", "-q", "origin", "a"]).expect_code(0);
    assert!(framework.remote_has("a"));
}

/// The framework's pre-push hook in repositories of Git 3.0's defaults (SHA-256 objects, whose
/// ids the framework passes on as git gives them, and reftable refs), pushing to a remote of the
/// same format: a token is refused, a clean push goes through.
#[test]
fn readme_config_push_blocks_a_token_in_sha256_and_reftable_repositories() {
    let formats: [&[&str]; 2] = [&["--object-format=sha256"], &["--ref-format=reftable"]];
    for format in formats {
        let framework = FrameworkRepo::in_format(format);
        let repo = &framework.repo;
        repo.commit_file_unchecked("README.md", "# demo\n", "initial");
        framework.add_origin();
        let pushed = repo.head();
        assert_eq!(
            pushed.len(),
            if format == ["--object-format=sha256"] {
                64
            } else {
                40
            }
        );
        assert!(framework.remote_has(&pushed), "{format:?}");

        let token = api_token(67);
        let leak = repo.commit_file_unchecked("ci.env", &format!("TOKEN={token}\n"), "leak");
        let refused = framework.git(&["push", "-q", "origin", "main"]);
        assert_ne!(refused.code, 0, "{format:?}: {}", refused.all());
        refused
            .expect_no_full_token(&[&token])
            .expect_contains("push blocked")
            .expect_contains(&format!("{} leak", &leak[..10]))
            .expect_contains("ci.env:1:7");
        let remote_main = repo.git_in(&repo.sibling("remote.git"), &["rev-parse", "main"]);
        assert_eq!(remote_main.stdout.trim(), pushed, "{format:?}");

        framework
            .git(&["reset", "-q", "--hard", "HEAD~1"])
            .expect_code(0);
        let clean = repo.commit_file_unchecked("ci.env", "TOKEN=${TOKEN}\n", "use the CI secret");
        framework
            .git(&["push", "-q", "origin", "main"])
            .expect_code(0);
        let remote_main = repo.git_in(&repo.sibling("remote.git"), &["rev-parse", "main"]);
        assert_eq!(remote_main.stdout.trim(), clean, "{format:?}");
    }
}

#[test]
fn files_hook_finds_a_committed_token_in_all_files() {
    let framework = FrameworkRepo::new();
    let repo = &framework.repo;
    let token = api_token(66);
    repo.commit_file_unchecked("README.md", "# demo\n", "initial");
    repo.commit_file_unchecked("deploy/ci.env", &format!("TOKEN={token}\n"), "unchecked");
    let found = framework.pre_commit(&["run", "--hook-stage", "manual", "--all-files"]);
    assert_ne!(found.code, 0);
    found
        .expect_no_full_token(&[&token])
        .expect_contains("cio-hook (crates.io tokens in whole files)")
        .expect_contains("deploy/ci.env:1:7");
    repo.commit_file_unchecked("deploy/ci.env", "TOKEN=${TOKEN}\n", "use the CI secret");
    framework
        .pre_commit(&[
            "run",
            "cio-hook-files",
            "--hook-stage",
            "manual",
            "--all-files",
        ])
        .expect_code(0);
}
