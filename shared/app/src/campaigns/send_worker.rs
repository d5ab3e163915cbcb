//! The send worker: one `sends` queue message → at most one provider call, recorded.
//!
//! Every arrow of the send state machine is one conditional write; the claim (PLANNED →
//! SENDING with a lease) also checks, in the same transaction, that the campaign is active and
//! the contact neither opted out nor suppressed at that moment. A send that may have reached the
//! provider (timeout, 5xx, a crash after the call, an expired lease) is only ever resolved by a
//! provider lookup — never resent blindly. The decisions themselves are in [`super::send_rules`].
//!
//! Why one file: every arrow of one send's state machine is here, so a reader can check that
//! each is one conditional write and that nothing resolves an uncertain send but a lookup.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use trickle_domain::campaign::counts::{FailureKind, LocalSendTime};
use trickle_domain::campaign::SendWindow;
use trickle_domain::campaign::{
    compose, recipient_zone, Campaign, CampaignState, QuietHours, SendState, Variant,
};
use trickle_domain::log_privacy::redact_phones;
use trickle_domain::{Contact, PhoneNumber};

use super::error_guard::{Outcome, Verdict};
use super::send_rules::{self, AfterSend, NextStep, Resolution, SendSettings};
use super::sender_ids::{SenderId, SenderIds};
use super::sends::{SendJob, SendRecord};
use super::{audience, keys, lifecycle, store, CampaignsError};
use crate::metrics::{self, Metric};
use crate::ports::mailer::Email;
use crate::ports::queue::{OutgoingMessage, ReceivedMessage};
use crate::ports::sms::{MessageQuery, OutboundSms, SmsProvider};
use crate::ports::table::{Condition, Index, TableError, TxOp, Update};
use crate::queues;
use crate::queues::QueueMessage;
use crate::rate::{Admission, DailyCap, RateBudget, RateShare};
use crate::records;
use crate::send_counters;
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

/// Why a send to someone whose local time cannot be known is held.
pub const UNKNOWN_ZONE: &str = "the recipient's time zone is unknown (a number outside North America, or a North American number whose area code has no zone): add a time_zone to the contact, such as Europe/London, and plan it again";

/// Where alerts (an A2P refusal pausing a campaign) go.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub from: String,
    pub to: Vec<String>,
}

/// A message the provider accepted for a send, as the contact's timeline records it.
struct SentMessage<'a> {
    provider_id: &'a str,
    from: &'a str,
    to: &'a PhoneNumber,
    text: &'a str,
    /// The recipient's zone, for the local time it went out at (the best-time counters).
    zone: chrono_tz::Tz,
}

impl SentMessage<'_> {
    fn activity_fields(
        &self,
        campaign: &Campaign,
        at: DateTime<Utc>,
    ) -> serde_json::Map<String, Value> {
        let Value::Object(map) = serde_json::json!({
            "kind": "message",
            "direction": "outgoing",
            "source": "campaign",
            "phone": self.to.as_str(),
            "text": self.text,
            "status": "sent",
            "from": self.from,
            "to": [self.to.as_str()],
            "campaign_id": campaign.id.as_str(),
            "campaign_name": campaign.settings.name,
            "occurred_at": crate::webhooks::keys::sort_time(at),
        }) else {
            unreachable!("a JSON object literal")
        };
        map
    }
}

#[derive(Clone)]
pub struct SendWorker {
    pub services: Services,
    pub sms: Arc<dyn SmsProvider>,
    pub settings: SendSettings,
    pub alerts: AlertSettings,
    pub limits: SendLimits,
}

/// The provider's limits the worker keeps (docs/rate-limits.md).
#[derive(Debug, Clone)]
pub struct SendLimits {
    /// The request budget of the OpenPhone API key, shared with every other provider caller.
    pub budget: RateBudget,
    /// Messages per sender number per local day (in the campaign's zone).
    pub daily_cap: DailyCap,
    /// How long one message may wait in the worker for a budget slot before it is re-queued.
    pub patience: StdDuration,
    /// The sending numbers' provider ids, asked once per process.
    pub sender_ids: SenderIds,
}

