//! Transcribing a batch of recordings: decode, find speech, recognize per
//! track, separate the speakers of mono calls, redact and store each call
//! as soon as it is done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;

use callscope_asr::silero::gate_regions;
use callscope_asr::{AsrEngine, AsrWorker, SileroVad};
use callscope_audio::crash::{self, Component};
use callscope_audio::diarize;
use callscope_audio::{AudioOptions, CallReader, SpeechBatch};
use callscope_core::error::{Error, Result};
use callscope_core::model::{AsrSegment, AudioEntry, Call, Segment, SpeechRegion};
use callscope_redact::{RedactionCounts, Redactor};
use callscope_store::CallBatch;
use callscope_store::Store;

/// Turns one recording into a transcript: audio front end, recognition per
/// track, speaker separation for mono recordings.
pub struct Transcriber {
    engine: AsrEngine,
    audio: AudioOptions,
    /// Silero VAD, when it decides where speech starts and ends inside the
    /// energy VAD's regions ([`Transcriber::with_silero`]).
    silero: Option<SileroVad>,
}

/// One transcribed call and what the user should know about it.
#[derive(Debug, Clone)]
pub struct TranscribedCall {
    /// The transcript (original text, before redaction).
    pub call: Call,
    /// Warnings about the recording (layout fixes, cut-off files).
    pub warnings: Vec<String>,
    /// Seconds of speech recognized.
    pub speech_seconds: f64,
}

impl Transcriber {
    /// A transcriber over a loaded engine.
    pub fn new(engine: AsrEngine, audio: AudioOptions) -> Transcriber {
        Transcriber {
            engine,
            audio,
            silero: None,
        }
    }

    /// Finds speech with Silero VAD inside the stretches the energy VAD
    /// keeps: the energy VAD still rejects hold music, clicks and digital
    /// silence (its regions gate where Silero may find speech), and
    /// Silero's regions that overlap one of them replace them, clipped to
    /// the batch. The call's silences stay the energy VAD's. `None` keeps
    /// the energy VAD alone. On mono tracks shorter pauses end speech
    /// ([`SileroVadConfig::for_mono`](callscope_asr::SileroVadConfig::for_mono)),
    /// so that a line and the other speaker's answer stay apart.
    pub fn with_silero(mut self, vad: Option<SileroVad>) -> Transcriber {
        self.silero = vad;
        self
    }

    /// The model's name (the transcripts' `asr_model`).
    pub fn model_name(&self) -> &str {
        self.engine.model_name()
    }

    /// A whisper state for one worker.
    pub fn worker(&self) -> Result<AsrWorker> {
        self.engine.worker()
    }

