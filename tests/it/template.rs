//! template.yaml stays in step with the code: the EventBridge pattern names
//! exactly the calls roleguard handles, and the execution role allows exactly
//! the remediation calls. (cfn-lint checks the rest, in scripts/test.)

use serde_yaml_ng::Value;

fn template() -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(super::root().join("template.yaml")).unwrap())
        .unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_event_pattern_names_exactly_the_handled_calls() {
    let t = template();
    let pattern =
        &t["Resources"]["Function"]["Properties"]["Events"]["IamChanges"]["Properties"]["Pattern"];
    assert_eq!(strings(&pattern["source"]), ["aws.iam"]);
    assert_eq!(
        strings(&pattern["detail-type"]),
        ["AWS API Call via CloudTrail"]
    );
    assert_eq!(
        strings(&pattern["detail"]["eventName"]),
        roleguard::event::HANDLED
    );
}

#[test]
fn the_execution_role_allows_exactly_the_remediation_calls() {
    let t = template();
    let policies = t["Resources"]["FunctionRole"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap();
    let remediate = policies
        .iter()
        .find(|p| p["PolicyName"].as_str() == Some("remediate"))
        .unwrap();
    let statement = remediate["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"].as_str() == Some("Remediate"))
        .unwrap();
    assert_eq!(
        strings(&statement["Action"]),
        roleguard::remediate::REMEDIATION_ACTIONS
    );
    // The name matches the default roleguard_roles, so its changes are its own.
    let config = roleguard::config::Config::default();
    assert!(config.is_roleguard_role("roleguard-mystack"));
}
