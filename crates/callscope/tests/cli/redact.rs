//! Personal data end to end: `import` masks before the store sees it,
//! `show`, `stats`, failures.jsonl and every byte of the workspace hold no
//! clear numbers, originals are sealed for QA, `redact --check` finds
//! planted clear data and passes on a clean workspace, `redact --apply`
//! masks in place, `export-audio --silence-pii` zeroes the right span.

use std::path::{Path, PathBuf};
use std::process::Output;

use callscope_core::model::{Evidence, QaResult, Role, Violation};
use callscope_redact::{RedactionPolicy, Redactor, SealKey};
use callscope_store::Store;

use crate::util::TestCommand;

/// Every clear form of the personal data in [`calls_jsonl`]: as said and as
/// normalized.
const CLEAR: &[&str] = &[
    "13812345678",
    "一三八一二三四五六七八",
    "13912345678",
    "110105194912310021",
    "一一零一零五一九四九一二三一零零二一",
    "11010519491231002X",
    "6222600260001072444",
    "6222 6002 6000 1072 444",
    "zhang.san@163.com",
    "62345678",
];

fn segment(start: f64, end: f64, role: &str, text: &str) -> serde_json::Value {
    serde_json::json!({"start": start, "end": end, "role": role, "text": text})
}

fn calls_jsonl() -> String {
    let c1 = serde_json::json!({
        "call_id": "C1",
        "started_at": "2026-09-01T09:30:00+08:00",
        "agent_id": "A07", "team": "T2", "queue": "账单",
        "segments": [
            segment(0.0, 3.0, "agent", "您好，请问您的身份证号是多少？"),
            segment(3.5, 9.0, "customer", "一一零一零五一九四九一二三一零零二一。"),
            segment(9.5, 14.0, "customer", "我的手机号是一三八一二三四五六七八。"),
            segment(14.5, 20.0, "customer", "卡号6222 6002 6000 1072 444，邮箱zhang.san@163.com。"),
            segment(20.5, 23.0, "agent", "好的，订单号20260901123456已经登记，座机010-62345678也记下了。"),
        ],
        "meta": {"caller_phone": "13912345678", "customer_level": "gold"}
    });
    let c2 = serde_json::json!({
        "call_id": "C2",
        "started_at": "2026-09-01T10:00:00+08:00",
        "segments": [segment(0.0, 2.0, "customer", "身份证11010519491231002X，帮我查一下。")]
    });
    // A refused line whose error would quote the number.
    let bad = r#"{"call_id":"C3","segments":[{"start":"13812345678","end":1,"role":"agent","text":"x"}]}"#;
    format!("{c1}\n{c2}\n{bad}\n")
}

fn run_with(test: &TestCommand, args: &[&str], key: Option<&Path>) -> Output {
    let mut command = test.command(args);
    command.env_remove(callscope_redact::SEAL_KEY_ENV);
    if let Some(key) = key {
        command.env(callscope_redact::SEAL_KEY_ENV, key);
    }
    command.output().unwrap()
}

