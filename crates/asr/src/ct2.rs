//! Reader for CTranslate2's `model.bin` (the format faster-whisper loads).
//!
//! Layout (little-endian): `u32 version`, a string (the spec name), `u32
//! revision`, `u32 n_vars`; each variable is a name, `u8 rank`, `u32`
//! dims, `u8 dtype`, `u32 nbytes` and the raw data; then `u32 n_aliases`
//! and pairs of names. A string is `u16 length` (NUL included) and bytes.
//! Only format version 6 (CTranslate2 3.x and 4.x) has been seen and
//! tested; other versions are refused with a clear error.

use std::collections::BTreeMap;
use std::io::Read;

use half::f16;

use callscope_core::error::{Error, Result};

/// The element type of a CTranslate2 variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    /// 32-bit float.
    F32,
    /// 8-bit signed integer.
    I8,
    /// 16-bit signed integer.
    I16,
    /// 32-bit signed integer.
    I32,
    /// IEEE half float.
    F16,
    /// bfloat16.
    Bf16,
}

impl Ct2Dtype {
    fn from_code(code: u8) -> Option<Ct2Dtype> {
        Some(match code {
            0 => Ct2Dtype::F32,
            1 => Ct2Dtype::I8,
            2 => Ct2Dtype::I16,
            3 => Ct2Dtype::I32,
            4 => Ct2Dtype::F16,
            5 => Ct2Dtype::Bf16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Ct2Dtype::I8 => 1,
            Ct2Dtype::I16 | Ct2Dtype::F16 | Ct2Dtype::Bf16 => 2,
            Ct2Dtype::F32 | Ct2Dtype::I32 => 4,
        }
    }

    /// The code `model.bin` uses for this type.
    pub fn code(self) -> u8 {
        match self {
            Ct2Dtype::F32 => 0,
            Ct2Dtype::I8 => 1,
            Ct2Dtype::I16 => 2,
            Ct2Dtype::I32 => 3,
            Ct2Dtype::F16 => 4,
            Ct2Dtype::Bf16 => 5,
        }
    }
}

/// One named tensor (or scalar) of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Variable {
    /// Slash-separated name, e.g. `encoder/layer_0/ffn/linear_0/weight`.
    pub name: String,
    /// Dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: Ct2Dtype,
    /// Raw little-endian data.
    pub data: Vec<u8>,
}

impl Ct2Variable {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the variable has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as f32 (floats converted, integers cast).
    pub fn to_f32(&self) -> Vec<f32> {
        let chunks = self.data.chunks_exact(self.dtype.size());
        match self.dtype {
            Ct2Dtype::F32 => chunks
                .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
                .collect(),
            Ct2Dtype::F16 => chunks
                .map(|bytes| f16::from_le_bytes([bytes[0], bytes[1]]).to_f32())
                .collect(),
            Ct2Dtype::Bf16 => chunks
                .map(|bytes| half::bf16::from_le_bytes([bytes[0], bytes[1]]).to_f32())
                .collect(),
            Ct2Dtype::I8 => chunks.map(|bytes| bytes[0] as i8 as f32).collect(),
            Ct2Dtype::I16 => chunks
                .map(|bytes| i16::from_le_bytes([bytes[0], bytes[1]]) as f32)
                .collect(),
            Ct2Dtype::I32 => chunks
                .map(|bytes| i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as f32)
                .collect(),
        }
    }

    /// The values as IEEE half floats (f32 and bf16 are rounded; integers
    /// are refused).
    pub fn to_f16(&self) -> Option<Vec<f16>> {
        match self.dtype {
            Ct2Dtype::F16 => Some(
                self.data
                    .chunks_exact(2)
                    .map(|bytes| f16::from_le_bytes([bytes[0], bytes[1]]))
                    .collect(),
            ),
            Ct2Dtype::F32 | Ct2Dtype::Bf16 => {
                Some(self.to_f32().into_iter().map(f16::from_f32).collect())
            }
            _ => None,
        }
    }

    /// A scalar's value as an integer (e.g. `encoder/num_heads`).
    pub fn scalar_i64(&self) -> Option<i64> {
        if self.len() != 1 {
            return None;
        }
        let bytes = &self.data;
        Some(match self.dtype {
            Ct2Dtype::I8 => bytes[0] as i8 as i64,
            Ct2Dtype::I16 => i16::from_le_bytes([bytes[0], bytes[1]]) as i64,
            Ct2Dtype::I32 => i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as i64,
            _ => self.to_f32()[0] as i64,
        })
    }
}

/// A parsed CTranslate2 model.
#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Model {
    /// Binary format version (6 for current CTranslate2).
    pub version: u32,
    /// The model spec, e.g. `WhisperSpec`.
    pub spec: String,
    /// The spec's revision.
    pub revision: u32,
    /// Variables by name.
    pub variables: BTreeMap<String, Ct2Variable>,
    /// Alias name to target name (e.g. the output projection shares the
    /// token embeddings).
    pub aliases: BTreeMap<String, String>,
}

