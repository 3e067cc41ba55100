//! Terraform plans, as `terraform show -json PLAN` writes them (Terraform's
//! documented JSON output format): the IAM roles and policies a plan would
//! create or change, judged before they are applied.
//!
//! Read from the plan: `aws_iam_role` (assume_role_policy, inline_policy
//! blocks, managed_policy_arns, max_session_duration, permissions_boundary),
//! `aws_iam_role_policy`, `aws_iam_policy`, `aws_iam_role_policy_attachment`,
//! `aws_iam_policy_attachment`, and `aws_iam_policy_document` data sources
//! whose JSON the plan holds. Each role is judged as a whole with the parts
//! the plan gives it; each policy is also judged on its own. A value Terraform
//! knows only after apply is noted, never guessed: a reference between
//! resources of the plan (a role policy's `role`, an attachment's
//! `policy_arn`) is followed through the plan's `configuration`. Results are
//! named by resource address (`module.app.aws_iam_role.worker`). The `.tf`
//! file is not in the plan: the plan file and the address are what is shown.

use crate::config::Config;
use crate::policy::{self, Policy};
use crate::rules::{permissions, trust, Context};
use crate::snapshot::RoleSnapshot;
use crate::verdict::{CheckResult, Kind};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Is this `terraform show -json` output (a plan, or a state)?
pub fn looks_like_plan(v: &Value) -> bool {
    v.get("format_version").is_some()
        && v.get("terraform_version").is_some()
        && (v.get("resource_changes").is_some()
            || v.get("planned_values").is_some()
            || v.get("values").is_some())
}

/// One resource of the plan, as it will be after apply.
#[derive(Debug, Clone)]
struct Planned {
    address: String,
    kind: String,
    /// The attributes known now.
    after: Value,
    /// The attributes known only after apply (`after_unknown`).
    unknown: Value,
    /// What the plan does: `create`, `update`, `no-op`...
    actions: Vec<String>,
}

impl Planned {
    fn str(&self, key: &str) -> Option<&str> {
        self.after.get(key).and_then(Value::as_str)
    }
    fn is_unknown(&self, key: &str) -> bool {
        self.unknown
            .get(key)
            .is_some_and(|u| u == &Value::Bool(true))
    }
}

/// Every resource and data source the plan leaves standing, in address order.
fn planned(plan: &Value) -> Vec<Planned> {
    let mut out: BTreeMap<String, Planned> = BTreeMap::new();
    for rc in plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |k: &str| rc.get(k).and_then(Value::as_str).unwrap_or_default();
        let change = rc.get("change").cloned().unwrap_or(Value::Null);
        let actions: Vec<String> = change
            .get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let after = change.get("after").cloned().unwrap_or(Value::Null);
        if after.is_null() || actions == ["delete"] {
            continue;
        }
        let kind = match text("mode") {
            "data" => format!("data.{}", text("type")),
            _ => text("type").to_owned(),
        };
        out.insert(
            text("address").to_owned(),
            Planned {
                address: text("address").to_owned(),
                kind,
                after,
                unknown: change.get("after_unknown").cloned().unwrap_or(Value::Null),
                actions,
            },
        );
    }
    // Data sources read at plan time are in the prior state, not the changes.
    let mut modules = vec![plan.pointer("/prior_state/values/root_module")];
    while let Some(m) = modules.pop() {
        let Some(m) = m else { continue };
        for r in m
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
            if text("mode") != "data" || out.contains_key(text("address")) {
                continue;
            }
            out.insert(
                text("address").to_owned(),
                Planned {
                    address: text("address").to_owned(),
                    kind: format!("data.{}", text("type")),
                    after: r.get("values").cloned().unwrap_or(Value::Null),
                    unknown: Value::Null,
                    actions: vec!["read".into()],
                },
            );
        }
        modules.extend(
            m.get("child_modules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(Some),
        );
    }
    out.into_values().collect()
}