fn expect_with(
    test: &TestCommand,
    args: &[&str],
    key: Option<&Path>,
    code: i32,
) -> (String, String) {
    let output = run_with(test, args, key);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "callscope {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

fn assert_no_clear(what: &str, bytes: &[u8]) {
    for clear in CLEAR {
        assert!(
            !bytes
                .windows(clear.len())
                .any(|window| window == clear.as_bytes()),
            "{what} holds the clear {clear}"
        );
    }
}

fn every_file(root: &Path) -> Vec<PathBuf> {
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

fn keygen(test: &TestCommand) -> PathBuf {
    let key = test.dir().join("keys/seal.key");
    let (stdout, _) = expect_with(
        test,
        &["redact", "keygen", "--out", key.to_str().unwrap()],
        None,
        0,
    );
    assert!(stdout.contains("key id"), "{stdout}");
    key
}

#[test]
fn import_masks_everything_people_see_and_nothing_leaks() {
    let test = TestCommand::new();
    let key = keygen(&test);
    let file = test.write("calls.jsonl", calls_jsonl());
    let (stdout, stderr) = expect_with(&test, &["import", file.to_str().unwrap()], Some(&key), 1);
    assert!(stdout.contains("imported 2 calls"), "{stdout}");
    assert!(
        stdout.contains("masked 7 personal data items in 2 calls"),
        "{stdout}"
    );
    assert!(stdout.contains("sealed with key"), "{stdout}");
    assert!(stderr.contains("C3") || stderr.contains(":3:"), "{stderr}");
    assert_no_clear("import stdout", stdout.as_bytes());
    assert_no_clear("import stderr", stderr.as_bytes());
    let (json, _) = expect_with(
        &test,
        &["import", file.to_str().unwrap(), "--json"],
        Some(&key),
        1,
    );
    let report: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(report["redacted"]["items"]["mobile"], 2);
    assert_eq!(report["redacted"]["items"]["id_card"], 2);
    assert_eq!(report["redacted"]["sealed"], 2);
    assert_no_clear("import --json", json.as_bytes());

    let (show, _) = expect_with(&test, &["show", "C1"], None, 0);
    assert!(show.contains("我的手机号是138****5678。"), "{show}");
    assert!(show.contains("110***********0021"), "{show}");
    assert!(
        show.contains("订单号20260901123456"),
        "near-miss kept: {show}"
    );
    assert!(show.contains("010-****5678"), "{show}");
    assert_no_clear("show", show.as_bytes());
    let (show_json, _) = expect_with(&test, &["show", "C1", "--json"], None, 0);
    let call: serde_json::Value = serde_json::from_str(show_json.trim()).unwrap();
    assert_eq!(call["segments"][2]["text"], "我的手机号是138****5678。");
    assert_eq!(call["segments"][2]["start"], 9.5);
    assert_eq!(call["segments"][2]["end"], 14.0);
    assert_eq!(call["meta"]["caller_phone"], "139****5678");
    assert_no_clear("show --json", show_json.as_bytes());
    let (stats, _) = expect_with(&test, &["stats", "--json"], None, 0);
    assert_no_clear("stats", stats.as_bytes());

    let failures = std::fs::read(test.data().join("failures.jsonl")).unwrap();
    assert!(String::from_utf8_lossy(&failures).contains("138****5678"));
    assert_no_clear("failures.jsonl", &failures);

    // Every byte of the workspace, sealed table included: the originals
    // are there only encrypted.
    let files = every_file(&test.data());
    assert!(files.iter().any(|path| path.ends_with("callscope.db")));
    for path in &files {
        assert_no_clear(&path.display().to_string(), &std::fs::read(path).unwrap());
    }

    // QA's view: the original, opened with the key; a wrong key fails.
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    let stored = store.get_call("C1").unwrap().unwrap();
    let sealed = store.sealed_original("C1").unwrap().unwrap();
    let redactor = Redactor::new(
        RedactionPolicy::default(),
        Some(SealKey::load(&key).unwrap()),
    )
    .unwrap();
    let original = redactor.unseal(&stored, &sealed).unwrap();
    assert_eq!(
        original.segments[2].text,
        "我的手机号是一三八一二三四五六七八。"
    );
    assert_eq!(original.meta["caller_phone"], "13912345678");
    let stranger = Redactor::new(
        RedactionPolicy::default(),
        Some(SealKey::generate().unwrap()),
    )
    .unwrap();
    assert!(stranger.unseal(&stored, &sealed).is_err());
    drop(store);

    let (check, _) = expect_with(&test, &["redact", "--check"], None, 0);
    assert!(check.contains("no unmasked personal data"), "{check}");
}

#[test]
fn without_a_key_nothing_is_sealed_and_a_key_inside_the_workspace_is_refused() {
    let test = TestCommand::new();
    let file = test.write("calls.jsonl", calls_jsonl());
    let (stdout, _) = expect_with(&test, &["import", file.to_str().unwrap()], None, 1);
    assert!(stdout.contains("originals not kept"), "{stdout}");
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    assert_eq!(store.redaction_counts().unwrap(), (2, 0));
    drop(store);

    let inside = test.data().join("seal.key");
    let (_, stderr) = expect_with(
        &test,
        &["redact", "keygen", "--out", inside.to_str().unwrap()],
        None,
        2,
    );
    assert!(stderr.contains("inside the workspace"), "{stderr}");
    assert!(!inside.exists());
    let key = keygen(&test);
    let (_, stderr) = expect_with(
        &test,
        &["redact", "keygen", "--out", key.to_str().unwrap()],
        None,
        2,
    );
    assert!(stderr.contains("already exists"), "{stderr}");
    // A configured key that cannot be read stops the import: originals are
    // never dropped silently.
    let missing = test.dir().join("keys/missing.key");
    let (_, stderr) = expect_with(
        &test,
        &["import", file.to_str().unwrap()],
        Some(&missing),
        2,
    );
    assert!(stderr.contains("cannot read the seal key"), "{stderr}");
}

fn plant_clear_data(test: &TestCommand) {
    std::fs::create_dir_all(test.data().join("reports")).unwrap();
    std::fs::write(
        test.data().join("reports/digest.md"),
        "# VOC\n\n- 客户留了电话13812345678，要求回电\n",
    )
    .unwrap();
    std::fs::create_dir_all(test.data().join("logs")).unwrap();
    std::fs::write(
        test.data().join("logs/callscope.log"),
        "INFO scored C1\nWARN rule read_back matched 身份证11010519491231002X\n",
    )
    .unwrap();
    // A stage that wrote clear text (a transcribe run before redaction was
    // wired, a QA result with clear evidence).
    let mut store = Store::open(&test.data().join("callscope.db")).unwrap();
    let mut call = store.get_call("C2").unwrap().unwrap();
    call.call_id = "C9".to_string();
    call.segments[0].text = "我的手机号是一三八一二三四五六七八。".to_string();
    store.put_calls(&[call]).unwrap();
    store
        .put_qa_results(&[QaResult {
            call_id: "C1".to_string(),
            scorecard: "账单质检".to_string(),
            score: 90.0,
            passed: true,
            fatal: false,
            violations: vec![Violation {
                rule_id: "read_back".to_string(),
                name: "复述号码".to_string(),
                points: 10.0,
                fatal: false,
                evidence: vec![Evidence {
                    segment: 2,
                    start: 9.5,
                    end: 14.0,
                    role: Role::Agent,
                    text: "您的手机号是13812345678对吧？".to_string(),
                    matched: "手机号".to_string(),
                }],
            }],
        }])
        .unwrap();
}

#[test]
fn check_finds_planted_clear_data_and_apply_masks_the_store() {
    let test = TestCommand::new();
    let file = test.write("calls.jsonl", calls_jsonl());
    expect_with(&test, &["import", file.to_str().unwrap()], None, 1);
    std::fs::remove_file(test.data().join("failures.jsonl")).unwrap();
    expect_with(&test, &["redact", "--check"], None, 0);
    plant_clear_data(&test);

    let (text, _) = expect_with(&test, &["redact", "--check"], None, 1);
    assert!(
        text.contains("store.calls  call C9 segment 0  text: mobile 138****5678"),
        "{text}"
    );
    assert!(
        text.contains("store.qa_results  call C1 segment 2"),
        "{text}"
    );
    assert!(
        text.contains("reports/digest.md:3: mobile 138****5678"),
        "{text}"
    );
    assert!(
        text.contains("logs/callscope.log:2: id_card 110***********002X"),
        "{text}"
    );
    assert_no_clear("check output", text.as_bytes());
    let (json, _) = expect_with(&test, &["redact", "--check", "--json"], None, 1);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["findings"], 4, "{json}");
    let surfaces: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|finding| finding["surface"].as_str().unwrap())
        .collect();
    assert_eq!(
        surfaces,
        ["store.calls", "store.qa_results", "files", "files"]
    );
    assert_no_clear("check --json", json.as_bytes());

    // --apply masks the store (keeping the QA result) and vacuums it; the
    // files are reports to regenerate.
    let (applied, _) = expect_with(&test, &["redact", "--apply"], None, 0);
    assert!(
        applied.contains("masked 1 items in 1 calls and 1 QA results"),
        "{applied}"
    );
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    let result = &store.qa_results_of("C1").unwrap()[0];
    assert_eq!(
        result.violations[0].evidence[0].text,
        "您的手机号是138****5678对吧？"
    );
    assert_eq!(
        store.get_call("C9").unwrap().unwrap().segments[0].text,
        "我的手机号是138****5678。"
    );
    drop(store);
    for suffix in ["", "-wal"] {
        let path = PathBuf::from(format!(
            "{}{suffix}",
            test.data().join("callscope.db").display()
        ));
        if path.exists() {
            assert_no_clear(&path.display().to_string(), &std::fs::read(&path).unwrap());
        }
    }
    let (text, _) = expect_with(&test, &["redact", "--check"], None, 1);
    assert!(
        !text.lines().any(|line| line.starts_with("store.")),
        "{text}"
    );
    assert!(text.contains("2 unmasked personal data items"), "{text}");
    std::fs::remove_dir_all(test.data().join("reports")).unwrap();
    std::fs::remove_dir_all(test.data().join("logs")).unwrap();
    expect_with(&test, &["redact", "--check"], None, 0);
}

