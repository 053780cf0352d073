//! The query language of `callscope search`, parsed into an expression tree
//! with the column of every part, so errors can point at the mistake.
//!
//! ```text
//! 退款 到账              both words, anywhere in the call (AND is implied)
//! 退款 OR 退货           either
//! 退款 -到账             退款 but not 到账 (also: NOT 到账)
//! 对的  按钮的位置        a token: its words anywhere (按钮 and 位置; 对的 stays whole)
//! "按钮位置"             an exact phrase (“中文引号” and 「」 work too)
//! "按钮位置"~的          the phrase's words in a row, a particle between them optional
//! "投诉 退款"~5          the words within 5 characters of each other, any order
//! (退款 OR 退货) 投诉     grouping
//! customer:投诉          words said by the customer (agent: for the agent)
//! team:T2 queue:售后 agent_id:A07 violated:closing meta:level=gold
//! date:2026-09-01  date:2026-09-01..2026-09-07  date:..2026-09-07
//! ```

use chrono::NaiveDate;

use callscope_core::model::Role;

/// The largest proximity distance; see [`super::analyzer::MAX_NEAR_DISTANCE`].
use super::analyzer::MAX_NEAR_DISTANCE;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All of these.
    And(Vec<Expr>),
    /// Any of these.
    Or(Vec<Expr>),
    /// Not this.
    Not(Box<Expr>),
    /// Text to find.
    Text {
        /// Whose words (`None`: the search's `--role`, or anyone's).
        scope: Option<Role>,
        /// What to find.
        text: TextExpr,
        /// 1-based column (in characters) where it starts in the query.
        column: usize,
    },
    /// A condition on the call's fields.
    Filter(FilterExpr),
}

/// Text to find.
#[derive(Debug, Clone, PartialEq)]
pub enum TextExpr {
    /// An unquoted token: its words (as jieba splits it) are all required.
    Words(String),
    /// A quoted phrase: exactly its characters in a row.
    Phrase(String),
    /// A quoted phrase with `~的`: its words in a row, where a particle may
    /// stand between two of them.
    PhraseWithParticles(String),
    /// A quoted phrase with `~N`: its words within N characters.
    Near(String, u32),
}

/// A condition on the call's fields.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterExpr {
    /// `agent_id:A07`.
    AgentId(String),
    /// `team:T2`.
    Team(String),
    /// `queue:售后`.
    Queue(String),
    /// `violated:closing`.
    Violated(String),
    /// `meta:key=value`.
    Meta(String, String),
    /// `date:FROM..TO` (either may be open; one date means that day).
    Date(Option<NaiveDate>, Option<NaiveDate>),
}

/// A query that cannot be parsed: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based column (in characters) of the mistake.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl QueryError {
    /// The error as a message showing the query with a caret under the
    /// mistake.
    pub fn render(&self, query: &str) -> String {
        if query.trim().is_empty() {
            return format!("bad query: {}", self.message);
        }
        let line = query.replace(['\n', '\r', '\t'], " ");
        let caret_at: usize = line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(display_width)
            .sum();
        format!(
            "bad query at column {}: {}\n  {line}\n  {}^",
            self.column,
            self.message,
            " ".repeat(caret_at)
        )
    }
}

fn display_width(character: char) -> usize {
    // CJK and full-width characters take two terminal columns.
    if matches!(character as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
    {
        2
    } else {
        1
    }
}

/// After `~`, asks for a phrase whose particles are optional: `"按钮位置"~的`.
const PARTICLES_SUFFIX: char = '的';

const FIELDS: &str = "agent:, customer:, agent_id:, team:, queue:, violated:, meta:, date:";

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

/// The deepest nesting of groups `( )` and exclusions `-`/`NOT` accepted.
pub const MAX_QUERY_DEPTH: usize = 32;

/// Parses a query.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    let length = query.chars().count();
    if length > MAX_QUERY_CHARS {
        return Err(QueryError {
            column: MAX_QUERY_CHARS + 1,
            message: format!(
                "the query is {length} characters long, over the limit of {MAX_QUERY_CHARS}; \
                 search for fewer words at once"
            ),
        });
    }
    let tokens = lex(query)?;
    if tokens.is_empty() {
        return Err(QueryError {
            column: 1,
            message: "empty query: give at least one word, e.g. `callscope search 退款`"
                .to_string(),
        });
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
    };
    let expr = parser.or_expr()?;
    if let Some(token) = parser.peek() {
        let column = token.column;
        return Err(match token.kind {
            Kind::Close => QueryError {
                column,
                message: "this ) has no matching (; remove it or add the (".to_string(),
            },
            _ => QueryError {
                column,
                message: "unexpected text".to_string(),
            },
        });
    }
    Ok(expr)
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Open,
    Close,
    Or,
    And,
    Not,
    Minus,
    Field(String),
    Word(String),
    Phrase(String, Suffix),
}

