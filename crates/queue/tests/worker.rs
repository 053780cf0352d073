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

/// A job whose earlier deliveries all ended without an answer (the
/// workers holding it were killed: a recording that crashes the process)
/// is dead-lettered by the next worker without being run again.
#[test]
fn a_job_that_killed_its_workers_is_dead_lettered_without_running() {
    let Some(nats) = nats() else {
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let names = QueueNames::new(&format!("q_poison_{nanos}")).unwrap();
    callscope_queue::submit(&nats, &names, vec![entry("POISON")]).unwrap();
    // Three deliveries that nobody answers, as workers dying would leave
    // them (the consumer made here as a worker makes it, with a 1 s lease).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for delivery in 1..=3 {
        // Each time a worker of its own, gone without an answer.
        runtime.block_on(async {
            use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
            use futures_util::StreamExt;
            let client = async_nats::connect(&nats).await.unwrap();
            let jetstream = async_nats::jetstream::new(client.clone());
            let stream = jetstream.get_stream(&names.jobs_stream).await.unwrap();
            let consumer: PullConsumer = stream
                .get_or_create_consumer(
                    &names.consumer,
                    pull::Config {
                        durable_name: Some(names.consumer.clone()),
                        ack_policy: AckPolicy::Explicit,
                        ack_wait: Duration::from_secs(1),
                        max_deliver: -1,
                        ..pull::Config::default()
                    },
                )
                .await
                .unwrap();
            let mut batch = consumer
                .fetch()
                .max_messages(1)
                .expires(Duration::from_secs(5))
                .messages()
                .await
                .unwrap();
            let message = batch.next().await.unwrap().unwrap();
            assert_eq!(message.info().unwrap().delivered, delivery);
            // No ack: the lease runs out and the job comes back.
            drop(batch);
            client.drain().await.unwrap();
        });
        std::thread::sleep(Duration::from_millis(1200));
    }
    drop(runtime);
    let attempts = Arc::new(Mutex::new(HashMap::new()));
    let options = WorkerOptions {
        nats_url: nats.clone(),
        names: names.clone(),
        name: "next".to_string(),
        ack_wait: Duration::from_secs(1),
        max_deliveries: 3,
        retry_delay: Duration::from_millis(200),
        exit_when_idle: Some(Duration::from_secs(2)),
        log: Arc::new(|line: &str| eprintln!("{line}")),
    };
    let handler = StandIn {
        attempts: attempts.clone(),
    };
    let report = callscope_queue::run_worker(options, Box::new(handler)).unwrap();
    assert_eq!(
        (report.jobs_done, report.dead_lettered),
        (0, 1),
        "{report:?}"
    );
    assert!(attempts.lock().unwrap().is_empty(), "the job was run again");
    let letters = callscope_queue::failed(&nats, &names).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].deliveries, 4);
    assert!(
        letters[0].reason.contains("delivered 4 times"),
        "{}",
        letters[0].reason
    );
    assert_eq!(callscope_queue::status(&nats, &names).unwrap().queued, 0);
}
