//! The shell that runs a gate's shell commands (and the cgroup join test).

/// `sh`, found once: `/bin/sh` where it exists (POSIX), else whatever PATH finds. Saves a PATH
/// search — one failed `execve` per directory before it — on every command.
pub(crate) fn shell() -> &'static std::path::Path {
    static SHELL: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    SHELL.get_or_init(|| {
        let bin_sh = std::path::PathBuf::from("/bin/sh");
        if bin_sh.is_file() {
            bin_sh
        } else {
            std::path::PathBuf::from("sh")
        }
    })
}
