//! Engine tests that need no CLI: thread safety and robustness on odd
//! transcripts. Per-operator cases are golden files (tests/golden/qa/).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;
use callscope_core::model::{
    Call, PiiKind, PiiMention, QaResult, Role, ScoringView, Segment, Silence,
};

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

fn mention(segment: usize, kind: PiiKind, start: usize, end: usize, shown: &str) -> PiiMention {
    PiiMention {
        segment,
        kind,
        char_start: start,
        char_end: end,
        shown: shown.to_string(),
    }
}

const PII_RULES: &str = r#"
[scorecard]
name = "personal data"
pass_score = 0

[[rule]]
id = "agent_card"
expect = "absent"
points = 1
[rule.when]
op = "pii"
role = "agent"
kinds = ["bank_card"]

[[rule]]
id = "two_numbers"
expect = "absent"
points = 1
[rule.when]
op = "pii"
min_count = 2

[[rule]]
id = "mobile_regex"
expect = "absent"
points = 1
[rule.when]
op = "regex"
pattern = '号是1[3-9]\d{9}'

[[rule]]
id = "asked_then_said"
expect = "absent"
points = 1
[rule.when]
op = "sequence"
first = { op = "keyword", role = "agent", words = ["卡号"] }
then = { op = "pii", role = "customer", kinds = ["bank_card", "id_card"] }
"#;

/// A view as the redaction stage makes it without a seal key: stand-ins in
/// the text, the masked forms as `shown`.
fn view_with_stand_ins() -> ScoringView {
    ScoringView {
        call: call(vec![
            segment(0.0, 2.0, Role::Agent, "请问您的卡号？"),
            segment(2.0, 4.0, Role::Customer, "卡号6222307418529672444。"),
            segment(4.0, 6.0, Role::Customer, "手机号是13807415678，好的"),
        ]),
        pii: vec![
            mention(1, PiiKind::BankCard, 2, 21, "****2444"),
            mention(2, PiiKind::Mobile, 4, 15, "138****5678"),
        ],
    }
}

fn violated(results: &[QaResult]) -> Vec<&str> {
    results[0]
        .violations
        .iter()
        .map(|violation| violation.rule_id.as_str())
        .collect()
}

#[test]
fn pii_counts_the_views_personal_data_by_kind_role_and_count() {
    let scorer = Scorer::new(vec![Scorecard::parse(PII_RULES, "pii.toml").unwrap()]);
    let view = view_with_stand_ins();
    let results = scorer.score_view(&view);
    assert_eq!(
        violated(&results),
        ["two_numbers", "mobile_regex", "asked_then_said"]
    );
    // Without the personal data the `pii` rules never hold; the regex
    // still reads the text.
    assert_eq!(violated(&scorer.score(&view.call)), ["mobile_regex"]);
    // The card said by the agent.
    let mut agent = view.clone();
    agent.call.segments[1].role = Role::Agent;
    assert!(violated(&scorer.score_view(&agent)).contains(&"agent_card"));
}

#[test]
fn evidence_shows_personal_data_as_shown_never_as_the_view_has_it() {
    let scorer = Scorer::new(vec![Scorecard::parse(PII_RULES, "pii.toml").unwrap()]);
    let results = scorer.score_view(&view_with_stand_ins());
    let evidence: Vec<(usize, &str, &str)> = results[0]
        .violations
        .iter()
        .flat_map(|violation| &violation.evidence)
        .map(|evidence| {
            (
                evidence.segment,
                evidence.text.as_str(),
                evidence.matched.as_str(),
            )
        })
        .collect();
    assert_eq!(
        evidence,
        [
            // two_numbers
            (1, "卡号****2444。", "****2444"),
            (2, "手机号是138****5678，好的", "138****5678"),
            // mobile_regex: the match is widened to the whole number
            (2, "手机号是138****5678，好的", "号是138****5678"),
            // asked_then_said
            (0, "请问您的卡号？", "卡号"),
            (1, "卡号****2444。", "****2444"),
        ]
    );
    for (_, text, matched) in evidence {
        assert!(!text.contains("6222307418529672444") && !text.contains("13807415678"));
        assert!(text.contains(matched));
    }
}

