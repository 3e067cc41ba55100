//! A role judged as a whole, against a real IAM API (moto): a split path
//! completed by a second event, a boundary that takes a path away, and the
//! IAM calls it costs.

use super::moto::{attached, create_role, Moto, ACCOUNT, LAMBDA_TRUST};
use crate::calls::handle;
use roleguard::adapters::iam::AwsIam;
use roleguard::config::Config;
use roleguard::engine::Counting;
use roleguard::event::Event;
use roleguard::outcome::Outcome;
use roleguard::outcome::Status;
use roleguard::plan::Step;
use serde_json::{json, Value};

fn event(id: &str, name: &str, params: Value) -> Event {
    Event::from_value(json!({
        "version": "0", "id": id, "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
        "account": ACCOUNT, "time": "2026-11-27T10:00:00Z", "region": "us-east-1",
        "detail": {"eventVersion": "1.09", "eventSource": "iam.amazonaws.com", "eventName": name,
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/s"),
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{ACCOUNT}:role/deployer")}}},
            "requestParameters": params, "recipientAccountId": ACCOUNT}
    }))
    .unwrap()
}

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// PassRole to Lambda, alone: not an escalation.
fn pass_to_lambda() -> String {
    doc(
        json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}}]),
    )
}

/// Create and invoke functions, alone: writes on all functions.
fn run_functions() -> String {
    doc(
        json!([{"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}]),
    )
}

async fn put(iam: &aws_sdk_iam::Client, role: &str, name: &str, document: &str) -> Event {
    iam.put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .unwrap();
    event(
        &format!("put-{role}-{name}"),
        "PutRolePolicy",
        json!({"roleName": role, "policyName": name, "policyDocument": document}),
    )
}

async fn run(iam: &aws_sdk_iam::Client, e: &Event) -> (Outcome, usize) {
    let counting = Counting::new(AwsIam::new(iam.clone()));
    let o = handle(&counting, e, &Config::default(), false)
        .await
        .unwrap();
    (o, counting.calls())
}

fn actions(o: &Outcome) -> Vec<&'static str> {
    o.assessment.plan.iter().map(Step::action).collect()
}

async fn inline_names(iam: &aws_sdk_iam::Client, role: &str) -> Vec<String> {
    iam.list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec()
}

#[tokio::test]
async fn a_split_escalation_is_reverted_at_the_event_that_completes_it() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app", LAMBDA_TRUST).await;
    // First half: PassRole to Lambda. Alone it escalates nothing.
    let first = put(&iam, "app", "pass", &pass_to_lambda()).await;
    let (o, _) = run(&iam, &first).await;
    assert!(
        !o.assessment.plan.iter().any(Step::reverts),
        "{:?}",
        o.assessment.plan
    );
    // Second half: create and invoke functions. Together, a role that can
    // run code as any role: the second policy is deleted, the first kept.
    let second = put(&iam, "app", "run", &run_functions()).await;
    let (o, _) = run(&iam, &second).await;
    let f = o
        .assessment
        .judgement
        .findings
        .iter()
        .find(|f| f.rule.as_str() == "perm-privilege-escalation")
        .expect("the split path is found");
    assert!(f.details.contains(&"passrole-lambda-invoke".to_string()));
    assert_eq!(f.sources, ["inline policy pass", "inline policy run"]);
    assert_eq!(actions(&o), ["delete_role_policy", "tag_role", "notify"]);
    assert_eq!(o.results[0].status, Status::Done, "{:?}", o.results);
    assert_eq!(inline_names(&iam, "app").await, ["pass"]);
    // The same second policy on a role without the first is only a write finding.
    create_role(&iam, "other", LAMBDA_TRUST).await;
    let alone = put(&iam, "other", "run", &run_functions()).await;
    let (o, _) = run(&iam, &alone).await;
    assert!(
        !o.assessment.plan.iter().any(Step::reverts),
        "{:?}",
        o.assessment.plan
    );
    assert_eq!(inline_names(&iam, "other").await, ["run"]);
}

#[tokio::test]
async fn a_boundary_that_takes_the_path_away_keeps_the_attachment() {
    let moto = Moto::start();
    let iam = moto.iam();
    // A customer managed policy that escalates: PassRole plus functions.
    let deploy = iam
        .create_policy()
        .policy_name("deploy")
        .policy_document(doc(json!([
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
            {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}])))
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    // A boundary that allows S3 reads only.
    let boundary = iam
        .create_policy()
        .policy_name("s3-only")
        .policy_document(doc(json!([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}])))
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    iam.create_role()
        .role_name("capped")
        .assume_role_policy_document(LAMBDA_TRUST)
        .permissions_boundary(&boundary)
        .send()
        .await
        .unwrap();
    create_role(&iam, "open", LAMBDA_TRUST).await;
    for role in ["capped", "open"] {
        iam.attach_role_policy()
            .role_name(role)
            .policy_arn(&deploy)
            .send()
            .await
            .unwrap();
    }
    let attach = |role: &str| {
        event(
            &format!("attach-{role}"),
            "AttachRolePolicy",
            json!({"roleName": role, "policyArn": deploy}),
        )
    };
    // Capped by the boundary: nothing it grants is effective; kept.
    let (o, _) = run(&iam, &attach("capped")).await;
    assert!(
        o.assessment.judgement.findings.is_empty(),
        "{:?}",
        o.assessment.judgement.findings
    );
    assert!(o.assessment.plan.is_empty());
    assert_eq!(
        attached(&iam, "capped").await,
        std::slice::from_ref(&deploy)
    );
    // The same attachment without the boundary is detached.
    let (o, _) = run(&iam, &attach("open")).await;
    assert_eq!(actions(&o)[0], "detach_role_policy");
    assert!(attached(&iam, "open").await.is_empty());
}

