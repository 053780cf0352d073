//! `callscope redact` (audit, mask in place, key generation) and
//! `callscope export-audio`.

use std::collections::BTreeSet;

use crate::cli::{ExportAudioArgs, RedactArgs, RedactCommand};
use crate::output::{clock, Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_core::model::CallRedaction;
use callscope_redact::audit::{AuditContext, Auditor};
use callscope_redact::{audio, RedactionCounts, Redactor, SealKey, SEAL_KEY_ENV};
use callscope_store::workspace::Workspace;
use callscope_store::CallBatch;
use callscope_store::CallFilter;

/// Calls masked per transaction by `--apply`.
const APPLY_BATCH: usize = 500;

pub(super) fn run(workspace: &Workspace, args: &RedactArgs, output: Output) -> Result<Outcome> {
    match &args.action {
        Some(RedactCommand::Keygen { out }) => keygen(workspace, out, output),
        Some(RedactCommand::Rekey { new_key }) => rekey(workspace, new_key, output),
        None if args.check => check(workspace, output),
        None if args.apply => apply(workspace, output),
        None => Err(Error::Usage(
            "say what to do: `callscope redact --check` (audit the workspace), \
             `callscope redact --apply` (mask what is stored) or \
             `callscope redact keygen --out PATH` (make a seal key)"
                .to_string(),
        )),
    }
}

fn keygen(workspace: &Workspace, out: &std::path::Path, output: Output) -> Result<Outcome> {
    callscope_redact::refuse_inside_workspace(out, workspace.root())?;
    let key = SealKey::generate()?;
    key.write_new(out)?;
    if output.json {
        output.json_line(&serde_json::json!({"key_file": out, "key_id": key.id()}));
    } else {
        crate::outln!("wrote seal key {} (key id {})", out.display(), key.id());
        crate::outln!(
            "  use it: export {SEAL_KEY_ENV}={}  (or seal_key_file in [redaction] of callscope.toml)",
            out.display()
        );
        crate::outln!("  keep it outside the workspace and back it up: without it sealed originals cannot be opened");
    }
    Ok(Outcome::ok())
}

/// Sealed originals re-sealed per transaction by `rekey`.
const REKEY_BATCH: usize = 500;

/// Re-seals every sealed original under the key in `new_key`, opening each
/// with the workspace's current key. Resumable: each batch commits on its
/// own, and originals already under the new key are skipped, so a killed
/// run is simply run again. Originals the current key cannot open are
/// listed and left as they are.
fn rekey(workspace: &Workspace, new_key: &std::path::Path, output: Output) -> Result<Outcome> {
    callscope_redact::refuse_inside_workspace(new_key, workspace.root())?;
    let new = SealKey::load(new_key)?;
    let redactor = Redactor::from_workspace(workspace)?;
    let Some(current) = redactor.seal_key() else {
        return Err(Error::Usage(format!(
            "no current seal key: set {SEAL_KEY_ENV} (or seal_key_file in [redaction]) to the \
             key the originals were sealed with, then run `callscope redact rekey` again"
        )));
    };
    let mut store = workspace.open_existing_store()?;
    let (mut resealed, mut failed) = (0usize, Vec::new());
    let mut skip: BTreeSet<String> = BTreeSet::new();
    loop {
        let batch = store.sealed_originals_not_under(new.id(), REKEY_BATCH + skip.len())?;
        let todo: Vec<_> = batch
            .into_iter()
            .filter(|sealed| !skip.contains(&sealed.call_id))
            .collect();
        if todo.is_empty() {
            break;
        }
        let mut done = Vec::with_capacity(todo.len());
        for sealed in todo {
            match callscope_redact::seal::open(current, &sealed)
                .and_then(|payload| callscope_redact::seal::seal(&new, &sealed.call_id, &payload))
            {
                Ok(resealed) => done.push(resealed),
                Err(error) => {
                    failed.push(format!("call {}: {error}", sealed.call_id));
                    skip.insert(sealed.call_id);
                }
            }
        }
        resealed += done.len();
        store.replace_sealed_originals(&done)?;
    }
    for failure in &failed {
        crate::errln!("{failure}");
    }
    if output.json {
        output.json_line(&serde_json::json!({
            "resealed": resealed,
            "failed": failed.len(),
            "key_id": new.id(),
        }));
    } else {
        crate::outln!(
            "re-sealed {resealed} originals under key {}; {} could not be opened with the current key",
            new.id(),
            failed.len()
        );
        crate::outln!(
            "  now point {SEAL_KEY_ENV} (or seal_key_file) at {} and keep the old key until you have checked `callscope qa`",
            new_key.display()
        );
    }
    Ok(Outcome {
        failed: failed.len(),
    })
}

fn check(workspace: &Workspace, output: Output) -> Result<Outcome> {
    if !workspace.root().exists() {
        return Err(Error::Usage(format!(
            "no workspace at {}: pass --data",
            workspace.root().display()
        )));
    }
    let (redactor, disabled) = Redactor::for_audit(workspace)?;
    if disabled && !output.json {
        crate::outln!("redaction is disabled in callscope.toml: auditing every kind");
    }
    // The shared store is audited through its queries (its files are the
    // database server's); the embedded one also byte by byte.
    let store = if workspace.store_url()?.is_some() || workspace.store_path().exists() {
        Some(workspace.open_existing_store()?)
    } else {
        None
    };
    let items = match &store {
        Some(store) => store.count_calls(&CallFilter::default())? + store.stats()?.scored_calls,
        None => 0,
    };
    let context = AuditContext {
        workspace,
        store: store.as_ref(),
        redactor: &redactor,
        progress: output.progress(items, "items"),
    };
    let report = Auditor::standard()
        .with(Box::new(callscope_pipeline::indexing::IndexTerms))
        .run(&context);
    context.progress.finish_and_clear();
    let report = report?;
    if output.json {
        for finding in &report.findings {
            output.json_line(finding);
        }
        output.json_line(&serde_json::json!({
            "findings": report.findings.len(),
            "scanned": report.scanned.iter().map(|(surface, count)| {
                serde_json::json!({"surface": surface, "items": count})
            }).collect::<Vec<_>>(),
        }));
    } else {
        for finding in &report.findings {
            crate::outln!("{finding}");
        }
        let scanned: Vec<String> = report
            .scanned
            .iter()
            .map(|(surface, count)| format!("{surface} {count}"))
            .collect();
        if report.findings.is_empty() {
            crate::outln!(
                "no unmasked personal data found (scanned: {})",
                scanned.join(", ")
            );
        } else {
            crate::outln!(
                "{} unmasked personal data items found (scanned: {}); \
                 `callscope redact --apply` masks the store, regenerate reports after it",
                report.findings.len(),
                scanned.join(", ")
            );
        }
    }
    let overdue = past_retention(workspace, store.as_ref(), output)?;
    Ok(Outcome {
        failed: report.findings.len() + overdue,
    })
}

/// Reports the calls kept past the retention period (`[retention] days`);
/// returns how many.
fn past_retention(
    workspace: &Workspace,
    store: Option<&callscope_store::Store>,
    output: Output,
) -> Result<usize> {
    let (Some(days), Some(store)) = (super::forget::retention_days(workspace)?, store) else {
        return Ok(0);
    };
    let overdue = store
        .calls_started_before(super::forget::cutoff(days))?
        .len();
    if overdue > 0 {
        if output.json {
            output.json_line(&serde_json::json!({
                "past_retention": overdue,
                "retention_days": days,
            }));
        } else {
            crate::outln!(
                "{overdue} calls are older than the retention period of {days} days: \
                 `callscope purge` deletes them"
            );
        }
    }
    Ok(overdue)
}

fn apply(workspace: &Workspace, output: Output) -> Result<Outcome> {
    let redactor = Redactor::from_workspace(workspace)?;
    let mut store = workspace.open_existing_store()?;
    // First pass: which calls and QA results hold personal data.
    let mut call_ids = Vec::new();
    store.for_each_call(&CallFilter::default(), |call| {
        if !redactor.find_in_call(&call).is_empty() {
            call_ids.push(call.call_id);
        }
        Ok(())
    })?;
    let mut qa_call_ids = BTreeSet::new();
    store.for_each_qa_result(&CallFilter::default(), |stored| {
        if redactor.mask_qa_result(&stored.result) != stored.result {
            qa_call_ids.insert(stored.result.call_id.clone());
        }
        Ok(())
    })?;
    let bar = output.progress(call_ids.len() as u64, "calls");
    let mut counts = RedactionCounts::default();
    for chunk in call_ids.chunks(APPLY_BATCH) {
        let filter = CallFilter {
            call_ids: chunk.to_vec(),
            ..CallFilter::default()
        };
        let mut calls = Vec::with_capacity(chunk.len());
        store.for_each_call(&filter, |call| {
            calls.push(call);
            Ok(())
        })?;
        // Rewriting a call drops its QA results: keep them, masked.
        let mut results = Vec::new();
        for call in &calls {
            for result in store.qa_results_of(&call.call_id)? {
                results.push(redactor.mask_qa_result(&result));
            }
            qa_call_ids.remove(&call.call_id);
        }
        // With the key, start again from the sealed original (a call masked
        // before under another policy); otherwise from the stored text,
        // keeping the spans masked before.
        let mut bases = Vec::with_capacity(calls.len());
        let mut unsealed = Vec::with_capacity(calls.len());
        for call in calls {
            let original = match store.sealed_original(&call.call_id)? {
                Some(sealed) if redactor.key_id().is_some() => redactor.unseal(&call, &sealed).ok(),
                _ => None,
            };
            unsealed.push(original.is_some());
            bases.push(original.unwrap_or(call));
        }
        let batch = redactor.redact_batch(bases)?;
        let mut records = Vec::with_capacity(batch.records.len());
        for (record, unsealed) in batch.records.into_iter().zip(unsealed) {
            records.push(if unsealed {
                record
            } else {
                with_earlier_spans(&store, record)?
            });
        }
        // The call, its record and its re-masked results in one transaction.
        store.put_call_batch(&CallBatch {
            calls: &batch.calls,
            redactions: &records,
            qa_results: &results,
        })?;
        counts.add(&batch.counts);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    // QA results whose evidence holds personal data the call no longer does.
    let mut results = Vec::new();
    for call_id in &qa_call_ids {
        for result in store.qa_results_of(call_id)? {
            results.push(redactor.mask_qa_result(&result));
        }
    }
    store.put_qa_results(&results)?;
    store.compact()?;
    // Rebuilt, not synced: a synced index keeps deleted documents (and their
    // terms) until tantivy merges segments.
    super::index::rebuild_after_masking(workspace, &mut store, output)?;
    if output.json {
        output.json_line(&serde_json::json!({
            "masked": counts,
            "qa_results_masked": results.len(),
            "sealed_key_id": redactor.key_id(),
        }));
    } else {
        crate::outln!(
            "masked {} items in {} calls and {} QA results of other calls; store vacuumed",
            counts.total_items(),
            counts.calls_masked,
            results.len()
        );
        print_sealing(&redactor, &counts);
        crate::outln!("  reports and digests written before keep their text: regenerate them, then `callscope redact --check`");
    }
    Ok(Outcome::ok())
}

/// A call masked again from its stored text keeps the spans it had (that
/// text already lost what they masked). Its old sealed original no longer
/// matches the text and is replaced (or dropped without a key).
fn with_earlier_spans(
    store: &callscope_store::Store,
    mut record: CallRedaction,
) -> Result<CallRedaction> {
    let mut spans = store.redacted_spans(&record.call_id)?;
    spans.append(&mut record.spans);
    record.spans = spans;
    Ok(record)
}

/// Prints what happened to the originals.
pub(super) fn print_sealing(redactor: &Redactor, counts: &RedactionCounts) {
    if counts.calls_masked == 0 {
        return;
    }
    match redactor.key_id() {
        Some(key_id) => crate::outln!(
            "  originals of {} calls sealed with key {key_id} (QA re-scores on them)",
            counts.sealed
        ),
        None => crate::outln!(
            "  originals not kept (no seal key: set {SEAL_KEY_ENV} to keep them sealed for QA)"
        ),
    }
}

/// Silences `spans` of any recording callscope decodes, written as 16-bit
/// PCM at 16 kHz (all channels kept).
fn silence_decoded(
    input: &std::path::Path,
    output: &std::path::Path,
    spans: &[(f64, f64)],
    margin: f64,
) -> Result<audio::SilenceReport> {
    let mut decoded = callscope_audio::decode(input)?;
    let rate = callscope_audio::SAMPLE_RATE;
    let frames = decoded.channels.first().map_or(0, Vec::len) as u64;
    let ranges = audio::frame_ranges(spans, margin, rate, frames);
    for channel in &mut decoded.channels {
        for (first, last) in &ranges {
            let last = (*last as usize).min(channel.len());
            let first = (*first as usize).min(last);
            channel[first..last].fill(0.0);
        }
    }
    if let Some(parent) = output
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
    }
    callscope_audio::wav::write_pcm16(output, &decoded.channels, callscope_audio::SAMPLE_RATE)?;
    let silenced: u64 = ranges.iter().map(|(first, last)| last - first).sum();
    Ok(audio::SilenceReport {
        stretches: ranges.len(),
        seconds: silenced as f64 / f64::from(rate),
        frames: silenced,
        duration: frames as f64 / f64::from(rate),
    })
}

pub(super) fn export_audio(
    workspace: &Workspace,
    args: &ExportAudioArgs,
    output: Output,
) -> Result<Outcome> {
    if !(args.margin.is_finite() && args.margin >= 0.0) {
        return Err(Error::Usage(format!(
            "--margin {} must be zero or more seconds",
            args.margin
        )));
    }
    let store = workspace.open_existing_store()?;
    let call = store
        .get_call(&args.call_id)?
        .ok_or_else(|| Error::UnknownCall(args.call_id.clone()))?;
    let audio_path = match (&args.audio, &call.audio_path) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => std::path::PathBuf::from(path),
        (None, None) => {
            return Err(Error::Usage(format!(
                "call {} has no audio_path (it was imported from a transcript): pass --audio FILE",
                call.call_id
            )))
        }
    };
    let mut spans: Vec<(f64, f64)> = Vec::new();
    if args.silence_pii {
        // Spans masked at import, and anything still clear in the stored text.
        for span in store.redacted_spans(&call.call_id)? {
            spans.push((span.start, span.end));
        }
        let redactor = Redactor::for_display(workspace)?;
        for (place, detection) in redactor.find_in_call(&call) {
            if let callscope_redact::Place::Segment(index) = place {
                spans.push(audio::estimate_times(
                    &call.segments[index],
                    detection.start,
                    detection.end,
                ));
            }
        }
    }
    let report = match audio::silence_wav(&audio_path, &args.out, &spans, args.margin) {
        Ok(report) => report,
        // Not PCM WAV (G.711, MP3, M4A, ...): decode it and write 16 kHz PCM.
        Err(Error::Audio { .. }) => silence_decoded(&audio_path, &args.out, &spans, args.margin)?,
        Err(error) => return Err(error),
    };
    if output.json {
        output.json_line(&serde_json::json!({
            "call_id": call.call_id,
            "out": args.out,
            "silenced": report,
        }));
    } else {
        crate::outln!("wrote {} ({})", args.out.display(), clock(report.duration));
        if args.silence_pii {
            if report.stretches == 0 {
                crate::outln!(
                    "  no personal data spans in call {}: nothing silenced",
                    call.call_id
                );
            } else {
                crate::outln!(
                    "  silenced {} stretches, {:.2} s in all (margin {:.2} s each side)",
                    report.stretches,
                    report.seconds,
                    args.margin
                );
            }
        }
    }
    Ok(Outcome::ok())
}
