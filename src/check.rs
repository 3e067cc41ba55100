//! Check one input: a permission policy, a trust policy or a CloudTrail
//! event, detected from its content unless the caller says which.

use crate::config::Config;
use crate::event::Event;
use crate::plan;
use crate::policy::{self, Policy};
use crate::rules::{permissions, trust, Context, Finding, Judgement};
use serde_json::Value;

pub use crate::verdict::{CheckResult, Kind};

/// Tell what a decoded document is from its content.
pub fn detect(value: &Value) -> Kind {
    let is_event = matches!(value, Value::Object(map) if map.contains_key("detail") || map.contains_key("eventName"));
    let names_principal = || {
        let statements = match value.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
            None => vec![],
        };
        statements
            .iter()
            .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
    };
    if is_event {
        Kind::Event
    } else if names_principal() {
        Kind::Trust
    } else {
        Kind::Permissions
    }
}

/// Check one input's text. `kind` is `None` to detect it; `account` is the
/// owner account for policies given as files.
pub fn check_text(
    path: &str,
    text: &str,
    kind: Option<Kind>,
    config: &Config,
    account: Option<&str>,
) -> CheckResult {
    // One decoding for detection and judging: plain, string-wrapped or URL-encoded JSON.
    let value = match policy::decode(text) {
        Ok(v) => v,
        Err(e) => return CheckResult::failed(path, kind, e.to_string()),
    };
    let kind = kind.unwrap_or_else(|| detect(&value));
    let account = account.or(config.account.as_deref());
    let ctx = Context {
        config,
        account,
        holder: None,
    };
    match kind {
        Kind::Permissions | Kind::Trust => match judge_document(kind, &value, &ctx) {
            // Statement lines are found only for the output that shows
            // them ([`add_statement_lines`]): most runs never need them.
            Ok(j) => CheckResult::judged(path.into(), kind, j, config, vec![]),
            Err(e) => CheckResult::failed(path, Some(kind), e.to_string()),
        },
        Kind::Event => {
            let assessed = Event::from_value(value)
                .map_err(plan::AssessError::from)
                .and_then(|e| plan::assess(&e, config));
            match assessed {
                Ok(a) => event_result(path.into(), a),
                // A valid record of a call roleguard does not judge: nothing
                // to do, said as such (not an input error).
                Err(plan::AssessError::Event(crate::event::EventError::Unsupported {
                    service,
                    name,
                })) => CheckResult {
                    path: path.into(),
                    kind: Some(kind),
                    findings: vec![],
                    notes: vec![],
                    plan: Some(vec![]),
                    skipped: Some(format!(
                        "{service}:{name} is not a call roleguard judges: nothing to do"
                    )),
                    error: None,
                    records: None,
                    statement_lines: vec![],
                },
                Err(e) => CheckResult::failed(path, Some(kind), e.to_string()),
            }
        }
        // One result per role: `check_input` gives them all.
        Kind::Role => CheckResult::failed(
            path,
            Some(kind),
            "a description of roles gives one result per role (check_input)".into(),
        ),
        // One result per IAM part: `check_input` gives them all.
        Kind::Template => CheckResult::failed(
            path,
            Some(kind),
            "a template gives one result per IAM part (check_input)".into(),
        ),
    }
}

/// The result of one judged event: its findings, notes and plan, or why it
/// is left alone.
pub fn event_result(path: String, a: plan::Assessment) -> CheckResult {
    CheckResult {
        path,
        kind: Some(Kind::Event),
        findings: a.judgement.findings,
        notes: a.judgement.notes,
        plan: Some(a.plan),
        skipped: a.skipped,
        error: None,
        records: None,
        statement_lines: vec![],
    }
}

