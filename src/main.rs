//! The `cio-hook` binary: parse arguments, run the command, map the outcome to an exit code.

mod cli;
mod commands;
mod pre_receive_command;

use clap::Parser;

use cio_hook::redact::redact_text;
use cio_hook::EXIT_ERROR;

fn main() {
    exit_on_panic();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap echoes arguments in its messages; a token passed by mistake must not be.
            let code = if err.use_stderr() { EXIT_ERROR } else { 0 };
            let message = redact_text(err.render().to_string().as_bytes());
            if err.use_stderr() {
                eprint!("{message}");
            } else {
                print!("{message}");
            }
            std::process::exit(code);
        }
    };
    let bypass_hint = commands::bypass_hint(&cli);
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("cio-hook: error: {}", commands::error_line(&err));
            if let Some(hint) = bypass_hint {
                eprintln!("cio-hook: {hint}");
            }
            EXIT_ERROR
        }
    };
    std::process::exit(code);
}

/// A panic is a bug, but it must still block: report it on one line and exit with 2.
fn exit_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        let message = redact_text(info.to_string().as_bytes());
        eprintln!(
            "cio-hook: internal error (please report it): {}; blocked as a precaution \
             (bypass deliberately with --no-verify)",
            message.replace('\n', " ")
        );
        std::process::exit(EXIT_ERROR);
    }));
}
