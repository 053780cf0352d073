//! What the store's conformance suites share: one test per backend for
//! each check (`conformance!`), and the calls, results and redaction
//! records the checks write.
#![allow(dead_code)]

use callscope_core::model::{
    Call, CallRedaction, PiiKind, QaResult, RedactedSpan, Role, SealedOriginal, Segment,
    SubjectDigest,
};
use callscope_store::{CallBatch, Store};

/// One test per backend for each check.
#[macro_export]
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    let mut store = callscope_store::Store::open_in_memory().unwrap();
                    super::$check(&mut store);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    let Some(schema) = callscope_store::testing::TestSchema::create(stringify!($check)) else {
                        return;
                    };
                    let mut store = callscope_store::Store::connect(&schema.url()).unwrap();
                    super::$check(&mut store);
                }
            )*
        }
    };
}

pub fn call(call_id: &str, started_at: &str, agent: &str, text: &str) -> Call {
    Call {
        call_id: call_id.to_string(),
        started_at: Some(started_at.to_string()),
        agent_id: Some(agent.to_string()),
        team: Some("T2".to_string()),
        queue: Some("售后".to_string()),
        duration: None,
        segments: vec![Segment {
            start: 0.0,
            end: 2.5,
            role: Role::Agent,
            text: text.to_string(),
            confidence: Some(0.9),
            role_confidence: None,
        }],
        meta: Default::default(),
        asr_model: Some("ggml-base-q8_0".to_string()),
        audio_sha256: Some(format!("sha-{call_id}")),
        silences: Vec::new(),
        audio_path: None,
    }
}

pub fn simple(call_id: &str) -> Call {
    call(call_id, "2026-09-01T09:30:00+08:00", "A07", "您好")
}

pub fn result(call_id: &str, scorecard: &str, score: f64) -> QaResult {
    QaResult {
        call_id: call_id.to_string(),
        scorecard: scorecard.to_string(),
        score,
        passed: score >= 60.0,
        fatal: false,
        violations: Vec::new(),
    }
}

pub fn redaction(call_id: &str) -> CallRedaction {
    CallRedaction {
        call_id: call_id.to_string(),
        spans: vec![RedactedSpan {
            segment: 0,
            kind: PiiKind::Mobile,
            char_start: 2,
            char_end: 13,
            start: 0.5,
            end: 1.5,
            masked_start: Some(2),
            masked_end: Some(13),
            shape: Some("ddddddddddd".to_string()),
        }],
        sealed: Some(SealedOriginal {
            call_id: call_id.to_string(),
            key_id: "k1".to_string(),
            nonce: vec![1; 24],
            ciphertext: vec![2; 40],
        }),
        subjects: vec![SubjectDigest {
            kind: PiiKind::Mobile,
            digest: [7; 32],
        }],
    }
}

pub fn put(store: &mut Store, calls: &[Call]) {
    store
        .put_call_batch(&CallBatch {
            calls,
            ..CallBatch::default()
        })
        .unwrap();
}