#[test]
fn personal_data_follows_segments_that_are_sorted_for_scoring() {
    let scorer = Scorer::new(vec![Scorecard::parse(PII_RULES, "pii.toml").unwrap()]);
    let sorted = view_with_stand_ins();
    let mut shuffled = sorted.clone();
    shuffled.call.segments.reverse();
    for mention in &mut shuffled.pii {
        mention.segment = 2 - mention.segment;
    }
    assert_eq!(scorer.score_view(&shuffled), scorer.score_view(&sorted));
}

#[test]
fn odd_personal_data_never_panics_and_matches_stay_in_the_text() {
    let scorer = Scorer::new(vec![
        Scorecard::parse(PII_RULES, "pii.toml").unwrap(),
        every_operator(),
    ]);
    let texts = [
        "卡号6222307418529672444。",
        "手机号是13807415678",
        "",
        "嗯",
        "一三八",
    ];
    let mut rng = SmallRng::seed_from_u64(7);
    for _ in 0..2000 {
        let count = rng.random_range(0..5);
        let segments: Vec<Segment> = (0..count)
            .map(|index| {
                segment(
                    rng.random_range(0.0..20.0),
                    20.0 + index as f64,
                    if rng.random_bool(0.5) {
                        Role::Agent
                    } else {
                        Role::Customer
                    },
                    texts[rng.random_range(0..texts.len())],
                )
            })
            .collect();
        let pii = (0..rng.random_range(0..4))
            .map(|_| {
                let start = rng.random_range(0..25);
                mention(
                    rng.random_range(0..6),
                    PiiKind::ALL[rng.random_range(0..5)],
                    start,
                    start + rng.random_range(0..25),
                    ["****2444", "", "[手机号]"][rng.random_range(0..3)],
                )
            })
            .collect();
        let view = ScoringView {
            call: call(segments),
            pii,
        };
        for result in scorer.score_view(&view) {
            for violation in &result.violations {
                for evidence in &violation.evidence {
                    assert!(evidence.text.contains(&evidence.matched), "{evidence:?}");
                }
            }
        }
    }
}

const REPEAT_RULES: &str = r#"
[scorecard]
name = "repeats"
pass_score = 0

[[rule]]
id = "customer_repeats"
expect = "absent"
points = 1
[rule.when]
op = "repeat"
role = "customer"
threshold = 0.8
min_count = 2

[[rule]]
id = "asked_again_after_apology"
expect = "absent"
points = 1
[rule.when]
op = "sequence"
within = 2
first = { op = "keyword", role = "agent", words = ["抱歉"] }
then = { op = "repeat", role = "customer", min_count = 3 }
"#;

fn evidence_segments(result: &QaResult, rule_id: &str) -> Option<Vec<usize>> {
    let violation = result
        .violations
        .iter()
        .find(|violation| violation.rule_id == rule_id)?;
    Some(
        violation
            .evidence
            .iter()
            .map(|evidence| evidence.segment)
            .collect(),
    )
}

/// A Whisper repetition loop: `count` identical customer sentences, with
/// one agent apology near the end.
fn repetition_loop(count: usize) -> Call {
    let mut segments: Vec<Segment> = (0..count)
        .map(|index| {
            let start = index as f64;
            segment(
                start,
                start + 0.5,
                Role::Customer,
                "我的快递三天了还没有发货",
            )
        })
        .collect();
    segments[count - 3] = segment(
        (count - 3) as f64,
        (count - 3) as f64 + 0.5,
        Role::Agent,
        "非常抱歉",
    );
    call(segments)
}

