//! The fuzz targets: roleguard's pure core through its public API, and the
//! seeds of each from the repository's samples.
//!
//! Each target returns its outcome class: a short text naming the error
//! (its first words, digits and quoted parts left out) or the findings
//! (rule and severity), which the engine uses to keep inputs that reach
//! something new.

use super::engine::{yaml_to_json, Flavour, Target};
use roleguard::check::{self, CheckResult, Kind};
use roleguard::config::Config;
use roleguard::event::Event;
use roleguard::plan;
use roleguard::policy::{self, Policy};
use roleguard::template;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The account the policies are judged in (as `roleguard check --account`).
const ACCOUNT: &str = "111122223333";

pub const NAMES: &[&str] = &["policy", "event", "template", "config", "check"];

/// The repository's root, where `events/` and `tests/` are.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A target by name, with its seeds read from `root`.
pub fn target(name: &str, root: &Path) -> Option<Target> {
    let seeds = Seeds::read(root);
    let rules: Vec<String> = roleguard::rules::RULES
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    let calls: Vec<String> = roleguard::event::HANDLED
        .iter()
        .map(|c| c.to_string())
        .collect();
    let t = match name {
        "policy" => Target {
            name: "policy",
            run: run_policy,
            flavour: Flavour::Json,
            seeds: seeds.policies,
            dictionary: vec![],
            limit: Some(policy::MAX_DOCUMENT_BYTES),
        },
        "event" => Target {
            name: "event",
            run: run_event,
            flavour: Flavour::Json,
            seeds: [seeds.events, seeds.policies_as_events].concat(),
            dictionary: calls,
            limit: Some(roleguard::event::MAX_EVENT_BYTES),
        },
        "template" => Target {
            name: "template",
            run: run_template,
            flavour: Flavour::Yaml,
            seeds: seeds.templates,
            dictionary: vec![],
            limit: Some(template::MAX_TEMPLATE_BYTES),
        },
        "config" => Target {
            name: "config",
            run: run_config,
            flavour: Flavour::Yaml,
            seeds: seeds.configs,
            dictionary: [rules, config_tokens()].concat(),
            limit: None,
        },
        "check" => Target {
            name: "check",
            run: run_check,
            flavour: Flavour::Json,
            seeds: seeds.all,
            dictionary: calls,
            limit: Some(policy::MAX_DOCUMENT_BYTES),
        },
        _ => return None,
    };
    Some(t)
}

fn config_tokens() -> Vec<String> {
    [
        "account",
        "organization_id",
        "trusted_accounts",
        "allowed_services",
        "confused_deputy_exempt_services",
        "allowed_oidc_providers",
        "allowed_oidc_subjects",
        "exempt_roles",
        "names",
        "paths",
        "service_linked",
        "own_roles",
        "remediation_role",
        "max_session_duration",
        "required_boundary",
        "forbid_inline_policies",
        "quarantine",
        "revert_at",
        "audit_retention_days",
        "scan_remediate",
        "scan_accounts",
        "denied_managed_policies",
        "rules",
        "enabled",
        "severity",
        "action",
        "info",
        "low",
        "medium",
        "high",
        "critical",
        "revert",
        "tag",
        "notify",
        "quarantine",
        "#env\n",
        "\nROLEGUARD_OWN_ROLES=",
        "\nROLEGUARD_TRUSTED_ACCOUNTS=",
        "\nROLEGUARD_ORGANIZATION_ID=",
        "\nROLEGUARD_REQUIRED_BOUNDARY=",
        "break-glass-*",
        "/legacy/*",
        "*.amazonaws.com",
        "[!a]",
        "[",
        "\\",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

// ---- outcome classes --------------------------------------------------------

/// An error's shape: for `PATH: problem` (or the configuration's
/// ``configuration key `PATH`: problem``), the path's first name and depth,
/// since its names come from the input; then the problem's first words, up
/// to the first quote (quoted parts are the input's too), digits left out.
/// Finer classes make nearly every input "new" and the pool a random sample.
fn error_class(e: &str) -> String {
    // A path's first name when it is one of the grammar's (snake_case for
    // the configuration), and its depth up to 6.
    let shape = |path: &str| {
        let first = path.split(['.', '[']).next().unwrap_or_default();
        let known = first == "Statement"
            || (!first.is_empty() && first.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        let depth = path.matches(['.', '[']).count().min(6);
        format!("{}/{depth}:", if known { first } else { "?" })
    };
    let (mut out, problem) = if let Some(rest) = e.strip_prefix("configuration key `") {
        match rest.split_once("`: ") {
            Some((path, problem)) => (format!("config:{}", shape(path)), problem),
            None => (String::from("config:"), rest),
        }
    } else {
        match e.split_once(": ") {
            Some((path, rest)) if !path.contains(' ') => (shape(path), rest),
            _ => (String::new(), e),
        }
    };
    for c in problem.chars() {
        if out.len() >= 48 || matches!(c, '"' | '`' | '\'' | '\n') {
            break;
        }
        if !c.is_ascii_digit() {
            out.push(c);
        }
    }
    out
}

/// The findings' rules and severities, or the error.
fn result_class(r: &CheckResult) -> String {
    if let Some(e) = &r.error {
        return format!("E:{}", error_class(e));
    }
    let findings: BTreeSet<String> = r
        .findings
        .iter()
        .map(|f| format!("{}={:?}", f.rule, f.severity))
        .collect();
    let plan = r
        .plan
        .as_ref()
        .map(|steps| {
            steps
                .iter()
                .map(|s| s.action())
                .collect::<Vec<_>>()
                .join("+")
        })
        .unwrap_or_default();
    format!(
        "{:?}:{}:{plan}:{}",
        r.kind,
        findings.into_iter().collect::<Vec<_>>().join(","),
        r.skipped.is_some()
    )
}

/// Several results: the set of their classes and how many there were (bucketed).
fn results_class(rs: &[CheckResult]) -> String {
    let classes: BTreeSet<String> = rs.iter().map(result_class).collect();
    format!(
        "n{}|{}",
        rs.len().next_power_of_two(),
        classes.into_iter().collect::<Vec<_>>().join("|")
    )
}

fn either<T, E: std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("E:{}", error_class(&e.to_string())),
    }
}

// ---- configurations ---------------------------------------------------------

fn default_config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(Config::default)
}

