//! Topics that analysts define in a TOML file, matched against each call's
//! customer-side terms.
//!
//! ```toml
//! [[topic]]
//! name = "支付按钮"
//! keywords = ["支付按钮", "付款按钮", "按钮的位置"]
//!
//! [[topic]]
//! name = "验证码收不到"
//! query = "验证码 AND (收不到 OR 没收到 OR 登录) NOT 注册"
//! ```
//!
//! A topic has `keywords` (any of them) or a `query`: words combined with
//! `AND` (also implied between words), `OR`, `NOT` (or a leading `-`) and
//! parentheses; a keyword with spaces goes in double quotes. Each keyword is
//! read the way customer text is (simplified, stop words dropped, 的 skipped)
//! and matches calls whose customer side has that term; a keyword of more
//! than three words matches calls that have all of its words.

use std::path::Path;

use serde::Deserialize;

use super::extract::TermExtractor;
use callscope_core::error::{Error, Result};
use callscope_store::Store;

/// A topic's definition, its words resolved to terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Calls with this term.
    Term(String),
    /// Calls with all of these terms (a keyword longer than a phrase).
    AllTerms(Vec<String>),
    /// All must match.
    And(Vec<Query>),
    /// Any must match.
    Or(Vec<Query>),
    /// Must not match.
    Not(Box<Query>),
}

/// A topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    /// Its name.
    pub name: String,
    /// Its definition as written (keywords joined by OR).
    pub definition: String,
    /// The parsed definition.
    pub query: Query,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFile {
    #[serde(default)]
    topic: Vec<TopicEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicEntry {
    name: String,
    #[serde(default)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

/// Reads a topic file.
pub fn load(path: &Path, extractor: &TermExtractor) -> Result<Vec<Topic>> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
    parse(&text, &path.display().to_string(), extractor)
}

/// Parses a topic file's text; `file` names it in errors.
pub fn parse(text: &str, file: &str, extractor: &TermExtractor) -> Result<Vec<Topic>> {
    let config = |reason: String| Error::Config {
        file: file.to_string(),
        reason,
    };
    let parsed: TopicFile = toml::from_str(text).map_err(|error| {
        config(format!(
            "{}; a topic file is a list of [[topic]] tables with `name` and `keywords = [...]` \
             or `query = \"...\"`",
            error.to_string().trim()
        ))
    })?;
    let mut topics: Vec<Topic> = Vec::new();
    for (index, entry) in parsed.topic.into_iter().enumerate() {
        let name = entry.name.trim().to_string();
        let label = if name.is_empty() {
            format!("topic #{}", index + 1)
        } else {
            format!("topic '{name}'")
        };
        if name.is_empty() {
            return Err(config(format!("{label}: `name` is empty")));
        }
        if topics.iter().any(|topic| topic.name == name) {
            return Err(config(format!(
                "{label} is defined twice; give each topic its own name"
            )));
        }
        let definition = match (entry.keywords, entry.query) {
            (Some(_), Some(_)) => {
                return Err(config(format!(
                    "{label}: give `keywords` or `query`, not both (a query can say \
                     `a OR b NOT c`)"
                )))
            }
            (None, None) => {
                return Err(config(format!(
                    "{label}: needs `keywords = [\"...\"]` or `query = \"...\"`"
                )))
            }
            (Some(keywords), None) => {
                if keywords.iter().all(|keyword| keyword.trim().is_empty()) {
                    return Err(config(format!("{label}: `keywords` is empty")));
                }
                keywords
                    .iter()
                    .filter(|keyword| !keyword.trim().is_empty())
                    .map(|keyword| {
                        if keyword.contains(char::is_whitespace) {
                            format!("\"{}\"", keyword.trim())
                        } else {
                            keyword.trim().to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" OR ")
            }
            (None, Some(query)) => query,
        };
        let query = parse_query(&definition, extractor)
            .map_err(|reason| config(format!("{label}: {reason}")))?;
        topics.push(Topic {
            name,
            definition,
            query,
        });
    }
    Ok(topics)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    And,
    Or,
    Not,
    Open,
    Close,
}

fn tokenize(text: &str) -> std::result::Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut characters = text.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if word.is_empty() {
            return;
        }
        tokens.push(match word.as_str() {
            "AND" => Token::And,
            "OR" => Token::Or,
            "NOT" => Token::Not,
            _ => Token::Word(word.clone()),
        });
        word.clear();
    };
    while let Some(character) = characters.next() {
        match character {
            '(' | '（' => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Open);
            }
            ')' | '）' => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Close);
            }
            '"' | '“' | '”' => {
                flush(&mut word, &mut tokens);
                let mut quoted = String::new();
                loop {
                    match characters.next() {
                        Some('"' | '“' | '”') => break,
                        Some(inner) => quoted.push(inner),
                        None => return Err(format!("a quote is not closed in `{text}`")),
                    }
                }
                tokens.push(Token::Word(quoted));
            }
            '-' if word.is_empty() => tokens.push(Token::Not),
            character if character.is_whitespace() => flush(&mut word, &mut tokens),
            character => word.push(character),
        }
    }
    flush(&mut word, &mut tokens);
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    position: usize,
    extractor: &'a TermExtractor,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn or(&mut self) -> std::result::Result<Query, String> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.position += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self) -> std::result::Result<Query, String> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.position += 1;
                    parts.push(self.unary()?);
                }
                Some(Token::Word(_) | Token::Not | Token::Open) => parts.push(self.unary()?),
                _ => break,
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::And(parts)
        })
    }

    fn unary(&mut self) -> std::result::Result<Query, String> {
        match self.peek().cloned() {
            Some(Token::Not) => {
                self.position += 1;
                Ok(Query::Not(Box::new(self.unary()?)))
            }
            Some(Token::Open) => {
                self.position += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err("a parenthesis is not closed".to_string());
                }
                self.position += 1;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                self.position += 1;
                let words = self.extractor.words_of(&word);
                match words.len() {
                    0 => Err(format!(
                        "`{word}` has only stop words (corpora/stopwords/zh.txt); use a more \
                         specific keyword"
                    )),
                    1 if words[0].chars().nth(1).is_none() => Err(format!(
                        "`{word}` is a single character, which is not counted on its own; use \
                         a word or phrase (退钱 rather than 钱)"
                    )),
                    1..=super::extract::MAX_PHRASE_WORDS => Ok(Query::Term(words.concat())),
                    _ => Ok(Query::AllTerms(
                        words
                            .into_iter()
                            .filter(|word| word.chars().nth(1).is_some())
                            .collect(),
                    )),
                }
            }
            Some(Token::Close) => Err("unexpected `)`".to_string()),
            Some(Token::And | Token::Or) => Err("AND/OR needs a word on both sides".to_string()),
            None => Err("the query ends too early".to_string()),
        }
    }
}

