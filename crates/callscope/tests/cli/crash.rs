//! The crash harness: each command that writes the workspace is killed
//! with SIGKILL at 20 random moments of its run; after each kill the same
//! command runs again to the end, and the workspace must hold every call
//! exactly once, QA results computed from the calls as they are now, no
//! clear personal data anywhere (`redact --check`, which covers the index),
//! and an index in step with the store.
//!
//! The moments are drawn from a fixed seed over the command's measured
//! uninterrupted run time (a little past it, so some kills land after the
//! end), so a failure can be replayed.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::util::{repo, TestCommand};
use callscope_core::model::Call;
use callscope_qa::{Scorecard, Scorer};
use callscope_redact::Redactor;
use callscope_store::workspace::Workspace;
use callscope_store::{CallFilter, Store};

/// Kills per command.
const MOMENTS: usize = 20;

/// Synthetic calls with planted personal data.
const CALLS: u64 = 800;

fn scorecard() -> String {
    repo()
        .join("corpora/scorecards/after_sales.toml")
        .display()
        .to_string()
}

/// Writes the planted corpus as transcript JSONL; returns its path and ids.
fn corpus(test: &TestCommand) -> (String, BTreeSet<String>) {
    let (calls, _) = callscope_testkit::synth::planted_corpus(CALLS, 3);
    let mut text = String::new();
    for call in &calls {
        text.push_str(&serde_json::to_string(call).unwrap());
        text.push('\n');
    }
    let ids = calls.iter().map(|call| call.call_id.clone()).collect();
    let path = test.write("calls.jsonl", text);
    (path.display().to_string(), ids)
}

/// How long `args` takes when nothing stops it.
fn timed(test: &TestCommand, args: &[&str]) -> Duration {
    let started = Instant::now();
    test.expect(args, 0);
    started.elapsed()
}

