//! Engine tests that need no CLI: thread safety and robustness on odd
//! transcripts. Per-operator cases are golden files (tests/golden/qa/).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;
use callscope_core::model::{Call, Role, Segment, Silence};

const EXAMPLE: &str = include_str!("../../../corpora/scorecards/after_sales.toml");

fn call(segments: Vec<Segment>) -> Call {
    Call {
        call_id: "T1".to_string(),
        started_at: None,
        agent_id: None,
        team: None,
        queue: Some("售后".to_string()),
        duration: None,
        segments,
        meta: Default::default(),
        asr_model: None,
        audio_sha256: None,
        silences: Vec::new(),
        audio_path: None,
    }
}

fn segment(start: f64, end: f64, role: Role, text: &str) -> Segment {
    Segment {
        start,
        end,
        role,
        text: text.to_string(),
        confidence: None,
        role_confidence: None,
    }
}

fn every_operator() -> Scorecard {
    Scorecard::parse(
        include_str!("../../../tests/golden/qa/every_operator.toml"),
        "tests/golden/qa/every_operator.toml",
    )
    .unwrap()
}

#[test]
fn the_scorer_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Scorer>();
}

#[test]
fn odd_transcripts_never_panic() {
    let scorer = Scorer::new(vec![
        Scorecard::parse(EXAMPLE, "corpora/scorecards/after_sales.toml").unwrap(),
        every_operator(),
    ]);
    let lines = [
        "",
        "，。！",
        "您好，很高兴为您服务",
        "这个我也没半法",
        "我要投诉你们",
        "非常抱歉",
        "ＡＢＣ１２３",
        "嗯",
        "感谢您的来电，再见",
        "我的快递三天了还没有发货",
        "我的快递三天了还没有发货啊",
    ];
    let roles = [Role::Agent, Role::Customer, Role::Unknown];
    let mut rng = SmallRng::seed_from_u64(11);
    for case in 0..2000 {
        let count = rng.random_range(0..12);
        let mut segments = Vec::new();
        for _ in 0..count {
            let start = if rng.random_bool(0.1) {
                0.0
            } else {
                rng.random_range(0.0..60.0)
            };
            let length = if rng.random_bool(0.2) {
                0.0
            } else {
                rng.random_range(0.0..8.0)
            };
            segments.push(segment(
                start,
                start + length,
                roles[rng.random_range(0..if case % 3 == 0 { 1 } else { 3 })],
                lines[rng.random_range(0..lines.len())],
            ));
        }
        let mut odd = call(segments);
        if rng.random_bool(0.5) {
            odd.sort_segments();
        }
        if rng.random_bool(0.2) {
            odd.duration = Some(rng.random_range(0.0..100.0));
        }
        if rng.random_bool(0.2) {
            odd.silences = vec![Silence {
                start: rng.random_range(0.0..60.0),
                end: rng.random_range(0.0..60.0),
            }];
        }
        let results = scorer.score(&odd);
        assert_eq!(results.len(), 2);
        for result in results {
            assert!(result.score >= 0.0 && result.score <= 100.0);
            for violation in &result.violations {
                for evidence in &violation.evidence {
                    assert!(evidence.segment < odd.segments.len());
                    assert!(evidence.text.contains(&evidence.matched));
                }
            }
        }
    }
}

#[test]
fn unsorted_segments_are_scored_in_time_order() {
    let scorer = Scorer::new(vec![every_operator()]);
    let mut sorted = call(vec![
        segment(0.0, 2.0, Role::Agent, "您好，很高兴为您服务"),
        segment(3.0, 5.0, Role::Customer, "我要投诉你们"),
        segment(6.0, 8.0, Role::Agent, "非常抱歉"),
    ]);
    let mut shuffled = sorted.clone();
    shuffled.segments.reverse();
    assert_eq!(scorer.score(&shuffled), scorer.score(&sorted));
    sorted.segments.clear();
    assert_eq!(scorer.score(&sorted).len(), 1);
}
