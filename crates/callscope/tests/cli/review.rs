//! `callscope review assign`: the review queue's sampling plan from the
//! command line, as the demo's setup runs it.

use crate::util::{repo, TestCommand};
use callscope_store::Store;

#[test]
fn review_assign_fills_the_queue_once_and_a_second_run_adds_nothing() {
    let test = TestCommand::new();
    let (calls, _) = callscope_testkit::synth::planted_corpus(120, 4);
    let lines: String = calls
        .iter()
        .map(|call| serde_json::to_string(call).unwrap() + "\n")
        .collect();
    let file = test.write("calls.jsonl", lines);
    test.expect(&["import", file.to_str().unwrap()], 0);
    let card = repo().join("corpora/scorecards/after_sales.toml");
    test.expect(&["qa", "--scorecard", card.to_str().unwrap()], 0);

    let first = test.expect(&["review", "assign", "--json"], 0);
    let report = &first.json_lines()[0];
    let picked = report["picked"].as_u64().unwrap();
    assert!(picked > 0, "{report}");
    assert!(picked <= report["candidates"].as_u64().unwrap());
    assert_eq!(report["added"].as_u64().unwrap(), picked, "{report}");
    // No users: the local admin reviews, as the web workspace shows it.
    assert_eq!(report["reviewers"], serde_json::json!(["local"]));
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    assert_eq!(store.assignments(None).unwrap().len() as u64, picked);
    drop(store);

    let again = test.expect(&["review", "assign", "--json"], 0);
    assert_eq!(again.json_lines()[0]["added"], 0);
    let text = test.expect(&["review", "assign"], 0);
    assert!(text.stdout.contains("0 newly assigned"), "{}", text.stdout);
    // A bad window is a clear usage error.
    let bad = test.run(&["review", "assign", "--from", "2026-13-01"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("YYYY-MM-DD"), "{}", bad.stderr);
}
