//! Audio manifests (docs/formats.md §1) and folder scans: which recordings to
//! transcribe, with their call ids, times, agents and channel layouts.
//!
//! A bad row is reported with its line number and reason and the other rows
//! are still used; only a manifest that cannot be read at all, or has no
//! `path` column, fails as a whole.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use super::decode::not_a_recording;
use super::AUDIO_EXTENSIONS;
use callscope_core::error::{Error, Result};
use callscope_core::model::{AudioEntry, ChannelLayout};

/// Whether a recording's location is an http(s) URL rather than a path
/// (workers download those; `transcribe` and `run` read files).
pub fn is_url(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|text| text.starts_with("http://") || text.starts_with("https://"))
}

/// A recording's URL for messages and stores: scheme, host, port and
/// path, never the user, the password, the query or the fragment (where
/// signed URLs carry credentials). A path is returned as it is.
pub fn describe_url(url: &str) -> String {
    if !is_url(Path::new(url)) {
        return url.to_string();
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}{path}")
}

/// The columns the contract names; any other column goes to `meta`.
const KNOWN_COLUMNS: &[&str] = &[
    "path",
    "call_id",
    "started_at",
    "agent_id",
    "team",
    "queue",
    "channels",
];

/// The recordings a manifest or folder names, and the rows that were bad.
#[derive(Debug, Default)]
pub struct ManifestReport {
    /// Good rows, in file order (folder scans: sorted by path).
    pub entries: Vec<AudioEntry>,
    /// One error per bad row, naming the file and line.
    pub errors: Vec<Error>,
    /// Things the user should know that are not failures: files a folder
    /// scan skipped (named pipes, devices and other non-regular files).
    pub warnings: Vec<String>,
}

/// China Standard Time, the offset call centers record in.
fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// The file's modification time as RFC 3339 in +08:00.
pub fn modified_at(path: &Path) -> Result<String> {
    let modified = std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .map_err(|error| Error::io(path, error))?;
    let utc: DateTime<chrono::Utc> = modified.into();
    Ok(utc
        .with_timezone(&china_offset())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string())
}

/// Reads the manifest CSV at `path`; relative audio paths resolve against
/// the manifest's folder.
pub fn read_manifest(path: &Path) -> Result<ManifestReport> {
    let bytes = std::fs::read(path).map_err(|error| Error::io(path, error))?;
    parse_manifest(&bytes, path)
}

fn row_error(file: &Path, line: usize, reason: impl Into<String>) -> Error {
    Error::Input {
        file: file.display().to_string(),
        line,
        reason: reason.into(),
    }
}

/// Parses manifest CSV `bytes` read from `manifest` (used for messages and
/// to resolve relative paths).
pub fn parse_manifest(bytes: &[u8], manifest: &Path) -> Result<ManifestReport> {
    let file = manifest.display().to_string();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::InvalidFile {
            file,
            reason: "empty manifest: it needs a header row with a `path` column and one row \
                     per recording"
                .to_string(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|error| Error::InvalidFile {
            file: file.clone(),
            reason: format!("unreadable header row: {error}"),
        })?
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let column = |name: &str| headers.iter().position(|header| header == name);
    let Some(path_column) = column("path") else {
        return Err(Error::InvalidFile {
            file,
            reason: format!(
                "no `path` column: the header row must name one (found: {}); see docs/formats.md §1",
                headers.join(", ")
            ),
        });
    };
    let base = manifest.parent().unwrap_or(Path::new(""));
    let mut report = ManifestReport::default();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error
                    .position()
                    .map_or(0, |position| position.line() as usize);
                report.errors.push(row_error(
                    manifest,
                    line,
                    format!("unreadable row: {error}"),
                ));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |position| position.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() > headers.len() {
            report.errors.push(row_error(
                manifest,
                line,
                format!(
                    "{} fields but the header has {} columns: quote values that contain commas",
                    record.len(),
                    headers.len()
                ),
            ));
            continue;
        }
        let field = |name: &str| {
            column(name)
                .and_then(|index| record.get(index))
                .filter(|value| !value.is_empty())
                .map(str::to_string)
        };
        match parse_row(&record, path_column, &headers, base, &field) {
            Ok(entry) => {
                if let Some(first) = first_line.get(&entry.call_id) {
                    report.errors.push(row_error(
                        manifest,
                        line,
                        format!(
                            "duplicate call_id '{}' (first on line {first}): give each call \
                             its own call_id",
                            entry.call_id
                        ),
                    ));
                    continue;
                }
                first_line.insert(entry.call_id.clone(), line);
                report.entries.push(entry);
            }
            Err(reason) => report.errors.push(row_error(manifest, line, reason)),
        }
    }
    Ok(report)
}

