//! Push planning against git: on generated repositories with many refs (branches, lightweight
//! and annotated tags, merges, shared history, rewound branches, refs the remote already has),
//! `cio-hook pre-push` of every ref must scan exactly the commits `git rev-list NEW --not
//! EXISTING` lists for some pushed ref, and name on each finding exactly the pushed refs whose
//! rev-list holds its commit. Every commit message and every annotated tag message holds a
//! token, so each scanned object yields one finding that says what was scanned and for whom.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::{api_token, Repo, Rng};

/// One history generated through `git fast-import`, in two phases around a push of some
/// branches to `origin`, so that the second phase updates, rewinds and adds refs the remote has.
struct Generated {
    repo: Repo,
    remote: std::path::PathBuf,
}

/// What `fast-import` is told, with marks numbered across both phases.
struct Stream {
    text: String,
    next_mark: usize,
    time: u64,
    /// Each branch's current commit, as a mark.
    heads: BTreeMap<String, usize>,
}

impl Stream {
    fn commit(&mut self, rng: &mut Rng, branch: &str, merge: Option<usize>) -> usize {
        let mark = self.next_mark;
        self.next_mark += 1;
        self.time += 60;
        let message = format!("change {mark} {}\n", api_token(rng.seed()));
        self.text.push_str(&format!(
            "commit refs/heads/{branch}\nmark :{mark}\ncommitter T <t@example.invalid> {} +0000\n\
             data {}\n{message}",
            self.time,
            message.len()
        ));
        if let Some(&parent) = self.heads.get(branch) {
            self.text.push_str(&format!("from :{parent}\n"));
        }
        if let Some(other) = merge {
            self.text.push_str(&format!("merge :{other}\n"));
        }
        let content = format!("value {mark}\n");
        self.text.push_str(&format!(
            "M 100644 inline dir{}/f{}.txt\ndata {}\n{content}\n",
            rng.below(4),
            rng.below(9),
            content.len()
        ));
        self.heads.insert(branch.to_string(), mark);
        mark
    }

    /// Random history: commits on random branches, new branches off any commit, merges, tags.
    fn grow(&mut self, rng: &mut Rng, steps: usize, branches: usize, tags: &mut usize) {
        for _ in 0..steps {
            let names: Vec<String> = self.heads.keys().cloned().collect();
            let branch = names[rng.below(names.len())].clone();
            match rng.below(20) {
                0 | 1 if self.heads.len() < branches => {
                    let name = format!("b{}", self.next_mark);
                    let from = self.heads[&branch];
                    self.heads.insert(name.clone(), from);
                    self.commit(rng, &name, None);
                }
                2 | 3 => {
                    let other = self.heads[&names[rng.below(names.len())]];
                    if other != self.heads[&branch] {
                        self.commit(rng, &branch, Some(other));
                    }
                }
                4 => {
                    *tags += 1;
                    let at = self.heads[&branch];
                    if rng.chance(50) {
                        self.text
                            .push_str(&format!("reset refs/tags/light{tags}\nfrom :{at}\n"));
                    } else {
                        self.time += 1;
                        let message = format!("release {tags} {}\n", api_token(rng.seed()));
                        self.text.push_str(&format!(
                            "tag v{tags}\nfrom :{at}\ntagger T <t@example.invalid> {} +0000\n\
                             data {}\n{message}",
                            self.time,
                            message.len()
                        ));
                    }
                }
                _ => {
                    self.commit(rng, &branch, None);
                }
            }
        }
    }
}

