//! A call prepared for scoring: every segment normalized once, keyword and
//! lexicon hits found once (one Aho-Corasick pass over all words of all
//! scorecards, plus homophones), the personal data of its scoring view
//! placed in each segment, and the timing facts the time-based operators
//! need. Built once per call and shared by every rule of every scorecard.

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use super::fuzzy::{HomophoneHit, HomophoneIndex};
use super::similar;
use callscope_core::model::{Call, PiiKind, PiiMention, Role};
use callscope_core::text::{Normalized, Normalizer};

/// A word occurrence in a segment's normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WordHit {
    /// Global word id (see the scorer's word table).
    pub word: u32,
    /// First normalized character.
    pub start: u32,
    /// One past the last normalized character.
    pub end: u32,
    /// Found by sound, not by spelling.
    pub homophone: bool,
}

/// A piece of personal data of the scoring view, placed in its segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlacedMention {
    /// Index in [`Prepared::mentions`].
    pub mention: usize,
    pub kind: PiiKind,
    /// Bytes of the segment text it covers (empty when only its segment is
    /// known).
    pub bytes: (usize, usize),
    /// Normalized characters it covers, if any.
    pub normalized: Option<(u32, u32)>,
}

/// One segment in matching form.
#[derive(Debug)]
pub(crate) struct PreparedSegment {
    pub role: Role,
    pub start: f64,
    pub end: f64,
    pub normalized: Normalized,
    /// The normalized text as a string (for regular expressions).
    pub normalized_text: String,
    /// Character-set fingerprint (see [`similar::char_mask`]).
    pub mask: u128,
    /// Word hits, sorted by start then longest first.
    pub hits: Vec<WordHit>,
    /// Rank among the segments of its role (0 = the role's first).
    pub rank_in_role: u32,
    /// Seconds of silence before this segment (from the latest end of all
    /// earlier segments, or a VAD silence), with the segment that spoke
    /// last; `None` for the first segment.
    pub gap_before: Option<(f64, usize)>,
    /// Longest overlap with an earlier-starting segment of the other role,
    /// seconds (0 when it starts in the clear).
    pub overlap_before: f64,
    /// Personal data in the segment, in text order.
    pub pii: Vec<PlacedMention>,
}

impl PreparedSegment {
    pub fn seconds(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
}

/// A call in matching form.
#[derive(Debug)]
pub(crate) struct Prepared<'c> {
    pub call: Cow<'c, Call>,
    /// The personal data of the scoring view (segment indices as given).
    pub mentions: &'c [PiiMention],
    pub segments: Vec<PreparedSegment>,
    /// Number of segments per role: agent, customer, unknown.
    pub role_counts: [u32; 3],
    pub duration: f64,
}

pub(crate) fn role_slot(role: Role) -> usize {
    match role {
        Role::Agent => 0,
        Role::Customer => 1,
        Role::Unknown => 2,
    }
}

/// What the scorer's matchers need to prepare a call.
pub(crate) struct Matchers<'m> {
    pub normalizer: &'m Normalizer,
    pub words: Option<&'m AhoCorasick>,
    pub homophones: &'m HomophoneIndex,
}

