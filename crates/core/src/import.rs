//! Transcript import: reads transcript JSON Lines (docs/formats.md §2) from
//! another ASR vendor or from `callscope transcribe`, validates every line and
//! hands good calls on in batches.
//!
//! A bad line never stops an import: it becomes a [`LineError`] naming the
//! line and the reason, and the other lines go on. Lines longer than
//! [`ImportOptions::max_line_bytes`] are skipped without being held in memory.

use std::io::BufRead;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::Call;

/// Limits and batch sizes for an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Longest accepted line in bytes; longer lines are refused.
    pub max_line_bytes: usize,
    /// Calls handed on (and committed) together, at most.
    pub batch_size: usize,
    /// Bytes of input lines held for one batch, at most: a batch is handed
    /// on when either bound is reached, so memory stays flat whatever the
    /// file's size and line lengths.
    pub batch_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            max_line_bytes: 16 * 1024 * 1024,
            batch_size: 2000,
            batch_bytes: 32 * 1024 * 1024,
        }
    }
}

/// A refused input line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// The call id, when the line got far enough to have one.
    pub call_id: Option<String>,
    /// What is wrong and what to do.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Lines read (blank lines included).
    pub lines: usize,
    /// Calls accepted and handed on.
    pub calls: usize,
    /// Segments in the accepted calls.
    pub segments: usize,
    /// Calls whose segments were out of order and were sorted.
    pub sorted: usize,
    /// Refused lines.
    pub failed: Vec<LineError>,
    /// Bytes read.
    pub bytes: u64,
}

/// The transcript importer (a stage: built once, run on readers).
#[derive(Debug, Clone, Default)]
pub struct Importer {
    options: ImportOptions,
}

/// A parsed line: a call (and whether it was sorted), a blank line, or a
/// refusal.
type ParsedLine = std::result::Result<Option<(Call, bool)>, LineError>;

/// One raw line: its number and bytes, or the reason it was refused while
/// reading.
enum RawLine {
    Text(usize, Vec<u8>),
    TooLong(usize, usize),
}

impl Importer {
    /// Builds an importer with these limits.
    pub fn new(options: ImportOptions) -> Importer {
        Importer { options }
    }

    /// Reads all lines of `reader`, calling `accept` with each batch of valid
    /// calls (in input order) and `progress` with bytes read so far.
    /// `source` names the input in errors.
    pub fn run(
        &self,
        reader: &mut dyn BufRead,
        source: &str,
        mut accept: impl FnMut(Vec<Call>) -> Result<()>,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        let mut pending = Vec::with_capacity(self.options.batch_size);
        let mut pending_bytes = 0usize;
        // Where each call id was first seen in this input.
        let mut first_lines: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        loop {
            let raw = self.read_line(reader, source, &mut report)?;
            let finished = raw.is_none();
            if let Some(raw) = raw {
                if let RawLine::Text(_, bytes) = &raw {
                    pending_bytes += bytes.len();
                }
                pending.push(raw);
            }
            if pending.len() >= self.options.batch_size
                || pending_bytes >= self.options.batch_bytes
                || (finished && !pending.is_empty())
            {
                let batch = std::mem::take(&mut pending);
                pending_bytes = 0;
                let parsed: Vec<(usize, ParsedLine)> = batch
                    .into_par_iter()
                    .map(|raw| match raw {
                        RawLine::Text(line, bytes) => (line, parse_line(line, &bytes)),
                        RawLine::TooLong(line, length) => (
                            line,
                            Err(LineError {
                                line,
                                call_id: None,
                                reason: format!(
                                    "line is {length} bytes, over the limit of {} bytes; \
                                         split the call or raise --max-line-bytes",
                                    self.options.max_line_bytes
                                ),
                            }),
                        ),
                    })
                    .collect();
                let mut calls = Vec::with_capacity(parsed.len());
                for (line, outcome) in parsed {
                    match outcome {
                        Ok(Some((call, _))) if first_lines.contains_key(&call.call_id) => {
                            let first = first_lines.get(&call.call_id).copied().unwrap_or(0);
                            report.failed.push(LineError {
                                line,
                                reason: format!(
                                    "call_id '{}' already appeared on line {first}; each call \
                                     once per file (the first one was kept)",
                                    call.call_id
                                ),
                                call_id: Some(call.call_id),
                            });
                        }
                        Ok(Some((call, was_sorted))) => {
                            first_lines.insert(call.call_id.clone(), line);
                            report.segments += call.segments.len();
                            report.sorted += usize::from(was_sorted);
                            calls.push(call);
                        }
                        Ok(None) => {}
                        Err(error) => report.failed.push(error),
                    }
                }
                report.calls += calls.len();
                if !calls.is_empty() {
                    accept(calls)?;
                }
                progress(report.bytes);
            }
            if finished {
                break;
            }
        }
        if report.lines == 0 || (report.calls == 0 && report.failed.is_empty()) {
            return Err(Error::InvalidFile {
                file: source.to_string(),
                reason: "no calls in the input (the file is empty or blank); \
                         expected one JSON transcript per line (docs/formats.md §2)"
                    .to_string(),
            });
        }
        Ok(report)
    }

