//! SARIF that code scanning can place: valid against the SARIF 2.1.0
//! schema, every result at a file (and line when found) with the part of a
//! template or plan named, and fingerprints that survive unrelated edits.

use serde_json::Value;
use std::process::Command;

fn roleguard(args: &[&str]) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(args)
        .current_dir(super::root())
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{o:?}");
    o.stdout
}

fn python() -> std::path::PathBuf {
    let venv = super::root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// Validate a SARIF document against the schema; the errors, if any.
fn validate(doc: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("roleguard-sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.sarif", doc.len()));
    std::fs::write(&file, doc).unwrap();
    let o = Command::new(python())
        .arg("-c")
        .arg(
            "import json,sys,jsonschema\n\
             s=json.load(open(sys.argv[1]))\n\
             d=json.load(open(sys.argv[2]))\n\
             v=jsonschema.Draft202012Validator(s)\n\
             errs=[f'{list(e.path)}: {e.message}' for e in v.iter_errors(d)]\n\
             print('\\n'.join(errs[:20]))\n\
             sys.exit(1 if errs else 0)",
        )
        .arg(super::root().join("tests/sarif/sarif-2.1.0.json"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some(),
        "python ran: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if !o.stderr.is_empty() && o.status.code() != Some(0) && o.stdout.is_empty() {
        panic!(
            "validation failed to run: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn sarif_is_valid_against_the_schema() {
    let doc = roleguard(&[
        "check",
        "--format",
        "sarif",
        "template.yaml",
        "tests/terraform/plan.json",
        "events/attach-admin.noncompliant.json",
        "events/create-role-public-trust.noncompliant.json",
    ]);
    assert_eq!(validate(&doc), "");
    assert_eq!(validate(&roleguard(&["rules", "--format", "sarif"])), "");
    // The validator does reject what is not SARIF.
    assert_ne!(
        validate(br#"{"version": "2.1.0", "runs": [{"results": 3}]}"#),
        ""
    );
}

#[test]
fn results_point_at_a_file_a_line_and_the_part() {
    let doc: Value = serde_json::from_slice(&roleguard(&[
        "check",
        "--format",
        "sarif",
        "tests/terraform/plan.json",
        "template.yaml",
    ]))
    .unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let loc = &r["locations"][0];
        let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(!uri.contains('#'), "a file, not a part: {uri}");
        assert!(std::path::Path::new(&super::root().join(uri)).exists());
        assert!(
            loc["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert!(loc["logicalLocations"][0]["fullyQualifiedName"].is_string());
        assert_eq!(
            r["partialFingerprints"]["roleguard/v1"]
                .as_str()
                .unwrap()
                .len(),
            16
        );
    }
    let worker = results
        .iter()
        .find(|r| {
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                == "module.app.aws_iam_role.worker"
        })
        .unwrap();
    let line = worker["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap() as usize;
    let text = std::fs::read_to_string(super::root().join("tests/terraform/plan.json")).unwrap();
    assert!(text
        .lines()
        .nth(line - 1)
        .unwrap()
        .contains("\"address\": \"module.app.aws_iam_role.worker\""));
}

/// An unrelated statement added above the finding's moves its line, not
/// its fingerprint.
#[test]
fn fingerprints_survive_unrelated_edits() {
    let dir = std::env::temp_dir().join(format!("roleguard-fp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let before = dir.join("p.json");
    std::fs::write(
        &before,
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}\n",
    )
    .unwrap();
    let fp = |text: &str| -> (String, u64) {
        std::fs::write(&before, text).unwrap();
        let doc: Value = serde_json::from_slice(&roleguard(&[
            "check",
            "--format",
            "sarif",
            before.to_str().unwrap(),
        ]))
        .unwrap();
        let r = doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == "perm-full-admin")
            .unwrap()
            .clone();
        (
            r["partialFingerprints"]["roleguard/v1"]
                .as_str()
                .unwrap()
                .to_string(),
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap(),
        )
    };
    let (a, line_a) = fp("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}\n");
    let (b, line_b) = fp("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::b/*\"},\n    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}\n");
    assert_ne!(line_a, line_b, "the line moved");
    assert_eq!(a, b, "the fingerprint did not");
    // A different finding in the same file has another.
    let (c, _) = fp("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"NotAction\": \"s3:*\", \"Resource\": \"*\"}\n  ]\n}\n");
    assert_ne!(a, c);
}
