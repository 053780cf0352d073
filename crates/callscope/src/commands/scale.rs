//! `callscope submit`, `callscope worker` and `callscope jobs`: scale-out
//! over NATS JetStream and a shared store (docs/deployment.md). The queue
//! itself is `callscope_queue`; these handlers resolve the workspace's
//! settings (model, redaction policy and key, scorecards) and print.

use std::sync::Arc;
use std::time::Duration;

use crate::cli::{JobsArgs, JobsCommand, QueueArgs, SubmitArgs, WorkerArgs};
use crate::output::{Outcome, Output};
use callscope_asr::{AsrConfig, AsrEngine};
use callscope_audio::AudioOptions;
use callscope_core::error::Result;
use callscope_pipeline::{self as pipeline, Transcriber};
use callscope_qa::Scorer;
use callscope_queue::transcribe::TranscribeHandler;
use callscope_queue::{QueueNames, WorkerOptions};
use callscope_redact::Redactor;
use callscope_store::workspace::Workspace;

/// `callscope submit INPUT --nats URL`.
pub(super) fn submit(workspace: &Workspace, args: &SubmitArgs, output: Output) -> Result<Outcome> {
    let names = QueueNames::new(&args.queue.queue)?;
    // Job payloads carry the manifest's columns: masked as the workspace's
    // policy masks stored calls, so no personal data travels in clear.
    let redactor = Redactor::for_display(workspace)?;
    let mut listing = callscope_audio::manifest::read_input(&args.input)?;
    for error in &listing.errors {
        crate::errln!("{}", redactor.mask_text(&error.to_string()));
    }
    for warning in &listing.warnings {
        crate::errln!("warning: {}", redactor.mask_text(warning));
    }
    for entry in &mut listing.entries {
        for value in entry.meta.values_mut() {
            *value = redactor.mask_text(value);
        }
    }
    let report = callscope_queue::submit(&args.queue.nats, &names, listing.entries)?;
    if output.json {
        output.json_line(&serde_json::json!({
            "submitted": report.submitted,
            "duplicates": report.duplicates,
            "queued": report.queued,
            "failed": listing.errors.len(),
        }));
    } else {
        crate::outln!(
            "submitted {} jobs to {} ({} already had a job and were not submitted again); {} \
             jobs queued",
            report.submitted,
            names.jobs_stream,
            report.duplicates,
            report.queued
        );
        if !listing.errors.is_empty() {
            crate::outln!(
                "  {} inputs failed (listed above); the others were submitted",
                listing.errors.len()
            );
        }
    }
    Ok(Outcome {
        failed: listing.errors.len(),
    })
}

/// `callscope worker --nats URL [--store URL]`.
pub(super) fn worker(workspace: &Workspace, args: &WorkerArgs, output: Output) -> Result<Outcome> {
    let names = QueueNames::new(&args.queue.queue)?;
    let config = workspace.config()?;
    let mut asr = AsrConfig::from_workspace(&config)?;
    if let Some(model) = &args.model {
        asr.model = model.clone();
    }
    if let Some(threads) = args.threads {
        asr.threads = threads;
    }
    // One job at a time per worker: more workers, more processes.
    asr.workers = 1;
    asr.validate()?;
    let store = workspace.open_store()?;
    // Scorecards kept in the store are read again at every job (a push
    // reaches running workers); else the workspace config's.
    let scorecards = pipeline::active_scorecards(&store, &config)?;
    let redactor = Redactor::from_workspace(workspace)?;
    for warning in pipeline::scoring::masking_warnings(&scorecards, &redactor) {
        crate::errln!("warning: {warning}");
    }
    let (silero, vad_note) = asr.load_vad()?;
    if let Some(note) = vad_note {
        crate::errln!("warning: {note}");
    }
    let engine = AsrEngine::load(&asr)?;
    let transcriber = Transcriber::new(engine, AudioOptions::default()).with_silero(silero);
    let name = args.name.clone().unwrap_or_else(default_worker_name);
    let quiet = output.quiet;
    let options = WorkerOptions {
        nats_url: args.queue.nats.clone(),
        names,
        name: name.clone(),
        ack_wait: Duration::from_secs(args.ack_wait.max(1)),
        max_deliveries: args.max_deliveries.max(1),
        retry_delay: Duration::from_secs(args.retry_delay),
        exit_when_idle: args.exit_when_idle.map(Duration::from_secs),
        log: Arc::new(move |line: &str| {
            if !quiet {
                crate::errln!("{line}");
            }
        }),
    };
    let handler = TranscribeHandler::new(transcriber, redactor, Scorer::new(scorecards), store);
    let report = callscope_queue::run_worker(options, Box::new(handler))?;
    if output.json {
        output.json_line(&report);
    } else {
        crate::outln!(
            "worker {name}: {} jobs done ({} already stored), {:.1} min of audio, {} retried, {} \
             dead-lettered{}",
            report.jobs_done,
            report.skipped,
            report.audio_seconds / 60.0,
            report.retried,
            report.dead_lettered,
            if report.stopped_by_signal {
                "; stopped by signal"
            } else {
                ""
            }
        );
    }
    Ok(Outcome::default())
}

