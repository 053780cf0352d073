//! Positional queries over a gram field that tantivy does not have. Each
//! word is an exact chain of grams (or, for a one-unit word, any gram that
//! starts with the unit), and the words must stand either
//!
//! - **within a window** ([`Arrangement::Window`]): all in one segment with
//!   at most N other units among them, in any order. One word alone is the
//!   exact-substring query for one-character queries; several are the
//!   proximity operator `"投诉 退款"~5`; or
//! - **in a row, across a particle** ([`Arrangement::Sequence`]): one after
//!   the other, with at most one particle (的 了 地 得 着 过 之) between two
//!   of them, in calls that have such a particle at all: with tantivy's
//!   exact phrase beside it, `"按钮位置"~的` finds 按钮位置 and 按钮的位置
//!   while the scorer only visits calls with a 的 (or another particle)
//!   before 位置.
//!
//! The same rules ([`near_windows`], [`sequence_matches`]) decide matches
//! here and when hits are highlighted.

use std::fmt;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{Bm25Weight, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption, Term};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, TERMINATED};

use super::analyzer::{gram_term, PARTICLES};
use super::plan::gram_cover;

/// One word of a [`NearQuery`]: its units in normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearWord {
    /// The units (characters, ASCII words) and whether each is ASCII.
    pub units: Vec<(String, bool)>,
}

impl NearWord {
    /// The grams that pin a word of two or more units down:
    /// `(offset, gram)`, see [`gram_cover`].
    fn chain(&self) -> Vec<(u32, String)> {
        gram_cover(&self.units)
            .into_iter()
            .map(|(offset, gram)| (offset as u32, gram))
            .collect()
    }

    /// Length in units.
    pub fn len(&self) -> u32 {
        self.units.len() as u32
    }

    /// Whether the word has no units.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

/// How the words of a [`NearQuery`] must stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrangement {
    /// In one window with at most this many other units, any order (one
    /// word: anywhere).
    Window(u32),
    /// In order, each right after the previous or after one particle; only
    /// documents holding one of the particle grams are visited.
    Sequence,
}

/// Words that must stand in a gram field as their [`Arrangement`] says.
#[derive(Debug, Clone)]
pub struct NearQuery {
    field: Field,
    words: Vec<NearWord>,
    arrangement: Arrangement,
}

impl NearQuery {
    /// The query; `words` must not be empty and no word may be empty.
    pub fn new(field: Field, words: Vec<NearWord>, arrangement: Arrangement) -> NearQuery {
        debug_assert!(!words.is_empty() && words.iter().all(|word| !word.is_empty()));
        NearQuery {
            field,
            words,
            arrangement,
        }
    }

    fn chain_terms(&self) -> Vec<Term> {
        self.words
            .iter()
            .filter(|word| word.len() >= 2)
            .flat_map(NearWord::chain)
            .map(|(_, text)| Term::from_field_text(self.field, &text))
            .collect()
    }
}

impl Query for NearQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let bm25 = match enable_scoring {
            EnableScoring::Enabled {
                statistics_provider,
                ..
            } => {
                let terms = self.chain_terms();
                if terms.is_empty() {
                    // One-unit words only: their document frequency is not one
                    // term's; score by frequency with a middling idf.
                    let docs = statistics_provider.total_num_docs()?.max(1);
                    let tokens = statistics_provider.total_num_tokens(self.field)?;
                    Some(Bm25Weight::for_one_term(
                        docs / 2,
                        docs,
                        tokens as f32 / docs as f32,
                    ))
                } else {
                    Some(Bm25Weight::for_terms(statistics_provider, &terms)?)
                }
            }
            EnableScoring::Disabled { .. } => None,
        };
        Ok(Box::new(NearWeight {
            field: self.field,
            words: self.words.clone(),
            arrangement: self.arrangement,
            bm25,
        }))
    }

    fn query_terms<'a>(&'a self, _visitor: &mut dyn FnMut(&'a Term, bool)) {}
}

struct NearWeight {
    field: Field,
    words: Vec<NearWord>,
    arrangement: Arrangement,
    bm25: Option<Bm25Weight>,
}