#[test]
fn check_reads_leftover_database_bytes_and_audits_a_disabled_policy() {
    let test = TestCommand::new();
    test.write("data/callscope.toml", "[redaction]\nenabled = false\n");
    let file = test.write("calls.jsonl", calls_jsonl());
    expect_with(&test, &["import", file.to_str().unwrap()], None, 1);
    std::fs::remove_file(test.data().join("failures.jsonl")).unwrap();
    // Redaction off: the store holds clear text and the audit says so.
    let (text, _) = expect_with(&test, &["redact", "--check"], None, 1);
    assert!(text.contains("auditing every kind"), "{text}");
    assert!(
        text.contains("call C1 segment 2  text: mobile 138****5678"),
        "{text}"
    );
    assert!(
        text.contains("meta.caller_phone: mobile 139****5678"),
        "{text}"
    );

    // A rollback journal left behind holds bytes no row accounts for: a
    // call body's JSON (the raw scan reads JSON strings).
    std::fs::remove_file(test.data().join("callscope.toml")).unwrap();
    expect_with(&test, &["redact", "--apply"], None, 0);
    expect_with(&test, &["redact", "--check"], None, 0);
    std::fs::write(
        test.data().join("callscope.db-journal"),
        "\0\0SQLite page {\"text\":\"我的手机号是18612345678。\"}\0",
    )
    .unwrap();
    let (text, _) = expect_with(&test, &["redact", "--check"], None, 1);
    assert!(text.contains("store.file"), "{text}");
    assert!(text.contains("callscope.db-journal near byte"), "{text}");
    assert!(text.contains("186****5678"), "{text}");
    std::fs::remove_file(test.data().join("callscope.db-journal")).unwrap();
}

