//! The verdict on one input (a policy, an event, a template part, a role):
//! findings, notes, the plan, or the error that stopped it. Plain data,
//! made by [`crate::check`] and [`crate::scan`] and rendered by
//! [`crate::report`].

use crate::config::Config;
use crate::plan::Step;
use crate::rules::{Finding, Judgement, Severity};
use serde::Serialize;

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Permissions,
    Trust,
    Event,
    /// A role as it stands (`roleguard scan`), or a role's settings in a template.
    Role,
    /// A CloudFormation or SAM template: each IAM part is its own result.
    Template,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Permissions => "permissions",
            Kind::Trust => "trust",
            Kind::Event => "event",
            Kind::Role => "role",
            Kind::Template => "template",
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
    /// For a stream of CloudTrail records (a log file, lookup-events output,
    /// JSON Lines): what became of its records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<crate::records::Counts>,
    /// The line (1-based) where each statement starts, for plain JSON files.
    #[serde(skip)]
    pub statement_lines: Vec<usize>,
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
            records: None,
            statement_lines: vec![],
        }
    }

    /// A judged input: the judgement with the configuration applied.
    pub(crate) fn judged(
        path: String,
        kind: Kind,
        j: Judgement,
        config: &Config,
        statement_lines: Vec<usize>,
    ) -> CheckResult {
        let j = j.finish(config);
        CheckResult {
            path,
            kind: Some(kind),
            findings: j.findings,
            notes: j.notes,
            plan: None,
            skipped: None,
            error: None,
            records: None,
            statement_lines,
        }
    }

    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