/// What follows a phrase's closing quote.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Suffix {
    /// Nothing: the exact phrase.
    None,
    /// `~N`: proximity.
    Distance(u32),
    /// `~的`: particles optional between the phrase's words.
    Particles,
}

#[derive(Debug, Clone)]
struct Lexeme {
    kind: Kind,
    column: usize,
}

fn closing_quote(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '＂' => Some('＂'),
        '“' => Some('”'),
        '「' => Some('」'),
        '『' => Some('』'),
        _ => None,
    }
}

fn lex(query: &str) -> Result<Vec<Lexeme>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    // Whether the previous character ended a token with no space after it
    // (a '-' only negates at the start of a term).
    while index < chars.len() {
        let character = chars[index];
        let column = index + 1;
        if character.is_whitespace() {
            index += 1;
            continue;
        }
        if character == '(' || character == '（' {
            tokens.push(Lexeme {
                kind: Kind::Open,
                column,
            });
            index += 1;
            continue;
        }
        if character == ')' || character == '）' {
            tokens.push(Lexeme {
                kind: Kind::Close,
                column,
            });
            index += 1;
            continue;
        }
        if let Some(close) = closing_quote(character) {
            let start = index + 1;
            let Some(length) = chars[start..].iter().position(|&c| c == close) else {
                return Err(QueryError {
                    column,
                    message: format!(
                        "this quote is never closed; add the closing {close} or remove it"
                    ),
                });
            };
            let text: String = chars[start..start + length].iter().collect();
            if text.trim().is_empty() {
                return Err(QueryError {
                    column,
                    message: "empty phrase; put words between the quotes".to_string(),
                });
            }
            index = start + length + 1;
            let mut suffix = Suffix::None;
            if index < chars.len() && (chars[index] == '~' || chars[index] == '～') {
                let tilde = index + 1;
                index += 1;
                let digits_start = index;
                while index < chars.len() && chars[index].is_ascii_digit() {
                    index += 1;
                }
                let digits: String = chars[digits_start..index].iter().collect();
                let distance = digits
                    .parse::<u32>()
                    .ok()
                    .filter(|&distance| distance <= MAX_NEAR_DISTANCE);
                if digits.is_empty() && chars.get(index) == Some(&PARTICLES_SUFFIX) {
                    index += 1;
                    suffix = Suffix::Particles;
                } else if let Some(distance) = distance {
                    suffix = Suffix::Distance(distance);
                } else {
                    return Err(QueryError {
                        column: tilde,
                        message: format!(
                            "~ needs a distance in characters from 0 to {MAX_NEAR_DISTANCE}, e.g. \"按钮 位置\"~3, or {PARTICLES_SUFFIX} for a phrase whose particles are optional, e.g. \"按钮位置\"~{PARTICLES_SUFFIX}"
                        ),
                    });
                }
            }
            tokens.push(Lexeme {
                kind: Kind::Phrase(text, suffix),
                column,
            });
            continue;
        }
        if character == '-' && index + 1 < chars.len() && !chars[index + 1].is_whitespace() {
            tokens.push(Lexeme {
                kind: Kind::Minus,
                column,
            });
            index += 1;
            continue;
        }
        // A field name: ASCII letters and '_' followed by ':'.
        let name_end = chars[index..]
            .iter()
            .position(|c| !(c.is_ascii_alphabetic() || *c == '_'))
            .map_or(chars.len(), |length| index + length);
        if name_end > index && name_end < chars.len() && chars[name_end] == ':' {
            let name: String = chars[index..name_end].iter().collect();
            tokens.push(Lexeme {
                kind: Kind::Field(name),
                column,
            });
            index = name_end + 1;
            if index >= chars.len() || chars[index].is_whitespace() {
                return Err(QueryError {
                    column,
                    message: "this field has no value; write it without a space, e.g. team:T2"
                        .to_string(),
                });
            }
            continue;
        }
        // A word: up to whitespace, a parenthesis or a quote.
        let end = chars[index..]
            .iter()
            .position(|&c| {
                c.is_whitespace()
                    || matches!(c, '(' | ')' | '（' | '）')
                    || closing_quote(c).is_some()
            })
            .map_or(chars.len(), |length| index + length);
        let word: String = chars[index..end].iter().collect();
        let kind = match word.as_str() {
            "OR" => Kind::Or,
            "AND" => Kind::And,
            "NOT" => Kind::Not,
            _ => Kind::Word(word),
        };
        tokens.push(Lexeme { kind, column });
        index = end;
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Lexeme>,
    next: usize,
    /// Groups and exclusions open around the current position.
    depth: usize,
}

