//! Writer for whisper.cpp's ggml model file, from a CTranslate2 Whisper
//! model: the conversion `callscope model fetch` runs.
//!
//! The file is `i32 magic` (`ggml`), eleven `i32` hyper-parameters, the
//! mel filterbank (`i32 n_mel, i32 n_fft` and f32 values: librosa's Slaney
//! mel for 16 kHz and a 400-point FFT), the byte-level BPE vocabulary
//! (`i32 count`, then `i32 length` and bytes per token, decoded from
//! GPT-2's byte-to-unicode form), then the tensors: `i32 n_dims, i32
//! name_length, i32 type`, the dims innermost first, the name and the data.
//! Matrices are f16, q8_0 or iq4_nl, convolution kernels f16, everything
//! else f32,
//! as whisper.cpp's loader expects. The output is deterministic: the same
//! weights always give the same bytes, so `fetch` pins its checksum.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use half::f16;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::ct2::{Ct2Model, Ct2Variable};
use callscope_core::error::{Error, Result};

/// `ggml` in the file's first four bytes (little-endian i32).
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// ggml's quantization version, folded into a quantized file's ftype.
const GGML_QNT_VERSION: i32 = 2;
const GGML_QNT_VERSION_FACTOR: i32 = 1000;

/// Values per q8_0 block.
pub const Q8_0_BLOCK: usize = 32;
/// Bytes per q8_0 block: an f16 scale and 32 signed bytes.
pub const Q8_0_BLOCK_BYTES: usize = 2 + Q8_0_BLOCK;

/// Values per iq4_nl block.
pub const IQ4_NL_BLOCK: usize = 32;
/// Bytes per iq4_nl block: an f16 scale and 32 four-bit indices.
pub const IQ4_NL_BLOCK_BYTES: usize = 2 + IQ4_NL_BLOCK / 2;
/// iq4_nl's codebook (ggml's `kvalues_iq4nl`): sixteen levels, denser
/// near zero, where most weights lie.
const IQ4_NL_VALUES: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// How the weight matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightType {
    /// IEEE half floats (the weights as trained).
    F16,
    /// ggml's 8-bit blocks: 32 values share one f16 scale.
    Q8_0,
    /// ggml's non-linear 4-bit blocks: 32 values share one f16 scale and
    /// index a 16-level codebook. On x86 with AVX2 whisper.cpp repacks
    /// them for its 8x8 integer kernels at load.
    Iq4Nl,
}

impl WeightType {
    /// The file's `ftype` hyper-parameter.
    fn ftype(self) -> i32 {
        match self {
            WeightType::F16 => 1,
            // GGML_FTYPE_MOSTLY_Q8_0, tagged with the quantization version.
            WeightType::Q8_0 => 7 + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR,
            // GGML_FTYPE_MOSTLY_IQ4_NL.
            WeightType::Iq4Nl => 19 + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR,
        }
    }

    /// The ggml tensor type of a weight matrix.
    fn tensor_type(self) -> i32 {
        match self {
            WeightType::F16 => TYPE_F16,
            WeightType::Q8_0 => TYPE_Q8_0,
            WeightType::Iq4Nl => TYPE_IQ4_NL,
        }
    }
}

const TYPE_F32: i32 = 0;
const TYPE_F16: i32 = 1;
const TYPE_Q8_0: i32 = 8;
const TYPE_IQ4_NL: i32 = 20;

/// Whisper's hyper-parameters as whisper.cpp reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    /// Vocabulary size including special tokens (51865 multilingual).
    pub n_vocab: i32,
    /// Encoder positions (1500 = 30 s).
    pub n_audio_ctx: i32,
    /// Encoder width.
    pub n_audio_state: i32,
    /// Encoder attention heads.
    pub n_audio_head: i32,
    /// Encoder layers.
    pub n_audio_layer: i32,
    /// Decoder positions (448).
    pub n_text_ctx: i32,
    /// Decoder width.
    pub n_text_state: i32,
    /// Decoder attention heads.
    pub n_text_head: i32,
    /// Decoder layers.
    pub n_text_layer: i32,
    /// Mel bands (80, or 128 for large-v3).
    pub n_mels: i32,
    /// Weight type code (1 f16; quantized types carry the version × 1000).
    pub ftype: i32,
}

impl Hparams {
    /// The conventional model size name (`tiny`, `base`, ... `large-v3-turbo`).
    pub fn size_name(&self) -> &'static str {
        match (self.n_audio_layer, self.n_text_layer, self.n_mels) {
            (4, _, _) => "tiny",
            (6, _, _) => "base",
            (12, _, _) => "small",
            (24, _, _) => "medium",
            (32, 4, 128) => "large-v3-turbo",
            (32, _, 128) => "large-v3",
            (32, _, _) => "large",
            _ => "unknown",
        }
    }

    /// The weight type's name (`f16`, `q8_0`, ...).
    pub fn weight_name(&self) -> String {
        match self.ftype % GGML_QNT_VERSION_FACTOR {
            0 => "f32".to_string(),
            1 => "f16".to_string(),
            2 => "q4_0".to_string(),
            3 => "q4_1".to_string(),
            7 => "q8_0".to_string(),
            8 => "q5_0".to_string(),
            9 => "q5_1".to_string(),
            19 => "iq4_nl".to_string(),
            other => format!("ftype {other}"),
        }
    }

    /// Reads the header of a ggml model file.
    pub fn read_file(path: &Path) -> Result<Hparams> {
        let mut file = std::fs::File::open(path).map_err(|error| Error::io(path, error))?;
        let mut header = [0u8; 48];
        file.read_exact(&mut header).map_err(|_| {
            Error::Model(format!(
                "{}: too short to be a whisper.cpp model",
                path.display()
            ))
        })?;
        let value = |index: usize| {
            i32::from_le_bytes([
                header[index * 4],
                header[index * 4 + 1],
                header[index * 4 + 2],
                header[index * 4 + 3],
            ])
        };
        if value(0) as u32 != GGML_MAGIC {
            return Err(Error::Model(format!(
                "{}: not a whisper.cpp ggml model (bad magic); convert it or run `callscope \
                 model fetch`",
                path.display()
            )));
        }
        Ok(Hparams {
            n_vocab: value(1),
            n_audio_ctx: value(2),
            n_audio_state: value(3),
            n_audio_head: value(4),
            n_audio_layer: value(5),
            n_text_ctx: value(6),
            n_text_state: value(7),
            n_text_head: value(8),
            n_text_layer: value(9),
            n_mels: value(10),
            ftype: value(11),
        })
    }
}

