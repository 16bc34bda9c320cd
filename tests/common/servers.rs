//! Real git servers on 127.0.0.1 for push tests: a bare repository reached by path (git's own
//! receive-pack, quarantine included), `git daemon --enable=receive-pack` (git://), and
//! `git http-backend` behind lighttpd (smart HTTP). Each server is stopped when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{binary, clean_command, Run};

/// How a client reaches the server's repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A path: the client runs the server's `git receive-pack` directly.
    Local,
    /// `git daemon` on a free port (git://).
    Daemon,
    /// Smart HTTP: `git http-backend` as a CGI program of lighttpd.
    Http,
}

/// A bare repository `server.git` with the pre-receive hook installed, served over a transport.
pub struct GitServer {
    _dir: TempDir,
    /// The directory the server exports (holds `server.git`).
    pub root: PathBuf,
    /// The bare repository.
    pub repo: PathBuf,
    /// What a client pushes to.
    pub url: String,
    process: Option<Child>,
}

impl GitServer {
    /// Starts a server; panics with how to install the transport's software when it is missing
    /// (lighttpd is a Debian package that `.ci/run` installs), so a test that cannot run fails.
    pub fn start(transport: Transport) -> GitServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("srv");
        let repo = root.join("server.git");
        std::fs::create_dir_all(&root).unwrap();
        let git = |args: &[&str]| {
            let run = Run::from_output(clean_command("git", &root).args(args).output().unwrap());
            assert_eq!(run.code, 0, "git {args:?}: {}", run.all());
        };
        git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
        let install = Run::from_output(
            clean_command(binary(), &repo)
                .args(["install", "--pre-receive"])
                .output()
                .unwrap(),
        );
        install.expect_code(0);
        let mut server = GitServer {
            _dir: dir,
            url: repo.display().to_string(),
            root,
            repo,
            process: None,
        };
        match transport {
            Transport::Local => {}
            Transport::Daemon => {
                let port = free_port();
                // git-daemon itself, not `git daemon`: the `git` wrapper would leave its child
                // running when killed.
                let child = clean_command(git_exec_path().join("git-daemon"), &server.root)
                    .args([
                        "--reuseaddr",
                        "--listen=127.0.0.1",
                        &format!("--port={port}"),
                        &format!("--base-path={}", server.root.display()),
                        "--export-all",
                        "--enable=receive-pack",
                        "--informative-errors",
                    ])
                    .arg(&server.root)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("starting git daemon");
                server.process = Some(child);
                server.wait_for_port(port);
                server.url = format!("git://127.0.0.1:{port}/server.git");
            }
            Transport::Http => {
                server.git(&["config", "http.receivepack", "true"]);
                let port = free_port();
                let config = server.root.join("lighttpd.conf");
                std::fs::write(&config, lighttpd_config(&server.root, port)).unwrap();
                let child = match clean_command(lighttpd_program(), &server.root)
                    .args(["-D", "-f"])
                    .arg(&config)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                {
                    Ok(child) => child,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!(
                        "this smart HTTP test needs lighttpd, which is not installed: \
                         `apt-get install -y lighttpd` (Debian, Ubuntu), `brew install lighttpd` \
                         (macOS), `dnf install lighttpd` (Fedora); .ci/run installs it"
                    ),
                    Err(err) => panic!("starting lighttpd: {err}"),
                };
                server.process = Some(child);
                server.wait_for_port(port);
                server.url = format!("http://127.0.0.1:{port}/git/server.git");
            }
        }
        server
    }

    /// Runs git in the server's repository and panics unless it succeeds; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let run = Run::from_output(
            clean_command("git", &self.repo)
                .args(args)
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 0, "git {args:?} in the server: {}", run.all());
        run.stdout
    }

    /// The server's oid for `reference`, or `None` when it has no such ref.
    pub fn ref_oid(&self, reference: &str) -> Option<String> {
        let run = Run::from_output(
            clean_command("git", &self.repo)
                .args(["rev-parse", "-q", "--verify", reference])
                .output()
                .unwrap(),
        );
        (run.code == 0).then(|| run.stdout.trim().to_string())
    }

    /// Replaces the installed hook by a script (for hooks that wrap cio-hook).
    pub fn set_hook(&self, script: &str) {
        let path = self.repo.join("hooks").join("pre-receive");
        std::fs::write(&path, script).unwrap();
        make_executable(&path);
    }

    /// Waits until the server accepts connections on `port`; panics if it exits first.
    fn wait_for_port(&mut self, port: u16) {
        let started = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Some(status) = self.process.as_mut().unwrap().try_wait().unwrap() {
                panic!("the server exited before listening on port {port}: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(child) = self.process.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// lighttpd from PATH, or where Debian puts it (`/usr/sbin`, not on every user's PATH).
fn lighttpd_program() -> PathBuf {
    let debian = PathBuf::from("/usr/sbin/lighttpd");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("lighttpd")
    }
}

/// Where git keeps its programs (`git --exec-path`).
fn git_exec_path() -> PathBuf {
    let output = Command::new("git").arg("--exec-path").output().unwrap();
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// lighttpd running `git http-backend` for every repository under `root` (the setup of
/// git-http-backend(1)), with the binary under test on the hooks' PATH.
fn lighttpd_config(root: &Path, port: u16) -> String {
    let exec_path = git_exec_path();
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        binary().parent().unwrap().display()
    );
    format!(
        r#"server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{root}/lighttpd-error.log"
server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
alias.url = ("/git" => "{exec_path}/git-http-backend")
$HTTP["url"] =~ "^/git" {{
  cgi.assign = ("" => "")
  setenv.add-environment = (
    "GIT_PROJECT_ROOT" => "{root}",
    "GIT_HTTP_EXPORT_ALL" => "",
    "GIT_CONFIG_NOSYSTEM" => "1",
    "GIT_CONFIG_GLOBAL" => "/dev/null",
    "PATH" => "{path}"
  )
}}
"#,
        root = root.display(),
        exec_path = exec_path.display(),
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
