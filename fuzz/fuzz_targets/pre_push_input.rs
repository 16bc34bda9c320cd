//! git's pre-push input parser never panics; what it accepts has object ids where they belong.
#![no_main]

use cio_hook::source::pre_push::parse_updates;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_updates(data) {
        Ok(updates) => {
            for update in updates {
                for oid in [&update.local_oid, &update.remote_oid] {
                    assert!(matches!(oid.len(), 40 | 64));
                    assert!(oid.bytes().all(|byte| byte.is_ascii_hexdigit()));
                }
            }
        }
        Err(err) => assert!(err.line >= 1),
    }
});
