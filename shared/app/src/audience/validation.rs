//! The validation worker: each distinct number of an import is looked up once (NumVerify
//! answers are cached 30 days), at a bounded rate. Quota and key errors pause the import and
//! alert an operator; they never mark a number.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
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
use crate::ports::table::{
    rules, Condition, Item, Key, TxOp, Update, EXPIRES_AT, MAX_TRANSACTION_OPS,
};
use crate::ports::validator::{NumberCheck, ValidatorError};
use crate::queues::{NumberBatch, QueueMessage};
use crate::records;
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

/// How long a NumVerify answer is reused.
pub const CACHE_FOR: chrono::Duration = chrono::Duration::days(30);
/// How long one worker may hold the lookup of a number before another may try.
const CLAIM_FOR: chrono::Duration = chrono::Duration::seconds(60);
/// Lookups of one batch in flight at once (the rate limiter still spaces them).
const LOOKUPS_AT_ONCE: usize = 8;

/// What became of one number's lookup.
enum Answer {
    Checked(NumberCheck),
    /// The validator refused the account (quota, key): the import pauses.
    Paused(ValidatorError),
    Failed(AudienceError),
}

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

/// A cached NumVerify answer as read from the table (an unreadable one counts as none).
fn cached_check(item: Option<Item>) -> Option<NumberCheck> {
    item.and_then(|i| records::from_item(i).ok())
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
        let phones = batch
            .numbers
            .iter()
            .map(|number| {
                PhoneNumber::parse(number)
                    .map_err(|e| AudienceError::Invalid(format!("{number}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A number twice in one batch would be two writes of one item in a transaction.
        let mut seen = std::collections::HashSet::new();
        let phones: Vec<PhoneNumber> = phones
            .into_iter()
            .filter(|p| seen.insert(p.as_str().to_string()))
            .collect();
        // One read for the batch's numbers, one for their cached answers.
        let number_keys: Vec<Key> = phones
            .iter()
            .map(|p| keys::number(&import.id, p.as_str()))
            .collect();
        let judged = self.services.table.get_many(&number_keys).await?;
        let open: Vec<&PhoneNumber> = phones
            .iter()
            .zip(judged)
            .filter(|(_, item)| item.as_ref().is_some_and(|i| !i.contains_key(VERDICT)))
            .map(|(p, _)| p)
            .collect();
        let cache_keys: Vec<Key> = open
            .iter()
            .map(|p| keys::number_check(p.as_str()))
            .collect();
        let cached = self.services.table.get_many(&cache_keys).await?;
        // The numbers not cached are looked up side by side, within the rate.
        let mut answers = Vec::with_capacity(open.len());
        let mut unknown = Vec::new();
        for (phone, cached) in open.into_iter().zip(cached) {
            match cached_check(cached) {
                Some(check) => answers.push((phone, Answer::Checked(check))),
                None => unknown.push(phone),
            }
        }
        answers.extend(self.look_up_all(unknown).await?);
        let mut verdicts = Vec::new();
        let (mut paused, mut failed) = (None, None);
        for (phone, answer) in answers {
            match answer {
                Answer::Checked(check) => verdicts.push((
                    keys::number(&import.id, phone.as_str()),
                    match check.rejection() {
                        None => MOBILE.to_string(),
                        Some(reason) => reason.as_str().to_string(),
                    },
                )),
                Answer::Paused(error) => paused = paused.or(Some(error)),
                Answer::Failed(error) => failed = failed.or(Some(error)),
            }
        }
        // What was answered is kept, whatever happened to the rest of the batch.
        self.mark(&import.id, verdicts).await?;
        if let Some(error) = paused {
            return self.pause(&import, &error).await;
        }
        if let Some(error) = failed {
            return Err(error);
        }
        maybe_finish(&self.services, &import.id).await
    }

    /// Numbers no cache answers, looked up side by side under their claims, so two imports
    /// holding the same number pay for one lookup. Claims, answers and releases are written a
    /// batch at a time.
    async fn look_up_all<'p>(
        &self,
        phones: Vec<&'p PhoneNumber>,
    ) -> Result<Vec<(&'p PhoneNumber, Answer)>, AudienceError> {
        let mut out = Vec::with_capacity(phones.len());
        if phones.is_empty() {
            return Ok(out);
        }
        let claimed = self.claim_all(&phones).await?;
        let mut mine = Vec::with_capacity(phones.len());
        for (phone, claimed) in phones.into_iter().zip(claimed) {
            if claimed {
                mine.push(phone);
            } else {
                out.push((
                    phone,
                    Answer::Failed(AudienceError::Provider(format!(
                        "{phone} is being looked up for another import; retrying for its answer"
                    ))),
                ));
            }
        }
        // Another worker may have answered between our cache read and the claim.
        let cache_keys: Vec<Key> = mine
            .iter()
            .map(|p| keys::number_check(p.as_str()))
            .collect();
        let again = self.services.table.get_many(&cache_keys).await?;
        let mut ask = Vec::with_capacity(mine.len());
        for (phone, cached) in mine.iter().zip(again) {
            match cached_check(cached) {
                Some(check) => out.push((*phone, Answer::Checked(check))),
                None => ask.push(self.ask(phone)),
            }
        }
        let fresh: Vec<_> = stream::iter(ask).buffered(LOOKUPS_AT_ONCE).collect().await;
        let mut writes = Vec::with_capacity(fresh.len() + mine.len());
        for (phone, answer) in &fresh {
            if let Ok(check) = answer {
                writes.push(vec![TxOp::Put {
                    item: self.cache_item(phone, check)?,
                    condition: None,
                }]);
            }
        }
        for phone in &mine {
            writes.push(vec![TxOp::Delete {
                key: keys::number_check_claim(phone.as_str()),
                condition: None,
            }]);
        }
        for tx in rules::pack(writes) {
            if let Err(error) = self.services.table.transact(tx).await {
                // Claims left behind would hold this import's own retry off for a minute.
                for phone in &mine {
                    let claim = keys::number_check_claim(phone.as_str());
                    let _ = self.services.table.delete(&claim, None).await;
                }
                return Err(error.into());
            }
        }
        for (phone, answer) in fresh {
            out.push((
                phone,
                match answer {
                    Ok(check) => Answer::Checked(check),
                    Err(error) if error.pauses() => Answer::Paused(error),
                    Err(error) => Answer::Failed(AudienceError::Provider(error.to_string())),
                },
            ));
        }
        Ok(out)
    }

    /// One lookup, within the rate.
    async fn ask<'p>(
        &self,
        phone: &'p PhoneNumber,
    ) -> (&'p PhoneNumber, Result<NumberCheck, ValidatorError>) {
        self.limiter.wait().await;
        (phone, self.services.validator.check(phone).await)
    }

    /// Records the verdicts and counts them on the import, in one transaction per hundred;
    /// when another delivery judged one of them first, number by number.
    async fn mark(
        &self,
        import_id: &str,
        verdicts: Vec<(Key, String)>,
    ) -> Result<(), AudienceError> {
        let verdict_op = |key: &Key, verdict: &str| TxOp::Update {
            key: key.clone(),
            update: Update::new().set(VERDICT, verdict.to_string()),
            condition: Some(Condition::AttrAbsent(VERDICT.into())),
        };
        let counted = |n: usize| TxOp::Update {
            key: keys::import(import_id),
            update: Update::new().add("validated", n as i64),
            condition: None,
        };
        for chunk in verdicts.chunks(MAX_TRANSACTION_OPS - 1) {
            let mut ops: Vec<TxOp> = chunk.iter().map(|(k, v)| verdict_op(k, v)).collect();
            ops.push(counted(chunk.len()));
            match self.services.table.transact(ops).await {
                Ok(()) => continue,
                Err(e) if e.is_condition_failure() => {}
                Err(e) => return Err(e.into()),
            }
            for (key, verdict) in chunk {
                let one = vec![verdict_op(key, verdict), counted(1)];
                match self.services.table.transact(one).await {
                    Ok(()) => {}
                    Err(e) if e.is_condition_failure() => {} // judged by another delivery
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Takes the lookup leases of the numbers, in one transaction when no other worker holds
    /// any of them, else one by one; answers which were taken.
    async fn claim_all(&self, phones: &[&PhoneNumber]) -> Result<Vec<bool>, AudienceError> {
        let items = phones
            .iter()
            .map(|p| self.claim_item(p))
            .collect::<Result<Vec<_>, _>>()?;
        let groups: Vec<Vec<TxOp>> = items
            .iter()
            .map(|item| {
                vec![TxOp::Put {
                    item: item.clone(),
                    condition: Some(Condition::ItemAbsent),
                }]
            })
            .collect();
        let together = rules::pack(groups);
        if together.len() == 1 {
            match self
                .services
                .table
                .transact(together.into_iter().flatten().collect())
                .await
            {
                Ok(()) => return Ok(vec![true; phones.len()]),
                Err(e) if e.is_condition_failure() => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut claimed = Vec::with_capacity(items.len());
        for item in items {
            match self
                .services
                .table
                .put(item, Some(Condition::ItemAbsent))
                .await
            {
                Ok(()) => claimed.push(true),
                // The holder may cache the answer meanwhile; the retry reads it.
                Err(e) if e.is_condition_failure() => claimed.push(false),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(claimed)
    }

    /// The lookup lease of a number, expiring so a crashed holder does not keep it.
    fn claim_item(&self, phone: &PhoneNumber) -> Result<Item, AudienceError> {
        let now = self.services.clock.now();
        let mut item = records::to_item(
            &keys::number_check_claim(phone.as_str()),
            &serde_json::json!({ "claimed_at": now }),
        )?;
        item.insert(
            EXPIRES_AT.into(),
            Value::from((now + CLAIM_FOR).timestamp()),
        );
        Ok(item)
    }

    /// A NumVerify answer as the cache keeps it for [`CACHE_FOR`].
    fn cache_item(&self, phone: &PhoneNumber, check: &NumberCheck) -> Result<Item, AudienceError> {
        let now = self.services.clock.now();
        let mut item = records::to_item(&keys::number_check(phone.as_str()), check)?;
        item.insert(
            EXPIRES_AT.into(),
            Value::from((now + CACHE_FOR).timestamp()),
        );
        item.insert("checked_at".into(), serde_json::to_value(now)?);
        Ok(item)
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
