//! The redaction policy applied to calls and QA results: masking forms,
//! times kept, sealing and unsealing, the store's redaction tables.

use std::collections::BTreeMap;

use callscope_core::config::WorkspaceConfig;
use callscope_core::model::{Call, Evidence, PiiKind, QaResult, Role, Segment, Violation};
use callscope_redact::{RedactionPolicy, Redactor, SealKey};
use callscope_store::workspace::Workspace;
use callscope_store::Store;

fn segment(start: f64, end: f64, role: Role, text: &str) -> Segment {
    Segment {
        start,
        end,
        role,
        text: text.to_string(),
        confidence: Some(0.9),
        role_confidence: None,
    }
}

fn call() -> Call {
    let mut meta = BTreeMap::new();
    meta.insert("caller_phone".to_string(), "13912345678".to_string());
    meta.insert("customer_level".to_string(), "gold".to_string());
    Call {
        call_id: "C1".to_string(),
        started_at: Some("2026-09-01T09:30:00+08:00".to_string()),
        agent_id: Some("A07".to_string()),
        team: Some("T2".to_string()),
        queue: Some("账单".to_string()),
        duration: Some(30.0),
        segments: vec![
            segment(0.0, 3.0, Role::Agent, "您好，请问您的身份证号是多少？"),
            // Wrong check digit, no cue in the sentence: the agent's
            // question is the cue.
            segment(
                3.5,
                9.0,
                Role::Customer,
                "一一零一零五一九四九一二三一零零二一。",
            ),
            segment(
                9.5,
                14.0,
                Role::Customer,
                "我的手机号是一三八一二三四五六七八。",
            ),
            segment(
                14.5,
                20.0,
                Role::Customer,
                "卡号6222 6002 6000 1072 444，邮箱zhang.san@163.com。",
            ),
            segment(
                20.5,
                23.0,
                Role::Agent,
                "好的，订单号20260901123456已经登记。",
            ),
        ],
        meta,
        asr_model: None,
        audio_sha256: None,
        silences: Vec::new(),
        audio_path: None,
    }
}

fn policy(toml: &str) -> RedactionPolicy {
    WorkspaceConfig::parse(toml)
        .unwrap()
        .section("redaction")
        .unwrap()
}

fn check(policy_toml: &str, text: &str, expected: &str) {
    let redactor = Redactor::new(policy(policy_toml), None).unwrap();
    assert_eq!(redactor.mask_text(text), expected, "{policy_toml}");
}

#[test]
fn masking_forms_follow_the_policy() {
    let text = "手机13812345678，座机010-62345678，身份证11010519491231002X，卡6222600260001072444，邮箱zhang.san@163.com";
    check(
        "",
        text,
        "手机138****5678，座机010-****5678，身份证110***********002X，卡****2444，邮箱z***@163.com",
    );
    check(
        "[redaction]\nmask_char = \"#\"\n[redaction.mobile]\nmask = \"full\"\n[redaction.id_card]\nmask = \"label\"\n[redaction.email]\nmask = \"none\"\n[redaction.bank_card]\nkeep_first = 6\n",
        text,
        "手机###########，座机010-####5678，身份证[身份证号]，卡622260####2444，邮箱zhang.san@163.com",
    );
    check("[redaction]\nenabled = false\n", text, text);
    // Spoken numbers are masked in digits, keeping the sentence around them.
    check(
        "",
        "号码是幺三九 两五六七 八八九九，记一下",
        "号码是139****8899，记一下",
    );
}

#[test]
fn a_mask_char_that_reads_as_a_digit_is_refused() {
    for bad in ["0", "一", "x", " "] {
        let policy = policy(&format!("[redaction]\nmask_char = \"{bad}\"\n"));
        let error = Redactor::new(policy, None).unwrap_err().to_string();
        assert!(error.contains("mask_char"), "{error}");
    }
}

