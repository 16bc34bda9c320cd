//! The Python wheel (`python/pyproject.toml`, maturin's bin bindings): built here with maturin,
//! installed into a fresh virtualenv, and run as the real hooks; and the `language: python`
//! hooks of `.pre-commit-hooks.yaml`, installed by the real pre-commit framework from a local
//! package directory holding that wheel, with no Rust toolchain on PATH.
//!
//! maturin and pre-commit are installed from PyPI into a virtualenv under `target/`. The wheel is
//! built with the `dev` profile, which is the binary `cargo test` has just built: packing it takes
//! seconds, where a release build would take minutes (the release workflow builds those).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{api_token, checkout, clean_command, Repo, Run};

/// A PATH with git, python and the system's tools, but neither cargo nor cio-hook.
const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| checkout().join("target"))
}

fn run(command: &mut Command) -> Run {
    Run::from_output(command.output().unwrap_or_else(|err| {
        panic!("{command:?}: {err} (python3 is needed: apt-get install python3 python3-venv)")
    }))
}

/// A virtualenv under `target/` with maturin and pre-commit from PyPI.
fn tools_venv() -> &'static Path {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| {
        let venv = target_dir().join("wheel-tools-venv");
        if !venv.join("bin/maturin").exists() || !venv.join("bin/pre-commit").exists() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).expect_code(0);
            run(Command::new(venv.join("bin/pip")).args([
                "install",
                "--quiet",
                "maturin>=1.9,<2",
                "pre-commit",
            ]))
            .expect_code(0);
        }
        venv
    })
}

/// A package directory for `pip --find-links` holding the wheel built from this checkout and
/// the setuptools wheel that building the root pyproject.toml needs, so that pip can install
/// the hooks with `--no-index`: nothing comes from PyPI, the wheel is the one under test.
fn package_dir() -> &'static Path {
    static PACKAGES: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PACKAGES.get_or_init(|| {
        let venv = tools_venv();
        let packages = target_dir().join("wheel-test-packages");
        let _ = std::fs::remove_dir_all(&packages);
        std::fs::create_dir_all(&packages).unwrap();
        run(Command::new(venv.join("bin/maturin"))
            .current_dir(checkout().join("python"))
            .args(["build", "--locked", "--profile", "dev", "--quiet", "--out"])
            .arg(&packages))
        .expect_code(0);
        run(Command::new(venv.join("bin/pip"))
            .args(["download", "--quiet", "--only-binary", ":all:", "--dest"])
            .arg(&packages)
            .arg("setuptools>=61"))
        .expect_code(0);
        packages
    })
}

/// The wheel in the package directory.
fn wheel() -> PathBuf {
    let wheels: Vec<PathBuf> = std::fs::read_dir(package_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("cio_hook-") && name.ends_with(".whl")
        })
        .collect();
    assert_eq!(wheels.len(), 1, "one cio-hook wheel: {wheels:?}");
    wheels.into_iter().next().unwrap()
}

fn assert_no_cargo_on(path: &str) {
    assert!(
        !path
            .split(':')
            .any(|dir| Path::new(dir).join("cargo").exists()),
        "this test needs a PATH without cargo ({path}), to show that no Rust toolchain is used"
    );
}

/// The value of `key = "…"` on its own line in a TOML file's text.
fn toml_string<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
        value.trim().strip_prefix('"')?.strip_suffix('"')
    })
}

