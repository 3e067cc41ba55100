//! The fuzzing engine: a seeded PRNG, byte-level and JSON/YAML-structure
//! mutations, a small pool of inputs kept for the new outcome they gave,
//! and the loop that runs a target under `catch_unwind`.
//!
//! It is NOT coverage-guided: nothing is instrumented. An input joins the
//! pool when the target reports an outcome class it has not reported
//! before (which error, which findings): a cheap stand-in for coverage.
//!
//! Shared by the example (`examples/fuzz/main.rs`) and the regression test
//! (`tests/it/fuzz.rs`, through `#[path]`), so it uses nothing of either.

use serde_json::{Map, Number, Value};
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Once;
use std::time::{Duration, Instant};

/// splitmix64: small, fast, and the same sequence everywhere for a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }

    /// A small count, mostly 1 or 2, sometimes up to `max`.
    pub fn small(&mut self, max: usize) -> usize {
        let mut n = 1;
        while n < max && self.one_in(2) {
            n += 1;
        }
        n
    }
}

/// FNV-1a, 64 bits: stable file names and outcome classes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// How a target's inputs are written: the structure-aware mutations parse
/// and re-serialise in this form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Json,
    /// YAML (CloudFormation templates, the configuration); JSON is YAML too.
    Yaml,
}

/// One fuzz target: a function of the input text that returns its outcome
/// class (a short description: which error, which findings). A panic is a
/// crash.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&str) -> String,
    pub flavour: Flavour,
    pub seeds: Vec<Vec<u8>>,
    /// Tokens of this target's grammar, besides the shared ones.
    pub dictionary: Vec<String>,
    /// The size limit the code under test enforces, if any: now and then an
    /// input just over it is tried (it must be refused, not crash).
    pub limit: Option<usize>,
}

/// How long and where to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Stop after this long...
    pub duration: Option<Duration>,
    /// ... or after this many executions, whichever comes first.
    pub execs: Option<u64>,
    /// Where crashes and slow inputs are written (`crashes/<target>/`,
    /// `slow/<target>/`); `None` keeps them in memory only.
    pub out: Option<PathBuf>,
    /// An execution longer than this is "slow".
    pub slow: Duration,
    /// Mutated inputs are cut to this size (the oversized tries excepted).
    pub max_len: usize,
    /// At most this many inputs are kept besides the seeds.
    pub pool_cap: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            seed: 1,
            duration: None,
            execs: None,
            out: None,
            slow: Duration::from_secs(1),
            max_len: 64 * 1024,
            pool_cap: 4096,
        }
    }
}

/// A crash: the panic's location and message, and the input.
#[derive(Debug, Clone)]
pub struct Crash {
    pub site: String,
    pub message: String,
    pub input: Vec<u8>,
    pub file: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub target: String,
    pub seconds: f64,
    pub executions: u64,
    /// Executions that panicked.
    pub crashes: u64,
    /// The distinct panic sites (file:line), with the first input of each.
    pub crash_sites: Vec<Crash>,
    pub slow: u64,
    pub slowest_ms: u128,
    pub pool: usize,
    pub outcomes: usize,
    pub oversized: u64,
    pub write_errors: Vec<String>,
}

impl Summary {
    pub fn execs_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.executions as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// One line of JSON.
    pub fn json(&self) -> String {
        serde_json::json!({
            "target": self.target,
            "seconds": (self.seconds * 10.0).round() / 10.0,
            "executions": self.executions,
            "execs_per_sec": self.execs_per_sec().round(),
            "crashes": self.crashes,
            "crash_sites": self.crash_sites.len(),
            "slow": self.slow,
            "slowest_ms": self.slowest_ms,
            "pool": self.pool,
            "outcomes": self.outcomes,
            "oversized": self.oversized,
        })
        .to_string()
    }
}

// ---- panics ---------------------------------------------------------------

