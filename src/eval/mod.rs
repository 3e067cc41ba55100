//! A concrete IAM evaluator: would IAM allow this request, under these
//! policies? Pure, no I/O.
//!
//! It follows IAM's documented evaluation logic for one account
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>):
//! an explicit Deny in any policy wins; otherwise an identity policy must
//! allow; a permissions boundary, when the principal has one, must allow too
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html>).
//! A resource-based policy (a role's trust policy) is evaluated on its own,
//! with the request's caller matched against `Principal`/`NotPrincipal`.
//!
//! A statement applies when its action, resource, principal and every
//! condition match:
//! - actions: case-insensitive, `*` and `?` wildcards, `NotAction` the
//!   complement ([`action_matches`]);
//! - resources: ARNs matched part by part (partition, service, region,
//!   account, resource), each with `*` and `?`; in the resource part `*`
//!   crosses `/` and `:`; an ARN of fewer than six parts whose last part ends
//!   in `*` stands for all the parts after it; `*` alone matches every
//!   resource, and is the only pattern that matches an action taking no
//!   resource; policy variables are resolved first ([`resource_matches`]);
//! - conditions: [`condition`];
//! - keys: what each condition key describes is in [`keys`].
//!
//! roleguard's judgement asks this evaluator its questions (can the role
//! pass an administrator role? can a stranger assume this role?), and the
//! evaluator is tested against an independent one (`scripts/differential`).

pub mod condition;
pub mod keys;

use crate::pattern;
use crate::policy::{Effect, Either, Policy, PrincipalKind, Principals, Statement};
use std::borrow::Cow;

/// A request context key's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    One(String),
    Many(Vec<String>),
}

/// The request context: condition keys and their values. Key names are
/// compared case-insensitively, as IAM does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, Values)>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }
    /// Set a key, replacing any value it had.
    pub fn set(&mut self, key: &str, values: Values) {
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(e) => e.1 = values,
            None => self.entries.push((key.to_string(), values)),
        }
    }
    pub fn with(mut self, key: &str, value: &str) -> Context {
        self.set(key, Values::One(value.to_string()));
        self
    }
    pub fn with_many(mut self, key: &str, values: &[&str]) -> Context {
        self.set(
            key,
            Values::Many(values.iter().map(|v| v.to_string()).collect()),
        );
        self
    }
    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
    }
    pub fn get(&self, key: &str) -> Option<&Values> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Values)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Who makes a request, for a resource-based policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// An IAM role or user (`arn` without session), or an account's root.
    Aws { arn: &'a str, account: &'a str },
    /// An AWS service principal (`lambda.amazonaws.com`).
    Service(&'a str),
    /// A federated identity: an OIDC or SAML provider's ARN, or a built-in
    /// web identity provider (`cognito-identity.amazonaws.com`).
    Federated(&'a str),
}

/// One request to authorise.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`.
    pub action: &'a str,
    /// The resource's ARN, or `*` for an action that takes no resource.
    pub resource: &'a str,
    pub context: &'a Context,
    /// The caller, for resource-based policies (trust policies).
    pub caller: Option<Caller<'a>>,
}

/// How a request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    ExplicitDeny,
    ImplicitDeny,
    Allow,
}

/// Where a statement is: which policy of the set (identity policies by
/// index; the boundary and the resource policy by name) and its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Identity(usize),
    Boundary,
    Resource,
}

/// The decision, with the statements that decided it: the Denies that
/// matched for an explicit deny, the Allows that matched for an allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub deciding: Vec<(Source, usize)>,
}

/// The policies that apply to a principal's request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policies<'a> {
    pub identity: &'a [&'a Policy],
    pub boundary: Option<&'a Policy>,
}

