//! Scoring stored calls: the one path `qa`, `run` and every later caller
//! take. Each call is read from the store, opened to its sealed original
//! where the workspace keeps one and the key is at hand (rules see what was
//! said), scored, its results masked, and the masked results stored (on a
//! writer thread of their own while the next batch is read and scored).

use std::collections::HashMap;
use std::path::PathBuf;

use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;

use callscope_core::config::WorkspaceConfig;
use callscope_core::error::{Error, Result};
use callscope_core::model::{Call, QaResult, ScoringView};
use callscope_qa::{Matcher, Scorecard, Scorer};
use callscope_redact::Redactor;
use callscope_store::workspace::Workspace;
use callscope_store::{CallFilter, Store};

/// The example after-sales scorecard, used by `callscope run` when the
/// workspace config names none.
pub const DEFAULT_SCORECARD: &str = include_str!("../../../corpora/scorecards/after_sales.toml");

/// Calls read, scored and stored together (one store transaction each).
const BATCH: usize = 1000;

/// Call ids per store query when the selection is a list of calls (SQLite
/// bounds the number of values in one statement).
const IDS_PER_QUERY: usize = 500;

/// The scorecards `callscope run` applies: `[qa] scorecards` in the
/// workspace config, else the bundled after-sales example.
pub fn workspace_scorecards(config: &WorkspaceConfig) -> Result<Vec<Scorecard>> {
    let section: QaSection = config.section("qa")?;
    if section.scorecards.is_empty() {
        return Ok(vec![Scorecard::parse(
            DEFAULT_SCORECARD,
            "corpora/scorecards/after_sales.toml",
        )?]);
    }
    section
        .scorecards
        .iter()
        .map(|path| match config.base_dir() {
            Some(base) if path.is_relative() => Scorecard::load(&base.join(path)),
            _ => Scorecard::load(path),
        })
        .collect()
}

/// The scorecards new calls are scored with: those kept in the store
/// (`callscope scorecard push`; on a shared store, every machine's) when it
/// keeps any, else the workspace config's (see [`workspace_scorecards`]).
pub fn active_scorecards(store: &Store, config: &WorkspaceConfig) -> Result<Vec<Scorecard>> {
    let stored = store.scorecards()?;
    if stored.is_empty() {
        return workspace_scorecards(config);
    }
    parse_stored_scorecards(&stored)
}

/// Parses scorecards as the store keeps them; one that no longer parses
/// (pushed by an older callscope) is named with what to do.
pub fn parse_stored_scorecards(
    stored: &[callscope_store::scorecards::StoredScorecard],
) -> Result<Vec<Scorecard>> {
    stored
        .iter()
        .map(|scorecard| {
            Scorecard::parse(
                &scorecard.source,
                &format!("scorecard '{}' kept in the store", scorecard.name),
            )
        })
        .collect()
}

/// The `[qa]` section of the workspace config.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QaSection {
    /// Scorecard files `callscope run` scores new calls against (relative
    /// paths resolve against the config file's folder).
    pub scorecards: Vec<PathBuf>,
}

/// What scoring stored calls did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScoringReport {
    /// Calls read.
    pub read: usize,
    /// Calls scored (admitted by at least one scorecard).
    pub calls: usize,
    /// Results stored (one per call and admitting scorecard).
    pub results: usize,
    /// Results that passed.
    pub passed: usize,
    /// Stored calls that could not be read, each with what to do.
    pub failures: Vec<String>,
}

/// Scores `views` in parallel and masks every result: what may be stored,
/// printed or indexed. `views` are what the rules see of each call
/// (`Redactor::scoring_view`, or [`input_views`] for calls read from a
/// file); one list of masked results per call, in order.
pub fn score_and_mask(
    scorer: &Scorer,
    redactor: &Redactor,
    views: &[ScoringView],
) -> Vec<Vec<QaResult>> {
    views
        .par_iter()
        .map(|view| {
            scorer
                .score_view(view)
                .iter()
                .map(|result| redactor.mask_qa_result(result))
                .collect()
        })
        .collect()
}

