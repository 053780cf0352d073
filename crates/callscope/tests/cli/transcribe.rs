//! `callscope transcribe` / `run` with the real Whisper model: opt-in with
//! `CALLSCOPE_MODEL_TESTS=1` after `callscope model fetch` (scripts/test.sh
//! does both). The model is the default one (`models/ggml-base-q8_0.bin`) or
//! `$CALLSCOPE_TEST_MODEL`; clips come from `../shared` or `$CALLSCOPE_SHARED`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use callscope_core::model::{Role, Segment};
use callscope_testkit::compose::{self, CallLayout, CallSpec, Clip, Encoding, Turn};

use crate::util::{repo, TestCommand};

/// whisper must not oversubscribe the cores: one model test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The model, with the lock held, when model tests are on.
fn setup() -> Option<(MutexGuard<'static, ()>, PathBuf)> {
    let model = model()?;
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    Some((guard, model))
}

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

fn shared() -> PathBuf {
    std::env::var_os("CALLSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"))
}

fn clip(id: &str) -> Clip {
    let shared = shared();
    let (folder, tsv) = if id.starts_with("BAC") {
        ("asr-dev", "asr-dev/transcripts.tsv")
    } else {
        ("callcenter-tts", "callcenter-tts/transcripts.tsv")
    };
    let texts = std::fs::read_to_string(shared.join(tsv)).unwrap();
    let text = texts
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{id}\t")))
        .unwrap()
        .to_string();
    Clip::load(
        &shared.join(folder).join("wav").join(format!("{id}.wav")),
        &text,
    )
    .unwrap()
}

/// `callscope transcribe INPUT --model MODEL --json`, expected to succeed.
fn transcribe_json(test: &TestCommand, input: &Path, model: &Path) -> crate::util::Run {
    test.expect(
        &[
            "transcribe",
            input.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--json",
        ],
        0,
    )
}

fn turn(role: Role, id: &str, gap: f64) -> Turn {
    Turn {
        role,
        clip: clip(id),
        gap,
    }
}

/// A stereo call of two real speakers (asr-dev S0150 as the agent on the
/// left, S0252 as the customer on the right) with a pause and an overlap.
fn two_speaker_call() -> compose::ComposedCall {
    compose::compose(&CallSpec {
        layout: CallLayout::AgentLeft,
        turns: vec![
            turn(Role::Agent, "BAC009S0150W0013", 0.0),
            turn(Role::Customer, "BAC009S0252W0026", 0.8),
            turn(Role::Agent, "BAC009S0150W0015", 6.0),
            turn(Role::Customer, "BAC009S0252W0030", -1.0),
        ],
        holds: Vec::new(),
        lead_in: 1.0,
        tail: 1.0,
        noise_db: Some(-55.0),
        seed: 3,
    })
}

#[test]
fn a_stereo_call_of_two_speakers_gets_roles_and_times_right() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let call = two_speaker_call();
    let folder = test.dir().join("audio");
    std::fs::create_dir_all(&folder).unwrap();
    call.write(&folder.join("T1.wav"), Encoding::Pcm16k)
        .unwrap();
    let run = transcribe_json(&test, &folder, &model);
    let transcript = &run.json_lines()[0];
    assert_eq!(transcript["call_id"], "T1");
    assert_eq!(
        transcript["asr_model"].as_str(),
        model.file_stem().and_then(|stem| stem.to_str())
    );
    assert_eq!(transcript["audio_sha256"].as_str().unwrap().len(), 64);
    let segments = transcript["segments"].as_array().unwrap();
    for placed in &call.truth {
        let role = match placed.role {
            Role::Agent => "agent",
            _ => "customer",
        };
        let found = segments.iter().find(|segment| {
            segment["role"] == role
                && (segment["start"].as_f64().unwrap() - placed.start).abs() <= 0.5
                && (segment["end"].as_f64().unwrap() - placed.end).abs() <= 0.5
        });
        assert!(
            found.is_some(),
            "no {role} segment within 0.5 s of {:.2}-{:.2}: {segments:#?}",
            placed.start,
            placed.end
        );
        // The line's words are where the line was said, not in the same
        // speaker's other line decoded in the same window: a line heard
        // there reads as another line's text (CER about 1 or more), while
        // base mishears these place names by up to ~0.7.
        let heard: String = segments
            .iter()
            .filter(|segment| {
                segment["role"] == role
                    && segment["start"].as_f64().unwrap() < placed.end
                    && segment["end"].as_f64().unwrap() > placed.start
            })
            .map(|segment| segment["text"].as_str().unwrap())
            .collect();
        let error = callscope_asr::cer::cer(&placed.text, &heard);
        assert!(
            error < 0.8,
            "{role} line {:?} at {:.2}-{:.2} heard as {heard:?} (CER {error:.2})",
            placed.text,
            placed.start,
            placed.end
        );
    }
    // The overlap (the customer interrupts) keeps both sides.
    let overlapping = segments.windows(2).any(|pair| {
        pair[0]["role"] != pair[1]["role"]
            && pair[1]["start"].as_f64().unwrap() < pair[0]["end"].as_f64().unwrap()
    });
    assert!(overlapping, "{segments:#?}");
}

