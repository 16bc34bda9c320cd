//! Secret detection: pure functions over bytes, no git and no I/O.
//!
//! [`find_in_line`] applies every line-level rule (token shapes, token variables, base64-wrapped
//! tokens); [`find_in_credentials_file`] applies the file-level rule for cargo credentials files;
//! [`find_in_path`] finds tokens in the path of a new file.
//! [`may_contain_secret`] is the cheap whole-blob test that decides whether a file is worth a
//! line diff at all; every rule's evidence contains one of its literals.

pub mod assignments;
pub mod credentials;
pub mod decode;
pub mod placeholder;
pub mod rules;

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Serialize;

pub use rules::{find_tokens, Confidence, Rule, TokenMatch};

/// A literal assigned to `CARGO_REGISTRY_TOKEN` or `CARGO_REGISTRIES_<NAME>_TOKEN`.
pub static TOKEN_VARIABLE: Rule = Rule {
    id: "cargo-token-variable",
    name: "literal in a cargo token variable",
    confidence: Confidence::Medium,
};

/// A literal `token` under `[registry]` or `[registries.NAME]` in a cargo credentials or config
/// file.
pub static CREDENTIALS_FILE_TOKEN: Rule = Rule {
    id: "cargo-credentials-token",
    name: "token in a cargo credentials or config file",
    confidence: Confidence::High,
};

/// How a secret was hidden in the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Base64,
}

/// One secret found in a line (or a binary blob).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub rule: &'static Rule,
    /// The evidence's span in the scanned bytes: the token, the assigned value, or the base64
    /// run that decodes to a token.
    pub start: usize,
    pub end: usize,
    /// The secret itself, decoded when it was encoded.
    pub secret: Vec<u8>,
    /// Shaped like a secret but an obvious placeholder: listed, never blocking.
    pub placeholder: bool,
    pub encoding: Option<Encoding>,
    /// The alternative registry a token variable or credentials entry is for (`corp`); `None`
    /// for crates.io's, and for every `cio…` token (a crates.io token wherever it is set).
    pub registry: Option<String>,
}

/// What the path of the scanned file says about how to read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileHint {
    /// Source code, where an unquoted value is an identifier rather than a literal.
    pub code_file: bool,
}

impl FileHint {
    /// The hint for a path relative to the repository root.
    pub fn for_path(path: &[u8]) -> FileHint {
        const CODE: &[&[u8]] = &[
            b".rs", b".py", b".js", b".ts", b".go", b".rb", b".java", b".kt", b".c", b".cc",
            b".cpp", b".h", b".cs", b".swift", b".php", b".scala",
        ];
        FileHint {
            code_file: CODE.iter().any(|extension| path.ends_with(extension)),
        }
    }
}

/// Literals at least one of which every line-level rule's evidence contains: the token prefix,
/// its three base64 forms, and the start of cargo's token variable names.
static PREFILTER: LazyLock<Regex> = LazyLock::new(|| {
    let mut literals = vec!["cio".to_string(), "CARGO_REGISTR".to_string()];
    literals.extend(
        decode::BASE64_PREFIX_FORMS
            .iter()
            .map(|form| form.to_string()),
    );
    Regex::new(&format!("(?-u){}", literals.join("|"))).unwrap()
});

/// The length of [`PREFILTER`]'s longest literal (`CARGO_REGISTR`).
pub const PREFILTER_LONGEST_LITERAL: usize = 13;

/// Every occurrence of a [`PREFILTER`] literal in `bytes`, in order. No literal's end is
/// another's start (or its own), so occurrences never overlap and this is all of them: text
/// built from pieces of other text holds an occurrence only inside one piece or across a joint.
pub fn prefilter_matches(bytes: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    PREFILTER.find_iter(bytes).map(|found| found.range())
}

