//! The IAM port: the calls roleguard makes to IAM, and how it reaches an
//! account's IAM. Implemented by [`crate::adapters::iam`] (the AWS SDK) and
//! [`crate::adapters::memory`] (in memory, with injectable faults).

pub use crate::event::Entity;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why an IAM call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

/// What the executor needs to know about a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleState {
    pub arn: String,
    pub path: String,
    /// The trust policy, decoded from the URL-encoded form IAM returns.
    pub trust_policy: Value,
    pub max_session_duration: u32,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// What the executor needs to know about a user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    pub arn: String,
    pub path: String,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The groups the user is in.
    pub groups: Vec<String>,
}

/// A user's or a group's own policies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityPolicies {
    pub arn: String,
    pub attached: Vec<String>,
    /// Inline policies: name and document (decoded).
    pub inline: Vec<(String, Value)>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub version_id: String,
    pub is_default: bool,
    /// Seconds since the epoch.
    pub created: i64,
}

/// The IAM calls roleguard makes. Reads return `Ok(None)` for what does not exist.
#[allow(async_fn_in_trait)]
pub trait Iam {
    async fn get_role(&self, role: &str) -> Result<Option<RoleState>, IamError>;
    async fn attached_role_policies(&self, role: &str) -> Result<Vec<String>, IamError>;
    async fn get_role_policy(&self, role: &str, name: &str) -> Result<Option<Value>, IamError>;
    /// The names of a role's inline policies.
    async fn role_policy_names(&self, role: &str) -> Result<Vec<String>, IamError>;
    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), IamError>;
    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), IamError>;
    async fn put_role_policy(&self, role: &str, name: &str, document: &str)
        -> Result<(), IamError>;
    async fn update_assume_role_policy(&self, role: &str, document: &str) -> Result<(), IamError>;
    async fn update_max_session_duration(&self, role: &str, seconds: u32) -> Result<(), IamError>;
    async fn put_role_permissions_boundary(&self, role: &str, arn: &str) -> Result<(), IamError>;
    async fn tag_role(&self, role: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError>;
    async fn policy_versions(&self, arn: &str) -> Result<Option<Vec<PolicyVersion>>, IamError>;
    /// A managed policy's document: the given version, or the default one.
    async fn policy_document(
        &self,
        arn: &str,
        version: Option<&str>,
    ) -> Result<Option<String>, IamError>;
    /// What a managed policy is attached to: `role NAME`, `user NAME`,
    /// `group NAME`.
    async fn policy_holders(&self, arn: &str) -> Result<Vec<String>, IamError>;
    async fn set_default_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError>;
    async fn delete_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError>;
    /// A user with its groups (GetUser, ListGroupsForUser).
    async fn get_user(&self, user: &str) -> Result<Option<UserState>, IamError>;
    /// A user's or group's own policies: attached and inline.
    async fn entity_policies(
        &self,
        entity: Entity,
        name: &str,
    ) -> Result<Option<EntityPolicies>, IamError>;
    async fn detach_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        arn: &str,
    ) -> Result<(), IamError>;
    async fn delete_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        policy: &str,
    ) -> Result<(), IamError>;
    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError>;
    /// Attach a managed policy to a role, user or group (a required
    /// guardrail put back).
    async fn attach_policy(&self, entity: Entity, name: &str, arn: &str) -> Result<(), IamError>;
    async fn put_user_permissions_boundary(&self, user: &str, arn: &str) -> Result<(), IamError>;
    async fn tag_user(&self, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError>;
    /// Every role of the account with its policies, and the default document
    /// of every customer managed policy, in as few requests as IAM allows.
    async fn account_snapshot(&self) -> Result<crate::snapshot::AccountSnapshot, IamError>;
}

/// Reaches IAM in the account an event happened in: the function's own, or a
/// member account through its remediation role.
#[allow(async_fn_in_trait)]
pub trait Accounts {
    type Iam: Iam;
    type Trail: crate::ports::Trail;
    /// IAM in `account` (`None`: the function's own account).
    async fn iam(&self, account: Option<&str>) -> Result<Self::Iam, IamError>;
    /// CloudTrail in `account`, through the same credentials as its IAM.
    async fn trail(&self, account: Option<&str>) -> Result<Self::Trail, IamError>;
    /// The account roleguard runs in.
    async fn own_account(&self) -> Result<String, IamError>;
}
