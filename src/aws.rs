//! The AWS SDK behind [`crate::remediate::Iam`] and [`Accounts`].
//!
//! IAM returns policy documents URL-encoded; they are decoded here. Throttling
//! and 5xx answers are retried with exponential backoff and jitter
//! ([`retry_config`]).

use crate::policy;
use crate::remediate::{self, Accounts, Iam, IamError, PolicyVersion, RoleState};
use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How IAM calls are retried: throttling (IAM's account-wide limits are
/// low, and a burst of changes meets them), 5xx and transient network errors,
/// up to 6 attempts with exponential backoff and jitter from 200 ms, each
/// wait at most 10 s.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(10))
}

/// The SDK configuration from the environment (credentials, region,
/// `AWS_ENDPOINT_URL`), with roleguard's retry policy.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(retry_config())
        .load()
        .await
}

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
        AwsIam::new(Client::new(&sdk_config().await))
    }
}

/// The value of an SSM parameter (a SecureString is decrypted).
pub async fn ssm_parameter(config: &SdkConfig, name: &str) -> Result<String, String> {
    let out = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| match e.code() {
            Some("ParameterNotFound") => format!("SSM parameter {name} does not exist"),
            Some(code) => format!(
                "SSM parameter {name}: {code}: {}",
                e.message().unwrap_or("")
            ),
            None => format!("SSM parameter {name}: {}", source_chain(&e)),
        })?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .ok_or_else(|| format!("SSM parameter {name} has no value"))
}

/// One account's IAM, with the credentials roleguard itself runs with.
impl Accounts for AwsIam {
    type Iam = AwsIam;
    async fn iam(&self, _account: Option<&str>) -> Result<AwsIam, IamError> {
        Ok(self.clone())
    }
    async fn own_account(&self) -> Result<String, IamError> {
        Err(IamError::Other(
            "a bare IAM client does not know its account: name it".into(),
        ))
    }
}

/// How roleguard reaches member accounts from a central account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccess {
    /// The remediation role's name in every member account (a path may lead it).
    pub role_name: String,
    /// The `sts:ExternalId` its trust policy requires.
    pub external_id: Option<String>,
}

impl MemberAccess {
    /// From `ROLEGUARD_REMEDIATION_ROLE` and `ROLEGUARD_EXTERNAL_ID`; `None`
    /// when no remediation role is named (a single-account deployment).
    pub fn from_env_values(role: Option<&str>, external_id: Option<&str>) -> Option<MemberAccess> {
        let role = role.map(str::trim).filter(|r| !r.is_empty())?;
        Some(MemberAccess {
            role_name: role.trim_matches('/').to_string(),
            external_id: external_id
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string),
        })
    }
}

/// IAM in the function's own account, and in member accounts through their
/// remediation role: AssumeRole with the ExternalId and a session policy that
/// allows only the remediation calls ([`remediate::session_policy`]). One client
/// per account is kept for the container's life; its credentials are reused
/// until they near expiry, then refreshed.
pub struct AwsAccounts {
    config: SdkConfig,
    home: AwsIam,
    own: OnceLock<String>,
    member: Option<MemberAccess>,
    members: Mutex<HashMap<String, AwsIam>>,
}

impl AwsAccounts {
    pub fn new(config: SdkConfig, member: Option<MemberAccess>) -> AwsAccounts {
        AwsAccounts {
            home: AwsIam::new(Client::new(&config)),
            config,
            own: OnceLock::new(),
            member,
            members: Mutex::new(HashMap::new()),
        }
    }

    /// From the environment: the SDK configuration, `ROLEGUARD_REMEDIATION_ROLE`
    /// and `ROLEGUARD_EXTERNAL_ID`.
    pub async fn from_env() -> AwsAccounts {
        let var = |k: &str| std::env::var(k).ok();
        AwsAccounts::new(
            sdk_config().await,
            MemberAccess::from_env_values(
                var("ROLEGUARD_REMEDIATION_ROLE").as_deref(),
                var("ROLEGUARD_EXTERNAL_ID").as_deref(),
            ),
        )
    }

