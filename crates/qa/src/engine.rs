//! The scorer: scorecards compiled once into matchers, then every call
//! scored against every scorecard whose queues admit it.

use std::collections::HashMap;
use std::rc::Rc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::context::{Matchers, PlacedMention, Prepared, PreparedSegment};
use super::fuzzy::HomophoneIndex;
use super::scorecard::{
    Condition, Expect, Fuzzy, KeywordMode, Operator, RoleFilter, Rule, Scope, Scorecard,
};
use super::similar;
use callscope_core::model::{
    Call, Evidence, PiiKind, PiiMention, QaResult, Role, ScoringView, Violation,
};
use callscope_core::text::Normalizer;

/// Tolerance for comparing seconds and similarities with thresholds, so
/// that "exactly `min_seconds`" holds despite float rounding.
const EPSILON: f64 = 1e-9;

/// At most this many segments are cited for a speech-rate violation.
const SPEECH_RATE_EVIDENCE: usize = 3;

/// Scores calls against scorecards. Built once (compiling every word list
/// into one automaton), then shared across threads: it is `Send + Sync` and
/// [`Scorer::score`] takes `&self`.
pub struct Scorer {
    scorecards: Vec<CompiledScorecard>,
    normalizer: Normalizer,
    words: Option<AhoCorasick>,
    homophones: HomophoneIndex,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Scorer")
            .field(
                "scorecards",
                &self
                    .scorecards
                    .iter()
                    .map(|compiled| compiled.scorecard.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

struct CompiledScorecard {
    scorecard: Scorecard,
    rules: Vec<Node>,
}

/// A compiled condition.
struct Node {
    role: RoleFilter,
    scope: Scope,
    kind: Kind,
}

enum Kind {
    /// keyword and lexicon: `words[i]` is the global id of word i.
    Words {
        words: Vec<u32>,
        /// Sorted (global id, word index) for membership tests.
        lookup: Vec<(u32, u32)>,
        mode: KeywordMode,
        min_count: usize,
        homophones: bool,
    },
    Regex {
        pattern: regex::Regex,
        min_count: usize,
    },
    Similar {
        phrases: Vec<Vec<char>>,
        threshold: f64,
    },
    Sequence {
        first: Box<Node>,
        then: Box<Node>,
        within: usize,
    },
    Silence {
        min_seconds: f64,
        after: RoleFilter,
        min_count: usize,
    },
    Overtalk {
        min_seconds: f64,
        min_count: usize,
    },
    SpeechRate {
        max_cpm: Option<f64>,
        min_cpm: Option<f64>,
    },
    TalkRatio {
        max: Option<f64>,
        min: Option<f64>,
    },
    Duration {
        max_seconds: Option<f64>,
        min_seconds: Option<f64>,
    },
    Repeat {
        threshold: f64,
        min_count: usize,
        min_chars: usize,
    },
    Pii {
        kinds: Vec<PiiKind>,
        min_count: usize,
    },
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
}

/// Collects the distinct words of all scorecards.
#[derive(Default)]
struct WordTable {
    ids: HashMap<String, u32>,
    words: Vec<String>,
    fuzzy: Vec<bool>,
}

impl WordTable {
    fn id(&mut self, word: &str, fuzzy: bool) -> u32 {
        let id = match self.ids.get(word) {
            Some(id) => *id,
            None => {
                let id = self.words.len() as u32;
                self.ids.insert(word.to_string(), id);
                self.words.push(word.to_string());
                self.fuzzy.push(false);
                id
            }
        };
        self.fuzzy[id as usize] |= fuzzy;
        id
    }
}

fn compile(condition: &Condition, table: &mut WordTable) -> Node {
    let kind = match &condition.op {
        Operator::Keyword {
            words,
            mode,
            min_count,
            fuzzy,
        } => words_kind(words, *mode, *min_count, *fuzzy, table),
        Operator::Lexicon {
            words,
            min_count,
            fuzzy,
            ..
        } => words_kind(words, KeywordMode::Any, *min_count, *fuzzy, table),
        Operator::Regex { pattern, min_count } => Kind::Regex {
            pattern: pattern.clone(),
            min_count: *min_count,
        },
        Operator::Similar { phrases, threshold } => Kind::Similar {
            phrases: phrases
                .iter()
                .map(|phrase| phrase.chars().collect())
                .collect(),
            threshold: *threshold,
        },
        Operator::Sequence {
            first,
            then,
            within,
        } => Kind::Sequence {
            first: Box::new(compile(first, table)),
            then: Box::new(compile(then, table)),
            within: *within,
        },
        Operator::Silence {
            min_seconds,
            after,
            min_count,
        } => Kind::Silence {
            min_seconds: *min_seconds,
            after: *after,
            min_count: *min_count,
        },
        Operator::Overtalk {
            min_seconds,
            min_count,
        } => Kind::Overtalk {
            min_seconds: *min_seconds,
            min_count: *min_count,
        },
        Operator::SpeechRate { max_cpm, min_cpm } => Kind::SpeechRate {
            max_cpm: *max_cpm,
            min_cpm: *min_cpm,
        },
        Operator::TalkRatio { max, min } => Kind::TalkRatio {
            max: *max,
            min: *min,
        },
        Operator::Duration {
            max_seconds,
            min_seconds,
        } => Kind::Duration {
            max_seconds: *max_seconds,
            min_seconds: *min_seconds,
        },
        Operator::Repeat {
            threshold,
            min_count,
            min_chars,
        } => Kind::Repeat {
            threshold: *threshold,
            min_count: *min_count,
            min_chars: *min_chars,
        },
        Operator::Pii { kinds, min_count } => Kind::Pii {
            kinds: kinds.clone(),
            min_count: *min_count,
        },
        Operator::All(nested) => {
            Kind::All(nested.iter().map(|node| compile(node, table)).collect())
        }
        Operator::Any(nested) => {
            Kind::Any(nested.iter().map(|node| compile(node, table)).collect())
        }
        Operator::Not(nested) => Kind::Not(Box::new(compile(nested, table))),
    };
    Node {
        role: condition.role,
        scope: condition.scope,
        kind,
    }
}

fn words_kind(
    words: &[String],
    mode: KeywordMode,
    min_count: usize,
    fuzzy: Fuzzy,
    table: &mut WordTable,
) -> Kind {
    let homophones = fuzzy == Fuzzy::Pinyin;
    let ids: Vec<u32> = words
        .iter()
        .map(|word| table.id(word, homophones))
        .collect();
    let mut lookup: Vec<(u32, u32)> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| (*id, index as u32))
        .collect();
    lookup.sort_unstable();
    Kind::Words {
        words: ids,
        lookup,
        mode,
        min_count,
        homophones,
    }
}

/// A segment that made a condition hold (or fail), with the normalized
/// characters that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Mark {
    segment: usize,
    span: Option<(u32, u32)>,
}

/// The truth of a condition and the segments that show it: when it holds,
/// the segments that made it hold; when it does not, the segments that made
/// it fail (only `not` and its compositions have those: a missing greeting
/// has nothing to point at).
#[derive(Debug, Default)]
struct Outcome {
    holds: bool,
    marks: Vec<Mark>,
}

impl Outcome {
    fn new(holds: bool, marks: Vec<Mark>) -> Outcome {
        Outcome { holds, marks }
    }

