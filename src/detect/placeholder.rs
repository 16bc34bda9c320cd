//! Whether a credential of unknown format is a stand-in rather than a secret.
//!
//! Alternative registries' tokens have no fixed format, so a literal assigned to a cargo token
//! variable or set as `token` in a cargo credentials or config file is a secret unless it is
//! plainly not one. Test code is full of such values: `"incorrect"`, `"secret-token"`,
//! `"fake_token"`, `"Bearer incorrect"`, `"cargo_token_test_12345"`. They are reported as
//! placeholders (listed, never blocking). Real tokens (random alphanumerics, hex, `glpat-…`,
//! JFrog reference tokens, JWTs, UUIDs, base32 access tokens) never match any test here; the unit
//! test `realistic_tokens_are_never_placeholders` checks that on generated tokens of every kind.
//!
//! `cio…` and `cio_tp_…` tokens are not judged here: their shape alone decides
//! ([`super::rules::is_placeholder`]).

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::rules::shannon_entropy;

/// Values shorter than this are not taken for real secrets.
const MIN_SECRET_VALUE_LEN: usize = 8;

/// Entropy (bits per character) under which a value is a placeholder (`aaaaaaaa`, `abababab`).
const PLACEHOLDER_VALUE_ENTROPY_BITS: f64 = 2.5;

/// HTTP authorization schemes that may precede the credential itself (`Bearer <token>`); the
/// placeholder tests apply to what follows.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "digest", "token", "negotiate", "ntlm"];

/// Words that, as a whole segment of the value (between `-`, `_`, `.` or spaces) in lower, upper
/// or title case, say the value is made up for a test or a document. Kept to four letters or more
/// so that chance segments of random tokens (`…-Foo_…` in a JWT) cannot match.
const TEST_WORDS: &[&str] = &[
    "bogus",
    "changeme",
    "demo",
    "dummy",
    "example",
    "fake",
    "fixture",
    "incorrect",
    "invalid",
    "mock",
    "mocked",
    "none",
    "null",
    "placeholder",
    "redacted",
    "sample",
    "sentinel",
    "stub",
    "synthetic",
    "test",
    "testing",
    "tests",
    "todo",
    "undefined",
    "wrong",
    "your",
];

/// Phrases that mark a value as a stand-in wherever they appear in it (compared
/// case-insensitively). All six characters or longer: a random token does not spell them.
const MARKER_PHRASES: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "example",
    "redacted",
    "token_here",
    "token-here",
    "insert",
    "replace",
];

/// Any of [`MARKER_PHRASES`], in any case, built once.
static MARKER_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    let phrases: Vec<String> = MARKER_PHRASES.iter().map(|p| regex::escape(p)).collect();
    Regex::new(&format!("(?i-u){}", phrases.join("|"))).unwrap()
});

/// The longest word, and the longest digit group, a stub phrase is made of.
const MAX_STUB_WORD_LEN: usize = 12;
const MAX_STUB_DIGITS_LEN: usize = 6;

/// Whether a credential of unknown format is an obvious placeholder: too short, `<…>`-style,
/// truncated (`…`, `...`), masked (`***`, `xxxx`), low in entropy, a test word, or a stub phrase.
/// An authorization scheme in front (`Bearer incorrect`) is looked through.
pub fn is_placeholder_value(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    let Some(credential) = after_auth_scheme(value) else {
        return is_placeholder_credential(value);
    };
    // `Basic` carries base64 of `user:password`: the password is the credential.
    if value[..auth_scheme_len(value).unwrap_or(0)].eq_ignore_ascii_case(b"basic") {
        if let Some(password) = basic_password(credential) {
            return is_placeholder_credential(&password);
        }
    }
    is_placeholder_credential(credential)
}

/// The password in a `Basic` credential, when it is base64 of printable `user:password`.
fn basic_password(credential: &[u8]) -> Option<Vec<u8>> {
    let unpadded = credential
        .strip_suffix(b"==")
        .or(credential.strip_suffix(b"="))
        .unwrap_or(credential);
    if !unpadded
        .iter()
        .all(|&byte| super::decode::base64_value(byte).is_some())
    {
        return None;
    }
    let decoded = super::decode::decode_base64(unpadded);
    let text = std::str::from_utf8(&decoded).ok()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    let (_, password) = text.split_once(':')?;
    Some(password.as_bytes().to_vec())
}

/// The credential after an authorization scheme and its spaces, when `value` starts with one.
pub fn after_auth_scheme(value: &[u8]) -> Option<&[u8]> {
    // The scheme is followed by a space or a tab, which the trim takes.
    let rest = value[auth_scheme_len(value)?..].trim_ascii_start();
    (!rest.is_empty()).then_some(rest)
}

/// The length of the authorization scheme `value` starts with (followed by a space or a tab).
pub fn auth_scheme_len(value: &[u8]) -> Option<usize> {
    let word_len = value
        .iter()
        .position(|&byte| byte == b' ' || byte == b'\t')?;
    let word = &value[..word_len];
    AUTH_SCHEMES
        .iter()
        .any(|scheme| word.eq_ignore_ascii_case(scheme.as_bytes()))
        .then_some(word_len)
}

