//! Witness requests: the questions the judgement asks the evaluator.
//!
//! "Can this role pass an administrator role?" is answered by building the
//! requests an attacker holding the role would make, its *witnesses*, and
//! asking [`crate::eval`] whether IAM would allow any of them under all the
//! role's policies and its boundary. A condition or a resource pattern
//! narrows a finding exactly when it makes IAM refuse every witness.
//!
//! - **Resources.** A path's action on an *existing* resource (pass a role,
//!   change a function's code) must reach every resource of that type: two
//!   unrelated names are tried, and both must be allowed. An action on a
//!   *new* resource the attacker names (create a function, run a task) needs
//!   some name: the patterns of the policies themselves are tried as names.
//!   The *own* target is the principal itself, or a customer managed policy
//!   attached to it. Actions with several required resource types must reach
//!   each. An action that takes no resource is asked about `*`.
//! - **Contexts.** Keys the caller sets (request keys, its network, time and
//!   session; see [`crate::eval::keys`]) take every value the policies
//!   mention, a value they do not, and absence. Keys fixed by the principal
//!   (its ARN, its account) take its own values when known. Keys that
//!   describe the target resource (its tags, its organisation) are absent at
//!   the first level, then take the policies' values: a path that needs a
//!   tagged target is *narrowed* (one severity step). Keys that say which
//!   permissions boundary the created or changed role carries come last: a
//!   path that needs a named boundary is *capped* (two steps). A key that the
//!   action does not have is never in its request, so a positive condition
//!   on it never holds.

use crate::catalog::{self, ActionId, KeyType};
use crate::eval::{self, keys::Class, Context, Policies, Request, Source, Values};
use crate::policy::{Condition, Effect, Either, Policy, Statement};
use std::collections::HashMap;

/// How far a grant reaches, from the most to the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// On any target, whatever its tags or boundary.
    Full = 0,
    /// Only on targets with some tag or attribute the policy names.
    Narrowed = 1,
    /// Only for roles capped by a permissions boundary the policy names.
    Capped = 2,
}

impl Reach {
    /// Severity steps a finding loses.
    pub fn lowering(self) -> u8 {
        self as u8
    }
}

/// Which resource a witness asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every existing resource of the action's type.
    Existing,
    /// Some new resource, named by the attacker.
    New,
    /// The principal itself, or a customer managed policy attached to it.
    Own,
}

/// A grant that reached: how far, and the statements that allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub reach: Reach,
    pub statements: Vec<(Source, usize)>,
}

/// The most context combinations tried per witness resource and level.
const MAX_CONTEXTS: usize = 1024;

/// Names for existing resources: unrelated to each other and to anything a
/// policy names. Both must be allowed for "every resource".
const EXISTING_NAMES: [&str; 2] = ["RoleguardWitnessA", "zz-witness-b"];
/// A value the policies do not name.
const FRESH: &str = "roleguard-witness";
/// A boundary that caps nothing.
const ADMINISTRATOR: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// A principal prepared for questions.
pub struct View<'a> {
    identity: Vec<&'a Policy>,
    boundary: Option<&'a Policy>,
    /// The principal's own ARN and account, when known.
    holder: Option<&'a str>,
    account: Option<&'a str>,
    partition: &'a str,
    /// Customer managed policies attached to the principal.
    own_policies: Vec<&'a str>,
    /// The principal's organisation, when configured.
    org: Option<&'a str>,
    cache: std::cell::RefCell<HashMap<ReachKey, Option<Reached>>>,
}

