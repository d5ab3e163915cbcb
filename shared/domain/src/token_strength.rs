//! How guessable an admin token is, estimated from its text alone.
//!
//! The estimate is the token's length times log2 of the alphabet its character classes span
//! (lower case, upper case, digits, everything else), which is exact for a random token drawn
//! from that alphabet (`openssl rand -base64 32` → 44 characters, about 264 bits). Repetition is
//! what a human-made token has and a random one has not: a token with fewer than 12 different
//! characters (say `aaaa…` or `passwordpassword…`) scores zero.

/// The bits a token must carry: 32 bytes.
pub const REQUIRED_BITS: u32 = 256;

/// Fewer different characters than this and the token is not random.
const MIN_DISTINCT: usize = 12;

/// The estimated entropy of `token`, in bits.
pub fn estimated_bits(token: &str) -> u32 {
    let mut distinct: Vec<char> = token.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT {
        return 0;
    }
    let classes = [
        (token.chars().any(|c| c.is_ascii_lowercase()), 26.0),
        (token.chars().any(|c| c.is_ascii_uppercase()), 26.0),
        (token.chars().any(|c| c.is_ascii_digit()), 10.0),
        (token.chars().any(|c| !c.is_ascii_alphanumeric()), 33.0),
    ];
    let alphabet: f64 = classes.iter().filter(|(on, _)| *on).map(|(_, n)| n).sum();
    (token.chars().count() as f64 * alphabet.log2()).floor() as u32
}

/// Whether `token` is strong enough to guard the admin API of a deployment.
pub fn is_strong(token: &str) -> bool {
    estimated_bits(token) >= REQUIRED_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_pass_and_made_up_ones_do_not() {
        let strong = [
            // openssl rand -base64 32
            "q3V0cV2n8m2yQeJ7Pz1dM0hN5bTqX4wRkLs9aUfGc6E=",
            // openssl rand -hex 32
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            // what `trickle dev` writes
            "trk_4f1c2b7e9a0d4e6f8b3c5a7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f",
        ];
        for token in strong {
            assert!(is_strong(token), "{token}: {} bits", estimated_bits(token));
        }
        let weak = [
            "",
            "admin",
            "test-admin-token",
            "correct horse battery staple",
            // openssl rand -hex 16: 128 bits
            "5d41402abc4b2a76b9719d911017c592",
            &"a".repeat(200),
            &"password".repeat(10),
            &"0123456789".repeat(5),
        ];
        for token in weak {
            assert!(!is_strong(token), "{token}: {} bits", estimated_bits(token));
        }
    }
}
