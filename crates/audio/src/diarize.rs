//! Two speakers on one channel: describe each stretch of speech by its
//! voice, cluster the stretches into two speakers, and decide which speaker
//! is the agent from what they say.
//!
//! 1. [`speaker_windows`]: each speech region is cut into windows of about
//!    1.5 s; a window is described by the mean and spread of its MFCCs
//!    (c1..c12 over 200-3600 Hz, so 8 kHz and 16 kHz audio agree) and its
//!    median log pitch, over its speech frames.
//! 2. [`cluster_speakers`]: features are standardized over the call and
//!    clustered into two by spherical k-means (cosine) from several
//!    deterministic starts; a lone window between two of the other speaker
//!    in the same region is flipped, and a region that mostly agrees takes
//!    its majority except for runs of two or more windows of the other
//!    speaker (a turn in a quick exchange); each window gets a confidence
//!    from its margin between the two centroids. A call whose clusters do
//!    not separate (silhouette below 0.08) is one speaker.
//! 3. [`speaker_turns`] merges windows into turns; [`label_segments`] gives
//!    each recognized segment the speaker that covers most of it.
//! 4. [`assign_roles`]: the agent is the speaker who says the call-center
//!    script (您好, 很高兴为您服务, 请问有什么可以帮您, 工号, 感谢您的来电, ...)
//!    and not the customer's words (你们, the shipped `complaint` and
//!    `negative_emotion` lexicons); with no cue words at all, the speaker who
//!    talks first. Each segment's role confidence combines the speaker
//!    confidence and the decision's.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::features::{FrameAnalyzer, HOP, MFCC, WINDOW};
use super::SAMPLE_RATE;
use callscope_core::lexicon;
use callscope_core::model::{AsrSegment, Role, Segment, SpeechRegion};
use callscope_core::text::Normalizer;

/// Seconds per speaker window (regions are cut into windows of about this).
const WINDOW_SECONDS: f64 = 1.5;
/// Share of a region's windows that makes the whole region one speaker's.
const MAJORITY: f32 = 0.6;
/// Consecutive windows of the other speaker inside a region that stay a
/// turn of their own against the region's majority.
const MIN_TURN_WINDOWS: usize = 2;
/// Fewest windows (about 1.5 s each) the less heard speaker must fill for
/// a recording to count as two speakers. One or two windows of a
/// "second voice" are as often one speaker's change of tone (a short
/// clip's last words), and splitting there cuts a sentence in two for
/// recognition: on 400 single-speaker clips (asr-dev + asr-dev-more) a
/// bound of 1 split 48 of them, whose CER was 24.3% against 18.7% on the
/// rest (docs/benchmarks.md, "VAD").
const MIN_SPEAKER_WINDOWS: usize = 3;
/// Feature dimensions: MFCC means, MFCC spreads, log pitch.
pub const FEATURES: usize = 2 * MFCC + 1;

/// The voice of about 1.5 s of speech.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpeakerWindow {
    /// Seconds in the recording.
    pub start: f64,
    /// Seconds in the recording.
    pub end: f64,
    /// Speech frames the features come from.
    pub frames: usize,
    /// MFCC means, MFCC standard deviations, median log pitch (NaN if
    /// unvoiced).
    pub features: Vec<f32>,
}

struct FrameFeatures {
    energy_db: f32,
    mfcc: [f32; MFCC],
    pitch_hz: f32,
}

