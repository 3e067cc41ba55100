//! The IAM policy language: parse permission and trust policies into a typed
//! model, with errors that say what is wrong and where.
//!
//! A document may arrive as JSON, as a JSON string holding JSON (CloudTrail's
//! `requestParameters`), or URL-encoded (`%7B%22Version...`, as the IAM API
//! returns it). [`Policy::parse`] accepts all three.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};
use std::fmt;

/// The largest document roleguard will parse, white space included: the
/// same as EventBridge's limit on a whole event. IAM's own limits count
/// characters without white space (10,240 for an inline role policy, 6,144
/// for a managed policy); pretty-printed AWS managed policies reach 175 KB.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why a document could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the document is empty")]
    Empty,
    #[error("the document is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("the document is URL-encoded but does not decode to UTF-8 text")]
    BadEncoding,
    #[error("not valid JSON: {message} at line {line}, column {column}")]
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
}

fn invalid(path: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        path: path.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// An element that may be written positively or in its `Not` form
/// (`Action`/`NotAction`, `Resource`/`NotResource`, `Principal`/`NotPrincipal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Either<T> {
    Is(T),
    Not(T),
}

impl<T> Either<T> {
    pub fn value(&self) -> &T {
        match self {
            Either::Is(v) | Either::Not(v) => v,
        }
    }
    pub fn is_not(&self) -> bool {
        matches!(self, Either::Not(_))
    }
}

/// The kinds of principal a policy can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }
}

/// `Principal: "*"` or a map of kinds to values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    Any,
    Named(Vec<(PrincipalKind, String)>),
}

impl Principals {
    /// Every (kind, value) pair, with `Principal: "*"` given as AWS `*`,
    /// which is what IAM takes it to mean.
    pub fn entries(&self) -> impl Iterator<Item = (PrincipalKind, &str)> {
        let any = matches!(self, Principals::Any).then_some((PrincipalKind::Aws, "*"));
        let named = match self {
            Principals::Named(v) => v.as_slice(),
            Principals::Any => &[],
        };
        any.into_iter()
            .chain(named.iter().map(|(k, v)| (*k, v.as_str())))
    }
}

/// Set qualifier of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// One condition: operator, key and values, e.g.
/// `"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["team", "env"]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator without qualifier or `IfExists`: `StringLike`, `Bool`...
    pub operator: String,
    pub qualifier: Option<SetQualifier>,
    pub if_exists: bool,
    pub key: String,
    /// Values as text; booleans and numbers are written as IAM reads them.
    pub values: Vec<String>,
}

impl Condition {
    /// Is the operator a negated one (`StringNotEquals`, `ArnNotLike`...)?
    pub fn is_negated(&self) -> bool {
        self.operator.contains("Not") && self.operator != "Null"
    }
    /// Does the operator take wildcards in its values?
    pub fn is_like(&self) -> bool {
        self.operator.ends_with("Like")
    }
    pub fn key_is(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Position in the document's `Statement` list (0 for a lone object).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub action: Option<Either<Vec<String>>>,
    pub resource: Option<Either<Vec<String>>>,
    pub principal: Option<Either<Principals>>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// How the statement is named in messages: `Statement[2] "AllowAll"`.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("Statement[{}] \"{}\"", self.index, sid),
            _ => format!("Statement[{}]", self.index),
        }
    }
    pub fn condition(&self, key: &str) -> impl Iterator<Item = &Condition> {
        let key = key.to_owned();
        self.conditions.iter().filter(move |c| c.key_is(&key))
    }
    pub fn has_condition(&self, key: &str) -> bool {
        self.condition(key).next().is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parse a document given as JSON text, JSON-string-in-JSON, or URL-encoded.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_value(&decode(text)?)
    }

    /// Parse an already-decoded JSON value (an object, or a string holding one).
    pub fn from_value(value: &Value) -> Result<Policy, PolicyError> {
        match value {
            Value::String(inner) => Policy::parse(inner),
            Value::Object(map) => parse_policy(map),
            other => Err(invalid(
                "(document)",
                format!("expected a policy object, found {}", kind_of(other)),
            )),
        }
    }

    /// Does any statement name a principal? (Trust policies do; permission
    /// policies must not.)
    pub fn has_principals(&self) -> bool {
        self.statements.iter().any(|s| s.principal.is_some())
    }

    pub fn allows(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter().filter(|s| s.effect == Effect::Allow)
    }
}

