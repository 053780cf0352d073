//! A synthetic voice-of-the-customer corpus with known answers, for the
//! digest's tests and benchmark.
//!
//! Calls are built from the pools of [`crate::synth`] and grow in volume
//! over time (so counts of steady topics rise while their shares do not).
//! Three things are planted:
//! - a **burst**: from `release_day`, a share of customers complain that the
//!   payment button moved (支付按钮的位置变了, 支付按钮找不到了, ...);
//! - a **fix**: before `fix_day`, a share of customers cannot get their
//!   verification code (验证码收不到); after it, few do;
//! - optionally a **QA drop**: from `qa_drop.from_day`, the agents of one
//!   team (or one agent of it) break the forbidden-words and closing rules
//!   far more often.
//!
//! Each call comes with a QA result consistent with its transcript (a
//! forbidden-words violation points at the agent's forbidden line; a missing
//! closing is a call without one). Deterministic: call `i` of a scenario is
//! always the same.

use chrono::{Duration, NaiveDate, TimeZone};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::synth::{
    AGENT_LINES, APOLOGIES, CLOSINGS, COMPLAINTS, CUSTOMER_ISSUES, CUSTOMER_LINES, FORBIDDEN,
    GREETINGS, QUEUES,
};
use callscope_core::model::{Call, Evidence, QaResult, Role, Segment, Violation};

/// Customer lines of the planted burst (the payment button moved).
pub const BURST_LINES: &[&str] = &[
    "新版本的支付按钮找不到了，我要怎么付款？",
    "支付按钮的位置变了，我找了半天都没找到。",
    "更新以后支付按钮位置太靠下了，根本看不到。",
    "你们把支付按钮放到哪里去了？",
];

/// Customer lines of the planted fix (verification codes not arriving).
pub const FIXED_LINES: &[&str] = &[
    "登录的时候验证码一直收不到。",
    "验证码收不到，没法登录。",
    "手机一直收不到验证码短信。",
];

/// Products customers call about (with [`PROBLEMS`], a few thousand distinct
/// sentences and a realistic spread of terms and phrases).
pub const PRODUCTS: &[&str] = &[
    "蓝牙耳机",
    "电饭煲",
    "空气炸锅",
    "扫地机器人",
    "洗衣机",
    "冰箱",
    "手机壳",
    "充电宝",
    "运动鞋",
    "羽绒服",
    "面膜",
    "奶粉",
    "纸尿裤",
    "咖啡机",
    "榨汁机",
    "电动牙刷",
    "吹风机",
    "行李箱",
    "台灯",
    "显示器",
    "键盘",
    "鼠标",
    "路由器",
    "智能手表",
    "平板电脑",
    "笔记本电脑",
    "投影仪",
    "加湿器",
    "净水器",
    "微波炉",
    "电烤箱",
    "保温杯",
    "床垫",
    "枕头",
    "窗帘",
    "沙发",
    "书包",
    "儿童座椅",
    "婴儿车",
    "跑步机",
    "瑜伽垫",
    "自行车",
    "头盔",
    "茶叶",
    "大米",
    "食用油",
    "牛奶",
    "坚果礼盒",
    "洗发水",
    "沐浴露",
    "牙膏",
    "洗衣液",
    "猫粮",
    "狗粮",
    "鱼缸",
    "花盆",
    "打印机",
    "墨盒",
    "相机",
    "镜头",
];

/// Problems with a product (see [`PRODUCTS`]).
pub const PROBLEMS: &[&str] = &[
    "用了两天就坏了",
    "收到的时候外包装破了",
    "颜色和图片上不一样",
    "尺码不对想换一个",
    "一直充不进电",
    "声音特别小",
    "有很大的异味",
    "少发了一个配件",
    "说明书看不懂",
    "安装师傅一直没来",
    "保修卡没有盖章",
    "发错了型号",
    "质量太差了",
    "用起来噪音很大",
    "连不上手机",
    "价格比别家贵",
    "赠品没有收到",
    "过了保质期",
    "表面有划痕",
    "开关按不动",
];

/// The terms the burst plants (what a digest must find rising).
pub const BURST_TERMS: &[&str] = &["支付按钮", "按钮位置", "支付按钮位置"];

/// The term the fix plants (what a digest must find falling).
pub const FIXED_TERM: &str = "验证码";

/// Terms of steady topics (whose share does not change).
pub const STEADY_TERMS: &[&str] = &["快递", "发货", "退款", "到账", "发票", "优惠券", "会员"];

/// The scorecard of the synthetic QA results.
pub const SCORECARD: &str = "售后服务质检标准";

