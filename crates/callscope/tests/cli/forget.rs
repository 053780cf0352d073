//! Deletion on request and retention: `callscope forget --call` and
//! `callscope purge` remove every trace of a call (store rows, sealed
//! originals, QA results, cached terms, the index entry, the bytes of freed
//! database pages), and `redact --check` reports calls past retention.

use std::path::Path;

use crate::util::{repo, TestCommand};
use callscope_store::{CallFilter, Store};

/// Planted calls imported with a seal key, scored, digested and indexed.
fn workspace(test: &TestCommand) -> (Vec<String>, std::path::PathBuf) {
    let (calls, _) = callscope_testkit::synth::planted_corpus(60, 5);
    let mut text = String::new();
    for call in &calls {
        text.push_str(&serde_json::to_string(call).unwrap());
        text.push('\n');
    }
    let file = test.write("calls.jsonl", text);
    let key = test.dir().join("keys/seal.key");
    test.expect(&["redact", "keygen", "--out", key.to_str().unwrap()], 0);
    let with_key = |args: &[&str]| {
        let run = test.run_with_key(args, Some(&key));
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    };
    with_key(&["import", file.to_str().unwrap()]);
    let card = repo().join("corpora/scorecards/after_sales.toml");
    with_key(&["qa", "--scorecard", card.to_str().unwrap()]);
    with_key(&["digest", "--json"]);
    let ids = calls.iter().map(|call| call.call_id.clone()).collect();
    (ids, key)
}