/// A batch of stored calls and what the rules see of them.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    /// The calls as stored (masked): safe to print.
    pub stored: Vec<Call>,
    /// The same calls as the rules see them: each one's sealed original
    /// where the workspace keeps one and the redactor holds the key, else
    /// the stored call with stand-ins for what was masked; with the
    /// personal data in it. Never printed or stored.
    pub views: Vec<ScoringView>,
    /// Each call's version (the change number of its last write), for
    /// storing what was computed from it.
    pub versions: Vec<i64>,
}

/// Reads the stored calls that `filter` selects in batches, with their
/// scoring views; returns the calls that could not be read (each with what
/// to do), which the batch goes on without: a call that does not decode,
/// or whose sealed original does not open with the current key.
pub fn for_each_stored_batch(
    workspace: &Workspace,
    redactor: &Redactor,
    filter: &CallFilter,
    bar: &ProgressBar,
    mut visit: impl FnMut(StoredBatch) -> Result<()>,
) -> Result<Vec<String>> {
    let store = workspace.open_existing_store()?;
    let mut failures = Vec::new();
    for_each_chunk(filter, |chunk| {
        bar.inc_length(store.count_calls(chunk)?);
        store.for_each_versioned_call_batch(chunk, BATCH, |rows| {
            bar.inc(rows.len() as u64);
            let (stored, versions) = decode_calls(rows, &mut failures);
            let opened = scoring_views(&store, redactor, &stored)?;
            // A call whose sealed original does not open fails alone.
            let mut batch = StoredBatch {
                stored: Vec::with_capacity(stored.len()),
                views: Vec::with_capacity(stored.len()),
                versions: Vec::with_capacity(stored.len()),
            };
            for ((call, view), version) in stored.into_iter().zip(opened).zip(versions) {
                match view {
                    Ok(view) => {
                        batch.stored.push(call);
                        batch.views.push(view);
                        batch.versions.push(version);
                    }
                    Err(error) => failures.push(format!(
                        "call {}: not scored: {error}; `callscope redact rekey` re-seals \
                         originals under the current key",
                        call.call_id
                    )),
                }
            }
            visit(batch)
        })?;
        Ok(())
    })?;
    Ok(failures)
}

/// Scores the stored calls that `filter` selects and stores their masked
/// results. `redactor` masks the results and, when it holds the seal key,
/// opens sealed originals for the rules. `visit` sees each scored call (as
/// stored, masked) with its masked results, for summaries and printing.
///
/// A result is stored only if its call is still the version it was computed
/// from: a call re-imported or re-transcribed meanwhile is read and scored
/// again (a few rounds; one that keeps changing is listed as a failure for
/// the next run). The search index is not touched: follow with
/// [`crate::indexing::sync`].
pub fn score_stored(
    workspace: &Workspace,
    scorer: &Scorer,
    redactor: &Redactor,
    filter: &CallFilter,
    bar: &ProgressBar,
    mut visit: impl FnMut(&Call, &[QaResult]),
) -> Result<ScoringReport> {
    let mut report = ScoringReport::default();
    let mut round = score_round(workspace, scorer, redactor, filter, bar, &mut visit)?;
    for _ in 0..RESCORE_ROUNDS {
        report.absorb(&round);
        if round.stale.is_empty() {
            return Ok(report);
        }
        let again = CallFilter {
            call_ids: std::mem::take(&mut round.stale),
            ..CallFilter::default()
        };
        round = score_round(workspace, scorer, redactor, &again, bar, &mut visit)?;
    }
    report.absorb(&round);
    for call_id in &round.stale {
        report.failures.push(format!(
            "call {call_id} kept changing while it was scored; run `callscope qa` again for it"
        ));
    }
    Ok(report)
}

/// Rounds of scoring again the calls that changed while they were scored.
const RESCORE_ROUNDS: usize = 3;

