//! Check one input: a permission policy, a trust policy or a CloudTrail
//! event, detected from its content unless the caller says which.

use crate::config::Config;
use crate::event::Event;
use crate::plan::{self, Step};
use crate::policy::{self, Policy};
use crate::rules::{permissions, trust, Context, Finding, Judgement, Severity};
use serde::Serialize;
use serde_json::Value;

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Permissions,
    Trust,
    Event,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Permissions => "permissions",
            Kind::Trust => "trust",
            Kind::Event => "event",
        }
    }
}

/// The verdict on one input.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub path: String,
    pub kind: Option<Kind>,
    pub findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// For events: the steps the Lambda would take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Vec<Step>>,
    /// For events: why roleguard leaves it alone, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub error: Option<String>,
}

impl CheckResult {
    /// An input that could not be read or understood.
    pub fn failed(path: &str, kind: Option<Kind>, error: String) -> CheckResult {
        CheckResult {
            path: path.into(),
            kind,
            findings: vec![],
            notes: vec![],
            plan: None,
            skipped: None,
            error: Some(error),
        }
    }

    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Tell what a decoded document is from its content.
pub fn detect(value: &Value) -> Kind {
    let is_event = matches!(value, Value::Object(map) if map.contains_key("detail") || map.contains_key("eventName"));
    let names_principal = || {
        let statements = match value.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
            None => vec![],
        };
        statements
            .iter()
            .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
    };
    if is_event {
        Kind::Event
    } else if names_principal() {
        Kind::Trust
    } else {
        Kind::Permissions
    }
}

/// Check one input's text. `kind` is `None` to detect it; `account` is the
/// owner account for policies given as files.
pub fn check_text(
    path: &str,
    text: &str,
    kind: Option<Kind>,
    config: &Config,
    account: Option<&str>,
) -> CheckResult {
    // One decoding for detection and judging: plain, string-wrapped or URL-encoded JSON.
    let value = match policy::decode(text) {
        Ok(v) => v,
        Err(e) => return CheckResult::failed(path, kind, e.to_string()),
    };
    let kind = kind.unwrap_or_else(|| detect(&value));
    let account = account.or(config.account.as_deref());
    let ctx = Context { config, account };
    let judged = |j: Judgement| {
        let j = j.finish(config);
        CheckResult {
            path: path.into(),
            kind: Some(kind),
            findings: j.findings,
            notes: j.notes,
            plan: None,
            skipped: None,
            error: None,
        }
    };
    match kind {
        Kind::Permissions => {
            match Policy::from_value(&value).and_then(|p| p.validate_permissions().map(|_| p)) {
                Ok(p) => judged(permissions::judge(&p, &ctx)),
                Err(e) => CheckResult::failed(path, Some(kind), e.to_string()),
            }
        }
        Kind::Trust => match Policy::from_value(&value).and_then(|p| p.validate_trust().map(|_| p))
        {
            Ok(p) => judged(trust::judge(&p, &ctx)),
            Err(e) => CheckResult::failed(path, Some(kind), e.to_string()),
        },
        Kind::Event => {
            let assessed = Event::from_value(value)
                .map_err(plan::AssessError::from)
                .and_then(|e| plan::assess(&e, config));
            match assessed {
                Ok(a) => CheckResult {
                    path: path.into(),
                    kind: Some(kind),
                    findings: a.judgement.findings,
                    notes: a.judgement.notes,
                    plan: Some(a.plan),
                    skipped: a.skipped,
                    error: None,
                },
                Err(e) => CheckResult::failed(path, Some(kind), e.to_string()),
            }
        }
    }
}
