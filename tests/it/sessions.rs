//! The window a bad trust opened: the sessions it let out are revoked
//! (`revoke_sessions`, against moto and on the in-memory IAM), and who
//! obtained them is looked up in CloudTrail (on the in-memory history, and
//! the SDK adapter through aws-smithy-mocks: moto does not serve
//! LookupEvents), and said on every channel.

use super::moto::{create_role, inline_policy, Moto, LAMBDA_TRUST};
use roleguard::adapters::memory::{
    ManualClock, MemoryAccounts, MemoryIam, MemoryStore, MemoryTrail, RecordingChannels,
};
use roleguard::config::Config;
use roleguard::engine::{Engine, Mode};
use roleguard::lambda::{handle_payload, Reply};
use roleguard::notify::Alert;
use roleguard::outcome::{Outcome, Status};
use roleguard::plan::Step;
use roleguard::ports::{Iam, NoChannels, SystemClock, TrailError};
use roleguard::sessions::{epoch, iso8601, revoke_document, revoke_time, REVOKE_POLICY_NAME};
use serde_json::{json, Value};
use std::sync::Arc;

const ACCOUNT: &str = "111122223333";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/app";
/// The bad change: 2026-11-22T10:00:00Z.
const T0: i64 = 1_795_341_600;
/// The revert, five minutes later.
const REVERT: i64 = T0 + 300;
const PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

/// The EventBridge payload of an UpdateAssumeRolePolicy of `role` to `doc`.
fn trust_change(id: &str, role: &str, doc: &str) -> Value {
    let text = std::fs::read_to_string(
        super::root().join("events/update-trust-foreign-account.noncompliant.json"),
    )
    .unwrap();
    let mut p: Value = serde_json::from_str(&text).unwrap();
    p["id"] = json!(id);
    p["detail"]["eventID"] = json!(format!("ct-{id}"));
    p["detail"]["requestParameters"] = json!({"roleName": role, "policyDocument": doc});
    p
}

/// A CloudTrail record of an `AssumeRole*` call on the role, `after`
/// seconds past the change, in `region`.
fn assumed(call: &str, after: i64, identity: Value, ip: &str, key: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": iso8601(T0 + after),
        "eventSource": "sts.amazonaws.com",
        "eventName": call,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": "aws-sdk-go-v2/1.30.0",
        "requestParameters": {"roleArn": ROLE_ARN, "roleSessionName": "x"},
        "responseElements": {
            "credentials": {"accessKeyId": key, "expiration": "Nov 22, 2026, 11:00:00 AM"},
            "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:x",
                "arn": "arn:aws:sts::111122223333:assumed-role/app/x"}
        },
        "resources": [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": ROLE_ARN}],
        "eventID": format!("sts-{after}-{key}"),
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT
    })
}

/// Three sessions in the window (a foreign account, a GitHub workflow, a
/// user), one refused call, and one call from before the change.
fn history(trail: &MemoryTrail) {
    trail.record(
        "us-east-1",
        assumed(
            "AssumeRole",
            40,
            json!({"type": "AWSAccount", "principalId": "AIDAFOREIGN", "accountId": "444455556666"}),
            "198.51.100.7",
            "ASIAFOREIGN",
        ),
    );
    trail.record(
        "us-east-1",
        assumed(
            "AssumeRoleWithWebIdentity",
            90,
            json!({"type": "WebIdentityUser", "principalId": "token.actions.githubusercontent.com:sts.amazonaws.com:repo:mallory/x:ref:refs/heads/main",
                "userName": "repo:mallory/x:ref:refs/heads/main",
                "identityProvider": "token.actions.githubusercontent.com"}),
            "192.0.2.44",
            "ASIAGITHUB",
        ),
    );
    trail.record(
        "us-east-1",
        assumed(
            "AssumeRole",
            200,
            json!({"type": "IAMUser", "principalId": "AIDABOB", "arn": "arn:aws:iam::111122223333:user/bob",
                "accountId": ACCOUNT}),
            "203.0.113.9",
            "ASIABOB",
        ),
    );
    let mut refused = assumed(
        "AssumeRole",
        100,
        json!({"type": "AWSAccount", "principalId": "AIDAOTHER", "accountId": "777788889999"}),
        "198.51.100.99",
        "none",
    );
    refused["errorCode"] = json!("AccessDenied");
    refused["responseElements"] = Value::Null;
    trail.record("us-east-1", refused);
    // Before the change: not the window's.
    trail.record(
        "us-east-1",
        assumed(
            "AssumeRole",
            -600,
            json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}),
            "lambda.amazonaws.com",
            "ASIAEARLIER",
        ),
    );
}