/// Describes the speech in `samples` (16 kHz, starting at `start` seconds of
/// the recording) as windows of about 1.5 s.
pub fn speaker_windows(samples: &[f32], start: f64) -> Vec<SpeakerWindow> {
    if samples.len() < WINDOW {
        return Vec::new();
    }
    let mut analyzer = FrameAnalyzer::new();
    let frames: Vec<FrameFeatures> = (0..=(samples.len() - WINDOW) / HOP)
        .map(|index| {
            let frame = analyzer.analyze(&samples[index * HOP..index * HOP + WINDOW], true);
            FrameFeatures {
                energy_db: frame.energy_db,
                mfcc: analyzer.mfcc(),
                pitch_hz: if frame.periodicity > 0.5 {
                    frame.pitch_hz
                } else {
                    0.0
                },
            }
        })
        .collect();
    let loudest = frames
        .iter()
        .map(|frame| frame.energy_db)
        .fold(f32::MIN, f32::max);
    let frames_per_second = f64::from(SAMPLE_RATE) / HOP as f64;
    let seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
    let count = ((seconds / WINDOW_SECONDS).round() as usize).max(1);
    let per_window = frames.len().div_ceil(count);
    frames
        .chunks(per_window.max(1))
        .enumerate()
        .filter_map(|(index, chunk)| {
            let speech: Vec<&FrameFeatures> = chunk
                .iter()
                .filter(|frame| frame.energy_db > loudest - 30.0 && frame.energy_db > -60.0)
                .collect();
            if speech.len() < 10 {
                return None;
            }
            let mut features = vec![0f32; FEATURES];
            for frame in &speech {
                for (slot, value) in features.iter_mut().zip(&frame.mfcc) {
                    *slot += value / speech.len() as f32;
                }
            }
            for frame in &speech {
                for coefficient in 0..MFCC {
                    let deviation = frame.mfcc[coefficient] - features[coefficient];
                    features[MFCC + coefficient] += deviation * deviation / speech.len() as f32;
                }
            }
            for coefficient in 0..MFCC {
                features[MFCC + coefficient] = features[MFCC + coefficient].sqrt();
            }
            let mut pitches: Vec<f32> = speech
                .iter()
                .filter(|frame| frame.pitch_hz > 0.0)
                .map(|frame| frame.pitch_hz.ln())
                .collect();
            pitches.sort_by(f32::total_cmp);
            features[2 * MFCC] = if pitches.len() >= 5 {
                pitches[pitches.len() / 2]
            } else {
                f32::NAN
            };
            let first = index * per_window;
            Some(SpeakerWindow {
                start: start + first as f64 / frames_per_second,
                end: (start
                    + (first + chunk.len()) as f64 / frames_per_second
                    + (WINDOW - HOP) as f64 / f64::from(SAMPLE_RATE))
                .min(start + seconds),
                frames: speech.len(),
                features,
            })
        })
        .collect()
}

/// The two-speaker clustering of a call's windows.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerClusters {
    /// Speaker 0 or 1 per window (0 is whoever speaks first).
    pub labels: Vec<usize>,
    /// Confidence in 0.5..1 that each window's label is right.
    pub confidences: Vec<f64>,
    /// Mean silhouette (cosine) of the clustering, -1..1.
    pub silhouette: f64,
    /// Whether two speakers were found (else every label is 0).
    pub two_speakers: bool,
}

/// Relative weights of the feature groups after standardization.
fn group_weight(dimension: usize) -> f32 {
    if dimension < MFCC {
        1.0
    } else if dimension < 2 * MFCC {
        0.5
    } else {
        2.0
    }
}

fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    if norm > 1e-9 {
        for value in vector.iter_mut() {
            *value /= norm;
        }
    }
}

fn dot(left: &[f32], right: &[f32]) -> f32 {
    left.iter().zip(right).map(|(a, b)| a * b).sum()
}

/// Standardized, weighted, unit-length feature vectors.
fn prepare(windows: &[SpeakerWindow]) -> Vec<Vec<f32>> {
    let count = windows.len();
    let mut matrix: Vec<Vec<f32>> = windows
        .iter()
        .map(|window| window.features.clone())
        .collect();
    for dimension in 0..FEATURES {
        let values: Vec<f32> = matrix
            .iter()
            .map(|row| row[dimension])
            .filter(|value| value.is_finite())
            .collect();
        let mean = if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f32>() / values.len() as f32
        };
        let variance = if values.len() > 1 {
            values
                .iter()
                .map(|value| (value - mean).powi(2))
                .sum::<f32>()
                / values.len() as f32
        } else {
            0.0
        };
        let deviation = variance.sqrt().max(1e-6);
        for row in matrix.iter_mut().take(count) {
            let value = row[dimension];
            row[dimension] = if value.is_finite() {
                (value - mean) / deviation * group_weight(dimension)
            } else {
                0.0
            };
        }
    }
    for row in &mut matrix {
        normalize(row);
    }
    matrix
}

/// Spherical k-means with k = 2 from one start; returns labels and the sum
/// of similarities to the own centroid.
fn two_means(
    points: &[Vec<f32>],
    weights: &[f32],
    first: usize,
    second: usize,
) -> (Vec<usize>, f32, [Vec<f32>; 2]) {
    let mut centroids = [points[first].clone(), points[second].clone()];
    let mut labels = vec![0usize; points.len()];
    for _ in 0..50 {
        let mut changed = false;
        for (label, point) in labels.iter_mut().zip(points) {
            let best = usize::from(dot(point, &centroids[1]) > dot(point, &centroids[0]));
            if best != *label {
                *label = best;
                changed = true;
            }
        }
        let mut sums = [vec![0f32; FEATURES], vec![0f32; FEATURES]];
        for ((point, label), weight) in points.iter().zip(&labels).zip(weights) {
            for (slot, value) in sums[*label].iter_mut().zip(point) {
                *slot += value * weight;
            }
        }
        for (centroid, mut sum) in centroids.iter_mut().zip(sums) {
            if sum.iter().any(|value| *value != 0.0) {
                normalize(&mut sum);
                *centroid = sum;
            }
        }
        if !changed {
            break;
        }
    }
    let score = points
        .iter()
        .zip(&labels)
        .zip(weights)
        .map(|((point, label), weight)| dot(point, &centroids[*label]) * weight)
        .sum();
    (labels, score, centroids)
}

