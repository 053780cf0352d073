//! The voice-of-the-customer digest: what customers talk about, what is
//! rising, what changed, and whose QA quality dropped.
//!
//! [`Digester`] is built once from [`DigestOptions`] and a [`Dictionary`];
//! [`Digester::update_cache`] brings the store's per-call term cache up to
//! date (only new or changed calls are segmented, see [`cache`]) and
//! [`Digester::digest`] computes a [`Digest`] (docs/formats.md §5) from the cache
//! and the stored QA results, in parallel passes over an in-memory table of
//! the span's calls ([`table`]). [`view`] formats a digest once, section by
//! section, and [`text`], [`markdown`] and [`html`] lay that view out.
//!
//! ```
//! use callscope_core::dictionary::Dictionary;
//! use callscope_digest::{DigestOptions, Digester};
//! use callscope_store::Store;
//! use callscope_testkit::synth_voc::{VocGenerator, VocScenario};
//!
//! let generator = VocGenerator::new(VocScenario::small());
//! let mut store = Store::open_in_memory()?;
//! store.put_calls(&generator.calls())?;
//! let digester = Digester::new(DigestOptions::default(), Dictionary::load(None)?)?;
//! let (_, run) = digester.run(&mut store, |_, _| {})?;
//! assert!(run.digest.calls.window > 0);
//! # Ok::<(), callscope_core::error::Error>(())
//! ```

pub mod alerts;
pub mod cache;
pub mod compare;
pub mod cooccur;
pub mod emerging;
pub mod extract;
pub mod html;
pub mod markdown;
pub mod qa_summary;
pub mod report;
pub mod stats;
pub mod svg;
pub mod table;
pub mod text;
pub mod topics;
pub mod view;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate};

pub use cache::{CacheReport, TermCache};
pub use extract::TermExtractor;
pub use report::Digest;

use callscope_core::dictionary::Dictionary;
use callscope_core::error::{Error, Result};
use callscope_core::model::{Call, Role};
use callscope_store::{CallFilter, Store};
use report::{
    Alert, CallCounts, DayCount, Period, QaSummary, Quote, Settings, TermChange, TermCount,
    TopicCount, WeekCount,
};
use table::{CallTable, DayRange};
use topics::{Compiled, Topic};

/// What a digest looks at and the thresholds it decides with.
#[derive(Debug, Clone)]
pub struct DigestOptions {
    /// First day of the window (default: six days before `to`).
    pub from: Option<NaiveDate>,
    /// Last day of the window (default: the last day with calls).
    pub to: Option<NaiveDate>,
    /// First day of the baseline (default: 27 days before `baseline_to`).
    pub baseline_from: Option<NaiveDate>,
    /// Last day of the baseline (default: the day before `from`).
    pub baseline_to: Option<NaiveDate>,
    /// Only calls of this queue.
    pub queue: Option<String>,
    /// Only calls of this agent.
    pub agent_id: Option<String>,
    /// Only calls of this team.
    pub team: Option<String>,
    /// The analysts' topic file (TOML, see [`topics`]).
    pub topics_file: Option<PathBuf>,
    /// A before/after comparison: `(BEFORE, AFTER, term or topic)`, periods
    /// written `FROM..TO`.
    pub compare: Option<(String, String, String)>,
    /// A term whose companions to rank.
    pub focus: Option<String>,
    /// Top terms listed.
    pub top_terms: usize,
    /// Rising and falling terms listed (each).
    pub top_changes: usize,
    /// Quotes per rising or falling term.
    pub examples: usize,
    /// Minimum support of a rising or falling term, in calls.
    pub min_calls: u64,
    /// Minimum ratio of shares for a rising or falling term.
    pub min_lift: f64,
    /// Family-wise significance level over all terms tested.
    pub alpha: f64,
    /// Minimum sentences shared with the focus term.
    pub min_together: u64,
    /// Companions listed.
    pub top_companions: usize,
    /// Fewest scored calls per period for an alert.
    pub alert_min_calls: u64,
    /// False discovery rate for alerts.
    pub alert_fdr: f64,
    /// Smallest average-score drop that alerts, in points.
    pub alert_min_score_drop: f64,
    /// Smallest pass-rate drop that alerts (0..1).
    pub alert_min_pass_rate_drop: f64,
    /// Names the user dictionary loaded into the segmenter (empty for none),
    /// so a change of it refreshes the term cache.
    pub dictionary_fingerprint: String,
}

