//! The web workspace in a real headless Chromium (driven through
//! chromedriver, `browser/webdriver.rs`): a workspace made here (calls with
//! a recording and QA results with evidence), the server on an ephemeral
//! loopback port, and what a user does: search, narrow by a facet, open a
//! call, click a violation's evidence and hear the recording from there.
//!
//! Without Chromium or chromedriver the tests are skipped with a message,
//! unless `CI` is set: in CI a missing browser is a failure
//! (`scripts/deps.sh` installs it).
//!
//! `CALLSCOPE_SCREENSHOTS_DATA=<workspace> cargo test --release -p
//! callscope-server --test browser -- --ignored screenshots` saves the
//! README's pictures (docs/screenshots/) from a workspace such as the demo
//! one made by scripts/setup.sh.

mod common;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use callscope_core::model::{Evidence, QaResult, Role, Violation};
use callscope_store::users::UserRole;
use callscope_store::workspace::Workspace;
use serde_json::{json, Value};

use webdriver::Browser;

/// Chromium and chromedriver, or `None` (with a message) when they are
/// missing outside CI; in CI (`CI` set) a missing browser fails the test.
fn browser_programs() -> Option<(PathBuf, PathBuf)> {
    match webdriver::find_browser() {
        Ok(programs) => Some(programs),
        Err(missing) => {
            let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
            assert!(
                !in_ci,
                "CI is set but the browser tests cannot run: {missing}"
            );
            eprintln!("SKIPPED: browser tests need a headless Chromium: {missing}");
            None
        }
    }
}

/// The recording's length and the seconds where the evidence starts.
const RECORDING_SECONDS: u32 = 12;
const EVIDENCE_START: f64 = 4.0;