impl NearWeight {
    fn near_scorer(
        &self,
        reader: &SegmentReader,
        boost: Score,
    ) -> tantivy::Result<Option<NearScorer>> {
        let inverted = reader.inverted_index(self.field)?;
        let mut cursors = Vec::with_capacity(self.words.len());
        for word in &self.words {
            let cursor = if word.len() >= 2 {
                let mut members = Vec::new();
                for (offset, text) in word.chain() {
                    let term = Term::from_field_text(self.field, &text);
                    match inverted.read_postings(&term, IndexRecordOption::WithFreqsAndPositions)? {
                        Some(postings) => members.push((offset, postings)),
                        None => return Ok(None),
                    }
                }
                WordCursor::Chain(members)
            } else {
                let (unit, ascii) = &word.units[0];
                let mut members = Vec::new();
                let mut stream = inverted.terms().range().ge(unit.as_bytes()).into_stream()?;
                while stream.advance() {
                    let key = stream.key();
                    if !key.starts_with(unit.as_bytes()) {
                        break;
                    }
                    // An ASCII unit is a whole word: `app` or `app …`, never `apps`.
                    if *ascii && key.len() > unit.len() && key[unit.len()] != b' ' {
                        continue;
                    }
                    let postings = inverted.read_postings_from_terminfo(
                        stream.value(),
                        IndexRecordOption::WithFreqsAndPositions,
                    )?;
                    members.push(postings);
                }
                if members.is_empty() {
                    return Ok(None);
                }
                WordCursor::Union(members)
            };
            cursors.push(cursor);
        }
        // For a sequence: the grams "particle + the next word's first units"
        // (a trigram when the word has two units: ^的退回 is much rarer than
        // 的退) that may stand between two words, per gap; and, as a cursor,
        // any of them (a document without one is the exact phrase's business).
        let mut particles = Vec::new();
        if self.arrangement == Arrangement::Sequence {
            let mut any = Vec::new();
            for word in &self.words[1..] {
                let mut postings = Vec::new();
                for particle in PARTICLES {
                    let mut gram_units = vec![(particle.to_string(), false)];
                    gram_units.extend(word.units.iter().take(2).cloned());
                    let text = gram_term(&gram_units);
                    let term = Term::from_field_text(self.field, &text);
                    if let Some(found) =
                        inverted.read_postings(&term, IndexRecordOption::WithFreqsAndPositions)?
                    {
                        postings.push(found);
                    }
                    if let Some(found) = inverted.read_postings(&term, IndexRecordOption::Basic)? {
                        any.push(found);
                    }
                }
                particles.push(postings);
            }
            if any.is_empty() {
                return Ok(None);
            }
            cursors.push(WordCursor::Union(any));
        }
        let fieldnorms = match reader.fieldnorms_readers().get_field(self.field)? {
            Some(fieldnorms) if self.bm25.is_some() => fieldnorms,
            _ => FieldNormReader::constant(reader.max_doc(), 1),
        };
        let lengths = self.words.iter().map(NearWord::len).collect();
        let mut scorer = NearScorer {
            cursors,
            lengths,
            arrangement: self.arrangement,
            particles,
            particle_positions: Vec::new(),
            bm25: self.bm25.as_ref().map(|bm25| bm25.boost_by(boost)),
            fieldnorms,
            doc: 0,
            matches: 0,
            occurrences: Vec::new(),
            buffer: Vec::new(),
        };
        scorer.doc = scorer.find(0);
        Ok(Some(scorer))
    }
}

impl Weight for NearWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(match self.near_scorer(reader, boost)? {
            Some(scorer) => Box::new(scorer),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.near_scorer(reader, 1.0)?.ok_or_else(|| {
            TantivyError::InvalidArgument(format!("document {doc} does not match"))
        })?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("near", scorer.score()))
    }
}

/// The postings of one word in one segment.
enum WordCursor {
    /// Grams that must follow each other: `(offset in the word, postings)`.
    Chain(Vec<(u32, SegmentPostings)>),
    /// Any of these grams (a one-unit word).
    Union(Vec<SegmentPostings>),
}

impl WordCursor {
    /// Moves to the first document at or after `target` that has every
    /// gram of a chain (a chain's position check comes later).
    fn seek(&mut self, target: DocId) -> DocId {
        match self {
            WordCursor::Chain(members) => {
                let mut candidate = target;
                'restart: loop {
                    for (_, postings) in members.iter_mut() {
                        let doc = if postings.doc() < candidate {
                            postings.seek(candidate)
                        } else {
                            postings.doc()
                        };
                        if doc == TERMINATED {
                            return TERMINATED;
                        }
                        if doc > candidate {
                            candidate = doc;
                            continue 'restart;
                        }
                    }
                    return candidate;
                }
            }
            WordCursor::Union(members) => {
                let mut smallest = TERMINATED;
                for postings in members.iter_mut() {
                    let doc = if postings.doc() < target {
                        postings.seek(target)
                    } else {
                        postings.doc()
                    };
                    smallest = smallest.min(doc);
                }
                smallest
            }
        }
    }

    fn size_hint(&self) -> u32 {
        match self {
            WordCursor::Chain(members) => {
                members.iter().map(|m| m.1.size_hint()).min().unwrap_or(0)
            }
            WordCursor::Union(members) => members.iter().map(|m| m.size_hint()).sum(),
        }
    }

    /// Start positions of the word in the current document `doc`.
    fn occurrences(&mut self, doc: DocId, output: &mut Vec<u32>, buffer: &mut Vec<u32>) {
        output.clear();
        match self {
            WordCursor::Chain(members) => {
                // A chain always has grams (a word of two or more units).
                let Some((first, rest)) = members.split_first_mut() else {
                    return;
                };
                first.1.positions(output);
                for (offset, postings) in rest {
                    postings.positions(buffer);
                    let offset = *offset;
                    let mut next = buffer
                        .iter()
                        .filter(|&&p| p >= offset)
                        .map(|&p| p - offset)
                        .peekable();
                    output.retain(|&start| {
                        while next.peek().is_some_and(|&p| p < start) {
                            next.next();
                        }
                        next.peek() == Some(&start)
                    });
                    if output.is_empty() {
                        return;
                    }
                }
            }
            WordCursor::Union(members) => {
                for postings in members.iter_mut().filter(|m| m.doc() == doc) {
                    postings.positions(buffer);
                    output.extend_from_slice(buffer);
                }
                output.sort_unstable();
                output.dedup();
            }
        }
    }
}

