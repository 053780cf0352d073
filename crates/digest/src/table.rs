//! The calls of the digest's date span in memory, in compact columns: each
//! call's day and its sorted term ids (from the term cache). Every count the
//! digest makes is a parallel pass over this table.

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

use super::cache::decode_terms;
use callscope_core::error::{Error, Result};
use callscope_store::{CallFilter, Store};

/// A day as a number (days since 0001-01-01), cheap to compare.
pub type Day = i32;

/// The day number of `date`.
pub fn day_of(date: NaiveDate) -> Day {
    date.num_days_from_ce()
}

/// The date of day number `day`.
pub fn date_of(day: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).unwrap_or(NaiveDate::MIN)
}

/// Parses a store `local_date` (`YYYY-MM-DD`) without allocating.
pub fn parse_day(text: &str) -> Option<Day> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes[range].iter().try_fold(0u32, |value, byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?).map(day_of)
}

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    /// First day.
    pub first: Day,
    /// Last day, inclusive.
    pub last: Day,
}

impl DayRange {
    /// The range of two dates, inclusive.
    pub fn new(from: NaiveDate, to: NaiveDate) -> DayRange {
        DayRange {
            first: day_of(from),
            last: day_of(to),
        }
    }

    /// Whether `day` is in it.
    pub fn contains(&self, day: Day) -> bool {
        day >= self.first && day <= self.last
    }

    /// Number of days.
    pub fn days(&self) -> usize {
        (self.last - self.first + 1).max(0) as usize
    }

    /// First date.
    pub fn from(&self) -> NaiveDate {
        date_of(self.first)
    }

    /// Last date.
    pub fn to(&self) -> NaiveDate {
        date_of(self.last)
    }

    /// The smallest range holding both.
    pub fn union(&self, other: &DayRange) -> DayRange {
        DayRange {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
        }
    }
}

/// The calls of a span of days with their terms.
#[derive(Debug, Default)]
pub struct CallTable {
    /// The span loaded.
    pub span: Option<DayRange>,
    /// Each call's day.
    pub days: Vec<Day>,
    /// Each call's row in the term cache (to find its call id again).
    pub rows: Vec<i64>,
    /// Call `i`'s terms are `terms[offsets[i]..offsets[i + 1]]`.
    pub offsets: Vec<u32>,
    /// Sorted term ids of all calls, one after the other.
    pub terms: Vec<u32>,
    /// One more than the largest term id.
    pub vocabulary_bound: usize,
}

impl CallTable {
    /// Loads the cached terms of the calls `filter` selects; its dates are
    /// the table's span (both must be given).
    pub fn load(store: &Store, filter: CallFilter) -> Result<CallTable> {
        let span = match (filter.from, filter.to) {
            (Some(from), Some(to)) => DayRange::new(from, to),
            _ => {
                return Err(Error::Usage(
                    "the digest's term table needs a first and a last day".to_string(),
                ))
            }
        };
        let mut table = CallTable {
            span: Some(span),
            offsets: vec![0],
            ..CallTable::default()
        };
        store.for_each_cached_terms(&filter, false, |row, local_date, terms, _| {
            let Some(day) = parse_day(local_date) else {
                return Ok(());
            };
            decode_terms(terms, &mut table.terms).ok_or_else(|| {
                Error::Store(format!(
                    "cached terms of row {row} do not decode; run the digest again after \
                     `callscope digest --rebuild-cache`"
                ))
            })?;
            table.days.push(day);
            table.rows.push(row);
            table.offsets.push(table.terms.len() as u32);
            Ok(())
        })?;
        table.vocabulary_bound = table.terms.iter().max().map_or(0, |&max| max as usize + 1);
        Ok(table)
    }

    /// Number of calls.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether no call was loaded.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The sorted term ids of call `index`.
    pub fn terms_of(&self, index: usize) -> &[u32] {
        &self.terms[self.offsets[index] as usize..self.offsets[index + 1] as usize]
    }

    /// Whether call `index` mentions term `id`.
    pub fn has_term(&self, index: usize, id: u32) -> bool {
        self.terms_of(index).binary_search(&id).is_ok()
    }

    /// A parallel fold over all calls: each worker starts from `init()`, calls
    /// `step(&mut state, call)` for its calls, and the states are merged.
    pub fn fold<S: Send>(
        &self,
        init: impl Fn() -> S + Sync + Send,
        step: impl Fn(&mut S, usize) + Sync + Send,
        merge: impl Fn(S, S) -> S + Sync + Send,
    ) -> S {
        let pieces = (rayon::current_num_threads() * 2).max(1);
        let size = self.len().div_ceil(pieces).max(1);
        (0..self.len().div_ceil(size))
            .into_par_iter()
            .map(|piece| {
                let mut state = init();
                for call in piece * size..((piece + 1) * size).min(self.len()) {
                    step(&mut state, call);
                }
                state
            })
            .reduce_with(merge)
            .unwrap_or_else(init)
    }

