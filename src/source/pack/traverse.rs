//! Every object of a repository's packs, reconstructed once: each entry is inflated once and
//! each delta applied once, to its parent's buffer still in memory, on all cores.
//!
//! The entries form a forest: whole objects are roots, and every delta is a child of its base
//! (found by offset in the same pack, or by id in any pack). Each thread takes the next root
//! (largest subtrees first) and walks its descendants depth first, keeping only the buffers of
//! the objects on the current path that still have children to rebuild.
//!
//! Packs are read through memory maps: one `pread` per entry spent a tenth of the pass in system
//! calls and copies (rust-lang/cargo, 190,833 entries, 15 runs each: 1.67 s of CPU with `pread`,
//! 1.48 s mapped). The mapped pages are handed back to the system every [`RELEASE_EVERY`] bytes
//! read, so that a pass over a 150 MB pack does not keep all of it resident (releasing every
//! 16 MiB cost more in page faults than it saved).
//!
//! Entries are inflated by libdeflate, whole, into a buffer of the announced size: each entry's
//! deflated data is known to end where the next entry starts. On rust-lang/cargo that took
//! 1.06 s of CPU for the pass where zlib-rs's streaming inflate took 1.34 s (15 runs each).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};

use super::delta::Delta;
use super::entry::{parse_header, EntryKind, ObjectKind, MAX_HEADER_LEN};
use super::idx::{ObjectFormat, PackIndex, MAX_ID_LEN};

/// No object: a delta whose base no pack holds.
const NONE: u32 = u32::MAX;

/// How many bytes of pack data are read between two releases of the mapped pages.
const RELEASE_EVERY: u64 = 64 << 20;

/// One pack and its index.
#[derive(Debug)]
struct Pack {
    path: PathBuf,
    map: memmap2::Mmap,
    index: PackIndex,
}

impl Pack {
    fn open(path: PathBuf, index: PackIndex) -> Result<Pack> {
        let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: the map is only read, and git never changes a pack file in place: a pack is
        // written under a temporary name and renamed, and repacking deletes it (the pages stay
        // readable until unmapped). Another program truncating it could make reads fault, as
        // for libgit2 and git, which map packs too.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(Pack { path, map, index })
    }

    /// Hands the pages read so far back to the system (they are read again from the page cache
    /// if needed), so that the process does not keep the whole pack resident.
    fn release_pages(&self) {
        #[cfg(unix)]
        // SAFETY: the map is a read-only shared file mapping: dropping its pages loses nothing,
        // and a later read faults them back in with the same content.
        unsafe {
            let _ = self
                .map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed);
        }
    }
}

/// The packs of one repository; an object is named by its global index: the pack's first index
/// plus its position in that pack's index.
#[derive(Debug)]
pub struct Packs {
    packs: Vec<Pack>,
    format: ObjectFormat,
    /// The global index of each pack's first object, and the total count last.
    starts: Vec<u32>,
}

impl Packs {
    /// Opens every `objects/pack/*.idx` of the SHA-1 repository at `git_dir` and its pack.
    pub fn open(git_dir: &Path) -> Result<Packs> {
        Packs::open_dir(&git_dir.join("objects").join("pack"), ObjectFormat::Sha1)
    }

