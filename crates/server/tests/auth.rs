//! Users, sessions and security end to end: a workspace with two agents'
//! calls, users of every role, a server on an ephemeral port, and every
//! boundary asked over real HTTP: sign-in, the rate limit, cookies, CSRF,
//! what each role sees and plays, `--token`, who may listen where, and the
//! audit log.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use callscope_server::{ServeOptions, Server};
use callscope_store::users::{AuditFilter, UserRole};
use callscope_store::workspace::Workspace;

use common::{get, request};

/// Calls of two agents: A1 (A01, with a recording) and B1 (A02).
fn import(workspace: &Workspace, recording: &Path) {
    let calls = [
        serde_json::json!({
            "call_id": "A1",
            "started_at": "2026-09-03T10:00:00+08:00",
            "agent_id": "A01",
            "audio_path": recording.display().to_string(),
            "segments": [
                {"start": 0.0, "end": 1.5, "role": "agent", "text": "您好，退款已经处理。"},
                {"start": 1.5, "end": 3.0, "role": "customer", "text": "我的手机号是13812345678"}
            ]
        }),
        serde_json::json!({
            "call_id": "B1",
            "started_at": "2026-09-03T11:00:00+08:00",
            "agent_id": "A02",
            "audio_path": recording.display().to_string(),
            "segments": [{"start": 0.0, "end": 3.0, "role": "customer", "text": "我要退款，退款还没到。"}]
        }),
    ];
    let input: String = calls.iter().map(|call| format!("{call}\n")).collect();
    common::import_jsonl(workspace, &input);
}

struct Fixture {
    _folder: tempfile::TempDir,
    workspace: Workspace,
    address: SocketAddr,
    /// Name -> one-time password.
    passwords: Vec<(String, String)>,
}

impl Fixture {
    fn password(&self, name: &str) -> &str {
        &self
            .passwords
            .iter()
            .find(|(user, _)| user == name)
            .unwrap()
            .1
    }

