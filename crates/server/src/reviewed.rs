//! What reviews and appeals make of the machine's verdicts: each rule's
//! reviewed verdict (the latest current review or accepted appeal), which
//! reviews are outdated (the machine's verdict changed since), the reviewed
//! score (the scorecard's own scoring, [`callscope_qa::score_of`], over the
//! reviewed verdicts), the rules' figures and the calibration figures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use callscope_core::error::Result;
use callscope_core::model::{Evidence, QaResult};
use callscope_qa::Scorecard;
use callscope_store::reviews::{Appeal, AppealStatus, ResultVersion, Review};
use callscope_store::workspace::Workspace;

/// The scorecards the workspace scores with (kept in the store by
/// `callscope scorecard push`, else `[qa] scorecards` of `callscope.toml`,
/// else the bundled example): their rules are what a reviewer can judge
/// (passed rules too) and their weights give reviewed scores.
///
/// Parsed once and kept while the stored scorecards, the config file and
/// the scorecard files keep their text: a call page reads them but does
/// not parse them again.
pub fn scorecards(workspace: &Workspace) -> Result<Arc<Vec<Scorecard>>> {
    static CACHE: Mutex<Option<(String, Arc<Vec<Scorecard>>)>> = Mutex::new(None);
    let config = workspace.config()?;
    let stored = workspace.open_existing_store()?.scorecards()?;
    let key = if stored.is_empty() {
        scorecards_key(workspace, &config)?
    } else {
        stored
            .iter()
            .fold(String::from("store\n"), |key, scorecard| {
                format!("{key}{}\n{}\n", scorecard.name, scorecard.source)
            })
    };
    if let Ok(cache) = CACHE.lock() {
        if let Some((cached, scorecards)) = cache.as_ref() {
            if *cached == key {
                return Ok(Arc::clone(scorecards));
            }
        }
    }
    let scorecards = Arc::new(if stored.is_empty() {
        callscope_pipeline::scoring::workspace_scorecards(&config)?
    } else {
        callscope_pipeline::scoring::parse_stored_scorecards(&stored)?
    });
    if let Ok(mut cache) = CACHE.lock() {
        *cache = Some((key, Arc::clone(&scorecards)));
    }
    Ok(scorecards)
}

/// What the configured scorecards depend on: the text of the config file
/// and of each scorecard file.
fn scorecards_key(
    workspace: &Workspace,
    config: &callscope_core::config::WorkspaceConfig,
) -> Result<String> {
    let path = workspace.config_path();
    let mut key = format!(
        "{}\n{}\n",
        path.display(),
        std::fs::read_to_string(&path).unwrap_or_default()
    );
    let section: callscope_pipeline::scoring::QaSection = config.section("qa")?;
    for file in &section.scorecards {
        let file = match config.base_dir() {
            Some(base) if file.is_relative() => base.join(file),
            _ => file.clone(),
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        key.push_str(&format!("{}\n{text}\n", file.display()));
    }
    Ok(key)
}

/// A review with whether it still judges the current verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    /// The review as stored.
    #[serde(flatten)]
    pub review: Review,
    /// The machine's verdict on the rule changed since the review (the call
    /// was scored again): it no longer counts.
    pub outdated: bool,
}

/// An appeal with whether it still concerns the current verdict.
#[derive(Debug, Clone, Serialize)]
pub struct AppealView {
    /// The appeal as stored.
    #[serde(flatten)]
    pub appeal: Appeal,
    /// The machine's verdict on the rule changed since the appeal.
    pub outdated: bool,
}

/// One rule of a result: the machine's verdict, the reviewed one, and the
/// reviews and appeals behind it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleVerdict {
    /// The rule's id.
    pub rule_id: String,
    /// Its display name.
    pub name: String,
    /// Points deducted when violated.
    pub points: f64,
    /// Whether it is fatal.
    pub fatal: bool,
    /// The machine's verdict: violated or passed.
    pub machine_violated: bool,
    /// The machine's evidence (masked as stored).
    pub evidence: Vec<Evidence>,
    /// The verdict after reviews and accepted appeals; `None` when no
    /// current review or accepted appeal exists.
    pub reviewed_violated: Option<bool>,
    /// What set the reviewed verdict (`review 3 by ana`, `appeal 2
    /// accepted by lead1`).
    pub reviewed_by: Option<String>,
    /// Every review of the rule, oldest first.
    pub reviews: Vec<ReviewView>,
    /// Every appeal of the rule, oldest first.
    pub appeals: Vec<AppealView>,
    /// Whether the scorecard (as configured now) has this rule.
    pub in_scorecard: bool,
}