    fn no() -> Outcome {
        Outcome::default()
    }
}

/// Which sentences a condition is asked about: the whole call, or whether
/// it holds at one sentence (the steps of a `sequence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    All,
    At(usize),
}

/// Per-call working memory.
#[derive(Default)]
struct Scratch {
    alignment: similar::Scratch,
    lcs_row: Vec<u16>,
}

struct Evaluator<'p, 'c> {
    call: &'p Prepared<'c>,
    scratch: Scratch,
    /// `repeat` groups of the call, by the address of their condition's node.
    repeats: HashMap<usize, Rc<RepeatGroups>>,
    /// Where each `sequence`'s first step holds, by the address of its node.
    first_steps: HashMap<usize, Rc<StepHolds>>,
}

/// Where one condition holds in a call, sentence by sentence, evaluated once
/// per call: a `sequence` looks up the nearest earlier sentence where its
/// first step holds in constant time, so its work is linear in the call
/// whatever `within` is and however sequences nest.
struct StepHolds {
    /// For each sentence `end` (and one past the last), the latest sentence
    /// before it where the condition holds.
    latest_before: Vec<Option<usize>>,
    /// The outcome at each sentence where the condition holds.
    outcomes: HashMap<usize, Outcome>,
}

impl Scorer {
    /// Compiles the scorecards: all keyword and lexicon words into one
    /// automaton, homophones into one index.
    pub fn new(scorecards: Vec<Scorecard>) -> Scorer {
        let mut table = WordTable::default();
        let compiled: Vec<CompiledScorecard> = scorecards
            .into_iter()
            .map(|scorecard| {
                let rules = scorecard
                    .rules
                    .iter()
                    .map(|rule| compile(&rule.when, &mut table))
                    .collect();
                CompiledScorecard { scorecard, rules }
            })
            .collect();
        let words = if table.words.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&table.words)
                    .expect("normalized words always build an automaton"),
            )
        };
        let homophones = HomophoneIndex::new(
            table
                .words
                .iter()
                .enumerate()
                .filter(|(id, _)| table.fuzzy[*id])
                .map(|(id, word)| (id as u32, word.as_str())),
        );
        Scorer {
            scorecards: compiled,
            normalizer: Normalizer::shared(),
            words,
            homophones,
        }
    }

    /// The scorecards, in the order given.
    pub fn scorecards(&self) -> impl Iterator<Item = &Scorecard> {
        self.scorecards.iter().map(|compiled| &compiled.scorecard)
    }

    /// Scores `call` against every scorecard whose `queues` admit it: one
    /// result per such scorecard, in scorecard order. Never panics on odd
    /// transcripts (no segments, one role, overlaps, zero-length segments,
    /// unsorted segments). No personal data is known, so `pii` conditions
    /// never hold: score what the redaction stage prepared with
    /// [`Scorer::score_view`].
    pub fn score(&self, call: &Call) -> Vec<QaResult> {
        self.score_with(call, &[])
    }

    /// Scores a call as the redaction stage prepared it for QA: the rules
    /// read `view.call`, `pii` conditions count `view.pii`, and evidence
    /// shows each piece of personal data as its `shown` form (the masked
    /// text as stored), never as the view has it.
    pub fn score_view(&self, view: &ScoringView) -> Vec<QaResult> {
        self.score_with(&view.call, &view.pii)
    }

    fn score_with(&self, call: &Call, pii: &[PiiMention]) -> Vec<QaResult> {
        let admitted: Vec<&CompiledScorecard> = self
            .scorecards
            .iter()
            .filter(|compiled| compiled.scorecard.admits_queue(call.queue.as_deref()))
            .collect();
        if admitted.is_empty() {
            return Vec::new();
        }
        let prepared = self.prepare(call, pii);
        let mut evaluator = Evaluator {
            call: &prepared,
            scratch: Scratch::default(),
            repeats: HashMap::new(),
            first_steps: HashMap::new(),
        };
        admitted
            .into_iter()
            .map(|compiled| evaluator.scorecard(compiled))
            .collect()
    }

    fn prepare<'c>(&self, call: &'c Call, pii: &'c [PiiMention]) -> Prepared<'c> {
        Prepared::new(
            call,
            pii,
            &Matchers {
                normalizer: &self.normalizer,
                words: self.words.as_ref(),
                homophones: &self.homophones,
            },
        )
    }

    /// Prepares a call without evaluating rules (benchmarks measure the two
    /// apart). Returns the number of normalized characters.
    pub fn prepare_only(&self, call: &Call) -> usize {
        let prepared = self.prepare(call, &[]);
        prepared
            .segments
            .iter()
            .map(|segment| segment.normalized.len())
            .sum()
    }
}

