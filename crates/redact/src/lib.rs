//! Personal data (PIPL): find mobile, landline, ID and bank card numbers and
//! email addresses in transcripts, mask them in everything stored for
//! display, seal the originals for QA, and audit a workspace for leaks.
//!
//! ```
//! use callscope_core::model::{Call, Role, Segment};
//! use callscope_redact::{RedactionPolicy, Redactor, SealKey};
//!
//! let redactor = Redactor::new(RedactionPolicy::default(), Some(SealKey::generate()?))?;
//! assert_eq!(redactor.mask_text("我的手机号是一三八一二三四五六七八。"), "我的手机号是138****5678。");
//!
//! let call = Call {
//!     call_id: "C1".into(), started_at: None, agent_id: None, team: None, queue: None,
//!     duration: None, meta: Default::default(), asr_model: None, audio_sha256: None,
//!     silences: Vec::new(), audio_path: None,
//!     segments: vec![Segment { start: 2.0, end: 6.0, role: Role::Customer,
//!         text: "身份证号11010519491231002X".into(), confidence: None, role_confidence: None }],
//! };
//! let (masked, sealed) = redactor.redact_call(&call);
//! assert_eq!(masked.segments[0].text, "身份证号110***********002X");
//! assert_eq!(masked.segments[0].start, 2.0); // times are kept
//! // QA scores on the original, opened with the key:
//! let original = redactor.unseal(&masked, &sealed.unwrap())?;
//! assert_eq!(original, call);
//! # Ok::<(), callscope_core::error::Error>(())
//! ```
//!
//! Where redaction happens: `callscope import` masks every call before the
//! store sees it (the store never holds clear personal data for display);
//! QA calls [`Redactor::unseal`] to score on the original and
//! [`Redactor::mask_qa_result`] before storing or printing results;
//! `callscope show` masks again at display time (calls stored before the
//! policy); `callscope redact --apply` masks a workspace in place;
//! `callscope redact --check` audits every surface ([`audit`]).

pub mod audio;
pub mod audit;
pub mod checksum;
pub mod detect;
pub mod mask;
pub mod numerals;
pub mod policy;
pub mod seal;
pub mod subject;
pub mod surrogate;
mod view;
mod warnings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

pub use detect::{Cue, Detection, Detector};
pub use policy::{KindRule, MaskStyle, RedactionPolicy};
pub use seal::SealKey;
pub use subject::{SubjectKey, SUBJECT_KEY_ENV};

use callscope_core::error::{Error, Result};
use callscope_core::model::{
    Call, CallRedaction, PiiKind, QaResult, RedactedSpan, SealedOriginal, SubjectDigest,
};
use callscope_store::workspace::Workspace;

/// The environment variable that names the seal key file; it wins over the
/// config's `seal_key_file`.
pub const SEAL_KEY_ENV: &str = "CALLSCOPE_SEAL_KEY_FILE";

/// Where one detection was found in a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The text of segment `n`.
    Segment(usize),
    /// A meta value, by key.
    Meta(String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Segment(index) => write!(formatter, "segment {index}"),
            Place::Meta(key) => write!(formatter, "meta {key}"),
        }
    }
}

/// A masked call with what was done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Redaction {
    /// The call with masked text (times unchanged).
    pub call: Call,
    /// The spans and the sealed originals, for the store.
    pub record: CallRedaction,
    /// The kind of every masked item, in segments and meta values.
    pub masked: Vec<PiiKind>,
}

/// Counters of a redaction batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RedactionCounts {
    /// Calls looked at.
    pub calls: u64,
    /// Calls with at least one masked item.
    pub calls_masked: u64,
    /// Masked items per kind.
    pub items: BTreeMap<PiiKind, u64>,
    /// Calls whose originals were sealed.
    pub sealed: u64,
}

impl RedactionCounts {
    /// Adds another batch's counters.
    pub fn add(&mut self, other: &RedactionCounts) {
        self.calls += other.calls;
        self.calls_masked += other.calls_masked;
        self.sealed += other.sealed;
        for (kind, count) in &other.items {
            *self.items.entry(*kind).or_default() += count;
        }
    }

    /// All masked items.
    pub fn total_items(&self) -> u64 {
        self.items.values().sum()
    }
}

