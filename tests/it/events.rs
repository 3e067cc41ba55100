//! Every sample event in `events/`, through the same core the Lambda runs:
//! what is found and exactly which steps are planned.

use roleguard::config::Config;
use roleguard::event::Event;
use roleguard::plan::{assess, Assessment, Step};
use serde_json::json;

fn assess_file(name: &str, config: &Config) -> Assessment {
    let text = std::fs::read_to_string(super::root().join("events").join(name)).unwrap();
    assess(&Event::parse(&text).unwrap(), config).unwrap()
}

fn actions(a: &Assessment) -> Vec<&'static str> {
    a.plan
        .iter()
        .map(|s| {
            // The name is the one the JSON carries.
            assert_eq!(serde_json::to_value(s).unwrap()["action"], s.action());
            s.action()
        })
        .collect()
}

#[test]
fn compliant_events_plan_nothing() {
    let config = super::config();
    for entry in std::fs::read_dir(super::root().join("events")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.contains(".compliant") {
            let a = assess_file(&name, &config);
            assert!(
                a.judgement.findings.is_empty() && a.plan.is_empty(),
                "{name}: {:?}",
                a.judgement.findings
            );
            assert!(a.skipped.is_none());
        }
    }
}

#[test]
fn ignored_events_are_skipped_with_a_reason() {
    let config = super::config();
    let cases = [
        (
            "failed-call.ignored.json",
            "the call failed (AccessDenied): nothing changed",
        ),
        (
            "roleguard-own-change.ignored.json",
            "made by roleguard's own role arn:aws:iam::111122223333:role/roleguard-function",
        ),
    ];
    for (name, why) in cases {
        let a = assess_file(name, &config);
        assert_eq!(a.skipped.as_deref(), Some(why), "{name}");
        assert!(
            a.plan.is_empty() && a.judgement.findings.is_empty(),
            "{name}"
        );
    }
}

/// The doors an attacker would try: a role of roleguard's own name acting in
/// another account or unknown to the deployment, and a service-linked name
/// and path chosen at CreateRole. Each is judged like any other change.
#[test]
fn lookalikes_of_skipped_roles_are_judged() {
    // roleguard's own change (a deny-all trust) with an administrator's
    // inline policy in its place: what a lookalike would write.
    let admin = |issuer: &str| {
        let mut e: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                super::root().join("events/roleguard-own-change.ignored.json"),
            )
            .unwrap(),
        )
        .unwrap();
        e["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = issuer.into();
        e["detail"]["eventName"] = "PutRolePolicy".into();
        e["detail"]["requestParameters"] = json!({"roleName": "app", "policyName": "p",
            "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"});
        Event::from_value(e).unwrap()
    };
    let a = assess(&admin(super::OWN_ROLE), &super::config()).unwrap();
    assert!(a.skipped.is_some(), "the real one is roleguard's own");
    // The same role name in another account is not roleguard's, nor is the
    // real one when the deployment does not name it.
    for (issuer, config) in [
        (
            "arn:aws:iam::444455556666:role/roleguard-function",
            super::config(),
        ),
        (super::OWN_ROLE, Config::default()),
    ] {
        let a = assess(&admin(issuer), &config).unwrap();
        assert!(a.skipped.is_none(), "{issuer}: {:?}", a.skipped);
        assert!(a.plan.iter().any(|s| s.reverts()), "{issuer}");
    }
    // AWSServiceRoleForECS at /aws-service-role/ made by CreateRole: a role
    // like any, with a public trust.
    let a = assess_file(
        "create-role-service-linked-lookalike.noncompliant.json",
        &super::config(),
    );
    assert!(a.skipped.is_none());
    assert_eq!(a.judgement.findings[0].rule.as_str(), "trust-any-principal");
    assert!(a.plan.iter().any(|s| s.reverts()));
}

