//! Trust-policy rules (`trust-*`): who may assume the role.
//!
//! Each rule is a question to the IAM evaluator about a *stranger*: a caller
//! the role's owner did not mean to admit, who controls everything about its
//! own request but its identity. The trust policy is evaluated whole, so a
//! Deny anywhere counts exactly when it covers the stranger's request.
//!
//! - `trust-any-principal`: an AWS principal of an unknown account outside
//!   the organisation (a role and a user, in an organisation of its own or in
//!   none) can assume the role. Its account, organisation and unique id are
//!   fixed; the names of its roles and users, its tags, its session name, an
//!   external id, MFA and its network are its own choice, so a condition pins
//!   the caller only if it names concrete organisations, accounts or ARNs.
//! - `trust-cross-account-no-external-id`: a principal of a named foreign
//!   account (not in `trusted_accounts`) can assume the role without sending
//!   an external id and without MFA.
//! - `trust-untrusted-account`: with `trusted_accounts`, `organization_id`
//!   or the organisation's accounts (`organization_accounts`, read from
//!   Organizations by the Lambda)
//!   configured, a principal of a named account outside them, or of an
//!   organisation other than the configured one, can assume the role.
//! - `trust-oidc-unconstrained`: a web-identity token of the same provider
//!   issued to someone else can assume the role. Which claims pin a caller
//!   is each provider's own ([`provider`]): GitHub's and GitLab's `sub` by
//!   its owner, EKS's by its namespace, Cognito's `aud` (the pool) with `amr`
//!   or `sub`, Login with Amazon's and Facebook's `app_id`, Google's `aud`,
//!   another provider's `sub`.
//! - `trust-saml-no-audience`: an assertion meant for another audience works.
//! - `trust-service-confused-deputy`: the service acting for another account
//!   (`aws:SourceAccount`, `aws:SourceArn` of a stranger) can assume the role.
//! - `trust-not-principal`, `trust-service-not-allowed`, `trust-oidc-not-allowed`:
//!   what the statements name, against the configuration.

use super::witness::{chosen_values, combinations};
use super::{list, Context, Finding, Judgement, RuleId, Severity};
use crate::eval::{self, keys::Class, Caller, Outcome, Request, Values};
use crate::pattern;
use crate::policy::{principal_account, Condition, Either, Policy, PrincipalKind, Statement};

/// The stranger's account: not the owner's, not trusted.
const STRANGER_ACCOUNT: &str = "000000000417";
const STRANGER_ORG: &str = "o-roleguardstranger0";
const STRANGER: &str = "roleguardstranger";

/// Identity keys of an AWS caller, fixed by who it is.
const IDENTITY_KEYS: &[&str] = &[
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:userid",
    "aws:PrincipalType",
    "aws:PrincipalIsAWSService",
    "aws:AssumedRoot",
    "aws:FederatedProvider",
];

/// The role the trust policy belongs to (a stand-in when unknown).
fn role_arn(ctx: &Context) -> String {
    match ctx.holder {
        Some(h) => h.role_arn.to_string(),
        None => format!(
            "arn:aws:iam::{}:role/RoleguardTrustedRole",
            ctx.account.unwrap_or("123456789012")
        ),
    }
}

/// Conditions of the statements that may apply to an action.
fn conditions<'p>(policy: &'p Policy, action: &str) -> Vec<&'p Condition> {
    policy
        .statements
        .iter()
        .filter(|s| eval::statement_action_matches(s, action))
        .flat_map(|s| s.conditions.iter())
        .collect()
}

/// The keys of the conditions, each once, with the conditions on it.
fn keys<'c>(conds: &[&'c Condition]) -> Vec<(String, Vec<&'c Condition>)> {
    let mut out: Vec<(String, Vec<&Condition>)> = Vec::new();
    for c in conds {
        match out.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&c.key)) {
            Some((_, v)) => v.push(c),
            None => out.push((c.key.clone(), vec![c])),
        }
    }
    out
}

/// Fill a pattern's wildcards so that it names something of the caller's.
fn fill(pattern: &str, with: &str) -> String {
    pattern.replace('*', with).replace('?', "x")
}

