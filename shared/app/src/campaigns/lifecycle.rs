//! Creating, reading, editing and moving campaigns through their life cycle. Every state change
//! is one conditional write on the state (and version) that was read.

use crate::rate::RateBudget;
use trickle_domain::campaign::{
    Campaign, CampaignError, CampaignPatch, CampaignSettings, CampaignState, RawCampaign,
    Transition,
};
use trickle_domain::{CampaignId, ListId};

use super::from_template::EditedTemplate;
use super::store;
use super::{activation, audience, keys, CampaignsError};
use crate::Services;

pub type CampaignPage = crate::paging::Paged<Campaign>;

pub async fn create(services: &Services, raw: RawCampaign) -> Result<Campaign, CampaignsError> {
    create_with(services, raw, EditedTemplate::Refused).await
}

/// [`create`], saying what a typed message that differs from its chosen template means.
pub async fn create_with(
    services: &Services,
    mut raw: RawCampaign,
    edited: EditedTemplate,
) -> Result<Campaign, CampaignsError> {
    let (templates, mut problems) =
        super::from_template::resolve(services, &mut raw, edited).await?;
    problems.extend(unknown_list(services, &raw.list_id).await?);
    let mut settings = match (CampaignSettings::parse(raw), problems.is_empty()) {
        (Ok(settings), true) => settings,
        (Ok(_), false) => return Err(CampaignError::all(problems).into()),
        // Every problem at once: the field errors, the templates and the unknown list together.
        (Err(e), _) => {
            let mut all: Vec<CampaignError> = match e {
                CampaignError::Several(all) => all,
                one => vec![one],
            };
            all.extend(problems);
            return Err(CampaignError::all(all).into());
        }
    };
    let [template_a, template_b] = templates;
    settings.template_a = template_a;
    settings.template_b = template_b;
    let now = services.clock.now();
    let campaign = Campaign {
        id: CampaignId::new(),
        settings,
        state: CampaignState::Draft,
        cursor: 0,
        next_run_at: None,
        next_slot: None,
        winner: None,
        created_at: now,
        updated_at: now,
    };
    store::insert(services, &campaign).await?;
    Ok(campaign)
}

/// The `list_id` problem when the id is well formed but names no list (a malformed id is the
/// settings' own error).
async fn unknown_list(
    services: &Services,
    list_id: &str,
) -> Result<Option<CampaignError>, CampaignsError> {
    let Ok(id) = ListId::parse(list_id.trim()) else {
        return Ok(None);
    };
    Ok(audience::list_info(services, id.as_str())
        .await?
        .is_none()
        .then(|| {
            CampaignError::ListId(format!(
                "no list has the id {id}; `GET /v1/lists` (or `trickle lists`) shows the lists there are"
            ))
        }))
}

pub async fn get(services: &Services, id: &str) -> Result<Campaign, CampaignsError> {
    Ok(store::load(services, id).await?.campaign)
}

/// Newest first.
pub async fn list(
    services: &Services,
    limit: u32,
    after: Option<String>,
) -> Result<CampaignPage, CampaignsError> {
    crate::paging::newest_first(
        services,
        keys::ALL_CAMPAIGNS,
        limit.min(crate::paging::MAX_PAGE),
        after,
        |item| store::from_item(item).map(|s| s.campaign),
    )
    .await
}

pub async fn patch(
    services: &Services,
    id: &str,
    patch: CampaignPatch,
) -> Result<Campaign, CampaignsError> {
    retry_on_race(|| async {
        let read = store::load(services, id).await?;
        if !read.campaign.state.is_editable() {
            return Err(CampaignsError::NotEditable(read.campaign.state));
        }
        let mut campaign = read.campaign.clone();
        campaign.settings = campaign.settings.patched(patch.clone())?;
        if campaign.settings.list_id != read.campaign.settings.list_id {
            if let Some(problem) =
                unknown_list(services, campaign.settings.list_id.as_str()).await?
            {
                return Err(problem.into());
            }
        }
        // The cursor is a position in one list; a started campaign keeps its audience.
        if read.campaign.state != CampaignState::Draft
            && campaign.settings.list_id != read.campaign.settings.list_id
        {
            return Err(CampaignsError::AudienceLocked);
        }
        campaign.updated_at = services.clock.now();
        store::replace(services, &campaign, &read).await?;
        Ok(campaign)
    })
    .await
}

/// Validates the campaign against its list and starts it at the next scheduled slot.
pub async fn activate(services: &Services, id: &str) -> Result<Campaign, CampaignsError> {
    activate_within(services, id, None).await
}

