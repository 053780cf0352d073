//! Voice activity detection for telephone speech, one channel at a time,
//! streaming.
//!
//! Method (per 10 ms frame of 16 kHz audio, see [`super::features`]):
//!
//! 1. **Adaptive noise floor**: the minimum of the 300-3400 Hz band energy
//!    over a window from 4 s before to 1 s after the frame (a causal-enough
//!    "minimum statistics" tracker); digital silence (below -80 dBFS: a
//!    codec's start, a muted line) is left out. It follows line noise, hiss and slowly
//!    changing backgrounds, and rises under continuous hold music.
//! 2. **Frame decision with hysteresis**: a frame starts speech when it is
//!    `on_db` above the floor (and above an absolute level), and continues it
//!    while it stays `off_db` above.
//! 3. **Regions**: active frames closer than `merge_gap_seconds` merge into
//!    one region (the hangover); regions shorter than `min_speech_seconds`
//!    are dropped; each kept region is padded by `pad_seconds` each side;
//!    regions longer than `max_region_seconds` are split at their quietest
//!    frame, so no region outgrows a recognizer window.
//! 4. **Region checks**: a region must be voiced (a share of its active frames
//!    periodic, which rejects clicks, bursts of noise and breathing), and must
//!    not be music: a frame is *tonal* when a spectral peak (12 dB above the
//!    band's mean log power) has stayed in the same 31 Hz slot for 250 ms;
//!    sustained notes and chords make most frames of hold music tonal, while
//!    speech harmonics glide with the pitch (docs/design/audio.md has the
//!    shares measured on music and speech). Regions with more than
//!    `max_tonal_ratio` tonal frames are dropped as music.
//!
//! Decisions lag the input by `lookahead + merge_gap` (about 1.5 s); memory
//! is bounded by the floor window and the longest region.

use std::collections::VecDeque;

use super::features::{self, Frame, FrameAnalyzer, HOP, WINDOW};
use super::SAMPLE_RATE;
use callscope_core::model::SpeechRegion;

/// VAD settings; the defaults were tuned on composed telephone calls (see
/// `notes/audio.md` for the measurements).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VadConfig {
    /// dB above the noise floor that starts speech.
    pub on_db: f32,
    /// dB above the noise floor that continues speech.
    pub off_db: f32,
    /// Band energy (dBFS) below which nothing is speech.
    pub min_level_db: f32,
    /// Seconds of history of the noise-floor minimum.
    pub floor_window_seconds: f32,
    /// Seconds of look-ahead of the noise-floor minimum.
    pub lookahead_seconds: f32,
    /// Shortest speech kept.
    pub min_speech_seconds: f32,
    /// Pauses shorter than this do not split speech.
    pub merge_gap_seconds: f32,
    /// Seconds added before and after each region.
    pub pad_seconds: f32,
    /// Longest region; longer speech is split at its quietest frame.
    pub max_region_seconds: f32,
    /// Periodicity above which a frame is voiced.
    pub voiced_periodicity: f32,
    /// Share of a region's active frames that must be voiced.
    pub min_voiced_ratio: f32,
    /// Largest share of a region's active frames that are tonal (music).
    pub max_tonal_ratio: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            on_db: 11.0,
            off_db: 6.0,
            min_level_db: -55.0,
            floor_window_seconds: 4.0,
            lookahead_seconds: 1.0,
            min_speech_seconds: 0.25,
            merge_gap_seconds: 0.5,
            pad_seconds: 0.15,
            max_region_seconds: 25.0,
            voiced_periodicity: 0.6,
            min_voiced_ratio: 0.2,
            max_tonal_ratio: 0.5,
        }
    }
}

/// Band energy (dBFS) below which a frame is digital silence, not noise
/// (quieter than G.711's smallest step).
const DIGITAL_SILENCE_DB: f32 = -80.0;

fn frames_of(seconds: f32) -> u64 {
    (seconds * SAMPLE_RATE as f32 / HOP as f32).round().max(1.0) as u64
}

/// A frame's facts, kept while its region is open.
#[derive(Debug, Clone, Copy)]
struct Record {
    energy_db: f32,
    active: bool,
    /// Whether the frame is periodic.
    voiced: bool,
    /// Whether a spectral peak has held still for 250 ms (music).
    tonal: bool,
}