/// Evaluate a principal's request against its identity policies and
/// permissions boundary.
pub fn evaluate(policies: Policies, req: &Request) -> Decision {
    let mut denies = Vec::new();
    let mut allows = Vec::new();
    for (i, p) in policies.identity.iter().enumerate() {
        collect(p, req, Source::Identity(i), &mut allows, &mut denies);
    }
    let mut boundary_allows = Vec::new();
    if let Some(b) = policies.boundary {
        collect(b, req, Source::Boundary, &mut boundary_allows, &mut denies);
    }
    if !denies.is_empty() {
        return Decision {
            outcome: Outcome::ExplicitDeny,
            deciding: denies,
        };
    }
    if allows.is_empty() || (policies.boundary.is_some() && boundary_allows.is_empty()) {
        return Decision {
            outcome: Outcome::ImplicitDeny,
            deciding: vec![],
        };
    }
    allows.extend(boundary_allows);
    Decision {
        outcome: Outcome::Allow,
        deciding: allows,
    }
}

/// Evaluate a request against a resource-based policy alone (a role's trust
/// policy): the caller must match a statement's principal.
pub fn evaluate_resource_policy(policy: &Policy, req: &Request) -> Decision {
    let (mut allows, mut denies) = (Vec::new(), Vec::new());
    collect(policy, req, Source::Resource, &mut allows, &mut denies);
    if !denies.is_empty() {
        Decision {
            outcome: Outcome::ExplicitDeny,
            deciding: denies,
        }
    } else if allows.is_empty() {
        Decision {
            outcome: Outcome::ImplicitDeny,
            deciding: vec![],
        }
    } else {
        Decision {
            outcome: Outcome::Allow,
            deciding: allows,
        }
    }
}

fn collect(
    p: &Policy,
    req: &Request,
    source: Source,
    allows: &mut Vec<(Source, usize)>,
    denies: &mut Vec<(Source, usize)>,
) {
    let variables = has_variables(p);
    for s in &p.statements {
        if applies_with(s, req, variables) {
            match s.effect {
                Effect::Allow => allows.push((source, s.index)),
                Effect::Deny => denies.push((source, s.index)),
            }
        }
    }
}

/// Does the policy's language have policy variables? Only version
/// `2012-10-17` does: in a policy without `Version`, or of `2008-10-17`,
/// `${aws:username}` is literal text
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>:
/// "If you don't include the Version element and set it to an appropriate
/// version date, variables like ${aws:username} are treated as literal
/// strings in the policy").
pub fn has_variables(p: &Policy) -> bool {
    p.version.as_deref() == Some("2012-10-17")
}

/// Does the statement apply to the request (action, resource, principal and
/// conditions all match)? Policy variables are resolved, as in a policy of
/// version `2012-10-17`; [`applies_with`] says whether to.
pub fn applies(s: &Statement, req: &Request) -> bool {
    applies_with(s, req, true)
}

/// [`applies`], resolving policy variables or (for a policy whose version
/// has none, see [`has_variables`]) reading them as literal text.
pub fn applies_with(s: &Statement, req: &Request, variables: bool) -> bool {
    statement_action_matches(s, req.action)
        && match &s.resource {
            Some(Either::Is(rs)) => rs
                .iter()
                .any(|r| resource_matches_with(r, req.resource, req.context, variables)),
            Some(Either::Not(rs)) => !rs
                .iter()
                .any(|r| resource_matches_with(r, req.resource, req.context, variables)),
            None => true,
        }
        && match (&s.principal, req.caller) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(Either::Is(p)), Some(c)) => principal_matches(p, c),
            (Some(Either::Not(p)), Some(c)) => !principal_matches(p, c),
        }
        && s.conditions
            .iter()
            .all(|c| condition::holds_with(c, req.context, variables))
}

/// Does the statement's Action or NotAction cover the action?
pub fn statement_action_matches(s: &Statement, action: &str) -> bool {
    match &s.action {
        Some(Either::Is(a)) => a.iter().any(|p| action_matches(p, action)),
        Some(Either::Not(a)) => !a.iter().any(|p| action_matches(p, action)),
        None => false,
    }
}

/// Does an Action pattern match a `service:Action` name? Case-insensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    pattern::matches(pattern, action, true)
}

/// Does a Resource pattern match the request's resource?
pub fn resource_matches(pattern: &str, resource: &str, ctx: &Context) -> bool {
    resource_matches_with(pattern, resource, ctx, true)
}

