//! `callscope-bench workers`: scale-out on one machine against the local
//! batch, i.e. what the queue and the shared store cost per call.
//!
//! N stereo call recordings (8 kHz G.711 mu-law, agent on the left,
//! composed as the ASR benchmark's stereo batch: the same corpus, layout,
//! seeds and call ids, so its 12 calls are the first 12 here) go through
//! the built `callscope` binary, run as child processes:
//!
//! - the local batch: `callscope transcribe FOLDER` into a fresh workspace
//!   (SQLite), at each plan the workers run at (K workers x cores / K
//!   threads; one single-threaded worker per core, at most one per call,
//!   is its default plan), timed from starting the
//!   process to its exit;
//! - the queue: K `callscope worker`s (cores / K whisper threads each) on
//!   a queue of their own, started and waited for until each has loaded
//!   the model and joined the consumer ("waiting for jobs"), then
//!   `callscope submit FOLDER`; timed from starting the submission to the
//!   last "done" a worker logs, which it logs once the call is stored and
//!   the job acknowledged. The store is a fresh PostgreSQL schema, or one
//!   SQLite file all the workers share.
//!
//! Every run must have stored exactly N calls (`callscope stats --json`)
//! with no failure, or the benchmark fails. Workers are stopped with
//! SIGTERM; the queue's streams are deleted and the schema dropped, also
//! when a run fails. docs/benchmarks.md ("Workers on the queue") has the
//! command and the figures.

use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::audio::Corpus;
use super::Row;
use callscope::output::Output;
use callscope_core::error::{Error, Result};
use callscope_queue::QueueNames;
use callscope_store::testing::TestSchema;
use callscope_testkit::compose::Encoding;

/// How long workers may take to load the model and join the queue.
const STARTUP_LIMIT: Duration = Duration::from_secs(300);

/// How often running children are looked at (exit, memory).
const POLL: Duration = Duration::from_millis(20);

/// What to measure.
#[derive(Debug, Clone)]
pub struct WorkersBenchOptions {
    /// Recordings, one job each.
    pub jobs: usize,
    /// The NATS server with JetStream.
    pub nats: String,
    /// The PostgreSQL database (a fresh schema per run).
    pub store: String,
    /// Worker counts against PostgreSQL.
    pub workers: Vec<usize>,
    /// Worker counts against one SQLite file.
    pub sqlite_workers: Vec<usize>,
    /// The model (default: models/ggml-base-q8_0.bin).
    pub model: Option<PathBuf>,
    /// Progress bars.
    pub output: Output,
}

/// Which store the workers write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct Measured {
    /// Wall-clock seconds (see the module's description).
    wall_seconds: f64,
    /// The largest peak resident memory of one process, MiB.
    peak_rss_mib: f64,
    /// Workers: seconds from spawning them to the last one ready.
    startup_seconds: Option<f64>,
}

