//! From a parsed query to what is searched: the query's text is analyzed
//! with the index's own analyzer into a [`Plan`], which compiles to a tantivy
//! query and also drives highlighting, so both agree on what matched.
//!
//! - An unquoted token is split by jieba; every word (particles dropped) must
//!   occur somewhere in the call as an exact substring (a chain of grams).
//! - A quoted phrase matches its characters in a row, where between two of
//!   its jieba words of two or more characters one particle (的 了 地 得 着
//!   过 之) may stand or not: `"按钮位置"` finds 按钮的位置 and
//!   `"按钮的位置"` finds 按钮位置; `"好的"` stays exact.
//! - `"A B"~N`: the words in one segment, at most N characters apart, any order.

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Term};

use super::analyzer::{gram_term, Analyzer};
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
    /// A word: its units in a row.
    Word {
        /// The units.
        units: Units,
    },
    /// A phrase: its pieces in a row, one particle allowed between two
    /// pieces (one piece: exact).
    Phrase {
        /// The units of each piece.
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
                        let words = analyzer.query_words(text);
                        if words.is_empty() {
                            return Err(nothing(text));
                        }
                        let mut plans: Vec<Plan> = words
                            .into_iter()
                            .map(|word| {
                                matching(Pattern::Word {
                                    units: units(analyzer, &word),
                                })
                            })
                            .collect();
                        if plans.len() == 1 {
                            plans.remove(0)
                        } else {
                            Plan::And(plans)
                        }
                    }
                    TextExpr::Phrase(text) => {
                        let pieces = phrase_pieces(analyzer, text);
                        if pieces.is_empty() {
                            return Err(nothing(text));
                        }
                        matching(Pattern::Phrase { pieces })
                    }
                    TextExpr::Near(text, distance) => {
                        let pieces: Vec<&str> = text.split_whitespace().collect();
                        let mut words: Vec<String> = if pieces.len() >= 2 {
                            pieces.iter().map(|piece| piece.to_string()).collect()
                        } else {
                            analyzer.query_words(text)
                        };
                        let mut seen = std::collections::HashSet::new();
                        words.retain(|word| {
                            let normalized = units(analyzer, word);
                            !normalized.is_empty() && seen.insert(normalized)
                        });
                        if words.is_empty() {
                            return Err(nothing(text));
                        }
                        matching(Pattern::Near {
                            words: words.iter().map(|word| units(analyzer, word)).collect(),
                            distance: *distance,
                        })
                    }
                }
            }
        })
    }

    /// The words whose whole-word (jieba) matches rank a call higher: the
    /// query's words and phrase pieces of two or more characters.
    pub fn ranking_words(&self) -> Vec<String> {
        let mut words = Vec::new();
        for matching in self.positive_matches() {
            let pieces: Vec<&Units> = match &matching.pattern {
                Pattern::Word { units } => vec![units],
                Pattern::Phrase { pieces } => pieces.iter().collect(),
                Pattern::Near { words, .. } => words.iter().collect(),
            };
            for units in pieces {
                let text: String = units.iter().map(|(unit, _)| unit.as_str()).collect();
                if text.chars().count() >= 2 && !words.contains(&text) {
                    words.push(text);
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

/// Splits a phrase into pieces at the jieba word boundaries where a particle
/// may stand: between two words of two or more characters (a particle the
/// query has there is dropped). Elsewhere the phrase is exact.
fn phrase_pieces(analyzer: &Analyzer, text: &str) -> Pieces {
    let analyzed = analyzer.analyze(text);
    let words = analyzer.words(&analyzed);
    let unit_of = |index: usize| (analyzed.unit_text(index), analyzed.units[index].ascii);
    let units_in = |start: usize, end: usize| -> Units {
        (0..analyzed.units.len())
            .filter(|&index| {
                analyzed.units[index].start >= start && analyzed.units[index].start < end
            })
            .map(unit_of)
            .collect()
    };
    let long = |index: usize| {
        words
            .get(index)
            .is_some_and(|word: &super::analyzer::Word| {
                !word.particle && word.end - word.start >= 2
            })
    };
    let mut pieces: Pieces = Vec::new();
    let mut current: Units = Vec::new();
    let mut previous_long = false;
    for (index, word) in words.iter().enumerate() {
        let units = units_in(word.start, word.end);
        if word.particle && previous_long && long(index + 1) {
            // A particle between two words: the gap stays flexible.
            continue;
        }
        if long(index) && previous_long && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        current.extend(units);
        previous_long = long(index);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Pieces of units.
type Pieces = Vec<Units>;

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
        Pattern::Word { units } => exact_units(gram_field, units),
        Pattern::Phrase { pieces } => {
            let exact = exact_units(gram_field, &pieces.concat());
            if pieces.len() == 1 {
                return exact;
            }
            // The pieces right after each other (tantivy's phrase), or with a
            // particle between two of them (visits only calls with one).
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

    fn word(text: &str) -> Plan {
        let analyzer = Analyzer::new(Dictionary::load(None).unwrap());
        Plan::Match(Match {
            scope: None,
            pattern: Pattern::Word {
                units: units(&analyzer, text),
            },
        })
    }

    #[test]
    fn unquoted_tokens_become_required_words() {
        assert_eq!(plan("退款").unwrap(), word("退款"));
        assert_eq!(
            plan("申请的退款").unwrap(),
            Plan::And(vec![word("申请"), word("退款")])
        );
        // Traditional characters are searched as simplified ones.
        assert_eq!(
            plan("退款到賬").unwrap(),
            Plan::And(vec![word("退款"), word("到账")])
        );
    }

    #[test]
    fn phrases_split_where_a_particle_may_stand() {
        let pieces = |query: &str| {
            let Plan::Match(Match {
                pattern: Pattern::Phrase { pieces },
                ..
            }) = plan(query).unwrap()
            else {
                panic!("not a phrase");
            };
            pieces
                .iter()
                .map(|units| {
                    units
                        .iter()
                        .map(|(unit, _)| unit.as_str())
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(pieces("\"按钮的位置\""), ["按钮", "位置"]);
        assert_eq!(pieces("\"按钮位置\""), ["按钮", "位置"]);
        assert_eq!(pieces("\"好的\""), ["好的"]);
        assert_eq!(pieces("\"还没有到账\""), ["还没有", "到账"]);
        assert_eq!(pieces("\"退款\""), ["退款"]);
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
