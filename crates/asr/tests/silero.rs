//! Silero VAD with the real model that `callscope model fetch` builds
//! (`models/ggml-silero-vad.bin`, or `$CALLSCOPE_TEST_VAD_MODEL`).
//!
//! Opt-in with `CALLSCOPE_MODEL_TESTS=1` (scripts/test.sh sets it after
//! `callscope model fetch`); otherwise the tests say so and pass. The
//! speech clip comes from `../shared/callcenter-tts` (or
//! `$CALLSCOPE_SHARED`).

use std::path::PathBuf;

use callscope_asr::silero::{check_silero, is_verified_silero, SILERO_MODEL_FILE};
use callscope_asr::{read_wav_16k, SileroVad, SileroVadConfig};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn shared() -> PathBuf {
    std::env::var_os("CALLSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"))
}

/// The converted model, or `None` when model tests are off.
fn vad_model() -> Option<PathBuf> {
    if std::env::var("CALLSCOPE_MODEL_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set CALLSCOPE_MODEL_TESTS=1 after `callscope model fetch`");
        return None;
    }
    let model = std::env::var_os("CALLSCOPE_TEST_VAD_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models").join(SILERO_MODEL_FILE));
    assert!(
        model.is_file(),
        "{} is missing: run `callscope model fetch` first",
        model.display()
    );
    Some(model)
}

#[test]
fn the_fetched_model_is_the_verified_one_and_passes_its_check() {
    let Some(model) = vad_model() else {
        return;
    };
    assert!(is_verified_silero(&model).unwrap(), "{}", model.display());
    let check = check_silero(&model).unwrap();
    assert!(!check.speech_regions.is_empty());
}

#[test]
fn silero_finds_the_speech_of_a_tts_line_and_nothing_in_silence() {
    let Some(model) = vad_model() else {
        return;
    };
    let vad = SileroVad::load(&model, SileroVadConfig::default()).unwrap();
    let bytes = std::fs::read(shared().join("callcenter-tts/wav/a01.wav")).unwrap();
    let line = read_wav_16k(&bytes, "a01.wav").unwrap();
    // 2 s of digital silence, the line, 2 s of silence.
    let mut samples = vec![0.0f32; 32_000];
    samples.extend_from_slice(&line);
    samples.extend(std::iter::repeat_n(0.0f32, 32_000));
    let line_end = 2.0 + line.len() as f64 / 16_000.0;
    let regions = vad.detect(&samples).unwrap();
    assert!(!regions.is_empty(), "no speech found in a01");
    let first = regions.first().unwrap();
    let last = regions.last().unwrap();
    // Speech starts within 0.5 s of the line (TTS lines begin with a little
    // silence of their own) and nothing is found far into the silence.
    assert!(
        (1.5..2.8).contains(&first.start),
        "speech starts at {}",
        first.start
    );
    assert!(last.end <= line_end + 0.5, "speech ends at {}", last.end);
    let speech: f64 = regions.iter().map(|region| region.end - region.start).sum();
    assert!(
        speech > 0.5 * (line_end - 2.0),
        "only {speech:.2} s of speech in a {:.2} s line",
        line_end - 2.0
    );
    assert!(vad.detect(&vec![0.0f32; 5 * 16_000]).unwrap().is_empty());
    // Low noise (−60 dBFS) is not speech either.
    let mut state = 12345u32;
    let noise: Vec<f32> = (0..5 * 16_000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.002
        })
        .collect();
    assert!(vad.detect(&noise).unwrap().is_empty());
}