/// One pass of [`score_stored`] and the calls it must score again.
#[derive(Debug, Default)]
struct Round {
    report: ScoringReport,
    stale: Vec<String>,
}

impl ScoringReport {
    fn absorb(&mut self, round: &Round) {
        self.read += round.report.read;
        self.calls += round.report.calls;
        self.results += round.report.results;
        self.passed += round.report.passed;
        self.failures.extend(round.report.failures.iter().cloned());
    }
}

fn score_round(
    workspace: &Workspace,
    scorer: &Scorer,
    redactor: &Redactor,
    filter: &CallFilter,
    bar: &ProgressBar,
    visit: &mut impl FnMut(&Call, &[QaResult]),
) -> Result<Round> {
    let writer = ResultWriter::start(workspace.open_existing_store()?);
    let mut round = Round::default();
    // The batch being written while the next one is scored; visited once the
    // writer says which of its calls changed meanwhile.
    let mut pending: Option<Vec<(Call, Vec<QaResult>)>> = None;
    let read = for_each_stored_batch(workspace, redactor, filter, bar, |batch| {
        let results = score_and_mask(scorer, redactor, &batch.views);
        let versions: HashMap<String, i64> = batch
            .stored
            .iter()
            .map(|call| call.call_id.clone())
            .zip(batch.versions.iter().copied())
            .collect();
        let scored: Vec<(Call, Vec<QaResult>)> = batch.stored.into_iter().zip(results).collect();
        let results: Vec<QaResult> = scored
            .iter()
            .flat_map(|(_, results)| results.iter().cloned())
            .collect();
        writer.send(results, versions)?;
        if let Some(written) = pending.replace(scored) {
            round.visit_written(written, writer.stale()?, visit);
        }
        Ok(())
    });
    let last = match (&read, pending) {
        (Ok(_), Some(written)) => Some((written, writer.stale())),
        _ => None,
    };
    // A failed write explains a failed read or send: report it first.
    writer.finish()?;
    round.report.failures = read?;
    if let Some((written, stale)) = last {
        round.visit_written(written, stale?, visit);
    }
    Ok(round)
}

impl Round {
    /// Counts and visits a written batch, except the calls whose results
    /// were refused because they changed (those are scored again).
    fn visit_written(
        &mut self,
        written: Vec<(Call, Vec<QaResult>)>,
        stale: Vec<String>,
        visit: &mut impl FnMut(&Call, &[QaResult]),
    ) {
        for (call, results) in &written {
            if stale.contains(&call.call_id) {
                continue;
            }
            self.report.read += 1;
            self.report.calls += usize::from(!results.is_empty());
            self.report.results += results.len();
            self.report.passed += results.iter().filter(|result| result.passed).count();
            visit(call, results);
        }
        self.stale.extend(stale);
    }
}

/// Runs `visit` over the filter, split so that no query lists more than
/// [`IDS_PER_QUERY`] call ids.
fn for_each_chunk(
    filter: &CallFilter,
    mut visit: impl FnMut(&CallFilter) -> Result<()>,
) -> Result<()> {
    if filter.call_ids.len() <= IDS_PER_QUERY {
        return visit(filter);
    }
    for ids in filter.call_ids.chunks(IDS_PER_QUERY) {
        visit(&CallFilter {
            call_ids: ids.to_vec(),
            ..filter.clone()
        })?;
    }
    Ok(())
}

/// Decodes stored call bodies in parallel, keeping each call's version; one
/// that does not decode is listed with what to do, and the rest go on.
fn decode_calls(rows: Vec<(String, i64)>, failures: &mut Vec<String>) -> (Vec<Call>, Vec<i64>) {
    let decoded: Vec<(std::result::Result<Call, String>, i64)> = rows
        .into_par_iter()
        .map(|(body, version)| {
            let call = serde_json::from_str::<Call>(&body).map_err(|error| error.to_string());
            (call, version)
        })
        .collect();
    let mut calls = Vec::with_capacity(decoded.len());
    let mut versions = Vec::with_capacity(decoded.len());
    for (call, version) in decoded {
        match call {
            Ok(call) => {
                calls.push(call);
                versions.push(version);
            }
            Err(error) => failures.push(format!(
                "a stored call does not decode ({error}); import it again"
            )),
        }
    }
    (calls, versions)
}