    /// Transcribes one recording whose content hash is `audio_sha256`.
    ///
    /// A panic inside the decoder or the recognizer comes back as an
    /// [`Error::Audio`] naming the recording ([`crash::isolate`]); after a
    /// recognizer crash ([`crash::crashed_component`]) `worker` must be
    /// replaced by a new one from [`Transcriber::worker`].
    pub fn transcribe(
        &self,
        worker: &mut AsrWorker,
        entry: &AudioEntry,
        audio_sha256: String,
    ) -> Result<TranscribedCall> {
        let mut reader = CallReader::open(&entry.path, entry.channels, &self.audio)?;
        let tracks = reader.tracks();
        let mut recognized: Vec<Vec<AsrSegment>> = vec![Vec::new(); tracks.len()];
        let mut speech_seconds = 0.0;
        // Mono speech waits for the speaker turns (known once the whole call
        // is read) so that no region spans both speakers; past a bound it is
        // recognized as it comes, keeping memory flat for very long calls.
        let mut deferred: Vec<SpeechBatch> = Vec::new();
        let mut deferred_samples = 0usize;
        let mut streaming = false;
        while let Some(batches) = reader.next_batches()? {
            for mut batch in batches {
                self.apply_silero(entry, &mut batch)?;
                speech_seconds += batch
                    .regions
                    .iter()
                    .map(|region| region.end - region.start)
                    .sum::<f64>();
                if tracks[batch.track].role.is_none() && !streaming {
                    deferred_samples += batch.samples.len();
                    deferred.push(batch);
                    if deferred_samples > MAX_DEFERRED_SAMPLES {
                        streaming = true;
                        for batch in deferred.drain(..) {
                            let regions = batch.local_regions();
                            recognize(worker, entry, &batch, &regions, &mut recognized)?;
                        }
                    }
                    continue;
                }
                let regions = batch.local_regions();
                recognize(worker, entry, &batch, &regions, &mut recognized)?;
            }
        }
        let summary = reader.finish()?;
        if !deferred.is_empty() {
            let clusters = diarize::cluster_speakers(&summary.speaker_windows);
            let turns = diarize::speaker_turns(&summary.speaker_windows, &clusters);
            for batch in &deferred {
                let regions: Vec<SpeechRegion> = diarize::split_at_turns(&batch.regions, &turns)
                    .into_iter()
                    .map(|region| SpeechRegion {
                        start: region.start - batch.offset,
                        end: region.end - batch.offset,
                    })
                    .collect();
                recognize(worker, entry, batch, &regions, &mut recognized)?;
            }
        }
        let mut segments = Vec::new();
        for (track, found) in tracks.iter().zip(recognized) {
            let found: Vec<AsrSegment> = found
                .into_iter()
                .filter(|segment| !segment.text.trim().is_empty())
                .collect();
            match track.role {
                Some(role) => segments.extend(found.into_iter().map(|segment| Segment {
                    start: round3(segment.start),
                    end: round3(segment.end),
                    role,
                    text: segment.text,
                    confidence: Some(round3(segment.confidence.clamp(0.0, 1.0))),
                    role_confidence: None,
                })),
                None => segments.extend(diarize::label_mono_segments(
                    &summary.speaker_windows,
                    found,
                )),
            }
        }
        let mut call = Call {
            call_id: entry.call_id.clone(),
            started_at: entry.started_at.clone(),
            agent_id: entry.agent_id.clone(),
            team: entry.team.clone(),
            queue: entry.queue.clone(),
            duration: Some(round3(summary.duration)),
            segments,
            meta: entry.meta.clone(),
            asr_model: Some(self.engine.model_name().to_string()),
            audio_sha256: Some(audio_sha256),
            silences: summary.silences,
            audio_path: Some(entry.path.display().to_string()),
        };
        call.sort_segments();
        Ok(TranscribedCall {
            call,
            warnings: summary.warnings,
            speech_seconds,
        })
    }
}

impl Transcriber {
    /// With Silero on, replaces the batch's regions by Silero's regions
    /// that overlap them (see [`Transcriber::with_silero`]).
    fn apply_silero(&self, entry: &AudioEntry, batch: &mut SpeechBatch) -> Result<()> {
        let Some(vad) = &self.silero else {
            return Ok(());
        };
        if batch.regions.is_empty() {
            return Ok(());
        }
        batch.regions = silero_regions(vad, batch).map_err(|error| Error::Audio {
            file: entry.path.display().to_string(),
            reason: error.to_string(),
        })?;
        Ok(())
    }
}

/// The speech regions of `batch` with Silero on ([`Transcriber::with_silero`]):
/// Silero's regions over the batch's samples that overlap a region the
/// energy VAD kept, clipped to the batch, in recording time.
pub fn silero_regions(vad: &SileroVad, batch: &SpeechBatch) -> Result<Vec<SpeechRegion>> {
    let config = match batch.role {
        Some(_) => vad.config(),
        None => vad.config().for_mono(),
    };
    let found: Vec<SpeechRegion> = vad
        .detect_with(&batch.samples, &config)?
        .into_iter()
        .map(|region| SpeechRegion {
            start: region.start + batch.offset,
            end: region.end + batch.offset,
        })
        .collect();
    let span = (
        batch.offset,
        batch.offset + batch.samples.len() as f64 / f64::from(callscope_audio::SAMPLE_RATE),
    );
    Ok(gate_regions(&found, &batch.regions, span))
}

