//! Scale-out (`submit`, `worker`, `jobs`) against real services on
//! loopback: NATS with JetStream (`CALLSCOPE_TEST_NATS_URL`) and
//! PostgreSQL (`CALLSCOPE_TEST_PG_URL`), which `scripts/services.sh`
//! starts. Without them the tests are skipped with a message, except under
//! CI, where they fail. Tests that transcribe also need
//! `CALLSCOPE_MODEL_TESTS=1` (the real Whisper model). Each test has a
//! queue (and a PostgreSQL schema) of its own.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callscope_store::testing::TestSchema;
use callscope_store::CallFilter;
use callscope_store::Store;

use crate::util::{binary, repo, TestCommand};

/// The NATS URL, or `None` (skip) outside CI.
fn nats() -> Option<String> {
    match std::env::var("CALLSCOPE_TEST_NATS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) => {
            panic!("CALLSCOPE_TEST_NATS_URL is not set under CI: scripts/services.sh starts NATS")
        }
        _ => {
            eprintln!("skipped: eval \"$(scripts/services.sh)\" to run the scale-out tests");
            None
        }
    }
}

/// The Whisper model when model tests are on.
fn model() -> Option<PathBuf> {
    if std::env::var("CALLSCOPE_MODEL_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set CALLSCOPE_MODEL_TESTS=1 after `callscope model fetch`");
        return None;
    }
    let model = std::env::var_os("CALLSCOPE_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            repo()
                .join("models")
                .join(callscope_asr::DEFAULT_MODEL_FILE)
        });
    assert!(
        model.exists(),
        "{} missing: run `callscope model fetch`",
        model.display()
    );
    Some(model)
}

/// The tests that use PostgreSQL run one at a time (one of them restarts
/// it).
static POSTGRES: Mutex<()> = Mutex::new(());

fn postgres_lock() -> std::sync::MutexGuard<'static, ()> {
    POSTGRES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A queue name no other test uses.
fn queue_name(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t_{label}_{}_{nanos}", std::process::id())
}

