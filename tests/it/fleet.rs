//! The organisation-scale scan on the in-memory adapters: the organisation's
//! accounts (and their cache), the schedule putting one message per account
//! on the queue, the messages consumed as Lambda's event-source mapping
//! consumes them (batches, partial-batch failures, receive counts), the
//! dead-letter queue with its reasons, and the results stored. The same on
//! moto: tests/it/fleet_moto.rs.

use roleguard::adapters::memory::{
    sqs_event, ManualClock, MemoryAccounts, MemoryIam, MemoryOrganization, MemoryQueue,
    MemoryStore, RecordingChannels,
};
use roleguard::config::Config;
use roleguard::engine::{Engine, Mode, OrgCache};
use roleguard::lambda::{invoke, Fleet, InvocationError, Reply};
use roleguard::ports::Store;
use roleguard::snapshot::RoleSnapshot;
use serde_json::{json, Value};
use std::sync::Arc;

const OWN: &str = "111122223333";
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:111122223333:roleguard-scan";
const T0: i64 = 1_795_341_600; // 2026-11-22T10:00:00Z

/// A member account's id: 2000000000nn.
fn member(i: usize) -> String {
    format!("2000000000{i:02}")
}

fn public_role(account: &str, name: &str) -> RoleSnapshot {
    RoleSnapshot {
        name: name.into(),
        arn: format!("arn:aws:iam::{account}:role/{name}"),
        path: "/".into(),
        trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
        max_session_duration: 3600,
        permissions_boundary: None,
        attached: vec![],
        inline: vec![],
    }
}

pub fn scheduled(time: &str) -> Value {
    json!({
        "version": "0", "id": format!("sched-{time}"), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": OWN, "time": time,
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:111122223333:rule/roleguard-scan"],
        "detail": {}
    })
}

/// An organisation of `members` member accounts besides the function's own:
/// every account holds a Lambda role; the accounts in `bad` also a role
/// that trusts anyone; the accounts in `missing` have no remediation role
/// (they cannot be reached).
struct Org {
    accounts: MemoryAccounts,
    org: OrgCache<MemoryOrganization>,
    queue: MemoryQueue,
    store: MemoryStore,
    channels: RecordingChannels,
    clock: ManualClock,
    config: Config,
    iams: Vec<Arc<MemoryIam>>,
}

impl Org {
    fn new(members: usize, bad: &[usize], missing: &[usize]) -> Org {
        let own = Arc::new(MemoryIam::new(OWN));
        own.put_lambda_role("roleguard-function", vec![]);
        let mut accounts = MemoryAccounts::new(own.clone());
        let mut ids = vec![OWN.to_string()];
        let mut iams = vec![own];
        for i in 0..members {
            let id = member(i);
            ids.push(id.clone());
            if missing.contains(&i) {
                continue;
            }
            let iam = Arc::new(MemoryIam::new(&id));
            iam.put_lambda_role("app", vec![]);
            if bad.contains(&i) {
                iam.put_role_trusting("open-door", public_role(&id, "open-door").trust_policy);
            }
            accounts = accounts.with(iam.clone());
            iams.push(iam);
        }
        let config = Config {
            organization_id: Some("o-a1b2c3d4e5".into()),
            ..Config::default()
        };
        Org {
            accounts,
            org: OrgCache::new(
                MemoryOrganization::with_accounts(&ids),
                config.organization.accounts_ttl_seconds,
            ),
            queue: MemoryQueue::new(),
            store: MemoryStore::new(),
            channels: RecordingChannels::new(),
            clock: ManualClock::at(T0),
            config,
            iams,
        }
    }

    async fn invoke(&self, payload: Value) -> Result<Reply, InvocationError> {
        let engine = Engine::new(
            &self.config,
            &self.store,
            &self.channels,
            &self.clock,
            Mode::Enforce,
        );
        let fleet = Fleet {
            org: Some(&self.org),
            queue: Some(&self.queue),
        };
        invoke(&engine, &self.accounts, &fleet, payload).await
    }

    /// Consume the queue as the event-source mapping does, batches of
    /// `batch`, until it is empty: the invocations made.
    async fn drain(&self, batch: usize) -> usize {
        let mut invocations = 0;
        loop {
            let got = self.queue.receive(batch);
            if got.is_empty() {
                return invocations;
            }
            invocations += 1;
            let reply = self.invoke(sqs_event(&got, QUEUE_ARN)).await.unwrap();
            let response = reply.response();
            let failed: Vec<String> = response["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                response.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["batchItemFailures"],
                "the function answers the event-source mapping with the partial-batch response only"
            );
            self.queue.settle(&got, &failed);
            self.clock.advance(30);
        }
    }
}

