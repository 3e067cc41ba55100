//! In-memory adapters: an IAM that holds roles and managed policies in
//! memory, records every call and fails on demand (a named call, or a
//! seeded share of all calls as throttling); a store with the audit table's
//! conditional claim that can be taken down; channels that record every
//! alert; a CloudTrail history served in pages; a clock the test moves. They drive the engine ([`crate::engine`])
//! through faults, clocks and load in-process; the AWS adapters are proven
//! against a real API (moto) in the integration tests.

use crate::audit::{AuditRecord, Baseline, Claim, RecordStatus};
use crate::notify::Alert;
use crate::ports::{
    Accounts, Channels, Clock, Delivery, Iam, IamError, PolicyVersion, RoleState, Store,
    StoreError, Trail, TrailError, TrailPage,
};
pub use crate::ports::{Entity, EntityPolicies, UserState};
use crate::snapshot::{AccountSnapshot, RoleSnapshot};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// A role as the in-memory IAM holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub arn: String,
    pub path: String,
    pub trust_policy: Value,
    pub max_session_duration: u32,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub inline: BTreeMap<String, Value>,
    pub attached: Vec<String>,
}

/// A customer managed policy's versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// (version id, document, default, created).
    pub versions: Vec<(String, Value, bool, i64)>,
}

/// A user or a group as the in-memory IAM holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holder {
    pub arn: String,
    pub attached: Vec<String>,
    pub inline: BTreeMap<String, Value>,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// A user's groups.
    pub groups: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    roles: BTreeMap<String, Role>,
    policies: BTreeMap<String, Managed>,
    users: BTreeMap<String, Holder>,
    groups: BTreeMap<String, Holder>,
}

/// One injected failure: the next `times` calls named `call` fail.
#[derive(Debug, Clone)]
struct Fault {
    call: &'static str,
    error: IamError,
    times: usize,
}

/// IAM in memory, for one account.
#[derive(Debug)]
pub struct MemoryIam {
    account: String,
    state: Mutex<State>,
    calls: Mutex<Vec<&'static str>>,
    faults: Mutex<Vec<Fault>>,
    /// A share of all calls (in millionths) that fail as IAM's throttling
    /// does once the SDK's retries are spent, drawn from a seeded generator.
    throttle: AtomicU64,
    rng: AtomicU64,
    /// When set, only reads answer: every change fails with AccessDenied.
    deny_changes: AtomicBool,
    /// The calls that passed every injected fault, in order.
    answered: Mutex<Vec<&'static str>>,
    /// A call that panics once, as a process that dies mid-invocation.
    die_on: Mutex<Option<&'static str>>,
    /// How long each page of the account's read takes (benchmarks: IAM's
    /// latency); none by default.
    page_latency: Mutex<Option<std::time::Duration>>,
}

/// The error IAM gives past its request rate, as the IAM adapter reports it.
pub fn throttling() -> IamError {
    IamError::Other("Throttling: Rate exceeded".into())
}

/// The error IAM gives a caller its policies do not allow.
pub fn access_denied(call: &str) -> IamError {
    IamError::Other(format!(
        "AccessDenied: User: arn:aws:sts::111122223333:assumed-role/roleguard/roleguard is not authorized to perform: iam:{call}"
    ))
}

/// The IAM calls that change something.
const CHANGES: &[&str] = &[
    "AttachRolePolicy",
    "AttachUserPolicy",
    "AttachGroupPolicy",
    "DetachUserPolicy",
    "DeleteUserPolicy",
    "DetachGroupPolicy",
    "DeleteGroupPolicy",
    "RemoveUserFromGroup",
    "PutUserPermissionsBoundary",
    "TagUser",
    "DetachRolePolicy",
    "DeleteRolePolicy",
    "PutRolePolicy",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "PutRolePermissionsBoundary",
    "TagRole",
    "SetDefaultPolicyVersion",
    "DeletePolicyVersion",
];

impl MemoryIam {
    pub fn new(account: &str) -> MemoryIam {
        MemoryIam {
            account: account.to_owned(),
            state: Mutex::default(),
            calls: Mutex::default(),
            faults: Mutex::default(),
            throttle: AtomicU64::new(0),
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            deny_changes: AtomicBool::new(false),
            answered: Mutex::default(),
            die_on: Mutex::default(),
            page_latency: Mutex::default(),
        }
    }

    /// Each page of the account's read (GetAccountAuthorizationDetails, 100
    /// items a page) takes `latency`, as IAM's answers take time.
    pub fn set_page_latency(&self, latency: std::time::Duration) {
        *lock(&self.page_latency) = Some(latency);
    }

    /// The next call named `call` panics: the invocation dies there, as a
    /// Lambda container killed mid-invocation (timeout, out of memory).
    pub fn die_on(&self, call: &'static str) {
        *lock(&self.die_on) = Some(call);
    }

