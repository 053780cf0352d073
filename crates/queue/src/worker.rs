//! `callscope worker`: pull jobs one at a time from the shared durable
//! consumer, keep each job's lease with in-progress acks while it runs,
//! acknowledge it once the call is stored, retry failures with a delay,
//! dead-letter what cannot succeed, report progress, and stop cleanly on
//! SIGTERM or Ctrl-C (the current job is finished first).
//!
//! A worker killed mid-job never acknowledges it: JetStream delivers the
//! job again after the ack wait, and the store's writes are idempotent by
//! call id, so the call is stored once. A job delivered more than
//! `max_deliveries` times (workers died on it, a crash the recording
//! causes) is dead-lettered by the next worker that receives it, without
//! being run again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Message};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use serde::Serialize;

use callscope_core::error::Result;

use crate::status::{DeadLetter, WorkerProgress};
use crate::{
    connect, ensure_streams, nats_error, now_rfc3339, progress_stream, runtime, Job, QueueNames,
};

/// What a worker does with a job. Runs on a blocking thread, one job at a
/// time; the worker keeps the job's lease meanwhile.
pub trait JobHandler: Send + 'static {
    /// Does the job: for [`crate::transcribe::TranscribeHandler`],
    /// transcribe, redact, score and store the call in one transaction.
    fn process(&mut self, job: &Job) -> std::result::Result<JobDone, JobFailure>;
}

/// A job done.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobDone {
    /// Seconds of audio transcribed (0 when skipped).
    pub audio_seconds: f64,
    /// The store already held the call transcribed from the same audio
    /// with the same model (a job submitted again, or redelivered after
    /// its worker stored it and died before acknowledging).
    pub skipped: bool,
}

/// A job that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFailure {
    /// What went wrong and what to do, with personal data masked (it goes
    /// to the dead-letter stream and the logs).
    pub reason: String,
    /// Trying again cannot help (a corrupt recording): dead-letter at once.
    pub permanent: bool,
}

/// How a worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// The NATS server.
    pub nats_url: String,
    /// Which queue.
    pub names: QueueNames,
    /// This worker's name in progress reports (unique per worker).
    pub name: String,
    /// How long a job's lease lasts without an in-progress ack (set when
    /// the shared consumer is created; the first worker's value holds).
    pub ack_wait: Duration,
    /// Deliveries before a failing job is dead-lettered.
    pub max_deliveries: i64,
    /// How long a failed job waits before it is delivered again.
    pub retry_delay: Duration,
    /// Exit (0) after this long without a job; `None`: run until stopped.
    pub exit_when_idle: Option<Duration>,
    /// Where the worker says what it does (one line per event).
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
}

/// What a worker did before it stopped.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WorkerReport {
    /// Jobs done and acknowledged (skipped ones included).
    pub jobs_done: u64,
    /// Jobs whose call was already stored.
    pub skipped: u64,
    /// Failures handed back for another try.
    pub retried: u64,
    /// Jobs sent to the dead-letter stream.
    pub dead_lettered: u64,
    /// Seconds of audio transcribed.
    pub audio_seconds: f64,
    /// Stopped by SIGTERM or Ctrl-C (else: idle).
    pub stopped_by_signal: bool,
}

/// Runs a worker until it is stopped (SIGTERM, Ctrl-C) or idle for
/// [`WorkerOptions::exit_when_idle`].
pub fn run_worker(options: WorkerOptions, handler: Box<dyn JobHandler>) -> Result<WorkerReport> {
    // The handler lives (and is dropped) outside the async runtime: a
    // store's blocking client must not be dropped on a runtime thread.
    let handler = Arc::new(Mutex::new(handler));
    let report = runtime()?.block_on(Worker::start(options)?.run(handler.clone()));
    drop(handler);
    report
}

/// The handler, shared with the blocking thread that runs each job.
type SharedHandler = Arc<Mutex<Box<dyn JobHandler>>>;

struct Worker {
    options: WorkerOptions,
    stop: Arc<AtomicBool>,
    progress: WorkerProgress,
    report: WorkerReport,
}

impl Worker {
    fn start(options: WorkerOptions) -> Result<Worker> {
        let progress = WorkerProgress {
            worker: options.name.clone(),
            state: "running".to_string(),
            started_at: now_rfc3339(),
            updated_at: now_rfc3339(),
            ..WorkerProgress::default()
        };
        Ok(Worker {
            options,
            stop: Arc::new(AtomicBool::new(false)),
            progress,
            report: WorkerReport::default(),
        })
    }

    fn log(&self, line: &str) {
        (self.options.log)(&format!("worker {}: {line}", self.options.name));
    }

