//! The analysts' commands on the shared store: the same calls imported into
//! an embedded workspace and into PostgreSQL (`--store URL`, the config's
//! `[store] url`) give the same answers from `search`, `digest`, `qa`
//! (`--against`, held against the same reviews), `stats` and `show`.

use std::path::Path;

use callscope_store::reviews::{Decision, NewReview};
use callscope_store::testing::TestSchema;
use callscope_store::workspace::Workspace;
use callscope_testkit::synth_voc::{VocGenerator, VocScenario};
use serde_json::Value;

use crate::util::{repo, TestCommand};

/// The two workspaces: `local` on SQLite, `shared` on PostgreSQL (its
/// folder keeps the config and the search index).
struct Pair<'a> {
    test: &'a TestCommand,
    url: String,
}

impl Pair<'_> {
    fn local(&self) -> std::path::PathBuf {
        self.test.dir().join("local")
    }

    fn shared(&self) -> std::path::PathBuf {
        self.test.dir().join("shared")
    }

    /// Runs `args` on both, insisting on exit 0; the shared one's store is
    /// given on the command line.
    fn both(&self, args: &[&str]) -> (String, String) {
        let local = self.test.run_at(&self.local(), args);
        let mut shared_args = vec!["--store", self.url.as_str()];
        shared_args.extend_from_slice(args);
        let shared = self.test.run_at(&self.shared(), &shared_args);
        for (name, run) in [("sqlite", &local), ("postgres", &shared)] {
            assert_eq!(
                run.code, 0,
                "{name}: callscope {args:?}\nstdout:\n{}\nstderr:\n{}",
                run.stdout, run.stderr
            );
        }
        (local.stdout, shared.stdout)
    }

    /// Runs `args` (with `--json`) on both and insists on the same
    /// output. Sums of seconds may differ in the last bits (the databases
    /// add in different orders): numbers are compared to 9 decimals.
    fn same(&self, args: &[&str]) -> String {
        let (local, shared) = self.both(args);
        let (sqlite, postgres) = (rounded(&json(&local)), rounded(&json(&shared)));
        assert_eq!(
            sqlite.len(),
            postgres.len(),
            "callscope {args:?}: line counts"
        );
        for (line, (sqlite, postgres)) in sqlite.iter().zip(&postgres).enumerate() {
            assert_eq!(
                sqlite, postgres,
                "callscope {args:?} differs between the stores at line {line}:\nsqlite:   \
                 {sqlite}\npostgres: {postgres}"
            );
        }
        assert!(
            !local.trim().is_empty(),
            "callscope {args:?} printed nothing"
        );
        local
    }

    /// Stores the same reviews in both.
    fn review(&self, reviews: &[NewReview]) {
        for workspace in [
            Workspace::new(self.local()),
            Workspace::new(self.shared()).with_store(Some(self.url.clone())),
        ] {
            let mut store = workspace.open_existing_store().unwrap();
            for review in reviews {
                store.add_review(review).unwrap();
            }
        }
    }
}

