//! Alert channels against moto: SNS read back through an SQS subscription,
//! EventBridge through a rule that targets SQS, Security Hub through
//! GetFindings; a failing channel stops neither the remediation nor the others.

use super::moto::{attached, create_role, Moto, LAMBDA_TRUST};
use crate::calls::handle_with;
use roleguard::adapters::{channels::AwsChannels, iam::AwsIam};
use roleguard::config::Config;
use roleguard::event::Event;
use roleguard::outcome::Outcome;
use roleguard::outcome::Status;
use roleguard::ports::NoStore;
use serde_json::Value;

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn event() -> Event {
    Event::parse(
        &std::fs::read_to_string(super::root().join("events/attach-admin.noncompliant.json"))
            .unwrap(),
    )
    .unwrap()
}

/// The sample event handled with these channels (no table, enforce mode).
async fn handle<I: roleguard::ports::Iam, C: roleguard::ports::Channels>(
    iam: &I,
    channels: &C,
) -> Outcome {
    handle_with(iam, &NoStore, channels, &event(), &Config::default(), false)
        .await
        .unwrap()
}

async fn bad_role(iam: &aws_sdk_iam::Client) {
    create_role(iam, "app-lambda", LAMBDA_TRUST).await;
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

/// A rule on the default bus that sends roleguard's alerts to a new queue.
async fn alerts_from_eventbridge(sdk: &aws_config::SdkConfig, sqs: &aws_sdk_sqs::Client) -> String {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let (url, arn) = queue(sqs, "from-eventbridge").await;
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
                .arn(&arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    url
}

/// A moto server with the bad role, and the queue that roleguard's
/// EventBridge alerts reach: (server, SDK config, IAM, SQS, queue URL).
async fn bad_role_alerting_eventbridge() -> (
    Moto,
    aws_config::SdkConfig,
    aws_sdk_iam::Client,
    aws_sdk_sqs::Client,
    String,
) {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let iam = moto.iam();
    bad_role(&iam).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let eb_queue = alerts_from_eventbridge(&sdk, &sqs).await;
    (moto, sdk, iam, sqs, eb_queue)
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

    let eb_queue = alerts_from_eventbridge(&sdk, &sqs).await;

    let hub = aws_sdk_securityhub::Client::new(&sdk);
    hub.enable_security_hub().send().await.unwrap();

    let channels = AwsChannels::new(&sdk, Some(topic), Some("default".into()), true);
    let aws = AwsIam::new(iam.clone());
    let o = handle(&aws, &channels).await;
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
    handle(&aws, &channels).await;
    let found = hub.get_findings().send().await.unwrap();
    assert_eq!(found.findings().len(), 2);
}

#[tokio::test]
async fn a_failing_channel_stops_neither_the_revert_nor_the_others() {
    let (_moto, sdk, iam, sqs, eb_queue) = bad_role_alerting_eventbridge().await;
    // A topic that does not exist.
    let channels = AwsChannels::new(
        &sdk,
        Some("arn:aws:sns:us-east-1:111122223333:nowhere".into()),
        Some("default".into()),
        false,
    );
    let o = handle(&AwsIam::new(iam.clone()), &channels).await;
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

    // EventBridge retries the event once the topic is there: the revert is
    // not repeated, and the alerts go out.
    aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name("nowhere")
        .send()
        .await
        .unwrap();
    let again = handle(&AwsIam::new(iam.clone()), &channels).await;
    let statuses: Vec<Status> = again.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Already, Status::Already, Status::Done]);
    assert!(again.ok);
}

