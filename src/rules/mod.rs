//! The least-privilege rules. Each rule has a stable id, a default severity,
//! and the text a person needs: title, rationale, remediation, references.
//!
//! - [`trust`]: who may assume a role (`trust-*` rules);
//! - [`permissions`]: what a role may do (`perm-*` rules), with the
//!   privilege-escalation paths in [`escalation`];
//! - [`role`]: the role's own settings (`role-*` rules).

pub mod escalation;
pub mod permissions;
pub mod role;
pub mod service_required;
pub mod trust;
pub mod witness;

use crate::config::{Config, Response};

pub use crate::rule_id::RuleId;
pub use crate::severity::Severity;
use serde::Serialize;

/// What a rule judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Trust,
    Permissions,
    Role,
}

impl Target {
    pub fn describe(self) -> &'static str {
        match self {
            Target::Trust => "trust policy",
            Target::Permissions => "permission policy",
            Target::Role => "role settings",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Rule {
    pub id: RuleId,
    pub target: Target,
    pub severity: Severity,
    /// What the Lambda does about it unless configured otherwise.
    pub response: Response,
    pub enabled_by_default: bool,
    pub title: &'static str,
    pub rationale: &'static str,
    pub remediation: &'static str,
    pub references: &'static [&'static str],
}

/// A rule's verdict on one document or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: RuleId,
    pub severity: Severity,
    pub title: &'static str,
    pub message: String,
    /// Indices of the statements that cause it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<usize>,
    /// The actions, principals or paths involved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// For a principal judged as a whole: the documents that take part
    /// (`inline policy NAME`, a managed policy's ARN).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Severity steps taken off because a condition narrows the grant.
    #[serde(skip)]
    pub lowered: u8,
}

impl Finding {
    pub fn new(rule: RuleId, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity,
            title: get(rule).title,
            message: message.into(),
            statements: vec![],
            details: vec![],
            sources: vec![],
            lowered: 0,
        }
    }
    pub fn statements(mut self, statements: Vec<usize>) -> Finding {
        self.statements = statements;
        self
    }
    pub fn sources(mut self, sources: Vec<String>) -> Finding {
        self.sources = sources;
        self
    }
    pub fn details(mut self, details: Vec<String>) -> Finding {
        self.details = details;
        self
    }
    pub fn lowered(mut self, steps: u8) -> Finding {
        self.lowered = steps;
        self
    }
}

/// What the rules need to know beyond the document.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    /// The account that owns the role, when known.
    pub account: Option<&'a str>,
    /// The role the permission policy belongs to, when known (a role in a
    /// template): what the policy can do to its holder is told apart from
    /// what it can do to other roles.
    pub holder: Option<Holder<'a>>,
}

/// The role that holds a permission policy.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub role_arn: &'a str,
    /// The managed policies the role attaches.
    pub attached: &'a [String],
}

/// Rules' findings plus what could not be judged and why.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Judgement {
    pub fn extend(&mut self, other: Judgement) {
        self.findings.extend(other.findings);
        self.notes.extend(other.notes);
    }

    /// Apply the configuration (disabled rules, severity overrides) and sort
    /// the findings, most severe first.
    pub fn finish(mut self, config: &Config) -> Judgement {
        self.findings.retain(|f| get(f.rule).enabled_in(config));
        for f in &mut self.findings {
            if let Some(s) = config.rule_severity(f.rule.as_str()) {
                f.severity = s;
            }
            f.severity = f.severity.lowered(f.lowered);
        }
        self.findings
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
        self.notes.sort();
        self.notes.dedup();
        self
    }

    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// A list of names for a message: the first few, then how many more.
pub(crate) fn list(names: &[String], shown: usize) -> String {
    if names.len() <= shown {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names
                .iter()
                .take(shown)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            names.len() - shown
        )
    }
}

