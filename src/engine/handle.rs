//! Handle one event: read what the judgement needs, judge, claim the audit
//! record, carry out the plan, alert, and keep the role's new baseline.

use super::execute::execute;
use super::{Engine, HandleError};
use crate::outcome::{Outcome, Status};
use crate::plan::Step;
use crate::policy;
use crate::ports::{Channels, Clock, Delivery, Entity, Iam, IamError, Store, Trail};
use crate::rules::RuleId;
use serde_json::Value;

/// A role as IAM holds it now, with every policy that decides what it may
/// do: GetRole, ListAttachedRolePolicies, ListRolePolicies, a GetRolePolicy
/// per inline policy, and the default document of each customer managed
/// policy (attached, or its boundary). `None` when the role is gone.
pub async fn fetch_role<I: Iam>(
    iam: &I,
    role: &str,
) -> Result<Option<crate::snapshot::RoleParts>, IamError> {
    let Some(state) = iam.get_role(role).await? else {
        return Ok(None);
    };
    let attached = iam.attached_role_policies(role).await?;
    let mut inline = Vec::new();
    for name in iam.role_policy_names(role).await? {
        if let Some(doc) = iam.get_role_policy(role, &name).await? {
            inline.push((name, doc));
        }
    }
    let mut policies = std::collections::HashMap::new();
    for arn in attached.iter().chain(state.permissions_boundary.iter()) {
        if crate::catalog::is_aws_managed_arn(arn) && crate::catalog::managed_policy(arn).is_some()
        {
            continue;
        }
        if let Some(doc) = iam.policy_document(arn, None).await? {
            policies.insert(
                arn.clone(),
                policy::decode(&doc).unwrap_or(Value::String(doc)),
            );
        }
    }
    Ok(Some(crate::snapshot::RoleParts {
        role: crate::snapshot::RoleSnapshot {
            name: role.to_string(),
            arn: state.arn,
            path: state.path,
            trust_policy: state.trust_policy,
            max_session_duration: state.max_session_duration,
            permissions_boundary: state.permissions_boundary,
            attached,
            inline,
        },
        policies,
    }))
}

/// A user (with every group it is in) or a group as IAM holds it, with
/// every policy that decides what it may do: GetUser and ListGroupsForUser,
/// each one's attached and inline policies, and the default document of
/// each customer managed policy among them (and the boundary). `None` when
/// it is gone.
pub async fn fetch_entity<I: Iam>(
    iam: &I,
    entity: Entity,
    name: &str,
) -> Result<Option<crate::snapshot::EntityParts>, IamError> {
    use crate::snapshot::EntityParts;
    let (mut parts, groups) = match entity {
        Entity::User => {
            let Some(user) = iam.get_user(name).await? else {
                return Ok(None);
            };
            let own = iam
                .entity_policies(Entity::User, name)
                .await?
                .unwrap_or_default();
            (
                EntityParts {
                    name: name.to_string(),
                    arn: user.arn,
                    attached: own.attached,
                    inline: own.inline,
                    permissions_boundary: user.permissions_boundary,
                    ..EntityParts::default()
                },
                user.groups,
            )
        }
        _ => {
            let Some(own) = iam.entity_policies(Entity::Group, name).await? else {
                return Ok(None);
            };
            (
                EntityParts {
                    name: name.to_string(),
                    arn: own.arn,
                    attached: own.attached,
                    inline: own.inline,
                    ..EntityParts::default()
                },
                vec![],
            )
        }
    };
    for g in groups {
        if let Some(held) = iam.entity_policies(Entity::Group, &g).await? {
            parts.groups.push(EntityParts {
                name: g,
                arn: held.arn,
                attached: held.attached,
                inline: held.inline,
                ..EntityParts::default()
            });
        }
    }
    let arns: Vec<String> = parts
        .attached
        .iter()
        .chain(parts.groups.iter().flat_map(|g| g.attached.iter()))
        .chain(parts.permissions_boundary.iter())
        .filter(|a| {
            !(crate::catalog::is_aws_managed_arn(a) && crate::catalog::managed_policy(a).is_some())
        })
        .cloned()
        .collect();
    for arn in arns {
        if parts.policies.contains_key(&arn) {
            continue;
        }
        if let Some(doc) = iam.policy_document(&arn, None).await? {
            parts
                .policies
                .insert(arn, policy::decode(&doc).unwrap_or(Value::String(doc)));
        }
    }
    Ok(Some(parts))
}