impl DigestOptions {
    /// The calls of `range` that the digest covers (its queue, agent and
    /// team, if given).
    fn calls_of(&self, range: DayRange) -> CallFilter {
        CallFilter {
            from: Some(range.from()),
            to: Some(range.to()),
            queue: self.queue.clone(),
            agent_id: self.agent_id.clone(),
            team: self.team.clone(),
            call_ids: Vec::new(),
        }
    }
}

impl Default for DigestOptions {
    fn default() -> DigestOptions {
        DigestOptions {
            from: None,
            to: None,
            baseline_from: None,
            baseline_to: None,
            queue: None,
            agent_id: None,
            team: None,
            topics_file: None,
            compare: None,
            focus: None,
            top_terms: 30,
            top_changes: 15,
            examples: 3,
            min_calls: 10,
            min_lift: 1.5,
            alpha: 0.01,
            min_together: 3,
            top_companions: 15,
            alert_min_calls: 30,
            alert_fdr: 0.05,
            alert_min_score_drop: 3.0,
            alert_min_pass_rate_drop: 0.05,
            dictionary_fingerprint: String::new(),
        }
    }
}

/// A digest with the time each part took (for `callscope bench digest`).
#[derive(Debug, Clone)]
pub struct DigestRun {
    /// The digest.
    pub digest: Digest,
    /// `(part, seconds)` in the order they ran.
    pub timings: Vec<(&'static str, f64)>,
}

/// The digest stage: built once, run against a store.
#[derive(Debug)]
pub struct Digester {
    options: DigestOptions,
    extractor: TermExtractor,
    topics: Vec<Topic>,
    compare: Option<(DayRange, DayRange, String)>,
}

/// The resolved periods of one digest.
#[derive(Debug, Clone, Copy)]
struct Periods {
    window: DayRange,
    baseline: DayRange,
    span: DayRange,
}

impl Digester {
    /// Checks the options (topic file, comparison periods) and builds the
    /// term extractor.
    pub fn new(options: DigestOptions, dictionary: Dictionary) -> Result<Digester> {
        let extractor = TermExtractor::new(dictionary, &options.dictionary_fingerprint);
        let topics = match &options.topics_file {
            Some(path) => topics::load(path, &extractor)?,
            None => Vec::new(),
        };
        let compare = match &options.compare {
            Some((before, after, term)) => {
                if term.trim().is_empty() {
                    return Err(Error::Usage(
                        "--compare needs --term: the term or topic whose share to compare"
                            .to_string(),
                    ));
                }
                Some((
                    compare::parse_period(before)?,
                    compare::parse_period(after)?,
                    term.trim().to_string(),
                ))
            }
            None => None,
        };
        if options.min_lift < 1.0 || !(0.0..1.0).contains(&options.alpha) {
            return Err(Error::Usage(
                "--min-lift must be at least 1 and the significance level between 0 and 1"
                    .to_string(),
            ));
        }
        Ok(Digester {
            options,
            extractor,
            topics,
            compare,
        })
    }

    /// The term extractor (shared with the cache).
    pub fn extractor(&self) -> &TermExtractor {
        &self.extractor
    }

    /// Brings the term cache up to date; `progress` is told `(done, total)`.
    pub fn update_cache(
        &self,
        store: &mut Store,
        progress: impl FnMut(u64, u64),
    ) -> Result<CacheReport> {
        TermCache::new(&self.extractor).update(store, progress)
    }

    /// Updates the cache, then digests.
    pub fn run(
        &self,
        store: &mut Store,
        progress: impl FnMut(u64, u64),
    ) -> Result<(CacheReport, DigestRun)> {
        let report = self.update_cache(store, progress)?;
        let mut run = self.digest(store)?;
        if !report.failed.is_empty() {
            run.digest.notes.push(format!(
                "{} calls could not be read and are left out (first: {}: {})",
                report.failed.len(),
                report.failed[0].0,
                report.failed[0].1
            ));
        }
        Ok((report, run))
    }