impl RuleVerdict {
    /// The verdict that counts: the reviewed one, else the machine's.
    pub fn effective_violated(&self) -> bool {
        self.reviewed_violated.unwrap_or(self.machine_violated)
    }
}

/// A QA result with its reviewed verdicts and score.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewedResult {
    /// The scorecard.
    pub scorecard: String,
    /// The machine's score, as stored.
    pub machine_score: f64,
    /// The machine's pass.
    pub machine_passed: bool,
    /// The machine's fatal flag.
    pub machine_fatal: bool,
    /// The score with the reviewed verdicts; `None` before any current
    /// review or accepted appeal, or when the scorecard is not configured.
    pub reviewed_score: Option<f64>,
    /// Pass with the reviewed verdicts.
    pub reviewed_passed: Option<bool>,
    /// Fatal with the reviewed verdicts.
    pub reviewed_fatal: Option<bool>,
    /// Whether the scorecard is among the workspace's (else only violated
    /// rules can be judged and no reviewed score is computed).
    pub known_scorecard: bool,
    /// The stored result's version.
    pub version: Option<ResultVersion>,
    /// Every rule: the scorecard's rules in order, then rules only the
    /// stored result or the reviews know.
    pub rules: Vec<RuleVerdict>,
}

/// The reviewed verdicts of a call's results.
pub fn reviewed_results(
    results: &[QaResult],
    scorecards: &[Scorecard],
    reviews: &[Review],
    appeals: &[Appeal],
    versions: &HashMap<String, ResultVersion>,
) -> Vec<ReviewedResult> {
    results
        .iter()
        .map(|result| {
            let scorecard = scorecards
                .iter()
                .find(|scorecard| scorecard.name == result.scorecard);
            reviewed_result(
                result,
                scorecard,
                reviews,
                appeals,
                versions.get(&result.scorecard).copied(),
            )
        })
        .collect()
}

