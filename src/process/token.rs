//! Gate tokens: the run's id, and one token per gate run that every process of the gate
//! inherits as `GATERUN_GATE=<token>` (the cookie Jenkins' process tree killer uses), with the
//! pid counter noted when the token was made so the leftover search reads only later pids.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The environment variable every gate process inherits.
pub const TOKEN_VAR: &str = "GATERUN_GATE";

/// This gaterun run's id, `<pid>r<random>`: unique across pid namespaces sharing a file
/// system (two runs may have one pid in two containers). Names the run's temp root, lock and
/// cgroups, and starts every gate token. Not a number: a gaterun from before the run lock,
/// which took a token's leading number for its owner's pid and killed the processes of a run
/// whose pid it could not see, leaves these tokens alone.
pub fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        use std::io::Read;
        let mut bytes = [0u8; 4];
        let random = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map(|()| u32::from_le_bytes(bytes))
            .unwrap_or_else(|_| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos())
            });
        format!("{}r{random:08x}", std::process::id())
    })
}

/// A token unique to one gate run: the run's id and a counter. Also notes the pid counter at
/// that moment: every process of the gate gets a later pid, which lets the leftover search
/// read only those while the counter has not wrapped (see `scan::sweep`).
pub fn new_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let token = format!("{}-{}", run_id(), NEXT.fetch_add(1, Ordering::Relaxed));
    #[cfg(target_os = "linux")]
    if let Some(floor) = super::procfs::last_pid() {
        floors().insert(token.clone(), floor);
    }
    token
}

/// The id of the run that made `token` (a bare pid for a token of an older gaterun).
pub fn token_run(token: &str) -> Option<&str> {
    token.rsplit_once('-').map(|(run, _)| run)
}

/// Each live token's pid floor. Global because a token is made by the gate executor and read
/// by every search for the gate's processes (teardown, a service's listener check), which
/// know the token alone; entries go with [`forget_floor`] when the gate ends.
static FLOORS: Mutex<BTreeMap<String, i32>> = Mutex::new(BTreeMap::new());

fn floors() -> MutexGuard<'static, BTreeMap<String, i32>> {
    FLOORS.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn floor_of(token: &str) -> Option<i32> {
    floors().get(token).copied()
}

/// The gate is over: forget its token's pid floor.
pub(super) fn forget_floor(token: &str) {
    floors().remove(token);
}
