//! Git's pack files read directly: every object of a repository reconstructed once, in
//! parallel, to decide before a history scan which blobs and trees need no further look.
//!
//! [`idx`] reads pack indexes, [`entry`] entry headers, [`delta`] git's delta format;
//! [`traverse`] rebuilds every object through the delta forest; [`verdicts`] turns what it sees
//! into [`crate::source::verdicts::Verdicts`], searching a blob rebuilt from a delta only
//! around what the delta changed.

pub mod choice;
pub mod delta;
pub mod entry;
pub mod idx;
pub mod traverse;
pub mod verdicts;

pub use entry::ObjectKind;
pub use idx::ObjectFormat;
pub use traverse::{Forest, Object, Packs, Parent, TraversalStats, Visitor};
pub use verdicts::{PackStats, PackVerdicts, ScanMode};

/// How many threads a pass over the packs uses: one per core.
pub fn thread_count() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