    fn periods(&self, store: &Store) -> Result<Periods> {
        let options = &self.options;
        let to = match options.to {
            Some(to) => to,
            None => {
                let (_, last) = store.local_date_range()?.ok_or_else(|| {
                    Error::Usage(
                        "no calls with a start time in the workspace: import transcripts with \
                         `started_at` first"
                            .to_string(),
                    )
                })?;
                NaiveDate::parse_from_str(&last, "%Y-%m-%d").map_err(|_| {
                    Error::Store(format!("stored local date '{last}' is not YYYY-MM-DD"))
                })?
            }
        };
        let from = options.from.unwrap_or(to - Duration::days(6));
        if from > to {
            return Err(Error::Usage(format!(
                "--from {from} is after --to {to}; the window must start before it ends"
            )));
        }
        let baseline_to = options
            .baseline_to
            .unwrap_or_else(|| match options.baseline_from {
                Some(baseline_from) if baseline_from >= from => baseline_from,
                _ => from - Duration::days(1),
            });
        let baseline_from = options
            .baseline_from
            .unwrap_or(baseline_to - Duration::days(27));
        if baseline_from > baseline_to {
            return Err(Error::Usage(format!(
                "--baseline-from {baseline_from} is after --baseline-to {baseline_to}"
            )));
        }
        let window = DayRange::new(from, to);
        let baseline = DayRange::new(baseline_from, baseline_to);
        if baseline.first <= window.last && window.first <= baseline.last {
            return Err(Error::Usage(format!(
                "the baseline {baseline_from}..{baseline_to} overlaps the window {from}..{to}; \
                 pick a baseline before (or after) the window"
            )));
        }
        Ok(Periods {
            window,
            baseline,
            span: window.union(&baseline),
        })
    }

    /// Computes the digest from the term cache and stored QA results (call
    /// [`Digester::update_cache`] first, or use [`Digester::run`]).
    pub fn digest(&self, store: &Store) -> Result<DigestRun> {
        let mut laps = Laps::start();
        let periods = self.periods(store)?;
        let table = self.load_table(store, periods)?;
        laps.lap("load term cache");

        let counts = Counts::new(&table, periods);
        laps.lap("count terms");

        let ranking = self.rank(store, &table, periods, &counts)?;
        laps.lap("rank changes");

        let series = TermSeries::new(&table, &ranking.listed_ids(), periods.span);
        laps.lap("term series");

        let targets = ranking.quote_targets(periods);
        let mut quotes = self.quotes(store, &table, &targets, &ranking.names)?;
        laps.lap("examples");

        let terms = ranking.term_counts(&counts, &series, periods.span);
        let emerging = term_changes(ranking.rising, &series, &mut quotes, periods.span);
        let falling = term_changes(ranking.falling, &series, &mut quotes, periods.span);
        let (topics, compiled) = self.topics(store, &table, periods, &counts)?;
        laps.lap("topics");

        let mut notes = Vec::new();
        let compare = self
            .compare
            .as_ref()
            .map(|(before, after, term)| {
                self.comparison(store, &table, *before, *after, term, &compiled, &mut notes)
            })
            .transpose()?;
        let cooccurrence = self
            .options
            .focus
            .as_ref()
            .map(|focus| self.cooccurrence(store, periods.window, focus, &mut notes))
            .transpose()?;
        laps.lap("compare and co-occurrence");

        let (qa, alerts) = self.qa_and_alerts(store, periods)?;
        laps.lap("qa and alerts");

        notes.extend(missing_data_notes(periods, &counts, qa.calls));
        let digest = Digest {
            window: period(periods.window, counts.window_calls),
            baseline: period(periods.baseline, counts.baseline_calls),
            calls: counts.call_counts(periods.span),
            terms,
            emerging,
            falling,
            topics,
            compare,
            cooccurrence,
            qa,
            alerts,
            settings: self.settings(ranking.tested),
            notes,
        };
        Ok(DigestRun {
            digest,
            timings: laps.timings,
        })
    }

    /// The term cache of the span's calls and of the comparison's periods.
    fn load_table(&self, store: &Store, periods: Periods) -> Result<CallTable> {
        let mut range = periods.span;
        if let Some((before, after, _)) = &self.compare {
            range = range.union(before).union(after);
        }
        CallTable::load(store, self.options.calls_of(range))
    }