    /// Opens every `*.idx` in `pack_dir` (a repository's `objects/pack`, or the `pack`
    /// directory of a server's quarantine) and its pack, for a repository whose objects are
    /// named in `format`. A missing directory holds no pack.
    pub fn open_dir(pack_dir: &Path, format: ObjectFormat) -> Result<Packs> {
        let mut index_paths = Vec::new();
        match std::fs::read_dir(pack_dir) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry
                        .with_context(|| format!("listing {}", pack_dir.display()))?
                        .path();
                    if path.extension().is_some_and(|extension| extension == "idx") {
                        index_paths.push(path);
                    }
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("listing {}", pack_dir.display())),
        }
        index_paths.sort();
        let mut packs = Vec::new();
        let mut starts = vec![0u32];
        for index_path in index_paths {
            let path = index_path.with_extension("pack");
            let index = PackIndex::open(&index_path, format)?;
            let end = u64::from(*starts.last().unwrap()) + index.len() as u64;
            let end = u32::try_from(end)
                .ok()
                .filter(|&end| end != NONE)
                .ok_or_else(|| anyhow!("{}: too many objects", pack_dir.display()))?;
            starts.push(end);
            packs.push(Pack::open(path, index)?);
        }
        Ok(Packs {
            packs,
            format,
            starts,
        })
    }

    /// The object format the packs were read in.
    pub fn format(&self) -> ObjectFormat {
        self.format
    }

    /// How many objects the packs hold (an object in two packs counts twice).
    pub fn len(&self) -> usize {
        *self.starts.last().unwrap() as usize
    }

    /// Whether the packs hold no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The global index of object `id` in the first pack holding it.
    pub fn find(&self, id: &[u8]) -> Option<u32> {
        self.packs
            .iter()
            .zip(&self.starts)
            .find_map(|(pack, &start)| pack.index.find(id).map(|position| start + position as u32))
    }

    /// The id of the object at global index `index`.
    pub fn id(&self, index: u32) -> &[u8] {
        let (pack, position) = self.locate(index);
        self.packs[pack].index.id(position)
    }

    /// Hands the mapped pages of every pack back to the system.
    pub fn release_pages(&self) {
        for pack in &self.packs {
            pack.release_pages();
        }
    }

    fn locate(&self, index: u32) -> (usize, usize) {
        let pack = self.starts.partition_point(|&start| start <= index) - 1;
        (pack, (index - self.starts[pack]) as usize)
    }
}

/// Where one entry's bytes are, and what it is based on.
#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: u64,
    /// Where the deflated data ends: the next entry's offset, or the trailer.
    end: u64,
    /// The base's global index ([`NONE`] for a whole object or a missing base).
    base: u32,
    /// What a whole object is (a root of the forest); `None` for a delta.
    whole: Option<ObjectKind>,
}

/// An object as the traversal hands it to a visitor.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    /// Its global index in [`Packs`].
    pub index: u32,
    pub kind: ObjectKind,
    pub content: &'a [u8],
}

/// How an object was rebuilt from its parent, for visitors that reuse what they learned about it.
#[derive(Debug)]
pub struct Parent<'a, S> {
    pub content: &'a [u8],
    pub state: &'a S,
    pub delta: &'a Delta<'a>,
}

/// What the traversal calls for every object. Each call returns the state kept for the
/// object's delta children, which see it as [`Parent::state`].
pub trait Visitor: Sync {
    type State;
    /// Called once per object; `parent` is set for objects rebuilt from a delta.
    fn visit(
        &self,
        object: Object<'_>,
        parent: Option<Parent<'_, Self::State>>,
    ) -> Result<Self::State>;
    /// Whether the visitor will look at `parent` for delta children (else they get `None`).
    fn wants_parent(&self) -> bool {
        false
    }
}

/// What a traversal did, for benchmarks.
#[derive(Debug, Default, Clone, Copy)]
pub struct TraversalStats {
    pub objects: u64,
    /// Objects rebuilt from a delta.
    pub deltas: u64,
    /// Bytes of pack data read (deflated).
    pub bytes_read: u64,
    /// Bytes the deflated data inflated to (objects and deltas).
    pub bytes_inflated: u64,
    /// Bytes of reconstructed objects.
    pub bytes_reconstructed: u64,
}

#[derive(Default)]
struct Counters {
    objects: AtomicU64,
    deltas: AtomicU64,
    bytes_read: AtomicU64,
    bytes_inflated: AtomicU64,
    bytes_reconstructed: AtomicU64,
}

/// The delta forest of a set of packs.
pub struct Forest<'p> {
    packs: &'p Packs,
    entries: Vec<Entry>,
    /// Children of object `i`: `children[child_starts[i]..child_starts[i + 1]]`.
    child_starts: Vec<u32>,
    children: Vec<u32>,
    /// Whole objects, the subtrees with the most objects first.
    roots: Vec<u32>,
    /// How many objects of each kind the forest holds (a delta is of its base's kind), in the
    /// order of [`ObjectKind`].
    kind_counts: [usize; 4],
    ref_deltas: usize,
}