/// A planted drop in one team's QA quality.
#[derive(Debug, Clone)]
pub struct QaDrop {
    /// The team (`T00`, `T01`, ...).
    pub team: String,
    /// First day (from the scenario's start) of the drop.
    pub from_day: u32,
    /// Only this agent of the team (its number, from 0: agent 12 is `A012`
    /// of team `T01`), or every agent of the team.
    pub agent: Option<usize>,
}

/// The settings of a VOC corpus.
#[derive(Debug, Clone)]
pub struct VocScenario {
    /// Random seed.
    pub seed: u64,
    /// Day 0.
    pub start_date: NaiveDate,
    /// Number of days.
    pub days: u32,
    /// Calls on day 0.
    pub first_day_calls: u32,
    /// Calls on the last day (volume grows linearly in between).
    pub last_day_calls: u32,
    /// Agents, in teams of 10.
    pub agents: usize,
    /// Customer lines per call, roughly (agent lines alternate with them).
    pub customer_lines: usize,
    /// First day of the burst.
    pub release_day: u32,
    /// Share of calls with a burst complaint from `release_day` on.
    pub burst_share: f64,
    /// Share of calls with a burst complaint before (a few early adopters).
    pub burst_share_before: f64,
    /// First day after the fix.
    pub fix_day: u32,
    /// Share of calls with the fixed complaint before `fix_day`.
    pub fixed_share_before: f64,
    /// Share of calls with the fixed complaint from `fix_day` on.
    pub fixed_share_after: f64,
    /// A team whose QA quality drops, if any.
    pub qa_drop: Option<QaDrop>,
}

impl VocScenario {
    /// About 6,000 calls over 63 days (2026-08-01..2026-10-02) for tests:
    /// the fix lands on day 42 (2026-09-12), the burst on day 56
    /// (2026-09-26), so the default window (the last 7 days) sees the burst
    /// and its default baseline (the 28 days before) spans the fix. Team T01
    /// drops in the window.
    pub fn small() -> VocScenario {
        VocScenario {
            seed: 11,
            start_date: NaiveDate::from_ymd_opt(2026, 8, 1).expect("valid date"),
            days: 63,
            first_day_calls: 64,
            last_day_calls: 128,
            agents: 40,
            customer_lines: 6,
            release_day: 56,
            burst_share: 0.10,
            burst_share_before: 0.002,
            fix_day: 42,
            fixed_share_before: 0.08,
            fixed_share_after: 0.01,
            qa_drop: Some(QaDrop {
                team: "T01".to_string(),
                from_day: 56,
                agent: None,
            }),
        }
    }

    /// The small scenario with `calls` calls in all (same days and plants,
    /// volume scaled; 200 agents), for benchmarks.
    pub fn sized(calls: u64) -> VocScenario {
        let small = VocScenario::small();
        let days = u64::from(small.days);
        // Linear growth from v to 2v: total = days * 1.5 v.
        let first = ((calls as f64) / (days as f64 * 1.5)).max(1.0);
        VocScenario {
            first_day_calls: first.round() as u32,
            last_day_calls: (first * 2.0).round() as u32,
            agents: 200,
            customer_lines: 12,
            ..small
        }
    }

    /// The date of day `day`.
    pub fn date(&self, day: u32) -> NaiveDate {
        self.start_date + Duration::days(i64::from(day))
    }
}

/// Generates a scenario's calls and QA results.
#[derive(Debug, Clone)]
pub struct VocGenerator {
    scenario: VocScenario,
    /// `day_starts[d]` is the index of day `d`'s first call;
    /// `day_starts[days]` the total.
    day_starts: Vec<u64>,
}

fn pick<'a>(rng: &mut SmallRng, pool: &[&'a str]) -> &'a str {
    pool[rng.random_range(0..pool.len())]
}

impl VocGenerator {
    /// A generator for `scenario`.
    pub fn new(scenario: VocScenario) -> VocGenerator {
        let days = scenario.days.max(1);
        let mut day_starts = Vec::with_capacity(days as usize + 1);
        let mut total = 0u64;
        for day in 0..days {
            day_starts.push(total);
            let fraction = if days > 1 {
                f64::from(day) / f64::from(days - 1)
            } else {
                0.0
            };
            let calls = f64::from(scenario.first_day_calls)
                + fraction
                    * (f64::from(scenario.last_day_calls) - f64::from(scenario.first_day_calls));
            total += calls.round().max(0.0) as u64;
        }
        day_starts.push(total);
        VocGenerator {
            scenario,
            day_starts,
        }
    }

    /// The scenario.
    pub fn scenario(&self) -> &VocScenario {
        &self.scenario
    }

    /// Number of calls.
    pub fn total_calls(&self) -> u64 {
        *self.day_starts.last().unwrap_or(&0)
    }

