//! Short-time analysis of 16 kHz speech, shared by the VAD and speaker
//! separation: per 10 ms frame (32 ms Hann window) the telephone-band energy,
//! the periodicity and pitch (normalized autocorrelation, Boersma's window
//! correction), and MFCCs from a 24-band log-mel spectrum.
//!
//! Everything is restricted to the telephone band (300-3400 Hz for energy,
//! 200-3600 Hz for the mel bank), so 8 kHz and 16 kHz recordings of the same
//! speech give the same features.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::SAMPLE_RATE;

/// Samples between frames: 10 ms.
pub const HOP: usize = 160;
/// Samples in a frame's window: 32 ms.
pub const WINDOW: usize = 512;
/// FFT length (zero-padded so the autocorrelation does not wrap).
const FFT: usize = 1024;
/// Mel bands.
pub const MEL_BANDS: usize = 24;
/// Cepstral coefficients kept (c1..=c12; c0, the loudness, is dropped).
pub const MFCC: usize = 12;
/// Lowest and highest pitch searched, Hz.
const PITCH_MIN_HZ: f32 = 60.0;
const PITCH_MAX_HZ: f32 = 400.0;

/// Seconds from the start of the stream to the start of frame `index`'s
/// central hop (the 10 ms around the window's center).
pub fn frame_start_seconds(index: u64) -> f64 {
    (index as f64 * HOP as f64 + (WINDOW / 2 - HOP / 2) as f64) / f64::from(SAMPLE_RATE)
}

/// Seconds from the start of the stream to the end of frame `index`'s
/// central hop.
pub fn frame_end_seconds(index: u64) -> f64 {
    frame_start_seconds(index) + HOP as f64 / f64::from(SAMPLE_RATE)
}

/// What one frame looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Energy in 300-3400 Hz, dB relative to full scale (a full-scale sine
    /// reads -3 dB, digital silence -100 dB).
    pub energy_db: f32,
    /// Normalized autocorrelation peak in the pitch range, 0..1 (voiced
    /// speech 0.5-0.95, noise below 0.4).
    pub periodicity: f32,
    /// The pitch at that peak, Hz (meaningful when `periodicity` is high).
    pub pitch_hz: f32,
}

/// Computes [`Frame`]s and MFCCs; holds the FFT plans and buffers (build one
/// per thread).
pub struct FrameAnalyzer {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    window_autocorrelation: Vec<f32>,
    window_power: f32,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    autocorrelation: Vec<f32>,
    forward_scratch: Vec<Complex<f32>>,
    inverse_scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    mel_filters: Vec<(usize, Vec<f32>)>,
    dct: Vec<[f32; MEL_BANDS]>,
}

impl Default for FrameAnalyzer {
    fn default() -> Self {
        FrameAnalyzer::new()
    }
}

fn hz_to_bin(hz: f32) -> usize {
    (hz * FFT as f32 / SAMPLE_RATE as f32).round() as usize
}

fn hz_to_mel(hz: f32) -> f32 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn mel_to_hz(mel: f32) -> f32 {
    700.0 * (10f32.powf(mel / 2595.0) - 1.0)
}