/// Whether `needle` occurs in any file under `root`.
fn bytes_hold(root: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[test]
fn forget_removes_every_trace_of_the_calls_and_says_what_it_removed() {
    let test = TestCommand::new();
    let (ids, _) = workspace(&test);
    // A call with a sealed original and QA results, and another.
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    let sealed = ids
        .iter()
        .find(|id| {
            store.sealed_original(id).unwrap().is_some()
                && !store.qa_results_of(id).unwrap().is_empty()
        })
        .unwrap()
        .clone();
    let plain = ids.iter().find(|id| **id != sealed).unwrap().clone();
    let sealed_count = [&sealed, &plain]
        .iter()
        .filter(|id| store.sealed_original(id).unwrap().is_some())
        .count();
    drop(store);
    assert!(!bytes_hold(&test.data(), &sealed).is_empty());

    let run = test.expect(
        &["forget", "--call", &sealed, "--call", &plain, "--json"],
        0,
    );
    let report = &run.json_lines()[0];
    assert_eq!(report["calls"], serde_json::json!([sealed, plain]));
    assert_eq!(report["sealed_originals"], sealed_count);
    assert!(report["qa_results"].as_u64().unwrap() >= 1);
    assert!(report["redaction_records"].as_u64().unwrap() >= 1);
    assert_eq!(report["cached_terms"], 2);

    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    for id in [&sealed, &plain] {
        assert!(store.get_call(id).unwrap().is_none());
        assert!(store.qa_results_of(id).unwrap().is_empty());
        assert!(store.sealed_original(id).unwrap().is_none());
        assert!(store.redacted_spans(id).unwrap().is_empty());
    }
    assert_eq!(
        store.count_calls(&CallFilter::default()).unwrap(),
        ids.len() as u64 - 2
    );
    drop(store);
    // Not even in freed pages or the write-ahead log.
    let database: Vec<String> = bytes_hold(&test.data(), &sealed)
        .into_iter()
        .filter(|path| path.contains("callscope.db"))
        .collect();
    assert!(database.is_empty(), "{sealed} still in {database:?}");
    let index = test.expect(&["index", "--json"], 0);
    assert_eq!(index.json_lines()[0]["documents"], ids.len() - 2);
    assert_eq!(index.json_lines()[0]["indexed"], 0);
    test.expect(&["redact", "--check"], 0);
    // Forgetting again is harmless and says the call is not there.
    let again = test.run(&["forget", "--call", &sealed]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("no call"), "{}", again.stderr);
}

#[test]
fn purge_deletes_the_calls_past_retention_and_the_audit_reports_them() {
    let test = TestCommand::new();
    let (ids, _) = workspace(&test);
    // The reference: each call's own start time against the cutoff.
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    let mut starts = Vec::new();
    store
        .for_each_call(&CallFilter::default(), |call| {
            let started =
                callscope_core::model::parse_timestamp(call.started_at.as_deref().unwrap())
                    .unwrap()
                    .timestamp();
            starts.push((call.call_id, started));
            Ok(())
        })
        .unwrap();
    drop(store);
    let now = chrono::Utc::now().timestamp();
    let mut ages: Vec<i64> = starts
        .iter()
        .map(|(_, started)| (now - started) / 86_400)
        .collect();
    ages.sort();
    let days = ages[ages.len() / 2];
    let cutoff = now - days * 86_400;
    let expected: Vec<&String> = starts
        .iter()
        .filter(|(_, started)| *started < cutoff)
        .map(|(id, _)| id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < ids.len());

    std::fs::write(
        test.data().join("callscope.toml"),
        format!("[retention]\ndays = {days}\n"),
    )
    .unwrap();
    let audit = test.run(&["redact", "--check"]);
    assert_eq!(audit.code, 1);
    assert!(
        audit.stdout.contains(&format!(
            "{} calls are older than the retention period",
            expected.len()
        )),
        "{}",
        audit.stdout
    );
    let run = test.expect(&["purge", "--json"], 0);
    let purged = run.json_lines()[0]["calls"].as_array().unwrap().len();
    assert_eq!(purged, expected.len());
    test.expect(&["redact", "--check"], 0);
    let stats = test.expect(&["stats", "--json"], 0).json_lines();
    assert_eq!(stats[0]["calls"], ids.len() - expected.len());
    // Without a period, purge says how to give one.
    std::fs::remove_file(test.data().join("callscope.toml")).unwrap();
    let bare = test.run(&["purge"]);
    assert_eq!(bare.code, 2);
    assert!(bare.stderr.contains("--older-than"), "{}", bare.stderr);
}

/// Runs with the subject key (and no seal key) in the environment.
fn with_subject_key(test: &TestCommand, args: &[&str], key: &Path) -> crate::util::Run {
    let mut command = test.command(args);
    command.env_remove(callscope_redact::SEAL_KEY_ENV);
    command.env(callscope_redact::SUBJECT_KEY_ENV, key);
    crate::util::Run::from(command.output().unwrap())
}

#[test]
fn forget_subject_finds_a_persons_calls_by_keyed_hash_in_any_spoken_form() {
    let test = TestCommand::new();
    let (mut calls, _) = callscope_testkit::synth::planted_corpus(4, 9);
    let texts = [
        "我的手机号是13812345678，麻烦尽快处理",
        "您登记的电话是一三八一二三四五六七八对吗",
        "我的手机号是13987654321，请回电",
        "我想问一下退货的流程",
    ];
    for (call, text) in calls.iter_mut().zip(texts) {
        call.meta.clear();
        for segment in &mut call.segments {
            segment.text = "好的".to_string();
        }
        let segment = call
            .segments
            .iter_mut()
            .find(|segment| segment.role == callscope_core::model::Role::Customer)
            .unwrap();
        segment.text = text.to_string();
    }
    let ids: Vec<String> = calls.iter().map(|call| call.call_id.clone()).collect();
    let lines: String = calls
        .iter()
        .map(|call| serde_json::to_string(call).unwrap() + "\n")
        .collect();
    let file = test.write("calls.jsonl", lines);
    let key = test.dir().join("keys/subject.key");
    test.expect(&["redact", "keygen", "--out", key.to_str().unwrap()], 0);

    // Without the key, the subject cannot be looked up: a clear refusal.
    test.expect(&["import", file.to_str().unwrap()], 0);
    let refused = test.run(&["forget", "--subject", "13812345678"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("no subject key"),
        "{}",
        refused.stderr
    );

    // Imported with the key: the number is found however it was typed.
    let run = with_subject_key(&test, &["import", file.to_str().unwrap()], &key);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = with_subject_key(
        &test,
        &["forget", "--subject", "+86 138-1234-5678", "--json"],
        &key,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = &run.json_lines()[0];
    assert_eq!(report["calls"], serde_json::json!([ids[0], ids[1]]));
    assert!(report["subject_hashes"].as_u64().unwrap() >= 2);
    for output in [&run.stdout, &run.stderr] {
        assert!(
            !output.contains("12345678"),
            "the value was printed: {output}"
        );
    }
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    assert!(store.get_call(&ids[0]).unwrap().is_none());
    assert!(store.get_call(&ids[1]).unwrap().is_none());
    assert!(store.get_call(&ids[2]).unwrap().is_some());
    assert!(store.get_call(&ids[3]).unwrap().is_some());
    drop(store);
    // The other customer's number is still findable; nobody's is stored.
    assert!(bytes_hold(&test.data(), "13987654321").is_empty());
    let other = with_subject_key(&test, &["forget", "--subject", "13987654321"], &key);
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(other.stdout.contains(&ids[2]), "{}", other.stdout);
    // A number in no call: said, not an error.
    let none = with_subject_key(&test, &["forget", "--subject", "13700000000"], &key);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert!(none.stderr.contains("found in no call"), "{}", none.stderr);
}
