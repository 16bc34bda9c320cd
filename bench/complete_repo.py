#!/usr/bin/env python3
"""Makes a complete bare copy of a git repository whose object store lacks some blobs.

cio-hook refuses to scan a history with missing objects (rightly: what cannot be read cannot be
checked), and so do the peers. Snapshots of public repositories made with a partial fetch lack a
few large blobs, so the benchmark rebuilds such a history with every missing blob replaced by the
empty blob:

  1. list the missing objects: `git rev-list --all --objects --missing=print` (lines `?<id>`);
  2. export the history without blob contents: `git fast-export --all --no-data`, so that files
     are named by blob id and no missing blob is ever read;
  3. in that stream, point every file whose blob is missing at the empty blob;
  4. import the stream into a new bare repository that borrows the source's objects
     (objects/info/alternates), then `git repack -a -d` makes it self-contained and the
     alternates file is removed.

Commits whose trees changed get new ids; everything else (messages, authors, dates, every
present blob) is as it was. A repository with no missing objects is cloned as it is: its
branches and tags (`git clone --bare`), or with --mirror every ref (`git clone --mirror`, pull
request refs too; the export above always takes every ref).

usage: complete_repo.py [--mirror] SOURCE_GIT_DIR DESTINATION
"""

import os
import shutil
import subprocess
import sys

EMPTY_BLOB = b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def git(*args, cwd=None, **kwargs):
    return subprocess.run(["git", *args], cwd=cwd, check=True, **kwargs)


def missing_objects(source):
    listed = git("rev-list", "--all", "--objects", "--missing=print", cwd=source,
                 capture_output=True).stdout
    return {line[1:41] for line in listed.splitlines() if line.startswith(b"?")}


def rewrite(stream, missing):
    """The fast-export stream with file entries of missing blobs pointed at the empty blob."""
    out = []
    position = 0
    replaced = 0
    while position < len(stream):
        end = stream.find(b"\n", position)
        end = len(stream) if end < 0 else end + 1
        line = stream[position:end]
        position = end
        if line.startswith(b"data "):
            # Commit and tag messages: copied verbatim, whatever they contain.
            size = int(line[5:].strip())
            out.append(line)
            out.append(stream[position:position + size])
            position += size
            continue
        if line.startswith(b"M "):
            parts = line.split(b" ", 3)
            if len(parts) == 4 and parts[2] in missing:
                parts[2] = EMPTY_BLOB
                line = b" ".join(parts)
                replaced += 1
        out.append(line)
    return b"".join(out), replaced


def main():
    arguments = sys.argv[1:]
    mirror = arguments[:1] == ["--mirror"]
    if mirror:
        arguments = arguments[1:]
    if len(arguments) != 2:
        sys.exit(__doc__)
    source, destination = os.path.abspath(arguments[0]), os.path.abspath(arguments[1])
    if os.path.exists(destination):
        shutil.rmtree(destination)
    missing = missing_objects(source)
    if not missing:
        git("clone", "-q", "--mirror" if mirror else "--bare", "--no-local", source, destination)
        return
    git("init", "-q", "--bare", destination)
    objects = subprocess.run(["git", "rev-parse", "--git-path", "objects"], cwd=source,
                             check=True, capture_output=True, text=True).stdout.strip()
    alternates = os.path.join(destination, "objects", "info", "alternates")
    with open(alternates, "w") as f:
        f.write(os.path.join(source, objects) + "\n")
    exported = git("fast-export", "--all", "--no-data", "--signed-tags=strip",
                   "--tag-of-filtered-object=drop", "--reencode=no", cwd=source,
                   capture_output=True).stdout
    stream, replaced = rewrite(exported, missing)
    git("hash-object", "-w", "--stdin", cwd=destination, input=b"", capture_output=True)
    git("fast-import", "--quiet", cwd=destination, input=stream)
    git("repack", "-a", "-d", "-q", cwd=destination)
    os.remove(alternates)
    git("fsck", "--connectivity-only", "--no-progress", cwd=destination, capture_output=True)
    print(f"{destination}: {len(missing)} missing blobs, {replaced} file entries now empty",
          file=sys.stderr)


if __name__ == "__main__":
    main()
