//! The index schema (one document per call) and how a call with its QA
//! results becomes a document.
//!
//! | field | kind | for |
//! |---|---|---|
//! | `call_id` | raw string, indexed + stored | replacing a call's document, naming results |
//! | `gram_all`, `gram_agent`, `gram_customer` | bigrams and trigrams with positions | exact recall, phrases, proximity |
//! | `words_all` | jieba words with positions | ranking whole-word matches first |
//! | `agent_id`, `team`, `queue` | raw string, indexed + fast | filters, facets |
//! | `started_epoch` | i64 fast | `--sort time` |
//! | `local_date` | i64 fast (`yyyymmdd` in the call's own offset) | `--from`, `--to` |
//! | `duration` | f64 fast | |
//! | `qa_score` | f64 fast, lowest over the call's scorecards | `--min-score`, `--max-score`, `--sort score` |
//! | `passed` | u64 indexed + fast: 1 when every scorecard passed, 0 when one failed | `--passed`, `--failed` |
//! | `violated` | raw strings, indexed + fast, one per violated rule id | `--violated`, facets |
//! | `meta` | raw strings `key=value`, indexed + fast | `meta:key=value` |
//!
//! The text fields are analyzed by [`Analyzer`] (once per segment for all
//! six) and handed to tantivy as [`EncodedTokens`]. Unknown-role segments
//! go into the `_all` fields only. Only `call_id` is stored: a result's text
//! comes from the workspace store.

use std::collections::BTreeSet;

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;

use super::analyzer::{Analyzer, EncodedTokens};
use callscope_core::model::{Call, QaResult, Role};
use callscope_store::parse_timestamp;

/// Name of the tokenizer of the text fields, registered with the index: it
/// reads the tokens [`Analyzer`] wrote (see [`EncodedTokens`]).
pub const TOKENIZER: &str = "callscope_encoded";

/// The fields of the index.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The call's id.
    pub call_id: Field,
    /// Grams of all segments.
    pub gram_all: Field,
    /// Grams of the agent's segments.
    pub gram_agent: Field,
    /// Grams of the customer's segments.
    pub gram_customer: Field,
    /// jieba words of all segments.
    pub words_all: Field,
    /// Agent id.
    pub agent_id: Field,
    /// Team.
    pub team: Field,
    /// Queue.
    pub queue: Field,
    /// Start time, seconds since the epoch.
    pub started_epoch: Field,
    /// Local date as `yyyymmdd`.
    pub local_date: Field,
    /// Duration in seconds.
    pub duration: Field,
    /// Lowest QA score.
    pub qa_score: Field,
    /// 1 passed, 0 failed.
    pub passed: Field,
    /// Violated rule ids.
    pub violated: Field,
    /// `key=value` metadata.
    pub meta: Field,
}

impl Fields {
    /// Builds the schema and its fields.
    pub fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let text = |_kind: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions)
                    .set_fieldnorms(true),
            )
        };
        let call_id = builder.add_text_field("call_id", STRING | STORED);
        let gram_all = builder.add_text_field("gram_all", text("grams"));
        let gram_agent = builder.add_text_field("gram_agent", text("grams"));
        let gram_customer = builder.add_text_field("gram_customer", text("grams"));
        let words_all = builder.add_text_field("words_all", text("words"));
        let agent_id = builder.add_text_field("agent_id", STRING | FAST);
        let team = builder.add_text_field("team", STRING | FAST);
        let queue = builder.add_text_field("queue", STRING | FAST);
        let started_epoch = builder.add_i64_field("started_epoch", FAST);
        let local_date = builder.add_i64_field("local_date", FAST);
        let duration = builder.add_f64_field("duration", FAST);
        let qa_score = builder.add_f64_field("qa_score", FAST);
        let passed = builder.add_u64_field("passed", NumericOptions::from(INDEXED) | FAST);
        let violated = builder.add_text_field("violated", STRING | FAST);
        let meta = builder.add_text_field("meta", STRING | FAST);
        let fields = Fields {
            call_id,
            gram_all,
            gram_agent,
            gram_customer,
            words_all,
            agent_id,
            team,
            queue,
            started_epoch,
            local_date,
            duration,
            qa_score,
            passed,
            violated,
            meta,
        };
        (builder.build(), fields)
    }

    /// The gram field for a role (`None`: all roles).
    pub fn gram(&self, role: Option<Role>) -> Field {
        match role {
            Some(Role::Agent) => self.gram_agent,
            Some(Role::Customer) => self.gram_customer,
            _ => self.gram_all,
        }
    }
}

