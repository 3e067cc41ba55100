//! Alert channels against moto: SNS read back through an SQS subscription,
//! EventBridge through a rule that targets SQS, Security Hub through
//! GetFindings; a failing channel stops neither the remediation nor the others.

use super::moto::{attached, Moto};
use roleguard::audit::NoStore;
use roleguard::aws::{AwsChannels, AwsIam};
use roleguard::config::Config;
use roleguard::event::Event;
use roleguard::remediate::{handle_with, Status};
use serde_json::Value;

const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn event() -> Event {
    Event::parse(
        &std::fs::read_to_string(super::root().join("events/attach-admin.noncompliant.json"))
            .unwrap(),
    )
    .unwrap()
}

async fn bad_role(iam: &aws_sdk_iam::Client) {
    iam.create_role()
        .role_name("app-lambda")
        .assume_role_policy_document(LAMBDA_TRUST)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
}

/// A queue, and its ARN.
async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let arn = format!("arn:aws:sqs:us-east-1:{}:{name}", super::moto::ACCOUNT);
    (url, arn)
}

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

/// The Security Hub client's types are large enough to overflow a test
/// thread's 2 MiB stack in a debug build: run on a thread with more.
fn on_a_big_stack<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f)
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn alerts_reach_sns_eventbridge_and_security_hub() {
    on_a_big_stack(alerts_reach_every_channel());
}

async fn alerts_reach_every_channel() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let iam = moto.iam();
    bad_role(&iam).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name("roleguard-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let (sns_queue, sns_queue_arn) = queue(&sqs, "from-sns").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&sns_queue_arn)
        .send()
        .await
        .unwrap();

    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let (eb_queue, eb_queue_arn) = queue(&sqs, "from-eventbridge").await;
    events
        .put_rule()
        .name("roleguard-alerts")
        .event_pattern(r#"{"source": ["roleguard"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("roleguard-alerts")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&eb_queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let hub = aws_sdk_securityhub::Client::new(&sdk);
    hub.enable_security_hub().send().await.unwrap();

    let channels = AwsChannels::new(&sdk, Some(topic), Some("default".into()), true);
    let aws = AwsIam::new(iam.clone());
    let o = handle_with(
        &aws,
        &NoStore,
        &channels,
        &event(),
        &Config::default(),
        false,
    )
    .await
    .unwrap();
    assert!(o.ok, "{:?}", o.results);
    let notify = o.results.last().unwrap();
    assert_eq!(notify.status, Status::Done);
    assert_eq!(notify.detail, "delivered to sns, eventbridge, securityhub");
    assert!(attached(&iam, "app-lambda").await.is_empty());

    // SNS: subject, the alert as JSON, attributes for filter policies.
    let msgs = receive(&sqs, &sns_queue).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0]["Subject"],
        "roleguard CRITICAL reverted: AttachRolePolicy on app-lambda in 111122223333"
    );
    let alert: Value = serde_json::from_str(msgs[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(alert["schema"], "roleguard.alert/v1");
    assert_eq!(
        alert["role_arn"],
        "arn:aws:iam::111122223333:role/app-lambda"
    );
    assert_eq!(alert["actor"]["source_ip"], "203.0.113.10");
    assert_eq!(alert["steps"][0]["status"], "done");
    let attrs = &msgs[0]["MessageAttributes"];
    assert_eq!(attrs["severity"]["Value"], "critical");
    assert_eq!(attrs["action"]["Value"], "reverted");
    assert_eq!(attrs["account"]["Value"], "111122223333");

    // EventBridge: source roleguard, the alert as detail.
    let msgs = receive(&sqs, &eb_queue).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["source"], "roleguard");
    assert_eq!(msgs[0]["detail-type"], "roleguard alert");
    assert_eq!(msgs[0]["detail"]["call"], "AttachRolePolicy");

    // Security Hub: one finding per rule, resolved once reverted.
    let found = hub.get_findings().send().await.unwrap();
    let ids: Vec<&str> = found.findings().iter().filter_map(|f| f.id()).collect();
    assert_eq!(
        ids.len(),
        2,
        "perm-full-admin and perm-denied-managed-policy: {ids:?}"
    );
    assert!(ids.contains(&"roleguard/111122223333/app-lambda/perm-full-admin"));
    let f = &found.findings()[0];
    assert_eq!(
        f.workflow().and_then(|w| w.status()).map(|s| s.as_str()),
        Some("RESOLVED")
    );

    // The same event again: the findings are updated, not duplicated.
    handle_with(
        &aws,
        &NoStore,
        &channels,
        &event(),
        &Config::default(),
        false,
    )
    .await
    .unwrap();
    let found = hub.get_findings().send().await.unwrap();
    assert_eq!(found.findings().len(), 2);
}

#[tokio::test]
async fn a_failing_channel_stops_neither_the_revert_nor_the_others() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let iam = moto.iam();
    bad_role(&iam).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let (eb_queue, eb_queue_arn) = queue(&sqs, "from-eventbridge").await;
    events
        .put_rule()
        .name("roleguard-alerts")
        .event_pattern(r#"{"source": ["roleguard"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("roleguard-alerts")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&eb_queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // A topic that does not exist.
    let channels = AwsChannels::new(
        &sdk,
        Some("arn:aws:sns:us-east-1:111122223333:nowhere".into()),
        Some("default".into()),
        false,
    );
    let o = handle_with(
        &AwsIam::new(iam.clone()),
        &NoStore,
        &channels,
        &event(),
        &Config::default(),
        false,
    )
    .await
    .unwrap();
    assert!(!o.ok, "the invocation fails, so the event is retried");
    let statuses: Vec<Status> = o.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Done, Status::Done, Status::Failed]);
    let detail = &o.results[2].detail;
    assert!(
        detail.starts_with("delivered to eventbridge; failed: sns: NotFound"),
        "{detail}"
    );
    assert!(
        attached(&iam, "app-lambda").await.is_empty(),
        "reverted all the same"
    );
    assert_eq!(
        receive(&sqs, &eb_queue).await.len(),
        1,
        "EventBridge still got it"
    );
}
