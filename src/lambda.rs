//! The Lambda function's handler, minus the runtime: one EventBridge payload
//! in, the outcome out. `src/bin/roleguard-lambda.rs` wires it to
//! `lambda_runtime`.

use crate::engine::{Engine, HandleError, InAccount, ScanOutcome};
use crate::event::{CloudTrail, Event, EventError};
use crate::outcome::{Outcome, Status, StepResult};
use crate::ports::{Accounts, Channels, Clock, IamError, Store};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;

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
    Handled(Box<Outcome>),
    /// A scheduled scan: per account, the roles with findings.
    Scanned {
        accounts: Vec<ScanOutcome>,
    },
}

/// Why an invocation fails (so EventBridge retries it or dead-letters it).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("bad event: {0}")]
    BadEvent(String),
    /// The shell could not be put together (configuration, settings).
    #[error("setting up: {0}")]
    Setup(String),
    #[error(transparent)]
    Handle(#[from] HandleError),
    #[error("the account to scan: {0}")]
    Account(IamError),
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
/// through the engine's ports (the audit table: records, idempotency,
/// baselines; the alert channels). A scheduled event scans instead.
pub async fn handle_payload<A: Accounts, S: Store, C: Channels, K: Clock>(
    engine: &Engine<'_, S, C, K>,
    accounts: &A,
    payload: Value,
) -> Result<Reply, InvocationError> {
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return scheduled_scan(engine, accounts).await;
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
    let outcome = Box::pin(engine.handle_in(&iam, &iam, &event)).await?;
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
            outcome = %json(&outcome),
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
            outcome = %json(&outcome),
            "some steps failed"
        );
        let failed: Vec<&StepResult> = outcome
            .results
            .iter()
            .filter(|r| r.status == Status::Failed)
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
    Ok(Reply::Handled(Box::new(outcome)))
}

/// Scan one account through `accounts` (the function's own when `None`);
/// with `remediate`, carry out the plans (as the engine's mode says).
pub async fn scan_with<A: Accounts, S: Store, C: Channels, K: Clock>(
    engine: &Engine<'_, S, C, K>,
    accounts: &A,
    account: Option<&str>,
    remediate: bool,
) -> Result<ScanOutcome, InvocationError> {
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
    Ok(engine.scan(&iam, account, remediate).await?)
}

/// The scheduled invocation: scan the function's own account and
/// `scan_accounts`; report, or with `scan_remediate` carry out the plans.
async fn scheduled_scan<A: Accounts, S: Store, C: Channels, K: Clock>(
    engine: &Engine<'_, S, C, K>,
    accounts: &A,
) -> Result<Reply, InvocationError> {
    let config = engine.config;
    let mut targets = vec![None];
    targets.extend(config.scan_accounts.iter().map(|a| Some(a.as_str())));
    let mut out = Vec::new();
    for account in targets {
        let mut o = scan_with(engine, accounts, account, config.scan_remediate).await?;
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

/// The outcome as JSON for the log, or what stopped it.
fn json(outcome: &Outcome) -> String {
    serde_json::to_string(outcome)
        .unwrap_or_else(|e| format!("(the outcome could not be written as JSON: {e})"))
}

/// The CloudWatch metrics (embedded metric format) for one invocation's
/// result: the Lambda function prints them as log lines.
pub fn metric_lines(reply: &Result<Reply, InvocationError>, now_ms: i64) -> Vec<String> {
    match reply {
        Ok(Reply::Handled(o)) => crate::metrics::handled(o, now_ms),
        Err(InvocationError::StepsFailed { outcome, .. }) => {
            crate::metrics::handled(outcome, now_ms)
        }
        Ok(Reply::Scanned { accounts }) => accounts
            .iter()
            .flat_map(|a| crate::metrics::scanned(a.roles, &a.findings_by_severity, now_ms))
            .collect(),
        Ok(Reply::Ignored { .. }) => vec![],
        Err(_) => vec![crate::metrics::failed(now_ms)],
    }
}
