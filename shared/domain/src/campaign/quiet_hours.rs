//! Quiet hours in the recipient's local time: marketing texts only 8:00–21:00, or 8:00–20:00 in
//! the stricter states. The recipient's zones come from every source there is: the number's
//! area code, the zone the list declared for the contact, and (for a North American number) the
//! contact's state or ZIP code. A message may go only when it is allowed in each of them (the
//! stricter window wins); with no zone at all there is no window, and the send is held.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::nanp_zones::{area_code_state, area_code_time_zone};
use crate::phone::PhoneNumber;
use crate::us_regions::{state_code, state_zones, zip_state};

/// The contact attributes a list's time-zone column is kept under (its header in snake case).
pub const TIME_ZONE_ATTRIBUTES: [&str; 3] = ["time_zone", "timezone", "tz"];

/// The IANA zone the list declared for a contact, if one of its attributes names a real one.
pub fn declared_zone(attributes: &BTreeMap<String, String>) -> Option<Tz> {
    TIME_ZONE_ATTRIBUTES
        .iter()
        .filter_map(|key| attributes.get(*key))
        .find_map(|value| value.trim().parse::<Tz>().ok())
}

/// The one zone a recipient's local time is told in (the best-time grid): the zone the list
/// declared, else the number's area code, else the contact's US state or ZIP.
pub fn recipient_zone(phone: &PhoneNumber, attributes: &BTreeMap<String, String>) -> Option<Tz> {
    declared_zone(attributes)
        .or_else(|| {
            phone
                .nanp_area_code()
                .and_then(area_code_time_zone)
                .and_then(|z| z.parse::<Tz>().ok())
        })
        .or_else(|| {
            [
                attributes.get("state").and_then(|s| state_code(s)),
                attributes.get("zip").and_then(|z| zip_state(z)),
            ]
            .into_iter()
            .flatten()
            .find_map(|state| state_zones(state).first().copied())
        })
}

/// States whose law ends the sending day at 20:00.
pub const STRICT_STATES: [&str; 5] = ["FL", "OK", "MD", "CT", "WA"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendWindow {
    Now,
    WaitUntil(DateTime<Utc>),
}

/// One local-time window in one zone: `[start_hour, end_hour)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    zone: Tz,
    start_hour: u32,
    end_hour: u32,
}

impl Rule {
    fn allows(&self, at: DateTime<Utc>) -> bool {
        let hour = at.with_timezone(&self.zone).hour();
        hour >= self.start_hour && hour < self.end_hour
    }

    /// The next instant at or after `at` where this rule opens.
    fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.zone);
        let start = NaiveTime::from_hms_opt(self.start_hour, 0, 0).expect("hour < 24");
        let mut date = local.date_naive();
        if local.hour() >= self.start_hour {
            date += Duration::days(1);
        }
        let naive = NaiveDateTime::new(date, start);
        // 8:00 is never inside a daylight-saving gap in the zones used, but stay total.
        self.zone
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive) + Duration::hours(1))
    }
}

/// The quiet-hours rules for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietHours {
    rules: Vec<Rule>,
}

impl QuietHours {
    /// From the number alone (its NANP area code); `None` when that gives no zone.
    pub fn for_recipient(phone: &PhoneNumber) -> Option<QuietHours> {
        Self::for_contact(phone, &BTreeMap::new())
    }

    /// From every source of the contact's zone (see the module's comment). `None` when none
    /// gives a zone, or the zones given share no hour in which a message is allowed: hold.
    pub fn for_contact(
        phone: &PhoneNumber,
        attributes: &BTreeMap<String, String>,
    ) -> Option<QuietHours> {
        let mut zones: Vec<Tz> = Vec::new();
        let mut states: Vec<&str> = Vec::new();
        if let Some(area) = phone.nanp_area_code() {
            zones.extend(area_code_time_zone(area).and_then(|z| z.parse::<Tz>().ok()));
            states.extend(area_code_state(area));
            // A US address says where a North American number's owner lives; for a number of
            // another country a five-digit postcode would be read as a US ZIP, so not there.
            let address = [
                attributes.get("state").and_then(|s| state_code(s)),
                attributes.get("zip").and_then(|z| zip_state(z)),
            ];
            for state in address.into_iter().flatten() {
                zones.extend(state_zones(state));
                states.push(state);
            }
        }
        zones.extend(declared_zone(attributes));
        zones.sort_by_key(|z| z.name());
        zones.dedup();
        if zones.is_empty() {
            return None;
        }
        let strict = states.iter().any(|s| STRICT_STATES.contains(s));
        let hours = QuietHours {
            rules: zones
                .into_iter()
                .map(|zone| Rule {
                    zone,
                    start_hour: 8,
                    end_hour: if strict { 20 } else { 21 },
                })
                .collect(),
        };
        hours.has_a_common_hour().then_some(hours)
    }