/// `callscope jobs status|failed --nats URL`.
pub(super) fn jobs(args: &JobsArgs, output: Output) -> Result<Outcome> {
    match &args.which {
        JobsCommand::Status(queue) => jobs_status(queue, output),
        JobsCommand::Failed(queue) => jobs_failed(queue, output),
    }
}

fn jobs_status(queue: &QueueArgs, output: Output) -> Result<Outcome> {
    let names = QueueNames::new(&queue.queue)?;
    let status = callscope_queue::status(&queue.nats, &names)?;
    if output.json {
        output.json_line(&status);
        return Ok(Outcome::default());
    }
    crate::outln!(
        "{}: {} jobs queued ({} in progress), {} redelivered, {} dead letters (`callscope jobs \
         failed`)",
        names.jobs_stream,
        status.queued,
        status.in_progress,
        status.redelivered,
        status.dead
    );
    if status.workers.is_empty() {
        crate::outln!("no worker has reported yet");
        return Ok(Outcome::default());
    }
    crate::outln!(
        "{:<24} {:<8} {:>6} {:>8} {:>9} {:>5} {:>8}  current",
        "worker",
        "state",
        "jobs",
        "skipped",
        "failures",
        "dead",
        "audio h"
    );
    for worker in &status.workers {
        crate::outln!(
            "{:<24} {:<8} {:>6} {:>8} {:>9} {:>5} {:>8.2}  {}",
            worker.worker,
            worker.state,
            worker.jobs_done,
            worker.skipped,
            worker.failures,
            worker.dead_lettered,
            worker.audio_seconds / 3600.0,
            worker.current.as_deref().unwrap_or("-")
        );
    }
    Ok(Outcome::default())
}

fn jobs_failed(queue: &QueueArgs, output: Output) -> Result<Outcome> {
    let names = QueueNames::new(&queue.queue)?;
    let letters = callscope_queue::failed(&queue.nats, &names)?;
    for letter in &letters {
        if output.json {
            // The job as submitted, less a URL's query (a signed URL's
            // credentials), which stays in the dead-letter stream only.
            let mut shown = letter.clone();
            if let Some(job) = shown.job.as_mut() {
                job.entry.path =
                    callscope_audio::manifest::describe_url(&job.entry.path.to_string_lossy())
                        .into();
            }
            output.json_line(&shown);
        } else {
            crate::outln!(
                "{} ({}): {} [{} deliveries, worker {}, {}]",
                letter.call_id.as_deref().unwrap_or("?"),
                letter.location.as_deref().unwrap_or("?"),
                letter.reason,
                letter.deliveries,
                letter.worker,
                letter.failed_at
            );
        }
    }
    if !output.json {
        crate::outln!("{} jobs failed for good", letters.len());
    }
    Ok(Outcome {
        failed: letters.len(),
    })
}

/// `HOST-PID`.
fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_string())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "worker".to_string());
    format!("{host}-{}", std::process::id())
}
