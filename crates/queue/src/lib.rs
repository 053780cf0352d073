//! Scale-out on NATS JetStream: recordings become jobs, any number of
//! workers on any machines transcribe, redact, score and store them in a
//! shared store, and nothing is lost when a worker or the network dies.
//!
//! ```text
//! callscope submit DIR ─▶ <Q>_JOBS (work queue, one message per call,
//!                          Nats-Msg-Id = call id: a re-submit is no new job)
//!        ┌────────────────────────┼────────────────────────┐
//!    worker 1                 worker 2                 worker 3   (pull, one job at a time,
//!        │  transcribe ─▶ redact ─▶ score ─▶ store (one transaction) ─▶ ack
//!        │  failed: nak with a delay; N deliveries or a corrupt recording
//!        └──────────────▶ <Q>_JOBS_DEAD (reason masked) and the job is terminated
//!    progress per worker ─▶ <Q>_WORKERS, last report per worker (callscope jobs status)
//! ```
//!
//! - [`submit`]: publish one job per recording ([`Job`]: the call's
//!   metadata and the recording's location, never its contents).
//! - [`worker`]: the pull loop, leases kept with in-progress acks, retries,
//!   dead letters, progress, stopping on SIGTERM; [`JobHandler`] is what
//!   a worker does with a job, [`transcribe::TranscribeHandler`] the real
//!   one.
//! - [`status`]: what `callscope jobs status` and `jobs failed` read.
//!
//! Every name is derived from one queue name ([`QueueNames`], default
//! `callscope`), so several deployments (or tests) can share a server.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use callscope_core::error::{Error, Result};
use callscope_core::model::AudioEntry;

pub mod fetch;
pub mod status;
pub mod submit;
pub mod transcribe;
pub mod worker;

pub use status::{failed, status, DeadLetter, QueueStatus, WorkerProgress};
pub use submit::{submit, SubmitReport};
pub use worker::{run_worker, JobDone, JobFailure, JobHandler, WorkerOptions, WorkerReport};

/// The default queue name.
pub const DEFAULT_QUEUE: &str = "callscope";

/// The version of the job payload this build writes and reads.
pub const JOB_VERSION: u32 = 1;

/// How long JetStream remembers a job's id to drop a second submission of
/// the same call (`Nats-Msg-Id`); a call submitted again later is a new
/// job, which a worker acknowledges at once if the store already holds
/// the call transcribed from the same audio with the same model.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The names of one queue's streams, subjects, consumer and bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNames {
    /// The work-queue stream (`CALLSCOPE_JOBS`).
    pub jobs_stream: String,
    /// The subject jobs are published on (`callscope.jobs`).
    pub jobs_subject: String,
    /// The dead-letter stream (`CALLSCOPE_JOBS_DEAD`).
    pub dead_stream: String,
    /// The subject dead letters are published on (`callscope.dead`).
    pub dead_subject: String,
    /// The durable pull consumer all workers share (`workers`).
    pub consumer: String,
    /// The stream of worker progress (`CALLSCOPE_WORKERS`), one subject
    /// per worker keeping its last report.
    pub progress_stream: String,
    /// The subject prefix of progress reports (`callscope.workers`).
    pub progress_subject: String,
}

impl QueueNames {
    /// The names for queue `name` (letters, digits, `-` and `_`).
    pub fn new(name: &str) -> Result<QueueNames> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::Usage(format!(
                "--queue '{name}': use letters, digits, '-' and '_' only (default: {DEFAULT_QUEUE})"
            )));
        }
        let upper = name.to_ascii_uppercase().replace('-', "_");
        let lower = name.to_ascii_lowercase();
        Ok(QueueNames {
            jobs_stream: format!("{upper}_JOBS"),
            jobs_subject: format!("{lower}.jobs"),
            dead_stream: format!("{upper}_JOBS_DEAD"),
            dead_subject: format!("{lower}.dead"),
            consumer: "workers".to_string(),
            progress_stream: format!("{upper}_WORKERS"),
            progress_subject: format!("{lower}.workers"),
        })
    }
}

/// One job: a recording to transcribe, with the call's metadata (manifest
/// columns, masked) and where workers read the recording (a path on
/// storage every worker mounts). Never the audio itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The payload's version ([`JOB_VERSION`]).
    pub version: u32,
    /// The recording and the call's metadata, as a manifest row gives them.
    pub entry: AudioEntry,
    /// When it was submitted (RFC 3339, UTC).
    pub submitted_at: String,
}

