use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Where the SDK talks to: real AWS, or an emulator at a URL (tests run against moto).
#[derive(Debug, Clone, Default)]
pub struct AwsEndpoint {
    pub url: Option<String>,
    /// Off in tests: an emulator's 500 for a malformed request would otherwise be retried.
    pub retries: bool,
}

pub async fn load_sdk_config(endpoint: &AwsEndpoint) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = &endpoint.url {
        loader = loader.endpoint_url(url);
    }
    loader = if endpoint.retries {
        loader.retry_config(RetryConfig::standard().with_max_attempts(3))
    } else {
        loader.retry_config(RetryConfig::disabled())
    };
    loader.load().await
}