fn parse_row(
    record: &csv::StringRecord,
    path_column: usize,
    headers: &[String],
    base: &Path,
    field: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<AudioEntry, String> {
    let raw_path = record.get(path_column).unwrap_or("");
    if raw_path.is_empty() {
        return Err("empty path".to_string());
    }
    let url = raw_path.starts_with("http://") || raw_path.starts_with("https://");
    let path = {
        let given = PathBuf::from(raw_path);
        if given.is_absolute() || url {
            given
        } else {
            base.join(given)
        }
    };
    match std::fs::metadata(&path) {
        // Read by the worker that takes the job (`callscope submit`).
        _ if url => {}
        Err(_) => {
            return Err(format!(
                "no such file: {} (paths are relative to the manifest's folder)",
                path.display()
            ))
        }
        Ok(metadata) => {
            if let Some(reason) = not_a_recording(&metadata) {
                return Err(format!("{}: {reason}", path.display()));
            }
        }
    }
    let channels = match field("channels") {
        None => None,
        Some(value) => Some(ChannelLayout::parse(&value).ok_or_else(|| {
            format!("bad channels value '{value}': use agent-left, agent-right or mono, or leave it empty")
        })?),
    };
    let started_at = match field("started_at") {
        Some(value) => {
            DateTime::parse_from_rfc3339(&value).map_err(|_| {
                format!(
                    "bad started_at '{value}': use RFC 3339 with an offset, e.g. \
                     2026-09-01T09:30:00+08:00"
                )
            })?;
            value
        }
        None if url => {
            return Err(format!(
                "{}: a recording at a URL needs its started_at (there is no file time to \
                 take it from)",
                describe_url(raw_path)
            ))
        }
        None => modified_at(&path).map_err(|error| error.to_string())?,
    };
    let call_id = match field("call_id") {
        Some(call_id) => call_id,
        None => stem(Path::new(&describe_url(raw_path)))?,
    };
    let meta: BTreeMap<String, String> = headers
        .iter()
        .zip(record.iter())
        .filter(|(header, value)| {
            !KNOWN_COLUMNS.contains(&header.as_str()) && !value.is_empty() && !header.is_empty()
        })
        .map(|(header, value)| (header.clone(), value.to_string()))
        .collect();
    Ok(AudioEntry {
        path,
        call_id,
        started_at: Some(started_at),
        agent_id: field("agent_id"),
        team: field("team"),
        queue: field("queue"),
        channels,
        meta,
    })
}

fn stem(path: &Path) -> std::result::Result<String, String> {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .map(str::to_string)
        .filter(|stem| !stem.is_empty())
        .ok_or_else(|| {
            format!(
                "cannot make a call_id from {}: add a call_id column",
                path.display()
            )
        })
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            AUDIO_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
        })
}

/// Every audio file under `folder` (recursively, hidden entries skipped),
/// sorted by path, with the defaults: call_id the file stem, started_at the
/// modification time, channels by channel count. A name with an audio
/// extension that is not a regular file (a named pipe, a device, a link to
/// a folder) is skipped with a warning: reading a pipe would wait forever.
pub fn scan_directory(folder: &Path) -> Result<ManifestReport> {
    let mut report = ManifestReport::default();
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries =
            std::fs::read_dir(&directory).map_err(|error| Error::io(&directory, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| Error::io(&directory, error))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(|error| Error::io(&path, error))?;
            if kind.is_dir() {
                pending.push(path);
            } else if is_audio(&path) {
                // Links are followed; a dangling one is kept, to fail with
                // its own error.
                let skipped = std::fs::metadata(&path)
                    .ok()
                    .and_then(|metadata| not_a_recording(&metadata));
                match skipped {
                    Some(reason) => report
                        .warnings
                        .push(format!("skipped {}: {reason}", path.display())),
                    None => files.push(path),
                }
            }
        }
    }
    files.sort();
    report.warnings.sort();
    let mut first: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let call_id = match stem(&path) {
            Ok(call_id) => call_id,
            Err(reason) => {
                report.errors.push(Error::InvalidFile {
                    file: path.display().to_string(),
                    reason,
                });
                continue;
            }
        };
        if let Some(earlier) = first.get(&call_id) {
            report.errors.push(Error::InvalidFile {
                file: path.display().to_string(),
                reason: format!(
                    "call_id '{call_id}' is also the name of {}: rename one or list them in a \
                     manifest with their own call_id",
                    earlier.display()
                ),
            });
            continue;
        }
        let started_at = match modified_at(&path) {
            Ok(started_at) => started_at,
            Err(error) => {
                report.errors.push(error);
                continue;
            }
        };
        first.insert(call_id.clone(), path.clone());
        report.entries.push(AudioEntry {
            path,
            call_id,
            started_at: Some(started_at),
            agent_id: None,
            team: None,
            queue: None,
            channels: None,
            meta: BTreeMap::new(),
        });
    }
    Ok(report)
}

/// A manifest (a `.csv` file) or a folder to scan.
pub fn read_input(path: &Path) -> Result<ManifestReport> {
    if path.is_dir() {
        scan_directory(path)
    } else {
        read_manifest(path)
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn urls_are_named_without_their_credentials() {
        assert_eq!(
            describe_url("https://user:secret@rec.example.com:8443/a/b.wav?X-Signature=abc#t=1"),
            "https://rec.example.com:8443/a/b.wav"
        );
        assert_eq!(
            describe_url("http://10.0.0.5/c.mp3"),
            "http://10.0.0.5/c.mp3"
        );
        assert!(is_url(Path::new("https://h/x.wav")));
        assert!(!is_url(Path::new("/data/x.wav")));
        assert_eq!(describe_url("/data/a?b#c.wav"), "/data/a?b#c.wav");
    }

    #[test]
    fn a_manifest_row_may_name_a_url() {
        let folder = tempfile::tempdir().unwrap();
        let manifest = folder.path().join("m.csv");
        std::fs::write(
            &manifest,
            "path,call_id,started_at\n\
             https://rec.example.com/a.wav?sig=1,C1,2026-09-01T10:00:00+08:00\n\
             missing.wav,C2,2026-09-01T10:00:00+08:00\n\
             https://rec.example.com/b.wav?sig=1,C3,\n",
        )
        .unwrap();
        let report = read_manifest(&manifest).unwrap();
        assert_eq!(report.entries.len(), 1, "{:?}", report.errors);
        assert_eq!(
            report.entries[0].path,
            PathBuf::from("https://rec.example.com/a.wav?sig=1")
        );
        assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
        let errors = format!("{:?}", report.errors);
        assert!(errors.contains("missing.wav"), "{errors}");
        assert!(
            errors.contains("b.wav: a recording at a URL needs its started_at"),
            "{errors}"
        );
        assert!(!errors.contains("sig=1"), "{errors}");
    }
}