impl Job {
    /// Decodes a job payload.
    pub fn decode(payload: &[u8]) -> Result<Job> {
        let job: Job = serde_json::from_slice(payload).map_err(|error| {
            // The position only: the payload's text could carry values.
            Error::Queue(format!(
                "a job payload does not decode (line {}, column {}); it was not written by \
                 `callscope submit` of this version",
                error.line(),
                error.column()
            ))
        })?;
        if job.version != JOB_VERSION {
            return Err(Error::Queue(format!(
                "job for call {} has payload version {}, this build reads {JOB_VERSION}: run \
                 workers of the same version as `callscope submit`",
                job.entry.call_id, job.version
            )));
        }
        Ok(job)
    }
}

/// Now, RFC 3339 in UTC.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A NATS error as the queue's error, naming the server (without any
/// credentials in its URL).
pub(crate) fn nats_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Queue(format!("{what}: {error}"))
}

/// A runtime for the blocking entry points (the CLI has none of its own).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| Error::Queue(format!("cannot start the async runtime: {error}")))
}

/// The server part of a NATS URL, for messages (no user or password).
pub(crate) fn server_of(url: &str) -> String {
    let without_scheme = url.split("://").nth(1).unwrap_or(url);
    without_scheme
        .rsplit('@')
        .next()
        .unwrap_or(without_scheme)
        .to_string()
}

/// Connects to NATS at `url` and returns the JetStream context.
pub(crate) async fn connect(url: &str) -> Result<async_nats::jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(10))
        .name("callscope")
        .connect(url)
        .await
        .map_err(|error| {
            Error::Queue(format!(
                "cannot connect to NATS at {}: {error}; check that nats-server runs with \
                 JetStream (-js) and that --nats is right",
                server_of(url)
            ))
        })?;
    Ok(async_nats::jetstream::new(client))
}

/// Creates the queue's streams if missing and returns the jobs stream.
pub(crate) async fn ensure_streams(
    jetstream: &async_nats::jetstream::Context,
    names: &QueueNames,
) -> Result<async_nats::jetstream::stream::Stream> {
    use async_nats::jetstream::stream::{Config, RetentionPolicy, StorageType};
    let jobs = jetstream
        .get_or_create_stream(Config {
            name: names.jobs_stream.clone(),
            subjects: vec![names.jobs_subject.clone()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Config::default()
        })
        .await
        .map_err(|error| nats_error(&format!("stream {}", names.jobs_stream), error))?;
    jetstream
        .get_or_create_stream(Config {
            name: names.dead_stream.clone(),
            subjects: vec![names.dead_subject.clone()],
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Config::default()
        })
        .await
        .map_err(|error| nats_error(&format!("stream {}", names.dead_stream), error))?;
    Ok(jobs)
}

/// The progress stream, created if missing: one subject per worker
/// (`<queue>.workers.<name>`) keeping its last report only, as a
/// key-value bucket does (JetStream's KV API is not used: Debian's
/// nats-server 2.9 and the client disagree on its replies).
pub(crate) async fn progress_stream(
    jetstream: &async_nats::jetstream::Context,
    names: &QueueNames,
) -> Result<async_nats::jetstream::stream::Stream> {
    use async_nats::jetstream::stream::{Config, StorageType};
    jetstream
        .get_or_create_stream(Config {
            name: names.progress_stream.clone(),
            subjects: vec![format!("{}.*", names.progress_subject)],
            max_messages_per_subject: 1,
            storage: StorageType::File,
            ..Config::default()
        })
        .await
        .map_err(|error| nats_error(&format!("stream {}", names.progress_stream), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_queue_name() {
        let names = QueueNames::new("callscope").unwrap();
        assert_eq!(names.jobs_stream, "CALLSCOPE_JOBS");
        assert_eq!(names.dead_stream, "CALLSCOPE_JOBS_DEAD");
        assert_eq!(names.jobs_subject, "callscope.jobs");
        assert_eq!(names.progress_stream, "CALLSCOPE_WORKERS");
        assert!(QueueNames::new("a.b").is_err());
        assert!(QueueNames::new("").is_err());
    }

    #[test]
    fn messages_name_the_server_without_credentials() {
        assert_eq!(server_of("nats://user:pw@10.0.0.5:4222"), "10.0.0.5:4222");
        assert_eq!(server_of("127.0.0.1:4222"), "127.0.0.1:4222");
    }

    #[test]
    fn a_payload_that_does_not_decode_is_not_quoted() {
        let error = Job::decode(br#"{"version": 1, "entry": "13812345678"}"#)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("13812345678"), "{error}");
        assert!(error.contains("does not decode"), "{error}");
    }
}
