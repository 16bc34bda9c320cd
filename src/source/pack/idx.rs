//! Git's pack index, version 2: which objects a pack holds and at which offsets.
//!
//! Layout: a magic number and version, a 256-entry fanout table (how many ids start with a byte
//! at most `b`), the sorted ids (20 bytes for SHA-1, 32 for SHA-256: the index does not say
//! which, the repository's `extensions.objectformat` does), one CRC-32 per object, 4-byte
//! offsets (high bit set: an index into the table of 8-byte offsets that follows), and two
//! trailing checksums of the id's length.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The length of the longest object id (SHA-256).
pub const MAX_ID_LEN: usize = 32;

/// The hash a repository names its objects with (`extensions.objectformat`), which sets the
/// length of every id its packs and trees hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectFormat {
    Sha1,
    Sha256,
}

impl ObjectFormat {
    /// The format git names `name` (`git rev-parse --show-object-format`).
    pub fn from_name(name: &str) -> Option<ObjectFormat> {
        match name {
            "sha1" => Some(ObjectFormat::Sha1),
            "sha256" => Some(ObjectFormat::Sha256),
            _ => None,
        }
    }

    /// How many bytes an object id has.
    pub const fn id_len(self) -> usize {
        match self {
            ObjectFormat::Sha1 => 20,
            ObjectFormat::Sha256 => 32,
        }
    }

    /// The empty blob's id, which git knows without storing it.
    pub fn empty_blob(self) -> &'static [u8] {
        const SHA1: [u8; 20] = [
            0xe6, 0x9d, 0xe2, 0x9b, 0xb2, 0xd1, 0xd6, 0x43, 0x4b, 0x8b, 0x29, 0xae, 0x77, 0x5a,
            0xd8, 0xc2, 0xe4, 0x8c, 0x53, 0x91,
        ];
        const SHA256: [u8; 32] = [
            0x47, 0x3a, 0x0f, 0x4c, 0x3b, 0xe8, 0xa9, 0x36, 0x81, 0xa2, 0x67, 0xe3, 0xb1, 0xe9,
            0xa7, 0xdc, 0xda, 0x11, 0x85, 0x43, 0x6f, 0xe1, 0x41, 0xf7, 0x74, 0x91, 0x20, 0xa3,
            0x03, 0x72, 0x18, 0x13,
        ];
        match self {
            ObjectFormat::Sha1 => &SHA1,
            ObjectFormat::Sha256 => &SHA256,
        }
    }
}

const MAGIC: &[u8; 4] = b"\xfftOc";
const HEADER_LEN: usize = 8;
const FANOUT_LEN: usize = 256 * 4;

/// One pack's index, read into memory.
#[derive(Debug)]
pub struct PackIndex {
    path: PathBuf,
    data: Vec<u8>,
    id_len: usize,
    count: usize,
    ids_at: usize,
    offsets_at: usize,
    large_offsets_at: usize,
    large_offsets_count: usize,
    /// Where the ids starting with each two-byte prefix begin (a finer fanout, built here, so
    /// that a lookup searches a handful of ids).
    prefix_starts: Vec<u32>,
}

impl PackIndex {
    /// Reads and checks the index at `path`, of a repository whose ids are in `format`.
    pub fn open(path: &Path, format: ObjectFormat) -> Result<PackIndex> {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        PackIndex::parse(path, data, format)
    }

    /// Checks the index bytes `data` read from `path`, with ids in `format`.
    pub fn parse(path: &Path, data: Vec<u8>, format: ObjectFormat) -> Result<PackIndex> {
        let id_len = format.id_len();
        let corrupt =
            |what: &str| format!("{}: not a version 2 pack index ({what})", path.display());
        if data.len() < HEADER_LEN + FANOUT_LEN + 2 * id_len {
            bail!(corrupt("too short"));
        }
        if &data[..4] != MAGIC || data[4..8] != [0, 0, 0, 2] {
            bail!(corrupt("bad magic or version"));
        }
        let fanout = |byte: usize| read_u32(&data, HEADER_LEN + byte * 4) as usize;
        if (1..256).any(|byte| fanout(byte) < fanout(byte - 1)) {
            bail!(corrupt("fanout table not ascending"));
        }
        let count = fanout(255);
        let ids_at = HEADER_LEN + FANOUT_LEN;
        let crcs_at = ids_at + count * id_len;
        let offsets_at = crcs_at + count * 4;
        let large_offsets_at = offsets_at + count * 4;
        let trailer = 2 * id_len;
        if data.len() < large_offsets_at + trailer
            || !(data.len() - large_offsets_at - trailer).is_multiple_of(8)
        {
            bail!(corrupt(&format!(
                "size does not match the object count with {}-byte ids",
                id_len
            )));
        }
        let large_offsets_count = (data.len() - large_offsets_at - trailer) / 8;
        let mut index = PackIndex {
            path: path.to_path_buf(),
            data,
            id_len,
            count,
            ids_at,
            offsets_at,
            large_offsets_at,
            large_offsets_count,
            prefix_starts: Vec::new(),
        };
        if (1..count).any(|position| index.id(position - 1) >= index.id(position)) {
            bail!(corrupt("object ids not sorted"));
        }
        for position in 0..count {
            index.offset(position)?;
        }
        let mut prefix_starts = vec![0u32; (1 << 16) + 1];
        for position in 0..count {
            let id = index.id(position);
            prefix_starts[usize::from(u16::from_be_bytes([id[0], id[1]])) + 1] += 1;
        }
        for prefix in 1..prefix_starts.len() {
            prefix_starts[prefix] += prefix_starts[prefix - 1];
        }
        index.prefix_starts = prefix_starts;
        Ok(index)
    }

    /// Where the index was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many objects the pack holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the pack holds no object.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// How many bytes each id has.
    pub fn id_len(&self) -> usize {
        self.id_len
    }

    /// The id of the object at `position` (ids are sorted).
    pub fn id(&self, position: usize) -> &[u8] {
        let start = self.ids_at + position * self.id_len;
        &self.data[start..start + self.id_len]
    }

    /// The offset in the pack of the object at `position`.
    pub fn offset(&self, position: usize) -> Result<u64> {
        let small = read_u32(&self.data, self.offsets_at + position * 4);
        if small & 0x8000_0000 == 0 {
            return Ok(u64::from(small));
        }
        let large = (small & 0x7fff_ffff) as usize;
        if large >= self.large_offsets_count {
            bail!(
                "{}: object {position} points past the large offset table",
                self.path.display()
            );
        }
        let at = self.large_offsets_at + large * 8;
        Ok(u64::from_be_bytes(
            self.data[at..at + 8].try_into().unwrap(),
        ))
    }

    /// The position of object `id`, found through the two-byte prefix table and a binary
    /// search.
    pub fn find(&self, id: &[u8]) -> Option<usize> {
        if id.len() != self.id_len {
            return None;
        }
        let prefix = usize::from(u16::from_be_bytes([id[0], id[1]]));
        let mut low = self.prefix_starts[prefix] as usize;
        let mut high = self.prefix_starts[prefix + 1] as usize;
        while low < high {
            let middle = low + (high - low) / 2;
            match self.id(middle).cmp(id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }
}

fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(data[at..at + 4].try_into().unwrap())
}
