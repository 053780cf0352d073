//! Scoring views: what QA rules read of a call, with the personal data in
//! it (`callscope_core::model::ScoringView`).
//!
//! A stored call is masked. With its sealed original and the key, the rules
//! read the original; without, they read the stored call with each masked
//! span replaced by a stand-in of the same kind and form
//! ([`crate::surrogate`]). Either way the view lists the personal data the
//! redaction stage recorded (for the `pii` operator), each with the masked
//! form evidence shows in its place, so a rule gives the same verdict and
//! the same evidence whether or not the original was sealed.

use std::collections::BTreeMap;

use callscope_core::error::Result;
use callscope_core::model::{Call, PiiKind, PiiMention, RedactedSpan, ScoringView, SealedOriginal};

use super::{mask, surrogate, Detection, Redactor};

/// A recorded span and where its mask lies in the stored segment text.
#[derive(Debug)]
struct SpanPlace<'s> {
    span: &'s RedactedSpan,
    /// Characters of the stored segment text that hold the mask; `None`
    /// when the mask cannot be found (spans recorded by an older callscope
    /// in a segment whose masks do not line up with them).
    masked: Option<(usize, usize)>,
    /// The mask as stored (the kind's label when not found).
    shown: String,
}

impl Redactor {
    /// What QA scores of a stored call: the original when `sealed` is
    /// given (and the key opens it), else the stored call with a stand-in
    /// for each masked span. `spans` are the call's recorded redaction
    /// spans (`Store::redacted_spans`). The view's personal data are those
    /// spans plus whatever the detector finds in clear (kinds the policy
    /// leaves in clear, calls stored before a policy).
    pub fn scoring_view(
        &self,
        stored: &Call,
        sealed: Option<&SealedOriginal>,
        spans: &[RedactedSpan],
    ) -> Result<ScoringView> {
        let places = self.place_spans(stored, spans);
        let mut view = match sealed {
            Some(sealed) => {
                let original = self.unseal(stored, sealed)?;
                let pii = places
                    .iter()
                    .filter_map(|place| on_original(place, &original))
                    .collect();
                ScoringView {
                    call: original,
                    pii,
                }
            }
            None => self.with_stand_ins(stored, &places),
        };
        self.add_clear_mentions(&mut view);
        Ok(view)
    }

    /// What QA scores of a call read from a file (`qa --input`): the call
    /// as given, with the personal data the detector finds in it, each
    /// shown masked as the policy says.
    pub fn input_view(&self, call: &Call) -> ScoringView {
        let mut view = ScoringView::plain(call.clone());
        self.add_clear_mentions(&mut view);
        view
    }