/// A deployment's settings: own roles, a remediation role, a boundary,
/// an organisation, trusted accounts, quarantine.
fn deployed_config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| {
        let mut c = Config {
            own_roles: vec!["arn:aws:iam::111122223333:role/roleguard-function".into()],
            remediation_role: Some("roleguard-remediation".into()),
            required_boundary: Some("arn:aws:iam::111122223333:policy/developer-boundary".into()),
            organization_id: Some("o-abcdefghij".into()),
            trusted_accounts: vec!["444455556666".into()],
            quarantine: true,
            forbid_inline_policies: true,
            ..Config::default()
        };
        c.exempt_roles.names = vec!["break-glass-*".into()];
        c
    })
}

// ---- targets ----------------------------------------------------------------

/// A permission or trust policy: parsed by the core's parser, then judged
/// as `roleguard check --kind permissions|trust` judges it.
pub fn run_policy(text: &str) -> String {
    let parsed = Policy::parse(text);
    let validity = match &parsed {
        Ok(p) => format!(
            "{}{}",
            either(&p.validate_permissions()),
            either(&p.validate_trust())
        ),
        Err(e) => format!("E:{}", error_class(&e.to_string())),
    };
    let detected = policy::decode(text)
        .map(|v| check::detect(&v).as_str())
        .unwrap_or("-");
    let config = default_config();
    let perms = check::check_text(
        "p.json",
        text,
        Some(Kind::Permissions),
        config,
        Some(ACCOUNT),
    );
    let trust = check::check_text("t.json", text, Some(Kind::Trust), config, Some(ACCOUNT));
    format!(
        "{validity}|{detected}|{}|{}",
        result_class(&perms),
        result_class(&trust)
    )
}

/// A CloudTrail event: parsed, its change read, and the Lambda's plan made
/// under the default configuration and a deployment's.
pub fn run_event(text: &str) -> String {
    let event = match Event::parse(text) {
        Ok(e) => e,
        Err(e) => return format!("E:{}", error_class(&e.to_string())),
    };
    let change = either(&event.change());
    let facts = format!(
        "{}{}{}{}{}",
        event.missing_document().unwrap_or("-"),
        event.actor().is_some(),
        event.actor_role().is_some(),
        event.actor_session().is_some(),
        event.by_cloudformation()
    );
    let mut out = format!("{change}|{facts}");
    for config in [default_config(), deployed_config()] {
        match plan::assess(&event, config) {
            Ok(a) => {
                let steps: Vec<String> = a
                    .plan
                    .iter()
                    .map(roleguard::report::describe_step)
                    .collect();
                let rules: BTreeSet<&str> = a
                    .judgement
                    .findings
                    .iter()
                    .map(|f| f.rule.as_str())
                    .collect();
                out.push_str(&format!(
                    "|{}:{}:{}",
                    steps.len(),
                    rules.into_iter().collect::<Vec<_>>().join(","),
                    a.skipped.is_some()
                ));
            }
            Err(e) => out.push_str(&format!("|E:{}", error_class(&e.to_string()))),
        }
    }
    out
}

