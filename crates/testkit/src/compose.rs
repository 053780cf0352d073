//! Building calls from recorded clips, for tests, measurements and the demo:
//! turns of two roles placed with chosen pauses and overlaps, on two
//! channels (agent and customer) or one, with line noise and hold music,
//! written as 16 kHz PCM, 8 kHz PCM or 8 kHz G.711 WAV. The ground truth
//! (where each clip's speech landed) comes back with the audio.

use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use callscope_audio::features::{self, FrameAnalyzer, HOP, WINDOW};
use callscope_audio::resample::resample;
use callscope_audio::wav::{WavOutput, WavWriter};
use callscope_audio::SAMPLE_RATE;
use callscope_core::error::Result;
use callscope_core::model::{Role, Segment, SpeechRegion};

/// A recorded utterance: 16 kHz mono samples and what is said.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// A name for the ground truth (e.g. the source file's stem).
    pub name: String,
    /// What is said.
    pub text: String,
    /// 16 kHz mono samples.
    pub samples: Vec<f32>,
}

impl Clip {
    /// Decodes `path` (any supported format), mixed to mono at 16 kHz.
    pub fn load(path: &Path, text: &str) -> Result<Clip> {
        let audio = callscope_audio::decode(path)?;
        Ok(Clip {
            name: path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text: text.to_string(),
            samples: audio.mixed(),
        })
    }

    /// Seconds of the clip.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / f64::from(SAMPLE_RATE)
    }

    /// Where the speech is inside the clip (seconds): from the first to the
    /// last frame within 35 dB of the loudest (clean clips only).
    pub fn speech_extent(&self) -> (f64, f64) {
        let mut analyzer = FrameAnalyzer::new();
        if self.samples.len() < WINDOW {
            return (0.0, self.duration());
        }
        let energies: Vec<f32> = (0..=(self.samples.len() - WINDOW) / HOP)
            .map(|index| {
                analyzer
                    .analyze(&self.samples[index * HOP..index * HOP + WINDOW], false)
                    .energy_db
            })
            .collect();
        let loudest = energies.iter().copied().fold(f32::MIN, f32::max);
        let threshold = (loudest - 35.0).max(-65.0);
        let first = energies.iter().position(|energy| *energy > threshold);
        let last = energies.iter().rposition(|energy| *energy > threshold);
        match (first, last) {
            (Some(first), Some(last)) => (
                features::frame_start_seconds(first as u64),
                features::frame_end_seconds(last as u64).min(self.duration()),
            ),
            _ => (0.0, 0.0),
        }
    }

    /// The clip played slower (`factor` < 1) or faster: pitch and formants
    /// scale by `factor`, so a voice sounds like another speaker's.
    pub fn with_voice_factor(&self, factor: f64) -> Result<Clip> {
        let target = ((f64::from(SAMPLE_RATE) / factor) / 100.0).round() as u32 * 100;
        Ok(Clip {
            name: self.name.clone(),
            text: self.text.clone(),
            samples: resample(&self.samples, SAMPLE_RATE, target)?,
        })
    }

    /// The clip scaled so that its speech has this RMS level (dBFS).
    pub fn at_level(&self, level_db: f32) -> Clip {
        let (start, end) = self.speech_extent();
        let from = callscope_audio::seconds_to_samples(start).min(self.samples.len());
        let to = callscope_audio::seconds_to_samples(end).clamp(from, self.samples.len());
        let speech = &self.samples[from..to];
        let rms = (speech.iter().map(|value| value * value).sum::<f32>()
            / speech.len().max(1) as f32)
            .sqrt()
            .max(1e-6);
        let gain = 10f32.powf(level_db / 20.0) / rms;
        Clip {
            name: self.name.clone(),
            text: self.text.clone(),
            samples: self.samples.iter().map(|value| value * gain).collect(),
        }
    }
}