    /// The calls IAM answered (not failed by an injected fault), in order.
    pub fn answered(&self) -> Vec<&'static str> {
        lock(&self.answered).clone()
    }

    /// From now on, each call fails as throttled with probability `share`
    /// (0.0 to 1.0), drawn from a generator seeded with `seed`: the same
    /// seed, the same calls fail.
    pub fn throttle(&self, share: f64, seed: u64) {
        let millionths = (share.clamp(0.0, 1.0) * 1_000_000.0) as u64;
        self.throttle.store(millionths, Ordering::SeqCst);
        self.rng.store(seed | 1, Ordering::SeqCst);
    }

    /// From now on every change IAM refuses (AccessDenied), as when the
    /// execution role lost its permissions; reads still answer.
    pub fn deny_changes(&self, deny: bool) {
        self.deny_changes.store(deny, Ordering::SeqCst);
    }

    /// How many calls were made that change something.
    pub fn changes(&self) -> usize {
        self.calls().iter().filter(|c| CHANGES.contains(c)).count()
    }

    /// The next number of a xorshift generator, in 0..1_000_000.
    fn draw(&self) -> u64 {
        let mut x = self.rng.load(Ordering::SeqCst);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::SeqCst);
        x % 1_000_000
    }

    /// An IAM holding the roles and customer managed policies of a snapshot
    /// (`roleguard check`'s bundle, the scan's read).
    pub fn from_snapshot(account: &str, snapshot: &AccountSnapshot) -> MemoryIam {
        let iam = MemoryIam::new(account);
        for r in &snapshot.roles {
            iam.put_role(r);
        }
        for (arn, doc) in &snapshot.policies {
            iam.put_policy(arn, doc.clone());
        }
        iam
    }

    /// Create or replace a role.
    pub fn put_role(&self, r: &RoleSnapshot) {
        self.with(|s| {
            s.roles.insert(
                r.name.clone(),
                Role {
                    arn: r.arn.clone(),
                    path: r.path.clone(),
                    trust_policy: r.trust_policy.clone(),
                    max_session_duration: r.max_session_duration,
                    permissions_boundary: r.permissions_boundary.clone(),
                    tags: BTreeMap::new(),
                    inline: r.inline.iter().cloned().collect(),
                    attached: r.attached.clone(),
                },
            );
        })
    }

    /// Create a customer managed policy with one (default) version, or add a
    /// version and make it the default.
    pub fn put_policy(&self, arn: &str, document: Value) {
        self.with(|s| {
            let p = s
                .policies
                .entry(arn.to_owned())
                .or_insert(Managed { versions: vec![] });
            for v in &mut p.versions {
                v.2 = false;
            }
            let id = format!("v{}", p.versions.len() + 1);
            let created = p.versions.len() as i64;
            p.versions.push((id, document, true, created));
        })
    }

    /// Create a role that Lambda may assume (path `/`, one hour sessions)
    /// with `attached` managed policies.
    pub fn put_lambda_role(&self, name: &str, attached: Vec<String>) {
        self.put_role(&RoleSnapshot {
            name: name.to_string(),
            arn: format!("arn:aws:iam::{}:role/{name}", self.account),
            path: "/".into(),
            trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            max_session_duration: 3600,
            permissions_boundary: None,
            attached,
            inline: vec![],
        });
    }

    /// Create a role with this trust policy and nothing else.
    pub fn put_role_trusting(&self, name: &str, trust_policy: Value) {
        self.put_role(&RoleSnapshot {
            name: name.to_string(),
            arn: format!("arn:aws:iam::{}:role/{name}", self.account),
            path: "/".into(),
            trust_policy,
            max_session_duration: 3600,
            permissions_boundary: None,
            attached: vec![],
            inline: vec![],
        });
    }

    /// Create a user with `attached` managed policies, in `groups`.
    pub fn put_user(&self, name: &str, attached: Vec<String>, groups: Vec<String>) {
        let arn = format!("arn:aws:iam::{}:user/{name}", self.account);
        self.with(|s| {
            s.users.insert(
                name.to_string(),
                Holder {
                    arn,
                    attached,
                    groups,
                    ..Holder::default()
                },
            )
        });
    }

    /// Create a group with `attached` and `inline` policies.
    pub fn put_group(&self, name: &str, attached: Vec<String>, inline: Vec<(String, Value)>) {
        let arn = format!("arn:aws:iam::{}:group/{name}", self.account);
        self.with(|s| {
            s.groups.insert(
                name.to_string(),
                Holder {
                    arn,
                    attached,
                    inline: inline.into_iter().collect(),
                    ..Holder::default()
                },
            )
        });
    }

    /// A user or a group as held now.
    pub fn holder(&self, entity: Entity, name: &str) -> Option<Holder> {
        self.with(|s| match entity {
            Entity::User => s.users.get(name).cloned(),
            Entity::Group => s.groups.get(name).cloned(),
            Entity::Role => None,
        })
    }

    /// Change a user or group in place (what a test's bad change does).
    pub fn change_holder(&self, entity: Entity, name: &str, f: impl FnOnce(&mut Holder)) {
        self.with(|s| {
            let h = match entity {
                Entity::User => s.users.get_mut(name),
                Entity::Group => s.groups.get_mut(name),
                Entity::Role => None,
            };
            if let Some(h) = h {
                f(h);
            }
        });
    }

    /// A role as held now.
    pub fn role(&self, name: &str) -> Option<Role> {
        self.with(|s| s.roles.get(name).cloned())
    }

    /// The next `times` calls named `call` (`"GetRole"`, `"DetachRolePolicy"`...) fail.
    pub fn fail(&self, call: &'static str, error: IamError, times: usize) {
        if let Ok(mut f) = self.faults.lock() {
            f.push(Fault { call, error, times });
        }
    }

    /// Every call made, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// Record a call; fail it when a fault says so.
    fn call(&self, name: &'static str) -> Result<(), IamError> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(name);
        }
        let dies = {
            let mut d = lock(&self.die_on);
            let dies = *d == Some(name);
            if dies {
                *d = None;
            }
            dies
        };
        if dies {
            // The test's stand-in for a process killed mid-invocation.
            #[allow(clippy::panic)]
            {
                panic!("the invocation died in {name}");
            }
        }
        let Ok(mut faults) = self.faults.lock() else {
            return Ok(());
        };
        if let Some(f) = faults.iter_mut().find(|f| f.call == name && f.times > 0) {
            f.times -= 1;
            return Err(f.error.clone());
        }
        drop(faults);
        if self.deny_changes.load(Ordering::SeqCst) && CHANGES.contains(&name) {
            return Err(access_denied(name));
        }
        let share = self.throttle.load(Ordering::SeqCst);
        if share > 0 && self.draw() < share {
            return Err(throttling());
        }
        lock(&self.answered).push(name);
        Ok(())
    }

    fn no_role(name: &str) -> IamError {
        IamError::NotFound(format!("role {name}"))
    }
}

