//! `verify` and `revoke` against a local server that answers as crates.io's source does
//! (src/auth.rs, src/controllers/token.rs, src/controllers/trustpub/tokens/revoke): status codes
//! and JSON error bodies. The server records every request, so each test asserts what was sent
//! (method, path, Authorization header) as well as what the person is told.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{api_token, trusted_publishing_token, Repo, Run};

const WEBSITE_ONLY: &str = "this action can only be performed on the crates.io website";
const MISSING_SCOPE: &str =
    "this token does not have the required permissions to perform this action";
const UNKNOWN_TOKEN: &str = "authentication failed";

/// The client's `--timeout`: ample for a server on this machine, even a busy one.
const TIMEOUT_SECONDS: &str = "3";
/// How long a slow answer takes: well past the timeout.
const SLOW_ANSWER: Duration = Duration::from_secs(10);

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
    user_agent: Option<String>,
}

/// How the server answers a request.
#[derive(Debug, Clone)]
enum Answer {
    /// A status with crates.io's error body `{"errors":[{"detail":…}]}`, or no body for 204.
    Status(u16, &'static str),
    /// The same, after a delay longer than the client's timeout.
    Slow(u16, &'static str),
    /// Reads the request and closes the connection without a word.
    HangUp,
}

/// A server on 127.0.0.1 that answers each request by the token in its Authorization header
/// (403 "authentication failed" for tokens it was not told about, as crates.io does).
struct FakeCratesIo {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeCratesIo {
    /// Plain HTTP on 127.0.0.1.
    fn start(answers: &[(&str, Answer)]) -> FakeCratesIo {
        FakeCratesIo::start_with(answers, None)
    }

    /// HTTPS with `tls`, or plain HTTP without.
    fn start_with(
        answers: &[(&str, Answer)],
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> FakeCratesIo {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answers: Arc<HashMap<String, Answer>> = Arc::new(
            answers
                .iter()
                .map(|(token, answer)| (token.to_string(), answer.clone()))
                .collect(),
        );
        let recorded = Arc::clone(&requests);
        // The thread ends with the test process; each connection gets its own so that a slow
        // answer holds up nothing else.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = Arc::clone(&recorded);
                let answers = Arc::clone(&answers);
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    Some(config) => {
                        let connection = rustls::ServerConnection::new(config).unwrap();
                        serve(
                            rustls::StreamOwned::new(connection, stream),
                            &recorded,
                            &answers,
                        );
                    }
                    None => serve(stream, &recorded, &answers),
                });
            }
        });
        FakeCratesIo { url, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    mut stream: impl Read + Write,
    recorded: &Mutex<Vec<Request>>,
    answers: &HashMap<String, Answer>,
) {
    // Requests have no body, so the reader cannot take bytes that belong to anything else.
    let mut reader = BufReader::new(&mut stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    drop(reader);
    let Some(request_line) = head.first() else {
        return;
    };
    let mut parts = request_line.split(' ');
    let header = |name: &str| {
        head.iter().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    let request = Request {
        method: parts.next().unwrap_or_default().to_string(),
        path: parts.next().unwrap_or_default().to_string(),
        authorization: header("authorization"),
        user_agent: header("user-agent"),
    };
    recorded.lock().unwrap().push(request.clone());
    let answer = request
        .authorization
        .as_deref()
        .and_then(|token| answers.get(token))
        .cloned()
        .unwrap_or(Answer::Status(403, UNKNOWN_TOKEN));
    let (status, detail) = match answer {
        Answer::Status(status, detail) => (status, detail),
        Answer::Slow(status, detail) => {
            std::thread::sleep(SLOW_ANSWER);
            (status, detail)
        }
        Answer::HangUp => return,
    };
    let body = if status == 204 {
        String::new()
    } else {
        serde_json::json!({ "errors": [{ "detail": detail }] }).to_string()
    };
    // A redirect points back at this server, so that following it would show in the record.
    let location = if (300..400).contains(&status) {
        "Location: /followed\r\n"
    } else {
        ""
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Answer\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         {location}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// An address where nothing listens: bound, then released.
fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// A repository whose history holds each token in a file of its own.
fn repo_with_history(tokens: &[&str]) -> Repo {
    let repo = Repo::new();
    repo.commit_file_unchecked("README.md", "# project\n", "start");
    for (index, token) in tokens.iter().enumerate() {
        repo.commit_file_unchecked(
            &format!("ci/env{index}.sh"),
            &format!("export CARGO_REGISTRY_TOKEN={token}\n"),
            &format!("add ci script {index}"),
        );
    }
    repo
}

fn fingerprint(token: &str) -> String {
    cio_hook::redact::fingerprint(token.as_bytes())
}

/// The line of the output about one token's result.
fn result_line<'a>(run: &'a Run, token: &str) -> &'a str {
    let shown = cio_hook::redact::redact_token(token.as_bytes());
    run.stdout
        .lines()
        .filter(|line| line.trim_start().starts_with(&shown))
        .find(|line| line.contains(": "))
        .unwrap_or_else(|| panic!("no result line for {shown}:\n{}", run.all()))
}

fn with_server(repo: &Repo, server_url: &str, args: &[&str]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--api-url", server_url, "--timeout", TIMEOUT_SECONDS]);
    repo.cio_hook(&all)
}

/// `revoke FINGERPRINT --yes` against the server at `server_url`.
fn revoke(repo: &Repo, server_url: &str, token: &str) -> Run {
    with_server(repo, server_url, &["revoke", &fingerprint(token), "--yes"])
}

#[test]
fn verify_tells_live_from_dead_per_token_and_sends_each_once() {
    let live = api_token(1501);
    let scoped = api_token(1502);
    let revoked = api_token(1503);
    let malformed = api_token(1504);
    let server_error = api_token(1505);
    let trusted = trusted_publishing_token(1506);
    let tokens = [
        live.as_str(),
        scoped.as_str(),
        revoked.as_str(),
        malformed.as_str(),
        server_error.as_str(),
        trusted.as_str(),
    ];
    let server = FakeCratesIo::start(&[
        (&live, Answer::Status(403, WEBSITE_ONLY)),
        (&scoped, Answer::Status(403, MISSING_SCOPE)),
        (&revoked, Answer::Status(403, UNKNOWN_TOKEN)),
        (
            &malformed,
            Answer::Status(401, "The given API token does not match the format"),
        ),
        (&server_error, Answer::Status(503, "Service unavailable")),
    ]);
    let repo = repo_with_history(&tokens);
    let run = with_server(&repo, &server.url, &["verify", "--yes"]);
    run.expect_code(1).expect_no_full_token(&tokens);
    run.expect_contains("\"last used\" time")
        .expect_contains("https://crates.io/settings/tokens")
        .expect_contains("2 live, 2 not live, 2 could not tell");
    assert!(result_line(&run, &live).contains("LIVE:"), "{}", run.all());
    assert!(
        result_line(&run, &scoped).contains("LIVE:"),
        "{}",
        run.all()
    );
    assert!(
        result_line(&run, &revoked).contains("not live:"),
        "{}",
        run.all()
    );
    assert!(
        result_line(&run, &malformed).contains("not live:"),
        "{}",
        run.all()
    );
    let unavailable = result_line(&run, &server_error);
    assert!(
        unavailable.contains("could not tell: unexpected answer 503"),
        "{unavailable}"
    );
    let trusted_line = result_line(&run, &trusted);
    assert!(
        trusted_line.contains("could not tell: not sent"),
        "{trusted_line}"
    );

    let mut requests = server.requests();
    requests.sort_by(|a, b| a.authorization.cmp(&b.authorization));
    let mut sent: Vec<&str> = tokens[..5].to_vec();
    sent.sort();
    assert_eq!(requests.len(), 5, "{requests:#?}");
    for (request, token) in requests.iter().zip(sent) {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/api/v1/me");
        assert_eq!(request.authorization.as_deref(), Some(token));
        let agent = request.user_agent.as_deref().unwrap_or_default();
        assert!(agent.starts_with("cio-hook/"), "{agent}");
    }
    assert_eq!(
        repo.git_ok(&["status", "--porcelain"]),
        "",
        "verify writes no file"
    );
}

#[test]
fn verify_checks_only_the_fingerprints_given() {
    let wanted = api_token(1511);
    let other = api_token(1512);
    let server = FakeCratesIo::start(&[(&wanted, Answer::Status(403, UNKNOWN_TOKEN))]);
    let repo = repo_with_history(&[&wanted, &other]);
    let run = with_server(
        &repo,
        &server.url,
        &["verify", &fingerprint(&wanted), "--history", "--yes"],
    );
    run.expect_code(0).expect_no_full_token(&[&wanted, &other]);
    assert!(
        result_line(&run, &wanted).contains("not live:"),
        "{}",
        run.all()
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].authorization.as_deref(), Some(wanted.as_str()));
}

#[test]
fn nothing_is_sent_without_a_yes() {
    let token = api_token(1521);
    let server = FakeCratesIo::start(&[]);
    let repo = repo_with_history(&[&token]);
    for command in [vec!["verify"], vec!["revoke", &fingerprint(&token)]] {
        let run = with_server(&repo, &server.url, &command);
        run.expect_code(2)
            .expect_no_full_token(&[&token])
            .expect_contains("no terminal to ask on: pass --yes");
    }
    // Standard input carries the text to scan, so it cannot answer a question either.
    let run = repo.cio_hook_with_input(
        &["verify", "--path", "-", "--api-url", &server.url],
        &format!("token = \"{token}\"\n"),
    );
    run.expect_code(2).expect_contains("pass --yes");
    assert_eq!(server.requests(), vec![]);
}

#[test]
fn a_question_on_a_terminal_decides_whether_anything_is_sent() {
    let token = api_token(1531);
    let server = FakeCratesIo::start(&[(&token, Answer::Status(403, WEBSITE_ONLY))]);
    let repo = repo_with_history(&[&token]);
    // `script` (util-linux) gives the command a pseudo-terminal, fed from our standard input.
    let on_terminal = |answer: &str| {
        let command_line = format!(
            "{} verify --api-url {}",
            common::binary().display(),
            server.url
        );
        common::run_with_input(
            common::clean_command("script", &repo.path).args(["-qec", &command_line, "/dev/null"]),
            answer,
        )
    };
    let declined = on_terminal("n\n");
    declined
        .expect_no_full_token(&[&token])
        .expect_contains("Send? [y/N]")
        .expect_contains("nothing sent");
    assert_eq!(server.requests(), vec![]);
    let accepted = on_terminal("y\n");
    accepted
        .expect_no_full_token(&[&token])
        .expect_contains("LIVE:");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn no_answer_in_time_and_no_connection_are_could_not_tell() {
    let slow = api_token(1541);
    let bad_request = api_token(1542);
    let redirected = api_token(1543);
    let server = FakeCratesIo::start(&[
        (&slow, Answer::Slow(403, WEBSITE_ONLY)),
        (&bad_request, Answer::Status(400, "token not provided")),
        (&redirected, Answer::Status(301, "moved")),
    ]);
    let repo = repo_with_history(&[&slow, &bad_request, &redirected]);
    let run = with_server(&repo, &server.url, &["verify", "--yes"]);
    run.expect_code(2)
        .expect_no_full_token(&[&slow, &bad_request, &redirected]);
    let moved = result_line(&run, &redirected);
    assert!(
        moved.contains("could not tell: unexpected answer 301"),
        "{moved}"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.path == "/api/v1/me"),
        "a redirect was followed: {:#?}",
        server.requests()
    );
    let timed_out = result_line(&run, &slow);
    assert!(
        timed_out.contains("could not tell: no answer in time"),
        "{timed_out}"
    );
    let refused = result_line(&run, &bad_request);
    assert!(
        refused.contains("could not tell: unexpected answer 400 \"token not provided\""),
        "{refused}"
    );

    let run = with_server(&repo, &refusing_url(), &["verify", "--yes"]);
    run.expect_code(2);
    assert!(
        result_line(&run, &slow).contains("could not tell: not sent"),
        "{}",
        run.all()
    );
}

#[test]
fn verify_refuses_plain_http_beyond_this_machine_and_mistaken_arguments() {
    let token = api_token(1551);
    let repo = repo_with_history(&[&token]);
    repo.cio_hook(&["verify", "--yes", "--api-url", "http://crates.io"])
        .expect_code(2)
        .expect_contains("plain http is accepted only for loopback addresses");
    // A token pasted where a fingerprint belongs is refused, and not echoed.
    let run = repo.cio_hook(&["verify", &token, "--yes"]);
    run.expect_code(2)
        .expect_no_full_token(&[&token])
        .expect_contains("is not a fingerprint");
    let absent = fingerprint(&api_token(1552));
    repo.cio_hook(&["verify", &absent, "--yes", "--api-url", &refusing_url()])
        .expect_code(2)
        .expect_contains(&format!("no token with fingerprint {absent}"));
}

#[test]
fn verify_writes_json_on_request() {
    let token = api_token(1561);
    let server = FakeCratesIo::start(&[(&token, Answer::Status(403, WEBSITE_ONLY))]);
    let repo = repo_with_history(&[&token]);
    let run = with_server(&repo, &server.url, &["verify", "--yes", "--format", "json"]);
    run.expect_code(1).expect_no_full_token(&[&token]);
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["command"], "verify");
    assert_eq!(document["tokens"][0]["fingerprint"], fingerprint(&token));
    assert_eq!(document["tokens"][0]["result"]["state"], "live");
}

#[test]
fn revoke_deletes_the_current_token_once() {
    let token = api_token(1571);
    let server = FakeCratesIo::start(&[(&token, Answer::Status(204, ""))]);
    let repo = repo_with_history(&[&token]);
    let run = revoke(&repo, &server.url, &token);
    run.expect_code(0)
        .expect_no_full_token(&[&token])
        .expect_contains("revoked: crates.io answered 204")
        .expect_contains("disappears from https://crates.io/settings/tokens");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].method, "DELETE");
    assert_eq!(requests[0].path, "/api/v1/tokens/current");
    assert_eq!(requests[0].authorization.as_deref(), Some(token.as_str()));
}