fn generate(seed: u64, steps: usize, branches: usize) -> Generated {
    let mut rng = Rng::new(seed);
    let repo = Repo::new();
    let remote = repo.sibling("remote.git");
    repo.git_ok(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    repo.git_ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    let mut stream = Stream {
        text: String::new(),
        next_mark: 1,
        time: 1_600_000_000,
        heads: BTreeMap::new(),
    };
    let mut tags = 0;
    stream.commit(&mut rng, "main", None);
    stream.grow(&mut rng, steps / 2, branches, &mut tags);
    let marks = repo.sibling("marks");
    let marks_flag = format!("--export-marks={}", marks.display());
    repo.git_with_input(&["fast-import", "--quiet", &marks_flag], &stream.text)
        .expect_code(0);
    // Some branches (and tags) reach the remote; the rest of the history stays local.
    let mut pushed = vec!["main".to_string()];
    for name in stream.heads.keys() {
        if name != "main" && rng.chance(40) {
            pushed.push(name.clone());
        }
    }
    let mut args = vec!["push", "-q", "--no-verify", "origin"];
    args.extend(pushed.iter().map(String::as_str));
    if rng.chance(50) {
        args.push("--tags");
    }
    repo.git_ok(&args);

    stream.text.clear();
    // Rewind a pushed branch: its update is then a force push whose old oid is no ancestor.
    let rewound = pushed[rng.below(pushed.len())].clone();
    let first_mark = 1;
    stream.heads.insert(rewound.clone(), first_mark);
    stream
        .text
        .push_str(&format!("reset refs/heads/{rewound}\nfrom :{first_mark}\n"));
    stream.commit(&mut rng, &rewound, None);
    stream.grow(&mut rng, steps - steps / 2, branches * 2, &mut tags);
    let import_flag = format!("--import-marks={}", marks.display());
    repo.git_with_input(
        &["fast-import", "--quiet", "--force", &import_flag],
        &stream.text,
    )
    .expect_code(0);
    repo.git_ok(&["gc", "-q"]);
    Generated { repo, remote }
}

/// The pre-push lines git would write for pushing every local branch and tag to `origin` with
/// their own names, in a seeded order, skipping refs the remote has at the same oid; plus one
/// deletion of a ref the remote has. Returns the lines and each pushed `(ref, new oid, old oid)`.
fn push_lines(generated: &Generated, rng: &mut Rng) -> (String, Vec<(String, String, String)>) {
    let zero = "0".repeat(40);
    let remote_refs: HashMap<String, String> = generated
        .repo
        .git_in(
            &generated.remote,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        )
        .stdout
        .lines()
        .map(|line| {
            let (name, oid) = line.split_once(' ').unwrap();
            (name.to_string(), oid.to_string())
        })
        .collect();
    let mut refs: Vec<(String, String, String)> = generated
        .repo
        .git_ok(&[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
        ])
        .lines()
        .filter_map(|line| {
            let (name, oid) = line.split_once(' ').unwrap();
            let old = remote_refs
                .get(name)
                .cloned()
                .unwrap_or_else(|| zero.clone());
            (old != oid).then(|| (name.to_string(), oid.to_string(), old))
        })
        .collect();
    for index in (1..refs.len()).rev() {
        refs.swap(index, rng.below(index + 1));
    }
    let mut input: String = refs
        .iter()
        .map(|(name, new, old)| format!("{name} {new} {name} {old}\n"))
        .collect();
    if let Some((name, oid)) = remote_refs
        .iter()
        .find(|(name, _)| name.starts_with("refs/heads/"))
    {
        input.push_str(&format!("(delete) {zero} {name}-gone {oid}\n"));
    }
    (input, refs)
}

/// Runs `cio-hook pre-push origin` on every ref and compares it with git's own answers.
fn check_push_matches_git(generated: &Generated, seed: u64) -> usize {
    let repo = &generated.repo;
    let mut rng = Rng::new(seed ^ 0x5eed);
    let (input, refs) = push_lines(generated, &mut rng);
    assert!(refs.len() >= 3, "seed {seed}: too few refs to push");
    let zero = "0".repeat(40);
    let mut existing = vec!["--remotes=origin".to_string()];
    existing.extend(
        refs.iter()
            .map(|(_, _, old)| old.clone())
            .filter(|old| *old != zero),
    );
    // git's answer: per pushed ref, the commits it brings.
    let mut brought: Vec<BTreeSet<String>> = Vec::new();
    for (name, _, _) in &refs {
        let mut args = vec!["rev-list", name.as_str(), "--not"];
        args.extend(existing.iter().map(String::as_str));
        brought.push(repo.git_ok(&args).lines().map(str::to_string).collect());
    }
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((name, _, _), commits) in refs.iter().zip(&brought) {
        for commit in commits {
            expected
                .entry(commit.clone())
                .or_default()
                .push(name.clone());
        }
    }
    let mut expected_tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, new, _) in &refs {
        if repo.git_ok(&["cat-file", "-t", new]).trim() == "tag" {
            expected_tags
                .entry(new.clone())
                .or_default()
                .push(name.clone());
        }
    }

    let url = generated.remote.to_str().unwrap();
    let run = repo.cio_hook_with_input(&["pre-push", "origin", url, "--format", "json"], &input);
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("seed {seed}: not a JSON report ({err}):\n{}", run.all()));
    let mut scanned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finding in report["findings"].as_array().unwrap() {
        let commit = &finding["commit"];
        let oid = commit["oid"].as_str().unwrap().to_string();
        let names: Vec<String> = commit["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_string())
            .collect();
        let into = match finding["path"].as_str().unwrap() {
            "(commit message)" => &mut scanned,
            "(tag message)" => &mut tags,
            other => panic!("seed {seed}: unexpected finding in {other}"),
        };
        assert!(
            into.insert(oid.clone(), names).is_none(),
            "seed {seed}: {oid} reported twice"
        );
    }
    let expected_keys: BTreeSet<&String> = expected.keys().collect();
    let scanned_keys: BTreeSet<&String> = scanned.keys().collect();
    assert_eq!(
        scanned_keys, expected_keys,
        "seed {seed}: planned commits vs git rev-list NEW --not EXISTING"
    );
    assert_eq!(scanned, expected, "seed {seed}: refs named on each commit");
    assert_eq!(tags, expected_tags, "seed {seed}: annotated tags pushed");
    assert_eq!(
        report["commits_scanned"].as_u64().unwrap() as usize,
        expected.len(),
        "seed {seed}: commits scanned"
    );
    run.expect_code(if expected.is_empty() && expected_tags.is_empty() {
        0
    } else {
        1
    });
    expected.len()
}

#[test]
fn pushes_of_many_refs_plan_what_git_rev_list_lists() {
    let mut compared = 0;
    for seed in 0..8 {
        let generated = generate(300 + seed, 60, 8);
        compared += check_push_matches_git(&generated, seed);
    }
    assert!(compared > 150, "too few commits compared: {compared}");
}

#[test]
fn a_push_long_enough_for_the_pack_pass_plans_what_git_rev_list_lists() {
    // 2,400 steps over up to 80 branches: more than the 1,000 commits from which a scan first
    // reads the packs, with the new commits spread over many refs.
    let generated = generate(77, 2400, 40);
    let compared = check_push_matches_git(&generated, 77);
    assert!(compared > 1000, "too few commits compared: {compared}");
}
