//! Opening the repository a command runs in, whatever its format.
//!
//! libgit2 (through git2, built without its experimental SHA-256 support) opens repositories of
//! SHA-1 objects and `files` refs. Repositories of Git 3.0's defaults, SHA-256 objects
//! (`extensions.objectformat = sha256`) or reftable refs (`extensions.refstorage = reftable`),
//! are read through the git CLI instead ([`GitRepository`]): git is always there when a hook
//! runs, and it is the reader those formats are defined by. A format neither reads gets an error
//! that names it, never "not in a git repository". See docs/git-formats.md.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use git2::Repository;

/// The object formats the git-CLI path reads.
pub const OBJECT_FORMATS: [&str; 2] = ["sha1", "sha256"];
/// The ref storage formats the git-CLI path reads.
pub const REF_FORMATS: [&str; 2] = ["files", "reftable"];

/// Where the formats cio-hook reads, and what to do about one it does not, are written down.
pub const FORMATS_DOC: &str = "docs/git-formats.md";

/// A repository, opened by the reader that can read it.
pub enum Opened {
    /// SHA-1 objects and `files` refs: libgit2 and the project's own pack and index readers.
    Libgit2(Repository),
    /// Any other format git reads: through the git CLI.
    Git(GitRepository),
}

/// A repository read through the git CLI. Every git command inherits the process environment,
/// so `GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE` and a server's quarantine
/// (`GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`) apply as they do to the hook.
#[derive(Debug, Clone)]
pub struct GitRepository {
    /// The repository's git directory, absolute.
    pub git_dir: PathBuf,
    /// The top of the working tree; `None` for a bare repository.
    pub work_tree: Option<PathBuf>,
    /// `sha1` or `sha256`.
    pub object_format: String,
    /// `files` or `reftable`.
    pub ref_format: String,
}

impl GitRepository {
    /// A git command for the repository. It runs where cio-hook runs, with its environment, so
    /// that git finds the repository exactly as it did when it was opened.
    pub fn git(&self) -> Command {
        Command::new("git")
    }

    /// Runs git with `args` and returns its standard output; an error names the command and
    /// carries git's own message.
    pub fn git_output<I, S>(&self, args: I) -> Result<Vec<u8>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.git();
        command.args(args);
        run(&mut command)
    }

    /// Whether the repository has no working tree.
    pub fn is_bare(&self) -> bool {
        self.work_tree.is_none()
    }

    /// The length of the repository's object ids in hex: 40 (SHA-1) or 64 (SHA-256).
    pub fn hex_len(&self) -> usize {
        if self.object_format == "sha256" {
            64
        } else {
            40
        }
    }

    /// How the format is named in messages: `SHA-256 objects and reftable refs`.
    pub fn describe_format(&self) -> String {
        describe(&self.object_format, &self.ref_format)
    }
}

/// `sha256` and `reftable` as a person reads them.
fn describe(object_format: &str, ref_format: &str) -> String {
    let objects = match object_format {
        "sha1" => "SHA-1",
        "sha256" => "SHA-256",
        other => other,
    };
    format!("{objects} objects and {ref_format} refs")
}

/// Runs `command`, returning its standard output, or an error with its standard error.
pub fn run(command: &mut Command) -> Result<Vec<u8>> {
    let shown = format!(
        "git {}",
        command
            .get_args()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {shown} (is git installed and on PATH?)"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.trim().replace('\n', " ");
        bail!("{shown} failed: {message}");
    }
    Ok(output.stdout)
}