#[test]
fn revoke_of_a_scoped_token_points_to_the_tokens_page() {
    let token = api_token(1581);
    let server = FakeCratesIo::start(&[(&token, Answer::Status(403, MISSING_SCOPE))]);
    let repo = repo_with_history(&[&token]);
    let run = revoke(&repo, &server.url, &token);
    run.expect_code(1)
        .expect_no_full_token(&[&token])
        .expect_contains("LIVE, NOT revoked")
        .expect_contains("can only be revoked at https://crates.io/settings/tokens");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_lost_answer_is_an_unknown_outcome_and_never_retried() {
    let hang_up = api_token(1591);
    let slow = api_token(1592);
    let failing = api_token(1593);
    let server = FakeCratesIo::start(&[
        (&hang_up, Answer::HangUp),
        (&slow, Answer::Slow(204, "")),
        (&failing, Answer::Status(500, "internal server error")),
    ]);
    let repo = repo_with_history(&[&hang_up, &slow, &failing]);
    for token in [&hang_up, &slow, &failing] {
        let before = server.requests().len();
        let run = revoke(&repo, &server.url, token);
        run.expect_code(2)
            .expect_no_full_token(&[token])
            .expect_contains("outcome unknown")
            .expect_contains("check the token's page, https://crates.io/settings/tokens");
        let requests = server.requests();
        assert_eq!(
            requests.len(),
            before + 1,
            "one DELETE, never retried: {requests:#?}"
        );
    }
}

#[test]
fn revoke_without_a_connection_changed_nothing() {
    let token = api_token(1601);
    let repo = repo_with_history(&[&token]);
    let run = revoke(&repo, &refusing_url(), &token);
    run.expect_code(2)
        .expect_no_full_token(&[&token])
        .expect_contains("not revoked: not sent, nothing changed");
}

#[test]
fn revoke_of_a_trusted_publishing_token_uses_its_endpoint() {
    let token = trusted_publishing_token(1611);
    let server = FakeCratesIo::start(&[(&token, Answer::Status(204, ""))]);
    let repo = repo_with_history(&[&token]);
    let run = revoke(&repo, &server.url, &token);
    run.expect_code(0)
        .expect_no_full_token(&[&token])
        .expect_contains("revoked: crates.io answered 204");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].method, "DELETE");
    assert_eq!(requests[0].path, "/api/v1/trusted_publishing/tokens");
    assert_eq!(requests[0].authorization.as_deref(), Some(token.as_str()));
}

