//! The one place where token text turns into something printable: a redacted form that shows
//! enough to recognise a token, and a fingerprint that identifies it without revealing it.
//!
//! Every renderer, error message and report field goes through these functions; nothing else in
//! the crate formats token bytes.

use std::ops::Range;

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

/// A placeholder (`cioxxxx…`, cargo's documented example) in full, control characters escaped:
/// it is not a secret, and a reader must see what was classed as one.
pub fn show_placeholder(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for c in String::from_utf8_lossy(bytes).chars() {
        push_escaped(&mut out, c, "\\t");
    }
    out
}

/// `bytes` with every token in them redacted and nothing else changed (invalid UTF-8 and control
/// characters kept): the lossless form of a path for machine-readable reports.
pub fn redact_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied_to = 0;
    for found in find_tokens(bytes) {
        out.extend_from_slice(&bytes[copied_to..found.start]);
        out.extend_from_slice(redact_token(&bytes[found.start..found.end]).as_bytes());
        copied_to = found.end;
    }
    out.extend_from_slice(&bytes[copied_to..]);
    out
}

/// A path or label for one-line display: tokens redacted, and control characters (a newline in a
/// file name, say) escaped so that a report line stays one line.
pub fn display_path(bytes: &[u8]) -> String {
    let text = redact_text(bytes);
    if !text.chars().any(needs_escape) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c, "\\t");
    }
    out
}

/// Characters that would break a report line or steer the terminal: control characters (escape
/// sequences start with one) and the bidirectional overrides that reorder what is shown.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Pushes `c`, escaped when it [`needs_escape`]; a tab becomes `tab`.
fn push_escaped(out: &mut String, c: char, tab: &str) {
    match c {
        '\t' => out.push_str(tab),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        c => out.push(c),
    }
}

/// Characters of context a line preview keeps on each side of the finding.
const PREVIEW_CONTEXT: usize = 40;

/// A line as a report shows it under a finding: printable, every secret on it redacted, trimmed
/// around the finding, with the finding's place for a caret line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePreview {
    /// The text: secrets redacted, control characters escaped, tabs as spaces, and `…` where a
    /// long line was cut.
    pub text: String,
    /// Characters in `text` before the finding.
    pub caret_column: usize,
    /// The finding's width in characters (its redacted form).
    pub caret_width: usize,
}