    async fn run(mut self, handler: SharedHandler) -> Result<WorkerReport> {
        listen_for_signals(self.stop.clone(), self.options.log.clone());
        let jetstream = connect(&self.options.nats_url).await?;
        let stream = ensure_streams(&jetstream, &self.options.names).await?;
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                &self.options.names.consumer,
                pull::Config {
                    durable_name: Some(self.options.names.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.options.ack_wait,
                    // Unbounded: the worker counts deliveries and
                    // dead-letters, so a job never sits undeliverable.
                    max_deliver: -1,
                    ..pull::Config::default()
                },
            )
            .await
            .map_err(|error| nats_error("the workers' consumer", error))?;
        progress_stream(&jetstream, &self.options.names).await?;
        self.publish_progress(&jetstream).await;
        self.log("waiting for jobs");
        let mut idle_since = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let message = match next_job(&consumer).await {
                Ok(Some(message)) => message,
                Ok(None) => {
                    if self
                        .options
                        .exit_when_idle
                        .is_some_and(|idle| idle_since.elapsed() >= idle)
                    {
                        self.log("no jobs left: exiting");
                        break;
                    }
                    continue;
                }
                Err(error) => {
                    // The client reconnects by itself; try again shortly.
                    self.log(&format!("cannot fetch a job ({error}); retrying"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.handle(&jetstream, message, &handler).await?;
            self.publish_progress(&jetstream).await;
            idle_since = Instant::now();
        }
        self.report.stopped_by_signal = self.stop.load(Ordering::SeqCst);
        self.progress.state = "stopped".to_string();
        self.progress.current = None;
        self.publish_progress(&jetstream).await;
        Ok(self.report)
    }

    /// Does one job and settles it with the queue.
    async fn handle(
        &mut self,
        jetstream: &async_nats::jetstream::Context,
        message: Message,
        handler: &SharedHandler,
    ) -> Result<()> {
        let (delivered, sequence) = match message.info() {
            Ok(info) => (info.delivered, info.stream_sequence),
            Err(_) => (1, 0),
        };
        let job = match Job::decode(&message.payload) {
            Ok(job) => job,
            Err(error) => {
                self.dead_letter(
                    jetstream,
                    &message,
                    None,
                    error.to_string(),
                    delivered,
                    sequence,
                )
                .await;
                return Ok(());
            }
        };
        let call_id = job.entry.call_id.clone();
        if delivered > self.options.max_deliveries {
            let reason = format!(
                "delivered {delivered} times without finishing: the workers that took it \
                 stopped or died on it (see their logs); fix the cause and submit it again"
            );
            self.dead_letter(jetstream, &message, Some(job), reason, delivered, sequence)
                .await;
            return Ok(());
        }
        self.progress.current = Some(call_id.clone());
        self.progress.updated_at = now_rfc3339();
        self.log(&format!("call {call_id}: started (delivery {delivered})"));
        let started = Instant::now();
        let outcome = self
            .run_holding_lease(&message, handler.clone(), job.clone())
            .await?;
        self.progress.current = None;
        match outcome {
            Ok(done) => {
                if let Err(error) = message.double_ack().await {
                    // The call is stored; the job comes back and is
                    // skipped as already done.
                    self.log(&format!(
                        "call {call_id}: stored, but the queue did not confirm the ack ({error})"
                    ));
                }
                self.report.jobs_done += 1;
                self.progress.jobs_done += 1;
                if done.skipped {
                    self.report.skipped += 1;
                    self.progress.skipped += 1;
                    self.log(&format!("call {call_id}: already stored, skipped"));
                } else {
                    self.report.audio_seconds += done.audio_seconds;
                    self.progress.audio_seconds += done.audio_seconds;
                    self.log(&format!(
                        "call {call_id}: done ({:.1} s of audio in {:.1} s)",
                        done.audio_seconds,
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
            Err(failure) if failure.permanent || delivered >= self.options.max_deliveries => {
                self.progress.failures += 1;
                self.dead_letter(
                    jetstream,
                    &message,
                    Some(job),
                    failure.reason,
                    delivered,
                    sequence,
                )
                .await;
            }
            Err(failure) => {
                self.progress.failures += 1;
                self.report.retried += 1;
                self.log(&format!(
                    "call {call_id}: failed (delivery {delivered} of {}), retried in {} s: {}",
                    self.options.max_deliveries,
                    self.options.retry_delay.as_secs(),
                    failure.reason
                ));
                if let Err(error) = message
                    .ack_with(AckKind::Nak(Some(self.options.retry_delay)))
                    .await
                {
                    self.log(&format!(
                        "call {call_id}: cannot hand the job back ({error}); it returns after \
                         the ack wait"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Runs the handler on a blocking thread, sending in-progress acks so
    /// the job stays this worker's however long it takes.
    async fn run_holding_lease(
        &self,
        message: &Message,
        handler: SharedHandler,
        job: Job,
    ) -> Result<std::result::Result<JobDone, JobFailure>> {
        let mut work = tokio::task::spawn_blocking(move || {
            let mut handler = handler
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            handler.process(&job)
        });
        let every = (self.options.ack_wait / 4).max(Duration::from_millis(500));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                finished = &mut work => {
                    // A handler that panicked fails this job alone.
                    return Ok(finished.unwrap_or_else(|error| {
                        Err(JobFailure {
                            reason: format!("the job's thread failed ({error})"),
                            permanent: false,
                        })
                    }));
                }
                _ = ticker.tick() => {
                    if let Err(error) = message.ack_with(AckKind::Progress).await {
                        self.log(&format!("cannot extend the job's lease ({error})"));
                    }
                }
            }
        }
    }

    /// Publishes a dead letter, then terminates the job; when the dead
    /// letter cannot be published the job is handed back instead (it is
    /// never dropped without a trace).
    async fn dead_letter(
        &mut self,
        jetstream: &async_nats::jetstream::Context,
        message: &Message,
        job: Option<Job>,
        reason: String,
        delivered: i64,
        sequence: u64,
    ) {
        let letter = DeadLetter {
            call_id: job.as_ref().map(|job| job.entry.call_id.clone()),
            // A URL's query can hold a signed URL's credentials.
            location: job.as_ref().map(|job| {
                callscope_audio::manifest::describe_url(&job.entry.path.to_string_lossy())
            }),
            reason,
            deliveries: delivered,
            worker: self.options.name.clone(),
            failed_at: now_rfc3339(),
            job,
        };
        let call = letter.call_id.clone().unwrap_or_else(|| "?".to_string());
        let payload = match serde_json::to_vec(&letter) {
            Ok(payload) => payload,
            Err(error) => {
                self.log(&format!(
                    "call {call}: cannot write its dead letter ({error})"
                ));
                return;
            }
        };
        let mut headers = HeaderMap::new();
        // One dead letter per job, even if this worker dies between the
        // publish and the termination and the job comes back.
        let id = format!("{}-{sequence}", self.options.names.jobs_stream);
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
        let published = match jetstream
            .publish_with_headers(
                self.options.names.dead_subject.clone(),
                headers,
                payload.into(),
            )
            .await
        {
            Ok(acknowledgement) => acknowledgement.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match published {
            Ok(()) => {
                if let Err(error) = message.double_ack_with(AckKind::Term).await {
                    self.log(&format!(
                        "call {call}: dead-lettered, but not terminated ({error})"
                    ));
                }
                self.report.dead_lettered += 1;
                self.progress.dead_lettered += 1;
                self.log(&format!("call {call}: dead-lettered: {}", letter.reason));
            }
            Err(error) => {
                self.log(&format!(
                    "call {call}: cannot publish its dead letter ({error}); handed back"
                ));
                let _ = message
                    .ack_with(AckKind::Nak(Some(self.options.retry_delay)))
                    .await;
            }
        }
    }

    async fn publish_progress(&mut self, jetstream: &async_nats::jetstream::Context) {
        self.progress.updated_at = now_rfc3339();
        let Ok(value) = serde_json::to_vec(&self.progress) else {
            return;
        };
        let subject = format!(
            "{}.{}",
            self.options.names.progress_subject,
            progress_key(&self.options.name)
        );
        let published = match jetstream.publish(subject, value.into()).await {
            Ok(acknowledgement) => acknowledgement.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = published {
            self.log(&format!("cannot report progress ({error})"));
        }
    }
}

/// The next job, or `None` when none came within a second.
async fn next_job(consumer: &PullConsumer) -> std::result::Result<Option<Message>, String> {
    let mut batch = consumer
        .batch()
        .max_messages(1)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .map_err(|error| error.to_string())?;
    match batch.next().await {
        None => Ok(None),
        Some(Ok(message)) => Ok(Some(message)),
        Some(Err(error)) => Err(error.to_string()),
    }
}

/// A KV key for a worker name (letters, digits, `-`, `_`, `=`, `.`).
pub(crate) fn progress_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sets `stop` on SIGTERM or Ctrl-C: the worker finishes its job and exits.
fn listen_for_signals(stop: Arc<AtomicBool>, log: Arc<dyn Fn(&str) + Send + Sync>) {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut terminate), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        stop.store(true, Ordering::SeqCst);
        log("stopping: finishing the current job first");
    });
}
