//! A call recording read in chunks: decode → resample → VAD per track,
//! handing out speech with its samples and ending with the call's regions,
//! silences and speaker windows.
//!
//! Tracks follow the channel layout: stereo gives an agent track and a
//! customer track (each recognized on its own, so overlapping speech keeps
//! both sides); mono gives one track whose speakers are separated afterwards
//! ([`super::diarize`]). A stereo file declared mono, a file with more than
//! two channels, or a stereo file whose channels are identical is mixed down
//! to one track, with a warning.

use std::path::Path;

use super::decode::{AudioInfo, AudioStream};
use super::diarize::{self, SpeakerWindow};
use super::vad::{Vad, VadConfig};
use super::{seconds_to_samples, SAMPLE_RATE};
use callscope_core::error::Result;
use callscope_core::model::{ChannelLayout, Role, Silence, SpeechRegion};

/// Settings of [`CallReader`].
#[derive(Debug, Clone, PartialEq)]
pub struct AudioOptions {
    /// Seconds of audio decoded per step (memory grows with it).
    pub chunk_seconds: f64,
    /// Voice activity detection.
    pub vad: VadConfig,
    /// Shortest gap recorded as a silence.
    pub min_silence_seconds: f64,
}

impl Default for AudioOptions {
    fn default() -> Self {
        AudioOptions {
            chunk_seconds: 120.0,
            vad: VadConfig::default(),
            min_silence_seconds: 1.0,
        }
    }
}

/// Where a track's samples come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackSource {
    /// One channel of the file.
    Channel(usize),
    /// All channels averaged.
    Mix,
}

/// One stream of speech to recognize: a role's channel, or a mono mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Track {
    /// The role speaking on it; `None` when both speak (mono).
    pub role: Option<Role>,
    /// Where its samples come from.
    pub source: TrackSource,
}

/// Speech found on one track during one chunk: contiguous 16 kHz samples
/// and the regions within them (times in the recording's timeline).
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechBatch {
    /// Index into [`CallReader::tracks`].
    pub track: usize,
    /// The track's role (`None` for a mono track).
    pub role: Option<Role>,
    /// Seconds in the recording of `samples[0]`.
    pub offset: f64,
    /// 16 kHz samples from the first region's start to the last's end.
    pub samples: Vec<f32>,
    /// Speech regions, seconds in the recording, sorted, inside `samples`.
    pub regions: Vec<SpeechRegion>,
}

impl SpeechBatch {
    /// The regions in seconds from `samples[0]` (what a recognizer given
    /// `samples` expects); add `offset` to its results.
    pub fn local_regions(&self) -> Vec<SpeechRegion> {
        self.regions
            .iter()
            .map(|region| SpeechRegion {
                start: region.start - self.offset,
                end: region.end - self.offset,
            })
            .collect()
    }

    /// The samples of one region.
    pub fn region_samples(&self, region: &SpeechRegion) -> &[f32] {
        let start = seconds_to_samples(region.start - self.offset).min(self.samples.len());
        let end = seconds_to_samples(region.end - self.offset).clamp(start, self.samples.len());
        &self.samples[start..end]
    }
}

/// What a read call ends with.
#[derive(Debug, Clone, PartialEq)]
pub struct CallAudioSummary {
    /// What the file is.
    pub info: AudioInfo,
    /// The layout used (after resolving the declared one against the file).
    pub layout: ChannelLayout,
    /// The tracks, as in the batches.
    pub tracks: Vec<Track>,
    /// Seconds of audio.
    pub duration: f64,
    /// Speech regions per track.
    pub regions: Vec<Vec<SpeechRegion>>,
    /// Gaps where no track has speech, at least `min_silence_seconds` long.
    pub silences: Vec<Silence>,
    /// Speaker features of the mono track's speech (empty for stereo).
    pub speaker_windows: Vec<SpeakerWindow>,
    /// Things the user should know (layout fixes, cut-off files).
    pub warnings: Vec<String>,
    /// The most 16 kHz samples held at once across tracks (memory check).
    pub peak_buffered_samples: usize,
}

struct TrackState {
    track: Track,
    vad: Vad,
    /// Samples from `buffer_start` (a 16 kHz sample index) on.
    buffer: Vec<f32>,
    buffer_start: usize,
    regions: Vec<SpeechRegion>,
}

/// Streams one recording; see the module docs.
pub struct CallReader {
    stream: AudioStream,
    options: AudioOptions,
    layout: ChannelLayout,
    tracks: Vec<TrackState>,
    first_chunk: Option<Vec<Vec<f32>>>,
    speaker_windows: Vec<SpeakerWindow>,
    warnings: Vec<String>,
    finished: bool,
    peak_buffered: usize,
}

