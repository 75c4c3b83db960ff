//! Whether a difference is more than chance: Fisher's exact test on each
//! feature's 2×2 counts, and Benjamini–Hochberg's `q` across every feature
//! `diff` considered, so that trying a thousand features does not make one
//! of them look special by luck.
//!
//! A feature holds on `with_a` of the `size_a` rows of A and `with_b` of the
//! `size_b` rows of B. If the rows were split into A and B at random, the
//! chance of a split at least this uneven is the p-value: the sum of the
//! hypergeometric probabilities of every table with the same margins that is
//! no more likely than the one seen (the two-sided test R's `fisher.test`
//! does). `q` then bounds the share of false discoveries among the features
//! called significant at that level.
//!
//! Most candidates can never be significant whatever the split: a line every
//! host prints, a value only one host has (its uptime, its boot id). Their
//! smallest achievable p-value, fixed by how many rows have them, is above
//! the level, so they are left out of the family `q` counts (Tarone's
//! method; the count is independent of the split, so leaving them out keeps
//! the false discovery rate, as Bourgon, Gentleman and Huber 2010 show). A
//! fingerprint of a thousand mostly shared facts thus costs little power.

/// The level under which a feature counts as more than chance.
pub(super) const SIGNIFICANT: f64 = 0.05;

/// Natural logs of `0!..=n!`, to compute binomial coefficients without
/// overflow for any fleet size.
pub(super) struct LnFactorials(Vec<f64>);

impl LnFactorials {
    pub(super) fn up_to(n: usize) -> Self {
        let mut table = Vec::with_capacity(n + 1);
        table.push(0.0);
        for k in 1..=n {
            table.push(table[k - 1] + (k as f64).ln());
        }
        LnFactorials(table)
    }

    fn choose(&self, n: usize, k: usize) -> f64 {
        self.0[n] - self.0[k] - self.0[n - k]
    }

    /// Two-sided Fisher's exact test of `with_a` of `size_a` against
    /// `with_b` of `size_b`.
    pub(super) fn fisher(&self, with_a: usize, size_a: usize, with_b: usize, size_b: usize) -> f64 {
        let with = with_a + with_b;
        let total = size_a + size_b;
        if total == 0 || with == 0 || with == total {
            return 1.0;
        }
        let ln_p = |a: usize| {
            self.choose(size_a, a) + self.choose(size_b, with - a) - self.choose(total, with)
        };
        let observed = ln_p(with_a);
        // Tables as likely as the observed one, to rounding, count as "no
        // more likely": R uses the same relative tolerance.
        let limit = observed + 1e-7_f64.ln_1p();
        // The probabilities rise to one mode and fall again, so the tables
        // no likelier than the observed one are the two tails: sum each from
        // its end inward, stopping at the first likelier table.
        let (low, high) = (with.saturating_sub(size_b), with.min(size_a));
        let mut p = 0.0;
        let mut left = low;
        while left <= high && ln_p(left) <= limit {
            p += ln_p(left).exp();
            left += 1;
        }
        if left > high {
            return 1.0; // every table: the observed one is the likeliest
        }
        let mut right = high;
        while right > left && ln_p(right) <= limit {
            p += ln_p(right).exp();
            right -= 1;
        }
        p.min(1.0)
    }
}

impl LnFactorials {
    /// A lower bound on the smallest two-sided p any split could give a
    /// feature that `with` of the `size_a + size_b` rows have: the
    /// probability of the less likely of the two most extreme tables alone.
    /// (Being a lower bound, it never leaves out a feature that could be
    /// significant.)
    pub(super) fn smallest_p(&self, with: usize, size_a: usize, size_b: usize) -> f64 {
        let total = size_a + size_b;
        if total == 0 || with == 0 || with == total {
            return 1.0;
        }
        let ln_p = |a: usize| {
            self.choose(size_a, a) + self.choose(size_b, with - a) - self.choose(total, with)
        };
        let (low, high) = (with.saturating_sub(size_b), with.min(size_a));
        ln_p(low).min(ln_p(high)).exp()
    }
}

