//! Wrappers that are themselves an [`Iam`]: one that counts calls, one that
//! reaches the account an event happened in.

use crate::ports::{
    Accounts, Entity, EntityPolicies, Iam, IamError, PolicyVersion, RoleState, Trail, TrailError,
    TrailPage, UserState,
};
use serde_json::Value;
use std::collections::BTreeMap;

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
        async fn policy_holders(&$s, arn: &str) -> Result<Vec<String>, IamError> {
            let $inner = $get;
            $inner.policy_holders(arn).await
        }
        async fn get_user(&$s, user: &str) -> Result<Option<UserState>, IamError> {
            let $inner = $get;
            $inner.get_user(user).await
        }
        async fn entity_policies(&$s, entity: Entity, name: &str) -> Result<Option<EntityPolicies>, IamError> {
            let $inner = $get;
            $inner.entity_policies(entity, name).await
        }
        async fn detach_entity_policy(&$s, entity: Entity, name: &str, arn: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.detach_entity_policy(entity, name, arn).await
        }
        async fn delete_entity_policy(&$s, entity: Entity, name: &str, policy: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.delete_entity_policy(entity, name, policy).await
        }
        async fn attach_policy(&$s, entity: Entity, name: &str, arn: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.attach_policy(entity, name, arn).await
        }
        async fn remove_user_from_group(&$s, user: &str, group: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.remove_user_from_group(user, group).await
        }
        async fn put_user_permissions_boundary(&$s, user: &str, arn: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.put_user_permissions_boundary(user, arn).await
        }
        async fn tag_user(&$s, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
            let $inner = $get;
            $inner.tag_user(user, tags).await
        }
        async fn set_default_policy_version(&$s, arn: &str, version: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.set_default_policy_version(arn, version).await
        }
        async fn delete_policy_version(&$s, arn: &str, version: &str) -> Result<(), IamError> {
            let $inner = $get;
            $inner.delete_policy_version(arn, version).await
        }
        async fn account_snapshot(&$s) -> Result<crate::snapshot::AccountSnapshot, IamError> {
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
    trail: tokio::sync::OnceCell<A::Trail>,
}

impl<'a, A: Accounts> InAccount<'a, A> {
    pub fn new(accounts: &'a A, account: Option<&'a str>) -> InAccount<'a, A> {
        InAccount {
            accounts,
            account,
            iam: tokio::sync::OnceCell::new(),
            trail: tokio::sync::OnceCell::new(),
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

/// CloudTrail in the same account, reached only when first asked.
impl<A: Accounts> Trail for InAccount<'_, A> {
    async fn lookup_events(
        &self,
        region: &str,
        resource_name: &str,
        start: i64,
        end: i64,
        next_token: Option<&str>,
    ) -> Result<TrailPage, TrailError> {
        let trail = self
            .trail
            .get_or_try_init(|| self.accounts.trail(self.account))
            .await
            .map_err(|e| TrailError::Other(e.to_string()))?;
        trail
            .lookup_events(region, resource_name, start, end, next_token)
            .await
    }
}

/// A shared IAM is an IAM (the in-memory accounts hand these out).
impl<I: Iam> Iam for std::sync::Arc<I> {
    forward_iam!(self, inner => self.as_ref());
}
