//! `callscope qa`: score calls against scorecards, store the results, print
//! a summary (or the results as JSON lines); or backtest a scorecard change.

use std::collections::{BTreeMap, HashMap};
use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

use crate::cli::QaArgs;
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_core::import::{ImportOptions, Importer};
use callscope_core::model::{Call, QaResult, ScoringView};
use callscope_pipeline as pipeline;
use callscope_qa::backtest::{self, BacktestTotals, Change, ReviewedAgreement};
use callscope_qa::summary::ScorecardSummary;
use callscope_qa::{Scorecard, Scorer, Summary};
use callscope_redact::Redactor;
use callscope_store::workspace::Workspace;
use callscope_store::{parse_timestamp, CallFilter};

/// Calls decoded and scored together (one store transaction per batch).
const BATCH: usize = 1000;

pub(super) fn run(workspace: &Workspace, args: &QaArgs, output: Output) -> Result<Outcome> {
    let filter = call_filter(args)?;
    if args.against.is_some() && args.scorecards.len() != 1 {
        return Err(Error::Usage(format!(
            "--against compares one scorecard with its older version, but {} were given \
             with --scorecard: pass exactly one",
            args.scorecards.len()
        )));
    }
    let scorecards = load_all(&args.scorecards)?;
    if args.input.is_none() {
        // Stored calls are masked: say which rules look for what masking
        // removes when no seal key keeps the originals.
        let redactor = Redactor::from_workspace(workspace)?;
        for warning in pipeline::scoring::masking_warnings(&scorecards, &redactor) {
            crate::errln!("warning: {warning}");
        }
    }
    match &args.against {
        Some(old_path) => {
            let old = load_all(std::slice::from_ref(old_path))?;
            backtest(workspace, args, &filter, old, scorecards, output)
        }
        None => score(workspace, args, &filter, scorecards, output),
    }
}

/// Loads every scorecard, reporting the problems of all files before
/// failing: nothing is scored unless all are valid.
fn load_all(paths: &[PathBuf]) -> Result<Vec<Scorecard>> {
    let mut scorecards = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match Scorecard::load(path) {
            Ok(scorecard) => scorecards.push(scorecard),
            Err(error) => errors.push(error),
        }
    }
    let Some(last) = errors.pop() else {
        let mut names: Vec<&str> = scorecards
            .iter()
            .map(|scorecard| scorecard.name.as_str())
            .collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(Error::Usage(format!(
                "two scorecards are named '{}': results are stored by scorecard name, so give \
                 each scorecard its own name",
                pair[0]
            )));
        }
        return Ok(scorecards);
    };
    for error in errors {
        crate::errln!("error: {error}");
    }
    Err(last)
}

fn call_filter(args: &QaArgs) -> Result<CallFilter> {
    Ok(CallFilter {
        call_ids: args.calls.clone(),
        ..args.filter.to_filter()?
    })
}

/// The store's filter applied to a call read from a file.
fn admits(filter: &CallFilter, call: &Call) -> bool {
    let same = |wanted: &Option<String>, value: &Option<String>| {
        wanted
            .as_ref()
            .is_none_or(|wanted| value.as_ref() == Some(wanted))
    };
    if !same(&filter.agent_id, &call.agent_id)
        || !same(&filter.team, &call.team)
        || !same(&filter.queue, &call.queue)
    {
        return false;
    }
    if !filter.call_ids.is_empty() && !filter.call_ids.contains(&call.call_id) {
        return false;
    }
    if filter.from.is_none() && filter.to.is_none() {
        return true;
    }
    let Some(date) = call
        .started_at
        .as_deref()
        .and_then(parse_timestamp)
        .map(|started| started.date_naive())
    else {
        return false;
    };
    filter.from.is_none_or(|from| date >= from) && filter.to.is_none_or(|to| date <= to)
}