/// Mean silhouette with cosine distance (on at most 800 windows).
fn silhouette(points: &[Vec<f32>], labels: &[usize]) -> f64 {
    let step = points.len().div_ceil(800).max(1);
    let sample: Vec<usize> = (0..points.len()).step_by(step).collect();
    let mut total = 0.0;
    let mut counted = 0;
    for &index in &sample {
        let mut sums = [0.0f64; 2];
        let mut counts = [0usize; 2];
        for &other in &sample {
            if other == index {
                continue;
            }
            sums[labels[other]] += f64::from(1.0 - dot(&points[index], &points[other]));
            counts[labels[other]] += 1;
        }
        let own = labels[index];
        if counts[own] == 0 || counts[1 - own] == 0 {
            continue;
        }
        let inside = sums[own] / counts[own] as f64;
        let outside = sums[1 - own] / counts[1 - own] as f64;
        total += (outside - inside) / inside.max(outside).max(1e-9);
        counted += 1;
    }
    if counted == 0 {
        0.0
    } else {
        total / f64::from(counted)
    }
}

/// Clusters a call's windows into two speakers.
pub fn cluster_speakers(windows: &[SpeakerWindow]) -> SpeakerClusters {
    let count = windows.len();
    let one_speaker = |silhouette| SpeakerClusters {
        labels: vec![0; count],
        confidences: vec![0.5; count],
        silhouette,
        two_speakers: false,
    };
    if count < 3 {
        return one_speaker(0.0);
    }
    let points = prepare(windows);
    let weights: Vec<f32> = windows
        .iter()
        .map(|window| (window.frames as f32).sqrt())
        .collect();
    // Starts: ten evenly spaced windows, each with the window least like it.
    let mut best: Option<(Vec<usize>, f32, [Vec<f32>; 2])> = None;
    for start in 0..10.min(count) {
        let first = start * count / 10.min(count);
        let second = (0..count)
            .min_by(|&left, &right| {
                dot(&points[first], &points[left]).total_cmp(&dot(&points[first], &points[right]))
            })
            .unwrap_or(0);
        if second == first {
            continue;
        }
        let result = two_means(&points, &weights, first, second);
        if best.as_ref().is_none_or(|current| result.1 > current.1) {
            best = Some(result);
        }
    }
    let Some((mut labels, _, centroids)) = best else {
        return one_speaker(0.0);
    };
    // A lone window between two windows of the other speaker in the same
    // region is a slip unless its margin is clear.
    let margins: Vec<f32> = points
        .iter()
        .zip(&labels)
        .map(|(point, label)| dot(point, &centroids[*label]) - dot(point, &centroids[1 - label]))
        .collect();
    let mut sorted = margins.clone();
    sorted.sort_by(f32::total_cmp);
    let typical = sorted[sorted.len() / 2].max(1e-3);
    for index in 1..count.saturating_sub(1) {
        let contiguous = |left: usize, right: usize| windows[right].start - windows[left].end < 0.1;
        if labels[index - 1] == labels[index + 1]
            && labels[index] != labels[index - 1]
            && contiguous(index - 1, index)
            && contiguous(index, index + 1)
            && margins[index] < typical
        {
            labels[index] = labels[index - 1];
        }
    }
    // Windows of one region (contiguous) that mostly agree take the
    // majority label; a region split more evenly keeps its windows' labels
    // (two speakers without a pause between them), and so does a run of
    // MIN_TURN_WINDOWS or more minority windows (a turn of its own).
    let mut run_start = 0;
    while run_start < count {
        let mut run_end = run_start + 1;
        while run_end < count && windows[run_end].start - windows[run_end - 1].end < 0.1 {
            run_end += 1;
        }
        let mut votes = [0.0f32; 2];
        for index in run_start..run_end {
            votes[labels[index]] += weights[index];
        }
        let majority = usize::from(votes[1] > votes[0]);
        if votes[majority] >= MAJORITY * (votes[0] + votes[1]) {
            let mut index = run_start;
            while index < run_end {
                let mut next = index + 1;
                while next < run_end && labels[next] == labels[index] {
                    next += 1;
                }
                if labels[index] != majority && next - index < MIN_TURN_WINDOWS {
                    for label in &mut labels[index..next] {
                        *label = majority;
                    }
                }
                index = next;
            }
        }
        run_start = run_end;
    }
    let silhouette = silhouette(&points, &labels);
    let minority = labels
        .iter()
        .filter(|label| **label == 1)
        .count()
        .min(labels.iter().filter(|label| **label == 0).count());
    if silhouette < 0.08 || minority < MIN_SPEAKER_WINDOWS {
        return one_speaker(silhouette);
    }
    // Speaker 0 is whoever speaks first.
    if labels[0] == 1 {
        for label in &mut labels {
            *label = 1 - *label;
        }
    }
    let centroids = [
        centroid_of(&points, &labels, 0),
        centroid_of(&points, &labels, 1),
    ];
    let confidences = points
        .iter()
        .zip(&labels)
        .map(|(point, label)| {
            let margin =
                (dot(point, &centroids[*label]) - dot(point, &centroids[1 - label])).max(0.0);
            1.0 - 0.5 * (-f64::from(margin) / f64::from(typical)).exp()
        })
        .collect();
    SpeakerClusters {
        labels,
        confidences,
        silhouette,
        two_speakers: true,
    }
}