fn check_repetition_loop(count: usize) {
    let scorer = Scorer::new(vec![Scorecard::parse(REPEAT_RULES, "repeats.toml").unwrap()]);
    let results = scorer.score(&repetition_loop(count));
    let all = evidence_segments(&results[0], "customer_repeats").unwrap();
    let customer: Vec<usize> = (0..count).filter(|index| *index != count - 3).collect();
    assert_eq!(all, customer);
    // In a sequence step the evidence is the saying and the latest earlier
    // ones, bounded whatever the loop's length.
    let step = evidence_segments(&results[0], "asked_again_after_apology").unwrap();
    assert!(step.contains(&(count - 3)) && step.contains(&(count - 1)));
    assert!(step.len() <= 2 * 17 + 1, "{}", step.len());
}

#[test]
fn repeat_of_16000_identical_segments_is_found_by_hashing() {
    check_repetition_loop(16_000);
}

#[test]
fn repeat_of_64000_identical_segments_works() {
    check_repetition_loop(64_000);
}

/// The largest group of pairwise comparisons, as `repeat` defined it before
/// hashing: the segments of the sentence with the most similar sayings.
fn repeat_by_pairs(call: &Call, threshold: f64, min_chars: usize) -> Vec<usize> {
    let normalizer = callscope_core::text::Normalizer::shared();
    let candidates: Vec<(usize, Vec<char>)> = call
        .segments
        .iter()
        .enumerate()
        .filter(|(_, segment)| segment.role == Role::Customer)
        .map(|(index, segment)| (index, normalizer.normalize(&segment.text).chars))
        .filter(|(_, chars)| chars.len() >= min_chars)
        .collect();
    let mut row = Vec::new();
    let mut best: Vec<usize> = Vec::new();
    for (left, left_chars) in &candidates {
        let group: Vec<usize> = candidates
            .iter()
            .filter(|(right, right_chars)| {
                right == left
                    || similar::sentence_similarity(left_chars, right_chars, &mut row) + 1e-9
                        >= threshold
            })
            .map(|(right, _)| *right)
            .collect();
        if group.len() > best.len() {
            best = group;
        }
    }
    best
}

#[test]
fn repeat_by_hashing_finds_the_groups_of_pairwise_comparison() {
    let scorer = Scorer::new(vec![Scorecard::parse(REPEAT_RULES, "repeats.toml").unwrap()]);
    let lines = [
        "",
        "嗯",
        "好的好的",
        "我的快递三天了还没有发货",
        "我说我的快递三天了还没有发货",
        "快递三天了还没发货",
        "你们什么时候给我退款",
        "什么时候退款啊",
        "我要投诉你们",
    ];
    let mut rng = SmallRng::seed_from_u64(5);
    for _ in 0..500 {
        let segments: Vec<Segment> = (0..rng.random_range(0..30))
            .map(|index| {
                let role = if rng.random_bool(0.7) {
                    Role::Customer
                } else {
                    Role::Agent
                };
                let start = index as f64;
                segment(
                    start,
                    start + 0.5,
                    role,
                    lines[rng.random_range(0..lines.len())],
                )
            })
            .collect();
        let odd = call(segments);
        let expected = repeat_by_pairs(&odd, 0.8, scorecard::DEFAULT_REPEAT_MIN_CHARS);
        let found = evidence_segments(&scorer.score(&odd)[0], "customer_repeats");
        if expected.len() >= 2 {
            let mut expected = expected;
            expected.sort_unstable();
            assert_eq!(found, Some(expected), "{odd:?}");
        } else {
            assert_eq!(found, None, "{odd:?}");
        }
    }
}

