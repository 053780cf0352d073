//! `callscope jobs status` and `callscope jobs failed`: what the queue
//! holds, what each worker did, and the dead letters.

use serde::{Deserialize, Serialize};

use callscope_core::error::{Error, Result};

use crate::{connect, ensure_streams, nats_error, progress_stream, runtime, Job, QueueNames};

/// One worker's progress, as it last reported it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WorkerProgress {
    /// The worker's name.
    pub worker: String,
    /// `running` or `stopped`.
    pub state: String,
    /// Jobs done and acknowledged (skipped ones included).
    pub jobs_done: u64,
    /// Jobs whose call was already stored.
    pub skipped: u64,
    /// Failed attempts (retried or dead-lettered).
    pub failures: u64,
    /// Jobs it sent to the dead-letter stream.
    pub dead_lettered: u64,
    /// Seconds of audio it transcribed.
    pub audio_seconds: f64,
    /// The call it is working on.
    pub current: Option<String>,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it last reported.
    pub updated_at: String,
}

/// A job that will not be done: why, and the job itself (to submit again
/// once the cause is fixed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeadLetter {
    /// The call, when the payload decoded.
    pub call_id: Option<String>,
    /// The recording's location.
    pub location: Option<String>,
    /// What went wrong and what to do, personal data masked.
    pub reason: String,
    /// How many times the job was delivered.
    pub deliveries: i64,
    /// The worker that gave up on it.
    pub worker: String,
    /// When (RFC 3339, UTC).
    pub failed_at: String,
    /// The job, when its payload decoded.
    pub job: Option<Job>,
}

/// What `callscope jobs status` prints.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct QueueStatus {
    /// Jobs in the queue: waiting or being worked on.
    pub queued: u64,
    /// Of those, jobs a worker holds now.
    pub in_progress: u64,
    /// Jobs delivered more than once so far (retries and redeliveries).
    pub redelivered: u64,
    /// Dead letters.
    pub dead: u64,
    /// Every worker that reported, by name.
    pub workers: Vec<WorkerProgress>,
}

/// The queue's state and every worker's last report.
pub fn status(nats_url: &str, names: &QueueNames) -> Result<QueueStatus> {
    runtime()?.block_on(async {
        let jetstream = connect(nats_url).await?;
        let mut jobs = ensure_streams(&jetstream, names).await?;
        let mut status = QueueStatus {
            queued: jobs
                .info()
                .await
                .map_err(|error| nats_error(&format!("stream {}", names.jobs_stream), error))?
                .state
                .messages,
            ..QueueStatus::default()
        };
        if let Ok(mut consumer) = jobs
            .get_consumer::<async_nats::jetstream::consumer::pull::Config>(&names.consumer)
            .await
        {
            let info = consumer
                .info()
                .await
                .map_err(|error| nats_error("the workers' consumer", error))?;
            status.in_progress = info.num_ack_pending as u64;
            status.redelivered = info.num_redelivered as u64;
        }
        let mut dead = jetstream
            .get_stream(&names.dead_stream)
            .await
            .map_err(|error| nats_error(&format!("stream {}", names.dead_stream), error))?;
        status.dead = dead
            .info()
            .await
            .map_err(|error| nats_error(&format!("stream {}", names.dead_stream), error))?
            .state
            .messages;
        let mut progress = progress_stream(&jetstream, names).await?;
        let state = progress
            .info()
            .await
            .map_err(|error| nats_error(&format!("stream {}", names.progress_stream), error))?
            .state
            .clone();
        if state.messages > 0 {
            for sequence in state.first_sequence..=state.last_sequence {
                // Older reports of a worker are gone (one per subject).
                let Ok(message) = progress.get_raw_message(sequence).await else {
                    continue;
                };
                if let Ok(report) = serde_json::from_slice::<WorkerProgress>(&message.payload) {
                    status.workers.push(report);
                }
            }
        }
        status
            .workers
            .sort_by(|left, right| left.worker.cmp(&right.worker));
        Ok(status)
    })
}

/// Every dead letter, oldest first.
pub fn failed(nats_url: &str, names: &QueueNames) -> Result<Vec<DeadLetter>> {
    runtime()?.block_on(async {
        let jetstream = connect(nats_url).await?;
        ensure_streams(&jetstream, names).await?;
        let mut dead = jetstream
            .get_stream(&names.dead_stream)
            .await
            .map_err(|error| nats_error(&format!("stream {}", names.dead_stream), error))?;
        let state = dead
            .info()
            .await
            .map_err(|error| nats_error(&format!("stream {}", names.dead_stream), error))?
            .state
            .clone();
        let mut letters = Vec::new();
        if state.messages == 0 {
            return Ok(letters);
        }
        for sequence in state.first_sequence..=state.last_sequence {
            let Ok(message) = dead.get_raw_message(sequence).await else {
                continue; // removed (limits) meanwhile
            };
            let letter: DeadLetter = serde_json::from_slice(&message.payload).map_err(|_| {
                Error::Queue(format!(
                    "dead letter {sequence} in {} does not decode; it was not written by a \
                     callscope worker",
                    names.dead_stream
                ))
            })?;
            letters.push(letter);
        }
        Ok(letters)
    })
}