fn write_tone(path: &Path, channels: u16, rate: u32, seconds: f64) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let frames = (seconds * f64::from(rate)) as u64;
    for frame in 0..frames {
        let phase = frame as f64 / f64::from(rate) * 440.0 * std::f64::consts::TAU;
        // A tone that never crosses zero: every non-silenced sample is nonzero.
        let value = (3000.0 + 1000.0 * phase.sin()) as i16;
        for _ in 0..channels {
            writer.write_sample(value).unwrap();
        }
    }
    writer.finalize().unwrap();
}

fn read_frames(path: &Path) -> (hound::WavSpec, Vec<Vec<i16>>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let frames = samples
        .chunks(usize::from(spec.channels))
        .map(<[i16]>::to_vec)
        .collect();
    (spec, frames)
}

#[test]
fn export_audio_silences_the_masked_span() {
    let test = TestCommand::new();
    let audio = test.dir().join("C7.wav");
    write_tone(&audio, 2, 8000, 16.0);
    // 14 spoken characters over 14 s: the number, characters 3..14, was
    // said from 4.0 s to 15.0 s.
    let line = serde_json::json!({
        "call_id": "C7",
        "audio_path": audio,
        "segments": [segment(0.0, 0.8, "agent", "您好。"), segment(1.0, 15.0, "customer", "手机号13812345678")]
    });
    let file = test.write("c7.jsonl", format!("{line}\n"));
    expect_with(&test, &["import", file.to_str().unwrap()], None, 0);

    let plain = test.dir().join("out/plain.wav");
    expect_with(
        &test,
        &["export-audio", "C7", "--out", plain.to_str().unwrap()],
        None,
        0,
    );
    assert_eq!(read_frames(&plain), read_frames(&audio));

    let silenced = test.dir().join("out/silenced.wav");
    let (stdout, _) = expect_with(
        &test,
        &[
            "export-audio",
            "C7",
            "--out",
            silenced.to_str().unwrap(),
            "--silence-pii",
            "--margin",
            "0.25",
        ],
        None,
        0,
    );
    assert!(stdout.contains("silenced 1 stretches"), "{stdout}");
    let (spec, frames) = read_frames(&silenced);
    assert_eq!(
        (spec.channels, spec.sample_rate, frames.len()),
        (2, 8000, 128_000)
    );
    let at = |seconds: f64| (seconds * 8000.0) as usize;
    for (index, frame) in frames.iter().enumerate() {
        let zero = frame.iter().all(|sample| *sample == 0);
        if (at(3.75)..at(15.25)).contains(&index) {
            assert!(
                zero,
                "frame {index} ({} s) should be silent",
                index as f64 / 8000.0
            );
        } else {
            assert!(
                !zero,
                "frame {index} ({} s) should keep its sound",
                index as f64 / 8000.0
            );
        }
    }

    // Without an audio path, the command says how to give one.
    let no_audio =
        serde_json::json!({"call_id": "C8", "segments": [segment(0.0, 1.0, "agent", "您好")]});
    let file = test.write("c8.jsonl", format!("{no_audio}\n"));
    expect_with(&test, &["import", file.to_str().unwrap()], None, 0);
    let (_, stderr) = expect_with(
        &test,
        &["export-audio", "C8", "--out", plain.to_str().unwrap()],
        None,
        2,
    );
    assert!(stderr.contains("--audio"), "{stderr}");
}

#[test]
fn redact_without_an_action_says_what_to_do() {
    let test = TestCommand::new();
    let (_, stderr) = expect_with(&test, &["redact"], None, 2);
    assert!(
        stderr.contains("--check") && stderr.contains("keygen"),
        "{stderr}"
    );
}
