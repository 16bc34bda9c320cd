//! The only network code in cio-hook: asking crates.io whether a token is live, and revoking it.
//!
//! Nothing here runs unless a person asks for it with `verify` or `revoke`; no hook and no
//! environment variable reaches this module. Requests go over HTTPS (rustls, certificates from the
//! system's store); plain HTTP is accepted only for loopback addresses, for tests. The token is
//! sent in the `Authorization` header only, never logged, and never part of an outcome: outcomes
//! quote crates.io's answer, which is redacted before it is kept.
//!
//! crates.io's answers, from its source (`src/auth.rs`): a token it does not know, or that was
//! revoked or expired, gets 403 "authentication failed"; a live token used where tokens are not
//! accepted gets 403 "this action can only be performed on the crates.io website", and a live
//! token without the scope an endpoint needs gets 403 "this token does not have the required
//! permissions to perform this action". A token not in crates.io's format gets 401.

use std::time::Duration;

use serde::Serialize;

use crate::detect::rules::trusted_publishing_checksum;
use crate::redact::redact_text;

/// Where crates.io's API is unless `--api-url` says otherwise.
pub const DEFAULT_API_URL: &str = "https://crates.io";

/// The page where a person sees a token's "last used" time and revokes it by hand.
pub const TOKENS_PAGE: &str = "https://crates.io/settings/tokens";

/// How long to wait for each step of a request (connecting, sending, the answer) by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The read-only check: cookie-only, so a token is always refused, and the refusal tells its state.
const CHECK_PATH: &str = "/api/v1/me";
/// Revokes the API token presented.
const REVOKE_API_TOKEN_PATH: &str = "/api/v1/tokens/current";
/// Revokes the Trusted Publishing token presented.
const REVOKE_TRUSTED_PUBLISHING_PATH: &str = "/api/v1/trusted_publishing/tokens";

const DETAIL_UNKNOWN_TOKEN: &str = "authentication failed";
const DETAIL_WEBSITE_ONLY: &str = "this action can only be performed on the crates.io website";
const DETAIL_MISSING_SCOPE: &str =
    "this token does not have the required permissions to perform this action";

/// Why a secret that is not in crates.io's format is never sent there.
const NOT_A_CRATES_IO_TOKEN: &str = "not sent: not in crates.io's token format (a secret for \
     another registry, say), so crates.io can say nothing about it; check or revoke it where it \
     was issued";

/// The most of an answer's body that is read.
const MAX_BODY_BYTES: u64 = 64 * 1024;
/// The most of crates.io's error detail quoted in an outcome.
const MAX_QUOTED_CHARS: usize = 200;

/// The two kinds of crates.io credential, which are revoked at different endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `cio` and 32 alphanumerics: what `cargo login` and `cargo publish` use.
    Api,
    /// `cio_tp_…`: short-lived, issued to CI by Trusted Publishing.
    TrustedPublishing,
}

impl TokenKind {
    /// The kind of a secret in one of crates.io's exact formats; `None` for anything else (a
    /// token for another registry, found in a cargo variable or credentials file), which must
    /// never be sent to crates.io.
    pub fn of(token: &[u8]) -> Option<TokenKind> {
        let alphanumeric = |bytes: &[u8]| bytes.iter().all(u8::is_ascii_alphanumeric);
        if let Some(body) = token.strip_prefix(b"cio_tp_") {
            let (random, checksum) = body.split_at_checked(31)?;
            let valid = alphanumeric(body)
                && checksum.len() == 1
                && checksum[0] == trusted_publishing_checksum(random);
            return valid.then_some(TokenKind::TrustedPublishing);
        }
        let body = token.strip_prefix(b"cio")?;
        (body.len() == 32 && alphanumeric(body)).then_some(TokenKind::Api)
    }
}

/// What `verify` learned about one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Liveness {
    /// crates.io knows the token and it still works.
    Live { why: String },
    /// crates.io does not accept the token: unknown, revoked, expired, or not in its format.
    NotLive { why: String },
    /// No answer that settles it; `why` says what happened. Never a guess either way.
    Unknown { why: String },
}