thread_local! {
    /// Set while a target runs on this thread: its panics are recorded, not printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The last recorded panic: (location, message with backtrace).
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Install (once per process) a panic hook that records panics on threads
/// running a target and leaves every other panic to the previous hook
/// (the test harness's, in the test binary).
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let site = info.location().map_or_else(
                    || "unknown".to_string(),
                    |l| format!("{}:{}", l.file(), l.line()),
                );
                let message = format!("{info}\n\nbacktrace:\n{}", Backtrace::force_capture());
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((site, message)));
            } else {
                previous(info);
            }
        }));
    });
}

/// Run the target on one input: its outcome class, or the panic's (site, message).
pub fn execute(run: fn(&str) -> String, input: &[u8]) -> Result<String, (String, String)> {
    install_panic_hook();
    let text = String::from_utf8_lossy(input);
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| run(&text)));
    QUIET.with(|q| q.set(false));
    result.map_err(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| ("unknown".into(), "a panic (no message recorded)".into()))
    })
}

// ---- the pool ---------------------------------------------------------------

/// An input kept for mutation, with its parse when it is JSON or YAML.
struct Entry {
    bytes: Vec<u8>,
    value: Option<Value>,
}

impl Entry {
    fn new(bytes: Vec<u8>, flavour: Flavour) -> Entry {
        let value = parse_value(&bytes, flavour);
        Entry { bytes, value }
    }
}

/// A document as a JSON value: JSON, or YAML with CloudFormation's short
/// forms (`!Ref x`) turned into their long ones (`{"Ref": x}`).
pub fn parse_value(bytes: &[u8], flavour: Flavour) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return Some(v);
    }
    if flavour == Flavour::Yaml {
        let y: serde_yaml_ng::Value = serde_yaml_ng::from_slice(bytes).ok()?;
        return Some(yaml_to_json(&y));
    }
    None
}

pub fn yaml_to_json(y: &serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match y {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s.clone(),
                    other => serde_yaml_ng::to_string(other)
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" {
                name.to_string()
            } else {
                format!("Fn::{name}")
            };
            let mut m = Map::new();
            m.insert(key, yaml_to_json(&t.value));
            Value::Object(m)
        }
    }
}

// ---- the loop ---------------------------------------------------------------

/// Run one target until the time or the executions run out, telling
/// `watch` each input before it runs (the hang watchdog keeps a copy).
pub fn fuzz_watched(target: &Target, opts: &Options, mut watch: impl FnMut(&[u8])) -> Summary {
    let start = Instant::now();
    let mut rng = Rng::new(opts.seed ^ fnv1a(target.name.as_bytes()));
    let dictionary = dictionary(target);
    let mut pool: Vec<Entry> = target
        .seeds
        .iter()
        .map(|s| Entry::new(s.clone(), target.flavour))
        .collect();
    if pool.is_empty() {
        pool.push(Entry::new(b"{}".to_vec(), target.flavour));
    }
    let seed_count = pool.len();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut sites: HashMap<String, usize> = HashMap::new();
    let mut summary = Summary {
        target: target.name.to_string(),
        ..Summary::default()
    };
    let mut next_seed = 0usize;
    loop {
        if opts.execs.is_some_and(|n| summary.executions >= n)
            || opts.duration.is_some_and(|d| start.elapsed() >= d)
        {
            break;
        }
        let input = if next_seed < seed_count {
            // Every seed runs once as it is, first.
            next_seed += 1;
            pool.get(next_seed - 1)
                .map(|e| e.bytes.clone())
                .unwrap_or_default()
        } else if target.limit.is_some() && rng.one_in(4000) {
            summary.oversized += 1;
            oversized(&mut rng, &pool, target.limit.unwrap_or(0))
        } else {
            let base = rng.below(pool.len());
            let mut out = mutate(&mut rng, base, &pool, target.flavour, &dictionary);
            out.truncate(opts.max_len);
            out
        };
        watch(&input);
        let began = Instant::now();
        let outcome = execute(target.run, &input);
        let took = began.elapsed();
        summary.executions += 1;
        summary.slowest_ms = summary.slowest_ms.max(took.as_millis());
        if took >= opts.slow {
            summary.slow += 1;
            let note = format!("{} ms\n", took.as_millis());
            save(
                opts,
                "slow",
                target.name,
                &input,
                &note,
                &mut summary.write_errors,
            );
        }
        match outcome {
            Ok(class) => {
                if seen.insert(fnv1a(class.as_bytes())) {
                    let entry = Entry::new(input, target.flavour);
                    if pool.len() < seed_count + opts.pool_cap {
                        pool.push(entry);
                    } else {
                        let at = seed_count + rng.below(opts.pool_cap);
                        if let Some(slot) = pool.get_mut(at) {
                            *slot = entry;
                        }
                    }
                }
            }
            Err((site, message)) => {
                summary.crashes += 1;
                let count = sites.entry(site.clone()).or_insert(0);
                *count += 1;
                // A few inputs per site: enough to see it, not thousands of files.
                let file = if *count <= 5 {
                    save(
                        opts,
                        "crashes",
                        target.name,
                        &input,
                        &message,
                        &mut summary.write_errors,
                    )
                } else {
                    None
                };
                if *count == 1 {
                    summary.crash_sites.push(Crash {
                        site,
                        message,
                        input,
                        file,
                    });
                }
            }
        }
    }
    summary.seconds = start.elapsed().as_secs_f64();
    summary.pool = pool.len();
    summary.outcomes = seen.len();
    summary
}

