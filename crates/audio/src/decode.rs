//! Opening a recording and streaming it as 16 kHz planar samples.
//!
//! WAV goes through callscope's own reader ([`super::wav`]); MP3, FLAC,
//! OGG/Vorbis, M4A/AAC (and ADPCM WAV) through symphonia. Everything else
//! fails with "unsupported codec NAME" naming the file. Samples are resampled
//! to 16 kHz per channel as they stream, so a recording of any length is
//! held only a block at a time.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::well_known as codecs;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use super::crash::{self, Component};
use super::resample::StreamResampler;
use super::wav::{self, WavSource};
use super::{MIN_SAMPLE_RATE, SAMPLE_RATE};
use callscope_core::error::{Error, Result};

/// What is known about a recording once it is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// The file.
    pub path: PathBuf,
    /// The container (`wav`, `mp3`, `flac`, `ogg`, `mp4`, ...).
    pub container: String,
    /// The codec (`pcm_s16`, `g711_mulaw`, `mp3`, `aac`, ...).
    pub codec: String,
    /// The original sample rate.
    pub sample_rate: u32,
    /// The original number of channels.
    pub channels: usize,
    /// The original length in frames, when the header says.
    pub frames: Option<u64>,
}

impl AudioInfo {
    /// The length in seconds, when the header says.
    pub fn duration_seconds(&self) -> Option<f64> {
        self.frames
            .map(|frames| frames as f64 / f64::from(self.sample_rate))
    }
}

/// A whole recording decoded to 16 kHz (for short files and tests; use
/// [`AudioStream`] for recordings of unbounded length).
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    /// What the file is.
    pub info: AudioInfo,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// One buffer per original channel, 16 kHz, -1..1.
    pub channels: Vec<Vec<f32>>,
    /// Things the user should know (skipped corrupt frames, a file shorter
    /// than its header).
    pub warnings: Vec<String>,
}

impl DecodedAudio {
    /// Seconds of audio.
    pub fn duration(&self) -> f64 {
        self.channels
            .first()
            .map_or(0.0, |channel| channel.len() as f64)
            / f64::from(SAMPLE_RATE)
    }

    /// All channels mixed to one.
    pub fn mixed(&self) -> Vec<f32> {
        super::downmix(&self.channels)
    }
}

/// Decodes the whole file `path` to 16 kHz and hashes it.
pub fn decode(path: &Path) -> Result<DecodedAudio> {
    let sha256 = sha256_file(path)?;
    let mut stream = AudioStream::open(path)?;
    let mut channels = vec![Vec::new(); stream.info().channels];
    while let Some(block) = stream.read(SAMPLE_RATE as usize * 60)? {
        for (target, samples) in channels.iter_mut().zip(block) {
            target.extend_from_slice(&samples);
        }
    }
    Ok(DecodedAudio {
        info: stream.info().clone(),
        sha256,
        channels,
        warnings: stream.warnings().to_vec(),
    })
}

/// SHA-256 of a file's bytes, hex, read in blocks. Only regular files are
/// read (see [`open_recording`]).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = open_recording(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|error| Error::io(path, error))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Opens a recording for reading, refusing anything but a regular file (or
/// a link to one): opening a named pipe waits for a writer forever, and a
/// folder or device is not a recording.
pub fn open_recording(path: &Path) -> Result<File> {
    let metadata = std::fs::metadata(path).map_err(|error| Error::io(path, error))?;
    if let Some(reason) = not_a_recording(&metadata) {
        return Err(audio_error(path, reason));
    }
    let file = File::open(path).map_err(|error| Error::io(path, error))?;
    // The path may have been replaced between the two looks.
    let opened = file.metadata().map_err(|error| Error::io(path, error))?;
    match not_a_recording(&opened) {
        Some(reason) => Err(audio_error(path, reason)),
        None => Ok(file),
    }
}

/// Why a file of this kind cannot be a recording, or `None` for a regular
/// file.
pub fn not_a_recording(metadata: &std::fs::Metadata) -> Option<String> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some(
            "a folder, not a recording: give the folder itself to `transcribe` to scan it, or \
             name the recordings inside it"
                .to_string(),
        );
    }
    Some(format!(
        "not a regular file ({}): callscope reads recordings from regular files only, since \
         reading this would wait or never end; copy the recording to a file",
        file_kind(&kind)
    ))
}