/// Is the request allowed for some context? The Allow statements that
/// decided it, if so.
/// Keys IAM sets from an AWS principal (account, ARN, organisation, tags):
/// a federated caller has none of them.
fn is_aws_principal_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    [
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalisawsservice",
        "aws:principalservicename",
    ]
    .contains(&k.as_str())
        || k.starts_with("aws:principaltag/")
}

/// Does statement `index` take part in admitting the caller under any of
/// the contexts? (Not only the first context admitted: another statement may
/// decide that one.)
fn admits_statement(
    policy: &Policy,
    role: &str,
    action: &str,
    caller: Caller,
    contexts: &[eval::Context],
    index: usize,
) -> bool {
    contexts.iter().any(|ctx| {
        admitted(policy, role, action, caller, std::slice::from_ref(ctx))
            .is_some_and(|a| a.contains(&index))
    })
}

fn admitted(
    policy: &Policy,
    role: &str,
    action: &str,
    caller: Caller,
    contexts: &[eval::Context],
) -> Option<Vec<usize>> {
    for ctx in contexts {
        let req = Request {
            action,
            resource: role,
            context: ctx,
            caller: Some(caller),
        };
        let d = eval::evaluate_resource_policy(policy, &req);
        if d.outcome == Outcome::Allow {
            let mut v: Vec<usize> = d.deciding.iter().map(|(_, i)| *i).collect();
            v.sort();
            v.dedup();
            return Some(v);
        }
    }
    None
}

/// An AWS caller: a role, a user or the root of an account, in an
/// organisation or none.
struct AwsCaller {
    arn: String,
    account: String,
    org: Option<&'static str>,
    kind: CallerKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CallerKind {
    Role,
    User,
    Root,
}

impl CallerKind {
    const ALL: [CallerKind; 3] = [CallerKind::Role, CallerKind::User, CallerKind::Root];
    fn arn(self, account: &str) -> String {
        match self {
            CallerKind::Role => format!("arn:aws:iam::{account}:role/{STRANGER}"),
            CallerKind::User => format!("arn:aws:iam::{account}:user/{STRANGER}"),
            CallerKind::Root => format!("arn:aws:iam::{account}:root"),
        }
    }
    /// What the caller's ARNs look like after the account: `role/`, `user/`, `root`.
    fn shape(self) -> &'static str {
        match self {
            CallerKind::Role => "role/",
            CallerKind::User => "user/",
            CallerKind::Root => "root",
        }
    }
}