/// Runs the benchmark: the local batch at each plan, then the queue with
/// each worker count against PostgreSQL, then against SQLite.
pub fn run(options: &WorkersBenchOptions) -> Result<Vec<Row>> {
    if options.jobs == 0 {
        return Err(Error::Usage("--jobs must be at least 1".to_string()));
    }
    let postgres_counts = worker_counts(&options.workers);
    let sqlite_counts = worker_counts(&options.sqlite_workers);
    if postgres_counts.is_empty() && sqlite_counts.is_empty() {
        return Err(Error::Usage(
            "nothing to measure: give --workers or --sqlite-workers a count above 0".to_string(),
        ));
    }
    let binary = callscope_binary()?;
    let model = model_file(options.model.as_deref())?;
    let cores = callscope_asr::available_cores();
    let scratch = tempfile::tempdir().map_err(|error| Error::io("temp dir", error))?;
    let recordings = scratch.path().join("recordings");
    let durations = compose_batch(&super::asr::shared_dir()?, &recordings, options.jobs)?;
    let bench = Bench {
        binary,
        model,
        recordings,
        scratch: scratch.path().to_path_buf(),
        jobs: options.jobs,
        audio_seconds: durations.iter().sum(),
        nats: options.nats.clone(),
        output: options.output,
    };

    let mut rows = Vec::new();
    let plans: BTreeSet<usize> = postgres_counts
        .iter()
        .chain(&sqlite_counts)
        .copied()
        .collect();
    let mut baselines = Vec::new();
    let default_plan = callscope_asr::AsrConfig::default().thread_plan_for(bench.jobs);
    for &workers in &plans {
        let threads = threads_for(cores, workers);
        let label = format!("local batch {workers}x{threads}");
        let measured = bench.local_batch(workers, threads, &label)?;
        let how = format!(
            "`callscope transcribe --workers {workers} --threads {threads}`{}, SQLite workspace, \
             whole process",
            if workers == default_plan.workers && threads == default_plan.threads_per_worker {
                " (its default plan for this batch)"
            } else {
                ""
            }
        );
        rows.extend(bench.rows(&label, &measured, None, &how));
        baselines.push((workers, label, measured.wall_seconds));
    }
    let runs = postgres_counts
        .iter()
        .map(|&count| (count, Backend::Postgres))
        .chain(sqlite_counts.iter().map(|&count| (count, Backend::Sqlite)));
    for (workers, backend) in runs {
        let threads = threads_for(cores, workers);
        let label = format!(
            "queue {workers} worker{} x {threads} thread{}, {}",
            plural(workers),
            plural(threads),
            backend.label()
        );
        let measured = match backend {
            Backend::Postgres => {
                let schema = TestSchema::create_at(&options.store, "bench_workers")?;
                bench.queue(workers, threads, &schema.url(), &label)?
            }
            Backend::Sqlite => {
                let folder = bench.fresh_folder("sqlite-store")?;
                let file = folder.join("shared.db");
                bench.queue(workers, threads, &file.to_string_lossy(), &label)?
            }
        };
        let baseline = baselines
            .iter()
            .find(|(count, _, _)| *count == workers)
            .map(|(_, label, wall)| (label.as_str(), *wall));
        let how = format!(
            "`callscope worker --threads {threads}` x {workers}, {} store; from `callscope \
             submit` to the last call stored",
            backend.label()
        );
        rows.extend(bench.rows(&label, &measured, baseline, &how));
    }
    Ok(rows)
}

/// The counts asked for, without zeros and repeats, in order.
fn worker_counts(counts: &[usize]) -> Vec<usize> {
    let set: BTreeSet<usize> = counts.iter().copied().filter(|&count| count > 0).collect();
    set.into_iter().collect()
}

/// Whisper threads per worker when `workers` share `cores`.
fn threads_for(cores: usize, workers: usize) -> usize {
    (cores / workers.max(1)).max(1)
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// The `callscope` binary: `CALLSCOPE_BIN`, else next to this one.
fn callscope_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CALLSCOPE_BIN").filter(|path| !path.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe().map_err(|error| Error::io("callscope-bench", error))?;
    let path = me
        .parent()
        .map(|dir| dir.join(format!("callscope{}", std::env::consts::EXE_SUFFIX)))
        .filter(|path| path.is_file())
        .ok_or_else(|| {
            Error::Usage(format!(
                "no callscope binary next to {}: build it (cargo build --release -p callscope) \
                 or set CALLSCOPE_BIN",
                me.display()
            ))
        })?;
    Ok(path)
}

/// The model: `--model`, else models/ggml-base-q8_0.bin in the working
/// directory or the source tree.
fn model_file(model: Option<&Path>) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = match model {
        Some(model) => vec![model.to_path_buf()],
        None => vec![
            Path::new("models").join(callscope_asr::DEFAULT_MODEL_FILE),
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
                .join(callscope_asr::DEFAULT_MODEL_FILE),
        ],
    };
    let found = candidates
        .iter()
        .find(|path| path.is_file())
        .ok_or_else(|| {
            Error::Model(format!(
                "{} is missing: run `callscope model fetch` or pass --model",
                candidates[0].display()
            ))
        })?;
    std::path::absolute(found).map_err(|error| Error::io(found, error))
}

/// Composes `calls` stereo recordings into `dir` as `B000.wav`, ...: the
/// stereo batch's recipe (the same files every run). Their lengths, s.
fn compose_batch(shared: &Path, dir: &Path, calls: usize) -> Result<Vec<f64>> {
    std::fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
    let corpus = Corpus::load(shared)?;
    let (agents, customers) = corpus.call_voices();
    (0..calls)
        .map(|index| {
            let call = super::asr_batch::batch_call(&agents, &customers, index);
            call.write(&dir.join(format!("B{index:03}.wav")), Encoding::Mulaw8k)?;
            Ok(call.duration())
        })
        .collect()
}

