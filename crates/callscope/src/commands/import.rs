//! `callscope import`: transcripts in, into the store.

use std::io::BufReader;

use crate::cli::ImportArgs;
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_core::import::{ImportOptions, ImportReport, Importer};
use callscope_store::workspace::Workspace;
use callscope_store::CallBatch;

pub(super) fn run(workspace: &Workspace, args: &ImportArgs, output: Output) -> Result<Outcome> {
    let source = args.file.display().to_string();
    let importer = Importer::new(ImportOptions {
        max_line_bytes: args.max_line_bytes,
        ..ImportOptions::default()
    });
    let mut store = workspace.open_store()?;
    let (mut reader, total_bytes): (Box<dyn std::io::BufRead>, u64) = if source == "-" {
        (Box::new(std::io::stdin().lock()), 0)
    } else {
        let file = std::fs::File::open(&args.file).map_err(|error| Error::io(&args.file, error))?;
        let length = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
        (Box::new(BufReader::with_capacity(1 << 20, file)), length)
    };
    // Redaction: the store never holds clear personal data for display.
    let redactor = callscope_redact::Redactor::from_workspace(workspace)?;
    let mut redacted = callscope_redact::RedactionCounts::default();
    let bar = output.progress(total_bytes, "bytes");
    let report = importer.run(
        &mut reader,
        &source,
        |calls| {
            let batch = redactor.redact_batch(calls)?;
            store.put_call_batch(&CallBatch {
                calls: &batch.calls,
                redactions: &batch.records,
                ..CallBatch::default()
            })?;
            redacted.add(&batch.counts);
            Ok(())
        },
        |bytes| bar.set_position(bytes),
    );
    bar.finish_and_clear();
    let mut report = report?;
    // Refusal reasons quote values (serde names the bad value): mask them.
    for failure in &mut report.failed {
        failure.reason = redactor.mask_text(&failure.reason);
    }
    write_failures(workspace, &source, &report)?;
    print_report(&source, &report, &redacted, output);
    if !output.json && redacted.calls_masked > 0 {
        crate::outln!(
            "  masked {} personal data items in {} calls",
            redacted.total_items(),
            redacted.calls_masked
        );
        super::redact::print_sealing(&redactor, &redacted);
    }
    let _ = super::index::follow_store(workspace, &mut store, output);
    Ok(Outcome {
        failed: report.failed.len(),
    })
}

fn write_failures(workspace: &Workspace, source: &str, report: &ImportReport) -> Result<()> {
    let failures: Vec<serde_json::Value> = report
        .failed
        .iter()
        .map(|failure| {
            serde_json::json!({
                "file": source,
                "line": failure.line,
                "call_id": failure.call_id,
                "reason": failure.reason,
            })
        })
        .collect();
    super::write_failures(workspace, &failures)
}

fn print_report(
    source: &str,
    report: &ImportReport,
    redacted: &callscope_redact::RedactionCounts,
    output: Output,
) {
    for failure in &report.failed {
        crate::errln!("{source}:{}: {}", failure.line, failure.reason);
    }
    if output.json {
        output.json_line(&serde_json::json!({
            "file": source,
            "lines": report.lines,
            "imported": report.calls,
            "segments": report.segments,
            "sorted": report.sorted,
            "failed": report.failed,
            "redacted": redacted,
        }));
        return;
    }
    crate::outln!(
        "imported {} calls ({} segments) from {source}",
        report.calls,
        report.segments
    );
    if report.sorted > 0 {
        crate::outln!(
            "  {} calls had segments out of order; they were sorted",
            report.sorted
        );
    }
    if !report.failed.is_empty() {
        crate::outln!(
            "  {} lines refused (listed above and in failures.jsonl); fix them and import the file again",
            report.failed.len()
        );
    }
}