struct NearScorer {
    cursors: Vec<WordCursor>,
    lengths: Vec<u32>,
    arrangement: Arrangement,
    /// Per gap between two words of a sequence: the particle grams.
    particles: Vec<Vec<SegmentPostings>>,
    particle_positions: Vec<Vec<u32>>,
    bm25: Option<Bm25Weight>,
    fieldnorms: FieldNormReader,
    doc: DocId,
    matches: u32,
    occurrences: Vec<Vec<u32>>,
    buffer: Vec<u32>,
}

impl NearScorer {
    /// The first matching document at or after `target`.
    fn find(&mut self, mut target: DocId) -> DocId {
        loop {
            let mut candidate = target;
            'align: loop {
                for cursor in self.cursors.iter_mut() {
                    let doc = cursor.seek(candidate);
                    if doc == TERMINATED {
                        return TERMINATED;
                    }
                    if doc > candidate {
                        candidate = doc;
                        continue 'align;
                    }
                }
                break;
            }
            if self.check(candidate) {
                return candidate;
            }
            target = candidate + 1;
        }
    }

    /// Whether document `doc` (on which every cursor stands) has a window.
    fn check(&mut self, doc: DocId) -> bool {
        // One cursor per word (a sequence has one more: any particle gram).
        let words = self.lengths.len();
        self.occurrences.resize_with(words, Vec::new);
        for (cursor, output) in self.cursors[..words]
            .iter_mut()
            .zip(self.occurrences.iter_mut())
        {
            cursor.occurrences(doc, output, &mut self.buffer);
            if output.is_empty() {
                return false;
            }
        }
        let mut matches = 0;
        match self.arrangement {
            Arrangement::Window(max_gap) => {
                near_windows(&self.occurrences, &self.lengths, max_gap, |_| matches += 1);
            }
            Arrangement::Sequence => {
                self.particle_positions
                    .resize_with(self.particles.len(), Vec::new);
                for (postings, positions) in self
                    .particles
                    .iter_mut()
                    .zip(self.particle_positions.iter_mut())
                {
                    positions.clear();
                    for posting in postings.iter_mut() {
                        let at = if posting.doc() < doc {
                            posting.seek(doc)
                        } else {
                            posting.doc()
                        };
                        if at == doc {
                            posting.positions(&mut self.buffer);
                            positions.extend_from_slice(&self.buffer);
                        }
                    }
                    positions.sort_unstable();
                }
                sequence_matches(
                    &self.occurrences,
                    &self.lengths,
                    &self.particle_positions,
                    |_, _| matches += 1,
                );
            }
        }
        self.matches = matches;
        matches > 0
    }
}

impl DocSet for NearScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.find(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = self.find(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.cursors
            .iter()
            .map(WordCursor::size_hint)
            .min()
            .unwrap_or(0)
    }
}

impl Scorer for NearScorer {
    fn score(&mut self) -> Score {
        match &self.bm25 {
            Some(bm25) => bm25.score(self.fieldnorms.fieldnorm_id(self.doc), self.matches),
            None => 1.0,
        }
    }
}

impl fmt::Debug for NearScorer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "NearScorer(doc {})", self.doc)
    }
}

