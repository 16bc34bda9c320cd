//! What the git CLI says about a package in a repository libgit2 does not open (SHA-256 objects,
//! reftable refs; see docs/git-formats.md), and what cargo itself makes of such a repository.
//!
//! cargo reads git through its own libraries: in a SHA-256 repository it finds none and packs as
//! outside git (no `.cargo_vcs_info.json`, ignored files packed); in a reftable repository it
//! stops with an error, and `cargo publish` with it.

use std::path::Path;
use std::process::{Command, Stdio};

use super::FileState;

/// Why a file git ignores is packed when cargo did not read the repository.
pub const CARGO_DID_NOT_READ_GIT: &str = "cargo did not read this git repository (the package \
     has no .cargo_vcs_info.json: cargo reads no SHA-256 repository), so it packs every file \
     under the package root but hidden ones and target/, ignored or not";

/// A git command run in `dir`, finding the repository from there as cargo does (not from the
/// `GIT_DIR` or index a hook may have set).
fn git_in(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// The standard output of `command`, or `None` when it fails or cannot run.
fn output_of(mut command: Command) -> Option<Vec<u8>> {
    let output = command.output().ok()?;
    output.status.success().then_some(output.stdout)
}

/// Where the file at `source` stands, as `git status` says.
pub(super) fn file_state(source: &Path) -> FileState {
    let (Some(dir), Some(name)) = (source.parent(), source.file_name()) else {
        return FileState::Unknown;
    };
    let mut inside = git_in(dir);
    inside.args(["rev-parse", "--is-inside-work-tree"]);
    match output_of(inside) {
        None => return FileState::NotInRepository,
        Some(answer) if answer.trim_ascii() != b"true" => return FileState::OutsideWorkTree,
        Some(_) => {}
    }
    let mut status = git_in(dir);
    status
        .args([
            "status",
            "--porcelain=v1",
            "-z",
            "--ignored=matching",
            "--untracked-files=all",
            "--",
        ])
        .arg(name);
    let Some(listing) = output_of(status) else {
        return FileState::Unknown;
    };
    // One `XY path` record per changed file; none for a tracked file without changes.
    match listing.get(..2) {
        None => FileState::Tracked,
        Some(b"!!") => FileState::Ignored,
        Some(b"??") => FileState::Untracked,
        Some([b'A', _]) => FileState::Staged,
        Some(_) => FileState::Modified,
    }
}

/// Whether the `.crate` `tarball` holds `DIR_NAME/.cargo_vcs_info.json`, which cargo writes
/// when it read the package's git repository.
pub(super) fn has_vcs_info(tarball: &[u8], dir_name: &str) -> bool {
    let wanted = Path::new(dir_name).join(".cargo_vcs_info.json");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    let Ok(entries) = archive.entries() else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .any(|entry| entry.path().is_ok_and(|path| path == wanted))
}

/// Why `cargo package` fails in the repository at `dir` when it is one cargo cannot read (reftable
/// refs), or `None` for any other failure.
pub(super) fn cargo_cannot_read(dir: &Path) -> Option<String> {
    let mut format = git_in(dir);
    format.args(["rev-parse", "--show-ref-format"]);
    let format = output_of(format)?;
    (format.trim_ascii() == b"reftable").then(|| {
        "cargo cannot read a repository with reftable refs, so `cargo publish` fails there the \
         same way and uploads nothing; package from a clone with files refs \
         (`git clone --ref-format=files`)"
            .to_string()
    })
}