/// Parses a query (`a AND (b OR c) NOT d`), resolving words to terms.
pub fn parse_query(text: &str, extractor: &TermExtractor) -> std::result::Result<Query, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("the query is empty".to_string());
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        extractor,
    };
    let query = parser.or()?;
    if parser.position < parser.tokens.len() {
        return Err(format!(
            "unexpected {:?} after a complete query",
            parser.tokens[parser.position]
        ));
    }
    Ok(query)
}

/// A query with its terms resolved to vocabulary ids, ready to test calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Compiled {
    /// Calls with this term id (`None`: a term no call has, never matches).
    Term(Option<u32>),
    /// All must match.
    And(Vec<Compiled>),
    /// Any must match.
    Or(Vec<Compiled>),
    /// Must not match.
    Not(Box<Compiled>),
}

impl Compiled {
    /// Resolves `query`'s terms in the store's vocabulary.
    pub fn new(query: &Query, store: &Store) -> Result<Compiled> {
        Ok(match query {
            Query::Term(term) => Compiled::Term(store.term_id(term)?),
            Query::AllTerms(terms) => Compiled::And(
                terms
                    .iter()
                    .map(|term| Ok(Compiled::Term(store.term_id(term)?)))
                    .collect::<Result<_>>()?,
            ),
            Query::And(parts) => Compiled::And(
                parts
                    .iter()
                    .map(|part| Compiled::new(part, store))
                    .collect::<Result<_>>()?,
            ),
            Query::Or(parts) => Compiled::Or(
                parts
                    .iter()
                    .map(|part| Compiled::new(part, store))
                    .collect::<Result<_>>()?,
            ),
            Query::Not(inner) => Compiled::Not(Box::new(Compiled::new(inner, store)?)),
        })
    }

