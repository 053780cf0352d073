//! `callscope-bench serve`: the web workspace under load. A workspace of
//! synthetic calls with QA results (testkit's VOC corpus, stored and
//! indexed once and kept for later runs), `callscope_server::Server` on a
//! loopback port in this process, and N clients, each a thread with one
//! HTTP/1.1 keep-alive connection, sending requests back to back for a
//! fixed time: first `GET /api/search` (a mix of queries and filters), then
//! `GET /calls/{id}` (random calls). Requests/s and latency percentiles per
//! endpoint.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use callscope::output::Output;
use callscope_core::error::{Error, Result};
use callscope_store::workspace::Workspace;
use callscope_store::{CallBatch, CallFilter};
use callscope_testkit::synth_voc::{VocGenerator, VocScenario};

use crate::Row;

/// Settings of the load benchmark.
#[derive(Debug, Clone)]
pub struct ServeBenchOptions {
    /// Calls in the workspace.
    pub calls: u64,
    /// Random seed of the corpus.
    pub seed: u64,
    /// Concurrent clients.
    pub clients: usize,
    /// Seconds of load per endpoint (after a second of warm-up).
    pub seconds: f64,
    /// Where the workspace is kept (reused when it holds `calls` calls).
    pub keep: Option<PathBuf>,
    /// Progress bars.
    pub output: Output,
}

/// The search mix: words, a phrase, an exclusion, OR, a role, filters, a
/// rare term and a common one (URL-encoded query strings).
const SEARCHES: &[(&str, &str)] = &[
    ("退款", ""),
    ("快递 发货", ""),
    ("\"支付按钮\"", ""),
    ("验证码 -登录", ""),
    ("发票 OR 优惠券", ""),
    ("customer:投诉", ""),
    ("退款", "&team=T03"),
    ("会员", "&role=customer&from=2026-09-01"),
    ("保修卡", ""),
    ("着急", "&limit=50"),
];

/// Percent-encodes a query string value.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The workspace: reused when it already holds `calls` calls and as many
/// indexed documents, else built (stored with QA results, then indexed).
fn workspace(options: &ServeBenchOptions, rows: &mut Vec<Row>) -> Result<Workspace> {
    let folder = match &options.keep {
        Some(folder) => folder.clone(),
        None => {
            let cache = std::env::var_os("CALLSCOPE_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            cache.join(format!("bench-serve-{}-{}", options.calls, options.seed))
        }
    };
    let workspace = Workspace::new(&folder);
    let generator = VocGenerator::new(VocScenario {
        seed: options.seed,
        ..VocScenario::sized(options.calls)
    });
    // `sized` rounds the daily volume: at most `calls` calls.
    let total = generator.total_calls().min(options.calls);
    if folder.join("callscope.db").exists() {
        let store = workspace.open_existing_store()?;
        let index = callscope_pipeline::indexing::open_index(&workspace)?;
        if store.count_calls(&CallFilter::default())? == total && index.documents() == total {
            rows.push(Row::new(
                "workspace: reused",
                total as f64,
                "calls",
                format!(
                    "stored and indexed in {} by an earlier run",
                    folder.display()
                ),
            ));
            return Ok(workspace);
        }
        drop(store);
        drop(index);
        std::fs::remove_dir_all(&folder).map_err(|error| Error::io(&folder, error))?;
    }
    std::fs::create_dir_all(&folder).map_err(|error| Error::io(&folder, error))?;
    let mut store = workspace.open_store()?;
    let bar = options.output.progress(total, "calls stored");
    let started = Instant::now();
    let mut calls = Vec::with_capacity(2_000);
    let mut results = Vec::with_capacity(2_000);
    for index in 0..total {
        let (call, qa) = generator.call_and_qa(index);
        calls.push(call);
        results.push(qa);
        if calls.len() == 2_000 || index + 1 == total {
            store.put_call_batch(&CallBatch {
                calls: &calls,
                qa_results: &results,
                ..CallBatch::default()
            })?;
            calls.clear();
            results.clear();
            bar.set_position(index + 1);
        }
    }
    bar.finish_and_clear();
    rows.push(Row::new(
        "store import (context)",
        started.elapsed().as_secs_f64(),
        "s",
        format!("{total} synthetic calls with QA results (testkit synth_voc, sized)"),
    ));
    let mut index = callscope_pipeline::indexing::open_index(&workspace)?;
    let bar = options.output.progress(total, "calls indexed");
    let report = callscope_pipeline::indexing::sync(&mut index, &mut store, &bar)?;
    bar.finish_and_clear();
    rows.push(Row::new(
        "index build (context)",
        report.seconds,
        "s",
        format!("{} calls", report.indexed),
    ));
    Ok(workspace)
}

/// One keep-alive connection.
struct Client {
    address: SocketAddr,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

impl Client {
    fn new(address: SocketAddr) -> Client {
        Client {
            address,
            stream: None,
            buffer: Vec::with_capacity(64 * 1024),
        }
    }

    /// Sends one GET and reads the whole reply; returns its status.
    fn get(&mut self, path: &str) -> std::io::Result<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.address)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.stream = Some(stream);
        }
        let result = self.exchange(path);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange(&mut self, path: &str) -> std::io::Result<u16> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(std::io::Error::other("not connected"));
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\n\r\n",
            self.address
        );
        stream.write_all(request.as_bytes())?;
        self.buffer.clear();
        let mut chunk = [0u8; 16 * 1024];
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            let read = stream.read(&mut chunk)?;
            if read == 0 {
                return Err(std::io::Error::other("closed before the reply"));
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).to_lowercase();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let length: Option<usize> = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|length| length.trim().parse().ok());
        let close = head.contains("connection: close");
        match length {
            Some(length) => {
                while self.buffer.len() < head_end + length {
                    let read = stream.read(&mut chunk)?;
                    if read == 0 {
                        return Err(std::io::Error::other("reply cut short"));
                    }
                    self.buffer.extend_from_slice(&chunk[..read]);
                }
            }
            None if head.contains("transfer-encoding: chunked") => {
                // Read until the last chunk's terminator.
                while find(&self.buffer[head_end..], b"\r\n0\r\n\r\n").is_none()
                    && !self.buffer[head_end..].starts_with(b"0\r\n\r\n")
                {
                    let read = stream.read(&mut chunk)?;
                    if read == 0 {
                        return Err(std::io::Error::other("reply cut short"));
                    }
                    self.buffer.extend_from_slice(&chunk[..read]);
                }
            }
            None => {
                stream.read_to_end(&mut self.buffer)?;
                self.stream = None;
                return Ok(status);
            }
        }
        if close {
            self.stream = None;
        }
        Ok(status)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// What one endpoint's load gave.