/// A region being built: frames `start..start + records.len()`.
#[derive(Debug, Default)]
struct Candidate {
    start: u64,
    records: Vec<Record>,
    last_active: u64,
}

/// The streaming detector for one channel. Feed 16 kHz samples with
/// [`Vad::push`]; regions come out as they are decided, in order.
pub struct Vad {
    config: VadConfig,
    analyzer: FrameAnalyzer,
    tonal: TonalTracker,
    /// Samples not yet consumed by a frame; `tail[0]` is sample `tail_start`.
    tail: Vec<f32>,
    tail_start: u64,
    /// Frames analyzed (the next frame's index).
    analyzed: u64,
    /// Analyzed frames awaiting a decision (index, frame, tonal).
    undecided: VecDeque<(u64, Frame, bool)>,
    /// Monotonic deque for the sliding minimum: (index, energy).
    minimum: VecDeque<(u64, f32)>,
    /// The last frame of digital silence.
    last_digital_silence: Option<u64>,
    in_speech: bool,
    candidate: Option<Candidate>,
    last_emitted_end: f64,
    samples_seen: u64,
    floor_window: u64,
    lookahead: u64,
    merge_gap: u64,
    max_region: u64,
}

impl Vad {
    /// A detector with these settings.
    pub fn new(config: VadConfig) -> Vad {
        Vad {
            floor_window: frames_of(config.floor_window_seconds),
            lookahead: frames_of(config.lookahead_seconds),
            merge_gap: frames_of(config.merge_gap_seconds),
            max_region: frames_of(config.max_region_seconds),
            config,
            analyzer: FrameAnalyzer::new(),
            tonal: TonalTracker::default(),
            tail: Vec::new(),
            tail_start: 0,
            analyzed: 0,
            undecided: VecDeque::new(),
            minimum: VecDeque::new(),
            last_digital_silence: None,
            in_speech: false,
            candidate: None,
            last_emitted_end: 0.0,
            samples_seen: 0,
        }
    }

    /// Feeds the next samples; returns the regions decided meanwhile.
    pub fn push(&mut self, samples: &[f32]) -> Vec<SpeechRegion> {
        let mut regions = Vec::new();
        self.samples_seen += samples.len() as u64;
        self.tail.extend_from_slice(samples);
        let mut offset = 0usize;
        while self.tail.len() - offset >= WINDOW {
            let (frame, tonal) = self.analyze_at(offset);
            self.accept(frame, tonal, true, &mut regions);
            offset += HOP;
        }
        self.tail.drain(..offset);
        self.tail_start += offset as u64;
        regions
    }

    /// Ends the stream: decides what is left and returns the last regions.
    pub fn finish(&mut self) -> Vec<SpeechRegion> {
        let mut regions = Vec::new();
        // Frames over the last partial window (zero-padded).
        let mut offset = 0usize;
        while offset < self.tail.len() && self.tail.len() - offset > WINDOW / 2 {
            // Zero-padded windows read quieter than the line: they are
            // decided but do not lower the floor.
            let (frame, tonal) = self.analyze_at(offset);
            self.accept(frame, tonal, false, &mut regions);
            offset += HOP;
        }
        self.tail.clear();
        while let Some((index, frame, tonal)) = self.undecided.pop_front() {
            let floor = self
                .minimum
                .front()
                .map_or(DIGITAL_SILENCE_DB, |entry| entry.1);
            self.decide(index, frame, tonal, floor, &mut regions);
        }
        let end = self.analyzed + self.merge_gap + 1;
        self.close_candidate(end, &mut regions, true);
        regions
    }

    /// The earliest time (seconds) at which a region not yet returned may
    /// start: samples before it are no longer needed.
    pub fn earliest_open_seconds(&self) -> f64 {
        let frame = match &self.candidate {
            Some(candidate) => candidate.start,
            None => self
                .undecided
                .front()
                .map_or(self.analyzed, |(index, _, _)| *index),
        };
        (features::frame_start_seconds(frame) - f64::from(self.config.pad_seconds))
            .max(self.last_emitted_end)
            .max(0.0)
    }

