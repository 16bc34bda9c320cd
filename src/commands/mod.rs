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

use crate::cli::{format_choice, formats_of, Cli, Command};

pub use context::{bypass_hint, error_line, format_in_args, write_error_document, Context};
pub use credential_provider::run as run_credential_provider;

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if !cli.command.writes(cli.format) {
        let name = cli.command.name();
        anyhow::bail!(
            "{name} writes {} reports, not {} (see `cio-hook --help`)",
            format_choice(formats_of(name)),
            cli.format.name()
        );
    }
    cio_hook::source::pack::choice::check_setting()?;
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
