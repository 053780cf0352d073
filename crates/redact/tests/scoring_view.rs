//! What QA reads of a stored call (`Redactor::scoring_view`): the sealed
//! original with a key, else stand-ins of the same kind and form in place
//! of the masks; either way the same personal data, shown as stored.

use callscope_core::model::{Call, PiiKind, RedactedSpan, Role, ScoringView, Segment};
use callscope_redact::{RedactionPolicy, Redactor, SealKey};

fn segment(start: f64, role: Role, text: &str) -> Segment {
    Segment {
        start,
        end: start + 4.0,
        role,
        text: text.to_string(),
        confidence: None,
        role_confidence: None,
    }
}

fn call() -> Call {
    Call {
        call_id: "V1".to_string(),
        started_at: None,
        agent_id: None,
        team: None,
        queue: None,
        duration: None,
        segments: vec![
            segment(0.0, Role::Agent, "请问您的身份证号是多少？"),
            // Wrong check digit: personal data only after the question.
            segment(
                5.0,
                Role::Customer,
                "一一零一零五一九四九一二三一零零二一。",
            ),
            segment(
                10.0,
                Role::Customer,
                "手机一三八，一二三四，五六七八，卡号6222 6002 6000 1072 444。",
            ),
            segment(
                15.0,
                Role::Agent,
                "好的，13812345678，邮箱zhang.san@163.com对吧？",
            ),
            segment(20.0, Role::Agent, "订单号20260901123456。"),
        ],
        meta: Default::default(),
        asr_model: None,
        audio_sha256: None,
        silences: Vec::new(),
        audio_path: None,
    }
}

/// (segment, kind, shown, the view's text of it) for each item.
fn items(view: &ScoringView) -> Vec<(usize, PiiKind, String, String)> {
    view.pii
        .iter()
        .map(|mention| {
            let text: String = view.call.segments[mention.segment]
                .text
                .chars()
                .skip(mention.char_start)
                .take(mention.char_end - mention.char_start)
                .collect();
            (mention.segment, mention.kind, mention.shown.clone(), text)
        })
        .collect()
}

fn form(text: &str) -> String {
    callscope_redact::surrogate::shape_of(text)
}

#[test]
fn sealed_and_unsealed_views_hold_the_same_personal_data_shown_the_same() {
    let original = call();
    let sealer = Redactor::new(
        RedactionPolicy::default(),
        Some(SealKey::generate().unwrap()),
    )
    .unwrap();
    let sealed = sealer.redact(&original).unwrap();
    let keyless = Redactor::new(RedactionPolicy::default(), None).unwrap();
    let plain = keyless.redact(&original).unwrap();
    assert_eq!(sealed.call, plain.call, "the same masks either way");
    assert_eq!(sealed.record.spans, plain.record.spans);

    let with_key = sealer
        .scoring_view(
            &sealed.call,
            sealed.record.sealed.as_ref(),
            &sealed.record.spans,
        )
        .unwrap();
    assert_eq!(with_key.call, original, "with the key: the original");
    let without_key = keyless
        .scoring_view(&plain.call, None, &plain.record.spans)
        .unwrap();

    let sealed_items = items(&with_key);
    let plain_items = items(&without_key);
    let shown: Vec<(usize, PiiKind, &str)> = sealed_items
        .iter()
        .map(|(segment, kind, shown, _)| (*segment, *kind, shown.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            (1, PiiKind::IdCard, "110***********0021"),
            (2, PiiKind::Mobile, "138****5678"),
            (2, PiiKind::BankCard, "****2444"),
            (3, PiiKind::Mobile, "138****5678"),
            (3, PiiKind::Email, "z***@163.com"),
        ]
    );
    assert_eq!(sealed_items.len(), plain_items.len());
    for (sealed_item, plain_item) in sealed_items.iter().zip(&plain_items) {
        assert_eq!(
            (sealed_item.0, sealed_item.1, &sealed_item.2),
            (plain_item.0, plain_item.1, &plain_item.2)
        );
        if sealed_item.1 != PiiKind::Email {
            // Same form, same length, other digits.
            assert_eq!(form(&sealed_item.3), form(&plain_item.3), "{plain_item:?}");
            assert_ne!(sealed_item.3, plain_item.3);
        }
    }
    // Everything else is the stored text.
    assert_eq!(without_key.call.segments[0].text, original.segments[0].text);
    assert_eq!(without_key.call.segments[4].text, original.segments[4].text);
    assert_eq!(
        without_key.call.segments[2].text.chars().count(),
        original.segments[2].text.chars().count()
    );
}

#[test]
fn spans_recorded_without_places_are_found_in_the_masked_text() {
    let keyless = Redactor::new(RedactionPolicy::default(), None).unwrap();
    let redaction = keyless.redact(&call()).unwrap();
    // As an older callscope recorded them: no mask place, no shape.
    let old: Vec<RedactedSpan> = redaction
        .record
        .spans
        .iter()
        .map(|span| RedactedSpan {
            masked_start: None,
            masked_end: None,
            shape: None,
            ..span.clone()
        })
        .collect();
    let view = keyless.scoring_view(&redaction.call, None, &old).unwrap();
    let found = items(&view);
    assert_eq!(found.len(), 5, "{found:?}");
    assert_eq!(found[1].2, "138****5678");
    // Written digits of the usual length, and the shown digits kept.
    assert_eq!(found[1].3.len(), 11);
    assert!(found[1].3.starts_with("138") && found[1].3.ends_with("5678"));
    assert!(
        !view.call.segments[2].text.contains('*'),
        "{}",
        view.call.segments[2].text
    );
}

#[test]
fn personal_data_left_in_clear_is_found_and_shown_as_the_policy_says() {
    // Emails in clear; everything else masked.
    let mut policy = RedactionPolicy::default();
    policy.email.mask = callscope_redact::MaskStyle::None;
    let redactor = Redactor::new(policy, None).unwrap();
    let redaction = redactor.redact(&call()).unwrap();
    let view = redactor
        .scoring_view(&redaction.call, None, &redaction.record.spans)
        .unwrap();
    let email = items(&view)
        .into_iter()
        .find(|item| item.1 == PiiKind::Email)
        .unwrap();
    assert_eq!(
        (email.2.as_str(), email.3.as_str()),
        ("zhang.san@163.com", "zhang.san@163.com")
    );

    // A call read from a file: found as given, shown masked.
    let keyless = Redactor::new(RedactionPolicy::default(), None).unwrap();
    let view = keyless.input_view(&call());
    assert_eq!(view.call, call());
    let found = items(&view);
    assert_eq!(found.len(), 5, "{found:?}");
    assert_eq!(
        found[0].2, "110***********0021",
        "the question is the ID's cue"
    );
    assert_eq!(found[0].3, "一一零一零五一九四九一二三一零零二一");
}
