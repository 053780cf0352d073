//! Decoding: every format callscope reads, compared with the signal it was
//! made from, and every bad input, each failing alone with a message that
//! names the file and the reason. Test audio is written by callscope's own
//! WAV writer or converted with sox (installed by scripts/deps.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use callscope_audio::{self as audio, AudioOptions, CallReader};
use callscope_core::model::ChannelLayout;
use callscope_testkit::compose::{self, Encoding};

/// A speech-like test signal at 16 kHz: gliding harmonic syllables.
fn signal(seconds: f64, pitch: f64) -> Vec<f32> {
    let rate = 16000.0;
    let count = (seconds * rate) as usize;
    let mut phase = 0.0f64;
    (0..count)
        .map(|index| {
            let time = index as f64 / rate;
            let syllable = (time * 4.0).fract();
            let f0 = pitch * (1.0 + 0.2 * (syllable - 0.5));
            phase += std::f64::consts::TAU * f0 / rate;
            let envelope = (std::f64::consts::PI * syllable).sin();
            ((1..=8)
                .map(|h| (phase * h as f64).sin() / h as f64)
                .sum::<f64>()
                * 0.15
                * envelope) as f32
        })
        .collect()
}

fn sox(arguments: &[&str]) {
    let status = Command::new("sox")
        .args(arguments)
        .status()
        .expect("sox is needed for these tests: run scripts/deps.sh (apt-get install sox)");
    assert!(status.success(), "sox {arguments:?} failed");
}

/// Normalized correlation of two signals over their common length, best
/// over small shifts (codecs add a few samples of delay).
fn similarity(left: &[f32], right: &[f32]) -> f64 {
    let mut best = f64::MIN;
    for shift in 0..200usize {
        let length = left
            .len()
            .min(right.len().saturating_sub(shift))
            .saturating_sub(1600);
        if length < 1600 {
            break;
        }
        let (mut product, mut left_energy, mut right_energy) = (0.0f64, 0.0f64, 0.0f64);
        for index in 800..length {
            let (a, b) = (f64::from(left[index]), f64::from(right[index + shift]));
            product += a * b;
            left_energy += a * a;
            right_energy += b * b;
        }
        best = best.max(product / (left_energy * right_energy).sqrt().max(1e-12));
    }
    best
}

struct Case {
    file: PathBuf,
    rate: u32,
    channels: usize,
    codec: &'static str,
}

/// Decodes `case.file` and checks what it says it is and that it sounds
/// like `reference` (16 kHz, per channel).
fn check(case: &Case, reference: &[Vec<f32>], min_similarity: f64) {
    let decoded = audio::decode(&case.file).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        decoded.info.sample_rate,
        case.rate,
        "{}",
        case.file.display()
    );
    assert_eq!(
        decoded.info.channels,
        case.channels,
        "{}",
        case.file.display()
    );
    assert!(
        decoded.info.codec.contains(case.codec),
        "{}: codec {}",
        case.file.display(),
        decoded.info.codec
    );
    assert_eq!(decoded.sha256.len(), 64);
    let expected = reference[0].len() as f64 / 16000.0;
    assert!(
        (decoded.duration() - expected).abs() < 0.15,
        "{}: {} s, expected {expected} s",
        case.file.display(),
        decoded.duration()
    );
    for (channel, samples) in reference.iter().enumerate() {
        let score = similarity(samples, &decoded.channels[channel]);
        assert!(
            score > min_similarity,
            "{} channel {channel}: similarity {score}",
            case.file.display()
        );
    }
}

#[test]
fn wav_encodings_decode_to_the_signal() {
    let directory = tempfile::tempdir().unwrap();
    let stereo = vec![signal(3.0, 120.0), signal(3.0, 210.0)];
    let mono = vec![signal(3.0, 160.0)];
    let write = |name: &str, channels: &[Vec<f32>], encoding| {
        let path = directory.path().join(name);
        compose::write_wav(&path, channels, encoding).unwrap();
        path
    };
    let cases = [
        (
            write("mulaw.wav", &stereo, Encoding::Mulaw8k),
            8000,
            2,
            "mulaw",
            &stereo,
            0.97,
        ),
        (
            write("alaw.wav", &mono, Encoding::Alaw8k),
            8000,
            1,
            "alaw",
            &mono,
            0.97,
        ),
        (
            write("pcm8k.wav", &stereo, Encoding::Pcm8k),
            8000,
            2,
            "pcm_s16",
            &stereo,
            0.98,
        ),
        (
            write("pcm16k.wav", &mono, Encoding::Pcm16k),
            16000,
            1,
            "pcm_s16",
            &mono,
            0.999,
        ),
    ];
    for (file, rate, channels, codec, reference, minimum) in cases {
        check(
            &Case {
                file,
                rate,
                channels,
                codec,
            },
            reference,
            minimum,
        );
    }
}

