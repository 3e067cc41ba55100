//! CloudTrail events as EventBridge delivers them, and the role changes they
//! describe.
//!
//! roleguard owns these types rather than using `aws_lambda_events`' CloudTrail
//! struct, which drops `errorCode` and `recipientAccountId` and rejects events
//! without `userAgent`. Every field but `eventName` may be absent, and unknown
//! fields are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest event roleguard will read: EventBridge's own limit is 256 KiB.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the event is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not a CloudTrail event: {0}")]
    Malformed(String),
    #[error("unsupported call {service}:{name} (roleguard handles {handled})", handled = HANDLED.join(", "))]
    Unsupported { service: String, name: String },
    #[error("{name}: requestParameters.{field} is missing or not a string")]
    MissingField { name: String, field: &'static str },
}

/// The calls roleguard handles.
pub const HANDLED: &[&str] = &[
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "AttachRolePolicy",
    "PutRolePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "UpdateRole",
    "TagRole",
    "UntagRole",
    "AttachUserPolicy",
    "PutUserPolicy",
    "PutUserPermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "AttachGroupPolicy",
    "PutGroupPolicy",
    "AddUserToGroup",
    "DetachRolePolicy",
    "DeleteRolePolicy",
    "DetachUserPolicy",
    "DeleteUserPolicy",
    "DetachGroupPolicy",
    "DeleteGroupPolicy",
];

/// The prefix of roleguard's own role tags.
pub const TAG_PREFIX: &str = "roleguard:";

/// The EventBridge envelope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Envelope {
    pub id: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: Option<String>,
    pub source: Option<String>,
    pub account: Option<String>,
    pub time: Option<String>,
    pub region: Option<String>,
    pub detail: Option<CloudTrail>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionContext {
    pub session_issuer: Option<SessionIssuer>,
    pub attributes: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub invoked_by: Option<String>,
    pub session_context: Option<SessionContext>,
}

/// A CloudTrail record, as in an event's `detail`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudTrail {
    pub event_version: Option<String>,
    pub user_identity: Option<UserIdentity>,
    pub event_time: Option<String>,
    pub event_source: Option<String>,
    pub event_name: String,
    pub aws_region: Option<String>,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    #[serde(rename = "requestID")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub recipient_account_id: Option<String>,
    /// `"true"` when the call was made from the AWS console.
    pub session_credential_from_console: Option<String>,
}

/// One event, whether it came in an EventBridge envelope or as a bare record.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Option<String>,
    pub account: Option<String>,
    pub time: Option<String>,
    pub trail: CloudTrail,
}