impl Iam for MemoryIam {
    async fn get_role(&self, role: &str) -> Result<Option<RoleState>, IamError> {
        self.call("GetRole")?;
        Ok(self.with(|s| {
            s.roles.get(role).map(|r| RoleState {
                arn: r.arn.clone(),
                path: r.path.clone(),
                trust_policy: r.trust_policy.clone(),
                max_session_duration: r.max_session_duration,
                permissions_boundary: r.permissions_boundary.clone(),
                tags: r.tags.clone(),
            })
        }))
    }

    async fn attached_role_policies(&self, role: &str) -> Result<Vec<String>, IamError> {
        self.call("ListAttachedRolePolicies")?;
        self.with(|s| s.roles.get(role).map(|r| r.attached.clone()))
            .ok_or_else(|| Self::no_role(role))
    }

    async fn get_role_policy(&self, role: &str, name: &str) -> Result<Option<Value>, IamError> {
        self.call("GetRolePolicy")?;
        Ok(self.with(|s| s.roles.get(role).and_then(|r| r.inline.get(name).cloned())))
    }

    async fn role_policy_names(&self, role: &str) -> Result<Vec<String>, IamError> {
        self.call("ListRolePolicies")?;
        self.with(|s| {
            s.roles
                .get(role)
                .map(|r| r.inline.keys().cloned().collect())
        })
        .ok_or_else(|| Self::no_role(role))
    }

    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), IamError> {
        self.call("DetachRolePolicy")?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| Self::no_role(role))?;
            let before = r.attached.len();
            r.attached.retain(|a| a != arn);
            if r.attached.len() == before {
                return Err(IamError::NotFound(format!("{arn} on {role}")));
            }
            Ok(())
        })
    }

    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), IamError> {
        self.call("DeleteRolePolicy")?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| Self::no_role(role))?;
            r.inline
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| IamError::NotFound(format!("{name} on {role}")))
        })
    }

    async fn put_role_policy(
        &self,
        role: &str,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.call("PutRolePolicy")?;
        let doc = crate::policy::decode(document)
            .map_err(|e| IamError::Other(format!("MalformedPolicyDocument: {e}")))?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| Self::no_role(role))?;
            r.inline.insert(name.to_owned(), doc);
            Ok(())
        })
    }

    async fn update_assume_role_policy(&self, role: &str, document: &str) -> Result<(), IamError> {
        self.call("UpdateAssumeRolePolicy")?;
        let doc = crate::policy::decode(document)
            .map_err(|e| IamError::Other(format!("MalformedPolicyDocument: {e}")))?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| Self::no_role(role))?;
            r.trust_policy = doc;
            Ok(())
        })
    }

    async fn update_max_session_duration(&self, role: &str, seconds: u32) -> Result<(), IamError> {
        self.call("UpdateRole")?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| Self::no_role(role))?;
            r.max_session_duration = seconds;
            Ok(())
        })
    }

    async fn put_role_permissions_boundary(&self, role: &str, arn: &str) -> Result<(), IamError> {
        self.call("PutRolePermissionsBoundary")?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| Self::no_role(role))?;
            r.permissions_boundary = Some(arn.to_owned());
            Ok(())
        })
    }

    async fn tag_role(&self, role: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        self.call("TagRole")?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| Self::no_role(role))?;
            for (k, v) in tags {
                // Tag keys are unique regardless of case.
                r.tags.retain(|old, _| !old.eq_ignore_ascii_case(k));
                r.tags.insert(k.clone(), v.clone());
            }
            Ok(())
        })
    }

    async fn policy_versions(&self, arn: &str) -> Result<Option<Vec<PolicyVersion>>, IamError> {
        self.call("ListPolicyVersions")?;
        Ok(self.with(|s| {
            s.policies.get(arn).map(|p| {
                p.versions
                    .iter()
                    .map(|(id, _, default, created)| PolicyVersion {
                        version_id: id.clone(),
                        is_default: *default,
                        created: *created,
                    })
                    .collect()
            })
        }))
    }

    async fn policy_document(
        &self,
        arn: &str,
        version: Option<&str>,
    ) -> Result<Option<String>, IamError> {
        if version.is_none() {
            self.call("GetPolicy")?;
        }
        self.call("GetPolicyVersion")?;
        if crate::catalog::is_aws_managed_arn(arn) {
            return Ok(crate::catalog::managed_policy(arn).map(|m| m.document.to_owned()));
        }
        Ok(self.with(|s| {
            let p = s.policies.get(arn)?;
            p.versions
                .iter()
                .find(|(id, _, default, _)| match version {
                    Some(v) => id == v,
                    None => *default,
                })
                .map(|(_, doc, _, _)| doc.to_string())
        }))
    }

    async fn policy_holders(&self, arn: &str) -> Result<Vec<String>, IamError> {
        self.call("ListEntitiesForPolicy")?;
        Ok(self.with(|s| {
            let roles = s
                .roles
                .iter()
                .filter(|(_, r)| r.attached.iter().any(|a| a == arn))
                .map(|(n, _)| format!("role {n}"));
            let users = s
                .users
                .iter()
                .filter(|(_, u)| u.attached.iter().any(|a| a == arn))
                .map(|(n, _)| format!("user {n}"));
            let groups = s
                .groups
                .iter()
                .filter(|(_, g)| g.attached.iter().any(|a| a == arn))
                .map(|(n, _)| format!("group {n}"));
            roles.chain(users).chain(groups).collect()
        }))
    }

    async fn get_user(&self, user: &str) -> Result<Option<UserState>, IamError> {
        self.call("GetUser")?;
        Ok(self.with(|s| {
            s.users.get(user).map(|u| UserState {
                arn: u.arn.clone(),
                path: "/".into(),
                permissions_boundary: u.permissions_boundary.clone(),
                tags: u.tags.clone(),
                groups: u.groups.clone(),
            })
        }))
    }

    async fn entity_policies(
        &self,
        entity: Entity,
        name: &str,
    ) -> Result<Option<EntityPolicies>, IamError> {
        self.call(match entity {
            Entity::Group => "GetGroup",
            _ => "GetUser",
        })?;
        Ok(self.holder(entity, name).map(|h| EntityPolicies {
            arn: h.arn,
            attached: h.attached,
            inline: h.inline.into_iter().collect(),
        }))
    }

    async fn detach_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        self.call(match entity {
            Entity::Group => "DetachGroupPolicy",
            _ => "DetachUserPolicy",
        })?;
        let mut found = false;
        self.change_holder(entity, name, |h| {
            found = h.attached.iter().any(|a| a == arn);
            h.attached.retain(|a| a != arn);
        });
        if found {
            Ok(())
        } else {
            Err(IamError::NotFound(format!("{arn} on {name}")))
        }
    }

    async fn delete_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        policy: &str,
    ) -> Result<(), IamError> {
        self.call(match entity {
            Entity::Group => "DeleteGroupPolicy",
            _ => "DeleteUserPolicy",
        })?;
        let mut found = false;
        self.change_holder(entity, name, |h| found = h.inline.remove(policy).is_some());
        if found {
            Ok(())
        } else {
            Err(IamError::NotFound(format!("{policy} of {name}")))
        }
    }

    async fn attach_policy(&self, entity: Entity, name: &str, arn: &str) -> Result<(), IamError> {
        self.call(match entity {
            Entity::Role => "AttachRolePolicy",
            Entity::User => "AttachUserPolicy",
            Entity::Group => "AttachGroupPolicy",
        })?;
        let arn = arn.to_string();
        match entity {
            Entity::Role => self.with(|s| {
                let r = s.roles.get_mut(name).ok_or_else(|| Self::no_role(name))?;
                if !r.attached.contains(&arn) {
                    r.attached.push(arn);
                }
                Ok(())
            }),
            _ => {
                self.change_holder(entity, name, |h| {
                    if !h.attached.contains(&arn) {
                        h.attached.push(arn);
                    }
                });
                Ok(())
            }
        }
    }

    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.call("RemoveUserFromGroup")?;
        self.change_holder(Entity::User, user, |h| h.groups.retain(|g| g != group));
        Ok(())
    }

    async fn put_user_permissions_boundary(&self, user: &str, arn: &str) -> Result<(), IamError> {
        self.call("PutUserPermissionsBoundary")?;
        self.change_holder(Entity::User, user, |h| {
            h.permissions_boundary = Some(arn.to_string())
        });
        Ok(())
    }

    async fn tag_user(&self, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        self.call("TagUser")?;
        self.change_holder(Entity::User, user, |h| {
            for (k, v) in tags {
                h.tags.retain(|old, _| !old.eq_ignore_ascii_case(k));
                h.tags.insert(k.clone(), v.clone());
            }
        });
        Ok(())
    }

    async fn set_default_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError> {
        self.call("SetDefaultPolicyVersion")?;
        self.with(|s| {
            let p = s
                .policies
                .get_mut(arn)
                .ok_or_else(|| IamError::NotFound(arn.to_owned()))?;
            if !p.versions.iter().any(|v| v.0 == version) {
                return Err(IamError::NotFound(format!("{arn} {version}")));
            }
            for v in &mut p.versions {
                v.2 = v.0 == version;
            }
            Ok(())
        })
    }

    async fn delete_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError> {
        self.call("DeletePolicyVersion")?;
        self.with(|s| {
            let p = s
                .policies
                .get_mut(arn)
                .ok_or_else(|| IamError::NotFound(arn.to_owned()))?;
            if p.versions.iter().any(|v| v.0 == version && v.2) {
                return Err(IamError::Other(
                    "DeleteConflict: the default version cannot be deleted".into(),
                ));
            }
            p.versions.retain(|v| v.0 != version);
            Ok(())
        })
    }

    async fn account_snapshot(&self) -> Result<AccountSnapshot, IamError> {
        self.call("GetAccountAuthorizationDetails")?;
        let latency = *lock(&self.page_latency);
        if let Some(latency) = latency {
            let items = self.with(|s| s.roles.len() + s.policies.len());
            let pages = u32::try_from(items.div_ceil(100).max(1)).unwrap_or(u32::MAX);
            tokio::time::sleep(latency * pages).await;
        }
        Ok(self.with(|s| AccountSnapshot {
            roles: s
                .roles
                .iter()
                .map(|(name, r)| RoleSnapshot {
                    name: name.clone(),
                    arn: r.arn.clone(),
                    path: r.path.clone(),
                    trust_policy: r.trust_policy.clone(),
                    max_session_duration: r.max_session_duration,
                    permissions_boundary: r.permissions_boundary.clone(),
                    attached: r.attached.clone(),
                    inline: r
                        .inline
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                })
                .collect(),
            policies: s
                .policies
                .iter()
                .filter_map(|(arn, p)| {
                    p.versions
                        .iter()
                        .find(|v| v.2)
                        .map(|v| (arn.clone(), v.1.clone()))
                })
                .collect::<HashMap<_, _>>(),
            requests: 1,
        }))
    }
}

