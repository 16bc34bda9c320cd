#!/usr/bin/env python3
"""Builds the benchmark repository, deterministically, with git fast-import.

    make_fixture.py OUT_DIR [--files 20000] [--commits 5000] [--seed 1]

OUT_DIR/repo gets a main branch whose history has --commits commits over about --files tracked
files of Rust, TOML and Markdown text, with a few crates.io tokens planted in old commits (one
added and later removed). Tokens are generated from the seed at run time; none is written in
this file. The same arguments always give the same repository (same commit ids).
"""

import argparse
import os
import random
import subprocess
import sys

ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
WORDS = (
    "config parse token value registry crate index build cache reader writer stream buffer "
    "error result option future handle request response client server route state store "
    "commit tree blob index diff patch hunk line column offset path file folder walk filter "
    "matcher printer searcher report finding rule detect allow deny ignore publish owner yank"
).split()


def token(rng):
    return "cio" + "".join(rng.choice(ALPHANUMERIC) for _ in range(32))


def ident(rng):
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


def type_name(rng):
    return "".join(w.capitalize() for w in ident(rng).split("_"))


def rust_item(rng):
    kind = rng.random()
    name, ty = ident(rng), type_name(rng)
    if kind < 0.4:
        body = "\n".join(
            f"    let {ident(rng)} = {ident(rng)}(&{ident(rng)})?;" for _ in range(rng.randint(2, 8))
        )
        return (
            f"/// {' '.join(rng.choice(WORDS) for _ in range(8)).capitalize()}.\n"
            f"pub fn {name}(input: &{ty}) -> Result<{type_name(rng)}> {{\n{body}\n    Ok(Default::default())\n}}\n"
        )
    if kind < 0.7:
        fields = "\n".join(f"    pub {ident(rng)}: {type_name(rng)}," for _ in range(rng.randint(2, 6)))
        return f"#[derive(Debug, Clone)]\npub struct {ty} {{\n{fields}\n}}\n"
    arms = "\n".join(
        f"            {type_name(rng)}::{type_name(rng)} => {ident(rng)}(),"
        for _ in range(rng.randint(2, 5))
    )
    return (
        f"impl {ty} {{\n    pub fn {name}(&self) -> bool {{\n        match self {{\n{arms}\n"
        f"        }}\n    }}\n}}\n"
    )


def rust_file(rng):
    items = "\n".join(rust_item(rng) for _ in range(rng.randint(2, 8)))
    return f"//! {' '.join(rng.choice(WORDS) for _ in range(6))}\n\nuse crate::{ident(rng)};\n\n{items}"


def toml_file(rng):
    deps = "\n".join(f'{ident(rng).replace("_", "-")} = "{rng.randint(0, 3)}.{rng.randint(0, 30)}"' for _ in range(rng.randint(3, 12)))
    return f'[package]\nname = "{ident(rng).replace("_", "-")}"\nversion = "0.{rng.randint(1, 9)}.0"\nedition = "2021"\n\n[dependencies]\n{deps}\n'


def markdown_file(rng):
    paragraphs = []
    for _ in range(rng.randint(2, 6)):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 90)))
        paragraphs.append(f"## {type_name(rng)}\n\n{words.capitalize()}.\n")
    return f"# {type_name(rng)}\n\n" + "\n".join(paragraphs)


def new_file(rng, index):
    roll = rng.random()
    # About 60 crates of up to 24 modules: some 1,500 directories for 20,000 files, the shape of
    # a large Rust workspace.
    crate = f"crates/{WORDS[index % 30]}-{index % 2}"
    module = WORDS[(index // 60) % 24]
    if roll < 0.7:
        return f"{crate}/src/{module}/{ident(rng)}_{index}.rs", rust_file(rng)
    if roll < 0.85:
        return f"{crate}/config/{module}_{index}.toml", toml_file(rng)
    return f"docs/{WORDS[index % 40]}/{ident(rng)}_{index}.md", markdown_file(rng)


def edit(rng, text):
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines) + 1)
        if rng.random() < 0.3 and len(lines) > 3:
            del lines[min(at, len(lines) - 1)]
        else:
            lines[at:at] = rust_item(rng).rstrip("\n").split("\n")
    return "\n".join(lines)


class Stream:
    """Writes a git fast-import stream."""

    def __init__(self, out):
        self.out = out
        self.mark = 0

    def data(self, payload):
        raw = payload.encode()
        self.out.write(b"data %d\n" % len(raw))
        self.out.write(raw)
        self.out.write(b"\n")

    def blob(self, text):
        self.mark += 1
        self.out.write(b"blob\nmark :%d\n" % self.mark)
        self.data(text)
        return self.mark

    def commit(self, ref, when, message, parent, changes):
        self.mark += 1
        self.out.write(b"commit %s\nmark :%d\n" % (ref.encode(), self.mark))
        self.out.write(b"author Bench <bench@example.invalid> %d +0000\n" % when)
        self.out.write(b"committer Bench <bench@example.invalid> %d +0000\n" % when)
        self.data(message)
        if parent:
            self.out.write(b"from :%d\n" % parent)
        for path, blob_mark in changes:
            if blob_mark is None:
                self.out.write(b"D %s\n" % path.encode())
            else:
                self.out.write(b"M 100644 :%d %s\n" % (blob_mark, path.encode()))
        self.out.write(b"\n")
        return self.mark


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    repo = os.path.join(args.out, "repo")
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    importer = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    stream = Stream(importer.stdin)
    files = {}
    initial_files = int(args.files * 0.75)
    later_files = args.files - initial_files
    changes = []
    for index in range(initial_files):
        path, text = new_file(rng, index)
        files[path] = text
        changes.append((path, stream.blob(text)))
    when = 1_600_000_000
    parent = stream.commit("refs/heads/main", when, "initial import\n", None, changes)
    plant_at = {args.commits // 5: "add", args.commits // 2: "add", args.commits // 2 + 40: "remove", 4 * args.commits // 5: "add"}
    planted_path = None
    next_index = initial_files
    for number in range(1, args.commits):
        when += 3600
        changes = []
        paths = sorted(files)
        for _ in range(rng.randint(1, 5)):
            path = rng.choice(paths)
            files[path] = edit(rng, files[path])
            changes.append((path, stream.blob(files[path])))
        if next_index < initial_files + later_files and rng.random() < later_files / args.commits * 1.2:
            path, text = new_file(rng, next_index)
            next_index += 1
            files[path] = text
            changes.append((path, stream.blob(text)))
        action = plant_at.get(number)
        if action == "add":
            planted_path = rng.choice(paths)
            files[planted_path] += f'\nconst PUBLISH_TOKEN: &str = "{token(rng)}";\n'
            changes.append((planted_path, stream.blob(files[planted_path])))
        elif action == "remove" and planted_path:
            files[planted_path] = files[planted_path].split("\nconst PUBLISH_TOKEN")[0] + "\n"
            changes.append((planted_path, stream.blob(files[planted_path])))
        message = f"{rng.choice(WORDS)}: {' '.join(rng.choice(WORDS) for _ in range(6))}\n"
        parent = stream.commit("refs/heads/main", when, message, parent, changes)
    importer.stdin.close()
    if importer.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)
    print(f"{repo}: {len(files)} files, {args.commits} commits")


if __name__ == "__main__":
    main()