fn rules_of(result: &Value) -> Vec<String> {
    result["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
                .map(|f| f["rule"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_schedule_fans_out_one_message_per_account_and_a_missing_role_ends_in_the_dead_letter_queue(
) {
    let org = Org::new(20, &[2, 7, 11], &[5]);
    // One account of the organisation is suspended, one excluded.
    org.org.organization().add("300000000001", "SUSPENDED");
    let mut org = org;
    org.config.organization.exclude_accounts = vec![member(19)];

    let Reply::Enqueued {
        scan_id,
        accounts,
        excluded,
        inactive,
        requests,
    } = org.invoke(scheduled("2026-11-22T03:00:00Z")).await.unwrap()
    else {
        panic!("the schedule enqueues when there is a queue")
    };
    assert_eq!(scan_id, "2026-11-22T03:00:00Z");
    assert_eq!(accounts, 20, "the own account and 19 of the 20 members");
    assert_eq!(excluded, vec![member(19)]);
    assert_eq!(inactive, vec!["300000000001 (SUSPENDED)"]);
    assert_eq!(requests, 2, "SendMessageBatch takes 10 messages");
    assert_eq!(org.queue.waiting(), 20);

    let invocations = org.drain(10).await;
    // 2 batches, then the failing account's two retries on its own.
    assert_eq!(invocations, 4);
    let dead = org.queue.dead_letters();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let (job, reason, attempts) = &dead[0];
    assert_eq!(job.account, member(5));
    assert_eq!(*attempts, 3);
    assert!(
        reason.contains(&format!("account {}", member(5))) && reason.contains("AccessDenied"),
        "{reason}"
    );

    // Every account has its result: the scanned ones their roles, the
    // missing one its reason.
    let (index, results) = org.store.latest_scan().await.unwrap().unwrap();
    assert_eq!(index.scan_id, scan_id);
    assert_eq!(index.accounts.len(), 20);
    assert_eq!(results.len(), 20);
    let mut with_findings = vec![];
    for r in &results {
        let account = r["account"].as_str().unwrap().to_string();
        assert_eq!(r["scan_id"], json!(scan_id));
        if account == member(5) {
            assert_eq!(r["error"].as_str(), Some(reason.as_str()));
            continue;
        }
        assert!(r["error"].is_null(), "{r}");
        if rules_of(r).contains(&"trust-any-principal".to_string()) {
            with_findings.push(account);
        }
    }
    with_findings.sort();
    assert_eq!(with_findings, vec![member(2), member(7), member(11)]);
    // The scan reports (scan_remediate is off): nothing was changed.
    assert!(org.iams.iter().all(|i| i.changes() == 0));
    // The organisation was read once for the whole scan (the cache).
    assert_eq!(org.org.organization().reads(), 1);
}

#[tokio::test]
async fn a_second_delivery_of_the_schedule_is_the_same_scan() {
    let org = Org::new(3, &[], &[]);
    for _ in 0..2 {
        org.invoke(scheduled("2026-11-22T03:00:00Z")).await.unwrap();
    }
    assert_eq!(
        org.queue.waiting(),
        8,
        "each delivery enqueues (EventBridge may deliver twice)"
    );
    org.drain(10).await;
    let (index, results) = org.store.latest_scan().await.unwrap().unwrap();
    assert_eq!(index.scan_id, "2026-11-22T03:00:00Z");
    assert_eq!(
        results.len(),
        4,
        "one result per account, whatever the deliveries"
    );
    assert!(org.queue.dead_letters().is_empty());
}

#[tokio::test]
async fn a_message_that_is_no_job_is_dead_lettered_at_once() {
    let org = Org::new(1, &[], &[]);
    org.queue
        .push_raw("{\"account\":\"not-an-account\",\"scan_id\":\"x\"}");
    org.queue.push_raw("<html>");
    assert_eq!(org.drain(10).await, 1);
    let dead = org.queue.dead_letters();
    assert_eq!(dead.len(), 2);
    assert!(
        dead[0].1.contains("not a 12-digit account id"),
        "{}",
        dead[0].1
    );
    assert!(dead[1].1.contains("is not a scan job"), "{}", dead[1].1);
    assert!(dead.iter().all(|d| d.2 == 1));
}

#[tokio::test]
async fn the_store_down_sends_the_messages_back_and_they_succeed_later() {
    let org = Org::new(2, &[0], &[]);
    org.invoke(scheduled("2026-11-22T03:00:00Z")).await.unwrap();
    org.store.set_down(true);
    let got = org.queue.receive(10);
    let reply = org.invoke(sqs_event(&got, QUEUE_ARN)).await.unwrap();
    let Reply::ScanBatch(b) = &reply else {
        panic!()
    };
    assert_eq!(b.response.batch_item_failures.len(), 3, "{b:?}");
    assert!(b
        .retried
        .iter()
        .all(|(_, why)| why.contains("the table cannot be reached")));
    org.queue.settle(
        &got,
        &b.retried
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
    );
    org.store.set_down(false);
    org.drain(10).await;
    let (_, results) = org.store.latest_scan().await.unwrap().unwrap();
    assert_eq!(results.len(), 3);
    assert!(org.queue.dead_letters().is_empty());
}

#[tokio::test]
async fn organizations_down_fails_the_schedule_until_accounts_were_read_once() {
    let org = Org::new(2, &[], &[]);
    org.org.organization().set_down(true);
    let err = org
        .invoke(scheduled("2026-11-22T03:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "the organisation's accounts: Organizations ListAccounts: AccessDeniedException"
        ),
        "{err}"
    );
    assert_eq!(org.queue.waiting(), 0, "nothing is enqueued on a guess");
    org.org.organization().set_down(false);
    org.invoke(scheduled("2026-11-22T03:00:00Z")).await.unwrap();
    assert_eq!(org.org.organization().reads(), 2);
    // Past the TTL and down again: the accounts read before are used.
    org.clock
        .advance(i64::from(org.config.organization.accounts_ttl_seconds) + 1);
    org.org.organization().set_down(true);
    let Reply::Enqueued { accounts, .. } =
        org.invoke(scheduled("2026-11-22T04:00:00Z")).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(accounts, 3);
    assert_eq!(org.org.organization().reads(), 3);
}

/// An UpdateAssumeRolePolicy of `vendor-audit` to trust `account` with an
/// ExternalId.
fn trust_update(id: &str, account: &str) -> Value {
    let text = std::fs::read_to_string(
        super::root().join("events/update-trust-foreign-account.noncompliant.json"),
    )
    .unwrap();
    let mut p: Value = serde_json::from_str(&text).unwrap();
    p["id"] = json!(id);
    p["detail"]["eventID"] = json!(format!("ct-{id}"));
    p["detail"]["requestParameters"]["policyDocument"] = json!(json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "x-1234"}}}]})
    .to_string());
    p
}

