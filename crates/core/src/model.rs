//! The data that flows between stages, and the user-facing contract types
//! of `docs/formats.md`.
//!
//! Every type that a user, a script or another system sees is defined here
//! with its serde form; stages exchange these types and nothing else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who spoke a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The call-center agent.
    Agent,
    /// The customer.
    Customer,
    /// Not known (a mono recording whose speakers could not be told apart).
    Unknown,
}

impl Role {
    /// The contract spelling: `agent`, `customer` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Customer => "customer",
            Role::Unknown => "unknown",
        }
    }

    /// Parses the contract spelling.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "agent" => Some(Role::Agent),
            "customer" => Some(Role::Customer),
            "unknown" => Some(Role::Unknown),
            _ => None,
        }
    }

    /// The other party of a two-party call (`unknown` stays `unknown`).
    pub fn other(self) -> Role {
        match self {
            Role::Agent => Role::Customer,
            Role::Customer => Role::Agent,
            Role::Unknown => Role::Unknown,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One sentence of a transcript (docs/formats.md §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording, `>= start`.
    pub end: f64,
    /// Who spoke.
    pub role: Role,
    /// What was said.
    pub text: String,
    /// ASR confidence in 0..1, when the segment came from callscope's ASR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Confidence in 0..1 that `role` is right (mono recordings whose
    /// speakers were separated by clustering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_confidence: Option<f64>,
}

impl Segment {
    /// Seconds of speech in this segment.
    pub fn seconds(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
}

/// One call with its transcript: a line of the transcript JSONL
/// (docs/formats.md §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Unique id of the call.
    pub call_id: String,
    /// RFC 3339 timestamp with offset, when the call started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// The agent who handled the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The agent's team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The skill queue (售后, 账单, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Length of the recording in seconds; defaults to the last segment end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// The sentences, sorted by `start`.
    pub segments: Vec<Segment>,
    /// Free string metadata (extra manifest columns, vendor fields).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// The ASR model that produced the transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asr_model: Option<String>,
    /// SHA-256 of the audio file's bytes, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_sha256: Option<String>,
    /// Silences found in the audio (from callscope's VAD), for the silence
    /// rule and for analysts; absent for imported transcripts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silences: Vec<Silence>,
    /// The audio file the transcript came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_path: Option<String>,
}

impl Call {
    /// The call's duration: the stated one, or else the largest segment end.
    pub fn effective_duration(&self) -> f64 {
        self.duration.unwrap_or_else(|| {
            self.segments
                .iter()
                .map(|segment| segment.end)
                .fold(0.0, f64::max)
        })
    }

    /// Sorts segments by start (then end), as the contract requires.
    pub fn sort_segments(&mut self) {
        self.segments.sort_by(|left, right| {
            left.start
                .total_cmp(&right.start)
                .then(left.end.total_cmp(&right.end))
        });
    }
}

/// A stretch of the recording where nobody (or one channel) was speaking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording.
    pub end: f64,
}

/// One row of an audio manifest (docs/formats.md §1), resolved to defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioEntry {
    /// The audio file, absolute or relative to the working directory.
    pub path: std::path::PathBuf,
    /// Unique id of the call (default: the file stem).
    pub call_id: String,
    /// When the call started (default: the file's modification time).
    pub started_at: Option<String>,
    /// Who handled it.
    pub agent_id: Option<String>,
    /// Which team.
    pub team: Option<String>,
    /// Which skill queue.
    pub queue: Option<String>,
    /// How the channels map to roles; `None` means "by channel count".
    pub channels: Option<ChannelLayout>,
    /// Further manifest columns.
    pub meta: BTreeMap<String, String>,
}

/// How the channels of a recording map to roles (docs/formats.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelLayout {
    /// Stereo, agent on channel 0, customer on channel 1.
    AgentLeft,
    /// Stereo, agent on channel 1, customer on channel 0.
    AgentRight,
    /// One channel with both speakers.
    Mono,
}

