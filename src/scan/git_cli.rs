//! The scans of [`Scanner`] for a repository read through the git CLI ([`GitRepository`]):
//! SHA-256 objects, reftable refs. Same findings as the libgit2 path, from
//! [`crate::source::git_cli`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::redact::redact_text;
use crate::report::{Finding, Report, Scope};
use crate::repository::GitRepository;
use crate::scan::push::label_with_refs;
use crate::scan::ProgressFn;
use crate::source::git_cli::{self, BlobSource, ListedCommit, ObjectReader, TagObject};
use crate::source::pack::choice;
use crate::source::pack::PackVerdicts;
use crate::source::pre_push::{remotes_at, RefUpdate};
use crate::source::verdicts::Verdict;
use crate::source::{AddedText, CommitInfo, TAG_MESSAGE};
use crate::timings::timed;
use crate::Scanner;

impl Scanner {
    /// Scans the staged change (the index against HEAD); a bare repository has none.
    pub fn scan_staged_git(&self, repo: &GitRepository) -> Result<Report> {
        if repo.is_bare() {
            bail!(
                "{} is a bare repository: it has no index, so there are no staged changes to \
                 scan (scan-history or scan-range scan its commits)",
                repo.git_dir.display()
            );
        }
        let changes = git_cli::staged_changes(repo)?;
        let has_head = git_cli::git_succeeds(repo, &["rev-parse", "--verify", "--quiet", "HEAD"])?;
        Ok(Report {
            scope: Scope::Staged {
                first_commit: !has_head,
            },
            findings: self.findings_in_changes(repo, &changes)?,
            commits_scanned: 0,
        })
    }

    /// Scans everything the index tracks, all of it as new: for auditing the allowlist.
    pub fn scan_tracked_git(&self, repo: &GitRepository) -> Result<Vec<Finding>> {
        let changes = git_cli::tracked_files(repo)?;
        self.findings_in_changes(repo, &changes)
    }

    /// The findings in what `changes` add, outside any commit.
    fn findings_in_changes(
        &self,
        repo: &GitRepository,
        changes: &[git_cli::Change],
    ) -> Result<Vec<Finding>> {
        let mut blobs = BlobSource::new(repo)?;
        let mut findings = Vec::new();
        blobs.added_in_changes(changes, None, &mut git_cli::keep_all, &mut |added| {
            findings.extend(self.findings_in(&added));
            Ok(())
        })?;
        Ok(findings)
    }

    /// Scans the commits of `revspec`, as `git rev-list` lists them (a single revision: all its
    /// history).
    pub fn scan_range_git(
        &self,
        repo: &GitRepository,
        revspec: &str,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let commits = git_cli::rev_list(repo, &["--end-of-options", revspec])?;
        let scope = Scope::Commits {
            description: revspec.to_string(),
        };
        self.scan_commits_git(repo, &commits, scope, progress)
    }

    /// Scans every commit reachable from a ref or from HEAD; findings only the stash holds are
    /// folded as on the libgit2 path.
    pub fn scan_history_git(
        &self,
        repo: &GitRepository,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        // The pack pass runs beside git rev-list.
        let (commits, verdicts) = std::thread::scope(|threads| -> Result<_> {
            let pass = choice::pass_for_whole_history()
                .then(|| threads.spawn(|| git_cli::pack_verdicts(repo)));
            let commits = timed("commit list", || git_cli::rev_list(repo, &["--all"]));
            let verdicts = pass.and_then(|pass| pass.join().ok().flatten());
            Ok((commits?, verdicts))
        })?;
        let scope = Scope::Commits {
            description: "all refs".to_string(),
        };
        let mut report = self.scan_listed_git(repo, &commits, verdicts, scope, progress)?;
        let has_stash =
            git_cli::git_succeeds(repo, &["rev-parse", "--verify", "--quiet", "refs/stash"])?;
        if has_stash {
            let stash_only = git_cli::rev_list(
                repo,
                &["refs/stash", "--not", "--exclude=refs/stash", "--all"],
            )?;
            report.fold_stash(&stash_only.into_iter().map(|commit| commit.id).collect());
        }
        Ok(report)
    }