/// A local stand-in for Slack's webhook: answers every POST with `status`
/// and keeps the bodies.
struct Webhook {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Webhook {
    fn start(status: u16) -> Webhook {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/services/T000/B000/secret",
            listener.local_addr().unwrap()
        );
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
            }
        });
        Webhook { url, bodies }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn slack_secret(sdk: &aws_config::SdkConfig, name: &str, url: &str) {
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(name)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(url)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn slack_gets_block_kit_and_bursts_are_grouped() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let iam = moto.iam();
    bad_role(&iam).await;
    let hook = Webhook::start(200);
    slack_secret(&sdk, "/roleguard/slack", &hook.url).await;
    let channels = AwsChannels::new(&sdk, None, None, false)
        .with_slack(&sdk, Some("ssm:/roleguard/slack".into()));
    let aws = AwsIam::new(iam.clone());
    let o = handle(&aws, &channels).await;
    assert_eq!(o.results.last().unwrap().detail, "delivered to slack");
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1);
    let msg: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        msg["blocks"][0]["text"]["text"],
        ":red_circle: CRITICAL · reverted"
    );
    // A burst: the same bad change delivered 9 more times in the minute.
    for _ in 0..9 {
        let o = handle(&aws, &channels).await;
        assert!(o.ok);
    }
    assert_eq!(
        hook.bodies().len(),
        roleguard::notify::SLACK_PER_MINUTE,
        "past the rate, alerts are held back and counted"
    );
}

#[tokio::test]
async fn slack_reads_a_secrets_manager_secret_and_reports_failures_without_the_url() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let iam = moto.iam();
    bad_role(&iam).await;
    let hook = Webhook::start(500);
    // Secrets Manager's CreateSecret, as its JSON protocol has it.
    let body = serde_json::json!({"Name": "roleguard/slack", "SecretString": hook.url}).to_string();
    let addr = moto.endpoint.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: secretsmanager.CreateSecret\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261122/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let channels =
        AwsChannels::new(&sdk, None, None, false).with_slack(&sdk, Some("roleguard/slack".into()));
    let o = handle(&AwsIam::new(iam.clone()), &channels).await;
    assert!(!o.ok);
    let notify = o.results.last().unwrap();
    assert_eq!(notify.status, Status::Failed);
    assert_eq!(notify.detail, "failed: slack: HTTP 500 after 3 attempts");
    assert!(
        !notify.detail.contains("services/T000"),
        "the URL is a secret"
    );
    assert_eq!(hook.bodies().len(), 3, "tried three times");
    assert!(
        attached(&iam, "app-lambda").await.is_empty(),
        "reverted all the same"
    );
}

/// A webhook that takes the connection and the request and never answers.
fn hung_webhook() -> String {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T000/B000/secret",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            held.push(stream);
        }
    });
    url
}

#[tokio::test]
async fn a_hung_slack_webhook_times_out_and_the_other_channels_are_unaffected() {
    let (_moto, sdk, iam, sqs, eb_queue) = bad_role_alerting_eventbridge().await;
    slack_secret(&sdk, "/roleguard/slack", &hung_webhook()).await;
    let attempt = std::time::Duration::from_millis(300);
    let channels = AwsChannels::new(&sdk, None, Some("default".into()), false)
        .with_slack(&sdk, Some("ssm:/roleguard/slack".into()))
        .with_slack_timeout(attempt);
    let started = std::time::Instant::now();
    let o = handle(&AwsIam::new(iam.clone()), &channels).await;
    let took = started.elapsed();
    // Three attempts of 300 ms and the 0.5 s + 1 s backoff: about 2.4 s.
    assert!(
        took < std::time::Duration::from_secs(10),
        "the hung webhook held the invocation for {took:?}"
    );
    assert!(
        !o.ok,
        "a channel failed: the invocation fails and is retried"
    );
    let notify = o.results.last().unwrap();
    assert_eq!(notify.status, Status::Failed);
    assert_eq!(
        notify.detail,
        "delivered to eventbridge; failed: slack: no answer within 300 ms after 3 attempts"
    );
    assert!(
        !notify.detail.contains("services/T000"),
        "the URL is a secret"
    );
    assert_eq!(
        receive(&sqs, &eb_queue).await.len(),
        1,
        "EventBridge got the alert all the same"
    );
    assert!(
        attached(&iam, "app-lambda").await.is_empty(),
        "reverted all the same"
    );
}
