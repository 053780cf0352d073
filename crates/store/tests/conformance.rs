//! The store conformance suite: every check runs against the embedded
//! SQLite store and against PostgreSQL (`CALLSCOPE_TEST_PG_URL`, each test
//! in a schema of its own), through the one [`Store`] that dispatches to either. A check
//! is a function of a fresh store; `conformance!` makes one test per
//! backend of it.

use std::collections::HashMap;

use callscope_core::model::Call;
use callscope_store::testing::TestSchema;
use callscope_store::{is_postgres_url, CallBatch, CallFilter, Store};
use chrono::NaiveDate;

mod common;
use common::*;

conformance!(
    a_re_put_call_replaces_it,
    a_call_batch_writes_everything_together_or_nothing,
    filters_select_the_same_calls,
    versioned_batches_visit_every_call_once,
    a_result_from_an_older_transcript_is_refused,
    stats_count_calls_results_and_index_state,
    the_index_follows_change_numbers,
    forgetting_a_call_removes_everything_stored_for_it,
    transcription_of_names_audio_and_model,
    scorecards_are_kept_by_name,
);

fn versions(store: &mut Store) -> HashMap<String, i64> {
    let mut versions = HashMap::new();
    store
        .for_each_versioned_call_batch(&CallFilter::default(), 2, |rows| {
            for (body, version) in rows {
                let call: Call = serde_json::from_str(&body).unwrap();
                versions.insert(call.call_id, version);
            }
            Ok(())
        })
        .unwrap();
    versions
}

fn a_re_put_call_replaces_it(store: &mut Store) {
    put(store, &[simple("C1")]);
    let calls = [call("C1", "2026-09-02T10:00:00+08:00", "A08", "再见")];
    let redactions = [redaction("C1")];
    let results = [result("C1", "售后", 90.0)];
    let batch = CallBatch {
        calls: &calls,
        redactions: &redactions,
        qa_results: &results,
    };
    // Twice, as a redelivered job writes it again.
    store.put_call_batch(&batch).unwrap();
    store.put_call_batch(&batch).unwrap();
    assert_eq!(store.count_calls(&CallFilter::default()).unwrap(), 1);
    let stored = store.get_call("C1").unwrap().unwrap();
    assert_eq!(stored, calls[0]);
    assert_eq!(store.qa_results_of("C1").unwrap(), results);
    assert!(store.sealed_original("C1").unwrap().is_some());
    assert_eq!(store.redacted_spans("C1").unwrap(), redactions[0].spans);
    // The call alone again: what was stored for the old transcript goes.
    put(store, &[simple("C1")]);
    assert!(store.qa_results_of("C1").unwrap().is_empty());
    assert!(store.sealed_original("C1").unwrap().is_none());
    assert!(store.redacted_spans("C1").unwrap().is_empty());
    assert!(store.get_call("C2").unwrap().is_none());
}

fn a_call_batch_writes_everything_together_or_nothing(store: &mut Store) {
    let mut bad = simple("C2");
    bad.started_at = Some("yesterday".to_string());
    let calls = [simple("C3"), bad];
    let redactions = [redaction("C3")];
    let results = [result("C3", "售后", 70.0)];
    let error = store
        .put_call_batch(&CallBatch {
            calls: &calls,
            redactions: &redactions,
            qa_results: &results,
        })
        .unwrap_err()
        .to_string();
    assert!(error.contains("RFC 3339"), "{error}");
    assert!(store.get_call("C3").unwrap().is_none());
    assert!(store.sealed_original("C3").unwrap().is_none());
    assert!(store.qa_results_of("C3").unwrap().is_empty());
    assert_eq!(store.count_calls(&CallFilter::default()).unwrap(), 0);
}