/// The configuration's references from each resource's attributes, by the
/// resource's address without instance keys: `aws_iam_role_policy.x` ->
/// `role` -> [`aws_iam_role.worker.name`, `aws_iam_role.worker`], with
/// module prefixes (`module.app.`) on both sides.
fn references(plan: &Value) -> HashMap<String, HashMap<String, Vec<String>>> {
    let mut out = HashMap::new();
    let mut stack = vec![(String::new(), plan.pointer("/configuration/root_module"))];
    while let Some((prefix, module)) = stack.pop() {
        let Some(module) = module else { continue };
        for r in module
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(address) = r.get("address").and_then(Value::as_str) else {
                continue;
            };
            let mut attrs = HashMap::new();
            if let Some(Value::Object(exprs)) = r.get("expressions") {
                for (attr, e) in exprs {
                    let refs: Vec<String> = e
                        .get("references")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|s| format!("{prefix}{s}"))
                        .collect();
                    if !refs.is_empty() {
                        attrs.insert(attr.clone(), refs);
                    }
                }
            }
            out.insert(format!("{prefix}{address}"), attrs);
        }
        if let Some(Value::Object(calls)) = module.get("module_calls") {
            for (name, call) in calls {
                stack.push((format!("{prefix}module.{name}."), call.get("module")));
            }
        }
    }
    out
}

/// An address without its instance keys (`aws_iam_role.x[0]` -> `aws_iam_role.x`).
fn without_index(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    for c in address.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The resource address an attribute of `r` refers to, of the given type:
/// `aws_iam_role.worker.name` -> `aws_iam_role.worker` (with its module).
fn referenced(
    refs: &HashMap<String, HashMap<String, Vec<String>>>,
    r: &Planned,
    attr: &str,
    kind: &str,
) -> Option<String> {
    let list = refs.get(&without_index(&r.address))?.get(attr)?;
    list.iter().find_map(|s| {
        let at = s.find(&format!("{kind}."))?;
        let (prefix, rest) = s.split_at(at);
        let mut parts = rest.splitn(3, '.');
        let (t, name) = (parts.next()?, parts.next()?);
        Some(format!("{prefix}{t}.{name}"))
    })
}

/// A document attribute: a JSON string (or an object), parsed.
fn document(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::String(s) => policy::decode(s).ok(),
        o @ Value::Object(_) => Some(o.clone()),
        _ => None,
    }
}

