//! `callscope qa`: score calls against scorecards, store the results, print
//! a summary (or the results as JSON lines); or backtest a scorecard change.

use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::cli::QaArgs;
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_core::import::{ImportOptions, Importer};
use callscope_core::model::{Call, QaResult};
use callscope_qa::backtest::{self, BacktestTotals, Change};
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
        eprintln!("error: {error}");
    }
    Err(last)
}

fn parse_date(flag: &str, value: &Option<String>) -> Result<Option<NaiveDate>> {
    value
        .as_deref()
        .map(|text| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                Error::Usage(format!(
                    "{flag} '{text}' is not a date: write YYYY-MM-DD, e.g. 2026-09-01"
                ))
            })
        })
        .transpose()
}

fn call_filter(args: &QaArgs) -> Result<CallFilter> {
    let filter = CallFilter {
        from: parse_date("--from", &args.from)?,
        to: parse_date("--to", &args.to)?,
        agent_id: args.agent.clone(),
        team: args.team.clone(),
        queue: args.queue.clone(),
        call_ids: args.calls.clone(),
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from > to {
            return Err(Error::Usage(format!(
                "--from {from} is after --to {to}: swap them"
            )));
        }
    }
    Ok(filter)
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

/// Reads the calls to score (the workspace's, or an input file's) in
/// batches; returns how many inputs failed (reported on stderr).
fn for_each_batch(
    workspace: &Workspace,
    args: &QaArgs,
    filter: &CallFilter,
    output: Output,
    mut visit: impl FnMut(Vec<Call>) -> Result<()>,
) -> Result<usize> {
    let mut failed = 0;
    let mut seen: Vec<String> = Vec::new();
    let track = !filter.call_ids.is_empty();
    if let Some(input) = &args.input {
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
                if track {
                    seen.extend(calls.iter().map(|call| call.call_id.clone()));
                }
                visit(calls)
            },
            |bytes| bar.set_position(bytes),
        );
        bar.finish_and_clear();
        let report = report?;
        for failure in &report.failed {
            eprintln!("{source}:{}: {}", failure.line, failure.reason);
        }
        failed += report.failed.len();
    } else {
        let store = workspace.open_existing_store()?;
        let originals = SealedOriginals::open(workspace)?;
        let bar = output.progress(store.count_calls(filter)?, "calls");
        store.for_each_call_batch(filter, BATCH, |bodies| {
            let decoded: Vec<std::result::Result<Call, String>> = bodies
                .par_iter()
                .map(|body| serde_json::from_str::<Call>(body).map_err(|error| error.to_string()))
                .collect();
            let mut calls = Vec::with_capacity(decoded.len());
            for call in decoded {
                match call {
                    Ok(call) => calls.push(call),
                    Err(error) => {
                        eprintln!("a stored call does not decode ({error}); import it again");
                        failed += 1;
                    }
                }
            }
            bar.inc(calls.len() as u64);
            let calls = originals.scoring_views(calls)?;
            if track {
                seen.extend(calls.iter().map(|call| call.call_id.clone()));
            }
            visit(calls)
        })?;
        bar.finish_and_clear();
    }
    for wanted in &filter.call_ids {
        if !seen.contains(wanted) {
            match &args.input {
                Some(input) => eprintln!(
                    "no call '{wanted}' in {} (or it does not pass the other filters)",
                    input.display()
                ),
                None => eprintln!(
                    "no call '{wanted}' in the workspace (or it does not pass the other \
                     filters): `callscope stats` shows what is there"
                ),
            }
            failed += 1;
        }
    }
    Ok(failed)
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
    // Scoring may see originals; everything printed or stored is masked.
    let redactor = Redactor::for_display(workspace)?;
    // Results are written by their own thread while the next batch is read
    // and scored.
    let writer = match &args.input {
        None => Some(ResultWriter::start(workspace.open_existing_store()?)),
        Some(_) => None,
    };
    let started = Instant::now();
    let mut summary = Summary::default();
    let (mut calls, mut unscored) = (0u64, 0u64);
    let scored = for_each_batch(workspace, args, filter, output, |batch| {
        let scored: Vec<Vec<QaResult>> = batch.par_iter().map(|call| scorer.score(call)).collect();
        let mut stored = Vec::new();
        for (call, results) in batch.iter().zip(scored) {
            calls += 1;
            unscored += u64::from(results.is_empty());
            for result in results {
                let result = redactor.mask_qa_result(&result);
                summary.add(&result, call.agent_id.as_deref());
                if output.json {
                    output.json_line(&result);
                }
                stored.push(result);
            }
        }
        match &writer {
            Some(writer) if !stored.is_empty() => writer.send(stored),
            _ => Ok(()),
        }
    });
    let written = writer.map(ResultWriter::finish).unwrap_or(Ok(()));
    // A failed write explains a failed send: report the writer's error first.
    written?;
    if args.input.is_none() {
        // The index carries QA scores and violated rules: bring it along.
        let mut store = workspace.open_existing_store()?;
        super::index_after_write(workspace, &mut store, output)?;
    }
    let failed = scored?;
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

/// The sealed originals of stored calls, when the workspace keeps them and
/// the seal key is at hand: QA scores what was said, not the masked text.
struct SealedOriginals {
    opened: Option<(Redactor, callscope_store::Store)>,
}

