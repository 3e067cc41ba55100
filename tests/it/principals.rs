//! Users and groups are principals too: administrator access granted to a
//! user, an inline admin policy put on a group, a user added to an admin
//! group are reverted like a role's (against moto); a user is judged as a
//! whole, with its groups' policies and every Deny across them (on the
//! in-memory IAM).

use super::moto::Moto;
use crate::calls::handle;
use roleguard::adapters::iam::AwsIam;
use roleguard::adapters::memory::MemoryIam;
use roleguard::config::Config;
use roleguard::event::Event;
use roleguard::outcome::{Outcome, Status};
use roleguard::ports::Entity;
use serde_json::{json, Value};

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const ADMIN_DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A CloudTrail event of `call` with these request parameters.
fn event(call: &str, parameters: Value) -> Event {
    let text = std::fs::read_to_string(super::root().join("events/attach-admin.noncompliant.json"))
        .unwrap();
    let mut p: Value = serde_json::from_str(&text).unwrap();
    p["id"] = json!(format!("eb-{call}"));
    p["detail"]["eventID"] = json!(format!("ct-{call}"));
    p["detail"]["eventName"] = json!(call);
    p["detail"]["requestParameters"] = parameters;
    Event::from_value(p).unwrap()
}

fn actions(o: &Outcome) -> Vec<(&'static str, Status)> {
    o.results
        .iter()
        .map(|r| (r.step.action(), r.status))
        .collect()
}

async fn user_policies(iam: &aws_sdk_iam::Client, user: &str) -> Vec<String> {
    iam.list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(String::from))
        .collect()
}

#[tokio::test]
async fn moto_administrator_access_attached_to_a_user_is_detached() {
    let moto = Moto::start();
    let iam = moto.iam();
    iam.create_user().user_name("bob").send().await.unwrap();
    iam.attach_user_policy()
        .user_name("bob")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    let e = event(
        "AttachUserPolicy",
        json!({"userName": "bob", "policyArn": ADMIN}),
    );
    let o = handle(&AwsIam::new(iam.clone()), &e, &Config::default(), false)
        .await
        .unwrap();
    assert_eq!(o.assessment.user_name.as_deref(), Some("bob"));
    assert_eq!(
        actions(&o),
        [
            ("detach_user_policy", Status::Done),
            ("tag_user", Status::Done),
            ("notify", Status::Skipped)
        ]
    );
    assert!(user_policies(&iam, "bob").await.is_empty());
    let tags = iam.list_user_tags().user_name("bob").send().await.unwrap();
    assert!(tags
        .tags()
        .iter()
        .any(|t| t.key() == "roleguard:status" && t.value() == "reverted"));
}

#[tokio::test]
async fn moto_an_inline_admin_policy_on_a_group_is_deleted() {
    let moto = Moto::start();
    let iam = moto.iam();
    iam.create_group().group_name("ops").send().await.unwrap();
    iam.put_group_policy()
        .group_name("ops")
        .policy_name("everything")
        .policy_document(ADMIN_DOC)
        .send()
        .await
        .unwrap();
    let e = event(
        "PutGroupPolicy",
        json!({"groupName": "ops", "policyName": "everything", "policyDocument": ADMIN_DOC}),
    );
    let o = handle(&AwsIam::new(iam.clone()), &e, &Config::default(), false)
        .await
        .unwrap();
    // Groups cannot be tagged: deleted and notified.
    assert_eq!(
        actions(&o),
        [
            ("delete_group_policy", Status::Done),
            ("notify", Status::Skipped)
        ]
    );
    let left = iam
        .list_group_policies()
        .group_name("ops")
        .send()
        .await
        .unwrap();
    assert!(left.policy_names().is_empty());
    // The deleted document travels with the outcome.
    assert_eq!(
        o.results[0].step.kept_documents()[0].1,
        &serde_json::from_str::<Value>(ADMIN_DOC).unwrap()
    );
}

