//! The command line: clap types whose doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use cio_hook::allow::Day;
use cio_hook::archive::{parse_size, ArchiveLimits};

const AFTER_HELP: &str = "\
Examples:
  cio-hook install --pre-push              hook this repository (commit and push hooks)
  cio-hook scan-staged                     what the pre-commit hook checks
  cio-hook scan-range origin/main..HEAD    the commits a push would send
  cio-hook scan-history --format sarif     every commit, for code scanning
  cio-hook allow sha256:1a2b… --reason \"revoked test fixture\"

Exit codes:
  0  no crates.io token blocks
  1  a token was found: the commit or push is blocked
  2  usage, configuration or repository error: blocked as well (fail closed)

Bypass a hook deliberately with `git commit --no-verify` or `git push --no-verify`.";

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// The scan commands, the only ones that `--hook` and `--verbose` change.
const SCAN_COMMANDS: &[&str] = &[
    "scan-staged",
    "pre-push",
    "scan-message",
    "scan-range",
    "scan-history",
    "scan-path",
    "scan-package",
];

/// Stops crates.io API tokens from leaving your machine through git.
#[derive(Debug, Parser)]
#[command(name = "cio-hook", version = env!("CIO_HOOK_VERSION"), after_help = AFTER_HELP)]
pub struct Cli {
    /// Run as if started in DIR, like `git -C DIR`.
    #[arg(short = 'C', global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub directory: Option<PathBuf>,

    /// Allowlist to use instead of .ciokeyignore.toml at the repository root.
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// Report format; each command writes only some (see --help).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text,
          long_help = format_help(), help_heading = GLOBAL)]
    pub format: Format,

    /// Run as a git hook: print nothing when nothing blocks, and name the deliberate bypass when
    /// the check cannot run. The hook shims pass it; `pre-push` always runs as a hook.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub hook: bool,

    /// Print the summary even when run as a hook and nothing blocks (also: CIO_HOOK_VERBOSE=1 in
    /// the environment, which reaches hooks run by git).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,

    #[command(flatten, next_help_heading = "Archive limits")]
    pub archives: ArchiveFlags,

    #[command(subcommand)]
    pub command: Command,
}

/// Limits on the archives (gzip, tar, zip) a scan opens; reaching one stops the scan with exit 2.
/// Each can also be set in the environment (which reaches hooks run by git).
#[derive(Debug, Clone, Args)]
pub struct ArchiveFlags {
    /// Archives opened within archives (1: only the file's own; 0: none, scanned as bytes).
    #[arg(long, global = true, env = "CIO_HOOK_ARCHIVE_MAX_DEPTH", value_name = "N", default_value_t = ArchiveLimits::default().max_depth)]
    pub archive_max_depth: u32,
    /// Bytes one file's archives may expand to in all (K, M, G suffixes).
    #[arg(long, global = true, env = "CIO_HOOK_ARCHIVE_MAX_BYTES", value_name = "SIZE", default_value = "512M", value_parser = parse_size)]
    pub archive_max_bytes: u64,
    /// Bytes one archive entry may expand to.
    #[arg(long, global = true, env = "CIO_HOOK_ARCHIVE_MAX_ENTRY_BYTES", value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub archive_max_entry_bytes: u64,
    /// Entries one file's archives may hold, nested ones included.
    #[arg(long, global = true, env = "CIO_HOOK_ARCHIVE_MAX_ENTRIES", value_name = "N", default_value_t = ArchiveLimits::default().max_entries)]
    pub archive_max_entries: u64,
    /// How many times its own size a file's archives may expand to (past the first MiB).
    #[arg(long, global = true, env = "CIO_HOOK_ARCHIVE_MAX_RATIO", value_name = "N", default_value_t = ArchiveLimits::default().max_ratio)]
    pub archive_max_ratio: u64,
}

impl ArchiveFlags {
    /// The limits these flags set.
    pub fn limits(&self) -> ArchiveLimits {
        ArchiveLimits {
            max_depth: self.archive_max_depth,
            max_total_bytes: self.archive_max_bytes,
            max_entry_bytes: self.archive_max_entry_bytes,
            max_entries: self.archive_max_entries,
            max_ratio: self.archive_max_ratio,
        }
    }
}

const SCAN_RANGE_EXAMPLES: &str = "\
Examples:
  cio-hook scan-range origin/main..HEAD   commits not yet on origin/main
  cio-hook scan-range HEAD^!              the last commit alone
  cio-hook scan-range 'v1.0^-'            what a merge brought in (as v1.0^1..v1.0)
  cio-hook scan-range main...feature      commits on either side since they forked";

/// How reports are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: findings, then what to do now.
    Text,
    /// One JSON document on standard output.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other SARIF consumers).
    Sarif,
}

impl Format {
    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
        }
    }
}

