//! RIFF/RF64 WAVE: a streaming reader for the encodings telephone systems
//! write (PCM 8/16/24/32-bit, IEEE float, G.711 mu-law and A-law, in plain or
//! extensible headers) and a writer for test and demo calls.
//!
//! callscope reads WAV itself rather than through symphonia because call
//! recorders write headers symphonia refuses (G.711 `fmt ` chunks of 16
//! bytes, a `data` size of 0 or 0xFFFFFFFF when the recorder never patched
//! it) and because a precise reason ("truncated WAV header", "GSM 6.10 is
//! not supported") helps the user more than a generic probe failure.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::g711;
use callscope_core::error::{Error, Result};

/// How a WAV file's samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// Linear PCM: unsigned 8-bit, or signed 16/24/32-bit little-endian.
    Pcm {
        /// Bits per stored sample (8, 16, 24 or 32).
        bits: u16,
    },
    /// IEEE float, 32 or 64 bits.
    Float {
        /// Bits per stored sample.
        bits: u16,
    },
    /// G.711 mu-law, 8 bits.
    MuLaw,
    /// G.711 A-law, 8 bits.
    ALaw,
}

impl WavEncoding {
    /// Bytes of one sample of one channel.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            WavEncoding::Pcm { bits } | WavEncoding::Float { bits } => usize::from(bits / 8),
            WavEncoding::MuLaw | WavEncoding::ALaw => 1,
        }
    }

    /// A name for messages and `AudioInfo::codec`.
    pub fn name(self) -> String {
        match self {
            WavEncoding::Pcm { bits } => format!("pcm_s{bits}"),
            WavEncoding::Float { bits } => format!("pcm_f{bits}"),
            WavEncoding::MuLaw => "g711_mulaw".to_string(),
            WavEncoding::ALaw => "g711_alaw".to_string(),
        }
    }
}

/// What the header of a WAV file says.
#[derive(Debug, Clone)]
pub struct WavHeader {
    /// The format tag (`wFormatTag`, or the extensible sub-format's).
    pub format_tag: u16,
    /// Channels.
    pub channels: u16,
    /// Frames per second.
    pub sample_rate: u32,
    /// Bits per sample as declared.
    pub bits_per_sample: u16,
    /// Bytes per frame.
    pub block_align: u16,
    /// The encoding, when callscope decodes it itself.
    pub encoding: Option<WavEncoding>,
    /// Byte offset of the first sample.
    pub data_offset: u64,
    /// Bytes of sample data as declared, `None` when the recorder left it
    /// unset (0 or 0xFFFFFFFF) and the data runs to the end of the file.
    pub data_len: Option<u64>,
}

/// The name of a WAV format tag, for "unsupported codec" messages.
pub fn format_tag_name(tag: u16) -> &'static str {
    match tag {
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "G.711 A-law",
        0x0007 => "G.711 mu-law",
        0x0010 => "OKI ADPCM",
        0x0011 => "IMA ADPCM",
        0x0014 => "G.723 ADPCM",
        0x0022 => "DSP Group TrueSpeech",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0042 => "G.723.1",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x0064 => "G.726 ADPCM",
        0x0065 => "G.722 ADPCM",
        0x00FF => "AAC",
        0x0133 => "G.729",
        0x0160..=0x0163 => "Windows Media Audio",
        0x1610 => "HE-AAC",
        0x704F => "Opus",
        0xFFFE => "extensible",
        _ => "unknown",
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::Audio {
        file: path.display().to_string(),
        reason: reason.into(),
    }
}

fn truncated(path: &Path, file_len: u64) -> Error {
    invalid(
        path,
        format!(
            "truncated WAV header ({file_len} bytes): the file ends before its audio data \
             starts; the recording was cut off, export it again"
        ),
    )
}

fn read_exact_or<R: Read>(reader: &mut R, buffer: &mut [u8]) -> std::io::Result<bool> {
    match reader.read_exact(buffer) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error),
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from(u32_at(bytes, at)) | (u64::from(u32_at(bytes, at + 4)) << 32)
}

/// Whether these first bytes start a RIFF/RF64 WAVE file.
pub fn is_wav(head: &[u8]) -> bool {
    head.len() >= 12
        && (&head[0..4] == b"RIFF" || &head[0..4] == b"RF64")
        && &head[8..12] == b"WAVE"
}

