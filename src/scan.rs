//! The pipeline: added text from a source, tokens from the detector, verdicts from the allowlist.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use git2::{Oid, Repository};
use memchr::memmem;

use crate::allow::{is_allowlist_file, Allowlist, Verdict};
use crate::detect::{
    candidate_lines, find_in_credentials_file, find_in_line, find_in_path, Detection, FileHint,
};
use crate::redact::{
    display_path, fingerprint, preview_line, redact_bytes, redact_text, redact_token,
    show_placeholder,
};
use crate::report::{Finding, Report, Scope, Status, INLINE_ALLOW_MARKER};
use crate::source::pack::{PackVerdicts, Packs, ScanMode};
use crate::source::pre_push::{plan_push, PushPlan, RefUpdate};
use crate::source::tree_diff::TreeReader;
use crate::source::verdicts::{NoVerdicts, Verdict as ObjectVerdict, Verdicts};
use crate::source::{
    blobs, commits, files, message, path_from_bytes, staged, tree_diff, AddedContent, AddedText,
    CommitInfo, TAG_MESSAGE,
};
use crate::timings::timed;

/// Below this many commits per core, a commit scan stays on one thread.
const MIN_COMMITS_PER_WORKER: usize = 1000;

/// Below this many commits, a commit scan reads only what the commits change (hooks, short
/// ranges): a pass over every packed object cannot pay for itself.
const MIN_COMMITS_FOR_PACK_PASS: usize = 1000;

/// A commit scan first decides every packed object ([`PackVerdicts`]) when it has at least one
/// commit for this many packed objects. Measured on rust-lang/cargo (233,478 packed objects,
/// 2 cores): the pass costs about 1.06 s (4.6 µs an object); scanning the newest 1,000, 3,000 and
/// 10,000 commits took 0.47, 0.85 and 1.91 s without verdicts and 0.03, 0.10 and 0.20 s with
/// them, about 0.17 ms saved a commit. The pass pays from about one commit for 37 objects
/// (6,300 commits on cargo). Repositories whose commits change large candidate-free files save
/// more a commit, so this errs on the side of the pass.
const PACKED_OBJECTS_PER_COMMIT: usize = 40;

/// Whether a pass over `packed_objects` saves more than it costs a scan of `commit_count`
/// commits.
fn pack_pass_pays(commit_count: usize, packed_objects: usize) -> bool {
    commit_count >= MIN_COMMITS_FOR_PACK_PASS
        && commit_count.saturating_mul(PACKED_OBJECTS_PER_COMMIT) >= packed_objects
}

/// Progress of a commit scan: commits done, commits in all, blocking findings so far.
pub type ProgressFn<'a> = &'a mut dyn FnMut(usize, usize, usize);

