//! From a parsed query to what is searched: the query's text is analyzed
//! with the index's own analyzer into a [`Plan`], which compiles to a tantivy
//! query and also drives highlighting, so both agree on what matched.
//!
//! - An unquoted token is cut into parts where jieba puts a boundary between
//!   two words of two or more characters; a particle (的 了 地 得 着 过 之)
//!   standing between two such words is optional and not searched. Every
//!   part must occur somewhere in the call as an exact substring (a chain
//!   of grams). Nothing else is ever dropped: a word of one character,
//!   particles included, stays joined to its neighbours, so `对的` finds
//!   only 对的, never every 对, and `按钮的位置` is `按钮` and `位置`.
//! - A quoted phrase matches exactly its characters in a row (after
//!   normalization): `"按钮的位置"` does not find 按钮位置, nor the reverse.
//! - `"按钮位置"~的`: the token's parts in a row, where one particle may stand
//!   between two of them or not, so it finds 按钮位置 and 按钮的位置.
//! - `"A B"~N`: the words in one segment, at most N characters apart, any order.

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Term};

use super::analyzer::{gram_term, Analyzer, Word};
use super::near::{Arrangement, NearQuery, NearWord};
use super::query::{Expr, FilterExpr, QueryError, TextExpr};
use super::schema::{date_number, Fields};
use callscope_core::model::{Role, SearchQuery};

/// Units of normalized text with their ASCII flag.
pub type Units = Vec<(String, bool)>;

/// What is searched, after analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// All of these.
    And(Vec<Plan>),
    /// Any of these.
    Or(Vec<Plan>),
    /// Not this.
    Not(Box<Plan>),
    /// Text in the call.
    Match(Match),
    /// A condition on the call's fields.
    Filter(FilterExpr),
}

/// Text to find in the segments of one role (or all).
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Whose segments (`None`: everyone's).
    pub scope: Option<Role>,
    /// What to find.
    pub pattern: Pattern,
}

/// What a [`Match`] looks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Units in a row, exactly: a part of an unquoted token, or a quoted
    /// phrase.
    Exact {
        /// The units.
        units: Units,
    },
    /// Pieces in a row, where one particle may stand between two pieces
    /// (`"按钮位置"~的`).
    Sequence {
        /// The units of each piece (two or more pieces).
        pieces: Vec<Units>,
    },
    /// Words within `distance` units of each other in one segment.
    Near {
        /// Each word's units.
        words: Vec<Units>,
        /// Most units between them.
        distance: u32,
    },
}

