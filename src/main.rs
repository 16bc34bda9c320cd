//! The `cio-hook` binary: parse arguments, run the command, map the outcome to an exit code.

mod cli;
mod commands;

use std::sync::OnceLock;

use cio_hook::redact::redact_text;
use cio_hook::EXIT_ERROR;

/// The report format asked for, once known, for the panic hook's error document.
static FORMAT: OnceLock<cli::Format> = OnceLock::new();

fn main() {
    exit_on_panic();
    // Cargo runs a credential provider as `PROGRAM --cargo-plugin`, its arguments in the JSON.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "--cargo-plugin")
    {
        std::process::exit(commands::run_credential_provider());
    }
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap echoes arguments in its messages; a token passed by mistake must not be.
            let code = if err.use_stderr() { EXIT_ERROR } else { 0 };
            let message = redact_text(err.render().to_string().as_bytes());
            if err.use_stderr() {
                eprint!("{message}");
                let args: Vec<_> = std::env::args_os().collect();
                if let Some(format) = commands::format_in_args(&args) {
                    // The error and its details, up to the usage that follows a blank line.
                    let error: Vec<&str> = message
                        .lines()
                        .take_while(|line| !line.trim().is_empty())
                        .map(str::trim)
                        .collect();
                    let error = error.join(" ");
                    let error = error.strip_prefix("error: ").unwrap_or(&error);
                    commands::write_error_document(format, error);
                }
            } else {
                print!("{message}");
            }
            std::process::exit(code);
        }
    };
    let format = *FORMAT.get_or_init(|| cli.format);
    let bypass_hint = commands::bypass_hint(&cli);
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let message = commands::error_line(&err);
            eprintln!("cio-hook: error: {message}");
            if let Some(hint) = bypass_hint {
                eprintln!("cio-hook: {hint}");
            }
            commands::write_error_document(format, &message);
            EXIT_ERROR
        }
    };
    std::process::exit(code);
}

/// A panic is a bug, but it must still block: report it on one line (and in the error document
/// of a JSON or SARIF run) and exit with 2.
fn exit_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        let message = redact_text(info.to_string().as_bytes()).replace('\n', " ");
        eprintln!(
            "cio-hook: internal error (please report it): {message}; blocked as a precaution \
             (bypass deliberately with --no-verify)"
        );
        if let Some(&format) = FORMAT.get() {
            commands::write_error_document(format, &format!("internal error: {message}"));
        }
        std::process::exit(EXIT_ERROR);
    }));
}