#[tokio::test]
async fn moto_a_user_added_to_an_admin_group_is_removed_from_it() {
    let moto = Moto::start();
    let iam = moto.iam();
    iam.create_user().user_name("carol").send().await.unwrap();
    iam.create_group()
        .group_name("admins")
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("admins")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .group_name("admins")
        .user_name("carol")
        .send()
        .await
        .unwrap();
    let e = event(
        "AddUserToGroup",
        json!({"groupName": "admins", "userName": "carol"}),
    );
    let o = handle(&AwsIam::new(iam.clone()), &e, &Config::default(), false)
        .await
        .unwrap();
    let rules: Vec<&str> = o
        .assessment
        .judgement
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert!(rules.contains(&"perm-full-admin"), "{rules:?}");
    assert_eq!(
        actions(&o),
        [
            ("remove_user_from_group", Status::Done),
            ("tag_user", Status::Done),
            ("notify", Status::Skipped)
        ]
    );
    let groups = iam
        .list_groups_for_user()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    assert!(groups.groups().is_empty());
    // The group keeps its policy: others in it are not this event's.
    let kept = iam
        .list_attached_group_policies()
        .group_name("admins")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.attached_policies().len(), 1);
}

/// A user is judged as a whole: a grant taken back by a Deny in one of its
/// groups is no finding; without the group, the same grant is.
#[tokio::test]
async fn a_users_groups_deny_takes_back_what_its_own_policy_grants() {
    let escalation = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"}]}"#;
    let parameters =
        json!({"userName": "dave", "policyName": "deploy", "policyDocument": escalation});
    let judged = |with_guard: bool| {
        let iam = MemoryIam::new("111122223333");
        let groups = if with_guard {
            iam.put_group(
                "guarded",
                vec![],
                vec![(
                    "no-pass".into(),
                    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
                        "Action": "iam:PassRole", "Resource": "*"}]}),
                )],
            );
            vec!["guarded".to_string()]
        } else {
            vec![]
        };
        iam.put_user("dave", vec![], groups);
        iam.change_holder(Entity::User, "dave", |h| {
            h.inline
                .insert("deploy".into(), serde_json::from_str(escalation).unwrap());
        });
        let e = event("PutUserPolicy", parameters.clone());
        (iam, e)
    };
    let (iam, e) = judged(false);
    let o = handle(&iam, &e, &Config::default(), false).await.unwrap();
    assert!(
        o.assessment
            .judgement
            .findings
            .iter()
            .any(|f| f.rule.as_str() == "perm-privilege-escalation"),
        "{:?}",
        o.assessment.judgement
    );
    assert_eq!(actions(&o)[0], ("delete_user_policy", Status::Done));
    assert!(iam.holder(Entity::User, "dave").unwrap().inline.is_empty());

    let (iam, e) = judged(true);
    let o = handle(&iam, &e, &Config::default(), false).await.unwrap();
    assert!(
        !o.assessment
            .judgement
            .findings
            .iter()
            .any(|f| f.rule.as_str() == "perm-privilege-escalation"),
        "the group's Deny takes PassRole back: {:?}",
        o.assessment.judgement
    );
    assert!(o.results.iter().all(|r| !r.step.reverts()));
    assert!(o
        .assessment
        .judgement
        .notes
        .iter()
        .any(|n| n.contains("its groups' included: guarded")));
}