/// The format version this reader understands.
pub const SUPPORTED_VERSION: u32 = 6;

/// Refuse absurd headers before allocating (a corrupt file must not make
/// us allocate gigabytes).
const MAX_VARIABLES: u32 = 100_000;
const MAX_VARIABLE_BYTES: u64 = 8 << 30;

impl Ct2Model {
    /// Parses a `model.bin` from `reader`; `source` names it in errors.
    pub fn read(reader: &mut impl Read, source: &str) -> Result<Ct2Model> {
        let mut input = Input { reader, source };
        let version = input.u32("format version")?;
        if version != SUPPORTED_VERSION {
            return Err(input.error(format!(
                "CTranslate2 format version {version} is not supported (expected \
                 {SUPPORTED_VERSION}); convert the model with a CTranslate2 3.x or 4.x converter"
            )));
        }
        let spec = input.string("spec name")?;
        let revision = input.u32("spec revision")?;
        let count = input.u32("variable count")?;
        if count > MAX_VARIABLES {
            return Err(input.error(format!("{count} variables is not plausible")));
        }
        let mut variables = BTreeMap::new();
        for _ in 0..count {
            let name = input.string("variable name")?;
            let rank = input.u8(&name)?;
            let mut shape = Vec::with_capacity(rank as usize);
            for _ in 0..rank {
                shape.push(input.u32(&name)? as usize);
            }
            let code = input.u8(&name)?;
            let dtype = Ct2Dtype::from_code(code)
                .ok_or_else(|| input.error(format!("{name}: unknown data type {code}")))?;
            let byte_count = input.u32(&name)? as u64;
            let elements: u64 = shape.iter().map(|&dim| dim as u64).product();
            if byte_count != elements * dtype.size() as u64 || byte_count > MAX_VARIABLE_BYTES {
                return Err(input.error(format!(
                    "{name}: {byte_count} bytes do not match shape {shape:?} of {dtype:?}"
                )));
            }
            let mut data = vec![0u8; byte_count as usize];
            input.bytes(&mut data, &name)?;
            variables.insert(
                name.clone(),
                Ct2Variable {
                    name,
                    shape,
                    dtype,
                    data,
                },
            );
        }
        let mut aliases = BTreeMap::new();
        // Old files may end without an alias table.
        if let Some(alias_count) = input.optional_u32()? {
            for _ in 0..alias_count {
                let alias = input.string("alias")?;
                let target = input.string("alias target")?;
                aliases.insert(alias, target);
            }
        }
        Ok(Ct2Model {
            version,
            spec,
            revision,
            variables,
            aliases,
        })
    }

    /// The variable `name`, following aliases.
    pub fn get(&self, name: &str) -> Option<&Ct2Variable> {
        self.variables.get(name).or_else(|| {
            self.aliases
                .get(name)
                .and_then(|target| self.variables.get(target))
        })
    }

    /// The variable `name`, or an error naming what is missing.
    pub fn require(&self, name: &str) -> Result<&Ct2Variable> {
        self.get(name).ok_or_else(|| {
            Error::Model(format!(
                "the CTranslate2 model has no variable '{name}': it is not a Whisper model or \
                 it is damaged; run `callscope model fetch --force`"
            ))
        })
    }

    /// Serializes the model in the same format (tests build synthetic
    /// files with it).
    pub fn write(&self, out: &mut Vec<u8>) {
        fn string(out: &mut Vec<u8>, text: &str) {
            out.extend_from_slice(&((text.len() + 1) as u16).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
            out.push(0);
        }
        out.extend_from_slice(&self.version.to_le_bytes());
        string(out, &self.spec);
        out.extend_from_slice(&self.revision.to_le_bytes());
        out.extend_from_slice(&(self.variables.len() as u32).to_le_bytes());
        for variable in self.variables.values() {
            string(out, &variable.name);
            out.push(variable.shape.len() as u8);
            for &dim in &variable.shape {
                out.extend_from_slice(&(dim as u32).to_le_bytes());
            }
            out.push(variable.dtype.code());
            out.extend_from_slice(&(variable.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&variable.data);
        }
        out.extend_from_slice(&(self.aliases.len() as u32).to_le_bytes());
        for (alias, target) in &self.aliases {
            string(out, alias);
            string(out, target);
        }
    }
}

struct Input<'a, R: Read> {
    reader: &'a mut R,
    source: &'a str,
}

impl<R: Read> Input<'_, R> {
    fn error(&self, reason: String) -> Error {
        Error::Model(format!("{}: {reason}", self.source))
    }

