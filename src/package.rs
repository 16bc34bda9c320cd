//! What `cargo package` would upload, scanned before it is: cargo itself builds each `.crate`
//! (into a temporary target directory), and every file in it is scanned in full.
//!
//! A commit hook cannot see a package's content: cargo packs untracked files git does not
//! ignore, files `include` lists whatever git says, `readme` and `license-file` from outside the
//! package root, the targets of symlinks, and the manifest verbatim (`Cargo.toml.orig`). Each
//! finding therefore says why its file is in the package ([`why_packed`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::redact::{display_path, redact_text};
use crate::report::{Finding, PackagedFile, Report, Scope};
use crate::source::archived::added_in_archive;
use crate::Scanner;

mod git_cli;

/// Which packages to build, as `cargo package` selects them.
#[derive(Debug, Clone, Default)]
pub struct PackageSelection {
    /// `--manifest-path`: the package's or workspace's `Cargo.toml`.
    pub manifest_path: Option<PathBuf>,
    /// `--package NAME`.
    pub package: Option<String>,
    /// `--workspace`: every member.
    pub workspace: bool,
}

/// One package's `.crate`, as cargo built it, with what [`why_packed`] needs.
#[derive(Debug)]
pub struct PackagedCrate {
    pub name: String,
    pub version: String,
    /// The directory holding the package's `Cargo.toml`.
    pub root: PathBuf,
    /// The `readme` and `license-file` the manifest names, resolved.
    pub readme: Option<PathBuf>,
    pub license_file: Option<PathBuf>,
    /// Whether the manifest sets `include` (then git is not consulted at all).
    pub has_include: bool,
    /// Whether cargo wrote `.cargo_vcs_info.json` into the package: it read the package's git
    /// repository (it does not read SHA-256 ones, and then packs as outside git).
    pub has_vcs_info: bool,
    /// The `.crate` file's bytes.
    pub tarball: Vec<u8>,
}

impl PackagedCrate {
    /// The `.crate` `tarball` of `package`.
    pub fn new(package: MetadataPackage, tarball: Vec<u8>) -> Result<PackagedCrate> {
        let root = package
            .manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(PackagedCrate {
            readme: package.readme.map(|path| root.join(path)),
            license_file: package.license_file.map(|path| root.join(path)),
            has_include: manifest_has_include(&package.manifest_path)?,
            has_vcs_info: git_cli::has_vcs_info(
                &tarball,
                &format!("{}-{}", package.name, package.version),
            ),
            name: package.name,
            version: package.version,
            root,
            tarball,
        })
    }

