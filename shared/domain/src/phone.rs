//! Phone numbers, validated and normalised to E.164 (`+` then up to 15 digits).
//!
//! # Accepted input
//!
//! Surrounding whitespace (including non-breaking and zero-width spaces), quotes, a leading
//! `tel:` and spreadsheet artefacts (`'5552345678`, `="5552345678"`, `5552345678.0`) are
//! stripped. Inside the number, spaces, `-`, `.`, `/`, `(` and `)` are separators. An
//! extension written `x12`, `ext 12`, `ext. 12`, `extn 12`, `extension 12`, `#12` or `;ext=12`
//! is removed from the number and returned by [`PhoneNumber::parse_with_extension`].
//!
//! # Country
//!
//! * `+CC…`, `00CC…` and `011CC…` (the US exit code) are international; a `(0)` trunk prefix
//!   after the country code, as in `+44 (0)20 7946 0958`, is dropped.
//! * Without a prefix, 10 digits, or 11 digits starting with `1`, are North American (NANP).
//! * Anything else without a prefix is rejected: we cannot guess the country.
//!
//! # North American rules (country code 1)
//!
//! The 10 digits are `NPA NXX XXXX` (area code, exchange, line):
//! * NPA and NXX must start with 2-9;
//! * neither may be an N11 service code (211, 311, …, 911);
//! * NPA must not have 9 as its middle digit (N9X, reserved for expansion), nor be 37X or 96X
//!   (reserved by NANPA).
//!
//! Area code 555 is deliberately accepted although it is not geographic: fictional numbers
//! such as `+1 555 234 5678` are used throughout tests and documentation. Note that the
//! popular example `(555) 123-4567` is invalid, since its exchange starts with 1.
//!
//! # Other countries
//!
//! Validation is structural only (we carry no libphonenumber metadata): 8 to 15 digits
//! including a country calling code that ITU has assigned.
//!
//! Why one file: the parser and its table of accepted and refused spellings (from line ~390) are
//! one unit; the code alone is under 400 lines.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::country_codes::calling_code_len;

const MAX_E164_DIGITS: usize = 15;
const MIN_INTERNATIONAL_DIGITS: usize = 8;
const MAX_EXTENSION_DIGITS: usize = 10;

/// A phone number in E.164 form, e.g. `+15552345678`. Only [`PhoneNumber::parse`] builds one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// Why an input is not a phone number; messages are written for the operator who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number {0:?} contains no digits")]
    NoDigits(String),
    #[error(
        "phone number {0:?} contains letters; write vanity numbers like 1-800-FLOWERS as digits"
    )]
    ContainsLetters(String),
    #[error("phone number contains the unexpected character {0:?}")]
    InvalidCharacter(char),
    #[error(
        "phone number {0:?} is in spreadsheet scientific notation, so digits were lost; \
         format the column as text and export again"
    )]
    ScientificNotation(String),
    #[error("extension {0:?} is not valid (expected 1 to 10 digits)")]
    InvalidExtension(String),
    #[error(
        "phone number is too short ({digits} digits, at least {min} needed; \
         US and Canadian numbers need the 3-digit area code)"
    )]
    TooShort { digits: usize, min: usize },
    #[error("phone number is too long ({digits} digits, at most {max} allowed)")]
    TooLong { digits: usize, max: usize },
    #[error(
        "cannot tell the country of the {digits}-digit number; \
         write it with + and the country code"
    )]
    AmbiguousCountry { digits: usize },
    #[error("country calling code in +{0}... is not assigned")]
    InvalidCountryCode(String),
    #[error("area code {code} is not valid in North America ({reason})")]
    InvalidAreaCode { code: String, reason: &'static str },
    #[error("exchange code {code} is not valid in North America ({reason})")]
    InvalidExchangeCode { code: String, reason: &'static str },
}

impl PhoneNumber {
    /// Parses a number written in any common way; any extension is dropped.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        Self::parse_with_extension(input).map(|(number, _)| number)
    }

    /// Parses a number and returns its extension (digits only) separately.
    pub fn parse_with_extension(input: &str) -> Result<(Self, Option<String>), PhoneError> {
        let cleaned = strip_wrapping(input);
        if cleaned.is_empty() {
            return Err(PhoneError::Empty);
        }
        if looks_scientific(cleaned) {
            return Err(PhoneError::ScientificNotation(cleaned.to_owned()));
        }
        let (main, extension) = split_extension(cleaned)?;
        let (has_plus, digits) = collect_digits(strip_excel_decimal(main))?;
        if digits.is_empty() {
            return Err(PhoneError::NoDigits(cleaned.to_owned()));
        }
        let e164 = normalise(has_plus, &digits)?;
        Ok((PhoneNumber(e164), extension))
    }

    /// The E.164 form, e.g. `+15552345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the number is in the North American Numbering Plan (US, Canada, Caribbean).
    pub fn is_nanp(&self) -> bool {
        self.0.starts_with("+1")
    }

    /// The 3-digit area code of a North American number.
    pub fn nanp_area_code(&self) -> Option<&str> {
        self.is_nanp().then(|| &self.0[2..5])
    }

    /// The country calling code without `+`, e.g. `1`, `44` or `353`.
    pub fn country_calling_code(&self) -> &str {
        let digits = &self.0[1..];
        // Parsing only accepts numbers whose code is in the table.
        let len = calling_code_len(digits).unwrap_or(1);
        &digits[..len]
    }
}

