//! Selection: which phase, which stages, which gates (`--gate`, `--tag`), and the prerequisite
//! ledger check that keeps stages in order.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::cli::Prereqs;
use crate::config::{Loaded, Project, Stage, StageKey};
use crate::exit::Error;
use crate::runner::StageRun;

pub struct Filters<'a> {
    pub gate_ids: &'a [String],
    pub tags: &'a [String],
    /// `--shard K/N`
    pub shard: Option<(u32, u32)>,
}

impl Filters<'_> {
    /// The filters as recorded in a partial run's results; `None` for a full run.
    pub fn selection(&self) -> Option<crate::results::Selection> {
        crate::results::Selection::of(self.gate_ids, self.tags, self.shard)
    }

    /// Indexes of the selected gates of a stage, in definition order.
    pub fn select(&self, stage: &Stage) -> Vec<usize> {
        stage
            .gates
            .iter()
            .enumerate()
            .filter(|(_, g)| self.gate_ids.is_empty() || self.gate_ids.contains(&g.id))
            .filter(|(_, g)| self.tags.is_empty() || g.tags.iter().any(|t| self.tags.contains(t)))
            .filter(|(_, g)| {
                self.shard.is_none_or(|s| {
                    crate::merge::in_shard(stage.phase, &stage.key.to_string(), &g.id, s)
                })
            })
            .map(|(i, _)| i)
            .collect()
    }
}

pub fn phases(loaded: &Loaded) -> BTreeSet<u32> {
    loaded.stages.iter().map(|s| s.phase).collect()
}

/// The phase `gaterun stage S` means: `--phase`, else `current_phase`, else the only one.
pub fn current_phase(loaded: &Loaded, flag: Option<u32>) -> Result<u32, Error> {
    if let Some(p) = flag.or(loaded.project.current_phase) {
        return Ok(p);
    }
    let all = phases(loaded);
    match all.len() {
        1 => Ok(*all.first().expect("one phase")),
        0 => Err(Error::NothingSelected(
            "no stage files found under the gates root".to_owned(),
        )),
        _ => Err(Error::Usage(format!(
            "several phases are defined ({}): pass --phase N or set `current_phase` in gaterun.yaml",
            all.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub fn stages_of(loaded: &Loaded, phase: u32) -> Vec<&Stage> {
    loaded.stages.iter().filter(|s| s.phase == phase).collect()
}

/// The stages to run for `gaterun stage S`, earlier stages first with `--prereqs run`.
pub fn for_stage(
    loaded: &Loaded,
    phase: u32,
    stage: &str,
    prereqs: Prereqs,
    filters: &Filters,
) -> Result<Vec<StageRun>, Error> {
    let key = StageKey::parse(stage).ok_or_else(|| {
        Error::Usage(format!(
            "invalid stage `{stage}`: write a number, or a number and a letter (`4a`)"
        ))
    })?;
    let in_phase = stages_of(loaded, phase);
    let Some(target) = in_phase.iter().find(|s| s.key == key) else {
        let known: Vec<String> = in_phase.iter().map(|s| s.key.to_string()).collect();
        return Err(Error::Usage(if known.is_empty() {
            format!("phase {phase} has no stages")
        } else {
            format!(
                "stage {key} is not defined in phase {phase} (its stages: {})",
                known.join(", ")
            )
        }));
    };
    let selected = filters.select(target);
    if selected.is_empty() {
        let ids: Vec<&str> = target.gates.iter().map(|g| g.id.as_str()).collect();
        return Err(Error::NothingSelected(format!(
            "nothing selected: no gate of stage {key} matches the --gate/--tag filters (its gates: {})",
            ids.join(", ")
        )));
    }
    let earlier: Vec<&&Stage> = in_phase.iter().filter(|s| s.key < key).collect();
    let mut runs = Vec::new();
    match prereqs {
        Prereqs::Ignore => {}
        Prereqs::Check => {
            for s in &earlier {
                check_prereq(&loaded.project, s, target)?;
            }
        }
        Prereqs::Run => {
            for s in earlier {
                runs.push(StageRun {
                    stage: Arc::new((*s).clone()),
                    selected: (0..s.gates.len()).collect(),
                    selection: None,
                });
            }
        }
    }
    runs.push(StageRun {
        stage: Arc::new((*target).clone()),
        selected,
        selection: filters.selection(),
    });
    Ok(runs)
}

/// Every stage of phase N in order, filtered; stages with no selected gate are left out.
pub fn for_phase(loaded: &Loaded, phase: u32, filters: &Filters) -> Result<Vec<StageRun>, Error> {
    let in_phase = stages_of(loaded, phase);
    if in_phase.is_empty() {
        let all: Vec<String> = phases(loaded).iter().map(u32::to_string).collect();
        return Err(Error::Usage(format!(
            "phase {phase} has no stages (phases defined: {})",
            all.join(", ")
        )));
    }
    let runs: Vec<StageRun> = in_phase
        .into_iter()
        .map(|s| StageRun {
            stage: Arc::new(s.clone()),
            selected: filters.select(s),
            selection: filters.selection(),
        })
        .filter(|r| !r.selected.is_empty())
        .collect();
    if runs.is_empty() {
        return Err(Error::NothingSelected(format!(
            "nothing selected: no gate of phase {phase} matches the --gate/--tag filters"
        )));
    }
    Ok(runs)
}

/// The prerequisite ledger's rule lives with the evidence checks it applies (`verify`).
pub use crate::verify::not_passed;

/// Has `earlier` passed with its current definition? If not: exit 3, naming it and what to run.
fn check_prereq(project: &Project, earlier: &Stage, target: &Stage) -> Result<(), Error> {
    let why = not_passed(project, earlier);
    match why {
        None => Ok(()),
        Some(why) => Err(Error::Blocked(format!(
            "blocked: stage {} ({}) of phase {} has not passed: {why}.\nRun `gaterun stage {}{}` first, or `gaterun stage {}{} --prereqs run` to run the earlier stages in order.",
            earlier.key,
            earlier.name,
            earlier.phase,
            earlier.key,
            phase_flag(earlier.phase),
            target.key,
            phase_flag(target.phase),
        ))),
    }
}

fn phase_flag(phase: u32) -> String {
    if phase == 1 {
        String::new()
    } else {
        format!(" --phase {phase}")
    }
}