/// A scorecard's score for a set of violated rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// `base_score` minus the points of the violated rules, floored at 0;
    /// 0 when a fatal rule is violated.
    pub score: f64,
    /// `score >= pass_score`.
    pub passed: bool,
    /// Whether a fatal rule is violated.
    pub fatal: bool,
}

/// The score of `scorecard` when exactly `violated` (its rules) are
/// violated: what [`Scorer`] gives a call, and what a reviewed score is
/// computed with once reviewers have confirmed or overturned verdicts.
pub fn score_of<'r>(scorecard: &Scorecard, violated: impl IntoIterator<Item = &'r Rule>) -> Scored {
    let mut deducted = 0.0;
    let mut fatal = false;
    for rule in violated {
        deducted += rule.points;
        fatal |= rule.fatal;
    }
    let score = if fatal {
        0.0
    } else {
        (scorecard.base_score - deducted).max(0.0)
    };
    Scored {
        score,
        passed: score >= scorecard.pass_score,
        fatal,
    }
}

impl Evaluator<'_, '_> {
    fn scorecard(&mut self, compiled: &CompiledScorecard) -> QaResult {
        let scorecard = &compiled.scorecard;
        let mut violations = Vec::new();
        let mut violated_rules = Vec::new();
        for (rule, node) in scorecard.rules.iter().zip(&compiled.rules) {
            let outcome = self.evaluate(node, Window::All);
            let violated = match rule.expect {
                Expect::Present => !outcome.holds,
                Expect::Absent => outcome.holds,
            };
            if !violated {
                continue;
            }
            violated_rules.push(rule);
            violations.push(Violation {
                rule_id: rule.id.clone(),
                name: rule.name.clone(),
                points: rule.points,
                fatal: rule.fatal,
                evidence: self.evidence(outcome.marks),
            });
        }
        let scored = score_of(scorecard, violated_rules);
        QaResult {
            call_id: self.call.call.call_id.clone(),
            scorecard: scorecard.name.clone(),
            score: scored.score,
            passed: scored.passed,
            fatal: scored.fatal,
            violations,
        }
    }

    fn evidence(&self, mut marks: Vec<Mark>) -> Vec<Evidence> {
        marks.sort_unstable();
        marks.dedup();
        marks
            .into_iter()
            .filter_map(|mark| {
                let segment = self.call.call.segments.get(mark.segment)?;
                let prepared = &self.call.segments[mark.segment];
                let spans = &prepared.normalized.spans;
                let matched = mark.span.and_then(|(start, end)| {
                    let (start, end) = (start as usize, end as usize);
                    (start < end && end <= spans.len()).then(|| (spans[start].0, spans[end - 1].1))
                });
                let (text, matched) =
                    shown(&segment.text, &prepared.pii, self.call.mentions, matched);
                Some(Evidence {
                    segment: mark.segment,
                    start: segment.start,
                    end: segment.end,
                    role: segment.role,
                    text,
                    matched,
                })
            })
            .collect()
    }