/// [`PREFILTER`]'s literals other than the token prefix.
static OTHER_LITERALS: LazyLock<Regex> = LazyLock::new(|| {
    let mut literals = vec!["CARGO_REGISTR".to_string()];
    literals.extend(
        decode::BASE64_PREFIX_FORMS
            .iter()
            .map(|form| form.to_string()),
    );
    Regex::new(&format!("(?-u){}", literals.join("|"))).unwrap()
});

/// Whether a file at `path` with this content may hold a secret; when false, no rule can match
/// anything in it, so it need not be diffed or split into lines.
///
/// This is the detector itself applied to the whole blob, not a literal search: a `cio` inside
/// a word ("precious") or a near miss does not make a file a candidate. It answers for every way
/// a source may read the content (line by line, or whole when git would call the file binary),
/// and for source code as well as other files, so a blob's answer does not depend on which path
/// carries it (except for cargo credentials files, tested on their own).
pub fn may_contain_secret(path: &[u8], content: &[u8]) -> bool {
    // An archive's entries are read by the sources (crate::archive), never its compressed bytes.
    if crate::archive::is_archive(content) {
        return true;
    }
    let decoded = decode::decode_utf16(content);
    let text = decoded.as_ref().map_or(content, |text| text.as_bytes());
    if credentials::is_credentials_path(path) && memchr::memmem::find(text, b"token").is_some() {
        return true;
    }
    has_candidate(text)
}

/// Whether any line-level rule finds something in `text`, read line by line or as a whole.
fn has_candidate(text: &[u8]) -> bool {
    if !PREFILTER.is_match(text) {
        return false;
    }
    // The path hint only changes the token-variable rule: reading the text as code as well is
    // needed only where a variable name appears (every other rule runs once).
    const HINTS: [FileHint; 2] = [FileHint { code_file: false }, FileHint { code_file: true }];
    let has_variable = memchr::memmem::find(text, assignments::VARIABLE_PREFIX).is_some();
    let hints = if has_variable {
        &HINTS[..]
    } else {
        &HINTS[..1]
    };
    let finds_any = |bytes: &[u8]| {
        hints
            .iter()
            .any(|&hint| !find_in_line(bytes, hint).is_empty())
    };
    candidate_lines(text).any(|(_, line)| finds_any(line)) || finds_any(text)
}

/// The lines of `text` where a line-level rule may match, with their 1-based numbers, in order:
/// lines holding a well-formed token, a token variable's name, or a base64 form of the prefix.
/// A `cio` that does not start a token (a word, a near miss) does not make its line a candidate,
/// so text dense with near misses costs one pass. Newlines are only counted between candidates.
pub fn candidate_lines(text: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    // Two fast passes: whole tokens (memchr's `cio` search plus boundary checks), and the other
    // rules' literals; then the positions, merged, pick the lines.
    let mut positions: Vec<usize> = find_tokens(text).iter().map(|token| token.start).collect();
    positions.extend(OTHER_LITERALS.find_iter(text).map(|found| found.start()));
    positions.sort_unstable();
    let mut positions = positions.into_iter();
    let mut line_number = 1u32;
    let mut counted_to = 0;
    let mut line_end = 0;
    std::iter::from_fn(move || loop {
        let position = positions.next()?;
        if position < line_end {
            continue;
        }
        let start = memchr::memrchr(b'\n', &text[..position]).map_or(0, |index| index + 1);
        line_end = memchr::memchr(b'\n', &text[position..])
            .map_or(text.len(), |index| position + index + 1);
        line_number += memchr::memchr_iter(b'\n', &text[counted_to..start]).count() as u32;
        counted_to = start;
        return Some((line_number, &text[start..line_end]));
    })
}

