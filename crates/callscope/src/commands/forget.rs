//! `callscope forget` (delete calls on request) and `callscope purge`
//! (delete calls past the retention period): every trace of a call, in the
//! store and in the search index.

use serde::Deserialize;

use crate::cli::{ForgetArgs, PurgeArgs};
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_redact::detect::Detector;
use callscope_redact::{Redactor, SUBJECT_KEY_ENV};
use callscope_store::workspace::Workspace;
use callscope_store::Forgotten;

/// The `[retention]` section of the workspace config.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RetentionSection {
    /// Calls older than this many days are deleted by `callscope purge` and
    /// reported by `callscope redact --check`.
    pub days: Option<u32>,
}

/// The retention period of the workspace, in days, when one is set.
pub(super) fn retention_days(workspace: &Workspace) -> Result<Option<u32>> {
    let section: RetentionSection = workspace.config()?.section("retention")?;
    Ok(section.days)
}

/// The start-time cutoff (seconds since the epoch) of `days` days ago.
pub(super) fn cutoff(days: u32) -> i64 {
    chrono::Utc::now().timestamp() - i64::from(days) * 24 * 3600
}

pub(super) fn forget(workspace: &Workspace, args: &ForgetArgs, output: Output) -> Result<Outcome> {
    let mut call_ids = args.calls.clone();
    call_ids.extend(calls_of_subjects(workspace, &args.subjects)?);
    call_ids.sort();
    call_ids.dedup();
    let forgotten = remove(workspace, &call_ids)?;
    let missing: Vec<&String> = args
        .calls
        .iter()
        .filter(|call_id| !forgotten.calls.contains(call_id))
        .collect();
    for call_id in &missing {
        crate::errln!("no call '{call_id}' in the workspace (already forgotten?)");
    }
    report("forgot", &forgotten, output);
    Ok(Outcome {
        failed: missing.len(),
    })
}

/// The calls in which each value was found, by its keyed hash. The values
/// are never printed: a subject is named by its position on the command
/// line.
fn calls_of_subjects(workspace: &Workspace, subjects: &[String]) -> Result<Vec<String>> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    let key = Redactor::subject_key_of(workspace)?.ok_or_else(|| {
        Error::Usage(format!(
            "no subject key: calls can be found by a person's number only when a subject key \
             was set at import (`callscope redact keygen --out PATH`, then {SUBJECT_KEY_ENV} or \
             subject_key_file in [redaction]); use --call ID for calls imported without one"
        ))
    })?;
    let detector = Detector::new();
    let store = workspace.open_existing_store()?;
    let mut call_ids = Vec::new();
    for (position, value) in subjects.iter().enumerate() {
        let mut found = Vec::new();
        for digest in key.candidates(&detector, value) {
            found.extend(store.calls_with_subject(&digest)?);
        }
        found.sort();
        found.dedup();
        if found.is_empty() {
            crate::errln!(
                "subject {} of {}: found in no call (calls imported before the subject key was \
                 set cannot be found by subject: use --call ID)",
                position + 1,
                subjects.len()
            );
        } else {
            crate::errln!(
                "subject {} of {}: found in {} calls",
                position + 1,
                subjects.len(),
                found.len()
            );
        }
        call_ids.extend(found);
    }
    Ok(call_ids)
}

pub(super) fn purge(workspace: &Workspace, args: &PurgeArgs, output: Output) -> Result<Outcome> {
    let days = match args.older_than {
        Some(days) => days,
        None => retention_days(workspace)?.ok_or_else(|| {
            Error::Usage(
                "no retention period: pass --older-than DAYS or set `days` in the \
                 [retention] section of callscope.toml"
                    .to_string(),
            )
        })?,
    };
    let store = workspace.open_existing_store()?;
    let old = store.calls_started_before(cutoff(days))?;
    drop(store);
    let forgotten = remove(workspace, &old)?;
    report(
        &format!("purged (older than {days} days)"),
        &forgotten,
        output,
    );
    Ok(Outcome::ok())
}

/// Deletes the calls from the store, then from the search index. Both are
/// idempotent: after an interruption, the same command finishes the job.
fn remove(workspace: &Workspace, call_ids: &[String]) -> Result<Forgotten> {
    let mut store = workspace.open_existing_store()?;
    let forgotten = store.forget_calls(call_ids)?;
    if workspace.index_dir().exists() {
        let mut index = callscope_pipeline::indexing::open_index(workspace)?;
        index.forget(call_ids).map_err(|error| {
            Error::Index(format!(
                "the calls are deleted from the store, but not yet from the search index \
                 ({error}): run the same command again"
            ))
        })?;
    }
    Ok(forgotten)
}

fn report(verb: &str, forgotten: &Forgotten, output: Output) {
    if output.json {
        output.json_line(forgotten);
        return;
    }
    crate::outln!(
        "{verb} {} calls: {} QA results, {} redaction records, {} sealed originals, {} \
         cached term rows, {} subject hashes, and their search index entries",
        forgotten.calls.len(),
        forgotten.qa_results,
        forgotten.redaction_records,
        forgotten.sealed_originals,
        forgotten.cached_terms,
        forgotten.subject_hashes
    );
    for call_id in &forgotten.calls {
        crate::outln!("  {call_id}");
    }
}
