//! One step of a run: walk the provider's history from the checkpoint, insert what is missing
//! through the webhook code path, then settle stuck campaign sends and complete.
//!
//! Why one file: one bounded step of a run (walk, insert, settle, checkpoint) shares its lease and
//! checkpoint handling throughout; the run's record and API live in `run.rs`.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use trickle_domain::campaign::CampaignState;
use trickle_domain::campaign::SendState;
use trickle_domain::health::HealthToken;
use trickle_domain::opt_out_keyword::{classify, Intent};

use super::run::{self, advance_watermark, continue_later, run_key, stamp, RunRecord, RunStatus};
use super::{ReconcileError, ReconcileSettings};
use crate::campaigns::send_worker::{SendWorker, Step};
use crate::campaigns::{self, keys as campaign_keys, SendJob, SendRecord};
use crate::metrics::{self, Metric};
use crate::ports::table::{Condition, Query, SortKeyCondition, Update};
use crate::ports::{CallArtefact, Email, HistoryPage, HistoryQuery};
use crate::rate::{Admission, RateShare};
use crate::records;
use crate::webhooks::activities;
use crate::webhooks::payload::{Envelope, SOURCE_RECONCILIATION};
use crate::webhooks::process::dispatch;
use crate::Services;

/// What a step did.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Out of time: checkpointed, and a continuation is queued.
    Continued,
    Completed(Box<RunRecord>),
    /// Finished or failed already (a duplicate message).
    NothingToDo,
    /// Another step holds the run's lease: try again after it runs out.
    Busy,
}

/// Works on run `run_id` for at most `settings.step_time`.
pub async fn step(
    services: &Services,
    settings: &ReconcileSettings,
    sends: Option<&SendWorker>,
    run_id: &str,
) -> Result<StepOutcome, ReconcileError> {
    let run = run::get(services, run_id).await?;
    if run.status != RunStatus::Running {
        return Ok(StepOutcome::NothingToDo);
    }
    let now = services.clock.now();
    let lease_until = now
        + chrono::Duration::from_std(settings.step_time).unwrap_or_default()
        + settings.lease_margin;
    let leased = services
        .table
        .update(
            &run_key(run_id),
            Update::new()
                .set("lease_until", stamp(lease_until))
                .add("steps", 1),
            Some(Condition::All(vec![
                Condition::equals("status", "running"),
                Condition::Any(vec![
                    Condition::AttrAbsent("lease_until".into()),
                    Condition::less_than("lease_until", stamp(now)),
                ]),
            ])),
        )
        .await;
    match leased {
        Ok(_) => {}
        Err(e) if e.is_condition_failure() => return Ok(StepOutcome::Busy),
        Err(e) => return Err(e.into()),
    }
    let mut walk = Walk {
        services,
        settings,
        run,
        deadline: Instant::now() + settings.step_time,
        progressed: false,
    };
    if !walk.history().await? || !walk.settle_sends(sends).await? {
        walk.save(Update::new().remove("lease_until")).await?;
        continue_later(services, run_id).await?;
        return Ok(StepOutcome::Continued);
    }
    walk.complete().await
}

struct Walk<'a> {
    services: &'a Services,
    settings: &'a ReconcileSettings,
    run: RunRecord,
    deadline: Instant,
    /// Whether this step finished a conversation yet: every step finishes at least one.
    progressed: bool,
}

