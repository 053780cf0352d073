//! The statistics the digest's decisions rest on: the log-likelihood ratio
//! (G²) for "did this term's share of calls change", Wilson intervals for a
//! share, Newcombe's hybrid score interval for a difference of shares,
//! Welch's t test and Fisher's exact test for alerts on small samples, and
//! Benjamini-Hochberg to keep many tests from flagging noise. Written out here (no statistics crate) so
//! every formula is visible and tested against published values.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The complementary error function, erfc(x), with fractional error below
/// 1.2e-7 everywhere (Chebyshev fit, Numerical Recipes §6.2).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let polynomial = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * polynomial.exp();
    if x >= 0.0 {
        value
    } else {
        2.0 - value
    }
}

/// P(Z > z) for a standard normal Z.
pub fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// P(X > statistic) for a chi-square X with one degree of freedom.
pub fn chi_square_1_upper_tail(statistic: f64) -> f64 {
    if statistic <= 0.0 {
        return 1.0;
    }
    erfc((statistic / 2.0).sqrt())
}

fn x_ln_x_over(observed: f64, expected: f64) -> f64 {
    if observed <= 0.0 || expected <= 0.0 {
        0.0
    } else {
        observed * (observed / expected).ln()
    }
}

/// Dunning's log-likelihood ratio G² for a 2x2 table: `hits` of `total`
/// calls in one period against `other_hits` of `other_total` in another.
/// Under "same share in both" it is chi-square with one degree of freedom;
/// it stays reliable for small counts where the z test is not.
pub fn log_likelihood_ratio(hits: u64, total: u64, other_hits: u64, other_total: u64) -> f64 {
    let (a, b) = (hits as f64, other_hits as f64);
    let (n1, n2) = (total as f64, other_total as f64);
    let n = n1 + n2;
    if n1 <= 0.0 || n2 <= 0.0 || n <= 0.0 {
        return 0.0;
    }
    let with = a + b;
    let without = n - with;
    let cells = [
        (a, n1 * with / n),
        (n1 - a, n1 * without / n),
        (b, n2 * with / n),
        (n2 - b, n2 * without / n),
    ];
    let sum: f64 = cells
        .iter()
        .map(|&(observed, expected)| x_ln_x_over(observed, expected))
        .sum();
    (2.0 * sum).max(0.0)
}

/// A share with its 95% Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The point estimate.
    pub value: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The Wilson score interval for `hits` of `total` (95%). With no calls the
/// share is unknown: 0 with the interval 0..1.
pub fn wilson(hits: u64, total: u64) -> Interval {
    if total == 0 {
        return Interval {
            value: 0.0,
            low: 0.0,
            high: 1.0,
        };
    }
    let n = total as f64;
    let p = hits as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval {
        value: p,
        low: (center - half).max(0.0),
        high: (center + half).min(1.0),
    }
}

/// Newcombe's hybrid score interval (his method 10) for the difference of
/// two shares, `second - first`, built from their Wilson intervals (95%).
pub fn newcombe_difference(first: Interval, second: Interval) -> Interval {
    let difference = second.value - first.value;
    let low = difference
        - ((second.value - second.low).powi(2) + (first.high - first.value).powi(2)).sqrt();
    let high = difference
        + ((second.high - second.value).powi(2) + (first.value - first.low).powi(2)).sqrt();
    Interval {
        value: difference,
        low,
        high,
    }
}

/// Two-sided p-value of the pooled two-proportion z test.
pub fn two_proportion_p(hits: u64, total: u64, other_hits: u64, other_total: u64) -> f64 {
    let z = two_proportion_z(hits, total, other_hits, other_total);
    (2.0 * normal_upper_tail(z.abs())).min(1.0)
}

/// The pooled two-proportion z statistic, positive when the first share is
/// larger.
pub fn two_proportion_z(hits: u64, total: u64, other_hits: u64, other_total: u64) -> f64 {
    if total == 0 || other_total == 0 {
        return 0.0;
    }
    let (n1, n2) = (total as f64, other_total as f64);
    let (p1, p2) = (hits as f64 / n1, other_hits as f64 / n2);
    let pooled = (hits + other_hits) as f64 / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if variance <= 0.0 {
        return 0.0;
    }
    (p1 - p2) / variance.sqrt()
}

/// Count, mean and variance of a sample, accumulated in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Sum of values.
    pub sum: f64,
    /// Sum of squared values.
    pub sum_of_squares: f64,
}