/// Starts `args` and kills it with SIGKILL after `after` (if it is still
/// running then).
fn kill_after(test: &TestCommand, args: &[&str], after: Duration) {
    let mut child = test.command(args).spawn().unwrap();
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Kill sends SIGKILL on Unix; the process gets no chance to clean up.
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills `args` at [`MOMENTS`] random moments; after each kill, `recover`
/// runs and then the invariants are checked. `prepare` runs before each
/// kill (to give the command work to do again).
pub(crate) fn at_random_moments(
    test: &TestCommand,
    args: &[&str],
    seed: u64,
    mut prepare: impl FnMut(),
    mut recover: impl FnMut(),
    check: &dyn Fn(&str),
) {
    prepare();
    let full = timed(test, args);
    let mut random = SmallRng::seed_from_u64(seed);
    for moment in 0..MOMENTS {
        prepare();
        let after = full.mul_f64(random.random_range(0.0..1.2));
        kill_after(test, args, after);
        recover();
        check(&format!(
            "{args:?} killed after {after:?} (moment {moment})"
        ));
    }
}

/// Every invariant of a workspace after recovery.
pub(crate) fn check_workspace(
    test: &TestCommand,
    ids: &BTreeSet<String>,
    scored: bool,
    context: &str,
) {
    let store = Store::open(&test.data().join("callscope.db")).unwrap();
    let mut stored = BTreeSet::new();
    let mut duplicates = 0;
    store
        .for_each_call(&CallFilter::default(), |call| {
            duplicates += usize::from(!stored.insert(call.call_id.clone()));
            Ok(())
        })
        .unwrap();
    assert_eq!(duplicates, 0, "{context}: a call stored twice");
    assert_eq!(&stored, ids, "{context}: calls lost or added");
    if scored {
        check_results(test, &store, context);
    }
    let audit = test.run(&["redact", "--check"]);
    assert_eq!(
        audit.code, 0,
        "{context}: clear personal data\n{}",
        audit.stdout
    );
    let index = test.expect(&["index", "--json"], 0);
    let report = &index.json_lines()[0];
    assert_eq!(
        report["indexed"], 0,
        "{context}: the index lagged: {report}"
    );
    assert_eq!(
        report["documents"],
        ids.len(),
        "{context}: the index does not hold every call once: {report}"
    );
}

/// Every call's stored QA results are what scoring the call as it is now
/// gives (masked as stored).
fn check_results(test: &TestCommand, store: &Store, context: &str) {
    let workspace = Workspace::new(test.data());
    let redactor = Redactor::from_workspace(&workspace).unwrap();
    let scorer = Scorer::new(vec![Scorecard::load(Path::new(&scorecard())).unwrap()]);
    store
        .for_each_call(&CallFilter::default(), |call: Call| {
            let sealed = store.sealed_original(&call.call_id)?;
            let spans = store.redacted_spans(&call.call_id)?;
            let view = redactor.scoring_view(&call, sealed.as_ref(), &spans)?;
            let expected: Vec<_> = scorer
                .score_view(&view)
                .iter()
                .map(|result| redactor.mask_qa_result(result))
                .collect();
            let stored = store.qa_results_of(&call.call_id)?;
            assert_eq!(
                stored, expected,
                "{context}: call {}'s QA results are not its own",
                call.call_id
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn import_killed_at_random_moments_loses_and_duplicates_nothing() {
    let test = TestCommand::new();
    let (file, ids) = corpus(&test);
    let check = |context: &str| check_workspace(&test, &ids, false, context);
    at_random_moments(
        &test,
        &["import", &file],
        11,
        || {},
        || {
            test.expect(&["import", &file], 0);
        },
        &check,
    );
}

#[test]
fn qa_and_index_killed_at_random_moments_keep_results_and_index_true() {
    let test = TestCommand::new();
    let (file, ids) = corpus(&test);
    test.expect(&["import", &file], 0);
    let card = scorecard();
    let check = |context: &str| check_workspace(&test, &ids, true, context);
    at_random_moments(
        &test,
        &["qa", "--scorecard", &card],
        12,
        || {},
        || {
            test.expect(&["qa", "--scorecard", &card], 0);
        },
        &check,
    );
    at_random_moments(
        &test,
        &["index", "--rebuild"],
        13,
        || {},
        || {
            test.expect(&["index"], 0);
        },
        &check,
    );
}

#[test]
fn redact_apply_killed_at_random_moments_masks_everything_once() {
    let test = TestCommand::new();
    let (file, ids) = corpus(&test);
    let config = test.data().join("callscope.toml");
    std::fs::create_dir_all(test.data()).unwrap();
    // Each round stores the calls in clear (redaction off), then turns the
    // policy on and masks them in place.
    let store_in_clear = || {
        std::fs::write(&config, "[redaction]\nenabled = false\n").unwrap();
        test.expect(&["import", &file], 0);
        std::fs::write(&config, "[redaction]\nenabled = true\n").unwrap();
    };
    let check = |context: &str| check_workspace(&test, &ids, false, context);
    at_random_moments(
        &test,
        &["redact", "--apply"],
        14,
        store_in_clear,
        || {
            test.expect(&["redact", "--apply"], 0);
        },
        &check,
    );
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `megabytes` at `path`; `None` where mounting is not
    /// allowed (not root), which the test reports as skipped.
    fn mount(path: &Path, megabytes: u64) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

fn folder_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => folder_bytes(&entry.path()),
                    _ => entry.metadata().map(|meta| meta.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_import_resumes_once_space_is_freed() {
    let test = TestCommand::new();
    let (file, ids) = corpus(&test);
    // How much room the workspace needs, measured on an ordinary disk.
    let measure = TestCommand::new();
    measure.expect(&["import", &file], 0);
    let needed = folder_bytes(&measure.data());
    let megabytes = needed / (1 << 20) + 8;
    let Some(disk) = SmallDisk::mount(&test.dir().join("small"), megabytes) else {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    };
    // A filler leaves room for about half of the workspace.
    let filler = disk.path.join("filler");
    let free = megabytes * (1 << 20) - needed / 2;
    std::fs::write(&filler, vec![0u8; free as usize]).unwrap();
    let data = disk.path.join("data");
    let full = test.run_at(&data, &["import", &file]);
    assert_eq!(
        full.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        full.stdout, full.stderr
    );
    assert!(
        full.stderr.contains("full") && full.stderr.contains("free some space"),
        "the error says what happened and what to do: {}",
        full.stderr
    );
    // Nothing is corrupt: the workspace opens and holds whole calls.
    let store = Store::open(&data.join("callscope.db")).unwrap();
    let kept = store.count_calls(&CallFilter::default()).unwrap();
    assert!(kept < ids.len() as u64);
    drop(store);
    std::fs::remove_file(&filler).unwrap();
    let again = test.run_at(&data, &["import", &file]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let store = Store::open(&data.join("callscope.db")).unwrap();
    assert_eq!(
        store.count_calls(&CallFilter::default()).unwrap(),
        ids.len() as u64
    );
    let index = test.run_at(&data, &["index", "--json"]);
    assert_eq!(index.json_lines()[0]["documents"], ids.len());
    assert_eq!(test.run_at(&data, &["redact", "--check"]).code, 0);
}

#[test]
fn forget_killed_at_random_moments_leaves_each_call_wholly_there_or_gone() {
    let test = TestCommand::new();
    let (file, ids) = corpus(&test);
    // Every fourth call is to be forgotten; each round imports them back.
    let doomed: Vec<String> = ids.iter().step_by(4).cloned().collect();
    let kept: BTreeSet<String> = ids
        .iter()
        .filter(|id| !doomed.contains(id))
        .cloned()
        .collect();
    let mut args = vec!["forget".to_string()];
    for id in &doomed {
        args.push("--call".to_string());
        args.push(id.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let check = |context: &str| check_workspace(&test, &kept, false, context);
    at_random_moments(
        &test,
        &args,
        15,
        || {
            test.expect(&["import", &file], 0);
        },
        || {
            // Forgetting calls already gone names them and exits 1.
            let run = test.run(&args);
            assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        },
        &check,
    );
}
