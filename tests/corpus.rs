//! The labelled detection corpus: every case under `tests/corpus/cases/` is expanded (tokens are
//! generated at run time from the templates the cases hold), scanned as `scan-path` would scan
//! it, and its findings must equal its line in `tests/corpus/labels.txt` exactly.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cio_hook::allow::Allowlist;
use cio_hook::detect::{may_contain_secret, Encoding};
use cio_hook::report::Status;
use cio_hook::source::blobs::added_content;
use cio_hook::source::AddedText;
use cio_hook::Scanner;
use common::{api_token, random_alphanumerics, trusted_publishing_token};
use regex::bytes::{Captures, Regex};

fn corpus_dir() -> PathBuf {
    common::checkout().join("tests/corpus")
}

/// A Trusted Publishing token whose checksum character is wrong.
fn bad_checksum_token(seed: u64) -> String {
    let good = trusted_publishing_token(seed);
    let last = good.as_bytes()[38];
    let wrong = if last == b'A' { 'B' } else { 'A' };
    format!("{}{wrong}", &good[..38])
}

/// Expands the case templates, innermost first.
fn expand(template: &[u8]) -> Vec<u8> {
    let pattern = Regex::new(r"(?-u)\{\{(api|tp|tpbad|alnum|b64|hex|lit):([^{}]*)\}\}").unwrap();
    let mut text = template.to_vec();
    while pattern.is_match(&text) {
        text = pattern
            .replace_all(&text, |caps: &Captures<'_>| {
                let argument = std::str::from_utf8(&caps[2]).unwrap_or_default();
                let seed = || argument.split(':').next().unwrap().parse::<u64>().unwrap();
                match &caps[1] {
                    b"api" => api_token(seed()).into_bytes(),
                    b"tp" => trusted_publishing_token(seed()).into_bytes(),
                    b"tpbad" => bad_checksum_token(seed()).into_bytes(),
                    b"alnum" => {
                        let length = argument.split(':').nth(1).unwrap().parse().unwrap();
                        random_alphanumerics(seed(), length).into_bytes()
                    }
                    b"b64" => common::base64(&caps[2]).into_bytes(),
                    b"lit" => caps[2].to_vec(),
                    _ => (0..argument.len() / 2)
                        .map(|i| u8::from_str_radix(&argument[2 * i..2 * i + 2], 16).unwrap())
                        .collect(),
                }
            })
            .into_owned();
    }
    text
}

/// A case file's bytes as they are scanned: templates expanded, then a `{{utf16}}` or
/// `{{utf16be}}` first line turns the rest into UTF-16 with a byte-order mark.
fn materialise(raw: &[u8]) -> Vec<u8> {
    for (directive, little_endian) in [(&b"{{utf16}}\n"[..], true), (b"{{utf16be}}\n", false)] {
        if let Some(rest) = raw.strip_prefix(directive) {
            let text = String::from_utf8(expand(rest)).unwrap();
            let mut out = if little_endian {
                vec![0xFF, 0xFE]
            } else {
                vec![0xFE, 0xFF]
            };
            for unit in text.encode_utf16() {
                let bytes = if little_endian {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                };
                out.extend_from_slice(&bytes);
            }
            return out;
        }
    }
    expand(raw)
}

/// The label of each finding, as labels.txt writes them.
fn scan_labels(path: &str, content: &[u8], scanner: &Scanner) -> Vec<String> {
    let added = AddedText::new(
        path.as_bytes().to_vec(),
        None,
        added_content(None, content).unwrap(),
        content,
    );
    scanner
        .findings_in(&added)
        .iter()
        .map(|finding| {
            let mut label = finding.rule.id.to_string();
            if finding.encoding == Some(Encoding::Base64) {
                label.push_str("(base64)");
            }
            if finding.status == Status::Placeholder {
                label.push('~');
            }
            match (finding.line, finding.column, finding.offset) {
                (Some(line), Some(column), _) => format!("{label}@{line}:{column}"),
                (_, _, Some(offset)) => format!("{label}@+{offset}"),
                _ => label,
            }
        })
        .collect()
}

fn case_files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            case_files(&path, base, out);
        } else {
            out.push(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

fn labels() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(corpus_dir().join("labels.txt")).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (path, expected) = line.split_once(": ").expect("PATH: LABELS");
            let expected = match expected.trim() {
                "-" => Vec::new(),
                list => list.split(", ").map(str::to_string).collect(),
            };
            (path.to_string(), expected)
        })
        .collect()
}

#[test]
fn detector_reproduces_every_label() {
    let labels = labels();
    let cases_dir = corpus_dir().join("cases");
    let mut files = Vec::new();
    case_files(&cases_dir, &cases_dir, &mut files);
    files.sort();
    let labelled: Vec<&String> = labels.keys().collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        labelled,
        "every case needs a label line"
    );
    assert!(labels.len() >= 150, "only {} cases", labels.len());

    let scanner = Scanner::new(Allowlist::default());
    let (mut true_positives, mut false_positives, mut false_negatives) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for (path, expected) in &labels {
        let content = materialise(&std::fs::read(cases_dir.join(path)).unwrap());
        let actual = scan_labels(path, &content, &scanner);
        let hits = actual
            .iter()
            .filter(|label| expected.contains(label))
            .count();
        true_positives += hits;
        false_positives += actual.len() - hits;
        false_negatives += expected.len() - hits;
        if &actual != expected {
            mismatches.push(format!("{path}: expected {expected:?}, found {actual:?}"));
        }
        // Sources skip files the prefilter rejects: it must pass every file with a finding.
        if !actual.is_empty() && !may_contain_secret(path.as_bytes(), &content) {
            mismatches.push(format!(
                "{path}: the prefilter rejects a file with findings"
            ));
        }
    }
    let precision = true_positives as f64 / (true_positives + false_positives).max(1) as f64;
    let recall = true_positives as f64 / (true_positives + false_negatives).max(1) as f64;
    println!(
        "corpus: {} cases, {true_positives} expected findings found, {false_positives} false \
         positives, {false_negatives} missed; precision {precision:.4}, recall {recall:.4}",
        labels.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