/// What `revoke` achieved for one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Revocation {
    /// crates.io confirmed that the token no longer works.
    Revoked { why: String },
    /// crates.io does not accept the token, so there is nothing to revoke.
    NotLive { why: String },
    /// The token is live but crates.io refused to revoke it through the API (a scoped token):
    /// only the tokens page can.
    LiveNotRevoked { why: String },
    /// The request was not sent (no connection): nothing changed.
    NotSent { why: String },
    /// The request may have reached crates.io but its answer did not settle the outcome.
    OutcomeUnknown { why: String },
}

/// Why the `--api-url` given cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrlError(String);

impl std::fmt::Display for ApiUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ApiUrlError {}

/// A validated API base URL: `https://HOST[:PORT][/PATH]`, or `http://` to a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrl {
    base: String,
    loopback: bool,
}

impl ApiUrl {
    /// Checks `text`: HTTPS anywhere, plain HTTP only to 127.0.0.0/8, `[::1]` or `localhost`, and
    /// no user name, password, query or fragment (the token goes in a header, nowhere else).
    pub fn parse(text: &str) -> Result<ApiUrl, ApiUrlError> {
        let invalid = |why: &str| ApiUrlError(format!("--api-url {text:?}: {why}"));
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("not a URL such as https://crates.io"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        if rest.contains(['@', '?', '#']) || rest.chars().any(|c| c.is_whitespace()) {
            return Err(invalid(
                "user names, passwords, queries, fragments and spaces are not accepted",
            ));
        }
        let host = match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(invalid(
                    "plain http is accepted only for loopback addresses (tests); use https",
                ))
            }
            _ => return Err(invalid("the scheme must be https")),
        }
        Ok(ApiUrl {
            base: text.trim_end_matches('/').to_string(),
            loopback,
        })
    }

    /// The URL of an API path such as `/api/v1/me`.
    fn join(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl std::fmt::Display for ApiUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)
    }
}

/// A client for crates.io's API, for one command's requests.
pub struct Client {
    agent: ureq::Agent,
    api_url: ApiUrl,
}

/// How one request ended, before it is read as a liveness or revocation outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exchange {
    /// An answer arrived: its status and the error details of its JSON body (`None` when the
    /// body is not crates.io's error JSON).
    Answered {
        status: u16,
        details: Option<Vec<String>>,
    },
    /// No connection was made, so nothing was sent.
    NotSent(String),
    /// The request may have been sent, but no complete answer came.
    Lost(String),
}

impl Client {
    /// A client for `api_url` that waits at most `timeout` for each step of a request.
    /// `command` names the command in the User-Agent (`cio-hook/0.1.0 (+verify)`).
    pub fn new(api_url: ApiUrl, timeout: Duration, command: &str) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let step = Some(timeout);
        let mut config = ureq::Agent::config_builder()
            .tls_config(tls)
            .user_agent(format!(
                "cio-hook/{} (+{command})",
                env!("CARGO_PKG_VERSION")
            ))
            .http_status_as_error(false)
            // A redirect would carry the request (and the header) somewhere else: never follow.
            .max_redirects(0)
            .max_redirects_will_error(false)
            // Every request on a fresh connection: a DELETE must never be resent on a stale one.
            .max_idle_connections(0)
            .timeout_resolve(step)
            .timeout_connect(step)
            .timeout_send_request(step)
            .timeout_recv_response(step)
            .timeout_recv_body(step);
        if api_url.loopback {
            // Tests talk to a server on this machine; a proxy from the environment must not
            // stand in between.
            config = config.proxy(None);
        }
        Client {
            agent: config.build().new_agent(),
            api_url,
        }
    }

    /// Asks crates.io whether `token` is live, read-only. Trusted Publishing tokens are not sent:
    /// crates.io has no read-only endpoint that accepts them, and its API-token check would
    /// answer "authentication failed" for a live one.
    pub fn check(&self, token: &[u8]) -> Liveness {
        match TokenKind::of(token) {
            Some(TokenKind::Api) => liveness(&self.send("GET", CHECK_PATH, token)),
            Some(TokenKind::TrustedPublishing) => Liveness::Unknown {
                why: "not sent: crates.io has no read-only check for Trusted Publishing tokens; \
                      they expire 30 minutes after they were issued; to be sure, revoke it"
                    .to_string(),
            },
            None => Liveness::Unknown {
                why: NOT_A_CRATES_IO_TOKEN.to_string(),
            },
        }
    }

    /// Revokes `token` with one DELETE, never retried.
    pub fn revoke(&self, token: &[u8]) -> Revocation {
        match TokenKind::of(token) {
            None => Revocation::NotSent {
                why: NOT_A_CRATES_IO_TOKEN.to_string(),
            },
            Some(TokenKind::Api) => {
                api_token_revocation(&self.send("DELETE", REVOKE_API_TOKEN_PATH, token))
            }
            Some(TokenKind::TrustedPublishing) => trusted_publishing_revocation(&self.send(
                "DELETE",
                REVOKE_TRUSTED_PUBLISHING_PATH,
                token,
            )),
        }
    }

    /// Sends one request with the token in the `Authorization` header.
    fn send(&self, method: &str, path: &str, token: &[u8]) -> Exchange {
        let Ok(token) = std::str::from_utf8(token) else {
            return Exchange::NotSent("the token is not valid UTF-8".to_string());
        };
        let url = self.api_url.join(path);
        let result = match method {
            "GET" => self.agent.get(&url).header("Authorization", token).call(),
            _ => self
                .agent
                .delete(&url)
                .header("Authorization", token)
                .call(),
        };
        let mut response = match result {
            Ok(response) => response,
            Err(err) => return failed_exchange(&err),
        };
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec();
        match body {
            Ok(body) => Exchange::Answered {
                status,
                details: error_details(&body),
            },
            Err(err) => Exchange::Lost(format!(
                "the answer ({status}) broke off: {}",
                describe_error(&err)
            )),
        }
    }
}

