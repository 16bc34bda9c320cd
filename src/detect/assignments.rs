//! Literal values assigned to cargo's token environment variables, `CARGO_REGISTRY_TOKEN` and
//! `CARGO_REGISTRIES_<NAME>_TOKEN`, in shell, `.env`, YAML, JSON, TOML, Dockerfiles and code.
//!
//! Whatever the token's format (an alternative registry's tokens are not `cio…`), a literal
//! there is a secret. References (`$X`, `${X}`, `${{ secrets.X }}`, `%X%`, `{{ .Values.x }}`)
//! and empty values are not.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::placeholder::{after_auth_scheme, auth_scheme_len};

/// The variable names, as cargo reads them (registry names are upper-cased, `-` becomes `_`).
static VARIABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)CARGO_REGISTR(?:Y|IES_[A-Z0-9_]+)_TOKEN").unwrap());

/// The literal that searching for a variable starts from.
pub const VARIABLE_PREFIX: &[u8] = b"CARGO_REGISTR";

/// A literal assigned to a token variable: `value_start..value_end` is the value without quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub value_start: usize,
    pub value_end: usize,
    /// The alternative registry the variable is for, lowercased (`corp` for
    /// `CARGO_REGISTRIES_CORP_TOKEN`); `None` for `CARGO_REGISTRY_TOKEN`, crates.io's.
    pub registry: Option<String>,
}

