//! How an SMS is encoded and how many segments it costs.
//!
//! GSM-7 (GSM 03.38 basic table, extension characters costing two septets): 160 septets in one
//! segment, 153 per segment when split. Anything else forces UCS-2, counted in UTF-16 code
//! units: 70 in one segment, 67 per segment when split.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    /// Characters as a person counts them (Unicode scalar values).
    pub characters: usize,
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

pub fn analyze(text: &str) -> SegmentInfo {
    let characters = text.chars().count();
    let septets: Option<usize> = text.chars().map(gsm_septets).sum();
    let (encoding, units, single, multi) = match septets {
        Some(n) => (Encoding::Gsm7, n, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = match units {
        0 => 0,
        n if n <= single => 1,
        n => n.div_ceil(multi),
    };
    SegmentInfo {
        characters,
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: Vec<(String, Encoding, usize, usize)> = vec![
            (String::new(), Encoding::Gsm7, 0, 0),
            ("Hello".into(), Encoding::Gsm7, 5, 1),
            ("a".repeat(160), Encoding::Gsm7, 160, 1),
            ("a".repeat(161), Encoding::Gsm7, 161, 2),
            ("a".repeat(306), Encoding::Gsm7, 306, 2),
            ("a".repeat(307), Encoding::Gsm7, 307, 3),
            // Extension characters cost two septets each.
            ("€".repeat(80), Encoding::Gsm7, 160, 1),
            (format!("{}€", "a".repeat(159)), Encoding::Gsm7, 161, 2),
            ("{}[]~|^\\".into(), Encoding::Gsm7, 16, 1),
            ("Ünïcödé? no: ï is not GSM".into(), Encoding::Ucs2, 25, 1),
            ("ÄÖÑÜäöñüà£¥§¿¡ΔΦΓΛΩΠΨΣΘΞ".into(), Encoding::Gsm7, 24, 1),
            ("a".repeat(69) + "’", Encoding::Ucs2, 70, 1),
            ("a".repeat(70) + "’", Encoding::Ucs2, 71, 2),
            ("a".repeat(133) + "’", Encoding::Ucs2, 134, 2),
            ("a".repeat(134) + "’", Encoding::Ucs2, 135, 3),
            // An emoji is two UTF-16 code units.
            ("😀".into(), Encoding::Ucs2, 2, 1),
            ("😀".repeat(35), Encoding::Ucs2, 70, 1),
            ("😀".repeat(36), Encoding::Ucs2, 72, 2),
        ];
        for (text, encoding, units, segments) in cases {
            let got = analyze(&text);
            assert_eq!(
                (got.encoding, got.units, got.segments),
                (encoding, units, segments),
                "{text:?}"
            );
            assert_eq!(got.characters, text.chars().count());
        }
    }

    #[test]
    fn every_basic_character_is_one_septet_and_every_extension_two() {
        for c in GSM_BASIC.chars() {
            assert_eq!(analyze(&c.to_string()).units, 1, "{c:?}");
        }
        for c in GSM_EXTENSION.chars() {
            assert_eq!(analyze(&c.to_string()).units, 2, "{c:?}");
        }
        // 128 code points less the escape to the extension table.
        assert_eq!(GSM_BASIC.chars().count(), 127);
    }
}
