//! The digest as readers see it, whatever the format: its sections in
//! display order, each with its rows and figures already formatted (shares,
//! intervals, dates, quotes with clock times) and the settings it states.
//!
//! [`DigestView::new`] computes it once from a [`Digest`]; the [`text`],
//! [`markdown`] and [`html`] renderers only lay it out (columns, tables,
//! escaped HTML with inline SVG charts), so a figure is formatted in one
//! place and reads the same in every format.
//!
//! [`text`]: crate::text
//! [`markdown`]: crate::markdown
//! [`html`]: crate::html

use std::fmt::{self, Write};

use crate::report::{
    Alert, CallCounts, Comparison, Cooccurrence, DayCount, Digest, Period, PeriodShare, QaSummary,
    Quote, RuleCount, TeamQa, TermChange, TermCount, TopicCount,
};

/// Covered terms named before "and N more".
const COVERS_SHOWN: usize = 8;

/// Days in the trailing average of the topic charts.
const TREND_DAYS: usize = 7;

/// Significance level at which a topic's share counts as up or down.
const TOPIC_ALPHA: f64 = 0.01;

/// A percentage with one decimal (0.0423 → `4.2%`).
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A p-value for people: `3.1e-5`, or `< 1e-15` below what the tail
/// functions resolve.
pub fn p_value(p: f64) -> String {
    if p < 1e-15 {
        "< 1e-15".to_string()
    } else {
        format!("{p:.1e}")
    }
}

/// `= 3.1e-5` or `< 1e-15`, to follow a "p".
pub fn p_display(p: f64) -> String {
    let shown = p_value(p);
    if shown.starts_with('<') {
        shown
    } else {
        format!("= {shown}")
    }
}

/// A count with thousands separators.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The first `limit` items joined by commas, with how many more there are.
pub fn short_list(items: &[String], limit: usize) -> String {
    let mut shown = items
        .iter()
        .take(limit)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > limit {
        let _ = write!(shown, " and {} more", items.len() - limit);
    }
    shown
}

