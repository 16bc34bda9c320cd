//! cio-hook as a cargo credential provider: the last gate before `cargo publish` uploads.
//!
//! Cargo asks its credential provider for a token just before the upload, naming the crate,
//! the version and the SHA-256 of the tarball it built (protocol v1 of cargo's book, one JSON
//! line each way). This provider finds that exact tarball, scans every file in it, and refuses
//! to answer when it holds a token, so nothing is sent. Otherwise it answers with the token of
//! the source it wraps: `CARGO_REGISTRY_TOKEN` / `CARGO_REGISTRIES_<NAME>_TOKEN`, the cargo
//! credentials file, or an external provider program. The token is passed through, never
//! written anywhere else; `operation_independent: false` makes cargo ask again for each
//! operation, so a token fetched for reading is never reused to publish unchecked.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::package::{scan_packages, workspace_metadata, PackageSelection, PackagedCrate};
use crate::report::Report;
use crate::Scanner;

/// The protocol versions this provider speaks.
pub const HELLO: &str = r#"{"v":[1]}"#;

/// A request from cargo (only the fields this provider reads; others are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Request {
    pub v: u32,
    pub registry: RegistryInfo,
    pub kind: String,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub vers: Option<String>,
    #[serde(default)]
    pub cksum: Option<String>,
    /// The arguments after the program in cargo's `credential-provider` configuration.
    #[serde(default)]
    pub args: Vec<String>,
}

/// The registry a request is about.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegistryInfo {
    pub index_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Where the token this provider hands out comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// What `cargo:token` reads: the environment variable, then the credentials file.
    CargoToken,
    /// Another provider program (run with `--cargo-plugin`), with its arguments.
    Program(Vec<String>),
}

impl TokenSource {
    /// From the provider's arguments: none for [`TokenSource::CargoToken`], or
    /// `--wrap PROGRAM [ARGS…]`.
    pub fn from_args(args: &[String]) -> Result<TokenSource> {
        match args {
            [] => Ok(TokenSource::CargoToken),
            [flag, program @ ..] if flag == "--wrap" && !program.is_empty() => {
                Ok(TokenSource::Program(program.to_vec()))
            }
            _ => bail!(
                "unknown credential-provider arguments (expected nothing, or `--wrap PROGRAM \
                 [ARGS…]`)"
            ),
        }
    }
}

/// Answers one request: the response line for cargo (the token only inside it). Refusals and
/// failures are `Err` responses whose message cargo shows.
pub fn respond(request: &Request, scanner: &Scanner) -> Value {
    match answer(request, scanner) {
        Ok(response) => response,
        Err(err) => json!({ "Err": {
            "kind": "other",
            "message": format!("cio-hook: {}", crate::redact::redact_text(format!("{err:#}").as_bytes())),
        }}),
    }
}

fn answer(request: &Request, scanner: &Scanner) -> Result<Value> {
    if request.v != 1 {
        bail!("unsupported credential protocol version {}", request.v);
    }
    if request.kind != "get" {
        return Ok(json!({ "Err": { "kind": "operation-not-supported" } }));
    }
    let source = TokenSource::from_args(&request.args)?;
    if request.operation.as_deref() == Some("publish") {
        let (Some(name), Some(vers), Some(cksum)) = (&request.name, &request.vers, &request.cksum)
        else {
            bail!("a publish request without name, vers and cksum: refusing the token");
        };
        check_tarball(name, vers, cksum, scanner)?;
    }
    match source {
        TokenSource::CargoToken => match cargo_token(&request.registry)? {
            Some(token) => Ok(json!({ "Ok": {
                "kind": "get",
                "token": token,
                "cache": "never",
                "operation_independent": false,
            }})),
            None => Ok(json!({ "Err": { "kind": "not-found" } })),
        },
        TokenSource::Program(program) => ask_program(&program, request),
    }
}