fn reviewed_result(
    result: &QaResult,
    scorecard: Option<&Scorecard>,
    reviews: &[Review],
    appeals: &[Appeal],
    version: Option<ResultVersion>,
) -> ReviewedResult {
    let mut rules: Vec<RuleVerdict> = Vec::new();
    let blank = |rule_id: &str, name: &str, points: f64, fatal: bool, known: bool| RuleVerdict {
        rule_id: rule_id.to_string(),
        name: name.to_string(),
        points,
        fatal,
        machine_violated: false,
        evidence: Vec::new(),
        reviewed_violated: None,
        reviewed_by: None,
        reviews: Vec::new(),
        appeals: Vec::new(),
        in_scorecard: known,
    };
    if let Some(scorecard) = scorecard {
        for rule in &scorecard.rules {
            rules.push(blank(&rule.id, &rule.name, rule.points, rule.fatal, true));
        }
    }
    for violation in &result.violations {
        let index = match rules
            .iter()
            .position(|rule| rule.rule_id == violation.rule_id)
        {
            Some(index) => index,
            None => {
                rules.push(blank(
                    &violation.rule_id,
                    &violation.name,
                    violation.points,
                    violation.fatal,
                    false,
                ));
                rules.len() - 1
            }
        };
        rules[index].machine_violated = true;
        rules[index].evidence = violation.evidence.clone();
    }
    let mine = |call_id: &str, card: &str| call_id == result.call_id && card == result.scorecard;
    for review in reviews
        .iter()
        .filter(|review| mine(&review.call_id, &review.scorecard))
    {
        if !rules.iter().any(|rule| rule.rule_id == review.rule_id) {
            rules.push(blank(&review.rule_id, &review.rule_id, 0.0, false, false));
        }
    }
    for rule in &mut rules {
        // A rule the result and the scorecard no longer know has no
        // current machine verdict: everything about it is outdated.
        let gone = !rule.in_scorecard && !rule.machine_violated && scorecard.is_some();
        rule.reviews = reviews
            .iter()
            .filter(|review| mine(&review.call_id, &review.scorecard))
            .filter(|review| review.rule_id == rule.rule_id)
            .map(|review| ReviewView {
                outdated: gone || review.machine_violated != rule.machine_violated,
                review: review.clone(),
            })
            .collect();
        rule.appeals = appeals
            .iter()
            .filter(|appeal| mine(&appeal.call_id, &appeal.scorecard))
            .filter(|appeal| appeal.rule_id == rule.rule_id)
            .map(|appeal| AppealView {
                outdated: gone || appeal.machine_violated != rule.machine_violated,
                appeal: appeal.clone(),
            })
            .collect();
        // The latest current review or accepted appeal sets the verdict.
        let mut latest: Option<((i64, u8, i64), bool, String)> = None;
        for view in rule.reviews.iter().filter(|view| !view.outdated) {
            let key = (view.review.created_at, 0, view.review.id);
            if latest.as_ref().is_none_or(|(best, _, _)| key > *best) {
                latest = Some((
                    key,
                    view.review.reviewed_violated,
                    format!("review {} by {}", view.review.id, view.review.reviewer),
                ));
            }
        }
        for view in rule.appeals.iter().filter(|view| !view.outdated) {
            let appeal = &view.appeal;
            if appeal.status != AppealStatus::Accepted {
                continue;
            }
            let key = (appeal.decided_at.unwrap_or(appeal.created_at), 1, appeal.id);
            if latest.as_ref().is_none_or(|(best, _, _)| key > *best) {
                latest = Some((
                    key,
                    !appeal.appealed_violated,
                    format!(
                        "appeal {} accepted by {}",
                        appeal.id,
                        appeal.decided_by.as_deref().unwrap_or("-")
                    ),
                ));
            }
        }
        if let Some((_, violated, by)) = latest {
            rule.reviewed_violated = Some(violated);
            rule.reviewed_by = Some(by);
        }
    }
    let any_reviewed = rules.iter().any(|rule| rule.reviewed_violated.is_some());
    let reviewed = scorecard.filter(|_| any_reviewed).map(|scorecard| {
        let violated: BTreeSet<&str> = rules
            .iter()
            .filter(|rule| rule.in_scorecard && rule.effective_violated())
            .map(|rule| rule.rule_id.as_str())
            .collect();
        callscope_qa::score_of(
            scorecard,
            scorecard
                .rules
                .iter()
                .filter(|rule| violated.contains(rule.id.as_str())),
        )
    });
    ReviewedResult {
        scorecard: result.scorecard.clone(),
        machine_score: result.score,
        machine_passed: result.passed,
        machine_fatal: result.fatal,
        reviewed_score: reviewed.map(|scored| scored.score),
        reviewed_passed: reviewed.map(|scored| scored.passed),
        reviewed_fatal: reviewed.map(|scored| scored.fatal),
        known_scorecard: scorecard.is_some(),
        version,
        rules,
    }
}

/// The current review of each reviewer on each judged rule: the latest one
/// per reviewer, unless outdated. Keyed by `(call, scorecard, rule)`, then
/// reviewer.
pub type CurrentReviews = BTreeMap<(String, String, String), BTreeMap<String, Review>>;

/// The latest review per reviewer and rule, leaving out reviews whose
/// judged verdict is no longer the machine's (`violated` holds the rules
/// each stored result violates now, by call and scorecard; a result that is
/// gone makes its reviews outdated).
pub fn current_reviews(
    reviews: impl IntoIterator<Item = Review>,
    violated: &HashMap<(String, String), BTreeSet<String>>,
) -> CurrentReviews {
    let mut current: CurrentReviews = BTreeMap::new();
    for review in reviews {
        let Some(rules) = violated.get(&(review.call_id.clone(), review.scorecard.clone())) else {
            continue;
        };
        if rules.contains(&review.rule_id) != review.machine_violated {
            continue;
        }
        let key = (
            review.call_id.clone(),
            review.scorecard.clone(),
            review.rule_id.clone(),
        );
        let by_reviewer = current.entry(key).or_default();
        let newer = by_reviewer
            .get(&review.reviewer)
            .is_none_or(|seen| (review.created_at, review.id) > (seen.created_at, seen.id));
        if newer {
            by_reviewer.insert(review.reviewer.clone(), review);
        }
    }
    current
}

