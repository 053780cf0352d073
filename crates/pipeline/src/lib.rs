//! The orchestrator: the one place (with the `callscope` binary's commands)
//! that knows the order of stages.
//!
//! ```text
//! audio file ─▶ audio::CallReader (decode, 16 kHz, VAD per track)
//!            ─▶ asr::AsrWorker (speech regions only, per track)
//!            ─▶ audio::diarize (mono: two speakers, who is the agent)
//!            ─▶ Call ─▶ redact ─▶ store ─▶ qa ─▶ index
//! ```
//!
//! A batch runs calls in parallel on rayon workers (one shared model, one
//! whisper state per worker) and stores each call as soon as it is done, in
//! its own transaction: a killed batch keeps every finished call, and a
//! re-run skips calls already transcribed from the same audio with the same
//! model. A call that fails is reported and the batch goes on.
//!
//! - [`transcribe`]: a batch of recordings to stored, masked transcripts.
//! - [`scoring`]: stored calls to stored, masked QA results (unseal, score,
//!   mask, store), the one path every command that scores takes.
//! - [`indexing`]: the workspace's search index in step with the store.

pub mod indexing;
pub mod scoring;
pub mod transcribe;

pub use scoring::{
    active_scorecards, score_and_mask, score_stored, workspace_scorecards, ScoringReport,
};
pub use transcribe::{
    transcribe_batch, BatchOptions, BatchReport, Failure, TranscribedCall, Transcriber,
};
