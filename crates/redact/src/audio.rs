//! Silencing personal data in recordings: where in a segment's audio a
//! masked span was said, and a WAV writer that zeroes those samples.
//!
//! Transcripts carry times per segment, not per character, so the span's
//! time is estimated: the segment's duration is shared among its characters
//! in proportion to how long they take to say, one unit per spoken character
//! (a Chinese character, a digit and a Latin letter are each about one
//! syllable when a number or an address is read out) and nothing for
//! punctuation and spaces. A margin (0.25 s by default) on each side covers
//! the error of that estimate; the spans are clamped to the recording.

use std::path::Path;

use serde::Serialize;

use callscope_core::error::{Error, Result};
use callscope_core::model::Segment;

/// Whether a character takes time to say (punctuation and spaces do not).
fn spoken_weight(character: char) -> f64 {
    if character.is_whitespace()
        || character.is_ascii_punctuation()
        || matches!(
            character,
            '，' | '。'
                | '？'
                | '！'
                | '、'
                | '；'
                | '：'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '（'
                | '）'
                | '《'
                | '》'
                | '…'
                | '—'
                | '－'
                | '·'
                | '「'
                | '」'
                | '【'
                | '】'
        )
    {
        0.0
    } else {
        1.0
    }
}

/// The estimated times (seconds from the start of the recording) at which
/// characters `char_start..char_end` of the segment's text were said.
pub fn estimate_times(segment: &Segment, char_start: usize, char_end: usize) -> (f64, f64) {
    let weights: Vec<f64> = segment.text.chars().map(spoken_weight).collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || char_start >= char_end {
        return (segment.start, segment.end);
    }
    let char_end = char_end.min(weights.len());
    let char_start = char_start.min(char_end);
    let before: f64 = weights[..char_start].iter().sum();
    let inside: f64 = weights[char_start..char_end].iter().sum();
    let duration = segment.seconds();
    let start = segment.start + duration * before / total;
    let end = segment.start + duration * (before + inside) / total;
    (start, end)
}

/// What silencing did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SilenceReport {
    /// Stretches silenced after merging overlaps (margins included).
    pub stretches: usize,
    /// Seconds of audio silenced.
    pub seconds: f64,
    /// Sample frames (all channels of one instant) zeroed.
    pub frames: u64,
    /// The recording's length in seconds.
    pub duration: f64,
}

/// Merged frame ranges `[start, end)` for time spans widened by `margin`.
pub fn frame_ranges(spans: &[(f64, f64)], margin: f64, rate: u32, frames: u64) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = spans
        .iter()
        .filter(|(start, end)| start.is_finite() && end.is_finite() && end >= start)
        .map(|(start, end)| {
            let first = ((start - margin).max(0.0) * f64::from(rate)).floor() as u64;
            let last = ((end + margin).max(0.0) * f64::from(rate)).ceil() as u64;
            (first.min(frames), last.min(frames))
        })
        .filter(|(first, last)| last > first)
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(previous) if first <= previous.1 => previous.1 = previous.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    merged
}

/// Copies the WAV `input` to `output`, zeroing every channel during `spans`
/// (seconds) widened by `margin`. PCM (8-32 bit) and 32-bit float WAV; the
/// output has the input's format. Streams: memory does not grow with the
/// recording.
pub fn silence_wav(
    input: &Path,
    output: &Path,
    spans: &[(f64, f64)],
    margin: f64,
) -> Result<SilenceReport> {
    let audio_error = |reason: String| Error::Audio {
        file: input.display().to_string(),
        reason,
    };
    let mut reader = hound::WavReader::open(input).map_err(|error| {
        audio_error(format!(
            "cannot read it as PCM WAV ({error}); export-audio reads PCM and float WAV for \
             now: convert it first (ffmpeg -i IN -c:a pcm_s16le OUT.wav)"
        ))
    })?;
    let spec = reader.spec();
    let channels = u64::from(spec.channels.max(1));
    let frames = u64::from(reader.duration());
    let ranges = frame_ranges(spans, margin, spec.sample_rate, frames);
    if let Some(parent) = output
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
    }
    let mut writer = hound::WavWriter::create(output, spec)
        .map_err(|error| Error::io(output, std::io::Error::other(error.to_string())))?;
    let write_error =
        |error: hound::Error| Error::io(output, std::io::Error::other(error.to_string()));
    let mut range_index = 0;
    let mut silent = |sample_index: u64| {
        let frame = sample_index / channels;
        while range_index < ranges.len() && ranges[range_index].1 <= frame {
            range_index += 1;
        }
        range_index < ranges.len() && ranges[range_index].0 <= frame
    };
    match spec.sample_format {
        hound::SampleFormat::Int => {
            for (index, sample) in reader.samples::<i32>().enumerate() {
                let sample = sample.map_err(|error| audio_error(error.to_string()))?;
                let value = if silent(index as u64) { 0 } else { sample };
                writer.write_sample(value).map_err(write_error)?;
            }
        }
        hound::SampleFormat::Float => {
            for (index, sample) in reader.samples::<f32>().enumerate() {
                let sample = sample.map_err(|error| audio_error(error.to_string()))?;
                let value = if silent(index as u64) { 0.0 } else { sample };
                writer.write_sample(value).map_err(write_error)?;
            }
        }
    }
    writer.finalize().map_err(write_error)?;
    let silenced: u64 = ranges.iter().map(|(first, last)| last - first).sum();
    Ok(SilenceReport {
        stretches: ranges.len(),
        seconds: silenced as f64 / f64::from(spec.sample_rate),
        frames: silenced,
        duration: frames as f64 / f64::from(spec.sample_rate),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_core::model::Role;

    fn segment(start: f64, end: f64, text: &str) -> Segment {
        Segment {
            start,
            end,
            role: Role::Customer,
            text: text.to_string(),
            confidence: None,
            role_confidence: None,
        }
    }

    #[test]
    fn times_are_shared_by_spoken_characters() {
        // 14 spoken characters over 14 s, the number is characters 3..14.
        let segment = segment(1.0, 15.0, "手机号13812345678");
        assert_eq!(estimate_times(&segment, 3, 14), (4.0, 15.0));
        // Punctuation takes no time: 5 spoken characters over 5 s.
        let segment = super::tests::segment(0.0, 5.0, "好，一二。三四");
        assert_eq!(estimate_times(&segment, 5, 7), (3.0, 5.0));
        assert_eq!(
            estimate_times(&super::tests::segment(3.0, 5.0, "。"), 0, 1),
            (3.0, 5.0)
        );
    }

    #[test]
    fn ranges_widen_merge_and_clamp() {
        assert_eq!(
            frame_ranges(&[(1.0, 2.0), (2.1, 3.0), (9.9, 20.0)], 0.25, 10, 100),
            vec![(7, 33), (96, 100)]
        );
        assert!(frame_ranges(&[(f64::NAN, 1.0)], 0.0, 10, 100).is_empty());
    }
}
