//! Silero VAD: a learned voice activity detector (the one faster-whisper
//! and WhisperX use), run by the vendored whisper.cpp.
//!
//! - [`fetch_silero`] (part of `callscope model fetch`) downloads the
//!   `silero-vad` wheel from PyPI with pip, takes its
//!   `silero_vad/data/silero_vad_16k.safetensors` (MIT), converts it with
//!   [`convert_silero`] to the ggml file whisper.cpp's VAD loader reads
//!   (`whisper_vad_init_with_params`) and verifies it: pinned SHA-256 of the
//!   wheel and of the converted file, then speech found in the bundled check
//!   clip and none in digital silence.
//! - [`SileroVad`] loads that file once and finds the speech regions of one
//!   channel of 16 kHz samples.
//!
//! The ggml file: `u32` magic `ggml`, the model type (`i32` length, bytes:
//! `silero-16k`), `i32` version major, minor, patch, `i32` window (512
//! samples) and context (64 samples), `i32` encoder layer count and per
//! layer `i32` in channels, out channels, kernel size, then `i32` LSTM input
//! and hidden sizes and final convolution in and out sizes; then the 15
//! tensors, each `i32` dims, name length, type (0 f32, 1 f16), the dims in
//! ggml's order (innermost first), the name and the data. Convolution
//! weights and the STFT basis are f16, everything else f32 (whisper.cpp's
//! `models/convert-silero-vad-to-ggml.py` makes the same layout from the
//! PyTorch model).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

use crate::fetch::sha256_file;
use crate::ggml::{HashingWriter, GGML_MAGIC};
use crate::read_wav_16k;
use callscope_core::error::{Error, Result};
use callscope_core::model::SpeechRegion;

/// The PyPI project that ships Silero VAD's weights.
pub const SILERO_PROJECT: &str = "silero-vad";
/// Its pinned version.
pub const SILERO_VERSION: &str = "6.2.3";
/// The wheel's file name.
pub const SILERO_WHEEL: &str = "silero_vad-6.2.3-py3-none-any.whl";
/// SHA-256 of the wheel.
pub const SILERO_WHEEL_SHA256: &str =
    "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8";
/// The 16 kHz weights inside the wheel.
pub const SILERO_SAFETENSORS: &str = "silero_vad/data/silero_vad_16k.safetensors";
/// The converted model's file name in the models folder.
pub const SILERO_MODEL_FILE: &str = "ggml-silero-vad.bin";
/// Size of the converted model.
pub const SILERO_MODEL_BYTES: u64 = 885_102;
/// SHA-256 of the converted model (the conversion is deterministic).
pub const SILERO_MODEL_SHA256: &str =
    "5ddca637022567341226d7dc2c2aa28bbf0f4c17f43a860a1b97910ae4411f57";

/// The model type whisper.cpp logs.
const MODEL_TYPE: &str = "silero-16k";
/// Samples per VAD step at 16 kHz (32 ms).
const WINDOW_SAMPLES: i32 = 512;
/// Samples of the previous step the model sees.
const CONTEXT_SAMPLES: i32 = 64;

/// One tensor of a safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct SafeTensor {
    /// Its name in the file.
    pub name: String,
    /// PyTorch's shape (outermost first).
    pub shape: Vec<usize>,
    /// The values (only F32 tensors are read).
    pub values: Vec<f32>,
}