/// Sorts a failed request into "not sent" (no connection was made) and "lost" (it may have
/// been sent). In doubt, lost: a DELETE that may have arrived must not be reported as harmless.
fn failed_exchange(err: &ureq::Error) -> Exchange {
    use ureq::Error;
    use ureq::Timeout;
    let not_sent = match err {
        Error::Timeout(Timeout::Resolve | Timeout::Connect) => true,
        Error::HostNotFound
        | Error::BadUri(_)
        | Error::ConnectionFailed
        | Error::InvalidProxyUrl
        | Error::Tls(_) => true,
        Error::Io(io) => {
            matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable
            ) || io.to_string().starts_with("failed to lookup address")
                || failed_handshake(io)
        }
        _ => false,
    };
    let why = describe_error(err);
    if not_sent {
        Exchange::NotSent(why)
    } else {
        Exchange::Lost(why)
    }
}

/// Whether an I/O error is a TLS handshake that failed (an untrusted certificate, say): the
/// request is sent only after the handshake, so it was not.
fn failed_handshake(io: &std::io::Error) -> bool {
    use rustls::Error;
    io.get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
        .is_some_and(|tls| {
            matches!(
                tls,
                Error::InvalidCertificate(_)
                    | Error::NoCertificatesPresented
                    | Error::PeerIncompatible(_)
                    | Error::InappropriateHandshakeMessage { .. }
                    | Error::UnsupportedNameType
            )
        })
}

/// One line about a failed request, with any token-shaped text redacted.
fn describe_error(err: &ureq::Error) -> String {
    let text = match err {
        ureq::Error::Timeout(_) => format!("no answer in time ({err})"),
        ureq::Error::Io(io) => io.to_string(),
        _ => err.to_string(),
    };
    redact_text(text.replace('\n', " ").as_bytes())
}

/// The `detail` strings of crates.io's error body `{"errors":[{"detail":"…"}]}`.
fn error_details(body: &[u8]) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<Detail>,
    }
    #[derive(serde::Deserialize)]
    struct Detail {
        detail: String,
    }
    let body: Body = serde_json::from_slice(body).ok()?;
    Some(body.errors.into_iter().map(|error| error.detail).collect())
}

/// `403 "detail"` for messages: the status and crates.io's first detail, redacted and shortened.
fn quote(status: u16, details: &Option<Vec<String>>) -> String {
    match details.as_deref() {
        Some([first, ..]) => {
            let mut detail = redact_text(first.as_bytes()).replace('\n', " ");
            if detail.chars().count() > MAX_QUOTED_CHARS {
                detail = detail.chars().take(MAX_QUOTED_CHARS).collect::<String>() + "…";
            }
            format!("{status} {detail:?}")
        }
        Some([]) => format!("{status} with no error detail"),
        None => format!("{status} with a body that is not crates.io's error JSON"),
    }
}

fn has_detail(details: &Option<Vec<String>>, wanted: &str) -> bool {
    details
        .as_deref()
        .is_some_and(|details| details.iter().any(|detail| detail == wanted))
}

