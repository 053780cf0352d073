//! A call prepared for scoring: every segment normalized once, keyword and
//! lexicon hits found once (one Aho-Corasick pass over all words of all
//! scorecards, plus homophones), and the timing facts the time-based
//! operators need. Built once per call and shared by every rule of every
//! scorecard.

use std::borrow::Cow;

use aho_corasick::AhoCorasick;

use super::fuzzy::{HomophoneHit, HomophoneIndex};
use super::similar;
use crate::model::{Call, Role};
use crate::text::{Normalized, Normalizer};

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
    pub fn new(call: &'c Call, matchers: &Matchers<'_>) -> Prepared<'c> {
        let sorted = call.segments.windows(2).all(|pair| {
            pair[0]
                .start
                .total_cmp(&pair[1].start)
                .then(pair[0].end.total_cmp(&pair[1].end))
                .is_le()
        });
        let call: Cow<'c, Call> = if sorted {
            Cow::Borrowed(call)
        } else {
            let mut owned = call.clone();
            owned.sort_segments();
            Cow::Owned(owned)
        };
        let mut role_counts = [0u32; 3];
        let mut homophone_hits: Vec<HomophoneHit> = Vec::new();
        let mut segments = Vec::with_capacity(call.segments.len());
        for segment in &call.segments {
            let normalized = matchers.normalizer.normalize(&segment.text);
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
                matchers.homophones.find(&normalized.chars, &mut homophone_hits);
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
            });
        }
        timing(&mut segments, &call);
        let duration = sane(call.effective_duration());
        Prepared {
            call,
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
    for index in 0..segments.len() {
        let (start, end, role) = (segments[index].start, segments[index].end, segments[index].role);
        if let Some((latest_end, speaker)) = latest {
            segments[index].gap_before = Some((start - latest_end, speaker));
        }
        let other = match role {
            Role::Agent => Some(1),
            Role::Customer => Some(0),
            Role::Unknown => None,
        };
        if let Some(other) = other {
            let overlap = latest_by_role[other].min(end) - start;
            segments[index].overlap_before = if overlap.is_finite() { overlap.max(0.0) } else { 0.0 };
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
