//! The Lambda handler on EventBridge payloads, against moto.

use super::moto::Moto;
use roleguard::aws::AwsIam;
use roleguard::config::Config;
use roleguard::lambda::{handle_payload, InvocationError, Mode, Reply};
use roleguard::remediate::Status;
use serde_json::{json, Value};

fn payload(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(super::root().join("events").join(name)).unwrap())
        .unwrap()
}

#[test]
fn mode_and_config_from_the_environment() {
    assert_eq!(
        Mode::from_env_value(None),
        Ok(Mode::DryRun),
        "dry run unless told otherwise"
    );
    assert_eq!(Mode::from_env_value(Some("enforce")), Ok(Mode::Enforce));
    assert_eq!(
        Mode::from_env_value(Some("on")),
        Err("ROLEGUARD_MODE=\"on\": expected enforce or dry-run".to_string())
    );
    assert_eq!(
        roleguard::lambda::config_from_env(None).unwrap(),
        Config::default()
    );
    let err = roleguard::lambda::config_from_env(Some("/nonexistent/roleguard.yaml")).unwrap_err();
    assert!(
        err.starts_with("cannot read configuration /nonexistent/roleguard.yaml"),
        "{err}"
    );
}

#[tokio::test]
async fn payloads_are_handled_ignored_or_refused() {
    let moto = Moto::start();
    let iam = moto.iam();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name("app-lambda")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    let aws = AwsIam::new(iam.clone());
    let config = Config::default();

    // Dry run (the default mode): the plan is reported, nothing changes.
    let Reply::Handled(o) = handle_payload(
        &aws,
        payload("attach-admin.noncompliant.json"),
        &config,
        Mode::DryRun,
    )
    .await
    .unwrap() else {
        panic!("handled expected")
    };
    assert!(o.dry_run && o.results.iter().any(|r| r.status == Status::WouldDo));
    let attached = iam
        .list_attached_role_policies()
        .role_name("app-lambda")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);

    // Enforce: reverted; the reply serialises with its verdict.
    let reply = handle_payload(
        &aws,
        payload("attach-admin.noncompliant.json"),
        &config,
        Mode::Enforce,
    )
    .await
    .unwrap();
    let v = serde_json::to_value(&reply).unwrap();
    assert_eq!(v["verdict"], "handled");
    assert_eq!(v["results"][0]["status"], "done");
    let attached = iam
        .list_attached_role_policies()
        .role_name("app-lambda")
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());

    // A call roleguard does not handle is ignored, not an error.
    let mut other = payload("attach-admin.noncompliant.json");
    other["detail"]["eventName"] = json!("CreateUser");
    let reply = handle_payload(&aws, other, &config, Mode::Enforce)
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Ignored { ref call, .. } if call == "CreateUser"));

    // A truncated or malformed payload fails the invocation with the reason.
    let err = handle_payload(
        &aws,
        json!({"detail-type": "x", "detail": {"eventName": 7}}),
        &config,
        Mode::Enforce,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, InvocationError::BadEvent(_)), "{err}");
    let err = handle_payload(&aws, json!([1, 2]), &config, Mode::Enforce)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("bad event: "), "{err}");
}