#[test]
fn wheel_puts_the_binary_in_a_fresh_virtualenv_and_its_hooks_block_a_commit_and_a_push() {
    let wheel = wheel();
    let repo = Repo::new();
    let venv = repo.sibling("venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).expect_code(0);
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--no-index"])
        .arg(&wheel))
    .expect_code(0);
    let installed = venv.join("bin/cio-hook");
    let version = run(Command::new(common::binary()).arg("--version"));
    run(Command::new(&installed).arg("--version"))
        .expect_code(0)
        .expect_contains(version.stdout.trim());

    // The hooks are installed by the wheel's binary and call it, with nothing else on PATH.
    assert_no_cargo_on(SYSTEM_PATH);
    let env = [("PATH", SYSTEM_PATH)];
    run(clean_command(&installed, &repo.path)
        .env("PATH", SYSTEM_PATH)
        .args(["install", "--pre-push"]))
    .expect_code(0);
    let shim = std::fs::read_to_string(repo.path.join(".git/hooks/pre-commit")).unwrap();
    let canonical = installed.canonicalize().unwrap();
    assert!(
        shim.contains(&format!("\ninstalled='{}'\n", canonical.display())),
        "{shim}"
    );

    let token = api_token(90);
    repo.write("deploy.env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    repo.git_ok(&["add", "deploy.env"]);
    repo.git_with_env(&env, &["commit", "-q", "-m", "token"])
        .expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("deploy.env:1:22");
    assert_eq!(repo.commit_count(), 0);
    repo.git_ok(&["rm", "-q", "--cached", "deploy.env"]);

    let remote = repo.sibling("remote.git");
    repo.git_ok(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    repo.git_ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    let pushed_token = api_token(91);
    repo.commit_file_unchecked("leak.txt", &format!("{pushed_token}\n"), "unchecked leak");
    let refused = repo.git_with_env(&env, &["push", "-q", "origin", "main"]);
    assert_ne!(refused.code, 0);
    refused
        .expect_no_full_token(&[&pushed_token])
        .expect_contains("push blocked")
        .expect_contains("leak.txt:1:1");
    let on_remote = repo.git_in(&remote, &["rev-parse", "-q", "--verify", "main"]);
    assert_ne!(on_remote.code, 0, "the push was refused");
}

#[test]
fn python_hooks_install_the_wheel_and_block_a_commit_without_a_rust_toolchain() {
    let packages = package_dir();
    let pre_commit = tools_venv().join("bin/pre-commit");
    let head = run(clean_command("git", &checkout()).args(["rev-parse", "HEAD"]));
    head.expect_code(0);

    let repo = Repo::new();
    repo.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: cio-hook-bin\n      \
             - id: cio-hook-msg-bin\n",
            checkout().display(),
            head.stdout.trim()
        ),
    );
    assert_no_cargo_on(SYSTEM_PATH);
    let pre_commit_home = repo.sibling("pre-commit-home");
    let framework = |program: &Path, args: &[&str]| {
        run(clean_command(program, &repo.path)
            .env("PATH", SYSTEM_PATH)
            .env("PRE_COMMIT_HOME", &pre_commit_home)
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", packages)
            .env("PIP_CONFIG_FILE", "/dev/null")
            .args(args))
    };
    framework(&pre_commit, &["install-hooks"]).expect_code(0);
    framework(
        &pre_commit,
        &[
            "install",
            "--hook-type",
            "pre-commit",
            "--hook-type",
            "commit-msg",
        ],
    )
    .expect_code(0);

    repo.write("README.md", "# demo\n");
    framework(Path::new("git"), &["add", "."]).expect_code(0);
    framework(Path::new("git"), &["commit", "-q", "-m", "clean"])
        .expect_code(0)
        .expect_contains("cio-hook (crates.io tokens in staged changes)")
        .expect_contains("cio-hook (crates.io tokens in the commit message)");
    assert_eq!(repo.commit_count(), 1);

    let token = api_token(92);
    repo.write("ci.env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    framework(Path::new("git"), &["add", "ci.env"]).expect_code(0);
    let refused = framework(Path::new("git"), &["commit", "-q", "-m", "token"]);
    assert_ne!(refused.code, 0);
    refused
        .expect_no_full_token(&[&token])
        .expect_contains("- hook id: cio-hook-bin")
        .expect_contains("commit blocked")
        .expect_contains("ci.env:1:22");
    assert_eq!(repo.commit_count(), 1);
}

#[test]
fn python_packages_carry_the_crate_version() {
    let version = env!("CARGO_PKG_VERSION");
    let hooks_package = std::fs::read_to_string(checkout().join("pyproject.toml")).unwrap();
    assert_eq!(toml_string(&hooks_package, "version"), Some(version));
    assert!(
        hooks_package.contains(&format!("dependencies = [\"cio-hook=={version}\"]")),
        "pyproject.toml must pin the cio-hook wheel of this version:\n{hooks_package}"
    );
    // The wheel's version is the crate's, read by maturin from Cargo.toml.
    let wheel_package = std::fs::read_to_string(checkout().join("python/pyproject.toml")).unwrap();
    assert!(wheel_package.contains("dynamic = [\"version\"]"));
    let name = wheel().file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("cio_hook-{version}-")), "{name}");
}
