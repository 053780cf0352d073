//! The conformance suite of the digest's term cache, the QA figures it
//! reads, redaction records, retention and subject hashes: every check runs
//! against the embedded SQLite store and against PostgreSQL
//! (`CALLSCOPE_TEST_PG_URL`, each test in a schema of its own) through the
//! one [`Store`].

use std::collections::HashMap;

use callscope_core::model::{
    Call, CallRedaction, PiiKind, QaResult, SealedOriginal, SubjectDigest,
};
use callscope_store::{CallBatch, CallFilter, Store};
use chrono::NaiveDate;

mod common;
use common::*;

conformance!(
    cached_terms_round_trip_with_their_vocabulary,
    cached_terms_filter_by_the_caches_dates_queue_agent_and_team,
    a_vocabulary_conflict_writes_nothing,
    a_re_written_call_loses_its_cached_terms,
    forgetting_a_call_removes_its_cached_terms,
    resetting_the_cache_empties_it_under_a_new_key,
    calls_without_terms_come_page_by_page,
    qa_figures_come_by_date_call_and_scorecard,
    sealed_originals_are_re_sealed_batch_by_batch,
    redaction_records_are_replaced_and_counted,
    retention_selects_calls_started_before_a_time,
    subject_hashes_find_calls_until_they_are_forgotten,
);

fn day(day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2026, 9, day)
}

/// Four calls: C1 (09-01, A07, T2, 售后), C2 (09-02, A08, T2, 售后), C3
/// (09-03, A07, T9, 账单) and C4 (no start time, A07, T2, 售后).
fn four_calls(store: &mut Store) {
    let mut c3 = call("C3", "2026-09-03T08:00:00+08:00", "A07", "喂");
    c3.team = Some("T9".to_string());
    c3.queue = Some("账单".to_string());
    let mut c4 = simple("C4");
    c4.started_at = None;
    put(
        store,
        &[
            // 23:30 in Beijing is still 2026-09-01 there (15:30 UTC).
            call("C1", "2026-09-01T23:30:00+08:00", "A07", "晚上"),
            call("C2", "2026-09-02T09:00:00+08:00", "A08", "早上"),
            c3,
            c4,
        ],
    );
}

/// Each call's current change number, as the digest reads it.
fn changes(store: &Store) -> HashMap<String, i64> {
    store
        .calls_without_terms(None, 1000)
        .unwrap()
        .into_iter()
        .map(|(call_id, change, _)| (call_id, change))
        .collect()
}

/// A cache row for `call_id` whose blobs name the call.
fn row(call_id: &str, change: i64) -> (String, i64, Vec<u8>, Vec<u8>) {
    (
        call_id.to_string(),
        change,
        format!("terms-{call_id}").into_bytes(),
        format!("sentences-{call_id}").into_bytes(),
    )
}

/// Caches rows for `call_ids` at their current change numbers.
fn cache(store: &mut Store, call_ids: &[&str]) -> u64 {
    let changes = changes(store);
    let rows: Vec<_> = call_ids
        .iter()
        .map(|call_id| row(call_id, changes[*call_id]))
        .collect();
    store.put_cached_terms(&[], &rows).unwrap().unwrap()
}

/// What `for_each_cached_terms` visits: `(row, local_date, terms,
/// sentences)`.
type Visited = Vec<(i64, String, Vec<u8>, Vec<u8>)>;

