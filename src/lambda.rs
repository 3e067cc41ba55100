//! The Lambda function's handler, minus the runtime: one EventBridge payload
//! in, the outcome out. `src/bin/roleguard-lambda.rs` wires it to
//! `lambda_runtime`.

use crate::engine::{Engine, HandleError, InAccount, OrgCache, ScanOutcome};
use crate::event::{Change, CloudTrail, Event, EventError};
use crate::fleet::ScanJob;
use crate::outcome::{Outcome, Status, StepResult};
use crate::ports::{
    Accounts, Channels, Clock, IamError, NoOrganization, NoQueue, OrgError, Organization,
    QueueError, ScanQueue, Store, StoreError,
};
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
        scan_id: String,
        accounts: Vec<ScanOutcome>,
    },
    /// A scheduled scan with a queue: one message per account was put on it.
    Enqueued {
        scan_id: String,
        accounts: usize,
        /// Accounts the configuration left out.
        excluded: Vec<String>,
        /// The organisation's accounts that are not active.
        inactive: Vec<String>,
        /// SendMessageBatch requests made.
        requests: usize,
    },
    /// Messages of the scan's queue: each account scanned, dead-lettered or
    /// given back to the queue to be tried again.
    ScanBatch(ScanBatch),
}

/// What a batch of the scan's queue came to.
#[derive(Debug, Default, Serialize)]
pub struct ScanBatch {
    /// The answer the event-source mapping reads: the messages to try again.
    pub response: aws_lambda_events::sqs::SqsBatchResponse,
    /// Accounts scanned: their result is stored.
    pub scanned: Vec<String>,
    /// Accounts put on the dead-letter queue, with the reason.
    pub dead_lettered: Vec<(String, String)>,
    /// Messages given back to the queue, with the reason.
    pub retried: Vec<(String, String)>,
}

impl Reply {
    /// What the function returns to Lambda: for a batch of the queue,
    /// exactly the partial-batch response (`batchItemFailures`); otherwise
    /// the reply.
    pub fn response(&self) -> Value {
        match self {
            Reply::ScanBatch(b) => serde_json::to_value(&b.response),
            other => serde_json::to_value(other),
        }
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }
}

/// The organisation-scale parts: the organisation's accounts (kept for a
/// while) and the scan's queue. Without them the function scans its own
/// account and `scan_accounts` in one invocation.
pub struct Fleet<'a, O, Q> {
    pub org: Option<&'a OrgCache<O>>,
    pub queue: Option<&'a Q>,
}

impl Fleet<'static, NoOrganization, NoQueue> {
    pub fn none() -> Self {
        Fleet {
            org: None,
            queue: None,
        }
    }
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
    #[error(transparent)]
    Organization(#[from] OrgError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
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
    invoke(engine, accounts, &Fleet::none(), payload).await
}

