//! Judge a role as it stands, not a change: its trust policy, every attached
//! and inline policy, its boundary and its settings. What the periodic scan
//! (`roleguard scan`, the scheduled invocation) runs for each role, to catch
//! what the events missed.
//!
//! Each part of the role is judged and planned as the change that would have
//! put it there (an UpdateAssumeRolePolicy for the trust policy, an
//! AttachRolePolicy per attached policy, a PutRolePolicy per inline one), so a
//! role found by the scan gets the same findings and the same reverts as the
//! event would have, baselines included.

use crate::audit::Baseline;
use crate::config::Config;
use crate::event::Change;
use crate::plan::{self, Previous, Step};
use crate::policy::Policy;
use crate::rules::{permissions, role::RoleSettings, trust, Context, Finding, Judgement};
use crate::verdict::{CheckResult, Kind};
use serde_json::Value;
use std::collections::HashMap;

pub use crate::snapshot::{AccountSnapshot, RoleParts, RoleSnapshot};

/// The verdict on one role.
#[derive(Debug, Clone)]
pub struct RoleVerdict {
    /// Findings (each message says which part of the role), notes, the plan;
    /// `path` is the role's ARN.
    pub result: CheckResult,
    /// The role is accepted as it stands (nothing to revert): its trust
    /// policy and inline policies are its baseline.
    pub accepted: bool,
}

/// Judge one role of `account`.
pub fn judge_role(
    account: &str,
    role: &RoleSnapshot,
    policies: &HashMap<String, Value>,
    baseline: Option<&Baseline>,
    config: &Config,
) -> RoleVerdict {
    let mut result = CheckResult {
        path: role.arn.clone(),
        kind: Some(Kind::Role),
        findings: vec![],
        notes: vec![],
        plan: Some(vec![]),
        skipped: None,
        error: None,
        records: None,
        statement_lines: vec![],
    };
    if config.is_exempt(&role.name, Some(&role.path)) {
        result.skipped = Some(format!("role {} is exempt", role.name));
        return RoleVerdict {
            result,
            accepted: false,
        };
    }
    let ctx = Context {
        config,
        account: Some(account),
        holder: Some(crate::rules::Holder {
            role_arn: &role.arn,
            attached: &role.attached,
        }),
    };
    let name = role.name.clone();
    let mut acc = Parts {
        config,
        baseline,
        findings: vec![],
        steps: vec![],
        notes: vec![],
    };

    if !role.trust_policy.is_null() {
        let trust_text = role.trust_policy.to_string();
        match Policy::parse(&trust_text) {
            Ok(p) => acc.part(
                "trust policy".into(),
                trust::judge(&p, &ctx),
                Change::UpdateAssumeRolePolicy {
                    role_name: name.clone(),
                    trust_policy: trust_text.clone(),
                },
                Some(&p),
            ),
            Err(e) => acc.notes.push(format!("trust policy: cannot be read: {e}")),
        }
    }
    // The permissions as a whole. A finding that one document carries is
    // planned as the change that would have put that document there; one
    // that takes several documents (a split path) is reported: an event
    // reverts the change that completes it.
    let principal = crate::principal::Principal::of_role(role, policies);
    // Not finished here: each group is finished once, as a part.
    let mut whole = permissions::judge_principal(&principal, &ctx);
    whole.notes.sort();
    whole.notes.dedup();
    acc.notes.append(&mut whole.notes);
    let mut by_source: Vec<(String, Vec<Finding>)> = Vec::new();
    for f in whole.findings {
        let key = match f.sources.as_slice() {
            [one] => one.clone(),
            _ => String::new(),
        };
        match by_source.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(f),
            None => by_source.push((key, vec![f])),
        }
    }
    for (source, findings) in by_source {
        let change = if let Some(arn) = role.attached.iter().find(|a| **a == source) {
            Some(Change::AttachRolePolicy {
                role_name: name.clone(),
                policy_arn: arn.clone(),
            })
        } else {
            role.inline
                .iter()
                .find(|(n, _)| source == crate::principal::Origin::Inline(n.clone()).label())
                .map(|(n, doc)| Change::PutRolePolicy {
                    role_name: name.clone(),
                    policy_name: n.clone(),
                    document: doc.to_string(),
                })
        };
        let j = Judgement {
            findings,
            notes: vec![],
        };
        match change {
            Some(change) => acc.part(what_of(&source), j, change, None),
            None => acc
                .findings
                .extend(j.finish(config).findings.into_iter().map(|mut f| {
                    f.message = format!("{}: {}", f.sources.join(" + "), f.message);
                    f
                })),
        }
    }
    for (policy_name, doc) in &role.inline {
        acc.part(
            format!("inline policy {policy_name}"),
            crate::rules::role::judge(
                &RoleSettings {
                    // One that grants nothing (a Deny guardrail) is let be.
                    inline_policy: crate::policy::Policy::parse(&doc.to_string())
                        .map_or(true, |p| p.allows().next().is_some())
                        .then(|| policy_name.clone()),
                    ..Default::default()
                },
                &ctx,
            ),
            Change::PutRolePolicy {
                role_name: name.clone(),
                policy_name: policy_name.clone(),
                document: doc.to_string(),
            },
            None,
        );
    }
    acc.part(
        "settings".into(),
        crate::rules::role::judge(
            &RoleSettings {
                max_session_duration: Some(role.max_session_duration),
                permissions_boundary: Some(role.permissions_boundary.clone()),
                ..Default::default()
            },
            &ctx,
        ),
        Change::UpdateRole {
            role_name: name.clone(),
            max_session_duration: Some(role.max_session_duration),
        },
        None,
    );

    let Parts {
        findings,
        steps,
        notes,
        ..
    } = acc;
    result.notes = notes;
    // Sessions are revoked once, after every revert of the role.
    let (revoke, mut steps): (Vec<Step>, Vec<Step>) = steps
        .into_iter()
        .partition(|s| matches!(s, Step::RevokeSessions { .. }));
    steps.extend(revoke.into_iter().take(1));
    let strongest = findings.iter().map(|f| plan::response(f, config)).max();
    let accepted = steps.is_empty();
    if let Some(strongest) = strongest {
        let reverted = !steps.is_empty();
        steps.extend(plan::closing_steps(
            Some((crate::event::Entity::Role, name.as_str())),
            &findings,
            strongest,
            reverted,
            None,
        ));
    }
    // A role roleguard runs as is judged and reported, never changed here.
    if config.is_own_role(Some(account), &name) && !steps.is_empty() {
        result
            .notes
            .push("one of roleguard's own roles: reported, not changed".into());
        steps.retain(|s| matches!(s, Step::Notify { .. }));
    }
    result.findings = findings;
    result.plan = Some(steps);
    RoleVerdict { result, accepted }
}

