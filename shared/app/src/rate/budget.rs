//! The request budget of one OpenPhone API key (default 10 requests/s), shared by every caller.
//!
//! Each second is cut into `per_second` equal slots; a request may go out once its caller has
//! taken a slot, and a slot is taken by a conditional put (`ItemAbsent`) of the item
//! `RATE#<key hash>`/`<epoch second>.<slot>`. One slot holds one request, so no second (of the
//! store's clock) ever sees more than `per_second` grants, and grants are spread over the second
//! instead of bunched at its start. Slot items expire a minute later.
//!
//! A [`RateShare`] caps one kind of caller (reconciliation, health checks) to fewer requests
//! per second: it may only take some slots of each second (`m` of them, spread evenly), so the
//! campaign sends keep the rest. Those slots are also *held* for the small shares during their
//! first half: the sends' share may take one only in its second half, if nobody took it. So a
//! small share waiting at the start of its slot always gets it, and the sends lose nothing when
//! the small shares are idle.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::ports::table::{Condition, TableError, EXPIRES_AT, PK, SK};
use crate::Services;
use trickle_domain::{Clock, SystemClock};

/// The default OpenPhone budget: 10 requests per second per API key.
pub const DEFAULT_PER_SECOND: u32 = 10;
/// How long slot items stay (they only matter during their own second).
const SLOT_TTL_SECONDS: i64 = 60;

/// One kind of provider caller and the most requests per second it may use of the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateShare {
    pub name: &'static str,
    pub per_second: u32,
}

impl RateShare {
    /// Campaign sends: the whole budget.
    pub const SENDS: RateShare = RateShare {
        name: "sends",
        per_second: u32::MAX,
    };
    /// Provider lookups that resolve UNKNOWN sends, and conversation reconciliation.
    pub const RECONCILE: RateShare = RateShare {
        name: "reconcile",
        per_second: 2,
    };
    /// Health checks.
    pub const HEALTH: RateShare = RateShare {
        name: "health",
        per_second: 1,
    };
}

/// The answer to one acquire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A slot is yours: make the request now.
    Granted,
    /// The budget is spent for now: try again after this.
    Wait(StdDuration),
}

/// The budget of one API key.
#[derive(Clone)]
pub struct RateBudget {
    /// `RATE#<first 16 hex digits of sha256(api key)>`: the key itself never lands in the table.
    pk: String,
    per_second: u32,
    /// Real time by default: the provider counts requests in real time, whatever the business
    /// clock says (a demo clock, a test's fixed clock).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateBudget")
            .field("pk", &self.pk)
            .field("per_second", &self.per_second)
            .finish_non_exhaustive()
    }
}