/// Mono speech held back for speaker turns, at most (30 min at 16 kHz).
const MAX_DEFERRED_SAMPLES: usize = 30 * 60 * 16_000;

/// Recognizes `regions` (seconds from the batch's first sample) of one
/// batch and adds the segments, in recording time, to the batch's track.
fn recognize(
    worker: &mut AsrWorker,
    entry: &AudioEntry,
    batch: &SpeechBatch,
    regions: &[SpeechRegion],
    recognized: &mut [Vec<AsrSegment>],
) -> Result<()> {
    let found = crash::isolate(&entry.path, Component::Recognizer, || {
        worker
            .transcribe(&batch.samples, regions)
            .map_err(|error| Error::Audio {
                file: entry.path.display().to_string(),
                reason: error.to_string(),
            })
    })?;
    recognized[batch.track].extend(found.into_iter().map(|mut segment| {
        segment.start += batch.offset;
        segment.end += batch.offset;
        segment
    }));
    Ok(())
}

/// Three decimals: milliseconds for times, enough for confidences.
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// A recording that could not be transcribed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    /// The call (from the manifest or the file name), when known.
    pub call_id: Option<String>,
    /// The audio file or manifest.
    pub path: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// What a transcription batch did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchReport {
    /// Calls transcribed and stored.
    pub transcribed: usize,
    /// Calls skipped: already transcribed from the same audio with the same
    /// model.
    pub skipped: usize,
    /// Calls that failed.
    pub failures: Vec<Failure>,
    /// Seconds of audio transcribed.
    pub audio_seconds: f64,
    /// Seconds of speech recognized (the rest was skipped as silence).
    pub speech_seconds: f64,
    /// Segments written.
    pub segments: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Warnings about recordings, with their call ids.
    pub warnings: Vec<String>,
    /// Personal data masked before storing.
    #[serde(skip)]
    pub redacted: RedactionCounts,
    /// The ids of the calls transcribed in this batch.
    #[serde(skip)]
    pub call_ids: Vec<String>,
}

/// Batch settings.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Transcribe calls again even when already done with this audio and model.
    pub force: bool,
    /// Parallel workers (calls at once); each has its own whisper state.
    pub workers: usize,
}

