//! In-memory adapters: an IAM that holds roles and managed policies in
//! memory, records every call and fails on demand. They drive the engine
//! ([`crate::remediate`]) through faults, clocks and load in-process; the
//! AWS adapters are proven against a real API (moto) in the integration
//! tests.

use crate::remediate::{Iam, IamError, PolicyVersion, RoleState};
use crate::scan::{AccountSnapshot, RoleSnapshot};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
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

#[derive(Debug, Default)]
struct State {
    roles: BTreeMap<String, Role>,
    policies: BTreeMap<String, Managed>,
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
}

impl MemoryIam {
    pub fn new(account: &str) -> MemoryIam {
        MemoryIam {
            account: account.to_owned(),
            state: Mutex::default(),
            calls: Mutex::default(),
            faults: Mutex::default(),
        }
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
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Record a call; fail it when a fault says so.
    fn call(&self, name: &'static str) -> Result<(), IamError> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(name);
        }
        let Ok(mut faults) = self.faults.lock() else {
            return Ok(());
        };
        if let Some(f) = faults.iter_mut().find(|f| f.call == name && f.times > 0) {
            f.times -= 1;
            return Err(f.error.clone());
        }
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

    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, IamError> {
        self.call("ListEntitiesForPolicy")?;
        Ok(self.with(|s| {
            s.roles
                .iter()
                .filter(|(_, r)| r.attached.iter().any(|a| a == arn))
                .map(|(n, _)| n.clone())
                .collect()
        }))
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
