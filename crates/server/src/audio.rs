//! A call's recording for the browser: only the file registered as the
//! call's `audio_path` (nothing from the request names a file), decoded to
//! 16 kHz, with the personal-data spans silenced as
//! `callscope export-audio --silence-pii` does, encoded as a 16-bit PCM WAV
//! in memory and served in byte ranges.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use callscope_core::error::Error;
use callscope_redact::audio as redact_audio;

use crate::auth::{self, CurrentUser};
use crate::state::AppState;

/// Seconds of extra silence on each side of a personal-data span (the
/// default of `export-audio --margin`).
pub const SILENCE_MARGIN: f64 = 0.25;
/// Recordings kept ready: the browser asks for one recording in several
/// ranges, and decoding is the slow part.
const CACHED_RECORDINGS: usize = 4;

/// What a prepared recording was made from: when any of it changes (the
/// file, the spans), it is prepared again.
#[derive(Debug, Clone, PartialEq)]
struct RecordingKey {
    call_id: String,
    path: PathBuf,
    length: u64,
    modified: Option<std::time::SystemTime>,
    spans: Vec<(f64, f64)>,
    silenced: bool,
}

/// The last few recordings prepared, most recent last.
#[derive(Debug, Default)]
pub struct AudioCache {
    entries: Mutex<Vec<(RecordingKey, Arc<Vec<u8>>)>>,
}

impl AudioCache {
    fn get(&self, key: &RecordingKey) -> Option<Arc<Vec<u8>>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(cached, _)| cached == key)
            .map(|(_, wav)| Arc::clone(wav))
    }

    fn put(&self, key: RecordingKey, wav: Arc<Vec<u8>>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(cached, _)| {
                cached.call_id != key.call_id || cached.silenced != key.silenced
            });
            entries.push((key, wav));
            let excess = entries.len().saturating_sub(CACHED_RECORDINGS);
            entries.drain(..excess);
        }
    }
}

/// Why a call's recording cannot be played.
#[derive(Debug)]
pub enum AudioError {
    /// No such call.
    UnknownCall(String),
    /// The call has no recording (imported from a transcript), or its file
    /// is gone.
    NoRecording(String),
    /// Anything else (the store, decoding).
    Other(Error),
}

impl From<Error> for AudioError {
    fn from(error: Error) -> AudioError {
        AudioError::Other(error)
    }
}

/// The call's recording as a 16 kHz 16-bit PCM WAV, personal data silenced.
pub fn silenced_wav(
    state: &AppState,
    user: &CurrentUser,
    call_id: &str,
) -> std::result::Result<Arc<Vec<u8>>, AudioError> {
    prepared_wav(state, user, call_id, true)
}

/// The call's recording as a 16 kHz 16-bit PCM WAV for `user`, personal
/// data silenced unless `silence` is false (the caller checks the role may
/// hear it). Another agent's call is an unknown call. The first time in a
/// session that a call is played is written to the audit log (`audio.play`
/// or `audio.play.unmasked`); the byte ranges after it are not.
pub fn prepared_wav(
    state: &AppState,
    user: &CurrentUser,
    call_id: &str,
    silence: bool,
) -> std::result::Result<Arc<Vec<u8>>, AudioError> {
    let store = state.workspace.open_existing_store()?;
    let call = store
        .get_call(call_id)?
        .filter(|call| user.sees_call(call.agent_id.as_deref()))
        .ok_or_else(|| AudioError::UnknownCall(call_id.to_string()))?;
    let Some(path) = call.audio_path.as_deref().map(PathBuf::from) else {
        return Err(AudioError::NoRecording(format!(
            "call {call_id} has no recording (it was imported from a transcript)"
        )));
    };
    let metadata = std::fs::metadata(&path).map_err(|_| {
        AudioError::NoRecording(format!(
            "the recording of call {call_id} is no longer where it was transcribed from"
        ))
    })?;
    let action = if silence {
        "audio.play"
    } else {
        "audio.play.unmasked"
    };
    if state.first_play(&user.session, call_id, silence) {
        auth::audit(state, user, action, call_id)?;
    }
    let mut spans: Vec<(f64, f64)> = Vec::new();
    if silence {
        collect_spans(state, &store, &call, &mut spans)?;
    }
    let key = RecordingKey {
        call_id: call_id.to_string(),
        path: path.clone(),
        length: metadata.len(),
        modified: metadata.modified().ok(),
        spans,
        silenced: silence,
    };
    if let Some(wav) = state.audio.get(&key) {
        return Ok(wav);
    }
    let mut decoded = callscope_audio::decode(&path)?;
    let rate = callscope_audio::SAMPLE_RATE;
    let frames = decoded.channels.first().map_or(0, Vec::len) as u64;
    for (first, last) in redact_audio::frame_ranges(&key.spans, SILENCE_MARGIN, rate, frames) {
        for channel in &mut decoded.channels {
            let last = usize::try_from(last)
                .unwrap_or(usize::MAX)
                .min(channel.len());
            let first = usize::try_from(first).unwrap_or(usize::MAX).min(last);
            channel[first..last].fill(0.0);
        }
    }
    let wav = Arc::new(encode_pcm16(&decoded.channels, rate));
    state.audio.put(key, Arc::clone(&wav));
    Ok(wav)
}