/// Turn document text into a JSON value: URL-decoding it when it is
/// URL-encoded and unwrapping one level of JSON string.
pub fn decode(text: &str) -> Result<Value, PolicyError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(PolicyError::TooLarge {
            size: text.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(PolicyError::Empty);
    }
    let decoded;
    let json = if trimmed.starts_with('%') {
        decoded = percent_decode_str(trimmed)
            .decode_utf8()
            .map_err(|_| PolicyError::BadEncoding)?;
        decoded.trim()
    } else {
        trimmed
    };
    let value: Value = serde_json::from_str(json).map_err(|e| PolicyError::Json {
        message: json_message(&e),
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        // A JSON string holding the document: one level of unwrapping.
        Value::String(inner) => {
            let inner_trimmed = inner.trim();
            if inner_trimmed.starts_with('{') || inner_trimmed.starts_with('%') {
                decode(inner_trimmed)
            } else {
                Err(invalid(
                    "(document)",
                    "expected a policy object, found a string that is not a policy",
                ))
            }
        }
        v => Ok(v),
    }
}

fn json_message(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; we say that ourselves.
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    }
}

/// What a JSON value is, for a message: `a string`, `a list`.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn parse_policy(map: &Map<String, Value>) -> Result<Policy, PolicyError> {
    let mut version = None;
    let mut id = None;
    let mut statements = None;
    for (key, value) in map {
        match key.as_str() {
            "Version" => {
                let v = value.as_str().ok_or_else(|| {
                    invalid(
                        "Version",
                        format!("expected a string, found {}", kind_of(value)),
                    )
                })?;
                if v != "2012-10-17" && v != "2008-10-17" {
                    return Err(invalid(
                        "Version",
                        format!("unsupported version {v:?} (IAM accepts \"2012-10-17\" and \"2008-10-17\")"),
                    ));
                }
                version = Some(v.to_owned());
            }
            "Id" => id = Some(string(value, &|| "Id".into())?),
            "Statement" => {
                statements = Some(match value {
                    Value::Array(items) => items
                        .iter()
                        .enumerate()
                        .map(|(i, s)| parse_statement(s, i, &|| format!("Statement[{i}]")))
                        .collect::<Result<Vec<_>, _>>()?,
                    Value::Object(_) => vec![parse_statement(value, 0, &|| "Statement".into())?],
                    other => {
                        return Err(invalid(
                            "Statement",
                            format!(
                                "expected an object or a list of objects, found {}",
                                kind_of(other)
                            ),
                        ))
                    }
                });
            }
            other => {
                return Err(invalid(
                    other,
                    "unknown top-level element (expected Version, Id or Statement)",
                ))
            }
        }
    }
    let statements = statements.ok_or_else(|| invalid("Statement", "missing"))?;
    if statements.is_empty() {
        return Err(invalid("Statement", "the list is empty"));
    }
    Ok(Policy {
        version,
        id,
        statements,
    })
}

/// Error paths are built only when there is an error: parsing is on the
/// Lambda's hot path and most documents are valid.
type PathFn<'a> = &'a dyn Fn() -> String;

fn string(value: &Value, path: PathFn) -> Result<String, PolicyError> {
    value.as_str().map(str::to_owned).ok_or_else(|| {
        invalid(
            path(),
            format!("expected a string, found {}", kind_of(value)),
        )
    })
}

/// A string or a non-empty list of strings.
fn strings(value: &Value, path: PathFn) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(invalid(path(), "the list is empty"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| string(v, &|| format!("{}[{i}]", path())))
                .collect()
        }
        other => Err(invalid(
            path(),
            format!(
                "expected a string or a list of strings, found {}",
                kind_of(other)
            ),
        )),
    }
}