fn is_ignorable(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}')
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{201C}' | '\u{201D}'
    )
}

/// Removes layers like `" 'tel:+1 555…' "` until nothing changes.
fn strip_wrapping(input: &str) -> &str {
    let mut s = input;
    loop {
        let before = s;
        s = s.trim_matches(|c| is_ignorable(c) || is_quote(c));
        if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tel:")) {
            s = &s[4..];
        }
        // Excel's way to keep leading zeros: ="0044…".
        if let Some(rest) = s.strip_prefix('=') {
            if rest.starts_with(is_quote) {
                s = rest;
            }
        }
        if s == before {
            return s;
        }
    }
}

/// `5.55123E+09`: a spreadsheet has already rounded the number away.
fn looks_scientific(s: &str) -> bool {
    let Some((mantissa, exponent)) = s.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    mantissa.starts_with(|c: char| c.is_ascii_digit())
        && mantissa
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        && !exponent.is_empty()
        && exponent.chars().all(|c| c.is_ascii_digit())
}

/// Splits at the first letter, `#` or `;`: the number itself has none.
fn split_extension(s: &str) -> Result<(&str, Option<String>), PhoneError> {
    let Some(at) = s.find(|c: char| c.is_alphabetic() || c == '#' || c == ';') else {
        return Ok((s, None));
    };
    let (main, tail) = s.split_at(at);
    let lower = tail.to_lowercase();
    const MARKERS: [&str; 6] = ["extension", ";ext=", "extn", "ext", "x", "#"];
    let Some(rest) = MARKERS.iter().find_map(|m| lower.strip_prefix(m)) else {
        return Err(if tail.starts_with(char::is_alphabetic) {
            PhoneError::ContainsLetters(s.to_owned())
        } else {
            PhoneError::InvalidCharacter(tail.chars().next().unwrap_or(';'))
        });
    };
    let digits = rest
        .trim_start_matches(|c: char| is_ignorable(c) || matches!(c, '.' | ':' | '=' | '#' | '-'))
        .trim_end_matches(is_ignorable);
    if digits.chars().any(char::is_alphabetic) {
        return Err(PhoneError::ContainsLetters(s.to_owned()));
    }
    let valid = (1..=MAX_EXTENSION_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(PhoneError::InvalidExtension(digits.to_owned()));
    }
    Ok((main, Some(digits.to_owned())))
}