/// Transcribes `entries`, storing each call (masked per the redaction
/// policy) as soon as it is done. The bar counts seconds of audio.
pub fn transcribe_batch(
    transcriber: &Transcriber,
    entries: Vec<AudioEntry>,
    store: &mut Store,
    redactor: &Redactor,
    options: &BatchOptions,
    bar: &ProgressBar,
) -> Result<BatchReport> {
    let started = Instant::now();
    let mut report = BatchReport::default();
    let mut todo: Vec<(AudioEntry, String, f64)> = Vec::new();
    let mut total_seconds = 0.0;
    for entry in entries {
        if callscope_audio::manifest::is_url(&entry.path) {
            let place = callscope_audio::manifest::describe_url(&entry.path.to_string_lossy());
            report.failures.push(failure(
                &entry,
                &Error::Audio {
                    file: place,
                    reason: "a URL: `transcribe` and `run` read files; submit URLs to workers \
                             (`callscope submit`), or download the recording first"
                        .to_string(),
                },
            ));
            continue;
        }
        let hash = callscope_audio::sha256_file(&entry.path);
        let hash = match hash {
            Ok(hash) => hash,
            Err(error) => {
                report.failures.push(failure(&entry, &error));
                continue;
            }
        };
        if !options.force {
            if let Some((stored_hash, stored_model)) = store.transcription_of(&entry.call_id)? {
                if stored_hash == hash && stored_model == transcriber.model_name() {
                    report.skipped += 1;
                    continue;
                }
            }
        }
        // The probe opens the recording as transcription will: a file it
        // cannot open (or that crashes the decoder) fails here, alone.
        let probe = crash::isolate(&entry.path, Component::Decoder, || {
            callscope_audio::AudioStream::open(&entry.path)
        });
        let seconds = match probe {
            Ok(stream) => stream.info().duration_seconds().unwrap_or(0.0),
            Err(error) => {
                report.failures.push(failure(&entry, &error));
                continue;
            }
        };
        total_seconds += seconds;
        todo.push((entry, hash, seconds));
    }
    bar.set_length(total_seconds.ceil() as u64);
    bar.set_message(format!("{} calls", todo.len()));

    let workers = options.workers.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|index| format!("asr-{index}"))
        .build()
        .map_err(|error| Error::Model(format!("cannot start {workers} workers: {error}")))?;
    let (sender, receiver) =
        crossbeam_channel::bounded::<(usize, Result<TranscribedCall>)>(workers);
    // Longest calls first, each worker taking the next call when it is
    // free: the batch does not end on one worker finishing a long call
    // while the others idle.
    let seconds: Vec<f64> = todo.iter().map(|(_, _, seconds)| *seconds).collect();
    let order = longest_first(&seconds);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| -> Result<()> {
        let (todo, order, next) = (&todo, &order, &next);
        scope.spawn(move || {
            pool.broadcast(|_| {
                // A whisper state only for a worker that gets a call.
                let mut worker = None;
                while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let (entry, hash, _) = &todo[index];
                    let state = worker.get_or_insert_with(|| {
                        transcriber.worker().map_err(|error| error.to_string())
                    });
                    // One call's steps run isolated: a panic fails this
                    // call alone, and the whisper state it may have broken
                    // is dropped (the next call makes a new one).
                    let outcome = match state {
                        Ok(state) => crash::isolate(&entry.path, Component::Transcription, || {
                            transcriber.transcribe(state, entry, hash.clone())
                        }),
                        Err(reason) => Err(Error::Model(reason.clone())),
                    };
                    if let Err(error) = &outcome {
                        if crash::crashed_component(error)
                            .is_some_and(|component| component != Component::Decoder)
                        {
                            worker = None;
                        }
                    }
                    // The receiver only hangs up on a store failure, which
                    // ends the batch anyway.
                    if sender.send((index, outcome)).is_err() {
                        break;
                    }
                }
            });
            drop(sender);
        });
        for (index, outcome) in receiver {
            let (entry, _, seconds) = &todo[index];
            bar.inc(seconds.ceil() as u64);
            let transcribed = match outcome {
                Ok(transcribed) => transcribed,
                Err(error) => {
                    bar.println(format!(
                        "{}: {}",
                        entry.call_id,
                        redactor.mask_text(&error.to_string())
                    ));
                    report.failures.push(failure(entry, &error));
                    continue;
                }
            };
            for warning in &transcribed.warnings {
                report
                    .warnings
                    .push(format!("{}: {warning}", entry.call_id));
            }
            report.transcribed += 1;
            report.audio_seconds += transcribed.call.effective_duration();
            report.speech_seconds += transcribed.speech_seconds;
            report.segments += transcribed.call.segments.len();
            report.call_ids.push(transcribed.call.call_id.clone());
            let batch = redactor.redact_batch(vec![transcribed.call])?;
            store.put_call_batch(&CallBatch {
                calls: &batch.calls,
                redactions: &batch.records,
                ..CallBatch::default()
            })?;
            report.redacted.add(&batch.counts);
        }
        Ok(())
    })?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The order a batch transcribes its calls in, given their durations:
/// longest first (ties keep the listing's order).
fn longest_first(seconds: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..seconds.len()).collect();
    order.sort_by(|&left, &right| seconds[right].total_cmp(&seconds[left]));
    order
}

fn failure(entry: &AudioEntry, error: &Error) -> Failure {
    Failure {
        call_id: Some(entry.call_id.clone()),
        path: callscope_audio::manifest::describe_url(&entry.path.to_string_lossy()),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_start_with_the_longest_calls() {
        assert_eq!(
            longest_first(&[30.0, 600.0, 0.0, 600.0, 95.5]),
            vec![1, 3, 4, 0, 2]
        );
        assert!(longest_first(&[]).is_empty());
    }
}
