//! Token shapes: where a crates.io credential starts and ends in a run of bytes.
//!
//! Everything here is a pure function over bytes. Input is never assumed to be UTF-8: the
//! boundary checks decode at most one character on each side of a candidate, and a byte that is
//! not part of valid UTF-8 counts as a boundary so that a stray Latin-1 byte cannot hide a token.

use memchr::memmem;
use serde::Serialize;

/// The literal every crates.io credential starts with; crates.io promises never to change it.
pub const PREFIX: &[u8] = b"cio";
/// What follows [`PREFIX`] in a Trusted Publishing token.
const TRUSTED_PUBLISHING_INFIX: &[u8] = b"_tp_";
/// Random characters after `cio` in an API token.
const API_TOKEN_BODY_LEN: usize = 32;
/// Random characters after `cio_tp_` in a Trusted Publishing token, before the checksum.
const TRUSTED_PUBLISHING_RANDOM_LEN: usize = 31;
/// The alphabet the Trusted Publishing checksum character is drawn from.
const CHECKSUM_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Shannon entropy (bits per character) under which a token body is taken for a placeholder.
///
/// 32 characters drawn uniformly from 62 have about 4.4 bits per character on average; a body
/// needs to be made of roughly eight distinct characters or fewer to fall under 3.0. The unit test
/// `random_tokens_are_never_placeholders` checks a million random bodies against it.
pub const PLACEHOLDER_ENTROPY_BITS: f64 = 3.0;

/// Bodies that documentation uses in place of a real token.
const KNOWN_PLACEHOLDER_BODIES: &[&[u8]] = &[
    // cargo's documented example token, with the prefix added by people copying it.
    b"abcdefghijklmnopqrstuvwxyz012345",
    b"0123456789abcdefghijklmnopqrstuv",
];

/// How sure a rule is that what it matched is a live credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The shape alone identifies a crates.io credential.
    High,
    /// The context (a token variable) says it is a secret; its format is unknown.
    Medium,
}

/// A detection rule: a stable id for reports and allowlists, and a human name.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub confidence: Confidence,
}

/// `cio` followed by 32 ASCII alphanumerics: what `cargo login` and `cargo publish` use.
pub static API_TOKEN: Rule = Rule {
    id: "crates-io-api-token",
    name: "crates.io API token",
    confidence: Confidence::High,
};

/// `cio_tp_` followed by 31 random alphanumerics and a checksum character.
pub static TRUSTED_PUBLISHING_TOKEN: Rule = Rule {
    id: "crates-io-trusted-publishing-token",
    name: "crates.io Trusted Publishing token",
    confidence: Confidence::High,
};

/// One token found in a haystack: `haystack[start..end]` is the token text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenMatch {
    pub rule: &'static Rule,
    pub start: usize,
    pub end: usize,
    /// The token has the right shape but is an obvious placeholder (see [`is_placeholder`]).
    pub placeholder: bool,
}

/// A searcher for [`PREFIX`], built once.
static PREFIX_FINDER: std::sync::LazyLock<memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memmem::Finder::new(PREFIX));

/// Every crates.io token in `haystack`, left to right, non-overlapping.
pub fn find_tokens(haystack: &[u8]) -> Vec<TokenMatch> {
    let mut found = Vec::new();
    let mut resume_at = 0;
    for start in PREFIX_FINDER.find_iter(haystack) {
        if start < resume_at {
            continue;
        }
        if let Some(found_match) = token_at(haystack, start) {
            resume_at = found_match.end;
            found.push(found_match);
        }
    }
    found
}

/// The token that starts at `start` in `haystack`, if one does (boundaries included).
pub fn token_at(haystack: &[u8], start: usize) -> Option<TokenMatch> {
    if !haystack[start..].starts_with(PREFIX) || !is_boundary_before(haystack, start) {
        return None;
    }
    match_at(haystack, start)
}

/// The token starting at `start` (which holds [`PREFIX`]), if its shape and boundaries fit.
fn match_at(haystack: &[u8], start: usize) -> Option<TokenMatch> {
    let after_prefix = start + PREFIX.len();
    if haystack[after_prefix..].starts_with(TRUSTED_PUBLISHING_INFIX) {
        let random_start = after_prefix + TRUSTED_PUBLISHING_INFIX.len();
        let end = random_start + TRUSTED_PUBLISHING_RANDOM_LEN + 1;
        let body = haystack.get(random_start..end)?;
        if !body.iter().all(u8::is_ascii_alphanumeric) || !ends_token(haystack, start, end) {
            return None;
        }
        let (random, checksum) = body.split_at(TRUSTED_PUBLISHING_RANDOM_LEN);
        if trusted_publishing_checksum(random) != checksum[0] {
            return None;
        }
        return Some(TokenMatch {
            rule: &TRUSTED_PUBLISHING_TOKEN,
            start,
            end,
            placeholder: is_placeholder(random),
        });
    }
    let end = after_prefix + API_TOKEN_BODY_LEN;
    let body = haystack.get(after_prefix..end)?;
    if !body.iter().all(u8::is_ascii_alphanumeric) || !ends_token(haystack, start, end) {
        return None;
    }
    Some(TokenMatch {
        rule: &API_TOKEN,
        start,
        end,
        placeholder: is_placeholder(body),
    })
}

