//! Archives inside the files a scan reads: gzip, tar and zip (so `.crate`, `.tar.gz`, `.whl`,
//! `.jar`, a `docker save` tarball), recognised by their content rather than their name, opened
//! in memory and nested up to a depth.
//!
//! Nothing is ever written to disk: entry names, however hostile (`../../etc/passwd`, control
//! characters), are only labels, shown escaped by the report like any other path. An entry is
//! named `outer!inner`, so a finding reads `dist/pkg-0.1.0.crate!pkg-0.1.0/.env:3:7`.
//!
//! A decompression bomb cannot make the scan pass: every archive is read under [`ArchiveLimits`]
//! (depth, bytes in all, bytes per entry, entries, expansion ratio), and reaching one of them
//! stops the scan with an [`ArchiveSkipped`] error that names what was skipped, the limit and
//! the flag that raises it. The caller exits 2: fail closed.

use std::cell::Cell;
use std::fmt;
use std::io::{Cursor, Read};
use std::sync::RwLock;

use anyhow::Result;

use crate::redact::display_path;

/// The separator between an archive's path and the name of an entry inside it.
pub const ENTRY_SEPARATOR: u8 = b'!';

/// Expansion is measured against the archive's size only beyond this many bytes: a tiny archive
/// of text legitimately expands a hundredfold.
const RATIO_FLOOR: u64 = 1 << 20;

/// How far a scan follows archives, and how much it expands, before it stops with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Archives within archives: 1 opens the file's own archive and none inside it; 0 opens
    /// none (archives are then scanned as the bytes they are).
    pub max_depth: u32,
    /// Bytes expanded in all from one file, across every nested archive.
    pub max_total_bytes: u64,
    /// Bytes of one entry once expanded.
    pub max_entry_bytes: u64,
    /// Entries (files, directories, links) in one file's archives, nested ones included.
    pub max_entries: u64,
    /// Expanded bytes per byte of the file, once more than 1 MiB has been expanded.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> ArchiveLimits {
        ArchiveLimits {
            max_depth: 5,
            max_total_bytes: 512 << 20,
            max_entry_bytes: 64 << 20,
            max_entries: 50_000,
            max_ratio: 100,
        }
    }
}

static LIMITS: RwLock<Option<ArchiveLimits>> = RwLock::new(None);

impl ArchiveLimits {
    /// The limits every source applies in this process: the defaults unless
    /// [`ArchiveLimits::set_for_process`] was called.
    pub fn current() -> ArchiveLimits {
        LIMITS
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .unwrap_or_default()
    }

    /// Sets the limits for every scan this process runs (the binary does, from its flags).
    pub fn set_for_process(limits: ArchiveLimits) {
        *LIMITS
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(limits);
    }
}

/// The kinds of archive recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `1f 8b`: a gzip stream (`.gz`, `.tgz`, `.crate`), which may hold a tar.
    Gzip,
    /// `PK\3\4` or `PK\5\6` (empty): a zip (`.zip`, `.whl`, `.jar`).
    Zip,
    /// `ustar` at byte 257: a POSIX or GNU tar.
    Tar,
}

/// The kind of archive `content` is, judged by its magic bytes, not by any file name.
pub fn archive_kind(content: &[u8]) -> Option<ArchiveKind> {
    if content.starts_with(&[0x1f, 0x8b]) {
        Some(ArchiveKind::Gzip)
    } else if content.starts_with(b"PK\x03\x04") || content.starts_with(b"PK\x05\x06") {
        Some(ArchiveKind::Zip)
    } else if content.get(257..262) == Some(b"ustar") {
        Some(ArchiveKind::Tar)
    } else {
        None
    }
}

/// Whether `content` is an archive the current limits let a scan open.
pub fn is_archive(content: &[u8]) -> bool {
    archive_kind(content).is_some() && ArchiveLimits::current().max_depth > 0
}

/// A limit was reached (or an entry could not be read): what was skipped, and how to scan it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSkipped {
    /// The archive or entry left unscanned, printable, tokens redacted.
    pub what: String,
    /// Why, with the limit's value.
    pub why: String,
    /// How to scan it anyway (the flag that raises the limit), when there is a way.
    pub remedy: Option<String>,
}

