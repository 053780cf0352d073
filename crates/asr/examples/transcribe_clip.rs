//! Transcribe 16 kHz mono WAV files with Whisper and print timed segments.
//!
//! ```sh
//! callscope model fetch                      # once: models/ggml-base*.bin
//! cargo run --release --example transcribe_clip -- corpora/asr/check.wav
//! ```
//!
//! Environment: `CALLSCOPE_MODEL` (default models/ggml-base-q8_0.bin),
//! `CALLSCOPE_THREADS` (default all cores), `CALLSCOPE_HOTWORDS`
//! (comma-separated words appended to the prompt), `CALLSCOPE_FULL_CTX=1`
//! (encode padded 30 s windows, whisper's default).

use std::time::Instant;

use callscope_asr::{read_wav_16k, AsrConfig, AsrEngine};
use callscope_core::model::SpeechRegion;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = AsrConfig::default();
    if let Ok(model) = std::env::var("CALLSCOPE_MODEL") {
        config.model = model.into();
    }
    if let Ok(threads) = std::env::var("CALLSCOPE_THREADS") {
        config.threads = threads.parse()?;
    }
    if let Ok(words) = std::env::var("CALLSCOPE_HOTWORDS") {
        config.hotwords = words.split(',').map(str::to_string).collect();
    }
    if std::env::var("CALLSCOPE_FULL_CTX").is_ok() {
        config.reduce_audio_ctx = false;
    }
    // The model is loaded once; each thread that transcribes gets a worker.
    let engine = AsrEngine::load(&config)?;
    let mut worker = engine.worker()?;
    for path in std::env::args().skip(1) {
        let samples = read_wav_16k(&std::fs::read(&path)?, &path)?;
        let seconds = samples.len() as f64 / 16_000.0;
        // A VAD would give the speech regions; here the whole file is one.
        let region = SpeechRegion {
            start: 0.0,
            end: seconds,
        };
        let started = Instant::now();
        let segments = worker.transcribe(&samples, &[region])?;
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{path} ({seconds:.1} s audio, {elapsed:.2} s, {})",
            engine.model_name()
        );
        for segment in segments {
            println!(
                "  [{:6.2} - {:6.2}] {} (confidence {:.2})",
                segment.start, segment.end, segment.text, segment.confidence
            );
        }
    }
    Ok(())
}
