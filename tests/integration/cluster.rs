//! Private PostgreSQL clusters under `target/` for the tests that need a server set up
//! in a way the shared one is not: a primary with a streaming replica
//! (`pg_basebackup -R`). Each is stopped, and its files removed, when dropped, whatever
//! the test did.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A PostgreSQL program: the newest installed version's, else from `PATH`.
pub fn pg_bin(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|v| v.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort_by_key(|p| {
        p.components()
            .nth(4)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
    });
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as `postgres` when the tests run as root (PostgreSQL and PgBouncer
/// refuse root), as the current user otherwise.
pub fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A folder under `target/` that the `postgres` user may write, removed when dropped
/// (declare it before what lives in it: it is dropped after).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(what: &str) -> Scratch {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("pg-tests")
            .join(format!("{what}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            run({
                let mut c = Command::new("chown");
                c.arg("postgres").arg(&dir);
                c
            });
        }
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running cluster on 127.0.0.1:`port`, stopped when dropped.
pub struct Cluster {
    pub data: PathBuf,
    pub port: u16,
    running: bool,
}

impl Cluster {
    /// A new primary (`initdb`, trust for local connections and replication).
    pub fn primary(scratch: &Scratch, name: &str) -> Cluster {
        let data = scratch.0.join(name);
        let mut initdb = as_postgres(&pg_bin("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        run(initdb);
        let mut c = Cluster {
            data,
            port: free_port(),
            running: false,
        };
        c.start();
        c
    }

    /// A streaming replica of `primary` (`pg_basebackup -R`), started.
    pub fn replica_of(primary: &Cluster, scratch: &Scratch, name: &str) -> Cluster {
        let data = scratch.0.join(name);
        let mut backup = as_postgres(&pg_bin("pg_basebackup"));
        backup
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ])
            .arg("-p")
            .arg(primary.port.to_string())
            .arg("-D")
            .arg(&data);
        run(backup);
        let mut c = Cluster {
            data,
            port: free_port(),
            running: false,
        };
        c.start();
        c
    }

    pub fn start(&mut self) {
        let mut ctl = as_postgres(&pg_bin("pg_ctl"));
        ctl.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.data.with_extension("log"))
            .arg("-w")
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=replica \
                 -c max_wal_senders=5 -c hot_standby=on -c max_connections=60",
                self.port,
                self.data.parent().unwrap().display()
            ))
            .arg("start");
        run(ctl);
        self.running = true;
    }

    pub fn stop(&mut self) {
        let mut ctl = as_postgres(&pg_bin("pg_ctl"));
        ctl.arg("-D").arg(&self.data).args(["-m", "fast", "-w", "stop"]);
        run(ctl);
        self.running = false;
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub async fn sql(&self, database: &str, sql: &str) {
        let mut conn = AsyncPgConnection::establish(&self.url(database)).await.unwrap();
        conn.batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let _ = as_postgres(&pg_bin("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}