impl MemoryIam {
    /// The account the IAM stands for.
    pub fn account(&self) -> &str {
        &self.account
    }
}

/// The audit table in memory, with DynamoDB's conditional claim: taken
/// unless there is no record, or one that failed, or one started longer
/// than the lease ago. It can be taken down ([`MemoryStore::set_down`]).
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<String, AuditRecord>>,
    baselines: Mutex<BTreeMap<(String, String), Baseline>>,
    /// Scan indexes by id, and the latest id.
    scans: Mutex<(BTreeMap<String, crate::audit::ScanIndex>, Option<String>)>,
    /// Scan results by (scan id, account).
    scan_results: Mutex<BTreeMap<(String, String), Value>>,
    down: AtomicBool,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// While down, every call fails as an unreachable table does.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The audit record of an event.
    pub fn record(&self, event_id: &str) -> Option<AuditRecord> {
        lock(&self.records).get(event_id).cloned()
    }

    /// Every audit record, by event id.
    pub fn records(&self) -> Vec<AuditRecord> {
        lock(&self.records).values().cloned().collect()
    }

    fn up(&self, what: &str) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError(format!(
                "{what}: ServiceUnavailable: the table cannot be reached"
            )));
        }
        Ok(())
    }

    fn update(&self, account: &str, role: &str, f: impl FnOnce(&mut Baseline)) {
        let mut b = lock(&self.baselines);
        let entry = b
            .entry((account.to_string(), role.to_string()))
            .or_insert_with(|| Baseline {
                trust_policy: None,
                inline_policies: BTreeMap::new(),
                role: None,
            });
        f(entry);
    }
}

