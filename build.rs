//! Records the commit cio-hook is built from, for `cio-hook --version`.
//!
//! In a git checkout of this crate the commit is asked of git; in a packaged crate (from
//! crates.io, `cargo package`) it is the one cargo wrote into `.cargo_vcs_info.json`. Without
//! either (a source tarball, git not installed) the version is printed alone.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let commit = packaged_commit(&manifest_dir).or_else(|| checkout_commit(&manifest_dir));
    let version = match commit {
        Some(commit) => format!(
            "{} (commit {})",
            std::env::var("CARGO_PKG_VERSION").unwrap(),
            &commit[..commit.len().min(12)]
        ),
        None => std::env::var("CARGO_PKG_VERSION").unwrap(),
    };
    println!("cargo:rustc-env=CIO_HOOK_VERSION={version}");
}

/// The `git.sha1` of the `.cargo_vcs_info.json` that `cargo package` puts in a packaged crate.
fn packaged_commit(manifest_dir: &Path) -> Option<String> {
    let info_path = manifest_dir.join(".cargo_vcs_info.json");
    let info = std::fs::read_to_string(&info_path).ok()?;
    println!("cargo:rerun-if-changed={}", info_path.display());
    let after_key = &info[info.find("\"sha1\"")? + "\"sha1\"".len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = value.strip_prefix('"')?;
    let sha1 = &value[..value.find('"')?];
    is_commit_id(sha1).then(|| sha1.to_string())
}

/// HEAD's commit, when the manifest directory is the top of a git work tree (and not merely
/// inside some other repository, as an unpacked crate can be).
fn checkout_commit(manifest_dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(manifest_dir)
            .args(args)
            .output()
            .ok()?;
        output.status.success().then_some(())?;
        Some(String::from_utf8(output.stdout).ok()?.trim().to_string())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != manifest_dir.canonicalize().ok()? {
        return None;
    }
    // Build again when HEAD moves: HEAD itself, the branch it names, and packed-refs.
    let git_dir = PathBuf::from(git(&["rev-parse", "--absolute-git-dir"])?);
    let common_dir = manifest_dir.join(git(&["rev-parse", "--git-common-dir"])?);
    let mut watched = vec![git_dir.join("HEAD"), common_dir.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(common_dir.join(branch));
    }
    for path in watched.iter().filter(|path| path.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    git(&["rev-parse", "--verify", "-q", "HEAD^{commit}"]).filter(|id| is_commit_id(id))
}

fn is_commit_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}
