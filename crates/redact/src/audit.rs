//! `callscope redact --check`: looks for unmasked personal data on every
//! surface of a workspace, so an auditor can verify the policy holds.
//!
//! A surface is one place where text ends up: the stored calls, the stored
//! QA results, report and log files, the database file's raw bytes (deleted
//! rows linger in free pages until the file is vacuumed). Each implements
//! [`Surface`]; [`Auditor::standard`] lists the built-in ones and
//! [`Auditor::with`] adds more (the search index's stored text, a web
//! cache). Findings name where (surface, call, segment, file and line) and
//! carry only the masked form of what was found, never the value.

use std::collections::HashSet;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Place, Redactor};
use callscope_core::error::{Error, Result};
use callscope_core::model::PiiKind;
use callscope_store::workspace::Workspace;
use callscope_store::{CallFilter, Store};

/// Unmasked personal data found on a surface.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The surface (`store.calls`, `store.qa_results`, `files`, ...).
    pub surface: String,
    /// The call, when the surface knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// The segment index, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<usize>,
    /// The field or file position (`text`, `meta.caller`, `reports/x.md:12`).
    pub location: String,
    /// What was found.
    pub kind: PiiKind,
    /// The masked form of what was found (never the value itself).
    pub masked: String,
    /// The normalized value, kept only to de-duplicate raw findings.
    #[serde(skip)]
    value: String,
}

impl Finding {
    /// A finding; `value` is held privately for de-duplication and never
    /// printed or serialized.
    pub fn new(
        surface: &str,
        location: String,
        kind: PiiKind,
        masked: String,
        value: String,
    ) -> Finding {
        Finding {
            surface: surface.to_string(),
            call_id: None,
            segment: None,
            location,
            kind,
            masked,
            value,
        }
    }

    /// Names the call and segment the finding is in.
    pub fn in_call(mut self, call_id: &str, segment: Option<usize>) -> Finding {
        self.call_id = Some(call_id.to_string());
        self.segment = segment;
        self
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", self.surface)?;
        if let Some(call_id) = &self.call_id {
            write!(formatter, "  call {call_id}")?;
        }
        if let Some(segment) = self.segment {
            write!(formatter, " segment {segment}")?;
        }
        write!(
            formatter,
            "  {}: {} {}",
            self.location, self.kind, self.masked
        )
    }
}

/// What a surface scan has at hand.
pub struct AuditContext<'a> {
    /// The workspace.
    pub workspace: &'a Workspace,
    /// The store, when the workspace has one.
    pub store: Option<&'a Store>,
    /// Detection and masking under the workspace's policy.
    pub redactor: &'a Redactor,
    /// Progress (calls and results scanned); hidden when not on a terminal.
    pub progress: indicatif::ProgressBar,
}

/// One place where text ends up. Implement it to add a surface (the lead
/// adds the search index's stored text this way).
pub trait Surface {
    /// The surface's name in findings.
    fn name(&self) -> &'static str;

    /// Whether findings are raw bytes that the structured surfaces also see:
    /// the auditor drops raw findings of values already found elsewhere.
    fn raw(&self) -> bool {
        false
    }

    /// Scans the surface, reporting each finding; returns how many items
    /// (calls, results, files, bytes) it looked at.
    fn scan(&self, context: &AuditContext<'_>, report: &mut dyn FnMut(Finding)) -> Result<u64>;
}

/// What an audit found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    /// The findings, surface by surface.
    pub findings: Vec<Finding>,
    /// Items scanned per surface.
    pub scanned: Vec<(String, u64)>,
}

/// Runs the surfaces in order.
#[derive(Default)]
pub struct Auditor {
    surfaces: Vec<Box<dyn Surface>>,
}

impl Auditor {
    /// An auditor with no surfaces.
    pub fn new() -> Auditor {
        Auditor::default()
    }

    /// The built-in surfaces: stored calls, stored QA results, report and
    /// log files, the database file's raw bytes.
    pub fn standard() -> Auditor {
        Auditor::new()
            .with(Box::new(StoredCalls))
            .with(Box::new(StoredQaResults))
            .with(Box::new(WorkspaceFiles::default()))
            .with(Box::new(DatabaseBytes))
    }

    /// Adds a surface (scanned after those already listed).
    pub fn with(mut self, surface: Box<dyn Surface>) -> Auditor {
        self.surfaces.push(surface);
        self
    }

    /// Scans every surface. Raw surfaces run last and report only values
    /// that no structured surface found.
    pub fn run(&self, context: &AuditContext<'_>) -> Result<AuditReport> {
        let mut report = AuditReport::default();
        let mut raw = Vec::new();
        for surface in self.surfaces.iter().filter(|surface| !surface.raw()) {
            context.progress.set_message(surface.name());
            let scanned = surface.scan(context, &mut |finding| report.findings.push(finding))?;
            report.scanned.push((surface.name().to_string(), scanned));
        }
        let known: HashSet<String> = report
            .findings
            .iter()
            .map(|finding| finding.value.clone())
            .collect();
        for surface in self.surfaces.iter().filter(|surface| surface.raw()) {
            context.progress.set_message(surface.name());
            let mut seen = HashSet::new();
            let scanned = surface.scan(context, &mut |finding| {
                if !known.contains(&finding.value) && seen.insert(finding.value.clone()) {
                    raw.push(finding);
                }
            })?;
            report.scanned.push((surface.name().to_string(), scanned));
        }
        report.findings.extend(raw);
        Ok(report)
    }
}

