//! The digest as a terminal summary (what `callscope digest` prints).

use std::fmt::Write;

use crate::report::Digest;
use crate::view::{
    AlertRow, ChangeList, ComparisonView, CooccurrenceView, DigestView, Direction, QaView, TermRow,
    TopicRow,
};

/// Columns a string takes in a terminal (CJK and full-width characters take
/// two).
pub fn display_width(text: &str) -> usize {
    text.chars()
        .map(|character| match character as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// `text` padded with spaces to `width` terminal columns.
pub fn pad(text: &str, width: usize) -> String {
    let mut padded = text.to_string();
    for _ in display_width(text)..width {
        padded.push(' ');
    }
    padded
}

/// Renders the digest for a terminal.
pub fn render(digest: &Digest) -> String {
    let view = DigestView::new(digest);
    let mut out = String::new();
    header(&mut out, &view);
    if let Some(comparison) = &view.comparison {
        self::comparison(&mut out, comparison);
        let _ = writeln!(out);
    }
    changes(&mut out, &view.changes.rising);
    let _ = writeln!(out);
    changes(&mut out, &view.changes.falling);
    let _ = writeln!(out);
    if !view.topics.is_empty() {
        topics(&mut out, &view.topics);
        let _ = writeln!(out);
    }
    if let Some(cooccurrence) = &view.cooccurrence {
        self::cooccurrence(&mut out, cooccurrence);
        let _ = writeln!(out);
    }
    terms(&mut out, &view.terms);
    let _ = writeln!(out);
    qa(&mut out, &view.qa);
    let _ = writeln!(out);
    alerts(&mut out, &view.alerts.rows);
    out
}

/// Terms shown on the top-terms line.
const TERMS_SHOWN: usize = 20;

/// Rules shown under the QA line.
const RULES_SHOWN: usize = 5;

/// Columns `texts` take at the widest, and at least 8.
fn column_width<'a>(texts: impl Iterator<Item = &'a str>) -> usize {
    texts.map(display_width).max().unwrap_or(0).max(8)
}

fn header(out: &mut String, view: &DigestView) {
    let (window, baseline) = (&view.window, &view.baseline);
    let _ = writeln!(
        out,
        "VOC digest {} ({} days, {} calls) against {} ({} days, {} calls){}",
        window.range,
        window.days,
        window.calls,
        baseline.range,
        baseline.days,
        baseline.calls,
        view.scope
            .iter()
            .map(|(label, value)| format!(", {label} {value}"))
            .collect::<String>()
    );
    for note in &view.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out);
}

fn comparison(out: &mut String, comparison: &ComparisonView) {
    let _ = writeln!(
        out,
        "Before/after: {} ({})",
        comparison.term, comparison.kind
    );
    for period in &comparison.periods {
        let _ = writeln!(
            out,
            "  {:<6} {}  {:>7} of {:>8} calls  {:>6}  (95% CI {})",
            period.label,
            period.range,
            period.matching,
            period.calls,
            period.share,
            period.interval
        );
    }
    let _ = writeln!(
        out,
        "  change {} points (95% CI {}), p {}: {}",
        comparison.change, comparison.change_interval, comparison.p_display, comparison.verdict
    );
}

fn changes(out: &mut String, list: &ChangeList) {
    match list.direction {
        Direction::Rising => {
            let _ = writeln!(
                out,
                "{} (share of calls: window ← baseline, lift, calls, score, daily trend)",
                list.title
            );
        }
        Direction::Falling => {
            let _ = writeln!(out, "{}", list.title);
        }
    }
    if list.rows.is_empty() {
        let _ = writeln!(out, "  none");
        return;
    }
    let width = column_width(list.rows.iter().map(|row| row.term.as_str()));
    for row in &list.rows {
        let _ = writeln!(
            out,
            "  {} {:>6} ← {:<6} ×{:<5} {:>6} calls  G²={:<7} {}{}",
            pad(&row.term, width),
            row.share,
            row.baseline_share,
            row.lift,
            row.calls,
            row.score,
            row.sparkline,
            row.covers
                .as_ref()
                .map(|covers| format!("  (with {covers})"))
                .unwrap_or_default()
        );
        for quote in &row.quotes {
            let _ = writeln!(
                out,
                "      “{}”  {} {}",
                quote.text, quote.call_id, quote.clock
            );
        }
    }
}

fn topics(out: &mut String, topics: &[TopicRow]) {
    let _ = writeln!(
        out,
        "Topics (calls in window, share ← baseline, weekly calls)"
    );
    let width = column_width(topics.iter().map(|topic| topic.name.as_str()));
    for topic in topics {
        let _ = writeln!(
            out,
            "  {} {:>7}  {:>6} ← {:<6} {}",
            pad(&topic.name, width),
            topic.calls,
            topic.share,
            topic.baseline_share,
            topic.weekly_sparkline
        );
    }
}

fn cooccurrence(out: &mut String, cooccurrence: &CooccurrenceView) {
    let _ = writeln!(
        out,
        "With “{}” ({} of {} customer sentences), by PMI",
        cooccurrence.focus, cooccurrence.focus_sentences, cooccurrence.sentences
    );
    if cooccurrence.companions.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for companion in &cooccurrence.companions {
        let _ = writeln!(
            out,
            "  {} {:>5} together  PMI {}",
            pad(&companion.term, 12),
            companion.together,
            companion.pmi
        );
    }
}

fn terms(out: &mut String, terms: &[TermRow]) {
    let _ = writeln!(out, "Top terms (calls mentioning them in the window)");
    let line: Vec<String> = terms
        .iter()
        .take(TERMS_SHOWN)
        .map(|term| format!("{} {}", term.term, term.calls))
        .collect();
    let _ = writeln!(out, "  {}", line.join(" · "));
}

fn qa(out: &mut String, qa: &QaView) {
    if qa.scored {
        let _ = writeln!(
            out,
            "QA: {} scored calls, pass rate {}, average score {}, fatal {}",
            qa.calls, qa.pass_rate, qa.average_score, qa.fatal_rate
        );
    } else {
        let _ = writeln!(out, "QA: no scored calls in the window");
    }
    for rule in qa.violations.iter().take(RULES_SHOWN) {
        let _ = writeln!(
            out,
            "  {} {} calls ({})",
            pad(&format!("{} {}", rule.rule_id, rule.name), 28),
            rule.calls,
            rule.rate
        );
    }
}

fn alerts(out: &mut String, alerts: &[AlertRow]) {
    let _ = writeln!(out, "Alerts");
    if alerts.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for alert in alerts {
        let _ = writeln!(
            out,
            "  {} {} {} ← {} over {} calls (baseline {}), p {}",
            pad(&alert.who, 20),
            pad(&alert.metric, 9),
            alert.recent,
            alert.baseline,
            alert.calls,
            alert.baseline_calls,
            alert.p_display
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_full_width_characters_twice() {
        assert_eq!(display_width("按钮ab"), 6);
        assert_eq!(pad("按钮", 6), "按钮  ");
        assert_eq!(column_width(["a", "按钮按钮按钮"].into_iter()), 12);
        assert_eq!(column_width(std::iter::empty()), 8);
    }
}
