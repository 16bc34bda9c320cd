//! The server gate on large pushes: a first push of 2,000+ commits arrives as one pack in git's
//! quarantine, and `cio-hook pre-receive` takes its pack pass over that pack. Through real
//! `git push` over a path, `git daemon` and smart HTTP, it must still find a token in the
//! middle of the history, one that only an evil merge adds, and one in an annotated tag's
//! message; and say the same as a server that keeps the push's objects loose (no pack to read).

mod common;

use std::collections::HashMap;

use common::servers::{GitServer, Transport};
use common::{api_token, Repo, Run};

/// Commits on main; the token lives in the middle one, is removed by the next, the side branch
/// forks at `SIDE_FORK` and is merged back (evilly) at `MERGE_AT`, and the tag sits at `TAG_AT`.
const COMMITS: u64 = 2200;
const TOKEN_AT: u64 = 1100;
const SIDE_FORK: u64 = 1000;
const MERGE_AT: u64 = 1800;
const TAG_AT: u64 = 2000;

/// The pushed history, with the commits and tokens the server must report.
struct History {
    repo: Repo,
    tokens: [String; 3],
    middle: String,
    merge: String,
}

fn history() -> History {
    let repo = Repo::new();
    let tokens = [api_token(9101), api_token(9102), api_token(9103)];
    let mut stream = String::new();
    let commit = |stream: &mut String,
                  mark: u64,
                  branch: &str,
                  parents: &[u64],
                  files: &[(String, String)]| {
        let message = format!("commit {mark}\n");
        stream.push_str(&format!(
            "commit refs/heads/{branch}\nmark :{mark}\ncommitter T <t@example.invalid> {} +0000\n\
             data {}\n{message}",
            1_600_000_000 + mark,
            message.len()
        ));
        for (index, parent) in parents.iter().enumerate() {
            let verb = if index == 0 { "from" } else { "merge" };
            stream.push_str(&format!("{verb} :{parent}\n"));
        }
        for (path, content) in files {
            stream.push_str(&format!(
                "M 100644 inline {path}\ndata {}\n{content}\n",
                content.len()
            ));
        }
    };
    let side_file = |number: u64| {
        (
            "side/notes.txt".to_string(),
            format!("side note {number}\n"),
        )
    };
    for number in 1..=COMMITS {
        let path = format!("dir{}/file{}.txt", number % 5, number % 11);
        let mut content = format!("value {number}\n");
        if number == TOKEN_AT {
            content.push_str(&format!("registry_token = \"{}\"\n", tokens[0]));
        }
        let parents: Vec<u64> = if number == 1 {
            vec![]
        } else {
            vec![number - 1]
        };
        let mut files = vec![(path, content)];
        if number == MERGE_AT {
            // Merges the side branch's last commit and adds a file neither parent has.
            files.push(side_file(3));
            files.push((
                "merged.env".to_string(),
                format!("CARGO_REGISTRY_TOKEN={}\n", tokens[1]),
            ));
            commit(
                &mut stream,
                number,
                "main",
                &[number - 1, COMMITS + 3],
                &files,
            );
        } else {
            commit(&mut stream, number, "main", &parents, &files);
        }
        if number == SIDE_FORK {
            for side in 1..=3 {
                let parent = if side == 1 {
                    SIDE_FORK
                } else {
                    COMMITS + side - 1
                };
                commit(
                    &mut stream,
                    COMMITS + side,
                    "side",
                    &[parent],
                    &[side_file(side)],
                );
            }
        }
        if number == TAG_AT {
            let message = format!("release\n\npublished with {}\n", tokens[2]);
            stream.push_str(&format!(
                "tag v1\nfrom :{number}\ntagger T <t@example.invalid> 1700000000 +0000\ndata {}\n{message}",
                message.len()
            ));
        }
    }
    let marks = repo.sibling("marks");
    repo.git_with_input(
        &[
            "fast-import",
            "--quiet",
            &format!("--export-marks={}", marks.display()),
        ],
        &stream,
    )
    .expect_code(0);
    let marks: HashMap<u64, String> = std::fs::read_to_string(&marks)
        .unwrap()
        .lines()
        .map(|line| {
            let (mark, oid) = line.split_once(' ').unwrap();
            (
                mark.trim_start_matches(':').parse().unwrap(),
                oid.to_string(),
            )
        })
        .collect();
    History {
        middle: marks[&TOKEN_AT].clone(),
        merge: marks[&MERGE_AT].clone(),
        repo,
        tokens,
    }
}