/// Literal assignments to cargo token variables in one line. In source code (`code_file`), only
/// quoted values count: an unquoted value there is an identifier, not a secret.
pub fn find_assignments(line: &[u8], code_file: bool) -> Vec<Assignment> {
    if memchr::memmem::find(line, VARIABLE_PREFIX).is_none() {
        return Vec::new();
    }
    let dockerfile_env = {
        let first_word = line.trim_ascii_start().get(..4).unwrap_or_default();
        first_word.eq_ignore_ascii_case(b"ENV ") || first_word.eq_ignore_ascii_case(b"ARG ")
    };
    let mut found = Vec::new();
    for name in VARIABLE.find_iter(line) {
        let before_ok = name.start() == 0 || !is_name_byte(line[name.start() - 1]);
        let after_ok = line.get(name.end()).is_none_or(|&byte| !is_name_byte(byte));
        if !before_ok || !after_ok {
            continue;
        }
        if let Some(mut value) = value_after(line, name.end(), code_file, dockerfile_env) {
            value.registry = name
                .as_bytes()
                .strip_prefix(b"CARGO_REGISTRIES_")
                .and_then(|rest| rest.strip_suffix(b"_TOKEN"))
                .map(|registry| String::from_utf8_lossy(registry).to_lowercase());
            found.push(value);
        }
    }
    found
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The literal assigned after a variable name ending at `index`, if the text there is an
/// assignment and the value is a literal.
fn value_after(
    line: &[u8],
    mut index: usize,
    code_file: bool,
    space_separates: bool,
) -> Option<Assignment> {
    let peek = |index: usize| line.get(index).copied();
    // A closing quote or bracket of a key: `"NAME": …`, `environ["NAME"] = …`.
    while matches!(peek(index), Some(b'"' | b'\'' | b']')) {
        index += 1;
    }
    let spaced = matches!(peek(index), Some(b' ' | b'\t'));
    while matches!(peek(index), Some(b' ' | b'\t')) {
        index += 1;
    }
    let mut comma_separated = false;
    match peek(index) {
        Some(b'=') => index += 1,
        Some(b'?' | b'+' | b':') if peek(index + 1) == Some(b'=') => index += 2,
        Some(b':') => index += 1,
        Some(b',') => {
            comma_separated = true;
            index += 1;
        }
        _ if space_separates && spaced => {}
        _ => return None,
    }
    while matches!(peek(index), Some(b' ' | b'\t')) {
        index += 1;
    }
    let (value_start, value_end) = match peek(index) {
        Some(quote @ (b'"' | b'\'' | b'`')) => {
            let start = index + 1;
            let length = memchr::memchr(quote, &line[start..])?;
            (start, start + length)
        }
        _ if code_file || comma_separated => return None,
        _ => {
            // `X=Bearer <token>` unquoted: the value is the scheme and the word after it.
            let start = index;
            let word_end = |from: usize| {
                from + line[from..]
                    .iter()
                    .position(|&byte| byte.is_ascii_whitespace() || b"\"';,}])#&|".contains(&byte))
                    .unwrap_or(line.len() - from)
            };
            let mut end = word_end(start);
            if auth_scheme_len(&line[start..]) == Some(end - start) {
                let credential = end
                    + line[end..]
                        .iter()
                        .take_while(|&&byte| byte == b' ' || byte == b'\t')
                        .count();
                if word_end(credential) > credential {
                    end = word_end(credential);
                }
            }
            (start, end)
        }
    };
    let value = &line[value_start..value_end];
    let credential = after_auth_scheme(value).unwrap_or(value);
    if value.is_empty() || is_reference(value) || is_reference(credential) {
        return None;
    }
    Some(Assignment {
        value_start,
        value_end,
        registry: None,
    })
}

/// `$X`, `${X}`, `${{ secrets.X }}`, `%X%`, `{{ template }}`, YAML block scalars and anchors:
/// values that point at a secret rather than hold one.
pub fn is_reference(value: &[u8]) -> bool {
    matches!(value.first(), Some(b'$' | b'|' | b'>' | b'*' | b'&' | b'!'))
        || value.starts_with(b"{{")
        || value.starts_with(b"<%")
        || (value.len() > 2 && value.starts_with(b"%") && value.ends_with(b"%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(line: &str, code_file: bool) -> Vec<&str> {
        find_assignments(line.as_bytes(), code_file)
            .into_iter()
            .map(|found| &line[found.value_start..found.value_end])
            .collect()
    }

    #[test]
    fn finds_literals_in_each_syntax() {
        for (line, value) in [
            ("CARGO_REGISTRY_TOKEN=s3cr3tvalue", "s3cr3tvalue"),
            (
                "export CARGO_REGISTRY_TOKEN=\"s3cr3t value\"",
                "s3cr3t value",
            ),
            ("  CARGO_REGISTRY_TOKEN: s3cr3tvalue", "s3cr3tvalue"),
            (
                "  \"CARGO_REGISTRY_TOKEN\": \"s3cr3tvalue\",",
                "s3cr3tvalue",
            ),
            ("ENV CARGO_REGISTRY_TOKEN s3cr3tvalue", "s3cr3tvalue"),
            ("ENV CARGO_REGISTRY_TOKEN=s3cr3tvalue", "s3cr3tvalue"),
            ("CARGO_REGISTRIES_MY_REG_TOKEN='s3cr3tvalue'", "s3cr3tvalue"),
            (
                "- CARGO_REGISTRIES_INTERNAL_TOKEN=s3cr3tvalue",
                "s3cr3tvalue",
            ),
            ("$env:CARGO_REGISTRY_TOKEN = \"s3cr3tvalue\"", "s3cr3tvalue"),
            ("CARGO_REGISTRY_TOKEN := s3cr3tvalue", "s3cr3tvalue"),
            (
                "CARGO_REGISTRIES_ART_TOKEN=Bearer s3cr3tvalue # comment",
                "Bearer s3cr3tvalue",
            ),
            (
                "  CARGO_REGISTRY_TOKEN: bearer\ts3cr3tvalue",
                "bearer\ts3cr3tvalue",
            ),
            ("CARGO_REGISTRY_TOKEN=Bearer", "Bearer"),
            ("CARGO_REGISTRY_TOKEN=Bearer ", "Bearer"),
            ("CARGO_REGISTRY_TOKEN=Bearerish s3cr3tvalue", "Bearerish"),
        ] {
            assert_eq!(values(line, false), vec![value], "{line}");
        }
    }

    #[test]
    fn code_needs_quoted_values() {
        assert_eq!(
            values(
                "env::set_var(\"CARGO_REGISTRY_TOKEN\", \"s3cr3tvalue\");",
                true
            ),
            vec!["s3cr3tvalue"]
        );
        assert_eq!(
            values(
                "os.environ[\"CARGO_REGISTRY_TOKEN\"] = \"s3cr3tvalue\"",
                true
            ),
            vec!["s3cr3tvalue"]
        );
        assert!(values("os.environ[\"CARGO_REGISTRY_TOKEN\"] = token", true).is_empty());
        assert!(values("let t = env::var(\"CARGO_REGISTRY_TOKEN\")?;", true).is_empty());
    }

    #[test]
    fn references_and_prose_are_not_literals() {
        for line in [
            "CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}",
            "CARGO_REGISTRY_TOKEN=$CARGO_REGISTRY_TOKEN",
            "export CARGO_REGISTRY_TOKEN=\"${TOKEN}\"",
            "set CARGO_REGISTRY_TOKEN=%TOKEN%",
            "CARGO_REGISTRY_TOKEN=",
            "CARGO_REGISTRY_TOKEN: \"\"",
            "token: {{ .Values.CARGO_REGISTRY_TOKEN }}",
            "Set CARGO_REGISTRY_TOKEN in your CI secrets.",
            "Where is CARGO_REGISTRY_TOKEN? Ask the release team.",
            "Is CARGO_REGISTRY_TOKEN+1 a thing?",
            "MY_CARGO_REGISTRY_TOKEN_FILE=/run/secret",
            // Other variables whose names hold cargo's: not read by cargo.
            "MY_CARGO_REGISTRY_TOKEN=s3cr3tvalue",
            "export OLD_CARGO_REGISTRIES_CORP_TOKEN=s3cr3tvalue",
            "x9CARGO_REGISTRY_TOKEN: s3cr3tvalue",
            "CARGO_REGISTRY_TOKEN_PATH=/run/secret",
            "CARGO_REGISTRY_TOKEN: |",
            "CARGO_REGISTRIES_ART_TOKEN: Bearer ${{ secrets.ART_TOKEN }}",
            "export CARGO_REGISTRIES_ART_TOKEN=\"Bearer $ART_TOKEN\"",
        ] {
            assert!(values(line, false).is_empty(), "{line}");
        }
    }

    #[test]
    fn only_whole_percent_variables_are_references() {
        for reference in [
            "%TOKEN%",
            "$TOKEN",
            "${{ secrets.T }}",
            "{{ t }}",
            "<%= t %>",
            "|",
        ] {
            assert!(is_reference(reference.as_bytes()), "{reference}");
        }
        for literal in ["s3cr3t%", "%s3cr3t", "%%", "s3cr3t"] {
            assert!(!is_reference(literal.as_bytes()), "{literal}");
        }
    }
}
