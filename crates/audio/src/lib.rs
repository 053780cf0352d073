//! The audio half of transcription: decode call recordings, resample them
//! to 16 kHz, find speech per channel (VAD), separate the two speakers of
//! mono recordings, read audio manifests, and compose test and demo calls.
//!
//! The stage's entry point for a batch is [`CallReader`]: it streams a
//! recording in chunks of a few minutes (decode → resample → VAD), hands out
//! the speech of each track (agent, customer, or the one track of a mono
//! call) as [`SpeechBatch`]es for the recognizer, and ends with a
//! [`CallAudioSummary`] (speech regions, silences, speaker windows). Memory
//! stays bounded whatever the length of the recording.
//!
//! ```no_run
//! use callscope_audio::{AudioOptions, CallReader};
//! use std::path::Path;
//!
//! let mut reader = CallReader::open(Path::new("call.wav"), None, &AudioOptions::default())?;
//! while let Some(batches) = reader.next_batches()? {
//!     for batch in batches {
//!         // recognize batch.samples (16 kHz) at batch.local_regions()
//!         println!("track {} has {} regions", batch.track, batch.regions.len());
//!     }
//! }
//! let summary = reader.finish()?;
//! println!("{} silences", summary.silences.len());
//! # Ok::<(), callscope_core::error::Error>(())
//! ```

pub mod crash;
pub mod decode;
pub mod diarize;
pub mod features;
pub mod g711;
pub mod manifest;
pub mod reader;
pub mod resample;
pub mod vad;
pub mod wav;

pub use decode::{decode, sha256_file, AudioInfo, AudioStream, DecodedAudio};
pub use diarize::{assign_roles, RoleAssignment, RoleInput};
pub use manifest::{read_manifest, scan_directory, ManifestReport};
pub use reader::{
    read_call, silences, AudioOptions, CallAudioSummary, CallReader, SpeechBatch, Track,
};
pub use vad::{Vad, VadConfig};

/// The sample rate everything after decoding works at (Whisper's).
pub const SAMPLE_RATE: u32 = 16_000;

/// The lowest sample rate accepted: narrowband telephone audio.
pub const MIN_SAMPLE_RATE: u32 = 8_000;

/// File extensions treated as audio when scanning a folder. Formats that
/// callscope cannot decode (AMR, Opus, GSM) are listed so that they fail
/// with a clear message instead of being silently skipped.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "mp3", "flac", "ogg", "oga", "m4a", "mp4", "aac", "opus", "amr", "gsm", "wma",
    "aif", "aiff", "caf", "mkv", "webm",
];

/// Mixes channels to one by averaging.
pub fn downmix(channels: &[Vec<f32>]) -> Vec<f32> {
    match channels {
        [] => Vec::new(),
        [only] => only.clone(),
        _ => {
            let scale = 1.0 / channels.len() as f32;
            (0..channels[0].len())
                .map(|index| channels.iter().map(|channel| channel[index]).sum::<f32>() * scale)
                .collect()
        }
    }
}

/// Seconds as a sample index at 16 kHz.
pub fn seconds_to_samples(seconds: f64) -> usize {
    (seconds.max(0.0) * f64::from(SAMPLE_RATE)).round() as usize
}
