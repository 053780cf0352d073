//! The demo workspace's synthetic history: six weeks of generated call
//! transcripts (no audio) from [`crate::synth_voc`], imported beside the
//! bundled demo recordings by `scripts/setup.sh`, so that the digest,
//! trends, alerts and the review queue have something to show on first
//! open.
//!
//! Everything about it is labelled: call ids start with `SYN-`, agents are
//! `SYN-A01`..`SYN-A10`, the team is [`TEAM`] (合成历史, "synthetic
//! history") and every call's metadata says so ([`NOTE_KEY`]). Its calls
//! are in the 售后 queue, so the bundled after-sales scorecard scores them.
//!
//! What it plants (days from 2026-07-27, the last day 2026-09-06 being the
//! demo recordings' last day):
//! - a **rising complaint**: from 2026-08-31 (the last week) one call in ten
//!   says the payment button moved (支付按钮的位置变了, ...);
//! - a **product fix**: until 2026-08-16 customers cannot get their
//!   verification code (验证码收不到), and after the fix few say so;
//! - an **agent whose quality drops**: from 2026-08-31 [`DROPPING_AGENT`]
//!   says forbidden phrases and skips the closing far more often.
//!
//! `cargo run --release -p callscope-testkit --example demo_history > h.jsonl`
//! writes it as transcript JSON Lines.

use chrono::NaiveDate;

use crate::synth_voc::{QaDrop, VocGenerator, VocScenario};
use callscope_core::model::Call;

/// The team (and label) of every synthetic call.
pub const TEAM: &str = "合成历史";

/// The queue of every synthetic call (the bundled scorecard's queue).
pub const QUEUE: &str = "售后";

/// The metadata key that marks a call as synthetic, and its value.
pub const NOTE_KEY: &str = "合成历史";
/// See [`NOTE_KEY`].
pub const NOTE: &str =
    "由 callscope-testkit 生成的演示转写，不是真实通话（synthetic demo history）";

/// The agent whose quality drops in the last week.
pub const DROPPING_AGENT: &str = "SYN-A07";

/// Agents of the history.
const AGENTS: usize = 10;

/// The scenario: 42 days ending 2026-09-06, 50 calls a day growing to 70
/// (about 2,500 calls).
pub fn scenario() -> VocScenario {
    let agent_index = DROPPING_AGENT
        .trim_start_matches("SYN-A")
        .parse::<usize>()
        .expect("an agent number")
        - 1;
    VocScenario {
        seed: 2026,
        start_date: NaiveDate::from_ymd_opt(2026, 7, 27).expect("valid date"),
        days: 42,
        first_day_calls: 50,
        last_day_calls: 70,
        agents: AGENTS,
        customer_lines: 5,
        release_day: 35,
        burst_share: 0.10,
        burst_share_before: 0.002,
        fix_day: 21,
        fixed_share_before: 0.08,
        fixed_share_after: 0.005,
        qa_drop: Some(QaDrop {
            team: "T00".to_string(),
            from_day: 35,
            agent: Some(agent_index),
        }),
    }
}

/// The first day of the last week (where the complaint rises and the agent
/// drops) and the last day.
pub fn last_week() -> (NaiveDate, NaiveDate) {
    let scenario = scenario();
    (
        scenario.date(scenario.release_day),
        scenario.date(scenario.days - 1),
    )
}

/// The history's generator and its labelled calls.
#[derive(Debug, Clone)]
pub struct DemoHistory {
    generator: VocGenerator,
}

impl Default for DemoHistory {
    fn default() -> DemoHistory {
        DemoHistory::new()
    }
}

impl DemoHistory {
    /// The history of [`scenario`].
    pub fn new() -> DemoHistory {
        DemoHistory {
            generator: VocGenerator::new(scenario()),
        }
    }

    /// Number of calls.
    pub fn total_calls(&self) -> u64 {
        self.generator.total_calls()
    }

    /// Call `index`, labelled as synthetic.
    pub fn call(&self, index: u64) -> Call {
        let mut call = self.generator.call(index);
        let day = self.generator.scenario().date(self.generator.day_of(index));
        call.call_id = format!("SYN-{}-{:04}", day.format("%Y%m%d"), index);
        let agent: usize = call
            .agent_id
            .as_deref()
            .and_then(|agent| agent.trim_start_matches('A').parse().ok())
            .unwrap_or(0);
        call.agent_id = Some(format!("SYN-A{:02}", agent + 1));
        call.team = Some(TEAM.to_string());
        call.queue = Some(QUEUE.to_string());
        call.meta.insert(NOTE_KEY.to_string(), NOTE.to_string());
        call
    }

    /// Writes every call as transcript JSON Lines (docs/formats.md §2).
    pub fn write_jsonl(&self, writer: &mut impl std::io::Write) -> std::io::Result<()> {
        for index in 0..self.total_calls() {
            serde_json::to_writer(&mut *writer, &self.call(index))?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_labelled_and_valid() {
        let history = DemoHistory::new();
        let total = history.total_calls();
        assert!((2_000..3_000).contains(&total), "{total}");
        let (_, last) = last_week();
        assert_eq!(last, NaiveDate::from_ymd_opt(2026, 9, 6).unwrap());
        let mut agents = std::collections::BTreeSet::new();
        for index in (0..total).step_by(7) {
            let call = history.call(index);
            assert!(call.call_id.starts_with("SYN-2026"), "{}", call.call_id);
            assert_eq!(call.team.as_deref(), Some(TEAM));
            assert_eq!(call.queue.as_deref(), Some(QUEUE));
            assert_eq!(call.meta.get(NOTE_KEY).map(String::as_str), Some(NOTE));
            agents.insert(call.agent_id.clone().unwrap());
            assert!(callscope_core::import::validate(&call).is_ok());
        }
        assert_eq!(agents.len(), AGENTS);
        assert!(agents.contains(DROPPING_AGENT), "{agents:?}");
        let mut out = Vec::new();
        history.write_jsonl(&mut out).unwrap();
        assert_eq!(
            out.iter().filter(|&&byte| byte == b'\n').count() as u64,
            total
        );
    }
}