/// Reads a safetensors file: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets}}`, then the raw data.
/// Tensors come back in data order; only F32 data is accepted.
pub fn read_safetensors(bytes: &[u8], source: &str) -> Result<Vec<SafeTensor>> {
    let invalid = |reason: String| {
        Error::Model(format!(
            "{source}: not a usable safetensors file ({reason}); delete it and run `callscope \
             model fetch` again"
        ))
    };
    if bytes.len() < 8 {
        return Err(invalid("shorter than its header".to_string()));
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let data_start = 8usize
        .checked_add(header_len)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| invalid(format!("header of {header_len} bytes past the end")))?;
    let header: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&bytes[8..data_start])
        .map_err(|error| invalid(format!("header is not JSON: {error}")))?;
    let data = &bytes[data_start..];
    let mut tensors = Vec::new();
    let mut offsets = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = entry["dtype"].as_str().unwrap_or("");
        if dtype != "F32" {
            return Err(invalid(format!("{name} is {dtype}, expected F32")));
        }
        let numbers = |key: &str| -> Option<Vec<usize>> {
            entry[key]
                .as_array()?
                .iter()
                .map(|value| value.as_u64().map(|value| value as usize))
                .collect()
        };
        let shape = numbers("shape").ok_or_else(|| invalid(format!("{name}: no shape")))?;
        let span = numbers("data_offsets")
            .filter(|span| span.len() == 2 && span[0] <= span[1] && span[1] <= data.len())
            .ok_or_else(|| invalid(format!("{name}: bad data_offsets")))?;
        let count: usize = shape.iter().product();
        if span[1] - span[0] != count * 4 {
            return Err(invalid(format!(
                "{name}: {} bytes for shape {shape:?}",
                span[1] - span[0]
            )));
        }
        let values = data[span[0]..span[1]]
            .chunks_exact(4)
            .map(|chunk| f32::from_le_bytes(chunk.try_into().expect("4 bytes")))
            .collect();
        offsets.push(span[0]);
        tensors.push(SafeTensor {
            name,
            shape,
            values,
        });
    }
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&index| offsets[index]);
    let mut sorted: Vec<Option<SafeTensor>> = tensors.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter_map(|index| sorted[index].take())
        .collect())
}

/// How a converted tensor is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    F32,
    F16,
}

/// One tensor as whisper.cpp's VAD loader expects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedTensor {
    /// whisper.cpp's name.
    pub name: String,
    /// ggml dims, innermost first.
    pub dims: Vec<usize>,
    /// ggml type: 0 f32, 1 f16.
    pub ggml_type: i32,
}

/// What [`convert_silero`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SileroConversion {
    /// The tensors, in file order.
    pub tensors: Vec<ConvertedTensor>,
    /// Bytes written.
    pub bytes: u64,
    /// Their SHA-256.
    pub sha256: String,
}

/// Silero's safetensors names → whisper.cpp's, in the order they are
/// written, with how each is stored.
const TENSOR_MAP: [(&str, &str, Storage); 15] = [
    (
        "conv1.weight",
        "_model.encoder.0.reparam_conv.weight",
        Storage::F16,
    ),
    (
        "conv1.bias",
        "_model.encoder.0.reparam_conv.bias",
        Storage::F32,
    ),
    (
        "conv2.weight",
        "_model.encoder.1.reparam_conv.weight",
        Storage::F16,
    ),
    (
        "conv2.bias",
        "_model.encoder.1.reparam_conv.bias",
        Storage::F32,
    ),
    (
        "conv3.weight",
        "_model.encoder.2.reparam_conv.weight",
        Storage::F16,
    ),
    (
        "conv3.bias",
        "_model.encoder.2.reparam_conv.bias",
        Storage::F32,
    ),
    (
        "conv4.weight",
        "_model.encoder.3.reparam_conv.weight",
        Storage::F16,
    ),
    (
        "conv4.bias",
        "_model.encoder.3.reparam_conv.bias",
        Storage::F32,
    ),
    (
        "lstm_cell.weight_ih",
        "_model.decoder.rnn.weight_ih",
        Storage::F32,
    ),
    (
        "lstm_cell.weight_hh",
        "_model.decoder.rnn.weight_hh",
        Storage::F32,
    ),
    (
        "lstm_cell.bias_ih",
        "_model.decoder.rnn.bias_ih",
        Storage::F32,
    ),
    (
        "lstm_cell.bias_hh",
        "_model.decoder.rnn.bias_hh",
        Storage::F32,
    ),
    (
        "final_conv.weight",
        "_model.decoder.decoder.2.weight",
        Storage::F16,
    ),
    (
        "final_conv.bias",
        "_model.decoder.decoder.2.bias",
        Storage::F32,
    ),
    (
        "stft_conv.weight",
        "_model.stft.forward_basis_buffer",
        Storage::F16,
    ),
];

