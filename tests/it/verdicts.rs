//! The verdict corpus (`tests/verdicts/*.yaml`, format in its README): every
//! case judged through the same entry points as `roleguard check` and the
//! Lambda, and held to its expectation.

use roleguard::check::{self, CheckResult};
use roleguard::config::Config;
use roleguard::policy::Policy;
use roleguard::rules::{permissions, trust, Context, Finding, Holder, Severity};
use serde_json::Value;
use std::fmt::Write as _;

struct Case {
    file: String,
    name: String,
    why: String,
    account: String,
    config: Config,
    input: Value,
    expect: Value,
}

fn cases() -> Vec<Case> {
    let dir = crate::root().join("tests/verdicts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let list: Vec<Value> =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        let mut names = std::collections::HashSet::new();
        for c in list {
            let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
            let name = s("name").unwrap_or_else(|| panic!("{file}: a case without a name"));
            assert!(
                names.insert(name.clone()),
                "{file}: two cases named {name:?}"
            );
            let config = match s("config") {
                Some(y) => Config::from_yaml(&y).unwrap_or_else(|e| panic!("{file}: {name}: {e}")),
                None => Config::default(),
            };
            let expect = c.get("expect").cloned().unwrap_or(Value::Null);
            assert!(
                expect.get("max").is_some(),
                "{file}: {name}: expect.max is required"
            );
            out.push(Case {
                account: s("account").unwrap_or_else(|| "111122223333".into()),
                why: s("why").unwrap_or_default(),
                input: c.get("input").cloned().unwrap_or(Value::Null),
                file: file.clone(),
                name,
                config,
                expect,
            });
        }
    }
    out
}

/// What a case's input comes to: its findings and, for events, the plan.
struct Got {
    findings: Vec<Finding>,
    plan: Option<Vec<String>>,
    errors: Vec<String>,
}

fn policy(v: &Value) -> Policy {
    Policy::from_value(v).expect("a valid policy document")
}

fn results(rs: Vec<CheckResult>) -> Got {
    let mut got = Got {
        findings: vec![],
        plan: None,
        errors: vec![],
    };
    for r in rs {
        got.findings.extend(r.findings);
        got.errors
            .extend(r.error.map(|e| format!("{}: {e}", r.path)));
    }
    got
}

fn judge(case: &Case) -> Got {
    let input = &case.input;
    let holder_arn = format!("arn:aws:iam::{}:role/holder", case.account);
    let ctx = Context {
        config: &case.config,
        account: Some(&case.account),
        holder: None,
    };
    if let Some(doc) = input.get("permissions") {
        let attached = vec![];
        let ctx = Context {
            holder: Some(Holder {
                role_arn: &holder_arn,
                attached: &attached,
            }),
            ..ctx
        };
        let j = permissions::judge(&policy(doc), &ctx).finish(&case.config);
        return Got {
            findings: j.findings,
            plan: None,
            errors: vec![],
        };
    }
    if let Some(doc) = input.get("trust") {
        let j = trust::judge(&policy(doc), &ctx).finish(&case.config);
        return Got {
            findings: j.findings,
            plan: None,
            errors: vec![],
        };
    }
    if let Some(event) = input.get("event") {
        return handle_event(&case.config, event, input.get("role"));
    }
    if let Some(role) = input.get("role") {
        return results(check::check_roles(
            &case.name,
            &role.to_string(),
            &case.config,
            Some(&case.account),
        ));
    }
    if let Some(t) = input.get("template") {
        let text = serde_yaml_ng::to_string(t).unwrap();
        return results(check::check_template(
            "template.yaml",
            &text,
            &case.config,
            Some(&case.account),
        ));
    }
    panic!("{}: {}: no known input", case.file, case.name)
}

