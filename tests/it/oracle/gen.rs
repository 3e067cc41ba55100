//! Seeded random permission policies and requests, drawn from the shapes
//! that matter to roleguard: escalation actions, IAM and compute resources,
//! the global condition keys and each action's own keys, every operator
//! family with `IfExists` and the set qualifiers, Deny statements, the `Not`
//! forms, and JSON written in unusual but valid ways.
//!
//! Everything comes from a [`Rng`] (splitmix64), so a seed and a pair index
//! give the same case on every machine: [`case`] is what the differential
//! test draws; [`policy_set`] and [`request_for`] are there for tests that
//! bring their own question (the rule engine's soundness tests ask the
//! oracle about witness requests against generated policies).
//!
//! Every generated policy is one IAM accepts: no wildcard in an action's
//! service prefix or an ARN's service segment, no policy variable before an
//! ARN's fifth colon in `Resource`, variables only in string and ARN
//! conditions, operators spelled as IAM spells them. Requests carry a
//! concrete action, an ARN of one of the action's resource types (`*` when it
//! has none), and only the context keys the action supports (global keys and
//! the catalog's keys for the action), so the oracle and roleguard see the
//! same request.

#![allow(dead_code)] // shared with other tests; not every helper is used by every test

use roleguard::catalog::{self, Action, KeyType, ResourceType};
use roleguard::eval::{self, keys, Context, Values};
use roleguard::pattern;
use roleguard::policy::{Either, Policy};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The caller's account, and the account of every request.
pub const OWN_ACCOUNT: &str = "111122223333";
/// Another account, for resources and conditions that name a stranger.
pub const FOREIGN_ACCOUNT: &str = "444455556666";
/// The principal making every request (its identity policies are the set).
pub const CALLER: &str = "arn:aws:iam::111122223333:role/roleguard-caller";

// ------------------------------------------------------------------ Rng

/// splitmix64: small, fast, and the same sequence everywhere.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

/// splitmix64's output function: a bijective mix of 64 bits.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }
    /// The generator of pair `index` of a run: every pair is drawn from its
    /// own stream, so one pair can be drawn again without the others.
    pub fn for_pair(seed: u64, index: u64) -> Rng {
        Rng::new(mix(seed ^ mix(index.wrapping_add(0x632B_E59B_D9B4_E019))))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        (self.next_u64() % n as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    /// True `p` times in a hundred.
    pub fn percent(&mut self, p: u32) -> bool {
        self.next_u64() % 100 < u64::from(p)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// One of the strings.
pub fn pick_str<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len())]
}

// ------------------------------------------------------------------ model

/// A request context value: one string, or a list for a multi-valued key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtxValue {
    One(String),
    Many(Vec<String>),
}

/// One request by [`CALLER`] in [`OWN_ACCOUNT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// A concrete `service:Action`, as the catalog spells it.
    pub action: String,
    /// An ARN, or `*` for an action that takes no resource.
    pub resource: String,
    pub context: Vec<(String, CtxValue)>,
}

impl Request {
    /// The context as roleguard's evaluator takes it.
    pub fn eval_context(&self) -> Context {
        let mut ctx = Context::new();
        for (k, v) in &self.context {
            ctx.set(
                k,
                match v {
                    CtxValue::One(s) => Values::One(s.clone()),
                    CtxValue::Many(vs) => Values::Many(vs.clone()),
                },
            );
        }
        ctx
    }
    /// The context as the oracle takes it: strings and lists of strings.
    pub fn context_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.context {
            m.insert(
                k.clone(),
                match v {
                    CtxValue::One(s) => Value::String(s.clone()),
                    CtxValue::Many(vs) => {
                        Value::Array(vs.iter().cloned().map(Value::String).collect())
                    }
                },
            );
        }
        Value::Object(m)
    }
    pub fn to_json(&self) -> Value {
        serde_json::json!({"action": self.action, "resource": self.resource, "context": self.context_json()})
    }
}

/// A policy document: its compact JSON (what the oracle is sent), and the
/// text roleguard parses, which may be laid out, escaped or URL-encoded in
/// ways that do not change the value.
#[derive(Debug, Clone)]
pub struct Doc {
    pub json: String,
    pub text: String,
}

impl Doc {
    pub fn new(value: &Value) -> Doc {
        let json = value.to_string();
        Doc {
            text: json.clone(),
            json,
        }
    }
    /// The document as a JSON value.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).expect("a generated document is JSON")
    }
    pub fn parse(&self) -> Result<Policy, String> {
        Policy::parse(&self.text)
            .map_err(|e| format!("roleguard refuses the policy: {e}\n{}", self.text))
    }
}

/// A principal's identity policies and permissions boundary.
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub identity: Vec<Doc>,
    pub boundary: Option<Doc>,
}

/// A [`PolicySet`] parsed by roleguard.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub identity: Vec<Policy>,
    pub boundary: Option<Policy>,
}

impl PolicySet {
    pub fn parse(&self) -> Result<Parsed, String> {
        Ok(Parsed {
            identity: self
                .identity
                .iter()
                .map(Doc::parse)
                .collect::<Result<_, _>>()?,
            boundary: self.boundary.as_ref().map(Doc::parse).transpose()?,
        })
    }
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "identity": self.identity.iter().map(Doc::value).collect::<Vec<_>>(),
            "boundary": self.boundary.as_ref().map(Doc::value),
        })
    }
}

impl Parsed {
    /// roleguard's decision for the request.
    pub fn evaluate(&self, req: &Request) -> eval::Decision {
        self.evaluate_in(req, &req.eval_context())
    }
    pub fn evaluate_in(&self, req: &Request, ctx: &Context) -> eval::Decision {
        let identity: Vec<&Policy> = self.identity.iter().collect();
        let r = eval::Request {
            action: &req.action,
            resource: &req.resource,
            context: ctx,
            caller: None,
        };
        eval::evaluate(
            eval::Policies {
                identity: &identity,
                boundary: self.boundary.as_ref(),
            },
            &r,
        )
    }
    pub fn all(&self) -> impl Iterator<Item = &Policy> {
        self.identity.iter().chain(self.boundary.as_ref())
    }
}

/// A pair for the differential test: policies and one request.
#[derive(Debug, Clone)]
pub struct Case {
    pub policies: PolicySet,
    pub request: Request,
}

// ------------------------------------------------------------------ pools

/// The concrete actions requests are made of: escalation paths first, then
/// compute and data actions, and a few that take no resource.
pub const ACTIONS: &[&str] = &[
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateRole",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:TagRole",
    "iam:CreatePolicy",
    "iam:GetRole",
    "iam:ListRoles",
    "sts:AssumeRole",
    "sts:TagSession",
    "lambda:CreateFunction",
    "lambda:InvokeFunction",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:AddPermission",
    "lambda:CreateEventSourceMapping",
    "lambda:ListFunctions",
    "ec2:RunInstances",
    "ec2:AssociateIamInstanceProfile",
    "ec2:DescribeInstances",
    "glue:CreateDevEndpoint",
    "glue:UpdateDevEndpoint",
    "cloudformation:CreateStack",
    "ssm:SendCommand",
    "codebuild:CreateProject",
    "ecs:RunTask",
    "sagemaker:CreateNotebookInstance",
    "datapipeline:CreatePipeline",
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:ListAllMyBuckets",
];

