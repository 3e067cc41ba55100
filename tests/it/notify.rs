//! Alert renderings for every channel, from a sample event's real plan.

use roleguard::event::Event;
use roleguard::notify::{self, Alert};
use roleguard::outcome::Outcome;
use roleguard::outcome::Status;
use roleguard::outcome::StepResult;
use roleguard::plan::assess;

fn event(name: &str) -> Event {
    Event::parse(&std::fs::read_to_string(super::root().join("events").join(name)).unwrap())
        .unwrap()
}

/// The sample's plan, every step done (or, in a dry run, would be done).
fn outcome(e: &Event, dry_run: bool) -> Outcome {
    let assessment = assess(e, &super::config()).unwrap();
    let results = assessment
        .plan
        .iter()
        .map(|step| StepResult {
            step: step.clone(),
            status: match step {
                roleguard::plan::Step::Notify { .. } => Status::Skipped,
                _ if dry_run => Status::WouldDo,
                _ => Status::Done,
            },
            detail: String::new(),
        })
        .collect();
    Outcome {
        assessment,
        dry_run,
        results,
        window: None,
        ok: true,
    }
}

fn alert(name: &str, dry_run: bool) -> Alert {
    let e = event(name);
    Alert::new(&outcome(&e, dry_run), &e).expect("an alert")
}

#[test]
fn the_alert_carries_who_what_and_the_removed_document() {
    let a = alert("put-inline-passrole.noncompliant.json", false);
    assert_eq!(a.schema, "roleguard.alert/v1");
    assert_eq!(a.action, "reverted");
    assert_eq!(
        a.documents.len(),
        1,
        "the deleted inline policy travels with the alert"
    );
    assert_eq!(a.documents[0].change, "removed");
    insta::assert_json_snapshot!("alert-put-inline-passrole", a);
}

#[test]
fn compliant_and_skipped_events_raise_no_alert() {
    for name in [
        "create-role-lambda.compliant.json",
        "failed-call.ignored.json",
        "roleguard-own-change.ignored.json",
    ] {
        let e = event(name);
        assert!(Alert::new(&outcome(&e, false), &e).is_none(), "{name}");
    }
}

#[test]
fn dry_runs_say_what_would_be_done() {
    assert_eq!(
        alert("attach-admin.noncompliant.json", true).action,
        "would revert"
    );
    assert_eq!(
        alert("untag-roleguard-status.noncompliant.json", false).action,
        "tagged"
    );
}

#[test]
fn sns_message_subject_and_attributes() {
    let m = notify::sns(&alert("attach-admin.noncompliant.json", false), "audit");
    assert_eq!(
        m.subject,
        "roleguard CRITICAL reverted: AttachRolePolicy on app-lambda in 111122223333"
    );
    assert!(m.subject.len() <= 100);
    let body: serde_json::Value = serde_json::from_str(&m.message).unwrap();
    assert_eq!(body["schema"], "roleguard.alert/v1");
    insta::assert_debug_snapshot!("sns-attributes-attach-admin", m.attributes);
}

#[test]
fn a_message_too_large_keeps_its_documents_elsewhere() {
    let mut a = alert("put-inline-passrole.noncompliant.json", false);
    a.documents[0].document = serde_json::json!({"padding": "x".repeat(300 * 1024)});
    let text = a.to_json_within(notify::MESSAGE_LIMIT, "audit record event#eb-0008");
    assert!(text.len() <= notify::MESSAGE_LIMIT);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["documents"], serde_json::json!([]));
    assert_eq!(v["documents_kept_in"], "audit record event#eb-0008");
}

#[test]
fn slack_blocks() {
    let v = notify::slack(&alert(
        "update-trust-github-wildcard.noncompliant.json",
        false,
    ));
    insta::assert_json_snapshot!("slack-update-trust-github-wildcard", v);
}

#[test]
fn security_hub_findings_have_stable_ids_and_resolve_once_reverted() {
    let a = alert("attach-admin.noncompliant.json", false);
    let findings = asff(&a, "999988887777", "us-east-1", "2026-11-22T10:00:10Z");
    assert_eq!(findings.len(), 2, "one per rule");
    assert_eq!(
        findings[0]["Id"],
        "roleguard/111122223333/app-lambda/perm-denied-managed-policy"
    );
    assert_eq!(
        findings[0]["ProductArn"],
        "arn:aws:securityhub:us-east-1:999988887777:product/999988887777/default"
    );
    assert_eq!(findings[0]["Workflow"]["Status"], "RESOLVED");
    assert_eq!(findings[0]["Compliance"]["Status"], "PASSED");
    let dry = asff(
        &alert("attach-admin.noncompliant.json", true),
        "999988887777",
        "us-east-1",
        "2026-11-22T10:00:10Z",
    );
    assert_eq!(dry[0]["Id"], findings[0]["Id"], "the same finding, updated");
    assert_eq!(dry[0]["Workflow"]["Status"], "NEW");
    insta::assert_json_snapshot!("asff-attach-admin", findings);
}

/// The Security Hub findings the adapter sends (the SDK's type), read back
/// field by field through the SDK's getters as ASFF JSON: what the snapshot
/// holds. A field the adapter forgot reads as null here.
fn asff(alert: &notify::Alert, product: &str, region: &str, now: &str) -> Vec<serde_json::Value> {
    use roleguard::adapters::securityhub::findings;
    findings(alert, product, region, now)
        .iter()
        .map(|f| {
            let fields = f.product_fields().cloned().unwrap_or_default();
            let field = |k: &str| fields.get(k).cloned();
            let r = &f.resources()[0];
            serde_json::json!({
                "SchemaVersion": f.schema_version(),
                "Id": f.id(),
                "ProductArn": f.product_arn(),
                "GeneratorId": f.generator_id(),
                "AwsAccountId": f.aws_account_id(),
                "Types": f.types(),
                "CreatedAt": f.created_at(),
                "UpdatedAt": f.updated_at(),
                "Severity": {"Label": f.severity().and_then(|s| s.label()).map(|l| l.as_str())},
                "Title": f.title(),
                "Description": f.description(),
                "Remediation": {"Recommendation": {"Text": f.remediation().and_then(|r| r.recommendation()).and_then(|r| r.text())}},
                "SourceUrl": f.source_url(),
                "ProductFields": {
                    "roleguard/Action": field("roleguard/Action"),
                    "roleguard/Call": field("roleguard/Call"),
                    "roleguard/EventId": field("roleguard/EventId"),
                    "roleguard/Actor": field("roleguard/Actor"),
                },
                "Resources": [{
                    "Type": r.r#type(),
                    "Id": r.id(),
                    "Partition": r.partition().map(|p| p.as_str()),
                    "Region": r.region(),
                    "Details": {"AwsIamRole": {"RoleName": r.details().and_then(|d| d.aws_iam_role()).and_then(|d| d.role_name())}},
                }],
                "Compliance": {"Status": f.compliance().and_then(|c| c.status()).map(|s| s.as_str())},
                "Workflow": {"Status": f.workflow().and_then(|w| w.status()).map(|s| s.as_str())},
                "RecordState": f.record_state().map(|s| s.as_str()),
            })
        })
        .collect()
}
