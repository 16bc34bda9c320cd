//! A commit message before it is committed, as git hands it to the commit-msg hook.

use std::borrow::Cow;
use std::path::Path;

use anyhow::{Context, Result};
use memchr::memmem;

use super::{AddedContent, AddedText, COMMIT_MESSAGE};
use crate::detect::may_contain_secret;

/// The line `git commit -v` writes, after the comment character, above the diff it shows; git
/// drops that line and everything below it from the message.
const SCISSORS: &[u8] = b" ------------------------ >8 ------------------------";

/// Calls `sink` with the message in the file at `path`, every line of it new. Comment lines are
/// scanned too (with `git commit -m` they stay in the message); only the diff that
/// `git commit -v` shows below its scissors line is left out, since git drops it.
pub fn added_in_message_file(
    path: &Path,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    let content = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let message = without_verbose_diff(&content);
    if may_contain_secret(COMMIT_MESSAGE, message) {
        sink(AddedText {
            path: COMMIT_MESSAGE.to_vec(),
            commit: None,
            content: AddedContent::Text(Cow::Borrowed(message)),
            file_text: None,
        })?;
    }
    Ok(())
}

/// `message` up to git's scissors line, when a diff follows it (as `git commit -v` writes it);
/// otherwise all of it.
fn without_verbose_diff(message: &[u8]) -> &[u8] {
    let mut start = 0;
    for line in message.split_inclusive(|&byte| byte == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let is_scissors = text.strip_suffix(SCISSORS).is_some_and(|comment| {
            !comment.is_empty() && !comment.iter().any(u8::is_ascii_whitespace)
        });
        if is_scissors && memmem::find(&message[start..], b"\ndiff --git ").is_some() {
            return &message[..start];
        }
        start += line.len();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_diff_below_the_scissors_is_left_out() {
        let scissors = format!("#{}", String::from_utf8_lossy(SCISSORS));
        let verbose = format!(
            "subject\n\n# comment\n{scissors}\n# Do not modify the line above.\ndiff --git a/x b/x\n-old\n"
        );
        assert_eq!(
            without_verbose_diff(verbose.as_bytes()),
            b"subject\n\n# comment\n"
        );
        // Without a diff after it, the line is an ordinary part of the message.
        let typed = format!("subject\n{scissors}\nmore\n");
        assert_eq!(without_verbose_diff(typed.as_bytes()), typed.as_bytes());
        assert_eq!(without_verbose_diff(b"plain"), b"plain");
    }
}
