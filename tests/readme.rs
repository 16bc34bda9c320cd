//! The README and the user guide under `docs/` are read rendered (on a forge, in an editor's
//! preview), so they must render as they were written: a CommonMark parser is the judge. Every
//! fenced code block closes on a bare fence, no heading is swallowed by a code block, the sections
//! people look for are real headings, and every link between the pages reaches a page and heading
//! that exist.

mod common;

use std::ops::Range;
use std::path::Path;

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

/// Most of the README is the user guide's front page: past this many lines it is a manual again.
const README_MAX_LINES: usize = 260;

/// A fenced code block as the parser sees it: its lines (1-based, both fences included).
struct CodeBlock {
    lines: Range<usize>,
}

/// What the parser made of a Markdown text.
struct Rendered {
    /// Each heading's line and text.
    headings: Vec<(usize, String)>,
    code_blocks: Vec<CodeBlock>,
    /// Each link's line and destination.
    links: Vec<(usize, String)>,
}

fn render(text: &str) -> Rendered {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut headings = Vec::new();
    let mut code_blocks = Vec::new();
    let mut links = Vec::new();
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
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push((line_of(range.start), dest_url.to_string()))
            }
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
        links,
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

/// The anchor a forge gives a heading: lowercase, spaces as `-`, punctuation other than `-` and
/// `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The README and every page of the user guide, as (path relative to the checkout, text).
fn pages() -> Vec<(String, String)> {
    let root = common::checkout();
    let mut pages = vec![(
        "README.md".to_string(),
        std::fs::read_to_string(root.join("README.md")).unwrap(),
    )];
    let mut guide: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/, the user guide")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    guide.sort();
    for path in guide {
        let name = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
        pages.push((name, std::fs::read_to_string(&path).unwrap()));
    }
    pages
}

/// Every relative link of every page that names a missing file, or a heading its page lacks.
fn broken_links(pages: &[(String, String)]) -> Vec<String> {
    let anchors_of = |name: &str| -> Option<Vec<String>> {
        let (_, text) = pages.iter().find(|(page, _)| page == name)?;
        Some(
            render(text)
                .headings
                .iter()
                .map(|(_, h)| anchor(h))
                .collect(),
        )
    };
    let root = common::checkout();
    let mut problems = Vec::new();
    for (name, text) in pages {
        let dir = Path::new(name).parent().unwrap_or(Path::new(""));
        for (line, dest) in render(text).links {
            if dest.contains("://") || dest.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match dest.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (dest.as_str(), None),
            };
            let target = if file.is_empty() {
                name.clone()
            } else {
                normalise(&dir.join(file))
            };
            if !root.join(&target).exists() {
                problems.push(format!("{name}:{line}: the link {dest:?} names no file"));
                continue;
            }
            if let Some(fragment) = fragment {
                match anchors_of(&target) {
                    Some(anchors) if !anchors.iter().any(|a| a == fragment) => problems.push(
                        format!("{name}:{line}: {target} has no heading for #{fragment}"),
                    ),
                    _ => {}
                }
            }
        }
    }
    problems
}

/// `docs/../README.md` as `README.md`.
fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[test]
fn the_guide_renders_as_written_and_its_links_hold() {
    let pages = pages();
    assert!(pages.len() > 5, "the user guide has its pages");
    let mut problems = Vec::new();
    for (name, text) in &pages {
        problems.extend(rendering_problems(name, text));
    }
    problems.extend(broken_links(&pages));
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    let readme_lines = pages[0].1.lines().count();
    assert!(
        readme_lines <= README_MAX_LINES,
        "README.md has {readme_lines} lines; it is the front page (at most {README_MAX_LINES}): \
         move detail into docs/"
    );
}

#[test]
fn the_link_check_catches_a_missing_page_and_heading() {
    let pages = vec![
        (
            "README.md".to_string(),
            "# Top\n\nSee [guide](docs/guide.md#the-part) and [gone](docs/gone.md).\n".to_string(),
        ),
        (
            "docs/guide.md".to_string(),
            "# Guide\n\n## Another part\n\n[back](../README.md#top)\n".to_string(),
        ),
    ];
    let problems = broken_links(&pages);
    assert!(
        problems.iter().any(|p| p.contains("docs/gone.md")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("#the-part")),
        "{problems:?}"
    );
    assert_eq!(
        anchor("Reports: text, JSON, SARIF"),
        "reports-text-json-sarif"
    );
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

/// Every program the tests start, and how the README names it.
const TEST_PREREQUISITES: &[&str] = &["git", "python3", "lighttpd"];

/// The README's first screen names every program the test suite needs: a test whose tool is
/// missing fails, and a new user should know that before running `cargo test`.
#[test]
fn readme_first_screen_names_every_test_prerequisite() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let first_screen: String = readme.lines().take(30).collect::<Vec<_>>().join("\n");
    let missing: Vec<&str> = TEST_PREREQUISITES
        .iter()
        .copied()
        .filter(|tool| !first_screen.contains(&format!("`{tool}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "the README's first 30 lines do not name {missing:?}"
    );
}