/// IAM calls per event when the role is judged as a whole, for the README.
#[tokio::test]
async fn calls_per_event_for_a_role_judged_as_a_whole() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "big", LAMBDA_TRUST).await;
    // Ten AWS managed policies that grant nothing of an escalation path.
    let ten = [
        "AmazonS3ReadOnlyAccess",
        "AmazonDynamoDBReadOnlyAccess",
        "CloudWatchReadOnlyAccess",
        "AmazonSQSReadOnlyAccess",
        "AmazonSNSReadOnlyAccess",
        "AWSXrayReadOnlyAccess",
        "AmazonEC2ReadOnlyAccess",
        "AmazonRDSReadOnlyAccess",
        "AWSLambda_ReadOnlyAccess",
        "CloudWatchLogsReadOnlyAccess",
    ];
    for p in ten {
        iam.attach_role_policy()
            .role_name("big")
            .policy_arn(format!("arn:aws:iam::aws:policy/{p}"))
            .send()
            .await
            .unwrap();
    }
    // A change that grants nothing of a path (S3 reads: a notified
    // data-read finding, nothing to revert): no call at all.
    let quiet = event(
        "attach-quiet",
        "AttachRolePolicy",
        json!({"roleName": "big", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
    );
    let (o, calls) = run(&iam, &quiet).await;
    assert_eq!(actions(&o), ["notify"]);
    assert_eq!(calls, 0);
    // A change that grants PassRole: the role is read (GetRole, its
    // attachments, its inline policies; the ten AWS managed documents come
    // from the embedded snapshot), then judged as a whole.
    let pass = put(&iam, "big", "pass", &pass_to_lambda()).await;
    let (o, calls) = run(&iam, &pass).await;
    assert!(!o.assessment.plan.iter().any(Step::reverts));
    // GetRole, ListAttachedRolePolicies, ListRolePolicies, GetRolePolicy.
    assert_eq!(calls, 4, "{:?}", o.assessment.judgement.notes);
    println!("calls per event, a role with 10 attached AWS managed policies: quiet change 0, relevant change {calls}");
}

/// With the audit table, the role's baseline serves before IAM is asked: a
/// relevant change to a role roleguard has seen costs no read, and a revert
/// decided on the kept copy is confirmed on IAM first.
#[tokio::test]
async fn the_baseline_serves_before_iam_and_a_revert_is_confirmed() {
    use crate::calls::handle_with;
    use roleguard::ports::NoChannels;
    let moto = Moto::start();
    let iam = moto.iam();
    let store = moto.audit_table("roleguard-audit").await;
    create_role(&iam, "app", LAMBDA_TRUST).await;
    let config = Config::default();
    let run = |e: Event| {
        let iam = iam.clone();
        let config = config.clone();
        let store = &store;
        async move {
            let counting = Counting::new(AwsIam::new(iam));
            let o = handle_with(&counting, store, &NoChannels, &e, &config, false)
                .await
                .unwrap();
            (o, counting.calls())
        }
    };
    // First relevant change: no baseline yet, the role is read from IAM
    // (GetRole, ListAttachedRolePolicies, ListRolePolicies, GetRolePolicy).
    let first = put(&iam, "app", "pass", &pass_to_lambda()).await;
    let (o, calls) = run(first).await;
    assert!(!o.assessment.plan.iter().any(Step::reverts));
    assert_eq!(calls, 4);
    // Another relevant, harmless change: judged on the baseline, no call.
    let tags = put(
        &iam,
        "app",
        "tags",
        &doc(json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111122223333:role/app-fn"}])),
    )
    .await;
    let (o, calls) = run(tags).await;
    assert!(!o.assessment.plan.iter().any(Step::reverts));
    assert_eq!(calls, 0);
    // The change that completes the path: the baseline says revert, IAM is
    // read to confirm (GetRole, ListAttachedRolePolicies, ListRolePolicies,
    // a GetRolePolicy for each of the 3 inline policies), then the revert
    // itself (GetRolePolicy, DeleteRolePolicy, GetRole, TagRole).
    let second = put(&iam, "app", "run", &run_functions()).await;
    let (o, calls) = run(second).await;
    assert_eq!(actions(&o), ["delete_role_policy", "tag_role", "notify"]);
    assert_eq!(calls, 6 + 4);
    assert_eq!(inline_names(&iam, "app").await, ["pass", "tags"]);
}

/// DeleteRolePermissionsBoundary: a high finding. Without a baseline the
/// role is tagged and the change notified; with the audit table holding the
/// role as last accepted, its boundary is put back.
#[tokio::test]
async fn a_removed_boundary_is_notified_and_put_back_from_the_baseline() {
    use crate::calls::handle_with;
    use roleguard::ports::NoChannels;
    let moto = Moto::start();
    let iam = moto.iam();
    let store = moto.audit_table("roleguard-audit").await;
    let boundary = iam
        .create_policy()
        .policy_name("developer-boundary")
        .policy_document(doc(
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        ))
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    for role in ["kept", "unknown"] {
        iam.create_role()
            .role_name(role)
            .assume_role_policy_document(LAMBDA_TRUST)
            .permissions_boundary(&boundary)
            .send()
            .await
            .unwrap();
    }
    let config = Config::default();
    // A relevant change to "kept" reads it whole and keeps it as its baseline.
    let first = put(&iam, "kept", "pass", &pass_to_lambda()).await;
    let o = handle_with(
        &AwsIam::new(iam.clone()),
        &store,
        &NoChannels,
        &first,
        &config,
        false,
    )
    .await
    .unwrap();
    assert!(!o.assessment.plan.iter().any(Step::reverts));
    for (role, restored) in [("kept", true), ("unknown", false)] {
        iam.delete_role_permissions_boundary()
            .role_name(role)
            .send()
            .await
            .unwrap();
        let e = event(
            &format!("delete-boundary-{role}"),
            "DeleteRolePermissionsBoundary",
            json!({"roleName": role}),
        );
        let o = handle_with(
            &AwsIam::new(iam.clone()),
            &store,
            &NoChannels,
            &e,
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
        assert_eq!(rules, ["role-boundary-removed"], "{role}");
        let now = iam.get_role().role_name(role).send().await.unwrap();
        let now = now
            .role()
            .unwrap()
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(String::from);
        if restored {
            assert_eq!(actions(&o)[0], "put_role_permissions_boundary");
            assert_eq!(now.as_deref(), Some(boundary.as_str()));
        } else {
            assert_eq!(actions(&o), ["tag_role", "notify"]);
            assert_eq!(now, None);
        }
    }
}
