//! Terraform plans (`terraform show -json`), written by hand after
//! Terraform's documented JSON output format: a role with a public trust,
//! an admin attachment, an inline escalation in a module whose role is known
//! only after apply, and compliant roles and policies.

use roleguard::check::{check_input, CheckResult};
use roleguard::config::Config;
use serde_json::Value;

fn plan() -> String {
    std::fs::read_to_string(super::root().join("tests/terraform/plan.json")).unwrap()
}

fn results(text: &str) -> Vec<CheckResult> {
    check_input("plan.json", text, None, &Config::default(), None)
}

fn rules_of<'a>(results: &'a [CheckResult], address: &str) -> Vec<&'a str> {
    let r = results
        .iter()
        .find(|r| r.path == format!("plan.json#{address}"))
        .unwrap_or_else(|| panic!("no result for {address}"));
    let mut rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

#[test]
fn a_plan_is_judged_role_by_role_and_named_by_address() {
    let r = results(&plan());
    assert_eq!(rules_of(&r, "aws_iam_role.public"), ["trust-any-principal"]);
    assert_eq!(
        rules_of(&r, "aws_iam_role.admin"),
        ["perm-denied-managed-policy", "perm-full-admin"]
    );
    // The module's role policy names its role only after apply: followed
    // through the configuration's references, judged with the role.
    assert_eq!(
        rules_of(&r, "module.app.aws_iam_role.worker"),
        ["perm-passrole-unconstrained", "perm-privilege-escalation"]
    );
    assert!(rules_of(&r, "aws_iam_role.app").is_empty());
    assert!(rules_of(&r, "aws_iam_policy.reader").is_empty());
    assert!(rules_of(&r, "data.aws_iam_policy_document.assume").is_empty());
    // What is known only after apply is noted, not guessed.
    let later = r
        .iter()
        .find(|x| x.path == "plan.json#aws_iam_role.later")
        .unwrap();
    assert!(later
        .notes
        .iter()
        .any(|n| n.contains("assume_role_policy is known only after apply")));
    // A deleted role and a bucket are not results.
    assert!(!r.iter().any(|x| x.path.contains("aws_iam_role.gone")));
    assert!(!r.iter().any(|x| x.path.contains("aws_s3_bucket")));
    assert!(r.iter().all(|x| x.error.is_none()));
}

/// The attachment's policy_arn is known only after apply: the policy it
/// refers to in the configuration is the one judged with the role. Made an
/// administrator policy, the role is found an administrator.
#[test]
fn an_attachment_known_only_after_apply_is_followed_to_its_policy() {
    let mut p: Value = serde_json::from_str(&plan()).unwrap();
    let changes = p["resource_changes"].as_array_mut().unwrap();
    let reader = changes
        .iter_mut()
        .find(|c| c["address"] == "aws_iam_policy.reader")
        .unwrap();
    reader["change"]["after"]["policy"] = Value::String(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            .into(),
    );
    let r = results(&p.to_string());
    assert!(rules_of(&r, "aws_iam_role.app").contains(&"perm-full-admin"));
}

#[test]
fn the_cli_reads_a_plan_by_its_content() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(["check", "--format", "json"])
        .arg(super::root().join("tests/terraform/plan.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "findings at high and above");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(paths
        .iter()
        .any(|p| p.ends_with("plan.json#module.app.aws_iam_role.worker")));
}

/// A CDK `cdk.out` directory: the synthesized `*.template.json` are read as
/// templates; the manifest, the tree, the asset manifest and the assets are
/// skipped with a note, never an error; YAML that is no template likewise.
#[test]
fn a_cdk_out_directory_is_read_as_templates_and_the_rest_skipped() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args([
            "check",
            "--format",
            "json",
            "tests/cdk/cdk.out",
            ".pre-commit-hooks.yaml",
        ])
        .current_dir(super::root())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["error"].is_null()), "{results:#?}");
    let skipped: Vec<&str> = results
        .iter()
        .filter(|r| r["skipped"].is_string())
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    for s in [
        "tests/cdk/cdk.out/manifest.json",
        "tests/cdk/cdk.out/tree.json",
        "tests/cdk/cdk.out/App.assets.json",
        "tests/cdk/cdk.out/asset.3f2a9c/package.json",
        ".pre-commit-hooks.yaml",
    ] {
        assert!(skipped.contains(&s), "{s} skipped: {skipped:?}");
    }
    let rules_at = |suffix: &str| -> Vec<&str> {
        results
            .iter()
            .filter(|r| r["path"].as_str().unwrap().ends_with(suffix))
            .flat_map(|r| r["findings"].as_array().unwrap())
            .map(|f| f["rule"].as_str().unwrap())
            .collect()
    };
    assert_eq!(
        rules_at("#PartnerAccess5E4D3C2B.AssumeRolePolicyDocument"),
        ["trust-any-principal"]
    );
    assert!(rules_at("#WorkerDefaultPolicy9F8E7D6C.PolicyDocument")
        .contains(&"perm-privilege-escalation"));
    assert_eq!(out.status.code(), Some(1));
    // A misspelt policy is still an error, not skipped.
    let dir = std::env::temp_dir().join(format!("roleguard-misspelt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("p.json");
    std::fs::write(&f, r#"{"Version": "2012-10-17", "Statment": []}"#).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .arg("check")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