/// A CloudFormation or SAM template: its IAM parts extracted (first
/// branches, then every variant of its `Fn::If`s) and judged as `roleguard
/// check` judges a template.
pub fn run_template(text: &str) -> String {
    let first = template::extract(text, None).map(|x| x.parts.len());
    let variants = template::extract_variants(text, Some(ACCOUNT)).map(|v| v.len());
    let results = check::check_template("t.yaml", text, default_config(), None);
    format!(
        "{}:{}|{}|{}",
        either(&first),
        first.as_ref().map_or(0, |n| n.next_power_of_two()),
        variants.as_ref().map_or(0, |n| n.next_power_of_two()),
        results_class(&results)
    )
}

/// A configuration: YAML, then the deployment's environment variables
/// (lines `NAME=VALUE` after a line `#env`), then a few fixed inputs judged
/// with it (its globs and lists at work).
pub fn run_config(text: &str) -> String {
    let (yaml, env) = match text.split_once("#env\n") {
        Some((y, e)) => (y, Some(e)),
        None => (text, None),
    };
    let mut config = match Config::from_yaml(yaml) {
        Ok(c) => c,
        Err(e) => return format!("E:{}", error_class(&e.to_string())),
    };
    let mut out = String::from("ok");
    if let Some(env) = env {
        let vars: Vec<(&str, &str)> = env.lines().filter_map(|l| l.split_once('=')).collect();
        let applied = config.apply_env(|name| {
            vars.iter()
                .rev()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        });
        out.push_str(&format!("|env:{}", either(&applied)));
    }
    // What the probes gave, together: per probe, the findings of every
    // configuration would multiply into too many classes.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (path, probe) in PROBES {
        let r = check::check_text(path, probe, None, &config, None);
        match &r.error {
            Some(e) => {
                seen.insert(format!("E:{}", error_class(e)));
            }
            None => seen.extend(
                r.findings
                    .iter()
                    .map(|f| format!("{}={:?}", f.rule, f.severity)),
            ),
        }
    }
    out.push('|');
    out.push_str(&seen.into_iter().collect::<Vec<_>>().join(","));
    out
}