    /// Whether some hour is allowed by every rule, in winter and in summer.
    fn has_a_common_hour(&self) -> bool {
        ["2026-01-05T00:00:00Z", "2026-07-06T00:00:00Z"]
            .iter()
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .all(|day| {
                (0..24).any(|h| {
                    let at = day.with_timezone(&Utc) + Duration::hours(h);
                    self.rules.iter().all(|r| r.allows(at))
                })
            })
    }

    /// Whether a message may go at `now`, or the first instant it may.
    pub fn check(&self, now: DateTime<Utc>) -> SendWindow {
        let mut at = now;
        // Each step moves to the opening of a rule that is closed; a few days always settle it.
        for _ in 0..32 {
            match self.rules.iter().find(|r| !r.allows(at)) {
                None => {
                    return if at == now {
                        SendWindow::Now
                    } else {
                        SendWindow::WaitUntil(at)
                    }
                }
                Some(rule) => at = rule.next_open(at),
            }
        }
        // Rules with no common hour are refused when built; should one slip through, try again
        // a day later rather than send.
        SendWindow::WaitUntil(now + Duration::days(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn phone(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn table() {
        // (number, now, expected: None = now, Some = wait until)
        let cases: &[(&str, &str, Option<&str>)] = &[
            // New York (EST -5): 8:00 local = 13:00Z.
            ("+12125550134", "2026-01-05T13:00:00Z", None),
            (
                "+12125550134",
                "2026-01-05T12:59:59Z",
                Some("2026-01-05T13:00:00Z"),
            ),
            ("+12125550134", "2026-01-06T01:59:59Z", None),
            (
                "+12125550134",
                "2026-01-06T02:00:00Z",
                Some("2026-01-06T13:00:00Z"),
            ),
            // Summer (EDT -4).
            (
                "+12125550134",
                "2026-07-01T11:30:00Z",
                Some("2026-07-01T12:00:00Z"),
            ),
            // Florida (Miami, ET) ends at 20:00: 01:00Z in winter.
            ("+13055550134", "2026-01-06T00:59:00Z", None),
            (
                "+13055550134",
                "2026-01-06T01:00:00Z",
                Some("2026-01-06T13:00:00Z"),
            ),
            // Washington (Seattle, PT -8): ends 20:00 = 04:00Z.
            (
                "+12065550134",
                "2026-01-06T04:00:00Z",
                Some("2026-01-06T16:00:00Z"),
            ),
            // California (PT): ends 21:00 = 05:00Z.
            ("+14155550134", "2026-01-06T04:30:00Z", None),
            (
                "+14155550134",
                "2026-01-06T05:00:00Z",
                Some("2026-01-06T16:00:00Z"),
            ),
            // Phoenix (-7, no DST) in summer: 8:00 = 15:00Z.
            (
                "+16025550134",
                "2026-07-01T14:00:00Z",
                Some("2026-07-01T15:00:00Z"),
            ),
            // On the spring-forward day New York opens at 8:00 EDT = 12:00Z.
            (
                "+12125550134",
                "2026-03-08T07:00:00Z",
                Some("2026-03-08T12:00:00Z"),
            ),
        ];
        for (number, now, expected) in cases {
            let got = QuietHours::for_recipient(&phone(number))
                .unwrap()
                .check(utc(now));
            let expected = match expected {
                None => SendWindow::Now,
                Some(t) => SendWindow::WaitUntil(utc(t)),
            };
            assert_eq!(got, expected, "{number} at {now}");
        }
    }

    #[test]
    fn the_waited_for_instant_is_always_allowed_and_nothing_earlier_is() {
        let numbers = [
            "+12125550134",
            "+13055550134",
            "+16025550134",
            "+19075550134",
        ];
        for number in numbers {
            let quiet = QuietHours::for_recipient(&phone(number)).unwrap();
            let mut at = utc("2026-03-07T00:00:00Z");
            while at < utc("2026-03-10T00:00:00Z") {
                if let SendWindow::WaitUntil(until) = quiet.check(at) {
                    assert!(until > at);
                    assert_eq!(quiet.check(until), SendWindow::Now, "{number} {until}");
                    assert_ne!(
                        quiet.check(until - Duration::minutes(1)),
                        SendWindow::Now,
                        "{number} {until}"
                    );
                }
                at += Duration::minutes(17);
            }
        }
    }

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_source_of_a_zone_counts_and_no_zone_means_no_window() {
        // (number, attributes, now, expected: None = now, Some = wait until; "hold" = no window)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, Option<&'a str>);
        let cases: &[Case] = &[
            // A UK number alone has no zone: held, never the North American window.
            ("+447911123456", &[], "2026-01-06T02:00:00Z", Some("hold")),
            // …with the zone the list declared: 8:00–21:00 in London.
            (
                "+447911123456",
                &[("time_zone", "Europe/London")],
                "2026-01-06T07:59:00Z",
                Some("2026-01-06T08:00:00Z"),
            ),
            (
                "+447911123456",
                &[("time_zone", "Europe/London")],
                "2026-01-06T20:59:00Z",
                None,
            ),
            (
                "+447911123456",
                &[("time_zone", "Europe/London")],
                "2026-01-06T21:00:00Z",
                Some("2026-01-07T08:00:00Z"),
            ),
            // Sydney (AEDT +11 in January): 8:00 local = 21:00Z the day before.
            (
                "+61412345678",
                &[("timezone", "Australia/Sydney")],
                "2026-01-06T09:59:00Z",
                None,
            ),
            (
                "+61412345678",
                &[("timezone", "Australia/Sydney")],
                "2026-01-06T10:00:00Z",
                Some("2026-01-06T21:00:00Z"),
            ),
            // A zone that is not a zone, and a US ZIP on a UK number, give nothing.
            (
                "+447911123456",
                &[("time_zone", "GMT-ish")],
                "2026-01-06T12:00:00Z",
                Some("hold"),
            ),
            (
                "+447911123456",
                &[("zip", "10001")],
                "2026-01-06T12:00:00Z",
                Some("hold"),
            ),
            // Toll-free: no zone from the number; a state column gives one.
            ("+18005550134", &[], "2026-01-06T15:00:00Z", Some("hold")),
            (
                "+18005550134",
                &[("state", "New York")],
                "2026-01-06T15:00:00Z",
                None,
            ),
            // A New York number whose owner lives in California (ZIP 90210): 8:00 Pacific
            // opens the day (16:00Z) and 21:00 Eastern (02:00Z) ends it.
            (
                "+12125550134",
                &[("zip", "90210")],
                "2026-01-06T15:59:00Z",
                Some("2026-01-06T16:00:00Z"),
            ),
            (
                "+12125550134",
                &[("zip", "90210")],
                "2026-01-07T01:59:00Z",
                None,
            ),
            (
                "+12125550134",
                &[("zip", "90210")],
                "2026-01-07T02:00:00Z",
                Some("2026-01-07T16:00:00Z"),
            ),
            // A California number in Florida (a 20:00 state, two zones): 20:00 Eastern ends it.
            (
                "+14155550134",
                &[("state", "FL")],
                "2026-01-07T00:59:00Z",
                None,
            ),
            (
                "+14155550134",
                &[("state", "FL")],
                "2026-01-07T01:00:00Z",
                Some("2026-01-07T16:00:00Z"),
            ),
        ];
        for (number, pairs, now, expected) in cases {
            let quiet = QuietHours::for_contact(&phone(number), &attrs(pairs));
            match (quiet, expected) {
                (None, Some("hold")) => {}
                (Some(q), Some("hold")) => panic!("{number} {pairs:?}: expected a hold, got {q:?}"),
                (None, _) => panic!("{number} {pairs:?}: held, expected a window"),
                (Some(q), expected) => {
                    let want = match expected {
                        None => SendWindow::Now,
                        Some(t) => SendWindow::WaitUntil(utc(t)),
                    };
                    assert_eq!(q.check(utc(now)), want, "{number} {pairs:?} at {now}");
                }
            }
        }
    }

    #[test]
    fn zones_that_share_no_allowed_hour_are_a_hold() {
        // Honolulu (a ZIP) and a declared Asia/Kolkata beside a New York number: no hour is
        // 8:00–21:00 in all three.
        let pairs = attrs(&[("zip", "96813"), ("time_zone", "Asia/Kolkata")]);
        assert_eq!(
            QuietHours::for_contact(&phone("+12125550134"), &pairs),
            None
        );
    }
}