/// [`activate`], asking OpenPhone about the sender within the key's request `budget` (the
/// hosts pass theirs, so the check never takes a send's place in a busy second).
pub async fn activate_within(
    services: &Services,
    id: &str,
    budget: Option<&RateBudget>,
) -> Result<Campaign, CampaignsError> {
    let read = store::load(services, id).await?;
    read.campaign.state.apply(Transition::Activate)?;
    let problems = activation::problems(services, &read.campaign, budget).await?;
    if !problems.is_empty() {
        return Err(CampaignsError::ActivationRefused(problems));
    }
    let now = services.clock.now();
    let mut campaign = read.campaign.clone();
    campaign.state = CampaignState::Active;
    campaign.cursor = 0;
    schedule_next(&mut campaign, now);
    campaign.updated_at = now;
    store::replace(services, &campaign, &read).await?;
    Ok(campaign)
}

pub async fn pause(services: &Services, id: &str) -> Result<Campaign, CampaignsError> {
    transition(services, id, Transition::Pause).await
}

/// Continues from the cursor at the next scheduled time, never at once.
/// The settings may have been edited while paused, so the activation checks run again.
pub async fn resume(services: &Services, id: &str) -> Result<Campaign, CampaignsError> {
    resume_within(services, id, None).await
}

/// [`resume`] within the key's request `budget` (see [`activate_within`]).
pub async fn resume_within(
    services: &Services,
    id: &str,
    budget: Option<&RateBudget>,
) -> Result<Campaign, CampaignsError> {
    let read = store::load(services, id).await?;
    read.campaign.state.apply(Transition::Resume)?;
    let problems = activation::problems(services, &read.campaign, budget).await?;
    if !problems.is_empty() {
        return Err(CampaignsError::ActivationRefused(problems));
    }
    // Sends planned before the pause had their queue messages dropped by the worker: the marker
    // that queues them again is written before the campaign turns active, so a crash between
    // the two cannot leave them without messages.
    let now = services.clock.now();
    super::requeue::schedule(services, id, now).await?;
    super::error_guard::fresh_window(services, id).await?;
    let campaign = transition(services, id, Transition::Resume).await?;
    let deadline = std::time::Instant::now() + RESUME_INLINE;
    let (_, done) = super::requeue::work_one(services, id, deadline).await?;
    if !done {
        // A large backlog: the tick's continuation queues the rest at once.
        use super::continuation::{request, Asker};
        request(services, now, Asker::Schedule, &[]).await?;
    }
    Ok(campaign)
}

/// How long a resume queues sends itself before leaving the rest to the tick (well inside the
/// HTTP function's 29 s).
const RESUME_INLINE: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn archive(services: &Services, id: &str) -> Result<Campaign, CampaignsError> {
    transition(services, id, Transition::Archive).await
}

/// A new draft with the same settings.
pub async fn duplicate(services: &Services, id: &str) -> Result<Campaign, CampaignsError> {
    let source = get(services, id).await?;
    let mut raw = source.settings.to_raw();
    raw.name = copy_name(&raw.name);
    create(services, raw).await
}

fn copy_name(name: &str) -> String {
    let copy = format!("{name} (copy)");
    if copy.chars().count() <= trickle_domain::campaign::MAX_NAME_CHARS {
        copy
    } else {
        name.to_string()
    }
}

pub async fn transition(
    services: &Services,
    id: &str,
    transition: Transition,
) -> Result<Campaign, CampaignsError> {
    retry_on_race(|| async {
        let read = store::load(services, id).await?;
        let next = read.campaign.state.apply(transition)?;
        let now = services.clock.now();
        let mut campaign = read.campaign.clone();
        campaign.state = next;
        if next == CampaignState::Active {
            schedule_next(&mut campaign, now);
        } else {
            campaign.next_run_at = None;
            campaign.next_slot = None;
        }
        campaign.updated_at = now;
        store::replace(services, &campaign, &read).await?;
        Ok(campaign)
    })
    .await
}

fn schedule_next(campaign: &mut Campaign, after: chrono::DateTime<chrono::Utc>) {
    let slot = campaign.settings.schedule.next_run_after(after);
    campaign.next_slot = Some(slot.id());
    campaign.next_run_at = Some(slot.at);
}

/// Runs `attempt` again when its conditional write lost to a concurrent one; every attempt
/// re-reads, so legality is checked against the latest state.
async fn retry_on_race<F, Fut>(attempt: F) -> Result<Campaign, CampaignsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Campaign, CampaignsError>>,
{
    crate::races::retry_lost_races(
        |e| matches!(e, CampaignsError::Store(e) if crate::races::lost(e)),
        attempt,
    )
    .await
}
