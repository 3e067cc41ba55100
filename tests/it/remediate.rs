//! The plan carried out against a real IAM API (moto): build the role's
//! state, feed the sample event, then read moto's state back.

use super::moto::{attached, create_role, inline_policy, Moto, LAMBDA_TRUST};
use crate::calls::handle;
use roleguard::adapters::iam::AwsIam;
use roleguard::config::Config;
use roleguard::event::Event;
use roleguard::outcome::Outcome;
use roleguard::outcome::Status;
use serde_json::{json, Value};

fn event(name: &str) -> Event {
    Event::parse(&std::fs::read_to_string(super::root().join("events").join(name)).unwrap())
        .unwrap()
}

/// The document a sample event carries in requestParameters.
fn event_document(name: &str, field: &str) -> String {
    event(name).trail.request_parameters.unwrap()[field]
        .as_str()
        .unwrap()
        .to_string()
}

/// A sample event's record as another call: `call` (unchanged when `None`)
/// with these request parameters.
fn sample_as(sample: &str, call: Option<&str>, params: Value) -> Value {
    let mut e: Value = serde_json::from_str(
        &std::fs::read_to_string(super::root().join("events").join(sample)).unwrap(),
    )
    .unwrap();
    if let Some(call) = call {
        e["detail"]["eventName"] = call.into();
    }
    e["detail"]["requestParameters"] = params;
    e
}

/// [`sample_as`], handled against `iam` with the deployment's configuration.
async fn handle_sample(
    iam: &aws_sdk_iam::Client,
    sample: &str,
    call: Option<&str>,
    params: Value,
) -> Outcome {
    let e = sample_as(sample, call, params);
    handle(
        &AwsIam::new(iam.clone()),
        &Event::parse(&e.to_string()).unwrap(),
        &super::config(),
        false,
    )
    .await
    .unwrap()
}

async fn run(iam: &aws_sdk_iam::Client, name: &str, config: &Config, dry_run: bool) -> Outcome {
    handle(&AwsIam::new(iam.clone()), &event(name), config, dry_run)
        .await
        .unwrap()
}

fn statuses(o: &Outcome) -> Vec<Status> {
    o.results.iter().map(|r| r.status).collect()
}