/// Inputs judged under each fuzzed configuration.
const PROBES: &[(&str, &str)] = &[
    (
        "trust.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root","Service":["lambda.amazonaws.com","glue.amazonaws.com"]},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/*"}}}]}"#,
    ),
    (
        "permissions.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","s3:PutObject"],"Resource":"*"}]}"#,
    ),
    (
        "attach.json",
        include_str!("../../events/attach-admin.noncompliant.json"),
    ),
    (
        "boundary.json",
        include_str!("../../events/put-boundary-other.needs-boundary-config.json"),
    ),
    (
        "session.json",
        include_str!("../../events/update-role-12h-session.noncompliant.json"),
    ),
];

/// Whatever `roleguard check FILE` does with one file's text: the kind
/// detected, one result per input (per part for templates, per role for
/// descriptions of roles), then rendered as text, JSON and SARIF.
pub fn run_check(text: &str) -> String {
    let config = deployed_config();
    let mut results = check::check_input("input.json", text, None, config, None);
    check::add_statement_lines(&mut results, text);
    let rendered = roleguard::report::text(&results).len()
        + roleguard::report::json(&results).len()
        + roleguard::report::sarif(&results).len();
    format!("{}|{}", results_class(&results), rendered > 0)
}

// ---- seeds ------------------------------------------------------------------

/// The samples of the repository, sorted by target.
#[derive(Default)]
struct Seeds {
    policies: Vec<Vec<u8>>,
    /// Documents from the events' request parameters, as bare events.
    policies_as_events: Vec<Vec<u8>>,
    events: Vec<Vec<u8>>,
    templates: Vec<Vec<u8>>,
    configs: Vec<Vec<u8>>,
    /// Every JSON sample: `roleguard check` takes any of them.
    all: Vec<Vec<u8>>,
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

impl Seeds {
    fn read(root: &Path) -> Seeds {
        let mut s = Seeds::default();
        for path in files(&root.join("tests/fixtures/policies")) {
            if let Ok(bytes) = std::fs::read(&path) {
                s.policies.push(bytes);
            }
        }
        for path in files(&root.join("events")) {
            if let Ok(bytes) = std::fs::read(&path) {
                // The documents the events carry are policies too.
                if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                    let params = v
                        .pointer("/detail/requestParameters")
                        .or_else(|| v.get("requestParameters"));
                    if let Some(Value::Object(p)) = params {
                        for (k, doc) in p {
                            if let (true, Value::String(d)) = (k.ends_with("Document"), doc) {
                                s.policies.push(d.clone().into_bytes());
                            }
                        }
                    }
                    if let Some(detail) = v.get("detail") {
                        s.policies_as_events.push(json_bytes(detail));
                    }
                }
                s.events.push(bytes);
            }
        }
        for name in ["template.yaml", "template-member.yaml"] {
            if let Ok(bytes) = std::fs::read(root.join(name)) {
                s.templates.push(bytes);
            }
        }
        if let Ok(bytes) = std::fs::read(root.join("config/roleguard.yaml")) {
            s.configs.push(bytes);
        }
        s.configs
            .extend(CONFIGS.iter().map(|c| c.as_bytes().to_vec()));
        for path in files(&root.join("tests/verdicts")) {
            if path.extension().is_some_and(|e| e == "yaml") {
                s.verdicts(&path);
            }
        }
        s.all = [
            s.policies.clone(),
            s.events.clone(),
            s.all.clone(),
            s.templates
                .iter()
                .filter_map(|t| super::engine::parse_value(t, Flavour::Yaml))
                .map(|v| json_bytes(&v))
                .collect(),
        ]
        .concat();
        s
    }

    /// The inputs and configurations of the verdict corpus's cases.
    fn verdicts(&mut self, path: &Path) {
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let Ok(serde_yaml_ng::Value::Sequence(cases)) = serde_yaml_ng::from_str(&text) else {
            return;
        };
        for case in &cases {
            if let Some(c) = case.get("config").and_then(|c| c.as_str()) {
                self.configs.push(c.as_bytes().to_vec());
            }
            let Some(input) = case.get("input") else {
                continue;
            };
            for key in ["permissions", "trust"] {
                if let Some(doc) = input.get(key) {
                    self.policies.push(json_bytes(&yaml_to_json(doc)));
                }
            }
            if let Some(event) = input.get("event") {
                self.events.push(json_bytes(&yaml_to_json(event)));
            }
            if let Some(t) = input.get("template") {
                // As YAML (the tags kept) and as JSON.
                if let Ok(y) = serde_yaml_ng::to_string(t) {
                    self.templates.push(y.into_bytes());
                }
                self.all.push(json_bytes(&yaml_to_json(t)));
            }
            if let Some(role) = input.get("role") {
                self.all.push(json_bytes(&yaml_to_json(role)));
            }
        }
    }
}

/// Configurations besides the default and the verdict cases': the README's
/// example, and some with the deployment's environment variables.
const CONFIGS: &[&str] = &[
    "account: \"111122223333\"\norganization_id: o-abcdefghij\ntrusted_accounts: [\"444455556666\"]\nexempt_roles: {names: [\"break-glass-*\"]}\nrequired_boundary: arn:aws:iam::111122223333:policy/developer-boundary\nrules:\n  trust-service-confused-deputy: {enabled: false}\n  perm-write-unconstrained: {severity: high, action: tag}\n",
    "quarantine: true\nforbid_inline_policies: true\nmax_session_duration: 7200\nrevert_at: high\nallowed_services: [\"lambda.amazonaws.com\", \"*.amazonaws.com\"]\nallowed_oidc_providers: [token.actions.githubusercontent.com]\nallowed_oidc_subjects: [\"repo:org/*\"]\n#env\nROLEGUARD_OWN_ROLES=arn:aws:iam::111122223333:role/roleguard-function\nROLEGUARD_TRUSTED_ACCOUNTS=444455556666, 777788889999\n",
    "exempt_roles:\n  names: []\n  paths: [\"/legacy/*\"]\n  service_linked: false\ndenied_managed_policies:\n  ReadOnlyAccess: low\nremediation_role: roleguard-remediation\n#env\nROLEGUARD_ORGANIZATION_ID=o-abcdefghij\nROLEGUARD_REQUIRED_BOUNDARY=arn:aws:iam::111122223333:policy/b\n",
    "",
];