impl ChannelLayout {
    /// Parses the manifest spelling.
    pub fn parse(text: &str) -> Option<ChannelLayout> {
        match text.trim() {
            "agent-left" => Some(ChannelLayout::AgentLeft),
            "agent-right" => Some(ChannelLayout::AgentRight),
            "mono" => Some(ChannelLayout::Mono),
            _ => None,
        }
    }
}

/// The result of scoring one call against one scorecard (docs/formats.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaResult {
    /// The call scored.
    pub call_id: String,
    /// The scorecard's name.
    pub scorecard: String,
    /// `base_score` minus the points of violated rules, floored at 0; 0 when
    /// a fatal rule was violated.
    pub score: f64,
    /// `score >= pass_score`.
    pub passed: bool,
    /// Whether a fatal rule was violated.
    pub fatal: bool,
    /// The violated rules with their evidence.
    pub violations: Vec<Violation>,
}

/// A violated rule (docs/formats.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's display name.
    pub name: String,
    /// Points deducted.
    pub points: f64,
    /// Whether the rule is fatal (一票否决).
    pub fatal: bool,
    /// The segments that triggered it; empty for absences.
    pub evidence: Vec<Evidence>,
}

/// A segment that made a rule fire (docs/formats.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Index of the segment in the call's sorted segments.
    pub segment: usize,
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording.
    pub end: f64,
    /// Who spoke.
    pub role: Role,
    /// The segment's text as stored.
    pub text: String,
    /// What matched, in the segment's own characters.
    pub matched: String,
}

/// One search hit (docs/formats.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The call found.
    pub call_id: String,
    /// Relevance score.
    pub score: f64,
    /// When the call started.
    pub started_at: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
    /// The team.
    pub team: Option<String>,
    /// The queue.
    pub queue: Option<String>,
    /// The call's QA score, if scored.
    pub qa_score: Option<f64>,
    /// The matching segments.
    pub hits: Vec<SearchHit>,
}

/// A matching segment of a search result (docs/formats.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Index of the segment in the call.
    pub segment: usize,
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording.
    pub end: f64,
    /// Who spoke.
    pub role: Role,
    /// The segment's text.
    pub text: String,
    /// The text with matches wrapped in `<b>...</b>` (other text HTML-escaped).
    pub highlight: String,
}

/// A stretch of speech found by voice activity detection, in seconds from
/// the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpeechRegion {
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording.
    pub end: f64,
}

/// One sentence recognized by the ASR engine in one channel, with times in
/// the recording's own timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsrSegment {
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording.
    pub end: f64,
    /// Recognized text, simplified characters.
    pub text: String,
    /// Mean token probability in 0..1.
    pub confidence: f64,
}

/// A kind of personal data that callscope detects and masks (PIPL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// A mainland mobile number (11 digits, 1[3-9]...).
    Mobile,
    /// A landline number: area code and 7-8 digits, or a bare local number
    /// said as a phone number.
    Landline,
    /// A resident ID number (居民身份证号码, 18 characters, GB 11643).
    IdCard,
    /// A bank card number (16-19 digits, Luhn).
    BankCard,
    /// An email address.
    Email,
}

impl PiiKind {
    /// Every kind, in a stable order.
    pub const ALL: [PiiKind; 5] = [
        PiiKind::Mobile,
        PiiKind::Landline,
        PiiKind::IdCard,
        PiiKind::BankCard,
        PiiKind::Email,
    ];

    /// The contract spelling: `mobile`, `landline`, `id_card`, `bank_card`,
    /// `email`.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Mobile => "mobile",
            PiiKind::Landline => "landline",
            PiiKind::IdCard => "id_card",
            PiiKind::BankCard => "bank_card",
            PiiKind::Email => "email",
        }
    }

    /// Parses the contract spelling.
    pub fn parse(text: &str) -> Option<PiiKind> {
        PiiKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text.trim())
    }
}

