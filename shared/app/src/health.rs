//! The webhook health check: one internal number texts another with a unique token; the check
//! passes only if the matching `message.received` webhook was processed within the verdict delay.
//!
//! Records: the check `HEALTH#<token>`/`CHECK` (gsi1 `HEALTH` / `<started at>` for the history),
//! the alerting state `HEALTH`/`ALERTS`; the last webhook seen is the newest captured event.
//!
//! Why one file: start, verdict and alerting of the check share one record and one alerting
//! state machine; split, each part would need the others to be read.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trickle_domain::health::{next_alert, AlertAction, AlertState, HealthToken};
use trickle_domain::PhoneNumber;

use crate::metrics::{self, Metric};
use crate::ports::table::{Condition, Index, Key, Query, SortKeyCondition, TableError, Update};
use crate::ports::{
    Email, MailError, OutboundSms, OutgoingMessage, QueueError, SmsError, SmsProvider,
};
use crate::queues;
use crate::queues::{HealthVerdict, QueueMessage};
use crate::records;
use crate::worker::{HandlerError, MessageHandler, RetryClass, Retryable};
use crate::Services;

#[derive(Debug, Clone)]
pub struct HealthSettings {
    /// The sending OpenPhone number (`PN…` id or E.164).
    pub sender: String,
    /// The receiving internal number, whose webhook must arrive.
    pub receiver: PhoneNumber,
    pub alert_from: String,
    pub alert_to: Vec<String>,
    /// How long the webhook may take.
    pub verdict_after: Duration,
    /// How often to remind while the check keeps failing.
    pub reminder_every: chrono::Duration,
    /// The OpenPhone key's request budget: the check text takes a slot of the `HEALTH` share.
    /// `None` only where no key is configured (the sandbox, tests).
    pub budget: Option<crate::rate::RateBudget>,
}