/// Handle one invocation: an EventBridge payload (a CloudTrail event, or
/// the schedule), or a batch of the scan's queue. With the organisation
/// read, a trust change is judged knowing its accounts, and the schedule
/// covers them; with the queue, the schedule only puts one message per
/// account on it, and each message scans one account.
pub async fn invoke<A, S, C, K, O, Q>(
    engine: &Engine<'_, S, C, K>,
    accounts: &A,
    fleet: &Fleet<'_, O, Q>,
    payload: Value,
) -> Result<Reply, InvocationError>
where
    A: Accounts,
    S: Store,
    C: Channels,
    K: Clock,
    O: Organization,
    Q: ScanQueue,
{
    if is_queue_batch(&payload) {
        // Boxed, as the other large sub-futures: the handler's own future
        // stays small (a debug build's 2 MiB test stack overflowed).
        return Box::pin(scan_batch(engine, accounts, fleet, payload)).await;
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let time = payload.get("time").and_then(Value::as_str);
        let scan_id = crate::fleet::scan_id(time, engine.clock.now());
        return Box::pin(scheduled_scan(engine, accounts, fleet, scan_id)).await;
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
    // A trust change is judged knowing the organisation's accounts.
    let members = match (fleet.org, event.change()) {
        (Some(org), Ok(Change::CreateRole { .. } | Change::UpdateAssumeRolePolicy { .. })) => {
            let accounts = org.accounts(engine.clock).await?;
            Some(crate::fleet::with_members(engine.config, &accounts))
        }
        _ => None,
    };
    let engine = &engine.with_config(members.as_ref().unwrap_or(engine.config));
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

/// The scheduled invocation. The accounts: the function's own, the
/// organisation's active accounts (when it is read), `scan_accounts`, minus
/// the exclusions. With the queue: one message per account, and the scan's
/// index is stored. Without: each account is scanned here, one after
/// another; report, or with `scan_remediate` carry out the plans.
async fn scheduled_scan<A, S, C, K, O, Q>(
    engine: &Engine<'_, S, C, K>,
    accounts: &A,
    fleet: &Fleet<'_, O, Q>,
    scan_id: String,
) -> Result<Reply, InvocationError>
where
    A: Accounts,
    S: Store,
    C: Channels,
    K: Clock,
    O: Organization,
    Q: ScanQueue,
{
    let own = accounts
        .own_account()
        .await
        .map_err(InvocationError::Account)?;
    let org = match fleet.org {
        Some(org) => Some(org.accounts(engine.clock).await?),
        None => None,
    };
    let targets =
        crate::fleet::scan_targets(&own, org.as_deref().map(Vec::as_slice), engine.config);
    let now = engine.clock.now();
    let index = crate::audit::ScanIndex {
        scan_id: scan_id.clone(),
        started_at: now,
        accounts: targets.accounts.clone(),
        excluded: targets.excluded.clone(),
        expires_at: crate::audit::expires_at(now, engine.config.scan_retention_days),
    };
    if let Some(queue) = fleet.queue {
        let jobs: Vec<ScanJob> = targets
            .accounts
            .iter()
            .map(|a| ScanJob {
                scan_id: scan_id.clone(),
                account: a.clone(),
            })
            .collect();
        // The index first: a result never lands for a scan nobody can find.
        if engine.store.enabled() {
            engine.store.save_scan(&index).await?;
        }
        let requests = queue.enqueue(&jobs).await?;
        tracing::info!(
            scan_id = %scan_id,
            accounts = jobs.len(),
            excluded = targets.excluded.len(),
            inactive = targets.inactive.len(),
            requests,
            "scan enqueued"
        );
        return Ok(Reply::Enqueued {
            scan_id,
            accounts: jobs.len(),
            excluded: targets.excluded,
            inactive: targets.inactive,
            requests,
        });
    }
    let config = org
        .as_deref()
        .map(|o| crate::fleet::with_members(engine.config, o));
    let engine = &engine.with_config(config.as_ref().unwrap_or(engine.config));
    if engine.store.enabled() {
        engine.store.save_scan(&index).await?;
    }
    let mut out = Vec::new();
    for account in &targets.accounts {
        let target = (account != &own).then_some(account.as_str());
        let mut o = scan_with(engine, accounts, target, engine.config.scan_remediate).await?;
        log_scanned(&o);
        if engine.store.enabled() {
            let result = crate::fleet::scanned_result(&scan_id, engine.clock.now(), &o);
            engine
                .store
                .save_scan_result(&scan_id, account, &result, index.expires_at)
                .await?;
        }
        // The reply keeps the roles with something to say.
        o.results
            .retain(|r| !r.result.findings.is_empty() || r.result.skipped.is_some());
        out.push(o);
    }
    Ok(Reply::Scanned {
        scan_id,
        accounts: out,
    })
}

fn log_scanned(o: &ScanOutcome) {
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
}

/// Is the payload a batch of SQS messages (the scan's queue)?
fn is_queue_batch(payload: &Value) -> bool {
    payload
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

/// How one message ended.
enum JobEnd {
    Scanned,
    DeadLettered(String),
    Retry(String),
}

/// A batch of the scan's queue: each message scans one account and stores
/// its result. A scan that fails goes back to the queue (its message id in
/// `batchItemFailures`) until it has been tried `scan_max_attempts` times;
/// then the account is put on the dead-letter queue with its reason, and
/// the reason is stored as its result. The other messages are unaffected.
/// Messages of one account are taken one after another (IAM's rates are
/// per account); accounts side by side.
async fn scan_batch<A, S, C, K, O, Q>(
    engine: &Engine<'_, S, C, K>,
    accounts: &A,
    fleet: &Fleet<'_, O, Q>,
    payload: Value,
) -> Result<Reply, InvocationError>
where
    A: Accounts,
    S: Store,
    C: Channels,
    K: Clock,
    O: Organization,
    Q: ScanQueue,
{
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(payload)
        .map_err(|e| InvocationError::BadEvent(format!("an SQS batch: {e}")))?;
    let Some(queue) = fleet.queue else {
        return Err(InvocationError::Setup(
            "a batch of the scan queue arrived, but no queue is configured (ROLEGUARD_SCAN_QUEUE_URL, ROLEGUARD_SCAN_DLQ_URL)".into(),
        ));
    };
    // Trust rules need the organisation's accounts; a failure to read them
    // fails every message of the batch (they are tried again).
    let members = match fleet.org {
        Some(org) => match org.accounts(engine.clock).await {
            Ok(a) => Some(crate::fleet::with_members(engine.config, &a)),
            Err(e) => {
                let reason = e.to_string();
                let mut batch = ScanBatch::default();
                for m in &event.records {
                    let id = m.message_id.clone().unwrap_or_default();
                    batch.retried.push((id.clone(), reason.clone()));
                    batch.response.batch_item_failures.push(failure(id));
                }
                tracing::error!(error = %reason, messages = event.records.len(), "batch not scanned");
                return Ok(Reply::ScanBatch(batch));
            }
        },
        None => None,
    };
    let engine = &engine.with_config(members.as_ref().unwrap_or(engine.config));
    // The messages by account, in arrival order within each.
    let mut by_account: Vec<(String, Vec<&aws_lambda_events::sqs::SqsMessage>)> = Vec::new();
    for m in &event.records {
        let key = m
            .body
            .as_deref()
            .and_then(|b| crate::fleet::parse_job(b).ok())
            .map(|j| j.account)
            .unwrap_or_default();
        match by_account.iter_mut().find(|(a, _)| *a == key) {
            Some((_, ms)) => ms.push(m),
            None => by_account.push((key, vec![m])),
        }
    }
    let ends = futures_util::future::join_all(by_account.iter().map(|(_, ms)| async move {
        let mut ends = Vec::new();
        for m in ms {
            let end = Box::pin(scan_message(engine, accounts, queue, m)).await;
            ends.push((m.message_id.clone().unwrap_or_default(), end));
        }
        ends
    }))
    .await;
    let mut batch = ScanBatch::default();
    for (id, end) in ends.into_iter().flatten() {
        match end {
            JobEnd::Scanned => batch.scanned.push(id),
            JobEnd::DeadLettered(reason) => batch.dead_lettered.push((id, reason)),
            JobEnd::Retry(reason) => {
                batch.response.batch_item_failures.push(failure(id.clone()));
                batch.retried.push((id, reason));
            }
        }
    }
    Ok(Reply::ScanBatch(batch))
}

fn failure(id: String) -> aws_lambda_events::sqs::BatchItemFailure {
    let mut f = aws_lambda_events::sqs::BatchItemFailure::default();
    f.item_identifier = id;
    f
}

/// One message: scan its account and store the result.
async fn scan_message<A, S, C, K, Q>(
    engine: &Engine<'_, S, C, K>,
    accounts: &A,
    queue: &Q,
    message: &aws_lambda_events::sqs::SqsMessage,
) -> JobEnd
where
    A: Accounts,
    S: Store,
    C: Channels,
    K: Clock,
    Q: ScanQueue,
{
    let attempts: u32 = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let max = engine.config.scan_max_attempts;
    let body = message.body.as_deref().unwrap_or("");
    let job = match crate::fleet::parse_job(body) {
        Ok(job) => job,
        Err(reason) => {
            // It can never succeed: dead-lettered at once, as it came.
            let job = ScanJob {
                scan_id: String::new(),
                account: String::new(),
            };
            let reason = format!(
                "{reason} (body: {})",
                body.chars().take(200).collect::<String>()
            );
            tracing::error!(message_id = ?message.message_id, reason = %reason, "bad scan message");
            return match queue.dead_letter(&job, &reason, attempts).await {
                Ok(()) => JobEnd::DeadLettered(reason),
                Err(e) => JobEnd::Retry(format!("{reason}; and {e}")),
            };
        }
    };
    let own = accounts.own_account().await.ok();
    let target = (own.as_deref() != Some(job.account.as_str())).then_some(job.account.as_str());
    let expires_at =
        crate::audit::expires_at(engine.clock.now(), engine.config.scan_retention_days);
    let scanned = scan_with(engine, accounts, target, engine.config.scan_remediate).await;
    let reason = match scanned {
        Ok(o) if o.ok => {
            log_scanned(&o);
            if !engine.store.enabled() {
                return JobEnd::Scanned;
            }
            let result = crate::fleet::scanned_result(&job.scan_id, engine.clock.now(), &o);
            return match engine
                .store
                .save_scan_result(&job.scan_id, &job.account, &result, expires_at)
                .await
            {
                Ok(()) => JobEnd::Scanned,
                Err(e) => {
                    tracing::warn!(account = %job.account, error = %e, "the scan result could not be stored; tried again");
                    JobEnd::Retry(format!("account {}: {e}", job.account))
                }
            };
        }
        Ok(o) => {
            let failed: Vec<&str> = o
                .results
                .iter()
                .flat_map(|r| &r.results)
                .filter(|s| s.status == Status::Failed)
                .map(|s| s.detail.as_str())
                .collect();
            format!(
                "account {}: {} steps failed: {}",
                job.account,
                failed.len(),
                failed.join("; ")
            )
        }
        Err(e) => format!("account {}: {e}", job.account),
    };
    if attempts < max {
        tracing::warn!(account = %job.account, attempts, max, reason = %reason, "scan failed; tried again");
        return JobEnd::Retry(reason);
    }
    tracing::error!(account = %job.account, attempts, reason = %reason, "scan failed for the last time; dead-lettered");
    if let Err(e) = queue.dead_letter(&job, &reason, attempts).await {
        return JobEnd::Retry(format!("{reason}; and {e}"));
    }
    let result = crate::fleet::failed_result(&job, engine.clock.now(), attempts, &reason);
    if !engine.store.enabled() {
        return JobEnd::DeadLettered(reason);
    }
    if let Err(e) = engine
        .store
        .save_scan_result(&job.scan_id, &job.account, &result, expires_at)
        .await
    {
        tracing::error!(account = %job.account, error = %e, "the failed scan's reason could not be stored");
    }
    JobEnd::DeadLettered(reason)
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
        Ok(Reply::Scanned { accounts, .. }) => accounts
            .iter()
            .flat_map(|a| crate::metrics::scanned(a.roles, &a.findings_by_severity, now_ms))
            .collect(),
        Ok(Reply::Ignored { .. } | Reply::Enqueued { .. } | Reply::ScanBatch(_)) => vec![],
        Err(_) => vec![crate::metrics::failed(now_ms)],
    }
}
