//! `callscope digest`: the voice-of-the-customer digest of the workspace.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::cli::DigestArgs;
use crate::output::{Outcome, Output};
use callscope_core::dictionary::Dictionary;
use callscope_core::error::{Error, Result};
use callscope_digest::{html, markdown, text, DigestOptions, Digester};
use callscope_store::workspace::Workspace;

/// The `[digest]` section of the workspace config.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestConfig {
    /// Default topic file, relative to the config file's folder.
    topics: Option<PathBuf>,
}

fn date(flag: &str, value: &Option<String>) -> Result<Option<NaiveDate>> {
    value
        .as_deref()
        .map(|text| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                Error::Usage(format!(
                    "{flag} '{text}' is not a date; write YYYY-MM-DD, e.g. 2026-09-01"
                ))
            })
        })
        .transpose()
}

fn write_report(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
    }
    std::fs::write(path, contents).map_err(|error| Error::io(path, error))
}

pub(super) fn run(workspace: &Workspace, args: &DigestArgs, output: Output) -> Result<Outcome> {
    let topics_file = match &args.topics {
        Some(path) => Some(path.clone()),
        None => {
            let config = workspace.config()?;
            let section: DigestConfig = config.section("digest")?;
            section.topics.map(|path| match config.base_dir() {
                Some(base) if path.is_relative() => base.join(path),
                _ => path,
            })
        }
    };
    let calls = args.calls.to_filter()?;
    let options = DigestOptions {
        from: calls.from,
        to: calls.to,
        baseline_from: date("--baseline-from", &args.baseline_from)?,
        baseline_to: date("--baseline-to", &args.baseline_to)?,
        queue: calls.queue,
        agent_id: calls.agent_id,
        team: calls.team,
        topics_file,
        compare: match (&args.compare, &args.term) {
            (Some(periods), Some(term)) if periods.len() == 2 => {
                Some((periods[0].clone(), periods[1].clone(), term.clone()))
            }
            _ => None,
        },
        focus: args.focus.clone(),
        top_terms: args.top,
        min_calls: args.min_calls,
        min_lift: args.min_lift,
        alert_min_calls: args.alert_min_calls,
        ..DigestOptions::default()
    };
    let digester = Digester::new(options, Dictionary::load(None)?)?;
    let mut store = workspace.open_existing_store()?;
    if args.rebuild_cache {
        store.reset_term_cache(digester.extractor().fingerprint())?;
    }
    let bar = output.progress(0, "calls");
    bar.set_message("finding each call's terms");
    let (report, run) = digester.run(&mut store, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if report.computed > 0 && !output.quiet && !output.json {
        crate::errln!(
            "cached the terms of {} new or changed calls in {:.1} s",
            report.computed,
            report.seconds
        );
    }
    for (call_id, reason) in &report.failed {
        crate::errln!("call {call_id}: {reason}");
    }
    let digest = run.digest;
    if let Some(path) = &args.markdown {
        write_report(path, &markdown::render(&digest))?;
    }
    if let Some(path) = &args.html {
        write_report(path, &html::render(&digest))?;
    }
    if output.json {
        output.json_line(&digest);
    } else {
        print!(
            "{}",
            callscope_core::text::printable(&text::render(&digest))
        );
        for (flag, path) in [("markdown", &args.markdown), ("html", &args.html)] {
            if let Some(path) = path {
                crate::outln!("\nwrote {flag} to {}", path.display());
            }
        }
    }
    Ok(Outcome {
        failed: report.failed.len(),
    })
}