/// Converts Silero VAD's 16 kHz safetensors weights to whisper.cpp's ggml
/// VAD format, writing to `out`.
pub fn convert_silero(tensors: &[SafeTensor], out: &mut dyn Write) -> Result<SileroConversion> {
    let find = |name: &str| -> Result<&SafeTensor> {
        tensors
            .iter()
            .find(|tensor| tensor.name == name)
            .ok_or_else(|| {
                Error::Model(format!(
                    "the Silero weights have no tensor {name}: not the silero-vad \
                     {SILERO_VERSION} 16 kHz model"
                ))
            })
    };
    let shape_of = |name: &str, rank: usize| -> Result<Vec<usize>> {
        let tensor = find(name)?;
        if tensor.shape.len() != rank {
            return Err(Error::Model(format!(
                "Silero tensor {name} has shape {:?}, expected rank {rank}",
                tensor.shape
            )));
        }
        Ok(tensor.shape.clone())
    };
    let mut out = HashingWriter::new(out);
    let io = |error: std::io::Error| Error::Model(format!("writing the Silero model: {error}"));
    let mut header: Vec<i32> = Vec::new();
    let version: Vec<i32> = SILERO_VERSION
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    header.extend(&version);
    header.extend([WINDOW_SAMPLES, CONTEXT_SAMPLES, 4]);
    for layer in 1..=4 {
        // PyTorch Conv1d: [out, in, kernel].
        let shape = shape_of(&format!("conv{layer}.weight"), 3)?;
        header.extend([shape[1] as i32, shape[0] as i32, shape[2] as i32]);
    }
    let input_hidden = shape_of("lstm_cell.weight_ih", 2)?;
    let hidden_hidden = shape_of("lstm_cell.weight_hh", 2)?;
    let final_conv = shape_of("final_conv.weight", 3)?;
    header.extend([
        input_hidden[1] as i32,
        hidden_hidden[1] as i32,
        final_conv[1] as i32,
        final_conv[0] as i32,
    ]);
    out.write_all(&GGML_MAGIC.to_le_bytes()).map_err(io)?;
    out.write_all(&(MODEL_TYPE.len() as i32).to_le_bytes())
        .map_err(io)?;
    out.write_all(MODEL_TYPE.as_bytes()).map_err(io)?;
    for value in header {
        out.write_all(&value.to_le_bytes()).map_err(io)?;
    }
    let mut written = Vec::new();
    for (source, name, storage) in TENSOR_MAP {
        let tensor = find(source)?;
        // ggml dims are PyTorch's reversed, with size-1 dims squeezed out
        // (as the reference converter does), except the STFT basis, which
        // keeps its three dims [256, 1, 258].
        let mut dims: Vec<usize> = tensor.shape.iter().rev().copied().collect();
        if source != "stft_conv.weight" {
            dims.retain(|&dim| dim != 1);
            if dims.is_empty() {
                dims.push(1);
            }
        }
        let ggml_type = match storage {
            Storage::F32 => 0i32,
            Storage::F16 => 1,
        };
        for value in [dims.len() as i32, name.len() as i32, ggml_type] {
            out.write_all(&value.to_le_bytes()).map_err(io)?;
        }
        for &dim in &dims {
            out.write_all(&(dim as i32).to_le_bytes()).map_err(io)?;
        }
        out.write_all(name.as_bytes()).map_err(io)?;
        let mut data = Vec::with_capacity(tensor.values.len() * 4);
        for &value in &tensor.values {
            match storage {
                Storage::F32 => data.extend_from_slice(&value.to_le_bytes()),
                Storage::F16 => data.extend_from_slice(&half::f16::from_f32(value).to_le_bytes()),
            }
        }
        out.write_all(&data).map_err(io)?;
        written.push(ConvertedTensor {
            name: name.to_string(),
            dims,
            ggml_type,
        });
    }
    out.flush().map_err(io)?;
    let (bytes, sha256) = out.finish();
    Ok(SileroConversion {
        tensors: written,
        bytes,
        sha256,
    })
}

/// Where the silero-vad wheel is kept in the download cache.
pub fn silero_wheel_path(cache: &Path) -> PathBuf {
    cache.join("wheels").join(SILERO_WHEEL)
}