/// Check a stream of CloudTrail records ([`crate::records`]): each record
/// is judged as a single event is. The results are those of the IAM changes
/// with findings or a plan (named `PATH#Records[12]`, `PATH:line 17`) and of
/// the records that could not be read or judged, then one result for the
/// input with its counts ([`CheckResult::records`]); when the stream breaks
/// (cut short, a corrupt gzip stream, a size limit), a last result says
/// where, and the records before the break stand judged.
pub fn check_records<R: std::io::BufRead>(
    path: &str,
    reader: R,
    form: crate::records::Form,
    config: &Config,
) -> Vec<CheckResult> {
    use crate::records::{self, Outcome};
    let mut out = Vec::new();
    let mut counts = records::Counts::default();
    let read = records::read(reader, form, |raw| {
        let outcome = records::judge_raw(&raw, config);
        counts.add(&outcome);
        match outcome {
            Outcome::Assessed(a) => {
                let acted =
                    !a.assessment.judgement.findings.is_empty() || !a.assessment.plan.is_empty();
                if acted {
                    out.push(event_result(raw.place.label(path), a.assessment));
                }
            }
            Outcome::Error(e) => out.push(CheckResult::failed(
                &raw.place.label(path),
                Some(Kind::Event),
                format!("{e} (the record starts at byte {})", raw.start),
            )),
            Outcome::OtherService | Outcome::Failed | Outcome::NotJudged => {}
        }
    });
    let broken = read.err().map(|e| format!("{path}: {e}"));
    out.push(CheckResult {
        path: path.into(),
        kind: Some(Kind::Event),
        findings: vec![],
        notes: vec![format!("{}: {}", form.describe(), counts.sentence())],
        plan: None,
        skipped: None,
        error: None,
        records: Some(counts),
        statement_lines: vec![],
    });
    if let Some(e) = broken {
        out.push(CheckResult::failed(path, Some(Kind::Event), e));
    }
    out
}

/// Parse, validate and judge a permission or trust policy document.
fn judge_document(
    kind: Kind,
    value: &Value,
    ctx: &Context,
) -> Result<Judgement, policy::PolicyError> {
    let p = Policy::from_value(value)?;
    if kind == Kind::Trust {
        p.validate_trust()?;
        Ok(trust::judge(&p, ctx))
    } else {
        p.validate_permissions()?;
        Ok(permissions::judge_owned(p, ctx))
    }
}

/// Is this input a CloudFormation template? YAML ones by their name; JSON
/// ones by their content (a `Resources` mapping).
pub fn is_template(path: &str, text: &str) -> bool {
    let yaml = [".yaml", ".yml", ".template"]
        .iter()
        .any(|e| path.ends_with(e));
    yaml || (text.contains("\"Resources\"")
        && serde_json::from_str::<Value>(text)
            .is_ok_and(|v| crate::template::looks_like_template(&v)))
}

/// Check one input: a template gives a result per IAM part, anything else one.
pub fn check_input(
    path: &str,
    text: &str,
    kind: Option<Kind>,
    config: &Config,
    account: Option<&str>,
) -> Vec<CheckResult> {
    // A Terraform plan (`terraform show -json`), known by its content.
    if kind.is_none() {
        if let Some(plan) = crate::terraform::is_plan_text(text) {
            return crate::terraform::check_plan(path, &plan, config, account);
        }
    }
    match kind {
        Some(Kind::Template) => check_template(path, text, config, account),
        None if is_template(path, text) => {
            let results = check_template(path, text, config, account);
            // A YAML file found by its name that is no template at all
            // (a compose file, a workflow): nothing of IAM's, said as such.
            match results.as_slice() {
                [only]
                    if only
                        .error
                        .as_deref()
                        .is_some_and(|e| e.starts_with(NOT_A_TEMPLATE)) =>
                {
                    vec![not_iam(path, "a YAML file that is not a CloudFormation template (no `Resources` mapping)")]
                }
                _ => results,
            }
        }
        Some(Kind::Role) => check_roles(path, text, config, account),
        None if looks_like_roles(text) => check_roles(path, text, config, account),
        None => match foreign_json(text) {
            Some(keys) => vec![not_iam(
                path,
                &format!(
                    "JSON that is no policy, event, template or Terraform plan (keys: {keys})"
                ),
            )],
            None => vec![check_text(path, text, kind, config, account)],
        },
        _ => vec![check_text(path, text, kind, config, account)],
    }
}

