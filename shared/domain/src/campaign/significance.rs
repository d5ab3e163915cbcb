//! Which variant gets more replies: a chi-square test on the 2×2 table (replied / not replied ×
//! A / B), one degree of freedom, no continuity correction.

use serde::Serialize;

use super::variant::Variant;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquare {
    pub statistic: f64,
    pub p_value: f64,
    /// The variant with the higher reply rate when p < 0.05.
    pub winner: Option<Variant>,
}

/// `None` when a row or column of the table is empty (nothing to compare).
pub fn reply_rate_test(
    sent_a: u64,
    replied_a: u64,
    sent_b: u64,
    replied_b: u64,
) -> Option<ChiSquare> {
    let (a, b) = (replied_a as f64, sent_a.saturating_sub(replied_a) as f64);
    let (c, d) = (replied_b as f64, sent_b.saturating_sub(replied_b) as f64);
    let n = a + b + c + d;
    let margins = (a + b) * (c + d) * (a + c) * (b + d);
    if margins == 0.0 {
        return None;
    }
    let statistic = n * (a * d - b * c).powi(2) / margins;
    let p_value = chi_square_1df_survival(statistic);
    let winner = (p_value < 0.05).then(|| {
        if a / (a + b) > c / (c + d) {
            Variant::A
        } else {
            Variant::B
        }
    });
    Some(ChiSquare {
        statistic,
        p_value,
        winner,
    })
}

/// A proportion with its 95% confidence interval (Wilson score: sound for small counts and
/// for rates near 0 or 1, where the normal approximation gives impossible bounds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

/// `successes` of `n`, with its 95% interval; `None` when `n` is 0.
pub fn wilson_95(successes: u64, n: u64) -> Option<Rate> {
    if n == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_985;
    let (k, n) = (successes.min(n) as f64, n as f64);
    let p = k / n;
    let z2 = Z * Z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Some(Rate {
        rate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// P(X ≥ x) for X ~ χ²(1): erfc(√(x/2)).
pub fn chi_square_1df_survival(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    erfc((x / 2.0).sqrt())
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::{wilson_95, Rate};

    #[test]
    fn wilson_intervals_match_published_values() {
        // 1 of 3, 0 of 10, 10 of 10, 81 of 263 (Wilson 1927 / Newcombe 1998 worked examples).
        let close = |r: Rate, want: (f64, f64, f64)| {
            (r.rate - want.0).abs() < 5e-4
                && (r.low - want.1).abs() < 5e-4
                && (r.high - want.2).abs() < 5e-4
        };
        assert!(close(wilson_95(1, 3).unwrap(), (0.3333, 0.0615, 0.7923)));
        assert!(close(wilson_95(0, 10).unwrap(), (0.0, 0.0, 0.2775)));
        assert!(close(wilson_95(10, 10).unwrap(), (1.0, 0.7225, 1.0)));
        assert!(close(wilson_95(81, 263).unwrap(), (0.3080, 0.2553, 0.3662)));
        assert_eq!(wilson_95(0, 0), None);
    }

    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn erfc_matches_known_values() {
        let table = [
            (0.0, 1.0),
            (0.5, 0.479_500_122_2),
            (1.0, 0.157_299_207_1),
            (2.0, 0.004_677_734_981),
            (3.0, 2.209_049_700e-5),
            (-1.0, 1.842_700_792_9),
        ];
        for (x, expected) in table {
            assert!(
                close(erfc(x), expected, 1e-7 * expected.max(1e-3)),
                "erfc({x}) = {}",
                erfc(x)
            );
        }
    }

    #[test]
    fn chi_square_critical_values() {
        // The 95% and 99% critical values of χ²(1).
        assert!(close(chi_square_1df_survival(3.841_458_8), 0.05, 1e-6));
        assert!(close(chi_square_1df_survival(6.634_896_6), 0.01, 1e-6));
        assert_eq!(chi_square_1df_survival(0.0), 1.0);
    }

    #[test]
    fn reply_rate_table() {
        // Hand-computed: A 30/100, B 15/100 → χ² = 200·(30·85 − 70·15)² / (100·100·45·155) ≈ 6.4516.
        let t = reply_rate_test(100, 30, 100, 15).unwrap();
        assert!(close(t.statistic, 6.451_612_9, 1e-6), "{}", t.statistic);
        assert!(close(t.p_value, 0.011_085, 1e-5), "{}", t.p_value);
        assert_eq!(t.winner, Some(Variant::A));
        // Mirrored: B wins.
        assert_eq!(
            reply_rate_test(100, 15, 100, 30).unwrap().winner,
            Some(Variant::B)
        );
        // Equal rates: χ² = 0, p = 1, no winner.
        let same = reply_rate_test(200, 20, 100, 10).unwrap();
        assert!(close(same.statistic, 0.0, 1e-12));
        assert_eq!(same.winner, None);
        // A small difference is not significant.
        let small = reply_rate_test(100, 12, 100, 10).unwrap();
        assert!(small.p_value > 0.05);
        assert_eq!(small.winner, None);
        // Nothing sent to B, or nobody replied at all: no test.
        assert_eq!(reply_rate_test(100, 10, 0, 0), None);
        assert_eq!(reply_rate_test(100, 0, 100, 0), None);
    }
}