/// Every secret the line-level rules find in `line`.
///
/// A `cio…` token inside a token variable's value is reported once, as the token.
pub fn find_in_line(line: &[u8], hint: FileHint) -> Vec<Detection> {
    // One pass of the prefilter tells which rules can match at all on this line.
    let (mut has_prefix, mut has_variable, mut has_base64) = (false, false, false);
    for literal in PREFILTER.find_iter(line) {
        match literal.as_bytes() {
            b"cio" => has_prefix = true,
            b"CARGO_REGISTR" => has_variable = true,
            _ => has_base64 = true,
        }
    }
    let mut found: Vec<Detection> = Vec::new();
    if !(has_prefix || has_variable || has_base64) {
        return found;
    }
    let tokens = if has_prefix {
        find_tokens(line)
    } else {
        Vec::new()
    };
    found.extend(tokens.into_iter().map(|token| Detection {
        rule: token.rule,
        start: token.start,
        end: token.end,
        secret: line[token.start..token.end].to_vec(),
        placeholder: token.placeholder,
        encoding: None,
        registry: None,
    }));
    let assignments = if has_variable {
        assignments::find_assignments(line, hint.code_file)
    } else {
        Vec::new()
    };
    for assignment in assignments {
        let overlaps_token = found
            .iter()
            .any(|token| token.start < assignment.value_end && assignment.value_start < token.end);
        if !overlaps_token {
            let value = &line[assignment.value_start..assignment.value_end];
            found.push(Detection {
                rule: &TOKEN_VARIABLE,
                start: assignment.value_start,
                end: assignment.value_end,
                secret: value.to_vec(),
                placeholder: placeholder::is_placeholder_value(value),
                encoding: None,
                registry: assignment.registry,
            });
        }
    }
    let decoded_tokens = if has_base64 {
        decode::find_base64_tokens(line)
    } else {
        Vec::new()
    };
    for decoded in decoded_tokens {
        found.push(Detection {
            rule: decoded.rule,
            start: decoded.start,
            end: decoded.end,
            secret: decoded.token,
            placeholder: decoded.placeholder,
            encoding: Some(Encoding::Base64),
            registry: None,
        });
    }
    found.sort_by_key(|detection| detection.start);
    found
}

/// The crates.io tokens in a file's path (a file named `notes-cio….txt`, a token as a directory
/// name). Only the `cio…` rules apply: a path has no assignments, and no base64 worth decoding.
pub fn find_in_path(path: &[u8]) -> Vec<Detection> {
    find_tokens(path)
        .into_iter()
        .map(|token| Detection {
            rule: token.rule,
            start: token.start,
            end: token.end,
            secret: path[token.start..token.end].to_vec(),
            placeholder: token.placeholder,
            encoding: None,
            registry: None,
        })
        .collect()
}

/// Whether one component of a path (a file or directory name) may hold a token that
/// [`find_in_path`] reports. Every token starts with the literal `cio` and holds no `/`, so a
/// path with a token has a component containing `cio`; this is that cheap superset.
pub fn name_may_hold_token(name: &[u8]) -> bool {
    memchr::memmem::find(name, rules::PREFIX).is_some()
}

