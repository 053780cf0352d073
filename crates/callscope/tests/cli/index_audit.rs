//! The search index is a place personal data can linger: `redact --check`
//! reads its terms, and `redact --apply` fails loudly (and can be run again)
//! when it cannot rebuild it.

use crate::util::TestCommand;

fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_audit_reads_the_index_and_apply_fails_loudly_when_it_cannot_rebuild_it() {
    let test = TestCommand::new();
    let calls = concat!(
        r#"{"call_id":"P1","segments":[{"start":0,"end":3,"role":"customer","text":"我的手机号是13812345678，卡号6222600260001072444。"}]}"#,
        "\n",
        r#"{"call_id":"P2","segments":[{"start":0,"end":3,"role":"agent","text":"您好，请问有什么可以帮您？"}]}"#,
        "\n"
    );
    let file = test.write("calls.jsonl", calls);
    let file = file.to_str().unwrap();
    let config = test.data().join("callscope.toml");
    std::fs::create_dir_all(test.data()).unwrap();
    // Stored and indexed in clear (redaction off), then the policy is on.
    std::fs::write(&config, "[redaction]\nenabled = false\n").unwrap();
    test.expect(&["import", file], 0);
    std::fs::write(&config, "[redaction]\nenabled = true\n").unwrap();
    let clear_index = test.dir().join("clear-index");
    copy_folder(&test.data().join("index"), &clear_index);

    // The index cannot be rebuilt (a file stands where it should be): the
    // store is masked, and the command says the index is not.
    std::fs::remove_dir_all(test.data().join("index")).unwrap();
    std::fs::write(test.data().join("index"), "not an index").unwrap();
    let failed = test.run(&["redact", "--apply"]);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("still holds the text")
            && failed.stderr.contains("redact --apply` again"),
        "{}",
        failed.stderr
    );
    assert!(!failed.stderr.contains("13812345678"));

    // The old index back in place: the store is clean, the audit still
    // finds the index's clear numbers, masked in what it prints.
    std::fs::remove_file(test.data().join("index")).unwrap();
    copy_folder(&clear_index, &test.data().join("index"));
    let audit = test.run(&["redact", "--check"]);
    assert_eq!(audit.code, 1, "{}", audit.stdout);
    assert!(audit.stdout.contains("index"), "{}", audit.stdout);
    assert!(audit.stdout.contains("138****5678"), "{}", audit.stdout);
    assert!(!audit.stdout.contains("13812345678"));

    // Running apply again finishes the job.
    test.expect(&["redact", "--apply"], 0);
    test.expect(&["redact", "--check"], 0);
}