/// The unit-length mean of the points labeled `label`.
fn centroid_of(points: &[Vec<f32>], labels: &[usize], label: usize) -> Vec<f32> {
    let mut sum = vec![0f32; FEATURES];
    for (point, own) in points.iter().zip(labels) {
        if *own == label {
            for (slot, value) in sum.iter_mut().zip(point) {
                *slot += value;
            }
        }
    }
    normalize(&mut sum);
    sum
}

/// A stretch of one speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerTurn {
    /// Seconds in the recording.
    pub start: f64,
    /// Seconds in the recording.
    pub end: f64,
    /// Speaker 0 or 1.
    pub speaker: usize,
    /// Confidence in 0.5..1.
    pub confidence: f64,
}

/// Merges consecutive windows of the same speaker into turns.
pub fn speaker_turns(windows: &[SpeakerWindow], clusters: &SpeakerClusters) -> Vec<SpeakerTurn> {
    let mut turns: Vec<SpeakerTurn> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    for ((window, label), confidence) in windows
        .iter()
        .zip(&clusters.labels)
        .zip(&clusters.confidences)
    {
        let weight = window.end - window.start;
        if let Some(turn) = turns.last_mut() {
            if turn.speaker == *label && window.start - turn.end < 0.1 {
                let total = weights.last().copied().unwrap_or(0.0);
                turn.confidence =
                    (turn.confidence * total + confidence * weight) / (total + weight);
                turn.end = window.end;
                if let Some(last) = weights.last_mut() {
                    *last += weight;
                }
                continue;
            }
        }
        turns.push(SpeakerTurn {
            start: window.start,
            end: window.end,
            speaker: *label,
            confidence: *confidence,
        });
        weights.push(weight);
    }
    turns
}

/// How much of a stretch each speaker's turns cover.
struct Coverage {
    /// Seconds per speaker.
    seconds: [f64; 2],
    /// Seconds per speaker weighted by the turns' confidence.
    weighted: [f64; 2],
}

fn coverage(turns: &[SpeakerTurn], start: f64, end: f64) -> Coverage {
    let mut coverage = Coverage {
        seconds: [0.0; 2],
        weighted: [0.0; 2],
    };
    for turn in turns {
        let shared = end.min(turn.end) - start.max(turn.start);
        if shared > 0.0 {
            coverage.seconds[turn.speaker] += shared;
            coverage.weighted[turn.speaker] += shared * turn.confidence;
        }
    }
    coverage
}

/// The speaker covering more of the seconds, if any are covered.
fn covering(seconds: &[f64; 2]) -> Option<usize> {
    (seconds[0] + seconds[1] > 0.0).then(|| usize::from(seconds[1] > seconds[0]))
}

/// The speaker whose turns cover most of `start..end` (seconds in the
/// recording), if any turn touches it.
pub fn covering_speaker(turns: &[SpeakerTurn], start: f64, end: f64) -> Option<usize> {
    covering(&coverage(turns, start, end).seconds)
}

/// The speaker and speaker confidence of each recognized segment: the
/// speaker whose turns cover most of it (times compared in the recording's
/// timeline); a segment no turn touches gets the nearest turn's speaker at
/// confidence 0.5.
pub fn label_segments(turns: &[SpeakerTurn], segments: &[AsrSegment]) -> Vec<(usize, f64)> {
    segments
        .iter()
        .map(|segment| {
            let Coverage {
                seconds: overlap,
                weighted: confidence,
            } = coverage(turns, segment.start, segment.end);
            let Some(speaker) = covering(&overlap) else {
                let middle = (segment.start + segment.end) / 2.0;
                let nearest = turns.iter().min_by(|left, right| {
                    let distance =
                        |turn: &&SpeakerTurn| (middle - (turn.start + turn.end) / 2.0).abs();
                    distance(left).total_cmp(&distance(right))
                });
                return (nearest.map_or(0, |turn| turn.speaker), 0.5);
            };
            let share = overlap[speaker] / (overlap[0] + overlap[1]);
            let mean_confidence = confidence[speaker] / overlap[speaker];
            // Right if the covering speaker is right and dominates.
            (
                speaker,
                (0.5 + (mean_confidence - 0.5) * (2.0 * share - 1.0)).max(0.5),
            )
        })
        .collect()
}