/// The text tokens of a ggml model file, by id: the byte-level BPE
/// vocabulary stored after the mel filters (special and timestamp tokens
/// follow implicitly, from end-of-text on).
pub fn read_vocabulary(path: &Path) -> Result<Vec<Vec<u8>>> {
    let damaged = |what: &str| {
        Error::Model(format!(
            "{}: {what}; the model file is damaged: run `callscope model fetch --force` or give \
             another with --model",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(|error| Error::io(path, error))?;
    let mut reader = std::io::BufReader::new(file);
    let read_i32 = |reader: &mut std::io::BufReader<std::fs::File>| -> Result<i32> {
        let mut bytes = [0u8; 4];
        reader
            .read_exact(&mut bytes)
            .map_err(|_| damaged("it ends inside its header or vocabulary"))?;
        Ok(i32::from_le_bytes(bytes))
    };
    // The magic and the 11 hyper-parameters (Hparams::read_file checks them).
    for _ in 0..12 {
        read_i32(&mut reader)?;
    }
    let n_mel = read_i32(&mut reader)?;
    let n_fft = read_i32(&mut reader)?;
    if !(0..=1024).contains(&n_mel) || !(0..=4096).contains(&n_fft) {
        return Err(damaged("its mel filter size is out of range"));
    }
    std::io::copy(
        &mut (&mut reader).take(4 * n_mel as u64 * n_fft as u64),
        &mut std::io::sink(),
    )
    .map_err(|error| Error::io(path, error))?;
    let n_tokens = read_i32(&mut reader)?;
    if !(0..=1_000_000).contains(&n_tokens) {
        return Err(damaged("its vocabulary size is out of range"));
    }
    let mut tokens = Vec::with_capacity(n_tokens as usize);
    for _ in 0..n_tokens {
        let length = read_i32(&mut reader)?;
        if !(0..=1024).contains(&length) {
            return Err(damaged("a token's length is out of range"));
        }
        let mut token = vec![0u8; length as usize];
        reader
            .read_exact(&mut token)
            .map_err(|_| damaged("it ends inside its vocabulary"))?;
        tokens.push(token);
    }
    Ok(tokens)
}

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionSummary {
    /// The hyper-parameters written.
    pub hparams: Hparams,
    /// Tensors written.
    pub tensors: usize,
    /// Tokens written.
    pub tokens: usize,
    /// File size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// Converts CTranslate2 Whisper models to whisper.cpp's format.
#[derive(Debug, Clone, Copy)]
pub struct GgmlConverter {
    weights: WeightType,
}

impl GgmlConverter {
    /// A converter that stores weight matrices as `weights`.
    pub fn new(weights: WeightType) -> GgmlConverter {
        GgmlConverter { weights }
    }

    /// Writes the ggml file for `model` with `vocabulary` (the lines of
    /// CTranslate2's `vocabulary.txt`) into `out`.
    pub fn run(
        &self,
        model: &Ct2Model,
        vocabulary: &[String],
        out: &mut impl Write,
    ) -> Result<ConversionSummary> {
        if model.spec != "WhisperSpec" {
            return Err(Error::Model(format!(
                "the CTranslate2 model is a {}, not a Whisper model",
                model.spec
            )));
        }
        let plan = plan_tensors(model)?;
        let hparams = hparams(model, vocabulary, self.weights)?;
        let base_tokens = base_vocabulary(vocabulary)?;
        let mut out = HashingWriter::new(out);

        let write_error =
            |error: std::io::Error| Error::Model(format!("writing the model: {error}"));
        let mut header = Vec::with_capacity(48);
        header.extend_from_slice(&GGML_MAGIC.to_le_bytes());
        for value in [
            hparams.n_vocab,
            hparams.n_audio_ctx,
            hparams.n_audio_state,
            hparams.n_audio_head,
            hparams.n_audio_layer,
            hparams.n_text_ctx,
            hparams.n_text_state,
            hparams.n_text_head,
            hparams.n_text_layer,
            hparams.n_mels,
            hparams.ftype,
        ] {
            header.extend_from_slice(&value.to_le_bytes());
        }
        out.write_all(&header).map_err(write_error)?;

        let n_fft_bins = WHISPER_N_FFT / 2 + 1;
        let filters =
            slaney_mel_filters(WHISPER_SAMPLE_RATE, WHISPER_N_FFT, hparams.n_mels as usize);
        out.write_all(&hparams.n_mels.to_le_bytes())
            .and_then(|_| out.write_all(&(n_fft_bins as i32).to_le_bytes()))
            .and_then(|_| out.write_all(&f32_bytes(&filters)))
            .map_err(write_error)?;

        let decoder = ByteDecoder::gpt2();
        out.write_all(&(base_tokens.len() as i32).to_le_bytes())
            .map_err(write_error)?;
        for (id, token) in base_tokens.iter().enumerate() {
            let bytes = decoder.decode(token).ok_or_else(|| {
                Error::Model(format!(
                    "vocabulary token {id} ({token:?}) is not in GPT-2's byte-level form"
                ))
            })?;
            out.write_all(&(bytes.len() as i32).to_le_bytes())
                .and_then(|_| out.write_all(&bytes))
                .map_err(write_error)?;
        }

        for tensor in &plan {
            let (tensor_type, data) = tensor.encode(model, self.weights)?;
            let dims: Vec<i32> = tensor.shape.iter().rev().map(|&dim| dim as i32).collect();
            let mut tensor_header = Vec::with_capacity(12 + 4 * dims.len() + tensor.name.len());
            tensor_header.extend_from_slice(&(dims.len() as i32).to_le_bytes());
            tensor_header.extend_from_slice(&(tensor.name.len() as i32).to_le_bytes());
            tensor_header.extend_from_slice(&tensor_type.to_le_bytes());
            for dim in dims {
                tensor_header.extend_from_slice(&dim.to_le_bytes());
            }
            tensor_header.extend_from_slice(tensor.name.as_bytes());
            out.write_all(&tensor_header)
                .and_then(|_| out.write_all(&data))
                .map_err(write_error)?;
        }
        out.flush().map_err(write_error)?;
        let (bytes, sha256) = out.finish();
        Ok(ConversionSummary {
            hparams,
            tensors: plan.len(),
            tokens: base_tokens.len(),
            bytes,
            sha256,
        })
    }
}

/// Whisper's audio front end: 16 kHz, 25 ms FFT.
const WHISPER_SAMPLE_RATE: f64 = 16_000.0;
const WHISPER_N_FFT: usize = 400;

fn hparams(model: &Ct2Model, vocabulary: &[String], weights: WeightType) -> Result<Hparams> {
    let embeddings = model.require("decoder/embeddings/weight")?;
    let encoder_positions = model.require("encoder/position_encodings/encodings")?;
    let decoder_positions = model.require("decoder/position_encodings/encodings")?;
    let conv1 = model.require("encoder/conv1/weight")?;
    let heads = |name: &str| -> Result<i32> {
        model
            .require(name)?
            .scalar_i64()
            .map(|value| value as i32)
            .ok_or_else(|| Error::Model(format!("{name} is not a scalar")))
    };
    if embeddings.shape.len() != 2 || conv1.shape.len() != 3 {
        return Err(Error::Model(
            "the CTranslate2 model's embeddings or convolutions have unexpected shapes".to_string(),
        ));
    }
    let n_vocab = embeddings.shape[0];
    if vocabulary.len() != n_vocab {
        return Err(Error::Model(format!(
            "vocabulary.txt has {} tokens but the model has {n_vocab}; the model files do not \
             belong together",
            vocabulary.len()
        )));
    }
    Ok(Hparams {
        n_vocab: n_vocab as i32,
        n_audio_ctx: encoder_positions.shape[0] as i32,
        n_audio_state: encoder_positions.shape[1] as i32,
        n_audio_head: heads("encoder/num_heads")?,
        n_audio_layer: count_layers(model, "encoder") as i32,
        n_text_ctx: decoder_positions.shape[0] as i32,
        n_text_state: embeddings.shape[1] as i32,
        n_text_head: heads("decoder/num_heads")?,
        n_text_layer: count_layers(model, "decoder") as i32,
        n_mels: conv1.shape[1] as i32,
        ftype: weights.ftype(),
    })
}

fn count_layers(model: &Ct2Model, stack: &str) -> usize {
    let prefix = format!("{stack}/layer_");
    let mut count = 0;
    while model
        .variables
        .range(format!("{prefix}{count}/")..)
        .next()
        .is_some_and(|(name, _)| name.starts_with(&format!("{prefix}{count}/")))
    {
        count += 1;
    }
    count
}

/// The BPE tokens before the first special token (`<|endoftext|>`):
/// whisper.cpp adds the special and timestamp tokens itself.
fn base_vocabulary(vocabulary: &[String]) -> Result<&[String]> {
    let end = vocabulary
        .iter()
        .position(|token| token == "<|endoftext|>")
        .ok_or_else(|| Error::Model("vocabulary.txt has no <|endoftext|> token".to_string()))?;
    Ok(&vocabulary[..end])
}

/// How a planned tensor is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// A weight matrix: f16, q8_0 or iq4_nl.
    Matrix,
    /// A convolution kernel: always f16.
    Kernel,
    /// Biases, norms, positional embeddings: f32.
    Float,
}

/// One ggml tensor and where its values come from.
#[derive(Debug, Clone)]
struct PlannedTensor {
    name: String,
    source: String,
    /// Rows `start..end` of the source's first dimension (fused matrices).
    rows: Option<(usize, usize)>,
    /// Shape, outermost first (PyTorch order).
    shape: Vec<usize>,
    storage: Storage,
}

impl PlannedTensor {
    fn source_slice<'a>(&self, variable: &'a Ct2Variable) -> Result<&'a [u8]> {
        let Some((start, end)) = self.rows else {
            return Ok(&variable.data);
        };
        let row_elements: usize = variable.shape.iter().skip(1).product();
        let row_bytes = row_elements * variable.dtype.size();
        if end > variable.shape[0] {
            return Err(Error::Model(format!(
                "{}: rows {start}..{end} out of {}",
                variable.name, variable.shape[0]
            )));
        }
        Ok(&variable.data[start * row_bytes..end * row_bytes])
    }

    fn encode(&self, model: &Ct2Model, weights: WeightType) -> Result<(i32, Vec<u8>)> {
        let variable = model.require(&self.source)?;
        let slice = Ct2Variable {
            name: variable.name.clone(),
            shape: vec![self.shape.iter().product()],
            dtype: variable.dtype,
            data: self.source_slice(variable)?.to_vec(),
        };
        let expected: usize = self.shape.iter().product();
        if slice.len() != expected {
            return Err(Error::Model(format!(
                "{}: {} values where {} were expected",
                self.source,
                slice.len(),
                expected
            )));
        }
        let unsupported = || {
            Error::Model(format!(
                "{}: integer weights are not supported; convert the model with float16 weights",
                self.source
            ))
        };
        Ok(match (self.storage, weights) {
            (Storage::Float, _) => (TYPE_F32, f32_bytes(&slice.to_f32())),
            (Storage::Kernel, _) | (Storage::Matrix, WeightType::F16) => {
                let values = slice.to_f16().ok_or_else(unsupported)?;
                let bytes = values
                    .iter()
                    .flat_map(|value| value.to_le_bytes())
                    .collect();
                (TYPE_F16, bytes)
            }
            (Storage::Matrix, WeightType::Q8_0 | WeightType::Iq4Nl) => {
                let row = *self.shape.last().unwrap_or(&0);
                if row % Q8_0_BLOCK != 0 {
                    return Err(Error::Model(format!(
                        "{}: rows of {row} values cannot be split into blocks of \
                         {Q8_0_BLOCK}; use the f16 model",
                        self.source
                    )));
                }
                let values = slice.to_f16().ok_or_else(unsupported)?;
                let values: Vec<f32> = values.iter().map(|value| value.to_f32()).collect();
                let bytes = if weights == WeightType::Q8_0 {
                    quantize_q8_0(&values)
                } else {
                    quantize_iq4_nl(&values)
                };
                (weights.tensor_type(), bytes)
            }
        })
    }
}

/// The ggml tensors of a Whisper model in the order the PyTorch checkpoint
/// lists them, mapped from CTranslate2's variable names.
fn plan_tensors(model: &Ct2Model) -> Result<Vec<PlannedTensor>> {
    let shape_of = |name: &str| -> Result<Vec<usize>> { Ok(model.require(name)?.shape.clone()) };
    let mut plan = Vec::new();
    let whole =
        |plan: &mut Vec<PlannedTensor>, name: String, source: String, storage| -> Result<()> {
            let shape = shape_of(&source)?;
            plan.push(PlannedTensor {
                name,
                source,
                rows: None,
                shape,
                storage,
            });
            Ok(())
        };
    // Splits fused projections: `parts` are (ggml name or "" to drop, rows).
    let split = |plan: &mut Vec<PlannedTensor>, source: &str, parts: &[&str]| -> Result<()> {
        let weight = format!("{source}/weight");
        let bias = format!("{source}/bias");
        let weight_shape = shape_of(&weight)?;
        let rows = weight_shape[0] / parts.len();
        for (index, part) in parts.iter().enumerate() {
            let range = (index * rows, (index + 1) * rows);
            plan.push(PlannedTensor {
                name: format!("{part}.weight"),
                source: weight.clone(),
                rows: Some(range),
                shape: vec![rows, weight_shape[1]],
                storage: Storage::Matrix,
            });
            if part.ends_with(".key") {
                // whisper has no key bias: CTranslate2 stores zeros there.
                let values = model.require(&bias)?.to_f32();
                if values[range.0..range.1].iter().any(|&value| value != 0.0) {
                    return Err(Error::Model(format!(
                        "{bias}: the key projection has a bias, which whisper.cpp cannot load"
                    )));
                }
                continue;
            }
            plan.push(PlannedTensor {
                name: format!("{part}.bias"),
                source: bias.clone(),
                rows: Some(range),
                shape: vec![rows],
                storage: Storage::Float,
            });
        }
        Ok(())
    };
    let linear = |plan: &mut Vec<PlannedTensor>, target: &str, source: &str| -> Result<()> {
        split(plan, source, &[target])
    };
    let norm = |plan: &mut Vec<PlannedTensor>, target: &str, source: &str| -> Result<()> {
        for (suffix, ct2) in [("weight", "gamma"), ("bias", "beta")] {
            let source = format!("{source}/{ct2}");
            plan.push(PlannedTensor {
                name: format!("{target}.{suffix}"),
                shape: shape_of(&source)?,
                source,
                rows: None,
                storage: Storage::Float,
            });
        }
        Ok(())
    };

    whole(
        &mut plan,
        "encoder.positional_embedding".into(),
        "encoder/position_encodings/encodings".into(),
        Storage::Float,
    )?;
    for conv in ["conv1", "conv2"] {
        whole(
            &mut plan,
            format!("encoder.{conv}.weight"),
            format!("encoder/{conv}/weight"),
            Storage::Kernel,
        )?;
        let source = format!("encoder/{conv}/bias");
        let channels = shape_of(&source)?[0];
        plan.push(PlannedTensor {
            name: format!("encoder.{conv}.bias"),
            source,
            rows: None,
            shape: vec![channels, 1],
            storage: Storage::Float,
        });
    }
    let block = |plan: &mut Vec<PlannedTensor>, stack: &str, layer: usize| -> Result<()> {
        let target = format!("{stack}.blocks.{layer}");
        let source = format!("{stack}/layer_{layer}");
        split(
            plan,
            &format!("{source}/self_attention/linear_0"),
            &[
                &format!("{target}.attn.query"),
                &format!("{target}.attn.key"),
                &format!("{target}.attn.value"),
            ],
        )?;
        linear(
            plan,
            &format!("{target}.attn.out"),
            &format!("{source}/self_attention/linear_1"),
        )?;
        norm(
            plan,
            &format!("{target}.attn_ln"),
            &format!("{source}/self_attention/layer_norm"),
        )?;
        if stack == "decoder" {
            linear(
                plan,
                &format!("{target}.cross_attn.query"),
                &format!("{source}/attention/linear_0"),
            )?;
            split(
                plan,
                &format!("{source}/attention/linear_1"),
                &[
                    &format!("{target}.cross_attn.key"),
                    &format!("{target}.cross_attn.value"),
                ],
            )?;
            linear(
                plan,
                &format!("{target}.cross_attn.out"),
                &format!("{source}/attention/linear_2"),
            )?;
            norm(
                plan,
                &format!("{target}.cross_attn_ln"),
                &format!("{source}/attention/layer_norm"),
            )?;
        }
        linear(
            plan,
            &format!("{target}.mlp.0"),
            &format!("{source}/ffn/linear_0"),
        )?;
        linear(
            plan,
            &format!("{target}.mlp.2"),
            &format!("{source}/ffn/linear_1"),
        )?;
        norm(
            plan,
            &format!("{target}.mlp_ln"),
            &format!("{source}/ffn/layer_norm"),
        )
    };
    for layer in 0..count_layers(model, "encoder") {
        block(&mut plan, "encoder", layer)?;
    }
    norm(&mut plan, "encoder.ln_post", "encoder/layer_norm")?;
    whole(
        &mut plan,
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings".into(),
        Storage::Float,
    )?;
    whole(
        &mut plan,
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight".into(),
        Storage::Matrix,
    )?;
    for layer in 0..count_layers(model, "decoder") {
        block(&mut plan, "decoder", layer)?;
    }
    norm(&mut plan, "decoder.ln", "decoder/layer_norm")?;
    Ok(plan)
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

/// Quantizes `values` (a multiple of 32 long) to ggml's q8_0 blocks,
/// exactly as ggml's reference `quantize_row_q8_0` does: per block of 32,
/// scale `d = max|x| / 127` stored as f16, values `round(x / d)`.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    debug_assert!(values.len() % Q8_0_BLOCK == 0);
    let mut out = Vec::with_capacity(values.len() / Q8_0_BLOCK * Q8_0_BLOCK_BYTES);
    for block in values.chunks(Q8_0_BLOCK) {
        let max = block.iter().fold(0.0f32, |max, value| max.max(value.abs()));
        let scale = max / 127.0;
        let inverse = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(scale).to_le_bytes());
        out.extend(
            block
                .iter()
                .map(|value| (value * inverse).round() as i8 as u8),
        );
    }
    out
}

