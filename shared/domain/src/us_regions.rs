//! Where a US address is in time: a state (its two-letter code or its name) or a ZIP code (by
//! its first three digits) gives the state, and a state the zones it spans. A state that spans
//! two zones gives both, so quiet hours built from it hold in each.

use chrono_tz::Tz;

use chrono_tz::America::{
    Anchorage, Boise, Chicago, Denver, Indiana::Indianapolis, Los_Angeles, New_York, Phoenix,
    Puerto_Rico,
};
use chrono_tz::Pacific::Honolulu;

#[rustfmt::skip]
static STATES: &[(&str, &str)] = &[
    ("AL", "alabama"), ("AK", "alaska"), ("AZ", "arizona"), ("AR", "arkansas"),
    ("CA", "california"), ("CO", "colorado"), ("CT", "connecticut"), ("DE", "delaware"),
    ("DC", "district of columbia"), ("FL", "florida"), ("GA", "georgia"), ("HI", "hawaii"),
    ("ID", "idaho"), ("IL", "illinois"), ("IN", "indiana"), ("IA", "iowa"), ("KS", "kansas"),
    ("KY", "kentucky"), ("LA", "louisiana"), ("ME", "maine"), ("MD", "maryland"),
    ("MA", "massachusetts"), ("MI", "michigan"), ("MN", "minnesota"), ("MS", "mississippi"),
    ("MO", "missouri"), ("MT", "montana"), ("NE", "nebraska"), ("NV", "nevada"),
    ("NH", "new hampshire"), ("NJ", "new jersey"), ("NM", "new mexico"), ("NY", "new york"),
    ("NC", "north carolina"), ("ND", "north dakota"), ("OH", "ohio"), ("OK", "oklahoma"),
    ("OR", "oregon"), ("PA", "pennsylvania"), ("PR", "puerto rico"), ("RI", "rhode island"),
    ("SC", "south carolina"), ("SD", "south dakota"), ("TN", "tennessee"), ("TX", "texas"),
    ("UT", "utah"), ("VT", "vermont"), ("VA", "virginia"), ("WA", "washington"),
    ("WV", "west virginia"), ("WI", "wisconsin"), ("WY", "wyoming"),
];

/// The state's two-letter code, from the code itself or the state's name (any case, extra
/// spaces and a trailing period ignored).
pub fn state_code(text: &str) -> Option<&'static str> {
    let words: Vec<String> = text
        .trim()
        .trim_end_matches('.')
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let clean = words.join(" ");
    STATES
        .iter()
        .find(|(code, name)| clean.eq_ignore_ascii_case(code) || clean == *name)
        .map(|(code, _)| *code)
}

/// The state of a US ZIP code (five digits, or ZIP+4), by its three-digit prefix.
#[rustfmt::skip]
pub fn zip_state(zip: &str) -> Option<&'static str> {
    let digits: String = zip.trim().chars().take_while(char::is_ascii_digit).collect();
    if digits.len() != 5 {
        return None;
    }
    let prefix: u32 = digits[..3].parse().ok()?;
    let state = match prefix {
        6..=9 => "PR", 10..=27 => "MA", 28..=29 => "RI", 30..=38 => "NH", 39..=49 => "ME",
        50..=59 => "VT", 60..=69 => "CT", 70..=89 => "NJ", 100..=149 => "NY", 150..=196 => "PA",
        197..=199 => "DE", 200 | 202..=205 | 569 => "DC", 201 | 220..=246 => "VA",
        206..=219 => "MD", 247..=268 => "WV", 270..=289 => "NC", 290..=299 => "SC",
        300..=319 | 398..=399 => "GA", 320..=339 | 341..=349 => "FL", 350..=369 => "AL",
        370..=385 => "TN", 386..=397 => "MS", 400..=427 => "KY", 430..=459 => "OH",
        460..=479 => "IN", 480..=499 => "MI", 500..=528 => "IA", 530..=549 => "WI",
        550..=567 => "MN", 570..=577 => "SD", 580..=588 => "ND", 590..=599 => "MT",
        600..=629 => "IL", 630..=658 => "MO", 660..=679 => "KS", 680..=693 => "NE",
        700..=714 => "LA", 716..=729 => "AR", 730..=731 | 734..=749 => "OK",
        733 | 750..=799 | 885 => "TX", 800..=816 => "CO", 820..=831 => "WY", 832..=838 => "ID",
        840..=847 => "UT", 850..=865 => "AZ", 870..=884 => "NM", 889..=898 => "NV",
        900..=961 => "CA", 967..=968 => "HI", 970..=979 => "OR", 980..=994 => "WA",
        995..=999 => "AK",
        _ => return None,
    };
    Some(state)
}

/// Every zone a state's people may be in (both zones of a split state).
pub fn state_zones(code: &str) -> &'static [Tz] {
    match code {
        "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH"
        | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" => &[New_York],
        "FL" | "KY" | "MI" | "TN" => &[New_York, Chicago],
        "IN" => &[Indianapolis, Chicago],
        "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" => &[Chicago],
        "KS" | "NE" | "ND" | "SD" | "TX" => &[Chicago, Denver],
        "CO" | "MT" | "NM" | "UT" | "WY" => &[Denver],
        "ID" => &[Boise, Los_Angeles],
        "OR" => &[Los_Angeles, Boise],
        "AZ" => &[Phoenix],
        "CA" | "WA" | "NV" => &[Los_Angeles],
        "AK" => &[Anchorage],
        "HI" => &[Honolulu],
        "PR" => &[Puerto_Rico],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_by_code_or_name_and_zips_by_prefix() {
        assert_eq!(state_code("fl"), Some("FL"));
        assert_eq!(state_code(" New  York "), Some("NY"));
        assert_eq!(state_code("Calif."), None);
        assert_eq!(state_code("Texas."), Some("TX"));
        assert_eq!(zip_state("33101"), Some("FL"));
        assert_eq!(zip_state("90210-1234"), Some("CA"));
        assert_eq!(zip_state("02134"), Some("MA"));
        assert_eq!(zip_state("10001"), Some("NY"));
        assert_eq!(zip_state("SW1A 1AA"), None);
        assert_eq!(zip_state("1234"), None);
        assert_eq!(state_zones("TX"), &[Chicago, Denver]);
        for (code, _) in STATES {
            assert!(!state_zones(code).is_empty(), "{code} has a zone");
        }
    }
}