/// Reads the calls of the `--input` file in batches, reporting bad lines on
/// stderr; returns how many inputs failed.
fn for_each_input_batch(
    workspace: &Workspace,
    input: &std::path::Path,
    filter: &CallFilter,
    output: Output,
    mut visit: impl FnMut(Vec<Call>) -> Result<()>,
) -> Result<usize> {
    let source = input.display().to_string();
    let (mut reader, total): (Box<dyn std::io::BufRead>, u64) = if source == "-" {
        (Box::new(std::io::stdin().lock()), 0)
    } else {
        let file = std::fs::File::open(input).map_err(|error| Error::io(input, error))?;
        let length = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
        (Box::new(BufReader::with_capacity(1 << 20, file)), length)
    };
    let bar = output.progress(total, "bytes");
    let report = Importer::new(ImportOptions {
        batch_size: BATCH,
        ..ImportOptions::default()
    })
    .run(
        &mut reader,
        &source,
        |calls| {
            let calls: Vec<Call> = calls
                .into_iter()
                .filter(|call| admits(filter, call))
                .collect();
            visit(calls)
        },
        |bytes| bar.set_position(bytes),
    );
    bar.finish_and_clear();
    let report = report?;
    // Refusal reasons quote values (serde names the bad value): masked.
    let redactor = Redactor::for_display(workspace)?;
    for failure in &report.failed {
        crate::errln!(
            "{source}:{}: {}",
            failure.line,
            redactor.mask_text(&failure.reason)
        );
    }
    Ok(report.failed.len())
}

/// Reports the calls asked for with --call that were not found; returns
/// how many.
fn report_missing(args: &QaArgs, filter: &CallFilter, seen: &[String]) -> usize {
    let mut missing = 0;
    for wanted in &filter.call_ids {
        if seen.contains(wanted) {
            continue;
        }
        match &args.input {
            Some(input) => crate::errln!(
                "no call '{wanted}' in {} (or it does not pass the other filters)",
                input.display()
            ),
            None => crate::errln!(
                "no call '{wanted}' in the workspace (or it does not pass the other \
                 filters): `callscope stats` shows what is there"
            ),
        }
        missing += 1;
    }
    missing
}

fn score(
    workspace: &Workspace,
    args: &QaArgs,
    filter: &CallFilter,
    scorecards: Vec<Scorecard>,
    output: Output,
) -> Result<Outcome> {
    let names: Vec<String> = scorecards
        .iter()
        .map(|scorecard| scorecard.name.clone())
        .collect();
    let scorer = Scorer::new(scorecards);
    let started = Instant::now();
    let mut summary = Summary::default();
    let (mut calls, mut unscored) = (0u64, 0u64);
    let mut seen: Vec<String> = Vec::new();
    let track = !filter.call_ids.is_empty();
    let mut visit = |call: &Call, results: &[QaResult]| {
        calls += 1;
        unscored += u64::from(results.is_empty());
        if track {
            seen.push(call.call_id.clone());
        }
        for result in results {
            summary.add(result, call.agent_id.as_deref());
            if output.json {
                output.json_line(result);
            }
        }
    };
    let failed = match &args.input {
        Some(input) => {
            // Nothing is stored: score the file's calls as they are.
            let redactor = Redactor::for_display(workspace)?;
            for_each_input_batch(workspace, input, filter, output, |batch| {
                let views = pipeline::scoring::input_views(&redactor, &batch);
                let results = pipeline::score_and_mask(&scorer, &redactor, &views);
                for (call, results) in batch.iter().zip(results) {
                    visit(call, &results);
                }
                Ok(())
            })?
        }
        None => {
            // Rules see sealed originals where kept; what is stored is masked.
            let redactor = Redactor::from_workspace(workspace)?;
            let bar = output.progress(0, "calls");
            let report =
                pipeline::score_stored(workspace, &scorer, &redactor, filter, &bar, &mut visit);
            bar.finish_and_clear();
            let report = report?;
            for failure in &report.failures {
                crate::errln!("{failure}");
            }
            // The index carries QA scores and violated rules: bring it along.
            let mut store = workspace.open_existing_store()?;
            super::index_after_write(workspace, &mut store, output)?;
            report.failures.len()
        }
    };
    let failed = failed + report_missing(args, filter, &seen);
    if !output.json {
        print_summary(
            workspace,
            args,
            &names,
            calls,
            unscored,
            started.elapsed().as_secs_f64(),
            &summary.report(args.top),
        );
    }
    Ok(Outcome { failed })
}