/// A recognized segment with its speaker, for [`assign_roles`].
#[derive(Debug, Clone, PartialEq)]
pub struct RoleInput {
    /// Speaker 0 or 1 (from clustering).
    pub speaker: usize,
    /// Confidence in 0.5..1 that `speaker` is right.
    pub speaker_confidence: f64,
    /// Seconds in the recording (the first speaker to talk is the fallback
    /// agent).
    pub start: f64,
    /// Recognized text.
    pub text: String,
}

/// The roles of a mono call's segments.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    /// Role per input segment.
    pub roles: Vec<Role>,
    /// Confidence per segment that its role is right, 0.5..1.
    pub confidences: Vec<f64>,
    /// The speaker found to be the agent.
    pub agent_speaker: usize,
    /// Script score per speaker (agent phrases minus customer phrases).
    pub scores: [f64; 2],
    /// Confidence of the agent decision alone, 0.5..1.
    pub decision_confidence: f64,
}

/// Phrases agents say (normalized: simplified, no punctuation), with weights.
const AGENT_PHRASES: &[(&str, f64)] = &[
    ("很高兴为您服务", 3.0),
    ("有什么可以帮您", 3.0),
    ("有什么可以帮你", 2.0),
    ("欢迎致电", 3.0),
    ("感谢您的来电", 3.0),
    ("感谢来电", 3.0),
    ("祝您生活愉快", 3.0),
    ("还有其他可以帮您", 3.0),
    ("还有什么可以帮您", 3.0),
    ("还有其他问题吗", 2.0),
    ("工号", 2.0),
    ("我是客服", 3.0),
    ("客服中心", 1.5),
    ("为您服务", 2.0),
    ("给您带来", 2.0),
    ("请您稍等", 2.0),
    ("耐心等待", 2.0),
    ("帮您查询", 2.0),
    ("帮您申请", 2.0),
    ("帮您处理", 2.0),
    ("为了保障您的", 2.0),
    ("核实", 1.5),
    ("满意度", 1.5),
    ("您反映的", 2.0),
    ("您好", 1.0),
    ("抱歉", 1.0),
    ("不好意思", 0.5),
    ("请问", 0.5),
];

/// Phrases customers say (complaints and anger come from the shipped
/// lexicons, see [`complaint_matcher`]).
const CUSTOMER_PHRASES: &[(&str, f64)] = &[
    // Customers address the company as 你们; agents speak for it (我们)
    // and say 您.
    ("你们", 1.0),
    ("我的订单", 1.0),
    ("我的快递", 1.0),
    ("我的手机号", 1.0),
    ("怎么回事", 1.0),
    ("为什么", 0.5),
    ("麻烦你", 1.0),
    ("谢谢你", 0.5),
];

/// Weight of each complaint or angry phrase.
const COMPLAINT_WEIGHT: f64 = 1.0;
/// The most complaint phrases that count in one segment (one outburst
/// should not outweigh a whole script).
const MAX_COMPLAINTS_PER_SEGMENT: usize = 3;

/// Complaints and anger are the customer's side of a call: the shipped
/// `complaint` and `negative_emotion` lexicons (the word lists QA rules use
/// on the customer's side) as one matcher of leftmost-longest phrases.
fn complaint_matcher() -> &'static AhoCorasick {
    static MATCHER: OnceLock<AhoCorasick> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let normalizer = Normalizer::shared();
        let words: Vec<String> = ["complaint", "negative_emotion"]
            .into_iter()
            .filter_map(|name| lexicon::shipped(name).map(|text| (name, text)))
            .flat_map(|(name, text)| lexicon::parse(name, text, &normalizer).words)
            .collect();
        AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(words)
            .expect("the shipped lexicons build a matcher")
    })
}

/// How much a text sounds like the agent's script (positive) or the
/// customer's (negative).
pub fn script_score(text: &str) -> f64 {
    let normalized = Normalizer::shared().normalize_str(text);
    let count = |phrase: &str| normalized.matches(phrase).count() as f64;
    let agent: f64 = AGENT_PHRASES
        .iter()
        .map(|(phrase, weight)| count(phrase) * weight)
        .sum();
    let customer: f64 = CUSTOMER_PHRASES
        .iter()
        .map(|(phrase, weight)| count(phrase) * weight)
        .sum();
    let complaints = complaint_matcher()
        .find_iter(&normalized)
        .count()
        .min(MAX_COMPLAINTS_PER_SEGMENT) as f64
        * COMPLAINT_WEIGHT;
    // Agents say 您, customers 你: a weak cue by itself.
    let polite = (count("您") * 0.3).min(1.5);
    agent + polite - customer - complaints
}