    /// Scans what each commit adds; findings come in the order of `commits`.
    pub fn scan_commits_git(
        &self,
        repo: &GitRepository,
        commits: &[ListedCommit],
        scope: Scope,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        // A long list first makes the pack pass.
        let verdicts = choice::pass_may_pay(commits.len())
            .then(|| git_cli::pack_verdicts(repo))
            .flatten();
        self.scan_listed_git(repo, commits, verdicts, scope, progress)
    }

    /// [`Scanner::scan_commits_git`] with the pack pass's `verdicts`, when it was made: a commit
    /// whose message and tree they find clean adds nothing that can be reported, over any
    /// parent, and is not read at all. Then what each other commit changes (one git
    /// diff-tree), a verdict on every new blob, and the commits in order with only the blobs
    /// that may hold a token read again.
    fn scan_listed_git(
        &self,
        repo: &GitRepository,
        commits: &[ListedCommit],
        verdicts: Option<PackVerdicts>,
        scope: Scope,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        // The commits to read, and where each stands in `commits` (for progress).
        let (read, positions): (Cow<[ListedCommit]>, Option<Vec<usize>>) = match &verdicts {
            None => (Cow::Borrowed(commits), None),
            Some(verdicts) => {
                let (read, positions) = commits
                    .iter()
                    .enumerate()
                    .filter(|(_, commit)| verdicts.commit_verdict_hex(&commit.id) != Verdict::Clean)
                    .map(|(position, commit)| (commit.clone(), position))
                    .unzip();
                (Cow::Owned(read), Some(positions))
            }
        };
        let mut all_changes = Vec::with_capacity(read.len());
        timed("changes (git diff-tree)", || {
            git_cli::for_each_commit_changes(repo, &read, &mut |changes| {
                all_changes.push(changes);
                Ok(())
            })
        })?;
        let mut blobs = BlobSource::new(repo)?;
        timed("blob verdicts", || {
            blobs.decide(repo, &all_changes, verdicts)
        })?;
        let mut findings = Vec::new();
        let mut blocking = 0;
        let ids: Vec<&str> = read.iter().map(|commit| commit.id.as_str()).collect();
        timed("commit walk", || {
            git_cli::for_each_object(repo, &ids, &mut |index, object| {
                git_cli::added_in_commit(&mut blobs, &all_changes[index], object, &mut |added| {
                    let found = self.findings_in(&added);
                    blocking += found.iter().filter(|f| f.is_blocking()).count();
                    findings.extend(found);
                    Ok(())
                })?;
                let position = positions
                    .as_ref()
                    .map_or(index, |positions| positions[index]);
                progress(position + 1, commits.len(), blocking);
                Ok(())
            })
        })?;
        progress(commits.len(), commits.len(), blocking);
        Ok(Report {
            scope,
            findings,
            commits_scanned: commits.len(),
        })
    }

    /// Scans what a push of `updates` to `remote` (at `url`) would make new there, as
    /// [`Scanner::scan_push`] does.
    pub fn scan_push_git(
        &self,
        repo: &GitRepository,
        remote: &str,
        url: Option<&str>,
        updates: &[RefUpdate],
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let plan = GitPushPlan::new(repo, remote, url, updates)?;
        let scope = Scope::Push {
            remote: redact_text(remote.as_bytes()),
        };
        let mut report = self.scan_git_plan(repo, &plan, scope, progress)?;
        plan.name_pushed_refs(repo, &mut report.findings)?;
        Ok(report)
    }

    /// Scans a push plan's commits, annotated tag messages and tagged blobs and trees.
    pub fn scan_git_plan(
        &self,
        repo: &GitRepository,
        plan: &GitPushPlan,
        scope: Scope,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let mut report = self.scan_commits_git(repo, &plan.commits, scope, progress)?;
        for (tag_id, tag) in &plan.tags {
            let info = Arc::new(CommitInfo {
                oid: tag_id.clone(),
                subject: format!("tag {}", redact_text(&tag.name)),
                author: tag.tagger.as_ref().map(|(who, _)| who.clone()),
                date: tag.tagger.as_ref().map(|(_, when)| when.clone()),
                root: false,
                stash: false,
                refs: Vec::new(),
            });
            report.findings.extend(self.findings_in(&AddedText::message(
                TAG_MESSAGE,
                info,
                &tag.message,
            )));
        }
        let mut objects = ObjectReader::new(repo)?;
        for (object_id, kind) in &plan.tagged_objects {
            if kind == "tree" {
                let changes = git_cli::files_in_tree(repo, object_id)?;
                report
                    .findings
                    .extend(self.findings_in_changes(repo, &changes)?);
                continue;
            }
            let label = format!("(tagged blob {object_id})").into_bytes();
            let blob = objects.blob(object_id, &label)?;
            let content = crate::source::blobs::added_content(None, &blob)?;
            report
                .findings
                .extend(self.findings_in(&AddedText::new(label, None, content, &blob)));
        }
        Ok(report)
    }
}