/// How a template that has no `Resources` mapping is refused.
const NOT_A_TEMPLATE: &str = "not a CloudFormation template";

/// A skipped input: valid, with nothing of IAM's in it (a CDK
/// `manifest.json`, `tree.json`, an asset), named so.
fn not_iam(path: &str, what: &str) -> CheckResult {
    CheckResult {
        path: path.into(),
        kind: None,
        findings: vec![],
        notes: vec![],
        plan: None,
        skipped: Some(format!("{what}: skipped")),
        error: None,
        records: None,
        statement_lines: vec![],
    }
}

/// A JSON object with no key of a policy (no `Statement` in any case), an
/// event, a template or a plan: its first keys. A document with a misspelt
/// `statement` is still judged, and its error shown.
fn foreign_json(text: &str) -> Option<String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    const IAM_KEYS: &[&str] = &[
        "Version",
        "Id",
        "detail",
        "eventName",
        "Records",
        "Events",
        "Resources",
        "AWSTemplateFormatVersion",
    ];
    let policy_like = map
        .keys()
        .any(|k| k.eq_ignore_ascii_case("statement") || IAM_KEYS.contains(&k.as_str()));
    (!policy_like && !map.is_empty()).then(|| {
        let mut keys: Vec<&str> = map.keys().map(String::as_str).take(4).collect();
        if map.len() > 4 {
            keys.push("...");
        }
        keys.join(", ")
    })
}

/// Is this input a description of roles (GetAccountAuthorizationDetails)?
fn looks_like_roles(text: &str) -> bool {
    (text.contains("RoleDetailList")
        || text.contains("RolePolicyList")
        || text.contains("AttachedManagedPolicies"))
        && serde_json::from_str::<Value>(text)
            .is_ok_and(|v| crate::principal::bundle::looks_like(&v))
}

/// Judge every role of a bundle (`aws iam get-account-authorization-details`
/// output, or one `RoleDetail`) as a whole, as the scan judges it: one
/// result per role, named `PATH#RoleName`, with the plan the scan would
/// carry out.
pub fn check_roles(
    path: &str,
    text: &str,
    config: &Config,
    account: Option<&str>,
) -> Vec<CheckResult> {
    let value = match policy::decode(text) {
        Ok(v) => v,
        Err(e) => return vec![CheckResult::failed(path, Some(Kind::Role), e.to_string())],
    };
    let snapshot = match crate::principal::bundle::read(&value) {
        Ok(s) => s,
        Err(e) => return vec![CheckResult::failed(path, Some(Kind::Role), e)],
    };
    snapshot
        .roles
        .iter()
        .map(|role| {
            let owner = role
                .arn
                .split(':')
                .nth(4)
                .filter(|a| policy::is_account_id(a))
                .or(account)
                .or(config.account.as_deref())
                .unwrap_or(crate::template::STAND_IN_ACCOUNT)
                .to_owned();
            let mut v = crate::scan::judge_role(&owner, role, &snapshot.policies, None, config);
            v.result.path = format!("{path}#{}", role.name);
            v.result
        })
        .collect()
}

