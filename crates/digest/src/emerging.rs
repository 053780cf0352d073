//! Emerging and falling terms: whose share of calls changed between the
//! baseline and the window by more than chance and more than a little.
//!
//! For every term with enough support, the 2x2 table (calls with / without
//! the term, window / baseline) gets Dunning's log-likelihood ratio G². A
//! term surfaces when (1) it has `min_calls` calls (rising: in the window;
//! falling: expected in the window at its baseline share), (2) its share
//! moved by at least `min_lift` either way, and (3) its G² is significant at
//! `alpha` after a Bonferroni correction over every term tested. Shares, not
//! counts, are compared, so a term that only grows with call volume stays
//! put; the correction and the minimum support keep rare noise out.
//!
//! Terms that move together are then folded, so one complaint shows as one
//! line: first a term into a longer term containing it (按钮 into 支付按钮)
//! when the longer one holds at least [`COVER_RATIO`] of its calls
//! ([`fold_covered`]); then a term into a stronger term that at least
//! [`COVER_RATIO`] of its calls also mention (找不到 into 支付按钮 when the
//! customers who say one say the other, [`group_by_calls`]).

use super::stats::{chi_square_1_upper_tail, log_likelihood_ratio};

/// A longer term covers a shorter one it contains when it has at least this
/// share of the shorter one's calls.
pub const COVER_RATIO: f64 = 0.8;

/// Thresholds for a term to surface.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Minimum support in calls.
    pub min_calls: u64,
    /// Minimum ratio of shares (window/baseline for rising, the inverse for
    /// falling).
    pub min_lift: f64,
    /// Family-wise significance level.
    pub alpha: f64,
}

/// A term whose share changed significantly.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Term id.
    pub id: u32,
    /// Window calls with the term.
    pub calls: u64,
    /// Baseline calls with the term.
    pub baseline_calls: u64,
    /// Window share.
    pub share: f64,
    /// Baseline share.
    pub baseline_share: f64,
    /// Smoothed window share over smoothed baseline share.
    pub lift: f64,
    /// G².
    pub score: f64,
    /// Uncorrected p-value of G².
    pub p_value: f64,
}

/// Rising and falling terms, strongest first, and how many terms were
/// tested.
#[derive(Debug, Clone, Default)]
pub struct Ranked {
    /// Terms whose share rose.
    pub rising: Vec<Change>,
    /// Terms whose share fell.
    pub falling: Vec<Change>,
    /// Terms with enough support to be tested.
    pub tested: u64,
}

/// Tests every term: `window[id]` of `window_calls` against `baseline[id]`
/// of `baseline_calls`.
pub fn rank(
    window: &[u32],
    window_calls: u64,
    baseline: &[u32],
    baseline_calls: u64,
    thresholds: Thresholds,
) -> Ranked {
    let mut ranked = Ranked::default();
    if window_calls == 0 || baseline_calls == 0 {
        return ranked;
    }
    let scale = window_calls as f64 / baseline_calls as f64;
    let supported = |id: usize| {
        let calls = u64::from(window.get(id).copied().unwrap_or(0));
        let before = u64::from(baseline.get(id).copied().unwrap_or(0));
        calls >= thresholds.min_calls || before as f64 * scale >= thresholds.min_calls as f64
    };
    let length = window.len().max(baseline.len());
    ranked.tested = (0..length).filter(|&id| supported(id)).count() as u64;
    let tests = ranked.tested.max(1) as f64;
    for id in 0..length {
        if !supported(id) {
            continue;
        }
        let calls = u64::from(window.get(id).copied().unwrap_or(0));
        let before = u64::from(baseline.get(id).copied().unwrap_or(0));
        let share = calls as f64 / window_calls as f64;
        let baseline_share = before as f64 / baseline_calls as f64;
        let lift = ((calls as f64 + 0.5) / (window_calls as f64 + 1.0))
            / ((before as f64 + 0.5) / (baseline_calls as f64 + 1.0));
        let rising = share > baseline_share;
        let (support, moved) = if rising {
            (calls as f64, lift >= thresholds.min_lift)
        } else {
            (before as f64 * scale, lift <= 1.0 / thresholds.min_lift)
        };
        if support < thresholds.min_calls as f64 || !moved {
            continue;
        }
        let score = log_likelihood_ratio(calls, window_calls, before, baseline_calls);
        let p_value = chi_square_1_upper_tail(score);
        if p_value * tests > thresholds.alpha {
            continue;
        }
        let change = Change {
            id: id as u32,
            calls,
            baseline_calls: before,
            share,
            baseline_share,
            lift,
            score,
            p_value,
        };
        if rising {
            ranked.rising.push(change);
        } else {
            ranked.falling.push(change);
        }
    }
    for list in [&mut ranked.rising, &mut ranked.falling] {
        list.sort_by(|left, right| {
            right
                .score
                .total_cmp(&left.score)
                .then(left.id.cmp(&right.id))
        });
    }
    ranked
}

