//! Clients of the outside providers, each implementing its port from `trickle-app`.

pub mod forwarder;
pub mod numverify;
pub mod openphone;

pub use openphone::{OpenPhoneClient, OpenPhoneSettings};
