//! Permission-policy rules (`perm-*`), on a principal as a whole.
//!
//! Every policy of the principal counts at once ([`crate::principal`]):
//! Allows from any of them, Denies from any of them, all capped by its
//! permissions boundary. Two kinds of question are asked:
//!
//! - **Escalation and the role-reaching rules** (privilege-escalation paths,
//!   PassRole and AssumeRole on every role) are asked of the IAM evaluator
//!   with witness requests ([`super::witness`]): a path is reported when IAM
//!   would allow each of its actions on the resources it needs, under a
//!   context the attacker can produce. Self-escalation (a grant on the role
//!   itself, or on a policy attached to it) is a path too.
//! - **The broad rules** (writes, permissions management, data reads,
//!   service wildcards on all resources) cover thousands of actions and work
//!   on bitsets ([`Grants`]): a statement counts for an action when its
//!   resource element matches every resource of that action's type (tested
//!   with the evaluator's resource matcher on witness ARNs), less what a
//!   Deny certainly takes back on every resource, capped by the boundary.
//!
//! A condition narrows a finding (one severity step) only when it restricts
//! the target resource with a concrete value under an operator that an
//! absent key cannot satisfy ([`narrows`]); the table of keys is in
//! [`crate::eval::keys`]. A condition on a key the action does not have, under
//! a positive operator without `IfExists`, can never hold: the grant is dead.

use super::escalation::{self, PATHS};
use super::witness::{Target, View};
use super::{list, Context, Finding, Judgement, RuleId, Severity};
use crate::catalog::{catalog, ActionId, ActionSet, Budget, Expansion, Level};
use crate::eval::{self, keys::Class, Source};
use crate::memo::Memo;
use crate::policy::{Condition, Effect, Either, Policy, SetQualifier, Statement};
use crate::principal::{Origin, Principal};
use crate::{catalog, pattern};
use std::sync::{Arc, OnceLock};

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
    exfiltration: ActionSet,
    credentials: ActionSet,
    telemetry: ActionSet,
    iam: ActionSet,
    /// Permissions-management actions that only read (Get/Describe/List/View...).
    pm_reads: ActionSet,
    pass_role: Option<ActionId>,
    assume_role: Option<ActionId>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let c = catalog();
        Tables {
            exfiltration: set_of(ids(EXFILTRATION)),
            credentials: set_of(ids(CREDENTIALS)),
            telemetry: set_of(ids(TELEMETRY_WRITES)),
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
            pass_role: c.lookup("iam:PassRole"),
            assume_role: c.lookup("sts:AssumeRole"),
        }
    })
}

fn set_of(ids: impl IntoIterator<Item = ActionId>) -> ActionSet {
    let mut s = ActionSet::empty();
    for id in ids {
        s.insert(id);
    }
    s
}

/// Facts about the principal that conditions may test: its ARN and account.
fn known_context(holder: Option<&str>, account: Option<&str>) -> eval::Context {
    let mut ctx = eval::Context::new();
    if let Some(h) = holder {
        ctx = ctx.with("aws:PrincipalArn", h);
    }
    if let Some(a) = account {
        ctx = ctx.with("aws:PrincipalAccount", a);
    }
    ctx
}

/// Does a condition narrow a grant to certain resources? Only a positive
/// operator without `IfExists`, not `ForAllValues` nor `Null`, with concrete
/// values, on a key that describes the target resource (its tags, account
/// or organisation) or the boundary a role gets; the principal's own
/// account is no narrowing.
pub(crate) fn narrows(c: &Condition, account: Option<&str>, org: Option<&str>) -> bool {
    let Some((op, negated)) = eval::condition::parse_op(&c.operator) else {
        return false;
    };
    if negated
        || op == eval::condition::Op::Null
        || c.if_exists
        || c.qualifier == Some(SetQualifier::ForAllValues)
        || c.values.is_empty()
        || c.values.iter().any(|v| pattern::is_only_wildcards(v))
    {
        return false;
    }
    if !matches!(eval::keys::class(&c.key), Class::Resource | Class::Boundary) {
        return false;
    }
    let own = |v: &str| {
        Some(v) == account
            || Some(v) == org
            || v.eq_ignore_ascii_case("${aws:PrincipalAccount}")
            || v.eq_ignore_ascii_case("${aws:PrincipalOrgID}")
    };
    !c.values.iter().any(|v| own(v))
}

/// Does the condition require a key to be present (a positive operator
/// without `IfExists`, or `Null: false`)? Such a condition never holds for
/// an action that does not have the key.
fn requires_key(c: &Condition) -> bool {
    let Some((op, negated)) = eval::condition::parse_op(&c.operator) else {
        return false;
    };
    if op == eval::condition::Op::Null {
        return c.values.iter().all(|v| v.eq_ignore_ascii_case("false"));
    }
    !negated && !c.if_exists && c.qualifier != Some(SetQualifier::ForAllValues)
}

