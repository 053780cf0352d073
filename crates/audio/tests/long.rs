//! A 3-hour recording is read in chunks: memory stays bounded (far below
//! the 690 MB that 3 hours of 16 kHz float samples would take) and every
//! repetition of the call inside it yields the same speech as the call
//! alone. Alone in its test binary, so the process's peak memory is this
//! test's.

use callscope_audio::vad::frame_scores;
use callscope_audio::{read_call, AudioOptions, CallReader};
use callscope_core::model::{ChannelLayout, SpeechRegion};
use callscope_testkit::compose::{self, Encoding};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

#[test]
fn a_three_hour_recording_streams_in_bounded_memory() {
    let demo = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("corpora/demo/audio/C20260902-0004.wav");
    let call = callscope_audio::decode(&demo).unwrap();
    let (_, alone) = read_call(&demo, Some(ChannelLayout::Mono), &AudioOptions::default()).unwrap();
    let per_call = alone.regions[0].clone();
    assert!(per_call.len() >= 4);
    let length = call.duration();
    let repeats = (3.0 * 3600.0 / length).ceil() as usize;

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("three-hours.wav");
    compose::write_repeated(&path, &call.channels, repeats, Encoding::Mulaw8k).unwrap();
    drop(call);

    let mut reader =
        CallReader::open(&path, Some(ChannelLayout::Mono), &AudioOptions::default()).unwrap();
    let mut batches = 0;
    let mut largest_batch = 0;
    while let Some(more) = reader.next_batches().unwrap() {
        batches += more.len();
        largest_batch = largest_batch.max(
            more.iter()
                .map(|batch| batch.samples.len())
                .max()
                .unwrap_or(0),
        );
    }
    let summary = reader.finish().unwrap();
    assert!(summary.duration >= 3.0 * 3600.0, "{}", summary.duration);
    assert!(batches >= 90, "{batches} batches: one per 2-minute chunk");

    // Every repetition after the first has the call's speech, shifted (the
    // 10 ms frame grid falls differently on each, so a pause right at the
    // merge limit may be bridged in one and not in another).
    let regions = &summary.regions[0];
    for repetition in 1..repeats {
        let offset = repetition as f64 * length;
        let found: Vec<SpeechRegion> = regions
            .iter()
            .filter(|region| region.start >= offset - 0.3 && region.start < offset + length - 0.3)
            .map(|region| SpeechRegion {
                start: region.start - offset,
                end: region.end - offset,
            })
            .collect();
        assert!(
            found.len().abs_diff(per_call.len()) <= 1,
            "repetition {repetition}: {found:?} vs {per_call:?}"
        );
        let (precision, recall) = frame_scores(&found, &per_call, length);
        assert!(
            precision > 0.98 && recall > 0.98,
            "repetition {repetition}: {precision} {recall}: {found:?} vs {per_call:?}"
        );
    }

    // Bounded: at most one chunk plus the open speech held at a time.
    let held_seconds = summary.peak_buffered_samples as f64 / 16000.0;
    assert!(held_seconds < 200.0, "held {held_seconds} s of audio");
    assert!(
        largest_batch < 16000 * 200,
        "a batch of {largest_batch} samples"
    );
    if let Some(peak) = peak_rss_mib() {
        assert!(peak < 250.0, "peak memory {peak} MiB");
        eprintln!("3-hour recording: peak memory {peak:.0} MiB, held at most {held_seconds:.0} s");
    }
}