    /// Finds where each recorded span's mask lies in the stored text: the
    /// recorded place when it holds a mask, else the masks of the segment
    /// taken in order (spans recorded before places were).
    fn place_spans<'s>(&self, stored: &Call, spans: &'s [RedactedSpan]) -> Vec<SpanPlace<'s>> {
        let mut by_segment: BTreeMap<usize, Vec<&RedactedSpan>> = BTreeMap::new();
        for span in spans {
            if span.segment < stored.segments.len() {
                by_segment.entry(span.segment).or_default().push(span);
            }
        }
        let mut places = Vec::new();
        for (segment, mut spans) in by_segment {
            spans.sort_by_key(|span| (span.char_start, span.char_end));
            let chars: Vec<char> = stored.segments[segment].text.chars().collect();
            let mut found: Vec<Option<(usize, usize)>> = Vec::with_capacity(spans.len());
            let mut taken: Vec<(usize, usize)> = Vec::new();
            for span in &spans {
                let recorded = match (span.masked_start, span.masked_end) {
                    (Some(start), Some(end))
                        if start < end
                            && end <= chars.len()
                            && self.is_mask(&chars[start..end], span.kind)
                            && !taken.iter().any(|(s, e)| start < *e && *s < end) =>
                    {
                        Some((start, end))
                    }
                    _ => None,
                };
                if let Some(place) = recorded {
                    taken.push(place);
                }
                found.push(recorded);
            }
            // The rest: the segment's other masks, in order, when there are
            // exactly as many as spans left.
            let missing = found.iter().filter(|place| place.is_none()).count();
            if missing > 0 {
                let masks: Vec<(usize, usize)> = self
                    .masks_in(&chars)
                    .into_iter()
                    .filter(|(start, end)| !taken.iter().any(|(s, e)| *start < *e && *s < *end))
                    .collect();
                if masks.len() == missing {
                    let mut masks = masks.into_iter();
                    for place in found.iter_mut().filter(|place| place.is_none()) {
                        *place = masks.next();
                    }
                }
            }
            for (span, masked) in spans.into_iter().zip(found) {
                let shown = match masked {
                    Some((start, end)) => chars[start..end].iter().collect(),
                    None => mask::label(span.kind).to_string(),
                };
                places.push(SpanPlace {
                    span,
                    masked,
                    shown,
                });
            }
        }
        places
    }

    /// Whether `form` is what masking leaves: it holds the mask character,
    /// or it is the kind's label.
    fn is_mask(&self, form: &[char], kind: PiiKind) -> bool {
        form.contains(&self.policy.mask_char)
            || form.iter().collect::<String>() == mask::label(kind)
    }

    /// The masks in a stored text, in order: labels, and runs of the
    /// characters masked forms are made of that hold the mask character
    /// (138****5678, 010-****5678, ****2444, z***@163.com).
    fn masks_in(&self, chars: &[char]) -> Vec<(usize, usize)> {
        let mask_char = self.policy.mask_char;
        let in_form = |character: char| {
            character == mask_char
                || character.is_ascii_alphanumeric()
                || matches!(character, '-' | '@' | '.' | '_' | '+')
        };
        let labels: Vec<Vec<char>> = PiiKind::ALL
            .into_iter()
            .map(|kind| mask::label(kind).chars().collect())
            .collect();
        let mut masks = Vec::new();
        let mut index = 0;
        while index < chars.len() {
            if let Some(label) = labels
                .iter()
                .find(|label| chars[index..].starts_with(label))
            {
                masks.push((index, index + label.len()));
                index += label.len();
                continue;
            }
            if !in_form(chars[index]) {
                index += 1;
                continue;
            }
            let end = chars[index..]
                .iter()
                .position(|character| !in_form(*character))
                .map_or(chars.len(), |length| index + length);
            if chars[index..end].contains(&mask_char) {
                masks.push((index, end));
            }
            index = end;
        }
        masks
    }

    /// The stored call with a stand-in in place of each mask, and the
    /// personal data at the stand-ins' places.
    fn with_stand_ins(&self, stored: &Call, places: &[SpanPlace<'_>]) -> ScoringView {
        let mut call = stored.clone();
        let mut pii = Vec::with_capacity(places.len());
        let mut by_segment: BTreeMap<usize, Vec<&SpanPlace<'_>>> = BTreeMap::new();
        for place in places {
            by_segment
                .entry(place.span.segment)
                .or_default()
                .push(place);
        }
        for (segment, mut places) in by_segment {
            places.sort_by_key(|place| place.masked);
            let chars: Vec<char> = stored.segments[segment].text.chars().collect();
            let mut text = String::with_capacity(stored.segments[segment].text.len() + 16);
            let (mut copied, mut written) = (0usize, 0usize);
            for place in places {
                let Some((start, end)) = place.masked else {
                    // Only the segment is known: counted, not placed.
                    pii.push(PiiMention {
                        segment,
                        kind: place.span.kind,
                        char_start: 0,
                        char_end: 0,
                        shown: place.shown.clone(),
                    });
                    continue;
                };
                text.extend(&chars[copied..start]);
                written += start - copied;
                let stand_in = surrogate::stand_in(
                    place.span.kind,
                    place.span.shape.as_deref(),
                    &place.shown,
                    self.policy.mask_char,
                );
                let length = stand_in.chars().count();
                text.push_str(&stand_in);
                pii.push(PiiMention {
                    segment,
                    kind: place.span.kind,
                    char_start: written,
                    char_end: written + length,
                    shown: place.shown.clone(),
                });
                written += length;
                copied = end;
            }
            text.extend(&chars[copied..]);
            call.segments[segment].text = text;
        }
        ScoringView { call, pii }
    }

    /// Adds the personal data the detector finds in the view's text where
    /// no recorded span is: every kind, with the previous segment's cue as
    /// a hint (as redaction does), shown masked where the policy masks the
    /// kind and as it is where the policy leaves it in clear.
    fn add_clear_mentions(&self, view: &mut ScoringView) {
        let segments = &view.call.segments;
        let mut found: Vec<PiiMention> = Vec::new();
        for (index, segment) in segments.iter().enumerate() {
            if !super::detect::might_hold_pii(&segment.text) {
                continue;
            }
            let hint = index
                .checked_sub(1)
                .and_then(|previous| self.detector.trailing_cue(&segments[previous].text));
            for detection in self.detector.detect_with_hint(&segment.text, hint) {
                let known = view.pii.iter().any(|mention| {
                    mention.segment == index
                        && mention.char_start < detection.end
                        && detection.start < mention.char_end
                });
                if !known {
                    found.push(self.clear_mention(index, &segment.text, &detection));
                }
            }
        }
        if found.is_empty() {
            return;
        }
        view.pii.extend(found);
        view.pii
            .sort_by_key(|mention| (mention.segment, mention.char_start, mention.char_end));
    }

    fn clear_mention(&self, segment: usize, text: &str, detection: &Detection) -> PiiMention {
        let shown = mask::render(detection, &self.policy)
            .unwrap_or_else(|| text[detection.byte_start..detection.byte_end].to_string());
        PiiMention {
            segment,
            kind: detection.kind,
            char_start: detection.start,
            char_end: detection.end,
            shown,
        }
    }
}

/// A recorded span in the original it was recorded on.
fn on_original(place: &SpanPlace<'_>, original: &Call) -> Option<PiiMention> {
    let span = place.span;
    let segment = original.segments.get(span.segment)?;
    let valid = span.char_start < span.char_end && span.char_end <= segment.text.chars().count();
    valid.then(|| PiiMention {
        segment: span.segment,
        kind: span.kind,
        char_start: span.char_start,
        char_end: span.char_end,
        shown: place.shown.clone(),
    })
}
