//! A small WebDriver client (W3C, over chromedriver) for the browser
//! tests: HTTP/1.1 over a plain `TcpStream` and `serde_json`, no other
//! dependency. It starts `chromedriver` on a free loopback port and a
//! headless Chromium with a fresh profile and everything that would reach
//! the network turned off.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's flags: headless, no sandbox (CI runs as root), and nothing
/// that talks to the network (without them the closed network of CI makes
/// it stall on start and on every page).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,900",
    "--lang=zh-CN",
];

/// Where a program is: an environment variable naming it, else the first
/// of `names` found on the `PATH` (or at its usual Debian place).
fn find_program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for folder in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
            let candidate = folder.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Chromium and chromedriver, if both are installed.
pub fn find_browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium = find_program(
        "CALLSCOPE_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let driver = find_program("CALLSCOPE_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Ok((chromium, driver)),
        (chromium, driver) => Err(format!(
            "missing {}{}{} (Debian: apt-get install chromium chromium-driver fonts-noto-cjk, \
             or scripts/deps.sh)",
            if chromium.is_none() { "chromium" } else { "" },
            if chromium.is_none() && driver.is_none() {
                " and "
            } else {
                ""
            },
            if driver.is_none() { "chromedriver" } else { "" },
        )),
    }
}

/// A reply from chromedriver: status and JSON body.
fn http(address: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    // Every POST carries a JSON object, empty if nothing else.
    let body = match (body, method) {
        (Some(body), _) => body.to_string(),
        (None, "POST") => "{}".to_string(),
        (None, _) => String::new(),
    };
    let mut stream = TcpStream::connect(address)
        .unwrap_or_else(|error| panic!("chromedriver at {address}: {error}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    // chromedriver may keep the connection open: read the header block,
    // then the body by its length (or to the end when chunked or unsized).
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let split = loop {
        if let Some(split) = raw.windows(4).position(|window| window == b"\r\n\r\n") {
            break split;
        }
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "chromedriver closed without a reply: {raw:?}");
        raw.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let length: Option<usize> = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|length| length.trim().parse().ok());
    let mut content = raw[split + 4..].to_vec();
    match length {
        Some(length) => {
            while content.len() < length {
                let read = stream.read(&mut buffer).unwrap();
                assert!(read > 0, "chromedriver's reply was cut short");
                content.extend_from_slice(&buffer[..read]);
            }
            content.truncate(length);
        }
        None => {
            stream.read_to_end(&mut content).unwrap();
            if head.contains("transfer-encoding: chunked") {
                content = dechunk(&content);
            }
        }
    }
    let value = serde_json::from_slice(&content).unwrap_or(Value::Null);
    (status, value)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = raw.windows(2).position(|window| window == b"\r\n") {
        let size = std::str::from_utf8(&raw[..end])
            .ok()
            .and_then(|size| usize::from_str_radix(size.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || raw.len() < end + 2 + size {
            break;
        }
        body.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[(end + 4 + size).min(raw.len())..];
    }
    body
}

/// Standard base64 (what WebDriver screenshots come in).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |byte: u8| -> Option<u32> {
        match byte {
            b'A'..=b'Z' => Some(u32::from(byte - b'A')),
            b'a'..=b'z' => Some(u32::from(byte - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(byte - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let mut bits = 0u32;
        for (position, digit) in group.iter().enumerate() {
            bits |= digit << (18 - 6 * position);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    out
}

/// A headless Chromium driven through chromedriver; both end when it is
/// dropped.
pub struct Browser {
    driver: Child,
    address: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a browser session.
    pub fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let profile = tempfile::tempdir().unwrap();
        let mut command = Command::new(chromedriver);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, which Chromium joins: dropping the browser
        // ends them all, even when the session never started.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", chromedriver.display()));
        let mut browser = Browser {
            driver,
            address,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(address).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {address} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| arg.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            browser._profile.path().display()
        ));
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": args,
                    }
                }
            }
        });
        let (status, reply) = http(address, "POST", "/session", Some(&capabilities));
        assert_eq!(status, 200, "no browser session: {reply}");
        browser.session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id: {reply}"))
            .to_string();
        browser
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, reply) = http(self.address, method, &path, body.as_ref());
        assert_eq!(status, 200, "{method} {path} {body:?}: {reply}");
        reply["value"].clone()
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// The current page's address.
    pub fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns
    /// its value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The elements matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.command(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|element| element[ELEMENT_KEY].as_str())
        .map(|id| Element(id.to_string()))
        .collect()
    }

    /// The first element matching a CSS selector, waited for up to 10 s.
    pub fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(element) = self.find_all(css).into_iter().next() {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} on {}: {}",
                self.url(),
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The visible text of the page (for failure messages).
    pub fn page_text(&self) -> String {
        self.execute(
            "return document.body ? document.body.innerText : '';",
            vec![],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Clicks an element (a real mouse click at its centre, scrolled into view).
    pub fn click(&self, element: &Element) {
        self.command("POST", &format!("/element/{}/click", element.0), None);
    }

    /// Types `text` into an element.
    pub fn type_text(&self, element: &Element, text: &str) {
        self.command(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        );
    }

    /// Clears an input.
    pub fn clear(&self, element: &Element) {
        self.command("POST", &format!("/element/{}/clear", element.0), None);
    }

    /// An element's text as rendered.
    pub fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// An element's property (`value`, `className`, ...).
    pub fn property(&self, element: &Element, name: &str) -> Value {
        self.command(
            "GET",
            &format!("/element/{}/property/{name}", element.0),
            None,
        )
    }

    /// Waits up to `seconds` for `script` (a function body) to return true.
    pub fn wait_until(&self, seconds: u64, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if self.execute(script, vec![]) == Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {seconds} s for {what} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Forgets every cookie (signs the browser out).
    pub fn delete_cookies(&self) {
        self.command("DELETE", "/cookie", None);
    }

    /// Resizes the window so that the whole page fits (for a screenshot).
    pub fn fit_page(&self, width: u64, max_height: u64) {
        let height = self
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                vec![],
            )
            .as_u64()
            .unwrap_or(900)
            .clamp(400, max_height);
        self.command(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height + 140 })),
        );
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let data = self.command("GET", "/screenshot", None);
        let png = base64_decode(data.as_str().unwrap_or_default());
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let (address, path) = (self.address, format!("/session/{}", self.session));
            let _ = std::panic::catch_unwind(move || http(address, "DELETE", &path, None));
        }
        let _ = self.driver.kill();
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGVsbG8hIQ=="), b"hello!!");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
