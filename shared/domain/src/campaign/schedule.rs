//! When a campaign runs: some days of the week, at one local time, in one IANA time zone.
//!
//! Each run belongs to a **slot**: the local date of the run. A slot fires once, whatever the
//! daylight-saving clock does that day (a send time inside the spring-forward gap fires as if
//! the clock had not moved yet; a send time that happens twice in the fall-back hour fires at
//! the first of the two).

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSchedule", into = "RawSchedule")]
pub struct Schedule {
    /// Monday first, no repeats, never empty.
    days: Vec<Weekday>,
    send_time: NaiveTime,
    zone: Tz,
}

/// A schedule as typed: `{"days": ["mon", "wed"], "send_time": "09:30", "time_zone": "America/New_York"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawSchedule {
    pub days: Vec<String>,
    pub send_time: String,
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("a schedule needs at least one day of the week")]
    NoDays,
    #[error("{0:?} is not a day of the week (use mon, tue, wed, thu, fri, sat, sun)")]
    BadDay(String),
    #[error("{0:?} is not a time of day (use HH:MM, 24-hour)")]
    BadTime(String),
    #[error("{0:?} is not an IANA time zone (e.g. America/New_York)")]
    BadZone(String),
}

/// One scheduled run: its id (the local date) and the instant it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
}

impl Slot {
    /// The run's key, e.g. `2026-03-08`: one run per campaign per local day.
    pub fn id(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }
}

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

fn day_name(day: Weekday) -> &'static str {
    DAY_NAMES[day.num_days_from_monday() as usize].0
}

impl TryFrom<RawSchedule> for Schedule {
    type Error = ScheduleError;

    fn try_from(raw: RawSchedule) -> Result<Self, Self::Error> {
        let mut days = Vec::new();
        for day in &raw.days {
            let key = day.trim().to_ascii_lowercase();
            let found = DAY_NAMES
                .iter()
                .find(|(name, d)| {
                    key == *name
                        || key == d.to_string().to_ascii_lowercase()
                        || name_long(*d) == key
                })
                .map(|&(_, d)| d)
                .ok_or_else(|| ScheduleError::BadDay(day.clone()))?;
            if !days.contains(&found) {
                days.push(found);
            }
        }
        if days.is_empty() {
            return Err(ScheduleError::NoDays);
        }
        days.sort_by_key(|d| d.num_days_from_monday());
        let send_time = NaiveTime::parse_from_str(raw.send_time.trim(), "%H:%M")
            .map_err(|_| ScheduleError::BadTime(raw.send_time.clone()))?;
        let zone = Tz::from_str(raw.time_zone.trim())
            .map_err(|_| ScheduleError::BadZone(raw.time_zone.clone()))?;
        Ok(Schedule {
            days,
            send_time,
            zone,
        })
    }
}

