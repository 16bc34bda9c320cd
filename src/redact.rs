//! The one place where token text turns into something printable: a redacted form that shows
//! enough to recognise a token, and a fingerprint that identifies it without revealing it.
//!
//! Every renderer, error message and report field goes through these functions; nothing else in
//! the crate formats token bytes.

use sha2::{Digest, Sha256};

use crate::detect::find_tokens;

/// Characters kept visible at each end of a redacted secret, at most.
const VISIBLE_CHARS: usize = 4;

/// `cio1234…wxyz`: a token's prefix, four characters after it, an ellipsis and the last four.
/// A secret of unknown format shows at most one character at each end per eight it has, so
/// that a short one shows nothing but `…`.
pub fn redact_token(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let chars: Vec<char> = text.chars().collect();
    let prefix_len = if secret.starts_with(b"cio_tp_") {
        7
    } else if secret.starts_with(b"cio") {
        3
    } else {
        0
    }
    .min(chars.len());
    let visible = VISIBLE_CHARS.min((chars.len() - prefix_len) / 8);
    if visible == 0 {
        return "…".to_string();
    }
    let head: String = chars[..prefix_len + visible].iter().collect();
    let tail: String = chars[chars.len() - visible..].iter().collect();
    format!("{head}…{tail}")
}

/// `sha256:` and the lowercase hex SHA-256 of the token text, the same hash crates.io stores.
pub fn fingerprint(token: &[u8]) -> String {
    let digest = Sha256::digest(token);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// Arbitrary bytes (a path, a commit subject, an error) as printable text with every token in
/// them redacted. Invalid UTF-8 is replaced, never passed through.
pub fn redact_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut copied_to = 0;
    for found in find_tokens(bytes) {
        out.push_str(&String::from_utf8_lossy(&bytes[copied_to..found.start]));
        out.push_str(&redact_token(&bytes[found.start..found.end]));
        copied_to = found.end;
    }
    out.push_str(&String::from_utf8_lossy(&bytes[copied_to..]));
    out
}

/// A path or label for one-line display: tokens redacted, and control characters (a newline in a
/// file name, say) escaped so that a report line stays one line.
pub fn display_path(bytes: &[u8]) -> String {
    let text = redact_text(bytes);
    if !text.chars().any(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\r' => "\\r".to_string(),
            c if c.is_control() => format!("\\u{{{:x}}}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> String {
        ["cio", "AbCdEfGhIjKlMnOpQrStUvWxYz012345"].concat()
    }

    #[test]
    fn redaction_keeps_prefix_and_ends_only() {
        assert_eq!(redact_token(token().as_bytes()), "cioAbCd…2345");
        let trusted = ["cio_tp_", "gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd"].concat();
        assert_eq!(redact_token(trusted.as_bytes()), "cio_tp_gGK6…oOOd");
        assert_eq!(redact_token(b"0123456789abcdefghij"), "01…ij");
        assert_eq!(redact_token(b"short-secret"), "s…t");
        assert_eq!(redact_token(b"tiny"), "…");
    }

    #[test]
    fn fingerprint_is_sha256_of_the_token_text() {
        assert_eq!(
            fingerprint(b"hello"),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn text_with_tokens_is_redacted() {
        let text = format!("fix: remove {} from ci.yml", token());
        assert_eq!(
            redact_text(text.as_bytes()),
            "fix: remove cioAbCd…2345 from ci.yml"
        );
        assert_eq!(redact_text(b"caf\xe9"), "caf\u{fffd}");
        assert_eq!(display_path(b"a\nb\x1b.txt"), "a\\nb\\u{1b}.txt");
    }
}
