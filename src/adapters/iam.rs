//! IAM through the AWS SDK, behind [`crate::ports::Iam`]. IAM returns policy
//! documents URL-encoded; they are decoded here. Throttling and 5xx answers
//! are retried with exponential backoff and jitter ([`super::retry_config`]).

use crate::policy;
use crate::ports::{
    Accounts, Entity, EntityPolicies, Iam, IamError, PolicyVersion, RoleState, UserState,
};
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// IAM through the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsIam {
    client: Client,
}

impl AwsIam {
    pub fn new(client: Client) -> AwsIam {
        AwsIam { client }
    }

    /// A client from the environment's configuration (credentials, region,
    /// `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> AwsIam {
        AwsIam::new(Client::new(&super::sdk_config().await))
    }
}

/// One account's IAM, with the credentials roleguard itself runs with.
impl Accounts for AwsIam {
    type Iam = AwsIam;
    type Trail = crate::ports::NoTrail;
    async fn iam(&self, _account: Option<&str>) -> Result<AwsIam, IamError> {
        Ok(self.clone())
    }
    async fn trail(&self, _account: Option<&str>) -> Result<Self::Trail, IamError> {
        Ok(crate::ports::NoTrail)
    }
    async fn own_account(&self) -> Result<String, IamError> {
        Err(IamError::Other(
            "a bare IAM client does not know its account: name it".into(),
        ))
    }
}

pub(super) fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(e: E) -> IamError {
    match e.code() {
        Some("NoSuchEntity") => {
            IamError::NotFound(e.message().unwrap_or("no such entity").to_string())
        }
        Some(code) => IamError::Other(format!("{code}: {}", e.message().unwrap_or(""))),
        // No code: a response that is not IAM's (a proxy's error page), a
        // timeout, a connection refused: the error and its causes.
        None => IamError::Other(super::source_chain(&e)),
    }
}