impl fmt::Display for ArchiveSkipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} not scanned: {}", self.what, self.why)?;
        if let Some(remedy) = &self.remedy {
            write!(f, " ({remedy})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ArchiveSkipped {}

/// What [`visit_entries`] calls with each file's name and content.
pub type EntryVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// Calls `visit` with the name (`path!entry`, nested as `path!a.zip!entry`) and content of every
/// file inside the archive `content`, found at `path`. Entries that are archives themselves are
/// opened in turn, up to `limits.max_depth`. Directories and links are counted, not visited.
pub fn visit_entries(
    path: &[u8],
    content: &[u8],
    limits: &ArchiveLimits,
    visit: &mut EntryVisitor<'_>,
) -> Result<()> {
    let budget = Budget {
        limits,
        archive_size: content.len() as u64,
        expanded: Cell::new(0),
        entries: Cell::new(0),
        exceeded: Cell::new(None),
    };
    let mut walker = Walker {
        budget: &budget,
        visit,
    };
    let outcome = walker.open(path, content, 1);
    // A limit reached inside a decompressor surfaces as that crate's I/O error: the budget's own
    // record says which limit it was.
    match budget.exceeded.take() {
        Some(skipped) => Err(skipped.into()),
        None => outcome,
    }
}

/// What one file's archives may still expand.
struct Budget<'a> {
    limits: &'a ArchiveLimits,
    archive_size: u64,
    expanded: Cell<u64>,
    entries: Cell<u64>,
    exceeded: Cell<Option<ArchiveSkipped>>,
}

impl Budget<'_> {
    /// Records that `what` was skipped, keeping the first reason.
    fn skip(&self, what: &[u8], why: String, remedy: Option<&str>) -> ArchiveSkipped {
        let skipped = ArchiveSkipped {
            what: display_path(what),
            why,
            remedy: remedy.map(str::to_string),
        };
        let first = self.exceeded.take().unwrap_or_else(|| skipped.clone());
        self.exceeded.set(Some(first));
        skipped
    }

    /// Counts one more entry of the archive at `what`.
    fn count_entry(&self, what: &[u8]) -> Result<()> {
        let entries = self.entries.get() + 1;
        self.entries.set(entries);
        if entries > self.limits.max_entries {
            return Err(self
                .skip(
                    what,
                    format!("more than {} archive entries", self.limits.max_entries),
                    Some("raise the limit with --archive-max-entries or CIO_HOOK_ARCHIVE_MAX_ENTRIES"),
                )
                .into());
        }
        Ok(())
    }

    /// Counts `bytes` more expanded bytes from `what`.
    fn count_bytes(&self, what: &[u8], bytes: u64) -> std::io::Result<()> {
        let expanded = self.expanded.get() + bytes;
        self.expanded.set(expanded);
        let limits = self.limits;
        let exceeded = if expanded > limits.max_total_bytes {
            Some((
                format!(
                    "its archives expand past {} in all",
                    size(limits.max_total_bytes)
                ),
                "raise the limit with --archive-max-bytes or CIO_HOOK_ARCHIVE_MAX_BYTES",
            ))
        } else if expanded > RATIO_FLOOR
            && expanded > self.archive_size.saturating_mul(limits.max_ratio)
        {
            Some((
                format!(
                    "it expands to more than {} times its size of {}",
                    limits.max_ratio,
                    size(self.archive_size)
                ),
                "raise the limit with --archive-max-ratio or CIO_HOOK_ARCHIVE_MAX_RATIO",
            ))
        } else {
            None
        };
        match exceeded {
            Some((why, remedy)) => {
                let skipped = self.skip(what, why, Some(remedy));
                Err(std::io::Error::other(skipped))
            }
            None => Ok(()),
        }
    }
}

/// Walks nested archives, visiting the files inside them.
struct Walker<'a, 'v> {
    budget: &'a Budget<'a>,
    visit: &'v mut EntryVisitor<'v>,
}

impl Walker<'_, '_> {
    /// Opens the archive `content` found at `path`, `depth` archives deep.
    fn open(&mut self, path: &[u8], content: &[u8], depth: u32) -> Result<()> {
        let limits = self.budget.limits;
        if depth > limits.max_depth {
            return Err(self
                .budget
                .skip(
                    path,
                    format!("archives nested deeper than {}", limits.max_depth),
                    Some("raise the limit with --archive-max-depth or CIO_HOOK_ARCHIVE_MAX_DEPTH"),
                )
                .into());
        }
        match archive_kind(content) {
            Some(ArchiveKind::Gzip) => self.open_gzip(path, content, depth),
            Some(ArchiveKind::Zip) => self.open_zip(path, content, depth),
            Some(ArchiveKind::Tar) => self.open_tar(path, Cursor::new(content), depth),
            None => (self.visit)(path, content),
        }
    }

    /// An entry's content: another archive to open, or a file to visit.
    fn entry(&mut self, name: &[u8], content: &[u8], depth: u32) -> Result<()> {
        if archive_kind(content).is_some() {
            self.open(name, content, depth + 1)
        } else {
            (self.visit)(name, content)
        }
    }