/// Expands q8_0 blocks back to f32 (tests and checks).
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q8_0_BLOCK_BYTES * Q8_0_BLOCK);
    for block in bytes.chunks_exact(Q8_0_BLOCK_BYTES) {
        let scale = f16::from_le_bytes([block[0], block[1]]).to_f32();
        out.extend(block[2..].iter().map(|&byte| byte as i8 as f32 * scale));
    }
    out
}

/// Quantizes `values` (a multiple of 32 long) to ggml's iq4_nl blocks as
/// ggml's `quantize_iq4_nl` does without an importance matrix: per block,
/// the scale that minimizes the squared error weighted by each value's
/// square, searched over fifteen candidates around `max / -127`; then
/// each value's nearest codebook level. Deterministic (no fused
/// multiply-adds, fixed order), so the file's checksum can be pinned.
pub fn quantize_iq4_nl(values: &[f32]) -> Vec<u8> {
    debug_assert!(values.len() % IQ4_NL_BLOCK == 0);
    let levels = IQ4_NL_VALUES.map(f32::from);
    let nearest = |x: f32| -> u8 {
        if x <= levels[0] {
            return 0;
        }
        if x >= levels[15] {
            return 15;
        }
        let (mut low, mut high) = (0, 15);
        while high - low > 1 {
            let middle = (low + high) / 2;
            if x < levels[middle] {
                high = middle;
            } else {
                low = middle;
            }
        }
        if x - levels[high - 1] < levels[high] - x {
            (high - 1) as u8
        } else {
            high as u8
        }
    };
    // Σ w·q·x and Σ w·q² for the levels `inverse` picks.
    let sums = |block: &[f32], inverse: f32| -> (f32, f32) {
        let (mut qx, mut q2) = (0.0f32, 0.0f32);
        for &x in block {
            let q = levels[nearest(inverse * x) as usize];
            let weight = x * x;
            qx += weight * q * x;
            q2 += weight * q * q;
        }
        (qx, q2)
    };
    const TRIES: i32 = 7;
    let quantize_block = |block: &[f32]| -> [u8; IQ4_NL_BLOCK_BYTES] {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &x in block {
            if x.abs() > amax {
                amax = x.abs();
                max = x;
            }
        }
        let mut scale = 0.0f32;
        if amax >= 1e-15 {
            let (qx, q2) = sums(block, 1.0 / (-max / levels[0]));
            scale = qx / q2;
            let mut best = scale * qx;
            for step in -TRIES..=TRIES {
                let (qx, q2) = sums(block, (step as f32 + levels[0]) / max);
                if q2 > 0.0 && qx * qx > best * q2 {
                    scale = qx / q2;
                    best = scale * qx;
                }
            }
        }
        let inverse = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        let mut bytes = [0u8; IQ4_NL_BLOCK_BYTES];
        bytes[..2].copy_from_slice(&f16::from_f32(scale).to_le_bytes());
        let half = IQ4_NL_BLOCK / 2;
        for j in 0..half {
            bytes[2 + j] = nearest(inverse * block[j]) | (nearest(inverse * block[j + half]) << 4);
        }
        bytes
    };
    // Blocks are independent: in parallel, the same bytes in the same order.
    values
        .par_chunks(IQ4_NL_BLOCK)
        .map(quantize_block)
        .collect::<Vec<_>>()
        .concat()
}

