//! Permission-policy rules (`perm-*`).
//!
//! The policy is first reduced to what it *effectively* grants on
//! unconstrained resources ([`Grants`]): each Allow statement's actions are
//! expanded against the catalog, statements limited to specific resources are
//! set aside, and actions that an unconditional Deny removes on every
//! resource are subtracted. Conditions count: an Allow whose conditions really
//! narrow it (anything but transport, time, region, network, MFA and similar
//! keys) lowers a finding by one severity step instead of clearing it,
//! because the narrowing depends on values roleguard cannot judge.

use super::escalation::PATHS;
use super::{list, Context, Finding, Holder, Judgement, Severity};
use crate::catalog::{catalog, ActionId, ActionSet, Level};
use crate::policy::{Condition, Effect, Either, Policy, Statement};
use crate::{catalog, pattern};
use std::sync::OnceLock;

/// Condition keys that do not narrow *what* a grant reaches: they say how,
/// when or from where a request is made.
const WEAK_CONDITION_KEYS: &[&str] = &[
    "aws:SecureTransport",
    "aws:RequestedRegion",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:UserAgent",
    "aws:Referer",
    "aws:MultiFactorAuthPresent",
    "aws:MultiFactorAuthAge",
    "aws:SourceIp",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:VpcSourceIp",
    "aws:ViaAWSService",
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:TokenIssueTime",
    "aws:PrincipalType",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
];

/// Reads that take data out of the account (rule perm-data-exfiltration).
const EXFILTRATION: &[&str] = &[
    "s3:GetObject",
    "s3:GetObjectVersion",
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
    "kms:Decrypt",
];

/// Actions that return credentials or secrets (rule perm-credential-exposure).
const CREDENTIALS: &[&str] = &[
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "sts:GetFederationToken",
    "chime:CreateApiKey",
    "codepipeline:PollForJobs",
    "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
    "cognito-identity:GetCredentialsForIdentity",
    "connect:GetFederationToken",
    "ec2:GetPasswordData",
    "gamelift:GetInstanceAccess",
    "gamelift:RequestUploadCredentials",
    "lightsail:GetInstanceAccessDetails",
    "lightsail:DownloadDefaultKeyPair",
    "lightsail:GetRelationalDatabaseMasterUserPassword",
    "redshift:GetClusterCredentials",
    "redshift:GetClusterCredentialsWithIAM",
    "redshift-serverless:GetCredentials",
    "rds-db:Connect",
    "dsql:DbConnectAdmin",
    "mediapackage:RotateIngestEndpointCredentials",
    "appsync:GetDataSource",
];

/// Telemetry writes that every workload needs and that reach no data of
/// anyone else's: not reported by perm-write-unconstrained. (They are why
/// AWS's own execution-role policies grant `logs:*LogStream`/`PutLogEvents`
/// on `*`; reporting them would mark nearly every Lambda role.)
const TELEMETRY_WRITES: &[&str] = &[
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
];

/// IAM files some reads under permissions management (`GetResourcePolicy`,
/// `DescribeDataSetPermissions`); they change nothing and are not reported.
const READ_VERBS: &[&str] = &["Get", "Describe", "List", "View", "Search", "BatchGet"];

/// Services whose whole-service wildcard is high rather than medium.
const SENSITIVE_SERVICES: &[&str] = &["iam", "sts", "organizations", "kms"];

fn ids(names: &[&str]) -> Vec<ActionId> {
    names.iter().filter_map(|n| catalog().lookup(n)).collect()
}

struct Tables {
    paths: Vec<Vec<ActionId>>,
    exfiltration: Vec<ActionId>,
    credentials: Vec<ActionId>,
    iam: ActionSet,
    /// Permissions-management actions that only read (Get/Describe/List/View...).
    pm_reads: ActionSet,
    telemetry: Vec<ActionId>,
    pass_role: ActionId,
    assume_role: ActionId,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let c = catalog();
        Tables {
            paths: PATHS.iter().map(|p| ids(p.actions)).collect(),
            exfiltration: ids(EXFILTRATION),
            credentials: ids(CREDENTIALS),
            telemetry: ids(TELEMETRY_WRITES),
            iam: c.expand("iam:*"),
            pm_reads: {
                let mut s = ActionSet::empty();
                for id in c.level(Level::PermissionsManagement).ids() {
                    if READ_VERBS.iter().any(|v| c.get(id).name.starts_with(v)) {
                        s.insert(id);
                    }
                }
                s
            },
            pass_role: c.lookup("iam:PassRole").expect("catalog has iam:PassRole"),
            assume_role: c
                .lookup("sts:AssumeRole")
                .expect("catalog has sts:AssumeRole"),
        }
    })
}