/// A stereo 8 kHz mu-law call of callcenter-tts lines (agent, customer,
/// agent), written as `NAME.wav` in a fresh folder, transcribed with
/// `--json`: the composed call and the run.
fn transcribe_tts_call(
    test: &TestCommand,
    model: &std::path::Path,
    name: &str,
    lines: [&str; 3],
    seed: u64,
) -> (compose::ComposedCall, crate::util::Run) {
    let call = compose::compose(&CallSpec {
        layout: CallLayout::AgentLeft,
        turns: vec![
            turn(Role::Agent, lines[0], 0.0),
            turn(Role::Customer, lines[1], 0.8),
            turn(Role::Agent, lines[2], 0.8),
        ],
        holds: Vec::new(),
        lead_in: 0.5,
        tail: 0.5,
        noise_db: Some(-50.0),
        seed,
    });
    let folder = test.dir().join("audio");
    std::fs::create_dir_all(&folder).unwrap();
    call.write(&folder.join(format!("{name}.wav")), Encoding::Mulaw8k)
        .unwrap();
    let run = transcribe_json(test, &folder, model);
    (call, run)
}

#[test]
fn an_8khz_mulaw_call_is_transcribed_in_simplified_chinese() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let (call, run) = transcribe_tts_call(&test, &model, "MU1", ["a02", "c04", "a09"], 5);
    let transcript = &run.json_lines()[0];
    let text: String = transcript["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| segment["text"].as_str().unwrap().to_string())
        .collect();
    let reference: String = call.truth.iter().map(|turn| turn.text.clone()).collect();
    let error = callscope_asr::cer::cer(&reference, &text);
    assert!(error < 0.35, "CER {error:.3}: {text}");
    let normalizer = callscope_core::text::Normalizer::shared();
    assert_eq!(
        normalizer.to_simplified(&text),
        text,
        "traditional characters left: {text}"
    );
}

/// A mono 8 kHz mu-law call of `turns` (light line noise), transcribed as
/// `id` through a manifest that declares it mono: the composed call and its
/// segments.
fn transcribe_mono_call(
    test: &TestCommand,
    model: &Path,
    id: &str,
    turns: Vec<Turn>,
    seed: u64,
) -> (compose::ComposedCall, Vec<Segment>) {
    let call = compose::compose(&CallSpec {
        layout: CallLayout::Mono,
        turns,
        holds: Vec::new(),
        lead_in: 0.8,
        tail: 1.0,
        noise_db: Some(-55.0),
        seed,
    });
    let audio = test.dir().join(format!("{id}.wav"));
    call.write(&audio, Encoding::Mulaw8k).unwrap();
    let manifest = test.write(
        "manifest.csv",
        format!("path,call_id,channels\n{},{id},mono\n", audio.display()),
    );
    let run = transcribe_json(test, &manifest, model);
    let segments = serde_json::from_value(run.json_lines()[0]["segments"].clone()).unwrap();
    (call, segments)
}

/// A mono 8 kHz mu-law call of two voices (the agent's script lines in the
/// synthetic voice, a real asr-dev speaker as the customer) with quick
/// exchanges: the speakers are separated, the agent is the one who says
/// the script, and most of the speech gets the right role.
#[test]
fn a_mono_call_gets_its_roles_from_the_voices_and_the_script() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let (call, segments) = transcribe_mono_call(
        &test,
        &model,
        "M1",
        vec![
            turn(Role::Agent, "a01", 0.0),
            turn(Role::Customer, "BAC009S0252W0026", 0.4),
            turn(Role::Agent, "a03", 0.6),
            turn(Role::Customer, "BAC009S0252W0030", 0.3),
            turn(Role::Agent, "a04", 1.2),
            turn(Role::Customer, "BAC009S0252W0131", 0.5),
            turn(Role::Agent, "a11", 0.8),
        ],
        11,
    );
    assert!(
        segments
            .iter()
            .all(|segment| segment.role_confidence.is_some()),
        "{segments:#?}"
    );
    let agreement = call.role_agreement(&segments);
    assert!(
        agreement.accuracy() >= 0.8 && agreement.unmatched_seconds < 1.0,
        "{agreement:?}: {segments:#?}"
    );
}