/// A sparkline of `values` with block characters.
pub fn sparkline(values: &[f64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(0.0, f64::max);
    values
        .iter()
        .map(|&value| {
            if max <= 0.0 {
                BLOCKS[0]
            } else {
                BLOCKS[((value / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// An RFC 3339 timestamp shortened for people (`2026-09-28 16:12`).
pub fn short_time(timestamp: Option<&str>) -> String {
    timestamp
        .map(|text| text.chars().take(16).collect::<String>().replace('T', " "))
        .unwrap_or_default()
}

/// A number as shown, with its value for charts; `{:>6}` and the like pad
/// the shown text.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The value.
    pub value: f64,
    /// How it is shown (`4.2%`, `81.5`).
    pub shown: String,
}

impl Figure {
    /// A share of calls shown as a percentage with one decimal.
    pub fn share(value: f64) -> Figure {
        Figure {
            value,
            shown: percent(value),
        }
    }

    /// A number shown with `decimals` decimals.
    pub fn decimal(value: f64, decimals: usize) -> Figure {
        Figure {
            value,
            shown: format!("{value:.decimals$}"),
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.pad(&self.shown)
    }
}

/// The whole digest, section by section in display order.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestView {
    /// `VOC digest FROM..TO`.
    pub title: String,
    /// The window looked at.
    pub window: PeriodView,
    /// The baseline it is compared with.
    pub baseline: PeriodView,
    /// What the digest was restricted to: `("queue", name)`, `("team",
    /// name)`, `("agent", id)`, in that order, those given.
    pub scope: Vec<(&'static str, String)>,
    /// Things the reader should know first.
    pub notes: Vec<String>,
    /// The span's dates, baseline start to window end (the charts' x axis).
    pub dates: Vec<String>,
    /// Indexes of the window's first and last day in `dates`, to shade it.
    pub window_days: Option<(usize, usize)>,
    /// The before/after comparison, when asked for.
    pub comparison: Option<ComparisonView>,
    /// Rising and falling terms.
    pub changes: ChangesView,
    /// The analysts' topics (empty when none are configured).
    pub topics: Vec<TopicRow>,
    /// Calls per day.
    pub volume: VolumeView,
    /// What comes with the focus term, when asked for.
    pub cooccurrence: Option<CooccurrenceView>,
    /// Top terms of the window.
    pub terms: Vec<TermRow>,
    /// QA results of the window.
    pub qa: QaView,
    /// Agents and teams whose QA dropped.
    pub alerts: AlertsView,
}

/// A period's dates and size.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodView {
    /// First date.
    pub from: String,
    /// Last date.
    pub to: String,
    /// `FROM..TO`.
    pub range: String,
    /// Number of days.
    pub days: usize,
    /// Calls, with thousands separators.
    pub calls: String,
}

/// A term's or topic's share before and after, with the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonView {
    /// The term or topic compared.
    pub term: String,
    /// `term` or `topic`.
    pub kind: String,
    /// Before, then after.
    pub periods: [ComparisonPeriod; 2],
    /// The change of share in points, signed (`+1.23`).
    pub change: String,
    /// The change's 95% interval in points (`-2.00 to +0.50`).
    pub change_interval: String,
    /// The p-value to follow a "p" (`= 3.1e-5`).
    pub p_display: String,
    /// `rose`, `fell` or `no significant change`.
    pub verdict: String,
}

/// One period of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonPeriod {
    /// `before` or `after`.
    pub label: &'static str,
    /// `FROM..TO`.
    pub range: String,
    /// Calls in the period.
    pub calls: String,
    /// Calls mentioning the term or matching the topic.
    pub matching: String,
    /// Their share.
    pub share: Figure,
    /// Lower bound of the share's 95% interval.
    pub low: Figure,
    /// Upper bound of the share's 95% interval.
    pub high: Figure,
    /// The 95% interval (`3.1%–4.2%`).
    pub interval: String,
}

/// Rising and falling terms with the test that picked them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangesView {
    /// Terms whose share rose.
    pub rising: ChangeList,
    /// Terms whose share fell.
    pub falling: ChangeList,
    /// Terms tested, with thousands separators.
    pub terms_tested: String,
    /// Family-wise significance level.
    pub alpha: String,
    /// Fewest calls a listed term has.
    pub min_calls: String,
    /// Smallest ratio of shares of a listed term.
    pub min_lift: String,
}

/// Which way the terms of a list moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Their share rose.
    Rising,
    /// Their share fell.
    Falling,
}

/// The terms that moved one way.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeList {
    /// `Rising` or `Falling`.
    pub title: &'static str,
    /// Which way they moved.
    pub direction: Direction,
    /// Strongest first.
    pub rows: Vec<ChangeRow>,
}

/// One rising or falling term.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// The term.
    pub term: String,
    /// The terms folded into it (`a, b and 3 more`), if any.
    pub covers: Option<String>,
    /// Share of calls in the window.
    pub share: Figure,
    /// Share of calls in the baseline.
    pub baseline_share: Figure,
    /// Window share over baseline share.
    pub lift: Figure,
    /// Calls in the window.
    pub calls: String,
    /// Calls in the baseline.
    pub baseline_calls: String,
    /// The G² score.
    pub score: Figure,
    /// Share of calls per day over the span.
    pub daily_shares: Vec<f64>,
    /// `daily_shares` as block characters.
    pub sparkline: String,
    /// What customers say.
    pub quotes: Vec<QuoteView>,
}

/// A customer sentence quoted as evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteView {
    /// The sentence.
    pub text: String,
    /// The call.
    pub call_id: String,
    /// When the call started (`2026-09-28 16:12`; empty when unknown).
    pub started: String,
    /// Where in the recording (`1:02:05`).
    pub clock: String,
}

/// Whether a topic's share moved significantly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// It rose.
    Up,
    /// It fell.
    Down,
    /// No significant change.
    Steady,
}