/// Does a condition really narrow a grant?
pub(crate) fn narrows(c: &Condition) -> bool {
    if WEAK_CONDITION_KEYS.iter().any(|k| c.key_is(k)) {
        return false;
    }
    // `StringLike: {"x": "*"}` matches everything.
    !(c.is_like() && !c.is_negated() && c.values.iter().any(|v| pattern::is_only_wildcards(v)))
}

/// Is a resource ARN (or `*`) every resource of its kind?
/// `*`, `arn:aws:s3:::*`, `arn:aws:iam::*:role/*`, `arn:aws:lambda:*:*:function:*`;
/// not `arn:aws:s3:::bucket/*` nor `arn:aws:iam::*:role/app-*`.
pub fn resource_is_broad(resource: &str) -> bool {
    if pattern::is_only_wildcards(resource) {
        return true;
    }
    let mut parts = resource.splitn(6, ':');
    if parts.next() != Some("arn") {
        return false;
    }
    let service = parts.nth(1);
    let Some(rest) = parts.nth(2) else {
        return false;
    };
    if pattern::is_only_wildcards(rest) {
        return true;
    }
    // S3 ARNs have no resource type: `bucket/key`. Every bucket is `*` or `*/...`.
    if service == Some("s3") {
        return rest
            .split('/')
            .next()
            .is_some_and(pattern::is_only_wildcards);
    }
    // `type/*` or `type:*`, the type itself literal.
    match rest.find(['/', ':']) {
        Some(i) => !pattern::has_wildcard(&rest[..i]) && pattern::is_only_wildcards(&rest[i + 1..]),
        None => false,
    }
}

/// What one Allow statement grants on unconstrained resources.
struct Grant<'p> {
    statement: &'p Statement,
    actions: ActionSet,
    narrowing: Vec<&'p Condition>,
}

/// What a policy effectively grants on unconstrained resources.
pub struct Grants<'p> {
    grants: Vec<Grant<'p>>,
    /// Granted with no narrowing condition, after Denies.
    pub free: ActionSet,
    /// Granted only under narrowing conditions, after Denies.
    pub conditioned: ActionSet,
    /// Patterns that match no known action: (statement index, pattern).
    pub unknown: Vec<(usize, String)>,
}

fn statement_actions(s: &Statement, unknown: &mut Vec<(usize, String)>) -> ActionSet {
    let c = catalog();
    let mut set = ActionSet::empty();
    let Some(action) = &s.action else { return set };
    for pattern in action.value() {
        if !c.expand_into(pattern, &mut set) {
            unknown.push((s.index, pattern.clone()));
        }
    }
    if action.is_not() {
        let mut all = ActionSet::full();
        all.subtract(&set);
        set = all;
    }
    set
}

