//! After a resume, every send still PLANNED goes back on the queue (the send worker dropped
//! their messages while the campaign was paused) — in bounded steps, from a marker written
//! before the campaign turns active, so neither the HTTP deadline nor a crash part-way can
//! leave a send without a message.
//!
//! The marker (`REQUEUE`, campaign id) holds a cursor over the campaign's sends. The resume
//! works it for a few seconds; whatever is left, the tick (and its continuation) finishes.
//! Each step queues a page, then moves the cursor on with a condition on the marker's `asked_at`,
//! so a second resume restarting the marker is never overwritten by an older step.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;
use trickle_domain::campaign::{CampaignState, SendState};

use super::keys::{self, time_key};
use super::sends::{SendJob, SendRecord};
use super::{store, CampaignsError};
use crate::ports::queue::OutgoingMessage;
use crate::ports::table::{Condition, Key, Query, SortKeyCondition, Update};
use crate::queues::SENDS;
use crate::records;
use crate::Services;

const PARTITION: &str = "REQUEUE";
/// Sends read per step.
const PAGE: u32 = 100;
/// Markers looked at per tick.
const MARKERS: u32 = 10;

fn marker(campaign_id: &str) -> Key {
    Key::new(PARTITION, campaign_id)
}

/// Writes (or restarts) the campaign's marker: called before the resume turns it active.
pub async fn schedule(
    services: &Services,
    campaign_id: &str,
    now: DateTime<Utc>,
) -> Result<(), CampaignsError> {
    let update = Update::new().set("asked_at", time_key(now)).remove("after");
    services
        .table
        .update(&marker(campaign_id), update, None)
        .await?;
    Ok(())
}

/// Works one campaign's marker until `deadline`. Returns how many sends it queued and whether
/// the marker is done.
pub async fn work_one(
    services: &Services,
    campaign_id: &str,
    deadline: Instant,
) -> Result<(u64, bool), CampaignsError> {
    let key = marker(campaign_id);
    let Some(item) = services.table.get(&key).await? else {
        return Ok((0, true));
    };
    let asked_at = item
        .get("asked_at")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let same_ask = Condition::equals("asked_at", asked_at.as_str());
    let mut after = item
        .get("after")
        .and_then(Value::as_str)
        .map(str::to_string);
    let state = store::load(services, campaign_id).await?.campaign.state;
    if state != CampaignState::Active {
        // Paused again (its next resume writes a new marker) or finished: nothing to queue.
        return finish(services, &key, same_ask).await.map(|()| (0, true));
    }
    let mut queued = 0;
    loop {
        let page = services
            .table
            .query(
                Query::partition(keys::campaign_pk(campaign_id))
                    .sk(SortKeyCondition::BeginsWith(keys::SEND_PREFIX.into()))
                    .limit(PAGE)
                    .after(after.clone()),
            )
            .await?;
        for item in page.items {
            let send: SendRecord = records::from_item(item).map_err(store::corrupt)?;
            if send.state != SendState::Planned {
                continue;
            }
            let job = SendJob {
                campaign_id: send.campaign_id,
                contact_id: send.contact_id,
            };
            let body = serde_json::to_string(&job).map_err(store::corrupt)?;
            services
                .queue
                .send(SENDS, OutgoingMessage::new(body))
                .await?;
            queued += 1;
        }
        let Some(next) = page.next else {
            finish(services, &key, same_ask).await?;
            return Ok((queued, true));
        };
        match services
            .table
            .update(
                &key,
                Update::new().set("after", next.as_str()),
                Some(same_ask.clone()),
            )
            .await
        {
            Ok(_) => after = Some(next),
            // A newer resume restarted the marker: its own steps take it from the start.
            Err(e) if e.is_condition_failure() => return Ok((queued, true)),
            Err(e) => return Err(e.into()),
        }
        if Instant::now() >= deadline {
            return Ok((queued, false));
        }
    }
}

async fn finish(services: &Services, key: &Key, same_ask: Condition) -> Result<(), CampaignsError> {
    match services.table.delete(key, Some(same_ask)).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The tick's share: works the waiting markers until `deadline`. Returns the sends queued and
/// whether markers are left.
pub async fn work(services: &Services, deadline: Instant) -> Result<(u64, bool), CampaignsError> {
    let page = services
        .table
        .query(Query::partition(PARTITION).limit(MARKERS))
        .await?;
    let mut queued = 0;
    let mut left = page.next.is_some();
    for item in page.items {
        if Instant::now() >= deadline {
            return Ok((queued, true));
        }
        let Some(Value::String(id)) = item.get("sk") else {
            continue;
        };
        let (n, done) = work_one(services, id, deadline).await?;
        queued += n;
        left |= !done;
    }
    Ok((queued, left))
}