impl RateBudget {
    pub fn for_api_key(api_key: &str, per_second: u32) -> Self {
        let digest = hex::encode(Sha256::digest(api_key.as_bytes()));
        Self {
            pk: format!("RATE#{}", &digest[..16]),
            per_second: per_second.clamp(1, 1000),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same budget reading time from `clock` (tests that watch the instants it decides on).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes the slot of this instant if it is free and the share may use it.
    pub async fn acquire(
        &self,
        services: &Services,
        share: RateShare,
    ) -> Result<Admission, TableError> {
        let now = self.clock.now();
        let slot = Slot::at(now, self.per_second);
        if self.opens_at(share, slot) > nanos(now) {
            return Ok(Admission::Wait(self.until_share_slot(now, share)));
        }
        let mut item = Map::new();
        item.insert(PK.into(), Value::from(self.pk.clone()));
        item.insert(SK.into(), Value::from(slot.sort_key()));
        item.insert("share".into(), Value::from(share.name));
        item.insert(
            EXPIRES_AT.into(),
            Value::from(super::expires_at(now, SLOT_TTL_SECONDS)),
        );
        match services.table.put(item, Some(Condition::ItemAbsent)).await {
            Ok(()) => Ok(Admission::Granted),
            Err(e) if e.is_condition_failure() => {
                Ok(Admission::Wait(self.until_share_slot(now, share)))
            }
            Err(e) => Err(e),
        }
    }

    /// Acquires, sleeping between tries, for at most `patience`; `Wait` if still refused (the
    /// caller then re-queues the work instead of holding a worker).
    pub async fn acquire_within(
        &self,
        services: &Services,
        share: RateShare,
        patience: StdDuration,
    ) -> Result<Admission, TableError> {
        let started = std::time::Instant::now();
        loop {
            match self.acquire(services, share).await? {
                Admission::Granted => return Ok(Admission::Granted),
                Admission::Wait(wait) => {
                    if started.elapsed() + wait > patience {
                        return Ok(Admission::Wait(wait));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// How long until the next slot this share may try (never zero).
    fn until_share_slot(&self, now: DateTime<Utc>, share: RateShare) -> StdDuration {
        let current = Slot::at(now, self.per_second);
        let now_nanos = nanos(now);
        let mut slot = current;
        // At most two seconds ahead: every share may use slot 0.
        for _ in 0..=2 * self.per_second {
            let opens = self.opens_at(share, slot);
            if opens > now_nanos && opens != i128::MAX {
                let wait = u64::try_from(opens - now_nanos).unwrap_or(u64::MAX);
                return StdDuration::from_nanos(wait.max(1_000_000));
            }
            slot = slot.next(self.per_second);
        }
        StdDuration::from_secs(1)
    }

    /// When `share` may first try `slot` (nanoseconds since the epoch); `i128::MAX` if never.
    fn opens_at(&self, share: RateShare, slot: Slot) -> i128 {
        if !share_may_use(share, slot.index, self.per_second) {
            return i128::MAX;
        }
        let length = 1_000_000_000 / i128::from(self.per_second);
        let start = i128::from(slot.second) * 1_000_000_000 + i128::from(slot.index) * length;
        let held = share.per_second >= self.per_second
            && RESERVED
                .iter()
                .any(|r| share_may_use(*r, slot.index, self.per_second));
        if held {
            start + length / 2
        } else {
            start
        }
    }
}

/// The small shares whose slots are held for them during the first half of each slot.
const RESERVED: [RateShare; 2] = [RateShare::RECONCILE, RateShare::HEALTH];

fn nanos(at: DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos())
}

/// Slot `index` of `second` (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    second: i64,
    index: u32,
}

impl Slot {
    fn at(now: DateTime<Utc>, per_second: u32) -> Self {
        let nanos = u64::from(now.timestamp_subsec_nanos().min(999_999_999));
        Slot {
            second: now.timestamp(),
            index: (nanos * u64::from(per_second) / 1_000_000_000) as u32,
        }
    }

    fn next(self, per_second: u32) -> Slot {
        if self.index + 1 >= per_second {
            Slot {
                second: self.second + 1,
                index: 0,
            }
        } else {
            Slot {
                index: self.index + 1,
                ..self
            }
        }
    }

    fn sort_key(&self) -> String {
        format!("{}.{:04}", self.second, self.index)
    }
}

/// A share of `m` requests per second may use `m` of the `per_second` slots, spread evenly:
/// slot `i` when `i·m mod per_second < m`.
fn share_may_use(share: RateShare, index: u32, per_second: u32) -> bool {
    let m = u64::from(share.per_second.min(per_second));
    (u64::from(index) * m) % u64::from(per_second) < m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cut_the_second_evenly() {
        let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(1_767_600_000_000 + ms).unwrap();
        assert_eq!(Slot::at(at(0), 10).index, 0);
        assert_eq!(Slot::at(at(99), 10).index, 0);
        assert_eq!(Slot::at(at(100), 10).index, 1);
        assert_eq!(Slot::at(at(999), 10).index, 9);
        assert_eq!(
            Slot::at(at(1000), 10),
            Slot {
                second: 1_767_600_001,
                index: 0
            }
        );
        assert_eq!(Slot::at(at(1999), 10).sort_key(), "1767600001.0009");
    }

    #[test]
    fn a_share_uses_exactly_its_number_of_slots() {
        for per_second in [1, 3, 10, 25] {
            for m in 1..=per_second {
                let share = RateShare {
                    name: "x",
                    per_second: m,
                };
                let used = (0..per_second)
                    .filter(|&i| share_may_use(share, i, per_second))
                    .count() as u32;
                assert_eq!(used, m, "{m} of {per_second}");
            }
            assert!((0..per_second).all(|i| share_may_use(RateShare::SENDS, i, per_second)));
        }
        let reconcile: Vec<u32> = (0..10)
            .filter(|&i| share_may_use(RateShare::RECONCILE, i, 10))
            .collect();
        assert_eq!(reconcile, vec![0, 5]);
    }

    #[test]
    fn small_shares_slots_are_held_for_them_for_half_a_slot() {
        let budget = RateBudget::for_api_key("k", 10);
        let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(1_767_600_000_000 + ms).unwrap();
        // Slot 0 (reserved): reconcile now, sends from 50 ms.
        assert_eq!(
            budget.until_share_slot(at(999), RateShare::RECONCILE),
            StdDuration::from_millis(1)
        );
        assert_eq!(
            budget.until_share_slot(at(999), RateShare::SENDS),
            StdDuration::from_millis(51)
        );
        // Slot 1 is the sends' alone; slot 5 is reconcile's next.
        assert_eq!(
            budget.until_share_slot(at(60), RateShare::SENDS),
            StdDuration::from_millis(40)
        );
        assert_eq!(
            budget.until_share_slot(at(60), RateShare::RECONCILE),
            StdDuration::from_millis(440)
        );
        assert_eq!(
            budget.until_share_slot(at(60), RateShare::HEALTH),
            StdDuration::from_millis(940)
        );
        assert!(budget.opens_at(RateShare::SENDS, Slot::at(at(510), 10)) > nanos(at(510)));
        assert!(budget.opens_at(RateShare::SENDS, Slot::at(at(550), 10)) <= nanos(at(550)));
    }

    #[test]
    fn the_key_is_hashed() {
        let budget = RateBudget::for_api_key("secret-key", 10);
        assert!(budget.pk.starts_with("RATE#"));
        assert!(!budget.pk.contains("secret"));
        assert_eq!(budget.pk.len(), 5 + 16);
    }
}
