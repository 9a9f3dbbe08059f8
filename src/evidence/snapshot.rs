//! The stage's read-only copy of the evidence that its gates see as `GATERUN_EVIDENCE`.

use std::io;
use std::path::Path;

use super::read::read_confined;
use super::write::write_new;

/// The name of the stage's copy of the evidence, in the run's temp root.
pub const SNAPSHOT_DIR: &str = "gaterun-evidence";

/// What one file of a gate's copy of the evidence may weigh.
const SNAPSHOT_FILE_CAP: u64 = 64 << 20;

/// A copy of the evidence for a stage's gates (`GATERUN_EVIDENCE`): gates get no writable path
/// into evidence/, yet stage 10's `gaterun signoff` reads the ledger. Every file the manifest
/// covers but gate logs (they can be large, and no ledger check reads them), with the manifest
/// and the Statement; no symbolic link followed. What a gate writes there reaches nothing.
pub fn snapshot(evidence: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut found = Vec::new();
    super::manifest::walk(evidence, "", &mut found);
    let rels = found
        .into_iter()
        .filter_map(|f| match f {
            super::manifest::Found::File(rel) => Some(rel),
            super::manifest::Found::Other(..) => None,
        })
        .filter(|rel| !rel.split('/').any(|p| p == "logs"))
        .chain([
            super::manifest::MANIFEST.to_owned(),
            super::manifest::ATTESTATION.to_owned(),
        ]);
    for rel in rels {
        let data = match read_confined(
            evidence,
            &evidence.join(&rel),
            SNAPSHOT_FILE_CAP,
            "evidence",
        ) {
            Ok(d) => d,
            // Gone meanwhile, or not a file to copy: the gate's copy goes without it.
            Err(_) => continue,
        };
        let dest = to.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_new(&dest, &data)?;
    }
    Ok(())
}
