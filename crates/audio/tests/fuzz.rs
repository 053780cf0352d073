//! Property tests over bad input (the fuzz targets of the audio stage):
//! decoding arbitrary bytes, mutated recordings of every format callscope
//! reads, and reading arbitrary manifest text never panic and never crash
//! a decoder; each ends in `Ok` or an error that names the file.
//!
//! Case counts are small so the suite stays quick, and the seed is fixed so
//! that CI is reproducible. Fuzz longer or elsewhere with the usual
//! proptest variables, e.g. `PROPTEST_CASES=20000 PROPTEST_RNG_SEED=7`.
//! Every crash found becomes a test in `regression.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};

use callscope_audio::crash::crashed_component;
use callscope_audio::manifest;
use callscope_audio::{read_call, AudioOptions};
use callscope_core::error::Error;
use callscope_testkit::compose::{self, Encoding};

/// `cases` and a fixed seed, unless `PROPTEST_CASES` / `PROPTEST_RNG_SEED`
/// say otherwise.
fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x00ca_115c_09e0);
    }
    config.max_shrink_iters = 2000;
    config
}

fn demo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("corpora/demo")
}

/// A valid recording to mutate: its extension and bytes.
struct Seed {
    extension: &'static str,
    bytes: Vec<u8>,
}

/// One second of a speech-like tone.
fn tone() -> Vec<f32> {
    (0..16000)
        .map(|index| {
            let time = f64::from(index) / 16000.0;
            ((time * 180.0 * std::f64::consts::TAU).sin()
                * 0.3
                * (time * 4.0 * std::f64::consts::PI).sin().abs()) as f32
        })
        .collect()
}

/// Valid recordings of every format callscope reads: WAV made by the
/// composer (PCM, G.711), FLAC, Ogg/Vorbis and ADPCM WAV made by sox from
/// it, and the demo's MP3 (cut short) and M4A.
fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let directory = tempfile::tempdir().unwrap();
        let folder = directory.path();
        let mono = vec![tone()];
        let stereo = vec![tone(), tone().iter().map(|sample| sample * 0.5).collect()];
        let mut seeds = Vec::new();
        for (name, channels, encoding) in [
            ("pcm16k.wav", &mono, Encoding::Pcm16k),
            ("mulaw.wav", &stereo, Encoding::Mulaw8k),
            ("alaw.wav", &mono, Encoding::Alaw8k),
        ] {
            let path = folder.join(name);
            compose::write_wav(&path, channels, encoding).unwrap();
            seeds.push(Seed {
                extension: "wav",
                bytes: std::fs::read(&path).unwrap(),
            });
        }
        let source = folder.join("pcm16k.wav");
        for (name, extension, options) in [
            ("tone.flac", "flac", &["-r", "8000"][..]),
            ("tone.ogg", "ogg", &["-C", "0"][..]),
            ("adpcm.wav", "wav", &["-e", "ima-adpcm", "-r", "8000"][..]),
        ] {
            let target = folder.join(name);
            let status = Command::new("sox")
                .arg(&source)
                .args(options)
                .arg(&target)
                .status()
                .expect("sox is needed for these tests: run scripts/deps.sh");
            assert!(status.success(), "sox {name}");
            seeds.push(Seed {
                extension,
                bytes: std::fs::read(&target).unwrap(),
            });
        }
        let mp3 = std::fs::read(demo().join("audio/C20260906-0011.mp3")).unwrap();
        seeds.push(Seed {
            extension: "mp3",
            bytes: mp3[..mp3.len().min(24_000)].to_vec(),
        });
        seeds.push(Seed {
            extension: "m4a",
            bytes: std::fs::read(demo().join("audio/C20260906-0012.m4a")).unwrap(),
        });
        seeds
    })
}

/// Decodes `bytes` written as `name` the way a batch does (open, decode,
/// find speech) and checks the outcome: samples are finite, and an error
/// names the file and is not a crash.
fn check_decoding(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let options = AudioOptions {
        chunk_seconds: 5.0,
        ..AudioOptions::default()
    };
    match read_call(&path, None, &options) {
        Ok((batches, summary)) => {
            prop_assert!(summary.duration.is_finite() && summary.duration >= 0.0);
            for batch in &batches {
                prop_assert!(
                    batch.samples.iter().all(|sample| sample.is_finite()),
                    "non-finite samples from {name}"
                );
            }
        }
        Err(error) => {
            prop_assert!(
                crashed_component(&error).is_none(),
                "a decoder crashed on {name}: {error}"
            );
            let message = error.to_string();
            prop_assert!(
                message.contains(&path.display().to_string()),
                "the error does not name the file: {message}"
            );
            prop_assert!(
                matches!(error, Error::Audio { .. } | Error::Io { .. }),
                "unexpected kind of error: {message}"
            );
        }
    }
    Ok(())
}

/// A change to a recording: set a byte, flip a bit, or cut the file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Sets the byte at a position in the first 512 bytes (the headers).
    SetInHeader(Index, u8),
    /// Sets the byte at a position anywhere.
    Set(Index, u8),
    /// Flips one bit anywhere.
    Flip(Index, u8),
    /// Keeps only a prefix.
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetInHeader(at, value)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, value)| Mutation::Set(at, value)),
        2 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match mutation {
        Mutation::SetInHeader(at, value) => {
            let index = at.index(bytes.len().min(512));
            bytes[index] = *value;
        }
        Mutation::Set(at, value) => {
            let index = at.index(bytes.len());
            bytes[index] = *value;
        }
        Mutation::Flip(at, bit) => {
            let index = at.index(bytes.len());
            bytes[index] ^= 1 << bit;
        }
        Mutation::Truncate(at) => {
            let keep = at.index(bytes.len());
            bytes.truncate(keep);
        }
    }
}