/// A lock that a panicked holder does not make unusable (tests only read).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Store for MemoryStore {
    fn enabled(&self) -> bool {
        true
    }

    async fn claim(&self, record: &AuditRecord, now: i64) -> Result<Claim, StoreError> {
        self.up("claiming the event")?;
        let mut records = lock(&self.records);
        if let Some(held) = records.get(&record.event_id) {
            let stale = held.status == RecordStatus::Started
                && held.started_at < now - crate::audit::CLAIM_LEASE_SECS;
            if held.status != RecordStatus::Failed && !stale {
                return Ok(Claim::Taken {
                    status: held.status,
                    started_at: held.started_at,
                });
            }
        }
        records.insert(record.event_id.clone(), record.clone());
        Ok(Claim::Acquired)
    }

    async fn finish(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.up("completing the audit record")?;
        let mut records = lock(&self.records);
        // Only over our own claim: a record another invocation took over is theirs.
        match records.get(&record.event_id) {
            Some(held) if held.started_at == record.started_at => {
                records.insert(record.event_id.clone(), record.clone());
                Ok(())
            }
            _ => Err(StoreError(
                "completing the audit record: ConditionalCheckFailedException: the claim was taken over".into(),
            )),
        }
    }

    async fn baseline(&self, account: &str, role: &str) -> Result<Option<Baseline>, StoreError> {
        self.up("reading the role's baseline")?;
        Ok(lock(&self.baselines)
            .get(&(account.to_string(), role.to_string()))
            .cloned())
    }

    async fn save_baseline(
        &self,
        account: &str,
        role: &str,
        baseline: &Baseline,
    ) -> Result<(), StoreError> {
        self.up("saving the role's baseline")?;
        lock(&self.baselines).insert((account.to_string(), role.to_string()), baseline.clone());
        Ok(())
    }

    async fn save_trust_policy(
        &self,
        account: &str,
        role: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        self.up("saving the role's baseline")?;
        self.update(account, role, |b| b.trust_policy = Some(document.clone()));
        Ok(())
    }

    async fn save_role(
        &self,
        account: &str,
        role: &str,
        parts: &crate::snapshot::RoleParts,
    ) -> Result<(), StoreError> {
        self.up("saving the role's baseline")?;
        self.update(account, role, |b| b.role = Some(parts.clone()));
        Ok(())
    }

    async fn save_inline_policy(
        &self,
        account: &str,
        role: &str,
        name: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        self.up("saving the role's baseline")?;
        self.update(account, role, |b| {
            b.inline_policies.insert(name.to_string(), document.clone());
        });
        Ok(())
    }

    async fn save_scan(&self, index: &crate::audit::ScanIndex) -> Result<(), StoreError> {
        self.up("saving the scan's index")?;
        let mut scans = lock(&self.scans);
        scans.0.insert(index.scan_id.clone(), index.clone());
        scans.1 = Some(index.scan_id.clone());
        Ok(())
    }

    async fn save_scan_result(
        &self,
        scan_id: &str,
        account: &str,
        result: &Value,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        self.up("saving the account's scan result")?;
        lock(&self.scan_results).insert((scan_id.to_string(), account.to_string()), result.clone());
        Ok(())
    }

    async fn latest_scan(
        &self,
    ) -> Result<Option<(crate::audit::ScanIndex, Vec<Value>)>, StoreError> {
        self.up("reading the latest scan")?;
        let scans = lock(&self.scans);
        let Some(index) = scans.1.as_ref().and_then(|id| scans.0.get(id)).cloned() else {
            return Ok(None);
        };
        let results = lock(&self.scan_results);
        let found = index
            .accounts
            .iter()
            .filter_map(|a| results.get(&(index.scan_id.clone(), a.clone())).cloned())
            .collect();
        Ok(Some((index, found)))
    }
}

