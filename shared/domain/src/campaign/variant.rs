//! The A/B split: the first A% of the list (by position) get message A, the rest message B.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Variant {
    A,
    B,
}

pub const DEFAULT_SPLIT_PERCENT: u8 = 50;

/// How many of `list_size` members get A: ⌊size × percent / 100⌋, exact in integers.
pub fn count_a(list_size: u64, split_percent: u8) -> u64 {
    list_size * u64::from(split_percent.min(100)) / 100
}

/// The variant of the member at 0-based `position`. Without a message B everyone gets A.
pub fn variant_for(position: u64, list_size: u64, split_percent: u8, has_b: bool) -> Variant {
    if has_b && position >= count_a(list_size, split_percent) {
        Variant::B
    } else {
        Variant::A
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_exact_for_every_size_and_percentage() {
        for size in 0..=250u64 {
            for pct in [1u8, 10, 33, 50, 67, 90, 99] {
                let a: Vec<u64> = (0..size)
                    .filter(|&p| variant_for(p, size, pct, true) == Variant::A)
                    .collect();
                let expected = size * u64::from(pct) / 100;
                assert_eq!(a.len() as u64, expected, "size {size} pct {pct}");
                // The A's are exactly the first positions.
                assert!(a.iter().enumerate().all(|(i, &p)| i as u64 == p));
            }
        }
    }

    #[test]
    fn examples() {
        assert_eq!(count_a(1000, 50), 500);
        assert_eq!(count_a(3, 50), 1);
        assert_eq!(count_a(7, 30), 2);
        assert_eq!(variant_for(0, 2, 50, true), Variant::A);
        assert_eq!(variant_for(1, 2, 50, true), Variant::B);
        assert_eq!(variant_for(999, 1000, 50, false), Variant::A);
    }
}