/// The kind of a file that is neither a regular file nor a folder.
#[cfg(unix)]
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

/// The kind of a file that is neither a regular file nor a folder.
#[cfg(not(unix))]
fn file_kind(_kind: &std::fs::FileType) -> &'static str {
    "a special file"
}

fn audio_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Audio {
        file: path.display().to_string(),
        reason: reason.into(),
    }
}

fn unsupported(path: &Path, codec: &str) -> Error {
    audio_error(
        path,
        format!(
            "unsupported codec {codec}: callscope decodes PCM and G.711 WAV, MP3, FLAC, \
             OGG/Vorbis and M4A/AAC; convert the file to one of those (e.g. \
             `sox in out.wav` or `ffmpeg -i in -ar 8000 out.wav`)"
        ),
    )
}

/// The name of a symphonia codec, for messages.
fn codec_name(codec: AudioCodecId) -> String {
    let name = match codec {
        codecs::CODEC_ID_OPUS => "Opus",
        codecs::CODEC_ID_SPEEX => "Speex",
        codecs::CODEC_ID_VORBIS => "Vorbis",
        codecs::CODEC_ID_MP1 => "MP1",
        codecs::CODEC_ID_MP2 => "MP2",
        codecs::CODEC_ID_MP3 => "mp3",
        codecs::CODEC_ID_AAC => "aac",
        codecs::CODEC_ID_FLAC => "flac",
        codecs::CODEC_ID_ALAC => "alac",
        codecs::CODEC_ID_WMA => "Windows Media Audio",
        codecs::CODEC_ID_EAC3 => "E-AC-3",
        codecs::CODEC_ID_AC4 => "AC-4",
        codecs::CODEC_ID_DCA => "DTS",
        codecs::CODEC_ID_WAVPACK => "WavPack",
        codecs::CODEC_ID_MONKEYS_AUDIO => "Monkey's Audio",
        codecs::CODEC_ID_TTA => "TTA",
        codecs::CODEC_ID_MUSEPACK => "Musepack",
        codecs::CODEC_ID_ATRAC1
        | codecs::CODEC_ID_ATRAC3
        | codecs::CODEC_ID_ATRAC3PLUS
        | codecs::CODEC_ID_ATRAC9 => "ATRAC",
        codecs::CODEC_ID_ADPCM_G722 => "G.722",
        codecs::CODEC_ID_ADPCM_G726 | codecs::CODEC_ID_ADPCM_G726LE => "G.726",
        codecs::CODEC_ID_ADPCM_MS => "adpcm_ms",
        codecs::CODEC_ID_ADPCM_IMA_WAV | codecs::CODEC_ID_ADPCM_IMA_QT => "adpcm_ima",
        codecs::CODEC_ID_PCM_ALAW => "g711_alaw",
        codecs::CODEC_ID_PCM_MULAW => "g711_mulaw",
        symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO => "unknown",
        other => return format!("pcm ({other})"),
    };
    name.to_string()
}

/// Whether the first bytes of a file read as text rather than audio.
fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A character cut at the end of the sample is still text.
        Err(error) if error.valid_up_to() + 4 >= head.len() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    let total = text.chars().count().max(1);
    let control = text
        .chars()
        .filter(|character| character.is_control() && !matches!(character, '\n' | '\r' | '\t'))
        .count();
    control * 50 < total
}

fn text_preview(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or("").trim();
    line.chars().take(40).collect()
}

enum Source {
    Wav(WavSource),
    Symphonia(Box<SymphoniaSource>),
}

struct SymphoniaSource {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// The rate and channel count of the last decoded block.
    spec: Option<(u32, usize)>,
    /// A block decoded while opening (to learn the rate and channels).
    primed: Option<Vec<Vec<f32>>>,
    skipped_packets: usize,
}