impl Plan {
    /// Analyzes a parsed query; `role` scopes text that has no field.
    pub fn build(expr: &Expr, analyzer: &Analyzer, role: Option<Role>) -> Result<Plan, QueryError> {
        Ok(match expr {
            Expr::And(parts) => Plan::And(
                parts
                    .iter()
                    .map(|part| Plan::build(part, analyzer, role))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(parts) => Plan::Or(
                parts
                    .iter()
                    .map(|part| Plan::build(part, analyzer, role))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => Plan::Not(Box::new(Plan::build(inner, analyzer, role)?)),
            Expr::Filter(filter) => Plan::Filter(filter.clone()),
            Expr::Text {
                scope,
                text,
                column,
            } => {
                let scope = scope.or(role);
                let nothing = |text: &str| QueryError {
                    column: *column,
                    message: format!(
                        "`{text}` has nothing to search for (only punctuation or spaces)"
                    ),
                };
                let matching = |pattern| Plan::Match(Match { scope, pattern });
                match text {
                    TextExpr::Words(text) => {
                        let mut plans: Vec<Plan> = token_parts(analyzer, text)
                            .into_iter()
                            .map(|units| matching(Pattern::Exact { units }))
                            .collect();
                        match plans.len() {
                            0 => return Err(nothing(text)),
                            1 => plans.remove(0),
                            _ => Plan::And(plans),
                        }
                    }
                    TextExpr::Phrase(text) => {
                        let units = units(analyzer, text);
                        if units.is_empty() {
                            return Err(nothing(text));
                        }
                        matching(Pattern::Exact { units })
                    }
                    TextExpr::PhraseWithParticles(text) => {
                        let mut pieces = token_parts(analyzer, text);
                        match pieces.len() {
                            0 => return Err(nothing(text)),
                            1 => matching(Pattern::Exact {
                                units: pieces.remove(0),
                            }),
                            _ => matching(Pattern::Sequence { pieces }),
                        }
                    }
                    TextExpr::Near(text, distance) => {
                        let pieces: Vec<&str> = text.split_whitespace().collect();
                        let mut words: Vec<Units> = if pieces.len() >= 2 {
                            pieces.iter().map(|piece| units(analyzer, piece)).collect()
                        } else {
                            token_parts(analyzer, text)
                        };
                        let mut seen = std::collections::HashSet::new();
                        words.retain(|units| !units.is_empty() && seen.insert(units.clone()));
                        if words.is_empty() {
                            return Err(nothing(text));
                        }
                        matching(Pattern::Near {
                            words,
                            distance: *distance,
                        })
                    }
                }
            }
        })
    }

    /// The words whose whole-word (jieba) matches rank a call higher: the
    /// jieba words of two or more characters (particles aside) of what the
    /// query looks for.
    pub fn ranking_words(&self, analyzer: &Analyzer) -> Vec<String> {
        let mut words = Vec::new();
        for matching in self.positive_matches() {
            let pieces: Vec<&Units> = match &matching.pattern {
                Pattern::Exact { units } => vec![units],
                Pattern::Sequence { pieces } => pieces.iter().collect(),
                Pattern::Near { words, .. } => words.iter().collect(),
            };
            for units in pieces {
                let text: String = units.iter().map(|(unit, _)| unit.as_str()).collect();
                for word in analyzer.words(&analyzer.analyze(&text)) {
                    if is_long(&word) && !words.contains(&word.text) {
                        words.push(word.text);
                    }
                }
            }
        }
        words
    }

    /// The text matches that decide hits: every [`Match`] not under a NOT.
    pub fn positive_matches(&self) -> Vec<&Match> {
        fn walk<'a>(plan: &'a Plan, found: &mut Vec<&'a Match>) {
            match plan {
                Plan::And(parts) | Plan::Or(parts) => {
                    parts.iter().for_each(|part| walk(part, found))
                }
                Plan::Match(matching) => found.push(matching),
                Plan::Not(_) | Plan::Filter(_) => {}
            }
        }
        let mut found = Vec::new();
        walk(self, &mut found);
        found
    }
}

/// The units of a text, as the analyzer splits it.
pub fn units(analyzer: &Analyzer, text: &str) -> Units {
    let analyzed = analyzer.analyze(text);
    analyzed
        .units
        .iter()
        .enumerate()
        .map(|(index, unit)| (analyzed.unit_text(index), unit.ascii))
        .collect()
}

/// A jieba word of two or more characters that is not a particle: the
/// words a token is cut between.
fn is_long(word: &Word) -> bool {
    !word.particle && word.end - word.start >= 2
}

/// Cuts a token into parts where jieba puts a boundary between two words of
/// two or more characters. A particle standing alone between two such words
/// is left out (it is optional there); everything else stays in a part, so
/// no part is ever a word shortened by a particle: `对的` stays `对的`,
/// `我退款` stays `我退款`, `申请退款` is `申请` and `退款`, `按钮的位置` is
/// `按钮` and `位置`.
pub fn token_parts(analyzer: &Analyzer, text: &str) -> Vec<Units> {
    let analyzed = analyzer.analyze(text);
    let words = analyzer.words(&analyzed);
    let units_in = |start: usize, end: usize| {
        analyzed
            .units
            .iter()
            .enumerate()
            .filter(move |(_, unit)| unit.start >= start && unit.start < end)
            .map(|(index, unit)| (analyzed.unit_text(index), unit.ascii))
    };
    let long = |index: usize| words.get(index).is_some_and(is_long);
    let mut parts: Vec<Units> = Vec::new();
    let mut current: Units = Vec::new();
    for (index, word) in words.iter().enumerate() {
        let after_long = index > 0 && long(index - 1);
        if word.particle && after_long && long(index + 1) {
            // Optional: cut here and leave the particle out.
            parts.extend((!current.is_empty()).then(|| std::mem::take(&mut current)));
            continue;
        }
        if after_long && long(index) {
            parts.extend((!current.is_empty()).then(|| std::mem::take(&mut current)));
        }
        current.extend(units_in(word.start, word.end));
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Compiles a plan, with the search's flags as filters, to a tantivy query.
pub fn compile(plan: &Plan, fields: &Fields, search: &SearchQuery) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, compile_plan(plan, fields))];
    for filter in flag_filters(fields, search) {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
    }
    if clauses.len() == 1 {
        return clauses.remove(0).1;
    }
    Box::new(BooleanQuery::new(clauses))
}