/// Judge every IAM part of a CloudFormation or SAM template: each role's
/// trust policy and settings, its inline and attached policies judged
/// together as the role's whole, and each policy resource. Results are named
/// `PATH#Resource.Property`; a finding that takes several of a role's
/// policies (a split path) is named `PATH#Role`. Both branches of every
/// `Fn::If` are judged.
pub fn check_template(
    path: &str,
    text: &str,
    config: &Config,
    account: Option<&str>,
) -> Vec<CheckResult> {
    let account = account.or(config.account.as_deref());
    let variants = match crate::template::extract_variants(text, account) {
        Ok(x) => x,
        Err(e) => {
            return vec![CheckResult::failed(
                path,
                Some(Kind::Template),
                e.to_string(),
            )]
        }
    };
    let account = account.unwrap_or(crate::template::STAND_IN_ACCOUNT);
    let mut out: Vec<CheckResult> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for x in variants {
        for n in &x.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
        for r in judge_extraction(path, x, config, account) {
            // The same part in another variant: its findings join.
            match out.iter_mut().find(|o| o.path == r.path) {
                Some(o) => {
                    for f in r.findings {
                        if !o
                            .findings
                            .iter()
                            .any(|g| g.rule == f.rule && g.message == f.message)
                        {
                            o.findings.push(f);
                        }
                    }
                    for n in r.notes {
                        if !o.notes.contains(&n) {
                            o.notes.push(n);
                        }
                    }
                    if o.error.is_none() {
                        o.error = r.error;
                    }
                }
                None => out.push(r),
            }
        }
    }
    for o in &mut out {
        o.findings
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
    }
    if out.is_empty() {
        let none = Judgement {
            findings: vec![],
            notes: vec!["no IAM roles or policies in this template".into()],
        };
        out.push(CheckResult::judged(
            path.into(),
            Kind::Template,
            none,
            config,
            vec![],
        ));
    }
    if let Some(first) = out.first_mut() {
        first.notes.extend(notes);
    }
    out
}

/// The results of one variant of a template.
fn judge_extraction(
    path: &str,
    extraction: crate::template::Extraction,
    config: &Config,
    account: &str,
) -> Vec<CheckResult> {
    use crate::principal::{Document, Origin, Principal};
    use crate::template::Part;
    let name = |label: &str| format!("{path}#{label}");
    let mut out: Vec<CheckResult> = Vec::new();
    // Each role's permission policies, judged together below.
    let mut roles: Vec<TemplateRole> = Vec::new();
    for x in extraction.parts {
        let ctx = Context {
            config,
            account: Some(account),
            holder: x
                .holder
                .as_ref()
                .map(|(arn, attached)| crate::rules::Holder {
                    role_arn: arn,
                    attached,
                }),
        };
        let role_permissions =
            x.role.is_some() && matches!(x.part, Part::Permissions(_) | Part::Attachment(_));
        if role_permissions {
            let Some((id, arn)) = x.role.clone() else {
                continue;
            };
            if !roles.iter().any(|(r, ..)| *r == id) {
                let p = Principal {
                    arn: Some(arn.clone()),
                    ..Principal::default()
                };
                roles.push((id.clone(), arn, p, Vec::new()));
            }
            let Some((_, _, principal, origins)) = roles.iter_mut().find(|(r, ..)| *r == id) else {
                continue;
            };
            match &x.part {
                Part::Permissions(doc) => match Policy::from_value(doc)
                    .and_then(|p| p.validate_permissions().map(|()| p))
                {
                    Ok(policy) => {
                        let origin = Origin::Inline(x.label.clone());
                        origins.push((origin.label(), x.label.clone()));
                        principal.documents.push(Document { origin, policy });
                    }
                    Err(e) => {
                        out.push(CheckResult::failed(
                            &name(&x.label),
                            Some(Kind::Permissions),
                            e.to_string(),
                        ));
                        continue;
                    }
                },
                Part::Attachment(arn) => {
                    principal.attach(arn, None);
                    origins.push((arn.clone(), x.label.clone()));
                }
                _ => {}
            }
            out.push(CheckResult::judged(
                name(&x.label),
                Kind::Permissions,
                Judgement::default(),
                config,
                vec![],
            ));
            continue;
        }
        let (kind, judged) = match x.part {
            Part::Trust(doc) => (Kind::Trust, judge_document(Kind::Trust, &doc, &ctx)),
            Part::Permissions(doc) => (
                Kind::Permissions,
                judge_document(Kind::Permissions, &doc, &ctx),
            ),
            Part::Attachment(arn) => (
                Kind::Permissions,
                Ok(permissions::judge_attachment(&arn, &ctx)),
            ),
            Part::Settings {
                max_session_duration,
                permissions_boundary,
            } => {
                let settings = crate::rules::role::RoleSettings {
                    max_session_duration,
                    permissions_boundary: Some(permissions_boundary),
                    ..Default::default()
                };
                (Kind::Role, Ok(crate::rules::role::judge(&settings, &ctx)))
            }
        };
        out.push(match judged {
            Ok(j) => CheckResult::judged(name(&x.label), kind, j, config, vec![]),
            Err(e) => CheckResult::failed(&name(&x.label), Some(kind), e.to_string()),
        });
    }
    // Each role's policies as a whole: a finding of one policy goes to its
    // part; a finding that takes several goes to the role.
    for (id, arn, principal, origins) in roles {
        let attached = principal.attached.clone();
        let ctx = Context {
            config,
            account: Some(account),
            holder: Some(crate::rules::Holder {
                role_arn: &arn,
                attached: &attached,
            }),
        };
        let j = permissions::judge_principal(&principal, &ctx).finish(config);
        let part_of = |source: &str| {
            origins
                .iter()
                .find(|(o, _)| o == source)
                .map(|(_, l)| name(l))
        };
        let mut whole: Vec<Finding> = Vec::new();
        for f in j.findings {
            match f.sources.as_slice() {
                [one] => match part_of(one).and_then(|n| out.iter_mut().find(|r| r.path == n)) {
                    Some(r) => r.findings.push(f),
                    None => whole.push(f),
                },
                _ => whole.push(f),
            }
        }
        if !whole.is_empty() || !j.notes.is_empty() {
            out.push(CheckResult {
                path: name(&id),
                kind: Some(Kind::Role),
                findings: whole,
                notes: j.notes,
                plan: None,
                skipped: None,
                error: None,
                records: None,
                statement_lines: vec![],
            });
        }
    }
    out
}

