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

/// A user or a group as IAM holds it, with every policy that decides what
/// it may do: its own inline and attached policies, its boundary (users),
/// and for a user every group it is in with the group's policies.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntityParts {
    pub name: String,
    pub arn: String,
    pub attached: Vec<String>,
    /// Inline policies: name and document.
    pub inline: Vec<(String, Value)>,
    pub permissions_boundary: Option<String>,
    /// A user's groups, each with its own policies.
    pub groups: Vec<EntityParts>,
    /// Customer managed policy ARN -> the default version's document (for
    /// the entity's, its groups' and its boundary's policies).
    pub policies: HashMap<String, Value>,
}

impl EntityParts {
    /// What a group's policy is called in a user's findings.
    pub fn group_inline_label(group: &str, name: &str) -> String {
        format!("{name} of group {group}")
    }
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