/// [`resource_matches`], with policy variables resolved or read literally.
pub fn resource_matches_with(
    pattern: &str,
    resource: &str,
    ctx: &Context,
    variables: bool,
) -> bool {
    let Some(flat) = resolve_with(pattern, ctx, variables) else {
        return false;
    };
    if flat.literal.is_empty() && pattern::is_only_wildcards(&flat.text) {
        return true;
    }
    if resource == "*" {
        return false;
    }
    if !flat.text.starts_with("arn:") {
        // Not an ARN: matched as a whole.
        return glob_flat(&flat, 0, &flat.text, resource);
    }
    let Some(target) = condition::split_arn(resource) else {
        return false;
    };
    let parts: Vec<&str> = flat.text.splitn(6, ':').collect();
    // A short ARN stands for the parts after it only when its last part
    // ends in `*`; otherwise it matches nothing.
    if parts.len() < 6 && !parts.last().is_some_and(|l| l.ends_with('*')) {
        return false;
    }
    let mut offset = 0;
    for (p, r) in parts.iter().zip(target.iter()) {
        if !glob_flat(&flat, offset, p, r) {
            return false;
        }
        offset += p.len() + 1;
    }
    true
}

/// Does a principal element name the caller?
pub fn principal_matches(p: &Principals, caller: Caller) -> bool {
    match p {
        Principals::Any => true,
        Principals::Named(list) => list.iter().any(|(kind, v)| match (kind, caller) {
            (PrincipalKind::Aws, Caller::Aws { arn, account }) => {
                v == "*"
                    || v == account
                    || v == arn
                    || root_account(v).is_some_and(|a| a == account)
            }
            (PrincipalKind::Service, Caller::Service(name)) => v.eq_ignore_ascii_case(name),
            (PrincipalKind::Federated, Caller::Federated(provider)) => v == provider,
            _ => false,
        }),
    }
}

/// `arn:<partition>:iam::<account>:root` -> the account.
fn root_account(v: &str) -> Option<&str> {
    let parts = condition::split_arn(v)?;
    (parts[2] == "iam" && parts[5] == "root" && crate::policy::is_account_id(parts[4]))
        .then_some(parts[4])
}

/// A policy value with its variables resolved: the text, and the byte
/// positions of `*` and `?` that are literal (from `${*}`, `${?}` or a
/// variable's value) rather than wildcards.
#[derive(Debug, Clone)]
pub struct Flat<'a> {
    pub text: Cow<'a, str>,
    pub literal: Vec<usize>,
}

/// [`resolve`] when `variables`; otherwise the value as it is (a policy
/// whose version has no variables).
pub fn resolve_with<'a>(value: &'a str, ctx: &Context, variables: bool) -> Option<Flat<'a>> {
    if variables {
        resolve(value, ctx)
    } else {
        Some(Flat {
            text: Cow::Borrowed(value),
            literal: vec![],
        })
    }
}

/// Resolve the policy variables in a value: `${key}` from the request
/// context, `${key, 'default'}` with a default, `${*}`, `${?}`, `${$}` as
/// literal characters. `None` when a variable has no single value.
pub fn resolve<'a>(value: &'a str, ctx: &Context) -> Option<Flat<'a>> {
    if !value.contains("${") {
        return Some(Flat {
            text: Cow::Borrowed(value),
            literal: vec![],
        });
    }
    let mut text = String::with_capacity(value.len());
    let mut literal = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        text.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            // No closing brace: the text is literal.
            text.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let inner = after[..end].trim();
        let substituted: String = match inner {
            "*" | "?" | "$" => inner.to_string(),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(d);
                        (k.trim(), Some(d))
                    }
                    None => (inner, None),
                };
                match (ctx.get(key), default) {
                    (Some(Values::One(v)), _) => v.clone(),
                    (_, Some(d)) => d.to_string(),
                    _ => return None,
                }
            }
        };
        for (j, c) in substituted.char_indices() {
            if c == '*' || c == '?' {
                literal.push(text.len() + j);
            }
        }
        text.push_str(&substituted);
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    Some(Flat {
        text: Cow::Owned(text),
        literal,
    })
}