/// A recording: a tone that changes pitch every second, 8 kHz mono PCM.
fn write_recording(path: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for index in 0..8000 * RECORDING_SECONDS {
        let pitch = 300.0 + 40.0 * (index / 8000) as f32;
        let phase = index as f32 * pitch * std::f32::consts::TAU / 8000.0;
        writer.write_sample((phase.sin() * 8_000.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
}

/// Six calls about refunds (退款), three in team T1 and three in T2; the
/// first (BR1) has a recording and a QA result whose violation points at
/// its third sentence (4.0-6.0 s).
fn calls(recording: &Path) -> Vec<Value> {
    let mut calls = vec![json!({
        "call_id": "BR1",
        "started_at": "2026-09-03T10:00:00+08:00",
        "agent_id": "A01",
        "team": "T1",
        "queue": "售后",
        "audio_path": recording.display().to_string(),
        "segments": [
            {"start": 0.0, "end": 2.0, "role": "agent", "text": "您好，请问有什么可以帮您？"},
            {"start": 2.0, "end": 4.0, "role": "customer", "text": "我申请的退款一直没有到账。"},
            {"start": 4.0, "end": 6.0, "role": "agent", "text": "这个不归我管，你自己去查。"},
            {"start": 6.0, "end": 8.0, "role": "customer", "text": "你这是什么态度，我要投诉。"},
            {"start": 8.0, "end": 10.0, "role": "agent", "text": "退款已经处理了，请您耐心等待。"},
            {"start": 10.0, "end": 12.0, "role": "customer", "text": "好吧，再见。"}
        ]
    })];
    for (number, team, agent, text) in [
        (2, "T1", "A02", "退款什么时候到账？"),
        (3, "T1", "A01", "我想取消订单申请退款。"),
        (4, "T2", "A03", "退款被拒绝了是怎么回事？"),
        (5, "T2", "A04", "退款到账了但是金额不对。"),
        (6, "T2", "A03", "能不能帮我加急处理退款？"),
    ] {
        calls.push(json!({
            "call_id": format!("BR{number}"),
            "started_at": format!("2026-09-0{}T11:00:00+08:00", number % 3 + 1),
            "agent_id": agent,
            "team": team,
            "queue": "售后",
            "segments": [
                {"start": 0.0, "end": 2.0, "role": "agent", "text": "您好，很高兴为您服务。"},
                {"start": 2.0, "end": 5.0, "role": "customer", "text": text},
                {"start": 5.0, "end": 7.0, "role": "agent", "text": "好的，我帮您查一下。"}
            ]
        }));
    }
    calls
}

/// Imports the calls as `callscope import` does (masked by the workspace's
/// policy) and stores BR1's QA result.
fn import(workspace: &Workspace, recording: &Path) {
    let input: String = calls(recording)
        .iter()
        .map(|call| format!("{call}\n"))
        .collect();
    common::import_jsonl(workspace, &input);
    let mut store = workspace.open_store().unwrap();
    let qa = QaResult {
        call_id: "BR1".to_string(),
        scorecard: "售后服务质检标准".to_string(),
        score: 85.0,
        passed: true,
        fatal: false,
        violations: vec![Violation {
            rule_id: "forbidden_words".to_string(),
            name: "服务禁语".to_string(),
            points: 15.0,
            fatal: false,
            evidence: vec![Evidence {
                segment: 2,
                start: EVIDENCE_START,
                end: 6.0,
                role: Role::Agent,
                text: "这个不归我管，你自己去查。".to_string(),
                matched: "不归我管".to_string(),
            }],
        }],
    };
    // BR3 (agent A01 too) misses the closing: what the agent appeals.
    let missed = QaResult {
        call_id: "BR3".to_string(),
        scorecard: "售后服务质检标准".to_string(),
        score: 90.0,
        passed: true,
        fatal: false,
        violations: vec![Violation {
            rule_id: "closing".to_string(),
            name: "标准结束语".to_string(),
            points: 10.0,
            fatal: false,
            evidence: Vec::new(),
        }],
    };
    store.put_qa_results(&[qa, missed]).unwrap();
}

/// Starts a server over `workspace` on an ephemeral loopback port.
fn serve(workspace: &Workspace) -> SocketAddr {
    let server =
        callscope_server::Server::bind(workspace.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .unwrap();
    let address = server.local_addr();
    std::thread::spawn(move || server.run());
    address
}

/// How many search results the page lists.
fn result_count(browser: &Browser) -> usize {
    browser.find_all("li.result").len()
}

/// The call ids the page lists.
fn result_ids(browser: &Browser) -> Vec<String> {
    browser
        .find_all("li.result a.call-link")
        .iter()
        .map(|link| browser.text(link))
        .collect()
}

#[test]
fn search_facet_call_and_evidence_seek_in_chromium() {
    let Some((chromium, driver)) = browser_programs() else {
        return;
    };
    let started = std::time::Instant::now();
    let folder = tempfile::tempdir().unwrap();
    let recording = folder.path().join("br1.wav");
    write_recording(&recording);
    let workspace = Workspace::new(folder.path().join("data"));
    import(&workspace, &recording);
    let address = serve(&workspace);
    let browser = Browser::start(&chromium, &driver);
    let base = format!("http://{address}");

    // Search: type a query and submit the form.
    browser.goto(&format!("{base}/"));
    let query = browser.find("input.query");
    browser.clear(&query);
    browser.type_text(&query, "退款");
    assert_eq!(browser.property(&query, "value"), json!("退款"));
    browser.click(&browser.find("form.search button[type=submit]"));
    browser.wait_until(
        10,
        "the results of 退款",
        "return document.querySelectorAll('li.result').length > 0;",
    );
    let url = browser.url();
    assert!(
        url.contains("q=%E9%80%80%E6%AC%BE"),
        "the URL holds the search: {url}"
    );
    let mut all = result_ids(&browser);
    all.sort();
    assert_eq!(
        all,
        ["BR1", "BR2", "BR3", "BR4", "BR5", "BR6"],
        "{}",
        browser.page_text()
    );
    let highlight = browser.find("li.result .snippet b");
    assert_eq!(browser.text(&highlight), "退款");

    // A facet narrows the search to team T1: its count is what it gives.
    let count = browser.execute(
        "var f = document.querySelector('.facets section[data-facet=team]'); \
         var items = f ? f.querySelectorAll('li') : []; \
         for (var i = 0; i < items.length; i++) { \
           if (items[i].querySelector('a').textContent.trim() === 'T1') \
             return items[i].querySelector('.count').textContent.trim(); } \
         return null;",
        vec![],
    );
    assert_eq!(count, json!("3"), "T1's facet count");
    narrow_to_team(&browser, "T1");
    browser.wait_until(
        10,
        "the search narrowed to T1",
        "return document.querySelectorAll('li.result').length === 3;",
    );
    let mut narrowed = result_ids(&browser);
    narrowed.sort();
    assert_eq!(narrowed, ["BR1", "BR2", "BR3"], "{}", browser.page_text());
    assert!(browser.url().contains("team=T1"), "{}", browser.url());
    assert_eq!(result_count(&browser), 3);

    // Open the call with the recording.
    let link = browser
        .find_all("li.result a.call-link")
        .into_iter()
        .find(|link| browser.text(link) == "BR1")
        .expect("BR1 among the results");
    browser.click(&link);
    browser.wait_until(
        10,
        "the call page",
        "return location.pathname === '/calls/BR1';",
    );
    browser.wait_until(
        20,
        "the recording's metadata",
        "var audio = document.querySelector('audio'); return !!audio && audio.readyState >= 1;",
    );
    let duration = browser
        .execute("return document.querySelector('audio').duration;", vec![])
        .as_f64()
        .unwrap();
    assert!(
        (duration - f64::from(RECORDING_SECONDS)).abs() < 0.1,
        "{duration}"
    );

    // Click the violation's evidence: the recording jumps to its start.
    let evidence = browser.find(".evidence li[data-start] a.time");
    browser.click(&evidence);
    let now = browser
        .execute(
            "return document.querySelector('audio').currentTime;",
            vec![],
        )
        .as_f64()
        .unwrap();
    assert!(
        (now - EVIDENCE_START).abs() <= 0.3,
        "after clicking the evidence the audio is at {now} s, not {EVIDENCE_START} s"
    );
    // It plays, and the sentence being played is marked.
    browser.wait_until(
        10,
        "the played sentence marked",
        "var s = document.getElementById('s2'); return !!s && s.classList.contains('playing');",
    );
    let marked = browser.find_all(".segment.playing");
    assert_eq!(marked.len(), 1, "one sentence marked");
    // Clicking another sentence moves the recording and the mark.
    browser.click(&browser.find("#s4"));
    browser.wait_until(
        10,
        "the mark on the clicked sentence",
        "var a = document.querySelector('audio'); \
         return a.currentTime >= 8.0 && a.currentTime < 10.0 \
             && document.getElementById('s4').classList.contains('playing') \
             && !document.getElementById('s2').classList.contains('playing');",
    );
    drop(browser);
    eprintln!(
        "browser test: search, facet, call and seek in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Signs in through the login form as `name`, starting from `url` (a page
/// that sends a signed-out browser to /login), and waits to be back.
fn sign_in(browser: &Browser, url: &str, name: &str, password: &str) {
    browser.delete_cookies();
    browser.goto(url);
    browser.wait_until(
        10,
        "the login page",
        "return location.pathname === '/login';",
    );
    browser.type_text(&browser.find("form.login input[name=name]"), name);
    browser.type_text(&browser.find("form.login input[name=password]"), password);
    browser.click(&browser.find("form.login button[type=submit]"));
    browser.wait_until(
        10,
        "signed in",
        "return location.pathname !== '/login' && document.readyState === 'complete';",
    );
    assert!(
        browser.page_text().contains(name),
        "the page names the user: {}",
        browser.page_text()
    );
}

/// The text of an element, or "" when there is none.
fn text_of(browser: &Browser, css: &str) -> String {
    browser
        .find_all(css)
        .first()
        .map(|element| browser.text(element))
        .unwrap_or_default()
}

#[test]
fn sign_in_review_restart_appeal_and_decide_in_chromium() {
    let Some((chromium, driver)) = browser_programs() else {
        return;
    };
    let started = std::time::Instant::now();
    let folder = tempfile::tempdir().unwrap();
    let recording = folder.path().join("br1.wav");
    write_recording(&recording);
    let workspace = Workspace::new(folder.path().join("data"));
    import(&workspace, &recording);
    let mut passwords = std::collections::HashMap::new();
    for (name, role, agent) in [
        ("qa", UserRole::Analyst, None),
        ("li", UserRole::Agent, Some("A01")),
        ("lead", UserRole::Lead, None),
    ] {
        let (_, password) =
            callscope_server::auth::add_user(&workspace, name, role, agent).unwrap();
        passwords.insert(name, password);
    }
    let address = serve(&workspace);
    let browser = Browser::start(&chromium, &driver);
    let call = format!("http://{address}/calls/BR1");

    // An analyst signs in and overturns the machine's verdict with a comment.
    sign_in(&browser, &call, "qa", &passwords["qa"]);
    browser.wait_until(
        10,
        "the call page",
        "return location.pathname === '/calls/BR1';",
    );
    let machine = text_of(&browser, "#machine-score-0");
    assert_eq!(text_of(&browser, "#reviewed-score-0"), "-");
    let rule = "#rule-0-forbidden_words";
    browser.type_text(
        &browser.find(&format!("{rule} .review-comment")),
        "客户先挂断，坐席不算禁语",
    );
    browser.click(&browser.find(&format!("{rule} .review-overturn")));
    browser.wait_until(
        10,
        "the review shown after the reload",
        "return document.querySelector('.review-item') !== null;",
    );
    let reviewed = text_of(&browser, "#reviewed-score-0");
    assert!(
        !reviewed.is_empty() && reviewed != "-" && reviewed != machine,
        "reviewed score {reviewed:?} beside machine score {machine:?}"
    );
    let review = text_of(&browser, ".review-item");
    assert!(
        review.contains("qa") && review.contains("客户先挂断"),
        "{review}"
    );

    // Another server over the same workspace (a restart): the review and
    // the reviewed score are still there, the machine score unchanged.
    let restarted = serve(&workspace);
    let call = format!("http://{restarted}/calls/BR1");
    sign_in(&browser, &call, "qa", &passwords["qa"]);
    assert_eq!(text_of(&browser, "#reviewed-score-0"), reviewed);
    assert_eq!(text_of(&browser, "#machine-score-0"), machine);
    assert_eq!(text_of(&browser, ".review-item"), review);

    // The agent appeals a verdict on their own call.
    let own = format!("http://{restarted}/calls/BR3");
    sign_in(&browser, &own, "li", &passwords["li"]);
    let rule = "#rule-0-closing";
    browser.type_text(
        &browser.find(&format!("{rule} .appeal-reason")),
        "我说了“感谢您的来电”，识别漏了",
    );
    browser.click(&browser.find(&format!("{rule} .appeal-submit")));
    browser.wait_until(
        10,
        "the open appeal",
        "return document.querySelector('.appeal-item.appeal-open') !== null;",
    );
    assert!(text_of(&browser, ".appeal-item").contains("识别漏了"));
    // Another agent's call is not there for them.
    browser.goto(&format!("http://{restarted}/calls/BR2"));
    assert!(
        browser.find_all(".segment").is_empty(),
        "{}",
        browser.page_text()
    );

    // A lead accepts it; the history keeps who and what.
    sign_in(&browser, &own, "lead", &passwords["lead"]);
    browser.click(&browser.find(".appeal-accept"));
    browser.wait_until(
        10,
        "the accepted appeal",
        "return document.querySelector('.appeal-item.appeal-accepted') !== null;",
    );
    let history = text_of(&browser, ".appeal-item");
    assert!(
        history.contains("li") && history.contains("lead"),
        "{history}"
    );
    drop(browser);
    eprintln!(
        "browser test: sign-in, review, restart, appeal and decision in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Narrows the current search to `team` by clicking its facet link.
fn narrow_to_team(browser: &Browser, team: &str) {
    let facet = browser
        .find_all(".facets section[data-facet=team] a.facet-value")
        .into_iter()
        .find(|link| browser.text(link) == team)
        .unwrap_or_else(|| {
            panic!(
                "no facet link for team {team} on the search page: {}",
                browser.page_text()
            )
        });
    browser.click(&facet);
}

/// The README's pictures: the search, call, review queue, rules and digest
/// pages of the workspace named by `CALLSCOPE_SCREENSHOTS_DATA` (the demo
/// workspace of scripts/setup.sh), saved as PNGs in docs/screenshots/.
#[test]
#[ignore = "takes the README's screenshots; needs CALLSCOPE_SCREENSHOTS_DATA"]
fn screenshots() {
    let Some((chromium, driver)) = browser_programs() else {
        return;
    };
    let data = std::env::var_os("CALLSCOPE_SCREENSHOTS_DATA")
        .expect("CALLSCOPE_SCREENSHOTS_DATA names the workspace to photograph");
    let workspace = Workspace::new(PathBuf::from(data));
    let call = std::env::var("CALLSCOPE_SCREENSHOTS_CALL")
        .unwrap_or_else(|_| "C20260902-0003".to_string());
    // The demo's recordings are stored with paths relative to the
    // repository root, where scripts/setup.sh runs `callscope run`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::set_current_dir(&root).unwrap();
    let address = serve(&workspace);
    let browser = Browser::start(&chromium, &driver);
    let out = root.join("docs/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let base = format!("http://{address}");
    let pages = [
        ("search", "/?q=%E6%8A%95%E8%AF%89".to_string()),
        ("call", format!("/calls/{call}")),
        ("review-queue", "/reviews".to_string()),
        ("rules", "/rules".to_string()),
        ("digest", "/digest".to_string()),
    ];
    for (name, path) in pages {
        browser.goto(&format!("{base}{path}"));
        if name == "call" {
            // The first piece of evidence clicked: its sentence marked.
            if let Some(evidence) = browser
                .find_all(".evidence li[data-start] a.time")
                .into_iter()
                .next()
            {
                browser.wait_until(
                    20,
                    "the recording's metadata",
                    "var a = document.querySelector('audio'); return !a || a.readyState >= 1;",
                );
                browser.click(&evidence);
                browser.wait_until(
                    10,
                    "a sentence marked",
                    "return document.querySelector('.segment.playing') !== null;",
                );
                browser.execute(
                    "document.querySelector('audio').pause(); window.scrollTo(0, 0);",
                    vec![],
                );
            }
        }
        if name == "review-queue" && !browser.find_all("#assign-run").is_empty() {
            // Assign the sampling plan's calls of the last week first.
            let from = std::env::var("CALLSCOPE_SCREENSHOTS_FROM")
                .unwrap_or_else(|_| "2026-08-31".to_string());
            let to = std::env::var("CALLSCOPE_SCREENSHOTS_TO")
                .unwrap_or_else(|_| "2026-09-06".to_string());
            browser.execute(
                "var form = document.getElementById('assign-form'); \
                 form.querySelector('[name=from]').value = arguments[0]; \
                 form.querySelector('[name=to]').value = arguments[1];",
                vec![json!(from), json!(to)],
            );
            browser.execute("window.beforeAssign = true;", vec![]);
            browser.click(&browser.find("#assign-run"));
            browser.wait_until(
                30,
                "the assignment (the page reloads)",
                "return (window.beforeAssign === undefined && document.readyState === 'complete') \
                     || document.querySelector('#assign-status.error') !== null;",
            );
        }
        browser.fit_page(1280, 2400);
        let file = out.join(format!("{name}.png"));
        browser.screenshot(&file);
        eprintln!("saved {}", file.display());
    }
}
