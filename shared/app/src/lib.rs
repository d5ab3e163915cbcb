//! Use-cases of trickle and the narrow ports they run over.
//!
//! Adapters (AWS, embedded) implement the ports; the HTTP router and the Lambda functions call
//! the use-cases. Nothing here knows about an SDK.

pub mod audience;
pub mod campaigns;
pub mod contacts;
pub mod exports;
pub mod health;
pub mod insights;
pub mod library;
pub mod metrics;
pub mod outbox;
pub mod paging;
pub mod ports;
pub mod queues;
pub mod races;
pub mod rate;
pub mod reconcile;
pub mod records;
pub mod send_counters;
pub mod services;
pub mod webhooks;
pub mod worker;

pub use services::Services;
