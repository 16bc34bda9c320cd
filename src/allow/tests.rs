//! Unit tests of the allowlist: parsing, guards, matching and editing.

use super::guards::sample_tokens;
use super::*;
use crate::redact::fingerprint;

fn parse(text: &str) -> Result<Allowlist, ConfigError> {
    Allowlist::parse(text, Path::new(".ciokeyignore.toml"))
}

const FINGERPRINT: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

#[test]
fn days_come_from_the_epoch_day_count() {
    assert_eq!(Day::from_days_since_epoch(0).to_string(), "1970-01-01");
    assert_eq!(Day::from_days_since_epoch(19_782).to_string(), "2024-02-29");
    assert_eq!(Day::from_days_since_epoch(20_780).to_string(), "2026-11-23");
}

#[test]
fn each_selector_selects() {
    let list = parse(&format!(
        "[[allow]]\nfingerprint = \"{FINGERPRINT}\"\nreason = \"a\"\n\
         [[allow]]\npath = \"/fixtures/\"\nreason = \"b\"\n\
         [[allow]]\npath = \"*.snap\"\nreason = \"c\"\n\
         [[allow]]\npattern = \"^cio_tp_\"\nreason = \"d\"\n"
    ))
    .unwrap();
    let reason = |path: &str, token: &[u8], fingerprint: &str| match list.verdict(
        Path::new(path),
        token,
        fingerprint,
    ) {
        Verdict::Allowed(entry) => entry.reason.clone(),
        other => format!("{other:?}"),
    };
    assert_eq!(reason("src/a.rs", b"x", FINGERPRINT), "a");
    assert_eq!(reason("fixtures/deep/a.txt", b"x", "sha256:0"), "b");
    assert_eq!(
        reason("tests/fixtures/a.txt", b"x", "sha256:0"),
        "NotListed"
    );
    assert_eq!(reason("tests/x/out.snap", b"x", "sha256:0"), "c");
    assert_eq!(reason("src/a.rs", b"cio_tp_abc", "sha256:0"), "d");
    assert_eq!(reason("src/a.rs", b"cioabc", "sha256:0"), "NotListed");
}

#[test]
fn expired_entries_stop_applying_the_day_after() {
    let list = parse("[[allow]]\npath = \"a\"\nreason = \"r\"\nexpires = 2026-01-31\n")
        .unwrap()
        .with_today(Day::new(2026, 1, 31).unwrap());
    assert!(matches!(
        list.verdict(Path::new("a"), b"", ""),
        Verdict::Allowed(_)
    ));
    let list = list.with_today(Day::new(2026, 2, 1).unwrap());
    assert!(matches!(
        list.verdict(Path::new("a"), b"", ""),
        Verdict::Expired(_)
    ));
}

#[test]
fn appended_entries_keep_comments_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(
        &path,
        "# team policy: fixtures only\n\n[[allow]]\npath = \"a\"\nreason = \"r\"\n",
    )
    .unwrap();
    let expires = "2030-02-01".parse().unwrap();
    append_fingerprint_entry(&path, FINGERPRINT, "fixture", Some(expires)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# team policy: fixtures only\n"), "{text}");
    assert!(text.contains("expires = 2030-02-01"), "{text}");
    assert_eq!(Allowlist::parse(&text, &path).unwrap().entries.len(), 2);
    assert!(append_fingerprint_entry(&path, FINGERPRINT, " ", None).is_err());
    assert!(append_fingerprint_entry(&path, "cio123", "r", None).is_err());
    assert!("2030-13-01".parse::<Day>().is_err());
}

#[test]
fn mistakes_are_errors_with_a_location() {
    for (text, line, needle) in [
        ("[[allow]]\npath = \"a\"\n", 1, "missing reason"),
        (
            "[[allow]]\npath = \"a\"\nreason = \"\"\n",
            1,
            "missing reason",
        ),
        (
            "\n[[allow]]\npath = \"a\"\nreson = \"r\"\n",
            4,
            "unknown field",
        ),
        (
            "[[allow]]\npath = \"a\"\npattern = \"b\"\nreason = \"r\"\n",
            1,
            "exactly one",
        ),
        ("[[allow]]\nreason = \"r\"\n", 1, "exactly one"),
        (
            "[[allow]]\nfingerprint = \"cio123\"\nreason = \"r\"\n",
            2,
            "fingerprint must",
        ),
        (
            "[[allow]]\npattern = \"(\"\nreason = \"r\"\n",
            1,
            "invalid pattern",
        ),
        ("[[allow]\npath = 1\n", 1, ""),
        ("allow = 3\n", 1, ""),
        ("[other]\n", 1, "unknown field"),
        (
            "[[allow]]\npath = \"a\"\nreason = \"r\"\nexpires = \"soon\"\n",
            4,
            "",
        ),
    ] {
        let err = parse(text).expect_err(text);
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(err.message.contains(needle), "{text:?}: {err}");
        assert!(err.to_string().starts_with(".ciokeyignore.toml:"), "{err}");
    }
}