    /// The account roleguard runs in, when known without a call (the Lambda
    /// reads it from its own function ARN). Otherwise it is asked of STS
    /// (GetCallerIdentity) the first time a member account is reached.
    pub fn set_own_account(&self, account: &str) {
        if !account.is_empty() {
            let _ = self.own.set(account.to_string());
        }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn member_access(&self) -> Option<&MemberAccess> {
        self.member.as_ref()
    }

    async fn own(&self) -> Result<String, IamError> {
        if let Some(own) = self.own.get() {
            return Ok(own.clone());
        }
        let out = aws_sdk_sts::Client::new(&self.config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| IamError::Other(format!("STS GetCallerIdentity: {}", error(e))))?;
        let account = out
            .account()
            .ok_or_else(|| IamError::Other("STS GetCallerIdentity named no account".into()))?;
        Ok(self.own.get_or_init(|| account.to_string()).clone())
    }
}

impl Accounts for AwsAccounts {
    type Iam = AwsIam;

    async fn own_account(&self) -> Result<String, IamError> {
        self.own().await
    }

    async fn iam(&self, account: Option<&str>) -> Result<AwsIam, IamError> {
        let Some(account) = account.filter(|a| !a.is_empty()) else {
            return Ok(self.home.clone());
        };
        let Some(member) = &self.member else {
            return match self.own.get() {
                Some(own) if own != account => Err(IamError::Other(format!(
                    "the change is in account {account}, roleguard runs in {own}, and no \
                     remediation role is configured (ROLEGUARD_REMEDIATION_ROLE)"
                ))),
                _ => Ok(self.home.clone()),
            };
        };
        if self.own().await? == account {
            return Ok(self.home.clone());
        }
        if let Some(iam) = self
            .members
            .lock()
            .ok()
            .and_then(|m| m.get(account).cloned())
        {
            return Ok(iam);
        }
        let role_arn = remediate::remediation_role_arn(account, &member.role_name);
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role_arn)
            .session_name(remediate::SESSION_NAME)
            .policy(remediate::session_policy(account).to_string())
            .configure(&self.config);
        if let Some(id) = &member.external_id {
            provider = provider.external_id(id);
        }
        let provider = provider.build().await;
        // Assume the role now, so that a role that cannot be assumed is reported
        // as such rather than as a failed IAM call.
        use aws_sdk_iam::config::ProvideCredentials as _;
        provider.provide_credentials().await.map_err(|e| {
            IamError::Other(format!("cannot assume {role_arn}: {}", source_chain(&e)))
        })?;
        let conf = aws_sdk_iam::config::Builder::from(&self.config)
            .credentials_provider(provider)
            .build();
        let iam = AwsIam::new(Client::from_conf(conf));
        if let Ok(mut m) = self.members.lock() {
            m.insert(account.to_string(), iam.clone());
        }
        Ok(iam)
    }
}

/// An error and its sources, on one line.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s += &format!(": {c}");
        cur = c.source();
    }
    s
}