/// Finds the tarball cargo is about to upload (by its SHA-256) and refuses when it holds a
/// token. A tarball that cannot be found is refused too: the gate fails closed.
fn check_tarball(name: &str, vers: &str, cksum: &str, scanner: &Scanner) -> Result<()> {
    let metadata = workspace_metadata(&PackageSelection::default()).ok();
    let mut target_dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        target_dirs.push(PathBuf::from(dir));
    }
    if let Some(metadata) = &metadata {
        target_dirs.push(metadata.target_directory.clone());
    }
    target_dirs.push(PathBuf::from("target"));
    let file_name = format!("{name}-{vers}.crate");
    let candidates: Vec<PathBuf> = target_dirs
        .iter()
        .flat_map(|dir| {
            [
                dir.join("package/tmp-crate").join(&file_name),
                dir.join("package").join(&file_name),
            ]
        })
        .collect();
    let found = candidates.iter().find_map(|path| {
        let bytes = std::fs::read(path).ok()?;
        (hex(&Sha256::digest(&bytes)) == cksum.to_ascii_lowercase()).then_some((path, bytes))
    });
    let Some((path, tarball)) = found else {
        bail!(
            "cannot find the tarball of {name} {vers} with SHA-256 {cksum} (looked for {} under \
             {}): refusing the token, since what would be published cannot be checked",
            file_name,
            target_dirs
                .iter()
                .map(|dir| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let package = metadata
        .and_then(|metadata| {
            metadata
                .packages
                .into_iter()
                .find(|package| package.name == name && package.version == vers)
        })
        .with_context(|| format!("{name} {vers} is not a package of this workspace"))?;
    let krate = PackagedCrate::new(package, tarball)?;
    let report = scan_packages(scanner, std::slice::from_ref(&krate))?;
    if report.blocks() {
        write_report_to_stderr(&report);
        let first = report.blocking().next().expect("a blocking finding");
        bail!(
            "not publishing {name} {vers}: {} holds a crates.io token at {}{} (nothing was \
             sent; `cio-hook scan-package` shows every finding)",
            path.display(),
            first.location(),
            first
                .packaged
                .as_ref()
                .map(|packaged| format!(", {}", packaged.why))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// The full report, for the person running `cargo publish` (cargo shows the provider's
/// standard error; standard output is the protocol's).
fn write_report_to_stderr(report: &Report) {
    let mut err = std::io::stderr().lock();
    let _ = crate::report::text::write_report(&mut err, report);
    let _ = err.flush();
}

/// The token `cargo:token` would give: `CARGO_REGISTRY_TOKEN` for crates.io (or
/// `CARGO_REGISTRIES_<NAME>_TOKEN`), then `token` in `$CARGO_HOME/credentials.toml` (or
/// `credentials`).
pub fn cargo_token(registry: &RegistryInfo) -> Result<Option<String>> {
    let name = registry.name.as_deref().filter(|name| *name != "crates-io");
    let variable = match name {
        None => "CARGO_REGISTRY_TOKEN".to_string(),
        Some(name) => format!(
            "CARGO_REGISTRIES_{}_TOKEN",
            name.to_ascii_uppercase().replace('-', "_")
        ),
    };
    if let Some(token) = std::env::var(&variable)
        .ok()
        .filter(|token| !token.is_empty())
    {
        return Ok(Some(token));
    }
    let Some(home) = cargo_home() else {
        return Ok(None);
    };
    for file in ["credentials.toml", "credentials"] {
        let path = home.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let table: toml::Table = toml::from_str(&text)
            .map_err(|_| anyhow::anyhow!("{} is not valid TOML", path.display()))?;
        let section = match name {
            None => table.get("registry"),
            Some(name) => table.get("registries").and_then(|all| all.get(name)),
        };
        if let Some(token) = section
            .and_then(|section| section.get("token"))
            .and_then(|token| token.as_str())
        {
            return Ok(Some(token.to_string()));
        }
    }
    Ok(None)
}

fn cargo_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo"))
}

/// Asks the wrapped provider program, speaking the same protocol to it, and passes its answer
/// on with caching off.
fn ask_program(program: &[String], request: &Request) -> Result<Value> {
    let (path, args) = program.split_first().expect("a program");
    let mut child = Command::new(path)
        .arg("--cargo-plugin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting the wrapped credential provider {path}"))?;
    let mut output = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    output
        .read_line(&mut line)
        .with_context(|| format!("reading {path}'s hello"))?;
    let hello: Value =
        serde_json::from_str(&line).with_context(|| format!("{path} sent no protocol hello"))?;
    if !hello["v"]
        .as_array()
        .is_some_and(|versions| versions.contains(&json!(1)))
    {
        bail!("{path} does not speak credential protocol version 1");
    }
    let mut forwarded = json!({
        "v": 1,
        "registry": request.registry,
        "kind": request.kind,
        "args": args,
    });
    for (key, value) in [
        ("operation", &request.operation),
        ("name", &request.name),
        ("vers", &request.vers),
        ("cksum", &request.cksum),
    ] {
        if let Some(value) = value {
            forwarded[key] = json!(value);
        }
    }
    {
        let mut input = child.stdin.take().expect("piped");
        writeln!(input, "{forwarded}").with_context(|| format!("writing to {path}"))?;
    }
    line.clear();
    output
        .read_line(&mut line)
        .with_context(|| format!("reading {path}'s answer"))?;
    let _ = child.wait();
    let mut answer: Value = serde_json::from_str(&line)
        .map_err(|_| anyhow::anyhow!("{path} answered with something other than JSON"))?;
    if let Some(ok) = answer.get_mut("Ok").and_then(Value::as_object_mut) {
        ok.insert("cache".into(), json!("never"));
        ok.remove("expiration");
        ok.insert("operation_independent".into(), json!(false));
    }
    Ok(answer)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_the_wrapped_source() {
        assert_eq!(
            TokenSource::from_args(&[]).unwrap(),
            TokenSource::CargoToken
        );
        let args = ["--wrap", "cargo-credential-1password", "--account", "me"].map(String::from);
        assert_eq!(
            TokenSource::from_args(&args).unwrap(),
            TokenSource::Program(args[1..].to_vec())
        );
        assert!(TokenSource::from_args(&["--wrap".to_string()]).is_err());
        assert!(TokenSource::from_args(&["cargo:token".to_string()]).is_err());
    }

    #[test]
    fn requests_parse_as_cargo_sends_them() {
        let line = r#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:1/index/","name":"local","headers":[]},"kind":"get","operation":"publish","name":"pkg","vers":"0.1.0","cksum":"ab","args":[]}"#;
        let request: Request = serde_json::from_str(line).unwrap();
        assert_eq!(request.operation.as_deref(), Some("publish"));
        assert_eq!(request.registry.name.as_deref(), Some("local"));
        assert_eq!(request.cksum.as_deref(), Some("ab"));
    }
}
