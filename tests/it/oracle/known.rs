//! The known differences between roleguard and the oracle
//! (`tests/oracle/known-differences.md` says which side is right and why).
//!
//! A disagreement is put down to a known difference only when emulating
//! that difference reproduces the oracle's answer. The emulation is a model
//! of the oracle (iam-simulate 0.1.173, `--unsafe`) for one element: a
//! statement's `Resource`/`NotResource`, one condition, or a policy's
//! `Version`. [`diagnose`] compares every element of the policies under
//! roleguard's evaluator and under the model; each element where they
//! differ is named by the feature that makes it differ (a wildcard in the
//! resource-type term, an unresolvable variable under a negated operator...)
//! or left unexplained. [`classify`] then replaces the differing elements
//! of one known kind by the model's verdict, evaluates again with
//! roleguard, and reports the kind if the decision now equals the oracle's.
//! A roleguard bug can hide behind a known difference only in a pair where
//! the element that has the bug also has the known feature.

use super::gen::{Parsed, Request};
use roleguard::eval::condition::{self, Op};
use roleguard::eval::{self, Context, Outcome, Values};
use roleguard::policy::{Condition, Effect, Either, SetQualifier, Statement};

/// The known differences, by the name the test reports them under.
pub const KNOWN: &[(&str, &str)] = &[
    (
        "resource-type-wildcard",
        "a wildcard in the resource-type term of an ARN (`*/Admin`, `*:*/*`): roleguard matches it, the oracle never does",
    ),
    (
        "star-request-specific-resource",
        "request resource `*` (an action with no resource type): the oracle lets Allow statements with specific ARNs apply",
    ),
    (
        "notresource-short-arn",
        "NotResource with a short ARN that does not match: the oracle drops the statement",
    ),
    (
        "notresource-unresolved-variable",
        "NotResource with a variable that has no value: the oracle drops the statement",
    ),
    (
        "empty-variable-value",
        "a condition value's variable whose request value is the empty string: the oracle takes it for no value",
    ),
    (
        "negated-unresolved-variable",
        "a negated string/ARN operator whose policy value has a variable with no value: the oracle says false",
    ),
    (
        "negated-uncomparable-value",
        "a negated numeric/date/IP/ARN operator with a value of the wrong type: the oracle says false",
    ),
    (
        "multivalued-without-set-operator",
        "a list-valued key under an operator without ForAnyValue/ForAllValues: the oracle says false",
    ),
    (
        "foranyvalue-ifexists",
        "ForAnyValue:...IfExists on an absent key: the oracle ignores IfExists (false)",
    ),
    (
        "date-epoch-vs-iso",
        "a date condition comparing epoch seconds with an ISO date: the oracle reads ISO dates in milliseconds",
    ),
    (
        "ipv4-slash-zero",
        "an IPv4 /0 block: the oracle matches only the block's own address",
    ),
    (
        "numeric-lenient-parse",
        "a numeric value with trailing text (`10.1.2.3`): the oracle reads its numeric prefix",
    ),
    (
        "arn-operator-odd-value",
        "an ARN operator with a policy value of wildcards only or a variable before the fifth colon: the oracle never matches",
    ),
    (
        "special-variable-in-equals",
        "`${*}`, `${?}` or `${$}` under a string operator without wildcards: the oracle keeps the 4-character text",
    ),
    (
        "version-less-variables",
        "a policy without Version 2012-10-17: roleguard reads `${...}` literally, the oracle substitutes it",
    ),
];

/// One element of the policies that the model and roleguard see differently.
#[derive(Debug, Clone)]
pub struct Fix {
    /// Which policy: identity policies in order, then the boundary.
    pub policy: usize,
    pub target: Target,
    /// The known differences that explain it together (most often one);
    /// empty when none does.
    pub reasons: Vec<&'static str>,
    /// What the element evaluates to under the model.
    pub model: bool,
    pub describe: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Resource { statement: usize },
    Condition { statement: usize, condition: usize },
    Version,
}

