//! What the server's HTTP tests share: a small HTTP/1.1 client over a plain
//! `TcpStream` (one request per connection), a test recording, and calls
//! imported as `callscope import` imports them (masked by the workspace's
//! policy).

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use callscope_core::import::{ImportOptions, Importer};
use callscope_store::workspace::Workspace;
use callscope_store::CallBatch;

/// A reply: status, headers (names lowercase), body (de-chunked).
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    /// The `name=value` of the cookie the reply sets, if it sets it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(key, _)| key == "set-cookie")
            .map(|(_, value)| value.split(';').next().unwrap_or("").trim().to_string())
            .find(|pair| pair.starts_with(&format!("{name}=")))
    }
}

/// One HTTP/1.1 request (the connection closed after it). A `Host` header
/// naming the address is added unless `headers` has one.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(address).unwrap();
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        text.push_str(&format!("Host: {address}\r\n"));
    }
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_string()))
        .collect();
    if headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET path`.
pub fn get(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(address, "GET", path, headers, "")
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let end = raw.windows(2).position(|window| window == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

/// Three seconds of a tone, 8 kHz mono PCM (decoded to 16 kHz on the way
/// out).
pub fn write_tone(path: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for index in 0..24_000 {
        let phase = index as f32 * 440.0 * std::f32::consts::TAU / 8000.0;
        writer
            .write_sample((phase.sin() * 12_000.0) as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
}

/// Imports transcript JSONL into the workspace as `callscope import` does:
/// masked by the workspace's policy, each call with its redaction record.
pub fn import_jsonl(workspace: &Workspace, input: &str) {
    let redactor = callscope_redact::Redactor::from_workspace(workspace).unwrap();
    let mut store = workspace.open_store().unwrap();
    let report = Importer::new(ImportOptions::default())
        .run(
            &mut input.as_bytes(),
            "calls.jsonl",
            |calls| {
                let batch = redactor.redact_batch(calls)?;
                store.put_call_batch(&CallBatch {
                    calls: &batch.calls,
                    redactions: &batch.records,
                    ..CallBatch::default()
                })
            },
            |_| {},
        )
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
}