/// Write `<out>/<kind>/<target>/<hash>.bin` and a `.txt` beside it.
fn save(
    opts: &Options,
    kind: &str,
    target: &str,
    input: &[u8],
    note: &str,
    errors: &mut Vec<String>,
) -> Option<PathBuf> {
    let dir = opts.out.as_ref()?.join(kind).join(target);
    let file = dir.join(format!("{:016x}.bin", fnv1a(input)));
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, input))
        .and_then(|()| std::fs::write(file.with_extension("txt"), note));
    match written {
        Ok(()) => Some(file),
        Err(e) => {
            if errors.len() < 10 {
                errors.push(format!("{}: {e}", file.display()));
            }
            None
        }
    }
}

/// An input just over the target's limit: a pool entry padded with
/// whitespace (still valid JSON/YAML), so the size check, not the parser,
/// must refuse it.
fn oversized(rng: &mut Rng, pool: &[Entry], limit: usize) -> Vec<u8> {
    let mut out = pool
        .get(rng.below(pool.len()))
        .map(|e| e.bytes.clone())
        .unwrap_or_default();
    let want = limit + 1 + rng.below(64);
    let pad = if rng.one_in(2) { b' ' } else { b'\n' };
    out.resize(want.max(out.len()), pad);
    out
}

// ---- mutations --------------------------------------------------------------