/// A call's local date as `yyyymmdd` (the call's own offset), and its start
/// in seconds since the epoch.
pub fn call_dates(call: &Call) -> Option<(i64, i64)> {
    let started = parse_timestamp(call.started_at.as_deref()?)?;
    let date = started.date_naive();
    Some((date_number(date), started.timestamp()))
}

/// A date as the `yyyymmdd` number the index keeps.
pub fn date_number(date: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day())
}

/// What the index keeps of a call's QA results: the lowest score, whether
/// every scorecard passed, and the violated rule ids.
#[derive(Debug, Clone, PartialEq)]
pub struct QaSummary {
    /// The lowest score over the call's scorecards.
    pub score: f64,
    /// Whether every scorecard passed.
    pub passed: bool,
    /// Violated rule ids over all scorecards.
    pub violated: BTreeSet<String>,
}

impl QaSummary {
    /// The summary of a call's results; `None` when it has none.
    pub fn of(results: &[QaResult]) -> Option<QaSummary> {
        let first = results.first()?;
        let mut summary = QaSummary {
            score: first.score,
            passed: true,
            violated: BTreeSet::new(),
        };
        for result in results {
            summary.score = summary.score.min(result.score);
            summary.passed &= result.passed;
            summary.violated.extend(
                result
                    .violations
                    .iter()
                    .map(|violation| violation.rule_id.clone()),
            );
        }
        Some(summary)
    }
}

/// Turns a call (and its QA results) into its index document.
pub fn document(
    analyzer: &Analyzer,
    fields: &Fields,
    call: &Call,
    qa: &[QaResult],
) -> TantivyDocument {
    let mut document = TantivyDocument::default();
    document.add_text(fields.call_id, &call.call_id);

    // Grams for all, agent, customer and words for all, each segment
    // analyzed once.
    let mut grams: [EncodedTokens; 3] = Default::default();
    let mut words = EncodedTokens::default();
    for segment in &call.segments {
        let analyzed = analyzer.analyze(&segment.text);
        if analyzed.units.is_empty() {
            continue;
        }
        let slots: &[usize] = match segment.role {
            Role::Agent => &[0, 1],
            Role::Customer => &[0, 2],
            Role::Unknown => &[0],
        };
        for &slot in slots {
            grams[slot].begin_segment();
        }
        analyzer.grams(&analyzed, |gram, new_position| {
            for &slot in slots {
                if new_position {
                    grams[slot].push(gram);
                } else {
                    grams[slot].push_same_position(gram);
                }
            }
        });
        words.begin_segment();
        for word in analyzer
            .words(&analyzed)
            .iter()
            .filter(|word| !word.particle)
        {
            words.push(&word.text);
        }
    }
    let text_fields = [
        fields.gram_all,
        fields.gram_agent,
        fields.gram_customer,
        fields.words_all,
    ];
    for (tokens, field) in grams.into_iter().chain([words]).zip(text_fields) {
        if !tokens.is_empty() {
            document.add_text(field, tokens.into_text());
        }
    }

    for (field, value) in [
        (fields.agent_id, &call.agent_id),
        (fields.team, &call.team),
        (fields.queue, &call.queue),
    ] {
        if let Some(value) = value {
            document.add_text(field, value);
        }
    }
    if let Some((date, epoch)) = call_dates(call) {
        document.add_i64(fields.local_date, date);
        document.add_i64(fields.started_epoch, epoch);
    }
    document.add_f64(fields.duration, call.effective_duration());
    if let Some(summary) = QaSummary::of(qa) {
        document.add_f64(fields.qa_score, summary.score);
        document.add_u64(fields.passed, u64::from(summary.passed));
        for rule_id in &summary.violated {
            document.add_text(fields.violated, rule_id);
        }
    }
    for (key, value) in &call.meta {
        document.add_text(fields.meta, format!("{key}={value}"));
    }
    document
}
