//! `callscope serve` as a user runs it: the real binary over a workspace
//! imported with `callscope import`, its search API compared with
//! `callscope search --json`. (The endpoints one by one are tested in
//! crates/server/tests/web.rs.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

fn callscope(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callscope"));
    command.arg("--data").arg(data);
    command
}

/// Kills the server when the test ends, passing or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get_body(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head.to_lowercase().contains("transfer-encoding: chunked"),
        "{head}"
    );
    body.to_string()
}

#[test]
fn the_search_api_answers_what_search_json_prints() {
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    let calls = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/search/calls.jsonl");
    let import = callscope(&data).arg("import").arg(&calls).output().unwrap();
    assert!(import.status.success(), "{import:?}");
    let search = callscope(&data)
        .args(["search", "退款 -到账", "--json", "--limit", "50"])
        .output()
        .unwrap();
    assert!(search.status.success(), "{search:?}");
    let expected: Vec<serde_json::Value> = String::from_utf8(search.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(!expected.is_empty());

    let mut child = callscope(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Running(child);
    let mut first_line = String::new();
    BufReader::new(stdout).read_line(&mut first_line).unwrap();
    let address = first_line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first_line:?}"))
        .to_string();
    let body = get_body(
        &address,
        "/api/search?q=%E9%80%80%E6%AC%BE%20-%E5%88%B0%E8%B4%A6&limit=50",
    );
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["results"].as_array().unwrap(), &expected);
    drop(server);
}

#[test]
fn serve_refuses_an_address_other_than_loopback() {
    let folder = tempfile::tempdir().unwrap();
    let output = callscope(folder.path())
        .args(["serve", "--listen", "0.0.0.0:8080"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
}
