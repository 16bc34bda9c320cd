//! Encodings that hide a token from a plain byte search: base64 runs and UTF-16 text.

use super::rules::find_tokens;

/// Base64 of `cio` at each of the three alignments a token can have in encoded data: at an
/// offset ≡ 0 (mod 3) `cio` encodes to `Y2lv`; at ≡ 1 the stable characters are `Npb`; at ≡ 2,
/// `jaW`. The neighbouring characters depend on the surrounding bytes.
pub const BASE64_PREFIX_FORMS: [&str; 3] = ["Y2lv", "Npb", "jaW"];

/// The shortest base64 run that can hold an API token (35 bytes need 47 characters, padding
/// aside).
const MIN_BASE64_RUN: usize = 47;

/// A token found by decoding a base64 run: `start..end` is the run in the scanned bytes, and
/// `token` the decoded token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedToken {
    pub start: usize,
    pub end: usize,
    pub token: Vec<u8>,
    pub rule: &'static super::Rule,
    pub placeholder: bool,
}

pub(crate) const fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Each byte's 6-bit value in either base64 alphabet, or [`NOT_BASE64`].
static BASE64_VALUES: [u8; 256] = {
    let mut table = [NOT_BASE64; 256];
    let mut byte = 0;
    while byte < 256 {
        if let Some(value) = base64_value(byte as u8) {
            table[byte] = value;
        }
        byte += 1;
    }
    table
};

/// Marks a byte outside both base64 alphabets in [`BASE64_VALUES`].
const NOT_BASE64: u8 = 0xFF;

/// Decodes base64 (standard or URL-safe alphabet, padding optional), ignoring a trailing partial
/// group. Non-alphabet bytes are skipped (callers pass runs of alphabet bytes).
pub(crate) fn decode_base64(encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() / 4 * 3 + 2);
    let mut buffer = 0u32;
    let mut bits = 0;
    let mut groups = encoded.chunks_exact(4);
    // Whole groups of four alphabet bytes, as callers pass them, decode three bytes at a time.
    for group in groups.by_ref() {
        let [a, b, c, d] = [0, 1, 2, 3].map(|index| BASE64_VALUES[usize::from(group[index])]);
        // Values are below 64; NOT_BASE64 has the top bits set. After a skipped byte the bits
        // no longer align with groups, and decoding goes on byte by byte.
        if (a | b | c | d) & 0xC0 != 0 || bits != 0 {
            decode_bytes_slowly(group, &mut buffer, &mut bits, &mut out);
            continue;
        }
        let word = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        out.extend_from_slice(&[(word >> 16) as u8, (word >> 8) as u8, word as u8]);
    }
    decode_bytes_slowly(groups.remainder(), &mut buffer, &mut bits, &mut out);
    out
}

/// Appends what `bytes` decode to, carrying partial bits in `buffer` and `bits`.
fn decode_bytes_slowly(bytes: &[u8], buffer: &mut u32, bits: &mut u32, out: &mut Vec<u8>) {
    for &byte in bytes {
        let value = BASE64_VALUES[usize::from(byte)];
        if value == NOT_BASE64 {
            continue;
        }
        *buffer = (*buffer << 6) | u32::from(value);
        *bits += 6;
        if *bits >= 8 {
            *bits -= 8;
            out.push((*buffer >> *bits) as u8);
        }
    }
}

/// Finds any of [`BASE64_PREFIX_FORMS`], built once.
static PREFIX_FORMS: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
    regex::bytes::Regex::new(&format!("(?-u){}", BASE64_PREFIX_FORMS.join("|"))).unwrap()
});

/// The runs of base64 alphabet characters in `bytes` long enough to hold a token and containing
/// one of [`BASE64_PREFIX_FORMS`], in order.
///
/// Only the runs around a prefix form are measured, so text that is mostly base64 without one
/// (lock files' integrity hashes) costs one literal search rather than a pass per byte.
fn candidate_runs(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    // Overlapping forms share their run, so finding them without overlaps loses no run.
    let mut forms = PREFIX_FORMS.find_iter(bytes);
    let mut searched_to = 0;
    std::iter::from_fn(move || {
        for form in forms.by_ref() {
            if form.start() < searched_to {
                continue;
            }
            let start = bytes[..form.start()]
                .iter()
                .rposition(|&byte| base64_value(byte).is_none())
                .map_or(0, |index| index + 1);
            let end = bytes[form.end()..]
                .iter()
                .position(|&byte| base64_value(byte).is_none())
                .map_or(bytes.len(), |index| form.end() + index);
            searched_to = end;
            if end - start >= MIN_BASE64_RUN {
                return Some((start, end));
            }
        }
        None
    })
}

