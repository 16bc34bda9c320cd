//! The detector never panics, finds every token planted in arbitrary bytes, and finds no token
//! where the prefix is absent.
#![no_main]

use cio_hook::detect::{find_in_line, find_tokens, Encoding, FileHint, TOKEN_VARIABLE};
use libfuzzer_sys::fuzz_target;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fuzz_target!(|data: &[u8]| {
    // Anything goes in: no panic, and every finding is consistent.
    for detection in find_in_line(data, FileHint::default()) {
        assert!(detection.start <= detection.end && detection.end <= data.len());
    }
    if memchr::memmem::find(data, b"cio").is_none() {
        assert!(find_tokens(data).is_empty());
        for detection in find_in_line(data, FileHint { code_file: true }) {
            assert!(
                detection.encoding == Some(Encoding::Base64) || detection.rule.id == TOKEN_VARIABLE.id
            );
        }
    }
    // Plant a token built from the first 32 bytes between spaces inside the rest.
    if data.len() < 34 {
        return;
    }
    let body: Vec<u8> = data[..32]
        .iter()
        .map(|&byte| ALPHANUMERIC[usize::from(byte) % ALPHANUMERIC.len()])
        .collect();
    let rest = &data[32..];
    let at = usize::from(data[32]) * rest.len() / 256;
    let mut token = b"cio".to_vec();
    token.extend_from_slice(&body);
    let mut haystack = rest[..at].to_vec();
    haystack.push(b' ');
    let start = haystack.len();
    haystack.extend_from_slice(&token);
    haystack.push(b' ');
    haystack.extend_from_slice(&rest[at..]);
    assert!(
        find_tokens(&haystack)
            .iter()
            .any(|found| found.start == start && found.end == start + token.len()),
        "planted token not found"
    );
});
