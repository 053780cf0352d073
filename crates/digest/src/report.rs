//! The digest as users and scripts see it (docs/formats.md §5): one object,
//! serialized as is by `callscope digest --json` and rendered as text,
//! Markdown and HTML.

use serde::{Deserialize, Serialize};

/// A VOC digest of one window against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// The window looked at.
    pub window: Period,
    /// The baseline it is compared with.
    pub baseline: Period,
    /// Call counts: totals and per day and week over baseline and window.
    pub calls: CallCounts,
    /// Top customer-side terms of the window by calls mentioning them.
    pub terms: Vec<TermCount>,
    /// Terms whose share of calls rose significantly against the baseline.
    pub emerging: Vec<TermChange>,
    /// Terms whose share of calls fell significantly against the baseline.
    pub falling: Vec<TermChange>,
    /// The analysts' topics with their counts.
    pub topics: Vec<TopicCount>,
    /// A before/after comparison, when asked for (`--compare`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
    /// What a focus term comes with (`--focus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooccurrence: Option<Cooccurrence>,
    /// QA results of the window.
    pub qa: QaSummary,
    /// Agents and teams whose QA metric dropped against their own baseline.
    pub alerts: Vec<Alert>,
    /// The thresholds the decisions used.
    pub settings: Settings,
    /// Things the reader should know (an empty baseline, calls without
    /// terms cached).
    pub notes: Vec<String>,
}

/// A span of dates with its call count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// First date, inclusive (`YYYY-MM-DD`, the calls' own time zone).
    pub from: String,
    /// Last date, inclusive.
    pub to: String,
    /// Number of days.
    pub days: usize,
    /// Calls in it.
    pub calls: u64,
}

/// Calls per day and per week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallCounts {
    /// Calls in the window.
    pub window: u64,
    /// Calls in the baseline.
    pub baseline: u64,
    /// Per day over the whole span (baseline start to window end).
    pub days: Vec<DayCount>,
    /// Per ISO week over the whole span.
    pub weeks: Vec<WeekCount>,
}

/// A count on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    /// The date.
    pub date: String,
    /// Calls.
    pub calls: u64,
}

/// A count in one ISO week (Monday to Sunday), possibly partial at the edges
/// of the span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekCount {
    /// ISO week, e.g. `2026-W40`.
    pub week: String,
    /// First date of the week inside the span.
    pub start: String,
    /// Days of the week inside the span (7 unless at an edge).
    pub days: usize,
    /// Calls.
    pub calls: u64,
}

/// A term with how many calls mention it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermCount {
    /// The term (normalized: simplified characters, lowercase).
    pub term: String,
    /// Calls in the window mentioning it.
    pub calls: u64,
    /// `calls` / window calls.
    pub share: f64,
    /// Calls in the baseline mentioning it.
    pub baseline_calls: u64,
    /// `baseline_calls` / baseline calls.
    pub baseline_share: f64,
    /// Calls mentioning it per day over the span.
    pub days: Vec<DayCount>,
    /// Calls mentioning it per ISO week over the span.
    pub weeks: Vec<WeekCount>,
}

/// A term whose share of calls changed significantly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermChange {
    /// The term.
    pub term: String,
    /// Calls in the window mentioning it.
    pub calls: u64,
    /// Calls in the baseline mentioning it.
    pub baseline_calls: u64,
    /// `calls` / window calls.
    pub share: f64,
    /// `baseline_calls` / baseline calls.
    pub baseline_share: f64,
    /// Window share over baseline share (each smoothed by half a call).
    pub lift: f64,
    /// The log-likelihood ratio G² of the change (higher: surer).
    pub score: f64,
    /// The G² test's p-value (chi-square, one degree of freedom).
    pub p_value: f64,
    /// Shorter or overlapping terms that move with this one and were folded
    /// into it (按钮, 支付按钮 under 支付按钮位置).
    pub covers: Vec<String>,
    /// Calls mentioning it per day over the span.
    pub days: Vec<DayCount>,
    /// Quotes of customers saying it (from the window for rising terms, from
    /// the baseline for falling ones).
    pub examples: Vec<Quote>,
}

/// A customer sentence quoted as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The call.
    pub call_id: String,
    /// When the call started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Seconds from the start of the recording to the segment.
    pub start: f64,
    /// The segment's text as stored.
    pub text: String,
}

/// A configured topic's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicCount {
    /// The topic's name.
    pub name: String,
    /// Its definition as a query (keywords joined by OR).
    pub query: String,
    /// Calls in the window matching it.
    pub calls: u64,
    /// `calls` / window calls.
    pub share: f64,
    /// Calls in the baseline matching it.
    pub baseline_calls: u64,
    /// `baseline_calls` / baseline calls.
    pub baseline_share: f64,
    /// p-value of the change in share (G² test).
    pub p_value: f64,
    /// Matching calls per day over the span.
    pub days: Vec<DayCount>,
    /// Matching calls per ISO week over the span.
    pub weeks: Vec<WeekCount>,
}