fn visit(store: &Store, filter: &CallFilter, with_sentences: bool) -> Visited {
    let mut visited = Vec::new();
    let count = store
        .for_each_cached_terms(
            filter,
            with_sentences,
            |row, local_date, terms, sentences| {
                visited.push((
                    row,
                    local_date.to_string(),
                    terms.to_vec(),
                    sentences.to_vec(),
                ));
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(count, visited.len() as u64);
    visited
}

/// The call ids of the rows `filter` visits, sorted.
fn cached_calls(store: &Store, filter: &CallFilter) -> Vec<String> {
    let visited = visit(store, filter, false);
    let rows: Vec<i64> = visited.iter().map(|(row, ..)| *row).collect();
    let call_ids = store.cached_terms_call_ids(&rows).unwrap();
    let mut calls: Vec<String> = rows.iter().map(|row| call_ids[row].clone()).collect();
    calls.sort();
    calls
}

fn cached_terms_round_trip_with_their_vocabulary(store: &mut Store) {
    assert_eq!(store.term_cache_key().unwrap(), None);
    assert!(store.term_vocabulary().unwrap().is_empty());
    four_calls(store);
    store.reset_term_cache("extractor-1").unwrap();
    assert_eq!(
        store.term_cache_key().unwrap().as_deref(),
        Some("extractor-1")
    );
    assert_eq!(store.count_calls_without_terms().unwrap(), 4);
    let changes = changes(store);
    let new_terms = [(0, "退款".to_string()), (1, "投诉".to_string())];
    let mut rows: Vec<_> = ["C1", "C2", "C3", "C4"]
        .iter()
        .map(|call_id| row(call_id, changes[*call_id]))
        .collect();
    // A call that is not stored is not cached.
    rows.push(row("C9", 1));
    assert_eq!(store.put_cached_terms(&new_terms, &rows).unwrap(), Some(4));
    assert_eq!(store.count_calls_without_terms().unwrap(), 0);
    assert!(store.calls_without_terms(None, 10).unwrap().is_empty());

    assert_eq!(store.term_vocabulary().unwrap(), new_terms);
    assert_eq!(store.term_id("投诉").unwrap(), Some(1));
    assert_eq!(store.term_id("退款").unwrap(), Some(0));
    assert_eq!(store.term_id("没有").unwrap(), None);
    assert_eq!(
        store.terms_by_id(&[1, 7]).unwrap(),
        HashMap::from([(1, "投诉".to_string())])
    );
    assert!(store.terms_by_id(&[]).unwrap().is_empty());
    // Adding known terms again (same ids) is fine and writes nothing new.
    assert_eq!(store.put_cached_terms(&new_terms, &[]).unwrap(), Some(0));
    assert_eq!(store.term_vocabulary().unwrap(), new_terms);

    // Rows in the order they were written, with the call's local date
    // (empty without a start time).
    let visited = visit(store, &CallFilter::default(), true);
    let dates: Vec<&str> = visited.iter().map(|(_, date, ..)| date.as_str()).collect();
    assert_eq!(dates, ["2026-09-01", "2026-09-02", "2026-09-03", ""]);
    let terms: Vec<&[u8]> = visited.iter().map(|(_, _, terms, _)| &terms[..]).collect();
    assert_eq!(
        terms,
        [&b"terms-C1"[..], b"terms-C2", b"terms-C3", b"terms-C4"]
    );
    assert_eq!(visited[2].3, b"sentences-C3");
    let rows: Vec<i64> = visited.iter().map(|(row, ..)| *row).collect();
    let mut distinct = rows.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4);
    // Without sentences they come empty.
    let without = visit(store, &CallFilter::default(), false);
    assert_eq!(without.len(), 4);
    assert!(without
        .iter()
        .all(|(_, _, _, sentences)| sentences.is_empty()));
    assert_eq!(without[0].0, rows[0]);

    // Row ids lead back to the calls; unknown rows are left out.
    let mut asked = rows.clone();
    asked.push(rows.iter().max().unwrap() + 1000);
    let call_ids = store.cached_terms_call_ids(&asked).unwrap();
    assert_eq!(call_ids.len(), 4);
    for (row, call_id) in rows.iter().zip(["C1", "C2", "C3", "C4"]) {
        assert_eq!(call_ids[row], call_id);
    }
    assert!(store.cached_terms_call_ids(&[]).unwrap().is_empty());
}

fn cached_terms_filter_by_the_caches_dates_queue_agent_and_team(store: &mut Store) {
    four_calls(store);
    assert_eq!(cache(store, &["C1", "C2", "C3", "C4"]), 4);
    let cases: Vec<(CallFilter, &[&str])> = vec![
        (CallFilter::default(), &["C1", "C2", "C3", "C4"]),
        (
            CallFilter {
                from: day(1),
                to: day(1),
                ..CallFilter::default()
            },
            &["C1"],
        ),
        (
            CallFilter {
                from: day(2),
                ..CallFilter::default()
            },
            &["C2", "C3"],
        ),
        (
            CallFilter {
                to: day(2),
                ..CallFilter::default()
            },
            &["C1", "C2"],
        ),
        (
            CallFilter {
                queue: Some("售后".to_string()),
                ..CallFilter::default()
            },
            &["C1", "C2", "C4"],
        ),
        (
            CallFilter {
                agent_id: Some("A07".to_string()),
                ..CallFilter::default()
            },
            &["C1", "C3", "C4"],
        ),
        (
            CallFilter {
                team: Some("T9".to_string()),
                ..CallFilter::default()
            },
            &["C3"],
        ),
        (
            CallFilter {
                from: day(2),
                queue: Some("账单".to_string()),
                agent_id: Some("A07".to_string()),
                team: Some("T9".to_string()),
                ..CallFilter::default()
            },
            &["C3"],
        ),
        (
            CallFilter {
                to: day(2),
                agent_id: Some("A08".to_string()),
                ..CallFilter::default()
            },
            &["C2"],
        ),
        (
            CallFilter {
                agent_id: Some("A99".to_string()),
                ..CallFilter::default()
            },
            &[],
        ),
        // Only dates, queue, agent and team apply: call ids do not.
        (
            CallFilter {
                call_ids: vec!["C1".to_string()],
                ..CallFilter::default()
            },
            &["C1", "C2", "C3", "C4"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(cached_calls(store, &filter), expected, "{filter:?}");
    }
    // A visitor's error stops the walk and comes back; the store still
    // works afterwards.
    let error = store
        .for_each_cached_terms(&CallFilter::default(), true, |_, _, _, _| {
            Err(callscope_core::error::Error::Usage("stop".to_string()))
        })
        .unwrap_err();
    assert_eq!(error.to_string(), "stop");
    assert_eq!(store.count_calls_without_terms().unwrap(), 0);
}

fn a_vocabulary_conflict_writes_nothing(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2")]);
    store.reset_term_cache("extractor-1").unwrap();
    let changes = changes(store);
    assert_eq!(
        store.put_cached_terms(&[], &[row("C9", 99)]).unwrap(),
        Some(0)
    );
    let known = [(0, "退款".to_string())];
    assert_eq!(
        store
            .put_cached_terms(&known, &[row("C1", changes["C1"])])
            .unwrap(),
        Some(1)
    );
    // Another digest gave id 0 to another term, or the term another id:
    // nothing of the batch is written, neither terms nor rows.
    for conflicting in [
        vec![(1, "投诉".to_string()), (0, "别的".to_string())],
        vec![(1, "投诉".to_string()), (5, "退款".to_string())],
    ] {
        assert_eq!(
            store
                .put_cached_terms(&conflicting, &[row("C2", changes["C2"])])
                .unwrap(),
            None,
            "{conflicting:?}"
        );
        assert_eq!(store.term_vocabulary().unwrap(), known);
        assert_eq!(store.term_id("投诉").unwrap(), None);
        assert_eq!(store.count_calls_without_terms().unwrap(), 1);
    }
    // A row read at an older change number is skipped.
    assert_eq!(
        store
            .put_cached_terms(&[], &[row("C2", changes["C2"] - 1)])
            .unwrap(),
        Some(0)
    );
    assert_eq!(store.count_calls_without_terms().unwrap(), 1);
}

fn a_re_written_call_loses_its_cached_terms(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2"), simple("C3")]);
    store.reset_term_cache("extractor-1").unwrap();
    let before = changes(store);
    assert_eq!(cache(store, &["C1", "C2", "C3"]), 3);
    let rows: Vec<i64> = visit(store, &CallFilter::default(), false)
        .iter()
        .map(|(row, ..)| *row)
        .collect();

    // C1 is written again (even unchanged): its cached terms go.
    put(store, &[simple("C1")]);
    assert_eq!(store.count_calls_without_terms().unwrap(), 1);
    let pending = store.calls_without_terms(None, 10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0, "C1");
    assert!(pending[0].1 > before["C1"]);
    let body: Call = serde_json::from_str(&pending[0].2).unwrap();
    assert_eq!(body, simple("C1"));
    assert_eq!(cached_calls(store, &CallFilter::default()), ["C2", "C3"]);
    let call_ids = store.cached_terms_call_ids(&rows).unwrap();
    assert_eq!(call_ids.len(), 2);
    assert!(!call_ids.contains_key(&rows[0]));

    // Terms computed from the old transcript are refused; from the new one
    // they are cached under a new row.
    assert_eq!(
        store
            .put_cached_terms(&[], &[row("C1", before["C1"])])
            .unwrap(),
        Some(0)
    );
    assert_eq!(
        store
            .put_cached_terms(&[], &[row("C1", pending[0].1)])
            .unwrap(),
        Some(1)
    );
    let now: HashMap<String, i64> = {
        let visited = visit(store, &CallFilter::default(), false);
        let rows: Vec<i64> = visited.iter().map(|(row, ..)| *row).collect();
        let call_ids = store.cached_terms_call_ids(&rows).unwrap();
        rows.iter()
            .map(|row| (call_ids[row].clone(), *row))
            .collect()
    };
    assert_ne!(now["C1"], rows[0]);
    assert_eq!((now["C2"], now["C3"]), (rows[1], rows[2]));

    // Caching a call again replaces its row (one row per call, a new id).
    assert_eq!(store.count_calls_without_terms().unwrap(), 0);
    let c1_change = pending[0].1;
    assert_eq!(change_of(store, "C1"), c1_change);
    assert_eq!(
        store
            .put_cached_terms(&[], &[row("C1", c1_change)])
            .unwrap(),
        Some(1)
    );
    let visited = visit(store, &CallFilter::default(), false);
    assert_eq!(visited.len(), 3);
    let call_ids = store
        .cached_terms_call_ids(&visited.iter().map(|(row, ..)| *row).collect::<Vec<_>>())
        .unwrap();
    let c1_rows: Vec<i64> = call_ids
        .iter()
        .filter(|(_, call_id)| call_id.as_str() == "C1")
        .map(|(row, _)| *row)
        .collect();
    assert_eq!(c1_rows.len(), 1);
    assert_ne!(c1_rows[0], now["C1"]);

    // A QA result moves the call's change number but keeps its terms
    // (the transcript did not change); terms read before it are refused.
    let c2_change = change_of(store, "C2");
    store
        .put_call_batch(&CallBatch {
            qa_results: &[result("C2", "售后", 90.0)],
            ..CallBatch::default()
        })
        .unwrap();
    assert_eq!(store.count_calls_without_terms().unwrap(), 0);
    assert_eq!(
        store
            .put_cached_terms(&[], &[row("C2", c2_change)])
            .unwrap(),
        Some(0)
    );
    assert_eq!(
        cached_calls(store, &CallFilter::default()),
        ["C1", "C2", "C3"]
    );
    // So do redaction records written alone.
    store.put_call_redactions(&[redaction("C3")]).unwrap();
    assert_eq!(store.count_calls_without_terms().unwrap(), 0);

    // A re-written call's new date and queue are what the cache filters by.
    let mut moved = call("C3", "2026-09-05T10:00:00+08:00", "A07", "您好");
    moved.queue = Some("账单".to_string());
    put(store, &[moved]);
    assert_eq!(cache(store, &["C3"]), 1);
    let filter = CallFilter {
        from: day(5),
        queue: Some("账单".to_string()),
        ..CallFilter::default()
    };
    assert_eq!(cached_calls(store, &filter), ["C3"]);
}

/// A call's change number, cached or not (no call is indexed in these
/// checks, so every call is in the index's queue with its number).
fn change_of(store: &Store, call_id: &str) -> i64 {
    store
        .unindexed_calls(100)
        .unwrap()
        .into_iter()
        .find(|(call, _)| call.call_id == call_id)
        .map(|(_, change)| change)
        .unwrap()
}

fn forgetting_a_call_removes_its_cached_terms(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2"), simple("C3")]);
    store.reset_term_cache("extractor-1").unwrap();
    assert_eq!(cache(store, &["C1", "C2"]), 2);
    let forgotten = store
        .forget_calls(&["C1".to_string(), "C3".to_string(), "C9".to_string()])
        .unwrap();
    assert_eq!(forgotten.calls, ["C1", "C3"]);
    assert_eq!(forgotten.cached_terms, 1);
    assert_eq!(cached_calls(store, &CallFilter::default()), ["C2"]);
    assert_eq!(store.count_calls_without_terms().unwrap(), 0);
    // Forgetting again finds nothing.
    let again = store.forget_calls(&["C1".to_string()]).unwrap();
    assert!(again.calls.is_empty());
    assert_eq!(again.cached_terms, 0);
    // A call written again under a forgotten id has no terms.
    put(store, &[simple("C1")]);
    assert_eq!(store.count_calls_without_terms().unwrap(), 1);
}

fn resetting_the_cache_empties_it_under_a_new_key(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2")]);
    store.reset_term_cache("extractor-1").unwrap();
    let changes = changes(store);
    let terms = [(0, "退款".to_string())];
    assert_eq!(
        store
            .put_cached_terms(
                &terms,
                &[row("C1", changes["C1"]), row("C2", changes["C2"])]
            )
            .unwrap(),
        Some(2)
    );
    let old_rows: Vec<i64> = visit(store, &CallFilter::default(), false)
        .iter()
        .map(|(row, ..)| *row)
        .collect();
    store.reset_term_cache("extractor-2").unwrap();
    assert_eq!(
        store.term_cache_key().unwrap().as_deref(),
        Some("extractor-2")
    );
    assert!(store.term_vocabulary().unwrap().is_empty());
    assert_eq!(store.term_id("退款").unwrap(), None);
    assert!(visit(store, &CallFilter::default(), true).is_empty());
    assert!(store.cached_terms_call_ids(&old_rows).unwrap().is_empty());
    assert_eq!(store.count_calls_without_terms().unwrap(), 2);
    // The ids are free again.
    let renamed = [(0, "投诉".to_string())];
    assert_eq!(
        store
            .put_cached_terms(&renamed, &[row("C1", changes["C1"])])
            .unwrap(),
        Some(1)
    );
    assert_eq!(store.term_vocabulary().unwrap(), renamed);
    // Resetting under the same key empties it too.
    store.reset_term_cache("extractor-2").unwrap();
    assert_eq!(store.count_calls_without_terms().unwrap(), 2);
    assert_eq!(
        store.term_cache_key().unwrap().as_deref(),
        Some("extractor-2")
    );
}

fn calls_without_terms_come_page_by_page(store: &mut Store) {
    let calls: Vec<Call> = (0..7).map(|index| simple(&format!("C{index}"))).collect();
    put(store, &calls);
    store.reset_term_cache("extractor-1").unwrap();
    let ids = |page: &[(String, i64, String)]| -> Vec<String> {
        page.iter().map(|(call_id, ..)| call_id.clone()).collect()
    };
    assert_eq!(
        ids(&store.calls_without_terms(None, 3).unwrap()),
        ["C0", "C1", "C2"]
    );
    assert_eq!(
        ids(&store.calls_without_terms(Some("C2"), 3).unwrap()),
        ["C3", "C4", "C5"]
    );
    assert_eq!(
        ids(&store.calls_without_terms(Some("C5"), 3).unwrap()),
        ["C6"]
    );
    assert!(store.calls_without_terms(Some("C6"), 3).unwrap().is_empty());
    assert!(store.calls_without_terms(None, 0).unwrap().is_empty());
    // `after` need not be a stored call.
    assert_eq!(
        ids(&store.calls_without_terms(Some("C3x"), 2).unwrap()),
        ["C4", "C5"]
    );
    // Every page holds the call's change number and body.
    let all = store.calls_without_terms(None, 1000).unwrap();
    assert_eq!(all.len(), 7);
    for (call_id, change, body) in &all {
        let call: Call = serde_json::from_str(body).unwrap();
        assert_eq!(&call.call_id, call_id);
        assert!(*change > 0);
    }
    // Cached calls are left out of the pages and the count.
    assert_eq!(cache(store, &["C1", "C4"]), 2);
    assert_eq!(store.count_calls_without_terms().unwrap(), 5);
    assert_eq!(
        ids(&store.calls_without_terms(None, 3).unwrap()),
        ["C0", "C2", "C3"]
    );
    assert_eq!(
        ids(&store.calls_without_terms(Some("C3"), 3).unwrap()),
        ["C5", "C6"]
    );
}

/// The figures `for_each_qa_figures` visits, without the body.
type Figures = (
    String,
    Option<String>,
    Option<String>,
    String,
    f64,
    bool,
    bool,
);

fn qa_figures_come_by_date_call_and_scorecard(store: &mut Store) {
    let mut undated = call("C0", "2026-09-01T09:00:00+08:00", "A09", "您好");
    undated.started_at = None;
    let mut fatal = result("C2", "账单", 20.0);
    fatal.fatal = true;
    let results = [
        result("C2", "售后", 90.0),
        fatal,
        result("C1", "售后", 50.0),
        result("C0", "售后", 70.0),
    ];
    store
        .put_call_batch(&CallBatch {
            calls: &[
                call("C2", "2026-09-01T10:00:00+08:00", "A08", "您好"),
                call("C1", "2026-09-02T10:00:00+08:00", "A07", "您好"),
                undated,
                simple("C3"),
            ],
            qa_results: &results,
            ..CallBatch::default()
        })
        .unwrap();
    let figures = |store: &Store, filter: &CallFilter, with_body: bool| {
        let mut visited: Vec<(Figures, Option<String>)> = Vec::new();
        let count = store
            .for_each_qa_figures(filter, with_body, |found| {
                visited.push((
                    (
                        found.call_id,
                        found.local_date,
                        found.agent_id,
                        found.scorecard,
                        found.score,
                        found.passed,
                        found.fatal,
                    ),
                    found.body,
                ));
                Ok(())
            })
            .unwrap();
        assert_eq!(count, visited.len() as u64);
        visited
    };
    let date = |text: &str| Some(text.to_string());
    let agent = |text: &str| Some(text.to_string());
    // A call without a date first, then by date, call and scorecard.
    let all = figures(store, &CallFilter::default(), false);
    let expected: Vec<Figures> = vec![
        (
            "C0".into(),
            None,
            agent("A09"),
            "售后".into(),
            70.0,
            true,
            false,
        ),
        (
            "C2".into(),
            date("2026-09-01"),
            agent("A08"),
            "售后".into(),
            90.0,
            true,
            false,
        ),
        (
            "C2".into(),
            date("2026-09-01"),
            agent("A08"),
            "账单".into(),
            20.0,
            false,
            true,
        ),
        (
            "C1".into(),
            date("2026-09-02"),
            agent("A07"),
            "售后".into(),
            50.0,
            false,
            false,
        ),
    ];
    assert_eq!(
        all.iter()
            .map(|(found, _)| found.clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(all.iter().all(|(_, body)| body.is_none()));
    // With the body: the stored result's contract JSON.
    let with_body = figures(store, &CallFilter::default(), true);
    assert_eq!(with_body.len(), 4);
    let bodies: Vec<QaResult> = with_body
        .iter()
        .map(|(_, body)| serde_json::from_str(body.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            results[3].clone(),
            results[0].clone(),
            results[1].clone(),
            results[2].clone()
        ]
    );
    // The team comes along.
    let mut teams = Vec::new();
    store
        .for_each_qa_figures(&CallFilter::default(), false, |found| {
            teams.push(found.team);
            Ok(())
        })
        .unwrap();
    assert!(teams.iter().all(|team| team.as_deref() == Some("T2")));
    // Filters apply to the calls: a date range leaves the undated call out.
    let filtered = |filter: CallFilter| -> Vec<(String, String)> {
        figures(store, &filter, false)
            .into_iter()
            .map(|((call_id, _, _, scorecard, ..), _)| (call_id, scorecard))
            .collect()
    };
    assert_eq!(
        filtered(CallFilter {
            from: day(1),
            to: day(1),
            ..CallFilter::default()
        }),
        [
            ("C2".to_string(), "售后".to_string()),
            ("C2".to_string(), "账单".to_string())
        ]
    );
    assert_eq!(
        filtered(CallFilter {
            agent_id: Some("A07".to_string()),
            ..CallFilter::default()
        }),
        [("C1".to_string(), "售后".to_string())]
    );
    assert_eq!(
        filtered(CallFilter {
            call_ids: vec!["C0".to_string(), "C1".to_string()],
            ..CallFilter::default()
        }),
        [
            ("C0".to_string(), "售后".to_string()),
            ("C1".to_string(), "售后".to_string())
        ]
    );
    assert!(filtered(CallFilter {
        team: Some("T9".to_string()),
        ..CallFilter::default()
    })
    .is_empty());
}

fn sealed(call_id: &str, key_id: &str, byte: u8) -> SealedOriginal {
    SealedOriginal {
        call_id: call_id.to_string(),
        key_id: key_id.to_string(),
        nonce: vec![byte; 24],
        ciphertext: vec![byte; 40],
    }
}

fn sealed_originals_are_re_sealed_batch_by_batch(store: &mut Store) {
    put(
        store,
        &[simple("C1"), simple("C2"), simple("C3"), simple("C4")],
    );
    let mut c3 = redaction("C3");
    c3.sealed = Some(sealed("C3", "k2", 3));
    store
        .put_call_redactions(&[redaction("C2"), redaction("C1"), c3])
        .unwrap();
    let not_under = |store: &Store, key_id: &str, limit: usize| -> Vec<String> {
        store
            .sealed_originals_not_under(key_id, limit)
            .unwrap()
            .into_iter()
            .map(|original| original.call_id)
            .collect()
    };
    assert_eq!(not_under(store, "k2", 10), ["C1", "C2"]);
    assert_eq!(not_under(store, "k2", 1), ["C1"]);
    assert_eq!(not_under(store, "k2", usize::MAX), ["C1", "C2"]);
    assert!(not_under(store, "k2", 0).is_empty());
    assert_eq!(not_under(store, "k1", 10), ["C3"]);
    assert_eq!(not_under(store, "k9", 10), ["C1", "C2", "C3"]);
    assert_eq!(
        store.sealed_originals_not_under("k1", 10).unwrap(),
        [sealed("C3", "k2", 3)]
    );
    // Re-sealed under k2: only calls that had an original are changed.
    store
        .replace_sealed_originals(&[sealed("C1", "k2", 9), sealed("C4", "k2", 9)])
        .unwrap();
    assert_eq!(
        store.sealed_original("C1").unwrap(),
        Some(sealed("C1", "k2", 9))
    );
    assert_eq!(store.sealed_original("C4").unwrap(), None);
    assert_eq!(not_under(store, "k2", 10), ["C2"]);
    assert_eq!(store.redaction_counts().unwrap(), (3, 3));
    // The spans are untouched by re-sealing.
    assert_eq!(store.redacted_spans("C1").unwrap(), redaction("C1").spans);
    store.replace_sealed_originals(&[]).unwrap();
    // Compacting keeps everything.
    store.compact().unwrap();
    assert_eq!(not_under(store, "k2", 10), ["C2"]);
    assert_eq!(store.redaction_counts().unwrap(), (3, 3));
}

fn redaction_records_are_replaced_and_counted(store: &mut Store) {
    assert_eq!(store.redaction_counts().unwrap(), (0, 0));
    put(store, &[simple("C1"), simple("C2"), simple("C3")]);
    // C3: spans but no sealed original (no key).
    let mut c3 = redaction("C3");
    c3.sealed = None;
    store
        .put_call_redactions(&[redaction("C1"), redaction("C2"), c3])
        .unwrap();
    assert_eq!(store.redaction_counts().unwrap(), (3, 2));
    assert_eq!(store.redacted_spans("C3").unwrap(), redaction("C3").spans);
    assert_eq!(store.sealed_original("C3").unwrap(), None);
    // A record written again replaces the call's earlier one: nothing
    // masked now leaves no spans, no original and no subject hashes.
    store
        .put_call_redactions(&[CallRedaction {
            call_id: "C1".to_string(),
            spans: Vec::new(),
            sealed: None,
            subjects: Vec::new(),
        }])
        .unwrap();
    assert_eq!(store.redaction_counts().unwrap(), (2, 1));
    assert!(store.redacted_spans("C1").unwrap().is_empty());
    assert_eq!(store.sealed_original("C1").unwrap(), None);
    assert_eq!(store.calls_with_subject(&[7; 32]).unwrap(), ["C2", "C3"]);
    // Records of a call that is not stored are refused with the batch.
    assert!(store.put_call_redactions(&[redaction("C9")]).is_err());
    assert_eq!(store.redaction_counts().unwrap(), (2, 1));
    // Writing the call again drops its records.
    put(store, &[simple("C2")]);
    assert_eq!(store.redaction_counts().unwrap(), (1, 0));
    assert_eq!(store.subject_hash_count().unwrap(), 1);
}

fn retention_selects_calls_started_before_a_time(store: &mut Store) {
    let mut undated = simple("C0");
    undated.started_at = None;
    put(
        store,
        &[
            call("C3", "2026-09-01T09:30:00+08:00", "A07", "您好"),
            call("C1", "2026-09-01T09:30:00+08:00", "A07", "您好"),
            // The same instant as C1's in another offset.
            call("C2", "2026-09-01T01:30:00Z", "A07", "您好"),
            call("C4", "2026-09-03T09:30:00+08:00", "A07", "您好"),
            undated,
        ],
    );
    let epoch = chrono::DateTime::parse_from_rfc3339("2026-09-01T09:30:00+08:00")
        .unwrap()
        .timestamp();
    assert!(store.calls_started_before(epoch).unwrap().is_empty());
    assert_eq!(
        store.calls_started_before(epoch + 1).unwrap(),
        ["C1", "C2", "C3"]
    );
    assert_eq!(
        store.calls_started_before(i64::MAX).unwrap(),
        ["C1", "C2", "C3", "C4"]
    );
    assert!(store.calls_started_before(i64::MIN).unwrap().is_empty());
}

fn subject_hashes_find_calls_until_they_are_forgotten(store: &mut Store) {
    assert_eq!(store.subject_hash_count().unwrap(), 0);
    assert!(store.calls_with_subject(&[7; 32]).unwrap().is_empty());
    put(store, &[simple("C1"), simple("C2"), simple("C3")]);
    // C3: the same value twice under two kinds, and another value; the
    // same digest and kind twice is kept once.
    let mut c3 = redaction("C3");
    c3.subjects = vec![
        SubjectDigest {
            kind: PiiKind::Mobile,
            digest: [7; 32],
        },
        SubjectDigest {
            kind: PiiKind::Landline,
            digest: [7; 32],
        },
        SubjectDigest {
            kind: PiiKind::Mobile,
            digest: [7; 32],
        },
        SubjectDigest {
            kind: PiiKind::Email,
            digest: [8; 32],
        },
    ];
    store
        .put_call_batch(&CallBatch {
            redactions: &[c3, redaction("C1")],
            ..CallBatch::default()
        })
        .unwrap();
    assert_eq!(store.subject_hash_count().unwrap(), 4);
    assert_eq!(store.calls_with_subject(&[7; 32]).unwrap(), ["C1", "C3"]);
    assert_eq!(store.calls_with_subject(&[8; 32]).unwrap(), ["C3"]);
    assert!(store.calls_with_subject(&[9; 32]).unwrap().is_empty());
    let forgotten = store.forget_calls(&["C3".to_string()]).unwrap();
    assert_eq!(forgotten.calls, ["C3"]);
    assert_eq!(forgotten.subject_hashes, 3);
    assert_eq!(store.subject_hash_count().unwrap(), 1);
    assert_eq!(store.calls_with_subject(&[7; 32]).unwrap(), ["C1"]);
    assert!(store.calls_with_subject(&[8; 32]).unwrap().is_empty());
    // Retention forgets through the same path.
    let before = store.calls_started_before(i64::MAX).unwrap();
    assert_eq!(before, ["C1", "C2"]);
    store.forget_calls(&before).unwrap();
    assert_eq!(store.subject_hash_count().unwrap(), 0);
    assert!(store.calls_with_subject(&[7; 32]).unwrap().is_empty());
}