    /// A gzip stream: a tar inside is read as it is decompressed; anything else is one entry,
    /// named as the gzip header names it or as the file without its `.gz`.
    fn open_gzip(&mut self, path: &[u8], content: &[u8], depth: u32) -> Result<()> {
        let decoder = flate2::read::MultiGzDecoder::new(content);
        let inner_name = decoder
            .header()
            .and_then(|header| header.filename())
            .map(<[u8]>::to_vec);
        let mut stream = Metered {
            inner: decoder,
            budget: self.budget,
            what: path,
        };
        let mut head = Vec::with_capacity(512);
        (&mut stream)
            .take(512)
            .read_to_end(&mut head)
            .map_err(|err| self.unreadable(path, "gzip", err))?;
        if archive_kind(&head) == Some(ArchiveKind::Tar) {
            // `.tar.gz` is one archive: its entries sit directly under the file's name.
            return self.open_tar(path, Cursor::new(head).chain(stream), depth);
        }
        let name = inner_name.unwrap_or_else(|| gzip_member_name(path));
        let label = entry_label(path, &name);
        self.budget.count_entry(&label)?;
        let content = self.read_entry(&label, Cursor::new(head).chain(stream))?;
        self.entry(&label, &content, depth)
    }

    /// A tar, read entry by entry from `reader`.
    fn open_tar(&mut self, path: &[u8], reader: impl Read, depth: u32) -> Result<()> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|err| self.unreadable(path, "tar", err))?;
        for entry in entries {
            let entry = entry.map_err(|err| self.unreadable(path, "tar", err))?;
            let label = entry_label(path, &entry.path_bytes());
            self.budget.count_entry(&label)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let content = self.read_entry(&label, entry)?;
            self.entry(&label, &content, depth)?;
        }
        Ok(())
    }

    /// A zip, held in memory (its directory is at the end).
    fn open_zip(&mut self, path: &[u8], content: &[u8], depth: u32) -> Result<()> {
        let mut archive = zip::ZipArchive::new(Cursor::new(content))
            .map_err(|err| self.unreadable(path, "zip", std::io::Error::other(err)))?;
        for index in 0..archive.len() {
            let file = archive
                .by_index(index)
                .map_err(|err| self.unreadable(path, "zip", std::io::Error::other(err)))?;
            let label = entry_label(path, file.name_raw());
            self.budget.count_entry(&label)?;
            if file.is_dir() || file.is_symlink() {
                continue;
            }
            let content = self.read_entry(&label, file)?;
            self.entry(&label, &content, depth)?;
        }
        Ok(())
    }

    /// Reads one entry whole, counting its bytes against the limits as they come. The content
    /// never grows past the entry limit, so neither does its buffer.
    fn read_entry(&self, label: &[u8], reader: impl Read) -> Result<Vec<u8>> {
        let max = self.budget.limits.max_entry_bytes;
        let mut metered = Metered {
            inner: reader,
            budget: self.budget,
            what: label,
        };
        let mut content = Vec::new();
        let mut chunk = vec![0; 64 << 10];
        loop {
            let read = match metered.read(&mut chunk) {
                Ok(0) => return Ok(content),
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.unreadable(label, "entry", err)),
            };
            if (content.len() + read) as u64 > max {
                return Err(self
                    .budget
                    .skip(
                        label,
                        format!("the entry expands past {}", size(max)),
                        Some("raise the limit with --archive-max-entry-bytes or CIO_HOOK_ARCHIVE_MAX_ENTRY_BYTES"),
                    )
                    .into());
            }
            content.extend_from_slice(&chunk[..read]);
        }
    }

    /// An archive or entry that cannot be read (corrupt, encrypted, an unsupported method):
    /// skipped, which fails the scan. A limit reached while reading is recorded already.
    fn unreadable(&self, what: &[u8], kind: &str, err: std::io::Error) -> anyhow::Error {
        let why = match kind {
            "entry" => format!("cannot read it: {err}"),
            kind => format!("cannot read it as {kind}: {err}"),
        };
        self.budget.skip(what, why, None).into()
    }
}

/// A reader that counts what it yields against the budget.
struct Metered<'a, R> {
    inner: R,
    budget: &'a Budget<'a>,
    what: &'a [u8],
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.budget.count_bytes(self.what, read as u64)?;
        Ok(read)
    }
}

/// `outer!inner`.
fn entry_label(path: &[u8], name: &[u8]) -> Vec<u8> {
    let mut label = Vec::with_capacity(path.len() + 1 + name.len());
    label.extend_from_slice(path);
    label.push(ENTRY_SEPARATOR);
    label.extend_from_slice(name);
    label
}