impl<'p> Grants<'p> {
    pub fn of(policy: &'p Policy) -> Grants<'p> {
        let mut unknown = Vec::new();
        let mut grants = Vec::new();
        let mut denied = ActionSet::empty();
        for s in &policy.statements {
            let actions = statement_actions(s, &mut unknown);
            match s.effect {
                Effect::Allow => {
                    let broad = match &s.resource {
                        Some(Either::Is(rs)) => rs.iter().any(|r| resource_is_broad(r)),
                        // NotResource: everything but the listed resources.
                        Some(Either::Not(_)) | None => true,
                    };
                    if broad {
                        grants.push(Grant {
                            statement: s,
                            actions,
                            narrowing: s.conditions.iter().filter(|c| narrows(c)).collect(),
                        });
                    }
                }
                Effect::Deny => {
                    // Only a Deny that certainly applies removes a grant.
                    let everywhere = matches!(&s.resource, Some(Either::Is(rs)) if rs.iter().any(|r| pattern::is_only_wildcards(r)));
                    if everywhere && s.conditions.is_empty() {
                        denied.union_with(&actions);
                    }
                }
            }
        }
        let mut free = ActionSet::empty();
        let mut conditioned = ActionSet::empty();
        for g in &grants {
            if g.narrowing.is_empty() {
                free.union_with(&g.actions);
            } else {
                conditioned.union_with(&g.actions);
            }
        }
        free.subtract(&denied);
        conditioned.subtract(&denied);
        conditioned.subtract(&free);
        Grants {
            grants,
            free,
            conditioned,
            unknown,
        }
    }

    /// Everything granted on unconstrained resources, with or without conditions.
    pub fn all(&self) -> ActionSet {
        let mut s = self.free.clone();
        s.union_with(&self.conditioned);
        s
    }

    /// The statements that grant any of these actions broadly.
    fn statements_granting(&self, set: &ActionSet) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .grants
            .iter()
            .filter(|g| g.actions.intersects(set))
            .map(|g| g.statement.index)
            .collect();
        v.dedup();
        v
    }

    /// 1 when every one of the actions is granted only under conditions
    /// that narrow it, 0 when at least one is granted freely.
    fn lowering(&self, set: &ActionSet) -> u8 {
        u8::from(!set.intersects(&self.free))
    }
}

fn set_of(ids: impl IntoIterator<Item = ActionId>) -> ActionSet {
    let mut s = ActionSet::empty();
    for id in ids {
        s.insert(id);
    }
    s
}