/// Whether two channels carry the same signal (a mono call stored as stereo).
fn identical(left: &[f32], right: &[f32]) -> bool {
    let energy: f32 = left.iter().map(|value| value * value).sum();
    if energy <= 1e-6 {
        return false;
    }
    let difference: f32 = left.iter().zip(right).map(|(a, b)| (a - b) * (a - b)).sum();
    difference < energy * 1e-4
}

impl CallReader {
    /// Opens `path`; `declared` is the manifest's `channels` (None: by
    /// channel count).
    pub fn open(
        path: &Path,
        declared: Option<ChannelLayout>,
        options: &AudioOptions,
    ) -> Result<CallReader> {
        let mut stream = AudioStream::open(path)?;
        let chunk_frames = (options.chunk_seconds.max(1.0) * f64::from(SAMPLE_RATE)) as usize;
        let first_chunk = stream.read(chunk_frames)?;
        let channels = stream.info().channels;
        let mut warnings = Vec::new();
        let mixed = |role: Option<Role>| {
            vec![Track {
                role,
                source: TrackSource::Mix,
            }]
        };
        let (layout, tracks) = match (channels, declared) {
            (1, None | Some(ChannelLayout::Mono)) => (ChannelLayout::Mono, mixed(None)),
            (1, Some(_)) => {
                warnings.push(
                    "declared stereo but the file has 1 channel: treated as mono, speakers \
                     separated by their voices; fix the manifest's channels column"
                        .to_string(),
                );
                (ChannelLayout::Mono, mixed(None))
            }
            (2, Some(ChannelLayout::Mono)) => {
                warnings.push(
                    "declared mono but the file has 2 channels: mixed down and speakers \
                     separated by their voices; set channels to agent-left or agent-right in \
                     the manifest to use the channels"
                        .to_string(),
                );
                (ChannelLayout::Mono, mixed(None))
            }
            (2, declared) => {
                let layout = declared.unwrap_or(ChannelLayout::AgentLeft);
                let same = first_chunk
                    .as_ref()
                    .is_some_and(|chunk| identical(&chunk[0], &chunk[1]));
                if same {
                    warnings.push(
                        "both channels carry the same audio (a mono call stored as stereo): \
                         treated as mono, speakers separated by their voices"
                            .to_string(),
                    );
                    (ChannelLayout::Mono, mixed(None))
                } else {
                    let agent = if layout == ChannelLayout::AgentRight {
                        1
                    } else {
                        0
                    };
                    (
                        layout,
                        vec![
                            Track {
                                role: Some(Role::Agent),
                                source: TrackSource::Channel(agent),
                            },
                            Track {
                                role: Some(Role::Customer),
                                source: TrackSource::Channel(1 - agent),
                            },
                        ],
                    )
                }
            }
            (count, _) => {
                warnings.push(format!(
                    "the file has {count} channels: mixed down to one and speakers separated \
                     by their voices"
                ));
                (ChannelLayout::Mono, mixed(None))
            }
        };
        let tracks = tracks
            .into_iter()
            .map(|track| TrackState {
                track,
                vad: Vad::new(options.vad.clone()),
                buffer: Vec::new(),
                buffer_start: 0,
                regions: Vec::new(),
            })
            .collect();
        Ok(CallReader {
            stream,
            options: options.clone(),
            layout,
            tracks,
            first_chunk,
            speaker_windows: Vec::new(),
            warnings,
            finished: false,
            peak_buffered: 0,
        })
    }

    /// What the file is.
    pub fn info(&self) -> &AudioInfo {
        self.stream.info()
    }

    /// The layout used.
    pub fn layout(&self) -> ChannelLayout {
        self.layout
    }

    /// The tracks that batches refer to.
    pub fn tracks(&self) -> Vec<Track> {
        self.tracks.iter().map(|state| state.track).collect()
    }

    /// Seconds decoded so far (for progress).
    pub fn position_seconds(&self) -> f64 {
        self.stream.position_seconds()
    }

    /// Decodes the next chunk and returns the speech decided in it (possibly
    /// none); `None` once the recording is done.
    pub fn next_batches(&mut self) -> Result<Option<Vec<SpeechBatch>>> {
        if self.finished {
            return Ok(None);
        }
        let chunk_frames = (self.options.chunk_seconds.max(1.0) * f64::from(SAMPLE_RATE)) as usize;
        let chunk = match self.first_chunk.take() {
            Some(chunk) => Some(chunk),
            None => self.stream.read(chunk_frames)?,
        };
        let mut batches = Vec::new();
        match chunk {
            Some(chunk) => {
                for index in 0..self.tracks.len() {
                    let samples = match self.tracks[index].track.source {
                        TrackSource::Channel(channel) => chunk[channel].clone(),
                        TrackSource::Mix => super::downmix(&chunk),
                    };
                    let state = &mut self.tracks[index];
                    state.buffer.extend_from_slice(&samples);
                    let regions = state.vad.push(&samples);
                    self.batch(index, regions, &mut batches);
                }
            }
            None => {
                self.finished = true;
                self.warnings.extend(self.stream.warnings().iter().cloned());
                for index in 0..self.tracks.len() {
                    let regions = self.tracks[index].vad.finish();
                    self.batch(index, regions, &mut batches);
                }
            }
        }
        let held: usize = self.tracks.iter().map(|state| state.buffer.len()).sum();
        self.peak_buffered = self.peak_buffered.max(held + chunk_frames);
        Ok(Some(batches))
    }

