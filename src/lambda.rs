//! The Lambda function's handler, minus the runtime: one EventBridge payload
//! in, the outcome out. `src/bin/roleguard-lambda.rs` wires it to
//! `lambda_runtime`.

use crate::audit::Store;
use crate::config::Config;
use crate::event::{CloudTrail, Event, EventError};
use crate::notify::Channels;
use crate::remediate::{self, Accounts, InAccount, Outcome};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;

/// Whether roleguard changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Enforce,
    DryRun,
}

impl Mode {
    /// From `ROLEGUARD_MODE`: `enforce` or `dry-run` (the default when unset).
    pub fn from_env_value(v: Option<&str>) -> Result<Mode, String> {
        match v.map(str::trim) {
            None | Some("") | Some("dry-run") => Ok(Mode::DryRun),
            Some("enforce") => Ok(Mode::Enforce),
            Some(other) => Err(format!(
                "ROLEGUARD_MODE={other:?}: expected enforce or dry-run"
            )),
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
                let text = crate::aws::ssm_parameter(sdk, name).await?;
                Config::from_yaml(&text)
                    .map_err(|e| format!("configuration in SSM parameter {name}: {e}"))
            }
            None => Config::load(std::path::Path::new(v)).map_err(|e| e.to_string()),
        },
    }
}

/// The account in a Lambda function's ARN
/// (`arn:aws:lambda:us-east-1:111122223333:function:roleguard`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// What one invocation returns.
#[derive(Debug, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Reply {
    /// A call roleguard does not handle.
    Ignored {
        event_id: Option<String>,
        call: String,
    },
    Handled(Outcome),
    /// A scheduled scan: per account, the roles with findings.
    Scanned {
        accounts: Vec<remediate::ScanOutcome>,
    },
}

/// Why an invocation fails (so EventBridge retries it or dead-letters it).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("bad event: {0}")]
    BadEvent(String),
    #[error(transparent)]
    Handle(#[from] remediate::HandleError),
    #[error("the account to scan: {0}")]
    Account(remediate::IamError),
    #[error("{failed} of {total} steps failed for event {event_id}: {detail}")]
    StepsFailed {
        event_id: String,
        failed: usize,
        total: usize,
        detail: String,
        outcome: Box<Outcome>,
    },
}

/// Handle one EventBridge payload, in the account the change was made in,
/// keeping nothing.
pub async fn handle_payload<A: Accounts>(
    accounts: &A,
    payload: Value,
    config: &Config,
    mode: Mode,
) -> Result<Reply, InvocationError> {
    handle_payload_with(
        accounts,
        &crate::audit::NoStore,
        &crate::notify::NoChannels,
        payload,
        config,
        mode,
    )
    .await
}

