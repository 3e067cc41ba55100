//! Trust-policy rules (`trust-*`): who may assume the role.

use super::{list, Context, Finding, Judgement, Severity};
use crate::pattern;
use crate::policy::{
    principal_account, Condition, Effect, Either, Policy, PrincipalKind, Principals, Statement,
};

/// Condition keys that narrow "any principal" to an organisation, accounts or
/// specific principals or resources.
const NARROWING_KEYS: &[&str] = &[
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:userid",
];

/// Condition keys that tie a service principal to your own resource.
const SOURCE_KEYS: &[&str] = &[
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
];

/// Identity providers that need no IAM provider resource.
const BUILT_IN_WEB_IDENTITY: &[&str] = &[
    "cognito-identity.amazonaws.com",
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
];

/// A positive condition on `key` whose values are not all wildcards.
fn requires(s: &Statement, key: &str) -> bool {
    s.condition(key).any(|c| {
        !c.is_negated()
            && c.operator != "Null"
            && !c.values.iter().all(|v| pattern::is_only_wildcards(v))
    })
}

/// The values a statement requires for a key (positive conditions only).
fn required_values<'s>(s: &'s Statement, key: &str) -> Vec<&'s Condition> {
    s.condition(key)
        .filter(|c| !c.is_negated() && c.operator != "Null")
        .collect()
}

/// A Deny for every principal, unconditional but for a negated condition on a
/// narrowing key: `Deny * unless aws:PrincipalOrgID = o-...`.
fn deny_narrows(policy: &Policy) -> bool {
    policy.statements.iter().any(|s| {
        s.effect == Effect::Deny
            && matches!(&s.principal, Some(Either::Is(p)) if p.entries().any(|(k, v)| k == PrincipalKind::Aws && v == "*"))
            && !s.conditions.is_empty()
            && s.conditions.iter().all(|c| {
                c.is_negated() && NARROWING_KEYS.iter().any(|k| c.key_is(k)) && !c.values.iter().any(|v| pattern::is_only_wildcards(v))
            })
    })
}

fn narrowed(s: &Statement, deny: bool) -> bool {
    deny || NARROWING_KEYS.iter().any(|k| requires(s, k))
}

/// The organisation ids a statement requires.
fn org_ids(s: &Statement) -> Vec<&str> {
    required_values(s, "aws:PrincipalOrgID")
        .into_iter()
        .flat_map(|c| c.values.iter().map(String::as_str))
        .collect()
}

enum Federation<'a> {
    /// Web identity through this provider host (`token.actions.githubusercontent.com`).
    Oidc(&'a str),
    Saml,
    Other,
}

fn federation(value: &str) -> Federation<'_> {
    if let Some(i) = value.find(":oidc-provider/") {
        return Federation::Oidc(&value[i + ":oidc-provider/".len()..]);
    }
    if value.contains(":saml-provider/") {
        return Federation::Saml;
    }
    if BUILT_IN_WEB_IDENTITY.contains(&value) {
        return Federation::Oidc(value);
    }
    Federation::Other
}

/// Is an OIDC subject pattern so wide that anyone on the provider matches?
fn subject_is_wild(provider: &str, value: &str) -> bool {
    if pattern::is_only_wildcards(value) {
        return true;
    }
    let starts_wild = |s: &str| s.starts_with('*') || s.starts_with('?');
    if provider.eq_ignore_ascii_case("token.actions.githubusercontent.com") {
        // repo:OWNER/REPO:...; a wildcard in OWNER lets any GitHub user in.
        let rest = value.strip_prefix("repo:").unwrap_or(value);
        let owner = rest.split(['/', ':']).next().unwrap_or(rest);
        return rest.is_empty() || pattern::has_wildcard(owner) || starts_wild(rest);
    }
    if let Some(rest) = value.strip_prefix("system:serviceaccount:") {
        return rest.is_empty() || starts_wild(rest);
    }
    starts_wild(value)
}