/// Turns added text into findings under an allowlist.
pub struct Scanner {
    allowlist: Allowlist,
    /// Object directories beyond the repository's own, which every handle on it reads too
    /// (a server's quarantine, where a push's objects wait for the hook's verdict).
    extra_object_dirs: Vec<PathBuf>,
    /// For a server: the quarantine's pack directory, holding what the push brings, over which
    /// a large push's scan makes its pack pass.
    pushed_packs: Option<PathBuf>,
    /// Token text by fingerprint, kept only for `verify` and `revoke`, which must send it.
    secrets: Option<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Scanner {
    pub fn new(allowlist: Allowlist) -> Scanner {
        Scanner {
            allowlist,
            extra_object_dirs: Vec::new(),
            pushed_packs: None,
            secrets: None,
        }
    }

    /// Makes the handles that worker threads open read objects from `dirs` as well.
    pub fn with_extra_object_dirs(mut self, dirs: Vec<PathBuf>) -> Scanner {
        self.extra_object_dirs = dirs;
        self
    }

    /// Makes a large push's scan take its pack pass over the packs in `pack_dir` (a server's
    /// `$GIT_QUARANTINE_PATH/pack`) rather than none: the objects outside them are the
    /// server's, already accepted, and are read through libgit2 where a commit needs them.
    pub fn with_pushed_packs(mut self, pack_dir: PathBuf) -> Scanner {
        self.pushed_packs = Some(pack_dir);
        self
    }

    /// A scanner that also keeps the text of each token it finds, for [`Scanner::secret`].
    /// Reports still never hold it.
    pub fn keeping_secrets(mut self) -> Scanner {
        self.secrets = Some(Mutex::default());
        self
    }

    /// The text of the token with this fingerprint, when it was found by a scanner made with
    /// [`Scanner::keeping_secrets`].
    pub fn secret(&self, fingerprint: &str) -> Option<Vec<u8>> {
        let secrets = self.secrets.as_ref()?.lock().ok()?;
        secrets.get(fingerprint).cloned()
    }

    /// The findings in one piece of added text.
    pub fn findings_in(&self, added: &AddedText<'_>) -> Vec<Finding> {
        let path = display_path(&added.path);
        let real_path = redact_bytes(&added.path);
        let path_bytes = (real_path != path.as_bytes()).then_some(real_path);
        let fs_path = path_from_bytes(&added.path);
        let hint = FileHint::for_path(&added.path);
        let finding = |detection: Detection, line: Option<(&[u8], u32)>, preview| {
            let (line_number, column, offset) = match line {
                Some((text, number)) => (
                    Some(number),
                    Some(char_count(&text[..detection.start]) + 1),
                    None,
                ),
                None => (None, None, Some(detection.start as u64)),
            };
            let fingerprint = fingerprint(&detection.secret);
            if let Some(secrets) = &self.secrets {
                let mut secrets = secrets
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                secrets
                    .entry(fingerprint.clone())
                    .or_insert_with(|| detection.secret.clone());
            }
            Finding {
                rule: detection.rule,
                encoding: detection.encoding,
                registry: detection.registry.clone(),
                path: path.clone(),
                path_bytes: path_bytes.clone(),
                commit: added.commit.clone(),
                line: line_number,
                column,
                offset,
                token: shown_secret(&detection),
                preview,
                status: self.status(&fs_path, &detection, &fingerprint),
                fingerprint,
                packaged: None,
            }
        };
        let scan_line = |number: u32, line: &[u8], findings: &mut Vec<Finding>| {
            let allowed_inline = memmem::find(line, INLINE_ALLOW_MARKER).is_some();
            let detections = find_in_line(line, hint);
            let secrets = redacted_spans(&detections);
            for (index, detection) in detections.into_iter().enumerate() {
                let preview = preview_line(line, &secrets, index);
                let mut found = finding(detection, Some((line, number)), Some(preview));
                if allowed_inline && found.is_blocking() && !is_allowlist_file(&fs_path) {
                    found.status = Status::AllowedInline;
                }
                findings.push(found);
            }
        };
        let mut findings = Vec::new();
        match &added.content {
            AddedContent::Text(text) => {
                for (number, line) in candidate_lines(text) {
                    scan_line(number, line, &mut findings);
                }
            }
            AddedContent::Lines(lines) => {
                for line in lines {
                    scan_line(line.number, &line.bytes, &mut findings);
                }
            }
            AddedContent::Binary { bytes, previous } => {
                let known: HashSet<Vec<u8>> = previous
                    .iter()
                    .flat_map(|old| find_in_line(old, hint))
                    .map(|detection| detection.secret)
                    .collect();
                for detection in find_in_line(bytes, hint) {
                    if !known.contains(&detection.secret) {
                        findings.push(finding(detection, None, None));
                    }
                }
            }
            AddedContent::Path => {
                // The path is the location: no line, column or offset.
                for detection in find_in_path(&added.path) {
                    findings.push(Finding {
                        offset: None,
                        ..finding(detection, None, None)
                    });
                }
            }
        }
        if let Some(file_text) = &added.file_text {
            let file_lines: Vec<&[u8]> = file_text.split(|&b| b == b'\n').collect();
            for (number, detection) in find_in_credentials_file(file_text) {
                let is_added = match &added.content {
                    AddedContent::Lines(lines) => lines
                        .binary_search_by_key(&number, |line| line.number)
                        .is_ok(),
                    AddedContent::Text(_) => true,
                    AddedContent::Binary { .. } | AddedContent::Path => false,
                };
                if is_added {
                    let text = file_lines[number as usize - 1];
                    // Other secrets on the line are redacted in the preview too.
                    let mut on_line = vec![detection.clone()];
                    on_line.extend(find_in_line(text, hint));
                    let preview = preview_line(text, &redacted_spans(&on_line), 0);
                    findings.push(finding(detection, Some((text, number)), Some(preview)));
                }
            }
            findings.sort_by_key(|found| (found.line, found.column));
        }
        findings
    }

    /// What a detection means for the commit: a placeholder, allowed, or blocking.
    fn status(&self, path: &Path, detection: &Detection, fingerprint: &str) -> Status {
        if detection.placeholder {
            return Status::Placeholder;
        }
        match self.allowlist.verdict(path, &detection.secret, fingerprint) {
            Verdict::Allowed(entry) => Status::Allowed {
                by: entry.origin.clone(),
                reason: entry.shown_reason(),
            },
            Verdict::Expired(entry) => Status::Blocking {
                expired_allow: Some(format!(
                    "{} expired on {}",
                    entry.origin,
                    entry.expires.map(|day| day.to_string()).unwrap_or_default()
                )),
            },
            Verdict::NotListed => Status::Blocking {
                expired_allow: None,
            },
        }
    }

    /// The allowlist this scanner applies.
    pub fn allowlist(&self) -> &Allowlist {
        &self.allowlist
    }

    /// Runs a source and gathers the findings in everything it yields.
    fn findings_from<T>(
        &self,
        source: impl FnOnce(&mut dyn FnMut(AddedText<'_>) -> Result<()>) -> Result<T>,
    ) -> Result<Vec<Finding>> {
        let mut findings = Vec::new();
        source(&mut |added| {
            findings.extend(self.findings_in(&added));
            Ok(())
        })?;
        Ok(findings)
    }

    /// Scans everything the index tracks, all of it as new: for auditing the allowlist.
    pub fn scan_tracked(&self, repo: &Repository) -> Result<Vec<Finding>> {
        self.findings_from(|sink| staged::all_in_index(repo, sink))
    }

    /// Scans the staged change (the index against HEAD). A bare repository has no index, hence
    /// nothing staged: that is an error, not a clean result.
    pub fn scan_staged(&self, repo: &Repository) -> Result<Report> {
        if repo.is_bare() {
            anyhow::bail!(
                "{} is a bare repository: it has no index, so there are no staged changes to \
                 scan (scan-history or scan-range scan its commits)",
                display_path(repo.path().as_os_str().as_encoded_bytes())
            );
        }
        Ok(Report {
            scope: Scope::Staged {
                first_commit: repo.head().is_err(),
            },
            findings: self.findings_from(|sink| staged::added_in_index(repo, sink))?,
            commits_scanned: 0,
        })
    }

    /// Scans a commit message file before git commits it (the commit-msg hook).
    pub fn scan_message(&self, path: &Path) -> Result<Report> {
        Ok(Report {
            scope: Scope::CommitMessage,
            findings: self.findings_from(|sink| message::added_in_message_file(path, sink))?,
            commits_scanned: 0,
        })
    }

    /// Scans files and directories on disk (`-` for standard input), all of their content.
    pub fn scan_paths(&self, paths: &[PathBuf]) -> Result<Report> {
        Ok(Report {
            scope: Scope::Files,
            findings: self.findings_from(|sink| files::added_in_paths(paths, sink))?,
            commits_scanned: 0,
        })
    }

    /// Scans what each commit adds; findings come in the order of `commit_ids`.
    ///
    /// Commits are independent, so long lists are shared among worker threads, one per core,
    /// each with its own handle on the repository (libgit2 handles are not shared across
    /// threads). A long list is preceded by a pass over every packed object (see
    /// [`PACKED_OBJECTS_PER_COMMIT`]) so that clean subtrees and blobs are not read.
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
        if commit_count < MIN_COMMITS_FOR_PACK_PASS {
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

    /// Scans what a push of `updates` to `remote` (at `url`) would make new there: commits,
    /// annotated tag messages, and objects tags point at directly. Each commit finding names the
    /// pushed refs that carry its commit.
    pub fn scan_push(
        &self,
        repo: &Repository,
        remote: &str,
        url: Option<&str>,
        updates: &[RefUpdate],
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let plan = plan_push(repo, remote, url, updates)?;
        let scope = Scope::Push {
            remote: redact_text(remote.as_bytes()),
        };
        let mut report = self.scan_plan(repo, &plan, scope, progress)?;
        name_pushed_refs(repo, &mut report.findings, &plan)?;
        Ok(report)
    }

    /// Scans what a push plan holds: its commits, annotated tag messages, and objects tags point
    /// at directly.
    pub fn scan_plan(
        &self,
        repo: &Repository,
        plan: &PushPlan,
        scope: Scope,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let mut report = self.scan_commits(repo, &plan.commits, scope, progress)?;
        for &tag_id in &plan.tags {
            let tag = repo.find_tag(tag_id).context("reading an annotated tag")?;
            let tagger = tag
                .tagger()
                .map(|tagger| commits::signature_fields(&tagger));
            let info = Arc::new(CommitInfo {
                oid: tag_id.to_string(),
                subject: format!("tag {}", redact_text(tag.name_bytes())),
                author: tagger.as_ref().map(|(who, _)| who.clone()),
                date: tagger.map(|(_, when)| when),
                root: false,
                stash: false,
                refs: Vec::new(),
            });
            let message = tag.message_bytes().unwrap_or_default();
            report.findings.extend(self.findings_in(&AddedText::message(
                TAG_MESSAGE,
                info,
                message,
            )));
        }
        for &object_id in &plan.tagged_objects {
            let found = self.scan_tagged_object(repo, object_id)?;
            report.findings.extend(found);
        }
        Ok(report)
    }

    /// Scans a blob or tree that a tag points at, all of it being new.
    fn scan_tagged_object(&self, repo: &Repository, object_id: Oid) -> Result<Vec<Finding>> {
        if let Ok(tree) = repo.find_tree(object_id) {
            let changes = tree_diff::changed_files(repo, None, &tree)?;
            return self.findings_from(|sink| blobs::added_in_changes(repo, &changes, None, sink));
        }
        let label = format!("(tagged blob {object_id})").into_bytes();
        let blob = blobs::find_blob(repo, object_id, &label)?;
        let content = blobs::added_content(None, blob.content())?;
        Ok(self.findings_in(&AddedText::new(label, None, content, blob.content())))
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

/// Each detection's span with its secret's redacted form, for line previews.
fn redacted_spans(detections: &[Detection]) -> Vec<(std::ops::Range<usize>, String)> {
    detections
        .iter()
        .map(|detection| (detection.start..detection.end, shown_secret(detection)))
        .collect()
}

/// How reports show a detection's secret: redacted, or in full when it is a placeholder (not a
/// secret; the reader must see what was classed as one).
fn shown_secret(detection: &Detection) -> String {
    if detection.placeholder {
        show_placeholder(&detection.secret)
    } else {
        redact_token(&detection.secret)
    }
}

/// Labels each finding's commit (or tag) with the pushed refs that carry it.
pub fn name_pushed_refs(
    repo: &Repository,
    findings: &mut [Finding],
    plan: &PushPlan,
) -> Result<()> {
    let mut oids = Vec::new();
    let mut listed = HashSet::new();
    for finding in findings.iter() {
        if let Some(commit) = &finding.commit {
            let oid = Oid::from_str(&commit.oid)?;
            if listed.insert(oid) {
                oids.push(oid);
            }
        }
    }
    let carriers = plan.refs_carrying_each(repo, &oids)?;
    let mut labelled: HashMap<String, Arc<CommitInfo>> = HashMap::new();
    for finding in findings {
        let Some(commit) = &finding.commit else {
            continue;
        };
        let commit = match labelled.get(&commit.oid) {
            Some(known) => known.clone(),
            None => {
                let refs = &carriers[&Oid::from_str(&commit.oid)?];
                let known = Arc::new(CommitInfo {
                    refs: refs
                        .iter()
                        .map(|name| redact_text(name.as_bytes()))
                        .collect(),
                    ..CommitInfo::clone(commit)
                });
                labelled.insert(commit.oid.clone(), known.clone());
                known
            }
        };
        finding.commit = Some(commit);
    }
    Ok(())
}

/// Characters in `bytes`, counting each byte of invalid UTF-8 as one.
fn char_count(bytes: &[u8]) -> u32 {
    bytes
        .utf8_chunks()
        .map(|chunk| chunk.valid().chars().count() + chunk.invalid().len())
        .sum::<usize>() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        assert_eq!(char_count("héllo ".as_bytes()), 6);
        assert_eq!(char_count(b"\xff\xfeab"), 4);
    }
}