#[test]
fn sox_made_formats_decode_to_the_signal() {
    let directory = tempfile::tempdir().unwrap();
    let mono = vec![signal(3.0, 150.0)];
    let source = directory.path().join("source.wav");
    compose::write_wav(&source, &mono, Encoding::Pcm16k).unwrap();
    let source = source.to_str().unwrap();
    let path = |name: &str| directory.path().join(name);
    let made = |name: &str, options: &[&str]| {
        let target = path(name);
        let mut arguments = vec![source];
        arguments.extend_from_slice(options);
        arguments.push(target.to_str().unwrap());
        sox(&arguments);
        target
    };
    let cases = [
        (
            made("u8.wav", &["-e", "unsigned-integer", "-b", "8"]),
            16000,
            "pcm_s8",
            0.97,
        ),
        (
            made("s24.wav", &["-b", "24", "-r", "44100"]),
            44100,
            "pcm_s24",
            0.99,
        ),
        (
            made("s32.wav", &["-b", "32", "-r", "48000"]),
            48000,
            "pcm_s32",
            0.99,
        ),
        (
            made("f32.wav", &["-e", "floating-point", "-b", "32"]),
            16000,
            "pcm_f32",
            0.999,
        ),
        (
            made("sox-mulaw.wav", &["-e", "u-law", "-r", "8000"]),
            8000,
            "mulaw",
            0.97,
        ),
        (
            made("sox-alaw.wav", &["-e", "a-law", "-r", "8000"]),
            8000,
            "alaw",
            0.97,
        ),
        (made("audio.flac", &["-r", "8000"]), 8000, "flac", 0.98),
        (
            made("audio.ogg", &["-r", "16000", "-C", "3"]),
            16000,
            "Vorbis",
            0.9,
        ),
    ];
    for (file, rate, codec, minimum) in cases {
        check(
            &Case {
                file,
                rate,
                channels: 1,
                codec,
            },
            &mono,
            minimum,
        );
    }
    // MP3 and M4A: sox cannot write them here; the demo ships one of each
    // (made with PyAV), checked in audio_calls.rs.
}

fn error_of(path: &Path) -> String {
    match audio::AudioStream::open(path).and_then(|mut stream| {
        while stream.read(16000 * 60)?.is_some() {}
        Ok(())
    }) {
        Ok(()) => panic!("{} decoded but should not", path.display()),
        Err(error) => error.to_string(),
    }
}

/// Each bad input fails alone: the message names the file and says why.
fn check_bad(path: &Path, reason: &str) {
    let message = error_of(path);
    assert!(
        message.contains(&path.display().to_string()),
        "no file name in: {message}"
    );
    assert!(
        message.contains(reason),
        "expected '{reason}' in: {message}"
    );
}

/// A WAV header for `rate` Hz, `channels`, 16-bit, with `data_bytes` of zeros.
fn wav_bytes(rate: u32, channels: u16, data_bytes: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
    bytes.extend_from_slice(&(2 * channels).to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_bytes.to_le_bytes());
    bytes.extend(std::iter::repeat_n(0u8, data_bytes as usize));
    bytes
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, no reflection).
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for byte in bytes {
        crc ^= u32::from(*byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn ogg_page(packet: &[u8], sequence: u32, header_type: u8) -> Vec<u8> {
    let mut page = Vec::new();
    page.extend_from_slice(b"OggS");
    page.push(0);
    page.push(header_type);
    page.extend_from_slice(&0u64.to_le_bytes());
    page.extend_from_slice(&0x1234u32.to_le_bytes());
    page.extend_from_slice(&sequence.to_le_bytes());
    page.extend_from_slice(&0u32.to_le_bytes());
    page.push(1);
    page.push(packet.len() as u8);
    page.extend_from_slice(packet);
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// The start of an Ogg Opus file: identification and comment headers.
fn ogg_opus() -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(1);
    head.extend_from_slice(&312u16.to_le_bytes());
    head.extend_from_slice(&48000u32.to_le_bytes());
    head.extend_from_slice(&0u16.to_le_bytes());
    head.push(0);
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&4u32.to_le_bytes());
    tags.extend_from_slice(b"test");
    tags.extend_from_slice(&0u32.to_le_bytes());
    let mut bytes = ogg_page(&head, 0, 2);
    bytes.extend(ogg_page(&tags, 1, 0));
    bytes.extend(ogg_page(&[0xFC, 0xFF, 0xFE], 2, 4));
    bytes
}

#[test]
fn bad_inputs_fail_alone_with_the_reason() {
    let directory = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = directory.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let good = wav_bytes(8000, 1, 16000);
    check_bad(&write("empty.wav", b""), "empty file");
    check_bad(&write("truncated.wav", &good[..30]), "truncated WAV header");
    check_bad(&write("tiny.wav", b"RIF"), "truncated WAV header");
    check_bad(
        &write(
            "notes.wav",
            "通话记录: 这不是录音\nsecond line\n".as_bytes(),
        ),
        "not an audio file",
    );
    check_bad(&write("zero.wav", &wav_bytes(8000, 1, 0)), "0 seconds");
    check_bad(
        &write("1khz.wav", &wav_bytes(1000, 1, 2000)),
        "below 8000 Hz",
    );
    check_bad(&write("opus.ogg", &ogg_opus()), "unsupported codec Opus");
    check_bad(
        &write("voicemail.amr", b"#!AMR\n\x3c\x00\x00\x00"),
        "unsupported codec AMR-NB",
    );
    let mut noise = 12345u32;
    let junk: Vec<u8> = (0..4000)
        .map(|_| {
            noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (noise >> 16) as u8
        })
        .collect();
    check_bad(&write("junk.mp3", &junk), "unrecognized audio format");
    // GSM 6.10 in WAV, as some PBXs record: named, not decoded.
    let source = directory.path().join("source.wav");
    compose::write_wav(&source, &[signal(1.0, 150.0)], Encoding::Pcm8k).unwrap();
    let gsm = directory.path().join("gsm.wav");
    sox(&[
        source.to_str().unwrap(),
        "-e",
        "gsm-full-rate",
        gsm.to_str().unwrap(),
    ]);
    check_bad(&gsm, "unsupported codec GSM 6.10");
    let amr = directory.path().join("real.amr");
    if Command::new("sox")
        .args([
            source.to_str().unwrap(),
            "-t",
            "amr-nb",
            amr.to_str().unwrap(),
        ])
        .status()
        .is_ok_and(|status| status.success())
    {
        check_bad(&amr, "unsupported codec AMR-NB");
    }
    // The good file next to them still decodes.
    assert!(audio::decode(&write("good.wav", &good)).is_ok());
}

#[test]
fn a_cut_off_wav_decodes_what_is_there_with_a_warning() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("cut.wav");
    let bytes = wav_bytes(8000, 1, 32000);
    std::fs::write(&path, &bytes[..bytes.len() - 16000]).unwrap();
    let decoded = audio::decode(&path).unwrap();
    assert!(
        (decoded.duration() - 1.0).abs() < 0.01,
        "{}",
        decoded.duration()
    );
    assert!(decoded
        .warnings
        .iter()
        .any(|warning| warning.contains("shorter than its header")));
}

