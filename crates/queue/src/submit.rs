//! `callscope submit`: one job per recording on the work-queue stream.

use async_nats::HeaderMap;
use serde::Serialize;

use callscope_core::error::{Error, Result};
use callscope_core::model::AudioEntry;

use crate::{connect, ensure_streams, nats_error, now_rfc3339, runtime, Job, QueueNames};

/// What a submission did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SubmitReport {
    /// New jobs.
    pub submitted: u64,
    /// Recordings whose call already had a job within the duplicate window
    /// (JetStream dropped the second message).
    pub duplicates: u64,
    /// Jobs waiting in the queue after this submission (all submitters').
    pub queued: u64,
}

/// Publishes one job per entry on queue `names` at `nats_url`, creating
/// the streams if missing. The message id is the call id, so the same
/// call submitted twice within [`crate::DUPLICATE_WINDOW`] is one job.
/// Paths are made absolute (workers resolve them on their own machines:
/// put recordings on storage every worker mounts at the same path).
pub fn submit(
    nats_url: &str,
    names: &QueueNames,
    entries: Vec<AudioEntry>,
) -> Result<SubmitReport> {
    runtime()?.block_on(submit_async(nats_url, names, entries))
}

async fn submit_async(
    nats_url: &str,
    names: &QueueNames,
    entries: Vec<AudioEntry>,
) -> Result<SubmitReport> {
    let jetstream = connect(nats_url).await?;
    let mut stream = ensure_streams(&jetstream, names).await?;
    let mut report = SubmitReport::default();
    let submitted_at = now_rfc3339();
    // Publish all, then wait for the acknowledgements (pipelined).
    let mut pending = Vec::with_capacity(entries.len());
    for mut entry in entries {
        if entry.path.is_relative() && !callscope_audio::manifest::is_url(&entry.path) {
            entry.path =
                std::path::absolute(&entry.path).map_err(|error| Error::io(&entry.path, error))?;
        }
        let call_id = entry.call_id.clone();
        let job = Job {
            version: crate::JOB_VERSION,
            entry,
            submitted_at: submitted_at.clone(),
        };
        let payload = serde_json::to_vec(&job)
            .map_err(|error| Error::Queue(format!("call {call_id}: {error}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, call_id.as_str());
        let acknowledgement = jetstream
            .publish_with_headers(names.jobs_subject.clone(), headers, payload.into())
            .await
            .map_err(|error| nats_error(&format!("publishing the job of call {call_id}"), error))?;
        pending.push((call_id, acknowledgement));
    }
    for (call_id, acknowledgement) in pending {
        let ack = acknowledgement.await.map_err(|error| {
            nats_error(
                &format!("the queue did not confirm the job of call {call_id}"),
                error,
            )
        })?;
        if ack.duplicate {
            report.duplicates += 1;
        } else {
            report.submitted += 1;
        }
    }
    report.queued = stream
        .info()
        .await
        .map_err(|error| nats_error(&format!("stream {}", names.jobs_stream), error))?
        .state
        .messages;
    Ok(report)
}