impl Walk<'_> {
    fn out_of_time(&self) -> bool {
        self.progressed && Instant::now() >= self.deadline
    }

    /// Writes counts, checkpoint, opt-outs and errors (and `extra`) while the run is running.
    async fn save(&self, extra: Update) -> Result<(), ReconcileError> {
        let mut update = extra
            .set(
                "counts",
                serde_json::to_value(&self.run.counts).unwrap_or_default(),
            )
            .set(
                "checkpoint",
                serde_json::to_value(&self.run.checkpoint).unwrap_or_default(),
            )
            .set("opt_outs", json!(self.run.opt_outs))
            .set("errors", json!(self.run.errors));
        if self.run.status != RunStatus::Running {
            update = update.set(
                "status",
                serde_json::to_value(self.run.status).unwrap_or_default(),
            );
        }
        self.services
            .table
            .update(
                &run_key(&self.run.id),
                update,
                Some(Condition::equals("status", "running")),
            )
            .await?;
        Ok(())
    }

    /// One provider request's slot in the reconciliation share of the budget.
    async fn slot(&self) -> Result<(), ReconcileError> {
        loop {
            match self
                .settings
                .budget
                .acquire_within(
                    self.services,
                    RateShare::RECONCILE,
                    StdDuration::from_secs(5),
                )
                .await?
            {
                Admission::Granted => return Ok(()),
                Admission::Wait(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    async fn page(&self, query: HistoryQuery) -> Result<HistoryPage, ReconcileError> {
        self.slot().await?;
        self.services
            .sms
            .history(&query)
            .await
            .map_err(|e| ReconcileError::Provider(e.to_string()))
    }

    async fn artefact(
        &self,
        call_id: &str,
        kind: CallArtefact,
    ) -> Result<Option<Value>, ReconcileError> {
        self.slot().await?;
        self.services
            .sms
            .call_artefact(call_id, kind)
            .await
            .map_err(|e| ReconcileError::Provider(e.to_string()))
    }

    /// Walks every number's conversations from the checkpoint; false when out of time.
    async fn history(&mut self) -> Result<bool, ReconcileError> {
        while self.run.checkpoint.number < self.run.phone_numbers.len() {
            let number = self.run.phone_numbers[self.run.checkpoint.number].clone();
            let page = self
                .page(HistoryQuery::Conversations {
                    phone_number: number.clone(),
                    updated_after: self.run.since,
                    // No upper bound: a conversation touched since the run began stays listed
                    // (its messages and calls are still taken from the window only).
                    updated_before: None,
                    page_token: self.run.checkpoint.page_token.clone(),
                })
                .await?;
            for conversation in &page.items {
                let id = text(conversation, "id").unwrap_or_default();
                if self.run.checkpoint.done.contains(&id) {
                    continue;
                }
                if self.out_of_time() {
                    return Ok(false);
                }
                self.conversation(&number, conversation).await?;
                self.run.counts.conversations_checked += 1;
                self.run.checkpoint.done.push(id);
                self.save(Update::new()).await?;
                self.progressed = true;
            }
            self.run.checkpoint = match page.next_page_token {
                Some(token) => run::Checkpoint {
                    number: self.run.checkpoint.number,
                    page_token: Some(token),
                    done: vec![],
                },
                None => run::Checkpoint {
                    number: self.run.checkpoint.number + 1,
                    page_token: None,
                    done: vec![],
                },
            };
            self.save(Update::new()).await?;
        }
        Ok(!self.out_of_time())
    }

    async fn conversation(
        &mut self,
        number: &str,
        conversation: &Value,
    ) -> Result<(), ReconcileError> {
        let phone_number_id =
            text(conversation, "phoneNumberId").unwrap_or_else(|| number.to_string());
        let participants: Vec<String> = conversation
            .get("participants")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for participant in participants {
            self.messages(&phone_number_id, &participant).await?;
            self.calls(&phone_number_id, &participant).await?;
        }
        Ok(())
    }

    async fn messages(
        &mut self,
        phone_number_id: &str,
        participant: &str,
    ) -> Result<(), ReconcileError> {
        let mut token = None;
        loop {
            let page = self
                .page(HistoryQuery::Messages {
                    phone_number_id: phone_number_id.to_string(),
                    participant: participant.to_string(),
                    created_after: self.run.since,
                    created_before: self.run.until,
                    page_token: token.take(),
                })
                .await?;
            for message in &page.items {
                self.message(message).await?;
            }
            match page.next_page_token {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn message(&mut self, message: &Value) -> Result<(), ReconcileError> {
        self.run.counts.messages_checked += 1;
        let Some(id) = text(message, "id") else {
            return Ok(());
        };
        let body = text(message, "text")
            .or_else(|| text(message, "body"))
            .unwrap_or_default();
        // The health check's own texts are its business, not a conversation.
        if HealthToken::find_in(&body).is_some() {
            return Ok(());
        }
        let incoming = text(message, "direction").as_deref() == Some("incoming");
        let asks_out = incoming
            && matches!(
                classify(&body, true),
                Intent::OptOut | Intent::PossibleOptOut
            );
        if activities::find(self.services, &id).await?.is_some() {
            // Recorded already; but an opt-out whose processing failed after its activity was
            // written would stay unapplied: processing it again is idempotent (the state, the
            // audit and the confirmation are each written once) and applies it if it was not.
            if asks_out {
                self.insert("message.received", message.clone()).await?;
            }
            return Ok(());
        }
        let event_type = if incoming {
            "message.received"
        } else if text(message, "status").as_deref() == Some("delivered") {
            "message.delivered"
        } else {
            // Still on its way: its delivery webhook (or the next run) records it.
            return Ok(());
        };
        self.insert(event_type, message.clone()).await?;
        self.run.counts.messages_inserted += 1;
        if asks_out {
            self.run.counts.opt_outs_found += 1;
            if let Some(from) = text(message, "from") {
                self.run.opt_outs.push(from);
            }
        }
        Ok(())
    }

    async fn calls(
        &mut self,
        phone_number_id: &str,
        participant: &str,
    ) -> Result<(), ReconcileError> {
        let mut token = None;
        loop {
            let page = self
                .page(HistoryQuery::Calls {
                    phone_number_id: phone_number_id.to_string(),
                    participant: participant.to_string(),
                    created_after: self.run.since,
                    created_before: self.run.until,
                    page_token: token.take(),
                })
                .await?;
            for call in &page.items {
                self.call(call).await?;
            }
            match page.next_page_token {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn call(&mut self, call: &Value) -> Result<(), ReconcileError> {
        self.run.counts.calls_checked += 1;
        let Some(id) = text(call, "id") else {
            return Ok(());
        };
        let answered = call.get("answeredAt").is_some_and(|a| !a.is_null());
        let finished = call.get("completedAt").is_some_and(|a| !a.is_null());
        if !finished {
            return Ok(()); // still ringing or in progress: its webhooks (or the next run) come
        }
        let existing = match activities::find(self.services, &id).await? {
            Some(found) => self.services.table.get(&found.key).await?,
            None => None,
        };
        let has = |attr: &str| {
            existing
                .as_ref()
                .and_then(|item| item.get(attr))
                .is_some_and(|v| !v.is_null())
        };
        let mut object = call.clone();
        let mut voicemail = false;
        if !answered && !has("voicemail") {
            if let Some(vm) = self.artefact(&id, CallArtefact::Voicemail).await? {
                if let Some(url) = text(&vm, "recordingUrl").or_else(|| text(&vm, "url")) {
                    object["voicemail"] = json!({"url": url, "duration": vm.get("duration")});
                    voicemail = true;
                }
            }
        }
        if existing.is_none() || voicemail {
            self.insert("call.completed", object).await?;
            if existing.is_none() {
                self.run.counts.calls_inserted += 1;
            }
            if voicemail {
                self.run.counts.voicemails_inserted += 1;
            }
        }
        if !answered {
            return Ok(());
        }
        if !has("recordings") {
            let list = self.artefact(&id, CallArtefact::Recordings).await?;
            let recordings: Vec<Value> = list
                .as_ref()
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter(|r| text(r, "url").is_some())
                        .map(|r| json!({"url": r["url"], "type": r.get("type"), "duration": r.get("duration")}))
                        .collect()
                })
                .unwrap_or_default();
            if !recordings.is_empty() {
                self.insert(
                    "call.recording.completed",
                    json!({"id": id, "recordings": recordings}),
                )
                .await?;
                self.run.counts.recordings_inserted += 1;
            }
        }
        if !has("transcript") {
            if let Some(transcript) = self.artefact(&id, CallArtefact::Transcript).await? {
                if transcript.get("dialogue").is_some_and(Value::is_array) {
                    let mut object = transcript.clone();
                    object["callId"] = json!(id);
                    self.insert("call.transcript.completed", object).await?;
                    self.run.counts.transcripts_inserted += 1;
                }
            }
        }
        if !has("summary") {
            if let Some(summary) = self.artefact(&id, CallArtefact::Summary).await? {
                if summary.get("summary").is_some_and(Value::is_array) {
                    let mut object = summary.clone();
                    object["callId"] = json!(id);
                    self.insert("call.summary.completed", object).await?;
                    self.run.counts.summaries_inserted += 1;
                }
            }
        }
        Ok(())
    }

    /// The webhook code path, for an event nobody delivered.
    async fn insert(&self, event_type: &str, object: Value) -> Result<(), ReconcileError> {
        let envelope = Envelope {
            id: None,
            event_type: event_type.to_string(),
            api_version: None,
            created_at: None,
            object,
            source: SOURCE_RECONCILIATION,
        };
        dispatch(self.services, &self.settings.process, &envelope)
            .await
            .map_err(|e| ReconcileError::Provider(format!("{event_type}: {e}")))
    }

    /// Campaign sends left UNKNOWN, or SENDING past their lease, are settled the send worker's
    /// way: found at the provider → SENT; confirmed absent → PLANNED for the engine to retry.
    /// False when out of time.
    async fn settle_sends(&mut self, worker: Option<&SendWorker>) -> Result<bool, ReconcileError> {
        let Some(worker) = worker else {
            return Ok(true);
        };
        let now = self.services.clock.now();
        let mut after = None;
        loop {
            let page = campaigns::list(self.services, 100, after.take())
                .await
                .map_err(|e| ReconcileError::Provider(e.to_string()))?;
            for campaign in page.items {
                if !matches!(
                    campaign.state,
                    CampaignState::Active | CampaignState::Paused
                ) {
                    continue;
                }
                if !self
                    .settle_campaign(worker, campaign.id.as_str(), now)
                    .await?
                {
                    return Ok(false);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(true),
            }
        }
    }

    async fn settle_campaign(
        &mut self,
        worker: &SendWorker,
        campaign_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ReconcileError> {
        let mut cursor = None;
        loop {
            let page = self
                .services
                .table
                .query(
                    Query::partition(campaign_keys::campaign_pk(campaign_id))
                        .sk(SortKeyCondition::BeginsWith(
                            campaign_keys::SEND_PREFIX.into(),
                        ))
                        .limit(200)
                        .after(cursor.take()),
                )
                .await?;
            for item in page.items {
                let Ok(send) = records::from_item::<SendRecord>(item) else {
                    continue;
                };
                let stuck = match send.state {
                    SendState::Unknown => true,
                    SendState::Sending => send.lease_until.is_some_and(|l| l < now),
                    _ => false,
                };
                if !stuck {
                    continue;
                }
                if self.out_of_time() {
                    return Ok(false);
                }
                let job = SendJob {
                    campaign_id: campaign_id.to_string(),
                    contact_id: send.contact_id.clone(),
                };
                match worker.process(&job).await {
                    Ok(Step::Sent { .. }) => {
                        self.run.counts.sends_resolved_sent += 1;
                        worker.complete_if_last(campaign_id).await;
                    }
                    Ok(Step::Replanned(_)) => self.run.counts.sends_resolved_retry += 1,
                    Ok(_) => {}
                    Err(e) => self
                        .run
                        .errors
                        .push(format!("send {campaign_id}/{}: {e}", send.contact_id)),
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(true),
            }
        }
    }

    async fn complete(mut self) -> Result<StepOutcome, ReconcileError> {
        let finished = self.services.clock.now();
        self.run.status = RunStatus::Completed;
        self.run.finished_at = Some(finished);
        self.run.lease_until = None;
        self.save(
            Update::new()
                .set("finished_at", stamp(finished))
                .remove("lease_until"),
        )
        .await?;
        advance_watermark(self.services, self.run.until, &self.run.id).await?;
        let inserted = self.run.counts.inserted();
        metrics::record(Metric {
            value: inserted as f64,
            ..Metric::count("ReconciliationInserts", &[])
        });
        tracing::info!(run = %self.run.id, inserted, counts = ?self.run.counts, "reconciliation completed");
        if inserted > 0 && !self.settings.alert_to.is_empty() {
            let email = alert_email(&self.run, self.settings);
            if let Err(e) = self.services.mailer.send(&email).await {
                tracing::error!(error = %e, "could not send the reconciliation alert");
            }
        }
        Ok(StepOutcome::Completed(Box::new(self.run)))
    }
}

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_string)
}

fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn alert_email(run: &RunRecord, settings: &ReconcileSettings) -> Email {
    let c = &run.counts;
    let inserted = c.inserted();
    let mut lines = vec![
        format!(
            "Reconciliation found {} in OpenPhone that the webhooks never delivered.",
            counted(inserted, "record", "records")
        ),
        String::new(),
        format!(
            "Window: {} to {} (UTC).",
            run.since.format("%Y-%m-%d %H:%M"),
            run.until.format("%Y-%m-%d %H:%M")
        ),
        String::new(),
        "Added now (marked source: reconciliation):".into(),
    ];
    for (n, one, many) in [
        (c.messages_inserted, "message", "messages"),
        (c.calls_inserted, "call", "calls"),
        (c.voicemails_inserted, "voicemail", "voicemails"),
        (c.recordings_inserted, "call recording", "call recordings"),
        (
            c.transcripts_inserted,
            "call transcript",
            "call transcripts",
        ),
        (c.summaries_inserted, "call summary", "call summaries"),
    ] {
        if n > 0 {
            lines.push(format!("  - {}", counted(n, one, many)));
        }
    }
    if !run.opt_outs.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Opt-outs processed late (these people texted STOP and it only arrived now): {}.",
            run.opt_outs.join(", ")
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "Checked {}, {} and {}.",
        counted(c.conversations_checked, "conversation", "conversations"),
        counted(c.messages_checked, "message", "messages"),
        counted(c.calls_checked, "call", "calls"),
    ));
    lines.push(
        "Lost webhooks usually mean the webhook URL or signing key changed, or the endpoint was \
         down. Check GET /v1/health and the runbook (docs/runbook.md)."
            .into(),
    );
    lines.push(format!("Run: GET /v1/reconciliations/{}", run.id));
    Email {
        from: settings.alert_from.clone(),
        to: settings.alert_to.clone(),
        subject: format!(
            "trickle: {inserted} missed webhook event{} recovered by reconciliation",
            if inserted == 1 { "" } else { "s" }
        ),
        text: lines.join("\n"),
    }
}
