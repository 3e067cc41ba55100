//! Carry out a plan against IAM, idempotently.
//!
//! Before each change the current state is read: a step whose work is already
//! done (a repeated delivery, a policy detached by hand, a deleted role) is
//! `already`, and a step whose target has changed since the event (a newer
//! trust policy, a newer inline document) is `superseded` and left alone, so an
//! older event never overwrites a newer change.

use crate::outcome::{Status, StepResult};
use crate::plan::Step;
use crate::policy;
use crate::ports::{Clock, Entity, Iam, IamError};
use serde_json::Value;

/// Carry out the steps in order. A failed step does not stop the others;
/// the caller reports the invocation as failed when any step failed. The
/// clock gives the time a `revoke_sessions` step revokes before: the moment
/// it is carried out, after the revert before it.
pub async fn execute<I: Iam, K: Clock>(
    iam: &I,
    steps: &[Step],
    mode: crate::engine::Mode,
    clock: &K,
) -> Vec<StepResult> {
    let dry_run = mode.is_dry_run();
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let mut done = step.clone();
        let result = match step {
            Step::RevokeSessions {
                role_name,
                policy_name,
                ..
            } => revoke(iam, role_name, policy_name, dry_run, clock.now(), &mut done).await,
            _ => run(iam, step, dry_run).await,
        };
        let (status, detail) = result.unwrap_or_else(|e| (Status::Failed, e.to_string()));
        out.push(StepResult {
            step: done,
            status,
            detail,
        });
    }
    out
}

/// Put IAM's revoke policy on the role, denying sessions issued before
/// `now`; a revoke policy that stands already is only ever moved later.
/// `done` is the step as carried out: with its time, and the document it
/// replaced.
async fn revoke<I: Iam>(
    iam: &I,
    role: &str,
    name: &str,
    dry_run: bool,
    now: i64,
    done: &mut Step,
) -> Result<(Status, String), IamError> {
    use crate::sessions::{iso8601, revoke_document, revoke_time};
    let at = iso8601(now);
    let current = match iam.get_role(role).await? {
        None => return Ok((Status::Already, "the role no longer exists".into())),
        Some(_) => iam.get_role_policy(role, name).await?,
    };
    let standing = current.as_ref().and_then(revoke_time);
    if let Step::RevokeSessions {
        issued_before,
        replaced_document,
        ..
    } = done
    {
        *issued_before = Some(match standing {
            Some(t) if t >= now => iso8601(t),
            _ => at.clone(),
        });
        if standing.is_none_or(|t| t < now) {
            *replaced_document = current.clone();
        }
    }
    if let Some(t) = standing.filter(|t| *t >= now) {
        return Ok((
            Status::Already,
            format!("sessions issued before {} are already denied", iso8601(t)),
        ));
    }
    if dry_run {
        return Ok((
            Status::WouldDo,
            format!("would deny every session issued before {at}"),
        ));
    }
    done_with(
        iam.put_role_policy(role, name, &to_text(&revoke_document(&at)))
            .await,
        format!("sessions issued before {at} are denied"),
    )
}

/// [`done`], with what was done.
fn done_with(r: Result<(), IamError>, detail: String) -> Result<(Status, String), IamError> {
    done(r).map(|(s, d)| (s, if s == Status::Done { detail } else { d }))
}

/// Compact JSON for IAM: the document as roleguard records it.
fn to_text(v: &Value) -> String {
    v.to_string()
}

