//! The per-sender-number daily cap (default 125 messages a day per OpenPhone number).
//!
//! One counter item per sender and local day, `SENDCAP#<sender>`/`<local date>`, in the
//! campaign's time zone. The send worker adds one to it inside its claim transaction, on the
//! condition that it is still below the cap, so a send is counted exactly when it is claimed and
//! the day can never count more than the cap; a claim the provider then did not act on (429,
//! unreachable) gives its unit back. A send refused by the cap waits for the next local day.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ports::table::{Condition, Key, TableError, TxOp, Update, EXPIRES_AT};
use crate::Services;

pub const DEFAULT_PER_SENDER: u32 = 125;
const COUNT: &str = "sent";
/// Counters stay a few days for inspection, then expire.
const TTL_SECONDS: i64 = 3 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyCap {
    pub per_sender: u32,
}

impl Default for DailyCap {
    fn default() -> Self {
        Self {
            per_sender: DEFAULT_PER_SENDER,
        }
    }
}

/// What the cap says about one more send today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapOutcome {
    Taken,
    /// Full for today: wait until the next local day starts.
    Full {
        next_day: DateTime<Utc>,
    },
}

impl DailyCap {
    /// The local day of `now` in `zone`.
    pub fn day(zone: Tz, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&zone).date_naive()
    }

    pub fn key(sender: &str, day: NaiveDate) -> Key {
        Key::new(
            format!("SENDCAP#{sender}"),
            day.format("%Y-%m-%d").to_string(),
        )
    }

    /// The transaction step that counts one send against `sender`'s `day`, failing when full.
    pub fn count_op(&self, sender: &str, day: NaiveDate, now: DateTime<Utc>) -> TxOp {
        TxOp::Update {
            key: Self::key(sender, day),
            update: Update::new()
                .add(COUNT, 1)
                .set(EXPIRES_AT, super::expires_at(now, TTL_SECONDS)),
            condition: Some(Condition::Any(vec![
                Condition::AttrAbsent(COUNT.into()),
                Condition::less_than(COUNT, self.per_sender),
            ])),
        }
    }

    /// Counts one send on its own (for callers outside a transaction).
    pub async fn take(
        &self,
        services: &Services,
        sender: &str,
        zone: Tz,
    ) -> Result<CapOutcome, TableError> {
        let now = services.clock.now();
        let day = Self::day(zone, now);
        let TxOp::Update {
            key,
            update,
            condition,
        } = self.count_op(sender, day, now)
        else {
            unreachable!("count_op is an update")
        };
        match services.table.update(&key, update, condition).await {
            Ok(_) => Ok(CapOutcome::Taken),
            Err(e) if e.is_condition_failure() => Ok(CapOutcome::Full {
                next_day: next_day_start(zone, day),
            }),
            Err(e) => Err(e),
        }
    }

    /// Gives back one unit taken for a send the provider did not act on.
    pub async fn give_back(
        &self,
        services: &Services,
        sender: &str,
        day: NaiveDate,
    ) -> Result<(), TableError> {
        let update = Update::new().add(COUNT, -1);
        match services
            .table
            .update(
                &Self::key(sender, day),
                update,
                Some(Condition::GreaterThan(COUNT.into(), 0.into())),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failure() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// How many sends `sender` has been counted for on `day`.
    pub async fn used(
        services: &Services,
        sender: &str,
        day: NaiveDate,
    ) -> Result<u32, TableError> {
        let item = services.table.get(&Self::key(sender, day)).await?;
        Ok(item
            .and_then(|i| i.get(COUNT).and_then(|v| v.as_u64()))
            .unwrap_or(0) as u32)
    }
}

/// Midnight at the start of the day after `day` in `zone` (the first valid instant if a
/// daylight-saving change skips midnight).
pub fn next_day_start(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let mut local = next.and_hms_opt(0, 0, 0).expect("midnight");
    for _ in 0..4 {
        if let Some(at) = zone.from_local_datetime(&local).earliest() {
            return at.with_timezone(&Utc);
        }
        local += chrono::Duration::hours(1);
    }
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_day_starts_at_local_midnight() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-01-05T23:30:00-05:00")
            .unwrap()
            .with_timezone(&Utc);
        let day = DailyCap::day(ny, now);
        assert_eq!(day.to_string(), "2026-01-05");
        assert_eq!(
            next_day_start(ny, day).to_rfc3339(),
            "2026-01-06T05:00:00+00:00"
        );
        // 04:30 UTC is still the 5th in New York.
        let late = DateTime::parse_from_rfc3339("2026-01-06T04:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(DailyCap::day(ny, late).to_string(), "2026-01-05");
        // Sao Paulo once skipped midnight at the DST change (2018-11-04 00:00 did not exist).
        let sp: Tz = "America/Sao_Paulo".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2018, 11, 3).unwrap();
        assert_eq!(
            next_day_start(sp, d).to_rfc3339(),
            "2018-11-04T03:00:00+00:00"
        );
        assert_eq!(
            DailyCap::key("+12125550100", d),
            Key::new("SENDCAP#+12125550100", "2018-11-03")
        );
    }
}
