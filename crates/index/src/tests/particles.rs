//! Regression: search dropped the particles (的 了 地 得 着 过 之) of what
//! the user typed, so `对的` found every call with 对 and `"按钮的位置"`
//! found 按钮位置.
//!
//! For every particle, words with the particle at their start, in the middle
//! and at their end are searched unquoted, quoted and with `~的` in calls
//! that hold them with and without the particle. What the index finds, and
//! what the hits mark, must be what a brute-force substring scan over the
//! same normalized transcripts finds: the reference below, which knows the
//! query rules but neither jieba nor the index.

use std::collections::BTreeSet;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use super::*;
use crate::analyzer::PARTICLES;
use crate::highlight::mark;
use callscope_core::model::{Call, Role, Segment};
use callscope_core::text::Normalizer;

/// A query word: `left`, the particle, `right`. Where `left` and `right` are
/// both words of two or more characters, an unquoted query may leave the
/// particle out (`按钮的位置` = `按钮` and `位置`); everywhere else the word is
/// searched whole.
struct Case {
    left: &'static str,
    particle: char,
    right: &'static str,
}

const fn case(left: &'static str, particle: char, right: &'static str) -> Case {
    Case {
        left,
        particle,
        right,
    }
}

/// Particle at the start (`的位置`, `了解`), in the middle (`说的话`,
/// `按钮的位置`) and at the end (`对的`) of a word, for each particle.
const CASES: &[Case] = &[
    case("", '的', "位置"),
    case("", '的', "确"),
    case("说", '的', "话"),
    case("按钮", '的', "位置"),
    case("对", '的', ""),
    case("是", '的', ""),
    case("", '了', "解"),
    case("", '了', "吗"),
    case("走", '了', "吗"),
    case("收到", '了', "退款"),
    case("走", '了', ""),
    case("算", '了', ""),
    case("为", '了', ""),
    case("", '地', "址"),
    case("慢慢", '地', "说"),
    case("认真", '地', "处理"),
    case("慢慢", '地', ""),
    case("", '得', "到"),
    case("说", '得', "对"),
    case("处理", '得', "及时"),
    case("来", '得', ""),
    case("", '着', "急"),
    case("等", '着', "你"),
    case("保持", '着', "联系"),
    case("等", '着', ""),
    case("", '过', "来"),
    case("来", '过', "这"),
    case("处理", '过', "退款"),
    case("来", '过', ""),
    case("", '之', "前"),
    case("三天", '之', "内"),
    case("总", '之', ""),
];

impl Case {
    fn word(&self) -> String {
        format!("{}{}{}", self.left, self.particle, self.right)
    }

    /// Whether an unquoted query may cut the word around its particle.
    fn cut(&self) -> bool {
        self.left.chars().count() >= 2 && self.right.chars().count() >= 2
    }

    /// What the unquoted word looks for: each part anywhere in the call.
    fn unquoted_parts(&self) -> Vec<String> {
        if self.cut() {
            vec![self.left.to_string(), self.right.to_string()]
        } else {
            vec![self.word()]
        }
    }

    /// What `"word"~的` looks for in a row: the word, or with the particle
    /// left out or replaced where the word may be cut.
    fn sequence_variants(&self) -> Vec<String> {
        if !self.cut() {
            return vec![self.word()];
        }
        let mut variants = vec![format!("{}{}", self.left, self.right)];
        for particle in PARTICLES {
            variants.push(format!("{}{particle}{}", self.left, self.right));
        }
        variants
    }
}

/// Text around the words in the generated sentences.
const BEFORE: &[&str] = &["", "我", "您", "那个", "好", "不", "他"];
const AFTER: &[&str] = &["", "吧", "呢", "不起", "于是", "一下", "。", "，谢谢"];

/// Hand-written sentences in traditional characters and full width.
const TRADITIONAL: &[&str] = &[
    "對的，我明白了。",
    "按鈕的位置不對。",
    "按鈕位置在哪裡？",
    "他來過了嗎？",
    "為了退款我打了三次。",
    "別著急，慢慢地說。",
    "過來一下，說得對。",
    "之前說過的話ＯＫ。",
    "認真地處理了。",
];

/// `core` with random text before and after it.
fn around(core: &str, rng: &mut impl Rng) -> String {
    let before = BEFORE.choose(rng).copied().unwrap_or_default();
    let after = AFTER.choose(rng).copied().unwrap_or_default();
    format!("{before}{core}{after}")
}

/// Sentences holding each case's word with and without its particle, in
/// random surroundings, plus the traditional ones.
fn sentences(rng: &mut impl Rng) -> Vec<String> {
    let mut sentences: Vec<String> = TRADITIONAL.iter().map(|text| text.to_string()).collect();
    for case in CASES {
        let mut cores = vec![case.word(), format!("{}{}", case.left, case.right)];
        cores.extend([case.left, case.right].map(str::to_string));
        if case.cut() {
            cores.push(format!("{}在{}", case.left, case.right));
            cores.push(format!("{}了{}", case.left, case.right));
            cores.push(format!("{}，{}", case.right, case.left));
        }
        for core in cores.into_iter().filter(|core| !core.is_empty()) {
            sentences.push(around(&core, rng));
            sentences.push(around(&core, rng));
        }
    }
    sentences
}