#[test]
fn public_trust_is_replaced_by_deny_all() {
    let a = assess_file(
        "create-role-public-trust.noncompliant.json",
        &super::config(),
    );
    assert_eq!(
        actions(&a),
        [
            "update_assume_role_policy",
            "revoke_sessions",
            "tag_role",
            "notify"
        ]
    );
    let Step::UpdateAssumeRolePolicy {
        role_name,
        policy_document,
        replaced_document,
    } = &a.plan[0]
    else {
        panic!()
    };
    assert_eq!(role_name, "app-public");
    assert_eq!(
        policy_document,
        &roleguard::plan::deny_all_trust_policy(),
        "nothing compliant is left"
    );
    assert_eq!(
        replaced_document["Statement"][0]["Principal"],
        json!({"AWS": "*"}),
        "the replaced document travels with the plan"
    );
    // The sessions the public trust let out: revoked at the revert.
    let Step::RevokeSessions {
        role_name,
        policy_name,
        issued_before,
        ..
    } = &a.plan[1]
    else {
        panic!()
    };
    assert_eq!(role_name, "app-public");
    assert_eq!(policy_name, "AWSRevokeOlderSessions");
    assert_eq!(issued_before, &None, "the time is the revert's");
    let Step::TagRole { tags, .. } = &a.plan[2] else {
        panic!()
    };
    assert_eq!(tags["roleguard:status"], "reverted");
    assert_eq!(tags["roleguard:findings"], "trust-any-principal");
}

#[test]
fn only_the_offending_trust_statement_is_removed() {
    let a = assess_file(
        "update-trust-github-wildcard.noncompliant.json",
        &super::config(),
    );
    let Step::UpdateAssumeRolePolicy {
        policy_document, ..
    } = &a.plan[0]
    else {
        panic!()
    };
    let kept = policy_document["Statement"].as_array().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["Sid"], "Lambda");
}

#[test]
fn attach_admin_is_detached() {
    let a = assess_file("attach-admin.noncompliant.json", &super::config());
    assert_eq!(
        a.plan[0],
        Step::DetachRolePolicy {
            role_name: "app-lambda".into(),
            policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into()
        }
    );
    assert_eq!(
        a.actor.as_deref(),
        Some("arn:aws:iam::111122223333:role/deployer")
    );
    assert_eq!(a.event_id.as_deref(), Some("eb-0006"));
}

#[test]
fn inline_escalation_is_deleted_and_kept_in_the_plan() {
    let a = assess_file("put-inline-passrole.noncompliant.json", &super::config());
    let Step::DeleteRolePolicy {
        policy_name,
        removed_document,
        ..
    } = &a.plan[0]
    else {
        panic!("{:?}", a.plan)
    };
    assert_eq!(policy_name, "deploy");
    assert_eq!(
        removed_document["Statement"][0]["Action"][0],
        "iam:PassRole"
    );
}

#[test]
fn bad_policy_version_is_rolled_back() {
    let a = assess_file(
        "create-policy-version-admin.noncompliant.json",
        &super::config(),
    );
    assert_eq!(
        actions(&a),
        [
            "set_default_policy_version",
            "delete_policy_version",
            "notify"
        ]
    );
    assert_eq!(
        a.plan[1],
        Step::DeletePolicyVersion {
            policy_arn: "arn:aws:iam::111122223333:policy/app-deploy".into(),
            version_id: "v4".into(),
            removed_document: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        }
    );
}

#[test]
fn session_duration_is_restored_at_the_configured_threshold() {
    // A medium finding: tagged and notified under the default revert_at (high).
    let a = assess_file(
        "update-role-12h-session.noncompliant.json",
        &super::config(),
    );
    assert_eq!(actions(&a), ["tag_role", "notify"]);
    // Reverted where the team asks for it.
    let a = assess_file(
        "update-role-12h-session.noncompliant.json",
        &Config::from_yaml("revert_at: medium").unwrap(),
    );
    assert_eq!(
        a.plan[0],
        Step::UpdateRole {
            role_name: "app-lambda".into(),
            max_session_duration: 3600
        }
    );
}

#[test]
fn a_lowered_finding_never_reverts() {
    // Full admin only on resources tagged team=blue: high, but lowered by
    // the condition, so tagged and notified, not deleted.
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
        "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}}]});
    let event = roleguard::event::Event::from_value(serde_json::json!({
        "id": "lowered", "account": "111122223333", "detail": {"eventSource": "iam.amazonaws.com",
        "eventName": "PutRolePolicy", "requestParameters": {"roleName": "app", "policyName": "p",
        "policyDocument": doc.to_string()}}}))
    .unwrap();
    let a = roleguard::plan::assess(&event, &super::config()).unwrap();
    assert_eq!(
        a.judgement.max_severity(),
        Some(roleguard::rules::Severity::High)
    );
    assert_eq!(actions(&a), ["tag_role", "notify"]);
    // The same grant without the condition is deleted.
    let mut bare = doc.clone();
    bare["Statement"][0]
        .as_object_mut()
        .unwrap()
        .remove("Condition");
    let event = roleguard::event::Event::from_value(serde_json::json!({
        "id": "bare", "account": "111122223333", "detail": {"eventSource": "iam.amazonaws.com",
        "eventName": "PutRolePolicy", "requestParameters": {"roleName": "app", "policyName": "p",
        "policyDocument": bare.to_string()}}}))
    .unwrap();
    let a = roleguard::plan::assess(&event, &super::config()).unwrap();
    assert_eq!(actions(&a), ["delete_role_policy", "tag_role", "notify"]);
}

