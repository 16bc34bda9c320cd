//! Files cargo reads registry tokens from: credentials files (`credentials.toml`, or the older
//! extension-less `credentials`) and config files (`.cargo/config.toml`, or the older
//! `.cargo/config`), where cargo accepts the same keys. A literal `token` under `[registry]` or
//! `[registries.NAME]` is a secret whatever its format, which also covers alternative registries
//! whose token shape is unknown.
//!
//! The section a line belongs to may be set by a header the change did not touch, so this rule
//! reads the whole new file and the caller keeps the matches on added lines.

/// Whether `path` (relative, `/`-separated) names a file cargo reads registry tokens from: a
/// credentials file anywhere, or a config file in a `.cargo` directory.
pub fn is_credentials_path(path: &[u8]) -> bool {
    let mut components = path.rsplit(|&byte| byte == b'/');
    let name = components.next().unwrap_or(path);
    let parent = components.next();
    name == b"credentials"
        || name == b"credentials.toml"
        || (parent == Some(b".cargo") && (name == b"config" || name == b"config.toml"))
}

/// A token literal in a credentials file: 1-based line number and the value's span in that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsToken {
    pub line: u32,
    pub value_start: usize,
    pub value_end: usize,
    /// The alternative registry the token is for (`corp` for `[registries.corp]` or
    /// `registries.corp.token`); `None` for `[registry]`, crates.io's.
    pub registry: Option<String>,
}

/// Where the lines of a credentials file are, as TOML tables go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Table {
    /// The top level, where dotted keys such as `registry.token` may appear.
    Root,
    /// `[registry]` (crates.io's, `None`) or `[registries.NAME]`.
    Registry(Option<String>),
    /// Any other table.
    Other,
}

/// Every `token = "literal"` that sets a registry token in `content`.
pub fn find_tokens_in_file(content: &[u8]) -> Vec<CredentialsToken> {
    let mut table = Table::Root;
    let mut found = Vec::new();
    for (index, line) in content.split(|&byte| byte == b'\n').enumerate() {
        let trimmed = line.trim_ascii();
        if trimmed.starts_with(b"[") {
            table = table_of(trimmed);
            continue;
        }
        let Some(equals) = memchr::memchr(b'=', line) else {
            continue;
        };
        let key: Vec<u8> = line[..equals]
            .iter()
            .filter(|&&byte| !byte.is_ascii_whitespace() && byte != b'"' && byte != b'\'')
            .copied()
            .collect();
        let registry = match &table {
            Table::Registry(registry) if key == b"token" => Some(registry.clone()),
            Table::Root if key == b"registry.token" => Some(None),
            Table::Root => key
                .strip_prefix(b"registries.")
                .and_then(|rest| rest.strip_suffix(b".token"))
                .filter(|name| !name.is_empty())
                .map(|name| Some(String::from_utf8_lossy(name).into_owned())),
            _ => None,
        };
        let Some(registry) = registry else {
            continue;
        };
        if let Some((value_start, value_end)) = string_value(line, equals + 1) {
            found.push(CredentialsToken {
                line: index as u32 + 1,
                value_start,
                value_end,
                registry,
            });
        }
    }
    found
}

fn table_of(header: &[u8]) -> Table {
    let name: Vec<u8> = header
        .iter()
        .filter(|&&byte| !b"[] \t\"'".contains(&byte))
        .copied()
        .collect();
    let name = name.split(|&byte| byte == b'#').next().unwrap_or_default();
    if name == b"registry" {
        Table::Registry(None)
    } else if let Some(registry) = name
        .strip_prefix(b"registries.")
        .filter(|registry| !registry.is_empty())
    {
        Table::Registry(Some(String::from_utf8_lossy(registry).into_owned()))
    } else {
        Table::Other
    }
}

/// The span of a quoted string value starting after `index`, when it is a literal: not empty and
/// not a reference such as `{{ crates_token }}` or `${TOKEN}` in a templated file.
fn string_value(line: &[u8], index: usize) -> Option<(usize, usize)> {
    let offset = line[index..]
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())?;
    let quote_at = index + offset;
    let quote = line[quote_at];
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let start = quote_at + 1;
    let length = memchr::memchr(quote, &line[start..])?;
    let value = &line[start..start + length];
    let is_literal = !value.is_empty() && !super::assignments::is_reference(value);
    is_literal.then_some((start, start + length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_credentials_files() {
        assert!(is_credentials_path(b".cargo/credentials.toml"));
        assert!(is_credentials_path(b"credentials"));
        assert!(!is_credentials_path(b"docs/credentials.md"));
        assert!(!is_credentials_path(b"my-credentials"));
        assert!(is_credentials_path(b".cargo/config.toml"));
        assert!(is_credentials_path(b"crates/x/.cargo/config"));
        assert!(!is_credentials_path(b"config.toml"));
        assert!(!is_credentials_path(b"settings/config.toml"));
        assert!(!is_credentials_path(b".cargo/config.toml.bak"));
    }

    #[test]
    fn finds_registry_tokens_only() {
        let file = "\
[registry]
token = \"secret-one\"

[registries.internal]
token = 'secret-two'
index = \"sparse+https://example.com/\"

[registries.\"quoted\"]  # comment
\"token\" = \"secret-three\"

[other]
token = \"not-a-registry\"

[source.crates-io-mirror]
token = \"not-a-registry-either\"

[registry]
token = \"\"

[registries.templated]
token = \"{{ vault_crates_token }}\"
";
        let found = find_tokens_in_file(file.as_bytes());
        let lines: Vec<u32> = found.iter().map(|token| token.line).collect();
        assert_eq!(lines, vec![2, 5, 9]);
        let line = file.lines().nth(1).unwrap();
        assert_eq!(
            &line[found[0].value_start..found[0].value_end],
            "secret-one"
        );
    }

    #[test]
    fn finds_dotted_keys_at_the_top_level() {
        let file = "registry.token = \"a-secret\"\nhttp.user-agent = \"ci\"\n\
                    registries.x.token = \"b-secret\"\nregistries..token = \"c\"\n";
        let lines: Vec<u32> = find_tokens_in_file(file.as_bytes())
            .iter()
            .map(|token| token.line)
            .collect();
        assert_eq!(lines, [1, 3]);
    }
}