/// A term's or topic's share of calls in two periods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The term or topic compared.
    pub term: String,
    /// `term` or `topic`.
    pub kind: String,
    /// The first period ("before").
    pub before: PeriodShare,
    /// The second period ("after").
    pub after: PeriodShare,
    /// `after.share - before.share` with its 95% interval (Newcombe).
    pub difference: Estimate,
    /// Two-sided p-value of the two-proportion z test.
    pub p_value: f64,
    /// Whether the difference's 95% interval excludes 0.
    pub significant: bool,
    /// `rose`, `fell` or `no significant change`.
    pub verdict: String,
}

/// A share of calls in a period with its 95% Wilson interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodShare {
    /// First date, inclusive.
    pub from: String,
    /// Last date, inclusive.
    pub to: String,
    /// Calls in the period.
    pub calls: u64,
    /// Calls mentioning the term or matching the topic.
    pub matching: u64,
    /// `matching / calls`.
    pub share: f64,
    /// Lower bound of the 95% interval.
    pub low: f64,
    /// Upper bound of the 95% interval.
    pub high: f64,
}

/// A point estimate with a 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The terms that come with a focus term in the same customer sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cooccurrence {
    /// The focus term.
    pub focus: String,
    /// Customer sentences in the window (distinct per call).
    pub sentences: u64,
    /// Sentences with the focus term.
    pub focus_sentences: u64,
    /// Companion terms, highest PMI first.
    pub terms: Vec<Companion>,
}

/// A term that comes with the focus term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Companion {
    /// The term.
    pub term: String,
    /// Sentences with both.
    pub together: u64,
    /// Sentences with this term.
    pub sentences: u64,
    /// Pointwise mutual information, log2(P(both) / (P(focus) P(term))).
    pub pmi: f64,
    /// PMI normalized to -1..1 (divided by -log2 P(both)).
    pub npmi: f64,
}

/// QA results summarized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QaSummary {
    /// Scored calls in the window.
    pub calls: u64,
    /// QA results (a call scored on two scorecards has two).
    pub results: u64,
    /// The scorecards seen.
    pub scorecards: Vec<String>,
    /// Share of calls that passed (every scorecard).
    pub pass_rate: f64,
    /// Average score (a call's score is the mean over its scorecards).
    pub average_score: f64,
    /// Share of calls with a fatal violation.
    pub fatal_rate: f64,
    /// Most violated rules.
    pub top_violations: Vec<RuleCount>,
    /// The same per team.
    pub teams: Vec<TeamQa>,
}

/// A rule with how many calls violated it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleCount {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    pub name: String,
    /// Calls violating it.
    pub calls: u64,
    /// `calls` / scored calls.
    pub rate: f64,
}

/// One team's QA figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamQa {
    /// The team (`-` for calls without one).
    pub team: String,
    /// Scored calls.
    pub calls: u64,
    /// Share of calls that passed.
    pub pass_rate: f64,
    /// Average score.
    pub average_score: f64,
    /// Share of calls with a fatal violation.
    pub fatal_rate: f64,
    /// The team's most violated rules.
    pub top_violations: Vec<RuleCount>,
}

/// An agent or team whose QA metric dropped against its own baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The agent, for agent alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The team (of the agent, for agent alerts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `qa_score` (average score) or `pass_rate`.
    pub metric: String,
    /// The metric in the window.
    pub recent: f64,
    /// The metric in the baseline.
    pub baseline: f64,
    /// `baseline - recent`.
    pub drop: f64,
    /// Scored calls in the window.
    pub calls: u64,
    /// Scored calls in the baseline.
    pub baseline_calls: u64,
    /// One-sided p-value of the drop (Welch's t for scores, Fisher's exact
    /// test for pass rates).
    pub p_value: f64,
}

/// The thresholds a digest used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Fewest calls a term needs (in the window for rising terms; expected in
    /// the window at the baseline's share for falling ones).
    pub min_calls: u64,
    /// Smallest change of share, as a ratio, a term needs.
    pub min_lift: f64,
    /// Family-wise significance level over all terms tested (Bonferroni).
    pub alpha: f64,
    /// Terms tested.
    pub terms_tested: u64,
    /// Fewest scored calls an agent or team needs in each period for alerts.
    pub alert_min_calls: u64,
    /// False discovery rate over all alert tests (Benjamini-Hochberg).
    pub alert_fdr: f64,
    /// Smallest drop of average score that alerts.
    pub alert_min_score_drop: f64,
    /// Smallest drop of pass rate that alerts.
    pub alert_min_pass_rate_drop: f64,
    /// The queue the digest was restricted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The agent the digest was restricted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The team the digest was restricted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}
