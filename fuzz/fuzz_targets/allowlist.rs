//! The `.ciokeyignore.toml` parser never panics; what it accepts has one selector and a reason.
#![no_main]

use std::path::Path;

use cio_hook::allow::Allowlist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Allowlist::parse(text, Path::new(".ciokeyignore.toml")) {
        Ok(allowlist) => {
            for entry in &allowlist.entries {
                assert!(!entry.reason.trim().is_empty());
            }
        }
        Err(err) => assert!(err.line >= 1 && err.column >= 1),
    }
});