/// Folds terms into longer terms that contain them and hold at least
/// [`COVER_RATIO`] of their calls (`support` picks the period that counts).
/// Returns, in the input order, the terms that stay with what they cover.
pub fn fold_covered<T: Clone>(
    items: &[(T, String)],
    support: impl Fn(&T) -> u64,
) -> Vec<(T, String, Vec<String>)> {
    let mut parent: Vec<Option<usize>> = vec![None; items.len()];
    for (index, (item, term)) in items.iter().enumerate() {
        let calls = support(item) as f64;
        let best = items
            .iter()
            .enumerate()
            .filter(|(other, (other_item, other_term))| {
                *other != index
                    && other_term.len() > term.len()
                    && other_term.contains(term.as_str())
                    && support(other_item) as f64 >= COVER_RATIO * calls
            })
            .max_by_key(|(other, (_, other_term))| {
                (other_term.chars().count(), usize::MAX - other)
            });
        parent[index] = best.map(|(other, _)| other);
    }
    let root = |mut index: usize| {
        let mut steps = 0;
        while let Some(next) = parent[index] {
            index = next;
            steps += 1;
            if steps > items.len() {
                break;
            }
        }
        index
    };
    let mut covers: Vec<Vec<String>> = vec![Vec::new(); items.len()];
    for index in 0..items.len() {
        if parent[index].is_some() {
            covers[root(index)].push(items[index].1.clone());
        }
    }
    items
        .iter()
        .enumerate()
        .filter(|(index, _)| parent[*index].is_none())
        .map(|(index, (item, term))| (item.clone(), term.clone(), covers[index].clone()))
        .collect()
}