/// The shared grammar tokens: JSON/YAML syntax, IAM policy grammar,
/// CloudTrail and CloudFormation names, awkward text.
const TOKENS: &[&str] = &[
    // IAM policy grammar
    "*",
    "?",
    "**",
    "iam:*",
    "*:*",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey",
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
    "sts:TagSession",
    "s3:GetObject",
    "s3:*",
    "lambda:CreateFunction",
    "lambda:InvokeFunction",
    "ec2:RunInstances",
    "Version",
    "2012-10-17",
    "2008-10-17",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Allow",
    "Deny",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "AWS",
    "Service",
    "Federated",
    "CanonicalUser",
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringEqualsIfExists",
    "ForAllValues:StringLike",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringEquals",
    "ArnLike",
    "ArnNotLike",
    "ArnEquals",
    "Bool",
    "Null",
    "IpAddress",
    "NotIpAddress",
    "NumericLessThan",
    "NumericEquals",
    "DateGreaterThan",
    "BinaryEquals",
    "IfExists",
    "aws:PrincipalOrgID",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceIp",
    "aws:MultiFactorAuthPresent",
    "aws:username",
    "aws:ResourceTag/team",
    "aws:RequestTag/roleguard:status",
    "aws:TagKeys",
    "sts:ExternalId",
    "iam:PermissionsBoundary",
    "iam:PassedToService",
    "iam:PolicyARN",
    "token.actions.githubusercontent.com:sub",
    "token.actions.githubusercontent.com:aud",
    "repo:org/*",
    "repo:org/app:ref:refs/heads/main",
    "${aws:username}",
    "${aws:PrincipalTag/team}",
    "${*}",
    "${?}",
    "${$}",
    "${",
    "}",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:root",
    "arn:aws:iam::*:role/*",
    "arn:aws:iam::111122223333:role/app",
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::111122223333:role/roleguard-function",
    "arn:aws:iam::111122223333:policy/developer-boundary",
    "arn:aws:sts::111122223333:assumed-role/deployer/roleguard",
    "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
    "arn:aws:iam::111122223333:saml-provider/okta",
    "arn:aws-cn:iam::",
    "arn:",
    ":",
    "::",
    "/",
    "lambda.amazonaws.com",
    "ec2.amazonaws.com",
    "cloudformation.amazonaws.com",
    "amazonaws.com",
    "accounts.google.com",
    "cognito-identity.amazonaws.com",
    "111122223333",
    "444455556666",
    "123456789012",
    "o-abcdefghij",
    "roleguard:",
    "roleguard:status",
    "/aws-service-role/",
    "AWSServiceRoleForECS",
    // CloudTrail
    "eventName",
    "eventSource",
    "iam.amazonaws.com",
    "detail",
    "detail-type",
    "userIdentity",
    "sessionContext",
    "sessionIssuer",
    "arn",
    "type",
    "AssumedRole",
    "invokedBy",
    "sourceIPAddress",
    "recipientAccountId",
    "errorCode",
    "AccessDenied",
    "requestParameters",
    "responseElements",
    "policyDocument",
    "assumeRolePolicyDocument",
    "policyArn",
    "roleName",
    "policyName",
    "versionId",
    "v2",
    "setAsDefault",
    "permissionsBoundary",
    "maxSessionDuration",
    "tags",
    "tagKeys",
    "key",
    "value",
    "path",
    "HIDDEN_DUE_TO_SECURITY_REASONS",
    "omitted",
    // CloudFormation
    "Resources",
    "Type",
    "Properties",
    "Parameters",
    "Conditions",
    "Outputs",
    "Default",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::Serverless::Function",
    "AWS::Lambda::Function",
    "Policies",
    "PolicyDocument",
    "PolicyName",
    "AssumeRolePolicyDocument",
    "ManagedPolicyArns",
    "PermissionsBoundary",
    "MaxSessionDuration",
    "Roles",
    "RoleName",
    "Path",
    "Fn::If",
    "Fn::Sub",
    "Fn::Join",
    "Fn::GetAtt",
    "Fn::Select",
    "Fn::Split",
    "Fn::ImportValue",
    "Fn::FindInMap",
    "Ref",
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::Region",
    "AWS::NoValue",
    "${AWS::AccountId}",
    // syntax and awkward text
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "\\\"",
    ",",
    "\n",
    "\t",
    "\r\n",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "%7B",
    "%22",
    "%",
    "%%",
    "%ZZ",
    "%00",
    "%C3%A9",
    "\\u0000",
    "\\ud800",
    "\\u00e9",
    "\u{feff}",
    "é",
    "İ",
    "ß",
    "ﬀ",
    "\u{200b}",
    "\u{202e}",
    "😀",
    "\u{0}",
    "\u{7f}",
    "0",
    "-1",
    "-0",
    "1e309",
    "-1e309",
    "4294967296",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775809",
    "0.0000001",
    "1.5",
    "3600",
    "43200",
    "900",
];