/// Glob-match `pat`, a slice of `flat.text` starting at byte `offset`,
/// against `text`: `*` any run, `?` one character, unless the position is a
/// literal one. Case-sensitive.
pub fn glob_flat(flat: &Flat, offset: usize, pat: &str, text: &str) -> bool {
    if flat.literal.is_empty() {
        return pattern::matches(pat, text, false);
    }
    let p: Vec<(char, bool)> = pat
        .char_indices()
        .map(|(i, c)| {
            (
                c,
                (c == '*' || c == '?') && !flat.literal.contains(&(offset + i)),
            )
        })
        .collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&tc) = t.get(ti) {
        let pc = p.get(pi).copied();
        if pc == Some(('*', true)) {
            star = Some((pi, ti));
            pi += 1;
        } else if pc.is_some_and(|pc| pc == ('?', true) || pc.0 == tc) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p.get(pi..)
        .unwrap_or_default()
        .iter()
        .all(|&c| c == ('*', true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(statements: serde_json::Value) -> Policy {
        Policy::from_value(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    fn decide(p: &Policy, action: &str, resource: &str, ctx: &Context) -> Outcome {
        let req = Request {
            action,
            resource,
            context: ctx,
            caller: None,
        };
        evaluate(
            Policies {
                identity: &[p],
                boundary: None,
            },
            &req,
        )
        .outcome
    }

    const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";

    #[test]
    fn deny_wins_and_boundaries_cap() {
        let allow = policy(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]));
        let deny = policy(json!([{"Effect": "Deny", "Action": "iam:Pass*", "Resource": "*"}]));
        let ctx = Context::new();
        let req = Request {
            action: "iam:PassRole",
            resource: ADMIN,
            context: &ctx,
            caller: None,
        };
        let d = evaluate(
            Policies {
                identity: &[&allow, &deny],
                boundary: None,
            },
            &req,
        );
        assert_eq!(d.outcome, Outcome::ExplicitDeny);
        assert_eq!(d.deciding, vec![(Source::Identity(1), 0)]);
        let boundary = policy(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]));
        let capped = Policies {
            identity: &[&allow],
            boundary: Some(&boundary),
        };
        assert_eq!(evaluate(capped, &req).outcome, Outcome::ImplicitDeny);
        let req = Request {
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            ..req
        };
        assert_eq!(evaluate(capped, &req).outcome, Outcome::Allow);
    }

    #[test]
    fn actions_and_resources() {
        let ctx = Context::new();
        let p = policy(
            json!([{"Effect": "Allow", "Action": "IAM:pass*", "Resource": "arn:aws:iam::111122223333:role*"}]),
        );
        assert_eq!(decide(&p, "iam:PassRole", ADMIN, &ctx), Outcome::Allow);
        for (pattern, want) in [
            ("arn:aws:iam::*:*/*", true),
            ("arn:aws:iam::*", true),
            ("arn:*", true),
            ("arn:aws:iam::111122223333", false),
            ("arn:aws:iam::111122223333:role/app-*", false),
            ("arn:aws:iam::111122223333:role/?dmin", true),
            ("arn:aws:iam::111122223333:ROLE/Admin", false),
            ("arn:aws:*:*:111122223333:role/Admin", true),
            ("arn:aws:iam::444455556666:role/*", false),
        ] {
            let p =
                policy(json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": pattern}]));
            assert_eq!(
                decide(&p, "iam:PassRole", ADMIN, &ctx) == Outcome::Allow,
                want,
                "{pattern}"
            );
        }
        // NotAction and NotResource.
        let p = policy(
            json!([{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}]),
        );
        assert_eq!(
            decide(&p, "s3:GetObject", "arn:aws:s3:::other/k", &ctx),
            Outcome::Allow
        );
        assert_eq!(
            decide(&p, "s3:GetObject", "arn:aws:s3:::secret/k", &ctx),
            Outcome::ImplicitDeny
        );
        assert_eq!(
            decide(&p, "iam:PassRole", ADMIN, &ctx),
            Outcome::ImplicitDeny
        );
        // An action that takes no resource: only `*` matches it.
        let p = policy(
            json!([{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::*"}]),
        );
        assert_eq!(
            decide(&p, "s3:ListAllMyBuckets", "*", &ctx),
            Outcome::ImplicitDeny
        );
    }

    #[test]
    fn conditions() {
        let cond = |c: serde_json::Value| {
            policy(
                json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": c}]),
            )
        };
        let allowed = |c: serde_json::Value, ctx: &Context| {
            decide(&cond(c), "iam:PassRole", ADMIN, ctx) == Outcome::Allow
        };
        let empty = Context::new();
        let lambda = Context::new().with("iam:PassedToService", "lambda.amazonaws.com");
        assert!(allowed(
            json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
            &lambda
        ));
        assert!(!allowed(
            json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
            &empty
        ));
        assert!(allowed(
            json!({"StringEqualsIfExists": {"iam:PassedToService": "ec2.amazonaws.com"}}),
            &empty
        ));
        assert!(allowed(
            json!({"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
            &empty
        ));
        assert!(allowed(
            json!({"StringNotEquals": {"IAM:passedtoservice": "ec2.amazonaws.com"}}),
            &lambda
        ));
        assert!(!allowed(
            json!({"StringNotEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}}),
            &lambda
        ));
        assert!(allowed(
            json!({"Null": {"aws:ResourceTag/x": "true"}}),
            &empty
        ));
        assert!(!allowed(
            json!({"Null": {"aws:ResourceTag/x": "false"}}),
            &empty
        ));
        assert!(allowed(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": "a"}}),
            &empty
        ));
        assert!(!allowed(
            json!({"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}}),
            &empty
        ));
        let tags = Context::new().with_many("aws:TagKeys", &["a", "b"]);
        assert!(!allowed(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": "a"}}),
            &tags
        ));
        assert!(allowed(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}}),
            &tags
        ));
        assert!(allowed(
            json!({"ForAnyValue:StringLike": {"aws:TagKeys": "b*"}}),
            &tags
        ));
        assert!(allowed(
            json!({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/dep*"}}),
            &Context::new().with(
                "aws:PrincipalArn",
                "arn:aws:iam::999988887777:role/deployer"
            )
        ));
        assert!(allowed(
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}),
            &Context::new().with("aws:SourceArn", "arn:aws:s3:::bucket")
        ));
        assert!(!allowed(
            json!({"ArnEquals": {"aws:SourceArn": "arn:aws:*"}}),
            &Context::new().with("aws:SourceArn", "arn:aws:s3:::bucket")
        ));
        assert!(allowed(
            json!({"Bool": {"aws:MultiFactorAuthPresent": true}}),
            &Context::new().with("aws:MultiFactorAuthPresent", "TRUE")
        ));
        assert!(allowed(
            json!({"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}),
            &Context::new().with("aws:MultiFactorAuthAge", "60")
        ));
        assert!(allowed(
            json!({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}),
            &Context::new().with("aws:CurrentTime", "2026-11-27T00:00:00Z")
        ));
        assert!(allowed(
            json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}),
            &Context::new().with("aws:SourceIp", "192.168.1.1")
        ));
        assert!(allowed(
            json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
            &Context::new().with("aws:SourceIp", "192.168.1.1")
        ));
        assert!(!allowed(
            json!({"UnknownOperator": {"aws:SourceIp": "10.0.0.0/8"}}),
            &empty
        ));
    }

    #[test]
    fn policy_variables() {
        let ctx = Context::new()
            .with("aws:username", "alice")
            .with("aws:PrincipalTag/team", "blue");
        let p = policy(
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}]),
        );
        let mut with_tag = ctx.clone();
        with_tag.set("aws:ResourceTag/team", Values::One("blue".into()));
        assert_eq!(
            decide(&p, "s3:GetObject", "arn:aws:s3:::home/alice/x", &with_tag),
            Outcome::Allow
        );
        assert_eq!(
            decide(&p, "s3:GetObject", "arn:aws:s3:::home/bob/x", &with_tag),
            Outcome::ImplicitDeny
        );
        // An unresolvable variable matches nothing; a default stands in.
        assert_eq!(
            decide(
                &p,
                "s3:GetObject",
                "arn:aws:s3:::home/alice/x",
                &Context::new()
            ),
            Outcome::ImplicitDeny
        );
        let d = policy(
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username, 'guest'}/${*}"}]),
        );
        assert_eq!(
            decide(
                &d,
                "s3:GetObject",
                "arn:aws:s3:::home/guest/*",
                &Context::new()
            ),
            Outcome::Allow
        );
        assert_eq!(
            decide(
                &d,
                "s3:GetObject",
                "arn:aws:s3:::home/guest/x",
                &Context::new()
            ),
            Outcome::ImplicitDeny
        );
    }

    #[test]
    fn variables_need_version_2012() {
        // Without Version 2012-10-17, `${aws:username}` is literal text.
        let ctx = Context::new().with("aws:username", "alice");
        let doc = |version: Option<&str>| {
            let mut v = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::home/${aws:username}/*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}}]});
            if let Some(version) = version {
                v["Version"] = json!(version);
            }
            Policy::from_value(&v).unwrap()
        };
        let mut tagged = ctx.clone();
        tagged.set("aws:PrincipalTag/team", Values::One("alice".into()));
        assert_eq!(
            decide(
                &doc(Some("2012-10-17")),
                "s3:GetObject",
                "arn:aws:s3:::home/alice/x",
                &tagged
            ),
            Outcome::Allow
        );
        for version in [None, Some("2008-10-17")] {
            let p = doc(version);
            assert!(!has_variables(&p));
            assert_eq!(
                decide(&p, "s3:GetObject", "arn:aws:s3:::home/alice/x", &tagged),
                Outcome::ImplicitDeny
            );
            let mut literal = Context::new().with("aws:PrincipalTag/team", "${aws:username}");
            literal.set("aws:username", Values::One("alice".into()));
            assert_eq!(
                decide(
                    &p,
                    "s3:GetObject",
                    "arn:aws:s3:::home/${aws:username}/x",
                    &literal
                ),
                Outcome::Allow
            );
        }
        // `applies` itself resolves them, as in a 2012-10-17 policy.
        let p = doc(None);
        let req = Request {
            action: "s3:GetObject",
            resource: "arn:aws:s3:::home/alice/x",
            context: &tagged,
            caller: None,
        };
        assert!(applies(&p.statements[0], &req));
        assert!(!applies_with(&p.statements[0], &req, false));
    }

    #[test]
    fn trust_principals() {
        let trust = policy(json!([
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::999988887777:role/bad"}}}]));
        let ask = |caller: Caller, ctx: &Context| {
            let req = Request {
                action: "sts:AssumeRole",
                resource: ADMIN,
                context: ctx,
                caller: Some(caller),
            };
            evaluate_resource_policy(&trust, &req).outcome
        };
        let ctx = Context::new();
        assert_eq!(
            ask(
                Caller::Aws {
                    arn: "arn:aws:iam::999988887777:role/ci",
                    account: "999988887777"
                },
                &ctx
            ),
            Outcome::Allow
        );
        assert_eq!(
            ask(
                Caller::Aws {
                    arn: "arn:aws:iam::444455556666:role/ci",
                    account: "444455556666"
                },
                &ctx
            ),
            Outcome::ImplicitDeny
        );
        assert_eq!(
            ask(Caller::Service("lambda.amazonaws.com"), &ctx),
            Outcome::Allow
        );
        let bad = Context::new().with("aws:PrincipalArn", "arn:aws:iam::999988887777:role/bad");
        assert_eq!(
            ask(
                Caller::Aws {
                    arn: "arn:aws:iam::999988887777:role/bad",
                    account: "999988887777"
                },
                &bad
            ),
            Outcome::ExplicitDeny
        );
    }
}