/// Judge a trust policy.
pub fn judge(policy: &Policy, ctx: &Context) -> Judgement {
    let mut out = Judgement::default();
    let config = ctx.config;
    let deny = deny_narrows(policy);
    let mut foreign_seen = false;

    for s in policy.allows() {
        let Some(principal) = &s.principal else {
            continue;
        };
        let label = s.label();
        let is_narrowed = narrowed(s, deny);

        if let Either::Not(p) = principal {
            out.findings.push(
                Finding::new(
                    "trust-not-principal",
                    Severity::High,
                    format!("{label} allows with NotPrincipal"),
                )
                .statements(vec![s.index]),
            );
            if !is_narrowed {
                out.findings.push(
                    Finding::new(
                        "trust-any-principal",
                        Severity::Critical,
                        format!(
                            "{label} trusts every principal except {} with no organisation or account condition",
                            list(&p.entries().map(|(_, v)| v.to_string()).collect::<Vec<_>>(), 3)
                        ),
                    )
                    .statements(vec![s.index]),
                );
            }
            continue;
        }
        let Either::Is(p) = principal else { continue };
        for (kind, value) in p.entries() {
            match kind {
                PrincipalKind::Aws if value.contains('*') => {
                    if !is_narrowed {
                        let shown = if matches!(p, Principals::Any) {
                            "\"*\"".to_string()
                        } else {
                            format!("AWS {value:?}")
                        };
                        out.findings.push(
                            Finding::new(
                                "trust-any-principal",
                                Severity::Critical,
                                format!("{label} trusts principal {shown} with no organisation or account condition"),
                            )
                            .statements(vec![s.index]),
                        );
                    } else if let Some(org) = &config.organization_id {
                        let orgs = org_ids(s);
                        if !orgs.is_empty() && !orgs.iter().any(|o| o == org) {
                            out.findings.push(
                                Finding::new(
                                    "trust-untrusted-account",
                                    Severity::High,
                                    format!(
                                        "{label} trusts organisation {}, not {org}",
                                        orgs.join(", ")
                                    ),
                                )
                                .statements(vec![s.index])
                                .details(orgs.iter().map(|o| o.to_string()).collect()),
                            );
                        }
                    }
                }
                PrincipalKind::Aws => {
                    let Some(account) = principal_account(value) else {
                        continue;
                    };
                    let Some(owner) = ctx.account else {
                        foreign_seen = true;
                        continue;
                    };
                    if account == owner {
                        continue;
                    }
                    let in_org = config
                        .organization_id
                        .as_deref()
                        .is_some_and(|org| org_ids(s).contains(&org));
                    let listed = config.trusted_accounts.iter().any(|a| a == account);
                    let list_configured =
                        !config.trusted_accounts.is_empty() || config.organization_id.is_some();
                    if list_configured && !listed && !in_org {
                        out.findings.push(
                            Finding::new(
                                "trust-untrusted-account",
                                Severity::High,
                                format!("{label} trusts account {account}, which is not in trusted_accounts"),
                            )
                            .statements(vec![s.index])
                            .details(vec![value.to_string()]),
                        );
                    }
                    let mfa = requires(s, "aws:MultiFactorAuthPresent")
                        || s.has_condition("aws:MultiFactorAuthAge");
                    if !listed && !in_org && !requires(s, "sts:ExternalId") && !mfa {
                        out.findings.push(
                            Finding::new(
                                "trust-cross-account-no-external-id",
                                Severity::High,
                                format!("{label} trusts account {account} without an sts:ExternalId or MFA condition"),
                            )
                            .statements(vec![s.index])
                            .details(vec![value.to_string()]),
                        );
                    }
                }
                PrincipalKind::Federated => match federation(value) {
                    Federation::Oidc(provider) => judge_oidc(s, provider, ctx, &mut out),
                    Federation::Saml => {
                        if !requires(s, "SAML:aud") {
                            out.findings.push(
                                Finding::new(
                                    "trust-saml-no-audience",
                                    Severity::Medium,
                                    format!("{label} trusts SAML provider {value} without a SAML:aud condition"),
                                )
                                .statements(vec![s.index])
                                .details(vec![value.to_string()]),
                            );
                        }
                    }
                    Federation::Other => {}
                },
                PrincipalKind::Service => {
                    if !config.allowed_services.is_empty()
                        && !config
                            .allowed_services
                            .iter()
                            .any(|g| pattern::matches(g, value, true))
                    {
                        out.findings.push(
                            Finding::new(
                                "trust-service-not-allowed",
                                Severity::Medium,
                                format!("{label} trusts service {value}, which is not in allowed_services"),
                            )
                            .statements(vec![s.index])
                            .details(vec![value.to_string()]),
                        );
                    }
                    let exempt = config
                        .confused_deputy_exempt_services
                        .iter()
                        .any(|g| pattern::matches(g, value, true));
                    if !exempt && !SOURCE_KEYS.iter().any(|k| requires(s, k)) {
                        out.findings.push(
                            Finding::new(
                                "trust-service-confused-deputy",
                                Severity::Low,
                                format!("{label} trusts service {value} without an aws:SourceAccount or aws:SourceArn condition"),
                            )
                            .statements(vec![s.index])
                            .details(vec![value.to_string()]),
                        );
                    }
                }
                PrincipalKind::CanonicalUser => {}
            }
        }
    }
    if foreign_seen {
        out.notes.push(
            "the owner account is unknown, so cross-account rules were skipped: pass --account or set `account`".into(),
        );
    }
    out
}

