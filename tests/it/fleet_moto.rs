//! The organisation-scale scan against moto (Organizations, STS, IAM, SQS,
//! DynamoDB): an organisation of 50 accounts listed through the management
//! account's read role, the schedule putting 50
//! messages on a real SQS queue, the messages consumed as Lambda's
//! event-source mapping consumes them (ReceiveMessage with the receive
//! count, the partial-batch response, failed messages made visible again,
//! the others deleted), bad roles planted in 5 accounts, and one account
//! without the remediation role ending in the dead-letter queue with its
//! reason while the other 49 complete.
//!
//! moto lets any role be assumed, even one that does not exist. With its
//! IAM authorization switched on (`/moto-api/reset-auth`), a session of a
//! role that does not exist is refused every IAM call instead (moto answers
//! them with an internal error; AWS refuses the AssumeRole itself, with
//! AccessDenied, which the in-memory test in tests/it/fleet.rs plays).

use super::moto::{Moto, DEFAULT_ACCOUNT, LAMBDA_TRUST};
use roleguard::adapters::dynamodb::DynamoStore;
use roleguard::adapters::organizations::AwsOrganization;
use roleguard::adapters::sqs::AwsScanQueue;
use roleguard::adapters::sts::{AwsAccounts, MemberAccess};
use roleguard::config::Config;
use roleguard::engine::{Engine, Mode, OrgCache};
use roleguard::lambda::{invoke, Fleet, Reply};
use roleguard::ports::{NoChannels, Store, SystemClock};
use serde_json::{json, Value};
use std::io::{Read, Write};

const REMEDIATION_ROLE: &str = "roleguard-remediation";
const ADMIN_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const PUBLIC_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