    /// Turns a track's newly decided regions into a batch and drops the
    /// samples no later region can need.
    fn batch(&mut self, index: usize, regions: Vec<SpeechRegion>, batches: &mut Vec<SpeechBatch>) {
        let state = &mut self.tracks[index];
        if let (Some(first), Some(last)) = (regions.first(), regions.last()) {
            let start = seconds_to_samples(first.start).max(state.buffer_start);
            let end = seconds_to_samples(last.end).max(start);
            let from = start - state.buffer_start;
            let to = (end - state.buffer_start).min(state.buffer.len());
            let batch = SpeechBatch {
                track: index,
                role: state.track.role,
                offset: start as f64 / f64::from(SAMPLE_RATE),
                samples: state.buffer[from.min(to)..to].to_vec(),
                regions: regions.clone(),
            };
            if state.track.role.is_none() {
                for region in &regions {
                    self.speaker_windows.extend(diarize::speaker_windows(
                        batch.region_samples(region),
                        region.start,
                    ));
                }
            }
            state.regions.extend(regions);
            batches.push(batch);
        }
        let keep_from = seconds_to_samples(state.vad.earliest_open_seconds());
        if keep_from > state.buffer_start {
            let drop = (keep_from - state.buffer_start).min(state.buffer.len());
            state.buffer.drain(..drop);
            state.buffer_start += drop;
        }
    }

    /// Reads whatever is left and returns the call's summary.
    pub fn finish(mut self) -> Result<CallAudioSummary> {
        while self.next_batches()?.is_some() {}
        let duration = self.stream.position_seconds();
        let regions: Vec<Vec<SpeechRegion>> = self
            .tracks
            .iter()
            .map(|state| state.regions.clone())
            .collect();
        let silences = silences(&regions, duration, self.options.min_silence_seconds);
        Ok(CallAudioSummary {
            info: self.stream.info().clone(),
            layout: self.layout,
            tracks: self.tracks.iter().map(|state| state.track).collect(),
            duration,
            regions,
            silences,
            speaker_windows: self.speaker_windows,
            warnings: self.warnings,
            peak_buffered_samples: self.peak_buffered,
        })
    }
}

/// Reads a whole call: every batch, then the summary (for short files and
/// tests; a batch job should consume batches as they come).
pub fn read_call(
    path: &Path,
    declared: Option<ChannelLayout>,
    options: &AudioOptions,
) -> Result<(Vec<SpeechBatch>, CallAudioSummary)> {
    let mut reader = CallReader::open(path, declared, options)?;
    let mut batches = Vec::new();
    while let Some(more) = reader.next_batches()? {
        batches.extend(more);
    }
    Ok((batches, reader.finish()?))
}

/// The gaps of at least `min_seconds` in `0..duration` where no track has
/// speech.
pub fn silences(tracks: &[Vec<SpeechRegion>], duration: f64, min_seconds: f64) -> Vec<Silence> {
    let mut all: Vec<SpeechRegion> = tracks.iter().flatten().copied().collect();
    all.sort_by(|left, right| left.start.total_cmp(&right.start));
    let mut gaps = Vec::new();
    let mut covered_until = 0.0f64;
    for region in all {
        if region.start - covered_until >= min_seconds {
            gaps.push(Silence {
                start: covered_until,
                end: region.start,
            });
        }
        covered_until = covered_until.max(region.end);
    }
    if duration - covered_until >= min_seconds {
        gaps.push(Silence {
            start: covered_until,
            end: duration,
        });
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silences_are_gaps_of_all_tracks() {
        let region = |start, end| SpeechRegion { start, end };
        let agent = vec![region(0.5, 3.0), region(10.0, 12.0)];
        let customer = vec![region(2.5, 5.0), region(5.5, 6.0)];
        let gaps = silences(&[agent, customer], 20.0, 1.0);
        assert_eq!(
            gaps,
            vec![
                Silence {
                    start: 6.0,
                    end: 10.0
                },
                Silence {
                    start: 12.0,
                    end: 20.0
                }
            ]
        );
    }
}