/// One configured topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRow {
    /// The topic's name.
    pub name: String,
    /// Its definition as a query.
    pub query: String,
    /// Matching calls in the window.
    pub calls: String,
    /// Share of calls in the window.
    pub share: Figure,
    /// Share of calls in the baseline.
    pub baseline_share: Figure,
    /// Whether the share moved.
    pub trend: Trend,
    /// `2026-W40 1,234` per ISO week over the span.
    pub weeks: Vec<String>,
    /// Weekly calls as block characters.
    pub weekly_sparkline: String,
    /// Share of calls per day over the span.
    pub daily_shares: Vec<f64>,
    /// Trailing 7-day share of calls per day over the span.
    pub trailing_shares: Vec<f64>,
}

/// Calls per day over the span.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeView {
    /// Calls per day.
    pub per_day: Vec<f64>,
    /// Calls in the window.
    pub window_calls: String,
    /// Calls in the baseline.
    pub baseline_calls: String,
}

/// The terms that come with the focus term.
#[derive(Debug, Clone, PartialEq)]
pub struct CooccurrenceView {
    /// The focus term.
    pub focus: String,
    /// Sentences with the focus term.
    pub focus_sentences: String,
    /// Customer sentences in the window.
    pub sentences: String,
    /// Companions, highest PMI first.
    pub companions: Vec<CompanionRow>,
}

/// One companion of the focus term.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanionRow {
    /// The term.
    pub term: String,
    /// Sentences with both.
    pub together: String,
    /// Pointwise mutual information.
    pub pmi: Figure,
}

/// One top term of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct TermRow {
    /// The term.
    pub term: String,
    /// Calls in the window mentioning it.
    pub calls: String,
    /// Share of calls in the window.
    pub share: Figure,
    /// Share of calls in the baseline.
    pub baseline_share: Figure,
}

/// QA results of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct QaView {
    /// Whether any call was scored.
    pub scored: bool,
    /// Scored calls.
    pub calls: String,
    /// Share of calls that passed.
    pub pass_rate: Figure,
    /// Average score.
    pub average_score: Figure,
    /// Share of calls with a fatal violation.
    pub fatal_rate: Figure,
    /// Most violated rules.
    pub violations: Vec<RuleRow>,
    /// Per team.
    pub teams: Vec<TeamRow>,
}

/// A rule with the calls violating it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    pub name: String,
    /// Calls violating it.
    pub calls: String,
    /// Their share of scored calls.
    pub rate: Figure,
}

/// One team's QA figures.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRow {
    /// The team.
    pub team: String,
    /// Scored calls.
    pub scored_calls: u64,
    /// Scored calls, with thousands separators.
    pub calls: String,
    /// Share of calls that passed.
    pub pass_rate: Figure,
    /// Average score.
    pub average_score: Figure,
    /// The team's most violated rule.
    pub top_violation: Option<RuleRow>,
    /// Whether the team (not one of its agents) has an alert.
    pub alert: bool,
}

/// QA alerts with the rules that raised them.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsView {
    /// The alerts.
    pub rows: Vec<AlertRow>,
    /// False discovery rate over all alert tests.
    pub fdr: String,
    /// Fewest scored calls per period.
    pub min_calls: String,
}

/// One agent or team whose QA metric dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    /// `agent A01 (T01)`, `team T01`.
    pub who: String,
    /// The metric's id (`qa_score`, `pass_rate`).
    pub metric: String,
    /// The metric for people (`average QA score`, `pass rate`).
    pub metric_name: String,
    /// The metric in the window.
    pub recent: String,
    /// The metric in the baseline.
    pub baseline: String,
    /// Scored calls in the window.
    pub calls: String,
    /// Scored calls in the baseline.
    pub baseline_calls: String,
    /// The p-value (`3.1e-5`).
    pub p_value: String,
    /// The p-value to follow a "p" (`= 3.1e-5`).
    pub p_display: String,
}

