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

pub(crate) fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Decodes base64 (standard or URL-safe alphabet, padding optional), ignoring a trailing partial
/// group. Non-alphabet bytes must have been excluded by the caller.
pub(crate) fn decode_base64(encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() / 4 * 3 + 2);
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