/// Give the results of one input's text the line of each statement, for
/// SARIF output: those judged as one policy document (a template's parts
/// are named by their resource instead).
pub fn add_statement_lines(results: &mut [CheckResult], text: &str) {
    let mut lines = None;
    for r in results.iter_mut().filter(|r| r.error.is_none()) {
        // A part of a template, plan or role bundle (`FILE#NAME`): the line
        // of the part it names, one line for all its findings.
        if let Some((_, part)) = r.path.split_once('#') {
            if !r.findings.is_empty() {
                r.statement_lines = part_line(text, part).into_iter().collect();
            }
            continue;
        }
        if matches!(r.kind, Some(Kind::Permissions | Kind::Trust))
            && r.findings.iter().any(|f| !f.statements.is_empty())
        {
            r.statement_lines = lines.get_or_insert_with(|| statement_lines(text)).clone();
        }
    }
}

/// The line (1-based) of a part of a file: a Terraform resource address
/// (`"address": "..."`), a role of a bundle (`"RoleName": "..."`), or a
/// template's resource (`Name:` or `"Name":` as a key), narrowed to the
/// property the part names (`Role.Policies[name]`: the `Policies` key, then
/// the policy's `PolicyName`). A scan of the text, not a parse: `None`
/// when the part is not found as written.
pub fn part_line(text: &str, part: &str) -> Option<usize> {
    let line_of = |needle: &str, from: usize| -> Option<usize> {
        text.get(from..)?
            .find(needle)
            .map(|at| text.get(..from + at).map_or(0, |t| t.matches('\n').count()) + 1)
    };
    let offset_of_line = |line: usize| -> usize {
        text.split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum()
    };
    for key in ["address", "RoleName"] {
        if let Some(l) = line_of(&format!("\"{key}\": \"{part}\""), 0) {
            return Some(l);
        }
    }
    let (resource, property) = match part.split_once('.') {
        Some((r, p)) => (r, Some(p)),
        None => (part, None),
    };
    // The resource as a key: `  Name:` (YAML) or `"Name":` (JSON).
    let resource_line = text
        .lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(&format!("{resource}:")) || t.starts_with(&format!("\"{resource}\":"))
        })
        .map(|i| i + 1)?;
    let Some(property) = property else {
        return Some(resource_line);
    };
    let (key, name) = match property.split_once('[') {
        Some((k, n)) => (k, Some(n.trim_end_matches(']'))),
        None => (property, None),
    };
    let start = offset_of_line(resource_line);
    let key_line = line_of(&format!("{key}:"), start)
        .into_iter()
        .chain(line_of(&format!("\"{key}\""), start))
        .min();
    let Some(key_line) = key_line else {
        return Some(resource_line);
    };
    let within = name.and_then(|n| {
        let from = offset_of_line(key_line);
        [
            format!("PolicyName: {n}"),
            format!("\"PolicyName\": \"{n}\""),
        ]
        .iter()
        .filter_map(|needle| line_of(needle, from))
        .min()
    });
    Some(within.unwrap_or(key_line))
}

