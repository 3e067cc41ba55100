//! The engine through faults, on the in-memory adapters: IAM throttling, an
//! invocation that dies after its claim, the audit table down, a channel
//! that fails, a revert IAM refuses. No moto, no sleeping: the clock is
//! injected and moved.

use roleguard::adapters::memory::{
    ManualClock, MemoryAccounts, MemoryIam, MemoryStore, RecordingChannels,
};
use roleguard::audit::{RecordStatus, CLAIM_LEASE_SECS};
use roleguard::config::Config;
use roleguard::engine::{Engine, HandleError, Mode};
use roleguard::lambda::{handle_payload, InvocationError, Reply};
use roleguard::outcome::Status;
use roleguard::rules::Severity;
use serde_json::{json, Value};
use std::sync::Arc;

const ACCOUNT: &str = "111122223333";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess";
/// When the events happen (seconds since the epoch): 2026-11-22T10:00:00Z.
const T0: i64 = 1_795_341_600;

/// An IAM holding `roles` Lambda roles `app-0`.., each with `attached`.
fn iam_with(roles: usize, attached: impl Fn(usize) -> Vec<String>) -> Arc<MemoryIam> {
    let iam = MemoryIam::new(ACCOUNT);
    for i in 0..roles {
        iam.put_lambda_role(&format!("app-{i}"), attached(i));
    }
    Arc::new(iam)
}

/// The EventBridge payload of an AttachRolePolicy of `policy` to `role`.
fn attach(id: &str, role: &str, policy: &str) -> Value {
    let text = std::fs::read_to_string(super::root().join("events/attach-admin.noncompliant.json"))
        .unwrap();
    let mut p: Value = serde_json::from_str(&text).unwrap();
    p["id"] = json!(id);
    p["detail"]["eventID"] = json!(format!("ct-{id}"));
    p["detail"]["requestParameters"] = json!({"roleName": role, "policyArn": policy});
    p
}

