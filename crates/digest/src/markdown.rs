//! The digest as Markdown (`callscope digest --markdown FILE`), for wikis,
//! tickets and e-mail.

use std::fmt::Write;

use crate::report::Digest;
use crate::view::{
    AlertRow, ChangeList, ComparisonView, CooccurrenceView, DigestView, QaView, TeamRow, TermRow,
    TopicRow,
};

/// Renders the digest as a Markdown document.
pub fn render(digest: &Digest) -> String {
    let view = DigestView::new(digest);
    let mut out = String::new();
    header(&mut out, &view);
    if let Some(comparison) = &view.comparison {
        self::comparison(&mut out, comparison);
    }
    changes(&mut out, &view.changes.rising);
    changes(&mut out, &view.changes.falling);
    if !view.topics.is_empty() {
        topics(&mut out, &view.topics);
    }
    if let Some(cooccurrence) = &view.cooccurrence {
        self::cooccurrence(&mut out, cooccurrence);
    }
    terms(&mut out, &view.terms);
    qa(&mut out, &view.qa);
    alerts(&mut out, &view.alerts.rows);
    out
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A table's header row and its alignment row (`:` right-aligns a column).
fn table_head(out: &mut String, columns: &str, alignment: &str) {
    let _ = writeln!(out, "| {columns} |");
    let _ = writeln!(out, "|{alignment}|");
}

fn header(out: &mut String, view: &DigestView) {
    let (window, baseline) = (&view.window, &view.baseline);
    let _ = writeln!(
        out,
        "# {}\n\nWindow **{}** ({} days, {} calls) against the baseline {} ({} days, {} \
         calls){}.\n",
        view.title,
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
        let _ = writeln!(out, "> {note}\n");
    }
}

fn comparison(out: &mut String, comparison: &ComparisonView) {
    let _ = writeln!(
        out,
        "## Before/after: {} ({})\n",
        cell(&comparison.term),
        comparison.kind
    );
    table_head(
        out,
        "period | calls | mentioning | share | 95% CI",
        "---|---:|---:|---:|---",
    );
    for period in &comparison.periods {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            period.range, period.calls, period.matching, period.share, period.interval
        );
    }
    let _ = writeln!(
        out,
        "\nChange: **{} points** (95% CI {}, p {}): **{}**.\n",
        comparison.change, comparison.change_interval, comparison.p_display, comparison.verdict
    );
}

fn changes(out: &mut String, list: &ChangeList) {
    let _ = writeln!(out, "## {}\n", list.title);
    if list.rows.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    table_head(
        out,
        "term | share | baseline | lift | calls | baseline calls | G² | daily | example",
        "---|---:|---:|---:|---:|---:|---:|---|---",
    );
    for row in &list.rows {
        let term = match &row.covers {
            Some(covers) => format!("{} (with {})", cell(&row.term), cell(covers)),
            None => cell(&row.term),
        };
        let example = row
            .quotes
            .first()
            .map(|quote| format!("“{}” ({})", cell(&quote.text), cell(&quote.call_id)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {term} | {} | {} | {}× | {} | {} | {} | {} | {example} |",
            row.share,
            row.baseline_share,
            row.lift,
            row.calls,
            row.baseline_calls,
            row.score,
            row.sparkline,
        );
    }
    let _ = writeln!(out);
}

fn topics(out: &mut String, topics: &[TopicRow]) {
    let _ = writeln!(out, "## Topics\n");
    table_head(
        out,
        "topic | calls | share | baseline | weekly calls",
        "---|---:|---:|---:|---",
    );
    for topic in topics {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&topic.name),
            topic.calls,
            topic.share,
            topic.baseline_share,
            topic.weeks.join(", ")
        );
    }
    let _ = writeln!(out);
}

fn cooccurrence(out: &mut String, cooccurrence: &CooccurrenceView) {
    let _ = writeln!(out, "## What comes with “{}”\n", cell(&cooccurrence.focus));
    table_head(out, "term | sentences together | PMI", "---|---:|---:");
    for companion in &cooccurrence.companions {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            cell(&companion.term),
            companion.together,
            companion.pmi
        );
    }
    let _ = writeln!(out);
}

fn terms(out: &mut String, terms: &[TermRow]) {
    let _ = writeln!(out, "## Top terms\n");
    table_head(out, "term | calls | share | baseline", "---|---:|---:|---:");
    for term in terms {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&term.term),
            term.calls,
            term.share,
            term.baseline_share
        );
    }
}

fn qa(out: &mut String, qa: &QaView) {
    let _ = writeln!(
        out,
        "\n## QA\n\n{} scored calls, pass rate **{}**, average score **{}**, fatal {}.\n",
        qa.calls, qa.pass_rate, qa.average_score, qa.fatal_rate
    );
    if qa.teams.is_empty() {
        return;
    }
    table_head(
        out,
        "team | calls | pass rate | average score | top violation",
        "---|---:|---:|---:|---",
    );
    for team in &qa.teams {
        team_row(out, team);
    }
    let _ = writeln!(out);
}

fn team_row(out: &mut String, team: &TeamRow) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |",
        cell(&team.team),
        team.calls,
        team.pass_rate,
        team.average_score,
        team.top_violation
            .as_ref()
            .map(|rule| format!("{} ({})", cell(&rule.name), rule.rate))
            .unwrap_or_default()
    );
}

fn alerts(out: &mut String, alerts: &[AlertRow]) {
    let _ = writeln!(out, "## Alerts\n");
    if alerts.is_empty() {
        let _ = writeln!(out, "None.");
        return;
    }
    table_head(
        out,
        "who | metric | recent | baseline | calls | p",
        "---|---|---:|---:|---:|---:",
    );
    for alert in alerts {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&alert.who),
            alert.metric,
            alert.recent,
            alert.baseline,
            alert.calls,
            alert.p_value
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_tables_intact() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        let mut out = String::new();
        table_head(&mut out, "term | calls", "---|---:");
        assert_eq!(out, "| term | calls |\n|---|---:|\n");
    }
}