    fn analyze_at(&mut self, offset: usize) -> (Frame, bool) {
        let end = (offset + WINDOW).min(self.tail.len());
        let samples = &self.tail[offset..end];
        // Pitch and peaks only where they can matter: frames loud enough to
        // be speech.
        let quick = self.analyzer.analyze(samples, false);
        if quick.energy_db > self.config.min_level_db {
            let frame = self.analyzer.analyze(samples, true);
            let tonal = self.tonal.update(self.analyzer.power());
            (frame, tonal)
        } else {
            self.tonal.reset();
            (quick, false)
        }
    }

    /// Takes one analyzed frame: updates the floor and decides what can be.
    fn accept(
        &mut self,
        frame: Frame,
        tonal: bool,
        floor_input: bool,
        regions: &mut Vec<SpeechRegion>,
    ) {
        let index = self.analyzed;
        self.analyzed += 1;
        // Digital silence (a codec's start, a muted line, a dropout) is not
        // line noise: it stays out of the floor, or the noise around it
        // would look like speech.
        // Frames whose window straddles the edge of digital silence are
        // half silent: they stay out too.
        if floor_input {
            self.update_floor(index, frame.energy_db);
        }
        let window = self.floor_window + self.lookahead;
        while self
            .minimum
            .front()
            .is_some_and(|&(old, _)| old + window < index)
        {
            self.minimum.pop_front();
        }
        self.undecided.push_back((index, frame, tonal));
        // A frame is decided once its look-ahead has arrived; at the start
        // of the stream, once a whole floor window has (so speech at 0 s is
        // measured against the silence after it, not against itself).
        while let Some(&(oldest, oldest_frame, oldest_tonal)) = self.undecided.front() {
            let ready = index >= oldest + self.lookahead && index >= window.min(oldest + window);
            if !ready {
                break;
            }
            self.undecided.pop_front();
            let floor = self
                .minimum
                .front()
                .map_or(DIGITAL_SILENCE_DB, |entry| entry.1);
            self.decide(oldest, oldest_frame, oldest_tonal, floor, regions);
        }
    }

    /// Adds a frame's energy to the sliding minimum (see `accept`).
    fn update_floor(&mut self, index: u64, energy_db: f32) {
        let edge = (WINDOW / HOP) as u64;
        if energy_db <= DIGITAL_SILENCE_DB {
            self.last_digital_silence = Some(index);
            while self
                .minimum
                .back()
                .is_some_and(|&(old, _)| old + edge >= index)
            {
                self.minimum.pop_back();
            }
            return;
        }
        if self
            .last_digital_silence
            .is_some_and(|silence| index <= silence + edge)
        {
            return;
        }
        while self
            .minimum
            .back()
            .is_some_and(|&(_, energy)| energy >= energy_db)
        {
            self.minimum.pop_back();
        }
        self.minimum.push_back((index, energy_db));
    }

    fn decide(
        &mut self,
        index: u64,
        frame: Frame,
        tonal: bool,
        floor: f32,
        regions: &mut Vec<SpeechRegion>,
    ) {
        let config = &self.config;
        let above = frame.energy_db - floor;
        let loud_enough = frame.energy_db > config.min_level_db;
        let active = loud_enough
            && if self.in_speech {
                above > config.off_db
            } else {
                above > config.on_db
            };
        self.in_speech = active;
        let record = Record {
            energy_db: frame.energy_db,
            active,
            voiced: frame.periodicity >= config.voiced_periodicity,
            tonal,
        };
        if let Some(candidate) = self.candidate.as_ref() {
            if index > candidate.last_active + self.merge_gap {
                self.close_candidate(index, regions, false);
            }
        }
        match self.candidate.as_mut() {
            Some(candidate) => {
                candidate.records.push(record);
                if active {
                    candidate.last_active = index;
                }
                if index + 1 - candidate.start >= self.max_region {
                    self.split_candidate(regions);
                }
            }
            None if active => {
                self.candidate = Some(Candidate {
                    start: index,
                    records: vec![record],
                    last_active: index,
                });
            }
            None => {}
        }
    }