impl<'p> Forest<'p> {
    /// Reads every entry header of every pack and links deltas to their bases.
    pub fn build(packs: &'p Packs) -> Result<Forest<'p>> {
        let mut entries = Vec::with_capacity(packs.len());
        let mut ref_bases: Vec<(u32, [u8; MAX_ID_LEN])> = Vec::new();
        let id_len = packs.format.id_len();
        for (pack_number, pack) in packs.packs.iter().enumerate() {
            let start = packs.starts[pack_number];
            read_headers(pack, start, id_len, &mut entries, &mut ref_bases)?;
        }
        let ref_deltas = ref_bases.len();
        for (index, base_id) in ref_bases {
            entries[index as usize].base = packs.find(&base_id[..id_len]).unwrap_or(NONE);
        }
        let mut child_starts = vec![0u32; entries.len() + 1];
        for entry in &entries {
            if entry.base != NONE {
                child_starts[entry.base as usize + 1] += 1;
            }
        }
        for index in 1..child_starts.len() {
            child_starts[index] += child_starts[index - 1];
        }
        let mut filled = child_starts.clone();
        let mut children = vec![0u32; *child_starts.last().unwrap() as usize];
        for (index, entry) in entries.iter().enumerate() {
            if entry.base != NONE {
                let slot = &mut filled[entry.base as usize];
                children[*slot as usize] = index as u32;
                *slot += 1;
            }
        }
        let mut forest = Forest {
            packs,
            entries,
            child_starts,
            children,
            roots: Vec::new(),
            kind_counts: [0; 4],
            ref_deltas,
        };
        let mut roots: Vec<(u32, u32)> = Vec::new();
        for (index, entry) in forest.entries.iter().enumerate() {
            if let Some(kind) = entry.whole {
                let size = forest.subtree_size(index as u32);
                forest.kind_counts[kind as usize] += size as usize;
                roots.push((size, index as u32));
            }
        }
        roots.sort_unstable_by(|a, b| b.cmp(a));
        forest.roots = roots.into_iter().map(|(_, root)| root).collect();
        Ok(forest)
    }

    /// How many objects of `kind` the packs hold (an object in two packs counts twice).
    pub fn count(&self, kind: ObjectKind) -> usize {
        self.kind_counts[kind as usize]
    }

    /// How many entries are deltas against a base named by id (REF_DELTA).
    pub fn ref_deltas(&self) -> usize {
        self.ref_deltas
    }

    fn children_of(&self, index: u32) -> &[u32] {
        let index = index as usize;
        &self.children[self.child_starts[index] as usize..self.child_starts[index + 1] as usize]
    }

    fn subtree_size(&self, root: u32) -> u32 {
        let mut size = 0;
        let mut stack = vec![root];
        while let Some(index) = stack.pop() {
            size += 1;
            stack.extend_from_slice(self.children_of(index));
        }
        size
    }

    /// Visits every object reachable from a whole object, on `threads` threads.
    pub fn traverse<V: Visitor>(&self, visitor: &V, threads: usize) -> Result<TraversalStats> {
        let next_root = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let counters = Counters::default();
        let released_at = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    let mut worker = Worker::new(self, visitor, &counters, &released_at);
                    while !failed.load(Ordering::Relaxed) {
                        let next = next_root.fetch_add(1, Ordering::Relaxed);
                        let Some(&root) = self.roots.get(next) else {
                            break;
                        };
                        if let Err(err) = worker.walk(root) {
                            failed.store(true, Ordering::Relaxed);
                            first_error
                                .lock()
                                .unwrap_or_else(|poisoned| poisoned.into_inner())
                                .get_or_insert(err);
                        }
                    }
                });
            }
        });
        self.packs.release_pages();
        if let Some(err) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(err);
        }
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Ok(TraversalStats {
            objects: load(&counters.objects),
            deltas: load(&counters.deltas),
            bytes_read: load(&counters.bytes_read),
            bytes_inflated: load(&counters.bytes_inflated),
            bytes_reconstructed: load(&counters.bytes_reconstructed),
        })
    }
}

