//! Judge one CloudTrail event and plan what to do about it.
//!
//! [`assess`] is the whole decision, pure: whether to act at all (failed
//! calls, exempt roles and roleguard's own changes are left alone), the
//! findings, and the steps that the Lambda carries out in order. Each step
//! is named after the IAM call that performs it. Any document a step removes
//! or replaces travels in the step itself, so nothing is lost.

use crate::config::{Config, Response};
use crate::event::{Change, Event, EventError, TAG_PREFIX};
use crate::policy::{self, Policy, PolicyError};
use crate::rules::RuleId;
use crate::rules::{
    self, permissions, role::RoleSettings, trust, Context, Finding, Judgement, Severity, Target,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The inline policy put on a role that cannot be reverted (`quarantine: true`).
pub const QUARANTINE_POLICY_NAME: &str = "roleguard-quarantine";

/// IAM's limit on a tag value.
const TAG_VALUE_MAX: usize = 256;

/// One step of a plan, named after the IAM call that carries it out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    DetachRolePolicy {
        role_name: String,
        policy_arn: String,
    },
    DeleteRolePolicy {
        role_name: String,
        policy_name: String,
        /// The inline policy being removed.
        removed_document: Value,
    },
    PutRolePolicy {
        role_name: String,
        policy_name: String,
        policy_document: Value,
        /// The inline policy being overwritten, when the step puts a previous
        /// document back; when the role's policy is no longer this one, the
        /// change has been superseded and nothing is done.
        #[serde(skip_serializing_if = "Option::is_none")]
        replaced_document: Option<Value>,
    },
    UpdateAssumeRolePolicy {
        role_name: String,
        /// The trust policy without its offending statements (deny-all if
        /// none is left). The Lambda puts back the previous trust policy
        /// instead when it knows it.
        policy_document: Value,
        /// The trust policy being replaced.
        replaced_document: Value,
    },
    SetDefaultPolicyVersion {
        policy_arn: String,
        /// `null`: the newest version other than the bad one, looked up when
        /// the plan is carried out.
        version_id: Option<String>,
        /// The bad version the change made the default; when it is no longer
        /// the default, the change has been superseded and nothing is done.
        replacing: Option<String>,
    },
    DeletePolicyVersion {
        policy_arn: String,
        version_id: String,
        /// The version's document, being removed.
        removed_document: Value,
    },
    PutRolePermissionsBoundary {
        role_name: String,
        permissions_boundary: String,
    },
    UpdateRole {
        role_name: String,
        max_session_duration: u32,
    },
    /// IAM's revoke policy ([`crate::sessions`]): an inline policy denying
    /// every action to the role's sessions issued before the revert, after a
    /// trust revert (or a reverted raise of MaxSessionDuration) at or above
    /// `revoke_sessions_at`. Carried out with `put_role_policy`; a revoke
    /// policy that already stands only ever moves later.
    RevokeSessions {
        role_name: String,
        policy_name: String,
        /// Sessions issued before this time (ISO 8601, UTC) are denied:
        /// the time the step is carried out; `null` in a plan not yet
        /// carried out.
        issued_before: Option<String>,
        /// The revoke policy this one replaced (an earlier time).
        #[serde(skip_serializing_if = "Option::is_none")]
        replaced_document: Option<Value>,
    },
    TagRole {
        role_name: String,
        tags: BTreeMap<String, String>,
    },
    DetachUserPolicy {
        user_name: String,
        policy_arn: String,
    },
    DeleteUserPolicy {
        user_name: String,
        policy_name: String,
        /// The inline policy being removed.
        removed_document: Value,
    },
    PutUserPermissionsBoundary {
        user_name: String,
        permissions_boundary: String,
    },
    RemoveUserFromGroup {
        user_name: String,
        group_name: String,
    },
    TagUser {
        user_name: String,
        tags: BTreeMap<String, String>,
    },
    DetachGroupPolicy {
        group_name: String,
        policy_arn: String,
    },
    /// A required guardrail (`required_guardrails`) put back where it was
    /// detached.
    AttachRolePolicy {
        role_name: String,
        policy_arn: String,
    },
    AttachUserPolicy {
        user_name: String,
        policy_arn: String,
    },
    AttachGroupPolicy {
        group_name: String,
        policy_arn: String,
    },
    DeleteGroupPolicy {
        group_name: String,
        policy_name: String,
        /// The inline policy being removed.
        removed_document: Value,
    },
    Notify {
        severity: Severity,
        rules: Vec<String>,
    },
}

impl Step {
    /// The step's name, as in its JSON (`action`): the IAM call in snake case.
    pub fn action(&self) -> &'static str {
        match self {
            Step::DetachRolePolicy { .. } => "detach_role_policy",
            Step::DeleteRolePolicy { .. } => "delete_role_policy",
            Step::PutRolePolicy { .. } => "put_role_policy",
            Step::UpdateAssumeRolePolicy { .. } => "update_assume_role_policy",
            Step::SetDefaultPolicyVersion { .. } => "set_default_policy_version",
            Step::DeletePolicyVersion { .. } => "delete_policy_version",
            Step::PutRolePermissionsBoundary { .. } => "put_role_permissions_boundary",
            Step::UpdateRole { .. } => "update_role",
            Step::RevokeSessions { .. } => "revoke_sessions",
            Step::TagRole { .. } => "tag_role",
            Step::DetachUserPolicy { .. } => "detach_user_policy",
            Step::DeleteUserPolicy { .. } => "delete_user_policy",
            Step::PutUserPermissionsBoundary { .. } => "put_user_permissions_boundary",
            Step::RemoveUserFromGroup { .. } => "remove_user_from_group",
            Step::TagUser { .. } => "tag_user",
            Step::DetachGroupPolicy { .. } => "detach_group_policy",
            Step::AttachRolePolicy { .. } => "attach_role_policy",
            Step::AttachUserPolicy { .. } => "attach_user_policy",
            Step::AttachGroupPolicy { .. } => "attach_group_policy",
            Step::DeleteGroupPolicy { .. } => "delete_group_policy",
            Step::Notify { .. } => "notify",
        }
    }

    /// The documents the step takes away: removed (deleted) or replaced
    /// (overwritten). What travels with the alert and the audit record.
    pub fn kept_documents(&self) -> Vec<(&'static str, &Value)> {
        match self {
            Step::DeleteRolePolicy {
                removed_document, ..
            }
            | Step::DeletePolicyVersion {
                removed_document, ..
            }
            | Step::DeleteUserPolicy {
                removed_document, ..
            }
            | Step::DeleteGroupPolicy {
                removed_document, ..
            } => vec![("removed", removed_document)],
            Step::UpdateAssumeRolePolicy {
                replaced_document, ..
            } => vec![("replaced", replaced_document)],
            Step::PutRolePolicy {
                replaced_document: Some(d),
                ..
            }
            | Step::RevokeSessions {
                replaced_document: Some(d),
                ..
            } => vec![("replaced", d)],
            _ => vec![],
        }
    }

    /// Does the step undo the change (rather than tag or notify)?
    pub fn reverts(&self) -> bool {
        !matches!(
            self,
            Step::TagRole { .. } | Step::TagUser { .. } | Step::Notify { .. }
        )
    }
}

