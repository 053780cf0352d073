//! Before/after: a term's or topic's share of calls in two periods, each
//! with its 95% Wilson interval, the difference with Newcombe's interval,
//! and whether the change is significant (the interval excludes 0).

use chrono::NaiveDate;

use super::report::{Comparison, Estimate, PeriodShare};
use super::stats::{newcombe_difference, two_proportion_p, wilson};
use super::table::DayRange;
use callscope_core::error::{Error, Result};

/// Parses a period `FROM..TO` (dates inclusive, `YYYY-MM-DD`).
pub fn parse_period(text: &str) -> Result<DayRange> {
    let usage = || {
        Error::Usage(format!(
            "period '{text}' is not FROM..TO; write e.g. 2026-09-01..2026-09-14 (dates inclusive)"
        ))
    };
    let (from, to) = text.split_once("..").ok_or_else(usage)?;
    let parse =
        |date: &str| NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| usage());
    let (from, to) = (parse(from)?, parse(to)?);
    if from > to {
        return Err(Error::Usage(format!(
            "period '{text}' ends before it starts; write FROM..TO with FROM first"
        )));
    }
    Ok(DayRange::new(from, to))
}

/// Compares `matching` of `calls` in `before` with the same in `after`.
pub fn compare(
    term: &str,
    kind: &str,
    before: (DayRange, u64, u64),
    after: (DayRange, u64, u64),
) -> Comparison {
    let share = |(range, calls, matching): (DayRange, u64, u64)| {
        let interval = wilson(matching, calls);
        (
            PeriodShare {
                from: range.from().to_string(),
                to: range.to().to_string(),
                calls,
                matching,
                share: interval.value,
                low: interval.low,
                high: interval.high,
            },
            interval,
        )
    };
    let (before_share, before_interval) = share(before);
    let (after_share, after_interval) = share(after);
    let difference = newcombe_difference(before_interval, after_interval);
    let measurable = before.1 > 0 && after.1 > 0;
    let significant = measurable && (difference.low > 0.0 || difference.high < 0.0);
    let verdict = match (significant, difference.value > 0.0) {
        (false, _) => "no significant change",
        (true, true) => "rose",
        (true, false) => "fell",
    };
    Comparison {
        term: term.to_string(),
        kind: kind.to_string(),
        p_value: if measurable {
            two_proportion_p(after.2, after.1, before.2, before.1)
        } else {
            1.0
        },
        before: before_share,
        after: after_share,
        difference: Estimate {
            value: difference.value,
            low: difference.low,
            high: difference.high,
        },
        significant,
        verdict: verdict.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        let range = parse_period("2026-09-01..2026-09-14").unwrap();
        assert_eq!(range.days(), 14);
        for bad in ["2026-09-01", "2026-09-14..2026-09-01", "2026-9..2026-10-01"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_fix_that_worked_and_one_that_did_not() {
        let before = parse_period("2026-09-01..2026-09-14").unwrap();
        let after = parse_period("2026-09-15..2026-09-28").unwrap();
        let fixed = compare("验证码", "term", (before, 2_000, 160), (after, 2_200, 22));
        assert!(fixed.significant && fixed.verdict == "fell", "{fixed:?}");
        assert!(fixed.difference.high < 0.0 && fixed.p_value < 1e-10);
        assert!(fixed.before.low < 0.08 && fixed.before.high > 0.08);
        let same = compare("退款", "term", (before, 2_000, 100), (after, 2_200, 112));
        assert!(
            !same.significant && same.verdict == "no significant change",
            "{same:?}"
        );
        assert!(same.difference.low < 0.0 && same.difference.high > 0.0);
        let empty = compare("退款", "term", (before, 0, 0), (after, 2_200, 112));
        assert!(!empty.significant);
    }
}
