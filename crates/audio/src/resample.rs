//! Streaming sample-rate conversion to 16 kHz (rubato's FFT resampler),
//! per channel, with the resampler's delay removed so that output sample `n`
//! is at time `n / 16000` of the original recording.

use rubato::{FftFixedIn, Resampler};

use callscope_core::error::{Error, Result};

/// Input frames per resampler call, about this many.
const CHUNK_FRAMES: usize = 1024;

fn gcd(mut left: u32, mut right: u32) -> u32 {
    while right != 0 {
        (left, right) = (right, left % right);
    }
    left
}

/// An input chunk length that makes the FFT output length even: rubato
/// reports the delay as half of it, and an odd length would leave a
/// half-sample shift.
fn chunk_frames(input_rate: u32, output_rate: u32) -> usize {
    let unit = (input_rate / gcd(input_rate, output_rate)) as usize;
    let units = CHUNK_FRAMES.div_ceil(unit).div_ceil(2) * 2;
    unit * units
}

/// Converts planar audio from one rate to another, block by block.
pub struct StreamResampler {
    inner: Option<FftFixedIn<f32>>,
    input_rate: u32,
    output_rate: u32,
    channels: usize,
    fifo: Vec<Vec<f32>>,
    input_frames: u64,
    produced_frames: u64,
    emitted_frames: u64,
    delay_left: usize,
}

impl StreamResampler {
    /// A resampler for `channels` channels; a pass-through when the rates are
    /// equal.
    pub fn new(input_rate: u32, output_rate: u32, channels: usize) -> Result<StreamResampler> {
        let inner = if input_rate == output_rate {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(
                    input_rate as usize,
                    output_rate as usize,
                    chunk_frames(input_rate, output_rate),
                    1,
                    channels,
                )
                .map_err(|error| Error::Usage(format!("resampler: {error}")))?,
            )
        };
        let delay_left = inner
            .as_ref()
            .map_or(0, |resampler| resampler.output_delay());
        Ok(StreamResampler {
            inner,
            input_rate,
            output_rate,
            channels,
            fifo: vec![Vec::new(); channels],
            input_frames: 0,
            produced_frames: 0,
            emitted_frames: 0,
            delay_left,
        })
    }

    /// Output frames that `input` frames make.
    fn expected_output(&self, input: u64) -> u64 {
        (input * u64::from(self.output_rate) + u64::from(self.input_rate) / 2)
            / u64::from(self.input_rate)
    }

    /// Converts `input` (one slice per channel) and appends the result to
    /// `output`.
    pub fn push(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]) -> Result<()> {
        let frames = input.first().map_or(0, Vec::len);
        self.input_frames += frames as u64;
        let Some(resampler) = self.inner.as_mut() else {
            for (channel, samples) in input.iter().enumerate() {
                output[channel].extend_from_slice(samples);
            }
            self.emitted_frames += frames as u64;
            return Ok(());
        };
        for (channel, samples) in input.iter().enumerate() {
            self.fifo[channel].extend_from_slice(samples);
        }
        let mut consumed = 0;
        while self.fifo[0].len() - consumed >= resampler.input_frames_next() {
            let need = resampler.input_frames_next();
            let block: Vec<&[f32]> = self
                .fifo
                .iter()
                .map(|channel| &channel[consumed..consumed + need])
                .collect();
            let converted = resampler
                .process(&block, None)
                .map_err(|error| Error::Usage(format!("resampler: {error}")))?;
            consumed += need;
            Self::emit(
                &converted,
                output,
                &mut self.delay_left,
                &mut self.produced_frames,
                &mut self.emitted_frames,
                u64::MAX,
            );
        }
        for channel in &mut self.fifo {
            channel.drain(..consumed);
        }
        Ok(())
    }

    fn emit(
        converted: &[Vec<f32>],
        output: &mut [Vec<f32>],
        delay_left: &mut usize,
        produced: &mut u64,
        emitted: &mut u64,
        limit: u64,
    ) {
        let frames = converted.first().map_or(0, Vec::len);
        *produced += frames as u64;
        let skip = (*delay_left).min(frames);
        *delay_left -= skip;
        let available = (frames - skip) as u64;
        let take = available.min(limit.saturating_sub(*emitted)) as usize;
        for (channel, samples) in converted.iter().enumerate() {
            output[channel].extend_from_slice(&samples[skip..skip + take]);
        }
        *emitted += take as u64;
    }

    /// Flushes what is left so that the total output is exactly the input's
    /// duration at the new rate.
    pub fn finish(&mut self, output: &mut [Vec<f32>]) -> Result<()> {
        let expected = self.expected_output(self.input_frames);
        let Some(resampler) = self.inner.as_mut() else {
            return Ok(());
        };
        let mut pending = std::mem::take(&mut self.fifo);
        let mut rounds = 0;
        while self.emitted_frames < expected && rounds < 64 {
            let converted = if pending[0].is_empty() {
                resampler.process_partial(None::<&[Vec<f32>]>, None)
            } else {
                resampler.process_partial(Some(&pending), None)
            }
            .map_err(|error| Error::Usage(format!("resampler: {error}")))?;
            for channel in &mut pending {
                channel.clear();
            }
            Self::emit(
                &converted,
                output,
                &mut self.delay_left,
                &mut self.produced_frames,
                &mut self.emitted_frames,
                expected,
            );
            rounds += 1;
        }
        self.fifo = vec![Vec::new(); self.channels];
        Ok(())
    }
}

/// Converts a whole buffer (tests, composing clips).
pub fn resample(samples: &[f32], input_rate: u32, output_rate: u32) -> Result<Vec<f32>> {
    let mut resampler = StreamResampler::new(input_rate, output_rate, 1)?;
    let mut output = vec![Vec::with_capacity(
        samples.len() * output_rate as usize / input_rate as usize + 16,
    )];
    for block in samples.chunks(1 << 16) {
        resampler.push(&[block.to_vec()], &mut output)?;
    }
    resampler.finish(&mut output)?;
    Ok(output.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(frequency: f32, rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|index| {
                (std::f32::consts::TAU * frequency * index as f32 / rate as f32).sin() * 0.5
            })
            .collect()
    }

    #[test]
    fn lengths_and_alignment_are_exact() {
        for &rate in &[8000u32, 11025, 22050, 44100, 48000] {
            let input = tone(440.0, rate, 1.37);
            let output = resample(&input, rate, 16000).unwrap();
            let expected = (input.len() as u64 * 16000 + u64::from(rate) / 2) / u64::from(rate);
            assert_eq!(output.len() as u64, expected, "rate {rate}");
            // The tone keeps its phase: compare with an ideal 16 kHz tone away
            // from the edges.
            let ideal = tone(440.0, 16000, 1.37);
            let error: f32 = (2000..18000)
                .map(|index| (output[index] - ideal[index]).abs())
                .fold(0.0, f32::max);
            assert!(error < 0.002, "rate {rate}: max error {error}");
        }
    }

    #[test]
    fn anti_aliasing_removes_content_above_8_khz() {
        // A 10 kHz tone at 48 kHz must vanish at 16 kHz (it would alias to 6 kHz).
        let input = tone(10_000.0, 48000, 1.0);
        let output = resample(&input, 48000, 16000).unwrap();
        let rms = (output[2000..14000].iter().map(|x| x * x).sum::<f32>() / 12000.0).sqrt();
        assert!(rms < 0.01, "rms {rms}");
    }
}