impl<'c> Prepared<'c> {
    pub fn new(
        call: &'c Call,
        mentions: &'c [PiiMention],
        matchers: &Matchers<'_>,
    ) -> Prepared<'c> {
        let in_order = |left: &callscope_core::model::Segment,
                        right: &callscope_core::model::Segment| {
            left.start
                .total_cmp(&right.start)
                .then(left.end.total_cmp(&right.end))
        };
        let sorted = call
            .segments
            .windows(2)
            .all(|pair| in_order(&pair[0], &pair[1]).is_le());
        // Unsorted segments are sorted (stably, as `Call::sort_segments`
        // does), remembering where each went for the personal data.
        let (call, position_of): (Cow<'c, Call>, Option<Vec<usize>>) = if sorted {
            (Cow::Borrowed(call), None)
        } else {
            let mut order: Vec<usize> = (0..call.segments.len()).collect();
            order.sort_by(|left, right| in_order(&call.segments[*left], &call.segments[*right]));
            let mut position_of = vec![0; order.len()];
            for (position, index) in order.iter().enumerate() {
                position_of[*index] = position;
            }
            let mut owned = call.clone();
            owned.segments = order
                .iter()
                .map(|index| call.segments[*index].clone())
                .collect();
            (Cow::Owned(owned), Some(position_of))
        };
        let mut role_counts = [0u32; 3];
        let mut homophone_hits: Vec<HomophoneHit> = Vec::new();
        let mut segments = Vec::with_capacity(call.segments.len());
        for segment in &call.segments {
            let normalized = normalize(matchers.normalizer, &segment.text);
            let normalized_text: String = normalized.chars.iter().collect();
            let mut hits = Vec::new();
            if let Some(words) = matchers.words {
                for found in words.find_overlapping_iter(normalized_text.as_str()) {
                    let start = normalized_text[..found.start()].chars().count();
                    let length = normalized_text[found.start()..found.end()].chars().count();
                    hits.push(WordHit {
                        word: found.pattern().as_u32(),
                        start: start as u32,
                        end: (start + length) as u32,
                        homophone: false,
                    });
                }
            }
            if !matchers.homophones.is_empty() {
                homophone_hits.clear();
                matchers
                    .homophones
                    .find(&normalized.chars, &mut homophone_hits);
                hits.extend(homophone_hits.iter().map(|hit| WordHit {
                    word: hit.word,
                    start: hit.start as u32,
                    end: hit.end as u32,
                    homophone: true,
                }));
            }
            hits.sort_by_key(|hit| (hit.start, std::cmp::Reverse(hit.end), hit.homophone));
            let slot = role_slot(segment.role);
            let rank_in_role = role_counts[slot];
            role_counts[slot] += 1;
            segments.push(PreparedSegment {
                role: segment.role,
                start: sane(segment.start),
                end: sane(segment.end).max(sane(segment.start)),
                mask: similar::char_mask(&normalized.chars),
                normalized,
                normalized_text,
                hits,
                rank_in_role,
                gap_before: None,
                overlap_before: 0.0,
                pii: Vec::new(),
            });
        }
        timing(&mut segments, &call);
        place_mentions(&mut segments, &call, mentions, position_of.as_deref());
        let duration = sane(call.effective_duration());
        Prepared {
            call,
            mentions,
            segments,
            role_counts,
            duration,
        }
    }

    /// Number of segments of a role (`None`: all roles).
    pub fn count_of(&self, role: Option<Role>) -> u32 {
        match role {
            None => self.segments.len() as u32,
            Some(role) => self.role_counts[role_slot(role)],
        }
    }
}

/// Puts each piece of personal data into its (sorted) segment, with the
/// bytes and normalized characters it covers; one whose place does not fit
/// the text is dropped.
fn place_mentions(
    segments: &mut [PreparedSegment],
    call: &Call,
    mentions: &[PiiMention],
    position_of: Option<&[usize]>,
) {
    for (index, mention) in mentions.iter().enumerate() {
        let segment = match position_of {
            Some(position_of) => position_of.get(mention.segment).copied(),
            None => Some(mention.segment),
        };
        let Some((text, prepared)) = segment.and_then(|segment| {
            Some((
                &call.segments.get(segment)?.text,
                segments.get_mut(segment)?,
            ))
        }) else {
            continue;
        };
        let Some(bytes) = byte_range(text, mention.char_start, mention.char_end) else {
            continue;
        };
        let spans = &prepared.normalized.spans;
        let first = spans.partition_point(|(start, _)| *start < bytes.0);
        let end = spans.partition_point(|(_, end)| *end <= bytes.1);
        prepared.pii.push(PlacedMention {
            mention: index,
            kind: mention.kind,
            bytes,
            normalized: (first < end).then_some((first as u32, end as u32)),
        });
    }
    for segment in segments {
        segment.pii.sort_by_key(|placed| placed.bytes);
    }
}

