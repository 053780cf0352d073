//! Reviews (复核), appeals (申诉), the review queue, rules, calibration and
//! the digest page, end to end over real HTTP: a workspace with a
//! scorecard in its config, three scored calls, users of every role signed
//! in, a server on an ephemeral loopback port (restarted on the same
//! workspace), and the re-scoring of a call with a changed scorecard.

mod common;

use std::net::SocketAddr;

use callscope_qa::{Scorecard, Scorer};
use callscope_store::users::UserRole;
use callscope_store::workspace::Workspace;
use serde_json::{json, Value};

use common::Reply;

/// One HTTP/1.1 request with a JSON body (the connection closed after it).
fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut headers = headers.to_vec();
    if method != "GET" {
        headers.push(("Content-Type", "application/json"));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    common::request(address, method, path, &headers, &body)
}

/// A signed-in user: the session cookie and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn get(&self, address: SocketAddr, path: &str) -> Reply {
        request(address, "GET", path, &[("Cookie", &self.cookie)], None)
    }

    fn post(&self, address: SocketAddr, path: &str, body: &Value) -> Reply {
        request(
            address,
            "POST",
            path,
            &[("Cookie", &self.cookie), ("X-CSRF-Token", &self.csrf)],
            Some(body),
        )
    }
}

fn sign_in(address: SocketAddr, name: &str, password: &str) -> Session {
    let reply = request(
        address,
        "POST",
        "/api/login",
        &[],
        Some(&json!({"name": name, "password": password})),
    );
    assert_eq!(reply.status, 200, "{name}: {}", reply.text());
    let cookie = reply
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .unwrap()
        .to_string();
    Session {
        cookie,
        csrf: reply.json()["csrf_token"].as_str().unwrap().to_string(),
    }
}

/// The scorecard; `greeting` is what the greeting rule listens for (a
/// changed scorecard changes it).
fn scorecard_text(greeting: &str) -> String {
    format!(
        r#"[scorecard]
name = "card"
pass_score = 80

[[rule]]
id = "greeting"
name = "开场白"
expect = "present"
points = 10
[rule.when]
op = "keyword"
role = "agent"
words = ["{greeting}"]

[[rule]]
id = "rude"
name = "辱骂"
expect = "absent"
points = 30
fatal = true
[rule.when]
op = "keyword"
role = "agent"
words = ["滚"]

[[rule]]
id = "thanks"
name = "致谢"
expect = "present"
points = 5
[rule.when]
op = "keyword"
role = "agent"
words = ["感谢"]
"#
    )
}

fn write_config(workspace: &Workspace, greeting: &str, appeal_days: u32) {
    std::fs::write(workspace.root().join("card.toml"), scorecard_text(greeting)).unwrap();
    std::fs::write(
        workspace.config_path(),
        format!("[qa]\nscorecards = [\"card.toml\"]\n\n[review]\nappeal_days = {appeal_days}\n"),
    )
    .unwrap();
}

/// C1 (agent A1) passes every rule; C2 (A1) has no greeting (90); C3 (A2)
/// is rude, a fatal rule (0).
const CALLS: &str = r#"{"call_id": "C1", "started_at": "2026-09-01T10:00:00+08:00", "agent_id": "A1", "team": "T1", "queue": "售后", "segments": [{"start": 0.0, "end": 2.0, "role": "agent", "text": "您好，请问有什么可以帮您？"}, {"start": 2.0, "end": 4.0, "role": "customer", "text": "我的退款还没到账。"}, {"start": 4.0, "end": 6.0, "role": "agent", "text": "感谢您的耐心，退款已经处理。"}]}
{"call_id": "C2", "started_at": "2026-09-02T10:00:00+08:00", "agent_id": "A1", "team": "T1", "queue": "售后", "segments": [{"start": 0.0, "end": 2.0, "role": "agent", "text": "喂，请问有什么事？"}, {"start": 2.0, "end": 4.0, "role": "customer", "text": "我要投诉，退款太慢。", "confidence": 0.4}, {"start": 4.0, "end": 6.0, "role": "agent", "text": "感谢您的反馈。"}]}
{"call_id": "C3", "started_at": "2026-09-03T10:00:00+08:00", "agent_id": "A2", "team": "T2", "queue": "售后", "segments": [{"start": 0.0, "end": 2.0, "role": "agent", "text": "您好。"}, {"start": 2.0, "end": 4.0, "role": "customer", "text": "退款呢？"}, {"start": 4.0, "end": 6.0, "role": "agent", "text": "滚，感谢来电。"}]}
"#;

