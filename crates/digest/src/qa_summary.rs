//! QA results per call, read from the store, and their summary: pass rate,
//! average score, fatal rate and most violated rules, overall and per team.
//!
//! A call scored on several scorecards counts once: its score is the mean of
//! its scores, it passed when it passed every scorecard, and a rule counts
//! once per call however many scorecards flagged it.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Deserialize;

use super::report::{QaSummary, RuleCount, TeamQa};
use callscope_core::error::Result;
use callscope_core::model::QaFigures;
use callscope_store::{CallFilter, Store};

/// Rules listed per summary.
const TOP_RULES: usize = 10;

/// Rules listed per team.
const TOP_TEAM_RULES: usize = 3;

/// One scored call.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCall {
    /// The agent.
    pub agent_id: Option<String>,
    /// The team.
    pub team: Option<String>,
    /// Mean score over the call's scorecards.
    pub score: f64,
    /// Passed every scorecard.
    pub passed: bool,
    /// Violated a fatal rule.
    pub fatal: bool,
    /// Violated rules `(rule_id, name)`, each once.
    pub violations: Vec<(String, String)>,
    /// Number of QA results merged.
    pub results: u64,
    /// Scorecards.
    pub scorecards: Vec<String>,
}

#[derive(Deserialize)]
struct ViolationsOnly {
    #[serde(default)]
    violations: Vec<RuleOnly>,
}

#[derive(Deserialize)]
struct RuleOnly {
    rule_id: String,
    #[serde(default)]
    name: String,
}

/// Reads the scored calls that `filter` selects; `with_violations` also
/// decodes which rules were violated (the costly part).
pub fn read(store: &Store, filter: &CallFilter, with_violations: bool) -> Result<Vec<ScoredCall>> {
    let mut rows: Vec<QaFigures> = Vec::new();
    store.for_each_qa_figures(filter, with_violations, |figures| {
        rows.push(figures);
        Ok(())
    })?;
    let violations: Vec<Vec<(String, String)>> = rows
        .par_iter()
        .map(|row| {
            row.body
                .as_deref()
                .and_then(|body| serde_json::from_str::<ViolationsOnly>(body).ok())
                .map(|parsed| {
                    parsed
                        .violations
                        .into_iter()
                        .map(|rule| (rule.rule_id, rule.name))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let mut calls: Vec<ScoredCall> = Vec::new();
    let mut previous: Option<&str> = None;
    for (row, rules) in rows.iter().zip(violations) {
        if previous == Some(row.call_id.as_str()) {
            let call = calls.last_mut().expect("a call was started");
            call.score = (call.score * call.results as f64 + row.score) / (call.results + 1) as f64;
            call.results += 1;
            call.passed &= row.passed;
            call.fatal |= row.fatal;
            call.scorecards.push(row.scorecard.clone());
            for rule in rules {
                if !call.violations.iter().any(|known| known.0 == rule.0) {
                    call.violations.push(rule);
                }
            }
            continue;
        }
        let mut unique: Vec<(String, String)> = Vec::with_capacity(rules.len());
        for rule in rules {
            if !unique.iter().any(|known| known.0 == rule.0) {
                unique.push(rule);
            }
        }
        calls.push(ScoredCall {
            agent_id: row.agent_id.clone(),
            team: row.team.clone(),
            score: row.score,
            passed: row.passed,
            fatal: row.fatal,
            violations: unique,
            results: 1,
            scorecards: vec![row.scorecard.clone()],
        });
        previous = Some(row.call_id.as_str());
    }
    Ok(calls)
}

#[derive(Default)]
struct Tally {
    calls: u64,
    passed: u64,
    fatal: u64,
    score: f64,
    rules: HashMap<String, (String, u64)>,
}

impl Tally {
    fn add(&mut self, call: &ScoredCall) {
        self.calls += 1;
        self.passed += u64::from(call.passed);
        self.fatal += u64::from(call.fatal);
        self.score += call.score;
        for (rule_id, name) in &call.violations {
            let entry = self
                .rules
                .entry(rule_id.clone())
                .or_insert_with(|| (name.clone(), 0));
            entry.1 += 1;
        }
    }

    fn rate(&self, count: u64) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            count as f64 / self.calls as f64
        }
    }

    fn top_rules(&self, limit: usize) -> Vec<RuleCount> {
        let mut rules: Vec<RuleCount> = self
            .rules
            .iter()
            .map(|(rule_id, (name, calls))| RuleCount {
                rule_id: rule_id.clone(),
                name: name.clone(),
                calls: *calls,
                rate: self.rate(*calls),
            })
            .collect();
        rules.sort_by(|left, right| {
            right
                .calls
                .cmp(&left.calls)
                .then(left.rule_id.cmp(&right.rule_id))
        });
        rules.truncate(limit);
        rules
    }
}

/// Summarizes scored calls overall and per team.
pub fn summarize(calls: &[ScoredCall]) -> QaSummary {
    let mut overall = Tally::default();
    let mut teams: BTreeMap<String, Tally> = BTreeMap::new();
    let mut results = 0;
    let mut scorecards: Vec<String> = Vec::new();
    for call in calls {
        overall.add(call);
        results += call.results;
        for scorecard in &call.scorecards {
            if !scorecards.contains(scorecard) {
                scorecards.push(scorecard.clone());
            }
        }
        teams
            .entry(call.team.clone().unwrap_or_else(|| "-".to_string()))
            .or_default()
            .add(call);
    }
    scorecards.sort();
    QaSummary {
        calls: overall.calls,
        results,
        scorecards,
        pass_rate: overall.rate(overall.passed),
        average_score: if overall.calls == 0 {
            0.0
        } else {
            overall.score / overall.calls as f64
        },
        fatal_rate: overall.rate(overall.fatal),
        top_violations: overall.top_rules(TOP_RULES),
        teams: teams
            .into_iter()
            .map(|(team, tally)| TeamQa {
                team,
                calls: tally.calls,
                pass_rate: tally.rate(tally.passed),
                average_score: tally.score / tally.calls.max(1) as f64,
                fatal_rate: tally.rate(tally.fatal),
                top_violations: tally.top_rules(TOP_TEAM_RULES),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(team: &str, score: f64, passed: bool, rules: &[&str]) -> ScoredCall {
        ScoredCall {
            agent_id: Some("A1".to_string()),
            team: Some(team.to_string()),
            score,
            passed,
            fatal: false,
            violations: rules
                .iter()
                .map(|rule| (rule.to_string(), format!("rule {rule}")))
                .collect(),
            results: 1,
            scorecards: vec!["card".to_string()],
        }
    }

    #[test]
    fn summary_overall_and_per_team() {
        let calls = vec![
            call("T1", 90.0, true, &["closing"]),
            call("T1", 70.0, false, &["closing", "forbidden"]),
            call("T2", 100.0, true, &[]),
            call("T2", 60.0, false, &["forbidden"]),
        ];
        let summary = summarize(&calls);
        assert_eq!(summary.calls, 4);
        assert!((summary.pass_rate - 0.5).abs() < 1e-12);
        assert!((summary.average_score - 80.0).abs() < 1e-12);
        assert_eq!(summary.top_violations[0].calls, 2);
        assert_eq!(summary.top_violations[0].rule_id, "closing");
        assert_eq!(summary.top_violations[1].rule_id, "forbidden");
        assert_eq!(summary.teams.len(), 2);
        assert!((summary.teams[0].average_score - 80.0).abs() < 1e-12);
        assert_eq!(summary.teams[1].top_violations[0].rule_id, "forbidden");
        assert_eq!(summarize(&[]).calls, 0);
    }
}
