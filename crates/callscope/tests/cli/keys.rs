//! Seal keys: a sealed original that the current key does not open fails
//! that call alone; `callscope redact rekey` re-seals every original under a
//! new key, resumably; a key file other users can read is refused.

use std::path::{Path, PathBuf};

use crate::util::{repo, TestCommand};

fn expect_with(test: &TestCommand, args: &[&str], key: Option<&Path>, code: i32) -> String {
    let run = test.run_with_key(args, key);
    assert_eq!(
        run.code, code,
        "callscope {args:?}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run.stdout + &run.stderr
}

fn keygen(test: &TestCommand, name: &str) -> PathBuf {
    let key = test.dir().join(format!("keys/{name}.key"));
    expect_with(
        test,
        &["redact", "keygen", "--out", key.to_str().unwrap()],
        None,
        0,
    );
    key
}

/// The demo transcripts, imported with `key`: 12 calls, originals sealed.
fn sealed_workspace(test: &TestCommand, key: &Path) {
    let demo = repo().join("corpora/demo/transcripts.jsonl");
    expect_with(test, &["import", demo.to_str().unwrap()], Some(key), 0);
}

fn qa_json(test: &TestCommand, key: &Path, code: i32) -> (Vec<serde_json::Value>, String) {
    let card = repo().join("corpora/scorecards/after_sales.toml");
    let run = test.run_with_key(
        &["qa", "--json", "--scorecard", card.to_str().unwrap()],
        Some(key),
    );
    assert_eq!(run.code, code, "{}", run.stderr);
    (run.json_lines(), run.stderr)
}

#[test]
fn a_wrong_key_fails_each_sealed_call_alone_and_rekey_moves_them_to_a_new_key() {
    let test = TestCommand::new();
    let old = keygen(&test, "old");
    let new = keygen(&test, "new");
    sealed_workspace(&test, &old);
    let (with_old, _) = qa_json(&test, &old, 0);
    assert!(!with_old.is_empty());

    // The new key opens nothing yet: every sealed call fails on its own,
    // named, and qa still finishes (exit 1, not 2).
    let (scored, stderr) = qa_json(&test, &new, 1);
    let failures = stderr.matches("not scored").count();
    assert!(scored.len() <= with_old.len());
    assert!(failures >= 1, "{stderr}");
    assert!(stderr.contains("redact rekey"), "{stderr}");

    // Re-seal under the new key with the old one current.
    let rekey = ["redact", "rekey", "--new-key", new.to_str().unwrap()];
    let report = expect_with(&test, &rekey, Some(&old), 0);
    assert!(
        report.contains(&format!("re-sealed {failures} originals")),
        "{report}"
    );
    // Run again (as after an interruption): nothing left to do.
    let again = expect_with(&test, &rekey, Some(&old), 0);
    assert!(again.contains("re-sealed 0 originals"), "{again}");

    // Now the new key scores every call, with the same verdicts.
    let (with_new, _) = qa_json(&test, &new, 0);
    assert_eq!(with_new, with_old);
    let (_, stderr) = qa_json(&test, &old, 1);
    assert_eq!(stderr.matches("not scored").count(), failures);
}

#[cfg(unix)]
#[test]
fn a_key_file_other_users_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let test = TestCommand::new();
    let key = keygen(&test, "seal");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let demo = repo().join("corpora/demo/transcripts.jsonl");
    let message = expect_with(&test, &["import", demo.to_str().unwrap()], Some(&key), 2);
    assert!(message.contains("chmod 600"), "{message}");
    assert!(
        !test.data().join("callscope.db").exists()
            || expect_with(&test, &["stats", "--json"], None, 0).contains("\"calls\":0"),
        "nothing imported with a refused key"
    );
}