/// The YAML-only tokens.
const YAML_TOKENS: &[&str] = &[
    "!Ref ",
    "!Sub ",
    "!If ",
    "!GetAtt ",
    "!Join ",
    "!Select ",
    "!Split ",
    "!Not ",
    "!Equals ",
    "!ImportValue ",
    "!FindInMap ",
    "!!binary ",
    "!!str ",
    "!!int ",
    "!!map ",
    "!!seq ",
    "!!null ",
    "!!float ",
    "&a ",
    "*a",
    "<<: *a",
    "---\n",
    "...\n",
    "? ",
    "- ",
    ": ",
    "|\n",
    ">-\n",
    "~",
    "'",
    "\n  ",
    "\n    - ",
    "#",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "{a: 1}",
    "[a, b]",
    "yes",
    "no",
    "on",
    "off",
    "0x1F",
    "0o17",
    ".inf",
    ".nan",
    "1_000",
];

fn dictionary(target: &Target) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = TOKENS.iter().map(|t| t.as_bytes().to_vec()).collect();
    if target.flavour == Flavour::Yaml {
        out.extend(YAML_TOKENS.iter().map(|t| t.as_bytes().to_vec()));
    }
    out.extend(target.dictionary.iter().map(|t| t.as_bytes().to_vec()));
    out
}

fn mutate(
    rng: &mut Rng,
    base: usize,
    pool: &[Entry],
    flavour: Flavour,
    dict: &[Vec<u8>],
) -> Vec<u8> {
    let Some(entry) = pool.get(base) else {
        return Vec::new();
    };
    let (mut out, structural) = match &entry.value {
        Some(v) if rng.one_in(2) => (structural(rng, v, pool, flavour, dict), true),
        _ => (entry.bytes.clone(), false),
    };
    // A structural mutation often stands alone: valid documents reach further.
    let bytewise = if structural && rng.one_in(2) {
        0
    } else {
        rng.small(8)
    };
    for _ in 0..bytewise {
        byte_mutation(rng, &mut out, pool, dict);
    }
    out
}

/// A random range `a..b` of `0..len`, mostly short.
fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    let a = rng.below(len + 1);
    let room = len - a;
    let max = if rng.one_in(8) { room } else { room.min(32) };
    (a, a + rng.below(max + 1))
}

fn token(rng: &mut Rng, dict: &[Vec<u8>]) -> Vec<u8> {
    rng.pick(dict).cloned().unwrap_or_default()
}

fn insert(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let at = at.min(data.len());
    data.splice(at..at, bytes.iter().copied());
}

const INTERESTING: &[u8] = b"\x00\xff\x7f\x80\xc0\xc3\xe2\xf0\"'{}[]:,\\*?%$&!#-|>\n\r\t 0189aA";