/// Stored calls: segment texts, meta values, and the call id and audio path
/// (recordings are often named after the caller's number).
pub struct StoredCalls;

impl Surface for StoredCalls {
    fn name(&self) -> &'static str {
        "store.calls"
    }

    fn scan(&self, context: &AuditContext<'_>, report: &mut dyn FnMut(Finding)) -> Result<u64> {
        let Some(store) = context.store else {
            return Ok(0);
        };
        let redactor = context.redactor;
        store.for_each_call(&CallFilter::default(), |call| {
            context.progress.inc(1);
            for (place, detection) in redactor.find_in_call(&call) {
                let (segment, location) = match place {
                    Place::Segment(index) => (Some(index), "text".to_string()),
                    Place::Meta(key) => (None, format!("meta.{key}")),
                };
                report(
                    Finding::new(
                        self.name(),
                        location,
                        detection.kind,
                        redactor.masked_form(&detection),
                        detection.value.clone(),
                    )
                    .in_call(&call.call_id, segment),
                );
            }
            let identifiers = [
                ("call_id", Some(&call.call_id)),
                ("audio_path", call.audio_path.as_ref()),
            ];
            for (field, value) in identifiers {
                let Some(value) = value else { continue };
                for detection in redactor.detect(value) {
                    report(
                        Finding::new(
                            self.name(),
                            field.to_string(),
                            detection.kind,
                            redactor.masked_form(&detection),
                            detection.value.clone(),
                        )
                        .in_call(&call.call_id, None),
                    );
                }
            }
            Ok(())
        })
    }
}

/// Stored QA results: the evidence texts and matches.
pub struct StoredQaResults;

impl Surface for StoredQaResults {
    fn name(&self) -> &'static str {
        "store.qa_results"
    }

    fn scan(&self, context: &AuditContext<'_>, report: &mut dyn FnMut(Finding)) -> Result<u64> {
        let Some(store) = context.store else {
            return Ok(0);
        };
        let redactor = context.redactor;
        store.for_each_qa_result(&CallFilter::default(), |stored| {
            context.progress.inc(1);
            let result = &stored.result;
            for violation in &result.violations {
                for evidence in &violation.evidence {
                    let texts = [
                        ("evidence.text", &evidence.text),
                        ("evidence.matched", &evidence.matched),
                    ];
                    for (field, text) in texts {
                        for detection in redactor.detect(text) {
                            report(
                                Finding::new(
                                    self.name(),
                                    format!("{} {field} ({})", result.scorecard, violation.rule_id),
                                    detection.kind,
                                    redactor.masked_form(&detection),
                                    detection.value.clone(),
                                )
                                .in_call(&result.call_id, Some(evidence.segment)),
                            );
                        }
                    }
                }
            }
            Ok(())
        })
    }
}

/// Report and log files under the workspace: digests, exports, web pages,
/// failure lists, logs (`*.json`, `*.jsonl`, `*.md`, `*.html`, `*.htm`,
/// `*.csv`, `*.tsv`, `*.txt`, `*.log`). The store's files and the search
/// index folder are other surfaces.
#[derive(Debug, Clone)]
pub struct WorkspaceFiles {
    /// File extensions scanned (lowercase, no dot).
    pub extensions: Vec<String>,
    /// Folders under the workspace not to walk (relative names).
    pub skip_dirs: Vec<String>,
}

impl Default for WorkspaceFiles {
    fn default() -> WorkspaceFiles {
        WorkspaceFiles {
            extensions: [
                "json", "jsonl", "md", "html", "htm", "csv", "tsv", "txt", "log",
            ]
            .iter()
            .map(|extension| extension.to_string())
            .collect(),
            skip_dirs: vec!["index".to_string()],
        }
    }
}

impl WorkspaceFiles {
    fn files(&self, root: &Path) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(directory) = pending.pop() {
            let entries = match std::fs::read_dir(&directory) {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(Error::io(&directory, error)),
            };
            for entry in entries {
                let entry = entry.map_err(|error| Error::io(&directory, error))?;
                let path = entry.path();
                let file_type = entry.file_type().map_err(|error| Error::io(&path, error))?;
                if file_type.is_dir() {
                    let relative = path.strip_prefix(root).unwrap_or(&path);
                    if !self
                        .skip_dirs
                        .iter()
                        .any(|skip| relative == Path::new(skip))
                    {
                        pending.push(path);
                    }
                } else if file_type.is_file() {
                    let extension = path
                        .extension()
                        .and_then(|extension| extension.to_str())
                        .map(str::to_lowercase)
                        .unwrap_or_default();
                    if self.extensions.contains(&extension) {
                        files.push(path);
                    }
                }
            }
        }
        files.sort();
        Ok(files)
    }
}

