//! `callscope import`, `show` and `stats`.

use std::io::Write;

use crate::util::{repo, TestCommand};

fn segment(start: f64, end: f64, role: &str, text: &str) -> serde_json::Value {
    serde_json::json!({"start": start, "end": end, "role": role, "text": text})
}

fn call_line(call_id: &str, text: &str) -> String {
    serde_json::json!({
        "call_id": call_id,
        "started_at": "2026-09-01T09:30:00+08:00",
        "agent_id": "A07", "team": "T2", "queue": "售后",
        "segments": [segment(0.0, 2.1, "agent", "您好，很高兴为您服务。"),
                     segment(2.6, 6.0, "customer", text)],
        "meta": {"customer_level": "gold"}
    })
    .to_string()
}

#[test]
fn import_show_and_stats_round_trip() {
    let test = TestCommand::new();
    let file = test.write(
        "calls.jsonl",
        format!(
            "{}\n{}\n",
            call_line("C1", "我的订单三天了还没发货。"),
            call_line("C2", "退款")
        ),
    );
    let run = test.expect(&["import", file.to_str().unwrap()], 0);
    assert!(run.stdout.contains("imported 2 calls"), "{}", run.stdout);

    let show = test.expect(&["show", "C1", "--json"], 0);
    let call = &show.json_lines()[0];
    assert_eq!(call["call_id"], "C1");
    assert_eq!(call["segments"][1]["text"], "我的订单三天了还没发货。");
    assert_eq!(call["meta"]["customer_level"], "gold");

    let text = test.expect(&["show", "C1"], 0);
    assert!(text.stdout.contains("customer"), "{}", text.stdout);
    assert!(text.stdout.contains("00:02.6"), "{}", text.stdout);

    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"], 2);
    assert_eq!(stats["agents"], 1);
    assert_eq!(stats["from"], "2026-09-01T09:30:00+08:00");
    assert!((stats["hours"].as_f64().unwrap() - 12.0 / 3600.0).abs() < 1e-9);
}

#[test]
fn reimporting_a_call_replaces_it() {
    let test = TestCommand::new();
    let first = test.write("a.jsonl", call_line("C1", "旧的文本"));
    let second = test.write("b.jsonl", call_line("C1", "新的文本"));
    test.expect(&["import", first.to_str().unwrap()], 0);
    test.expect(&["import", second.to_str().unwrap()], 0);
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"], 1);
    let call = test.expect(&["show", "C1", "--json"], 0).json_lines()[0].clone();
    assert_eq!(call["segments"][1]["text"], "新的文本");
}

#[test]
fn bad_lines_are_reported_and_the_rest_imported() {
    let test = TestCommand::new();
    let mut input = Vec::new();
    writeln!(input, "{}", call_line("good1", "好的")).unwrap();
    writeln!(input, "{{\"call_id\":\"trunc\",\"segments\":[{{\"start\":0").unwrap();
    writeln!(input, "{{\"segments\":[]}}").unwrap();
    input.extend_from_slice(b"{\"call_id\":\"\xff\xfe\",\"segments\":[]}\n");
    writeln!(
        input,
        "{}",
        serde_json::json!({"call_id": "rev", "segments": [segment(5.0, 1.0, "agent", "x")]})
    )
    .unwrap();
    writeln!(input, "{}", call_line("good2", "好的")).unwrap();
    let file = test.write("mixed.jsonl", input);
    let run = test.expect(&["import", file.to_str().unwrap()], 1);
    for expected in [
        "mixed.jsonl:2: truncated JSON",
        "mixed.jsonl:3: missing call_id",
        "mixed.jsonl:4: invalid UTF-8",
        "mixed.jsonl:5: segment 0: end 1 is before start 5",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"], 2);
    let failures = std::fs::read_to_string(test.data().join("failures.jsonl")).unwrap();
    assert_eq!(failures.lines().count(), 4);
}

#[test]
fn an_empty_file_is_a_clear_error() {
    let test = TestCommand::new();
    let file = test.write("empty.jsonl", "");
    let run = test.expect(&["import", file.to_str().unwrap()], 2);
    assert!(
        run.stderr.contains("empty.jsonl: no calls in the input"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_50_megabyte_line_is_refused_with_its_limit() {
    let test = TestCommand::new();
    let path = test.dir().join("huge.jsonl");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(file, "{}", call_line("before", "好")).unwrap();
        write!(
            file,
            "{{\"call_id\":\"huge\",\"segments\":[],\"meta\":{{\"x\":\""
        )
        .unwrap();
        let chunk = "啊".repeat(1 << 16);
        let mut written = 0;
        while written < 50 * 1024 * 1024 {
            file.write_all(chunk.as_bytes()).unwrap();
            written += chunk.len();
        }
        writeln!(file, "\"}}}}").unwrap();
        writeln!(file, "{}", call_line("after", "好")).unwrap();
    }
    let run = test.expect(&["import", path.to_str().unwrap()], 1);
    assert!(
        run.stderr.contains("huge.jsonl:2: line is"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("over the limit of 16777216 bytes"),
        "{}",
        run.stderr
    );
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"], 2);
}

#[test]
fn import_reads_standard_input() {
    let test = TestCommand::new();
    let mut child = test
        .command(&["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(call_line("stdin1", "好").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    test.expect(&["show", "stdin1"], 0);
}

#[test]
fn unknown_calls_and_missing_workspaces_say_what_to_do() {
    let test = TestCommand::new();
    let run = test.expect(&["stats"], 2);
    assert!(run.stderr.contains("no workspace at"), "{}", run.stderr);
    let file = test.write("a.jsonl", call_line("C1", "好"));
    test.expect(&["import", file.to_str().unwrap()], 0);
    let run = test.expect(&["show", "NOPE"], 2);
    assert!(run.stderr.contains("no call 'NOPE'"), "{}", run.stderr);
}

#[test]
fn the_bundled_demo_transcripts_import() {
    let test = TestCommand::new();
    let demo = repo().join("corpora/demo/transcripts.jsonl");
    test.expect(&["import", demo.to_str().unwrap()], 0);
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"], 12);
}

/// `kill -9` during an import of 100,000 calls, then the same import again:
/// every call is there exactly once and none is half-written.
#[test]
fn killed_import_resumes_without_loss_or_duplicates() {
    use callscope_testkit::synth::{Generator, SynthOptions};
    let test = TestCommand::new();
    let path = test.dir().join("100k.jsonl");
    let generator = Generator::new(SynthOptions::default());
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        generator.write_jsonl(100_000, &mut file).unwrap();
    }
    let mut child = test
        .command(&["import", path.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some batches are committed but before the end.
    let database = test.data().join("callscope.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let grown = std::fs::metadata(test.data().join("callscope.db-wal"))
            .map(|metadata| metadata.len() > 8 << 20)
            .unwrap_or(false);
        if grown || std::time::Instant::now() > deadline {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("import finished before it could be killed: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(database.exists());
    let partial = test.expect(&["stats", "--json"], 0).json_lines()[0]["calls"]
        .as_u64()
        .unwrap();
    assert!(partial < 100_000, "the kill came too late: {partial}");

    test.expect(&["import", path.to_str().unwrap(), "--quiet"], 0);
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"], 100_000);
    // Every call is whole: spot-check calls against the generator.
    for index in [0u64, 1, 4_999, 50_000, 99_999] {
        let expected = generator.call(index);
        let stored = test
            .expect(&["show", &expected.call_id, "--json"], 0)
            .json_lines()[0]
            .clone();
        let stored: callscope_core::model::Call = serde_json::from_value(stored).unwrap();
        assert_eq!(stored, expected);
    }
}