/// A made-up API token from the pattern samples (generated, never written down).
fn token() -> String {
    sample_tokens().0.remove(3)
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    data.chunks(3)
        .flat_map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            (0..=chunk.len()).map(move |i| ALPHABET[(bits >> (18 - 6 * i) & 63) as usize] as char)
        })
        .collect()
}

#[test]
fn a_token_anywhere_in_the_file_is_refused_without_being_echoed() {
    let token = token();
    let hex = token
        .bytes()
        .map(|b| format!("\\\\x{b:02x}"))
        .collect::<String>();
    let one_char_classes = token.chars().map(|c| format!("[{c}]")).collect::<String>();
    let toml_escaped = format!("\\u0063{}", &token[1..]);
    for (text, line, column) in [
        (
            format!("[[allow]]\npattern = \"^{token}$\"\nreason = \"r\"\n"),
            2,
            13,
        ),
        (
            format!("[[allow]]\npath = \"{token}.txt\"\nreason = \"r\"\n"),
            2,
            9,
        ),
        (
            format!("[[allow]]\npath = \"a\"\nreason = \"it is {token}\"\n"),
            3,
            17,
        ),
        (
            format!("# {token}\n[[allow]]\npath = \"a\"\nreason = \"r\"\n"),
            1,
            3,
        ),
        (
            format!("[[allow]]\npath = \"a\"\nreason = \"{toml_escaped}\"\n"),
            3,
            10,
        ),
        (
            format!("[[allow]]\npattern = \"{hex}\"\nreason = \"r\"\n"),
            2,
            1,
        ),
        (
            format!("[[allow]]\npattern = \"\\\\b{token}\\\\b\"\nreason = \"r\"\n"),
            2,
            1,
        ),
        (
            format!("[[allow]]\npattern = '{one_char_classes}'\nreason = \"r\"\n"),
            2,
            1,
        ),
        (
            format!(
                "[[allow]]\npath = \"a\"\nreason = \"{}\"\n",
                base64(format!("token: {token}").as_bytes())
            ),
            3,
            11,
        ),
        (format!("[[allow]\n# {token}\n"), 2, 3),
    ] {
        let err = parse(&text).expect_err(&text);
        let shown = err.to_string();
        assert!(!shown.contains(&token), "{shown}");
        assert!(shown.contains("must never contain a secret"), "{shown}");
        assert!(shown.contains(&fingerprint(token.as_bytes())), "{shown}");
        assert_eq!(err.line, line, "{shown}");
        if column > 1 {
            assert_eq!(err.column, column, "{shown}");
        }
    }
    let placeholder = ["cio", &"x".repeat(32)].concat();
    parse(&format!(
        "[[allow]]\npattern = \"^{placeholder}$\"\nreason = \"r\"\n"
    ))
    .unwrap();
}

#[test]
fn catch_all_entries_are_refused_with_the_reason() {
    for (selector, needle) in [
        ("pattern = \"\"", "matches the empty string"),
        ("pattern = \".*\"", "matches the empty string"),
        ("pattern = \"^\"", "matches the empty string"),
        ("pattern = \"x?\"", "matches the empty string"),
        ("pattern = \".\"", "matches every token"),
        ("pattern = \"cio\"", "matches every token"),
        ("pattern = \"(?i)C\"", "matches every token"),
        ("pattern = \"[A-Z]\"", "matches every token"),
        (
            "pattern = \"^cio[A-Za-z0-9]{32}$\"",
            "matches every crates.io API token",
        ),
        ("path = \"\"", "is empty"),
        ("path = \"/\"", "is empty"),
        ("path = \"*\"", "matches every file"),
        ("path = \"**\"", "matches every file"),
        ("path = \"/**\"", "matches every file"),
        ("path = \"**/*\"", "matches every file"),
        ("path = \"*/\"", "matches every file"),
        ("path = \"{*,.*}\"", "matches every file"),
        (
            "fingerprint = \"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"",
            "did you mean \"sha256:2cf24dba",
        ),
        (
            "pattern = \"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"",
            "did you mean fingerprint = \"sha256:2cf24dba",
        ),
    ] {
        let text = format!("[[allow]]\n{selector}\nreason = \"r\"\n");
        let err = parse(&text).expect_err(&text);
        assert!(err.message.contains(needle), "{text}: {err}");
        assert_eq!(err.line, 2, "{err}");
    }
    for selector in [
        "pattern = \"^cio_tp_\"",
        "pattern = \"Q\"",
        "path = \"*.snap\"",
        "path = \"tests/fixtures/\"",
        "path = \"/README.md\"",
    ] {
        parse(&format!("[[allow]]\n{selector}\nreason = \"r\"\n")).unwrap();
    }
}