impl Surface for WorkspaceFiles {
    fn name(&self) -> &'static str {
        "files"
    }

    fn scan(&self, context: &AuditContext<'_>, report: &mut dyn FnMut(Finding)) -> Result<u64> {
        let root = context.workspace.root();
        let redactor = context.redactor;
        let files = self.files(root)?;
        for path in &files {
            let file = std::fs::File::open(path).map_err(|error| Error::io(path, error))?;
            let mut reader = std::io::BufReader::new(file);
            let relative = path
                .strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string();
            let mut line = Vec::new();
            let mut number = 0;
            loop {
                line.clear();
                let read = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|error| Error::io(path, error))?;
                if read == 0 {
                    break;
                }
                number += 1;
                let text = String::from_utf8_lossy(&line);
                for detection in redactor.detect(&text) {
                    report(Finding::new(
                        self.name(),
                        format!("{relative}:{number}"),
                        detection.kind,
                        redactor.masked_form(&detection),
                        detection.value.clone(),
                    ));
                }
            }
        }
        Ok(files.len() as u64)
    }
}

/// The raw bytes of the database files (`callscope.db`, `-wal`,
/// `-journal`): rows deleted or replaced since the last vacuum linger
/// there. The JSON strings in them are checked (see [`json_strings`]);
/// only values that no structured surface found are reported.
pub struct DatabaseBytes;

/// The JSON string values in raw database bytes, with their byte offsets:
/// every text people read (segments, evidence, metadata) is stored inside
/// a call's or a result's JSON body, so a deleted row's text is one of
/// these. Scanning each string on its own keeps the digits of neighbouring
/// columns of a record (a call id next to a timestamp) from reading as one
/// number.
fn json_strings(text: &str) -> impl Iterator<Item = (usize, &str)> {
    static STRINGS: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    STRINGS
        .get_or_init(|| regex::Regex::new(r#""((?:[^"\\\x00-\x1f]|\\.)+)""#).ok())
        .iter()
        .flat_map(move |strings| {
            strings
                .captures_iter(text)
                .filter_map(|found| found.get(1).map(|value| (value.start(), value.as_str())))
        })
}

/// Bytes read at a time, and the overlap between reads so that a number
/// across the boundary is still seen whole.
const CHUNK: usize = 1 << 20;
const OVERLAP: usize = 512;

impl Surface for DatabaseBytes {
    fn name(&self) -> &'static str {
        "store.file"
    }

    fn raw(&self) -> bool {
        true
    }

    fn scan(&self, context: &AuditContext<'_>, report: &mut dyn FnMut(Finding)) -> Result<u64> {
        let store_path = context.workspace.store_path();
        let mut scanned = 0u64;
        for suffix in ["", "-wal", "-journal"] {
            let path = PathBuf::from(format!("{}{suffix}", store_path.display()));
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(Error::io(&path, error)),
            };
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut reader = std::io::BufReader::with_capacity(CHUNK, file);
            let mut buffer = vec![0u8; CHUNK + OVERLAP];
            let mut kept = 0usize;
            let mut offset = 0u64;
            loop {
                let read = reader
                    .read(&mut buffer[kept..])
                    .map_err(|error| Error::io(&path, error))?;
                if read == 0 {
                    break;
                }
                let filled = kept + read;
                scanned += read as u64;
                let text = String::from_utf8_lossy(&buffer[..filled]);
                for (start, value) in json_strings(&text) {
                    for detection in context.redactor.detect(value) {
                        report(Finding::new(
                            self.name(),
                            format!(
                                "{name} near byte {} (outside stored call texts and QA \
                                 evidence: deleted rows not yet overwritten; `callscope \
                                 redact --apply` vacuums)",
                                offset + (start + detection.byte_start) as u64
                            ),
                            detection.kind,
                            context.redactor.masked_form(&detection),
                            detection.value.clone(),
                        ));
                    }
                }
                let keep = filled.min(OVERLAP);
                buffer.copy_within(filled - keep..filled, 0);
                offset += (filled - keep) as u64;
                kept = keep;
            }
        }
        Ok(scanned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_are_read_as_json_strings_so_columns_do_not_join() {
        // A record's columns side by side: a call id, a timestamp, a body.
        let raw =
            "\u{1}S00000209\u{17}2026-09-08T10:20:00+08:00{\"text\":\"我的手机号是13812345678\"}";
        let strings: Vec<&str> = json_strings(raw).map(|(_, value)| value).collect();
        assert_eq!(strings, ["text", "我的手机号是13812345678"]);
        let (start, value) = json_strings(raw).nth(1).unwrap();
        assert_eq!(&raw[start..start + value.len()], value);
    }
}