#[test]
fn responses_follow_the_configuration() {
    // Foreign account: tag by default, no revert.
    let a = assess_file(
        "update-trust-foreign-account.noncompliant.json",
        &super::config(),
    );
    assert_eq!(actions(&a), ["tag_role", "notify"]);
    // Configured to revert.
    let revert =
        Config::from_yaml("rules: {trust-cross-account-no-external-id: {action: revert}}").unwrap();
    assert_eq!(
        actions(&assess_file(
            "update-trust-foreign-account.noncompliant.json",
            &revert
        )),
        ["update_assume_role_policy", "tag_role", "notify"]
    );
    // Configured to notify only.
    let notify = Config::from_yaml(
        "rules: {perm-full-admin: {action: notify}, perm-denied-managed-policy: {action: notify}}",
    )
    .unwrap();
    assert_eq!(
        actions(&assess_file("attach-admin.noncompliant.json", &notify)),
        ["notify"]
    );
    // The owner account comes from the event, so a trusted account is trusted.
    let trusted = Config::from_yaml("trusted_accounts: ['999988887777']").unwrap();
    assert!(
        assess_file("update-trust-foreign-account.noncompliant.json", &trusted)
            .plan
            .is_empty()
    );
}

#[test]
fn boundary_removal_with_a_required_boundary() {
    let none = assess_file("delete-boundary.noncompliant.json", &super::config());
    // No boundary required, no baseline: the removal is found, the role
    // tagged and the change notified; nothing to put back.
    assert_eq!(
        none.judgement.findings[0].rule.as_str(),
        "role-boundary-removed"
    );
    assert_eq!(actions(&none), ["tag_role", "notify"]);
    let config =
        Config::from_yaml("required_boundary: arn:aws:iam::111122223333:policy/boundary").unwrap();
    let a = assess_file("delete-boundary.noncompliant.json", &config);
    assert_eq!(
        a.plan[0],
        Step::PutRolePermissionsBoundary {
            role_name: "app-lambda".into(),
            permissions_boundary: "arn:aws:iam::111122223333:policy/boundary".into(),
        }
    );
}

#[test]
fn tag_tampering_retags() {
    let a = assess_file("untag-roleguard-status.noncompliant.json", &super::config());
    assert_eq!(actions(&a), ["tag_role", "notify"]);
}

#[test]
fn quarantine_when_nothing_can_be_reverted() {
    // A critical finding whose change has no revert step: tag tampering made critical.
    let config = Config::from_yaml(
        "quarantine: true\nrules: {role-guard-tag-tampering: {severity: critical, action: revert}}",
    )
    .unwrap();
    let a = assess_file("untag-roleguard-status.noncompliant.json", &config);
    let Step::PutRolePolicy {
        policy_name,
        policy_document,
        ..
    } = &a.plan[0]
    else {
        panic!("{:?}", a.plan)
    };
    assert_eq!(policy_name, roleguard::plan::QUARANTINE_POLICY_NAME);
    assert_eq!(policy_document["Statement"][0]["Effect"], "Deny");
    let without = Config::from_yaml(
        "rules: {role-guard-tag-tampering: {severity: critical, action: revert}}",
    )
    .unwrap();
    assert_eq!(
        actions(&assess_file(
            "untag-roleguard-status.noncompliant.json",
            &without
        )),
        ["tag_role", "notify"]
    );
}

#[test]
fn unsupported_and_malformed_events() {
    let config = super::config();
    let e = Event::parse(r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"CreateUser","eventSource":"iam.amazonaws.com"}}"#).unwrap();
    let err = assess(&e, &config).unwrap_err().to_string();
    assert!(err.starts_with("unsupported call iam:CreateUser"), "{err}");
    let e = Event::parse(r#"{"detail":{"eventName":"PutRolePolicy","requestParameters":{"roleName":"r","policyName":"p","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\"}]}"}}}"#).unwrap();
    assert_eq!(
        assess(&e, &config).unwrap_err().to_string(),
        "PutRolePolicy: the policy document in the event is invalid: Statement[0]: has neither Action nor NotAction"
    );
}
