//! The Lambda handler on EventBridge payloads, against moto.

use super::moto::{attached, create_role, Moto, LAMBDA_TRUST};
use crate::calls::handle_payload;
use roleguard::adapters::{
    iam::AwsIam,
    sts::{AwsAccounts, MemberAccess},
};
use roleguard::config::Config;
use roleguard::engine::Mode;
use roleguard::lambda::{account_of_arn, InvocationError, Reply};
use roleguard::member::remediation_role_arn;
use roleguard::member::session_policy;
use roleguard::outcome::Status;
use roleguard::wiring::config_from_env;
use serde_json::{json, Value};

fn payload(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(super::root().join("events").join(name)).unwrap())
        .unwrap()
}

#[test]
fn mode_from_the_environment() {
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
        account_of_arn("arn:aws:lambda:us-east-1:111122223333:function:roleguard"),
        Some("111122223333")
    );
    assert_eq!(account_of_arn("not-an-arn"), None);
}

#[tokio::test]
async fn configuration_from_a_file_or_an_ssm_parameter() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    assert_eq!(
        config_from_env(None, &sdk).await.unwrap(),
        Config::default()
    );
    assert_eq!(
        config_from_env(Some(""), &sdk).await.unwrap(),
        Config::default()
    );
    let err = config_from_env(Some("/nonexistent/roleguard.yaml"), &sdk)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("cannot read configuration /nonexistent/roleguard.yaml"),
        "{err}"
    );

    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for (name, kind) in [
        (
            "/roleguard/config",
            aws_sdk_ssm::types::ParameterType::String,
        ),
        (
            "/roleguard/secure",
            aws_sdk_ssm::types::ParameterType::SecureString,
        ),
    ] {
        ssm.put_parameter()
            .name(name)
            .r#type(kind)
            .value("max_session_duration: 7200\ntrusted_accounts: ['444455556666']\n")
            .send()
            .await
            .unwrap();
        let c = config_from_env(Some(&format!("ssm:{name}")), &sdk)
            .await
            .unwrap();
        assert_eq!(c.max_session_duration, 7200, "{name}");
        assert_eq!(c.trusted_accounts, ["444455556666"]);
    }
    let err = config_from_env(Some("ssm:/roleguard/missing"), &sdk)
        .await
        .unwrap_err();
    assert_eq!(err, "SSM parameter /roleguard/missing does not exist");
    ssm.put_parameter()
        .name("/roleguard/bad")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .value("max_session_duration: lots\n")
        .send()
        .await
        .unwrap();
    let err = config_from_env(Some("ssm:/roleguard/bad"), &sdk)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("configuration in SSM parameter /roleguard/bad: configuration key `max_session_duration`"),
        "{err}"
    );
}

/// The sample events' account, as a member of an organisation whose
/// security account (moto's default) runs roleguard.
const MEMBER: &str = super::moto::ACCOUNT;
const CENTRAL: &str = super::moto::DEFAULT_ACCOUNT;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