impl<'a> View<'a> {
    pub fn new(
        identity: Vec<&'a Policy>,
        boundary: Option<&'a Policy>,
        holder: Option<&'a str>,
        account: Option<&'a str>,
        attached: &'a [String],
        org: Option<&'a str>,
    ) -> View<'a> {
        let partition = holder
            .and_then(|h| h.split(':').nth(1))
            .filter(|p| !p.is_empty())
            .unwrap_or("aws");
        View {
            identity,
            boundary,
            holder,
            account,
            partition,
            own_policies: attached
                .iter()
                .filter(|a| !catalog::is_aws_managed_arn(a))
                .map(String::as_str)
                .collect(),
            org,
            cache: Default::default(),
        }
    }

    pub fn holder(&self) -> Option<&'a str> {
        self.holder
    }

    /// Can the principal do `action` on the target, with the keys in `fixed`
    /// set to one of their values (a path's own terms, such as
    /// `iam:PassedToService`)? `None` when no witness is allowed.
    pub fn reach(
        &self,
        action: &str,
        target: Target,
        fixed: &[(&str, &[&str])],
    ) -> Option<Reached> {
        let key = (
            action.to_ascii_lowercase(),
            target,
            fixed
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        );
        if let Some(hit) = self.cache.borrow().get(&key) {
            return hit.clone();
        }
        let answer = self.ask(action, target, fixed);
        self.cache.borrow_mut().insert(key, answer.clone());
        answer
    }

    fn ask(&self, action: &str, target: Target, fixed: &[(&str, &[&str])]) -> Option<Reached> {
        let c = catalog::catalog();
        let id = c.lookup(action)?;
        let matching = |p: &'a Policy, effect: Effect| -> Vec<&'a Statement> {
            p.statements
                .iter()
                .filter(|s| s.effect == effect && eval::statement_action_matches(s, action))
                .collect()
        };
        let allows: Vec<&Statement> = self
            .identity
            .iter()
            .flat_map(|p| matching(p, Effect::Allow))
            .collect();
        if allows.is_empty() {
            return None;
        }
        let bounds: Option<Vec<&Statement>> = self.boundary.map(|b| matching(b, Effect::Allow));
        let denies: Vec<&Statement> = self
            .identity
            .iter()
            .copied()
            .chain(self.boundary)
            .flat_map(|p| matching(p, Effect::Deny))
            .collect();
        let groups = self.resource_groups(id, target)?;
        let asker = Asker {
            view: self,
            id,
            action,
            fixed,
            allows: &allows,
            bounds: bounds.as_deref(),
            denies: &denies,
        };
        let mut worst = Reach::Full;
        let mut statements = Vec::new();
        // Every required resource type must be reached.
        for group in &groups {
            let mut best: Option<Reached> = None;
            for level in [Reach::Full, Reach::Narrowed, Reach::Capped] {
                if let Some(found) = asker.group(group, level) {
                    best = Some(Reached {
                        reach: level,
                        statements: found,
                    });
                    break;
                }
            }
            let r = best?;
            worst = worst.max(r.reach);
            statements.extend(r.statements);
        }
        statements.sort();
        statements.dedup();
        Some(Reached {
            reach: worst,
            statements,
        })
    }

    /// For each resource type the action requires, the alternatives to try.
    fn resource_groups(&self, id: ActionId, target: Target) -> Option<Vec<Vec<Vec<String>>>> {
        let action = catalog::catalog().get(id);
        let types: Vec<&catalog::ResourceType> = {
            let all: Vec<_> = action.resource_types().collect();
            let required: Vec<_> = all.iter().filter(|(_, r)| *r).map(|(t, _)| *t).collect();
            if required.is_empty() {
                all.first().map(|(t, _)| *t).into_iter().collect()
            } else {
                required
            }
        };
        if types.is_empty() {
            return Some(vec![vec![vec!["*".to_string()]]]);
        }
        let mut groups = Vec::new();
        for t in types {
            let mut alternatives = Vec::new();
            match target {
                Target::Own => {
                    let own: Vec<&str> = if t.name == "role" || t.name == "user" {
                        self.holder
                            .filter(|h| h.contains(&format!(":{}/", t.name)))
                            .into_iter()
                            .collect()
                    } else if t.name == "policy" {
                        self.own_policies.clone()
                    } else {
                        vec![]
                    };
                    for o in own {
                        alternatives.push(vec![o.to_string()]);
                    }
                }
                Target::Existing => {
                    for (region, account) in self.places(t) {
                        alternatives.push(
                            EXISTING_NAMES
                                .iter()
                                .map(|n| instantiate(t.arn, self.partition, &region, &account, n))
                                .collect(),
                        );
                    }
                }
                Target::New => {
                    for (region, account) in self.places(t) {
                        alternatives.push(vec![instantiate(
                            t.arn,
                            self.partition,
                            &region,
                            &account,
                            EXISTING_NAMES[0],
                        )]);
                    }
                    // The policies' own patterns, as names the attacker picks.
                    for pattern in self.patterns_of(t.service) {
                        if let Some(arn) = self.named_after(pattern, t) {
                            alternatives.push(vec![arn]);
                        }
                    }
                }
            }
            if alternatives.is_empty() {
                return None;
            }
            groups.push(alternatives);
        }
        Some(groups)
    }

    /// A resource of the type named after a policy's pattern, in the
    /// principal's account: `None` when the pattern names another account's
    /// resources or another type.
    fn named_after(&self, pattern: &str, t: &catalog::ResourceType) -> Option<String> {
        if pattern.contains("${") {
            return None;
        }
        let parts: Vec<&str> = pattern.splitn(6, ':').collect();
        let ["arn", _, service, region, account, resource] = parts.as_slice() else {
            return None;
        };
        let fill = |s: &str| s.replace(['*', '?'], "x");
        let region = if region.is_empty() || !crate::pattern::has_wildcard(region) {
            region.to_string()
        } else {
            "us-east-1".to_string()
        };
        let account = if crate::pattern::has_wildcard(account) {
            self.account.unwrap_or("123456789012").to_string()
        } else {
            if self.account.is_some_and(|a| a != *account) {
                return None;
            }
            account.to_string()
        };
        let arn = format!(
            "arn:{}:{}:{region}:{account}:{}",
            self.partition,
            fill(service),
            fill(resource)
        );
        // It must be an ARN of the type: the template with its variables as wildcards.
        let shape = instantiate(t.arn, self.partition, "*", "*", "*");
        crate::pattern::matches(&shape, &arn, false).then_some(arn)
    }

    /// Regions and accounts a resource of the type may be in: the
    /// principal's account (or, unknown, the accounts the policies name), in
    /// us-east-1 or any region the policies name.
    fn places(&self, t: &catalog::ResourceType) -> Vec<(String, String)> {
        let mut regions = vec!["us-east-1".to_string()];
        let mut accounts: Vec<String> = self.account.map(str::to_owned).into_iter().collect();
        for p in self.patterns_of(t.service) {
            let parts: Vec<&str> = p.splitn(6, ':').collect();
            if let Some(r) = parts
                .get(3)
                .filter(|r| !r.is_empty() && !crate::pattern::has_wildcard(r))
            {
                if !regions.iter().any(|x| x == r) {
                    regions.push(r.to_string());
                }
            }
            if self.account.is_none() {
                if let Some(a) = parts.get(4).filter(|a| crate::policy::is_account_id(a)) {
                    if !accounts.iter().any(|x| x == a) {
                        accounts.push(a.to_string());
                    }
                }
            }
        }
        if accounts.is_empty() {
            accounts.push("123456789012".into());
        }
        regions.truncate(4);
        accounts.truncate(4);
        let mut out = Vec::new();
        for r in &regions {
            for a in &accounts {
                out.push((r.clone(), a.clone()));
            }
        }
        out
    }

    /// Resource patterns of the policies that name a service's ARNs.
    fn patterns_of(&self, service: &str) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        for p in self.identity.iter().copied().chain(self.boundary) {
            for s in &p.statements {
                if let Some(Either::Is(rs)) = &s.resource {
                    for r in rs {
                        if r.split(':').nth(2) == Some(service) && !out.contains(&r.as_str()) {
                            out.push(r);
                        }
                    }
                }
            }
        }
        out.truncate(8);
        out
    }

    /// The contexts to try at a level.
    fn contexts(
        &self,
        id: ActionId,
        conditions: &[&Condition],
        fixed: &[(&str, &[&str])],
        level: Reach,
    ) -> Vec<Context> {
        let action = catalog::catalog().get(id);
        let supported = |key: &str| eval::keys::in_every_request(key) || action.supports_key(key);
        // Every key to set, with its candidate values (None: absent).
        let mut keys: Vec<(String, Vec<Option<Values>>)> = Vec::new();
        for (k, values) in fixed {
            if supported(k) {
                keys.push((
                    k.to_string(),
                    values
                        .iter()
                        .map(|v| Some(Values::One(v.to_string())))
                        .collect(),
                ));
            }
        }
        let mut seen: Vec<String> = keys.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
        for c in conditions {
            let folded = c.key.to_ascii_lowercase();
            if seen.contains(&folded) || !supported(&c.key) {
                continue;
            }
            seen.push(folded);
            let same_key: Vec<&Condition> = conditions
                .iter()
                .copied()
                .filter(|x| x.key.eq_ignore_ascii_case(&c.key))
                .collect();
            let candidates = self.candidates(&c.key, &same_key, level);
            keys.push((c.key.clone(), candidates));
        }
        // Known facts about the principal, whatever the policies say.
        let mut base = Context::new();
        if let Some(h) = self.holder {
            base.set("aws:PrincipalArn", Values::One(h.to_string()));
        }
        if let Some(a) = self.account {
            base.set("aws:PrincipalAccount", Values::One(a.to_string()));
            base.set("aws:ResourceAccount", Values::One(a.to_string()));
        }
        combinations(keys, base)
    }

    /// The values to try for one key at a level.
    fn candidates(
        &self,
        key: &str,
        conditions: &[&Condition],
        level: Reach,
    ) -> Vec<Option<Values>> {
        let class = eval::keys::class(key);
        let folded = key.to_ascii_lowercase();
        let known = match folded.as_str() {
            "aws:principalarn" => self.holder,
            "aws:principalaccount" | "aws:resourceaccount" => self.account,
            "aws:principalorgid" | "aws:resourceorgid" => self.org,
            _ => None,
        };
        if let Some(v) = known {
            return vec![Some(Values::One(v.to_owned()))];
        }
        // Below the level, a target's tags are any value but the ones the
        // policies name, and its boundary caps nothing (it may be none, or
        // AdministratorAccess).
        let resource_tag = class == Class::Resource && folded.contains("tag/");
        match class {
            Class::Resource if level == Reach::Full && resource_tag => {
                return vec![None, Some(Values::One(FRESH.into()))]
            }
            Class::Boundary if level < Reach::Capped => {
                return vec![None, Some(Values::One(ADMINISTRATOR.into()))]
            }
            _ => {}
        }
        chosen_values(key, conditions)
    }
}

