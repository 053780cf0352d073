//! `callscope bench asr --only roles`: who is the agent on mono
//! recordings, end to end.
//!
//! `bench audio` measures speaker separation and the role decision on the
//! true texts. This part runs callscope's own batch path (decode, VAD,
//! speaker clustering, Whisper, the script decision) on mono 8 kHz G.711
//! mu-law calls, so recognition errors count too. Every call has two
//! distinct voices: the callcenter-tts lines of one role (one synthetic
//! voice; those lines carry the script and the complaints) and a real
//! asr-dev speaker for the other role (news sentences, no cues at all).
//! Half of the calls give the script to the agent, half give the
//! complaints to the customer, so the decision has to come from what one
//! side says, whichever side that is.

use std::path::Path;

use super::asr_batch::transcribe_into_store;
use super::audio::Corpus;
use super::Row;
use callscope::output::Output;
use callscope_asr::AsrConfig;
use callscope_core::error::{Error, Result};
use callscope_core::model::ChannelLayout;
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
    let paths: Vec<_> = composed
        .iter()
        .map(|(id, call)| {
            let path = dir.join(format!("{id}.wav"));
            call.write(&path, Encoding::Mulaw8k).map(|()| path)
        })
        .collect::<Result<_>>()?;
    let files: Vec<(&str, &Path)> = composed
        .iter()
        .zip(&paths)
        .map(|((id, _), path)| (id.as_str(), path.as_path()))
        .collect();
    let (store, _) = transcribe_into_store(config, &files, ChannelLayout::Mono, output)?;
    let mut total = RoleAgreement::default();
    let mut decided_right = 0;
    let mut confidence_sum = 0.0;
    let mut confidence_count = 0usize;
    let mut audio_seconds = 0.0;
    let mut per_call = Vec::with_capacity(calls);
    for (id, call) in &composed {
        let stored = store
            .get_call(id)?
            .ok_or_else(|| Error::Store(format!("{id}: transcribed but not stored")))?;
        let agreement = call.role_agreement(&stored.segments);
        per_call.push(format!("{:.2}", agreement.accuracy()));
        if agreement.accuracy() > 0.5 {
            decided_right += 1;
        }
        total.add(agreement);
        audio_seconds += call.duration();
        for confidence in stored.segments.iter().filter_map(|s| s.role_confidence) {
            confidence_sum += confidence;
            confidence_count += 1;
        }
    }
    let note = format!(
        "{calls} mono 8 kHz mu-law calls ({:.1} min): callcenter-tts lines of one role against \
         a real asr-dev speaker, half each way round; {label}",
        audio_seconds / 60.0
    );
    Ok(vec![
        Row::new(
            "mono roles end to end · role accuracy",
            total.accuracy(),
            "share of speech time",
            format!(
                "{note}; recognized segments judged by the placed turn they overlap most \
                 ({:.0} s matched, {:.0} s over no turn)",
                total.matched_seconds, total.unmatched_seconds
            ),
        ),
        Row::new(
            "mono roles end to end · agent decided right",
            decided_right as f64 / calls.max(1) as f64,
            "share of calls",
            format!(
                "more than half of the call's recognized speech time has the right role; per \
                 call: {}",
                per_call.join(" ")
            ),
        ),
        Row::new(
            "mono roles end to end · mean role confidence",
            if confidence_count > 0 {
                confidence_sum / confidence_count as f64
            } else {
                0.0
            },
            "",
            "segments' role_confidence",
        ),
    ])
}