    /// Finds the rising and falling terms, folds each list into themes and
    /// names them with the window's top terms.
    fn rank(
        &self,
        store: &Store,
        table: &CallTable,
        periods: Periods,
        counts: &Counts,
    ) -> Result<Ranking> {
        let options = &self.options;
        let ranked = emerging::rank(
            &counts.window,
            counts.window_calls,
            &counts.baseline,
            counts.baseline_calls,
            emerging::Thresholds {
                min_calls: options.min_calls,
                min_lift: options.min_lift,
                alpha: options.alpha,
            },
        );
        let top = most_mentioned(&counts.window, options.top_terms);
        let candidates = self.theme_candidates();
        let mut wanted: Vec<u32> = top.clone();
        for changes in [&ranked.rising, &ranked.falling] {
            wanted.extend(changes.iter().take(candidates).map(|change| change.id));
        }
        let names = store.terms_by_id(&wanted)?;
        // Rising terms are supported by the window's calls, falling ones by
        // the baseline's.
        let rising = self.themes(table, &ranked.rising, &names, periods.window, |change| {
            change.calls
        });
        let falling = self.themes(table, &ranked.falling, &names, periods.baseline, |change| {
            change.baseline_calls
        });
        Ok(Ranking {
            top,
            rising,
            falling,
            names,
            tested: ranked.tested,
        })
    }

    /// Changes ranked for themes: more than are listed, as folding and
    /// grouping merge some.
    fn theme_candidates(&self) -> usize {
        self.options.top_changes * 3
    }

    /// The strongest changes folded into the terms that cover them, then
    /// grouped by who says one says the other (pairs counted in `period`,
    /// where the terms are frequent).
    fn themes(
        &self,
        table: &CallTable,
        changes: &[emerging::Change],
        names: &HashMap<u32, String>,
        period: DayRange,
        support: fn(&emerging::Change) -> u64,
    ) -> Vec<Theme> {
        let items: Vec<(emerging::Change, String)> = changes
            .iter()
            .take(self.theme_candidates())
            .map(|change| (change.clone(), term_name(names, change.id)))
            .collect();
        let folded = emerging::fold_covered(&items, support);
        let ids: Vec<u32> = folded.iter().map(|(change, _, _)| change.id).collect();
        let (single, pairs) = table.pair_counts(&ids, period);
        let mut themes = emerging::group_by_calls(
            &folded,
            |index| single[index],
            |left, right| pairs[left * ids.len() + right],
        );
        themes.truncate(self.options.top_changes);
        themes
    }

    /// The topics' counts, and the compiled topics (a comparison may name
    /// one).
    fn topics(
        &self,
        store: &Store,
        table: &CallTable,
        periods: Periods,
        counts: &Counts,
    ) -> Result<(Vec<TopicCount>, Vec<Compiled>)> {
        let compiled: Vec<Compiled> = self
            .topics
            .iter()
            .map(|topic| Compiled::new(&topic.query, store))
            .collect::<Result<_>>()?;
        let series = topic_series(table, &compiled, periods.span);
        let topics = self
            .topics
            .iter()
            .zip(&series)
            .map(|(topic, per_day)| topic_count(topic, per_day, periods, counts))
            .collect();
        Ok((topics, compiled))
    }

    /// The window's QA summary, and the agents and teams that dropped
    /// against their own baseline.
    fn qa_and_alerts(&self, store: &Store, periods: Periods) -> Result<(QaSummary, Vec<Alert>)> {
        let options = &self.options;
        let recent = qa_summary::read(store, &options.calls_of(periods.window), true)?;
        let baseline = qa_summary::read(store, &options.calls_of(periods.baseline), false)?;
        let alerts = alerts::find(
            &recent,
            &baseline,
            alerts::AlertRules {
                min_calls: options.alert_min_calls,
                fdr: options.alert_fdr,
                min_score_drop: options.alert_min_score_drop,
                min_pass_rate_drop: options.alert_min_pass_rate_drop,
            },
        );
        Ok((qa_summary::summarize(&recent), alerts))
    }

    /// The thresholds the digest used, as reported.
    fn settings(&self, terms_tested: u64) -> Settings {
        let options = &self.options;
        Settings {
            min_calls: options.min_calls,
            min_lift: options.min_lift,
            alpha: options.alpha,
            terms_tested,
            alert_min_calls: options.alert_min_calls,
            alert_fdr: options.alert_fdr,
            alert_min_score_drop: options.alert_min_score_drop,
            alert_min_pass_rate_drop: options.alert_min_pass_rate_drop,
            queue: options.queue.clone(),
            agent_id: options.agent_id.clone(),
            team: options.team.clone(),
        }
    }

