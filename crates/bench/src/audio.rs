//! `callscope-bench audio`: the audio stage measured on calls composed from
//! the shared clips (`shared/asr-dev`, `shared/callcenter-tts`), where the
//! truth is known: VAD frame precision/recall and boundary accuracy on
//! stereo telephone calls, speaker purity of mono calls of two real
//! speakers, role accuracy, and speed and memory on a long recording.
//! docs/benchmarks.md ("Audio stage") has the command and the figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::Row;
use callscope_asr::{AsrConfig, SileroVad};
use callscope_audio::diarize::{self, SpeakerWindow};
use callscope_audio::vad::frame_scores;
use callscope_audio::{AudioOptions, CallReader};
use callscope_core::error::{Error, Result};
use callscope_core::model::{AsrSegment, ChannelLayout, Role, SpeechRegion};
use callscope_pipeline::transcribe::silero_regions;
use callscope_testkit::compose::{self, CallLayout, Clip, ComposedCall, Encoding};

/// What to measure on.
#[derive(Debug, Clone)]
pub struct AudioBenchOptions {
    /// The shared data folder (holds `asr-dev` and `callcenter-tts`).
    pub shared: PathBuf,
    /// Composed calls per measurement.
    pub calls: usize,
    /// Hours of the long recording (0 skips it).
    pub long_hours: f64,
    /// Seed of the composed calls.
    pub seed: u64,
    /// Silero VAD's converted model: the VAD rows are measured again with
    /// Silero inside the energy VAD's regions (`None`: energy VAD only).
    pub vad_model: Option<PathBuf>,
}

/// The two real speakers of asr-dev and the synthetic call-center lines.
pub struct Corpus {
    /// asr-dev clips of speaker S0150.
    pub speaker_a: Vec<Clip>,
    /// asr-dev clips of speaker S0252.
    pub speaker_b: Vec<Clip>,
    /// callcenter-tts agent lines (a01-a20).
    pub agent_lines: Vec<Clip>,
    /// callcenter-tts customer lines (c01-c20).
    pub customer_lines: Vec<Clip>,
}

impl Corpus {
    /// The clips each role speaks in a composed two-party call: the agent
    /// the callcenter-tts agent lines and speaker A, the customer the
    /// customer lines and speaker B.
    pub fn call_voices(&self) -> (Vec<Clip>, Vec<Clip>) {
        let agents = self
            .agent_lines
            .iter()
            .chain(&self.speaker_a)
            .cloned()
            .collect();
        let customers = self
            .customer_lines
            .iter()
            .chain(&self.speaker_b)
            .cloned()
            .collect();
        (agents, customers)
    }

    /// Loads the clips from `shared`.
    pub fn load(shared: &Path) -> Result<Corpus> {
        let asr = compose::load_clip_folder(&shared.join("asr-dev"))?;
        let tts = compose::load_clip_folder(&shared.join("callcenter-tts"))?;
        let pick = |clips: &[Clip], prefix: &str| -> Vec<Clip> {
            clips
                .iter()
                .filter(|clip| clip.name.contains(prefix))
                .cloned()
                .collect()
        };
        let corpus = Corpus {
            speaker_a: pick(&asr, "S0150"),
            speaker_b: pick(&asr, "S0252"),
            agent_lines: tts
                .iter()
                .filter(|clip| clip.name.starts_with('a'))
                .cloned()
                .collect(),
            customer_lines: tts
                .iter()
                .filter(|clip| clip.name.starts_with('c'))
                .cloned()
                .collect(),
        };
        if corpus.speaker_a.is_empty()
            || corpus.speaker_b.is_empty()
            || corpus.agent_lines.is_empty()
        {
            return Err(Error::Usage(format!(
                "{}: expected asr-dev (S0150, S0252) and callcenter-tts clips there; pass --shared",
                shared.display()
            )));
        }
        Ok(corpus)
    }
}