impl Event {
    /// Parse an EventBridge event (or a bare CloudTrail record).
    pub fn parse(text: &str) -> Result<Event, EventError> {
        if text.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge {
                size: text.len(),
                limit: MAX_EVENT_BYTES,
            });
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| EventError::Malformed(e.to_string()))?;
        Event::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Event, EventError> {
        let Value::Object(map) = &value else {
            return Err(EventError::Malformed("expected a JSON object".into()));
        };
        let malformed = |e: serde_json::Error| EventError::Malformed(e.to_string());
        if map.contains_key("detail") {
            let env: Envelope = serde_json::from_value(value).map_err(malformed)?;
            let trail = env
                .detail
                .ok_or_else(|| EventError::Malformed("`detail` is null".into()))?;
            if trail.event_name.is_empty() {
                return Err(EventError::Malformed(
                    "`detail.eventName` is missing".into(),
                ));
            }
            Ok(Event::from_envelope(env.id, env.account, env.time, trail))
        } else if map.contains_key("eventName") {
            let trail: CloudTrail = serde_json::from_value(value).map_err(malformed)?;
            Ok(Event {
                id: trail.event_id.clone(),
                account: trail.recipient_account_id.clone().or_else(|| {
                    trail
                        .user_identity
                        .as_ref()
                        .and_then(|u| u.account_id.clone())
                }),
                time: trail.event_time.clone(),
                trail,
            })
        } else {
            Err(EventError::Malformed(
                "neither an EventBridge event (`detail`) nor a CloudTrail record (`eventName`)"
                    .into(),
            ))
        }
    }

    /// An event from an EventBridge envelope's fields and its CloudTrail
    /// record: the envelope's id and time, the record's recipient account
    /// (the account the change happened in), each falling back on the other.
    pub fn from_envelope(
        id: Option<String>,
        account: Option<String>,
        time: Option<String>,
        trail: CloudTrail,
    ) -> Event {
        Event {
            id: id.or_else(|| trail.event_id.clone()),
            account: trail.recipient_account_id.clone().or(account),
            time: time.or_else(|| trail.event_time.clone()),
            trail,
        }
    }

    /// The ARN of the role or user that made the call (for an assumed role:
    /// the role, not the session).
    pub fn actor(&self) -> Option<&str> {
        let u = self.trail.user_identity.as_ref()?;
        u.session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref())
            .and_then(|i| i.arn.as_deref())
            .or(u.arn.as_deref())
    }

    /// Was the call made by CloudFormation on someone's behalf (a stack
    /// deployment)? CloudTrail names it in `invokedBy` and as the source.
    pub fn by_cloudformation(&self) -> bool {
        const CFN: &str = "cloudformation.amazonaws.com";
        let t = &self.trail;
        t.user_identity
            .as_ref()
            .and_then(|u| u.invoked_by.as_deref())
            == Some(CFN)
            || t.source_ip_address.as_deref() == Some(CFN)
    }

    /// The AWS service that made the call itself, when one did: a call
    /// CloudTrail records with `userIdentity.type` `AWSService`, or made
    /// in a session of a service-linked role (its issuer's ARN has the path
    /// `/aws-service-role/<service>/`, which only AWS can create). Never
    /// read from a name, nor from `invokedBy` alone (a user's CloudFormation
    /// stack is invoked by CloudFormation).
    pub fn aws_service_actor(&self) -> Option<String> {
        let u = self.trail.user_identity.as_ref()?;
        if u.kind.as_deref() == Some("AWSService") {
            return Some(
                u.invoked_by
                    .clone()
                    .unwrap_or_else(|| "an AWS service".to_string()),
            );
        }
        let issuer = u
            .session_context
            .as_ref()?
            .session_issuer
            .as_ref()?
            .arn
            .as_deref()?;
        let (_, rest) = issuer.split_once(":role/aws-service-role/")?;
        let service = rest
            .split('/')
            .next()
            .filter(|s| s.ends_with(".amazonaws.com"))?;
        Some(format!("{service} (its service-linked role)"))
    }

    /// The role that made the call, as (account, name), when a role made it:
    /// from the session issuer's ARN, which the caller cannot choose.
    pub fn actor_role(&self) -> Option<(&str, &str)> {
        crate::policy::role_of_arn(self.actor()?)
    }

    /// The session name of an assumed role's call (`assumed-role/ROLE/SESSION`).
    pub fn actor_session(&self) -> Option<&str> {
        let arn = self.trail.user_identity.as_ref()?.arn.as_deref()?;
        let (_, rest) = arn.split_once(":assumed-role/")?;
        rest.split_once('/').map(|(_, session)| session)
    }

    /// Parse the change the event describes.
    pub fn change(&self) -> Result<Change, EventError> {
        Change::from_trail(&self.trail)
    }

    /// The policy document field a successful call's record should carry and
    /// does not: missing, null, marked omitted, or cut short (text that is no
    /// longer JSON, which IAM would never have accepted). CloudTrail omits or
    /// truncates large fields; what stands must then be read from IAM.
    pub fn missing_document(&self) -> Option<&'static str> {
        if self.trail.error_code.is_some() {
            return None;
        }
        let field = document_field(&self.trail.event_name)?;
        let p = self.trail.request_parameters.as_ref();
        let omitted = p
            .and_then(|p| p.get("omitted"))
            .is_some_and(|v| v.as_bool() == Some(true));
        let readable = match p.and_then(|p| p.get(field)) {
            Some(Value::String(text)) => {
                serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object())
                    || crate::policy::decode(text).is_ok()
            }
            Some(Value::Object(_)) => true,
            _ => false,
        };
        (omitted || !readable).then_some(field)
    }

    /// This event with `document` in its document field (the live document
    /// read from IAM in place of one the record lacks).
    pub fn with_document(&self, field: &str, document: String) -> Event {
        let mut e = self.clone();
        let p = e
            .trail
            .request_parameters
            .get_or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(m) = p {
            m.remove("omitted");
            m.insert(field.to_owned(), Value::String(document));
        }
        e
    }

    /// A string field of the request parameters.
    pub fn parameter(&self, field: &str) -> Option<&str> {
        self.trail
            .request_parameters
            .as_ref()?
            .get(field)?
            .as_str()
            .filter(|s| !s.is_empty())
    }
}