    /// `NAME-VERSION`, the directory every file sits under inside the `.crate`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

/// Runs `cargo package --no-verify --allow-dirty` for `selection` into `target_dir` (offline
/// first, then online if cargo needs the index to write the lock file) and reads each `.crate`.
pub fn build_packages(
    selection: &PackageSelection,
    target_dir: &Path,
) -> Result<Vec<PackagedCrate>> {
    let metadata = workspace_metadata(selection)?;
    let run = |offline: bool| -> Result<std::process::Output> {
        let mut command = cargo();
        command
            .args(["package", "--no-verify", "--allow-dirty", "--quiet"])
            .arg("--target-dir")
            .arg(target_dir);
        selection_args(&mut command, selection);
        if offline {
            command.arg("--offline");
        }
        command.output().context("running `cargo package`")
    };
    let mut output = run(true)?;
    if !output.status.success() {
        output = run(false)?;
    }
    if !output.status.success() {
        let why = metadata
            .packages
            .first()
            .and_then(|package| package.manifest_path.parent())
            .and_then(git_cli::cargo_cannot_read);
        bail!(
            "`cargo package` failed: {}{}",
            cargo_error(&output.stderr),
            why.map(|why| format!(" ({why})")).unwrap_or_default()
        );
    }
    let package_dir = target_dir.join("package");
    let mut crates = Vec::new();
    for package in metadata.packages {
        let file = package_dir.join(format!("{}-{}.crate", package.name, package.version));
        if !file.is_file() {
            continue;
        }
        let tarball =
            std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        crates.push(PackagedCrate::new(package, tarball)?);
    }
    if crates.is_empty() {
        bail!("`cargo package` wrote no .crate file (is the package `publish = false`?)");
    }
    Ok(crates)
}

/// Scans every file in each package's `.crate` (under the package's archive limits), naming the
/// package, version, file and why it is packed in each finding.
pub fn scan_packages(scanner: &Scanner, crates: &[PackagedCrate]) -> Result<Report> {
    let mut findings: Vec<Finding> = Vec::new();
    for krate in crates {
        let label = format!("{}.crate", krate.dir_name());
        added_in_archive(label.as_bytes(), &krate.tarball, None, &mut |added| {
            let found = scanner.findings_in(&added);
            if found.is_empty() {
                return Ok(());
            }
            let file = file_in_crate(&added.path, &krate.dir_name());
            let packaged = Arc::new(PackagedFile {
                package: krate.name.clone(),
                version: krate.version.clone(),
                file: display_path(&file),
                why: why_packed(krate, &file),
            });
            findings.extend(found.into_iter().map(|finding| Finding {
                packaged: Some(packaged.clone()),
                ..finding
            }));
            Ok(())
        })?;
    }
    Ok(Report {
        scope: Scope::Package {
            packages: crates
                .iter()
                .map(|krate| format!("{} {}", krate.name, krate.version))
                .collect(),
        },
        findings,
        commits_scanned: 0,
    })
}

/// The path inside the package of an entry labelled `NAME-VERSION.crate!NAME-VERSION/path`.
fn file_in_crate(label: &[u8], dir_name: &str) -> Vec<u8> {
    let inner = match memchr::memchr(crate::archive::ENTRY_SEPARATOR, label) {
        Some(at) => &label[at + 1..],
        None => label,
    };
    let prefix = format!("{dir_name}/");
    inner
        .strip_prefix(prefix.as_bytes())
        .unwrap_or(inner)
        .to_vec()
}

/// Why cargo packs `file` (a path inside the package) when a look at git would not show it
/// there: what cargo writes itself, a readme or licence from outside the root, a symlink's
/// target, an untracked or ignored file, or a tracked one (then it is in the commits too).
pub fn why_packed(krate: &PackagedCrate, file: &[u8]) -> String {
    let name = String::from_utf8_lossy(file);
    let fixed = match name.as_ref() {
        "Cargo.toml.orig" => Some(
            "the manifest as written: cargo packs Cargo.toml verbatim as Cargo.toml.orig, \
             comments included",
        ),
        "Cargo.toml" => Some("the manifest cargo rewrites from Cargo.toml (values kept)"),
        "Cargo.lock" => Some("the lock file cargo writes into the package"),
        ".cargo_vcs_info.json" => Some("written by cargo"),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return fixed.to_string();
    }
    let source = krate.root.join(crate::source::path_from_bytes(file));
    let copied_in = |declared: &Option<PathBuf>, key: &str| -> Option<String> {
        let declared = declared.as_ref()?;
        let is_it = declared.file_name() == source.file_name()
            && !file.contains(&b'/')
            && !same_file(declared, &source);
        let sent = if key == "readme" {
            "; its text is also sent with the upload"
        } else {
            ""
        };
        is_it.then(|| {
            let shown = declared.canonicalize().unwrap_or_else(|_| declared.clone());
            format!(
                "the `{key}` file, copied in from {} outside the package root{sent}",
                redact_text(shown.as_os_str().as_encoded_bytes())
            )
        })
    };
    if let Some(reason) = copied_in(&krate.readme, "readme")
        .or_else(|| copied_in(&krate.license_file, "license-file"))
    {
        return reason;
    }
    let mut reasons = Vec::new();
    if let Ok(target) = std::fs::read_link(&source) {
        reasons.push(format!(
            "a symlink to {}: cargo packs the target's content",
            redact_text(target.as_os_str().as_encoded_bytes())
        ));
    }
    reasons.push(git_state(krate, &source));
    if krate
        .readme
        .as_ref()
        .is_some_and(|readme| same_file(readme, &source))
    {
        reasons.push("the readme: its text is also sent with the upload".to_string());
    }
    reasons.join("; ")
}

/// What git says about the file at `source`, in words that explain why cargo packs it.
fn git_state(krate: &PackagedCrate, source: &Path) -> String {
    let state = match git2::Repository::discover(&krate.root) {
        Ok(repo) => libgit2_state(&repo, source),
        // A format libgit2 does not read (SHA-256 objects, reftable refs): git answers.
        Err(_) => git_cli::file_state(source),
    };
    match state {
        FileState::NotInRepository => "not in a git repository: cargo packs every file under the \
                                       package root but hidden ones and target/"
            .to_string(),
        FileState::OutsideWorkTree => "outside the git work tree".to_string(),
        FileState::Unknown => "git cannot tell its state".to_string(),
        FileState::Ignored if krate.has_include => "ignored by git, yet packed: with `include` \
                                                    set, cargo does not consult git or .gitignore"
            .to_string(),
        FileState::Ignored if !krate.has_vcs_info => format!(
            "ignored by git, yet packed: {}",
            git_cli::CARGO_DID_NOT_READ_GIT
        ),
        FileState::Ignored => "ignored by git, yet packed".to_string(),
        FileState::Untracked => {
            "untracked and not ignored: cargo packs untracked files, which no commit shows"
                .to_string()
        }
        FileState::Staged => "staged but not committed".to_string(),
        FileState::Modified => {
            "tracked, with uncommitted changes: cargo packs the working tree's version".to_string()
        }
        FileState::Tracked => {
            "tracked by git: it is in the commits too (scan-history finds it there)".to_string()
        }
    }
}

/// Where a packed file stands with git.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileState {
    NotInRepository,
    OutsideWorkTree,
    Unknown,
    Ignored,
    Untracked,
    Staged,
    Modified,
    Tracked,
}