struct World {
    iam: Arc<MemoryIam>,
    trail: Arc<MemoryTrail>,
    accounts: MemoryAccounts,
    store: MemoryStore,
    channels: RecordingChannels,
    clock: ManualClock,
    config: Config,
}

impl World {
    /// The role `app`, its trust made public by the change at T0; CloudTrail
    /// in pages of 2; the lookup in us-east-1 and eu-west-1.
    fn new() -> World {
        let iam = Arc::new(MemoryIam::new(ACCOUNT));
        iam.put_lambda_role("app", vec![]);
        block_on(iam.update_assume_role_policy("app", PUBLIC)).unwrap();
        let trail = Arc::new(MemoryTrail::with_page_size(2));
        let mut config = Config::default();
        config.session_lookup.regions = vec!["us-east-1".into(), "eu-west-1".into()];
        World {
            accounts: MemoryAccounts::new(iam.clone()).with_trail(ACCOUNT, trail.clone()),
            iam,
            trail,
            store: MemoryStore::new(),
            channels: RecordingChannels::new(),
            clock: ManualClock::at(REVERT),
            config,
        }
    }

    fn deliver(&self, payload: Value, mode: Mode) -> Outcome {
        let engine = Engine::new(&self.config, &self.store, &self.channels, &self.clock, mode);
        match block_on(handle_payload(&engine, &self.accounts, payload)) {
            Ok(Reply::Handled(o)) => *o,
            Err(roleguard::lambda::InvocationError::StepsFailed { outcome, .. }) => *outcome,
            other => panic!("handled: {other:?}"),
        }
    }

    fn alert(&self) -> Alert {
        let alerts = self.channels.alerts();
        assert_eq!(alerts.len(), 1, "one alert");
        alerts[0].0.clone()
    }