/// Whether a 403's details prove the token live: crates.io found it, then refused the request
/// (a website-only endpoint, or a scope the token lacks).
fn recognises_token(details: &Option<Vec<String>>) -> bool {
    has_detail(details, DETAIL_WEBSITE_ONLY) || has_detail(details, DETAIL_MISSING_SCOPE)
}

/// Reads the answer to `GET /api/v1/me`.
fn liveness(exchange: &Exchange) -> Liveness {
    let (status, details) = match exchange {
        Exchange::Answered { status, details } => (*status, details),
        Exchange::NotSent(why) => {
            return Liveness::Unknown {
                why: format!("not sent: {why}"),
            }
        }
        Exchange::Lost(why) => {
            return Liveness::Unknown {
                why: why.to_string(),
            }
        }
    };
    let answer = quote(status, details);
    match status {
        403 if recognises_token(details) => Liveness::Live {
            why: format!("crates.io recognised the token and refused the request: {answer}"),
        },
        403 if has_detail(details, DETAIL_UNKNOWN_TOKEN) => Liveness::NotLive {
            why: format!("unknown, revoked or expired: {answer}"),
        },
        401 => Liveness::NotLive {
            why: format!("crates.io refuses the token's format: {answer}"),
        },
        _ => Liveness::Unknown {
            why: format!("unexpected answer {answer}"),
        },
    }
}

/// Reads the answer to `DELETE /api/v1/tokens/current`.
fn api_token_revocation(exchange: &Exchange) -> Revocation {
    let (status, details) = match lost_or_answer(exchange) {
        Ok(answer) => answer,
        Err(revocation) => return revocation,
    };
    let answer = quote(status, details);
    match status {
        204 => Revocation::Revoked {
            why: "crates.io answered 204: revoked".to_string(),
        },
        403 if recognises_token(details) => Revocation::LiveNotRevoked {
            why: format!(
                "the token is live, but crates.io refused to revoke it through the API \
                     ({answer}): a scoped token can only be revoked at {TOKENS_PAGE}"
            ),
        },
        403 if has_detail(details, DETAIL_UNKNOWN_TOKEN) => Revocation::NotLive {
            why: format!("already revoked, expired or unknown to crates.io: {answer}"),
        },
        401 => Revocation::NotLive {
            why: format!("crates.io refuses the token's format: {answer}"),
        },
        _ => Revocation::OutcomeUnknown {
            why: format!("unexpected answer {answer}; check the token's page, {TOKENS_PAGE}"),
        },
    }
}

/// Reads the answer to `DELETE /api/v1/trusted_publishing/tokens`, which is 204 whether the token
/// was live or had already expired.
fn trusted_publishing_revocation(exchange: &Exchange) -> Revocation {
    let (status, details) = match lost_or_answer(exchange) {
        Ok(answer) => answer,
        Err(revocation) => return revocation,
    };
    match status {
        204 => Revocation::Revoked {
            why: "crates.io answered 204: the token no longer works (crates.io gives the same \
                  answer whether it revoked it now or it had already expired)"
                .to_string(),
        },
        401 => Revocation::NotLive {
            why: format!(
                "crates.io refuses the token's format: {}",
                quote(status, details)
            ),
        },
        _ => Revocation::OutcomeUnknown {
            why: format!(
                "unexpected answer {}; check the crate's Trusted Publishing settings on crates.io",
                quote(status, details)
            ),
        },
    }
}