/// Entries a process-wide memo keeps at most, and the longest text it keeps
/// an entry for: enough for every key and resource pattern of AWS's managed
/// policies (547 keys, 2,527 patterns) several times over, and a bound on
/// what a stream of adversarial documents can make a long-lived Lambda
/// container hold (a few MiB; a key's action set is 2.5 KiB, hence fewer).
const MEMO_LIMIT: usize = 16_384;
const KEY_MEMO_LIMIT: usize = 2_048;
const MEMO_TEXT: usize = 256;

/// The actions that have a (non-global) condition key, cached per key.
fn actions_with_key(key: &str) -> Arc<ActionSet> {
    static MEMO: Memo<String, Arc<ActionSet>> = Memo::new(KEY_MEMO_LIMIT);
    MEMO.get_or(key.to_ascii_lowercase(), key.len() <= MEMO_TEXT, || {
        Arc::new(catalog::actions_with_key(key))
    })
}

/// Names for "every resource of a type": two unrelated ones, both must match.
const WITNESS_NAMES: [&str; 2] = ["RoleguardWitnessA", "zz-witness-b"];

/// The resource types whose every resource (in the principal's account) a
/// resource pattern matches: memoised per pattern and account, as AWS's
/// managed policies repeat their patterns (7,546 patterns, 2,527 distinct).
fn covered_types(p: &str, account: Option<&str>) -> Arc<[u16]> {
    static MEMO: Memo<(String, String), Arc<[u16]>> = Memo::new(MEMO_LIMIT);
    if p.len() > MEMO_TEXT {
        return pattern_types(p, account).into();
    }
    let key = (p.to_string(), account.unwrap_or_default().to_string());
    MEMO.get_or(key, true, || pattern_types(p, account).into())
}

fn pattern_types(p: &str, account: Option<&str>) -> Vec<u16> {
    let mut covered: Vec<u16> = Vec::new();
    let empty = eval::Context::new();
    let mut parts = p.splitn(6, ':');
    if parts.next() != Some("arn") {
        return covered;
    }
    let service = parts.nth(1).unwrap_or("");
    let region = parts
        .next()
        .filter(|r| !r.is_empty() && !pattern::has_wildcard(r))
        .unwrap_or("us-east-1");
    let pattern_account = parts.next().filter(|a| crate::policy::is_account_id(a));
    let acct = account.or(pattern_account).unwrap_or("123456789012");
    // The pattern's resource part: without a wildcard it names one
    // resource, never every one; its literal head must fit the type's.
    let resource_part = p.splitn(6, ':').nth(5).unwrap_or("*");
    if !pattern::has_wildcard(resource_part) {
        return covered;
    }
    let head: &str = resource_part.split(['*', '?']).next().unwrap_or_default();
    let every_type: Vec<u16>;
    let types: &[u16] = if pattern::has_wildcard(service) {
        every_type = (0..catalog::resource_types().len() as u16).collect();
        &every_type
    } else {
        catalog::types_in_arn_service(service)
    };
    for &t in types {
        let Some(rt) = catalog::resource_types().get(t as usize) else {
            continue;
        };
        let template_head = catalog::type_head(t);
        if !(template_head.starts_with(head) || head.starts_with(template_head)) {
            continue;
        }
        let every = WITNESS_NAMES.iter().all(|n| {
            let arn = super::witness::instantiate(rt.arn, "aws", region, acct, n);
            eval::resource_matches(p, &arn, &empty)
        });
        if every && !covered.contains(&t) {
            covered.push(t);
        }
    }
    covered
}

/// The actions for which a resource element reaches every resource of one
/// of the action's types (in the principal's account); `None`: every action.
fn broad_actions(
    resource: Option<&Either<Vec<String>>>,
    account: Option<&str>,
) -> Option<ActionSet> {
    let (patterns, negated) = match resource {
        None => return None,
        Some(Either::Is(p)) => (p, false),
        Some(Either::Not(p)) => (p, true),
    };
    if !negated && patterns.iter().any(|p| pattern::is_only_wildcards(p)) {
        return None;
    }
    // The resource types every pattern's matches cover entirely.
    let mut covered: Vec<u16> = Vec::new();
    let mut all_types = false;
    for p in patterns {
        if pattern::is_only_wildcards(p) {
            all_types = true;
            continue;
        }
        for &t in covered_types(p, account).iter() {
            if !covered.contains(&t) {
                covered.push(t);
            }
        }
    }
    if all_types {
        // NotResource `*` reaches nothing; Resource `*` was answered above.
        return if negated {
            Some(ActionSet::empty())
        } else {
            None
        };
    }
    let mut set = ActionSet::empty();
    for &t in &covered {
        for &id in catalog::actions_taking(t) {
            set.insert(id);
        }
    }
    if negated {
        // Everything but what the listed patterns cover; an action that
        // takes no resource is outside any ARN pattern.
        if set.is_empty() {
            return None;
        }
        let mut all = ActionSet::full();
        all.subtract(&set);
        return Some(all);
    }
    // Actions that take no resource are reached only by `*`.
    Some(set)
}