fn parse_statement(value: &Value, index: usize, path: PathFn) -> Result<Statement, PolicyError> {
    let map = value.as_object().ok_or_else(|| {
        invalid(
            path(),
            format!("expected a statement object, found {}", kind_of(value)),
        )
    })?;
    let mut sid = None;
    let mut effect = None;
    let mut action = None;
    let mut resource = None;
    let mut principal = None;
    let mut conditions = Vec::new();
    let both = |a: &str, b: &str| invalid(path(), format!("has both {a} and {b}"));
    for (key, v) in map {
        let here = || format!("{}.{key}", path());
        let here: PathFn = &here;
        match key.as_str() {
            "Sid" => sid = Some(string(v, here)?),
            "Effect" => {
                effect = Some(match v.as_str() {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    Some(other) => {
                        return Err(invalid(here(), format!("expected \"Allow\" or \"Deny\", found {other:?}")))
                    }
                    None => return Err(invalid(here(), format!("expected a string, found {}", kind_of(v)))),
                })
            }
            "Action" | "NotAction" => {
                if action.is_some() {
                    return Err(both("Action", "NotAction"));
                }
                let list = strings(v, here)?;
                for (i, a) in list.iter().enumerate() {
                    check_action(a, &|| format!("{}[{i}]", here()))?;
                }
                action = Some(if key == "Action" { Either::Is(list) } else { Either::Not(list) });
            }
            "Resource" | "NotResource" => {
                if resource.is_some() {
                    return Err(both("Resource", "NotResource"));
                }
                let list = strings(v, here)?;
                resource = Some(if key == "Resource" { Either::Is(list) } else { Either::Not(list) });
            }
            "Principal" | "NotPrincipal" => {
                if principal.is_some() {
                    return Err(both("Principal", "NotPrincipal"));
                }
                let p = parse_principal(v, here)?;
                principal = Some(if key == "Principal" { Either::Is(p) } else { Either::Not(p) });
            }
            "Condition" => conditions = parse_conditions(v, here)?,
            other => {
                return Err(invalid(
                    format!("{}.{other}", path()),
                    "unknown statement element (expected Sid, Effect, Action, NotAction, Resource, NotResource, Principal, NotPrincipal or Condition)",
                ))
            }
        }
    }
    let effect = effect.ok_or_else(|| invalid(format!("{}.Effect", path()), "missing"))?;
    if action.is_none() {
        return Err(invalid(path(), "has neither Action nor NotAction"));
    }
    Ok(Statement {
        index,
        sid,
        effect,
        action,
        resource,
        principal,
        conditions,
    })
}

fn check_action(action: &str, path: PathFn) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    match action.split_once(':') {
        Some((service, name)) if !service.is_empty() && !name.is_empty() && !name.contains(':') => Ok(()),
        _ => Err(invalid(
            path(),
            format!("{action:?} is not an action (expected \"service:Action\", wildcards allowed, or \"*\")"),
        )),
    }
}

fn parse_principal(value: &Value, path: PathFn) -> Result<Principals, PolicyError> {
    match value {
        Value::String(s) if s == "*" => Ok(Principals::Any),
        Value::Object(map) => {
            if map.is_empty() {
                return Err(invalid(path(), "names no principal"));
            }
            let mut out = Vec::new();
            for (key, v) in map {
                let kind = match key.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    other => {
                        return Err(invalid(
                            format!("{}.{other}", path()),
                            "unknown principal type (expected AWS, Service, Federated or CanonicalUser)",
                        ))
                    }
                };
                for s in strings(v, &|| format!("{}.{key}", path()))? {
                    out.push((kind, s));
                }
            }
            Ok(Principals::Named(out))
        }
        Value::String(s) => Err(invalid(
            path(),
            format!(
                "{s:?} is not a principal (expected \"*\" or an object such as {{\"AWS\": ...}})"
            ),
        )),
        other => Err(invalid(
            path(),
            format!("expected \"*\" or an object, found {}", kind_of(other)),
        )),
    }
}