fn filters_select_the_same_calls(store: &mut Store) {
    let mut other_team = call("C3", "2026-09-03T08:00:00+08:00", "A07", "喂");
    other_team.team = Some("T9".to_string());
    other_team.queue = Some("账单".to_string());
    put(
        store,
        &[
            // 23:30 in Beijing is still 2026-09-01 there (15:30 UTC).
            call("C1", "2026-09-01T23:30:00+08:00", "A07", "晚上"),
            call("C2", "2026-09-02T09:00:00+08:00", "A08", "早上"),
            other_team,
        ],
    );
    let day = |day| NaiveDate::from_ymd_opt(2026, 9, day);
    let cases: Vec<(CallFilter, u64)> = vec![
        (CallFilter::default(), 3),
        (
            CallFilter {
                from: day(1),
                to: day(1),
                ..CallFilter::default()
            },
            1,
        ),
        (
            CallFilter {
                from: day(2),
                ..CallFilter::default()
            },
            2,
        ),
        (
            CallFilter {
                agent_id: Some("A07".to_string()),
                ..CallFilter::default()
            },
            2,
        ),
        (
            CallFilter {
                team: Some("T9".to_string()),
                ..CallFilter::default()
            },
            1,
        ),
        (
            CallFilter {
                queue: Some("售后".to_string()),
                ..CallFilter::default()
            },
            2,
        ),
        (
            CallFilter {
                call_ids: vec!["C1".to_string(), "C3".to_string(), "C9".to_string()],
                agent_id: Some("A07".to_string()),
                ..CallFilter::default()
            },
            2,
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(store.count_calls(&filter).unwrap(), expected, "{filter:?}");
    }
    assert_eq!(
        store.local_date_range().unwrap(),
        Some(("2026-09-01".to_string(), "2026-09-03".to_string()))
    );
}

fn versioned_batches_visit_every_call_once(store: &mut Store) {
    let calls: Vec<Call> = (0..7).map(|index| simple(&format!("C{index}"))).collect();
    put(store, &calls);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let count = store
        .for_each_versioned_call_batch(&CallFilter::default(), 3, |rows| {
            sizes.push(rows.len());
            for (body, _) in rows {
                seen.push(serde_json::from_str::<Call>(&body).unwrap().call_id);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(count, 7);
    assert_eq!(sizes, [3, 3, 1]);
    let expected: Vec<String> = (0..7).map(|index| format!("C{index}")).collect();
    assert_eq!(seen, expected);
    // A visitor's error stops the walk and comes back.
    let error = store
        .for_each_versioned_call_batch(&CallFilter::default(), 3, |_| {
            Err(callscope_core::error::Error::Usage("stop".to_string()))
        })
        .unwrap_err();
    assert_eq!(error.to_string(), "stop");
    // The store still works after an aborted walk.
    assert_eq!(store.count_calls(&CallFilter::default()).unwrap(), 7);
}

fn a_result_from_an_older_transcript_is_refused(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2")]);
    let mut versions = versions(store);
    // C1 is written again while it is scored; C3 was never stored.
    put(
        store,
        &[call("C1", "2026-09-01T09:30:00+08:00", "A07", "再见")],
    );
    versions.insert("C3".to_string(), 1);
    let stale = store
        .put_qa_results_if_current(
            &[
                result("C1", "售后", 80.0),
                result("C2", "售后", 80.0),
                result("C3", "售后", 80.0),
            ],
            &versions,
        )
        .unwrap();
    assert_eq!(stale, ["C1", "C3"]);
    assert!(store.qa_results_of("C1").unwrap().is_empty());
    assert_eq!(store.qa_results_of("C2").unwrap().len(), 1);
    // Storing a result does not make the call's own version stale.
    let stale = store
        .put_qa_results_if_current(&[result("C2", "账单", 50.0)], &versions)
        .unwrap();
    assert!(stale.is_empty());
    let scorecards: Vec<String> = store
        .qa_results_of("C2")
        .unwrap()
        .into_iter()
        .map(|result| result.scorecard)
        .collect();
    assert_eq!(scorecards, ["售后", "账单"]);
    let mut visited = Vec::new();
    let count = store
        .for_each_qa_result(
            &CallFilter {
                agent_id: Some("A07".to_string()),
                ..CallFilter::default()
            },
            |stored| {
                visited.push((
                    stored.local_date.clone(),
                    stored.result.call_id.clone(),
                    stored.result.scorecard.clone(),
                ));
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        visited,
        [
            (
                Some("2026-09-01".to_string()),
                "C2".to_string(),
                "售后".to_string()
            ),
            (
                Some("2026-09-01".to_string()),
                "C2".to_string(),
                "账单".to_string()
            ),
        ]
    );
}

fn stats_count_calls_results_and_index_state(store: &mut Store) {
    let empty = store.stats().unwrap();
    assert_eq!(
        (empty.calls, empty.from.clone(), empty.to.clone()),
        (0, None, None)
    );
    let mut long = call("C2", "2026-09-02T09:00:00+08:00", "A08", "早上");
    long.duration = Some(3600.0);
    put(
        store,
        &[call("C1", "2026-09-01T23:30:00+08:00", "A07", "晚上"), long],
    );
    store
        .put_call_batch(&CallBatch {
            qa_results: &[result("C1", "售后", 90.0)],
            ..CallBatch::default()
        })
        .unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.calls, 2);
    assert!(
        (stats.hours - (3600.0 + 2.5) / 3600.0).abs() < 1e-9,
        "{stats:?}"
    );
    assert_eq!((stats.agents, stats.teams, stats.queues), (2, 1, 1));
    assert_eq!(stats.segments, 2);
    assert_eq!(stats.from.as_deref(), Some("2026-09-01T23:30:00+08:00"));
    assert_eq!(stats.to.as_deref(), Some("2026-09-02T09:00:00+08:00"));
    assert_eq!((stats.scored_calls, stats.indexed_calls), (1, 0));
}

fn the_index_follows_change_numbers(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2")]);
    let pending = store.unindexed_calls(10).unwrap();
    assert_eq!(pending.len(), 2);
    let marks: Vec<(String, i64)> = pending
        .iter()
        .map(|(call, change)| (call.call_id.clone(), *change))
        .collect();
    // C2 gets a result after it was read for indexing: it stays stale.
    store
        .put_call_batch(&CallBatch {
            qa_results: &[result("C2", "售后", 90.0)],
            ..CallBatch::default()
        })
        .unwrap();
    store.mark_indexed(&marks).unwrap();
    let pending = store.unindexed_calls(10).unwrap();
    let ids: Vec<&str> = pending
        .iter()
        .map(|(call, _)| call.call_id.as_str())
        .collect();
    assert_eq!(ids, ["C2"]);
    assert_eq!(store.stats().unwrap().indexed_calls, 1);
    let marks: Vec<(String, i64)> = pending
        .iter()
        .map(|(call, change)| (call.call_id.clone(), *change))
        .collect();
    store.mark_indexed(&marks).unwrap();
    assert!(store.unindexed_calls(10).unwrap().is_empty());
    // An older mark never moves a call back.
    store.mark_indexed(&[("C2".to_string(), 1)]).unwrap();
    assert!(store.unindexed_calls(10).unwrap().is_empty());
}

fn forgetting_a_call_removes_everything_stored_for_it(store: &mut Store) {
    let calls = [simple("C1"), simple("C2")];
    let redactions = [redaction("C1")];
    let results = [result("C1", "售后", 90.0), result("C2", "售后", 90.0)];
    store
        .put_call_batch(&CallBatch {
            calls: &calls,
            redactions: &redactions,
            qa_results: &results,
        })
        .unwrap();
    let forgotten = store
        .forget_calls(&["C1".to_string(), "C9".to_string()])
        .unwrap();
    assert_eq!(forgotten.calls, ["C1"]);
    assert_eq!(
        (
            forgotten.qa_results,
            forgotten.sealed_originals,
            forgotten.redaction_records
        ),
        (1, 1, 1)
    );
    assert!(store.get_call("C1").unwrap().is_none());
    assert!(store.qa_results_of("C1").unwrap().is_empty());
    assert!(store.sealed_original("C1").unwrap().is_none());
    assert!(store.redacted_spans("C1").unwrap().is_empty());
    assert_eq!(store.count_calls(&CallFilter::default()).unwrap(), 1);
}

fn transcription_of_names_audio_and_model(store: &mut Store) {
    let mut imported = simple("C2");
    imported.asr_model = None;
    put(store, &[simple("C1"), imported]);
    assert_eq!(
        store.transcription_of("C1").unwrap(),
        Some(("sha-C1".to_string(), "ggml-base-q8_0".to_string()))
    );
    assert_eq!(store.transcription_of("C2").unwrap(), None);
    assert_eq!(store.transcription_of("C3").unwrap(), None);
}

/// Workers starting together against a fresh database migrate it once.
#[test]
fn postgres_workers_starting_together_migrate_once() {
    let Some(schema) = TestSchema::create("migrate_once") else {
        return;
    };
    let url = schema.url();
    std::thread::scope(|scope| {
        let openers: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| Store::connect(&url).map(|_| ())))
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    });
    let store = Store::connect(&url).unwrap();
    assert_eq!(store.count_calls(&CallFilter::default()).unwrap(), 0);
}

/// A message about the database names where it is, never the password.
#[test]
fn postgres_errors_never_show_the_password() {
    let error = Store::connect("postgres://callscope:s3cr3t-pw@127.0.0.1:1/callscope")
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("127.0.0.1:1/callscope"), "{error}");
    assert!(!error.contains("s3cr3t-pw"), "{error}");
}

/// A path opens the embedded store, a postgres:// URL the shared one.
#[test]
fn open_picks_the_backend_by_url() {
    let directory = std::env::temp_dir().join(format!("pgstore-open-{}", std::process::id()));
    let path = directory.join("callscope.db");
    let store = Store::open_location(path.to_str().unwrap()).unwrap();
    assert_eq!(store.backend(), "sqlite");
    drop(store);
    let _ = std::fs::remove_dir_all(&directory);
    assert!(is_postgres_url("postgresql://x/y"));
    assert!(!is_postgres_url("/data/callscope.db"));
}

fn scorecards_are_kept_by_name(store: &mut Store) {
    assert!(store.scorecards().unwrap().is_empty());
    assert!(!store
        .put_scorecard("b质检", "[scorecard]\nname = \"b质检\"\n")
        .unwrap());
    assert!(!store.put_scorecard("A", "one").unwrap());
    assert!(store.put_scorecard("A", "two").unwrap());
    let kept: Vec<(String, String)> = store
        .scorecards()
        .unwrap()
        .into_iter()
        .map(|scorecard| (scorecard.name, scorecard.source))
        .collect();
    assert_eq!(
        kept,
        [
            ("A".to_string(), "two".to_string()),
            (
                "b质检".to_string(),
                "[scorecard]\nname = \"b质检\"\n".to_string()
            )
        ]
    );
    assert!(store.remove_scorecard("A").unwrap());
    assert!(!store.remove_scorecard("A").unwrap());
    assert_eq!(store.scorecards().unwrap().len(), 1);
}
