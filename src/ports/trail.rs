//! The CloudTrail port: the records of who assumed a role, read after a
//! trust revert ([`crate::sessions`]). Implemented by
//! [`crate::adapters::cloudtrail`] (`LookupEvents` through the AWS SDK) and
//! [`crate::adapters::memory`] (in memory, with faults).

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrailError {
    /// The caller may not call LookupEvents (in a member account: the
    /// remediation role's template is older than this release).
    #[error("access denied: {0}")]
    Denied(String),
    /// CloudTrail allows two lookups a second per account and region; the
    /// SDK retried and still was refused.
    #[error("throttled past the retries: {0}")]
    Throttled(String),
    /// No CloudTrail client here (the offline CLI, a test without one).
    #[error("not looked up: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

/// One page of `LookupEvents`: each record's JSON text (`CloudTrailEvent`),
/// and the token for the next page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailPage {
    pub records: Vec<String>,
    pub next_token: Option<String>,
}

/// CloudTrail's event history, one region at a time.
#[allow(async_fn_in_trait)]
pub trait Trail {
    /// The management events in `region` naming the resource
    /// `resource_name` (a role's ARN), from `start` to `end` (seconds since
    /// the epoch, both included), one page at a time.
    async fn lookup_events(
        &self,
        region: &str,
        resource_name: &str,
        start: i64,
        end: i64,
        next_token: Option<&str>,
    ) -> Result<TrailPage, TrailError>;
}

/// No CloudTrail: every lookup says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrail;

impl Trail for NoTrail {
    async fn lookup_events(
        &self,
        _region: &str,
        _resource_name: &str,
        _start: i64,
        _end: i64,
        _next_token: Option<&str>,
    ) -> Result<TrailPage, TrailError> {
        Err(TrailError::Unavailable(
            "no CloudTrail client is configured here".into(),
        ))
    }
}

impl<T: Trail> Trail for std::sync::Arc<T> {
    async fn lookup_events(
        &self,
        region: &str,
        resource_name: &str,
        start: i64,
        end: i64,
        next_token: Option<&str>,
    ) -> Result<TrailPage, TrailError> {
        self.as_ref()
            .lookup_events(region, resource_name, start, end, next_token)
            .await
    }
}