/// A number column read as a float comes back as `5552345678.0`.
fn strip_excel_decimal(main: &str) -> &str {
    let main = main.trim_matches(is_ignorable);
    if let Some((int, fraction)) = main.rsplit_once('.') {
        let unsigned = int.strip_prefix('+').unwrap_or(int);
        let int_is_digits = !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit());
        if int_is_digits && !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') {
            return int;
        }
    }
    main
}

/// Returns whether the number had a leading `+`, and its digits.
fn collect_digits(main: &str) -> Result<(bool, String), PhoneError> {
    let unbracketed = main.trim_start_matches('(');
    let international =
        main.starts_with('+') || unbracketed.starts_with("00") || unbracketed.starts_with("011");
    let main = if international {
        main.replace("(0)", "")
    } else {
        main.to_owned()
    };
    let mut has_plus = false;
    let mut digits = String::with_capacity(main.len());
    for c in main.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if !has_plus && digits.is_empty() => has_plus = true,
            '(' | ')' | '-' | '.' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}' => {}
            c if is_ignorable(c) => {}
            c => return Err(PhoneError::InvalidCharacter(c)),
        }
    }
    Ok((has_plus, digits))
}

fn normalise(has_plus: bool, digits: &str) -> Result<String, PhoneError> {
    let international = if has_plus {
        Some(digits)
    } else {
        digits
            .strip_prefix("011")
            .or_else(|| digits.strip_prefix("00"))
    };
    match international {
        Some(d) if d.starts_with('1') => nanp(d),
        Some(d) => international_number(d),
        None if digits.len() == 10 => nanp(&format!("1{digits}")),
        None if digits.len() == 11 && digits.starts_with('1') => nanp(digits),
        None if digits.len() < 10 => Err(PhoneError::TooShort {
            digits: digits.len(),
            min: 10,
        }),
        None if digits.len() > MAX_E164_DIGITS => Err(PhoneError::TooLong {
            digits: digits.len(),
            max: MAX_E164_DIGITS,
        }),
        None => Err(PhoneError::AmbiguousCountry {
            digits: digits.len(),
        }),
    }
}

fn international_number(d: &str) -> Result<String, PhoneError> {
    if d.starts_with('0') {
        return Err(PhoneError::InvalidCountryCode(d.chars().take(3).collect()));
    }
    if d.len() < MIN_INTERNATIONAL_DIGITS {
        return Err(PhoneError::TooShort {
            digits: d.len(),
            min: MIN_INTERNATIONAL_DIGITS,
        });
    }
    if d.len() > MAX_E164_DIGITS {
        return Err(PhoneError::TooLong {
            digits: d.len(),
            max: MAX_E164_DIGITS,
        });
    }
    if calling_code_len(d).is_none() {
        return Err(PhoneError::InvalidCountryCode(d[..3].to_owned()));
    }
    Ok(format!("+{d}"))
}

/// `d` is `1` followed by the national number.
fn nanp(d: &str) -> Result<String, PhoneError> {
    if d.len() < 11 {
        return Err(PhoneError::TooShort {
            digits: d.len(),
            min: 11,
        });
    }
    if d.len() > 11 {
        return Err(PhoneError::TooLong {
            digits: d.len(),
            max: 11,
        });
    }
    let (npa, nxx) = (&d[1..4], &d[4..7]);
    if let Some(reason) = area_code_problem(npa) {
        return Err(PhoneError::InvalidAreaCode {
            code: npa.to_owned(),
            reason,
        });
    }
    if let Some(reason) = exchange_problem(nxx) {
        return Err(PhoneError::InvalidExchangeCode {
            code: nxx.to_owned(),
            reason,
        });
    }
    Ok(format!("+{d}"))
}

const MUST_START_2_TO_9: &str = "must start with 2-9";
const N11: &str = "N11 codes such as 411 and 911 are reserved for services";

fn area_code_problem(npa: &str) -> Option<&'static str> {
    let b = npa.as_bytes();
    if b[0] < b'2' {
        Some(MUST_START_2_TO_9)
    } else if &b[1..] == b"11" {
        Some(N11)
    } else if b[1] == b'9' {
        Some("codes with 9 in the middle are reserved for expansion")
    } else if npa.starts_with("37") || npa.starts_with("96") {
        Some("37X and 96X codes are reserved")
    } else {
        None
    }
}

