//! The pure domain of trickle: values and rules with no I/O, no AWS types and no async runtime.
//!
//! Reading the system clock ([`SystemClock`], [`OffsetClock`]) and generating random ids are
//! the only impurities, and both sit behind small types so that tests can pin them.

pub mod campaign;
pub mod clock;
pub mod contact;
mod country_codes;
pub mod csv_export;
pub mod csv_import;
pub mod email;
pub mod health;
pub mod ids;
pub mod log_privacy;
pub mod nanp_zones;
pub mod opt_out_keyword;
pub mod phone;
pub mod token_strength;
pub mod us_regions;
pub mod webhook_signature;

pub use clock::{Clock, FixedClock, OffsetClock, SystemClock};
pub use contact::{Contact, ContactError, NewContact, RawContact};
pub use email::{AlertRecipients, RecipientsError};
pub use ids::{CampaignId, ContactId, EventId, IdError, ImportId, ListId, TemplateId};
pub use nanp_zones::{area_code_state, area_code_time_zone};
pub use phone::{PhoneError, PhoneNumber};
