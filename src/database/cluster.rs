//! The throw-away PostgreSQL cluster: `initdb` (trust auth, `--no-sync`; or a copy of its
//! result from the warm cache, `warm.rs`) and the postmaster with `fsync=off`, on a leased port
//! of 127.0.0.1 and a socket in a private directory; stopped by an immediate shutdown, else
//! killed. As root, it runs as `postgres` (or `nobody`), since PostgreSQL refuses to run as
//! root.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio_postgres::Config;

use super::warm::WarmCache;
use crate::ports::PortLease;

/// `initdb`'s settings (beside the data directory); part of the warm cache's key.
const INITDB: &[&str] = &[
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
    // 1 MiB WAL segments instead of 16: the data directory the warm cache copies is 24 MiB
    // instead of 39.
    "--wal-segsize=1",
];

pub(super) struct Cluster {
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
}

impl Cluster {
    /// `initdb` and `postgres` from PATH, else the newest `/usr/lib/postgresql/*/bin`.
    pub(super) fn find() -> Option<Cluster> {
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .find(|d| ["initdb", "postgres"].iter().all(|p| d.join(p).is_file()))
        });
        let bin = on_path.or_else(|| {
            let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .filter_map(|e| {
                    let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((version, bin))
                })
                .collect();
            found.sort();
            found.pop().map(|(_, b)| b)
        })?;
        Some(Cluster {
            bin,
            run_as: unprivileged_user(),
        })
    }

    fn command(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(self.bin.join(program));
        cmd.env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    async fn run(&self, program: &str, args: &[&str], dir: &Path) -> Result<(), String> {
        let log = dir.join(format!("{program}.log"));
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("failed to create {}: {e}", log.display()))?;
        if let Some((uid, gid)) = self.run_as {
            let _ = rustix::fs::chown(
                &log,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            );
        }
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let status = self
            .command(program)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .status()
            .await
            .map_err(|e| format!("failed to run {program}: {e}"))?;
        if status.success() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        Err(format!(
            "{program} failed ({status}): {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ))
    }

    /// Start a cluster below `dir`. `prepare`: a statement run once on a fresh data directory
    /// (in single-user mode, before the cache keeps it), so a warm start has its result
    /// already.
    pub(super) async fn start(&self, dir: &Path, prepare: &str) -> Result<Config, String> {
        let _ = std::fs::remove_dir_all(dir);
        let socket = dir.join("socket");
        std::fs::create_dir_all(&socket)
            .map_err(|e| format!("failed to create {}: {e}", socket.display()))?;
        if let Some((uid, gid)) = self.run_as {
            for d in [dir, socket.as_path()] {
                rustix::fs::chown(
                    d,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                )
                .map_err(|e| {
                    format!("failed to hand {} to the cluster's user: {e}", d.display())
                })?;
            }
        }
        let port = PortLease::allocate()
            .map_err(|e| format!("failed to find a free port for PostgreSQL: {e}"))?;
        let data = dir.join("data");
        let warm = WarmCache::new(&self.bin, &[INITDB, &[prepare]].concat());
        let warmed = warm.as_ref().is_some_and(|w| w.restore(&data, self.run_as));
        if !warmed {
            self.initdb(&data, dir, prepare, warm.as_ref()).await?;
        }
        let started = self.serve(&data, dir, port.0, &socket).await;
        match (started, warm) {
            (Ok(()), _) => {}
            // The cache gave a data directory the server does not start from: not again.
            (Err(_), Some(warm)) if warmed => {
                warm.discard();
                kill_postmaster(&data);
                let _ = std::fs::remove_dir_all(&data);
                self.initdb(&data, dir, prepare, Some(&warm)).await?;
                self.serve(&data, dir, port.0, &socket).await?;
            }
            (Err(e), _) => return Err(e),
        }
        let mut config = Config::new();
        config
            .host("127.0.0.1")
            .port(port.0)
            .user("postgres")
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(10));
        // The cluster holds its port until the run ends.
        std::mem::forget(port);
        Ok(config)
    }

    /// Start the postmaster and wait until it accepts connections. Not through `pg_ctl -w`,
    /// which looks every 100 ms: the postmaster's pid file says `ready` some 30 ms after it
    /// starts, looked at every 2 ms here. The postmaster runs in a process group of its own
    /// and outlives this call; `stop` ends it.
    async fn serve(&self, data: &Path, dir: &Path, port: u16, socket: &Path) -> Result<(), String> {
        let log = dir.join("server.log");
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("failed to create {}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let port = port.to_string();
        let mut cmd = self.command("postgres");
        cmd.arg("-D").arg(data);
        for setting in [
            "fsync=off",
            "full_page_writes=off",
            "synchronous_commit=off",
            "listen_addresses=127.0.0.1",
            "max_connections=300",
        ] {
            cmd.args(["-c", setting]);
        }
        cmd.args(["-p", &port])
            .arg("-k")
            .arg(socket)
            .current_dir(dir)
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .kill_on_drop(false);
        // Its own session (and so its own group): a Ctrl-C at the terminal reaches gaterun,
        // which stops it after the gates, and what the gates make it run cannot reach the
        // terminal. SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(crate::process::new_session);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("failed to run postgres: {e}"))?;
        let until = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let status = std::fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
            if status.lines().nth(7).is_some_and(|l| l.trim() == "ready") {
                return Ok(());
            }
            let gone = !matches!(child.try_wait(), Ok(None));
            if gone || std::time::Instant::now() > until {
                if !gone {
                    let _ = child.start_kill();
                }
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                return Err(format!(
                    "postgres did not start: {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// A fresh data directory with `prepare` run on it, kept in the warm cache for later runs.
    async fn initdb(
        &self,
        data: &Path,
        dir: &Path,
        prepare: &str,
        warm: Option<&WarmCache>,
    ) -> Result<(), String> {
        let data_arg = data.display().to_string();
        let mut args = vec!["-D", &data_arg];
        args.extend(INITDB);
        self.run("initdb", &args, dir).await?;
        self.single(data, dir, prepare).await?;
        if let Some(warm) = warm {
            warm.save(data);
        }
        Ok(())
    }

    /// Run a statement in single-user mode (no server, no connection; a clean shutdown after).
    async fn single(&self, data: &Path, dir: &Path, sql: &str) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let log = dir.join("single.log");
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("failed to create {}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = self.command("postgres");
        cmd.args(["--single", "-F", "-c", "exit_on_error=true", "-D"])
            .arg(data)
            .arg("postgres")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err));
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("failed to run postgres --single: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(format!("{sql}\n").as_bytes()).await;
        }
        let status = child
            .wait()
            .await
            .map_err(|e| format!("failed to wait for postgres --single: {e}"))?;
        if status.success() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        Err(format!(
            "failed to prepare the cluster ({status}): {}",
            text.lines().rev().take(3).collect::<Vec<_>>().join(" / ")
        ))
    }

    /// Stop the cluster: an immediate shutdown (SIGQUIT to the postmaster, which ends its
    /// backends), watched every 2 ms (`pg_ctl stop -w` looks every 100 ms); SIGKILL if it is
    /// still there after 10 s.
    pub(super) async fn stop(&self, dir: &Path) {
        let data = dir.join("data");
        if let Some(pid) = postmaster_pid(&data)
            && crate::process::signal_if_named(pid, "postgres", rustix::process::Signal::QUIT)
        {
            let until = std::time::Instant::now() + Duration::from_secs(10);
            while !gone(pid) && std::time::Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        kill_postmaster(&data);
    }
}

/// Whether a process has exited (or is about to).
fn gone(pid: i32) -> bool {
    #[cfg(target_os = "linux")]
    return crate::process::is_dying(pid);
    #[cfg(not(target_os = "linux"))]
    return !std::path::Path::new(&format!("/proc/{pid}")).exists();
}

/// The postmaster's pid, from its pid file.
fn postmaster_pid(data: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// SIGKILL the postmaster named by a data directory's `postmaster.pid`, if that process is a
/// postgres (its backends exit when it does).
pub fn kill_postmaster(data: &Path) {
    if let Some(pid) = postmaster_pid(data) {
        crate::process::kill_if_named(pid, "postgres");
    }
}

/// As root, the user the cluster runs as: `postgres` if it exists, else `nobody`.
fn unprivileged_user() -> Option<(u32, u32)> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let find = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
    };
    find("postgres").or_else(|| find("nobody"))
}