struct Load {
    latencies: Vec<f64>,
    errors: u64,
    seconds: f64,
}

/// `clients` threads sending `paths(rng)` back to back for `seconds`
/// (after one second of warm-up that is not counted).
fn load(
    address: SocketAddr,
    clients: usize,
    seconds: f64,
    seed: u64,
    paths: Arc<dyn Fn(&mut SmallRng) -> String + Send + Sync>,
) -> Load {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|number| {
            let (measuring, stop, paths) = (measuring.clone(), stop.clone(), paths.clone());
            std::thread::spawn(move || {
                let mut rng = SmallRng::seed_from_u64(seed ^ (number as u64 * 7919));
                let mut client = Client::new(address);
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let path = paths(&mut rng);
                    let started = Instant::now();
                    let status = client.get(&path);
                    let elapsed = started.elapsed().as_secs_f64();
                    if !measuring.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    match status {
                        Ok(200) => latencies.push(elapsed),
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let measured = started.elapsed().as_secs_f64();
    let mut all = Load {
        latencies: Vec::new(),
        errors: 0,
        seconds: measured,
    };
    for thread in threads {
        if let Ok((latencies, errors)) = thread.join() {
            all.latencies.extend(latencies);
            all.errors += errors;
        }
    }
    all.latencies.sort_by(f64::total_cmp);
    all
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let position = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[position.min(sorted.len() - 1)]
}

fn push_rows(rows: &mut Vec<Row>, endpoint: &str, load: &Load, clients: usize, note: &str) {
    let requests = load.latencies.len() as f64;
    rows.push(Row::new(
        format!("{endpoint}: throughput"),
        requests / load.seconds,
        "requests/s",
        format!(
            "{clients} keep-alive clients, {:.0} s, {} requests, {} errors; {note}",
            load.seconds, requests, load.errors
        ),
    ));
    for (name, fraction) in [("p50", 0.5), ("p99", 0.99)] {
        rows.push(Row::new(
            format!("{endpoint}: {name} latency"),
            percentile(&load.latencies, fraction) * 1000.0,
            "ms",
            String::new(),
        ));
    }
}

/// Runs the benchmark.
pub fn run(options: &ServeBenchOptions) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let workspace = workspace(options, &mut rows)?;
    let calls = workspace
        .open_existing_store()?
        .count_calls(&CallFilter::default())?;
    let server = callscope_server::Server::bind(workspace, SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let address = server.local_addr();
    std::thread::spawn(move || server.run());

    // Every query answers before the load starts (and warms the index).
    let mut probe = Client::new(address);
    for (query, filters) in SEARCHES {
        let path = format!("/api/search?q={}{filters}", encode(query));
        let status = probe
            .get(&path)
            .map_err(|error| Error::Usage(format!("{path}: {error}")))?;
        if status != 200 {
            return Err(Error::Usage(format!("{path} answered {status}")));
        }
    }

    let searches = load(
        address,
        options.clients,
        options.seconds,
        options.seed,
        Arc::new(|rng: &mut SmallRng| {
            let (query, filters) = SEARCHES[rng.random_range(0..SEARCHES.len())];
            format!("/api/search?q={}{filters}", encode(query))
        }),
    );
    push_rows(
        &mut rows,
        "GET /api/search",
        &searches,
        options.clients,
        &format!(
            "{} queries in turn (words, phrase, NOT, OR, role, team/date filters), 20 results",
            SEARCHES.len()
        ),
    );
    let pages = load(
        address,
        options.clients,
        options.seconds,
        options.seed + 1,
        Arc::new(move |rng: &mut SmallRng| {
            format!("/calls/V{:08}", rng.random_range(0..calls.max(1)))
        }),
    );
    push_rows(
        &mut rows,
        "GET /calls/{id}",
        &pages,
        options.clients,
        "random calls of the workspace, transcript and QA result rendered",
    );
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
    rows.push(Row::new(
        "machine (context)",
        threads as f64,
        "cores",
        format!("{calls} calls; server and clients in one process"),
    ));
    Ok(rows)
}
