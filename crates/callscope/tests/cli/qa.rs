//! `callscope qa`: golden cases per operator and per scorecard error, the
//! JSON contract (docs/formats.md §3), the workspace summary, filters, --input
//! and --against; rules on personal data with and without a seal key.
//!
//! Golden files live in tests/golden/qa/. Set `UPDATE_GOLDEN=1` to rewrite
//! them from the current output (then review the diff).

use std::path::{Path, PathBuf};

use serde_json::Value;

use callscope_redact::{RedactionPolicy, Redactor};
use callscope_store::Store;

use crate::util::{repo, Run, TestCommand};

fn golden_dir() -> PathBuf {
    repo().join("tests/golden/qa")
}

fn example_scorecard() -> PathBuf {
    repo().join("corpora/scorecards/after_sales.toml")
}

fn demo() -> PathBuf {
    repo().join("corpora/demo/transcripts.jsonl")
}

/// Compares `actual` with the golden file, or rewrites it under
/// `UPDATE_GOLDEN=1`.
fn check_golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{}: {error} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if expected != actual {
        panic!(
            "{} differs (UPDATE_GOLDEN=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

fn number(value: &Value) -> String {
    let value = value.as_f64().unwrap();
    if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A QA result line in a form people can review: the verdict, then each
/// violation with its evidence.
fn compact(result: &Value) -> String {
    let mut text = format!(
        "{}: score {} {}{}\n",
        result["call_id"].as_str().unwrap(),
        number(&result["score"]),
        if result["passed"].as_bool().unwrap() {
            "passed"
        } else {
            "failed"
        },
        if result["fatal"].as_bool().unwrap() {
            " fatal"
        } else {
            ""
        },
    );
    for violation in result["violations"].as_array().unwrap() {
        text.push_str(&format!(
            "  - {} -{}{}\n",
            violation["rule_id"].as_str().unwrap(),
            number(&violation["points"]),
            if violation["fatal"].as_bool().unwrap() {
                " fatal"
            } else {
                ""
            },
        ));
        for evidence in violation["evidence"].as_array().unwrap() {
            let matched = evidence["matched"].as_str().unwrap();
            text.push_str(&format!(
                "      [{}] {}-{} {} {}{}\n",
                evidence["segment"],
                number(&evidence["start"]),
                number(&evidence["end"]),
                evidence["role"].as_str().unwrap(),
                evidence["text"].as_str().unwrap(),
                if matched.is_empty() {
                    String::new()
                } else {
                    format!("  «{matched}»")
                },
            ));
        }
    }
    text
}

fn case_dirs(under: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(golden_dir().join(under))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// One golden case per operator (and for scopes, composition and scoring):
/// `scorecard.toml` applied to `calls.jsonl` with `--input`, compared with
/// `expected.txt`.
#[test]
fn operator_golden_cases() {
    let test = TestCommand::new();
    let cases = case_dirs("operators");
    assert!(cases.len() >= 14, "{cases:?}");
    for case in cases {
        let run = test.run(&[
            "qa",
            "--scorecard",
            case.join("scorecard.toml").to_str().unwrap(),
            "--input",
            case.join("calls.jsonl").to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}: {}", case.display(), run.stderr);
        let actual: String = run.json_lines().iter().map(compact).collect();
        check_golden(&case.join("expected.txt"), &actual);
    }
    // --input never creates a workspace.
    assert!(!test.data().exists());
}

/// Every scorecard error: `NAME.toml` is refused with exit code 2 and the
/// message in `NAME.expected`, before any call is scored.
#[test]
fn scorecard_error_golden_cases() {
    let test = TestCommand::new();
    test.expect(&["import", demo().to_str().unwrap()], 0);
    let directory = golden_dir().join("errors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap();
        // Run from the golden folder with a relative path, so that messages
        // name the file the way the user typed it.
        let output = test
            .command(&["qa", "--scorecard", name])
            .current_dir(&directory)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name} was accepted");
        assert!(
            output.stdout.is_empty(),
            "{name}: printed {:?}",
            output.stdout
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        check_golden(&file.with_extension("expected"), &stderr);
    }
    // Nothing was scored or stored.
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["scored_calls"], 0);
}

#[test]
fn every_problem_of_every_scorecard_is_reported() {
    let test = TestCommand::new();
    let directory = golden_dir().join("errors");
    let run = test.expect(
        &[
            "qa",
            "--scorecard",
            directory.join("duplicate_id.toml").to_str().unwrap(),
            "--scorecard",
            example_scorecard().to_str().unwrap(),
            "--scorecard",
            directory.join("bad_regex.toml").to_str().unwrap(),
            "--input",
            demo().to_str().unwrap(),
        ],
        2,
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("duplicate_id.toml: line"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("bad_regex.toml: line"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("error: ").count(), 2, "{}", run.stderr);
}

/// The example scorecard on the demo calls: the summary, the stored results
/// and the exact JSON of docs/formats.md §3.
#[test]
fn example_scorecard_on_the_demo_workspace() {
    let test = TestCommand::new();
    test.expect(&["import", demo().to_str().unwrap()], 0);
    let scorecard = example_scorecard();
    let run = test.expect(&["qa", "--scorecard", scorecard.to_str().unwrap()], 0);
    for expected in [
        "scored 12 calls from the workspace against 1 scorecard",
        "4 calls outside every scorecard's queues were not scored",
        "售后服务质检标准",
        "  calls          8",
        "  passed         5 (62.5%)",
        "  average score  60.0",
        "  fatal          3",
        "A05   45.0  2 calls, 50.0% passed",
    ] {
        assert!(run.stdout.contains(expected), "{expected}\n{}", run.stdout);
    }
    assert!(
        run.stdout
            .lines()
            .any(|line| line.trim_start().starts_with("forbidden_words")
                && line.ends_with("3 calls ( 37.5%)  服务禁语")),
        "{}",
        run.stdout
    );
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["scored_calls"], 8);
    let show = test.expect(&["show", "DEMO-0002"], 0);
    assert!(show.stdout.contains("服务禁语"), "{}", show.stdout);

    let json = test.expect(
        &["qa", "--scorecard", scorecard.to_str().unwrap(), "--json"],
        0,
    );
    let lines = json.json_lines();
    assert_eq!(lines.len(), 8);
    let actual: String = json
        .stdout
        .lines()
        .map(|line| format!("{line}\n"))
        .collect();
    check_golden(&golden_dir().join("demo_results.jsonl"), &actual);
    // The contract's keys, exactly.
    let keys = |value: &Value| -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let fatal = lines
        .iter()
        .find(|line| line["call_id"] == "DEMO-0002")
        .unwrap();
    assert_eq!(
        keys(fatal),
        [
            "call_id",
            "fatal",
            "passed",
            "score",
            "scorecard",
            "violations"
        ]
    );
    assert_eq!(fatal["scorecard"], "售后服务质检标准");
    assert_eq!(fatal["score"], 0.0);
    assert_eq!(fatal["fatal"], true);
    assert_eq!(fatal["passed"], false);
    let forbidden = fatal["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|violation| violation["rule_id"] == "forbidden_words")
        .unwrap();
    assert_eq!(
        keys(forbidden),
        ["evidence", "fatal", "name", "points", "rule_id"]
    );
    let evidence = &forbidden["evidence"][0];
    assert_eq!(
        keys(evidence),
        ["end", "matched", "role", "segment", "start", "text"]
    );
    assert_eq!(evidence["segment"], 4);
    assert_eq!(evidence["start"], 22.17);
    assert_eq!(evidence["end"], 26.46);
    assert_eq!(evidence["role"], "agent");
    assert_eq!(evidence["text"], "这个我也没办法，系统就是这么规定的。");
    assert_eq!(evidence["matched"], "没办法");
    // A missing closing is an absence: no evidence.
    let closing = fatal["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|violation| violation["rule_id"] == "closing")
        .unwrap();
    assert_eq!(closing["evidence"], serde_json::json!([]));
    assert_eq!(closing["points"], 5.0);
}

#[test]
fn filters_select_the_calls_scored() {
    let test = TestCommand::new();
    test.expect(&["import", demo().to_str().unwrap()], 0);
    let scorecard = example_scorecard();
    let scored = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["qa", "--scorecard", scorecard.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        test.expect(&args, 0)
            .json_lines()
            .iter()
            .map(|line| line["call_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        scored(&["--agent", "A01"]),
        ["DEMO-0001", "DEMO-0005", "DEMO-0011"]
    );
    assert_eq!(scored(&["--queue", "物流"]), ["DEMO-0006", "DEMO-0009"]);
    assert_eq!(
        scored(&["--team", "T1", "--queue", "售后"]),
        [
            "DEMO-0001",
            "DEMO-0002",
            "DEMO-0005",
            "DEMO-0007",
            "DEMO-0011"
        ]
    );
    assert_eq!(
        scored(&["--call", "DEMO-0002", "--call", "DEMO-0007"]),
        ["DEMO-0002", "DEMO-0007"]
    );
    assert_eq!(
        scored(&["--from", "2026-09-05", "--to", "2026-09-07"]),
        ["DEMO-0005", "DEMO-0006", "DEMO-0007"]
    );
    // The same filters on --input.
    let demo = demo();
    assert_eq!(
        scored(&[
            "--input",
            demo.to_str().unwrap(),
            "--agent",
            "A01",
            "--from",
            "2026-09-02"
        ]),
        ["DEMO-0005", "DEMO-0011"]
    );
    // A named call that is not there fails that input (exit 1).
    let run = test.expect(
        &[
            "qa",
            "--scorecard",
            scorecard.to_str().unwrap(),
            "--call",
            "NOPE",
        ],
        1,
    );
    assert!(run.stderr.contains("no call 'NOPE'"), "{}", run.stderr);
    // A bad date is a usage error.
    let run = test.expect(
        &[
            "qa",
            "--scorecard",
            scorecard.to_str().unwrap(),
            "--from",
            "2026-13-01",
        ],
        2,
    );
    assert!(
        run.stderr
            .contains("'2026-13-01' for '--from <DATE>': not a date; write YYYY-MM-DD"),
        "{}",
        run.stderr
    );
}

#[test]
fn input_scores_a_file_without_storing() {
    let test = TestCommand::new();
    let mut lines = std::fs::read_to_string(demo()).unwrap();
    lines.push_str("{\"call_id\": \"broken\", \"segments\": [\n");
    let file = test.write("calls.jsonl", lines);
    let run = test.expect(
        &[
            "qa",
            "--scorecard",
            example_scorecard().to_str().unwrap(),
            "--input",
            file.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        run.stdout.contains("scored 12 calls from"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("results not stored (--input)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("calls.jsonl:13: truncated JSON"),
        "{}",
        run.stderr
    );
    assert!(!test.data().exists(), "--input created a workspace");
    // Without --input, a missing workspace says what to do.
    let run = test.expect(
        &["qa", "--scorecard", example_scorecard().to_str().unwrap()],
        2,
    );
    assert!(run.stderr.contains("no workspace at"), "{}", run.stderr);
}

#[test]
fn several_scorecards_score_each_call_once_per_admitting_scorecard() {
    let test = TestCommand::new();
    let all_queues = std::fs::read_to_string(example_scorecard())
        .unwrap()
        .replace("name = \"售后服务质检标准\"", "name = \"全部队列\"")
        .replace("queues = [\"售后\", \"物流\"]\n", "");
    let second = test.write("all_queues.toml", all_queues);
    let run = test.expect(
        &[
            "qa",
            "--scorecard",
            example_scorecard().to_str().unwrap(),
            "--scorecard",
            second.to_str().unwrap(),
            "--input",
            demo().to_str().unwrap(),
            "--json",
        ],
        0,
    );
    let lines = run.json_lines();
    assert_eq!(lines.len(), 8 + 12);
    let count = |name: &str| {
        lines
            .iter()
            .filter(|line| line["scorecard"] == name)
            .count()
    };
    assert_eq!(count("售后服务质检标准"), 8);
    assert_eq!(count("全部队列"), 12);
    // Two scorecards with one name would overwrite each other's results.
    let run = test.expect(
        &[
            "qa",
            "--scorecard",
            example_scorecard().to_str().unwrap(),
            "--scorecard",
            example_scorecard().to_str().unwrap(),
            "--input",
            demo().to_str().unwrap(),
        ],
        2,
    );
    assert!(
        run.stderr
            .contains("two scorecards are named '售后服务质检标准'"),
        "{}",
        run.stderr
    );
}

#[test]
fn against_lists_the_calls_whose_verdict_or_score_changes() {
    let test = TestCommand::new();
    test.expect(&["import", demo().to_str().unwrap()], 0);
    let old = example_scorecard();
    // The new version: calls under 40 s count as short (was 30 s), a missing
    // identity check costs 25 points (was 10), and forbidden words cost 15
    // points instead of failing the call.
    let new_text = std::fs::read_to_string(&old)
        .unwrap()
        .replace("min_seconds = 30\n", "min_seconds = 40\n")
        .replace(
            "id = \"identity_check\"\nname = \"身份核实\"\nexpect = \"absent\"\npoints = 10",
            "id = \"identity_check\"\nname = \"身份核实\"\nexpect = \"absent\"\npoints = 25",
        )
        .replace(
            "expect = \"absent\"\nfatal = true\n[rule.when]\nop = \"keyword\"",
            "expect = \"absent\"\npoints = 15\n[rule.when]\nop = \"keyword\"",
        );
    let new = test.write("after_sales_v2.toml", new_text);
    let args = [
        "qa",
        "--scorecard",
        new.to_str().unwrap(),
        "--against",
        old.to_str().unwrap(),
    ];
    let run = test.expect(&args, 0);
    check_golden(
        &golden_dir().join("backtest.txt"),
        &run.stdout
            .replace(new.to_str().unwrap(), "after_sales_v2.toml")
            .replace(old.to_str().unwrap(), "after_sales.toml"),
    );

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let changes = test.expect(&json_args, 0).json_lines();
    let summary: Vec<(String, f64, f64, bool)> = changes
        .iter()
        .map(|change| {
            (
                change["call_id"].as_str().unwrap().to_string(),
                change["old"]["score"].as_f64().unwrap(),
                change["new"]["score"].as_f64().unwrap(),
                change["new"]["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [
        // fatal 0 -> 100 - closing 5 - apology 10 - forbidden 15 - duration 2
        ("DEMO-0002", 0.0, 68.0, false),
        ("DEMO-0006", 0.0, 68.0, false),
        // 100 - identity 25 - duration 2 (37.05 s < 40 s): now fails
        ("DEMO-0009", 90.0, 73.0, false),
        // 100 - identity 25 (41.32 s is long enough): now fails
        ("DEMO-0010", 90.0, 75.0, false),
        ("DEMO-0011", 0.0, 68.0, false),
    ];
    let expected: Vec<(String, f64, f64, bool)> = expected
        .iter()
        .map(|(id, old, new, passed)| (id.to_string(), *old, *new, *passed))
        .collect();
    assert_eq!(summary, expected, "{changes:#?}");
    assert_eq!(
        changes[2]["newly_violated"],
        serde_json::json!(["duration"])
    );
    assert_eq!(changes[2]["old"]["passed"], true);
    // A backtest stores nothing.
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["scored_calls"], 0);
    // --against takes one scorecard.
    let run = test.expect(
        &[
            "qa",
            "--scorecard",
            new.to_str().unwrap(),
            "--scorecard",
            old.to_str().unwrap(),
            "--against",
            old.to_str().unwrap(),
        ],
        2,
    );
    assert!(run.stderr.contains("pass exactly one"), "{}", run.stderr);
}

#[test]
fn the_example_scorecard_works_from_any_folder() {
    // Shipped lexicons are embedded: a copy of the scorecard elsewhere loads.
    let test = TestCommand::new();
    let copy = test.write(
        "elsewhere/card.toml",
        std::fs::read(example_scorecard()).unwrap(),
    );
    test.expect(
        &[
            "qa",
            "--scorecard",
            copy.to_str().unwrap(),
            "--input",
            demo().to_str().unwrap(),
        ],
        0,
    );
}

/// Calls with personal data as ASR writes it: in digits (D), in Chinese
/// numerals with comma pauses (N), shapes that count only after a cue (W:
/// an ID number with a wrong check digit after the agent's question, a
/// card number with a wrong Luhn digit after 卡号), and numbers masking
/// keeps (K).
fn personal_data_calls() -> String {
    let call = |id: &str, segments: &[(&str, &str)]| {
        let segments: Vec<Value> = segments
            .iter()
            .enumerate()
            .map(|(index, (role, text))| {
                serde_json::json!({
                    "start": index as f64 * 5.0, "end": index as f64 * 5.0 + 4.0,
                    "role": role, "text": text
                })
            })
            .collect();
        serde_json::json!({"call_id": id, "segments": segments}).to_string() + "\n"
    };
    [
        call(
            "D",
            &[
                ("agent", "您好，请问您的身份证号是多少？"),
                ("customer", "11010519491231002X。"),
                ("customer", "我的手机号是13812345678，卡号是6222600260001072444。"),
                ("agent", "好的，您的手机号13812345678，我记下了。"),
            ],
        ),
        call(
            "N",
            &[
                ("agent", "您好，请问您的身份证号是多少？"),
                ("customer", "一一零一零五一九四九一二三一零零二叉。"),
                (
                    "customer",
                    "我的手机号是一三八，一二三四，五六七八，卡号是六二二二六零零二六零零零一零七二四四四。",
                ),
                ("agent", "好的，您的手机号一三八一二三四五六七八，我记下了。"),
            ],
        ),
        call(
            "W",
            &[
                ("agent", "请提供您的身份证号。"),
                ("customer", "一一零一零五一九四九一二三一零零二一。"),
                ("customer", "卡号6222600260001072445。"),
            ],
        ),
        call(
            "K",
            &[("agent", "订单号20260901123456，尾号5678，热线4008123123。")],
        ),
    ]
    .concat()
}

/// Regex, keyword and `pii` rules over the numbers of
/// [`personal_data_calls`].
const PERSONAL_DATA_SCORECARD: &str = r#"
[scorecard]
name = "号码规则"
pass_score = 0

[[rule]]
id = "regex_mobile"
expect = "absent"
points = 1
[rule.when]
op = "regex"
role = "agent"
pattern = '1[3-9]\d{9}'

[[rule]]
id = "regex_numerals"
expect = "absent"
points = 1
[rule.when]
op = "regex"
pattern = '[零一二三四五六七八九幺两]{11}'

[[rule]]
id = "regex_id"
expect = "absent"
points = 1
[rule.when]
op = "regex"
role = "customer"
pattern = '\d{17}[\dx]'

[[rule]]
id = "regex_card_cue"
expect = "absent"
points = 1
[rule.when]
op = "regex"
pattern = '(卡号|银行卡)是?\d{16,19}'

[[rule]]
id = "keyword_shown_digits"
expect = "absent"
points = 1
[rule.when]
op = "keyword"
words = ["138", "一三八", "5678"]

[[rule]]
id = "asked_for_id_then_given"
expect = "absent"
points = 1
[rule.when]
op = "sequence"
within = 1
first = { op = "keyword", role = "agent", words = ["身份证号"] }
then = { op = "regex", role = "customer", pattern = '\d{17}[\dx]|[零一二三四五六七八九叉]{18}' }

[[rule]]
id = "pii_agent"
expect = "absent"
points = 1
[rule.when]
op = "pii"
role = "agent"

[[rule]]
id = "pii_customer_id_and_card"
expect = "absent"
points = 1
[rule.when]
op = "pii"
role = "customer"
kinds = ["id_card", "bank_card"]
min_count = 2

[[rule]]
id = "pii_mobile"
expect = "absent"
points = 1
[rule.when]
op = "pii"
kinds = ["mobile"]
"#;

/// Every clear form of the numbers in [`personal_data_calls`].
const PERSONAL_DATA: &[&str] = &[
    "13812345678",
    "一三八一二三四五六七八",
    "一三八，一二三四，五六七八",
    "11010519491231002X",
    "11010519491231002x",
    "一一零一零五一九四九一二三一零零二叉",
    "一一零一零五一九四九一二三一零零二一",
    "6222600260001072444",
    "6222600260001072445",
    "六二二二六零零二六零零零一零七二四四四",
];

/// `callscope` with the seal key (or without one) in the environment.
fn run_keyed(test: &TestCommand, args: &[&str], key: Option<&Path>, code: i32) -> Run {
    let mut command = test.command(args);
    command.env_remove(callscope_redact::SEAL_KEY_ENV);
    if let Some(key) = key {
        command.env(callscope_redact::SEAL_KEY_ENV, key);
    }
    let output = command.output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(
        run.code, code,
        "callscope {args:?}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// The issue this pins: without a seal key the original is not kept, QA
/// scored the masked text, and rules that look for personal data silently
/// stopped matching. Now the same scorecard gives the same results (verdicts
/// and evidence) on a call imported with a seal key and on the same call
/// imported without one, and neither the clear numbers nor the stand-ins
/// QA read reach any result or any file of the workspace.
#[test]
fn rules_on_personal_data_give_the_same_verdicts_with_and_without_a_seal_key() {
    let sealed = TestCommand::new();
    let key = sealed.dir().join("keys/seal.key");
    sealed.expect(&["redact", "keygen", "--out", key.to_str().unwrap()], 0);
    let plain = TestCommand::new();
    let mut results = Vec::new();
    for (test, key) in [(&sealed, Some(key.as_path())), (&plain, None)] {
        let calls = test.write("calls.jsonl", personal_data_calls());
        let scorecard = test.write("numbers.toml", PERSONAL_DATA_SCORECARD);
        let import = run_keyed(test, &["import", calls.to_str().unwrap()], key, 0);
        assert!(
            import.stdout.contains("imported 4 calls"),
            "{}",
            import.stdout
        );
        let args = ["qa", "--scorecard", scorecard.to_str().unwrap(), "--json"];
        let run = run_keyed(test, &args, key, 0);
        let mut lines = run.json_lines();
        lines.sort_by_key(|line| line["call_id"].as_str().unwrap().to_string());
        results.push((lines, run.stdout));
    }
    // D, N and W hold personal data: sealed in one workspace, not in the
    // other.
    for (test, sealed_calls) in [(&sealed, 3), (&plain, 0)] {
        let store = Store::open(&test.data().join("callscope.db")).unwrap();
        assert_eq!(store.redaction_counts().unwrap(), (3, sealed_calls));
    }
    let (with_key, without_key) = (&results[0].0, &results[1].0);
    assert_eq!(
        with_key, without_key,
        "the same results with and without a key"
    );

    // What fired where: every rule on its numbers, as said.
    let violated: Vec<String> = with_key
        .iter()
        .flat_map(|result| {
            let call = result["call_id"].as_str().unwrap().to_string();
            result["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |violation| format!("{call} {}", violation["rule_id"].as_str().unwrap()))
        })
        .collect();
    let expected = [
        "D regex_mobile",
        "D regex_id",
        "D regex_card_cue",
        "D keyword_shown_digits",
        "D asked_for_id_then_given",
        "D pii_agent",
        "D pii_customer_id_and_card",
        "D pii_mobile",
        "K keyword_shown_digits",
        "N regex_numerals",
        "N keyword_shown_digits",
        "N asked_for_id_then_given",
        "N pii_agent",
        "N pii_customer_id_and_card",
        "N pii_mobile",
        "W regex_numerals",
        "W regex_id",
        "W regex_card_cue",
        "W asked_for_id_then_given",
        "W pii_customer_id_and_card",
    ];
    assert_eq!(violated, expected, "{with_key:#?}");

    // Evidence shows the masks as stored.
    let evidence = |call: &str, rule: &str| -> Vec<(String, String)> {
        let result = with_key
            .iter()
            .find(|result| result["call_id"] == call)
            .unwrap();
        let violation = result["violations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|violation| violation["rule_id"] == rule)
            .unwrap();
        violation["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|evidence| {
                (
                    evidence["text"].as_str().unwrap().to_string(),
                    evidence["matched"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        evidence("D", "regex_mobile"),
        [(
            "好的，您的手机号138****5678，我记下了。".to_string(),
            "138****5678".to_string()
        )]
    );
    assert_eq!(
        evidence("N", "pii_mobile")[1],
        (
            "好的，您的手机号138****5678，我记下了。".to_string(),
            "138****5678".to_string()
        )
    );
    assert_eq!(
        evidence("W", "regex_card_cue"),
        [("卡号****2445。".to_string(), "卡号****2445".to_string())]
    );

    // No clear number and no stand-in in any result, stored or printed, or
    // in any byte of either workspace.
    let plain_store = Store::open(&plain.data().join("callscope.db")).unwrap();
    let redactor = Redactor::new(RedactionPolicy::default(), None).unwrap();
    let mut stand_ins = Vec::new();
    let mut stored_results = Vec::new();
    for call_id in ["D", "N", "W", "K"] {
        let stored = plain_store.get_call(call_id).unwrap().unwrap();
        let spans = plain_store.redacted_spans(call_id).unwrap();
        let view = redactor.scoring_view(&stored, None, &spans).unwrap();
        for mention in &view.pii {
            let text: String = view.call.segments[mention.segment]
                .text
                .chars()
                .skip(mention.char_start)
                .take(mention.char_end - mention.char_start)
                .collect();
            let digits = text
                .chars()
                .filter(|character| callscope_redact::numerals::digit_value(*character).is_some())
                .count();
            assert!(digits >= 11, "a whole number: {text}");
            stand_ins.push(text);
        }
        for test in [&sealed, &plain] {
            let store = Store::open(&test.data().join("callscope.db")).unwrap();
            for result in store.qa_results_of(call_id).unwrap() {
                stored_results.push(serde_json::to_string(&result).unwrap());
            }
        }
    }
    assert_eq!(stand_ins.len(), 10, "{stand_ins:?}");
    let forbidden: Vec<&str> = PERSONAL_DATA
        .iter()
        .copied()
        .chain(stand_ins.iter().map(String::as_str))
        .collect();
    for (_, stdout) in &results {
        for value in &forbidden {
            assert!(!stdout.contains(value), "qa printed {value}");
        }
    }
    assert_eq!(stored_results.len(), 8);
    for body in &stored_results {
        for value in &forbidden {
            assert!(
                !body.contains(value),
                "a stored result holds {value}: {body}"
            );
        }
    }
    for test in [&sealed, &plain] {
        for path in files_under(&test.data()) {
            let bytes = std::fs::read(&path).unwrap();
            for value in &forbidden {
                assert!(
                    !bytes
                        .windows(value.len())
                        .any(|window| window == value.as_bytes()),
                    "{} holds {value}",
                    path.display()
                );
            }
        }
    }
}

/// A keyword or regex that can only match what masking removes is named,
/// with what to use instead, when no seal key keeps the originals; not with
/// a key, and not for `--input` (a file's calls are scored as given).
#[test]
fn rules_that_look_for_what_masking_removes_are_warned_about_without_a_seal_key() {
    let test = TestCommand::new();
    let calls = test.write("calls.jsonl", personal_data_calls());
    let scorecard = test.write(
        "warned.toml",
        r#"[scorecard]
name = "warned"
pass_score = 0

[[rule]]
id = "one_number"
expect = "absent"
points = 1
[rule.when]
op = "keyword"
words = ["13812345678"]

[[rule]]
id = "any_mobile"
expect = "absent"
points = 1
[rule.when]
op = "any"
of = [{ op = "keyword", words = ["没办法"] }, { op = "regex", role = "agent", pattern = '1[3-9]\d{9}' }]

[[rule]]
id = "fine"
expect = "absent"
points = 1
[rule.when]
op = "regex"
pattern = '工号\d+'

[[rule]]
id = "pii_mobile"
expect = "absent"
points = 1
[rule.when]
op = "pii"
kinds = ["mobile"]
"#,
    );
    run_keyed(&test, &["import", calls.to_str().unwrap()], None, 0);
    let args = ["qa", "--scorecard", scorecard.to_str().unwrap()];
    let run = run_keyed(&test, &args, None, 0);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(
        warnings[0].contains(
            "warned.toml: line 9, rule 'one_number': keyword '13812345678' is a mobile number"
        ) && warnings[0].contains("never matches")
            && warnings[0].contains("op = \"pii\" with kinds = [\"mobile\"]"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1]
            .contains("rule 'any_mobile': regex '1[3-9]\\d{9}' can only match a mobile number")
            && warnings[1].contains("stand-in")
            && warnings[1].contains("CALLSCOPE_SEAL_KEY_FILE"),
        "{}",
        warnings[1]
    );
    // The rules still run: the stand-in matches the regex.
    let run = run_keyed(
        &test,
        &["qa", "--scorecard", scorecard.to_str().unwrap(), "--json"],
        None,
        0,
    );
    let d = run
        .json_lines()
        .into_iter()
        .find(|result| result["call_id"] == "D")
        .unwrap();
    let violated: Vec<&str> = d["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|violation| violation["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(violated, ["any_mobile", "pii_mobile"]);

    // With a key: nothing to warn about.
    let key = test.dir().join("keys/seal.key");
    test.expect(&["redact", "keygen", "--out", key.to_str().unwrap()], 0);
    let run = run_keyed(&test, &args, Some(&key), 0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    // A file's calls are scored as given.
    let mut input = args.to_vec();
    input.extend(["--input", calls.to_str().unwrap()]);
    let run = run_keyed(&test, &input, None, 0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn against_holds_changed_rules_against_the_reviewers_verdicts() {
    use callscope_store::reviews::{Decision, NewReview};
    let test = TestCommand::new();
    test.expect(&["import", demo().to_str().unwrap()], 0);
    let old = example_scorecard();
    test.expect(&["qa", "--scorecard", old.to_str().unwrap()], 0);
    // Reviewers (复核) found DEMO-0009 (37 s) too short, which the old rule
    // (30 s) let pass, and DEMO-0010 (41 s) fine.
    let mut store = callscope_store::workspace::Workspace::new(test.data())
        .open_existing_store()
        .unwrap();
    for (call_id, decision) in [
        ("DEMO-0009", Decision::Overturn),
        ("DEMO-0010", Decision::Confirm),
    ] {
        store
            .add_review(&NewReview {
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
            })
            .unwrap();
    }
    drop(store);
    // The new version counts calls under 40 s as short: it agrees with the
    // reviewers on both calls, the old one on one.
    let new_text = std::fs::read_to_string(&old)
        .unwrap()
        .replace("min_seconds = 30\n", "min_seconds = 40\n");
    let new = test.write("after_sales_v2.toml", new_text);
    let args = [
        "qa",
        "--scorecard",
        new.to_str().unwrap(),
        "--against",
        old.to_str().unwrap(),
    ];
    let run = test.expect(&args, 0);
    assert!(
        run.stdout.contains(
            "changed rules on reviewed calls (agreement with the reviewers' verdicts, old → new):\n  \
             duration: 1 → 2 of 2 reviewed calls (50% → 100%); newly caught 1, new false alarms 0"
        ),
        "{}",
        run.stdout
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let lines = test.expect(&json_args, 0).json_lines();
    let reviewed = &lines.last().unwrap()["reviewed_rules"][0];
    assert_eq!(reviewed["rule_id"], "duration");
    assert_eq!(
        (
            &reviewed["reviewed_calls"],
            &reviewed["old_agrees"],
            &reviewed["new_agrees"]
        ),
        (&Value::from(2), &Value::from(1), &Value::from(2))
    );
}

/// `callscope scorecard push|list|remove`: files are checked before any is
/// kept, a push of the same name replaces it, and removing an unknown
/// scorecard says what to do.
#[test]
fn scorecards_are_kept_in_the_store_by_name() {
    let test = TestCommand::new();
    test.expect(&["import", demo().to_str().unwrap()], 0);
    let empty = test.expect(&["scorecard", "list"], 0);
    assert!(
        empty.stdout.contains("no scorecards in the store"),
        "{}",
        empty.stdout
    );
    let broken = test.write(
        "broken.toml",
        "[scorecard]\nname = \"坏的\"\n[[rule]]\nid = 3\n",
    );
    let refused = test.expect(
        &[
            "scorecard",
            "push",
            example_scorecard().to_str().unwrap(),
            broken.to_str().unwrap(),
        ],
        2,
    );
    assert!(refused.stderr.contains("broken.toml"), "{}", refused.stderr);
    assert!(test
        .expect(&["scorecard", "list"], 0)
        .stdout
        .contains("no scorecards"));
    let added = test.expect(
        &["scorecard", "push", example_scorecard().to_str().unwrap()],
        0,
    );
    assert!(
        added.stdout.contains("added scorecard '售后服务质检标准'"),
        "{}",
        added.stdout
    );
    let again = test.expect(
        &["scorecard", "push", example_scorecard().to_str().unwrap()],
        0,
    );
    assert!(again.stdout.contains("replaced"), "{}", again.stdout);
    let listed = test
        .expect(&["scorecard", "list", "--json"], 0)
        .json_lines();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "售后服务质检标准");
    test.expect(&["scorecard", "remove", "售后服务质检标准"], 0);
    let unknown = test.expect(&["scorecard", "remove", "售后服务质检标准"], 2);
    assert!(
        unknown.stderr.contains("scorecard list"),
        "{}",
        unknown.stderr
    );
}
