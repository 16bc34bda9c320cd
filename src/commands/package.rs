//! `scan-package`: what `cargo package` would upload, scanned before it is.

use std::path::Path;

use anyhow::{Context as _, Result};
use git2::Repository;

use cio_hook::package::{build_packages, scan_packages, PackageSelection};

use super::context::Context;

/// Builds the selected packages with cargo into a temporary directory, scans each `.crate`, and
/// reports like the other scans (exit 0 clean, 1 a token is packed, 2 an error).
pub fn scan_package(
    context: &Context,
    manifest_path: Option<&Path>,
    package: Option<&str>,
    workspace: bool,
) -> Result<i32> {
    let selection = PackageSelection {
        manifest_path: manifest_path.map(Path::to_path_buf),
        package: package.map(str::to_string),
        workspace,
    };
    let target_dir = tempfile::Builder::new()
        .prefix("cio-hook-package-")
        .tempdir()
        .context("creating a temporary target directory")?;
    let crates = build_packages(&selection, target_dir.path())?;
    let repo = Repository::open_from_env().ok();
    let report = scan_packages(&context.scanner(repo.as_ref())?, &crates)?;
    context.finish(&report)
}
