//! The files inside an archive that a scan reads (see [`crate::archive`]), as added text: every
//! entry of an archive counts as added, each named `path!entry`.

use std::sync::Arc;

use anyhow::Result;

use super::blobs::added_content;
use super::{AddedText, CommitInfo};
use crate::archive::{visit_entries, ArchiveLimits};
use crate::detect::may_contain_secret;

/// Calls `sink` with the content of every file inside the archive `content` (found at `path`,
/// added by `commit`) that may hold a secret, and with each entry name that holds a token.
/// A limit reached is an [`crate::archive::ArchiveSkipped`] error.
pub fn added_in_archive(
    path: &[u8],
    content: &[u8],
    commit: Option<&Arc<CommitInfo>>,
    sink: &mut dyn FnMut(AddedText<'_>) -> Result<()>,
) -> Result<()> {
    visit_entries(
        path,
        content,
        &ArchiveLimits::current(),
        &mut |name, bytes| {
            if let Some(added) = AddedText::new_path(name, commit.cloned()) {
                sink(added)?;
            }
            if !may_contain_secret(name, bytes) {
                return Ok(());
            }
            let added = added_content(None, bytes)?;
            sink(AddedText::new(name.to_vec(), commit.cloned(), added, bytes))
        },
    )
}
