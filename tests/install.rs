//! Installing the hooks: install.sh's checks, the shims' lookup of the binary, and install and
//! uninstall of every hook, through real `git commit`.

mod common;

use std::path::Path;

use common::{api_token, checkout, clean_command, Repo, Run};

/// A PATH with git and the system's tools, but neither cargo nor cio-hook.
const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn install_sh(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    Run::from_output(
        clean_command(checkout().join("install.sh"), dir)
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A copy of the binary under test at `DIR/bin/cio-hook`, as `cargo install --root DIR` leaves it.
fn binary_under_root(root: &Path) -> std::path::PathBuf {
    let bin = root.join("bin/cio-hook");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(common::binary(), &bin).unwrap();
    bin
}

/// A HOME of the test's own, with an empty `~/.cargo`: what a binary lookup falls back to.
struct EmptyHome {
    home: std::path::PathBuf,
}

impl EmptyHome {
    /// PATH, HOME and CARGO_HOME for a command that must not find any installed cio-hook.
    fn env(&self, path: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PATH", path.to_string()),
            ("HOME", self.home.display().to_string()),
            ("CARGO_HOME", self.home.join(".cargo").display().to_string()),
        ]
    }
}

fn empty_home(repo: &Repo) -> EmptyHome {
    let home = repo.sibling("home");
    std::fs::create_dir_all(home.join(".cargo/bin")).unwrap();
    EmptyHome { home }
}

#[test]
fn install_sh_checks_its_arguments_before_building() {
    let repo = Repo::new();
    assert!(
        !SYSTEM_PATH
            .split(':')
            .any(|dir| Path::new(dir).join("cargo").exists()),
        "this test needs a PATH without cargo, so that a build would fail differently"
    );
    let no_cargo = [("PATH", SYSTEM_PATH)];
    install_sh(&repo.path, &["--hooks", "/no/such/dir"], &no_cargo)
        .expect_code(2)
        .expect_contains("install.sh: --hooks /no/such/dir: no such directory");
    // Git must not find a repository above the directory either (TMPDIR may be inside one).
    let not_a_repo = repo.sibling("not-a-repo");
    std::fs::create_dir_all(&not_a_repo).unwrap();
    let ceiling = not_a_repo.parent().unwrap().to_str().unwrap();
    let run = install_sh(
        &repo.path,
        &["--hooks", not_a_repo.to_str().unwrap()],
        &[("PATH", SYSTEM_PATH), ("GIT_CEILING_DIRECTORIES", ceiling)],
    );
    run.expect_code(2).expect_contains("not a git repository");
    install_sh(&repo.path, &["--root"], &no_cargo)
        .expect_code(2)
        .expect_contains("--root needs a directory");
    // Valid arguments get as far as the build, which needs cargo.
    install_sh(&repo.path, &["--hooks", "."], &no_cargo)
        .expect_code(1)
        .expect_contains("cargo is not on PATH");
}

#[test]
fn hooks_call_a_binary_installed_under_root_by_its_absolute_path() {
    let repo = Repo::new();
    let root = repo.sibling("tools");
    let bin = binary_under_root(&root);
    let home = empty_home(&repo);
    // Neither PATH nor ~/.cargo/bin has cio-hook: only the installed path does. CARGO_HOME is
    // set too, as rustup's cargo sets it for the tests to the machine's real ~/.cargo, where a
    // cio-hook from `./install.sh` may well be.
    let env = home.env(SYSTEM_PATH);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    install_sh(
        &repo.path,
        &["--no-build", "--root", "../tools", "--hooks", "."],
        &env,
    )
    .expect_code(0)
    .expect_contains("is not on PATH");
    let shim = std::fs::read_to_string(repo.path.join(".git/hooks/pre-commit")).unwrap();
    let canonical = bin.canonicalize().unwrap();
    assert!(
        shim.contains(&format!("\ninstalled='{}'\n", canonical.display())),
        "{shim}"
    );

    let token = api_token(40);
    repo.write("a.env", format!("TOKEN={token}\n"));
    repo.git_ok(&["add", "a.env"]);
    let run = repo.git_with_env(&env, &["commit", "-q", "-m", "token"]);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("a.env:1:7");
    assert_eq!(repo.commit_count(), 0);

    // With the binary gone, the hook blocks and says how to install it from anywhere.
    std::fs::remove_file(&bin).unwrap();
    let run = repo.git_with_env(&env, &["commit", "-q", "-m", "token"]);
    assert_ne!(run.code, 0);
    run.expect_contains(&format!("not at {}", canonical.display()))
        .expect_contains("cargo install --locked --path <checkout>")
        .expect_contains("git commit --no-verify");
    assert_eq!(repo.commit_count(), 0);
}

#[test]
fn install_puts_every_hook_in_place_and_uninstall_removes_them() {
    let repo = Repo::new();
    let hooks = ["pre-commit", "pre-merge-commit", "commit-msg", "pre-push"];
    repo.cio_hook(&["install"]).expect_code(0);
    for hook in &hooks[..3] {
        assert!(repo.path.join(".git/hooks").join(hook).exists(), "{hook}");
    }
    assert!(!repo.path.join(".git/hooks/pre-push").exists());
    let run = repo.install_hooks();
    for hook in hooks {
        run.expect_contains(&format!(".git/hooks/{hook}"));
    }
    let run = repo.cio_hook(&["uninstall"]);
    run.expect_code(0);
    for hook in hooks {
        assert!(!repo.path.join(".git/hooks").join(hook).exists(), "{hook}");
        run.expect_contains(&format!(".git/hooks/{hook}"));
    }
    // Only what was there is listed: no pre-receive in a normal repository.
    assert!(!run.all().contains("pre-receive"), "{}", run.all());
    assert!(!run.all().contains("not installed"), "{}", run.all());
    let again = repo.cio_hook(&["uninstall"]);
    again.expect_code(0).expect_contains("nothing to remove");
    assert_eq!(again.stdout.lines().count(), 1, "{}", again.stdout);
}

#[test]
fn no_build_takes_the_binary_from_cargo_install_root() {
    let repo = Repo::new();
    let root = repo.sibling("install-root");
    let bin = binary_under_root(&root);
    let home = empty_home(&repo);
    let mut env = home.env(SYSTEM_PATH);
    env.push(("CARGO_INSTALL_ROOT", root.display().to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    install_sh(&repo.path, &["--no-build", "--hooks", "."], &env)
        .expect_code(0)
        .expect_contains(&format!("the hooks call {}", bin.display()));
    let shim = std::fs::read_to_string(repo.path.join(".git/hooks/pre-commit")).unwrap();
    let canonical = bin.canonicalize().unwrap();
    assert!(
        shim.contains(&format!("\ninstalled='{}'\n", canonical.display())),
        "{shim}"
    );
    let token = api_token(41);
    repo.write("b.env", format!("TOKEN={token}\n"));
    repo.git_ok(&["add", "b.env"]);
    repo.git_with_env(&env, &["commit", "-q", "-m", "token"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("b.env:1:7");

    // A CARGO_INSTALL_ROOT without cio-hook in it is an error, not a fallback to PATH.
    let empty = repo.sibling("empty-root");
    let mut env = home.env(&format!(
        "{}:{SYSTEM_PATH}",
        bin.parent().unwrap().display()
    ));
    env.push(("CARGO_INSTALL_ROOT", empty.display().to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    install_sh(&repo.path, &["--no-build", "--hooks", "."], &env)
        .expect_code(1)
        .expect_contains("(from CARGO_INSTALL_ROOT) is not installed");
}

#[test]
fn version_names_the_commit_the_binary_was_built_from() {
    let repo = Repo::new();
    let head = Run::from_output(
        clean_command("git", &checkout())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap(),
    );
    head.expect_code(0);
    let expected = format!(
        "cio-hook {} (commit {})\n",
        env!("CARGO_PKG_VERSION"),
        &head.stdout.trim()[..12]
    );
    let run = repo.cio_hook(&["--version"]);
    run.expect_code(0);
    assert_eq!(run.stdout, expected);
}