fn parse_conditions(value: &Value, path: PathFn) -> Result<Vec<Condition>, PolicyError> {
    let map = value.as_object().ok_or_else(|| {
        invalid(
            path(),
            format!("expected an object, found {}", kind_of(value)),
        )
    })?;
    let mut out = Vec::new();
    for (op, block) in map {
        let here = || format!("{}.{op}", path());
        let (qualifier, rest) = if let Some(r) = strip_prefix_ci(op, "ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = strip_prefix_ci(op, "ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, op.as_str())
        };
        let (operator, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        if operator.is_empty() || !operator.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(here(), "is not a condition operator"));
        }
        let keys = block.as_object().ok_or_else(|| {
            invalid(
                here(),
                format!(
                    "expected an object of condition keys, found {}",
                    kind_of(block)
                ),
            )
        })?;
        for (key, v) in keys {
            let key_path = || format!("{}.{key}", here());
            let values = match v {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| scalar(x, &|| format!("{}[{i}]", key_path())))
                    .collect::<Result<Vec<_>, _>>()?,
                x => vec![scalar(x, &key_path)?],
            };
            out.push(Condition {
                operator: operator.to_owned(),
                qualifier,
                if_exists,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // `get` rather than indexing: the text may hold multi-byte characters.
    s.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

fn scalar(v: &Value, path: PathFn) -> Result<String, PolicyError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(invalid(
            path(),
            format!(
                "expected a string, boolean or number, found {}",
                kind_of(other)
            ),
        )),
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// Is this an AWS account id (12 digits)?
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

/// The account id in an AWS principal: a bare 12-digit id or an IAM/STS ARN.
/// `None` for `*`, unique ids (`AROA...`) and anything else.
pub fn principal_account(value: &str) -> Option<&str> {
    if is_account_id(value) {
        return Some(value);
    }
    let mut parts = value.splitn(6, ':');
    let (arn, _partition, service, _region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (arn == "arn" && (service == "iam" || service == "sts") && is_account_id(account))
        .then_some(account)
}

impl Policy {
    /// A permission policy names no principal, and every statement has
    /// Resource or NotResource (IAM refuses the document otherwise).
    pub fn validate_permissions(&self) -> Result<(), PolicyError> {
        for s in &self.statements {
            let at = format!("Statement[{}]", s.index);
            if s.principal.is_some() {
                return Err(invalid(
                    at,
                    "a permission policy names no Principal (is this a trust policy?)",
                ));
            }
            if s.resource.is_none() {
                return Err(invalid(at, "has neither Resource nor NotResource"));
            }
        }
        Ok(())
    }

    /// A trust policy names a principal in every statement and no resource.
    pub fn validate_trust(&self) -> Result<(), PolicyError> {
        for s in &self.statements {
            let at = format!("Statement[{}]", s.index);
            if s.principal.is_none() {
                return Err(invalid(
                    at,
                    "has neither Principal nor NotPrincipal (is this a permission policy?)",
                ));
            }
            if s.resource.is_some() {
                return Err(invalid(at, "a trust policy has no Resource"));
            }
        }
        Ok(())
    }
}

/// A role ARN's account and name: `arn:aws:iam::111122223333:role/path/name`.
pub fn role_of_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, rest] if is_account_id(account) => {
            let path = rest.strip_prefix("role/")?;
            let name = path.rsplit('/').next()?;
            (!name.is_empty()).then_some((*account, name))
        }
        _ => None,
    }
}

