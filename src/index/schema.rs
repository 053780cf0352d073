//! The index schema (one document per call) and how a call with its QA
//! results becomes a document.
//!
//! | field | kind | for |
//! |---|---|---|
//! | `call_id` | raw string, indexed + fast | replacing a call's document, naming results |
//! | `gram_all`, `gram_agent`, `gram_customer` | grams with positions | exact recall, phrases, proximity |
//! | `words_all`, `words_agent`, `words_customer` | jieba words with positions | ranking, phrases across particles |
//! | `agent_id`, `team`, `queue` | raw string, indexed + fast | filters, facets |
//! | `started_epoch` | i64 fast | `--sort time` |
//! | `local_date` | i64 fast (`yyyymmdd` in the call's own offset) | `--from`, `--to` |
//! | `duration` | f64 fast | |
//! | `qa_score` | f64 fast, lowest over the call's scorecards | `--min-score`, `--max-score`, `--sort score` |
//! | `passed` | u64 indexed + fast: 1 when every scorecard passed, 0 when one failed | `--passed`, `--failed` |
//! | `violated` | raw strings, indexed + fast, one per violated rule id | `--violated`, facets |
//! | `meta` | raw strings `key=value`, indexed | `meta:key=value` |
//!
//! Unknown-role segments go into the `_all` fields only. Nothing is stored:
//! results are named by the `call_id` fast field and their text comes from
//! the workspace store.

use std::collections::BTreeSet;

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STRING,
};
use tantivy::tokenizer::PreTokenizedString;
use tantivy::TantivyDocument;

use super::analyzer::{Analyzer, Token, SEGMENT_GAP};
use crate::model::{Call, QaResult, Role};
use crate::store::parse_timestamp;

/// Name of the gram tokenizer registered with the index.
pub const GRAM_TOKENIZER: &str = "callscope_gram";
/// Name of the word tokenizer registered with the index.
pub const WORD_TOKENIZER: &str = "callscope_words";

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
    /// Words of all segments.
    pub words_all: Field,
    /// Words of the agent's segments.
    pub words_agent: Field,
    /// Words of the customer's segments.
    pub words_customer: Field,
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
        let text = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions)
                    .set_fieldnorms(true),
            )
        };
        let call_id = builder.add_text_field("call_id", STRING | FAST);
        let gram_all = builder.add_text_field("gram_all", text(GRAM_TOKENIZER));
        let gram_agent = builder.add_text_field("gram_agent", text(GRAM_TOKENIZER));
        let gram_customer = builder.add_text_field("gram_customer", text(GRAM_TOKENIZER));
        let words_all = builder.add_text_field("words_all", text(WORD_TOKENIZER));
        let words_agent = builder.add_text_field("words_agent", text(WORD_TOKENIZER));
        let words_customer = builder.add_text_field("words_customer", text(WORD_TOKENIZER));
        let agent_id = builder.add_text_field("agent_id", STRING | FAST);
        let team = builder.add_text_field("team", STRING | FAST);
        let queue = builder.add_text_field("queue", STRING | FAST);
        let started_epoch = builder.add_i64_field("started_epoch", FAST);
        let local_date = builder.add_i64_field("local_date", FAST);
        let duration = builder.add_f64_field("duration", FAST);
        let qa_score = builder.add_f64_field("qa_score", FAST);
        let passed = builder.add_u64_field("passed", NumericOptions::from(INDEXED) | FAST);
        let violated = builder.add_text_field("violated", STRING | FAST);
        let meta = builder.add_text_field("meta", STRING);
        let fields = Fields {
            call_id,
            gram_all,
            gram_agent,
            gram_customer,
            words_all,
            words_agent,
            words_customer,
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

    /// The word field for a role (`None`: all roles).
    pub fn words(&self, role: Option<Role>) -> Field {
        match role {
            Some(Role::Agent) => self.words_agent,
            Some(Role::Customer) => self.words_customer,
            _ => self.words_all,
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
            summary
                .violated
                .extend(result.violations.iter().map(|violation| violation.rule_id.clone()));
        }
        Some(summary)
    }
}

/// Turns a call (and its QA results) into its index document.
pub fn document(analyzer: &Analyzer, fields: &Fields, call: &Call, qa: &[QaResult]) -> TantivyDocument {
    let mut document = TantivyDocument::default();
    document.add_text(fields.call_id, &call.call_id);

    // Per field: tokens and the next free position.
    let mut grams: [(Vec<Token>, u32); 3] = Default::default();
    let mut words: [(Vec<Token>, u32); 3] = Default::default();
    let mut segment_grams = Vec::new();
    let mut segment_words = Vec::new();
    for segment in &call.segments {
        let analyzed = analyzer.analyze(&segment.text);
        if analyzed.units.is_empty() {
            continue;
        }
        segment_grams.clear();
        analyzer.gram_tokens(&analyzed, 0, &mut segment_grams);
        segment_words.clear();
        analyzer.word_tokens(&analyzer.words(&analyzed), 0, &mut segment_words);
        let role_slot = match segment.role {
            Role::Agent => Some(1),
            Role::Customer => Some(2),
            Role::Unknown => None,
        };
        for slot in std::iter::once(0).chain(role_slot) {
            append(&mut grams[slot], &segment_grams, analyzed.units.len() as u32);
            append(&mut words[slot], &segment_words, segment_words.len() as u32);
        }
    }
    let gram_fields = [fields.gram_all, fields.gram_agent, fields.gram_customer];
    let word_fields = [fields.words_all, fields.words_agent, fields.words_customer];
    for ((tokens, _), field) in grams.into_iter().zip(gram_fields) {
        add_tokens(&mut document, field, tokens);
    }
    for ((tokens, _), field) in words.into_iter().zip(word_fields) {
        add_tokens(&mut document, field, tokens);
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

/// Appends one segment's tokens (positions from 0) to a field's tokens,
/// after a gap from the previous segment.
fn append(field: &mut (Vec<Token>, u32), segment: &[Token], length: u32) {
    let (tokens, next) = field;
    let base = if tokens.is_empty() { 0 } else { *next + SEGMENT_GAP };
    tokens.extend(segment.iter().map(|token| Token {
        text: token.text.clone(),
        position: base + token.position,
    }));
    *next = base + length;
}

fn add_tokens(document: &mut TantivyDocument, field: Field, tokens: Vec<Token>) {
    if tokens.is_empty() {
        return;
    }
    let tokens = tokens
        .into_iter()
        .map(|token| tantivy::tokenizer::Token {
            offset_from: 0,
            offset_to: 0,
            position: token.position as usize,
            text: token.text,
            position_length: 1,
        })
        .collect();
    document.add_pre_tokenized_text(
        field,
        PreTokenizedString {
            text: String::new(),
            tokens,
        },
    );
}
