//! Test and benchmark data for callscope, never shipped in the product:
//! deterministic synthetic calls ([`synth`]), a synthetic voice-of-the-
//! customer corpus with planted bursts, fixes and QA drops ([`synth_voc`]),
//! and calls composed from real speech clips ([`compose`]).

pub mod compose;
pub mod synth;
pub mod synth_voc;

/// The repository root (where `corpora/` and `tests/` are).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