impl HealthSettings {
    pub fn new(
        sender: String,
        receiver: PhoneNumber,
        alert_from: String,
        alert_to: Vec<String>,
    ) -> Self {
        Self {
            sender,
            receiver,
            alert_from,
            alert_to,
            verdict_after: Duration::from_secs(120),
            reminder_every: chrono::Duration::hours(6),
            budget: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pending,
    Passed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub token: HealthToken,
    pub status: CheckStatus,
    pub started_at: DateTime<Utc>,
    pub sender: String,
    pub receiver: String,
    #[serde(default)]
    pub provider_accepted: bool,
    pub provider_message_id: Option<String>,
    pub send_error: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub latency_ms: Option<i64>,
    pub judged_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    /// When the last webhook of any kind arrived, as known at the verdict.
    pub last_webhook_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("no health check {0}")]
    NotFound(String),
    #[error("stored health record is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl Retryable for HealthError {
    fn retry_class(&self) -> RetryClass {
        match self {
            HealthError::NotFound(_) | HealthError::Corrupt(_) => RetryClass::Permanent,
            HealthError::Store(_) | HealthError::Queue(_) | HealthError::Mail(_) => {
                RetryClass::Transient
            }
        }
    }
}

fn check_key(token: &HealthToken) -> Key {
    Key::new(format!("HEALTH#{token}"), "CHECK")
}

fn alerts_key() -> Key {
    Key::new("HEALTH", "ALERTS")
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn corrupt(e: serde_json::Error) -> HealthError {
    HealthError::Corrupt(e.to_string())
}

/// Starts one check: records it, schedules its verdict, then sends the token message. The
/// verdict is queued before the send so a crash after sending still ends in a verdict.
/// How long a check waits for its request slot (the health function's deadline is 30 s).
const SLOT_PATIENCE: Duration = Duration::from_secs(15);

pub async fn start_check(
    services: &Services,
    sms: &dyn SmsProvider,
    settings: &HealthSettings,
) -> Result<HealthCheck, HealthError> {
    let token = HealthToken::new();
    let now = services.clock.now();
    let mut check = HealthCheck {
        token: token.clone(),
        status: CheckStatus::Pending,
        started_at: now,
        sender: settings.sender.clone(),
        receiver: settings.receiver.to_string(),
        provider_accepted: false,
        provider_message_id: None,
        send_error: None,
        received_at: None,
        latency_ms: None,
        judged_at: None,
        failure_reason: None,
        last_webhook_at: None,
    };
    let mut item = records::to_item(&check_key(&token), &check).map_err(corrupt)?;
    item.insert(Index::Gsi1.pk_attr().into(), "HEALTH".into());
    item.insert(Index::Gsi1.sk_attr().into(), stamp(now).into());
    services
        .table
        .put(item, Some(Condition::ItemAbsent))
        .await?;
    let verdict = HealthVerdict {
        token: token.clone(),
    }
    .encode();
    services
        .queue
        .send(
            queues::HEALTH,
            OutgoingMessage::new(verdict)
                .delayed(settings.verdict_after)
                .dedup(format!("verdict#{token}")),
        )
        .await?;
    // One slot a second at most for this share: a short wait, but bounded, so the function
    // ends inside its deadline and the verdict names why no text went out.
    let slot = match &settings.budget {
        Some(budget) => {
            budget
                .acquire_within(services, crate::rate::RateShare::HEALTH, SLOT_PATIENCE)
                .await?
        }
        None => crate::rate::Admission::Granted,
    };
    let sent = match slot {
        crate::rate::Admission::Granted => {
            sms.send(&OutboundSms {
                from: settings.sender.clone(),
                to: settings.receiver.clone(),
                content: token.message_text(),
            })
            .await
        }
        crate::rate::Admission::Wait(_) => Err(SmsError::Unavailable(format!(
            "no OpenPhone request slot came free within {} s; the next hourly check tries again",
            SLOT_PATIENCE.as_secs()
        ))),
    };
    let update = match &sent {
        Ok(message) => {
            check.provider_accepted = true;
            check.provider_message_id = Some(message.id.clone());
            Update::new()
                .set("provider_accepted", true)
                .set("provider_message_id", message.id.clone())
        }
        Err(error) => {
            check.send_error = Some(error.to_string());
            Update::new().set("send_error", error.to_string())
        }
    };
    services
        .table
        .update(&check_key(&token), update, Some(Condition::ItemExists))
        .await?;
    Ok(check)
}

/// Records that the check's message came back through the webhook. Returns false for an
/// unknown token or a receipt already recorded (webhooks may be delivered more than once).
pub async fn record_receipt(
    services: &Services,
    token: &HealthToken,
    received_at: DateTime<Utc>,
) -> Result<bool, HealthError> {
    let Some(check) = find(services, token).await? else {
        return Ok(false);
    };
    let latency = (received_at - check.started_at).num_milliseconds().max(0);
    let written = services
        .table
        .update(
            &check_key(token),
            Update::new()
                .set(
                    "received_at",
                    serde_json::to_value(received_at).map_err(corrupt)?,
                )
                .set("latency_ms", latency),
            Some(Condition::All(vec![
                Condition::ItemExists,
                Condition::AttrExists("token".into()),
                Condition::Any(vec![
                    Condition::AttrAbsent("received_at".into()),
                    Condition::Equals("received_at".into(), Value::Null),
                ]),
            ])),
        )
        .await;
    match written {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn find(
    services: &Services,
    token: &HealthToken,
) -> Result<Option<HealthCheck>, HealthError> {
    match services.table.get(&check_key(token)).await? {
        Some(item) => Ok(Some(records::from_item(item).map_err(corrupt)?)),
        None => Ok(None),
    }
}

/// When the last webhook of any kind was captured: the newest event on the all-events index.
async fn last_webhook_at(services: &Services) -> Result<Option<DateTime<Utc>>, HealthError> {
    let page = services
        .table
        .query(
            Query::on_index(Index::Gsi3, crate::webhooks::keys::ALL_EVENTS)
                .backward()
                .limit(1),
        )
        .await?;
    Ok(page
        .items
        .first()
        .and_then(|i| i.get("received_at").and_then(Value::as_str))
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&Utc)))
}

/// Judges a check once its time is up, then alerts on a change of state. Safe to repeat: the
/// verdict is written only from pending, and the alert state remembers the last check it saw.
pub async fn judge(
    services: &Services,
    settings: &HealthSettings,
    token: &HealthToken,
) -> Result<HealthCheck, HealthError> {
    let mut check = find(services, token)
        .await?
        .ok_or_else(|| HealthError::NotFound(token.to_string()))?;
    if check.status == CheckStatus::Pending {
        let limit = settings.verdict_after.as_millis() as i64;
        let passed = check.latency_ms.is_some_and(|l| l <= limit);
        check.status = if passed {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        };
        check.judged_at = Some(services.clock.now());
        check.last_webhook_at = last_webhook_at(services).await?;
        if !passed {
            check.failure_reason = Some(failure_reason(&check, settings));
        }
        let mut update = Update::new()
            .set(
                "status",
                serde_json::to_value(check.status).map_err(corrupt)?,
            )
            .set(
                "judged_at",
                serde_json::to_value(check.judged_at).map_err(corrupt)?,
            )
            .set(
                "last_webhook_at",
                serde_json::to_value(check.last_webhook_at).map_err(corrupt)?,
            );
        if let Some(reason) = &check.failure_reason {
            update = update.set("failure_reason", reason.clone());
        }
        let written = services
            .table
            .update(
                &check_key(token),
                update,
                Some(Condition::equals("status", "pending")),
            )
            .await;
        match written {
            Ok(_) => {
                let name = if passed {
                    "HealthCheckPassed"
                } else {
                    "HealthCheckFailed"
                };
                metrics::record(Metric::count(name, &[]));
                if let Some(latency) = check.latency_ms {
                    metrics::record(Metric::millis("HealthCheckLatency", latency, &[]));
                }
            }
            Err(TableError::ConditionFailed { .. }) => {
                check = find(services, token)
                    .await?
                    .ok_or_else(|| HealthError::NotFound(token.to_string()))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    alert_on_change(services, settings, &check).await?;
    Ok(check)
}

fn failure_reason(check: &HealthCheck, settings: &HealthSettings) -> String {
    match (&check.send_error, check.latency_ms) {
        (Some(error), _) => format!("the provider did not accept the check message: {error}"),
        (None, Some(latency)) => format!(
            "the webhook arrived after {:.1} s, over the {} s limit",
            latency as f64 / 1000.0,
            settings.verdict_after.as_secs()
        ),
        (None, None) => format!(
            "no webhook for the check message within {} s",
            settings.verdict_after.as_secs()
        ),
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredAlerts {
    #[serde(flatten)]
    state: AlertState,
    last_judged: Option<HealthToken>,
    #[serde(default)]
    version: i64,
}

async fn alert_on_change(
    services: &Services,
    settings: &HealthSettings,
    check: &HealthCheck,
) -> Result<(), HealthError> {
    if check.status == CheckStatus::Pending {
        return Ok(());
    }
    let stored: StoredAlerts = match services.table.get(&alerts_key()).await? {
        Some(item) => records::from_item(item).map_err(corrupt)?,
        None => StoredAlerts::default(),
    };
    if stored.last_judged.as_ref() == Some(&check.token) {
        return Ok(());
    }
    let now = services.clock.now();
    let passed = check.status == CheckStatus::Passed;
    let (action, state) = next_alert(&stored.state, passed, now, settings.reminder_every);
    if let Some(email) = alert_email(action, check, &stored.state, settings) {
        // Mail before recording: a crash in between repeats the mail rather than losing it.
        services.mailer.send(&email).await?;
    }
    let next = StoredAlerts {
        state,
        last_judged: Some(check.token.clone()),
        version: stored.version + 1,
    };
    let item = records::to_item(&alerts_key(), &next).map_err(corrupt)?;
    let condition = if stored.version == 0 {
        Condition::ItemAbsent
    } else {
        Condition::equals("version", stored.version)
    };
    match services.table.put(item, Some(condition)).await {
        // Another verdict moved the state first; its own alert decision stands.
        Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn describe_check(check: &HealthCheck) -> String {
    let accepted = if check.provider_accepted {
        format!(
            "yes (message id {})",
            check.provider_message_id.as_deref().unwrap_or("unknown")
        )
    } else {
        format!(
            "no ({})",
            check.send_error.as_deref().unwrap_or("no answer recorded")
        )
    };
    let last_webhook = check
        .last_webhook_at
        .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "never".into());
    format!(
        "Check:              {}\nStarted:            {}\nFrom → to:          {} → {}\nProvider accepted:  {}\nWebhook received:   {}\nLast webhook (any): {}\n",
        check.token,
        check.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        check.sender,
        check.receiver,
        accepted,
        check
            .received_at
            .map(|at| format!(
                "{} ({:.1} s after sending)",
                at.format("%H:%M:%S UTC"),
                check.latency_ms.unwrap_or(0) as f64 / 1000.0
            ))
            .unwrap_or_else(|| "no".into()),
        last_webhook,
    )
}

fn alert_email(
    action: AlertAction,
    check: &HealthCheck,
    before: &AlertState,
    settings: &HealthSettings,
) -> Option<Email> {
    let (subject, opening) = match action {
        AlertAction::Nothing => return None,
        AlertAction::Failure => (
            "trickle: webhook health check FAILED".to_string(),
            format!(
                "The hourly health check failed: {}.\n\nOpenPhone webhooks may not be reaching trickle. Until this is fixed, replies, opt-outs (STOP) and call records may be missing.",
                check.failure_reason.as_deref().unwrap_or("unknown reason")
            ),
        ),
        AlertAction::Reminder => (
            "trickle: webhook health check still failing".to_string(),
            format!(
                "The health check has been failing since {}. Latest failure: {}.",
                before
                    .failing_since
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
                check.failure_reason.as_deref().unwrap_or("unknown reason")
            ),
        ),
        AlertAction::Recovery => (
            "trickle: webhook health check recovered".to_string(),
            format!(
                "The health check passes again (webhook after {:.1} s). It had been failing since {}. Run a reconciliation to fill any gap (POST /v1/reconciliations).",
                check.latency_ms.unwrap_or(0) as f64 / 1000.0,
                before
                    .failing_since
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default()
            ),
        ),
    };
    Some(Email {
        from: settings.alert_from.clone(),
        to: settings.alert_to.clone(),
        subject,
        text: format!(
            "{opening}\n\n{}\nWhat to do: docs/runbook.md, \"Health check failed\".\n",
            describe_check(check)
        ),
    })
}

/// The checks, newest first.
pub async fn history(
    services: &Services,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<HealthCheck>, Option<String>), HealthError> {
    let page = services
        .table
        .query(
            Query::on_index(Index::Gsi1, "HEALTH")
                .sk(SortKeyCondition::Any)
                .backward()
                .limit(limit)
                .after(cursor),
        )
        .await?;
    let checks = page
        .items
        .into_iter()
        .map(records::from_item)
        .collect::<Result<Vec<HealthCheck>, _>>()
        .map_err(corrupt)?;
    Ok((checks, page.next))
}

/// The current health: the last check, the alerting state, the last webhook, queue depths.
pub async fn current(services: &Services, queues: &[&str]) -> Result<Value, HealthError> {
    let (last, _) = history(services, 1, None).await?;
    let alerts: StoredAlerts = match services.table.get(&alerts_key()).await? {
        Some(item) => records::from_item(item).map_err(corrupt)?,
        None => StoredAlerts::default(),
    };
    let mut depths = serde_json::Map::new();
    for queue in queues {
        let depth = services.queue.depth(queue).await.ok();
        depths.insert(
            queue.to_string(),
            serde_json::to_value(depth).unwrap_or(Value::Null),
        );
    }
    Ok(serde_json::json!({
        "status": match (last.first().map(|c| c.status), alerts.state.failing_since) {
            (_, Some(_)) => "failing",
            (Some(CheckStatus::Passed), None) => "passing",
            (Some(CheckStatus::Pending), None) => "pending",
            _ => "unknown",
        },
        "failing_since": alerts.state.failing_since,
        "last_check": last.first(),
        "last_webhook_at": last_webhook_at(services).await?,
        "queue_depths": depths,
    }))
}

/// Judges checks whose verdict message came due (the `health` queue consumer).
pub struct VerdictHandler {
    pub services: Services,
    pub settings: HealthSettings,
}

#[async_trait::async_trait]
impl MessageHandler for VerdictHandler {
    async fn handle(&self, message: &crate::ports::ReceivedMessage) -> Result<(), HandlerError> {
        let verdict = HealthVerdict::decode(&message.body)?;
        match judge(&self.services, &self.settings, &verdict.token).await {
            Ok(check) => {
                tracing::info!(token = %check.token, status = ?check.status, latency_ms = ?check.latency_ms, "health check judged");
                Ok(())
            }
            Err(e) => Err(HandlerError::classified(&e)),
        }
    }
}