impl Parser {
    /// Enters a group or exclusion at `column`, refusing one too deep.
    fn enter(&mut self, column: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_QUERY_DEPTH {
            return Err(QueryError {
                column,
                message: format!(
                    "groups and exclusions nest more than {MAX_QUERY_DEPTH} deep here; \
                     simplify the query"
                ),
            });
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Lexeme> {
        self.tokens.get(self.next)
    }

    fn take(&mut self) -> Option<Lexeme> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn end_column(&self) -> usize {
        self.tokens.last().map_or(1, |token| token.column + 1)
    }

    /// The error for a missing term at the end of the query.
    fn expected_here(&self) -> QueryError {
        QueryError {
            column: self.end_column(),
            message: "expected a word, a \"phrase\" or a (group) here".to_string(),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut alternatives = vec![self.and_expr()?];
        while let Some(Lexeme {
            kind: Kind::Or,
            column,
        }) = self.peek().cloned()
        {
            self.next += 1;
            if matches!(
                self.peek().map(|token| &token.kind),
                None | Some(Kind::Close | Kind::Or)
            ) {
                return Err(QueryError {
                    column,
                    message: "OR needs something to search on both sides, e.g. 退款 OR 退货"
                        .to_string(),
                });
            }
            alternatives.push(self.and_expr()?);
        }
        Ok(if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            Expr::Or(alternatives)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut parts = Vec::new();
        loop {
            match self.peek().map(|token| token.kind.clone()) {
                None | Some(Kind::Close) | Some(Kind::Or) => break,
                Some(Kind::And) => {
                    let column = self.peek().map_or(1, |token| token.column);
                    self.next += 1;
                    if parts.is_empty()
                        || matches!(
                            self.peek().map(|token| &token.kind),
                            None | Some(Kind::Close | Kind::Or | Kind::And)
                        )
                    {
                        return Err(QueryError {
                            column,
                            message: "AND needs something to search on both sides (words are ANDed anyway)".to_string(),
                        });
                    }
                }
                Some(_) => parts.push(self.unary()?),
            }
        }
        if parts.is_empty() {
            let column = self
                .peek()
                .map_or_else(|| self.end_column(), |token| token.column);
            return Err(QueryError {
                column,
                message: "expected a word, a \"phrase\" or a (group) here".to_string(),
            });
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        let Some(token) = self.take() else {
            return Err(self.expected_here());
        };
        match token.kind {
            Kind::Minus | Kind::Not => {
                if matches!(
                    self.peek().map(|next| &next.kind),
                    None | Some(Kind::Close | Kind::Or | Kind::And)
                ) {
                    return Err(QueryError {
                        column: token.column,
                        message: "say what to exclude right after it, e.g. -退款".to_string(),
                    });
                }
                self.enter(token.column)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            _ => {
                self.next -= 1;
                self.primary()
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let Some(token) = self.take() else {
            return Err(self.expected_here());
        };
        let column = token.column;
        match token.kind {
            Kind::Open => {
                if matches!(self.peek().map(|next| &next.kind), Some(Kind::Close)) {
                    return Err(QueryError {
                        column,
                        message: "empty parentheses; put words inside or remove them".to_string(),
                    });
                }
                self.enter(column)?;
                let inner = self.or_expr()?;
                self.depth -= 1;
                match self.take() {
                    Some(Lexeme {
                        kind: Kind::Close, ..
                    }) => Ok(inner),
                    _ => Err(QueryError {
                        column,
                        message: "this ( is never closed; add the )".to_string(),
                    }),
                }
            }
            Kind::Close => Err(QueryError {
                column,
                message: "this ) has no matching (; remove it or add the (".to_string(),
            }),
            Kind::Word(word) => Ok(Expr::Text {
                scope: None,
                text: TextExpr::Words(word),
                column,
            }),
            Kind::Phrase(text, Suffix::None) => Ok(Expr::Text {
                scope: None,
                text: TextExpr::Phrase(text),
                column,
            }),
            Kind::Phrase(text, Suffix::Particles) => Ok(Expr::Text {
                scope: None,
                text: TextExpr::PhraseWithParticles(text),
                column,
            }),
            Kind::Phrase(text, Suffix::Distance(distance)) => Ok(Expr::Text {
                scope: None,
                text: TextExpr::Near(text, distance),
                column,
            }),
            Kind::Field(name) => self.field(&name, column),
            Kind::Or | Kind::And | Kind::Not | Kind::Minus => Err(QueryError {
                column,
                message: "expected a word, a \"phrase\" or a (group) here".to_string(),
            }),
        }
    }

    fn field(&mut self, name: &str, column: usize) -> Result<Expr, QueryError> {
        let role = match name {
            "agent" => Some(Role::Agent),
            "customer" => Some(Role::Customer),
            "agent_id" | "team" | "queue" | "violated" | "meta" | "date" => None,
            _ => {
                return Err(QueryError {
                    column,
                    message: format!("unknown field `{name}:`; the fields are {FIELDS} (quote text that contains a colon)"),
                })
            }
        };
        if let Some(role) = role {
            let mut inner = self.primary()?;
            scope(&mut inner, role);
            return Ok(inner);
        }
        let value_column = self.peek().map_or(column, |token| token.column);
        let value = match self.take().map(|token| token.kind) {
            Some(Kind::Word(value)) | Some(Kind::Phrase(value, Suffix::None)) => value,
            _ => {
                return Err(QueryError {
                    column,
                    message: format!("`{name}:` takes one value, e.g. {name}:VALUE (use OR between fields for several)"),
                })
            }
        };
        let filter = match name {
            "agent_id" => FilterExpr::AgentId(value),
            "team" => FilterExpr::Team(value),
            "queue" => FilterExpr::Queue(value),
            "violated" => FilterExpr::Violated(value),
            "meta" => match value.split_once('=') {
                Some((key, meta_value)) if !key.is_empty() => {
                    FilterExpr::Meta(key.to_string(), meta_value.to_string())
                }
                _ => {
                    return Err(QueryError {
                        column: value_column,
                        message: "meta: takes key=value, e.g. meta:customer_level=gold".to_string(),
                    })
                }
            },
            _ => parse_date_range(&value, value_column)?,
        };
        Ok(Expr::Filter(filter))
    }
}

/// Gives every unscoped text inside `expr` the role `role`.
fn scope(expr: &mut Expr, role: Role) {
    match expr {
        Expr::And(parts) | Expr::Or(parts) => parts.iter_mut().for_each(|part| scope(part, role)),
        Expr::Not(inner) => scope(inner, role),
        Expr::Text { scope: slot, .. } => {
            if slot.is_none() {
                *slot = Some(role);
            }
        }
        Expr::Filter(_) => {}
    }
}

fn parse_date_range(value: &str, column: usize) -> Result<FilterExpr, QueryError> {
    let date = |text: &str, offset: usize| -> Result<Option<NaiveDate>, QueryError> {
        if text.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| QueryError {
            column: column + offset,
            message: format!("bad date `{text}`; write YYYY-MM-DD, e.g. date:2026-09-01 or date:2026-09-01..2026-09-07"),
        })
    };
    match value.split_once("..") {
        Some((from, to)) => {
            let from_date = date(from, 0)?;
            let to_date = date(to, from.chars().count() + 2)?;
            if from_date.is_none() && to_date.is_none() {
                return Err(QueryError {
                    column,
                    message: "date: needs at least one date, e.g. date:2026-09-01..".to_string(),
                });
            }
            if let (Some(from_date), Some(to_date)) = (from_date, to_date) {
                if from_date > to_date {
                    return Err(QueryError {
                        column,
                        message: format!(
                            "the date range ends ({to_date}) before it starts ({from_date})"
                        ),
                    });
                }
            }
            Ok(FilterExpr::Date(from_date, to_date))
        }
        None => {
            let day = date(value, 0)?;
            Ok(FilterExpr::Date(day, day))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Expr {
        Expr::Text {
            scope: None,
            text: TextExpr::Words(text.to_string()),
            column: 0,
        }
    }

    /// The tree without columns, for comparing shapes.
    fn shape(expr: Expr) -> Expr {
        match expr {
            Expr::And(parts) => Expr::And(parts.into_iter().map(shape).collect()),
            Expr::Or(parts) => Expr::Or(parts.into_iter().map(shape).collect()),
            Expr::Not(inner) => Expr::Not(Box::new(shape(*inner))),
            Expr::Text { scope, text, .. } => Expr::Text {
                scope,
                text,
                column: 0,
            },
            other => other,
        }
    }

    fn check(query: &str, expected: Expr) {
        assert_eq!(shape(parse(query).unwrap()), expected, "{query}");
    }

    fn check_error(query: &str, column: usize, fragment: &str) {
        let error = parse(query).expect_err(query);
        assert_eq!(error.column, column, "{query}: {error:?}");
        assert!(
            error.message.contains(fragment),
            "{query}: {}",
            error.message
        );
    }

    #[test]
    fn words_and_or_not() {
        check("退款 到账", Expr::And(vec![words("退款"), words("到账")]));
        check(
            "退款 OR 退货 投诉",
            Expr::Or(vec![
                words("退款"),
                Expr::And(vec![words("退货"), words("投诉")]),
            ]),
        );
        check(
            "退款 -到账",
            Expr::And(vec![words("退款"), Expr::Not(Box::new(words("到账")))]),
        );
        check(
            "退款 NOT 到账",
            Expr::And(vec![words("退款"), Expr::Not(Box::new(words("到账")))]),
        );
        check(
            "退款 AND 到账",
            Expr::And(vec![words("退款"), words("到账")]),
        );
        check("T-2", words("T-2"));
        check(
            "(退款 OR 退货) 投诉",
            Expr::And(vec![
                Expr::Or(vec![words("退款"), words("退货")]),
                words("投诉"),
            ]),
        );
    }

    #[test]
    fn phrases_proximity_and_chinese_quotes() {
        let phrase = |text: &str| Expr::Text {
            scope: None,
            text: TextExpr::Phrase(text.to_string()),
            column: 0,
        };
        check("\"按钮位置\"", phrase("按钮位置"));
        check("“按钮位置”", phrase("按钮位置"));
        check("「按钮位置」", phrase("按钮位置"));
        check(
            "\"按钮 位置\"~3",
            Expr::Text {
                scope: None,
                text: TextExpr::Near("按钮 位置".to_string(), 3),
                column: 0,
            },
        );
        let with_particles = Expr::Text {
            scope: None,
            text: TextExpr::PhraseWithParticles("按钮位置".to_string()),
            column: 0,
        };
        check("\"按钮位置\"~的", with_particles.clone());
        check("“按钮位置”～的", with_particles);
    }

    #[test]
    fn fields_scope_and_filter() {
        check(
            "customer:(投诉 OR 退款)",
            Expr::Or(vec![
                Expr::Text {
                    scope: Some(Role::Customer),
                    text: TextExpr::Words("投诉".to_string()),
                    column: 0,
                },
                Expr::Text {
                    scope: Some(Role::Customer),
                    text: TextExpr::Words("退款".to_string()),
                    column: 0,
                },
            ]),
        );
        check(
            "team:T2 退款",
            Expr::And(vec![
                Expr::Filter(FilterExpr::Team("T2".to_string())),
                words("退款"),
            ]),
        );
        let day = NaiveDate::from_ymd_opt(2026, 9, 1);
        check("date:2026-09-01", Expr::Filter(FilterExpr::Date(day, day)));
        check(
            "date:2026-09-01..",
            Expr::Filter(FilterExpr::Date(day, None)),
        );
        check(
            "meta:level=gold",
            Expr::Filter(FilterExpr::Meta("level".to_string(), "gold".to_string())),
        );
        // Not a field: digits before the colon.
        check("10:30", words("10:30"));
    }

    #[test]
    fn errors_name_the_column() {
        check_error("", 1, "empty query");
        check_error("   ", 1, "empty query");
        check_error("退款 \"到账", 4, "never closed");
        check_error("退款 “到账", 4, "never closed");
        check_error("foo:bar", 1, "unknown field `foo:`");
        check_error("退款 date:2026-13-01", 9, "bad date `2026-13-01`");
        check_error("date:2026-09-01..2026-09-3x", 18, "bad date `2026-09-3x`");
        check_error("date:2026-09-07..2026-09-01", 6, "ends");
        check_error("(退款 到账", 1, "never closed");
        check_error("退款)", 3, "no matching (");
        check_error("退款 OR", 4, "OR needs");
        check_error("OR 退款", 1, "expected a word");
        check_error("NOT", 1, "exclude");
        check_error("\"\"", 1, "empty phrase");
        check_error("\"按钮 位置\"~", 8, "distance");
        check_error("\"按钮 位置\"~500", 8, "distance");
        check_error("\"按钮位置\"~了", 7, "or 的");
        check_error("team: T2", 1, "no value");
        check_error("team:(T1 OR T2)", 1, "takes one value");
        check_error("()", 1, "empty parentheses");
    }

    #[test]
    fn render_points_at_the_column() {
        let error = parse("退款 \"到账").unwrap_err();
        let rendered = error.render("退款 \"到账");
        assert!(
            rendered.ends_with("\n  退款 \"到账\n       ^"),
            "{rendered}"
        );
    }

    #[test]
    fn huge_and_deeply_nested_queries_are_refused_with_a_reason() {
        for query in [
            "-".repeat(10_000),
            "(".repeat(10_000),
            format!("{}退款{}", "(".repeat(5_000), ")".repeat(5_000)),
            "退款 ".repeat(1_000),
        ] {
            let error = parse(&query).unwrap_err();
            assert!(error.message.contains("limit"), "{}", error.message);
        }
        let deep = format!("{}退款{}", "(".repeat(40), ")".repeat(40));
        let error = parse(&deep).unwrap_err();
        assert!(
            error.message.contains("nest more than"),
            "{}",
            error.message
        );
        assert_eq!(error.column, MAX_QUERY_DEPTH + 1);
        let nots = format!("{}退款", "-".repeat(40));
        assert!(parse(&nots).unwrap_err().message.contains("nest more than"));
        // At the limit, still a query.
        let fine = format!(
            "{}退款{}",
            "(".repeat(MAX_QUERY_DEPTH),
            ")".repeat(MAX_QUERY_DEPTH)
        );
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn random_queries_never_panic() {
        use rand::{Rng, SeedableRng};
        let pieces = [
            "退款",
            "的",
            "(",
            ")",
            "\"",
            "~",
            "~3",
            "~的",
            "-",
            "NOT ",
            "OR ",
            "AND ",
            " ",
            "agent:",
            "customer:",
            "date:",
            "2026-09-01..2026-09-30",
            "meta:",
            "a=b",
            "x",
            "１２３",
            "\\",
            "*",
            ":",
            "..",
            "按钮 位置",
            "\u{202e}",
            "\u{0}",
        ];
        let mut random = rand::rngs::SmallRng::seed_from_u64(19);
        for _ in 0..20_000 {
            let length = random.random_range(0..24);
            let query: String = (0..length)
                .map(|_| pieces[random.random_range(0..pieces.len())])
                .collect();
            match parse(&query) {
                Ok(_) => {}
                Err(error) => assert!(!error.message.is_empty(), "{query}"),
            }
        }
    }
}
