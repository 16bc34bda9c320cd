//! The header of one pack entry: the object type, its size once inflated, and for a delta, where
//! its base is.

use anyhow::{bail, Result};

use super::idx::MAX_ID_LEN;

/// What a pack entry stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A whole object of this kind, deflated.
    Object(ObjectKind),
    /// A delta against the entry this many bytes before it in the same pack.
    OffsetDelta { base_distance: u64 },
    /// A delta against the object with this id, in this pack or another: the first
    /// `id_len` bytes (the repository's id length) of `base_id`.
    RefDelta { base_id: [u8; MAX_ID_LEN] },
}

/// The four kinds of git objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl ObjectKind {
    /// The name git hashes in an object's header (`blob 12\0…`).
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Commit => "commit",
            ObjectKind::Tree => "tree",
            ObjectKind::Blob => "blob",
            ObjectKind::Tag => "tag",
        }
    }
}

/// A parsed entry header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader {
    pub kind: EntryKind,
    /// The size of what the deflated data inflates to (for a delta: the delta itself).
    pub inflated_size: u64,
    /// How many bytes the header takes; the deflated data follows.
    pub header_len: usize,
}

/// The longest header: 10 bytes of type and size, then a base id (32 bytes for SHA-256).
pub const MAX_HEADER_LEN: usize = 10 + MAX_ID_LEN;

/// Parses the entry header at the start of `bytes` (which may hold more than the header), in a
/// pack whose ids have `id_len` bytes. The error says what is wrong; the caller names the pack
/// and offset.
pub fn parse_header(bytes: &[u8], id_len: usize) -> Result<EntryHeader> {
    let mut at = 0;
    let mut next = || -> Result<u8> {
        let Some(&byte) = bytes.get(at) else {
            bail!("entry header cut short");
        };
        at += 1;
        Ok(byte)
    };
    let first = next()?;
    let type_code = (first >> 4) & 0x7;
    let mut inflated_size = u64::from(first & 0x0f);
    let mut shift = 4;
    let mut byte = first;
    while byte & 0x80 != 0 {
        byte = next()?;
        if shift > 57 {
            bail!("entry size does not fit 64 bits");
        }
        inflated_size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    let kind = match type_code {
        1 => EntryKind::Object(ObjectKind::Commit),
        2 => EntryKind::Object(ObjectKind::Tree),
        3 => EntryKind::Object(ObjectKind::Blob),
        4 => EntryKind::Object(ObjectKind::Tag),
        6 => {
            // Big-endian groups of 7 bits, each continuation adding one so that no distance has
            // two encodings.
            let mut byte = next()?;
            let mut distance = u64::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = next()?;
                if distance >= 1 << 56 {
                    bail!("delta base distance does not fit 64 bits");
                }
                distance = ((distance + 1) << 7) | u64::from(byte & 0x7f);
            }
            if distance == 0 {
                bail!("delta base distance is zero");
            }
            EntryKind::OffsetDelta {
                base_distance: distance,
            }
        }
        7 => {
            let mut base_id = [0; MAX_ID_LEN];
            for slot in &mut base_id[..id_len] {
                *slot = next()?;
            }
            EntryKind::RefDelta { base_id }
        }
        other => bail!("unknown entry type {other}"),
    };
    Ok(EntryHeader {
        kind,
        inflated_size,
        header_len: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_offsets_decode_like_git_writes_them() {
        // A blob of 0x1234 bytes: low nibble 4, then 0x123 in 7-bit groups.
        let header = parse_header(&[0x80 | 0x30 | 0x4, 0x80 | 0x23, 0x02, 0xff], 20).unwrap();
        assert_eq!(header.kind, EntryKind::Object(ObjectKind::Blob));
        assert_eq!(header.inflated_size, 0x1234);
        assert_eq!(header.header_len, 3);
        // Distance 128 is written 0x80 0x00 (the continuation adds one).
        let header = parse_header(&[0x60 | 0x5, 0x80, 0x00], 20).unwrap();
        assert_eq!(header.kind, EntryKind::OffsetDelta { base_distance: 128 });
        assert_eq!(header.header_len, 3);
    }

    #[test]
    fn cut_and_unknown_headers_are_errors() {
        assert!(parse_header(&[0x80 | 0x30], 20).is_err());
        assert!(parse_header(&[0x50], 20).is_err());
        assert!(parse_header(&[0x70, 1, 2], 20).is_err());
        assert!(parse_header(&[0xff; 16], 20).is_err());
    }

    #[test]
    fn ref_delta_base_ids_have_the_repository_id_length() {
        let mut bytes = vec![0x70 | 0x3];
        bytes.extend(1..=32u8);
        let header = parse_header(&bytes, 32).unwrap();
        let EntryKind::RefDelta { base_id } = header.kind else {
            panic!("not a REF_DELTA: {header:?}");
        };
        assert_eq!(base_id[..], bytes[1..33]);
        assert_eq!(header.header_len, 33);
        let header = parse_header(&bytes, 20).unwrap();
        let EntryKind::RefDelta { base_id } = header.kind else {
            panic!("not a REF_DELTA: {header:?}");
        };
        assert_eq!(base_id[..20], bytes[1..21]);
        assert_eq!(base_id[20..], [0; 12]);
        assert_eq!(header.header_len, 21);
        assert!(parse_header(&bytes[..21], 32).is_err());
    }
}