/// The preview of `line` for the finding `secrets[shown]`. `secrets` are the byte spans of every
/// secret found on the line with their redacted forms; any other token on the line is redacted
/// too, so no secret reaches the preview whole.
pub fn preview_line(line: &[u8], secrets: &[(Range<usize>, String)], shown: usize) -> LinePreview {
    let mut line = line;
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    let target = secrets[shown].0.clone();
    let mut masks: Vec<(Range<usize>, String)> = secrets.to_vec();
    // Every token on the line too; one that is also a secret merges with it below.
    masks.extend(find_tokens(line).into_iter().map(|token| {
        let redacted = redact_token(&line[token.start..token.end]);
        (token.start..token.end, redacted)
    }));
    masks.sort_by_key(|(span, _)| (span.start, std::cmp::Reverse(span.end)));
    // Overlapping spans merge; the first (longest at its start) names the merged one.
    let mut merged: Vec<(Range<usize>, String)> = Vec::with_capacity(masks.len());
    for (span, redacted) in masks {
        match merged.last_mut() {
            Some((last, _)) if span.start < last.end => last.end = last.end.max(span.end),
            _ => merged.push((
                span.start.min(line.len())..span.end.min(line.len()),
                redacted,
            )),
        }
    }
    // Read only a window of a long line; it never cuts through a secret.
    let margin = 4 * PREVIEW_CONTEXT + 4;
    let mut from = target.start.saturating_sub(margin);
    let mut to = (target.end + margin).min(line.len());
    for (span, _) in &merged {
        if span.contains(&from) {
            from = span.start;
        }
        // A secret that starts right at the window's end comes in whole too: it is redacted.
        if span.contains(&to) {
            to = span.end;
        }
    }
    let mut text: Vec<char> = Vec::new();
    let mut caret = (0, 0);
    let mut at = from;
    let push = |text: &mut Vec<char>, bytes: &[u8]| {
        let mut escaped = String::new();
        for c in String::from_utf8_lossy(bytes).chars() {
            push_escaped(&mut escaped, c, " ");
        }
        text.extend(escaped.chars());
    };
    for (span, redacted) in merged
        .iter()
        .filter(|(span, _)| span.start >= from && span.end <= to)
    {
        push(&mut text, &line[at..span.start]);
        let start = text.len();
        push(&mut text, redacted.as_bytes());
        if span.contains(&target.start) {
            caret = (start, text.len() - start);
        }
        at = span.end;
    }
    push(&mut text, &line[at..to]);
    let (column, width) = caret;
    let first = column.saturating_sub(PREVIEW_CONTEXT);
    let last = (column + width + PREVIEW_CONTEXT).min(text.len());
    let cut_before = first > 0 || from > 0;
    let cut_after = last < text.len() || to < line.len();
    let mut shown_text = String::new();
    if cut_before {
        shown_text.push('…');
    }
    shown_text.extend(&text[first..last]);
    if cut_after {
        shown_text.push('…');
    }
    LinePreview {
        text: shown_text,
        caret_column: column - first + usize::from(cut_before),
        caret_width: width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> String {
        ["cio", "AbCdEfGhIjKlMnOpQrStUvWxYz012345"].concat()
    }

    fn second_token() -> String {
        ["cio", "ZyXwVuTsRqPoNmLkJiHgFeDcBa987654"].concat()
    }

    /// Secrets given by their spans and redacted forms.
    fn masks(spans: &[(Range<usize>, &str)]) -> Vec<(Range<usize>, String)> {
        spans
            .iter()
            .map(|(span, redacted)| (span.clone(), redacted.to_string()))
            .collect()
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

    #[test]
    fn paths_keep_every_byte_but_the_token() {
        let path = [b"ci/\xff".as_slice(), token().as_bytes(), b"\n.env"].concat();
        assert_eq!(redact_bytes(&path), b"ci/\xffcioAbCd\xe2\x80\xa62345\n.env");
        assert_eq!(redact_bytes(b"plain\xfe"), b"plain\xfe");
    }

    #[test]
    fn a_secret_overlapping_another_token_is_never_shown_in_part() {
        let first = token();
        let line = format!("key={first}");
        let start = line.find(&first).unwrap();
        // A secret found as the assignment's tail only: the whole token is still masked.
        let secrets = [(start + 4..line.len(), "…".to_string())];
        let preview = preview_line(line.as_bytes(), &secrets, 0);
        assert_eq!(preview.text, "key=cioAbCd…2345");
    }

    #[test]
    fn previews_redact_every_secret_and_mark_the_finding() {
        let first = token();
        let second = second_token();
        let line = format!("a\t{first} b \x1b[31m={second}\r\n");
        let start = line.find(&first).unwrap();
        let secrets = [(start..start + first.len(), redact_token(first.as_bytes()))];
        let preview = preview_line(line.as_bytes(), &secrets, 0);
        assert_eq!(preview.text, "a cioAbCd…2345 b \\u{1b}[31m=cioZyXw…7654");
        assert_eq!((preview.caret_column, preview.caret_width), (2, 12));

        let long = format!("{}{first}{}", "x ".repeat(500), " y".repeat(500));
        let start = long.find(&first).unwrap();
        let secrets = [(start..start + first.len(), redact_token(first.as_bytes()))];
        let preview = preview_line(long.as_bytes(), &secrets, 0);
        let expected = format!("…{}cioAbCd…2345{}…", "x ".repeat(20), " y".repeat(20));
        assert_eq!(preview.text, expected);
        assert_eq!((preview.caret_column, preview.caret_width), (41, 12));
    }

    #[test]
    fn a_short_cio_value_and_a_placeholder() {
        // Too short to show any of it: only the ellipsis, whatever the prefix.
        assert_eq!(redact_token(b"cio1234567"), "…");
        assert_eq!(redact_token(b"cio_tp_1234567"), "…");
        assert_eq!(show_placeholder(b"cioxxxxxxxx\tend"), "cioxxxxxxxx\\tend");
    }

    #[test]
    fn previews_keep_forty_characters_each_side_whatever_their_width() {
        let first = token();
        let wide = "\u{1F600}".repeat(45);
        let line = format!("{wide}{first}{wide}");
        let start = line.find(&first).unwrap();
        let secrets = [(start..start + first.len(), redact_token(first.as_bytes()))];
        let preview = preview_line(line.as_bytes(), &secrets, 0);
        let context = "\u{1F600}".repeat(40);
        assert_eq!(preview.text, format!("…{context}cioAbCd…2345{context}…"));
        assert_eq!((preview.caret_column, preview.caret_width), (41, 12));
    }

    #[test]
    fn secrets_that_touch_are_each_redacted() {
        let secrets = masks(&[(0..5, "[a]"), (5..10, "[b]")]);
        let preview = preview_line(b"AAAAABBBBB rest", &secrets, 1);
        assert_eq!(preview.text, "[a][b] rest");
        assert_eq!((preview.caret_column, preview.caret_width), (3, 3));
    }

    #[test]
    fn a_secret_across_the_edge_of_the_read_window_is_redacted_whole() {
        // Long secrets redacted short leave the preview's window ending inside the last one.
        let after = format!(
            "{}{} {} end",
            "T".repeat(10),
            "m".repeat(160),
            "S".repeat(44)
        );
        let secrets = masks(&[(0..10, "[t]"), (10..170, "[m]"), (171..215, "[s]")]);
        assert_eq!(
            preview_line(after.as_bytes(), &secrets, 0).text,
            "[t][m] [s]…"
        );

        let before = format!("{} {}{}", "S".repeat(44), "m".repeat(160), "T".repeat(10));
        let secrets = masks(&[(0..44, "[s]"), (45..205, "[m]"), (205..215, "[t]")]);
        let preview = preview_line(before.as_bytes(), &secrets, 2);
        assert_eq!(preview.text, "[s] [m][t]");
        assert_eq!(preview.caret_column, 7);
    }

    #[test]
    fn a_cut_is_marked_where_the_line_goes_on_and_only_there() {
        let first = token();
        let other = second_token();
        let red = redact_token(first.as_bytes());
        let finding = |line: &str| {
            let start = line.find(&first).unwrap();
            let secrets = [(start..start + first.len(), red.clone())];
            preview_line(line.as_bytes(), &secrets, 0).text
        };
        // Cut by the context's length, within the window read.
        let near = format!("{}{first}{}", "x ".repeat(30), " y".repeat(30));
        let shown = format!("…{}{red}{}…", "x ".repeat(20), " y".repeat(20));
        assert_eq!(finding(&near), shown);
        // Cut by the window, with tokens beyond it never read.
        let far = format!(
            "{other} {}{first}{} {other}",
            "x ".repeat(200),
            " y".repeat(200)
        );
        assert_eq!(finding(&far), shown);
        assert_eq!(finding(&format!("{first} y")), format!("{red} y"));

        // Long secrets redacted short: the context is shorter than forty characters, and the
        // line still goes on beyond the window on both sides.
        let line = format!(
            "{}{}{}{}{}",
            "a".repeat(100),
            "m".repeat(150),
            "t".repeat(10),
            "n".repeat(150),
            "b".repeat(100)
        );
        let secrets = masks(&[(100..250, "[m]"), (250..260, "[t]"), (260..410, "[n]")]);
        let preview = preview_line(line.as_bytes(), &secrets, 1);
        let shown = format!("…{}[m][t][n]{}…", "a".repeat(14), "b".repeat(14));
        assert_eq!(preview.text, shown);
        assert_eq!((preview.caret_column, preview.caret_width), (18, 3));
    }
}