/// One statement of the principal, with what it grants broadly.
struct Stmt<'p> {
    doc: usize,
    s: &'p Statement,
    /// The actions it names (NotAction complemented), less those a
    /// condition makes dead.
    actions: ActionSet,
    /// Of those, the ones on every resource of their type.
    broad: ActionSet,
    /// The same before the condition keys the actions lack are counted: what
    /// the statement is written to grant (full admin is judged on it).
    written: ActionSet,
    narrowing: bool,
}

fn statement_actions(
    s: &Statement,
    unknown: &mut Vec<(usize, usize, String)>,
    doc: usize,
    budget: &mut Budget,
) -> ActionSet {
    let c = catalog();
    let mut set = ActionSet::empty();
    let Some(action) = &s.action else { return set };
    // A pattern the expansion budget cannot pay for is read the safe way:
    // as every action it could name where that widens what is allowed (an
    // Allow's Action, a Deny's NotAction), as none where that narrows what
    // is denied.
    let widen = (s.effect == Effect::Allow) != action.is_not();
    for pattern in action.value() {
        match c.expand_within(pattern, &mut set, budget) {
            Expansion::Matched => {}
            Expansion::Nothing => unknown.push((doc, s.index, pattern.clone())),
            Expansion::OverBudget if widen => {
                let service = pattern.split_once(':').map_or("*", |(s, _)| s);
                match c
                    .service(service)
                    .filter(|_| !pattern::has_wildcard(service))
                {
                    Some(range) => set.insert_range(range),
                    None => set.insert_range(0..c.len() as ActionId),
                }
            }
            Expansion::OverBudget => {}
        }
    }
    if action.is_not() {
        let mut all = ActionSet::full();
        all.subtract(&set);
        set = all;
    }
    set
}

fn analyse<'p>(
    doc: usize,
    policy: &'p Policy,
    known: &eval::Context,
    (account, org): (Option<&str>, Option<&str>),
    unknown: &mut Vec<(usize, usize, String)>,
    budget: &mut Budget,
) -> Vec<Stmt<'p>> {
    policy
        .statements
        .iter()
        .map(|s| {
            let mut actions = statement_actions(s, unknown, doc, budget);
            // Conditions on the principal's known facts that fail: dead.
            let dead = s
                .conditions
                .iter()
                .any(|c| known.get(&c.key).is_some() && !eval::condition::holds(c, known));
            if dead {
                actions = ActionSet::empty();
            }
            let reach = if actions.is_empty() {
                Some(ActionSet::empty())
            } else {
                broad_actions(s.resource.as_ref(), account)
            };
            let within = |a: &ActionSet| match &reach {
                None => a.clone(),
                Some(r) => r.intersection(a),
            };
            let written = within(&actions);
            // A required key the action does not have: dead for that action.
            for c in s
                .conditions
                .iter()
                .filter(|c| requires_key(c) && !eval::keys::in_every_request(&c.key))
            {
                actions.intersect_with(&actions_with_key(&c.key));
            }
            let broad = within(&actions);
            Stmt {
                doc,
                s,
                actions,
                broad,
                written,
                narrowing: s.conditions.iter().any(|c| narrows(c, account, org)),
            }
        })
        .collect()
}

/// Does a Deny take its actions back whatever the caller does? Only with no
/// condition, or conditions on the principal's own known facts that hold.
fn certain(s: &Statement, known: &eval::Context) -> bool {
    s.conditions
        .iter()
        .all(|c| known.get(&c.key).is_some() && eval::condition::holds(c, known))
}

/// What a principal effectively grants on every resource of each action.
pub struct Grants<'p> {
    stmts: Vec<Stmt<'p>>,
    /// Granted with no narrowing condition, after Denies and the boundary.
    pub free: ActionSet,
    /// Granted only under narrowing conditions, after Denies and the boundary.
    pub conditioned: ActionSet,
    /// Patterns that match no known action: (document, statement, pattern).
    pub unknown: Vec<(usize, usize, String)>,
    /// Everything any Allow names, on any resource.
    pub named: ActionSet,
    /// What Denies and the boundary certainly take back.
    denied: ActionSet,
    /// What the boundary allows on every resource, when there is one.
    bound: Option<ActionSet>,
    /// Action patterns the expansion budget could not pay for (read the
    /// safe way: [`statement_actions`]).
    pub over_budget: usize,
}