/// The values a caller can give a key it sets: absence, each value the
/// conditions on it name (wildcards filled in), neighbours of numbers and
/// dates, and a value they do not name.
pub fn chosen_values(key: &str, conditions: &[&Condition]) -> Vec<Option<Values>> {
    {
        let (ty, multi) = eval::keys::key_type(key);
        let mut singles: Vec<String> = Vec::new();
        let mut push = |v: String| {
            if !singles.contains(&v) {
                singles.push(v);
            }
        };
        for c in conditions {
            for v in &c.values {
                if v.contains("${") {
                    continue;
                }
                match ty {
                    KeyType::Bool => {}
                    KeyType::Numeric => {
                        if let Ok(n) = v.trim().parse::<f64>() {
                            push(trim_number(n));
                            push(trim_number(n + 1.0));
                            push(trim_number(n - 1.0));
                        }
                    }
                    KeyType::Date => {
                        if let Some(s) = eval::condition::parse_date(v) {
                            for d in [-86_400.0, 0.0, 86_400.0] {
                                push(trim_number(s + d));
                            }
                        }
                    }
                    KeyType::Ip => push(v.split('/').next().unwrap_or(v).to_string()),
                    _ => push(v.replace(['*', '?'], "x")),
                }
            }
        }
        match ty {
            KeyType::Bool => {
                push("true".into());
                push("false".into());
            }
            KeyType::Ip => push("198.51.100.77".into()),
            KeyType::Numeric | KeyType::Date => push("0".into()),
            _ => push(FRESH.into()),
        }
        let mut out: Vec<Option<Values>> = vec![None];
        if multi {
            out.push(Some(Values::Many(vec![])));
            out.extend(singles.iter().map(|v| Some(Values::Many(vec![v.clone()]))));
            if singles.len() > 1 {
                out.push(Some(Values::Many(singles.clone())));
            }
        } else {
            out.extend(singles.into_iter().map(|v| Some(Values::One(v))));
        }
        out
    }
}