fn is_placeholder_credential(value: &[u8]) -> bool {
    if value.len() < MIN_SECRET_VALUE_LEN
        || is_wrapped(value)
        || is_truncated(value)
        || shannon_entropy(value) < PLACEHOLDER_VALUE_ENTROPY_BITS
    {
        return true;
    }
    if MARKER_PHRASE.is_match(value) {
        return true;
    }
    let segments: Vec<&[u8]> = segments(value).collect();
    segments
        .iter()
        .any(|segment| is_test_word(segment) || is_mask(segment))
        || is_stub_phrase(&segments)
}

/// `<token>`, `{token}`, `[TOKEN]`, `(token)`: a name for the value, not the value.
fn is_wrapped(value: &[u8]) -> bool {
    matches!(
        (value.first(), value.last()),
        (Some(b'<'), Some(b'>')) | (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
    ) || (value.first() == Some(&b'(') && value.last() == Some(&b')'))
}

/// A value cut short in a document: `ya29.a0...`, `eyJhbGciOi…`.
fn is_truncated(value: &[u8]) -> bool {
    memchr::memmem::find(value, b"...").is_some()
        || memchr::memmem::find(value, "…".as_bytes()).is_some()
}

/// The non-empty runs of `value` between `-`, `_`, `.` and whitespace.
fn segments(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&byte| matches!(byte, b'-' | b'_' | b'.') || byte.is_ascii_whitespace())
        .filter(|segment| !segment.is_empty())
}

/// A [`TEST_WORDS`] word in lower (`fake`), upper (`FAKE`) or title case (`Fake`).
fn is_test_word(segment: &[u8]) -> bool {
    let Some((first, rest)) = segment.split_first() else {
        return false;
    };
    let uniform_case =
        rest.iter().all(u8::is_ascii_lowercase) || segment.iter().all(u8::is_ascii_uppercase);
    uniform_case
        && first.is_ascii_alphabetic()
        && TEST_WORDS
            .iter()
            .any(|word| segment.eq_ignore_ascii_case(word.as_bytes()))
}

/// A run of one masking character: `***`, `xxxx`, `XXXXXXXX`, `####`.
fn is_mask(segment: &[u8]) -> bool {
    segment.len() >= 3
        && matches!(segment[0], b'*' | b'x' | b'X' | b'#')
        && segment.iter().all(|&byte| byte == segment[0])
}

