//! The A/B split, interleaved by list position: of any run of consecutive positions, the share
//! that gets message A is within one message of the split (50% → A, B, A, B…; 30% → A, B, B,
//! A, B, B, A, B, B, B…), so every campaign run carries both messages in the split's ratio and
//! an A/B test compares messages, not the days they went out. Over the whole list exactly
//! [`count_a`] members get A; each member gets one message.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Variant {
    A,
    B,
}

pub const DEFAULT_SPLIT_PERCENT: u8 = 50;

/// How many of `list_size` members get A: ⌈size × percent / 100⌉, exact in integers (A goes
/// first, so a list's first message is A).
pub fn count_a(list_size: u64, split_percent: u8) -> u64 {
    (list_size * u64::from(split_percent.min(100))).div_ceil(100)
}

/// The variant of the member at 0-based `position`: A when the A's owed to the first
/// `position + 1` members (rounded up) are more than those owed to the first `position`.
/// Without a message B everyone gets A.
pub fn variant_for(position: u64, split_percent: u8, has_b: bool) -> Variant {
    let a_before = |p: u64| count_a(p, split_percent);
    if !has_b || a_before(position + 1) > a_before(position) {
        Variant::A
    } else {
        Variant::B
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_of_positions_carries_the_split_within_one_message() {
        for pct in [1u8, 10, 30, 33, 50, 67, 90, 99] {
            let variants: Vec<Variant> = (0..400).map(|p| variant_for(p, pct, true)).collect();
            // Every window of consecutive positions: a run from any cursor, of any size.
            for len in [1usize, 7, 10, 25, 100] {
                for start in 0..(variants.len() - len) {
                    let a = variants[start..start + len]
                        .iter()
                        .filter(|v| **v == Variant::A)
                        .count() as f64;
                    let expected = len as f64 * f64::from(pct) / 100.0;
                    assert!(
                        (a - expected).abs() < 1.0 + 1e-9,
                        "pct {pct}, positions {start}..{}: {a} A, expected {expected}",
                        start + len
                    );
                }
            }
            // The whole list: exactly count_a.
            for size in 0..=250u64 {
                let a = (0..size)
                    .filter(|&p| variant_for(p, pct, true) == Variant::A)
                    .count() as u64;
                assert_eq!(a, count_a(size, pct), "size {size} pct {pct}");
            }
        }
    }

    #[test]
    fn examples() {
        assert_eq!(count_a(1000, 50), 500);
        assert_eq!(count_a(3, 50), 2);
        assert_eq!(count_a(7, 30), 3);
        // 50%: A, B, A, B… (an A wherever the running share steps up).
        assert_eq!(variant_for(0, 50, true), Variant::A);
        assert_eq!(variant_for(1, 50, true), Variant::B);
        assert_eq!(variant_for(2, 50, true), Variant::A);
        let thirty: Vec<Variant> = (0..10).map(|p| variant_for(p, 30, true)).collect();
        use Variant::{A, B};
        assert_eq!(thirty, [A, B, B, A, B, B, A, B, B, B]);
        assert_eq!(variant_for(0, 100, true), Variant::A);
        assert_eq!(variant_for(5, 0, true), Variant::B);
        assert_eq!(variant_for(999, 50, false), Variant::A);
    }
}