/// The request parameter that holds the call's policy document.
pub fn document_field(call: &str) -> Option<&'static str> {
    match call {
        "CreateRole" => Some("assumeRolePolicyDocument"),
        "UpdateAssumeRolePolicy"
        | "PutRolePolicy"
        | "CreatePolicyVersion"
        | "PutUserPolicy"
        | "PutGroupPolicy" => Some("policyDocument"),
        _ => None,
    }
}

/// A role change roleguard judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "PascalCase")]
pub enum Change {
    CreateRole {
        role_name: String,
        path: Option<String>,
        trust_policy: String,
        max_session_duration: Option<u32>,
        permissions_boundary: Option<String>,
    },
    UpdateAssumeRolePolicy {
        role_name: String,
        trust_policy: String,
    },
    AttachRolePolicy {
        role_name: String,
        policy_arn: String,
    },
    PutRolePolicy {
        role_name: String,
        policy_name: String,
        document: String,
    },
    CreatePolicyVersion {
        policy_arn: String,
        document: String,
        set_as_default: bool,
        version_id: Option<String>,
    },
    SetDefaultPolicyVersion {
        policy_arn: String,
        version_id: String,
    },
    PutRolePermissionsBoundary {
        role_name: String,
        boundary: String,
    },
    DeleteRolePermissionsBoundary {
        role_name: String,
    },
    UpdateRole {
        role_name: String,
        max_session_duration: Option<u32>,
    },
    TagRole {
        role_name: String,
        keys: Vec<String>,
    },
    UntagRole {
        role_name: String,
        keys: Vec<String>,
    },
    AttachUserPolicy {
        user_name: String,
        policy_arn: String,
    },
    PutUserPolicy {
        user_name: String,
        policy_name: String,
        document: String,
    },
    PutUserPermissionsBoundary {
        user_name: String,
        boundary: String,
    },
    DeleteUserPermissionsBoundary {
        user_name: String,
    },
    AttachGroupPolicy {
        group_name: String,
        policy_arn: String,
    },
    PutGroupPolicy {
        group_name: String,
        policy_name: String,
        document: String,
    },
    AddUserToGroup {
        group_name: String,
        user_name: String,
    },
    /// A managed policy detached from a role, user or group: a finding only
    /// when it denied something (a guardrail).
    DetachPolicy {
        entity: Entity,
        name: String,
        policy_arn: String,
    },
    /// An inline policy deleted from a role, user or group.
    DeletePolicy {
        entity: Entity,
        name: String,
        policy_name: String,
    },
}

/// The IAM principal a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Role,
    User,
    Group,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Role => "role",
            Entity::User => "user",
            Entity::Group => "group",
        }
    }
}

