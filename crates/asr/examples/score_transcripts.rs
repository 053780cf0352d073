//! Scores `callscope transcribe --out FILE.jsonl` against a reference list:
//! corpus CER (edit distance over reference characters, after the same
//! normalization as every CER figure here), one line.
//!
//! ```sh
//! callscope --data /tmp/dev transcribe ../shared/asr-dev/wav --out /tmp/dev.jsonl
//! cargo run --release -p callscope-asr --example score_transcripts -- \
//!     ../shared/asr-dev/transcripts.tsv /tmp/dev.jsonl
//! ```
//!
//! A call's id is its file stem, which is the reference's id.

use std::collections::HashMap;

use callscope_asr::cer::CerCount;

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [references, transcripts] = arguments.as_slice() else {
        eprintln!("usage: score_transcripts REFERENCES.tsv TRANSCRIPTS.jsonl");
        std::process::exit(2);
    };
    let references = std::fs::read_to_string(references).expect("the reference list");
    let mut heard: HashMap<String, String> = HashMap::new();
    for line in std::fs::read_to_string(transcripts)
        .expect("the transcripts")
        .lines()
        .filter(|line| !line.trim().is_empty())
    {
        let call: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let text: String = call["segments"]
            .as_array()
            .map(|segments| {
                segments
                    .iter()
                    .filter_map(|segment| segment["text"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        heard.insert(call["call_id"].as_str().unwrap_or("").to_string(), text);
    }
    let mut total = CerCount::default();
    let mut missing = 0;
    for line in references.lines() {
        let Some((id, reference)) = line.split_once('\t') else {
            continue;
        };
        let hypothesis = heard.get(id).map(String::as_str).unwrap_or_else(|| {
            missing += 1;
            ""
        });
        total.add(CerCount::of(reference, hypothesis));
    }
    println!(
        "CER {:.2}% over {} reference characters ({missing} clips without a transcript)",
        total.rate() * 100.0,
        total.reference_chars
    );
}