/// A redacted batch of calls.
#[derive(Debug, Clone, Default)]
pub struct RedactedBatch {
    /// The masked calls, in input order.
    pub calls: Vec<Call>,
    /// One record per call (empty spans for calls without personal data, so
    /// that stale spans and seals of a re-imported call are cleared).
    pub records: Vec<CallRedaction>,
    /// What was masked.
    pub counts: RedactionCounts,
}

/// The redaction stage: a policy, the detector and the optional seal key,
/// built once and shared across threads.
#[derive(Debug, Clone)]
pub struct Redactor {
    policy: RedactionPolicy,
    detector: Detector,
    key: Option<SealKey>,
    subject_key: Option<SubjectKey>,
}

impl Redactor {
    /// A redactor with this policy and seal key (`None`: originals are not
    /// kept at all).
    pub fn new(policy: RedactionPolicy, key: Option<SealKey>) -> Result<Redactor> {
        let mask = policy.mask_char;
        if mask.is_alphanumeric() || mask.is_whitespace() || numerals::digit_value(mask).is_some() {
            return Err(Error::Config {
                file: "callscope.toml".to_string(),
                reason: format!(
                    "[redaction] mask_char '{mask}' must not be a letter, digit or space; use '*'"
                ),
            });
        }
        Ok(Redactor {
            policy,
            detector: Detector::new(),
            key,
            subject_key: None,
        })
    }

    /// The same redactor, also recording the keyed hash of every value it
    /// masks (for `forget --subject`).
    pub fn with_subject_key(mut self, key: Option<SubjectKey>) -> Redactor {
        self.subject_key = key;
        self
    }

    /// The workspace's policy (`[redaction]`) with the seal key from
    /// `CALLSCOPE_SEAL_KEY_FILE` or the config's `seal_key_file`. A key
    /// configured but unreadable, or kept inside the workspace, is an error:
    /// originals are never dropped or exposed silently.
    pub fn from_workspace(workspace: &Workspace) -> Result<Redactor> {
        let config = workspace.config()?;
        let policy: RedactionPolicy = config.section("redaction")?;
        let key_path = match std::env::var_os(SEAL_KEY_ENV).filter(|value| !value.is_empty()) {
            Some(path) => Some(PathBuf::from(path)),
            None => policy
                .seal_key_file
                .as_ref()
                .map(|path| match config.base_dir() {
                    Some(base) if path.is_relative() => base.join(path),
                    _ => path.clone(),
                }),
        };
        let key = match key_path {
            Some(path) if policy.masks_anything() => {
                refuse_inside_workspace(&path, workspace.root())?;
                Some(SealKey::load(&path)?)
            }
            _ => None,
        };
        let subject_key = match subject_key_path(workspace, &policy)? {
            Some(path) if policy.masks_anything() => Some(SubjectKey::load(&path)?),
            _ => None,
        };
        Ok(Redactor::new(policy, key)?.with_subject_key(subject_key))
    }

    /// The workspace's subject key (`CALLSCOPE_SUBJECT_KEY_FILE` or the
    /// config's `subject_key_file`), or `None` when none is configured.
    pub fn subject_key_of(workspace: &Workspace) -> Result<Option<SubjectKey>> {
        let policy: RedactionPolicy = workspace.config()?.section("redaction")?;
        subject_key_path(workspace, &policy)?
            .map(|path| SubjectKey::load(&path))
            .transpose()
    }

    /// The workspace's policy without a key: for masking at display time,
    /// where originals are never needed.
    pub fn for_display(workspace: &Workspace) -> Result<Redactor> {
        let policy: RedactionPolicy = workspace.config()?.section("redaction")?;
        Redactor::new(policy, None)
    }

    /// The workspace's policy for auditing: the kinds it masks, or every
    /// kind when redaction is disabled (an audit reports what is there
    /// whatever the policy). No key is needed. The flag says whether the
    /// policy was disabled.
    pub fn for_audit(workspace: &Workspace) -> Result<(Redactor, bool)> {
        let mut policy: RedactionPolicy = workspace.config()?.section("redaction")?;
        let disabled = !policy.enabled;
        if disabled {
            policy = RedactionPolicy {
                mask_char: policy.mask_char,
                ..RedactionPolicy::default()
            };
        }
        Ok((Redactor::new(policy, None)?, disabled))
    }