/// Which formats each command writes, in the order `--help` lists them: the one rule that the
/// help text states and `commands::run` enforces.
pub const FORMATS: &[(&[&str], &[Format])] = &[
    (
        &[
            "scan-staged",
            "pre-push",
            "scan-message",
            "scan-range",
            "scan-history",
            "scan-path",
            "scan-package",
        ],
        &[Format::Text, Format::Json, Format::Sarif],
    ),
    (&["verify", "revoke"], &[Format::Text, Format::Json]),
    (
        &[
            "allow",
            "check-config",
            "install",
            "uninstall",
            "baseline",
            "pre-receive",
        ],
        &[Format::Text],
    ),
];

/// The formats the command called `name` writes.
pub fn formats_of(name: &str) -> &'static [Format] {
    FORMATS
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map_or(&[Format::Text], |(_, formats)| formats)
}

/// `text, json`: formats as a list.
pub fn format_list(formats: &[Format]) -> String {
    let names: Vec<&str> = formats.iter().map(|format| format.name()).collect();
    names.join(", ")
}

/// `text, json or sarif`: formats as a choice.
pub fn format_choice(formats: &[Format]) -> String {
    let names: Vec<&str> = formats.iter().map(|format| format.name()).collect();
    match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The long help of `--format`, from [`FORMATS`].
fn format_help() -> String {
    let mut help = String::from("How to write the report. Each command writes only these:\n");
    for (names, formats) in FORMATS {
        help.push_str(&format!(
            "  {}: {}\n",
            names.join(", "),
            format_list(formats)
        ));
    }
    help.push_str(
        "A format the command does not write is refused (exit 2). On any error, json and sarif \
         still write a document that says the run failed (never a report).",
    );
    help
}

/// The command line as parsed, with the help of each subcommand fitted to it (see [`command`]).
pub fn parse() -> Result<Cli, clap::Error> {
    let mut command = command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}

/// The clap command with each subcommand's help fitted to it: global options under their own
/// heading, `--format` only where the command writes more than text (and its long text only on
/// the top level), `--hook` and `--verbose` only on the scan commands, which they change.
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    let global = |id: &str| -> clap::Arg {
        Cli::command()
            .get_arguments()
            .find(|arg| arg.get_id() == id)
            .cloned()
            .unwrap_or_else(|| panic!("no global option {id}"))
    };
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let formats = formats_of(&name);
        let scan = SCAN_COMMANDS.contains(&name.as_str());
        // A subcommand's own copy of a global option replaces the propagated one in its help;
        // the value still reaches the top level as the global option's.
        let format = global("format")
            .hide(formats.len() == 1)
            .hide_possible_values(true)
            .help(format!(
                "Report format: {} (see `cio-hook --help`)",
                format_choice(formats)
            ))
            .long_help(None::<&str>);
        let hook = global("hook").hide(!scan);
        let verbose = global("verbose").hide(!scan);
        command = command.mut_subcommand(&name, |sub| sub.arg(format).arg(hook).arg(verbose));
    }
    command
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan the lines the staged changes add (the index against HEAD): the pre-commit check.
    ScanStaged,
    /// Scan the commits a push makes new on the remote; reads git's pre-push lines on stdin.
    /// Without REMOTE (under the pre-commit framework), reads the PRE_COMMIT_* variables instead.
    PrePush {
        /// The remote's name (or its URL when pushing to a URL).
        remote: Option<String>,
        /// The remote's URL, as git passes it: matched to a configured remote when pushing to
        /// a URL directly.
        url: Option<String>,
    },
    /// Server side: reject a push whose new commits add a crates.io token; reads git's
    /// pre-receive lines on stdin. Policy comes from git config `ciohook.*` (see the README).
    PreReceive {
        /// Reject the push when the check takes longer than this (default: git config
        /// ciohook.timeout, else 60); ciohook.timeoutAction=allow accepts it instead.
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
        timeout: Option<std::time::Duration>,
    },
    /// Scan a commit message file, as git passes it to the commit-msg hook.
    ScanMessage {
        /// The message file (git passes .git/COMMIT_EDITMSG).
        file: PathBuf,
    },
    /// Scan the commits of a revision range, such as `origin/main..HEAD`.
    #[command(after_help = SCAN_RANGE_EXAMPLES)]
    ScanRange {
        /// The commits to scan, in git's notation: `A..B` (in B, not in A), `A...B` (in either,
        /// not in both), `X^!` (commit X alone), `X^-N` (what X adds over its parent N, as
        /// `X^N..X`; `X^-` is `X^-1`), `X^@` (X's parents and their history), or a revision X
        /// with all its history.
        revspec: String,
    },
    /// Scan every commit reachable from any ref.
    ScanHistory,
    /// Scan files and directories on disk (respecting .gitignore), or `-` for standard input.
    ScanPath {
        /// Files, directories, or `-`; the current directory when none is given.
        paths: Vec<PathBuf>,
    },
    /// Scan what `cargo package` would upload (every file of each .crate, the readme included),
    /// before `cargo publish`: runs `cargo package --no-verify --allow-dirty` into a temporary
    /// directory and says why each file holding a token is in the package.
    ScanPackage {
        /// The package's or workspace's Cargo.toml (default: found from the current directory).
        #[arg(long, value_name = "PATH")]
        manifest_path: Option<PathBuf>,
        /// The package to scan, in a workspace.
        #[arg(short = 'p', long, value_name = "NAME", conflicts_with = "workspace")]
        package: Option<String>,
        /// Scan every package of the workspace.
        #[arg(long)]
        workspace: bool,
    },
    /// Allow a token by its fingerprint in .ciokeyignore.toml (created when missing), keeping the
    /// file's comments and formatting.
    Allow {
        /// The `sha256:…` fingerprint a report printed (never the token itself).
        fingerprint: String,
        /// Why this token may be committed; required.
        #[arg(long)]
        reason: String,
        /// The day after which the entry stops applying (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        expires: Option<Day>,
    },
    /// Validate .ciokeyignore.toml and list entries to review: expired, duplicated, or matching
    /// nothing in the tracked files nor in the history.
    CheckConfig,
    /// Install the pre-commit, pre-merge-commit and commit-msg hooks (and with --pre-push the
    /// pre-push hook) into this repository.
    Install {
        /// Install the pre-push hook too.
        #[arg(long)]
        pre_push: bool,
        /// Install the server-side pre-receive hook (alone), for a bare repository on a git
        /// server.
        #[arg(long, conflicts_with = "pre_push")]
        pre_receive: bool,
        /// Keep an existing different hook and run it after cio-hook's check, instead of refusing.
        #[arg(long)]
        force: bool,
    },
    /// Remove cio-hook's hooks from this repository, restoring hooks they had chained to.
    Uninstall,
    /// Ask crates.io whether tokens found are live (read-only; asks before sending anything).
    /// Exit 0: none is live; 1: one is live; 2: could not tell, or an error.
    Verify {
        /// Fingerprints (`sha256:…`, or a unique start of one) of the tokens to check; every
        /// token found when none is given.
        fingerprints: Vec<String>,
        #[command(flatten)]
        scope: TokenScope,
        #[command(flatten)]
        network: Network,
    },
    /// Revoke a token found, through crates.io's API (asks first).
    /// Exit 0: revoked, or not live; 1: live but only revocable on crates.io's website;
    /// 2: not sent, outcome unknown, or an error.
    Revoke {
        /// The fingerprint (`sha256:…`, or a unique start of one) of the token to revoke.
        fingerprint: String,
        #[command(flatten)]
        scope: TokenScope,
        #[command(flatten)]
        network: Network,
    },
    /// Allow every token that blocks in the history today, by fingerprint, in .ciokeyignore.toml
    /// (entries marked `baseline = DATE`): for adopting cio-hook on an existing history.
    Baseline {
        /// Why these tokens may stay in history.
        #[arg(long, default_value = cio_hook::baseline::DEFAULT_REASON)]
        reason: String,
    },
}

