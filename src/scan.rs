//! The pipeline: added text from a source, tokens from the detector, verdicts from the allowlist.

use std::collections::HashSet;

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use crate::allow::{Allowlist, Verdict};
use crate::detect::find_tokens;
use crate::redact::{fingerprint, redact_text, redact_token};
use crate::report::{Finding, Report, Scope, Status};
use crate::source::pre_push::{plan_push, RefUpdate};
use crate::source::{
    all_lines, blobs, commits, path_from_bytes, staged, AddedContent, AddedText, CommitInfo,
    TAG_MESSAGE,
};

/// Progress of a commit scan: commits done, commits in all, blocking findings so far.
pub type ProgressFn<'a> = &'a mut dyn FnMut(usize, usize, usize);

/// Turns added text into findings under an allowlist.
pub struct Scanner {
    allowlist: Allowlist,
}

impl Scanner {
    pub fn new(allowlist: Allowlist) -> Scanner {
        Scanner { allowlist }
    }

    /// The findings in one piece of added text.
    pub fn findings_in(&self, added: &AddedText) -> Vec<Finding> {
        let mut findings = Vec::new();
        let path = redact_text(&added.path);
        let fs_path = path_from_bytes(&added.path);
        let mut push = |token: &[u8], rule, placeholder: bool, line, column, offset| {
            let fingerprint = fingerprint(token);
            let status = if placeholder {
                Status::Placeholder
            } else {
                match self.allowlist.verdict(&fs_path, token, &fingerprint) {
                    Verdict::Allowed(entry) => Status::Allowed {
                        by: entry.origin.clone(),
                        reason: entry.reason.clone(),
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
            };
            findings.push(Finding {
                rule,
                path: path.clone(),
                commit: added.commit.clone(),
                line,
                column,
                offset,
                token: redact_token(token),
                fingerprint,
                status,
            });
        };
        match &added.content {
            AddedContent::Lines(lines) => {
                for line in lines {
                    for found in find_tokens(&line.bytes) {
                        let column = char_count(&line.bytes[..found.start]) + 1;
                        push(
                            &line.bytes[found.start..found.end],
                            found.rule,
                            found.placeholder,
                            Some(line.number),
                            Some(column),
                            None,
                        );
                    }
                }
            }
            AddedContent::Binary { bytes, previous } => {
                let known: HashSet<&[u8]> = previous
                    .iter()
                    .flat_map(|old| {
                        find_tokens(old)
                            .into_iter()
                            .map(move |found| &old[found.start..found.end])
                    })
                    .collect();
                for found in find_tokens(bytes) {
                    let token = &bytes[found.start..found.end];
                    if !known.contains(token) {
                        push(
                            token,
                            found.rule,
                            found.placeholder,
                            None,
                            None,
                            Some(found.start as u64),
                        );
                    }
                }
            }
        }
        findings
    }

    /// Scans the staged change (the index against HEAD).
    pub fn scan_staged(&self, repo: &Repository) -> Result<Report> {
        let mut findings = Vec::new();
        staged::added_in_index(repo, &mut |added| {
            findings.extend(self.findings_in(&added));
            Ok(())
        })?;
        Ok(Report {
            scope: Scope::Staged,
            findings,
            commits_scanned: 0,
        })
    }

    /// Scans what each commit adds, in the order given.
    pub fn scan_commits(
        &self,
        repo: &Repository,
        commit_ids: &[Oid],
        scope: Scope,
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let mut findings = Vec::new();
        for (done, &oid) in commit_ids.iter().enumerate() {
            let commit = repo
                .find_commit(oid)
                .with_context(|| format!("reading commit {oid}"))?;
            commits::added_in_commit(repo, &commit, &mut |added| {
                findings.extend(self.findings_in(&added));
                Ok(())
            })?;
            let blocking = findings.iter().filter(|f| f.is_blocking()).count();
            progress(done + 1, commit_ids.len(), blocking);
        }
        Ok(Report {
            scope,
            findings,
            commits_scanned: commit_ids.len(),
        })
    }

    /// Scans what a push of `updates` to `remote` would make new there: commits, annotated tag
    /// messages, and objects tags point at directly.
    pub fn scan_push(
        &self,
        repo: &Repository,
        remote: &str,
        updates: &[RefUpdate],
        progress: ProgressFn<'_>,
    ) -> Result<Report> {
        let plan = plan_push(repo, remote, updates)?;
        let scope = Scope::Push {
            remote: redact_text(remote.as_bytes()),
        };
        let mut report = self.scan_commits(repo, &plan.commits, scope, progress)?;
        for &tag_id in &plan.tags {
            let tag = repo.find_tag(tag_id).context("reading an annotated tag")?;
            let info = std::sync::Arc::new(CommitInfo {
                oid: tag_id.to_string(),
                subject: format!("tag {}", redact_text(tag.name_bytes())),
            });
            report.findings.extend(self.findings_in(&AddedText {
                path: TAG_MESSAGE.to_vec(),
                commit: Some(info),
                content: AddedContent::Lines(all_lines(tag.message_bytes().unwrap_or_default())),
            }));
        }
        for &object_id in &plan.tagged_objects {
            self.scan_tagged_object(repo, object_id, &mut report.findings)?;
        }
        Ok(report)
    }

    /// Scans a blob or tree that a tag points at, all of it being new.
    fn scan_tagged_object(
        &self,
        repo: &Repository,
        object_id: Oid,
        findings: &mut Vec<Finding>,
    ) -> Result<()> {
        let mut sink = |added: AddedText| {
            findings.extend(self.findings_in(&added));
            Ok(())
        };
        if let Ok(tree) = repo.find_tree(object_id) {
            let diff =
                repo.diff_tree_to_tree(None, Some(&tree), Some(&mut blobs::tree_diff_options()))?;
            return blobs::added_in_diff(repo, &diff, None, &mut sink);
        }
        let label = format!("(tagged blob {object_id})").into_bytes();
        let blob = blobs::find_blob(repo, object_id, &label)?;
        sink(AddedText {
            content: blobs::added_content(None, &blob)?,
            path: label,
            commit: None,
        })
    }
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