/// Short words, all in one case, and small digit groups: `secret-token`, `fixture only`,
/// `cargo_token_test_12345`, `SUPER_SECRET`. A real token has long random runs instead.
fn is_stub_phrase(segments: &[&[u8]]) -> bool {
    let is_word = |segment: &[u8], case: fn(&u8) -> bool| {
        segment.len() <= MAX_STUB_WORD_LEN && segment.iter().all(case)
    };
    let is_digits = |segment: &[u8]| {
        segment.len() <= MAX_STUB_DIGITS_LEN && segment.iter().all(u8::is_ascii_digit)
    };
    [
        u8::is_ascii_lowercase as fn(&u8) -> bool,
        u8::is_ascii_uppercase,
    ]
    .into_iter()
    .any(|case| {
        segments.iter().any(|segment| is_word(segment, case))
            && segments
                .iter()
                .all(|segment| is_word(segment, case) || is_digits(segment))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholder(value: &str) -> bool {
        is_placeholder_value(value.as_bytes())
    }

    #[test]
    fn test_stubs_from_public_code_are_placeholders() {
        for value in [
            "incorrect",
            "Bearer incorrect",
            "Digest incorrect",
            "secret-token",
            "fixture-only",
            "private-token",
            "must-not-survive",
            "synthetic-secret",
            "fake-token-value",
            "secret-value",
            "cargo_token_test_12345",
            "ambient-token",
            "orig-reg-token",
            "test-cargo-token",
            "super-secret-token-value",
            "fake_token",
            "cratesio_y",
            "FAKE_TOKEN",
            "MY_SECRET_TOKEN",
            "Test-Token-1",
            "Bearer secret-token",
            "bearer   fake_token",
            "Basic dummy",
            // base64 of `user:password` and of `ci:fake-token-value`
            "Basic dXNlcjpwYXNzd29yZA==",
            "basic Y2k6ZmFrZS10b2tlbi12YWx1ZQ",
            "Bearer <token>",
            "Bearer {token}",
            "Bearer eyJhbGciOi...",
            "ya29.a0…",
            "[PRODUCTION_TOKEN]",
            "glpat-xxxxxxxxxxxxxxxxxxxx",
            "********",
            "your-registry-token",
            "not a real token",
            "Bearer",
            "token 1234",
        ] {
            assert!(placeholder(value), "{value:?} should be a placeholder");
        }
    }

    #[test]
    fn realistic_credentials_are_secrets() {
        for value in [
            "Bearer kX9mQ2vL7pR4tW8zN3bC6yH1jF5gD0sAeUoIuY2q",
            "Bearer 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "corp_9f8e7d6c5b4a39281706",
            "glpat-Xy3kP9mQ2vL7rT8wZ1bN",
            // base64 of `user:s3cr3tpassword`
            "Basic dXNlcjpzM2NyM3RwYXNzd29yZA==",
            "5d1a7c3e-92b4-4f06-8e1d-3a6b9c0f2e47",
            "s3cr3tvalue-9Qz",
            "Token Q2hSdXN0LXRva2VuLXZhbHVlLTk4NzY1",
        ] {
            assert!(!placeholder(value), "{value:?} should be a secret");
        }
    }

    #[test]
    fn each_placeholder_test_has_its_edge() {
        // Eight characters is long enough; seven is not.
        assert!(placeholder("aB3dE9g"));
        assert!(!placeholder("aB3dE9gK"));
        // Two characters twice and four once: exactly the 2.5 bits a secret needs.
        assert!(!placeholder("k7k7Qz9W"));
        assert!(placeholder("k7k7k7Qz"));
        // Wrapped in brackets on both sides only.
        assert!(placeholder("(production-token)"));
        assert!(!placeholder("(kX9mQ2vL7pR4tW8"));
        assert!(!placeholder("kX9mQ2vL7pR4tW8)"));
        // A mask is three or more of one masking character.
        assert!(placeholder("kX9mQ2vL-****"));
        assert!(!placeholder("kX9mQ2vL-xx"));
        // A stub phrase's digit groups are short.
        assert!(placeholder("release-build-1234"));
        assert!(!placeholder("release-1234567"));
    }

    #[test]
    fn schemes_are_recognised_only_as_a_first_word() {
        assert_eq!(auth_scheme_len(b"Bearer abc"), Some(6));
        assert_eq!(auth_scheme_len(b"BASIC\tabc"), Some(5));
        assert_eq!(auth_scheme_len(b"Bearerabc"), None);
        assert_eq!(auth_scheme_len(b"Bear abc"), None);
        assert_eq!(after_auth_scheme(b"Bearer  abc"), Some(&b"abc"[..]));
        assert_eq!(after_auth_scheme(b"Bearer "), None);
    }

    /// A small seeded generator (64-bit LCG) for realistic tokens of every kind.
    struct Generator(u64);

    impl Generator {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn from(&mut self, alphabet: &[u8], len: usize) -> String {
            (0..len)
                .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
                .collect()
        }
    }

    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const HEX: &[u8] = b"0123456789abcdef";
    const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const BASE32_LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

    fn base64(data: &[u8]) -> String {
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let bits = chunk.iter().enumerate().fold(0u32, |acc, (index, &byte)| {
                acc | u32::from(byte) << (16 - 8 * index)
            });
            for index in 0..=chunk.len() {
                out.push(BASE64[(bits >> (18 - 6 * index) & 63) as usize] as char);
            }
        }
        out
    }

    /// One realistic alternative-registry token of kind `kind`.
    fn realistic_token(generator: &mut Generator, kind: u64) -> String {
        match kind {
            0 => generator.from(ALNUM, 32),
            1 => generator.from(HEX, 40),
            2 => format!("glpat-{}", generator.from(BASE64URL, 20)),
            // JFrog reference tokens: base64 of `reftkn:01:<expiry>:<random>`, 64 characters.
            3 => format!("cmVmdGtuOjAxOj{}", generator.from(BASE64, 50)),
            4 => {
                let payload_len = 80 + (generator.next() % 120) as usize;
                let signature_len = 43 + (generator.next() % 300) as usize;
                format!(
                    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{}.{}",
                    generator.from(BASE64URL, payload_len),
                    generator.from(BASE64URL, signature_len)
                )
            }
            5 => format!(
                "{}-{}-4{}-{}{}-{}",
                generator.from(HEX, 8),
                generator.from(HEX, 4),
                generator.from(HEX, 3),
                generator.from(b"89ab", 1),
                generator.from(HEX, 3),
                generator.from(HEX, 12)
            ),
            6 => generator.from(BASE32, 52),
            _ => generator.from(BASE32_LOWER, 52),
        }
    }

    #[test]
    fn realistic_tokens_are_never_placeholders() {
        const PER_KIND: u64 = 15_000;
        const KINDS: u64 = 8;
        let mut generator = Generator(0x5EED_CA4E_0012);
        let mut classified = 0;
        for kind in 0..KINDS {
            for _ in 0..PER_KIND {
                let token = realistic_token(&mut generator, kind);
                let basic = format!("Basic {}", base64(format!("ci-bot:{token}").as_bytes()));
                for value in [token.clone(), format!("Bearer {token}"), basic] {
                    assert!(!placeholder(&value), "{value} classified a placeholder");
                    classified += 1;
                }
            }
        }
        assert!(classified >= 360_000, "{classified}");
    }
}
