//! The templates stay in step with the code (the EventBridge patterns name
//! exactly the calls roleguard handles; the roles allow exactly the
//! remediation calls), and roleguard's own roles pass roleguard's own rules
//! (the dogfood test). cfn-lint checks the rest, in scripts/test.

use serde_yaml_ng::Value;
use std::process::Command;

fn template(name: &str) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(super::root().join(name)).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        v => v
            .as_sequence()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
    }
}

/// The statements of a role's inline policy, with `!If [cond, stmt, NoValue]`
/// taken as the statement.
fn statements(role: &Value, policy: &str) -> Vec<Value> {
    let policies = role["Properties"]["Policies"].as_sequence().unwrap();
    let p = policies
        .iter()
        .find(|p| p["PolicyName"].as_str() == Some(policy))
        .unwrap();
    p["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| match s {
            Value::Tagged(t) => t.value.as_sequence().unwrap()[1].clone(),
            s => s.clone(),
        })
        .collect()
}

/// Every action a role's remediation policy allows, sorted.
fn allowed_actions(role: &Value) -> Vec<String> {
    let mut all: Vec<String> = statements(role, "remediate")
        .iter()
        .filter(|s| {
            s["Effect"].as_str() == Some("Allow")
                && !matches!(s["Sid"].as_str(), Some("Scan" | "WhoUsedTheWindow"))
        })
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    all.sort();
    all
}