fn error<E: ProvideErrorMetadata + std::fmt::Debug>(e: E) -> IamError {
    match e.code() {
        Some("NoSuchEntity") => {
            IamError::NotFound(e.message().unwrap_or("no such entity").to_string())
        }
        Some(code) => IamError::Other(format!("{code}: {}", e.message().unwrap_or(""))),
        None => IamError::Other(format!("{e:?}")),
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

    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, IamError> {
        let mut roles = Vec::new();
        let mut pages = self
            .client
            .list_entities_for_policy()
            .policy_arn(arn)
            .entity_filter(aws_sdk_iam::types::EntityType::Role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(error)?;
            roles.extend(
                page.policy_roles()
                    .iter()
                    .filter_map(|r| r.role_name().map(str::to_string)),
            );
        }
        Ok(roles)
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
    async fn account_snapshot(&self) -> Result<crate::scan::AccountSnapshot, IamError> {
        use aws_sdk_iam::types::EntityType;
        let mut snapshot = crate::scan::AccountSnapshot::default();
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
                snapshot.roles.push(crate::scan::RoleSnapshot {
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

/// The audit table in DynamoDB ([`crate::audit`]): one item per event
/// (`pk = event#<id>`) and one per role (`pk = role#<account>#<name>`), with
/// the TTL attribute `expires_at` on the events. Without a table name, nothing
/// is kept.
pub struct DynamoStore {
    /// The client and the table, when a table is configured.
    table: Option<(aws_sdk_dynamodb::Client, String)>,
}

/// The attribute that holds an inline policy's baseline, by policy name.
const INLINE_PREFIX: &str = "inline:";

impl DynamoStore {
    pub fn new(config: &SdkConfig, table: Option<String>) -> DynamoStore {
        DynamoStore {
            table: table
                .filter(|t| !t.trim().is_empty())
                .map(|t| (aws_sdk_dynamodb::Client::new(config), t)),
        }
    }

    /// The table `ROLEGUARD_TABLE` names, if any.
    pub fn from_env(config: &SdkConfig) -> DynamoStore {
        DynamoStore::new(config, std::env::var("ROLEGUARD_TABLE").ok())
    }

    fn table(&self) -> Result<(&aws_sdk_dynamodb::Client, &str), StoreError> {
        self.table
            .as_ref()
            .map(|(c, t)| (c, t.as_str()))
            .ok_or_else(|| StoreError("no table is configured".into()))
    }
}

use crate::audit::{AuditRecord, Baseline, Claim, RecordStatus, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue as Attr;

fn store_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
) -> impl Fn(E) -> StoreError + '_ {
    move |e| {
        StoreError(match e.code() {
            Some(code) => format!("{what}: {code}: {}", e.message().unwrap_or("")),
            None => format!("{what}: {}", source_chain(&e)),
        })
    }
}

fn record_item(r: &AuditRecord) -> HashMap<String, Attr> {
    let mut item = HashMap::from([
        (
            "pk".to_string(),
            Attr::S(crate::audit::event_key(&r.event_id)),
        ),
        ("event_id".to_string(), Attr::S(r.event_id.clone())),
        ("status".to_string(), Attr::S(r.status.as_str().into())),
        ("started_at".to_string(), Attr::N(r.started_at.to_string())),
        ("expires_at".to_string(), Attr::N(r.expires_at.to_string())),
        ("detail".to_string(), Attr::S(r.detail.to_string())),
    ]);
    if let Some(a) = &r.account {
        item.insert("account".into(), Attr::S(a.clone()));
    }
    if let Some(t) = &r.event_time {
        item.insert("event_time".into(), Attr::S(t.clone()));
    }
    if let Some(role) = &r.role_name {
        item.insert("role_name".into(), Attr::S(role.clone()));
    }
    item
}

impl Store for DynamoStore {
    fn enabled(&self) -> bool {
        self.table.is_some()
    }

    async fn claim(&self, record: &AuditRecord, now: i64) -> Result<Claim, StoreError> {
        let (client, table) = self.table()?;
        // Taken unless: no record yet, one that failed, or one started longer
        // than the lease ago (its invocation died).
        let put = client
            .put_item()
            .table_name(table)
            .set_item(Some(record_item(record)))
            .condition_expression(
                "attribute_not_exists(pk) OR #s = :failed OR (#s = :started AND started_at < :stale)",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":failed", Attr::S("failed".into()))
            .expression_attribute_values(":started", Attr::S("started".into()))
            .expression_attribute_values(
                ":stale",
                Attr::N((now - crate::audit::CLAIM_LEASE_SECS).to_string()),
            )
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                let item = client
                    .get_item()
                    .table_name(table)
                    .key("pk", Attr::S(crate::audit::event_key(&record.event_id)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(store_error("reading the audit record"))?
                    .item
                    .unwrap_or_default();
                let status = item
                    .get("status")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| RecordStatus::parse(s))
                    .unwrap_or(RecordStatus::Started);
                let started_at = item
                    .get("started_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                Ok(Claim::Taken { status, started_at })
            }
            Err(e) => Err(store_error("claiming the event")(e)),
        }
    }

    async fn finish(&self, record: &AuditRecord) -> Result<(), StoreError> {
        // Only over our own claim: a record another invocation took over is theirs.
        let (client, table) = self.table()?;
        client
            .put_item()
            .table_name(table)
            .set_item(Some(record_item(record)))
            .condition_expression("started_at = :ours")
            .expression_attribute_values(":ours", Attr::N(record.started_at.to_string()))
            .send()
            .await
            .map_err(store_error("completing the audit record"))?;
        Ok(())
    }

    async fn baseline(&self, account: &str, role: &str) -> Result<Option<Baseline>, StoreError> {
        let (client, table) = self.table()?;
        let out = client
            .get_item()
            .table_name(table)
            .key("pk", Attr::S(crate::audit::role_key(account, role)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error("reading the role's baseline"))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let doc = |v: &Attr| v.as_s().ok().and_then(|s| serde_json::from_str(s).ok());
        Ok(Some(Baseline {
            role: item
                .get(ROLE_PARTS)
                .and_then(|v| v.as_s().ok())
                .and_then(|s| serde_json::from_str(s).ok()),
            trust_policy: item.get("trust_policy").and_then(doc),
            inline_policies: item
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(INLINE_PREFIX)?.to_string(), doc(v)?)))
                .collect(),
        }))
    }

    async fn save_baseline(
        &self,
        account: &str,
        role: &str,
        baseline: &Baseline,
    ) -> Result<(), StoreError> {
        let mut item = HashMap::from([(
            "pk".to_string(),
            Attr::S(crate::audit::role_key(account, role)),
        )]);
        if let Some(t) = &baseline.trust_policy {
            item.insert("trust_policy".into(), Attr::S(t.to_string()));
        }
        for (name, doc) in &baseline.inline_policies {
            item.insert(format!("{INLINE_PREFIX}{name}"), Attr::S(doc.to_string()));
        }
        if let Some(parts) = &baseline.role {
            let text = serde_json::to_string(parts)
                .map_err(|e| StoreError(format!("saving the role's baseline: {e}")))?;
            item.insert(ROLE_PARTS.into(), Attr::S(text));
        }
        let (client, table) = self.table()?;
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error("saving the role's baseline"))?;
        Ok(())
    }

    async fn save_trust_policy(
        &self,
        account: &str,
        role: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        self.save(account, role, "trust_policy", document).await
    }

    async fn save_inline_policy(
        &self,
        account: &str,
        role: &str,
        name: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        self.save(account, role, &format!("{INLINE_PREFIX}{name}"), document)
            .await
    }

    async fn save_role(
        &self,
        account: &str,
        role: &str,
        parts: &crate::scan::RoleParts,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_value(parts)
            .map_err(|e| StoreError(format!("saving the role's baseline: {e}")))?;
        self.save(account, role, ROLE_PARTS, &text).await
    }
}

/// The attribute of a role's item that holds the role as a whole.
const ROLE_PARTS: &str = "role_parts";

impl DynamoStore {
    async fn save(
        &self,
        account: &str,
        role: &str,
        attribute: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        let (client, table) = self.table()?;
        client
            .update_item()
            .table_name(table)
            .key("pk", Attr::S(crate::audit::role_key(account, role)))
            .update_expression("SET #doc = :doc")
            .expression_attribute_names("#doc", attribute)
            .expression_attribute_values(":doc", Attr::S(document.to_string()))
            .send()
            .await
            .map_err(store_error("saving the role's baseline"))?;
        Ok(())
    }
}

/// The alert channels, each configured by environment:
/// `ROLEGUARD_SNS_TOPIC_ARN`, `ROLEGUARD_EVENT_BUS` (a bus name or ARN),
/// `ROLEGUARD_SECURITY_HUB=true`, `ROLEGUARD_SLACK_WEBHOOK_SECRET`.
pub struct AwsChannels {
    slack: Option<Slack>,
    sns: Option<(aws_sdk_sns::Client, String)>,
    events: Option<(aws_sdk_eventbridge::Client, String)>,
    security_hub: Option<aws_sdk_securityhub::Client>,
    region: String,
    /// The account the findings are imported from (Security Hub's product
    /// account): the function's own.
    own: OnceLock<String>,
}

impl AwsChannels {
    pub fn new(
        config: &SdkConfig,
        sns_topic: Option<String>,
        event_bus: Option<String>,
        security_hub: bool,
    ) -> AwsChannels {
        let set = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        AwsChannels {
            slack: None,
            sns: set(sns_topic).map(|t| (aws_sdk_sns::Client::new(config), t)),
            events: set(event_bus).map(|b| (aws_sdk_eventbridge::Client::new(config), b)),
            security_hub: security_hub.then(|| aws_sdk_securityhub::Client::new(config)),
            region: config
                .region()
                .map_or("us-east-1".to_string(), |r| r.to_string()),
            own: OnceLock::new(),
        }
    }

    pub fn from_env(config: &SdkConfig) -> AwsChannels {
        let var = |k: &str| std::env::var(k).ok();
        AwsChannels::new(
            config,
            var("ROLEGUARD_SNS_TOPIC_ARN"),
            var("ROLEGUARD_EVENT_BUS"),
            var("ROLEGUARD_SECURITY_HUB").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        )
        .with_slack(config, var("ROLEGUARD_SLACK_WEBHOOK_SECRET"))
    }

    /// Slack through an incoming webhook whose URL is kept in a secret:
    /// `ssm:NAME` for an SSM SecureString, otherwise a Secrets Manager secret's
    /// name (read through SSM's `/aws/reference/secretsmanager/` path). The
    /// URL is read once per container, on the first alert, and never logged.
    pub fn with_slack(mut self, config: &SdkConfig, secret: Option<String>) -> AwsChannels {
        self.slack = secret
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .map(|secret| Slack {
                parameter: match secret.strip_prefix("ssm:") {
                    Some(name) => name.to_string(),
                    None => format!("/aws/reference/secretsmanager/{secret}"),
                },
                config: config.clone(),
                url: tokio::sync::OnceCell::new(),
                http: OnceLock::new(),
                burst: crate::notify::Burst::new(crate::notify::SLACK_PER_MINUTE, 60),
                attempt_timeout: SLACK_ATTEMPT_TIMEOUT,
            });
        self
    }

    /// How long one POST to the Slack webhook may take (connect, send and
    /// answer) before it counts as failed ([`SLACK_ATTEMPT_TIMEOUT`] unless
    /// set). Three attempts are made.
    pub fn with_slack_timeout(mut self, attempt: Duration) -> AwsChannels {
        if let Some(slack) = &mut self.slack {
            slack.attempt_timeout = attempt;
        }
        self
    }

    /// The function's own account (Security Hub's product account).
    pub fn set_own_account(&self, account: &str) {
        if !account.is_empty() {
            let _ = self.own.set(account.to_string());
        }
    }

    async fn sns(&self, alert: &crate::notify::Alert, kept_in: &str) -> Result<(), String> {
        let Some((client, topic)) = &self.sns else {
            return Ok(());
        };
        use aws_sdk_sns::types::MessageAttributeValue;
        let m = crate::notify::sns(alert, kept_in);
        let mut req = client
            .publish()
            .topic_arn(topic)
            .subject(m.subject)
            .message(m.message);
        for (name, kind, value) in m.attributes {
            let v = MessageAttributeValue::builder()
                .data_type(kind)
                .string_value(value)
                .build()
                .map_err(|e| e.to_string())?;
            req = req.message_attributes(name, v);
        }
        req.send().await.map_err(|e| describe(&e))?;
        Ok(())
    }

    async fn events(&self, alert: &crate::notify::Alert, kept_in: &str) -> Result<(), String> {
        let Some((client, bus)) = &self.events else {
            return Ok(());
        };
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(crate::notify::EVENT_SOURCE)
            .detail_type(crate::notify::EVENT_DETAIL_TYPE)
            .detail(crate::notify::eventbridge_detail(alert, kept_in))
            .event_bus_name(bus)
            .resources(&alert.role_arn)
            .build();
        let out = client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        match out.entries().first().and_then(|e| e.error_code()) {
            Some(code) => Err(format!("PutEvents: {code}")),
            None => Ok(()),
        }
    }

    async fn security_hub(&self, alert: &crate::notify::Alert) -> Result<(), String> {
        let Some(client) = &self.security_hub else {
            return Ok(());
        };
        let product = self
            .own
            .get()
            .map_or(alert.account.as_str(), String::as_str);
        let now = aws_sdk_securityhub::primitives::DateTime::from(std::time::SystemTime::now())
            .fmt(aws_sdk_securityhub::primitives::DateTimeFormat::DateTime)
            .unwrap_or_default();
        let findings = crate::notify::asff(alert, product, &self.region, &now)
            .iter()
            .map(asff_to_sdk)
            .collect::<Vec<_>>();
        let out = client
            .batch_import_findings()
            .set_findings(Some(findings))
            .send()
            .await
            .map_err(|e| describe(&e))?;
        match out.failed_count() {
            Some(n) if n > 0 => Err(format!(
                "BatchImportFindings: {n} findings failed: {}",
                out.failed_findings()
                    .iter()
                    .map(|f| format!(
                        "{}: {}",
                        f.error_code().unwrap_or("?"),
                        f.error_message().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            _ => Ok(()),
        }
    }
}

/// An SDK error on one line, with its code when the service gave one.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(e: &E) -> String {
    match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
        None => source_chain(e),
    }
}

/// One ASFF finding (as [`crate::notify::asff`] renders it) as the SDK's type.
fn asff_to_sdk(v: &Value) -> aws_sdk_securityhub::types::AwsSecurityFinding {
    use aws_sdk_securityhub::types::*;
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let label = SeverityLabel::from(v["Severity"]["Label"].as_str().unwrap_or("INFORMATIONAL"));
    let resource = &v["Resources"][0];
    let mut fields = std::collections::HashMap::new();
    if let Some(map) = v["ProductFields"].as_object() {
        for (k, val) in map {
            fields.insert(k.clone(), val.as_str().unwrap_or_default().to_string());
        }
    }
    AwsSecurityFinding::builder()
        .schema_version(s("SchemaVersion"))
        .id(s("Id"))
        .product_arn(s("ProductArn"))
        .generator_id(s("GeneratorId"))
        .aws_account_id(s("AwsAccountId"))
        .types(v["Types"][0].as_str().unwrap_or_default())
        .created_at(s("CreatedAt"))
        .updated_at(s("UpdatedAt"))
        .severity(Severity::builder().label(label).build())
        .title(s("Title"))
        .description(s("Description"))
        .source_url(s("SourceUrl"))
        .set_product_fields(Some(fields))
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(
                            v["Remediation"]["Recommendation"]["Text"]
                                .as_str()
                                .unwrap_or_default(),
                        )
                        .build(),
                )
                .build(),
        )
        .resources(
            Resource::builder()
                .r#type(resource["Type"].as_str().unwrap_or_default())
                .id(resource["Id"].as_str().unwrap_or_default())
                .partition(Partition::Aws)
                .region(resource["Region"].as_str().unwrap_or_default())
                .build(),
        )
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(
                    v["Compliance"]["Status"].as_str().unwrap_or("FAILED"),
                ))
                .build(),
        )
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(
                    v["Workflow"]["Status"].as_str().unwrap_or("NEW"),
                ))
                .build(),
        )
        .record_state(RecordState::Active)
        .build()
}

