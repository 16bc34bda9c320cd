//! Installing the hook shims into a repository, without clobbering anyone's hooks.
//!
//! The shims live in `hooks/` and are compiled in, so `cio-hook install` and `install.sh` put the
//! same bytes in place, with one line filled in: the absolute path of the installing binary, which
//! the shim runs first (so a binary installed with `--root DIR` is found without `PATH`). An
//! existing hook that is not ours is never overwritten: without `force`
//! the install refuses; with it, the old hook is kept as `<hook>.pre-cio-hook` and the shim runs it
//! after its own check passes. `uninstall` undoes exactly that.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use git2::Repository;

/// A line every shim carries, by which `install` and `uninstall` recognise their own files.
pub const SHIM_MARKER: &str = "# cio-hook shim";

/// Suffix given to a pre-existing hook that a forced install chains to.
pub const CHAINED_SUFFIX: &str = ".pre-cio-hook";

/// The line of every shim that the install fills in with the binary's absolute path.
const INSTALLED_BINARY_LINE: &str = "\ninstalled=''\n";

/// The hooks cio-hook provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    PreCommit,
    /// Runs instead of pre-commit when `git merge` commits a merge by itself.
    PreMergeCommit,
    CommitMsg,
    PrePush,
    /// The server-side gate, for a bare repository on a git server.
    PreReceive,
}

impl Hook {
    /// The hooks that guard commits, which every install puts in place.
    pub const COMMIT_HOOKS: [Hook; 3] = [Hook::PreCommit, Hook::PreMergeCommit, Hook::CommitMsg];

    /// Every hook, as `uninstall` removes them.
    pub const ALL: [Hook; 5] = [
        Hook::PreCommit,
        Hook::PreMergeCommit,
        Hook::CommitMsg,
        Hook::PrePush,
        Hook::PreReceive,
    ];

    /// The hook's file name in a hooks directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PreMergeCommit => "pre-merge-commit",
            Hook::CommitMsg => "commit-msg",
            Hook::PrePush => "pre-push",
            Hook::PreReceive => "pre-receive",
        }
    }

    /// The shim script's text, as in `hooks/`.
    pub fn shim(self) -> &'static str {
        match self {
            Hook::PreCommit => include_str!("../hooks/pre-commit"),
            Hook::PreMergeCommit => include_str!("../hooks/pre-merge-commit"),
            Hook::CommitMsg => include_str!("../hooks/commit-msg"),
            Hook::PrePush => include_str!("../hooks/pre-push"),
            Hook::PreReceive => include_str!("../hooks/pre-receive"),
        }
    }

    /// The shim as installed: it runs `binary` (an absolute path) when that still exists.
    pub fn shim_for(self, binary: Option<&Path>) -> String {
        let shim = self.shim();
        match binary {
            Some(binary) => shim.replacen(
                INSTALLED_BINARY_LINE,
                &format!("\ninstalled={}\n", shell_quote(&binary.to_string_lossy())),
                1,
            ),
            None => shim.to_string(),
        }
    }
}

/// `text` as one single-quoted POSIX shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The absolute path of the running cio-hook, which shims call first.
pub fn current_binary() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.canonicalize().ok())
}

/// What `install` did for one hook.
#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    /// The shim was written where no hook was.
    Fresh(PathBuf),
    /// The same shim was already there; nothing changed.
    AlreadyPresent(PathBuf),
    /// An older cio-hook shim was replaced.
    Updated(PathBuf),
    /// Another hook was there: it was kept beside the shim, which runs it after its check.
    Chained { hook: PathBuf, previous: PathBuf },
}

/// What `uninstall` did for one hook.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    /// The shim was removed (and a chained hook put back, when there was one).
    Removed { hook: PathBuf, restored: bool },
    /// No cio-hook shim there; a hook that is not ours is left alone.
    NotInstalled(PathBuf),
}

/// The directory git runs this repository's hooks from: `core.hooksPath` when set (relative to
/// the working tree's root, as git reads it), else `hooks` in the common git directory, which
/// linked worktrees share.
pub fn hooks_dir(repo: &Repository) -> Result<PathBuf> {
    let config = repo.config().context("reading git config")?;
    if let Ok(configured) = config.get_path("core.hooksPath") {
        if configured.is_absolute() {
            return Ok(configured);
        }
        let base = repo.workdir().unwrap_or_else(|| repo.path());
        return Ok(base.join(configured));
    }
    Ok(repo.commondir().join("hooks"))
}

