//! Synthetic call-center transcripts for benchmarks and tests.
//!
//! Calls are built from pools of realistic agent and customer lines, so
//! segmentation, scoring, search and digests do real work on them. The
//! generator is deterministic: call `i` of a seed is always the same call, and
//! calls are made one at a time, so a million-call corpus streams in
//! constant memory.

use chrono::{Duration, NaiveDate, TimeZone};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use callscope_core::model::{Call, Role, Segment};

/// Agent openings.
pub const GREETINGS: &[&str] = &[
    "您好，很高兴为您服务，请问有什么可以帮您？",
    "您好，欢迎致电客户服务中心，我是客服小李，请问有什么可以帮您？",
    "您好，我是工号三零七的客服，请问您遇到了什么问题？",
];

/// Agent closings.
pub const CLOSINGS: &[&str] = &[
    "请问还有其他可以帮您的吗？",
    "感谢您的耐心等待，祝您生活愉快，再见。",
    "感谢您的来电，再见。",
];

/// Ordinary agent lines.
pub const AGENT_LINES: &[&str] = &[
    "为了保障您的账户安全，麻烦您提供一下注册时的手机号码。",
    "好的，我这边已经核实了您的身份信息。",
    "请您稍等，我帮您查询一下订单的物流状态。",
    "您的退款已经提交成功，预计三到五个工作日原路退回。",
    "这个问题需要转接到技术部门处理，请您不要挂机。",
    "您反映的问题我已经记录下来了，会在二十四小时内给您回复。",
    "我们已经安排快递员明天上午重新派送。",
    "您先别着急，我们一定会帮您解决的。",
    "我帮您申请了一张十元的补偿优惠券。",
    "您的会员将在下个月自动续费，如需取消可以在设置里关闭。",
    "好的，我帮您看一下。",
    "嗯，明白了，您说的情况我了解了。",
    "稍后可能会有一个满意度评价短信，麻烦您给个好评。",
];

/// Agent apologies.
pub const APOLOGIES: &[&str] = &[
    "非常抱歉给您带来了不好的体验。",
    "实在不好意思，让您久等了。",
];

/// Forbidden agent lines (服务禁语).
pub const FORBIDDEN: &[&str] = &[
    "这个我也没办法，系统就是这么规定的。",
    "你自己去网站上看一下吧。",
    "这个不归我们部门管。",
];

/// Customer problems: (topic, line).
pub const CUSTOMER_ISSUES: &[(&str, &str)] = &[
    ("物流", "你好，我的快递已经三天了还没有发货。"),
    ("退款", "我上周申请的退款到现在还没有到账。"),
    ("账单", "这个月的话费账单怎么多扣了二十块钱？"),
    ("会员", "我没有开通过会员，为什么会自动扣费？"),
    ("破损", "收到的商品有破损，包装也压坏了。"),
    ("地址", "能不能帮我改一下收货地址？"),
    ("取消", "我想取消这个订单，怎么操作？"),
    ("发票", "发票什么时候能开出来？"),
    ("优惠券", "优惠券为什么用不了，提示已经过期了。"),
    ("电话", "你们客服电话一直打不通，我都打了好几次了。"),
];

/// Customer complaints (投诉).
pub const COMPLAINTS: &[&str] = &[
    "我要投诉你们的快递员，态度太差了。",
    "你们的服务真是太让人失望了。",
    "我要求你们给我一个说法。",
];

/// Ordinary customer lines.
pub const CUSTOMER_LINES: &[&str] = &[
    "好的，那我再等等看吧。",
    "嗯，好的。",
    "麻烦你快点处理，我着急用。",
    "那大概要多久？",
    "行，我知道了。",
    "没有其他问题了，谢谢你。",
    "订单号我发给你了。",
];

/// Queues of the synthetic call center.
pub const QUEUES: &[&str] = &["售后", "账单", "物流", "技术支持"];

/// Settings of a synthetic corpus.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Random seed.
    pub seed: u64,
    /// First day of calls.
    pub start_date: NaiveDate,
    /// Calls spread over this many days.
    pub days: u32,
    /// Average segments per call.
    pub segments_per_call: usize,
    /// Agents, spread over teams of 10.
    pub agents: usize,
}

impl Default for SynthOptions {
    fn default() -> SynthOptions {
        SynthOptions {
            seed: 7,
            start_date: NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid date"),
            days: 60,
            segments_per_call: 30,
            agents: 200,
        }
    }
}

/// A deterministic generator of calls.
#[derive(Debug, Clone)]
pub struct Generator {
    options: SynthOptions,
}

fn pick<'a>(rng: &mut SmallRng, pool: &[&'a str]) -> &'a str {
    pool[rng.random_range(0..pool.len())]
}

impl Generator {
    /// A generator with these settings.
    pub fn new(options: SynthOptions) -> Generator {
        Generator { options }
    }

    /// The settings.
    pub fn options(&self) -> &SynthOptions {
        &self.options
    }

