//! CloudFormation and SAM templates: the IAM roles and policies a template
//! would create, resolved to the documents `roleguard check` judges, so a
//! stack can be linted before it is deployed (roleguard's own templates are,
//! in its tests).
//!
//! Intrinsic functions are resolved without an account: pseudo parameters
//! take stand-in values (the `--account`, or 123456789012), a parameter its
//! `Default` (or `<Name>` when it has none), a resource reference the ARN or
//! name CloudFormation would give it (`<Logical.Attr>` when the type is not
//! known here). Conditions are not evaluated: both branches of every
//! `Fn::If` are judged (within a list, each alternative is an element; two
//! strings or two lists become one list of both; branches that are objects
//! give one variant of the template each, see [`extract_variants`]), so a
//! template is judged at its most permissive. Stand-ins never contain a wildcard, so they read as specific
//! resources; a real wildcard in the template stays a wildcard.

use serde_json::{Map, Value as Json};
use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeMap;

/// CloudFormation's own limit for a template (uploaded through S3).
pub const MAX_TEMPLATE_BYTES: usize = 1024 * 1024;

/// The deepest nesting of YAML flow collections (`[...]`, `{...}`) that is
/// read at all. The YAML reader refuses more than 128 levels anyway, but
/// only after reading the whole text, and it reads deep flow nesting in
/// time that grows with the square of the depth (libyaml checks every open
/// level at every token: a template of `{` alone took 29 s at 64 KiB,
/// 109 s at 128 KiB, and would take hours at the 1 MiB limit).
pub const MAX_FLOW_NESTING: usize = 256;

/// The error for text nested deeper than [`MAX_FLOW_NESTING`].
pub(crate) fn too_deep() -> String {
    format!("flow collections ([ and {{) nested more than {MAX_FLOW_NESTING} levels deep")
}

/// How deep the text's flow collections (`[`, `{`) nest, before any YAML is
/// read: brackets in quoted scalars and comments are left out. Exact for
/// JSON; for YAML an estimate that errs towards deeper (a bracket inside a
/// plain or block scalar counts), which matters only past
/// [`MAX_FLOW_NESTING`]. It is a guard against nesting bombs, not a YAML
/// reader: a quote that is not one to YAML (`it's`) can put it out of step.
pub(crate) fn flow_nesting(text: &str) -> usize {
    #[derive(PartialEq)]
    enum In {
        Plain,
        Single,
        Double,
        Comment,
    }
    let mut state = In::Plain;
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut prev = b'\n';
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        match state {
            In::Plain => match b {
                // A quote starts a quoted scalar where a node may start.
                b'"' | b'\'' if b" \t\r\n[{,:".contains(&prev) => {
                    state = if b == b'"' { In::Double } else { In::Single };
                }
                b'#' if b" \t\r\n".contains(&prev) => state = In::Comment,
                b'[' | b'{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
            In::Double => match b {
                b'\\' => {
                    bytes.next();
                }
                b'"' => state = In::Plain,
                _ => {}
            },
            In::Single => {
                if b == b'\'' {
                    if bytes.peek() == Some(&b'\'') {
                        bytes.next();
                    } else {
                        state = In::Plain;
                    }
                }
            }
            In::Comment => {
                if b == b'\n' || b == b'\r' {
                    state = In::Plain;
                }
            }
        }
        prev = b;
    }
    deepest
}

/// The account pseudo parameters stand for when none is given.
pub const STAND_IN_ACCOUNT: &str = "123456789012";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("template is {size} bytes, over CloudFormation's {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not YAML or JSON: {0}")]
    Syntax(String),
    #[error("not a CloudFormation template: no `Resources` mapping")]
    NoResources,
    #[error("Resources.{resource}: {problem}")]
    Resource { resource: String, problem: String },
}

/// What one part of a template asks IAM for.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// A role's AssumeRolePolicyDocument.
    Trust(Json),
    /// A permission policy: a role's inline policy, or a managed or inline
    /// policy resource.
    Permissions(Json),
    /// A managed policy a role attaches by ARN (`ManagedPolicyArns`).
    Attachment(String),
    /// A role's settings: MaxSessionDuration and PermissionsBoundary.
    Settings {
        max_session_duration: Option<u32>,
        permissions_boundary: Option<String>,
    },
}

