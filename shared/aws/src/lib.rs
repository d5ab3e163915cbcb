//! AWS adapters for trickle's ports. SDK types and errors stop here: every method answers in the
//! port's own types.

mod attributes;
mod config;
mod dynamodb;
mod s3;
mod secrets;
mod ses;
mod sqs;

pub use config::{load_sdk_config, AwsEndpoint};
pub use dynamodb::DynamoTable;
pub use s3::S3Blobs;
pub use secrets::{load_secrets, SecretsError};
pub use ses::SesMailer;
pub use sqs::SqsQueue;

/// The SDK clients, for hosts that build the adapters and for test set-up.
pub mod clients {
    pub use aws_config::SdkConfig;
    pub use aws_sdk_dynamodb::Client as DynamoDb;
    pub use aws_sdk_s3::Client as S3;
    pub use aws_sdk_sesv2::Client as SesV2;
    pub use aws_sdk_sqs::Client as Sqs;
    pub use aws_sdk_ssm::Client as Ssm;

    /// S3 with path-style addressing when an endpoint override is set (emulators need it).
    pub fn s3(config: &SdkConfig) -> S3 {
        let path_style = config.endpoint_url().is_some();
        S3::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(path_style)
                .build(),
        )
    }
}

/// One line for an SDK error, with its cause chain (the SDK's own Display hides the cause).
pub(crate) fn describe<E: std::error::Error>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