/// How a composed call's channels are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallLayout {
    /// Agent on channel 0, customer on channel 1.
    AgentLeft,
    /// Agent on channel 1, customer on channel 0.
    AgentRight,
    /// Both on one channel.
    Mono,
}

/// One utterance of a composed call.
#[derive(Debug, Clone)]
pub struct Turn {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub clip: Clip,
    /// Seconds from the end of the speech so far to the start of this
    /// clip's speech; negative to overlap (interrupt).
    pub gap: f64,
}

/// Hold music on the agent's channel after a turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hold {
    /// Index of the turn after which the music plays.
    pub after_turn: usize,
    /// Seconds of music; the next turn's gap counts from its end.
    pub seconds: f64,
}

/// What to compose.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// Channels.
    pub layout: CallLayout,
    /// The utterances in order.
    pub turns: Vec<Turn>,
    /// Hold music.
    pub holds: Vec<Hold>,
    /// Seconds before the first speech.
    pub lead_in: f64,
    /// Seconds after the last speech.
    pub tail: f64,
    /// Line noise level (RMS dBFS) on every channel; `None` for none.
    pub noise_db: Option<f32>,
    /// Seed of the noise and music.
    pub seed: u64,
}

/// The index of the turn among `turns` that `start..end` (seconds)
/// overlaps most, of those `admit` lets in; none when it overlaps none.
pub fn most_overlapped(
    turns: &[PlacedTurn],
    start: f64,
    end: f64,
    admit: impl Fn(&PlacedTurn) -> bool,
) -> Option<usize> {
    let overlap = |turn: &PlacedTurn| turn.end.min(end) - turn.start.max(start);
    turns
        .iter()
        .enumerate()
        .filter(|(_, turn)| admit(turn) && overlap(turn) > 0.0)
        .max_by(|(_, left), (_, right)| overlap(left).total_cmp(&overlap(right)))
        .map(|(index, _)| index)
}

/// Where one clip's speech landed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacedTurn {
    /// Who said it.
    pub role: Role,
    /// Seconds in the call where its speech starts.
    pub start: f64,
    /// Seconds in the call where its speech ends.
    pub end: f64,
    /// What was said.
    pub text: String,
    /// The clip's name.
    pub clip: String,
}

/// A composed call: 16 kHz channels and the truth.
#[derive(Debug, Clone)]
pub struct ComposedCall {
    /// The layout.
    pub layout: CallLayout,
    /// One buffer per channel, 16 kHz.
    pub channels: Vec<Vec<f32>>,
    /// Every turn's speech placement, in turn order.
    pub truth: Vec<PlacedTurn>,
    /// Where hold music plays (seconds).
    pub holds: Vec<SpeechRegion>,
}

/// How to store a composed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// 16-bit PCM at 16 kHz.
    Pcm16k,
    /// 16-bit PCM at 8 kHz.
    Pcm8k,
    /// G.711 mu-law at 8 kHz.
    Mulaw8k,
    /// G.711 A-law at 8 kHz.
    Alaw8k,
}

impl ComposedCall {
    /// Seconds of audio.
    pub fn duration(&self) -> f64 {
        self.channels
            .first()
            .map_or(0.0, |channel| channel.len() as f64)
            / f64::from(SAMPLE_RATE)
    }

    /// The true speech regions of a role.
    pub fn regions(&self, role: Role) -> Vec<SpeechRegion> {
        self.truth
            .iter()
            .filter(|turn| turn.role == role)
            .map(|turn| SpeechRegion {
                start: turn.start,
                end: turn.end,
            })
            .collect()
    }

    /// Writes the call as a WAV file.
    pub fn write(&self, path: &Path, encoding: Encoding) -> Result<()> {
        write_wav(path, &self.channels, encoding)
    }