impl DigestView {
    /// Formats every section of `digest`.
    pub fn new(digest: &Digest) -> DigestView {
        let totals = &digest.calls.days;
        DigestView {
            title: format!("VOC digest {}..{}", digest.window.from, digest.window.to),
            window: PeriodView::new(&digest.window),
            baseline: PeriodView::new(&digest.baseline),
            scope: [
                ("queue", &digest.settings.queue),
                ("team", &digest.settings.team),
                ("agent", &digest.settings.agent_id),
            ]
            .into_iter()
            .filter_map(|(label, value)| value.clone().map(|value| (label, value)))
            .collect(),
            notes: digest.notes.clone(),
            dates: totals.iter().map(|day| day.date.clone()).collect(),
            window_days: window_days(digest),
            comparison: digest.compare.as_ref().map(ComparisonView::new),
            changes: ChangesView::new(digest),
            topics: digest
                .topics
                .iter()
                .map(|topic| TopicRow::new(topic, totals))
                .collect(),
            volume: VolumeView::new(&digest.calls),
            cooccurrence: digest.cooccurrence.as_ref().map(CooccurrenceView::new),
            terms: digest.terms.iter().map(TermRow::new).collect(),
            qa: QaView::new(&digest.qa, &digest.alerts),
            alerts: AlertsView::new(digest),
        }
    }
}

impl PeriodView {
    fn new(period: &Period) -> PeriodView {
        PeriodView {
            from: period.from.clone(),
            to: period.to.clone(),
            range: format!("{}..{}", period.from, period.to),
            days: period.days,
            calls: thousands(period.calls),
        }
    }
}

/// Indexes of the window's first and last day in the span's days.
fn window_days(digest: &Digest) -> Option<(usize, usize)> {
    let days = &digest.calls.days;
    let first = days.iter().position(|day| day.date == digest.window.from)?;
    let last = days.iter().position(|day| day.date == digest.window.to)?;
    Some((first, last))
}

/// Matching calls over all calls, day by day.
fn daily_shares(totals: &[DayCount], counts: &[DayCount]) -> Vec<f64> {
    counts
        .iter()
        .zip(totals)
        .map(|(count, total)| {
            if total.calls == 0 {
                0.0
            } else {
                count.calls as f64 / total.calls as f64
            }
        })
        .collect()
}

/// Trailing `days`-day shares: matching calls over all calls of the last
/// `days` days up to each day (fewer at the start).
fn trailing_shares(totals: &[DayCount], counts: &[DayCount], days: usize) -> Vec<f64> {
    (0..counts.len())
        .map(|index| {
            let first = (index + 1).saturating_sub(days);
            let matching: u64 = counts[first..=index].iter().map(|day| day.calls).sum();
            let calls: u64 = totals
                .get(first..=index)
                .map_or(0, |slice| slice.iter().map(|day| day.calls).sum());
            if calls == 0 {
                0.0
            } else {
                matching as f64 / calls as f64
            }
        })
        .collect()
}

impl ComparisonView {
    fn new(compare: &Comparison) -> ComparisonView {
        let difference = &compare.difference;
        ComparisonView {
            term: compare.term.clone(),
            kind: compare.kind.clone(),
            periods: [
                ComparisonPeriod::new("before", &compare.before),
                ComparisonPeriod::new("after", &compare.after),
            ],
            change: format!("{:+.2}", difference.value * 100.0),
            change_interval: format!(
                "{:+.2} to {:+.2}",
                difference.low * 100.0,
                difference.high * 100.0
            ),
            p_display: p_display(compare.p_value),
            verdict: compare.verdict.clone(),
        }
    }
}

impl ComparisonPeriod {
    fn new(label: &'static str, period: &PeriodShare) -> ComparisonPeriod {
        let (low, high) = (Figure::share(period.low), Figure::share(period.high));
        ComparisonPeriod {
            label,
            range: format!("{}..{}", period.from, period.to),
            calls: thousands(period.calls),
            matching: thousands(period.matching),
            share: Figure::share(period.share),
            interval: format!("{low}–{high}"),
            low,
            high,
        }
    }
}

