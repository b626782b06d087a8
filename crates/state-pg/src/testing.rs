//! A throwaway PostgreSQL server for tests: `initdb` into a temporary
//! directory, `postgres` on a Unix socket in it and a free TCP port on
//! 127.0.0.1, no fsync. One server per test process ([`server`]); each test
//! takes a database of its own ([`TestServer::fresh_dsn`]).
//!
//! The server is a child of a small shell that stops it when our end of
//! its stdin closes, i.e. when the test process exits however it exits, so
//! no server outlives its tests. PostgreSQL refuses to run as root: as uid
//! 0 everything runs as the `postgres` user (`runuser`), which owns the
//! directory.
//!
//! When PostgreSQL is not installed, [`server`] returns `None` after
//! printing a skip line, and panics naming the package under `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The Debian package that brings the server binaries.
pub const PACKAGE: &str = "postgresql";

/// A running server; stopped when the test process exits.
pub struct TestServer {
    dir: PathBuf,
    port: u16,
    _guard: Child,
    _tmp: tempfile::TempDir,
    next_db: AtomicUsize,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The process's server, started on first use; `None` (after a skip line)
/// when PostgreSQL is not installed and `CI` is not `true`.
pub fn server() -> Option<&'static TestServer> {
    static SERVER: OnceLock<Option<TestServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| match find_bindir() {
            Some(bin) => Some(TestServer::start(&bin).unwrap_or_else(|e| panic!("{e}"))),
            None if std::env::var("CI").as_deref() == Ok("true") => panic!(
                "PostgreSQL is not installed (no initdb in `pg_config --bindir` or \
                 /usr/lib/postgresql/*/bin); install the Debian package `{PACKAGE}` \
                 (scripts/install-peers.sh)"
            ),
            None => {
                eprintln!(
                    "SKIP: PostgreSQL is not installed; install the Debian package `{PACKAGE}` to run the PostgreSQL tests"
                );
                None
            }
        })
        .as_ref()
}

/// The directory holding `initdb` and `postgres`.
pub fn find_bindir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    // Newest major version first.
    versions.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    from_pg_config
        .into_iter()
        .chain(versions)
        .find(|b| b.join("initdb").is_file() && b.join("postgres").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as the `postgres` user when we are root.
fn command(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl TestServer {
    fn start(bin: &Path) -> Result<TestServer, String> {
        let root = is_root();
        let tmp = tempfile::Builder::new()
            .prefix("homeostat-pg-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let dir = tmp.path().to_path_buf();
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(format!(
                    "cannot give {} to the postgres user (PostgreSQL refuses to run as root)",
                    dir.display()
                ));
            }
        }
        let data = dir.join("data");
        let out = command(&bin.join("initdb"), root)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = free_port();
        let postgres = bin.join("postgres");
        // The shell stops the server (fast shutdown) once our end of its
        // stdin closes: when this process exits, however it exits.
        let script = format!(
            "\"{pg}\" -D \"{data}\" -k \"{dir}\" -p {port} \
             -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300 \
             >\"{dir}/postgres.log\" 2>&1 </dev/null & pid=$!; cat >/dev/null; \
             kill -INT $pid; wait $pid",
            pg = postgres.display(),
            data = data.display(),
            dir = dir.display(),
        );
        let guard = command(Path::new("/bin/sh"), root)
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("start postgres: {e}"))?;
        let server = TestServer {
            dir,
            port,
            _guard: guard,
            _tmp: tmp,
            next_db: AtomicUsize::new(0),
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match postgres::Client::connect(&self.dsn("postgres"), postgres::NoTls) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    let log =
                        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
                    return Err(format!("postgres did not start: {e}\n{log}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// A key=value DSN for database `db` over the Unix socket.
    pub fn dsn(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.dir.display(),
            self.port
        )
    }

    /// The TCP port (on 127.0.0.1) the server also listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new empty database and returns its DSN.
    pub fn fresh_dsn(&self) -> String {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let db = format!("t{}_{n}", std::process::id());
        let mut c = postgres::Client::connect(&self.dsn("postgres"), postgres::NoTls)
            .expect("connect to the test server");
        c.batch_execute(&format!("CREATE DATABASE {db}"))
            .expect("create database");
        self.dsn(&db)
    }
}