/// Reads the 16 kHz safetensors weights out of the wheel at `wheel`,
/// checking the wheel's pinned SHA-256 first.
pub fn read_wheel_weights(wheel: &Path) -> Result<Vec<u8>> {
    let sha256 = sha256_file(wheel)?;
    if sha256 != SILERO_WHEEL_SHA256 {
        return Err(Error::Model(format!(
            "{}: sha256 {sha256}, not the pinned {SILERO_WHEEL_SHA256} of {SILERO_PROJECT} \
             {SILERO_VERSION}: the wheel is damaged or changed; delete it and run `callscope \
             model fetch` again",
            wheel.display()
        )));
    }
    let file = File::open(wheel).map_err(|error| Error::io(wheel, error))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|error| {
        Error::Model(format!(
            "{}: not a readable wheel ({error}); delete it and run `callscope model fetch` again",
            wheel.display()
        ))
    })?;
    let mut entry = archive.by_name(SILERO_SAFETENSORS).map_err(|error| {
        Error::Model(format!(
            "{}: no {SILERO_SAFETENSORS} inside ({error}); delete it and run `callscope model \
             fetch` again",
            wheel.display()
        ))
    })?;
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).map_err(|error| {
        Error::Model(format!(
            "{}: could not unpack {SILERO_SAFETENSORS} ({error}); delete it and fetch again",
            wheel.display()
        ))
    })?;
    Ok(bytes)
}

/// Downloads the silero-vad wheel into `cache/wheels` with pip, unless it
/// is there already. Returns whether pip ran.
pub fn ensure_silero_wheel(cache: &Path, python: &str, say: &mut dyn FnMut(&str)) -> Result<bool> {
    let wheel = silero_wheel_path(cache);
    if wheel.is_file() {
        return Ok(false);
    }
    let wheel_dir = cache.join("wheels");
    std::fs::create_dir_all(&wheel_dir).map_err(|error| Error::io(&wheel_dir, error))?;
    say(&format!(
        "downloading Silero VAD ({SILERO_PROJECT} {SILERO_VERSION}, about 12 MB) from PyPI with \
         pip into {}",
        wheel_dir.display()
    ));
    let manual = format!(
        "or download {SILERO_WHEEL} from PyPI yourself and put it in {} (without it \
         transcription uses the energy VAD)",
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
        .arg(&wheel_dir)
        .arg(format!("{SILERO_PROJECT}=={SILERO_VERSION}"))
        .output()
        .map_err(|error| {
            Error::Model(format!(
                "could not run `{python}` ({error}): Silero VAD is downloaded with pip; install \
                 Python 3 with pip (Debian: apt-get install python3-pip), set CALLSCOPE_PYTHON \
                 to your interpreter, {manual}"
            ))
        })?;
    if output.status.success() && wheel.is_file() {
        return Ok(true);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
    Err(Error::Model(format!(
        "pip could not download {SILERO_PROJECT} {SILERO_VERSION} from PyPI: {tail}; check the \
         network connection to PyPI (or PIP_INDEX_URL for a mirror) and run `callscope model \
         fetch` again, {manual}"
    )))
}

/// Whether `path` is the converted Silero model with the pinned size and
/// checksum.
pub fn is_verified_silero(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.len() == SILERO_MODEL_BYTES => {
            Ok(sha256_file(path)? == SILERO_MODEL_SHA256)
        }
        _ => Ok(false),
    }
}

/// Whether `path` is a Silero VAD ggml file (by its model type), not a
/// Whisper model.
pub fn is_silero_file(path: &Path) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut head = [0u8; 8 + MODEL_TYPE.len()];
    file.read_exact(&mut head).is_ok()
        && head[..4] == GGML_MAGIC.to_le_bytes()
        && head[8..].starts_with(b"silero")
}

/// What [`fetch_silero`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SileroCheck {
    /// Speech found in the check clip, seconds.
    pub speech_regions: Vec<SpeechRegion>,
    /// Seconds of the check clip.
    pub clip_seconds: f64,
    /// Seconds detection took for clip and silence together.
    pub seconds: f64,
}

