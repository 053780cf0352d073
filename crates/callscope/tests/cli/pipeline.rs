//! Cross-stage behaviour: what one stage stores, the next must see right
//! (personal data masked everywhere people look, originals for scoring).

use std::path::PathBuf;

use crate::util::{Run, TestCommand};

const PHONE: &str = "13812345678";

fn with_key(test: &TestCommand, key: &Option<PathBuf>, args: &[&str], code: i32) -> Run {
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

/// Without a key the original is not kept; the rule reads a stand-in of
/// the same shape in place of the mask, so it gives the verdict it gives on
/// the sealed original, and is named in a warning (op = "pii" says it
/// plainly).
#[test]
fn without_a_key_qa_scores_a_stand_in_of_the_same_shape() {
    let (test, key, scorecard) = setup(false);
    let run = with_key(
        &test,
        &key,
        &["qa", "--scorecard", scorecard.to_str().unwrap(), "--json"],
        0,
    );
    assert_eq!(run.json_lines()[0]["score"], 50.0);
    assert!(!run.stdout.contains(PHONE));
    assert!(
        run.stderr.contains("rule 'read_number': regex"),
        "{}",
        run.stderr
    );
}

/// Personal data end to end: import → qa → search → digest (JSON, Markdown,
/// HTML) → audit. The clear numbers appear in no output and in no byte of
/// the workspace (the sealed originals are encrypted).
#[test]
fn personal_data_never_leaks_through_any_surface() {
    const ID_CARD: &str = "11010519491231002X";
    let (test, key, scorecard) = setup(true);
    let more = serde_json::json!({
        "call_id": "P2", "started_at": "2026-09-02T10:00:00+08:00",
        "agent_id": "A01", "team": "T1", "queue": "售后",
        "segments": [
            {"start": 0.0, "end": 2.0, "role": "agent", "text": "请提供您的身份证号。"},
            {"start": 2.5, "end": 6.0, "role": "customer",
             "text": format!("身份证号是{ID_CARD}，手机一三八一二三四五六七八，我要投诉退款。")}
        ]
    });
    let file = test.write("more.jsonl", format!("{more}\n"));
    let mut outputs = Vec::new();
    outputs.push(with_key(&test, &key, &["import", file.to_str().unwrap()], 0).stdout);
    let scorecard = scorecard.to_str().unwrap();
    outputs.push(with_key(&test, &key, &["qa", "--scorecard", scorecard, "--json"], 0).stdout);
    outputs.push(with_key(&test, &key, &["qa", "--scorecard", scorecard], 0).stdout);
    for query in ["手机号", "身份证号", "投诉"] {
        let run = with_key(&test, &key, &["search", query, "--json"], 0);
        assert!(!run.stdout.is_empty(), "{query} finds the calls");
        outputs.push(run.stdout);
    }
    outputs.push(with_key(&test, &key, &["show", "P2", "--json"], 0).stdout);
    let html = test.data().join("digest.html");
    let markdown = test.data().join("digest.md");
    outputs.push(
        with_key(
            &test,
            &key,
            &[
                "digest",
                "--from",
                "2026-09-01",
                "--to",
                "2026-09-02",
                "--json",
                "--html",
                html.to_str().unwrap(),
                "--markdown",
                markdown.to_str().unwrap(),
            ],
            0,
        )
        .stdout,
    );
    let clear = [PHONE, ID_CARD, "一三八一二三四五六七八"];
    for output in &outputs {
        for value in clear {
            assert!(!output.contains(value), "{value} leaks:\n{output}");
        }
    }
    // Every byte of every file in the workspace (store, index, reports).
    let mut files = vec![test.data()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|entry| entry.unwrap().path()),
            );
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for value in clear {
            let found = bytes
                .windows(value.len())
                .any(|window| window == value.as_bytes());
            assert!(!found, "{value} in {}", path.display());
        }
    }
    with_key(&test, &key, &["redact", "--check"], 0);
}

/// `export-audio --silence-pii` on a recording that is not PCM WAV (8 kHz
/// mu-law here): decoded, the number's span zeroed, written as 16 kHz PCM.
#[test]
fn exported_mulaw_audio_has_the_number_silenced() {
    use callscope_testkit::compose::{write_wav, Encoding};
    let test = TestCommand::new();
    let seconds = 20.0;
    let tone: Vec<f32> = (0..(seconds * 16_000.0) as usize)
        .map(|index| 0.5 * (index as f32 * 0.05).sin())
        .collect();
    let audio = test.dir().join("call.wav");
    write_wav(&audio, &[tone.clone(), tone], Encoding::Mulaw8k).unwrap();
    let call = serde_json::json!({
        "call_id": "M1", "started_at": "2026-09-01T09:30:00+08:00",
        "segments": [
            {"start": 0.0, "end": 3.0, "role": "agent", "text": "请说一下手机号。"},
            {"start": 4.0, "end": 15.0, "role": "customer", "text": format!("{PHONE}")}
        ]
    });
    let file = test.write("m.jsonl", format!("{call}\n"));
    test.expect(&["import", file.to_str().unwrap()], 0);
    let out = test.dir().join("out.wav");
    test.expect(
        &[
            "export-audio",
            "M1",
            "--audio",
            audio.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--silence-pii",
        ],
        0,
    );
    let mut reader = hound::WavReader::open(&out).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 2));
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let at = |second: f64| samples[(second * 16_000.0) as usize * 2].unsigned_abs();
    let loud = |from: f64, to: f64| {
        (0..100).any(|step| at(from + (to - from) * f64::from(step) / 100.0) > 1000)
    };
    assert!(loud(0.0, 3.0), "speech before the number is kept");
    assert!(!loud(4.5, 14.5), "the number is silenced");
    assert!(loud(16.0, 19.0), "speech after the number is kept");
}
