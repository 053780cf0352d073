//! QA scoring (智能质检): scorecards of rules (`docs/qa-rules.md`)
//! applied to every call, with evidence an analyst can check.
//!
//! A [`Scorecard`] is parsed and validated from TOML before any call is
//! scored; a [`Scorer`] compiles one or more scorecards once (all keyword and
//! lexicon words into one Aho-Corasick automaton, homophones into one index)
//! and then scores calls from any number of threads. Each call is prepared
//! once (segments normalized with [`callscope_core::text::Normalizer`], word hits and
//! timing found) and shared by every rule of every scorecard.
//!
//! ```
//! use callscope_core::model::{Call, Role, Segment};
//! use callscope_qa::{Scorecard, Scorer};
//!
//! let scorecard = Scorecard::parse(r#"
//!     [scorecard]
//!     name = "售后服务质检标准"
//!     pass_score = 80
//!
//!     [[rule]]
//!     id = "greeting"
//!     expect = "present"
//!     points = 5
//!     [rule.when]
//!     op = "similar"
//!     role = "agent"
//!     first = 2
//!     phrases = ["您好，很高兴为您服务"]
//!
//!     [[rule]]
//!     id = "forbidden_words"
//!     expect = "absent"
//!     fatal = true
//!     [rule.when]
//!     op = "keyword"
//!     role = "agent"
//!     words = ["没办法"]
//!     fuzzy = "pinyin"
//! "#, "example.toml")?;
//! let segment = |start: f64, role: Role, text: &str| Segment {
//!     start, end: start + 2.0, role, text: text.to_string(),
//!     confidence: None, role_confidence: None,
//! };
//! let call = Call {
//!     call_id: "C1".to_string(),
//!     segments: vec![
//!         segment(0.0, Role::Agent, "您好，很高興為您服務，工号三零七。"),
//!         segment(3.0, Role::Customer, "我的订单还没发货。"),
//!         segment(6.0, Role::Agent, "这个我也没半法。"),
//!     ],
//!     started_at: None, agent_id: None, team: None, queue: None, duration: None,
//!     meta: Default::default(), asr_model: None, audio_sha256: None,
//!     silences: Vec::new(), audio_path: None,
//! };
//! let results = Scorer::new(vec![scorecard]).score(&call);
//! assert_eq!(results[0].score, 0.0); // the forbidden word is fatal
//! assert!(results[0].fatal && !results[0].passed);
//! let evidence = &results[0].violations[0].evidence[0];
//! assert_eq!((evidence.segment, evidence.matched.as_str()), (2, "没半法"));
//! # Ok::<(), callscope_core::error::Error>(())
//! ```

pub mod backtest;
mod context;
mod engine;
pub mod fuzzy;
pub use callscope_core::lexicon;
pub mod scorecard;
pub mod similar;
pub mod summary;

pub use engine::{score_of, Scored, Scorer};
pub use scorecard::{
    Condition, Expect, Fuzzy, KeywordMode, Matcher, Operator, RoleFilter, Rule, Scope, Scorecard,
    ScorecardIssue, TextMatcher,
};
pub use summary::Summary;

#[cfg(test)]
mod tests;