/// Expands iq4_nl blocks back to f32 (tests and checks).
pub fn dequantize_iq4_nl(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / IQ4_NL_BLOCK_BYTES * IQ4_NL_BLOCK);
    for block in bytes.chunks_exact(IQ4_NL_BLOCK_BYTES) {
        let scale = f16::from_le_bytes([block[0], block[1]]).to_f32();
        let level = |index: u8| f32::from(IQ4_NL_VALUES[index as usize]) * scale;
        out.extend(block[2..].iter().map(|&byte| level(byte & 0x0f)));
        out.extend(block[2..].iter().map(|&byte| level(byte >> 4)));
    }
    out
}

/// librosa's `filters.mel(sr, n_fft, n_mels)` (Slaney mel scale, Slaney
/// area normalization), row-major `[n_mels][n_fft / 2 + 1]` — the
/// filterbank OpenAI's Whisper ships and whisper.cpp reads from the model
/// file. Computed in f64 and rounded as librosa does (weights stored as
/// f32, then scaled by the f64 normalization and rounded again).
pub fn slaney_mel_filters(sample_rate: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let bins = n_fft / 2 + 1;
    let bin_hz = |bin: usize| bin as f64 * (sample_rate / n_fft as f64);
    let max_mel = hz_to_mel(sample_rate / 2.0);
    // numpy's linspace: start + i * step, the last point set to stop.
    let points = n_mels + 2;
    let step = max_mel / (points - 1) as f64;
    let mel_points: Vec<f64> = (0..points)
        .map(|index| {
            if index == points - 1 {
                max_mel
            } else {
                index as f64 * step
            }
        })
        .map(mel_to_hz)
        .collect();
    let mut filters = Vec::with_capacity(n_mels * bins);
    for mel in 0..n_mels {
        let lower_width = mel_points[mel + 1] - mel_points[mel];
        let upper_width = mel_points[mel + 2] - mel_points[mel + 1];
        let normalization = 2.0 / (mel_points[mel + 2] - mel_points[mel]);
        for bin in 0..bins {
            let frequency = bin_hz(bin);
            let lower = -(mel_points[mel] - frequency) / lower_width;
            let upper = (mel_points[mel + 2] - frequency) / upper_width;
            let weight = 0.0f64.max(lower.min(upper)) as f32;
            filters.push((weight as f64 * normalization) as f32);
        }
    }
    filters
}