/// The roles of a mono call's recognized segments: each segment gets the
/// speaker whose turns cover most of it ([`label_segments`]), then the
/// agent is decided from what each speaker says ([`assign_roles`]).
pub fn assign_segment_roles(turns: &[SpeakerTurn], segments: &[AsrSegment]) -> RoleAssignment {
    let labels = label_segments(turns, segments);
    let inputs: Vec<RoleInput> = segments
        .iter()
        .zip(&labels)
        .map(|(segment, (speaker, confidence))| RoleInput {
            speaker: *speaker,
            speaker_confidence: *confidence,
            start: segment.start,
            text: segment.text.clone(),
        })
        .collect();
    assign_roles(&inputs)
}

/// Decides which speaker is the agent from what each says, and gives every
/// segment its role and role confidence.
pub fn assign_roles(inputs: &[RoleInput]) -> RoleAssignment {
    let mut scores = [0.0f64; 2];
    let mut first_start = [f64::INFINITY; 2];
    for input in inputs {
        let speaker = input.speaker.min(1);
        // A segment counts for its speaker as far as the speaker is sure.
        let weight = 2.0 * input.speaker_confidence.clamp(0.5, 1.0) - 1.0;
        scores[speaker] += script_score(&input.text) * weight.max(0.1);
        first_start[speaker] = first_start[speaker].min(input.start);
    }
    let difference = scores[0] - scores[1];
    let (agent_speaker, decision_confidence) = if difference.abs() > 1e-9 {
        (
            usize::from(difference < 0.0),
            1.0 / (1.0 + (-difference.abs()).exp()),
        )
    } else {
        // No script words: the first to talk greets.
        (usize::from(first_start[1] < first_start[0]), 0.55)
    };
    let mut roles = Vec::with_capacity(inputs.len());
    let mut confidences = Vec::with_capacity(inputs.len());
    for input in inputs {
        let role = if input.speaker.min(1) == agent_speaker {
            Role::Agent
        } else {
            Role::Customer
        };
        let speaker = input.speaker_confidence.clamp(0.5, 1.0);
        // Right when both are right or both are wrong.
        let confidence =
            speaker * decision_confidence + (1.0 - speaker) * (1.0 - decision_confidence);
        roles.push(role);
        confidences.push(confidence.max(0.5));
    }
    RoleAssignment {
        roles,
        confidences,
        agent_speaker,
        scores,
        decision_confidence,
    }
}

/// Shortest piece a region is cut into at a speaker change; shorter pieces
/// stay with their neighbour.
const MIN_TURN_PIECE: f64 = 0.4;

/// Two regions of different speakers at most this far apart (seconds)
/// are made to touch at the midpoint of the pause between them.
const MAX_JOINED_PAUSE: f64 = 1.0;

/// Cuts speech regions where the speaker changes, so that each piece is
/// one speaker's (recognized, and given a role, on its own). Where the
/// speaker changes across a short pause (under a second; quick exchanges),
/// the two sides are extended to touch at the pause's midpoint: recognition
/// keeps touching regions apart, while it would merge the close ones into
/// one piece of speech and one segment could then span both speakers.
pub fn split_at_turns(regions: &[SpeechRegion], turns: &[SpeakerTurn]) -> Vec<SpeechRegion> {
    let mut pieces = cut_at_turns(regions, turns);
    let speaker_of = |piece: &SpeechRegion| covering_speaker(turns, piece.start, piece.end);
    for index in 1..pieces.len() {
        let (before, after) = (pieces[index - 1], pieces[index]);
        let pause = after.start - before.end;
        if pause > 0.0
            && pause <= MAX_JOINED_PAUSE
            && speaker_of(&before)
                .zip(speaker_of(&after))
                .is_some_and(|(a, b)| a != b)
        {
            let middle = (before.end + after.start) / 2.0;
            pieces[index - 1].end = middle;
            pieces[index].start = middle;
        }
    }
    pieces
}

/// [`split_at_turns`]'s cuts inside regions.
fn cut_at_turns(regions: &[SpeechRegion], turns: &[SpeakerTurn]) -> Vec<SpeechRegion> {
    let mut pieces = Vec::with_capacity(regions.len());
    for region in regions {
        let mut cuts: Vec<f64> = Vec::new();
        for pair in turns.windows(2) {
            if pair[0].speaker == pair[1].speaker {
                continue;
            }
            let cut = (pair[0].end + pair[1].start) / 2.0;
            if cut - region.start >= MIN_TURN_PIECE
                && region.end - cut >= MIN_TURN_PIECE
                && cuts.last().is_none_or(|last| cut - last >= MIN_TURN_PIECE)
            {
                cuts.push(cut);
            }
        }
        let mut start = region.start;
        for cut in cuts {
            pieces.push(SpeechRegion { start, end: cut });
            start = cut;
        }
        pieces.push(SpeechRegion {
            start,
            end: region.end,
        });
    }
    pieces
}