/// One POST to Slack's webhook at most this long: a webhook that accepts
/// the connection and never answers costs three of these plus the backoff
/// (about 16 s), never the invocation's 300 s. The other channels are sent
/// at the same time and do not wait for it.
pub const SLACK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Slack's incoming webhook.
struct Slack {
    parameter: String,
    config: SdkConfig,
    url: tokio::sync::OnceCell<String>,
    http: OnceLock<Result<HttpsClient, String>>,
    burst: crate::notify::Burst,
    attempt_timeout: Duration,
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<hyper::body::Bytes>,
>;

/// An HTTPS (and, for tests, HTTP) client with the system's roots.
fn https_client() -> Result<HttpsClient, String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| format!("no TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

impl Slack {
    async fn send(&self, alert: &crate::notify::Alert) -> Result<(), String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let held = match self.burst.admit(alert, now) {
            crate::notify::Gate::Hold => return Ok(()),
            crate::notify::Gate::Send(held) => held,
        };
        let url = self
            .url
            .get_or_try_init(|| ssm_parameter(&self.config, &self.parameter))
            .await
            .map_err(|e| format!("the webhook secret: {e}"))?;
        let body = crate::notify::slack_with(alert, held.as_ref()).to_string();
        let client = self.http.get_or_init(https_client).as_ref()?;
        post_json(client, url, body, self.attempt_timeout).await
    }
}

/// POST a JSON body; 2xx is delivered. Throttling (429), 5xx and connection
/// errors, and an attempt with no answer within `attempt_timeout`, are tried
/// 3 times with backoff. Errors never name the URL (a
/// webhook URL is a secret).
async fn post_json(
    client: &HttpsClient,
    url: &str,
    body: String,
    attempt_timeout: Duration,
) -> Result<(), String> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| "the webhook URL in the secret is not a URL".to_string())?;
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
        let req = hyper::Request::post(uri.clone())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| e.to_string())?;
        let Ok(answer) = tokio::time::timeout(attempt_timeout, client.request(req)).await else {
            last = format!("no answer within {} ms", attempt_timeout.as_millis());
            continue;
        };
        match answer {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                last = format!("HTTP {}", resp.status().as_u16());
                let status = resp.status();
                if !(status.is_server_error() || status.as_u16() == 429) {
                    return Err(last);
                }
            }
            Err(e) => {
                last = if e.is_connect() {
                    "cannot connect".into()
                } else {
                    "the request failed".into()
                }
            }
        }
    }
    Err(format!("{last} after 3 attempts"))
}