/// Merges true turns of one role whose pauses are shorter than the VAD's
/// merge gap (they are one region to the VAD).
pub fn merged_truth(call: &ComposedCall, role: Option<Role>, merge_gap: f64) -> Vec<SpeechRegion> {
    let mut turns: Vec<SpeechRegion> = call
        .truth
        .iter()
        .filter(|turn| role.is_none_or(|role| turn.role == role))
        .map(|turn| SpeechRegion {
            start: turn.start,
            end: turn.end,
        })
        .collect();
    turns.sort_by(|left, right| left.start.total_cmp(&right.start));
    let mut merged: Vec<SpeechRegion> = Vec::new();
    for turn in turns {
        match merged.last_mut() {
            Some(last) if turn.start - last.end < merge_gap => last.end = last.end.max(turn.end),
            _ => merged.push(turn),
        }
    }
    merged
}

/// For each true region, whether the detected regions overlapping it start
/// and end within `tolerance` seconds of it.
pub fn boundaries_found(
    truth: &[SpeechRegion],
    detected: &[SpeechRegion],
    tolerance: f64,
) -> Vec<bool> {
    truth
        .iter()
        .map(|region| {
            let touching: Vec<&SpeechRegion> = detected
                .iter()
                .filter(|found| found.end > region.start && found.start < region.end)
                .collect();
            match (touching.first(), touching.last()) {
                (Some(first), Some(last)) => {
                    (first.start - region.start).abs() <= tolerance
                        && (last.end - region.end).abs() <= tolerance
                }
                _ => false,
            }
        })
        .collect()
}

fn overlap_seconds(regions: &[SpeechRegion], span: &SpeechRegion) -> f64 {
    regions
        .iter()
        .map(|region| (region.end.min(span.end) - region.start.max(span.start)).max(0.0))
        .sum()
}

/// Runs all measurements.
pub fn run(options: &AudioBenchOptions) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let corpus = Corpus::load(&options.shared)?;
    let scratch = tempfile::tempdir().map_err(|error| Error::io(std::env::temp_dir(), error))?;
    if options.long_hours > 0.0 {
        rows.extend(long_recording(&corpus, options, scratch.path())?);
    }
    rows.extend(vad_accuracy(&corpus, options, scratch.path())?);
    rows.extend(speaker_separation(&corpus, options, scratch.path())?);
    Ok(rows)
}

/// Decode + resample + VAD of a long stereo mu-law recording, chunked.
fn long_recording(
    corpus: &Corpus,
    options: &AudioBenchOptions,
    scratch: &Path,
) -> Result<Vec<Row>> {
    let spec = compose::random_call_spec(
        &corpus.agent_lines,
        &corpus.customer_lines,
        CallLayout::AgentLeft,
        options.seed,
    );
    let call = compose::compose(&spec);
    let repeats = ((options.long_hours * 3600.0) / call.duration()).ceil() as usize;
    let path = scratch.join("long.wav");
    compose::write_repeated(&path, &call.channels, repeats, Encoding::Mulaw8k)?;
    drop(call);
    let started = Instant::now();
    let mut reader = open_stereo(&path)?;
    let mut regions = 0usize;
    while let Some(batches) = reader.next_batches()? {
        regions += batches
            .iter()
            .map(|batch| batch.regions.len())
            .sum::<usize>();
    }
    let summary = reader.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    let hours = summary.duration / 3600.0;
    Ok(vec![
        Row::new(
            "decode+resample+VAD speed",
            summary.duration / seconds,
            "x real time",
            format!("{hours:.1} h stereo 8 kHz mu-law, 1 thread, {regions} regions"),
        ),
        Row::new(
            "peak memory (long recording)",
            super::peak_rss_mib(),
            "MiB",
            format!(
                "whole process; chunks of 120 s; at most {:.0} s of 16 kHz audio held",
                summary.peak_buffered_samples as f64 / 16000.0
            ),
        ),
    ])
}

