//! ITU-T E.164 country calling codes in service (list of 2024).
//!
//! Calling codes form a prefix-free set, so the code of a number is the one entry that its
//! leading 1 to 3 digits match. Spare codes (e.g. 28x, 42x, 80x) are absent on purpose: a number
//! under one cannot exist, and rejecting it catches a mistyped country code early.

#[rustfmt::skip]
static CALLING_CODES: &[&str] = &[
    // Zone 1: the North American Numbering Plan.
    "1",
    // Zone 2: Africa and some Atlantic islands.
    "20", "211", "212", "213", "216", "218",
    "220", "221", "222", "223", "224", "225", "226", "227", "228", "229",
    "230", "231", "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247", "248", "249",
    "250", "251", "252", "253", "254", "255", "256", "257", "258",
    "260", "261", "262", "263", "264", "265", "266", "267", "268", "269",
    "27", "290", "291", "297", "298", "299",
    // Zone 3 and 4: Europe.
    "30", "31", "32", "33", "34",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359",
    "36",
    "370", "371", "372", "373", "374", "375", "376", "377", "378", "379",
    "380", "381", "382", "383", "385", "386", "387", "388", "389",
    "39",
    "40", "41", "420", "421", "423", "43", "44", "45", "46", "47", "48", "49",
    // Zone 5: Mexico, Central and South America.
    "500", "501", "502", "503", "504", "505", "506", "507", "508", "509",
    "51", "52", "53", "54", "55", "56", "57", "58",
    "590", "591", "592", "593", "594", "595", "596", "597", "598", "599",
    // Zone 6: Southeast Asia and Oceania.
    "60", "61", "62", "63", "64", "65", "66",
    "670", "672", "673", "674", "675", "676", "677", "678", "679",
    "680", "681", "682", "683", "685", "686", "687", "688", "689",
    "690", "691", "692",
    // Zone 7: Russia and Kazakhstan.
    "7",
    // Zone 8: East Asia and global services.
    "800", "808", "81", "82", "84", "850", "852", "853", "855", "856", "86",
    "870", "878", "880", "881", "882", "883", "886", "888",
    // Zone 9: West, Central and South Asia.
    "90", "91", "92", "93", "94", "95",
    "960", "961", "962", "963", "964", "965", "966", "967", "968",
    "970", "971", "972", "973", "974", "975", "976", "977", "979",
    "98", "991", "992", "993", "994", "995", "996", "998",
];

/// Length of the calling code that `digits` (an international number without `+`) starts with.
pub(crate) fn calling_code_len(digits: &str) -> Option<usize> {
    (1..=3).find(|&len| {
        digits
            .get(..len)
            .is_some_and(|prefix| CALLING_CODES.contains(&prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_prefix_free_and_well_formed() {
        for code in CALLING_CODES {
            assert!((1..=3).contains(&code.len()), "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            assert!(!code.starts_with('0'), "{code}");
            for other in CALLING_CODES {
                assert!(
                    code == other || !other.starts_with(code),
                    "{code} is a prefix of {other}"
                );
            }
        }
    }

    #[test]
    fn finds_the_code_length() {
        let cases = [
            ("15552345678", Some(1)),
            ("79161234567", Some(1)),
            ("442079460958", Some(2)),
            ("4915112345678", Some(2)),
            ("353861234567", Some(3)),
            ("8613812345678", Some(2)),
            ("85291234567", Some(3)),
            ("2812345678", None),
            ("4221234567", None),
            ("9991234567", None),
            ("", None),
        ];
        for (digits, expected) in cases {
            assert_eq!(calling_code_len(digits), expected, "{digits}");
        }
    }
}