/// Lines of both speakers of a mono call decoded in one window: each
/// line's words are given the time it was said (the tokens are aligned to
/// the audio), not shared out by the pieces' lengths, which put a line's
/// words in its neighbour's piece here.
#[test]
fn words_land_in_the_line_they_were_said_in() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let (call, segments) = transcribe_mono_call(
        &test,
        &model,
        "M2",
        vec![
            turn(Role::Agent, "a02", 0.0),
            turn(Role::Customer, "BAC009S0252W0371", 0.6),
            turn(Role::Agent, "a12", 0.3),
            turn(Role::Customer, "BAC009S0252W0377", 1.4),
            turn(Role::Agent, "a20", 9.0),
        ],
        16,
    );
    for placed in &call.truth {
        let heard: String = segments
            .iter()
            .filter(|segment| {
                // Most of the segment lies within the line.
                segment.end.min(placed.end) - segment.start.max(placed.start)
                    > 0.5 * (segment.end - segment.start)
            })
            .map(|segment| segment.text.as_str())
            .collect();
        let error = callscope_asr::cer::cer(&placed.text, &heard);
        assert!(
            error < 0.5,
            "line {:?} at {:.2}-{:.2} heard as {heard:?} (CER {error:.2}): {segments:#?}",
            placed.text,
            placed.start,
            placed.end
        );
    }
}

/// Bad recordings fail alone, each named with its reason; the batch goes on
/// and a killed batch resumes without losing or redoing a call.
#[test]
fn bad_recordings_fail_alone_and_a_rerun_skips_what_is_done() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let folder = test.dir().join("batch");
    std::fs::create_dir_all(&folder).unwrap();
    two_speaker_call()
        .write(&folder.join("good.wav"), Encoding::Mulaw8k)
        .unwrap();
    std::fs::write(folder.join("empty.wav"), b"").unwrap();
    std::fs::write(
        folder.join("truncated.wav"),
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
    )
    .unwrap();
    std::fs::write(folder.join("notes.wav"), "这不是音频文件\n".repeat(50)).unwrap();
    // 1 kHz: below telephone audio.
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 1000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(folder.join("lowrate.wav"), spec).unwrap();
    for index in 0..3000 {
        writer
            .write_sample(((index % 20) as i16 - 10) * 100)
            .unwrap();
    }
    writer.finalize().unwrap();
    // 0 seconds of audio.
    let spec = hound::WavSpec {
        sample_rate: 8000,
        ..spec
    };
    hound::WavWriter::create(folder.join("zero.wav"), spec)
        .unwrap()
        .finalize()
        .unwrap();

    let args = [
        "transcribe",
        folder.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    let run = test.expect(&args, 1);
    for name in ["empty.wav", "truncated.wav", "notes.wav", "lowrate.wav"] {
        assert!(
            run.stderr.contains(name),
            "{name} not reported:\n{}",
            run.stderr
        );
    }
    let failures = std::fs::read_to_string(test.data().join("failures.jsonl")).unwrap();
    assert!(failures.lines().count() >= 4, "{failures}");
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    let stored = stats["calls"].as_u64().unwrap();
    assert!(stored >= 1, "the good call is stored: {stats}");

    // The same batch again: nothing is redone, nothing duplicated.
    let again = test.expect(&args, 1);
    assert!(
        again.stdout.contains(&format!("skipped {stored} calls")),
        "{}",
        again.stdout
    );
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"].as_u64().unwrap(), stored);
}

