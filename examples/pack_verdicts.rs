//! Times `PackVerdicts::compute` on a repository, for benchmarks:
//! `cargo run --release --example pack_verdicts -- /path/to/repo.git [full|windows|checked]`
//! (run it under `/usr/bin/time -v` for peak memory).

use std::path::PathBuf;

use cio_hook::source::pack::{PackVerdicts, ScanMode};

fn main() -> anyhow::Result<()> {
    let git_dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: pack_verdicts GIT_DIR"))?,
    );
    let mode = match std::env::args().nth(2).as_deref() {
        None => None,
        Some("full") => Some(ScanMode::Full),
        Some("windows") => Some(ScanMode::Windows),
        Some("checked") => Some(ScanMode::Checked),
        Some(other) => anyhow::bail!("unknown mode {other}: full, windows or checked"),
    };
    let verdicts = match mode {
        None => PackVerdicts::compute(&git_dir)?,
        Some(mode) => PackVerdicts::compute_with(&git_dir, mode)?,
    };
    let stats = verdicts.stats();
    let traversal = stats.traversal;
    println!(
        "{}: {:.3} s, {} objects ({} deltas, {:.0} objects/s), read {} MB, inflated {} MB, \
         reconstructed {} MB, searched {} MB; blobs {} clean / {} candidate, trees {} clean / {} candidate",
        git_dir.display(),
        stats.seconds,
        traversal.objects,
        traversal.deltas,
        traversal.objects as f64 / stats.seconds,
        traversal.bytes_read >> 20,
        traversal.bytes_inflated >> 20,
        traversal.bytes_reconstructed >> 20,
        stats.bytes_searched >> 20,
        stats.clean_blobs,
        stats.candidate_blobs,
        stats.clean_trees,
        stats.candidate_trees,
    );
    Ok(())
}
