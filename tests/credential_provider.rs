//! cio-hook as cargo's credential provider: real `cargo publish` to a registry stand-in on
//! 127.0.0.1 (a sparse index and the publish endpoint, recording every request). A package
//! holding a token is never uploaded; a clean one is published with the wrapped token.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use common::{api_token, binary, clean_command, Repo, Run};
use sha2::{Digest, Sha256};

/// The token the wrapped source (the registry's environment variable) holds; not crates.io's
/// format, so it is never a finding.
const REGISTRY_TOKEN: &str = "local-registry-test-token";

/// What the stand-in saw: `METHOD PATH` of each request, and the Authorization of uploads.
#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    upload_authorization: Vec<String>,
    /// The index line of each version published.
    published: Vec<String>,
}

/// A sparse registry on 127.0.0.1, stopped when dropped.
struct Registry {
    port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Registry {
    fn start() -> Registry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, port, &seen);
                    }
                }
            })
        };
        Registry {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().requests.clone()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request (one per connection: every answer closes it).
fn serve(stream: TcpStream, port: u16, seen: &Mutex<Seen>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        headers.push(line.trim_end().to_string());
    }
    let header = |name: &str| {
        headers.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    let mut stream = stream;
    if header("expect").is_some_and(|value| value.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
    }
    let length: usize = header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut seen = seen.lock().unwrap();
    seen.requests.push(format!("{method} {path}"));
    let (status, content) = match (method, path) {
        ("GET", "/index/config.json") => (
            "200 OK",
            format!(r#"{{"dl":"http://127.0.0.1:{port}/dl","api":"http://127.0.0.1:{port}"}}"#),
        ),
        ("GET", "/index/3/p/pkg") if !seen.published.is_empty() => {
            ("200 OK", seen.published.join("\n") + "\n")
        }
        ("PUT", "/api/v1/crates/new") => {
            let json_len = u32::from_le_bytes(body[..4].try_into().unwrap()) as usize;
            let metadata: serde_json::Value =
                serde_json::from_slice(&body[4..4 + json_len]).unwrap();
            let tarball = &body[8 + json_len..];
            let cksum: String = Sha256::digest(tarball)
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let entry = serde_json::json!({
                "name": metadata["name"], "vers": metadata["vers"], "deps": [],
                "cksum": cksum, "features": {}, "yanked": false,
            });
            seen.published.push(entry.to_string());
            let authorization = header("authorization").unwrap_or_default();
            seen.upload_authorization.push(authorization);
            (
                "200 OK",
                r#"{"warnings":{"invalid_categories":[],"invalid_badges":[],"other":[]}}"#
                    .to_string(),
            )
        }
        _ => ("404 Not Found", String::new()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{content}",
        content.len()
    );
}

/// A repository with package `pkg` 0.1.0 at its root, and a cargo home whose registry `local`
/// is the stand-in, with cio-hook as its credential provider.
fn package_for(registry: &Registry) -> (Repo, tempfile::TempDir) {
    package_with_provider(registry, ProviderConfig::ForTheRegistry)
}

/// Where the cargo configuration names cio-hook.
enum ProviderConfig {
    /// `[registries.local] credential-provider`.
    ForTheRegistry,
    /// `[registry] global-credential-providers`, after `cargo:token` (so asked first).
    Global,
}

fn package_with_provider(registry: &Registry, config: ProviderConfig) -> (Repo, tempfile::TempDir) {
    let repo = Repo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"pkg\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         description = \"a test package\"\nlicense = \"MIT\"\npublish = [\"local\"]\n",
    );
    repo.write("src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    repo.write(".gitignore", "target/\n");
    repo.git_ok(&["add", "."]);
    repo.commit("package", &["--no-verify"]).expect_code(0);
    let cargo_home = tempfile::tempdir().unwrap();
    let index = format!("sparse+http://127.0.0.1:{}/index/", registry.port);
    let provider = format!("{:?}", binary().display().to_string());
    let config = match config {
        ProviderConfig::ForTheRegistry => {
            format!("[registries.local]\nindex = \"{index}\"\ncredential-provider = [{provider}]\n")
        }
        ProviderConfig::Global => format!(
            "[registries.local]\nindex = \"{index}\"\n\
             [registry]\nglobal-credential-providers = [\"cargo:token\", {provider}]\n"
        ),
    };
    std::fs::write(cargo_home.path().join("config.toml"), config).unwrap();
    (repo, cargo_home)
}

fn cargo_publish(repo: &Repo, cargo_home: &Path) -> Run {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = clean_command(cargo, &repo.path);
    command
        .args([
            "publish",
            "--registry",
            "local",
            "--no-verify",
            "--allow-dirty",
        ])
        .env("CARGO_HOME", cargo_home)
        .env("CARGO_REGISTRIES_LOCAL_TOKEN", REGISTRY_TOKEN)
        .env("CARGO_NET_RETRY", "0")
        .env_remove("CARGO_TARGET_DIR");
    if let Some(rustup_home) = std::env::var_os("RUSTUP_HOME") {
        command.env("RUSTUP_HOME", rustup_home);
    }
    Run::from_output(command.output().unwrap())
}

#[test]
fn cargo_publish_sends_nothing_when_the_package_holds_a_token() {
    let registry = Registry::start();
    let (repo, cargo_home) = package_for(&registry);
    let token = api_token(2121);
    // Untracked and not ignored: no commit shows it, cargo packs it.
    repo.write(".env", format!("CARGO_REGISTRY_TOKEN={token}\n"));
    let run = cargo_publish(&repo, cargo_home.path());
    assert_ne!(run.code, 0, "published:\n{}", run.all());
    run.expect_no_full_token(&[&token, REGISTRY_TOKEN])
        .expect_contains("not publishing pkg 0.1.0")
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/.env:1:22")
        .expect_contains("untracked and not ignored");
    let requests = registry.requests();
    assert!(
        !requests.iter().any(|request| request.starts_with("PUT")),
        "an upload reached the registry: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|request| request == "GET /index/config.json"),
        "cargo never reached the stand-in, so the test proves nothing: {requests:?}"
    );
}

#[test]
fn cargo_publish_uploads_a_clean_package_with_the_wrapped_token() {
    let registry = Registry::start();
    let (repo, cargo_home) = package_for(&registry);
    let run = cargo_publish(&repo, cargo_home.path());
    run.expect_code(0).expect_no_full_token(&[REGISTRY_TOKEN]);
    let requests = registry.requests();
    let uploads = requests
        .iter()
        .filter(|request| *request == "PUT /api/v1/crates/new")
        .count();
    assert_eq!(uploads, 1, "{requests:?}");
    let seen = registry.seen.lock().unwrap();
    assert_eq!(seen.upload_authorization, [REGISTRY_TOKEN]);
    assert!(seen.published[0].contains(r#""vers":"0.1.0""#));
}

#[test]
fn the_provider_refuses_a_publish_whose_tarball_it_cannot_find() {
    let repo = Repo::new();
    let request = r#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:9/index/","name":"local"},"kind":"get","operation":"publish","name":"pkg","vers":"0.1.0","cksum":"00","args":[]}"#;
    let mut command = clean_command(binary(), &repo.path);
    command
        .arg("--cargo-plugin")
        .env("CARGO_REGISTRIES_LOCAL_TOKEN", REGISTRY_TOKEN);
    let run = common::run_with_input(&mut command, &format!("{request}\n"));
    run.expect_code(0).expect_no_full_token(&[REGISTRY_TOKEN]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], r#"{"v":[1]}"#);
    let answer: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(answer["Err"]["kind"], "other");
    assert!(answer["Err"]["message"]
        .as_str()
        .unwrap()
        .contains("cannot find the tarball of pkg 0.1.0"));
}

#[test]
fn the_provider_answers_a_read_with_the_wrapped_token_not_cached() {
    let repo = Repo::new();
    let request = r#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:9/index/","name":"local"},"kind":"get","operation":"read","args":[]}"#;
    let mut command = clean_command(binary(), &repo.path);
    command
        .arg("--cargo-plugin")
        .env("CARGO_REGISTRIES_LOCAL_TOKEN", REGISTRY_TOKEN);
    let run = common::run_with_input(&mut command, &format!("{request}\n"));
    run.expect_code(0);
    let answer: serde_json::Value =
        serde_json::from_str(run.stdout.lines().nth(1).unwrap()).unwrap();
    assert_eq!(answer["Ok"]["token"], REGISTRY_TOKEN);
    assert_eq!(answer["Ok"]["cache"], "never");
    assert_eq!(answer["Ok"]["operation_independent"], false);
    assert!(run.stderr.is_empty(), "nothing logged: {}", run.stderr);
}

#[test]
fn the_provider_passes_on_a_wrapped_program_s_token_without_caching() {
    let repo = Repo::new();
    let wrapped = repo.sibling("wrapped-provider");
    // A provider program: hello, one request, one answer (it would let cargo cache the token).
    std::fs::write(
        &wrapped,
        "#!/bin/sh\n[ \"$1\" = --cargo-plugin ] || exit 3\necho '{\"v\":[1]}'\nread request\n\
         echo \"$request\" > \"$0.request\"\n\
         echo '{\"Ok\":{\"kind\":\"get\",\"token\":\"wrapped-token\",\"cache\":\"session\",\
         \"operation_independent\":true}}'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapped, std::fs::Permissions::from_mode(0o755)).unwrap();
    let request = serde_json::json!({
        "v": 1, "kind": "get", "operation": "read",
        "registry": { "index-url": "sparse+http://127.0.0.1:9/index/", "name": "local" },
        "args": ["--wrap", wrapped.display().to_string(), "--vault", "team"],
    });
    let mut command = clean_command(binary(), &repo.path);
    command.arg("--cargo-plugin");
    let run = common::run_with_input(&mut command, &format!("{request}\n"));
    run.expect_code(0);
    let answer: serde_json::Value =
        serde_json::from_str(run.stdout.lines().nth(1).unwrap()).unwrap();
    assert_eq!(answer["Ok"]["token"], "wrapped-token");
    assert_eq!(answer["Ok"]["cache"], "never");
    assert_eq!(answer["Ok"]["operation_independent"], false);
    let forwarded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(wrapped.with_extension("request")).unwrap())
            .unwrap();
    assert_eq!(forwarded["args"], serde_json::json!(["--vault", "team"]));
    assert_eq!(forwarded["operation"], "read");
}

#[test]
fn as_a_global_provider_it_also_stops_the_upload() {
    let registry = Registry::start();
    let (repo, cargo_home) = package_with_provider(&registry, ProviderConfig::Global);
    let token = api_token(2122);
    repo.write(
        "notes/deploy.md",
        format!("cargo publish --token {token}\n"),
    );
    let run = cargo_publish(&repo, cargo_home.path());
    assert_ne!(run.code, 0, "published:\n{}", run.all());
    run.expect_no_full_token(&[&token, REGISTRY_TOKEN])
        .expect_contains("not publishing pkg 0.1.0")
        .expect_contains("pkg-0.1.0.crate!pkg-0.1.0/notes/deploy.md:1:23");
    let requests = registry.requests();
    assert!(
        !requests.iter().any(|request| request.starts_with("PUT")),
        "an upload reached the registry: {requests:?}"
    );
    repo.write("notes/deploy.md", "cargo publish\n");
    cargo_publish(&repo, cargo_home.path()).expect_code(0);
    assert_eq!(
        registry.seen.lock().unwrap().upload_authorization,
        [REGISTRY_TOKEN]
    );
}
