//! A role as IAM holds it, and an account's roles: what the IAM port reads,
//! the scan judges and the store keeps as a baseline. Plain data.

use serde_json::Value;
use std::collections::HashMap;

/// A role as IAM describes it (GetAccountAuthorizationDetails and ListRoles).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoleSnapshot {
    pub name: String,
    pub arn: String,
    pub path: String,
    /// Decoded from the URL-encoded form IAM returns.
    pub trust_policy: Value,
    pub max_session_duration: u32,
    pub permissions_boundary: Option<String>,
    /// Managed policy ARNs.
    pub attached: Vec<String>,
    /// Inline policies: name and decoded document.
    pub inline: Vec<(String, Value)>,
}

/// One role with the customer managed policies' documents it uses: what
/// the Lambda reads to judge a role as a whole, and keeps as its baseline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoleParts {
    pub role: RoleSnapshot,
    /// Customer managed policy ARN -> the default version's document.
    pub policies: HashMap<String, Value>,
}

/// One account's roles and its customer managed policies' default documents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountSnapshot {
    pub roles: Vec<RoleSnapshot>,
    /// Customer managed policy ARN -> the default version's document.
    pub policies: HashMap<String, Value>,
    /// The IAM requests made to read it.
    pub requests: usize,
}
