//! `--help` as a new user reads it: each command's own options apart from the global ones,
//! options a command refuses or ignores left out, the long `--format` text said once (on the
//! top level), and the revision forms and examples `scan-range` accepts.

mod common;

use common::Repo;

fn help(args: &[&str]) -> String {
    let repo = Repo::new();
    let run = repo.cio_hook(args);
    run.expect_code(0);
    run.stdout
}

/// The lines of `text` under the heading `heading` (up to the next blank-line-separated heading).
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|line| *line != heading)
        .skip(1)
        .take_while(|line| line.is_empty() || line.starts_with(' '))
        .collect()
}

#[test]
fn global_options_have_their_own_heading() {
    let text = help(&["scan-range", "--help"]);
    let global = section(&text, "Global options:").join("\n");
    for option in ["-C <DIR>", "--config <PATH>", "--format <FORMAT>"] {
        assert!(
            global.contains(option),
            "{option} not under Global options:\n{text}"
        );
    }
    let own = section(&text, "Options:").join("\n");
    assert!(!own.contains("--config"), "{text}");
}

#[test]
fn options_a_command_refuses_or_ignores_are_not_shown_on_it() {
    for command in [
        "check-config",
        "install",
        "uninstall",
        "baseline",
        "pre-receive",
    ] {
        let text = help(&[command, "--help"]);
        assert!(!text.contains("--format"), "{command}:\n{text}");
    }
    for command in [
        "check-config",
        "install",
        "uninstall",
        "allow",
        "verify",
        "revoke",
    ] {
        let text = help(&[command, "--help"]);
        assert!(!text.contains("--hook"), "{command}:\n{text}");
        assert!(!text.contains("--verbose"), "{command}:\n{text}");
    }
    let verify = help(&["verify", "--help"]);
    assert!(verify.contains("--format <FORMAT>"), "{verify}");
    assert!(verify.contains("text or json"), "{verify}");
    assert!(!verify.contains("sarif"), "{verify}");
}

#[test]
fn the_long_format_text_is_said_once_on_the_top_level() {
    let top = help(&["--help"]);
    assert!(top.contains("verify, revoke: text, json"), "{top}");
    for command in ["scan-staged", "scan-range", "verify"] {
        let text = help(&[command, "--help"]);
        assert!(
            !text.contains("verify, revoke: text, json"),
            "{command}:\n{text}"
        );
        assert!(!text.contains("Possible values:"), "{command}:\n{text}");
    }
}

#[test]
fn scan_range_help_lists_every_revision_form_with_examples() {
    let text = help(&["scan-range", "--help"]);
    for form in ["A..B", "A...B", "X^!", "X^-N", "X^@", "Examples:"] {
        assert!(text.contains(form), "{form}:\n{text}");
    }
    let top = help(&["--help"]);
    assert!(top.contains("Examples:"), "{top}");
}
