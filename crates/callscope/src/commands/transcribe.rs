//! `callscope transcribe` and `callscope run`: recordings in, transcripts
//! (and, for `run`, QA results and the search index) out.

use std::io::Write;

use crate::cli::TranscribeArgs;
use crate::output::{Outcome, Output};
use callscope_asr::{AsrConfig, AsrEngine};
use callscope_audio::AudioOptions;
use callscope_core::error::{Error, Result};
use callscope_pipeline::{self as pipeline, BatchOptions, BatchReport, Failure, Transcriber};
use callscope_qa::Scorer;
use callscope_redact::Redactor;
use callscope_store::workspace::Workspace;
use callscope_store::CallFilter;

/// Which steps follow transcription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Steps {
    /// Transcribe and store.
    Transcribe,
    /// Transcribe, score with the workspace's scorecards, index.
    Run,
}

pub(super) fn run(
    workspace: &Workspace,
    args: &TranscribeArgs,
    output: Output,
    steps: Steps,
) -> Result<Outcome> {
    let config = workspace.config()?;
    let mut asr = AsrConfig::from_workspace(&config)?;
    if let Some(model) = &args.model {
        asr.model = model.clone();
    }
    if let Some(threads) = args.threads {
        asr.threads = threads;
    }
    if let Some(workers) = args.workers {
        asr.workers = workers;
    }
    if let Some(beam_size) = args.beam_size {
        asr.beam_size = beam_size;
    }
    if let Some(vad) = args.vad {
        asr.vad = vad;
    }
    asr.validate()?;
    let (silero, vad_note) = asr.load_vad()?;
    if let Some(note) = vad_note {
        crate::errln!("warning: {note}");
    }
    // Everything that can be refused is checked before any audio is read.
    let scorer = match steps {
        Steps::Run => {
            let scorecards = pipeline::active_scorecards(&workspace.open_store()?, &config)?;
            // Stored calls are masked: say which rules look for what masking
            // removes when no seal key keeps the originals.
            let redactor = Redactor::from_workspace(workspace)?;
            for warning in pipeline::scoring::masking_warnings(&scorecards, &redactor) {
                crate::errln!("warning: {warning}");
            }
            Some(Scorer::new(scorecards))
        }
        Steps::Transcribe => None,
    };
    let display_redactor = Redactor::for_display(workspace)?;
    let listing = callscope_audio::manifest::read_input(&args.input)?;
    let mut failures: Vec<Failure> = listing
        .errors
        .iter()
        .map(|error| Failure {
            call_id: None,
            path: args.input.display().to_string(),
            // A manifest row's error may quote its values: masked before
            // anything prints it.
            reason: display_redactor.mask_text(&error.to_string()),
        })
        .collect();
    for failure in &failures {
        crate::errln!("{}", failure.reason);
    }
    for warning in &listing.warnings {
        crate::errln!("warning: {}", display_redactor.mask_text(warning));
    }
    let call_ids: Vec<String> = listing
        .entries
        .iter()
        .map(|entry| entry.call_id.clone())
        .collect();
    let plan = asr.thread_plan_for(listing.entries.len());
    asr.workers = plan.workers;
    asr.threads = plan.threads_per_worker;
    let engine = AsrEngine::load(&asr)?;
    let transcriber = Transcriber::new(engine, AudioOptions::default()).with_silero(silero);
    let redactor = Redactor::from_workspace(workspace)?;
    let mut store = workspace.open_store()?;
    let bar = output.progress(0, "s audio");
    let report = pipeline::transcribe_batch(
        &transcriber,
        listing.entries,
        &mut store,
        &redactor,
        &BatchOptions {
            force: args.force,
            workers: plan.workers,
        },
        &bar,
    );
    bar.finish_and_clear();
    let report = report?;
    failures.extend(report.failures.iter().cloned());
    for failure in &mut failures {
        failure.reason = redactor.mask_text(&failure.reason);
    }
    super::write_failures(workspace, &failures)?;
    if let Some(path) = &args.out {
        write_transcripts(&store, &report.call_ids, path)?;
    }
    if output.json && steps == Steps::Transcribe {
        for call_id in &report.call_ids {
            if let Some(call) = store.get_call(call_id)? {
                output.json_line(&call);
            }
        }
    }
    let scoring = match &scorer {
        Some(scorer) => {
            let filter = CallFilter {
                call_ids: call_ids.clone(),
                ..CallFilter::default()
            };
            let bar = output.progress(0, "calls scored");
            let scored =
                pipeline::score_stored(workspace, scorer, &redactor, &filter, &bar, |_, _| {});
            bar.finish_and_clear();
            let scored = scored?;
            for failure in &scored.failures {
                crate::errln!("{failure}");
            }
            Some(scored)
        }
        None => None,
    };
    let indexed = super::index_after_write(workspace, &mut store, output)?;
    print_report(
        &report,
        &failures,
        transcriber.model_name(),
        plan,
        scoring,
        indexed,
        output,
    );
    Ok(Outcome {
        failed: failures.len(),
    })
}