impl FrameAnalyzer {
    /// Plans the FFTs and builds the window and filter bank.
    pub fn new() -> FrameAnalyzer {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(FFT);
        let inverse = planner.plan_fft_inverse(FFT);
        let window: Vec<f32> = (0..WINDOW)
            .map(|index| 0.5 - 0.5 * (std::f32::consts::TAU * index as f32 / WINDOW as f32).cos())
            .collect();
        let window_power = window.iter().map(|value| value * value).sum::<f32>();
        let window_autocorrelation = (0..WINDOW)
            .map(|lag| {
                (0..WINDOW - lag)
                    .map(|index| window[index] * window[index + lag])
                    .sum::<f32>()
                    / window_power
            })
            .collect();
        // Triangular mel filters over 200-3600 Hz.
        let low = hz_to_mel(200.0);
        let high = hz_to_mel(3600.0);
        let edges: Vec<f32> = (0..MEL_BANDS + 2)
            .map(|index| mel_to_hz(low + (high - low) * index as f32 / (MEL_BANDS + 1) as f32))
            .collect();
        let bin_hz = SAMPLE_RATE as f32 / FFT as f32;
        let mel_filters = (0..MEL_BANDS)
            .map(|band| {
                let (left, center, right) = (edges[band], edges[band + 1], edges[band + 2]);
                let first = (left / bin_hz).ceil() as usize;
                let last = (right / bin_hz).floor() as usize;
                let weights = (first..=last)
                    .map(|bin| {
                        let hz = bin as f32 * bin_hz;
                        if hz <= center {
                            (hz - left) / (center - left)
                        } else {
                            (right - hz) / (right - center)
                        }
                        .max(0.0)
                    })
                    .collect();
                (first, weights)
            })
            .collect();
        let dct = (1..=MFCC)
            .map(|coefficient| {
                let mut row = [0f32; MEL_BANDS];
                for (band, weight) in row.iter_mut().enumerate() {
                    *weight = (std::f32::consts::PI * coefficient as f32 * (band as f32 + 0.5)
                        / MEL_BANDS as f32)
                        .cos()
                        * (2.0 / MEL_BANDS as f32).sqrt();
                }
                row
            })
            .collect();
        FrameAnalyzer {
            forward_scratch: forward.make_scratch_vec(),
            inverse_scratch: inverse.make_scratch_vec(),
            input: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            autocorrelation: inverse.make_output_vec(),
            power: vec![0.0; FFT / 2 + 1],
            forward,
            inverse,
            window,
            window_autocorrelation,
            window_power,
            mel_filters,
            dct,
        }
    }

    /// Analyzes `samples[..WINDOW]` (shorter input is zero-padded). Pitch is
    /// computed only when `with_pitch` is set (it costs an inverse FFT).
    pub fn analyze(&mut self, samples: &[f32], with_pitch: bool) -> Frame {
        let count = samples.len().min(WINDOW);
        let mean = samples[..count].iter().sum::<f32>() / count.max(1) as f32;
        for (index, slot) in self.input.iter_mut().enumerate() {
            *slot = if index < count {
                (samples[index] - mean) * self.window[index]
            } else {
                0.0
            };
        }
        // The forward FFT cannot fail with buffers made by its own plan.
        let _ = self.forward.process_with_scratch(
            &mut self.input,
            &mut self.spectrum,
            &mut self.forward_scratch,
        );
        for (power, value) in self.power.iter_mut().zip(&self.spectrum) {
            *power = value.norm_sqr();
        }
        let scale = 2.0 / (FFT as f32 * self.window_power);
        let band: f32 = self.power[hz_to_bin(300.0)..=hz_to_bin(3400.0)]
            .iter()
            .sum();
        let energy_db = 10.0 * (band * scale + 1e-10).log10();
        let (periodicity, pitch_hz) = if with_pitch { self.pitch() } else { (0.0, 0.0) };
        Frame {
            energy_db,
            periodicity,
            pitch_hz,
        }
    }

    /// Normalized autocorrelation peak over 60-400 Hz of the 50-1500 Hz band.
    fn pitch(&mut self) -> (f32, f32) {
        let low = hz_to_bin(50.0);
        let high = hz_to_bin(1500.0);
        for (bin, value) in self.spectrum.iter_mut().enumerate() {
            let power = if (low..=high).contains(&bin) {
                self.power[bin]
            } else {
                0.0
            };
            *value = Complex::new(power, 0.0);
        }
        let _ = self.inverse.process_with_scratch(
            &mut self.spectrum,
            &mut self.autocorrelation,
            &mut self.inverse_scratch,
        );
        let zero = self.autocorrelation[0];
        if zero <= 1e-12 {
            return (0.0, 0.0);
        }
        let min_lag = (SAMPLE_RATE as f32 / PITCH_MAX_HZ) as usize;
        let max_lag = (SAMPLE_RATE as f32 / PITCH_MIN_HZ) as usize;
        let normalized = |lag: usize| -> f32 {
            self.autocorrelation[lag] / zero / self.window_autocorrelation[lag].max(1e-3)
        };
        let values: Vec<f32> = (min_lag..=max_lag).map(normalized).collect();
        let highest = values.iter().copied().fold(f32::MIN, f32::max);
        // The shortest lag whose local peak comes close to the highest: a
        // periodic signal peaks again at every multiple of its period.
        let mut best_lag = min_lag;
        let mut best = highest;
        for (offset, &value) in values.iter().enumerate() {
            let left = if offset > 0 {
                values[offset - 1]
            } else {
                f32::MIN
            };
            let right = values.get(offset + 1).copied().unwrap_or(f32::MIN);
            if value >= left && value >= right && value >= 0.9 * highest {
                best_lag = min_lag + offset;
                best = value;
                break;
            }
        }
        // Parabolic interpolation around the peak.
        let refined = if best_lag > min_lag && best_lag < max_lag {
            let (left, right) = (normalized(best_lag - 1), normalized(best_lag + 1));
            let denominator = left - 2.0 * best + right;
            if denominator.abs() > 1e-9 {
                best_lag as f32 + 0.5 * (left - right) / denominator
            } else {
                best_lag as f32
            }
        } else {
            best_lag as f32
        };
        (best.clamp(0.0, 1.0), SAMPLE_RATE as f32 / refined)
    }