#[tokio::test]
async fn a_trust_to_an_account_outside_the_organisation_is_reverted_one_inside_is_not() {
    let org = Org::new(3, &[], &[]);
    let own = &org.iams[0];
    let mut vendor = public_role(OWN, "vendor-audit");
    vendor.trust_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    own.put_role(&vendor);

    // A member of the organisation, with no trusted_accounts configured: fine.
    let inside = trust_update("ev-1", &member(1));
    own.put_role(&RoleSnapshot {
        trust_policy: serde_json::from_str(
            inside["detail"]["requestParameters"]["policyDocument"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
        ..vendor.clone()
    });
    let Reply::Handled(o) = org.invoke(inside).await.unwrap() else {
        panic!()
    };
    assert!(
        o.assessment.judgement.findings.is_empty(),
        "{:?}",
        o.assessment.judgement.findings
    );
    assert_eq!(own.changes(), 0);

    // An account outside it: trust-untrusted-account, reverted.
    let outside = trust_update("ev-2", "999988887777");
    own.put_role(&RoleSnapshot {
        trust_policy: serde_json::from_str(
            outside["detail"]["requestParameters"]["policyDocument"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
        ..vendor.clone()
    });
    let Reply::Handled(o) = org.invoke(outside).await.unwrap() else {
        panic!()
    };
    let rules: Vec<&str> = o
        .assessment
        .judgement
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules, ["trust-untrusted-account"]);
    assert!(
        o.assessment.judgement.findings[0]
            .message
            .contains("outside organisation o-a1b2c3d4e5"),
        "{}",
        o.assessment.judgement.findings[0].message
    );
    let trust = own.role("vendor-audit").unwrap().trust_policy;
    assert!(
        !trust.to_string().contains("999988887777"),
        "reverted: {trust}"
    );
    // The organisation was read once for both events.
    assert_eq!(org.org.organization().reads(), 1);

    // Without the organisation's accounts (no Organizations), the same
    // change is no finding: nothing says the account is foreign.
    let plain = Config::default();
    let engine = Engine::new(&plain, &org.store, &org.channels, &org.clock, Mode::DryRun);
    let again = trust_update("ev-3", "999988887777");
    let Reply::Handled(o) = invoke(&engine, &org.accounts, &Fleet::none(), again)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(o.assessment.judgement.findings.is_empty());
}