impl SealedOriginals {
    fn open(workspace: &Workspace) -> Result<SealedOriginals> {
        let redactor = Redactor::from_workspace(workspace)?;
        if redactor.key_id().is_none() {
            return Ok(SealedOriginals { opened: None });
        }
        Ok(SealedOriginals {
            opened: Some((redactor, workspace.open_existing_store()?)),
        })
    }

    /// Replaces each call by its original where one is sealed.
    fn scoring_views(&self, calls: Vec<Call>) -> Result<Vec<Call>> {
        let Some((redactor, store)) = &self.opened else {
            return Ok(calls);
        };
        calls
            .into_iter()
            .map(|call| {
                let sealed = store.sealed_original(&call.call_id)?;
                redactor.scoring_view(&call, sealed.as_ref())
            })
            .collect()
    }
}

/// Stores result batches on a thread of its own.
struct ResultWriter {
    sender: std::sync::mpsc::SyncSender<Vec<QaResult>>,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl ResultWriter {
    fn start(mut store: callscope_store::Store) -> ResultWriter {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<QaResult>>(4);
        let thread = std::thread::spawn(move || {
            for batch in receiver {
                store.put_qa_results(&batch)?;
            }
            Ok(())
        });
        ResultWriter { sender, thread }
    }

    fn send(&self, batch: Vec<QaResult>) -> Result<()> {
        self.sender
            .send(batch)
            .map_err(|_| Error::Store("the result writer stopped".to_string()))
    }

    fn finish(self) -> Result<()> {
        drop(self.sender);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(Error::Store("the result writer panicked".to_string())))
    }
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
    println!(
        "scored {} from {source} against {} in {seconds:.1} s",
        plural(calls, "call"),
        plural(names.len() as u64, "scorecard"),
    );
    if calls == 0 {
        println!("no calls match the filters; `callscope stats` shows what the workspace holds");
        return;
    }
    if unscored > 0 {
        println!(
            "{} outside every scorecard's queues were not scored",
            plural(unscored, "call")
        );
    }
    match &args.input {
        Some(_) => println!("results not stored (--input)"),
        None => println!(
            "results stored in {} (see them with `callscope show CALL_ID`)",
            workspace.root().display()
        ),
    }
    for name in names {
        println!();
        let Some(totals) = report.iter().find(|totals| &totals.scorecard == name) else {
            println!("{name}: no calls in its queues");
            continue;
        };
        println!("{name}");
        println!("  calls          {}", totals.calls);
        println!(
            "  passed         {} ({})",
            totals.passed,
            percent(totals.pass_rate)
        );
        println!("  average score  {:.1}", totals.average_score);
        println!("  fatal          {}", totals.fatal);
        if !totals.most_violated.is_empty() {
            println!("  most violated rules");
            let width = totals
                .most_violated
                .iter()
                .map(|rule| rule.rule_id.len())
                .max()
                .unwrap_or(0);
            for rule in &totals.most_violated {
                println!(
                    "    {:<width$}  {:>5} calls ({:>6})  {}",
                    rule.rule_id,
                    rule.calls,
                    percent(rule.share),
                    rule.name
                );
            }
        }
        if !totals.worst_agents.is_empty() {
            println!("  worst agents (average score)");
            let width = totals
                .worst_agents
                .iter()
                .map(|agent| agent.agent_id.len())
                .max()
                .unwrap_or(0);
            for agent in &totals.worst_agents {
                println!(
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
    let (old_scorer, new_scorer) = (Scorer::new(old), Scorer::new(new));
    let mut totals = BacktestTotals::default();
    let mut changes: Vec<Change> = Vec::new();
    let failed = for_each_batch(workspace, args, filter, output, |batch| {
        let compared: Vec<(Option<QaResult>, Option<QaResult>)> = batch
            .par_iter()
            .map(|call| {
                (
                    old_scorer.score(call).into_iter().next(),
                    new_scorer.score(call).into_iter().next(),
                )
            })
            .collect();
        for (call, (old, new)) in batch.iter().zip(compared) {
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
        Ok(())
    })?;
    if !output.json {
        print_backtest(args, &totals, &changes);
    }
    Ok(Outcome { failed })
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
    println!(
        "backtest of {new} against {old} on {}",
        plural(totals.calls, "call")
    );
    let average = |sum: f64, count: u64| if count == 0 { 0.0 } else { sum / count as f64 };
    println!(
        "  scored         {} → {}",
        totals.old_scored, totals.new_scored
    );
    println!(
        "  passed         {} → {}",
        totals.old_passed, totals.new_passed
    );
    println!(
        "  average score  {:.1} → {:.1}",
        average(totals.old_score_sum, totals.old_scored),
        average(totals.new_score_sum, totals.new_scored)
    );
    if changes.is_empty() {
        println!("no call changes verdict or score");
        return;
    }
    println!(
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
    println!(
        "  {:<id_width$}  {:<agent_width$}  {:>11}    {:>11}  rules",
        "call", "agent", "old", "new"
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
        println!(
            "  {:<id_width$}  {:<agent_width$}  {:<11} →  {:<11}  {}",
            change.call_id,
            change.agent_id.as_deref().unwrap_or("-"),
            verdict(change.old.as_ref()),
            verdict(change.new.as_ref()),
            rules.join(" ")
        );
    }
}
