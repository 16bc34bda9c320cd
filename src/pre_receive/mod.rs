//! The server side: what a push brings to a repository, read while git holds it in quarantine.
//!
//! git runs `pre-receive` after it has received a push's objects and before it updates any ref,
//! with one `<old> <new> <ref>` line per ref on standard input. The objects sit in a quarantine
//! directory that git names in `GIT_QUARANTINE_PATH` and `GIT_OBJECT_DIRECTORY` (the repository's
//! own objects becoming `GIT_ALTERNATE_OBJECT_DIRECTORIES`); they are deleted if the hook
//! refuses. Everything here fails closed: a line that does not parse, an object that cannot be
//! read, or a push whose quarantine git's environment does not describe is an error.

pub mod policy;
pub mod remote_text;
pub mod server_repository;

pub use server_repository::ServerRepository;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use git2::{OdbLookupFlags, Oid, Repository};

use crate::redact::redact_text;
use crate::report::{Finding, Report, Scope};
use crate::scan::{add_object_dirs, name_pushed_refs};
use crate::source::pre_push::{commits_at_refs, PushPlan};
use crate::timings::timed;
use crate::Scanner;

/// One line of git's pre-receive input: `<old oid> <new oid> <ref name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRef {
    /// The ref's object id before the push, in hex (40 digits, or 64 for SHA-256); all zeros
    /// when the push creates it.
    pub old: String,
    /// The ref's object id after the push; all zeros when the push deletes it.
    pub new: String,
    pub name: String,
}

impl ReceivedRef {
    /// The push deletes the ref: nothing new arrives.
    pub fn is_deletion(&self) -> bool {
        self.new.bytes().all(|byte| byte == b'0')
    }

    /// The push creates the ref.
    pub fn is_creation(&self) -> bool {
        self.old.bytes().all(|byte| byte == b'0')
    }
}

/// Parses git's pre-receive standard input. Every line must be well-formed and at least one
/// must be there: git never runs the hook without one, so anything else is not git talking.
pub fn parse_received(input: &[u8]) -> Result<Vec<ReceivedRef>> {
    let mut refs = Vec::new();
    for (index, line) in input.split(|&byte| byte == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let line = std::str::from_utf8(line)
            .ok()
            .with_context(|| format!("pre-receive input line {number}: not valid UTF-8"))?;
        let fields: Vec<&str> = line.split(' ').collect();
        let [old, new, name] = fields[..] else {
            bail!(
                "pre-receive input line {number}: expected `<old> <new> <ref>`, found {} \
                 space-separated fields",
                fields.len()
            );
        };
        let oid = |text: &str| {
            let valid =
                matches!(text.len(), 40 | 64) && text.bytes().all(|byte| byte.is_ascii_hexdigit());
            valid.then(|| text.to_ascii_lowercase()).with_context(|| {
                format!(
                    "pre-receive input line {number}: {:?} is not an object id",
                    redact_text(text.as_bytes())
                )
            })
        };
        let (old, new) = (oid(old)?, oid(new)?);
        if !name.starts_with("refs/") || !git2::Reference::is_valid_name(name) {
            bail!(
                "pre-receive input line {number}: {:?} is not a ref name",
                redact_text(name.as_bytes())
            );
        }
        refs.push(ReceivedRef {
            old,
            new,
            name: name.to_string(),
        });
    }
    if refs.is_empty() {
        bail!("no `<old> <new> <ref>` line on standard input (run by git as a pre-receive hook?)");
    }
    Ok(refs)
}