    /// The policy.
    pub fn policy(&self) -> &RedactionPolicy {
        &self.policy
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The seal key, when one is configured (for re-sealing under a new
    /// key: `callscope redact rekey`).
    pub fn seal_key(&self) -> Option<&SealKey> {
        self.key.as_ref()
    }

    /// The subject key, when one is configured.
    pub fn subject_key(&self) -> Option<&SubjectKey> {
        self.subject_key.as_ref()
    }

    /// The seal key's id, when originals are sealed.
    pub fn key_id(&self) -> Option<&str> {
        self.key.as_ref().map(SealKey::id)
    }

    /// Detections in `text` of the kinds the policy masks.
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        self.detect_with_hint(text, None)
    }

    fn detect_with_hint(&self, text: &str, hint: Option<Cue>) -> Vec<Detection> {
        if !self.policy.masks_anything() {
            return Vec::new();
        }
        let mut found = self.detector.detect_with_hint(text, hint);
        found.retain(|detection| self.policy.masks(detection.kind));
        found
    }

    /// `text` with its personal data masked (for QA evidence, digests, logs,
    /// error messages, search snippets).
    pub fn mask_text(&self, text: &str) -> String {
        let found = self.detect(text);
        if found.is_empty() {
            return text.to_string();
        }
        mask::apply(text, &found, &self.policy).0
    }

    /// Every detection in a call, segment by segment (each segment gets the
    /// previous segment's last cue as a hint: the agent asks for the ID
    /// number, the customer reads it out) and in meta values.
    pub fn find_in_call(&self, call: &Call) -> Vec<(Place, Detection)> {
        let mut found = Vec::new();
        if !self.policy.masks_anything() {
            return found;
        }
        for (index, segment) in call.segments.iter().enumerate() {
            if !detect::might_hold_pii(&segment.text) {
                continue;
            }
            let hint = index
                .checked_sub(1)
                .and_then(|previous| self.detector.trailing_cue(&call.segments[previous].text));
            for detection in self.detect_with_hint(&segment.text, hint) {
                found.push((Place::Segment(index), detection));
            }
        }
        for (key, value) in &call.meta {
            for detection in self.detect_with_hint(value, meta_cue(key)) {
                found.push((Place::Meta(key.clone()), detection));
            }
        }
        found
    }

    /// Masks a call: segment texts and meta values get masked text, times
    /// and everything else stay. Returns the masked call and, with a seal
    /// key, the sealed originals.
    pub fn redact(&self, call: &Call) -> Result<Redaction> {
        self.redact_owned(call.clone())
    }

    /// [`Redactor::redact`] on a call the caller gives up (no copy when the
    /// call holds no personal data).
    pub fn redact_owned(&self, call: Call) -> Result<Redaction> {
        let found = self.find_in_call(&call);
        let subjects = self.subjects_of(&found);
        if found.is_empty() {
            let call_id = call.call_id.clone();
            return Ok(Redaction {
                call,
                record: CallRedaction {
                    call_id,
                    spans: Vec::new(),
                    sealed: None,
                    subjects,
                },
                masked: Vec::new(),
            });
        }
        let mut masked = call;
        let mut spans = Vec::new();
        let mut payload = seal::SealedPayload::new();
        let mut by_place: Vec<(Place, Vec<Detection>)> = Vec::new();
        for (place, detection) in found {
            match by_place.last_mut() {
                Some((last, detections)) if *last == place => detections.push(detection),
                _ => by_place.push((place, vec![detection])),
            }
        }
        let mut kinds = Vec::new();
        for (place, detections) in by_place {
            match place {
                Place::Segment(index) => {
                    let segment = &masked.segments[index];
                    let (text, placed) =
                        mask::apply_placed(&segment.text, &detections, &self.policy);
                    for place in placed {
                        let detection = place.detection;
                        kinds.push(detection.kind);
                        let (start, end) =
                            audio::estimate_times(segment, detection.start, detection.end);
                        // Milliseconds are plenty, and survive JSON exactly.
                        let millis = |seconds: f64| (seconds * 1000.0).round() / 1000.0;
                        // The form it was said in (no digits), for QA's
                        // stand-in; emails are stood in for by their mask.
                        let shape = (detection.kind != PiiKind::Email).then(|| {
                            surrogate::shape_of(
                                &segment.text[detection.byte_start..detection.byte_end],
                            )
                        });
                        spans.push(RedactedSpan {
                            segment: index,
                            kind: detection.kind,
                            char_start: detection.start,
                            char_end: detection.end,
                            start: millis(start),
                            end: millis(end),
                            masked_start: Some(place.masked_start),
                            masked_end: Some(place.masked_end),
                            shape,
                        });
                    }
                    let original =
                        std::mem::replace(&mut masked.segments[index].text, text.clone());
                    payload.segments.push(seal::SealedText {
                        place: index.to_string(),
                        masked: text,
                        original,
                    });
                }
                Place::Meta(key) => {
                    let original = masked.meta[&key].clone();
                    let (text, applied) = mask::apply(&original, &detections, &self.policy);
                    kinds.extend(applied.iter().map(|detection| detection.kind));
                    masked.meta.insert(key.clone(), text.clone());
                    payload.meta.push(seal::SealedText {
                        place: key,
                        masked: text,
                        original,
                    });
                }
            }
        }
        let anything = !payload.segments.is_empty() || !payload.meta.is_empty();
        let sealed = match (&self.key, anything) {
            (Some(key), true) => Some(seal::seal(key, &masked.call_id, &payload)?),
            _ => None,
        };
        Ok(Redaction {
            record: CallRedaction {
                call_id: masked.call_id.clone(),
                spans,
                sealed,
                subjects,
            },
            masked: kinds,
            call: masked,
        })
    }

    /// The keyed hashes of the values found (none without a subject key),
    /// each value and kind once.
    fn subjects_of(&self, found: &[(Place, Detection)]) -> Vec<SubjectDigest> {
        let Some(key) = &self.subject_key else {
            return Vec::new();
        };
        let mut subjects: Vec<SubjectDigest> = found
            .iter()
            .map(|(_, detection)| key.subject(detection.kind, &detection.value))
            .collect();
        subjects.sort();
        subjects.dedup();
        subjects
    }

    /// Masks a call; returns the masked call and the sealed originals (none
    /// without a key or without personal data). Should sealing itself fail
    /// (no system randomness), the originals are not kept: the masked call
    /// is still right, only re-scoring on originals is lost.
    pub fn redact_call(&self, call: &Call) -> (Call, Option<SealedOriginal>) {
        match self.redact(call) {
            Ok(redaction) => (redaction.call, redaction.record.sealed),
            Err(_) => (self.mask_call(call), None),
        }
    }

    /// Masks a batch of calls in parallel.
    pub fn redact_batch(&self, calls: Vec<Call>) -> Result<RedactedBatch> {
        let redactions: Vec<Redaction> = calls
            .into_par_iter()
            .map(|call| self.redact_owned(call))
            .collect::<Result<_>>()?;
        let mut batch = RedactedBatch {
            calls: Vec::with_capacity(redactions.len()),
            records: Vec::with_capacity(redactions.len()),
            counts: RedactionCounts::default(),
        };
        for redaction in redactions {
            batch.counts.calls += 1;
            if !redaction.masked.is_empty() {
                batch.counts.calls_masked += 1;
            }
            for kind in &redaction.masked {
                *batch.counts.items.entry(*kind).or_default() += 1;
            }
            batch.counts.sealed += u64::from(redaction.record.sealed.is_some());
            batch.calls.push(redaction.call);
            batch.records.push(redaction.record);
        }
        Ok(batch)
    }

    /// A masked copy of `call` (no sealing): for display of calls that were
    /// stored before the policy, and for outputs built from stored calls.
    pub fn mask_call(&self, call: &Call) -> Call {
        let mut masked = call.clone();
        let mut by_place: BTreeMap<String, (Place, Vec<Detection>)> = BTreeMap::new();
        for (place, detection) in self.find_in_call(call) {
            let key = match &place {
                Place::Segment(index) => format!("s{index:010}"),
                Place::Meta(key) => format!("m{key}"),
            };
            by_place
                .entry(key)
                .or_insert_with(|| (place, Vec::new()))
                .1
                .push(detection);
        }
        for (_, (place, detections)) in by_place {
            match place {
                Place::Segment(index) => {
                    let text = &call.segments[index].text;
                    masked.segments[index].text = mask::apply(text, &detections, &self.policy).0;
                }
                Place::Meta(key) => {
                    let text = &call.meta[&key];
                    let value = mask::apply(text, &detections, &self.policy).0;
                    masked.meta.insert(key, value);
                }
            }
        }
        masked
    }

    /// A QA result with the evidence texts masked (QA scores on originals;
    /// what it stores and prints is masked).
    pub fn mask_qa_result(&self, result: &QaResult) -> QaResult {
        let mut masked = result.clone();
        for violation in &mut masked.violations {
            for evidence in &mut violation.evidence {
                evidence.text = self.mask_text(&evidence.text);
                evidence.matched = self.mask_text(&evidence.matched);
            }
        }
        masked
    }

    /// The original of a masked call, opened with the seal key: what QA
    /// scores on. Fails clearly without a key, with the wrong key, or when
    /// the stored call changed since it was sealed.
    pub fn unseal(&self, call: &Call, sealed: &SealedOriginal) -> Result<Call> {
        let Some(key) = &self.key else {
            return Err(Error::seal(format!(
                "call {} has sealed originals but no seal key is configured; set {SEAL_KEY_ENV} \
                 to the key file it was sealed with",
                call.call_id
            )));
        };
        if sealed.call_id != call.call_id {
            return Err(Error::seal(format!(
                "the sealed original of call {} cannot open call {}",
                sealed.call_id, call.call_id
            )));
        }
        let payload = seal::open(key, sealed)?;
        let mut original = call.clone();
        let changed = |place: &str| {
            Error::seal(format!(
                "call {} {place} changed since it was sealed; re-import the call",
                call.call_id
            ))
        };
        for text in payload.segments {
            let index: usize = text.place.parse().map_err(|_| changed(&text.place))?;
            let place = format!("segment {index}");
            let segment = original
                .segments
                .get_mut(index)
                .ok_or_else(|| changed(&place))?;
            if segment.text != text.masked {
                return Err(changed(&place));
            }
            segment.text = text.original;
        }
        for text in payload.meta {
            let place = format!("meta {}", text.place);
            match original.meta.get_mut(&text.place) {
                Some(value) if *value == text.masked => *value = text.original,
                _ => return Err(changed(&place)),
            }
        }
        Ok(original)
    }

    /// The masked form of one detection (what audits and logs may print
    /// instead of the value).
    pub fn masked_form(&self, detection: &Detection) -> String {
        mask::render(detection, &self.policy)
            .unwrap_or_else(|| mask::label(detection.kind).to_string())
    }
}

/// The cue a meta key gives its value (`caller_phone`, `身份证`, `card_no`).
fn meta_cue(key: &str) -> Option<Cue> {
    let key = key.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| key.contains(word));
    if has(&[
        "phone", "mobile", "tel", "caller", "callee", "电话", "手机", "号码",
    ]) {
        Some(Cue::Phone)
    } else if has(&["id_card", "idcard", "id_no", "identity", "身份证", "证件"]) {
        Some(Cue::Id)
    } else if has(&["card", "account", "卡", "账号"]) {
        Some(Cue::Card)
    } else {
        None
    }
}