impl SymphoniaSource {
    /// The next decoded block, `None` at the end of the stream.
    fn next_block(&mut self, path: &Path) -> Result<Option<Vec<Vec<f32>>>> {
        if let Some(block) = self.primed.take() {
            return Ok(Some(block));
        }
        let mut consecutive_errors = 0;
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(None),
                Err(SymphoniaError::IoError(error))
                    if error.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Ok(None)
                }
                Err(SymphoniaError::ResetRequired) => return Ok(None),
                Err(SymphoniaError::DecodeError(_)) => {
                    consecutive_errors += 1;
                    self.skipped_packets += 1;
                    if consecutive_errors > 100 {
                        return Err(audio_error(
                            path,
                            "corrupt audio: too many undecodable frames",
                        ));
                    }
                    continue;
                }
                Err(error) => return Err(audio_error(path, format!("cannot read audio: {error}"))),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => {
                    consecutive_errors += 1;
                    self.skipped_packets += 1;
                    if consecutive_errors > 100 {
                        return Err(audio_error(
                            path,
                            "corrupt audio: too many undecodable frames",
                        ));
                    }
                    continue;
                }
                Err(SymphoniaError::Unsupported(what)) => {
                    return Err(audio_error(
                        path,
                        format!("unsupported codec feature: {what}"),
                    ))
                }
                Err(error) => return Err(audio_error(path, format!("cannot decode: {error}"))),
            };
            if decoded.frames() == 0 {
                continue;
            }
            let spec = decoded.spec();
            self.spec = Some((spec.rate(), spec.channels().count()));
            let mut block: Vec<Vec<f32>> = Vec::new();
            decoded.copy_to_vecs_planar::<f32>(&mut block);
            return Ok(Some(block));
        }
    }
}

/// A recording being read as 16 kHz planar blocks.
pub struct AudioStream {
    info: AudioInfo,
    source: Source,
    resampler: StreamResampler,
    pending: Vec<Vec<f32>>,
    pending_start: usize,
    native_frames: u64,
    emitted_frames: u64,
    source_done: bool,
    warnings: Vec<String>,
    /// Why the stream is unusable (the decoder crashed): every later read
    /// fails with it rather than touch the decoder's broken state.
    crashed: Option<String>,
}

impl AudioStream {
    /// Opens `path`, reads its header and checks that callscope can use it:
    /// a known codec, at least 8 kHz, at least one channel. Only a regular
    /// file is opened; a decoder that panics on the file gives an
    /// [`Error::Audio`] naming it ([`crash::isolate`]).
    pub fn open(path: &Path) -> Result<AudioStream> {
        crash::isolate(path, Component::Decoder, || Self::open_unisolated(path))
    }

    fn open_unisolated(path: &Path) -> Result<AudioStream> {
        let mut file = open_recording(path)?;
        let file_len = file
            .metadata()
            .map_err(|error| Error::io(path, error))?
            .len();
        if file_len == 0 {
            return Err(audio_error(
                path,
                "empty file (0 bytes): nothing to transcribe",
            ));
        }
        let mut head = vec![0u8; file_len.min(512) as usize];
        file.read_exact(&mut head)
            .map_err(|error| Error::io(path, error))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|error| Error::io(path, error))?;

