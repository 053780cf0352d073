//! `callscope-bench asr --only roles`: who is the agent on mono
//! recordings, end to end.
//!
//! `callscope-bench audio` measures speaker separation and the role decision on the
//! true texts. This part runs callscope's own batch path (decode, VAD,
//! speaker clustering, Whisper, the script decision) on mono 8 kHz G.711
//! mu-law calls, so recognition errors count too. Every call has two
//! distinct voices: the callcenter-tts lines of one role (one synthetic
//! voice; those lines carry the script and the complaints) and a real
//! asr-dev speaker for the other role (news sentences, no cues at all).
//! Half of the calls give the script to the agent, half give the
//! complaints to the customer, so the decision has to come from what one
//! side says, whichever side that is. docs/benchmarks.md ("Mono
//! recordings: who is the agent, end to end") has the commands and the
//! figures.

use std::path::{Path, PathBuf};

use super::asr_batch::transcribe_into_store;
use super::audio::Corpus;
use super::Row;
use callscope::output::Output;
use callscope_asr::AsrConfig;
use callscope_core::error::{Error, Result};
use callscope_core::model::{ChannelLayout, Segment};
use callscope_testkit::compose::{self, CallLayout, ComposedCall, Encoding, RoleAgreement};

/// Seed of the composed calls (the same calls every run).
const ROLES_SEED: u64 = 9_000;

/// The rows of the mono role measurement on `calls` composed calls.
pub(super) fn roles_rows(
    config: &AsrConfig,
    label: &str,
    shared: &Path,
    dir: &Path,
    calls: usize,
    output: &Output,
) -> Result<Vec<Row>> {
    let composed = compose_calls(shared, dir, calls)?;
    let files: Vec<(&str, &Path)> = composed
        .iter()
        .map(|(id, _, path)| (id.as_str(), path.as_path()))
        .collect();
    let (store, _) = transcribe_into_store(config, &files, Some(ChannelLayout::Mono), output)?;
    let mut tally = RolesTally::default();
    for (id, call, _) in &composed {
        let stored = store
            .get_call(id)?
            .ok_or_else(|| Error::Store(format!("{id}: transcribed but not stored")))?;
        tally.add(call, &stored.segments);
    }
    Ok(tally.rows(calls, label))
}

/// The mono calls, composed and written into `dir` as 8 kHz mu-law: each
/// call's id, truth and file.
fn compose_calls(
    shared: &Path,
    dir: &Path,
    calls: usize,
) -> Result<Vec<(String, ComposedCall, PathBuf)>> {
    std::fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
    let corpus = Corpus::load(shared)?;
    let mut composed: Vec<(String, ComposedCall)> = Vec::with_capacity(calls);
    for index in 0..calls {
        // Even calls: the agent speaks the script lines, the customer is
        // a real speaker; odd calls: a real agent, the customer lines.
        let (agent, customer) = if index % 2 == 0 {
            (&corpus.agent_lines, &corpus.speaker_b)
        } else {
            (&corpus.speaker_a, &corpus.customer_lines)
        };
        let spec =
            compose::random_call_spec(agent, customer, CallLayout::Mono, ROLES_SEED + index as u64);
        composed.push((format!("M{index:03}"), compose::compose(&spec)));
    }
    composed
        .into_iter()
        .map(|(id, call)| {
            let path = dir.join(format!("{id}.wav"));
            call.write(&path, Encoding::Mulaw8k)?;
            Ok((id, call, path))
        })
        .collect()
}

/// What the role measurement counts over the calls.
#[derive(Debug, Default)]
struct RolesTally {
    /// Speech time with the right role, over all calls.
    total: RoleAgreement,
    /// Calls where more than half of the speech time has the right role.
    decided_right: usize,
    confidence_sum: f64,
    confidence_count: usize,
    audio_seconds: f64,
    /// Each call's role accuracy, formatted.
    per_call: Vec<String>,
}

impl RolesTally {
    /// Counts one call's stored segments against its truth.
    fn add(&mut self, call: &ComposedCall, segments: &[Segment]) {
        let agreement = call.role_agreement(segments);
        self.per_call.push(format!("{:.2}", agreement.accuracy()));
        if agreement.accuracy() > 0.5 {
            self.decided_right += 1;
        }
        self.total.add(agreement);
        self.audio_seconds += call.duration();
        for confidence in segments.iter().filter_map(|s| s.role_confidence) {
            self.confidence_sum += confidence;
            self.confidence_count += 1;
        }
    }

    /// The rows over `calls` calls; `label` says how they were recognized.
    fn rows(&self, calls: usize, label: &str) -> Vec<Row> {
        let note = format!(
            "{calls} mono 8 kHz mu-law calls ({:.1} min): callcenter-tts lines of one role \
             against a real asr-dev speaker, half each way round; {label}",
            self.audio_seconds / 60.0
        );
        vec![
            Row::new(
                "mono roles end to end · role accuracy",
                self.total.accuracy(),
                "share of speech time",
                format!(
                    "{note}; recognized segments judged by the placed turn they overlap most \
                     ({:.0} s matched, {:.0} s over no turn)",
                    self.total.matched_seconds, self.total.unmatched_seconds
                ),
            ),
            Row::new(
                "mono roles end to end · agent decided right",
                self.decided_right as f64 / calls.max(1) as f64,
                "share of calls",
                format!(
                    "more than half of the call's recognized speech time has the right role; \
                     per call: {}",
                    self.per_call.join(" ")
                ),
            ),
            Row::new(
                "mono roles end to end · mean role confidence",
                if self.confidence_count > 0 {
                    self.confidence_sum / self.confidence_count as f64
                } else {
                    0.0
                },
                "",
                "segments' role_confidence",
            ),
        ]
    }
}