fn compile_plan(plan: &Plan, fields: &Fields) -> Box<dyn Query> {
    match plan {
        Plan::And(parts) => {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = parts
                .iter()
                .map(|part| match part {
                    Plan::Not(inner) => (Occur::MustNot, compile_plan(inner, fields)),
                    other => (Occur::Must, compile_plan(other, fields)),
                })
                .collect();
            if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                clauses.push((
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)),
                ));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Plan::Or(parts) => Box::new(BooleanQuery::new(
            parts
                .iter()
                .map(|part| (Occur::Should, compile_plan(part, fields)))
                .collect(),
        )),
        Plan::Not(inner) => Box::new(BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)),
            ),
            (Occur::MustNot, compile_plan(inner, fields)),
        ])),
        Plan::Filter(filter) => Box::new(ConstScoreQuery::new(filter_query(fields, filter), 0.0)),
        Plan::Match(matching) => compile_match(matching, fields),
    }
}

fn compile_match(matching: &Match, fields: &Fields) -> Box<dyn Query> {
    let gram_field = fields.gram(matching.scope);
    match &matching.pattern {
        Pattern::Exact { units } => exact_units(gram_field, units),
        Pattern::Sequence { pieces } => {
            // The pieces right after each other (tantivy's phrase), or with a
            // particle between two of them (visits only calls with one).
            let exact = exact_units(gram_field, &pieces.concat());
            let across_particles = NearQuery::new(
                gram_field,
                pieces
                    .iter()
                    .map(|units| NearWord {
                        units: units.clone(),
                    })
                    .collect(),
                Arrangement::Sequence,
            );
            Box::new(BooleanQuery::new(vec![
                (Occur::Should, exact),
                (Occur::Should, Box::new(across_particles)),
            ]))
        }
        Pattern::Near { words, distance } => {
            if words.len() == 1 {
                return exact_units(gram_field, &words[0]);
            }
            Box::new(NearQuery::new(
                gram_field,
                words
                    .iter()
                    .map(|units| NearWord {
                        units: units.clone(),
                    })
                    .collect(),
                Arrangement::Window(*distance),
            ))
        }
    }
}

/// Units in a row: their gram cover as one term or a phrase, or any gram
/// starting with the unit for one unit.
fn exact_units(field: Field, units: &Units) -> Box<dyn Query> {
    let mut grams: Vec<(usize, Term)> = gram_cover(units)
        .into_iter()
        .map(|(offset, text)| (offset, Term::from_field_text(field, &text)))
        .collect();
    match grams.len() {
        0 => Box::new(NearQuery::new(
            field,
            vec![NearWord {
                units: units.clone(),
            }],
            Arrangement::Window(0),
        )),
        1 => Box::new(TermQuery::new(
            grams.remove(0).1,
            IndexRecordOption::WithFreqs,
        )),
        _ => Box::new(PhraseQuery::new_with_offset(grams)),
    }
}