impl std::fmt::Display for PiiKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Where personal data was masked in a call: the segment, the characters of
/// the original text, and the estimated moment in the recording (for
/// silencing audio). Holds no personal data itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedactedSpan {
    /// Index of the segment in the call's sorted segments.
    pub segment: usize,
    /// What was masked.
    pub kind: PiiKind,
    /// First character of the span in the segment's original text.
    pub char_start: usize,
    /// One past the span's last character in the original text.
    pub char_end: usize,
    /// Estimated start, seconds from the start of the recording.
    pub start: f64,
    /// Estimated end, seconds from the start of the recording.
    pub end: f64,
    /// First character of the mask in the stored (masked) segment text.
    /// Absent in spans recorded before callscope kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_start: Option<usize>,
    /// One past the mask's last character in the stored text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_end: Option<usize>,
    /// How the number was said, without its digits: each digit becomes `d`
    /// (written), `f` (full width) or `n` (a Chinese numeral), every other
    /// character (spaces, dashes, 杠, comma pauses) is kept, so
    /// 一三八，一二三四，五六七八 gives `nnn，nnnn，nnnn`. QA's stand-in for the
    /// masked number takes this form. Absent for emails and older spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<String>,
}

/// The original text of a call's masked parts, encrypted with the seal key
/// (XChaCha20-Poly1305, the call id as associated data). Only
/// `Redactor::unseal` with the same key reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedOriginal {
    /// The call whose originals these are.
    pub call_id: String,
    /// Fingerprint of the key that sealed it (not the key).
    pub key_id: String,
    /// The random nonce (24 bytes).
    pub nonce: Vec<u8>,
    /// The encrypted originals with their authentication tag.
    pub ciphertext: Vec<u8>,
}

/// What redaction did to one call: the masked spans and, when a seal key was
/// configured, the sealed originals. Written next to the masked call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRedaction {
    /// The call.
    pub call_id: String,
    /// The masked spans (empty when the call held no personal data).
    pub spans: Vec<RedactedSpan>,
    /// The sealed originals (none without a key, or with nothing masked).
    pub sealed: Option<SealedOriginal>,
    /// Keyed hashes of the personal data found (none without a subject
    /// key), so `forget --subject` can find the call without the values.
    pub subjects: Vec<SubjectDigest>,
}

/// The keyed hash (HMAC-SHA-256 under the workspace's subject key) of one
/// normalized personal-data value found in a call: never the value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SubjectDigest {
    /// What the value was.
    pub kind: PiiKind,
    /// The HMAC of the normalized value.
    pub digest: [u8; 32],
}

/// One piece of personal data in the text QA rules read (a
/// [`ScoringView`]), as the redaction stage found it. The `pii` rule
/// operator counts these; evidence shows `shown` in place of the characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiMention {
    /// Index of the segment in the view's `call.segments`.
    pub segment: usize,
    /// What it is.
    pub kind: PiiKind,
    /// First character of the span in the view's segment text.
    pub char_start: usize,
    /// One past the span's last character; equal to `char_start` when only
    /// the segment is known (spans stored before their place was recorded).
    pub char_end: usize,
    /// What people may see instead of these characters: the masked form as
    /// stored (138****5678), or the text itself for a kind the policy
    /// leaves in clear.
    pub shown: String,
}

/// A call as QA rules read it, with the personal data in it. Built by the
/// redaction stage (`Redactor::scoring_view` for stored calls,
/// `Redactor::input_view` for calls read from a file); never stored,
/// printed or indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringView {
    /// What the rules read: the sealed original where one is kept and the
    /// key is at hand; else the stored call with each masked span replaced
    /// by a stand-in of the same kind and shape; for a file, the call as
    /// given.
    pub call: Call,
    /// The personal data in `call`'s segments, by segment then position.
    pub pii: Vec<PiiMention>,
}