/// Alert channels that keep every alert they are given. A channel named in
/// [`RecordingChannels::failing`] reports a failed delivery.
#[derive(Debug, Default)]
pub struct RecordingChannels {
    alerts: Mutex<Vec<(Alert, String)>>,
    failing: Mutex<Vec<(&'static str, String)>>,
}

impl RecordingChannels {
    pub fn new() -> RecordingChannels {
        RecordingChannels::default()
    }

    /// From now on `channel` fails with `error`.
    pub fn failing(&self, channel: &'static str, error: &str) {
        lock(&self.failing).push((channel, error.to_string()));
    }

    /// Every alert delivered, with where its documents were said to be kept.
    pub fn alerts(&self) -> Vec<(Alert, String)> {
        lock(&self.alerts).clone()
    }
}

impl Channels for RecordingChannels {
    fn any(&self) -> bool {
        true
    }

    async fn deliver(&self, alert: &Alert, kept_in: &str) -> Vec<Delivery> {
        lock(&self.alerts).push((alert.clone(), kept_in.to_string()));
        let mut out = vec![Delivery {
            channel: "recording",
            result: Ok(()),
        }];
        for (channel, error) in lock(&self.failing).iter() {
            out.push(Delivery {
                channel,
                result: Err(error.clone()),
            });
        }
        out
    }
}

/// A clock the test sets and moves.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(now: i64) -> ManualClock {
        ManualClock(AtomicI64::new(now))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// In-memory IAM for several accounts, as the handler reaches them: the
/// function's own account and any member account it holds. An account it
/// does not hold cannot be reached (as a member account without the
/// remediation role).
#[derive(Debug, Clone)]
pub struct MemoryAccounts {
    own: String,
    accounts: BTreeMap<String, std::sync::Arc<MemoryIam>>,
    trails: BTreeMap<String, std::sync::Arc<MemoryTrail>>,
}

impl MemoryAccounts {
    /// The function's own account, held by `iam`.
    pub fn new(iam: std::sync::Arc<MemoryIam>) -> MemoryAccounts {
        let own = iam.account().to_string();
        MemoryAccounts {
            trails: BTreeMap::from([(own.clone(), Default::default())]),
            accounts: BTreeMap::from([(own.clone(), iam)]),
            own,
        }
    }

    /// A member account.
    pub fn with(mut self, iam: std::sync::Arc<MemoryIam>) -> MemoryAccounts {
        let account = iam.account().to_string();
        self.trails.entry(account.clone()).or_default();
        self.accounts.insert(account, iam);
        self
    }