fn exchange_problem(nxx: &str) -> Option<&'static str> {
    let b = nxx.as_bytes();
    if b[0] < b'2' {
        Some(MUST_START_2_TO_9)
    } else if &b[1..] == b"11" {
        Some(N11)
    } else {
        None
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(number: PhoneNumber) -> Self {
        number.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn area(code: &str, reason: &'static str) -> PhoneError {
        PhoneError::InvalidAreaCode {
            code: code.into(),
            reason,
        }
    }

    fn exchange(code: &str, reason: &'static str) -> PhoneError {
        PhoneError::InvalidExchangeCode {
            code: code.into(),
            reason,
        }
    }

    #[test]
    fn normalises_common_spellings() {
        let cases = [
            ("(555) 234-5678", "+15552345678"),
            ("555.234.5678", "+15552345678"),
            ("555-234-5678", "+15552345678"),
            ("5552345678", "+15552345678"),
            ("555 234 5678", "+15552345678"),
            ("555/234-5678", "+15552345678"),
            ("1-555-234-5678", "+15552345678"),
            ("1 (555) 234 5678", "+15552345678"),
            ("15552345678", "+15552345678"),
            ("+1 555 234 5678", "+15552345678"),
            ("+1-555-234-5678", "+15552345678"),
            ("+1 (555) 234-5678", "+15552345678"),
            ("+15552345678", "+15552345678"),
            ("001 555 234 5678", "+15552345678"),
            ("011 1 555 234 5678", "+15552345678"),
            ("(212) 555-0100", "+12125550100"),
            ("416-555-0199", "+14165550199"),
            ("800-356-9377", "+18003569377"),
            // Spreadsheet and copy-paste debris.
            ("  5552345678  ", "+15552345678"),
            ("\"555-234-5678\"", "+15552345678"),
            ("'5552345678", "+15552345678"),
            ("=\"5552345678\"", "+15552345678"),
            ("5552345678.0", "+15552345678"),
            ("15552345678.00", "+15552345678"),
            ("\u{a0}555\u{a0}234\u{a0}5678\u{a0}", "+15552345678"),
            ("\u{feff}555-234-5678", "+15552345678"),
            ("\u{201c}555 234 5678\u{201d}", "+15552345678"),
            ("555\u{2013}234\u{2013}5678", "+15552345678"),
            ("tel:+1-555-234-5678", "+15552345678"),
            ("TEL:5552345678", "+15552345678"),
            (" 'tel:+15552345678' ", "+15552345678"),
            // Other countries.
            ("+44 20 7946 0958", "+442079460958"),
            ("+44 (0)20 7946 0958", "+442079460958"),
            ("0044 20 7946 0958", "+442079460958"),
            ("011 44 (0)20 7946 0958", "+442079460958"),
            ("+49 151 12345678", "+4915112345678"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+7 916 123-45-67", "+79161234567"),
            ("(+353) 86 123 4567", "+353861234567"),
            ("+61 4 1234 5678", "+61412345678"),
            ("+86 138 1234 5678", "+8613812345678"),
        ];
        for (input, expected) in cases {
            match PhoneNumber::parse(input) {
                Ok(number) => assert_eq!(number.as_str(), expected, "input {input:?}"),
                Err(e) => panic!("input {input:?} rejected: {e}"),
            }
        }
    }

    #[test]
    fn rejects_invalid_input_with_the_right_error() {
        let cases = [
            ("", PhoneError::Empty),
            ("   ", PhoneError::Empty),
            ("\"\"", PhoneError::Empty),
            ("tel:", PhoneError::Empty),
            ("-", PhoneError::NoDigits("-".into())),
            ("( ) -", PhoneError::NoDigits("( ) -".into())),
            ("+", PhoneError::NoDigits("+".into())),
            (
                "1-800-FLOWERS",
                PhoneError::ContainsLetters("1-800-FLOWERS".into()),
            ),
            (
                "1-800-EXTRA-99",
                PhoneError::ContainsLetters("1-800-EXTRA-99".into()),
            ),
            ("N/A", PhoneError::ContainsLetters("N/A".into())),
            (
                "555-234-5678 xyz",
                PhoneError::ContainsLetters("555-234-5678 xyz".into()),
            ),
            ("555_234_5678", PhoneError::InvalidCharacter('_')),
            ("555-234-5678;foo", PhoneError::InvalidCharacter(';')),
            ("555+234+5678", PhoneError::InvalidCharacter('+')),
            ("++15552345678", PhoneError::InvalidCharacter('+')),
            (
                "5.55234E+09",
                PhoneError::ScientificNotation("5.55234E+09".into()),
            ),
            (
                "1,55523E+10",
                PhoneError::ScientificNotation("1,55523E+10".into()),
            ),
            (
                "555-234-5678 ext",
                PhoneError::InvalidExtension(String::new()),
            ),
            (
                "555-234-5678 x12345678901",
                PhoneError::InvalidExtension("12345678901".into()),
            ),
            ("234-5678", PhoneError::TooShort { digits: 7, min: 10 }),
            ("555 234 567", PhoneError::TooShort { digits: 9, min: 10 }),
            (
                "+1 555 234 567",
                PhoneError::TooShort {
                    digits: 10,
                    min: 11,
                },
            ),
            ("+44 20 79", PhoneError::TooShort { digits: 6, min: 8 }),
            (
                "+1 555 234 56789",
                PhoneError::TooLong {
                    digits: 12,
                    max: 11,
                },
            ),
            (
                "+44 20 7946 0958 1234",
                PhoneError::TooLong {
                    digits: 16,
                    max: 15,
                },
            ),
            (
                "5552345678901234",
                PhoneError::TooLong {
                    digits: 16,
                    max: 15,
                },
            ),
            ("25552345678", PhoneError::AmbiguousCountry { digits: 11 }),
            ("020 7946 0958", PhoneError::AmbiguousCountry { digits: 11 }),
            ("442079460958", PhoneError::AmbiguousCountry { digits: 12 }),
            (
                "+0 20 7946 0958",
                PhoneError::InvalidCountryCode("020".into()),
            ),
            (
                "+28 1234 5678",
                PhoneError::InvalidCountryCode("281".into()),
            ),
            (
                "+999 1234 5678",
                PhoneError::InvalidCountryCode("999".into()),
            ),
            ("(555) 123-4567", exchange("123", MUST_START_2_TO_9)),
            ("555-023-4567", exchange("023", MUST_START_2_TO_9)),
            ("555-411-4567", exchange("411", N11)),
            ("(155) 234-5678", area("155", MUST_START_2_TO_9)),
            ("055-234-5678", area("055", MUST_START_2_TO_9)),
            ("911-234-5678", area("911", N11)),
            ("+1 411 234 5678", area("411", N11)),
            (
                "595-234-5678",
                area(
                    "595",
                    "codes with 9 in the middle are reserved for expansion",
                ),
            ),
            (
                "372-234-5678",
                area("372", "37X and 96X codes are reserved"),
            ),
            (
                "961-234-5678",
                area("961", "37X and 96X codes are reserved"),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(PhoneNumber::parse(input), Err(expected), "input {input:?}");
        }
    }

    #[test]
    fn separates_extensions() {
        let cases = [
            ("555-234-5678", None),
            ("555-234-5678 x12", Some("12")),
            ("555-234-5678x12", Some("12")),
            ("555-234-5678 X 12", Some("12")),
            ("555-234-5678 ext. 12", Some("12")),
            ("555-234-5678 ext 12", Some("12")),
            ("555-234-5678 Ext: 12", Some("12")),
            ("555-234-5678 extn 12", Some("12")),
            ("555-234-5678 extension 12", Some("12")),
            ("555-234-5678 #12", Some("12")),
            ("+1-555-234-5678;ext=12", Some("12")),
            ("tel:+1-555-234-5678;ext=0042", Some("0042")),
            ("(555) 234-5678 x1234567890", Some("1234567890")),
        ];
        for (input, expected) in cases {
            let (number, ext) = PhoneNumber::parse_with_extension(input)
                .unwrap_or_else(|e| panic!("input {input:?} rejected: {e}"));
            assert_eq!(number.as_str(), "+15552345678", "input {input:?}");
            assert_eq!(ext.as_deref(), expected, "input {input:?}");
            assert_eq!(PhoneNumber::parse(input), Ok(number), "input {input:?}");
        }
    }

    #[test]
    fn keeps_fictional_555_numbers_but_not_the_123_exchange() {
        assert!(PhoneNumber::parse("+1 555 234 5678").is_ok());
        assert!(PhoneNumber::parse("+1 555 555 0100").is_ok());
        let err = PhoneNumber::parse("(555) 123-4567").unwrap_err();
        assert_eq!(
            err.to_string(),
            "exchange code 123 is not valid in North America (must start with 2-9)"
        );
    }

    #[test]
    fn error_messages_name_the_problem() {
        let cases = [
            ("", "phone number is empty"),
            ("1-800-FLOWERS", "contains letters"),
            ("234-5678", "area code"),
            ("+28 1234 5678", "+281... is not assigned"),
            (
                "911-234-5678",
                "area code 911 is not valid in North America (N11",
            ),
            ("2.5E+9", "scientific notation"),
            ("020 7946 0958", "write it with + and the country code"),
        ];
        for (input, fragment) in cases {
            let message = PhoneNumber::parse(input).unwrap_err().to_string();
            assert!(message.contains(fragment), "{input:?}: {message}");
        }
    }

    #[test]
    fn exposes_country_and_area() {
        let cases = [
            ("+15552345678", true, Some("555"), "1"),
            ("+14165550199", true, Some("416"), "1"),
            ("+442079460958", false, None, "44"),
            ("+353861234567", false, None, "353"),
            ("+79161234567", false, None, "7"),
            ("+85291234567", false, None, "852"),
        ];
        for (input, nanp, area_code, country) in cases {
            let number = PhoneNumber::parse(input).unwrap();
            assert_eq!(number.is_nanp(), nanp, "{input}");
            assert_eq!(number.nanp_area_code(), area_code, "{input}");
            assert_eq!(number.country_calling_code(), country, "{input}");
        }
    }

    #[test]
    fn standard_traits_use_the_e164_form() {
        let number: PhoneNumber = "(555) 234-5678".parse().unwrap();
        assert_eq!(number.to_string(), "+15552345678");
        assert_eq!(number.as_ref(), "+15552345678");
        assert_eq!(String::from(number.clone()), "+15552345678");
        assert_eq!(
            PhoneNumber::try_from("555.234.5678".to_string()),
            Ok(number.clone())
        );
        assert!("555-123-4567".parse::<PhoneNumber>().is_err());

        let spellings = ["555-234-5678", "+1 (555) 234 5678", "15552345678"];
        let distinct: HashSet<PhoneNumber> = spellings
            .iter()
            .map(|s| PhoneNumber::parse(s).unwrap())
            .collect();
        assert_eq!(distinct.len(), 1);

        let a = PhoneNumber::parse("+15552345678").unwrap();
        let b = PhoneNumber::parse("+442079460958").unwrap();
        assert!(a < b);
    }

    #[test]
    fn serde_uses_the_string_and_validates() {
        let number = PhoneNumber::parse("555-234-5678").unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "\"+15552345678\"");
        let back: PhoneNumber = serde_json::from_str("\"(555) 234-5678\"").unwrap();
        assert_eq!(back, number);
        let err = serde_json::from_str::<PhoneNumber>("\"(555) 123-4567\"").unwrap_err();
        assert!(err.to_string().contains("exchange code 123"), "{err}");
        assert!(serde_json::from_str::<PhoneNumber>("5552345678").is_err());
    }
}