/// Action patterns with wildcards, as policies write them.
const ACTION_PATTERNS: &[&str] = &[
    "*",
    "iam:*",
    "iam:Pass*",
    "iam:*Role*",
    "iam:Put*",
    "iam:Put*Policy",
    "iam:Attach*",
    "iam:Create*",
    "iam:*Policy*",
    "iam:*PolicyVersion",
    "iam:Update*",
    "iam:Get*",
    "iam:List*",
    "sts:*",
    "sts:Assume*",
    "lambda:*",
    "lambda:*Function*",
    "lambda:Create*",
    "lambda:Update*",
    "lambda:Invoke*",
    "ec2:*",
    "ec2:Run*",
    "ec2:*Instance*",
    "ec2:Describe*",
    "s3:*",
    "s3:Get*",
    "s3:*Object",
    "s3:List*",
    "glue:*DevEndpoint",
    "cloudformation:*",
    "ssm:Send*",
];

/// Resource patterns worth having as they are.
const SPECIAL_RESOURCES: &[&str] = &[
    "arn:*",
    "arn:aws:iam::*",
    "arn:aws:iam::*:*",
    "arn:aws:iam::*:*/*",
    "arn:aws:iam::111122223333:role*",
    "arn:aws:iam::111122223333:*",
    "arn:aws:iam::111122223333:*/*",
    "arn:aws:iam::*:role/*",
    "arn:aws:iam::111122223333:role/*",
    "arn:aws:iam::111122223333:role/service-role/*",
    "arn:aws:iam::*:role/app/*",
    "arn:aws:iam::444455556666:role/*",
    "arn:aws:iam::111122223333:role/?dmin",
    "arn:aws:iam::111122223333:role/Admin",
    "arn:aws:iam::111122223333:role/${aws:username}",
    "arn:aws:iam::111122223333:role/${aws:PrincipalTag/team}-*",
    "arn:aws:iam::111122223333:role/${aws:username, 'Admin'}",
    "arn:aws:iam::111122223333:user/${aws:username}",
    "arn:aws:iam::111122223333:policy/*",
    "arn:aws:iam::*:user/*",
    "arn:aws:iam::111122223333:group/*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::*/*",
    "arn:aws:s3:::data/*",
    "arn:aws:s3:::data",
    "arn:aws:s3:::*/k",
    "arn:aws:s3:::home/${aws:username}/*",
    "arn:aws:lambda:*:111122223333:function:*",
    "arn:aws:lambda:*:*:function:admin-*",
    "arn:aws:lambda:us-east-1:111122223333:*",
    "arn:aws:ec2:*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:ec2:us-east-1::image/*",
    "arn:*:iam::*:role/*",
];

const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "us-west-2"];
const TAGS: &[&str] = &["team", "env", "Team"];
const SERVICES: &[&str] = &[
    "lambda.amazonaws.com",
    "ec2.amazonaws.com",
    "glue.amazonaws.com",
    "cloudformation.amazonaws.com",
    "athena.amazonaws.com",
];
const ACCOUNTS: &[&str] = &["111122223333", "444455556666", "999988887777"];
const ROLE_ARNS: &[&str] = &[
    "arn:aws:iam::111122223333:role/Admin",
    "arn:aws:iam::111122223333:role/app/deploy",
    "arn:aws:iam::111122223333:role/roleguard-caller",
    "arn:aws:iam::444455556666:role/ci",
    "arn:aws:lambda:us-east-1:111122223333:function:fn",
    "arn:aws:s3:::data",
    "arn:aws:iam::111122223333:user/alice",
];
const POLICY_ARNS: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::111122223333:policy/Boundary",
    "arn:aws:iam::111122223333:policy/team/Boundary",
];
const NUMBERS: &[&str] = &["0", "1", "10", "3600", "86400", "-5", "1.5", "100"];
const DATES: &[&str] = &[
    "2024-01-01T00:00:00Z",
    "2026-06-01T12:00:00Z",
    "2030-01-01T00:00:00Z",
    "2026-06-01",
    "2026-06-01T14:00:00+02:00",
    "2026-06-01T12:00:00.500Z",
    "1700000000",
    "1780315200",
];
const BOOLS: &[&str] = &["true", "false", "TRUE", "False"];
const IPS: &[&str] = &[
    "10.1.2.3",
    "192.168.1.1",
    "203.0.113.7",
    "8.8.8.8",
    "0.0.0.0",
    "2001:db8::1",
    "2001:db9::1",
];
const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "192.168.0.0/16",
    "203.0.113.7",
    "203.0.113.0/24",
    "0.0.0.0/0",
    "8.8.8.8/32",
    "2001:db8::/32",
    "2001:db8::1",
];
const STRINGS: &[&str] = &["alpha", "beta", "Admin", "x-1"];
/// Values of the wrong type for whatever key they end up on.
const ODD_VALUES: &[&str] = &["not-a-date", "abc", "yes", "10.0.0.300", "arn", "*"];

/// The global keys most policies use; any other global key is drawn now and then.
const COMMON_GLOBALS: &[&str] = &[
    "aws:username",
    "aws:userid",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalTag/team",
    "aws:PrincipalType",
    "aws:ResourceTag/team",
    "aws:ResourceAccount",
    "aws:RequestTag/team",
    "aws:TagKeys",
    "aws:RequestedRegion",
    "aws:SourceIp",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:ViaAWSService",
    "aws:SecureTransport",
    "aws:MultiFactorAuthPresent",
    "aws:MultiFactorAuthAge",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:TokenIssueTime",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalIsAWSService",
    "aws:VpcSourceIp",
];

/// Variables that policies put in resources and string conditions.
const VARIABLES: &[&str] = &[
    "${aws:username}",
    "${aws:PrincipalTag/team}",
    "${aws:username, 'Admin'}",
    "${aws:PrincipalAccount}",
    "${aws:userid}",
];

/// What the generator knows about one pool action.
struct PoolAction {
    name: &'static str,
    action: &'static Action,
    /// Its condition keys, templates instantiated (`aws:RequestTag/team`).
    keys: Vec<String>,
}

struct Pools {
    actions: Vec<PoolAction>,
    types: Vec<&'static ResourceType>,
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| {
        let cat = catalog::catalog();
        let actions: Vec<PoolAction> = ACTIONS
            .iter()
            .map(|name| {
                let id = cat
                    .lookup(name)
                    .unwrap_or_else(|| panic!("{name} is not in the catalog"));
                let action = cat.get(id);
                let mut keys: Vec<String> = action.condition_keys().map(instantiate_key).collect();
                keys.sort();
                keys.dedup();
                PoolAction { name, action, keys }
            })
            .collect();
        let mut types: Vec<&'static ResourceType> = Vec::new();
        for a in &actions {
            for (t, _) in a.action.resource_types() {
                if !types.iter().any(|x| x.arn == t.arn) {
                    types.push(t);
                }
            }
        }
        Pools { actions, types }
    })
}

/// `aws:RequestTag/${TagKey}` -> `aws:RequestTag/team`; `s3:ExistingObjectTag/<key>` likewise.
fn instantiate_key(template: &str) -> String {
    let mut out = template.to_string();
    for (open, close) in [("${", "}"), ("<", ">")] {
        while let Some(i) = out.find(open) {
            let Some(j) = out[i..].find(close) else { break };
            out.replace_range(i..i + j + close.len(), "team");
        }
    }
    out
}

