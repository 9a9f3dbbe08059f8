//! Selection: which phase, which stages, which gates (`--gate`, `--tag`), and the prerequisite
//! checks that keep stages in order and phases on top of signed-off ones.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::cli::Prereqs;
use crate::config::{Loaded, Project, Stage, StageKey};
use crate::exit::Error;
// The prerequisite ledger's rules live with the evidence checks they apply.
use crate::verify::not_passed;
use crate::verify::phases::{signoff_command, unmet_phases};

/// One stage to run, with the gates selected in it.
pub struct StageRun {
    pub stage: Arc<Stage>,
    /// Indexes into `stage.gates`, in definition order.
    pub selected: Vec<usize>,
    /// The `--gate`/`--tag`/`--shard` filters, when given: the run is then partial, whatever
    /// it selected.
    pub selection: Option<crate::results::Selection>,
}

impl StageRun {
    pub fn partial(&self) -> bool {
        self.selection.is_some()
    }

    /// Whether running it starts a process: the stage's own scope, or a selected gate.
    pub fn starts_processes(&self) -> bool {
        !self.stage.scope.is_empty()
            || self
                .selected
                .iter()
                .any(|&i| self.stage.gates[i].starts_processes())
    }
}

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

    /// Why nothing in `stages` is selected, for the message: each `--gate` that names no gate
    /// there, with the id it likely meant; each `--tag` no gate there has, with the tags that
    /// exist; else (each matches, but not together, or the shard holds none) the gates.
    pub fn unmatched(&self, stages: &[&Stage]) -> String {
        let gates = || stages.iter().flat_map(|s| &s.gates);
        let mut ids: Vec<&str> = gates().map(|g| g.id.as_str()).collect();
        ids.extend(gates().map(|g| g.base_id.as_str()));
        ids.dedup();
        let mut tags: Vec<&str> = gates().flat_map(|g| &g.tags).map(String::as_str).collect();
        tags.sort_unstable();
        tags.dedup();
        let mut why = Vec::new();
        for id in self.gate_ids.iter().filter(|i| !ids.contains(&i.as_str())) {
            why.push(match crate::near::suggest(id, &ids) {
                Some(near) => format!("no gate `{id}`, did you mean `{near}`?"),
                None => format!("no gate `{id}`"),
            });
        }
        for tag in self.tags.iter().filter(|t| !tags.contains(&t.as_str())) {
            why.push(match tags.is_empty() {
                true => format!("no gate has tag `{tag}` (no gate here has a tag)"),
                false => format!("no gate has tag `{tag}` (the tags: {})", tags.join(", ")),
            });
        }
        if why.is_empty() {
            let mut shown: Vec<&str> = gates().map(|g| g.id.as_str()).collect();
            shown.dedup();
            return format!(" (its gates: {})", shown.join(", "));
        }
        format!(": {}", why.join("; "))
    }

    /// Indexes of the selected gates of a stage, in definition order.
    pub fn select(&self, stage: &Stage) -> Vec<usize> {
        stage
            .gates
            .iter()
            .enumerate()
            // `--gate ID` selects every combination of a matrix gate, `--gate 'ID[K=v]'` one.
            .filter(|(_, g)| {
                self.gate_ids.is_empty()
                    || self.gate_ids.contains(&g.id)
                    || self.gate_ids.contains(&g.base_id)
            })
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

/// A phase named on the command line (`--phase 9`, `phase 9`) that no stage file defines: a
/// usage error naming the phases that exist, whichever command it is.
pub fn no_such_phase(loaded: &Loaded, phase: u32) -> Error {
    let all: Vec<String> = phases(loaded).iter().map(u32::to_string).collect();
    let defined = match all.is_empty() {
        true => "none: no stage files found under the gates root".to_owned(),
        false => all.join(", "),
    };
    Error::Usage(format!(
        "phase {phase} has no stages (phases defined: {defined})"
    ))
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
        if known.is_empty() {
            return Err(no_such_phase(loaded, phase));
        }
        return Err(Error::Usage(format!(
            "stage {key} is not defined in phase {phase} (its stages: {})",
            known.join(", ")
        )));
    };
    let selected = filters.select(target);
    if selected.is_empty() {
        return Err(Error::NothingSelected(format!(
            "nothing selected: no gate of stage {key} matches the --gate/--tag filters{}",
            filters.unmatched(&[target])
        )));
    }
    let earlier: Vec<&&Stage> = in_phase.iter().filter(|s| s.key < key).collect();
    let again = format!("gaterun stage {key}{}", phase_flag(phase));
    let mut runs = phase_prereqs(loaded, phase, prereqs, &again)?;
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

/// Phases build on each other: before a stage of `phase` runs, every earlier phase must stand
/// signed off with its current definitions. `check`: blocked (exit 3) naming the lowest that
/// does not and what to run (`again` is the command asked for); `run`: the stages of each
/// such phase, lowest first, whole (the run checks each is signed off before going on);
/// `ignore`: nothing.
fn phase_prereqs(
    loaded: &Loaded,
    phase: u32,
    prereqs: Prereqs,
    again: &str,
) -> Result<Vec<StageRun>, Error> {
    if prereqs == Prereqs::Ignore {
        return Ok(Vec::new());
    }
    let unmet = unmet_phases(&loaded.project, &loaded.stages, phase);
    if prereqs == Prereqs::Check {
        return match unmet.first() {
            None => Ok(Vec::new()),
            Some((p, why)) => Err(Error::Blocked(format!(
                "blocked: phase {p} is not signed off ({why}): run `{}` first, or `{again} --prereqs run` to run it first",
                signoff_command(&loaded.stages, *p)
            ))),
        };
    }
    Ok(unmet
        .iter()
        .flat_map(|(p, _)| stages_of(loaded, *p))
        .map(|s| StageRun {
            stage: Arc::new(s.clone()),
            selected: (0..s.gates.len()).collect(),
            selection: None,
        })
        .collect())
}

/// Every stage of phase N in order, filtered; stages with no selected gate are left out. The
/// earlier phases it builds on are checked (or run first) as `prereqs` says.
pub fn for_phase(
    loaded: &Loaded,
    phase: u32,
    prereqs: Prereqs,
    filters: &Filters,
) -> Result<Vec<StageRun>, Error> {
    let in_phase = stages_of(loaded, phase);
    if in_phase.is_empty() {
        return Err(no_such_phase(loaded, phase));
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
            "nothing selected: no gate of phase {phase} matches the --gate/--tag filters{}",
            filters.unmatched(&stages_of(loaded, phase))
        )));
    }
    let mut all = phase_prereqs(loaded, phase, prereqs, &format!("gaterun phase {phase}"))?;
    all.extend(runs);
    Ok(all)
}

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Filters, current_phase, for_phase, for_stage};
    use crate::cli::Prereqs;
    use crate::config::{Defaults, Loaded, Project, parse_stage};
    use crate::exit::Error;

    /// (phase, stage, its gates as (id, tags))
    type StageSpec<'a> = (u32, &'a str, &'a [(&'a str, &'a [&'a str])]);

    /// A project in a temp dir (no evidence yet) with the stages given.
    fn project(dir: &Path, stages: &[StageSpec]) -> Loaded {
        let mut parsed = Vec::new();
        for (phase, key, gates) in stages {
            let mut text = format!("phase: {phase}\nstage: \"{key}\"\nname: Stage {key}\ngates:\n");
            for (id, tags) in *gates {
                text.push_str(&format!(
                    "  - id: {id}\n    title: gate {id}\n    tags: [{}]\n    run: \"true\"\n",
                    tags.join(", ")
                ));
            }
            let file = format!("gates/phase-{phase}/{key}.yaml");
            let (stage, diags) = parse_stage(Path::new(&file), &text, &Defaults::default());
            assert!(diags.is_empty(), "{text}: {diags:?}");
            parsed.push(stage.expect("a stage").0);
        }
        parsed.sort_by_key(|s| (s.phase, s.key));
        Loaded {
            project: Project {
                root: dir.to_owned(),
                gates_dir: dir.join("gates"),
                evidence_dir: dir.join("evidence"),
                current_phase: None,
            },
            stages: parsed,
            warnings: Vec::new(),
            undefined: Vec::new(),
        }
    }

    fn filters<'a>(ids: &'a [String], tags: &'a [String]) -> Filters<'a> {
        Filters {
            gate_ids: ids,
            tags,
            shard: None,
        }
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn gates_are_selected_by_id_and_tag_together_in_definition_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = project(
            dir.path(),
            &[(1, "0", &[("a", &["x"]), ("b", &["y"]), ("c", &["x", "y"])])],
        );
        let stage = &loaded.stages[0];
        // (ids, tags, selected)
        let table: &[(&[&str], &[&str], &[usize])] = &[
            (&[], &[], &[0, 1, 2]),
            (&["c", "a"], &[], &[0, 2]),
            (&[], &["y"], &[1, 2]),
            (&["a"], &["y"], &[]),
            (&["c"], &["y"], &[2]),
            // Near misses select nothing: ids and tags are matched exactly.
            (&["A"], &[], &[]),
            (&["a "], &[], &[]),
            (&[], &["X"], &[]),
        ];
        for (ids, tags, want) in table {
            let (ids, tags) = (strings(ids), strings(tags));
            let f = filters(&ids, &tags);
            assert_eq!(f.select(stage), *want, "--gate {ids:?} --tag {tags:?}");
            assert_eq!(f.selection().is_some(), !ids.is_empty() || !tags.is_empty());
        }
    }

    #[test]
    fn the_phase_is_the_flag_then_the_configured_one_then_the_only_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut one = project(dir.path(), &[(2, "0", &[("a", &[])])]);
        assert_eq!(current_phase(&one, None).ok(), Some(2));
        assert_eq!(current_phase(&one, Some(5)).ok(), Some(5));
        one.project.current_phase = Some(3);
        assert_eq!(current_phase(&one, None).ok(), Some(3));
        let two = project(
            dir.path(),
            &[(1, "0", &[("a", &[])]), (2, "0", &[("a", &[])])],
        );
        assert!(matches!(current_phase(&two, None), Err(Error::Usage(_))));
        let none = project(dir.path(), &[]);
        assert!(matches!(
            current_phase(&none, None),
            Err(Error::NothingSelected(_))
        ));
    }

    #[test]
    fn an_earlier_stage_that_has_not_passed_blocks_and_prereqs_run_puts_it_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = project(
            dir.path(),
            &[
                (1, "0", &[("a", &[])]),
                (1, "1", &[("b", &[])]),
                (1, "2", &[("c", &["t"]), ("d", &[])]),
            ],
        );
        let none: Vec<String> = Vec::new();
        let all = filters(&none, &none);
        match for_stage(&loaded, 1, "2", Prereqs::Check, &all) {
            Err(Error::Blocked(m)) => {
                assert!(
                    m.contains("stage 0 (Stage 0) of phase 1 has not passed"),
                    "{m}"
                );
                assert!(m.contains("it has not been run"), "{m}");
                assert!(m.contains("`gaterun stage 2 --prereqs run`"), "{m}");
            }
            Err(e) => panic!("expected blocked, got {e}"),
            Ok(_) => panic!("stage 2 ran with nothing before it passed"),
        }
        // The first stage has no prerequisite.
        assert_eq!(
            for_stage(&loaded, 1, "0", Prereqs::Check, &all)
                .map(|r| r.len())
                .ok(),
            Some(1)
        );
        let tags = strings(&["t"]);
        let tagged = filters(&none, &tags);
        let runs = for_stage(&loaded, 1, "2", Prereqs::Run, &tagged).expect("runs");
        let shape: Vec<(String, Vec<usize>, bool)> = runs
            .iter()
            .map(|r| (r.stage.key.to_string(), r.selected.clone(), r.partial()))
            .collect();
        // Earlier stages run whole (a prerequisite is never partial); the filters apply to the
        // stage asked for.
        assert_eq!(
            shape,
            vec![
                ("0".to_owned(), vec![0], false),
                ("1".to_owned(), vec![0], false),
                ("2".to_owned(), vec![0], true)
            ]
        );
        let ignored = for_stage(&loaded, 1, "2", Prereqs::Ignore, &all).expect("runs");
        assert_eq!(ignored.len(), 1);
    }

    #[test]
    fn a_stage_that_is_not_there_or_selects_nothing_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = project(
            dir.path(),
            &[(1, "0", &[("a", &[])]), (1, "4a", &[("b", &[])])],
        );
        let none: Vec<String> = Vec::new();
        let all = filters(&none, &none);
        match for_stage(&loaded, 1, "4", Prereqs::Ignore, &all) {
            Err(Error::Usage(m)) => assert!(m.contains("its stages: 0, 4a"), "{m}"),
            _ => panic!("stage 4 is not stage 4a"),
        }
        assert!(matches!(
            for_stage(&loaded, 1, "x", Prereqs::Ignore, &all),
            Err(Error::Usage(_))
        ));
        let ids = strings(&["zz"]);
        let nothing = filters(&ids, &none);
        assert!(matches!(
            for_stage(&loaded, 1, "0", Prereqs::Ignore, &nothing),
            Err(Error::NothingSelected(_))
        ));
        assert!(matches!(
            for_phase(&loaded, 1, Prereqs::Check, &nothing),
            Err(Error::NothingSelected(_))
        ));
        // A phase run leaves out the stages the filters select nothing of.
        let ids = strings(&["b"]);
        let runs = for_phase(&loaded, 1, Prereqs::Check, &filters(&ids, &none)).expect("runs");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].stage.key.to_string(), "4a");
        assert!(matches!(
            for_phase(&loaded, 2, Prereqs::Check, &all),
            Err(Error::Usage(_))
        ));
    }
}
