//! The reconciling scan against moto: roles changed with no event are found,
//! compliant roles become baselines, and --remediate reverts.

use super::moto::{attached, create_role, Moto, LAMBDA_TRUST};
use crate::calls::handle_payload_with;
use crate::calls::scan_account;
use roleguard::adapters::iam::AwsIam;
use roleguard::config::Config;
use roleguard::engine::Mode;
use roleguard::lambda::Reply;
use roleguard::outcome::Status;
use roleguard::ports::Store;
use serde_json::{json, Value};

const ACCOUNT: &str = super::moto::ACCOUNT;
const PUBLIC_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const SCOPED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/orders"}]}"#;

/// A good role, a role made bad with no event, and a role with a customer
/// managed escalation policy.
async fn roles(iam: &aws_sdk_iam::Client) {
    for (name, trust) in [
        ("good", LAMBDA_TRUST),
        ("open", PUBLIC_TRUST),
        ("passer", LAMBDA_TRUST),
    ] {
        create_role(iam, name, trust).await;
    }
    iam.put_role_policy()
        .role_name("good")
        .policy_name("data")
        .policy_document(SCOPED)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("open")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    let p = iam
        .create_policy()
        .policy_name("pass-anything")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("passer")
        .policy_arn(p.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
}

fn rules_of(outcome: &roleguard::engine::ScanOutcome, role: &str) -> Vec<&'static str> {
    outcome
        .results
        .iter()
        .find(|r| r.result.path.ends_with(&format!(":role/{role}")))
        .unwrap_or_else(|| panic!("{role} scanned"))
        .result
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect()
}

#[tokio::test]
async fn the_scan_finds_bad_roles_and_records_good_ones() {
    let moto = Moto::start();
    let iam = moto.iam();
    roles(&iam).await;
    let store = moto.audit_table("roleguard").await;
    let aws = AwsIam::new(iam.clone());
    let config = Config::default();

    let o = scan_account(&aws, &store, ACCOUNT, &config, false, false)
        .await
        .unwrap();
    assert_eq!(o.roles, 3);
    assert_eq!(
        o.read_requests, 2,
        "one page of ListRoles, one of the details"
    );
    assert!(rules_of(&o, "good").is_empty());
    let open = rules_of(&o, "open");
    assert!(
        open.contains(&"trust-any-principal") && open.contains(&"perm-full-admin"),
        "{open:?}"
    );
    assert!(rules_of(&o, "passer").contains(&"perm-passrole-unconstrained"));
    // Reported, not changed.
    assert_eq!(attached(&iam, "open").await, [ADMIN]);
    assert!(o.results.iter().all(|r| r.results.is_empty()));
    // The good role is now a baseline; the bad ones are not.
    assert_eq!(o.baselines_recorded, 1);
    let b = store.baseline(ACCOUNT, "good").await.unwrap().unwrap();
    assert_eq!(
        b.trust_policy,
        Some(serde_json::from_str::<Value>(LAMBDA_TRUST).unwrap())
    );
    assert_eq!(
        b.inline_policies["data"],
        serde_json::from_str::<Value>(SCOPED).unwrap()
    );
    assert!(store.baseline(ACCOUNT, "open").await.unwrap().is_none());

    // With --remediate: the plans are carried out.
    let o = scan_account(&aws, &store, ACCOUNT, &config, true, false)
        .await
        .unwrap();
    assert!(o.ok);
    let open = o
        .results
        .iter()
        .find(|r| r.result.path.ends_with(":role/open"))
        .unwrap();
    assert!(open.results.iter().all(|r| r.status != Status::Failed));
    assert!(attached(&iam, "open").await.is_empty());
    assert!(attached(&iam, "passer").await.is_empty());
    let role = iam.get_role().role_name("open").send().await.unwrap();
    let trust =
        roleguard::policy::decode(role.role().unwrap().assume_role_policy_document().unwrap())
            .unwrap();
    assert_eq!(trust, roleguard::plan::deny_all_trust_policy());
}

#[tokio::test]
async fn a_scheduled_event_scans_the_function_account() {
    let moto = Moto::start();
    let iam = moto.iam();
    roles(&iam).await;
    let accounts = roleguard::adapters::sts::AwsAccounts::new(moto.sdk_config().await, None);
    let scheduled = json!({
        "version": "0", "id": "sched-1", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": ACCOUNT, "time": "2026-11-22T03:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:111122223333:rule/roleguard-scan"],
        "detail": {}
    });
    let reply = handle_payload_with(
        &accounts,
        &roleguard::ports::NoStore,
        &roleguard::ports::NoChannels,
        scheduled,
        &Config::default(),
        Mode::Enforce,
    )
    .await
    .unwrap();
    let Reply::Scanned { accounts, .. } = reply else {
        panic!("a scan expected")
    };
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account, ACCOUNT, "the own account, from STS");
    assert_eq!(accounts[0].roles, 3);
    // The reply keeps the roles with findings; nothing was changed.
    assert_eq!(accounts[0].results.len(), 2);
    assert_eq!(attached(&iam, "open").await, [ADMIN]);
}

#[tokio::test]
async fn scan_command_against_moto() {
    let moto = Moto::start();
    roles(&moto.iam()).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(["scan", "--format", "json"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("ROLEGUARD_TABLE")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["account"], ACCOUNT);
    assert_eq!(v["roles"], 3);
    assert_eq!(v["remediate"], false);
    let counts = &v["findings_by_severity"];
    assert!(counts["critical"].as_u64().unwrap() >= 2, "{counts}");
    assert!(counts["high"].as_u64().unwrap() >= 1, "{counts}");
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(["scan", "--fail-on", "critical"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(
        s.contains("arn:aws:iam::111122223333:role/open (role)"),
        "{s}"
    );
    assert!(
        s.contains("account 111122223333: 3 roles, 2 IAM read requests"),
        "{s}"
    );
}