/// Judge every IAM role and policy of a plan: one result per role (as a
/// whole), per policy and per policy document, named `PATH#ADDRESS`.
pub fn check_plan(
    path: &str,
    plan: &Value,
    config: &Config,
    account: Option<&str>,
) -> Vec<CheckResult> {
    let account = account
        .or(config.account.as_deref())
        .unwrap_or(crate::template::STAND_IN_ACCOUNT)
        .to_owned();
    let resources = planned(plan);
    let refs = references(plan);
    let mut out = Vec::new();

    // Customer managed policies the plan creates, by a stand-in ARN when
    // their ARN is known only after apply.
    let mut policies: HashMap<String, Value> = HashMap::new();
    let mut policy_arn_of: HashMap<String, String> = HashMap::new();
    for p in resources.iter().filter(|r| r.kind == "aws_iam_policy") {
        let arn = p.str("arn").map(str::to_owned).unwrap_or_else(|| {
            format!(
                "arn:aws:iam::{account}:policy/{}",
                p.str("name").unwrap_or(&p.address)
            )
        });
        policy_arn_of.insert(without_index(&p.address), arn.clone());
        if let Some(doc) = document(p.after.get("policy")) {
            policies.insert(arn, doc);
        }
    }

    // The roles, each with the parts the plan gives it.
    struct RoleParts<'a> {
        planned: &'a Planned,
        snapshot: RoleSnapshot,
        notes: Vec<String>,
    }
    let mut roles: Vec<RoleParts> = Vec::new();
    for r in resources.iter().filter(|r| r.kind == "aws_iam_role") {
        let name = r.str("name").unwrap_or(&r.address).to_owned();
        let mut notes = Vec::new();
        let trust_policy = match document(r.after.get("assume_role_policy")) {
            Some(d) => d,
            None => {
                notes.push(if r.is_unknown("assume_role_policy") {
                    "assume_role_policy is known only after apply: the trust policy is not judged"
                        .to_string()
                } else {
                    "no assume_role_policy in the plan: the trust policy is not judged".to_string()
                });
                Value::Null
            }
        };
        let mut inline = Vec::new();
        for block in r
            .after
            .get("inline_policy")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let n = block
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("inline");
            match document(block.get("policy")) {
                Some(d) => inline.push((n.to_owned(), d)),
                None if block.get("policy").is_some_and(|p| !p.is_null()) => {
                    notes.push(format!("inline_policy {n}: its policy does not parse"))
                }
                None => notes.push(format!(
                    "inline_policy {n}: known only after apply, not judged"
                )),
            }
        }
        if r.is_unknown("inline_policy") {
            notes.push("inline_policy is known only after apply: not judged".into());
        }
        let mut attached: Vec<String> = r
            .after
            .get("managed_policy_arns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        if r.is_unknown("managed_policy_arns") {
            // Known after apply: follow the references to planned policies.
            match referenced(&refs, r, "managed_policy_arns", "aws_iam_policy")
                .and_then(|a| policy_arn_of.get(&a))
            {
                Some(arn) => attached.push(arn.clone()),
                None => {
                    notes.push("managed_policy_arns is known only after apply: not judged".into())
                }
            }
        }
        roles.push(RoleParts {
            planned: r,
            snapshot: RoleSnapshot {
                arn: format!("arn:aws:iam::{account}:role/{name}"),
                name,
                path: r.str("path").unwrap_or("/").to_owned(),
                trust_policy,
                max_session_duration: r
                    .after
                    .get("max_session_duration")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(3600),
                permissions_boundary: r
                    .str("permissions_boundary")
                    .filter(|b| !b.is_empty())
                    .map(str::to_owned),
                attached,
                inline,
            },
            notes,
        });
    }
    // Which role a resource names: its `role` value, or the role its
    // configuration refers to when the value is known only after apply.
    let role_index = |r: &Planned, attr: &str, value: Option<&str>| -> Option<usize> {
        if let Some(v) = value {
            if let Some(i) = roles.iter().position(|x| x.snapshot.name == v) {
                return Some(i);
            }
        }
        let target = referenced(&refs, r, attr, "aws_iam_role")?;
        roles
            .iter()
            .position(|x| without_index(&x.planned.address) == target)
    };
    let mut extra_notes: Vec<(usize, String)> = Vec::new();
    let mut extra_inline: Vec<(usize, (String, Value))> = Vec::new();
    let mut extra_attached: Vec<(usize, String)> = Vec::new();
    let mut unattached_notes: Vec<CheckResult> = Vec::new();
    for r in &resources {
        match r.kind.as_str() {
            "aws_iam_role_policy" => {
                let Some(i) = role_index(r, "role", r.str("role")) else {
                    unattached_notes.push(note_result(
                        path,
                        r,
                        "its role is not in this plan: judged on its own only",
                    ));
                    continue;
                };
                let name = r.str("name").unwrap_or(&r.address).to_owned();
                match document(r.after.get("policy")) {
                    Some(d) => extra_inline.push((i, (name, d))),
                    None => extra_notes.push((
                        i,
                        format!(
                            "{}: its policy is known only after apply, not judged",
                            r.address
                        ),
                    )),
                }
            }
            "aws_iam_role_policy_attachment" => {
                let Some(i) = role_index(r, "role", r.str("role")) else {
                    continue;
                };
                match r.str("policy_arn").map(str::to_owned).or_else(|| {
                    referenced(&refs, r, "policy_arn", "aws_iam_policy")
                        .and_then(|a| policy_arn_of.get(&a).cloned())
                }) {
                    Some(arn) => extra_attached.push((i, arn)),
                    None => extra_notes.push((
                        i,
                        format!(
                            "{}: its policy_arn is known only after apply, not judged",
                            r.address
                        ),
                    )),
                }
            }
            "aws_iam_policy_attachment" => {
                let arn = r.str("policy_arn").map(str::to_owned).or_else(|| {
                    referenced(&refs, r, "policy_arn", "aws_iam_policy")
                        .and_then(|a| policy_arn_of.get(&a).cloned())
                });
                for role in r
                    .after
                    .get("roles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if let Some(i) = roles.iter().position(|x| x.snapshot.name == role) {
                        match &arn {
                            Some(a) => extra_attached.push((i, a.clone())),
                            None => extra_notes.push((
                                i,
                                format!(
                                    "{}: its policy_arn is known only after apply, not judged",
                                    r.address
                                ),
                            )),
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (i, n) in extra_notes {
        if let Some(r) = roles.get_mut(i) {
            r.notes.push(n);
        }
    }
    for (i, p) in extra_inline {
        if let Some(r) = roles.get_mut(i) {
            r.snapshot.inline.push(p);
        }
    }
    for (i, a) in extra_attached {
        if let Some(r) = roles.get_mut(i) {
            if !r.snapshot.attached.contains(&a) {
                r.snapshot.attached.push(a);
            }
        }
    }
    for r in &roles {
        let mut v = crate::scan::judge_role(&account, &r.snapshot, &policies, None, config);
        v.result.path = format!("{path}#{}", r.planned.address);
        v.result.notes.extend(r.notes.iter().cloned());
        if r.planned.actions.iter().all(|a| a == "no-op") {
            v.result
                .notes
                .push("unchanged by this plan (no-op): judged as it stands".into());
        }
        // What the Lambda would do is not a plan step here: the plan is not
        // applied yet. The verdict is what counts.
        v.result.plan = None;
        out.push(v.result);
    }

    // Each policy and policy document on its own.
    let ctx = Context {
        config,
        account: Some(&account),
        holder: None,
    };
    for r in &resources {
        let (attr, is_data) = match r.kind.as_str() {
            "aws_iam_policy" | "aws_iam_role_policy" => ("policy", false),
            "data.aws_iam_policy_document" => ("json", true),
            _ => continue,
        };
        let shown = format!("{path}#{}", r.address);
        let Some(doc) = document(r.after.get(attr)) else {
            out.push(note_result(
                path,
                r,
                if r.is_unknown(attr) || (is_data && r.after.get(attr).is_none()) {
                    "its document is known only after apply: not judged"
                } else {
                    "it holds no document"
                },
            ));
            continue;
        };
        let parsed = match Policy::from_value(&doc) {
            Ok(p) => p,
            Err(e) => {
                out.push(CheckResult::failed(
                    &shown,
                    Some(Kind::Permissions),
                    e.to_string(),
                ));
                continue;
            }
        };
        // A document that names principals is a trust policy.
        let kind = if parsed.statements.iter().any(|s| s.principal.is_some()) {
            Kind::Trust
        } else {
            Kind::Permissions
        };
        let j = match kind {
            Kind::Trust => trust::judge(&parsed, &ctx),
            _ => permissions::judge(&parsed, &ctx),
        };
        out.push(CheckResult::judged(shown, kind, j, config, vec![]));
    }
    out.extend(unattached_notes);
    if out.is_empty() {
        out.push(CheckResult {
            path: path.to_owned(),
            kind: Some(Kind::Template),
            findings: vec![],
            notes: vec!["the plan holds no IAM role or policy".into()],
            plan: None,
            skipped: None,
            error: None,
            records: None,
            statement_lines: vec![],
        });
    }
    out
}

/// Is this text `terraform show -json` output? A cheap look first.
pub fn is_plan_text(text: &str) -> Option<Value> {
    if !(text.contains("\"format_version\"") && text.contains("\"terraform_version\"")) {
        return None;
    }
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(looks_like_plan)
}

/// A result that only says something about a resource.
fn note_result(path: &str, r: &Planned, note: &str) -> CheckResult {
    CheckResult {
        path: format!("{path}#{}", r.address),
        kind: Some(Kind::Permissions),
        findings: vec![],
        notes: vec![format!("{} ({}): {note}", r.address, r.kind)],
        plan: None,
        skipped: None,
        error: None,
        records: None,
        statement_lines: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_lose_their_instance_keys() {
        assert_eq!(without_index("aws_iam_role.x[0]"), "aws_iam_role.x");
        assert_eq!(
            without_index("module.app[\"a\"].aws_iam_role.x[\"k\"]"),
            "module.app.aws_iam_role.x"
        );
    }
}