/// Tokens hidden in base64 runs of `bytes`. Each run is decoded from each of its first four
/// characters, so a run that starts with a stray alphabet character (a word glued to the data)
/// still decodes at the right group boundary.
pub fn find_base64_tokens(bytes: &[u8]) -> Vec<DecodedToken> {
    let mut found: Vec<DecodedToken> = Vec::new();
    for (start, end) in candidate_runs(bytes) {
        for skip in 0..4 {
            let decoded = decode_base64(&bytes[start + skip..end]);
            for token in find_tokens(&decoded) {
                let text = decoded[token.start..token.end].to_vec();
                let already = found
                    .iter()
                    .any(|other| other.start == start && other.token == text);
                if !already {
                    found.push(DecodedToken {
                        start,
                        end,
                        token: text,
                        rule: token.rule,
                        placeholder: token.placeholder,
                    });
                }
            }
        }
    }
    found
}

/// A UTF-16 byte-order mark at the start of `bytes`, and whether it is little-endian.
pub fn utf16_bom(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// UTF-16 text with a byte-order mark, decoded to UTF-8 (unpaired surrogates become U+FFFD).
/// `None` when there is no byte-order mark.
pub fn decode_utf16(bytes: &[u8]) -> Option<String> {
    let little_endian = utf16_bom(bytes)?;
    let units = bytes[2..].chunks_exact(2).map(|pair| {
        if little_endian {
            u16::from_le_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], pair[1]])
        }
    });
    Some(
        char::decode_utf16(units)
            .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    fn encode(data: &[u8]) -> String {
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let group = match chunk {
                [a, b, c] => u32::from_be_bytes([0, *a, *b, *c]),
                [a, b] => u32::from_be_bytes([0, *a, *b, 0]),
                [a] => u32::from_be_bytes([0, *a, 0, 0]),
                _ => unreachable!(),
            };
            for index in 0..chunk.len() + 1 {
                out.push(ALPHABET[(group >> (18 - 6 * index) & 63) as usize] as char);
            }
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
        out
    }

    fn token() -> String {
        ["cio", "Q7hdK2mZp9XvL4sT1wYbN6cRfG8jU3aE"].concat()
    }

    /// The plain definition of [`candidate_runs`]: every maximal run, measured and searched.
    fn candidate_runs_by_definition(bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            while index < bytes.len() && base64_value(bytes[index]).is_none() {
                index += 1;
            }
            let start = index;
            while index < bytes.len() && base64_value(bytes[index]).is_some() {
                index += 1;
            }
            let run = &bytes[start..index];
            let has_prefix_form = BASE64_PREFIX_FORMS
                .iter()
                .any(|form| memchr::memmem::find(run, form.as_bytes()).is_some());
            if run.len() >= MIN_BASE64_RUN && has_prefix_form {
                runs.push((start, index));
            }
        }
        runs
    }

    /// The plain definition of [`decode_base64`]: six bits per alphabet byte, a byte per eight.
    fn decode_base64_by_definition(encoded: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buffer = 0u32;
        let mut bits = 0;
        for value in encoded.iter().filter_map(|&byte| base64_value(byte)) {
            buffer = (buffer << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
            }
        }
        out
    }

    #[test]
    fn a_run_with_a_word_glued_to_its_start_decodes_at_the_group_boundary() {
        let encoded = encode(format!("token: {}", token()).as_bytes());
        for glue in ["", "x", "xy", "xyz"] {
            for line in [
                format!("{glue}{encoded}"),
                format!("data = {glue}{encoded}"),
            ] {
                let found = find_base64_tokens(line.as_bytes());
                assert_eq!(found.len(), 1, "{line}");
                assert_eq!(found[0].token, token().as_bytes(), "{line}");
            }
        }
    }

    #[test]
    fn the_same_token_in_two_runs_is_found_in_each() {
        let encoded = encode(format!("token: {}", token()).as_bytes());
        let line = format!("old: {encoded} new: {encoded}");
        let starts: Vec<usize> = find_base64_tokens(line.as_bytes())
            .iter()
            .map(|found| found.start)
            .collect();
        assert_eq!(starts, [5, 5 + encoded.len() + 6]);
    }

    #[test]
    fn both_alphabets_decode_their_last_two_letters() {
        assert_eq!(decode_base64(b"+/+/"), [0xFB, 0xFF, 0xBF]);
        assert_eq!(decode_base64(b"-_-_"), [0xFB, 0xFF, 0xBF]);
        // A token after bytes that encode to `+` and `/` (`-` and `_` URL-safe) is still found.
        let payload = [b"\xfb\xff\xbf".as_slice(), token().as_bytes()].concat();
        let standard = encode(&payload);
        assert!(standard.starts_with("+/+/"), "{standard}");
        let url_safe = standard.replace('+', "-").replace('/', "_");
        for encoded in [standard, url_safe] {
            let found = find_base64_tokens(encoded.as_bytes());
            assert_eq!(found.len(), 1, "{encoded}");
            assert_eq!(found[0].token, token().as_bytes(), "{encoded}");
        }
    }

    #[test]
    fn base64_decodes_as_the_definition_says() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for case in 0..20_000 {
            let length = case % 97;
            let mostly_alphabet = case % 3 != 0;
            let encoded: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if mostly_alphabet {
                        ALPHABET[(state % 64) as usize]
                    } else {
                        bytes[(state % 256) as usize]
                    }
                })
                .collect();
            assert_eq!(
                decode_base64(&encoded),
                decode_base64_by_definition(&encoded),
                "{encoded:?}"
            );
        }
    }

    #[test]
    fn candidate_runs_are_the_runs_the_definition_gives() {
        // Short alphabets make prefix forms, separators and run lengths near 47 all common.
        let pieces: [&[u8]; 9] = [
            b"Y2lv", b"Npb", b"jaW", b"A", b"zz9", b" ", b"\n", b"=", b"Y2l",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for case in 0..20_000 {
            let mut bytes = Vec::new();
            let length = case % 60;
            for _ in 0..length {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let piece = pieces[(state % pieces.len() as u64) as usize];
                let repeat = 1 + (state >> 32) as usize % 12;
                for _ in 0..repeat {
                    bytes.extend_from_slice(piece);
                }
            }
            let fast: Vec<_> = candidate_runs(&bytes).collect();
            assert_eq!(fast, candidate_runs_by_definition(&bytes), "{bytes:?}");
        }
    }

    #[test]
    fn prefix_forms_are_what_each_alignment_encodes_to() {
        for (offset, form) in BASE64_PREFIX_FORMS.iter().enumerate() {
            for filler in [0u8, 0x55, 0xFF] {
                let mut data = vec![filler; offset];
                data.extend_from_slice(b"cio\xff\xff\xff");
                assert!(
                    encode(&data).contains(form),
                    "offset {offset}: {}",
                    encode(&data)
                );
            }
        }
    }

    #[test]
    fn finds_tokens_at_every_alignment_and_prefix_length() {
        for prefix_len in 0..9 {
            let mut data = "A=".repeat(prefix_len).into_bytes();
            data.extend_from_slice(format!("TOKEN={}\n", token()).as_bytes());
            let line = format!("  .dockerconfigjson: {}\n", encode(&data));
            let found = find_base64_tokens(line.as_bytes());
            assert_eq!(found.len(), 1, "prefix {prefix_len}: {line}");
            assert_eq!(found[0].token, token().as_bytes());
            assert_eq!(found[0].start, 21);
        }
    }

    #[test]
    fn a_token_repeated_in_one_run_is_found_once() {
        let data = format!("A={}\nB={}\n", token(), token());
        let found = find_base64_tokens(encode(data.as_bytes()).as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].token, token().as_bytes());
    }

    #[test]
    fn plain_text_and_short_runs_decode_to_nothing() {
        let text = format!("just text {} and Y2lv short", token());
        assert!(find_base64_tokens(text.as_bytes()).is_empty());
    }

    #[test]
    fn decodes_utf16_with_either_byte_order() {
        let text = "tök = 1\n";
        let mut little = vec![0xFF, 0xFE];
        let mut big = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            little.extend_from_slice(&unit.to_le_bytes());
            big.extend_from_slice(&unit.to_be_bytes());
        }
        assert_eq!(decode_utf16(&little).as_deref(), Some(text));
        assert_eq!(decode_utf16(&big).as_deref(), Some(text));
        assert_eq!(decode_utf16(b"plain"), None);
    }
}
