//! The demo workspace's synthetic history does what it is there for: stored
//! and scored with the bundled after-sales scorecard (as scripts/setup.sh
//! does with `callscope import` and `callscope qa`), the digest of its last
//! week (`callscope digest`'s default window) finds the rising complaint,
//! the fixed one falling, and the agent whose quality dropped, and only
//! that agent.

use callscope_core::dictionary::Dictionary;
use callscope_digest::{text, DigestOptions, Digester};
use callscope_qa::{Scorecard, Scorer};
use callscope_store::{CallBatch, Store};
use callscope_testkit::demo_history::{self, DemoHistory, DROPPING_AGENT, TEAM};
use callscope_testkit::synth_voc::{BURST_TERMS, FIXED_LINES};

#[test]
fn the_digest_of_the_demo_history_finds_the_rise_the_fix_and_the_drop() {
    let folder = tempfile::tempdir().unwrap();
    let mut store = Store::open(&folder.path().join("callscope.db")).unwrap();
    let scorecard = Scorecard::load(
        &callscope_testkit::repo_root().join("corpora/scorecards/after_sales.toml"),
    )
    .unwrap();
    let scorer = Scorer::new(vec![scorecard]);
    let history = DemoHistory::new();
    let indices: Vec<u64> = (0..history.total_calls()).collect();
    for chunk in indices.chunks(500) {
        let calls: Vec<_> = chunk.iter().map(|&index| history.call(index)).collect();
        let results: Vec<_> = calls.iter().flat_map(|call| scorer.score(call)).collect();
        assert_eq!(
            results.len(),
            calls.len(),
            "the scorecard scores every call"
        );
        store
            .put_call_batch(&CallBatch {
                calls: &calls,
                qa_results: &results,
                ..CallBatch::default()
            })
            .unwrap();
    }

    let digester =
        Digester::new(DigestOptions::default(), Dictionary::load(None).unwrap()).unwrap();
    let (_, run) = digester.run(&mut store, |_, _| {}).unwrap();
    let digest = run.digest;
    let (first, last) = demo_history::last_week();
    assert_eq!(digest.window.from, first.to_string());
    assert_eq!(digest.window.to, last.to_string());

    let rising: Vec<&str> = digest
        .emerging
        .iter()
        .map(|change| change.term.as_str())
        .collect();
    assert!(
        rising.iter().any(|term| BURST_TERMS.contains(term)),
        "the payment button complaint rises: {rising:?}"
    );
    let falling: Vec<&str> = digest
        .falling
        .iter()
        .map(|change| change.term.as_str())
        .collect();
    assert!(
        falling
            .iter()
            .any(|term| FIXED_LINES.iter().all(|line| line.contains(term))),
        "the fixed complaint (验证码收不到) falls: {falling:?}"
    );

    let agents: Vec<&str> = digest
        .alerts
        .iter()
        .filter_map(|alert| alert.agent_id.as_deref())
        .collect();
    assert!(
        agents.contains(&DROPPING_AGENT),
        "an alert for {DROPPING_AGENT}: {:?}",
        digest.alerts
    );
    assert!(
        agents.iter().all(|agent| *agent == DROPPING_AGENT),
        "only {DROPPING_AGENT} dropped: {:?}",
        digest.alerts
    );
    for alert in &digest.alerts {
        assert_eq!(alert.team.as_deref(), Some(TEAM), "{alert:?}");
        assert!(alert.drop > 0.0, "{alert:?}");
    }

    // The printed digest says so too.
    let printed = text::render(&digest);
    assert!(printed.contains(DROPPING_AGENT), "{printed}");
    assert!(
        BURST_TERMS.iter().any(|term| printed.contains(term)),
        "{printed}"
    );
    assert!(
        !printed.contains("no term changed significantly"),
        "{printed}"
    );
}
