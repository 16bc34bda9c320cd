//! The machine-readable report: one JSON document per scan.

use std::io::{self, Write};

use serde::Serialize;

use super::{Finding, Report, Scope};

/// The JSON document's shape; `version` changes only when a field changes meaning.
#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    scope: &'a Scope,
    blocked: bool,
    commits_scanned: usize,
    findings: &'a [Finding],
}

/// Writes `report` as one JSON document and a newline.
pub fn write_report(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let document = Document {
        version: 1,
        scope: &report.scope,
        blocked: report.blocks(),
        commits_scanned: report.commits_scanned,
        findings: &report.findings,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Writes the document of a run that failed (exit code 2): `{"version": 1, "error": "…",
/// "blocked": true}`, with no `findings`, so that no consumer mistakes it for a clean scan.
/// `message` must already be redacted.
pub fn write_error(out: &mut dyn Write, message: &str) -> io::Result<()> {
    let document = serde_json::json!({ "version": 1, "error": message, "blocked": true });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