/// Judge a permission policy (inline, managed, or a managed policy version).
pub fn judge(policy: &Policy, ctx: &Context) -> Judgement {
    let c = catalog();
    let t = tables();
    let g = Grants::of(policy);
    let all = g.all();
    let mut out = Judgement::default();

    // Statement-shape rules, independent of the catalog.
    for s in policy.allows() {
        let not_action = s.action.as_ref().is_some_and(Either::is_not);
        let not_resource = s.resource.as_ref().is_some_and(Either::is_not);
        if not_action || not_resource {
            let what = match (not_action, not_resource) {
                (true, true) => "NotAction and NotResource",
                (true, false) => "NotAction",
                _ => "NotResource",
            };
            let narrowed = s.conditions.iter().any(narrows);
            out.findings.push(
                Finding::new(
                    "perm-not-action-or-resource",
                    Severity::High,
                    format!(
                        "{} allows with {what}: it grants everything not listed",
                        s.label()
                    ),
                )
                .statements(vec![s.index])
                .lowered(u8::from(narrowed)),
            );
        }
    }
    if !g.unknown.is_empty() {
        let names: Vec<String> = g.unknown.iter().map(|(_, p)| p.clone()).collect();
        let mut statements: Vec<usize> = g.unknown.iter().map(|(i, _)| *i).collect();
        statements.dedup();
        out.findings.push(
            Finding::new(
                "perm-unknown-action",
                Severity::Info,
                format!(
                    "{} no known IAM action: {}",
                    if names.len() == 1 {
                        "1 action matches".to_string()
                    } else {
                        format!("{} actions match", names.len())
                    },
                    list(&names, 5)
                ),
            )
            .statements(statements)
            .details(names),
        );
    }

    // Full admin: one statement granting (nearly) everything, IAM included,
    // on every resource, and no Deny taking any IAM action back.
    let admin = g.grants.iter().find(|gr| {
        gr.actions.is_superset(&t.iam)
            && gr.actions.len() * 10 >= c.len() * 9
            && all.is_superset(&t.iam)
    });
    if let Some(gr) = admin {
        let how = if gr.statement.action.as_ref().is_some_and(Either::is_not) {
            "every action except those in NotAction, IAM included,"
        } else {
            "every action"
        };
        out.findings.push(
            Finding::new(
                "perm-full-admin",
                Severity::Critical,
                format!("{} allows {how} on every resource", gr.statement.label()),
            )
            .statements(vec![gr.statement.index])
            .lowered(g.lowering(&t.iam)),
        );
        // Everything below is implied by full admin.
        return out;
    }

    // Privilege escalation.
    let mut fired: Vec<&str> = Vec::new();
    let mut escalation_actions = ActionSet::empty();
    let mut severity = None;
    let mut lowering = 1u8;
    for (path, ids) in PATHS.iter().zip(&t.paths) {
        if ids.len() == path.actions.len() && ids.iter().all(|&id| all.contains(id)) {
            let set = set_of(ids.iter().copied());
            fired.push(path.id);
            escalation_actions.union_with(&set);
            severity = severity.max(Some(path.severity));
            lowering = lowering.min(g.lowering(&set));
        }
    }
    // Paths that work only on the holder's own role or its policies, when the
    // holder is known and out of its own reach: changes to other roles.
    let mut others = ActionSet::empty();
    let others_only = ctx
        .holder
        .is_some_and(|h| holder_out_of_reach(policy, &all, h));
    if others_only {
        let mut kept_severity = None;
        let mut kept_lowering = 1u8;
        let mut kept = Vec::new();
        let mut kept_actions = ActionSet::empty();
        for (path, ids) in PATHS.iter().zip(&t.paths) {
            if !fired.contains(&path.id) {
                continue;
            }
            let set = set_of(ids.iter().copied());
            if SELF_PATHS.contains(&path.id) {
                others.union_with(&set);
            } else {
                kept.push(path.id);
                kept_actions.union_with(&set);
                kept_severity = kept_severity.max(Some(path.severity));
                kept_lowering = kept_lowering.min(g.lowering(&set));
            }
        }
        fired = kept;
        escalation_actions = kept_actions;
        severity = kept_severity;
        lowering = kept_lowering;
    }
    if let Some(severity) = severity {
        let shown: Vec<String> = PATHS
            .iter()
            .filter(|p| fired.contains(&p.id))
            .map(|p| p.actions.join(" + "))
            .collect();
        out.findings.push(
            Finding::new(
                "perm-privilege-escalation",
                severity,
                format!(
                    "allows privilege escalation on unconstrained resources by {}: {}",
                    plural(fired.len(), "path"),
                    list(&shown, 4)
                ),
            )
            .statements(g.statements_granting(&escalation_actions))
            .details(fired.iter().map(|s| s.to_string()).collect())
            .lowered(lowering),
        );
    }

    // Whole-service wildcards, statement by statement.
    let mut wildcard_services: Vec<String> = Vec::new();
    let mut wildcard_statements = Vec::new();
    let mut wildcard_set = ActionSet::empty();
    let mut wildcard_severity = Severity::Info;
    let mut wildcard_lowering = 1u8;
    for gr in &g.grants {
        let Some(Either::Is(patterns)) = &gr.statement.action else {
            continue;
        };
        for p in patterns {
            let Some((service, "*")) = p.split_once(':') else {
                continue;
            };
            if pattern::has_wildcard(service) {
                continue;
            }
            let Some(range) = c.service(service) else {
                continue;
            };
            let mut set = ActionSet::empty();
            set.insert_range(range);
            set.intersect_with(&all);
            if set.is_empty() {
                continue; // denied again
            }
            let service = service.to_ascii_lowercase();
            let sev = if SENSITIVE_SERVICES.contains(&service.as_str()) {
                Severity::High
            } else {
                Severity::Medium
            };
            wildcard_severity = wildcard_severity.max(sev);
            wildcard_lowering = wildcard_lowering.min(u8::from(!gr.narrowing.is_empty()));
            wildcard_set.union_with(&set);
            if !wildcard_services.contains(&service) {
                wildcard_services.push(service);
            }
            if !wildcard_statements.contains(&gr.statement.index) {
                wildcard_statements.push(gr.statement.index);
            }
        }
    }
    if !wildcard_services.is_empty() {
        let names: Vec<String> = wildcard_services.iter().map(|s| format!("{s}:*")).collect();
        out.findings.push(
            Finding::new(
                "perm-service-wildcard",
                wildcard_severity,
                format!(
                    "allows every action of a service on all resources: {}",
                    list(&names, 6)
                ),
            )
            .statements(wildcard_statements)
            .details(names)
            .lowered(wildcard_lowering),
        );
    }

    // What the rules above reported is not repeated below.
    let mut reported = escalation_actions.clone();
    reported.union_with(&wildcard_set);
    // Reported by their own rules below.
    reported.insert(t.pass_role);
    reported.insert(t.assume_role);

    let mut pm = all.intersection(c.level(Level::PermissionsManagement));
    pm.intersect_with(c.scoped());
    pm.subtract(&reported);
    pm.subtract(&t.pm_reads);
    if others_only {
        // IAM's own permissions management reaches other roles and policies only.
        others.union_with(&pm.intersection(&t.iam));
        others.subtract(&reported);
        pm.subtract(&others);
        push_set(
            &mut out,
            &g,
            "perm-modifies-other-roles",
            Severity::Medium,
            &others,
            "IAM changes on other roles and policies, its own role out of reach",
        );
        reported.union_with(&others);
    }
    push_set(
        &mut out,
        &g,
        "perm-permissions-management",
        Severity::High,
        &pm,
        "permissions-management actions on all resources",
    );

    let mut write = all.intersection(c.level(Level::Write));
    write.intersect_with(c.scoped());
    write.subtract(&reported);
    write.subtract(&set_of(t.telemetry.iter().copied()));
    push_set(
        &mut out,
        &g,
        "perm-write-unconstrained",
        Severity::Medium,
        &write,
        "write actions on all resources, though each can be scoped to resources",
    );

    let exfil = all.intersection(&set_of(t.exfiltration.iter().copied()));
    push_set(
        &mut out,
        &g,
        "perm-data-exfiltration",
        Severity::Medium,
        &exfil,
        "data-exfiltration reads on all resources",
    );

    let mut creds = all.intersection(&set_of(t.credentials.iter().copied()));
    creds.subtract(&escalation_actions);
    push_set(
        &mut out,
        &g,
        "perm-credential-exposure",
        Severity::Medium,
        &creds,
        "actions that return credentials, on all resources",
    );

    // iam:PassRole on * without iam:PassedToService.
    if all.contains(t.pass_role) {
        let loose: Vec<&Grant> = g
            .grants
            .iter()
            .filter(|gr| {
                gr.actions.contains(t.pass_role)
                    && !gr.statement.has_condition("iam:PassedToService")
            })
            .collect();
        if !loose.is_empty() {
            let lowered = u8::from(loose.iter().all(|gr| !gr.narrowing.is_empty()));
            out.findings.push(
                Finding::new(
                    "perm-passrole-unconstrained",
                    Severity::High,
                    "allows iam:PassRole on all roles without an iam:PassedToService condition",
                )
                .statements(loose.iter().map(|gr| gr.statement.index).collect())
                .lowered(lowered),
            );
        }
    }
    if all.contains(t.assume_role) {
        let set = set_of([t.assume_role]);
        out.findings.push(
            Finding::new(
                "perm-assume-any-role",
                Severity::Medium,
                "allows sts:AssumeRole on all roles",
            )
            .statements(g.statements_granting(&set))
            .lowered(g.lowering(&set)),
        );
    }
    out
}

