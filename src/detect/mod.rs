//! Token detection: pure functions over bytes, no git and no I/O.

pub mod rules;

pub use rules::{find_tokens, may_contain_token, Confidence, Rule, TokenMatch};