const SLANEY_HZ_PER_MEL: f64 = 200.0 / 3.0;
const SLANEY_LOG_START_HZ: f64 = 1000.0;

fn slaney_log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz to mel on the Slaney scale (linear below 1 kHz, logarithmic above).
pub fn hz_to_mel(frequency: f64) -> f64 {
    let start_mel = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL;
    if frequency >= SLANEY_LOG_START_HZ {
        start_mel + (frequency / SLANEY_LOG_START_HZ).ln() / slaney_log_step()
    } else {
        frequency / SLANEY_HZ_PER_MEL
    }
}

/// Mel to Hz on the Slaney scale.
pub fn mel_to_hz(mel: f64) -> f64 {
    let start_mel = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL;
    if mel >= start_mel {
        SLANEY_LOG_START_HZ * (slaney_log_step() * (mel - start_mel)).exp()
    } else {
        SLANEY_HZ_PER_MEL * mel
    }
}

/// GPT-2's byte-level BPE alphabet: every byte is written as a printable
/// character; this maps those characters back to bytes.
#[derive(Debug, Clone)]
pub struct ByteDecoder {
    bytes: HashMap<char, u8>,
}

impl ByteDecoder {
    /// The table of GPT-2's `bytes_to_unicode`, inverted.
    pub fn gpt2() -> ByteDecoder {
        let printable = |byte: u32| {
            (u32::from(b'!')..=u32::from(b'~')).contains(&byte)
                || (0xA1..=0xAC).contains(&byte)
                || (0xAE..=0xFF).contains(&byte)
        };
        let mut bytes = HashMap::with_capacity(256);
        let mut shifted = 0;
        for byte in 0u32..256 {
            let character = if printable(byte) {
                byte
            } else {
                shifted += 1;
                255 + shifted
            };
            if let Some(character) = char::from_u32(character) {
                bytes.insert(character, byte as u8);
            }
        }
        ByteDecoder { bytes }
    }

    /// The bytes a token stands for; `None` if it uses a character outside
    /// the alphabet.
    pub fn decode(&self, token: &str) -> Option<Vec<u8>> {
        token
            .chars()
            .map(|character| self.bytes.get(&character).copied())
            .collect()
    }
}