impl<'p> Grants<'p> {
    fn of(
        p: &'p Principal,
        holder: Option<&str>,
        account: Option<&str>,
        org: Option<&str>,
    ) -> Grants<'p> {
        let known = known_context(holder, account);
        let mut unknown = Vec::new();
        let mut stmts = Vec::new();
        let mut budget = Budget::for_catalog();
        for (i, d) in p.documents.iter().enumerate() {
            stmts.extend(analyse(
                i,
                &d.policy,
                &known,
                (account, org),
                &mut unknown,
                &mut budget,
            ));
        }
        let mut denied = ActionSet::empty();
        let mut free = ActionSet::empty();
        let mut conditioned = ActionSet::empty();
        let mut named = ActionSet::empty();
        for st in &stmts {
            match st.s.effect {
                Effect::Allow => {
                    named.union_with(&st.actions);
                    if st.narrowing {
                        conditioned.union_with(&st.broad);
                    } else {
                        free.union_with(&st.broad);
                    }
                }
                Effect::Deny if certain(st.s, &known) => denied.union_with(&st.broad),
                Effect::Deny => {}
            }
        }
        let mut bound = None;
        if let Some(b) = p.boundary_policy() {
            let mut ignore = Vec::new();
            let bs = analyse(
                usize::MAX,
                b,
                &known,
                (account, org),
                &mut ignore,
                &mut budget,
            );
            let mut allowed = ActionSet::empty();
            for st in &bs {
                match st.s.effect {
                    Effect::Allow => allowed.union_with(&st.broad),
                    Effect::Deny if certain(st.s, &known) => denied.union_with(&st.broad),
                    Effect::Deny => {}
                }
            }
            free.intersect_with(&allowed);
            conditioned.intersect_with(&allowed);
            bound = Some(allowed);
        }
        free.subtract(&denied);
        conditioned.subtract(&denied);
        conditioned.subtract(&free);
        Grants {
            stmts,
            free,
            conditioned,
            unknown,
            named,
            denied,
            bound,
            over_budget: budget.refused,
        }
    }

    /// What the Allows are written to grant on every resource, within the
    /// boundary (Denies not counted).
    fn written_all(&self) -> ActionSet {
        let mut s = ActionSet::empty();
        for st in self.stmts.iter().filter(|st| st.s.effect == Effect::Allow) {
            s.union_with(&st.written);
        }
        if let Some(b) = &self.bound {
            s.intersect_with(b);
        }
        s
    }

    /// Everything granted on every resource, with or without conditions.
    pub fn all(&self) -> ActionSet {
        let mut s = self.free.clone();
        s.union_with(&self.conditioned);
        s
    }

    /// The Allow statements that grant any of these actions broadly.
    fn granting(&self, set: &ActionSet) -> Vec<(usize, usize)> {
        let mut v: Vec<(usize, usize)> = self
            .stmts
            .iter()
            .filter(|st| st.s.effect == Effect::Allow && st.broad.intersects(set))
            .map(|st| (st.doc, st.s.index))
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

/// Findings name their statements (one document) or their documents.
struct Namer<'p> {
    principal: &'p Principal,
}

impl Namer<'_> {
    fn single(&self) -> bool {
        matches!(self.principal.documents.as_slice(), [d] if d.origin == Origin::Document)
    }
    fn name(&self, f: Finding, at: &[(usize, usize)]) -> Finding {
        if self.single() {
            let mut statements: Vec<usize> = at.iter().map(|(_, s)| *s).collect();
            statements.sort();
            statements.dedup();
            f.statements(statements)
        } else {
            let mut docs: Vec<usize> = at.iter().map(|(d, _)| *d).collect();
            docs.sort();
            docs.dedup();
            let sources = docs
                .iter()
                .filter_map(|d| self.principal.documents.get(*d))
                .map(|d| d.origin.label())
                .collect();
            f.sources(sources)
        }
    }
    fn of_eval(&self, at: &[(Source, usize)]) -> Vec<(usize, usize)> {
        at.iter()
            .filter_map(|(s, i)| match s {
                Source::Identity(d) => Some((*d, *i)),
                _ => None,
            })
            .collect()
    }
}

/// Judge a permission policy (inline, managed, or a managed policy version)
/// on its own, as the only policy of its holder when the holder is known.
pub fn judge(policy: &Policy, ctx: &Context) -> Judgement {
    judge_owned(policy.clone(), ctx)
}

/// [`judge`], for a caller that has no further use for the policy.
pub fn judge_owned(policy: Policy, ctx: &Context) -> Judgement {
    let p = Principal::of_document(ctx.holder.map(|h| h.role_arn), policy);
    judge_principal(&p, ctx)
}