thread_local! {
    static KEY_TYPES: std::cell::RefCell<std::collections::HashMap<String, (KeyType, bool)>> = Default::default();
    static SUPPORTED: std::cell::RefCell<std::collections::HashMap<(&'static str, String), bool>> = Default::default();
}

/// The pool actions an Action pattern matches (indices), remembered.
fn matching_actions(pattern: &str) -> Vec<usize> {
    thread_local! {
        static MATCHING: std::cell::RefCell<std::collections::HashMap<String, Vec<usize>>> = Default::default();
    }
    if let Some(v) = MATCHING.with(|m| m.borrow().get(pattern).cloned()) {
        return v;
    }
    let v: Vec<usize> = pools()
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| eval::action_matches(pattern, a.name))
        .map(|(i, _)| i)
        .collect();
    MATCHING.with(|m| m.borrow_mut().insert(pattern.to_string(), v.clone()));
    v
}

/// [`keys::key_type`], remembered (the catalog's look-up is a scan).
pub fn key_type(key: &str) -> (KeyType, bool) {
    let k = key.to_ascii_lowercase();
    if let Some(t) = KEY_TYPES.with(|m| m.borrow().get(&k).copied()) {
        return t;
    }
    let t = keys::key_type(key);
    KEY_TYPES.with(|m| m.borrow_mut().insert(k, t));
    t
}

/// Does the action support the key (a global key, or one of its own)? Remembered.
fn supports(action: &PoolAction, key: &str) -> bool {
    let k = (action.name, key.to_ascii_lowercase());
    if let Some(b) = SUPPORTED.with(|m| m.borrow().get(&k).copied()) {
        return b;
    }
    let b = keys::is_global(key) || action.action.supports_key(key);
    SUPPORTED.with(|m| m.borrow_mut().insert(k, b));
    b
}

fn pool_action(name: &str) -> Option<&'static PoolAction> {
    pools()
        .actions
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

// ------------------------------------------------------------------ policies

/// A principal's policies: 1-3 identity policies of 1-4 statements, and a
/// permissions boundary three times in ten.
pub fn policy_set(rng: &mut Rng) -> PolicySet {
    let n = *rng.pick(&[1, 1, 1, 1, 1, 2, 2, 2, 3, 3]);
    let identity = (0..n).map(|_| document(rng, false)).collect();
    let boundary = rng.percent(30).then(|| document(rng, true));
    PolicySet { identity, boundary }
}

/// The pair the differential test draws for one index.
pub fn case(rng: &mut Rng) -> Case {
    case_and_parse(rng).0
}

/// [`case`], with roleguard's parse of the policies (which the request is
/// drawn from, when it succeeds).
pub fn case_and_parse(rng: &mut Rng) -> (Case, Result<Parsed, String>) {
    let policies = policy_set(rng);
    let parsed = policies.parse();
    let h = match &parsed {
        Ok(p) => harvest(&p.all().collect::<Vec<_>>()),
        Err(_) => harvest_set(&policies),
    };
    let request = request_from(rng, &h);
    (Case { policies, request }, parsed)
}