/// The document a change put in force, read from IAM because its record
/// lacks it ([`crate::event::Event::missing_document`]): the inline policy
/// (GetRolePolicy), the trust policy (GetRole), or the policy version
/// (GetPolicyVersion: the one the record names, else the newest). With the
/// note that says so, and whether it is gone since (nothing stands to judge).
async fn live_document<I: Iam>(
    iam: &I,
    event: &crate::event::Event,
) -> Result<(String, String, bool), HandleError> {
    use crate::event::EventError;
    let call = event.trail.event_name.clone();
    let need = |field: &'static str| {
        event.parameter(field).ok_or_else(|| {
            HandleError::Assess(crate::plan::AssessError::from(EventError::MissingField {
                name: call.clone(),
                field,
            }))
        })
    };
    let fetch = |what: String| move |source| HandleError::Fetch { what, source };
    let (document, what) = match call.as_str() {
        "PutRolePolicy" => {
            let (role, name) = (need("roleName")?, need("policyName")?);
            let doc = iam
                .get_role_policy(role, name)
                .await
                .map_err(fetch(format!("inline policy {name} of role {role}")))?;
            (
                doc.map(|d| d.to_string()),
                format!("inline policy {name} of role {role}"),
            )
        }
        "PutUserPolicy" | "PutGroupPolicy" => {
            let (entity, field) = if call == "PutUserPolicy" {
                (Entity::User, "userName")
            } else {
                (Entity::Group, "groupName")
            };
            let (holder, name) = (need(field)?, need("policyName")?);
            let what = format!("inline policy {name} of {} {holder}", entity.as_str());
            let held = iam
                .entity_policies(entity, holder)
                .await
                .map_err(fetch(what.clone()))?;
            (
                held.and_then(|h| {
                    h.inline
                        .into_iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, d)| d.to_string())
                }),
                what,
            )
        }
        "UpdateAssumeRolePolicy" | "CreateRole" => {
            let role = need("roleName")?;
            let state = iam
                .get_role(role)
                .await
                .map_err(fetch(format!("the trust policy of role {role}")))?;
            (
                state.map(|s| s.trust_policy.to_string()),
                format!("the trust policy of role {role}"),
            )
        }
        _ => {
            let arn = need("policyArn")?;
            let named = event
                .trail
                .response_elements
                .as_ref()
                .and_then(|r| r.pointer("/policyVersion/versionId"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            let version = match named {
                Some(v) => Some(v),
                None => iam
                    .policy_versions(arn)
                    .await
                    .map_err(fetch(format!("the versions of {arn}")))?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| v.version_id)
                    .max_by_key(|v| v.trim_start_matches('v').parse::<u64>().unwrap_or(0)),
            };
            let doc = match &version {
                Some(v) => iam
                    .policy_document(arn, Some(v))
                    .await
                    .map_err(fetch(format!("{arn} version {v}")))?,
                None => None,
            };
            (
                doc,
                format!("{arn} version {}", version.unwrap_or_default()),
            )
        }
    };
    Ok(match document {
        Some(d) => (
            d,
            format!("the event did not carry the document (omitted or cut short): judged {what} as IAM holds it now"),
            false,
        ),
        // Nothing stands: a placeholder to read the record by; the event is
        // then skipped.
        None => (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
                .to_owned(),
            format!("the event did not carry the document and {what} is gone: nothing stands to judge"),
            true,
        ),
    })
}

