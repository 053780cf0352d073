//! Totals over many QA results: pass rate, average score, the most violated
//! rules and the worst agents, per scorecard (what `callscope qa` prints).

use std::collections::BTreeMap;

use serde::Serialize;

use callscope_core::model::QaResult;

/// Totals of many results, one entry per scorecard in order of appearance.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    scorecards: Vec<Totals>,
}

#[derive(Debug, Clone, Default)]
struct Totals {
    scorecard: String,
    calls: u64,
    passed: u64,
    fatal: u64,
    score_sum: f64,
    /// rule id -> (name, calls violating it)
    rules: BTreeMap<String, (String, u64)>,
    /// agent id -> (calls, passed, score sum)
    agents: BTreeMap<String, (u64, u64, f64)>,
}

/// The summary of one scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorecardSummary {
    /// The scorecard's name.
    pub scorecard: String,
    /// Calls scored.
    pub calls: u64,
    /// Calls that passed.
    pub passed: u64,
    /// Calls with a fatal violation.
    pub fatal: u64,
    /// `passed / calls` (0 without calls).
    pub pass_rate: f64,
    /// Mean score.
    pub average_score: f64,
    /// Rules by number of calls violating them, most first.
    pub most_violated: Vec<RuleCount>,
    /// Agents by average score, lowest first.
    pub worst_agents: Vec<AgentScore>,
}

/// How many calls violated a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCount {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    pub name: String,
    /// Calls violating it.
    pub calls: u64,
    /// Share of the scorecard's calls.
    pub share: f64,
}

/// An agent's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentScore {
    /// The agent.
    pub agent_id: String,
    /// Calls scored.
    pub calls: u64,
    /// Share of them that passed.
    pub pass_rate: f64,
    /// Mean score.
    pub average_score: f64,
}

impl Summary {
    /// Adds one result of a call handled by `agent_id`.
    pub fn add(&mut self, result: &QaResult, agent_id: Option<&str>) {
        let position = match self
            .scorecards
            .iter()
            .position(|totals| totals.scorecard == result.scorecard)
        {
            Some(position) => position,
            None => {
                self.scorecards.push(Totals {
                    scorecard: result.scorecard.clone(),
                    ..Totals::default()
                });
                self.scorecards.len() - 1
            }
        };
        let totals = &mut self.scorecards[position];
        totals.calls += 1;
        totals.passed += u64::from(result.passed);
        totals.fatal += u64::from(result.fatal);
        totals.score_sum += result.score;
        for violation in &result.violations {
            totals
                .rules
                .entry(violation.rule_id.clone())
                .or_insert_with(|| (violation.name.clone(), 0))
                .1 += 1;
        }
        if let Some(agent_id) = agent_id {
            let agent = totals.agents.entry(agent_id.to_string()).or_default();
            agent.0 += 1;
            agent.1 += u64::from(result.passed);
            agent.2 += result.score;
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.scorecards.is_empty()
    }

    /// Per-scorecard summaries with the `top` most violated rules and worst
    /// agents.
    pub fn report(&self, top: usize) -> Vec<ScorecardSummary> {
        self.scorecards
            .iter()
            .map(|totals| {
                let calls = totals.calls.max(1) as f64;
                let mut most_violated: Vec<RuleCount> = totals
                    .rules
                    .iter()
                    .map(|(rule_id, (name, count))| RuleCount {
                        rule_id: rule_id.clone(),
                        name: name.clone(),
                        calls: *count,
                        share: *count as f64 / calls,
                    })
                    .collect();
                most_violated.sort_by(|left, right| {
                    right
                        .calls
                        .cmp(&left.calls)
                        .then(left.rule_id.cmp(&right.rule_id))
                });
                most_violated.truncate(top);
                let mut worst_agents: Vec<AgentScore> = totals
                    .agents
                    .iter()
                    .map(|(agent_id, (count, passed, sum))| AgentScore {
                        agent_id: agent_id.clone(),
                        calls: *count,
                        pass_rate: *passed as f64 / *count as f64,
                        average_score: sum / *count as f64,
                    })
                    .collect();
                worst_agents.sort_by(|left, right| {
                    left.average_score
                        .total_cmp(&right.average_score)
                        .then(right.calls.cmp(&left.calls))
                        .then(left.agent_id.cmp(&right.agent_id))
                });
                worst_agents.truncate(top);
                ScorecardSummary {
                    scorecard: totals.scorecard.clone(),
                    calls: totals.calls,
                    passed: totals.passed,
                    fatal: totals.fatal,
                    pass_rate: totals.passed as f64 / calls,
                    average_score: totals.score_sum / calls,
                    most_violated,
                    worst_agents,
                }
            })
            .collect()
    }
}