/// Every combination of the keys' candidate values over a base context,
/// at most [`MAX_CONTEXTS`] of them (the widest keys trimmed first).
pub fn combinations(mut keys: Vec<(String, Vec<Option<Values>>)>, base: Context) -> Vec<Context> {
    loop {
        let product = keys
            .iter()
            .fold(1usize, |acc, (_, v)| acc.saturating_mul(v.len().max(1)));
        if product <= MAX_CONTEXTS {
            break;
        }
        match keys.iter_mut().max_by_key(|(_, v)| v.len()) {
            Some((_, v)) if v.len() > 2 => {
                let keep = v.len() - 1;
                v.truncate(keep);
            }
            _ => break,
        }
    }
    let mut out = vec![base];
    for (k, candidates) in &keys {
        let mut next = Vec::with_capacity(out.len() * candidates.len().max(1));
        for ctx in &out {
            for v in candidates {
                let mut c = ctx.clone();
                match v {
                    Some(v) => c.set(k, v.clone()),
                    None => c.remove(k),
                }
                next.push(c);
            }
        }
        out = next;
        if out.len() > MAX_CONTEXTS {
            out.truncate(MAX_CONTEXTS);
            break;
        }
    }
    out
}

/// One question, asked statement by statement: a context is built from the
/// conditions of one Allow (and one boundary Allow) and of every Deny, so
/// the combinations stay few however many statements the policies hold.
struct Asker<'v, 'a> {
    view: &'v View<'a>,
    id: ActionId,
    action: &'v str,
    fixed: &'v [(&'v str, &'v [&'v str])],
    allows: &'v [&'a Statement],
    bounds: Option<&'v [&'a Statement]>,
    denies: &'v [&'a Statement],
}