    /// The power spectrum of the last analyzed frame (bins of 15.625 Hz).
    pub fn power(&self) -> &[f32] {
        &self.power
    }

    /// The 24 log-mel energies (natural log) of the last analyzed frame.
    pub fn log_mel(&self) -> [f32; MEL_BANDS] {
        let mut bands = [0f32; MEL_BANDS];
        let scale = 2.0 / (FFT as f32 * self.window_power);
        for (band, (first, weights)) in bands.iter_mut().zip(&self.mel_filters) {
            let energy: f32 = weights
                .iter()
                .enumerate()
                .map(|(offset, weight)| weight * self.power[first + offset])
                .sum();
            *band = (energy * scale + 1e-10).ln();
        }
        bands
    }

    /// MFCC c1..=c12 of the last analyzed frame.
    pub fn mfcc(&self) -> [f32; MFCC] {
        let bands = self.log_mel();
        let mut coefficients = [0f32; MFCC];
        for (coefficient, row) in coefficients.iter_mut().zip(&self.dct) {
            *coefficient = row
                .iter()
                .zip(&bands)
                .map(|(weight, band)| weight * band)
                .sum();
        }
        coefficients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn harmonic(pitch: f32, amplitude: f32) -> Vec<f32> {
        (0..WINDOW)
            .map(|index| {
                let time = index as f32 / SAMPLE_RATE as f32;
                (1..=8)
                    .map(|harmonic| {
                        (std::f32::consts::TAU * pitch * harmonic as f32 * time).sin()
                            / harmonic as f32
                    })
                    .sum::<f32>()
                    * amplitude
            })
            .collect()
    }

    #[test]
    fn pitch_and_periodicity_of_a_harmonic_sound() {
        let mut analyzer = FrameAnalyzer::new();
        for &pitch in &[90.0f32, 150.0, 220.0, 310.0] {
            let frame = analyzer.analyze(&harmonic(pitch, 0.2), true);
            assert!(frame.periodicity > 0.8, "{pitch}: {frame:?}");
            assert!(
                (frame.pitch_hz - pitch).abs() / pitch < 0.02,
                "{pitch}: {frame:?}"
            );
        }
    }

    #[test]
    fn noise_is_aperiodic_and_energy_is_calibrated() {
        let mut analyzer = FrameAnalyzer::new();
        let mut state = 12345u32;
        let noise: Vec<f32> = (0..WINDOW)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let frame = analyzer.analyze(&noise, true);
        assert!(frame.periodicity < 0.5, "{frame:?}");
        let sine: Vec<f32> = (0..WINDOW)
            .map(|index| (std::f32::consts::TAU * 1000.0 * index as f32 / 16000.0).sin())
            .collect();
        let frame = analyzer.analyze(&sine, false);
        assert!((frame.energy_db + 3.0).abs() < 0.5, "{frame:?}");
        let silence = analyzer.analyze(&[0.0; WINDOW], true);
        assert!(silence.energy_db < -90.0 && silence.periodicity == 0.0);
    }
}