    /// Up to `examples` quotes for each `(term, period)`: calls picked by a
    /// hash of (call, term), so the choice is spread over the period and
    /// stable from run to run over the same term cache.
    fn quotes(
        &self,
        store: &Store,
        table: &CallTable,
        targets: &[(u32, DayRange)],
        names: &HashMap<u32, String>,
    ) -> Result<HashMap<u32, Vec<Quote>>> {
        let keep = self.options.examples;
        if targets.is_empty() || keep == 0 {
            return Ok(HashMap::new());
        }
        // Candidates: more than needed, in case a call is gone or says the
        // same sentence as an earlier quote.
        let picked = quote_candidates(table, targets, keep * 4);
        let rows: Vec<i64> = picked
            .iter()
            .flatten()
            .map(|&(_, call)| table.rows[call])
            .collect();
        let call_ids = store.cached_terms_call_ids(&rows)?;
        let mut quotes: HashMap<u32, Vec<Quote>> = HashMap::new();
        for ((id, _), candidates) in targets.iter().zip(picked) {
            let Some(term) = names.get(id) else { continue };
            let list = quotes.entry(*id).or_default();
            for (_, call) in candidates {
                if list.len() >= keep {
                    break;
                }
                let Some(call_id) = call_ids.get(&table.rows[call]) else {
                    continue;
                };
                let Some(found) = store.get_call(call_id)? else {
                    continue;
                };
                if let Some(quote) = self.quote(&found, term) {
                    if !list.iter().any(|known| known.text == quote.text) {
                        list.push(quote);
                    }
                }
            }
        }
        Ok(quotes)
    }

    /// The first customer segment of `call` that says `term`.
    fn quote(&self, call: &Call, term: &str) -> Option<Quote> {
        let side = if call
            .segments
            .iter()
            .any(|segment| segment.role == Role::Customer)
        {
            Role::Customer
        } else {
            Role::Unknown
        };
        let segment = call.segments.iter().find(|segment| {
            segment.role == side
                && self
                    .extractor
                    .terms(&segment.text)
                    .iter()
                    .any(|found| found == term)
        })?;
        let mut text: String = segment.text.chars().take(QUOTE_CHARS).collect();
        if segment.text.chars().count() > QUOTE_CHARS {
            text.push('…');
        }
        Some(Quote {
            call_id: call.call_id.clone(),
            started_at: call.started_at.clone(),
            start: segment.start,
            text,
        })
    }

    /// Resolves a user's term or topic name and compares its share.
    #[allow(clippy::too_many_arguments)]
    fn comparison(
        &self,
        store: &Store,
        table: &CallTable,
        before: DayRange,
        after: DayRange,
        term: &str,
        compiled: &[Compiled],
        notes: &mut Vec<String>,
    ) -> Result<report::Comparison> {
        let (label, kind, matcher) = match self.topics.iter().position(|topic| topic.name == term) {
            Some(index) => (term.to_string(), "topic", compiled[index].clone()),
            None => {
                let canonical = self.extractor.canonical(term).ok_or_else(|| {
                    Error::Usage(format!(
                        "--term '{term}' is neither a topic of the topic file nor a term \
                             (stop words only, or more than {} words)",
                        extract::MAX_PHRASE_WORDS
                    ))
                })?;
                let id = store.term_id(&canonical)?;
                if id.is_none() {
                    notes.push(format!("no customer in the workspace said '{canonical}'"));
                }
                (canonical, "term", Compiled::Term(id))
            }
        };
        let counts = table.fold(
            || [0u64; 4],
            |state, call| {
                let day = table.days[call];
                for (index, range) in [before, after].iter().enumerate() {
                    if range.contains(day) {
                        state[index * 2] += 1;
                        state[index * 2 + 1] += u64::from(matcher.matches(table.terms_of(call)));
                    }
                }
            },
            |left, right| std::array::from_fn(|index| left[index] + right[index]),
        );
        Ok(compare::compare(
            &label,
            kind,
            (before, counts[0], counts[1]),
            (after, counts[2], counts[3]),
        ))
    }

