//! Campaigns: settings and life cycle, activation checks, previews, and the tick that plans
//! each scheduled run.

mod activation;
pub mod audience;
pub mod continuation;
pub mod error_guard;
pub mod estimate;
pub mod from_template;
pub mod keys;
pub mod lifecycle;
pub mod manual_run;
pub mod planner;
pub mod preview;
pub mod requeue;
pub mod review;
pub mod send_rules;
pub mod send_worker;
pub mod sender_ids;
pub mod sends;
pub mod stats;
pub mod store;
pub mod tick;
pub mod winner_switch;

use trickle_domain::campaign::{CampaignError, CampaignState, IllegalTransition};

use crate::ports::{QueueError, TableError};

pub use from_template::EditedTemplate;
pub use lifecycle::{
    activate, activate_within, archive, create, create_with, duplicate, get, list, patch, pause,
    resume, resume_within, CampaignPage,
};
pub use manual_run::run_now;
pub use planner::{complete_if_done, PlannerSettings, RunOutcome, RunReport, BATCH};
pub use preview::{preview, Preview, PreviewRequest};
pub use sends::{SendJob, SendRecord};
pub use tick::{plan_due_campaigns, plan_due_campaigns_with, tick, TickReport};

#[derive(Debug, thiserror::Error)]
pub enum CampaignsError {
    #[error(transparent)]
    Invalid(#[from] CampaignError),
    #[error("campaign not found")]
    NotFound,
    #[error("contact not found")]
    ContactNotFound,
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error("{} campaign cannot be edited (only a draft or paused one can)", .0.with_article())]
    NotEditable(CampaignState),
    #[error("the campaign is {}, not active", .0.as_str())]
    NotActive(CampaignState),
    #[error("the list of a started campaign cannot change (its cursor is a position in that list); duplicate the campaign instead")]
    AudienceLocked,
    #[error("the campaign cannot be activated: {}", .0.join("; "))]
    ActivationRefused(Vec<String>),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("SMS provider: {0}")]
    Provider(String),
    #[error(transparent)]
    Review(#[from] review::ReviewRefusal),
}

impl crate::worker::Retryable for CampaignsError {
    /// The send worker never parks a send on its first failure: every failure is retried until
    /// the `sends` queue's receive limit parks it, so a misread never drops a send silently.
    fn retry_class(&self) -> crate::worker::RetryClass {
        match self {
            CampaignsError::Invalid(_)
            | CampaignsError::NotFound
            | CampaignsError::ContactNotFound
            | CampaignsError::IllegalTransition(_)
            | CampaignsError::NotEditable(_)
            | CampaignsError::NotActive(_)
            | CampaignsError::AudienceLocked
            | CampaignsError::ActivationRefused(_)
            | CampaignsError::Corrupt(_)
            | CampaignsError::Store(_)
            | CampaignsError::Queue(_)
            | CampaignsError::Provider(_)
            | CampaignsError::Review(_) => crate::worker::RetryClass::Transient,
        }
    }
}
