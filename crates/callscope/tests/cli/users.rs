//! `callscope user` and `callscope audit log`: users get a one-time
//! password that signs in (stored only as an argon2 hash), and the audit log
//! records what the web workspace and the commands did, with personal data
//! masked, and survives `forget`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use crate::util::{repo, TestCommand};

/// Kills the server when the test ends, passing or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Searches the web workspace (local admin: no users yet) for `query`.
fn search_over_http(test: &TestCommand, query: &str) {
    let mut child = test
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Running(child);
    let mut first_line = String::new();
    BufReader::new(stdout).read_line(&mut first_line).unwrap();
    let address = first_line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first_line:?}"))
        .to_string();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /api/search?q={query} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

#[test]
fn users_get_one_time_passwords_and_the_audit_log_keeps_no_personal_data() {
    let test = TestCommand::new();
    let calls = repo().join("tests/golden/search/calls.jsonl");
    test.expect(&["import", calls.to_str().unwrap()], 0);
    search_over_http(&test, "13812345678%20%E9%80%80%E6%AC%BE");

    // user add prints a password once; the store keeps only its hash.
    let added = test.expect(&["user", "add", "root", "--role", "admin"], 0);
    let password = added
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no password in {}", added.stdout))
        .trim()
        .to_string();
    assert_eq!(password.chars().count(), 16, "{password}");
    let store = callscope_store::workspace::Workspace::new(test.data())
        .open_existing_store()
        .unwrap();
    let hash = store.password_hash("root").unwrap().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(callscope_server::auth::verify_password(&hash, &password));
    drop(store);

    let agent = test.expect(&["user", "add", "li", "--role", "agent", "--json"], 0);
    let agent = &agent.json_lines()[0];
    assert_eq!(agent["agent_id"], "li");
    assert_eq!(agent["password"].as_str().unwrap().len(), 16);
    test.expect(&["user", "add", "li", "--role", "viewer"], 2);
    test.expect(&["user", "add", "bob", "--role", "boss"], 2);
    test.expect(
        &["user", "add", "pm", "--role", "viewer", "--agent-id", "A01"],
        2,
    );

    let listed = test.expect(&["user", "list", "--json"], 0).json_lines();
    let names: Vec<&str> = listed
        .iter()
        .map(|user| user["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["li", "root"]);
    assert!(listed
        .iter()
        .all(|user| user.get("password_hash").is_none()));
    let text = test.expect(&["user", "list"], 0).stdout;
    assert!(text.contains("root") && text.contains("admin"), "{text}");
    assert!(!text.contains("argon2"), "{text}");

    let changed = test.expect(&["user", "passwd", "root"], 0).stdout;
    assert!(!changed.contains(&password), "{changed}");
    test.expect(&["user", "remove", "li"], 0);
    test.expect(&["user", "remove", "li"], 2);

    // The audit log: the search's phone number masked, user changes listed.
    let log = test.expect(&["audit", "log", "--json"], 0);
    assert!(!log.stdout.contains("13812345678"), "{}", log.stdout);
    let records = log.json_lines();
    let search = records
        .iter()
        .find(|record| record["action"] == "search")
        .unwrap_or_else(|| panic!("no search in {}", log.stdout));
    assert_eq!(search["user"], "local");
    let query = search["target"].as_str().unwrap();
    assert!(
        query.contains("138****5678") && query.contains("退款"),
        "{query}"
    );
    let actions: Vec<&str> = records
        .iter()
        .map(|record| record["action"].as_str().unwrap())
        .collect();
    for action in ["user.add", "user.passwd", "user.remove"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let text = test.expect(&["audit", "log"], 0).stdout;
    assert!(
        text.contains("138****5678") && !text.contains("13812345678"),
        "{text}"
    );
    let last = test
        .expect(
            &["audit", "log", "--user", "cli", "--limit", "1", "--json"],
            0,
        )
        .json_lines();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["action"], "user.remove");
    let later = test.expect(&["audit", "log", "--since", "2999-01-01"], 0);
    assert!(later.stdout.trim().is_empty(), "{}", later.stdout);
    test.expect(&["audit", "log", "--since", "yesterday"], 2);

    // Forgetting calls keeps the audit log (it holds no personal data).
    let before = records.len();
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&calls)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    test.expect(&["forget", "--call", first["call_id"].as_str().unwrap()], 0);
    let after = test.expect(&["audit", "log", "--json", "--limit", "0"], 0);
    assert!(after.json_lines().len() >= before, "{}", after.stdout);
}
