//! The request budget of one OpenPhone API key (default 10 requests/s), shared by every caller.
//!
//! Time is cut into slots of a little more than `1/per_second` s (a 4 % guard); a request may go
//! out once its caller has taken a slot, and a slot is taken by a conditional put (`ItemAbsent`)
//! of the item `RATE#<key hash>`/`<slot number>`. One slot holds one request, and a slot can only
//! be taken, and its request made, during the [`WINDOW_MS`] after its start: so the requests of slots
//! `n` and `n + per_second` are always more than a second apart, and **no sliding 1-second
//! window** (the way a provider counts) ever sees more than `per_second` requests, while the
//! budget still delivers `per_second / 1.04` requests a second. Slot items expire a minute later.
//!
//! A [`RateShare`] caps one kind of caller (reconciliation, health checks) to fewer requests
//! per second: it may only take some slots of each cycle of `per_second` slots (`m` of them,
//! spread evenly), so the campaign sends keep the rest. Those slots are also *held* for the small
//! shares during the first half of their window: the sends' share may take one only in the second
//! half, if nobody took it. So a small share waiting at the start of its slot always gets it, and
//! the sends lose nothing when the small shares are idle.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::ports::table::{Condition, Table, TableError, EXPIRES_AT, PK, SK};
use crate::Services;
use trickle_domain::{Clock, SystemClock};

/// The default OpenPhone budget: 10 requests per second per API key.
pub const DEFAULT_PER_SECOND: u32 = 10;
/// How long slot items stay (they only matter during their own second).
const SLOT_TTL_SECONDS: i64 = 60;
/// Slots are this many thousandths longer than `1/per_second` s.
const GUARD_PERMILLE: i128 = 40;
/// How long after its start a slot may be taken and its request made. `per_second` slots span
/// 1.04 s, so the requests of slots `n` and `n + per_second` are at least `1.04 s - WINDOW_MS`
/// apart: 10 ms of margin for the jitter between our clock and the provider's arrival times.
/// (At high rates a window outlasts its slot; the bound holds all the same.)
pub const WINDOW_MS: u64 = 30;
const NANOS_PER_SECOND: i128 = 1_000_000_000;

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

/// When a share may take one slot: `[opens, closes)` in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    opens: i128,
    closes: i128,
}

