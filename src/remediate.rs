//! Carry out a plan against IAM, idempotently.
//!
//! The IAM calls sit behind the small [`Iam`] trait (the AWS SDK implements
//! it in [`crate::aws`]), so the decisions here do not depend on the SDK.
//! Before each change the current state is read: a step whose work is already
//! done (a repeated delivery, a policy detached by hand, a deleted role) is
//! `already`, and a step whose target has changed since the event (a newer
//! trust policy, a newer inline document) is `superseded` and left alone, so an
//! older event never overwrites a newer change.

use crate::audit::{NoStore, Store};
use crate::plan::Step;
use crate::policy;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why an IAM call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

/// What the executor needs to know about a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleState {
    pub arn: String,
    pub path: String,
    /// The trust policy, decoded from the URL-encoded form IAM returns.
    pub trust_policy: Value,
    pub max_session_duration: u32,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub version_id: String,
    pub is_default: bool,
    /// Seconds since the epoch.
    pub created: i64,
}

/// The IAM calls roleguard makes. Reads return `Ok(None)` for what does not exist.
#[allow(async_fn_in_trait)]
pub trait Iam {
    async fn get_role(&self, role: &str) -> Result<Option<RoleState>, IamError>;
    async fn attached_role_policies(&self, role: &str) -> Result<Vec<String>, IamError>;
    async fn get_role_policy(&self, role: &str, name: &str) -> Result<Option<Value>, IamError>;
    /// The names of a role's inline policies.
    async fn role_policy_names(&self, role: &str) -> Result<Vec<String>, IamError>;
    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), IamError>;
    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), IamError>;
    async fn put_role_policy(&self, role: &str, name: &str, document: &str)
        -> Result<(), IamError>;
    async fn update_assume_role_policy(&self, role: &str, document: &str) -> Result<(), IamError>;
    async fn update_max_session_duration(&self, role: &str, seconds: u32) -> Result<(), IamError>;
    async fn put_role_permissions_boundary(&self, role: &str, arn: &str) -> Result<(), IamError>;
    async fn tag_role(&self, role: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError>;
    async fn policy_versions(&self, arn: &str) -> Result<Option<Vec<PolicyVersion>>, IamError>;
    /// A managed policy's document: the given version, or the default one.
    async fn policy_document(
        &self,
        arn: &str,
        version: Option<&str>,
    ) -> Result<Option<String>, IamError>;
    /// The roles a managed policy is attached to.
    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, IamError>;
    async fn set_default_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError>;
    async fn delete_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError>;
    /// Every role of the account with its policies, and the default document
    /// of every customer managed policy, in as few requests as IAM allows.
    async fn account_snapshot(&self) -> Result<crate::scan::AccountSnapshot, IamError>;
}

/// Reaches IAM in the account an event happened in: the function's own, or a
/// member account through its remediation role.
#[allow(async_fn_in_trait)]
pub trait Accounts {
    type Iam: Iam;
    /// IAM in `account` (`None`: the function's own account).
    async fn iam(&self, account: Option<&str>) -> Result<Self::Iam, IamError>;
    /// The account roleguard runs in.
    async fn own_account(&self) -> Result<String, IamError>;
}

/// A role as IAM holds it now, with every policy that decides what it may
/// do: GetRole, ListAttachedRolePolicies, ListRolePolicies, a GetRolePolicy
/// per inline policy, and the default document of each customer managed
/// policy (attached, or its boundary). `None` when the role is gone.
pub async fn fetch_role<I: Iam>(
    iam: &I,
    role: &str,
) -> Result<Option<crate::scan::RoleParts>, IamError> {
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
    Ok(Some(crate::scan::RoleParts {
        role: crate::scan::RoleSnapshot {
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

/// The session name roleguard gives its sessions of the remediation role in
/// member accounts: with the role's ARN, what tells its own changes there.
pub const SESSION_NAME: &str = "roleguard";

/// The IAM actions the executor and [`handle`] call, and nothing else: the
/// session policy for a member account's remediation role, and what
/// roleguard's own roles need.
pub const REMEDIATION_ACTIONS: &[&str] = &[
    "iam:DeletePolicyVersion",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListEntitiesForPolicy",
    "iam:ListPolicyVersions",
    "iam:ListRolePolicies",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:SetDefaultPolicyVersion",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];

/// The session policy roleguard passes when it assumes a member account's
/// remediation role: whatever that role allows, the session can make only the
/// remediation calls, and only on that account's roles and policies.
pub fn session_policy(account: &str) -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RoleguardRemediationOnly",
            "Effect": "Allow",
            "Action": REMEDIATION_ACTIONS,
            "Resource": [
                format!("arn:aws:iam::{account}:role/*"),
                format!("arn:aws:iam::{account}:policy/*"),
            ],
        }]
    })
}

/// The ARN of a member account's remediation role.
pub fn remediation_role_arn(account: &str, role_name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role_name}")
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The change was made.
    Done,
    /// Nothing to do: the state is already what the step wants.
    Already,
    /// Left alone: the target changed after the event.
    Superseded,
    /// Dry run: what would have been done.
    WouldDo,
    /// Not carried out here (notification is the alert channels' work).
    Skipped,
    Failed,
}