/// One part, with where it sits: `FunctionRole.Policies[remediate]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub label: String,
    pub part: Part,
    /// For a role's inline policy: the role's ARN and the managed policies
    /// it attaches (see [`crate::rules::Holder`]).
    pub holder: Option<(String, Vec<String>)>,
    /// The role the part belongs to: its logical id and ARN (a role's
    /// policies are judged together).
    pub role: Option<(String, String)>,
}

/// The template's IAM parts, in the order of its resources, and notes on
/// what it holds that roleguard does not judge.
#[derive(Debug, Default)]
pub struct Extraction {
    pub parts: Vec<Extracted>,
    pub notes: Vec<String>,
}

/// Does this text look like a CloudFormation template rather than a policy
/// or an event? (A mapping with `Resources`, and no `Statement`.)
pub fn looks_like_template(value: &Json) -> bool {
    value.get("Resources").is_some_and(Json::is_object) && value.get("Statement").is_none()
}

/// The IAM parts of a template (YAML or JSON).
pub fn extract(text: &str, account: Option<&str>) -> Result<Extraction, TemplateError> {
    extract_with(text, account, Branches::First).map(|(x, _)| x)
}

/// The template's IAM parts under every choice of `Fn::If` branches that
/// matters: conditions are not evaluated, so each If whose branches are
/// objects (or of different types) is judged both ways. Strings and lists
/// need no variants: both branches are already judged together.
pub fn extract_variants(
    text: &str,
    account: Option<&str>,
) -> Result<Vec<Extraction>, TemplateError> {
    let (first, ifs) = extract_with(text, account, Branches::First)?;
    let mut out = vec![first];
    if ifs == 0 {
        return Ok(out);
    }
    out.push(extract_with(text, account, Branches::Second)?.0);
    for i in 0..ifs.min(MAX_IF_VARIANTS) {
        out.push(extract_with(text, account, Branches::Flip(i))?.0);
    }
    Ok(out)
}

/// Templates with more Ifs than this are judged with each of the first ones
/// flipped alone (and all first, all second).
const MAX_IF_VARIANTS: usize = 32;

/// Which branch each object-valued `Fn::If` takes, by its order in the template.
#[derive(Debug, Clone, Copy)]
enum Branches {
    First,
    Second,
    /// The n-th takes its second branch, the others their first.
    Flip(usize),
}

