//! Cross-stage behaviour: what one stage stores, the next must see right
//! (personal data masked everywhere people look, originals for scoring).

use std::path::PathBuf;

use crate::util::{Run, TestCommand};

const PHONE: &str = "13812345678";

fn with_key(test: &TestCommand, key: &Option<PathBuf>, args: &[&str], code: i32) -> Run {
    let mut command = test.command(args);
    command.env_remove(callscope::redact::SEAL_KEY_ENV);
    if let Some(key) = key {
        command.env(callscope::redact::SEAL_KEY_ENV, key);
    }
    let output = command.output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(run.code, code, "{args:?}\n{}\n{}", run.stdout, run.stderr);
    run
}

fn setup(sealed: bool) -> (TestCommand, Option<PathBuf>, PathBuf) {
    let test = TestCommand::new();
    let key = sealed.then(|| {
        let key = test.dir().join("keys/seal.key");
        test.expect(&["redact", "keygen", "--out", key.to_str().unwrap()], 0);
        key
    });
    let call = serde_json::json!({
        "call_id": "P1", "started_at": "2026-09-01T09:30:00+08:00",
        "agent_id": "A01", "team": "T1", "queue": "售后",
        "segments": [
            {"start": 0.0, "end": 2.0, "role": "agent", "text": "您好，很高兴为您服务。"},
            {"start": 2.5, "end": 6.0, "role": "agent", "text": format!("请核对您的手机号{PHONE}。")}
        ]
    });
    let file = test.write("calls.jsonl", format!("{call}\n"));
    with_key(&test, &key, &["import", file.to_str().unwrap()], 0);
    let scorecard = test.write(
        "read_number.toml",
        r#"
[scorecard]
name = "号码核对"
base_score = 100
pass_score = 60

[[rule]]
id = "read_number"
name = "坐席念出了完整手机号"
expect = "absent"
points = 50
[rule.when]
op = "regex"
role = "agent"
pattern = "1[3-9][0-9]{9}"
"#,
    );
    (test, key, scorecard)
}

#[test]
fn qa_scores_the_sealed_original_and_stores_masked_evidence() {
    let (test, key, scorecard) = setup(true);
    let run = with_key(
        &test,
        &key,
        &["qa", "--scorecard", scorecard.to_str().unwrap(), "--json"],
        0,
    );
    let result = &run.json_lines()[0];
    assert_eq!(result["score"], 50.0, "the rule saw the original: {result}");
    let evidence = result["violations"][0]["evidence"][0].to_string();
    assert!(!evidence.contains(PHONE), "evidence leaks: {evidence}");
    let shown = test.expect(&["show", "P1"], 0);
    assert!(!shown.stdout.contains(PHONE), "{}", shown.stdout);
    test.expect(&["redact", "--check"], 0);
}

#[test]
fn without_a_key_qa_scores_the_masked_text() {
    let (test, key, scorecard) = setup(false);
    let run = with_key(
        &test,
        &key,
        &["qa", "--scorecard", scorecard.to_str().unwrap(), "--json"],
        0,
    );
    assert_eq!(run.json_lines()[0]["score"], 100.0);
    assert!(!run.stdout.contains(PHONE));
}
