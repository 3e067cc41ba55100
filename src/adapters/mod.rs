//! The adapters: one module per AWS service (and Slack) behind the
//! [`crate::ports`], and the in-memory ones the tests drive the engine with.
//! Only this module tree (and [`crate::wiring`]) talks to the AWS SDK.

pub mod channels;
pub mod cloudtrail;
pub mod dynamodb;
pub mod eventbridge;
pub mod iam;
pub mod memory;
pub mod organizations;
pub mod securityhub;
pub mod slack;
pub mod sns;
pub mod sqs;
pub mod ssm;
pub mod sts;

use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use aws_sdk_iam::error::ProvideErrorMetadata;
use std::time::Duration;

/// How IAM calls are retried: throttling (IAM's account-wide limits are
/// low, and a burst of changes meets them), 5xx and transient network errors,
/// up to 6 attempts with exponential backoff and jitter from 200 ms, each
/// wait at most 10 s.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(10))
}

/// The SDK configuration from the environment (credentials, region,
/// `AWS_ENDPOINT_URL`), with roleguard's retry policy.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(retry_config())
        .load()
        .await
}

/// An error and its sources, on one line.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s += &format!(": {c}");
        cur = c.source();
    }
    s
}

/// An SDK error on one line, with its code when the service gave one.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(e: &E) -> String {
    match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
        None => source_chain(e),
    }
}
