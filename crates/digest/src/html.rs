//! The digest as one self-contained HTML page (`callscope digest --html
//! FILE`): inline CSS and inline SVG charts (topic trends, rising and
//! falling terms, calls per day, QA by team), no script and no external
//! asset, so a product manager can open it offline or mail it.

use std::fmt::Write;

use super::report::{Digest, TermChange};
use super::svg::{self, escape, Move, Panel, TeamBar};
use super::text::{daily_shares, percent, thousands};

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #f3f4f6; color: #1f2937;
  font: 14px/1.5 "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC",
  "Source Han Sans SC", "WenQuanYi Micro Hei", system-ui, sans-serif; }
main { max-width: 920px; margin: 0 auto; padding: 24px 16px 48px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #4b5563; }
section { background: #fff; border-radius: 10px; padding: 16px 20px; margin-top: 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); }
h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.hint { color: #6b7280; margin: 0 0 12px; font-size: 13px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; background: none; box-shadow: none; padding: 0; }
.card { flex: 1 1 110px; background: #fff; border-radius: 10px; padding: 12px 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); }
.card .value { font-size: 22px; font-weight: 600; }
.card .label { color: #6b7280; font-size: 12px; }
.up { color: #dc2626; } .down { color: #059669; } .warn { color: #b45309; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
td.term { width: 24%; }
td.name { white-space: nowrap; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { color: #6b7280; font-weight: 500; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart text { font-family: inherit; }
blockquote { margin: 2px 0; padding: 0 0 0 8px; border-left: 3px solid #e5e7eb; color: #374151; }
blockquote small { color: #9ca3af; }
.note { background: #fffbeb; border: 1px solid #fde68a; border-radius: 8px; padding: 8px 12px; margin-top: 12px; }
footer { color: #6b7280; font-size: 12px; margin-top: 16px; }
"#;

fn who(alert: &super::report::Alert) -> String {
    match (&alert.agent_id, &alert.team) {
        (Some(agent), Some(team)) => format!("agent {agent} ({team})"),
        (Some(agent), None) => format!("agent {agent}"),
        (None, Some(team)) => format!("team {team}"),
        (None, None) => "-".to_string(),
    }
}

fn metric_value(metric: &str, value: f64) -> String {
    if metric == "pass_rate" {
        percent(value)
    } else {
        format!("{value:.1}")
    }
}

/// Trailing `days`-day shares: matching calls over all calls of the last
/// `days` days up to each day (fewer at the start).
fn trailing_shares(digest: &Digest, counts: &[super::report::DayCount], days: usize) -> Vec<f64> {
    let totals: Vec<u64> = digest.calls.days.iter().map(|day| day.calls).collect();
    (0..counts.len())
        .map(|index| {
            let first = (index + 1).saturating_sub(days);
            let matching: u64 = counts[first..=index].iter().map(|day| day.calls).sum();
            let calls: u64 = totals
                .get(first..=index)
                .map_or(0, |slice| slice.iter().sum());
            if calls == 0 {
                0.0
            } else {
                matching as f64 / calls as f64
            }
        })
        .collect()
}

/// An RFC 3339 timestamp shortened for people (`2026-09-28 16:12`).
fn short_time(timestamp: Option<&str>) -> String {
    timestamp
        .map(|text| text.chars().take(16).collect::<String>().replace('T', " "))
        .unwrap_or_default()
}

/// Indexes of the window's first and last day in the span's days.
fn window_indexes(digest: &Digest) -> Option<(usize, usize)> {
    let first = digest
        .calls
        .days
        .iter()
        .position(|day| day.date == digest.window.from)?;
    let last = digest
        .calls
        .days
        .iter()
        .position(|day| day.date == digest.window.to)?;
    Some((first, last))
}

fn change_rows(out: &mut String, digest: &Digest, changes: &[TermChange], rising: bool) {
    let highlight = window_indexes(digest);
    let color = if rising { svg::RISING } else { svg::FALLING };
    let _ = writeln!(
        out,
        "<table><tr><th>term</th><th>daily share</th><th class=num>window</th>\
         <th class=num>baseline</th><th class=num>calls</th><th>what customers say</th></tr>"
    );
    for change in changes {
        let covers = if change.covers.is_empty() {
            String::new()
        } else {
            format!(
                "<br><small>with {}</small>",
                escape(&super::text::short_list(&change.covers, 8))
            )
        };
        let quotes: String = change
            .examples
            .iter()
            .map(|quote| {
                format!(
                    "<blockquote>“{}”<br><small>{} · {} · {}</small></blockquote>",
                    escape(&quote.text),
                    escape(&quote.call_id),
                    escape(&short_time(quote.started_at.as_deref())),
                    callscope_core::text::clock(quote.start)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr><td class=term><b class={}>{}</b>{covers}</td><td>{}</td><td class=num>{}</td>\
             <td class=num>{}</td><td class=num>{}</td><td>{quotes}</td></tr>",
            if rising { "up" } else { "down" },
            escape(&change.term),
            svg::sparkline(&daily_shares(digest, &change.days), highlight, color),
            percent(change.share),
            percent(change.baseline_share),
            thousands(change.calls),
        );
    }
    let _ = writeln!(out, "</table>");
}

/// Renders the digest as a self-contained HTML page.
pub fn render(digest: &Digest) -> String {
    let mut out = String::new();
    let title = format!("VOC digest {}..{}", digest.window.from, digest.window.to);
    let _ = writeln!(
        out,
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>",
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<header><h1>Voice of the customer</h1><p>Window <b>{}</b> to <b>{}</b> ({} days) \
         against the baseline {} to {} ({} days){}. Generated by callscope.</p></header>",
        digest.window.from,
        digest.window.to,
        digest.window.days,
        digest.baseline.from,
        digest.baseline.to,
        digest.baseline.days,
        digest
            .settings
            .queue
            .as_ref()
            .map(|queue| format!(", queue {}", escape(queue)))
            .unwrap_or_default()
    );
    for note in &digest.notes {
        let _ = writeln!(out, "<div class=note>{}</div>", escape(note));
    }
    let card = |value: String, label: &str, class: &str| {
        format!(
            "<div class=card><div class=\"value {class}\">{value}</div><div class=label>{label}</div></div>"
        )
    };
    let _ = writeln!(
        out,
        "<section class=cards>{}{}{}{}{}</section>",
        card(thousands(digest.calls.window), "calls in the window", ""),
        card(digest.emerging.len().to_string(), "rising terms", "up"),
        card(digest.falling.len().to_string(), "falling terms", "down"),
        card(
            if digest.qa.calls > 0 {
                percent(digest.qa.pass_rate)
            } else {
                "–".to_string()
            },
            "QA pass rate",
            ""
        ),
        card(
            digest.alerts.len().to_string(),
            "QA alerts",
            if digest.alerts.is_empty() { "" } else { "warn" }
        ),
    );

    if let Some(compare) = &digest.compare {
        let _ = writeln!(
            out,
            "<section id=compare><h2>Before and after: {} ({})</h2>\
             <p class=hint>Share of calls mentioning it, with 95% intervals.</p>{}\
             <p>Change <b>{:+.2} points</b> (95% CI {:+.2} to {:+.2}, p {}): <b>{}</b>.</p></section>",
            escape(&compare.term),
            compare.kind,
            svg::intervals(
                "compare",
                "share before and after",
                &[
                    (
                        format!("before {}..{}", compare.before.from, compare.before.to),
                        compare.before.share,
                        compare.before.low,
                        compare.before.high
                    ),
                    (
                        format!("after {}..{}", compare.after.from, compare.after.to),
                        compare.after.share,
                        compare.after.low,
                        compare.after.high
                    ),
                ]
            ),
            compare.difference.value * 100.0,
            compare.difference.low * 100.0,
            compare.difference.high * 100.0,
            escape(&super::text::p_display(compare.p_value)),
            escape(&compare.verdict)
        );
    }

    let _ = writeln!(
        out,
        "<section id=changes><h2>What is rising and falling</h2><p class=hint>Share of calls \
         whose customer mentions the term, baseline (grey) to window. Only changes that are \
         significant after testing {} terms (α = {}, Bonferroni), at least {} calls and a \
         change of at least {}× are shown.</p>",
        thousands(digest.settings.terms_tested),
        digest.settings.alpha,
        digest.settings.min_calls,
        digest.settings.min_lift
    );
    let moves: Vec<Move> = digest
        .emerging
        .iter()
        .chain(&digest.falling)
        .map(|change| Move {
            label: change.term.clone(),
            before: change.baseline_share,
            after: change.share,
        })
        .collect();
    if moves.is_empty() {
        let _ = writeln!(out, "<p>No term changed significantly.</p>");
    } else {
        let _ = writeln!(
            out,
            "{}",
            svg::dumbbell("changes", "rising and falling terms", &moves)
        );
    }
    if !digest.emerging.is_empty() {
        let _ = writeln!(out, "<h3 class=up>Rising</h3>");
        change_rows(&mut out, digest, &digest.emerging, true);
    }
    if !digest.falling.is_empty() {
        let _ = writeln!(out, "<h3 class=down>Falling</h3>");
        change_rows(&mut out, digest, &digest.falling, false);
    }
    let _ = writeln!(out, "</section>");

    let dates: Vec<String> = digest
        .calls
        .days
        .iter()
        .map(|day| day.date.clone())
        .collect();
    let highlight = window_indexes(digest);
    let _ = writeln!(out, "<section id=topics><h2>Topic trends</h2>");
    if digest.topics.is_empty() {
        let _ = writeln!(
            out,
            "<p>No topics configured: pass <code>--topics FILE</code> (see \
             corpora/topics/example.toml).</p>"
        );
    } else {
        let panels: Vec<Panel> = digest
            .topics
            .iter()
            .map(|topic| Panel {
                title: topic.name.clone(),
                subtitle: format!(
                    "{} ← {}",
                    percent(topic.share),
                    percent(topic.baseline_share)
                ),
                daily: daily_shares(digest, &topic.days),
                smooth: trailing_shares(digest, &topic.days, 7),
            })
            .collect();
        let _ = writeln!(
            out,
            "<p class=hint>Share of calls matching each topic: per day (grey) and 7-day \
             average (color), each on its own scale; shares, so growth in call volume does not \
             show as a trend. The window is shaded; the figure is its share against the \
             baseline's.</p>{}",
            svg::small_multiples(
                "topics",
                "topic share of calls per day",
                &dates,
                &panels,
                highlight
            )
        );
        let _ = writeln!(
            out,
            "<table><tr><th>topic</th><th>definition</th><th class=num>calls</th>\
             <th class=num>share</th><th class=num>baseline</th><th>calls per week</th></tr>"
        );
        for topic in &digest.topics {
            let weeks: Vec<String> = topic
                .weeks
                .iter()
                .map(|week| format!("{} {}", week.week, thousands(week.calls)))
                .collect();
            let direction = if topic.p_value < 0.01 && topic.share > topic.baseline_share {
                "up"
            } else if topic.p_value < 0.01 && topic.share < topic.baseline_share {
                "down"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<tr><td class=name><b>{}</b></td><td><code>{}</code></td><td class=num>{}</td>\
                 <td class=\"num {direction}\">{}</td><td class=num>{}</td><td><small>{}</small></td></tr>",
                escape(&topic.name),
                escape(&topic.query),
                thousands(topic.calls),
                percent(topic.share),
                percent(topic.baseline_share),
                escape(&weeks.join(" · "))
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let _ = writeln!(out, "</section>");

    let volume: Vec<f64> = digest
        .calls
        .days
        .iter()
        .map(|day| day.calls as f64)
        .collect();
    let _ = writeln!(
        out,
        "<section id=volume><h2>Calls per day</h2><p class=hint>{} calls in the window, {} in \
         the baseline.</p>{}</section>",
        thousands(digest.calls.window),
        thousands(digest.calls.baseline),
        svg::bar_chart("volume", "calls per day", &dates, &volume, highlight)
    );

    if let Some(cooccurrence) = &digest.cooccurrence {
        let _ = writeln!(
            out,
            "<section id=cooccurrence><h2>What customers say with “{}”</h2><p class=hint>Terms \
             in the same customer sentence ({} of {} sentences have it), by pointwise mutual \
             information.</p><table><tr><th>term</th><th class=num>together</th>\
             <th class=num>PMI</th></tr>",
            escape(&cooccurrence.focus),
            thousands(cooccurrence.focus_sentences),
            thousands(cooccurrence.sentences)
        );
        for companion in &cooccurrence.terms {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=num>{}</td><td class=num>{:.2}</td></tr>",
                escape(&companion.term),
                companion.together,
                companion.pmi
            );
        }
        let _ = writeln!(out, "</table></section>");
    }

    let _ = writeln!(
        out,
        "<section id=terms><h2>What customers talk about</h2><p class=hint>Top terms of the \
         window by calls mentioning them.</p><table><tr><th>term</th><th class=num>calls</th>\
         <th class=num>share</th><th class=num>baseline</th></tr>"
    );
    for term in &digest.terms {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
            escape(&term.term),
            thousands(term.calls),
            percent(term.share),
            percent(term.baseline_share)
        );
    }
    let _ = writeln!(out, "</table></section>");

    let qa = &digest.qa;
    let _ = writeln!(out, "<section id=qa><h2>QA by team</h2>");
    if qa.calls == 0 {
        let _ = writeln!(out, "<p>No QA results in the window.</p>");
    } else {
        let teams: Vec<TeamBar> = qa
            .teams
            .iter()
            .map(|team| TeamBar {
                team: team.team.clone(),
                pass_rate: team.pass_rate,
                average_score: team.average_score,
                calls: team.calls,
                alert: digest.alerts.iter().any(|alert| {
                    alert.agent_id.is_none() && alert.team.as_deref() == Some(team.team.as_str())
                }),
            })
            .collect();
        let _ = writeln!(
            out,
            "<p class=hint>{} scored calls: pass rate <b>{}</b>, average score <b>{:.1}</b>, \
             fatal {}. Pass rate per team; teams with an alert in red.</p>{}",
            thousands(qa.calls),
            percent(qa.pass_rate),
            qa.average_score,
            percent(qa.fatal_rate),
            svg::team_bars("qa-teams", "QA pass rate by team", &teams)
        );
        let _ = writeln!(
            out,
            "<h3>Most violated rules</h3><table><tr><th>rule</th><th class=num>calls</th>\
             <th class=num>rate</th></tr>"
        );
        for rule in &qa.top_violations {
            let _ = writeln!(
                out,
                "<tr><td>{} <small>{}</small></td><td class=num>{}</td><td class=num>{}</td></tr>",
                escape(&rule.name),
                escape(&rule.rule_id),
                thousands(rule.calls),
                percent(rule.rate)
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let _ = writeln!(out, "<h3>Alerts</h3>");
    if digest.alerts.is_empty() {
        let _ = writeln!(out, "<p>No agent or team dropped significantly.</p>");
    } else {
        let _ = writeln!(
            out,
            "<table><tr><th>who</th><th>metric</th><th class=num>window</th>\
             <th class=num>baseline</th><th class=num>calls</th><th class=num>p</th></tr>"
        );
        for alert in &digest.alerts {
            let _ = writeln!(
                out,
                "<tr><td class=warn><b>{}</b></td><td>{}</td><td class=\"num up\">{}</td>\
                 <td class=num>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
                escape(&who(alert)),
                match alert.metric.as_str() {
                    "qa_score" => "average QA score",
                    "pass_rate" => "pass rate",
                    other => other,
                },
                metric_value(&alert.metric, alert.recent),
                metric_value(&alert.metric, alert.baseline),
                alert.calls,
                escape(&super::text::p_value(alert.p_value))
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let _ = writeln!(out, "</section>");
    let _ = writeln!(
        out,
        "<footer>Terms come from the customer's side of each call (jieba words minus stop \
         words, plus two- and three-word phrases). Shares are calls mentioning a term over all \
         calls of the period. Alerts: Welch's t and Fisher's exact tests, Benjamini-Hochberg at \
         {}, at least {} scored calls per period.</footer></main></body></html>",
        digest.settings.alert_fdr, digest.settings.alert_min_calls
    );
    out
}
