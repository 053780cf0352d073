//! The `callscope` command line: clap definitions ([`cli`]), one module per
//! command ([`commands`]) and how commands talk to people ([`output`]).
//!
//! Each stage is its own library crate and callable without the CLI:
//! `callscope_core` (contract types, import), `callscope_store`,
//! `callscope_audio`, `callscope_asr`, `callscope_qa`, `callscope_index`,
//! `callscope_digest`, `callscope_redact`, and `callscope_pipeline`, which
//! runs them in order. ARCHITECTURE.md draws the map.

pub mod cli;
pub mod commands;
pub mod output;