    /// How much of the recognized speech got the right role: each segment
    /// is judged by the placed turn it overlaps most (a segment over no
    /// turn counts as unmatched).
    pub fn role_agreement(&self, segments: &[Segment]) -> RoleAgreement {
        let mut agreement = RoleAgreement::default();
        for segment in segments {
            let length = (segment.end - segment.start).max(0.0);
            match most_overlapped(&self.truth, segment.start, segment.end, |_| true) {
                Some(index) => {
                    let turn = &self.truth[index];
                    agreement.matched_seconds += length;
                    if turn.role == segment.role {
                        agreement.right_seconds += length;
                    }
                }
                None => agreement.unmatched_seconds += length,
            }
        }
        agreement
    }
}

/// Recognized speech time by whether its role is right
/// ([`ComposedCall::role_agreement`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RoleAgreement {
    /// Seconds of segments over a placed turn.
    pub matched_seconds: f64,
    /// Of those, seconds whose role is the turn's.
    pub right_seconds: f64,
    /// Seconds of segments over no placed turn.
    pub unmatched_seconds: f64,
}

impl RoleAgreement {
    /// Adds another call's figures.
    pub fn add(&mut self, other: RoleAgreement) {
        self.matched_seconds += other.matched_seconds;
        self.right_seconds += other.right_seconds;
        self.unmatched_seconds += other.unmatched_seconds;
    }

    /// The share of matched seconds with the right role (0 when nothing
    /// matched).
    pub fn accuracy(&self) -> f64 {
        if self.matched_seconds > 0.0 {
            self.right_seconds / self.matched_seconds
        } else {
            0.0
        }
    }
}

/// Writes 16 kHz channels as a WAV file in `encoding`.
pub fn write_wav(path: &Path, channels: &[Vec<f32>], encoding: Encoding) -> Result<()> {
    write_repeated(path, channels, 1, encoding)
}

/// Writes 16 kHz channels `repeats` times over as one WAV file, streaming
/// (a long recording for memory tests costs one copy of `channels`).
pub fn write_repeated(
    path: &Path,
    channels: &[Vec<f32>],
    repeats: usize,
    encoding: Encoding,
) -> Result<()> {
    let (rate, output) = match encoding {
        Encoding::Pcm16k => (SAMPLE_RATE, WavOutput::Pcm16),
        Encoding::Pcm8k => (8000, WavOutput::Pcm16),
        Encoding::Mulaw8k => (8000, WavOutput::MuLaw),
        Encoding::Alaw8k => (8000, WavOutput::ALaw),
    };
    let converted: Vec<Vec<f32>> = if rate == SAMPLE_RATE {
        channels.to_vec()
    } else {
        channels
            .iter()
            .map(|channel| resample(channel, SAMPLE_RATE, rate))
            .collect::<Result<_>>()?
    };
    let mut writer = WavWriter::create(path, converted.len() as u16, rate, output)?;
    let slices: Vec<&[f32]> = converted.iter().map(Vec::as_slice).collect();
    for _ in 0..repeats {
        writer.write_planar(&slices)?;
    }
    writer.finish()
}

/// Band-limited line noise (hiss) at `level_db` RMS dBFS.
pub fn line_noise(count: usize, level_db: f32, seed: u64) -> Vec<f32> {
    let mut random = SmallRng::seed_from_u64(seed);
    let amplitude = 10f32.powf(level_db / 20.0) * 3f32.sqrt();
    let mut previous = 0.0f32;
    (0..count)
        .map(|_| {
            // Uniform white noise, gently low-passed like a phone line.
            let white = (random.random::<f32>() * 2.0 - 1.0) * amplitude;
            previous = 0.6 * white + 0.4 * previous;
            previous * 1.3
        })
        .collect()
}

