//! The review queue's sampling plan (`[review]` of `callscope.toml`):
//! which scored calls of a window reviewers get, and who gets each.
//!
//! Picked: `sample_per_agent` calls per agent and ISO week, chosen by a
//! seeded hash of the call id (the same seed and calls give the same
//! sample, whenever and however often the plan runs); every call with a
//! fatal result; every call whose average sentence confidence (ASR) or role
//! confidence is under the thresholds. Picked calls go to the reviewers
//! (analysts and leads) in turn, in week and call order; the first
//! `calibration_per_week` sampled calls of each week also go to the next
//! reviewer, so the calibration page has calls judged twice. A call
//! already assigned keeps its reviewer: running the plan again adds
//! nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use callscope_core::config::ReviewSection;
use callscope_core::model::Call;
use callscope_store::reviews::{Assignment, NewAssignment};

/// What the plan knows of a scored call.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The call.
    pub call_id: String,
    /// Its agent (calls without one are sampled as one group).
    pub agent_id: String,
    /// Its ISO week (`2026-W36`).
    pub week: String,
    /// Whether one of its results violated a fatal rule.
    pub fatal: bool,
    /// Average ASR confidence of its sentences that have one.
    pub confidence: Option<f64>,
    /// Average role confidence of its sentences that have one.
    pub role_confidence: Option<f64>,
}