#[test]
fn hooks_and_scans_never_reach_the_network() {
    let token = api_token(1621);
    let server = FakeCratesIo::start(&[]);
    let repo = Repo::new();
    repo.install_hooks();
    repo.commit_file_unchecked("README.md", "# project\n", "start");
    let bare = repo.sibling("remote.git");
    repo.git_ok(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git_ok(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.commit_file_unchecked("ci.sh", &format!("TOKEN={token}\n"), "ci");
    // Variables a user might expect to switch network checks on: none does.
    let env = [
        ("CIO_HOOK_API_URL", server.url.as_str()),
        ("CIO_HOOK_VERIFY", "1"),
        ("CIO_HOOK_VALIDATE", "true"),
        ("CIO_HOOK_YES", "1"),
    ];
    let git = |args: &[&str]| {
        let mut command = common::clean_command("git", &repo.path);
        command.args(args).envs(env);
        Run::from_output(command.output().unwrap())
    };
    repo.write("more.sh", format!("TOKEN={token}\n"));
    repo.git_ok(&["add", "more.sh"]);
    git(&["commit", "-q", "-m", "more"]).expect_code(1);
    git(&["push", "-q", "origin", "main"]).expect_code(1);
    for args in [
        vec!["scan-history"],
        vec!["scan-staged"],
        vec!["scan-range", "HEAD"],
    ] {
        let mut command = common::clean_command(common::binary(), &repo.path);
        command.args(&args).envs(env);
        Run::from_output(command.output().unwrap()).expect_code(1);
    }
    assert_eq!(server.requests(), vec![]);
}

/// A certificate authority called `name`, made for one test, and a server configuration whose
/// certificate for 127.0.0.1 it signed. Returns the configuration and the authority's certificate
/// (PEM).
fn test_tls(name: &str) -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority
        .distinguished_name
        .push(DnType::CommonName, format!("cio-hook {name}"));
    let authority = CertifiedIssuer::self_signed(authority, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let certificate = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &authority)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certificate.der().clone()], key)
    .unwrap();
    (Arc::new(config), authority.pem())
}

