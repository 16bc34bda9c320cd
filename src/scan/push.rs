//! What a push makes new on its remote, scanned: the commits of its plan
//! ([`crate::source::pre_push`]) through the commit walk, each annotated tag's message, each
//! object a tag points at directly; and each finding labelled with the pushed refs that carry
//! its commit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use super::{ProgressFn, Scanner};
use crate::redact::redact_text;
use crate::report::{Finding, Report, Scope};
use crate::source::pre_push::{plan_push, PushPlan, RefUpdate};
use crate::source::{blobs, commits, tree_diff, AddedText, CommitInfo, TAG_MESSAGE};

impl Scanner {
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
    label_with_refs(findings, |oid| Ok(carriers[&Oid::from_str(oid)?].clone()))
}

/// Gives each finding's commit (or tag) the refs `refs_of` names for its id, redacted; each
/// commit is asked for once and its findings share the labelled copy.
pub(crate) fn label_with_refs(
    findings: &mut [Finding],
    mut refs_of: impl FnMut(&str) -> Result<Vec<String>>,
) -> Result<()> {
    let mut labelled: HashMap<String, Arc<CommitInfo>> = HashMap::new();
    for finding in findings {
        let Some(commit) = &finding.commit else {
            continue;
        };
        let commit = match labelled.get(&commit.oid) {
            Some(known) => known.clone(),
            None => {
                let refs = refs_of(&commit.oid)?;
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
