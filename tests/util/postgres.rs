//! A real PostgreSQL server for the tests, from Debian's packages: initdb in a temporary
//! directory, the server on a free loopback port, run as the `postgres` user when the tests run
//! as root (PostgreSQL refuses root). Stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::{WAIT, free_port};

/// A running PostgreSQL server with a `chatd` database, trusting local connections.
pub struct Postgres {
    child: Child,
    bin: PathBuf,
    data: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program` with `args`, as the `postgres` user when the tests run as root.
fn command(program: &std::path::Path, args: &[&str]) -> Command {
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

impl Postgres {
    /// Starts a fresh server (about two seconds).
    pub fn start() -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL (make test installs Debian's postgresql)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        if as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = dir.path().join("data");
        let out = command(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let child = Self::spawn(&bin, &data, port, dir.path());
        let server = Postgres {
            child,
            bin,
            data,
            port,
            dir,
        };
        server
            .connect("postgres")
            .batch_execute("CREATE DATABASE chatd")
            .unwrap();
        server
    }

    fn spawn(
        bin: &std::path::Path,
        data: &std::path::Path,
        port: u16,
        dir: &std::path::Path,
    ) -> Child {
        command(
            &bin.join("postgres"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-p",
                &port.to_string(),
                "-k",
                dir.to_str().unwrap(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
    }

    /// A client of database `db`, once the server accepts connections.
    pub fn connect(&self, db: &str) -> postgres::Client {
        let deadline = Instant::now() + WAIT;
        loop {
            match postgres::Client::connect(
                &format!(
                    "host=127.0.0.1 port={} user=postgres dbname={db}",
                    self.port
                ),
                postgres::NoTls,
            ) {
                Ok(client) => return client,
                Err(e) if Instant::now() > deadline => panic!("PostgreSQL did not start: {e}"),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        }
    }

    /// Stops the server at once (its clients lose their connections).
    pub fn stop(&mut self) {
        let status = command(
            &self.bin.join("pg_ctl"),
            &["stop", "-D", self.data.to_str().unwrap(), "-m", "immediate"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
        assert!(status.success(), "pg_ctl stop");
        let _ = self.child.wait();
    }

    /// Starts the server again on the same data and port.
    pub fn resume(&mut self) {
        self.child = Self::spawn(&self.bin, &self.data, self.port, self.dir.path());
        drop(self.connect("chatd"));
    }

    /// The url of its `chatd` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/chatd", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = command(
            &self.bin.join("pg_ctl"),
            &["stop", "-D", self.data.to_str().unwrap(), "-m", "immediate"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
