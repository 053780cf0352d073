//! Test and benchmark data for callscope, never shipped in the product:
//! deterministic synthetic calls ([`synth`]), a synthetic voice-of-the-
//! customer corpus with planted bursts, fixes and QA drops ([`synth_voc`]),
//! the demo workspace's labelled synthetic history built from it
//! ([`demo_history`]), and calls composed from real speech clips
//! ([`compose`]).

pub mod compose;
pub mod demo_history;
pub mod synth;
pub mod synth_voc;

/// The repository root (where `corpora/` and `tests/` are).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