    /// For each range, how many of its calls mention each term (indexed by
    /// term id), and how many calls it has.
    pub fn count_terms(&self, ranges: &[DayRange]) -> Vec<(Vec<u32>, u64)> {
        let bound = self.vocabulary_bound;
        self.fold(
            || {
                ranges
                    .iter()
                    .map(|_| (vec![0u32; bound], 0u64))
                    .collect::<Vec<_>>()
            },
            |state, call| {
                let day = self.days[call];
                for (range, (counts, calls)) in ranges.iter().zip(state.iter_mut()) {
                    if range.contains(day) {
                        *calls += 1;
                        for &id in self.terms_of(call) {
                            counts[id as usize] += 1;
                        }
                    }
                }
            },
            |mut left, right| {
                for ((counts, calls), (other_counts, other_calls)) in left.iter_mut().zip(right) {
                    *calls += other_calls;
                    for (count, other) in counts.iter_mut().zip(other_counts) {
                        *count += other;
                    }
                }
                left
            },
        )
    }

    /// Calls per day over `span` (index 0 is `span.first`).
    pub fn calls_per_day(&self, span: DayRange) -> Vec<u64> {
        let length = span.days();
        self.fold(
            || vec![0u64; length],
            |counts, call| {
                let day = self.days[call];
                if span.contains(day) {
                    counts[(day - span.first) as usize] += 1;
                }
            },
            add_vectors,
        )
    }

    /// For each of `ids`, calls per day over `span` that mention it.
    pub fn term_series(&self, ids: &[u32], span: DayRange) -> Vec<Vec<u64>> {
        let mut slots = vec![u16::MAX; self.vocabulary_bound];
        for (slot, &id) in ids.iter().enumerate() {
            if (id as usize) < slots.len() {
                slots[id as usize] = slot as u16;
            }
        }
        let length = span.days();
        let flat = self.fold(
            || vec![0u64; ids.len() * length],
            |counts, call| {
                let day = self.days[call];
                if !span.contains(day) {
                    return;
                }
                let offset = (day - span.first) as usize;
                for &id in self.terms_of(call) {
                    let slot = slots[id as usize];
                    if slot != u16::MAX {
                        counts[slot as usize * length + offset] += 1;
                    }
                }
            },
            add_vectors,
        );
        flat.chunks(length.max(1))
            .map(<[u64]>::to_vec)
            .take(ids.len())
            .collect()
    }
}

impl CallTable {
    /// Over the calls of `range`: how many mention each of `ids`, and how
    /// many mention each pair (`pairs[a * ids.len() + b]`).
    pub fn pair_counts(&self, ids: &[u32], range: DayRange) -> (Vec<u64>, Vec<u64>) {
        let count = ids.len();
        let mut slots = vec![u16::MAX; self.vocabulary_bound];
        for (slot, &id) in ids.iter().enumerate() {
            if (id as usize) < slots.len() {
                slots[id as usize] = slot as u16;
            }
        }
        let flat = self.fold(
            || vec![0u64; count + count * count],
            |counts, call| {
                if !range.contains(self.days[call]) {
                    return;
                }
                let present: Vec<usize> = self
                    .terms_of(call)
                    .iter()
                    .map(|&id| slots[id as usize])
                    .filter(|&slot| slot != u16::MAX)
                    .map(usize::from)
                    .collect();
                for &left in &present {
                    counts[left] += 1;
                    for &right in &present {
                        counts[count + left * count + right] += 1;
                    }
                }
            },
            add_vectors,
        );
        let (single, pairs) = flat.split_at(count);
        (single.to_vec(), pairs.to_vec())
    }
}

/// Adds `right` into `left` element by element.
pub fn add_vectors(mut left: Vec<u64>, right: Vec<u64>) -> Vec<u64> {
    for (value, other) in left.iter_mut().zip(right) {
        *value += other;
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print() {
        let day = parse_day("2026-09-01").unwrap();
        assert_eq!(date_of(day).to_string(), "2026-09-01");
        assert_eq!(parse_day("2026-09-02").unwrap(), day + 1);
        assert_eq!(parse_day("2026-9-1"), None);
        assert_eq!(parse_day("2026-02-30"), None);
        let range = DayRange {
            first: day,
            last: day + 6,
        };
        assert_eq!(range.days(), 7);
        assert!(range.contains(day + 6) && !range.contains(day + 7));
    }

    #[test]
    fn counts_and_series() {
        let table = CallTable {
            span: None,
            days: vec![10, 10, 11, 12],
            rows: vec![1, 2, 3, 4],
            offsets: vec![0, 2, 3, 5, 5],
            terms: vec![0, 2, 2, 0, 1],
            vocabulary_bound: 3,
        };
        let counts = table.count_terms(&[
            DayRange {
                first: 10,
                last: 10,
            },
            DayRange {
                first: 11,
                last: 12,
            },
        ]);
        assert_eq!(counts[0], (vec![1, 0, 2], 2));
        assert_eq!(counts[1], (vec![1, 1, 0], 2));
        let span = DayRange {
            first: 10,
            last: 12,
        };
        assert_eq!(table.calls_per_day(span), vec![2, 1, 1]);
        assert_eq!(
            table.term_series(&[2, 0], span),
            vec![vec![2, 0, 0], vec![1, 1, 0]]
        );
        assert!(table.has_term(2, 0) && !table.has_term(3, 0));
        let (single, pairs) = table.pair_counts(&[0, 2], span);
        assert_eq!(single, vec![2, 2]);
        assert_eq!(pairs, vec![2, 1, 1, 2]);
    }
}
