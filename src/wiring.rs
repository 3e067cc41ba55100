//! The one place the shell is put together from the environment: the
//! configuration, the accounts (IAM here and in member accounts), the audit
//! table, the alert channels, the organisation and the scan's queue. Both binaries use it.

use crate::adapters::channels::AwsChannels;
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::organizations::AwsOrganization;
use crate::adapters::sqs::AwsScanQueue;
use crate::adapters::sts::AwsAccounts;
use crate::config::{Config, ConfigError};
use crate::engine::{Engine, Mode, OrgCache};
use crate::lambda::Fleet;
use crate::ports::SystemClock;

/// Where the configuration comes from.
pub enum ConfigFrom {
    /// `ROLEGUARD_CONFIG` ([`config_from_env`]): the Lambda function.
    Env,
    /// Already loaded (the CLI's `--config`, with the environment applied).
    Given(Box<Config>),
}

/// The shell as the environment configures it.
pub struct Wiring {
    pub config: Config,
    pub accounts: AwsAccounts,
    pub store: DynamoStore,
    pub channels: AwsChannels,
    /// The organisation's accounts, with `organization_id` and
    /// `organization.discover` (through `organization.read_role`, if set).
    pub org: Option<OrgCache<AwsOrganization>>,
    /// The scan's queue and dead-letter queue (`ROLEGUARD_SCAN_QUEUE_URL`,
    /// `ROLEGUARD_SCAN_DLQ_URL`).
    pub queue: Option<AwsScanQueue>,
}

/// Put the shell together from the environment: credentials, region and
/// endpoint (the SDK's), `ROLEGUARD_REMEDIATION_ROLE` and
/// `ROLEGUARD_EXTERNAL_ID` (member accounts; the remediation role's changes
/// there are roleguard's own), `ROLEGUARD_TABLE`, the channels' variables.
/// Bad settings are an error naming the problem.
pub async fn from_env(config: ConfigFrom) -> Result<Wiring, String> {
    let accounts = AwsAccounts::from_env().await;
    let mut config = match config {
        ConfigFrom::Env => {
            config_from_env(
                std::env::var("ROLEGUARD_CONFIG").ok().as_deref(),
                accounts.sdk_config(),
            )
            .await?
        }
        ConfigFrom::Given(c) => *c,
    };
    if let Some(member) = accounts.member_access() {
        // Its changes in member accounts are roleguard's own: never acted on.
        config.set_remediation_role(&member.role_name);
    }
    let store = DynamoStore::from_env(accounts.sdk_config());
    let channels = AwsChannels::from_env(accounts.sdk_config());
    let org = match (&config.organization_id, config.organization.discover) {
        (Some(_), true) => Some(OrgCache::new(
            AwsOrganization::new(
                accounts.sdk_config(),
                config.organization.read_role.as_deref(),
            )
            .await,
            config.organization.accounts_ttl_seconds,
        )),
        _ => None,
    };
    let queue = AwsScanQueue::from_env(accounts.sdk_config())?;
    Ok(Wiring {
        config,
        accounts,
        store,
        channels,
        org,
        queue,
    })
}

impl Wiring {
    /// The engine on these adapters and the system clock.
    pub fn engine(&self, mode: Mode) -> Engine<'_, DynamoStore, AwsChannels, SystemClock> {
        Engine::new(
            &self.config,
            &self.store,
            &self.channels,
            &SystemClock,
            mode,
        )
    }

    /// The organisation and the scan's queue, as configured.
    pub fn fleet(&self) -> Fleet<'_, AwsOrganization, AwsScanQueue> {
        Fleet {
            org: self.org.as_ref(),
            queue: self.queue.as_ref(),
        }
    }
}

/// The configuration from `ROLEGUARD_CONFIG`: a file (bundled with the
/// function, or anywhere on disk), `ssm:NAME` for an SSM parameter (String or
/// SecureString, read once at start-up), or, unset, the embedded default;
/// then the deployment's settings from the environment ([`Config::apply_env`]).
pub async fn config_from_env(
    value: Option<&str>,
    sdk: &aws_config::SdkConfig,
) -> Result<Config, String> {
    let mut config = config_source(value, sdk).await?;
    config
        .apply_env(|k| std::env::var(k).ok())
        .map_err(|e| e.to_string())?;
    Ok(config)
}

async fn config_source(value: Option<&str>, sdk: &aws_config::SdkConfig) -> Result<Config, String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(Config::default()),
        Some(v) => match v.strip_prefix("ssm:") {
            Some(name) => {
                let text = crate::adapters::ssm::parameter(sdk, name).await?;
                Config::from_yaml(&text)
                    .map_err(|e| format!("configuration in SSM parameter {name}: {e}"))
            }
            None => load_config(std::path::Path::new(v)).map_err(|e| e.to_string()),
        },
    }
}

/// Read a configuration file (the core parses it: [`Config::from_yaml`]).
pub fn load_config(path: &std::path::Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Config::from_yaml(&text)
}