/// Switch moto's IAM authorization on: from now on every request is judged
/// by the caller's IAM policies.
fn enforce_auth(moto: &Moto) {
    let addr = moto.endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1\r\nConnection: close\r\n\r\n0"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn sdk_with(
    moto: &Moto,
    key: &str,
    secret: &str,
    token: Option<String>,
) -> aws_config::SdkConfig {
    // Two attempts: moto's refusals are not worth the SDK's six.
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            key, secret, token, None, "t",
        ))
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(std::time::Duration::from_millis(50)),
        )
        .load()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_of_50_accounts_is_scanned_through_the_queue() {
    let moto = Moto::start_many_accounts();
    let setup = moto.sdk_config().await;

    // The organisation: the management account (the function's own here)
    // and 49 member accounts.
    let orgs = aws_sdk_organizations::Client::new(&setup);
    let org_id = orgs
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap()
        .organization()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let mut members = Vec::new();
    for i in 0..49 {
        let out = orgs
            .create_account()
            .email(format!("member-{i}@example.com"))
            .account_name(format!("member-{i}"))
            .send()
            .await
            .unwrap();
        members.push(
            out.create_account_status()
                .unwrap()
                .account_id()
                .unwrap()
                .to_string(),
        );
    }
    // Bad roles in 5 accounts; no remediation role in one.
    let bad: Vec<String> = [3, 11, 20, 33, 47]
        .iter()
        .map(|&i| members[i].clone())
        .collect();
    let missing = members[25].clone();
    for account in &members {
        if *account == missing {
            continue;
        }
        let iam = moto.iam_in(account).await;
        super::moto::create_role(&iam, REMEDIATION_ROLE, &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        ))
        .await;
        iam.put_role_policy()
            .role_name(REMEDIATION_ROLE)
            .policy_name("admin")
            .policy_document(ADMIN_POLICY)
            .send()
            .await
            .unwrap();
        super::moto::create_role(&iam, "app", LAMBDA_TRUST).await;
        if bad.contains(account) {
            super::moto::create_role(&iam, "open-door", PUBLIC_TRUST).await;
        }
    }
    // The function's identity in the central account: an IAM user with admin.
    let iam = moto.iam();
    iam.create_user()
        .user_name("roleguard")
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("roleguard")
        .policy_name("admin")
        .policy_document(ADMIN_POLICY)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("roleguard")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    // The queue and its dead-letter queue; the audit table.
    let sqs = aws_sdk_sqs::Client::new(&setup);
    let dlq_url = sqs
        .create_queue()
        .queue_name("roleguard-scan-dlq")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name("roleguard-scan")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, json!({
            "deadLetterTargetArn": format!("arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:roleguard-scan-dlq"),
            "maxReceiveCount": "5"}).to_string())
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    moto.audit_table("roleguard-audit").await;
    // The management account's read role (template-org-reader.yaml): it may
    // list the accounts and nothing else; with moto's authorization on, the
    // listing goes through its policy (without ListAccounts in it, the scan
    // fails: tried by hand).
    super::moto::create_role(
        &iam,
        "roleguard-org-reader",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEFAULT_ACCOUNT}:user/roleguard"}},"Action":"sts:AssumeRole"}}]}}"#
        ),
    )
    .await;
    iam.put_role_policy()
        .role_name("roleguard-org-reader")
        .policy_name("list-accounts")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:ListAccounts","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();

    enforce_auth(&moto);
    let sdk = sdk_with(&moto, key.access_key_id(), key.secret_access_key(), None).await;
    let accounts = AwsAccounts::new(
        sdk.clone(),
        Some(MemberAccess {
            role_name: REMEDIATION_ROLE.into(),
            external_id: None,
        }),
    );
    let store = DynamoStore::new(&sdk, Some("roleguard-audit".into()));
    let queue = AwsScanQueue::new(&sdk, queue_url.clone(), dlq_url.clone());
    let read_role = format!("arn:aws:iam::{DEFAULT_ACCOUNT}:role/roleguard-org-reader");
    let org = OrgCache::new(AwsOrganization::new(&sdk, Some(&read_role)).await, 3600);
    let mut config = Config {
        organization_id: Some(org_id),
        ..Config::default()
    };
    config.set_remediation_role(REMEDIATION_ROLE);
    let engine = Engine::new(&config, &store, &NoChannels, &SystemClock, Mode::Enforce);
    let fleet = Fleet {
        org: Some(&org),
        queue: Some(&queue),
    };

    // The schedule: 50 messages.
    let scheduled = json!({
        "version": "0", "id": "sched-1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": DEFAULT_ACCOUNT, "time": "2026-11-28T03:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {}
    });
    let Reply::Enqueued {
        scan_id,
        accounts: enqueued,
        requests,
        ..
    } = invoke(&engine, &accounts, &fleet, scheduled).await.unwrap()
    else {
        panic!("the schedule enqueues")
    };
    assert_eq!(enqueued, 50);
    assert_eq!(requests, 5);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let waiting = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        waiting.attributes().unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
        "50"
    );

    // The event-source mapping: batches of 10 until the queue is empty.
    let mut invocations = 0;
    let mut empty = 0;
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = got.messages();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        invocations += 1;
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes()
                    .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect())
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                    "body": m.body(), "attributes": attributes, "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(), "eventSource": "aws:sqs",
                    "eventSourceARN": format!("arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:roleguard-scan"),
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        let reply = invoke(&engine, &accounts, &fleet, json!({ "Records": records }))
            .await
            .unwrap();
        let response = reply.response();
        let failed: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect();
        for m in messages {
            if failed.contains(&m.message_id().unwrap()) {
                sqs.change_message_visibility()
                    .queue_url(&queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                sqs.delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    assert!(invocations >= 5, "{invocations}");

    // The dead-letter queue: the account without its role, with the reason.
    let dead = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let dead = dead.messages();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let body: Value = serde_json::from_str(dead[0].body().unwrap()).unwrap();
    assert_eq!(body["account"], json!(missing));
    assert_eq!(body["attempts"], json!(3));
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "account {missing}: reading the roles of account {missing} from IAM"
        )),
        "{reason}"
    );
    let attributes = dead[0].message_attributes().unwrap();
    assert_eq!(attributes["account"].string_value(), Some(missing.as_str()));

    // The stored results: 49 scanned, one failed with the same reason; the
    // bad roles found in exactly the 5 accounts.
    let (index, results) = store.latest_scan().await.unwrap().unwrap();
    assert_eq!(index.scan_id, scan_id);
    assert_eq!(index.accounts.len(), 50);
    assert_eq!(results.len(), 50);
    let mut found = Vec::new();
    for r in &results {
        let account = r["account"].as_str().unwrap().to_string();
        if account == missing {
            assert_eq!(r["error"].as_str(), Some(reason));
            continue;
        }
        assert!(r["error"].is_null(), "{account}: {r}");
        let any: Vec<&Value> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|role| {
                role["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["rule"] == "trust-any-principal")
            })
            .collect();
        if !any.is_empty() {
            assert_eq!(any.len(), 1);
            assert!(
                any[0]["path"].as_str().unwrap().contains("open-door"),
                "{}",
                any[0]["path"]
            );
            found.push(account);
        }
    }
    found.sort();
    let mut expected = bad.clone();
    expected.sort();
    assert_eq!(found, expected);

    // `roleguard report --table` renders the stored scan: the trust finding
    // in each of the 5 accounts, and the account that was not scanned with
    // its reason.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(["report", "--table", "roleguard-audit", "--format", "csv"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", key.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", key.secret_access_key())
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut public: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",trust-any-principal,"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    public.sort();
    assert_eq!(public, expected, "{csv}");
    let not_scanned: Vec<&str> = csv
        .lines()
        .filter(|l| l.ends_with(",not scanned"))
        .collect();
    assert_eq!(not_scanned.len(), 1, "{csv}");
    assert!(not_scanned[0].starts_with(&format!("{missing},")), "{csv}");
}
