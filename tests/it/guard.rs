//! The guard's doors, on the in-memory IAM: records that lack their document
//! are judged on what IAM holds (fail closed), failed calls are skipped
//! before anything is parsed.

use crate::calls::handle;
use roleguard::adapters::memory::MemoryIam;
use roleguard::event::Event;
use roleguard::ports::IamError;
use roleguard::scan::RoleSnapshot;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

fn iam_with(inline: &[(&str, &str)], trust: &str) -> MemoryIam {
    let iam = MemoryIam::new(ACCOUNT);
    iam.put_role(&RoleSnapshot {
        name: "app".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/app"),
        path: "/".into(),
        trust_policy: serde_json::from_str(trust).unwrap(),
        max_session_duration: 3600,
        permissions_boundary: None,
        attached: vec![],
        inline: inline
            .iter()
            .map(|(n, d)| (n.to_string(), serde_json::from_str(d).unwrap()))
            .collect(),
    });
    iam
}

fn event(name: &str, params: Value) -> Event {
    Event::from_value(record(name, params)).unwrap()
}

fn record(name: &str, params: Value) -> Value {
    json!({"id": format!("ev-{name}"), "account": ACCOUNT,
        "time": "2026-11-27T10:00:00Z", "source": "aws.iam",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventSource": "iam.amazonaws.com", "eventName": name,
            "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{ACCOUNT}:user/mallory")},
            "requestParameters": params}})
}

fn steps(o: &roleguard::outcome::Outcome) -> Vec<&'static str> {
    o.assessment.plan.iter().map(|s| s.action()).collect()
}

#[tokio::test]
async fn an_omitted_inline_policy_is_read_from_iam_and_reverted() {
    let iam = iam_with(&[("p", ADMIN)], super::moto::LAMBDA_TRUST);
    for params in [
        json!({"roleName": "app", "policyName": "p", "omitted": true}),
        json!({"roleName": "app", "policyName": "p"}),
        json!({"roleName": "app", "policyName": "p", "policyDocument": &ADMIN[..50]}),
    ] {
        let iam = iam_with(&[("p", ADMIN)], super::moto::LAMBDA_TRUST);
        let e = event("PutRolePolicy", params.clone());
        // Offline, the record alone cannot be judged: a clear error.
        let err = roleguard::plan::assess(&e, &super::config()).unwrap_err();
        assert!(
            err.to_string().contains("requestParameters.policyDocument"),
            "{err}"
        );
        let o = handle(&iam, &e, &super::config(), false).await.unwrap();
        assert_eq!(steps(&o)[0], "delete_role_policy", "{params}");
        assert!(o.ok);
        assert!(iam.role("app").unwrap().inline.is_empty(), "{params}");
        assert!(o
            .assessment
            .judgement
            .notes
            .iter()
            .any(|n| n.contains("as IAM holds it now")));
        assert_eq!(iam.calls()[0], "GetRolePolicy");
    }
    // The same record, when IAM holds a harmless document: nothing to do.
    let _ = iam;
    let iam = iam_with(
        &[(
            "p",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
        )],
        super::moto::LAMBDA_TRUST,
    );
    let o = handle(
        &iam,
        &event(
            "PutRolePolicy",
            json!({"roleName": "app", "policyName": "p", "omitted": true}),
        ),
        &super::config(),
        false,
    )
    .await
    .unwrap();
    assert!(!o.assessment.plan.iter().any(|s| s.reverts()));
}

#[tokio::test]
async fn a_truncated_trust_policy_is_judged_as_iam_holds_it() {
    let iam = iam_with(&[], PUBLIC);
    let e = event(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "app", "policyDocument": &PUBLIC[..70]}),
    );
    let o = handle(&iam, &e, &super::config(), false).await.unwrap();
    assert_eq!(steps(&o)[0], "update_assume_role_policy");
    assert_ne!(
        iam.role("app").unwrap().trust_policy,
        serde_json::from_str::<Value>(PUBLIC).unwrap()
    );
}

#[tokio::test]
async fn a_failed_read_fails_the_invocation_and_what_is_gone_is_skipped() {
    let iam = iam_with(&[("p", ADMIN)], super::moto::LAMBDA_TRUST);
    iam.fail("GetRolePolicy", IamError::Other("throttled".into()), 1);
    let e = event(
        "PutRolePolicy",
        json!({"roleName": "app", "policyName": "p", "omitted": true}),
    );
    let err = handle(&iam, &e, &super::config(), false).await.unwrap_err();
    assert!(
        err.to_string().contains("inline policy p of role app"),
        "{err}"
    );
    assert_eq!(iam.role("app").unwrap().inline.len(), 1, "nothing changed");
    // Retried: now read, judged and reverted.
    let o = handle(&iam, &e, &super::config(), false).await.unwrap();
    assert_eq!(steps(&o)[0], "delete_role_policy");
    // Gone since: nothing stands, nothing to do.
    let o = handle(&iam, &e, &super::config(), false).await.unwrap();
    assert!(o.assessment.plan.is_empty());
    assert!(o.assessment.skipped.as_deref().unwrap().contains("is gone"));
    // Which role, the record must say: without it the invocation fails.
    let e = event("PutRolePolicy", json!({"omitted": true}));
    let err = handle(&iam, &e, &super::config(), false).await.unwrap_err();
    assert!(err.to_string().contains("roleName"), "{err}");
}

#[tokio::test]
async fn a_failed_call_with_null_parameters_is_skipped() {
    let iam = iam_with(&[], super::moto::LAMBDA_TRUST);
    let mut v = record("PutRolePolicy", Value::Null);
    v["detail"]["errorCode"] = "AccessDenied".into();
    let e = Event::from_value(v).unwrap();
    let o = handle(&iam, &e, &super::config(), false).await.unwrap();
    assert!(o
        .assessment
        .skipped
        .as_deref()
        .unwrap()
        .contains("AccessDenied"));
    assert!(iam.calls().is_empty());
}
