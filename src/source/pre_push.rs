//! What a push would make new on the remote: parsing git's pre-push input and choosing commits.

use std::collections::HashSet;
use std::fmt;

use anyhow::{bail, Context, Result};
use git2::{ObjectType, Oid, Repository, Revwalk, Sort};

/// One line of git's pre-push input: `<local ref> <local oid> <remote ref> <remote oid>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub local_ref: String,
    pub local_oid: String,
    pub remote_ref: String,
    pub remote_oid: String,
}

impl RefUpdate {
    /// The push deletes the remote ref: nothing is sent.
    pub fn is_deletion(&self) -> bool {
        is_zero_oid(&self.local_oid)
    }

    /// The remote does not have the ref yet.
    pub fn creates_remote_ref(&self) -> bool {
        is_zero_oid(&self.remote_oid)
    }
}

/// A malformed pre-push input line, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pre-push input line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for InputError {}

fn is_zero_oid(oid: &str) -> bool {
    oid.bytes().all(|byte| byte == b'0')
}

fn is_oid(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Parses git's pre-push standard input. Empty input (nothing to push) is no updates.
pub fn parse_updates(input: &[u8]) -> Result<Vec<RefUpdate>, InputError> {
    let text = std::str::from_utf8(input).map_err(|err| InputError {
        line: 1 + input[..err.valid_up_to()]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count(),
        message: "not valid UTF-8".to_string(),
    })?;
    let mut updates = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let error = |message: String| InputError {
            line: index + 1,
            message,
        };
        let [local_ref, local_oid, remote_ref, remote_oid] = fields[..] else {
            return Err(error(format!(
                "expected 4 space-separated fields, found {}",
                fields.len()
            )));
        };
        for oid in [local_oid, remote_oid] {
            if !is_oid(oid) {
                return Err(error(format!("{oid:?} is not an object id")));
            }
        }
        updates.push(RefUpdate {
            local_ref: local_ref.to_string(),
            local_oid: local_oid.to_string(),
            remote_ref: remote_ref.to_string(),
            remote_oid: remote_oid.to_string(),
        });
    }
    Ok(updates)
}

/// The objects a push sends whose content is scanned.
#[derive(Debug, Default)]
pub struct PushPlan {
    /// New commits, oldest first, each once.
    pub commits: Vec<Oid>,
    /// Annotated tags pushed, whose messages are scanned.
    pub tags: Vec<Oid>,
    /// Blobs or trees a tag points at directly (rare), scanned whole.
    pub tagged_objects: Vec<Oid>,
    /// Commits already in `commits`, so that a commit two refs share is scanned once.
    seen: HashSet<Oid>,
}

impl PushPlan {
    /// Adds what pushing `tip` as `ref_name` brings: the annotated tags it peels through, a
    /// tagged blob or tree, or the commits reachable from it and from none of `hidden` (commits
    /// the receiving side already has, whose history it has too).
    pub fn add_tip(
        &mut self,
        repo: &Repository,
        ref_name: &str,
        tip: Oid,
        hidden: &[Oid],
    ) -> Result<()> {
        let mut object = repo
            .find_object(tip, None)
            .with_context(|| format!("reading {ref_name} ({tip})"))?;
        while let Some(tag) = object.as_tag() {
            self.tags.push(tag.id());
            object = tag.target().context("reading the object a tag points at")?;
        }
        match object.kind() {
            Some(ObjectType::Commit) => {}
            Some(ObjectType::Blob | ObjectType::Tree) => {
                self.tagged_objects.push(object.id());
                return Ok(());
            }
            _ => bail!("{ref_name} points at an unexpected object"),
        }
        let mut walk = new_walk(repo)?;
        walk.push(object.id())?;
        for &commit in hidden {
            walk.hide(commit)?;
        }
        for oid in walk {
            let oid = oid.context("walking the commits to push")?;
            if self.seen.insert(oid) {
                self.commits.push(oid);
            }
        }
        Ok(())
    }
}

/// Chooses what to scan for a push of `updates` to `remote`: the commits each update makes new
/// there.
///
/// A commit is already on the remote when it is reachable from the remote ref's old oid (when the
/// local object database has that commit) or from any of the remote's remote-tracking refs
/// (`refs/remotes/<remote>/*`). So an update scans what lies between the old and the new oid; a
/// force push, or an update whose old oid someone else pushed, falls back to the remote-tracking
/// refs; a new branch or tag scans only what no remote-tracking ref reaches; a deletion scans
/// nothing.
pub fn plan_push(repo: &Repository, remote: &str, updates: &[RefUpdate]) -> Result<PushPlan> {
    let mut plan = PushPlan::default();
    let tracking = remote_tracking_commits(repo, remote)?;
    for update in updates.iter().filter(|update| !update.is_deletion()) {
        let local = Oid::from_str(&update.local_oid)?;
        let mut hidden = tracking.clone();
        hidden.extend(known_commit(repo, &update.remote_oid));
        plan.add_tip(repo, &update.local_ref, local, &hidden)?;
    }
    Ok(plan)
}

/// A revision walk that yields parents before children.
pub fn new_walk(repo: &Repository) -> Result<Revwalk<'_>> {
    let mut walk = repo.revwalk().context("starting a revision walk")?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    Ok(walk)
}

/// The commit behind `oid` when the local object database has it.
fn known_commit(repo: &Repository, oid: &str) -> Option<Oid> {
    let oid = Oid::from_str(oid).ok().filter(|oid| !oid.is_zero())?;
    let object = repo.find_object(oid, None).ok()?;
    object.peel_to_commit().ok().map(|commit| commit.id())
}

/// The commits `refs/remotes/<remote>/*` point at, when `remote` names a configured remote (git
/// passes the URL instead when pushing to one directly).
fn remote_tracking_commits(repo: &Repository, remote: &str) -> Result<Vec<Oid>> {
    if repo.find_remote(remote).is_err() {
        return Ok(Vec::new());
    }
    commits_at_refs(repo, &format!("refs/remotes/{remote}/*"))
}

/// The commits the refs matching `glob` point at, peeled through tags (refs to blobs or trees
/// are skipped).
pub fn commits_at_refs(repo: &Repository, glob: &str) -> Result<Vec<Oid>> {
    let mut commits = Vec::new();
    for reference in repo.references_glob(glob).context("listing refs")? {
        if let Ok(commit) = reference.context("reading a ref")?.peel_to_commit() {
            commits.push(commit.id());
        }
    }
    Ok(commits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn parses_each_kind_of_line() {
        let input = format!(
            "refs/heads/main {A} refs/heads/main {ZERO}\n(delete) {ZERO} refs/heads/old {A}\n\n"
        );
        let updates = parse_updates(input.as_bytes()).unwrap();
        assert_eq!(updates.len(), 2);
        assert!(updates[0].creates_remote_ref() && !updates[0].is_deletion());
        assert!(updates[1].is_deletion());
        assert!(parse_updates(b"").unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_lines_with_their_number() {
        for (input, line) in [
            (format!("refs/heads/main {A} refs/heads/main\n"), 1),
            (format!("\nrefs/heads/main {A} refs/heads/main xyz\n"), 2),
            (format!("a {A} b {A} c\n"), 1),
            ("\u{0}\u{ff}".to_string(), 1),
        ] {
            let err = parse_updates(input.as_bytes()).unwrap_err();
            assert_eq!(err.line, line, "{input:?}");
        }
        assert_eq!(parse_updates(b"a\n\xff").unwrap_err().line, 2);
    }
}
