//! What roleguard keeps when a table is configured (`ROLEGUARD_TABLE`):
//!
//! - an audit record per handled event, written before any change is made
//!   (write-ahead, status `started`) and completed after (`completed` or
//!   `failed`; an event with nothing to do is written `completed` at once),
//!   holding the findings, the plan with every document it removes
//!   or replaces, and each step's result;
//! - idempotency: the record is claimed with a conditional write on the event
//!   id, so a repeated delivery, even a concurrent one, acts once;
//! - each role's baseline: its last known compliant trust policy and inline
//!   policies, so that a revert puts back exactly the previous document.
//!
//! The records are plain data; the [`crate::ports::Store`] port keeps them
//! (DynamoDB in [`crate::adapters::dynamodb`], in memory in
//! [`crate::adapters::memory`], nothing with [`crate::ports::NoStore`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub use crate::config::DEFAULT_RETENTION_DAYS;

/// How long a `started` record holds its event: past this, the invocation
/// that wrote it is taken to have died (Lambda's longest run is 15 minutes)
/// and a retry may take the event over.
pub const CLAIM_LEASE_SECS: i64 = 15 * 60;

/// Where an event's handling stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Claimed; the changes are being made (or the invocation died).
    Started,
    Completed,
    /// Some step failed: a retry may take the event over.
    Failed,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Started => "started",
            RecordStatus::Completed => "completed",
            RecordStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<RecordStatus> {
        match s {
            "started" => Some(RecordStatus::Started),
            "completed" => Some(RecordStatus::Completed),
            "failed" => Some(RecordStatus::Failed),
            _ => None,
        }
    }
}

/// An audit record, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub event_id: String,
    /// When the change was made (the event's time).
    pub event_time: Option<String>,
    pub status: RecordStatus,
    pub account: Option<String>,
    pub role_name: Option<String>,
    /// When the record was claimed, seconds since the epoch.
    pub started_at: i64,
    /// When the record expires (DynamoDB TTL), seconds since the epoch.
    pub expires_at: i64,
    /// The assessment (before) or the whole outcome (after), as JSON.
    pub detail: Value,
}

/// What claiming an event found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This invocation handles the event.
    Acquired,
    /// Another delivery handled it, or is handling it now.
    Taken {
        status: RecordStatus,
        started_at: i64,
    },
}

/// A role's last known compliant documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub trust_policy: Option<Value>,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, Value>,
    /// The role as a whole, as roleguard last read and accepted it: judges
    /// the next change to the role before IAM is asked.
    #[serde(default)]
    pub role: Option<crate::snapshot::RoleParts>,
}

/// The table's keys: one item per event, one per role.
pub fn event_key(event_id: &str) -> String {
    format!("event#{event_id}")
}

pub fn role_key(account: &str, role: &str) -> String {
    format!("role#{account}#{role}")
}

/// One scan of the fleet: its id (the time it started, so ids sort by
/// time), and the accounts it covers. Kept as `scan#latest` and `scan#<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanIndex {
    pub scan_id: String,
    /// When the scan started (epoch seconds).
    pub started_at: i64,
    /// Every account the scan covers, each with its own result when done.
    pub accounts: Vec<String>,
    /// Accounts the configuration left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<String>,
    pub expires_at: i64,
}

/// The key of the latest scan's index.
pub const LATEST_SCAN_KEY: &str = "scan#latest";

pub fn scan_key(scan_id: &str) -> String {
    format!("scan#{scan_id}")
}

pub fn scan_result_key(scan_id: &str, account: &str) -> String {
    format!("scan#{scan_id}#{account}")
}

/// The expiry of a record written at `now`.
pub fn expires_at(now: i64, retention_days: u32) -> i64 {
    now + i64::from(retention_days) * 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_expiry() {
        assert_eq!(event_key("eb-1"), "event#eb-1");
        assert_eq!(role_key("111122223333", "app"), "role#111122223333#app");
        assert_eq!(expires_at(0, 1), 86_400);
        for s in [
            RecordStatus::Started,
            RecordStatus::Completed,
            RecordStatus::Failed,
        ] {
            assert_eq!(RecordStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RecordStatus::parse("x"), None);
    }
}
