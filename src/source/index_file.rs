//! A reader for git's index file that keeps what the staged scan needs and nothing else: each
//! entry's path, mode and blob id, and the cache of tree ids (the `TREE` extension).
//!
//! libgit2 reads the index too, but it has no API for the tree-id cache, and rebuilding it after
//! writing a tree reads every tree of the repository. With the cache, the staged scan compares
//! only the directories that have staged changes, as `git commit` does. Anything this reader
//! does not know (a split or sparse index, unmerged entries, another hash) returns
//! [`Unsupported`], and the caller falls back to libgit2's slower full comparison.
//! The format is git's `Documentation/gitformat-index.txt`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use git2::{Oid, Repository};
use sha1::{Digest, Sha1};

/// Length of a SHA-1 object id in bytes.
const OID_LEN: usize = 20;
/// Fixed part of an entry before its path: stat data, mode, size, id and flags.
const ENTRY_FIXED_LEN: usize = 62;
const EXTENDED_FLAG: u16 = 0x4000;
const STAGE_MASK: u16 = 0x3000;
const NAME_MASK: u16 = 0x0FFF;
const INTENT_TO_ADD_FLAG: u16 = 0x2000;

/// The index cannot be read here; use libgit2's reader instead.
#[derive(Debug)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "index not supported by the fast reader: {}", self.0)
    }
}

impl std::error::Error for Unsupported {}

/// The mode of a sparse index's directory entry, whose id is a tree.
pub const SPARSE_DIRECTORY_MODE: u32 = 0o040000;

/// One index entry, stage 0: a file, or in a sparse index a whole directory
/// ([`SPARSE_DIRECTORY_MODE`], path ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub path: Vec<u8>,
    pub mode: u32,
    pub id: Oid,
}

/// A directory in the tree-id cache: its tree id when still valid, and its subdirectories.
#[derive(Debug, Default)]
pub struct CachedTree {
    pub id: Option<Oid>,
    pub children: HashMap<Vec<u8>, CachedTree>,
}

/// The parts of an index the staged scan uses.
#[derive(Debug)]
pub struct IndexSnapshot {
    /// Stage-0 entries in index order (sorted by path); intent-to-add entries are left out,
    /// as `git commit` leaves them out of the tree.
    pub entries: Vec<IndexEntry>,
    /// The tree-id cache, when the index has one.
    pub cached_trees: Option<CachedTree>,
}

/// The index file git would commit from: `GIT_INDEX_FILE` when set (as for `git commit -a`), else
/// `index` in the repository's (or linked worktree's) git directory.
pub fn index_path(repo: &Repository) -> PathBuf {
    match std::env::var_os("GIT_INDEX_FILE") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => repo.path().join("index"),
    }
}

/// Reads the index at `path`. A missing file is an empty index (a repository with nothing added).
/// Errors are [`Unsupported`] for formats this reader leaves to libgit2, and plain errors for a
/// file that is corrupt.
pub fn read_index(path: &Path) -> Result<IndexSnapshot> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(IndexSnapshot {
                entries: Vec::new(),
                cached_trees: None,
            })
        }
        Err(err) => {
            return Err(err).with_context(|| format!("reading the index {}", path.display()))
        }
    };
    parse(&data).with_context(|| format!("reading the index {}", path.display()))
}

fn unsupported(why: &str) -> anyhow::Error {
    anyhow::Error::new(Unsupported(why.to_string()))
}