impl RateBudget {
    pub fn for_api_key(api_key: &str, per_second: u32) -> Self {
        let digest = hex::encode(Sha256::digest(api_key.as_bytes()));
        Self {
            pk: format!("RATE#{}", &digest[..16]),
            // OpenPhone allows 10; the engine bench lifts the budget far above any provider.
            per_second: per_second.clamp(1, 10_000),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same budget reading time from `clock` (tests that watch the instants it decides on).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The partition holding this key's slots (`RATE#<hash of the key>`).
    pub fn partition_key(&self) -> &str {
        &self.pk
    }

    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// The most requests per second the budget lets through (`per_second` less the guard).
    pub fn effective_per_second(&self) -> f64 {
        NANOS_PER_SECOND as f64 / self.slot_nanos() as f64
    }

    /// Takes a slot whose window is open now, or one whose window opens within [`AHEAD_MS`]
    /// (claimed ahead, then slept until it opens, so the table's latency is not spent from the
    /// window), if one is free and the share may use it. A grant whose write came back after
    /// the window closed is not used.
    pub async fn acquire(
        &self,
        services: &Services,
        share: RateShare,
    ) -> Result<Admission, TableError> {
        self.acquire_on(services.table.as_ref(), share).await
    }

    /// [`RateBudget::acquire`] on the table alone (for a provider client's gate, which is built
    /// before the services are).
    pub async fn acquire_on(
        &self,
        table: &dyn Table,
        share: RateShare,
    ) -> Result<Admission, TableError> {
        let now = self.clock.now();
        let now_nanos = nanos(now);
        let current = self.slot_at(now_nanos);
        // At high rates a window outlasts its slot, so a few recent slots may still be open;
        // the newest first, and only a few tries per call.
        let reach = (window_nanos() + self.slot_nanos() - 1) / self.slot_nanos();
        let open = (current - reach..=current)
            .rev()
            .filter_map(|slot| Some((slot, self.window(share, slot)?)))
            .filter(|(_, w)| w.opens <= now_nanos && now_nanos < w.closes)
            .take(MAX_TRIES);
        // Only a window that opens with its slot is claimed ahead: the second half of a held
        // slot stays the sends' fallback, taken only once the small shares had their half.
        let ahead = (current..=current + 2)
            .filter_map(|slot| Some((slot, self.window(share, slot)?)))
            .find(|(slot, w)| {
                w.opens > now_nanos
                    && w.opens == slot * self.slot_nanos()
                    && w.opens - now_nanos <= i128::from(AHEAD_MS) * 1_000_000
            });
        for (slot, window) in open.chain(ahead) {
            let mut item = Map::new();
            item.insert(PK.into(), Value::from(self.pk.clone()));
            item.insert(SK.into(), Value::from(format!("{slot:020}")));
            item.insert("share".into(), Value::from(share.name));
            item.insert(
                EXPIRES_AT.into(),
                Value::from(super::expires_at(now, SLOT_TTL_SECONDS)),
            );
            match table.put(item, Some(Condition::ItemAbsent)).await {
                Ok(()) => {
                    let mut after = nanos(self.clock.now());
                    if after < window.opens {
                        let early = u64::try_from(window.opens - after).unwrap_or(0);
                        tokio::time::sleep(StdDuration::from_nanos(early)).await;
                        after = nanos(self.clock.now());
                    }
                    if window.opens <= after && after < window.closes {
                        return Ok(Admission::Granted);
                    }
                    return Ok(Admission::Wait(
                        self.until_share_slot(self.clock.now(), share),
                    ));
                }
                Err(e) if e.is_condition_failure() => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Admission::Wait(self.until_share_slot(now, share)))
    }

    /// Acquires, sleeping between tries, for at most `patience`; `Wait` if still refused (the
    /// caller then re-queues the work instead of holding a worker).
    pub async fn acquire_within(
        &self,
        services: &Services,
        share: RateShare,
        patience: StdDuration,
    ) -> Result<Admission, TableError> {
        self.acquire_within_on(services.table.as_ref(), share, patience)
            .await
    }

    /// [`RateBudget::acquire_within`] on the table alone.
    pub async fn acquire_within_on(
        &self,
        table: &dyn Table,
        share: RateShare,
        patience: StdDuration,
    ) -> Result<Admission, TableError> {
        let started = std::time::Instant::now();
        loop {
            match self.acquire_on(table, share).await? {
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

    fn slot_nanos(&self) -> i128 {
        NANOS_PER_SECOND * (1000 + GUARD_PERMILLE) / 1000 / i128::from(self.per_second)
    }

    fn slot_at(&self, at_nanos: i128) -> i128 {
        at_nanos.div_euclid(self.slot_nanos())
    }

    /// How long until the next slot window of this share opens, or until [`LEAD_MS`] before it
    /// when it may be claimed ahead (never zero).
    fn until_share_slot(&self, now: DateTime<Utc>, share: RateShare) -> StdDuration {
        let now_nanos = nanos(now);
        let current = self.slot_at(now_nanos);
        // Every share may use the first slot of each cycle, so two cycles always find one.
        for slot in current..=current + 2 * i128::from(self.per_second) {
            if let Some(window) = self.window(share, slot) {
                if window.opens > now_nanos {
                    let lead = if window.opens == slot * self.slot_nanos() {
                        i128::from(LEAD_MS) * 1_000_000
                    } else {
                        0
                    };
                    let wake = (window.opens - lead).max(now_nanos);
                    let wait = u64::try_from(wake - now_nanos).unwrap_or(u64::MAX);
                    return StdDuration::from_nanos(wait.max(1_000_000));
                }
            }
        }
        StdDuration::from_secs(1)
    }

    /// When `share` may take `slot`; `None` if never.
    fn window(&self, share: RateShare, slot: i128) -> Option<Window> {
        let index = u32::try_from(slot.rem_euclid(i128::from(self.per_second))).ok()?;
        if !share_may_use(share, index, self.per_second) {
            return None;
        }
        let open = window_nanos();
        let start = slot * self.slot_nanos();
        let held = RESERVED
            .iter()
            .any(|r| share_may_use(*r, index, self.per_second));
        Some(match (held, share.per_second >= self.per_second) {
            (false, _) => Window {
                opens: start,
                closes: start + open,
            },
            // A held slot: the small shares have its first half, the sends its second.
            (true, false) => Window {
                opens: start,
                closes: start + open / 2,
            },
            (true, true) => Window {
                opens: start + open / 2,
                closes: start + open,
            },
        })
    }
}

/// How far ahead a window may be claimed: longer than a slow table write (moto on a busy
/// machine takes 45 ms; DynamoDB a few), and at most two slots ahead (see `acquire`), so a
/// worker never sits on slots it is not about to use.
pub const AHEAD_MS: u64 = 100;
/// How long before a window that may be claimed ahead a waiting acquirer wakes to claim it.
const LEAD_MS: u64 = 80;

/// Slots one acquire tries at most (only at high rates are several windows open at once).
const MAX_TRIES: usize = 3;

fn window_nanos() -> i128 {
    i128::from(WINDOW_MS) * 1_000_000
}

/// The small shares whose slots are held for them during the first half of each window.
const RESERVED: [RateShare; 2] = [RateShare::RECONCILE, RateShare::HEALTH];

fn nanos(at: DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * NANOS_PER_SECOND + i128::from(at.timestamp_subsec_nanos())
}

/// A share of `m` requests per second may use `m` of each cycle of `per_second` slots, spread
/// evenly: slot `i` when `i·m mod per_second < m`.
fn share_may_use(share: RateShare, index: u32, per_second: u32) -> bool {
    let m = u64::from(share.per_second.min(per_second));
    (u64::from(index) * m) % u64::from(per_second) < m
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARES: [RateShare; 3] = [RateShare::SENDS, RateShare::RECONCILE, RateShare::HEALTH];

    #[test]
    fn slots_are_a_guard_longer_than_a_tenth_of_a_second() {
        let budget = RateBudget::for_api_key("k", 10);
        assert_eq!(budget.slot_nanos(), 104_000_000);
        assert!((budget.effective_per_second() - 9.615).abs() < 0.001);
        assert_eq!(budget.slot_at(0), 0);
        assert_eq!(budget.slot_at(103_999_999), 0);
        assert_eq!(budget.slot_at(104_000_000), 1);
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

    /// The property that keeps every sliding second at `per_second`: whoever takes slot `n` and
    /// whoever takes slot `n + per_second`, their requests are more than a second apart.
    #[test]
    fn requests_a_cycle_apart_are_more_than_a_second_apart() {
        for per_second in [1, 2, 3, 10, 25, 100, 1000] {
            let budget = RateBudget::for_api_key("k", per_second);
            let cycle = i128::from(per_second);
            for n in 1_000_000..1_000_000 + 2 * cycle {
                for early in SHARES {
                    for late in SHARES {
                        let (Some(first), Some(second)) =
                            (budget.window(early, n), budget.window(late, n + cycle))
                        else {
                            continue;
                        };
                        assert!(first.opens < first.closes);
                        assert!(
                            second.opens - first.closes >= NANOS_PER_SECOND,
                            "{per_second}/s, slot {n}: {early:?} then {late:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn small_shares_slots_are_held_for_them_for_half_the_window() {
        let budget = RateBudget::for_api_key("k", 10);
        // Slot 170 (index 0 of its cycle) starts at 17.68 s.
        let start = 170 * 104;
        let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(start + ms).unwrap();
        let lead = LEAD_MS as i64;
        // Slot index 0 is held: reconcile opens at its start (and may claim it ahead: it is
        // due now), the sends 15 ms later (never ahead, to leave the small shares their half).
        assert_eq!(
            budget.until_share_slot(at(-1), RateShare::RECONCILE),
            StdDuration::from_millis(1)
        );
        assert_eq!(
            budget.until_share_slot(at(-1), RateShare::SENDS),
            StdDuration::from_millis(16)
        );
        // Past the window of slot index 1, the sends wait for index 2 (within the lead: at
        // once); reconcile for index 5 and health for index 10, each woken the lead before.
        assert_eq!(
            budget.until_share_slot(at(104 + 40), RateShare::SENDS),
            StdDuration::from_millis(1)
        );
        assert_eq!(
            budget.until_share_slot(at(104 + 40), RateShare::RECONCILE),
            StdDuration::from_millis((5 * 104 - 144 - lead) as u64)
        );
        assert_eq!(
            budget.until_share_slot(at(104 + 40), RateShare::HEALTH),
            StdDuration::from_millis((10 * 104 - 144 - lead) as u64)
        );
        let held = budget.window(RateShare::SENDS, 170).unwrap();
        assert_eq!(held.opens, nanos(at(15)));
        assert_eq!(held.closes, nanos(at(30)));
        let free = budget.window(RateShare::SENDS, 171).unwrap();
        assert_eq!((free.opens, free.closes), (nanos(at(104)), nanos(at(134))));
        assert_eq!(budget.window(RateShare::RECONCILE, 171), None);
    }

    #[test]
    fn the_key_is_hashed() {
        let budget = RateBudget::for_api_key("secret-key", 10);
        assert!(budget.pk.starts_with("RATE#"));
        assert!(!budget.pk.contains("secret"));
        assert_eq!(budget.pk.len(), 5 + 16);
    }
}