/// The verdict reviewers gave a rule on a call: the latest current review
/// among all reviewers.
pub fn latest_of(by_reviewer: &BTreeMap<String, Review>) -> Option<&Review> {
    by_reviewer
        .values()
        .max_by_key(|review| (review.created_at, review.id))
}

/// A rule's figures over a window (`/rules`, `GET /api/rules`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleFigures {
    /// The scorecard.
    pub scorecard: String,
    /// The rule.
    pub rule_id: String,
    /// Its display name.
    pub name: String,
    /// Results the machine found violating it.
    pub machine_hits: u64,
    /// Calls where reviewers judged the rule (current reviews).
    pub reviewed: u64,
    /// Machine hits reviewers judged.
    pub reviewed_hits: u64,
    /// Machine hits reviewers confirmed.
    pub confirmed: u64,
    /// Machine hits reviewers overturned (false alarms).
    pub overturned: u64,
    /// `confirmed / reviewed_hits`; `None` before any reviewed hit.
    pub precision: Option<f64>,
    /// Passed rules reviewers found violated (misses).
    pub misses: u64,
    /// The same figures per ISO week of the calls, oldest first.
    pub weeks: Vec<WeekFigures>,
}

/// One week of a rule's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WeekFigures {
    /// ISO week, `2026-W36`.
    pub week: String,
    /// Machine hits.
    pub machine_hits: u64,
    /// Reviewed hits.
    pub reviewed_hits: u64,
    /// Confirmed hits.
    pub confirmed: u64,
    /// Misses found.
    pub misses: u64,
}

/// Which calls a rule figure counts (`/rules/calls?kind=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureKind {
    /// Machine hits.
    Hits,
    /// Calls reviewers judged.
    Reviewed,
    /// Confirmed machine hits.
    Confirmed,
    /// Overturned machine hits.
    Overturned,
    /// Misses found by reviewers.
    Misses,
}

impl FigureKind {
    /// The name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            FigureKind::Hits => "hits",
            FigureKind::Reviewed => "reviewed",
            FigureKind::Confirmed => "confirmed",
            FigureKind::Overturned => "overturned",
            FigureKind::Misses => "misses",
        }
    }
}

/// One machine verdict or review counted by the rules page: which call,
/// week, rule, and which figures it adds to.
#[derive(Debug, Clone)]
pub struct Counted {
    /// The call.
    pub call_id: String,
    /// Its ISO week.
    pub week: String,
    /// Scorecard and rule.
    pub rule: (String, String),
    /// The figures it adds to.
    pub kinds: Vec<FigureKind>,
}