#[test]
fn redact_call_masks_text_and_meta_and_keeps_times() {
    let key = SealKey::generate().unwrap();
    let redactor = Redactor::new(RedactionPolicy::default(), Some(key)).unwrap();
    let original = call();
    let redaction = redactor.redact(&original).unwrap();
    let masked = &redaction.call;
    let texts: Vec<&str> = masked.segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "您好，请问您的身份证号是多少？",
            "110***********0021。",
            "我的手机号是138****5678。",
            "卡号****2444，邮箱z***@163.com。",
            "好的，订单号20260901123456已经登记。",
        ]
    );
    assert_eq!(masked.meta["caller_phone"], "139****5678");
    assert_eq!(masked.meta["customer_level"], "gold");
    for (before, after) in original.segments.iter().zip(&masked.segments) {
        assert_eq!(
            (before.start, before.end, before.role),
            (after.start, after.end, after.role)
        );
    }
    let kinds: Vec<PiiKind> = redaction
        .record
        .spans
        .iter()
        .map(|span| span.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            PiiKind::IdCard,
            PiiKind::Mobile,
            PiiKind::BankCard,
            PiiKind::Email
        ]
    );
    // The mobile number is characters 6..17 of 17 spoken characters over
    // 4.5 s: from 9.5 + 4.5 * 6/17 to the end of the speech (to the ms).
    let mobile = &redaction.record.spans[1];
    assert_eq!(
        (mobile.segment, mobile.char_start, mobile.char_end),
        (2, 6, 17)
    );
    assert!(
        (mobile.start - (9.5 + 4.5 * 6.0 / 17.0)).abs() < 5e-4,
        "{mobile:?}"
    );
    assert!((mobile.end - 14.0).abs() < 5e-4, "{mobile:?}");
    assert_eq!(redaction.masked.len(), 5, "four in segments, one in meta");
}

#[test]
fn unseal_with_the_right_key_gives_the_original_and_a_wrong_key_fails_clearly() {
    let key = SealKey::generate().unwrap();
    let redactor = Redactor::new(RedactionPolicy::default(), Some(key.clone())).unwrap();
    let original = call();
    let (masked, sealed) = redactor.redact_call(&original);
    let sealed = sealed.expect("sealed with a key");
    let clear = serde_json::to_string(&sealed.ciphertext).unwrap();
    assert!(!clear.contains("13812345678"));
    assert_eq!(redactor.unseal(&masked, &sealed).unwrap(), original);
    let spans = redactor.redact(&original).unwrap().record.spans;
    let view = redactor
        .scoring_view(&masked, Some(&sealed), &spans)
        .unwrap();
    assert_eq!(view.call, original);

    let stranger = Redactor::new(
        RedactionPolicy::default(),
        Some(SealKey::generate().unwrap()),
    )
    .unwrap();
    let error = stranger.unseal(&masked, &sealed).unwrap_err().to_string();
    assert!(
        error.contains("sealed with key") && error.contains(key.id()),
        "{error}"
    );

    let keyless = Redactor::new(RedactionPolicy::default(), None).unwrap();
    let error = keyless.unseal(&masked, &sealed).unwrap_err().to_string();
    assert!(error.contains("CALLSCOPE_SEAL_KEY_FILE"), "{error}");

    let mut edited = masked.clone();
    edited.segments[2].text = "改过了".to_string();
    let error = redactor.unseal(&edited, &sealed).unwrap_err().to_string();
    assert!(error.contains("segment 2 changed"), "{error}");
}

#[test]
fn without_a_key_originals_are_not_kept() {
    let redactor = Redactor::new(RedactionPolicy::default(), None).unwrap();
    let (masked, sealed) = redactor.redact_call(&call());
    assert!(sealed.is_none());
    assert_eq!(masked.segments[2].text, "我的手机号是138****5678。");
    // A call without personal data is not sealed even with a key.
    let redactor = Redactor::new(
        RedactionPolicy::default(),
        Some(SealKey::generate().unwrap()),
    )
    .unwrap();
    let mut clean = call();
    clean.segments.truncate(1);
    clean.meta.clear();
    let (masked, sealed) = redactor.redact_call(&clean);
    assert!(sealed.is_none());
    assert_eq!(masked, clean);
}