    fn cooccurrence(
        &self,
        store: &Store,
        window: DayRange,
        focus: &str,
        notes: &mut Vec<String>,
    ) -> Result<report::Cooccurrence> {
        let canonical = self.extractor.canonical(focus).ok_or_else(|| {
            Error::Usage(format!(
                "--focus '{focus}' has no term in it (stop words only, or more than {} words)",
                extract::MAX_PHRASE_WORDS
            ))
        })?;
        let Some(id) = store.term_id(&canonical)? else {
            notes.push(format!("no customer in the workspace said '{canonical}'"));
            return Ok(cooccur::rank(
                &canonical,
                &cooccur::Counts::default(),
                &HashMap::new(),
                1,
                0,
            ));
        };
        let counts = cooccur::count(store, &self.options.calls_of(window), id)?;
        let ids: Vec<u32> = counts
            .together
            .iter()
            .filter(|(_, &together)| together >= self.options.min_together)
            .map(|(&id, _)| id)
            .collect();
        let names = store.terms_by_id(&ids)?;
        Ok(cooccur::rank(
            &canonical,
            &counts,
            &names,
            self.options.min_together,
            self.options.top_companions,
        ))
    }
}

/// For each `(term, period)`, up to `wanted` calls of the period that
/// mention the term, in the order of a hash of (call row, term id): spread
/// over the period, and the same from run to run while the cache keeps its
/// term ids.
fn quote_candidates(
    table: &CallTable,
    targets: &[(u32, DayRange)],
    wanted: usize,
) -> Vec<Vec<(u64, usize)>> {
    let mut slot_of: HashMap<u32, usize> = HashMap::new();
    for (slot, (id, _)) in targets.iter().enumerate() {
        slot_of.insert(*id, slot);
    }
    table.fold(
        || vec![Vec::<(u64, usize)>::new(); targets.len()],
        |state, call| {
            let day = table.days[call];
            for &id in table.terms_of(call) {
                let Some(&slot) = slot_of.get(&id) else {
                    continue;
                };
                if !targets[slot].1.contains(day) {
                    continue;
                }
                let key = mix(table.rows[call] as u64 ^ (u64::from(id) << 40));
                let list = &mut state[slot];
                if list.len() < wanted || key < list[list.len() - 1].0 {
                    let position = list.partition_point(|entry| entry.0 < key);
                    list.insert(position, (key, call));
                    list.truncate(wanted);
                }
            }
        },
        |mut left, right| {
            for (list, other) in left.iter_mut().zip(right) {
                list.extend(other);
                list.sort_unstable();
                list.truncate(wanted);
            }
            left
        },
    )
}

/// Longest quote, in characters.
const QUOTE_CHARS: usize = 120;

/// A well-mixed 64-bit hash (splitmix64's finalizer).
fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

fn period(range: DayRange, calls: u64) -> Period {
    Period {
        from: range.from().to_string(),
        to: range.to().to_string(),
        days: range.days(),
        calls,
    }
}

/// The time each part of a digest took, in the order they ran.
struct Laps {
    clock: Instant,
    timings: Vec<(&'static str, f64)>,
}

impl Laps {
    fn start() -> Laps {
        Laps {
            clock: Instant::now(),
            timings: Vec::new(),
        }
    }

    /// Ends part `name`, which began when the previous part ended.
    fn lap(&mut self, name: &'static str) {
        self.timings
            .push((name, self.clock.elapsed().as_secs_f64()));
        self.clock = Instant::now();
    }
}

/// How many calls of the window and of the baseline mention each term.
struct Counts {
    /// Per term id, calls of the window mentioning it.
    window: Vec<u32>,
    /// Calls in the window.
    window_calls: u64,
    /// Per term id, calls of the baseline mentioning it.
    baseline: Vec<u32>,
    /// Calls in the baseline.
    baseline_calls: u64,
    /// Calls per day over the span.
    per_day: Vec<u64>,
}

impl Counts {
    fn new(table: &CallTable, periods: Periods) -> Counts {
        let mut counts = table
            .count_terms(&[periods.window, periods.baseline])
            .into_iter();
        let (window, window_calls) = counts.next().unwrap_or_default();
        let (baseline, baseline_calls) = counts.next().unwrap_or_default();
        Counts {
            window,
            window_calls,
            baseline,
            baseline_calls,
            per_day: table.calls_per_day(periods.span),
        }
    }

    /// Calls of the window mentioning term `id`.
    fn in_window(&self, id: u32) -> u64 {
        self.window.get(id as usize).copied().map_or(0, u64::from)
    }

    /// Calls of the baseline mentioning term `id`.
    fn in_baseline(&self, id: u32) -> u64 {
        self.baseline.get(id as usize).copied().map_or(0, u64::from)
    }