/// What a push sends whose content is scanned, chosen through the git CLI.
#[derive(Debug, Default)]
pub struct GitPushPlan {
    /// New commits, parents first.
    pub commits: Vec<ListedCommit>,
    /// Annotated tags pushed, whose messages are scanned.
    pub tags: Vec<(String, TagObject)>,
    /// Blobs and trees a tag points at directly, with their kind.
    pub tagged_objects: Vec<(String, String)>,
    /// Each pushed ref that points (through tags) at a commit, with that commit.
    pub(crate) tips: Vec<(String, String)>,
    /// Each pushed annotated tag, with the refs that point at it.
    pub(crate) tag_refs: HashMap<String, Vec<String>>,
}

impl GitPushPlan {
    /// The plan for `updates` to `remote`, by the rules of
    /// [`crate::source::pre_push::plan_push`]: what the new oids reach that neither an old oid
    /// the local repository has nor a remote-tracking ref of a matching remote reaches.
    pub fn new(
        repo: &GitRepository,
        remote: &str,
        url: Option<&str>,
        updates: &[RefUpdate],
    ) -> Result<GitPushPlan> {
        let mut plan = GitPushPlan::default();
        let mut objects = ObjectReader::new(repo)?;
        let mut args: Vec<String> = Vec::new();
        let mut hidden: Vec<String> = Vec::new();
        for update in updates.iter().filter(|update| !update.is_deletion()) {
            let Some(commit) = plan.add_ref(&mut objects, &update.local_ref, &update.local_oid)?
            else {
                continue;
            };
            args.push(commit);
            if !update.creates_remote_ref() {
                if let Some(known) = peeled_commit(&mut objects, &update.remote_oid)? {
                    hidden.push(known);
                }
            }
        }
        if args.is_empty() {
            return Ok(plan);
        }
        args.push("--not".to_string());
        args.extend(hidden);
        for remote in matching_remotes(repo, remote, url)? {
            args.push(format!("--glob=refs/remotes/{remote}/*"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        plan.commits = git_cli::rev_list(repo, &args)?;
        Ok(plan)
    }

    /// A plan of the commits `tips` (ref name, object id) reach and `hidden` do not, with the tags
    /// the tips peel through (for a server's pre-receive).
    pub fn for_tips(
        repo: &GitRepository,
        tips: &[(&str, &str)],
        hidden: &[String],
    ) -> Result<GitPushPlan> {
        let mut plan = GitPushPlan::default();
        let mut objects = ObjectReader::new(repo)?;
        let mut args: Vec<String> = Vec::new();
        for &(name, tip) in tips {
            if let Some(commit) = plan.add_ref(&mut objects, name, tip)? {
                args.push(commit);
            }
        }
        if args.is_empty() {
            return Ok(plan);
        }
        args.push("--not".to_string());
        args.extend(hidden.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        plan.commits = git_cli::rev_list(repo, &args)?;
        Ok(plan)
    }

    /// Records the tags `tip` peels through, or the blob or tree it names; returns the commit it
    /// names, if it does.
    fn add_ref(
        &mut self,
        objects: &mut ObjectReader,
        ref_name: &str,
        tip: &str,
    ) -> Result<Option<String>> {
        let mut id = tip.to_string();
        loop {
            let object = objects
                .read(&id)?
                .with_context(|| format!("reading {} ({id})", redact_text(ref_name.as_bytes())))?;
            match object.kind.as_str() {
                "tag" => {
                    let tag = git_cli::parse_tag(&object.data);
                    let target = tag.target.clone();
                    let refs = self.tag_refs.entry(object.id.clone()).or_default();
                    if refs.is_empty() {
                        self.tags.push((object.id.clone(), tag));
                    }
                    if !refs.iter().any(|known| known == ref_name) {
                        refs.push(ref_name.to_string());
                    }
                    id = target;
                }
                "commit" => {
                    self.tips.push((ref_name.to_string(), object.id.clone()));
                    return Ok(Some(object.id));
                }
                "blob" | "tree" => {
                    if !self
                        .tagged_objects
                        .iter()
                        .any(|(known, _)| *known == object.id)
                    {
                        self.tagged_objects.push((object.id, object.kind));
                    }
                    return Ok(None);
                }
                _ => bail!("{ref_name} points at an unexpected object"),
            }
        }
    }

    /// Labels each finding's commit (or tag) with the pushed refs that carry it: those whose
    /// commit is it or descends from it, or that point at the tag.
    pub fn name_pushed_refs(&self, repo: &GitRepository, findings: &mut [Finding]) -> Result<()> {
        label_with_refs(findings, |oid| self.refs_carrying(repo, oid))
    }

    /// The pushed refs that carry the commit or tag `oid`.
    fn refs_carrying(&self, repo: &GitRepository, oid: &str) -> Result<Vec<String>> {
        if let Some(refs) = self.tag_refs.get(oid) {
            return Ok(refs.clone());
        }
        let mut refs: Vec<String> = Vec::new();
        for (name, tip) in &self.tips {
            let carries = tip == oid
                || git_cli::git_succeeds(repo, &["merge-base", "--is-ancestor", oid, tip])?;
            if carries && !refs.contains(name) {
                refs.push(name.clone());
            }
        }
        Ok(refs)
    }
}

/// The commit `oid` names (through tags) when the repository has it.
fn peeled_commit(objects: &mut ObjectReader, oid: &str) -> Result<Option<String>> {
    let mut id = oid.to_string();
    for _ in 0..32 {
        match objects.read(&id)? {
            Some(object) if object.kind == "commit" => return Ok(Some(object.id)),
            Some(object) if object.kind == "tag" => id = git_cli::parse_tag(&object.data).target,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// The configured remotes a push goes to, by the rules of
/// [`crate::source::pre_push::matching_remotes`].
fn matching_remotes(repo: &GitRepository, remote: &str, url: Option<&str>) -> Result<Vec<String>> {
    let config = repo
        .git_output([
            "config",
            "-z",
            "--get-regexp",
            r"^remote\..*\.(url|pushurl)$",
        ])
        .unwrap_or_default();
    let mut urls: Vec<(String, String)> = Vec::new();
    for entry in config.split(|&byte| byte == 0).filter(|e| !e.is_empty()) {
        let text = String::from_utf8_lossy(entry);
        let Some((key, value)) = text.split_once('\n') else {
            continue;
        };
        let Some(name) = key
            .strip_prefix("remote.")
            .and_then(|rest| rest.rsplit_once('.'))
            .map(|(name, _)| name.to_string())
        else {
            continue;
        };
        urls.push((name, value.to_string()));
    }
    if urls.iter().any(|(name, _)| name == remote) {
        return Ok(vec![remote.to_string()]);
    }
    remotes_at(remote, url, &urls)
}

/// Every local branch and tag, as if each were pushed to a remote that does not have it yet
/// (the pre-commit framework's push; see [`crate::source::pre_push::every_local_ref`]).
pub fn every_local_ref(repo: &GitRepository) -> Result<Vec<RefUpdate>> {
    let output = repo.git_output([
        "for-each-ref",
        "--format=%(objectname) %(refname)",
        "refs/heads/",
        "refs/tags/",
    ])?;
    let zero = "0".repeat(repo.hex_len());
    Ok(String::from_utf8_lossy(&output)
        .lines()
        .filter_map(|line| {
            let (oid, name) = line.split_once(' ')?;
            Some(RefUpdate {
                local_ref: name.to_string(),
                local_oid: oid.to_string(),
                remote_ref: name.to_string(),
                remote_oid: zero.clone(),
            })
        })
        .collect())
}
