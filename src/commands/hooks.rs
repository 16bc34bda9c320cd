//! `install` and `uninstall`: the hook shims in this repository's hooks directory.

use anyhow::Result;

use cio_hook::install::{self, Hook, Installed, Removed};
use cio_hook::repository::{Opened, UnsupportedFormat};
use cio_hook::EXIT_CLEAN;

use super::context::Context;

/// `install`: the commit hooks, with the pre-push hook too, or the server's pre-receive hook alone.
///
/// In a repository whose format cio-hook cannot read, the hooks are installed all the same, with
/// a warning that they block every commit until a release reads it: a hook that silently passed
/// would let tokens through.
pub fn install(context: &Context, pre_push: bool, pre_receive: bool, force: bool) -> Result<i32> {
    let dir = match context.open() {
        Ok(Opened::Libgit2(repo)) => install::hooks_dir(&repo)?,
        Ok(Opened::Git(repo)) => install::hooks_dir_with_git(&repo)?,
        Err(err) => {
            let Some(unsupported) = err.downcast_ref::<UnsupportedFormat>() else {
                return Err(err);
            };
            let Some(dir) = unsupported.hooks_dir() else {
                return Err(err);
            };
            eprintln!("cio-hook: warning: {unsupported}");
            eprintln!(
                "cio-hook: warning: the hooks are installed and will block every commit{} until \
                 a cio-hook release reads this format (bypass deliberately with --no-verify)",
                if pre_push { " and push" } else { "" }
            );
            dir
        }
    };
    let hooks: Vec<Hook> = if pre_receive {
        vec![Hook::PreReceive]
    } else {
        let mut hooks = Hook::COMMIT_HOOKS.to_vec();
        if pre_push {
            hooks.push(Hook::PrePush);
        }
        hooks
    };
    for hook in hooks {
        match install::install(&dir, hook, force)? {
            Installed::Fresh(path) => println!("installed {}", path.display()),
            Installed::AlreadyPresent(path) => println!("already installed: {}", path.display()),
            Installed::Updated(path) => println!("updated {}", path.display()),
            Installed::Chained { hook, previous } => println!(
                "installed {}; the hook that was there is kept as {} and runs after the check",
                hook.display(),
                previous.display()
            ),
        }
    }
    Ok(EXIT_CLEAN)
}

/// `uninstall`: removes exactly what `install` put in place, restoring chained hooks.
pub fn uninstall(context: &Context) -> Result<i32> {
    let dir = match context.open()? {
        Opened::Libgit2(repo) => install::hooks_dir(&repo)?,
        Opened::Git(repo) => install::hooks_dir_with_git(&repo)?,
    };
    let mut removed = 0;
    for hook in Hook::ALL {
        // Hooks that were never installed (pre-receive in a normal repository) go unmentioned.
        match install::uninstall(&dir, hook)? {
            Removed::Removed {
                hook,
                restored: true,
            } => println!(
                "removed cio-hook from {}; restored the previous hook",
                hook.display()
            ),
            Removed::Removed { hook, .. } => println!("removed {}", hook.display()),
            Removed::NotInstalled(_) => continue,
        }
        removed += 1;
    }
    if removed == 0 {
        println!("no cio-hook hook in {}: nothing to remove", dir.display());
    }
    Ok(EXIT_CLEAN)
}