    /// Splits an over-long candidate at its quietest frame in its last 40%.
    fn split_candidate(&mut self, regions: &mut Vec<SpeechRegion>) {
        let Some(mut candidate) = self.candidate.take() else {
            return;
        };
        let from = candidate.records.len() * 6 / 10;
        let split = (from..candidate.records.len())
            .min_by(|&left, &right| {
                candidate.records[left]
                    .energy_db
                    .total_cmp(&candidate.records[right].energy_db)
            })
            .unwrap_or(candidate.records.len() - 1);
        let rest: Vec<Record> = candidate.records.split_off(split + 1);
        let rest_start = candidate.start + split as u64 + 1;
        if let Some(last) = candidate.records.iter().rposition(|record| record.active) {
            candidate.last_active = candidate.start + last as u64;
        }
        self.emit(candidate, regions, false);
        if let Some(first) = rest.iter().position(|record| record.active) {
            let last = rest
                .iter()
                .rposition(|record| record.active)
                .unwrap_or(first);
            self.candidate = Some(Candidate {
                start: rest_start + first as u64,
                records: rest[first..].to_vec(),
                last_active: rest_start + last as u64,
            });
        }
    }

    fn close_candidate(&mut self, _now: u64, regions: &mut Vec<SpeechRegion>, at_end: bool) {
        if let Some(candidate) = self.candidate.take() {
            self.emit(candidate, regions, at_end);
        }
    }

    /// Checks a finished candidate and returns it as a padded region.
    fn emit(&mut self, candidate: Candidate, regions: &mut Vec<SpeechRegion>, at_end: bool) {
        let config = &self.config;
        let length = (candidate.last_active + 1 - candidate.start) as usize;
        let records = &candidate.records[..length.min(candidate.records.len())];
        let active = records.iter().filter(|record| record.active).count();
        if (length as u64) < frames_of(config.min_speech_seconds)
            || active * 2 < frames_of(config.min_speech_seconds) as usize
        {
            return;
        }
        let voiced = records
            .iter()
            .filter(|record| record.active && record.voiced)
            .count();
        if (voiced as f32) < config.min_voiced_ratio * active as f32 {
            return;
        }
        let tonal = records
            .iter()
            .filter(|record| record.active && record.tonal)
            .count();
        if tonal as f32 > config.max_tonal_ratio * active as f32 {
            return;
        }
        let pad = f64::from(config.pad_seconds);
        let duration = self.samples_seen as f64 / f64::from(SAMPLE_RATE);
        let start =
            (features::frame_start_seconds(candidate.start) - pad).max(self.last_emitted_end);
        let mut end = features::frame_end_seconds(candidate.last_active) + pad;
        if at_end || end > duration {
            end = end.min(duration);
        }
        if end <= start {
            return;
        }
        self.last_emitted_end = end;
        regions.push(SpeechRegion { start, end });
    }
}

/// Follows spectral peaks from frame to frame: a frame is tonal when some
/// peak in 312-3400 Hz has stayed within one bin (15.6 Hz) of where it
/// started for the last 250 ms. (Anchoring to the start keeps gliding
/// harmonics, which move a bin every few frames, from counting.)
#[derive(Debug, Clone)]
struct TonalTracker {
    /// Per FFT bin: for how many frames a peak has been near its anchor.
    age: Vec<u16>,
    /// Per FFT bin: the bin where that peak started.
    anchor: Vec<u16>,
    next_age: Vec<u16>,
    next_anchor: Vec<u16>,
}

impl Default for TonalTracker {
    fn default() -> Self {
        TonalTracker {
            age: vec![0; 520],
            anchor: vec![0; 520],
            next_age: vec![0; 520],
            next_anchor: vec![0; 520],
        }
    }
}

impl TonalTracker {
    const LOW_BIN: usize = 20;
    const HIGH_BIN: usize = 218;
    const MIN_AGE: u16 = 25;
    const ABOVE_MEAN_DB: f32 = 12.0;

    fn reset(&mut self) {
        self.age.iter_mut().for_each(|age| *age = 0);
    }