impl ChangesView {
    fn new(digest: &Digest) -> ChangesView {
        let list = |title, direction, changes: &[TermChange]| ChangeList {
            title,
            direction,
            rows: changes
                .iter()
                .map(|change| ChangeRow::new(change, &digest.calls.days))
                .collect(),
        };
        let settings = &digest.settings;
        ChangesView {
            rising: list("Rising", Direction::Rising, &digest.emerging),
            falling: list("Falling", Direction::Falling, &digest.falling),
            terms_tested: thousands(settings.terms_tested),
            alpha: settings.alpha.to_string(),
            min_calls: settings.min_calls.to_string(),
            min_lift: settings.min_lift.to_string(),
        }
    }

    /// Whether no term moved either way.
    pub fn is_empty(&self) -> bool {
        self.rising.rows.is_empty() && self.falling.rows.is_empty()
    }
}

impl ChangeRow {
    fn new(change: &TermChange, totals: &[DayCount]) -> ChangeRow {
        let daily_shares = daily_shares(totals, &change.days);
        ChangeRow {
            term: change.term.clone(),
            covers: (!change.covers.is_empty()).then(|| short_list(&change.covers, COVERS_SHOWN)),
            share: Figure::share(change.share),
            baseline_share: Figure::share(change.baseline_share),
            lift: Figure::decimal(change.lift, 1),
            calls: thousands(change.calls),
            baseline_calls: thousands(change.baseline_calls),
            score: Figure::decimal(change.score, 1),
            sparkline: sparkline(&daily_shares),
            daily_shares,
            quotes: change.examples.iter().map(QuoteView::new).collect(),
        }
    }
}

impl QuoteView {
    fn new(quote: &Quote) -> QuoteView {
        QuoteView {
            text: quote.text.clone(),
            call_id: quote.call_id.clone(),
            started: short_time(quote.started_at.as_deref()),
            clock: callscope_core::text::clock(quote.start),
        }
    }
}

impl TopicRow {
    fn new(topic: &TopicCount, totals: &[DayCount]) -> TopicRow {
        let significant = topic.p_value < TOPIC_ALPHA;
        let trend = if significant && topic.share > topic.baseline_share {
            Trend::Up
        } else if significant && topic.share < topic.baseline_share {
            Trend::Down
        } else {
            Trend::Steady
        };
        let weekly: Vec<f64> = topic.weeks.iter().map(|week| week.calls as f64).collect();
        TopicRow {
            name: topic.name.clone(),
            query: topic.query.clone(),
            calls: thousands(topic.calls),
            share: Figure::share(topic.share),
            baseline_share: Figure::share(topic.baseline_share),
            trend,
            weeks: topic
                .weeks
                .iter()
                .map(|week| format!("{} {}", week.week, thousands(week.calls)))
                .collect(),
            weekly_sparkline: sparkline(&weekly),
            daily_shares: daily_shares(totals, &topic.days),
            trailing_shares: trailing_shares(totals, &topic.days, TREND_DAYS),
        }
    }
}

impl VolumeView {
    fn new(calls: &CallCounts) -> VolumeView {
        VolumeView {
            per_day: calls.days.iter().map(|day| day.calls as f64).collect(),
            window_calls: thousands(calls.window),
            baseline_calls: thousands(calls.baseline),
        }
    }
}

impl CooccurrenceView {
    fn new(cooccurrence: &Cooccurrence) -> CooccurrenceView {
        CooccurrenceView {
            focus: cooccurrence.focus.clone(),
            focus_sentences: thousands(cooccurrence.focus_sentences),
            sentences: thousands(cooccurrence.sentences),
            companions: cooccurrence
                .terms
                .iter()
                .map(|companion| CompanionRow {
                    term: companion.term.clone(),
                    together: companion.together.to_string(),
                    pmi: Figure::decimal(companion.pmi, 2),
                })
                .collect(),
        }
    }
}

