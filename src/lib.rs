//! callscope: speech analytics for Chinese call centers.
//!
//! Every stage of the product is callable from this library: import
//! transcripts ([`import`]), keep them in the workspace [`store`], and (in
//! the modules that follow) transcribe, score, index and digest them. The
//! `callscope` binary is a thin command line over the same calls.
//!
//! ```
//! use callscope::import::{ImportOptions, Importer};
//! use callscope::store::{CallFilter, Store};
//!
//! let jsonl = r#"{"call_id":"C1","started_at":"2026-09-01T09:30:00+08:00","segments":[{"start":0.0,"end":2.1,"role":"agent","text":"您好，很高兴为您服务。"}]}"#;
//! let mut store = Store::open_in_memory()?;
//! let report = Importer::new(ImportOptions::default()).run(
//!     &mut jsonl.as_bytes(),
//!     "example.jsonl",
//!     |calls| store.put_calls(&calls),
//!     |_bytes| {},
//! )?;
//! assert_eq!(report.calls, 1);
//! assert_eq!(store.count_calls(&CallFilter::default())?, 1);
//! # Ok::<(), callscope::error::Error>(())
//! ```

pub mod asr;
pub mod audio;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dictionary;
pub mod digest;
pub mod error;
pub mod import;
pub mod index;
pub mod lexicon;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod qa;
pub mod redact;
pub mod store;
pub mod synth;
pub mod synth_voc;
pub mod text;
pub mod workspace;