/// The ISO week of a local date (`2026-09-01` → `2026-W36`).
pub fn iso_week(local_date: Option<&str>) -> String {
    local_date
        .and_then(|date| chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
        .map(|date| date.format("%G-W%V").to_string())
        .unwrap_or_else(|| "-".to_string())
}

/// Collects the rules page's figures: `results` are the stored results of
/// the window (call, local date, result), `current` the current reviews of
/// the same calls, `names` the rules' names by scorecard and rule.
pub fn rule_figures(
    counted: &[Counted],
    names: &HashMap<(String, String), String>,
) -> Vec<RuleFigures> {
    let mut figures: BTreeMap<(String, String), RuleFigures> = BTreeMap::new();
    let mut weeks: BTreeMap<(String, String), BTreeMap<String, WeekFigures>> = BTreeMap::new();
    for (key, name) in names {
        figures.entry(key.clone()).or_insert_with(|| RuleFigures {
            scorecard: key.0.clone(),
            rule_id: key.1.clone(),
            name: name.clone(),
            ..RuleFigures::default()
        });
    }
    for item in counted {
        let entry = figures
            .entry(item.rule.clone())
            .or_insert_with(|| RuleFigures {
                scorecard: item.rule.0.clone(),
                rule_id: item.rule.1.clone(),
                name: item.rule.1.clone(),
                ..RuleFigures::default()
            });
        let week = weeks
            .entry(item.rule.clone())
            .or_default()
            .entry(item.week.clone())
            .or_insert_with(|| WeekFigures {
                week: item.week.clone(),
                ..WeekFigures::default()
            });
        for kind in &item.kinds {
            match kind {
                FigureKind::Hits => {
                    entry.machine_hits += 1;
                    week.machine_hits += 1;
                }
                FigureKind::Reviewed => entry.reviewed += 1,
                FigureKind::Confirmed => {
                    entry.confirmed += 1;
                    entry.reviewed_hits += 1;
                    week.confirmed += 1;
                    week.reviewed_hits += 1;
                }
                FigureKind::Overturned => {
                    entry.overturned += 1;
                    entry.reviewed_hits += 1;
                    week.reviewed_hits += 1;
                }
                FigureKind::Misses => {
                    entry.misses += 1;
                    week.misses += 1;
                }
            }
        }
    }
    figures
        .into_iter()
        .map(|(key, mut figure)| {
            figure.precision = (figure.reviewed_hits > 0)
                .then(|| figure.confirmed as f64 / figure.reviewed_hits as f64);
            figure.weeks = weeks
                .remove(&key)
                .map(|weeks| weeks.into_values().collect())
                .unwrap_or_default();
            figure
        })
        .collect()
}

/// The figures a current review adds to (beside the machine hit itself).
pub fn review_kinds(review: &Review) -> Vec<FigureKind> {
    let mut kinds = vec![FigureKind::Reviewed];
    match (review.machine_violated, review.reviewed_violated) {
        (true, true) => kinds.push(FigureKind::Confirmed),
        (true, false) => kinds.push(FigureKind::Overturned),
        (false, true) => kinds.push(FigureKind::Misses),
        (false, false) => {}
    }
    kinds
}

/// How two or more reviewers agree on one rule (`/calibration`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Agreement {
    /// The scorecard.
    pub scorecard: String,
    /// The rule.
    pub rule_id: String,
    /// Calls judged by at least two reviewers.
    pub calls: u64,
    /// Pairs of reviewers' verdicts compared.
    pub pairs: u64,
    /// Pairs that agree.
    pub agreeing: u64,
    /// `agreeing / pairs` in percent.
    pub percent: Option<f64>,
    /// Cohen's kappa over the pairs (the first reviewer by name against the
    /// second); `None` when chance agreement is total.
    pub kappa: Option<f64>,
}

/// One call and rule the reviewers disagree on.
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    /// The call.
    pub call_id: String,
    /// The scorecard.
    pub scorecard: String,
    /// The rule.
    pub rule_id: String,
    /// The machine's verdict.
    pub machine_violated: bool,
    /// Each reviewer's verdict and comment.
    pub verdicts: Vec<ReviewerVerdict>,
}

/// One reviewer's verdict in a disagreement.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewerVerdict {
    /// The reviewer.
    pub reviewer: String,
    /// Their verdict: violated or not.
    pub violated: bool,
    /// Their comment (masked).
    pub comment: String,
}

