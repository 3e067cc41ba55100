//! STS: the function's own account, and member accounts through their
//! remediation role.

use super::cloudtrail::AwsTrail;
use super::iam::{error, AwsIam};
use super::source_chain;
use crate::ports::{Accounts, IamError};
use aws_config::SdkConfig;
use aws_sdk_iam::Client;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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
/// allows only the remediation calls ([`crate::member::session_policy`]). One client
/// per account is kept for the container's life; its credentials are reused
/// until they near expiry, then refreshed.
pub struct AwsAccounts {
    config: SdkConfig,
    home: AwsIam,
    own: OnceLock<String>,
    member: Option<MemberAccess>,
    members: Mutex<HashMap<String, (AwsIam, AwsTrail)>>,
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
            super::sdk_config().await,
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
    type Trail = AwsTrail;

    async fn trail(&self, account: Option<&str>) -> Result<AwsTrail, IamError> {
        let home = || AwsTrail::new(aws_sdk_cloudtrail::Config::from(&self.config));
        let Some(account) = account.filter(|a| !a.is_empty() && self.member.is_some()) else {
            return Ok(home());
        };
        if self.own().await? == account {
            return Ok(home());
        }
        // Reaching IAM there assumes the role and keeps its credentials.
        self.iam(Some(account)).await?;
        self.members
            .lock()
            .ok()
            .and_then(|m| m.get(account).map(|(_, t)| t.clone()))
            .ok_or_else(|| IamError::Other(format!("no session in account {account}")))
    }

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
            .and_then(|m| m.get(account).map(|(iam, _)| iam.clone()))
        {
            return Ok(iam);
        }
        let role_arn = crate::member::remediation_role_arn(account, &member.role_name);
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role_arn)
            .session_name(crate::member::SESSION_NAME)
            .policy(crate::member::session_policy(account).to_string())
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
        let credentials = aws_sdk_iam::config::SharedCredentialsProvider::new(provider);
        let conf = aws_sdk_iam::config::Builder::from(&self.config)
            .credentials_provider(credentials.clone())
            .build();
        let iam = AwsIam::new(Client::from_conf(conf));
        let trail = AwsTrail::new(
            aws_sdk_cloudtrail::config::Builder::from(&self.config)
                .credentials_provider(credentials)
                .build(),
        );
        if let Ok(mut m) = self.members.lock() {
            m.insert(account.to_string(), (iam.clone(), trail));
        }
        Ok(iam)
    }
}