fn extract_with(
    text: &str,
    account: Option<&str>,
    branches: Branches,
) -> Result<(Extraction, usize), TemplateError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::TooLarge {
            size: text.len(),
            limit: MAX_TEMPLATE_BYTES,
        });
    }
    if flow_nesting(text) > MAX_FLOW_NESTING {
        return Err(TemplateError::Syntax(too_deep()));
    }
    let doc: Yaml =
        serde_yaml_ng::from_str(text).map_err(|e| TemplateError::Syntax(e.to_string()))?;
    let Some(resources) = doc.get("Resources").and_then(Yaml::as_mapping) else {
        return Err(TemplateError::NoResources);
    };
    let mut r = Resolver {
        account: account.unwrap_or(STAND_IN_ACCOUNT).to_owned(),
        parameters: BTreeMap::new(),
        resources: BTreeMap::new(),
        branches,
        ifs: std::cell::Cell::new(0),
    };
    if let Some(params) = doc.get("Parameters").and_then(Yaml::as_mapping) {
        for (name, p) in params {
            let Some(name) = name.as_str() else { continue };
            let default = match p.get("Default") {
                Some(Yaml::String(s)) if !s.is_empty() => s.clone(),
                Some(Yaml::Number(n)) => n.to_string(),
                Some(Yaml::Bool(b)) => b.to_string(),
                _ => format!("<{name}>"),
            };
            r.parameters.insert(name.to_owned(), default);
        }
    }
    // Physical names first (they may use parameters), then references to them.
    let mut named = Vec::new();
    for (id, res) in resources {
        let Some(id) = id.as_str() else { continue };
        let ty = res.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let name = res
            .get("Properties")
            .and_then(|p| p.get(name_property(ty)?))
            .and_then(|n| r.resolve(n))
            .and_then(|n| n.as_str().map(str::to_owned));
        named.push((id.to_owned(), (ty.to_owned(), name)));
    }
    r.resources.extend(named);
    let mut out = Extraction::default();
    for (id, res) in resources {
        let Some(id) = id.as_str() else { continue };
        let ty = res.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let props = res.get("Properties");
        let prop = |key: &str| props.and_then(|p| p.get(key)).map(|v| r.resolve(v));
        let bad = |problem: String| TemplateError::Resource {
            resource: id.to_owned(),
            problem,
        };
        match ty {
            "AWS::IAM::Role" => {
                match prop("AssumeRolePolicyDocument") {
                    Some(Some(doc)) => out.parts.push(Extracted {
                        label: format!("{id}.AssumeRolePolicyDocument"),
                        part: Part::Trust(doc),
                        holder: None,
                        role: Some((id.to_owned(), r.reference(&format!("{id}.Arn")))),
                    }),
                    _ => return Err(bad("an IAM role needs an AssumeRolePolicyDocument".into())),
                }
                let attached = strings(prop("ManagedPolicyArns").flatten());
                let holder = (r.reference(&format!("{id}.Arn")), attached.clone());
                inline_policies(id, prop("Policies").flatten(), &holder, &mut out).map_err(bad)?;
                for arn in attached {
                    out.parts.push(Extracted {
                        label: format!("{id}.ManagedPolicyArns[{arn}]"),
                        part: Part::Attachment(arn),
                        holder: None,
                        role: Some((id.to_owned(), holder.0.clone())),
                    });
                }
                let max_session_duration = match prop("MaxSessionDuration").flatten() {
                    Some(Json::Number(n)) => n.as_u64().map(|n| n as u32),
                    Some(Json::String(s)) => s.parse().ok(),
                    _ => None,
                };
                let permissions_boundary = match prop("PermissionsBoundary").flatten() {
                    Some(Json::String(s)) => Some(s),
                    _ => None,
                };
                out.parts.push(Extracted {
                    label: format!("{id}.Properties"),
                    part: Part::Settings {
                        max_session_duration,
                        permissions_boundary,
                    },
                    holder: None,
                    role: Some((id.to_owned(), holder.0.clone())),
                });
            }
            "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" | "AWS::IAM::RolePolicy" => {
                match prop("PolicyDocument") {
                    Some(Some(doc)) => out.parts.push(Extracted {
                        label: format!("{id}.PolicyDocument"),
                        part: Part::Permissions(doc),
                        holder: None,
                        role: None,
                    }),
                    _ => return Err(bad(format!("{ty} needs a PolicyDocument"))),
                }
            }
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => {
                if props.and_then(|p| p.get("Role")).is_some() {
                    continue;
                }
                // SAM makes a role: its Policies are documents, managed
                // policy names or ARNs, or SAM policy templates.
                let mut note = false;
                let policies = match prop("Policies").flatten() {
                    Some(Json::Array(items)) => items,
                    Some(one) => vec![one],
                    None => vec![],
                };
                for (i, p) in policies.into_iter().enumerate() {
                    match p {
                        doc @ Json::Object(_) if doc.get("Statement").is_some() => {
                            out.parts.push(Extracted {
                                label: format!("{id}.Policies[{i}]"),
                                part: Part::Permissions(doc),
                                holder: None,
                                role: None,
                            })
                        }
                        Json::String(s) => {
                            let arn = if s.starts_with("arn:") {
                                s
                            } else {
                                crate::catalog::managed_policy(&s).map_or_else(
                                    || format!("arn:aws:iam::aws:policy/{s}"),
                                    |p| p.arn(),
                                )
                            };
                            out.parts.push(Extracted {
                                label: format!("{id}.Policies[{arn}]"),
                                part: Part::Attachment(arn),
                                holder: None,
                                role: None,
                            });
                        }
                        _ => note = true,
                    }
                }
                if note {
                    out.notes.push(format!(
                        "{id}: SAM policy templates are not judged; only policy documents and managed policies are"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok((out, r.ifs.get()))
}

/// A role's `Policies`: `[{PolicyName, PolicyDocument}]`.
fn inline_policies(
    id: &str,
    policies: Option<Json>,
    holder: &(String, Vec<String>),
    out: &mut Extraction,
) -> Result<(), String> {
    let items = match policies {
        None => return Ok(()),
        Some(Json::Array(items)) => items,
        Some(_) => return Err("Policies: expected a list".into()),
    };
    for (i, p) in items.into_iter().enumerate() {
        let name = p
            .get("PolicyName")
            .and_then(Json::as_str)
            .map_or_else(|| i.to_string(), str::to_owned);
        match p.get("PolicyDocument") {
            Some(doc) => out.parts.push(Extracted {
                label: format!("{id}.Policies[{name}]"),
                part: Part::Permissions(doc.clone()),
                holder: Some(holder.clone()),
                role: Some((id.to_owned(), holder.0.clone())),
            }),
            None => return Err(format!("Policies[{name}]: no PolicyDocument")),
        }
    }
    Ok(())
}

fn strings(v: Option<Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s],
        Some(Json::Array(items)) => items
            .into_iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// The property that names a resource, for the ARN a reference to it stands for.
fn name_property(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "AWS::IAM::Role" => "RoleName",
        "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
        "AWS::SNS::Topic" => "TopicName",
        "AWS::SQS::Queue" => "QueueName",
        "AWS::DynamoDB::Table" => "TableName",
        "AWS::Logs::LogGroup" => "LogGroupName",
        "AWS::Lambda::Function" | "AWS::Serverless::Function" => "FunctionName",
        "AWS::Events::EventBus" => "Name",
        "AWS::S3::Bucket" => "BucketName",
        _ => return None,
    })
}

struct Resolver {
    account: String,
    parameters: BTreeMap<String, String>,
    /// Logical id → (type, literal physical name if the template gives one).
    resources: BTreeMap<String, (String, Option<String>)>,
    branches: Branches,
    /// Object-valued Ifs met so far.
    ifs: std::cell::Cell<usize>,
}

const REGION: &str = "us-east-1";

impl Resolver {
    /// A reference: `Ref` of a name, or `GetAtt`'s `Logical.Attr`.
    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::AccountId" => return self.account.clone(),
            "AWS::Region" => return REGION.into(),
            "AWS::Partition" => return "aws".into(),
            "AWS::URLSuffix" => return "amazonaws.com".into(),
            "AWS::StackName" => return "stack".into(),
            "AWS::StackId" => {
                return format!(
                    "arn:aws:cloudformation:{REGION}:{}:stack/stack/id",
                    self.account
                )
            }
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return v.clone();
        }
        let (id, attr) = name.split_once('.').unwrap_or((name, ""));
        let Some((ty, physical)) = self.resources.get(id) else {
            return format!("<{name}>");
        };
        let n = physical.clone().unwrap_or_else(|| id.to_owned());
        let (a, r) = (&self.account, REGION);
        match (ty.as_str(), attr) {
            ("AWS::IAM::Role", "") | ("AWS::IAM::Role", "RoleId") => n,
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{a}:role/{n}"),
            ("AWS::IAM::ManagedPolicy", "") | ("AWS::IAM::ManagedPolicy", "PolicyArn") => {
                format!("arn:aws:iam::{a}:policy/{n}")
            }
            ("AWS::SNS::Topic", "") | ("AWS::SNS::Topic", "TopicArn") => {
                format!("arn:aws:sns:{r}:{a}:{n}")
            }
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{r}:{a}:{n}"),
            ("AWS::SQS::Queue", "") => format!("https://sqs.{r}.amazonaws.com/{a}/{n}"),
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:aws:dynamodb:{r}:{a}:table/{n}"),
            ("AWS::Logs::LogGroup", "Arn") => format!("arn:aws:logs:{r}:{a}:log-group:{n}:*"),
            ("AWS::Lambda::Function" | "AWS::Serverless::Function", "Arn") => {
                format!("arn:aws:lambda:{r}:{a}:function:{n}")
            }
            ("AWS::Events::EventBus", "Arn") => format!("arn:aws:events:{r}:{a}:event-bus/{n}"),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{n}"),
            ("AWS::KMS::Key", "Arn") => format!("arn:aws:kms:{r}:{a}:key/{n}"),
            (_, "") => n,
            _ => format!("<{name}>"),
        }
    }

    /// `Fn::Sub`'s text with its variables put in; `${!x}` is a literal `${x}`.
    fn substitute(&self, text: &str, vars: &Map<String, Json>) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&scalar(v));
            } else {
                out.push_str(&self.reference(name));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Resolve a value; `None` is `AWS::NoValue`.
    fn resolve(&self, v: &Yaml) -> Option<Json> {
        match v {
            Yaml::Null => Some(Json::Null),
            Yaml::Bool(b) => Some(Json::Bool(*b)),
            Yaml::Number(n) => Some(
                n.as_i64()
                    .map(Json::from)
                    .or_else(|| n.as_u64().map(Json::from))
                    .or_else(|| n.as_f64().map(Json::from))
                    .unwrap_or(Json::Null),
            ),
            Yaml::String(s) => Some(Json::String(s.clone())),
            Yaml::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    // Each branch of an If in a list is a possible element.
                    if let Some(branches) = if_branches(item) {
                        out.extend(branches.iter().filter_map(|b| self.resolve(b)));
                    } else if let Some(v) = self.resolve(item) {
                        out.push(v);
                    }
                }
                Some(Json::Array(out))
            }
            Yaml::Mapping(m) => {
                if m.len() == 1 {
                    if let Some((Yaml::String(k), arg)) = m.iter().next() {
                        if k == "Ref" || k.starts_with("Fn::") {
                            return self.function(k.strip_prefix("Fn::").unwrap_or(k), arg);
                        }
                    }
                }
                let mut out = Map::new();
                for (k, v) in m {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => scalar(&self.resolve(other).unwrap_or(Json::Null)),
                    };
                    if let Some(v) = self.resolve(v) {
                        out.insert(key, v);
                    }
                }
                Some(Json::Object(out))
            }
            Yaml::Tagged(t) => {
                let tag = t.tag.to_string();
                self.function(tag.trim_start_matches('!'), &t.value)
            }
        }
    }

    fn function(&self, name: &str, arg: &Yaml) -> Option<Json> {
        let s = |v: &str| Some(Json::String(v.to_owned()));
        match name {
            "Ref" => match arg.as_str()? {
                "AWS::NoValue" => None,
                r => s(&self.reference(r)),
            },
            "GetAtt" => {
                let target = match arg {
                    Yaml::String(t) => t.clone(),
                    Yaml::Sequence(p) => p
                        .iter()
                        .filter_map(|x| self.resolve(x).map(|v| scalar(&v)))
                        .collect::<Vec<_>>()
                        .join("."),
                    _ => return s("<GetAtt>"),
                };
                s(&self.reference(&target))
            }
            "Sub" => match arg {
                Yaml::String(t) => s(&self.substitute(t, &Map::new())),
                Yaml::Sequence(p) if !p.is_empty() => {
                    let vars = match p.get(1).and_then(|v| self.resolve(v)) {
                        Some(Json::Object(m)) => m,
                        _ => Map::new(),
                    };
                    let text = p.first().and_then(Yaml::as_str).unwrap_or_default();
                    s(&self.substitute(text, &vars))
                }
                _ => s("<Sub>"),
            },
            "Join" => {
                let p = arg.as_sequence()?;
                let sep = p.first().and_then(Yaml::as_str).unwrap_or_default();
                let parts = match p.get(1).and_then(|v| self.resolve(v)) {
                    Some(Json::Array(items)) => items.iter().map(scalar).collect::<Vec<_>>(),
                    _ => vec![],
                };
                s(&parts.join(sep))
            }
            "Select" => {
                let p = arg.as_sequence()?;
                let i = p.first().and_then(|v| self.resolve(v)).map(|v| scalar(&v));
                let i: usize = i.and_then(|i| i.parse().ok()).unwrap_or(0);
                match p.get(1).and_then(|v| self.resolve(v)) {
                    Some(Json::Array(items)) => items.get(i).cloned().or_else(|| s("<Select>")),
                    _ => s("<Select>"),
                }
            }
            "Split" => {
                let p = arg.as_sequence()?;
                let sep = p.first().and_then(Yaml::as_str).unwrap_or(",");
                let text = p
                    .get(1)
                    .and_then(|v| self.resolve(v))
                    .map(|v| scalar(&v))
                    .unwrap_or_default();
                Some(Json::Array(
                    text.split(sep)
                        .map(|x| Json::String(x.to_owned()))
                        .collect(),
                ))
            }
            "If" => {
                // Outside a list: both strings are possible, so both are judged.
                let branches: Vec<Json> = if_arms(arg)
                    .iter()
                    .filter_map(|b| self.resolve(b))
                    .collect();
                match branches.as_slice() {
                    [] => None,
                    [one] => Some(one.clone()),
                    [a, b] if a.is_string() && b.is_string() => Some(Json::Array(branches)),
                    [Json::Array(a), Json::Array(b)] => {
                        Some(Json::Array(a.iter().chain(b.iter()).cloned().collect()))
                    }
                    [a, b, ..] => {
                        // Objects: one variant of the template per branch.
                        let n = self.ifs.get();
                        self.ifs.set(n + 1);
                        let second = match self.branches {
                            Branches::First => false,
                            Branches::Second => true,
                            Branches::Flip(i) => i == n,
                        };
                        Some(if second { b.clone() } else { a.clone() })
                    }
                }
            }
            other => s(&format!("<{other}>")),
        }
    }
}