/// The calibration figures: agreement per rule and the disagreements, over
/// rules judged by at least two reviewers on the same call.
pub fn calibration(current: &CurrentReviews) -> (Vec<Agreement>, Vec<Disagreement>) {
    let mut agreements: BTreeMap<(String, String), Agreement> = BTreeMap::new();
    // Per rule: the (first, second) verdict pairs, for kappa.
    let mut pairs: BTreeMap<(String, String), Vec<(bool, bool)>> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for ((call_id, scorecard, rule_id), by_reviewer) in current {
        if by_reviewer.len() < 2 {
            continue;
        }
        let key = (scorecard.clone(), rule_id.clone());
        let agreement = agreements.entry(key.clone()).or_insert_with(|| Agreement {
            scorecard: scorecard.clone(),
            rule_id: rule_id.clone(),
            ..Agreement::default()
        });
        agreement.calls += 1;
        let verdicts: Vec<&Review> = by_reviewer.values().collect();
        for (index, first) in verdicts.iter().enumerate() {
            for second in &verdicts[index + 1..] {
                agreement.pairs += 1;
                if first.reviewed_violated == second.reviewed_violated {
                    agreement.agreeing += 1;
                }
                pairs
                    .entry(key.clone())
                    .or_default()
                    .push((first.reviewed_violated, second.reviewed_violated));
            }
        }
        if verdicts
            .iter()
            .any(|review| review.reviewed_violated != verdicts[0].reviewed_violated)
        {
            disagreements.push(Disagreement {
                call_id: call_id.clone(),
                scorecard: scorecard.clone(),
                rule_id: rule_id.clone(),
                machine_violated: verdicts[0].machine_violated,
                verdicts: verdicts
                    .iter()
                    .map(|review| ReviewerVerdict {
                        reviewer: review.reviewer.clone(),
                        violated: review.reviewed_violated,
                        comment: review.comment.clone(),
                    })
                    .collect(),
            });
        }
    }
    let agreements = agreements
        .into_iter()
        .map(|(key, mut agreement)| {
            if agreement.pairs > 0 {
                agreement.percent =
                    Some(100.0 * agreement.agreeing as f64 / agreement.pairs as f64);
            }
            agreement.kappa = pairs.get(&key).and_then(|pairs| cohen_kappa(pairs));
            agreement
        })
        .collect();
    (agreements, disagreements)
}

