//! `callscope model fetch` and `callscope model list`.

use std::path::{Path, PathBuf};

use crate::cli::{ModelArgs, ModelCommand};
use crate::output::{Outcome, Output};
use callscope_asr::fetch::{is_verified, FetchOptions, ModelFetcher, BUILT_MODELS};
use callscope_asr::ggml::Hparams;
use callscope_asr::{available_cores, cache_dir, AsrConfig, DEFAULT_MODEL_FILE};
use callscope_core::config::WorkspaceConfig;
use callscope_core::error::{Error, Result};
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &ModelArgs, output: Output) -> Result<Outcome> {
    match &args.which {
        ModelCommand::Fetch {
            dir,
            force,
            threads,
        } => fetch(dir, *force, *threads, output),
        ModelCommand::List { dir } => list(workspace, dir, output),
    }
}

fn fetch(dir: &Path, force: bool, threads: usize, output: Output) -> Result<Outcome> {
    let threads = if threads == 0 {
        available_cores()
    } else {
        threads.min(available_cores())
    };
    let fetcher = ModelFetcher::new(FetchOptions {
        dir: dir.to_path_buf(),
        cache: cache_dir(),
        force,
        python: std::env::var("CALLSCOPE_PYTHON").unwrap_or_else(|_| "python3".to_string()),
        threads,
    });
    let quiet = output.quiet || output.json;
    let report = fetcher.run(&mut |line| {
        if !quiet {
            crate::errln!("{line}");
        }
    })?;
    if output.json {
        output.json_line(&report);
        return Ok(Outcome::ok());
    }
    for model in &report.models {
        let check = match (&model.check_text, model.check_cer) {
            (Some(text), Some(rate)) => {
                format!("; check clip: \"{text}\", CER {:.1}%", rate * 100.0)
            }
            (Some(text), None) => format!("; check clip: {text}"),
            _ => String::new(),
        };
        crate::outln!(
            "{} {} ({:.1} MB, sha256 {}){check}",
            model.status,
            model.path.display(),
            model.bytes as f64 / 1e6,
            &model.sha256[..16],
        );
    }
    Ok(Outcome::ok())
}

/// One row of `model list`.
#[derive(Debug, serde::Serialize)]
struct Listed {
    path: PathBuf,
    model: String,
    weights: String,
    bytes: u64,
    verified: bool,
    default: bool,
}

fn list(workspace: &Workspace, dir: &Path, output: Output) -> Result<Outcome> {
    let config = WorkspaceConfig::load(&workspace.config_path())?;
    let mut asr = AsrConfig::from_workspace(&config)?;
    if asr.model == AsrConfig::default().model {
        // Not configured: the default file in the folder being listed.
        asr.model = dir.join(DEFAULT_MODEL_FILE);
    }
    let default = std::fs::canonicalize(&asr.model).ok();
    let mut rows = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|entry| entry.ok()).collect::<Vec<_>>(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(Error::io(dir, error)),
    };
    let mut paths: Vec<PathBuf> = entries
        .iter()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "bin"))
        .collect();
    paths.sort();
    let mut vad_models = Vec::new();
    for path in paths {
        if callscope_asr::silero::is_silero_file(&path) {
            vad_models.push(path);
            continue;
        }
        let Ok(hparams) = Hparams::read_file(&path) else {
            continue;
        };
        let bytes = std::fs::metadata(&path)
            .map(|metadata| metadata.len())
            .unwrap_or(0);
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let verified = match BUILT_MODELS.iter().find(|built| built.file == name) {
            Some(built) => is_verified(&path, built)?,
            None => false,
        };
        let is_default = default.is_some() && std::fs::canonicalize(&path).ok() == default;
        rows.push(Listed {
            model: format!("whisper {}", hparams.size_name()),
            weights: hparams.weight_name(),
            path,
            bytes,
            verified,
            default: is_default,
        });
    }
    if output.json {
        for row in &rows {
            output.json_line(row);
        }
        return Ok(Outcome::ok());
    }
    if rows.is_empty() {
        crate::outln!(
            "no models in {}: run `callscope model fetch` to get Whisper base",
            dir.display()
        );
    }
    for row in &rows {
        crate::outln!(
            "{} {:<28} {:<16} {:<6} {:>7.1} MB{}",
            if row.default { "*" } else { " " },
            row.path.display(),
            row.model,
            row.weights,
            row.bytes as f64 / 1e6,
            if row.verified { "  verified" } else { "" },
        );
    }
    if !rows.iter().any(|row| row.default) {
        crate::outln!(
            "the default model {} is missing: run `callscope model fetch`, or set `[asr] model` \
             in {}",
            asr.model.display(),
            workspace.config_path().display()
        );
    } else {
        crate::outln!("* default (`[asr] model` in the workspace config changes it)");
    }
    for path in vad_models {
        let verified = callscope_asr::silero::is_verified_silero(&path)?;
        crate::outln!(
            "  {} Silero VAD{} (`[asr] vad = \"silero\"` or --vad silero uses it)",
            path.display(),
            if verified { ", verified" } else { "" }
        );
    }
    Ok(Outcome::ok())
}
