//! Alerts: agents and teams whose QA score or pass rate in the window fell
//! against their own baseline.
//!
//! Each agent and team with at least `min_calls` scored calls in both periods
//! is tested on both metrics: the average score with Welch's t test, the pass
//! rate with Fisher's exact test (exact where pass rates sit near 100% and
//! samples are small), each one-sided (a drop). All p-values
//! together go through Benjamini-Hochberg at false discovery rate `fdr`, so
//! two hundred agents do not yield ten alerts by chance; a drop must also be
//! large enough to matter (`min_score_drop` points, `min_pass_rate_drop`).

use std::collections::BTreeMap;

use super::qa_summary::ScoredCall;
use super::report::Alert;
use super::stats::{benjamini_hochberg, proportion_drop_p, welch_drop_p, Moments};

/// When a drop is an alert.
#[derive(Debug, Clone, Copy)]
pub struct AlertRules {
    /// Fewest scored calls in each period.
    pub min_calls: u64,
    /// False discovery rate over all tests.
    pub fdr: f64,
    /// Smallest drop of average score, in points.
    pub min_score_drop: f64,
    /// Smallest drop of pass rate (0..1).
    pub min_pass_rate_drop: f64,
}

#[derive(Default)]
struct Figures {
    scores: Moments,
    passed: u64,
}

impl Figures {
    fn add(&mut self, call: &ScoredCall) {
        self.scores.add(call.score);
        self.passed += u64::from(call.passed);
    }

    fn pass_rate(&self) -> f64 {
        self.passed as f64 / self.scores.count.max(1) as f64
    }
}

/// Who a group of calls belongs to: an agent (with their team) or a team.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    Team(String),
    Agent(String, Option<String>),
}

fn group(calls: &[ScoredCall]) -> BTreeMap<Subject, Figures> {
    let mut groups: BTreeMap<Subject, Figures> = BTreeMap::new();
    for call in calls {
        if let Some(agent) = &call.agent_id {
            groups
                .entry(Subject::Agent(agent.clone(), call.team.clone()))
                .or_default()
                .add(call);
        }
        if let Some(team) = &call.team {
            groups
                .entry(Subject::Team(team.clone()))
                .or_default()
                .add(call);
        }
    }
    groups
}

/// The alerts for `recent` calls against `baseline` calls, teams first, then
/// by p-value.
pub fn find(recent: &[ScoredCall], baseline: &[ScoredCall], rules: AlertRules) -> Vec<Alert> {
    let recent_groups = group(recent);
    let baseline_groups = group(baseline);
    let mut candidates: Vec<(Alert, bool)> = Vec::new();
    for (subject, now) in &recent_groups {
        let Some(before) = baseline_groups.get(subject) else {
            continue;
        };
        if now.scores.count < rules.min_calls || before.scores.count < rules.min_calls {
            continue;
        }
        let (agent_id, team) = match subject {
            Subject::Team(team) => (None, Some(team.clone())),
            Subject::Agent(agent, team) => (Some(agent.clone()), team.clone()),
        };
        let score_drop = before.scores.mean() - now.scores.mean();
        let pass_drop = before.pass_rate() - now.pass_rate();
        for (metric, recent_value, baseline_value, drop, p_value, large_enough) in [
            (
                "qa_score",
                now.scores.mean(),
                before.scores.mean(),
                score_drop,
                welch_drop_p(&now.scores, &before.scores),
                score_drop >= rules.min_score_drop,
            ),
            (
                "pass_rate",
                now.pass_rate(),
                before.pass_rate(),
                pass_drop,
                proportion_drop_p(
                    now.passed,
                    now.scores.count,
                    before.passed,
                    before.scores.count,
                ),
                pass_drop >= rules.min_pass_rate_drop,
            ),
        ] {
            candidates.push((
                Alert {
                    agent_id: agent_id.clone(),
                    team: team.clone(),
                    metric: metric.to_string(),
                    recent: recent_value,
                    baseline: baseline_value,
                    drop,
                    calls: now.scores.count,
                    baseline_calls: before.scores.count,
                    p_value,
                },
                large_enough,
            ));
        }
    }
    let p_values: Vec<f64> = candidates.iter().map(|(alert, _)| alert.p_value).collect();
    let discovered = benjamini_hochberg(&p_values, rules.fdr);
    let mut alerts: Vec<Alert> = candidates
        .into_iter()
        .zip(discovered)
        .filter(|((_, large_enough), discovered)| *large_enough && *discovered)
        .map(|((alert, _), _)| alert)
        .collect();
    alerts.sort_by(|left, right| {
        left.agent_id
            .is_some()
            .cmp(&right.agent_id.is_some())
            .then(left.p_value.total_cmp(&right.p_value))
            .then(left.metric.cmp(&right.metric))
    });
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: AlertRules = AlertRules {
        min_calls: 30,
        fdr: 0.05,
        min_score_drop: 2.0,
        min_pass_rate_drop: 0.05,
    };

    /// `count` calls of `agent` in `team`, scores cycling around `mean`
    /// (±6), passing at 80.
    fn calls(agent: &str, team: &str, mean: f64, count: usize) -> Vec<ScoredCall> {
        (0..count)
            .map(|index| {
                let score = mean + ((index * 7) % 13) as f64 - 6.0;
                ScoredCall {
                    agent_id: Some(agent.to_string()),
                    team: Some(team.to_string()),
                    score,
                    passed: score >= 80.0,
                    fatal: false,
                    violations: Vec::new(),
                    results: 1,
                    scorecards: vec!["card".to_string()],
                }
            })
            .collect()
    }

    #[test]
    fn a_real_drop_alerts() {
        let mut baseline = calls("A1", "T1", 90.0, 200);
        baseline.extend(calls("A2", "T1", 90.0, 200));
        let mut recent = calls("A1", "T1", 78.0, 60);
        recent.extend(calls("A2", "T1", 90.0, 60));
        let alerts = find(&recent, &baseline, RULES);
        let agents: Vec<(&str, &str)> = alerts
            .iter()
            .filter_map(|alert| Some((alert.agent_id.as_deref()?, alert.metric.as_str())))
            .collect();
        assert!(agents.contains(&("A1", "qa_score")), "{alerts:?}");
        assert!(agents.contains(&("A1", "pass_rate")), "{alerts:?}");
        assert!(
            !agents.iter().any(|(agent, _)| *agent == "A2"),
            "{alerts:?}"
        );
        let team = alerts
            .iter()
            .find(|alert| alert.agent_id.is_none())
            .expect("the team dropped too");
        assert_eq!(team.team.as_deref(), Some("T1"));
        let a1 = alerts
            .iter()
            .find(|alert| alert.agent_id.as_deref() == Some("A1") && alert.metric == "qa_score")
            .unwrap();
        assert!((a1.drop - 12.0).abs() < 1.0, "{a1:?}");
        assert_eq!(a1.calls, 60);
    }

    #[test]
    fn noise_and_small_samples_do_not_alert() {
        let baseline = calls("A1", "T1", 90.0, 200);
        // Same distribution, shifted by one point: not a drop worth telling.
        let recent = calls("A1", "T1", 89.0, 200);
        assert!(find(&recent, &baseline, RULES).is_empty());
        // A big drop on too few calls.
        let few = calls("A1", "T1", 70.0, 10);
        assert!(find(&few, &baseline, RULES).is_empty());
    }
}