/// Handle one EventBridge payload, in the account the change was made in,
/// with the audit table ([`crate::audit`]): records, idempotency, baselines.
pub async fn handle_payload_with<A: Accounts, S: Store, C: Channels>(
    accounts: &A,
    store: &S,
    channels: &C,
    payload: Value,
    config: &Config,
    mode: Mode,
) -> Result<Reply, InvocationError> {
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return scheduled_scan(accounts, store, config, mode).await;
    }
    let envelope: EventBridgeEvent<CloudTrail> =
        serde_json::from_value(payload).map_err(|e| InvocationError::BadEvent(e.to_string()))?;
    if envelope.detail.event_name.is_empty() {
        return Err(InvocationError::BadEvent(
            "detail.eventName is missing".into(),
        ));
    }
    let event = Event {
        id: envelope.id.clone().or(envelope.detail.event_id.clone()),
        account: envelope
            .detail
            .recipient_account_id
            .clone()
            .or(envelope.account.clone()),
        time: envelope
            .time
            .map(|t| t.to_rfc3339())
            .or(envelope.detail.event_time.clone()),
        trail: envelope.detail,
    };
    if let Err(EventError::Unsupported { name, .. }) = event.change() {
        tracing::debug!(event_id = ?event.id, call = %name, "ignored: not a call roleguard handles");
        return Ok(Reply::Ignored {
            event_id: event.id,
            call: name,
        });
    }
    let iam = InAccount::new(accounts, event.account.as_deref());
    let outcome =
        remediate::handle_with(&iam, store, channels, &event, config, mode == Mode::DryRun).await?;
    let actions: Vec<String> = outcome
        .results
        .iter()
        .map(|r| format!("{}:{:?}", r.step.action(), r.status).to_lowercase())
        .collect();
    let a = &outcome.assessment;
    let verdict = if let Some(why) = &a.skipped {
        format!("skipped ({why})")
    } else if a.judgement.findings.is_empty() {
        "compliant".into()
    } else {
        format!(
            "non-compliant ({})",
            a.judgement.max_severity().map_or("", |s| s.as_str())
        )
    };
    // The audit trail in the logs: findings, plan, results, and every
    // document removed or replaced (at error level when a step failed).
    if outcome.ok && !a.judgement.findings.is_empty() {
        tracing::info!(
            outcome = %serde_json::to_string(&outcome).unwrap_or_default(),
            "outcome"
        );
    }
    tracing::info!(
        event_id = a.event_id.as_deref().unwrap_or(""),
        account = a.account.as_deref().unwrap_or(""),
        role = a.role_name.as_deref().unwrap_or(""),
        actor = a.actor.as_deref().unwrap_or(""),
        call = a.call,
        verdict = %verdict,
        actions = %actions.join(" "),
        "handled"
    );
    if !outcome.ok {
        tracing::error!(
            outcome = %serde_json::to_string(&outcome).unwrap_or_default(),
            "some steps failed"
        );
        let failed: Vec<&remediate::StepResult> = outcome
            .results
            .iter()
            .filter(|r| r.status == remediate::Status::Failed)
            .collect();
        return Err(InvocationError::StepsFailed {
            event_id: a.event_id.clone().unwrap_or_default(),
            failed: failed.len(),
            total: outcome.results.len(),
            detail: failed
                .iter()
                .map(|r| r.detail.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            outcome: Box::new(outcome),
        });
    }
    Ok(Reply::Handled(outcome))
}

/// Scan one account (the caller's own when `None`) with the environment's
/// AWS configuration, member access and table: what `roleguard scan` and the
/// scheduled invocation run.
pub async fn scan_from_env(
    account: Option<&str>,
    config: &Config,
    remediate: bool,
    dry_run: bool,
) -> Result<remediate::ScanOutcome, InvocationError> {
    let accounts = crate::aws::AwsAccounts::from_env().await;
    let mut config = config.clone();
    if let Some(member) = accounts.member_access() {
        config.set_remediation_role(&member.role_name);
    }
    let store = crate::aws::DynamoStore::from_env(accounts.sdk_config());
    scan_with(&accounts, &store, account, &config, remediate, dry_run).await
}

/// Scan one account through `accounts` (the function's own when `None`).
pub async fn scan_with<A: Accounts, S: Store>(
    accounts: &A,
    store: &S,
    account: Option<&str>,
    config: &Config,
    remediate: bool,
    dry_run: bool,
) -> Result<remediate::ScanOutcome, InvocationError> {
    let own;
    let account = match account {
        Some(a) => a,
        None => {
            own = accounts
                .own_account()
                .await
                .map_err(InvocationError::Account)?;
            own.as_str()
        }
    };
    let iam = InAccount::new(accounts, Some(account));
    Ok(remediate::scan_account(&iam, store, account, config, remediate, dry_run).await?)
}

/// The scheduled invocation: scan the function's own account and
/// `scan_accounts`; report, or with `scan_remediate` carry out the plans.
async fn scheduled_scan<A: Accounts, S: Store>(
    accounts: &A,
    store: &S,
    config: &Config,
    mode: Mode,
) -> Result<Reply, InvocationError> {
    let mut targets = vec![None];
    targets.extend(config.scan_accounts.iter().map(|a| Some(a.as_str())));
    let mut out = Vec::new();
    for account in targets {
        let mut o = scan_with(
            accounts,
            store,
            account,
            config,
            config.scan_remediate,
            mode == Mode::DryRun,
        )
        .await?;
        let with_findings = o
            .results
            .iter()
            .filter(|r| !r.result.findings.is_empty())
            .count();
        tracing::info!(
            account = %o.account,
            roles = o.roles,
            with_findings,
            read_requests = o.read_requests,
            baselines = o.baselines_recorded,
            "scanned"
        );
        // The reply keeps the roles with something to say.
        o.results
            .retain(|r| !r.result.findings.is_empty() || r.result.skipped.is_some());
        out.push(o);
    }
    Ok(Reply::Scanned { accounts: out })
}