    /// Signs in through `POST /api/login`: the session cookie (`name=value`)
    /// and the CSRF token.
    fn sign_in(&self, name: &str) -> (String, String) {
        let body = serde_json::json!({ "name": name, "password": self.password(name) });
        let reply = request(
            self.address,
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            &body.to_string(),
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        let cookie = reply.cookie("callscope_session").expect("a session cookie");
        let csrf = reply.json()["csrf_token"].as_str().unwrap().to_string();
        (cookie, csrf)
    }
}

/// A workspace with calls and users of every role (unless `users` is
/// false), and a server on loopback.
fn start(users: bool) -> Fixture {
    let folder = tempfile::tempdir().unwrap();
    let recording = folder.path().join("a1.wav");
    common::write_tone(&recording);
    let workspace = Workspace::new(folder.path().join("data"));
    import(&workspace, &recording);
    let mut passwords = Vec::new();
    if users {
        for (name, role, agent) in [
            ("root", UserRole::Admin, None),
            ("lead", UserRole::Lead, None),
            ("qa", UserRole::Analyst, None),
            ("li", UserRole::Agent, Some("A01")),
            ("pm", UserRole::Viewer, None),
        ] {
            let (_, password) =
                callscope_server::auth::add_user(&workspace, name, role, agent).unwrap();
            passwords.push((name.to_string(), password));
        }
    }
    let server = Server::bind(workspace.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let address = server.local_addr();
    std::thread::spawn(move || server.run());
    Fixture {
        _folder: folder,
        workspace,
        address,
        passwords,
    }
}

const SEARCH: &str = "/api/search?q=%E9%80%80%E6%AC%BE";

#[test]
fn signing_in_and_out_with_cookies_and_csrf() {
    let fixture = start(true);
    let address = fixture.address;

    // Without a session: the API answers 401, pages send to the sign-in page.
    assert_eq!(get(address, SEARCH, &[]).status, 401);
    let page = get(address, "/calls/A1", &[]);
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=%2Fcalls%2FA1"));
    let login = get(address, "/login?next=/calls/A1", &[]);
    assert_eq!(login.status, 200);
    assert!(
        login.text().contains("name=\"password\""),
        "{}",
        login.text()
    );
    assert!(login
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));

    // A wrong password.
    let wrong = request(
        address,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        r#"{"name": "root", "password": "not it"}"#,
    );
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    assert!(wrong.cookie("callscope_session").is_none());
    let unknown = request(
        address,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "name=nobody&password=x",
    );
    assert_eq!(unknown.status, 401);

    // The right one, as JSON: the cookie is HttpOnly and SameSite=Strict.
    let body = serde_json::json!({ "name": "root", "password": fixture.password("root") });
    let reply = request(
        address,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        &body.to_string(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let set_cookie = reply.header("set-cookie").unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert_eq!(reply.json()["role"], "admin");
    let cookie = reply.cookie("callscope_session").unwrap();
    let csrf = reply.json()["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(get(address, SEARCH, &[("Cookie", &cookie)]).status, 200);

    // Pages carry the CSRF token for scripts and the sign-out form.
    let page = get(address, "/", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(page
        .text()
        .contains(&format!("<meta name=\"csrf-token\" content=\"{csrf}\">")));
    assert!(page.text().contains("action=\"/logout\""));

    // A state-changing request without the token, or with another, is refused.
    let no_token = request(address, "POST", "/api/logout", &[("Cookie", &cookie)], "");
    assert_eq!(no_token.status, 403, "{}", no_token.text());
    let bad_token = request(
        address,
        "POST",
        "/api/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", "0123")],
        "",
    );
    assert_eq!(bad_token.status, 403);
    assert_eq!(get(address, SEARCH, &[("Cookie", &cookie)]).status, 200);
    let out = request(
        address,
        "POST",
        "/api/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "",
    );
    assert_eq!(out.status, 204, "{}", out.text());
    assert_eq!(get(address, SEARCH, &[("Cookie", &cookie)]).status, 401);

    // The form: signs in and goes where the user was going; signs out with
    // the token as a form field.
    let form = request(
        address,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!(
            "name=qa&password={}&next=%2Fcalls%2FA1",
            fixture.password("qa")
        ),
    );
    assert_eq!(form.status, 303, "{}", form.text());
    assert_eq!(form.header("location"), Some("/calls/A1"));
    let cookie = form.cookie("callscope_session").unwrap();
    let page = get(address, "/calls/A1", &[("Cookie", &cookie)]).text();
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let out = request(
        address,
        "POST",
        "/logout",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("csrf={csrf}"),
    );
    assert_eq!(out.status, 303, "{}", out.text());
    assert_eq!(out.header("location"), Some("/login"));
    assert_eq!(get(address, SEARCH, &[("Cookie", &cookie)]).status, 401);

    // A redirect after sign-in stays on this server.
    let away = request(
        address,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!(
            "name=qa&password={}&next=%2F%2Fevil.example",
            fixture.password("qa")
        ),
    );
    assert_eq!(away.header("location"), Some("/"));
}

#[test]
fn failed_sign_ins_are_rate_limited() {
    let fixture = start(true);
    let address = fixture.address;
    let attempt = |password: &str| {
        request(
            address,
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            &serde_json::json!({ "name": "lead", "password": password }).to_string(),
        )
    };
    for _ in 0..5 {
        assert_eq!(attempt("guess").status, 401);
    }
    let limited = attempt("guess");
    assert_eq!(limited.status, 429, "{}", limited.text());
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    // Even the right password waits now.
    assert_eq!(attempt(fixture.password("lead")).status, 429);
    // The same address is limited for other names too (per client address).
    let other = request(
        address,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("name=root&password={}", fixture.password("root")),
    );
    assert_eq!(other.status, 429);
    assert!(other.header("retry-after").is_some());
}

#[test]
fn roles_decide_what_is_seen_and_played() {
    let fixture = start(true);
    let address = fixture.address;

    // An agent sees their own calls only: another agent's is "no such call".
    let (agent, _) = fixture.sign_in("li");
    let own = get(address, "/api/calls/A1", &[("Cookie", &agent)]);
    assert_eq!(own.status, 200, "{}", own.text());
    let other = get(address, "/api/calls/B1", &[("Cookie", &agent)]);
    let unknown = get(address, "/api/calls/NOPE", &[("Cookie", &agent)]);
    assert_eq!((other.status, unknown.status), (404, 404));
    assert_eq!(
        other.text().replace("B1", "X"),
        unknown.text().replace("NOPE", "X")
    );
    assert_eq!(get(address, "/calls/B1", &[("Cookie", &agent)]).status, 404);
    assert_eq!(
        get(address, "/api/calls/B1/audio", &[("Cookie", &agent)]).status,
        404
    );
    let found = get(address, SEARCH, &[("Cookie", &agent)]).json();
    let ids: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["A1"]);
    let asked_other = get(
        address,
        &format!("{SEARCH}&agent=A02"),
        &[("Cookie", &agent)],
    )
    .json();
    assert!(asked_other["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|result| result["agent_id"] == "A01"));
    assert_eq!(
        get(address, "/api/calls/A1/audio", &[("Cookie", &agent)]).status,
        200
    );

    // A lead sees both.
    let (lead, _) = fixture.sign_in("lead");
    let found = get(address, SEARCH, &[("Cookie", &lead)]).json();
    assert_eq!(found["total"], 2);
    assert_eq!(
        get(address, "/api/calls/B1", &[("Cookie", &lead)]).status,
        200
    );

    // A viewer searches but plays nothing; the call page has no player.
    let (viewer, _) = fixture.sign_in("pm");
    assert_eq!(get(address, SEARCH, &[("Cookie", &viewer)]).status, 200);
    let audio = get(address, "/api/calls/A1/audio", &[("Cookie", &viewer)]);
    assert_eq!(audio.status, 403, "{}", audio.text());
    let page = get(address, "/calls/A1", &[("Cookie", &viewer)]).text();
    assert!(!page.contains("<audio"), "{page}");

    // Unmasked audio: only the roles of [serve] unmasked_audio_roles (admin).
    let (analyst, _) = fixture.sign_in("qa");
    assert_eq!(
        get(address, "/api/calls/A1/audio", &[("Cookie", &analyst)]).status,
        200
    );
    assert_eq!(
        get(
            address,
            "/api/calls/A1/audio?unmasked=1",
            &[("Cookie", &analyst)]
        )
        .status,
        403
    );
    let (admin, _) = fixture.sign_in("root");
    let silenced = get(address, "/api/calls/A1/audio", &[("Cookie", &admin)]);
    let unmasked = get(
        address,
        "/api/calls/A1/audio?unmasked=1",
        &[("Cookie", &admin)],
    );
    assert_eq!((silenced.status, unmasked.status), (200, 200));
    assert_eq!(silenced.body.len(), unmasked.body.len());
    assert_ne!(
        silenced.body, unmasked.body,
        "the phone number's span is silenced in one only"
    );
}

#[test]
fn the_local_admin_needs_a_csrf_token_and_a_local_host() {
    let fixture = start(false);
    let address = fixture.address;
    let page = get(address, "/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("local admin"));
    let csrf = page
        .text()
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    assert_eq!(csrf.len(), 64);
    assert_eq!(
        page.cookie("callscope_csrf"),
        Some(format!("callscope_csrf={csrf}"))
    );
    assert_eq!(get(address, SEARCH, &[]).status, 200);
    // A foreign site posting to localhost has no token.
    let forged = request(
        address,
        "POST",
        "/api/logout",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "x=1",
    );
    assert_eq!(forged.status, 403, "{}", forged.text());
    let with_field = request(
        address,
        "POST",
        "/api/logout",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("csrf={csrf}"),
    );
    assert_eq!(with_field.status, 204, "{}", with_field.text());
    let with_header = request(
        address,
        "POST",
        "/api/logout",
        &[("X-CSRF-Token", &csrf)],
        "",
    );
    assert_eq!(with_header.status, 204);
    // DNS rebinding: a page of another name served by this port is refused.
    let rebound = get(address, SEARCH, &[("Host", "evil.example:8080")]);
    assert_eq!(rebound.status, 403, "{}", rebound.text());

    // Once a user exists, everyone signs in.
    callscope_server::auth::add_user(&fixture.workspace, "root", UserRole::Admin, None).unwrap();
    assert_eq!(get(address, SEARCH, &[]).status, 401);
    assert_eq!(get(address, "/", &[]).status, 303);
}

#[test]
fn other_addresses_need_an_admin_or_a_token() {
    let folder = tempfile::tempdir().unwrap();
    let recording = folder.path().join("a1.wav");
    common::write_tone(&recording);
    let workspace = Workspace::new(folder.path().join("data"));
    import(&workspace, &recording);
    let anywhere: SocketAddr = "0.0.0.0:0".parse().unwrap();

    let error = Server::bind(workspace.clone(), anywhere)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("loopback") && error.contains("--role admin") && error.contains("--token"),
        "{error}"
    );
    assert!(callscope_server::check_listen("127.0.0.1:8080".parse().unwrap()).is_ok());
    assert!(callscope_server::check_access(anywhere, &workspace, true).is_ok());
    let short = ServeOptions {
        listen: anywhere,
        token: Some("short".to_string()),
    };
    assert!(Server::bind_with(workspace.clone(), &short).is_err());

    // A non-admin user is not enough.
    callscope_server::auth::add_user(&workspace, "qa", UserRole::Analyst, None).unwrap();
    assert!(Server::bind(workspace.clone(), anywhere).is_err());

    // With --token: API-only, as an admin; no local admin on such a server.
    let token = "k3y-for-scripts-0123456789abcdef";
    let options = ServeOptions {
        listen: anywhere,
        token: Some(token.to_string()),
    };
    let server = Server::bind_with(workspace.clone(), &options).unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], server.local_addr().port()));
    std::thread::spawn(move || server.run());
    let bearer = format!("Bearer {token}");
    let found = get(address, SEARCH, &[("Authorization", &bearer)]);
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.json()["total"], 2);
    assert_eq!(
        get(
            address,
            SEARCH,
            &[("Authorization", "Bearer wrong-token-0000000000")]
        )
        .status,
        401
    );
    assert_eq!(get(address, SEARCH, &[]).status, 401);
    // Pages need a sign-in, token or not.
    assert_eq!(get(address, "/", &[("Authorization", &bearer)]).status, 303);
    // No users but the analyst, and no local admin on a non-loopback server
    // (even from this machine) once the users are gone.
    let mut store = workspace.open_existing_store().unwrap();
    store.remove_user("qa").unwrap();
    assert_eq!(get(address, SEARCH, &[]).status, 401);

