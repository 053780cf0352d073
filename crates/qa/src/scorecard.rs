//! Scorecards: the TOML language of `docs/qa-rules.md`, parsed and
//! validated into [`Scorecard`] before any call is scored.
//!
//! Validation collects every problem of a file (not only the first), each
//! with its line, the rule id and what to change, and refuses the whole file
//! if there is any: nothing is half-applied.

use std::fmt;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::lexicon;
use callscope_core::error::{Error, Result};
use callscope_core::model::{PiiKind, Role};
use callscope_core::text::Normalizer;

/// Default similarity threshold of `similar` and `repeat`.
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// Default `within` of `sequence`, in sentences.
pub const DEFAULT_WITHIN: usize = 3;
/// Default `min_chars` of `repeat`: shorter sentences (嗯, 好的) never count
/// as repeats.
pub const DEFAULT_REPEAT_MIN_CHARS: usize = 4;
/// Deepest nesting of conditions accepted (`all`, `any`, `not` and
/// `sequence` inside one another; the rule's `[rule.when]` is level 1), like
/// the search query language's limit.
pub const MAX_CONDITION_DEPTH: usize = 32;
/// Longest regular expression accepted, compiled (bytes).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A validated scorecard: one TOML file.
#[derive(Debug, Clone)]
pub struct Scorecard {
    /// Display name (`[scorecard] name`), also the `scorecard` of results.
    pub name: String,
    /// The file it came from (as given), for messages.
    pub file: String,
    /// Score before deductions.
    pub base_score: f64,
    /// A call passes with a score at or above this.
    pub pass_score: f64,
    /// Queues whose calls are scored; empty means all calls.
    pub queues: Vec<String>,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// One rule of a scorecard.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id within the scorecard, `[a-z0-9_]+`.
    pub id: String,
    /// Display name (defaults to the id).
    pub name: String,
    /// Whether the condition must hold (`present`) or must not (`absent`).
    pub expect: Expect,
    /// Points deducted when violated.
    pub points: f64,
    /// A violation sets the score to 0 (一票否决).
    pub fatal: bool,
    /// 1-based line of the rule's `[[rule]]` header.
    pub line: usize,
    /// The condition.
    pub when: Condition,
}

/// What a rule expects of its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Violated when the condition does not hold (a missing greeting).
    Present,
    /// Violated when the condition holds (a forbidden word).
    Absent,
}

/// Which speaker's sentences a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleFilter {
    /// Every sentence.
    Any,
    /// The agent's sentences.
    Agent,
    /// The customer's sentences.
    Customer,
}

impl RoleFilter {
    /// Whether a sentence of `role` is looked at.
    pub fn admits(self, role: Role) -> bool {
        match self {
            RoleFilter::Any => true,
            RoleFilter::Agent => role == Role::Agent,
            RoleFilter::Customer => role == Role::Customer,
        }
    }

    /// The scorecard spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleFilter::Any => "any",
            RoleFilter::Agent => "agent",
            RoleFilter::Customer => "customer",
        }
    }
}

/// Which of the role's sentences a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// All of them.
    All,
    /// The role's first N sentences.
    First(usize),
    /// The role's last N sentences.
    Last(usize),
}

/// `mode` of a keyword condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordMode {
    /// Any of the words (`min_count` occurrences in total).
    Any,
    /// Every word (each at least `min_count` times).
    All,
}

/// ASR-robust matching of keyword and lexicon words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fuzzy {
    /// Exact matches only.
    None,
    /// Also homophones: the same toneless pinyin syllables (没半法 for 没办法).
    Pinyin,
}

/// A condition (`[rule.when]` or a nested one), with its role and scope.
#[derive(Debug, Clone)]
pub struct Condition {
    /// 1-based line where the condition starts.
    pub line: usize,
    /// Whose sentences it looks at.
    pub role: RoleFilter,
    /// Which of them.
    pub scope: Scope,
    /// The operator and its settings.
    pub op: Operator,
}

/// The operators of qa-rules.md.
#[derive(Debug, Clone)]
pub enum Operator {
    /// Words occur (substring match after normalization).
    Keyword {
        /// Normalized words.
        words: Vec<String>,
        /// Any word or all words.
        mode: KeywordMode,
        /// Occurrences needed (in total for `any`, each for `all`).
        min_count: usize,
        /// Homophone matching.
        fuzzy: Fuzzy,
    },
    /// Words of a named word list occur.
    Lexicon {
        /// The name or path as written.
        name: String,
        /// Normalized words of the list.
        words: Vec<String>,
        /// Occurrences needed in total.
        min_count: usize,
        /// Homophone matching.
        fuzzy: Fuzzy,
    },
    /// A regular expression matches a normalized sentence.
    Regex {
        /// The compiled pattern.
        pattern: regex::Regex,
        /// Matches needed in total.
        min_count: usize,
    },
    /// A sentence is similar to a phrase (see [`super::similar`]).
    Similar {
        /// Normalized phrases.
        phrases: Vec<String>,
        /// Similarity needed, in 0..1.
        threshold: f64,
    },
    /// `then` holds within `within` sentences after `first` holds.
    Sequence {
        /// The first condition.
        first: Box<Condition>,
        /// The condition that must follow.
        then: Box<Condition>,
        /// How many following sentences (of either role) may hold `then`.
        within: usize,
    },
    /// A gap without speech before a turn of the role.
    Silence {
        /// Shortest gap that counts, seconds.
        min_seconds: f64,
        /// Whose turn the gap follows.
        after: RoleFilter,
        /// Gaps needed.
        min_count: usize,
    },
    /// The role starts speaking while the other still speaks (抢话).
    Overtalk {
        /// Shortest overlap that counts, seconds.
        min_seconds: f64,
        /// Interruptions needed.
        min_count: usize,
    },
    /// Characters per minute of the role's own speech time out of bounds.
    SpeechRate {
        /// Holds above this rate.
        max_cpm: Option<f64>,
        /// Holds below this rate.
        min_cpm: Option<f64>,
    },
    /// The role's share of all speech time out of bounds.
    TalkRatio {
        /// Holds above this share.
        max: Option<f64>,
        /// Holds below this share.
        min: Option<f64>,
    },
    /// The call's duration out of bounds.
    Duration {
        /// Holds above this many seconds.
        max_seconds: Option<f64>,
        /// Holds below this many seconds.
        min_seconds: Option<f64>,
    },
    /// Personal data was said: the mobile, landline, ID and bank card
    /// numbers and email addresses the redaction stage found, counted from
    /// its spans (not from the text, which may be masked).
    Pii {
        /// The kinds that count.
        kinds: Vec<PiiKind>,
        /// Items needed in total.
        min_count: usize,
    },
    /// The role says similar sentences at least `min_count` times.
    /// Identical normalized sentences are grouped by hashing; each distinct
    /// sentence is compared for similarity with a bounded number of the
    /// distinct sentences said before it (docs/qa-rules.md), so the work is
    /// near-linear in the call's length.
    Repeat {
        /// Similarity of two sentences that makes them the same, 0..1.
        threshold: f64,
        /// Times a sentence must be said.
        min_count: usize,
        /// Shorter sentences are ignored.
        min_chars: usize,
    },
    /// Every nested condition holds.
    All(Vec<Condition>),
    /// Some nested condition holds.
    Any(Vec<Condition>),
    /// The nested condition does not hold.
    Not(Box<Condition>),
}