/// The fewest grams, with their offsets, that pin down units in a row:
/// two units are one bigram; three or more are trigrams every third unit
/// plus the last trigram (原路退回: 原路退@0 and 路退回@1).
pub fn gram_cover(units: &Units) -> Vec<(usize, String)> {
    match units.len() {
        0 | 1 => Vec::new(),
        2 => vec![(0, gram_term(units))],
        length => {
            let last = length - 3;
            let mut offsets: Vec<usize> = (0..=last).step_by(3).collect();
            if offsets.last() != Some(&last) {
                offsets.push(last);
            }
            offsets
                .into_iter()
                .map(|offset| (offset, gram_term(&units[offset..offset + 3])))
                .collect()
        }
    }
}

fn string_term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

fn date_range(
    fields: &Fields,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> Box<dyn Query> {
    let bound = |date: Option<chrono::NaiveDate>| match date {
        Some(date) => Bound::Included(Term::from_field_i64(fields.local_date, date_number(date))),
        None => Bound::Unbounded,
    };
    Box::new(RangeQuery::new(bound(from), bound(to)))
}

fn filter_query(fields: &Fields, filter: &FilterExpr) -> Box<dyn Query> {
    match filter {
        FilterExpr::AgentId(value) => string_term(fields.agent_id, value),
        FilterExpr::Team(value) => string_term(fields.team, value),
        FilterExpr::Queue(value) => string_term(fields.queue, value),
        FilterExpr::Violated(value) => string_term(fields.violated, value),
        FilterExpr::Meta(key, value) => string_term(fields.meta, &format!("{key}={value}")),
        FilterExpr::Date(from, to) => date_range(fields, *from, *to),
    }
}

/// The filters of `callscope search`'s flags.
fn flag_filters(fields: &Fields, search: &SearchQuery) -> Vec<Box<dyn Query>> {
    let mut filters = Vec::new();
    for (field, value) in [
        (fields.agent_id, &search.agent_id),
        (fields.team, &search.team),
        (fields.queue, &search.queue),
        (fields.violated, &search.violated),
    ] {
        if let Some(value) = value {
            filters.push(string_term(field, value));
        }
    }
    if search.from.is_some() || search.to.is_some() {
        filters.push(date_range(fields, search.from, search.to));
    }
    if search.min_score.is_some() || search.max_score.is_some() {
        let bound = |score: Option<f64>| match score {
            Some(score) => Bound::Included(Term::from_field_f64(fields.qa_score, score)),
            None => Bound::Unbounded,
        };
        filters.push(Box::new(RangeQuery::new(
            bound(search.min_score),
            bound(search.max_score),
        )));
    }
    if let Some(passed) = search.passed {
        filters.push(Box::new(TermQuery::new(
            Term::from_field_u64(fields.passed, u64::from(passed)),
            IndexRecordOption::Basic,
        )));
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;
    use callscope_core::dictionary::Dictionary;

    fn plan(query: &str) -> Result<Plan, QueryError> {
        let analyzer = Analyzer::new(Dictionary::load(None).unwrap());
        Plan::build(&parse(query)?, &analyzer, None)
    }

    fn exact(text: &str) -> Plan {
        let analyzer = Analyzer::new(Dictionary::load(None).unwrap());
        Plan::Match(Match {
            scope: None,
            pattern: Pattern::Exact {
                units: units(&analyzer, text),
            },
        })
    }

    fn texts(pieces: &[Units]) -> Vec<String> {
        pieces
            .iter()
            .map(|units| units.iter().map(|(unit, _)| unit.as_str()).collect())
            .collect()
    }

    #[test]
    fn unquoted_tokens_become_required_parts() {
        assert_eq!(plan("退款").unwrap(), exact("退款"));
        assert_eq!(
            plan("申请的退款").unwrap(),
            Plan::And(vec![exact("申请"), exact("退款")])
        );
        // Traditional characters are searched as simplified ones.
        assert_eq!(
            plan("退款到賬").unwrap(),
            Plan::And(vec![exact("退款"), exact("到账")])
        );
    }

    #[test]
    fn tokens_are_cut_only_between_two_long_words() {
        let analyzer = Analyzer::new(Dictionary::load(None).unwrap());
        let parts = |text: &str| texts(&token_parts(&analyzer, text));
        // A particle between two words of 2+ characters is optional.
        assert_eq!(parts("按钮的位置"), ["按钮", "位置"]);
        assert_eq!(parts("按钮位置"), ["按钮", "位置"]);
        assert_eq!(parts("还没有到账"), ["还没有", "到账"]);
        // Elsewhere nothing is dropped and one character never stands alone.
        for whole in ["对的", "好的", "走了", "的位置", "退款了", "退款", "的"] {
            assert_eq!(parts(whole), [whole], "{whole}");
        }
        assert_eq!(parts("退款到現在"), ["退款到现在"]);
        assert!(parts("，").is_empty());
    }

    #[test]
    fn phrases_are_exact_and_particles_optional_on_request() {
        assert_eq!(plan("\"按钮的位置\"").unwrap(), exact("按钮的位置"));
        assert_eq!(plan("\"按钮位置\"").unwrap(), exact("按钮位置"));
        let Plan::Match(Match {
            pattern: Pattern::Sequence { pieces },
            ..
        }) = plan("\"按钮的位置\"~的").unwrap()
        else {
            panic!("not a sequence");
        };
        assert_eq!(texts(&pieces), ["按钮", "位置"]);
        // One piece: nothing is optional, the phrase is exact.
        assert_eq!(plan("\"好的\"~的").unwrap(), exact("好的"));
    }

    #[test]
    fn gram_cover_is_minimal() {
        let analyzer = Analyzer::new(Dictionary::load(None).unwrap());
        let cover = |text: &str| {
            gram_cover(&units(&analyzer, text))
                .into_iter()
                .map(|(offset, gram)| format!("{gram}@{offset}"))
                .collect::<Vec<_>>()
        };
        assert!(cover("退").is_empty());
        assert_eq!(cover("退款"), ["退款@0"]);
        assert_eq!(cover("快递员"), ["^快递员@0"]);
        assert_eq!(cover("原路退回"), ["^原路退@0", "^路退回@1"]);
        assert_eq!(
            cover("不归我们部门管"),
            ["^不归我@0", "^们部门@3", "^部门管@4"]
        );
        assert_eq!(cover("app闪退"), ["^app 闪退@0"]);
    }

    #[test]
    fn no_query_makes_the_parser_or_planner_panic() {
        use rand::{Rng, SeedableRng};
        let analyzer = Analyzer::new(Dictionary::load(None).unwrap());
        let pieces = [
            "退",
            "款",
            "的",
            "按钮",
            " ",
            "\"",
            "“",
            "”",
            "「",
            "(",
            ")",
            "（",
            "-",
            "OR",
            "AND",
            "NOT",
            "~",
            "～",
            "3",
            "200",
            ":",
            "agent:",
            "team:",
            "date:",
            "date:2026-09-01..",
            "meta:",
            "meta:a=b",
            "foo:",
            "，",
            "app",
            "\t",
        ];
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        for _ in 0..3000 {
            let length = rng.random_range(0..8);
            let query: String = (0..length)
                .map(|_| pieces[rng.random_range(0..pieces.len())])
                .collect();
            if let Ok(expr) = parse(&query) {
                let _ = Plan::build(&expr, &analyzer, None);
            }
        }
    }

    #[test]
    fn punctuation_only_text_is_an_error() {
        let error = plan("退款 ，").unwrap_err();
        assert_eq!(error.column, 4);
        assert!(
            error.message.contains("nothing to search for"),
            "{}",
            error.message
        );
        assert!(plan("退款 -").is_err());
    }
}