/// A writer that counts and hashes what passes through.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes written and their SHA-256 (hex).
    pub fn finish(self) -> (u64, String) {
        (self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filters_match_librosa() {
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80), the table
        // Whisper ships as mel_filters.npz: [mel, bin, value].
        let filters = slaney_mel_filters(16_000.0, 400, 80);
        assert_eq!(filters.len(), 80 * 201);
        let at = |mel: usize, bin: usize| filters[mel * 201 + bin] as f64;
        for (mel, bin, expected) in [
            (0, 1, 0.02486259490251541),
            (1, 1, 0.001990821911022067),
            (1, 2, 0.022871771827340126),
            (9, 10, 0.006945197004824877),
            (39, 41, 0.011486922390758991),
            (69, 131, 0.00487553421407938),
            (79, 190, 0.0022320549469441175),
            (79, 192, 0.0031647116411477327),
            (79, 199, 0.0004487590049393475),
            (10, 12, 0.0),
            (40, 50, 0.0),
        ] {
            let value = at(mel, bin);
            assert!(
                (value - expected).abs() <= 1e-7 * expected.abs().max(1e-3),
                "filter[{mel}][{bin}] = {value}, librosa {expected}"
            );
        }
        let sum: f64 = filters.iter().map(|&value| value as f64).sum();
        assert!((sum - 1.999024).abs() < 1e-5, "{sum}");
        assert!(filters.iter().all(|&value| value >= 0.0));
    }

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 200.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn q8_0_round_trip_stays_within_half_a_step() {
        let values: Vec<f32> = (0..32 * 64)
            .map(|index| {
                ((index as f32 * 0.37).sin() * 3.0) * if index % 97 == 0 { 10.0 } else { 1.0 }
            })
            .collect();
        let bytes = quantize_q8_0(&values);
        assert_eq!(bytes.len(), 64 * Q8_0_BLOCK_BYTES);
        let restored = dequantize_q8_0(&bytes);
        for (block, restored_block) in values.chunks(32).zip(restored.chunks(32)) {
            let max = block.iter().fold(0.0f32, |max, value| max.max(value.abs()));
            let step = max / 127.0;
            for (value, restored) in block.iter().zip(restored_block) {
                // Half a quantization step, plus the f16 rounding of the scale.
                assert!(
                    (value - restored).abs() <= step * 0.5 + max * 1e-3,
                    "{value} -> {restored} (step {step})"
                );
            }
        }
        // An all-zero block stays zero, with a zero scale.
        let zeros = quantize_q8_0(&[0.0; 32]);
        assert!(zeros.iter().all(|&byte| byte == 0));
    }

    #[test]
    fn q8_0_matches_ggml_reference_bytes() {
        // Block: max 127 gives scale 1.0 exactly; values round half away from zero.
        let mut block = [0.0f32; 32];
        block[0] = 127.0;
        block[1] = -2.5;
        block[2] = 0.49;
        block[3] = -127.0;
        let bytes = quantize_q8_0(&block);
        assert_eq!(&bytes[0..2], &f16::from_f32(1.0).to_le_bytes());
        assert_eq!(bytes[2] as i8, 127);
        assert_eq!(bytes[3] as i8, -3);
        assert_eq!(bytes[4] as i8, 0);
        assert_eq!(bytes[5] as i8, -127);
    }

    /// Weights shaped like a trained matrix's: mostly small, a few large.
    fn weight_like(count: usize) -> Vec<f32> {
        (0..count)
            .map(|index| {
                let x = index as f32;
                (x * 0.37).sin() * 0.05
                    + (x * 1.71).cos() * 0.02
                    + if index % 97 == 0 { 0.4 } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn iq4_nl_round_trip_stays_close() {
        let values = weight_like(32 * 256);
        let bytes = quantize_iq4_nl(&values);
        assert_eq!(bytes.len(), 256 * IQ4_NL_BLOCK_BYTES);
        let restored = dequantize_iq4_nl(&bytes);
        let mut squared = 0.0f64;
        for (block, restored_block) in values.chunks(32).zip(restored.chunks(32)) {
            let max = block.iter().fold(0.0f32, |max, value| max.max(value.abs()));
            for (value, restored) in block.iter().zip(restored_block) {
                // The scale minimizes the error weighted by x², so the
                // largest value may be cut a little; nothing lands far off.
                assert!(
                    (value - restored).abs() <= 0.15 * max,
                    "{value} -> {restored} (max {max})"
                );
                squared += f64::from((value - restored) * (value - restored));
            }
        }
        let rms = (squared / values.len() as f64).sqrt();
        let spread =
            (values.iter().map(|v| f64::from(v * v)).sum::<f64>() / values.len() as f64).sqrt();
        // Four bits: about a tenth of the spread (q8_0 is under 1%).
        assert!(rms < 0.15 * spread, "rms error {rms} of {spread}");
        // An all-zero block: zero scale, every index at the level nearest 0.
        let zeros = quantize_iq4_nl(&[0.0; 32]);
        assert_eq!(&zeros[..2], &[0, 0]);
        assert!(zeros[2..].iter().all(|&byte| byte == 0x88));
        assert!(dequantize_iq4_nl(&zeros).iter().all(|&value| value == 0.0));
    }

    #[test]
    #[allow(unsafe_code)] // ggml's C quantizer, called on buffers sized here
    fn iq4_nl_matches_ggml_own_quantizer() {
        // ggml's quantize_iq4_nl, as linked into whisper.cpp (no
        // importance matrix). A value exactly between two levels may round
        // either way there (the C compiler may fuse multiply-adds), so a
        // rare index may differ by one level; the scales agree.
        let values = weight_like(32 * 512);
        let ours = quantize_iq4_nl(&values);
        let mut theirs = vec![0u8; ours.len()];
        let written = unsafe {
            whisper_rs::whisper_rs_sys::ggml_quantize_chunk(
                whisper_rs::whisper_rs_sys::ggml_type_GGML_TYPE_IQ4_NL,
                values.as_ptr(),
                theirs.as_mut_ptr().cast(),
                0,
                16,
                32 * 32,
                std::ptr::null(),
            )
        };
        assert_eq!(written, theirs.len());
        let mut differing = 0;
        for (left, right) in ours
            .chunks(IQ4_NL_BLOCK_BYTES)
            .zip(theirs.chunks(IQ4_NL_BLOCK_BYTES))
        {
            let scale = |block: &[u8]| f16::from_le_bytes([block[0], block[1]]).to_f32();
            assert!(
                (scale(left) - scale(right)).abs() <= scale(right).abs() * 1e-3,
                "{} vs {}",
                scale(left),
                scale(right)
            );
            differing += left[2..]
                .iter()
                .zip(&right[2..])
                .filter(|(a, b)| a != b)
                .count();
        }
        assert!(
            differing * 100 <= ours.len(),
            "{differing} index bytes differ"
        );
    }

    use crate::ct2::{Ct2Dtype, Ct2Variable};
    use std::collections::BTreeMap;

    const STATE: usize = 32;

    /// A tiny Whisper-shaped CTranslate2 model: one layer per stack, width
    /// 32; every matrix row holds its row number so slices can be checked.
    fn tiny_whisper() -> (Ct2Model, Vec<String>) {
        let mut variables = BTreeMap::new();
        let mut add = |name: &str, shape: &[usize], fill: &dyn Fn(usize, usize) -> f32| {
            let columns: usize = shape.iter().skip(1).product::<usize>().max(1);
            let count: usize = shape.iter().product();
            let data = (0..count)
                .flat_map(|index| {
                    f16::from_f32(fill(index / columns, index % columns)).to_le_bytes()
                })
                .collect();
            variables.insert(
                name.to_string(),
                Ct2Variable {
                    name: name.to_string(),
                    shape: shape.to_vec(),
                    dtype: Ct2Dtype::F16,
                    data,
                },
            );
        };
        let row = |row: usize, _: usize| row as f32;
        // The fused q/k/v bias: zero in the key rows, as CTranslate2 writes it.
        let key_bias_zero = |row: usize, _: usize| {
            if (STATE..2 * STATE).contains(&row) {
                0.0
            } else {
                row as f32 + 0.5
            }
        };
        add("encoder/conv1/weight", &[STATE, 4, 3], &row);
        add("encoder/conv1/bias", &[STATE], &row);
        add("encoder/conv2/weight", &[STATE, STATE, 3], &row);
        add("encoder/conv2/bias", &[STATE], &row);
        add("encoder/position_encodings/encodings", &[6, STATE], &row);
        add("decoder/position_encodings/encodings", &[5, STATE], &row);
        add("decoder/embeddings/weight", &[6, STATE], &row);
        for stack in ["encoder", "decoder"] {
            let layer = format!("{stack}/layer_0");
            add(
                &format!("{layer}/self_attention/linear_0/weight"),
                &[3 * STATE, STATE],
                &row,
            );
            add(
                &format!("{layer}/self_attention/linear_0/bias"),
                &[3 * STATE],
                &key_bias_zero,
            );
            add(
                &format!("{layer}/self_attention/linear_1/weight"),
                &[STATE, STATE],
                &row,
            );
            add(
                &format!("{layer}/self_attention/linear_1/bias"),
                &[STATE],
                &row,
            );
            add(
                &format!("{layer}/ffn/linear_0/weight"),
                &[4 * STATE, STATE],
                &row,
            );
            add(&format!("{layer}/ffn/linear_0/bias"), &[4 * STATE], &row);
            add(
                &format!("{layer}/ffn/linear_1/weight"),
                &[STATE, 4 * STATE],
                &row,
            );
            add(&format!("{layer}/ffn/linear_1/bias"), &[STATE], &row);
            let mut norms = vec!["self_attention", "ffn"];
            if stack == "decoder" {
                add(
                    &format!("{layer}/attention/linear_0/weight"),
                    &[STATE, STATE],
                    &row,
                );
                add(&format!("{layer}/attention/linear_0/bias"), &[STATE], &row);
                // Cross attention: key rows 0..32 (zero bias), value rows 32..64.
                add(
                    &format!("{layer}/attention/linear_1/weight"),
                    &[2 * STATE, STATE],
                    &row,
                );
                add(
                    &format!("{layer}/attention/linear_1/bias"),
                    &[2 * STATE],
                    &|row, _| {
                        if row < STATE {
                            0.0
                        } else {
                            row as f32
                        }
                    },
                );
                add(
                    &format!("{layer}/attention/linear_2/weight"),
                    &[STATE, STATE],
                    &row,
                );
                add(&format!("{layer}/attention/linear_2/bias"), &[STATE], &row);
                norms.push("attention");
            }
            for norm in norms {
                add(
                    &format!("{layer}/{norm}/layer_norm/gamma"),
                    &[STATE],
                    &|_, _| 1.0,
                );
                add(
                    &format!("{layer}/{norm}/layer_norm/beta"),
                    &[STATE],
                    &|_, _| 0.0,
                );
            }
            add(&format!("{stack}/layer_norm/gamma"), &[STATE], &|_, _| 1.0);
            add(&format!("{stack}/layer_norm/beta"), &[STATE], &|_, _| 0.0);
        }
        for stack in ["encoder", "decoder"] {
            let name = format!("{stack}/num_heads");
            variables.insert(
                name.clone(),
                Ct2Variable {
                    name,
                    shape: vec![],
                    dtype: Ct2Dtype::I16,
                    data: 4i16.to_le_bytes().to_vec(),
                },
            );
        }
        let mut aliases = BTreeMap::new();
        aliases.insert(
            "decoder/projection/weight".to_string(),
            "decoder/embeddings/weight".to_string(),
        );
        let model = Ct2Model {
            version: 6,
            spec: "WhisperSpec".to_string(),
            revision: 3,
            variables,
            aliases,
        };
        let vocabulary = [
            "!",
            "a",
            "Ġb",
            "ä½ł",
            "<|endoftext|>",
            "<|startoftranscript|>",
        ]
        .map(str::to_string)
        .to_vec();
        (model, vocabulary)
    }

    /// A parsed ggml file: hparams, tokens and tensors (name → dims
    /// innermost first, type, data).
    struct Parsed {
        hparams: Vec<i32>,
        filters: (i32, i32),
        tokens: Vec<Vec<u8>>,
        tensors: Vec<(String, Vec<i32>, i32, Vec<u8>)>,
    }

    struct Cursor<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl Cursor<'_> {
        fn read(&mut self, count: usize) -> Vec<u8> {
            let slice = self.bytes[self.at..self.at + count].to_vec();
            self.at += count;
            slice
        }

        fn int(&mut self) -> i32 {
            i32::from_le_bytes(self.read(4).try_into().unwrap())
        }
    }

    fn parse(bytes: &[u8]) -> Parsed {
        let mut cursor = Cursor { bytes, at: 0 };
        assert_eq!(cursor.int() as u32, GGML_MAGIC);
        let hparams: Vec<i32> = (0..11).map(|_| cursor.int()).collect();
        let filters = (cursor.int(), cursor.int());
        cursor.read(4 * (filters.0 * filters.1) as usize);
        let token_count = cursor.int();
        let tokens = (0..token_count)
            .map(|_| {
                let length = cursor.int() as usize;
                cursor.read(length)
            })
            .collect();
        let mut tensors = Vec::new();
        while cursor.at < bytes.len() {
            let dims_count = cursor.int() as usize;
            let name_length = cursor.int() as usize;
            let tensor_type = cursor.int();
            let dims: Vec<i32> = (0..dims_count).map(|_| cursor.int()).collect();
            let name = String::from_utf8(cursor.read(name_length)).unwrap();
            let elements: usize = dims.iter().map(|&dim| dim as usize).product();
            let size = match tensor_type {
                TYPE_F32 => elements * 4,
                TYPE_F16 => elements * 2,
                TYPE_Q8_0 => elements / Q8_0_BLOCK * Q8_0_BLOCK_BYTES,
                TYPE_IQ4_NL => elements / IQ4_NL_BLOCK * IQ4_NL_BLOCK_BYTES,
                other => panic!("type {other}"),
            };
            tensors.push((name, dims, tensor_type, cursor.read(size)));
        }
        Parsed {
            hparams,
            filters,
            tokens,
            tensors,
        }
    }

    fn f16_values(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(2)
            .map(|pair| f16::from_le_bytes([pair[0], pair[1]]).to_f32())
            .collect()
    }

    #[test]
    fn tiny_model_converts_to_whisper_cpp_layout() {
        let (model, vocabulary) = tiny_whisper();
        let mut out = Vec::new();
        let summary = GgmlConverter::new(WeightType::F16)
            .run(&model, &vocabulary, &mut out)
            .unwrap();
        assert_eq!(summary.bytes as usize, out.len());
        let parsed = parse(&out);
        assert_eq!(
            parsed.hparams,
            vec![6, 6, STATE as i32, 4, 1, 5, STATE as i32, 4, 1, 4, 1]
        );
        assert_eq!(parsed.filters, (4, 201));
        // Only the BPE tokens, bytes decoded.
        assert_eq!(
            parsed.tokens,
            vec![
                b"!".to_vec(),
                b"a".to_vec(),
                b" b".to_vec(),
                "你".as_bytes().to_vec()
            ]
        );
        // whisper.cpp's tensor count for one layer each: 5 + 15 + 2 + 2 + 24 + 2.
        assert_eq!(parsed.tensors.len(), 50);
        assert_eq!(summary.tensors, 50);
        let tensor = |name: &str| {
            parsed
                .tensors
                .iter()
                .find(|tensor| tensor.0 == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        // Dims innermost first; conv bias reshaped to [n, 1].
        assert_eq!(tensor("encoder.conv1.weight").1, vec![3, 4, STATE as i32]);
        assert_eq!(tensor("encoder.conv1.weight").2, TYPE_F16);
        assert_eq!(tensor("encoder.conv1.bias").1, vec![1, STATE as i32]);
        assert_eq!(tensor("encoder.conv1.bias").2, TYPE_F32);
        assert_eq!(tensor("encoder.positional_embedding").2, TYPE_F32);
        assert_eq!(
            tensor("decoder.token_embedding.weight").1,
            vec![STATE as i32, 6]
        );
        // The fused projection split by rows: query 0..32, key 32..64, value 64..96.
        for (name, first_row) in [("query", 0.0), ("key", 32.0), ("value", 64.0)] {
            let (_, dims, kind, data) = tensor(&format!("encoder.blocks.0.attn.{name}.weight"));
            assert_eq!(
                (dims.clone(), *kind),
                (vec![STATE as i32, STATE as i32], TYPE_F16)
            );
            let values = f16_values(data);
            assert_eq!(values[0], first_row, "{name}");
            assert_eq!(values[STATE * STATE - 1], first_row + 31.0, "{name}");
        }
        assert!(parsed
            .tensors
            .iter()
            .all(|tensor| !tensor.0.ends_with("attn.key.bias")));
        let value_bias = &tensor("encoder.blocks.0.attn.value.bias").3;
        assert_eq!(
            f32::from_le_bytes(value_bias[0..4].try_into().unwrap()),
            64.5
        );
        let cross_value = f16_values(&tensor("decoder.blocks.0.cross_attn.value.weight").3);
        assert_eq!(cross_value[0], 32.0);
        assert_eq!(tensor("decoder.blocks.0.cross_attn_ln.weight").2, TYPE_F32);
        assert!(parsed
            .tensors
            .iter()
            .any(|tensor| tensor.0 == "decoder.ln.bias"));
        assert!(parsed
            .tensors
            .iter()
            .any(|tensor| tensor.0 == "encoder.ln_post.weight"));
        // Deterministic.
        let mut again = Vec::new();
        let repeat = GgmlConverter::new(WeightType::F16)
            .run(&model, &vocabulary, &mut again)
            .unwrap();
        assert_eq!(repeat.sha256, summary.sha256);
    }

    /// The tiny model converted with `weights`: its summary and its tensors,
    /// each checked to have the type its kind calls for (convolution
    /// kernels f16, matrices `matrix_type`, the rest f32).
    fn converted(weights: WeightType, matrix_type: i32) -> (ConversionSummary, Parsed) {
        let (model, vocabulary) = tiny_whisper();
        let mut out = Vec::new();
        let summary = GgmlConverter::new(weights)
            .run(&model, &vocabulary, &mut out)
            .unwrap();
        let parsed = parse(&out);
        for (name, dims, kind, _) in &parsed.tensors {
            let expected = if name.contains("conv") && name.ends_with("weight") {
                TYPE_F16
            } else if dims.len() == 2 && !name.contains("positional") && !name.contains("conv") {
                matrix_type
            } else {
                TYPE_F32
            };
            assert_eq!(*kind, expected, "{name}");
        }
        (summary, parsed)
    }

    /// The values of one tensor of a converted tiny model.
    fn tensor_data<'a>(parsed: &'a Parsed, name: &str) -> &'a [u8] {
        &parsed
            .tensors
            .iter()
            .find(|tensor| tensor.0 == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .3
    }

    #[test]
    fn the_vocabulary_reads_back_and_a_cut_file_is_named() {
        let (model, vocabulary) = tiny_whisper();
        let mut out = Vec::new();
        GgmlConverter::new(WeightType::F16)
            .run(&model, &vocabulary, &mut out)
            .unwrap();
        let dir = std::env::temp_dir().join(format!("callscope-vocabulary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tiny.bin");
        std::fs::write(&path, &out).unwrap();
        assert_eq!(read_vocabulary(&path).unwrap(), parse(&out).tokens);
        // Cut inside the mel filters: the error names the file and what to do.
        std::fs::write(&path, &out[..200]).unwrap();
        let error = read_vocabulary(&path).unwrap_err().to_string();
        assert!(error.contains("tiny.bin"), "{error}");
        assert!(error.contains("model fetch --force"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn q8_0_model_quantizes_matrices_only() {
        let (summary, parsed) = converted(WeightType::Q8_0, TYPE_Q8_0);
        assert_eq!(summary.hparams.ftype, 2007);
        assert_eq!(summary.hparams.weight_name(), "q8_0");
        let values = dequantize_q8_0(tensor_data(&parsed, "encoder.blocks.0.mlp.0.weight"));
        assert!(
            (values[5 * STATE] - 5.0).abs() < 0.01,
            "{}",
            values[5 * STATE]
        );
        assert_eq!(values[127 * STATE + 3], 127.0);
    }

    #[test]
    fn iq4_nl_model_quantizes_matrices_only() {
        let (summary, parsed) = converted(WeightType::Iq4Nl, TYPE_IQ4_NL);
        assert_eq!(summary.hparams.ftype, 2019);
        assert_eq!(summary.hparams.weight_name(), "iq4_nl");
        // Encoder q, k, v, out, two MLP; decoder the same plus cross-attention
        // q, k, v, out and the token embedding.
        let quantized: Vec<_> = parsed
            .tensors
            .iter()
            .filter(|tensor| tensor.2 == TYPE_IQ4_NL)
            .collect();
        assert_eq!(quantized.len(), 17);
        for (name, dims, _, data) in quantized {
            let count: i32 = dims.iter().product();
            assert_eq!(
                data.len(),
                count as usize / 32 * IQ4_NL_BLOCK_BYTES,
                "{name}"
            );
        }
        // Row r of the tiny model's matrices holds the value r; a block of
        // equal values comes back as the top level, scaled (f16 rounding).
        let values = dequantize_iq4_nl(tensor_data(&parsed, "encoder.blocks.0.mlp.0.weight"));
        assert!(
            (values[127 * STATE + 3] - 127.0).abs() < 0.1,
            "{}",
            values[127 * STATE + 3]
        );
        assert!(
            (values[40 * STATE] - 40.0).abs() < 0.1,
            "{}",
            values[40 * STATE]
        );
    }

    #[test]
    fn key_projection_with_a_bias_is_refused() {
        let (mut model, vocabulary) = tiny_whisper();
        let bias = model
            .variables
            .get_mut("encoder/layer_0/self_attention/linear_0/bias")
            .unwrap();
        let index = (STATE + 1) * 2;
        bias.data[index..index + 2].copy_from_slice(&f16::from_f32(1.0).to_le_bytes());
        let error = GgmlConverter::new(WeightType::F16)
            .run(&model, &vocabulary, &mut Vec::new())
            .unwrap_err();
        assert!(
            error.to_string().contains("key projection has a bias"),
            "{error}"
        );
        let (model, mut vocabulary) = tiny_whisper();
        vocabulary.pop();
        let error = GgmlConverter::new(WeightType::F16)
            .run(&model, &vocabulary, &mut Vec::new())
            .unwrap_err();
        assert!(
            error.to_string().contains("do not belong together"),
            "{error}"
        );
    }

    #[test]
    fn byte_decoder_inverts_gpt2_alphabet() {
        let decoder = ByteDecoder::gpt2();
        // 'Ġ' is the space, 'Ċ' the newline; printable ASCII maps to itself.
        assert_eq!(decoder.decode("Ġhello").unwrap(), b" hello");
        assert_eq!(decoder.decode("Ċ").unwrap(), b"\n");
        // "你" is E4 BD A0: 'ä' (E4) '½' (BD) and 'ł' (A0 is not printable: 256 + 66).
        assert_eq!(decoder.decode("ä½ł").unwrap(), "你".as_bytes());
        assert_eq!(decoder.decode("").unwrap(), b"");
        assert_eq!(decoder.decode("你"), None);
        // All 256 bytes are reachable.
        let mut seen = decoder.bytes.values().copied().collect::<Vec<_>>();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }
}
