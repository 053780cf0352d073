//! `callscope search` and `callscope index`, black box.
//!
//! Golden cases live in `tests/golden/search/cases/`: `NAME.args` holds the
//! arguments (one per line), `NAME.out` the expected exit code, stdout and
//! stderr, run against a workspace holding `tests/golden/search/calls.jsonl`.
//! A new case is a new `.args` file; `CALLSCOPE_UPDATE_GOLDEN=1` writes the
//! `.out` files (review the diff before committing).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::util::{repo, Run, TestCommand};

fn golden_dir() -> PathBuf {
    repo().join("tests/golden/search")
}

/// A workspace with the hand-written calls imported (and so indexed).
fn workspace() -> TestCommand {
    let test = TestCommand::new();
    let calls = golden_dir().join("calls.jsonl");
    test.expect(&["import", calls.to_str().unwrap()], 0);
    test
}

fn render(run: &Run) -> String {
    let mut text = format!("exit {}\n--- stdout\n{}", run.code, run.stdout);
    if !run.stderr.is_empty() {
        text.push_str(&format!("--- stderr\n{}", run.stderr));
    }
    text
}

#[test]
fn golden_cases() {
    let test = workspace();
    let update = std::env::var_os("CALLSCOPE_UPDATE_GOLDEN").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir().join("cases"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "args")
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "golden cases missing");
    let mut failures = Vec::new();
    for case in cases {
        let args_text = std::fs::read_to_string(&case).unwrap();
        let args: Vec<&str> = args_text.lines().collect();
        let actual = render(&test.run(&args));
        let expected_path = case.with_extension("out");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(set CALLSCOPE_UPDATE_GOLDEN=1 to accept)",
        failures.join("\n")
    );
}

#[test]
fn json_lines_follow_the_contract() {
    let test = workspace();
    let run = test.expect(&["search", "退款 OR 按钮", "--json"], 0);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 8, "{}", run.stdout);
    let keys = |value: &serde_json::Value| -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    };
    let result_keys: BTreeSet<String> = [
        "call_id",
        "score",
        "started_at",
        "agent_id",
        "team",
        "queue",
        "qa_score",
        "hits",
    ]
    .map(String::from)
    .into();
    let hit_keys: BTreeSet<String> = ["segment", "start", "end", "role", "text", "highlight"]
        .map(String::from)
        .into();
    for line in &lines {
        assert_eq!(keys(line), result_keys, "{line}");
        assert!(line["score"].as_f64().unwrap() > 0.0);
        let hits = line["hits"].as_array().unwrap();
        assert!(!hits.is_empty(), "{line}");
        for hit in hits {
            assert_eq!(keys(hit), hit_keys, "{hit}");
            assert!(hit["highlight"].as_str().unwrap().contains("<b>"), "{hit}");
            assert!(hit["start"].as_f64().unwrap() <= hit["end"].as_f64().unwrap());
        }
    }
    // Relevance order: scores never increase.
    let scores: Vec<f64> = lines
        .iter()
        .map(|line| line["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );

    // --facets adds one last line with a distinct key.
    let run = test.expect(&["search", "退款", "--json", "--facets", "--limit", "1"], 0);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 2);
    let last = &lines[1];
    assert_eq!(keys(last), ["facets", "total"].map(String::from).into());
    assert_eq!(last["total"], 4);
    assert_eq!(
        keys(&last["facets"]),
        ["agent_id", "team", "queue", "violated"]
            .map(String::from)
            .into()
    );
}

#[test]
fn a_reimported_call_replaces_its_document() {
    let test = workspace();
    let calls = std::fs::read_to_string(golden_dir().join("calls.jsonl")).unwrap();
    let changed = calls
        .lines()
        .find(|line| line.contains("\"R2\""))
        .unwrap()
        .replace("退款到账了吗？", "我想换货。");
    // Imported twice: each import replaces the call's document.
    let file = test.write("changed.jsonl", format!("{changed}\n"));
    test.expect(&["import", file.to_str().unwrap()], 0);
    test.expect(&["import", file.to_str().unwrap()], 0);
    let found = |query: &str| -> Vec<String> {
        test.expect(&["search", query, "--json", "--sort", "time"], 0)
            .json_lines()
            .iter()
            .map(|line| line["call_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(found("换货"), ["R2"]);
    assert_eq!(found("\"退款到账\""), Vec::<String>::new());
    assert_eq!(found("退款"), ["U1", "R3", "R1"]);
    let stats = test.expect(&["stats", "--json"], 0).json_lines();
    assert_eq!(stats[0]["calls"], 11);
    assert_eq!(stats[0]["indexed_calls"], 11);
}

#[test]
fn search_catches_up_with_the_store_and_rebuild_starts_over() {
    let test = workspace();
    // The index is lost (or was never written: a crash right after the
    // store's commit): search rebuilds it from the store first.
    std::fs::remove_dir_all(test.data().join("index")).unwrap();
    let run = test.expect(
        &["search", "\"按钮位置\"~的", "--json", "--sort", "time"],
        0,
    );
    let ids: Vec<String> = run
        .json_lines()
        .iter()
        .map(|line| line["call_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["B2", "B1"]);

    let run = test.expect(&["index", "--rebuild"], 0);
    assert!(
        run.stdout.contains("rebuilt the index: 11 calls indexed"),
        "{}",
        run.stdout
    );
    let run = test.expect(&["index", "--json"], 0);
    let report = &run.json_lines()[0];
    assert_eq!(
        (report["indexed"].as_u64(), report["documents"].as_u64()),
        (Some(0), Some(11))
    );
    assert_eq!(report["rebuilt"], false);
    let run = test.expect(&["search", "退款", "--json"], 0);
    assert_eq!(run.json_lines().len(), 4);
}

#[test]
fn search_without_a_workspace_says_how_to_make_one() {
    let test = TestCommand::new();
    let run = test.expect(&["search", "退款"], 2);
    assert!(run.stderr.contains("no workspace at"), "{}", run.stderr);
    assert!(run.stderr.contains("callscope import"), "{}", run.stderr);
}