/// `kill -9` in the middle of a batch, then the batch again: every call
/// stored once, the finished ones not transcribed twice.
#[test]
fn a_killed_batch_resumes_without_loss_or_duplicates() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let folder = test.dir().join("batch");
    std::fs::create_dir_all(&folder).unwrap();
    let call = two_speaker_call();
    for index in 0..4 {
        // Same speech, different files (a different lead-in each).
        let mut channels = call.channels.clone();
        for channel in &mut channels {
            channel.splice(0..0, std::iter::repeat_n(0.0, 1600 * index));
        }
        compose::write_wav(
            &folder.join(format!("K{index}.wav")),
            &channels,
            Encoding::Mulaw8k,
        )
        .unwrap();
    }
    let args = [
        "transcribe",
        folder.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--workers",
        "1",
    ];
    let mut child = test
        .command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let count = |test: &TestCommand| -> u64 {
        if !test.data().join("callscope.db").exists() {
            return 0;
        }
        let run = test.run(&["stats", "--json"]);
        if run.code != 0 {
            return 0;
        }
        run.json_lines()[0]["calls"].as_u64().unwrap_or(0)
    };
    while count(&test) < 1 && std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = count(&test);
    assert!((1..4).contains(&before), "killed after {before} calls");

    let run = test.expect(&args, 0);
    assert!(
        run.stdout.contains(&format!("skipped {before} calls")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("transcribed {} calls", 4 - before)),
        "{}",
        run.stdout
    );
    assert_eq!(count(&test), 4);
}

/// The main job on the bundled demo: transcripts, QA results, roles.
#[test]
fn run_on_a_demo_call_transcribes_scores_and_stores() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let demo = repo().join("corpora/demo");
    let manifest = std::fs::read_to_string(demo.join("manifest.csv")).unwrap();
    let mut lines = manifest.lines();
    let header = lines.next().unwrap();
    let row = lines.find(|line| line.contains("C20260902-0003")).unwrap();
    let row = row.replacen("audio/", &format!("{}/audio/", demo.display()), 1);
    let file = test.write("one.csv", format!("{header}\n{row}\n"));
    // A scorecard kept in the store is what `run` scores with.
    let pushed = test.write("pushed.toml", crate::util::PUSHED_SCORECARD);
    test.expect(&["scorecard", "push", pushed.to_str().unwrap()], 0);
    let run = test.expect(
        &[
            "run",
            file.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
        0,
    );
    assert!(run.stdout.contains("transcribed 1 calls"), "{}", run.stdout);
    let shown = test.expect(&["show", "C20260902-0003"], 0).stdout;
    assert!(shown.contains("QA 推送的质检标准: score"), "{shown}");
    assert!(!shown.contains("售后服务质检标准"), "{shown}");
    let show = test
        .expect(&["show", "C20260902-0003", "--json"], 0)
        .json_lines()[0]
        .clone();
    assert_eq!(show["agent_id"], "A03");
    let roles: Vec<&str> = show["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| segment["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"agent") && roles.contains(&"customer"),
        "{roles:?}"
    );
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["scored_calls"], 1, "{stats}");
}

/// A customer reads a phone number aloud: what transcription stores is
/// masked, holds no full number, and the workspace passes the audit.
#[test]
fn a_number_read_aloud_is_masked_in_the_stored_transcript() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let (_, run) = transcribe_tts_call(&test, &model, "PII1", ["a03", "c17", "a04"], 9);
    let stored = test.expect(&["show", "PII1", "--json"], 0).stdout;
    eprintln!("stored transcript: {stored}");
    for output in [&run.stdout, &stored] {
        assert!(!output.contains("13812345678"), "{output}");
        assert!(!output.contains("一三八一二三四五六七八"), "{output}");
    }
    // The pinned model hears all eleven digits: the number is there,
    // masked (an absent number would also pass the checks above).
    assert!(stored.contains("138****5678"), "{stored}");
    test.expect(&["redact", "--check"], 0);
}

/// The demo MP3 call with its ID3v2.4 tag replaced by one whose extended
/// header carries the tag restrictions byte 0x40: symphonia-metadata 0.5.5
/// hit `unreachable!()` on it while probing durations, before anything was
/// transcribed.
fn mp3_with_restrictions_0x40() -> Vec<u8> {
    let original = std::fs::read(repo().join("corpora/demo/audio/C20260906-0011.mp3")).unwrap();
    assert_eq!(&original[..3], b"ID3");
    let tag_size = original[6..10]
        .iter()
        .fold(0usize, |size, byte| (size << 7) | usize::from(byte & 0x7f));
    // Version 2.4.0, flags 0x40 (extended header); the extended header
    // sets flag 0x10 (restrictions) with the byte 0x40; then padding.
    let mut bytes = vec![b'I', b'D', b'3', 4, 0, 0x40, 0, 0, 0, 18];
    bytes.extend_from_slice(&[0, 0, 0, 8, 1, 0x10, 1, 0x40]);
    bytes.extend_from_slice(&[0; 10]);
    bytes.extend_from_slice(&original[10 + tag_size..]);
    bytes
}