/// Whether a token starting at `start` may end at `end`: at a boundary, or anywhere right after a
/// command that takes a token (`cargo login cio…loop instead`: a token pasted mid-sentence and
/// glued to the next word is still a token there).
fn ends_token(haystack: &[u8], start: usize, end: usize) -> bool {
    is_boundary_after(haystack, end) || follows_token_argument(&haystack[..start])
}

/// Whether `before` ends with `cargo login`, `--token` (then spaces) or `--token=`.
fn follows_token_argument(before: &[u8]) -> bool {
    if before.ends_with(b"--token=") {
        return true;
    }
    let trimmed = before.trim_ascii_end();
    trimmed.len() < before.len()
        && (trimmed.ends_with(b"cargo login") || trimmed.ends_with(b"--token"))
}

/// The checksum character crates.io appends to a Trusted Publishing token: the XOR of the random
/// part's bytes, modulo 62, as an index into [`CHECKSUM_ALPHABET`].
pub fn trusted_publishing_checksum(random: &[u8]) -> u8 {
    let xor = random.iter().fold(0u8, |acc, byte| acc ^ byte);
    CHECKSUM_ALPHABET[usize::from(xor) % CHECKSUM_ALPHABET.len()]
}

/// Whether a token body (the part after the prefix) is an obvious stand-in for a token rather
/// than a random one: a known documentation placeholder, or entropy under
/// [`PLACEHOLDER_ENTROPY_BITS`] (which covers `cioxxxx…`, `cio0000…` and short repeated patterns).
pub fn is_placeholder(body: &[u8]) -> bool {
    KNOWN_PLACEHOLDER_BODIES.contains(&body) || shannon_entropy(body) < PLACEHOLDER_ENTROPY_BITS
}

/// Shannon entropy of `bytes` in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &byte in bytes {
        counts[usize::from(byte)] += 1;
    }
    let total = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

/// True when the character ending just before `index` is not a letter or digit of any script.
fn is_boundary_before(haystack: &[u8], index: usize) -> bool {
    if index == 0 {
        return true;
    }
    let last = haystack[index - 1];
    if last.is_ascii() {
        return !last.is_ascii_alphanumeric() || ends_with_escape(&haystack[..index]);
    }
    // Walk back over at most three continuation bytes to the start of the character.
    let mut char_start = index - 1;
    while char_start > 0 && index - char_start < 4 && is_continuation(haystack[char_start]) {
        char_start -= 1;
    }
    !is_word_char(&haystack[char_start..index])
}

/// True when the character starting at `index` is not a letter or digit of any script.
fn is_boundary_after(haystack: &[u8], index: usize) -> bool {
    let Some(&first) = haystack.get(index) else {
        return true;
    };
    if first.is_ascii() {
        return !first.is_ascii_alphanumeric();
    }
    let width = match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return true,
    };
    let end = (index + width).min(haystack.len());
    !is_word_char(&haystack[index..end])
}