fn document(rng: &mut Rng, boundary: bool) -> Doc {
    let n = *rng.pick(&[1, 1, 1, 1, 2, 2, 2, 3, 3, 4]);
    let statements: Vec<J> = (0..n).map(|_| statement(rng, boundary)).collect();
    let mut parts: Vec<(&'static str, J)> = Vec::new();
    // Version 2012-10-17 mostly; now and then none, or 2008-10-17, where
    // policy variables are literal text.
    match rng.below(100) {
        0..=3 => {}
        4..=6 => parts.push(("Version", J::s("2008-10-17"))),
        _ => parts.push(("Version", J::s("2012-10-17"))),
    }
    if rng.percent(10) {
        parts.push(("Id", J::S(format!("policy-{}", rng.below(1000)))));
    }
    let statement = if statements.len() == 1 && rng.percent(35) {
        statements.into_iter().next().unwrap()
    } else {
        J::Arr(statements)
    };
    parts.push(("Statement", statement));
    rng.shuffle(&mut parts);
    let doc = J::Obj(parts.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    let mut json = String::with_capacity(512);
    doc.compact(&mut json);
    // Most documents as compact JSON; a quarter laid out or escaped oddly.
    let text = if rng.percent(25) {
        render_j(rng, &doc)
    } else {
        json.clone()
    };
    Doc { json, text }
}

/// A JSON value as the generator builds it: cheaper than `serde_json::Value`
/// (no maps), written out once.
#[derive(Debug, Clone)]
enum J {
    S(String),
    /// A number or a boolean, as written.
    Raw(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn s(v: &str) -> J {
        J::S(v.to_string())
    }
    fn compact(&self, out: &mut String) {
        match self {
            J::S(v) => quote(v, out),
            J::Raw(v) => out.push_str(v),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.compact(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    quote(k, out);
                    out.push(':');
                    v.compact(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string literal.
fn quote(v: &str, out: &mut String) {
    if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(v);
        out.push('"');
    } else {
        out.push_str(&Value::String(v.to_string()).to_string());
    }
}

fn statement(rng: &mut Rng, boundary: bool) -> J {
    let deny = rng.percent(if boundary { 15 } else { 25 });
    let broad = boundary && !deny && rng.percent(50);
    let mut actions: Vec<String> = if broad {
        vec![rng
            .pick(&["*", "iam:*", "lambda:*", "s3:*", "ec2:*", "sts:*"])
            .to_string()]
    } else {
        (0..rng.range(1, 3)).map(|_| action_pattern(rng)).collect()
    };
    actions.dedup();
    let not_action = !broad && rng.percent(12);
    // A concrete action the statement is about, for its resources and keys.
    let about: Option<&PoolAction> = {
        let candidates: Vec<usize> = actions.iter().flat_map(|p| matching_actions(p)).collect();
        if !not_action && !candidates.is_empty() && rng.percent(85) {
            Some(&pools().actions[*rng.pick(&candidates)])
        } else {
            Some(rng.pick(&pools().actions))
        }
    };
    let mut resources: Vec<String> = if broad {
        vec!["*".into()]
    } else {
        (0..rng.range(1, 3))
            .map(|_| resource_pattern_about(rng, about))
            .collect()
    };
    resources.dedup();
    let not_resource = !broad && rng.percent(10);
    let conditions = if rng.percent(if broad { 15 } else { 55 }) {
        condition_block(rng, about)
    } else {
        None
    };

    let mut parts: Vec<(&str, J)> = vec![
        ("Effect", J::s(if deny { "Deny" } else { "Allow" })),
        (
            if not_action { "NotAction" } else { "Action" },
            string_or_list(rng, actions),
        ),
        (
            if not_resource {
                "NotResource"
            } else {
                "Resource"
            },
            string_or_list(rng, resources),
        ),
    ];
    if let Some(c) = conditions {
        parts.push(("Condition", c));
    }
    if rng.percent(25) {
        parts.push(("Sid", J::S(format!("S{}", rng.below(100)))));
    }
    rng.shuffle(&mut parts);
    J::Obj(parts.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn string_or_list(rng: &mut Rng, items: Vec<String>) -> J {
    if items.len() == 1 && rng.percent(60) {
        J::S(items.into_iter().next().unwrap())
    } else {
        J::Arr(items.into_iter().map(J::S).collect())
    }
}

/// An Action pattern: a pool action (sometimes in odd case), a wildcard
/// pattern, or a pool action with `?` or a trailing `*`.
pub fn action_pattern(rng: &mut Rng) -> String {
    let roll = rng.below(100);
    if roll < 50 {
        let a = *rng.pick(ACTIONS);
        if rng.percent(15) {
            odd_case(rng, a)
        } else {
            a.to_string()
        }
    } else if roll < 80 {
        let p = *rng.pick(ACTION_PATTERNS);
        if rng.percent(10) {
            odd_case(rng, p)
        } else {
            p.to_string()
        }
    } else {
        let a = *rng.pick(ACTIONS);
        let (service, name) = a.split_once(':').unwrap();
        let chars: Vec<char> = name.chars().collect();
        let i = rng.below(chars.len());
        if rng.percent(50) {
            let mut c = chars.clone();
            c[i] = '?';
            format!("{service}:{}", c.into_iter().collect::<String>())
        } else {
            let cut: String = chars[..i.max(1)].iter().collect();
            format!("{service}:{cut}*")
        }
    }
}

fn odd_case(rng: &mut Rng, s: &str) -> String {
    match rng.below(3) {
        0 => s.to_ascii_lowercase(),
        1 => s.to_ascii_uppercase(),
        _ => s
            .chars()
            .map(|c| {
                if rng.percent(50) {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    }
}

/// A Resource pattern: `*`, a special form, or an instantiation of a
/// resource type's ARN template with names, wildcards and variables.
pub fn resource_pattern(rng: &mut Rng, action: Option<&str>) -> String {
    resource_pattern_about(rng, action.and_then(pool_action))
}

fn resource_pattern_about(rng: &mut Rng, about: Option<&PoolAction>) -> String {
    let roll = rng.below(100);
    if roll < 12 {
        return "*".into();
    }
    if roll < 27 {
        return rng.pick(SPECIAL_RESOURCES).to_string();
    }
    let own: Vec<&'static ResourceType> = about
        .map(|a| a.action.resource_types().map(|(t, _)| t).collect())
        .unwrap_or_default();
    let ty = if !own.is_empty() && rng.percent(75) {
        *rng.pick(&own)
    } else {
        *rng.pick(&pools().types)
    };
    pattern_from_template(rng, ty.arn)
}

/// The placeholders of an ARN template, in order, with the text between them.
fn template_parts(template: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        if i > 0 {
            out.push((false, &rest[..i]));
        }
        let j = rest[i..].find('}').map(|j| i + j).unwrap_or(rest.len() - 1);
        out.push((true, &rest[i + 2..j]));
        rest = &rest[j + 1..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// Names for a template placeholder (`RoleNameWithPath` -> `Admin`, `app/deploy`...).
fn names_for(placeholder: &str) -> &'static [&'static str] {
    thread_local! {
        static NAMES: std::cell::RefCell<std::collections::HashMap<String, &'static [&'static str]>> = Default::default();
    }
    if let Some(d) = NAMES.with(|m| m.borrow().get(placeholder).copied()) {
        return d;
    }
    let d = names_of(placeholder);
    NAMES.with(|m| m.borrow_mut().insert(placeholder.to_string(), d));
    d
}

fn names_of(placeholder: &str) -> &'static [&'static str] {
    let p = placeholder.to_ascii_lowercase();
    if p.contains("role") {
        &[
            "Admin",
            "app/deploy",
            "service-role/lambda-exec",
            "roleguard-caller",
            "AdminRole",
            "app/Admin",
        ]
    } else if p.contains("user") {
        &["alice", "bob", "Admin", "dev/alice"]
    } else if p.contains("group") {
        &["admins", "dev/team"]
    } else if p.contains("policy") {
        &["AdminPolicy", "team/ReadOnly", "Boundary"]
    } else if p.contains("function") {
        &["fn", "admin-fn", "Admin"]
    } else if p.contains("bucket") {
        &["data", "logs", "home"]
    } else if p.contains("object") {
        &["k", "home/alice/x", "a/b.txt", "alice/notes", "Admin"]
    } else if p.contains("instanceid") {
        &["i-0123456789abcdef0", "i-0fedcba987654321f"]
    } else if p.contains("imageid") {
        &["ami-0abcdef1234567890"]
    } else if p.ends_with("id") || p.contains("number") {
        &["0123456789", "abc123", "7"]
    } else {
        &["Admin", "x1", "app", "alice"]
    }
}

fn pattern_from_template(rng: &mut Rng, template: &str) -> String {
    let mut out = String::new();
    let mut seen_fifth_colon = false;
    for (is_placeholder, text) in template_parts(template) {
        if !is_placeholder {
            out.push_str(text);
            if out.matches(':').count() >= 5 {
                seen_fifth_colon = true;
            }
            continue;
        }
        match text {
            "Partition" => out.push_str(if rng.percent(5) { "*" } else { "aws" }),
            "Region" => out.push_str(pick_str(
                rng,
                &["us-east-1", "us-east-1", "*", "us-*", "eu-west-1"],
            )),
            "Account" => out.push_str(match rng.below(20) {
                0..=10 => OWN_ACCOUNT,
                11..=12 => FOREIGN_ACCOUNT,
                13..=18 => "*",
                _ => "1111*",
            }),
            name => {
                let names = names_for(name);
                let roll = rng.below(100);
                let piece = if roll < 50 {
                    rng.pick(names).to_string()
                } else if roll < 65 {
                    let n = *rng.pick(names);
                    wildcardize(rng, n)
                } else if roll < 88 || !seen_fifth_colon {
                    "*".to_string()
                } else {
                    let v = *rng.pick(&VARIABLES[..3]);
                    if rng.percent(30) {
                        format!("app/{v}")
                    } else {
                        v.to_string()
                    }
                };
                out.push_str(&piece);
            }
        }
    }
    // Now and then a wildcard or an odd case in the resource-type term
    // (`*/Admin`, `ro*`, `Role/Admin`).
    if rng.percent(6) {
        if let Some(i) = nth_colon(&out, 5) {
            let (head, tail) = out.split_at(i + 1);
            let cut = tail.find(['/', ':']).unwrap_or(tail.len());
            let tail = match rng.below(3) {
                0 if cut < tail.len() => format!("*{}", &tail[cut..]),
                1 => format!("{}*", &tail[..rng.range(1, cut.max(1))]),
                _ => {
                    let mut t = tail.to_string();
                    t[..1].make_ascii_uppercase();
                    t
                }
            };
            out = format!("{head}{tail}");
        }
    }
    out
}

fn nth_colon(s: &str, n: usize) -> Option<usize> {
    s.match_indices(':').nth(n - 1).map(|(i, _)| i)
}

/// [`wildcardize`] for a value that may be an ARN: a wildcard in one of its
/// six parts (the first one now and then), never one that eats a colon.
fn wildcardize_arn(rng: &mut Rng, s: &str) -> String {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return wildcardize(rng, s);
    }
    let i = match rng.below(20) {
        0 => 0,
        1..=9 => 5,
        n => 1 + n % 4,
    };
    let mut out: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    out[i] = if out[i].is_empty() || rng.percent(30) {
        "*".to_string()
    } else if i == 5 {
        // Within the resource part, not across its colons.
        let (head, tail) = out[5]
            .rsplit_once(':')
            .map_or(("", out[5].as_str()), |(h, t)| (h, t));
        let w = wildcardize(rng, tail);
        if head.is_empty() {
            w
        } else {
            format!("{head}:{w}")
        }
    } else {
        wildcardize(rng, &out[i])
    };
    out.join(":")
}

/// A literal with a wildcard put in: `Adm*`, `*min`, `A?min`, `*`.
fn wildcardize(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return "*".into();
    }
    let i = rng.below(chars.len());
    match rng.below(4) {
        0 => format!("{}*", chars[..i].iter().collect::<String>()),
        1 => format!("*{}", chars[i..].iter().collect::<String>()),
        2 => {
            let mut c = chars.clone();
            c[i] = '?';
            c.into_iter().collect()
        }
        _ => format!(
            "{}*{}",
            chars[..i].iter().collect::<String>(),
            chars[(i + 1).min(chars.len())..].iter().collect::<String>()
        ),
    }
}

// ------------------------------------------------------------------ conditions

/// The operators of a family (positive and negated forms).
fn operators_for(ty: KeyType) -> &'static [&'static str] {
    match ty {
        KeyType::String | KeyType::Binary => &[
            "StringEquals",
            "StringNotEquals",
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "StringNotLike",
        ],
        KeyType::Arn => &[
            "ArnEquals",
            "ArnLike",
            "ArnNotEquals",
            "ArnNotLike",
            "StringLike",
            "StringEquals",
        ],
        KeyType::Numeric => &[
            "NumericEquals",
            "NumericNotEquals",
            "NumericLessThan",
            "NumericLessThanEquals",
            "NumericGreaterThan",
            "NumericGreaterThanEquals",
        ],
        KeyType::Date => &[
            "DateEquals",
            "DateNotEquals",
            "DateLessThan",
            "DateLessThanEquals",
            "DateGreaterThan",
            "DateGreaterThanEquals",
        ],
        KeyType::Bool => &["Bool"],
        KeyType::Ip => &["IpAddress", "NotIpAddress"],
    }
}

const ALL_TYPES: &[KeyType] = &[
    KeyType::String,
    KeyType::Arn,
    KeyType::Numeric,
    KeyType::Date,
    KeyType::Bool,
    KeyType::Ip,
];

/// The type an operator compares as.
pub fn operator_type(op: &str) -> Option<KeyType> {
    let op = op.strip_suffix("IfExists").unwrap_or(op);
    Some(if op.starts_with("String") {
        KeyType::String
    } else if op.starts_with("Arn") {
        KeyType::Arn
    } else if op.starts_with("Numeric") {
        KeyType::Numeric
    } else if op.starts_with("Date") {
        KeyType::Date
    } else if op == "Bool" {
        KeyType::Bool
    } else if op.ends_with("IpAddress") {
        KeyType::Ip
    } else {
        return None;
    })
}

/// A condition key for a statement about `about`: a common global key, any
/// global key, or one of the action's own keys.
fn condition_key(rng: &mut Rng, about: Option<&PoolAction>) -> String {
    let roll = rng.below(100);
    if roll < 45 {
        return rng.pick(COMMON_GLOBALS).to_string();
    }
    if roll < 60 {
        let (k, ..) = *rng.pick(keys::GLOBAL);
        return if k.ends_with('/') {
            format!("{k}{}", rng.pick(TAGS))
        } else {
            k.to_string()
        };
    }
    match about {
        Some(a) if !a.keys.is_empty() => rng.pick(&a.keys).clone(),
        _ => rng.pick(COMMON_GLOBALS).to_string(),
    }
}

/// A Condition block of 1-3 conditions (operator, key, values).
fn condition_block(rng: &mut Rng, about: Option<&PoolAction>) -> Option<J> {
    let mut block: Vec<(String, J)> = Vec::new();
    let mut used: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.range(1, 3) {
        let key = condition_key(rng, about);
        let (op, values) = condition(rng, &key);
        let pair = (op.clone(), key.to_ascii_lowercase());
        if used.contains(&pair) {
            continue;
        }
        used.push(pair);
        let v = if values.len() == 1 && rng.percent(55) {
            values.into_iter().next().unwrap()
        } else {
            J::Arr(values)
        };
        match block.iter_mut().find(|(o, _)| *o == op) {
            Some((_, J::Obj(keys))) => keys.push((key, v)),
            _ => block.push((op, J::Obj(vec![(key, v)]))),
        }
    }
    (!block.is_empty()).then_some(J::Obj(block))
}

/// An operator (with qualifier and IfExists) for the key, and 1-3 values.
fn condition(rng: &mut Rng, key: &str) -> (String, Vec<J>) {
    let (ty, multi) = key_type(key);
    let ty = if ty == KeyType::Binary {
        KeyType::String
    } else {
        ty
    };
    if rng.percent(7) {
        let v = if rng.percent(70) { "true" } else { "false" };
        let value = if rng.percent(40) {
            J::Raw(v.into())
        } else {
            J::s(v)
        };
        return ("Null".into(), vec![value]);
    }
    // Mostly an operator of the key's own type; sometimes another's.
    // (Not a date operator on a key of another type: V8's Date.parse reads
    // "us-east-1" as 2001-01-01, which the model of the oracle cannot follow.)
    let op_type = match *rng.pick(ALL_TYPES) {
        t if rng.percent(8) && t != KeyType::Date => t,
        _ => ty,
    };
    let base = *rng.pick(operators_for(op_type));
    let qualifier = if multi {
        match rng.below(8) {
            0..=2 => "ForAnyValue:",
            3..=5 => "ForAllValues:",
            _ => "",
        }
    } else if rng.percent(6) {
        *rng.pick(&["ForAnyValue:", "ForAllValues:"])
    } else {
        ""
    };
    let if_exists = if rng.percent(18) { "IfExists" } else { "" };
    let op = format!("{qualifier}{base}{if_exists}");
    let values = (0..rng.range(1, 3))
        .map(|_| policy_value(rng, key, ty, op_type, base))
        .collect();
    (op, values)
}

/// Values for a key of a type, as a request would carry them (remembered).
fn domain(key: &str, ty: KeyType) -> &'static [&'static str] {
    type Cache = std::collections::HashMap<(String, u8), &'static [&'static str]>;
    thread_local! {
        static DOMAINS: std::cell::RefCell<Cache> = Default::default();
    }
    let k = (key.to_string(), ty as u8);
    if let Some(d) = DOMAINS.with(|m| m.borrow().get(&k).copied()) {
        return d;
    }
    let d = domain_of(key, ty);
    DOMAINS.with(|m| m.borrow_mut().insert(k, d));
    d
}

fn domain_of(key: &str, ty: KeyType) -> &'static [&'static str] {
    let k = key.to_ascii_lowercase();
    if k == "aws:username" {
        &["alice", "bob", "Admin", "roleguard-caller"]
    } else if k == "aws:userid" {
        &["AROAEXAMPLE:alice", "AIDAEXAMPLE", "AROAEXAMPLE:bob"]
    } else if k.ends_with("tagkeys") {
        &["team", "env", "owner", "Team", "cost-center"]
    } else if k.contains("tag/") {
        &["blue", "red", "Blue", "admin", "team-a"]
    } else if k == "iam:passedtoservice"
        || k.contains("calledvia")
        || k.contains("servicename")
        || k == "lambda:principal"
    {
        SERVICES
    } else if k.contains("policyarn") || k.contains("permissionsboundary") {
        POLICY_ARNS
    } else if ty == KeyType::String && k.ends_with("account") {
        ACCOUNTS
    } else if k.contains("orgid") {
        &["o-a1b2c3d4e5", "o-zzzzzzzzzz"]
    } else if k.contains("orgpaths") {
        &[
            "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
            "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/",
            "o-zzzzzzzzzz/r-zz99/",
        ]
    } else if ty == KeyType::String && k.contains("region") {
        REGIONS
    } else if k.ends_with("principaltype") {
        &["AssumedRole", "User", "Account", "FederatedUser"]
    } else if k == "aws:sourcevpc" || k.ends_with("vpc") || k.contains("vpcid") {
        &["vpc-111bbb22", "vpc-333ccc44"]
    } else if k.contains("vpce") {
        &["vpce-1a2b3c4d", "vpce-5e6f7a8b"]
    } else if k.contains("instancetype") {
        &["t3.micro", "m5.large", "p4d.24xlarge"]
    } else {
        match ty {
            KeyType::String | KeyType::Binary => STRINGS,
            KeyType::Arn => ROLE_ARNS,
            KeyType::Numeric => NUMBERS,
            KeyType::Date => DATES,
            KeyType::Bool => BOOLS,
            KeyType::Ip => IPS,
        }
    }
}

/// One policy value for a condition: from the key's domain, with wildcards
/// for operators that take them, variables for string and ARN operators,
/// and now and then a value of the wrong type.
fn policy_value(rng: &mut Rng, key: &str, key_type: KeyType, op_type: KeyType, base: &str) -> J {
    // A value of the wrong type only where any string is well-formed: IAM
    // may refuse a numeric, date, IP, boolean or ARN operator whose value is
    // not one (request values of the wrong type are drawn in `context`).
    if op_type == KeyType::String && rng.percent(4) {
        return J::s(pick_str(rng, ODD_VALUES));
    }
    let like = base.contains("Like") || base.starts_with("Arn");
    let text: String = match op_type {
        KeyType::Ip => rng.pick(CIDRS).to_string(),
        KeyType::Numeric | KeyType::Date | KeyType::Bool => {
            // Operators of another family than the key's get their own values.
            rng.pick(domain(if op_type == key_type { key } else { "" }, op_type))
                .to_string()
        }
        KeyType::String | KeyType::Arn | KeyType::Binary => {
            let domain = domain(key, key_type);
            if rng.percent(10) {
                variable_value(rng, op_type, like)
            } else if op_type == KeyType::String && rng.percent(4) {
                // A special variable: a literal `*`, `?` or `$` in the value.
                let v = pick_str(rng, domain);
                let i = rng.below(v.len() + 1);
                let special = pick_str(rng, &["${*}", "${?}", "${$}"]);
                format!("{}{special}{}", &v[..i], &v[i..])
            } else {
                let v = rng.pick(domain).to_string();
                if like && rng.percent(40) {
                    wildcardize_arn(rng, &v)
                } else {
                    v
                }
            }
        }
    };
    // JSON numbers and booleans for values that are numbers and booleans.
    let number = |t: &str| {
        let d = t.strip_prefix('-').unwrap_or(t);
        !d.is_empty()
            && !d.starts_with('.')
            && !d.ends_with('.')
            && d.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && d.matches('.').count() <= 1
            && (d == "0" || !d.starts_with('0') || d.starts_with("0."))
    };
    if op_type == KeyType::Numeric && rng.percent(30) && number(&text) {
        return J::Raw(text);
    }
    if op_type == KeyType::Bool && rng.percent(40) {
        if let Some(b) = ["true", "false"]
            .iter()
            .position(|b| b.eq_ignore_ascii_case(&text))
        {
            return J::Raw((b == 0).to_string());
        }
    }
    J::S(text)
}

fn variable_value(rng: &mut Rng, op_type: KeyType, like: bool) -> String {
    let v = *rng.pick(VARIABLES);
    if op_type == KeyType::Arn {
        match rng.below(4) {
            0 => format!("arn:aws:iam::111122223333:role/{v}"),
            1 if like => format!("arn:aws:iam::*:role/{v}*"),
            2 => format!(
                "arn:aws:iam::${{aws:PrincipalAccount}}:role/{}",
                if like { "*" } else { "Admin" }
            ),
            _ => format!("arn:aws:iam::111122223333:user/{v}"),
        }
    } else if like && rng.percent(40) {
        format!("{v}*")
    } else {
        v.to_string()
    }
}

// ------------------------------------------------------------------ JSON text

/// The document as text, in one of the layouts IAM and roleguard both
/// accept: compact or spread over lines, characters escaped as `\uXXXX` or
/// `\/`, and now and then the whole text URL-encoded (as IAM's API returns it).
pub fn render(rng: &mut Rng, value: &Value) -> String {
    render_j(rng, &to_j(value))
}

fn to_j(v: &Value) -> J {
    match v {
        Value::String(s) => J::S(s.clone()),
        Value::Array(items) => J::Arr(items.iter().map(to_j).collect()),
        Value::Object(m) => J::Obj(m.iter().map(|(k, v)| (k.clone(), to_j(v))).collect()),
        other => J::Raw(other.to_string()),
    }
}

fn render_j(rng: &mut Rng, value: &J) -> String {
    let style = Style {
        spaces: rng.percent(40),
        escapes: if rng.percent(20) { 15 } else { 0 },
    };
    let mut out = String::new();
    write_value(rng, &style, value, 0, &mut out);
    if rng.percent(3) {
        out = url_encode(&out);
    }
    out
}

struct Style {
    spaces: bool,
    escapes: u32,
}

fn write_value(rng: &mut Rng, style: &Style, v: &J, depth: usize, out: &mut String) {
    let gap = |rng: &mut Rng, out: &mut String, depth: usize| {
        if style.spaces {
            match rng.below(4) {
                0 => {}
                1 => out.push(' '),
                2 => {
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                }
                _ => out.push_str("\t "),
            }
        }
    };
    match v {
        J::Obj(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                gap(rng, out, depth + 1);
                write_string(rng, style, k, out);
                gap(rng, out, depth + 1);
                out.push(':');
                gap(rng, out, depth + 1);
                write_value(rng, style, v, depth + 1, out);
            }
            gap(rng, out, depth);
            out.push('}');
        }
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                gap(rng, out, depth + 1);
                write_value(rng, style, v, depth + 1, out);
            }
            gap(rng, out, depth);
            out.push(']');
        }
        J::S(s) => write_string(rng, style, s, out),
        J::Raw(r) => out.push_str(r),
    }
}

fn write_string(rng: &mut Rng, style: &Style, s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if style.escapes > 0 && rng.percent(style.escapes) => out.push_str("\\/"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if style.escapes > 0 && c.is_ascii() && rng.percent(style.escapes) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ------------------------------------------------------------------ requests

/// What a request is drawn from: the policies' conditions, resources and
/// variables.
struct Harvest {
    /// (operator as written, key, values).
    conditions: Vec<(String, String, Vec<String>)>,
    resources: Vec<String>,
    variables: Vec<String>,
    actions: Vec<String>,
}

fn harvest(policies: &[&Policy]) -> Harvest {
    let mut h = Harvest {
        conditions: vec![],
        resources: vec![],
        variables: vec![],
        actions: vec![],
    };
    for p in policies {
        for s in &p.statements {
            if let Some(Either::Is(a)) = &s.action {
                h.actions.extend(a.iter().cloned());
            }
            if let Some(r) = &s.resource {
                h.resources.extend(r.value().iter().cloned());
            }
            for c in &s.conditions {
                h.conditions
                    .push((c.operator.clone(), c.key.clone(), c.values.clone()));
            }
        }
    }
    let texts = h
        .resources
        .iter()
        .chain(h.conditions.iter().flat_map(|(_, _, v)| v.iter()));
    let mut vars = Vec::new();
    for t in texts {
        vars.extend(variables_in(t));
    }
    vars.sort_by_key(|v| v.to_ascii_lowercase());
    vars.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    h.variables = vars;
    h
}

/// The condition keys a text's policy variables name.
pub fn variables_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        let name = inner.split(',').next().unwrap_or("").trim();
        if !matches!(name, "*" | "?" | "$" | "") {
            out.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// A request against the policies: an action they are about (most of the
/// time), a resource of one of its types, and a context that makes their
/// conditions matter.
pub fn request(rng: &mut Rng, set: &PolicySet) -> Request {
    request_from(rng, &harvest_set(set))
}

fn request_from(rng: &mut Rng, h: &Harvest) -> Request {
    let mut mentioned: Vec<usize> = h.actions.iter().flat_map(|p| matching_actions(p)).collect();
    mentioned.sort_unstable();
    mentioned.dedup();
    let action = if !mentioned.is_empty() && rng.percent(70) {
        &pools().actions[*rng.pick(&mentioned)]
    } else {
        rng.pick(&pools().actions)
    };
    request_with(rng, h, action)
}

/// A request for a given pool action (`iam:PassRole`...) against the policies.
pub fn request_for(rng: &mut Rng, set: &PolicySet, action: &str) -> Request {
    let h = harvest_set(set);
    let a = pool_action(action).unwrap_or_else(|| panic!("{action} is not a pool action"));
    request_with(rng, &h, a)
}

/// The policies' conditions, resources and variables, read from their JSON
/// values (a document roleguard would refuse contributes nothing: the test
/// that parses it reports that).
fn harvest_set(set: &PolicySet) -> Harvest {
    let parsed: Vec<Policy> = set
        .identity
        .iter()
        .chain(set.boundary.as_ref())
        .filter_map(|d| Policy::parse(&d.json).ok())
        .collect();
    harvest(&parsed.iter().collect::<Vec<_>>())
}

fn request_with(rng: &mut Rng, h: &Harvest, action: &PoolAction) -> Request {
    let context = context(rng, h, action);
    let ctx = {
        let r = Request {
            action: String::new(),
            resource: String::new(),
            context: context.clone(),
        };
        r.eval_context()
    };
    let resource = request_resource(rng, h, action, &ctx);
    Request {
        action: action.name.to_string(),
        resource,
        context,
    }
}

fn request_resource(rng: &mut Rng, h: &Harvest, action: &PoolAction, ctx: &Context) -> String {
    let types: Vec<(&'static ResourceType, bool)> = action.action.resource_types().collect();
    if types.is_empty() {
        return "*".into();
    }
    let required: Vec<&'static ResourceType> =
        types.iter().filter(|(_, r)| *r).map(|(t, _)| *t).collect();
    let ty = if !required.is_empty() && rng.percent(85) {
        *rng.pick(&required)
    } else {
        rng.pick(&types).0
    };
    if !h.resources.is_empty() && rng.percent(45) {
        for _ in 0..3 {
            let p = rng.pick(&h.resources).clone();
            if let Some(r) = concretize(rng, &p, ty.arn, ctx) {
                return r;
            }
        }
    }
    concrete_from_template(rng, ty.arn, ctx)
}

/// A name for a placeholder: from the pool, or a context value that a
/// policy variable would resolve to.
fn concrete_name(rng: &mut Rng, placeholder: &str, ctx: &Context) -> String {
    if rng.percent(20) {
        let vars = ["aws:username", "aws:PrincipalTag/team"];
        // (Not one with `*` or `?` in it: a request ARN holds no wildcard.)
        if let Some(Values::One(v)) = ctx
            .get(pick_str(rng, &vars))
            .filter(|v| !matches!(v, Values::One(v) if pattern::has_wildcard(v)))
        {
            return if rng.percent(50) {
                v.clone()
            } else {
                format!("{v}-x")
            };
        }
    }
    rng.pick(names_for(placeholder)).to_string()
}

fn concrete_from_template(rng: &mut Rng, template: &str, ctx: &Context) -> String {
    let mut out = String::new();
    for (is_placeholder, text) in template_parts(template) {
        if !is_placeholder {
            out.push_str(text);
            continue;
        }
        match text {
            "Partition" => out.push_str("aws"),
            "Region" => out.push_str(pick_str(rng, &REGIONS[..2])),
            "Account" => out.push_str(if rng.percent(85) {
                OWN_ACCOUNT
            } else {
                FOREIGN_ACCOUNT
            }),
            name => out.push_str(&concrete_name(rng, name, ctx)),
        }
    }
    out
}

/// A concrete ARN of the template's shape made from a policy's resource
/// pattern: wildcards filled in, variables resolved from the context.
fn concretize(rng: &mut Rng, pattern: &str, template: &str, ctx: &Context) -> Option<String> {
    if pattern::is_only_wildcards(pattern) {
        return None;
    }
    let t: Vec<&str> = template.splitn(6, ':').collect();
    let mut p: Vec<String> = pattern.splitn(6, ':').map(str::to_string).collect();
    if t.len() < 6 || p.is_empty() || p[0] != "arn" {
        return None;
    }
    while p.len() < 6 {
        p.push("*".into());
    }
    let fill = |rng: &mut Rng, s: &str| -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '*' => out.push_str(pick_str(rng, &["", "x", "Admin", "app/", "-1"])),
                '?' => out.push(*rng.pick(&['a', 'A', '1', '-'])),
                c => out.push(c),
            }
        }
        out
    };
    let partition = if pattern::has_wildcard(&p[1]) {
        "aws".to_string()
    } else {
        p[1].clone()
    };
    let service = if pattern::has_wildcard(&p[2]) {
        t[2].to_string()
    } else {
        p[2].clone()
    };
    let region = if t[3].is_empty() {
        String::new()
    } else if pattern::has_wildcard(&p[3]) {
        rng.pick(&REGIONS[..2]).to_string()
    } else {
        p[3].clone()
    };
    let account = if t[4].is_empty() {
        String::new()
    } else if pattern::has_wildcard(&p[4]) || p[4].contains("${") {
        (if rng.percent(85) {
            OWN_ACCOUNT
        } else {
            FOREIGN_ACCOUNT
        })
        .to_string()
    } else {
        p[4].clone()
    };
    let resolved = eval::resolve(&p[5], ctx)?;
    let rest = fill(rng, &resolved.text);
    let candidate = format!("arn:{partition}:{service}:{region}:{account}:{rest}");
    conforms(&candidate, template).then_some(candidate)
}

/// Is the ARN one of the template's shape (placeholders filled with
/// something, no wildcards left, accounts and regions as ARNs have them)?
pub fn conforms(arn: &str, template: &str) -> bool {
    if pattern::has_wildcard(arn) || arn.matches(':').count() != template.matches(':').count() {
        return false;
    }
    let glob: String = template_parts(template)
        .into_iter()
        .map(|(ph, text)| {
            if ph {
                "?*".to_string()
            } else {
                text.to_string()
            }
        })
        .collect();
    if !pattern::matches(&glob, arn, false) {
        return false;
    }
    let f: Vec<&str> = arn.splitn(6, ':').collect();
    let t: Vec<&str> = template.splitn(6, ':').collect();
    f[1] == "aws"
        && (t[3].is_empty() == f[3].is_empty())
        && (f[3].is_empty() || REGIONS.contains(&f[3]))
        && (t[4].is_empty() || roleguard::policy::is_account_id(f[4]))
        && !f[5].is_empty()
}

/// The request context: the policies' variables and condition keys, each
/// present with a value from the policy (wildcards filled in, variables
/// resolved), present with another value, or absent; multi-valued keys as
/// lists; now and then other keys. Only keys the action supports.
fn context(rng: &mut Rng, h: &Harvest, action: &PoolAction) -> Vec<(String, CtxValue)> {
    let mut out: Vec<(String, CtxValue)> = Vec::new();
    let has =
        |out: &Vec<(String, CtxValue)>, k: &str| out.iter().any(|(x, _)| x.eq_ignore_ascii_case(k));
    for var in &h.variables {
        if has(&out, var) || !rng.percent(75) {
            continue;
        }
        let (ty, multi) = key_type(var);
        let d = domain(var, ty);
        let v = if multi {
            CtxValue::Many(vec![rng.pick(d).to_string()])
        } else {
            CtxValue::One(rng.pick(d).to_string())
        };
        out.push((var.clone(), v));
    }
    let mut keys_seen: Vec<String> = Vec::new();
    for (_, k, _) in &h.conditions {
        if !keys_seen.iter().any(|x| x.eq_ignore_ascii_case(k)) {
            keys_seen.push(k.clone());
        }
    }
    for key in keys_seen {
        if has(&out, &key) {
            continue;
        }
        let (ty, multi) = key_type(&key);
        let conds: Vec<&(String, String, Vec<String>)> = h
            .conditions
            .iter()
            .filter(|(_, k, _)| k.eq_ignore_ascii_case(&key))
            .collect();
        if rng.percent(18) {
            continue; // absent
        }
        let ctx_so_far = Request {
            action: String::new(),
            resource: String::new(),
            context: out.clone(),
        }
        .eval_context();
        let one = |rng: &mut Rng| -> String {
            let roll = rng.below(100);
            // From a policy value, of a condition that compares as the key's
            // type when the key is a date (see `condition`).
            let fitting: Vec<&&(String, String, Vec<String>)> = conds
                .iter()
                .filter(|(op, _, _)| {
                    ty != KeyType::Date || operator_type(op) == Some(KeyType::Date)
                })
                .collect();
            if roll < 55 && !fitting.is_empty() {
                let (op, _, values) = **rng.pick(&fitting);
                if let Some(v) = values.get(rng.below(values.len().max(1))) {
                    return derive(rng, op, v, ty, &ctx_so_far);
                }
            }
            if roll < 96 {
                rng.pick(domain(&key, ty)).to_string()
            } else {
                rng.pick(ODD_VALUES).to_string()
            }
        };
        let value = if multi {
            let n = *rng.pick(&[0usize, 1, 1, 2, 2, 3]);
            CtxValue::Many((0..n).map(|_| one(rng)).collect())
        } else {
            CtxValue::One(one(rng))
        };
        out.push((key, value));
    }
    if rng.percent(25) {
        for _ in 0..rng.range(1, 2) {
            let key = rng.pick(COMMON_GLOBALS).to_string();
            if has(&out, &key) {
                continue;
            }
            let (ty, multi) = key_type(&key);
            let v = rng.pick(domain(&key, ty)).to_string();
            out.push((
                key,
                if multi {
                    CtxValue::Many(vec![v])
                } else {
                    CtxValue::One(v)
                },
            ));
        }
    }
    // Only what the action supports, so that the request is one IAM could see.
    out.retain(|(k, _)| supports(action, k));
    for (k, _) in out.iter_mut() {
        if rng.percent(6) {
            *k = odd_case(rng, k);
        }
    }
    rng.shuffle(&mut out);
    out
}

/// A request value derived from a policy value: variables resolved,
/// wildcards filled in, dates in the other notation, numbers nudged,
/// cases changed.
fn derive(rng: &mut Rng, op: &str, value: &str, ty: KeyType, ctx: &Context) -> String {
    let mut v = if value.contains("${") {
        match eval::resolve(value, ctx) {
            Some(flat) => flat.text.into_owned(),
            None => return rng.pick(domain("", ty)).to_string(),
        }
    } else {
        value.to_string()
    };
    let family = operator_type(op).unwrap_or(ty);
    if (op.contains("Like") || op.starts_with("Arn")) && pattern::has_wildcard(&v) {
        let mut out = String::new();
        for c in v.chars() {
            match c {
                '*' => out.push_str(pick_str(rng, &["", "x", "Admin", "/a", "-1"])),
                '?' => out.push(*rng.pick(&['a', 'A', '1'])),
                c => out.push(c),
            }
        }
        v = out;
        // A request's ARN value is an ARN, whatever the pattern's first
        // part, and whatever operator the pattern came from (a StringLike
        // on an ARN key too).
        if family == KeyType::Arn || ty == KeyType::Arn {
            if let Some((_, rest)) = v.split_once(':') {
                v = format!("arn:{rest}");
            }
        }
    }
    match family {
        KeyType::Date if rng.percent(25) => {
            if let Some(secs) = eval::condition::parse_date(&v) {
                let secs = secs as i64 + if rng.percent(50) { 0 } else { 1 };
                v = if v.bytes().all(|b| b.is_ascii_digit()) {
                    iso(secs)
                } else {
                    secs.to_string()
                };
            }
        }
        KeyType::Numeric if rng.percent(30) => {
            if let Ok(n) = v.parse::<i64>() {
                v = (n + *rng.pick(&[-1i64, 1])).to_string();
            }
        }
        KeyType::Ip => {
            if let Some((net, _)) = v.split_once('/') {
                v = net.to_string();
            }
        }
        KeyType::String | KeyType::Bool if rng.percent(20) => v = odd_case(rng, &v),
        _ => {}
    }
    v
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_case() {
        let a = case(&mut Rng::for_pair(7, 42));
        let b = case(&mut Rng::for_pair(7, 42));
        assert_eq!(a.request, b.request);
        assert_eq!(a.policies.to_json(), b.policies.to_json());
        let c = case(&mut Rng::for_pair(7, 43));
        assert_ne!(a.policies.to_json(), c.policies.to_json());
    }

    #[test]
    fn generated_cases_are_well_formed() {
        for i in 0..2000 {
            let c = case(&mut Rng::for_pair(1, i));
            let parsed = c
                .policies
                .parse()
                .unwrap_or_else(|e| panic!("pair {i}: {e}"));
            for p in parsed.all() {
                p.validate_permissions()
                    .unwrap_or_else(|e| panic!("pair {i}: {e}"));
            }
            let req = &c.request;
            assert!(catalog::catalog().lookup(&req.action).is_some(), "{req:?}");
            let a = catalog::catalog().get(catalog::catalog().lookup(&req.action).unwrap());
            let types: Vec<_> = a.resource_types().collect();
            if types.is_empty() {
                assert_eq!(req.resource, "*");
            } else {
                assert!(
                    types.iter().any(|(t, _)| conforms(&req.resource, t.arn)),
                    "pair {i}: {req:?}"
                );
            }
            for (k, _) in &req.context {
                assert!(keys::is_global(k) || a.supports_key(k), "pair {i}: {k}");
            }
        }
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            eval::condition::parse_date(&iso(1_780_315_200)),
            Some(1_780_315_200.0)
        );
    }
}