impl Asker<'_, '_> {
    /// Is some alternative of the group allowed at this level? An
    /// alternative is a list of resources that must all be allowed (the
    /// names of "every existing resource").
    fn group(&self, group: &[Vec<String>], level: Reach) -> Option<Vec<(Source, usize)>> {
        for all_of in group {
            let mut statements = Vec::new();
            if all_of.iter().all(|r| match self.resource(r, level) {
                Some(found) => {
                    statements.extend(found);
                    true
                }
                None => false,
            }) {
                return Some(statements);
            }
        }
        None
    }

    /// Is the action allowed on this resource under some context?
    fn resource(&self, resource: &str, level: Reach) -> Option<Vec<(Source, usize)>> {
        let policies = Policies {
            identity: &self.view.identity,
            boundary: self.view.boundary,
        };
        let empty = Context::new();
        let might = |s: &Statement| match &s.resource {
            Some(Either::Is(rs)) => rs
                .iter()
                .any(|r| r.contains("${") || eval::resource_matches(r, resource, &empty)),
            Some(Either::Not(rs)) => !rs
                .iter()
                .any(|r| !r.contains("${") && eval::resource_matches(r, resource, &empty)),
            None => true,
        };
        let bounds: Vec<Option<&Statement>> = match self.bounds {
            None => vec![None],
            Some(b) => b.iter().copied().filter(|s| might(s)).map(Some).collect(),
        };
        for allow in self.allows.iter().copied().filter(|s| might(s)) {
            for bound in &bounds {
                let conditions: Vec<&Condition> = allow
                    .conditions
                    .iter()
                    .chain(bound.iter().flat_map(|b| b.conditions.iter()))
                    .chain(self.denies.iter().flat_map(|d| d.conditions.iter()))
                    .collect();
                let contexts = self.view.contexts(self.id, &conditions, self.fixed, level);
                for ctx in &contexts {
                    let req = Request {
                        action: self.action,
                        resource,
                        context: ctx,
                        caller: None,
                    };
                    let d = eval::evaluate(policies, &req);
                    if d.outcome == eval::Outcome::Allow {
                        return Some(
                            d.deciding
                                .into_iter()
                                .filter(|(s, _)| *s != Source::Boundary)
                                .collect(),
                        );
                    }
                }
            }
        }
        None
    }
}

fn trim_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// An ARN of a resource type, from its template.
pub fn instantiate(
    template: &str,
    partition: &str,
    region: &str,
    account: &str,
    name: &str,
) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        out.push_str(match &after[..end] {
            "Partition" => partition,
            "Region" => region,
            "Account" => account,
            _ => name,
        });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// What a reach is cached by: the action, the target, and the context's