/// One step and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    pub step: Step,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Carry out the steps in order. A failed step does not stop the others;
/// the caller reports the invocation as failed when any step failed.
pub async fn execute<I: Iam>(iam: &I, steps: &[Step], dry_run: bool) -> Vec<StepResult> {
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let (status, detail) = match run(iam, step, dry_run).await {
            Ok(r) => r,
            Err(e) => (Status::Failed, e.to_string()),
        };
        out.push(StepResult {
            step: step.clone(),
            status,
            detail,
        });
    }
    out
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
            // IAM tag keys are unique without regard to case.
            let held = |k: &str| {
                role.tags
                    .iter()
                    .find(|(h, _)| h.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v)
            };
            if tags.iter().all(|(k, v)| held(k) == Some(v)) {
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
        Step::Notify { .. } => Ok((Status::Skipped, "alert channels are not configured".into())),
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

/// What handling one event did: the verdict, the plan, and every step's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub assessment: crate::plan::Assessment,
    pub dry_run: bool,
    pub results: Vec<StepResult>,
    /// False when any step failed: the invocation fails, so the event is
    /// retried or dead-lettered.
    pub ok: bool,
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Assess(#[from] crate::plan::AssessError),
    #[error("reading {what} from IAM: {source}")]
    Fetch { what: String, source: IamError },
    #[error(transparent)]
    Store(#[from] crate::audit::StoreError),
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

/// Judge an event and carry out its plan (or, in a dry run, say what would be
/// done), keeping nothing: [`handle_with`] with [`NoStore`].
pub async fn handle<I: Iam>(
    iam: &I,
    event: &crate::event::Event,
    config: &crate::config::Config,
    dry_run: bool,
) -> Result<Outcome, HandleError> {
    handle_with(
        iam,
        &NoStore,
        &crate::notify::NoChannels,
        event,
        config,
        dry_run,
    )
    .await
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
pub async fn handle_with<I: Iam, S: Store, C: crate::notify::Channels>(
    iam: &I,
    store: &S,
    channels: &C,
    event: &crate::event::Event,
    config: &crate::config::Config,
    dry_run: bool,
) -> Result<Outcome, HandleError> {
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
            let (document, note, gone) = live_document(iam, event).await?;
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
            fetched.role = fetch_role(iam, name)
                .await
                .map_err(fetch(format!("the policies of role {name}")))?;
            live = true;
        }
    }
    let mut assessment = crate::plan::assess_with(event, config, &fetched)?;
    if let (Some(name), false) = (change.role_name(), live) {
        if fetched.role.is_some() && assessment.plan.iter().any(Step::reverts) {
            fetched.role = fetch_role(iam, name)
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
        fetched.role = fetch_role(iam, name)
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
            if fetched
                .role_path
                .as_deref()
                .is_some_and(crate::plan::is_service_linked_path)
            {
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
            .roles_with_policy(&arn)
            .await
            .map_err(fetch(format!("the roles using {arn}")))?;
        if roles.is_empty() && assessment.skipped.is_none() {
            assessment.skipped = Some(format!("{arn} is attached to no role"));
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
        let now = unix_now();
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
            detail: serde_json::to_value(&assessment).unwrap_or(Value::Null),
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
    let results = execute(iam, &assessment.plan, dry_run).await;
    let mut outcome = Outcome {
        assessment,
        dry_run,
        results,
        ok: true,
    };
    // Alerts go out after the remediation, whatever it did.
    if channels.any() {
        if let Some(alert) = crate::notify::Alert::new(&outcome, event) {
            let kept_in = match (&record, &outcome.assessment.event_id) {
                (Some(_), Some(id)) => format!("audit record {}", crate::audit::event_key(id)),
                _ => "the function's log (the outcome line)".to_string(),
            };
            let deliveries = channels.deliver(&alert, &kept_in).await;
            let (status, detail) = crate::notify::delivery_status(&deliveries);
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
        r.detail = serde_json::to_value(&outcome).unwrap_or(Value::Null);
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

/// Does the plan remove offending trust statements or delete an inline policy,
/// where a known previous document would do better?
fn sanitises(plan: &[Step]) -> bool {
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
            .any(|f| f.rule == "role-boundary-removed"))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The [`Iam`] methods of a wrapper, each forwarding to the `Iam` that `$get`
/// gives (`$inner`).
macro_rules! forward_iam {
    ($s:ident, $inner:ident => $get:expr) => {
        async fn get_role(&$s, role: &str) -> Result<Option<RoleState>, IamError> {
            let $inner = $get;
            $inner.get_role(role).await
        }
        async fn attached_role_policies(&$s, role: &str) -> Result<Vec<String>, IamError> {
            let $inner = $get;
            $inner.attached_role_policies(role).await
        }
        async fn get_role_policy(&$s, role: &str, name: &str) -> Result<Option<Value>, IamError> {
            let $inner = $get;
            $inner.get_role_policy(role, name).await
        }
        async fn role_policy_names(&$s, role: &str) -> Result<Vec<String>, IamError> {
            let $inner = $get;
            $inner.role_policy_names(role).await
        }
        async fn detach_role_policy(&$s, role: &str, arn: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.detach_role_policy(role, arn).await
        }
        async fn delete_role_policy(&$s, role: &str, name: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.delete_role_policy(role, name).await
        }
        async fn put_role_policy(&$s, role: &str, name: &str, document: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.put_role_policy(role, name, document).await
        }
        async fn update_assume_role_policy(&$s, role: &str, document: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.update_assume_role_policy(role, document).await
        }
        async fn update_max_session_duration(&$s, role: &str, seconds: u32) -> Result<(), IamError> {
            let $inner = $get;
            $inner.update_max_session_duration(role, seconds).await
        }
        async fn put_role_permissions_boundary(&$s, role: &str, arn: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.put_role_permissions_boundary(role, arn).await
        }
        async fn tag_role(&$s, role: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
            let $inner = $get;
            $inner.tag_role(role, tags).await
        }
        async fn policy_versions(&$s, arn: &str) -> Result<Option<Vec<PolicyVersion>>, IamError> {
            let $inner = $get;
            $inner.policy_versions(arn).await
        }
        async fn policy_document(&$s, arn: &str, version: Option<&str>) -> Result<Option<String>, IamError> {
            let $inner = $get;
            $inner.policy_document(arn, version).await
        }
        async fn roles_with_policy(&$s, arn: &str) -> Result<Vec<String>, IamError> {
            let $inner = $get;
            $inner.roles_with_policy(arn).await
        }
        async fn set_default_policy_version(&$s, arn: &str, version: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.set_default_policy_version(arn, version).await
        }
        async fn delete_policy_version(&$s, arn: &str, version: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.delete_policy_version(arn, version).await
        }
        async fn account_snapshot(&$s) -> Result<crate::scan::AccountSnapshot, IamError> {
            let $inner = $get;
            $inner.account_snapshot().await
        }
    };
}

/// An [`Iam`] that counts the calls made through it: for measuring API calls
/// per event, around the real implementation.
pub struct Counting<I> {
    pub inner: I,
    calls: std::sync::atomic::AtomicUsize,
}

impl<I> Counting<I> {
    pub fn new(inner: I) -> Counting<I> {
        Counting {
            inner,
            calls: std::sync::atomic::AtomicUsize::new(0),
        }
    }
    pub fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn count(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl<I: Iam> Iam for Counting<I> {
    forward_iam!(self, inner => {
        self.count();
        &self.inner
    });
}

/// IAM in one account, reached only when a call is first made: an event that
/// needs no call (a compliant change judged from the event alone, a failed
/// call, roleguard's own change) costs no AssumeRole either.
pub struct InAccount<'a, A: Accounts> {
    accounts: &'a A,
    account: Option<&'a str>,
    iam: tokio::sync::OnceCell<A::Iam>,
}

impl<'a, A: Accounts> InAccount<'a, A> {
    pub fn new(accounts: &'a A, account: Option<&'a str>) -> InAccount<'a, A> {
        InAccount {
            accounts,
            account,
            iam: tokio::sync::OnceCell::new(),
        }
    }
    async fn get(&self) -> Result<&A::Iam, IamError> {
        self.iam
            .get_or_try_init(|| self.accounts.iam(self.account))
            .await
    }
}

impl<A: Accounts> Iam for InAccount<'_, A> {
    forward_iam!(self, inner => self.get().await?);
}

/// How many roles a scan works on at once (baseline reads and writes, reverts).
pub const SCAN_CONCURRENCY: usize = 8;

/// One role's verdict in a scan, and what was done about it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleScan {
    #[serde(flatten)]
    pub result: crate::check::CheckResult,
    /// The steps carried out (with `remediate`), each with how it ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<StepResult>,
}

/// What a scan of one account found and did.
#[derive(Debug, Clone, Serialize)]
pub struct ScanOutcome {
    pub account: String,
    pub roles: usize,
    pub dry_run: bool,
    pub remediate: bool,
    /// IAM requests made to read the account.
    pub read_requests: usize,
    /// Roles whose state was recorded as their baseline.
    pub baselines_recorded: usize,
    /// Findings by severity, over every role.
    pub findings_by_severity: BTreeMap<&'static str, usize>,
    pub results: Vec<RoleScan>,
    /// False when a step failed.
    pub ok: bool,
}

/// Judge every role of `account` as it stands. With `remediate`, carry out
/// each non-compliant role's plan (in a dry run: say what would be done);
/// otherwise only report. With a store, a role that needs no revert is
/// recorded as its baseline, and a revert puts back the recorded documents.
pub async fn scan_account<I: Iam, S: Store>(
    iam: &I,
    store: &S,
    account: &str,
    config: &crate::config::Config,
    remediate: bool,
    dry_run: bool,
) -> Result<ScanOutcome, HandleError> {
    use futures_util::StreamExt;
    let snapshot = iam
        .account_snapshot()
        .await
        .map_err(|source| HandleError::Fetch {
            what: format!("the roles of account {account}"),
            source,
        })?;
    let judged = futures_util::stream::iter(snapshot.roles.iter())
        .map(|role| async {
            let mut v = crate::scan::judge_role(account, role, &snapshot.policies, None, config);
            // A revert that would sanitise: the baseline's documents are better.
            let plan = v.result.plan.as_deref().unwrap_or_default();
            if store.enabled() && sanitises(plan) {
                if let Some(b) = store.baseline(account, &role.name).await? {
                    v = crate::scan::judge_role(
                        account,
                        role,
                        &snapshot.policies,
                        Some(&b),
                        config,
                    );
                }
            }
            let mut recorded = false;
            if store.enabled() && v.accepted && v.result.skipped.is_none() {
                let baseline = crate::audit::Baseline {
                    trust_policy: Some(role.trust_policy.clone()),
                    inline_policies: role.inline.iter().cloned().collect(),
                    role: Some(crate::scan::RoleParts {
                        role: role.clone(),
                        policies: role
                            .attached
                            .iter()
                            .chain(role.permissions_boundary.iter())
                            .filter_map(|a| {
                                snapshot.policies.get(a).map(|d| (a.clone(), d.clone()))
                            })
                            .collect(),
                    }),
                };
                store.save_baseline(account, &role.name, &baseline).await?;
                recorded = true;
            }
            let plan = v.result.plan.clone().unwrap_or_default();
            let results = if remediate && !plan.is_empty() {
                execute(iam, &plan, dry_run).await
            } else {
                vec![]
            };
            Ok::<_, HandleError>((
                RoleScan {
                    result: v.result,
                    results,
                },
                recorded,
            ))
        })
        .buffered(SCAN_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut results = Vec::with_capacity(judged.len());
    let mut baselines_recorded = 0;
    for r in judged {
        let (scan, recorded) = r?;
        baselines_recorded += usize::from(recorded);
        results.push(scan);
    }
    let ok = results
        .iter()
        .flat_map(|r| &r.results)
        .all(|s| s.status != Status::Failed);
    let mut findings_by_severity = BTreeMap::new();
    for f in results.iter().flat_map(|r| &r.result.findings) {
        *findings_by_severity.entry(f.severity.as_str()).or_insert(0) += 1;
    }
    Ok(ScanOutcome {
        account: account.to_string(),
        roles: snapshot.roles.len(),
        dry_run,
        remediate,
        read_requests: snapshot.requests,
        baselines_recorded,
        findings_by_severity,
        results,
        ok,
    })
}