/// Why a check of an event failed.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("{call}: the policy document in the event is invalid: {source}")]
    Policy {
        call: &'static str,
        source: PolicyError,
    },
    /// Fail closed: the record lacks what the call put in force.
    #[error("{call}: the event does not carry requestParameters.{field} (CloudTrail omitted it or cut it short); the change cannot be judged from the record: `roleguard handle` and the Lambda read the document IAM holds")]
    MissingDocument { call: String, field: &'static str },
}

/// The verdict on one event.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub event_id: Option<String>,
    pub account: Option<String>,
    pub call: &'static str,
    pub role_name: Option<String>,
    /// The user a change is about (a policy of the user, its boundary, its
    /// groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The group a change is about (a policy of the group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    pub actor: Option<String>,
    /// Set when the event is deliberately left alone, with the reason.
    pub skipped: Option<String>,
    #[serde(flatten)]
    pub judgement: Judgement,
    pub plan: Vec<Step>,
}

fn parse(call: &'static str, text: &str) -> Result<Policy, AssessError> {
    Policy::parse(text).map_err(|source| AssessError::Policy { call, source })
}

/// The document as JSON for the record; the raw text when it does not decode.
fn document_value(text: &str) -> Value {
    policy::decode(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// What the shell fetched from IAM for a change that names a customer
/// managed policy (AttachRolePolicy) or a policy version (SetDefaultPolicyVersion).
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The policy document the change puts in force.
    pub document: Option<String>,
    /// The role's last known compliant trust policy (the store's baseline):
    /// a bad UpdateAssumeRolePolicy is reverted to exactly this document.
    pub previous_trust_policy: Option<Value>,
    /// The last known compliant document of the inline policy the event
    /// writes: a bad PutRolePolicy puts exactly this document back.
    pub previous_inline_policy: Option<Value>,
    /// The role as a whole, for a change that grants what takes part in an
    /// escalation path or administrator access ([`needs_role`]): its other
    /// policies and boundary decide what the change amounts to.
    pub role: Option<crate::snapshot::RoleParts>,
    /// The role's path as IAM reports it (GetRole), read when a change that
    /// would be acted on may be to a service-linked role.
    pub role_path: Option<String>,
    /// The role's boundary as last accepted (the store's baseline): a removed
    /// boundary is put back to exactly this.
    pub previous_boundary: Option<String>,
    /// The user or group a change is about, as IAM holds it after the
    /// change (a user with its groups): it is judged as a whole.
    pub entity: Option<crate::snapshot::EntityParts>,
    /// The document a Detach*Policy or Delete*Policy removed: a customer
    /// managed policy's default version (read from IAM), or a role's inline
    /// policy from its baseline. AWS managed ones come from the snapshot.
    pub removed_document: Option<String>,
}

/// The actions that take part in some escalation path, or in the role-
/// reaching rules (PassRole, AssumeRole): a change that grants none of them
/// is judged on its own, with no IAM call.
fn relevant_actions() -> &'static crate::catalog::ActionSet {
    static SET: std::sync::OnceLock<crate::catalog::ActionSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let c = crate::catalog::catalog();
        let mut s = crate::catalog::ActionSet::empty();
        for ids in rules::escalation::path_ids() {
            for &id in ids {
                s.insert(id);
            }
        }
        for a in ["iam:PassRole", "sts:AssumeRole"] {
            if let Some(id) = c.lookup(a) {
                s.insert(id);
            }
        }
        s
    })
}

/// Does judging this change need the role's other policies? Only when the
/// document it puts in force allows an action that takes part in an
/// escalation path (or PassRole, AssumeRole): pure, from the catalog.
/// `document` is the fetched one for a customer managed policy.
pub fn needs_role(change: &Change, document: Option<&str>) -> bool {
    let text = match change {
        Change::PutRolePolicy { document, .. } => Some(document.as_str()),
        Change::AttachRolePolicy { policy_arn, .. } => {
            match crate::catalog::managed_policy(policy_arn)
                .filter(|_| crate::catalog::is_aws_managed_arn(policy_arn))
            {
                Some(mp) => Some(mp.document),
                None => document,
            }
        }
        _ => None,
    };
    let Some(policy) = text.and_then(|t| Policy::parse(t).ok()) else {
        return false;
    };
    let c = crate::catalog::catalog();
    let relevant = relevant_actions();
    // Bounded like the judgement's own expansion: a pattern over budget may
    // name anything, so the role is read.
    let mut budget = crate::catalog::Budget::for_catalog();
    let grants = policy.allows().any(|s| {
        let mut set = crate::catalog::ActionSet::empty();
        if let Some(action) = &s.action {
            for p in action.value() {
                if c.expand_within(p, &mut set, &mut budget)
                    == crate::catalog::Expansion::OverBudget
                    && !action.is_not()
                {
                    return true;
                }
            }
            if action.is_not() {
                let mut all = crate::catalog::ActionSet::full();
                all.subtract(&set);
                set = all;
            }
        }
        set.intersects(relevant)
    });
    grants
}

/// The role with a change's document in place: an inline policy put (or
/// replaced), a managed policy attached (with its document when customer
/// managed).
pub fn with_change(
    parts: &crate::snapshot::RoleParts,
    changed: &crate::principal::Origin,
    document: Option<&str>,
) -> Result<crate::snapshot::RoleParts, PolicyError> {
    use crate::principal::Origin;
    let mut after = parts.clone();
    match (changed, document) {
        (Origin::Inline(name), Some(doc)) => {
            let doc = policy::decode(doc)?;
            after.role.inline.retain(|(n, _)| n != name);
            after.role.inline.push((name.clone(), doc));
        }
        (Origin::Managed(arn), doc) => {
            if !after.role.attached.contains(arn) {
                after.role.attached.push(arn.clone());
            }
            if let Some(d) = doc {
                after.policies.insert(arn.clone(), policy::decode(d)?);
            }
        }
        _ => {}
    }
    Ok(after)
}

/// What a change puts on its role, for [`with_change`].
pub fn changed_document(change: &Change) -> Option<crate::principal::Origin> {
    use crate::principal::Origin;
    match change {
        Change::PutRolePolicy { policy_name, .. } => Some(Origin::Inline(policy_name.clone())),
        Change::AttachRolePolicy { policy_arn, .. } => Some(Origin::Managed(policy_arn.clone())),
        _ => None,
    }
}

/// Judge a permission change within its role: the role's policies as IAM
/// holds them, with the changed document as the event put it. Only the
/// findings the changed document takes part in are the event's; the role's
/// other findings are the scan's, and are noted.
fn judge_in_role(
    parts: &crate::snapshot::RoleParts,
    changed: crate::principal::Origin,
    document: Option<&str>,
    ctx: &Context,
) -> Result<Judgement, PolicyError> {
    use crate::principal::Principal;
    let after = with_change(parts, &changed, document)?;
    let (role, policies) = (&after.role, &after.policies);
    let principal = Principal::of_role(role, policies);
    let holder = crate::rules::Holder {
        role_arn: &role.arn,
        attached: &role.attached,
    };
    let ctx = Context {
        holder: Some(holder),
        ..*ctx
    };
    let whole = permissions::judge_principal(&principal, &ctx);
    let label = changed.label();
    let mut out = Judgement {
        findings: vec![],
        notes: whole.notes,
    };
    let mut others: Vec<RuleId> = Vec::new();
    for f in whole.findings {
        if f.sources.contains(&label) {
            out.findings.push(f);
        } else if !others.contains(&f.rule) {
            others.push(f.rule);
        }
    }
    if !others.is_empty() {
        out.notes.push(format!(
            "judged with the role's {} other policies; findings of those alone ({}) are the scan's to report",
            principal.documents.len().saturating_sub(1),
            others.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        ));
    } else {
        out.notes.push(format!(
            "judged with the role's {} other policies{}",
            principal.documents.len().saturating_sub(1),
            if role.permissions_boundary.is_some() {
                " and its boundary"
            } else {
                ""
            }
        ));
    }
    Ok(out)
}

