//! Loading and validating `.ciokeyignore.toml`: serde types that reject unknown keys, and the
//! checks each entry must pass, each failure located to its line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::GlobBuilder;
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::guards::{catch_all_path, fingerprint_mistake, pattern_problem, secret_in};
use super::{normalized_fingerprint, Allowlist, Day, Entry, Selector};

/// A problem in an allowlist file, located to the line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    allow: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    fingerprint: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    pattern: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<toml::value::Datetime>,
    baseline: Option<toml::value::Datetime>,
}

impl Allowlist {
    /// Reads the allowlist at `path`, named `shown_as` in messages and entry origins; a missing
    /// file is an empty allowlist only when `required` is false.
    pub fn load(path: &Path, shown_as: &Path, required: bool) -> anyhow::Result<Allowlist> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|err| ConfigError {
                    path: shown_as.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: format!("not valid UTF-8 ({err})"),
                })?;
                Ok(Allowlist::parse(&text, shown_as)?)
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Allowlist::default())
            }
            Err(err) => {
                Err(anyhow::Error::new(err).context(format!("reading {}", shown_as.display())))
            }
        }
    }

    /// Parses allowlist text; `path` is only used in error messages and entry origins.
    pub fn parse(text: &str, path: &Path) -> Result<Allowlist, ConfigError> {
        let error_at = |offset: usize, message: String| {
            let (line, column) = line_and_column(text, offset);
            ConfigError {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        // Before anything else: a token anywhere in the file (comments included) has leaked
        // into a shared file, whether or not the rest of it parses.
        if let Some((offset, message)) = secret_in(text) {
            return Err(error_at(offset, message));
        }
        let raw: RawFile = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |span| span.start);
            error_at(offset, err.message().trim().to_string())
        })?;
        let mut entries = Vec::with_capacity(raw.allow.len());
        for spanned in raw.allow {
            let offset = spanned.span().start;
            let entry = spanned.into_inner();
            let origin = format!("{}:{}", path.display(), line_and_column(text, offset).0);
            let fail_at =
                |at: usize, message: &str| error_at(at, format!("[[allow]] entry: {message}"));
            let fail = |message: &str| fail_at(offset, message);
            // Values as TOML decoded them: escapes such as `\u0063io…` cannot hide a token.
            for value in [
                &entry.fingerprint,
                &entry.path,
                &entry.pattern,
                &entry.reason,
            ]
            .into_iter()
            .flatten()
            {
                if let Some((_, message)) = secret_in(value.get_ref()) {
                    return Err(error_at(value.span().start, message));
                }
            }
            let selector = match (entry.fingerprint, entry.path, entry.pattern) {
                (Some(fingerprint), None, None) => parse_fingerprint(fingerprint.get_ref())
                    .ok_or_else(|| {
                        let mistake = fingerprint_mistake(fingerprint.get_ref());
                        fail_at(fingerprint.span().start, &mistake)
                    })?,
                (None, Some(glob), None) => {
                    let at = glob.span().start;
                    let glob = glob.into_inner();
                    let selector = parse_glob(&glob)
                        .map_err(|err| fail(&format!("invalid path glob {glob:?}: {err}")))?;
                    if let Some(problem) = catch_all_path(&glob, &selector) {
                        return Err(fail_at(at, &problem));
                    }
                    selector
                }
                (None, None, Some(pattern)) => {
                    let at = pattern.span().start;
                    let pattern = pattern.into_inner();
                    let regex = Regex::new(&pattern)
                        .map_err(|err| fail(&format!("invalid pattern: {err}")))?;
                    if let Some(problem) = pattern_problem(&pattern, &regex) {
                        return Err(fail_at(at, &problem));
                    }
                    Selector::Pattern(regex)
                }
                _ => return Err(fail("needs exactly one of fingerprint, path or pattern")),
            };
            let reason = entry
                .reason
                .map(Spanned::into_inner)
                .filter(|reason| !reason.trim().is_empty())
                .ok_or_else(|| fail("missing reason: say why this token may be committed"))?;
            let day = |datetime: toml::value::Datetime, key: &str| {
                let wrong = || fail(&format!("{key} must be a date such as 2027-01-31"));
                match (datetime.date, datetime.time) {
                    (Some(date), None) => {
                        Day::new(date.year, date.month, date.day).ok_or_else(wrong)
                    }
                    _ => Err(wrong()),
                }
            };
            let expires = entry
                .expires
                .map(|datetime| day(datetime, "expires"))
                .transpose()?;
            let baseline = entry
                .baseline
                .map(|datetime| day(datetime, "baseline"))
                .transpose()?;
            entries.push(Entry {
                selector,
                reason,
                expires,
                baseline,
                origin,
            });
        }
        Ok(Allowlist {
            entries,
            today: None,
        })
    }
}

pub(super) fn parse_fingerprint(text: &str) -> Option<Selector> {
    normalized_fingerprint(text).map(Selector::Fingerprint)
}

/// Builds matchers with gitignore's anchoring rules: a glob without a slash matches at any depth,
/// a leading slash anchors it at the root, and a match on a directory covers everything below it.
fn parse_glob(glob: &str) -> Result<Selector, globset::Error> {
    let trimmed = glob.trim_end_matches('/');
    let anchored = match trimmed.strip_prefix('/') {
        Some(rest) => rest.to_string(),
        None if trimmed.contains('/') => trimmed.to_string(),
        None => format!("**/{trimmed}"),
    };
    let build = |pattern: &str| {
        GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map(|glob| glob.compile_matcher())
    };
    Ok(Selector::Path(
        build(&anchored)?,
        build(&format!("{anchored}/**"))?,
    ))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}
