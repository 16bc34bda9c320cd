//! The server's policy, from the repository's git config and its default branch: never from
//! the commits being pushed, so that a push cannot allow itself.
//!
//! | git config              | meaning                                                        |
//! |-------------------------|----------------------------------------------------------------|
//! | `ciohook.config`        | the server's own allowlist file (`--config` overrides it)      |
//! | `ciohook.allowBypass`   | `true` lets `git push -o ciohook.bypass="reason"` through      |
//! | `ciohook.bypassLog`     | where bypasses are appended (default `cio-hook-bypass.log` in the git dir) |
//! | `ciohook.timeout`       | seconds before the check gives up (`--timeout` overrides it; 60) |
//! | `ciohook.timeoutAction` | `reject` (default) or `allow`: what a push that timed out gets |

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::ServerRepository;
use crate::allow::{self, Allowlist};
use crate::redact::redact_text;

/// The time budget when neither `--timeout` nor `ciohook.timeout` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The push option that asks for a bypass: `git push -o ciohook.bypass="reason"`.
pub const BYPASS_OPTION: &str = "ciohook.bypass";

/// The bypass log's file name in the git directory when `ciohook.bypassLog` is not set.
pub const DEFAULT_BYPASS_LOG: &str = "cio-hook-bypass.log";

/// Everything the server decides about a push, loaded before any pushed object is read.
#[derive(Debug)]
pub struct ServerPolicy {
    /// The server's allowlist followed by the default branch's `.ciokeyignore.toml`.
    pub allowlist: Allowlist,
    /// Whether `-o ciohook.bypass=…` is honoured (`ciohook.allowBypass` and
    /// `receive.advertisePushOptions` both true).
    pub bypass_enabled: bool,
    /// Where honoured bypasses are appended.
    pub bypass_log: PathBuf,
    /// How long the check may take.
    pub timeout: Duration,
    /// Whether a push whose check timed out is accepted (`ciohook.timeoutAction=allow`).
    pub allow_on_timeout: bool,
    /// Things the admin should fix that do not block, one line each.
    pub warnings: Vec<String>,
}

impl ServerPolicy {
    /// Loads the policy of `repo`. `config_override` is `--config`, `timeout_override`
    /// `--timeout`; `head_ref` is the default branch's ref (namespaced when the push is).
    pub fn load(
        repo: &ServerRepository,
        head_ref: Option<&str>,
        config_override: Option<&Path>,
        timeout_override: Option<Duration>,
    ) -> Result<ServerPolicy> {
        let bool_setting = |name: &str| repo.config_bool(name);
        let string_setting = |name: &str| repo.config_string(name);
        let git_dir = repo.git_dir();
        let in_git_dir = |path: PathBuf| {
            if path.is_absolute() {
                path
            } else {
                git_dir.join(path)
            }
        };
        let mut allowlist = match config_override {
            Some(path) => Allowlist::load(path, path, true)?,
            None => match string_setting("ciohook.config")? {
                Some(path) => {
                    let path = in_git_dir(PathBuf::from(path));
                    Allowlist::load(&path, &path, true)?
                }
                None => Allowlist::default(),
            },
        };
        let mut warnings = Vec::new();
        if let Some(head_ref) = head_ref {
            let shown_as = PathBuf::from(format!("{head_ref}:{}", allow::FILE_NAME));
            if let Some(bytes) = repo.file_at_ref(head_ref, Path::new(allow::FILE_NAME))? {
                // An allowlist only ever lets tokens through, so one that does not load is left
                // out (stricter), and the push that fixes it can still land.
                let parsed = String::from_utf8(bytes)
                    .map_err(|err| format!("{}: not valid UTF-8 ({err})", shown_as.display()))
                    .and_then(|text| {
                        Allowlist::parse(&text, &shown_as).map_err(|err| err.to_string())
                    });
                match parsed {
                    Ok(branch_list) => allowlist.entries.extend(branch_list.entries),
                    Err(err) => warnings.push(format!(
                        "ignoring {}: {}",
                        shown_as.display(),
                        redact_text(err.as_bytes())
                    )),
                }
            }
        }
        let allow_bypass = bool_setting("ciohook.allowBypass")?;
        let advertised = bool_setting("receive.advertisePushOptions")?;
        if allow_bypass && !advertised {
            warnings.push(
                "ciohook.allowBypass is true but receive.advertisePushOptions is not, so clients \
                 cannot send -o ciohook.bypass"
                    .to_string(),
            );
        }
        let bypass_log = in_git_dir(PathBuf::from(
            string_setting("ciohook.bypassLog")?.unwrap_or_else(|| DEFAULT_BYPASS_LOG.into()),
        ));
        let timeout = match timeout_override {
            Some(timeout) => timeout,
            None => match string_setting("ciohook.timeout")? {
                Some(text) => parse_timeout(&text)
                    .with_context(|| format!("git config ciohook.timeout = {text:?}"))?,
                None => DEFAULT_TIMEOUT,
            },
        };
        let allow_on_timeout = match string_setting("ciohook.timeoutAction")?.as_deref() {
            None | Some("reject") => false,
            Some("allow") => true,
            Some(other) => bail!(
                "git config ciohook.timeoutAction = {:?}: expected reject or allow",
                redact_text(other.as_bytes())
            ),
        };
        Ok(ServerPolicy {
            allowlist,
            bypass_enabled: allow_bypass && advertised,
            bypass_log,
            timeout,
            allow_on_timeout,
            warnings,
        })
    }
}

/// Parses a time budget in whole seconds, at least 1.
pub fn parse_timeout(text: &str) -> Result<Duration> {
    match text.trim().parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => bail!("expected a whole number of seconds, at least 1"),
    }
}

/// The ref the server's default branch is: `HEAD` of the repository (of the namespace, when the
/// push is namespaced and the namespace has a HEAD), resolved one level to the branch it names.
pub fn default_branch_ref(repo: &ServerRepository, ref_prefix: &str) -> Option<String> {
    let head_of = |name: &str| repo.symbolic_target(name);
    if ref_prefix.is_empty() {
        return head_of("HEAD");
    }
    let target = head_of(&format!("{ref_prefix}HEAD")).or_else(|| head_of("HEAD"))?;
    Some(if target.starts_with(ref_prefix) {
        target
    } else {
        format!("{ref_prefix}{target}")
    })
}

/// One honoured bypass, as a line of JSON in the bypass log. Every text is redacted.
#[derive(Debug, serde::Serialize)]
pub struct BypassRecord {
    /// Seconds since the Unix epoch.
    pub unix_time: u64,
    /// Who pushed, as the server told the hook (`GL_USERNAME`, `REMOTE_USER`…).
    pub pusher: String,
    pub reason: String,
    /// `<old> <new> <ref>` for every ref of the push.
    pub refs: Vec<String>,
    /// What the check found: `clean`, `found`, `timed out`, or the error.
    pub outcome: String,
    /// `<ref> <commit> <location> <redacted token> <fingerprint>` for each blocking finding.
    pub findings: Vec<String>,
}

impl BypassRecord {
    /// Appends the record to `path` as one line (created when missing).
    pub fn append_to(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let mut line = serde_json::to_vec(self).context("encoding the bypass record")?;
        line.push(b'\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(&line))
            .with_context(|| format!("appending to the bypass log {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_whole_positive_seconds() {
        assert_eq!(parse_timeout("5").unwrap(), Duration::from_secs(5));
        for bad in ["0", "-1", "1.5", "", "ten"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?}");
        }
    }
}