    // An admin user lets the server listen anywhere.
    callscope_server::auth::add_user(&workspace, "root", UserRole::Admin, None).unwrap();
    assert!(Server::bind(workspace, anywhere).is_ok());
}

#[test]
fn the_audit_log_records_who_did_what_without_personal_data() {
    let fixture = start(true);
    let address = fixture.address;
    let (admin, _) = fixture.sign_in("root");
    // A search for a phone number: the log keeps it masked.
    let search = get(
        address,
        "/api/search?q=13812345678%20%E9%80%80%E6%AC%BE",
        &[("Cookie", &admin)],
    );
    assert_eq!(search.status, 200, "{}", search.text());
    assert_eq!(
        get(address, "/api/calls/A1", &[("Cookie", &admin)]).status,
        200
    );
    // Playing in several ranges is recorded once.
    for range in ["bytes=0-99", "bytes=100-", "bytes=0-"] {
        let reply = get(
            address,
            "/api/calls/A1/audio",
            &[("Cookie", &admin), ("Range", range)],
        );
        assert_eq!(reply.status, 206);
    }
    let failed = request(
        address,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        r#"{"name": "13912345678", "password": "x"}"#,
    );
    assert_eq!(failed.status, 401);

    let store = fixture.workspace.open_existing_store().unwrap();
    let log = store.audit_log(&AuditFilter::default()).unwrap();
    let everything = serde_json::to_string(&log).unwrap();
    assert!(!everything.contains("13812345678"), "{everything}");
    assert!(!everything.contains("13912345678"), "{everything}");
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|record| (record.user.as_str(), record.action.as_str()))
        .collect();
    for expected in [
        ("cli", "user.add"),
        ("root", "login"),
        ("root", "search"),
        ("root", "call.open"),
        ("root", "audio.play"),
        ("-", "login.failed"),
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }
    let searches: Vec<_> = log
        .iter()
        .filter(|record| record.action == "search")
        .collect();
    assert_eq!(searches.len(), 1);
    let query = searches[0].target.as_deref().unwrap();
    assert!(query.contains("退款") && query.contains('*'), "{query}");
    assert_eq!(
        log.iter()
            .filter(|record| record.action == "audio.play")
            .count(),
        1
    );
}

