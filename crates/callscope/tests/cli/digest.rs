//! `callscope digest`: planted burst and fix, before/after, alerts, the JSON
//! contract (docs/formats.md §5), Markdown, and the HTML page in headless
//! Chromium.
//!
//! The corpus comes from `callscope_testkit::synth_voc` (63 days, ~6,000 calls with
//! volume doubling over the period): from 2026-09-26 customers complain that
//! the payment button moved; from 2026-09-12 verification codes arrive
//! again; team T01's QA quality drops in the last week.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callscope_store::Store;
use callscope_testkit::synth_voc::{
    VocGenerator, VocScenario, BURST_TERMS, FIXED_TERM, STEADY_TERMS,
};
use serde_json::Value;

use crate::util::{repo, TestCommand};

/// A workspace holding `scenario`'s calls (imported through the CLI) and
/// QA results.
fn workspace(scenario: VocScenario) -> TestCommand {
    let test = TestCommand::new();
    let generator = VocGenerator::new(scenario);
    let mut jsonl = Vec::new();
    generator.write_jsonl(&mut jsonl).unwrap();
    let file = test.write("calls.jsonl", jsonl);
    test.expect(&["import", file.to_str().unwrap()], 0);
    let mut store = Store::open(&test.data().join("callscope.db")).unwrap();
    store.put_qa_results(&generator.qa_results()).unwrap();
    test
}

fn topics() -> String {
    repo()
        .join("corpora/topics/example.toml")
        .display()
        .to_string()
}

fn digest_json(test: &TestCommand, args: &[&str]) -> Value {
    let mut all = vec!["digest", "--json"];
    all.extend_from_slice(args);
    let run = test.expect(&all, 0);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "one JSON object: {}", run.stdout);
    lines.into_iter().next().unwrap()
}

/// Every term of a rising or falling list, heads and what they cover.
fn listed(changes: &Value) -> Vec<String> {
    let mut terms = Vec::new();
    for change in changes.as_array().unwrap() {
        terms.push(change["term"].as_str().unwrap().to_string());
        for covered in change["covers"].as_array().unwrap() {
            terms.push(covered.as_str().unwrap().to_string());
        }
    }
    terms
}

fn term_entry<'a>(digest: &'a Value, list: &str, term: &str) -> Option<&'a Value> {
    digest[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["term"] == term)
}

#[test]
fn planted_burst_and_fix_are_found_and_steady_terms_are_not() {
    let test = workspace(VocScenario::small());
    let digest = digest_json(&test, &["--top", "500"]);
    // Default window: the last 7 days; baseline: the 28 days before.
    assert_eq!(digest["window"]["from"], "2026-09-26");
    assert_eq!(digest["window"]["to"], "2026-10-02");
    assert_eq!(digest["baseline"]["from"], "2026-08-29");
    assert_eq!(digest["baseline"]["to"], "2026-09-25");

    let rising = listed(&digest["emerging"]);
    for term in BURST_TERMS {
        assert!(
            rising.contains(&term.to_string()),
            "{term} not in {rising:?}"
        );
    }
    let falling = listed(&digest["falling"]);
    assert!(falling.contains(&FIXED_TERM.to_string()), "{falling:?}");

    // Steady topics grew in calls per day with the volume, yet neither
    // rose nor fell.
    let (mut per_day, mut before) = (0.0, 0.0);
    for term in STEADY_TERMS {
        assert!(
            !rising.contains(&term.to_string()),
            "{term} rising: {rising:?}"
        );
        assert!(
            !falling.contains(&term.to_string()),
            "{term} falling: {falling:?}"
        );
        let counted =
            term_entry(&digest, "terms", term).unwrap_or_else(|| panic!("{term} is a top term"));
        per_day += counted["calls"].as_f64().unwrap() / 7.0;
        before += counted["baseline_calls"].as_f64().unwrap() / 28.0;
    }
    assert!(
        per_day > 1.1 * before,
        "steady terms: {per_day} calls/day vs {before}"
    );
    // No noise either: a handful of themes, each with strong evidence.
    let emerging = digest["emerging"].as_array().unwrap();
    assert!(emerging.len() <= 3, "{emerging:#?}");
    let head = &emerging[0];
    assert!(head["score"].as_f64().unwrap() > 50.0);
    assert!(head["share"].as_f64().unwrap() > 0.05);
    assert!(head["baseline_share"].as_f64().unwrap() < 0.01);
    let examples = head["examples"].as_array().unwrap();
    assert!((2..=3).contains(&examples.len()), "{examples:?}");
    for example in examples {
        let text = example["text"].as_str().unwrap();
        assert!(text.contains("按钮"), "{text}");
        assert!(example["call_id"].as_str().unwrap().starts_with('V'));
        assert!(example["start"].as_f64().unwrap() > 0.0);
        let shown = test.expect(&["show", example["call_id"].as_str().unwrap(), "--json"], 0);
        assert!(shown.stdout.contains(text), "quote not in its call");
    }
}

