//! One stage's result from its shards: the union of their gates, and whether together they
//! make a full run of the stage.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::results::{GateResult, StageResult, Status};

/// One stage from its shards: the union of their gates (a gate run by two shards keeps its
/// later run), in the stage file's order when the stage file is at hand.
pub(super) fn merge_stage(
    parts: Vec<(PathBuf, StageResult)>,
    order: Option<Vec<&str>>,
) -> StageResult {
    let mut gates: BTreeMap<String, (String, GateResult)> = BTreeMap::new();
    for (_, r) in &parts {
        for g in &r.gates {
            // Its output was read from the shard, confined, in `run`.
            let g = g.clone();
            let replace = gates.get(&g.id).is_none_or(|(at, _)| *at <= r.started_at);
            if replace {
                gates.insert(g.id.clone(), (r.started_at.clone(), g));
            }
        }
    }
    let mut list: Vec<GateResult> = gates.into_values().map(|(_, g)| g).collect();
    match &order {
        Some(ids) => {
            list.sort_by_key(|g| ids.iter().position(|i| *i == g.id).unwrap_or(usize::MAX))
        }
        None => list.sort_by_key(|g| g.line),
    }
    let first = &parts[0].1;
    let mut status = StageResult::status_from(&list);
    let blocked_by = parts.iter().find_map(|(_, r)| r.blocked_by.clone());
    if status == Status::Passed && blocked_by.is_some() {
        status = Status::Blocked;
    }
    let partial = !merges_to_full(&parts, order.as_deref(), &list);
    // A merge of partial runs keeps their selection when they all had the same one.
    let selection = match parts.iter().map(|(_, r)| &r.selection).collect::<Vec<_>>()[..] {
        [first, ref rest @ ..] if partial && rest.iter().all(|s| *s == first) => first.clone(),
        _ => None,
    };
    StageResult {
        gaterun_version: first.gaterun_version.clone(),
        phase: first.phase,
        stage: first.stage.clone(),
        name: first.name.clone(),
        definition_hash: first.definition_hash.clone(),
        status,
        partial,
        selection,
        started_at: parts
            .iter()
            .map(|(_, r)| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        duration_ms: parts.iter().map(|(_, r)| r.duration_ms).max().unwrap_or(0),
        commit: first.commit.clone(),
        blocked_by,
        // Shards contained alike, or no claim.
        containment: first
            .containment
            .clone()
            .filter(|c| parts.iter().all(|(_, r)| r.containment.as_ref() == Some(c))),
        // Each shard brought its stage scope up on its own: their setups, one per shard, are
        // no one setup of the merged stage (its gates keep a setup failure's message).
        setup: None,
        gates: list,
    }
}

/// Whether the merged parts make a full result of their stage: every part a full run or a
/// `--shard`-only one, all of one stage definition, and every gate present — with the stage
/// file at hand, every gate it defines; without it, every shard `1/N` … `N/N` of one `N`.
fn merges_to_full(
    parts: &[(PathBuf, StageResult)],
    order: Option<&[&str]>,
    gates: &[GateResult],
) -> bool {
    let runs_whole =
        |r: &StageResult| !r.partial || r.selection.as_ref().is_some_and(|s| s.shard_only());
    let Some((_, first)) = parts.first() else {
        return false;
    };
    if !parts
        .iter()
        .all(|(_, r)| runs_whole(r) && r.definition_hash == first.definition_hash)
    {
        return false;
    }
    match order {
        Some(ids) => ids.iter().all(|id| gates.iter().any(|g| g.id == *id)),
        None if parts.iter().any(|(_, r)| !r.partial) => true,
        None => {
            let shards: Vec<(u32, u32)> = parts
                .iter()
                .filter_map(|(_, r)| r.selection.as_ref()?.shard.as_deref())
                .filter_map(|s| crate::cli::parse_shard(s).ok())
                .collect();
            let Some(&(_, n)) = shards.first() else {
                return false;
            };
            shards.iter().all(|&(_, m)| m == n)
                && (1..=n).all(|k| shards.iter().any(|&(j, _)| j == k))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merges_to_full;
    use crate::results::{Selection, StageResult, Status};

    fn part(selection: Option<Selection>, hash: &str) -> (std::path::PathBuf, StageResult) {
        let r = StageResult {
            gaterun_version: String::new(),
            phase: 1,
            stage: "2".into(),
            name: String::new(),
            definition_hash: hash.into(),
            status: Status::Passed,
            partial: selection.is_some(),
            selection,
            started_at: String::new(),
            duration_ms: 0,
            commit: None,
            blocked_by: None,
            containment: None,
            setup: None,
            gates: Vec::new(),
        };
        (std::path::PathBuf::new(), r)
    }

    fn shard(s: &str) -> Option<Selection> {
        Selection::of(&[], &[], crate::cli::parse_shard(s).ok())
    }

    /// Without the stage file: every shard of one count, only shards, one definition.
    #[test]
    fn shards_merge_to_full_only_when_all_are_there() {
        let gate = || Selection::of(&["x".to_owned()], &[], None);
        let cases: &[(Vec<(std::path::PathBuf, StageResult)>, bool)] = &[
            (vec![part(shard("1/2"), "h"), part(shard("2/2"), "h")], true),
            (vec![part(None, "h")], true),
            (vec![part(shard("1/2"), "h")], false),
            (
                vec![part(shard("1/3"), "h"), part(shard("2/3"), "h")],
                false,
            ),
            (
                vec![part(shard("1/2"), "h"), part(shard("2/3"), "h")],
                false,
            ),
            (
                vec![part(shard("1/2"), "h"), part(shard("2/2"), "other")],
                false,
            ),
            (vec![part(shard("1/2"), "h"), part(gate(), "h")], false),
            (vec![part(None, "h"), part(gate(), "h")], false),
        ];
        for (i, (parts, full)) in cases.iter().enumerate() {
            assert_eq!(merges_to_full(parts, None, &[]), *full, "case {i}");
        }
    }
}