#[test]
fn verify_speaks_https_and_trusts_only_the_system_store() {
    let token = api_token(1631);
    let (tls, authority) = test_tls("test authority");
    let server =
        FakeCratesIo::start_with(&[(&token, Answer::Status(403, WEBSITE_ONLY))], Some(tls));
    let repo = repo_with_history(&[&token]);
    // The system store, as rustls-native-certs reads it, is SSL_CERT_FILE when that is set.
    let store = repo.sibling("store.pem");
    let run_with_store = |pem: &str, args: &[&str]| {
        std::fs::write(&store, pem).unwrap();
        let mut command = common::clean_command(common::binary(), &repo.path);
        command
            .args(args)
            .args(["--yes", "--timeout", "5", "--api-url", &server.url])
            .env("SSL_CERT_FILE", &store)
            .env_remove("SSL_CERT_DIR");
        Run::from_output(command.output().unwrap())
    };
    let trusted = run_with_store(&authority, &["verify"]);
    trusted.expect_code(1).expect_no_full_token(&[&token]);
    assert!(
        result_line(&trusted, &token).contains("LIVE:"),
        "{}",
        trusted.all()
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].authorization.as_deref(), Some(token.as_str()));

    // A server whose certificate no authority in the store signed never sees the request.
    let (_, other_authority) = test_tls("other authority");
    let untrusted = run_with_store(&other_authority, &["verify"]);
    untrusted.expect_code(2).expect_no_full_token(&[&token]);
    let line = result_line(&untrusted, &token);
    assert!(line.contains("could not tell: not sent"), "{line}");
    assert!(line.contains("invalid peer certificate"), "{line}");
    let revoke = run_with_store(&other_authority, &["revoke", &fingerprint(&token)]);
    revoke
        .expect_code(2)
        .expect_contains("not revoked: not sent, nothing changed");
    assert_eq!(
        server.requests().len(),
        1,
        "no request over an untrusted connection"
    );
}