/// Reads the entry headers of one pack whose ids have `id_len` bytes, in offset order.
fn read_headers(
    pack: &Pack,
    start: u32,
    id_len: usize,
    entries: &mut Vec<Entry>,
    ref_bases: &mut Vec<(u32, [u8; MAX_ID_LEN])>,
) -> Result<()> {
    let pack_len = pack.map.len() as u64;
    // The checksum that ends every pack has the id's length.
    let trailer_len = id_len as u64;
    if pack_len < 12 + trailer_len {
        bail!("{}: too short for a pack", pack.path.display());
    }
    let head = &pack.map[..12];
    if &head[..4] != b"PACK"
        || u32::from_be_bytes(head[8..12].try_into().unwrap()) as usize != pack.index.len()
    {
        bail!(
            "{}: not a pack, or its object count differs from {}",
            pack.path.display(),
            pack.index.path().display()
        );
    }
    let data_end = pack_len - trailer_len;
    let mut by_offset: Vec<(u64, u32)> = Vec::with_capacity(pack.index.len());
    for position in 0..pack.index.len() {
        by_offset.push((pack.index.offset(position)?, position as u32));
    }
    by_offset.sort_unstable();
    let first_entry = entries.len();
    entries.resize(
        first_entry + pack.index.len(),
        Entry {
            offset: 0,
            end: 0,
            base: NONE,
            whole: None,
        },
    );
    let mut released_at = 0;
    for (order, &(offset, position)) in by_offset.iter().enumerate() {
        let end = by_offset.get(order + 1).map_or(data_end, |&(next, _)| next);
        let corrupt = |what: &str| {
            anyhow!(
                "{}: corrupt entry at offset {offset}: {what}",
                pack.path.display()
            )
        };
        if offset < 12 || end <= offset || end > data_end {
            return Err(corrupt(
                "outside the pack's data or overlapping the next entry",
            ));
        }
        let header_end = end.min(offset + MAX_HEADER_LEN as u64);
        if offset - released_at >= RELEASE_EVERY {
            pack.release_pages();
            released_at = offset;
        }
        let bytes = &pack.map[offset as usize..header_end as usize];
        let header = parse_header(bytes, id_len).map_err(|err| corrupt(&err.to_string()))?;
        let index = start + position;
        let entry = &mut entries[first_entry + position as usize];
        *entry = Entry {
            offset,
            end,
            base: NONE,
            whole: None,
        };
        match header.kind {
            EntryKind::Object(kind) => entry.whole = Some(kind),
            EntryKind::OffsetDelta { base_distance } => {
                let base_offset = offset
                    .checked_sub(base_distance)
                    .ok_or_else(|| corrupt("delta base before the pack's start"))?;
                let found = by_offset
                    .binary_search_by_key(&base_offset, |&(offset, _)| offset)
                    .map_err(|_| corrupt("no entry at the delta base's offset"))?;
                entry.base = start + by_offset[found].1;
            }
            EntryKind::RefDelta { base_id } => ref_bases.push((index, base_id)),
        }
    }
    pack.release_pages();
    Ok(())
}

/// One object on the current path whose delta children are still being rebuilt.
struct Frame<S> {
    index: u32,
    content: Vec<u8>,
    state: S,
    next_child: usize,
}

/// One thread's reusable buffers.
struct Worker<'f, 'p, V: Visitor> {
    forest: &'f Forest<'p>,
    visitor: &'f V,
    counters: &'f Counters,
    /// The count of bytes read at the last release of the mapped pages.
    released_at: &'f AtomicU64,
    inflater: libdeflater::Decompressor,
    delta: Vec<u8>,
    spare: Vec<Vec<u8>>,
}