    /// The day of call `index`.
    pub fn day_of(&self, index: u64) -> u32 {
        (self.day_starts.partition_point(|&start| start <= index) - 1) as u32
    }

    /// Calls on day `day`.
    pub fn calls_on(&self, day: u32) -> u64 {
        let day = day as usize;
        if day + 1 >= self.day_starts.len() {
            return 0;
        }
        self.day_starts[day + 1] - self.day_starts[day]
    }

    /// Call `index` and its QA result.
    pub fn call_and_qa(&self, index: u64) -> (Call, QaResult) {
        let scenario = &self.scenario;
        let mut rng =
            SmallRng::seed_from_u64(scenario.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let day = self.day_of(index);
        let date = scenario.date(day);
        let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
        let started = offset
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("fixed offsets are unambiguous")
            + Duration::seconds(rng.random_range(8 * 3600..21 * 3600));
        let agent = rng.random_range(0..scenario.agents.max(1));
        let team = format!("T{:02}", agent / 10);
        let dropping = scenario.qa_drop.as_ref().is_some_and(|drop| {
            drop.team == team && drop.agent.is_none_or(|only| only == agent) && day >= drop.from_day
        });
        // Agents differ a little in how careful they are, steadily.
        let care = 0.7 + 0.6 * ((agent * 37 % 11) as f64 / 10.0);
        let forbidden_rate = if dropping { 0.40 } else { 0.04 * care };
        let no_closing_rate = if dropping { 0.45 } else { 0.08 * care };
        let no_greeting_rate = 0.03 * care;
        let breaks_forbidden = rng.random::<f64>() < forbidden_rate;
        let skips_closing = rng.random::<f64>() < no_closing_rate;
        let skips_greeting = rng.random::<f64>() < no_greeting_rate;

        let burst_share = if day >= scenario.release_day {
            scenario.burst_share
        } else {
            scenario.burst_share_before
        };
        let fixed_share = if day >= scenario.fix_day {
            scenario.fixed_share_after
        } else {
            scenario.fixed_share_before
        };
        let roll: f64 = rng.random();
        let opening = if roll < burst_share {
            pick(&mut rng, BURST_LINES)
        } else if roll < burst_share + fixed_share {
            pick(&mut rng, FIXED_LINES)
        } else {
            CUSTOMER_ISSUES[rng.random_range(0..CUSTOMER_ISSUES.len())].1
        };

        let mut lines: Vec<(Role, String)> = Vec::new();
        if !skips_greeting {
            lines.push((Role::Agent, pick(&mut rng, GREETINGS).to_string()));
        }
        lines.push((Role::Customer, opening.to_string()));
        let customer_lines = scenario.customer_lines.max(1) + rng.random_range(0..3);
        let forbidden_at = rng.random_range(1..customer_lines.max(2));
        for turn in 1..customer_lines {
            let agent_line = if breaks_forbidden && turn == forbidden_at {
                pick(&mut rng, FORBIDDEN)
            } else if rng.random::<f64>() < 0.1 {
                pick(&mut rng, APOLOGIES)
            } else {
                pick(&mut rng, AGENT_LINES)
            };
            lines.push((Role::Agent, agent_line.to_string()));
            let customer_roll: f64 = rng.random();
            let customer_line = if customer_roll < 0.03 {
                pick(&mut rng, COMPLAINTS).to_string()
            } else if customer_roll < 0.15 {
                CUSTOMER_ISSUES[rng.random_range(0..CUSTOMER_ISSUES.len())]
                    .1
                    .to_string()
            } else if customer_roll < 0.30 {
                format!(
                    "我买的{}{}。",
                    pick(&mut rng, PRODUCTS),
                    pick(&mut rng, PROBLEMS)
                )
            } else {
                pick(&mut rng, CUSTOMER_LINES).to_string()
            };
            lines.push((Role::Customer, customer_line));
        }
        if !skips_closing {
            lines.push((Role::Agent, pick(&mut rng, CLOSINGS).to_string()));
        }

        let mut time: f64 = rng.random_range(0.2..1.5);
        let segments: Vec<Segment> = lines
            .into_iter()
            .map(|(role, text)| {
                let speaking = text.chars().count() as f64 / rng.random_range(3.5..5.5);
                let start = round2(time);
                let end = round2(time + speaking);
                time = end + rng.random_range(0.3..2.5);
                Segment {
                    start,
                    end,
                    role,
                    text,
                    confidence: None,
                    role_confidence: None,
                }
            })
            .collect();

        let mut violations = Vec::new();
        if skips_greeting {
            violations.push(violation("greeting", "标准开场白", 5.0, Vec::new()));
        }
        if breaks_forbidden {
            let evidence = segments
                .iter()
                .enumerate()
                .filter(|(_, segment)| FORBIDDEN.contains(&segment.text.as_str()))
                .map(|(position, segment)| Evidence {
                    segment: position,
                    start: segment.start,
                    end: segment.end,
                    role: segment.role,
                    text: segment.text.clone(),
                    matched: segment.text.chars().take(4).collect(),
                })
                .collect();
            violations.push(violation("forbidden_words", "服务禁语", 15.0, evidence));
        }
        if skips_closing {
            violations.push(violation("closing", "标准结束语", 10.0, Vec::new()));
        }
        let score = (100.0 - violations.iter().map(|v| v.points).sum::<f64>()).max(0.0);
        let call_id = format!("V{:08}", index);
        let qa = QaResult {
            call_id: call_id.clone(),
            scorecard: SCORECARD.to_string(),
            score,
            passed: score >= 80.0,
            fatal: false,
            violations,
        };
        let call = Call {
            call_id,
            started_at: Some(started.to_rfc3339()),
            agent_id: Some(format!("A{agent:03}")),
            team: Some(team),
            queue: Some(QUEUES[agent % QUEUES.len()].to_string()),
            duration: Some(round2(time)),
            segments,
            meta: Default::default(),
            asr_model: None,
            audio_sha256: None,
            silences: Vec::new(),
            audio_path: None,
        };
        (call, qa)
    }

    /// Call `index`.
    pub fn call(&self, index: u64) -> Call {
        self.call_and_qa(index).0
    }

    /// All calls.
    pub fn calls(&self) -> Vec<Call> {
        (0..self.total_calls())
            .map(|index| self.call(index))
            .collect()
    }

    /// All QA results.
    pub fn qa_results(&self) -> Vec<QaResult> {
        (0..self.total_calls())
            .map(|index| self.call_and_qa(index).1)
            .collect()
    }

    /// Writes all calls as transcript JSON Lines (docs/formats.md §2).
    pub fn write_jsonl(&self, writer: &mut impl std::io::Write) -> std::io::Result<()> {
        for index in 0..self.total_calls() {
            serde_json::to_writer(&mut *writer, &self.call(index))?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }
}

fn violation(rule_id: &str, name: &str, points: f64, evidence: Vec<Evidence>) -> Violation {
    Violation {
        rule_id: rule_id.to_string(),
        name: name.to_string(),
        points,
        fatal: false,
        evidence,
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_grows_and_days_map_back() {
        let generator = VocGenerator::new(VocScenario::small());
        assert_eq!(generator.calls_on(0), 64);
        assert_eq!(generator.calls_on(62), 128);
        let total = generator.total_calls();
        assert!((5_900..6_200).contains(&total), "{total}");
        assert_eq!(generator.day_of(0), 0);
        assert_eq!(generator.day_of(63), 0);
        assert_eq!(generator.day_of(64), 1);
        assert_eq!(generator.day_of(total - 1), 62);
        assert_eq!(generator.call_and_qa(5), generator.call_and_qa(5));
    }

    #[test]
    fn plants_are_where_the_scenario_says() {
        let scenario = VocScenario::small();
        let generator = VocGenerator::new(scenario.clone());
        let share_with = |days: std::ops::Range<u32>, lines: &[&str]| {
            let (mut calls, mut with) = (0, 0);
            for index in 0..generator.total_calls() {
                if !days.contains(&generator.day_of(index)) {
                    continue;
                }
                calls += 1;
                let call = generator.call(index);
                with += u64::from(
                    call.segments
                        .iter()
                        .any(|segment| lines.contains(&segment.text.as_str())),
                );
            }
            with as f64 / calls as f64
        };
        assert!(share_with(56..63, BURST_LINES) > 0.07);
        assert!(share_with(0..56, BURST_LINES) < 0.01);
        assert!(share_with(0..42, FIXED_LINES) > 0.06);
        assert!(share_with(42..63, FIXED_LINES) < 0.02);
    }

    #[test]
    fn qa_results_agree_with_transcripts() {
        let generator = VocGenerator::new(VocScenario::small());
        for index in 0..300 {
            let (call, qa) = generator.call_and_qa(index);
            assert_eq!(call.call_id, qa.call_id);
            let has_closing = call
                .segments
                .iter()
                .any(|segment| CLOSINGS.contains(&segment.text.as_str()));
            let flagged = qa.violations.iter().any(|v| v.rule_id == "closing");
            assert_eq!(has_closing, !flagged, "{index}");
            assert!(callscope_core::import::validate(&call).is_ok());
        }
    }
}
