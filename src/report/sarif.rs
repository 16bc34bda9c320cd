//! SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it.
//!
//! Every finding becomes a result: blocking ones at level `error`, placeholders at `note`, and
//! allowed ones carry a suppression (`external` for the allowlist, `inSource` for the inline
//! marker) with its justification. The fingerprint doubles as the partial fingerprint, so a
//! consumer tracks a token across runs without ever seeing it.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{Finding, Report, Status};
use crate::detect::rules::{API_TOKEN, TRUSTED_PUBLISHING_TOKEN};
use crate::detect::{Rule, CREDENTIALS_FILE_TOKEN, TOKEN_VARIABLE};

/// Every rule, in the order of `tool.driver.rules` (results refer to them by index).
const RULES: [&Rule; 4] = [
    &API_TOKEN,
    &TRUSTED_PUBLISHING_TOKEN,
    &CREDENTIALS_FILE_TOKEN,
    &TOKEN_VARIABLE,
];

const HELP: &str = "Remove the secret from the change. Keep it out of the repository with \
`cargo login`, a credential provider, or a CI secret (better: Trusted Publishing). If it was ever \
pushed, pasted, logged or shared, revoke it at https://crates.io/settings/tokens and issue a new \
one with narrow scopes and an expiry. A false positive is allowed by fingerprint in \
.ciokeyignore.toml, with a reason.";

/// Writes `report` as one SARIF 2.1.0 log.
pub fn write_report(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let results: Vec<Value> = report.findings.iter().map(result).collect();
    let log = log(json!({ "tool": tool(), "results": results }));
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Writes the SARIF log of a run that failed (exit code 2): no results, and an invocation with
/// `executionSuccessful: false` whose error notification carries `message` (already redacted),
/// so that an upload never gets an empty file nor one that reads as a clean scan.
pub fn write_error(out: &mut dyn Write, message: &str) -> io::Result<()> {
    let log = log(json!({
        "tool": tool(),
        "invocations": [{
            "executionSuccessful": false,
            "exitCode": crate::EXIT_ERROR,
            "toolExecutionNotifications": [{
                "level": "error",
                "message": { "text": message },
            }],
        }],
        "results": [],
    }));
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Where SARIF consumers send a reader to learn about the tool: Cargo.toml's `homepage`, else
/// its `repository`, else the package's page on crates.io.
fn information_uri() -> &'static str {
    const FALLBACK: &str = concat!("https://crates.io/crates/", env!("CARGO_PKG_NAME"));
    [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|uri| !uri.is_empty())
        .unwrap_or(FALLBACK)
}

/// A SARIF 2.1.0 log with one run.
fn log(run: Value) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}

/// The `tool` object: cio-hook and every rule it has.
fn tool() -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.name,
                "shortDescription": { "text": rule.name },
                "help": { "text": HELP },
                "defaultConfiguration": { "level": "error" },
                "properties": {
                    "tags": ["security", "secret", "crates.io"],
                    "security-severity": "9.0",
                    "precision": match rule.confidence {
                        crate::detect::Confidence::High => "very-high",
                        crate::detect::Confidence::Medium => "high",
                    },
                },
            })
        })
        .collect();
    json!({
        "driver": {
            "name": "cio-hook",
            "version": env!("CARGO_PKG_VERSION"),
            "informationUri": information_uri(),
            "rules": rules,
        }
    })
}

fn result(finding: &Finding) -> Value {
    let rule_index = RULES
        .iter()
        .position(|rule| rule.id == finding.rule.id)
        .unwrap_or(0);
    // A token in the path itself has no region: the artifact's location is the finding's.
    let region = match (finding.line, finding.column, finding.offset) {
        (Some(line), Some(column), _) => Some(json!({ "startLine": line, "startColumn": column })),
        (_, _, Some(offset)) => Some(json!({ "byteOffset": offset })),
        _ => None,
    };
    let mut message = format!("{} {}", finding.kind(), finding.token);
    if let Some(commit) = &finding.commit {
        message.push_str(&format!(
            " in commit {} ({})",
            commit.short_oid(),
            commit.subject
        ));
    }
    if let Some(packaged) = &finding.packaged {
        message.push_str(&format!(
            " in package {} {} ({}: {})",
            packaged.package, packaged.version, packaged.file, packaged.why
        ));
    }
    let mut result = json!({
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": if matches!(finding.status, Status::Placeholder) { "note" } else { "error" },
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri_reference(finding.real_path()) },
            }
        }],
        "partialFingerprints": { "cioHookSecret/v1": finding.fingerprint },
        "properties": { "fingerprint": finding.fingerprint, "redacted": finding.token },
    });
    let suppression = match &finding.status {
        Status::Allowed { by, reason } => Some(json!({
            "kind": "external",
            "justification": format!("{reason} ({by})"),
        })),
        Status::AllowedInline => Some(json!({
            "kind": "inSource",
            "justification": "marked `cio-hook: allow` on the line",
        })),
        _ => None,
    };
    if let Some(region) = region {
        result["locations"][0]["physicalLocation"]["region"] = region;
    }
    if let Some(suppression) = suppression {
        result["suppressions"] = json!([suppression]);
    }
    if let Some(commit) = &finding.commit {
        result["properties"]["commit"] = json!(commit.oid);
    }
    if let Some(packaged) = &finding.packaged {
        result["properties"]["packaged"] = json!(packaged);
    }
    result
}

/// A repository path's bytes as a relative URI reference: unreserved characters and `/` as they
/// are, every other byte percent-encoded (spaces, a newline as `%0A`, a backslash as `%5C`,
/// non-ASCII and non-UTF-8 bytes, the parentheses of message labels).
fn uri_reference(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &byte in path {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_reference(b"src/a b.rs"), "src/a%20b.rs");
        assert_eq!(uri_reference(b"(commit message)"), "%28commit%20message%29");
        assert_eq!(uri_reference("é".as_bytes()), "%C3%A9");
        assert_eq!(uri_reference(b"a\nb"), "a%0Ab");
        assert_eq!(uri_reference(b"a\\nb"), "a%5Cnb");
        assert_eq!(uri_reference(b"lat\xe9"), "lat%E9");
    }
}