/// What git's environment says about the push being received.
#[derive(Debug, Default, Clone)]
pub struct ReceiveEnv {
    /// `GIT_QUARANTINE_PATH`: where this push's objects wait.
    pub quarantine: Option<PathBuf>,
    /// `GIT_OBJECT_DIRECTORY` (git points it at the quarantine).
    pub object_dir: Option<PathBuf>,
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES` (the repository's own objects, during a push).
    pub alternates: Vec<PathBuf>,
    /// `GIT_NAMESPACE`, when the server serves several repositories from one.
    pub namespace: Option<String>,
    /// `GIT_PUSH_OPTION_0…`, the `git push -o` values the client sent.
    pub push_options: Vec<String>,
    /// Who pushes, as the server that runs the hook tells it.
    pub pusher: Option<String>,
}

/// Variables naming the pusher, in the order forges and git servers set them: GitLab, Gitea and
/// Forgejo, gitolite, web servers (smart HTTP), and the account the hook runs as.
const PUSHER_VARIABLES: &[&str] = &[
    "GL_USERNAME",
    "GITEA_PUSHER_NAME",
    "GL_USER",
    "REMOTE_USER",
    "USER",
    "LOGNAME",
];

/// The account the hook runs as, from `id -un`, when no variable names the pusher (a web
/// server's CGI environment has no `USER`).
fn account_name() -> Option<String> {
    let output = std::process::Command::new("id")
        .arg("-un")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let name = String::from_utf8(output.stdout).ok()?;
    let name = name.trim();
    (output.status.success() && !name.is_empty()).then(|| name.to_string())
}

impl ReceiveEnv {
    /// Reads the environment of the running process.
    pub fn from_process() -> Result<ReceiveEnv> {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let text = |name: &str| var(name).map(|value| value.to_string_lossy().into_owned());
        let option_count: usize = match text("GIT_PUSH_OPTION_COUNT") {
            Some(count) => count
                .parse()
                .with_context(|| format!("GIT_PUSH_OPTION_COUNT is not a number: {count:?}"))?,
            None => 0,
        };
        let push_options = (0..option_count)
            .map(|index| {
                std::env::var(format!("GIT_PUSH_OPTION_{index}"))
                    .with_context(|| format!("GIT_PUSH_OPTION_{index} is missing or not UTF-8"))
            })
            .collect::<Result<_>>()?;
        Ok(ReceiveEnv {
            quarantine: var("GIT_QUARANTINE_PATH").map(PathBuf::from),
            object_dir: var("GIT_OBJECT_DIRECTORY").map(PathBuf::from),
            alternates: var("GIT_ALTERNATE_OBJECT_DIRECTORIES")
                .map(|list| std::env::split_paths(&list).collect())
                .unwrap_or_default(),
            namespace: text("GIT_NAMESPACE"),
            push_options,
            pusher: PUSHER_VARIABLES
                .iter()
                .find_map(|name| text(name))
                .or_else(account_name),
        })
    }

    /// The object directories a push's objects may be in besides the repository's own, made
    /// absolute (git runs hooks in the repository, and relative paths are relative to it).
    /// Errors when a push brings objects but git's quarantine variables are missing: the hook is
    /// then not reading what git received (a wrapper stripped the environment).
    pub fn object_dirs(&self, refs: &[ReceivedRef]) -> Result<Vec<PathBuf>> {
        let brings_objects = refs.iter().any(|received| !received.is_deletion());
        if brings_objects && self.quarantine.is_none() && self.object_dir.is_none() {
            bail!(
                "GIT_QUARANTINE_PATH and GIT_OBJECT_DIRECTORY are not set, so the pushed objects \
                 cannot be read where git keeps them until the hook accepts them; run cio-hook \
                 pre-receive from git's pre-receive hook with git's environment intact"
            );
        }
        let mut dirs = Vec::new();
        for dir in [&self.quarantine, &self.object_dir].into_iter().flatten() {
            let absolute =
                std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
            if !absolute.is_dir() {
                bail!(
                    "the push's object directory {} does not exist",
                    absolute.display()
                );
            }
            if !dirs.contains(&absolute) {
                dirs.push(absolute);
            }
        }
        for dir in &self.alternates {
            let absolute =
                std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
            if absolute.is_dir() && !dirs.contains(&absolute) {
                dirs.push(absolute);
            }
        }
        Ok(dirs)
    }

    /// Where the push's objects wait: `$GIT_QUARANTINE_PATH`, absolute; `None` without a
    /// quarantine (git before 2.11, or a push of deletions only).
    pub fn quarantine_dir(&self) -> Result<Option<PathBuf>> {
        self.quarantine
            .as_ref()
            .map(|quarantine| {
                std::path::absolute(quarantine)
                    .with_context(|| format!("resolving {}", quarantine.display()))
            })
            .transpose()
    }

    /// Where the packs the push brought wait: `$GIT_QUARANTINE_PATH/pack`, absolute.
    pub fn pushed_pack_dir(&self) -> Result<Option<PathBuf>> {
        Ok(self.quarantine_dir()?.map(|dir| dir.join("pack")))
    }

    /// The prefix of this push's refs in the repository: `refs/namespaces/<a>/refs/namespaces/<b>/`
    /// for `GIT_NAMESPACE=a/b`, empty without a namespace.
    pub fn ref_prefix(&self) -> String {
        self.namespace
            .iter()
            .flat_map(|namespace| namespace.split('/'))
            .filter(|part| !part.is_empty())
            .map(|part| format!("refs/namespaces/{part}/"))
            .collect()
    }

    /// The value of the first `git push -o NAME=VALUE` option called `name`; `Some("")` for a
    /// bare `-o NAME`.
    pub fn push_option(&self, name: &str) -> Option<&str> {
        self.push_options
            .iter()
            .find_map(|option| match option.split_once('=') {
                Some((key, value)) if key == name => Some(value),
                None if option == name => Some(""),
                _ => None,
            })
    }
}

/// Opens the repository git runs the hook in, reading objects from `object_dirs` too. libgit2
/// honours `GIT_DIR`, `GIT_OBJECT_DIRECTORY` and `GIT_ALTERNATE_OBJECT_DIRECTORIES`; the
/// directories are added explicitly as well so that a quarantine named only by
/// `GIT_QUARANTINE_PATH` is read. libgit2's own namespace support is switched off: it misses
/// packed refs, and [`ReceiveEnv::ref_prefix`] is applied instead.
///
/// A repository libgit2 cannot open (SHA-256 objects, reftable refs) is read through the git
/// CLI, whose commands inherit git's quarantine variables from the hook's environment.
pub fn open_server_repository(object_dirs: &[PathBuf]) -> Result<ServerRepository> {
    let repo = match Repository::open_from_env() {
        Ok(repo) => repo,
        Err(err) => {
            return match crate::repository::open_from_env() {
                Ok(crate::repository::Opened::Git(repo)) => Ok(ServerRepository::Git(repo)),
                Ok(crate::repository::Opened::Libgit2(_)) | Err(_) => Err(anyhow::anyhow!(
                    "cannot open the repository being pushed to ({})",
                    err.message()
                )),
            }
        }
    };
    repo.remove_namespace()
        .context("switching off libgit2's namespace")?;
    add_object_dirs(&repo, object_dirs)?;
    Ok(ServerRepository::Libgit2(repo))
}

/// What a push brings, scanned: findings with the ref that brings each.
#[derive(Debug)]
pub struct ReceiveReport {
    /// Findings of every ref, with commits counted once across refs.
    pub report: Report,
    /// For each finding in `report.findings`, the pushed refs that bring it (comma-separated).
    pub refs: Vec<String>,
}

impl ReceiveReport {
    /// The blocking findings with their refs.
    pub fn blocking(&self) -> impl Iterator<Item = (&str, &Finding)> {
        self.refs
            .iter()
            .map(String::as_str)
            .zip(&self.report.findings)
            .filter(|(_, finding)| finding.is_blocking())
    }
}

/// Scans what `received` brings to `repo`: for each updated or created ref, the commits
/// reachable from its new oid and from no ref the server has under `ref_prefix`, the messages
/// of annotated tags, and objects tags point at; a deletion brings nothing. A commit two refs
/// bring is scanned once and reported with every pushed ref that carries it. `quarantine` is
/// where git keeps the push's objects until the hook accepts them, when it does.
pub fn scan_received(
    repo: &ServerRepository,
    scanner: &Scanner,
    received: &[ReceivedRef],
    ref_prefix: &str,
    quarantine: Option<&Path>,
) -> Result<ReceiveReport> {
    match repo {
        ServerRepository::Libgit2(repo) => {
            scan_received_with_libgit2(repo, scanner, received, ref_prefix, quarantine)
        }
        ServerRepository::Git(repo) => {
            server_repository::scan_received_with_git(repo, scanner, received, ref_prefix)
        }
    }
}

/// [`scan_received`] on a repository libgit2 reads.
fn scan_received_with_libgit2(
    repo: &Repository,
    scanner: &Scanner,
    received: &[ReceivedRef],
    ref_prefix: &str,
    quarantine: Option<&Path>,
) -> Result<ReceiveReport> {
    // Everything reachable from a ref the server has (in this namespace) is already there.
    let hidden = commits_at_refs(repo, &format!("{ref_prefix}refs/*"))?;
    let updates: Vec<(&str, Oid)> = received
        .iter()
        .filter(|update| !update.is_deletion())
        .map(|update| Ok((update.name.as_str(), Oid::from_str(&update.new)?)))
        .collect::<Result<_>>()?;
    let mut plan = PushPlan::default();
    let arrived = arrived_commits(repo, quarantine)?;
    timed("push plan", || {
        plan.add_received_tips(repo, &updates, &hidden, &|commit| arrived(commit))
    })
    .context("reading what the push brings")?;
    // Findings in a tagged blob or tree name no commit: each is scanned with the refs that
    // point at it.
    let mut tagged_objects = Vec::new();
    for object in std::mem::take(&mut plan.tagged_objects) {
        let mut names = Vec::new();
        for &(name, tip) in &updates {
            let mut peeled = repo
                .find_object(tip, None)
                .with_context(|| format!("reading {name} ({tip})"))?;
            while let Some(tag) = peeled.as_tag() {
                peeled = tag.target().context("reading the object a tag points at")?;
            }
            if peeled.id() == object {
                names.push(redact_text(name.as_bytes()));
            }
        }
        tagged_objects.push((names.join(","), object));
    }
    let scope = Scope::Push {
        remote: "this server".to_string(),
    };
    let mut report = scanner.scan_plan(repo, &plan, scope.clone(), &mut |_, _, _| {})?;
    timed("refs carrying the findings", || {
        name_pushed_refs(repo, &mut report.findings, &plan)
    })?;
    let mut refs = refs_of_each(&report.findings);
    for (name, object) in tagged_objects {
        let mut only_this = PushPlan::default();
        only_this.tagged_objects.push(object);
        let found = scanner.scan_plan(repo, &only_this, scope.clone(), &mut |_, _, _| {})?;
        refs.extend(found.findings.iter().map(|_| name.clone()));
        report.findings.extend(found.findings);
    }
    Ok(ReceiveReport { report, refs })
}

/// Whether an object came with this push only: it is in `quarantine` (git's
/// `GIT_QUARANTINE_PATH`) and not in the repository's own object store. Without a quarantine,
/// nothing is known to have arrived (the plan then takes libgit2's revision walk).
fn arrived_commits(
    repo: &Repository,
    quarantine: Option<&Path>,
) -> Result<Box<dyn Fn(Oid) -> bool>> {
    let Some(quarantine) = quarantine else {
        return Ok(Box::new(|_| false));
    };
    let odb_at = |dir: &Path| -> Result<git2::Odb<'static>> {
        let odb = git2::Odb::new().context("opening an object database")?;
        let text = dir
            .to_str()
            .with_context(|| format!("object directory {} is not UTF-8", dir.display()))?;
        odb.add_disk_alternate(text)
            .with_context(|| format!("reading objects from {}", dir.display()))?;
        Ok(odb)
    };
    let pushed = odb_at(quarantine)?;
    let server = odb_at(&repo.commondir().join("objects"))?;
    // Without NO_REFRESH, libgit2 rereads the pack directory on every miss, and the server
    // misses on every commit that arrived: 0.3 s for cargo's 23,815 commits. Packs another
    // push adds meanwhile are then not seen, so an object is at worst called arrived and
    // scanned once more, never skipped.
    Ok(Box::new(move |oid| {
        pushed.exists_ext(oid, OdbLookupFlags::NO_REFRESH)
            && !server.exists_ext(oid, OdbLookupFlags::NO_REFRESH)
    }))
}

/// The blob at `path` in the tree of the commit `reference` points at, when there is one.
pub fn file_at_ref(repo: &Repository, reference: &str, path: &Path) -> Result<Option<Vec<u8>>> {
    let Ok(commit) = repo
        .find_reference(reference)
        .and_then(|found| found.peel_to_commit())
    else {
        return Ok(None);
    };
    let tree = commit.tree().context("reading the default branch's tree")?;
    let Ok(entry) = tree.get_path(path) else {
        return Ok(None);
    };
    let blob = repo
        .find_blob(entry.id())
        .with_context(|| format!("reading {} on {reference}", path.display()))?;
    Ok(Some(blob.content().to_vec()))
}

/// The refs each finding's commit is labelled with, joined by commas ("" for a finding outside
/// any commit): the pushed refs a `remote:` line names.
pub(crate) fn refs_of_each(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|finding| {
            finding
                .commit
                .as_ref()
                .map_or_else(String::new, |commit| commit.refs.join(","))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn parses_updates_creations_and_deletions() {
        let input = format!("{ZERO} {A} refs/heads/new\n{A} {ZERO} refs/tags/old\n");
        let refs = parse_received(input.as_bytes()).unwrap();
        assert_eq!(refs.len(), 2);
        assert!(!refs[0].is_deletion() && refs[0].is_creation());
        assert!(refs[1].is_deletion());
        assert_eq!(refs[1].name, "refs/tags/old");
    }

    #[test]
    fn rejects_anything_git_would_not_send() {
        for (input, wanted) in [
            (String::new(), "no `<old> <new> <ref>` line"),
            ("\n\n".to_string(), "no `<old> <new> <ref>` line"),
            (format!("{A} {A}\n"), "line 1: expected"),
            (
                format!("{A} {A} refs/heads/main\n{A} xyz refs/x\n"),
                "line 2:",
            ),
            (format!("{A} {A} main\n"), "not a ref name"),
            (format!("{A} {A} refs/heads/a..b\n"), "not a ref name"),
            (format!("{A}{A} {A} refs/heads/a\n"), "not an object id"),
            ("\u{0}\u{ff}".to_string(), "line 1"),
            ("\u{ff}".to_string(), "line 1"),
        ] {
            let err = parse_received(input.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(wanted), "{input:?}: {err}");
        }
        let err = parse_received(b"\xff\xfe\n").unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn namespaces_nest_as_git_stores_them() {
        let env = |namespace: Option<&str>| ReceiveEnv {
            namespace: namespace.map(str::to_string),
            ..ReceiveEnv::default()
        };
        assert_eq!(env(None).ref_prefix(), "");
        assert_eq!(env(Some("a")).ref_prefix(), "refs/namespaces/a/");
        assert_eq!(
            env(Some("a/b")).ref_prefix(),
            "refs/namespaces/a/refs/namespaces/b/"
        );
    }

    #[test]
    fn push_options_are_found_by_name() {
        let env = ReceiveEnv {
            push_options: vec![
                "ci.skip".to_string(),
                "ciohook.bypass=incident 42".to_string(),
            ],
            ..ReceiveEnv::default()
        };
        assert_eq!(env.push_option("ciohook.bypass"), Some("incident 42"));
        assert_eq!(env.push_option("ci.skip"), Some(""));
        assert_eq!(env.push_option("ciohook"), None);
    }

    #[test]
    fn a_push_with_objects_needs_the_quarantine_variables() {
        let refs = parse_received(format!("{ZERO} {A} refs/heads/x\n").as_bytes()).unwrap();
        let err = ReceiveEnv::default().object_dirs(&refs).unwrap_err();
        assert!(err.to_string().contains("GIT_QUARANTINE_PATH"), "{err}");
        let deletion = parse_received(format!("{A} {ZERO} refs/heads/x\n").as_bytes()).unwrap();
        assert!(ReceiveEnv::default()
            .object_dirs(&deletion)
            .unwrap()
            .is_empty());
    }
}