/// The spans to silence: those masked at import, and anything still clear
/// in the stored text (the same spans as `export-audio --silence-pii`).
fn collect_spans(
    state: &AppState,
    store: &callscope_store::Store,
    call: &callscope_core::model::Call,
    spans: &mut Vec<(f64, f64)>,
) -> std::result::Result<(), AudioError> {
    spans.extend(
        store
            .redacted_spans(&call.call_id)?
            .iter()
            .map(|span| (span.start, span.end)),
    );
    for (place, detection) in state.redactor.find_in_call(call) {
        if let callscope_redact::Place::Segment(index) = place {
            if let Some(segment) = call.segments.get(index) {
                spans.push(redact_audio::estimate_times(
                    segment,
                    detection.start,
                    detection.end,
                ));
            }
        }
    }
    Ok(())
}

/// Planar `f32` channels (-1..1) as a 16-bit PCM WAV file in memory.
pub fn encode_pcm16(channels: &[Vec<f32>], rate: u32) -> Vec<u8> {
    let channel_count = channels.len().max(1);
    let frames = channels.first().map_or(0, Vec::len);
    let data_bytes = frames * channel_count * 2;
    let mut wav = Vec::with_capacity(44 + data_bytes);
    let block_align = (channel_count * 2) as u16;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&((36 + data_bytes) as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&(channel_count as u16).to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    wav.extend_from_slice(&block_align.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data_bytes as u32).to_le_bytes());
    for frame in 0..frames {
        for channel in 0..channel_count {
            let sample = channels
                .get(channel)
                .and_then(|samples| samples.get(frame))
                .copied()
                .unwrap_or(0.0);
            let value = (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            wav.extend_from_slice(&value.to_le_bytes());
        }
    }
    wav
}

/// What a `Range` header asks of a body of `length` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range, or one this server does not honour (several ranges, a
    /// malformed header): the whole body.
    Whole,
    /// Bytes `first..=last`.
    Part {
        /// The first byte.
        first: u64,
        /// The last byte, inclusive.
        last: u64,
    },
    /// A range wholly past the end: 416.
    Unsatisfiable,
}

/// Parses a single `bytes=` range (RFC 9110 §14.1.2) against a body of
/// `length` bytes.
pub fn parse_range(header: Option<&str>, length: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|header| header.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // The last N bytes.
        return match last.parse::<u64>() {
            Ok(0) => RangeRequest::Unsatisfiable,
            Ok(_) if length == 0 => RangeRequest::Unsatisfiable,
            Ok(count) => RangeRequest::Part {
                first: length.saturating_sub(count),
                last: length - 1,
            },
            Err(_) => RangeRequest::Whole,
        };
    }
    let Ok(first) = first.parse::<u64>() else {
        return RangeRequest::Whole;
    };
    let last = if last.is_empty() {
        None
    } else {
        match last.parse::<u64>() {
            Ok(last) if last >= first => Some(last),
            _ => return RangeRequest::Whole,
        }
    };
    if first >= length {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part {
        first,
        last: last.map_or(length - 1, |last| last.min(length - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let part = |first, last| RangeRequest::Part { first, last };
        assert_eq!(parse_range(None, 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=90-500"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-500"), 100), part(0, 99));
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(
            parse_range(Some("bytes=-0"), 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=5-1"), 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("bytes=0-1,5-9"), 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeRequest::Whole);
    }

    #[test]
    fn the_wav_header_matches_the_samples() {
        let wav = encode_pcm16(&[vec![0.0, 1.0], vec![-1.0, 0.5]], 16_000);
        assert_eq!(wav.len(), 44 + 8);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([wav[40], wav[41], wav[42], wav[43]]), 8);
        assert_eq!(i16::from_le_bytes([wav[46], wav[47]]), -32767);
    }
}