/// `Ok(None)` for NoSuchEntity.
fn found<T>(r: Result<T, IamError>) -> Result<Option<T>, IamError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(IamError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn decoded(text: &str) -> Value {
    policy::decode(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

impl Iam for AwsIam {
    async fn get_role(&self, role: &str) -> Result<Option<RoleState>, IamError> {
        let out = found(
            self.client
                .get_role()
                .role_name(role)
                .send()
                .await
                .map_err(error),
        )?;
        let Some(role) = out.and_then(|o| o.role) else {
            return Ok(None);
        };
        Ok(Some(RoleState {
            arn: role.arn().to_string(),
            path: role.path().to_string(),
            trust_policy: role
                .assume_role_policy_document()
                .map(decoded)
                .unwrap_or(Value::Null),
            max_session_duration: role.max_session_duration().unwrap_or(3600).max(0) as u32,
            permissions_boundary: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
            tags: role
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        }))
    }

    async fn attached_role_policies(&self, role: &str) -> Result<Vec<String>, IamError> {
        let mut arns = Vec::new();
        let mut pages = self
            .client
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(error)?;
            arns.extend(
                page.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
        }
        Ok(arns)
    }

    async fn get_role_policy(&self, role: &str, name: &str) -> Result<Option<Value>, IamError> {
        let out = found(
            self.client
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .map_err(error),
        )?;
        Ok(out.map(|o| decoded(o.policy_document())))
    }

    async fn role_policy_names(&self, role: &str) -> Result<Vec<String>, IamError> {
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(error)?;
            names.extend(page.policy_names().iter().cloned());
        }
        Ok(names)
    }

    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), IamError> {
        self.client
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), IamError> {
        self.client
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn put_role_policy(
        &self,
        role: &str,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.client
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn update_assume_role_policy(&self, role: &str, document: &str) -> Result<(), IamError> {
        self.client
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(document)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn update_max_session_duration(&self, role: &str, seconds: u32) -> Result<(), IamError> {
        self.client
            .update_role()
            .role_name(role)
            .max_session_duration(seconds as i32)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn put_role_permissions_boundary(&self, role: &str, arn: &str) -> Result<(), IamError> {
        self.client
            .put_role_permissions_boundary()
            .role_name(role)
            .permissions_boundary(arn)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn tag_role(&self, role: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        let tags = tags
            .iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| IamError::Other(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .tag_role()
            .role_name(role)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn policy_versions(&self, arn: &str) -> Result<Option<Vec<PolicyVersion>>, IamError> {
        let out = found(
            self.client
                .list_policy_versions()
                .policy_arn(arn)
                .send()
                .await
                .map_err(error),
        )?;
        Ok(out.map(|o| {
            o.versions()
                .iter()
                .map(|v| PolicyVersion {
                    version_id: v.version_id().unwrap_or_default().to_string(),
                    is_default: v.is_default_version(),
                    created: v.create_date().map_or(0, |d| d.secs()),
                })
                .collect()
        }))
    }

    async fn policy_document(
        &self,
        arn: &str,
        version: Option<&str>,
    ) -> Result<Option<String>, IamError> {
        let version = match version {
            Some(v) => v.to_string(),
            None => {
                let Some(p) = found(
                    self.client
                        .get_policy()
                        .policy_arn(arn)
                        .send()
                        .await
                        .map_err(error),
                )?
                else {
                    return Ok(None);
                };
                match p.policy().and_then(|p| p.default_version_id()) {
                    Some(v) => v.to_string(),
                    None => return Ok(None),
                }
            }
        };
        let out = found(
            self.client
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(error),
        )?;
        Ok(out
            .and_then(|o| o.policy_version)
            .and_then(|v| v.document)
            .map(|d| match policy::decode(&d) {
                Ok(v) => v.to_string(),
                Err(_) => d,
            }))
    }

    async fn policy_holders(&self, arn: &str) -> Result<Vec<String>, IamError> {
        let mut holders = Vec::new();
        let mut pages = self
            .client
            .list_entities_for_policy()
            .policy_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(error)?;
            let names = |kind: &str, names: Vec<Option<&str>>| -> Vec<String> {
                names
                    .into_iter()
                    .flatten()
                    .map(|n| format!("{kind} {n}"))
                    .collect()
            };
            holders.extend(names(
                "role",
                page.policy_roles().iter().map(|r| r.role_name()).collect(),
            ));
            holders.extend(names(
                "user",
                page.policy_users().iter().map(|u| u.user_name()).collect(),
            ));
            holders.extend(names(
                "group",
                page.policy_groups()
                    .iter()
                    .map(|g| g.group_name())
                    .collect(),
            ));
        }
        Ok(holders)
    }

    async fn get_user(&self, user: &str) -> Result<Option<UserState>, IamError> {
        let out = found(
            self.client
                .get_user()
                .user_name(user)
                .send()
                .await
                .map_err(error),
        )?;
        let Some(u) = out.and_then(|o| o.user) else {
            return Ok(None);
        };
        let mut groups = Vec::new();
        let mut pages = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(error)?;
            groups.extend(page.groups().iter().map(|g| g.group_name().to_string()));
        }
        Ok(Some(UserState {
            arn: u.arn().to_string(),
            path: u.path().to_string(),
            permissions_boundary: u
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
            tags: u
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            groups,
        }))
    }

    async fn entity_policies(
        &self,
        entity: Entity,
        name: &str,
    ) -> Result<Option<EntityPolicies>, IamError> {
        let c = &self.client;
        let mut out = EntityPolicies::default();
        let mut names: Vec<String> = Vec::new();
        match entity {
            Entity::User => {
                let Some(u) = found(c.get_user().user_name(name).send().await.map_err(error))?
                    .and_then(|o| o.user)
                else {
                    return Ok(None);
                };
                out.arn = u.arn().to_string();
                let mut pages = c
                    .list_attached_user_policies()
                    .user_name(name)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(error)?;
                    out.attached.extend(
                        page.attached_policies()
                            .iter()
                            .filter_map(|p| p.policy_arn().map(str::to_string)),
                    );
                }
                let mut pages = c
                    .list_user_policies()
                    .user_name(name)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    names.extend(page.map_err(error)?.policy_names().iter().cloned());
                }
                for n in names {
                    if let Some(p) = found(
                        c.get_user_policy()
                            .user_name(name)
                            .policy_name(&n)
                            .send()
                            .await
                            .map_err(error),
                    )? {
                        out.inline.push((n, decoded(p.policy_document())));
                    }
                }
            }
            Entity::Group => {
                let Some(g) = found(c.get_group().group_name(name).send().await.map_err(error))?
                    .and_then(|o| o.group)
                else {
                    return Ok(None);
                };
                out.arn = g.arn().to_string();
                let mut pages = c
                    .list_attached_group_policies()
                    .group_name(name)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(error)?;
                    out.attached.extend(
                        page.attached_policies()
                            .iter()
                            .filter_map(|p| p.policy_arn().map(str::to_string)),
                    );
                }
                let mut pages = c
                    .list_group_policies()
                    .group_name(name)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    names.extend(page.map_err(error)?.policy_names().iter().cloned());
                }
                for n in names {
                    if let Some(p) = found(
                        c.get_group_policy()
                            .group_name(name)
                            .policy_name(&n)
                            .send()
                            .await
                            .map_err(error),
                    )? {
                        out.inline.push((n, decoded(p.policy_document())));
                    }
                }
            }
            Entity::Role => {
                return Err(IamError::Other(
                    "a role's policies are read with the role calls".into(),
                ))
            }
        }
        Ok(Some(out))
    }

    async fn detach_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        let c = &self.client;
        match entity {
            Entity::User => c
                .detach_user_policy()
                .user_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(error),
            Entity::Group => c
                .detach_group_policy()
                .group_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(error),
            Entity::Role => self.detach_role_policy(name, arn).await,
        }
    }

    async fn delete_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        policy: &str,
    ) -> Result<(), IamError> {
        let c = &self.client;
        match entity {
            Entity::User => c
                .delete_user_policy()
                .user_name(name)
                .policy_name(policy)
                .send()
                .await
                .map(|_| ())
                .map_err(error),
            Entity::Group => c
                .delete_group_policy()
                .group_name(name)
                .policy_name(policy)
                .send()
                .await
                .map(|_| ())
                .map_err(error),
            Entity::Role => self.delete_role_policy(name, policy).await,
        }
    }

    async fn attach_policy(&self, entity: Entity, name: &str, arn: &str) -> Result<(), IamError> {
        let c = &self.client;
        match entity {
            Entity::Role => c
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(error),
            Entity::User => c
                .attach_user_policy()
                .user_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(error),
            Entity::Group => c
                .attach_group_policy()
                .group_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(error),
        }
    }

    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.client
            .remove_user_from_group()
            .user_name(user)
            .group_name(group)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn put_user_permissions_boundary(&self, user: &str, arn: &str) -> Result<(), IamError> {
        self.client
            .put_user_permissions_boundary()
            .user_name(user)
            .permissions_boundary(arn)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn tag_user(&self, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        let tags: Result<Vec<Tag>, _> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .tag_user()
            .user_name(user)
            .set_tags(Some(tags.map_err(|e| IamError::Other(e.to_string()))?))
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn set_default_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError> {
        self.client
            .set_default_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn delete_policy_version(&self, arn: &str, version: &str) -> Result<(), IamError> {
        self.client
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    /// ListRoles for the session lengths, GetAccountAuthorizationDetails for
    /// the rest: both paginated at 1,000 items, so an account of N roles and P
    /// customer managed policies takes about 2 + N/1000 + P/1000 requests.
    async fn account_snapshot(&self) -> Result<crate::snapshot::AccountSnapshot, IamError> {
        use aws_sdk_iam::types::EntityType;
        let mut snapshot = crate::snapshot::AccountSnapshot::default();
        let mut sessions = HashMap::new();
        let mut pages = self
            .client
            .list_roles()
            .max_items(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            snapshot.requests += 1;
            for r in page.map_err(error)?.roles() {
                sessions.insert(
                    r.role_name().to_string(),
                    r.max_session_duration().unwrap_or(3600).max(0) as u32,
                );
            }
        }
        let mut pages = self
            .client
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .max_items(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            snapshot.requests += 1;
            let page = page.map_err(error)?;
            for r in page.role_detail_list() {
                let name = r.role_name().unwrap_or_default().to_string();
                snapshot.roles.push(crate::snapshot::RoleSnapshot {
                    arn: r.arn().unwrap_or_default().to_string(),
                    path: r.path().unwrap_or("/").to_string(),
                    trust_policy: r
                        .assume_role_policy_document()
                        .map(decoded)
                        .unwrap_or(Value::Null),
                    max_session_duration: sessions.get(&name).copied().unwrap_or(3600),
                    permissions_boundary: r
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                    attached: r
                        .attached_managed_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn().map(str::to_string))
                        .collect(),
                    inline: r
                        .role_policy_list()
                        .iter()
                        .map(|p| {
                            (
                                p.policy_name().unwrap_or_default().to_string(),
                                p.policy_document().map(decoded).unwrap_or(Value::Null),
                            )
                        })
                        .collect(),
                    name,
                });
            }
            for p in page.policies() {
                let default = p
                    .policy_version_list()
                    .iter()
                    .find(|v| v.is_default_version())
                    .and_then(|v| v.document());
                if let (Some(arn), Some(doc)) = (p.arn(), default) {
                    snapshot.policies.insert(arn.to_string(), decoded(doc));
                }
            }
        }
        Ok(snapshot)
    }
}