/// Synthetic hold music: a looping melody of plucked harmonic notes over a
/// soft chord, at about -24 dBFS.
pub fn hold_music(seconds: f64, seed: u64) -> Vec<f32> {
    let count = (seconds * f64::from(SAMPLE_RATE)) as usize;
    let mut random = SmallRng::seed_from_u64(seed);
    let scale = [261.63f32, 293.66, 329.63, 392.0, 440.0, 523.25];
    let rate = SAMPLE_RATE as f32;
    let mut output = vec![0f32; count];
    let mut position = 0usize;
    while position < count {
        let note = scale[random.random_range(0..scale.len())];
        let length = (rate * [0.25f32, 0.5, 0.5, 0.75][random.random_range(0..4)]) as usize;
        for index in 0..length.min(count - position) {
            let time = index as f32 / rate;
            let envelope = (time * 200.0).min(1.0) * (-time * 3.0).exp();
            let value: f32 = (1..=6)
                .map(|harmonic| {
                    (std::f32::consts::TAU * note * harmonic as f32 * time).sin()
                        / (harmonic * harmonic) as f32
                })
                .sum();
            output[position + index] += value * envelope * 0.08;
        }
        position += length;
    }
    // The pad: a sustained major chord, changing every 2 s.
    let chords = [
        [130.81f32, 164.81, 196.0],
        [110.0, 130.81, 164.81],
        [98.0, 123.47, 146.83],
    ];
    for (index, sample) in output.iter_mut().enumerate() {
        let time = index as f32 / rate;
        let chord = chords[(time / 2.0) as usize % chords.len()];
        let pad: f32 = chord
            .iter()
            .map(|frequency| (std::f32::consts::TAU * frequency * time).sin())
            .sum();
        *sample += pad * 0.02;
    }
    output
}

/// Places the turns and renders the call.
pub fn compose(spec: &CallSpec) -> ComposedCall {
    let rate = f64::from(SAMPLE_RATE);
    let mut truth = Vec::new();
    let mut holds = Vec::new();
    let mut placements: Vec<(usize, Role, isize)> = Vec::new();
    let mut speech_end = spec.lead_in;
    let mut first = true;
    for (index, turn) in spec.turns.iter().enumerate() {
        let (extent_start, extent_end) = turn.clip.speech_extent();
        let start = if first {
            spec.lead_in
        } else {
            (speech_end + turn.gap).max(0.0)
        };
        first = false;
        let end = start + (extent_end - extent_start);
        truth.push(PlacedTurn {
            role: turn.role,
            start,
            end,
            text: turn.clip.text.clone(),
            clip: turn.clip.name.clone(),
        });
        let offset = ((start - extent_start) * rate).round() as isize;
        placements.push((index, turn.role, offset));
        speech_end = speech_end.max(end);
        for hold in spec.holds.iter().filter(|hold| hold.after_turn == index) {
            let hold_start = speech_end + 0.8;
            holds.push(SpeechRegion {
                start: hold_start,
                end: hold_start + hold.seconds,
            });
            speech_end = hold_start + hold.seconds;
        }
    }
    let total_seconds = speech_end + spec.tail;
    let length = (total_seconds * rate).ceil() as usize;
    let channel_count = if spec.layout == CallLayout::Mono {
        1
    } else {
        2
    };
    let mut channels = vec![vec![0f32; length]; channel_count];
    let channel_of = |role: Role| match (spec.layout, role) {
        (CallLayout::Mono, _) => 0,
        (CallLayout::AgentLeft, Role::Customer) | (CallLayout::AgentRight, Role::Agent) => 1,
        _ => 0,
    };
    // 20 ms fades at each clip's edges, so a clip cut off mid-noise or with
    // a DC offset does not click.
    let fade = (0.02 * rate) as usize;
    for (index, role, offset) in placements {
        let channel = &mut channels[channel_of(role)];
        let samples = &spec.turns[index].clip.samples;
        for (sample_index, value) in samples.iter().enumerate() {
            let at = offset + sample_index as isize;
            if at >= 0 && (at as usize) < length {
                let edge = sample_index.min(samples.len() - 1 - sample_index);
                let gain = if edge < fade {
                    edge as f32 / fade as f32
                } else {
                    1.0
                };
                channel[at as usize] += value * gain;
            }
        }
    }
    for (number, hold) in holds.iter().enumerate() {
        let music = hold_music(hold.end - hold.start, spec.seed.wrapping_add(number as u64));
        let start = (hold.start * rate) as usize;
        let channel = &mut channels[channel_of(Role::Agent)];
        for (index, value) in music.into_iter().enumerate() {
            if let Some(slot) = channel.get_mut(start + index) {
                *slot += value;
            }
        }
    }
    if let Some(level) = spec.noise_db {
        for (index, channel) in channels.iter_mut().enumerate() {
            let noise = line_noise(
                length,
                level,
                spec.seed.wrapping_mul(31).wrapping_add(index as u64),
            );
            for (sample, hiss) in channel.iter_mut().zip(noise) {
                *sample += hiss;
            }
        }
    }
    for channel in &mut channels {
        for sample in channel.iter_mut() {
            *sample = sample.clamp(-1.0, 1.0);
        }
    }
    ComposedCall {
        layout: spec.layout,
        channels,
        truth,
        holds,
    }
}