/// What the rules see (`Redactor::scoring_view`): each call's sealed
/// original where one is kept and the key is at hand, else the stored call
/// with a stand-in of the same shape for each masked span; with the spans
/// redaction recorded.
fn scoring_views(
    store: &Store,
    redactor: &Redactor,
    calls: &[Call],
) -> Result<Vec<Result<ScoringView>>> {
    let mut records = Vec::with_capacity(calls.len());
    for call in calls {
        let spans = store.redacted_spans(&call.call_id)?;
        let sealed = match redactor.key_id() {
            Some(_) => store.sealed_original(&call.call_id)?,
            None => None,
        };
        records.push((spans, sealed));
    }
    Ok(calls
        .par_iter()
        .zip(records.par_iter())
        .map(|(call, (spans, sealed))| redactor.scoring_view(call, sealed.as_ref(), spans))
        .collect())
}

/// What the rules see of calls read from a file (`qa --input`): each call
/// as given, with the personal data the detector finds in it.
pub fn input_views(redactor: &Redactor, calls: &[Call]) -> Vec<ScoringView> {
    calls
        .par_iter()
        .map(|call| redactor.input_view(call))
        .collect()
}

/// Warnings for the keywords and regexes of `scorecards` that can only
/// match text masking removes, when `redactor` holds no seal key (stored
/// calls then keep only masks; rules read stand-ins of the same shape):
/// each names the file, line and rule, and says what to use instead.
pub fn masking_warnings(scorecards: &[Scorecard], redactor: &Redactor) -> Vec<String> {
    let mut warnings = Vec::new();
    for scorecard in scorecards {
        for found in scorecard.text_matchers() {
            let warning = match found.matcher {
                Matcher::Word(word) => redactor.keyword_warning(word),
                Matcher::Pattern(pattern) => redactor.regex_warning(pattern),
            };
            if let Some(warning) = warning {
                warnings.push(format!(
                    "{}: line {}, rule '{}': {warning}",
                    scorecard.file, found.line, found.rule
                ));
            }
        }
    }
    warnings
}

/// A batch for the writer: masked results and the versions of the calls
/// they were computed from.
type WriterBatch = (Vec<QaResult>, HashMap<String, i64>);

/// Stores result batches on a thread of its own, each only if its calls
/// are still the versions scored; answers each batch with the calls whose
/// results it refused.
struct ResultWriter {
    sender: std::sync::mpsc::SyncSender<WriterBatch>,
    refused: std::sync::mpsc::Receiver<Vec<String>>,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl ResultWriter {
    fn start(mut store: Store) -> ResultWriter {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<WriterBatch>(2);
        let (answer, refused) = std::sync::mpsc::channel::<Vec<String>>();
        let thread = std::thread::spawn(move || {
            for (results, versions) in receiver {
                let stale = store.put_qa_results_if_current(&results, &versions)?;
                if answer.send(stale).is_err() {
                    break;
                }
            }
            Ok(())
        });
        ResultWriter {
            sender,
            refused,
            thread,
        }
    }

    fn send(&self, results: Vec<QaResult>, versions: HashMap<String, i64>) -> Result<()> {
        self.sender
            .send((results, versions))
            .map_err(|_| Error::Store("the result writer stopped".to_string()))
    }

    /// The calls refused in the oldest batch not yet answered (waits for it).
    fn stale(&self) -> Result<Vec<String>> {
        self.refused
            .recv()
            .map_err(|_| Error::Store("the result writer stopped".to_string()))
    }

    fn finish(self) -> Result<()> {
        drop(self.sender);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(Error::Store("the result writer panicked".to_string())))
    }
}