fn plural(count: u64, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn print_summary(
    workspace: &Workspace,
    args: &QaArgs,
    names: &[String],
    calls: u64,
    unscored: u64,
    seconds: f64,
    report: &[ScorecardSummary],
) {
    let source = match &args.input {
        Some(input) => format!("{}", input.display()),
        None => "the workspace".to_string(),
    };
    crate::outln!(
        "scored {} from {source} against {} in {seconds:.1} s",
        plural(calls, "call"),
        plural(names.len() as u64, "scorecard"),
    );
    if calls == 0 {
        crate::outln!(
            "no calls match the filters; `callscope stats` shows what the workspace holds"
        );
        return;
    }
    if unscored > 0 {
        crate::outln!(
            "{} outside every scorecard's queues were not scored",
            plural(unscored, "call")
        );
    }
    match &args.input {
        Some(_) => crate::outln!("results not stored (--input)"),
        None => crate::outln!(
            "results stored in {} (see them with `callscope show CALL_ID`)",
            workspace.root().display()
        ),
    }
    for name in names {
        crate::outln!();
        let Some(totals) = report.iter().find(|totals| &totals.scorecard == name) else {
            crate::outln!("{name}: no calls in its queues");
            continue;
        };
        crate::outln!("{name}");
        crate::outln!("  calls          {}", totals.calls);
        crate::outln!(
            "  passed         {} ({})",
            totals.passed,
            percent(totals.pass_rate)
        );
        crate::outln!("  average score  {:.1}", totals.average_score);
        crate::outln!("  fatal          {}", totals.fatal);
        if !totals.most_violated.is_empty() {
            crate::outln!("  most violated rules");
            let width = totals
                .most_violated
                .iter()
                .map(|rule| rule.rule_id.len())
                .max()
                .unwrap_or(0);
            for rule in &totals.most_violated {
                crate::outln!(
                    "    {:<width$}  {:>5} calls ({:>6})  {}",
                    rule.rule_id,
                    rule.calls,
                    percent(rule.share),
                    rule.name
                );
            }
        }
        if !totals.worst_agents.is_empty() {
            crate::outln!("  worst agents (average score)");
            let width = totals
                .worst_agents
                .iter()
                .map(|agent| agent.agent_id.len())
                .max()
                .unwrap_or(0);
            for agent in &totals.worst_agents {
                crate::outln!(
                    "    {:<width$}  {:>5.1}  {}, {} passed",
                    agent.agent_id,
                    agent.average_score,
                    plural(agent.calls, "call"),
                    percent(agent.pass_rate)
                );
            }
        }
    }
}

fn backtest(
    workspace: &Workspace,
    args: &QaArgs,
    filter: &CallFilter,
    old: Vec<Scorecard>,
    new: Vec<Scorecard>,
    output: Output,
) -> Result<Outcome> {
    let changed_rules = match (old.first(), new.first()) {
        (Some(old), Some(new)) => backtest::changed_rules(old, new),
        _ => Vec::new(),
    };
    let names: Vec<String> = old
        .iter()
        .chain(&new)
        .map(|scorecard| scorecard.name.clone())
        .collect();
    // The reviewers' verdicts (复核) on the changed rules: the reference the
    // old and the new rule are held against.
    let reviewed = if args.input.is_none() && !changed_rules.is_empty() {
        reviewed_verdicts(workspace, filter, &names, &changed_rules)?
    } else {
        HashMap::new()
    };
    let mut agreements: BTreeMap<String, ReviewedAgreement> = BTreeMap::new();
    let (old_scorer, new_scorer) = (Scorer::new(old), Scorer::new(new));
    let mut totals = BacktestTotals::default();
    let mut changes: Vec<Change> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let track = !filter.call_ids.is_empty();
    // Nothing is stored; what is printed is masked.
    let mut compare = |redactor: &Redactor, stored: &[Call], views: &[ScoringView]| {
        let old = pipeline::score_and_mask(&old_scorer, redactor, views);
        let new = pipeline::score_and_mask(&new_scorer, redactor, views);
        for ((call, old), new) in stored.iter().zip(old).zip(new) {
            if track {
                seen.push(call.call_id.clone());
            }
            let (old, new) = (old.into_iter().next(), new.into_iter().next());
            if let (Some(verdicts), Some(old), Some(new)) =
                (reviewed.get(&call.call_id), old.as_ref(), new.as_ref())
            {
                let violates = |result: &QaResult, rule: &str| {
                    result
                        .violations
                        .iter()
                        .any(|violation| violation.rule_id == rule)
                };
                for (rule, verdict) in verdicts {
                    agreements
                        .entry(rule.clone())
                        .or_insert_with(|| ReviewedAgreement {
                            rule_id: rule.clone(),
                            ..ReviewedAgreement::default()
                        })
                        .add(*verdict, violates(old, rule), violates(new, rule));
                }
            }
            let change = backtest::compare(
                &call.call_id,
                call.agent_id.as_deref(),
                old.as_ref(),
                new.as_ref(),
            );
            totals.add(old.as_ref(), new.as_ref(), change.as_ref());
            if let Some(change) = change {
                if output.json {
                    output.json_line(&change);
                } else {
                    changes.push(change);
                }
            }
        }
    };
    let failed = match &args.input {
        Some(input) => {
            let redactor = Redactor::for_display(workspace)?;
            for_each_input_batch(workspace, input, filter, output, |batch| {
                compare(
                    &redactor,
                    &batch,
                    &pipeline::scoring::input_views(&redactor, &batch),
                );
                Ok(())
            })?
        }
        None => {
            let redactor = Redactor::from_workspace(workspace)?;
            let bar = output.progress(0, "calls");
            let read = pipeline::scoring::for_each_stored_batch(
                workspace,
                &redactor,
                filter,
                &bar,
                |batch| {
                    compare(&redactor, &batch.stored, &batch.views);
                    Ok(())
                },
            );
            bar.finish_and_clear();
            let failures = read?;
            for failure in &failures {
                crate::errln!("{failure}");
            }
            failures.len()
        }
    };
    let failed = failed + report_missing(args, filter, &seen);
    if output.json {
        if !agreements.is_empty() {
            output.json_line(&serde_json::json!({
                "reviewed_rules": agreements.values().collect::<Vec<_>>()
            }));
        }
    } else {
        print_backtest(args, &totals, &changes);
        print_reviewed(&changed_rules, &agreements);
    }
    Ok(Outcome { failed })
}

/// The latest reviewer's verdict (violated or not) per call and rule, for
/// the rules in `rules` of the scorecards named in `names`, on the calls
/// `filter` selects.
fn reviewed_verdicts(
    workspace: &Workspace,
    filter: &CallFilter,
    names: &[String],
    rules: &[String],
) -> Result<HashMap<String, BTreeMap<String, bool>>> {
    let store = workspace.open_existing_store()?;
    let mut latest: HashMap<(String, String), (i64, i64, bool)> = HashMap::new();
    store.for_each_review(filter, |row| {
        let review = row.review;
        if !names.contains(&review.scorecard) || !rules.contains(&review.rule_id) {
            return Ok(());
        }
        let key = (review.call_id, review.rule_id);
        let order = (review.created_at, review.id);
        let newer = latest
            .get(&key)
            .is_none_or(|(at, id, _)| order > (*at, *id));
        if newer {
            latest.insert(key, (order.0, order.1, review.reviewed_violated));
        }
        Ok(())
    })?;
    let mut verdicts: HashMap<String, BTreeMap<String, bool>> = HashMap::new();
    for ((call_id, rule_id), (_, _, violated)) in latest {
        verdicts
            .entry(call_id)
            .or_default()
            .insert(rule_id, violated);
    }
    Ok(verdicts)
}

/// How each changed rule fares on the reviewed calls.
/// Nothing is printed when no reviewed call judged a changed rule.
fn print_reviewed(changed: &[String], agreements: &BTreeMap<String, ReviewedAgreement>) {
    if agreements.is_empty() {
        return;
    }
    crate::outln!(
        "changed rules on reviewed calls (agreement with the reviewers' verdicts, old → new):"
    );
    for rule in changed {
        match agreements.get(rule) {
            Some(agreement) => crate::outln!(
                "  {rule}: {} → {} of {} ({:.0}% → {:.0}%); newly caught {}, new false alarms {}",
                agreement.old_agrees,
                agreement.new_agrees,
                plural(agreement.reviewed_calls, "reviewed call"),
                ReviewedAgreement::percent(agreement.old_agrees, agreement.reviewed_calls),
                ReviewedAgreement::percent(agreement.new_agrees, agreement.reviewed_calls),
                agreement.newly_caught,
                agreement.new_false_alarms
            ),
            None => crate::outln!("  {rule}: no reviewed call judged it"),
        }
    }
}

fn verdict(verdict: Option<&backtest::Verdict>) -> String {
    match verdict {
        None => "not scored".to_string(),
        Some(verdict) => format!(
            "{:>5} {}",
            format!("{:.1}", verdict.score),
            if verdict.fatal {
                "fatal"
            } else if verdict.passed {
                "pass"
            } else {
                "fail"
            }
        ),
    }
}

fn print_backtest(args: &QaArgs, totals: &BacktestTotals, changes: &[Change]) {
    let new = args
        .scorecards
        .first()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    let old = args
        .against
        .as_ref()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    crate::outln!(
        "backtest of {new} against {old} on {}",
        plural(totals.calls, "call")
    );
    let average = |sum: f64, count: u64| if count == 0 { 0.0 } else { sum / count as f64 };
    crate::outln!(
        "  scored         {} → {}",
        totals.old_scored,
        totals.new_scored
    );
    crate::outln!(
        "  passed         {} → {}",
        totals.old_passed,
        totals.new_passed
    );
    crate::outln!(
        "  average score  {:.1} → {:.1}",
        average(totals.old_score_sum, totals.old_scored),
        average(totals.new_score_sum, totals.new_scored)
    );
    if changes.is_empty() {
        crate::outln!("no call changes verdict or score");
        return;
    }
    crate::outln!(
        "{} change ({} now fail, {} now pass, {} score or scope only):",
        plural(totals.changed, "call"),
        totals.now_fail,
        totals.now_pass,
        totals.changed - totals.now_fail - totals.now_pass
    );
    let id_width = changes
        .iter()
        .map(|change| change.call_id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let agent_width = changes
        .iter()
        .map(|change| change.agent_id.as_deref().unwrap_or("-").len())
        .max()
        .unwrap_or(5)
        .max(5);
    crate::outln!(
        "  {:<id_width$}  {:<agent_width$}  {:>11}    {:>11}  rules",
        "call",
        "agent",
        "old",
        "new"
    );
    for change in changes {
        let mut rules: Vec<String> = change
            .newly_violated
            .iter()
            .map(|rule| format!("+{rule}"))
            .collect();
        rules.extend(
            change
                .no_longer_violated
                .iter()
                .map(|rule| format!("-{rule}")),
        );
        if rules.is_empty() {
            rules.push("(same rules, other points)".to_string());
        }
        crate::outln!(
            "  {:<id_width$}  {:<agent_width$}  {:<11} →  {:<11}  {}",
            change.call_id,
            change.agent_id.as_deref().unwrap_or("-"),
            verdict(change.old.as_ref()),
            verdict(change.new.as_ref()),
            rules.join(" ")
        );
    }
}