/// The bytes of characters `start..end` of `text`, if they are in it.
fn byte_range(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if start > end {
        return None;
    }
    let mut offsets = text
        .char_indices()
        .map(|(offset, _)| offset)
        .chain(std::iter::once(text.len()));
    let first = offsets.nth(start)?;
    let last = if end == start {
        first
    } else {
        offsets.nth(end - start - 1)?
    };
    Some((first, last))
}

/// Times that are not finite are treated as 0 (the importer refuses them;
/// library callers may not).
fn sane(value: f64) -> f64 {
    if value.is_finite() {
        value.max(0.0)
    } else {
        0.0
    }
}

/// Fills `gap_before` and `overlap_before`.
fn timing(segments: &mut [PreparedSegment], call: &Call) {
    // Latest end so far, and which segment reached it.
    let mut latest: Option<(f64, usize)> = None;
    // Latest end so far per role (agent, customer).
    let mut latest_by_role = [f64::NEG_INFINITY; 2];
    for (index, segment) in segments.iter_mut().enumerate() {
        let (start, end, role) = (segment.start, segment.end, segment.role);
        if let Some((latest_end, speaker)) = latest {
            segment.gap_before = Some((start - latest_end, speaker));
        }
        let other = match role {
            Role::Agent => Some(1),
            Role::Customer => Some(0),
            Role::Unknown => None,
        };
        if let Some(other) = other {
            let overlap = latest_by_role[other].min(end) - start;
            segment.overlap_before = if overlap.is_finite() {
                overlap.max(0.0)
            } else {
                0.0
            };
            latest_by_role[1 - other] = latest_by_role[1 - other].max(end);
        }
        if latest.is_none_or(|(latest_end, _)| end >= latest_end) {
            latest = Some((end, index));
        }
    }
    // Silences the VAD found: each lengthens the gap before the first
    // segment that starts at or after it.
    for silence in &call.silences {
        let (start, end) = (sane(silence.start), sane(silence.end));
        let length = end - start;
        if length <= 0.0 {
            continue;
        }
        let next = segments.partition_point(|segment| segment.start < start);
        if next == 0 || next >= segments.len() {
            continue;
        }
        if let Some((gap, speaker)) = segments[next].gap_before {
            if length > gap {
                segments[next].gap_before = Some((length, speaker));
            }
        }
    }
}

/// Characters that OpenCC's t2s conversion may change: every character it
/// converts on its own, plus those that only phrases convert (反覆 → 反复,
/// 瞭解 → 了解; from OpenCC's TSPhrases table, which has no phrase whose
/// length changes). A text without any of them is already simplified, and
/// normalizing it skips OpenCC, which is most of the cost of preparing a
/// call (transcripts are mostly simplified already).
struct Traditional {
    /// One bit per BMP code point.
    bits: Vec<u64>,
}

/// Characters of TSPhrases.txt (ferrous-opencc 0.4) that a phrase converts
/// although t2s keeps them on their own.
const PHRASE_ONLY: &str = "么俱彷沈牴瞭藉衹覆";

/// Ranges whose characters are checked one by one when the table is built.
const CHECKED_RANGES: &[(u32, u32)] = &[
    (0x2E80, 0x2FE0),
    (0x3000, 0xA000),
    (0xF900, 0xFB00),
    (0xFE30, 0xFE50),
];