#[test]
fn the_event_patterns_name_exactly_the_handled_calls() {
    let central = template("template.yaml");
    let member = template("template-member.yaml");
    for pattern in [
        &central["Resources"]["Function"]["Properties"]["Events"]["IamChanges"]["Properties"]
            ["Pattern"],
        &member["Resources"]["ForwardRule"]["Properties"]["EventPattern"],
    ] {
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
}

#[test]
fn the_roles_allow_exactly_the_remediation_calls() {
    let mut expected: Vec<String> = roleguard::member::REMEDIATION_ACTIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    let central = template("template.yaml");
    let member = template("template-member.yaml");
    assert_eq!(
        allowed_actions(&central["Resources"]["FunctionRole"]),
        expected
    );
    assert_eq!(
        allowed_actions(&member["Resources"]["RemediationRole"]),
        expected
    );
    // And the window lookup: exactly CloudTrail's LookupEvents.
    for role in [
        &central["Resources"]["FunctionRole"],
        &member["Resources"]["RemediationRole"],
    ] {
        let s = statements(role, "remediate");
        let lookup = s
            .iter()
            .find(|s| s["Sid"].as_str() == Some("WhoUsedTheWindow"))
            .unwrap();
        assert_eq!(
            strings(&lookup["Action"]),
            roleguard::member::LOOKUP_ACTIONS
        );
        assert_eq!(lookup["Effect"].as_str(), Some("Allow"));
    }
    // The boundary call puts back the configured boundary and no other.
    for role in [
        &central["Resources"]["FunctionRole"],
        &member["Resources"]["RemediationRole"],
    ] {
        let s = statements(role, "remediate");
        let boundary = s
            .iter()
            .find(|s| s["Sid"].as_str() == Some("RestoreBoundary"))
            .unwrap();
        assert!(boundary["Condition"]["StringEquals"]
            .get("iam:PermissionsBoundary")
            .is_some());
        // And every call that would loosen the role itself is denied on it.
        let deny = s
            .iter()
            .find(|s| s["Sid"].as_str() == Some("NotItself"))
            .unwrap();
        assert_eq!(deny["Effect"].as_str(), Some("Deny"));
        for a in [
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
        ] {
            assert!(strings(&deny["Action"]).iter().any(|d| d == a), "{a}");
        }
    }
}

#[test]
fn the_member_role_trusts_only_the_central_role_with_external_id_and_org() {
    let member = template("template-member.yaml");
    let trust = &member["Resources"]["RemediationRole"]["Properties"]["AssumeRolePolicyDocument"]
        ["Statement"][0];
    let principal = &trust["Principal"]["AWS"];
    let Value::Tagged(sub) = principal else {
        panic!("principal is a !Sub: {principal:?}")
    };
    assert_eq!(
        sub.value.as_str(),
        Some("arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralRoleName}")
    );
    let cond = &trust["Condition"]["StringEquals"];
    assert!(cond.get("sts:ExternalId").is_some());
    assert!(cond.get("aws:PrincipalOrgID").is_some());
    // The central bus accepts events from the organisation only.
    let central = template("template.yaml");
    let bus = &central["Resources"]["OrganizationEventsPolicy"]["Properties"]["Statement"];
    assert!(bus["Condition"]["StringEquals"]
        .get("aws:PrincipalOrgID")
        .is_some());
    // The function knows exactly its own roles.
    let env = &central["Resources"]["Function"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        serde_json::to_value(&env["ROLEGUARD_OWN_ROLES"]).unwrap(),
        serde_json::json!({"!GetAtt": "FunctionRole.Arn"})
    );
}

/// A file of this test's own under the system's temporary directory.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("roleguard-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn check(args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .current_dir(super::root())
        .args(["check", "--format", "json", "--fail-on", "high"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

/// The dogfood test: `roleguard check` over its own templates finds nothing
/// at high or above, in the execution role or the remediation role, with
/// every optional statement in (both arms of every `!If` are judged).
#[test]
fn roleguards_own_roles_pass_its_own_rules() {
    let (status, json) = check(&[
        "template.yaml",
        "template-member.yaml",
        "template-org-reader.yaml",
    ]);
    let results = json["results"].as_array().unwrap();
    let paths: Vec<&str> = results
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    for must in [
        "template.yaml#FunctionRole.AssumeRolePolicyDocument",
        "template.yaml#FunctionRole.Policies[remediate]",
        "template.yaml#FunctionRole.Policies[member-accounts]",
        "template.yaml#FunctionRole.Policies[config]",
        "template-member.yaml#RemediationRole.AssumeRolePolicyDocument",
        "template-member.yaml#RemediationRole.Policies[remediate]",
        "template-member.yaml#ForwardRole.AssumeRolePolicyDocument",
        "template.yaml#FunctionRole.Policies[scan]",
        "template-org-reader.yaml#OrganizationReadRole.AssumeRolePolicyDocument",
        "template-org-reader.yaml#OrganizationReadRole.Policies[list-accounts]",
    ] {
        assert!(paths.contains(&must), "{must} not judged: {paths:?}");
    }
    let high: Vec<String> = results
        .iter()
        .flat_map(|r| {
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(move |f| {
                    let sev = f["severity"].as_str().unwrap();
                    (sev == "high" || sev == "critical")
                        .then(|| format!("{}: {}", r["path"], f["message"]))
                })
        })
        .collect();
    assert!(high.is_empty(), "{high:#?}");
    assert!(results.iter().all(|r| r["error"].is_null()));
    assert_eq!(status, 0);
    // What they can do to other roles is still reported, at medium.
    let remediate = results
        .iter()
        .find(|r| r["path"] == "template.yaml#FunctionRole.Policies[remediate]")
        .unwrap();
    let rules: Vec<&str> = remediate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["perm-modifies-other-roles", "perm-privilege-escalation"]
    );
    // The one path: putting a user's boundary back, which its condition
    // pins to the required boundary (hence lowered to medium).
    let escalation = remediate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "perm-privilege-escalation")
        .unwrap();
    assert_eq!(escalation["severity"], "medium");
    assert!(
        escalation["message"]
            .as_str()
            .unwrap()
            .ends_with("by 1 path: iam:PutUserPermissionsBoundary"),
        "{escalation}"
    );
}

/// Without the Deny on itself, the same role could escalate its own
/// privileges, and the check says so.
#[test]
fn without_the_deny_on_itself_the_role_fails() {
    let text = std::fs::read_to_string(super::root().join("template.yaml")).unwrap();
    let start = text.find("              - Sid: NotItself").unwrap();
    let end = start + text[start..].find("        - PolicyName: state").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    assert!(without.len() < text.len());
    let path = scratch("without-deny.yaml");
    std::fs::write(&path, without).unwrap();
    let (status, json) = check(&[path.to_str().unwrap()]);
    assert_eq!(status, 1);
    let remediate = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .ends_with("#FunctionRole.Policies[remediate]")
        })
        .unwrap();
    assert_eq!(
        remediate["findings"][0]["rule"],
        "perm-privilege-escalation"
    );
    assert_eq!(remediate["findings"][0]["severity"], "critical");
}

/// A template of the kind users lint before deploying: an admin role and a
/// GitHub OIDC trust for any repository.
#[test]
fn a_bad_template_fails_with_its_resources_named() {
    let path = scratch("app.json");
    std::fs::write(
        &path,
        r#"{"Resources": {"Deploy": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow",
              "Principal": {"Federated": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com"}},
              "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}}}}"#,
    )
    .unwrap();
    let (status, json) = check(&[path.to_str().unwrap()]);
    assert_eq!(status, 1);
    let found: Vec<(String, String)> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let p = r["path"]
                .as_str()
                .unwrap()
                .rsplit('#')
                .next()
                .unwrap()
                .to_string();
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| (p.clone(), f["rule"].as_str().unwrap().to_string()))
        })
        .collect();
    assert!(
        found.contains(&(
            "Deploy.AssumeRolePolicyDocument".into(),
            "trust-oidc-unconstrained".into()
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "Deploy.ManagedPolicyArns[arn:aws:iam::aws:policy/AdministratorAccess]".into(),
            "perm-full-admin".into()
        )),
        "{found:?}"
    );
}