impl Change {
    pub fn from_trail(t: &CloudTrail) -> Result<Change, EventError> {
        let name = t.event_name.as_str();
        let source = t.event_source.as_deref().unwrap_or("iam.amazonaws.com");
        if source != "iam.amazonaws.com" || !HANDLED.contains(&name) {
            return Err(EventError::Unsupported {
                service: source.trim_end_matches(".amazonaws.com").into(),
                name: name.into(),
            });
        }
        let empty = Value::Null;
        let p = t.request_parameters.as_ref().unwrap_or(&empty);
        // A failed call changed nothing and is never judged: CloudTrail
        // often logs it with `requestParameters: null`, so its fields may be
        // missing (empty here) without that being an error.
        let failed = t.error_code.is_some();
        let s = |field: &'static str| -> Result<String, EventError> {
            match document_text(p.get(field)) {
                Some(text) => Ok(text),
                None if failed => Ok(String::new()),
                None => Err(EventError::MissingField {
                    name: name.into(),
                    field,
                }),
            }
        };
        let opt = |field: &str| p.get(field).and_then(Value::as_str).map(str::to_owned);
        let num = |field: &str| {
            p.get(field).and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .and_then(|n| u32::try_from(n).ok())
            })
        };
        let tag_keys = |field: &str| -> Vec<String> {
            match p.get(field) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().or_else(|| i.get("key").and_then(Value::as_str)))
                    .map(str::to_owned)
                    .collect(),
                _ => vec![],
            }
        };
        Ok(match name {
            "CreateRole" => Change::CreateRole {
                role_name: s("roleName")?,
                path: opt("path"),
                trust_policy: s("assumeRolePolicyDocument")?,
                max_session_duration: num("maxSessionDuration"),
                permissions_boundary: opt("permissionsBoundary"),
            },
            "UpdateAssumeRolePolicy" => Change::UpdateAssumeRolePolicy {
                role_name: s("roleName")?,
                trust_policy: s("policyDocument")?,
            },
            "AttachRolePolicy" => Change::AttachRolePolicy {
                role_name: s("roleName")?,
                policy_arn: s("policyArn")?,
            },
            "PutRolePolicy" => Change::PutRolePolicy {
                role_name: s("roleName")?,
                policy_name: s("policyName")?,
                document: s("policyDocument")?,
            },
            "CreatePolicyVersion" => Change::CreatePolicyVersion {
                policy_arn: s("policyArn")?,
                document: s("policyDocument")?,
                set_as_default: p
                    .get("setAsDefault")
                    .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true")),
                version_id: t
                    .response_elements
                    .as_ref()
                    .and_then(|r| r.pointer("/policyVersion/versionId"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            "SetDefaultPolicyVersion" => Change::SetDefaultPolicyVersion {
                policy_arn: s("policyArn")?,
                version_id: s("versionId")?,
            },
            "PutRolePermissionsBoundary" => Change::PutRolePermissionsBoundary {
                role_name: s("roleName")?,
                boundary: s("permissionsBoundary")?,
            },
            "DeleteRolePermissionsBoundary" => Change::DeleteRolePermissionsBoundary {
                role_name: s("roleName")?,
            },
            "UpdateRole" => Change::UpdateRole {
                role_name: s("roleName")?,
                max_session_duration: num("maxSessionDuration"),
            },
            "TagRole" => Change::TagRole {
                role_name: s("roleName")?,
                keys: tag_keys("tags"),
            },
            "UntagRole" => Change::UntagRole {
                role_name: s("roleName")?,
                keys: tag_keys("tagKeys"),
            },
            "AttachUserPolicy" => Change::AttachUserPolicy {
                user_name: s("userName")?,
                policy_arn: s("policyArn")?,
            },
            "PutUserPolicy" => Change::PutUserPolicy {
                user_name: s("userName")?,
                policy_name: s("policyName")?,
                document: s("policyDocument")?,
            },
            "PutUserPermissionsBoundary" => Change::PutUserPermissionsBoundary {
                user_name: s("userName")?,
                boundary: s("permissionsBoundary")?,
            },
            "DeleteUserPermissionsBoundary" => Change::DeleteUserPermissionsBoundary {
                user_name: s("userName")?,
            },
            "AttachGroupPolicy" => Change::AttachGroupPolicy {
                group_name: s("groupName")?,
                policy_arn: s("policyArn")?,
            },
            "PutGroupPolicy" => Change::PutGroupPolicy {
                group_name: s("groupName")?,
                policy_name: s("policyName")?,
                document: s("policyDocument")?,
            },
            "AddUserToGroup" => Change::AddUserToGroup {
                group_name: s("groupName")?,
                user_name: s("userName")?,
            },
            "DetachRolePolicy" | "DetachUserPolicy" | "DetachGroupPolicy" => {
                let (entity, field) = removal_of(name);
                Change::DetachPolicy {
                    entity,
                    name: s(field)?,
                    policy_arn: s("policyArn")?,
                }
            }
            "DeleteRolePolicy" | "DeleteUserPolicy" | "DeleteGroupPolicy" => {
                let (entity, field) = removal_of(name);
                Change::DeletePolicy {
                    entity,
                    name: s(field)?,
                    policy_name: s("policyName")?,
                }
            }
            // HANDLED was checked above: a call in HANDLED without an arm
            // here is reported as unsupported, never a panic.
            _ => {
                return Err(EventError::Unsupported {
                    service: "iam".into(),
                    name: name.into(),
                })
            }
        })
    }

    pub fn call(&self) -> &'static str {
        match self {
            Change::CreateRole { .. } => "CreateRole",
            Change::UpdateAssumeRolePolicy { .. } => "UpdateAssumeRolePolicy",
            Change::AttachRolePolicy { .. } => "AttachRolePolicy",
            Change::PutRolePolicy { .. } => "PutRolePolicy",
            Change::CreatePolicyVersion { .. } => "CreatePolicyVersion",
            Change::SetDefaultPolicyVersion { .. } => "SetDefaultPolicyVersion",
            Change::PutRolePermissionsBoundary { .. } => "PutRolePermissionsBoundary",
            Change::DeleteRolePermissionsBoundary { .. } => "DeleteRolePermissionsBoundary",
            Change::UpdateRole { .. } => "UpdateRole",
            Change::TagRole { .. } => "TagRole",
            Change::UntagRole { .. } => "UntagRole",
            Change::AttachUserPolicy { .. } => "AttachUserPolicy",
            Change::PutUserPolicy { .. } => "PutUserPolicy",
            Change::PutUserPermissionsBoundary { .. } => "PutUserPermissionsBoundary",
            Change::DeleteUserPermissionsBoundary { .. } => "DeleteUserPermissionsBoundary",
            Change::AttachGroupPolicy { .. } => "AttachGroupPolicy",
            Change::PutGroupPolicy { .. } => "PutGroupPolicy",
            Change::AddUserToGroup { .. } => "AddUserToGroup",
            Change::DetachPolicy { entity, .. } => match entity {
                Entity::Role => "DetachRolePolicy",
                Entity::User => "DetachUserPolicy",
                Entity::Group => "DetachGroupPolicy",
            },
            Change::DeletePolicy { entity, .. } => match entity {
                Entity::Role => "DeleteRolePolicy",
                Entity::User => "DeleteUserPolicy",
                Entity::Group => "DeleteGroupPolicy",
            },
        }
    }

    /// The user or group the change is about (roles: [`Change::role_name`]).
    /// Adding a user to a group is about the user: what the group grants
    /// becomes the user's.
    pub fn entity(&self) -> Option<(Entity, &str)> {
        match self {
            Change::AttachUserPolicy { user_name, .. }
            | Change::PutUserPolicy { user_name, .. }
            | Change::PutUserPermissionsBoundary { user_name, .. }
            | Change::DeleteUserPermissionsBoundary { user_name }
            | Change::AddUserToGroup { user_name, .. } => Some((Entity::User, user_name)),
            Change::AttachGroupPolicy { group_name, .. }
            | Change::PutGroupPolicy { group_name, .. } => Some((Entity::Group, group_name)),
            Change::DetachPolicy { entity, name, .. }
            | Change::DeletePolicy { entity, name, .. } => Some((*entity, name)),
            _ => self.role_name().map(|r| (Entity::Role, r)),
        }
    }

    /// The role the change is about; managed-policy changes name a policy instead.
    pub fn role_name(&self) -> Option<&str> {
        match self {
            Change::CreateRole { role_name, .. }
            | Change::UpdateAssumeRolePolicy { role_name, .. }
            | Change::AttachRolePolicy { role_name, .. }
            | Change::PutRolePolicy { role_name, .. }
            | Change::PutRolePermissionsBoundary { role_name, .. }
            | Change::DeleteRolePermissionsBoundary { role_name }
            | Change::UpdateRole { role_name, .. }
            | Change::TagRole { role_name, .. }
            | Change::UntagRole { role_name, .. } => Some(role_name),
            Change::DetachPolicy {
                entity: Entity::Role,
                name,
                ..
            }
            | Change::DeletePolicy {
                entity: Entity::Role,
                name,
                ..
            } => Some(name),
            _ => None,
        }
    }
}

