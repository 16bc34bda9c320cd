//! `cio-hook pre-receive`: the server-side gate, run by git's pre-receive hook.
//!
//! Reads git's ref lines and environment, loads the server's policy, scans within the time
//! budget, and answers with an exit code git understands: 0 accepts the push, anything else
//! rejects it (1: a token was found, 2: the check could not run or did not finish).

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result};

use cio_hook::pre_receive::policy::{
    default_branch_ref, BypassRecord, ServerPolicy, BYPASS_OPTION,
};
use cio_hook::pre_receive::{
    open_server_repository, parse_received, remote_text, scan_received, ReceiveEnv, ReceiveReport,
    ReceivedRef,
};
use cio_hook::redact::redact_text;
use cio_hook::{Scanner, EXIT_CLEAN, EXIT_ERROR, EXIT_FOUND};

use super::context::{error_line, Context};

/// How the check ended.
enum Outcome {
    Scanned(ReceiveReport),
    Failed(anyhow::Error),
    TimedOut,
}

/// Runs the gate, with `--config` from the context; `timeout` is `--timeout` in seconds.
pub fn pre_receive(context: &Context, timeout: Option<Duration>) -> Result<i32> {
    let config = context.config.as_deref();
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading git's pre-receive lines from standard input")?;
    let received = parse_received(&input)?;
    let env = ReceiveEnv::from_process()?;
    let object_dirs = env.object_dirs(&received)?;
    let repo = open_server_repository(&object_dirs)?;
    let ref_prefix = env.ref_prefix();
    let head_ref = default_branch_ref(&repo, &ref_prefix);
    let policy = ServerPolicy::load(&repo, head_ref.as_deref(), config, timeout)?;
    let mut out = std::io::stdout().lock();
    for warning in &policy.warnings {
        writeln!(out, "cio-hook: warning: {warning}")?;
    }
    let bypass = match env.push_option(BYPASS_OPTION) {
        None => None,
        Some(_) if !policy.bypass_enabled => {
            writeln!(
                out,
                "cio-hook: -o {BYPASS_OPTION} is not enabled on this server; the push is checked"
            )?;
            None
        }
        Some(reason) if reason.trim().is_empty() => {
            // Not a failure of the check: the bypass is enabled and was asked for without why.
            writeln!(
                out,
                "cio-hook: push rejected: a bypass needs a reason: git push -o \
                 {BYPASS_OPTION}=\"why\" (bypass is enabled on this server; nothing was checked)"
            )?;
            return Ok(EXIT_ERROR);
        }
        Some(reason) => Some(redact_text(reason.as_bytes())),
    };

    let mut scanner = Scanner::new(policy.allowlist).with_extra_object_dirs(object_dirs);
    if let Some(pack_dir) = env.pushed_pack_dir()? {
        scanner = scanner.with_pushed_packs(pack_dir);
    }
    let (sender, receiver) = mpsc::channel();
    let to_scan = received.clone();
    let quarantine = env.quarantine_dir()?;
    std::thread::spawn(move || {
        let result = scan_received(
            &repo,
            &scanner,
            &to_scan,
            &ref_prefix,
            quarantine.as_deref(),
        );
        // The receiver is gone only when the time budget ran out.
        let _ = sender.send(result);
    });
    let outcome = match receiver.recv_timeout(policy.timeout) {
        Ok(Ok(report)) => Outcome::Scanned(report),
        Ok(Err(err)) => Outcome::Failed(err),
        Err(mpsc::RecvTimeoutError::Timeout) => Outcome::TimedOut,
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Outcome::Failed(anyhow::anyhow!("the scan stopped without an answer"))
        }
    };

    if let Some(reason) = bypass {
        let record = bypass_record(&env, &received, &reason, &outcome);
        record.append_to(&policy.bypass_log)?;
        let verdict = match &outcome {
            Outcome::Scanned(report) if report.report.blocks() => {
                remote_text::write_rejection(&mut out, report, Some(&reason))?;
                "accepted despite the findings above; the token is now on this server: revoke \
                 it (https://crates.io/settings/tokens)"
                    .to_string()
            }
            Outcome::Scanned(_) => "accepted; the check found nothing".to_string(),
            Outcome::Failed(err) => format!(
                "accepted unchecked; the check could not run: {}",
                error_line(err)
            ),
            Outcome::TimedOut => "accepted unchecked; the check did not finish".to_string(),
        };
        writeln!(
            out,
            "cio-hook: bypass by {}: \"{reason}\"; {verdict}; recorded in this server's bypass \
             log",
            record.pusher
        )?;
        return Ok(EXIT_CLEAN);
    }
    match outcome {
        Outcome::Scanned(report) if report.report.blocks() => {
            remote_text::write_rejection(&mut out, &report, None)?;
            Ok(EXIT_FOUND)
        }
        Outcome::Scanned(_) => Ok(EXIT_CLEAN),
        Outcome::Failed(err) => Err(err),
        Outcome::TimedOut if policy.allow_on_timeout => {
            writeln!(
                out,
                "cio-hook: warning: the check did not finish within {} s; the push is accepted \
                 unchecked because this server sets ciohook.timeoutAction=allow",
                policy.timeout.as_secs()
            )?;
            Ok(EXIT_CLEAN)
        }
        Outcome::TimedOut => {
            writeln!(
                out,
                "cio-hook: push rejected: the check did not finish within {} s (the server's \
                 time budget); push fewer commits at a time, or ask the server's admin to \
                 raise ciohook.timeout",
                policy.timeout.as_secs()
            )?;
            Ok(EXIT_ERROR)
        }
    }
}

/// What the bypass log keeps of one bypass.
fn bypass_record(
    env: &ReceiveEnv,
    received: &[ReceivedRef],
    reason: &str,
    outcome: &Outcome,
) -> BypassRecord {
    let (outcome, findings) = match outcome {
        Outcome::Scanned(report) => (
            if report.report.blocks() {
                "found"
            } else {
                "clean"
            }
            .to_string(),
            report
                .blocking()
                .map(|(name, finding)| {
                    format!(
                        "{name} {} {} {} {}",
                        finding
                            .commit
                            .as_ref()
                            .map_or("-", |commit| commit.oid.as_str()),
                        finding.location(),
                        finding.token,
                        finding.fingerprint
                    )
                })
                .collect(),
        ),
        Outcome::Failed(err) => (format!("error: {}", error_line(err)), Vec::new()),
        Outcome::TimedOut => ("timed out".to_string(), Vec::new()),
    };
    BypassRecord {
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs()),
        pusher: redact_text(env.pusher.as_deref().unwrap_or("unknown").as_bytes()),
        reason: reason.to_string(),
        refs: received
            .iter()
            .map(|update| {
                format!(
                    "{} {} {}",
                    update.old,
                    update.new,
                    redact_text(update.name.as_bytes())
                )
            })
            .collect(),
        outcome,
        findings,
    }
}
