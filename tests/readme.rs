//! The README is read rendered (on a forge, in an editor's preview), so it must render as it was
//! written: a CommonMark parser is the judge. Every fenced code block closes on a bare fence, no
//! heading is swallowed by a code block, and the sections people look for are real headings.

mod common;

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// Headings the rest of the documentation and the issue tracker point readers to.
const EXPECTED_HEADINGS: &[&str] = &[
    "On a new machine",
    "What a blocked commit looks like",
    "Commands",
    "What is detected",
    "Reports: text, JSON, SARIF",
    "Exit codes",
];

/// A fenced code block as the parser sees it: its lines (1-based, both fences included).
struct CodeBlock {
    lines: Range<usize>,
}

/// What the parser made of a Markdown text.
struct Rendered {
    /// Each heading's line and text.
    headings: Vec<(usize, String)>,
    code_blocks: Vec<CodeBlock>,
}

fn render(text: &str) -> Rendered {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut headings = Vec::new();
    let mut code_blocks = Vec::new();
    let mut heading: Option<(usize, String)> = None;
    for (event, range) in Parser::new_ext(text, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                heading = Some((line_of(range.start), String::new()))
            }
            Event::Text(part) | Event::Code(part) => {
                if let Some((_, heading_text)) = &mut heading {
                    heading_text.push_str(&part);
                }
            }
            Event::End(TagEnd::Heading(_)) => headings.extend(heading.take()),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                let end = range.end.max(range.start + 1);
                code_blocks.push(CodeBlock {
                    lines: line_of(range.start)..line_of(end - 1) + 1,
                });
            }
            _ => {}
        }
    }
    Rendered {
        headings,
        code_blocks,
    }
}

/// A fence line: its character (`` ` `` or `~`), its length, and the text after it.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let line = line.trim_start();
    let fence_char = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = line.chars().take_while(|c| *c == fence_char).count();
    (length >= 3).then(|| (fence_char, length, line[length..].trim()))
}

/// An ATX heading line (`# Title` … `###### Title`).
fn looks_like_heading(line: &str) -> bool {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    (1..=6).contains(&hashes) && line[hashes..].starts_with([' ', '\t'])
}

/// Every rendering mistake in `text`, one message per mistake, `NAME:LINE: …`.
fn rendering_problems(name: &str, text: &str) -> Vec<String> {
    let rendered = render(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    for block in &rendered.code_blocks {
        let opening = block.lines.start;
        let Some((fence_char, length, _)) = fence(lines[opening - 1]) else {
            continue;
        };
        let is_closing = |line: &str| {
            fence(line)
                .is_some_and(|(c, n, rest)| c == fence_char && n >= length && rest.is_empty())
        };
        let last = block.lines.end - 1;
        if last == opening || !is_closing(lines[last - 1]) {
            problems.push(format!(
                "{name}:{opening}: this code block is never closed, so the rest of the file \
                 renders as code"
            ));
        }
        for number in opening + 1..last {
            let line = lines[number - 1];
            if let Some((c, n, rest)) = fence(line) {
                if c == fence_char && n >= length && !rest.is_empty() {
                    problems.push(format!(
                        "{name}:{number}: `{line}` does not close the code block opened on line \
                         {opening}: a closing fence cannot carry text; put the text on a line of \
                         its own"
                    ));
                }
            }
        }
    }
    // What the author meant: fences toggle on any fence line, text after it or not; headings
    // outside them are headings.
    let mut open_fence: Option<(char, usize)> = None;
    for (index, line) in lines.iter().enumerate() {
        if let Some((c, n, _)) = fence(line) {
            match open_fence {
                None => open_fence = Some((c, n)),
                Some((open_char, open_length)) if c == open_char && n >= open_length => {
                    open_fence = None
                }
                Some(_) => {}
            }
            continue;
        }
        let number = index + 1;
        if open_fence.is_none()
            && looks_like_heading(line)
            && !rendered.headings.iter().any(|(at, _)| *at == number)
        {
            let inside = rendered
                .code_blocks
                .iter()
                .find(|block| block.lines.contains(&number))
                .map(|block| {
                    format!(
                        " (it is inside the code block opened on line {})",
                        block.lines.start
                    )
                })
                .unwrap_or_default();
            problems.push(format!(
                "{name}:{number}: `{line}` does not render as a heading{inside}"
            ));
        }
    }
    problems
}

#[test]
fn readme_renders_as_written() {
    let path = common::checkout().join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let problems = rendering_problems("README.md", &text);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    let headings: Vec<String> = render(&text)
        .headings
        .into_iter()
        .map(|(_, heading)| heading)
        .collect();
    for expected in EXPECTED_HEADINGS {
        assert!(
            headings.iter().any(|heading| heading == expected),
            "README.md has no heading {expected:?}; its headings: {headings:?}"
        );
    }
}

#[test]
fn the_check_catches_each_mistake() {
    let closing_with_text = "# Title\n\n```toml\nkey = 1\n``` Then prose.\n\n## Next\n\ntext\n";
    let problems = rendering_problems("doc.md", closing_with_text);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("doc.md:5:") && p.contains("cannot carry text")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("doc.md:7:") && p.contains("opened on line 3")),
        "{problems:?}"
    );

    let unclosed = "# Title\n\n```sh\nls\n\n## Next\n";
    let problems = rendering_problems("doc.md", unclosed);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("doc.md:3:") && p.contains("never closed")),
        "{problems:?}"
    );

    let fine = "# Title\n\n```sh\n# a shell comment\n````\n\n  ```yaml\n  a: 1\n  ```\n\n## Next\n";
    assert_eq!(rendering_problems("doc.md", fine), Vec::<String>::new());
    let headings: Vec<String> = render(fine).headings.into_iter().map(|(_, h)| h).collect();
    assert_eq!(headings, ["Title", "Next"]);
}
