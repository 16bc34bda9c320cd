//! `install` and `uninstall`: the hook shims in this repository's hooks directory.

use anyhow::Result;

use cio_hook::install::{self, Hook, Installed, Removed};
use cio_hook::EXIT_CLEAN;

use super::context::Context;

/// `install`: the commit hooks, with the pre-push hook too, or the server's pre-receive hook alone.
pub fn install(context: &Context, pre_push: bool, pre_receive: bool, force: bool) -> Result<i32> {
    let repo = context.open_repository()?;
    let dir = install::hooks_dir(&repo)?;
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
    let repo = context.open_repository()?;
    let dir = install::hooks_dir(&repo)?;
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