    fn revoke_policy(&self) -> Option<Value> {
        block_on(self.iam.get_role_policy("app", REVOKE_POLICY_NAME)).unwrap()
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn status(o: &Outcome, action: &str) -> Status {
    o.results
        .iter()
        .find(|r| r.step.action() == action)
        .unwrap_or_else(|| panic!("no {action} in {:?}", o.results))
        .status
}

/// Every channel's rendering of the alert, as text.
fn every_channel(alert: &Alert) -> Vec<(&'static str, String)> {
    let hub = roleguard::adapters::securityhub::findings(alert, ACCOUNT, "us-east-1", "now");
    vec![
        ("slack", roleguard::notify::slack(alert).to_string()),
        ("sns", roleguard::notify::sns(alert, "the log").message),
        (
            "eventbridge",
            roleguard::notify::eventbridge_detail(alert, "the log"),
        ),
        (
            "security hub",
            format!(
                "{:?}",
                hub.first()
                    .and_then(|f| f.product_fields())
                    .map(|p| p.get("roleguard/Window").cloned())
            ),
        ),
    ]
}

#[test]
fn two_pages_of_callers_are_named_on_every_channel() {
    let w = World::new();
    history(&w.trail);
    let o = w.deliver(trust_change("ev-1", "app", PUBLIC), Mode::Enforce);
    assert!(o.ok);
    assert_eq!(status(&o, "update_assume_role_policy"), Status::Done);
    assert_eq!(status(&o, "revoke_sessions"), Status::Done);
    // us-east-1 in two pages (2 + 2 records in the window's range), eu-west-1 in one.
    let mut calls = w.trail.calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            ("eu-west-1".to_string(), None),
            ("us-east-1".to_string(), None),
            ("us-east-1".to_string(), Some("2".to_string())),
        ],
        "{calls:?}"
    );
    let window = o.window.as_ref().unwrap();
    assert_eq!(window.from, "2026-11-22T10:00:00Z");
    assert_eq!(window.to, "2026-11-22T10:05:00Z");
    let callers: Vec<&str> = window.sessions.iter().map(|a| a.caller.as_str()).collect();
    assert_eq!(
        callers,
        [
            "account 444455556666 (AIDAFOREIGN)",
            "token.actions.githubusercontent.com subject repo:mallory/x:ref:refs/heads/main",
            "arn:aws:iam::111122223333:user/bob",
        ]
    );
    assert_eq!(window.refused.len(), 1);
    assert!(window.complete());
    assert_eq!(
        window.summary,
        "3 sessions of app were issued between 2026-11-22T10:00:00Z and 2026-11-22T10:05:00Z \
         (CloudTrail in us-east-1, eu-west-1): \
         account 444455556666 (AIDAFOREIGN) from 198.51.100.7 at 2026-11-22T10:00:40Z (AssumeRole, key ASIAFOREIGN); \
         token.actions.githubusercontent.com subject repo:mallory/x:ref:refs/heads/main from 192.0.2.44 at 2026-11-22T10:01:30Z (AssumeRoleWithWebIdentity, key ASIAGITHUB); \
         arn:aws:iam::111122223333:user/bob from 203.0.113.9 at 2026-11-22T10:03:20Z (AssumeRole, key ASIABOB). \
         1 attempt was refused by STS (by account 777788889999 (AIDAOTHER)). \
         CloudTrail shows calls up to about 15 minutes late, and each region's STS endpoint records in its own region."
    );
    let alert = w.alert();
    assert_eq!(
        alert.sessions_revoked.as_deref(),
        Some("Sessions of the role issued before 2026-11-22T10:05:00Z are revoked (inline policy AWSRevokeOlderSessions).")
    );
    for (channel, text) in every_channel(&alert) {
        for needle in [
            "444455556666",
            "repo:mallory/x:ref:refs/heads/main",
            "198.51.100.7",
            "2026-11-22T10:03:20Z",
            "ASIABOB",
        ] {
            assert!(text.contains(needle), "{channel} lacks {needle}: {text}");
        }
    }
    // The window is in the audit record too.
    let record = w.store.record("ev-1").unwrap();
    assert_eq!(
        record.detail["window"]["sessions"][2]["access_key_id"],
        "ASIABOB"
    );
    assert_eq!(
        record.detail["results"][1]["step"]["issued_before"],
        "2026-11-22T10:05:00Z"
    );
}

#[test]
fn throttling_past_the_retries_is_said_and_the_revert_stands() {
    let w = World::new();
    history(&w.trail);
    w.trail.fail(
        "us-east-1",
        TrailError::Throttled("ThrottlingException: Rate exceeded".into()),
    );
    let o = w.deliver(trust_change("ev-2", "app", PUBLIC), Mode::Enforce);
    assert!(o.ok, "a failed lookup never fails the invocation");
    assert_eq!(status(&o, "update_assume_role_policy"), Status::Done);
    assert_eq!(status(&o, "revoke_sessions"), Status::Done);
    assert!(w.revoke_policy().is_some());
    let window = o.window.unwrap();
    assert!(!window.complete());
    assert_eq!(
        window.summary,
        "Nobody assumed app between 2026-11-22T10:00:00Z and 2026-11-22T10:05:00Z (CloudTrail in eu-west-1). \
         us-east-1 could not be read: throttled past the retries: ThrottlingException: Rate exceeded. \
         CloudTrail shows calls up to about 15 minutes late, and each region's STS endpoint records in its own region."
    );
    for (channel, text) in every_channel(&w.alert()) {
        assert!(
            text.contains("us-east-1 could not be read: throttled past the retries"),
            "{channel}: {text}"
        );
    }
}