/// Every rule, in the order `roleguard rules` prints them.
pub static RULES: &[Rule] = &[
    // ---- trust policy -------------------------------------------------
    Rule {
        id: RuleId::TrustAnyPrincipal,
        target: Target::Trust,
        severity: Severity::Critical,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Role can be assumed by any AWS principal",
        rationale: "`\"Principal\": \"*\"`, `{\"AWS\": \"*\"}` or an Allow with NotPrincipal lets every AWS account in the world ask for this role's credentials. Unless a condition narrows the caller to your organisation or accounts (aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn, aws:SourceAccount, aws:SourceArn...), the role is public.",
        remediation: "Name the accounts or roles that may assume the role, or add a condition such as `\"StringEquals\": {\"aws:PrincipalOrgID\": \"o-...\"}`.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous"],
    },
    Rule {
        id: RuleId::TrustUntrustedAccount,
        target: Target::Trust,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Role trusts an account outside the trusted-accounts list",
        rationale: "When trusted_accounts (or organization_id) is configured, roles must trust only those accounts or your organisation. A foreign account can be compromised, sold or simply mistyped.",
        remediation: "Remove the account from the trust policy, or add it to trusted_accounts after review.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_aws-accounts.html"],
    },
    Rule {
        id: RuleId::TrustCrossAccountNoExternalId,
        target: Target::Trust,
        severity: Severity::High,
        response: Response::Tag,
        enabled_by_default: true,
        title: "Cross-account trust without sts:ExternalId or MFA",
        rationale: "A third party that assumes roles in many customers' accounts can be tricked into using its access on your role (the confused deputy). An sts:ExternalId condition ties the trust to your agreement with it; for people, aws:MultiFactorAuthPresent plays that part.",
        remediation: "Add `\"StringEquals\": {\"sts:ExternalId\": \"<unique id>\"}`, or for human roles `\"Bool\": {\"aws:MultiFactorAuthPresent\": \"true\"}`, or list the account in trusted_accounts.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html"],
    },
    Rule {
        id: RuleId::TrustOidcUnconstrained,
        target: Target::Trust,
        severity: Severity::Critical,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Web-identity trust that does not pin the caller",
        rationale: "A web identity provider issues tokens to everybody who uses it. Each provider has the claims that say whose a token is: GitHub's and GitLab's `sub` (its repository owner or group), EKS's `sub` (its namespace), a Cognito identity pool's `aud` (the pool) with `amr` or `sub`, Login with Amazon's and Facebook's `app_id`, Google's `aud`, another provider's `sub`. Without a condition naming them concretely (a wildcard such as `repo:*` or `system:*` names nobody), anyone on that provider can assume the role.",
        remediation: "Add `StringEquals` (or `StringLike` with a concrete owner) on the provider's pinning claim, e.g. `token.actions.githubusercontent.com:sub` = `repo:my-org/my-repo:ref:refs/heads/main`, `cognito-identity.amazonaws.com:aud` = the pool id with `amr` = `authenticated`.",
        references: &[
            "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services",
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html",
        ],
    },
    Rule {
        id: RuleId::TrustOidcNotAllowed,
        target: Target::Trust,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "OIDC provider or subject outside the allowed lists",
        rationale: "When allowed_oidc_providers or allowed_oidc_subjects is configured, roles may trust only those identity providers and subjects.",
        remediation: "Trust an allowed provider and subject, or extend the allowed lists after review.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif"],
    },
    Rule {
        id: RuleId::TrustSamlNoAudience,
        target: Target::Trust,
        severity: Severity::Medium,
        response: Response::Tag,
        enabled_by_default: true,
        title: "SAML federation without SAML:aud",
        rationale: "Without a `SAML:aud` condition, assertions meant for another endpoint of the same identity provider can be replayed to assume the role.",
        remediation: "Add `\"StringEquals\": {\"SAML:aud\": \"https://signin.aws.amazon.com/saml\"}`.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_saml.html"],
    },
    Rule {
        id: RuleId::TrustServiceConfusedDeputy,
        target: Target::Trust,
        severity: Severity::Low,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Service principal without aws:SourceAccount or aws:SourceArn",
        rationale: "A service that acts for many customers can be made to use your role for someone else's resource unless the trust says whose resource it is. Services in confused_deputy_exempt_services are gated by iam:PassRole in your own account and are not reported.",
        remediation: "Add `\"StringEquals\": {\"aws:SourceAccount\": \"<account>\"}` or an `aws:SourceArn` condition naming the resource.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"],
    },
    Rule {
        id: RuleId::TrustNotPrincipal,
        target: Target::Trust,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Trust policy allows with NotPrincipal",
        rationale: "Allow with NotPrincipal trusts everyone except the principals listed: almost always a mistake, and AWS advises against it.",
        remediation: "Use Principal with the principals that should be trusted.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"],
    },
    Rule {
        id: RuleId::TrustServiceNotAllowed,
        target: Target::Trust,
        severity: Severity::Medium,
        response: Response::Tag,
        enabled_by_default: true,
        title: "Role trusts a service outside allowed_services",
        rationale: "When allowed_services is configured, roles may trust only those AWS services.",
        remediation: "Trust an allowed service, or extend allowed_services after review.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-services-that-work-with-iam.html"],
    },
    // ---- permission policy --------------------------------------------
    Rule {
        id: RuleId::PermFullAdmin,
        target: Target::Permissions,
        severity: Severity::Critical,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Full administrator access",
        rationale: "`\"Action\": \"*\"` on `\"Resource\": \"*\"`, or an Allow with a NotAction that leaves IAM in, grants everything, including the power to grant itself more. The other permission rules are implied and not repeated.",
        remediation: "Grant the actions the workload uses on the resources it uses; IAM Access Analyzer can generate a policy from CloudTrail activity.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"],
    },
    Rule {
        id: RuleId::PermDeniedManagedPolicy,
        target: Target::Permissions,
        severity: Severity::Critical,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Attached AWS managed policy is on the deny list",
        rationale: "Some AWS managed policies (AdministratorAccess, IAMFullAccess, PowerUserAccess...) are too broad for any workload role. The list and each entry's severity are set by denied_managed_policies.",
        remediation: "Detach the policy and attach a customer managed policy with only the needed actions.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html"],
    },
    Rule {
        id: RuleId::PermPrivilegeEscalation,
        target: Target::Permissions,
        severity: Severity::Critical,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Privilege escalation path on unconstrained resources",
        rationale: "These permissions let the role give itself, or a resource it controls, more power than it has: rewrite its policies, mint credentials for other users, or pass a stronger role to code it runs. Each path is listed in the escalation table (`roleguard explain perm-privilege-escalation`).",
        remediation: "Scope the actions to specific resources, add conditions (iam:PassedToService, iam:PolicyARN, iam:PermissionsBoundary), or remove them.",
        references: &[
            "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
            "https://bishopfox.com/blog/privilege-escalation-in-aws",
        ],
    },
    Rule {
        id: RuleId::PermPermissionsManagement,
        target: Target::Permissions,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Permissions-management actions on all resources",
        rationale: "Permissions-management actions change who can access resources (bucket policies, key policies, resource shares...). On `*` they open every such resource in the account. Actions that IAM cannot scope to a resource are not reported.",
        remediation: "Scope the actions to the resources the workload manages.",
        references: &["https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"],
    },
    Rule {
        id: RuleId::PermServiceWildcard,
        target: Target::Permissions,
        severity: Severity::High,
        response: Response::Tag,
        enabled_by_default: true,
        title: "Every action of a service on all resources",
        rationale: "`service:*` on `*` grants every current and future action of the service. High for iam, sts, organizations and kms, medium for other services.",
        remediation: "List the actions the workload uses, and the resources it uses them on.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"],
    },
    Rule {
        id: RuleId::PermWriteUnconstrained,
        target: Target::Permissions,
        severity: Severity::Medium,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Write actions on all resources",
        rationale: "Write actions on `*` let the role change or delete every resource of that type in the account. Actions IAM cannot scope to a resource are not reported, nor those already reported by perm-service-wildcard or perm-privilege-escalation, nor telemetry writes every workload needs (logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents, xray:PutTraceSegments, xray:PutTelemetryRecords).",
        remediation: "Scope the actions to the resources the workload writes.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/access_controlling.html#access_controlling-resources"],
    },
    Rule {
        id: RuleId::PermDataExfiltration,
        target: Target::Permissions,
        severity: Severity::Medium,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Data-exfiltration reads on all resources",
        rationale: "s3:GetObject, secretsmanager:GetSecretValue, ssm:GetParameter* and kms:Decrypt on `*` read every object, secret, parameter or encrypted value the account holds.",
        remediation: "Scope the reads to the buckets, secrets, parameters and keys the workload needs.",
        references: &["https://cloudsplaining.readthedocs.io/en/latest/glossary/data-exfiltration/"],
    },
    Rule {
        id: RuleId::PermCredentialExposure,
        target: Target::Permissions,
        severity: Severity::Medium,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Actions that return credentials, on all resources",
        rationale: "Some actions return secrets or credentials (access keys, database tokens, instance passwords, federation tokens). On `*` the role can obtain them for every resource.",
        remediation: "Scope the actions to specific resources, or remove them.",
        references: &["https://cloudsplaining.readthedocs.io/en/latest/glossary/credentials-exposure/"],
    },
    Rule {
        id: RuleId::PermPassroleUnconstrained,
        target: Target::Permissions,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "iam:PassRole on all roles without iam:PassedToService",
        rationale: "iam:PassRole on `*` lets the role hand any role in the account, administrators included, to a service it can drive.",
        remediation: "Scope iam:PassRole to the role ARNs the workload passes, and add `\"StringEquals\": {\"iam:PassedToService\": \"<service>.amazonaws.com\"}`.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"],
    },
    Rule {
        id: RuleId::PermAssumeAnyRole,
        target: Target::Permissions,
        severity: Severity::Medium,
        response: Response::Notify,
        enabled_by_default: true,
        title: "sts:AssumeRole on all roles",
        rationale: "sts:AssumeRole on `*` lets the role assume every role whose trust policy admits it, in any account; its power is then the union of theirs.",
        remediation: "Scope sts:AssumeRole to the role ARNs the workload assumes.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html"],
    },
    Rule {
        id: RuleId::PermModifiesOtherRoles,
        target: Target::Permissions,
        severity: Severity::Medium,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Changes other roles' permissions, not its own",
        rationale: "The policy lets its role change the permissions or trust of other roles and policies on all resources, which would be privilege escalation, but its own role is out of reach: every call that would loosen it is denied on it, it can neither assume nor pass other roles, and it uses no customer managed policy whose version it could switch. It cannot raise its own power; whoever controls it (its code, its deployment) can change everyone else's. Remediation tools, deployment pipelines and break-glass automation need this; nothing else does.",
        remediation: "Keep it for roles whose job is to change IAM (roleguard's own execution and remediation roles), keep the Deny on the role itself, keep who can change that role's code and deployment small, and scope the resources to the roles it manages where you can.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_evaluation-logic.html", "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"],
    },
    Rule {
        id: RuleId::PermNotActionOrResource,
        target: Target::Permissions,
        severity: Severity::High,
        response: Response::Tag,
        enabled_by_default: true,
        title: "Allow with NotAction or NotResource",
        rationale: "Allow with NotAction grants every action but the listed ones, including every action AWS adds later; Allow with NotResource grants on every resource but the listed ones. Both grant far more than they appear to.",
        remediation: "Use Action and Resource with the actions and resources needed; express exceptions with a Deny statement.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"],
    },
    Rule {
        id: RuleId::PermUnknownAction,
        target: Target::Permissions,
        severity: Severity::Info,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Action matches nothing in the IAM catalog",
        rationale: "An action that matches no known IAM action is usually a typo, which silently grants nothing (or, in a Deny, denies nothing). It may also be an action newer than roleguard's catalog.",
        remediation: "Fix the spelling; if the action is new, regenerate the catalog (scripts/gen-data.py).",
        references: &["https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"],
    },
    // ---- role settings ------------------------------------------------
    Rule {
        id: RuleId::PermGuardrailRemoved,
        target: Target::Permissions,
        severity: Severity::High,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Guardrail removed",
        rationale: "A policy that denies is a guardrail: detaching it (Detach*Policy) or deleting it (Delete*Policy) from a role, user or group widens what the principal may do as surely as an attachment. Its severity follows what the Deny covered: every action is critical, IAM or an escalation path's actions high, others medium. A removal of a policy that only allows shrinks permissions and is nothing to do.",
        remediation: "Put the guardrail back, or list it in required_guardrails so that roleguard does.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"],
    },
    Rule {
        id: RuleId::PermRequiredGuardrailRemoved,
        target: Target::Permissions,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Required guardrail removed",
        rationale: "A policy listed in required_guardrails (a managed policy ARN, or an inline policy name) was detached or deleted.",
        remediation: "roleguard re-attaches the managed policy, or puts the inline policy back from the role's baseline in the audit table.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"],
    },
    Rule {
        id: RuleId::RoleMaxSessionDuration,
        target: Target::Role,
        severity: Severity::Medium,
        response: Response::Revert,
        enabled_by_default: true,
        title: "MaxSessionDuration above the configured maximum",
        rationale: "Long sessions keep stolen credentials useful for longer. The maximum is max_session_duration (default one hour).",
        remediation: "Set MaxSessionDuration to at most the configured maximum.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-settings.html#id_roles_update-session-duration"],
    },
    Rule {
        id: RuleId::RoleBoundaryRemoved,
        target: Target::Role,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Permissions boundary removed",
        rationale: "A permissions boundary caps what a role's policies can grant; removing it (DeleteRolePermissionsBoundary) hands the role everything its policies say, which is how a boundary-capped developer role becomes an administrator. It is the iam-delete-role-boundary escalation path carried out.",
        remediation: "Put the previous boundary back (PutRolePermissionsBoundary): roleguard does, from the role's baseline in the audit table, or the required_boundary when one is configured; otherwise it tags the role and notifies.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html", "https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRolePermissionsBoundary.html"],
    },
    Rule {
        id: RuleId::RoleMissingBoundary,
        target: Target::Role,
        severity: Severity::High,
        response: Response::Revert,
        enabled_by_default: true,
        title: "Required permissions boundary missing",
        rationale: "When required_boundary is configured, every role must carry that permissions boundary, which caps what its policies can grant.",
        remediation: "Put the required boundary on the role (PutRolePermissionsBoundary).",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"],
    },
    Rule {
        id: RuleId::RoleInlinePolicy,
        target: Target::Role,
        severity: Severity::Medium,
        response: Response::Notify,
        enabled_by_default: true,
        title: "Inline role policy",
        rationale: "With forbid_inline_policies set, permissions must come from managed policies, which are versioned, reviewable and reusable.",
        remediation: "Move the statements to a customer managed policy and attach it.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html"],
    },
    Rule {
        id: RuleId::RoleRoleguardChanged,
        target: Target::Role,
        severity: Severity::Critical,
        response: Response::Revert,
        enabled_by_default: true,
        title: "A change to roleguard's own role",
        rationale: "Whoever can change the guard's own roles can switch the guard off or turn it into a tool; roleguard's roles (own_roles by ARN, and the remediation role) change only through their CloudFormation stack. Any other change to them is reverted where roleguard can undo it (an attached policy detached, an added inline policy deleted) and reported as critical where its own Deny keeps it from rewriting itself (trust policy, boundary).",
        remediation: "Change roleguard's roles only by updating its stack. If the change was not yours, find who made it (the alert names the caller) and redeploy the stack to restore the role.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html"],
    },
    Rule {
        id: RuleId::RoleGuardTagTampering,
        target: Target::Role,
        severity: Severity::Medium,
        response: Response::Tag,
        enabled_by_default: true,
        title: "roleguard's tags changed by someone else",
        rationale: "roleguard records its verdict in roleguard:* tags; changing or removing them hides a finding from whoever reads them.",
        remediation: "Leave roleguard:* tags to roleguard; fix the role and it will update them.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html"],
    },
];

