//! The validation worker: each distinct number of an import is looked up once (NumVerify
//! answers are cached 30 days), at a bounded rate. Quota and key errors pause the import and
//! alert an operator; they never mark a number.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use trickle_domain::PhoneNumber;

use super::finish::maybe_finish;
use super::model::{ImportRecord, ImportStatus, MOBILE, VERDICT};
use super::store::{self, paused_condition};
use super::{keys, AudienceError, AudienceSettings};
use crate::ports::mailer::Email;
use crate::ports::queue::ReceivedMessage;
use crate::ports::table::{Condition, TxOp, Update, EXPIRES_AT};
use crate::ports::validator::{NumberCheck, ValidatorError};
use crate::queues::{NumberBatch, QueueMessage};
use crate::records;
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

/// How long a NumVerify answer is reused.
pub const CACHE_FOR: chrono::Duration = chrono::Duration::days(30);
/// How long one worker may hold the lookup of a number before another may try.
const CLAIM_FOR: chrono::Duration = chrono::Duration::seconds(60);
/// Spaces lookups out to at most `per_second`.
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.001)),
            next: Mutex::new(Instant::now()),
        }
    }

    pub async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// The consumer of the `validate` queue.
pub struct ValidationWorker {
    services: Services,
    settings: AudienceSettings,
    limiter: Arc<RateLimiter>,
}

impl ValidationWorker {
    pub fn new(services: Services, settings: AudienceSettings) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.validations_per_second));
        Self {
            services,
            settings,
            limiter,
        }
    }

    pub async fn handle_batch(&self, batch: NumberBatch) -> Result<(), AudienceError> {
        let import = store::load(&self.services, &batch.import_id).await?;
        if !matches!(
            import.status,
            ImportStatus::Parsing | ImportStatus::Validating
        ) {
            // Paused: the resume sends every number without a verdict again.
            return Ok(());
        }
        for number in &batch.numbers {
            let phone = PhoneNumber::parse(number)
                .map_err(|e| AudienceError::Invalid(format!("{number}: {e}")))?;
            let number_key = keys::number(&import.id, phone.as_str());
            let judged = self.services.table.get(&number_key).await?;
            if judged.is_none_or(|item| item.contains_key(VERDICT)) {
                continue;
            }
            let check = match self.cached(&phone).await? {
                Some(check) => check,
                None => {
                    if !self.claim(&phone).await? {
                        return Err(AudienceError::Provider(format!(
                            "{phone} is being looked up for another import; retrying for its answer"
                        )));
                    }
                    // Another worker may have answered between our cache read and the claim.
                    let answer = match self.cached(&phone).await? {
                        Some(check) => Ok(check),
                        None => {
                            self.limiter.wait().await;
                            let fresh = self.services.validator.check(&phone).await;
                            if let Ok(check) = &fresh {
                                self.cache(&phone, check).await?;
                            }
                            fresh
                        }
                    };
                    self.services
                        .table
                        .delete(&keys::number_check_claim(phone.as_str()), None)
                        .await?;
                    match answer {
                        Ok(check) => check,
                        Err(error) if error.pauses() => {
                            self.pause(&import, &error).await?;
                            return Ok(());
                        }
                        Err(error) => return Err(AudienceError::Provider(error.to_string())),
                    }
                }
            };
            let verdict = match check.rejection() {
                None => MOBILE.to_string(),
                Some(reason) => reason.as_str().to_string(),
            };
            let marked = self
                .services
                .table
                .transact(vec![
                    TxOp::Update {
                        key: number_key,
                        update: Update::new().set(VERDICT, verdict),
                        condition: Some(Condition::AttrAbsent(VERDICT.into())),
                    },
                    TxOp::Update {
                        key: keys::import(&import.id),
                        update: Update::new().add("validated", 1),
                        condition: None,
                    },
                ])
                .await;
            match marked {
                Ok(()) => {}
                Err(e) if e.is_condition_failure() => {} // judged by another delivery
                Err(e) => return Err(e.into()),
            }
        }
        maybe_finish(&self.services, &import.id).await
    }

    async fn cached(&self, phone: &PhoneNumber) -> Result<Option<NumberCheck>, AudienceError> {
        let item = self
            .services
            .table
            .get(&keys::number_check(phone.as_str()))
            .await?;
        Ok(item.and_then(|i| records::from_item(i).ok()))
    }

    /// Takes the lookup lease of a number; false when another worker holds it.
    async fn claim(&self, phone: &PhoneNumber) -> Result<bool, AudienceError> {
        let now = self.services.clock.now();
        let mut item = records::to_item(
            &keys::number_check_claim(phone.as_str()),
            &serde_json::json!({ "claimed_at": now }),
        )?;
        item.insert(
            EXPIRES_AT.into(),
            Value::from((now + CLAIM_FOR).timestamp()),
        );
        match self
            .services
            .table
            .put(item, Some(Condition::ItemAbsent))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.is_condition_failure() => {
                // The holder may have cached the answer between our cache read and now.
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn cache(&self, phone: &PhoneNumber, check: &NumberCheck) -> Result<(), AudienceError> {
        let now = self.services.clock.now();
        let mut item = records::to_item(&keys::number_check(phone.as_str()), check)?;
        item.insert(
            EXPIRES_AT.into(),
            Value::from((now + CACHE_FOR).timestamp()),
        );
        item.insert("checked_at".into(), serde_json::to_value(now)?);
        self.services.table.put(item, None).await?;
        Ok(())
    }

    /// Pauses the import (once: only the worker that makes the change sends the alert).
    async fn pause(
        &self,
        import: &ImportRecord,
        error: &ValidatorError,
    ) -> Result<(), AudienceError> {
        let reason = match error {
            ValidatorError::QuotaReached(_) => {
                "the NumVerify monthly quota is used up; upgrade the plan or wait for the next month, then resume".to_string()
            }
            other => format!("NumVerify refused the account ({other}); fix the access key, then resume"),
        };
        let paused = self
            .services
            .table
            .update(
                &keys::import(&import.id),
                Update::new()
                    .set("status", ImportStatus::Paused.as_str())
                    .set("paused_reason", reason.clone())
                    .set(
                        "updated_at",
                        serde_json::to_value(self.services.clock.now())?,
                    ),
                Some(paused_condition()),
            )
            .await;
        match paused {
            Ok(_) => {}
            Err(e) if e.is_condition_failure() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        tracing::warn!(import = %import.id, %error, "import paused");
        crate::metrics::record(crate::metrics::Metric::count(
            "Imports",
            &[("Outcome", "paused")],
        ));
        if self.settings.alert_to.is_empty() {
            tracing::warn!("TRICKLE_ALERT_EMAIL is not set; no alert mail sent");
            return Ok(());
        }
        let email = Email {
            from: self.settings.alert_from.clone(),
            to: self.settings.alert_to.clone(),
            subject: format!("trickle: import of list \"{}\" paused", import.list_name),
            text: format!(
                "The import {} (list \"{}\") stopped validating phone numbers.\n\n\
                 Why: {reason}.\nNo number was marked invalid because of this.\n\n\
                 Resume it with POST /v1/imports/{}/resume once fixed.\n",
                import.id, import.list_name, import.id
            ),
        };
        if let Err(error) = self.services.mailer.send(&email).await {
            tracing::error!(%error, "the pause alert could not be mailed");
        }
        Ok(())
    }
}

#[async_trait]
impl MessageHandler for ValidationWorker {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        let batch = NumberBatch::decode(&message.body)?;
        self.handle_batch(batch).await.map_err(Into::into)
    }
}