/// How a message names a part of a role: `attached ARN`, `inline policy NAME`.
fn what_of(source: &str) -> String {
    if source.starts_with("arn:") {
        format!("attached {source}")
    } else {
        source.to_string()
    }
}

/// What the parts of a role add up to.
struct Parts<'a> {
    config: &'a Config,
    baseline: Option<&'a Baseline>,
    findings: Vec<Finding>,
    steps: Vec<Step>,
    notes: Vec<String>,
}

impl Parts<'_> {
    /// Judge one part of the role as the change that would have put it there.
    fn part(
        &mut self,
        what: String,
        judgement: Judgement,
        change: Change,
        parsed: Option<&Policy>,
    ) {
        let j = judgement.finish(self.config);
        let previous = Previous {
            trust_policy: self.baseline.and_then(|b| b.trust_policy.as_ref()),
            inline_policy: match &change {
                Change::PutRolePolicy { policy_name, .. } => self
                    .baseline
                    .and_then(|b| b.inline_policies.get(policy_name)),
                _ => None,
            },
            boundary: self
                .baseline
                .and_then(|b| b.role.as_ref())
                .and_then(|r| r.role.permissions_boundary.as_deref()),
        };
        self.steps.extend(
            plan::plan(&change, &j.findings, parsed, &previous, None, self.config)
                .into_iter()
                .filter(Step::reverts),
        );
        self.notes
            .extend(j.notes.into_iter().map(|n| format!("{what}: {n}")));
        self.findings.extend(j.findings.into_iter().map(|mut f| {
            f.message = format!("{what}: {}", f.message);
            f
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACCOUNT: &str = "111122223333";

    fn role(name: &str) -> RoleSnapshot {
        RoleSnapshot {
            name: name.into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
            path: "/".into(),
            trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            max_session_duration: 3600,
            permissions_boundary: None,
            attached: vec![
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into(),
            ],
            inline: vec![(
                "data".into(),
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/orders"}]}),
            )],
        }
    }

    fn actions(v: &RoleVerdict) -> Vec<&'static str> {
        v.result
            .plan
            .as_ref()
            .unwrap()
            .iter()
            .map(Step::action)
            .collect()
    }

    #[test]
    fn a_least_privilege_role_is_accepted() {
        let v = judge_role(
            ACCOUNT,
            &role("app"),
            &HashMap::new(),
            None,
            &Config::default(),
        );
        assert!(v.result.findings.is_empty(), "{:?}", v.result.findings);
        assert!(v.accepted);
        assert!(actions(&v).is_empty());
    }

    #[test]
    fn every_part_of_a_bad_role_is_judged_and_planned() {
        let mut r = role("app");
        r.trust_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
        r.attached
            .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
        r.attached
            .push("arn:aws:iam::111122223333:policy/custom".into());
        r.max_session_duration = 43200;
        let policies = HashMap::from([(
            "arn:aws:iam::111122223333:policy/custom".to_string(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "iam:PassRole", "Resource": "*"}]}),
        )]);
        let v = judge_role(ACCOUNT, &r, &policies, None, &Config::default());
        let rules: Vec<&str> = v.result.findings.iter().map(|f| f.rule.as_str()).collect();
        assert!(rules.contains(&"trust-any-principal"), "{rules:?}");
        assert!(rules.contains(&"perm-full-admin"), "{rules:?}");
        assert!(rules.contains(&"perm-passrole-unconstrained"), "{rules:?}");
        assert!(rules.contains(&"role-max-session-duration"), "{rules:?}");
        assert!(v
            .result
            .findings
            .iter()
            .any(|f| f.message.starts_with("trust policy: ")));
        assert!(v.result.findings.iter().any(|f| f
            .message
            .starts_with("attached arn:aws:iam::111122223333:policy/custom: ")));
        assert_eq!(
            actions(&v),
            [
                "update_assume_role_policy",
                "detach_role_policy",
                "detach_role_policy",
                // The public trust is critical: the sessions it let out go.
                "revoke_sessions",
                "tag_role",
                "notify"
            ]
        );
        assert!(!v.accepted);
    }

    #[test]
    fn a_baseline_is_put_back_and_unknown_documents_are_noted() {
        let mut r = role("app");
        r.inline = vec![(
            "data".into(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        )];
        r.attached = vec!["arn:aws:iam::111122223333:policy/gone".into()];
        let good = role("app").inline[0].1.clone();
        let baseline = Baseline {
            trust_policy: None,
            inline_policies: [("data".to_string(), good.clone())].into(),
            role: None,
        };
        let v = judge_role(
            ACCOUNT,
            &r,
            &HashMap::new(),
            Some(&baseline),
            &Config::default(),
        );
        let Some(Step::PutRolePolicy {
            policy_document, ..
        }) = v.result.plan.as_ref().unwrap().first()
        else {
            panic!("{:?}", v.result.plan)
        };
        assert_eq!(*policy_document, good);
        assert_eq!(
            v.result.notes,
            ["arn:aws:iam::111122223333:policy/gone: its document was not found"]
        );
    }

    #[test]
    fn exempt_and_own_roles() {
        let config = Config::from_yaml("exempt_roles: {names: [break-glass]}").unwrap();
        let v = judge_role(
            ACCOUNT,
            &role("break-glass"),
            &HashMap::new(),
            None,
            &config,
        );
        assert_eq!(
            v.result.skipped.as_deref(),
            Some("role break-glass is exempt")
        );
        let mut own = role("roleguard-function");
        own.attached = vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()];
        let config = Config::from_yaml(&format!(
            "own_roles: ['arn:aws:iam::{ACCOUNT}:role/roleguard-function']"
        ))
        .unwrap();
        let v = judge_role(ACCOUNT, &own, &HashMap::new(), None, &config);
        assert!(!v.result.findings.is_empty());
        assert_eq!(actions(&v), ["notify"], "reported, never changed");
    }
}