/// Every element where roleguard and the model of the oracle differ.
pub fn diagnose(parsed: &Parsed, req: &Request, ctx: &Context) -> Vec<Fix> {
    let mut out = Vec::new();
    for (pi, p) in parsed.all().enumerate() {
        let has_variables = p.statements.iter().any(|s| {
            s.resource
                .as_ref()
                .is_some_and(|r| r.value().iter().any(|v| v.contains("${")))
                || s.conditions
                    .iter()
                    .any(|c| c.values.iter().any(|v| v.contains("${")))
        });
        if p.version.as_deref() != Some("2012-10-17") && has_variables {
            out.push(Fix {
                policy: pi,
                target: Target::Version,
                reasons: vec!["version-less-variables"],
                model: true,
                describe: format!(
                    "policy {pi} has Version {:?} and policy variables",
                    p.version
                ),
            });
        }
        for (si, s) in p.statements.iter().enumerate() {
            if let Some(f) = resource_fix(pi, si, s, req, ctx) {
                out.push(f);
            }
            for (ci, c) in s.conditions.iter().enumerate() {
                if let Some(f) = condition_fix(pi, si, ci, c, ctx) {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// The known difference (or `a+b` combination) that makes roleguard's
/// decision the oracle's, if there is one.
pub fn classify(parsed: &Parsed, req: &Request, ctx: &Context, oracle: Outcome) -> Option<String> {
    let fixes = diagnose(parsed, req, ctx);
    let mut reasons: Vec<&'static str> = fixes
        .iter()
        .flat_map(|f| f.reasons.iter().copied())
        .collect();
    reasons.sort();
    reasons.dedup();
    // One known difference alone, then all of them together.
    for r in &reasons {
        let fixed = apply(parsed, fixes.iter().filter(|f| f.reasons == [*r]));
        if fixed.evaluate_in(req, ctx).outcome == oracle {
            return Some(r.to_string());
        }
    }
    if reasons.len() > 1 {
        let fixed = apply(parsed, fixes.iter().filter(|f| !f.reasons.is_empty()));
        if fixed.evaluate_in(req, ctx).outcome == oracle {
            return Some(reasons.join("+"));
        }
    }
    None
}

/// The policies with the given elements replaced by the model's verdicts.
pub fn apply<'a>(parsed: &Parsed, fixes: impl Iterator<Item = &'a Fix>) -> Parsed {
    let mut out = parsed.clone();
    let n = out.identity.len();
    for f in fixes {
        let p = if f.policy < n {
            &mut out.identity[f.policy]
        } else {
            out.boundary.as_mut().expect("boundary")
        };
        match f.target {
            Target::Version => p.version = Some("2012-10-17".into()),
            Target::Resource { statement } => {
                let all = vec!["*".to_string()];
                p.statements[statement].resource = Some(if f.model {
                    Either::Is(all)
                } else {
                    Either::Not(all)
                });
            }
            Target::Condition {
                statement,
                condition,
            } => {
                // `Null` on a key no request has: true for "true", false for "false".
                p.statements[statement].conditions[condition] = Condition {
                    operator: "Null".into(),
                    qualifier: None,
                    if_exists: false,
                    key: "roleguard:sentinel".into(),
                    values: vec![f.model.to_string()],
                };
            }
        }
    }
    out
}

// ------------------------------------------------------------------ resources

/// How the oracle matches one policy resource: (matches, invertible), where
/// a mismatch that is not invertible makes a `NotResource` fail too.
/// `None` where the model does not know.
fn model_resource(
    pattern: &str,
    resource: &str,
    ctx: &Context,
    effect: Effect,
    not: bool,
) -> Option<(bool, bool)> {
    if !pattern.is_empty() && pattern.bytes().all(|b| b == b'*') {
        return Some((true, true));
    }
    let fields = pattern.split(':').count();
    if fields < 6 {
        let padded = format!("{pattern}{}", ":*".repeat(6 - fields));
        let (m, inv) = model_resource(&padded, resource, ctx, effect, not)?;
        return Some((m, m && inv));
    }
    if resource == "*" {
        // runUnsafeSimulation never marks an action as wildcard-only.
        return Some(match (effect, not) {
            (Effect::Allow, false) => (true, true),
            (Effect::Allow, true) => (false, true),
            (Effect::Deny, false) => (false, true),
            (Effect::Deny, true) => (true, true),
        });
    }
    if resource.contains('*') {
        return None;
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let r: Vec<&str> = resource.split(':').collect();
    if r.len() < 6 {
        return None;
    }
    for i in 1..=4 {
        if !segment_matches(p[i], r[i])? {
            return Some((false, true));
        }
    }
    let request_rest = r[5..].join(":");
    let product = product(p[2], p[3], p[4], p[5]);
    if !request_rest.starts_with(product) {
        return Some((false, true));
    }
    let Some(toks) = tokens(&p[5][product.len()..], ctx, true) else {
        return Some((false, false));
    };
    Some((glob(&toks, &request_rest[product.len()..], false), true))
}

/// The oracle's "product": the resource part up to its first `/` or `:`,
/// which must begin the request's resource part literally.
fn product<'a>(service: &str, region: &str, account: &str, rest: &'a str) -> &'a str {
    if service == "s3" && region.is_empty() && account.is_empty() {
        return "";
    }
    match rest.find(['/', ':']) {
        Some(i) => &rest[..=i],
        None => "",
    }
}

/// Partition, service, region and account: a case-insensitive glob, no
/// variables (a `${` there never matches).
fn segment_matches(pattern: &str, value: &str) -> Option<bool> {
    if pattern.contains("${") {
        return Some(false);
    }
    if pattern.chars().any(|c| ".+^${}()|[]\\".contains(c)) {
        return None;
    }
    let toks: Vec<Tok> = pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect();
    Some(glob(&toks, value, true))
}

fn resource_fix(pi: usize, si: usize, s: &Statement, req: &Request, ctx: &Context) -> Option<Fix> {
    let (not, patterns) = match &s.resource {
        Some(Either::Is(r)) => (false, r),
        Some(Either::Not(r)) => (true, r),
        None => return None,
    };
    let mut ours_any = false;
    let mut model_contrib = Vec::new();
    let mut reasons: Vec<&'static str> = Vec::new();
    let mut unknown = false;
    for p in patterns {
        let ours = eval::resource_matches(p, &req.resource, ctx);
        ours_any |= ours;
        let Some((m, inv)) = model_resource(p, &req.resource, ctx, s.effect, not) else {
            unknown = true;
            continue;
        };
        // What the pattern contributes: Resource, any match; NotResource, every pattern an invertible mismatch.
        let (ours_c, model_c) = if not { (!ours, !m && inv) } else { (ours, m) };
        model_contrib.push(model_c);
        if ours_c != model_c {
            reasons.push(resource_reason(p, &req.resource, not, m, inv));
        }
    }
    let ours = if not { !ours_any } else { ours_any };
    let model = if not {
        model_contrib.iter().all(|&c| c)
    } else {
        model_contrib.iter().any(|&c| c)
    };
    if unknown || ours == model {
        return None;
    }
    reasons.sort();
    reasons.dedup();
    if reasons.contains(&"") {
        reasons.clear();
    }
    Some(Fix {
        policy: pi,
        target: Target::Resource { statement: si },
        reasons,
        model,
        describe: format!(
            "policy {pi} statement {si} {}{:?} on {}: roleguard {ours}, oracle model {model}",
            if not { "NotResource " } else { "Resource " },
            patterns,
            req.resource
        ),
    })
}

/// Why one pattern differs ("" when no known difference explains it).
fn resource_reason(pattern: &str, resource: &str, not: bool, _m: bool, inv: bool) -> &'static str {
    if resource == "*" {
        return "star-request-specific-resource";
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    if p.len() < 6 {
        return if not && !inv {
            "notresource-short-arn"
        } else {
            ""
        };
    }
    let prod_end = p[5].find(['/', ':']);
    let s3 = p[2] == "s3" && p[3].is_empty() && p[4].is_empty();
    if let Some(i) = prod_end {
        let head = &p[5][..i];
        if !s3 && (head.contains(['*', '?']) || head.contains("${")) {
            return "resource-type-wildcard";
        }
    }
    if not && !inv && pattern.contains("${") {
        return "notresource-unresolved-variable";
    }
    ""
}

// ------------------------------------------------------------------ conditions

fn condition_fix(pi: usize, si: usize, ci: usize, c: &Condition, ctx: &Context) -> Option<Fix> {
    let ours = condition::holds(c, ctx);
    let model = model_condition(c, ctx);
    if model == Some(ours) {
        return None;
    }
    let reasons = model.and(condition_reason(c, ctx)).into_iter().collect();
    Some(Fix {
        policy: pi,
        target: Target::Condition {
            statement: si,
            condition: ci,
        },
        reasons,
        model: model.unwrap_or(!ours),
        describe: format!(
            "policy {pi} statement {si} condition {}{}{}{{{:?}: {:?}}} with {:?}: roleguard {ours}, oracle model {}",
            match c.qualifier {
                Some(SetQualifier::ForAnyValue) => "ForAnyValue:",
                Some(SetQualifier::ForAllValues) => "ForAllValues:",
                None => "",
            },
            c.operator,
            if c.if_exists { "IfExists" } else { "" },
            c.key,
            c.values,
            ctx.get(&c.key),
            model.map_or("unknown".to_string(), |m| m.to_string()),
        ),
    })
}

/// Why a condition differs, by its features.
fn condition_reason(c: &Condition, ctx: &Context) -> Option<&'static str> {
    let value = ctx.get(&c.key);
    let (op, negated) = condition::parse_op(&c.operator)?;
    if op == Op::Null {
        return None;
    }
    if c.qualifier.is_none() && matches!(value, Some(Values::Many(_))) {
        return Some("multivalued-without-set-operator");
    }
    if c.qualifier == Some(SetQualifier::ForAnyValue) && c.if_exists && value.is_none() {
        return Some("foranyvalue-ifexists");
    }
    let request: Vec<&str> = match value {
        None => vec![],
        Some(Values::One(v)) => vec![v.as_str()],
        Some(Values::Many(v)) => v.iter().map(String::as_str).collect(),
    };
    let family = family(op);
    let variables = matches!(family, Family::String | Family::Arn);
    if variables && c.values.iter().any(|v| empty_variable(v, ctx)) {
        return Some("empty-variable-value");
    }
    if negated && variables && c.values.iter().any(|v| tokens(v, ctx, true).is_none()) {
        return Some("negated-unresolved-variable");
    }
    if family == Family::String
        && op != Op::StringLike
        && c.values
            .iter()
            .any(|v| ["${*}", "${?}", "${$}"].iter().any(|x| v.contains(x)))
    {
        return Some("special-variable-in-equals");
    }
    if family == Family::Arn
        && c.values.iter().any(|v| {
            v.bytes().all(|b| b == b'*' || b == b'?')
                || v.splitn(6, ':').take(5).any(|f| f.contains("${"))
        })
    {
        return Some("arn-operator-odd-value");
    }
    if family == Family::Date {
        let epoch = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let all: Vec<&str> = c
            .values
            .iter()
            .map(String::as_str)
            .chain(request.iter().copied())
            .collect();
        let parsed: Vec<&str> = all
            .iter()
            .copied()
            .filter(|s| condition::parse_date(s).is_some())
            .collect();
        if parsed.iter().any(|s| epoch(s)) && parsed.iter().any(|s| !epoch(s)) {
            return Some("date-epoch-vs-iso");
        }
    }
    if family == Family::Ip
        && c.values
            .iter()
            .any(|v| v.contains('.') && v.ends_with("/0"))
    {
        return Some("ipv4-slash-zero");
    }
    if family == Family::Numeric {
        let strict = |s: &str| s.parse::<f64>().is_ok() && !s.contains(['e', 'E', 'i', 'n', 'N']);
        let lenient = |s: &str| !strict(s) && js_number(s).is_some();
        if c.values.iter().any(|v| lenient(v)) || request.iter().any(|v| lenient(v)) {
            return Some("numeric-lenient-parse");
        }
    }
    if negated {
        let ok = |s: &str| match family {
            Family::Numeric => js_number(s).is_some(),
            Family::Date => js_date(s).is_some_and(|d| d.is_some()),
            Family::Ip => {
                s.parse::<std::net::IpAddr>().is_ok()
                    || s.split_once('/')
                        .is_some_and(|(a, _)| a.parse::<std::net::IpAddr>().is_ok())
            }
            Family::Arn => s.split(':').count() >= 6,
            _ => true,
        };
        if c.values.iter().any(|v| !ok(v)) || request.iter().any(|v| !ok(v)) {
            return Some("negated-uncomparable-value");
        }
        // IPv4 against IPv6 and the reverse, under NotIpAddress.
        if family == Family::Ip {
            return Some("negated-uncomparable-value");
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

fn family(op: Op) -> Family {
    use Op::*;
    match op {
        StringEquals | StringEqualsIgnoreCase | StringLike => Family::String,
        NumericEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => Family::Numeric,
        DateEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => Family::Date,
        Bool => Family::Bool,
        BinaryEquals => Family::Binary,
        IpAddress => Family::Ip,
        ArnLike => Family::Arn,
        Null => Family::Null,
    }
}

/// How the oracle evaluates one condition (`None` where the model does
/// not know).
pub fn model_condition(c: &Condition, ctx: &Context) -> Option<bool> {
    let value = ctx.get(&c.key);
    let (op, negated) = condition::parse_op(&c.operator)?;
    if op == Op::Null {
        let goal = if value.is_some() { "false" } else { "true" };
        return Some(c.values.iter().any(|v| v.to_ascii_lowercase() == goal));
    }
    let one = |r: &str| model_operator(op, negated, &c.operator, &c.values, r, ctx);
    match c.qualifier {
        Some(SetQualifier::ForAnyValue) => match value {
            None => Some(false),
            Some(Values::One(v)) => one(v),
            Some(Values::Many(vs)) => {
                let mut any = false;
                for v in vs {
                    any |= one(v)?;
                }
                Some(any)
            }
        },
        Some(SetQualifier::ForAllValues) => match value {
            None => Some(true),
            Some(Values::One(v)) => one(v),
            Some(Values::Many(vs)) => {
                let mut all = true;
                for v in vs {
                    all &= one(v)?;
                }
                Some(all)
            }
        },
        None => match value {
            None => Some(c.if_exists || c.operator.to_ascii_lowercase().contains("not")),
            Some(Values::Many(_)) => Some(false),
            Some(Values::One(v)) => one(v),
        },
    }
}

/// One request value against the policy values, as the oracle's operator
/// (positive or negated) decides it.
fn model_operator(
    op: Op,
    negated: bool,
    name: &str,
    values: &[String],
    r: &str,
    ctx: &Context,
) -> Option<bool> {
    // Each policy value's verdict under the operator as named (a negated
    // operator's verdict is "differs"); invalid values are false either way.
    let mut verdicts = Vec::with_capacity(values.len());
    for p in values {
        let v: Option<bool> = match family(op) {
            Family::String => {
                let like = op == Op::StringLike;
                match tokens(p, ctx, like) {
                    None => Some(false),
                    Some(t) => {
                        let ci = op == Op::StringEqualsIgnoreCase;
                        if ci
                            && !(r.is_ascii()
                                && t.iter().all(|t| !matches!(t, Tok::Lit(c) if !c.is_ascii())))
                        {
                            None
                        } else {
                            Some(glob(&t, r, ci) != negated)
                        }
                    }
                }
            }
            Family::Numeric => match (js_number(p), js_number(r)) {
                (Some(pn), Some(rn)) => Some(compare(op, rn.partial_cmp(&pn)) != negated),
                _ => Some(false),
            },
            Family::Date => match (js_date(p)?, js_date(r)?) {
                (Some(pd), Some(rd)) => Some(compare(op, rd.partial_cmp(&pd)) != negated),
                _ => Some(false),
            },
            Family::Bool => {
                let resolved = tokens(p, ctx, false).map(|t| {
                    t.iter()
                        .map(|t| match t {
                            Tok::Lit(c) => *c,
                            Tok::Any => '*',
                            Tok::One => '?',
                        })
                        .collect::<String>()
                });
                Some(match resolved {
                    None => false,
                    Some(pv) => {
                        let pl = pv.to_ascii_lowercase();
                        let rl = r.to_ascii_lowercase();
                        (pl == "true" || pl == "false")
                            && (rl == "true" || rl == "false")
                            && pl == rl
                    }
                })
            }
            Family::Binary => Some(p == r),
            Family::Ip => ip_check(p, r, !negated),
            Family::Arn => Some(arn_matches(p, r, ctx, !negated)),
            Family::Null => None,
        };
        verdicts.push(v?);
    }
    let _ = name;
    Some(if negated {
        verdicts.iter().all(|&v| v)
    } else {
        verdicts.iter().any(|&v| v)
    })
}

fn compare(op: Op, o: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    use Op::*;
    matches!(
        (op, o),
        (NumericEquals | DateEquals, Some(Equal))
            | (NumericLessThan | DateLessThan, Some(Less))
            | (
                NumericLessThanEquals | DateLessThanEquals,
                Some(Less | Equal)
            )
            | (NumericGreaterThan | DateGreaterThan, Some(Greater))
            | (
                NumericGreaterThanEquals | DateGreaterThanEquals,
                Some(Greater | Equal)
            )
    )
}

/// `parseFloat` when the text has a `.`, else `parseInt(text, 10)`.
fn js_number(s: &str) -> Option<f64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']);
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    let digits = |x: &str| x.bytes().take_while(u8::is_ascii_digit).count();
    if s.contains('.') {
        if body.starts_with("Infinity") {
            return Some(sign * f64::INFINITY);
        }
        let int = digits(body);
        let mut end = int;
        let b = body.as_bytes();
        if b.get(end) == Some(&b'.') {
            let frac = digits(&body[end + 1..]);
            if int == 0 && frac == 0 {
                return None;
            }
            end += 1 + frac;
        } else if int == 0 {
            return None;
        }
        if matches!(b.get(end), Some(b'e' | b'E')) {
            let mut e = end + 1;
            if matches!(b.get(e), Some(b'+' | b'-')) {
                e += 1;
            }
            let ed = digits(&body[e..]);
            if ed > 0 {
                end = e + ed;
            }
        }
        body[..end].parse::<f64>().ok().map(|v| sign * v)
    } else {
        let n = digits(body);
        if n == 0 {
            return None;
        }
        body[..n].parse::<f64>().ok().map(|v| sign * v)
    }
}

/// The oracle's date: a canonical integer is used as it is (seconds), an
/// ISO 8601 text becomes milliseconds. `Some(None)` for a text that is no
/// date; `None` where the model does not know what V8's `Date.parse` says.
fn js_date(s: &str) -> Option<Option<f64>> {
    let canonical_int = {
        let d = s.strip_prefix('-').unwrap_or(s);
        !d.is_empty()
            && d.bytes().all(|b| b.is_ascii_digit())
            && (d == "0" || !d.starts_with('0'))
            && d.len() < 16
    };
    if canonical_int {
        return Some(s.parse::<f64>().ok());
    }
    // Texts with no digit, and those checked with V8, are no date.
    if !s.bytes().any(|b| b.is_ascii_digit()) || ["10.0.0.300"].contains(&s) {
        return Some(None);
    }
    // Only the ISO forms the generator writes: YYYY-MM-DD, or with
    // THH:MM:SS, an optional .fff (1-3 digits) and Z or +HH:MM.
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let mut ms = days as f64 * 86_400_000.0;
    if b.len() == 10 {
        return Some(Some(ms));
    }
    if b.get(10) != Some(&b'T') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    ms += ((h * 3600 + mi * 60 + sec) * 1000) as f64;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let n = s[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=3).contains(&n) {
            return None;
        }
        let frac: f64 = format!("0.{}", &s[i + 1..i + 1 + n]).parse().ok()?;
        ms += (frac * 1000.0).round();
        i += 1 + n;
    }
    match b.get(i) {
        None => Some(Some(ms)),
        Some(b'Z') if i + 1 == b.len() => Some(Some(ms)),
        Some(&sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let off = ((num(i + 1, 2)? * 60 + num(i + 4, 2)?) * 60_000) as f64;
            Some(Some(if sign == b'+' { ms - off } else { ms + off }))
        }
        _ => None,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The oracle's IP check of one policy value (`expect` true for
/// IpAddress, false for NotIpAddress).
fn ip_check(p: &str, r: &str, expect: bool) -> Option<bool> {
    use std::net::Ipv6Addr;
    let v4 = |s: &str| -> Option<u32> {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut n = 0u32;
        for x in parts {
            if x.is_empty()
                || x.len() > 3
                || !x.bytes().all(|b| b.is_ascii_digit())
                || (x.len() > 1 && x.starts_with('0'))
            {
                return None;
            }
            let v: u32 = x.parse().ok()?;
            if v > 255 {
                return None;
            }
            n = (n << 8) | v;
        }
        Some(n)
    };
    let v6 = |s: &str| -> Option<u128> {
        if s.contains('%') || s.contains('.') {
            return None;
        }
        s.parse::<Ipv6Addr>().ok().map(u128::from)
    };
    let cidr4 = |s: &str| -> Option<(u32, u32)> {
        let (a, b) = s.split_once('/')?;
        let ok = !b.is_empty()
            && b.len() <= 2
            && b.bytes().all(|c| c.is_ascii_digit())
            && (b.len() == 1 || !b.starts_with('0'));
        let bits: u32 = b.parse().ok().filter(|&n| ok && n <= 32)?;
        Some((v4(a)?, bits))
    };
    if let Some((net, bits)) = cidr4(p) {
        if v6(r).is_some() {
            return Some(!expect);
        }
        let Some(a) = v4(r) else { return Some(false) };
        // JavaScript shifts by the count modulo 32: a /0 mask is all ones.
        let shift = (32 - bits) % 32;
        let mask = if shift == 0 {
            u32::MAX
        } else {
            u32::MAX << shift
        };
        return Some(((a & mask) == (net & mask)) == expect);
    }
    if v4(p).is_some() {
        return Some(v4(r).is_some() && ((p == r) == expect));
    }
    if let Some((a, b)) = p.split_once('/') {
        if !b.contains('/') {
            if let Some(net) = v6(a) {
                let bits = js_number(b).filter(|n| (0.0..=128.0).contains(n));
                if let Some(bits) = bits {
                    let bits = bits as u32;
                    if v4(r).is_some() {
                        return Some(!expect);
                    }
                    let Some(addr) = v6(r) else {
                        return Some(false);
                    };
                    let mask = if bits == 0 {
                        0
                    } else {
                        u128::MAX << (128 - bits)
                    };
                    return Some(((addr & mask) == (net & mask)) == expect);
                }
            }
        }
    }
    if v6(p).is_some() {
        return Some(v6(r).is_some() && ((p == r) == expect));
    }
    Some(false)
}

/// The oracle's ARN operators: colon-separated fields, the first ignored,
/// each a case-sensitive glob with variables, the rest after the fifth
/// colon as one; a value of fewer than five fields never matches.
fn arn_matches(p: &str, r: &str, ctx: &Context, expect: bool) -> bool {
    let pp: Vec<&str> = p.split(':').collect();
    let rp: Vec<&str> = r.split(':').collect();
    if pp.len() < 5 || rp.len() < 5 {
        return false;
    }
    let prest = if pp.len() > 5 {
        pp[5..].join(":")
    } else {
        String::new()
    };
    let rrest = if rp.len() > 5 {
        rp[5..].join(":")
    } else {
        String::new()
    };
    let pairs = [
        (pp[1], rp[1]),
        (pp[2], rp[2]),
        (pp[3], rp[3]),
        (pp[4], rp[4]),
        (prest.as_str(), rrest.as_str()),
    ];
    let mut matches = true;
    for (pf, rf) in pairs {
        match tokens(pf, ctx, true) {
            None => return false, // an unresolvable variable: never
            Some(t) => {
                if !glob(&t, rf, false) {
                    matches = false;
                    break;
                }
            }
        }
    }
    matches == expect
}

// ------------------------------------------------------------------ strings

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Any,
    One,
    Lit(char),
}

/// Does the policy string hold a variable whose request value is the empty
/// string? (The oracle takes an empty value for no value: JavaScript
/// reads `""` as false.)
fn empty_variable(value: &str, ctx: &Context) -> bool {
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return false;
        };
        let name = after[..end].split(", ").next().unwrap_or_default().trim();
        if matches!(ctx.get(name), Some(Values::One(v)) if v.is_empty()) {
            return true;
        }
        rest = &after[end + 1..];
    }
    false
}

/// The oracle's reading of a policy string: wildcards (when `like`),
/// variables resolved (a non-empty single value, else a non-empty default,
/// else unresolvable: `None`), `${*}` `${?}` `${$}` as literal characters
/// when `like` and as their own text otherwise.
fn tokens(value: &str, ctx: &Context, like: bool) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '*' || c == '?' {
            out.push(if !like {
                Tok::Lit(c)
            } else if c == '*' {
                Tok::Any
            } else {
                Tok::One
            });
            i += 1;
        } else if c == '$' && chars.get(i + 1) == Some(&'{') {
            let Some(end) = chars[i + 2..]
                .iter()
                .position(|&x| x == '}')
                .map(|j| i + 2 + j)
            else {
                out.push(Tok::Lit('$'));
                i += 1;
                continue;
            };
            let inner: String = chars[i + 2..end].iter().collect();
            match inner.as_str() {
                "*" | "?" | "$" if like => out.push(Tok::Lit(inner.chars().next().unwrap())),
                "*" | "?" | "$" => out.extend(chars[i..=end].iter().map(|&c| Tok::Lit(c))),
                _ => {
                    let parts: Vec<&str> = inner.split(", ").collect();
                    let default = (parts.len() == 2
                        && parts[1].starts_with('\'')
                        && parts[1].ends_with('\'')
                        && parts[1].len() >= 2)
                        .then(|| &parts[1][1..parts[1].len() - 1]);
                    let name = parts[0].trim();
                    let v = match ctx.get(name) {
                        Some(Values::One(v)) if !v.is_empty() => v.as_str(),
                        _ => match default {
                            Some(d) if !d.is_empty() => d,
                            _ => return None,
                        },
                    };
                    out.extend(v.chars().map(Tok::Lit));
                }
            }
            i = end + 1;
        } else {
            out.push(Tok::Lit(c));
            i += 1;
        }
    }
    Some(out)
}

