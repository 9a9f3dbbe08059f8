//! A PostgreSQL server of a test's own, for GATERUN_POSTGRES_URL: initdb'd in a temp
//! directory, started on a free port, stopped when dropped.

use std::path::Path;
use std::process::Command;

/// A PostgreSQL server of the test's own, for GATERUN_POSTGRES_URL.
pub struct Server {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    pub port: u16,
}

impl Server {
    pub fn start(bin: &Path) -> Server {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .expect("chmod");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let s = Server {
            dir,
            bin: bin.to_path_buf(),
            port,
        };
        let data = s.dir.path().join("data");
        s.pg(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "admin",
                "--auth=trust",
                "--no-sync",
            ],
        );
        let opts = format!(
            "-c fsync=off -c listen_addresses=127.0.0.1 -p {port} -k {}",
            s.dir.path().display()
        );
        s.pg(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &s.dir.path().join("log").display().to_string(),
                "-w",
                "-o",
                &opts,
                "start",
            ],
        );
        s
    }

    pub fn pg(&self, program: &str, args: &[&str]) -> String {
        let path = self.bin.join(program);
        let path = if path.exists() {
            path
        } else {
            std::path::PathBuf::from(program)
        };
        let mut cmd = if rustix::process::geteuid().is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=postgres", "--regid=postgres", "--clear-groups"])
                .arg(path);
            c
        } else {
            Command::new(path)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect(program);
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One statement's result through psql, as the server's `admin`, unaligned.
    pub fn psql(&self, sql: &str) -> String {
        let port = self.port.to_string();
        let args = [
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "admin",
            "-d",
            "postgres",
            "-tAc",
            sql,
        ];
        self.pg("psql", &args).trim().to_owned()
    }

    pub fn url(&self) -> String {
        format!("postgres://admin@127.0.0.1:{}/postgres", self.port)
    }

    pub fn gaterun_databases(&self) -> String {
        self.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'gaterun_%'")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = std::panic::catch_unwind(|| {
            self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "stop"])
        });
    }
}