/// Escalation paths that work only through the holder's own role or the
/// customer managed policies it uses.
const SELF_PATHS: &[&str] = &[
    "iam-put-role-policy",
    "iam-attach-role-policy",
    "iam-put-role-boundary",
    "iam-delete-role-boundary",
    "iam-set-default-policy-version",
    "iam-create-policy-version",
];

/// Calls that would loosen the holder's own role.
const LOOSENING: &[&str] = &[
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
];

/// Is the holder's own role out of the policy's reach? It cannot become
/// another role (no sts:AssumeRole nor iam:PassRole on all roles), every
/// loosening call the policy allows on the holder's role is denied on it
/// without condition, and, if it may switch policy versions, the holder
/// uses no customer managed policy.
fn holder_out_of_reach(policy: &Policy, all: &ActionSet, holder: Holder) -> bool {
    let t = tables();
    let c = catalog();
    if all.contains(t.assume_role) || all.contains(t.pass_role) {
        return false;
    }
    let on_holder = |s: &Statement| match &s.resource {
        Some(Either::Is(rs)) => rs
            .iter()
            .any(|r| pattern::matches(r, holder.role_arn, false)),
        Some(Either::Not(rs)) => !rs
            .iter()
            .any(|r| pattern::matches(r, holder.role_arn, false)),
        None => true,
    };
    let mut unknown = Vec::new();
    let mut allowed = ActionSet::empty();
    let mut denied = ActionSet::empty();
    for s in policy.statements.iter().filter(|s| on_holder(s)) {
        let actions = statement_actions(s, &mut unknown);
        match s.effect {
            Effect::Allow => allowed.union_with(&actions),
            Effect::Deny if s.conditions.is_empty() => denied.union_with(&actions),
            Effect::Deny => {}
        }
    }
    let reaches = |name: &str| {
        c.lookup(name)
            .is_some_and(|id| allowed.contains(id) && !denied.contains(id))
    };
    if LOOSENING.iter().any(|a| reaches(a)) {
        return false;
    }
    let versions = ids(&["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"]);
    let switches_versions = versions.iter().any(|&id| all.contains(id));
    !(switches_versions
        && holder
            .attached
            .iter()
            .any(|a| !catalog::is_aws_managed_arn(a)))
}