    fn update(&mut self, power: &[f32]) -> bool {
        let (low, high) = (Self::LOW_BIN, Self::HIGH_BIN.min(power.len() - 2));
        let level = |bin: usize| 10.0 * (power[bin] + 1e-12).log10();
        let mean = (low..high).map(level).sum::<f32>() / (high - low) as f32;
        let threshold = 10f32.powf((mean + Self::ABOVE_MEAN_DB) / 10.0);
        self.next_age.iter_mut().for_each(|age| *age = 0);
        let mut oldest = 0;
        for bin in low..high {
            let value = power[bin];
            if !(value > power[bin - 1] && value >= power[bin + 1] && value > threshold) {
                continue;
            }
            // Continue the oldest nearby peak that has not wandered off.
            let mut age = 1;
            let mut anchor = bin as u16;
            for neighbor in bin - 1..=bin + 1 {
                let previous = self.age[neighbor];
                if previous + 1 > age && self.anchor[neighbor].abs_diff(bin as u16) <= 1 {
                    age = previous + 1;
                    anchor = self.anchor[neighbor];
                }
            }
            self.next_age[bin] = age.min(u16::MAX - 1);
            self.next_anchor[bin] = anchor;
            oldest = oldest.max(age);
        }
        std::mem::swap(&mut self.age, &mut self.next_age);
        std::mem::swap(&mut self.anchor, &mut self.next_anchor);
        oldest >= Self::MIN_AGE
    }
}

/// Runs the detector over a whole buffer of 16 kHz samples.
pub fn detect(samples: &[f32], config: &VadConfig) -> Vec<SpeechRegion> {
    let mut vad = Vad::new(config.clone());
    let mut regions = Vec::new();
    for block in samples.chunks(SAMPLE_RATE as usize * 10) {
        regions.extend(vad.push(block));
    }
    regions.extend(vad.finish());
    regions
}