fn byte_mutation(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Entry], dict: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(16) {
        0 => {
            let bit = rng.below(8);
            if let Some(b) = data.get_mut(rng.below(len)) {
                *b ^= 1 << bit;
            }
        }
        1 => {
            let v = rng.pick(INTERESTING).copied().unwrap_or(0);
            if let Some(b) = data.get_mut(rng.below(len)) {
                *b = v;
            }
        }
        2 => {
            let n = rng.small(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            let at = rng.below(len + 1);
            insert(data, at, &bytes);
        }
        3 => {
            let (a, b) = range(rng, len);
            data.drain(a..b);
        }
        4 => {
            // Duplicate a range (a key, a statement, a bracket run).
            let (a, b) = range(rng, len);
            let chunk = data.get(a..b).map(<[u8]>::to_vec).unwrap_or_default();
            let at = rng.below(len + 1);
            insert(data, at, &chunk);
        }
        5 => {
            // Splice a piece of another input in.
            if let Some(other) = pool.get(rng.below(pool.len())) {
                let (a, b) = range(rng, other.bytes.len());
                let chunk = other.bytes.get(a..b).unwrap_or_default();
                let at = rng.below(len + 1);
                insert(data, at, chunk);
            }
        }
        6 => {
            // Crossover: this input's head, another's tail.
            if let Some(other) = pool.get(rng.below(pool.len())) {
                data.truncate(rng.below(len + 1));
                let from = rng.below(other.bytes.len() + 1);
                data.extend_from_slice(other.bytes.get(from..).unwrap_or_default());
            }
        }
        7 | 8 => {
            let t = token(rng, dict);
            let at = rng.below(len + 1);
            insert(data, at, &t);
        }
        9 => replace_quoted(rng, data, dict),
        10 => replace_number(rng, data),
        11 => {
            // A long run of one character (a long string, a long name).
            let n = if rng.one_in(4) {
                1 + rng.below(70_000)
            } else {
                1 + rng.below(2_000)
            };
            let c = rng.pick(b"a*?$ {[\"\\%\n9").copied().unwrap_or(b'a');
            let at = rng.below(len + 1);
            insert(data, at, &vec![c; n]);
        }
        12 => {
            // Deep nesting, around the parsers' recursion limits.
            let depth = 1 + rng.below(300);
            let (open, close): (&[u8], &[u8]) = match rng.below(4) {
                0 => (b"[", b"]"),
                1 => (b"{\"a\":", b"}"),
                2 => (b"{\"Statement\":", b"}"),
                _ => (b"- ", b""),
            };
            let mut nest = open.repeat(depth);
            nest.extend_from_slice(b"1");
            nest.extend_from_slice(&close.repeat(depth));
            let at = rng.below(len + 1);
            insert(data, at, &nest);
        }
        13 => {
            data.truncate(rng.below(len + 1));
        }
        14 => {
            // Overwrite a range with a token.
            let (a, b) = range(rng, len);
            let t = token(rng, dict);
            data.splice(a..b, t);
        }
        _ => {
            // Swap two bytes.
            let (i, j) = (rng.below(len), rng.below(len));
            if i < len && j < len {
                data.swap(i, j);
            }
        }
    }
}