fn generated_calls() -> Vec<Call> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let pool = sentences(&mut rng);
    (0..400)
        .map(|number| {
            let count = rng.random_range(1..=3);
            let segments = (0..count)
                .map(|index| Segment {
                    start: f64::from(index),
                    end: f64::from(index) + 1.0,
                    role: if rng.random_bool(0.5) {
                        Role::Agent
                    } else {
                        Role::Customer
                    },
                    text: pool.choose(&mut rng).cloned().unwrap_or_default(),
                    confidence: None,
                    role_confidence: None,
                })
                .collect();
            Call {
                call_id: format!("C{number:03}"),
                started_at: None,
                agent_id: None,
                team: None,
                queue: None,
                duration: None,
                segments,
                meta: Default::default(),
                asr_model: None,
                audio_sha256: None,
                silences: Vec::new(),
                audio_path: None,
            }
        })
        .collect()
}

/// The reference: normalized segments scanned for substrings.
struct Reference {
    calls: Vec<Call>,
    normalizer: Normalizer,
}

/// How the reference matches a query.
enum Rule {
    /// Every part somewhere in the call, each marked wherever it stands.
    AllParts(Vec<String>),
    /// Any of these strings in a segment.
    AnyOf(Vec<String>),
}

impl Reference {
    /// Normalized character ranges of `needle` in a normalized text.
    fn occurrences(haystack: &[char], needle: &str) -> Vec<(usize, usize)> {
        let needle: Vec<char> = needle.chars().collect();
        if needle.is_empty() || needle.len() > haystack.len() {
            return Vec::new();
        }
        (0..=haystack.len() - needle.len())
            .filter(|&start| haystack[start..start + needle.len()] == needle[..])
            .map(|start| (start, start + needle.len()))
            .collect()
    }

    /// The matching calls (sorted ids) and, per call, its highlighted
    /// segments `(index, highlight)`.
    fn search(&self, rule: &Rule) -> Vec<(String, Vec<(usize, String)>)> {
        let (strings, every) = match rule {
            Rule::AllParts(parts) => (parts, true),
            Rule::AnyOf(variants) => (variants, false),
        };
        let mut found = Vec::new();
        for call in &self.calls {
            let mut seen = BTreeSet::new();
            let mut hits = Vec::new();
            for (index, segment) in call.segments.iter().enumerate() {
                let normalized = self.normalizer.normalize(&segment.text);
                let mut ranges = Vec::new();
                for (which, string) in strings.iter().enumerate() {
                    let here = Self::occurrences(&normalized.chars, string);
                    if !here.is_empty() {
                        seen.insert(which);
                    }
                    ranges.extend(here);
                }
                if ranges.is_empty() {
                    continue;
                }
                let mut bytes: Vec<(usize, usize)> = ranges
                    .into_iter()
                    .map(|(start, end)| (normalized.spans[start].0, normalized.spans[end - 1].1))
                    .collect();
                bytes.sort_unstable();
                hits.push((index, mark(&segment.text, &bytes)));
            }
            let matched = if every {
                seen.len() == strings.len()
            } else {
                !seen.is_empty()
            };
            if matched {
                found.push((call.call_id.clone(), hits));
            }
        }
        found.sort();
        found
    }
}

#[test]
fn particles_are_never_dropped_from_what_the_user_typed() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&directory.path().join("callscope.db")).unwrap();
    let calls = generated_calls();
    store.put_calls(&calls).unwrap();
    let mut index = SearchIndex::open(
        &directory.path().join("index"),
        Dictionary::load(None).unwrap(),
    )
    .unwrap();
    index.sync(&mut store, |_, _| {}).unwrap();
    let reference = Reference {
        calls,
        normalizer: Normalizer::shared(),
    };

    let mut failures = Vec::new();
    let mut checked = 0;
    for case in CASES {
        let word = case.word();
        for (query, rule) in [
            (word.clone(), Rule::AllParts(case.unquoted_parts())),
            (format!("\"{word}\""), Rule::AnyOf(vec![word.clone()])),
            (
                format!("\"{word}\"~的"),
                Rule::AnyOf(case.sequence_variants()),
            ),
        ] {
            let expected = reference.search(&rule);
            let response = index
                .search(
                    &SearchQuery {
                        text: query.clone(),
                        limit: 1000,
                        ..SearchQuery::default()
                    },
                    &store,
                )
                .unwrap();
            let mut found: Vec<(String, Vec<(usize, String)>)> = response
                .results
                .into_iter()
                .map(|result| {
                    let hits = result
                        .hits
                        .into_iter()
                        .map(|hit| (hit.segment, hit.highlight))
                        .collect();
                    (result.call_id, hits)
                })
                .collect();
            found.sort();
            if response.total != expected.len() as u64 {
                failures.push(format!(
                    "{query}: total {} (reference {})",
                    response.total,
                    expected.len()
                ));
            }
            let ids = |calls: &[(String, Vec<(usize, String)>)]| -> Vec<String> {
                calls.iter().map(|(id, _)| id.clone()).collect()
            };
            if ids(&found) != ids(&expected) {
                failures.push(format!(
                    "{query}: found {:?}\n  reference {:?}",
                    ids(&found),
                    ids(&expected)
                ));
            } else if found != expected {
                let wrong: Vec<String> = found
                    .iter()
                    .zip(&expected)
                    .filter(|(found, expected)| found != expected)
                    .map(|(found, expected)| format!("{found:?} (reference {expected:?})"))
                    .collect();
                failures.push(format!("{query}: highlights {}", wrong.join("; ")));
            }
            // The search must not be trivially empty, nor everything.
            if !expected.is_empty() && expected.len() < reference.calls.len() {
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(checked, CASES.len() * 3, "every query finds some calls");
}