/// The contexts an AWS caller can produce: its identity fixed, everything
/// else its choice. `external_id` and `mfa` say whether it may send an
/// external id and claim MFA (a confused deputy or a stolen long-term key
/// cannot).
fn aws_contexts(
    policy: &Policy,
    action: &str,
    caller: &AwsCaller,
    external_id: bool,
    mfa: bool,
) -> Vec<(String, Vec<eval::Context>)> {
    let conds = conditions(policy, action);
    let by_key = keys(&conds);
    // The caller's ARNs: its default one, the principals the policy names
    // in its account, and the names the policy's patterns admit there.
    let mut arns = vec![caller.arn.clone()];
    for s in policy.statements.iter() {
        if let Some(Either::Is(p)) | Some(Either::Not(p)) = &s.principal {
            for (kind, v) in p.entries() {
                if kind == PrincipalKind::Aws
                    && principal_account(v) == Some(caller.account.as_str())
                    && v.split(':')
                        .nth(5)
                        .is_some_and(|r| r.starts_with(caller.kind.shape()))
                    && !arns.iter().any(|a| a == v)
                {
                    arns.push(v.to_string());
                }
            }
        }
    }
    for (k, cs) in &by_key {
        if !k.eq_ignore_ascii_case("aws:PrincipalArn") {
            continue;
        }
        for c in cs {
            for v in &c.values {
                let parts: Vec<&str> = v.splitn(6, ':').collect();
                let [_, _, _, _, account, resource] = parts.as_slice() else {
                    continue;
                };
                if pattern::has_wildcard(account) || *account == caller.account {
                    let kind = caller.kind.shape();
                    if !resource.starts_with(kind) && !pattern::has_wildcard(resource) {
                        continue;
                    }
                    let arn = format!(
                        "arn:aws:iam::{}:{}",
                        caller.account,
                        fill(resource, STRANGER)
                    );
                    if !arns.contains(&arn) {
                        arns.push(arn);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for arn in arns {
        let mut base = eval::Context::new()
            .with("aws:PrincipalArn", &arn)
            .with("aws:PrincipalAccount", &caller.account)
            .with(
                "aws:PrincipalType",
                match caller.kind {
                    CallerKind::Role => "AssumedRole",
                    CallerKind::User => "User",
                    CallerKind::Root => "Account",
                },
            )
            .with("aws:PrincipalIsAWSService", "false");
        let id = match caller.kind {
            CallerKind::Role => "AROA3ROLEGUARDSTRANGER",
            CallerKind::User => "AIDA3ROLEGUARDSTRANGER",
            CallerKind::Root => caller.account.as_str(),
        };
        if let Some(org) = caller.org {
            base = base.with("aws:PrincipalOrgID", org).with_many(
                "aws:PrincipalOrgPaths",
                &[&format!("{org}/r-root/ou-stranger/")],
            );
        }
        let mut chosen = Vec::new();
        for (k, cs) in &by_key {
            if IDENTITY_KEYS.iter().any(|i| i.eq_ignore_ascii_case(k)) {
                if k.eq_ignore_ascii_case("aws:userid") {
                    // The unique id is AWS's; the session name is the caller's.
                    if caller.kind != CallerKind::Role {
                        continue;
                    }
                    let mut ids = vec![Some(Values::One(format!("{id}:{STRANGER}")))];
                    for c in cs {
                        for v in &c.values {
                            if let Some((_, session)) = v.split_once(':') {
                                ids.push(Some(Values::One(format!("{id}:{}", fill(session, "x")))));
                            }
                        }
                    }
                    chosen.push((k.clone(), ids));
                }
                continue;
            }
            // Only a service acting for someone sets these.
            if eval::keys::class(k) == Class::Source {
                continue;
            }
            if k.eq_ignore_ascii_case("sts:ExternalId") && !external_id {
                // None, or one the policy does not name (the deputy sends
                // whichever it is told to).
                chosen.push((k.clone(), vec![None, Some(Values::One(STRANGER.into()))]));
                continue;
            }
            if k.to_ascii_lowercase().starts_with("aws:multifactorauth") && !mfa {
                chosen.push((k.clone(), vec![None, Some(Values::One("false".into()))]));
                continue;
            }
            chosen.push((k.clone(), chosen_values(k, cs)));
        }
        base.set(
            "aws:userid",
            Values::One(match caller.kind {
                CallerKind::Role => format!("{id}:{STRANGER}"),
                _ => id.to_string(),
            }),
        );
        out.push((arn, combinations(chosen, base)));
    }
    out
}

/// Can this AWS caller assume the role? The deciding statements.
fn aws_admitted(
    policy: &Policy,
    role: &str,
    caller: &AwsCaller,
    external_id: bool,
    mfa: bool,
) -> Option<Vec<usize>> {
    let action = "sts:AssumeRole";
    for (arn, contexts) in aws_contexts(policy, action, caller, external_id, mfa) {
        let c = Caller::Aws {
            arn: &arn,
            account: &caller.account,
        };
        if let Some(s) = admitted(policy, role, action, c, &contexts) {
            return Some(s);
        }
    }
    None
}

/// Strangers: a role and a user of an unknown account, in an organisation
/// of their own or in none.
fn strangers() -> Vec<AwsCaller> {
    let mut v = Vec::new();
    for kind in CallerKind::ALL {
        for org in [Some(STRANGER_ORG), None] {
            v.push(AwsCaller {
                arn: kind.arn(STRANGER_ACCOUNT),
                account: STRANGER_ACCOUNT.into(),
                org,
                kind,
            });
        }
    }
    v
}

/// The foreign accounts a policy names: in principals, and in conditions on
/// the caller's account or ARN.
fn named_accounts(policy: &Policy, own: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |account: &str, shown: &str| {
        if account != own && !out.iter().any(|(a, _)| a == account) {
            out.push((account.to_string(), shown.to_string()));
        }
    };
    for s in policy.allows() {
        if let Some(Either::Is(p)) = &s.principal {
            for (kind, v) in p.entries() {
                if kind == PrincipalKind::Aws {
                    if let Some(a) = principal_account(v) {
                        add(a, v);
                    }
                }
            }
        }
        for c in &s.conditions {
            if c.key_is("aws:PrincipalAccount") {
                for v in c.values.iter().filter(|v| crate::policy::is_account_id(v)) {
                    add(v, v);
                }
            }
            if c.key_is("aws:PrincipalArn") {
                for v in &c.values {
                    if let Some(a) = v
                        .split(':')
                        .nth(4)
                        .filter(|a| crate::policy::is_account_id(a))
                    {
                        add(a, v);
                    }
                }
            }
        }
    }
    out
}

/// Judge a trust policy.
pub fn judge(policy: &Policy, ctx: &Context) -> Judgement {
    let mut out = Judgement::default();
    let config = ctx.config;
    let role = role_arn(ctx);
    let org = config.organization_id.as_deref();

    // Structural rules: what the statements name.
    for s in policy.allows() {
        let label = s.label();
        if let Some(Either::Not(_)) = &s.principal {
            out.findings.push(
                Finding::new(
                    RuleId::TrustNotPrincipal,
                    Severity::High,
                    format!("{label} allows with NotPrincipal"),
                )
                .statements(vec![s.index]),
            );
        }
        // `Principal: "*"` admits web identities too: any provider the
        // account registers (GitHub's stands for them) with any subject.
        if matches!(
            &s.principal,
            Some(Either::Is(crate::policy::Principals::Any))
        ) && eval::statement_action_matches(s, "sts:AssumeRoleWithWebIdentity")
        {
            let github = format!(
                "arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com",
                ctx.account.unwrap_or("123456789012")
            );
            federated_rules(policy, s, &github, &role, ctx, &mut out);
        }
        let Some(Either::Is(p)) = &s.principal else {
            continue;
        };
        for (kind, value) in p.entries() {
            match kind {
                PrincipalKind::Service => service_rules(policy, s, value, &role, ctx, &mut out),
                PrincipalKind::Federated => federated_rules(policy, s, value, &role, ctx, &mut out),
                _ => {}
            }
        }
    }

    // Anyone: a stranger from an unknown account.
    let mut any: Vec<usize> = Vec::new();
    for stranger in strangers() {
        if let Some(found) = aws_admitted(policy, &role, &stranger, true, true) {
            any.extend(found);
        }
    }
    any.sort();
    any.dedup();
    if !any.is_empty() {
        out.findings.push(
            Finding::new(
                RuleId::TrustAnyPrincipal,
                Severity::Critical,
                format!(
                    "{} {} with no condition that pins the caller to your organisation or accounts",
                    labels(policy, &any),
                    trusted(policy, &any)
                ),
            )
            .statements(any.clone()),
        );
    }
    // Organisations other than the configured one.
    if let Some(org) = org {
        for s in policy.allows() {
            let pinned: Vec<&str> = s
                .condition("aws:PrincipalOrgID")
                .filter(|c| eval::condition::parse_op(&c.operator).is_some_and(|(_, neg)| !neg))
                .flat_map(|c| c.values.iter().map(String::as_str))
                .filter(|v| !pattern::has_wildcard(v))
                .collect();
            if !pinned.is_empty() && !pinned.contains(&org) {
                out.findings.push(
                    Finding::new(
                        RuleId::TrustUntrustedAccount,
                        Severity::High,
                        format!(
                            "{} trusts organisation {}, not {org}",
                            s.label(),
                            pinned.join(", ")
                        ),
                    )
                    .statements(vec![s.index])
                    .details(pinned.iter().map(|o| o.to_string()).collect()),
                );
            }
        }
    }

    // Named foreign accounts.
    let Some(own) = ctx.account else {
        if !named_accounts(policy, "").is_empty() {
            out.notes.push(
                "the owner account is unknown, so cross-account rules were skipped: pass --account or set `account`".into(),
            );
        }
        return out;
    };
    // The organisation's accounts, when known (configured, or read from
    // Organizations): a trust inside the organisation is no foreign trust.
    let members = &config.organization_accounts;
    let list_configured =
        !config.trusted_accounts.is_empty() || org.is_some() || !members.is_empty();
    for (account, shown) in named_accounts(policy, own) {
        if config.trusted_accounts.contains(&account) || members.contains(&account) {
            continue;
        }
        // Outside the configured organisation, if any: in an organisation of
        // its own, or in none (then `aws:PrincipalOrgID` is absent, which an
        // `...IfExists` or `ForAllValues:` condition lets through).
        let outsiders = || {
            CallerKind::ALL.into_iter().flat_map(|kind| {
                [Some(STRANGER_ORG), None].map(|org| AwsCaller {
                    arn: kind.arn(&account),
                    account: account.clone(),
                    org,
                    kind,
                })
            })
        };
        let freely =
            outsiders().find_map(|caller| aws_admitted(policy, &role, &caller, true, true));
        let Some(freely) = freely else { continue };
        if list_configured {
            out.findings.push(
                Finding::new(
                    RuleId::TrustUntrustedAccount,
                    Severity::High,
                    if members.is_empty() {
                        format!(
                            "{} trusts account {account}, which is not in trusted_accounts",
                            labels(policy, &freely)
                        )
                    } else {
                        format!(
                            "{} trusts account {account}, which is outside {} and not in trusted_accounts",
                            labels(policy, &freely),
                            org.map_or_else(|| "the organisation".to_string(), |o| format!("organisation {o}"))
                        )
                    },
                )
                .statements(freely.clone())
                .details(vec![shown.clone()]),
            );
        }
        let bare =
            outsiders().find_map(|caller| aws_admitted(policy, &role, &caller, false, false));
        if let Some(bare) = bare {
            out.findings.push(
                Finding::new(
                    RuleId::TrustCrossAccountNoExternalId,
                    Severity::High,
                    format!(
                        "{} trusts account {account} without an sts:ExternalId or MFA condition",
                        labels(policy, &bare)
                    ),
                )
                .statements(bare)
                .details(vec![shown]),
            );
        }
    }
    out
}

/// What the statements trust, for a message: `trusts principal "*"`.
fn trusted(policy: &Policy, at: &[usize]) -> String {
    let mut shown: Vec<String> = Vec::new();
    for s in policy.statements.iter().filter(|s| at.contains(&s.index)) {
        let one = match &s.principal {
            Some(Either::Is(crate::policy::Principals::Any)) => "principal \"*\"".to_string(),
            Some(Either::Is(p)) => {
                let aws: Vec<&str> = p
                    .entries()
                    .filter(|(k, _)| *k == PrincipalKind::Aws)
                    .map(|(_, v)| v)
                    .collect();
                format!(
                    "principal AWS {}",
                    list(&aws.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>(), 3)
                )
            }
            Some(Either::Not(p)) => format!(
                "every principal except {}",
                list(
                    &p.entries().map(|(_, v)| v.to_string()).collect::<Vec<_>>(),
                    3
                )
            ),
            None => continue,
        };
        if !shown.contains(&one) {
            shown.push(one);
        }
    }
    format!("trusts {}", shown.join(" and "))
}

fn labels(policy: &Policy, at: &[usize]) -> String {
    let names: Vec<String> = at
        .iter()
        .filter_map(|i| policy.statements.iter().find(|s| s.index == *i))
        .map(Statement::label)
        .collect();
    list(&names, 3)
}

fn service_rules(
    policy: &Policy,
    s: &Statement,
    value: &str,
    role: &str,
    ctx: &Context,
    out: &mut Judgement,
) {
    let config = ctx.config;
    let label = s.label();
    if !config.allowed_services.is_empty()
        && !config
            .allowed_services
            .iter()
            .any(|g| pattern::matches(g, value, true))
    {
        out.findings.push(
            Finding::new(
                RuleId::TrustServiceNotAllowed,
                Severity::Medium,
                format!("{label} trusts service {value}, which is not in allowed_services"),
            )
            .statements(vec![s.index])
            .details(vec![value.to_string()]),
        );
    }
    if config
        .confused_deputy_exempt_services
        .iter()
        .any(|g| pattern::matches(g, value, true))
    {
        return;
    }
    // The service acting for a stranger's resource.
    let action = "sts:AssumeRole";
    let conds = conditions(policy, action);
    let mut chosen = Vec::new();
    for (k, cs) in keys(&conds) {
        if matches!(eval::keys::class(&k), Class::Source) {
            continue;
        }
        chosen.push((k.clone(), chosen_values(&k, &cs)));
    }
    let service = value.split('.').next().unwrap_or("service");
    let base = eval::Context::new()
        .with("aws:SourceAccount", STRANGER_ACCOUNT)
        .with(
            "aws:SourceArn",
            &format!("arn:aws:{service}:us-east-1:{STRANGER_ACCOUNT}:{STRANGER}"),
        )
        .with("aws:SourceOrgID", STRANGER_ORG)
        .with("aws:SourceOwner", STRANGER_ACCOUNT)
        .with("aws:PrincipalIsAWSService", "true")
        .with("aws:PrincipalServiceName", value);
    let contexts = combinations(chosen, base);
    if let Some(at) = admitted(policy, role, action, Caller::Service(value), &contexts) {
        if at.contains(&s.index) {
            out.findings.push(
                Finding::new(
                    RuleId::TrustServiceConfusedDeputy,
                    Severity::Low,
                    format!("{label} trusts service {value} without an aws:SourceAccount or aws:SourceArn condition"),
                )
                .statements(vec![s.index])
                .details(vec![value.to_string()]),
            );
        }
    }
}

/// How a web identity provider's tokens pin their holder.
#[derive(Debug, Clone, Copy)]
pub enum Provider {
    /// GitHub Actions: `sub` is `repo:OWNER/REPO:...`.
    GitHub,
    /// GitLab: `sub` is `project_path:GROUP/PROJECT:...`.
    GitLab,
    /// EKS IRSA: `sub` is `system:serviceaccount:NAMESPACE:NAME`.
    Eks,
    /// Cognito identity pools: `aud` is the pool; `amr` says authenticated
    /// or not; `sub` is the identity.
    Cognito,
    /// Login with Amazon and Facebook: `app_id` is the application.
    AppId,
    /// Google: `aud` (or `oaud`) is the OAuth client.
    Google,
    /// Any other OIDC provider: `sub` is the user.
    Other,
}

/// The provider, from its host.
pub fn provider(host: &str) -> Provider {
    let h = host.to_ascii_lowercase();
    if h == "token.actions.githubusercontent.com" || h.ends_with(".ghe.com") {
        Provider::GitHub
    } else if h.contains("gitlab") {
        Provider::GitLab
    } else if h.starts_with("oidc.eks.") {
        Provider::Eks
    } else if h == "cognito-identity.amazonaws.com" {
        Provider::Cognito
    } else if h == "www.amazon.com" || h == "graph.facebook.com" {
        Provider::AppId
    } else if h == "accounts.google.com" {
        Provider::Google
    } else {
        Provider::Other
    }
}

/// Identity providers that need no IAM provider resource.
const BUILT_IN_WEB_IDENTITY: &[&str] = &[
    "cognito-identity.amazonaws.com",
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
];

/// A subject whose owner part the stranger controls when the pattern has a
/// wildcard there: `repo:OWNER/...`, `project_path:GROUP/...`,
/// `system:serviceaccount:NAMESPACE:...`.
fn owned_subject(p: Provider, pattern: &str) -> Option<String> {
    let (prefix, sep) = match p {
        Provider::GitHub => ("repo:", '/'),
        Provider::GitLab => ("project_path:", '/'),
        Provider::Eks => ("system:serviceaccount:", ':'),
        _ => ("", '\0'),
    };
    if prefix.is_empty() {
        // The whole value is the holder's: only a wildcard admits another.
        return pattern::has_wildcard(pattern).then(|| fill(pattern, STRANGER));
    }
    match pattern.strip_prefix(prefix) {
        Some(rest) => {
            let owner = rest.split(sep).next().unwrap_or(rest);
            pattern::has_wildcard(owner).then(|| fill(pattern, STRANGER))
        }
        // A wildcard before the owner (`*`, `repo*`, `system:*`) admits any.
        None => {
            let head: String = pattern
                .chars()
                .take_while(|c| *c != '*' && *c != '?')
                .collect();
            (pattern::has_wildcard(pattern) && prefix.starts_with(&head))
                .then(|| fill(pattern, STRANGER))
        }
    }
}

fn federated_rules(
    policy: &Policy,
    s: &Statement,
    value: &str,
    role: &str,
    ctx: &Context,
    out: &mut Judgement,
) {
    let label = s.label();
    if value.contains(":saml-provider/") {
        let action = "sts:AssumeRoleWithSAML";
        let conds = conditions(policy, action);
        let mut chosen = Vec::new();
        for (k, cs) in keys(&conds) {
            if k.eq_ignore_ascii_case("SAML:aud") {
                continue;
            }
            chosen.push((k.clone(), chosen_values(&k, &cs)));
        }
        let base = eval::Context::new().with("SAML:aud", "https://roleguard-stranger.example/saml");
        let contexts = combinations(chosen, base);
        if admits_statement(
            policy,
            role,
            action,
            Caller::Federated(value),
            &contexts,
            s.index,
        ) {
            out.findings.push(
                Finding::new(
                    RuleId::TrustSamlNoAudience,
                    Severity::Medium,
                    format!("{label} trusts SAML provider {value} without a SAML:aud condition"),
                )
                .statements(vec![s.index])
                .details(vec![value.to_string()]),
            );
        }
        return;
    }
    let host = match value.find(":oidc-provider/") {
        Some(i) => &value[i + ":oidc-provider/".len()..],
        None if BUILT_IN_WEB_IDENTITY.contains(&value) => value,
        None => return,
    };
    judge_oidc(policy, s, value, host, role, ctx, out);
}

fn judge_oidc(
    policy: &Policy,
    s: &Statement,
    principal: &str,
    host: &str,
    role: &str,
    ctx: &Context,
    out: &mut Judgement,
) {
    let label = s.label();
    let action = "sts:AssumeRoleWithWebIdentity";
    let p = provider(host);
    let key = |suffix: &str| format!("{host}:{suffix}");
    let conds = conditions(policy, action);
    let by_key = keys(&conds);
    let values_of = |suffix: &str| -> Vec<&str> {
        by_key
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(&key(suffix)))
            .flat_map(|(_, cs)| cs.iter().flat_map(|c| c.values.iter().map(String::as_str)))
            .collect()
    };
    // The claims that pin the holder, with the stranger's values.
    let owned = |suffix: &str, default: String| -> Vec<Option<Values>> {
        let mut v = vec![Some(Values::One(default))];
        for pat in values_of(suffix) {
            if let Some(x) = owned_subject(p, pat) {
                v.push(Some(Values::One(x)));
            }
        }
        v
    };
    // Strangers: each a set of pinned claims (key, values to try).
    let mut strangers: Vec<Vec<(String, Vec<Option<Values>>)>> = Vec::new();
    match p {
        Provider::GitHub => strangers.push(vec![
            (
                key("sub"),
                owned("sub", format!("repo:{STRANGER}/x:ref:refs/heads/main")),
            ),
            (
                key("repository_owner"),
                vec![Some(Values::One(STRANGER.into()))],
            ),
        ]),
        Provider::GitLab => strangers.push(vec![
            (
                key("sub"),
                owned(
                    "sub",
                    format!("project_path:{STRANGER}/x:ref_type:branch:ref:main"),
                ),
            ),
            (
                key("namespace_path"),
                vec![Some(Values::One(STRANGER.into()))],
            ),
        ]),
        Provider::Eks => strangers.push(vec![(
            key("sub"),
            owned("sub", format!("system:serviceaccount:{STRANGER}:x")),
        )]),
        Provider::Other => strangers.push(vec![(key("sub"), owned("sub", STRANGER.into()))]),
        Provider::AppId => strangers.push(vec![(key("app_id"), owned("app_id", STRANGER.into()))]),
        Provider::Google => strangers.push(vec![
            (
                key("aud"),
                owned("aud", format!("{STRANGER}.apps.googleusercontent.com")),
            ),
            (
                key("oaud"),
                owned("oaud", format!("{STRANGER}.apps.googleusercontent.com")),
            ),
        ]),
        Provider::Cognito => {
            // Another pool's user, and a guest of this one.
            strangers.push(vec![
                (
                    key("aud"),
                    owned("aud", format!("us-east-1:{STRANGER}-pool")),
                ),
                (
                    key("amr"),
                    vec![Some(Values::Many(vec!["authenticated".into()]))],
                ),
                (
                    key("sub"),
                    vec![Some(Values::One(format!("us-east-1:{STRANGER}")))],
                ),
            ]);
            let pools: Vec<Option<Values>> = values_of("aud")
                .into_iter()
                .map(|a| Some(Values::One(fill(a, "x"))))
                .collect();
            if !pools.is_empty() {
                strangers.push(vec![
                    (key("aud"), pools),
                    (
                        key("amr"),
                        vec![Some(Values::Many(vec!["unauthenticated".into()]))],
                    ),
                    (
                        key("sub"),
                        vec![Some(Values::One(format!("us-east-1:{STRANGER}")))],
                    ),
                ]);
            }
        }
    }
    let mut admitted_any = false;
    for pinned in strangers {
        let mut chosen: Vec<(String, Vec<Option<Values>>)> = pinned.clone();
        for (k, cs) in &by_key {
            if pinned.iter().any(|(p, _)| p.eq_ignore_ascii_case(k)) {
                continue;
            }
            let mut v = chosen_values(k, cs);
            // A web identity is no AWS principal: the aws:Principal* keys
            // are absent from its request, not the caller's to choose.
            if is_aws_principal_key(k) {
                v = vec![None];
            }
            // Every token carries an audience: never absent.
            if k.eq_ignore_ascii_case(&key("aud")) {
                v.retain(Option::is_some);
            }
            chosen.push((k.clone(), v));
        }
        let contexts = combinations(chosen, eval::Context::new());
        if admits_statement(
            policy,
            role,
            action,
            Caller::Federated(principal),
            &contexts,
            s.index,
        ) {
            admitted_any = true;
            break;
        }
    }
    if admitted_any {
        // What let the stranger in: a wildcard in a pinning claim, or no
        // condition on it.
        let pin = match p {
            Provider::AppId => "app_id",
            Provider::Google | Provider::Cognito => "aud",
            _ => "sub",
        };
        let wild: Vec<String> = values_of(pin)
            .into_iter()
            .filter(|v| owned_subject(p, v).is_some())
            .map(str::to_owned)
            .collect();
        let why = if !wild.is_empty() {
            format!("with a wildcard {pin} {}", list(&wild, 3))
        } else if values_of(pin).is_empty() {
            format!("without a {} condition", key(pin))
        } else {
            "without pinning the caller".to_string()
        };
        let what = match p {
            Provider::GitHub => "a repository of another owner",
            Provider::GitLab => "a project of another group",
            Provider::Eks => "a service account of another namespace",
            Provider::Cognito => "another identity pool's user, or this pool's guest",
            Provider::AppId => "another application",
            Provider::Google => "another OAuth client",
            Provider::Other => "another subject",
        };
        out.findings.push(
            Finding::new(
                RuleId::TrustOidcUnconstrained,
                Severity::Critical,
                format!("{label} trusts OIDC provider {host} {why}: {what} can assume the role"),
            )
            .statements(vec![s.index])
            .details(vec![host.to_string()]),
        );
    }
    let config = ctx.config;
    if !config.allowed_oidc_providers.is_empty()
        && !config
            .allowed_oidc_providers
            .iter()
            .any(|g| pattern::matches(g, host, true))
    {
        out.findings.push(
            Finding::new(
                RuleId::TrustOidcNotAllowed,
                Severity::High,
                format!(
                    "{label} trusts OIDC provider {host}, which is not in allowed_oidc_providers"
                ),
            )
            .statements(vec![s.index])
            .details(vec![host.to_string()]),
        );
    }
    if !config.allowed_oidc_subjects.is_empty() {
        let subjects: Vec<String> = s
            .conditions
            .iter()
            .filter(|c| {
                c.key.eq_ignore_ascii_case(&key("sub")) && !c.is_negated() && c.operator != "Null"
            })
            .flat_map(|c| c.values.iter().cloned())
            .collect();
        let outside: Vec<String> = subjects
            .into_iter()
            .filter(|v| {
                !config
                    .allowed_oidc_subjects
                    .iter()
                    .any(|g| pattern::matches(g, v, false))
            })
            .collect();
        if !outside.is_empty() {
            out.findings.push(
                Finding::new(
                    RuleId::TrustOidcNotAllowed,
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
