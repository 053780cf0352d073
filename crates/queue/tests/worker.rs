//! The worker loop against a real NATS server (`CALLSCOPE_TEST_NATS_URL`,
//! started by `scripts/services.sh`; skipped without it outside CI) with a
//! stand-in handler, so that retries, dead letters and progress are tested
//! without a model.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscope_core::model::AudioEntry;
use callscope_queue::{Job, JobDone, JobFailure, JobHandler, QueueNames, WorkerOptions};

fn nats() -> Option<String> {
    match std::env::var("CALLSCOPE_TEST_NATS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) => {
            panic!("CALLSCOPE_TEST_NATS_URL is not set under CI: scripts/services.sh starts NATS")
        }
        _ => {
            eprintln!("skipped: eval \"$(scripts/services.sh)\" to run the queue tests");
            None
        }
    }
}

fn entry(call_id: &str) -> AudioEntry {
    AudioEntry {
        path: format!("/recordings/{call_id}.wav").into(),
        call_id: call_id.to_string(),
        started_at: None,
        agent_id: None,
        team: None,
        queue: None,
        channels: None,
        meta: Default::default(),
    }
}

/// Succeeds, fails or panics by call id; counts the attempts.
struct StandIn {
    attempts: Arc<Mutex<HashMap<String, u32>>>,
}

impl JobHandler for StandIn {
    fn process(&mut self, job: &Job) -> Result<JobDone, JobFailure> {
        let call_id = job.entry.call_id.as_str();
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let count = attempts.entry(call_id.to_string()).or_default();
            *count += 1;
            *count
        };
        let transient = |reason: &str| JobFailure {
            reason: reason.to_string(),
            permanent: false,
        };
        match call_id {
            "FLAKY" if attempt == 1 => Err(transient("the store was restarting")),
            "PERMANENT" => Err(JobFailure {
                reason: "corrupt recording".to_string(),
                permanent: true,
            }),
            "ALWAYS" => Err(transient("the mount is gone")),
            "PANICS" => panic!("a bug"),
            _ => Ok(JobDone {
                audio_seconds: 60.0,
                skipped: false,
            }),
        }
    }
}

#[test]
fn failures_are_retried_then_dead_lettered_and_progress_is_reported() {
    let Some(nats) = nats() else {
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let names = QueueNames::new(&format!("q_retries_{nanos}")).unwrap();
    let calls = ["OK", "FLAKY", "PERMANENT", "ALWAYS", "PANICS"];
    let report =
        callscope_queue::submit(&nats, &names, calls.iter().map(|id| entry(id)).collect()).unwrap();
    assert_eq!(
        (report.submitted, report.duplicates, report.queued),
        (5, 0, 5)
    );
    let again = callscope_queue::submit(&nats, &names, vec![entry("OK")]).unwrap();
    assert_eq!((again.submitted, again.duplicates), (0, 1));

    let attempts = Arc::new(Mutex::new(HashMap::new()));
    let options = WorkerOptions {
        nats_url: nats.clone(),
        names: names.clone(),
        name: "stand-in".to_string(),
        ack_wait: Duration::from_secs(5),
        max_deliveries: 3,
        retry_delay: Duration::from_millis(200),
        exit_when_idle: Some(Duration::from_secs(3)),
        log: Arc::new(|line: &str| eprintln!("{line}")),
    };
    let handler = StandIn {
        attempts: attempts.clone(),
    };
    let report = callscope_queue::run_worker(options, Box::new(handler)).unwrap();
    assert_eq!(report.jobs_done, 2, "{report:?}");
    assert_eq!(report.dead_lettered, 3, "{report:?}");
    assert_eq!(report.retried, 1 + 2 + 2, "{report:?}");
    assert_eq!(report.audio_seconds, 120.0);
    assert!(!report.stopped_by_signal);
    let attempts = attempts.lock().unwrap().clone();
    let expected: HashMap<String, u32> = [
        ("OK", 1),
        ("FLAKY", 2),
        ("PERMANENT", 1),
        ("ALWAYS", 3),
        ("PANICS", 3),
    ]
    .into_iter()
    .map(|(id, count)| (id.to_string(), count))
    .collect();
    assert_eq!(attempts, expected);

    let letters = callscope_queue::failed(&nats, &names).unwrap();
    let dead: Vec<(Option<String>, i64)> = letters
        .iter()
        .map(|letter| (letter.call_id.clone(), letter.deliveries))
        .collect();
    assert_eq!(
        dead,
        [
            (Some("PERMANENT".to_string()), 1),
            (Some("ALWAYS".to_string()), 3),
            (Some("PANICS".to_string()), 3),
        ]
    );
    assert_eq!(letters[0].reason, "corrupt recording");
    assert_eq!(letters[0].job.as_ref().unwrap().entry, entry("PERMANENT"));

    let status = callscope_queue::status(&nats, &names).unwrap();
    assert_eq!(
        (status.queued, status.in_progress, status.dead),
        (0, 0, 3),
        "{status:?}"
    );
    assert_eq!(status.workers.len(), 1);
    let worker = &status.workers[0];
    assert_eq!(worker.worker, "stand-in");
    assert_eq!(worker.state, "stopped");
    assert_eq!(
        (worker.jobs_done, worker.dead_lettered, worker.failures),
        (2, 3, 8)
    );
    assert_eq!(worker.current, None);
}
