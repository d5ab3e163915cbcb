//! Campaigns: settings, life cycle, schedule, templates and the rules a send must obey.

pub mod counts;
pub mod encoding;
pub mod library;
pub mod message;
pub mod quiet_hours;
pub mod schedule;
pub mod send;
mod settings;
pub mod significance;
pub mod state;
pub mod template;
pub mod variant;
pub mod winner;

pub use encoding::{analyze, Encoding, SegmentInfo};
pub use library::{
    RawTemplate, SavedTemplate, TemplateChoice, TemplateEdit, TemplateRef, TemplateVersion,
    TokenFlag,
};
pub use message::{compose, DEFAULT_OPT_OUT_FOOTER};
pub use quiet_hours::{
    declared_zone, recipient_zone, QuietHours, SendWindow, TIME_ZONE_ATTRIBUTES,
};
pub use schedule::{RawSchedule, Schedule, ScheduleError, Slot};
pub use send::{SendState, SkipReason};
pub use settings::{
    Campaign, CampaignError, CampaignPatch, CampaignSettings, RawCampaign, MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS, MAX_PER_RUN,
};
pub use significance::{reply_rate_test, wilson_95, ChiSquare, Rate};
pub use state::{CampaignState, IllegalTransition, Transition};
pub use template::{Rendered, Template, TemplateError};
pub use variant::{variant_for, Variant, DEFAULT_SPLIT_PERCENT};
pub use winner::{AutoWinner, WinnerSwitch};