/// At most this many action names go in a finding's details.
pub const MAX_DETAILS: usize = 100;

fn push_set(
    out: &mut Judgement,
    g: &Grants,
    rule: &'static str,
    severity: Severity,
    set: &ActionSet,
    what: &str,
) {
    if set.is_empty() {
        return;
    }
    let count = set.len();
    let names: Vec<String> = set
        .ids()
        .take(MAX_DETAILS)
        .map(|id| catalog().get(id).full_name())
        .collect();
    out.findings.push(
        Finding::new(
            rule,
            severity,
            format!("allows {count} {what}: {}", list_of(&names, count, 5)),
        )
        .statements(g.statements_granting(set))
        .details(names)
        .lowered(g.lowering(set)),
    );
}

/// Like [`list`], for a list cut short of `total`.
fn list_of(names: &[String], total: usize, shown: usize) -> String {
    if total <= shown {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..shown.min(names.len())].join(", "),
            total - shown
        )
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Judge the attachment of a managed policy by ARN: the deny list, then the
/// policy's document when it is an AWS managed policy in the snapshot.
/// A customer managed policy's document must be fetched by the caller.
pub fn judge_attachment(policy_arn: &str, ctx: &Context) -> Judgement {
    let mut out = Judgement::default();
    if !catalog::is_aws_managed_arn(policy_arn) {
        out.notes.push(format!(
            "{policy_arn} is a customer managed policy: its document is judged when fetched from IAM"
        ));
        return out;
    }
    let name = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
    if let Some(sev) = ctx.config.denied_managed_policies.get(name) {
        out.findings.push(
            Finding::new(
                "perm-denied-managed-policy",
                *sev,
                format!("attaches {name}, which is on the deny list"),
            )
            .details(vec![policy_arn.to_string()]),
        );
    }
    match catalog::managed_policy(policy_arn) {
        Some(mp) => match Policy::parse(mp.document) {
            Ok(p) => out.extend(judge(&p, ctx)),
            Err(e) => out.notes.push(format!("{policy_arn}: snapshot document unreadable: {e}")),
        },
        None => out.notes.push(format!(
            "{policy_arn} is not in roleguard's snapshot of AWS managed policies: only the deny list applied"
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resource_is_broad;

    #[test]
    fn broad_resources() {
        for r in [
            "*",
            "arn:aws:s3:::*",
            "arn:aws:s3:::*/*",
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:lambda:*:*:function:*",
            "arn:*:*:*:*:*",
            "arn:aws:dynamodb:*:*:table/*",
        ] {
            assert!(resource_is_broad(r), "{r}");
        }
        for r in [
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::*:role/app-*",
            "arn:aws:iam::111122223333:role/app",
            "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/app:*",
            "arn:aws:s3:::*bucket",
            "bucket",
        ] {
            assert!(!resource_is_broad(r), "{r}");
        }
    }
}
