//! The simulator's clock: the system clock, or the runner's when `trickle dev --clock-start`
//! moves time, so message and call times agree with the rest of the system.

use std::sync::Arc;

use trickle_domain::{Clock, SystemClock};

/// The simulator's clock (a `Debug` wrapper; the system clock by default).
#[derive(Clone)]
pub struct SimClock(pub Arc<dyn Clock>);

impl Default for SimClock {
    fn default() -> Self {
        Self(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimClock({})", self.0.now())
    }
}