impl Moments {
    /// Adds one value.
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.sum_of_squares += value * value;
    }

    /// The mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The unbiased sample variance (0 with fewer than two values).
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let n = self.count as f64;
        ((self.sum_of_squares - self.sum * self.sum / n) / (n - 1.0)).max(0.0)
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (index, coefficient) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += coefficient / (x + index as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b) (continued fraction,
/// Numerical Recipes §6.4).
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut value = d;
    for m in 1..300 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + even * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + even / c;
        if c.abs() < TINY {
            c = TINY;
        }
        value *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + odd * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + odd / c;
        if c.abs() < TINY {
            c = TINY;
        }
        let step = d * c;
        value *= step;
        if (step - 1.0).abs() < 1e-14 {
            break;
        }
    }
    value
}

/// P(T > t) for Student's t with `degrees` degrees of freedom.
pub fn student_t_upper_tail(t: f64, degrees: f64) -> f64 {
    if !t.is_finite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    let tail = 0.5 * incomplete_beta(degrees / 2.0, 0.5, degrees / (degrees + t * t));
    if t >= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// One-sided p-value that `recent`'s mean is lower than `baseline`'s only by
/// chance: Welch's unequal-variance t test with Satterthwaite's degrees of
/// freedom.
pub fn welch_drop_p(recent: &Moments, baseline: &Moments) -> f64 {
    if recent.count < 2 || baseline.count < 2 {
        return 1.0;
    }
    let recent_part = recent.variance() / recent.count as f64;
    let baseline_part = baseline.variance() / baseline.count as f64;
    let standard_error = (recent_part + baseline_part).sqrt();
    let drop = baseline.mean() - recent.mean();
    if standard_error <= 0.0 {
        return if drop > 0.0 { 0.0 } else { 1.0 };
    }
    let degrees = (recent_part + baseline_part).powi(2)
        / (recent_part.powi(2) / (recent.count - 1) as f64
            + baseline_part.powi(2) / (baseline.count - 1) as f64);
    student_t_upper_tail(drop / standard_error, degrees)
}

/// One-sided p-value that the recent pass rate is lower than the baseline's
/// only by chance: Fisher's exact test (hypergeometric tail of the recent
/// failures given both margins), right for small samples and rates near
/// 100%.
pub fn proportion_drop_p(recent_hits: u64, recent: u64, baseline_hits: u64, baseline: u64) -> f64 {
    let recent_misses = recent.saturating_sub(recent_hits);
    let misses = recent_misses + baseline.saturating_sub(baseline_hits);
    let total = recent + baseline;
    if recent == 0 || baseline == 0 || misses == 0 {
        return 1.0;
    }
    let ln_choose = |n: u64, k: u64| {
        ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
    };
    let highest = misses.min(recent);
    let lowest = recent.saturating_sub(total - misses);
    let first = recent_misses.max(lowest);
    if first > highest {
        return 0.0;
    }
    // P(X = x) for X ~ Hypergeometric(total, misses, recent), summed from
    // the observed count up by the ratio of consecutive terms.
    let mut term = (ln_choose(misses, first) + ln_choose(total - misses, recent - first)
        - ln_choose(total, recent))
    .exp();
    let mut sum = 0.0;
    let mut x = first;
    loop {
        sum += term;
        if x >= highest || term < sum * 1e-17 {
            break;
        }
        let (xf, misses_f, recent_f, total_f) =
            (x as f64, misses as f64, recent as f64, total as f64);
        term *= (misses_f - xf) * (recent_f - xf)
            / ((xf + 1.0) * (total_f - misses_f - recent_f + xf + 1.0));
        x += 1;
    }
    sum.min(1.0)
}

/// Benjamini-Hochberg: which of `p_values` are discoveries at false
/// discovery rate `rate`.
pub fn benjamini_hochberg(p_values: &[f64], rate: f64) -> Vec<bool> {
    let count = p_values.len();
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by(|&left, &right| p_values[left].total_cmp(&p_values[right]));
    let mut cutoff = 0;
    for (rank, &index) in order.iter().enumerate() {
        if p_values[index] <= (rank + 1) as f64 / count as f64 * rate {
            cutoff = rank + 1;
        }
    }
    let mut discovered = vec![false; count];
    for &index in &order[..cutoff] {
        discovered[index] = true;
    }
    discovered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not {expected} ± {tolerance}"
        );
    }

    #[test]
    fn tails_match_tables() {
        close(erfc(0.0), 1.0, 1e-7);
        close(erfc(1.0), 0.157_299_207, 1e-7);
        close(erfc(-1.0), 1.842_700_793, 1e-7);
        close(normal_upper_tail(1.959_964), 0.025, 1e-6);
        // chi-square(1) critical values: 3.841 at 0.05, 10.828 at 0.001.
        close(chi_square_1_upper_tail(3.841_459), 0.05, 1e-6);
        close(chi_square_1_upper_tail(10.827_566), 0.001, 1e-7);
        assert_eq!(chi_square_1_upper_tail(0.0), 1.0);
    }

    #[test]
    fn log_likelihood_ratio_matches_a_worked_example() {
        // The G-test of independence on the table [[100, 9900], [50, 9950]]
        // (2 Σ O ln(O/E) over the four cells) is 17.1158.
        close(log_likelihood_ratio(100, 10_000, 50, 10_000), 17.1158, 1e-4);
        // Same share, different volumes: nothing to see.
        close(log_likelihood_ratio(200, 20_000, 100, 10_000), 0.0, 1e-9);
        close(log_likelihood_ratio(0, 100, 0, 100), 0.0, 1e-12);
    }

    #[test]
    fn wilson_and_newcombe_match_newcombe_1998() {
        // Newcombe (1998), Statistics in Medicine 17:873, the example 56/70
        // against 48/80. Wilson intervals: 0.6918-0.8770 and 0.4905-0.7004.
        let first = wilson(56, 70);
        close(first.low, 0.6918, 1e-4);
        close(first.high, 0.8770, 1e-4);
        let second = wilson(48, 80);
        close(second.low, 0.4905, 1e-4);
        close(second.high, 0.7004, 1e-4);
        // Difference first - second: 0.2000 (0.0524, 0.3339).
        let difference = newcombe_difference(second, first);
        close(difference.value, 0.2, 1e-12);
        close(difference.low, 0.0524, 1e-4);
        close(difference.high, 0.3339, 1e-4);
        // 0 of 10: (0, 0.2775).
        let none = wilson(0, 10);
        close(none.low, 0.0, 1e-12);
        close(none.high, 0.2775, 1e-4);
    }

    #[test]
    fn proportion_tests() {
        // 60/100 against 40/100: z = 2.828, two-sided p = 0.00468.
        close(two_proportion_z(60, 100, 40, 100), 2.828_427, 1e-5);
        close(two_proportion_p(60, 100, 40, 100), 0.004_678, 1e-5);
    }

    #[test]
    fn gamma_beta_and_t_match_tables() {
        close(ln_gamma(0.5), 0.572_364_942_924_700, 1e-12);
        close(ln_gamma(10.0), 12.801_827_480_081_469, 1e-10);
        close(ln_gamma(1.0), 0.0, 1e-13);
        close(incomplete_beta(2.0, 3.0, 0.4), 0.5248, 1e-12);
        // t tables: 2.228 is the 97.5% point at 10 degrees of freedom,
        // 1.812 the 95% one; 1.96 at very many degrees is the normal's.
        close(student_t_upper_tail(2.228_138_85, 10.0), 0.025, 1e-7);
        close(student_t_upper_tail(1.812_461_12, 10.0), 0.05, 1e-7);
        close(student_t_upper_tail(-1.812_461_12, 10.0), 0.95, 1e-7);
        close(student_t_upper_tail(1.959_964, 1e7), 0.025, 1e-6);
    }

    #[test]
    fn fisher_matches_the_lady_tasting_tea() {
        // Fisher's table [[3, 1], [1, 3]]: one-sided p = 17/70.
        close(proportion_drop_p(1, 4, 3, 4), 17.0 / 70.0, 1e-12);
        // Two failures in 29 against none in 80: C(29,2)/C(109,2) = 0.0690.
        close(proportion_drop_p(27, 29, 80, 80), 406.0 / 5_886.0, 1e-12);
        close(proportion_drop_p(80, 80, 27, 29), 1.0, 1e-9);
        assert!(proportion_drop_p(600, 1_000, 800, 1_000) < 1e-15);
    }

    #[test]
    fn welch_sees_a_drop_and_not_noise() {
        let mut baseline = Moments::default();
        let mut recent = Moments::default();
        for index in 0..100 {
            baseline.add(90.0 + (index % 5) as f64);
            recent.add(85.0 + (index % 5) as f64);
        }
        assert!(welch_drop_p(&recent, &baseline) < 1e-10);
        assert!(welch_drop_p(&baseline, &recent) > 0.99);
        close(baseline.mean(), 92.0, 1e-12);
        close(baseline.variance(), 2.0 * 100.0 / 99.0, 1e-9);
    }

    #[test]
    fn benjamini_hochberg_steps_up() {
        let p_values = [0.01, 0.04, 0.03, 0.005, 0.5];
        // Sorted 0.005, 0.01, 0.03, 0.04, 0.5 against k/5 * 0.05 = 0.01,
        // 0.02, 0.03, 0.04, 0.05: the first four pass.
        assert_eq!(
            benjamini_hochberg(&p_values, 0.05),
            vec![true, true, true, true, false]
        );
        // Against k/5 * 0.025 = 0.005, 0.01, 0.015, ...: only the first two.
        assert_eq!(
            benjamini_hochberg(&p_values, 0.025),
            vec![true, false, false, true, false]
        );
        assert!(benjamini_hochberg(&p_values, 0.001)
            .iter()
            .all(|found| !found));
        assert!(benjamini_hochberg(&[], 0.05).is_empty());
    }
}
