//! `.ciokeyignore.toml`: the allowlist that lets a known, harmless token through.
//!
//! ```toml
//! [[allow]]
//! fingerprint = "sha256:9f86d08…"   # or: path = "tests/fixtures/**"  or: pattern = "^cio_tp_"
//! reason = "revoked token kept as a parser fixture"
//! expires = 2027-01-31              # optional: the entry stops applying after this day
//! ```
//!
//! Every entry has exactly one selector and a reason; unknown keys are errors, so a typo cannot
//! silently widen or narrow what is allowed.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;
use serde::Deserialize;

/// The allowlist's file name at the root of a repository's working tree.
pub const FILE_NAME: &str = ".ciokeyignore.toml";

/// A calendar day, ordered by date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Day {
    /// Today in UTC, from the system clock.
    pub fn today() -> Day {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0);
        Day::from_days_since_epoch((seconds / 86_400) as i64)
    }

    /// The civil date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    fn from_days_since_epoch(days: i64) -> Day {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Day {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        }
    }
}

impl std::str::FromStr for Day {
    type Err = String;

    /// Parses `YYYY-MM-DD`.
    fn from_str(text: &str) -> Result<Day, String> {
        let invalid = || format!("{text:?} is not a date such as 2027-01-31");
        let parts: Vec<&str> = text.split('-').collect();
        let [year, month, day] = parts[..] else {
            return Err(invalid());
        };
        let day = Day {
            year: year.parse().map_err(|_| invalid())?,
            month: month.parse().map_err(|_| invalid())?,
            day: day.parse().map_err(|_| invalid())?,
        };
        let valid = year.len() == 4 && (1..=12).contains(&day.month) && (1..=31).contains(&day.day);
        valid.then_some(day).ok_or_else(invalid)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

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

/// What an entry selects.
#[derive(Debug)]
pub enum Selector {
    /// `sha256:` and the lowercase hex SHA-256 of the token text.
    Fingerprint(String),
    /// A gitignore-style glob over the path relative to the repository root.
    Path(GlobMatcher, GlobMatcher),
    /// A regular expression searched for in the token text.
    Pattern(Regex),
}

/// One `[[allow]]` entry.
#[derive(Debug)]
pub struct Entry {
    pub selector: Selector,
    pub reason: String,
    pub expires: Option<Day>,
    /// Where the entry starts, for reports: `FILE:LINE`.
    pub origin: String,
}

impl Entry {
    /// Whether this entry selects a token with the given text, fingerprint and path.
    fn selects(&self, path: &Path, token: &[u8], fingerprint: &str) -> bool {
        match &self.selector {
            Selector::Fingerprint(wanted) => wanted == fingerprint,
            Selector::Path(exact, below) => exact.is_match(path) || below.is_match(path),
            Selector::Pattern(regex) => std::str::from_utf8(token).is_ok_and(|t| regex.is_match(t)),
        }
    }

    /// Whether the entry is past its expiry date on `today`.
    pub fn is_expired(&self, today: Day) -> bool {
        self.expires.is_some_and(|expires| today > expires)
    }
}

/// What the allowlist says of one finding.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// No entry selects it.
    NotListed,
    /// A live entry lets it through.
    Allowed(&'a Entry),
    /// Only expired entries select it; it blocks, and the report names the entry.
    Expired(&'a Entry),
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.origin == other.origin
    }
}
impl Eq for Entry {}

/// The parsed allowlist.
#[derive(Debug, Default)]
pub struct Allowlist {
    pub entries: Vec<Entry>,
    today: Option<Day>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    allow: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    fingerprint: Option<String>,
    path: Option<String>,
    pattern: Option<String>,
    reason: Option<String>,
    expires: Option<toml::value::Datetime>,
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
        let raw: RawFile = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |span| span.start);
            error_at(offset, err.message().trim().to_string())
        })?;
        let mut entries = Vec::with_capacity(raw.allow.len());
        for spanned in raw.allow {
            let offset = spanned.span().start;
            let entry = spanned.into_inner();
            let origin = format!("{}:{}", path.display(), line_and_column(text, offset).0);
            let fail = |message: &str| error_at(offset, format!("[[allow]] entry: {message}"));
            let selector = match (entry.fingerprint, entry.path, entry.pattern) {
                (Some(fingerprint), None, None) => parse_fingerprint(&fingerprint)
                    .ok_or_else(|| fail("fingerprint must be \"sha256:\" and 64 hex digits"))?,
                (None, Some(glob), None) => parse_glob(&glob)
                    .map_err(|err| fail(&format!("invalid path glob {glob:?}: {err}")))?,
                (None, None, Some(pattern)) => Selector::Pattern(
                    Regex::new(&pattern).map_err(|err| fail(&format!("invalid pattern: {err}")))?,
                ),
                _ => return Err(fail("needs exactly one of fingerprint, path or pattern")),
            };
            let reason = entry
                .reason
                .filter(|reason| !reason.trim().is_empty())
                .ok_or_else(|| fail("missing reason: say why this token may be committed"))?;
            let expires = entry
                .expires
                .map(|datetime| match (datetime.date, datetime.time) {
                    (Some(date), None) => Ok(Day {
                        year: date.year,
                        month: date.month,
                        day: date.day,
                    }),
                    _ => Err(fail("expires must be a date such as 2027-01-31")),
                })
                .transpose()?;
            entries.push(Entry {
                selector,
                reason,
                expires,
                origin,
            });
        }
        Ok(Allowlist {
            entries,
            today: None,
        })
    }

    /// Judges entries' expiry against `today` instead of the system clock.
    pub fn with_today(mut self, today: Day) -> Allowlist {
        self.today = Some(today);
        self
    }

    /// What the allowlist says of a token found at `path`.
    pub fn verdict(&self, path: &Path, token: &[u8], fingerprint: &str) -> Verdict<'_> {
        let today = self.today.unwrap_or_else(Day::today);
        let mut expired = None;
        for entry in self
            .entries
            .iter()
            .filter(|entry| entry.selects(path, token, fingerprint))
        {
            if !entry.is_expired(today) {
                return Verdict::Allowed(entry);
            }
            expired.get_or_insert(entry);
        }
        expired.map_or(Verdict::NotListed, Verdict::Expired)
    }
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
    use anyhow::Context;
    use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

    if parse_fingerprint(fingerprint).is_none() {
        anyhow::bail!(
            "{} is not a fingerprint: pass the \"sha256:…\" value a report prints, never the token",
            crate::redact::redact_text(fingerprint.as_bytes())
        );
    }
    if reason.trim().is_empty() {
        anyhow::bail!("an allowlist entry needs a reason: --reason \"why this is safe\"");
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    Allowlist::parse(&existing, path)?;
    // The entry is rendered on its own and appended as text, so every byte already in the file
    // (comments, order, spacing) stays as it was.
    let mut entry = Table::new();
    entry["fingerprint"] = value(fingerprint.to_ascii_lowercase());
    entry["reason"] = value(reason.trim());
    if let Some(day) = expires {
        let date = toml_edit::Date {
            year: day.year,
            month: day.month,
            day: day.day,
        };
        entry["expires"] = value(toml_edit::Datetime {
            date: Some(date),
            time: None,
            offset: None,
        });
    }
    let mut snippet = DocumentMut::new();
    let mut entries = ArrayOfTables::new();
    entries.push(entry);
    snippet.insert("allow", Item::ArrayOfTables(entries));
    let mut text = existing;
    if !text.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
    }
    text.push_str(&snippet.to_string());
    Allowlist::parse(&text, path)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn parse_fingerprint(text: &str) -> Option<Selector> {
    let hex = text.strip_prefix("sha256:")?;
    let well_formed = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| Selector::Fingerprint(format!("sha256:{}", hex.to_ascii_lowercase())))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Allowlist, ConfigError> {
        Allowlist::parse(text, Path::new(".ciokeyignore.toml"))
    }

    const FINGERPRINT: &str =
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn days_come_from_the_epoch_day_count() {
        assert_eq!(Day::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(Day::from_days_since_epoch(19_782).to_string(), "2024-02-29");
        assert_eq!(Day::from_days_since_epoch(20_780).to_string(), "2026-11-23");
    }

    #[test]
    fn each_selector_selects() {
        let list = parse(&format!(
            "[[allow]]\nfingerprint = \"{FINGERPRINT}\"\nreason = \"a\"\n\
             [[allow]]\npath = \"/fixtures/\"\nreason = \"b\"\n\
             [[allow]]\npath = \"*.snap\"\nreason = \"c\"\n\
             [[allow]]\npattern = \"^cio_tp_\"\nreason = \"d\"\n"
        ))
        .unwrap();
        let reason = |path: &str, token: &[u8], fingerprint: &str| match list.verdict(
            Path::new(path),
            token,
            fingerprint,
        ) {
            Verdict::Allowed(entry) => entry.reason.clone(),
            other => format!("{other:?}"),
        };
        assert_eq!(reason("src/a.rs", b"x", FINGERPRINT), "a");
        assert_eq!(reason("fixtures/deep/a.txt", b"x", "sha256:0"), "b");
        assert_eq!(
            reason("tests/fixtures/a.txt", b"x", "sha256:0"),
            "NotListed"
        );
        assert_eq!(reason("tests/x/out.snap", b"x", "sha256:0"), "c");
        assert_eq!(reason("src/a.rs", b"cio_tp_abc", "sha256:0"), "d");
        assert_eq!(reason("src/a.rs", b"cioabc", "sha256:0"), "NotListed");
    }

    #[test]
    fn expired_entries_stop_applying_the_day_after() {
        let list = parse("[[allow]]\npath = \"a\"\nreason = \"r\"\nexpires = 2026-01-31\n")
            .unwrap()
            .with_today(Day {
                year: 2026,
                month: 1,
                day: 31,
            });
        assert!(matches!(
            list.verdict(Path::new("a"), b"", ""),
            Verdict::Allowed(_)
        ));
        let list = list.with_today(Day {
            year: 2026,
            month: 2,
            day: 1,
        });
        assert!(matches!(
            list.verdict(Path::new("a"), b"", ""),
            Verdict::Expired(_)
        ));
    }

    #[test]
    fn appended_entries_keep_comments_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            "# team policy: fixtures only\n\n[[allow]]\npath = \"a\"\nreason = \"r\"\n",
        )
        .unwrap();
        let expires = "2030-02-01".parse().unwrap();
        append_fingerprint_entry(&path, FINGERPRINT, "fixture", Some(expires)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# team policy: fixtures only\n"), "{text}");
        assert!(text.contains("expires = 2030-02-01"), "{text}");
        assert_eq!(Allowlist::parse(&text, &path).unwrap().entries.len(), 2);
        assert!(append_fingerprint_entry(&path, FINGERPRINT, " ", None).is_err());
        assert!(append_fingerprint_entry(&path, "cio123", "r", None).is_err());
        assert!("2030-13-01".parse::<Day>().is_err());
    }

    #[test]
    fn mistakes_are_errors_with_a_location() {
        for (text, line, needle) in [
            ("[[allow]]\npath = \"a\"\n", 1, "missing reason"),
            (
                "[[allow]]\npath = \"a\"\nreason = \"\"\n",
                1,
                "missing reason",
            ),
            (
                "\n[[allow]]\npath = \"a\"\nreson = \"r\"\n",
                4,
                "unknown field",
            ),
            (
                "[[allow]]\npath = \"a\"\npattern = \"b\"\nreason = \"r\"\n",
                1,
                "exactly one",
            ),
            ("[[allow]]\nreason = \"r\"\n", 1, "exactly one"),
            (
                "[[allow]]\nfingerprint = \"cio123\"\nreason = \"r\"\n",
                1,
                "fingerprint must",
            ),
            (
                "[[allow]]\npattern = \"(\"\nreason = \"r\"\n",
                1,
                "invalid pattern",
            ),
            ("[[allow]\npath = 1\n", 1, ""),
            ("allow = 3\n", 1, ""),
            ("[other]\n", 1, "unknown field"),
            (
                "[[allow]]\npath = \"a\"\nreason = \"r\"\nexpires = \"soon\"\n",
                4,
                "",
            ),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.message.contains(needle), "{text:?}: {err}");
            assert!(err.to_string().starts_with(".ciokeyignore.toml:"), "{err}");
        }
    }
}