    /// The call counts as reported.
    fn call_counts(&self, span: DayRange) -> CallCounts {
        CallCounts {
            window: self.window_calls,
            baseline: self.baseline_calls,
            days: day_counts(span, &self.per_day),
            weeks: week_counts(span, &self.per_day),
        }
    }
}

/// A rising or falling term, its name, and the terms folded into it.
type Theme = (emerging::Change, String, Vec<String>);

/// The terms a digest lists, with their names.
struct Ranking {
    /// The window's most mentioned terms, most first.
    top: Vec<u32>,
    /// Rising themes, strongest first.
    rising: Vec<Theme>,
    /// Falling themes, strongest first.
    falling: Vec<Theme>,
    /// Names of the top terms and of the changes considered.
    names: HashMap<u32, String>,
    /// Terms tested for a change.
    tested: u64,
}

impl Ranking {
    /// Every listed term: top terms, then rising, then falling.
    fn listed_ids(&self) -> Vec<u32> {
        let mut ids = self.top.clone();
        ids.extend(self.rising.iter().map(|(change, _, _)| change.id));
        ids.extend(self.falling.iter().map(|(change, _, _)| change.id));
        ids
    }

    /// Where to quote each change from: the window for rising terms, the
    /// baseline for falling ones.
    fn quote_targets(&self, periods: Periods) -> Vec<(u32, DayRange)> {
        let rising = self.rising.iter().map(|theme| (theme.0.id, periods.window));
        let falling = self
            .falling
            .iter()
            .map(|theme| (theme.0.id, periods.baseline));
        rising.chain(falling).collect()
    }

    /// The top terms as reported.
    fn term_counts(&self, counts: &Counts, series: &TermSeries, span: DayRange) -> Vec<TermCount> {
        self.top
            .iter()
            .map(|&id| {
                let (calls, baseline_calls) = (counts.in_window(id), counts.in_baseline(id));
                let per_day = series.of(id);
                TermCount {
                    term: term_name(&self.names, id),
                    calls,
                    share: share(calls, counts.window_calls),
                    baseline_calls,
                    baseline_share: share(baseline_calls, counts.baseline_calls),
                    days: day_counts(span, per_day),
                    weeks: week_counts(span, per_day),
                }
            })
            .collect()
    }
}

/// Calls per day over the span that mention each listed term.
struct TermSeries {
    by_id: HashMap<u32, Vec<u64>>,
    /// The series of a term not listed: no calls on any day.
    empty: Vec<u64>,
}

impl TermSeries {
    fn new(table: &CallTable, ids: &[u32], span: DayRange) -> TermSeries {
        let series = table.term_series(ids, span);
        TermSeries {
            by_id: ids.iter().copied().zip(series).collect(),
            empty: vec![0; span.days()],
        }
    }