#[test]
fn access_denied_is_said_and_the_revert_stands() {
    let w = World::new();
    for region in ["us-east-1", "eu-west-1"] {
        w.trail.fail(
            region,
            TrailError::Denied(
                "AccessDeniedException: not authorized to perform cloudtrail:LookupEvents".into(),
            ),
        );
    }
    let o = w.deliver(trust_change("ev-3", "app", PUBLIC), Mode::Enforce);
    assert!(o.ok);
    assert_eq!(status(&o, "update_assume_role_policy"), Status::Done);
    assert_eq!(
        o.window.unwrap().summary,
        "Who assumed app between 2026-11-22T10:00:00Z and 2026-11-22T10:05:00Z could not be read from CloudTrail. \
         us-east-1 could not be read: access denied: AccessDeniedException: not authorized to perform cloudtrail:LookupEvents. \
         eu-west-1 could not be read: access denied: AccessDeniedException: not authorized to perform cloudtrail:LookupEvents."
    );
    let alert = w.alert();
    for (channel, text) in every_channel(&alert) {
        assert!(
            text.contains("could not be read from CloudTrail"),
            "{channel}: {text}"
        );
    }
}

#[test]
fn an_empty_window_says_nobody_assumed_the_role() {
    let w = World::new();
    let o = w.deliver(trust_change("ev-4", "app", PUBLIC), Mode::Enforce);
    let window = o.window.unwrap();
    assert!(window.sessions.is_empty() && window.complete());
    assert_eq!(
        window.summary,
        "Nobody assumed app between 2026-11-22T10:00:00Z and 2026-11-22T10:05:00Z (CloudTrail in us-east-1, eu-west-1). \
         CloudTrail shows calls up to about 15 minutes late, and each region's STS endpoint records in its own region."
    );
    let slack = roleguard::notify::slack(&w.alert()).to_string();
    assert!(slack.contains("*Credentials already issued*"), "{slack}");
    assert!(slack.contains("Nobody assumed app"), "{slack}");
}

#[test]
fn the_page_cap_is_said() {
    let mut w = World::new();
    w.config.session_lookup.max_pages = 1;
    history(&w.trail);
    let o = w.deliver(trust_change("ev-5", "app", PUBLIC), Mode::Enforce);
    let window = o.window.unwrap();
    assert_eq!(window.truncated, ["us-east-1"]);
    assert_eq!(w.trail.calls().len(), 2, "one page per region");
    assert!(
        window
            .summary
            .contains("The lookup stopped at its page cap in us-east-1: there may be more."),
        "{}",
        window.summary
    );
}

#[test]
fn a_benign_trust_change_neither_revokes_nor_looks_up() {
    let w = World::new();
    let o = w.deliver(trust_change("ev-6", "app", LAMBDA_TRUST), Mode::Enforce);
    assert!(o.results.is_empty(), "{:?}", o.results);
    assert!(o.window.is_none());
    assert!(w.trail.calls().is_empty());
    assert!(w.revoke_policy().is_none());
}

#[test]
fn a_standing_revoke_only_ever_moves_later() {
    // A revoke that already reaches past the revert is left as it is.
    let w = World::new();
    let later = revoke_document(&iso8601(REVERT + 3600));
    block_on(
        w.iam
            .put_role_policy("app", REVOKE_POLICY_NAME, &later.to_string()),
    )
    .unwrap();
    let o = w.deliver(trust_change("ev-7", "app", PUBLIC), Mode::Enforce);
    assert_eq!(status(&o, "revoke_sessions"), Status::Already);
    assert_eq!(w.revoke_policy().unwrap(), later);
    // An earlier one is moved to the revert, and kept with the alert.
    let w = World::new();
    let earlier = revoke_document(&iso8601(T0 - 86_400));
    block_on(
        w.iam
            .put_role_policy("app", REVOKE_POLICY_NAME, &earlier.to_string()),
    )
    .unwrap();
    let o = w.deliver(trust_change("ev-8", "app", PUBLIC), Mode::Enforce);
    assert_eq!(status(&o, "revoke_sessions"), Status::Done);
    assert_eq!(revoke_time(&w.revoke_policy().unwrap()), Some(REVERT));
    let alert = w.alert();
    assert!(alert
        .documents
        .iter()
        .any(|d| d.action == "revoke_sessions" && d.change == "replaced" && d.document == earlier));
}

#[test]
fn a_dry_run_says_what_it_would_revoke() {
    let w = World::new();
    let o = w.deliver(trust_change("ev-9", "app", PUBLIC), Mode::DryRun);
    assert_eq!(status(&o, "revoke_sessions"), Status::WouldDo);
    assert!(w.revoke_policy().is_none());
    assert_eq!(
        w.alert().sessions_revoked.as_deref(),
        Some("Would revoke the role's sessions issued before 2026-11-22T10:05:00Z (inline policy AWSRevokeOlderSessions).")
    );
}