/// The status and details of an answer, or the revocation outcome when there was none.
fn lost_or_answer(exchange: &Exchange) -> Result<(u16, &Option<Vec<String>>), Revocation> {
    match exchange {
        Exchange::Answered { status, details } => Ok((*status, details)),
        Exchange::NotSent(why) => Err(Revocation::NotSent {
            why: format!("not sent, nothing changed: {why}"),
        }),
        Exchange::Lost(why) => Err(Revocation::OutcomeUnknown {
            why: format!("{why}; outcome unknown, check the token's page, {TOKENS_PAGE}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, detail: &str) -> Exchange {
        Exchange::Answered {
            status,
            details: error_details(format!(r#"{{"errors":[{{"detail":"{detail}"}}]}}"#).as_bytes()),
        }
    }

    #[test]
    fn the_three_403_details_tell_live_from_dead() {
        assert!(matches!(
            liveness(&answered(403, DETAIL_WEBSITE_ONLY)),
            Liveness::Live { .. }
        ));
        assert!(matches!(
            liveness(&answered(403, DETAIL_MISSING_SCOPE)),
            Liveness::Live { .. }
        ));
        assert!(matches!(
            liveness(&answered(403, DETAIL_UNKNOWN_TOKEN)),
            Liveness::NotLive { .. }
        ));
        assert!(matches!(
            liveness(&answered(
                401,
                "The given API token does not match the format"
            )),
            Liveness::NotLive { .. }
        ));
    }

    #[test]
    fn anything_else_is_never_a_guess() {
        for exchange in [
            answered(403, "this action requires authentication"),
            answered(400, "token not provided"),
            answered(500, "internal server error"),
            answered(200, "ok"),
            Exchange::Answered {
                status: 403,
                details: error_details(b"<html>forbidden</html>"),
            },
            Exchange::NotSent("refused".to_string()),
            Exchange::Lost("timed out".to_string()),
        ] {
            assert!(
                matches!(liveness(&exchange), Liveness::Unknown { .. }),
                "{exchange:?}"
            );
        }
    }

    #[test]
    fn a_lost_delete_is_an_unknown_outcome() {
        assert!(matches!(
            api_token_revocation(&answered(204, "")),
            Revocation::Revoked { .. }
        ));
        assert!(matches!(
            api_token_revocation(&answered(403, DETAIL_MISSING_SCOPE)),
            Revocation::LiveNotRevoked { .. }
        ));
        assert!(matches!(
            api_token_revocation(&Exchange::Lost("reset".to_string())),
            Revocation::OutcomeUnknown { .. }
        ));
        assert!(matches!(
            api_token_revocation(&Exchange::NotSent("refused".to_string())),
            Revocation::NotSent { .. }
        ));
        assert!(matches!(
            api_token_revocation(&answered(400, "token not provided")),
            Revocation::OutcomeUnknown { .. }
        ));
        assert!(matches!(
            trusted_publishing_revocation(&answered(204, "")),
            Revocation::Revoked { .. }
        ));
    }

    #[test]
    fn only_crates_io_formats_are_sent() {
        let api = ["cio", "AbCdEfGhIjKlMnOpQrStUvWxYz012345"].concat();
        let trusted = ["cio_tp_", "gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd"].concat();
        assert_eq!(TokenKind::of(api.as_bytes()), Some(TokenKind::Api));
        assert_eq!(
            TokenKind::of(trusted.as_bytes()),
            Some(TokenKind::TrustedPublishing)
        );
        let bad_checksum = ["cio_tp_", "gGK6jurSwKyl9V3Az19z7YEFQI9aoOOe"].concat();
        for other in [
            bad_checksum.as_str(),
            "corp_9f8e7d6c5b4a39281706",
            &api[..34],
            &format!("{api}x"),
            "cio_tp_short",
        ] {
            assert_eq!(TokenKind::of(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn quoted_details_are_redacted() {
        let token = ["cio", "AbCdEfGhIjKlMnOpQrStUvWxYz012345"].concat();
        let why = quote(403, &Some(vec![format!("bad token {token}")]));
        assert!(!why.contains(&token), "{why}");
        assert!(why.contains("cioAbCd…2345"), "{why}");
    }

    #[test]
    fn api_urls_are_https_or_loopback() {
        assert!(ApiUrl::parse("https://crates.io").is_ok());
        assert!(ApiUrl::parse("https://mirror.example/registry/").is_ok());
        assert!(ApiUrl::parse("http://127.0.0.1:8080").unwrap().loopback);
        assert!(ApiUrl::parse("http://[::1]:8080").is_ok());
        assert!(ApiUrl::parse("http://localhost:1").is_ok());
        assert!(ApiUrl::parse("http://crates.io").is_err());
        assert!(ApiUrl::parse("http://127.0.0.1.example").is_err());
        assert!(ApiUrl::parse("https://user:pw@crates.io").is_err());
        assert!(ApiUrl::parse("ftp://crates.io").is_err());
        assert!(ApiUrl::parse("crates.io").is_err());
        assert_eq!(
            ApiUrl::parse("https://crates.io/")
                .unwrap()
                .join(CHECK_PATH),
            "https://crates.io/api/v1/me"
        );
    }
}