/// Frame-level agreement of detected regions with true ones: (precision,
/// recall) over 10 ms frames up to `duration` seconds.
pub fn frame_scores(
    detected: &[SpeechRegion],
    truth: &[SpeechRegion],
    duration: f64,
) -> (f64, f64) {
    let frames = (duration * 100.0).ceil() as usize;
    let mark = |regions: &[SpeechRegion]| {
        let mut marks = vec![false; frames];
        for region in regions {
            let first = (region.start * 100.0).floor().max(0.0) as usize;
            let last = ((region.end * 100.0).ceil() as usize).min(frames);
            for mark in marks.iter_mut().take(last).skip(first) {
                *mark = true;
            }
        }
        marks
    };
    let detected = mark(detected);
    let truth = mark(truth);
    let both = detected
        .iter()
        .zip(&truth)
        .filter(|(d, t)| **d && **t)
        .count() as f64;
    let detected_count = detected.iter().filter(|d| **d).count() as f64;
    let truth_count = truth.iter().filter(|t| **t).count() as f64;
    (
        if detected_count > 0.0 {
            both / detected_count
        } else {
            1.0
        },
        if truth_count > 0.0 {
            both / truth_count
        } else {
            1.0
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crude voiced "syllable train": 200 ms harmonic syllables whose
    /// pitch glides up or down (Mandarin tones), 60 ms apart.
    fn speechlike(seconds: f32, pitch: f32) -> Vec<f32> {
        let count = (seconds * SAMPLE_RATE as f32) as usize;
        let syllable = (0.26 * SAMPLE_RATE as f32) as usize;
        let voiced = (0.2 * SAMPLE_RATE as f32) as usize;
        let mut phase = 0.0f32;
        (0..count)
            .map(|index| {
                let number = index / syllable;
                let within = index % syllable;
                if within >= voiced {
                    return 0.0;
                }
                let progress = within as f32 / voiced as f32;
                let glide = if number % 2 == 0 { 0.25 } else { -0.25 };
                let f0 = pitch * (1.0 + glide * (progress - 0.5));
                phase += std::f32::consts::TAU * f0 / SAMPLE_RATE as f32;
                let envelope = (std::f32::consts::PI * progress).sin();
                (1..=10)
                    .map(|h| (phase * h as f32).sin() / h as f32)
                    .sum::<f32>()
                    * 0.1
                    * envelope
            })
            .collect()
    }

    fn noise(count: usize, amplitude: f32, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * amplitude
            })
            .collect()
    }

    #[test]
    fn finds_speech_in_noise_where_it_was_placed() {
        let mut signal = noise(SAMPLE_RATE as usize * 20, 0.003, 7);
        for &(at, length) in &[(2.0f32, 3.0f32), (9.0, 1.5), (14.0, 4.0)] {
            let start = (at * SAMPLE_RATE as f32) as usize;
            for (offset, sample) in speechlike(length, 140.0).into_iter().enumerate() {
                signal[start + offset] += sample;
            }
        }
        let regions = detect(&signal, &VadConfig::default());
        assert_eq!(regions.len(), 3, "{regions:?}");
        for (region, &(at, length)) in regions.iter().zip(&[(2.0, 3.0), (9.0, 1.5), (14.0, 4.0)]) {
            assert!((region.start - at).abs() < 0.3, "{region:?}");
            assert!((region.end - (at + length)).abs() < 0.3, "{region:?}");
        }
    }

    #[test]
    fn silence_and_steady_noise_have_no_speech() {
        assert!(detect(&vec![0.0; 16000 * 5], &VadConfig::default()).is_empty());
        let hiss = noise(16000 * 10, 0.05, 3);
        assert!(detect(&hiss, &VadConfig::default()).is_empty());
    }

    #[test]
    fn sustained_notes_are_not_speech() {
        // Hold music: notes of 0.5 s with harmonics, no pauses.
        let notes = [262.0f32, 330.0, 392.0, 523.0, 392.0, 330.0];
        let mut music = Vec::new();
        for round in 0..4 {
            for (note_index, &note) in notes.iter().enumerate() {
                let pitch = note * if round % 2 == 0 { 1.0 } else { 0.75 };
                for index in 0..8000 {
                    let time = index as f32 / SAMPLE_RATE as f32;
                    let envelope = (1.0 - time * 1.2).max(0.2);
                    let value = (1..=5)
                        .map(|h| {
                            (std::f32::consts::TAU * pitch * h as f32 * time).sin() / (h * h) as f32
                        })
                        .sum::<f32>();
                    music.push(value * 0.2 * envelope + (note_index as f32) * 0.0);
                }
            }
        }
        let regions = detect(&music, &VadConfig::default());
        let covered: f64 = regions.iter().map(|region| region.end - region.start).sum();
        assert!(covered < 2.0, "music taken for speech: {regions:?}");
    }

    #[test]
    fn streaming_in_odd_blocks_gives_the_same_regions() {
        let mut signal = noise(SAMPLE_RATE as usize * 12, 0.002, 11);
        for (offset, sample) in speechlike(2.5, 180.0).into_iter().enumerate() {
            signal[SAMPLE_RATE as usize * 3 + offset] += sample;
        }
        for (offset, sample) in speechlike(1.0, 120.0).into_iter().enumerate() {
            signal[SAMPLE_RATE as usize * 8 + offset] += sample;
        }
        let whole = detect(&signal, &VadConfig::default());
        let mut vad = Vad::new(VadConfig::default());
        let mut streamed = Vec::new();
        for block in signal.chunks(777) {
            streamed.extend(vad.push(block));
        }
        streamed.extend(vad.finish());
        assert_eq!(whole, streamed);
        assert_eq!(whole.len(), 2);
    }

    #[test]
    fn long_speech_is_split_below_the_maximum() {
        let signal = speechlike(60.0, 150.0);
        let regions = detect(&signal, &VadConfig::default());
        assert!(regions.len() >= 3, "{regions:?}");
        for region in &regions {
            assert!(region.end - region.start <= 25.0 + 0.5, "{region:?}");
        }
    }

    #[test]
    fn frame_scores_count_overlap() {
        let truth = [SpeechRegion {
            start: 1.0,
            end: 3.0,
        }];
        let detected = [SpeechRegion {
            start: 2.0,
            end: 4.0,
        }];
        let (precision, recall) = frame_scores(&detected, &truth, 5.0);
        assert!((precision - 0.5).abs() < 0.01 && (recall - 0.5).abs() < 0.01);
    }
}