/// A composed stereo call (agent left) as `transcribe` reads it.
fn open_stereo(path: &Path) -> Result<CallReader> {
    CallReader::open(
        path,
        Some(ChannelLayout::AgentLeft),
        &AudioOptions::default(),
    )
}

/// VAD precision/recall and boundary accuracy on stereo 8 kHz mu-law calls.
fn vad_accuracy(corpus: &Corpus, options: &AudioBenchOptions, scratch: &Path) -> Result<Vec<Row>> {
    let (agents, customers) = corpus.call_voices();
    let silero = match &options.vad_model {
        Some(path) if path.is_file() => {
            Some(SileroVad::load(path, AsrConfig::default().silero_config())?)
        }
        Some(path) => {
            return Err(Error::Usage(format!(
                "{} is missing: run `callscope model fetch` (it builds Silero VAD), or pass \
                 --vad-model",
                path.display()
            )))
        }
        None => None,
    };
    let mut energy = VadScore::default();
    let mut gated = VadScore::default();
    let mut processing = 0.0;
    let mut audio_seconds = 0.0;
    for index in 0..options.calls {
        let spec = compose::random_call_spec(
            &agents,
            &customers,
            CallLayout::AgentLeft,
            options.seed + index as u64,
        );
        let call = compose::compose(&spec);
        let path = scratch.join(format!("vad-{index}.wav"));
        call.write(&path, Encoding::Mulaw8k)?;
        let started = Instant::now();
        let (_, summary) = callscope_audio::read_call(
            &path,
            Some(ChannelLayout::AgentLeft),
            &AudioOptions::default(),
        )?;
        processing += started.elapsed().as_secs_f64();
        audio_seconds += summary.duration;
        energy.add(&call, &summary.regions, summary.duration);
        if let Some(vad) = &silero {
            // What `transcribe` does with Silero on: the same reader's
            // batches, Silero inside the energy VAD's regions.
            let started = Instant::now();
            let mut reader = open_stereo(&path)?;
            let mut regions: Vec<Vec<SpeechRegion>> = vec![Vec::new(); 2];
            while let Some(batches) = reader.next_batches()? {
                for batch in batches {
                    regions[batch.track].extend(silero_regions(vad, &batch)?);
                }
            }
            reader.finish()?;
            gated.seconds += started.elapsed().as_secs_f64();
            gated.add(&call, &regions, summary.duration);
        }
    }
    let note = format!(
        "{} composed stereo calls, 8 kHz mu-law, line noise, tts + asr-dev speech",
        options.calls
    );
    let mut rows = energy.rows("", &note);
    rows.push(Row::new(
        "VAD speed (short calls)",
        audio_seconds / processing,
        "x real time",
        "decode + resample + VAD, both channels, 1 thread",
    ));
    if silero.is_some() {
        rows.extend(gated.rows(" (silero)", &note));
        rows.push(Row::new(
            "VAD speed (short calls, silero)",
            audio_seconds / gated.seconds.max(1e-9),
            "x real time",
            "decode + resample + energy VAD + Silero VAD inside its regions, both channels",
        ));
    }
    Ok(rows)
}

/// The Silero model the VAD rows use: the one named, else the fetched one
/// when it is there; none with `no_silero`.
pub fn silero_model(named: Option<&Path>, no_silero: bool) -> Option<PathBuf> {
    if no_silero {
        return None;
    }
    match named {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let fetched = AsrConfig::default().vad_model;
            fetched.is_file().then_some(fetched)
        }
    }
}

/// VAD accuracy summed over composed stereo calls.
#[derive(Debug, Default)]
struct VadScore {
    precision_sum: f64,
    recall_sum: f64,
    tracks: f64,
    found: usize,
    regions: usize,
    music_seconds: f64,
    music_false: f64,
    /// Seconds spent finding speech (when timed here).
    seconds: f64,
}