impl crate::notify::Channels for AwsChannels {
    fn any(&self) -> bool {
        self.sns.is_some()
            || self.events.is_some()
            || self.security_hub.is_some()
            || self.slack.is_some()
    }

    async fn deliver(
        &self,
        alert: &crate::notify::Alert,
        kept_in: &str,
    ) -> Vec<crate::notify::Delivery> {
        use crate::notify::Delivery;
        // All at once: one failing or slow channel holds up no other. (Boxed:
        // three SDK calls' futures side by side are large.)
        let slack = async {
            match &self.slack {
                Some(slack) => slack.send(alert).await,
                None => Ok(()),
            }
        };
        let (sns, events, hub, slack) = tokio::join!(
            Box::pin(self.sns(alert, kept_in)),
            Box::pin(self.events(alert, kept_in)),
            Box::pin(self.security_hub(alert)),
            Box::pin(slack)
        );
        let mut out = Vec::new();
        if self.slack.is_some() {
            out.push(Delivery {
                channel: "slack",
                result: slack,
            });
        }
        if self.sns.is_some() {
            out.push(Delivery {
                channel: "sns",
                result: sns,
            });
        }
        if self.events.is_some() {
            out.push(Delivery {
                channel: "eventbridge",
                result: events,
            });
        }
        if self.security_hub.is_some() {
            out.push(Delivery {
                channel: "securityhub",
                result: hub,
            });
        }
        out
    }
}
