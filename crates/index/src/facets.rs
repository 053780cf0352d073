//! Counts of matching calls per agent, team, queue and violated rule, read
//! from the fast fields in one pass over the matches.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use callscope_core::model::{FacetCount, SearchFacets};

/// The facet fields, in the order of [`SearchFacets`]' lists.
const FACET_FIELDS: [&str; 4] = ["agent_id", "team", "queue", "violated"];

/// Collects facet counts.
pub struct FacetCollector;

/// Per segment: the columns and a count per term ordinal.
pub struct FacetSegmentCollector {
    columns: Vec<Option<(StrColumn, Vec<u64>)>>,
}

impl Collector for FacetCollector {
    type Fruit = SearchFacets;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FacetSegmentCollector> {
        let mut columns = Vec::with_capacity(FACET_FIELDS.len());
        for field in FACET_FIELDS {
            columns.push(reader.fast_fields().str(field)?.map(|column| {
                let terms = column.num_terms();
                (column, vec![0; terms])
            }));
        }
        Ok(FacetSegmentCollector { columns })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<HashMap<String, u64>>>,
    ) -> tantivy::Result<SearchFacets> {
        let mut totals: Vec<HashMap<String, u64>> = vec![HashMap::new(); FACET_FIELDS.len()];
        for fruit in fruits {
            for (total, counts) in totals.iter_mut().zip(fruit) {
                for (value, count) in counts {
                    *total.entry(value).or_default() += count;
                }
            }
        }
        Ok(sorted(totals))
    }
}

/// The facet counts of several partitions added up: exact, since every
/// partition counts all its matches (lists are never cut short here).
pub fn merge(parts: Vec<SearchFacets>) -> SearchFacets {
    let mut totals: Vec<HashMap<String, u64>> = vec![HashMap::new(); FACET_FIELDS.len()];
    for part in parts {
        let lists = [part.agent_id, part.team, part.queue, part.violated];
        for (total, list) in totals.iter_mut().zip(lists) {
            for count in list {
                *total.entry(count.value).or_default() += count.calls;
            }
        }
    }
    sorted(totals)
}

/// Counts per value, in the order of [`FACET_FIELDS`], as sorted lists.
fn sorted(totals: Vec<HashMap<String, u64>>) -> SearchFacets {
    let mut lists = totals.into_iter().map(|counts| {
        let mut list: Vec<FacetCount> = counts
            .into_iter()
            .map(|(value, calls)| FacetCount { value, calls })
            .collect();
        list.sort_by(|left, right| {
            right
                .calls
                .cmp(&left.calls)
                .then_with(|| left.value.cmp(&right.value))
        });
        list
    });
    SearchFacets {
        agent_id: lists.next().unwrap_or_default(),
        team: lists.next().unwrap_or_default(),
        queue: lists.next().unwrap_or_default(),
        violated: lists.next().unwrap_or_default(),
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = Vec<HashMap<String, u64>>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        for (column, counts) in self.columns.iter_mut().flatten() {
            for ordinal in column.term_ords(doc) {
                counts[ordinal as usize] += 1;
            }
        }
    }

    fn harvest(self) -> Vec<HashMap<String, u64>> {
        self.columns
            .into_iter()
            .map(|column| {
                let mut counts = HashMap::new();
                let Some((column, ordinals)) = column else {
                    return counts;
                };
                let used: Vec<(u64, u64)> = ordinals
                    .into_iter()
                    .enumerate()
                    .filter(|(_, count)| *count > 0)
                    .map(|(ordinal, count)| (ordinal as u64, count))
                    .collect();
                // One pass over the dictionary for all values (sorted ordinals).
                let mut next = used.iter();
                let _ = column.dictionary().sorted_ords_to_term_cb(
                    used.iter().map(|(ordinal, _)| *ordinal),
                    |bytes| {
                        if let Some((_, count)) = next.next() {
                            counts.insert(String::from_utf8_lossy(bytes).into_owned(), *count);
                        }
                        Ok(())
                    },
                );
                counts
            })
            .collect()
    }
}