impl VadScore {
    /// Scores the regions found on each track (agent, customer) of `call`.
    fn add(&mut self, call: &ComposedCall, found: &[Vec<SpeechRegion>], duration: f64) {
        for (track, role) in [(0usize, Role::Agent), (1, Role::Customer)] {
            let truth = merged_truth(call, Some(role), 0.5);
            let (precision, recall) = frame_scores(&found[track], &truth, duration);
            self.precision_sum += precision;
            self.recall_sum += recall;
            self.tracks += 1.0;
            let hits = boundaries_found(&truth, &found[track], 0.5);
            self.found += hits.iter().filter(|hit| **hit).count();
            self.regions += hits.len();
        }
        for hold in &call.holds {
            self.music_seconds += hold.end - hold.start;
            self.music_false += overlap_seconds(&found[0], hold);
        }
    }

    fn rows(&self, label: &str, note: &str) -> Vec<Row> {
        vec![
            Row::new(
                format!("VAD frame precision{label}"),
                self.precision_sum / self.tracks.max(1.0),
                "",
                note.to_string(),
            ),
            Row::new(
                format!("VAD frame recall{label}"),
                self.recall_sum / self.tracks.max(1.0),
                "",
                note.to_string(),
            ),
            Row::new(
                format!("speech regions found within 0.5 s{label}"),
                self.found as f64 / self.regions.max(1) as f64,
                "",
                format!(
                    "{} of {} true regions: start and end both within 0.5 s",
                    self.found, self.regions
                ),
            ),
            Row::new(
                format!("hold music taken for speech{label}"),
                if self.music_seconds > 0.0 {
                    self.music_false / self.music_seconds
                } else {
                    0.0
                },
                "share",
                format!("{:.0} s of synthetic hold music", self.music_seconds),
            ),
        ]
    }
}

/// Speaker purity on mono calls of two real speakers, and role accuracy,
/// once per encoding.
fn speaker_separation(
    corpus: &Corpus,
    options: &AudioBenchOptions,
    scratch: &Path,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (encoding, label) in [
        (Encoding::Mulaw8k, "8 kHz mu-law"),
        (Encoding::Pcm16k, "16 kHz"),
    ] {
        let mut tally = SeparationTally::default();
        for index in 0..options.calls {
            let call = mono_call(corpus, options.seed + 1000 + index as u64, index);
            let path = scratch.join(format!("mono-{index}.wav"));
            call.write(&path, encoding)?;
            let (_, summary) = callscope_audio::read_call(&path, None, &AudioOptions::default())?;
            tally.add(corpus, &call, index, &summary.speaker_windows);
        }
        rows.extend(tally.rows(label, options.calls));
    }
    Ok(rows)
}

/// A mono call of the two real speakers: speaker A plays the agent, B the
/// customer; every other call the other way round, so "who speaks first"
/// is no shortcut.
fn mono_call(corpus: &Corpus, seed: u64, index: usize) -> ComposedCall {
    let (agent, customer) = if index % 2 == 0 {
        (&corpus.speaker_a, &corpus.speaker_b)
    } else {
        (&corpus.speaker_b, &corpus.speaker_a)
    };
    compose::compose(&compose::random_call_spec(
        agent,
        customer,
        CallLayout::Mono,
        seed,
    ))
}

/// What the separation measurement counts over the calls of one encoding.
#[derive(Debug, Default)]
struct SeparationTally {
    /// Seconds of speaker windows in the better pairing of clusters with
    /// roles.
    correct: f64,
    /// Seconds of speaker windows that lie within one role's speech.
    total: f64,
    /// Calls where two speakers were found.
    two_found: u32,
    /// Seconds of true turns given their own role.
    role_correct: f64,
    /// Seconds of true turns given a role.
    role_total: f64,
    /// Calls where most of the speech got the right role.
    decisions_right: u32,
}

