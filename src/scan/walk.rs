//! The commit walk: what many commits add (a range, a push, every ref), shared among worker
//! threads, one per core, after a pass over every packed object when it saves more than it
//! costs ([`crate::source::pack::choice`]): the pass's verdicts let the walk skip clean subtrees
//! and blobs unread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use super::{ProgressFn, Scanner};
use crate::report::{Finding, Report, Scope};
use crate::source::pack::choice::{pack_pass_pays, pass_may_pay};
use crate::source::pack::{PackVerdicts, Packs, ScanMode};
use crate::source::tree_diff::TreeReader;
use crate::source::verdicts::{NoVerdicts, Verdict as ObjectVerdict, Verdicts};
use crate::source::{blobs, commits};
use crate::timings::timed;

/// Below this many commits per core, a commit scan stays on one thread.
const MIN_COMMITS_PER_WORKER: usize = 1000;

impl Scanner {
    /// Scans what each commit adds; findings come in the order of `commit_ids`.
    ///
    /// Commits are independent, so long lists are shared among worker threads, one per core,
    /// each with its own handle on the repository (libgit2 handles are not shared across
    /// threads). A long list is preceded by a pass over every packed object (see
    /// [`crate::source::pack::choice`]) so that clean subtrees and blobs are not read.
    /// `progress` is called on this thread.
    pub fn scan_commits(
        &self,
        repo: &Repository,
        commit_ids: &[Oid],
        scope: Scope,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let verdicts = timed("pack pass", || self.pack_verdicts(repo, commit_ids.len()));
        timed("commit walk", || match verdicts {
            Some(verdicts) => {
                self.scan_commits_with_verdicts(repo, commit_ids, scope, &verdicts, progress)
            }
            None => self.scan_commits_with_verdicts(repo, commit_ids, scope, &NoVerdicts, progress),
        })
    }

