//! The binary's command layer: one module per command family, all on the shared [`Context`]
//! (global options, repository, allowlist, scanner, output), which imports none of them.
//! This module only dispatches.

mod allowlist;
mod baseline;
mod context;
mod credential_provider;
mod hooks;
mod package;
mod pre_receive;
mod scan;
mod tokens;

use anyhow::{Context as _, Result};

use crate::cli::{Cli, Command, Format};

pub use context::{bypass_hint, error_line, format_in_args, write_error_document, Context};
pub use credential_provider::run as run_credential_provider;

/// The commands that write no report, hence take no `--format` other than text.
fn report_free_command_name(command: &Command) -> Option<&'static str> {
    match command {
        Command::CheckConfig => Some("check-config"),
        Command::Install { .. } => Some("install"),
        Command::Uninstall => Some("uninstall"),
        Command::Allow { .. } => Some("allow"),
        Command::PreReceive { .. } => Some("pre-receive"),
        Command::Baseline { .. } => Some("baseline"),
        _ => None,
    }
}

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if let Some(name) =
        report_free_command_name(&cli.command).filter(|_| cli.format != Format::Text)
    {
        let format = clap::ValueEnum::to_possible_value(&cli.format)
            .map(|value| value.get_name().to_string())
            .unwrap_or_default();
        anyhow::bail!(
            "--format {format} applies to the scan commands (scan-staged, pre-push, scan-range, \
             scan-history, scan-path, scan-package); {name} writes text only"
        );
    }
    if let Some(dir) = &cli.directory {
        std::env::set_current_dir(dir)
            .with_context(|| format!("cannot change to {}", dir.display()))?;
    }
    colored::control::set_override(context::use_colour(cli.format));
    // Objects come from the repository the user is committing to; re-hashing each one on read
    // (as git itself does not) would double the cost of a history scan.
    git2::opts::strict_hash_verification(false);
    cio_hook::source::limit_pack_memory();
    cio_hook::archive::ArchiveLimits::set_for_process(cli.archives.limits());
    let context = Context::new(&cli);
    match &cli.command {
        Command::ScanStaged => scan::staged(&context),
        Command::PrePush { remote, url } => {
            scan::pre_push(&context, remote.as_deref(), url.as_deref())
        }
        Command::PreReceive { timeout } => pre_receive::pre_receive(&context, *timeout),
        Command::ScanMessage { file } => scan::message(&context, file),
        Command::ScanRange { revspec } => scan::range(&context, revspec),
        Command::ScanHistory => scan::history(&context),
        Command::ScanPath { paths } => scan::paths(&context, paths),
        Command::ScanPackage {
            manifest_path,
            package,
            workspace,
        } => package::scan_package(
            &context,
            manifest_path.as_deref(),
            package.as_deref(),
            *workspace,
        ),
        Command::Allow {
            fingerprint,
            reason,
            expires,
        } => allowlist::allow(&context, fingerprint, reason, *expires),
        Command::CheckConfig => allowlist::check_config(&context),
        Command::Install {
            pre_push,
            pre_receive,
            force,
        } => hooks::install(&context, *pre_push, *pre_receive, *force),
        Command::Uninstall => hooks::uninstall(&context),
        Command::Verify {
            fingerprints,
            scope,
            network,
        } => tokens::verify(&context, fingerprints, scope, network),
        Command::Revoke {
            fingerprint,
            scope,
            network,
        } => tokens::revoke(&context, fingerprint, scope, network),
        Command::Baseline { reason } => baseline::baseline(&context, reason),
    }
}
