//! cio-hook stops crates.io tokens from leaving a developer's machine through git.
//!
//! The pipeline, in a few lines: a [`source`] yields the text a change adds (the staged diff, or
//! the commits of a push or range), reading and line-diffing only blobs that may hold a token; the
//! [`detect`] module finds token shapes in those bytes; [`allow`] decides which findings the
//! repository's `.ciokeyignore.toml` lets through; [`report`] holds findings (redacted by
//! [`redact`]) and renders them. [`install`] puts the hook shims in place; [`pre_receive`] is the same check run by a git
//! server on what a push brings.

pub mod allow;
pub mod archive;
pub mod baseline;
pub mod crates_io;
pub mod credential_provider;
pub mod detect;
pub mod install;
pub mod package;
pub mod pre_receive;
pub mod redact;
pub mod report;
pub mod repository;
pub mod scan;
pub mod source;
pub mod timings;

pub use scan::Scanner;

/// Exit code: nothing blocking was found.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: at least one token blocks the commit or push.
pub const EXIT_FOUND: i32 = 1;
/// Exit code: usage, configuration or repository error; the commit or push is blocked.
pub const EXIT_ERROR: i32 = 2;