/// Whether `text` ends with a backslash escape (`\n`, `\t`, `\x22`, `\u0022`…): in JSON, source
/// code and logs the letters or digits of an escape are not part of the word that follows.
fn ends_with_escape(text: &[u8]) -> bool {
    let ends_with_hex_escape = |marker: u8, digits: usize| {
        text.len() > digits + 1
            && text[text.len() - digits - 2] == b'\\'
            && text[text.len() - digits - 1] == marker
            && text[text.len() - digits..]
                .iter()
                .all(u8::is_ascii_hexdigit)
    };
    matches!(
        text,
        [
            ..,
            b'\\',
            b'n' | b't' | b'r' | b'f' | b'v' | b'b' | b'a' | b'e' | b'0'
        ]
    ) || ends_with_hex_escape(b'x', 2)
        || ends_with_hex_escape(b'u', 4)
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

/// Whether `bytes` is exactly one UTF-8 encoded letter or digit. Invalid UTF-8 is not.
fn is_word_char(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut chars = text.chars();
            matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphanumeric())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed token body built at run time, so that no token-shaped literal sits in source.
    fn body(seed: u64) -> String {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..API_TOKEN_BODY_LEN)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                CHECKSUM_ALPHABET[((state >> 33) % 62) as usize] as char
            })
            .collect()
    }

    fn api_token(seed: u64) -> String {
        format!("cio{}", body(seed))
    }

    fn trusted_publishing_token(seed: u64) -> String {
        let random = &body(seed)[..TRUSTED_PUBLISHING_RANDOM_LEN];
        let checksum = trusted_publishing_checksum(random.as_bytes()) as char;
        format!("cio_tp_{random}{checksum}")
    }

    fn spans(text: &str) -> Vec<(&'static str, usize, usize)> {
        find_tokens(text.as_bytes())
            .into_iter()
            .map(|m| (m.rule.id, m.start, m.end))
            .collect()
    }

    #[test]
    fn finds_a_token_between_ordinary_neighbours() {
        let token = api_token(1);
        for (before, after) in [
            ("", ""),
            ("token = \"", "\""),
            ("CARGO_REGISTRY_TOKEN=", "\n"),
            ("x_", "_y"),
            ("/", "/"),
            ("'", "'"),
            ("é ", " ü"),
            ("\\n", "\\n"),
            ("\\u0022", "\\u0022"),
            ("\\x3d", ""),
        ] {
            let text = format!("{before}{token}{after}");
            assert_eq!(
                spans(&text),
                vec![("crates-io-api-token", before.len(), before.len() + 35)],
                "{before:?} … {after:?}"
            );
        }
    }

    #[test]
    fn rejects_a_token_inside_a_longer_word_of_any_script() {
        let token = api_token(2);
        for (before, after) in [
            ("a", ""),
            ("", "a"),
            ("9", ""),
            ("é", ""),
            ("", "ж"),
            ("", "жx"),
            ("名", ""),
            ("", "名 and more"),
            ("xé", ""),
            ("\u{1D400}", ""),
            ("", "\u{1D400}"),
            // Escape-like letters without their backslash.
            ("3d", ""),
            ("x3d", ""),
            ("u0022", ""),
        ] {
            let text = format!("{before}{token}{after}");
            assert!(spans(&text).is_empty(), "{before:?} … {after:?}");
        }
    }

    #[test]
    fn invalid_utf8_neighbours_are_boundaries() {
        let token = api_token(3);
        let mut text = vec![0xE9];
        text.extend_from_slice(token.as_bytes());
        text.push(0xFF);
        assert_eq!(find_tokens(&text).len(), 1);
        // A line that starts inside a character (text cut mid-way).
        let cut = [&[0xA9], token.as_bytes()].concat();
        assert_eq!(find_tokens(&cut).len(), 1);
    }

    #[test]
    fn rejects_near_misses() {
        let token = api_token(4);
        let short = &token[..34];
        let long = format!("{token}A");
        let upper = format!("CIO{}", &token[3..]);
        let with_at = format!("{}@{}", &token[..20], &token[21..]);
        for text in [short, &long, &upper, &with_at, &body(4)] {
            assert!(spans(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn finds_trusted_publishing_tokens_with_a_valid_checksum_only() {
        // crates.io's own test example.
        let example = ["cio_tp_", "gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd"].concat();
        assert_eq!(
            spans(&example),
            vec![("crates-io-trusted-publishing-token", 0, 39)]
        );
        let token = trusted_publishing_token(5);
        assert_eq!(spans(&format!("x={token};")).len(), 1);
        assert!(spans(&format!("x={token}a;")).is_empty());
        let mut broken = token.into_bytes();
        broken[38] = if broken[38] == b'A' { b'B' } else { b'A' };
        assert!(find_tokens(&broken).is_empty());
    }

    #[test]
    fn a_token_after_a_login_command_may_be_glued_to_the_next_word() {
        let token = api_token(9);
        for before in [
            "cargo login ",
            "cargo login  ",
            "cargo publish --token ",
            "x --token=",
        ] {
            let text = format!("{before}{token}loop instead");
            assert_eq!(
                spans(&text),
                vec![("crates-io-api-token", before.len(), before.len() + 35)],
                "{text}"
            );
        }
        let trusted = trusted_publishing_token(9);
        assert_eq!(spans(&format!("--token {trusted}then")).len(), 1);
        for before in ["cargo login", "cargo logins ", "--tokens ", "login "] {
            assert!(
                spans(&format!("{before}{token}loop")).is_empty(),
                "{before}"
            );
        }
    }

    #[test]
    fn finds_several_tokens_on_one_line() {
        let text = format!("{} {}", api_token(6), api_token(7));
        assert_eq!(spans(&text).len(), 2);
    }

    #[test]
    fn placeholders_are_flagged_not_dropped() {
        let repeated = format!("cio{}", "x".repeat(32));
        let documented = ["cio", "abcdefghijklmnopqrstuvwxyz012345"].concat();
        for text in [repeated, documented] {
            let found = find_tokens(text.as_bytes());
            assert_eq!(found.len(), 1);
            assert!(found[0].placeholder, "{text}");
        }
        assert!(!find_tokens(api_token(8).as_bytes())[0].placeholder);
    }

    #[test]
    fn a_placeholder_body_is_one_under_three_bits_of_entropy() {
        // Eight characters four times each: exactly three bits.
        let even = "abcdefgh".repeat(4);
        assert_eq!(shannon_entropy(even.as_bytes()), PLACEHOLDER_ENTROPY_BITS);
        assert!(!is_placeholder(even.as_bytes()));
        assert!(is_placeholder(format!("{}a", &even[..31]).as_bytes()));
    }

    #[test]
    fn random_tokens_are_never_placeholders() {
        let lowest = (0..1_000_000)
            .map(|seed| shannon_entropy(body(seed).as_bytes()))
            .fold(f64::INFINITY, f64::min);
        assert!(lowest > PLACEHOLDER_ENTROPY_BITS + 0.5, "lowest {lowest}");
    }
}