/// An event, through the Lambda's decision path, against an in-memory IAM
/// holding the role as it is after the change.
fn handle_event(config: &Config, event: &Value, role: Option<&Value>) -> Got {
    let e = roleguard::event::Event::from_value(event.clone()).expect("a valid event");
    let account = e.account.clone().unwrap_or_else(|| "111122223333".into());
    let snapshot = match role {
        Some(r) => roleguard::principal::bundle::read(r).expect("a valid role bundle"),
        None => Default::default(),
    };
    let iam = roleguard::adapters::memory::MemoryIam::from_snapshot(&account, &snapshot);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    match rt.block_on(crate::calls::handle(&iam, &e, config, true)) {
        Ok(o) => Got {
            findings: o.assessment.judgement.findings,
            plan: Some(
                o.assessment
                    .plan
                    .iter()
                    .map(|s| s.action().to_string())
                    .collect(),
            ),
            errors: vec![],
        },
        Err(err) => Got {
            findings: vec![],
            plan: None,
            errors: vec![err.to_string()],
        },
    }
}

/// The expectation's failures, as lines.
fn compare(case: &Case, got: &Got) -> Vec<String> {
    let e = &case.expect;
    let mut bad = Vec::new();
    bad.extend(got.errors.iter().map(|x| format!("input error: {x}")));
    let max = got.findings.iter().map(|f| f.severity).max();
    let shown_max = max.map_or("none".to_string(), |s| s.to_string());
    if let Some(want) = e.get("max").and_then(Value::as_str) {
        if want != shown_max {
            bad.push(format!("max: want {want}, got {shown_max}"));
        }
    }
    let rule_max = |rule: &str| -> Option<Severity> {
        got.findings
            .iter()
            .filter(|f| f.rule.as_str() == rule)
            .map(|f| f.severity)
            .max()
    };
    if let Some(Value::Object(m)) = e.get("findings") {
        for (rule, sev) in m {
            let want = sev.as_str().unwrap_or("");
            match rule_max(rule) {
                Some(s) if s.as_str() == want => {}
                Some(s) => bad.push(format!("{rule}: want {want}, got {s}")),
                None => bad.push(format!("{rule}: want {want}, not reported")),
            }
        }
    }
    for rule in strings(e.get("absent")) {
        if let Some(s) = rule_max(&rule) {
            bad.push(format!("{rule}: want absent, got {s}"));
        }
    }
    let paths: Vec<&String> = got
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "perm-privilege-escalation")
        .flat_map(|f| &f.details)
        .collect();
    for p in strings(e.get("paths")) {
        if !paths.contains(&&p) {
            bad.push(format!("path {p}: want reported, got {paths:?}"));
        }
    }
    for p in strings(e.get("no_paths")) {
        if paths.contains(&&p) {
            bad.push(format!("path {p}: want not reported"));
        }
    }
    let sources = strings(e.get("sources"));
    if !sources.is_empty()
        && !got
            .findings
            .iter()
            .any(|f| sources.iter().all(|s| f.sources.contains(s)))
    {
        bad.push(format!(
            "sources {sources:?}: no finding names them all (got {:?})",
            got.findings.iter().map(|f| &f.sources).collect::<Vec<_>>()
        ));
    }
    if let Some(want) = e.get("plan") {
        let want = strings(Some(want));
        match &got.plan {
            Some(p) if *p == want => {}
            Some(p) => bad.push(format!("plan: want {want:?}, got {p:?}")),
            None => bad.push("plan: expected, but the input has none".into()),
        }
    }
    bad
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec![],
    }
}

#[test]
fn every_case_of_the_corpus_holds() {
    let cases = cases();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let mut report = String::new();
    let mut failed = 0;
    for case in &cases {
        let got = judge(case);
        let bad = compare(case, &got);
        if !bad.is_empty() {
            failed += 1;
            let _ = writeln!(
                report,
                "\n{} :: {}\n  why: {}",
                case.file, case.name, case.why
            );
            for b in bad {
                let _ = writeln!(report, "  - {b}");
            }
            for f in &got.findings {
                let _ = writeln!(
                    report,
                    "    got {} {} {:?} {}",
                    f.rule,
                    f.severity,
                    f.details.iter().take(4).collect::<Vec<_>>(),
                    f.message
                );
            }
        }
    }
    assert!(
        failed == 0,
        "{failed} of {} verdict cases fail:{report}",
        cases.len()
    );
}