    /// An account's CloudTrail history (empty unless given).
    pub fn trail_of(&self, account: &str) -> std::sync::Arc<MemoryTrail> {
        self.trails.get(account).cloned().unwrap_or_default()
    }

    /// Give an account this CloudTrail history.
    pub fn with_trail(mut self, account: &str, trail: std::sync::Arc<MemoryTrail>) -> Self {
        self.trails.insert(account.to_string(), trail);
        self
    }
}

/// CloudTrail's event history in memory, served as `LookupEvents` serves it:
/// the records of a region that name the resource (a role's ARN, in their
/// resources or as the `roleArn` they assumed) within the time range,
/// newest first, a page at a time. A region can be made to fail.
#[derive(Debug)]
pub struct MemoryTrail {
    state: Mutex<TrailState>,
}

#[derive(Debug)]
struct TrailState {
    records: BTreeMap<String, Vec<Value>>,
    page_size: usize,
    faults: BTreeMap<String, TrailError>,
    calls: Vec<(String, Option<String>)>,
}

impl Default for MemoryTrail {
    fn default() -> Self {
        MemoryTrail::with_page_size(50)
    }
}

impl MemoryTrail {
    /// Pages of `n` records (CloudTrail's are 50).
    pub fn with_page_size(n: usize) -> MemoryTrail {
        MemoryTrail {
            state: Mutex::new(TrailState {
                records: BTreeMap::new(),
                page_size: n.max(1),
                faults: BTreeMap::new(),
                calls: vec![],
            }),
        }
    }

    /// A CloudTrail record in `region`.
    pub fn record(&self, region: &str, record: Value) {
        lock(&self.state)
            .records
            .entry(region.to_string())
            .or_default()
            .push(record);
    }

    /// Every lookup in `region` fails with `e` (as after the SDK's retries).
    pub fn fail(&self, region: &str, e: TrailError) {
        lock(&self.state).faults.insert(region.to_string(), e);
    }

    /// The lookups made: region and page token.
    pub fn calls(&self) -> Vec<(String, Option<String>)> {
        lock(&self.state).calls.clone()
    }
}

impl Trail for MemoryTrail {
    async fn lookup_events(
        &self,
        region: &str,
        resource_name: &str,
        start: i64,
        end: i64,
        next_token: Option<&str>,
    ) -> Result<TrailPage, TrailError> {
        let mut s = lock(&self.state);
        s.calls
            .push((region.to_string(), next_token.map(str::to_owned)));
        if let Some(e) = s.faults.get(region) {
            return Err(e.clone());
        }
        let names = |r: &Value| {
            r.pointer("/requestParameters/roleArn")
                .and_then(Value::as_str)
                == Some(resource_name)
                || r.get("resources")
                    .and_then(Value::as_array)
                    .is_some_and(|rs| {
                        rs.iter()
                            .any(|x| x.get("ARN").and_then(Value::as_str) == Some(resource_name))
                    })
        };
        let time = |r: &Value| {
            r.get("eventTime")
                .and_then(Value::as_str)
                .and_then(crate::sessions::epoch)
        };
        let mut hits: Vec<&Value> = s
            .records
            .get(region)
            .map(|rs| {
                rs.iter()
                    .filter(|r| names(r) && time(r).is_some_and(|t| (start..=end).contains(&t)))
                    .collect()
            })
            .unwrap_or_default();
        hits.sort_by_key(|r| std::cmp::Reverse(time(r)));
        let from: usize = match next_token {
            Some(t) => t
                .parse()
                .map_err(|_| TrailError::Other(format!("InvalidNextTokenException: {t}")))?,
            None => 0,
        };
        let to = (from + s.page_size).min(hits.len());
        Ok(TrailPage {
            records: hits
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .map(|r| r.to_string())
                .collect(),
            next_token: (to < hits.len()).then(|| to.to_string()),
        })
    }
}

impl Accounts for MemoryAccounts {
    type Iam = std::sync::Arc<MemoryIam>;
    type Trail = std::sync::Arc<MemoryTrail>;
    async fn trail(&self, account: Option<&str>) -> Result<Self::Trail, IamError> {
        Ok(self.trail_of(account.unwrap_or(&self.own)))
    }
    async fn iam(&self, account: Option<&str>) -> Result<Self::Iam, IamError> {
        let account = account.unwrap_or(&self.own);
        self.accounts.get(account).cloned().ok_or_else(|| {
            IamError::Other(format!(
                "cannot assume the remediation role in account {account}: AccessDenied"
            ))
        })
    }
    async fn own_account(&self) -> Result<String, IamError> {
        Ok(self.own.clone())
    }
}

/// An organisation in memory: its accounts, how often they were read, and
/// a switch that makes reading them fail.
#[derive(Debug, Default)]
pub struct MemoryOrganization {
    accounts: Mutex<Vec<crate::ports::OrgAccount>>,
    reads: std::sync::atomic::AtomicUsize,
    down: AtomicBool,
}

impl MemoryOrganization {
    /// Active accounts with these ids.
    pub fn with_accounts<S: AsRef<str>>(ids: &[S]) -> MemoryOrganization {
        let org = MemoryOrganization::default();
        for id in ids {
            org.add(id.as_ref(), "ACTIVE");
        }
        org
    }