/// Do two documents say the same thing? IAM normalises white space and may
/// URL-encode, so compare them as JSON.
fn same_document(a: &Value, b: &Value) -> bool {
    let norm = |v: &Value| match v {
        Value::String(s) => policy::decode(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    };
    norm(a) == norm(b)
}

async fn run<I: Iam>(iam: &I, step: &Step, dry_run: bool) -> Result<(Status, String), IamError> {
    // In a dry run, a step that would change something says so instead.
    let would = |what: &str| dry_run.then(|| (Status::WouldDo, what.to_string()));
    match step {
        Step::DetachRolePolicy {
            role_name,
            policy_arn,
        } => {
            if !iam
                .attached_role_policies(role_name)
                .await
                .or_else(absent)?
                .iter()
                .any(|a| a == policy_arn)
            {
                return Ok((Status::Already, "not attached".into()));
            }
            if let Some(r) = would("would detach") {
                return Ok(r);
            }
            done(iam.detach_role_policy(role_name, policy_arn).await)
        }
        Step::DeleteRolePolicy {
            role_name,
            policy_name,
            removed_document,
        } => {
            let Some(current) = iam.get_role_policy(role_name, policy_name).await? else {
                return Ok((Status::Already, "no such inline policy".into()));
            };
            if !same_document(&current, removed_document) {
                return Ok((
                    Status::Superseded,
                    "the inline policy changed after the event".into(),
                ));
            }
            if let Some(r) = would("would delete") {
                return Ok(r);
            }
            done(iam.delete_role_policy(role_name, policy_name).await)
        }
        Step::PutRolePolicy {
            role_name,
            policy_name,
            policy_document,
            replaced_document,
        } => {
            if iam.get_role(role_name).await?.is_none() {
                return Ok((Status::Already, "the role no longer exists".into()));
            }
            let current = iam.get_role_policy(role_name, policy_name).await?;
            if let Some(current) = &current {
                if same_document(current, policy_document) {
                    return Ok((Status::Already, "already in place".into()));
                }
            }
            // Putting a previous document back: only over the document the
            // event wrote, never over a newer one or into a deleted policy.
            if let Some(bad) = replaced_document {
                match &current {
                    None => {
                        return Ok((
                            Status::Already,
                            "the inline policy was deleted after the event".into(),
                        ))
                    }
                    Some(c) if !same_document(c, bad) => {
                        return Ok((
                            Status::Superseded,
                            "the inline policy changed after the event".into(),
                        ))
                    }
                    Some(_) => {}
                }
            }
            if let Some(r) = would("would put") {
                return Ok(r);
            }
            done(
                iam.put_role_policy(role_name, policy_name, &to_text(policy_document))
                    .await,
            )
        }
        Step::UpdateAssumeRolePolicy {
            role_name,
            policy_document,
            replaced_document,
        } => {
            let Some(role) = iam.get_role(role_name).await? else {
                return Ok((Status::Already, "the role no longer exists".into()));
            };
            if same_document(&role.trust_policy, policy_document) {
                return Ok((Status::Already, "already in place".into()));
            }
            if !same_document(&role.trust_policy, replaced_document) {
                return Ok((
                    Status::Superseded,
                    "the trust policy changed after the event".into(),
                ));
            }
            if let Some(r) = would("would update") {
                return Ok(r);
            }
            done(
                iam.update_assume_role_policy(role_name, &to_text(policy_document))
                    .await,
            )
        }
        Step::UpdateRole {
            role_name,
            max_session_duration,
        } => {
            let Some(role) = iam.get_role(role_name).await? else {
                return Ok((Status::Already, "the role no longer exists".into()));
            };
            if role.max_session_duration <= *max_session_duration {
                return Ok((
                    Status::Already,
                    format!("MaxSessionDuration is {}", role.max_session_duration),
                ));
            }
            if let Some(r) = would("would update") {
                return Ok(r);
            }
            done(
                iam.update_max_session_duration(role_name, *max_session_duration)
                    .await,
            )
        }
        Step::PutRolePermissionsBoundary {
            role_name,
            permissions_boundary,
        } => {
            let Some(role) = iam.get_role(role_name).await? else {
                return Ok((Status::Already, "the role no longer exists".into()));
            };
            if role.permissions_boundary.as_deref() == Some(permissions_boundary.as_str()) {
                return Ok((Status::Already, "already in place".into()));
            }
            if let Some(r) = would("would put") {
                return Ok(r);
            }
            done(
                iam.put_role_permissions_boundary(role_name, permissions_boundary)
                    .await,
            )
        }
        Step::TagRole { role_name, tags } => {
            let Some(role) = iam.get_role(role_name).await? else {
                return Ok((Status::Already, "the role no longer exists".into()));
            };
            if already_tagged(&role.tags, tags) {
                return Ok((Status::Already, "already tagged".into()));
            }
            if let Some(r) = would("would tag") {
                return Ok(r);
            }
            done(iam.tag_role(role_name, tags).await)
        }
        Step::SetDefaultPolicyVersion {
            policy_arn,
            version_id,
            replacing,
        } => {
            let Some(versions) = iam.policy_versions(policy_arn).await? else {
                return Ok((Status::Already, "the policy no longer exists".into()));
            };
            let default = versions.iter().find(|p| p.is_default);
            if let (Some(bad), Some(default)) = (replacing, default) {
                if &default.version_id != bad {
                    return Ok((
                        Status::Superseded,
                        format!("the default is now {}, not {bad}", default.version_id),
                    ));
                }
            }
            // The version to restore: the one named, or the newest other than the bad one.
            let target = match version_id {
                Some(v) => versions.iter().find(|p| &p.version_id == v),
                None => versions
                    .iter()
                    .filter(|p| !p.is_default && Some(&p.version_id) != replacing.as_ref())
                    .max_by_key(|p| (p.created, version_number(&p.version_id))),
            };
            let Some(target) = target else {
                return Ok((Status::Failed, "no earlier version to restore".into()));
            };
            if target.is_default {
                return Ok((
                    Status::Already,
                    format!("{} is the default", target.version_id),
                ));
            }
            if let Some(r) = would(&format!("would make {} the default", target.version_id)) {
                return Ok(r);
            }
            let v = target.version_id.clone();
            done(iam.set_default_policy_version(policy_arn, &v).await)
                .map(|(s, _)| (s, format!("{v} is the default")))
        }
        Step::DeletePolicyVersion {
            policy_arn,
            version_id,
            ..
        } => {
            let Some(versions) = iam.policy_versions(policy_arn).await? else {
                return Ok((Status::Already, "the policy no longer exists".into()));
            };
            match versions.iter().find(|p| &p.version_id == version_id) {
                None => Ok((Status::Already, "no such version".into())),
                Some(p) if p.is_default && !dry_run => {
                    Ok((Status::Failed, "the version is still the default".into()))
                }
                Some(_) => {
                    if let Some(r) = would("would delete") {
                        return Ok(r);
                    }
                    done(iam.delete_policy_version(policy_arn, version_id).await)
                }
            }
        }
        Step::DetachUserPolicy {
            user_name: name,
            policy_arn,
        }
        | Step::DetachGroupPolicy {
            group_name: name,
            policy_arn,
        } => {
            let entity = entity_of(step);
            let Some(held) = iam.entity_policies(entity, name).await? else {
                return Ok((
                    Status::Already,
                    format!("the {} no longer exists", entity.as_str()),
                ));
            };
            if !held.attached.iter().any(|a| a == policy_arn) {
                return Ok((Status::Already, "not attached".into()));
            }
            if let Some(r) = would("would detach") {
                return Ok(r);
            }
            done(iam.detach_entity_policy(entity, name, policy_arn).await)
        }
        Step::DeleteUserPolicy {
            user_name: name,
            policy_name,
            removed_document,
        }
        | Step::DeleteGroupPolicy {
            group_name: name,
            policy_name,
            removed_document,
        } => {
            let entity = entity_of(step);
            let held = iam.entity_policies(entity, name).await?;
            let Some((_, current)) = held
                .as_ref()
                .and_then(|h| h.inline.iter().find(|(n, _)| n == policy_name))
            else {
                return Ok((Status::Already, "no such inline policy".into()));
            };
            if !same_document(current, removed_document) {
                return Ok((
                    Status::Superseded,
                    "the inline policy changed after the event".into(),
                ));
            }
            if let Some(r) = would("would delete") {
                return Ok(r);
            }
            done(iam.delete_entity_policy(entity, name, policy_name).await)
        }
        Step::AttachRolePolicy {
            role_name: name,
            policy_arn,
        }
        | Step::AttachUserPolicy {
            user_name: name,
            policy_arn,
        }
        | Step::AttachGroupPolicy {
            group_name: name,
            policy_arn,
        } => {
            let entity = match step {
                Step::AttachRolePolicy { .. } => Entity::Role,
                Step::AttachUserPolicy { .. } => Entity::User,
                _ => Entity::Group,
            };
            let attached = match entity {
                Entity::Role => match iam.get_role(name).await? {
                    None => None,
                    Some(_) => Some(iam.attached_role_policies(name).await?),
                },
                _ => iam.entity_policies(entity, name).await?.map(|h| h.attached),
            };
            let Some(attached) = attached else {
                return Ok((
                    Status::Already,
                    format!("the {} no longer exists", entity.as_str()),
                ));
            };
            if attached.iter().any(|a| a == policy_arn) {
                return Ok((Status::Already, "attached".into()));
            }
            if let Some(r) = would("would attach") {
                return Ok(r);
            }
            done(iam.attach_policy(entity, name, policy_arn).await)
        }
        Step::RemoveUserFromGroup {
            user_name,
            group_name,
        } => {
            let Some(user) = iam.get_user(user_name).await? else {
                return Ok((Status::Already, "the user no longer exists".into()));
            };
            if !user.groups.iter().any(|g| g == group_name) {
                return Ok((Status::Already, format!("not in group {group_name}")));
            }
            if let Some(r) = would("would remove") {
                return Ok(r);
            }
            done(iam.remove_user_from_group(user_name, group_name).await)
        }
        Step::PutUserPermissionsBoundary {
            user_name,
            permissions_boundary,
        } => {
            let Some(user) = iam.get_user(user_name).await? else {
                return Ok((Status::Already, "the user no longer exists".into()));
            };
            if user.permissions_boundary.as_deref() == Some(permissions_boundary.as_str()) {
                return Ok((Status::Already, "already in place".into()));
            }
            if let Some(r) = would("would put") {
                return Ok(r);
            }
            done(
                iam.put_user_permissions_boundary(user_name, permissions_boundary)
                    .await,
            )
        }
        Step::TagUser { user_name, tags } => {
            let Some(user) = iam.get_user(user_name).await? else {
                return Ok((Status::Already, "the user no longer exists".into()));
            };
            if already_tagged(&user.tags, tags) {
                return Ok((Status::Already, "already tagged".into()));
            }
            if let Some(r) = would("would tag") {
                return Ok(r);
            }
            done(iam.tag_user(user_name, tags).await)
        }
        Step::Notify { .. } => Ok((Status::Skipped, "alert channels are not configured".into())),
        // Carried out by `revoke`, which knows the time.
        Step::RevokeSessions { .. } => Ok((Status::Skipped, "needs the clock".into())),
    }
}

/// Does a role or user hold every one of these tags already? IAM tag keys
/// are unique without regard to case.
fn already_tagged(
    held: &std::collections::BTreeMap<String, String>,
    wanted: &std::collections::BTreeMap<String, String>,
) -> bool {
    let value = |k: &str| {
        held.iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(k))
            .map(|(_, v)| v)
    };
    wanted.iter().all(|(k, v)| value(k) == Some(v))
}

/// The user or group a step acts on.
fn entity_of(step: &Step) -> Entity {
    match step {
        Step::DetachGroupPolicy { .. } | Step::DeleteGroupPolicy { .. } => Entity::Group,
        _ => Entity::User,
    }
}

/// `v12` -> 12, to order versions created in the same second.
fn version_number(v: &str) -> u32 {
    v.trim_start_matches('v').parse().unwrap_or(0)
}

/// A write that found nothing to act on has nothing left to do.
fn done(r: Result<(), IamError>) -> Result<(Status, String), IamError> {
    match r {
        Ok(()) => Ok((Status::Done, String::new())),
        Err(IamError::NotFound(what)) => Ok((Status::Already, format!("not found: {what}"))),
        Err(e) => Err(e),
    }
}

/// A read of something that no longer exists reads as empty.
fn absent(e: IamError) -> Result<Vec<String>, IamError> {
    match e {
        IamError::NotFound(_) => Ok(vec![]),
        e => Err(e),
    }
}
