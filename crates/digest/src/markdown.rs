//! The digest as Markdown (`callscope digest --markdown FILE`), for wikis,
//! tickets and e-mail.

use std::fmt::Write;

use super::report::{Digest, TermChange};
use super::text::{percent, sparkline, thousands};

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn changes(out: &mut String, digest: &Digest, title: &str, list: &[TermChange]) {
    let _ = writeln!(out, "## {title}\n");
    if list.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| term | share | baseline | lift | calls | baseline calls | G² | daily | example |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---|---|");
    for change in list {
        let term = if change.covers.is_empty() {
            cell(&change.term)
        } else {
            format!(
                "{} (with {})",
                cell(&change.term),
                cell(&super::text::short_list(&change.covers, 8))
            )
        };
        let example = change
            .examples
            .first()
            .map(|quote| format!("“{}” ({})", cell(&quote.text), cell(&quote.call_id)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {term} | {} | {} | {:.1}× | {} | {} | {:.1} | {} | {example} |",
            percent(change.share),
            percent(change.baseline_share),
            change.lift,
            thousands(change.calls),
            thousands(change.baseline_calls),
            change.score,
            sparkline(&super::text::daily_shares(digest, &change.days)),
        );
    }
    let _ = writeln!(out);
}

/// Renders the digest as a Markdown document.
pub fn render(digest: &Digest) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# VOC digest {}..{}\n\nWindow **{}..{}** ({} days, {} calls) against the baseline \
         {}..{} ({} days, {} calls){}.\n",
        digest.window.from,
        digest.window.to,
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
        let _ = writeln!(out, "> {note}\n");
    }
    if let Some(compare) = &digest.compare {
        let _ = writeln!(
            out,
            "## Before/after: {} ({})\n",
            cell(&compare.term),
            compare.kind
        );
        let _ = writeln!(out, "| period | calls | mentioning | share | 95% CI |");
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        for period in [&compare.before, &compare.after] {
            let _ = writeln!(
                out,
                "| {}..{} | {} | {} | {} | {}–{} |",
                period.from,
                period.to,
                thousands(period.calls),
                thousands(period.matching),
                percent(period.share),
                percent(period.low),
                percent(period.high)
            );
        }
        let _ = writeln!(
            out,
            "\nChange: **{:+.2} points** (95% CI {:+.2} to {:+.2}, p {}): **{}**.\n",
            compare.difference.value * 100.0,
            compare.difference.low * 100.0,
            compare.difference.high * 100.0,
            super::text::p_display(compare.p_value),
            compare.verdict
        );
    }
    changes(&mut out, digest, "Rising", &digest.emerging);
    changes(&mut out, digest, "Falling", &digest.falling);
    if !digest.topics.is_empty() {
        let _ = writeln!(out, "## Topics\n");
        let _ = writeln!(out, "| topic | calls | share | baseline | weekly calls |");
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        for topic in &digest.topics {
            let weekly: Vec<String> = topic
                .weeks
                .iter()
                .map(|week| format!("{} {}", week.week, thousands(week.calls)))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&topic.name),
                thousands(topic.calls),
                percent(topic.share),
                percent(topic.baseline_share),
                weekly.join(", ")
            );
        }
        let _ = writeln!(out);
    }
    if let Some(cooccurrence) = &digest.cooccurrence {
        let _ = writeln!(out, "## What comes with “{}”\n", cell(&cooccurrence.focus));
        let _ = writeln!(out, "| term | sentences together | PMI |");
        let _ = writeln!(out, "|---|---:|---:|");
        for companion in &cooccurrence.terms {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} |",
                cell(&companion.term),
                companion.together,
                companion.pmi
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Top terms\n");
    let _ = writeln!(out, "| term | calls | share | baseline |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for term in &digest.terms {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&term.term),
            thousands(term.calls),
            percent(term.share),
            percent(term.baseline_share)
        );
    }
    let qa = &digest.qa;
    let _ = writeln!(
        out,
        "\n## QA\n\n{} scored calls, pass rate **{}**, average score **{:.1}**, fatal {}.\n",
        thousands(qa.calls),
        percent(qa.pass_rate),
        qa.average_score,
        percent(qa.fatal_rate)
    );
    if !qa.teams.is_empty() {
        let _ = writeln!(
            out,
            "| team | calls | pass rate | average score | top violation |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        for team in &qa.teams {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} | {} |",
                cell(&team.team),
                thousands(team.calls),
                percent(team.pass_rate),
                team.average_score,
                team.top_violations
                    .first()
                    .map(|rule| format!("{} ({})", cell(&rule.name), percent(rule.rate)))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Alerts\n");
    if digest.alerts.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| who | metric | recent | baseline | calls | p |");
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
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
                "| {} | {} | {recent} | {baseline} | {} | {} |",
                cell(&who),
                alert.metric,
                alert.calls,
                super::text::p_value(alert.p_value)
            );
        }
    }
    out
}