/// Short recordings from shared/callcenter-tts as calls `J01`.., in a
/// manifest in the 售后 queue (which the bundled scorecard scores), with a
/// customer phone number column, plus one corrupt recording `BAD` when
/// asked. Returns the manifest and the call ids of the good recordings.
fn recordings(test: &TestCommand, count: usize, with_corrupt: bool) -> (PathBuf, Vec<String>) {
    let shared = std::env::var_os("CALLSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    let mut clips: Vec<PathBuf> = std::fs::read_dir(shared.join("callcenter-tts/wav"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "wav"))
        .collect();
    clips.sort();
    assert!(!clips.is_empty(), "shared/callcenter-tts has no clips");
    let folder = test.dir().join("recordings");
    std::fs::create_dir_all(&folder).unwrap();
    let mut manifest = String::from("path,call_id,agent_id,queue,started_at,caller\n");
    let mut call_ids = Vec::new();
    // More calls than clips reuse them in turn (each its own call).
    for (index, clip) in clips.iter().cycle().take(count).enumerate() {
        let call_id = format!("J{:02}", index + 1);
        let path = folder.join(format!("{call_id}.wav"));
        std::fs::copy(clip, &path).unwrap();
        manifest.push_str(&format!(
            "{},{call_id},A{:02},售后,2026-09-01T{:02}:{:02}:00+08:00,13912345678\n",
            path.display(),
            index % 3,
            10 + index / 60,
            index % 60
        ));
        call_ids.push(call_id);
    }
    if with_corrupt {
        let path = folder.join("BAD.wav");
        std::fs::write(&path, b"RIFF\x10\x00\x00\x00WAVEnot really a recording").unwrap();
        manifest.push_str(&format!(
            "{},BAD,A01,售后,2026-09-01T11:00:00+08:00,13912345678\n",
            path.display()
        ));
    }
    (test.write("manifest.csv", manifest), call_ids)
}

/// A worker process and the lines it logged so far.
struct Worker {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    fn start(
        test: &TestCommand,
        nats: &str,
        queue: &str,
        store: Option<&str>,
        model: &Path,
        name: &str,
        idle: u64,
    ) -> Worker {
        Worker::start_with(test, nats, queue, store, model, name, idle, &[])
    }

    /// [`Worker::start`] with more arguments.
    #[allow(clippy::too_many_arguments)]
    fn start_with(
        test: &TestCommand,
        nats: &str,
        queue: &str,
        store: Option<&str>,
        model: &Path,
        name: &str,
        idle: u64,
        more: &[&str],
    ) -> Worker {
        let mut command = Command::new(binary());
        command
            .arg("--data")
            .arg(test.data())
            .args(["worker", "--nats", nats, "--queue", queue, "--name", name])
            .args(["--threads", "1", "--ack-wait", "4", "--retry-delay", "1"])
            .args(["--exit-when-idle", &idle.to_string()])
            .arg("--model")
            .arg(model)
            .current_dir(test.dir())
            .env_remove("CALLSCOPE_DATA")
            .env_remove("CALLSCOPE_STORE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(store) = store {
            command.args(["--store", store]);
        }
        command.args(more);
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                sink.lock().unwrap().push(line);
            }
        });
        Worker { child, lines }
    }

    /// Waits until the worker logged a line containing `needle`.
    fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|line| line.contains(needle))
            {
                return line.clone();
            }
            assert!(
                started.elapsed() < limit,
                "no '{needle}' within {limit:?}: {:?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the worker to exit; its exit code and stdout.
    fn finish(self, limit: Duration) -> (i32, String) {
        let (code, stdout, _) = self.finish_with_log(limit);
        (code, stdout)
    }

    /// Waits for the worker to exit; its exit code, stdout and log lines.
    fn finish_with_log(mut self, limit: Duration) -> (i32, String, Vec<String>) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stdout = String::new();
                use std::io::Read;
                self.child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut stdout)
                    .unwrap();
                // The log thread ends with the pipe.
                std::thread::sleep(Duration::from_millis(100));
                let lines = self.lines.lock().unwrap().clone();
                return (status.code().unwrap_or(-1), stdout, lines);
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "worker did not exit within {limit:?}: {:?}",
                    self.lines.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn submitting_the_same_recordings_twice_makes_one_job_per_call() {
    let Some(nats) = nats() else {
        return;
    };
    let test = TestCommand::new();
    let queue = queue_name("dedup");
    // Submitting reads no audio: any files will do.
    for name in ["C1.wav", "C2.wav", "C3.wav"] {
        test.write(&format!("audio/{name}"), b"RIFF");
    }
    let audio = test.dir().join("audio");
    let audio = audio.to_str().unwrap();
    let first = test.expect(
        &[
            "submit", audio, "--nats", &nats, "--queue", &queue, "--json",
        ],
        0,
    );
    assert_eq!(first.json_lines()[0]["submitted"], 3, "{}", first.stdout);
    let again = test.expect(
        &[
            "submit", audio, "--nats", &nats, "--queue", &queue, "--json",
        ],
        0,
    );
    let again = &again.json_lines()[0];
    assert_eq!(
        (again["submitted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );
    let status = test.expect(
        &[
            "jobs", "status", "--nats", &nats, "--queue", &queue, "--json",
        ],
        0,
    );
    assert_eq!(status.json_lines()[0]["queued"], 3, "{}", status.stdout);
    let failed = test.expect(&["jobs", "failed", "--nats", &nats, "--queue", &queue], 0);
    assert!(failed.stdout.contains("0 jobs failed"), "{}", failed.stdout);
}

#[test]
fn an_unreachable_queue_is_an_error_that_says_what_to_do() {
    let test = TestCommand::new();
    test.write("audio/C1.wav", b"RIFF");
    let audio = test.dir().join("audio");
    let run = test.expect(
        &[
            "submit",
            audio.to_str().unwrap(),
            "--nats",
            "nats://user:pw@127.0.0.1:1",
        ],
        2,
    );
    assert!(
        run.stderr.contains("cannot connect to NATS at 127.0.0.1:1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("pw"), "{}", run.stderr);
}

/// Three workers over 50 calls and one corrupt recording; one worker is
/// killed (SIGKILL) in the middle of a job. Every call ends up in
/// PostgreSQL exactly once with its QA result, and the dead-letter stream
/// holds the corrupt recording only.
#[test]
fn three_workers_one_killed_mid_job_store_every_call_once() {
    const JOBS: usize = 50;
    let (Some(nats), Some(model)) = (nats(), model()) else {
        return;
    };
    let _postgres = postgres_lock();
    let Some(schema) = TestSchema::create("three_workers") else {
        return;
    };
    let test = TestCommand::new();
    let queue = queue_name("three");
    let (manifest, call_ids) = recordings(&test, JOBS, true);
    let manifest = manifest.to_str().unwrap();
    test.expect(&["submit", manifest, "--nats", &nats, "--queue", &queue], 0);
    let store = schema.url();
    let started = Instant::now();
    let victim = Worker::start(&test, &nats, &queue, Some(&store), &model, "victim", 20);
    // Killed as soon as it is inside a job (the model loaded, the
    // recording being read and recognized).
    let line = victim.wait_for(": started (delivery", Duration::from_secs(120));
    let mut victim = victim;
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    eprintln!("killed the worker in: {line}");
    let workers: Vec<Worker> = ["w2", "w3"]
        .iter()
        .map(|name| Worker::start(&test, &nats, &queue, Some(&store), &model, name, 10))
        .collect();
    // A third worker joins late: workers come and go.
    std::thread::sleep(Duration::from_secs(3));
    let late = Worker::start(&test, &nats, &queue, Some(&store), &model, "w4", 10);
    let mut log = Vec::new();
    for worker in workers.into_iter().chain([late]) {
        let (code, stdout, lines) = worker.finish_with_log(Duration::from_secs(400));
        assert_eq!(code, 0, "{stdout}");
        log.extend(lines);
    }
    // The killed worker's job came back to another worker after the ack wait.
    let killed_call = line
        .split("call ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap();
    assert!(
        log.iter()
            .any(|line| line.contains(&format!("call {killed_call}: started (delivery 2)"))),
        "{log:#?}"
    );
    eprintln!(
        "{JOBS} jobs + 1 corrupt on 3 workers in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let pg = Store::connect(&store).unwrap();
    assert_eq!(pg.count_calls(&CallFilter::default()).unwrap(), JOBS as u64);
    for call_id in &call_ids {
        let call = pg
            .get_call(call_id)
            .unwrap()
            .unwrap_or_else(|| panic!("{call_id} missing"));
        assert!(!call.segments.is_empty(), "{call_id}: no transcript");
        // The manifest's phone number column was masked before it left
        // the submitting machine.
        assert!(
            !serde_json::to_string(&call)
                .unwrap()
                .contains("13912345678"),
            "{call:?}"
        );
        let results = pg.qa_results_of(call_id).unwrap();
        assert_eq!(results.len(), 1, "{call_id}: {results:?}");
    }
    let failed = test.run(&[
        "jobs", "failed", "--nats", &nats, "--queue", &queue, "--json",
    ]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let letters = failed.json_lines();
    assert_eq!(letters.len(), 1, "{}", failed.stdout);
    assert_eq!(letters[0]["call_id"], "BAD");
    assert_eq!(
        letters[0]["deliveries"], 1,
        "a corrupt recording is not retried"
    );
    assert!(!failed.stdout.contains("13912345678"), "{}", failed.stdout);
    let status = test.expect(
        &[
            "jobs", "status", "--nats", &nats, "--queue", &queue, "--json",
        ],
        0,
    );
    let status = &status.json_lines()[0];
    assert_eq!(status["queued"], 0, "{status}");
    let done: u64 = status["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|worker| worker["jobs_done"].as_u64().unwrap())
        .sum();
    // The killed worker's job was done again by another worker (or found
    // stored and skipped): at least every call.
    assert!(done >= JOBS as u64, "{status}");
}

/// SIGTERM: the worker finishes the job it holds, stores it, and exits 0;
/// the jobs it did not start stay queued for others. Written to the
/// workspace's SQLite store, which the analysts' commands then read.
#[test]
fn sigterm_lets_a_worker_finish_its_job_and_exit() {
    let (Some(nats), Some(model)) = (nats(), model()) else {
        return;
    };
    let test = TestCommand::new();
    let queue = queue_name("drain");
    let (manifest, _) = recordings(&test, 3, false);
    test.expect(
        &[
            "submit",
            manifest.to_str().unwrap(),
            "--nats",
            &nats,
            "--queue",
            &queue,
        ],
        0,
    );
    let worker = Worker::start(&test, &nats, &queue, None, &model, "drained", 30);
    let line = worker.wait_for(": started (delivery", Duration::from_secs(120));
    let call_id = line
        .split("call ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .to_string();
    let terminated = Command::new("kill")
        .args(["-TERM", &worker.child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let (code, stdout) = worker.finish(Duration::from_secs(180));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("1 jobs done") && stdout.contains("stopped by signal"),
        "{stdout}"
    );
    let shown = test.expect(&["show", &call_id, "--json"], 0);
    assert_eq!(shown.json_lines()[0]["call_id"], call_id.as_str());
    let stats = test.expect(&["stats", "--json"], 0);
    assert_eq!(stats.json_lines()[0]["calls"], 1, "{}", stats.stdout);
    assert_eq!(stats.json_lines()[0]["scored_calls"], 1, "{}", stats.stdout);
    let status = test.expect(
        &[
            "jobs", "status", "--nats", &nats, "--queue", &queue, "--json",
        ],
        0,
    );
    let status = &status.json_lines()[0];
    assert_eq!(status["queued"], 2, "{status}");
    assert_eq!(status["workers"][0]["state"], "stopped", "{status}");
}

/// PostgreSQL restarted in the middle of a batch: the writes that fail
/// are retried (the store reconnects) and no call is lost or doubled.
#[test]
fn workers_ride_out_a_postgresql_restart() {
    let (Some(nats), Some(model)) = (nats(), model()) else {
        return;
    };
    let restart = match std::env::var("CALLSCOPE_TEST_PG_RESTART") {
        Ok(command) if !command.is_empty() => command,
        _ => {
            eprintln!("skipped: CALLSCOPE_TEST_PG_RESTART (from scripts/services.sh) is not set");
            return;
        }
    };
    let _postgres = postgres_lock();
    let Some(schema) = TestSchema::create("pg_restart") else {
        return;
    };
    let test = TestCommand::new();
    let queue = queue_name("restart");
    let (manifest, call_ids) = recordings(&test, 8, false);
    test.expect(
        &[
            "submit",
            manifest.to_str().unwrap(),
            "--nats",
            &nats,
            "--queue",
            &queue,
        ],
        0,
    );
    let store = schema.url();
    // Enough tries to outlast a restart (a few seconds) one second apart.
    let more = ["--max-deliveries", "10"];
    let workers: Vec<Worker> = ["r1", "r2"]
        .iter()
        .map(|name| Worker::start_with(&test, &nats, &queue, Some(&store), &model, name, 10, &more))
        .collect();
    workers[0].wait_for(": done (", Duration::from_secs(120));
    let restarted = Command::new("sh").args(["-c", &restart]).status().unwrap();
    assert!(restarted.success(), "{restart}");
    let mut log = Vec::new();
    for worker in workers {
        let (code, stdout, lines) = worker.finish_with_log(Duration::from_secs(300));
        assert_eq!(code, 0, "{stdout}");
        log.extend(lines);
    }
    let pg = Store::connect(&store).unwrap();
    assert_eq!(
        pg.count_calls(&CallFilter::default()).unwrap(),
        8,
        "{log:#?}"
    );
    for call_id in &call_ids {
        assert_eq!(pg.qa_results_of(call_id).unwrap().len(), 1, "{call_id}");
    }
    let failed = test.expect(&["jobs", "failed", "--nats", &nats, "--queue", &queue], 0);
    assert!(failed.stdout.contains("0 jobs failed"), "{}", failed.stdout);
}

/// A tiny HTTP/1.1 server on loopback for the files of `folder` (404 for
/// anything else), one connection at a time, until the process ends.
fn serve_files(folder: PathBuf) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => request.extend_from_slice(&buffer[..read]),
                }
            }
            let request = String::from_utf8_lossy(&request);
            let target = request.split_whitespace().nth(1).unwrap_or("/");
            let name = target
                .split('?')
                .next()
                .unwrap_or("")
                .trim_start_matches('/');
            let file = (!name.contains("..")).then(|| std::fs::read(folder.join(name)));
            let _ = match file {
                Some(Ok(body)) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|()| stream.write_all(&body)),
                _ => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    format!("http://{address}")
}

/// Recordings given as http(s) URLs: the worker downloads them, stores
/// the call with the URL less its query (where signed URLs keep their
/// credentials) as its audio's source, and a URL that answers 404 is
/// dead-lettered at once, named without the query either.
#[test]
fn workers_read_recordings_from_http_urls() {
    let (Some(nats), Some(model)) = (nats(), model()) else {
        return;
    };
    let test = TestCommand::new();
    let queue = queue_name("http");
    recordings(&test, 1, false);
    let base = serve_files(test.dir().join("recordings"));
    let manifest = test.write(
        "urls.csv",
        format!(
            "path,call_id,agent_id,queue,started_at\n\
             {base}/J01.wav?token=s3cr3t,J01,A01,售后,2026-09-01T10:00:00+08:00\n\
             {base}/GONE.wav?token=s3cr3t,GONE,A01,售后,2026-09-01T10:05:00+08:00\n"
        ),
    );
    test.expect(
        &[
            "submit",
            manifest.to_str().unwrap(),
            "--nats",
            &nats,
            "--queue",
            &queue,
        ],
        0,
    );
    let worker = Worker::start(&test, &nats, &queue, None, &model, "http", 5);
    let (code, stdout, log) = worker.finish_with_log(Duration::from_secs(300));
    assert_eq!(code, 0, "{stdout}");
    let shown = test.expect(&["show", "J01", "--json"], 0).json_lines();
    let call = &shown[0];
    assert_eq!(call["audio_path"], format!("{base}/J01.wav"), "{call}");
    assert!(
        !call["segments"].as_array().unwrap().is_empty(),
        "transcribed: {call}"
    );
    let failed = test.expect(&["jobs", "failed", "--nats", &nats, "--queue", &queue], 1);
    assert!(
        failed.stdout.contains("GONE") && failed.stdout.contains("HTTP 404"),
        "{}",
        failed.stdout
    );
    let failed_json = test.expect(
        &[
            "jobs", "failed", "--nats", &nats, "--queue", &queue, "--json",
        ],
        1,
    );
    let everything = format!(
        "{}{}{stdout}{}",
        failed.stdout,
        failed_json.stdout,
        log.join("\n")
    );
    assert!(!everything.contains("s3cr3t"), "{everything}");
    // The local batch names what to do with a URL instead of failing
    // on a missing file.
    let run = test.run(&[
        "transcribe",
        manifest.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(
        run.stderr
            .contains("a URL: `transcribe` and `run` read files"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
}

/// A scorecard pushed to the store while a worker runs reaches it at its
/// next job: the call done before the push is scored with the workspace's
/// scorecard, the one after with the pushed one.
#[test]
fn a_pushed_scorecard_reaches_a_running_worker_at_its_next_job() {
    let (Some(nats), Some(model)) = (nats(), model()) else {
        return;
    };
    let test = TestCommand::new();
    let queue = queue_name("push");
    let (manifest, call_ids) = recordings(&test, 2, false);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let first = test.write(
        "first.csv",
        format!("{header}\n{}\n", lines.next().unwrap()),
    );
    let second = test.write(
        "second.csv",
        format!("{header}\n{}\n", lines.next().unwrap()),
    );
    let submit = |file: &Path| {
        test.expect(
            &[
                "submit",
                file.to_str().unwrap(),
                "--nats",
                &nats,
                "--queue",
                &queue,
            ],
            0,
        );
    };
    submit(&first);
    let worker = Worker::start(&test, &nats, &queue, None, &model, "pushed", 8);
    worker.wait_for(": done (", Duration::from_secs(120));
    let pushed = test.write("pushed.toml", crate::util::PUSHED_SCORECARD);
    test.expect(&["scorecard", "push", pushed.to_str().unwrap()], 0);
    submit(&second);
    let (code, stdout) = worker.finish(Duration::from_secs(180));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("2 jobs done"), "{stdout}");
    let scorecard_of = |call_id: &str| {
        let shown = test.expect(&["show", call_id], 0).stdout;
        shown
            .lines()
            .find_map(|line| {
                line.strip_prefix("QA ")?
                    .split(':')
                    .next()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("{call_id} has no QA result: {shown}"))
    };
    assert_eq!(scorecard_of(&call_ids[0]), "售后服务质检标准");
    assert_eq!(scorecard_of(&call_ids[1]), "推送的质检标准");
}
