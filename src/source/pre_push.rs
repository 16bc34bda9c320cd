//! What a push would make new on the remote: parsing git's pre-push input and choosing commits.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use git2::{ObjectType, Oid, Repository, Revwalk, Sort};

use super::carriers;

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
    /// New commits, each once and after its parents.
    pub commits: Vec<Oid>,
    /// Annotated tags pushed, whose messages are scanned.
    pub tags: Vec<Oid>,
    /// Blobs or trees a tag points at directly (rare), scanned whole.
    pub tagged_objects: Vec<Oid>,
    /// Commits already in `commits`, so that a commit two refs share is scanned once.
    seen: HashSet<Oid>,
    /// Each pushed ref that points (through tags) at a commit, with that commit.
    tips: Vec<(String, Oid)>,
    /// Each pushed annotated tag, with the refs that point at it.
    tag_refs: HashMap<Oid, Vec<String>>,
}

impl PushPlan {
    /// Adds what pushing each `(ref name, tip)` to a server brings: the annotated tags a tip
    /// peels through, a tagged blob or tree, or the commits reachable from the tips and from none
    /// of `hidden` (commits the server already has, whose history it has too). One walk covers
    /// all the tips.
    ///
    /// `arrived(commit)` says that a commit came with this push and is nowhere else on the
    /// server (it is in the quarantine only). When every commit reachable from the tips either
    /// arrived or is one of `hidden`, those that arrived are exactly the new ones: nothing that
    /// only came now can be reachable from a ref the server has, and every path into the
    /// server's history enters it at a ref's commit. Then the walk reads only the pushed
    /// commits, rather than libgit2's revision walk working through the history behind every
    /// hidden ref; otherwise that walk decides.
    pub fn add_received_tips(
        &mut self,
        repo: &Repository,
        tips: &[(&str, Oid)],
        hidden: &[Oid],
        arrived: &dyn Fn(Oid) -> bool,
    ) -> Result<()> {
        let mut commits = Vec::new();
        for &(ref_name, tip) in tips {
            if let Some(commit) = self.add_ref(repo, ref_name, tip)? {
                commits.push(commit);
            }
        }
        if commits.is_empty() {
            return Ok(());
        }
        if let Some(arrived_commits) = commits_that_arrived(repo, &commits, hidden, arrived)? {
            for oid in arrived_commits {
                if self.seen.insert(oid) {
                    self.commits.push(oid);
                }
            }
            return Ok(());
        }
        let mut walk = new_walk(repo)?;
        for commit in commits {
            walk.push(commit)?;
        }
        for &commit in hidden {
            walk.hide(commit)?;
        }
        self.add_walk(walk)
    }

    /// Records the annotated tags `tip` peels through, or the blob or tree it points at; returns
    /// the commit it points at, if it does.
    fn add_ref(&mut self, repo: &Repository, ref_name: &str, tip: Oid) -> Result<Option<Oid>> {
        let mut object = repo
            .find_object(tip, None)
            .with_context(|| format!("reading {ref_name} ({tip})"))?;
        while let Some(tag) = object.as_tag() {
            let refs = self.tag_refs.entry(tag.id()).or_default();
            if refs.is_empty() {
                self.tags.push(tag.id());
            }
            if !refs.iter().any(|known| known == ref_name) {
                refs.push(ref_name.to_string());
            }
            object = tag.target().context("reading the object a tag points at")?;
        }
        match object.kind() {
            Some(ObjectType::Commit) => {
                self.tips.push((ref_name.to_string(), object.id()));
                Ok(Some(object.id()))
            }
            Some(ObjectType::Blob | ObjectType::Tree) => {
                if !self.tagged_objects.contains(&object.id()) {
                    self.tagged_objects.push(object.id());
                }
                Ok(None)
            }
            _ => bail!("{ref_name} points at an unexpected object"),
        }
    }

