//! HTTP clients implementing the provider ports.

pub mod numverify;