impl SendLimits {
    pub fn new(api_key: &str) -> Self {
        Self {
            budget: RateBudget::for_api_key(api_key, crate::rate::budget::DEFAULT_PER_SECOND),
            daily_cap: DailyCap::default(),
            patience: StdDuration::from_secs(2),
            sender_ids: SenderIds::default(),
        }
    }
}

/// What handling one message did (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Dropped(&'static str),
    Waiting(StdDuration),
    Sent {
        provider_id: String,
    },
    Replanned(String),
    Failed(String),
    Unknown(String),
    /// Opted out or suppressed after planning: FAILED without a provider call.
    Withheld(&'static str),
    /// The sender's daily cap is full: PLANNED, not before the next local day.
    Deferred(DateTime<Utc>),
}

impl Step {
    /// The send status a step settled on, for the `Sends` metric (`None`: nothing settled).
    pub fn status(&self) -> Option<&'static str> {
        match self {
            Step::Sent { .. } => Some("SENT"),
            Step::Failed(_) | Step::Withheld(_) => Some("FAILED"),
            Step::Unknown(_) => Some("UNKNOWN"),
            Step::Replanned(_) => Some("REPLANNED"),
            Step::Deferred(_) => Some("DEFERRED"),
            Step::Dropped(_) | Step::Waiting(_) => None,
        }
    }
}

#[async_trait]
impl MessageHandler for SendWorker {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        let job = SendJob::decode(&message.body)?;
        let step = self
            .process(&job)
            .await
            .map_err(|e| HandlerError::classified(&e))?;
        if let Some(status) = step.status() {
            metrics::record(Metric::count("Sends", &[("Status", status)]));
        }
        tracing::info!(campaign = %job.campaign_id, contact = %job.contact_id, step = %redact_phones(&format!("{step:?}")), "send handled");
        if step.status().is_some() {
            self.complete_if_last(&job.campaign_id).await;
        }
        Ok(())
    }
}