/// Converts the wheel's weights into `path` (through a temporary file) and
/// checks the result's pinned checksum and its behavior on the check clip.
pub fn build_silero_model(wheel: &Path, path: &Path) -> Result<(SileroConversion, SileroCheck)> {
    let bytes = read_wheel_weights(wheel)?;
    let tensors = read_safetensors(&bytes, SILERO_SAFETENSORS)?;
    let partial = path.with_extension("bin.partial");
    let conversion = {
        let file = File::create(&partial).map_err(|error| Error::io(&partial, error))?;
        let mut writer = BufWriter::new(file);
        let conversion = convert_silero(&tensors, &mut writer)?;
        writer.flush().map_err(|error| Error::io(&partial, error))?;
        conversion
    };
    if conversion.sha256 != SILERO_MODEL_SHA256 || conversion.bytes != SILERO_MODEL_BYTES {
        let rejected = path.with_extension("bin.rejected");
        let _ = std::fs::rename(&partial, &rejected);
        return Err(Error::Model(format!(
            "the Silero conversion gave {} bytes with sha256 {}, expected {SILERO_MODEL_BYTES} \
             bytes with sha256 {SILERO_MODEL_SHA256}; kept it as {} for inspection; please \
             report this",
            conversion.bytes,
            conversion.sha256,
            rejected.display()
        )));
    }
    let check = check_silero(&partial)?;
    std::fs::rename(&partial, path).map_err(|error| Error::io(path, error))?;
    Ok((conversion, check))
}

/// Loads the Silero model at `path` and runs it on the bundled check clip
/// (speech must be found over at least half of it) and on 3 s of digital
/// silence (nothing may be found).
pub fn check_silero(path: &Path) -> Result<SileroCheck> {
    let vad = SileroVad::load(path, SileroVadConfig::default())?;
    let clip = read_wav_16k(crate::fetch::CHECK_CLIP, "corpora/asr/check.wav")?;
    let started = Instant::now();
    let speech_regions = vad.detect(&clip)?;
    let silence = vad.detect(&vec![0.0f32; 3 * 16_000])?;
    let seconds = started.elapsed().as_secs_f64();
    let clip_seconds = clip.len() as f64 / 16_000.0;
    let speech: f64 = speech_regions
        .iter()
        .map(|region| region.end - region.start)
        .sum();
    if speech < clip_seconds / 2.0 || !silence.is_empty() {
        return Err(Error::Model(format!(
            "{} loads but finds {speech:.1} s of speech in the {clip_seconds:.1} s check clip \
             and {} regions in digital silence: the model is not usable; run `callscope model \
             fetch --force`",
            path.display(),
            silence.len()
        )));
    }
    Ok(SileroCheck {
        speech_regions,
        clip_seconds,
        seconds,
    })
}

/// Silero's decision settings: the `vad_*` keys of `[asr]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SileroVadConfig {
    /// Speech probability at or above which a 32 ms step is speech.
    pub threshold: f32,
    /// Shortest speech kept, seconds.
    pub min_speech_seconds: f64,
    /// Pauses shorter than this do not end speech, seconds.
    pub min_silence_seconds: f64,
    /// The same on mono speech, where the other speaker may answer after a
    /// short pause: a region holding a line and its answer lost the line
    /// in a test call (see [`SileroVadConfig::for_mono`]).
    pub mono_min_silence_seconds: f64,
    /// Seconds added before and after each region.
    pub pad_seconds: f64,
    /// Longest region before it is cut, seconds.
    pub max_speech_seconds: f64,
}

impl Default for SileroVadConfig {
    fn default() -> SileroVadConfig {
        SileroVadConfig {
            threshold: 0.5,
            min_speech_seconds: 0.25,
            min_silence_seconds: 0.3,
            mono_min_silence_seconds: 0.1,
            pad_seconds: 0.2,
            max_speech_seconds: 25.0,
        }
    }
}

impl SileroVadConfig {
    /// The settings for a mono track: pauses of `mono_min_silence_seconds`
    /// end speech.
    pub fn for_mono(&self) -> SileroVadConfig {
        SileroVadConfig {
            min_silence_seconds: self.mono_min_silence_seconds,
            ..*self
        }
    }
}

/// Silero VAD (whisper.cpp's `whisper_vad_context`, one thread each). One
/// instance serves every worker: a detection borrows an idle context from
/// the pool, or loads another (the model is 0.9 MB) when all are busy, so
/// workers never wait on each other.
pub struct SileroVad {
    idle: Mutex<Vec<WhisperVadContext>>,
    config: SileroVadConfig,
    path: PathBuf,
}

impl std::fmt::Debug for SileroVad {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SileroVad")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish()
    }
}