/// The dashboard's body is JSON and shows the metrics the function writes
/// (src/metrics.rs): a renamed metric breaks this test, not the dashboard.
#[test]
fn the_dashboard_shows_the_metrics_the_function_writes() {
    let central = template("template.yaml");
    let body = match &central["Resources"]["Dashboard"]["Properties"]["DashboardBody"] {
        Value::Tagged(t) => t.value.as_str().map(str::to_owned),
        _ => None,
    }
    .expect("DashboardBody: !Sub text");
    // ${...} are CloudFormation's; put placeholders in for the JSON parse.
    let mut text = String::new();
    let mut rest = body.as_str();
    while let Some(i) = rest.find("${") {
        text += &rest[..i];
        rest = &rest[i..];
        let end = rest.find('}').unwrap();
        text += "X";
        rest = &rest[end + 1..];
    }
    text += rest;
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let widgets = dashboard["widgets"].as_array().unwrap();
    assert_eq!(widgets.len(), 4);
    let shown = text.clone();
    let emitted = roleguard::metrics::failed(0)
        + &roleguard::metrics::scanned(1, &[("high", 1)].into(), 0).concat();
    for name in ["EventsHandled", "Failures", "Findings", "RolesScanned"] {
        assert!(emitted.contains(name), "metrics.rs writes {name}");
    }
    for name in [
        "EventsHandled",
        "Reverts",
        "Failures",
        "Skipped",
        "Findings",
    ] {
        assert!(
            shown.contains(&format!("\"{name}\"")) || shown.contains(&format!("\\\"{name}\\\"")),
            "the dashboard shows {name}"
        );
    }
    assert!(shown.contains(&format!("\"{}\"", roleguard::metrics::NAMESPACE)));
    assert!(shown.contains(&format!(
        "{{{},Rule,Severity}}",
        roleguard::metrics::NAMESPACE
    )));
}

/// The scan's fan-out as deployed: the queue's event-source mapping reports
/// partial-batch failures and is bounded by ScanConcurrency; the function
/// is told both queues; the visibility timeout is six times the function's
/// timeout; the redrive policy leaves the function room to dead-letter an
/// account itself (with its reason) first; the organisation reader's trust
/// names the session name the adapter uses.
#[test]
fn the_scan_fans_out_through_the_queue_as_the_code_expects() {
    use serde_json::json;
    let j = |v: &Value| serde_json::to_value(v).unwrap();
    let t = template("template.yaml");
    let function = &t["Resources"]["Function"]["Properties"];
    let esm = &function["Events"]["ScanAccounts"];
    assert_eq!(j(&esm["Type"]), json!("SQS"));
    assert_eq!(
        j(&esm["Properties"]["Queue"]),
        json!({"!GetAtt": "ScanQueue.Arn"})
    );
    assert_eq!(
        j(&esm["Properties"]["FunctionResponseTypes"]),
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        j(&esm["Properties"]["ScalingConfig"]["MaximumConcurrency"]),
        json!({"!Ref": "ScanConcurrency"})
    );
    let env = &function["Environment"]["Variables"];
    assert_eq!(
        j(&env["ROLEGUARD_SCAN_QUEUE_URL"]),
        json!({"!Ref": "ScanQueue"})
    );
    assert_eq!(
        j(&env["ROLEGUARD_SCAN_DLQ_URL"]),
        json!({"!Ref": "ScanDeadLetterQueue"})
    );
    assert_eq!(
        j(&env["ROLEGUARD_SCAN_MAX_ATTEMPTS"]),
        json!({"!Ref": "ScanMaxAttempts"})
    );
    let queue = &t["Resources"]["ScanQueue"]["Properties"];
    let timeout = function["Timeout"].as_i64().unwrap();
    assert!(queue["VisibilityTimeout"].as_i64().unwrap() >= 6 * timeout);
    let max_attempts = t["Parameters"]["ScanMaxAttempts"]["MaxValue"]
        .as_i64()
        .unwrap();
    assert!(queue["RedrivePolicy"]["maxReceiveCount"].as_i64().unwrap() > max_attempts);
    let reader = template("template-org-reader.yaml");
    let trust =
        &reader["Resources"]["OrganizationReadRole"]["Properties"]["AssumeRolePolicyDocument"];
    assert_eq!(
        j(&trust["Statement"][0]["Condition"]["StringEquals"]["sts:RoleSessionName"]),
        json!(roleguard::adapters::organizations::READ_SESSION_NAME)
    );
}