/// Finds the windows that hold one occurrence of every word with at most
/// `max_gap` other units in them, and hands each window's chosen start
/// positions (one per word) to `found`. `occurrences[w]` are the sorted start
/// positions of word `w`, `lengths[w]` its length in units.
///
/// For every occurrence taken as the leftmost of a window, each other word's
/// earliest occurrence at or after it is the best choice (it ends first), so
/// one pass over the occurrences finds every window.
pub fn near_windows(
    occurrences: &[Vec<u32>],
    lengths: &[u32],
    max_gap: u32,
    mut found: impl FnMut(&[u32]),
) {
    if occurrences.len() == 1 {
        for &start in &occurrences[0] {
            found(&[start]);
        }
        return;
    }
    let total: i64 = lengths.iter().map(|&length| i64::from(length)).sum();
    let mut chosen = vec![0u32; occurrences.len()];
    for (word, starts) in occurrences.iter().enumerate() {
        'leftmost: for &start in starts {
            let mut end = i64::from(start) + i64::from(lengths[word]);
            for (other, other_starts) in occurrences.iter().enumerate() {
                if other == word {
                    chosen[other] = start;
                    continue;
                }
                let index = other_starts.partition_point(|&s| s < start);
                let Some(&other_start) = other_starts.get(index) else {
                    continue 'leftmost;
                };
                chosen[other] = other_start;
                end = end.max(i64::from(other_start) + i64::from(lengths[other]));
            }
            if end - i64::from(start) - total <= i64::from(max_gap) {
                found(&chosen);
            }
        }
    }
}

/// Finds the words in order, each right after the previous one or after
/// one particle, and hands each match's first start and last end to `found`.
/// `occurrences[w]` are the sorted start positions of word `w`;
/// `particles[g]` the sorted positions holding a particle in the gap after
/// word `g` (in the index: where the gram "particle + next word's first
/// unit" stands).
pub fn sequence_matches(
    occurrences: &[Vec<u32>],
    lengths: &[u32],
    particles: &[Vec<u32>],
    mut found: impl FnMut(u32, u32),
) {
    // (start of the match, end of the words so far)
    let mut partial: Vec<(u32, u32)> = occurrences[0]
        .iter()
        .map(|&start| (start, start + lengths[0]))
        .collect();
    for (word, starts) in occurrences.iter().enumerate().skip(1) {
        let mut next = Vec::new();
        for &(origin, end) in &partial {
            if starts.binary_search(&end).is_ok() {
                next.push((origin, end + lengths[word]));
            }
            let particle_here = particles
                .get(word - 1)
                .is_some_and(|positions| positions.binary_search(&end).is_ok());
            if particle_here && starts.binary_search(&(end + 1)).is_ok() {
                next.push((origin, end + 1 + lengths[word]));
            }
        }
        next.sort_unstable();
        next.dedup();
        partial = next;
        if partial.is_empty() {
            return;
        }
    }
    for (origin, end) in partial {
        found(origin, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(occurrences: &[Vec<u32>], lengths: &[u32], max_gap: u32) -> Vec<Vec<u32>> {
        let mut all = Vec::new();
        near_windows(occurrences, lengths, max_gap, |chosen| {
            all.push(chosen.to_vec())
        });
        all.sort();
        all.dedup();
        all
    }

    #[test]
    fn windows_in_either_order_within_the_gap() {
        // 按钮 at 0, 位置 at 5: three units between them.
        assert_eq!(windows(&[vec![0], vec![5]], &[2, 2], 3), vec![vec![0, 5]]);
        assert!(windows(&[vec![0], vec![5]], &[2, 2], 2).is_empty());
        // Reversed order counts the same.
        assert_eq!(windows(&[vec![5], vec![0]], &[2, 2], 3), vec![vec![5, 0]]);
        // Overlapping occurrences are as near as can be.
        assert_eq!(windows(&[vec![0], vec![1]], &[2, 2], 0), vec![vec![0, 1]]);
    }

    #[test]
    fn sequences_allow_one_particle_between_words() {
        let matches = |occurrences: &[Vec<u32>], particles: &[Vec<u32>]| {
            let mut all = Vec::new();
            sequence_matches(occurrences, &[2, 2], particles, |start, end| {
                all.push((start, end))
            });
            all
        };
        // 按钮位置: 按钮 at 0, 位置 at 2.
        assert_eq!(matches(&[vec![0], vec![2]], &[vec![]]), [(0, 4)]);
        // 按钮的位置: a particle at 2, 位置 at 3.
        assert_eq!(matches(&[vec![0], vec![3]], &[vec![2]]), [(0, 5)]);
        // 按钮在位置: no particle at 2.
        assert!(matches(&[vec![0], vec![3]], &[vec![]]).is_empty());
        // Not in reverse order.
        assert!(matches(&[vec![2], vec![0]], &[vec![]]).is_empty());
    }

    #[test]
    fn three_words_use_the_tightest_window() {
        // a at 0 and 20, b at 22, c at 25 (lengths 1): the window 20..26 has
        // gap 6 - 3 = 3.
        let found = windows(&[vec![0, 20], vec![22], vec![25]], &[1, 1, 1], 3);
        assert_eq!(found, vec![vec![20, 22, 25]]);
        assert!(windows(&[vec![0, 20], vec![22], vec![25]], &[1, 1, 1], 2).is_empty());
    }
}