/// What removing a policy takes away: nothing to judge when it only
/// allowed (permissions shrink); a guardrail when it denied, as severe as
/// what its Deny covered (every action: critical; IAM's or an escalation
/// path's actions: high; others: medium); a required guardrail
/// (`required_guardrails`) whatever it held. Lifting a revoke policy
/// ([`crate::sessions`]) is said, not a finding.
fn judge_removal(what: &str, document: Option<&str>, required: bool) -> Judgement {
    let mut j = Judgement::default();
    let parsed = document.map(Policy::parse);
    if let Some(text) = document {
        if policy::decode(text)
            .ok()
            .and_then(|v| crate::sessions::revoke_time(&v))
            .is_some()
            && !required
        {
            j.notes.push(format!(
                "{what} was a revoke of older sessions ({}): lifted",
                crate::sessions::REVOKE_POLICY_NAME
            ));
            return j;
        }
    }
    let covered = match &parsed {
        Some(Ok(p)) => denied_severity(p),
        Some(Err(e)) => {
            j.notes
                .push(format!("{what} held a document that does not parse: {e}"));
            None
        }
        None => {
            j.notes.push(format!(
                "{what} is not known (no baseline in the audit table, nor a managed policy to read): what it denied cannot be judged"
            ));
            None
        }
    };
    if required {
        j.findings.push(Finding::new(
            RuleId::PermRequiredGuardrailRemoved,
            covered.map_or(Severity::High, |s| s.max(Severity::High)),
            format!("{what} is a required guardrail (required_guardrails)"),
        ));
    } else if let Some(severity) = covered {
        j.findings.push(Finding::new(
            RuleId::PermGuardrailRemoved,
            severity,
            format!(
                "{what} denied {}",
                denied_summary(parsed.as_ref().and_then(|p| p.as_ref().ok()))
            ),
        ));
    } else if matches!(parsed, Some(Ok(_))) {
        j.notes.push(format!(
            "{what} only allowed: the principal may do less, nothing to do"
        ));
    }
    j
}

/// How severe losing this policy's Deny statements is; `None` when it has none.
fn denied_severity(p: &Policy) -> Option<Severity> {
    let c = crate::catalog::catalog();
    let relevant = relevant_actions();
    p.statements
        .iter()
        .filter(|s| s.effect == crate::policy::Effect::Deny)
        .map(|s| {
            let Some(action) = &s.action else {
                return Severity::Medium;
            };
            if action.is_not() {
                // Denies everything but a few actions.
                return Severity::Critical;
            }
            let patterns = action.value();
            if patterns.iter().any(|a| a == "*") {
                return Severity::Critical;
            }
            let mut set = crate::catalog::ActionSet::empty();
            let mut budget = crate::catalog::Budget::for_catalog();
            let mut over = false;
            for a in patterns {
                over |= c.expand_within(a, &mut set, &mut budget)
                    == crate::catalog::Expansion::OverBudget;
            }
            if over
                || set.intersects(relevant)
                || patterns
                    .iter()
                    .any(|a| a.to_ascii_lowercase().starts_with("iam:"))
            {
                Severity::High
            } else {
                Severity::Medium
            }
        })
        .max()
}

/// The actions a policy's Deny statements named, in a few words.
fn denied_summary(p: Option<&Policy>) -> String {
    let Some(p) = p else {
        return "something".into();
    };
    let mut names: Vec<String> = p
        .statements
        .iter()
        .filter(|s| s.effect == crate::policy::Effect::Deny)
        .flat_map(|s| match &s.action {
            Some(a) if a.is_not() => vec![format!("every action but {}", a.value().join(", "))],
            Some(a) => a.value().clone(),
            None => vec![],
        })
        .collect();
    names.dedup();
    let n = names.len();
    names.truncate(5);
    let mut out = names.join(", ");
    if n > 5 {
        out += &format!(" and {} more", n - 5);
    }
    out
}