fn parse(data: &[u8]) -> Result<IndexSnapshot> {
    if data.len() < 12 + OID_LEN || &data[..4] != b"DIRC" {
        bail!("not an index file (bad signature)");
    }
    let (body, checksum) = data.split_at(data.len() - OID_LEN);
    // `index.skipHash` writes a zero checksum.
    if checksum.iter().any(|&byte| byte != 0) && Sha1::digest(body).as_slice() != checksum {
        bail!("index checksum mismatch (corrupt index)");
    }
    let version = read_u32(body, 4)?;
    if !(2..=4).contains(&version) {
        return Err(unsupported(&format!("version {version}")));
    }
    let count = read_u32(body, 8)? as usize;
    let mut entries = Vec::with_capacity(count);
    let mut offset = 12;
    let mut previous_path: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = offset;
        let fixed = body
            .get(start..start + ENTRY_FIXED_LEN)
            .context("index entry runs past the end of the file")?;
        let mode = u32::from_be_bytes(fixed[24..28].try_into().unwrap());
        let id = Oid::from_bytes(&fixed[40..60])?;
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        offset += ENTRY_FIXED_LEN;
        let mut extended = 0u16;
        if flags & EXTENDED_FLAG != 0 {
            if version < 3 {
                bail!("extended flag in a version 2 index");
            }
            let bytes = body
                .get(offset..offset + 2)
                .context("truncated index entry")?;
            extended = u16::from_be_bytes([bytes[0], bytes[1]]);
            offset += 2;
        }
        let path = if version == 4 {
            let (strip, used) = read_varint(&body[offset..])?;
            offset += used;
            let suffix_len = memchr::memchr(0, &body[offset..]).context("unterminated path")?;
            let keep = previous_path
                .len()
                .checked_sub(strip as usize)
                .context("bad path compression in index")?;
            let mut path = previous_path[..keep].to_vec();
            path.extend_from_slice(&body[offset..offset + suffix_len]);
            offset += suffix_len + 1;
            path
        } else {
            let name_len = usize::from(flags & NAME_MASK);
            let len = if name_len < usize::from(NAME_MASK) {
                name_len
            } else {
                memchr::memchr(0, &body[offset..]).context("unterminated path")?
            };
            let path = body
                .get(offset..offset + len)
                .context("truncated path")?
                .to_vec();
            let entry_len = offset + len - start;
            // One to eight NULs pad the entry to a multiple of eight bytes.
            offset = start + (entry_len + 8) / 8 * 8;
            path
        };
        if flags & STAGE_MASK != 0 {
            return Err(unsupported("unmerged entries"));
        }
        previous_path.clone_from(&path);
        if extended & INTENT_TO_ADD_FLAG == 0 {
            entries.push(IndexEntry { path, mode, id });
        }
    }
    let mut cached_trees = None;
    while offset + 8 <= body.len() {
        let signature = &body[offset..offset + 4];
        let size = read_u32(body, offset + 4)? as usize;
        let data = body
            .get(offset + 8..offset + 8 + size)
            .context("index extension runs past the end of the file")?;
        match signature {
            b"TREE" => cached_trees = Some(parse_tree_cache(data)?),
            b"link" => bail!(
                "the index is split (core.splitIndex), which cio-hook cannot read; \
                 `git config core.splitIndex false && git update-index --no-split-index` joins it"
            ),
            // A sparse index: directory entries (mode 040000) stand for whole trees.
            b"sdir" => {}
            // Signatures starting with an upper-case letter are optional; others are required.
            [first, ..] if !first.is_ascii_uppercase() => {
                return Err(unsupported("unknown required extension"))
            }
            _ => {}
        }
        offset += 8 + size;
    }
    Ok(IndexSnapshot {
        entries,
        cached_trees,
    })
}

fn read_u32(data: &[u8], offset: usize) -> Result<u32> {
    let bytes = data.get(offset..offset + 4).context("truncated index")?;
    Ok(u32::from_be_bytes(bytes.try_into().unwrap()))
}

/// git's offset varint (index v4 path compression).
fn read_varint(data: &[u8]) -> Result<(u64, usize)> {
    let mut value = 0u64;
    for (index, &byte) in data.iter().enumerate().take(10) {
        if index > 0 {
            value += 1;
        }
        value = (value << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Ok((value, index + 1));
        }
    }
    bail!("bad varint in index")
}

/// Parses the `TREE` extension: directories in pre-order, each `path NUL entry_count SP
/// subtree_count LF` followed by the tree id when `entry_count` is not -1 (invalidated).
fn parse_tree_cache(data: &[u8]) -> Result<CachedTree> {
    let mut offset = 0;
    let (_, root) = parse_cached_node(data, &mut offset)?;
    Ok(root)
}

fn parse_cached_node(data: &[u8], offset: &mut usize) -> Result<(Vec<u8>, CachedTree)> {
    let rest = &data[*offset..];
    let name_end = memchr::memchr(0, rest).context("bad tree cache")?;
    let name = rest[..name_end].to_vec();
    let line_end = memchr::memchr(b'\n', &rest[name_end..]).context("bad tree cache")? + name_end;
    let counts = std::str::from_utf8(&rest[name_end + 1..line_end]).context("bad tree cache")?;
    let (entry_count, subtrees) = counts.split_once(' ').context("bad tree cache")?;
    let entry_count: i64 = entry_count.parse().context("bad tree cache")?;
    let subtrees: usize = subtrees.parse().context("bad tree cache")?;
    *offset += line_end + 1;
    let mut node = CachedTree::default();
    if entry_count >= 0 {
        let id = data
            .get(*offset..*offset + OID_LEN)
            .context("bad tree cache")?;
        node.id = Some(Oid::from_bytes(id)?);
        *offset += OID_LEN;
    }
    for _ in 0..subtrees {
        let (child_name, child) = parse_cached_node(data, offset)?;
        node.children.insert(child_name, child);
    }
    Ok((name, node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_gits_offset_encoding() {
        assert_eq!(read_varint(&[0x05]).unwrap(), (5, 1));
        assert_eq!(read_varint(&[0x80, 0x00]).unwrap(), (128, 2));
        assert_eq!(read_varint(&[0x81, 0x7F]).unwrap(), (383, 2));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for data in [
            &b""[..],
            b"DIRC",
            b"DIRC\0\0\0\x02\0\0\0\x05aaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(parse(data).is_err());
        }
    }
}