impl TermRow {
    fn new(term: &TermCount) -> TermRow {
        TermRow {
            term: term.term.clone(),
            calls: thousands(term.calls),
            share: Figure::share(term.share),
            baseline_share: Figure::share(term.baseline_share),
        }
    }
}

impl QaView {
    fn new(qa: &QaSummary, alerts: &[Alert]) -> QaView {
        QaView {
            scored: qa.calls > 0,
            calls: thousands(qa.calls),
            pass_rate: Figure::share(qa.pass_rate),
            average_score: Figure::decimal(qa.average_score, 1),
            fatal_rate: Figure::share(qa.fatal_rate),
            violations: qa.top_violations.iter().map(RuleRow::new).collect(),
            teams: qa
                .teams
                .iter()
                .map(|team| TeamRow::new(team, alerts))
                .collect(),
        }
    }
}

impl RuleRow {
    fn new(rule: &RuleCount) -> RuleRow {
        RuleRow {
            rule_id: rule.rule_id.clone(),
            name: rule.name.clone(),
            calls: thousands(rule.calls),
            rate: Figure::share(rule.rate),
        }
    }
}

impl TeamRow {
    fn new(team: &TeamQa, alerts: &[Alert]) -> TeamRow {
        TeamRow {
            team: team.team.clone(),
            scored_calls: team.calls,
            calls: thousands(team.calls),
            pass_rate: Figure::share(team.pass_rate),
            average_score: Figure::decimal(team.average_score, 1),
            top_violation: team.top_violations.first().map(RuleRow::new),
            alert: alerts.iter().any(|alert| {
                alert.agent_id.is_none() && alert.team.as_deref() == Some(team.team.as_str())
            }),
        }
    }
}

impl AlertsView {
    fn new(digest: &Digest) -> AlertsView {
        AlertsView {
            rows: digest.alerts.iter().map(AlertRow::new).collect(),
            fdr: digest.settings.alert_fdr.to_string(),
            min_calls: digest.settings.alert_min_calls.to_string(),
        }
    }
}

impl AlertRow {
    fn new(alert: &Alert) -> AlertRow {
        let who = match (&alert.agent_id, &alert.team) {
            (Some(agent), Some(team)) => format!("agent {agent} ({team})"),
            (Some(agent), None) => format!("agent {agent}"),
            (None, Some(team)) => format!("team {team}"),
            (None, None) => "-".to_string(),
        };
        let value = |value: f64| {
            if alert.metric == "pass_rate" {
                percent(value)
            } else {
                format!("{value:.1}")
            }
        };
        AlertRow {
            who,
            metric: alert.metric.clone(),
            metric_name: match alert.metric.as_str() {
                "qa_score" => "average QA score",
                "pass_rate" => "pass rate",
                other => other,
            }
            .to_string(),
            recent: value(alert.recent),
            baseline: value(alert.baseline),
            calls: alert.calls.to_string(),
            baseline_calls: alert.baseline_calls.to_string(),
            p_value: p_value(alert.p_value),
            p_display: p_display(alert.p_value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lists_and_sparklines() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(percent(0.0423), "4.2%");
        assert_eq!(p_display(0.0), "< 1e-15");
        assert_eq!(p_display(3.14e-5), "= 3.1e-5");
        assert_eq!(sparkline(&[0.0, 1.0, 2.0]), "▁▅█");
        assert_eq!(sparkline(&[0.0, 0.0]), "▁▁");
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(short_list(&items, 2), "a, b and 1 more");
        assert_eq!(short_list(&items, 3), "a, b, c");
        assert_eq!(
            short_time(Some("2026-09-28T16:12:09+08:00")),
            "2026-09-28 16:12"
        );
    }

    #[test]
    fn figures_pad_what_they_show() {
        let share = Figure::share(0.0423);
        assert_eq!(format!("[{share:>6}|{share:<6}]"), "[  4.2%|4.2%  ]");
        assert_eq!(format!("{:<5}", Figure::decimal(7.26, 1)), "7.3  ");
        assert_eq!(Figure::decimal(0.126, 2).shown, "0.13");
    }
}