    /// Reads one line, bounded by the line limit. `None` at end of input.
    fn read_line(
        &self,
        reader: &mut dyn BufRead,
        source: &str,
        report: &mut ImportReport,
    ) -> Result<Option<RawLine>> {
        let mut line = Vec::new();
        let mut length = 0usize;
        let mut too_long = false;
        loop {
            let buffer = reader
                .fill_buf()
                .map_err(|error| Error::io(source, error))?;
            if buffer.is_empty() {
                if length == 0 {
                    return Ok(None);
                }
                break;
            }
            let (chunk, found_newline) = match memchr::memchr(b'\n', buffer) {
                Some(position) => (&buffer[..position], true),
                None => (buffer, false),
            };
            length += chunk.len();
            if length > self.options.max_line_bytes {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
            let consumed = chunk.len() + usize::from(found_newline);
            reader.consume(consumed);
            report.bytes += consumed as u64;
            if found_newline {
                length += 1;
                break;
            }
        }
        report.lines += 1;
        if too_long {
            return Ok(Some(RawLine::TooLong(report.lines, length)));
        }
        Ok(Some(RawLine::Text(report.lines, line)))
    }
}

/// Parses and validates one line. `Ok(None)` for a blank line; the flag says
/// whether the segments had to be sorted.
fn parse_line(line: usize, bytes: &[u8]) -> std::result::Result<Option<(Call, bool)>, LineError> {
    let refuse = |call_id: Option<String>, reason: String| LineError {
        line,
        call_id,
        reason,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            return Err(refuse(
                None,
                format!(
                    "invalid UTF-8 at byte {} of the line; re-encode the file as UTF-8 \
                     (for GBK exports: iconv -f GBK -t UTF-8)",
                    error.valid_up_to() + 1
                ),
            ))
        }
    };
    let text = text.trim_end_matches('\r').trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        let reason = if error.is_eof() {
            format!("truncated JSON ({error}); the line ends before the call does")
        } else {
            format!("not valid JSON ({error})")
        };
        refuse(None, reason)
    })?;
    let call_id = value
        .get("call_id")
        .and_then(|id| id.as_str())
        .map(str::to_string);
    let Some(object) = value.as_object() else {
        return Err(refuse(
            None,
            "expected a JSON object with call_id and segments".to_string(),
        ));
    };
    match object.get("call_id") {
        None => return Err(refuse(None, "missing call_id".to_string())),
        Some(serde_json::Value::String(id)) if id.trim().is_empty() => {
            return Err(refuse(None, "call_id is empty".to_string()))
        }
        Some(serde_json::Value::String(_)) => {}
        Some(other) => {
            return Err(refuse(
                None,
                format!("call_id must be a string, found {}", json_kind(other)),
            ))
        }
    }
    if !object.contains_key("segments") {
        return Err(refuse(call_id, "missing segments".to_string()));
    }
    let mut call: Call = serde_json::from_value(value)
        .map_err(|error| refuse(call_id.clone(), format!("wrong field type: {error}")))?;
    validate(&call).map_err(|reason| refuse(call_id.clone(), reason))?;
    let was_sorted = call
        .segments
        .windows(2)
        .any(|pair| pair[1].start < pair[0].start);
    if was_sorted {
        call.sort_segments();
    }
    Ok(Some((call, was_sorted)))
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The longest time accepted anywhere in a transcript, in seconds (a week):
/// anything later is a unit mistake or a corrupt file, not a call.
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// Checks what serde's types cannot: times, timestamps, durations,
/// confidences, silences.
pub fn validate(call: &Call) -> std::result::Result<(), String> {
    if let Some(started_at) = &call.started_at {
        if crate::model::parse_timestamp(started_at).is_none() {
            return Err(format!(
                "started_at '{started_at}' is not an RFC 3339 timestamp with offset \
                 (e.g. 2026-09-01T09:30:00+08:00)"
            ));
        }
    }
    if let Some(duration) = call.duration {
        if !duration.is_finite() || !(0.0..=MAX_SECONDS).contains(&duration) {
            return Err(format!(
                "duration {duration} must be a number of seconds between 0 and {MAX_SECONDS}"
            ));
        }
    }
    for (index, segment) in call.segments.iter().enumerate() {
        check_span(&format!("segment {index}"), segment.start, segment.end)?;
        check_share(&format!("segment {index}: confidence"), segment.confidence)?;
        check_share(
            &format!("segment {index}: role_confidence"),
            segment.role_confidence,
        )?;
    }
    for (index, silence) in call.silences.iter().enumerate() {
        check_span(&format!("silence {index}"), silence.start, silence.end)?;
    }
    Ok(())
}

