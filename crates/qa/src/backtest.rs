//! Backtesting a scorecard change: score the same calls with the old and the
//! new scorecard and list the calls whose verdict or score changes, so an
//! analyst sees what a rule change does on history before publishing it.

use serde::Serialize;

use callscope_core::model::QaResult;

use crate::scorecard::{Rule, Scorecard};

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

/// The ids of the rules that differ between an old and a new version of a
/// scorecard: added, removed, or with another condition, expectation,
/// points or fatality (where a rule sits in the file does not count), in
/// the new scorecard's order, then the removed ones.
pub fn changed_rules(old: &Scorecard, new: &Scorecard) -> Vec<String> {
    let mut changed: Vec<String> = new
        .rules
        .iter()
        .filter(|rule| {
            old.rules
                .iter()
                .find(|before| before.id == rule.id)
                .is_none_or(|before| fingerprint(before) != fingerprint(rule))
        })
        .map(|rule| rule.id.clone())
        .collect();
    changed.extend(
        old.rules
            .iter()
            .filter(|rule| !new.rules.iter().any(|after| after.id == rule.id))
            .map(|rule| rule.id.clone()),
    );
    changed
}

/// What decides a rule's verdict and weight, without line numbers.
fn fingerprint(rule: &Rule) -> String {
    let text = format!(
        "{:?}|{:?}|{}|{}",
        rule.expect, rule.when, rule.points, rule.fatal
    );
    let mut kept = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(index) = rest.find("line: ") {
        kept.push_str(&rest[..index]);
        rest = rest[index + "line: ".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    kept.push_str(rest);
    kept
}

/// How the old and the new version of a changed rule agree with the
/// reviewers' verdicts (复核) on the calls reviewers judged it on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReviewedAgreement {
    /// The rule.
    pub rule_id: String,
    /// Reviewed calls compared (scored by both versions).
    pub reviewed_calls: u64,
    /// Calls where the old rule's verdict is the reviewers'.
    pub old_agrees: u64,
    /// Calls where the new rule's verdict is the reviewers'.
    pub new_agrees: u64,
    /// Reviewed violations the new rule finds and the old did not.
    pub newly_caught: u64,
    /// Reviewed non-violations the new rule flags and the old did not.
    pub new_false_alarms: u64,
}

impl ReviewedAgreement {
    /// Counts one reviewed call: the reviewers' verdict (violated or not)
    /// against the old and the new rule's.
    pub fn add(&mut self, reviewed: bool, old: bool, new: bool) {
        self.reviewed_calls += 1;
        self.old_agrees += u64::from(old == reviewed);
        self.new_agrees += u64::from(new == reviewed);
        self.newly_caught += u64::from(reviewed && new && !old);
        self.new_false_alarms += u64::from(!reviewed && new && !old);
    }

    /// `agrees / reviewed_calls` in percent.
    pub fn percent(agrees: u64, calls: u64) -> f64 {
        if calls == 0 {
            0.0
        } else {
            100.0 * agrees as f64 / calls as f64
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

    fn card(greeting: &str, extra: &str) -> Scorecard {
        Scorecard::parse(
            &format!(
                "{extra}[scorecard]\nname = \"s\"\npass_score = 80\n\n\
                 [[rule]]\nid = \"greeting\"\nexpect = \"present\"\npoints = 5\n\
                 [rule.when]\nop = \"keyword\"\nwords = [\"{greeting}\"]\n\n\
                 [[rule]]\nid = \"rude\"\nexpect = \"absent\"\npoints = 5\n\
                 [rule.when]\nop = \"keyword\"\nwords = [\"滚\"]\n"
            ),
            "s.toml",
        )
        .unwrap()
    }

    #[test]
    fn changed_rules_ignore_lines_and_agreement_counts() {
        let old = card("您好", "");
        assert!(changed_rules(&old, &card("您好", "\n\n# moved down\n")).is_empty());
        assert_eq!(changed_rules(&old, &card("你好", "")), vec!["greeting"]);
        let mut agreement = ReviewedAgreement::default();
        agreement.add(true, false, true);
        agreement.add(false, false, true);
        agreement.add(false, false, false);
        assert_eq!(
            (
                agreement.reviewed_calls,
                agreement.old_agrees,
                agreement.new_agrees,
                agreement.newly_caught,
                agreement.new_false_alarms
            ),
            (3, 2, 2, 1, 1)
        );
        assert_eq!(ReviewedAgreement::percent(1, 4), 25.0);
    }
}