impl Operator {
    /// The scorecard spelling of the operator.
    pub fn name(&self) -> &'static str {
        match self {
            Operator::Keyword { .. } => "keyword",
            Operator::Lexicon { .. } => "lexicon",
            Operator::Regex { .. } => "regex",
            Operator::Similar { .. } => "similar",
            Operator::Sequence { .. } => "sequence",
            Operator::Silence { .. } => "silence",
            Operator::Overtalk { .. } => "overtalk",
            Operator::SpeechRate { .. } => "speech_rate",
            Operator::TalkRatio { .. } => "talk_ratio",
            Operator::Duration { .. } => "duration",
            Operator::Repeat { .. } => "repeat",
            Operator::Pii { .. } => "pii",
            Operator::All(_) => "all",
            Operator::Any(_) => "any",
            Operator::Not(_) => "not",
        }
    }

    /// Whether the operator describes the whole call rather than sentences
    /// (so it cannot be a step of a `sequence`).
    pub fn is_call_level(&self) -> bool {
        matches!(self, Operator::TalkRatio { .. } | Operator::Duration { .. })
    }
}

/// A keyword, word-list word or regular expression of a rule, for checks
/// of what rules can match (see [`Scorecard::text_matchers`]).
#[derive(Debug, Clone, Copy)]
pub struct TextMatcher<'a> {
    /// The rule's id.
    pub rule: &'a str,
    /// 1-based line of the condition that holds it.
    pub line: usize,
    /// The word or pattern.
    pub matcher: Matcher<'a>,
}

/// What a [`TextMatcher`] matches with.
#[derive(Debug, Clone, Copy)]
pub enum Matcher<'a> {
    /// A keyword or a word of a word list, normalized.
    Word(&'a str),
    /// A regular expression, matched against normalized sentences.
    Pattern(&'a regex::Regex),
}

impl Condition {
    /// Adds the words and patterns of this condition and the ones nested
    /// in it.
    fn text_matchers<'a>(&'a self, rule: &'a str, found: &mut Vec<TextMatcher<'a>>) {
        let line = self.line;
        match &self.op {
            Operator::Keyword { words, .. } | Operator::Lexicon { words, .. } => {
                found.extend(words.iter().map(|word| TextMatcher {
                    rule,
                    line,
                    matcher: Matcher::Word(word),
                }));
            }
            Operator::Regex { pattern, .. } => found.push(TextMatcher {
                rule,
                line,
                matcher: Matcher::Pattern(pattern),
            }),
            Operator::Sequence { first, then, .. } => {
                first.text_matchers(rule, found);
                then.text_matchers(rule, found);
            }
            Operator::All(nested) | Operator::Any(nested) => {
                for condition in nested {
                    condition.text_matchers(rule, found);
                }
            }
            Operator::Not(nested) => nested.text_matchers(rule, found),
            _ => {}
        }
    }
}

/// One problem found in a scorecard file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorecardIssue {
    /// 1-based line.
    pub line: usize,
    /// The rule concerned, if any.
    pub rule: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ScorecardIssue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(
                formatter,
                "line {}, rule '{rule}': {}",
                self.line, self.message
            ),
            None => write!(formatter, "line {}: {}", self.line, self.message),
        }
    }
}

/// The error for a list of issues of one file.
pub fn issues_error(file: &str, issues: &[ScorecardIssue]) -> Error {
    let reason = if issues.len() == 1 {
        issues[0].to_string()
    } else {
        let mut reason = format!("{} problems; fix them and run again", issues.len());
        for issue in issues {
            reason.push_str("\n  ");
            reason.push_str(&issue.to_string());
        }
        reason
    };
    Error::Config {
        file: file.to_string(),
        reason,
    }
}

impl Scorecard {
    /// Reads and validates a scorecard file. Lexicons given by relative path
    /// resolve against the file's folder.
    pub fn load(path: &Path) -> Result<Scorecard> {
        let text = std::fs::read_to_string(path).map_err(|error| match error.kind() {
            std::io::ErrorKind::InvalidData => Error::Config {
                file: path.display().to_string(),
                reason: "the file is not UTF-8 text; save the scorecard as UTF-8".to_string(),
            },
            _ => Error::io(path, error),
        })?;
        Scorecard::parse(&text, &path.display().to_string())
    }

    /// Validates a scorecard from its text; `file_name` names it in messages
    /// and its folder is where relative lexicon paths start.
    pub fn parse(text: &str, file_name: &str) -> Result<Scorecard> {
        Scorecard::check(text, file_name).map_err(|issues| issues_error(file_name, &issues))
    }

    /// Like [`Scorecard::parse`], returning every problem as data.
    pub fn check(
        text: &str,
        file_name: &str,
    ) -> std::result::Result<Scorecard, Vec<ScorecardIssue>> {
        let base_dir = Path::new(file_name)
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty());
        let mut parser = Parser {
            text,
            issues: Vec::new(),
            normalizer: Normalizer::shared(),
            base_dir,
            depth: 0,
        };
        let scorecard = parser.document(file_name);
        if parser.issues.is_empty() {
            if let Some(scorecard) = scorecard {
                return Ok(scorecard);
            }
        }
        let mut issues = parser.issues;
        issues.sort_by_key(|issue| issue.line);
        Err(issues)
    }

    /// Every keyword, word-list word and regular expression of every rule,
    /// in file order: what a check of the words rules look for (such as
    /// the redaction stage's, for words that masking removes) goes through.
    pub fn text_matchers(&self) -> Vec<TextMatcher<'_>> {
        let mut found = Vec::new();
        for rule in &self.rules {
            rule.when.text_matchers(&rule.id, &mut found);
        }
        found
    }

    /// Whether calls of this queue are scored by this scorecard.
    pub fn admits_queue(&self, queue: Option<&str>) -> bool {
        self.queues.is_empty()
            || queue.is_some_and(|queue| self.queues.iter().any(|admitted| admitted == queue))
    }
}

type Value<'i> = Spanned<DeValue<'i>>;

struct Parser<'t> {
    text: &'t str,
    issues: Vec<ScorecardIssue>,
    normalizer: Normalizer,
    base_dir: Option<&'t Path>,
    /// Nesting level of the condition being read (1 for `[rule.when]`).
    depth: usize,
}

/// Role and scope a logic operator hands to its nested conditions.
#[derive(Clone, Copy, Default)]
struct Inherited {
    role: Option<RoleFilter>,
    scope: Option<Scope>,
}

/// Where a condition sits, for messages and for what it may contain.
#[derive(Clone, Copy)]
struct Place<'a> {
    rule: &'a str,
    /// `[rule.when]`, `[rule.when.first]`, `of[1]`, ...
    path: &'a str,
    in_sequence: bool,
}

const OPERATORS: &[&str] = &[
    "keyword",
    "lexicon",
    "regex",
    "similar",
    "sequence",
    "silence",
    "overtalk",
    "speech_rate",
    "talk_ratio",
    "duration",
    "repeat",
    "pii",
    "all",
    "any",
    "not",
];

/// The keys of a `[[rule]]` table.
const RULE_KEYS: &[&str] = &[
    "id",
    "name",
    "expect",
    "points",
    "fatal",
    "when",
    "description",
];

/// Keys every operator takes besides its own.
const COMMON_KEYS: &[&str] = &["op", "role", "first", "last"];

fn operator_keys(op: &str) -> &'static [&'static str] {
    match op {
        "keyword" => &["words", "mode", "min_count", "fuzzy"],
        "lexicon" => &["name", "min_count", "fuzzy"],
        "regex" => &["pattern", "min_count"],
        "similar" => &["phrases", "threshold"],
        "sequence" => &["then", "within"],
        "silence" => &["min_seconds", "after", "min_count"],
        "overtalk" => &["min_seconds", "min_count"],
        "speech_rate" => &["max_cpm", "min_cpm"],
        "talk_ratio" => &["max", "min"],
        "duration" => &["max_seconds", "min_seconds"],
        "repeat" => &["threshold", "min_count", "min_chars"],
        "pii" => &["kinds", "min_count"],
        "all" | "any" | "not" => &["of"],
        _ => &[],
    }
}

