//! `callscope index --follow` as a child process: it indexes what others
//! import, one partition per month; searches meanwhile read the index and
//! leave the store's marks to it; SIGTERM stops it cleanly.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{repo, TestCommand};

/// How long a follower may take to catch up before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// The golden calls renamed (`PREFIX` + id) and moved to `month`
/// (`2026-11`), as JSONL.
fn calls_in(month: &str, prefix: &str, count: usize) -> String {
    let golden = std::fs::read_to_string(repo().join("tests/golden/search/calls.jsonl")).unwrap();
    let mut lines = String::new();
    for line in golden.lines().take(count) {
        let mut call: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = call["call_id"].as_str().unwrap().to_string();
        call["call_id"] = format!("{prefix}{id}").into();
        let started = call["started_at"]
            .as_str()
            .unwrap()
            .replacen("2026-09", month, 1);
        call["started_at"] = started.into();
        lines.push_str(&call.to_string());
        lines.push('\n');
    }
    lines
}

/// Waits for `done` (checked every 100 ms) or fails after [`DEADLINE`].
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The call ids a search finds.
fn found(test: &TestCommand, query: &str) -> Vec<String> {
    let run = test.expect(&["search", query, "--json", "--limit", "100"], 0);
    run.json_lines()
        .iter()
        .filter_map(|line| line["call_id"].as_str().map(str::to_string))
        .collect()
}

fn indexed_calls(test: &TestCommand) -> u64 {
    let stats = test.expect(&["stats", "--json"], 0);
    stats.json_lines()[0]["indexed_calls"].as_u64().unwrap()
}

fn start_follower(test: &TestCommand, interval: &str) -> Child {
    test.command(&["index", "--follow", "--interval", interval])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn lease(index: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(index.join("follow.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// SIGTERM, then the exit code and what it printed.
fn terminate(mut child: Child) -> (i32, String, String) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("the follower to exit", || {
        child.try_wait().unwrap().is_some()
    });
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_follower_indexes_new_months_and_searches_leave_the_writing_to_it() {
    let test = TestCommand::new();
    let index = test.data().join("index");
    // September, imported (and indexed) before any follower.
    let september = test.write("september.jsonl", calls_in("2026-09", "S", 11));
    test.expect(&["import", september.to_str().unwrap()], 0);

    let follower = start_follower(&test, "1");
    wait_for("the follow lease", || lease(&index).is_some());
    // A second follower of the same index is refused.
    let second = test.run(&["index", "--follow"]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(
        second.stderr.contains("already keeps this index"),
        "{}",
        second.stderr
    );

    // November and October arrive: the follower indexes them.
    let november = test.write(
        "november.jsonl",
        format!(
            "{}{}",
            calls_in("2026-11", "N", 6),
            calls_in("2026-10", "O", 2)
        ),
    );
    test.expect(&["import", november.to_str().unwrap()], 0);
    wait_for("the new months to be searchable", || {
        let ids = found(&test, "按钮");
        ids.contains(&"NB1".to_string()) && ids.contains(&"SB1".to_string())
    });
    for month in ["2026-09", "2026-10", "2026-11"] {
        assert!(index.join(month).join("meta.json").is_file(), "{month}");
    }
    // One more call, of a month not seen yet.
    let december = test.write("december.jsonl", calls_in("2026-12", "D", 1));
    test.expect(&["import", december.to_str().unwrap()], 0);
    wait_for("December's call to be searchable", || {
        found(&test, "退款").contains(&"DR1".to_string())
    });
    assert!(index.join("2026-12").is_dir());
    // The searches left syncing to the follower, and said so.
    let search = test.expect(&["search", "退款"], 0);
    assert!(
        search.stderr.contains("kept by `callscope index --follow`"),
        "{}",
        search.stderr
    );
    assert_eq!(indexed_calls(&test), 11 + 8 + 1);

    let (code, stdout, stderr) = terminate(follower);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("calls indexed into"), "{stdout}");
    assert!(stdout.contains("2026-12"), "{stdout}");
    assert!(lease(&index).is_none(), "the lease is left behind");
}

#[test]
fn while_a_follower_sleeps_a_search_does_not_index_and_sigterm_stops_it_at_once() {
    let test = TestCommand::new();
    let index = test.data().join("index");
    let september = test.write("september.jsonl", calls_in("2026-09", "S", 11));
    test.expect(&["import", september.to_str().unwrap()], 0);
    // A follower with a long interval: after its first round it sleeps.
    let follower = start_follower(&test, "60");
    wait_for("the first round to end", || {
        lease(&index).is_some_and(|lease| lease["rounds"].as_u64() >= Some(1))
    });
    let late = test.write("late.jsonl", calls_in("2026-11", "L", 2));
    test.expect(&["import", late.to_str().unwrap()], 0);
    // The search does not sync: the new calls stay unindexed (the
    // follower's next round is a minute away) and are not found yet.
    let search = test.expect(&["search", "退款", "--json"], 0);
    assert!(
        search.stderr.contains("index --follow"),
        "{}",
        search.stderr
    );
    assert_eq!(indexed_calls(&test), 11);
    assert!(!found(&test, "退款").contains(&"LR1".to_string()));

    let started = Instant::now();
    let (code, stdout, stderr) = terminate(follower);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "SIGTERM waited for the interval"
    );
    assert!(lease(&index).is_none());
    // Without a follower, a search syncs as before.
    assert!(found(&test, "退款").contains(&"LR1".to_string()));
    assert_eq!(indexed_calls(&test), 13);
}