impl SeparationTally {
    /// Clusters the speaker windows of call `index`, assigns roles and
    /// counts both against the truth.
    fn add(
        &mut self,
        corpus: &Corpus,
        call: &ComposedCall,
        index: usize,
        windows: &[SpeakerWindow],
    ) {
        let clusters = diarize::cluster_speakers(windows);
        if clusters.two_speakers {
            self.two_found += 1;
        }
        let agreement = cluster_agreement(call, windows, &clusters.labels);
        let straight = agreement[0][0] + agreement[1][1];
        let crossed = agreement[0][1] + agreement[1][0];
        self.correct += straight.max(crossed);
        self.total += straight + crossed;
        let turns = diarize::speaker_turns(windows, &clusters);
        let assignment =
            diarize::assign_segment_roles(&turns, &lines_as_heard(corpus, call, index));
        let mut right = 0.0;
        for (turn, role) in call.truth.iter().zip(&assignment.roles) {
            let length = turn.end - turn.start;
            if *role == turn.role {
                right += length;
            }
            self.role_total += length;
        }
        self.role_correct += right;
        let speech: f64 = call.truth.iter().map(|turn| turn.end - turn.start).sum();
        if right > 0.5 * speech {
            self.decisions_right += 1;
        }
    }

    /// The rows of one encoding over `calls` calls.
    fn rows(&self, label: &str, calls: usize) -> Vec<Row> {
        let note =
            format!("{calls} mono calls of S0150 + S0252 (asr-dev), {label}, line noise, overlaps");
        vec![
            Row::new(
                format!("speaker purity ({label})"),
                self.correct / self.total.max(1e-9),
                "",
                note.clone(),
            ),
            Row::new(
                format!("two speakers found ({label})"),
                f64::from(self.two_found) / calls as f64,
                "share of calls",
                note.clone(),
            ),
            Row::new(
                format!("role accuracy ({label})"),
                self.role_correct / self.role_total.max(1e-9),
                "share of speech time",
                format!("{note}; texts: callcenter-tts lines of each role as if recognized"),
            ),
            Row::new(
                format!("agent decided right ({label})"),
                f64::from(self.decisions_right) / calls as f64,
                "share of calls",
                "majority of speech time labeled with the right role",
            ),
        ]
    }
}

/// Seconds of speaker windows by cluster label (rows) and true role
/// (columns: agent, customer); windows not 80% within one role's speech
/// are left out.
fn cluster_agreement(
    call: &ComposedCall,
    windows: &[SpeakerWindow],
    labels: &[usize],
) -> [[f64; 2]; 2] {
    let agent_regions = call.regions(Role::Agent);
    let customer_regions = call.regions(Role::Customer);
    let mut agreement = [[0.0f64; 2]; 2];
    for (window, label) in windows.iter().zip(labels) {
        let span = SpeechRegion {
            start: window.start,
            end: window.end,
        };
        let agent_time = overlap_seconds(&agent_regions, &span);
        let customer_time = overlap_seconds(&customer_regions, &span);
        let length = window.end - window.start;
        let truth = if agent_time > 0.8 * length {
            0
        } else if customer_time > 0.8 * length {
            1
        } else {
            continue;
        };
        agreement[*label][truth] += length;
    }
    agreement
}

/// Each true turn of call `index` as a recognized segment carrying a
/// call-center line of its role (the audio is AISHELL speech).
fn lines_as_heard(corpus: &Corpus, call: &ComposedCall, index: usize) -> Vec<AsrSegment> {
    call.truth
        .iter()
        .enumerate()
        .map(|(number, turn)| {
            let lines = if turn.role == Role::Agent {
                &corpus.agent_lines
            } else {
                &corpus.customer_lines
            };
            AsrSegment {
                start: turn.start,
                end: turn.end,
                text: lines[(number * 7 + index) % lines.len()].text.clone(),
                confidence: 0.9,
            }
        })
        .collect()
}
