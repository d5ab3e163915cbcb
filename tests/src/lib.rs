//! The test harness of trickle: adapters built on isolated state (a temp dir, or uniquely named
//! resources on the moto emulator), the contract suites every adapter of a port must pass, and
//! helpers that spawn the app and talk to it over HTTP.

pub mod api_client;
pub mod app;
pub mod campaign_world;
pub mod contract;
pub mod fixtures;
pub mod import_consumers;
pub mod lambda;
pub mod moto;
pub mod schema;
pub mod send_world;
pub mod webhooks;
