//! The web workspace end to end: a workspace imported from the search
//! golden calls plus a few made here (a recording, a `<script>`
//! transcript, personal data), a server on an ephemeral loopback port,
//! and every endpoint asked over real HTTP.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use callscope_core::model::{Evidence, QaResult, Role, SearchQuery, Violation};
use callscope_store::workspace::Workspace;

use common::get;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The extra calls: W1 with a recording, a phone number, a low-confidence
/// sentence and a `<script>`; W2 without a recording.
fn extra_calls(recording: &Path) -> String {
    let w1 = serde_json::json!({
        "call_id": "W1",
        "started_at": "2026-09-03T10:00:00+08:00",
        "agent_id": "A09",
        "team": "T9",
        "queue": "售后",
        "audio_path": recording.display().to_string(),
        "segments": [
            {"start": 0.0, "end": 1.0, "role": "agent", "text": "您好，请问有什么可以帮您？"},
            {"start": 1.0, "end": 2.0, "role": "customer", "text": "<script>alert('退款')</script>我的手机号是13812345678", "confidence": 0.3},
            {"start": 2.0, "end": 3.0, "role": "agent", "text": "好的，退款已经处理。", "role_confidence": 0.4}
        ]
    });
    let w2 = serde_json::json!({
        "call_id": "W2",
        "started_at": "2026-09-03T11:00:00+08:00",
        "agent_id": "A09",
        "segments": [{"start": 0.0, "end": 1.0, "role": "customer", "text": "没有录音的电话，退款。"}]
    });
    format!("{w1}\n{w2}\n")
}

/// Imports the golden calls and the extra ones as `callscope import` does
/// (masked by the workspace policy), and one QA result for W1.
fn import(workspace: &Workspace, recording: &Path) {
    let golden =
        std::fs::read_to_string(repository_root().join("tests/golden/search/calls.jsonl")).unwrap();
    let input = format!("{golden}{}", extra_calls(recording));
    common::import_jsonl(workspace, &input);
    let mut store = workspace.open_store().unwrap();
    let qa = QaResult {
        call_id: "W1".to_string(),
        scorecard: "after-sales".to_string(),
        score: 80.0,
        passed: false,
        fatal: false,
        violations: vec![Violation {
            rule_id: "no-script".to_string(),
            name: "脚本<b>违规</b>".to_string(),
            points: 20.0,
            fatal: false,
            evidence: vec![Evidence {
                segment: 1,
                start: 1.0,
                end: 2.0,
                role: Role::Customer,
                text: "手机号13912345678".to_string(),
                matched: "<script>".to_string(),
            }],
        }],
    };
    store.put_qa_results(std::slice::from_ref(&qa)).unwrap();
}

struct Fixture {
    _folder: tempfile::TempDir,
    workspace: Workspace,
    address: SocketAddr,
}