    /// Adds the commits `walk` yields that are not in the plan yet.
    fn add_walk(&mut self, walk: Revwalk<'_>) -> Result<()> {
        for oid in walk {
            let oid = oid.context("walking the commits to push")?;
            if self.seen.insert(oid) {
                self.commits.push(oid);
            }
        }
        Ok(())
    }

    /// For each of `oids` (commits or tags), the pushed refs (full names, in push order) that
    /// carry it to the remote: those whose commit is it or descends from it, or that point at
    /// the tag. The plan's commits are related to its refs in one pass
    /// ([`carriers::refs_carrying`]); an oid outside the plan is related to each ref by libgit2.
    pub fn refs_carrying_each(
        &self,
        repo: &Repository,
        oids: &[Oid],
    ) -> Result<HashMap<Oid, Vec<String>>> {
        let mut answer = carriers::refs_carrying(repo, &self.commits, &self.tips, oids)
            .context("relating the pushed commits to the pushed refs")?;
        for &oid in oids {
            if let Some(refs) = self.tag_refs.get(&oid) {
                answer.insert(oid, refs.clone());
            } else if let Entry::Vacant(entry) = answer.entry(oid) {
                entry.insert(self.refs_descending_from(repo, oid)?);
            }
        }
        Ok(answer)
    }

    /// The pushed refs whose commit is `oid` or descends from it, asked of libgit2 ref by ref.
    fn refs_descending_from(&self, repo: &Repository, oid: Oid) -> Result<Vec<String>> {
        let mut refs: Vec<String> = Vec::new();
        for (name, tip) in &self.tips {
            let carries = *tip == oid
                || repo
                    .graph_descendant_of(*tip, oid)
                    .context("relating a commit to the pushed refs")?;
            if carries && !refs.contains(name) {
                refs.push(name.clone());
            }
        }
        Ok(refs)
    }
}

/// Chooses what to scan for a push of `updates` to `remote` (a remote's name, or the URL git
/// passes when pushing to one directly; `url` is the URL git passes beside it): the commits the
/// push makes new there.
///
/// A commit is already on the remote when it is reachable from a pushed ref's old oid on the
/// remote (when the local object database has that commit) or from any remote-tracking ref of the
/// configured remotes that are that repository ([`matching_remotes`]). So an update scans what
/// lies between the old and the new oid; a force push, or an update whose old oid someone else
/// pushed, falls back to the remote-tracking refs; a new branch or tag scans only what no
/// remote-tracking ref reaches; a deletion scans nothing. When no configured remote matches,
/// nothing but the old oids is known to be there, and every other commit the new oids reach is
/// scanned (over-scan rather than under-scan). One walk covers all updates.
pub fn plan_push(
    repo: &Repository,
    remote: &str,
    url: Option<&str>,
    updates: &[RefUpdate],
) -> Result<PushPlan> {
    let mut plan = PushPlan::default();
    let mut walk = new_walk(repo)?;
    let mut any_commit = false;
    for update in updates.iter().filter(|update| !update.is_deletion()) {
        let local = Oid::from_str(&update.local_oid)?;
        let Some(commit) = plan.add_ref(repo, &update.local_ref, local)? else {
            continue;
        };
        walk.push(commit)?;
        any_commit = true;
        if let Some(remote_commit) = known_commit(repo, &update.remote_oid) {
            walk.hide(remote_commit)?;
        }
    }
    if !any_commit {
        return Ok(plan);
    }
    for remote in matching_remotes(repo, remote, url)? {
        for commit in commits_at_refs(repo, &format!("refs/remotes/{remote}/*"))? {
            walk.hide(commit)?;
        }
    }
    plan.add_walk(walk)?;
    Ok(plan)
}