    fn evaluate(&mut self, node: &Node, window: Window) -> Outcome {
        match &node.kind {
            Kind::Words {
                words,
                lookup,
                mode,
                min_count,
                homophones,
            } => self.words(
                node,
                window,
                words.len(),
                lookup,
                *mode,
                *min_count,
                *homophones,
            ),
            Kind::Regex { pattern, min_count } => self.regex(node, window, pattern, *min_count),
            Kind::Similar { phrases, threshold } => self.similar(node, window, phrases, *threshold),
            Kind::Sequence {
                first,
                then,
                within,
            } => self.sequence(window, first, then, *within),
            Kind::Silence {
                min_seconds,
                after,
                min_count,
            } => self.silence(node, window, *min_seconds, *after, *min_count),
            Kind::Overtalk {
                min_seconds,
                min_count,
            } => self.overtalk(node, window, *min_seconds, *min_count),
            Kind::SpeechRate { max_cpm, min_cpm } => {
                self.speech_rate(node, window, *max_cpm, *min_cpm)
            }
            Kind::TalkRatio { max, min } => self.talk_ratio(node, *max, *min),
            Kind::Duration {
                max_seconds,
                min_seconds,
            } => Outcome::new(
                outside(self.call.duration, *max_seconds, *min_seconds),
                Vec::new(),
            ),
            Kind::Repeat {
                threshold,
                min_count,
                min_chars,
            } => self.repeat(node, window, *threshold, *min_count, *min_chars),
            Kind::Pii { kinds, min_count } => self.pii(node, window, kinds, *min_count),
            Kind::All(nested) => {
                let outcomes: Vec<Outcome> = nested
                    .iter()
                    .map(|child| self.evaluate(child, window))
                    .collect();
                let holds = outcomes.iter().all(|outcome| outcome.holds);
                // Holding: every child's evidence; failing: the failing children's.
                let marks = outcomes
                    .into_iter()
                    .filter(|outcome| outcome.holds == holds)
                    .flat_map(|outcome| outcome.marks)
                    .collect();
                Outcome::new(holds, marks)
            }
            Kind::Any(nested) => {
                let outcomes: Vec<Outcome> = nested
                    .iter()
                    .map(|child| self.evaluate(child, window))
                    .collect();
                let holds = outcomes.iter().any(|outcome| outcome.holds);
                // Holding: the holding children's evidence; failing: every child's.
                let marks = outcomes
                    .into_iter()
                    .filter(|outcome| outcome.holds == holds)
                    .flat_map(|outcome| outcome.marks)
                    .collect();
                Outcome::new(holds, marks)
            }
            Kind::Not(nested) => {
                let outcome = self.evaluate(nested, window);
                Outcome::new(!outcome.holds, outcome.marks)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn words(
        &mut self,
        node: &Node,
        window: Window,
        word_count: usize,
        lookup: &[(u32, u32)],
        mode: KeywordMode,
        min_count: usize,
        homophones: bool,
    ) -> Outcome {
        let mut total = 0usize;
        let mut per_word = vec![
            0usize;
            if mode == KeywordMode::All {
                word_count
            } else {
                0
            }
        ];
        let mut marks = Vec::new();
        for index in scoped(self.call, node, window) {
            let segment = &self.call.segments[index];
            let mut covered_until = 0u32;
            for hit in &segment.hits {
                if hit.homophone && !homophones {
                    continue;
                }
                let Ok(position) = lookup.binary_search_by_key(&hit.word, |(word, _)| *word) else {
                    continue;
                };
                match mode {
                    KeywordMode::Any => {
                        // Leftmost-longest, non-overlapping occurrences.
                        if hit.start < covered_until {
                            continue;
                        }
                        covered_until = hit.end;
                        total += 1;
                    }
                    KeywordMode::All => {
                        per_word[lookup[position].1 as usize] += 1;
                    }
                }
                marks.push(Mark {
                    segment: index,
                    span: Some((hit.start, hit.end)),
                });
            }
        }
        let holds = match mode {
            KeywordMode::Any => total >= min_count,
            KeywordMode::All => per_word.iter().all(|count| *count >= min_count),
        };
        if holds {
            Outcome::new(true, marks)
        } else {
            Outcome::no()
        }
    }

    fn regex(
        &mut self,
        node: &Node,
        window: Window,
        pattern: &regex::Regex,
        min_count: usize,
    ) -> Outcome {
        let mut marks = Vec::new();
        for index in scoped(self.call, node, window) {
            let text = &self.call.segments[index].normalized_text;
            for found in pattern.find_iter(text) {
                if found.as_str().is_empty() {
                    continue;
                }
                let start = text[..found.start()].chars().count() as u32;
                let length = found.as_str().chars().count() as u32;
                marks.push(Mark {
                    segment: index,
                    span: Some((start, start + length)),
                });
            }
        }
        if marks.len() >= min_count {
            Outcome::new(true, marks)
        } else {
            Outcome::no()
        }
    }

    fn pii(&mut self, node: &Node, window: Window, kinds: &[PiiKind], min_count: usize) -> Outcome {
        let marks: Vec<Mark> = scoped(self.call, node, window)
            .flat_map(|index| {
                self.call.segments[index]
                    .pii
                    .iter()
                    .filter(|placed| kinds.contains(&placed.kind))
                    .map(move |placed| Mark {
                        segment: index,
                        span: placed.normalized,
                    })
            })
            .collect();
        if !marks.is_empty() && marks.len() >= min_count {
            Outcome::new(true, marks)
        } else {
            Outcome::no()
        }
    }

    fn similar(
        &mut self,
        node: &Node,
        window: Window,
        phrases: &[Vec<char>],
        threshold: f64,
    ) -> Outcome {
        let mut marks = Vec::new();
        for index in scoped(self.call, node, window) {
            let segment: &PreparedSegment = &self.call.segments[index];
            let mut best: Option<similar::PhraseMatch> = None;
            for phrase in phrases {
                if similar::similarity_upper_bound(phrase, segment.mask) + EPSILON < threshold {
                    continue;
                }
                let found = similar::phrase_similarity(
                    phrase,
                    &segment.normalized.chars,
                    &mut self.scratch.alignment,
                );
                if found.similarity + EPSILON >= threshold
                    && best.is_none_or(|best| found.similarity > best.similarity)
                {
                    best = Some(found);
                }
            }
            if let Some(best) = best {
                marks.push(Mark {
                    segment: index,
                    span: Some((best.start as u32, best.end as u32)),
                });
            }
        }
        Outcome::new(!marks.is_empty(), marks)
    }

    fn sequence(&mut self, window: Window, first: &Node, then: &Node, within: usize) -> Outcome {
        let count = self.call.segments.len();
        let ends: Vec<usize> = match window {
            Window::All => (0..count).collect(),
            Window::At(index) if index < count => vec![index],
            Window::At(_) => Vec::new(),
        };
        let mut marks = Vec::new();
        let mut holds = false;
        for end in ends {
            let then_outcome = self.evaluate(then, Window::At(end));
            if !then_outcome.holds {
                continue;
            }
            // The nearest earlier sentence where `first` holds, if it is
            // within reach.
            let steps = self.step_holds(first);
            let Some(start) = steps.latest_before[end] else {
                continue;
            };
            if end - start > within {
                continue;
            }
            holds = true;
            if let Some(first_outcome) = steps.outcomes.get(&start) {
                marks.extend(first_outcome.marks.iter().copied());
            }
            marks.extend(then_outcome.marks.iter().copied());
        }
        if holds {
            Outcome::new(true, marks)
        } else {
            Outcome::no()
        }
    }

    /// Where `node` holds in the call ([`StepHolds`]), computed on first use.
    fn step_holds(&mut self, node: &Node) -> Rc<StepHolds> {
        let key = node as *const Node as usize;
        if let Some(steps) = self.first_steps.get(&key) {
            return Rc::clone(steps);
        }
        let count = self.call.segments.len();
        let mut latest_before = Vec::with_capacity(count + 1);
        let mut outcomes = HashMap::new();
        let mut latest = None;
        for index in 0..count {
            latest_before.push(latest);
            let outcome = self.evaluate(node, Window::At(index));
            if outcome.holds {
                latest = Some(index);
                outcomes.insert(index, outcome);
            }
        }
        latest_before.push(latest);
        let steps = Rc::new(StepHolds {
            latest_before,
            outcomes,
        });
        self.first_steps.insert(key, Rc::clone(&steps));
        steps
    }

    fn silence(
        &mut self,
        node: &Node,
        window: Window,
        min_seconds: f64,
        after: RoleFilter,
        min_count: usize,
    ) -> Outcome {
        let marks: Vec<Mark> = scoped(self.call, node, window)
            .filter(|index| {
                let Some((gap, speaker)) = self.call.segments[*index].gap_before else {
                    return false;
                };
                gap + EPSILON >= min_seconds && after.admits(self.call.segments[speaker].role)
            })
            .map(|segment| Mark {
                segment,
                span: None,
            })
            .collect();
        if marks.len() >= min_count {
            Outcome::new(true, marks)
        } else {
            Outcome::no()
        }
    }

    fn overtalk(
        &mut self,
        node: &Node,
        window: Window,
        min_seconds: f64,
        min_count: usize,
    ) -> Outcome {
        let marks: Vec<Mark> = scoped(self.call, node, window)
            .filter(|index| {
                let overlap = self.call.segments[*index].overlap_before;
                overlap > 0.0 && overlap + EPSILON >= min_seconds
            })
            .map(|segment| Mark {
                segment,
                span: None,
            })
            .collect();
        if marks.len() >= min_count {
            Outcome::new(true, marks)
        } else {
            Outcome::no()
        }
    }

    fn speech_rate(
        &mut self,
        node: &Node,
        window: Window,
        max_cpm: Option<f64>,
        min_cpm: Option<f64>,
    ) -> Outcome {
        let scoped: Vec<usize> = scoped(self.call, node, window).collect();
        let characters: usize = scoped
            .iter()
            .map(|index| self.call.segments[*index].normalized.len())
            .sum();
        let seconds = union_seconds(scoped.iter().map(|index| &self.call.segments[*index]));
        if seconds <= 0.0 || characters == 0 {
            return Outcome::no();
        }
        let rate = characters as f64 / seconds * 60.0;
        let too_fast = max_cpm.is_some_and(|max| rate > max);
        let too_slow = min_cpm.is_some_and(|min| rate < min);
        if !too_fast && !too_slow {
            return Outcome::no();
        }
        // Cite the segments that are most out of bounds themselves.
        let mut rated: Vec<(f64, usize)> = scoped
            .iter()
            .filter_map(|index| {
                let segment = &self.call.segments[*index];
                let seconds = segment.seconds();
                (seconds > 0.0 && !segment.normalized.is_empty())
                    .then(|| (segment.normalized.len() as f64 / seconds * 60.0, *index))
            })
            .filter(|(rate, _)| {
                (too_fast && max_cpm.is_some_and(|max| *rate > max))
                    || (too_slow && min_cpm.is_some_and(|min| *rate < min))
            })
            .collect();
        if too_fast {
            rated.sort_by(|left, right| right.0.total_cmp(&left.0));
        } else {
            rated.sort_by(|left, right| left.0.total_cmp(&right.0));
        }
        let marks = rated
            .into_iter()
            .take(SPEECH_RATE_EVIDENCE)
            .map(|(_, segment)| Mark {
                segment,
                span: None,
            })
            .collect();
        Outcome::new(true, marks)
    }

    fn talk_ratio(&mut self, node: &Node, max: Option<f64>, min: Option<f64>) -> Outcome {
        let segments = &self.call.segments;
        let per_role =
            |role: Role| union_seconds(segments.iter().filter(|segment| segment.role == role));
        let total: f64 = [Role::Agent, Role::Customer, Role::Unknown]
            .into_iter()
            .map(per_role)
            .sum();
        if total <= 0.0 {
            return Outcome::no();
        }
        let own: f64 = [Role::Agent, Role::Customer, Role::Unknown]
            .into_iter()
            .filter(|role| node.role.admits(*role))
            .map(per_role)
            .sum();
        Outcome::new(outside(own / total, max, min), Vec::new())
    }

    fn repeat(
        &mut self,
        node: &Node,
        window: Window,
        threshold: f64,
        min_count: usize,
        min_chars: usize,
    ) -> Outcome {
        let key = node as *const Node as usize;
        let groups = match self.repeats.get(&key) {
            Some(groups) => Rc::clone(groups),
            None => {
                let groups = Rc::new(RepeatGroups::new(
                    self.call,
                    node,
                    threshold,
                    min_chars,
                    &mut self.scratch.lcs_row,
                ));
                self.repeats.insert(key, Rc::clone(&groups));
                groups
            }
        };
        if groups.candidates.len() < min_count {
            return Outcome::no();
        }
        let (count, best) = match window {
            Window::All => {
                let largest = groups.largest();
                (largest.len(), largest)
            }
            Window::At(index) => {
                let shown = min_count.max(REPEAT_STEP_EVIDENCE);
                groups.said_before(index, shown).unwrap_or_default()
            }
        };
        if count < min_count {
            return Outcome::no();
        }
        let marks = best
            .into_iter()
            .map(|position| {
                let segment = groups.candidates[position];
                let length = self.call.segments[segment].normalized.len() as u32;
                Mark {
                    segment,
                    span: Some((0, length)),
                }
            })
            .collect();
        Outcome::new(true, marks)
    }
}

/// How many distinct sentences said before it each distinct sentence of a
/// `repeat` is compared with for similarity (in the order first said).
/// Exact repeats are found by hashing whatever their number; the bound
/// keeps the fuzzy comparisons linear in the call's length, so a Whisper
/// repetition loop or a call of thousands of distinct sentences costs at
/// most this many comparisons per distinct sentence.
const REPEAT_COMPARED_SENTENCES: usize = 256;

/// Earlier sayings shown as evidence when a `repeat` holds at one step of a
/// `sequence` (the latest ones; at least `min_count`), so that a step's
/// work does not grow with the call.
const REPEAT_STEP_EVIDENCE: usize = 16;

/// The sentences one `repeat` condition looks at, grouped once per call:
/// identical normalized sentences form one class (found by hashing), and
/// each class knows the other classes similar to it.
struct RepeatGroups {
    /// Segments long enough to count, in order.
    candidates: Vec<usize>,
    /// Class of each candidate (by position in `candidates`).
    class_of: Vec<usize>,
    /// Candidate positions of each class, ascending; classes in the order
    /// first said.
    members: Vec<Vec<usize>>,
    /// Other classes at least `threshold` similar to each class.
    similar: Vec<Vec<usize>>,
    /// Whether two sayings of the class count as the same sentence (not for
    /// empty sentences, which are similar to nothing).
    self_similar: Vec<bool>,
}

impl RepeatGroups {
    fn new(
        call: &Prepared<'_>,
        node: &Node,
        threshold: f64,
        min_chars: usize,
        lcs_row: &mut Vec<u16>,
    ) -> RepeatGroups {
        let segments = &call.segments;
        let candidates: Vec<usize> = scoped(call, node, Window::All)
            .filter(|index| segments[*index].normalized.len() >= min_chars)
            .collect();
        let mut class_ids: HashMap<&[char], usize> = HashMap::new();
        let mut class_of = Vec::with_capacity(candidates.len());
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut texts: Vec<&[char]> = Vec::new();
        for (position, index) in candidates.iter().enumerate() {
            let text = segments[*index].normalized.chars.as_slice();
            let class = *class_ids.entry(text).or_insert_with(|| {
                members.push(Vec::new());
                texts.push(text);
                members.len() - 1
            });
            members[class].push(position);
            class_of.push(class);
        }
        let sorted: Vec<Vec<char>> = texts
            .iter()
            .map(|text| {
                let mut characters = text.to_vec();
                characters.sort_unstable();
                characters
            })
            .collect();
        let self_similar: Vec<bool> = texts
            .iter()
            .map(|text| similar::sentence_similarity(text, text, lcs_row) + EPSILON >= threshold)
            .collect();
        let mut similar_classes: Vec<Vec<usize>> = vec![Vec::new(); texts.len()];
        for right in 0..texts.len() {
            for left in right.saturating_sub(REPEAT_COMPARED_SENTENCES)..right {
                if similar::sentence_similarity_upper_bound(&sorted[left], &sorted[right]) + EPSILON
                    < threshold
                {
                    continue;
                }
                if similar::sentence_similarity(texts[left], texts[right], lcs_row) + EPSILON
                    >= threshold
                {
                    similar_classes[left].push(right);
                    similar_classes[right].push(left);
                }
            }
        }
        RepeatGroups {
            candidates,
            class_of,
            members,
            similar: similar_classes,
            self_similar,
        }
    }

    /// The candidate positions similar to a saying of `class` (other than
    /// the saying itself) and before `before`, ascending.
    fn others(&self, class: usize, before: usize) -> Vec<usize> {
        let mut others: Vec<usize> = Vec::new();
        let own: &[usize] = if self.self_similar[class] {
            &self.members[class]
        } else {
            &[]
        };
        let classes = self.similar[class]
            .iter()
            .map(|other| &self.members[*other]);
        for positions in std::iter::once(own).chain(classes.map(Vec::as_slice)) {
            let end = positions.partition_point(|position| *position < before);
            others.extend_from_slice(&positions[..end]);
        }
        others.sort_unstable();
        others
    }

    /// The largest group of a sentence and those similar to it: its first
    /// saying, then the others in order. On a tie, the sentence said first.
    fn largest(&self) -> Vec<usize> {
        let size = |class: usize| {
            let own = if self.self_similar[class] {
                self.members[class].len()
            } else {
                1
            };
            own + self.similar[class]
                .iter()
                .map(|other| self.members[*other].len())
                .sum::<usize>()
        };
        let mut best: Option<(usize, usize)> = None;
        for class in 0..self.members.len() {
            let (class_size, first) = (size(class), self.members[class][0]);
            let better = best.is_none_or(|(best_size, best_first)| {
                class_size > best_size || (class_size == best_size && first < best_first)
            });
            if better {
                best = Some((class_size, first));
            }
        }
        let Some((_, first)) = best else {
            return Vec::new();
        };
        let class = self.class_of[first];
        let mut group = vec![first];
        group.extend(
            self.others(class, usize::MAX)
                .into_iter()
                .filter(|position| *position != first),
        );
        group
    }

    /// The saying at segment `index` and how many similar ones were said
    /// before it, with the latest `shown` of those (in order); `None` when
    /// the segment is not a candidate. Work per step is bounded by the
    /// number of similar classes and `shown`, not by the call's length.
    fn said_before(&self, index: usize, shown: usize) -> Option<(usize, Vec<usize>)> {
        let position = self.candidates.binary_search(&index).ok()?;
        let class = self.class_of[position];
        let own: &[usize] = if self.self_similar[class] {
            &self.members[class]
        } else {
            &[]
        };
        let classes = self.similar[class]
            .iter()
            .map(|other| &self.members[*other]);
        let mut earlier = 0;
        let mut latest: Vec<usize> = Vec::new();
        for positions in std::iter::once(own).chain(classes.map(Vec::as_slice)) {
            let end = positions.partition_point(|before| *before < position);
            earlier += end;
            latest.extend_from_slice(&positions[end.saturating_sub(shown)..end]);
        }
        latest.sort_unstable();
        let keep = latest.len().saturating_sub(shown);
        let mut group = vec![position];
        group.extend_from_slice(&latest[keep..]);
        Some((1 + earlier, group))
    }
}

/// Evidence text and match as people may see them: `text` with each piece
/// of personal data replaced by its shown form, and `matched` (bytes of
/// `text`) widened to whole pieces of personal data it touches, in the
/// shown text. Without personal data, the text and match as they are.
fn shown(
    text: &str,
    placed: &[PlacedMention],
    mentions: &[PiiMention],
    matched: Option<(usize, usize)>,
) -> (String, String) {
    // Pieces with a place, in order, none overlapping the one before.
    let mut pieces: Vec<((usize, usize), &str)> = Vec::with_capacity(placed.len());
    for place in placed {
        let (from, to) = place.bytes;
        let Some(mention) = mentions.get(place.mention) else {
            continue;
        };
        let clear = pieces.last().is_none_or(|(last, _)| last.1 <= from);
        if from < to && to <= text.len() && clear {
            pieces.push(((from, to), mention.shown.as_str()));
        }
    }
    let placed = pieces;
    if placed.is_empty() {
        let matched = matched.map_or(String::new(), |(start, end)| text[start..end].to_string());
        return (text.to_string(), matched);
    }
    let mut shown_text = String::with_capacity(text.len());
    let mut copied = 0;
    for ((start, end), shown) in &placed {
        shown_text.push_str(&text[copied..*start]);
        shown_text.push_str(shown);
        copied = *end;
    }
    shown_text.push_str(&text[copied..]);
    let Some((mut start, mut end)) = matched else {
        return (shown_text, String::new());
    };
    for ((from, to), _) in &placed {
        let (from, to) = (*from, *to);
        if from < end && start < to {
            start = start.min(from);
            end = end.max(to);
        }
    }
    // A position outside every piece moves by what the pieces before it
    // grew or shrank.
    let moved = |position: usize| -> usize {
        let before: Vec<&((usize, usize), &str)> = placed
            .iter()
            .filter(|((_, to), _)| *to <= position)
            .collect();
        let removed: usize = before.iter().map(|((from, to), _)| to - from).sum();
        let added: usize = before.iter().map(|(_, shown)| shown.len()).sum();
        (position + added).saturating_sub(removed)
    };
    let matched = shown_text
        .get(moved(start)..moved(end))
        .unwrap_or_default()
        .to_string();
    (shown_text, matched)
}

/// Whether segment `index` is among the sentences `node` looks at.
fn in_scope(call: &Prepared<'_>, node: &Node, index: usize) -> bool {
    let segment = &call.segments[index];
    if !node.role.admits(segment.role) {
        return false;
    }
    let (rank, count) = match node.role {
        RoleFilter::Any => (index as u32, call.count_of(None)),
        RoleFilter::Agent => (segment.rank_in_role, call.count_of(Some(Role::Agent))),
        RoleFilter::Customer => (segment.rank_in_role, call.count_of(Some(Role::Customer))),
    };
    match node.scope {
        Scope::All => true,
        Scope::First(first) => (rank as usize) < first,
        Scope::Last(last) => (rank as usize) + last >= count as usize,
    }
}

/// The segments of `window` that `node` looks at, in order.
fn scoped<'a>(
    call: &'a Prepared<'_>,
    node: &'a Node,
    window: Window,
) -> impl Iterator<Item = usize> + 'a {
    let count = call.segments.len();
    let range = match window {
        Window::All => 0..count,
        Window::At(index) => index.min(count)..(index + 1).min(count),
    };
    range.filter(move |index| in_scope(call, node, *index))
}

/// Whether `value` is above `max` or below `min`.
fn outside(value: f64, max: Option<f64>, min: Option<f64>) -> bool {
    max.is_some_and(|max| value > max + EPSILON) || min.is_some_and(|min| value + EPSILON < min)
}

/// Seconds covered by the segments' time spans (overlaps counted once).
fn union_seconds<'s>(segments: impl Iterator<Item = &'s PreparedSegment>) -> f64 {
    let mut spans: Vec<(f64, f64)> = segments
        .map(|segment| (segment.start, segment.end))
        .collect();
    spans.sort_by(|left, right| left.0.total_cmp(&right.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (start, end) in spans {
        match &mut current {
            Some((_, current_end)) if start <= *current_end => *current_end = current_end.max(end),
            _ => {
                if let Some((current_start, current_end)) = current {
                    total += current_end - current_start;
                }
                current = Some((start, end));
            }
        }
    }
    if let Some((current_start, current_end)) = current {
        total += current_end - current_start;
    }
    total
}