#[test]
fn a_revoke_iam_refuses_is_said_loudly() {
    let w = World::new();
    w.iam.fail(
        "PutRolePolicy",
        roleguard::adapters::memory::access_denied("PutRolePolicy"),
        1,
    );
    let o = w.deliver(trust_change("ev-10", "app", PUBLIC), Mode::Enforce);
    assert!(!o.ok, "the invocation fails, so it is retried");
    assert_eq!(status(&o, "revoke_sessions"), Status::Failed);
    let said = w.alert().sessions_revoked.unwrap();
    assert!(
        said.starts_with("Revoking the role's sessions FAILED"),
        "{said}"
    );
}

/// Against moto: the public trust is reverted, the role holds the revoke
/// Deny at the revert's time; a second delivery leaves it as it was; a
/// benign trust change gets none. (moto does not serve LookupEvents: the
/// window is reported unread, and the revert stands.)
#[tokio::test]
async fn moto_a_public_trust_is_reverted_and_its_sessions_revoked() {
    let moto = Moto::start();
    let iam = moto.iam();
    let store = moto.audit_table("roleguard-audit").await;
    create_role(&iam, "app", LAMBDA_TRUST).await;
    iam.update_assume_role_policy()
        .role_name("app")
        .policy_document(PUBLIC)
        .send()
        .await
        .unwrap();
    let accounts = roleguard::adapters::sts::AwsAccounts::new(moto.sdk_config().await, None);
    let mut config = Config::default();
    config.session_lookup.regions = vec!["us-east-1".into()];
    config.session_lookup.max_pages = 1;
    let engine = Engine::new(&config, &store, &NoChannels, &SystemClock, Mode::Enforce);
    let payload = trust_change("ev-moto", "app", PUBLIC);
    let before = roleguard::ports::Clock::now(&SystemClock);
    let Reply::Handled(o) = handle_payload(&engine, &accounts, payload.clone())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(status(&o, "update_assume_role_policy"), Status::Done);
    assert_eq!(status(&o, "revoke_sessions"), Status::Done);
    let trust = iam.get_role().role_name("app").send().await.unwrap();
    let trust =
        roleguard::policy::decode(trust.role.unwrap().assume_role_policy_document().unwrap())
            .unwrap();
    assert_ne!(trust["Statement"][0]["Effect"], "Allow", "{trust}");
    // The revoke's time is the revert's: the time the step ran, right
    // after the trust's revert, recorded with it. The revert came after
    // `before` and before the revoke: within a second of it.
    let doc = inline_policy(&iam, "app", REVOKE_POLICY_NAME).await;
    let t = revoke_time(&doc).expect("a revoke policy");
    let Step::RevokeSessions { issued_before, .. } = &o.results[1].step else {
        panic!("{:?}", o.results)
    };
    assert_eq!(Some(t), issued_before.as_deref().and_then(epoch));
    assert!(
        before <= t && t <= before + 1,
        "revoked at {t}, handling began at {before}"
    );
    assert_eq!(doc, revoke_document(&iso8601(t)));
    let window = o.window.as_ref().unwrap();
    assert_eq!(window.unread.len(), 1, "{window:?}");
    // The same event again, a second later: one revoke policy, same time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let Reply::Handled(again) = handle_payload(&engine, &accounts, payload).await.unwrap() else {
        panic!()
    };
    assert!(again.assessment.skipped.is_some(), "{:?}", again.assessment);
    let names = iam
        .list_role_policies()
        .role_name("app")
        .send()
        .await
        .unwrap()
        .policy_names;
    assert_eq!(names, [REVOKE_POLICY_NAME]);
    assert_eq!(inline_policy(&iam, "app", REVOKE_POLICY_NAME).await, doc);
    // A benign trust change: no revoke policy.
    create_role(&iam, "worker", LAMBDA_TRUST).await;
    let Reply::Handled(benign) = handle_payload(
        &engine,
        &accounts,
        trust_change("ev-benign", "worker", LAMBDA_TRUST),
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert!(benign.results.is_empty());
    let names = iam
        .list_role_policies()
        .role_name("worker")
        .send()
        .await
        .unwrap()
        .policy_names;
    assert!(names.is_empty(), "{names:?}");
}