/// Registry tokens set in a cargo credentials file, with their 1-based line numbers. Values that
/// are `cio…` tokens are left to [`find_in_line`], which reports them as tokens.
pub fn find_in_credentials_file(content: &[u8]) -> Vec<(u32, Detection)> {
    let lines: Vec<&[u8]> = content.split(|&byte| byte == b'\n').collect();
    credentials::find_tokens_in_file(content)
        .into_iter()
        .filter_map(|token| {
            let line = lines[token.line as usize - 1];
            let value = &line[token.value_start..token.value_end];
            if !find_tokens(value).is_empty() {
                return None;
            }
            Some((
                token.line,
                Detection {
                    rule: &CREDENTIALS_FILE_TOKEN,
                    start: token.value_start,
                    end: token.value_end,
                    secret: value.to_vec(),
                    placeholder: placeholder::is_placeholder_value(value),
                    encoding: None,
                    registry: token.registry,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed API token, built from pieces so that none sits in the source whole.
    fn sample_token() -> String {
        ["cio", "Q7hdK2mZp9XvL4sT1wYbN6cRfG8jU3aE"].concat()
    }

    /// The secrets `find_in_line` reports, as text with the rule's name.
    fn found(line: &str, hint: FileHint) -> Vec<(String, &'static str)> {
        find_in_line(line.as_bytes(), hint)
            .into_iter()
            .map(|detection| {
                let secret = String::from_utf8(detection.secret).unwrap();
                (secret, detection.rule.id)
            })
            .collect()
    }

    #[test]
    fn a_token_in_a_variable_is_reported_once_and_other_secrets_on_the_line_too() {
        let token = sample_token();
        let plain = FileHint::default();
        let variable = TOKEN_VARIABLE.id;
        for line in [
            format!("CARGO_REGISTRY_TOKEN={token}"),
            format!("export CARGO_REGISTRY_TOKEN=\"Bearer {token}\""),
        ] {
            let secrets = found(&line, plain);
            assert_eq!(secrets.len(), 1, "{line}: {secrets:?}");
            assert_eq!(secrets[0].0, token, "{line}");
        }
        let value = "s3cr3tvalue";
        let before = found(&format!("{token} CARGO_REGISTRY_TOKEN={value}"), plain);
        assert_eq!(before.len(), 2, "{before:?}");
        assert_eq!(before[0].0, token);
        assert_eq!(before[1], (value.to_string(), variable));
        let after = found(
            &format!("CARGO_REGISTRY_TOKEN={value} # was {token}"),
            plain,
        );
        assert_eq!(after.len(), 2, "{after:?}");
        assert_eq!(after[0], (value.to_string(), variable));
        assert_eq!(after[1].0, token);
    }

    #[test]
    fn a_variable_alone_is_found_on_a_line_without_a_token() {
        let line = "CARGO_REGISTRIES_CORP_TOKEN=s3cr3tvalue";
        let found = find_in_line(line.as_bytes(), FileHint::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule.id, TOKEN_VARIABLE.id);
        assert_eq!(found[0].registry.as_deref(), Some("corp"));
        assert!(find_in_line(line.as_bytes(), FileHint { code_file: true }).is_empty());
    }

    #[test]
    fn a_blob_is_a_candidate_exactly_when_a_rule_finds_something_in_it() {
        let token = sample_token();
        let candidates = [
            (
                "a.txt",
                format!("first line\nlet t = \"{token}\";\nlast line\n"),
            ),
            (
                "ci/publish.sh",
                "export CARGO_REGISTRY_TOKEN=s3cr3tvalue\n".to_string(),
            ),
            (
                "src/lib.rs",
                "const T: &str = \"x\";\nCARGO_REGISTRY_TOKEN = \"s3cr3tvalue\"\n".to_string(),
            ),
            ("tokens.bin", format!("\0\0{token}\0")),
            (
                ".cargo/credentials.toml",
                "[registry]\ntoken = \"s3cr3tvalue\"\n".to_string(),
            ),
            // A quoted value broken across lines: only the whole read (a binary file's) finds it.
            (
                "a.bin",
                "\0CARGO_REGISTRY_TOKEN=\"s3cr3t\nvalue\"\n".to_string(),
            ),
        ];
        for (path, content) in &candidates {
            assert!(
                may_contain_secret(path.as_bytes(), content.as_bytes()),
                "{path}: {content:?}"
            );
        }
        let clean = [
            ("a.txt", String::new()),
            ("a.txt", "precious cargo, social ciphers\n".to_string()),
            ("a.txt", format!("{}\n", &token[..20])),
            (
                "ci/publish.sh",
                "export CARGO_REGISTRY_TOKEN=${{ secrets.TOKEN }}\n".to_string(),
            ),
            (
                "notes.txt",
                "[registry]\ntoken = \"s3cr3tvalue\"\n".to_string(),
            ),
            (
                ".cargo/credentials.toml",
                "[registry]\nprotocol = \"sparse\"\n".to_string(),
            ),
        ];
        for (path, content) in &clean {
            assert!(
                !may_contain_secret(path.as_bytes(), content.as_bytes()),
                "{path}: {content:?}"
            );
        }
    }

    #[test]
    fn credentials_files_report_each_literal_on_its_line_and_leave_cio_tokens_to_the_line_rules() {
        let token = sample_token();
        let content = format!(
            "[registry]\ntoken = \"s3cr3tvalue\"\n\n[registries.corp]\ntoken = \"corp-s3cr3t\"\n\
             [registries.other]\ntoken = \"{token}\"\n"
        );
        let found: Vec<(u32, String, Option<String>)> =
            find_in_credentials_file(content.as_bytes())
                .into_iter()
                .map(|(line, detection)| {
                    assert_eq!(detection.rule.id, CREDENTIALS_FILE_TOKEN.id);
                    (
                        line,
                        String::from_utf8(detection.secret).unwrap(),
                        detection.registry,
                    )
                })
                .collect();
        assert_eq!(
            found,
            [
                (2, "s3cr3tvalue".to_string(), None),
                (5, "corp-s3cr3t".to_string(), Some("corp".to_string())),
            ]
        );
    }

    #[test]
    fn source_files_are_told_apart_by_their_extension() {
        for code in ["src/lib.rs", "tools/publish.py", "web/index.ts", "a/b.cpp"] {
            assert!(FileHint::for_path(code.as_bytes()).code_file, "{code}");
        }
        for other in [
            "ci/publish.sh",
            ".env",
            "Cargo.toml",
            "README.md",
            "rs",
            "src/lib.rs.orig",
        ] {
            assert!(!FileHint::for_path(other.as_bytes()).code_file, "{other}");
        }
    }

    #[test]
    fn a_path_with_a_token_has_a_component_that_may_hold_one() {
        let token = sample_token();
        for path in [
            format!("notes-{token}.txt"),
            format!("dir/{token}/file"),
            format!("a b/cargo login {token}x/c"),
        ] {
            assert!(!find_in_path(path.as_bytes()).is_empty(), "{path}");
            assert!(
                path.split('/')
                    .any(|name| name_may_hold_token(name.as_bytes())),
                "{path}"
            );
        }
        assert!(!name_may_hold_token(b"Cargo.toml"));
    }

    #[test]
    fn prefilter_literals_never_overlap() {
        let mut literals = vec!["cio", "CARGO_REGISTR"];
        literals.extend(decode::BASE64_PREFIX_FORMS);
        let longest = literals.iter().map(|literal| literal.len()).max();
        assert_eq!(longest, Some(PREFILTER_LONGEST_LITERAL));
        for first in &literals {
            for second in &literals {
                assert!(
                    first == second || !first.contains(second),
                    "{first} holds {second}"
                );
                for overlap in 1..first.len().min(second.len()) {
                    assert_ne!(
                        &first[first.len() - overlap..],
                        &second[..overlap],
                        "{first} and {second} can overlap"
                    );
                }
            }
        }
        let found: Vec<_> = prefilter_matches(b"ciocio CARGO_REGISTRY jaWNpbY2lv").collect();
        assert_eq!(found, vec![0..3, 3..6, 7..20, 22..25, 25..28, 28..32]);
    }

    #[test]
    fn candidate_lines_are_numbered_like_all_lines() {
        let token = sample_token();
        let text = format!(
            "a\n{token}\n\nb\nx cio y {token}\nCARGO_REGISTRY_TOKEN=1\nciox cio\nlast {token}"
        );
        let found: Vec<(u32, String)> = candidate_lines(text.as_bytes())
            .map(|(number, line)| (number, String::from_utf8_lossy(line).into_owned()))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, format!("{token}\n")),
                (5, format!("x cio y {token}\n")),
                (6, "CARGO_REGISTRY_TOKEN=1\n".to_string()),
                (8, format!("last {token}")),
            ]
        );
    }
}