/// What every run shares.
struct Bench {
    binary: PathBuf,
    model: PathBuf,
    recordings: PathBuf,
    scratch: PathBuf,
    jobs: usize,
    audio_seconds: f64,
    nats: String,
    output: Output,
}

impl Bench {
    /// A `callscope` command on workspace `data`, with nothing of this
    /// environment's workspace, store or queue.
    fn callscope(&self, data: &Path) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg("--data")
            .arg(data)
            .env_remove("CALLSCOPE_DATA")
            .env_remove("CALLSCOPE_STORE")
            .env_remove("CALLSCOPE_NATS")
            .stdin(Stdio::null());
        command
    }

    /// A new empty folder under the scratch folder.
    fn fresh_folder(&self, label: &str) -> Result<PathBuf> {
        let folder = tempfile::Builder::new()
            .prefix(&format!("{label}-"))
            .tempdir_in(&self.scratch)
            .map_err(|error| Error::io(&self.scratch, error))?;
        Ok(folder.keep())
    }

    /// The longest a run may take before it counts as stuck.
    fn run_limit(&self) -> Duration {
        Duration::from_secs_f64(300.0 + 3.0 * self.audio_seconds)
    }

    /// `callscope transcribe` of the recordings into a fresh workspace.
    fn local_batch(&self, workers: usize, threads: usize, label: &str) -> Result<Measured> {
        let data = self.fresh_folder("batch")?;
        let mut command = self.callscope(&data);
        command
            .args(["--quiet", "transcribe"])
            .arg(&self.recordings)
            .args(["--workers", &workers.to_string()])
            .args(["--threads", &threads.to_string()])
            .arg("--model")
            .arg(&self.model);
        let bar = self.output.progress(0, "s");
        bar.set_message(label.to_string());
        let (sender, receiver) = mpsc::channel();
        let mut processes = Processes::default();
        let started = Instant::now();
        processes.spawn(label, command, &sender)?;
        drop(sender);
        let limit = self.run_limit();
        let status = loop {
            processes.drain(&receiver);
            processes.sample_memory();
            if let Some(status) = processes.children[0]
                .try_wait()
                .map_err(|error| Error::io(&self.binary, error))?
            {
                break status;
            }
            if started.elapsed() > limit {
                return Err(processes.failure(&format!("{label}: not done after {limit:?}")));
            }
            bar.set_position(started.elapsed().as_secs());
            std::thread::sleep(POLL);
        };
        let wall_seconds = started.elapsed().as_secs_f64();
        bar.finish_and_clear();
        processes.drain(&receiver);
        if !status.success() {
            return Err(processes.failure(&format!(
                "{label}: callscope transcribe exited with {status}"
            )));
        }
        self.check_stored(label, &data, None)?;
        Ok(Measured {
            wall_seconds,
            peak_rss_mib: processes.peak_rss_mib(),
            startup_seconds: None,
        })
    }

    /// `workers` workers on a fresh queue writing to `store`, then the
    /// recordings submitted.
    fn queue(&self, workers: usize, threads: usize, store: &str, label: &str) -> Result<Measured> {
        let data = self.fresh_folder("queue")?;
        let queue = queue_name();
        // Dropped last: the workers are stopped before the streams go.
        let _streams = Streams {
            nats: self.nats.clone(),
            names: QueueNames::new(&queue)?,
        };
        let (sender, receiver) = mpsc::channel();
        let mut processes = Processes::default();
        let spawned = Instant::now();
        for index in 0..workers {
            let mut command = self.callscope(&data);
            command
                .args(["--store", store, "worker", "--nats", &self.nats])
                .args(["--queue", &queue, "--name", &format!("bench-{index}")])
                .args(["--threads", &threads.to_string()])
                .arg("--model")
                .arg(&self.model);
            processes.spawn(&format!("worker bench-{index}"), command, &sender)?;
        }
        drop(sender);

        // Every worker has loaded the model and joined the consumer.
        let mut ready = vec![false; workers];
        while ready.iter().any(|ready| !ready) {
            for line in processes.wait_lines(&receiver)? {
                if line.text.contains(": waiting for jobs") {
                    ready[line.from] = true;
                }
            }
            if spawned.elapsed() > STARTUP_LIMIT {
                return Err(processes.failure(&format!(
                    "{label}: workers not ready after {STARTUP_LIMIT:?}"
                )));
            }
        }
        let startup_seconds = spawned.elapsed().as_secs_f64();

        let bar = self.output.progress(self.jobs as u64, "calls stored");
        bar.set_message(label.to_string());
        let started = Instant::now();
        let (submitted, printed) = self.json_count(
            self.callscope(&data)
                .args(["--json", "submit"])
                .arg(&self.recordings)
                .args(["--nats", &self.nats, "--queue", &queue]),
            "submitted",
        )?;
        if submitted != Some(self.jobs as u64) {
            return Err(Error::Queue(format!(
                "{label}: callscope submit submitted {submitted:?} of {} jobs: {printed}",
                self.jobs
            )));
        }

        let limit = self.run_limit();
        let mut stored = HashSet::new();
        let mut dead = Vec::new();
        let mut last_stored = started;
        while stored.len() + dead.len() < self.jobs {
            for line in processes.wait_lines(&receiver)? {
                if let Some(call) = stored_call(&line.text) {
                    if stored.insert(call.to_string()) {
                        last_stored = line.at;
                        bar.set_position(stored.len() as u64);
                    }
                } else if line.text.contains(": dead-lettered") {
                    dead.push(line.text.clone());
                }
            }
            if started.elapsed() > limit {
                return Err(processes.failure(&format!(
                    "{label}: {} of {} calls stored after {limit:?}",
                    stored.len(),
                    self.jobs
                )));
            }
        }
        bar.finish_and_clear();
        let wall_seconds = last_stored.duration_since(started).as_secs_f64();
        processes.sample_memory();
        processes.stop()?;
        processes.drain(&receiver);
        if !dead.is_empty() {
            return Err(Error::Queue(format!(
                "{label}: {} jobs dead-lettered: {}",
                dead.len(),
                dead.join("; ")
            )));
        }
        self.check_stored(label, &data, Some(store))?;
        Ok(Measured {
            wall_seconds,
            peak_rss_mib: processes.peak_rss_mib(),
            startup_seconds: Some(startup_seconds),
        })
    }

    /// Fails unless the store holds exactly the recordings' calls.
    fn check_stored(&self, label: &str, data: &Path, store: Option<&str>) -> Result<()> {
        let mut command = self.callscope(data);
        if let Some(store) = store {
            command.args(["--store", store]);
        }
        let (calls, printed) = self.json_count(command.args(["--json", "stats"]), "calls")?;
        if calls != Some(self.jobs as u64) {
            return Err(Error::Store(format!(
                "{label}: the store holds {calls:?} calls, expected {}: {printed}",
                self.jobs
            )));
        }
        Ok(())
    }

    /// Runs a `callscope --json` command: the number in `field` of its last
    /// JSON line (`None` when it failed or printed none), and its exit
    /// status and output for an error message.
    fn json_count(&self, command: &mut Command, field: &str) -> Result<(Option<u64>, String)> {
        let output = command
            .output()
            .map_err(|error| Error::io(&self.binary, error))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let count = last_json(&stdout)
            .and_then(|json| json[field].as_u64())
            .filter(|_| output.status.success());
        let printed = format!(
            "{}: {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok((count, printed))
    }

    /// The rows of one run; `baseline` is the local batch at the same
    /// plan (its label and wall seconds).
    fn rows(
        &self,
        label: &str,
        measured: &Measured,
        baseline: Option<(&str, f64)>,
        how: &str,
    ) -> Vec<Row> {
        let wall = measured.wall_seconds.max(1e-9);
        let audio_hours = self.audio_seconds / 3600.0;
        let mut rows = vec![
            Row::new(
                label,
                self.jobs as f64 / wall,
                "jobs/s",
                format!(
                    "{} jobs, {audio_hours:.3} audio h, {wall:.1} s wall; {how}",
                    self.jobs
                ),
            ),
            Row::new(
                format!("{label}: audio"),
                audio_hours / (wall / 3600.0),
                "audio h/h",
                format!(
                    "audio hours transcribed per wall-clock hour (real-time factor {:.3})",
                    wall / self.audio_seconds.max(1e-9)
                ),
            ),
        ];
        if let Some((baseline_label, baseline_wall)) = baseline {
            rows.push(Row::new(
                format!("{label}: overhead per call"),
                (wall - baseline_wall) / self.jobs as f64 * 1000.0,
                "ms",
                format!(
                    "(wall - {baseline_label} wall {baseline_wall:.1} s) / jobs; the batch's \
                     wall includes loading the model once"
                ),
            ));
        }
        if let Some(startup) = measured.startup_seconds {
            rows.push(Row::new(
                format!("{label}: startup"),
                startup,
                "s",
                "spawning the workers until all wait for jobs (process, model, queue); not in \
                 the wall time",
            ));
        }
        rows.push(Row::new(
            format!("{label}: peak memory"),
            measured.peak_rss_mib,
            "MiB",
            "largest VmHWM of one process",
        ));
        rows
    }
}

