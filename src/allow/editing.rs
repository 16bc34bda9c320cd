//! Appending entries to `.ciokeyignore.toml` (`allow`, `baseline`), keeping every byte already
//! in the file.

use std::path::Path;

use super::file::parse_fingerprint;
use super::guards::{fingerprint_mistake, is_bare_sha256};
use super::{Allowlist, Day, Selector};

/// A fingerprint entry to append to an allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// `sha256:…`, never the token.
    pub fingerprint: String,
    pub reason: String,
    pub expires: Option<Day>,
    /// Set by `cio-hook baseline`: the day the entry was written.
    pub baseline: Option<Day>,
    /// A one-line comment written above the entry (where the token was found, say).
    pub comment: Option<String>,
}

/// Appends a `[[allow]]` entry by fingerprint to the allowlist at `path` (created when missing),
/// keeping the file's comments and formatting. The result is parsed before it is written, so a
/// file that would not load is never produced.
pub fn append_fingerprint_entry(
    path: &Path,
    fingerprint: &str,
    reason: &str,
    expires: Option<Day>,
) -> anyhow::Result<()> {
    append_fingerprint_entries(
        path,
        &[NewEntry {
            fingerprint: fingerprint.to_string(),
            reason: reason.to_string(),
            expires,
            baseline: None,
            comment: None,
        }],
    )
}

/// Appends fingerprint entries to the allowlist at `path` (created when missing) in one write,
/// keeping every byte already there. The result is parsed before it is written.
pub fn append_fingerprint_entries(path: &Path, entries: &[NewEntry]) -> anyhow::Result<()> {
    use anyhow::Context;

    for entry in entries {
        let fingerprint = entry.fingerprint.as_str();
        if parse_fingerprint(fingerprint).is_none() {
            if is_bare_sha256(fingerprint) {
                anyhow::bail!("{}", fingerprint_mistake(fingerprint));
            }
            anyhow::bail!(
                "{} is not a fingerprint: pass the \"sha256:…\" value a report prints, never the token",
                crate::redact::redact_text(fingerprint.as_bytes())
            );
        }
        if entry.reason.trim().is_empty() {
            anyhow::bail!("an allowlist entry needs a reason: --reason \"why this is safe\"");
        }
        if super::is_template_reason(&entry.reason) {
            anyhow::bail!(
                "--reason \"{}\" is the template's wording: say why this token may be committed \
                 (\"revoked test fixture\", say)",
                super::TEMPLATE_REASON
            );
        }
        if let Some(day) = entry.expires.filter(|&day| day < Day::today()) {
            anyhow::bail!(
                "--expires {day} is in the past: the entry would never apply; give a later date"
            );
        }
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let current = Allowlist::parse(&existing, path)?;
    for entry in entries {
        let wanted = entry.fingerprint.to_ascii_lowercase();
        let same = current.entries.iter().find(
            |listed| matches!(&listed.selector, Selector::Fingerprint(listed) if *listed == wanted),
        );
        if let Some(listed) = same {
            anyhow::bail!(
                "{wanted} is already allowed by {}; edit that entry instead",
                listed.origin
            );
        }
    }
    // Entries are rendered on their own and appended as text, so every byte already in the file
    // (comments, order, spacing) stays as it was.
    let mut text = existing;
    for entry in entries {
        if !text.is_empty() {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push('\n');
        }
        if let Some(comment) = &entry.comment {
            text.push_str(&format!("# {}\n", comment.replace(['\n', '\r'], " ")));
        }
        text.push_str(&render_entry(entry));
    }
    Allowlist::parse(&text, path)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// One `[[allow]]` table as TOML text, values escaped by toml_edit.
fn render_entry(new: &NewEntry) -> String {
    use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

    let date = |day: Day| {
        value(toml_edit::Datetime {
            date: Some(toml_edit::Date {
                year: day.year(),
                month: day.month(),
                day: day.day(),
            }),
            time: None,
            offset: None,
        })
    };
    let mut entry = Table::new();
    entry["fingerprint"] = value(new.fingerprint.to_ascii_lowercase());
    entry["reason"] = value(new.reason.trim());
    if let Some(day) = new.expires {
        entry["expires"] = date(day);
    }
    if let Some(day) = new.baseline {
        entry["baseline"] = date(day);
    }
    let mut snippet = DocumentMut::new();
    let mut entries = ArrayOfTables::new();
    entries.push(entry);
    snippet.insert("allow", Item::ArrayOfTables(entries));
    snippet.to_string()
}