/// A server whose hook runs cio-hook with its phase timings on, so that the push's output shows
/// whether the pack pass ran.
fn server(transport: Transport) -> GitServer {
    let server = GitServer::start(transport);
    let binary = common::binary();
    server.set_hook(&format!(
        "#!/bin/sh\nCIO_HOOK_TIMINGS=1 exec '{}' pre-receive\n",
        binary.display()
    ));
    server
}

fn push(history: &History, server: &GitServer, refs: &[&str]) -> Run {
    let mut args = vec!["push", server.url.as_str()];
    args.extend_from_slice(refs);
    history.repo.git(&args)
}

/// The remote lines of a rejection, without the timings (which differ run to run).
fn rejection(run: &Run) -> Vec<String> {
    run.all()
        .lines()
        .filter(|line| line.starts_with("remote: ") && !line.contains("timing:"))
        .map(|line| line.trim_end().to_string())
        .collect()
}

fn large_push_is_checked_from_its_pack(transport: Transport) {
    let history = history();
    let server = server(transport);
    let run = push(&history, &server, &["main", "v1"]);
    assert_ne!(run.code, 0, "the push went through:\n{}", run.all());
    let tokens: Vec<&str> = history.tokens.iter().map(String::as_str).collect();
    run.expect_no_full_token(&tokens)
        .expect_contains("pre-receive hook declined")
        .expect_contains("pack pass: traversal")
        .expect_contains(&format!(
            "3 crates.io credentials in {} new commits",
            COMMITS + 3
        ))
        .expect_contains(&format!(
            "refs/heads/main,refs/tags/v1 {} commit {TOKEN_AT}",
            &history.middle[..10]
        ))
        .expect_contains(&format!(
            "refs/heads/main,refs/tags/v1 {} commit {MERGE_AT}",
            &history.merge[..10]
        ))
        .expect_contains("merged.env:1:22")
        .expect_contains("refs/tags/v1 ")
        .expect_contains("(tag message):3:16");
    assert_eq!(server.ref_oid("main"), None);
    assert_eq!(server.ref_oid("refs/tags/v1"), None);

    // Without a pack in the quarantine (git unpacks a push of fewer objects than
    // receive.unpackLimit), every object is read through libgit2: the same verdict.
    let loose = self::server(transport);
    loose.git(&["config", "receive.unpackLimit", "1000000"]);
    let unpacked = push(&history, &loose, &["main", "v1"]);
    assert_ne!(
        unpacked.code,
        0,
        "the push went through:\n{}",
        unpacked.all()
    );
    assert!(
        !unpacked.all().contains("pack pass: traversal"),
        "{}",
        unpacked.all()
    );
    assert_eq!(rejection(&unpacked), rejection(&run));

    // The same history without the tokens' commits' refs goes through: the side branch alone.
    let clean = push(&history, &server, &["side"]);
    clean.expect_code(0);
    assert!(server.ref_oid("side").is_some());
}

#[test]
fn large_push_over_a_path_is_checked_from_its_pack() {
    large_push_is_checked_from_its_pack(Transport::Local);
}

#[test]
fn large_push_over_git_daemon_is_checked_from_its_pack() {
    large_push_is_checked_from_its_pack(Transport::Daemon);
}

#[test]
fn large_push_over_smart_http_is_checked_from_its_pack() {
    large_push_is_checked_from_its_pack(Transport::Http);
}