async fn tags(iam: &aws_sdk_iam::Client, role: &str) -> Vec<(String, String)> {
    let out = iam.list_role_tags().role_name(role).send().await.unwrap();
    out.tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

async fn trust(iam: &aws_sdk_iam::Client, role: &str) -> Value {
    let out = iam.get_role().role_name(role).send().await.unwrap();
    roleguard::policy::decode(out.role().unwrap().assume_role_policy_document().unwrap()).unwrap()
}

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

#[tokio::test]
async fn attached_admin_is_detached_and_tagged() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();

    let o = run(
        &iam,
        "attach-admin.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert!(o.ok, "{:?}", o.results);
    assert_eq!(statuses(&o), [Status::Done, Status::Done, Status::Skipped]);
    assert!(attached(&iam, "app-lambda").await.is_empty());
    let t = tags(&iam, "app-lambda").await;
    assert!(
        t.contains(&("roleguard:status".into(), "reverted".into())),
        "{t:?}"
    );
    assert!(t.contains(&(
        "roleguard:findings".into(),
        "perm-denied-managed-policy perm-full-admin".into()
    )));

    // A repeated delivery finds the work done and changes nothing.
    let again = run(
        &iam,
        "attach-admin.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert_eq!(
        statuses(&again),
        [Status::Already, Status::Already, Status::Skipped]
    );
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    let o = run(
        &iam,
        "attach-admin.noncompliant.json",
        &super::config(),
        true,
    )
    .await;
    assert_eq!(
        statuses(&o),
        [Status::WouldDo, Status::WouldDo, Status::Skipped]
    );
    assert_eq!(attached(&iam, "app-lambda").await, [ADMIN]);
    assert!(tags(&iam, "app-lambda").await.is_empty());
}

#[tokio::test]
async fn inline_escalation_is_deleted() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    let doc = event_document("put-inline-passrole.noncompliant.json", "policyDocument");
    iam.put_role_policy()
        .role_name("app-lambda")
        .policy_name("deploy")
        .policy_document(&doc)
        .send()
        .await
        .unwrap();
    let o = run(
        &iam,
        "put-inline-passrole.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    let left = iam
        .list_role_policies()
        .role_name("app-lambda")
        .send()
        .await
        .unwrap();
    assert!(left.policy_names().is_empty());
}

#[tokio::test]
async fn a_newer_inline_document_is_not_deleted() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    // Someone fixed the policy after the bad event: the older event must not delete the fix.
    let fixed = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:111122223333:function:app"}]});
    iam.put_role_policy()
        .role_name("app-lambda")
        .policy_name("deploy")
        .policy_document(fixed.to_string())
        .send()
        .await
        .unwrap();
    let o = run(
        &iam,
        "put-inline-passrole.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Superseded);
    assert_eq!(inline_policy(&iam, "app-lambda", "deploy").await, fixed);
}

#[tokio::test]
async fn wildcard_oidc_trust_loses_its_statement() {
    let moto = Moto::start();
    let iam = moto.iam();
    let bad = event_document(
        "update-trust-github-wildcard.noncompliant.json",
        "policyDocument",
    );
    create_role(&iam, "ci-deploy", &bad).await;
    let o = run(
        &iam,
        "update-trust-github-wildcard.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    let now = trust(&iam, "ci-deploy").await;
    let statements = now["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Sid"], "Lambda");
}

#[tokio::test]
async fn an_older_trust_event_does_not_overwrite_a_newer_trust_policy() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-public", LAMBDA_TRUST).await;
    let o = run(
        &iam,
        "create-role-public-trust.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Superseded);
    assert_eq!(
        trust(&iam, "app-public").await,
        serde_json::from_str::<Value>(LAMBDA_TRUST).unwrap()
    );
}

#[tokio::test]
async fn public_trust_becomes_deny_all() {
    let moto = Moto::start();
    let iam = moto.iam();
    let bad = event_document(
        "create-role-public-trust.noncompliant.json",
        "assumeRolePolicyDocument",
    );
    create_role(&iam, "app-public", &bad).await;
    let o = run(
        &iam,
        "create-role-public-trust.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert!(o.ok);
    assert_eq!(
        trust(&iam, "app-public").await,
        roleguard::plan::deny_all_trust_policy()
    );
}

#[tokio::test]
async fn long_sessions_are_shortened_where_medium_findings_revert() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.update_role()
        .role_name("app-lambda")
        .max_session_duration(43200)
        .send()
        .await
        .unwrap();
    let session = |iam: aws_sdk_iam::Client| async move {
        let role = iam.get_role().role_name("app-lambda").send().await.unwrap();
        role.role().unwrap().max_session_duration()
    };
    // A medium finding: by default tagged and notified, the session kept.
    let o = run(
        &iam,
        "update-role-12h-session.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert!(!o.assessment.plan.iter().any(roleguard::plan::Step::reverts));
    assert_eq!(session(iam.clone()).await, Some(43200));
    // With revert_at: medium, shortened.
    let o = run(
        &iam,
        "update-role-12h-session.noncompliant.json",
        &Config::from_yaml("revert_at: medium").unwrap(),
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Done);
    assert_eq!(session(iam.clone()).await, Some(3600));
}

#[tokio::test]
async fn bad_policy_version_is_rolled_back() {
    let moto = Moto::start();
    let iam = moto.iam();
    let v1 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::app/*"}]}"#;
    let arn = iam
        .create_policy()
        .policy_name("app-deploy")
        .policy_document(v1)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    assert_eq!(arn, "arn:aws:iam::111122223333:policy/app-deploy");
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let bad = event_document(
        "create-policy-version-admin.noncompliant.json",
        "policyDocument",
    );
    let v2 = iam
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(&bad)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    // The sample event names v4; make the event match what moto created.
    let created = v2
        .policy_version()
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let mut e = event("create-policy-version-admin.noncompliant.json");
    e.trail.response_elements =
        Some(json!({"policyVersion": {"versionId": created, "isDefaultVersion": true}}));
    let o = handle(&AwsIam::new(iam.clone()), &e, &super::config(), false)
        .await
        .unwrap();
    assert_eq!(
        statuses(&o),
        [Status::Done, Status::Done, Status::Skipped],
        "{:?}",
        o.results
    );
    let versions = iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let ids: Vec<(String, bool)> = versions
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap().to_string(), v.is_default_version()))
        .collect();
    assert_eq!(ids, [("v1".to_string(), true)]);
}

#[tokio::test]
async fn compliant_failed_and_own_events_change_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(super::root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".compliant.") || n.contains(".ignored."))
        .collect();
    names.sort();
    assert!(names.len() >= 11, "{names:?}");
    for name in &names {
        let o = run(&iam, name, &super::config(), false).await;
        assert!(o.results.is_empty() && o.ok, "{name}: {:?}", o.results);
    }
    assert_eq!(
        attached(&iam, "app-lambda").await,
        [ADMIN],
        "nothing was touched"
    );
    assert!(tags(&iam, "app-lambda").await.is_empty());
}

#[tokio::test]
async fn a_deleted_role_is_nothing_to_do() {
    let moto = Moto::start();
    let iam = moto.iam();
    let o = run(
        &iam,
        "update-role-12h-session.noncompliant.json",
        &Config::from_yaml("revert_at: medium").unwrap(),
        false,
    )
    .await;
    assert!(o.ok);
    assert_eq!(
        statuses(&o),
        [Status::Already, Status::Already, Status::Skipped]
    );
}

/// `roleguard handle` runs the same handler against the endpoint the environment names.
#[tokio::test]
async fn handle_command_against_moto() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    let cmd = |extra: &[&str]| {
        let mut args = vec!["handle"];
        args.extend_from_slice(extra);
        args.push("events/attach-admin.noncompliant.json");
        std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
            .args(&args)
            .current_dir(super::root())
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let dry = cmd(&["--dry-run"]);
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let v: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["results"][0]["status"], "would_do");
    assert_eq!(attached(&iam, "app-lambda").await, [ADMIN]);

    let real = cmd(&[]);
    assert_eq!(
        real.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let v: Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!(v["verdict"], "handled");
    assert_eq!(v["event_id"], "eb-0006");
    assert_eq!(v["results"][0]["step"]["action"], "detach_role_policy");
    assert_eq!(v["results"][0]["status"], "done");
    assert_eq!(v["ok"], true);
    assert!(attached(&iam, "app-lambda").await.is_empty());

    // The Lambda's answers to a call it does not handle and to a bad event.
    let dir = std::env::temp_dir().join(format!("roleguard-handle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut other: Value = serde_json::from_str(
        &std::fs::read_to_string(super::root().join("events/attach-admin.noncompliant.json"))
            .unwrap(),
    )
    .unwrap();
    other["detail"]["eventName"] = json!("CreateUser");
    let other_path = dir.join("create-user.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let bad_path = dir.join("bad.json");
    std::fs::write(&bad_path, r#"{"detail": {"eventName": 7}}"#).unwrap();
    let run_on = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
            .arg("handle")
            .arg(path)
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap()
    };
    let out = run_on(&other_path);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        json!({"verdict": "ignored", "event_id": "eb-0006", "call": "CreateUser"})
    );
    let out = run_on(&bad_path);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("roleguard: bad event: "), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn set_default_event(arn: &str, version: &str) -> Event {
    let mut e = event("attach-admin.noncompliant.json");
    e.trail.event_name = "SetDefaultPolicyVersion".into();
    e.trail.request_parameters = Some(json!({"policyArn": arn, "versionId": version}));
    e
}

#[tokio::test]
async fn customer_managed_policies_are_fetched_and_judged() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    let admin =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let arn = iam
        .create_policy()
        .policy_name("team-admin")
        .policy_document(admin)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut e = event("attach-admin.noncompliant.json");
    e.trail.request_parameters = Some(json!({"roleName": "app-lambda", "policyArn": arn}));
    let o = handle(&AwsIam::new(iam.clone()), &e, &super::config(), false)
        .await
        .unwrap();
    assert_eq!(
        o.assessment.judgement.findings[0].rule.as_str(),
        "perm-full-admin",
        "judged from the fetched document"
    );
    assert_eq!(o.results[0].status, Status::Done);
    assert!(attached(&iam, "app-lambda").await.is_empty());
}

#[tokio::test]
async fn set_default_to_a_bad_version_is_undone_unless_superseded() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    let bad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    let good = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::app/*"}]}"#;
    let arn = iam
        .create_policy()
        .policy_name("app")
        .policy_document(bad)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(good)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    // Someone switches back to the bad v1.
    iam.set_default_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    let iam_impl = AwsIam::new(iam.clone());
    let o = handle(
        &iam_impl,
        &set_default_event(&arn, "v1"),
        &super::config(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    let default =
        |versions: &aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput| {
            versions
                .versions()
                .iter()
                .find(|v| v.is_default_version())
                .unwrap()
                .version_id()
                .unwrap()
                .to_string()
        };
    assert_eq!(
        default(
            &iam.list_policy_versions()
                .policy_arn(&arn)
                .send()
                .await
                .unwrap()
        ),
        "v2"
    );
    // A repeated delivery of the old event now finds v2 in force: superseded, nothing changes.
    let again = handle(
        &iam_impl,
        &set_default_event(&arn, "v1"),
        &super::config(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(again.results[0].status, Status::Superseded);
    assert_eq!(
        default(
            &iam.list_policy_versions()
                .policy_arn(&arn)
                .send()
                .await
                .unwrap()
        ),
        "v2"
    );
}

#[tokio::test]
async fn a_policy_no_role_uses_is_left_alone() {
    let moto = Moto::start();
    let iam = moto.iam();
    let bad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    let arn = iam
        .create_policy()
        .policy_name("unused")
        .policy_document(bad)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let o = handle(
        &AwsIam::new(iam.clone()),
        &set_default_event(&arn, "v1"),
        &super::config(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        o.assessment.skipped.as_deref(),
        Some(format!("{arn} is attached to no role, user or group").as_str())
    );
    assert!(o.results.is_empty());
}

/// IAM calls per event, counted around the real client.
#[tokio::test]
async fn api_calls_per_event() {
    use roleguard::engine::Counting;
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    let config = super::config();
    let calls = |name: &'static str| {
        let iam = iam.clone();
        let config = config.clone();
        async move {
            let counting = Counting::new(AwsIam::new(iam));
            handle(&counting, &event(name), &config, false)
                .await
                .unwrap();
            counting.calls()
        }
    };
    // Compliant events that involve only AWS managed policies or the event's own documents: none.
    for name in [
        "attach-dynamodb-readonly.compliant.json",
        "create-role-lambda.compliant.json",
        "put-inline-scoped.compliant.json",
        "update-trust-github-pinned.compliant.json",
        "update-role-1h-session.compliant.json",
        "put-boundary-developer.compliant.json",
        "tag-team.compliant.json",
        "untag-team.compliant.json",
        // A compliant new version of a customer managed policy: judged from
        // the event, so who uses the policy is not asked.
        "create-policy-version-scoped.compliant.json",
        "failed-call.ignored.json",
        "roleguard-own-change.ignored.json",
    ] {
        assert_eq!(calls(name).await, 0, "{name}");
    }
    // Reverting an attachment of AdministratorAccess, which takes part in
    // every path: the role is read whole (GetRole, ListAttachedRolePolicies,
    // ListRolePolicies), then read the attachments, detach, read the role, tag.
    assert_eq!(calls("attach-admin.noncompliant.json").await, 7);
    // The same event again: the role read whole, two reads, no writes.
    assert_eq!(calls("attach-admin.noncompliant.json").await, 5);
}

const DEVELOPER_BOUNDARY: &str = "arn:aws:iam::111122223333:policy/developer-boundary";

async fn boundary(iam: &aws_sdk_iam::Client, role: &str) -> Option<String> {
    let out = iam.get_role().role_name(role).send().await.unwrap();
    out.role()
        .unwrap()
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
        .map(String::from)
}

#[tokio::test]
async fn the_required_boundary_is_put_back() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    let config = Config::from_yaml(&format!("required_boundary: {DEVELOPER_BOUNDARY}")).unwrap();

    // DeleteRolePermissionsBoundary: the role has none now.
    let o = run(&iam, "delete-boundary.noncompliant.json", &config, false).await;
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    assert_eq!(
        boundary(&iam, "app-lambda").await.as_deref(),
        Some(DEVELOPER_BOUNDARY)
    );

    // PutRolePermissionsBoundary with another boundary: replaced.
    iam.put_role_permissions_boundary()
        .role_name("app-lambda")
        .permissions_boundary("arn:aws:iam::111122223333:policy/permissive-boundary")
        .send()
        .await
        .unwrap();
    let o = run(
        &iam,
        "put-boundary-other.needs-boundary-config.json",
        &config,
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    assert_eq!(
        boundary(&iam, "app-lambda").await.as_deref(),
        Some(DEVELOPER_BOUNDARY)
    );
    let status = tags(&iam, "app-lambda").await;
    assert!(status.contains(&("roleguard:status".into(), "reverted".into())));

    // Putting the required boundary is compliant: nothing to do.
    let o = run(
        &iam,
        "put-boundary-developer.compliant.json",
        &config,
        false,
    )
    .await;
    assert!(o.results.is_empty() && o.ok, "{:?}", o.results);
    // Without a required boundary (and no baseline to restore from), a
    // removed boundary is found, the role tagged and the change notified.
    let o = run(
        &iam,
        "delete-boundary.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert!(o.ok, "{:?}", o.results);
    assert_eq!(
        o.results
            .iter()
            .map(|r| r.step.action())
            .collect::<Vec<_>>(),
        ["tag_role", "notify"]
    );
}

#[tokio::test]
async fn roleguard_tags_are_restored_after_tampering() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    // Someone marks the role compliant by hand.
    iam.tag_role()
        .role_name("app-lambda")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("roleguard:status")
                .value("compliant")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let o = run(
        &iam,
        "tag-roleguard-status.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert_eq!(statuses(&o), [Status::Done, Status::Skipped]);
    let t = tags(&iam, "app-lambda").await;
    assert!(
        t.contains(&("roleguard:status".into(), "non-compliant".into())),
        "{t:?}"
    );
    assert!(t.contains(&(
        "roleguard:findings".into(),
        "role-guard-tag-tampering".into()
    )));

    // Someone removes roleguard's tags: they come back.
    iam.untag_role()
        .role_name("app-lambda")
        .tag_keys("roleguard:status")
        .tag_keys("roleguard:findings")
        .send()
        .await
        .unwrap();
    let o = run(
        &iam,
        "untag-roleguard-status.noncompliant.json",
        &super::config(),
        false,
    )
    .await;
    assert_eq!(statuses(&o), [Status::Done, Status::Skipped]);
    let t = tags(&iam, "app-lambda").await;
    assert!(t.contains(&("roleguard:status".into(), "non-compliant".into())));

    // Other tags are nobody's concern.
    let o = run(&iam, "tag-team.compliant.json", &super::config(), false).await;
    assert!(o.results.is_empty());
}

#[tokio::test]
async fn a_critical_change_with_no_revert_is_quarantined() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    let config = Config::from_yaml(
        "quarantine: true\nrules: {role-guard-tag-tampering: {severity: critical, action: revert}}",
    )
    .unwrap();
    let o = run(
        &iam,
        "untag-roleguard-status.noncompliant.json",
        &config,
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    let doc = inline_policy(&iam, "app-lambda", roleguard::plan::QUARANTINE_POLICY_NAME).await;
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(doc["Statement"][0]["Action"], "*");
    // Delivered again: already in place.
    let o = run(
        &iam,
        "untag-roleguard-status.noncompliant.json",
        &config,
        false,
    )
    .await;
    assert_eq!(o.results[0].status, Status::Already);
}

/// A policy attached to roleguard's own role by anyone but its stack is
/// tampering: detached, though the same policy on any other role is fine.
#[tokio::test]
async fn a_policy_attached_to_roleguards_own_role_is_detached() {
    let moto = Moto::start();
    let iam = moto.iam();
    const BASIC: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    let mut compliant = 0;
    for role in ["roleguard-function", "app-lambda"] {
        create_role(&iam, role, LAMBDA_TRUST).await;
        iam.attach_role_policy()
            .role_name(role)
            .policy_arn(BASIC)
            .send()
            .await
            .unwrap();
        let e = sample_as(
            "attach-admin.noncompliant.json",
            None,
            json!({"roleName": role, "policyArn": BASIC}),
        );
        let event = Event::parse(&e.to_string()).unwrap();
        let o = handle(&AwsIam::new(iam.clone()), &event, &super::config(), false)
            .await
            .unwrap();
        assert!(o.ok, "{:?}", o.results);
        if role == "app-lambda" {
            assert!(o.results.is_empty(), "{:?}", o.results);
            assert_eq!(attached(&iam, role).await, [BASIC]);
            compliant += 1;
        } else {
            assert_eq!(statuses(&o), [Status::Done, Status::Done, Status::Skipped]);
            assert!(attached(&iam, role).await.is_empty());
            let t = tags(&iam, role).await;
            assert!(
                t.contains(&("roleguard:findings".into(), "role-roleguard-changed".into())),
                "{t:?}"
            );
        }
    }
    assert_eq!(compliant, 1);
}

/// A service-linked role is known by the path IAM reports: a trust change on
/// the one IAM created through CreateServiceLinkedRole is its service's, and
/// left alone; the same change on a role that only bears the name, at `/`,
/// is reverted.
#[tokio::test]
async fn service_linked_roles_are_known_by_their_path_not_their_name() {
    let moto = Moto::start();
    let iam = moto.iam();
    let slr = iam
        .create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .unwrap();
    let slr = slr.role().unwrap();
    assert!(
        slr.path().starts_with("/aws-service-role/"),
        "{}",
        slr.path()
    );
    let slr_name = slr.role_name().to_string();
    let lookalike = format!("{slr_name}X");
    create_role(&iam, &lookalike, LAMBDA_TRUST).await;
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    for (role, reverted) in [(slr_name.as_str(), false), (lookalike.as_str(), true)] {
        let o = handle_sample(
            &iam,
            "attach-admin.noncompliant.json",
            Some("UpdateAssumeRolePolicy"),
            json!({"roleName": role, "policyDocument": public}),
        )
        .await;
        assert!(o.ok, "{:?}", o.results);
        let steps: Vec<&str> = o.assessment.plan.iter().map(|s| s.action()).collect();
        if reverted {
            assert!(o.assessment.skipped.is_none());
            assert_eq!(steps[0], "update_assume_role_policy", "{role}");
        } else {
            assert!(
                o.assessment
                    .skipped
                    .as_deref()
                    .is_some_and(|s| s.contains("service-linked")),
                "{:?}",
                o.assessment.skipped
            );
            assert!(steps.is_empty() && o.results.is_empty());
        }
    }
}

/// A record without its document (CloudTrail omitted it, or cut it short),
/// for each call that carries one: the document IAM holds is read
/// (GetRolePolicy, GetRole, GetPolicyVersion; URL-decoded) and judged, and
/// the change reverted.
#[tokio::test]
async fn an_omitted_document_is_read_from_iam_for_each_call() {
    let moto = Moto::start();
    let iam = moto.iam();
    let admin =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    create_role(&iam, "inline", LAMBDA_TRUST).await;
    iam.put_role_policy()
        .role_name("inline")
        .policy_name("p")
        .policy_document(admin)
        .send()
        .await
        .unwrap();
    create_role(&iam, "created", public).await;
    create_role(&iam, "updated", public).await;
    create_role(&iam, "user-of-policy", LAMBDA_TRUST).await;
    let policy = iam
        .create_policy()
        .policy_name("shared")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let policy_arn = policy.policy().unwrap().arn().unwrap().to_string();
    iam.attach_role_policy()
        .role_name("user-of-policy")
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    let v2 = iam
        .create_policy_version()
        .policy_arn(&policy_arn)
        .policy_document(admin)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let v2 = v2
        .policy_version()
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let cases = [
        (
            "PutRolePolicy",
            json!({"roleName": "inline", "policyName": "p", "omitted": true}),
            "delete_role_policy",
        ),
        (
            "CreateRole",
            json!({"roleName": "created", "assumeRolePolicyDocument": &public[..40]}),
            "update_assume_role_policy",
        ),
        (
            "UpdateAssumeRolePolicy",
            json!({"roleName": "updated"}),
            "update_assume_role_policy",
        ),
        (
            "CreatePolicyVersion",
            json!({"policyArn": policy_arn, "setAsDefault": true, "omitted": true}),
            "set_default_policy_version",
        ),
    ];
    for (call, params, first) in cases {
        let mut e: Value = serde_json::from_str(
            &std::fs::read_to_string(
                super::root().join("events/put-inline-passrole.noncompliant.json"),
            )
            .unwrap(),
        )
        .unwrap();
        e["detail"]["eventName"] = call.into();
        e["detail"]["requestParameters"] = params;
        if call == "CreatePolicyVersion" {
            e["detail"]["responseElements"] =
                json!({"policyVersion": {"versionId": v2, "isDefaultVersion": true}});
        }
        let o = handle(
            &AwsIam::new(iam.clone()),
            &Event::parse(&e.to_string()).unwrap(),
            &super::config(),
            false,
        )
        .await
        .unwrap();
        assert!(o.ok, "{call}: {:?}", o.results);
        assert_eq!(
            o.assessment.plan[0].action(),
            first,
            "{call}: {:?}",
            o.assessment
        );
        assert!(
            o.assessment
                .judgement
                .notes
                .iter()
                .any(|n| n.contains("as IAM holds it now")),
            "{call}"
        );
    }
    let names = iam
        .list_role_policies()
        .role_name("inline")
        .send()
        .await
        .unwrap();
    assert!(names.policy_names().is_empty());
    for role in ["created", "updated"] {
        // The public statement gone: what is left is roleguard's deny-all.
        assert_eq!(
            trust(&iam, role).await["Statement"][0]["Effect"],
            "Deny",
            "{role}"
        );
    }
}

/// A role that only looks like roleguard's (another name in the function's
/// account, or the function role's very name in a member account) gets no
/// pass: the administrator policy it writes is deleted. A change to
/// roleguard's real role that it may not undo (its trust policy) is
/// critical and, with `quarantine: true`, the role is quarantined.
#[tokio::test]
async fn lookalikes_of_roleguard_are_judged_and_its_own_role_quarantined() {
    let moto = Moto::start();
    let iam = moto.iam();
    let admin =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(super::root().join("events/roleguard-own-change.ignored.json"))
            .unwrap(),
    )
    .unwrap();
    for (account, issuer) in [
        (
            "111122223333",
            "arn:aws:iam::111122223333:role/roleguard-function-dev",
        ),
        (
            "444455556666",
            "arn:aws:iam::444455556666:role/roleguard-function",
        ),
    ] {
        create_role(&iam, "app", LAMBDA_TRUST).await;
        iam.put_role_policy()
            .role_name("app")
            .policy_name("p")
            .policy_document(admin)
            .send()
            .await
            .unwrap();
        let mut e = sample.clone();
        e["account"] = account.into();
        e["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = issuer.into();
        e["detail"]["eventName"] = "PutRolePolicy".into();
        e["detail"]["requestParameters"] =
            json!({"roleName": "app", "policyName": "p", "policyDocument": admin});
        // The member account's IAM is moto's here: the decision is the point.
        let o = handle(
            &AwsIam::new(iam.clone()),
            &Event::parse(&e.to_string()).unwrap(),
            &super::config(),
            false,
        )
        .await
        .unwrap();
        assert!(o.assessment.skipped.is_none(), "{issuer}");
        assert_eq!(
            o.assessment.plan[0].action(),
            "delete_role_policy",
            "{issuer}"
        );
        let names = iam
            .list_role_policies()
            .role_name("app")
            .send()
            .await
            .unwrap();
        assert!(names.policy_names().is_empty(), "{issuer}");
        iam.delete_role().role_name("app").send().await.unwrap();
    }
    // roleguard's real role, its trust policy opened by someone else.
    create_role(&iam, "roleguard-function", LAMBDA_TRUST).await;
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let mut e = sample.clone();
    e["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        "arn:aws:iam::111122223333:role/deployer".into();
    e["detail"]["requestParameters"] =
        json!({"roleName": "roleguard-function", "policyDocument": public});
    let mut config = super::config();
    config.quarantine = true;
    let o = handle(
        &AwsIam::new(iam.clone()),
        &Event::parse(&e.to_string()).unwrap(),
        &config,
        false,
    )
    .await
    .unwrap();
    assert!(o.ok, "{:?}", o.results);
    let rules: Vec<&str> = o
        .assessment
        .judgement
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert!(rules.contains(&"role-roleguard-changed"), "{rules:?}");
    assert_eq!(o.assessment.plan[0].action(), "put_role_policy");
    let q = inline_policy(
        &iam,
        "roleguard-function",
        roleguard::plan::QUARANTINE_POLICY_NAME,
    )
    .await;
    assert_eq!(q["Statement"][0]["Effect"], "Deny");
}

/// AmazonEKSClusterPolicy is what EKS requires on a cluster role: on a role
/// EKS may assume it is kept (tagged and notified, its findings reported);
/// on a Lambda role the same attachment is detached.
#[tokio::test]
async fn a_policy_a_service_requires_stays_on_that_services_role() {
    let moto = Moto::start();
    let iam = moto.iam();
    const EKS_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
    let eks_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    create_role(&iam, "eks-cluster", eks_trust).await;
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    for role in ["eks-cluster", "app-lambda"] {
        iam.attach_role_policy()
            .role_name(role)
            .policy_arn(EKS_POLICY)
            .send()
            .await
            .unwrap();
        let o = handle_sample(
            &iam,
            "attach-admin.noncompliant.json",
            None,
            json!({"roleName": role, "policyArn": EKS_POLICY}),
        )
        .await;
        assert!(o.ok, "{:?}", o.results);
        assert!(
            !o.assessment.judgement.findings.is_empty(),
            "judged for what it grants"
        );
        let steps: Vec<&str> = o.assessment.plan.iter().map(|s| s.action()).collect();
        if role == "eks-cluster" {
            assert_eq!(steps, ["tag_role", "notify"]);
            assert_eq!(attached(&iam, role).await, [EKS_POLICY]);
            assert!(o
                .assessment
                .judgement
                .notes
                .iter()
                .any(|n| n.contains("eks.amazonaws.com requires it")));
            let t = tags(&iam, role).await;
            assert!(
                t.contains(&("roleguard:status".into(), "non-compliant".into())),
                "{t:?}"
            );
        } else {
            assert_eq!(steps[0], "detach_role_policy");
            assert!(attached(&iam, role).await.is_empty());
        }
    }
}