#[test]
fn duplicates_are_paired_with_the_first_entry_like_them() {
    let list = parse(&format!(
        "[[allow]]\npath = \"a/\"\nreason = \"x\"\n\
         [[allow]]\nfingerprint = \"{FINGERPRINT}\"\nreason = \"y\"\n\
         [[allow]]\npath = \"a\"\nreason = \"z\"\n\
         [[allow]]\nfingerprint = \"{}\"\nreason = \"w\"\n",
        FINGERPRINT.to_ascii_uppercase().replace("SHA256", "sha256")
    ))
    .unwrap();
    let pairs: Vec<(&str, &str)> = list
        .duplicates()
        .into_iter()
        .map(|(entry, first)| (entry.origin.as_str(), first.origin.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (".ciokeyignore.toml:7", ".ciokeyignore.toml:1"),
            (".ciokeyignore.toml:10", ".ciokeyignore.toml:4"),
        ]
    );
}

#[test]
fn no_entry_allows_a_token_inside_an_allowlist_file() {
    let token = token();
    let fingerprint = fingerprint(token.as_bytes());
    let list = parse(&format!(
        "[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"r\"\n\
         [[allow]]\npath = \".ciokeyignore.toml\"\nreason = \"r\"\n"
    ))
    .unwrap();
    for path in [".ciokeyignore.toml", "sub/.ciokeyignore.toml"] {
        let verdict = list.verdict(Path::new(path), token.as_bytes(), &fingerprint);
        assert!(matches!(verdict, Verdict::NotListed), "{path}: {verdict:?}");
    }
    assert!(matches!(
        list.verdict(Path::new("a.txt"), token.as_bytes(), &fingerprint),
        Verdict::Allowed(_)
    ));
}

#[test]
fn a_baselined_entry_says_so_before_its_reason() {
    let list = parse(
        "[[allow]]\npath = \"a\"\nreason = \"fixture\"\n\
         [[allow]]\npath = \"b\"\nreason = \"already in history\"\nbaseline = 2026-11-23\n",
    )
    .unwrap();
    let shown: Vec<String> = list.entries.iter().map(Entry::shown_reason).collect();
    assert_eq!(
        shown,
        ["fixture", "baseline of 2026-11-23: already in history"]
    );
}

#[test]
fn fingerprints_are_sha256_and_64_hex_digits_in_either_case() {
    let hex = &FINGERPRINT["sha256:".len()..];
    assert_eq!(
        normalized_fingerprint(
            &FINGERPRINT
                .to_ascii_uppercase()
                .replace("SHA256:", "sha256:")
        ),
        Some(FINGERPRINT.to_string())
    );
    for malformed in [
        format!("sha256:{}", &hex[1..]),
        format!("sha256:{hex}0"),
        format!("sha256:{}g", &hex[1..]),
        format!("sha1:{hex}"),
        hex.to_string(),
    ] {
        assert_eq!(normalized_fingerprint(&malformed), None, "{malformed}");
    }
}