/// A named pipe at `path`.
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `callscope ARGS` and fails if it has not ended within ten minutes
/// (a batch blocked on a named pipe never ends).
fn run_with_deadline(test: &TestCommand, args: &[&str]) -> crate::util::Run {
    let mut child = test
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("callscope {args:?} still running after ten minutes: blocked");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    crate::util::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Regression: an MP3 whose ID3v2.4 restrictions byte is 0x40 made
/// `transcribe` exit 101 with nothing done, and a named pipe `x.wav` in the
/// folder blocked the batch forever. Now the MP3 is transcribed, the pipe
/// is skipped, the other call is done, and nothing panics.
#[test]
fn a_crafted_mp3_and_a_named_pipe_do_not_stop_a_folder_batch() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let folder = test.dir().join("batch");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        repo().join("corpora/demo/audio/C20260902-0003.wav"),
        folder.join("good.wav"),
    )
    .unwrap();
    std::fs::write(folder.join("restricted.mp3"), mp3_with_restrictions_0x40()).unwrap();
    mkfifo(&folder.join("x.wav"));
    let run = run_with_deadline(
        &test,
        &[
            "transcribe",
            folder.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("x.wav: not a regular file (a named pipe (FIFO))"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("transcribed 2 calls"), "{}", run.stdout);
    let show = test
        .expect(&["show", "restricted", "--json"], 0)
        .json_lines()[0]
        .clone();
    assert!(
        !show["segments"].as_array().unwrap().is_empty(),
        "the MP3's speech is transcribed: {show}"
    );
    let failures = std::fs::read_to_string(test.data().join("failures.jsonl")).unwrap_or_default();
    assert!(failures.trim().is_empty(), "{failures}");
}

/// `run` over a manifest whose rows name the crafted MP3, a named pipe, a
/// folder and a good call: the pipe's and the folder's rows fail alone,
/// named in failures.jsonl with what they are; both calls are transcribed
/// and stored; exit code 1.
#[test]
fn run_with_manifest_rows_naming_a_pipe_and_a_folder_fails_those_rows_alone() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let folder = test.dir().join("calls");
    std::fs::create_dir_all(folder.join("folder.wav")).unwrap();
    std::fs::copy(
        repo().join("corpora/demo/audio/C20260902-0003.wav"),
        folder.join("good.wav"),
    )
    .unwrap();
    std::fs::write(folder.join("restricted.mp3"), mp3_with_restrictions_0x40()).unwrap();
    mkfifo(&folder.join("pipe.wav"));
    let manifest = test.write(
        "calls/manifest.csv",
        "path,call_id,channels\n\
         good.wav,G1,agent-left\n\
         pipe.wav,P1,\n\
         restricted.mp3,R1,agent-left\n\
         folder.wav,F1,\n",
    );
    let run = run_with_deadline(
        &test,
        &[
            "run",
            manifest.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stdout.contains("transcribed 2 calls"), "{}", run.stdout);
    let failures = std::fs::read_to_string(test.data().join("failures.jsonl")).unwrap();
    let failures: Vec<&str> = failures.lines().collect();
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures
            .iter()
            .any(|line| line.contains("pipe.wav: not a regular file (a named pipe (FIFO))")),
        "{failures:#?}"
    );
    assert!(
        failures
            .iter()
            .any(|line| line.contains("folder.wav: a folder, not a recording")),
        "{failures:#?}"
    );
    assert!(run.stderr.contains("pipe.wav"), "{}", run.stderr);
    let stats = test.expect(&["stats", "--json"], 0).json_lines()[0].clone();
    assert_eq!(stats["calls"], 2, "{stats}");
}

/// The crash harness (crash.rs) on transcription: `transcribe` of a folder
/// into a fresh workspace killed with SIGKILL at 20 random moments (while
/// it creates the store, decodes, recognizes, writes or indexes); after
/// each, the same command again: every recording stored exactly once,
/// masked, and indexed.
#[test]
fn transcribe_killed_at_random_moments_stores_each_recording_once() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    let folder = test.dir().join("batch");
    std::fs::create_dir_all(&folder).unwrap();
    // A question and a phone number read aloud (masked at import).
    for (name, clip) in [("T1", "a03"), ("T2", "c17")] {
        std::fs::copy(
            shared().join(format!("callcenter-tts/wav/{clip}.wav")),
            folder.join(format!("{name}.wav")),
        )
        .unwrap();
    }
    let ids: std::collections::BTreeSet<String> =
        ["T1", "T2"].iter().map(|id| id.to_string()).collect();
    let args = [
        "transcribe",
        folder.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--workers",
        "1",
    ];
    let check = |context: &str| crate::crash::check_workspace(&test, &ids, false, context);
    crate::crash::at_random_moments(
        &test,
        &args,
        14,
        || {
            let _ = std::fs::remove_dir_all(test.data());
        },
        || {
            test.expect(&args, 0);
        },
        &check,
    );
}