/// The principal a removal call names, and its request field.
fn removal_of(call: &str) -> (Entity, &'static str) {
    if call.contains("User") {
        (Entity::User, "userName")
    } else if call.contains("Group") {
        (Entity::Group, "groupName")
    } else {
        (Entity::Role, "roleName")
    }
}

/// A document in requestParameters: a JSON string (possibly URL-encoded), or,
/// from some producers, an object.
fn document_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        o @ Value::Object(_) => Some(o.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(detail: Value) -> String {
        serde_json::json!({
            "version": "0", "id": "ev-1", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam", "account": "111122223333", "time": "2026-11-22T10:00:00Z",
            "region": "us-east-1", "resources": [], "detail": detail
        })
        .to_string()
    }

    #[test]
    fn minimal_event_without_optional_fields() {
        let e = Event::parse(&envelope(serde_json::json!({
            "eventName": "AttachRolePolicy",
            "requestParameters": {"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
        })))
        .unwrap();
        assert_eq!(e.id.as_deref(), Some("ev-1"));
        assert_eq!(e.account.as_deref(), Some("111122223333"));
        assert!(e.trail.user_agent.is_none() && e.actor().is_none());
        assert_eq!(
            e.change().unwrap(),
            Change::AttachRolePolicy {
                role_name: "app".into(),
                policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into()
            }
        );
    }

    #[test]
    fn keeps_error_code_recipient_and_actor() {
        let e = Event::parse(&envelope(serde_json::json!({
            "eventName": "PutRolePolicy", "eventSource": "iam.amazonaws.com",
            "errorCode": "AccessDenied", "recipientAccountId": "444455556666", "extraField": [1, 2],
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::444455556666:assumed-role/deployer/s1",
              "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::444455556666:role/ci/deployer"}}},
            "requestParameters": {"roleName": "app", "policyName": "p", "policyDocument": "{}"}
        })))
        .unwrap();
        assert_eq!(e.trail.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(e.account.as_deref(), Some("444455556666"));
        assert_eq!(
            e.actor(),
            Some("arn:aws:iam::444455556666:role/ci/deployer")
        );
        assert_eq!(e.actor_role(), Some(("444455556666", "deployer")));
    }

    #[test]
    fn bare_cloudtrail_record() {
        let e = Event::parse(r#"{"eventName":"UpdateRole","eventID":"x","userIdentity":{"accountId":"111122223333"},"requestParameters":{"roleName":"r","maxSessionDuration":43200}}"#).unwrap();
        assert_eq!(e.id.as_deref(), Some("x"));
        assert_eq!(e.account.as_deref(), Some("111122223333"));
        assert_eq!(
            e.change().unwrap(),
            Change::UpdateRole {
                role_name: "r".into(),
                max_session_duration: Some(43200)
            }
        );
    }

    #[test]
    fn tags_and_versions() {
        let tag = Change::from_trail(&serde_json::from_value(serde_json::json!({
            "eventName": "TagRole", "requestParameters": {"roleName": "r", "tags": [{"key": "roleguard:status", "value": "ok"}]}
        })).unwrap()).unwrap();
        assert_eq!(
            tag,
            Change::TagRole {
                role_name: "r".into(),
                keys: vec!["roleguard:status".into()]
            }
        );
        let untag = Change::from_trail(&serde_json::from_value(serde_json::json!({
            "eventName": "UntagRole", "requestParameters": {"roleName": "r", "tagKeys": ["roleguard:status"]}
        })).unwrap()).unwrap();
        assert_eq!(
            untag,
            Change::UntagRole {
                role_name: "r".into(),
                keys: vec!["roleguard:status".into()]
            }
        );
        let v = Change::from_trail(&serde_json::from_value(serde_json::json!({
            "eventName": "CreatePolicyVersion",
            "requestParameters": {"policyArn": "arn:aws:iam::111122223333:policy/p", "policyDocument": "{}", "setAsDefault": true},
            "responseElements": {"policyVersion": {"versionId": "v3", "isDefaultVersion": true}}
        })).unwrap()).unwrap();
        assert!(
            matches!(v, Change::CreatePolicyVersion { set_as_default: true, version_id: Some(ref id), .. } if id == "v3")
        );
    }

    #[test]
    fn bad_events_say_why() {
        assert!(matches!(Event::parse("{"), Err(EventError::Malformed(_))));
        assert_eq!(
            Event::parse("[]").unwrap_err().to_string(),
            "not a CloudTrail event: expected a JSON object"
        );
        assert!(Event::parse(r#"{"foo":1}"#)
            .unwrap_err()
            .to_string()
            .contains("neither an EventBridge event"));
        assert!(Event::parse(r#"{"detail":{"eventName":5}}"#)
            .unwrap_err()
            .to_string()
            .starts_with("not a CloudTrail event: invalid type"));
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_EVENT_BYTES));
        assert!(matches!(
            Event::parse(&big),
            Err(EventError::TooLarge { .. })
        ));
        let e = Event::parse(&envelope(
            serde_json::json!({"eventName": "DeleteUser", "eventSource": "iam.amazonaws.com"}),
        ))
        .unwrap();
        assert!(e
            .change()
            .unwrap_err()
            .to_string()
            .starts_with("unsupported call iam:DeleteUser (roleguard handles CreateRole,"));
        let e = Event::parse(&envelope(
            serde_json::json!({"eventName": "CreateRole", "requestParameters": {"roleName": "r"}}),
        ))
        .unwrap();
        assert_eq!(
            e.change().unwrap_err().to_string(),
            "CreateRole: requestParameters.assumeRolePolicyDocument is missing or not a string"
        );
    }
}