/// The first bytes of each container callscope reads (and of a few it
/// refuses).
const SIGNATURES: &[&[u8]] = &[
    b"RIFF\x24\x10\x00\x00WAVEfmt ",
    b"ID3\x04\x00",
    b"ID3\x03\x00\x40",
    b"\xff\xfb\x90\x64",
    b"fLaC\x00\x00\x00\x22",
    b"OggS\x00\x02",
    b"\x00\x00\x00\x1cftypM4A ",
    b"caff\x00\x01\x00\x00",
    b"\x1a\x45\xdf\xa3",
];

const EXTENSIONS: &[&str] = &[
    "wav", "mp3", "flac", "ogg", "m4a", "aac", "caf", "mkv", "bin",
];

proptest! {
    #![proptest_config(config(150))]

    /// Random bytes under any audio extension.
    #[test]
    fn arbitrary_bytes_fail_alone_or_decode(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        extension in proptest::sample::select(EXTENSIONS),
    ) {
        check_decoding(&format!("random.{extension}"), &bytes)?;
    }

    /// Random bytes behind a real format's signature, so that the
    /// container's reader (not the probe) meets them.
    #[test]
    fn arbitrary_bytes_after_a_signature_fail_alone_or_decode(
        signature in proptest::sample::select(SIGNATURES),
        rest in proptest::collection::vec(any::<u8>(), 0..2048),
        extension in proptest::sample::select(EXTENSIONS),
    ) {
        let mut bytes = signature.to_vec();
        bytes.extend_from_slice(&rest);
        check_decoding(&format!("signed.{extension}"), &bytes)?;
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// Valid recordings of every format with a few bytes changed or cut.
    #[test]
    fn mutated_recordings_fail_alone_or_decode(
        seed in any::<Index>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let seed = seed.get(seeds());
        let mut bytes = seed.bytes.clone();
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        check_decoding(&format!("mutated.{}", seed.extension), &bytes)?;
    }
}

/// Pieces manifest text is made of: the contract's columns, values good
/// and bad, CSV punctuation, and odd characters.
fn manifest_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "path",
                "call_id",
                "started_at",
                "agent_id",
                "team",
                "queue",
                "channels",
                "Path",
                "meta",
                ",",
                ",",
                ",",
                "\n",
                "\n",
                "\r\n",
                "\"",
                "\"\"",
                " ",
                "\u{feff}",
                "good.wav",
                "calls/good.wav",
                "missing.wav",
                "folder",
                "/dev/null",
                "../x.wav",
                "",
                "mono",
                "agent-left",
                "agent-right",
                "stereo",
                "2026-09-01T09:30:00+08:00",
                "2026-13-45T99:99:99+08:00",
                "A07",
                "售后",
                "张三",
                "13812345678",
                "\0",
                "\t",
                "#",
            ][..]
        )
        .prop_map(str::to_string),
        "[a-z0-9,\"\n ]{0,12}",
        any::<String>().prop_map(|text| text.chars().take(8).collect()),
    ]
}

proptest! {
    #![proptest_config(config(300))]

    /// Manifest text built of CSV pieces: read whole or refused, bad rows
    /// reported with the manifest's name and a line, good rows naming
    /// regular files.
    #[test]
    fn arbitrary_manifests_are_read_or_refused(
        pieces in proptest::collection::vec(manifest_piece(), 0..60),
        header in proptest::bool::ANY,
    ) {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        std::fs::create_dir_all(root.join("calls")).unwrap();
        std::fs::create_dir_all(root.join("folder")).unwrap();
        std::fs::write(root.join("good.wav"), b"RIFF").unwrap();
        std::fs::write(root.join("calls/good.wav"), b"RIFF").unwrap();
        let mut text = if header { "path,call_id,channels,started_at\n".to_string() } else { String::new() };
        text.push_str(&pieces.concat());
        let path = root.join("manifest.csv");
        std::fs::write(&path, &text).unwrap();
        match manifest::read_manifest(&path) {
            Ok(report) => {
                for entry in &report.entries {
                    prop_assert!(entry.path.is_file(), "{}", entry.path.display());
                    prop_assert!(!entry.call_id.is_empty());
                }
                for error in &report.errors {
                    let message = error.to_string();
                    prop_assert!(
                        message.starts_with(&format!("{}:", path.display())),
                        "{message}"
                    );
                }
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(matches!(error, Error::InvalidFile { .. }), "{message}");
                prop_assert!(message.contains(&path.display().to_string()), "{message}");
            }
        }
    }

    /// Arbitrary bytes (not even UTF-8) as a manifest.
    #[test]
    fn arbitrary_bytes_as_a_manifest_are_read_or_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("manifest.csv");
        std::fs::write(&path, &bytes).unwrap();
        match manifest::read_manifest(&path) {
            Ok(report) => prop_assert!(report.entries.iter().all(|entry| entry.path.is_file())),
            Err(error) => {
                let message = error.to_string();
                prop_assert!(matches!(error, Error::InvalidFile { .. }), "{message}");
            }
        }
    }
}
