//! Time as a dependency, so rules that depend on "now" (quiet hours, schedules) are testable.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(at),
        }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at;
    }

    /// Moves the clock by `by` (backwards if negative).
    ///
    /// # Panics
    /// If the result is outside chrono's range, which only a broken test can ask for.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now
            .checked_add_signed(by)
            .expect("FixedClock advanced outside the representable range");
    }

    // A panic in another test thread must not make the clock unusable.
    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// A clock that starts at a chosen moment and then runs at real speed, e.g. to replay a
/// scenario "as if it were Monday 8:59" while timeouts still elapse.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    start: DateTime<Utc>,
    // Monotonic, so wall-clock adjustments on the host cannot move this clock backwards.
    started: Instant,
}

impl OffsetClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            start,
            started: Instant::now(),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Duration::from_std(self.started.elapsed())
            .ok()
            .and_then(|elapsed| self.start.checked_add_signed(elapsed))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 9, h, m, 0).unwrap()
    }

    #[test]
    fn system_clock_reads_the_wall_clock() {
        let before = Utc::now();
        let now = SystemClock.now();
        assert!(before <= now && now <= Utc::now());
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::new(at(8, 0));
        assert_eq!(clock.now(), at(8, 0));
        assert_eq!(clock.now(), at(8, 0));
        let steps = [
            (Duration::minutes(59), at(8, 59)),
            (Duration::minutes(1), at(9, 0)),
            (Duration::minutes(-30), at(8, 30)),
            (Duration::zero(), at(8, 30)),
        ];
        for (by, expected) in steps {
            clock.advance(by);
            assert_eq!(clock.now(), expected, "after {by}");
        }
        clock.set(at(21, 15));
        assert_eq!(clock.now(), at(21, 15));
    }

    #[test]
    #[should_panic(expected = "outside the representable range")]
    fn fixed_clock_refuses_to_overflow() {
        FixedClock::new(DateTime::<Utc>::MAX_UTC).advance(Duration::seconds(1));
    }

    #[test]
    fn fixed_clock_is_shared_through_the_trait() {
        let clock = Arc::new(FixedClock::new(at(8, 0)));
        let shared: Arc<dyn Clock> = clock.clone();
        clock.advance(Duration::hours(1));
        assert_eq!(shared.now(), at(9, 0));
        let by_ref: &dyn Clock = &*clock;
        assert_eq!(Clock::now(&by_ref), at(9, 0));
        let boxed: Box<dyn Clock> = Box::new(FixedClock::new(at(7, 0)));
        assert_eq!(Clock::now(&boxed), at(7, 0));
    }

    #[test]
    fn offset_clock_starts_at_the_given_time_and_runs_forward() {
        let start = at(8, 59);
        let clock = OffsetClock::starting_at(start);
        let first = clock.now();
        assert!(first >= start);
        assert!(first - start < Duration::seconds(5), "{first}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = clock.now();
        assert!(
            second - first >= Duration::milliseconds(20),
            "{first} {second}"
        );
        assert!(second - start < Duration::seconds(5), "{second}");
    }
}