/// The closest candidate to `word` by edit distance, if close enough to be
/// a likely typo.
fn suggestion<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|candidate| (strsim_levenshtein(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn strsim_levenshtein(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    let mut current = vec![0; right.len() + 1];
    for (i, left_char) in left.chars().enumerate() {
        current[0] = i + 1;
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != *right_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

fn number_of(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Integer(integer) => {
            i64::from_str_radix(&integer.as_str().replace('_', ""), integer.radix())
                .ok()
                .map(|value| value as f64)
        }
        DeValue::Float(float) => float.as_str().replace('_', "").parse::<f64>().ok(),
        _ => None,
    }
}

fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

impl<'t> Parser<'t> {
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|byte| **byte == b'\n')
            .count()
            + 1
    }

    fn issue(&mut self, offset: usize, rule: Option<&str>, message: impl Into<String>) {
        let line = self.line(offset);
        self.issues.push(ScorecardIssue {
            line,
            rule: rule.map(str::to_string),
            message: message.into(),
        });
    }

    fn document(&mut self, file_name: &str) -> Option<Scorecard> {
        let table = match DeTable::parse(self.text) {
            Ok(table) => table,
            Err(error) => {
                let offset = error.span().map(|span| span.start).unwrap_or(0);
                let message = error.message().trim().trim_end_matches('.').to_string();
                self.issue(
                    offset,
                    None,
                    format!(
                        "not valid TOML: {message}; check quotes, brackets and that each \
                         key = value is on its own line"
                    ),
                );
                return None;
            }
        };
        let span = table.span();
        let table = table.into_inner();
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if name != "scorecard" && name != "rule" {
                let hint = match suggestion(name, &["scorecard", "rule"]) {
                    Some(candidate) => format!("did you mean [{candidate}]? "),
                    None => String::new(),
                };
                self.issue(
                    key.span().start,
                    None,
                    format!(
                        "unknown section '{name}': {hint}a scorecard has one [scorecard] table \
                         and [[rule]] tables"
                    ),
                );
            }
        }
        let header = match table.get("scorecard") {
            Some(value) => match value.get_ref() {
                DeValue::Table(header) => Some((header, value.span().start)),
                other => {
                    self.issue(
                        value.span().start,
                        None,
                        format!(
                            "scorecard is {}, expected a table: write a [scorecard] section with \
                             name, base_score and pass_score",
                            type_name(other)
                        ),
                    );
                    None
                }
            },
            None => {
                self.issue(
                    span.start,
                    None,
                    "missing [scorecard] section: add [scorecard] with name = \"...\", \
                     base_score = 100 and pass_score = 80",
                );
                None
            }
        };
        let settings = header.map(|(header, offset)| self.header(header, offset));
        let rules = self.rules(table.get("rule"), self.text.trim_end().len());
        let (name, base_score, pass_score, queues) = settings?;
        Some(Scorecard {
            name: name?,
            file: file_name.to_string(),
            base_score: base_score?,
            pass_score: pass_score?,
            queues,
            rules,
        })
    }

    /// `[scorecard]`: name, base_score, pass_score, queues.
    #[allow(clippy::type_complexity)]
    fn header(
        &mut self,
        table: &DeTable<'_>,
        offset: usize,
    ) -> (Option<String>, Option<f64>, Option<f64>, Vec<String>) {
        self.unknown_keys(
            table,
            &["name", "base_score", "pass_score", "queues", "description"],
            "[scorecard]",
            None,
        );
        let name = match self.string(table, "name", None, "[scorecard]") {
            Some((name, _)) if !name.trim().is_empty() => Some(name.trim().to_string()),
            Some((_, offset)) => {
                self.issue(offset, None, "name is empty: give the scorecard a name");
                None
            }
            None => {
                if !table.contains_key("name") {
                    self.issue(
                        offset,
                        None,
                        "[scorecard] has no name: add name = \"售后服务质检标准\" (it names the \
                         results)",
                    );
                }
                None
            }
        };
        let _ = self.string(table, "description", None, "[scorecard]");
        let base_score = match self.number(table, "base_score", None, "[scorecard]") {
            None if table.contains_key("base_score") => None,
            None => Some(100.0),
            Some((value, offset)) if !(value > 0.0 && value.is_finite()) => {
                self.issue(
                    offset,
                    None,
                    format!(
                        "base_score = {} must be above 0: the score calls start from, e.g. 100",
                        format_number(value)
                    ),
                );
                None
            }
            Some((value, _)) => Some(value),
        };
        let pass_score = match self.number(table, "pass_score", None, "[scorecard]") {
            None => {
                if !table.contains_key("pass_score") {
                    self.issue(
                        offset,
                        None,
                        "[scorecard] has no pass_score: add pass_score = 80 (a call passes \
                         with a score at or above it)",
                    );
                }
                None
            }
            Some((value, offset)) => match base_score {
                Some(base) if !(0.0..=base).contains(&value) => {
                    self.issue(
                        offset,
                        None,
                        format!(
                            "pass_score = {} is outside 0..{} (base_score): a call could never \
                             pass; lower it",
                            format_number(value),
                            format_number(base)
                        ),
                    );
                    None
                }
                _ => Some(value),
            },
        };
        let queues = self
            .strings(table, "queues", None, "[scorecard]", true)
            .map(|(queues, _)| queues)
            .unwrap_or_default();
        (name, base_score, pass_score, queues)
    }

    fn rules(&mut self, value: Option<&Value<'_>>, end: usize) -> Vec<Rule> {
        let Some(value) = value else {
            self.issue(
                end,
                None,
                "the scorecard has no rules: add [[rule]] sections, each with id, expect, \
                 points and a [rule.when] condition",
            );
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.issue(
                value.span().start,
                None,
                "rules must be written as [[rule]] sections (double brackets), one per rule",
            );
            return Vec::new();
        };
        let mut rules = Vec::new();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let DeValue::Table(table) = item.get_ref() else {
                self.issue(
                    item.span().start,
                    None,
                    "each rule must be a table: write it as a [[rule]] section",
                );
                continue;
            };
            let offset = item.span().start;
            let line = self.line(offset);
            let id = self.rule_id(table, offset);
            if let Some(id) = &id {
                if let Some((_, first_line)) = seen.iter().find(|(seen_id, _)| seen_id == id) {
                    let message = format!(
                        "duplicate rule id '{id}' (first used at line {first_line}): give each \
                         rule its own id"
                    );
                    self.issue(offset, Some(id), message);
                } else {
                    seen.push((id.clone(), line));
                }
            }
            let label = id.clone().unwrap_or_else(|| format!("#{}", index + 1));
            if let Some(rule) = self.rule(table, offset, &label) {
                if let Some(id) = id {
                    rules.push(Rule { id, line, ..rule });
                }
            }
        }
        rules
    }

    fn rule_id(&mut self, table: &DeTable<'_>, offset: usize) -> Option<String> {
        match self.string(table, "id", None, "[[rule]]") {
            Some((id, id_offset)) => {
                let valid = !id.is_empty()
                    && id.bytes().all(|byte| {
                        byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_'
                    });
                if valid {
                    Some(id)
                } else {
                    let fixed: String = id
                        .to_ascii_lowercase()
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    let hint = if fixed.trim_matches('_').is_empty() {
                        "e.g. \"greeting\"".to_string()
                    } else {
                        format!("e.g. \"{fixed}\"")
                    };
                    self.issue(
                        id_offset,
                        None,
                        format!(
                            "rule id '{id}' may only use a-z, 0-9 and _ ({hint}); put other \
                             text in name"
                        ),
                    );
                    None
                }
            }
            None => {
                if !table.contains_key("id") {
                    self.issue(
                        offset,
                        None,
                        "a [[rule]] has no id: add id = \"greeting\" (unique, a-z 0-9 _)",
                    );
                }
                None
            }
        }
    }

    /// A rule's fields except id and line (filled by the caller).
    fn rule(&mut self, table: &DeTable<'_>, offset: usize, label: &str) -> Option<Rule> {
        let rule = Some(label);
        self.unknown_keys(table, RULE_KEYS, "[[rule]]", rule);
        let name = self
            .string(table, "name", rule, "[[rule]]")
            .map(|(name, _)| name)
            .unwrap_or_else(|| label.to_string());
        let _ = self.string(table, "description", rule, "[[rule]]");
        let expect = self.expect(table, offset, label);
        let points = self.points(table, label);
        let fatal = self.fatal(table, label);
        if let (Some(None), Some(false)) = (points, fatal) {
            self.issue(
                offset,
                rule,
                "missing points/fatal: add points = N (deducted when violated) or fatal = true \
                 (a violation scores the call 0), or both",
            );
        }
        let when = self.when(table, offset, label);
        Some(Rule {
            id: String::new(),
            name,
            expect: expect?,
            points: points?.unwrap_or(0.0),
            fatal: fatal?,
            line: 0,
            when: when?,
        })
    }

    /// `expect`: present or absent, required.
    fn expect(&mut self, table: &DeTable<'_>, offset: usize, label: &str) -> Option<Expect> {
        let rule = Some(label);
        match self.string(table, "expect", rule, "[[rule]]") {
            Some((text, _)) if text == "present" => Some(Expect::Present),
            Some((text, _)) if text == "absent" => Some(Expect::Absent),
            Some((text, offset)) => {
                self.issue(
                    offset,
                    rule,
                    format!(
                        "expect = \"{text}\" is not valid: write \"present\" (violated when the \
                         condition does not hold) or \"absent\" (violated when it holds)"
                    ),
                );
                None
            }
            None => {
                if !table.contains_key("expect") {
                    self.issue(
                        offset,
                        rule,
                        "missing expect: add expect = \"present\" (the condition must hold) or \
                         expect = \"absent\" (it must not)",
                    );
                }
                None
            }
        }
    }

    /// `points`: `Some(Some(n))`, `Some(None)` when absent, `None` when
    /// invalid (reported).
    fn points(&mut self, table: &DeTable<'_>, label: &str) -> Option<Option<f64>> {
        let rule = Some(label);
        match self.number(table, "points", rule, "[[rule]]") {
            Some((value, offset)) if !(value >= 0.0 && value.is_finite()) => {
                self.issue(
                    offset,
                    rule,
                    format!(
                        "points = {} must be 0 or more: the points deducted when the rule is \
                         violated",
                        format_number(value)
                    ),
                );
                None
            }
            Some((value, _)) => Some(Some(value)),
            None if table.contains_key("points") => None,
            None => Some(None),
        }
    }

    /// `fatal`: false when absent, `None` when not a boolean (reported).
    fn fatal(&mut self, table: &DeTable<'_>, label: &str) -> Option<bool> {
        let Some(value) = table.get("fatal") else {
            return Some(false);
        };
        match value.get_ref() {
            DeValue::Boolean(fatal) => Some(*fatal),
            other => {
                self.issue(
                    value.span().start,
                    Some(label),
                    format!("fatal is {}, expected true or false", type_name(other)),
                );
                None
            }
        }
    }

    /// `[rule.when]`, required.
    fn when(&mut self, table: &DeTable<'_>, offset: usize, label: &str) -> Option<Condition> {
        let Some(value) = table.get("when") else {
            self.issue(
                offset,
                Some(label),
                "missing condition: add a [rule.when] section with op = \"keyword\" (or \
                 another operator) and its keys",
            );
            return None;
        };
        self.condition(
            value,
            Place {
                rule: label,
                path: "[rule.when]",
                in_sequence: false,
            },
            Inherited::default(),
        )
    }

    fn condition(
        &mut self,
        value: &Value<'_>,
        place: Place<'_>,
        inherited: Inherited,
    ) -> Option<Condition> {
        if self.depth >= MAX_CONDITION_DEPTH {
            self.issue(
                value.span().start,
                Some(place.rule),
                format!(
                    "conditions nest more than {MAX_CONDITION_DEPTH} deep (all, any, not and \
                     sequence inside one another): flatten the rule (an all inside an all, or an \
                     any inside an any, can be one list) or split it into several rules"
                ),
            );
            return None;
        }
        self.depth += 1;
        let condition = self.condition_at_depth(value, place, inherited);
        self.depth -= 1;
        condition
    }

    fn condition_at_depth(
        &mut self,
        value: &Value<'_>,
        place: Place<'_>,
        inherited: Inherited,
    ) -> Option<Condition> {
        let offset = value.span().start;
        let table = self.condition_table(value, place)?;
        let line = self.line(offset);
        let op = self.operator_name(table, place, offset)?;
        let mut allowed: Vec<&str> = COMMON_KEYS.to_vec();
        allowed.extend_from_slice(operator_keys(&op));
        let where_ = format!("{} (op = \"{op}\")", place.path);
        self.unknown_keys(table, &allowed, &where_, Some(place.rule));

        // Role and scope: the sequence's `first` is its first condition.
        let role = self.role(table, "role", place, &op);
        let scope = self.scope(table, op != "sequence", place);
        let explicit_role = role.flatten();
        let explicit_scope = scope.flatten();
        let passed_on = Inherited {
            role: explicit_role.or(inherited.role),
            scope: explicit_scope.or(inherited.scope),
        };
        let role_value = passed_on.role.unwrap_or(RoleFilter::Any);
        let scope_value = passed_on.scope.unwrap_or(Scope::All);

        let op_value = match op.as_str() {
            "keyword" | "lexicon" | "regex" | "similar" => {
                self.text_operator(&op, table, place, offset)
            }
            "silence" | "overtalk" | "speech_rate" | "repeat" => {
                self.turn_operator(&op, table, place, offset)
            }
            "pii" => self.pii(table, place),
            "talk_ratio" | "duration" => {
                self.whole_call_operator(&op, table, place, offset, role_value)
            }
            "sequence" | "all" | "any" | "not" => {
                self.logic_operator(&op, table, place, offset, passed_on)
            }
            _ => None,
        };
        let op_value = op_value?;
        self.refuse_whole_call_step(&op_value, place, offset)?;
        role?;
        Some(Condition {
            line,
            role: role_value,
            scope: scope_value,
            op: op_value,
        })
    }

    /// The table of a condition, or `None` (reported) when it is not one.
    fn condition_table<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        place: Place<'_>,
    ) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                self.issue(
                    value.span().start,
                    Some(place.rule),
                    format!(
                        "{} is {}, expected a condition table such as {{ op = \"keyword\", \
                         words = [\"...\"] }}",
                        place.path,
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// A condition's `op`, one of [`OPERATORS`]; `None` (reported) when
    /// missing or unknown.
    fn operator_name(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<String> {
        let rule = Some(place.rule);
        let Some((op, op_offset)) = self.string(table, "op", rule, place.path) else {
            if !table.contains_key("op") {
                self.issue(
                    offset,
                    rule,
                    format!(
                        "{} has no op: add op = \"keyword\" (or one of {})",
                        place.path,
                        OPERATORS.join(", ")
                    ),
                );
            }
            return None;
        };
        if OPERATORS.contains(&op.as_str()) {
            return Some(op);
        }
        let hint = match suggestion(&op, OPERATORS) {
            Some(candidate) => format!("did you mean \"{candidate}\"? "),
            None => String::new(),
        };
        self.issue(
            op_offset,
            rule,
            format!(
                "unknown operator op = \"{op}\" in {}: {hint}the operators are {}",
                place.path,
                OPERATORS.join(", ")
            ),
        );
        None
    }

    /// The operators that match a sentence's text: keyword, lexicon, regex,
    /// similar.
    fn text_operator(
        &mut self,
        op: &str,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        match op {
            "keyword" => self.keyword(table, place, offset),
            "lexicon" => self.lexicon(table, place, offset),
            "regex" => self.regex(table, place, offset),
            "similar" => self.similar(table, place, offset),
            _ => None,
        }
    }

    /// The operators about turns and their timing: silence, overtalk,
    /// speech_rate, repeat.
    fn turn_operator(
        &mut self,
        op: &str,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        match op {
            "silence" => self.silence(table, place, offset),
            "overtalk" => self.overtalk(table, place, offset),
            "speech_rate" => self.speech_rate(table, place, offset),
            "repeat" => self.repeat(table, place, offset),
            _ => None,
        }
    }

    /// The operators that describe the whole call (talk_ratio, duration),
    /// with the role and scope keys they refuse.
    fn whole_call_operator(
        &mut self,
        op: &str,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
        role: RoleFilter,
    ) -> Option<Operator> {
        let rule = Some(place.rule);
        match op {
            "talk_ratio" => {
                let role_ok = role != RoleFilter::Any;
                if !role_ok {
                    self.issue(
                        table.get("role").map_or(offset, |value| value.span().start),
                        rule,
                        "talk_ratio needs role = \"agent\" or role = \"customer\": the share \
                         of speech time of that role",
                    );
                }
                if let Some(scope_key) = ["first", "last"]
                    .into_iter()
                    .find(|key| table.contains_key(*key))
                {
                    let scope_offset = table
                        .get(scope_key)
                        .map_or(offset, |value| value.span().start);
                    self.issue(
                        scope_offset,
                        rule,
                        format!(
                            "talk_ratio describes the whole call: remove {scope_key} (first/last \
                             apply to sentence operators)"
                        ),
                    );
                }
                self.talk_ratio(table, place, offset).filter(|_| role_ok)
            }
            "duration" => {
                for key in ["role", "first", "last"] {
                    if let Some(value) = table.get(key) {
                        self.issue(
                            value.span().start,
                            rule,
                            format!(
                                "duration is the length of the whole call: remove {key} (use \
                                 talk_ratio or speech_rate for one role)"
                            ),
                        );
                    }
                }
                self.duration(table, place, offset)
            }
            _ => None,
        }
    }

    /// The operators that compose conditions: sequence, all, any, not.
    fn logic_operator(
        &mut self,
        op: &str,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
        passed_on: Inherited,
    ) -> Option<Operator> {
        match op {
            "sequence" => self.sequence(table, place, offset, passed_on),
            "all" => self
                .nested(table, place, offset, op, passed_on)
                .map(Operator::All),
            "any" => self
                .nested(table, place, offset, op, passed_on)
                .map(Operator::Any),
            "not" => self.not(table, place, offset, passed_on),
            _ => None,
        }
    }

    /// `not`: exactly one nested condition.
    fn not(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
        passed_on: Inherited,
    ) -> Option<Operator> {
        let mut conditions = self.nested(table, place, offset, "not", passed_on)?;
        if conditions.len() == 1 {
            return conditions
                .pop()
                .map(|condition| Operator::Not(Box::new(condition)));
        }
        self.issue(
            table.get("of").map_or(offset, |value| value.span().start),
            Some(place.rule),
            format!(
                "not takes exactly one condition in of, found {}: write of = [{{ op = ... }}], \
                 or wrap several in op = \"any\"",
                conditions.len()
            ),
        );
        None
    }

    /// Refuses (reports, returns `None`) a whole-call operator as a step of
    /// a sequence.
    fn refuse_whole_call_step(
        &mut self,
        op: &Operator,
        place: Place<'_>,
        offset: usize,
    ) -> Option<()> {
        if !(place.in_sequence && op.is_call_level()) {
            return Some(());
        }
        self.issue(
            offset,
            Some(place.rule),
            format!(
                "{} describes the whole call, not a sentence, so it cannot be a step of a \
                 sequence: move it out of the sequence (combine with op = \"all\")",
                op.name()
            ),
        );
        None
    }

    /// A role key: `Some(None)` when absent, `None` when invalid.
    fn role(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        place: Place<'_>,
        op: &str,
    ) -> Option<Option<RoleFilter>> {
        let Some((text, offset)) = self.string(table, key, Some(place.rule), place.path) else {
            return if table.contains_key(key) {
                None
            } else {
                Some(None)
            };
        };
        match text.as_str() {
            "agent" => Some(Some(RoleFilter::Agent)),
            "customer" => Some(Some(RoleFilter::Customer)),
            "any" => Some(Some(RoleFilter::Any)),
            _ => {
                self.issue(
                    offset,
                    Some(place.rule),
                    format!(
                        "{key} = \"{text}\" in {} (op = \"{op}\") is not a role: write \"agent\", \
                         \"customer\" or \"any\"",
                        place.path
                    ),
                );
                None
            }
        }
    }

    /// `first = N` / `last = N`: `Some(None)` when absent, `None` when invalid.
    fn scope(
        &mut self,
        table: &DeTable<'_>,
        first_allowed: bool,
        place: Place<'_>,
    ) -> Option<Option<Scope>> {
        let rule = Some(place.rule);
        let first = if first_allowed {
            self.count(table, "first", rule, place.path, 1)
        } else {
            Some(None)
        };
        let last = self.count(table, "last", rule, place.path, 1);
        match (first?, last?) {
            (Some((_, offset)), Some(_)) => {
                self.issue(
                    offset,
                    rule,
                    "first and last are both given: keep one (first = N: the role's first N \
                     sentences; last = N: its last N)",
                );
                None
            }
            (Some((count, _)), None) => Some(Some(Scope::First(count))),
            (None, Some((count, _))) => Some(Some(Scope::Last(count))),
            (None, None) => Some(None),
        }
    }

    fn fuzzy(&mut self, table: &DeTable<'_>, place: Place<'_>) -> Option<Fuzzy> {
        match self.string(table, "fuzzy", Some(place.rule), place.path) {
            None if table.contains_key("fuzzy") => None,
            None => Some(Fuzzy::None),
            Some((text, _)) if text == "pinyin" => Some(Fuzzy::Pinyin),
            Some((text, _)) if text == "none" => Some(Fuzzy::None),
            Some((text, offset)) => {
                self.issue(
                    offset,
                    Some(place.rule),
                    format!(
                        "fuzzy = \"{text}\" is not known: write fuzzy = \"pinyin\" (also match \
                         homophones such as 没半法 for 没办法) or leave it out"
                    ),
                );
                None
            }
        }
    }

    fn min_count(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        default: usize,
        minimum: usize,
    ) -> Option<usize> {
        self.count(table, "min_count", Some(place.rule), place.path, minimum)
            .map(|value| value.map_or(default, |(count, _)| count))
    }

    fn keyword(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let words = self.phrases(
            table,
            "words",
            place,
            offset,
            "words = [\"没办法\", \"不知道\"]",
        );
        let mode = match self.string(table, "mode", Some(place.rule), place.path) {
            None if table.contains_key("mode") => None,
            None => Some(KeywordMode::Any),
            Some((text, _)) if text == "any" => Some(KeywordMode::Any),
            Some((text, _)) if text == "all" => Some(KeywordMode::All),
            Some((text, offset)) => {
                self.issue(
                    offset,
                    Some(place.rule),
                    format!(
                        "mode = \"{text}\" is not valid: write \"any\" (some word occurs) or \
                         \"all\" (every word occurs)"
                    ),
                );
                None
            }
        };
        let min_count = self.min_count(table, place, 1, 1);
        let fuzzy = self.fuzzy(table, place);
        Some(Operator::Keyword {
            words: words?,
            mode: mode?,
            min_count: min_count?,
            fuzzy: fuzzy?,
        })
    }

    fn lexicon(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let rule = Some(place.rule);
        let lexicon = match self.string(table, "name", rule, place.path) {
            Some((name, name_offset)) => {
                match lexicon::load(&name, self.base_dir, &self.normalizer) {
                    Ok(lexicon) => Some(lexicon),
                    Err(message) => {
                        self.issue(name_offset, rule, message);
                        None
                    }
                }
            }
            None => {
                if !table.contains_key("name") {
                    self.issue(
                        offset,
                        rule,
                        format!(
                            "lexicon needs name: a shipped list ({}) or the path of a word list",
                            lexicon::shipped_names()
                        ),
                    );
                }
                None
            }
        };
        let min_count = self.min_count(table, place, 1, 1);
        let fuzzy = self.fuzzy(table, place);
        let lexicon = lexicon?;
        Some(Operator::Lexicon {
            name: lexicon.name,
            words: lexicon.words,
            min_count: min_count?,
            fuzzy: fuzzy?,
        })
    }

    fn regex(&mut self, table: &DeTable<'_>, place: Place<'_>, offset: usize) -> Option<Operator> {
        let rule = Some(place.rule);
        let pattern = match self.string(table, "pattern", rule, place.path) {
            Some((pattern, pattern_offset)) => {
                match regex::RegexBuilder::new(&pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                {
                    Ok(compiled) if compiled.is_match("") => {
                        self.issue(
                            pattern_offset,
                            rule,
                            format!(
                                "pattern \"{pattern}\" matches the empty string, so it would \
                                 match every sentence: require at least one character (+ \
                                 instead of *)"
                            ),
                        );
                        None
                    }
                    Ok(compiled) => Some(compiled),
                    Err(error) => {
                        let detail = match &error {
                            regex::Error::Syntax(text) => text
                                .lines()
                                .filter(|line| line.starts_with("error:"))
                                .map(|line| line.trim_start_matches("error:").trim().to_string())
                                .next()
                                .unwrap_or_else(|| text.lines().last().unwrap_or("").to_string()),
                            regex::Error::CompiledTooBig(limit) => {
                                format!("it compiles to more than {limit} bytes")
                            }
                            other => other.to_string(),
                        };
                        self.issue(
                            pattern_offset,
                            rule,
                            format!(
                                "bad regex \"{pattern}\": {detail}; fix the pattern (Rust regex \
                                 syntax; in TOML use single quotes '...' to avoid escaping \
                                 backslashes)"
                            ),
                        );
                        None
                    }
                }
            }
            None => {
                if !table.contains_key("pattern") {
                    self.issue(
                        offset,
                        rule,
                        "regex needs pattern: add pattern = '工号\\d+' (matched against the \
                         normalized sentence: simplified, no punctuation or spaces)",
                    );
                }
                None
            }
        };
        let min_count = self.min_count(table, place, 1, 1);
        Some(Operator::Regex {
            pattern: pattern?,
            min_count: min_count?,
        })
    }

    fn similar(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let phrases = self.phrases(
            table,
            "phrases",
            place,
            offset,
            "phrases = [\"您好，很高兴为您服务\"]",
        );
        let threshold = self.fraction(table, "threshold", place, DEFAULT_THRESHOLD, false);
        Some(Operator::Similar {
            phrases: phrases?,
            threshold: threshold?,
        })
    }

    fn sequence(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
        inherited: Inherited,
    ) -> Option<Operator> {
        let rule = Some(place.rule);
        let step = |parser: &mut Parser<'t>, key: &str| -> Option<Condition> {
            let path = format!("{}.{key}", place.path.trim_end_matches(']'));
            let path = format!("{path}]");
            match table.get(key) {
                Some(value) => parser.condition(
                    value,
                    Place {
                        rule: place.rule,
                        path: &path,
                        in_sequence: true,
                    },
                    inherited,
                ),
                None => {
                    parser.issue(
                        offset,
                        rule,
                        format!(
                            "sequence needs {key}: add {key} = {{ op = \"keyword\", ... }} (the \
                             {} condition)",
                            if key == "first" { "first" } else { "following" }
                        ),
                    );
                    None
                }
            }
        };
        let first = step(self, "first");
        let then = step(self, "then");
        let within = self
            .count(table, "within", rule, place.path, 1)
            .map(|value| value.map_or(DEFAULT_WITHIN, |(count, _)| count));
        Some(Operator::Sequence {
            first: Box::new(first?),
            then: Box::new(then?),
            within: within?,
        })
    }

    fn silence(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let min_seconds = self.seconds(table, "min_seconds", place, offset, true);
        let after = self.role(table, "after", place, "silence");
        let min_count = self.min_count(table, place, 1, 1);
        Some(Operator::Silence {
            min_seconds: min_seconds??,
            after: after?.unwrap_or(RoleFilter::Any),
            min_count: min_count?,
        })
    }

    fn overtalk(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let min_seconds = self.seconds(table, "min_seconds", place, offset, true);
        let min_count = self.min_count(table, place, 1, 1);
        Some(Operator::Overtalk {
            min_seconds: min_seconds??,
            min_count: min_count?,
        })
    }

    fn speech_rate(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let bounds = self.bounds(
            table,
            place,
            offset,
            ("max_cpm", "min_cpm"),
            None,
            "characters per minute, e.g. max_cpm = 300",
        );
        let (max_cpm, min_cpm) = bounds?;
        Some(Operator::SpeechRate { max_cpm, min_cpm })
    }

    fn talk_ratio(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let bounds = self.bounds(
            table,
            place,
            offset,
            ("max", "min"),
            Some(1.0),
            "a share of speech time in 0..1, e.g. max = 0.7",
        );
        let (max, min) = bounds?;
        Some(Operator::TalkRatio { max, min })
    }

    fn duration(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
    ) -> Option<Operator> {
        let bounds = self.bounds(
            table,
            place,
            offset,
            ("max_seconds", "min_seconds"),
            None,
            "seconds, e.g. max_seconds = 600",
        );
        let (max_seconds, min_seconds) = bounds?;
        Some(Operator::Duration {
            max_seconds,
            min_seconds,
        })
    }

    fn repeat(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        _offset: usize,
    ) -> Option<Operator> {
        let threshold = self.fraction(table, "threshold", place, DEFAULT_THRESHOLD, false);
        let min_count = self.min_count(table, place, 2, 2);
        let min_chars = self
            .count(table, "min_chars", Some(place.rule), place.path, 1)
            .map(|value| value.map_or(DEFAULT_REPEAT_MIN_CHARS, |(count, _)| count));
        Some(Operator::Repeat {
            threshold: threshold?,
            min_count: min_count?,
            min_chars: min_chars?,
        })
    }

    /// `pii`: `kinds` (default: every kind) and `min_count`.
    fn pii(&mut self, table: &DeTable<'_>, place: Place<'_>) -> Option<Operator> {
        let rule = Some(place.rule);
        let kinds = match self.strings(table, "kinds", rule, place.path, true) {
            None if table.contains_key("kinds") => None,
            None => Some(PiiKind::ALL.to_vec()),
            Some((names, offset)) => self.pii_kinds(&names, offset, place),
        };
        let min_count = self.min_count(table, place, 1, 1);
        Some(Operator::Pii {
            kinds: kinds?,
            min_count: min_count?,
        })
    }

    /// The kinds of `kinds = [...]`, each known, at least one.
    fn pii_kinds(
        &mut self,
        names: &[String],
        offset: usize,
        place: Place<'_>,
    ) -> Option<Vec<PiiKind>> {
        let rule = Some(place.rule);
        let known: Vec<&str> = PiiKind::ALL.iter().map(|kind| kind.as_str()).collect();
        if names.is_empty() {
            self.issue(
                offset,
                rule,
                format!(
                    "kinds is empty: list some of {}, or leave kinds out to count every kind",
                    known.join(", ")
                ),
            );
            return None;
        }
        let mut kinds = Vec::new();
        let mut failed = false;
        for name in names {
            match PiiKind::parse(name) {
                Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                Some(_) => {}
                None => {
                    let hint = match suggestion(name, &known) {
                        Some(candidate) => format!("did you mean \"{candidate}\"? "),
                        None => String::new(),
                    };
                    self.issue(
                        offset,
                        rule,
                        format!(
                            "kinds holds \"{name}\", which is not a kind of personal data: \
                             {hint}the kinds are {}",
                            known.join(", ")
                        ),
                    );
                    failed = true;
                }
            }
        }
        if failed {
            None
        } else {
            Some(kinds)
        }
    }

    fn nested(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
        op: &str,
        inherited: Inherited,
    ) -> Option<Vec<Condition>> {
        let rule = Some(place.rule);
        let Some(value) = table.get("of") else {
            self.issue(
                offset,
                rule,
                format!(
                    "{op} needs of = [conditions]: e.g. of = [{{ op = \"keyword\", words = \
                     [\"...\"] }}]"
                ),
            );
            return None;
        };
        let items: Vec<&Value<'_>> = match value.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            DeValue::Table(_) if op == "not" => vec![value],
            other => {
                self.issue(
                    value.span().start,
                    rule,
                    format!(
                        "of is {}, expected a list of condition tables: of = [{{ op = ... }}, \
                         ...]",
                        type_name(other)
                    ),
                );
                return None;
            }
        };
        if items.is_empty() {
            self.issue(
                value.span().start,
                rule,
                format!("{op} has an empty of = []: list at least one condition"),
            );
            return None;
        }
        let mut conditions = Vec::new();
        let mut failed = false;
        for (index, item) in items.into_iter().enumerate() {
            let path = format!(
                "{}.of[{index}]",
                place.path.trim_start_matches('[').trim_end_matches(']')
            );
            let path = format!("[{path}]");
            match self.condition(
                item,
                Place {
                    rule: place.rule,
                    path: &path,
                    in_sequence: place.in_sequence,
                },
                inherited,
            ) {
                Some(condition) => conditions.push(condition),
                None => failed = true,
            }
        }
        if failed {
            None
        } else {
            Some(conditions)
        }
    }

    // ----- typed getters: each reports a wrong type and returns None -----

    fn unknown_keys(
        &mut self,
        table: &DeTable<'_>,
        allowed: &[&str],
        where_: &str,
        rule: Option<&str>,
    ) {
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if allowed.contains(&name) {
                continue;
            }
            let hint = match suggestion(name, allowed) {
                Some(candidate) => format!("did you mean '{candidate}'? "),
                None => String::new(),
            };
            let mut keys: Vec<&str> = allowed.to_vec();
            keys.sort_unstable();
            self.issue(
                key.span().start,
                rule,
                format!(
                    "unknown key '{name}' in {where_}: {hint}the keys are {}",
                    keys.join(", ")
                ),
            );
        }
    }

    fn string(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        rule: Option<&str>,
        where_: &str,
    ) -> Option<(String, usize)> {
        let value = table.get(key)?;
        match value.get_ref() {
            DeValue::String(text) => Some((text.to_string(), value.span().start)),
            other => {
                self.issue(
                    value.span().start,
                    rule,
                    format!(
                        "{key} in {where_} is {}, expected a string in double quotes",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn strings(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        rule: Option<&str>,
        where_: &str,
        allow_empty: bool,
    ) -> Option<(Vec<String>, usize)> {
        let value = table.get(key)?;
        let offset = value.span().start;
        let DeValue::Array(items) = value.get_ref() else {
            self.issue(
                offset,
                rule,
                format!(
                    "{key} in {where_} is {}, expected a list of strings: {key} = [\"...\", \
                     \"...\"]",
                    type_name(value.get_ref())
                ),
            );
            return None;
        };
        let mut strings = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(text) => strings.push(text.to_string()),
                other => {
                    self.issue(
                        item.span().start,
                        rule,
                        format!(
                            "{key} in {where_} holds {}, expected only strings in double quotes",
                            type_name(other)
                        ),
                    );
                    return None;
                }
            }
        }
        if strings.is_empty() && !allow_empty {
            self.issue(offset, rule, format!("{key} is empty: list at least one"));
            return None;
        }
        Some((strings, offset))
    }

    /// Words or phrases: non-empty, each non-empty after normalization;
    /// returned normalized, without duplicates.
    fn phrases(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        place: Place<'_>,
        offset: usize,
        example: &str,
    ) -> Option<Vec<String>> {
        let rule = Some(place.rule);
        let Some((items, list_offset)) = self.strings(table, key, rule, place.path, true) else {
            if !table.contains_key(key) {
                self.issue(offset, rule, format!("missing {key}: add {example}"));
            }
            return None;
        };
        if items.is_empty() {
            self.issue(
                list_offset,
                rule,
                format!("empty phrases: {key} = [] has nothing to match; add {example}"),
            );
            return None;
        }
        let mut normalized = Vec::new();
        let mut failed = false;
        for item in &items {
            let form = self.normalizer.normalize_str(item);
            if form.is_empty() {
                self.issue(
                    list_offset,
                    rule,
                    format!(
                        "empty phrases: \"{item}\" in {key} has no letters or characters \
                         (punctuation and spaces are ignored in matching); remove it"
                    ),
                );
                failed = true;
            } else if !normalized.contains(&form) {
                normalized.push(form);
            }
        }
        if failed {
            None
        } else {
            Some(normalized)
        }
    }

    fn number(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        rule: Option<&str>,
        where_: &str,
    ) -> Option<(f64, usize)> {
        let value = table.get(key)?;
        match number_of(value.get_ref()) {
            Some(number) if number.is_finite() => Some((number, value.span().start)),
            _ => {
                self.issue(
                    value.span().start,
                    rule,
                    format!(
                        "{key} in {where_} is {}, expected a number",
                        match value.get_ref() {
                            DeValue::Float(_) => "not a finite number",
                            other => type_name(other),
                        }
                    ),
                );
                None
            }
        }
    }

    /// A whole number at least `minimum`: `Some(None)` when absent.
    fn count(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        rule: Option<&str>,
        where_: &str,
        minimum: usize,
    ) -> Option<Option<(usize, usize)>> {
        let Some(value) = table.get(key) else {
            return Some(None);
        };
        let offset = value.span().start;
        let number = match value.get_ref() {
            DeValue::Integer(_) => number_of(value.get_ref()),
            _ => None,
        };
        match number {
            Some(number) if number >= minimum as f64 && number <= 1e9 => {
                Some(Some((number as usize, offset)))
            }
            Some(number) => {
                self.issue(
                    offset,
                    rule,
                    format!(
                        "{key} = {} in {where_} is out of range: it must be a whole number of \
                         at least {minimum}",
                        format_number(number)
                    ),
                );
                None
            }
            None => {
                self.issue(
                    offset,
                    rule,
                    format!(
                        "{key} in {where_} is {}, expected a whole number (at least {minimum})",
                        type_name(value.get_ref())
                    ),
                );
                None
            }
        }
    }

    /// A value in (0, 1] (or [0, 1] with `zero_ok`), with a default.
    fn fraction(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        place: Place<'_>,
        default: f64,
        zero_ok: bool,
    ) -> Option<f64> {
        let rule = Some(place.rule);
        match self.number(table, key, rule, place.path) {
            None if table.contains_key(key) => None,
            None => Some(default),
            Some((value, offset)) => {
                let in_range = if zero_ok {
                    (0.0..=1.0).contains(&value)
                } else {
                    value > 0.0 && value <= 1.0
                };
                if in_range {
                    Some(value)
                } else {
                    let range = if zero_ok {
                        "between 0 and 1"
                    } else {
                        "above 0 and at most 1"
                    };
                    self.issue(
                        offset,
                        rule,
                        format!(
                            "threshold out of range: {key} = {} must be {range} (a similarity; \
                             0.8 is a good start)",
                            format_number(value)
                        ),
                    );
                    None
                }
            }
        }
    }

    /// Seconds: `Some(Some(x))`, `Some(None)` absent and not required,
    /// `None` invalid (reported).
    fn seconds(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        place: Place<'_>,
        offset: usize,
        required: bool,
    ) -> Option<Option<f64>> {
        let rule = Some(place.rule);
        match self.number(table, key, rule, place.path) {
            None if table.contains_key(key) => None,
            None if required => {
                self.issue(
                    offset,
                    rule,
                    format!("missing {key}: add {key} = 5 (seconds)"),
                );
                None
            }
            None => Some(None),
            Some((value, value_offset)) => {
                if value > 0.0 {
                    Some(Some(value))
                } else {
                    self.issue(
                        value_offset,
                        rule,
                        format!(
                            "threshold out of range: {key} = {} must be above 0 seconds",
                            format_number(value)
                        ),
                    );
                    None
                }
            }
        }
    }

    /// A pair of optional upper/lower bounds, at least one given, each
    /// non-negative (and at most `ceiling`), lower below upper.
    #[allow(clippy::too_many_arguments)]
    fn bounds(
        &mut self,
        table: &DeTable<'_>,
        place: Place<'_>,
        offset: usize,
        (max_key, min_key): (&str, &str),
        ceiling: Option<f64>,
        unit: &str,
    ) -> Option<(Option<f64>, Option<f64>)> {
        let rule = Some(place.rule);
        let read = |parser: &mut Parser<'t>, key: &str| -> Option<Option<(f64, usize)>> {
            match parser.number(table, key, rule, place.path) {
                None if table.contains_key(key) => None,
                None => Some(None),
                Some((value, value_offset)) => {
                    let too_high = ceiling.is_some_and(|ceiling| value > ceiling);
                    if value < 0.0 || too_high {
                        let range = match ceiling {
                            Some(ceiling) => format!("between 0 and {}", format_number(ceiling)),
                            None => "0 or more".to_string(),
                        };
                        parser.issue(
                            value_offset,
                            rule,
                            format!(
                                "threshold out of range: {key} = {} must be {range} ({unit})",
                                format_number(value)
                            ),
                        );
                        None
                    } else {
                        Some(Some((value, value_offset)))
                    }
                }
            }
        };
        let max = read(self, max_key);
        let min = read(self, min_key);
        let (max, min) = (max?, min?);
        match (max, min) {
            (None, None) => {
                self.issue(
                    offset,
                    rule,
                    format!("missing bounds: give {max_key} and/or {min_key} ({unit})"),
                );
                None
            }
            (Some((max, _)), Some((min, min_offset))) if min >= max => {
                self.issue(
                    min_offset,
                    rule,
                    format!(
                        "{min_key} = {} is not below {max_key} = {}: the condition holds outside \
                         {min_key}..{max_key}, so {min_key} must be the smaller",
                        format_number(min),
                        format_number(max)
                    ),
                );
                None
            }
            (max, min) => Some((max.map(|(value, _)| value), min.map(|(value, _)| value))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[scorecard]
name = "t"
pass_score = 80

[[rule]]
id = "greeting"
expect = "present"
points = 5
[rule.when]
op = "similar"
role = "agent"
first = 2
phrases = ["您好，很高兴为您服务"]
"#;

    #[test]
    fn a_minimal_scorecard_parses_with_defaults() {
        let scorecard = Scorecard::parse(MINIMAL, "t.toml").unwrap();
        assert_eq!(scorecard.base_score, 100.0);
        assert_eq!(scorecard.rules.len(), 1);
        let rule = &scorecard.rules[0];
        assert_eq!(rule.name, "greeting");
        assert_eq!(rule.line, 6);
        assert_eq!(rule.when.role, RoleFilter::Agent);
        assert_eq!(rule.when.scope, Scope::First(2));
        match &rule.when.op {
            Operator::Similar { phrases, threshold } => {
                assert_eq!(phrases, &vec!["您好很高兴为您服务".to_string()]);
                assert_eq!(*threshold, DEFAULT_THRESHOLD);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn logic_operators_hand_role_and_scope_to_nested_conditions() {
        let text = MINIMAL.replace(
            "[rule.when]\nop = \"similar\"\nrole = \"agent\"\nfirst = 2\nphrases = [\"您好，很高兴为您服务\"]",
            "[rule.when]\nop = \"any\"\nrole = \"agent\"\nlast = 3\nof = [{ op = \"keyword\", words = [\"再见\"] }, { op = \"keyword\", role = \"customer\", words = [\"谢谢\"] }]",
        );
        let scorecard = Scorecard::parse(&text, "t.toml").unwrap();
        let Operator::Any(nested) = &scorecard.rules[0].when.op else {
            panic!("not any");
        };
        assert_eq!(nested[0].role, RoleFilter::Agent);
        assert_eq!(nested[0].scope, Scope::Last(3));
        assert_eq!(nested[1].role, RoleFilter::Customer);
        assert_eq!(nested[1].scope, Scope::Last(3));
    }

    #[test]
    fn every_problem_of_a_file_is_reported_at_once() {
        let text = r#"
[scorecard]
name = "t"
pass_score = 80

[[rule]]
id = "a"
expect = "absent"
[rule.when]
op = "keyword"
words = []

[[rule]]
id = "a"
expect = "present"
points = 5
[rule.when]
op = "simlar"
"#;
        let issues = Scorecard::check(text, "t.toml").unwrap_err();
        let lines: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(issues.len(), 4, "{lines:#?}");
        assert!(
            lines[0].starts_with("line 6, rule 'a': missing points/fatal"),
            "{lines:#?}"
        );
        assert!(
            lines[1].starts_with("line 11, rule 'a': empty phrases"),
            "{lines:#?}"
        );
        assert!(
            lines[2].starts_with("line 13, rule 'a': duplicate rule id 'a' (first used at line 6)"),
            "{lines:#?}"
        );
        assert!(lines[3].contains("did you mean \"similar\""), "{lines:#?}");
    }

    /// A rule whose condition nests `levels` deep: `not` inside `not`
    /// around a keyword.
    fn nested_rule(levels: usize) -> String {
        let mut condition = r#"{ op = "keyword", words = ["投诉"] }"#.to_string();
        for _ in 1..levels {
            condition = format!(r#"{{ op = "not", of = [{condition}] }}"#);
        }
        format!(
            "[scorecard]\nname = \"deep\"\npass_score = 0\n\n[[rule]]\nid = \"deep\"\n\
             expect = \"absent\"\npoints = 1\nwhen = {condition}\n"
        )
    }

    #[test]
    fn conditions_nest_at_most_max_condition_depth() {
        assert!(Scorecard::parse(&nested_rule(MAX_CONDITION_DEPTH), "deep.toml").is_ok());
        let error = Scorecard::parse(&nested_rule(MAX_CONDITION_DEPTH + 1), "deep.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("deep.toml") && error.contains("rule 'deep'"),
            "{error}"
        );
        assert!(error.contains("nest more than 32 deep"), "{error}");
    }

    #[test]
    fn a_very_deep_condition_is_refused_without_overflowing_the_stack() {
        let result = Scorecard::parse(&nested_rule(2_000), "deep.toml");
        assert!(result.is_err());
    }
}