/// Judge an event and carry out its plan (or, in a dry run, say what would be done).
///
/// What the engine needs from IAM is fetched first: a customer managed
/// policy's document (AttachRolePolicy), the version put in force
/// (SetDefaultPolicyVersion). AWS managed policies come from the embedded
/// snapshot with no call. A change to a managed policy that no role uses is
/// left alone.
///
/// With a store: a plan that would sanitise a trust policy or delete an
/// inline policy puts back the role's baseline document instead, when one is
/// known; the audit record is claimed before any change (a repeated delivery
/// finds it taken and does nothing) and completed after; a change that needs
/// no revert becomes the role's baseline.
pub(super) async fn handle<I: Iam, T: Trail, S: Store, C: Channels, K: Clock>(
    engine: &Engine<'_, S, C, K>,
    iam: &I,
    trail: &T,
    event: &crate::event::Event,
) -> Result<Outcome, HandleError> {
    let (store, channels, config) = (engine.store, engine.channels, engine.config);
    let dry_run = engine.mode.is_dry_run();
    use crate::event::Change;
    let fetch = |what: String| move |source| HandleError::Fetch { what, source };
    // Fail closed: a record that lacks the document it put in force is
    // judged on the document IAM holds now; a failed read fails the
    // invocation (and it is retried), never passes.
    let live_event;
    let mut live_note = None;
    let event = match event.missing_document() {
        None => event,
        Some(field) => {
            let (document, note, gone) = Box::pin(live_document(iam, event)).await?;
            live_note = Some((note, gone));
            live_event = event.with_document(field, document);
            &live_event
        }
    };
    let mut fetched = crate::plan::Fetched::default();
    let mut unused_policy = None;
    let change = event.change().map_err(crate::plan::AssessError::from)?;
    // A failed call changed nothing: no need to read anything.
    if event.trail.error_code.is_none() {
        match &change {
            Change::AttachRolePolicy { policy_arn, .. }
                if !crate::catalog::is_aws_managed_arn(policy_arn) =>
            {
                fetched.document = iam
                    .policy_document(policy_arn, None)
                    .await
                    .map_err(fetch(format!("the document of {policy_arn}")))?;
            }
            Change::SetDefaultPolicyVersion {
                policy_arn,
                version_id,
            } => {
                fetched.document = iam
                    .policy_document(policy_arn, Some(version_id))
                    .await
                    .map_err(fetch(format!("{policy_arn} version {version_id}")))?;
                unused_policy = Some(policy_arn.clone());
            }
            Change::CreatePolicyVersion { policy_arn, .. } => {
                unused_policy = Some(policy_arn.clone())
            }
            _ => {}
        }
        // What a removal took away: a customer managed policy still stands
        // (its default version); a role's inline policy is in its baseline.
        match &change {
            Change::DetachPolicy { policy_arn, .. }
                if !crate::catalog::is_aws_managed_arn(policy_arn) =>
            {
                fetched.removed_document = iam
                    .policy_document(policy_arn, None)
                    .await
                    .map_err(fetch(format!("the document of {policy_arn}")))?;
            }
            Change::DeletePolicy {
                entity: Entity::Role,
                name,
                policy_name,
            } if store.enabled() => {
                if let Some(account) = &event.account {
                    let kept = store
                        .baseline(account, name)
                        .await?
                        .and_then(|b| b.inline_policies.get(policy_name).cloned());
                    fetched.removed_document = kept.as_ref().map(Value::to_string);
                    fetched.previous_inline_policy = kept;
                }
            }
            _ => {}
        }
        // A user or group is judged as a whole: read it, with its groups.
        let removal = matches!(
            change,
            Change::DetachPolicy { .. } | Change::DeletePolicy { .. }
        );
        if let Some((entity, name)) = change
            .entity()
            .filter(|(e, _)| *e != Entity::Role && !removal)
        {
            fetched.entity = Box::pin(fetch_entity(iam, entity, name))
                .await
                .map_err(fetch(format!("the policies of {} {name}", entity.as_str())))?;
        }
    }
    // A change that grants what takes part in an escalation path is judged
    // with the role's other policies: from the kept baseline when there is
    // one, else from IAM. A revert decided on the kept copy is confirmed on
    // IAM's own state first, so a stale copy never undoes a change.
    let role = event
        .account
        .clone()
        .zip(change.role_name().map(str::to_owned));
    let mut baseline: Option<Option<crate::audit::Baseline>> = None;
    let mut live = false;
    let whole = event.trail.error_code.is_none()
        && crate::plan::needs_role(&change, fetched.document.as_deref());
    if let (true, Some((account, name))) = (whole, &role) {
        if store.enabled() {
            let b = store.baseline(account, name).await?;
            fetched.role = b.as_ref().and_then(|b| b.role.clone());
            baseline = Some(b);
        }
        if fetched.role.is_none() {
            fetched.role = Box::pin(fetch_role(iam, name))
                .await
                .map_err(fetch(format!("the policies of role {name}")))?;
            live = true;
        }
    }
    let mut assessment = crate::plan::assess_with(event, config, &fetched)?;
    if let (Some(name), false) = (change.role_name(), live) {
        if fetched.role.is_some() && assessment.plan.iter().any(Step::reverts) {
            fetched.role = Box::pin(fetch_role(iam, name))
                .await
                .map_err(fetch(format!("the policies of role {name}")))?;
            assessment = crate::plan::assess_with(event, config, &fetched)?;
        }
    }
    // A detach of a policy a service requires waits for the role's trust.
    if let (Some(name), true) = (
        change.role_name(),
        crate::plan::needs_trust(&assessment, &fetched),
    ) {
        fetched.role = Box::pin(fetch_role(iam, name))
            .await
            .map_err(fetch(format!("the policies of role {name}")))?;
        assessment = crate::plan::assess_with(event, config, &fetched)?;
    }
    // A change roleguard would act on may be to a service-linked role,
    // which only its service can change: the path IAM reports says so (the
    // event does not). A plan that only notifies costs no call for it.
    if let Some(name) = change.role_name() {
        let path_known = fetched.role.is_some() || matches!(change, Change::CreateRole { .. });
        let acts = assessment
            .plan
            .iter()
            .any(|s| !matches!(s, Step::Notify { .. }));
        if !path_known && acts && assessment.skipped.is_none() {
            let state = iam
                .get_role(name)
                .await
                .map_err(fetch(format!("role {name}")))?;
            fetched.role_path = state.map(|s| s.path);
            if fetched.role_path.as_deref().is_some_and(|p| {
                crate::plan::is_service_linked_path(p) || crate::plan::is_reserved_path(p)
            }) {
                assessment = crate::plan::assess_with(event, config, &fetched)?;
            }
        }
    }
    let role = assessment.account.clone().zip(assessment.role_name.clone());
    if let (true, Some((account, role))) = (
        store.enabled() && wants_baseline(&change, &assessment),
        &role,
    ) {
        let kept = match baseline.take() {
            Some(b) => b,
            None => store.baseline(account, role).await?,
        };
        if let Some(b) = kept {
            fetched.previous_trust_policy = b.trust_policy;
            if let Change::PutRolePolicy { policy_name, .. } = &change {
                fetched.previous_inline_policy = b.inline_policies.get(policy_name).cloned();
            }
            fetched.previous_boundary = b
                .role
                .as_ref()
                .and_then(|r| r.role.permissions_boundary.clone());
            assessment = crate::plan::assess_with(event, config, &fetched)?;
        }
    }
    // Whether any role uses the policy matters only when there is something to do.
    if let Some(arn) = unused_policy.filter(|_| !assessment.plan.is_empty()) {
        let roles = iam
            .policy_holders(&arn)
            .await
            .map_err(fetch(format!("the roles using {arn}")))?;
        if roles.is_empty() && assessment.skipped.is_none() {
            assessment.skipped = Some(format!("{arn} is attached to no role, user or group"));
            assessment.plan.clear();
        } else if !roles.is_empty() {
            assessment
                .judgement
                .notes
                .retain(|n| !n.contains("looked up when the plan is carried out"));
            assessment
                .judgement
                .notes
                .push(format!("{arn} is attached to {}", roles.join(", ")));
        }
    }
    match live_note {
        Some((note, true)) => {
            assessment.skipped = Some(note);
            assessment.plan.clear();
        }
        Some((note, false)) => assessment.judgement.notes.push(note),
        None => {}
    }
    // Write-ahead: claim the event before changing anything. An event with
    // nothing to do is recorded as completed in the same write.
    let mut record = None;
    if store.enabled() {
        let now = engine.clock.now();
        let claim = crate::audit::AuditRecord {
            event_id: assessment.event_id.clone().unwrap_or_default(),
            event_time: event.time.clone(),
            status: if assessment.plan.is_empty() {
                crate::audit::RecordStatus::Completed
            } else {
                crate::audit::RecordStatus::Started
            },
            account: assessment.account.clone(),
            role_name: assessment.role_name.clone(),
            started_at: now,
            expires_at: crate::audit::expires_at(now, config.audit_retention_days),
            detail: serde_json::to_value(&assessment)
                .map_err(|e| crate::ports::StoreError(format!("the audit record: {e}")))?,
        };
        if claim.event_id.is_empty() {
            assessment
                .judgement
                .notes
                .push("the event has no id: no audit record, no idempotency".into());
        } else {
            match store.claim(&claim, now).await? {
                crate::audit::Claim::Acquired => {
                    record = (claim.status == crate::audit::RecordStatus::Started).then_some(claim)
                }
                crate::audit::Claim::Taken {
                    status: crate::audit::RecordStatus::Started,
                    started_at,
                } => {
                    // Another invocation holds it, or died holding it: fail,
                    // so that EventBridge retries; once the lease is over a
                    // retry takes over and finishes the job. A success here
                    // would end the retries with the job maybe undone.
                    return Err(HandleError::InProgress {
                        event_id: claim.event_id,
                        started_at,
                        retry_after: started_at + crate::audit::CLAIM_LEASE_SECS,
                    });
                }
                crate::audit::Claim::Taken { status, started_at } => {
                    assessment.skipped = Some(format!(
                        "already handled: event {} is {} (since {started_at})",
                        claim.event_id,
                        status.as_str()
                    ));
                    assessment.plan.clear();
                }
            }
        }
    }
    // Boxed, as the other large sub-futures: the handler's future stays
    // small enough for a 2 MiB thread stack in an unoptimised build.
    let results = Box::pin(execute(iam, &assessment.plan, engine.mode, engine.clock)).await;
    // A trust revert leaves the sessions it let out: who obtained them. A
    // lookup that fails is said in the alert; the revert stands.
    let window = match (
        config.session_lookup.enabled,
        reverted_trust(&assessment.plan),
        &assessment.role_name,
    ) {
        (true, true, Some(name)) => {
            let arn = match iam.get_role(name).await {
                Ok(Some(r)) => r.arn,
                _ => format!(
                    "arn:aws:iam::{}:role/{name}",
                    assessment.account.as_deref().unwrap_or_default()
                ),
            };
            // When the bad change was made: the record's own time (the
            // envelope's is EventBridge's, later).
            let changed = event
                .trail
                .event_time
                .as_deref()
                .or(event.time.as_deref())
                .and_then(crate::sessions::epoch);
            Some(
                Box::pin(super::who_used(
                    trail,
                    &arn,
                    changed,
                    engine.clock.now(),
                    &config.session_lookup,
                ))
                .await,
            )
        }
        _ => None,
    };
    let mut outcome = Outcome {
        assessment,
        dry_run,
        results,
        window,
        ok: true,
    };
    // Alerts go out after the remediation, whatever it did.
    if channels.any() {
        if let Some(alert) = crate::notify::Alert::new(&outcome, event) {
            let kept_in = match (&record, &outcome.assessment.event_id) {
                (Some(_), Some(id)) => format!("audit record {}", crate::audit::event_key(id)),
                _ => "the function's log (the outcome line)".to_string(),
            };
            let deliveries = Box::pin(channels.deliver(&alert, &kept_in)).await;
            let (status, detail) = delivery_status(&deliveries);
            for r in &mut outcome.results {
                if matches!(r.step, Step::Notify { .. }) {
                    r.status = status;
                    r.detail = detail.clone();
                }
            }
        }
    }
    outcome.ok = outcome.results.iter().all(|r| r.status != Status::Failed);
    let ok = outcome.ok;
    if let Some(mut r) = record {
        r.status = if ok {
            crate::audit::RecordStatus::Completed
        } else {
            crate::audit::RecordStatus::Failed
        };
        r.detail = serde_json::to_value(&outcome)
            .map_err(|e| crate::ports::StoreError(format!("the audit record: {e}")))?;
        store.finish(&r).await?;
    }
    // A change left in place is the role's accepted state: its baseline.
    let a = &outcome.assessment;
    if let (true, Some((account, role))) = (
        store.enabled() && a.skipped.is_none() && !a.plan.iter().any(Step::reverts),
        &role,
    ) {
        // The role as a whole, with the change: what judges its next change.
        if let (Some(parts), Some(changed)) =
            (&fetched.role, crate::plan::changed_document(&change))
        {
            let doc = match &change {
                Change::PutRolePolicy { document, .. } => Some(document.as_str()),
                _ => fetched.document.as_deref(),
            };
            if let Ok(after) = crate::plan::with_change(parts, &changed, doc) {
                store.save_role(account, role, &after).await?;
            }
        }
        match &change {
            Change::CreateRole { trust_policy, .. }
            | Change::UpdateAssumeRolePolicy { trust_policy, .. } => {
                if let Ok(doc) = policy::decode(trust_policy) {
                    store.save_trust_policy(account, role, &doc).await?;
                }
            }
            Change::PutRolePolicy {
                policy_name,
                document,
                ..
            } => {
                if let Ok(doc) = policy::decode(document) {
                    store
                        .save_inline_policy(account, role, policy_name, &doc)
                        .await?;
                }
            }
            _ => {}
        }
    }
    Ok(outcome)
}