/// The SDK adapter through aws-smithy-mocks: LookupEvents throttled twice
/// (retried by the SDK), then two pages; AccessDenied said as such.
mod adapter {
    use super::*;
    use aws_sdk_cloudtrail::error::ErrorMetadata;
    use aws_sdk_cloudtrail::operation::lookup_events::{LookupEventsError, LookupEventsOutput};
    use aws_sdk_cloudtrail::types::Event as TrailEvent;
    use aws_sdk_cloudtrail::Client;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use roleguard::adapters::cloudtrail::AwsTrail;

    fn error(code: &str, message: &str) -> LookupEventsError {
        LookupEventsError::generic(ErrorMetadata::builder().code(code).message(message).build())
    }

    fn trail(rules: &[&Rule]) -> AwsTrail {
        let client = mock_client!(aws_sdk_cloudtrail, RuleMode::Sequential, rules, |b| b
            .retry_config(roleguard::adapters::retry_config()));
        AwsTrail::new(client.config().clone())
    }

    fn page(records: &[Value], next: Option<&str>) -> LookupEventsOutput {
        LookupEventsOutput::builder()
            .set_events(Some(
                records
                    .iter()
                    .map(|r| {
                        TrailEvent::builder()
                            .cloud_trail_event(r.to_string())
                            .build()
                    })
                    .collect(),
            ))
            .set_next_token(next.map(str::to_owned))
            .build()
    }

    fn settings() -> roleguard::config::SessionLookup {
        roleguard::config::SessionLookup {
            regions: vec!["us-east-1".into()],
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn throttling_is_retried_and_two_pages_are_read() {
        let bob = assumed(
            "AssumeRole",
            30,
            json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"}),
            "203.0.113.9",
            "ASIABOB",
        );
        let eve = assumed(
            "AssumeRole",
            60,
            json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/eve"}),
            "203.0.113.66",
            "ASIAEVE",
        );
        let throttled = mock!(Client::lookup_events)
            .sequence()
            .error(|| error("ThrottlingException", "Rate exceeded"))
            .times(2)
            .output(move || page(std::slice::from_ref(&eve), Some("t1")))
            .output(move || page(std::slice::from_ref(&bob), None))
            .build();
        let t = trail(&[&throttled]);
        let w = roleguard::engine::who_used(&t, ROLE_ARN, Some(T0), REVERT, &settings()).await;
        assert_eq!(
            throttled.num_calls(),
            4,
            "two throttled attempts, then two pages"
        );
        let callers: Vec<&str> = w.sessions.iter().map(|a| a.caller.as_str()).collect();
        assert_eq!(
            callers,
            [
                "arn:aws:iam::111122223333:user/bob",
                "arn:aws:iam::111122223333:user/eve"
            ]
        );
        assert!(
            w.summary.starts_with("2 sessions of app were issued"),
            "{}",
            w.summary
        );
    }

    #[tokio::test]
    async fn throttling_that_lasts_and_access_denied_are_named() {
        let throttled = mock!(Client::lookup_events)
            .sequence()
            .error(|| error("ThrottlingException", "Rate exceeded"))
            .repeatedly()
            .build();
        let w = roleguard::engine::who_used(
            &trail(&[&throttled]),
            ROLE_ARN,
            Some(T0),
            REVERT,
            &settings(),
        )
        .await;
        assert_eq!(throttled.num_calls(), 6, "the retry policy's 6 attempts");
        assert_eq!(
            w.unread[0].reason,
            "throttled past the retries: ThrottlingException: Rate exceeded"
        );
        let denied = mock!(Client::lookup_events)
            .then_error(|| error("AccessDeniedException", "not authorized"));
        let w = roleguard::engine::who_used(
            &trail(&[&denied]),
            ROLE_ARN,
            Some(T0),
            REVERT,
            &settings(),
        )
        .await;
        assert_eq!(
            w.unread[0].reason,
            "access denied: AccessDeniedException: not authorized"
        );
        assert!(w.summary.contains("could not be read from CloudTrail"));
    }
}