    /// Scans every commit reachable from a ref or from HEAD ([`commits::all_commits`]).
    ///
    /// When the packs hold enough commits for it to pay, the pass over the packed objects comes
    /// first, and the commits are then listed from what it read (each after its parents, first
    /// parents first), which saves libgit2's reading every commit again (0.2 s on
    /// rust-lang/cargo's 23,815 commits). A commit the packs do not hold makes the list come
    /// from libgit2. The refs are read on another thread while the pass runs.
    pub fn scan_history(
        &self,
        repo: &Repository,
        scope: Scope,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        // Without the pass (objects in a quarantine, too few commits, unreadable packs: libgit2
        // then reports real damage), libgit2 lists and reads every commit.
        let without_pass = |progress: ProgressFn<'_>| {
            let commit_ids = timed("commit list", || commits::all_commits(repo))?;
            timed("commit walk", || {
                self.scan_commits_with_verdicts(
                    repo,
                    &commit_ids,
                    scope.clone(),
                    &NoVerdicts,
                    progress,
                )
            })
        };
        if !self.extra_object_dirs.is_empty() {
            return without_pass(progress);
        }
        // The refs are read on another thread meanwhile: file system work, mostly.
        let git_dir = repo.path();
        let (targets, verdicts) = std::thread::scope(|threads| {
            let reader = threads.spawn(|| {
                timed("refs", || {
                    let repo = Repository::open(git_dir)
                        .with_context(|| format!("opening {}", git_dir.display()))?;
                    commits::ref_targets(&repo)
                })
            });
            let verdicts = timed("pack pass", || {
                PackVerdicts::compute_if(repo.commondir(), ScanMode::Windows, pack_pass_pays)
            });
            let targets = reader
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the thread reading refs panicked")));
            (targets, verdicts)
        });
        let targets = targets?;
        let Some(verdicts) = verdicts.ok().flatten() else {
            return without_pass(progress);
        };
        let tips = commits::commits_at(repo, &targets, &|id| verdicts.is_commit(id));
        let commit_ids = match timed("commit list", || verdicts.commits_reachable_from(&tips)) {
            Some(commit_ids) => commit_ids,
            None => timed("commit list through libgit2", || commits::all_commits(repo))?,
        };
        timed("commit walk", || {
            self.scan_commits_with_verdicts(repo, &commit_ids, scope, &verdicts, progress)
        })
    }

    /// Verdicts on every packed object of `repo`, when a scan of `commit_count` commits saves
    /// more than computing them costs. For a server's quarantined push, over the quarantine's
    /// packs ([`Scanner::with_pushed_packs`]) or none at all (the pushed objects are not in the
    /// repository's packs); never when the packs cannot be read here: the scan then reads every
    /// object through libgit2, which reports real damage.
    fn pack_verdicts(&self, repo: &Repository, commit_count: usize) -> Option<PackVerdicts> {
        if !pass_may_pay(commit_count) {
            return None;
        }
        if let Some(pack_dir) = &self.pushed_packs {
            // A push of few objects is unpacked (receive.unpackLimit): no pack, no pass.
            return PackVerdicts::compute_in_if(
                pack_dir,
                ScanMode::Windows,
                |_, packed_objects| {
                    packed_objects > 0 && pack_pass_pays(commit_count, packed_objects)
                },
            )
            .ok()
            .flatten();
        }
        if !self.extra_object_dirs.is_empty() {
            return None;
        }
        let packed_objects = Packs::open(repo.commondir()).ok()?.len();
        if !pack_pass_pays(commit_count, packed_objects) {
            return None;
        }
        PackVerdicts::compute(repo.commondir()).ok()
    }

    /// [`Scanner::scan_commits`], skipping the subtrees and blobs that `verdicts` calls clean
    /// (the findings are the same; only what is read differs).
    pub fn scan_commits_with_verdicts(
        &self,
        repo: &Repository,
        commit_ids: &[Oid],
        scope: Scope,
        verdicts: &dyn Verdicts,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(commit_ids.len() / MIN_COMMITS_PER_WORKER)
            .max(1);
        let clean = blobs::CleanBlobs::default();
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let blocking = AtomicUsize::new(0);
        // Workers take runs of consecutive commits: a commit's parent trees are then usually in
        // the same worker's object cache.
        let run_length = (commit_ids.len() / (workers * 8)).max(MIN_COMMITS_PER_WORKER);
        let scan_some = |repo: &Repository| -> Result<Vec<(usize, Vec<Finding>)>> {
            let mut trees = TreeReader::new(repo);
            let mut scanned = Vec::new();
            loop {
                let first = next.fetch_add(run_length, Ordering::Relaxed);
                if first >= commit_ids.len() {
                    return Ok(scanned);
                }
                let last = (first + run_length).min(commit_ids.len());
                for (position, &oid) in commit_ids.iter().enumerate().take(last).skip(first) {
                    let findings = self.findings_in_commit(&mut trees, oid, verdicts, &clean)?;
                    let found = findings.iter().filter(|f| f.is_blocking()).count();
                    blocking.fetch_add(found, Ordering::Relaxed);
                    done.fetch_add(1, Ordering::Relaxed);
                    scanned.push((position, findings));
                }
            }
        };
        let mut scanned = if workers == 1 {
            let mut trees = TreeReader::new(repo);
            let mut scanned = Vec::new();
            for (position, &oid) in commit_ids.iter().enumerate() {
                let findings = self.findings_in_commit(&mut trees, oid, verdicts, &clean)?;
                let found = findings.iter().filter(|f| f.is_blocking()).count();
                let total = blocking.fetch_add(found, Ordering::Relaxed) + found;
                progress(position + 1, commit_ids.len(), total);
                scanned.push((position, findings));
            }
            scanned
        } else {
            let git_dir = repo.path().to_path_buf();
            let reporter = std::thread::current();
            std::thread::scope(|scope| -> Result<_> {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        let git_dir = &git_dir;
                        let scan_some = &scan_some;
                        let reporter = reporter.clone();
                        scope.spawn(move || {
                            let scanned = Repository::open(git_dir)
                                .with_context(|| format!("opening {}", git_dir.display()))
                                .and_then(|repo| {
                                    add_object_dirs(&repo, &self.extra_object_dirs)?;
                                    scan_some(&repo)
                                });
                            // Wakes the reporting loop below at once, not at its next tick.
                            reporter.unpark();
                            scanned
                        })
                    })
                    .collect();
                while handles.iter().any(|handle| !handle.is_finished()) {
                    progress(
                        done.load(Ordering::Relaxed),
                        commit_ids.len(),
                        blocking.load(Ordering::Relaxed),
                    );
                    std::thread::park_timeout(std::time::Duration::from_millis(50));
                }
                let mut scanned = Vec::new();
                for handle in handles {
                    let part = handle
                        .join()
                        .map_err(|_| anyhow::anyhow!("a scanning thread panicked"))??;
                    scanned.extend(part);
                }
                Ok(scanned)
            })?
        };
        progress(
            commit_ids.len(),
            commit_ids.len(),
            blocking.load(Ordering::Relaxed),
        );
        scanned.sort_by_key(|(position, _)| *position);
        Ok(Report {
            scope,
            findings: scanned.into_iter().flat_map(|(_, found)| found).collect(),
            commits_scanned: commit_ids.len(),
        })
    }

    /// The findings in what one commit adds.
    fn findings_in_commit(
        &self,
        trees: &mut TreeReader<'_>,
        oid: Oid,
        verdicts: &dyn Verdicts,
        clean: &blobs::CleanBlobs,
    ) -> Result<Vec<Finding>> {
        if verdicts.commit(oid) == ObjectVerdict::Clean {
            return Ok(Vec::new());
        }
        self.findings_from(|sink| commits::added_in_commit(trees, oid, verdicts, clean, sink))
    }
}

/// Adds `dirs` to the object directories `repo` reads from.
pub fn add_object_dirs(repo: &Repository, dirs: &[PathBuf]) -> Result<()> {
    if dirs.is_empty() {
        return Ok(());
    }
    let odb = repo.odb().context("opening the object database")?;
    for dir in dirs {
        let text = dir
            .to_str()
            .with_context(|| format!("object directory {} is not UTF-8", dir.display()))?;
        odb.add_disk_alternate(text)
            .with_context(|| format!("reading objects from {}", dir.display()))?;
    }
    Ok(())
}