fn judge_oidc(s: &Statement, provider: &str, ctx: &Context, out: &mut Judgement) {
    let label = s.label();
    let key = |suffix: &str| format!("{provider}:{suffix}");
    let cognito = provider == "cognito-identity.amazonaws.com";
    let has_aud = requires(s, &key("aud"))
        || (provider == "accounts.google.com" && requires(s, &key("oaud")));
    let subject_key = if cognito { key("amr") } else { key("sub") };
    let subjects: Vec<&Condition> = required_values(s, &subject_key);
    let has_sub = requires(s, &subject_key);
    let wild: Vec<String> = subjects
        .iter()
        .filter(|c| c.is_like())
        .flat_map(|c| c.values.iter())
        .filter(|v| !cognito && subject_is_wild(provider, v))
        .cloned()
        .collect();
    let mut missing = Vec::new();
    if !has_aud {
        missing.push(format!("an audience condition ({})", key("aud")));
    }
    if !has_sub {
        missing.push(format!("a subject condition ({subject_key})"));
    }
    if !missing.is_empty() || !wild.is_empty() {
        let problem = if missing.is_empty() {
            format!("with a wildcard subject {}", wild.join(", "))
        } else {
            format!("without {}", missing.join(" or "))
        };
        out.findings.push(
            Finding::new(
                "trust-oidc-unconstrained",
                Severity::Critical,
                format!("{label} trusts OIDC provider {provider} {problem}: anyone using the provider can assume the role"),
            )
            .statements(vec![s.index])
            .details(vec![provider.to_string()]),
        );
    }
    let config = ctx.config;
    if !config.allowed_oidc_providers.is_empty()
        && !config
            .allowed_oidc_providers
            .iter()
            .any(|g| pattern::matches(g, provider, true))
    {
        out.findings.push(
            Finding::new(
                "trust-oidc-not-allowed",
                Severity::High,
                format!("{label} trusts OIDC provider {provider}, which is not in allowed_oidc_providers"),
            )
            .statements(vec![s.index])
            .details(vec![provider.to_string()]),
        );
    }
    if !config.allowed_oidc_subjects.is_empty() {
        let outside: Vec<String> = subjects
            .iter()
            .flat_map(|c| c.values.iter())
            .filter(|v| {
                !config
                    .allowed_oidc_subjects
                    .iter()
                    .any(|g| pattern::matches(g, v, false))
            })
            .cloned()
            .collect();
        if !outside.is_empty() {
            out.findings.push(
                Finding::new(
                    "trust-oidc-not-allowed",
                    Severity::High,
                    format!(
                        "{label} trusts OIDC subjects outside allowed_oidc_subjects: {}",
                        list(&outside, 3)
                    ),
                )
                .statements(vec![s.index])
                .details(outside),
            );
        }
    }
}