/// [`hooks_dir`] of a repository read through git: git's own answer (`core.hooksPath` honoured).
pub fn hooks_dir_with_git(repo: &crate::repository::GitRepository) -> Result<PathBuf> {
    let output = repo.git_output(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])?;
    Ok(PathBuf::from(String::from_utf8_lossy(&output).trim_end()))
}

/// Installs `hook`'s shim into `dir`, following the no-clobber rules above; the shim calls the
/// running binary by its absolute path.
pub fn install(dir: &Path, hook: Hook, force: bool) -> Result<Installed> {
    install_calling(dir, hook, force, current_binary().as_deref())
}

/// Installs `hook`'s shim into `dir`, calling `binary` (else cio-hook from `PATH`).
pub fn install_calling(
    dir: &Path,
    hook: Hook,
    force: bool,
    binary: Option<&Path>,
) -> Result<Installed> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(hook.file_name());
    let shim = hook.shim_for(binary);
    let installed = match fs::read(&path) {
        Ok(existing) if existing == shim.as_bytes() => {
            make_executable(&path)?;
            return Ok(Installed::AlreadyPresent(path));
        }
        Ok(existing) if is_shim(&existing) => Installed::Updated(path.clone()),
        Ok(_) if !force => bail!(
            "{} already exists and is not cio-hook's; rerun with --force to keep it and run it \
             after cio-hook's check",
            path.display()
        ),
        Ok(_) => {
            let previous = chained_path(&path);
            if previous.exists() {
                bail!(
                    "{} already exists; cannot keep {} beside the shim",
                    previous.display(),
                    path.display()
                );
            }
            fs::rename(&path, &previous).with_context(|| format!("moving {}", path.display()))?;
            Installed::Chained {
                hook: path.clone(),
                previous,
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Installed::Fresh(path.clone()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    fs::write(&path, shim).with_context(|| format!("writing {}", path.display()))?;
    make_executable(&path)?;
    Ok(installed)
}

/// Removes `hook`'s shim from `dir` if it is ours, restoring a hook it chained to.
pub fn uninstall(dir: &Path, hook: Hook) -> Result<Removed> {
    let path = dir.join(hook.file_name());
    match fs::read(&path) {
        Ok(existing) if is_shim(&existing) => {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            let previous = chained_path(&path);
            let restored = previous.exists();
            if restored {
                fs::rename(&previous, &path)
                    .with_context(|| format!("restoring {}", previous.display()))?;
            }
            Ok(Removed::Removed {
                hook: path,
                restored,
            })
        }
        Ok(_) => Ok(Removed::NotInstalled(path)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Removed::NotInstalled(path)),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

fn is_shim(content: &[u8]) -> bool {
    content
        .split(|&byte| byte == b'\n')
        .any(|line| line == SHIM_MARKER.as_bytes())
}

fn chained_path(hook_path: &Path) -> PathBuf {
    let mut name = hook_path.file_name().unwrap_or_default().to_os_string();
    name.push(CHAINED_SUFFIX);
    hook_path.with_file_name(name)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shims_carry_the_marker_and_the_binary_line() {
        for hook in Hook::ALL {
            assert!(is_shim(hook.shim().as_bytes()), "{hook:?}");
            let shim = hook.shim_for(Some(Path::new("/opt/it's here/bin/cio-hook")));
            assert!(
                shim.contains("\ninstalled='/opt/it'\\''s here/bin/cio-hook'\n"),
                "{hook:?}: {shim}"
            );
        }
    }

    #[test]
    fn install_refuses_then_chains_then_uninstall_restores() {
        let dir = tempfile::tempdir().unwrap();
        let hook_path = dir.path().join("pre-commit");
        fs::write(&hook_path, "#!/bin/sh\necho mine\n").unwrap();
        assert!(install(dir.path(), Hook::PreCommit, false).is_err());
        assert!(matches!(
            install(dir.path(), Hook::PreCommit, true).unwrap(),
            Installed::Chained { .. }
        ));
        assert!(matches!(
            install(dir.path(), Hook::PreCommit, true).unwrap(),
            Installed::AlreadyPresent(_)
        ));
        assert!(matches!(
            uninstall(dir.path(), Hook::PreCommit).unwrap(),
            Removed::Removed { restored: true, .. }
        ));
        assert_eq!(
            fs::read_to_string(&hook_path).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert!(matches!(
            uninstall(dir.path(), Hook::PreCommit).unwrap(),
            Removed::NotInstalled(_)
        ));
    }
}