/// The line (1-based) where each element of the top-level `Statement` starts,
/// for a plain JSON document; empty for anything else (URL-encoded text,
/// events). A small scanner, not a parser: the document has already parsed.
pub fn statement_lines(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let (mut i, mut line, mut depth) = (0, 1, 0usize);
    let mut lines = Vec::new();
    // 0: looking for the key; 1: key seen, waiting for the value;
    // 2: in the Statement list; 3: done.
    let mut state = 0;
    let mut list_depth = 0;
    let mut expect_element = false;
    let mut last_string: Option<(usize, usize)> = None;
    while let (Some(&c), false) = (b.get(i), state == 3) {
        match c {
            b'\n' => line += 1,
            b'"' => {
                let start = i + 1;
                i += 1;
                while let Some(&d) = b.get(i) {
                    if d == b'"' {
                        break;
                    } else if d == b'\\' {
                        i += 1;
                    } else if d == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                if state == 2 && expect_element && depth == list_depth {
                    lines.push(line);
                    expect_element = false;
                }
                last_string = Some((start, i.min(b.len())));
            }
            b':' if state == 0
                && depth == 1
                && last_string.is_some_and(|(s, e)| &text[s..e] == "Statement") =>
            {
                state = 1;
            }
            b'{' | b'[' => {
                if state == 1 {
                    if c == b'{' {
                        lines.push(line);
                        state = 3;
                    } else {
                        state = 2;
                        list_depth = depth + 1;
                        expect_element = true;
                    }
                } else if state == 2 && expect_element && depth == list_depth {
                    lines.push(line);
                    expect_element = false;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if state == 2 && depth < list_depth {
                    state = 3;
                }
            }
            b',' if state == 2 && depth == list_depth => expect_element = true,
            _ => {}
        }
        i += 1;
    }
    lines
}

/// A template's role being gathered: its address, name, the principal of
/// its permission policies, and (label, document) of each.
type TemplateRole = (
    String,
    String,
    crate::principal::Principal,
    Vec<(String, String)>,
);

#[cfg(test)]
mod tests {
    use super::statement_lines;

    #[test]
    fn parts_are_found_by_name() {
        let yaml = "Resources:\n  Fn:\n    Type: x\n  Role:\n    Properties:\n      Policies:\n        - PolicyName: a\n        - PolicyName: b\n";
        assert_eq!(super::part_line(yaml, "Role"), Some(4));
        assert_eq!(super::part_line(yaml, "Role.Policies"), Some(6));
        assert_eq!(super::part_line(yaml, "Role.Policies[b]"), Some(8));
        let plan = "{\n  \"resource_changes\": [\n    {\"address\": \"aws_iam_role.x\"}\n  ]\n}";
        assert_eq!(super::part_line(plan, "aws_iam_role.x"), Some(3));
        assert_eq!(super::part_line(plan, "aws_iam_role.y"), None);
    }

    #[test]
    fn statement_lines_in_plain_json() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\"},\n    {\n      \"Sid\": \"x\"\n    }\n  ]\n}";
        assert_eq!(statement_lines(text), vec![4, 5]);
        let single = "{\"Id\": \"a\\\"Statement\\\"\",\n\"Statement\":\n {\"Effect\": \"Deny\"}}";
        assert_eq!(statement_lines(single), vec![3]);
        assert_eq!(statement_lines("%7B%22Statement%22"), Vec::<usize>::new());
        assert_eq!(
            statement_lines("{\"Statement\": [{\"Sid\": \"[\"}, {}]}"),
            vec![1, 1]
        );
    }
}