fn write_transcripts(
    store: &callscope_store::Store,
    call_ids: &[String],
    path: &std::path::Path,
) -> Result<()> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|error| Error::io(path, error))?,
    );
    for call_id in call_ids {
        if let Some(call) = store.get_call(call_id)? {
            let line = serde_json::to_string(&call)
                .map_err(|error| Error::Store(format!("{call_id}: {error}")))?;
            writeln!(file, "{line}").map_err(|error| Error::io(path, error))?;
        }
    }
    file.flush().map_err(|error| Error::io(path, error))
}

fn print_report(
    report: &BatchReport,
    failures: &[Failure],
    model: &str,
    plan: callscope_asr::ThreadPlan,
    scoring: Option<pipeline::ScoringReport>,
    indexed: Option<u64>,
    output: Output,
) {
    for warning in &report.warnings {
        crate::errln!("warning: {warning}");
    }
    if output.json {
        if scoring.is_some() || indexed.is_some() {
            output.json_line(&serde_json::json!({
                "transcribed": report.transcribed,
                "skipped": report.skipped,
                "failed": failures,
                "audio_seconds": report.audio_seconds,
                "speech_seconds": report.speech_seconds,
                "segments": report.segments,
                "seconds": report.seconds,
                "model": model,
                "qa": scoring,
                "indexed": indexed,
            }));
        }
        return;
    }
    let real_time = if report.seconds > 0.0 {
        report.audio_seconds / report.seconds
    } else {
        0.0
    };
    crate::outln!(
        "transcribed {} calls ({:.1} min of audio, {:.1} min of speech, {} segments) in {:.1} s \
         ({:.1}x real time; model {model}, {} workers x {} threads)",
        report.transcribed,
        report.audio_seconds / 60.0,
        report.speech_seconds / 60.0,
        report.segments,
        report.seconds,
        real_time,
        plan.workers,
        plan.threads_per_worker,
    );
    if report.skipped > 0 {
        crate::outln!(
            "  skipped {} calls already transcribed from the same audio with {model} (--force redoes them)",
            report.skipped
        );
    }
    if report.redacted.calls_masked > 0 {
        crate::outln!(
            "  masked {} personal data items in {} calls",
            report.redacted.total_items(),
            report.redacted.calls_masked
        );
    }
    if let Some(scoring) = scoring {
        crate::outln!(
            "  QA: {} calls scored, {} of {} results passed",
            scoring.calls,
            scoring.passed,
            scoring.results
        );
    }
    if let Some(indexed) = indexed {
        crate::outln!("  search index: {indexed} calls updated");
    }
    if !failures.is_empty() {
        crate::outln!(
            "  {} inputs failed (listed above and in failures.jsonl); the others were done",
            failures.len()
        );
        for failure in failures {
            crate::errln!("{}: {}", failure.path, failure.reason);
        }
    }
}