/// Pieces of scorecard text that the properties below splice together, so
/// that random text often gets past TOML into validation.
const SCORECARD_PIECES: &[&str] = &[
    "[scorecard]\n",
    "name = \"p\"\n",
    "pass_score = 60\n",
    "base_score = -5\n",
    "[[rule]]\n",
    "id = \"r\"\n",
    "expect = \"absent\"\n",
    "expect = \"present\"\n",
    "points = 5\n",
    "fatal = true\n",
    "[rule.when]\n",
    "op = \"repeat\"\n",
    "op = \"sequence\"\n",
    "op = \"not\"\n",
    "op = \"keyword\"\n",
    "words = [\"投诉\", \"\"]\n",
    "of = [{ op = \"all\", of = [] }]\n",
    "first = { op = \"silence\", min_seconds = -1 }\n",
    "then = { op = \"duration\" }\n",
    "pattern = '(a*)*'\n",
    "threshold = 1e309\n",
    "min_count = 0\n",
    "role = \"customer\"\n",
    "last = 18446744073709551616\n",
    "queues = [1]\n",
    "\"\n",
    "{",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_scorecard_text_is_a_scorecard_or_an_error(
        pieces in proptest::collection::vec(0..SCORECARD_PIECES.len(), 0..24),
        noise in "\\PC{0,40}",
    ) {
        let mut text: String = pieces.iter().map(|piece| SCORECARD_PIECES[*piece]).collect();
        text.push_str(&noise);
        // Either outcome is fine; a panic is not.
        let _ = Scorecard::parse(&text, "fuzz.toml");
        let _ = Scorecard::parse(&noise, "fuzz.toml");
    }

    #[test]
    fn every_operator_scores_random_odd_calls(
        lines in proptest::collection::vec(
            (0u8..3, -10.0f64..100.0, -1.0f64..10.0, "\\PC{0,12}|我的快递还没发货|非常抱歉|"),
            0..40,
        ),
    ) {
        let scorer = Scorer::new(vec![every_operator()]);
        let roles = [Role::Agent, Role::Customer, Role::Unknown];
        let segments = lines
            .iter()
            .map(|(role, start, length, text)| {
                segment(*start, start + length, roles[*role as usize], text)
            })
            .collect();
        let odd = call(segments);
        for result in scorer.score(&odd) {
            proptest::prop_assert!(result.score >= 0.0 && result.score <= 100.0);
            for violation in &result.violations {
                for evidence in &violation.evidence {
                    proptest::prop_assert!(evidence.segment < odd.segments.len());
                }
            }
        }
    }
}

/// Sequences nested four deep, each reaching back over the whole call: the
/// first step of each is looked up where it last held, so the work stays
/// linear in the call (before, each step of 20,000 sentences rescanned up
/// to `within` earlier sentences at every level).
#[test]
fn nested_sequences_with_unbounded_reach_stay_linear() {
    let rules = r#"
[scorecard]
name = "nested"
pass_score = 0

[[rule]]
id = "greeting_question_answer_thanks"
expect = "absent"
points = 1
[rule.when]
op = "sequence"
within = 1000000000
first = { op = "keyword", role = "agent", words = ["您好"] }
[rule.when.then]
op = "sequence"
within = 1000000000
first = { op = "keyword", role = "agent", words = ["请问"] }
[rule.when.then.then]
op = "sequence"
within = 1000000000
first = { op = "keyword", role = "customer", words = ["快递"] }
then = { op = "keyword", role = "agent", words = ["谢谢"] }
"#;
    let scorer = Scorer::new(vec![Scorecard::parse(rules, "nested.toml").unwrap()]);
    let count = 20_000;
    let mut segments: Vec<Segment> = (0..count)
        .map(|index| {
            let start = index as f64;
            let (role, text) = if index % 2 == 0 {
                (Role::Customer, "我的快递三天了还没有发货")
            } else {
                (Role::Agent, "好的谢谢")
            };
            segment(start, start + 0.5, role, text)
        })
        .collect();
    segments[1] = segment(1.0, 1.5, Role::Agent, "您好");
    segments[3] = segment(3.0, 3.5, Role::Agent, "请问有什么可以帮您");
    let results = scorer.score(&call(segments.clone()));
    let evidence = evidence_segments(&results[0], "greeting_question_answer_thanks").unwrap();
    // The greeting, the question, and each answer with its thanks after it.
    assert!(
        evidence.contains(&1) && evidence.contains(&3),
        "{evidence:?}"
    );
    assert!(evidence.contains(&(count - 2)) && evidence.contains(&(count - 1)));
    // Without the greeting nothing holds, however far back it looks.
    segments[1] = segment(1.0, 1.5, Role::Agent, "嗯");
    let results = scorer.score(&call(segments));
    assert!(evidence_segments(&results[0], "greeting_question_answer_thanks").is_none());
}