/// Every local branch and tag, as if each were pushed to a remote that does not have it yet.
///
/// The pre-commit framework describes only the first ref of a push (`git push origin a b` tells
/// the hook about `a`); scanning every local ref against the remote-tracking refs covers whatever
/// the push holds, at the cost of also scanning local refs that are not being pushed.
pub fn every_local_ref(repo: &Repository) -> Result<Vec<RefUpdate>> {
    let mut updates = Vec::new();
    for pattern in ["refs/heads/*", "refs/tags/*"] {
        for reference in repo.references_glob(pattern).context("listing refs")? {
            let reference = reference.context("reading a ref")?;
            let (Some(name), Some(target)) = (reference.name(), reference.target()) else {
                continue;
            };
            let zero = "0".repeat(target.to_string().len());
            updates.push(RefUpdate {
                local_ref: name.to_string(),
                local_oid: target.to_string(),
                remote_ref: name.to_string(),
                remote_oid: zero,
            });
        }
    }
    Ok(updates)
}

/// The commits reachable from `tips` and from none of `hidden`, each after its parents, when
/// every commit on the way either `arrived` or is one of `hidden`; `None` as soon as one is
/// neither (the server had it already, off any ref's commit, and only a full walk can say
/// whether a ref reaches it).
fn commits_that_arrived(
    repo: &Repository,
    tips: &[Oid],
    hidden: &[Oid],
    arrived: &dyn Fn(Oid) -> bool,
) -> Result<Option<Vec<Oid>>> {
    let hidden: HashSet<Oid> = hidden.iter().copied().collect();
    let mut visited: HashSet<Oid> = HashSet::new();
    let mut order = Vec::new();
    // Depth first; a commit is listed once all its parents are.
    let mut stack: Vec<(Oid, Option<Vec<Oid>>)> = Vec::new();
    for &tip in tips {
        if hidden.contains(&tip) || !visited.insert(tip) {
            continue;
        }
        stack.push((tip, None));
        while let Some((commit, parents)) = stack.last_mut() {
            let commit = *commit;
            let parents = match parents {
                Some(parents) => parents,
                None => {
                    if !arrived(commit) {
                        return Ok(None);
                    }
                    let read = repo
                        .find_commit(commit)
                        .with_context(|| format!("reading commit {commit}"))?;
                    let mut ids: Vec<Oid> = read.parent_ids().collect();
                    ids.reverse();
                    parents.insert(ids)
                }
            };
            match parents.pop() {
                Some(parent) => {
                    if !hidden.contains(&parent) && visited.insert(parent) {
                        stack.push((parent, None));
                    }
                }
                None => {
                    order.push(commit);
                    stack.pop();
                }
            }
        }
    }
    Ok(Some(order))
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

/// The configured remotes a push goes to: `remote` itself when it is a remote's name; otherwise
/// (git passes the URL as the name when pushing to a URL) every remote whose URL or push URL is
/// `remote` or `url`, compared after normalising ([`repository_key`]). Empty when none is.
pub fn matching_remotes(repo: &Repository, remote: &str, url: Option<&str>) -> Result<Vec<String>> {
    if repo.find_remote(remote).is_ok() {
        return Ok(vec![remote.to_string()]);
    }
    let config = repo.config().context("reading git config")?;
    let mut remote_urls = Vec::new();
    for name in repo.remotes().context("listing remotes")?.iter().flatten() {
        // Both as configured and as libgit2 rewrites them (`url.<base>.insteadOf`).
        for key in ["url", "pushurl"] {
            let mut values = config.multivar(&format!("remote.{name}.{key}"), None)?;
            while let Some(value) = values.next() {
                if let Some(value) = value?.value() {
                    remote_urls.push((name.to_string(), value.to_string()));
                }
            }
        }
        if let Ok(configured) = repo.find_remote(name) {
            for url in [configured.url(), configured.pushurl()]
                .into_iter()
                .flatten()
            {
                remote_urls.push((name.to_string(), url.to_string()));
            }
        }
    }
    remotes_at(remote, url, &remote_urls)
}

/// The remotes among `remote_urls` (each remote's name with one of its URLs) whose URL is
/// `remote` or `url`, compared after normalising ([`repository_key`]), each named once.
pub fn remotes_at(
    remote: &str,
    url: Option<&str>,
    remote_urls: &[(String, String)],
) -> Result<Vec<String>> {
    // git resolves relative paths from the top of the working tree, where hooks run.
    let base = std::env::current_dir().context("reading the current directory")?;
    let wanted: Vec<String> = [Some(remote), url]
        .into_iter()
        .flatten()
        .map(|url| repository_key(url, &base))
        .collect();
    let mut matching: Vec<String> = Vec::new();
    for (name, url) in remote_urls {
        if !matching.contains(name) && wanted.contains(&repository_key(url, &base)) {
            matching.push(name.clone());
        }
    }
    Ok(matching)
}

/// What identifies the repository a git URL points at, so that spellings of one repository
/// compare equal: `https://Host/a/b.git/`, `ssh://git@host:22/a/b` and `git@host:a/b` all give
/// `host/a/b`; a local path (or `file://` URL), relative to `base`, gives its canonical path, with
/// git's `.git` suffix and trailing slashes dropped.
pub fn repository_key(url: &str, base: &Path) -> String {
    fn host_and_path(authority: &str, path: &str) -> String {
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let path = path.trim_start_matches('/').trim_start_matches("~/");
        format!(
            "{}/{}",
            host.to_ascii_lowercase(),
            without_repo_suffix(path)
        )
    }
    let url = url.trim();
    if let Some(path) = url.strip_prefix("file://") {
        return local_key(Path::new(path), base);
    }
    if let Some((_scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        return host_and_path(authority, path);
    }
    // scp-like syntax, `[user@]host:path`: a colon before any slash.
    if let Some((authority, path)) = url.split_once(':') {
        if !authority.is_empty() && !authority.contains('/') {
            return host_and_path(authority, path);
        }
    }
    local_key(Path::new(url), base)
}

/// A local repository path, canonical when it exists (git also tries `PATH.git`).
fn local_key(path: &Path, base: &Path) -> String {
    let absolute = base.join(path);
    let with_suffix = PathBuf::from(format!("{}.git", absolute.display()));
    let canonical = std::fs::canonicalize(&absolute)
        .or_else(|_| std::fs::canonicalize(&with_suffix))
        .unwrap_or(absolute);
    format!("file:{}", without_repo_suffix(&canonical.to_string_lossy()))
}

/// `path` without trailing slashes and a final `.git` (or `/.git`, a working tree's repository).
fn without_repo_suffix(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    path.trim_end_matches('/')
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
        assert!(updates[1].is_deletion() && !updates[1].creates_remote_ref());
        assert!(parse_updates(b"").unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_lines_with_their_number() {
        for (input, line) in [
            (format!("refs/heads/main {A} refs/heads/main\n"), 1),
            (format!("\nrefs/heads/main {A} refs/heads/main xyz\n"), 2),
            (format!("a {A} b {A} c\n"), 1),
            ("\u{0}\u{ff}".to_string(), 1),
            (format!("refs/heads/main abc123 refs/heads/main {A}\n"), 1),
            (
                format!("refs/heads/main {} refs/heads/main {A}\n", "g".repeat(40)),
                1,
            ),
        ] {
            let err = parse_updates(input.as_bytes()).unwrap_err();
            assert_eq!(err.line, line, "{input:?}");
        }
        assert_eq!(parse_updates(b"a\n\xff").unwrap_err().line, 2);
        let err = parse_updates(b"ab\ncd\n\xff").unwrap_err();
        assert_eq!(err.to_string(), "pre-push input line 3: not valid UTF-8");
    }

    #[test]
    fn spellings_of_one_repository_share_a_key() {
        let base = Path::new("/nonexistent-base");
        let same = |a: &str, b: &str| assert_eq!(repository_key(a, base), repository_key(b, base));
        same(
            "https://Example.com/a/b.git/",
            "ssh://git@example.com:22/a/b",
        );
        same("git@example.com:a/b.git", "https://example.com/a/b");
        same("/srv/repo.git/", "file:///srv/repo");
        same("repo.git", "/nonexistent-base/repo/");
        same("/srv/work/.git", "/srv/work");
        assert_ne!(
            repository_key("https://example.com/a/b", base),
            repository_key("https://example.com/a/c", base)
        );
        assert_ne!(
            repository_key("/srv/a", base),
            repository_key("other.example:srv/a", base)
        );
        assert_ne!(
            repository_key("/srv/a", base),
            repository_key("/srv/b", base)
        );
        assert_ne!(
            repository_key("ssh://[::1]/a/b", base),
            repository_key("ssh://[::2]/a/b", base)
        );
        // A colon after a slash, or with nothing before it, is part of a local path.
        for local in ["/srv/a:b", "./a:b", ":a"] {
            assert!(repository_key(local, base).starts_with("file:"), "{local}");
        }
    }

    #[test]
    fn local_paths_are_compared_canonically() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("remote.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        let key = repository_key("remote.git", dir.path());
        assert_eq!(
            key,
            repository_key("../remote.git/", &dir.path().join("sub"))
        );
        assert_eq!(
            key,
            repository_key(&dir.path().join("remote").to_string_lossy(), dir.path())
        );
    }

    #[test]
    fn remotes_are_matched_by_any_spelling_of_their_url_and_named_once() {
        let remote_urls: Vec<(String, String)> = [
            ("origin", "https://example.com/a/b.git"),
            ("origin", "git@example.com:a/b"),
            ("mirror", "ssh://git@example.com/a/b"),
            ("other", "https://example.com/a/c"),
        ]
        .iter()
        .map(|(name, url)| (name.to_string(), url.to_string()))
        .collect();
        let at = |remote, url| remotes_at(remote, url, &remote_urls).unwrap();
        assert_eq!(at("https://EXAMPLE.com/a/b", None), ["origin", "mirror"]);
        assert_eq!(at("origin", Some("https://example.com/a/c.git")), ["other"]);
        assert!(at("https://example.com/a/d", None).is_empty());
    }

    /// Runs git in `dir` and returns what it printed.
    fn git_in(dir: &Path, args: &[&str]) -> String {
        let output = std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    /// A repository made by git with `count` empty commits on main, oldest first.
    fn linear_history(count: usize) -> (tempfile::TempDir, Repository, Vec<Oid>) {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| git_in(dir.path(), args);
        git(&["init", "-q", "-b", "main"]);
        for number in 0..count {
            git(&[
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                &format!("commit {number}"),
            ]);
        }
        let mut commits: Vec<Oid> = git(&["rev-list", "--reverse", "main"])
            .lines()
            .map(|line| Oid::from_str(line).unwrap())
            .collect();
        commits.truncate(count);
        let repo = Repository::open(dir.path()).unwrap();
        (dir, repo, commits)
    }

    #[test]
    fn arrived_commits_are_listed_once_each_parents_first() {
        let (_dir, repo, c) = linear_history(3);
        let all = |_: Oid| true;
        let listed = commits_that_arrived(&repo, &[c[2], c[2], c[1]], &[c[0]], &all).unwrap();
        assert_eq!(listed, Some(vec![c[1], c[2]]));
        // A tip the remote has is no work, whatever arrived.
        let none = |_: Oid| false;
        let listed = commits_that_arrived(&repo, &[c[2]], &[c[2]], &none).unwrap();
        assert_eq!(listed, Some(vec![]));
        // A commit that neither arrived nor is hidden needs the full walk.
        let only_tip = |commit: Oid| commit == c[2];
        assert_eq!(
            commits_that_arrived(&repo, &[c[2]], &[], &only_tip).unwrap(),
            None
        );
    }

    #[test]
    fn a_tag_pushed_under_two_names_is_planned_once_and_carried_by_both() {
        let (dir, repo, c) = linear_history(2);
        // The object name git printed, if it printed one.
        let git =
            |args: &[&str]| Oid::from_str(git_in(dir.path(), args).trim()).unwrap_or(Oid::zero());
        std::fs::write(dir.path().join("key.txt"), "a tagged blob\n").unwrap();
        let blob = git(&["hash-object", "-w", "key.txt"]);
        git(&["tag", "-a", "-m", "release", "v1", &c[1].to_string()]);
        git(&["tag", "-a", "-m", "a key", "key", &blob.to_string()]);
        let (tag, blob_tag) = (git(&["rev-parse", "v1"]), git(&["rev-parse", "key"]));
        git(&["checkout", "-q", "--orphan", "side"]);
        git(&["commit", "-q", "--allow-empty", "-m", "unrelated"]);
        let side = git(&["rev-parse", "side"]);
        let tips = [
            ("refs/tags/v1", tag),
            ("refs/tags/also-v1", tag),
            ("refs/tags/v1", tag),
            ("refs/tags/key", blob_tag),
            ("refs/tags/key-again", blob_tag),
            ("refs/heads/main", c[1]),
        ];
        let mut plan = PushPlan::default();
        plan.add_received_tips(&repo, &tips, &[c[0]], &|_| false)
            .unwrap();
        assert_eq!(plan.commits, [c[1]]);
        assert_eq!(plan.tags, [tag, blob_tag]);
        assert_eq!(plan.tagged_objects, [blob]);
        let asked = [tag, blob_tag, c[1], c[0], side];
        let carriers = plan.refs_carrying_each(&repo, &asked).unwrap();
        let named = |oid: Oid| carriers[&oid].clone();
        assert_eq!(named(tag), ["refs/tags/v1", "refs/tags/also-v1"]);
        assert_eq!(named(blob_tag), ["refs/tags/key", "refs/tags/key-again"]);
        let on_main = ["refs/tags/v1", "refs/tags/also-v1", "refs/heads/main"];
        assert_eq!(named(c[1]), on_main);
        assert_eq!(named(c[0]), on_main);
        assert!(named(side).is_empty());

        // Pushed to a remote without them: every branch and tag, as it is now.
        let every: Vec<(String, Oid, bool)> = every_local_ref(&repo)
            .unwrap()
            .into_iter()
            .map(|update| {
                let local = Oid::from_str(&update.local_oid).unwrap();
                assert_eq!(update.local_ref, update.remote_ref);
                (update.local_ref.clone(), local, update.creates_remote_ref())
            })
            .collect();
        let expected = [
            ("refs/heads/main", c[1]),
            ("refs/heads/side", side),
            ("refs/tags/key", blob_tag),
            ("refs/tags/v1", tag),
        ];
        let expected: Vec<(String, Oid, bool)> = expected
            .iter()
            .map(|&(name, oid)| (name.to_string(), oid, true))
            .collect();
        assert_eq!(every, expected);
    }

    #[test]
    fn an_update_to_a_bare_url_scans_only_what_follows_the_old_commit() {
        let (_dir, repo, c) = linear_history(4);
        let update = |local: Oid, remote: &str| RefUpdate {
            local_ref: "refs/heads/main".to_string(),
            local_oid: local.to_string(),
            remote_ref: "refs/heads/main".to_string(),
            remote_oid: remote.to_string(),
        };
        let url = "https://example.invalid/nobody/configured.git";
        let plan = |updates: &[RefUpdate]| plan_push(&repo, url, Some(url), updates).unwrap();
        assert_eq!(
            plan(&[update(c[3], &c[1].to_string())]).commits,
            [c[2], c[3]]
        );
        // An old commit this repository never had: nothing is known to be there.
        let unknown = "abcdef".repeat(7)[..40].to_string();
        assert_eq!(plan(&[update(c[3], &unknown)]).commits, c);
        assert_eq!(plan(&[update(c[3], ZERO)]).commits, c);
    }
}
