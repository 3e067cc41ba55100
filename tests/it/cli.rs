//! The `roleguard` binary as users run it: output formats, exit status, errors.

use std::process::{Command, Output};

fn roleguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(args)
        .current_dir(super::root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run roleguard")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn text_output() {
    let o = roleguard(&[
        "check",
        "tests/fixtures/policies/escalation.json",
        "tests/fixtures/policies/least-privilege.json",
        "events/update-trust-github-wildcard.noncompliant.json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "high findings fail the default --fail-on high"
    );
    let text = stdout(&o);
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
    insta::assert_snapshot!("text_output", text);
}

#[test]
fn json_output_is_one_document() {
    let o = roleguard(&[
        "check",
        "--format",
        "json",
        "--own-role",
        super::OWN_ROLE,
        "events/",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("exactly one JSON document");
    let results = v["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        std::fs::read_dir(super::root().join("events"))
            .unwrap()
            .count()
    );
    for r in results {
        assert_eq!(r["kind"], "event");
        assert!(r["error"].is_null(), "{r}");
        assert!(r["plan"].is_array(), "events carry a plan: {r}");
        // Only the non-compliant samples have findings (under the default configuration).
        let noncompliant = r["path"].as_str().unwrap().contains(".noncompliant");
        assert_eq!(
            !r["findings"].as_array().unwrap().is_empty(),
            noncompliant,
            "{}",
            r["path"]
        );
    }
    insta::assert_json_snapshot!("json_events", v);
}

#[test]
fn json_for_policies_and_errors() {
    let o = roleguard(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/policies/admin.json",
        "tests/fixtures/policies/malformed.json",
        "tests/fixtures/policies/no-such-file.json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "unreadable inputs win over findings"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &v["results"];
    assert_eq!(r[0]["kind"], "permissions");
    assert_eq!(r[0]["findings"][0]["rule"], "perm-full-admin");
    assert_eq!(r[0]["findings"][0]["severity"], "critical");
    assert!(r[0]["error"].is_null());
    assert!(r[0].get("plan").is_none(), "only events carry a plan");
    assert_eq!(
        r[1]["error"],
        "Statement[0].Action: expected a string or a list of strings, found a number"
    );
    assert_eq!(r[1]["findings"], serde_json::json!([]));
    assert!(r[2]["error"]
        .as_str()
        .unwrap()
        .starts_with("cannot read tests/fixtures/policies/no-such-file.json"));
}

#[test]
fn exit_status_follows_fail_on() {
    let admin = "tests/fixtures/policies/admin.json";
    let clean = "tests/fixtures/policies/least-privilege.json";
    assert_eq!(roleguard(&["check", clean]).status.code(), Some(0));
    assert_eq!(roleguard(&["check", admin]).status.code(), Some(1));
    let escalation = "tests/fixtures/policies/escalation.json";
    assert_eq!(
        roleguard(&["check", "--fail-on", "critical", escalation])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        roleguard(&["check", "--fail-on", "info", escalation])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn kinds_and_accounts() {
    // URL-encoded, detected as a permission policy.
    let o = roleguard(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/policies/url-encoded.txt",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["kind"], "permissions");
    assert_eq!(
        v["results"][0]["findings"][0]["rule"],
        "perm-privilege-escalation"
    );
    // A trust policy forced to be read as permissions is refused, with the reason.
    let o = roleguard(&[
        "check",
        "--kind",
        "permissions",
        "tests/fixtures/policies/trust-public.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("a permission policy names no Principal (is this a trust policy?)"));
    // --account makes the cross-account rules run.
    let vendor = "tests/fixtures/policies/trust-vendor.json";
    let o = roleguard(&[
        "check",
        "--format",
        "json",
        "--account",
        "111122223333",
        vendor,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["results"][0]["findings"],
        serde_json::json!([]),
        "ExternalId present"
    );
    assert!(v["results"][0].get("notes").is_none());
    let o = roleguard(&["check", "--account", "1234", vendor]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"1234\" is not a 12-digit account id"));
}

#[test]
fn configuration_file() {
    let dir = std::env::temp_dir().join(format!("roleguard-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.yaml");
    std::fs::write(&good, "rules:\n  perm-full-admin: {enabled: false}\n").unwrap();
    let o = roleguard(&[
        "check",
        "--config",
        good.to_str().unwrap(),
        "tests/fixtures/policies/admin.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "max_session_duration: 99999999\n").unwrap();
    let o = roleguard(&[
        "check",
        "--config",
        bad.to_str().unwrap(),
        "tests/fixtures/policies/admin.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "roleguard: configuration key `max_session_duration`: 99999999 is outside IAM's range of 3600 to 43200 seconds"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn sarif_output() {
    let o = roleguard(&[
        "check",
        "--format",
        "sarif",
        "tests/fixtures/policies/escalation.json",
        "tests/fixtures/policies/malformed.json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), roleguard::rules::RULES.len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"], "ruleIndex points at the rule");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "tests/fixtures/policies/escalation.json"
        );
    }
    assert_eq!(results[0]["level"], "error");
    // Findings point at the statement's line; the unknown action is in the second statement.
    let unknown = results
        .iter()
        .find(|r| r["ruleId"] == "perm-unknown-action")
        .unwrap();
    assert_eq!(
        unknown["locations"][0]["physicalLocation"]["region"]["startLine"],
        14
    );
    let escalation = results
        .iter()
        .find(|r| r["ruleId"] == "perm-privilege-escalation")
        .unwrap();
    assert_eq!(
        escalation["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    assert!(
        run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("malformed.json")
    );
}

#[test]
fn rules_and_explain() {
    let o = roleguard(&["rules"]);
    assert_eq!(o.status.code(), Some(0));
    let listed = stdout(&o);
    for r in roleguard::rules::RULES {
        assert!(listed.contains(r.id.as_str()), "{} not listed", r.id);
    }
    let o = roleguard(&["explain", "perm-privilege-escalation"]);
    let text = stdout(&o);
    assert!(text.contains("Escalation paths:") && text.contains("passrole-lambda-invoke"));
    let o = roleguard(&["explain", "no-such-rule"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no rule \"no-such-rule\""));
    let o = roleguard(&["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), roleguard::rules::RULES.len());
}

#[test]
fn standard_input_and_bad_bytes() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(["check", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["path"], "-");
    assert_eq!(
        v["results"][0]["findings"][0]["rule"],
        "perm-assume-any-role"
    );
    // Binary garbage: an error that names the problem, no panic.
    let dir = std::env::temp_dir().join(format!("roleguard-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("garbage.json");
    std::fs::write(&f, [0xff, 0xfe, 0x00, 0x7b]).unwrap();
    let o = roleguard(&["check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("is not UTF-8 text (invalid byte at offset 0)"),
        "{}",
        stdout(&o)
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Reads are bounded whatever the input is: an endless device and 10 MB on
/// standard input end with an error that names the limit (exit 2), without
/// reading them to the end.
#[test]
fn endless_and_oversized_inputs_are_refused_with_the_limit_named() {
    let o = roleguard(&["check", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("/dev/zero is over the 1048576-byte input limit"),
        "{}",
        stdout(&o)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(["check", "-"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        // The reader stops at the limit; the rest of the write may fail
        // with a broken pipe, which is the point.
        let _ = stdin.write_all(&vec![b'{'; 10 * 1024 * 1024]);
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("standard input is over the 1048576-byte input limit"),
        "{}",
        stdout(&o)
    );
}

/// A valid record of a call roleguard does not judge (an IAM read, another
/// service's call) is nothing to do, exit 0; a denied call logged with
/// `requestParameters: null` is skipped; a roleguard tag removed under
/// another case is still roleguard's tag.
#[test]
fn calls_not_judged_are_nothing_to_do() {
    let dir = std::env::temp_dir().join(format!("roleguard-cli-calls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(super::root().join("events/attach-admin.noncompliant.json"))
            .unwrap(),
    )
    .unwrap();
    let write = |name: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let mut e = sample.clone();
        f(&mut e);
        let p = dir.join(name);
        std::fs::write(&p, e.to_string()).unwrap();
        p.display().to_string()
    };
    let get_role = write("get-role.json", &|e| {
        e["detail"]["eventName"] = "GetRole".into();
        e["detail"]["requestParameters"] = serde_json::json!({"roleName": "app"});
    });
    let s3 = write("s3.json", &|e| {
        e["detail"]["eventSource"] = "s3.amazonaws.com".into();
        e["detail"]["eventName"] = "GetObject".into();
    });
    let denied = write("denied.json", &|e| {
        e["detail"]["errorCode"] = "AccessDenied".into();
        e["detail"]["requestParameters"] = serde_json::Value::Null;
    });
    let o = roleguard(&["check", &get_role, &s3, &denied]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("iam:GetRole is not a call roleguard judges"),
        "{text}"
    );
    assert!(
        text.contains("s3:GetObject is not a call roleguard judges"),
        "{text}"
    );
    assert!(text.contains("the call failed (AccessDenied)"), "{text}");
    let upper = write("untag-upper.json", &|e| {
        e["detail"]["eventName"] = "UntagRole".into();
        e["detail"]["requestParameters"] =
            serde_json::json!({"roleName": "app", "tagKeys": ["ROLEGUARD:Status"]});
    });
    let o = roleguard(&["check", "--fail-on", "medium", &upper]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("role-guard-tag-tampering"));
    std::fs::remove_dir_all(&dir).unwrap();
}