#[test]
fn the_snippets_template_reason_is_never_taken_as_a_reason() {
    for copied in [
        "why this is safe",
        "Why this is safe.",
        "  WHY THIS IS SAFE  ",
    ] {
        assert!(is_template_reason(copied), "{copied}");
    }
    for reason in [
        "why this is safe: a revoked fixture",
        "revoked test fixture",
        "",
    ] {
        assert!(!is_template_reason(reason), "{reason}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let refused = append_fingerprint_entry(&path, FINGERPRINT, "Why this is safe.", None)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("template's wording"), "{refused}");
    assert!(!path.exists(), "nothing written for a refused entry");
}

#[test]
fn appending_creates_a_missing_file_and_never_overwrites_one_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    append_fingerprint_entry(&path, FINGERPRINT, "fixture", Some(Day::today())).unwrap();
    assert_eq!(
        parse(&std::fs::read_to_string(&path).unwrap())
            .unwrap()
            .entries
            .len(),
        1
    );

    let past = Day::new(2000, 1, 1);
    let refused = append_fingerprint_entry(&path, FINGERPRINT, "fixture", past).unwrap_err();
    assert!(refused.to_string().contains("in the past"), "{refused}");

    let unreadable = dir.path().join("latin1").join(FILE_NAME);
    std::fs::create_dir(unreadable.parent().unwrap()).unwrap();
    std::fs::write(&unreadable, b"# caf\xe9\n").unwrap();
    let refused = append_fingerprint_entry(&unreadable, FINGERPRINT, "fixture", None).unwrap_err();
    assert!(format!("{refused:#}").contains("reading"), "{refused:#}");
    assert_eq!(std::fs::read(&unreadable).unwrap(), b"# caf\xe9\n");
}

#[test]
fn appended_entries_are_set_off_by_one_blank_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    append_fingerprint_entry(&path, FINGERPRINT, "fixture", None).unwrap();
    let created = std::fs::read_to_string(&path).unwrap();
    assert!(created.starts_with("[[allow]]\n"), "{created:?}");

    let unterminated = "[[allow]]\npath = \"a\"\nreason = \"r\"";
    std::fs::write(&path, unterminated).unwrap();
    append_fingerprint_entry(&path, FINGERPRINT, "fixture", None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(&format!("{unterminated}\n\n[[allow]]\n")),
        "{text:?}"
    );
}

#[test]
fn a_missing_allowlist_is_empty_unless_one_was_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(FILE_NAME);
    let shown = Path::new("team.toml");
    assert!(Allowlist::load(&missing, shown, false)
        .unwrap()
        .entries
        .is_empty());
    let refused = Allowlist::load(&missing, shown, true).unwrap_err();
    assert!(
        format!("{refused:#}").contains("reading team.toml"),
        "{refused:#}"
    );

    std::fs::write(&missing, "[[allow]]\npath = \"a\"\nreason = \"r\"\n").unwrap();
    let loaded = Allowlist::load(&missing, shown, true).unwrap();
    assert_eq!(loaded.entries[0].origin, "team.toml:1");

    for not_a_file in [dir.path(), &dir.path().join(FILE_NAME).join("below")] {
        assert!(
            Allowlist::load(not_a_file, shown, false).is_err(),
            "{not_a_file:?}"
        );
    }
    std::fs::write(&missing, b"# caf\xe9\n").unwrap();
    let refused = Allowlist::load(&missing, shown, false).unwrap_err();
    assert!(refused.to_string().contains("team.toml:1"), "{refused}");
    assert!(refused.to_string().contains("not valid UTF-8"), "{refused}");
}

#[test]
fn a_path_with_a_slash_is_anchored_at_the_root() {
    let list = parse("[[allow]]\npath = \"tests/fixtures\"\nreason = \"r\"\n").unwrap();
    let allowed =
        |path: &str| matches!(list.verdict(Path::new(path), b"x", ""), Verdict::Allowed(_));
    assert!(allowed("tests/fixtures/a.txt"));
    assert!(!allowed("crates/x/tests/fixtures/a.txt"));
}

#[test]
fn the_guards_try_sixteen_distinct_well_formed_tokens_of_each_kind() {
    let (api, trusted) = sample_tokens();
    for (kind, tokens) in [("api", &api), ("trusted publishing", &trusted)] {
        assert_eq!(tokens.len(), 16, "{kind}");
        let distinct: std::collections::HashSet<&String> = tokens.iter().collect();
        assert_eq!(distinct.len(), 16, "{kind}");
        for token in tokens {
            let found = crate::detect::find_tokens(token.as_bytes());
            assert_eq!(found.len(), 1, "{kind}");
            assert_eq!(found[0].end - found[0].start, token.len(), "{kind}");
            assert!(!found[0].placeholder, "{kind}");
        }
    }
    assert!(api.iter().all(|token| !token.starts_with("cio_tp_")));
    assert!(trusted.iter().all(|token| token.starts_with("cio_tp_")));
}