/// Judge a principal's permissions as a whole.
pub fn judge_principal(p: &Principal, ctx: &Context) -> Judgement {
    let c = catalog();
    let t = tables();
    let holder = p.arn.as_deref().or(ctx.holder.map(|h| h.role_arn));
    let account = ctx.account.or(p.account());
    let g = Grants::of(p, holder, account, ctx.config.organization_id.as_deref());
    let all = g.all();
    let namer = Namer { principal: p };
    let mut out = Judgement::default();
    out.notes.extend(p.notes.iter().cloned());

    // Attached AWS managed policies on the deny list.
    for arn in &p.attached {
        if !catalog::is_aws_managed_arn(arn) {
            continue;
        }
        let name = arn.rsplit('/').next().unwrap_or(arn);
        if let Some(sev) = ctx.config.denied_managed_policies.get(name) {
            let f = Finding::new(
                RuleId::PermDeniedManagedPolicy,
                *sev,
                format!("attaches {name}, which is on the deny list"),
            )
            .details(vec![arn.clone()]);
            out.findings.push(if namer.single() {
                f
            } else {
                f.sources(vec![arn.clone()])
            });
        }
    }

    // Statement-shape rules, independent of the catalog.
    for st in g.stmts.iter().filter(|st| st.s.effect == Effect::Allow) {
        let s = st.s;
        let not_action = s.action.as_ref().is_some_and(Either::is_not);
        let not_resource = s.resource.as_ref().is_some_and(Either::is_not);
        if (not_action || not_resource) && !st.actions.is_empty() {
            let what = match (not_action, not_resource) {
                (true, true) => "NotAction and NotResource",
                (true, false) => "NotAction",
                _ => "NotResource",
            };
            out.findings.push(
                namer
                    .name(
                        Finding::new(
                            RuleId::PermNotActionOrResource,
                            Severity::High,
                            format!(
                                "{} allows with {what}: it grants everything not listed",
                                s.label()
                            ),
                        ),
                        &[(st.doc, s.index)],
                    )
                    .lowered(u8::from(st.narrowing)),
            );
        }
    }
    if g.over_budget > 0 {
        out.notes.push(format!(
            "{} action patterns with inner wildcards were more than roleguard expands for one principal ({} passes over the catalog); each was read as every action of its service where it allows, as none where it denies",
            g.over_budget,
            Budget::CATALOG_PASSES
        ));
    }
    if !g.unknown.is_empty() {
        let names: Vec<String> = g.unknown.iter().map(|(_, _, p)| p.clone()).collect();
        let at: Vec<(usize, usize)> = g.unknown.iter().map(|(d, s, _)| (*d, *s)).collect();
        out.findings.push(
            namer
                .name(
                    Finding::new(
                        RuleId::PermUnknownAction,
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
                    ),
                    &at,
                )
                .details(names),
        );
    }

    // Full admin: one statement granting (nearly) everything, IAM included,
    // on every resource, and nothing (Deny, boundary) taking IAM back.
    let admin: Vec<&Stmt> = g
        .stmts
        .iter()
        .filter(|st| {
            st.s.effect == Effect::Allow
                && st.written.is_superset(&t.iam)
                && st.written.len() * 10 >= c.len() * 9
        })
        .collect();
    let mut effective = g.written_all();
    effective.subtract(&g.denied);
    if !admin.is_empty() && effective.is_superset(&t.iam) {
        let free_admin = admin.iter().find(|st| !st.narrowing);
        // `admin` is not empty (checked above).
        #[allow(clippy::indexing_slicing)]
        let st = free_admin.unwrap_or(&admin[0]);
        let how = if st.s.action.as_ref().is_some_and(Either::is_not) {
            "every action except those in NotAction, IAM included,"
        } else {
            "every action"
        };
        out.findings.push(
            namer
                .name(
                    Finding::new(
                        RuleId::PermFullAdmin,
                        Severity::Critical,
                        format!("{} allows {how} on every resource", st.s.label()),
                    ),
                    &[(st.doc, st.s.index)],
                )
                .lowered(u8::from(free_admin.is_none())),
        );
        // Everything below is implied by full admin. For a principal of
        // several documents, the others are still judged: once the
        // administrator grant is reverted, they are what remains.
        if !namer.single() {
            let admin_docs: Vec<usize> = admin.iter().map(|st| st.doc).collect();
            let rest = Principal {
                documents: p
                    .documents
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !admin_docs.contains(i))
                    .map(|(_, d)| d.clone())
                    .collect(),
                notes: vec![],
                attached: p
                    .attached
                    .iter()
                    .filter(|a| {
                        !admin_docs.iter().any(|&d| {
                            p.documents
                                .get(d)
                                .is_some_and(|doc| doc.origin == Origin::Managed(a.to_string()))
                        })
                    })
                    .cloned()
                    .collect(),
                ..p.clone()
            };
            if !rest.documents.is_empty() {
                let more = judge_principal(&rest, ctx);
                out.findings.extend(
                    more.findings
                        .into_iter()
                        .filter(|f| f.rule != RuleId::PermDeniedManagedPolicy),
                );
            }
        }
        return out;
    }

    // Privilege escalation, asked of the evaluator.
    let identity: Vec<&Policy> = p.documents.iter().map(|d| &d.policy).collect();
    // The managed policies the principal uses: its own, and its holder's
    // when the document is judged on behalf of a known role.
    let mut attached = p.attached.clone();
    for a in ctx.holder.map(|h| h.attached).unwrap_or_default() {
        if !attached.contains(a) {
            attached.push(a.clone());
        }
    }
    let view = View::new(
        identity,
        p.boundary_policy(),
        holder,
        account,
        &attached,
        ctx.config.organization_id.as_deref(),
    );
    let esc = escalation_paths(&view, &g, ctx);
    let mut escalation_actions = ActionSet::empty();
    if let Some(best) = esc.fired.iter().max_by_key(|f| {
        (
            f.severity.lowered(f.lowering),
            std::cmp::Reverse(f.lowering),
        )
    }) {
        let shown: Vec<String> = esc.fired.iter().map(|f| f.shown.clone()).collect();
        let mut at: Vec<(usize, usize)> = esc
            .fired
            .iter()
            .flat_map(|f| f.at.iter().copied())
            .collect();
        at.sort();
        at.dedup();
        let selfish = esc.fired.iter().any(|f| f.own);
        let message = format!(
            "allows privilege escalation{} by {}: {}",
            if selfish {
                ", on itself"
            } else {
                " on unconstrained resources"
            },
            plural(esc.fired.len(), "path"),
            list(&shown, 4)
        );
        out.findings.push(
            namer
                .name(
                    Finding::new(RuleId::PermPrivilegeEscalation, best.severity, message),
                    &at,
                )
                .details(esc.fired.iter().map(|f| f.id.to_string()).collect())
                .lowered(best.lowering),
        );
        for f in &esc.fired {
            escalation_actions.union_with(&f.actions);
        }
    }

    // Whole-service wildcards, statement by statement.
    let mut wildcard_services: Vec<String> = Vec::new();
    let mut wildcard_at = Vec::new();
    let mut wildcard_set = ActionSet::empty();
    let mut wildcard_severity = Severity::Info;
    let mut wildcard_lowering = 1u8;
    for st in g.stmts.iter().filter(|st| st.s.effect == Effect::Allow) {
        let Some(Either::Is(patterns)) = &st.s.action else {
            continue;
        };
        for pat in patterns {
            let Some((service, "*")) = pat.split_once(':') else {
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
            set.intersect_with(&st.broad);
            if set.is_empty() {
                continue; // scoped, dead, or denied again
            }
            let service = service.to_ascii_lowercase();
            let sev = if SENSITIVE_SERVICES.contains(&service.as_str()) {
                Severity::High
            } else {
                Severity::Medium
            };
            wildcard_severity = wildcard_severity.max(sev);
            wildcard_lowering = wildcard_lowering.min(u8::from(st.narrowing));
            wildcard_set.union_with(&set);
            if !wildcard_services.contains(&service) {
                wildcard_services.push(service);
            }
            if !wildcard_at.contains(&(st.doc, st.s.index)) {
                wildcard_at.push((st.doc, st.s.index));
            }
        }
    }
    if !wildcard_services.is_empty() {
        let names: Vec<String> = wildcard_services.iter().map(|s| format!("{s}:*")).collect();
        out.findings.push(
            namer
                .name(
                    Finding::new(
                        RuleId::PermServiceWildcard,
                        wildcard_severity,
                        format!(
                            "allows every action of a service on all resources: {}",
                            list(&names, 6)
                        ),
                    ),
                    &wildcard_at,
                )
                .details(names)
                .lowered(wildcard_lowering),
        );
    }

    // What the rules above reported is not repeated below.
    let mut reported = escalation_actions.clone();
    reported.union_with(&wildcard_set);
    reported.union_with(&esc.others);
    if let Some(id) = t.pass_role {
        reported.insert(id);
    }
    if let Some(id) = t.assume_role {
        reported.insert(id);
    }

    let mut pm = all.intersection(c.level(Level::PermissionsManagement));
    pm.intersect_with(c.scoped());
    pm.subtract(&reported);
    pm.subtract(&t.pm_reads);
    let mut others = esc.others.clone();
    if esc.own_out_of_reach {
        // IAM's own permissions management reaches other roles and policies only.
        let iam = pm.intersection(&t.iam);
        pm.subtract(&iam);
        others.union_with(&iam);
        reported.union_with(&iam);
    }
    push_set(
        &mut out,
        &g,
        &namer,
        RuleId::PermModifiesOtherRoles,
        Severity::Medium,
        &others,
        "IAM changes on other roles and policies, its own role out of reach",
    );
    push_set(
        &mut out,
        &g,
        &namer,
        RuleId::PermPermissionsManagement,
        Severity::High,
        &pm,
        "permissions-management actions on all resources",
    );

    let mut write = all.intersection(c.level(Level::Write));
    write.intersect_with(c.scoped());
    write.subtract(&reported);
    write.subtract(&t.telemetry);
    push_set(
        &mut out,
        &g,
        &namer,
        RuleId::PermWriteUnconstrained,
        Severity::Medium,
        &write,
        "write actions on all resources, though each can be scoped to resources",
    );

    let exfil = all.intersection(&t.exfiltration);
    push_set(
        &mut out,
        &g,
        &namer,
        RuleId::PermDataExfiltration,
        Severity::Medium,
        &exfil,
        "data-exfiltration reads on all resources",
    );

    let mut creds = all.intersection(&t.credentials);
    creds.subtract(&escalation_actions);
    push_set(
        &mut out,
        &g,
        &namer,
        RuleId::PermCredentialExposure,
        Severity::Medium,
        &creds,
        "actions that return credentials, on all resources",
    );

    // iam:PassRole of any role, to any service.
    let any_service: &[(&str, &[&str])] =
        &[("iam:PassedToService", &["roleguard-witness.amazonaws.com"])];
    if let Some(r) = view.reach("iam:PassRole", Target::Existing, any_service) {
        out.findings.push(
            namer
                .name(
                    Finding::new(
                        RuleId::PermPassroleUnconstrained,
                        Severity::High,
                        "allows iam:PassRole on all roles without an iam:PassedToService condition",
                    ),
                    &namer.of_eval(&r.statements),
                )
                .lowered(r.reach.lowering()),
        );
    }
    if let Some(r) = view.reach("sts:AssumeRole", Target::Existing, &[]) {
        out.findings.push(
            namer
                .name(
                    Finding::new(
                        RuleId::PermAssumeAnyRole,
                        Severity::Medium,
                        "allows sts:AssumeRole on all roles",
                    ),
                    &namer.of_eval(&r.statements),
                )
                .lowered(r.reach.lowering()),
        );
    }
    out
}