impl Traditional {
    fn shared(normalizer: &Normalizer) -> &'static Traditional {
        static TABLE: OnceLock<Traditional> = OnceLock::new();
        TABLE.get_or_init(|| Traditional::build(normalizer))
    }

    fn build(normalizer: &Normalizer) -> Traditional {
        let mut table = Traditional {
            bits: vec![0; 0x10000 / 64],
        };
        // One conversion of every character on its own line: phrases never
        // span a line break.
        let mut characters = Vec::new();
        let mut text = String::new();
        for (start, end) in CHECKED_RANGES {
            for code in *start..*end {
                if let Some(character) = char::from_u32(code) {
                    characters.push(character);
                    text.push(character);
                    text.push('\n');
                }
            }
        }
        let converted = normalizer.to_simplified(&text);
        let lines: Vec<&str> = converted.split('\n').collect();
        if lines.len() != characters.len() + 1 {
            // The conversion did not keep lines apart: check everything.
            table.bits.iter_mut().for_each(|word| *word = u64::MAX);
            return table;
        }
        for (character, line) in characters.iter().zip(&lines) {
            let mut buffer = [0u8; 4];
            if *line != character.encode_utf8(&mut buffer) {
                table.set(*character);
            }
        }
        for character in PHRASE_ONLY.chars() {
            table.set(character);
        }
        table
    }

    fn set(&mut self, character: char) {
        let code = character as usize;
        if code < 0x10000 {
            self.bits[code / 64] |= 1 << (code % 64);
        }
    }

    /// Whether t2s may change text holding this character.
    fn may_change(&self, character: char) -> bool {
        let code = character as usize;
        code >= 0x10000 || self.bits[code / 64] & (1 << (code % 64)) != 0
    }
}

/// [`Normalizer::normalize`], skipping OpenCC when the text is already
/// simplified (same result, a third of the time).
pub(crate) fn normalize(normalizer: &Normalizer, text: &str) -> Normalized {
    let traditional = Traditional::shared(normalizer);
    let mut normalized = Normalized {
        chars: Vec::with_capacity(text.len() / 3 + 1),
        spans: Vec::with_capacity(text.len() / 3 + 1),
    };
    for (offset, character) in text.char_indices() {
        let folded = if ('\u{4E00}'..='\u{9FFF}').contains(&character) {
            // CJK unified ideographs are kept as they are by `fold`.
            if traditional.may_change(character) {
                return normalizer.normalize(text);
            }
            character
        } else {
            if !character.is_ascii() && traditional.may_change(character) {
                return normalizer.normalize(text);
            }
            match callscope_core::text::fold(character) {
                Some(folded) => folded,
                None => continue,
            }
        };
        normalized.chars.push(folded);
        normalized
            .spans
            .push((offset, offset + character.len_utf8()));
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_normalizes_exactly_like_opencc() {
        let normalizer = Normalizer::shared();
        let mut texts: Vec<String> = vec![
            "您好，很高興為您服務！ＡＢ 12".to_string(),
            "反覆思量之後，我瞭解了，不要找藉口，沈默是金，牴牾之處".to_string(),
            "一目瞭然，答覆，回覆，乾淨，乾隆，著作，頭髮，發財".to_string(),
            "这个我也没办法，系统就是这么规定的。".to_string(),
            "𠀀𠀁 supplementary 字".to_string(),
        ];
        for (_, text) in callscope_core::lexicon::SHIPPED {
            texts.extend(text.lines().map(str::to_string));
        }
        texts.extend(
            include_str!("../../../corpora/demo/transcripts.jsonl")
                .lines()
                .map(str::to_string),
        );
        for line in callscope_testkit::synth::AGENT_LINES
            .iter()
            .chain(callscope_testkit::synth::CUSTOMER_LINES)
        {
            texts.push(line.to_string());
        }
        for text in &texts {
            assert_eq!(
                normalize(&normalizer, text),
                normalizer.normalize(text),
                "{text}"
            );
        }
        let table = Traditional::shared(&normalizer);
        assert!(table.may_change('為') && table.may_change('覆') && table.may_change('瞭'));
        assert!(!table.may_change('为') && !table.may_change('您'));
    }
}