#[test]
fn a_recorder_that_never_patched_the_data_size_still_decodes() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("streamed.wav");
    let mut bytes = wav_bytes(8000, 1, 8000);
    bytes[40..44].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let decoded = audio::decode(&path).unwrap();
    assert!((decoded.duration() - 0.5).abs() < 0.01);
}

#[test]
fn g711_with_a_16_byte_fmt_chunk_decodes() {
    // Some recorders write G.711 WAV without the cbSize field; symphonia
    // refuses those, callscope reads them.
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("short-fmt.wav");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36u32 + 8000).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&7u16.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&8000u32.to_le_bytes());
    bytes.extend_from_slice(&8000u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&8u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&8000u32.to_le_bytes());
    bytes.extend((0..8000).map(|index| if index % 2 == 0 { 0x80u8 } else { 0x00 }));
    std::fs::write(&path, &bytes).unwrap();
    let decoded = audio::decode(&path).unwrap();
    assert_eq!(decoded.info.codec, "g711_mulaw");
    assert!((decoded.duration() - 1.0).abs() < 0.01);
}

#[test]
fn a_stereo_file_declared_mono_is_mixed_and_warned_about() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("stereo.wav");
    let mut left = signal(4.0, 120.0);
    left.extend(vec![0.0; 16000 * 4]);
    let mut right = vec![0.0; 16000 * 4];
    right.extend(signal(4.0, 220.0));
    compose::write_wav(&path, &[left, right], Encoding::Mulaw8k).unwrap();
    let reader =
        CallReader::open(&path, Some(ChannelLayout::Mono), &AudioOptions::default()).unwrap();
    assert_eq!(reader.layout(), ChannelLayout::Mono);
    assert_eq!(reader.tracks().len(), 1);
    let summary = reader.finish().unwrap();
    assert!(
        summary
            .warnings
            .iter()
            .any(|warning| warning.contains("declared mono but the file has 2 channels")),
        "{:?}",
        summary.warnings
    );
    // Both speakers' speech is found on the mixed track.
    let regions = &summary.regions[0];
    assert!(
        regions.iter().any(|region| region.start < 1.0),
        "{regions:?}"
    );
    assert!(regions.iter().any(|region| region.end > 7.0), "{regions:?}");
    // And the same file without a declaration is read as two tracks.
    let reader = CallReader::open(&path, None, &AudioOptions::default()).unwrap();
    assert_eq!(reader.layout(), ChannelLayout::AgentLeft);
    assert_eq!(reader.tracks().len(), 2);
}

#[test]
fn identical_channels_are_one_speaker_track() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("dual-mono.wav");
    let voice = signal(3.0, 150.0);
    compose::write_wav(&path, &[voice.clone(), voice], Encoding::Pcm8k).unwrap();
    let summary = CallReader::open(
        &path,
        Some(ChannelLayout::AgentLeft),
        &AudioOptions::default(),
    )
    .unwrap()
    .finish()
    .unwrap();
    assert_eq!(summary.layout, ChannelLayout::Mono);
    assert!(summary
        .warnings
        .iter()
        .any(|warning| warning.contains("same audio")));
}