/// Reads the header of the WAV file `path` up to its `data` chunk.
pub fn read_header<R: Read + Seek>(
    reader: &mut R,
    path: &Path,
    file_len: u64,
) -> Result<WavHeader> {
    let io = |error| Error::io(path, error);
    let mut riff = [0u8; 12];
    if !read_exact_or(reader, &mut riff).map_err(io)? {
        return Err(truncated(path, file_len));
    }
    if !is_wav(&riff) {
        return Err(invalid(path, "not a WAV file (no RIFF/WAVE header)"));
    }
    let rf64 = &riff[0..4] == b"RF64";
    let mut rf64_data_len = None;
    let mut format: Option<(u16, u16, u32, u16, u16, Option<WavEncoding>)> = None;
    let mut position = 12u64;
    loop {
        let mut chunk = [0u8; 8];
        if !read_exact_or(reader, &mut chunk).map_err(io)? {
            return Err(if format.is_none() {
                truncated(path, file_len)
            } else {
                invalid(
                    path,
                    "WAV file has no data chunk: it holds no audio; export it again",
                )
            });
        }
        position += 8;
        let id = [chunk[0], chunk[1], chunk[2], chunk[3]];
        let size = u64::from(u32_at(&chunk, 4));
        match &id {
            b"fmt " => {
                if !(16..=1024).contains(&size) {
                    return Err(invalid(
                        path,
                        format!("malformed WAV fmt chunk ({size} bytes)"),
                    ));
                }
                let mut body = vec![0u8; size as usize];
                if !read_exact_or(reader, &mut body).map_err(io)? {
                    return Err(truncated(path, file_len));
                }
                format = Some(parse_format(&body, path)?);
            }
            b"ds64" if rf64 => {
                let mut body = vec![0u8; size.max(24) as usize];
                if size < 24 || !read_exact_or(reader, &mut body[..size as usize]).map_err(io)? {
                    return Err(truncated(path, file_len));
                }
                rf64_data_len = Some(u64_at(&body, 8));
            }
            b"data" => {
                let Some((
                    format_tag,
                    channels,
                    sample_rate,
                    bits_per_sample,
                    block_align,
                    encoding,
                )) = format
                else {
                    return Err(invalid(
                        path,
                        "malformed WAV: the data chunk comes before the fmt chunk",
                    ));
                };
                let remaining = file_len.saturating_sub(position);
                let declared = if rf64 && size == 0xFFFF_FFFF {
                    rf64_data_len
                } else if size == 0 && remaining > 0 || size == 0xFFFF_FFFF {
                    None
                } else {
                    Some(size)
                };
                return Ok(WavHeader {
                    format_tag,
                    channels,
                    sample_rate,
                    bits_per_sample,
                    block_align,
                    encoding,
                    data_offset: position,
                    data_len: declared,
                });
            }
            _ => {
                let skip = size + (size & 1);
                if position + skip > file_len {
                    return Err(truncated(path, file_len));
                }
                reader.seek(SeekFrom::Current(skip as i64)).map_err(io)?;
                position += skip;
                continue;
            }
        }
        position += size;
        if size & 1 == 1 {
            reader.seek(SeekFrom::Current(1)).map_err(io)?;
            position += 1;
        }
    }
}

type Format = (u16, u16, u32, u16, u16, Option<WavEncoding>);

fn parse_format(body: &[u8], path: &Path) -> Result<Format> {
    let mut format_tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let sample_rate = u32_at(body, 4);
    let block_align = u16_at(body, 12);
    let bits_per_sample = u16_at(body, 14);
    if format_tag == 0xFFFE {
        if body.len() < 40 {
            return Err(invalid(
                path,
                "malformed WAV: extensible fmt chunk too short",
            ));
        }
        // The sub-format GUID starts with the plain format tag.
        format_tag = u16_at(body, 24);
    }
    if channels == 0 {
        return Err(invalid(path, "malformed WAV: 0 channels"));
    }
    let container_bits = if channels > 0 && block_align > 0 {
        block_align / channels * 8
    } else {
        bits_per_sample
    };
    let encoding = match format_tag {
        0x0001 => match container_bits {
            8 | 16 | 24 | 32 => Some(WavEncoding::Pcm {
                bits: container_bits,
            }),
            _ => {
                return Err(invalid(
                    path,
                    format!("unsupported PCM sample size: {bits_per_sample} bits"),
                ))
            }
        },
        0x0003 => match container_bits {
            32 | 64 => Some(WavEncoding::Float {
                bits: container_bits,
            }),
            _ => {
                return Err(invalid(
                    path,
                    format!("unsupported float sample size: {bits_per_sample} bits"),
                ))
            }
        },
        0x0006 => Some(WavEncoding::ALaw),
        0x0007 => Some(WavEncoding::MuLaw),
        _ => None,
    };
    if let Some(encoding) = encoding {
        let expected = encoding.bytes_per_sample() * usize::from(channels);
        if usize::from(block_align) != expected {
            return Err(invalid(
                path,
                format!(
                    "malformed WAV: block size {block_align} does not match {channels} channels of {}",
                    encoding.name()
                ),
            ));
        }
    }
    Ok((
        format_tag,
        channels,
        sample_rate,
        bits_per_sample,
        block_align,
        encoding,
    ))
}