    /// Term `id`'s calls per day.
    fn of(&self, id: u32) -> &[u64] {
        self.by_id.get(&id).unwrap_or(&self.empty)
    }
}

/// The `limit` terms that the most calls of the window mention, most first
/// (ties by id).
fn most_mentioned(window: &[u32], limit: usize) -> Vec<u32> {
    let mut top: Vec<u32> = (0..window.len() as u32)
        .filter(|&id| window[id as usize] > 0)
        .collect();
    top.sort_by(|&left, &right| {
        window[right as usize]
            .cmp(&window[left as usize])
            .then(left.cmp(&right))
    });
    top.truncate(limit);
    top
}

/// A term's name, or `#id` for an id the store does not know.
fn term_name(names: &HashMap<u32, String>, id: u32) -> String {
    names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
}

/// `count` over `total`, 0 for an empty period.
fn share(count: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// Rising or falling themes as reported, each with its quotes (taken out
/// of `quotes`).
fn term_changes(
    themes: Vec<Theme>,
    series: &TermSeries,
    quotes: &mut HashMap<u32, Vec<Quote>>,
    span: DayRange,
) -> Vec<TermChange> {
    themes
        .into_iter()
        .map(|(change, term, covers)| TermChange {
            days: day_counts(span, series.of(change.id)),
            examples: quotes.remove(&change.id).unwrap_or_default(),
            term,
            calls: change.calls,
            baseline_calls: change.baseline_calls,
            share: change.share,
            baseline_share: change.baseline_share,
            lift: change.lift,
            score: change.score,
            p_value: change.p_value,
            covers,
        })
        .collect()
}

/// A topic's counts from its matching calls per day over the span.
fn topic_count(topic: &Topic, per_day: &[u64], periods: Periods, counts: &Counts) -> TopicCount {
    let span = periods.span;
    let in_range = |range: DayRange| -> u64 {
        (range.first..=range.last)
            .map(|day| per_day[(day - span.first) as usize])
            .sum()
    };
    let (calls, before) = (in_range(periods.window), in_range(periods.baseline));
    TopicCount {
        name: topic.name.clone(),
        query: topic.definition.clone(),
        calls,
        share: share(calls, counts.window_calls),
        baseline_calls: before,
        baseline_share: share(before, counts.baseline_calls),
        p_value: stats::chi_square_1_upper_tail(stats::log_likelihood_ratio(
            calls,
            counts.window_calls,
            before,
            counts.baseline_calls,
        )),
        days: day_counts(span, per_day),
        weeks: week_counts(span, per_day),
    }
}

/// What the reader should know about missing data: no calls in a period,
/// no scored calls.
fn missing_data_notes(periods: Periods, counts: &Counts, scored_calls: u64) -> Vec<String> {
    let Periods {
        window, baseline, ..
    } = periods;
    let mut notes = Vec::new();
    if counts.window_calls == 0 {
        notes.push(format!(
            "no calls in the window {}..{}: pick --from/--to where there are calls",
            window.from(),
            window.to()
        ));
    }
    if counts.baseline_calls == 0 {
        notes.push(format!(
            "no calls in the baseline {}..{}: rising and falling terms need one; pick \
             --baseline-from/--baseline-to where there are calls",
            baseline.from(),
            baseline.to()
        ));
    }
    if scored_calls == 0 {
        notes.push("no QA results in the window: run `callscope qa` to score calls".into());
    }
    notes
}

/// Matching calls per topic per day over `span`.
fn topic_series(table: &CallTable, topics: &[Compiled], span: DayRange) -> Vec<Vec<u64>> {
    if topics.is_empty() {
        return Vec::new();
    }
    let length = span.days();
    let flat = table.fold(
        || vec![0u64; topics.len() * length],
        |counts, call| {
            let day = table.days[call];
            if !span.contains(day) {
                return;
            }
            let terms = table.terms_of(call);
            for (index, topic) in topics.iter().enumerate() {
                if topic.matches(terms) {
                    counts[index * length + (day - span.first) as usize] += 1;
                }
            }
        },
        table::add_vectors,
    );
    flat.chunks(length.max(1)).map(<[u64]>::to_vec).collect()
}

/// Per-day counts as contract rows.
fn day_counts(span: DayRange, per_day: &[u64]) -> Vec<DayCount> {
    per_day
        .iter()
        .enumerate()
        .map(|(offset, &calls)| DayCount {
            date: table::date_of(span.first + offset as i32).to_string(),
            calls,
        })
        .collect()
}

/// Per-day counts summed into ISO weeks (partial at the span's edges).
fn week_counts(span: DayRange, per_day: &[u64]) -> Vec<WeekCount> {
    let mut weeks: Vec<WeekCount> = Vec::new();
    for (offset, &calls) in per_day.iter().enumerate() {
        let date = table::date_of(span.first + offset as i32);
        let iso = date.iso_week();
        let label = format!("{}-W{:02}", iso.year(), iso.week());
        match weeks.last_mut() {
            Some(week) if week.week == label => {
                week.days += 1;
                week.calls += calls;
            }
            _ => weeks.push(WeekCount {
                week: label,
                start: date.to_string(),
                days: 1,
                calls,
            }),
        }
    }
    weeks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_follow_iso_weeks_and_mark_partial_ones() {
        // 2026-09-03 is a Thursday; ISO week 36 runs 08-31..09-06.
        let span = DayRange::new(
            NaiveDate::from_ymd_opt(2026, 9, 3).unwrap(),
            NaiveDate::from_ymd_opt(2026, 9, 14).unwrap(),
        );
        let per_day: Vec<u64> = (1..=12).collect();
        let weeks = week_counts(span, &per_day);
        assert_eq!(weeks.len(), 3);
        assert_eq!(
            (weeks[0].week.as_str(), weeks[0].days, weeks[0].calls),
            ("2026-W36", 4, 1 + 2 + 3 + 4)
        );
        assert_eq!((weeks[1].start.as_str(), weeks[1].days), ("2026-09-07", 7));
        assert_eq!((weeks[2].week.as_str(), weeks[2].days), ("2026-W38", 1));
        assert_eq!(day_counts(span, &per_day)[0].date, "2026-09-03");
    }
}