#[test]
fn qa_evidence_is_masked() {
    let redactor = Redactor::new(RedactionPolicy::default(), None).unwrap();
    let result = QaResult {
        call_id: "C1".to_string(),
        scorecard: "账单质检".to_string(),
        score: 90.0,
        passed: true,
        fatal: false,
        violations: vec![Violation {
            rule_id: "read_back".to_string(),
            name: "完整复述号码".to_string(),
            points: 10.0,
            fatal: false,
            evidence: vec![Evidence {
                segment: 2,
                start: 9.5,
                end: 14.0,
                role: Role::Agent,
                text: "您的手机号是一三八一二三四五六七八对吧？".to_string(),
                matched: "一三八一二三四五六七八".to_string(),
            }],
        }],
    };
    let masked = redactor.mask_qa_result(&result);
    let evidence = &masked.violations[0].evidence[0];
    assert_eq!(evidence.text, "您的手机号是138****5678对吧？");
    assert_eq!(evidence.matched, "138****5678");
    assert_eq!(
        (evidence.start, evidence.end, evidence.segment),
        (9.5, 14.0, 2)
    );
}

#[test]
fn the_store_keeps_spans_and_sealed_originals_and_clears_them_on_reimport() {
    let key = SealKey::generate().unwrap();
    let redactor = Redactor::new(RedactionPolicy::default(), Some(key)).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let batch = redactor.redact_batch(vec![call()]).unwrap();
    assert_eq!(batch.counts.calls_masked, 1);
    assert_eq!(batch.counts.sealed, 1);
    assert_eq!(batch.counts.items[&PiiKind::Mobile], 2);
    store.put_calls(&batch.calls).unwrap();
    store.put_call_redactions(&batch.records).unwrap();
    let stored = store.get_call("C1").unwrap().unwrap();
    let sealed = store.sealed_original("C1").unwrap().unwrap();
    assert_eq!(redactor.unseal(&stored, &sealed).unwrap(), call());
    assert_eq!(store.redacted_spans("C1").unwrap(), batch.records[0].spans);
    assert_eq!(store.redaction_counts().unwrap(), (1, 1));

    // Re-imported without personal data: spans and seal are gone.
    let mut clean = call();
    clean.segments.truncate(1);
    clean.meta.clear();
    let batch = redactor.redact_batch(vec![clean]).unwrap();
    store.put_calls(&batch.calls).unwrap();
    store.put_call_redactions(&batch.records).unwrap();
    assert!(store.sealed_original("C1").unwrap().is_none());
    assert!(store.redacted_spans("C1").unwrap().is_empty());
    assert_eq!(store.redaction_counts().unwrap(), (0, 0));
}

#[test]
fn the_workspace_key_comes_from_the_config_and_must_live_outside() {
    let directory = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(directory.path().join("data"));
    workspace.ensure().unwrap();
    let outside = directory.path().join("keys/seal.key");
    SealKey::generate().unwrap().write_new(&outside).unwrap();
    std::fs::write(
        workspace.config_path(),
        "[redaction]\nseal_key_file = \"../keys/seal.key\"\n",
    )
    .unwrap();
    // The environment variable wins over the config; it is unset here
    // unless a developer set it, so read the config path explicitly.
    if std::env::var_os(callscope_redact::SEAL_KEY_ENV).is_none() {
        let redactor = Redactor::from_workspace(&workspace).unwrap();
        assert_eq!(
            redactor.key_id(),
            Some(SealKey::load(&outside).unwrap().id())
        );
    }
    let inside = workspace.root().join("seal.key");
    SealKey::generate().unwrap().write_new(&inside).unwrap();
    let error = callscope_redact::refuse_inside_workspace(&inside, workspace.root())
        .unwrap_err()
        .to_string();
    assert!(error.contains("inside the workspace"), "{error}");
    assert!(callscope_redact::refuse_inside_workspace(&outside, workspace.root()).is_ok());
}
