//! Consent columns. A list that says when and how each person agreed to be texted ("Opt-in
//! Date", "Consent", "Source", …) gives every contact `consent_at` and `consent_source`
//! attributes, whatever the columns were called, so the campaign's summary can count who has no
//! recorded consent. The original columns are kept as they were.

use chrono::NaiveDate;

/// When the person agreed: a date (`YYYY-MM-DD`) when the cell reads as one, else as written.
pub const CONSENT_AT: &str = "consent_at";
/// How or where the person agreed (a web form, a listing site, a signed sheet).
pub const CONSENT_SOURCE: &str = "consent_source";

/// The consent field an attribute column fills, if it is one.
pub fn consent_field(attribute_key: &str) -> Option<&'static str> {
    let words: Vec<&str> = attribute_key.split('_').filter(|w| !w.is_empty()).collect();
    let has = |w: &str| words.contains(&w);
    let agreed = has("consent")
        || has("consented")
        || has("optin")
        || has("optedin")
        || (has("opt") && has("in"))
        || (has("opted") && has("in"))
        || has("subscribed");
    let when = ["date", "at", "on", "time", "when", "timestamp"]
        .iter()
        .any(|w| has(w));
    let how = ["source", "method", "channel", "how", "where"]
        .iter()
        .any(|w| has(w));
    if agreed && when {
        Some(CONSENT_AT)
    } else if (agreed && how)
        || attribute_key == "consent"
        || attribute_key == "source"
        || attribute_key == "lead_source"
    {
        Some(CONSENT_SOURCE)
    } else {
        None
    }
}

/// The value a consent field keeps: dates in the usual US and ISO spellings become
/// `YYYY-MM-DD` (a time after them is dropped), anything else stays as written.
pub fn normalise(field: &str, value: &str) -> String {
    let value = value.trim();
    if field != CONSENT_AT {
        return value.to_string();
    }
    let date_part = value
        .split(['T', ' '])
        .next()
        .unwrap_or(value)
        .trim_end_matches(',');
    // Two-digit years first: `%Y` would read "25" as the year 25.
    for format in ["%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y", "%m-%d-%Y", "%Y/%m/%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(date_part, format) {
            return date.format("%Y-%m-%d").to_string();
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_columns_by_their_words() {
        for (key, field) in [
            ("opt_in_date", Some(CONSENT_AT)),
            ("optin_date", Some(CONSENT_AT)),
            ("consent_date", Some(CONSENT_AT)),
            ("date_consented", Some(CONSENT_AT)),
            ("subscribed_at", Some(CONSENT_AT)),
            ("consent", Some(CONSENT_SOURCE)),
            ("source", Some(CONSENT_SOURCE)),
            ("lead_source", Some(CONSENT_SOURCE)),
            ("opt_in_method", Some(CONSENT_SOURCE)),
            ("consent_source", Some(CONSENT_SOURCE)),
            ("listing_date", None),
            ("sale_price", None),
            ("in_date", None),
        ] {
            assert_eq!(consent_field(key), field, "{key}");
        }
    }

    #[test]
    fn consent_dates_read_in_the_usual_spellings() {
        for (raw, want) in [
            ("2025-03-14", "2025-03-14"),
            ("03/14/2025", "2025-03-14"),
            ("3/14/25", "2025-03-14"),
            ("2025-03-14T10:00:00Z", "2025-03-14"),
            ("3/14/2025 9:30 AM", "2025-03-14"),
            ("last spring", "last spring"),
        ] {
            assert_eq!(normalise(CONSENT_AT, raw), want, "{raw}");
        }
        assert_eq!(normalise(CONSENT_SOURCE, " Zillow "), "Zillow");
    }
}