#[test]
fn the_window_before_the_burst_has_no_burst() {
    let test = workspace(VocScenario::small());
    let digest = digest_json(&test, &["--from", "2026-09-19", "--to", "2026-09-25"]);
    let rising = listed(&digest["emerging"]);
    for term in BURST_TERMS {
        assert!(!rising.contains(&term.to_string()), "{term} in {rising:?}");
    }
    // One queue only: fewer calls, and the burst is still there.
    let all = digest_json(&test, &[]);
    let queue = digest_json(&test, &["--queue", "售后"]);
    assert_eq!(queue["settings"]["queue"], "售后");
    let (in_queue, everywhere) = (
        queue["window"]["calls"].as_u64().unwrap(),
        all["window"]["calls"].as_u64().unwrap(),
    );
    assert!(
        in_queue > 0 && in_queue < everywhere / 2,
        "{in_queue} of {everywhere}"
    );
    assert!(listed(&queue["emerging"]).contains(&"支付按钮".to_string()));
}

#[test]
fn agent_and_team_narrow_the_digest_like_search_and_qa() {
    let test = workspace(VocScenario::small());
    let digest = digest_json(&test, &["--team", "T01"]);
    assert_eq!(digest["settings"]["team"], "T01");
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    let window = |digest: &Value, key: &str| {
        chrono::NaiveDate::parse_from_str(digest["window"][key].as_str().unwrap(), "%Y-%m-%d").ok()
    };
    let in_team = store
        .count_calls(&callscope_store::CallFilter {
            from: window(&digest, "from"),
            to: window(&digest, "to"),
            team: Some("T01".to_string()),
            ..Default::default()
        })
        .unwrap();
    assert!(in_team > 0);
    assert_eq!(digest["window"]["calls"].as_u64().unwrap(), in_team);
    let teams: Vec<&str> = digest["qa"]["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|team| team["team"].as_str().unwrap())
        .collect();
    assert_eq!(teams, ["T01"]);
    // An agent of that team: a subset of the team's calls.
    let agent = digest_json(&test, &["--team", "T01", "--agent", "A012"]);
    let of_agent = agent["window"]["calls"].as_u64().unwrap();
    assert!(of_agent < in_team, "{of_agent} of {in_team}");
    // The shared flags are checked the same way everywhere.
    let run = test.run(&["digest", "--from", "2026-09-20", "--to", "2026-09-10"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("swap them"), "{}", run.stderr);
}

#[test]
fn before_after_shows_the_fix_and_no_change_for_a_steady_term() {
    let test = workspace(VocScenario::small());
    let before = "2026-08-29..2026-09-11";
    let after = "2026-09-12..2026-09-25";
    let fixed = digest_json(&test, &["--compare", before, after, "--term", "验证码"]);
    let compare = &fixed["compare"];
    assert_eq!(compare["term"], "验证码");
    assert_eq!(compare["kind"], "term");
    assert_eq!(compare["significant"], true);
    assert_eq!(compare["verdict"], "fell");
    assert!(compare["difference"]["high"].as_f64().unwrap() < 0.0);
    for (period, from) in [("before", "2026-08-29"), ("after", "2026-09-12")] {
        let share = &compare[period];
        assert_eq!(share["from"], from);
        let (low, value, high) = (
            share["low"].as_f64().unwrap(),
            share["share"].as_f64().unwrap(),
            share["high"].as_f64().unwrap(),
        );
        assert!(low < value && value < high, "{share}");
        let expected = share["matching"].as_f64().unwrap() / share["calls"].as_f64().unwrap();
        assert!((value - expected).abs() < 1e-12);
    }
    assert!(compare["before"]["share"].as_f64().unwrap() > 0.05);
    assert!(compare["after"]["share"].as_f64().unwrap() < 0.02);

    let steady = digest_json(&test, &["--compare", before, after, "--term", "退款"]);
    assert_eq!(
        steady["compare"]["significant"], false,
        "{}",
        steady["compare"]
    );
    assert_eq!(steady["compare"]["verdict"], "no significant change");

    // A topic by name, and the text summary.
    let run = test.expect(
        &[
            "digest",
            "--topics",
            &topics(),
            "--compare",
            before,
            after,
            "--term",
            "验证码",
        ],
        0,
    );
    assert!(
        run.stdout.contains("Before/after: 验证码 (topic)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("fell"), "{}", run.stdout);
}

#[test]
fn a_team_whose_quality_dropped_alerts() {
    let test = workspace(VocScenario::small());
    let digest = digest_json(&test, &[]);
    let alerts = digest["alerts"].as_array().unwrap();
    assert!(!alerts.is_empty());
    for alert in alerts {
        assert_eq!(alert["team"], "T01", "{alert}");
        assert!(alert["recent"].as_f64().unwrap() < alert["baseline"].as_f64().unwrap());
        assert!(alert["calls"].as_u64().unwrap() >= 30);
        assert!(alert["p_value"].as_f64().unwrap() < 0.01);
    }
    let metrics: Vec<&str> = alerts
        .iter()
        .filter(|alert| alert.get("agent_id").is_none())
        .map(|alert| alert["metric"].as_str().unwrap())
        .collect();
    assert!(
        metrics.contains(&"qa_score") && metrics.contains(&"pass_rate"),
        "{metrics:?}"
    );
    // With fewer calls needed, T01's agents show up too, and only they.
    let agents = digest_json(&test, &["--alert-min-calls", "10"]);
    let agent_alerts: Vec<&Value> = agents["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|alert| alert.get("agent_id").is_some())
        .collect();
    assert!(!agent_alerts.is_empty());
    assert!(agent_alerts.iter().all(|alert| alert["team"] == "T01"));
}

#[test]
fn steady_quality_does_not_alert() {
    let test = workspace(VocScenario {
        qa_drop: None,
        ..VocScenario::small()
    });
    let digest = digest_json(&test, &["--alert-min-calls", "10"]);
    assert_eq!(
        digest["alerts"],
        serde_json::json!([]),
        "{}",
        digest["alerts"]
    );
    assert!(digest["qa"]["calls"].as_u64().unwrap() > 500);
}

#[test]
fn the_json_follows_the_contract() {
    let test = workspace(VocScenario::small());
    let digest = digest_json(&test, &["--topics", &topics(), "--focus", "按钮"]);
    for period in ["window", "baseline"] {
        for field in ["from", "to"] {
            assert!(digest[period][field].is_string(), "{period}.{field}");
        }
        assert!(digest[period]["calls"].as_u64().unwrap() > 0);
    }
    let calls = &digest["calls"];
    assert_eq!(calls["window"], digest["window"]["calls"]);
    assert_eq!(calls["baseline"], digest["baseline"]["calls"]);
    let days = calls["days"].as_array().unwrap();
    assert_eq!(days.len(), 35);
    let total: u64 = days.iter().map(|day| day["calls"].as_u64().unwrap()).sum();
    assert_eq!(
        total,
        calls["window"].as_u64().unwrap() + calls["baseline"].as_u64().unwrap()
    );
    let weeks: u64 = calls["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|week| week["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(weeks, total);

    let terms = digest["terms"].as_array().unwrap();
    assert!(!terms.is_empty());
    for term in terms {
        assert!(term["term"].is_string() && term["calls"].is_u64());
        let per_day: u64 = term["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|day| day["calls"].as_u64().unwrap())
            .sum();
        assert_eq!(
            per_day,
            term["calls"].as_u64().unwrap() + term["baseline_calls"].as_u64().unwrap()
        );
    }
    let counts: Vec<u64> = terms.iter().map(|t| t["calls"].as_u64().unwrap()).collect();
    assert!(
        counts.windows(2).all(|pair| pair[0] >= pair[1]),
        "sorted by calls"
    );

    for list in ["emerging", "falling"] {
        for change in digest[list].as_array().unwrap() {
            for field in [
                "term",
                "calls",
                "baseline_calls",
                "share",
                "baseline_share",
                "score",
                "examples",
            ] {
                assert!(change.get(field).is_some(), "{list}.{field}");
            }
            for example in change["examples"].as_array().unwrap() {
                assert!(example["call_id"].is_string());
                assert!(example["start"].is_f64());
                assert!(example["text"].is_string());
            }
        }
    }

    let topics = digest["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 6);
    let button = topics
        .iter()
        .find(|topic| topic["name"] == "支付按钮")
        .unwrap();
    assert!(button["share"].as_f64().unwrap() > 10.0 * button["baseline_share"].as_f64().unwrap());
    assert_eq!(button["days"].as_array().unwrap().len(), 35);
    assert!(!button["weeks"].as_array().unwrap().is_empty());

    let qa = &digest["qa"];
    assert!(qa["pass_rate"].as_f64().unwrap() > 0.5);
    assert!(qa["average_score"].as_f64().unwrap() > 50.0);
    let rules = qa["top_violations"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|rule| rule["rule_id"] == "forbidden_words"));
    assert!(!qa["teams"].as_array().unwrap().is_empty());

    let alert = &digest["alerts"][0];
    for field in ["metric", "recent", "baseline", "calls"] {
        assert!(alert.get(field).is_some(), "alerts.{field}");
    }
    assert!(alert.get("team").is_some() || alert.get("agent_id").is_some());

    let cooccurrence = &digest["cooccurrence"];
    assert_eq!(cooccurrence["focus"], "按钮");
    let companions: Vec<&str> = cooccurrence["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|companion| companion["term"].as_str().unwrap())
        .collect();
    assert!(companions.contains(&"位置"), "{companions:?}");
    assert!(
        !companions.iter().any(|term| term.contains("按钮")),
        "{companions:?}"
    );
}

#[test]
fn new_and_changed_calls_are_picked_up() {
    let test = workspace(VocScenario::small());
    let first = test.expect(&["digest"], 0);
    assert!(
        first.stderr.contains("cached the terms of"),
        "{}",
        first.stderr
    );
    // Nothing changed: nothing to compute.
    let again = test.expect(&["digest"], 0);
    assert!(
        !again.stderr.contains("cached the terms"),
        "{}",
        again.stderr
    );
    // Rewrite one call so its customer talks about something new.
    let call = serde_json::json!({
        "call_id": "V00000001", "started_at": "2026-10-02T10:00:00+08:00",
        "segments": [{"start": 1.0, "end": 4.0, "role": "customer", "text": "我的无人机遥控器连不上。"}]
    });
    let file = test.write("changed.jsonl", format!("{call}\n"));
    test.expect(&["import", file.to_str().unwrap()], 0);
    let run = test.expect(&["digest", "--json", "--top", "5000"], 0);
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("error"),
        "{}",
        run.stderr
    );
    let digest: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let drone = term_entry(&digest, "terms", "无人机").expect("the new term is counted");
    assert_eq!(drone["calls"], 1);
}

#[test]
fn markdown_and_text_reports() {
    let test = workspace(VocScenario::small());
    // Topics from the workspace config instead of --topics.
    std::fs::write(
        test.data().join("callscope.toml"),
        format!("[digest]\ntopics = {:?}\n", topics()),
    )
    .unwrap();
    let markdown = test.dir().join("reports/digest.md");
    let run = test.expect(&["digest", "--markdown", markdown.to_str().unwrap()], 0);
    assert!(run.stdout.contains("Rising"), "{}", run.stdout);
    assert!(run.stdout.contains("支付按钮"), "{}", run.stdout);
    assert!(run.stdout.contains("team T01"), "{}", run.stdout);
    let text = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        text.starts_with("# VOC digest 2026-09-26..2026-10-02"),
        "{text}"
    );
    assert!(text.contains("| 支付按钮"), "{text}");
    assert!(text.contains("## Topics"), "{text}");
    assert!(text.contains("## Alerts"), "{text}");
}

#[test]
fn bad_input_is_refused_with_a_way_out() {
    let test = workspace(VocScenario::small());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--from".into(), "2026/09/01".into()],
            "write YYYY-MM-DD",
        ),
        (
            vec![
                "--from".into(),
                "2026-09-10".into(),
                "--to".into(),
                "2026-09-01".into(),
            ],
            "after --to",
        ),
        (
            vec![
                "--baseline-from".into(),
                "2026-09-20".into(),
                "--baseline-to".into(),
                "2026-09-28".into(),
            ],
            "overlaps the window",
        ),
        (
            vec![
                "--compare".into(),
                "2026-09-01".into(),
                "2026-09-02..2026-09-03".into(),
                "--term".into(),
                "退款".into(),
            ],
            "FROM..TO",
        ),
        (vec!["--focus".into(), "请问".into()], "no term"),
        (
            vec!["--topics".into(), "missing.toml".into()],
            "missing.toml",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["digest"];
        all.extend(args.iter().map(String::as_str));
        let run = test.expect(&all, 2);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    let bad_topics = test.write("bad.toml", "[[topic]]\nname = \"x\"\nquery = \"(退款\"\n");
    let run = test.expect(&["digest", "--topics", bad_topics.to_str().unwrap()], 2);
    assert!(
        run.stderr.contains("bad.toml") && run.stderr.contains("topic 'x'"),
        "{}",
        run.stderr
    );

    let empty = TestCommand::new();
    let run = empty.expect(&["digest"], 2);
    assert!(run.stderr.contains("no workspace"), "{}", run.stderr);
}

fn chromium() -> PathBuf {
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for directory in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("headless Chromium is needed for the HTML test: run scripts/deps.sh (apt-get install chromium)");
}

/// Runs headless Chromium on `page` with `mode` (`--dump-dom` or
/// `--screenshot=...`) and returns its stdout.
fn run_chromium(page: &Path, mode: &str, profile: &Path) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1000,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// Decodes an 8-bit, non-interlaced PNG into (width, height, channels,
/// pixels).
fn decode_png(bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut position = 8;
    let (mut width, mut height, mut channels) = (0, 0, 0);
    let mut data = Vec::new();
    while position + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[position..position + 4].try_into().unwrap()) as usize;
        let kind = &bytes[position + 4..position + 8];
        let body = &bytes[position + 8..position + 8 + length];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert_eq!(body[8], 8, "8-bit PNG");
                assert_eq!(body[12], 0, "non-interlaced PNG");
                channels = match body[9] {
                    0 => 1,
                    2 => 3,
                    4 => 2,
                    6 => 4,
                    other => panic!("PNG color type {other}"),
                };
            }
            b"IDAT" => data.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        position += 12 + length;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&data[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = width * channels;
    let mut pixels = vec![0u8; stride * height];
    for row in 0..height {
        let filter = raw[row * (stride + 1)];
        let line = &raw[row * (stride + 1) + 1..(row + 1) * (stride + 1)];
        for column in 0..stride {
            let left = if column >= channels {
                pixels[row * stride + column - channels]
            } else {
                0
            };
            let up = if row > 0 {
                pixels[(row - 1) * stride + column]
            } else {
                0
            };
            let up_left = if row > 0 && column >= channels {
                pixels[(row - 1) * stride + column - channels]
            } else {
                0
            };
            let predictor = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => {
                    let estimate = i16::from(left) + i16::from(up) - i16::from(up_left);
                    let (a, b, c) = (
                        (estimate - i16::from(left)).abs(),
                        (estimate - i16::from(up)).abs(),
                        (estimate - i16::from(up_left)).abs(),
                    );
                    if a <= b && a <= c {
                        left
                    } else if b <= c {
                        up
                    } else {
                        up_left
                    }
                }
                other => panic!("PNG filter {other}"),
            };
            pixels[row * stride + column] = line[column].wrapping_add(predictor);
        }
    }
    (width, height, channels, pixels)
}

#[test]
fn the_html_page_renders_its_charts_offline() {
    let test = workspace(VocScenario::small());
    let page = test.dir().join("digest.html");
    test.expect(
        &[
            "digest",
            "--topics",
            &topics(),
            "--compare",
            "2026-08-29..2026-09-11",
            "2026-09-12..2026-09-25",
            "--term",
            "验证码",
            "--html",
            page.to_str().unwrap(),
        ],
        0,
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no script, no external asset.
    assert!(!html.contains("<script"), "no script");
    for external in ["http://", "https://", "src=", "@import", "url("] {
        let found = html
            .match_indices(external)
            .any(|(index, _)| !html[..index].ends_with("xmlns=\""));
        assert!(!found, "external reference {external}");
    }

    let profile = tempfile::tempdir().unwrap();
    let dom = run_chromium(&page, "--dump-dom", profile.path());
    for chart in ["changes", "topics", "qa-teams", "volume", "compare"] {
        let marker = format!("data-chart=\"{chart}\"");
        let start = dom
            .find(&marker)
            .unwrap_or_else(|| panic!("chart {chart} not in the rendered DOM"));
        let end = start + dom[start..].find("</svg>").unwrap();
        let drawn = ["<polyline", "<circle", "<rect", "<line"]
            .iter()
            .map(|shape| dom[start..end].matches(shape).count())
            .sum::<usize>();
        assert!(drawn >= 5, "chart {chart} draws only {drawn} shapes");
    }
    assert!(
        dom.contains("支付按钮") && dom.contains("T01"),
        "content rendered"
    );

    let shot = test.dir().join("digest.png");
    run_chromium(
        &page,
        &format!("--screenshot={}", shot.display()),
        profile.path(),
    );
    let (width, height, channels, pixels) = decode_png(&std::fs::read(&shot).unwrap());
    assert!(width >= 900 && height >= 2000, "{width}x{height}");
    let mut colors = std::collections::HashSet::new();
    let mut ink = 0usize;
    for pixel in pixels.chunks(channels) {
        let rgb = if channels >= 3 {
            [pixel[0], pixel[1], pixel[2]]
        } else {
            [pixel[0]; 3]
        };
        colors.insert(rgb);
        if rgb.iter().map(|&c| u32::from(c)).sum::<u32>() < 600 {
            ink += 1;
        }
    }
    let share = ink as f64 / (width * height) as f64;
    assert!(
        share > 0.01,
        "only {:.2}% of the page is drawn",
        share * 100.0
    );
    assert!(colors.len() > 50, "{} colors", colors.len());
    // The rising-terms red and the falling-terms green are on the page.
    let has = |target: [u8; 3]| {
        pixels.chunks(channels).any(|pixel| {
            channels >= 3
                && pixel[..3]
                    .iter()
                    .zip(target)
                    .all(|(&a, b)| (i16::from(a) - i16::from(b)).abs() <= 8)
        })
    };
    assert!(has([0xdc, 0x26, 0x26]), "no rising red in the screenshot");
    assert!(
        has([0x05, 0x96, 0x69]),
        "no falling green in the screenshot"
    );
}