/// Glob match of tokens against the whole text.
fn glob(toks: &[Tok], text: &str, ignore_case: bool) -> bool {
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < toks.len() && toks[pi] == Tok::Any {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < toks.len()
            && (toks[pi] == Tok::One || matches!(toks[pi], Tok::Lit(c) if eq(c, t[ti])))
        {
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
    toks[pi..].iter().all(|&t| t == Tok::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_numbers_and_dates() {
        assert_eq!(js_number("10"), Some(10.0));
        assert_eq!(js_number("10.1.2.3"), Some(10.1));
        assert_eq!(js_number("1.5"), Some(1.5));
        assert_eq!(js_number("-5"), Some(-5.0));
        assert_eq!(js_number("abc"), None);
        assert_eq!(js_number("2001:db8::1"), Some(2001.0));
        assert_eq!(js_date("1700000000"), Some(Some(1_700_000_000.0)));
        assert_eq!(
            js_date("2023-11-14T22:13:20Z"),
            Some(Some(1_700_000_000_000.0))
        );
        assert_eq!(
            js_date("2026-06-01T14:00:00+02:00"),
            Some(Some(1_780_315_200_000.0))
        );
        assert_eq!(
            js_date("2026-06-01T12:00:00.500Z"),
            Some(Some(1_780_315_200_500.0))
        );
        assert_eq!(js_date("2026-06-01"), Some(Some(1_780_272_000_000.0)));
        assert_eq!(js_date("not-a-date"), Some(None));
        assert_eq!(js_date("us-east-1"), None);
    }

    #[test]
    fn ips() {
        assert_eq!(ip_check("0.0.0.0/0", "1.2.3.4", true), Some(false));
        assert_eq!(ip_check("0.0.0.0/0", "0.0.0.0", true), Some(true));
        assert_eq!(ip_check("10.0.0.0/8", "10.1.2.3", true), Some(true));
        assert_eq!(ip_check("10.0.0.0/8", "2001:db8::1", false), Some(true));
        assert_eq!(ip_check("2001:db8::/32", "2001:db8::1", true), Some(true));
        assert_eq!(ip_check("2001:db8::1", "10.0.0.1", false), Some(false));
        assert_eq!(ip_check("garbage", "10.0.0.1", false), Some(false));
    }
}