/// The path IAM gives service-linked roles.
pub fn is_service_linked_path(path: &str) -> bool {
    path.starts_with("/aws-service-role/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Policy::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn full_grammar() {
        let p = Policy::parse(
            r#"{"Version":"2012-10-17","Id":"x","Statement":[
              {"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*","arn:aws:s3:::c/*"]},
              {"Effect":"Deny","NotAction":["iam:*"],"NotResource":"arn:aws:iam::*:role/x",
               "Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a","b"]},"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:max-keys":10}}},
              {"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},
              {"Effect":"Allow","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root","444455556666"],"Service":"lambda.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df9"},"Action":"sts:AssumeRole"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(p.statements.len(), 4);
        let s0 = &p.statements[0];
        assert_eq!(s0.sid.as_deref(), Some("A"));
        assert_eq!(
            s0.resource,
            Some(Either::Is(vec![
                "arn:aws:s3:::b/*".into(),
                "arn:aws:s3:::c/*".into()
            ]))
        );
        let s1 = &p.statements[1];
        assert_eq!(s1.effect, Effect::Deny);
        assert!(s1.action.as_ref().unwrap().is_not());
        assert!(s1.resource.as_ref().unwrap().is_not());
        let c = &s1.conditions;
        assert_eq!(c.len(), 3);
        let tag = c.iter().find(|c| c.key == "aws:TagKeys").unwrap();
        assert_eq!(tag.operator, "StringLike");
        assert_eq!(tag.qualifier, Some(SetQualifier::ForAnyValue));
        assert!(tag.if_exists);
        assert_eq!(tag.values, vec!["a", "b"]);
        assert_eq!(
            c.iter().find(|c| c.operator == "Bool").unwrap().values,
            vec!["false"]
        );
        assert_eq!(
            c.iter()
                .find(|c| c.operator == "NumericLessThan")
                .unwrap()
                .values,
            vec!["10"]
        );
        assert_eq!(p.statements[2].principal, Some(Either::Is(Principals::Any)));
        let Some(Either::Not(Principals::Named(named))) = &p.statements[3].principal else {
            panic!("NotPrincipal expected")
        };
        assert_eq!(named.len(), 5);
        assert!(named.contains(&(PrincipalKind::CanonicalUser, "79a59df9".into())));
    }

    #[test]
    fn statement_object_and_old_version() {
        let p = Policy::parse(r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#).unwrap();
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.version.as_deref(), Some("2008-10-17"));
        assert_eq!(p.statements[0].label(), "Statement[0]");
    }

    #[test]
    fn encodings() {
        let plain = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let want = Policy::parse(plain).unwrap();
        let as_string = serde_json::to_string(plain).unwrap();
        assert_eq!(Policy::parse(&as_string).unwrap(), want);
        let encoded: String =
            percent_encoding::utf8_percent_encode(plain, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert!(encoded.starts_with("%7B"));
        assert_eq!(Policy::parse(&encoded).unwrap(), want);
        let encoded_in_string = serde_json::to_string(&encoded).unwrap();
        assert_eq!(Policy::parse(&encoded_in_string).unwrap(), want);
        assert_eq!(
            Policy::from_value(&Value::String(plain.into())).unwrap(),
            want
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(err(""), "the document is empty");
        assert!(
            err("{\"Statement\": [").starts_with("not valid JSON: EOF while parsing"),
            "{}",
            err("{\"Statement\": [")
        );
        assert_eq!(
            err("[1]"),
            "(document): expected a policy object, found a list"
        );
        assert_eq!(err(r#"{"Version":"2012-10-17"}"#), "Statement: missing");
        assert_eq!(err(r#"{"Statement":[]}"#), "Statement: the list is empty");
        assert_eq!(
            err(r#"{"Version":"2020-01-01","Statement":[]}"#),
            "Version: unsupported version \"2020-01-01\" (IAM accepts \"2012-10-17\" and \"2008-10-17\")"
        );
        assert_eq!(
            err(
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":5}]}"#
            ),
            "Statement[1].Action: expected a string or a list of strings, found a number"
        );
        assert_eq!(
            err(r#"{"Statement":[{"Effect":"Permit","Action":"s3:*"}]}"#),
            "Statement[0].Effect: expected \"Allow\" or \"Deny\", found \"Permit\""
        );
        assert_eq!(
            err(r#"{"Statement":[{"Action":"s3:*"}]}"#),
            "Statement[0].Effect: missing"
        );
        assert_eq!(
            err(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*"}]}"#),
            "Statement[0]: has both Action and NotAction"
        );
        assert_eq!(
            err(r#"{"Statement":[{"Effect":"Allow","Action":["s3:Get*","GetObject"]}]}"#),
            "Statement[0].Action[1]: \"GetObject\" is not an action (expected \"service:Action\", wildcards allowed, or \"*\")"
        );
        assert_eq!(
            err(r#"{"Statement":[{"Effect":"Allow","Principal":{"Aws":"*"},"Action":"sts:AssumeRole"}]}"#),
            "Statement[0].Principal.Aws: unknown principal type (expected AWS, Service, Federated or CanonicalUser)"
        );
        assert_eq!(
            err(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":null}}}]}"#),
            "Statement[0].Condition.StringEquals.aws:x: expected a string, boolean or number, found null"
        );
        assert_eq!(
            err(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resources":"*"}]}"#),
            "Statement[0].Resources: unknown statement element (expected Sid, Effect, Action, NotAction, Resource, NotResource, Principal, NotPrincipal or Condition)"
        );
        assert_eq!(
            err("%FF%FE"),
            "the document is URL-encoded but does not decode to UTF-8 text"
        );
        let big = format!("{{\"Statement\":\"{}\"}}", "x".repeat(MAX_DOCUMENT_BYTES));
        assert_eq!(
            err(&big),
            format!(
                "the document is {} bytes, over the 262144-byte limit",
                big.len()
            )
        );
    }

    #[test]
    fn accounts_in_principals() {
        assert_eq!(principal_account("111122223333"), Some("111122223333"));
        assert_eq!(
            principal_account("arn:aws:iam::111122223333:root"),
            Some("111122223333")
        );
        assert_eq!(
            principal_account("arn:aws-us-gov:sts::111122223333:assumed-role/r/s"),
            Some("111122223333")
        );
        assert_eq!(principal_account("*"), None);
        assert_eq!(principal_account("AROAEXAMPLEID"), None);
        assert_eq!(principal_account("arn:aws:s3:::bucket"), None);
    }
}