    fn bytes(&mut self, buffer: &mut [u8], what: &str) -> Result<()> {
        self.reader.read_exact(buffer).map_err(|error| {
            if error.kind() == std::io::ErrorKind::UnexpectedEof {
                self.error(format!(
                    "file ends inside {what}: it is truncated; run `callscope model fetch --force`"
                ))
            } else {
                self.error(error.to_string())
            }
        })
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        let mut buffer = [0u8; 1];
        self.bytes(&mut buffer, what)?;
        Ok(buffer[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let mut buffer = [0u8; 4];
        self.bytes(&mut buffer, what)?;
        Ok(u32::from_le_bytes(buffer))
    }

    fn optional_u32(&mut self) -> Result<Option<u32>> {
        let mut buffer = [0u8; 4];
        let mut filled = 0;
        while filled < 4 {
            match self.reader.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(count) => filled += count,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(self.error(error.to_string())),
            }
        }
        match filled {
            0 => Ok(None),
            4 => Ok(Some(u32::from_le_bytes(buffer))),
            _ => Err(self.error("file ends inside the alias count".to_string())),
        }
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let mut length = [0u8; 2];
        self.bytes(&mut length, what)?;
        let length = u16::from_le_bytes(length) as usize;
        let mut buffer = vec![0u8; length];
        self.bytes(&mut buffer, what)?;
        if buffer.last() == Some(&0) {
            buffer.pop();
        }
        String::from_utf8(buffer).map_err(|_| self.error(format!("{what} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variable(name: &str, shape: &[usize], dtype: Ct2Dtype, data: Vec<u8>) -> Ct2Variable {
        Ct2Variable {
            name: name.to_string(),
            shape: shape.to_vec(),
            dtype,
            data,
        }
    }

    fn synthetic() -> Ct2Model {
        let weights: Vec<u8> = [1.5f32, -2.0, 0.25, 3.0, 0.0, -0.5]
            .iter()
            .flat_map(|&value| f16::from_f32(value).to_le_bytes())
            .collect();
        let mut variables = BTreeMap::new();
        for variable in [
            variable(
                "encoder/num_heads",
                &[],
                Ct2Dtype::I16,
                8i16.to_le_bytes().to_vec(),
            ),
            variable("decoder/embeddings/weight", &[2, 3], Ct2Dtype::F16, weights),
            variable(
                "encoder/conv1/bias",
                &[2],
                Ct2Dtype::F32,
                [0.5f32, -0.25]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
        ] {
            variables.insert(variable.name.clone(), variable);
        }
        let mut aliases = BTreeMap::new();
        aliases.insert(
            "decoder/projection/weight".to_string(),
            "decoder/embeddings/weight".to_string(),
        );
        Ct2Model {
            version: 6,
            spec: "WhisperSpec".to_string(),
            revision: 3,
            variables,
            aliases,
        }
    }

    #[test]
    fn header_variables_and_aliases_parse() {
        let model = synthetic();
        let mut bytes = Vec::new();
        model.write(&mut bytes);
        // The header as the format documents it, byte for byte.
        assert_eq!(&bytes[0..4], &6u32.to_le_bytes());
        assert_eq!(&bytes[4..6], &12u16.to_le_bytes());
        assert_eq!(&bytes[6..18], b"WhisperSpec\0");
        let parsed = Ct2Model::read(&mut bytes.as_slice(), "model.bin").unwrap();
        assert_eq!(parsed, model);
        assert_eq!(parsed.spec, "WhisperSpec");
        assert_eq!(parsed.revision, 3);
        assert_eq!(
            parsed.get("encoder/num_heads").unwrap().scalar_i64(),
            Some(8)
        );
        let projection = parsed.get("decoder/projection/weight").unwrap();
        assert_eq!(projection.shape, vec![2, 3]);
        assert_eq!(projection.to_f32(), vec![1.5, -2.0, 0.25, 3.0, 0.0, -0.5]);
        assert_eq!(
            parsed.get("encoder/conv1/bias").unwrap().to_f32(),
            vec![0.5, -0.25]
        );
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let mut bytes = Vec::new();
        synthetic().write(&mut bytes);
        let truncated = &bytes[..bytes.len() - 40];
        let error = Ct2Model::read(&mut &truncated[..], "model.bin")
            .unwrap_err()
            .to_string();
        assert!(error.contains("truncated"), "{error}");

        let mut other_version = bytes.clone();
        other_version[0] = 5;
        let error = Ct2Model::read(&mut other_version.as_slice(), "model.bin")
            .unwrap_err()
            .to_string();
        assert!(error.contains("version 5"), "{error}");

        let error = Ct2Model::read(&mut &b"GGML junk"[..], "x.bin")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("model: x.bin"), "{error}");
    }

    #[test]
    fn size_mismatch_is_refused() {
        let mut model = synthetic();
        model.variables.get_mut("encoder/conv1/bias").unwrap().shape = vec![3];
        let mut bytes = Vec::new();
        model.write(&mut bytes);
        let error = Ct2Model::read(&mut bytes.as_slice(), "model.bin")
            .unwrap_err()
            .to_string();
        assert!(error.contains("do not match shape"), "{error}");
    }
}