/// The rule with this id.
pub fn get(id: RuleId) -> &'static Rule {
    // RULES holds one rule per id, in the order of RuleId::ALL (a unit test
    // proves it), so the index is in range.
    #[allow(clippy::indexing_slicing)]
    &RULES[id as usize]
}

impl Rule {
    /// Does the rule run under `config`? Its own setting, or its default.
    pub fn enabled_in(&self, config: &Config) -> bool {
        config
            .rule_settings(self.id.as_str())
            .and_then(|s| s.enabled)
            .unwrap_or(self.enabled_by_default)
    }

    /// What the Lambda does about the rule's findings under `config`.
    pub fn response_in(&self, config: &Config) -> Response {
        config
            .rule_settings(self.id.as_str())
            .and_then(|s| s.action)
            .unwrap_or(self.response)
    }
}

/// A rule by its id's string form.
pub fn rule(id: &str) -> Option<&'static Rule> {
    id.parse::<RuleId>().ok().map(get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_well_formed() {
        assert_eq!(RULES.len(), RuleId::ALL.len(), "one rule per id");
        for (i, id) in RuleId::ALL.into_iter().enumerate() {
            assert_eq!(RULES[i].id, id, "RULES is in the order of RuleId::ALL");
            assert_eq!(id as usize, i);
            assert_eq!(id.as_str().parse::<RuleId>(), Ok(id));
            assert_eq!(rule(id.as_str()).map(|r| r.id), Some(id));
        }
        assert_eq!(rule("perm-no-such-rule").map(|r| r.id), None);
        for r in RULES {
            let prefix = match r.target {
                Target::Trust => "trust-",
                Target::Permissions => "perm-",
                Target::Role => "role-",
            };
            assert!(
                r.id.as_str().starts_with(prefix),
                "{} has the wrong prefix",
                r.id
            );
            assert!(!r.title.is_empty() && !r.rationale.is_empty() && !r.remediation.is_empty());
            assert!(
                !r.references.is_empty() && r.references.iter().all(|u| u.starts_with("https://"))
            );
        }
    }

    #[test]
    fn severities_order_and_lower() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!(Severity::Critical.lowered(1), Severity::High);
        assert_eq!(Severity::Low.lowered(5), Severity::Info);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("huge".parse::<Severity>().is_err());
    }

    #[test]
    fn finish_applies_configuration() {
        let config = Config::from_yaml(
            "rules:\n  perm-assume-any-role: {enabled: false}\n  perm-write-unconstrained: {severity: low}\n",
        )
        .unwrap();
        let j = Judgement {
            findings: vec![
                Finding::new(RuleId::PermAssumeAnyRole, Severity::Medium, "a"),
                Finding::new(RuleId::PermWriteUnconstrained, Severity::Medium, "b").lowered(1),
                Finding::new(RuleId::PermFullAdmin, Severity::Critical, "c").lowered(1),
            ],
            notes: vec![],
        }
        .finish(&config);
        let got: Vec<_> = j
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            vec![
                ("perm-full-admin", Severity::High),
                ("perm-write-unconstrained", Severity::Info)
            ]
        );
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod rule_tests;