fn attached(iam: &MemoryIam, role: &str) -> Vec<String> {
    iam.role(role).map(|r| r.attached).unwrap_or_default()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One account's in-memory IAM, the audit table, recording channels and a
/// clock at T0, with the default configuration.
struct World {
    iam: Arc<MemoryIam>,
    accounts: MemoryAccounts,
    store: MemoryStore,
    channels: RecordingChannels,
    clock: ManualClock,
    config: Config,
}

impl World {
    fn new(iam: Arc<MemoryIam>) -> World {
        World {
            accounts: MemoryAccounts::new(iam.clone()),
            iam,
            store: MemoryStore::new(),
            channels: RecordingChannels::new(),
            clock: ManualClock::at(T0),
            config: Config::default(),
        }
    }

    /// A world with one Lambda role, `app-0`, holding AdministratorAccess.
    fn one_admin_role() -> World {
        World::new(iam_with(1, |_| vec![ADMIN.into()]))
    }

    /// Deliver one EventBridge payload to the handler, enforcing.
    fn deliver(&self, payload: Value) -> Result<Reply, InvocationError> {
        let engine = Engine::new(
            &self.config,
            &self.store,
            &self.channels,
            &self.clock,
            Mode::Enforce,
        );
        runtime().block_on(handle_payload(&engine, &self.accounts, payload))
    }

    fn detaches(&self) -> usize {
        self.iam
            .answered()
            .iter()
            .filter(|c| **c == "DetachRolePolicy")
            .count()
    }
}

/// IAM throttles 30% of all calls (what is left once the SDK's retries are
/// spent, made far worse than IAM is). Each event is delivered until its
/// invocation succeeds, as EventBridge retries. Every non-compliant change
/// ends reverted, exactly once; every compliant one is left alone; no
/// outcome reports a step done that IAM did not make.
#[test]
fn throttling_on_a_third_of_calls_ends_every_event_reverted_once() {
    const ROLES: usize = 30;
    let w = World::new(iam_with(ROLES, |i| {
        vec![if i % 3 == 0 { ADMIN } else { READ_ONLY }.to_string()]
    }));
    w.iam.throttle(0.3, 20261127);
    let (mut failures, mut deliveries) = (0, 0);
    for i in 0..ROLES {
        let policy = if i % 3 == 0 { ADMIN } else { READ_ONLY };
        let payload = attach(&format!("ev-{i}"), &format!("app-{i}"), policy);
        let mut attempt = 0;
        loop {
            attempt += 1;
            deliveries += 1;
            assert!(attempt <= 40, "event ev-{i} never succeeded");
            match w.deliver(payload.clone()) {
                Ok(Reply::Handled(o)) => {
                    assert!(o.ok);
                    // What the outcome says is done, IAM holds.
                    let detached = o.results.iter().any(|r| {
                        r.step.action() == "detach_role_policy"
                            && matches!(r.status, Status::Done | Status::Already)
                    });
                    assert_eq!(detached, i % 3 == 0, "ev-{i}: {o:?}");
                    break;
                }
                Ok(other) => panic!("ev-{i}: {other:?}"),
                Err(InvocationError::StepsFailed { outcome, .. }) => {
                    failures += 1;
                    // A failed invocation is recorded as failed, never done.
                    let record = w.store.record(&format!("ev-{i}")).unwrap();
                    assert_eq!(record.status, RecordStatus::Failed, "{outcome:?}");
                    assert!(outcome.results.iter().any(|r| r.status == Status::Failed));
                }
                Err(InvocationError::Handle(HandleError::Fetch { source, .. })) => {
                    failures += 1;
                    assert!(source.to_string().contains("Throttling"), "{source}");
                }
                Err(e) => panic!("ev-{i}: {e}"),
            }
            w.clock.advance(60);
        }
    }
    for i in 0..ROLES {
        let role = format!("app-{i}");
        let want: Vec<String> = if i % 3 == 0 {
            vec![]
        } else {
            vec![READ_ONLY.into()]
        };
        assert_eq!(attached(&w.iam, &role), want, "{role}");
        let record = w.store.record(&format!("ev-{i}")).unwrap();
        assert_eq!(record.status, RecordStatus::Completed, "ev-{i}");
    }
    assert_eq!(
        w.detaches(),
        ROLES / 3,
        "each admin attachment detached exactly once"
    );
    assert!(
        failures > 10,
        "throttling failed {failures} of {deliveries} deliveries: the test must bite"
    );
    eprintln!(
        "throttled 30%: {ROLES} events, {deliveries} deliveries, {failures} failed and retried"
    );
}

/// The invocation dies after its claim and before its completion. A retry
/// within the claim's lease fails (so EventBridge keeps retrying); the retry
/// after the lease takes over and finishes the job, once.
#[test]
fn an_invocation_that_dies_after_its_claim_is_finished_after_the_lease() {
    let w = World::one_admin_role();
    let payload = attach("ev-dies", "app-0", ADMIN);
    w.iam.die_on("DetachRolePolicy");
    let died =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.deliver(payload.clone())));
    assert!(died.is_err(), "the invocation died");
    let record = w.store.record("ev-dies").unwrap();
    assert_eq!(
        (record.status, record.started_at),
        (RecordStatus::Started, T0)
    );
    assert_eq!(attached(&w.iam, "app-0"), [ADMIN], "nothing was changed");

    w.clock.advance(60);
    let err = w.deliver(payload.clone()).unwrap_err();
    assert!(
        matches!(&err, InvocationError::Handle(HandleError::InProgress { retry_after, .. }) if *retry_after == T0 + CLAIM_LEASE_SECS),
        "{err}"
    );
    assert_eq!(attached(&w.iam, "app-0"), [ADMIN]);

    w.clock.advance(CLAIM_LEASE_SECS);
    let Reply::Handled(o) = w.deliver(payload.clone()).unwrap() else {
        panic!("handled")
    };
    assert!(o.ok && o.results[0].status == Status::Done, "{o:?}");
    assert!(attached(&w.iam, "app-0").is_empty());
    let record = w.store.record("ev-dies").unwrap();
    assert_eq!(
        (record.status, record.started_at),
        (RecordStatus::Completed, T0 + 60 + CLAIM_LEASE_SECS)
    );
    assert_eq!(w.detaches(), 1);
    // And once more: completed, nothing to do.
    let Reply::Handled(again) = w.deliver(payload).unwrap() else {
        panic!("handled")
    };
    assert!(again.results.is_empty() && again.assessment.skipped.unwrap().contains("is completed"));
}