/// Groups terms into themes: in order (strongest first), a term joins the
/// first earlier theme whose head appears in at least [`COVER_RATIO`] of the
/// term's calls (`together(term, head)` against `calls(term)`); otherwise it
/// heads a theme of its own. A joining term brings what it covers along.
pub fn group_by_calls<T: Clone>(
    items: &[(T, String, Vec<String>)],
    calls: impl Fn(usize) -> u64,
    together: impl Fn(usize, usize) -> u64,
) -> Vec<(T, String, Vec<String>)> {
    let mut heads: Vec<usize> = Vec::new();
    let mut grouped: Vec<(T, String, Vec<String>)> = Vec::new();
    for (index, (item, term, covers)) in items.iter().enumerate() {
        let own = calls(index) as f64;
        let joined = heads
            .iter()
            .position(|&head| own > 0.0 && together(index, head) as f64 >= COVER_RATIO * own);
        match joined {
            Some(position) => {
                let theme = &mut grouped[position].2;
                theme.push(term.clone());
                theme.extend(covers.iter().cloned());
            }
            None => {
                heads.push(index);
                grouped.push((item.clone(), term.clone(), covers.clone()));
            }
        }
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    const THRESHOLDS: Thresholds = Thresholds {
        min_calls: 10,
        min_lift: 1.5,
        alpha: 0.01,
    };

    #[test]
    fn rising_falling_and_steady_terms() {
        // Window 1,000 calls, baseline 4,000 (four times the days).
        // term 0: 5% -> 5% (steady; grows with volume only)
        // term 1: 1% -> 8% (burst)
        // term 2: 6% -> 1% (fixed)
        // term 3: 0.1% -> 0.4% (rare: 4 calls, below min support)
        // term 4: 5% -> 5.6% (significant at this size? no: lift too small)
        let window = [50, 80, 10, 4, 56];
        let baseline = [200, 40, 240, 4, 200];
        let ranked = rank(&window, 1_000, &baseline, 4_000, THRESHOLDS);
        let rising: Vec<u32> = ranked.rising.iter().map(|change| change.id).collect();
        let falling: Vec<u32> = ranked.falling.iter().map(|change| change.id).collect();
        assert_eq!(rising, vec![1]);
        assert_eq!(falling, vec![2]);
        assert_eq!(ranked.tested, 4);
        let burst = &ranked.rising[0];
        assert!((burst.share - 0.08).abs() < 1e-12 && (burst.baseline_share - 0.01).abs() < 1e-12);
        assert!(burst.p_value < 1e-10, "{burst:?}");
    }

    #[test]
    fn an_empty_period_ranks_nothing() {
        let ranked = rank(&[50], 1_000, &[0], 0, THRESHOLDS);
        assert!(ranked.rising.is_empty() && ranked.falling.is_empty());
    }

    #[test]
    fn terms_said_by_the_same_customers_form_one_theme() {
        // 0 支付按钮 (100 calls), 1 找不到 (40, 36 of them with 支付按钮),
        // 2 验证码 (50, 2 with 支付按钮), 3 收不到 (30, 29 with 验证码).
        let items: Vec<(u32, String, Vec<String>)> = ["支付按钮", "找不到", "验证码", "收不到"]
            .iter()
            .enumerate()
            .map(|(index, term)| (index as u32, term.to_string(), vec![format!("{term}的")]))
            .collect();
        let calls = [100u64, 40, 50, 30];
        let together = |left: usize, right: usize| match (left.min(right), left.max(right)) {
            (0, 1) => 36,
            (0, 2) => 2,
            (2, 3) => 29,
            _ => 0,
        };
        let themes = group_by_calls(&items, |index| calls[index], together);
        let heads: Vec<(&str, Vec<String>)> = themes
            .iter()
            .map(|(_, term, covers)| (term.as_str(), covers.clone()))
            .collect();
        assert_eq!(
            heads,
            vec![
                (
                    "支付按钮",
                    vec![
                        "支付按钮的".to_string(),
                        "找不到".to_string(),
                        "找不到的".to_string()
                    ]
                ),
                (
                    "验证码",
                    vec![
                        "验证码的".to_string(),
                        "收不到".to_string(),
                        "收不到的".to_string()
                    ]
                ),
            ]
        );
    }

    #[test]
    fn longer_terms_cover_what_moves_with_them() {
        let items = vec![
            (100u64, "按钮".to_string()),
            (95, "支付按钮".to_string()),
            (90, "支付按钮位置".to_string()),
            (300, "支付".to_string()),
            (40, "退款".to_string()),
        ];
        let folded = fold_covered(&items, |calls| *calls);
        let kept: Vec<(&str, Vec<String>)> = folded
            .iter()
            .map(|(_, term, covers)| (term.as_str(), covers.clone()))
            .collect();
        assert_eq!(
            kept,
            vec![
                (
                    "支付按钮位置",
                    vec!["按钮".to_string(), "支付按钮".to_string()]
                ),
                ("支付", vec![]),
                ("退款", vec![]),
            ]
        );
    }
}