impl SileroVad {
    /// Loads the converted model at `path` (`models/ggml-silero-vad.bin`
    /// from `callscope model fetch`).
    pub fn load(path: &Path, config: SileroVadConfig) -> Result<SileroVad> {
        if !path.is_file() {
            return Err(Error::Model(format!(
                "{}: no Silero VAD model there; run `callscope model fetch` to build it, or use \
                 the energy VAD (`[asr] vad = \"energy\"`, --vad energy)",
                path.display()
            )));
        }
        whisper_rs::install_logging_hooks();
        let context = load_context(path)?;
        Ok(SileroVad {
            idle: Mutex::new(vec![context]),
            config,
            path: path.to_path_buf(),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> SileroVadConfig {
        self.config
    }

    /// The speech regions of one channel of 16 kHz samples, in seconds from
    /// the first sample.
    pub fn detect(&self, samples: &[f32]) -> Result<Vec<SpeechRegion>> {
        self.detect_with(samples, &self.config)
    }

    /// [`SileroVad::detect`] with other decision settings.
    pub fn detect_with(
        &self,
        samples: &[f32],
        config: &SileroVadConfig,
    ) -> Result<Vec<SpeechRegion>> {
        // Shorter than one step: nothing to decide.
        if samples.len() < WINDOW_SAMPLES as usize {
            return Ok(Vec::new());
        }
        let mut parameters = WhisperVadParams::new();
        parameters.set_threshold(config.threshold);
        parameters.set_min_speech_duration((config.min_speech_seconds * 1000.0) as i32);
        parameters.set_min_silence_duration((config.min_silence_seconds * 1000.0) as i32);
        parameters.set_max_speech_duration(config.max_speech_seconds as f32);
        parameters.set_speech_pad((config.pad_seconds * 1000.0) as i32);
        parameters.set_samples_overlap(0.0);
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .pop();
        let mut context = match idle {
            Some(context) => context,
            None => load_context(&self.path)?,
        };
        let failed = |what: &str| {
            Error::Model(format!(
                "{}: Silero VAD failed while {what}; run `callscope model fetch --force`, or use \
                 the energy VAD (--vad energy)",
                self.path.display()
            ))
        };
        context
            .detect_speech(samples)
            .map_err(|_| failed("reading the audio"))?;
        let segments = context
            .segments_from_probabilities(parameters)
            .map_err(|_| failed("finding speech"))?;
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(context);
        let duration = samples.len() as f64 / 16_000.0;
        // whisper.cpp gives centiseconds.
        Ok(segments
            .map(|segment| SpeechRegion {
                start: (segment.start as f64 / 100.0).clamp(0.0, duration),
                end: (segment.end as f64 / 100.0).clamp(0.0, duration),
            })
            .filter(|region| region.end > region.start)
            .collect())
    }
}

/// One whisper.cpp Silero context on one thread, CPU only.
fn load_context(path: &Path) -> Result<WhisperVadContext> {
    let text = path.to_str().ok_or_else(|| {
        Error::Model(format!(
            "{}: the path is not UTF-8; move the model to a plain path",
            path.display()
        ))
    })?;
    let mut parameters = WhisperVadContextParams::default();
    parameters.set_n_threads(1);
    parameters.set_use_gpu(false);
    WhisperVadContext::new(text, parameters).map_err(|error| {
        Error::Model(format!(
            "{}: whisper.cpp could not load it as a Silero VAD model ({error}); run \
             `callscope model fetch --force`",
            path.display()
        ))
    })
}

/// Keeps the Silero regions that overlap a region the energy VAD kept
/// (`gate`), clipped to `span`: Silero decides where speech starts and ends,
/// the energy VAD's checks (hold music, clicks, digital silence, the
/// telephone band) decide which stretches may hold speech at all.
pub fn gate_regions(
    silero: &[SpeechRegion],
    gate: &[SpeechRegion],
    span: (f64, f64),
) -> Vec<SpeechRegion> {
    silero
        .iter()
        .filter(|region| {
            gate.iter()
                .any(|kept| region.start < kept.end && kept.start < region.end)
        })
        .map(|region| SpeechRegion {
            start: region.start.max(span.0),
            end: region.end.min(span.1),
        })
        .filter(|region| region.end > region.start)
        .collect()
}

/// Where `fetch` writes the Silero model: `dir/ggml-silero-vad.bin`.
pub fn silero_model_path(dir: &Path) -> PathBuf {
    dir.join(SILERO_MODEL_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start: f64, end: f64) -> SpeechRegion {
        SpeechRegion { start, end }
    }

    /// The safetensors file from the cached wheel, else from an unpacked
    /// wheel in `$CALLSCOPE_SILERO_SAFETENSORS`; `None` (with a message)
    /// when neither is there, unless `CI` is set.
    fn real_weights() -> Option<Vec<u8>> {
        if let Some(path) = std::env::var_os("CALLSCOPE_SILERO_SAFETENSORS") {
            return Some(std::fs::read(path).unwrap());
        }
        let wheel = silero_wheel_path(&crate::cache_dir());
        if wheel.is_file() {
            return Some(read_wheel_weights(&wheel).unwrap());
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing: run `callscope model fetch`",
            wheel.display()
        );
        eprintln!(
            "skipped: {} missing (run `callscope model fetch`)",
            wheel.display()
        );
        None
    }

    #[test]
    fn the_real_weights_convert_to_the_layout_whisper_cpp_loads() {
        let Some(bytes) = real_weights() else {
            return;
        };
        let tensors = read_safetensors(&bytes, "silero").unwrap();
        assert_eq!(tensors.len(), 15);
        let mut out = Vec::new();
        let conversion = convert_silero(&tensors, &mut out).unwrap();
        assert_eq!(conversion.bytes, out.len() as u64);
        assert_eq!(conversion.tensors.len(), 15);
        let dims = |name: &str| {
            conversion
                .tensors
                .iter()
                .find(|tensor| tensor.name == name)
                .map(|tensor| (tensor.dims.clone(), tensor.ggml_type))
                .unwrap()
        };
        assert_eq!(
            dims("_model.stft.forward_basis_buffer"),
            (vec![256, 1, 258], 1)
        );
        assert_eq!(
            dims("_model.encoder.0.reparam_conv.weight"),
            (vec![3, 129, 128], 1)
        );
        assert_eq!(dims("_model.encoder.3.reparam_conv.bias"), (vec![128], 0));
        assert_eq!(dims("_model.decoder.rnn.weight_ih"), (vec![128, 512], 0));
        assert_eq!(dims("_model.decoder.decoder.2.weight"), (vec![128], 1));
        assert_eq!(dims("_model.decoder.decoder.2.bias"), (vec![1], 0));
        // The header: magic, type, version, window, context, 4 layers of
        // (in, out, kernel), LSTM and final sizes.
        let word =
            |index: usize| i32::from_le_bytes(out[index * 4..index * 4 + 4].try_into().unwrap());
        assert_eq!(word(0) as u32, GGML_MAGIC);
        assert_eq!(word(1), MODEL_TYPE.len() as i32);
        let after_type = 8 + MODEL_TYPE.len();
        let header: Vec<i32> = out[after_type..after_type + 4 * 20]
            .chunks_exact(4)
            .map(|chunk| i32::from_le_bytes(chunk.try_into().unwrap()))
            .collect();
        assert_eq!(
            header,
            vec![6, 2, 3, 512, 64, 4, 129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3, 128, 128]
        );
        assert_eq!(
            (conversion.bytes, conversion.sha256.as_str()),
            (SILERO_MODEL_BYTES, SILERO_MODEL_SHA256)
        );
    }

    #[test]
    fn a_damaged_safetensors_file_is_refused_with_what_to_do() {
        let error = read_safetensors(b"\x10\0\0\0\0\0\0\0{}", "x.safetensors")
            .unwrap_err()
            .to_string();
        assert!(error.contains("model fetch"), "{error}");
        let header = br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&1.5f32.to_le_bytes());
        bytes.extend_from_slice(&(-2.0f32).to_le_bytes());
        let tensors = read_safetensors(&bytes, "x").unwrap();
        assert_eq!(tensors[0].values, vec![1.5, -2.0]);
        let error = convert_silero(&tensors, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("conv1.weight"), "{error}");
    }

    #[test]
    fn silero_regions_are_kept_where_the_energy_vad_found_something() {
        let silero = [region(0.1, 1.0), region(2.0, 3.0), region(4.0, 6.5)];
        let gate = [region(0.0, 1.2), region(4.5, 5.0)];
        assert_eq!(
            gate_regions(&silero, &gate, (0.0, 6.0)),
            vec![region(0.1, 1.0), region(4.0, 6.0)]
        );
    }
}