/// Cohen's kappa of two raters' yes/no verdicts; `None` when the expected
/// agreement is 1 (both always said the same thing).
pub fn cohen_kappa(pairs: &[(bool, bool)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let observed = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let first_yes = pairs.iter().filter(|(a, _)| *a).count() as f64 / n;
    let second_yes = pairs.iter().filter(|(_, b)| *b).count() as f64 / n;
    let expected = first_yes * second_yes + (1.0 - first_yes) * (1.0 - second_yes);
    if (1.0 - expected).abs() < 1e-12 {
        return None;
    }
    Some((observed - expected) / (1.0 - expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_core::model::Violation;
    use callscope_store::reviews::Decision;

    fn scorecard() -> Scorecard {
        Scorecard::parse(
            r#"
            [scorecard]
            name = "card"
            pass_score = 80
            [[rule]]
            id = "greeting"
            expect = "present"
            points = 10
            [rule.when]
            op = "keyword"
            words = ["您好"]
            [[rule]]
            id = "rude"
            expect = "absent"
            points = 30
            [rule.when]
            op = "keyword"
            words = ["滚"]
            "#,
            "card.toml",
        )
        .unwrap()
    }

    fn review(id: i64, rule: &str, machine: bool, decision: Decision, at: i64) -> Review {
        Review {
            id,
            call_id: "C1".to_string(),
            scorecard: "card".to_string(),
            rule_id: rule.to_string(),
            reviewer: format!("r{id}"),
            decision,
            machine_violated: machine,
            reviewed_violated: decision.applied_to(machine),
            evidence: Vec::new(),
            comment: String::new(),
            call_change: 1,
            scored_at: 1,
            created_at: at,
        }
    }

    fn result(violated: &[&str]) -> QaResult {
        QaResult {
            call_id: "C1".to_string(),
            scorecard: "card".to_string(),
            score: 100.0,
            passed: true,
            fatal: false,
            violations: violated
                .iter()
                .map(|rule| Violation {
                    rule_id: rule.to_string(),
                    name: rule.to_string(),
                    points: 10.0,
                    fatal: false,
                    evidence: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn overturned_verdicts_change_the_reviewed_score_and_outdated_reviews_do_not() {
        let cards = vec![scorecard()];
        let none = HashMap::new();
        // greeting violated by the machine (90); a reviewer overturns it and
        // finds the rude rule missed: 100 - 30 = 70.
        let reviews = vec![
            review(1, "greeting", true, Decision::Overturn, 10),
            review(2, "rude", false, Decision::Overturn, 11),
        ];
        let reviewed = reviewed_results(&[result(&["greeting"])], &cards, &reviews, &[], &none);
        assert_eq!(reviewed[0].reviewed_score, Some(70.0));
        assert_eq!(reviewed[0].reviewed_passed, Some(false));
        assert_eq!(reviewed[0].rules.len(), 2);
        // Scored again: greeting now passes, so review 1 is outdated.
        let again = reviewed_results(&[result(&[])], &cards, &reviews, &[], &none);
        let greeting = &again[0].rules[0];
        assert!(greeting.reviews[0].outdated && greeting.reviewed_violated.is_none());
        assert!(!again[0].rules[1].reviews[0].outdated);
        assert_eq!(again[0].reviewed_score, Some(70.0));
        // No review: no reviewed score.
        let plain = reviewed_results(&[result(&[])], &cards, &[], &[], &none);
        assert_eq!(plain[0].reviewed_score, None);
    }

    #[test]
    fn an_accepted_appeal_after_a_review_sets_the_verdict() {
        let cards = vec![scorecard()];
        let reviews = vec![review(1, "greeting", true, Decision::Confirm, 10)];
        let appeal = Appeal {
            id: 1,
            call_id: "C1".to_string(),
            scorecard: "card".to_string(),
            rule_id: "greeting".to_string(),
            appellant: "agent".to_string(),
            agent_id: None,
            machine_violated: true,
            appealed_violated: true,
            reason: String::new(),
            status: AppealStatus::Accepted,
            decided_by: Some("lead".to_string()),
            decided_at: Some(20),
            decision_comment: None,
            created_at: 15,
        };
        let reviewed = reviewed_results(
            &[result(&["greeting"])],
            &cards,
            &reviews,
            &[appeal],
            &HashMap::new(),
        );
        assert_eq!(reviewed[0].rules[0].reviewed_violated, Some(false));
        assert_eq!(reviewed[0].reviewed_score, Some(100.0));
        assert!(reviewed[0].rules[0]
            .reviewed_by
            .as_deref()
            .unwrap()
            .starts_with("appeal 1"));
    }

    #[test]
    fn calibration_counts_agreement_and_kappa() {
        let mut violated = HashMap::new();
        violated.insert(
            ("C1".to_string(), "card".to_string()),
            BTreeSet::from(["greeting".to_string()]),
        );
        let mut reviews = vec![
            review(1, "greeting", true, Decision::Confirm, 10),
            review(2, "greeting", true, Decision::Overturn, 11),
            review(3, "rude", false, Decision::Confirm, 12),
            review(4, "rude", false, Decision::Confirm, 13),
        ];
        // Reviewer r1 reviews greeting again later (the latest counts).
        let mut again = review(5, "greeting", true, Decision::Overturn, 20);
        again.reviewer = "r1".to_string();
        reviews.push(again);
        let current = current_reviews(reviews, &violated);
        let (agreements, disagreements) = calibration(&current);
        assert_eq!(agreements.len(), 2);
        let greeting = &agreements[0];
        assert_eq!((greeting.pairs, greeting.agreeing), (1, 1));
        assert_eq!(greeting.percent, Some(100.0));
        assert!(disagreements.is_empty());
        assert_eq!(cohen_kappa(&[(true, true), (false, false)]), Some(1.0));
        assert_eq!(
            cohen_kappa(&[(true, false), (false, true)]).map(|k| k.round()),
            Some(-1.0)
        );
        assert_eq!(cohen_kappa(&[(true, true)]), None);
    }

    #[test]
    fn rule_figures_and_weeks() {
        assert_eq!(iso_week(Some("2026-09-01")), "2026-W36");
        let counted = vec![
            Counted {
                call_id: "C1".to_string(),
                week: "2026-W36".to_string(),
                rule: ("card".to_string(), "greeting".to_string()),
                kinds: vec![
                    FigureKind::Hits,
                    FigureKind::Reviewed,
                    FigureKind::Confirmed,
                ],
            },
            Counted {
                call_id: "C2".to_string(),
                week: "2026-W37".to_string(),
                rule: ("card".to_string(), "greeting".to_string()),
                kinds: vec![
                    FigureKind::Hits,
                    FigureKind::Reviewed,
                    FigureKind::Overturned,
                ],
            },
        ];
        let figures = rule_figures(&counted, &HashMap::new());
        assert_eq!(figures[0].machine_hits, 2);
        assert_eq!(figures[0].precision, Some(0.5));
        assert_eq!(figures[0].weeks.len(), 2);
    }
}