fn start() -> Fixture {
    let folder = tempfile::tempdir().unwrap();
    let recording = folder.path().join("w1.wav");
    common::write_tone(&recording);
    let workspace = Workspace::new(folder.path().join("data"));
    import(&workspace, &recording);
    let server =
        callscope_server::Server::bind(workspace.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .unwrap();
    let address = server.local_addr();
    std::thread::spawn(move || server.run());
    Fixture {
        _folder: folder,
        workspace,
        address,
    }
}

/// What `callscope search --json` prints for a query: one JSON object per
/// result, from the same index search.
fn cli_search(workspace: &Workspace, query: SearchQuery) -> Vec<serde_json::Value> {
    let mut store = workspace.open_existing_store().unwrap();
    let mut index = callscope_pipeline::indexing::open_index(workspace).unwrap();
    index.sync(&mut store, |_, _| {}).unwrap();
    index
        .search(&query, &store)
        .unwrap()
        .results
        .iter()
        .map(|result| serde_json::to_value(result).unwrap())
        .collect()
}

#[test]
fn every_endpoint_over_http() {
    let fixture = start();
    let address = fixture.address;

    // Search: the same results as the command line, paged.
    let reply = get(address, "/api/search?q=%E9%80%80%E6%AC%BE&limit=50", &[]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let page = reply.json();
    let expected = cli_search(
        &fixture.workspace,
        SearchQuery {
            text: "退款".to_string(),
            limit: 50,
            ..SearchQuery::default()
        },
    );
    assert!(expected.len() > 3, "{expected:?}");
    assert_eq!(page["results"].as_array().unwrap(), &expected);
    assert_eq!(page["total"].as_u64().unwrap(), expected.len() as u64);
    let second = get(
        address,
        "/api/search?q=%E9%80%80%E6%AC%BE&limit=2&offset=2",
        &[],
    )
    .json();
    assert_eq!(second["results"].as_array().unwrap(), &expected[2..4]);
    // Filters: team and role.
    let team = get(
        address,
        "/api/search?q=%E9%80%80%E6%AC%BE&team=T1&role=customer",
        &[],
    )
    .json();
    let expected = cli_search(
        &fixture.workspace,
        SearchQuery {
            text: "退款".to_string(),
            team: Some("T1".to_string()),
            role: Some(Role::Customer),
            limit: 20,
            ..SearchQuery::default()
        },
    );
    assert_eq!(team["results"].as_array().unwrap(), &expected);
    // Bad parameters are the client's fault.
    for path in [
        "/api/search?q=",
        "/api/search?q=x&role=boss",
        "/api/search?q=x&from=today",
    ] {
        let reply = get(address, path, &[]);
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        assert!(reply.json()["error"].is_string());
    }

    // A call: masked, with its masked QA results.
    let call = get(address, "/api/calls/W1", &[]);
    assert_eq!(call.status, 200);
    let call = call.json();
    let text = call.to_string();
    assert!(
        !text.contains("13812345678") && !text.contains("13912345678"),
        "{text}"
    );
    assert_eq!(call["call"]["call_id"], "W1");
    assert_eq!(
        call["qa_results"][0]["violations"][0]["rule_id"],
        "no-script"
    );
    assert_eq!(get(address, "/api/calls/NOPE", &[]).status, 404);

    // Audio: whole, ranges, out of range, none.
    let whole = get(address, "/api/calls/W1/audio", &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("audio/wav"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let length = whole.body.len();
    assert_eq!(length, 44 + 3 * 16_000 * 2, "16 kHz 16-bit mono, 3 s");
    let samples = |bytes: &[u8]| -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
            .collect()
    };
    let pcm = samples(&whole.body[44..]);
    // The phone number (second segment, 1-2 s) is silenced; the greeting is not.
    assert!(pcm[16_000 + 12_000..16_000 + 14_000]
        .iter()
        .all(|&sample| sample == 0));
    assert!(pcm[2_000..4_000].iter().any(|&sample| sample.abs() > 1_000));
    let part = get(address, "/api/calls/W1/audio", &[("Range", "bytes=0-99")]);
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-99/{length}").as_str())
    );
    assert_eq!(part.body, whole.body[..100]);
    let tail = get(address, "/api/calls/W1/audio", &[("Range", "bytes=-10")]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, whole.body[length - 10..]);
    let past = get(
        address,
        "/api/calls/W1/audio",
        &[("Range", &format!("bytes={length}-"))],
    );
    assert_eq!(past.status, 416);
    assert_eq!(
        past.header("content-range"),
        Some(format!("bytes */{length}").as_str())
    );
    assert_eq!(get(address, "/api/calls/W2/audio", &[]).status, 404);
    assert_eq!(get(address, "/api/calls/NOPE/audio", &[]).status, 404);

    // Pages: the content security policy, escaping, highlights.
    let home = get(address, "/", &[]);
    assert_eq!(home.status, 200);
    let policy = home.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));
    assert_eq!(home.header("x-content-type-options"), Some("nosniff"));
    let results = get(address, "/?q=%E9%80%80%E6%AC%BE&limit=2", &[]);
    assert_eq!(results.status, 200);
    // minijinja escapes `/` in attributes as `&#x2f;`.
    let html = results.text().replace("&#x2f;", "/");
    assert!(html.contains("<b>退款</b>"), "{html}");
    assert!(html.contains("href=\"/calls/"), "{html}");
    assert!(html.contains("offset=2"), "a next page link: {html}");
    let script = get(address, "/?q=alert", &[]).text();
    assert!(!script.contains("<script>alert"), "{script}");
    assert!(script.contains("&lt;script&gt;"), "{script}");
    let page = get(address, "/calls/W1", &[]);
    assert_eq!(page.status, 200);
    assert!(page.header("content-security-policy").is_some());
    let html = page.text().replace("&#x2f;", "/");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;alert("), "{html}");
    assert!(
        !html.contains("<b>违规</b>") && html.contains("&lt;b&gt;违规"),
        "{html}"
    );
    assert!(!html.contains("13812345678") && !html.contains("13912345678"));
    assert!(html.contains("src=\"/api/calls/W1/audio\""), "{html}");
    assert!(html.contains("low-confidence"), "{html}");
    // The sentence whose speaker the voices left in doubt is marked too.
    assert!(html.contains("low-role-confidence"), "{html}");
    assert!(html.contains("说话方置信度低 0.40"), "{html}");
    assert!(
        html.contains("data-start=\"1.0\"") || html.contains("data-start=\"1\""),
        "{html}"
    );
    // Exactly one script, from the server, none inline.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains("<script src=\"/assets/app.js\" defer></script>"));
    let no_audio = get(address, "/calls/W2", &[]).text();
    assert!(!no_audio.contains("<audio"), "{no_audio}");
    assert_eq!(get(address, "/calls/NOPE", &[]).status, 404);
    let script = get(address, "/assets/app.js", &[]);
    assert_eq!(script.status, 200);
    assert!(script
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(get(address, "/assets/../Cargo.toml", &[]).status, 404);
}

#[test]
fn a_non_loopback_address_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(folder.path());
    let error = callscope_server::Server::bind(workspace, "0.0.0.0:0".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(error.contains("loopback"), "{error}");
    assert!(callscope_server::check_listen("[::1]:8080".parse().unwrap()).is_ok());
    assert!(callscope_server::check_listen("192.168.1.5:8080".parse().unwrap()).is_err());
}

/// The search page's other filters (score range, passed/failed, violated
/// rule), its sorts and its facet counts: the same answers as the index
/// gives `callscope search` for the same query, and facet links that narrow.
#[test]
fn search_filters_sorts_and_facets_match_the_command_line() {
    let fixture = start();
    let address = fixture.address;
    let q = "q=%E9%80%80%E6%AC%BE";
    let api = |extra: &str| {
        let reply = get(address, &format!("/api/search?{q}&limit=50{extra}"), &[]);
        assert_eq!(reply.status, 200, "{extra}: {}", reply.text());
        reply.json()
    };
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|result| result["call_id"].as_str().unwrap().to_string())
            .collect()
    };
    let expected = |query: SearchQuery| {
        cli_search(
            &fixture.workspace,
            SearchQuery {
                text: "退款".to_string(),
                limit: 50,
                ..query
            },
        )
    };
    // Failed calls, a violated rule, a score range: W1 (80, failed) only.
    for extra in [
        "&result=failed",
        "&rule=no-script",
        "&min_score=70&max_score=85",
    ] {
        assert_eq!(ids(&api(extra)), ["W1"], "{extra}");
    }
    assert!(ids(&api("&min_score=90")).is_empty());
    assert!(ids(&api("&result=passed")).is_empty());
    // Lowest score first puts the one scored call first; newest first is
    // the command line's order.
    assert_eq!(ids(&api("&sort=score"))[0], "W1");
    let newest = api("&sort=time");
    let cli = expected(SearchQuery {
        sort: callscope_core::model::SearchSort::Time,
        ..SearchQuery::default()
    });
    assert_eq!(newest["results"].as_array().unwrap(), &cli);
    // Facets: the index's counts; absent unless asked.
    assert!(api("").get("facets").is_none());
    let faceted = api("&facets=1");
    let store = fixture.workspace.open_existing_store().unwrap();
    let index = callscope_pipeline::indexing::open_index(&fixture.workspace).unwrap();
    let counts = index
        .search(
            &SearchQuery {
                text: "退款".to_string(),
                limit: 50,
                facets: true,
                ..SearchQuery::default()
            },
            &store,
        )
        .unwrap()
        .facets
        .unwrap();
    drop(index);
    assert_eq!(faceted["facets"], serde_json::to_value(&counts).unwrap());
    assert!(counts.team.iter().any(|count| count.value == "T9"));
    // The page shows them as links that narrow the search and keep it.
    let page = get(address, &format!("/?{q}&sort=time"), &[]).text();
    assert!(page.contains("class=\"facet-value\""), "{page}");
    let link = format!("href=\"&#x2f;?{q}&amp;team=T9&amp;sort=time&amp;limit=20\"");
    assert!(page.contains(&link), "no {link} in {page}");
    let narrowed = get(address, &format!("/?{q}&team=T9&sort=time"), &[]).text();
    assert!(
        narrowed.contains("W1") && !narrowed.contains("/calls/W2"),
        "{narrowed}"
    );
    // A bad filter is a clear 400.
    let bad = get(address, &format!("/api/search?{q}&result=maybe"), &[]);
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("passed or failed"), "{}", bad.text());
}