/// Judge a change to a user or group within it: every policy it holds (a
/// user's groups' too), Deny across them, its boundary. Only the findings
/// that the changed documents (`changed`, by label) take part in are the
/// event's; the rest are noted.
fn judge_in_entity(
    parts: &crate::snapshot::EntityParts,
    changed: &[String],
    ctx: &Context,
) -> Judgement {
    let principal = crate::principal::Principal::of_entity(parts);
    let holder = crate::rules::Holder {
        role_arn: &parts.arn,
        attached: &parts.attached,
    };
    let ctx = Context {
        holder: Some(holder),
        ..*ctx
    };
    let whole = permissions::judge_principal(&principal, &ctx);
    let mut out = Judgement {
        findings: vec![],
        notes: whole.notes,
    };
    let mut others: Vec<RuleId> = Vec::new();
    for f in whole.findings {
        if f.sources.iter().any(|s| changed.contains(s)) {
            out.findings.push(f);
        } else if !others.contains(&f.rule) {
            others.push(f.rule);
        }
    }
    out.notes.push(format!(
        "judged with {}'s {} policies{}{}",
        parts.name,
        principal.documents.len(),
        if parts.groups.is_empty() {
            String::new()
        } else {
            format!(
                " (its groups' included: {})",
                parts
                    .groups
                    .iter()
                    .map(|g| g.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        if others.is_empty() {
            String::new()
        } else {
            format!(
                "; findings of the others alone ({}) are not this change's",
                others
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    out
}

/// Judge an event and plan the response, with nothing fetched from IAM.
pub fn assess(event: &Event, config: &Config) -> Result<Assessment, AssessError> {
    if let Some(field) = event.missing_document() {
        return Err(AssessError::MissingDocument {
            call: event.trail.event_name.clone(),
            field,
        });
    }
    assess_with(event, config, &Fetched::default())
}

/// Judge an event and plan the response, with documents fetched from IAM.
pub fn assess_with(
    event: &Event,
    config: &Config,
    fetched: &Fetched,
) -> Result<Assessment, AssessError> {
    let change = event.change()?;
    let call = change.call();
    let mut a = Assessment {
        event_id: event.id.clone(),
        account: event.account.clone(),
        call,
        role_name: change.role_name().map(str::to_owned),
        user_name: match change.entity() {
            Some((crate::event::Entity::User, n)) => Some(n.to_owned()),
            _ => None,
        },
        group_name: match change.entity() {
            Some((crate::event::Entity::Group, n)) => Some(n.to_owned()),
            _ => None,
        },
        actor: event.actor().map(str::to_owned),
        skipped: None,
        judgement: Judgement::default(),
        plan: vec![],
    };
    if let Some(code) = &event.trail.error_code {
        a.skipped = Some(format!("the call failed ({code}): nothing changed"));
        return Ok(a);
    }
    if config.is_own_actor(event.actor_role(), event.actor_session()) {
        a.skipped = Some(format!(
            "made by roleguard's own role {}",
            event.actor().unwrap_or_default()
        ));
        return Ok(a);
    }
    if let Some(role) = change.role_name() {
        if let Some(why) = exemption(&change, role, fetched, config) {
            a.skipped = Some(why);
            return Ok(a);
        }
    }
    let ctx = Context {
        config,
        account: event.account.as_deref(),
        holder: None,
    };
    let mut j = Judgement::default();
    let mut settings = RoleSettings::default();
    let mut trust_policy = None;
    match &change {
        Change::CreateRole {
            trust_policy: doc,
            max_session_duration,
            permissions_boundary,
            ..
        } => {
            let p = parse(call, doc)?;
            j.extend(trust::judge(&p, &ctx));
            trust_policy = Some(p);
            settings.max_session_duration = *max_session_duration;
            settings.permissions_boundary = Some(permissions_boundary.clone());
        }
        Change::UpdateAssumeRolePolicy { trust_policy: doc, .. } => {
            let p = parse(call, doc)?;
            j.extend(trust::judge(&p, &ctx));
            trust_policy = Some(p);
        }
        Change::AttachRolePolicy { policy_arn, .. } => match (&fetched.role, &fetched.document) {
            (Some(parts), doc) => {
                if let Some(d) = doc {
                    parse(call, d)?;
                }
                let origin = crate::principal::Origin::Managed(policy_arn.clone());
                j.extend(
                    judge_in_role(parts, origin, doc.as_deref(), &ctx)
                        .map_err(|source| AssessError::Policy { call, source })?,
                )
            }
            (None, Some(doc)) if !crate::catalog::is_aws_managed_arn(policy_arn) => {
                j.extend(permissions::judge(&parse(call, doc)?, &ctx))
            }
            _ => j.extend(permissions::judge_attachment(policy_arn, &ctx)),
        },
        Change::PutRolePolicy {
            document, policy_name, ..
        } => {
            let p = parse(call, document)?;
            match &fetched.role {
                Some(parts) => {
                    let origin = crate::principal::Origin::Inline(policy_name.clone());
                    j.extend(
                        judge_in_role(parts, origin, Some(document), &ctx)
                            .map_err(|source| AssessError::Policy { call, source })?,
                    )
                }
                None => j.extend(permissions::judge(&p, &ctx)),
            }
            // An inline policy that grants nothing (a Deny guardrail, the
            // revoke or quarantine policy) is not what forbidding inline
            // policies is about: removing it would only widen the role.
            if p.allows().next().is_some() {
                settings.inline_policy = Some(policy_name.clone());
            }
        }
        Change::CreatePolicyVersion { document, .. } => {
            j.extend(permissions::judge(&parse(call, document)?, &ctx));
            j.notes.push("the policy's attachments to roles are looked up when the plan is carried out".into());
        }
        Change::SetDefaultPolicyVersion { policy_arn, version_id } => match &fetched.document {
            Some(doc) => j.extend(permissions::judge(&parse(call, doc)?, &ctx)),
            None => j.notes.push(format!(
                "{policy_arn} version {version_id}: the document is fetched from IAM when the event is handled"
            )),
        },
        Change::PutRolePermissionsBoundary { boundary, .. } => {
            settings.permissions_boundary = Some(Some(boundary.clone()));
        }
        Change::DeleteRolePermissionsBoundary { .. } => {
            settings.permissions_boundary = Some(None);
            settings.boundary_removed = true;
        }
        Change::UpdateRole {
            max_session_duration, ..
        } => settings.max_session_duration = *max_session_duration,
        Change::AttachUserPolicy { policy_arn, .. }
        | Change::AttachGroupPolicy { policy_arn, .. } => match &fetched.entity {
            Some(parts) => j.extend(judge_in_entity(
                parts,
                std::slice::from_ref(policy_arn),
                &ctx,
            )),
            None => match &fetched.document {
                Some(doc) if !crate::catalog::is_aws_managed_arn(policy_arn) => {
                    j.extend(permissions::judge(&parse(call, doc)?, &ctx))
                }
                _ => j.extend(permissions::judge_attachment(policy_arn, &ctx)),
            },
        },
        Change::PutUserPolicy {
            document, policy_name, ..
        }
        | Change::PutGroupPolicy {
            document, policy_name, ..
        } => {
            let p = parse(call, document)?;
            match &fetched.entity {
                Some(parts) => j.extend(judge_in_entity(
                    parts,
                    &[crate::principal::Origin::Inline(policy_name.clone()).label()],
                    &ctx,
                )),
                None => j.extend(permissions::judge(&p, &ctx)),
            }
        }
        Change::AddUserToGroup { group_name, .. } => match &fetched.entity {
            Some(parts) => {
                // What the group brings: each of its policies as the user holds it.
                let labels: Vec<String> = parts
                    .groups
                    .iter()
                    .filter(|g| &g.name == group_name)
                    .flat_map(|g| {
                        g.inline
                            .iter()
                            .map(|(n, _)| {
                                crate::principal::Origin::Inline(
                                    crate::snapshot::EntityParts::group_inline_label(&g.name, n),
                                )
                                .label()
                            })
                            .chain(g.attached.iter().cloned())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                j.extend(judge_in_entity(parts, &labels, &ctx))
            }
            None => j.notes.push(format!(
                "what group {group_name} grants is read from IAM when the event is handled"
            )),
        },
        Change::DeleteUserPermissionsBoundary { user_name } => {
            j.findings.push(Finding::new(
                RuleId::RoleBoundaryRemoved,
                Severity::High,
                format!("user {user_name}'s permissions boundary was removed: its policies are no longer capped"),
            ));
        }
        Change::PutUserPermissionsBoundary { .. } => {}
        Change::DetachPolicy {
            entity,
            name,
            policy_arn,
        } => {
            let snapshot = crate::catalog::managed_policy(policy_arn)
                .filter(|_| crate::catalog::is_aws_managed_arn(policy_arn))
                .map(|mp| mp.document.to_string());
            let doc = snapshot.or_else(|| fetched.removed_document.clone());
            j.extend(judge_removal(
                &format!("{policy_arn}, detached from {} {name},", entity.as_str()),
                doc.as_deref(),
                config.required_guardrails.iter().any(|g| g == policy_arn),
            ));
        }
        Change::DeletePolicy {
            entity,
            name,
            policy_name,
        } => j.extend(judge_removal(
            &format!("inline policy {policy_name}, deleted from {} {name},", entity.as_str()),
            fetched.removed_document.as_deref(),
            config.required_guardrails.iter().any(|g| g == policy_name),
        )),
        Change::TagRole { keys, .. } | Change::UntagRole { keys, .. } => {
            // IAM tag keys are case-insensitive: `ROLEGUARD:status` is ours too.
            settings.guard_tags_touched = keys
                .iter()
                .filter(|k| {
                    k.get(..TAG_PREFIX.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(TAG_PREFIX))
                })
                .cloned()
                .collect();
        }
    }
    // A role's settings (session length, boundary, inline policies, tags).
    if change.role_name().is_some() {
        j.extend(rules::role::judge(&settings, &ctx));
    }
    let own_role = change
        .role_name()
        .filter(|r| config.is_own_role(event.account.as_deref(), r));
    if let Some(role) = own_role {
        if event.by_cloudformation() {
            j.notes.push(format!(
                "{role} is one of roleguard's own roles, changed through CloudFormation (a deployment)"
            ));
        } else {
            j.findings.push(Finding::new(
                RuleId::RoleRoleguardChanged,
                Severity::Critical,
                format!(
                    "{call} on roleguard's own role {role}, not through its stack, by {}",
                    event.actor().unwrap_or("an unknown caller")
                ),
            ));
        }
    }
    a.judgement = j.finish(config);
    let previous = Previous {
        trust_policy: fetched
            .previous_trust_policy
            .as_ref()
            .filter(|d| still_compliant(d, Target::Trust, &ctx)),
        inline_policy: fetched
            .previous_inline_policy
            .as_ref()
            .filter(|d| still_compliant(d, Target::Permissions, &ctx)),
        boundary: fetched.previous_boundary.as_deref(),
    };
    a.plan = plan(
        &change,
        &a.judgement.findings,
        trust_policy.as_ref(),
        &previous,
        event.time.as_deref(),
        config,
    );
    // A role AWS provisions under /aws-reserved/ (IAM Identity Center's, one
    // per permission set and account), changed by that service itself:
    // judged and notified, never reverted: a revert would break what the
    // service provisions (the organisation's sign-in). Keyed on the path IAM
    // reports and the caller, never on a name; anyone else is judged as usual.
    if let (Some(path), Some(service)) =
        (reported_path(&change, fetched), event.aws_service_actor())
    {
        if is_reserved_path(path) && !a.plan.is_empty() {
            a.plan.retain(|s| matches!(s, Step::Notify { .. }));
            a.judgement.notes.push(format!(
                "the role's path is {path} and the change was made by {service}, which provisions it: notified, never reverted"
            ));
        }
    }
    // roleguard's own role takes policies from its stack only: tampering is
    // undone whatever a service would require.
    if own_role.is_none() {
        keep_service_requirements(&mut a, &change, fetched, event.time.as_deref());
    }
    if own_role.is_some() {
        // Its roles deny it every call that would rewrite or loosen them:
        // such a revert would only fail. What it can undo, it undoes.
        let before = a.plan.len();
        a.plan.retain(|s| {
            !matches!(
                s,
                Step::UpdateAssumeRolePolicy { .. }
                    | Step::PutRolePolicy { .. }
                    | Step::PutRolePermissionsBoundary { .. }
                    | Step::RevokeSessions { .. }
                    | Step::AttachRolePolicy { .. }
            )
        });
        if a.plan.len() < before {
            a.judgement.notes.push(
                "roleguard does not rewrite its own roles' trust policy, inline policies, boundary or attachments (its role denies it): redeploy its stack to restore them".into(),
            );
            // Nothing undone: quarantine, where configured, as for any role.
            // (A role whose own Deny refuses it fails the step, loudly.)
            let critical = a
                .judgement
                .findings
                .iter()
                .any(|f| f.severity == Severity::Critical);
            if config.quarantine && critical && !a.plan.iter().any(Step::reverts) {
                if let Some(role) = change.role_name() {
                    a.plan.insert(0, quarantine_step(role));
                }
            }
        }
    }
    Ok(a)
}

/// Why a change is not judged, when its role is exempt. Keyed on what the
/// caller cannot choose: a service-linked role is known by the path IAM
/// reports for it ([`Fetched::role_path`], or the role read whole), never by
/// its name (anyone may call a role `AWSServiceRoleFor...`), and never at
/// CreateRole, whose path the caller picks: IAM creates service-linked roles
/// through CreateServiceLinkedRole and lets only their service change them.
/// The configured name and path exemptions are the user's own choice.
pub fn exemption(
    change: &Change,
    role: &str,
    fetched: &Fetched,
    config: &Config,
) -> Option<String> {
    let (requested, reported) = match change {
        Change::CreateRole { path, .. } => (path.as_deref(), None),
        _ => (
            None,
            fetched
                .role_path
                .as_deref()
                .or(fetched.role.as_ref().map(|r| r.role.path.as_str())),
        ),
    };
    if reported.is_some_and(is_service_linked_path) && config.exempt_roles.service_linked {
        return Some(format!(
            "role {role} is service-linked (IAM reports its path {})",
            reported.unwrap_or_default()
        ));
    }
    config
        .is_exempt_by_choice(role, reported.or(requested))
        .then(|| format!("role {role} is exempt"))
}

/// An AWS managed policy a service requires on its role is never detached
/// from a role that service may assume
/// ([`rules::service_required`]): the findings stand, the role is tagged and
/// the change notified. Whether the role trusts the service is read from the
/// role ([`Fetched::role`]); not known, the detach stays planned and the
/// shell reads the role first ([`needs_trust`]).
fn keep_service_requirements(
    a: &mut Assessment,
    change: &Change,
    fetched: &Fetched,
    time: Option<&str>,
) {
    let Change::AttachRolePolicy { policy_arn, .. } = change else {
        return;
    };
    let Some(services) = rules::service_required::required_by(policy_arn) else {
        return;
    };
    let Some(role) = fetched.role.as_ref() else {
        if a.plan
            .iter()
            .any(|s| matches!(s, Step::DetachRolePolicy { .. }))
        {
            a.judgement.notes.push(format!(
                "{policy_arn} is required by {} on the roles they assume: the role's trust policy is read before the detach, which is left out for a role that trusts them",
                services.join(", ")
            ));
        }
        return;
    };
    let trusted = rules::service_required::trusted_services(&role.role.trust_policy, services);
    if trusted.is_empty()
        || !a
            .plan
            .iter()
            .any(|s| matches!(s, Step::DetachRolePolicy { .. }))
    {
        return;
    }
    a.plan.retain(|s| {
        !matches!(
            s,
            Step::DetachRolePolicy { .. } | Step::TagRole { .. } | Step::Notify { .. }
        )
    });
    let reverted = a.plan.iter().any(Step::reverts);
    let closing = closing_steps(
        change.entity(),
        &a.judgement.findings,
        Response::Tag,
        reverted,
        time,
    );
    a.plan.extend(closing);
    a.judgement.notes.push(format!(
        "{policy_arn} is kept: {} requires it on the roles it assumes, and this role trusts it",
        trusted.join(", ")
    ));
}

/// Must the shell read the role before this plan is carried out? A detach of
/// a policy some service requires, decided without the role's trust policy.
pub fn needs_trust(a: &Assessment, fetched: &Fetched) -> bool {
    fetched.role.is_none()
        && a.plan.iter().any(|s| {
            matches!(s, Step::DetachRolePolicy { policy_arn, .. }
                if rules::service_required::required_by(policy_arn).is_some())
        })
}

pub use crate::policy::is_service_linked_path;

/// Is this a path AWS reserves for the roles its services provision
/// (`/aws-reserved/`, IAM Identity Center's among them)?
pub fn is_reserved_path(path: &str) -> bool {
    path.starts_with("/aws-reserved/")
}

/// The role's path as IAM reports it (never the one a CreateRole asks for).
fn reported_path<'a>(change: &Change, fetched: &'a Fetched) -> Option<&'a str> {
    match change {
        Change::CreateRole { .. } => None,
        _ => fetched
            .role_path
            .as_deref()
            .or(fetched.role.as_ref().map(|r| r.role.path.as_str())),
    }
}

/// The inline deny-all policy put on a role that cannot be reverted.
fn quarantine_step(role: &str) -> Step {
    Step::PutRolePolicy {
        role_name: role.to_owned(),
        policy_name: QUARANTINE_POLICY_NAME.into(),
        replaced_document: None,
        policy_document: json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "RoleguardQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]}),
    }
}

/// Documents a revert may put back: the role's last known compliant ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Previous<'a> {
    pub trust_policy: Option<&'a Value>,
    pub inline_policy: Option<&'a Value>,
    pub boundary: Option<&'a str>,
}

/// Would the rules leave this document alone today? A baseline recorded under
/// an older configuration is put back only if it still passes.
fn still_compliant(doc: &Value, target: Target, ctx: &Context) -> bool {
    let Ok(p) = Policy::parse(&doc.to_string()) else {
        return false;
    };
    let j = match target {
        Target::Trust => trust::judge(&p, ctx),
        _ => permissions::judge(&p, ctx),
    }
    .finish(ctx.config);
    j.findings
        .iter()
        .all(|f| response(f, ctx.config) != Response::Revert)
}

/// The response the configuration gives a finding. A revert follows the
/// final severity: below `revert_at`, or lowered by a condition, it becomes
/// a tag (the role is marked and the change notified, nothing undone).
pub fn response(f: &Finding, config: &Config) -> Response {
    let r = crate::rules::get(f.rule).response_in(config);
    if r == Response::Revert && (f.lowered > 0 || f.severity < config.revert_at) {
        Response::Tag
    } else {
        r
    }
}

/// The steps for a change's findings.
pub fn plan(
    change: &Change,
    findings: &[Finding],
    trust_policy: Option<&Policy>,
    previous: &Previous,
    time: Option<&str>,
    config: &Config,
) -> Vec<Step> {
    let Some(strongest) = findings.iter().map(|f| response(f, config)).max() else {
        return vec![];
    };
    let reverting: Vec<&Finding> = findings
        .iter()
        .filter(|f| response(f, config) == Response::Revert)
        .collect();
    let mut steps = Vec::new();
    if strongest == Response::Revert {
        steps = revert(change, &reverting, trust_policy, previous, config);
        steps.extend(revoke_sessions(change, &reverting, &steps, config));
        let critical = reverting.iter().any(|f| f.severity == Severity::Critical);
        if steps.is_empty() && critical && config.quarantine {
            if let Some(role) = change.role_name() {
                steps.push(quarantine_step(role));
            }
        }
    }
    steps.extend(closing_steps(
        change.entity(),
        findings,
        strongest,
        !steps.is_empty(),
        time,
    ));
    steps
}

/// The sessions a reverted trust (or MaxSessionDuration raise) let out
/// stay valid after the revert: revoke them when the reverted finding is at
/// least `revoke_sessions_at`.
fn revoke_sessions(
    change: &Change,
    reverting: &[&Finding],
    steps: &[Step],
    config: &Config,
) -> Option<Step> {
    let at = config.revoke_sessions_at?;
    let role = change.role_name()?;
    let worst = |of: &dyn Fn(&Finding) -> bool| {
        reverting.iter().filter(|f| of(f)).map(|f| f.severity).max()
    };
    let trust = steps
        .iter()
        .any(|s| matches!(s, Step::UpdateAssumeRolePolicy { .. }))
        && worst(&|f| crate::rules::get(f.rule).target == Target::Trust) >= Some(at);
    let duration = steps.iter().any(|s| matches!(s, Step::UpdateRole { .. }))
        && worst(&|f| f.rule == RuleId::RoleMaxSessionDuration) >= Some(at);
    (trust || duration).then(|| Step::RevokeSessions {
        role_name: role.to_owned(),
        policy_name: crate::sessions::REVOKE_POLICY_NAME.to_owned(),
        issued_before: None,
        replaced_document: None,
    })
}

/// The steps that end every plan with findings: tag the role with what was
/// found and done (when the strongest response is at least `tag`), then notify.
pub fn closing_steps(
    subject: Option<(crate::event::Entity, &str)>,
    findings: &[Finding],
    strongest: Response,
    reverted: bool,
    time: Option<&str>,
) -> Vec<Step> {
    let mut rule_ids: Vec<String> = findings.iter().map(|f| f.rule.to_string()).collect();
    rule_ids.dedup();
    let mut steps = Vec::new();
    if strongest >= Response::Tag {
        // Groups cannot be tagged: they are notified.
        if let Some((entity, name)) = subject.filter(|(e, _)| *e != crate::event::Entity::Group) {
            let status = if reverted {
                "reverted"
            } else {
                "non-compliant"
            };
            let mut tags = BTreeMap::from([
                (format!("{TAG_PREFIX}status"), status.to_owned()),
                (
                    format!("{TAG_PREFIX}findings"),
                    tag_value(&rule_ids.join(" ")),
                ),
            ]);
            if let Some(t) = time {
                tags.insert(format!("{TAG_PREFIX}checked-at"), tag_value(t));
            }
            steps.push(match entity {
                crate::event::Entity::User => Step::TagUser {
                    user_name: name.to_owned(),
                    tags,
                },
                _ => Step::TagRole {
                    role_name: name.to_owned(),
                    tags,
                },
            });
        }
    }
    steps.push(Step::Notify {
        severity: findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info),
        rules: rule_ids,
    });
    steps
}

/// Cut a tag value to IAM's limit, at a word boundary when it can.
fn tag_value(s: &str) -> String {
    if s.len() <= TAG_VALUE_MAX {
        return s.to_owned();
    }
    let mut end = TAG_VALUE_MAX - 4;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &s[..end];
    let cut = cut.rfind(' ').map_or(cut, |i| &cut[..i]);
    format!("{cut} ...")
}

fn revert(
    change: &Change,
    reverting: &[&Finding],
    trust_policy: Option<&Policy>,
    previous: &Previous,
    config: &Config,
) -> Vec<Step> {
    let has = |rule: RuleId| reverting.iter().any(|f| f.rule == rule);
    let of_target = |t: Target| {
        reverting
            .iter()
            .any(|f| crate::rules::get(f.rule).target == t)
    };
    let mut steps = Vec::new();
    match change {
        Change::CreateRole {
            role_name,
            trust_policy: doc,
            ..
        }
        | Change::UpdateAssumeRolePolicy {
            role_name,
            trust_policy: doc,
        } => {
            if of_target(Target::Trust) {
                let offending: Vec<usize> = reverting
                    .iter()
                    .filter(|f| crate::rules::get(f.rule).target == Target::Trust)
                    .flat_map(|f| f.statements.iter().copied())
                    .collect();
                // The previous trust policy when it is known; never for a new
                // role, whose name may be an old role's.
                let restore = match change {
                    Change::UpdateAssumeRolePolicy { .. } => previous.trust_policy.cloned(),
                    _ => None,
                };
                steps.push(Step::UpdateAssumeRolePolicy {
                    role_name: role_name.clone(),
                    policy_document: restore
                        .unwrap_or_else(|| without_statements(doc, trust_policy, &offending)),
                    replaced_document: document_value(doc),
                });
            }
        }
        Change::AttachRolePolicy {
            role_name,
            policy_arn,
        } => {
            if of_target(Target::Permissions) || has(RuleId::RoleRoleguardChanged) {
                steps.push(Step::DetachRolePolicy {
                    role_name: role_name.clone(),
                    policy_arn: policy_arn.clone(),
                });
            }
        }
        Change::PutRolePolicy {
            role_name,
            policy_name,
            document,
        } => {
            match previous.inline_policy {
                // The previous document, when it is known and inline policies are allowed.
                Some(before)
                    if of_target(Target::Permissions) && !has(RuleId::RoleInlinePolicy) =>
                {
                    steps.push(Step::PutRolePolicy {
                        role_name: role_name.clone(),
                        policy_name: policy_name.clone(),
                        policy_document: before.clone(),
                        replaced_document: Some(document_value(document)),
                    })
                }
                _ if of_target(Target::Permissions)
                    || has(RuleId::RoleInlinePolicy)
                    || has(RuleId::RoleRoleguardChanged) =>
                {
                    steps.push(Step::DeleteRolePolicy {
                        role_name: role_name.clone(),
                        policy_name: policy_name.clone(),
                        removed_document: document_value(document),
                    })
                }
                _ => {}
            }
        }
        Change::CreatePolicyVersion {
            policy_arn,
            document,
            set_as_default,
            version_id,
        } => {
            if of_target(Target::Permissions) {
                if *set_as_default {
                    steps.push(Step::SetDefaultPolicyVersion {
                        policy_arn: policy_arn.clone(),
                        version_id: None,
                        replacing: version_id.clone(),
                    });
                }
                if let Some(v) = version_id {
                    steps.push(Step::DeletePolicyVersion {
                        policy_arn: policy_arn.clone(),
                        version_id: v.clone(),
                        removed_document: document_value(document),
                    });
                }
            }
        }
        Change::SetDefaultPolicyVersion {
            policy_arn,
            version_id,
        } => {
            if of_target(Target::Permissions) {
                steps.push(Step::SetDefaultPolicyVersion {
                    policy_arn: policy_arn.clone(),
                    version_id: None,
                    replacing: Some(version_id.clone()),
                });
            }
        }
        Change::AttachUserPolicy {
            user_name,
            policy_arn,
        } => {
            if of_target(Target::Permissions) {
                steps.push(Step::DetachUserPolicy {
                    user_name: user_name.clone(),
                    policy_arn: policy_arn.clone(),
                });
            }
        }
        Change::PutUserPolicy {
            user_name,
            policy_name,
            document,
        } => {
            if of_target(Target::Permissions) {
                steps.push(Step::DeleteUserPolicy {
                    user_name: user_name.clone(),
                    policy_name: policy_name.clone(),
                    removed_document: document_value(document),
                });
            }
        }
        Change::AttachGroupPolicy {
            group_name,
            policy_arn,
        } => {
            if of_target(Target::Permissions) {
                steps.push(Step::DetachGroupPolicy {
                    group_name: group_name.clone(),
                    policy_arn: policy_arn.clone(),
                });
            }
        }
        Change::PutGroupPolicy {
            group_name,
            policy_name,
            document,
        } => {
            if of_target(Target::Permissions) {
                steps.push(Step::DeleteGroupPolicy {
                    group_name: group_name.clone(),
                    policy_name: policy_name.clone(),
                    removed_document: document_value(document),
                });
            }
        }
        Change::AddUserToGroup {
            group_name,
            user_name,
        } => {
            if of_target(Target::Permissions) {
                steps.push(Step::RemoveUserFromGroup {
                    user_name: user_name.clone(),
                    group_name: group_name.clone(),
                });
            }
        }
        Change::DeleteUserPermissionsBoundary { user_name } => {
            if let (true, Some(b)) = (has(RuleId::RoleBoundaryRemoved), &config.required_boundary) {
                steps.push(Step::PutUserPermissionsBoundary {
                    user_name: user_name.clone(),
                    permissions_boundary: b.clone(),
                });
            }
        }
        Change::PutUserPermissionsBoundary { .. } => {}
        Change::DetachPolicy {
            entity,
            name,
            policy_arn,
        } if has(RuleId::PermRequiredGuardrailRemoved) => {
            let (name, policy_arn) = (name.clone(), policy_arn.clone());
            steps.push(match entity {
                crate::event::Entity::Role => Step::AttachRolePolicy {
                    role_name: name,
                    policy_arn,
                },
                crate::event::Entity::User => Step::AttachUserPolicy {
                    user_name: name,
                    policy_arn,
                },
                crate::event::Entity::Group => Step::AttachGroupPolicy {
                    group_name: name,
                    policy_arn,
                },
            });
        }
        Change::DeletePolicy {
            entity: crate::event::Entity::Role,
            name,
            policy_name,
        } if has(RuleId::PermRequiredGuardrailRemoved) => {
            // Put back from the role's baseline, when the audit table has it.
            if let Some(doc) = previous.inline_policy {
                steps.push(Step::PutRolePolicy {
                    role_name: name.clone(),
                    policy_name: policy_name.clone(),
                    policy_document: doc.clone(),
                    replaced_document: None,
                });
            }
        }
        Change::DetachPolicy { .. } | Change::DeletePolicy { .. } => {}
        Change::TagRole { .. } | Change::UntagRole { .. } => {}
        Change::PutRolePermissionsBoundary { .. }
        | Change::DeleteRolePermissionsBoundary { .. } => {}
        Change::UpdateRole { .. } => {}
    }
    // Settings, whatever call changed them.
    if let Some(role) = change.role_name() {
        if has(RuleId::RoleMaxSessionDuration) {
            steps.push(Step::UpdateRole {
                role_name: role.to_owned(),
                max_session_duration: config.max_session_duration,
            });
        }
        if has(RuleId::RoleMissingBoundary) {
            if let Some(b) = &config.required_boundary {
                steps.push(Step::PutRolePermissionsBoundary {
                    role_name: role.to_owned(),
                    permissions_boundary: b.clone(),
                });
            }
        } else if has(RuleId::RoleBoundaryRemoved) {
            if let Some(b) = previous.boundary {
                steps.push(Step::PutRolePermissionsBoundary {
                    role_name: role.to_owned(),
                    permissions_boundary: b.to_owned(),
                });
            }
        }
    }
    steps
}

/// A deny-all trust policy: what is left when every statement offends.
pub fn deny_all_trust_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "RoleguardDenyAll", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
}

/// The document without the statements at the given indices.
fn without_statements(text: &str, parsed: Option<&Policy>, offending: &[usize]) -> Value {
    let Ok(mut doc) = policy::decode(text) else {
        return deny_all_trust_policy();
    };
    let total = parsed.map_or(0, |p| p.statements.len());
    let kept: Vec<Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter(|(i, _)| !offending.contains(i))
            .map(|(_, s)| s.clone())
            .collect(),
        Some(single @ Value::Object(_)) if !offending.contains(&0) => vec![single.clone()],
        _ => vec![],
    };
    if kept.is_empty() || total == 0 || offending.is_empty() {
        return deny_all_trust_policy();
    }
    match doc.as_object_mut() {
        Some(o) => {
            o.insert("Statement".into(), Value::Array(kept));
            doc
        }
        None => deny_all_trust_policy(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, params: Value, identity: Value) -> Event {
        Event::from_value(json!({"id": "e1", "account": "111122223333",
            "time": "2026-11-22T10:00:00Z", "source": "aws.iam",
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventSource": "iam.amazonaws.com", "eventName": name,
                "userIdentity": identity, "requestParameters": params}}))
        .unwrap()
    }

    fn user() -> Value {
        json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory"})
    }

    /// roleguard's own role, as the template names it.
    fn own() -> Config {
        Config::from_yaml("own_roles: ['arn:aws:iam::111122223333:role/roleguard-prod']").unwrap()
    }

    fn rules_and_steps(a: &Assessment) -> (Vec<&str>, Vec<&'static str>) {
        let rules = a
            .judgement
            .findings
            .iter()
            .map(|f| f.rule.as_str())
            .collect();
        let steps = a.plan.iter().map(Step::action).collect();
        (rules, steps)
    }

    #[test]
    fn a_change_to_roleguards_own_role_is_critical_and_undone() {
        let config = own();
        // Basic Lambda logging on any other role is fine; on roleguard's, it is tampering.
        let attach = json!({"roleName": "roleguard-prod",
            "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"});
        let a = assess(&event("AttachRolePolicy", attach.clone(), user()), &config).unwrap();
        assert_eq!(
            rules_and_steps(&a),
            (
                vec!["role-roleguard-changed"],
                vec!["detach_role_policy", "tag_role", "notify"]
            )
        );
        assert_eq!(a.judgement.findings[0].severity, Severity::Critical);
        assert!(a.judgement.findings[0].message.contains("user/mallory"));
        let mut other = attach.clone();
        other["roleName"] = json!("app");
        let a = assess(&event("AttachRolePolicy", other, user()), &config).unwrap();
        assert!(a.plan.is_empty());

        // An added inline policy is deleted.
        let put = json!({"roleName": "roleguard-prod", "policyName": "extra",
            "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}]}"});
        let a = assess(&event("PutRolePolicy", put, user()), &config).unwrap();
        assert_eq!(
            rules_and_steps(&a).1,
            ["delete_role_policy", "tag_role", "notify"]
        );

        // Its trust policy it cannot rewrite (its role denies it): reported only.
        let trust = json!({"roleName": "roleguard-prod",
            "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}"});
        let a = assess(&event("UpdateAssumeRolePolicy", trust, user()), &config).unwrap();
        let (rules, steps) = rules_and_steps(&a);
        assert!(
            rules.contains(&"role-roleguard-changed") && rules.contains(&"trust-any-principal")
        );
        assert_eq!(steps, ["tag_role", "notify"]);
        assert!(a
            .judgement
            .notes
            .iter()
            .any(|n| n.contains("redeploy its stack")));
    }

    #[test]
    fn service_linked_roles_are_known_by_the_path_iam_reports() {
        let config = Config::default();
        let put = json!({"roleName": "AWSServiceRoleForECS", "policyName": "p",
            "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"});
        let e = event("PutRolePolicy", put, user());
        // The name alone: judged.
        let a = assess(&e, &config).unwrap();
        assert!(a.skipped.is_none() && a.plan.iter().any(Step::reverts));
        // IAM reports the role at /: still judged.
        let at = |path: &str| Fetched {
            role_path: Some(path.into()),
            ..Fetched::default()
        };
        let a = assess_with(&e, &config, &at("/")).unwrap();
        assert!(a.skipped.is_none());
        // IAM reports it service-linked: its service's change, skipped.
        let a = assess_with(&e, &config, &at("/aws-service-role/ecs.amazonaws.com/")).unwrap();
        assert_eq!(
            a.skipped.as_deref(),
            Some("role AWSServiceRoleForECS is service-linked (IAM reports its path /aws-service-role/ecs.amazonaws.com/)")
        );
        // Unless service-linked roles are not exempt.
        let none = Config::from_yaml("exempt_roles: {service_linked: false}").unwrap();
        let a = assess_with(&e, &none, &at("/aws-service-role/ecs.amazonaws.com/")).unwrap();
        assert!(a.skipped.is_none());
        // CreateRole's path is the caller's choice: never service-linked.
        let create = json!({"roleName": "AWSServiceRoleForECS", "path": "/aws-service-role/ecs.amazonaws.com/",
            "assumeRolePolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}"});
        let a = assess(&event("CreateRole", create, user()), &config).unwrap();
        assert!(a.skipped.is_none() && a.plan.iter().any(Step::reverts));
    }

    #[test]
    fn a_lookalike_of_roleguards_role_gets_no_pass() {
        let config = own();
        let lookalike = |arn: &str| {
            json!({"type": "AssumedRole",
                "arn": "arn:aws:sts::444455556666:assumed-role/roleguard-prod/s",
                "sessionContext": {"sessionIssuer": {"arn": arn}}})
        };
        let put = json!({"roleName": "app", "policyName": "p",
            "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"});
        for arn in [
            "arn:aws:iam::444455556666:role/roleguard-prod",
            "arn:aws:iam::111122223333:role/roleguard-prod-2",
            "arn:aws:iam::111122223333:role/roleguard-anything",
        ] {
            let a = assess(
                &event("PutRolePolicy", put.clone(), lookalike(arn)),
                &config,
            )
            .unwrap();
            assert!(a.skipped.is_none(), "{arn}");
            assert!(a.plan.iter().any(Step::reverts), "{arn}");
        }
        // A change to a lookalike role is an ordinary change, not tampering.
        let attach = json!({"roleName": "roleguard-prod-2",
            "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"});
        let a = assess(&event("AttachRolePolicy", attach, user()), &config).unwrap();
        assert!(a.plan.is_empty());
        // The trust of roleguard's own role, which it may not rewrite: with
        // quarantine configured, the role is quarantined, not just reported.
        let q = Config::from_yaml(
            "own_roles: ['arn:aws:iam::111122223333:role/roleguard-prod']\nquarantine: true",
        )
        .unwrap();
        let trust = json!({"roleName": "roleguard-prod",
            "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}"});
        let a = assess(&event("UpdateAssumeRolePolicy", trust, user()), &q).unwrap();
        assert_eq!(
            rules_and_steps(&a).1,
            ["put_role_policy", "tag_role", "notify"]
        );
    }

    #[test]
    fn a_deployment_of_roleguards_stack_is_not_tampering() {
        let config = own();
        let through_cfn = json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/deployer/s",
            "invokedBy": "cloudformation.amazonaws.com"});
        let attach = json!({"roleName": "roleguard-prod",
            "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"});
        let a = assess(&event("AttachRolePolicy", attach, through_cfn), &config).unwrap();
        assert!(a.judgement.findings.is_empty() && a.plan.is_empty());
        assert!(a
            .judgement
            .notes
            .iter()
            .any(|n| n.contains("through CloudFormation")));
        // roleguard's own changes are still its own (no loop).
        let by_itself = json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/roleguard-prod/s",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/roleguard-prod"}}});
        let a = assess(
            &event("AttachRolePolicy", json!({"roleName": "roleguard-prod", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}), by_itself),
            &config,
        )
        .unwrap();
        assert!(a.skipped.is_some());
    }

    #[test]
    fn tag_values_fit_iam_limits() {
        assert_eq!(tag_value("a b"), "a b");
        let long = "rule-".repeat(80);
        let v = tag_value(&long);
        assert!(v.len() <= 256 && v.ends_with(" ..."), "{v}");
        // Multi-byte characters at the cut: no panic, still within the limit.
        let v = tag_value(&"é".repeat(200));
        assert!(v.len() <= 256 && v.ends_with(" ..."));
    }
}