impl ScoringView {
    /// A view of a call in which no personal data is known.
    pub fn plain(call: Call) -> ScoringView {
        ScoringView {
            call,
            pii: Vec::new(),
        }
    }
}

/// One stored QA result's figures without its evidence, for summaries over
/// many calls (the digest's QA summary and alerts).
#[derive(Debug, Clone, PartialEq)]
pub struct QaFigures {
    /// The call scored.
    pub call_id: String,
    /// The call's local date.
    pub local_date: Option<String>,
    /// The call's agent.
    pub agent_id: Option<String>,
    /// The call's team.
    pub team: Option<String>,
    /// The scorecard's name.
    pub scorecard: String,
    /// The score.
    pub score: f64,
    /// Whether the call passed.
    pub passed: bool,
    /// Whether a fatal rule was violated.
    pub fatal: bool,
    /// The result's contract JSON (docs/formats.md §3), when asked for.
    pub body: Option<String>,
}

/// How `callscope search` orders its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchSort {
    /// Best match first (BM25 over the matched words).
    #[default]
    Relevance,
    /// Newest call first.
    Time,
    /// Lowest QA score first (the calls to review); unscored calls last.
    Score,
}

/// A search as the user asked it: the query text in callscope's query
/// language plus the filters of `callscope search`'s flags. Empty fields do
/// not filter; the default shows the 20 most relevant calls.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// The query text (words, "phrases", "proximity"~N, OR, -NOT, fields).
    pub text: String,
    /// Only words said by this role (a field in the query overrides it).
    pub role: Option<Role>,
    /// Only calls of this agent.
    pub agent_id: Option<String>,
    /// Only calls of this team.
    pub team: Option<String>,
    /// Only calls of this queue.
    pub queue: Option<String>,
    /// First local date, inclusive (the call's own time zone).
    pub from: Option<chrono::NaiveDate>,
    /// Last local date, inclusive.
    pub to: Option<chrono::NaiveDate>,
    /// Only calls whose QA score is at least this.
    pub min_score: Option<f64>,
    /// Only calls whose QA score is at most this.
    pub max_score: Option<f64>,
    /// Only calls that violated this rule id.
    pub violated: Option<String>,
    /// Only calls that passed (`Some(true)`) or failed (`Some(false)`) QA.
    pub passed: Option<bool>,
    /// At most this many results (0 means none: counts and facets only).
    pub limit: usize,
    /// Result order.
    pub sort: SearchSort,
    /// Count matching calls per agent, team, queue and violated rule.
    pub facets: bool,
}

impl Default for SearchQuery {
    fn default() -> SearchQuery {
        SearchQuery {
            text: String::new(),
            role: None,
            agent_id: None,
            team: None,
            queue: None,
            from: None,
            to: None,
            min_score: None,
            max_score: None,
            violated: None,
            passed: None,
            limit: 20,
            sort: SearchSort::Relevance,
            facets: false,
        }
    }
}

/// What a search found: the best results, how many calls match in all and,
/// when asked, the counts per facet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// Calls that match (all of them, not only the results shown).
    pub total: u64,
    /// The best `limit` results in the asked order.
    pub results: Vec<SearchResult>,
    /// Counts per facet, when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facets: Option<SearchFacets>,
}

/// Matching calls counted per agent, team, queue and violated rule, each
/// list sorted by count (then value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchFacets {
    /// Per agent id.
    pub agent_id: Vec<FacetCount>,
    /// Per team.
    pub team: Vec<FacetCount>,
    /// Per queue.
    pub queue: Vec<FacetCount>,
    /// Per violated rule id (a call counts once per rule it violated).
    pub violated: Vec<FacetCount>,
}

/// One value of a facet and how many matching calls have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    /// The agent id, team, queue or rule id.
    pub value: String,
    /// Matching calls with that value.
    pub calls: u64,
}

/// Parses an RFC 3339 timestamp with offset (`started_at`).
pub fn parse_timestamp(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(text.trim()).ok()
}