/// Opens the repository the way git's hooks expect: from the current directory, honouring
/// `GIT_DIR`, `GIT_WORK_TREE` and `GIT_INDEX_FILE`.
///
/// libgit2 is tried first; when it refuses a repository, git is asked what it is. A format git
/// reads and cio-hook supports opens as a [`GitRepository`]; any other gets an error naming it.
pub fn open_from_env() -> Result<Opened> {
    let libgit2_error = match Repository::open_from_env() {
        Ok(repo) => return Ok(Opened::Libgit2(repo)),
        Err(err) => err,
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    if let Some(repo) = ask_git()? {
        let supported = OBJECT_FORMATS.contains(&repo.object_format.as_str())
            && REF_FORMATS.contains(&repo.ref_format.as_str());
        if !supported {
            let format = describe(&repo.object_format, &repo.ref_format);
            return Err(UnsupportedFormat::new(&cwd, format, Some(repo.git_dir)).into());
        }
        if repo.object_format == "sha1" && repo.ref_format == "files" {
            // libgit2 reads this format: what it refused is something else.
            bail!(
                "{} is not in a git repository ({})",
                cwd.display(),
                libgit2_error.message()
            );
        }
        return Ok(Opened::Git(repo));
    }
    if let Some(git_dir) = find_git_dir(&cwd) {
        let extensions = unreadable_extensions(&git_dir);
        if !extensions.is_empty() {
            return Err(UnsupportedFormat::new(&cwd, extensions.join(", "), Some(git_dir)).into());
        }
    }
    if libgit2_error.code() == git2::ErrorCode::NotFound {
        // git's wording; libgit2's "could not find repository at '.'" says less.
        return Err(anyhow!(
            "not a git repository (or any of the parent directories): {}",
            cwd.display()
        ));
    }
    Err(anyhow!("{}: {}", cwd.display(), libgit2_error.message()))
}

/// A repository in a format neither libgit2 nor the git CLI here reads. `install` branches on
/// it: the hook is installed, with a warning that it blocks until the format is supported.
#[derive(Debug)]
pub struct UnsupportedFormat {
    /// The directory the command ran in.
    pub cwd: PathBuf,
    /// The format as its config names it: `extensions.refstorage = future`.
    pub format: String,
    /// The repository's git directory, when it was found.
    pub git_dir: Option<PathBuf>,
}

impl UnsupportedFormat {
    fn new(cwd: &Path, format: String, git_dir: Option<PathBuf>) -> UnsupportedFormat {
        UnsupportedFormat {
            cwd: cwd.to_path_buf(),
            format,
            git_dir,
        }
    }

    /// The hooks directory git would run hooks from: `core.hooksPath` when set, else `hooks` in
    /// the git directory.
    pub fn hooks_dir(&self) -> Option<PathBuf> {
        let git_dir = self.git_dir.as_ref()?;
        let mut command = config_file_command(git_dir);
        command.args(["--path", "--get", "core.hooksPath"]);
        let Ok(path) = run(&mut command) else {
            return Some(git_dir.join("hooks"));
        };
        let path = PathBuf::from(String::from_utf8_lossy(&path).trim_end());
        let base = git_dir.parent().unwrap_or(git_dir);
        Some(if path.is_absolute() {
            path
        } else {
            base.join(path)
        })
    }
}

impl std::fmt::Display for UnsupportedFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is a git repository in a format cio-hook {} cannot read ({}); it reads SHA-1 and \
             SHA-256 objects with files or reftable refs, and a later release that reads this \
             format will list it in {FORMATS_DOC}; until then the check cannot run and blocks",
            self.cwd.display(),
            env!("CARGO_PKG_VERSION"),
            self.format
        )
    }
}

impl std::error::Error for UnsupportedFormat {}

/// What git says the repository in the current directory is, or `None` when git finds none
/// (or cannot read it).
fn ask_git() -> Result<Option<GitRepository>> {
    const QUESTIONS: [&str; 5] = [
        "rev-parse",
        "--absolute-git-dir",
        "--show-object-format",
        "--show-ref-format",
        "--show-toplevel",
    ];
    // One question for a working tree; without its last for a bare repository (or from inside
    // a git directory), where git refuses --show-toplevel.
    let (answer, has_work_tree) = match run(Command::new("git").args(QUESTIONS)) {
        Ok(answer) => (answer, true),
        Err(_) => match run(Command::new("git").args(&QUESTIONS[..4])) {
            Ok(answer) => (answer, false),
            Err(_) => return Ok(None),
        },
    };
    let text = String::from_utf8_lossy(&answer).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let (git_dir, object_format, ref_format, work_tree) = match (has_work_tree, &lines[..]) {
        (true, [git_dir, objects, refs, top]) => (git_dir, objects, refs, Some(PathBuf::from(top))),
        (false, [git_dir, objects, refs]) => (git_dir, objects, refs, None),
        // A git older than 2.45 does not know --show-ref-format.
        _ => return Ok(None),
    };
    Ok(Some(GitRepository {
        git_dir: PathBuf::from(git_dir),
        work_tree,
        object_format: object_format.to_string(),
        ref_format: ref_format.to_string(),
    }))
}

/// The git directory for `cwd`, found as git would in the simple cases: `GIT_DIR`, a `.git`
/// directory or `gitdir:` file in `cwd` or above, or `cwd` itself when it is a bare repository.
fn find_git_dir(cwd: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GIT_DIR") {
        return Some(cwd.join(dir));
    }
    for dir in cwd.ancestors() {
        let dot_git = dir.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git);
        }
        if let Ok(text) = std::fs::read_to_string(&dot_git) {
            let target = text.strip_prefix("gitdir:")?.trim();
            return Some(dir.join(target));
        }
        if dir.join("HEAD").is_file() && dir.join("objects").is_dir() {
            return Some(dir.to_path_buf());
        }
    }
    None
}

/// The `extensions.*` settings in `git_dir`'s config that name a format other than those
/// supported (`extensions.objectformat = sha3`), or any extension at all when git itself could
/// not open the repository: as `key = value`, for the error.
fn unreadable_extensions(git_dir: &Path) -> Vec<String> {
    let mut command = config_file_command(git_dir);
    command.args(["--get-regexp", r"^extensions\."]);
    let Ok(output) = run(&mut command) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output)
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((key, value)) => format!("{key} = {value}"),
            None => line.to_string(),
        })
        .collect()
}

/// `git config --file <git_dir>/config`, run away from the repository: git refuses to read even
/// a config file while it sits in a repository whose format it does not know.
fn config_file_command(git_dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir("/")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_CEILING_DIRECTORIES", "/")
        .arg("config")
        .arg("--file")
        .arg(git_dir.join("config"));
    command
}