/// A start and end in seconds from the start of the recording: finite, in
/// order, within [`MAX_SECONDS`].
fn check_span(what: &str, start: f64, end: f64) -> std::result::Result<(), String> {
    if !start.is_finite() || !end.is_finite() {
        return Err(format!("{what}: start and end must be finite numbers"));
    }
    if start < 0.0 {
        return Err(format!(
            "{what}: negative start {start}; times are seconds from the start of the recording"
        ));
    }
    if end < start {
        return Err(format!(
            "{what}: end {end} is before start {start} (reversed times)"
        ));
    }
    if end > MAX_SECONDS {
        return Err(format!(
            "{what}: end {end} is more than a week of seconds ({MAX_SECONDS}); times are \
             seconds from the start of the recording, not milliseconds or timestamps"
        ));
    }
    Ok(())
}

/// An optional share between 0 and 1.
fn check_share(what: &str, value: Option<f64>) -> std::result::Result<(), String> {
    match value {
        Some(value) if !(0.0..=1.0).contains(&value) => {
            Err(format!("{what} {value} is outside 0..1"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(input: &[u8], options: ImportOptions) -> Result<(ImportReport, Vec<Call>)> {
        let mut calls = Vec::new();
        let report = Importer::new(options).run(
            &mut std::io::Cursor::new(input),
            "test.jsonl",
            |batch| {
                calls.extend(batch);
                Ok(())
            },
            |_| {},
        )?;
        Ok((report, calls))
    }

    fn check(line: &str, expected_reason: &str) {
        let input = format!(
            "{{\"call_id\":\"ok\",\"segments\":[]}}\n{line}\n{{\"call_id\":\"ok2\",\"segments\":[]}}\n"
        );
        let (report, calls) = import(input.as_bytes(), ImportOptions::default()).unwrap();
        assert_eq!(calls.len(), 2, "good lines survive: {line}");
        assert_eq!(report.failed.len(), 1, "{line}");
        assert_eq!(report.failed[0].line, 2);
        assert!(
            report.failed[0].reason.contains(expected_reason),
            "{line}: {}",
            report.failed[0].reason
        );
    }

    #[test]
    fn bad_lines_name_the_reason() {
        check(
            r#"{"call_id":"x","segments":[{"start":0,"#,
            "truncated JSON",
        );
        check(r#"{"segments":[]}"#, "missing call_id");
        check(r#"{"call_id":"x"}"#, "missing segments");
        check(r#"{"call_id":7,"segments":[]}"#, "call_id must be a string");
        check(
            r#"{"call_id":"x","segments":[{"start":"a","end":1,"role":"agent","text":""}]}"#,
            "wrong field type",
        );
        check(
            r#"{"call_id":"x","segments":[{"start":-1,"end":1,"role":"agent","text":""}]}"#,
            "negative start",
        );
        check(
            r#"{"call_id":"x","segments":[{"start":3,"end":1,"role":"agent","text":""}]}"#,
            "reversed times",
        );
        check(
            r#"{"call_id":"x","segments":[{"start":0,"end":1,"role":"boss","text":""}]}"#,
            "unknown variant",
        );
        check(
            r#"{"call_id":"x","started_at":"yesterday","segments":[]}"#,
            "not an RFC 3339",
        );
        check("[1,2,3]", "expected a JSON object");
        check(
            r#"{"call_id":"x","segments":[{"start":0,"end":1e308,"role":"agent","text":""}]}"#,
            "more than a week",
        );
        check(
            r#"{"call_id":"x","duration":1e308,"segments":[]}"#,
            "between 0 and",
        );
        check(
            r#"{"call_id":"x","segments":[{"start":0,"end":1,"role":"agent","text":"","role_confidence":7}]}"#,
            "role_confidence 7 is outside 0..1",
        );
        check(
            r#"{"call_id":"x","segments":[],"silences":[{"start":5,"end":2}]}"#,
            "silence 0: end 2 is before start 5",
        );
        check(
            r#"{"call_id":"x","segments":[],"silences":[{"start":-1,"end":2}]}"#,
            "silence 0: negative start",
        );
    }

    #[test]
    fn batches_are_bounded_by_bytes_as_well_as_by_calls() {
        let text = "好".repeat(200);
        let input: String = (0..20)
            .map(|index| {
                format!(
                    r#"{{"call_id":"C{index}","segments":[{{"start":0,"end":1,"role":"agent","text":"{text}"}}]}}"#
                ) + "\n"
            })
            .collect();
        let mut sizes = Vec::new();
        Importer::new(ImportOptions {
            batch_size: 1000,
            batch_bytes: 2000,
            ..ImportOptions::default()
        })
        .run(
            &mut std::io::Cursor::new(input.as_bytes()),
            "big.jsonl",
            |batch| {
                sizes.push(batch.len());
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        // Each line is about 660 bytes: three lines fill a 2,000-byte batch.
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(sizes.iter().all(|size| *size <= 4), "{sizes:?}");
    }

    #[test]
    fn a_call_id_twice_in_one_file_is_reported_and_kept_once() {
        let input = concat!(
            r#"{"call_id":"a","segments":[]}"#,
            "\n",
            r#"{"call_id":"b","segments":[]}"#,
            "\n",
            r#"{"call_id":"a","segments":[{"start":0,"end":1,"role":"agent","text":"again"}]}"#,
            "\n",
        );
        for batch_size in [1, 2, 10] {
            let (report, calls) = import(
                input.as_bytes(),
                ImportOptions {
                    batch_size,
                    ..ImportOptions::default()
                },
            )
            .unwrap();
            assert_eq!(report.calls, 2);
            let ids: Vec<&str> = calls.iter().map(|call| call.call_id.as_str()).collect();
            assert_eq!(ids, ["a", "b"]);
            assert!(calls[0].segments.is_empty(), "the first line is kept");
            assert_eq!(report.failed.len(), 1);
            assert_eq!(report.failed[0].line, 3);
            assert!(report.failed[0]
                .reason
                .contains("already appeared on line 1"));
        }
    }

    #[test]
    fn non_utf8_bytes_are_refused_with_their_line() {
        let mut input = b"{\"call_id\":\"a\",\"segments\":[]}\n".to_vec();
        input.extend_from_slice(b"{\"call_id\":\"\xc4\xe3\",\"segments\":[]}\n");
        let (report, calls) = import(&input, ImportOptions::default()).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(report.failed[0].line, 2);
        assert!(report.failed[0].reason.contains("UTF-8"));
    }

    #[test]
    fn overlong_lines_are_refused_without_buffering_them() {
        let options = ImportOptions {
            max_line_bytes: 100,
            batch_size: 10,
            ..ImportOptions::default()
        };
        let long = format!("{{\"call_id\":\"{}\",\"segments\":[]}}", "x".repeat(500));
        let input = format!("{long}\n{{\"call_id\":\"b\",\"segments\":[]}}\n");
        let (report, calls) = import(input.as_bytes(), options).unwrap();
        assert_eq!(calls.len(), 1);
        assert!(report.failed[0]
            .reason
            .contains("over the limit of 100 bytes"));
    }

    #[test]
    fn out_of_order_segments_are_sorted() {
        let input = r#"{"call_id":"x","segments":[{"start":5,"end":6,"role":"agent","text":"b"},{"start":1,"end":2,"role":"customer","text":"a"}]}"#;
        let (report, calls) = import(input.as_bytes(), ImportOptions::default()).unwrap();
        assert_eq!(report.sorted, 1);
        assert_eq!(calls[0].segments[0].text, "a");
    }

    #[test]
    fn an_empty_file_is_an_error() {
        let error = import(b"", ImportOptions::default()).err().unwrap();
        assert!(
            error.to_string().contains("no calls in the input"),
            "{error}"
        );
        let error = import(b"\n  \n", ImportOptions::default()).err().unwrap();
        assert!(
            error.to_string().contains("no calls in the input"),
            "{error}"
        );
    }

    #[test]
    fn a_last_line_without_newline_is_read() {
        let (_, calls) = import(
            b"{\"call_id\":\"a\",\"segments\":[]}",
            ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(calls.len(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Arbitrary bytes, and JSONL-looking lines spliced with them, are
        /// imported or refused line by line; the importer never panics.
        #[test]
        fn arbitrary_jsonl_bytes_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            lines in proptest::collection::vec(
                "\\{\"call_id\":\"[a-z0-9]{0,3}\",\"segments\":\\[(\\{\"start\":-?[0-9]{1,3}(\\.5)?,\"end\":[0-9e+]{1,4},\"role\":\"(agent|customer|x)\",\"text\":\"\\PC{0,6}\"\\},?){0,3}\\]\\}?",
                0..8,
            ),
        ) {
            let mut input = lines.join("\n").into_bytes();
            input.push(b'\n');
            input.extend_from_slice(&bytes);
            let _ = import(&input, ImportOptions::default());
            let _ = import(&bytes, ImportOptions::default());
        }
    }
}
