//! The digest as a terminal summary (what `callscope digest` prints).

use std::fmt::Write;

use super::report::{Comparison, Digest, TermChange};

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

/// Daily shares of calls for a change's series.
pub fn daily_shares(digest: &Digest, days: &[super::report::DayCount]) -> Vec<f64> {
    days.iter()
        .zip(&digest.calls.days)
        .map(|(count, total)| {
            if total.calls == 0 {
                0.0
            } else {
                count.calls as f64 / total.calls as f64
            }
        })
        .collect()
}

fn changes(out: &mut String, digest: &Digest, title: &str, changes: &[TermChange]) {
    let _ = writeln!(out, "{title}");
    if changes.is_empty() {
        let _ = writeln!(out, "  none");
        return;
    }
    let width = changes
        .iter()
        .map(|change| display_width(&change.term))
        .max()
        .unwrap_or(0)
        .max(8);
    for change in changes {
        let _ = writeln!(
            out,
            "  {} {:>6} ← {:<6} ×{:<5.1} {:>6} calls  G²={:<7.1} {}{}",
            pad(&change.term, width),
            percent(change.share),
            percent(change.baseline_share),
            change.lift,
            thousands(change.calls),
            change.score,
            sparkline(&daily_shares(digest, &change.days)),
            if change.covers.is_empty() {
                String::new()
            } else {
                format!("  (with {})", super::text::short_list(&change.covers, 8))
            }
        );
        for quote in &change.examples {
            let _ = writeln!(
                out,
                "      “{}”  {} {}",
                quote.text,
                quote.call_id,
                callscope_core::text::clock(quote.start)
            );
        }
    }
}

fn comparison(out: &mut String, compare: &Comparison) {
    let _ = writeln!(out, "Before/after: {} ({})", compare.term, compare.kind);
    for (label, period) in [("before", &compare.before), ("after", &compare.after)] {
        let _ = writeln!(
            out,
            "  {label:<6} {}..{}  {:>7} of {:>8} calls  {:>6}  (95% CI {}–{})",
            period.from,
            period.to,
            thousands(period.matching),
            thousands(period.calls),
            percent(period.share),
            percent(period.low),
            percent(period.high)
        );
    }
    let _ = writeln!(
        out,
        "  change {:+.2} points (95% CI {:+.2} to {:+.2}), p {}: {}",
        compare.difference.value * 100.0,
        compare.difference.low * 100.0,
        compare.difference.high * 100.0,
        p_display(compare.p_value),
        compare.verdict
    );
}

/// Renders the digest for a terminal.
pub fn render(digest: &Digest) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "VOC digest {}..{} ({} days, {} calls) against {}..{} ({} days, {} calls){}",
        digest.window.from,
        digest.window.to,
        digest.window.days,
        thousands(digest.window.calls),
        digest.baseline.from,
        digest.baseline.to,
        digest.baseline.days,
        thousands(digest.baseline.calls),
        digest
            .settings
            .queue
            .as_ref()
            .map(|queue| format!(", queue {queue}"))
            .unwrap_or_default()
    );
    for note in &digest.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out);
    if let Some(compare) = &digest.compare {
        comparison(&mut out, compare);
        let _ = writeln!(out);
    }
    changes(
        &mut out,
        digest,
        "Rising (share of calls: window ← baseline, lift, calls, score, daily trend)",
        &digest.emerging,
    );
    let _ = writeln!(out);
    changes(&mut out, digest, "Falling", &digest.falling);
    let _ = writeln!(out);

    if !digest.topics.is_empty() {
        let _ = writeln!(
            out,
            "Topics (calls in window, share ← baseline, weekly calls)"
        );
        let width = digest
            .topics
            .iter()
            .map(|topic| display_width(&topic.name))
            .max()
            .unwrap_or(0)
            .max(8);
        for topic in &digest.topics {
            let weekly: Vec<f64> = topic.weeks.iter().map(|week| week.calls as f64).collect();
            let _ = writeln!(
                out,
                "  {} {:>7}  {:>6} ← {:<6} {}",
                pad(&topic.name, width),
                thousands(topic.calls),
                percent(topic.share),
                percent(topic.baseline_share),
                sparkline(&weekly)
            );
        }
        let _ = writeln!(out);
    }

    if let Some(cooccurrence) = &digest.cooccurrence {
        let _ = writeln!(
            out,
            "With “{}” ({} of {} customer sentences), by PMI",
            cooccurrence.focus,
            thousands(cooccurrence.focus_sentences),
            thousands(cooccurrence.sentences)
        );
        if cooccurrence.terms.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for companion in &cooccurrence.terms {
            let _ = writeln!(
                out,
                "  {} {:>5} together  PMI {:.2}",
                pad(&companion.term, 12),
                companion.together,
                companion.pmi
            );
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "Top terms (calls mentioning them in the window)");
    let line: Vec<String> = digest
        .terms
        .iter()
        .take(20)
        .map(|term| format!("{} {}", term.term, thousands(term.calls)))
        .collect();
    let _ = writeln!(out, "  {}", line.join(" · "));
    let _ = writeln!(out);

    let qa = &digest.qa;
    if qa.calls == 0 {
        let _ = writeln!(out, "QA: no scored calls in the window");
    } else {
        let _ = writeln!(
            out,
            "QA: {} scored calls, pass rate {}, average score {:.1}, fatal {}",
            thousands(qa.calls),
            percent(qa.pass_rate),
            qa.average_score,
            percent(qa.fatal_rate)
        );
    }
    for rule in qa.top_violations.iter().take(5) {
        let _ = writeln!(
            out,
            "  {} {} calls ({})",
            pad(&format!("{} {}", rule.rule_id, rule.name), 28),
            thousands(rule.calls),
            percent(rule.rate)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Alerts");
    if digest.alerts.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for alert in &digest.alerts {
        let who = match (&alert.agent_id, &alert.team) {
            (Some(agent), Some(team)) => format!("agent {agent} ({team})"),
            (Some(agent), None) => format!("agent {agent}"),
            (None, Some(team)) => format!("team {team}"),
            (None, None) => "-".to_string(),
        };
        let (recent, baseline) = if alert.metric == "pass_rate" {
            (percent(alert.recent), percent(alert.baseline))
        } else {
            (
                format!("{:.1}", alert.recent),
                format!("{:.1}", alert.baseline),
            )
        };
        let _ = writeln!(
            out,
            "  {} {} {} ← {} over {} calls (baseline {}), p {}",
            pad(&who, 20),
            pad(&alert.metric, 9),
            recent,
            baseline,
            alert.calls,
            alert.baseline_calls,
            p_display(alert.p_value)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_numbers_and_sparklines() {
        assert_eq!(display_width("按钮ab"), 6);
        assert_eq!(pad("按钮", 6), "按钮  ");
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
    }
}