/// A required guardrail detached from a role is attached again; detaching
/// an ordinary Allow does nothing (against moto).
#[tokio::test]
async fn moto_a_removed_required_guardrail_is_reattached_and_an_allow_left_alone() {
    const DENY_ALL: &str = "arn:aws:iam::aws:policy/AWSDenyAll";
    const S3_READ: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    let moto = Moto::start();
    let iam = moto.iam();
    super::moto::create_role(&iam, "app", super::moto::LAMBDA_TRUST).await;
    for arn in [DENY_ALL, S3_READ] {
        iam.attach_role_policy()
            .role_name("app")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
        iam.detach_role_policy()
            .role_name("app")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    let config = Config {
        required_guardrails: vec![DENY_ALL.into()],
        ..Config::default()
    };
    let aws = AwsIam::new(iam.clone());
    let e = event(
        "DetachRolePolicy",
        json!({"roleName": "app", "policyArn": DENY_ALL}),
    );
    let o = handle(&aws, &e, &config, false).await.unwrap();
    assert_eq!(
        actions(&o),
        [
            ("attach_role_policy", Status::Done),
            ("tag_role", Status::Done),
            ("notify", Status::Skipped)
        ]
    );
    assert_eq!(super::moto::attached(&iam, "app").await, [DENY_ALL]);
    // The same event again: already attached.
    let again = handle(&aws, &e, &config, false).await.unwrap();
    assert_eq!(again.results[0].status, Status::Already);
    // An Allow detached: the role may do less, nothing to do.
    let e = event(
        "DetachRolePolicy",
        json!({"roleName": "app", "policyArn": S3_READ}),
    );
    let o = handle(&aws, &e, &config, false).await.unwrap();
    assert!(o.results.is_empty(), "{:?}", o.results);
    assert!(o.assessment.judgement.findings.is_empty());
    assert_eq!(super::moto::attached(&iam, "app").await, [DENY_ALL]);
}

/// A required inline guardrail deleted from a role is put back from the
/// role's baseline, which the audit table kept when the guardrail was put.
#[tokio::test]
async fn a_deleted_required_inline_guardrail_is_put_back_from_the_baseline() {
    use roleguard::adapters::memory::MemoryStore;
    use roleguard::ports::{Iam, NoChannels};
    let guard = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;
    let iam = MemoryIam::new("111122223333");
    iam.put_lambda_role("app", vec![]);
    let store = MemoryStore::new();
    let config = Config {
        required_guardrails: vec!["guard".into()],
        ..Config::default()
    };
    // The guardrail is put: accepted, and kept as the role's baseline.
    iam.put_role_policy("app", "guard", guard).await.unwrap();
    let put = event(
        "PutRolePolicy",
        json!({"roleName": "app", "policyName": "guard", "policyDocument": guard}),
    );
    let o = crate::calls::handle_with(&iam, &store, &NoChannels, &put, &config, false)
        .await
        .unwrap();
    assert!(o.results.is_empty(), "{:?}", o.results);
    // Someone deletes it.
    iam.delete_role_policy("app", "guard").await.unwrap();
    let mut deleted = event(
        "DeleteRolePolicy",
        json!({"roleName": "app", "policyName": "guard"}),
    );
    deleted.id = Some("eb-delete-guard".into());
    let o = crate::calls::handle_with(&iam, &store, &NoChannels, &deleted, &config, false)
        .await
        .unwrap();
    let rules: Vec<&str> = o
        .assessment
        .judgement
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules, ["perm-required-guardrail-removed"]);
    assert_eq!(actions(&o)[0], ("put_role_policy", Status::Done));
    assert_eq!(
        iam.role("app").unwrap().inline.get("guard"),
        Some(&serde_json::from_str::<Value>(guard).unwrap())
    );
}

/// A new default version of a policy that only a user holds is reverted
/// too: the policy is attached to something that can use it.
#[tokio::test]
async fn a_policy_version_of_a_policy_only_a_user_holds_is_reverted() {
    const ARN: &str = "arn:aws:iam::111122223333:policy/app-deploy";
    let iam = MemoryIam::new("111122223333");
    iam.put_policy(
        ARN,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
    );
    iam.put_policy(ARN, serde_json::from_str(ADMIN_DOC).unwrap());
    iam.put_user("bob", vec![ARN.into()], vec![]);
    let text = std::fs::read_to_string(
        super::root().join("events/create-policy-version-admin.noncompliant.json"),
    )
    .unwrap();
    let mut p: Value = serde_json::from_str(&text).unwrap();
    p["detail"]["responseElements"] =
        json!({"policyVersion": {"versionId": "v2", "isDefaultVersion": true}});
    let e = Event::from_value(p).unwrap();
    let o = handle(&iam, &e, &Config::default(), false).await.unwrap();
    assert!(o.assessment.skipped.is_none(), "{:?}", o.assessment.skipped);
    assert!(o
        .assessment
        .judgement
        .notes
        .iter()
        .any(|n| n.contains("is attached to user bob")));
    assert_eq!(
        actions(&o)[..2],
        [
            ("set_default_policy_version", Status::Done),
            ("delete_policy_version", Status::Done)
        ]
    );
}
