//! What roleguard may do in a member account: the remediation role's
//! session name, the IAM actions it calls, and the session policy it passes.
//! Pure data: the template, the dogfood test and the STS adapter read it.

use serde_json::Value;

/// The session name roleguard gives its sessions of the remediation role in
/// member accounts: with the role's ARN, what tells its own changes there.
pub const SESSION_NAME: &str = "roleguard";

/// The IAM actions the executor and [`handle`] call, and nothing else: the
/// session policy for a member account's remediation role, and what
/// roleguard's own roles need.
pub const REMEDIATION_ACTIONS: &[&str] = &[
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:DeleteGroupPolicy",
    "iam:DeletePolicyVersion",
    "iam:DeleteRolePolicy",
    "iam:DeleteUserPolicy",
    "iam:DetachGroupPolicy",
    "iam:DetachRolePolicy",
    "iam:DetachUserPolicy",
    "iam:GetGroup",
    "iam:GetGroupPolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:GetUser",
    "iam:GetUserPolicy",
    "iam:ListAttachedGroupPolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListAttachedUserPolicies",
    "iam:ListEntitiesForPolicy",
    "iam:ListGroupPolicies",
    "iam:ListGroupsForUser",
    "iam:ListPolicyVersions",
    "iam:ListRolePolicies",
    "iam:ListUserPolicies",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:RemoveUserFromGroup",
    "iam:SetDefaultPolicyVersion",
    "iam:TagRole",
    "iam:TagUser",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];

/// What roleguard reads after a trust revert: who assumed the role in the
/// window ([`crate::sessions`]). CloudTrail cannot scope it to a resource.
pub const LOOKUP_ACTIONS: &[&str] = &["cloudtrail:LookupEvents"];

/// The session policy roleguard passes when it assumes a member account's
/// remediation role: whatever that role allows, the session can make only the
/// remediation calls, and only on that account's roles, users, groups and policies, and
/// read the account's CloudTrail history ([`LOOKUP_ACTIONS`]).
pub fn session_policy(account: &str) -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RoleguardRemediationOnly",
            "Effect": "Allow",
            "Action": REMEDIATION_ACTIONS,
            "Resource": [
                format!("arn:aws:iam::{account}:role/*"),
                format!("arn:aws:iam::{account}:user/*"),
                format!("arn:aws:iam::{account}:group/*"),
                format!("arn:aws:iam::{account}:policy/*"),
            ],
        }, {
            "Sid": "WhoUsedTheWindow",
            "Effect": "Allow",
            "Action": LOOKUP_ACTIONS,
            "Resource": "*",
        }]
    })
}

/// The ARN of a member account's remediation role.
pub fn remediation_role_arn(account: &str, role_name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role_name}")
}