/// Replace the text of a quoted string (found from a random point) with a token.
fn replace_quoted(rng: &mut Rng, data: &mut Vec<u8>, dict: &[Vec<u8>]) {
    let from = rng.below(data.len());
    let Some(open) = data
        .iter()
        .skip(from)
        .position(|&b| b == b'"')
        .map(|p| p + from + 1)
    else {
        return;
    };
    let Some(close) = data
        .iter()
        .skip(open)
        .position(|&b| b == b'"')
        .map(|p| p + open)
    else {
        return;
    };
    let t = token(rng, dict);
    if rng.one_in(3) {
        // Into the string, not over it: "iam:Pass" + "*" + "Role".
        let at = open + rng.below(close - open + 1);
        insert(data, at, &t);
    } else {
        data.splice(open..close, t);
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "00",
    "0.5",
    "1e3",
    "1e309",
    "-1e309",
    "3600",
    "3601",
    "43200",
    "43201",
    "899",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012",
    "1234567890123",
    "99999999999999999999999999999999",
];

/// Replace a run of digits with an interesting number.
fn replace_number(rng: &mut Rng, data: &mut Vec<u8>) {
    let from = rng.below(data.len());
    let Some(start) = data
        .iter()
        .skip(from)
        .position(u8::is_ascii_digit)
        .map(|p| p + from)
    else {
        return;
    };
    let end = data
        .iter()
        .skip(start)
        .position(|b| !b.is_ascii_digit())
        .map_or(data.len(), |p| p + start);
    let n = rng.pick(NUMBERS).copied().unwrap_or("0");
    data.splice(start..end, n.bytes());
}

// ---- structure-aware mutations --------------------------------------------

fn structural(
    rng: &mut Rng,
    value: &Value,
    pool: &[Entry],
    flavour: Flavour,
    dict: &[Vec<u8>],
) -> Vec<u8> {
    let mut v = value.clone();
    for _ in 0..rng.small(4) {
        mutate_value(rng, &mut v, pool, dict);
    }
    serialise(rng, &v, flavour)
}

fn serialise(rng: &mut Rng, v: &Value, flavour: Flavour) -> Vec<u8> {
    match rng.below(16) {
        // As a JSON string holding the document (CloudTrail's form).
        0 => serde_json::to_vec(&Value::String(v.to_string())).unwrap_or_default(),
        // URL-encoded (IAM's GetRolePolicy form).
        1 => percent_encode(&v.to_string()).into_bytes(),
        2..=5 => serde_json::to_vec_pretty(v).unwrap_or_default(),
        6..=10 if flavour == Flavour::Yaml => serde_yaml_ng::to_string(v)
            .map(String::into_bytes)
            .unwrap_or_default(),
        _ => serde_json::to_vec(v).unwrap_or_default(),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// The `k`-th node in pre-order.
fn nth_mut<'a>(v: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    if *k == 0 {
        return Some(v);
    }
    *k -= 1;
    match v {
        Value::Array(a) => {
            for x in a.iter_mut() {
                if let Some(found) = nth_mut(x, k) {
                    return Some(found);
                }
            }
            None
        }
        Value::Object(m) => {
            for x in m.values_mut() {
                if let Some(found) = nth_mut(x, k) {
                    return Some(found);
                }
            }
            None
        }
        _ => None,
    }
}

fn random_node(rng: &mut Rng, v: &Value) -> Option<Value> {
    let mut k = rng.below(count_nodes(v));
    let mut copy = v.clone();
    nth_mut(&mut copy, &mut k).map(|n| n.take())
}

fn token_string(rng: &mut Rng, dict: &[Vec<u8>]) -> String {
    String::from_utf8_lossy(&token(rng, dict)).into_owned()
}

fn random_scalar(rng: &mut Rng, dict: &[Vec<u8>]) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => Value::from(rng.next_u64()),
        3 => Value::from(-(rng.below(100_000) as i64)),
        4 => Number::from_f64(f64::MAX).map_or(Value::Null, Value::Number),
        5 => Value::Array(vec![]),
        6 => Value::Object(Map::new()),
        _ => Value::String(token_string(rng, dict)),
    }
}

/// A value from elsewhere: a piece of another pool input, or a scalar.
fn donor(rng: &mut Rng, pool: &[Entry], dict: &[Vec<u8>]) -> Value {
    if rng.one_in(2) {
        if let Some(Some(v)) = pool.get(rng.below(pool.len())).map(|e| e.value.as_ref()) {
            if let Some(n) = random_node(rng, v) {
                return n;
            }
        }
    }
    random_scalar(rng, dict)
}