/// Does the plan revert a trust policy?
fn reverted_trust(plan: &[Step]) -> bool {
    plan.iter()
        .any(|s| matches!(s, Step::UpdateAssumeRolePolicy { .. }))
}

/// Does the plan remove offending trust statements or delete an inline policy,
/// where a known previous document would do better?
pub(super) fn sanitises(plan: &[Step]) -> bool {
    plan.iter().any(|s| {
        matches!(
            s,
            Step::UpdateAssumeRolePolicy { .. } | Step::DeleteRolePolicy { .. }
        )
    })
}

/// Does the change want the role's baseline to put something back? A
/// sanitised trust or inline policy, or a removed boundary.
fn wants_baseline(change: &crate::event::Change, assessment: &crate::plan::Assessment) -> bool {
    sanitises(&assessment.plan)
        || (matches!(
            change,
            crate::event::Change::DeleteRolePermissionsBoundary { .. }
        ) && assessment
            .judgement
            .findings
            .iter()
            .any(|f| f.rule == RuleId::RoleBoundaryRemoved))
}

/// The notify step's status and detail from the deliveries.
fn delivery_status(deliveries: &[Delivery]) -> (Status, String) {
    let delivered: Vec<&str> = deliveries
        .iter()
        .filter(|d| d.result.is_ok())
        .map(|d| d.channel)
        .collect();
    let failed: Vec<String> = deliveries
        .iter()
        .filter_map(|d| {
            d.result
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", d.channel))
        })
        .collect();
    let mut detail = String::new();
    if !delivered.is_empty() {
        detail = format!("delivered to {}", delivered.join(", "));
    }
    if failed.is_empty() {
        (Status::Done, detail)
    } else {
        if !detail.is_empty() {
            detail += "; ";
        }
        (
            Status::Failed,
            detail + &format!("failed: {}", failed.join("; ")),
        )
    }
}