/// Benjamini–Hochberg `q` for each p-value, in the same order; a `None`
/// (a feature that could never be significant) gets `q = 1` and is not
/// counted.
pub(super) fn q_values(p: &[Option<f64>]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    let m = order.len();
    order.sort_by(|&x, &y| p[x].unwrap_or(1.0).total_cmp(&p[y].unwrap_or(1.0)));
    let mut q = vec![1.0; p.len()];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i].unwrap_or(1.0) * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// Rounded to three significant digits, for reading: 0.000123, 0.0412, 1.
pub(super) fn readable(q: f64) -> f64 {
    if q == 0.0 || !q.is_finite() {
        return q;
    }
    let digits = 2 - q.abs().log10().floor() as i32;
    let scale = 10_f64.powi(digits);
    (q * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() <= 1e-6 * y.abs().max(1e-12)
    }

    #[test]
    fn fisher_matches_r() {
        let ln = LnFactorials::up_to(400);
        // 7 of 7 against 0 of 23: only the observed table is that extreme
        // (its mirror, all 7 in B, is far likelier), so p = 1 / C(30, 7).
        assert!(close(ln.fisher(7, 7, 0, 23), 1.0 / 2_035_800.0), "{}", ln.fisher(7, 7, 0, 23));
        // R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value == 0.4857143
        assert!(close(ln.fisher(3, 4, 1, 4), 0.485_714_3), "{}", ln.fisher(3, 4, 1, 4));
        // R: fisher.test(matrix(c(1, 0, 0, 5), 2))$p.value == 0.1666667
        assert!(close(ln.fisher(1, 1, 0, 5), 0.166_666_7), "{}", ln.fisher(1, 1, 0, 5));
        // R: fisher.test(matrix(c(12, 0, 0, 188), 2))$p.value
        assert!(ln.fisher(12, 12, 0, 188) < 1e-18);
        // The same share on both sides is no evidence at all.
        assert!(close(ln.fisher(5, 10, 50, 100), 1.0));
        assert_eq!(ln.fisher(0, 10, 0, 100), 1.0);
    }

    #[test]
    fn fisher_is_exact_on_a_hand_computed_table() {
        // 1 of 2 against 0 of 2: the two possible tables, a = 0 and a = 1,
        // are each C(2,1)C(2,0)/C(4,1) = 1/2 likely, so p = 1.
        let ln = LnFactorials::up_to(10);
        assert!(close(ln.fisher(1, 2, 0, 2), 1.0));
        // 2 of 2 against 0 of 2: only the observed table and its mirror are
        // that extreme: C(2,2)C(2,0)/C(4,2) = 1/6 each, p = 1/3.
        assert!(close(ln.fisher(2, 2, 0, 2), 1.0 / 3.0));
    }

    #[test]
    fn q_values_follow_benjamini_hochberg() {
        // Worked by hand: m = 4, sorted p 0.01, 0.02, 0.03, 0.5:
        // 0.04, 0.04, 0.04, 0.5 after the running minimum from the top.
        let q = q_values(&[Some(0.03), Some(0.5), Some(0.01), Some(0.02)]);
        for (got, want) in q.iter().zip([0.04, 0.5, 0.04, 0.04]) {
            assert!(close(*got, want), "{q:?}");
        }
        assert!(q_values(&[]).is_empty());
        // Features that could never be significant are not counted.
        let q = q_values(&[Some(0.01), None, None, Some(0.02)]);
        for (got, want) in q.iter().zip([0.02, 1.0, 1.0, 0.02]) {
            assert!(close(*got, want), "{q:?}");
        }
    }

    #[test]
    fn a_value_on_one_host_of_six_or_on_every_host_can_never_be_significant() {
        let ln = LnFactorials::up_to(100);
        // One row of six: each extreme table is 1/6 or 5/6 likely.
        assert!(close(ln.smallest_p(1, 1, 5), 1.0 / 6.0));
        assert_eq!(ln.smallest_p(6, 1, 5), 1.0);
        // Seven rows of thirty can split 7 to 0: 1 / C(30, 7).
        assert!(ln.smallest_p(7, 7, 23) < 1e-6);
    }

    #[test]
    fn readable_keeps_three_significant_digits() {
        assert_eq!(readable(0.000_123_456), 0.000_123);
        assert_eq!(readable(0.041_234), 0.0412);
        assert_eq!(readable(1.0), 1.0);
        assert_eq!(readable(0.0), 0.0);
    }
}