fn mutate_value(rng: &mut Rng, root: &mut Value, pool: &[Entry], dict: &[Vec<u8>]) {
    let mut k = rng.below(count_nodes(root));
    let pick = rng.below(14);
    let Some(node) = nth_mut(root, &mut k) else {
        return;
    };
    match pick {
        0 => *node = random_scalar(rng, dict),
        1 => *node = Value::String(token_string(rng, dict)),
        2 => {
            // string <-> list
            *node = match node.take() {
                Value::Array(mut a) if !a.is_empty() => {
                    let i = rng.below(a.len());
                    a.swap_remove(i)
                }
                other => Value::Array(vec![other, Value::String(token_string(rng, dict))]),
            }
        }
        3 => {
            if let Value::Object(m) = node {
                let i = rng.below(m.len());
                if let Some(key) = m.keys().nth(i).cloned() {
                    m.shift_remove(&key);
                }
            }
        }
        4 => {
            // A new key of the grammar, with a value from elsewhere.
            let key = token_string(rng, dict);
            let value = donor(rng, pool, dict);
            match node {
                Value::Object(m) => {
                    m.insert(key, value);
                }
                other => {
                    let mut m = Map::new();
                    m.insert(key, value);
                    *other = Value::Object(m);
                }
            }
        }
        5 => {
            // Rename a key (Action -> NotAction, StringLike -> ForAllValues:StringLike).
            if let Value::Object(m) = node {
                let i = rng.below(m.len());
                if let Some(key) = m.keys().nth(i).cloned() {
                    if let Some(value) = m.shift_remove(&key) {
                        let new = match rng.below(4) {
                            0 => format!("Not{key}"),
                            1 => format!("ForAllValues:{key}"),
                            2 => format!("{key}IfExists"),
                            _ => token_string(rng, dict),
                        };
                        m.insert(new, value);
                    }
                }
            }
        }
        6 => *node = donor(rng, pool, dict),
        7 => {
            // Stringify a subtree, or parse a string that holds JSON.
            *node = match node.take() {
                Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                other => Value::String(other.to_string()),
            }
        }
        8 => {
            if let Value::String(s) = node {
                *s = percent_encode(s);
            }
        }
        9 => {
            // Grow a list: copies of an element, sometimes many.
            if let Value::Array(a) = node {
                if let Some(x) = a.get(rng.below(a.len())).cloned() {
                    let n = if rng.one_in(8) { 1 + rng.below(500) } else { 1 };
                    for _ in 0..n {
                        a.push(x.clone());
                    }
                }
            }
        }
        10 | 11 => {
            // Edit a string's text: a token into it, a wildcard, a case change.
            if let Value::String(s) = node {
                let t = token_string(rng, dict);
                *s = match rng.below(5) {
                    0 => format!("{s}{t}"),
                    1 => format!("{t}{s}"),
                    2 => s.to_uppercase(),
                    3 => {
                        let cut = (0..=rng.below(s.len() + 1))
                            .rev()
                            .find(|&i| s.is_char_boundary(i))
                            .unwrap_or(0);
                        let (a, b) = s.split_at(cut);
                        format!("{a}*{b}")
                    }
                    _ => s.repeat(1 + rng.below(50)),
                };
            }
        }
        12 => {
            // Wrap: x -> [x], x -> {"token": x}.
            let inner = node.take();
            *node = if rng.one_in(2) {
                Value::Array(vec![inner])
            } else {
                let mut m = Map::new();
                m.insert(token_string(rng, dict), inner);
                Value::Object(m)
            };
        }
        _ => {
            // A number that hurts.
            *node = match rng.below(5) {
                0 => Value::from(u64::MAX),
                1 => Value::from(i64::MIN),
                2 => Value::from(-1),
                3 => Number::from_f64(1e300).map_or(Value::Null, Value::Number),
                _ => Value::from(rng.below(100_000)),
            };
        }
    }
}

/// Cut a crashing input down while it still panics at the same site:
/// ranges removed by halves, then single bytes, until nothing more goes.
pub fn minimise(run: fn(&str) -> String, input: &[u8], site: &str) -> Vec<u8> {
    let still_crashes =
        |candidate: &[u8]| matches!(execute(run, candidate), Err((s, _)) if s == site);
    let mut best = input.to_vec();
    let mut chunk = best.len().max(1) / 2;
    while chunk >= 1 {
        let mut at = 0;
        let mut progress = false;
        while at < best.len() {
            let end = (at + chunk).min(best.len());
            let mut candidate = best.clone();
            candidate.drain(at..end);
            if still_crashes(&candidate) {
                best = candidate;
                progress = true;
            } else {
                at += chunk;
            }
        }
        if !progress {
            chunk /= 2;
        }
    }
    best
}