/// Streams planar samples in -1..1 from the `data` chunk of a WAV file.
pub struct WavSource {
    reader: BufReader<File>,
    encoding: WavEncoding,
    channels: usize,
    /// Bytes of data left to read; `None` reads to the end of the file.
    remaining: Option<u64>,
    bytes: Vec<u8>,
    /// Whether the file ended before its declared data length.
    pub ended_early: bool,
}

impl WavSource {
    /// Opens the data chunk that `header` describes; `encoding` must be set.
    pub fn new(mut file: File, header: &WavHeader, path: &Path) -> Result<WavSource> {
        let encoding = header
            .encoding
            .ok_or_else(|| invalid(path, "internal: WAV encoding not decodable here"))?;
        file.seek(SeekFrom::Start(header.data_offset))
            .map_err(|error| Error::io(path, error))?;
        Ok(WavSource {
            reader: BufReader::with_capacity(1 << 16, file),
            encoding,
            channels: usize::from(header.channels),
            remaining: header.data_len,
            bytes: Vec::new(),
            ended_early: false,
        })
    }

    /// Reads up to `max_frames` frames; an empty result means the end.
    pub fn read_frames(&mut self, max_frames: usize) -> std::io::Result<Vec<Vec<f32>>> {
        let frame_bytes = self.encoding.bytes_per_sample() * self.channels;
        let mut want = (max_frames * frame_bytes) as u64;
        if let Some(remaining) = self.remaining {
            want = want.min(remaining - remaining % frame_bytes as u64);
        }
        self.bytes.resize(want as usize, 0);
        let mut filled = 0;
        while filled < self.bytes.len() {
            let read = self.reader.read(&mut self.bytes[filled..])?;
            if read == 0 {
                if self.remaining.is_some() {
                    self.ended_early = true;
                }
                break;
            }
            filled += read;
        }
        let frames = filled / frame_bytes;
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining -= (frames * frame_bytes) as u64;
            if frames == 0 {
                *remaining = 0;
            }
        }
        let mut planar = vec![Vec::with_capacity(frames); self.channels];
        let bytes = &self.bytes[..frames * frame_bytes];
        let width = self.encoding.bytes_per_sample();
        for frame in bytes.chunks_exact(frame_bytes) {
            for (channel, sample) in frame.chunks_exact(width).enumerate() {
                planar[channel].push(decode_sample(self.encoding, sample));
            }
        }
        Ok(planar)
    }
}

fn decode_sample(encoding: WavEncoding, sample: &[u8]) -> f32 {
    match encoding {
        WavEncoding::Pcm { bits: 8 } => (f32::from(sample[0]) - 128.0) / 128.0,
        WavEncoding::Pcm { bits: 16 } => {
            f32::from(i16::from_le_bytes([sample[0], sample[1]])) / 32768.0
        }
        WavEncoding::Pcm { bits: 24 } => {
            let value = i32::from_le_bytes([0, sample[0], sample[1], sample[2]]) >> 8;
            value as f32 / 8_388_608.0
        }
        WavEncoding::Pcm { .. } => {
            i32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]) as f32
                / 2_147_483_648.0
        }
        WavEncoding::Float { bits: 32 } => {
            f32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]).clamp(-1.0, 1.0)
        }
        WavEncoding::Float { .. } => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&sample[..8]);
            (f64::from_le_bytes(bytes) as f32).clamp(-1.0, 1.0)
        }
        WavEncoding::MuLaw => g711::MULAW_TABLE[usize::from(sample[0])],
        WavEncoding::ALaw => g711::ALAW_TABLE[usize::from(sample[0])],
    }
}

/// How [`WavWriter`] stores samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavOutput {
    /// 16-bit linear PCM.
    Pcm16,
    /// G.711 mu-law, 8-bit.
    MuLaw,
    /// G.711 A-law, 8-bit.
    ALaw,
}

