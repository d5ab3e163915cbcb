//! The AWS emulator (moto server) that the AWS adapters are tested against.
//!
//! `scripts/test` installs a pinned moto into `.venv`, starts it on a free loopback port and
//! exports its URL as `TRICKLE_TEST_AWS_ENDPOINT`. Every test makes its own uniquely named
//! table, queues and bucket, so tests run in parallel without resetting the emulator.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

pub const ENDPOINT_VAR: &str = "TRICKLE_TEST_AWS_ENDPOINT";

pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set: run the tests with `make test` (scripts/test), which \
             starts the moto emulator"
        )
    })
}

/// SDK configuration for the emulator: fixed test credentials, one region, no retries (moto
/// answers a malformed request with a 500 that the SDK would otherwise retry).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// A short unique name part for this test's resources.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}