/// [`FileState`] of the file at `source` in `repo`, read by libgit2.
fn libgit2_state(repo: &git2::Repository, source: &Path) -> FileState {
    let relative = repo.workdir().and_then(|workdir| {
        let workdir = workdir.canonicalize().ok()?;
        let parent = source.parent()?.canonicalize().ok()?;
        Some(parent.strip_prefix(workdir).ok()?.join(source.file_name()?))
    });
    let Some(relative) = relative else {
        return FileState::OutsideWorkTree;
    };
    let status = match repo.status_file(&relative) {
        Ok(status) => status,
        Err(err) if err.code() == git2::ErrorCode::NotFound => git2::Status::WT_NEW,
        Err(_) => return FileState::Unknown,
    };
    if status.contains(git2::Status::IGNORED) {
        FileState::Ignored
    } else if status.contains(git2::Status::WT_NEW) {
        FileState::Untracked
    } else if status.contains(git2::Status::INDEX_NEW) {
        FileState::Staged
    } else if status.intersects(git2::Status::WT_MODIFIED | git2::Status::INDEX_MODIFIED) {
        FileState::Modified
    } else {
        FileState::Tracked
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The cargo that runs this (cargo sets `CARGO` for the programs it starts), else `cargo`.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn selection_args(command: &mut Command, selection: &PackageSelection) {
    if let Some(manifest) = &selection.manifest_path {
        command.arg("--manifest-path").arg(manifest);
    }
    if let Some(package) = &selection.package {
        command.args(["--package", package]);
    }
    if selection.workspace {
        command.arg("--workspace");
    }
}

/// `cargo metadata --no-deps`: the packages, with their manifests, readmes and licence files.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub packages: Vec<MetadataPackage>,
    /// The target directory in force (`CARGO_TARGET_DIR`, `build.target-dir`).
    pub target_directory: PathBuf,
}

/// One package, as `cargo metadata` describes it.
#[derive(Debug, Deserialize)]
pub struct MetadataPackage {
    pub name: String,
    pub version: String,
    pub manifest_path: PathBuf,
    pub readme: Option<PathBuf>,
    pub license_file: Option<PathBuf>,
}

/// `cargo metadata --no-deps` for the workspace `selection` names (its manifest only).
pub fn workspace_metadata(selection: &PackageSelection) -> Result<Metadata> {
    let mut command = cargo();
    command.args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
    ]);
    if let Some(manifest) = &selection.manifest_path {
        command.arg("--manifest-path").arg(manifest);
    }
    let output = command.output().context("running `cargo metadata`")?;
    if !output.status.success() {
        bail!("`cargo metadata` failed: {}", cargo_error(&output.stderr));
    }
    serde_json::from_slice(&output.stdout).context("reading `cargo metadata`'s output")
}

fn manifest_has_include(manifest: &Path) -> Result<bool> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let value: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    Ok(value
        .get("package")
        .and_then(|package| package.get("include"))
        .is_some())
}

/// Cargo's first error line, redacted (a manifest with a token in it can be what failed).
fn cargo_error(stderr: &[u8]) -> String {
    let text = redact_text(stderr);
    text.lines()
        .find(|line| line.starts_with("error"))
        .or_else(|| text.lines().find(|line| !line.trim().is_empty()))
        .unwrap_or("no message")
        .trim_start_matches("error: ")
        .to_string()
}
