//! G.711 companding (ITU-T G.711): mu-law (North America, Japan) and A-law
//! (Europe, China's PSTN), the two 8-bit codecs of telephone recordings.
//!
//! Decoding uses 256-entry tables built at compile time; encoding follows
//! the reference segment search. Samples are 16-bit linear values.

/// Decodes one mu-law byte to a 16-bit linear sample.
pub const fn mulaw_to_linear(byte: u8) -> i16 {
    let value = !byte;
    let exponent = ((value >> 4) & 0x07) as i32;
    let mantissa = (value & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if value & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Decodes one A-law byte to a 16-bit linear sample.
pub const fn alaw_to_linear(byte: u8) -> i16 {
    let value = byte ^ 0x55;
    let exponent = ((value >> 4) & 0x07) as i32;
    let mantissa = (value & 0x0F) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    if value & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn build_table(alaw: bool) -> [f32; 256] {
    let mut table = [0.0f32; 256];
    let mut index = 0;
    while index < 256 {
        let linear = if alaw {
            alaw_to_linear(index as u8)
        } else {
            mulaw_to_linear(index as u8)
        };
        table[index] = linear as f32 / 32768.0;
        index += 1;
    }
    table
}

/// mu-law byte → sample in -1..1.
pub static MULAW_TABLE: [f32; 256] = build_table(false);
/// A-law byte → sample in -1..1.
pub static ALAW_TABLE: [f32; 256] = build_table(true);

/// The segment (exponent) of a magnitude of at least 128: the position of
/// its highest set bit above bit 7, 0..=7.
fn segment(magnitude: i32) -> i32 {
    debug_assert!((128..32768).contains(&magnitude));
    (31 - magnitude.leading_zeros() as i32) - 7
}

/// Encodes a 16-bit linear sample as mu-law.
pub fn linear_to_mulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut value = sample as i32;
    let sign = if value < 0 { 0x80 } else { 0 };
    if value < 0 {
        value = -value;
    }
    value = value.min(CLIP) + BIAS;
    let exponent = segment(value);
    let mantissa = (value >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Encodes a 16-bit linear sample as A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut value = sample as i32;
    let mask = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    value = value.min(32767);
    let compressed = if value >= 256 {
        let exponent = segment(value);
        let mantissa = (value >> (exponent + 3)) & 0x0F;
        (exponent << 4) | mantissa
    } else {
        value >> 4
    };
    (compressed as u8) ^ mask
}

/// A float sample in -1..1 as a clamped 16-bit linear sample.
pub fn to_i16(sample: f32) -> i16 {
    (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mulaw_byte_round_trips() {
        for byte in 0..=255u8 {
            if byte == 0x7F {
                // Negative zero: decodes to 0, which encodes as 0xFF.
                assert_eq!(mulaw_to_linear(byte), 0);
                continue;
            }
            assert_eq!(
                linear_to_mulaw(mulaw_to_linear(byte)),
                byte,
                "byte {byte:#x}"
            );
        }
    }

    #[test]
    fn every_alaw_byte_round_trips() {
        for byte in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(byte)), byte, "byte {byte:#x}");
        }
    }

    #[test]
    fn known_values() {
        // Reference points of G.711: the loudest codes and silence.
        assert_eq!(mulaw_to_linear(0x00), -32124);
        assert_eq!(mulaw_to_linear(0x80), 32124);
        assert_eq!(mulaw_to_linear(0xFF), 0);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(linear_to_mulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
    }

    #[test]
    fn companding_error_is_relative() {
        // G.711 keeps about 5% relative error over the whole range.
        for &value in &[100i16, 1000, 5000, 20000, -100, -1000, -5000, -20000] {
            let via_mulaw = mulaw_to_linear(linear_to_mulaw(value)) as f32;
            let via_alaw = alaw_to_linear(linear_to_alaw(value)) as f32;
            let tolerance = (value as f32).abs() * 0.05 + 16.0;
            assert!(
                (via_mulaw - value as f32).abs() <= tolerance,
                "mu {value} {via_mulaw}"
            );
            assert!(
                (via_alaw - value as f32).abs() <= tolerance,
                "a {value} {via_alaw}"
            );
        }
    }
}