/// Where `verify` and `revoke` look for tokens: every commit reachable from any ref by default.
#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct TokenScope {
    /// Look in the staged changes.
    #[arg(long)]
    pub staged: bool,
    /// Look in the commits of a revision range, such as `origin/main..HEAD`.
    #[arg(long, value_name = "REVSPEC")]
    pub range: Option<String>,
    /// Look in every commit reachable from any ref (the default).
    #[arg(long)]
    pub history: bool,
    /// Look in files and directories on disk, or `-` for standard input.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub path: Vec<PathBuf>,
}

/// How `verify` and `revoke` reach crates.io.
#[derive(Debug, Clone, Args)]
pub struct Network {
    /// Send without asking; required when there is no terminal to ask on.
    #[arg(long)]
    pub yes: bool,
    /// crates.io's API base URL: https, or plain http to a loopback address (for tests).
    #[arg(long, value_name = "URL", default_value = cio_hook::crates_io::DEFAULT_API_URL)]
    pub api_url: String,
    /// Seconds to wait for each step of a request (connecting, sending, the answer).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}

fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    cio_hook::pre_receive::policy::parse_timeout(text).map_err(|err| err.to_string())
}

impl Command {
    /// The command's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::ScanStaged => "scan-staged",
            Command::PrePush { .. } => "pre-push",
            Command::PreReceive { .. } => "pre-receive",
            Command::ScanMessage { .. } => "scan-message",
            Command::ScanRange { .. } => "scan-range",
            Command::ScanHistory => "scan-history",
            Command::ScanPath { .. } => "scan-path",
            Command::ScanPackage { .. } => "scan-package",
            Command::Allow { .. } => "allow",
            Command::CheckConfig => "check-config",
            Command::Install { .. } => "install",
            Command::Uninstall => "uninstall",
            Command::Verify { .. } => "verify",
            Command::Revoke { .. } => "revoke",
            Command::Baseline { .. } => "baseline",
        }
    }

    /// Whether the command writes `format`.
    pub fn writes(&self, format: Format) -> bool {
        formats_of(self.name()).contains(&format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand clap knows is in the table exactly once.
    #[test]
    fn every_command_has_its_formats() {
        let listed: Vec<&str> = FORMATS
            .iter()
            .flat_map(|(names, _)| names.iter().copied())
            .collect();
        let mut known: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|command| command.get_name().to_string())
            .collect();
        known.sort();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, known);
    }
}