        let (info, source) = if wav::is_wav(&head)
            || (head.len() < 12 && b"RIFF".starts_with(&head[..head.len().min(4)]))
        {
            Self::open_wav(path, file, file_len)?
        } else if head.starts_with(b"#!AMR-WB") {
            return Err(unsupported(path, "AMR-WB"));
        } else if head.starts_with(b"#!AMR") {
            return Err(unsupported(path, "AMR-NB"));
        } else {
            Self::open_symphonia(path, file, &head)?
        };
        Self::check(path, &info)?;
        let resampler = StreamResampler::new(info.sample_rate, SAMPLE_RATE, info.channels)?;
        Ok(AudioStream {
            pending: vec![Vec::new(); info.channels],
            info,
            source,
            resampler,
            pending_start: 0,
            native_frames: 0,
            emitted_frames: 0,
            source_done: false,
            warnings: Vec::new(),
            crashed: None,
        })
    }

    fn check(path: &Path, info: &AudioInfo) -> Result<()> {
        if info.sample_rate < MIN_SAMPLE_RATE {
            return Err(audio_error(
                path,
                format!(
                    "sample rate {} Hz is below {MIN_SAMPLE_RATE} Hz, the telephone minimum: \
                     speech is not intelligible at that rate (it keeps only sounds below {} Hz); \
                     use the original recording",
                    info.sample_rate,
                    info.sample_rate / 2
                ),
            ));
        }
        if info.sample_rate > 384_000 {
            return Err(audio_error(
                path,
                format!(
                    "implausible sample rate {} Hz: the header is damaged",
                    info.sample_rate
                ),
            ));
        }
        if info.channels == 0 || info.channels > 32 {
            return Err(audio_error(
                path,
                format!(
                    "implausible channel count {}: the header is damaged",
                    info.channels
                ),
            ));
        }
        if info.frames == Some(0) {
            return Err(audio_error(
                path,
                "no audio: the recording is 0 seconds long",
            ));
        }
        Ok(())
    }

    fn open_wav(path: &Path, mut file: File, file_len: u64) -> Result<(AudioInfo, Source)> {
        let header = wav::read_header(&mut file, path, file_len)?;
        let Some(encoding) = header.encoding else {
            // ADPCM WAV: symphonia decodes it.
            if matches!(header.format_tag, 0x0002 | 0x0011) {
                file.seek(SeekFrom::Start(0))
                    .map_err(|error| Error::io(path, error))?;
                return Self::open_symphonia(path, file, b"RIFF");
            }
            return Err(unsupported(
                path,
                &format!(
                    "{} (WAV format tag {:#06x})",
                    wav::format_tag_name(header.format_tag),
                    header.format_tag
                ),
            ));
        };
        let frame_bytes = u64::from(header.block_align.max(1));
        let available = file_len.saturating_sub(header.data_offset);
        let data_len = header.data_len.unwrap_or(available);
        let info = AudioInfo {
            path: path.to_path_buf(),
            container: "wav".to_string(),
            codec: encoding.name(),
            sample_rate: header.sample_rate,
            channels: usize::from(header.channels),
            frames: Some(data_len.min(available) / frame_bytes),
        };
        let source = WavSource::new(file, &header, path)?;
        Ok((info, Source::Wav(source)))
    }

    fn open_symphonia(path: &Path, file: File, head: &[u8]) -> Result<(AudioInfo, Source)> {
        let mut hint = Hint::new();
        if let Some(extension) = path.extension().and_then(|extension| extension.to_str()) {
            hint.with_extension(extension);
        }
        let stream = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                stream,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|error| {
                if looks_like_text(head) {
                    audio_error(
                        path,
                        format!(
                            "not an audio file: it contains text (\"{}\"); check the path",
                            text_preview(head)
                        ),
                    )
                } else {
                    let detail = match error {
                        SymphoniaError::Unsupported(_) => String::new(),
                        other => format!(" ({other})"),
                    };
                    audio_error(
                        path,
                        format!(
                            "unrecognized audio format{detail}: callscope reads WAV, MP3, FLAC, \
                             OGG/Vorbis and M4A/AAC"
                        ),
                    )
                }
            })?;
        let Some(track) = format
            .default_track(TrackType::Audio)
            .or_else(|| format.first_track(TrackType::Audio))
        else {
            return Err(audio_error(path, "no audio track in the file"));
        };
        let Some(params) = track
            .codec_params
            .as_ref()
            .and_then(|params| params.audio())
            .cloned()
        else {
            return Err(audio_error(path, "no audio track in the file"));
        };
        let track_id = track.id;
        let frames = track.num_frames;
        let codec = codec_name(params.codec);
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|_| unsupported(path, &codec))?;
        let container = path
            .extension()
            .and_then(|extension| extension.to_str())
            .unwrap_or("audio")
            .to_ascii_lowercase();
        let mut source = SymphoniaSource {
            format,
            decoder,
            track_id,
            spec: None,
            primed: None,
            skipped_packets: 0,
        };
        let mut sample_rate = params.sample_rate;
        let mut channels = params.channels.as_ref().map(|channels| channels.count());
        if sample_rate.is_none() || channels.is_none() {
            source.primed = source.next_block(path)?;
            let Some((rate, count)) = source.spec else {
                return Err(audio_error(
                    path,
                    "no audio: the recording is 0 seconds long",
                ));
            };
            sample_rate = Some(rate);
            channels = Some(count);
        }
        let info = AudioInfo {
            path: path.to_path_buf(),
            container,
            codec,
            sample_rate: sample_rate.unwrap_or(0),
            channels: channels.unwrap_or(0),
            frames,
        };
        Ok((info, Source::Symphonia(Box::new(source))))
    }

    /// What the file is.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Warnings gathered so far.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Seconds of 16 kHz audio returned so far.
    pub fn position_seconds(&self) -> f64 {
        self.emitted_frames as f64 / f64::from(SAMPLE_RATE)
    }

    fn pending_len(&self) -> usize {
        self.pending[0].len() - self.pending_start
    }

    /// The next block of up to `max_frames` frames at 16 kHz, one buffer per
    /// original channel; `None` at the end. A recording with no samples at
    /// all is an error.
    pub fn read(&mut self, max_frames: usize) -> Result<Option<Vec<Vec<f32>>>> {
        if let Some(reason) = &self.crashed {
            return Err(audio_error(&self.info.path, reason.clone()));
        }
        while self.pending_len() < max_frames && !self.source_done {
            let path = self.info.path.clone();
            match crash::catch(&path, Component::Decoder, || self.pull()) {
                Ok(pulled) => pulled?,
                Err(crashed) => {
                    if let Error::Audio { reason, .. } = &crashed {
                        self.crashed = Some(reason.clone());
                    }
                    return Err(crashed);
                }
            }
        }
        let available = self.pending_len().min(max_frames);
        if available == 0 {
            return Ok(None);
        }
        let start = self.pending_start;
        let block = self
            .pending
            .iter()
            .map(|channel| channel[start..start + available].to_vec())
            .collect();
        self.pending_start += available;
        if self.pending_start > (1 << 16) && self.pending_start * 2 > self.pending[0].len() {
            let start = self.pending_start;
            for channel in &mut self.pending {
                channel.drain(..start);
            }
            self.pending_start = 0;
        }
        self.emitted_frames += available as u64;
        Ok(Some(block))
    }

    /// Decodes one more block from the source into `pending`.
    fn pull(&mut self) -> Result<()> {
        let path = self.info.path.clone();
        let block = match &mut self.source {
            Source::Wav(source) => {
                let block = source
                    .read_frames(8192)
                    .map_err(|error| Error::io(&path, error))?;
                if block.first().is_none_or(Vec::is_empty) {
                    None
                } else {
                    Some(block)
                }
            }
            Source::Symphonia(source) => source.next_block(&path)?,
        };
        match block {
            Some(block) => {
                if block.len() != self.info.channels {
                    return Err(audio_error(
                        &path,
                        format!(
                            "the channel count changed mid-stream ({} to {})",
                            self.info.channels,
                            block.len()
                        ),
                    ));
                }
                self.native_frames += block[0].len() as u64;
                self.resampler.push(&block, &mut self.pending)?;
            }
            None => {
                self.source_done = true;
                self.resampler.finish(&mut self.pending)?;
                self.finish_warnings();
                if self.native_frames == 0 {
                    return Err(audio_error(
                        &path,
                        "no audio: the recording is 0 seconds long",
                    ));
                }
            }
        }
        Ok(())
    }

    fn finish_warnings(&mut self) {
        match &self.source {
            Source::Wav(source) if source.ended_early => {
                let declared =
                    self.info.frames.unwrap_or(0) as f64 / f64::from(self.info.sample_rate);
                let got = self.native_frames as f64 / f64::from(self.info.sample_rate);
                self.warnings.push(format!(
                    "the file is shorter than its header says ({got:.1} s of {declared:.1} s): \
                     it was cut off; transcribed what is there"
                ));
            }
            Source::Symphonia(source) if source.skipped_packets > 0 => {
                self.warnings.push(format!(
                    "skipped {} corrupt audio frames",
                    source.skipped_packets
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_recognized() {
        assert!(looks_like_text(b"call_id,path\nC1,a.wav\n"));
        assert!(looks_like_text("您好，这不是音频".as_bytes()));
        assert!(!looks_like_text(&[
            0xFF, 0xFB, 0x90, 0x00, 0x01, 0x02, 0x00, 0x00
        ]));
    }
}
