//! What every stage of callscope shares: the contract types that flow
//! between stages ([`model`]), the one error type ([`error`]), text
//! normalization ([`text`]), the segmentation dictionary ([`dictionary`]),
//! the shipped word lists ([`lexicon`]), the workspace config ([`config`])
//! and the transcript import format ([`import`]).
//!
//! ```
//! use callscope_core::import::{ImportOptions, Importer};
//!
//! let jsonl = r#"{"call_id":"C1","started_at":"2026-09-01T09:30:00+08:00","segments":[{"start":0.0,"end":2.1,"role":"agent","text":"您好，很高兴为您服务。"}]}"#;
//! let mut imported = Vec::new();
//! let report = Importer::new(ImportOptions::default()).run(
//!     &mut jsonl.as_bytes(),
//!     "example.jsonl",
//!     |calls| {
//!         imported.extend(calls);
//!         Ok(())
//!     },
//!     |_bytes| {},
//! )?;
//! assert_eq!(report.calls, 1);
//! assert_eq!(imported[0].call_id, "C1");
//! # Ok::<(), callscope_core::error::Error>(())
//! ```

pub mod config;
pub mod dictionary;
pub mod error;
pub mod import;
pub mod lexicon;
pub mod model;
pub mod text;
