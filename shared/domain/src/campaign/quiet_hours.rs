//! Quiet hours in the recipient's local time: marketing texts only 8:00–21:00, or 8:00–20:00 in
//! the stricter states. When the recipient's zone is unknown, only the window that is legal in
//! every continental US zone at once (8:00 Pacific to 20:00 Eastern) is used.

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::nanp_zones::{area_code_state, area_code_time_zone};
use crate::phone::PhoneNumber;

/// States whose law ends the sending day at 20:00.
pub const STRICT_STATES: [&str; 5] = ["FL", "OK", "MD", "CT", "WA"];

const CONTINENTAL: [Tz; 5] = [
    chrono_tz::America::New_York,
    chrono_tz::America::Chicago,
    chrono_tz::America::Denver,
    chrono_tz::America::Phoenix,
    chrono_tz::America::Los_Angeles,
];

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
    /// From the NANP area code; any number whose zone cannot be inferred gets the strict window.
    pub fn for_recipient(phone: &PhoneNumber) -> QuietHours {
        let area = phone.nanp_area_code();
        let zone = area
            .and_then(area_code_time_zone)
            .and_then(|z| z.parse::<Tz>().ok());
        match zone {
            Some(zone) => {
                let strict = area
                    .and_then(area_code_state)
                    .is_some_and(|s| STRICT_STATES.contains(&s));
                QuietHours {
                    rules: vec![Rule {
                        zone,
                        start_hour: 8,
                        end_hour: if strict { 20 } else { 21 },
                    }],
                }
            }
            None => QuietHours::unknown_zone(),
        }
    }

    /// Legal in every continental US zone at once, with the stricter states' 20:00 end.
    pub fn unknown_zone() -> QuietHours {
        QuietHours {
            rules: CONTINENTAL
                .iter()
                .map(|&zone| Rule {
                    zone,
                    start_hour: 8,
                    end_hour: 20,
                })
                .collect(),
        }
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
        unreachable!("the quiet-hours rules always share an open window within a day")
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
            // Unknown zone (toll-free; and a UK number): 8:00 PT .. 20:00 ET.
            (
                "+18005550134",
                "2026-01-05T15:59:00Z",
                Some("2026-01-05T16:00:00Z"),
            ),
            ("+18005550134", "2026-01-05T16:00:00Z", None),
            ("+18005550134", "2026-01-06T00:59:00Z", None),
            (
                "+18005550134",
                "2026-01-06T01:00:00Z",
                Some("2026-01-06T16:00:00Z"),
            ),
            (
                "+447911123456",
                "2026-07-01T12:00:00Z",
                Some("2026-07-01T15:00:00Z"),
            ),
            ("+447911123456", "2026-07-01T15:00:00Z", None),
        ];
        for (number, now, expected) in cases {
            let got = QuietHours::for_recipient(&phone(number)).check(utc(now));
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
            "+18005550134",
            "+19075550134",
        ];
        for number in numbers {
            let quiet = QuietHours::for_recipient(&phone(number));
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
}