/// `--vad silero`: Silero VAD (models/ggml-silero-vad.bin from `callscope
/// model fetch`) inside the energy VAD's regions, on a stereo call of two
/// real speakers with a pause and an overlap: each line is heard in its
/// place, and the whole text is as close to the reference as with the
/// energy VAD (base mishears these AISHELL place names: CER about 0.4 either
/// way).
#[test]
fn silero_vad_transcribes_a_stereo_call_to_the_reference() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let vad_model = repo().join("models").join("ggml-silero-vad.bin");
    assert!(
        vad_model.is_file(),
        "{} missing: run `callscope model fetch`",
        vad_model.display()
    );
    let call = two_speaker_call();
    let reference: String = call.truth.iter().map(|turn| turn.text.clone()).collect();
    let heard_with = |vad: &str| -> String {
        let test = TestCommand::new();
        test.write(
            "data/callscope.toml",
            format!("[asr]\nvad_model = \"{}\"\n", vad_model.display()),
        );
        let folder = test.dir().join("audio");
        std::fs::create_dir_all(&folder).unwrap();
        call.write(&folder.join("S1.wav"), Encoding::Pcm16k)
            .unwrap();
        let run = test.expect(
            &[
                "transcribe",
                folder.to_str().unwrap(),
                "--model",
                model.to_str().unwrap(),
                "--vad",
                vad,
                "--json",
            ],
            0,
        );
        assert!(!run.stderr.contains("energy VAD"), "{}", run.stderr);
        let segments = run.json_lines()[0]["segments"].as_array().unwrap().clone();
        let mut heard_all = String::new();
        for placed in &call.truth {
            let role = match placed.role {
                Role::Agent => "agent",
                _ => "customer",
            };
            let heard: String = segments
                .iter()
                .filter(|segment| {
                    segment["role"] == role
                        && segment["start"].as_f64().unwrap() < placed.end
                        && segment["end"].as_f64().unwrap() > placed.start
                })
                .map(|segment| segment["text"].as_str().unwrap())
                .collect();
            let error = callscope_asr::cer::cer(&placed.text, &heard);
            assert!(
                error < 0.8,
                "--vad {vad}: {role} line {:?} at {:.2}-{:.2} heard as {heard:?} (CER {error:.2})",
                placed.text,
                placed.start,
                placed.end
            );
            heard_all.push_str(&heard);
        }
        heard_all
    };
    let silero = heard_with("silero");
    let energy = heard_with("energy");
    let silero_error = callscope_asr::cer::cer(&reference, &silero);
    let energy_error = callscope_asr::cer::cer(&reference, &energy);
    eprintln!("CER silero {silero_error:.3}, energy {energy_error:.3}");
    assert!(
        silero_error < 0.5 && silero_error <= energy_error + 0.1,
        "CER silero {silero_error:.3} ({silero}), energy {energy_error:.3} ({energy})"
    );
}

/// `--vad silero` without the Silero model falls back to the energy VAD and
/// says so once, instead of failing the batch.
#[test]
fn silero_vad_without_its_model_falls_back_to_the_energy_vad() {
    let Some((_guard, model)) = setup() else {
        return;
    };
    let test = TestCommand::new();
    test.write(
        "data/callscope.toml",
        "[asr]\nvad_model = \"nowhere/vad.bin\"\n",
    );
    let folder = test.dir().join("audio");
    std::fs::create_dir_all(&folder).unwrap();
    let call = compose::compose(&CallSpec {
        layout: CallLayout::AgentLeft,
        turns: vec![turn(Role::Agent, "a01", 0.0)],
        holds: Vec::new(),
        lead_in: 0.5,
        tail: 0.5,
        noise_db: Some(-55.0),
        seed: 7,
    });
    call.write(&folder.join("F1.wav"), Encoding::Pcm16k)
        .unwrap();
    let run = test.expect(
        &[
            "transcribe",
            folder.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--vad",
            "silero",
        ],
        0,
    );
    assert_eq!(
        run.stderr.matches("energy VAD").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("model fetch"), "{}", run.stderr);
}
