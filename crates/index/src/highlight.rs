//! Hits of a found call: its segments re-matched against the query plan with
//! the index's own analyzer, with exactly what matched marked `<b>…</b>` in
//! the segment's own (HTML-escaped) text: every occurrence of an exact part
//! or phrase, a sequence with the particle it crossed, each word of a
//! proximity window.

use super::analyzer::{Analyzed, Analyzer, PARTICLES};
use super::near::{near_windows, sequence_matches};
use super::plan::{Match, Pattern, Plan, Units};
use callscope_core::model::{Call, SearchHit};

/// The segments of `call` that the plan's text matches, with highlights.
/// A plan with no text (filters, NOT only) gives no hits.
pub fn hits(plan: &Plan, call: &Call, analyzer: &Analyzer) -> Vec<SearchHit> {
    let matches = plan.positive_matches();
    if matches.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for (index, segment) in call.segments.iter().enumerate() {
        let in_scope: Vec<&&Match> = matches
            .iter()
            .filter(|matching| matching.scope.is_none_or(|role| role == segment.role))
            .collect();
        if in_scope.is_empty() {
            continue;
        }
        let analyzed = analyzer.analyze(&segment.text);
        if analyzed.units.is_empty() {
            continue;
        }
        let texts = analyzed.unit_texts();
        let mut ranges = Vec::new();
        for matching in in_scope {
            find(&matching.pattern, &analyzed, &texts, &mut ranges);
        }
        if ranges.is_empty() {
            continue;
        }
        // Normalized character ranges to byte ranges of the original text.
        let spans = &analyzed.normalized.spans;
        let mut bytes: Vec<(usize, usize)> = ranges
            .into_iter()
            .filter(|(start, end)| start < end && *end <= spans.len())
            .map(|(start, end)| (spans[start].0, spans[end - 1].1))
            .collect();
        bytes.sort_unstable();
        hits.push(SearchHit {
            segment: index,
            start: segment.start,
            end: segment.end,
            role: segment.role,
            text: segment.text.clone(),
            highlight: mark(&segment.text, &bytes),
        });
    }
    hits
}

/// Appends the normalized character ranges where `pattern` matches.
fn find(
    pattern: &Pattern,
    analyzed: &Analyzed,
    texts: &[String],
    ranges: &mut Vec<(usize, usize)>,
) {
    let unit_range = |first: usize, count: usize| {
        (
            analyzed.units[first].start,
            analyzed.units[first + count - 1].end,
        )
    };
    match pattern {
        Pattern::Exact { units } => {
            for start in occurrences(texts, units) {
                ranges.push(unit_range(start, units.len()));
            }
        }
        Pattern::Sequence { pieces } => {
            let found: Vec<Vec<u32>> = pieces
                .iter()
                .map(|units| {
                    occurrences(texts, units)
                        .into_iter()
                        .map(|start| start as u32)
                        .collect()
                })
                .collect();
            if found.iter().any(Vec::is_empty) {
                return;
            }
            let lengths: Vec<u32> = pieces.iter().map(|units| units.len() as u32).collect();
            // Units that are particles, the same positions for every gap.
            let particles: Vec<u32> = texts
                .iter()
                .enumerate()
                .filter(|(_, text)| {
                    let mut characters = text.chars();
                    matches!((characters.next(), characters.next()), (Some(first), None) if PARTICLES.contains(&first))
                })
                .map(|(index, _)| index as u32)
                .collect();
            let gaps = vec![particles; pieces.len().saturating_sub(1)];
            sequence_matches(&found, &lengths, &gaps, |start, end| {
                ranges.push(unit_range(start as usize, (end - start) as usize));
            });
        }
        Pattern::Near { words, distance } => {
            let found: Vec<Vec<u32>> = words
                .iter()
                .map(|units| {
                    occurrences(texts, units)
                        .into_iter()
                        .map(|start| start as u32)
                        .collect()
                })
                .collect();
            if found.iter().any(Vec::is_empty) {
                return;
            }
            let lengths: Vec<u32> = words.iter().map(|units| units.len() as u32).collect();
            near_windows(&found, &lengths, *distance, |chosen| {
                for (word, &start) in chosen.iter().enumerate() {
                    ranges.push(unit_range(start as usize, words[word].len()));
                }
            });
        }
    }
}

/// Start unit indices where `needle` occurs in `texts`.
fn occurrences(texts: &[String], needle: &Units) -> Vec<usize> {
    if needle.is_empty() || needle.len() > texts.len() {
        return Vec::new();
    }
    (0..=texts.len() - needle.len())
        .filter(|&start| {
            needle
                .iter()
                .zip(&texts[start..])
                .all(|((unit, _), text)| unit == text)
        })
        .collect()
}