fn import(workspace: &Workspace) {
    common::import_jsonl(workspace, CALLS);
}

/// Scores every stored call with the scorecard in the workspace's config
/// (as `callscope qa` would) and stores the results.
fn score(workspace: &Workspace) {
    let card = Scorecard::load(&workspace.root().join("card.toml")).unwrap();
    let scorer = Scorer::new(vec![card]);
    let mut store = workspace.open_existing_store().unwrap();
    let mut results = Vec::new();
    store
        .for_each_call(&Default::default(), |call| {
            results.extend(scorer.score(&call));
            Ok(())
        })
        .unwrap();
    store.put_qa_results(&results).unwrap();
}

fn start(workspace: &Workspace) -> SocketAddr {
    let server =
        callscope_server::Server::bind(workspace.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .unwrap();
    let address = server.local_addr();
    std::thread::spawn(move || server.run());
    address
}

fn review(
    session: &Session,
    address: SocketAddr,
    call: &str,
    rule: &str,
    decision: &str,
    comment: &str,
) -> Value {
    let reply = session.post(
        address,
        &format!("/api/calls/{call}/reviews"),
        &json!({"scorecard": "card", "rule_id": rule, "decision": decision, "comment": comment}),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

fn rule<'a>(reviews: &'a Value, rule_id: &str) -> &'a Value {
    reviews["results"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["rule_id"] == rule_id)
        .unwrap_or_else(|| panic!("no rule {rule_id} in {reviews}"))
}

#[test]
fn reviews_appeals_queue_rules_calibration_and_digest_over_http() {
    let folder = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(folder.path().join("data"));
    std::fs::create_dir_all(workspace.root()).unwrap();
    write_config(&workspace, "您好", 7);
    import(&workspace);
    score(&workspace);
    let mut passwords = std::collections::HashMap::new();
    for (name, role, agent) in [
        ("ana", UserRole::Analyst, None),
        ("bob", UserRole::Analyst, None),
        ("lead1", UserRole::Lead, None),
        ("a1", UserRole::Agent, Some("A1")),
        ("a2", UserRole::Agent, Some("A2")),
        ("viewer1", UserRole::Viewer, None),
    ] {
        let (_, password) =
            callscope_server::auth::add_user(&workspace, name, role, agent).unwrap();
        passwords.insert(name, password);
    }
    let address = start(&workspace);
    let ana = sign_in(address, "ana", &passwords["ana"]);
    let bob = sign_in(address, "bob", &passwords["bob"]);
    let lead = sign_in(address, "lead1", &passwords["lead1"]);
    let a1 = sign_in(address, "a1", &passwords["a1"]);
    let a2 = sign_in(address, "a2", &passwords["a2"]);
    let viewer = sign_in(address, "viewer1", &passwords["viewer1"]);

    // Role boundaries: agents and viewers do not review; a post without
    // the CSRF token is refused.
    let body = json!({"scorecard": "card", "rule_id": "greeting", "decision": "confirm"});
    for session in [&a1, &viewer] {
        assert_eq!(
            session.post(address, "/api/calls/C2/reviews", &body).status,
            403
        );
    }
    let no_csrf = request(
        address,
        "POST",
        "/api/calls/C2/reviews",
        &[("Cookie", &ana.cookie)],
        Some(&body),
    );
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text());
    for path in [
        "/api/rules",
        "/api/reviews/queue",
        "/api/calibration",
        "/api/calls/C2/reviews",
        "/api/appeals",
        "/rules",
        "/reviews",
    ] {
        assert_eq!(viewer.get(address, path).status, 403, "viewer {path}");
    }
    for path in [
        "/api/rules",
        "/api/reviews/queue",
        "/api/calibration",
        "/api/digest",
    ] {
        assert_eq!(a1.get(address, path).status, 403, "agent {path}");
    }
    assert_eq!(
        ana.post(
            address,
            "/api/calls/C2/reviews",
            &json!({"scorecard": "card", "rule_id": "nope", "decision": "confirm"})
        )
        .status,
        400
    );
    assert_eq!(
        ana.post(address, "/api/calls/C9/reviews", &body).status,
        404
    );

    // Reviews: the machine gave C2 90 (no greeting). ana overturns the
    // greeting (the comment's phone number is masked): reviewed 100, the
    // machine's score untouched.
    let after = review(
        &ana,
        address,
        "C2",
        "greeting",
        "overturn",
        "他说了喂 13812345678",
    );
    assert_eq!(after["results"][0]["machine_score"], 90.0);
    assert_eq!(after["results"][0]["reviewed_score"], 100.0);
    assert!(!after.to_string().contains("13812345678"), "{after}");
    let greeting = rule(&after, "greeting");
    assert_eq!(greeting["machine_violated"], true);
    assert_eq!(greeting["reviewed_violated"], false);
    // Passed rules are reviewed too (to catch misses).
    review(&ana, address, "C2", "rude", "confirm", "");
    review(&ana, address, "C1", "rude", "overturn", "漏判：语气不好");
    // bob reviews C2 as well (calibration): he confirms the greeting
    // violation; the latest review counts.
    review(&bob, address, "C2", "rude", "confirm", "");
    let after = review(&bob, address, "C2", "greeting", "confirm", "没有标准开场白");
    assert_eq!(after["results"][0]["reviewed_score"], 90.0);
    assert_eq!(
        rule(&after, "greeting")["reviews"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The call API and the call page show the reviewed score beside the
    // machine's.
    let call = ana.get(address, "/api/calls/C2").json();
    assert_eq!(call["reviews"]["results"][0]["reviewed_score"], 90.0);
    assert_eq!(call["qa_results"][0]["score"], 90.0);
    let page = ana.get(address, "/calls/C2");
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    for needle in [
        "id=\"reviewed-score-0\"",
        "class=\"review-confirm\"",
        "class=\"review-overturn\"",
        "data-rule=\"thanks\"",
        "没有标准开场白",
    ] {
        assert!(html.contains(needle), "{needle} not in the call page");
    }
    assert!(!html.contains("13812345678"));
    // C1's reviewed score: the missed rude rule is fatal.
    let c1 = ana.get(address, "/api/calls/C1/reviews").json();
    assert_eq!(c1["results"][0]["reviewed_score"], 0.0);
    assert_eq!(c1["results"][0]["reviewed_fatal"], true);

    // Calibration: ana and bob agree on rude, not on greeting.
    let calibration = lead.get(address, "/api/calibration").json();
    let agreement = |rule_id: &str| {
        calibration["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|rule| rule["rule_id"] == rule_id)
            .cloned()
            .unwrap_or_else(|| panic!("{rule_id}: {calibration}"))
    };
    assert_eq!(agreement("greeting")["percent"], 0.0);
    assert_eq!(agreement("rude")["percent"], 100.0);
    assert_eq!(calibration["disagreements"].as_array().unwrap().len(), 1);
    assert_eq!(calibration["disagreements"][0]["call_id"], "C2");
    let page = lead.get(address, "/calibration").text();
    assert!(page.contains("agreement-percent") && page.contains("100%") && page.contains("0%"));

    // Rules: machine hits, reviewed, confirmed, precision, misses, and the
    // calls behind each number.
    let rules = ana.get(address, "/api/rules").json();
    let figures = |rule_id: &str| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|rule| rule["rule_id"] == rule_id)
            .cloned()
            .unwrap_or_else(|| panic!("{rule_id}: {rules}"))
    };
    let greeting = figures("greeting");
    assert_eq!(greeting["machine_hits"], 1);
    assert_eq!(greeting["reviewed"], 1);
    assert_eq!(greeting["confirmed"], 1);
    assert_eq!(greeting["precision"], 1.0);
    assert_eq!(greeting["weeks"][0]["week"], "2026-W36");
    let rude = figures("rude");
    assert_eq!(rude["machine_hits"], 1, "C3");
    assert_eq!(rude["reviewed"], 2, "C1 and C2");
    assert_eq!(rude["misses"], 1, "C1");
    assert_eq!(rude["precision"], Value::Null);
    let misses = ana
        .get(
            address,
            "/api/rules/calls?scorecard=card&rule=rude&kind=misses",
        )
        .json();
    assert_eq!(misses, json!(["C1"]));
    let hits = ana
        .get(
            address,
            "/api/rules/calls?scorecard=card&rule=greeting&kind=hits&week=2026-W36",
        )
        .json();
    assert_eq!(hits, json!(["C2"]));
    let page = ana.get(address, "/rules").text();
    assert!(
        page.contains("calls?scorecard=card&amp;rule=rude&amp;kind=misses\">1</a>"),
        "{page}"
    );
    assert!(page.contains("100%"));
    let listing = ana.get(address, "/rules/calls?scorecard=card&rule=rude&kind=misses");
    assert_eq!(listing.status, 200);
    assert!(
        listing.text().contains("calls&#x2f;C1\">C1</a>"),
        "{}",
        listing.text()
    );

    // The review queue: the sampling plan assigns, once.
    assert_eq!(
        ana.post(address, "/api/reviews/assign", &json!({})).status,
        403
    );
    let first = lead.post(
        address,
        "/api/reviews/assign",
        &json!({"from": "2026-09-01", "to": "2026-09-07"}),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(first["candidates"], 3);
    assert_eq!(
        first["picked"], 3,
        "two per agent and week: every call here"
    );
    assert_eq!(first["reviewers"], json!(["ana", "bob", "lead1"]));
    assert_eq!(first["added"], 5, "three calls, two of them calibrated");
    let again = lead
        .post(
            address,
            "/api/reviews/assign",
            &json!({"from": "2026-09-01", "to": "2026-09-07"}),
        )
        .json();
    assert_eq!(again["added"], 0);
    let mut total = 0;
    for session in [&ana, &bob, &lead] {
        let queue = session.get(address, "/api/reviews/queue").json();
        total += queue["total"].as_u64().unwrap();
    }
    assert_eq!(total, 5);
    let queue = ana.get(address, "/api/reviews/queue").json();
    let reasons: Vec<String> = queue["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            format!(
                "{} {}",
                item["call_id"].as_str().unwrap(),
                item["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert!(queue["total"].as_u64().unwrap() >= 1, "{reasons:?}");
    let all_reasons = [&ana, &bob, &lead]
        .iter()
        .flat_map(|session| {
            session.get(address, "/api/reviews/queue").json()["assignments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| {
                    format!(
                        "{} {}",
                        item["call_id"].as_str().unwrap(),
                        item["reason"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    assert!(
        all_reasons
            .iter()
            .any(|item| item.starts_with("C3 ") && item.contains("fatal")),
        "{all_reasons:?}"
    );
    assert!(
        all_reasons
            .iter()
            .any(|item| item.starts_with("C2 ") && item.contains("low_confidence")),
        "{all_reasons:?}"
    );
    let page = ana.get(address, "/reviews");
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("id=\"queue-progress\""));

    // Appeals: an agent appeals their own call's verdict, within the window.
    let appeal = json!({"scorecard": "card", "rule_id": "greeting", "reason": "我说了喂，也算问候 13812345678"});
    assert_eq!(
        a1.get(address, "/api/calls/C3/reviews").status,
        404,
        "another agent's call"
    );
    assert_eq!(
        a1.post(address, "/api/calls/C3/appeals", &appeal).status,
        404
    );
    assert_eq!(
        ana.post(address, "/api/calls/C2/appeals", &appeal).status,
        403
    );
    assert_eq!(
        viewer
            .post(address, "/api/calls/C2/appeals", &appeal)
            .status,
        403
    );
    let page = a1.get(address, "/calls/C2").text();
    assert!(page.contains("class=\"appeal-form\"") && !page.contains("review-confirm"));
    let made = a1.post(address, "/api/calls/C2/appeals", &appeal);
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    assert_eq!(made["status"], "open");
    assert_eq!(made["appealed_violated"], true);
    assert!(!made.to_string().contains("13812345678"));
    let id = made["id"].as_i64().unwrap();
    assert_eq!(
        a1.post(address, "/api/calls/C2/appeals", &appeal).status,
        409,
        "one open appeal per rule"
    );
    assert_eq!(a2.get(address, "/api/appeals").json(), json!([]));
    assert_eq!(
        a1.get(address, "/api/appeals")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        lead.get(address, "/api/appeals?status=open")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let decision = json!({"decision": "accept", "comment": "录音确认有问候"});
    let path = format!("/api/appeals/{id}/decision");
    assert_eq!(a1.post(address, &path, &decision).status, 403);
    assert_eq!(ana.post(address, &path, &decision).status, 403);
    let decided = lead.post(address, &path, &decision);
    assert_eq!(decided.status, 200, "{}", decided.text());
    assert_eq!(decided.json()["status"], "accepted");
    assert_eq!(decided.json()["decided_by"], "lead1");
    assert_eq!(
        lead.post(address, &path, &decision).status,
        409,
        "decided once"
    );
    assert_eq!(
        lead.post(address, "/api/appeals/999/decision", &decision)
            .status,
        404
    );
    // Accepting reverses the verdict: the reviewed score is 100 again.
    let c2 = a1.get(address, "/api/calls/C2/reviews").json();
    assert_eq!(c2["results"][0]["reviewed_score"], 100.0);
    assert_eq!(rule(&c2, "greeting")["reviewed_violated"], false);
    // The history is on the call page and the appeals page.
    let page = a1.get(address, "/calls/C2").text();
    assert!(
        page.contains(&format!("id=\"appeal-{id}\"")) && page.contains("录音确认有问候"),
        "{page}"
    );
    assert!(
        !page.contains("class=\"appeal-form\""),
        "nothing violated is left to appeal"
    );
    let page = lead.get(address, "/appeals?status=all").text();
    assert!(page.contains(&format!("id=\"appeal-row-{id}\"")) && page.contains("accepted"));

    // Restart: a new server on the same workspace keeps everything.
    let address = start(&workspace);
    let c2 = ana.get(address, "/api/calls/C2/reviews");
    assert_eq!(c2.status, 200, "{}", c2.text());
    let c2 = c2.json();
    assert_eq!(c2["results"][0]["reviewed_score"], 100.0);
    assert_eq!(
        rule(&c2, "greeting")["reviews"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        rule(&c2, "greeting")["appeals"].as_array().unwrap().len(),
        1
    );
    let stored = workspace
        .open_existing_store()
        .unwrap()
        .reviewed_scores_of("C2")
        .unwrap();
    assert_eq!(stored[0].1.score, 100.0);

    // Scored again with a changed scorecard: C2 now passes the greeting
    // rule, so the greeting reviews and appeal are outdated; the others
    // stay attached.
    write_config(&workspace, "请问", 7);
    score(&workspace);
    let c2 = ana.get(address, "/api/calls/C2/reviews").json();
    assert_eq!(c2["results"][0]["machine_score"], 100.0);
    let greeting = rule(&c2, "greeting");
    assert_eq!(greeting["machine_violated"], false);
    assert!(greeting["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .all(|review| review["outdated"] == true));
    assert_eq!(greeting["appeals"][0]["outdated"], true);
    assert_eq!(greeting["reviewed_violated"], Value::Null);
    let rude = rule(&c2, "rude");
    assert!(rude["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .all(|review| review["outdated"] == false));
    assert_eq!(rude["reviewed_violated"], false);
    let page = ana.get(address, "/calls/C2").text();
    assert!(
        page.contains("review-item outdated"),
        "outdated reviews are marked"
    );

    // The digest page: the report with its charts inline, and QA trends;
    // a viewer may read it. No inline style or script.
    let digest = viewer.get(address, "/digest?from=2026-09-01&to=2026-09-07");
    assert_eq!(digest.status, 200, "{}", digest.text());
    let html = digest.text();
    assert!(html.contains("<svg"), "a chart inline");
    assert!(html.contains("id=\"trend-agents\"") && html.contains("A1"));
    assert!(!html.contains("<style") && !html.contains("style=\"") && !html.contains("<script>"));
    let css = viewer.get(address, "/assets/digest.css");
    assert_eq!(css.status, 200);
    assert!(css.text().contains(".digest"));
    let api = viewer
        .get(address, "/api/digest?from=2026-09-01&to=2026-09-07")
        .json();
    assert_eq!(api["digest"]["window"]["from"], "2026-09-01");
    assert_eq!(api["trends"]["weeks"], json!(["2026-W36"]));

    // Outside the appeal window (appeal_days = 0): refused.
    write_config(&workspace, "请问", 0);
    let late = a1.post(
        address,
        "/api/calls/C2/appeals",
        &json!({"scorecard": "card", "rule_id": "rude", "reason": "太晚了"}),
    );
    assert_eq!(late.status, 403, "{}", late.text());
    assert!(late.json()["error"]
        .as_str()
        .unwrap()
        .contains("appeal window"));

    // Every review, appeal and decision is in the audit log.
    let store = workspace.open_existing_store().unwrap();
    let log = store.audit_log(&Default::default()).unwrap();
    let actions: Vec<&str> = log.iter().map(|record| record.action.as_str()).collect();
    for action in ["review.add", "appeal.add", "appeal.decide", "review.assign"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    assert!(!format!("{log:?}").contains("13812345678"));
}