/// With a table configured and unreachable, roleguard fails closed: it
/// changes nothing (no revert without its write-ahead record, which holds
/// the documents it would remove) and fails the invocation, which
/// EventBridge retries; once the table answers, the retry reverts.
#[test]
fn the_audit_table_down_changes_nothing_and_the_retry_reverts() {
    let w = World::one_admin_role();
    let payload = attach("ev-table", "app-0", ADMIN);
    w.store.set_down(true);
    let err = w.deliver(payload.clone()).unwrap_err();
    assert!(err.to_string().contains("ServiceUnavailable"), "{err}");
    assert_eq!(
        w.iam.changes(),
        0,
        "no change without the write-ahead record"
    );
    assert_eq!(attached(&w.iam, "app-0"), [ADMIN]);
    w.store.set_down(false);
    w.clock.advance(60);
    let Reply::Handled(o) = w.deliver(payload).unwrap() else {
        panic!("handled")
    };
    assert!(o.ok, "{o:?}");
    assert!(attached(&w.iam, "app-0").is_empty());
}

/// A channel that fails (Slack hung past its timeouts) neither stops nor
/// undoes the revert, and the others still get the alert; the invocation
/// fails so that the alert is retried, and the retry reverts nothing twice.
#[test]
fn a_failing_channel_leaves_the_revert_and_the_retry_reverts_nothing_twice() {
    let w = World::one_admin_role();
    w.channels
        .failing("slack", "no answer within 5 s after 3 attempts");
    let payload = attach("ev-slack", "app-0", ADMIN);
    let err = w.deliver(payload.clone()).unwrap_err();
    let InvocationError::StepsFailed { outcome, .. } = err else {
        panic!("{err}")
    };
    assert!(attached(&w.iam, "app-0").is_empty(), "reverted");
    let notify = outcome
        .results
        .iter()
        .find(|r| r.step.action() == "notify")
        .unwrap();
    assert_eq!(notify.status, Status::Failed);
    assert!(
        notify.detail.contains("delivered to recording")
            && notify.detail.contains("slack: no answer"),
        "{}",
        notify.detail
    );
    assert_eq!(w.channels.alerts().len(), 1);
    w.clock.advance(60);
    let _ = w.deliver(payload);
    assert_eq!(w.channels.alerts().len(), 2, "the retry alerts again");
    assert_eq!(w.detaches(), 1);
}

/// IAM refuses the revert (AccessDenied: the execution role lost its
/// permissions). The alert says so at critical severity, the record is
/// failed, and the invocation fails (retried, then dead-lettered, which the
/// template's DeadLetterAlarm reports).
#[test]
fn a_revert_iam_refuses_is_a_critical_alert_and_a_failed_invocation() {
    let w = World::one_admin_role();
    w.iam.deny_changes(true);
    let err = w.deliver(attach("ev-denied", "app-0", ADMIN)).unwrap_err();
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    assert_eq!(attached(&w.iam, "app-0"), [ADMIN]);
    assert_eq!(
        w.store.record("ev-denied").unwrap().status,
        RecordStatus::Failed
    );
    let alerts = w.channels.alerts();
    let (alert, _) = alerts.last().unwrap();
    assert_eq!(
        (alert.severity, alert.action),
        (Severity::Critical, "revert failed")
    );
}

/// The metrics one invocation writes (EMF): the totals, and the findings by
/// rule and severity.
#[test]
fn a_reverted_event_writes_its_metrics() {
    let w = World::one_admin_role();
    let reply = w.deliver(attach("ev-metrics", "app-0", ADMIN));
    let lines: Vec<Value> = roleguard::lambda::metric_lines(&reply, T0 * 1000)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let totals = &lines[0];
    assert_eq!(totals["_aws"]["Timestamp"], T0 * 1000);
    assert_eq!(
        (
            totals["EventsHandled"].as_u64(),
            totals["Reverts"].as_u64(),
            totals["Failures"].as_u64(),
            totals["Skipped"].as_u64()
        ),
        (Some(1), Some(1), Some(0), Some(0))
    );
    let findings: Vec<(String, String, u64)> = lines[1..]
        .iter()
        .map(|l| {
            (
                l["Rule"].as_str().unwrap().into(),
                l["Severity"].as_str().unwrap().into(),
                l["Findings"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        findings.contains(&("perm-full-admin".into(), "critical".into(), 1)),
        "{findings:?}"
    );
    // A failed invocation is one failure.
    let err: Result<Reply, InvocationError> = Err(InvocationError::BadEvent("x".into()));
    let failed: Value = serde_json::from_str(&roleguard::lambda::metric_lines(&err, 0)[0]).unwrap();
    assert_eq!(failed["Failures"], 1);
}
