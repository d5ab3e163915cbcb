//! Optimistic concurrency: every state change that matters is a conditional write on what was
//! read. When it loses to a concurrent writer, the whole read-decide-write is tried again, so
//! the rule is checked against the latest state, a bounded number of times.

use std::future::Future;

use crate::ports::table::TableError;

/// Tries of one change before the loss is reported (five losses running mean a hot item).
pub const ATTEMPTS: usize = 5;

/// Runs `attempt` again while `lost` says its write lost a race, at most [`ATTEMPTS`] times;
/// returns the first outcome that is not a loss, or the last loss.
pub async fn retry_lost_races<T, E, F, Fut>(
    lost: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if lost(&e) && tries < ATTEMPTS => tries += 1,
            other => return other,
        }
    }
}

/// The table write lost to a concurrent one (a failed condition or a conflict).
pub fn lost(e: &TableError) -> bool {
    e.is_condition_failure() || *e == TableError::TransactionConflict
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn a_lost_race_is_tried_again_up_to_the_limit() {
        let calls = Cell::new(0);
        let out: Result<(), &str> = retry_lost_races(
            |e| *e == "lost",
            || async {
                calls.set(calls.get() + 1);
                Err("lost")
            },
        )
        .await;
        assert_eq!((out, calls.get()), (Err("lost"), ATTEMPTS));

        calls.set(0);
        let out: Result<u8, &str> = retry_lost_races(
            |e| *e == "lost",
            || async {
                calls.set(calls.get() + 1);
                if calls.get() < 3 {
                    Err("lost")
                } else {
                    Ok(7)
                }
            },
        )
        .await;
        assert_eq!((out, calls.get()), (Ok(7), 3));

        calls.set(0);
        let out: Result<u8, &str> = retry_lost_races(
            |e| *e == "lost",
            || async {
                calls.set(calls.get() + 1);
                Err("refused")
            },
        )
        .await;
        assert_eq!((out, calls.get()), (Err("refused"), 1));
    }
}