/// One escalation path that fired.
struct Fired {
    id: &'static str,
    shown: String,
    severity: Severity,
    lowering: u8,
    /// Through the principal itself.
    own: bool,
    actions: ActionSet,
    at: Vec<(usize, usize)>,
}

/// The escalation paths a principal has, and what it can change on other
/// roles only (its own role out of its reach).
struct Escalation {
    fired: Vec<Fired>,
    /// Actions of paths that work on other roles only, the principal's own
    /// role and policies being out of its reach and other roles out of its
    /// use: perm-modifies-other-roles.
    others: ActionSet,
    own_out_of_reach: bool,
}

/// iam:PolicyARN for the attach paths: what an attacker attaches.
const ADMIN_POLICY: &[&str] = &["arn:aws:iam::aws:policy/AdministratorAccess"];

fn escalation_paths(view: &View, g: &Grants, _ctx: &Context) -> Escalation {
    let mut fired = Vec::new();
    let mut others = ActionSet::empty();
    let holder_known = view.holder().is_some();
    // Can the principal use another role (assume it, or pass it)?
    let uses_other_roles = || {
        view.reach("sts:AssumeRole", Target::Existing, &[])
            .is_some()
            || view.reach("iam:PassRole", Target::Existing, &[]).is_some()
    };
    let mut own_out_of_reach = false;
    for (path, ids) in PATHS.iter().zip(escalation::path_ids()) {
        // Quick refusal: some action is named by no Allow at all.
        if ids.len() != path.actions.len() || !ids.iter().all(|&id| g.named.contains(id)) {
            continue;
        }
        let passed = escalation::passed_to(path.id);
        let fixed_for = |action: &str| -> Vec<(&'static str, &'static [&'static str])> {
            let mut f = Vec::new();
            if action.eq_ignore_ascii_case("iam:PassRole") && !passed.is_empty() {
                f.push(("iam:PassedToService", passed));
            }
            if action.starts_with("iam:Attach") {
                f.push(("iam:PolicyARN", ADMIN_POLICY));
            }
            f
        };
        let own_actions = escalation::self_actions(path.id);
        // A path through the principal itself needs a principal of its kind:
        // a user's paths for a user, a role's for a role.
        let own_applies = holder_known
            && !own_actions.is_empty()
            && view.holder().is_some_and(|h| {
                if path.id.contains("-user-") {
                    h.contains(":user/")
                } else {
                    h.contains(":role/") || path.id.contains("policy-version")
                }
            });
        let run = |own: bool| -> Option<(u8, Vec<(usize, usize)>)> {
            let mut lowering = 0u8;
            let mut at = Vec::new();
            for (action, new) in path.steps() {
                let target = if own && own_actions.iter().any(|a| a.eq_ignore_ascii_case(action)) {
                    Target::Own
                } else if new {
                    Target::New
                } else {
                    Target::Existing
                };
                // Through itself, only the actions on itself are needed.
                if own && target != Target::Own && path.id == "iam-update-assume-role-policy" {
                    continue;
                }
                let fixed = fixed_for(action);
                let r = view.reach(action, target, &fixed)?;
                lowering = lowering.max(r.reach.lowering());
                at.extend(r.statements.iter().filter_map(|(s, i)| match s {
                    Source::Identity(d) => Some((*d, *i)),
                    _ => None,
                }));
            }
            Some((lowering, at))
        };
        let mut result = None;
        let mut own = false;
        if own_applies {
            if let Some(r) = run(true) {
                result = Some(r);
                own = true;
            }
        }
        if result.is_none() {
            if let Some(r) = run(false) {
                // Paths that work through one's own role: with the own role
                // out of reach and no other role to use, they change other
                // roles only.
                if own_applies && !uses_other_roles() {
                    others.union_with(&set_of(ids.iter().copied()));
                    own_out_of_reach = true;
                    continue;
                }
                result = Some(r);
            }
        }
        let Some((lowering, at)) = result else {
            continue;
        };
        fired.push(Fired {
            id: path.id,
            shown: path.shown(),
            severity: if own {
                Severity::Critical
            } else {
                path.severity
            },
            lowering,
            own,
            actions: set_of(ids.iter().copied()),
            at,
        });
    }
    Escalation {
        fired,
        others,
        own_out_of_reach,
    }
}

/// At most this many action names go in a finding's details.
pub const MAX_DETAILS: usize = 100;

fn push_set(
    out: &mut Judgement,
    g: &Grants,
    namer: &Namer,
    rule: RuleId,
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
        namer
            .name(
                Finding::new(
                    rule,
                    severity,
                    format!("allows {count} {what}: {}", list_of(&names, count, 5)),
                ),
                &g.granting(set),
            )
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
            names
                .iter()
                .take(shown)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
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
    if catalog::managed_policy(policy_arn).is_none() {
        out.notes.push(format!(
            "{policy_arn} is not in roleguard's snapshot of AWS managed policies: only the deny list applied"
        ));
    }
    let mut p = Principal {
        arn: ctx.holder.map(|h| h.role_arn.to_owned()),
        ..Principal::default()
    };
    p.attach(policy_arn, None);
    p.notes.clear();
    // One document: its findings name its statements.
    for d in &mut p.documents {
        d.origin = Origin::Document;
    }
    let j = judge_principal(&p, ctx);
    out.extend(j);
    out
}

/// A permission policy of at most `size` characters made of nothing but
/// action patterns with inner wildcards (`ec2:*a*t*c*`, `*:*r*o*l*`...), on
/// every resource: what an adversary writes to make wildcard expansion slow.
/// For the benchmark and the tests; deterministic.
pub fn wildcard_document(size: usize) -> String {
    const SERVICES: &[&str] = &[
        "iam", "s3", "ec2", "lambda", "sts", "kms", "*", "dynamodb", "s?s",
    ];
    const LETTERS: &[u8] = b"abcdeghilmnoprstuvy?";
    let wrap = |actions: &[String]| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]})
        .to_string()
    };
    let mut actions: Vec<String> = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut left = size.saturating_sub(wrap(&[]).len());
    loop {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let service = SERVICES
            .get((x % SERVICES.len() as u64) as usize)
            .copied()
            .unwrap_or("s3");
        let letters = 3 + (x >> 8) as usize % 6;
        let name: Vec<String> = (0..letters)
            .map(|i| {
                let l = LETTERS
                    .get(((x >> (16 + 3 * i)) % LETTERS.len() as u64) as usize)
                    .copied()
                    .unwrap_or(b'a');
                (l as char).to_string()
            })
            .collect();
        let pattern = format!("{service}:*{}*", name.join("*"));
        // The pattern, its quotes and a comma.
        let cost = pattern.len() + 3;
        if cost > left {
            break;
        }
        left -= cost;
        actions.push(pattern);
    }
    wrap(&actions)
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    fn ctx(config: &crate::config::Config) -> Context<'_> {
        Context {
            config,
            account: Some("111122223333"),
            holder: None,
        }
    }

    #[test]
    fn wildcard_expansion_is_bounded_and_errs_on_the_safe_side() {
        let doc = wildcard_document(131_072);
        assert!(doc.len() <= 131_072 && doc.len() > 130_000, "{}", doc.len());
        let config = crate::config::Config::default();
        let j = judge(&Policy::parse(&doc).unwrap(), &ctx(&config));
        // Over the budget: said, and read as granting (an Allow of `*:*...`
        // patterns may name anything), so the verdict stays critical.
        assert!(
            j.notes
                .iter()
                .any(|n| n.contains("more than roleguard expands")),
            "{:?}",
            j.notes
        );
        assert!(j.findings.iter().any(|f| f.severity == Severity::Critical));
        // With the budget spent, a pattern stands for every action of its
        // service in an Allow, for none in a Deny.
        let c = catalog();
        let spent = || {
            let mut b = Budget::for_catalog();
            let mut sink = ActionSet::empty();
            while c.expand_within("*:*a*", &mut sink, &mut b) != Expansion::OverBudget {}
            b
        };
        let statement = |effect: &str| {
            let p = Policy::parse(&format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":"iam:*p*r*","Resource":"*"}}]}}"#
            ))
            .unwrap();
            let mut unknown = vec![];
            statement_actions(&p.statements[0], &mut unknown, 0, &mut spent())
        };
        assert_eq!(statement("Allow").len(), c.expand("iam:*").len());
        assert!(statement("Deny").is_empty());
        // The budget pays for 16 passes over the catalog, and no more.
        let mut budget = Budget::for_catalog();
        let mut set = ActionSet::empty();
        let refused = (0..=Budget::CATALOG_PASSES)
            .filter(|_| c.expand_within("*:*a*", &mut set, &mut budget) == Expansion::OverBudget)
            .count();
        assert_eq!((refused, budget.refused), (1, 1));
        // Prefix patterns cost no scan.
        assert_eq!(
            c.expand_within("s3:Get*", &mut set, &mut budget),
            Expansion::Matched
        );
    }
}
