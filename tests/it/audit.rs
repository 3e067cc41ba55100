//! The audit table against moto (DynamoDB and IAM): write-ahead records with
//! the original documents and a TTL, idempotency under concurrent delivery,
//! and exact reverts to a role's baseline.

use super::moto::{create_role, inline_policy, Moto, LAMBDA_TRUST};
use crate::calls::handle_with;
use aws_sdk_dynamodb::types::AttributeValue;
use roleguard::adapters::{dynamodb::DynamoStore, iam::AwsIam};
use roleguard::config::Config;
use roleguard::engine::Counting;
use roleguard::event::Event;
use roleguard::outcome::Status;
use roleguard::ports::NoChannels;
use roleguard::ports::Store;
use serde_json::{json, Value};

const TABLE: &str = "roleguard-audit";

fn sample(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(super::root().join("events").join(name)).unwrap())
        .unwrap()
}

fn event(v: Value) -> Event {
    Event::from_value(v).unwrap()
}

async fn store(moto: &Moto) -> (DynamoStore, aws_sdk_dynamodb::Client) {
    let store = moto.audit_table(TABLE).await;
    (
        store,
        aws_sdk_dynamodb::Client::new(&moto.sdk_config().await),
    )
}

async fn record(ddb: &aws_sdk_dynamodb::Client, event_id: &str) -> (String, i64, Value) {
    let item = ddb
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(format!("event#{event_id}")))
        .send()
        .await
        .unwrap()
        .item
        .expect("an audit record");
    let s = |k: &str| item[k].as_s().unwrap().clone();
    (
        s("status"),
        item["expires_at"].as_n().unwrap().parse().unwrap(),
        serde_json::from_str(&s("detail")).unwrap(),
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn the_audit_record_keeps_the_removed_document_and_expires() {
    let moto = Moto::start();
    let iam = moto.iam();
    let (store, ddb) = store(&moto).await;
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    let e = sample("put-inline-passrole.noncompliant.json");
    let bad = e["detail"]["requestParameters"]["policyDocument"]
        .as_str()
        .unwrap()
        .to_string();
    iam.put_role_policy()
        .role_name("app-lambda")
        .policy_name("deploy")
        .policy_document(&bad)
        .send()
        .await
        .unwrap();
    let o = handle_with(
        &AwsIam::new(iam.clone()),
        &store,
        &NoChannels,
        &event(e),
        &Config::default(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(o.results[0].status, Status::Done);
    let (status, expires_at, detail) = record(&ddb, "eb-0008").await;
    assert_eq!(status, "completed");
    let year = 365 * 86_400;
    assert!((expires_at - (now() + year)).abs() < 120, "{expires_at}");
    assert_eq!(detail["plan"][0]["action"], "delete_role_policy");
    assert_eq!(
        detail["plan"][0]["removed_document"],
        serde_json::from_str::<Value>(&bad).unwrap(),
        "the deleted document is in the record"
    );
    assert_eq!(detail["results"][0]["status"], "done");
    assert_eq!(detail["actor"], "arn:aws:iam::111122223333:role/deployer");
}

#[tokio::test]
async fn concurrent_deliveries_act_once() {
    let moto = Moto::start();
    let iam = moto.iam();
    let (store, ddb) = store(&moto).await;
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    let e = event(sample("attach-admin.noncompliant.json"));
    let config = Config::default();
    let (a, b) = (
        Counting::new(AwsIam::new(iam.clone())),
        Counting::new(AwsIam::new(iam.clone())),
    );
    let (x, y) = tokio::join!(
        handle_with(&a, &store, &NoChannels, &e, &config, false),
        handle_with(&b, &store, &NoChannels, &e, &config, false)
    );
    // Exactly one delivery acts; the other finds the claim held and fails,
    // so that EventBridge retries it (it then finds the event completed).
    let (acted, other) = match (x, y) {
        (Ok(o), Err(e)) | (Err(e), Ok(o)) => (o, e),
        (x, y) => panic!("exactly one delivery acts: {x:?} {y:?}"),
    };
    assert_eq!(acted.results[0].status, Status::Done);
    let why = other.to_string();
    assert!(
        why.starts_with("event eb-0006 is being handled by another invocation"),
        "{why}"
    );
    // The one that did not act changed nothing: it read the role to judge
    // the change (GetRole, ListAttachedRolePolicies, ListRolePolicies) and
    // made no other call.
    assert_eq!(a.calls().min(b.calls()), 3);

    // Delivered again later: completed, nothing done twice.
    let again = handle_with(&a, &store, &NoChannels, &e, &config, false)
        .await
        .unwrap();
    assert!(again.results.is_empty());
    assert_eq!(
        again.assessment.skipped.as_deref(),
        Some(
            format!(
                "already handled: event eb-0006 is completed (since {})",
                record_started(&ddb, "eb-0006").await
            )
            .as_str()
        )
    );
}

async fn record_started(ddb: &aws_sdk_dynamodb::Client, event_id: &str) -> i64 {
    let item = ddb
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(format!("event#{event_id}")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    item["started_at"].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_bad_trust_policy_is_reverted_to_exactly_the_baseline() {
    let moto = Moto::start();
    let iam = moto.iam();
    let (store, _) = store(&moto).await;
    let config = Config::default();
    let aws = AwsIam::new(iam.clone());
    let doc = |name: &str| {
        sample(name)["detail"]["requestParameters"]["policyDocument"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A compliant trust policy becomes the role's baseline.
    let good = doc("update-trust-github-pinned.compliant.json");
    create_role(&iam, "ci-deploy", &good).await;
    let o = handle_with(
        &aws,
        &store,
        &NoChannels,
        &event(sample("update-trust-github-pinned.compliant.json")),
        &config,
        false,
    )
    .await
    .unwrap();
    assert!(o.results.is_empty());
    let b = store
        .baseline("111122223333", "ci-deploy")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.trust_policy, Some(serde_json::from_str(&good).unwrap()));

    // Then a bad one: put back exactly the baseline, not a sanitised copy.
    let bad = doc("update-trust-github-wildcard.noncompliant.json");
    iam.update_assume_role_policy()
        .role_name("ci-deploy")
        .policy_document(&bad)
        .send()
        .await
        .unwrap();
    let o = handle_with(
        &aws,
        &store,
        &NoChannels,
        &event(sample("update-trust-github-wildcard.noncompliant.json")),
        &config,
        false,
    )
    .await
    .unwrap();
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    let role = iam.get_role().role_name("ci-deploy").send().await.unwrap();
    let now_trust =
        roleguard::policy::decode(role.role().unwrap().assume_role_policy_document().unwrap())
            .unwrap();
    assert_eq!(now_trust, serde_json::from_str::<Value>(&good).unwrap());

    // Without a table, the same event removes only the offending statement.
    iam.update_assume_role_policy()
        .role_name("ci-deploy")
        .policy_document(&bad)
        .send()
        .await
        .unwrap();
    let o = crate::calls::handle(
        &aws,
        &event(sample("update-trust-github-wildcard.noncompliant.json")),
        &config,
        false,
    )
    .await
    .unwrap();
    let roleguard::plan::Step::UpdateAssumeRolePolicy {
        policy_document, ..
    } = &o.results[0].step
    else {
        panic!("{:?}", o.results)
    };
    assert_ne!(
        *policy_document,
        serde_json::from_str::<Value>(&good).unwrap()
    );
}

#[tokio::test]
async fn a_bad_inline_policy_is_replaced_by_its_previous_document() {
    let moto = Moto::start();
    let iam = moto.iam();
    let (store, ddb) = store(&moto).await;
    let config = Config::default();
    let aws = AwsIam::new(iam.clone());
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    // A compliant inline policy named "deploy" is put and recorded.
    let mut good_event = sample("put-inline-scoped.compliant.json");
    good_event["detail"]["requestParameters"]["policyName"] = json!("deploy");
    let good = good_event["detail"]["requestParameters"]["policyDocument"]
        .as_str()
        .unwrap()
        .to_string();
    iam.put_role_policy()
        .role_name("app-lambda")
        .policy_name("deploy")
        .policy_document(&good)
        .send()
        .await
        .unwrap();
    handle_with(
        &aws,
        &store,
        &NoChannels,
        &event(good_event),
        &config,
        false,
    )
    .await
    .unwrap();
    // Then overwritten with an escalation path.
    let bad_event = sample("put-inline-passrole.noncompliant.json");
    let bad = bad_event["detail"]["requestParameters"]["policyDocument"]
        .as_str()
        .unwrap()
        .to_string();
    iam.put_role_policy()
        .role_name("app-lambda")
        .policy_name("deploy")
        .policy_document(&bad)
        .send()
        .await
        .unwrap();
    let o = handle_with(&aws, &store, &NoChannels, &event(bad_event), &config, false)
        .await
        .unwrap();
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    assert_eq!(
        inline_policy(&iam, "app-lambda", "deploy").await,
        serde_json::from_str::<Value>(&good).unwrap(),
        "the previous document is back"
    );
    // The overwritten document is kept in the audit record.
    let (_, _, detail) = record(&ddb, "eb-0008").await;
    assert_eq!(detail["plan"][0]["action"], "put_role_policy");
    assert_eq!(
        detail["plan"][0]["replaced_document"],
        serde_json::from_str::<Value>(&bad).unwrap()
    );
}

#[tokio::test]
async fn events_with_nothing_to_do_are_recorded_once() {
    let moto = Moto::start();
    let (store, ddb) = store(&moto).await;
    let aws = Counting::new(AwsIam::new(moto.iam()));
    let e = event(sample("create-role-lambda.compliant.json"));
    let o = handle_with(&aws, &store, &NoChannels, &e, &Config::default(), false)
        .await
        .unwrap();
    assert!(o.results.is_empty() && o.assessment.skipped.is_none());
    let (status, _, detail) = record(&ddb, "eb-0002").await;
    assert_eq!(status, "completed");
    assert_eq!(detail["call"], "CreateRole");
    assert_eq!(detail["findings"], json!([]));
    let item = ddb
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S("event#eb-0002".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["event_time"].as_s().unwrap(), "2026-11-22T10:00:05Z");
    let again = handle_with(&aws, &store, &NoChannels, &e, &Config::default(), false)
        .await
        .unwrap();
    assert!(again
        .assessment
        .skipped
        .as_deref()
        .unwrap()
        .starts_with("already handled: event eb-0002 is completed"));
    assert_eq!(aws.calls(), 0, "no IAM call either time");
}