    /// Call number `index` (always the same call for the same seed).
    pub fn call(&self, index: u64) -> Call {
        let mut rng =
            SmallRng::seed_from_u64(self.options.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let options = &self.options;
        let day = (index % u64::from(options.days.max(1))) as i64;
        let date = options.start_date + Duration::days(day);
        let seconds_in_day = rng.random_range(8 * 3600..21 * 3600);
        let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
        let started = offset
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("fixed offsets are unambiguous")
            + Duration::seconds(seconds_in_day);
        let agent = rng.random_range(0..options.agents.max(1));
        let team = agent / 10;
        let queue = QUEUES[agent % QUEUES.len()];

        let mut lines: Vec<(Role, String)> = Vec::new();
        lines.push((Role::Agent, pick(&mut rng, GREETINGS).to_string()));
        let (_, issue) = CUSTOMER_ISSUES[rng.random_range(0..CUSTOMER_ISSUES.len())];
        lines.push((Role::Customer, issue.to_string()));
        let target = options
            .segments_per_call
            .saturating_add(rng.random_range(0..5))
            .saturating_sub(2)
            .max(4);
        while lines.len() + 1 < target {
            let roll: f64 = rng.random();
            let line = if lines.len() % 2 == 0 {
                if roll < 0.04 {
                    (Role::Agent, pick(&mut rng, FORBIDDEN))
                } else if roll < 0.12 {
                    (Role::Agent, pick(&mut rng, APOLOGIES))
                } else {
                    (Role::Agent, pick(&mut rng, AGENT_LINES))
                }
            } else if roll < 0.06 {
                (Role::Customer, pick(&mut rng, COMPLAINTS))
            } else if roll < 0.15 {
                let (_, issue) = CUSTOMER_ISSUES[rng.random_range(0..CUSTOMER_ISSUES.len())];
                (Role::Customer, issue)
            } else {
                (Role::Customer, pick(&mut rng, CUSTOMER_LINES))
            };
            lines.push((line.0, line.1.to_string()));
        }
        if rng.random::<f64>() < 0.9 {
            lines.push((Role::Agent, pick(&mut rng, CLOSINGS).to_string()));
        }

        let mut time = rng.random_range(0.2..1.5);
        let segments = lines
            .into_iter()
            .map(|(role, text)| {
                let speaking = text.chars().count() as f64 / rng.random_range(3.5..5.5);
                let start = time;
                let end = start + speaking;
                time = end + rng.random_range(0.3..2.5);
                Segment {
                    start: round2(start),
                    end: round2(end),
                    role,
                    text,
                    confidence: None,
                    role_confidence: None,
                }
            })
            .collect::<Vec<_>>();
        let duration = round2(time);
        Call {
            call_id: format!("S{:08}", index),
            started_at: Some(started.to_rfc3339()),
            agent_id: Some(format!("A{agent:03}")),
            team: Some(format!("T{team:02}")),
            queue: Some(queue.to_string()),
            duration: Some(duration),
            segments,
            meta: Default::default(),
            asr_model: None,
            audio_sha256: None,
            silences: Vec::new(),
            audio_path: None,
        }
    }

    /// Writes calls `0..count` as transcript JSON Lines.
    pub fn write_jsonl(&self, count: u64, writer: &mut impl std::io::Write) -> std::io::Result<()> {
        for index in 0..count {
            serde_json::to_writer(&mut *writer, &self.call(index))?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Lines with personal data, planted into one customer line in four.
pub const PLANTED: &[&str] = &[
    "我的手机号是一三八一二三四五六七八。",
    "身份证号11010519491231002X，你们核实一下。",
    "卡号是6222 6002 6000 1072 444。",
    "座机零七五五 八八八八 六六六六，白天打这个。",
    "邮箱是zhang.san@163.com。",
];

/// `calls` synthetic calls with a [`PLANTED`] line in place of every
/// fourth customer line (the second, sixth, ...); the calls and how many
/// lines were planted.
pub fn planted_corpus(calls: u64, seed: u64) -> (Vec<Call>, usize) {
    let generator = Generator::new(SynthOptions {
        seed,
        ..SynthOptions::default()
    });
    let mut corpus = Vec::with_capacity(calls as usize);
    let mut planted = 0usize;
    for index in 0..calls {
        let mut call = generator.call(index);
        let mut customer_line = 0usize;
        for segment in &mut call.segments {
            if segment.role == Role::Customer {
                if customer_line % 4 == 1 {
                    segment.text =
                        PLANTED[(index as usize + customer_line) % PLANTED.len()].to_string();
                    planted += 1;
                }
                customer_line += 1;
            }
        }
        corpus.push(call);
    }
    (corpus, planted)
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_deterministic_and_sorted() {
        let generator = Generator::new(SynthOptions::default());
        assert_eq!(generator.call(42), generator.call(42));
        assert_ne!(generator.call(42), generator.call(43));
        let call = generator.call(5);
        assert!(call.segments.len() >= 20, "{}", call.segments.len());
        assert!(call
            .segments
            .windows(2)
            .all(|pair| pair[0].start <= pair[1].start));
        assert!(callscope_core::import::validate(&call).is_ok());
    }
}