impl SendWorker {
    /// A settled send may be the campaign's last: complete it now rather than at its next
    /// scheduled slot. `complete_if_done` reads the campaign and the list's end first (three
    /// small reads) and scans the sends only once the list is used up. Failures are left to the
    /// next tick.
    pub async fn complete_if_last(&self, campaign_id: &str) {
        // One read answers "not yet" while any send is open: scanning every send after each
        // settled one made the last run of a large campaign quadratic.
        match super::planner::open_sends(&self.services, campaign_id).await {
            Ok(Some(open)) if open > 0 => return,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(campaign = %campaign_id, %error, "completion check failed");
                return;
            }
        }
        match super::planner::complete_if_done(&self.services, campaign_id).await {
            Ok(true) => tracing::info!(campaign = %campaign_id, "campaign completed"),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(campaign = %campaign_id, %error, "completion check failed")
            }
        }
    }

    pub async fn process(&self, job: &SendJob) -> Result<Step, CampaignsError> {
        let services = &self.services;
        let now = services.clock.now();
        let Some(item) = services
            .table
            .get(&keys::send(&job.campaign_id, &job.contact_id))
            .await?
        else {
            return Ok(Step::Dropped("no such send"));
        };
        let send: SendRecord = records::from_item(item).map_err(store::corrupt)?;
        let campaign = match store::load(services, &job.campaign_id).await {
            Ok(read) => read.campaign,
            Err(CampaignsError::NotFound) => return Ok(Step::Dropped("no such campaign")),
            Err(e) => return Err(e),
        };
        let phone = PhoneNumber::parse(&send.phone).map_err(store::corrupt)?;
        // The window needs the contact's address and declared zone: read for a send still to
        // claim. No zone known → no window here; the claim path holds the send.
        let contact = match send.state {
            SendState::Planned => audience::contact(services, &send.contact_id).await?,
            _ => None,
        };
        let quiet = contact
            .as_ref()
            .and_then(|c| QuietHours::for_contact(&phone, &c.attributes))
            .map_or(SendWindow::Now, |q| q.check(now));
        match send_rules::next_step(&send, campaign.state, quiet, now) {
            NextStep::Drop(why) => Ok(Step::Dropped(why)),
            NextStep::Wait(delay) => {
                self.requeue(job, delay).await?;
                Ok(Step::Waiting(delay))
            }
            NextStep::Resolve => self.resolve(job, &send, &campaign, &phone, now).await,
            NextStep::Claim => {
                self.slot_then_claim(job, &send, &campaign, &phone, contact)
                    .await
            }
        }
    }

    /// The rate slot first, then the claim, judged again at the time the slot came: a send
    /// checked at 20:59:59 that waited for its slot must not leave at 21:00:01, and the claim's
    /// transaction checks the opt-out and the campaign's state after the wait, not before it.
    /// (A slot whose claim then fails is spent unused; the next send takes the next one.)
    async fn slot_then_claim(
        &self,
        job: &SendJob,
        send: &SendRecord,
        campaign: &Campaign,
        phone: &PhoneNumber,
        contact: Option<Contact>,
    ) -> Result<Step, CampaignsError> {
        let services = &self.services;
        let Some(contact) = contact else {
            return self
                .withhold(send, "contact missing", "the contact no longer exists")
                .await;
        };
        let Some(window) = QuietHours::for_contact(phone, &contact.attributes) else {
            return self.withhold(send, "time zone unknown", UNKNOWN_ZONE).await;
        };
        if let Admission::Wait(wait) = self
            .limits
            .budget
            .acquire_within(services, RateShare::SENDS, self.limits.patience)
            .await?
        {
            let delay = wait.max(StdDuration::from_secs(1));
            self.requeue(job, delay).await?;
            return Ok(Step::Waiting(delay));
        }
        let now = services.clock.now();
        match send_rules::next_step(send, campaign.state, window.check(now), now) {
            NextStep::Claim => {
                self.claim_and_send(job, send, campaign, phone, &contact, now)
                    .await
            }
            NextStep::Wait(delay) => {
                self.requeue(job, delay).await?;
                Ok(Step::Waiting(delay))
            }
            NextStep::Drop(why) => Ok(Step::Dropped(why)),
            NextStep::Resolve => self.resolve(job, send, campaign, phone, now).await,
        }
    }

    async fn claim_and_send(
        &self,
        job: &SendJob,
        send: &SendRecord,
        campaign: &Campaign,
        phone: &PhoneNumber,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> Result<Step, CampaignsError> {
        let services = &self.services;
        let settings = &campaign.settings;
        let template = match (send.variant, &settings.message_b) {
            (Variant::B, Some(b)) => b,
            _ => &settings.message_a,
        };
        let rendered = template.render(contact);
        // Activation checks tokens for as long as it may; a contact it did not reach, or one
        // edited since, is held here rather than texted "Hi ,".
        if let Some(token) = rendered.unresolved.first() {
            let error = format!(
                "the message needs {} and this contact has no value for it: fill it in, or add a \
                 fallback such as {{{{{token}|there}}}}, then release the contact from the review \
                 list",
                rendered.unresolved.join(", ")
            );
            return self.withhold(send, "a token has no value", &error).await;
        }
        let rendered = rendered.text;
        // Every campaign send is a first message: contacts with any history are never planned.
        let text = compose(
            &rendered,
            settings.business_name.as_deref().unwrap_or(""),
            &settings.opt_out_footer,
            true,
        );
        let sender = settings.sender.to_string();
        let zone = settings.schedule.zone();
        let day = DailyCap::day(zone, now);
        let attempt = send.attempts + 1;
        let lease_until = now + self.settings.lease;
        let claim = vec![
            TxOp::Update {
                key: keys::send(&send.campaign_id, &send.contact_id),
                update: Update::new()
                    .set("state", SendState::Sending.as_str())
                    .set("claimed_at", keys::time_key(now))
                    .set("lease_until", keys::time_key(lease_until))
                    .set("updated_at", keys::time_key(now))
                    .set("text", text.clone())
                    .set("sender", sender.clone())
                    .set("attempts", attempt),
                condition: Some(Condition::All(vec![
                    Condition::equals("state", SendState::Planned.as_str()),
                    Condition::equals("attempts", send.attempts),
                ])),
            },
            TxOp::Check {
                key: keys::campaign(&send.campaign_id),
                condition: Condition::equals(store::STATE, CampaignState::Active.as_str()),
            },
            TxOp::Check {
                key: keys::opt_out(phone.as_str()),
                condition: Condition::Any(vec![
                    Condition::ItemAbsent,
                    Condition::NotEquals("status".into(), Value::from("opted_out")),
                ]),
            },
            TxOp::Check {
                key: keys::suppression(phone.as_str()),
                condition: Condition::ItemAbsent,
            },
            // Counted against the sender's day in the same write, so the day never passes its cap.
            self.limits.daily_cap.count_op(&sender, day, now),
        ];
        match services.table.transact(claim).await {
            Ok(()) => {}
            Err(TableError::TransactionCancelled { failed }) => {
                if failed.contains(&0) {
                    return Ok(Step::Dropped("claimed or settled elsewhere"));
                }
                if failed.contains(&1) {
                    return Ok(Step::Dropped("campaign not active"));
                }
                let why = if failed.contains(&2) {
                    "opted out"
                } else if failed.contains(&3) {
                    "suppressed"
                } else {
                    return self.defer_to_next_day(job, send, zone, day, now).await;
                };
                return self.withhold(send, why, why).await;
            }
            Err(e) => return Err(e.into()),
        }
        let claimed = SendRecord {
            attempts: attempt,
            state: SendState::Sending,
            ..send.clone()
        };
        let outbound = OutboundSms {
            from: settings.sender.to_string(),
            to: phone.clone(),
            content: text,
        };
        let result = self.sms.send(&outbound).await;
        match send_rules::after_send(&result, attempt, &self.settings) {
            AfterSend::Sent { provider_id } => {
                let sent = SentMessage {
                    provider_id: &provider_id,
                    from: &outbound.from,
                    to: phone,
                    text: &outbound.content,
                    zone: recipient_zone(phone, &contact.attributes).unwrap_or(zone),
                };
                self.mark_sent(&claimed, campaign, sent, now).await?;
                self.judge(campaign, Outcome::Sent, "").await?;
                Ok(Step::Sent { provider_id })
            }
            AfterSend::Replan { delay, reason } => {
                self.unclaim(&claimed, &reason, &sender, day).await?;
                self.requeue(job, delay).await?;
                Ok(Step::Replanned(reason))
            }
            AfterSend::Failed { reason } => {
                self.settle(
                    &claimed,
                    attempt,
                    SendState::Sending,
                    SendState::Failed,
                    |u| u.set("error", reason.clone()).remove("lease_until"),
                )
                .await?;
                self.judge(campaign, Outcome::Failed, &reason).await?;
                Ok(Step::Failed(reason))
            }
            AfterSend::SenderRefused { reason } => {
                // Not this message's fault: it waits, PLANNED, for the operator's fix, and the
                // campaign stops at once rather than fail its sends one by one.
                self.unclaim(&claimed, &reason, &sender, day).await?;
                let what = if reason.starts_with("401") {
                    "the OpenPhone API key was refused"
                } else if reason.to_lowercase().contains("a2p") {
                    "the sending number is not registered for A2P messaging"
                } else {
                    "OpenPhone refused the sending number (it is not a number this account may send from)"
                };
                let text = format!(
                    "The provider refused a message of campaign \"{name}\" ({id}): {what}.\n\n    {reason}\n\nThe campaign is paused and its sends are held; none is lost or counted as failed. Fix the sender (or the key, or the registration), then resume the campaign: the held sends go out then.",
                    name = campaign.settings.name,
                    id = campaign.id,
                );
                self.pause_and_alert(campaign, "sending number refused", text)
                    .await?;
                Ok(Step::Replanned(reason))
            }
            AfterSend::Unknown { reason } => {
                self.settle(
                    &claimed,
                    attempt,
                    SendState::Sending,
                    SendState::Unknown,
                    |u| u.set("error", reason.clone()),
                )
                .await?;
                let settled_at = now + self.settings.settle;
                self.requeue(job, send_rules::delay_until(now, settled_at))
                    .await?;
                Ok(Step::Unknown(reason))
            }
        }
    }

    /// UNKNOWN or an expired SENDING: the provider's messages decide.
    async fn resolve(
        &self,
        job: &SendJob,
        send: &SendRecord,
        campaign: &Campaign,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<Step, CampaignsError> {
        let claimed_at = send.claimed_at.unwrap_or(send.updated_at);
        let text = send.text.clone().unwrap_or_default();
        // The number this send went out from, by its provider id.
        let sender = send
            .sender
            .clone()
            .unwrap_or_else(|| campaign.settings.sender.to_string());
        let phone_number_id = match self
            .limits
            .sender_ids
            .id_of(
                &self.services,
                self.sms.as_ref(),
                &self.limits.budget,
                self.limits.patience,
                &sender,
            )
            .await?
        {
            SenderId::Id(id) => id,
            SenderId::Wait(wait) => {
                let delay = wait.max(StdDuration::from_secs(1));
                self.requeue(job, delay).await?;
                return Ok(Step::Waiting(delay));
            }
        };
        let query = MessageQuery {
            phone_number_id,
            participant: phone.clone(),
            created_after: Some(claimed_at - chrono::Duration::minutes(1)),
            created_before: None,
        };
        if let Admission::Wait(wait) = self
            .limits
            .budget
            .acquire_within(&self.services, RateShare::RECONCILE, self.limits.patience)
            .await?
        {
            let delay = wait.max(StdDuration::from_secs(1));
            self.requeue(job, delay).await?;
            return Ok(Step::Waiting(delay));
        }
        let messages = self
            .sms
            .list_messages(&query)
            .await
            .map_err(|e| CampaignsError::Provider(format!("lookup failed: {e}")))?;
        match send_rules::resolve(&messages, &text, claimed_at, now, &self.settings) {
            Resolution::Sent { provider_id } => {
                let sent = SentMessage {
                    provider_id: &provider_id,
                    from: &sender,
                    to: phone,
                    text: &text,
                    zone: recipient_zone(phone, &Default::default())
                        .unwrap_or_else(|| campaign.settings.schedule.zone()),
                };
                self.mark_sent(send, campaign, sent, now).await?;
                self.judge(campaign, Outcome::Sent, "").await?;
                Ok(Step::Sent { provider_id })
            }
            Resolution::Replan => {
                self.settle(send, send.attempts, send.state, SendState::Planned, |u| {
                    u.set("error", "not found at the provider after the settle delay")
                        .remove("lease_until")
                })
                .await?;
                self.requeue(job, StdDuration::from_secs(1)).await?;
                Ok(Step::Replanned("absent at the provider".into()))
            }
            Resolution::LookAgain(delay) => {
                self.requeue(job, delay).await?;
                Ok(Step::Waiting(delay))
            }
        }
    }

    /// A planned send that must not go: FAILED with the reason, without a provider call.
    async fn withhold(
        &self,
        send: &SendRecord,
        step: &'static str,
        error: &str,
    ) -> Result<Step, CampaignsError> {
        self.settle(
            send,
            send.attempts,
            SendState::Planned,
            SendState::Failed,
            |u| u.set("error", error),
        )
        .await?;
        Ok(Step::Withheld(step))
    }

    /// The cap is full today: PLANNED with `not_before` at the next local midnight, and back on
    /// the queue (it hops at the queue's 15-minute ceiling until then, reading one item a hop).
    async fn defer_to_next_day(
        &self,
        job: &SendJob,
        send: &SendRecord,
        zone: chrono_tz::Tz,
        day: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Step, CampaignsError> {
        let next_day = crate::rate::daily_cap::next_day_start(zone, day);
        self.settle(
            send,
            send.attempts,
            SendState::Planned,
            SendState::Planned,
            |u| {
                u.set("not_before", keys::time_key(next_day))
                    .set("error", "the sender's daily cap is reached")
            },
        )
        .await?;
        self.requeue(job, send_rules::delay_until(now, next_day))
            .await?;
        Ok(Step::Deferred(next_day))
    }

    /// The provider did not act on a claimed send: PLANNED again with the reason, and the day's
    /// unit of the sender's cap goes back.
    async fn unclaim(
        &self,
        claimed: &SendRecord,
        reason: &str,
        sender: &str,
        day: chrono::NaiveDate,
    ) -> Result<(), CampaignsError> {
        self.settle(
            claimed,
            claimed.attempts,
            SendState::Sending,
            SendState::Planned,
            |u| u.set("error", reason).remove("lease_until"),
        )
        .await?;
        self.limits
            .daily_cap
            .give_back(&self.services, sender, day)
            .await?;
        Ok(())
    }

    /// SENDING/UNKNOWN → SENT, and the message becomes an outbound activity of the contact in
    /// the same transaction: "previous communication" then holds for every later campaign
    /// whatever webhooks are configured. If a webhook recorded the message first, its activity
    /// is kept and tagged with the campaign.
    async fn mark_sent(
        &self,
        send: &SendRecord,
        campaign: &Campaign,
        sent: SentMessage<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), CampaignsError> {
        use crate::webhooks::{activities, keys as activity_keys};
        let provider_id = sent.provider_id;
        let sent_local = LocalSendTime::at(now, sent.zone).encode();
        let sent_update = |u: Update| {
            u.set("provider_id", provider_id)
                .set("sent_at", keys::time_key(now))
                .set(send_counters::attrs::SENT_LOCAL, sent_local.clone())
                .set(Index::Gsi3.pk_attr(), format!("SENDMSG#{provider_id}"))
                .set(Index::Gsi3.sk_attr(), "SEND")
                .remove("lease_until")
                .remove("error")
        };
        let existing = activities::find(&self.services, provider_id).await?;
        let mut recorded_here = false;
        if existing.is_none() {
            let key = activity_keys::activity(&send.contact_id, now, provider_id);
            let fields = sent.activity_fields(campaign, now);
            let [guard, activity] =
                activities::creation_ops(&send.contact_id, provider_id, &key, fields);
            let send_key = keys::send(&send.campaign_id, &send.contact_id);
            let update = sent_update(
                Update::new()
                    .set("state", SendState::Sent.as_str())
                    .set("updated_at", keys::time_key(now)),
            );
            let before = records::to_item(&send_key, send).map_err(store::corrupt)?;
            let counted = send_counters::ops(&before, &send_counters::updated(&before, &update));
            let state = TxOp::Update {
                key: send_key,
                update,
                condition: Some(Condition::All(vec![
                    Condition::equals("state", send.state.as_str()),
                    Condition::equals("attempts", send.attempts),
                ])),
            };
            let mut ops = vec![state, guard, activity];
            ops.extend(counted);
            match self.services.table.transact(ops).await {
                Ok(()) => {
                    recorded_here = true;
                    if !send.state.is_final() {
                        self.one_less_open(&send.campaign_id).await;
                    }
                }
                Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
                    tracing::info!(campaign = %send.campaign_id, contact = %send.contact_id, "send moved elsewhere meanwhile");
                    return Ok(());
                }
                // A webhook recorded the message meanwhile: settle below, keep its activity.
                Err(TableError::TransactionCancelled { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !recorded_here {
            self.settle(
                send,
                send.attempts,
                send.state,
                SendState::Sent,
                sent_update,
            )
            .await?;
            if let Some(found) = activities::find(&self.services, provider_id).await? {
                self.services
                    .table
                    .update(
                        &found.key,
                        Update::new().set("campaign_id", send.campaign_id.as_str()),
                        Some(Condition::ItemExists),
                    )
                    .await
                    .or_else(|e| {
                        if e.is_condition_failure() {
                            Ok(Default::default())
                        } else {
                            Err(e)
                        }
                    })?;
            }
        }
        // Lets a reply from the contact be attributed to this campaign (reply detection).
        crate::webhooks::replies::record_campaign_contact(
            &self.services,
            &send.contact_id,
            &send.campaign_id,
            now,
        )
        .await?;
        Ok(())
    }

    /// One arrow of the state machine, conditional on the state and attempt that were read.
    /// Losing the condition means another worker already moved the send: nothing to do.
    async fn settle(
        &self,
        send: &SendRecord,
        attempt: u32,
        from: SendState,
        to: SendState,
        extra: impl FnOnce(Update) -> Update,
    ) -> Result<(), CampaignsError> {
        let now = self.services.clock.now();
        let mut update = extra(
            Update::new()
                .set("state", to.as_str())
                .set("updated_at", keys::time_key(now)),
        );
        if to == SendState::Failed {
            let kind = FailureKind::of_failure_from(from);
            update = update.set(send_counters::attrs::FAILURE, kind.as_str());
        }
        let condition = Condition::All(vec![
            Condition::equals("state", from.as_str()),
            Condition::equals("attempts", attempt),
        ]);
        let key = keys::send(&send.campaign_id, &send.contact_id);
        let before = SendRecord {
            state: from,
            ..send.clone()
        };
        let before = records::to_item(&key, &before).map_err(store::corrupt)?;
        let counted = send_counters::ops(&before, &send_counters::updated(&before, &update));
        // A change that moves no counter (PLANNED → PLANNED) stays a single conditional update.
        let written = if counted.is_empty() {
            let updated = self.services.table.update(&key, update, Some(condition));
            updated.await.map(drop)
        } else {
            let mut ops = vec![TxOp::Update {
                key,
                update,
                condition: Some(condition),
            }];
            ops.extend(counted);
            self.services.table.transact(ops).await
        };
        match written {
            Ok(()) => {
                if !from.is_final() && to.is_final() {
                    self.one_less_open(&send.campaign_id).await;
                }
                Ok(())
            }
            Err(e) if e.is_condition_failure() => {
                tracing::info!(campaign = %send.campaign_id, contact = %send.contact_id, ?from, ?to, "send moved elsewhere meanwhile");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Lowers the campaign's count of sends not yet final, after a send turned final. Best
    /// effort: a count left high only means the tick, not this worker, completes the campaign.
    async fn one_less_open(&self, campaign_id: &str) {
        let lowered = self
            .services
            .table
            .update(
                &keys::tally(campaign_id),
                Update::new().add(keys::OPEN_SENDS, -1),
                Some(Condition::ItemExists),
            )
            .await;
        if let Err(error) = lowered {
            if !error.is_condition_failure() {
                tracing::warn!(campaign = %campaign_id, %error, "open sends not lowered; the tick completes the campaign");
            }
        }
    }

    async fn requeue(&self, job: &SendJob, delay: StdDuration) -> Result<(), CampaignsError> {
        // No dedup id: a retry must never be mistaken for the planned message (same id) or for
        // another retry in the same instant; a doubled message is harmless, every step below is
        // a conditional write.
        let body = serde_json::to_string(job).map_err(store::corrupt)?;
        self.services
            .queue
            .send(queues::SENDS, OutgoingMessage::new(body).delayed(delay))
            .await?;
        Ok(())
    }

    /// Feeds the error-rate guard; too many recent failures pause the campaign.
    async fn judge(
        &self,
        campaign: &Campaign,
        outcome: Outcome,
        last_error: &str,
    ) -> Result<(), CampaignsError> {
        let guard = self.settings.error_guard;
        let verdict = guard
            .record(&self.services, campaign.id.as_str(), outcome)
            .await?;
        if let Verdict::Trip { failures, window } = verdict {
            let text = format!(
                "Campaign \"{name}\" ({id}) was paused automatically: {failures} of its last {window} messages failed, more than the {limit:.0}% it may lose before someone looks.\n\nThe latest failure, as the provider put it:\n\n    {last_error}\n\nNothing else will be sent for this campaign until it is resumed; queued sends are held, not lost. The failed sends and their reasons are listed by GET /v1/campaigns/{id}/sends (or `trickle campaign show {id}`). Fix the cause (the sending number, the message, the list), then resume the campaign.",
                name = campaign.settings.name,
                id = campaign.id,
                limit = guard.max_failure_rate * 100.0,
            );
            self.pause_and_alert(campaign, "too many failed messages", text)
                .await?;
        }
        Ok(())
    }

    /// Pauses the campaign (a conditional state change) and, if this call paused it, says so
    /// by email: one alert per pause, however many workers saw the reason at once.
    async fn pause_and_alert(
        &self,
        campaign: &Campaign,
        why: &str,
        text: String,
    ) -> Result<(), CampaignsError> {
        let id = campaign.id.as_str();
        match lifecycle::pause(&self.services, id).await {
            Ok(_) => {}
            // Paused (or stopped) already, by a person or by another worker.
            Err(CampaignsError::IllegalTransition(_)) => return Ok(()),
            Err(e) => return Err(e),
        }
        tracing::warn!(campaign = %id, why, "campaign paused automatically");
        let email = Email {
            from: self.alerts.from.clone(),
            to: self.alerts.to.clone(),
            subject: format!("Campaign paused: {} ({why})", campaign.settings.name),
            text,
        };
        if let Err(e) = self.services.mailer.send(&email).await {
            tracing::error!(campaign = %id, error = %e, "could not send the pause alert");
        }
        Ok(())
    }
}