impl<'f, 'p, V: Visitor> Worker<'f, 'p, V> {
    fn new(
        forest: &'f Forest<'p>,
        visitor: &'f V,
        counters: &'f Counters,
        released_at: &'f AtomicU64,
    ) -> Self {
        Worker {
            forest,
            visitor,
            counters,
            released_at,
            inflater: libdeflater::Decompressor::new(),
            delta: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Rebuilds and visits `root` and all its descendants.
    fn walk(&mut self, root: u32) -> Result<()> {
        let mut content = self.spare.pop().unwrap_or_default();
        let kind = self.read_entry(root, &mut content)?;
        let EntryKind::Object(kind) = kind else {
            return Err(self.corrupt(root, anyhow!("a delta where a whole object was read")));
        };
        let object = Object {
            index: root,
            kind,
            content: &content,
        };
        let state = self.visitor.visit(object, None)?;
        self.count(&content, false);
        let mut stack = vec![Frame {
            index: root,
            content,
            state,
            next_child: 0,
        }];
        let wants_parent = self.visitor.wants_parent();
        while let Some(top) = stack.last_mut() {
            let children = self.forest.children_of(top.index);
            let Some(&child) = children.get(top.next_child) else {
                let done = stack.pop().unwrap();
                self.recycle(done.content);
                continue;
            };
            top.next_child += 1;
            let mut delta_bytes = std::mem::take(&mut self.delta);
            self.read_entry(child, &mut delta_bytes)?;
            let mut rebuilt = self.spare.pop().unwrap_or_default();
            let top = stack.last().unwrap();
            let delta = Delta::parse(&delta_bytes)
                .and_then(|delta| {
                    delta.apply(&top.content, &mut rebuilt)?;
                    Ok(delta)
                })
                .map_err(|err| self.corrupt(child, err))?;
            let object = Object {
                index: child,
                kind,
                content: &rebuilt,
            };
            let parent = wants_parent.then_some(Parent {
                content: &top.content,
                state: &top.state,
                delta: &delta,
            });
            let state = self.visitor.visit(object, parent)?;
            self.delta = delta_bytes;
            self.count(&rebuilt, true);
            if self.forest.children_of(child).is_empty() {
                self.recycle(rebuilt);
            } else {
                // The parent's buffer is no longer needed once its last child is rebuilt, so a
                // long chain holds two buffers, not one per link.
                let top = stack.last().unwrap();
                if top.next_child == self.forest.children_of(top.index).len() {
                    let done = stack.pop().unwrap();
                    self.recycle(done.content);
                }
                stack.push(Frame {
                    index: child,
                    content: rebuilt,
                    state,
                    next_child: 0,
                });
            }
        }
        self.delta.shrink_to(1 << 20);
        Ok(())
    }

    /// Keeps a buffer for reuse, unless it is large or enough are kept: the pool must not hold
    /// on to the memory of the few huge objects.
    fn recycle(&mut self, buffer: Vec<u8>) {
        const KEPT_BUFFERS: usize = 16;
        const KEPT_CAPACITY: usize = 1 << 20;
        if self.spare.len() < KEPT_BUFFERS && buffer.capacity() <= KEPT_CAPACITY {
            self.spare.push(buffer);
        }
    }

    fn count(&self, content: &[u8], delta: bool) {
        self.counters.objects.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_reconstructed
            .fetch_add(content.len() as u64, Ordering::Relaxed);
        if delta {
            self.counters.deltas.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn corrupt(&self, index: u32, err: anyhow::Error) -> anyhow::Error {
        let (pack, _) = self.forest.packs.locate(index);
        anyhow!(
            "{}: corrupt entry at offset {}: {err}",
            self.forest.packs.packs[pack].path.display(),
            self.forest.entries[index as usize].offset
        )
    }

    /// Reads and inflates entry `index` into `out`; returns its header's kind.
    fn read_entry(&mut self, index: u32, out: &mut Vec<u8>) -> Result<EntryKind> {
        let entry = self.forest.entries[index as usize];
        let (pack, _) = self.forest.packs.locate(index);
        let pack = &self.forest.packs.packs[pack];
        // Entries were checked to lie inside the pack's data when the forest was built.
        let data = &pack.map[entry.offset as usize..entry.end as usize];
        let read = self
            .counters
            .bytes_read
            .fetch_add(data.len() as u64, Ordering::Relaxed)
            + data.len() as u64;
        let released_at = self.released_at.load(Ordering::Relaxed);
        if read - released_at >= RELEASE_EVERY
            && self
                .released_at
                .compare_exchange(released_at, read, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.forest.packs.release_pages();
        }
        let header = parse_header(data, self.forest.packs.format.id_len())
            .map_err(|err| self.corrupt(index, err))?;
        let size = header.inflated_size;
        let deflated = &data[header.header_len..];
        // Deflate cannot compress better than about 1:1032, so a larger size is a lie.
        if size > deflated.len() as u64 * 1032 + 64 {
            return Err(self.corrupt(index, anyhow!("inflated size {size} is impossible")));
        }
        let size = size as usize;
        out.clear();
        // One byte more than announced, so that data inflating to more is caught.
        out.resize(size + 1, 0);
        let inflated = self
            .inflater
            .zlib_decompress(deflated, out)
            .map_err(|err| self.corrupt(index, anyhow!("cannot inflate: {err}")))?;
        out.truncate(inflated);
        if inflated != size {
            return Err(self.corrupt(
                index,
                anyhow!("inflates to {inflated} bytes, {size} announced"),
            ));
        }
        self.counters
            .bytes_inflated
            .fetch_add(size as u64, Ordering::Relaxed);
        Ok(header.kind)
    }
}
