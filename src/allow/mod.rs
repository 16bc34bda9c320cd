//! `.ciokeyignore.toml`: the allowlist that lets a known, harmless token through.
//!
//! ```toml
//! [[allow]]
//! fingerprint = "sha256:9f86d08…"   # or: path = "tests/fixtures/**"  or: pattern = "^cio_tp_"
//! reason = "revoked token kept as a parser fixture"
//! expires = 2027-01-31              # optional: the entry stops applying after this day
//! baseline = 2026-11-23             # optional: written by `cio-hook baseline` on that day
//! ```
//!
//! Every entry has exactly one selector and a reason; unknown keys are errors, so a typo cannot
//! silently widen or narrow what is allowed. The file is committed and shared, so it may never
//! hold a token itself (in any entry, comment or escaped form), and an entry that would let every
//! token through (`pattern = ""`, `path = "*"`, …) is refused when the file is loaded.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::detect::{candidate_lines, find_in_line, FileHint};
use crate::redact::{fingerprint, redact_token};

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
    pub(crate) fn from_days_since_epoch(days: i64) -> Day {
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

impl Selector {
    /// The selector as written in the file (normalised), to tell duplicate entries apart.
    pub fn describe(&self) -> String {
        match self {
            Selector::Fingerprint(fingerprint) => format!("fingerprint = {fingerprint:?}"),
            Selector::Path(exact, _) => format!("path = {:?}", exact.glob().glob()),
            Selector::Pattern(regex) => format!("pattern = {:?}", regex.as_str()),
        }
    }
}

/// One `[[allow]]` entry.
#[derive(Debug)]
pub struct Entry {
    pub selector: Selector,
    pub reason: String,
    pub expires: Option<Day>,
    /// The day `cio-hook baseline` wrote the entry for a token already in history.
    pub baseline: Option<Day>,
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

    /// The reason as reports show it: baselined entries say so first.
    pub fn shown_reason(&self) -> String {
        match self.baseline {
            Some(day) => format!("baseline of {day}: {}", self.reason),
            None => self.reason.clone(),
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
            let day =
                |datetime: toml::value::Datetime, key: &str| match (datetime.date, datetime.time) {
                    (Some(date), None) => Ok(Day {
                        year: date.year,
                        month: date.month,
                        day: date.day,
                    }),
                    _ => Err(fail(&format!("{key} must be a date such as 2027-01-31"))),
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

    /// Pairs of entries with the same selector: each later entry with the first one like it.
    pub fn duplicates(&self) -> Vec<(&Entry, &Entry)> {
        let mut first_seen: std::collections::HashMap<String, &Entry> = Default::default();
        let mut duplicates = Vec::new();
        for entry in &self.entries {
            match first_seen.entry(entry.selector.describe()) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    duplicates.push((entry, *first.get()));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(entry);
                }
            }
        }
        duplicates
    }

    /// Judges entries' expiry against `today` instead of the system clock.
    pub fn with_today(mut self, today: Day) -> Allowlist {
        self.today = Some(today);
        self
    }

    /// What the allowlist says of a token found at `path`. A token in an allowlist file itself is
    /// never allowed: that file is shared with everyone who clones the repository.
    pub fn verdict(&self, path: &Path, token: &[u8], fingerprint: &str) -> Verdict<'_> {
        if is_allowlist_file(path) {
            return Verdict::NotListed;
        }
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
                year: day.year,
                month: day.month,
                day: day.day,
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

/// Whether `path` (relative to the repository root) is an allowlist file, at any depth.
pub fn is_allowlist_file(path: &Path) -> bool {
    path.file_name() == Some(std::ffi::OsStr::new(FILE_NAME))
}

/// The first secret the detector finds in `text` that is not an obvious placeholder: its byte
/// offset, and a message that names it redacted and says what to write instead.
fn secret_in(text: &str) -> Option<(usize, String)> {
    for (_, line) in candidate_lines(text.as_bytes()) {
        let line_start = line.as_ptr() as usize - text.as_ptr() as usize;
        let found = find_in_line(line, FileHint::default())
            .into_iter()
            .find(|detection| !detection.placeholder);
        if let Some(detection) = found {
            let message = secret_message(detection.rule.name, &detection.secret);
            return Some((line_start + detection.start, message));
        }
    }
    None
}

fn secret_message(kind: &str, secret: &[u8]) -> String {
    format!(
        "holds a {kind} ({}): the allowlist is shared with the repository, so it must never \
         contain a secret; remove it and allow the token by its fingerprint instead: \
         fingerprint = \"{}\"",
        redact_token(secret),
        fingerprint(secret)
    )
}

/// `sha256:` plus 64 hex digits with the prefix left out.
fn is_bare_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What is wrong with a fingerprint that does not parse.
fn fingerprint_mistake(text: &str) -> String {
    if is_bare_sha256(text) {
        format!(
            "fingerprint must start with \"sha256:\": did you mean \"sha256:{}\"?",
            text.to_ascii_lowercase()
        )
    } else {
        "fingerprint must be \"sha256:\" and 64 hex digits".to_string()
    }
}

/// Why a path glob is refused: it is empty, or it selects every file (then it would switch the
/// check off for the whole repository).
fn catch_all_path(glob: &str, selector: &Selector) -> Option<String> {
    const SAMPLE_PATHS: [&str; 6] = [
        "a",
        "README.md",
        ".env",
        "src/main.rs",
        ".cargo/credentials.toml",
        "tests/fixtures/deep/token.txt",
    ];
    let Selector::Path(exact, below) = selector else {
        return None;
    };
    if glob.trim_matches('/').trim().is_empty() {
        return Some(format!("path {glob:?} is empty: name the files to allow"));
    }
    let selects_all = SAMPLE_PATHS
        .iter()
        .all(|path| exact.is_match(path) || below.is_match(path));
    selects_all.then(|| {
        format!(
            "path {glob:?} matches every file, which would switch the check off; name a \
             directory or file (path = \"tests/fixtures/\"), or allow tokens by fingerprint"
        )
    })
}

/// Why a pattern is refused: it holds a token (the token would then be committed in the
/// allowlist), looks like a fingerprint, or matches every token.
fn pattern_problem(pattern: &str, regex: &Regex) -> Option<String> {
    if let Some(secret) = secret_in_pattern(pattern) {
        return Some(secret);
    }
    let hex = pattern.strip_prefix("sha256:").unwrap_or(pattern);
    if is_bare_sha256(hex) {
        return Some(format!(
            "a pattern is searched in the token text, not its hash: did you mean \
             fingerprint = \"sha256:{}\"?",
            hex.to_ascii_lowercase()
        ));
    }
    let why = if regex.is_match("") {
        "matches the empty string, so it matches every token"
    } else {
        let (api_tokens, trusted_publishing_tokens) = sample_tokens();
        if api_tokens.iter().all(|token| regex.is_match(token)) {
            if trusted_publishing_tokens
                .iter()
                .all(|token| regex.is_match(token))
            {
                "matches every token"
            } else {
                "matches every crates.io API token"
            }
        } else {
            return None;
        }
    };
    Some(format!(
        "pattern {pattern:?} {why}, which would switch the check off; allow tokens by \
         fingerprint, or narrow the pattern (pattern = \"^cio_tp_\" selects only Trusted \
         Publishing tokens)"
    ))
}

/// A token spelled out in a regex through escapes or one-character classes (`cio\x41…`,
/// `cio[A]…`): the literal strings the pattern must match are checked for secrets.
fn secret_in_pattern(pattern: &str) -> Option<String> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::parse(pattern).ok()?;
    [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            let mut extractor = Extractor::new();
            extractor.kind(kind).limit_total(4096);
            extractor.extract(&hir).literals().map(<[_]>::to_vec)
        })
        .flatten()
        .find_map(|literal| {
            let text = String::from_utf8_lossy(literal.as_bytes()).into_owned();
            secret_in(&text).map(|(_, message)| message)
        })
}

/// Made-up tokens of both kinds (generated here, never written down anywhere) against which a
/// pattern is tried: one that matches all of them lets every token through.
fn sample_tokens() -> (Vec<String>, Vec<String>) {
    use sha2::{Digest, Sha256};
    const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const SAMPLES: u8 = 16;
    // Each body is a hash of its index, mapped onto the alphabet: deterministic and varied.
    let body = |seed: u8, len: usize| -> String {
        Sha256::digest([seed])[..len]
            .iter()
            .map(|&byte| ALPHANUMERIC[usize::from(byte) % ALPHANUMERIC.len()] as char)
            .collect()
    };
    let api_tokens = (0..SAMPLES)
        .map(|seed| format!("{}{}", "cio", body(seed, 32)))
        .collect();
    let trusted_publishing_tokens = (SAMPLES..2 * SAMPLES)
        .map(|seed| {
            let random = body(seed, 31);
            let checksum = crate::detect::rules::trusted_publishing_checksum(random.as_bytes());
            format!("{}{random}{}", "cio_tp_", checksum as char)
        })
        .collect();
    (api_tokens, trusted_publishing_tokens)
}

fn parse_fingerprint(text: &str) -> Option<Selector> {
    normalized_fingerprint(text).map(Selector::Fingerprint)
}

/// `sha256:` and 64 lowercase hex digits, from a fingerprint in either case; `None` for anything
/// else (a token pasted by mistake, say).
pub fn normalized_fingerprint(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:")?;
    let well_formed = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
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
                2,
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

    /// A made-up API token from the pattern samples (generated, never written down).
    fn token() -> String {
        sample_tokens().0.remove(3)
    }

    fn base64(data: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        data.chunks(3)
            .flat_map(|chunk| {
                let bits = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
                (0..=chunk.len())
                    .map(move |i| ALPHABET[(bits >> (18 - 6 * i) & 63) as usize] as char)
            })
            .collect()
    }

    #[test]
    fn a_token_anywhere_in_the_file_is_refused_without_being_echoed() {
        let token = token();
        let hex = token
            .bytes()
            .map(|b| format!("\\\\x{b:02x}"))
            .collect::<String>();
        let one_char_classes = token.chars().map(|c| format!("[{c}]")).collect::<String>();
        let toml_escaped = format!("\\u0063{}", &token[1..]);
        for (text, line, column) in [
            (
                format!("[[allow]]\npattern = \"^{token}$\"\nreason = \"r\"\n"),
                2,
                13,
            ),
            (
                format!("[[allow]]\npath = \"{token}.txt\"\nreason = \"r\"\n"),
                2,
                9,
            ),
            (
                format!("[[allow]]\npath = \"a\"\nreason = \"it is {token}\"\n"),
                3,
                17,
            ),
            (
                format!("# {token}\n[[allow]]\npath = \"a\"\nreason = \"r\"\n"),
                1,
                3,
            ),
            (
                format!("[[allow]]\npath = \"a\"\nreason = \"{toml_escaped}\"\n"),
                3,
                10,
            ),
            (
                format!("[[allow]]\npattern = \"{hex}\"\nreason = \"r\"\n"),
                2,
                1,
            ),
            (
                format!("[[allow]]\npattern = \"\\\\b{token}\\\\b\"\nreason = \"r\"\n"),
                2,
                1,
            ),
            (
                format!("[[allow]]\npattern = '{one_char_classes}'\nreason = \"r\"\n"),
                2,
                1,
            ),
            (
                format!(
                    "[[allow]]\npath = \"a\"\nreason = \"{}\"\n",
                    base64(format!("token: {token}").as_bytes())
                ),
                3,
                11,
            ),
            (format!("[[allow]\n# {token}\n"), 2, 3),
        ] {
            let err = parse(&text).expect_err(&text);
            let shown = err.to_string();
            assert!(!shown.contains(&token), "{shown}");
            assert!(shown.contains("must never contain a secret"), "{shown}");
            assert!(shown.contains(&fingerprint(token.as_bytes())), "{shown}");
            assert_eq!(err.line, line, "{shown}");
            if column > 1 {
                assert_eq!(err.column, column, "{shown}");
            }
        }
        let placeholder = ["cio", &"x".repeat(32)].concat();
        parse(&format!(
            "[[allow]]\npattern = \"^{placeholder}$\"\nreason = \"r\"\n"
        ))
        .unwrap();
    }

    #[test]
    fn catch_all_entries_are_refused_with_the_reason() {
        for (selector, needle) in [
            ("pattern = \"\"", "matches the empty string"),
            ("pattern = \".*\"", "matches the empty string"),
            ("pattern = \"^\"", "matches the empty string"),
            ("pattern = \"x?\"", "matches the empty string"),
            ("pattern = \".\"", "matches every token"),
            ("pattern = \"cio\"", "matches every token"),
            ("pattern = \"(?i)C\"", "matches every token"),
            ("pattern = \"[A-Z]\"", "matches every token"),
            ("pattern = \"^cio[A-Za-z0-9]{32}$\"", "matches every crates.io API token"),
            ("path = \"\"", "is empty"),
            ("path = \"/\"", "is empty"),
            ("path = \"*\"", "matches every file"),
            ("path = \"**\"", "matches every file"),
            ("path = \"/**\"", "matches every file"),
            ("path = \"**/*\"", "matches every file"),
            ("path = \"*/\"", "matches every file"),
            ("path = \"{*,.*}\"", "matches every file"),
            ("fingerprint = \"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"", "did you mean \"sha256:2cf24dba"),
            ("pattern = \"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"", "did you mean fingerprint = \"sha256:2cf24dba"),
        ] {
            let text = format!("[[allow]]\n{selector}\nreason = \"r\"\n");
            let err = parse(&text).expect_err(&text);
            assert!(err.message.contains(needle), "{text}: {err}");
            assert_eq!(err.line, 2, "{err}");
        }
        for selector in [
            "pattern = \"^cio_tp_\"",
            "pattern = \"Q\"",
            "path = \"*.snap\"",
            "path = \"tests/fixtures/\"",
            "path = \"/README.md\"",
        ] {
            parse(&format!("[[allow]]\n{selector}\nreason = \"r\"\n")).unwrap();
        }
    }

    #[test]
    fn duplicates_are_paired_with_the_first_entry_like_them() {
        let list = parse(&format!(
            "[[allow]]\npath = \"a/\"\nreason = \"x\"\n\
             [[allow]]\nfingerprint = \"{FINGERPRINT}\"\nreason = \"y\"\n\
             [[allow]]\npath = \"a\"\nreason = \"z\"\n\
             [[allow]]\nfingerprint = \"{}\"\nreason = \"w\"\n",
            FINGERPRINT.to_ascii_uppercase().replace("SHA256", "sha256")
        ))
        .unwrap();
        let pairs: Vec<(&str, &str)> = list
            .duplicates()
            .into_iter()
            .map(|(entry, first)| (entry.origin.as_str(), first.origin.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (".ciokeyignore.toml:7", ".ciokeyignore.toml:1"),
                (".ciokeyignore.toml:10", ".ciokeyignore.toml:4"),
            ]
        );
    }

    #[test]
    fn no_entry_allows_a_token_inside_an_allowlist_file() {
        let token = token();
        let fingerprint = fingerprint(token.as_bytes());
        let list = parse(&format!(
            "[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"r\"\n\
             [[allow]]\npath = \".ciokeyignore.toml\"\nreason = \"r\"\n"
        ))
        .unwrap();
        for path in [".ciokeyignore.toml", "sub/.ciokeyignore.toml"] {
            assert_eq!(
                list.verdict(Path::new(path), token.as_bytes(), &fingerprint),
                Verdict::NotListed
            );
        }
        assert!(matches!(
            list.verdict(Path::new("a.txt"), token.as_bytes(), &fingerprint),
            Verdict::Allowed(_)
        ));
    }
}