/// The text with `ranges` (sorted byte ranges, may overlap) wrapped in
/// `<b>…</b>` and everything HTML-escaped.
pub fn mark(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for &(start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut output = String::with_capacity(text.len() + merged.len() * 7);
    let mut at = 0;
    for (start, end) in merged {
        escape(&text[at..start], &mut output);
        output.push_str("<b>");
        escape(&text[start..end], &mut output);
        output.push_str("</b>");
        at = end;
    }
    escape(&text[at..], &mut output);
    output
}

fn escape(text: &str, output: &mut String) {
    for character in text.chars() {
        match character {
            '&' => output.push_str("&amp;"),
            '<' => output.push_str("&lt;"),
            '>' => output.push_str("&gt;"),
            '"' => output.push_str("&quot;"),
            '\'' => output.push_str("&#39;"),
            other => output.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;
    use callscope_core::dictionary::Dictionary;
    use callscope_core::model::{Role, Segment};

    fn call(texts: &[(Role, &str)]) -> Call {
        Call {
            call_id: "C1".to_string(),
            started_at: None,
            agent_id: None,
            team: None,
            queue: None,
            duration: None,
            segments: texts
                .iter()
                .enumerate()
                .map(|(index, (role, text))| Segment {
                    start: index as f64,
                    end: index as f64 + 1.0,
                    role: *role,
                    text: text.to_string(),
                    confidence: None,
                    role_confidence: None,
                })
                .collect(),
            meta: Default::default(),
            asr_model: None,
            audio_sha256: None,
            silences: Vec::new(),
            audio_path: None,
        }
    }

    fn check(query: &str, role: Option<Role>, segments: &[(Role, &str)], expected: &[&str]) {
        let analyzer = Analyzer::new(Dictionary::load(None).unwrap());
        let plan = Plan::build(&parse(query).unwrap(), &analyzer, role).unwrap();
        let found: Vec<String> = hits(&plan, &call(segments), &analyzer)
            .into_iter()
            .map(|hit| hit.highlight)
            .collect();
        assert_eq!(found, expected, "{query}");
    }

    #[test]
    fn words_phrases_and_proximity_are_marked_in_the_original_text() {
        let customer = Role::Customer;
        check(
            "退款",
            None,
            &[(customer, "我申请的退款到现在还没有到账。")],
            &["我申请的<b>退款</b>到现在还没有到账。"],
        );
        // Traditional text, simplified query; the original characters are marked.
        check(
            "退款 到账",
            None,
            &[(customer, "退款到賬了嗎？")],
            &["<b>退款到賬</b>了嗎？"],
        );
        // A phrase is exact; with ~的 a particle between its words may stand.
        check(
            "\"按钮位置\"",
            None,
            &[(customer, "支付按钮的位置找不到"), (customer, "按钮位置")],
            &["<b>按钮位置</b>"],
        );
        check(
            "\"按钮位置\"~的",
            None,
            &[(customer, "支付按钮的位置找不到")],
            &["支付<b>按钮的位置</b>找不到"],
        );
        check(
            "\"按钮的位置\"~的",
            None,
            &[(customer, "按钮位置，按钮在位置")],
            &["<b>按钮位置</b>，按钮在位置"],
        );
        // A word keeps its particle: 对 alone is not marked.
        check(
            "对的",
            None,
            &[(customer, "对不起，不对，对的。"), (customer, "对于这个")],
            &["对不起，不对，<b>对的</b>。"],
        );
        // An unquoted token's parts are marked wherever they stand.
        check(
            "按钮的位置",
            None,
            &[(customer, "位置在哪个按钮")],
            &["<b>位置</b>在哪个<b>按钮</b>"],
        );
        check("\"好的\"", None, &[(customer, "好呀")], &[] as &[&str]);
        check(
            "\"按钮 位置\"~3",
            None,
            &[(customer, "位置在哪个按钮")],
            &["<b>位置</b>在哪个<b>按钮</b>"],
        );
        check(
            "\"按钮 位置\"~2",
            None,
            &[(customer, "位置在哪个按钮")],
            &[] as &[&str],
        );
        // Punctuation between matched characters is kept inside the mark.
        check(
            "\"退款到账\"",
            None,
            &[(customer, "退款，到账")],
            &["<b>退款，到账</b>"],
        );
    }

    #[test]
    fn scope_negation_and_escaping() {
        let segments = [
            (Role::Agent, "您的退款已经提交"),
            (Role::Customer, "退款<到账>了吗"),
        ];
        check(
            "customer:退款",
            None,
            &segments,
            &["<b>退款</b>&lt;到账&gt;了吗"],
        );
        check(
            "退款",
            Some(Role::Agent),
            &segments,
            &["您的<b>退款</b>已经提交"],
        );
        check("提交 -到账", None, &segments, &["您的退款已经<b>提交</b>"]);
        check("-到账", None, &segments, &[] as &[&str]);
    }

    #[test]
    fn mark_merges_overlapping_ranges() {
        assert_eq!(
            mark("abcdef", &[(0, 2), (1, 3), (4, 5)]),
            "<b>abc</b>d<b>e</b>f"
        );
    }
}