#[test]
fn a_secret_for_another_registry_is_never_sent_to_crates_io() {
    let token = api_token(1641);
    let corporate = format!("corp_{}", common::random_alphanumerics(1642, 24));
    let server = FakeCratesIo::start(&[(&token, Answer::Status(403, UNKNOWN_TOKEN))]);
    let repo = Repo::new();
    repo.commit_file_unchecked(
        "ci.env",
        &format!("CARGO_REGISTRY_TOKEN={token}\nCARGO_REGISTRIES_CORP_TOKEN={corporate}\n"),
        "ci",
    );
    let run = with_server(&repo, &server.url, &["verify", "--yes"]);
    run.expect_code(2)
        .expect_no_full_token(&[&token, &corporate])
        .expect_contains("not sent: not in crates.io's token format");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].authorization.as_deref(), Some(token.as_str()));

    let run = revoke(&repo, &server.url, &corporate);
    run.expect_code(2)
        .expect_no_full_token(&[&corporate])
        .expect_contains("revoke it where it was issued; nothing was sent");
    assert_eq!(server.requests().len(), 1);
}

/// In Git 3.0's formats (SHA-256 objects, reftable refs, both) verify finds the tokens in history
/// and in a range, and names the commit by the repository's own id.
#[test]
fn verify_reads_history_in_every_git_format() {
    for format in [
        &["--object-format=sha256"][..],
        &["--ref-format=reftable"],
        &["--object-format=sha256", "--ref-format=reftable"],
    ] {
        let live = api_token(1521);
        let revoked = api_token(1522);
        let server = FakeCratesIo::start(&[
            (&live, Answer::Status(403, WEBSITE_ONLY)),
            (&revoked, Answer::Status(403, UNKNOWN_TOKEN)),
        ]);
        let repo = Repo::in_format(format);
        repo.commit_file_unchecked("README.md", "# project\n", "start");
        repo.commit_file_unchecked("a.sh", &format!("T={live}\n"), "a");
        let revoked_commit = repo.commit_file_unchecked("b.sh", &format!("T={revoked}\n"), "b");
        let run = with_server(&repo, &server.url, &["verify", "--yes", "--history"]);
        run.expect_code(1)
            .expect_no_full_token(&[&live, &revoked])
            .expect_contains("1 live, 1 not live");
        assert!(result_line(&run, &live).contains("LIVE:"), "{}", run.all());
        let run = with_server(
            &repo,
            &server.url,
            &[
                "verify",
                "--yes",
                "--range",
                "HEAD~1..HEAD",
                "--format",
                "json",
            ],
        );
        run.expect_contains(&revoked_commit[..10]);
        assert!(
            !run.stdout.contains(&live[..10]),
            "{format:?}: {}",
            run.stdout
        );
        assert_eq!(server.requests().len(), 3, "{format:?}");
    }
}

