//! `cio-hook --cargo-plugin`: cio-hook run by cargo as a credential provider (see
//! [`cio_hook::credential_provider`]). Standard output carries the protocol only.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Result;

use cio_hook::allow::{self, Allowlist};
use cio_hook::credential_provider::{respond, Request, HELLO};
use cio_hook::{Scanner, EXIT_CLEAN, EXIT_ERROR};

/// Says hello, then answers each request line until cargo closes standard input.
pub fn run() -> i32 {
    match serve() {
        Ok(()) => EXIT_CLEAN,
        Err(err) => {
            eprintln!("cio-hook: error: {}", super::context::error_line(&err));
            EXIT_ERROR
        }
    }
}

fn serve() -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{HELLO}")?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(request) => match scanner() {
                Ok(scanner) => respond(&request, &scanner),
                Err(err) => error_response(&format!("{err:#}")),
            },
            Err(err) => error_response(&format!("cannot read cargo's request: {err}")),
        };
        writeln!(out, "{response}")?;
        out.flush()?;
    }
    Ok(())
}

fn error_response(message: &str) -> serde_json::Value {
    let message = cio_hook::redact::redact_text(message.as_bytes());
    serde_json::json!({ "Err": { "kind": "other", "message": format!("cio-hook: {message}") } })
}

/// A scanner with the allowlist of the repository cargo runs in, when there is one.
fn scanner() -> Result<Scanner> {
    let workdir = git2::Repository::discover(".")
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf));
    let allowlist = match workdir {
        Some(workdir) => Allowlist::load(
            &workdir.join(allow::FILE_NAME),
            Path::new(allow::FILE_NAME),
            false,
        )?,
        None => Allowlist::default(),
    };
    Ok(Scanner::new(allowlist))
}