/// The name of what a gzip file holds, from the file's own name: `log.gz` holds `log`.
fn gzip_member_name(path: &[u8]) -> Vec<u8> {
    let file_name = path
        .rsplit(|&byte| byte == b'/' || byte == ENTRY_SEPARATOR)
        .next()
        .unwrap_or(path);
    match file_name.strip_suffix(b".gz") {
        Some(stem) if !stem.is_empty() => stem.to_vec(),
        _ => b"(gzip content)".to_vec(),
    }
}

/// `64 MiB`, `1 GiB`, `512 bytes`.
fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    match UNITS.iter().find(|(unit, _)| bytes >= *unit) {
        Some((unit, name)) => format!("{:.1} {name}", bytes as f64 / *unit as f64),
        None => format!("{bytes} bytes"),
    }
}

/// Parses a size as the limit flags take it: `1000`, `64K`, `64M`, `1G` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (such as 1000, 64K, 64M, 1G)"))?;
    let shift = match unit
        .trim_end_matches(['i', 'B', 'b'])
        .to_ascii_uppercase()
        .as_str()
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("{text:?} has an unknown unit (use K, M or G)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *content).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn entries(path: &str, content: &[u8], limits: &ArchiveLimits) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        visit_entries(path.as_bytes(), content, limits, &mut |name, bytes| {
            seen.push(format!(
                "{}={}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(bytes)
            ));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn kinds_come_from_content_not_names() {
        assert_eq!(archive_kind(&gzip(b"x")), Some(ArchiveKind::Gzip));
        assert_eq!(archive_kind(&tar(&[("a", b"b")])), Some(ArchiveKind::Tar));
        assert_eq!(archive_kind(b"PK\x03\x04rest"), Some(ArchiveKind::Zip));
        assert_eq!(archive_kind(b"plain text"), None);
    }

    #[test]
    fn a_tar_gz_lists_its_entries_under_the_file_name() {
        let crate_file = gzip(&tar(&[("pkg-0.1.0/.env", b"A=1"), ("pkg-0.1.0/x", b"y")]));
        let seen = entries("d/pkg-0.1.0.crate", &crate_file, &ArchiveLimits::default()).unwrap();
        assert_eq!(
            seen,
            [
                "d/pkg-0.1.0.crate!pkg-0.1.0/.env=A=1",
                "d/pkg-0.1.0.crate!pkg-0.1.0/x=y"
            ]
        );
    }

    #[test]
    fn nested_archives_are_opened_up_to_the_depth() {
        let inner = gzip(b"secret");
        let outer = tar(&[("logs/app.log.gz", &inner)]);
        let seen = entries("o.tar", &outer, &ArchiveLimits::default()).unwrap();
        assert_eq!(seen, ["o.tar!logs/app.log.gz!app.log=secret"]);
        let shallow = ArchiveLimits {
            max_depth: 1,
            ..ArchiveLimits::default()
        };
        let err = entries("o.tar", &outer, &shallow).unwrap_err();
        let skipped = err.downcast_ref::<ArchiveSkipped>().unwrap();
        assert_eq!(skipped.what, "o.tar!logs/app.log.gz");
        assert!(skipped.to_string().contains("--archive-max-depth"));
    }

    #[test]
    fn each_limit_stops_the_walk_and_names_its_flag() {
        let big = gzip(&vec![b'a'; 3 << 20]);
        let no_ratio = ArchiveLimits {
            max_ratio: u64::MAX,
            ..ArchiveLimits::default()
        };
        let cases = [
            (
                ArchiveLimits {
                    max_entry_bytes: 1 << 20,
                    ..no_ratio
                },
                "--archive-max-entry-bytes",
            ),
            (
                ArchiveLimits {
                    max_total_bytes: 2 << 20,
                    ..no_ratio
                },
                "--archive-max-bytes",
            ),
            (ArchiveLimits::default(), "--archive-max-ratio"),
            (
                ArchiveLimits {
                    max_entries: 0,
                    ..ArchiveLimits::default()
                },
                "--archive-max-entries",
            ),
        ];
        for (limits, flag) in cases {
            let err = entries("big.gz", &big, &limits).unwrap_err();
            assert!(err.to_string().contains(flag), "{err} should name {flag}");
        }
    }

    #[test]
    fn a_corrupt_archive_is_an_error_naming_it() {
        let mut broken = gzip(b"some text that is long enough to be cut");
        broken.truncate(12);
        let err = entries("x.gz", &broken, &ArchiveLimits::default()).unwrap_err();
        assert!(err.to_string().starts_with("x.gz"), "{err}");
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
        assert_eq!(size(64 << 20), "64 MiB");
    }
}