/// Where the subject key is configured, refused inside the workspace.
fn subject_key_path(workspace: &Workspace, policy: &RedactionPolicy) -> Result<Option<PathBuf>> {
    let path = match std::env::var_os(SUBJECT_KEY_ENV).filter(|value| !value.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            let base = workspace.config()?.base_dir().map(Path::to_path_buf);
            policy.subject_key_file.as_ref().map(|path| match &base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path.clone(),
            })
        }
    };
    if let Some(path) = &path {
        refuse_inside_workspace(path, workspace.root())?;
    }
    Ok(path)
}

/// Refuses a key inside the workspace: whoever copies the workspace must
/// not get the key with the sealed or hashed data.
pub fn refuse_inside_workspace(key_path: &Path, workspace_root: &Path) -> Result<()> {
    let absolute = |path: &Path| {
        path.canonicalize()
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let key = match key_path.parent() {
        // The key file may not exist yet (keygen): resolve its folder.
        Some(parent) if !key_path.exists() && !parent.as_os_str().is_empty() => {
            absolute(parent).join(key_path.file_name().unwrap_or_default())
        }
        _ => absolute(key_path),
    };
    let root = absolute(workspace_root);
    if key.starts_with(&root) {
        return Err(Error::seal(format!(
            "the seal key {} is inside the workspace {}; keep it outside (anyone who copies \
             the workspace would get the key with the sealed data)",
            key_path.display(),
            workspace_root.display()
        )));
    }
    Ok(())
}
