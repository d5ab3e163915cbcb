//! The provider client's gate: every REST request beyond the one its caller took a slot for (a
//! retry after a 429 or 5xx, a further page of a list) takes its own slot of the key's budget,
//! in the reconciliation share (these are all reads, and the share keeps them from crowding out
//! the sends).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Admission, RateBudget, RateShare};
use crate::ports::sms::{RequestGate, SmsError};
use crate::ports::Table;

/// How long one extra request waits for its slot before the read gives up as rate limited.
const PATIENCE: Duration = Duration::from_secs(5);

pub struct BudgetGate {
    table: Arc<dyn Table>,
    budget: RateBudget,
    share: RateShare,
}

impl BudgetGate {
    pub fn new(table: Arc<dyn Table>, budget: RateBudget) -> Self {
        Self {
            table,
            budget,
            share: RateShare::RECONCILE,
        }
    }
}

#[async_trait]
impl RequestGate for BudgetGate {
    async fn admit(&self) -> Result<(), SmsError> {
        let admission = self
            .budget
            .acquire_within_on(self.table.as_ref(), self.share, PATIENCE)
            .await
            .map_err(|e| SmsError::Unavailable(format!("rate budget: {e}")))?;
        match admission {
            Admission::Granted => Ok(()),
            Admission::Wait(_) => Err(SmsError::RateLimited),
        }
    }
}