/// Writes whole channels at `rate` as one 16-bit PCM WAV file.
pub fn write_pcm16(path: &Path, channels: &[Vec<f32>], rate: u32) -> Result<()> {
    let mut writer = WavWriter::create(path, channels.len() as u16, rate, WavOutput::Pcm16)?;
    let slices: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
    writer.write_planar(&slices)?;
    writer.finish()
}

/// Writes a WAV file from planar or interleaved samples in -1..1, streaming:
/// the header's sizes are patched when it is finished.
pub struct WavWriter {
    writer: BufWriter<File>,
    path: std::path::PathBuf,
    output: WavOutput,
    channels: u16,
    sample_rate: u32,
    data_bytes: u64,
}

impl WavWriter {
    /// Creates `path` for `channels` channels at `sample_rate`.
    pub fn create(
        path: &Path,
        channels: u16,
        sample_rate: u32,
        output: WavOutput,
    ) -> Result<WavWriter> {
        let file = File::create(path).map_err(|error| Error::io(path, error))?;
        let mut writer = WavWriter {
            writer: BufWriter::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            output,
            channels,
            sample_rate,
            data_bytes: 0,
        };
        writer.write_header(0)?;
        Ok(writer)
    }

    fn write_header(&mut self, data_bytes: u32) -> Result<()> {
        let sample_rate = self.sample_rate;
        let (tag, width, fmt_len): (u16, u16, u32) = match self.output {
            WavOutput::Pcm16 => (1, 2, 16),
            WavOutput::MuLaw => (7, 1, 18),
            WavOutput::ALaw => (6, 1, 18),
        };
        let block_align = width * self.channels;
        let mut header = Vec::with_capacity(46);
        header.extend_from_slice(b"RIFF");
        header.extend_from_slice(
            &(4 + 8 + fmt_len + 8 + data_bytes + (data_bytes & 1)).to_le_bytes(),
        );
        header.extend_from_slice(b"WAVEfmt ");
        header.extend_from_slice(&fmt_len.to_le_bytes());
        header.extend_from_slice(&tag.to_le_bytes());
        header.extend_from_slice(&self.channels.to_le_bytes());
        header.extend_from_slice(&sample_rate.to_le_bytes());
        header.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
        header.extend_from_slice(&block_align.to_le_bytes());
        header.extend_from_slice(&(width * 8).to_le_bytes());
        if fmt_len == 18 {
            header.extend_from_slice(&0u16.to_le_bytes());
        }
        header.extend_from_slice(b"data");
        header.extend_from_slice(&data_bytes.to_le_bytes());
        self.writer
            .write_all(&header)
            .map_err(|error| Error::io(&self.path, error))
    }

    /// Appends frames given as one slice per channel (all the same length).
    pub fn write_planar(&mut self, channels: &[&[f32]]) -> Result<()> {
        debug_assert_eq!(channels.len(), usize::from(self.channels));
        let frames = channels.first().map_or(0, |channel| channel.len());
        let mut bytes = Vec::with_capacity(frames * channels.len() * 2);
        for index in 0..frames {
            for channel in channels {
                let sample = g711::to_i16(channel[index]);
                match self.output {
                    WavOutput::Pcm16 => bytes.extend_from_slice(&sample.to_le_bytes()),
                    WavOutput::MuLaw => bytes.push(g711::linear_to_mulaw(sample)),
                    WavOutput::ALaw => bytes.push(g711::linear_to_alaw(sample)),
                }
            }
        }
        self.data_bytes += bytes.len() as u64;
        self.writer
            .write_all(&bytes)
            .map_err(|error| Error::io(&self.path, error))
    }

    /// Pads, patches the header's sizes and closes the file.
    pub fn finish(mut self) -> Result<()> {
        let io = |path: &Path, error| Error::io(path, error);
        if self.data_bytes > u64::from(u32::MAX - 64) {
            return Err(invalid(
                &self.path,
                "recording too long for a WAV file (over 4 GiB)",
            ));
        }
        if self.data_bytes & 1 == 1 {
            self.writer
                .write_all(&[0])
                .map_err(|error| io(&self.path, error))?;
        }
        self.writer.flush().map_err(|error| io(&self.path, error))?;
        self.writer
            .seek(SeekFrom::Start(0))
            .map_err(|error| io(&self.path, error))?;
        let data_bytes = self.data_bytes as u32;
        self.write_header(data_bytes)?;
        self.writer.flush().map_err(|error| io(&self.path, error))
    }
}