/// An `Fn::If`'s two branches.
fn if_arms(arg: &Yaml) -> Vec<Yaml> {
    arg.as_sequence()
        .map(|p| p.iter().skip(1).take(2).cloned().collect())
        .unwrap_or_default()
}

/// When `v` is an `Fn::If`, its two branches.
fn if_branches(v: &Yaml) -> Option<Vec<Yaml>> {
    match v {
        Yaml::Tagged(t) if t.tag == "If" || t.tag == "!If" => Some(if_arms(&t.value)),
        Yaml::Mapping(m) if m.len() == 1 => m.get("Fn::If").map(if_arms),
        _ => None,
    }
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Parameters:
  Boundary: {Type: String, Default: arn:aws:iam::123456789012:policy/dev-boundary}
  Prefix: {Type: String}
Conditions:
  Wide: !Equals [!Ref Prefix, wide]
Resources:
  Queue: {Type: AWS::SQS::Queue}
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: app
      MaxSessionDuration: 7200
      PermissionsBoundary: !Ref Boundary
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: sts:AssumeRole
      ManagedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      Policies:
        - PolicyName: queue
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: sqs:SendMessage
                Resource: !GetAtt Queue.Arn
              - !If
                - Wide
                - {Effect: Allow, Action: "s3:*", Resource: "*"}
                - !Ref AWS::NoValue
              - Effect: Allow
                Action: !If [Wide, "iam:*", "iam:GetRole"]
                Resource: !Sub "arn:aws:iam::${AWS::AccountId}:role/${Prefix}-${!aws:username}"
  Extra:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement: [{Effect: Allow, Action: "logs:PutLogEvents", Resource: {"Fn::Join": [":", ["arn:aws:logs", {"Ref": "AWS::Region"}, "*"]]}}]
"#;

    #[test]
    fn roles_and_policies_are_resolved() {
        let x = extract(TEMPLATE, None).unwrap();
        let labels: Vec<&str> = x.parts.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "AppRole.AssumeRolePolicyDocument",
                "AppRole.Policies[queue]",
                "AppRole.ManagedPolicyArns[arn:aws:iam::aws:policy/ReadOnlyAccess]",
                "AppRole.Properties",
                "Extra.PolicyDocument",
            ]
        );
        assert_eq!(
            x.parts[0].part,
            Part::Trust(json!({"Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}))
        );
        let Part::Permissions(doc) = &x.parts[1].part else {
            panic!()
        };
        assert_eq!(
            doc["Statement"][0]["Resource"],
            "arn:aws:sqs:us-east-1:123456789012:Queue"
        );
        // Both arms of the If: the wide statement is judged too.
        assert_eq!(doc["Statement"][1]["Action"], "s3:*");
        assert_eq!(
            doc["Statement"][2]["Action"],
            json!(["iam:*", "iam:GetRole"])
        );
        assert_eq!(
            doc["Statement"][2]["Resource"],
            "arn:aws:iam::123456789012:role/<Prefix>-${aws:username}"
        );
        assert_eq!(
            x.parts[3].part,
            Part::Settings {
                max_session_duration: Some(7200),
                permissions_boundary: Some("arn:aws:iam::123456789012:policy/dev-boundary".into())
            }
        );
        let Part::Permissions(doc) = &x.parts[4].part else {
            panic!()
        };
        assert_eq!(doc["Statement"][0]["Resource"], "arn:aws:logs:us-east-1:*");
    }

    #[test]
    fn the_account_is_the_callers() {
        let x = extract(TEMPLATE, Some("111122223333")).unwrap();
        let Part::Trust(doc) = &x.parts[0].part else {
            panic!()
        };
        assert_eq!(
            doc["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::111122223333:root"
        );
    }

    #[test]
    fn nesting_bombs_are_refused_before_yaml_reads_them() {
        // 64 KiB of `{` took 29 s to refuse (the YAML reader is quadratic in
        // flow depth); the guard refuses it at once.
        let started = std::time::Instant::now();
        for open in ["{", "[", "{a: ", "[{\"a\": "] {
            let bomb = format!("Resources: {}", open.repeat(65_536 / open.len()));
            assert_eq!(
                extract(&bomb, None).unwrap_err(),
                TemplateError::Syntax(too_deep())
            );
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Brackets in quoted scalars and comments do not count; deep but
        // legal nesting is read as before.
        let quoted = format!(
            "Resources: {{}}\nA: \"{0}\"\nB: '{0}'\n# {0}\nC: \"\\\"{0}\"",
            "{".repeat(1000)
        );
        assert_eq!(flow_nesting(&quoted), 1);
        assert!(extract(&quoted, None).is_ok());
        let deep = format!(
            "Resources: {{}}\nA: {}1{}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(flow_nesting(&deep), 100);
        assert!(extract(&deep, None).is_ok());
        assert_eq!(flow_nesting("a: it''s {[x]}"), 2);
    }

    #[test]
    fn bad_templates_are_named() {
        assert_eq!(
            extract("a: [", None)
                .unwrap_err()
                .to_string()
                .split(':')
                .next(),
            Some("not YAML or JSON")
        );
        assert_eq!(extract("{}", None).unwrap_err(), TemplateError::NoResources);
        assert_eq!(
            extract(
                "Resources: {R: {Type: AWS::IAM::Role, Properties: {}}}",
                None
            )
            .unwrap_err()
            .to_string(),
            "Resources.R: an IAM role needs an AssumeRolePolicyDocument"
        );
        let big = format!("Resources: {{}}\n#{}", "x".repeat(MAX_TEMPLATE_BYTES));
        assert!(matches!(
            extract(&big, None),
            Err(TemplateError::TooLarge { .. })
        ));
    }

    #[test]
    fn sam_function_policies() {
        let t = r#"{"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {
            "Policies": ["AWSLambdaBasicExecutionRole", {"S3ReadPolicy": {"BucketName": "b"}},
                         {"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}]}}}}"#;
        let x = extract(t, None).unwrap();
        assert_eq!(
            x.parts[0].part,
            Part::Attachment(
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into()
            )
        );
        assert!(matches!(x.parts[1].part, Part::Permissions(_)));
        assert_eq!(x.notes.len(), 1);
    }
}
