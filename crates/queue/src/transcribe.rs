//! The real job: transcribe one recording with Whisper, redact it, score
//! it with the workspace's scorecards and store the call, its redaction
//! record and its QA results in one transaction, the same steps and
//! results as `callscope run` on one machine.

use callscope_asr::AsrWorker;
use callscope_audio::crash::{self, Component};
use callscope_core::error::Error;
use callscope_core::model::AudioEntry;
use callscope_pipeline::Transcriber;
use callscope_qa::Scorer;
use callscope_redact::Redactor;
use callscope_store::scorecards::StoredScorecard;
use callscope_store::{CallBatch, Store};

use crate::fetch;
use crate::worker::{JobDone, JobFailure, JobHandler};
use crate::Job;

/// Transcribe, redact, score, store: one call per job.
pub struct TranscribeHandler {
    transcriber: Transcriber,
    /// The whisper state, made on the first job and after a recognizer
    /// crash.
    worker: Option<AsrWorker>,
    redactor: Redactor,
    scorer: Scorer,
    /// The stored scorecards `scorer` was made from (empty: the workspace
    /// config's).
    stored_scorecards: Vec<StoredScorecard>,
    store: Store,
}

impl TranscribeHandler {
    /// A handler over a loaded model, the workspace's redaction policy
    /// (and seal key), its scorecards and the shared store.
    pub fn new(
        transcriber: Transcriber,
        redactor: Redactor,
        scorer: Scorer,
        store: Store,
    ) -> TranscribeHandler {
        TranscribeHandler {
            transcriber,
            worker: None,
            redactor,
            scorer,
            stored_scorecards: Vec::new(),
            store,
        }
    }

    /// A failure whose reason is masked (errors can quote transcripts or
    /// file names with numbers in them).
    fn failure(&self, error: &Error, permanent: bool) -> JobFailure {
        JobFailure {
            reason: self.redactor.mask_text(&error.to_string()),
            permanent,
        }
    }

    /// Takes up the scorecards kept in the store when they changed since
    /// the last job (`callscope scorecard push` reaches running workers).
    /// Once the store keeps none, the last ones stay until a restart.
    fn refresh_scorecards(&mut self) -> Result<(), JobFailure> {
        let stored = self
            .store
            .scorecards()
            .map_err(|error| self.failure(&error, false))?;
        if stored.is_empty() || stored == self.stored_scorecards {
            return Ok(());
        }
        let scorecards = callscope_pipeline::scoring::parse_stored_scorecards(&stored)
            .map_err(|error| self.failure(&error, false))?;
        self.scorer = Scorer::new(scorecards);
        self.stored_scorecards = stored;
        Ok(())
    }

    fn run(&mut self, job: &Job) -> Result<JobDone, JobFailure> {
        self.refresh_scorecards()?;
        if !fetch::is_url(&job.entry.path) {
            return self.run_entry(&job.entry, None);
        }
        // A recording at an http(s) URL is downloaded first (the file goes
        // when the job is done), then handled like a file; the call keeps
        // the URL, less any credentials, as where its audio came from.
        let url = job.entry.path.to_string_lossy().into_owned();
        let file = fetch::download(&url, &std::env::temp_dir())
            .map_err(|failed| self.failure(&failed.error, failed.permanent))?;
        let mut entry = job.entry.clone();
        entry.path = file.path().to_path_buf();
        self.run_entry(&entry, Some(fetch::describe(&url)))
    }

    fn run_entry(
        &mut self,
        entry: &AudioEntry,
        source: Option<String>,
    ) -> Result<JobDone, JobFailure> {
        // A recording missing on shared storage may be a mount that is
        // late: retried, dead-lettered after the last try.
        let hash = callscope_audio::sha256_file(&entry.path)
            .map_err(|error| self.failure(&error, false))?;
        let stored = self
            .store
            .transcription_of(&entry.call_id)
            .map_err(|error| self.failure(&error, false))?;
        if stored.is_some_and(|(stored_hash, model)| {
            stored_hash == hash && model == self.transcriber.model_name()
        }) {
            return Ok(JobDone {
                audio_seconds: 0.0,
                skipped: true,
            });
        }
        // A recording the decoder cannot open fails the same way every
        // time: dead-lettered at once.
        crash::isolate(&entry.path, Component::Decoder, || {
            callscope_audio::AudioStream::open(&entry.path)
        })
        .map_err(|error| {
            let permanent = matches!(error, Error::Audio { .. } | Error::InvalidFile { .. });
            self.failure(&error, permanent)
        })?;
        let state = match self.worker.as_mut() {
            Some(state) => state,
            None => {
                let state = self
                    .transcriber
                    .worker()
                    .map_err(|error| self.failure(&error, false))?;
                self.worker.insert(state)
            }
        };
        let transcriber = &self.transcriber;
        let outcome = crash::isolate(&entry.path, Component::Transcription, || {
            transcriber.transcribe(state, entry, hash.clone())
        });
        let mut transcribed = match outcome {
            Ok(transcribed) => transcribed,
            Err(error) => {
                let component = crash::crashed_component(&error);
                if component.is_some_and(|component| component != Component::Decoder) {
                    self.worker = None;
                }
                return Err(self.failure(&error, component == Some(Component::Decoder)));
            }
        };
        if source.is_some() {
            transcribed.call.audio_path = source;
        }
        let audio_seconds = transcribed.call.effective_duration();
        let batch = self
            .redactor
            .redact_batch(vec![transcribed.call])
            .map_err(|error| self.failure(&error, false))?;
        // What the rules see is what `run` gives them when it scores the
        // stored call: the sealed original where a key keeps one, else
        // stand-ins for what was masked.
        let mut views = Vec::with_capacity(batch.calls.len());
        for (call, record) in batch.calls.iter().zip(&batch.records) {
            let view = self
                .redactor
                .scoring_view(call, record.sealed.as_ref(), &record.spans)
                .map_err(|error| self.failure(&error, false))?;
            views.push(view);
        }
        let results: Vec<_> =
            callscope_pipeline::score_and_mask(&self.scorer, &self.redactor, &views)
                .into_iter()
                .flatten()
                .collect();
        self.store
            .put_call_batch(&CallBatch {
                calls: &batch.calls,
                redactions: &batch.records,
                qa_results: &results,
            })
            .map_err(|error| self.failure(&error, false))?;
        Ok(JobDone {
            audio_seconds,
            skipped: false,
        })
    }
}

impl JobHandler for TranscribeHandler {
    fn process(&mut self, job: &Job) -> Result<JobDone, JobFailure> {
        // A panic anywhere in the job fails this job alone; the whisper
        // state it may have broken is dropped.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(job)));
        match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                self.worker = None;
                Err(JobFailure {
                    reason: "the worker panicked on this job; it is retried and dead-lettered \
                             after the last try"
                        .to_string(),
                    permanent: false,
                })
            }
        }
    }
}
