//! The guards a shared allowlist needs: it may never hold a token itself, and no entry may let
//! every token through.

use regex::Regex;

use super::Selector;
use crate::detect::{candidate_lines, find_in_line, FileHint};
use crate::redact::{fingerprint, redact_token};

/// The first secret the detector finds in `text` that is not an obvious placeholder: its byte
/// offset, and a message that names it redacted and says what to write instead.
pub(super) fn secret_in(text: &str) -> Option<(usize, String)> {
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
pub(super) fn is_bare_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What is wrong with a fingerprint that does not parse.
pub(super) fn fingerprint_mistake(text: &str) -> String {
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
pub(super) fn catch_all_path(glob: &str, selector: &Selector) -> Option<String> {
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
pub(super) fn pattern_problem(pattern: &str, regex: &Regex) -> Option<String> {
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
pub(super) fn sample_tokens() -> (Vec<String>, Vec<String>) {
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