    /// Whether a call with these sorted term ids matches.
    pub fn matches(&self, terms: &[u32]) -> bool {
        match self {
            Compiled::Term(Some(id)) => terms.binary_search(id).is_ok(),
            Compiled::Term(None) => false,
            Compiled::And(parts) => parts.iter().all(|part| part.matches(terms)),
            Compiled::Or(parts) => parts.iter().any(|part| part.matches(terms)),
            Compiled::Not(inner) => !inner.matches(terms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_core::dictionary::Dictionary;

    fn extractor() -> TermExtractor {
        TermExtractor::new(Dictionary::load(None).unwrap(), "")
    }

    fn term(text: &str) -> Query {
        Query::Term(text.to_string())
    }

    fn check(query: &str, expected: Query) {
        assert_eq!(
            parse_query(query, &extractor()).unwrap(),
            expected,
            "{query}"
        );
    }

    fn check_error(query: &str, expected: &str) {
        let error = parse_query(query, &extractor()).unwrap_err();
        assert!(error.contains(expected), "{query}: {error}");
    }

    #[test]
    fn queries_parse_with_precedence() {
        check("退款", term("退款"));
        check("按钮的位置", term("按钮位置"));
        check(
            "验证码 AND (收不到 OR 登录) NOT 注册",
            Query::And(vec![
                term("验证码"),
                Query::Or(vec![term("收不到"), term("登录")]),
                Query::Not(Box::new(term("注册"))),
            ]),
        );
        check(
            "退款 到账 OR 发货",
            Query::Or(vec![
                Query::And(vec![term("退款"), term("到账")]),
                term("发货"),
            ]),
        );
        check("-退款", Query::Not(Box::new(term("退款"))));
        check("\"支付 按钮\"", term("支付按钮"));
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        check_error("", "empty");
        check_error("(退款", "parenthesis");
        check_error("退款 OR", "ends too early");
        check_error("请问", "stop words");
        check_error("钱", "single character");
        check_error("退款 )", "unexpected");
        check_error("\"退款", "quote");
    }

    #[test]
    fn topic_files_are_validated() {
        let extractor = extractor();
        let topics = parse(
            "[[topic]]\nname = \"支付\"\nkeywords = [\"支付按钮\", \"付款 按钮\"]\n\
             [[topic]]\nname = \"退款\"\nquery = \"退款 NOT 发票\"\n",
            "t.toml",
            &extractor,
        )
        .unwrap();
        assert_eq!(topics.len(), 2);
        assert_eq!(topics[0].definition, "支付按钮 OR \"付款 按钮\"");
        assert_eq!(
            topics[0].query,
            Query::Or(vec![term("支付按钮"), term("付款按钮")])
        );
        for (text, expected) in [
            ("[[topic]]\nname = \"a\"\n", "needs `keywords"),
            ("[[topic]]\nname = \"a\"\nkeywords = [\"退款\"]\nquery = \"退款\"\n", "not both"),
            ("[[topic]]\nname = \"a\"\nkeywords = [\"退款\"]\n[[topic]]\nname = \"a\"\nquery = \"发票\"\n", "twice"),
            ("[[topic]]\nname = \"a\"\nkeyword = [\"退款\"]\n", "unknown field"),
            ("[[topic]]\nname = \"a\"\nquery = \"(退款\"\n", "topic 'a'"),
        ] {
            let error = parse(text, "t.toml", &extractor).unwrap_err().to_string();
            assert!(error.contains(expected) && error.starts_with("t.toml"), "{text}: {error}");
        }
    }

    #[test]
    fn compiled_queries_match_sorted_terms() {
        let query = Compiled::And(vec![
            Compiled::Term(Some(3)),
            Compiled::Or(vec![Compiled::Term(Some(5)), Compiled::Term(None)]),
            Compiled::Not(Box::new(Compiled::Term(Some(9)))),
        ]);
        assert!(query.matches(&[1, 3, 5]));
        assert!(!query.matches(&[1, 3]));
        assert!(!query.matches(&[3, 5, 9]));
    }
}