/// Loads a clip folder laid out like `shared/asr-dev` and
/// `shared/callcenter-tts`: `transcripts.tsv` (`id<TAB>text`) and
/// `wav/ID.wav`. Clips are sorted by id.
pub fn load_clip_folder(folder: &Path) -> Result<Vec<Clip>> {
    let listing = folder.join("transcripts.tsv");
    let text = std::fs::read_to_string(&listing)
        .map_err(|error| callscope_core::error::Error::io(&listing, error))?;
    let mut clips = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}');
        let Some((id, words)) = line.split_once('\t') else {
            continue;
        };
        let words = words.trim_start_matches('\u{feff}');
        let path = folder.join("wav").join(format!("{}.wav", id.trim()));
        clips.push(Clip::load(&path, words.trim())?);
    }
    clips.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(clips)
}

/// A plausible random call: 8-14 turns that mostly alternate, pauses of
/// 0.3-2.5 s with an occasional long silence (6-15 s) and interruption
/// (0.3-1.0 s of overlap), sometimes hold music, line noise at -55 to
/// -45 dBFS, the customer a few dB quieter than the agent. Deterministic
/// for a seed.
pub fn random_call_spec(
    agent: &[Clip],
    customer: &[Clip],
    layout: CallLayout,
    seed: u64,
) -> CallSpec {
    let mut random = SmallRng::seed_from_u64(seed);
    let turn_count = random.random_range(8..=14);
    let agent_level = -20.0 - random.random::<f32>() * 4.0;
    let customer_level = agent_level - 2.0 - random.random::<f32>() * 4.0;
    let mut turns = Vec::with_capacity(turn_count);
    let mut role = Role::Agent;
    for index in 0..turn_count {
        if index > 0 && random.random::<f32>() < 0.8 {
            role = role.other();
        }
        let (pool, level) = match role {
            Role::Agent => (agent, agent_level),
            _ => (customer, customer_level),
        };
        let clip = pool[random.random_range(0..pool.len())].at_level(level);
        let roll = random.random::<f32>();
        let gap = if index == 0 {
            0.0
        } else if roll < 0.08 && turns.last().is_some_and(|turn: &Turn| turn.role != role) {
            -(0.3 + random.random::<f64>() * 0.7)
        } else if roll < 0.18 {
            6.0 + random.random::<f64>() * 9.0
        } else {
            0.3 + random.random::<f64>() * 2.2
        };
        turns.push(Turn { role, clip, gap });
    }
    let holds = if random.random::<f32>() < 0.4 {
        vec![Hold {
            after_turn: random.random_range(1..turn_count - 1),
            seconds: 5.0 + random.random::<f64>() * 10.0,
        }]
    } else {
        Vec::new()
    };
    CallSpec {
        layout,
        turns,
        holds,
        lead_in: 0.3 + random.random::<f64>() * 2.0,
        tail: 0.5 + random.random::<f64>() * 2.0,
        noise_db: Some(-55.0 + random.random::<f32>() * 10.0),
        seed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_clip(name: &str, seconds: f64, silence: f64) -> Clip {
        let rate = f64::from(SAMPLE_RATE);
        let mut samples = vec![0f32; (silence * rate) as usize];
        samples.extend(
            (0..(seconds * rate) as usize).map(|index| {
                (std::f64::consts::TAU * 500.0 * index as f64 / rate).sin() as f32 * 0.3
            }),
        );
        samples.extend(vec![0f32; (silence * rate) as usize]);
        Clip {
            name: name.to_string(),
            text: name.to_string(),
            samples,
        }
    }

    #[test]
    fn turns_land_where_placed() {
        let spec = CallSpec {
            layout: CallLayout::AgentLeft,
            turns: vec![
                Turn {
                    role: Role::Agent,
                    clip: tone_clip("a", 2.0, 0.5),
                    gap: 0.0,
                },
                Turn {
                    role: Role::Customer,
                    clip: tone_clip("c", 1.0, 0.3),
                    gap: 1.5,
                },
                Turn {
                    role: Role::Agent,
                    clip: tone_clip("a2", 1.0, 0.3),
                    gap: -0.4,
                },
            ],
            holds: vec![Hold {
                after_turn: 2,
                seconds: 3.0,
            }],
            lead_in: 1.0,
            tail: 2.0,
            noise_db: None,
            seed: 1,
        };
        let call = compose(&spec);
        let near = |a: f64, b: f64| (a - b).abs() < 0.06;
        assert!(
            near(call.truth[0].start, 1.0) && near(call.truth[0].end, 3.0),
            "{:?}",
            call.truth
        );
        assert!(
            near(call.truth[1].start, 4.5) && near(call.truth[1].end, 5.5),
            "{:?}",
            call.truth
        );
        assert!(near(call.truth[2].start, 5.1) && near(call.truth[2].end, 6.1));
        assert_eq!(call.holds.len(), 1);
        assert!(near(call.holds[0].start, call.truth[2].end + 0.8));
        assert!(near(call.duration(), call.holds[0].end + 2.0));
        // The customer's tone is on channel 1 only.
        let energy = |channel: usize, from: f64, to: f64| {
            call.channels[channel][(from * 16000.0) as usize..(to * 16000.0) as usize]
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
        };
        assert!(energy(1, 4.6, 5.4) > 100.0 && energy(0, 4.6, 5.0) < 1e-6);
    }

    #[test]
    fn role_agreement_judges_segments_by_the_turn_they_overlap_most() {
        let placed = |role, start, end| PlacedTurn {
            role,
            start,
            end,
            text: String::new(),
            clip: String::new(),
        };
        let call = ComposedCall {
            layout: CallLayout::Mono,
            channels: vec![vec![0.0; 16_000 * 10]],
            truth: vec![
                placed(Role::Agent, 0.0, 3.0),
                placed(Role::Customer, 3.5, 6.0),
            ],
            holds: Vec::new(),
        };
        let segment = |role, start, end| Segment {
            start,
            end,
            role,
            text: String::new(),
            confidence: None,
            role_confidence: None,
        };
        let agreement = call.role_agreement(&[
            // Right.
            segment(Role::Agent, 0.1, 2.9),
            // Mostly over the customer's turn, labeled agent: wrong.
            segment(Role::Agent, 2.5, 5.5),
            // Over nothing.
            segment(Role::Customer, 7.0, 8.0),
            // Unknown role over the customer's turn: wrong.
            segment(Role::Unknown, 5.6, 6.0),
        ]);
        let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(
            near(agreement.matched_seconds, 2.8 + 3.0 + 0.4),
            "{agreement:?}"
        );
        assert!(near(agreement.right_seconds, 2.8), "{agreement:?}");
        assert!(near(agreement.unmatched_seconds, 1.0), "{agreement:?}");
        assert!(near(agreement.accuracy(), 2.8 / 6.2));
        assert_eq!(RoleAgreement::default().accuracy(), 0.0);
    }
}