/// keys with their values.
type ReachKey = (String, Target, Vec<(String, Vec<String>)>);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(statements: serde_json::Value) -> Policy {
        Policy::from_value(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    const HOLDER: &str = "arn:aws:iam::111122223333:role/holder";

    fn reach(p: &Policy, action: &str, target: Target, fixed: &[(&str, &[&str])]) -> Option<Reach> {
        let view = View::new(vec![p], None, Some(HOLDER), Some("111122223333"), &[], None);
        view.reach(action, target, fixed).map(|r| r.reach)
    }

    #[test]
    fn resources_by_what_they_match() {
        for (resource, want) in [
            ("*", Some(Reach::Full)),
            ("arn:aws:iam::111122223333:role*", Some(Reach::Full)),
            ("arn:aws:iam::*:*/*", Some(Reach::Full)),
            ("arn:aws:iam::*", Some(Reach::Full)),
            ("arn:aws:iam::111122223333:role/app-*", None),
            ("arn:aws:iam::999988887777:role/*", None),
        ] {
            let p = policy(
                json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": resource}]),
            );
            assert_eq!(
                reach(&p, "iam:PassRole", Target::Existing, &[]),
                want,
                "{resource}"
            );
        }
        // A new function: any name the pattern admits will do.
        let p = policy(
            json!([{"Effect": "Allow", "Action": "lambda:CreateFunction", "Resource": "arn:aws:lambda:*:*:function:app-*"}]),
        );
        assert_eq!(
            reach(&p, "lambda:CreateFunction", Target::New, &[]),
            Some(Reach::Full)
        );
        assert_eq!(
            reach(&p, "lambda:UpdateFunctionCode", Target::Existing, &[]),
            None
        );
        // The holder itself.
        let p =
            policy(json!([{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": HOLDER}]));
        assert_eq!(
            reach(&p, "iam:PutRolePolicy", Target::Own, &[]),
            Some(Reach::Full)
        );
        assert_eq!(reach(&p, "iam:PutRolePolicy", Target::Existing, &[]), None);
    }

    #[test]
    fn conditions_by_what_they_restrict() {
        let lambda: &[(&str, &[&str])] = &[("iam:PassedToService", &["lambda.amazonaws.com"])];
        let with = |c: serde_json::Value| {
            policy(
                json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": c}]),
            )
        };
        let r = |c: serde_json::Value| reach(&with(c), "iam:PassRole", Target::Existing, lambda);
        assert_eq!(
            r(json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})),
            Some(Reach::Full)
        );
        assert_eq!(
            r(json!({"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})),
            None
        );
        assert_eq!(
            r(json!({"StringEquals": {"aws:ResourceTag/team": "blue"}})),
            Some(Reach::Narrowed)
        );
        assert_eq!(
            r(json!({"StringEqualsIfExists": {"aws:ResourceTag/team": "blue"}})),
            Some(Reach::Full)
        );
        assert_eq!(
            r(json!({"StringNotEquals": {"aws:ResourceTag/protected": "true"}})),
            Some(Reach::Full)
        );
        assert_eq!(
            r(json!({"Bool": {"aws:SecureTransport": "true"}})),
            Some(Reach::Full)
        );
        assert_eq!(
            r(json!({"StringEquals": {"aws:PrincipalTag/x": "y"}})),
            Some(Reach::Full)
        );
        assert_eq!(
            r(json!({"StringEquals": {"aws:ResourceAccount": "111122223333"}})),
            Some(Reach::Full)
        );
        assert_eq!(
            r(json!({"StringEquals": {"aws:ResourceAccount": "999988887777"}})),
            None
        );
        // A key PassRole never has: the grant is dead.
        assert_eq!(
            r(json!({"StringEquals": {"ec2:InstanceType": "t3.micro"}})),
            None
        );
        assert_eq!(
            r(json!({"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}})),
            Some(Reach::Full)
        );
        // A named boundary caps the role.
        let p = policy(
            json!([{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*",
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/b"}}}]),
        );
        assert_eq!(
            reach(&p, "iam:PutRolePolicy", Target::Existing, &[]),
            Some(Reach::Capped)
        );
    }

    #[test]
    fn denies_count_when_the_caller_cannot_avoid_them() {
        let allow = json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"});
        let p = policy(json!([allow, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]));
        assert_eq!(reach(&p, "iam:PassRole", Target::Existing, &[]), None);
        let p = policy(
            json!([allow, {"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}]),
        );
        assert_eq!(
            reach(&p, "iam:PassRole", Target::Existing, &[]),
            Some(Reach::Full)
        );
        let p = policy(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::bucket/*"}]));
        assert_eq!(reach(&p, "iam:PassRole", Target::Existing, &[]), None);
    }

    #[test]
    fn templates() {
        assert_eq!(
            instantiate(
                "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}",
                "aws",
                "us-east-1",
                "1",
                "f"
            ),
            "arn:aws:lambda:us-east-1:1:function:f"
        );
    }
}