async fn role_with_admin(iam: &aws_sdk_iam::Client, name: &str) {
    create_role(iam, name, LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name(name)
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
}

/// The sample event, as if it had happened in `account`.
fn in_account(account: &str) -> Value {
    let mut p = payload("attach-admin.noncompliant.json");
    p["account"] = json!(account);
    p["detail"]["recipientAccountId"] = json!(account);
    p["detail"]["userIdentity"]["accountId"] = json!(account);
    p
}

#[tokio::test]
async fn member_accounts_are_reached_through_their_remediation_role() {
    let moto = Moto::start_multi_account();
    let home = moto.iam();
    let member = moto.iam_in(MEMBER).await;
    // The same role name in both accounts: only the member's is touched.
    role_with_admin(&home, "app-lambda").await;
    role_with_admin(&member, "app-lambda").await;
    let remediation_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:role/roleguard-function"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"ext-123"}}}}}}]}}"#,
        CENTRAL
    );
    member
        .create_role()
        .role_name("roleguard-remediation")
        .assume_role_policy_document(remediation_trust)
        .send()
        .await
        .unwrap();

    let access = MemberAccess::from_env_values(Some("roleguard-remediation"), Some("ext-123"));
    assert_eq!(
        access,
        Some(MemberAccess {
            role_name: "roleguard-remediation".into(),
            external_id: Some("ext-123".into())
        })
    );
    // The own account is not set: it is asked of STS (GetCallerIdentity).
    let accounts = AwsAccounts::new(moto.sdk_config().await, access);
    let config = Config::default();
    let reply = handle_payload(&accounts, in_account(MEMBER), &config, Mode::Enforce)
        .await
        .unwrap();
    let v = serde_json::to_value(&reply).unwrap();
    assert_eq!(v["account"], MEMBER);
    assert_eq!(v["results"][0]["step"]["action"], "detach_role_policy");
    assert_eq!(v["results"][0]["status"], "done", "{v:#}");
    assert!(attached(&member, "app-lambda").await.is_empty());
    assert_eq!(
        attached(&home, "app-lambda").await,
        [ADMIN],
        "home untouched"
    );

    // The same account again (a repeated delivery): the kept client, nothing left to do.
    let reply = handle_payload(&accounts, in_account(MEMBER), &config, Mode::Enforce)
        .await
        .unwrap();
    let v = serde_json::to_value(&reply).unwrap();
    assert_eq!(v["results"][0]["status"], "already", "{v:#}");

    // The home account's own event uses the function's own credentials.
    let reply = handle_payload(&accounts, in_account(CENTRAL), &config, Mode::Enforce)
        .await
        .unwrap();
    let v = serde_json::to_value(&reply).unwrap();
    assert_eq!(v["results"][0]["status"], "done", "{v:#}");
    assert!(attached(&home, "app-lambda").await.is_empty());
}

#[tokio::test]
async fn a_member_account_without_a_remediation_role_is_an_error() {
    let moto = Moto::start_multi_account();
    let member = moto.iam_in(MEMBER).await;
    role_with_admin(&member, "app-lambda").await;
    let accounts = AwsAccounts::new(moto.sdk_config().await, None);
    accounts.set_own_account(CENTRAL);
    let err = handle_payload(
        &accounts,
        in_account(MEMBER),
        &Config::default(),
        Mode::Enforce,
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("the change is in account 111122223333, roleguard runs in 123456789012, and no remediation role is configured"),
        "{msg}"
    );
    assert_eq!(attached(&member, "app-lambda").await, [ADMIN]);

    // A compliant event needs no call, so it needs no access either.
    let mut ok = payload("attach-dynamodb-readonly.compliant.json");
    ok["detail"]["recipientAccountId"] = json!(MEMBER);
    let reply = handle_payload(&accounts, ok, &Config::default(), Mode::Enforce)
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Handled(ref o) if o.results.is_empty()));
}

#[test]
fn the_remediation_session_allows_only_the_remediation_calls() {
    let policy = session_policy(MEMBER);
    let text = policy["Statement"][0].to_string();
    assert!(!text.contains("iam:*") && !text.contains("\"*\""), "{text}");
    // Besides the remediation calls, only the window lookup, which
    // CloudTrail cannot scope to a resource.
    assert_eq!(
        policy["Statement"][1],
        json!({"Sid": "WhoUsedTheWindow", "Effect": "Allow",
            "Action": roleguard::member::LOOKUP_ACTIONS, "Resource": "*"})
    );
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 2);
    let text = policy.to_string();
    assert_eq!(
        policy["Statement"][0]["Resource"],
        json!([
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam::111122223333:user/*",
            "arn:aws:iam::111122223333:group/*",
            "arn:aws:iam::111122223333:policy/*"
        ])
    );
    // Exactly the calls the executor makes, and no wildcard action.
    let actions: Vec<&str> = policy["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions, roleguard::member::REMEDIATION_ACTIONS);
    assert!(roleguard::policy::Policy::parse(&text).is_ok());
    assert_eq!(
        remediation_role_arn(MEMBER, "roleguard-remediation"),
        "arn:aws:iam::111122223333:role/roleguard-remediation"
    );
}

#[tokio::test]
async fn payloads_are_handled_ignored_or_refused() {
    let moto = Moto::start();
    let iam = moto.iam();
    role_with_admin(&iam, "app-lambda").await;
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