/// Mono recordings: clusters the speech into two speakers, decides which
/// one is the agent (the one saying the greeting and script phrases) and
/// turns the recognized pieces into segments with roles and confidences.
pub fn label_mono_segments(windows: &[SpeakerWindow], found: Vec<AsrSegment>) -> Vec<Segment> {
    if found.is_empty() {
        return Vec::new();
    }
    let clusters = cluster_speakers(windows);
    let turns = speaker_turns(windows, &clusters);
    let assignment = assign_segment_roles(&turns, &found);
    found
        .into_iter()
        .enumerate()
        .map(|(index, segment)| Segment {
            start: round3(segment.start),
            end: round3(segment.end),
            role: assignment
                .roles
                .get(index)
                .copied()
                .unwrap_or(Role::Unknown),
            text: segment.text,
            confidence: Some(round3(segment.confidence.clamp(0.0, 1.0))),
            role_confidence: assignment
                .confidences
                .get(index)
                .map(|confidence| round3(*confidence)),
        })
        .collect()
}

/// Three decimals: milliseconds for times, enough for confidences.
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(speaker: usize, start: f64, text: &str) -> RoleInput {
        RoleInput {
            speaker,
            speaker_confidence: 0.9,
            start,
            text: text.to_string(),
        }
    }

    /// Windows of 1.5 s for `speakers` (0 or 1 per window), contiguous
    /// within each region and regions 1 s apart; two voices far apart in
    /// feature space with a little deterministic spread.
    fn windows_of(regions: &[&[usize]]) -> Vec<SpeakerWindow> {
        let mut windows = Vec::new();
        let mut time = 0.0;
        let mut index = 0u32;
        for region in regions {
            for &speaker in region.iter() {
                let features = (0..FEATURES)
                    .map(|dimension| {
                        let voice = if (dimension % 2 == 0) == (speaker == 0) {
                            1.0
                        } else {
                            -1.0
                        };
                        let spread = ((index * 31 + dimension as u32 * 17) % 11) as f32 / 40.0;
                        voice + spread
                    })
                    .collect();
                windows.push(SpeakerWindow {
                    start: time,
                    end: time + 1.5,
                    frames: 150,
                    features,
                });
                time += 1.5;
                index += 1;
            }
            time += 1.0;
        }
        windows
    }

    #[test]
    fn a_turn_of_two_windows_inside_a_region_stays_a_turn() {
        // Quick exchanges without a pause: the other speaker's 3 s inside
        // the first region is a turn; a lone window is a slip of the
        // majority.
        let windows = windows_of(&[
            &[0, 0, 0, 1, 1, 0, 0, 0],
            &[1, 1, 1, 1],
            &[0, 0, 0, 1, 0, 0, 0],
        ]);
        let clusters = cluster_speakers(&windows);
        assert!(clusters.two_speakers);
        let labels = &clusters.labels;
        assert_eq!(&labels[..8], &[0, 0, 0, 1, 1, 0, 0, 0]);
        assert_eq!(&labels[8..12], &[1, 1, 1, 1]);
        assert_eq!(&labels[12..], &[0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_voice_heard_for_two_windows_is_not_a_second_speaker() {
        // A short clip whose last 3 s sound different: too little to be a
        // speaker of its own (and splitting would cut its sentence).
        let windows = windows_of(&[&[0, 0, 1, 1]]);
        let clusters = cluster_speakers(&windows);
        assert!(!clusters.two_speakers, "{clusters:?}");
        assert!(clusters.labels.iter().all(|label| *label == 0));
        // Three windows (4.5 s) of the other voice are.
        let windows = windows_of(&[&[0, 0, 0], &[1, 1, 1]]);
        assert!(cluster_speakers(&windows).two_speakers);
    }

    #[test]
    fn the_speaker_of_the_script_is_the_agent() {
        let inputs = [
            input(0, 0.0, "喂，你好"),
            input(1, 2.0, "您好，很高兴为您服务，请问有什么可以帮您？"),
            input(0, 6.0, "我的快递三天了还没到"),
            input(1, 9.0, "请您稍等，我帮您查询一下"),
            input(1, 15.0, "感谢您的来电，再见"),
        ];
        let assignment = assign_roles(&inputs);
        assert_eq!(assignment.agent_speaker, 1);
        assert_eq!(
            assignment.roles,
            vec![
                Role::Customer,
                Role::Agent,
                Role::Customer,
                Role::Agent,
                Role::Agent
            ]
        );
        assert!(assignment.decision_confidence > 0.99, "{assignment:?}");
        assert!(assignment
            .confidences
            .iter()
            .all(|c| *c > 0.85 && *c <= 0.9 + 1e-9));
    }

    #[test]
    fn traditional_characters_count_too() {
        assert!(script_score("您好，很高興為您服務") >= 4.0);
        assert!(script_score("我要投訴你們") < 0.0);
    }

    #[test]
    fn complaints_are_the_customers_side() {
        // Lexicon phrases count once each, the longest match, at most three
        // per segment.
        assert_eq!(script_score("我要投诉"), -1.0);
        assert_eq!(
            script_score("太失望了，等了这么久，一直没解决，气死我了"),
            -3.0
        );
        // A customer with no script words and a speaker with none: the one
        // complaining is not the agent, whoever talked first.
        let inputs = [
            input(0, 0.5, "中国房地产市场的泡沫会破灭吗"),
            input(1, 3.0, "更新之后软件一打开就闪退，根本用不了"),
            input(0, 6.0, "基本不会发生房价断崖式下跌"),
            input(1, 9.0, "等了这么久，还没解决，太让人失望了"),
        ];
        assert_eq!(assign_roles(&inputs).agent_speaker, 0);
    }

    #[test]
    fn without_script_words_the_first_speaker_is_the_agent_with_low_confidence() {
        let inputs = [
            input(1, 0.5, "上海市第一食品商店"),
            input(0, 3.0, "世纪公园三号门"),
        ];
        let assignment = assign_roles(&inputs);
        assert_eq!(assignment.agent_speaker, 1);
        assert!(assignment.decision_confidence < 0.6);
    }

    #[test]
    fn segments_take_the_speaker_covering_most_of_them() {
        let turns = [
            SpeakerTurn {
                start: 0.0,
                end: 4.0,
                speaker: 0,
                confidence: 0.9,
            },
            SpeakerTurn {
                start: 4.0,
                end: 9.0,
                speaker: 1,
                confidence: 0.8,
            },
        ];
        let segment = |start, end| AsrSegment {
            start,
            end,
            text: String::new(),
            confidence: 0.9,
        };
        let labels = label_segments(
            &turns,
            &[segment(0.5, 3.5), segment(3.0, 8.0), segment(20.0, 21.0)],
        );
        assert_eq!(labels[0], (0, 0.9));
        assert_eq!(labels[1].0, 1);
        assert!(labels[1].1 < 0.8 && labels[1].1 > 0.5);
        assert_eq!(labels[2], (1, 0.5));
    }

    fn turn(start: f64, end: f64, speaker: usize) -> SpeakerTurn {
        SpeakerTurn {
            start,
            end,
            speaker,
            confidence: 0.9,
        }
    }

    #[test]
    fn regions_are_cut_where_the_speaker_changes() {
        let regions = [SpeechRegion {
            start: 0.5,
            end: 14.8,
        }];
        let turns = [turn(0.5, 6.0, 0), turn(6.2, 9.0, 1), turn(9.0, 14.8, 0)];
        let pieces = split_at_turns(&regions, &turns);
        let bounds: Vec<(f64, f64)> = pieces
            .iter()
            .map(|piece| (piece.start, piece.end))
            .collect();
        assert_eq!(bounds, vec![(0.5, 6.1), (6.1, 9.0), (9.0, 14.8)]);
    }

    #[test]
    fn close_regions_of_two_speakers_touch_so_they_stay_apart() {
        let region = |start, end| SpeechRegion { start, end };
        let regions = [
            region(1.0, 4.0),
            region(4.4, 6.0),
            region(6.3, 8.0),
            region(12.0, 14.0),
        ];
        let turns = [
            turn(1.0, 4.0, 0),
            turn(4.4, 6.0, 1),
            turn(6.3, 8.0, 1),
            turn(12.0, 14.0, 0),
        ];
        let bounds: Vec<(f64, f64)> = split_at_turns(&regions, &turns)
            .iter()
            .map(|piece| (piece.start, piece.end))
            .collect();
        // Speaker change over 0.4 s: joined at 4.2; the same speaker over
        // 0.3 s: left alone; a change over 4 s: left alone.
        assert_eq!(
            bounds,
            vec![(1.0, 4.2), (4.2, 6.0), (6.3, 8.0), (12.0, 14.0)]
        );
    }

    #[test]
    fn slivers_at_region_edges_are_not_cut() {
        let regions = [SpeechRegion {
            start: 1.0,
            end: 3.0,
        }];
        let turns = [turn(0.0, 1.1, 0), turn(1.1, 3.0, 1)];
        assert_eq!(split_at_turns(&regions, &turns).len(), 1);
    }
}