#[test]
fn an_unknown_fingerprint_suggests_only_the_scopes_not_searched() {
    let token = api_token(1571);
    let repo = repo_with_history(&[&token]);
    let absent = fingerprint(&api_token(1572));
    let run = repo.cio_hook(&["verify", &absent, "--yes", "--api-url", &refusing_url()]);
    run.expect_code(2)
        .expect_contains(&format!("no token with fingerprint {absent} in "))
        .expect_contains("--staged, --range REVSPEC, --path PATH");
    assert!(!run.stderr.contains("--history"), "{}", run.stderr);
    let run = repo.cio_hook(&[
        "verify",
        &absent,
        "--staged",
        "--yes",
        "--api-url",
        &refusing_url(),
    ]);
    run.expect_code(2)
        .expect_contains("--range REVSPEC, --history, --path PATH");
}

#[test]
fn a_unique_fingerprint_prefix_is_enough_and_an_ambiguous_one_is_refused() {
    let wanted = api_token(1573);
    let server = FakeCratesIo::start(&[(&wanted, Answer::Status(403, UNKNOWN_TOKEN))]);
    // Two more tokens whose fingerprints share their first four hex digits (the shortest
    // prefix accepted, as for git's short ids), found by a birthday search.
    let wanted_start = fingerprint(&wanted)[..11].to_string();
    let mut by_start: HashMap<String, String> = HashMap::new();
    let mut others: Vec<String> = Vec::new();
    for seed in 1574.. {
        let token = api_token(seed);
        let start = fingerprint(&token)[..11].to_string();
        if start == wanted_start {
            continue;
        }
        if let Some(first) = by_start.insert(start, token.clone()) {
            others = vec![first, token];
            break;
        }
    }
    let mut all: Vec<&str> = vec![&wanted];
    all.extend(others.iter().map(String::as_str));
    let repo = repo_with_history(&all);
    let prefix = &fingerprint(&wanted)[..7 + 8];
    let run = with_server(&repo, &server.url, &["verify", prefix, "--yes"]);
    run.expect_code(0).expect_no_full_token(&all);
    assert!(
        result_line(&run, &wanted).contains("not live:"),
        "{}",
        run.all()
    );
    assert_eq!(server.requests().len(), 1);

    let shared = &fingerprint(&others[0])[..11];
    let run = with_server(&repo, &server.url, &["verify", shared, "--yes"]);
    run.expect_code(2)
        .expect_contains(&format!("{shared} is ambiguous: it starts 2 fingerprints"))
        .expect_contains(&fingerprint(&others[0]))
        .expect_contains(&fingerprint(&others[1]));
    assert_eq!(server.requests().len(), 1, "nothing more was sent");
}

#[test]
fn another_api_url_is_not_called_crates_io() {
    let token = api_token(1580);
    let server = FakeCratesIo::start(&[]);
    let repo = repo_with_history(&[&token]);
    let run = with_server(&repo, &server.url, &["verify"]);
    run.expect_code(2).expect_contains(&format!(
        "verify asks before sending a token to {}",
        server.url.trim_end_matches('/')
    ));
    assert!(!run.stderr.contains("to crates.io"), "{}", run.stderr);
}