fn json(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// `lines` with every fractional number rounded to 9 decimals.
fn rounded(lines: &[Value]) -> Vec<Value> {
    fn round(value: &Value) -> Value {
        match value {
            Value::Number(number) if number.is_f64() => {
                let x = number.as_f64().unwrap();
                serde_json::json!((x * 1e9).round() / 1e9)
            }
            Value::Array(items) => Value::Array(items.iter().map(round).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.clone(), round(value)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    lines.iter().map(round).collect()
}

/// A digest with its lists of terms in term order and its example quotes
/// counted, numbers rounded.
fn canonical_digest(digest: &Value) -> Value {
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(canonical).collect();
                if items.iter().all(|item| item.get("term").is_some()) {
                    items.sort_by_key(|item| item["term"].to_string());
                } else if items.iter().all(Value::is_string) {
                    // Terms a longer term covers, equally counted ones
                    // in the cache's order.
                    items.sort_by_key(|item| item.to_string());
                }
                Value::Array(items)
            }
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| match (key.as_str(), value) {
                        ("examples", Value::Array(quotes)) => (key.clone(), quotes.len().into()),
                        _ => (key.clone(), canonical(value)),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    canonical(&rounded(std::slice::from_ref(digest))[0])
}

/// Search results without their relevance scores, in call order.
fn by_call(lines: &[Value]) -> Vec<Value> {
    let mut results: Vec<Value> = rounded(lines)
        .into_iter()
        .map(|mut line| {
            if let Some(fields) = line.as_object_mut() {
                fields.remove("score");
            }
            line
        })
        .collect();
    results.sort_by_key(|line| line["call_id"].as_str().unwrap_or_default().to_string());
    results
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_analysts_commands_answer_the_same_on_postgresql_as_on_sqlite() {
    let Some(schema) = TestSchema::create("same_answers") else {
        return;
    };
    let test = TestCommand::new();
    let pair = Pair {
        test: &test,
        url: schema.url(),
    };
    // A VOC history (a burst in the last week) and the demo calls.
    let generator = VocGenerator::new(VocScenario::sized(1_500));
    let mut jsonl = Vec::new();
    generator.write_jsonl(&mut jsonl).unwrap();
    let history = test.write("history.jsonl", jsonl);
    let demo = repo().join("corpora/demo/transcripts.jsonl");
    let scorecard = repo().join("corpora/scorecards/after_sales.toml");
    for file in [&history, &demo] {
        pair.both(&["import", path(file)]);
    }
    pair.both(&["qa", "--scorecard", path(&scorecard), "--json"]);

    // What the store holds.
    let stats = pair.same(&["stats", "--json"]);
    assert!(stats.contains("\"calls\":"), "{stats}");
    let shown = pair.same(&["show", "DEMO-0009", "--json"]);
    assert!(shown.contains("DEMO-0009"), "{shown}");

    // Search: the same calls with the same evidence, by relevance, filters,
    // sorts and facets. Relevance scores depend on each index's history
    // (deleted documents count until segments merge, which happens in the
    // background) and break ties in the other sorts, so results are
    // compared without them, in call order.
    for args in [
        &["search", "物流", "--limit", "1000", "--json"][..],
        &[
            "search",
            "退款 OR 退货",
            "--role",
            "customer",
            "--limit",
            "1000",
            "--json",
        ],
        &[
            "search",
            "您好",
            "--max-score",
            "80",
            "--sort",
            "score",
            "--limit",
            "1000",
            "--json",
        ],
        &[
            "search",
            "支付",
            "--from",
            "2026-09-26",
            "--sort",
            "time",
            "--limit",
            "1000",
            "--facets",
            "--json",
        ],
    ] {
        let (local, shared) = pair.both(args);
        let (local, shared) = (by_call(&json(&local)), by_call(&json(&shared)));
        assert!(!local.is_empty(), "{args:?} found nothing");
        assert_eq!(
            local, shared,
            "callscope {args:?} differs between the stores"
        );
    }

    // The VOC digest over the term cache each store keeps: every term with
    // the same counts. Which of several equally counted terms comes first,
    // and which calls are quoted, follow the ids the cache gave terms and
    // rows as it filled (on one backend too): terms are compared in term
    // order (all of them, so no tie is cut), quotes by number.
    let (local, shared) = pair.both(&["digest", "--json", "--top", "100000"]);
    let digest: Value = serde_json::from_str(local.trim()).unwrap();
    let (local, shared) = (
        canonical_digest(&digest),
        canonical_digest(&serde_json::from_str(shared.trim()).unwrap()),
    );
    assert_eq!(local, shared, "the digests differ between the stores");
    assert!(
        !digest["emerging"].as_array().unwrap().is_empty(),
        "the planted burst is found: {digest}"
    );

    // A backtest held against the same reviewers' verdicts.
    let review = |call_id: &str, decision| NewReview {
        call_id: call_id.to_string(),
        scorecard: "售后服务质检标准".to_string(),
        rule_id: "duration".to_string(),
        reviewer: "ana".to_string(),
        decision,
        machine_violated: false,
        evidence: Vec::new(),
        comment: String::new(),
        call_change: 0,
        scored_at: 0,
    };
    pair.review(&[
        review("DEMO-0009", Decision::Overturn),
        review("DEMO-0010", Decision::Confirm),
    ]);
    let stricter = std::fs::read_to_string(&scorecard)
        .unwrap()
        .replace("min_seconds = 30\n", "min_seconds = 40\n");
    let stricter = test.write("after_sales_v2.toml", stricter);
    let against = pair.same(&[
        "qa",
        "--scorecard",
        path(&stricter),
        "--against",
        path(&scorecard),
        "--json",
    ]);
    let last = json(&against).pop().unwrap();
    assert_eq!(last["reviewed_rules"][0]["rule_id"], "duration", "{last}");

    // The config's [store] url is the same as --store.
    std::fs::write(
        pair.shared().join("callscope.toml"),
        format!("[store]\nurl = \"{}\"\n", pair.url),
    )
    .unwrap();
    let by_config = test.run_at(&pair.shared(), &["stats", "--json"]);
    assert_eq!(by_config.code, 0, "{}", by_config.stderr);
    assert_eq!(rounded(&json(&by_config.stdout)), rounded(&json(&stats)));
}