#[test]
fn users_change_their_own_password() {
    let fixture = start(true);
    let address = fixture.address;
    let (cookie, csrf) = fixture.sign_in("qa");
    let page = get(address, "/password", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("name=\"new_password\""),
        "{}",
        page.text()
    );
    let change = |current: &str, new: &str, token: &str| {
        request(
            address,
            "POST",
            "/api/password",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/json"),
                ("X-CSRF-Token", token),
            ],
            &serde_json::json!({ "current_password": current, "new_password": new }).to_string(),
        )
    };
    let old = fixture.password("qa").to_string();
    assert_eq!(change(&old, "a-long-new-password", "").status, 403);
    assert_eq!(change("wrong", "a-long-new-password", &csrf).status, 401);
    assert_eq!(change(&old, "short", &csrf).status, 400);
    let done = change(&old, "a-long-new-password", &csrf);
    assert_eq!(done.status, 204, "{}", done.text());
    // Every session of the user ended; the new password signs in.
    assert_eq!(get(address, SEARCH, &[("Cookie", &cookie)]).status, 401);
    let login = |password: &str| {
        request(
            address,
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            &serde_json::json!({ "name": "qa", "password": password }).to_string(),
        )
        .status
    };
    assert_eq!(login(&old), 401);
    assert_eq!(login("a-long-new-password"), 200);
}