fn name_long(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

impl From<Schedule> for RawSchedule {
    fn from(s: Schedule) -> Self {
        RawSchedule {
            days: s.days.iter().map(|d| day_name(*d).to_string()).collect(),
            send_time: s.send_time.format("%H:%M").to_string(),
            time_zone: s.zone.name().to_string(),
        }
    }
}

impl Schedule {
    pub fn parse(raw: RawSchedule) -> Result<Self, ScheduleError> {
        raw.try_into()
    }

    pub fn days(&self) -> &[Weekday] {
        &self.days
    }

    pub fn send_time(&self) -> NaiveTime {
        self.send_time
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first slot due strictly after `after`.
    pub fn next_run_after(&self, after: DateTime<Utc>) -> Slot {
        let today = after.with_timezone(&self.zone).date_naive();
        // Eight days always reach a scheduled weekday; the first day may already be past.
        for offset in 0..=8 {
            let date = today + Duration::days(offset);
            if !self.days.contains(&date.weekday()) {
                continue;
            }
            let at = self.instant_of(date);
            if at > after {
                return Slot { date, at };
            }
        }
        unreachable!("a non-empty set of weekdays recurs within eight days")
    }

    /// The slot of a given local date, if the schedule runs that day.
    pub fn slot_on(&self, date: NaiveDate) -> Option<Slot> {
        self.days.contains(&date.weekday()).then(|| Slot {
            date,
            at: self.instant_of(date),
        })
    }

    /// The instant of the send time on `date`, resolving daylight-saving edges.
    fn instant_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = NaiveDateTime::new(date, self.send_time);
        match self.zone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            // Fall back: the time happens twice; the first one is the run.
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            // Spring forward: the time does not exist; read it with the offset in force before
            // the gap, so 02:30 becomes 03:30 daylight time, the same elapsed time after midnight.
            chrono::LocalResult::None => {
                let before = local - Duration::hours(6);
                let offset = self
                    .zone
                    .from_local_datetime(&before)
                    .earliest()
                    .map(|t| t.offset().fix())
                    .unwrap_or_else(|| self.zone.offset_from_utc_datetime(&local).fix());
                Utc.from_utc_datetime(&(local - Duration::seconds(offset.local_minus_utc().into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(days: &[&str], time: &str, zone: &str) -> Schedule {
        Schedule::parse(RawSchedule {
            days: days.iter().map(|d| d.to_string()).collect(),
            send_time: time.into(),
            time_zone: zone.into(),
        })
        .unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    #[test]
    fn next_run_table() {
        // (days, time, zone, after, expected slot id, expected instant)
        type Case<'a> = (&'a [&'a str], &'a str, &'a str, &'a str, &'a str, &'a str);
        let cases: &[Case] = &[
            // An ordinary day in New York (EST, -5).
            (
                &EVERY_DAY,
                "09:00",
                "America/New_York",
                "2026-01-05T13:00:00Z",
                "2026-01-05",
                "2026-01-05T14:00:00Z",
            ),
            // Exactly at the send time: the next one is tomorrow (strictly after).
            (
                &EVERY_DAY,
                "09:00",
                "America/New_York",
                "2026-01-05T14:00:00Z",
                "2026-01-06",
                "2026-01-06T14:00:00Z",
            ),
            // Summer (EDT, -4).
            (
                &EVERY_DAY,
                "09:00",
                "America/New_York",
                "2026-07-01T12:00:00Z",
                "2026-07-01",
                "2026-07-01T13:00:00Z",
            ),
            // Spring forward 2026-03-08: 02:30 does not exist; fires at 03:30 EDT = 07:30Z.
            (
                &EVERY_DAY,
                "02:30",
                "America/New_York",
                "2026-03-08T05:00:00Z",
                "2026-03-08",
                "2026-03-08T07:30:00Z",
            ),
            // The day before and after the gap are normal.
            (
                &EVERY_DAY,
                "02:30",
                "America/New_York",
                "2026-03-07T05:00:00Z",
                "2026-03-07",
                "2026-03-07T07:30:00Z",
            ),
            (
                &EVERY_DAY,
                "02:30",
                "America/New_York",
                "2026-03-08T07:30:00Z",
                "2026-03-09",
                "2026-03-09T06:30:00Z",
            ),
            // A time on the DST day outside the gap uses the new offset.
            (
                &EVERY_DAY,
                "09:00",
                "America/New_York",
                "2026-03-08T05:00:00Z",
                "2026-03-08",
                "2026-03-08T13:00:00Z",
            ),
            // Fall back 2026-11-01: 01:30 happens twice (EDT then EST); fires at the first.
            (
                &EVERY_DAY,
                "01:30",
                "America/New_York",
                "2026-11-01T04:00:00Z",
                "2026-11-01",
                "2026-11-01T05:30:00Z",
            ),
            // ... and after that first 01:30, not again at the second 01:30 (06:30Z): next day.
            (
                &EVERY_DAY,
                "01:30",
                "America/New_York",
                "2026-11-01T05:30:00Z",
                "2026-11-02",
                "2026-11-02T06:30:00Z",
            ),
            (
                &EVERY_DAY,
                "01:30",
                "America/New_York",
                "2026-11-01T06:00:00Z",
                "2026-11-02",
                "2026-11-02T06:30:00Z",
            ),
            // Phoenix has no DST: -7 all year, also on the US change dates.
            (
                &EVERY_DAY,
                "02:30",
                "America/Phoenix",
                "2026-03-08T05:00:00Z",
                "2026-03-08",
                "2026-03-08T09:30:00Z",
            ),
            (
                &EVERY_DAY,
                "01:30",
                "America/Phoenix",
                "2026-11-01T05:00:00Z",
                "2026-11-01",
                "2026-11-01T08:30:00Z",
            ),
            (
                &EVERY_DAY,
                "09:00",
                "America/Phoenix",
                "2026-07-01T00:00:00Z",
                "2026-07-01",
                "2026-07-01T16:00:00Z",
            ),
            // Weekdays only: Friday evening → Monday (2026-01-09 is a Friday).
            (
                &["mon", "tue", "wed", "thu", "fri"],
                "09:00",
                "America/New_York",
                "2026-01-09T15:00:00Z",
                "2026-01-12",
                "2026-01-12T14:00:00Z",
            ),
            // One day a week, just missed: a week later.
            (
                &["fri"],
                "09:00",
                "America/New_York",
                "2026-01-09T14:00:01Z",
                "2026-01-16",
                "2026-01-16T14:00:00Z",
            ),
            // The local date decides the day, not the UTC one: 2026-01-06 03:00Z is still Monday 22:00 in New York.
            (
                &["mon"],
                "23:00",
                "America/New_York",
                "2026-01-06T03:00:00Z",
                "2026-01-05",
                "2026-01-06T04:00:00Z",
            ),
            // A zone east of UTC.
            (
                &EVERY_DAY,
                "08:00",
                "Europe/Berlin",
                "2026-03-29T00:00:00Z",
                "2026-03-29",
                "2026-03-29T06:00:00Z",
            ),
        ];
        for (days, time, zone, after, slot, at) in cases {
            let got = schedule(days, time, zone).next_run_after(utc(after));
            assert_eq!(
                (got.id(), got.at),
                (slot.to_string(), utc(at)),
                "{zone} {time} after {after}"
            );
        }
    }

    #[test]
    fn a_schedule_fires_once_per_day_across_a_whole_year_of_dst() {
        for zone in ["America/New_York", "America/Phoenix", "America/Los_Angeles"] {
            for time in ["00:30", "01:30", "02:00", "02:30", "09:00", "23:59"] {
                let s = schedule(&EVERY_DAY, time, zone);
                let mut at = utc("2026-01-01T12:00:00Z");
                let mut seen = std::collections::BTreeSet::new();
                for _ in 0..365 {
                    let slot = s.next_run_after(at);
                    assert!(slot.at > at);
                    assert!(slot.at - at <= Duration::hours(25), "{zone} {time} {at}");
                    assert!(seen.insert(slot.id()), "{zone} {time}: {} twice", slot.id());
                    at = slot.at;
                }
                assert_eq!(seen.len(), 365);
            }
        }
    }

    #[test]
    fn parsing_accepts_day_spellings_and_rejects_nonsense() {
        let s = schedule(
            &["Friday", "mon", "MON", "Wed"],
            " 9:05 ",
            "America/Chicago",
        );
        assert_eq!(s.days(), &[Weekday::Mon, Weekday::Wed, Weekday::Fri]);
        let raw: RawSchedule = s.clone().into();
        assert_eq!(raw.days, vec!["mon", "wed", "fri"]);
        assert_eq!(raw.send_time, "09:05");
        let bad = |days: &[&str], time: &str, zone: &str| {
            Schedule::parse(RawSchedule {
                days: days.iter().map(|d| d.to_string()).collect(),
                send_time: time.into(),
                time_zone: zone.into(),
            })
            .unwrap_err()
        };
        assert_eq!(bad(&[], "09:00", "UTC"), ScheduleError::NoDays);
        assert_eq!(
            bad(&["funday"], "09:00", "UTC"),
            ScheduleError::BadDay("funday".into())
        );
        assert_eq!(
            bad(&["mon"], "25:00", "UTC"),
            ScheduleError::BadTime("25:00".into())
        );
        assert_eq!(
            bad(&["mon"], "9am", "UTC"),
            ScheduleError::BadTime("9am".into())
        );
        assert_eq!(
            bad(&["mon"], "09:00", "Mars/Olympus"),
            ScheduleError::BadZone("Mars/Olympus".into())
        );
    }

    #[test]
    fn round_trips_through_json() {
        let s = schedule(&["tue"], "10:15", "America/Phoenix");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"days": ["tue"], "send_time": "10:15", "time_zone": "America/Phoenix"})
        );
        assert_eq!(serde_json::from_value::<Schedule>(json).unwrap(), s);
    }
}
