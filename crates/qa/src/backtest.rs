//! Backtesting a scorecard change: score the same calls with the old and the
//! new scorecard and list the calls whose verdict or score changes, so an
//! analyst sees what a rule change does on history before publishing it.

use serde::Serialize;

use callscope_core::model::QaResult;

/// A call's verdict under one scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    /// The score.
    pub score: f64,
    /// Whether the call passed.
    pub passed: bool,
    /// Whether a fatal rule was violated.
    pub fatal: bool,
}

impl Verdict {
    fn of(result: &QaResult) -> Verdict {
        Verdict {
            score: result.score,
            passed: result.passed,
            fatal: result.fatal,
        }
    }
}

/// A call whose verdict or score differs between the old and new scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The call.
    pub call_id: String,
    /// Its agent, when known.
    pub agent_id: Option<String>,
    /// Under the old scorecard (`None`: its queues did not admit the call).
    pub old: Option<Verdict>,
    /// Under the new scorecard (`None`: its queues do not admit the call).
    pub new: Option<Verdict>,
    /// Rules violated under the new scorecard only.
    pub newly_violated: Vec<String>,
    /// Rules violated under the old scorecard only.
    pub no_longer_violated: Vec<String>,
}

impl Change {
    /// `pass → fail`, `fail → pass`, `score` or `scope` (admitted by one
    /// scorecard only).
    pub fn kind(&self) -> &'static str {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) if old.passed && !new.passed => "now fails",
            (Some(old), Some(new)) if !old.passed && new.passed => "now passes",
            (Some(_), Some(_)) => "score",
            (None, Some(_)) => "now scored",
            (Some(_), None) => "no longer scored",
            (None, None) => "unchanged",
        }
    }
}

/// Compares a call's old and new results; `None` when nothing that matters
/// changed (same score, verdict and fatality).
pub fn compare(
    call_id: &str,
    agent_id: Option<&str>,
    old: Option<&QaResult>,
    new: Option<&QaResult>,
) -> Option<Change> {
    let (old_verdict, new_verdict) = (old.map(Verdict::of), new.map(Verdict::of));
    let same = match (old_verdict, new_verdict) {
        (Some(old), Some(new)) => {
            (old.score - new.score).abs() < 1e-9
                && old.passed == new.passed
                && old.fatal == new.fatal
        }
        (None, None) => true,
        _ => false,
    };
    if same {
        return None;
    }
    let rules = |result: Option<&QaResult>| -> Vec<String> {
        result
            .map(|result| {
                result
                    .violations
                    .iter()
                    .map(|violation| violation.rule_id.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old_rules, new_rules) = (rules(old), rules(new));
    Some(Change {
        call_id: call_id.to_string(),
        agent_id: agent_id.map(str::to_string),
        old: old_verdict,
        new: new_verdict,
        newly_violated: new_rules
            .iter()
            .filter(|rule| !old_rules.contains(rule))
            .cloned()
            .collect(),
        no_longer_violated: old_rules
            .iter()
            .filter(|rule| !new_rules.contains(rule))
            .cloned()
            .collect(),
    })
}

/// Totals of a backtest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BacktestTotals {
    /// Calls compared.
    pub calls: u64,
    /// Calls the old scorecard scored.
    pub old_scored: u64,
    /// Calls the new scorecard scores.
    pub new_scored: u64,
    /// Calls passing under the old scorecard.
    pub old_passed: u64,
    /// Calls passing under the new scorecard.
    pub new_passed: u64,
    /// Sum of old scores.
    pub old_score_sum: f64,
    /// Sum of new scores.
    pub new_score_sum: f64,
    /// Calls whose verdict or score changes.
    pub changed: u64,
    /// Calls that passed and now fail.
    pub now_fail: u64,
    /// Calls that failed and now pass.
    pub now_pass: u64,
}

impl BacktestTotals {
    /// Counts one call.
    pub fn add(&mut self, old: Option<&QaResult>, new: Option<&QaResult>, change: Option<&Change>) {
        self.calls += 1;
        if let Some(old) = old {
            self.old_scored += 1;
            self.old_passed += u64::from(old.passed);
            self.old_score_sum += old.score;
        }
        if let Some(new) = new {
            self.new_scored += 1;
            self.new_passed += u64::from(new.passed);
            self.new_score_sum += new.score;
        }
        if let Some(change) = change {
            self.changed += 1;
            match change.kind() {
                "now fails" => self.now_fail += 1,
                "now passes" => self.now_pass += 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_core::model::Violation;

    fn result(score: f64, passed: bool, rules: &[&str]) -> QaResult {
        QaResult {
            call_id: "C1".to_string(),
            scorecard: "s".to_string(),
            score,
            passed,
            fatal: false,
            violations: rules
                .iter()
                .map(|rule| Violation {
                    rule_id: rule.to_string(),
                    name: rule.to_string(),
                    points: 5.0,
                    fatal: false,
                    evidence: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn changes_are_verdict_or_score_changes() {
        let old = result(90.0, true, &["closing"]);
        assert_eq!(compare("C1", None, Some(&old), Some(&old)), None);
        let new = result(75.0, false, &["closing", "greeting"]);
        let change = compare("C1", Some("A1"), Some(&old), Some(&new)).unwrap();
        assert_eq!(change.kind(), "now fails");
        assert_eq!(change.newly_violated, vec!["greeting"]);
        assert!(change.no_longer_violated.is_empty());
        let back = compare("C1", None, Some(&new), Some(&old)).unwrap();
        assert_eq!(back.kind(), "now passes");
        assert_eq!(back.no_longer_violated, vec!["greeting"]);
        assert_eq!(
            compare("C1", None, None, Some(&old)).unwrap().kind(),
            "now scored"
        );
        // A renamed rule with the same score is not a change.
        let renamed = result(90.0, true, &["goodbye"]);
        assert_eq!(compare("C1", None, Some(&old), Some(&renamed)), None);
    }
}