    pub fn add(&self, id: &str, status: &str) {
        lock(&self.accounts).push(crate::ports::OrgAccount {
            id: id.to_string(),
            name: format!("account-{id}"),
            status: status.to_string(),
        });
    }

    /// How many times the accounts were read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

impl crate::ports::Organization for MemoryOrganization {
    async fn accounts(&self) -> Result<Vec<crate::ports::OrgAccount>, crate::ports::OrgError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(crate::ports::OrgError(
                "Organizations ListAccounts: AccessDeniedException: You don't have permissions to access this resource.".into(),
            ));
        }
        Ok(lock(&self.accounts).clone())
    }
}

/// The scan's queue in memory: the messages waiting, each with how many
/// times it was received, and the dead-letter queue with each reason.
/// Messages are taken as Lambda's event-source mapping takes them
/// ([`MemoryQueue::receive`]).
#[derive(Debug, Default)]
pub struct MemoryQueue {
    state: Mutex<QueueState>,
    down: AtomicBool,
}

#[derive(Debug, Default)]
struct QueueState {
    next_id: u64,
    /// (message id, body, times received), in order.
    waiting: std::collections::VecDeque<(String, String, u32)>,
    /// Received, not yet deleted or returned.
    in_flight: BTreeMap<String, (String, u32)>,
    dead: Vec<(crate::ports::ScanJob, String, u32)>,
    requests: usize,
}

/// One message as the event-source mapping hands it to the function.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
}

impl MemoryQueue {
    pub fn new() -> MemoryQueue {
        MemoryQueue::default()
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Up to `max` waiting messages, now in flight.
    pub fn receive(&self, max: usize) -> Vec<Received> {
        let mut st = lock(&self.state);
        let mut out = Vec::new();
        while out.len() < max {
            let Some((id, body, count)) = st.waiting.pop_front() else {
                break;
            };
            let count = count + 1;
            out.push(Received {
                message_id: id.clone(),
                body: body.clone(),
                receive_count: count,
            });
            st.in_flight.insert(id, (body, count));
        }
        out
    }

    /// The function's answer for a batch: the failed messages go back to
    /// the queue, the others are deleted.
    pub fn settle(&self, batch: &[Received], failed: &[String]) {
        let mut st = lock(&self.state);
        for m in batch {
            if let Some((body, count)) = st.in_flight.remove(&m.message_id) {
                if failed.contains(&m.message_id) {
                    st.waiting.push_back((m.message_id.clone(), body, count));
                }
            }
        }
    }

    /// Put a raw message body on the queue (a malformed message, say).
    pub fn push_raw(&self, body: &str) -> String {
        let mut st = lock(&self.state);
        st.next_id += 1;
        let id = format!("m-{}", st.next_id);
        st.waiting.push_back((id.clone(), body.to_string(), 0));
        id
    }

    pub fn waiting(&self) -> usize {
        lock(&self.state).waiting.len()
    }

    /// The dead-letter queue: each job with its reason and attempts.
    pub fn dead_letters(&self) -> Vec<(crate::ports::ScanJob, String, u32)> {
        lock(&self.state).dead.clone()
    }

    /// Requests made to put messages (SendMessageBatch), as SQS would count them.
    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }
}

impl crate::ports::ScanQueue for MemoryQueue {
    async fn enqueue(
        &self,
        jobs: &[crate::ports::ScanJob],
    ) -> Result<usize, crate::ports::QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(crate::ports::QueueError(
                "SendMessageBatch: AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.".into(),
            ));
        }
        let mut st = lock(&self.state);
        let batches = jobs.len().div_ceil(10);
        st.requests += batches;
        for job in jobs {
            st.next_id += 1;
            let id = format!("m-{}", st.next_id);
            let body =
                serde_json::to_string(job).map_err(|e| crate::ports::QueueError(e.to_string()))?;
            st.waiting.push_back((id, body, 0));
        }
        Ok(batches)
    }

    async fn dead_letter(
        &self,
        job: &crate::ports::ScanJob,
        reason: &str,
        attempts: u32,
    ) -> Result<(), crate::ports::QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(crate::ports::QueueError(
                "SendMessage to the dead-letter queue: the queue cannot be reached".into(),
            ));
        }
        lock(&self.state)
            .dead
            .push((job.clone(), reason.to_string(), attempts));
        Ok(())
    }
}

/// A batch of messages as Lambda's event-source mapping for SQS hands it to
/// the function (the `Records` of an SQS event).
pub fn sqs_event(batch: &[Received], queue_arn: &str) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|m| {
            serde_json::json!({
                "messageId": m.message_id,
                "receiptHandle": format!("rh-{}-{}", m.message_id, m.receive_count),
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": m.receive_count.to_string(),
                    "SentTimestamp": "1795341600000",
                    "SenderId": "AROAEXAMPLE:roleguard",
                    "ApproximateFirstReceiveTimestamp": "1795341600000"
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}
