//! CloudTrail's event history through the AWS SDK, behind
//! [`crate::ports::Trail`]: `LookupEvents` by resource name, one region at a
//! time (STS records each call in the region of its endpoint). CloudTrail
//! allows two lookups a second per account and region; throttling is
//! retried with backoff by the SDK ([`super::retry_config`]), and what is
//! left is [`TrailError::Throttled`].

use crate::ports::{Trail, TrailError, TrailPage};
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_cloudtrail::{Client, Config};

/// The most records a page holds.
pub const PAGE_SIZE: i32 = 50;

/// The longest one page may take, the SDK's retries included: the regions
/// are asked at once, so with the page cap this bounds what the lookup adds
/// to an invocation (whose audit record stays open until the alert is out).
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// CloudTrail in one account, any region.
#[derive(Clone, Debug)]
pub struct AwsTrail {
    config: Config,
}

impl AwsTrail {
    /// With this client configuration (credentials, retry, endpoint); the
    /// region is set per lookup.
    pub fn new(config: Config) -> AwsTrail {
        let timeouts = aws_sdk_cloudtrail::config::timeout::TimeoutConfig::builder()
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        AwsTrail {
            config: config.to_builder().timeout_config(timeouts).build(),
        }
    }

    fn client(&self, region: &str) -> Client {
        Client::from_conf(
            self.config
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }
}

impl Trail for AwsTrail {
    async fn lookup_events(
        &self,
        region: &str,
        resource_name: &str,
        start: i64,
        end: i64,
        next_token: Option<&str>,
    ) -> Result<TrailPage, TrailError> {
        let by_resource = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::ResourceName)
            .attribute_value(resource_name)
            .build()
            .map_err(|e| TrailError::Other(e.to_string()))?;
        let out = self
            .client(region)
            .lookup_events()
            .lookup_attributes(by_resource)
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .max_results(PAGE_SIZE)
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(error)?;
        Ok(TrailPage {
            records: out
                .events()
                .iter()
                .filter_map(|e| e.cloud_trail_event().map(str::to_owned))
                .collect(),
            next_token: out.next_token().map(str::to_owned),
        })
    }
}

/// The SDK's error as the port's: denied, throttled (past the retries), or
/// anything else with its code.
fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: aws_sdk_cloudtrail::error::SdkError<E>,
) -> TrailError {
    let code = e.code().map(str::to_owned);
    let text = match e.as_service_error() {
        Some(s) => super::describe(s),
        None => super::source_chain(&e),
    };
    match code.as_deref() {
        Some(c) if c.contains("AccessDenied") || c == "UnauthorizedOperation" => {
            TrailError::Denied(text)
        }
        Some(c) if c.contains("Throttl") || c == "TooManyRequestsException" => {
            TrailError::Throttled(text)
        }
        _ => TrailError::Other(text),
    }
}