impl Candidate {
    /// The candidate for a stored call (`fatal`: whether a result of it is
    /// fatal).
    pub fn of(call: &Call, local_date: Option<&str>, fatal: bool) -> Candidate {
        let average = |values: Vec<f64>| {
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        Candidate {
            call_id: call.call_id.clone(),
            agent_id: call.agent_id.clone().unwrap_or_default(),
            week: crate::reviewed::iso_week(local_date),
            fatal,
            confidence: average(
                call.segments
                    .iter()
                    .filter_map(|segment| segment.confidence)
                    .collect(),
            ),
            role_confidence: average(
                call.segments
                    .iter()
                    .filter_map(|segment| segment.role_confidence)
                    .collect(),
            ),
        }
    }
}

/// A stable 64-bit hash of the seed and a call id (FNV-1a, then a
/// SplitMix64 finish): the sample's order, the same on every machine and
/// release.
pub fn sample_key(seed: u64, call_id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in call_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The calls the plan picks, each with why (reasons joined by `,`), in
/// week and call order.
pub fn pick(candidates: &[Candidate], plan: &ReviewSection) -> Vec<(Candidate, String)> {
    let mut reasons: BTreeMap<(String, String), Vec<&'static str>> = BTreeMap::new();
    let mut groups: BTreeMap<(&str, &str), Vec<&Candidate>> = BTreeMap::new();
    for candidate in candidates {
        groups
            .entry((candidate.agent_id.as_str(), candidate.week.as_str()))
            .or_default()
            .push(candidate);
    }
    for group in groups.values_mut() {
        group.sort_by_key(|candidate| {
            (
                sample_key(plan.seed, &candidate.call_id),
                candidate.call_id.clone(),
            )
        });
        for candidate in group.iter().take(plan.sample_per_agent) {
            reasons
                .entry((candidate.week.clone(), candidate.call_id.clone()))
                .or_default()
                .push("sample");
        }
    }
    for candidate in candidates {
        let key = (candidate.week.clone(), candidate.call_id.clone());
        if candidate.fatal {
            reasons.entry(key.clone()).or_default().push("fatal");
        }
        if candidate
            .confidence
            .is_some_and(|confidence| confidence < plan.low_confidence)
        {
            reasons
                .entry(key.clone())
                .or_default()
                .push("low_confidence");
        }
        if candidate
            .role_confidence
            .is_some_and(|confidence| confidence < plan.low_role_confidence)
        {
            reasons.entry(key).or_default().push("low_role_confidence");
        }
    }
    let by_id: HashMap<&str, &Candidate> = candidates
        .iter()
        .map(|candidate| (candidate.call_id.as_str(), candidate))
        .collect();
    reasons
        .into_iter()
        .filter_map(|((_, call_id), reasons)| {
            by_id
                .get(call_id.as_str())
                .map(|candidate| ((*candidate).clone(), reasons.join(",")))
        })
        .collect()
}

/// The assignments for the picked calls: reviewers in turn (in the order
/// given), the first `calibration_per_week` sampled calls of each week to
/// a second reviewer too; calls in `existing` keep what they have.
pub fn assign(
    picked: &[(Candidate, String)],
    reviewers: &[String],
    existing: &[Assignment],
    plan: &ReviewSection,
) -> Vec<NewAssignment> {
    if reviewers.is_empty() {
        return Vec::new();
    }
    let assigned: HashSet<&str> = existing
        .iter()
        .map(|assignment| assignment.call_id.as_str())
        .collect();
    let mut calibrated: HashMap<&str, usize> = HashMap::new();
    let mut assignments = Vec::new();
    for (turn, (candidate, reason)) in picked.iter().enumerate() {
        let first = &reviewers[turn % reviewers.len()];
        let calibrate =
            reviewers.len() > 1 && reason.split(',').any(|reason| reason == "sample") && {
                let count = calibrated.entry(candidate.week.as_str()).or_default();
                *count += 1;
                *count <= plan.calibration_per_week
            };
        if assigned.contains(candidate.call_id.as_str()) {
            continue;
        }
        assignments.push(NewAssignment {
            call_id: candidate.call_id.clone(),
            reviewer: first.clone(),
            reason: reason.clone(),
            week: candidate.week.clone(),
        });
        if calibrate {
            assignments.push(NewAssignment {
                call_id: candidate.call_id.clone(),
                reviewer: reviewers[(turn + 1) % reviewers.len()].clone(),
                reason: format!("{reason},calibration"),
                week: candidate.week.clone(),
            });
        }
    }
    assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(call_id: &str, agent: &str, week: &str) -> Candidate {
        Candidate {
            call_id: call_id.to_string(),
            agent_id: agent.to_string(),
            week: week.to_string(),
            fatal: false,
            confidence: Some(0.9),
            role_confidence: None,
        }
    }

    #[test]
    fn the_plan_is_reproducible_and_covers_every_reason() {
        let mut candidates: Vec<Candidate> = (0..10)
            .map(|index| candidate(&format!("C{index}"), "A1", "2026-W36"))
            .collect();
        candidates.extend((0..3).map(|index| candidate(&format!("D{index}"), "A2", "2026-W36")));
        candidates.push(candidate("E0", "A1", "2026-W37"));
        candidates[5].fatal = true;
        candidates[6].confidence = Some(0.4);
        candidates[7].role_confidence = Some(0.5);
        let plan = ReviewSection::default();
        let picked = pick(&candidates, &plan);
        let sampled = |agent: &str, week: &str| {
            picked
                .iter()
                .filter(|(candidate, reason)| {
                    candidate.agent_id == agent
                        && candidate.week == week
                        && reason.contains("sample")
                })
                .count()
        };
        assert_eq!(sampled("A1", "2026-W36"), 2);
        assert_eq!(sampled("A2", "2026-W36"), 2);
        assert_eq!(sampled("A1", "2026-W37"), 1);
        for (call_id, reason) in [
            ("C5", "fatal"),
            ("C6", "low_confidence"),
            ("C7", "low_role_confidence"),
        ] {
            assert!(
                picked
                    .iter()
                    .any(|(candidate, reasons)| candidate.call_id == call_id
                        && reasons.contains(reason)),
                "{call_id} {reason}: {picked:?}"
            );
        }
        assert_eq!(picked, pick(&candidates, &plan));
        let other_seed = ReviewSection {
            seed: 7,
            ..ReviewSection::default()
        };
        let sampled_ids = |picked: &[(Candidate, String)]| -> Vec<String> {
            picked
                .iter()
                .filter(|(_, reason)| reason.contains("sample"))
                .map(|(candidate, _)| candidate.call_id.clone())
                .collect()
        };
        // Another seed is another (reproducible) sample of the same size.
        assert_eq!(
            sampled_ids(&pick(&candidates, &other_seed)).len(),
            sampled_ids(&picked).len()
        );

        let reviewers = vec!["ana".to_string(), "bob".to_string()];
        let assignments = assign(&picked, &reviewers, &[], &plan);
        let calibration = assignments
            .iter()
            .filter(|assignment| assignment.reason.contains("calibration"))
            .count();
        assert_eq!(calibration, 3, "two in week 36, one in week 37");
        assert!(assignments
            .iter()
            .any(|assignment| assignment.reviewer == "ana"));
        assert!(assignments
            .iter()
            .any(|assignment| assignment.reviewer == "bob"));
        // Already assigned calls are left as they are.
        let existing: Vec<Assignment> = assignments
            .iter()
            .map(|assignment| Assignment {
                call_id: assignment.call_id.clone(),
                reviewer: assignment.reviewer.clone(),
                reason: assignment.reason.clone(),
                week: assignment.week.clone(),
                assigned_at: 0,
                done: false,
            })
            .collect();
        assert!(assign(&picked, &reviewers, &existing, &plan).is_empty());
        assert!(assign(&picked, &[], &[], &plan).is_empty());
    }

    #[test]
    fn sample_keys_are_stable() {
        assert_eq!(sample_key(0, "C1"), sample_key(0, "C1"));
        assert_ne!(sample_key(0, "C1"), sample_key(1, "C1"));
        assert_ne!(sample_key(0, "C1"), sample_key(0, "C2"));
    }
}
