//! The rules' ids: one variant per rule, so a misspelt id does not compile.
//! The string form (`trust-any-principal`) is what output and configuration
//! use.

use serde::{Serialize, Serializer};

/// A rule's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleId {
    TrustAnyPrincipal,
    TrustUntrustedAccount,
    TrustCrossAccountNoExternalId,
    TrustOidcUnconstrained,
    TrustOidcNotAllowed,
    TrustSamlNoAudience,
    TrustServiceConfusedDeputy,
    TrustNotPrincipal,
    TrustServiceNotAllowed,
    PermFullAdmin,
    PermDeniedManagedPolicy,
    PermPrivilegeEscalation,
    PermPermissionsManagement,
    PermServiceWildcard,
    PermWriteUnconstrained,
    PermDataExfiltration,
    PermCredentialExposure,
    PermPassroleUnconstrained,
    PermAssumeAnyRole,
    PermModifiesOtherRoles,
    PermNotActionOrResource,
    PermUnknownAction,
    PermGuardrailRemoved,
    PermRequiredGuardrailRemoved,
    RoleMaxSessionDuration,
    RoleBoundaryRemoved,
    RoleMissingBoundary,
    RoleInlinePolicy,
    RoleRoleguardChanged,
    RoleGuardTagTampering,
}

impl RuleId {
    /// Every rule id, in the order `roleguard rules` prints them.
    pub const ALL: [RuleId; 30] = [
        RuleId::TrustAnyPrincipal,
        RuleId::TrustUntrustedAccount,
        RuleId::TrustCrossAccountNoExternalId,
        RuleId::TrustOidcUnconstrained,
        RuleId::TrustOidcNotAllowed,
        RuleId::TrustSamlNoAudience,
        RuleId::TrustServiceConfusedDeputy,
        RuleId::TrustNotPrincipal,
        RuleId::TrustServiceNotAllowed,
        RuleId::PermFullAdmin,
        RuleId::PermDeniedManagedPolicy,
        RuleId::PermPrivilegeEscalation,
        RuleId::PermPermissionsManagement,
        RuleId::PermServiceWildcard,
        RuleId::PermWriteUnconstrained,
        RuleId::PermDataExfiltration,
        RuleId::PermCredentialExposure,
        RuleId::PermPassroleUnconstrained,
        RuleId::PermAssumeAnyRole,
        RuleId::PermModifiesOtherRoles,
        RuleId::PermNotActionOrResource,
        RuleId::PermUnknownAction,
        RuleId::PermGuardrailRemoved,
        RuleId::PermRequiredGuardrailRemoved,
        RuleId::RoleMaxSessionDuration,
        RuleId::RoleBoundaryRemoved,
        RuleId::RoleMissingBoundary,
        RuleId::RoleInlinePolicy,
        RuleId::RoleRoleguardChanged,
        RuleId::RoleGuardTagTampering,
    ];

    /// The id as output and configuration spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::TrustAnyPrincipal => "trust-any-principal",
            RuleId::TrustUntrustedAccount => "trust-untrusted-account",
            RuleId::TrustCrossAccountNoExternalId => "trust-cross-account-no-external-id",
            RuleId::TrustOidcUnconstrained => "trust-oidc-unconstrained",
            RuleId::TrustOidcNotAllowed => "trust-oidc-not-allowed",
            RuleId::TrustSamlNoAudience => "trust-saml-no-audience",
            RuleId::TrustServiceConfusedDeputy => "trust-service-confused-deputy",
            RuleId::TrustNotPrincipal => "trust-not-principal",
            RuleId::TrustServiceNotAllowed => "trust-service-not-allowed",
            RuleId::PermFullAdmin => "perm-full-admin",
            RuleId::PermDeniedManagedPolicy => "perm-denied-managed-policy",
            RuleId::PermPrivilegeEscalation => "perm-privilege-escalation",
            RuleId::PermPermissionsManagement => "perm-permissions-management",
            RuleId::PermServiceWildcard => "perm-service-wildcard",
            RuleId::PermWriteUnconstrained => "perm-write-unconstrained",
            RuleId::PermDataExfiltration => "perm-data-exfiltration",
            RuleId::PermCredentialExposure => "perm-credential-exposure",
            RuleId::PermPassroleUnconstrained => "perm-passrole-unconstrained",
            RuleId::PermAssumeAnyRole => "perm-assume-any-role",
            RuleId::PermModifiesOtherRoles => "perm-modifies-other-roles",
            RuleId::PermNotActionOrResource => "perm-not-action-or-resource",
            RuleId::PermUnknownAction => "perm-unknown-action",
            RuleId::PermGuardrailRemoved => "perm-guardrail-removed",
            RuleId::PermRequiredGuardrailRemoved => "perm-required-guardrail-removed",
            RuleId::RoleMaxSessionDuration => "role-max-session-duration",
            RuleId::RoleBoundaryRemoved => "role-boundary-removed",
            RuleId::RoleMissingBoundary => "role-missing-boundary",
            RuleId::RoleInlinePolicy => "role-inline-policy",
            RuleId::RoleRoleguardChanged => "role-roleguard-changed",
            RuleId::RoleGuardTagTampering => "role-guard-tag-tampering",
        }
    }
}

impl std::str::FromStr for RuleId {
    type Err = String;
    fn from_str(s: &str) -> Result<RuleId, String> {
        RuleId::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown rule {s:?} (see `roleguard rules`)"))
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ordered by the string form, as output sorts findings.
impl Ord for RuleId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for RuleId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