/// A queue name no other run uses.
fn queue_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    format!("bench_workers_{}_{nanos}", std::process::id())
}

/// The call a worker's log line says it stored: `worker NAME: call ID:
/// done (...)` or `...: already stored, skipped`.
fn stored_call(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once(": call ")?;
    let (call, what) = rest.split_once(": ")?;
    (what.starts_with("done (") || what.starts_with("already stored")).then_some(call)
}

/// The last line of `stdout` that is a JSON object.
fn last_json(stdout: &str) -> Option<serde_json::Value> {
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<serde_json::Value>(line.trim()).ok())
        .filter(serde_json::Value::is_object)
}

/// A line a child printed (stdout or stderr), when it was read.
struct Line {
    /// The child's index in [`Processes`].
    from: usize,
    text: String,
    at: Instant,
}

/// Child processes whose output arrives, line by line, on one channel.
/// Dropping it stops those still running (SIGTERM, then SIGKILL).
#[derive(Default)]
struct Processes {
    names: Vec<String>,
    children: Vec<Child>,
    /// The last lines of each, for error messages.
    tails: Vec<Vec<String>>,
    /// Each one's peak resident memory so far, MiB.
    peaks: Vec<f64>,
}

impl Processes {
    /// Starts `command` with its output piped to `sender`.
    fn spawn(&mut self, name: &str, mut command: Command, sender: &Sender<Line>) -> Result<()> {
        let from = self.children.len();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| Error::io(command.get_program(), error))?;
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
        ];
        for pipe in pipes.into_iter().flatten() {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for text in BufReader::new(pipe).lines().map_while(std::io::Result::ok) {
                    let line = Line {
                        from,
                        text,
                        at: Instant::now(),
                    };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        self.names.push(name.to_string());
        self.children.push(child);
        self.tails.push(Vec::new());
        self.peaks.push(0.0);
        Ok(())
    }

    /// Keeps `line` in its process's tail.
    fn keep(&mut self, line: &Line) {
        let tail = &mut self.tails[line.from];
        if tail.len() == 20 {
            tail.remove(0);
        }
        tail.push(line.text.clone());
    }

    /// The lines that arrived, without waiting.
    fn drain(&mut self, receiver: &Receiver<Line>) -> Vec<Line> {
        let lines: Vec<Line> = receiver.try_iter().collect();
        for line in &lines {
            self.keep(line);
        }
        lines
    }

    /// Waits a little for lines; fails when a child has exited (these
    /// run until stopped).
    fn wait_lines(&mut self, receiver: &Receiver<Line>) -> Result<Vec<Line>> {
        let mut lines = Vec::new();
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                self.keep(&line);
                lines.push(line);
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
        lines.extend(self.drain(receiver));
        self.sample_memory();
        for index in 0..self.children.len() {
            if let Ok(Some(status)) = self.children[index].try_wait() {
                self.drain(receiver);
                return Err(self.failure(&format!("{} exited with {status}", self.names[index])));
            }
        }
        Ok(lines)
    }

    /// Reads each running child's peak resident memory.
    fn sample_memory(&mut self) {
        for (child, peak) in self.children.iter().zip(&mut self.peaks) {
            if let Some(mib) = peak_rss_of(child.id()) {
                *peak = peak.max(mib);
            }
        }
    }

    /// The largest peak of one process, MiB.
    fn peak_rss_mib(&self) -> f64 {
        self.peaks.iter().copied().fold(0.0, f64::max)
    }

    /// An error that says what the processes printed last.
    fn failure(&self, what: &str) -> Error {
        let mut message = what.to_string();
        for (name, tail) in self.names.iter().zip(&self.tails) {
            if !tail.is_empty() {
                message.push_str(&format!("\n--- {name}:\n{}", tail.join("\n")));
            }
        }
        Error::Queue(message)
    }

    /// SIGTERM to every child still running, then waits for all of them
    /// (a worker finishes the job it holds first); fails when one did not
    /// exit 0 within a minute.
    fn stop(&mut self) -> Result<()> {
        for child in &mut self.children {
            if matches!(child.try_wait(), Ok(None)) {
                terminate(child.id());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for index in 0..self.children.len() {
            loop {
                match self.children[index].try_wait() {
                    Ok(Some(status)) if status.success() => break,
                    Ok(Some(status)) => {
                        return Err(self.failure(&format!(
                            "{} exited with {status} on SIGTERM",
                            self.names[index]
                        )))
                    }
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                    Ok(None) => {
                        return Err(self.failure(&format!(
                            "{} did not stop within a minute of SIGTERM",
                            self.names[index]
                        )))
                    }
                    Err(error) => return Err(Error::io(&self.names[index], error)),
                }
            }
        }
        Ok(())
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        let running: Vec<usize> = (0..self.children.len())
            .filter(|&index| matches!(self.children[index].try_wait(), Ok(None)))
            .collect();
        for &index in &running {
            terminate(self.children[index].id());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for index in running {
            let child = &mut self.children[index];
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Sends SIGTERM to process `pid` (through `kill`: no libc here).
fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Peak resident memory of process `pid`, MiB (Linux: VmHWM).
fn peak_rss_of(pid: u32) -> Option<f64> {
    super::vm_hwm_mib(&format!("/proc/{pid}/status"))
}

/// A queue's streams, deleted when dropped.
struct Streams {
    nats: String,
    names: QueueNames,
}

impl Drop for Streams {
    fn drop(&mut self) {
        if let Err(error) = delete_streams(&self.nats, &self.names) {
            eprintln!("warning: {error}");
        }
    }
}

/// Deletes the queue's jobs, dead-letter and progress streams (those that
/// exist).
fn delete_streams(nats: &str, names: &QueueNames) -> Result<()> {
    use async_nats::jetstream::context::DeleteStreamErrorKind;
    use async_nats::jetstream::ErrorCode;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::io("tokio runtime", error))?;
    runtime.block_on(async {
        let client = async_nats::connect(nats)
            .await
            .map_err(|error| Error::Queue(format!("cannot delete the bench's streams: {error}")))?;
        let jetstream = async_nats::jetstream::new(client);
        for stream in [
            &names.jobs_stream,
            &names.dead_stream,
            &names.progress_stream,
        ] {
            match jetstream.delete_stream(stream).await {
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        DeleteStreamErrorKind::JetStream(ref inner)
                            if inner.error_code() == ErrorCode::STREAM_NOT_FOUND
                    ) => {}
                Err(error) => {
                    return Err(Error::Queue(format!(
                        "cannot delete stream {stream}: {error}"
                    )))
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_calls_are_read_from_the_worker_log() {
        assert_eq!(
            stored_call("worker bench-0: call B007: done (61.2 s of audio in 5.3 s)"),
            Some("B007")
        );
        assert_eq!(
            stored_call("worker bench-1: call B003: already stored, skipped"),
            Some("B003")
        );
        assert_eq!(
            stored_call("worker bench-0: call B001: started (delivery 1)"),
            None
        );
        assert_eq!(stored_call("worker bench-0: waiting for jobs"), None);
    }

    #[test]
    fn threads_share_the_cores() {
        assert_eq!(threads_for(2, 1), 2);
        assert_eq!(threads_for(2, 2), 1);
        assert_eq!(threads_for(2, 3), 1);
        assert_eq!(worker_counts(&[2, 0, 1, 2]), vec![1, 2]);
    }
}
