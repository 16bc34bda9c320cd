//! Whether a commit scan first makes a pass over every packed object ([`super::PackVerdicts`]):
//! the decision, from counts alone, and the `CIO_HOOK_PACK_PASS` diagnostics setting that forces
//! it either way for benchmarks (`auto`, the default, `always` or `never`).

use std::sync::OnceLock;

/// The environment variable that forces the pass on or off (diagnostics and benchmarks).
pub const PACK_PASS_VARIABLE: &str = "CIO_HOOK_PACK_PASS";

/// Below this many commits, a commit scan reads only what the commits change (hooks, short
/// ranges): a pass over every packed object cannot pay for itself.
pub const MIN_COMMITS_FOR_PACK_PASS: usize = 1000;

/// A commit scan first decides every packed object when it has at least one commit for this many
/// packed objects. Measured on rust-lang/cargo (233,478 packed objects, 2 cores): the pass costs
/// about 1.06 s (4.6 µs an object); scanning the newest 1,000, 3,000 and 10,000 commits took
/// 0.47, 0.85 and 1.91 s without verdicts and 0.03, 0.10 and 0.20 s with them, about 0.17 ms
/// saved a commit. The pass pays from about one commit for 37 objects (6,300 commits on cargo).
/// Repositories whose commits change large candidate-free files save more a commit, so this errs
/// on the side of the pass.
pub const PACKED_OBJECTS_PER_COMMIT: usize = 40;

/// How the pass is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackPass {
    /// By [`pass_pays`] (the default).
    Auto,
    /// Always, whenever the packs can be read.
    Always,
    /// Never: every object is read through libgit2.
    Never,
}

impl PackPass {
    /// The setting named by `value` (`auto`, `always`, `never`; empty is `auto`).
    pub fn parse(value: &str) -> Result<PackPass, String> {
        match value {
            "" | "auto" => Ok(PackPass::Auto),
            "always" => Ok(PackPass::Always),
            "never" => Ok(PackPass::Never),
            other => Err(format!(
                "{PACK_PASS_VARIABLE}={other:?} is not one of auto, always, never"
            )),
        }
    }
}

/// The setting from the environment, read once; an unreadable value is an error (reported by
/// the command before any scan, see [`check_setting`]).
pub fn setting() -> Result<PackPass, String> {
    static SETTING: OnceLock<Result<PackPass, String>> = OnceLock::new();
    SETTING
        .get_or_init(|| match std::env::var_os(PACK_PASS_VARIABLE) {
            None => Ok(PackPass::Auto),
            Some(value) => match value.to_str() {
                Some(value) => PackPass::parse(value),
                None => Err(format!("{PACK_PASS_VARIABLE} is not valid UTF-8")),
            },
        })
        .clone()
}

/// Fails with a one-line message when `CIO_HOOK_PACK_PASS` holds something else than `auto`,
/// `always` or `never`.
pub fn check_setting() -> anyhow::Result<()> {
    setting().map(|_| ()).map_err(anyhow::Error::msg)
}

/// Whether a scan of `commit_count` commits may make the pass at all (checked before counting
/// the packed objects, which costs a look at the packs).
pub fn pass_may_pay(commit_count: usize) -> bool {
    pass_may_pay_under(setting().unwrap_or(PackPass::Auto), commit_count)
}

/// Whether a scan of `commit_count` commits makes a pass over `packed_objects` objects, under
/// the environment's setting.
pub fn pack_pass_pays(commit_count: usize, packed_objects: usize) -> bool {
    pass_chosen(
        setting().unwrap_or(PackPass::Auto),
        commit_count,
        packed_objects,
    )
}

/// [`pass_may_pay`] under `setting`.
pub fn pass_may_pay_under(setting: PackPass, commit_count: usize) -> bool {
    match setting {
        PackPass::Auto => commit_count >= MIN_COMMITS_FOR_PACK_PASS,
        PackPass::Always => true,
        PackPass::Never => false,
    }
}

/// [`pack_pass_pays`] under `setting`.
pub fn pass_chosen(setting: PackPass, commit_count: usize, packed_objects: usize) -> bool {
    match setting {
        PackPass::Auto => pass_pays(commit_count, packed_objects),
        PackPass::Always => true,
        PackPass::Never => false,
    }
}

/// Below this many blobs to decide, a scan through the git CLI reads them through git rather
/// than make the pass (a short range or push in a SHA-256 or reftable repository).
pub const MIN_BLOBS_FOR_PACK_PASS: usize = 1000;

/// Whether a scan through the git CLI that must decide `blob_count` new blobs makes the pass,
/// under the environment's setting.
pub fn pass_pays_for_blobs(blob_count: usize) -> bool {
    match setting().unwrap_or(PackPass::Auto) {
        PackPass::Auto => blob_count >= MIN_BLOBS_FOR_PACK_PASS,
        PackPass::Always => true,
        PackPass::Never => false,
    }
}

/// Whether a scan of a whole history through the git CLI makes the pass, whatever its length:
/// every blob is new in some commit, and reading them all through git costs more. Only
/// `never` turns it off.
pub fn pass_for_whole_history() -> bool {
    setting().unwrap_or(PackPass::Auto) != PackPass::Never
}

/// Whether a pass over `packed_objects` saves more than it costs a scan of `commit_count`
/// commits.
pub fn pass_pays(commit_count: usize, packed_objects: usize) -> bool {
    commit_count >= MIN_COMMITS_FOR_PACK_PASS
        && commit_count.saturating_mul(PACKED_OBJECTS_PER_COMMIT) >= packed_objects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_commits_never_pay() {
        assert!(!pass_pays(MIN_COMMITS_FOR_PACK_PASS - 1, 1));
        assert!(pass_pays(MIN_COMMITS_FOR_PACK_PASS, 1));
    }

    #[test]
    fn the_pass_pays_from_one_commit_for_forty_objects() {
        let commits = 6_000;
        assert!(pass_pays(commits, commits * PACKED_OBJECTS_PER_COMMIT));
        assert!(!pass_pays(commits, commits * PACKED_OBJECTS_PER_COMMIT + 1));
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        assert!(pass_pays(usize::MAX, usize::MAX));
    }

    #[test]
    fn forcing_overrides_the_counts() {
        assert!(pass_chosen(PackPass::Always, 1, usize::MAX));
        assert!(!pass_chosen(PackPass::Never, usize::MAX, 1));
        assert!(pass_may_pay_under(PackPass::Always, 0));
        assert!(!pass_may_pay_under(PackPass::Never, usize::MAX));
        assert!(!pass_may_pay_under(
            PackPass::Auto,
            MIN_COMMITS_FOR_PACK_PASS - 1
        ));
    }

    #[test]
    fn settings_parse_and_others_are_refused() {
        assert_eq!(PackPass::parse(""), Ok(PackPass::Auto));
        assert_eq!(PackPass::parse("auto"), Ok(PackPass::Auto));
        assert_eq!(PackPass::parse("always"), Ok(PackPass::Always));
        assert_eq!(PackPass::parse("never"), Ok(PackPass::Never));
        let refused = PackPass::parse("yes").unwrap_err();
        assert!(
            refused.contains(PACK_PASS_VARIABLE) && refused.contains("\"yes\""),
            "{refused}"
        );
    }
}
