//! CloudWatch metrics in the embedded metric format (EMF): JSON log lines
//! that CloudWatch Logs turns into metrics, with no API call and no
//! permission beyond writing logs. Pure: the handler prints the lines.
//!
//! Namespace `roleguard`. Without dimensions: `EventsHandled`, `Reverts`,
//! `Failures`, `Skipped`, `RolesScanned`. By `Rule` and `Severity`:
//! `Findings`.

use crate::outcome::{Outcome, Status};
use std::collections::BTreeMap;

/// The metrics' namespace (the template's dashboard reads it).
pub const NAMESPACE: &str = "roleguard";

/// One EMF document: `values` (metric name, count) under `dimensions`.
/// Written straight into text (no JSON tree: this runs for every event);
/// the names are this module's constants, the dimension values are quoted
/// by serde_json.
fn document(now_ms: i64, dimensions: &[(&str, &str)], values: &[(&str, u64)]) -> String {
    use std::fmt::Write as _;
    let quoted = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "{{\"_aws\":{{\"Timestamp\":{now_ms},\"CloudWatchMetrics\":[{{\"Namespace\":\"{NAMESPACE}\",\"Dimensions\":[["
    );
    for (i, (k, _)) in dimensions.iter().enumerate() {
        let _ = write!(out, "{}\"{k}\"", if i > 0 { "," } else { "" });
    }
    out.push_str("]],\"Metrics\":[");
    for (i, (name, _)) in values.iter().enumerate() {
        let _ = write!(
            out,
            "{}{{\"Name\":\"{name}\",\"Unit\":\"Count\"}}",
            if i > 0 { "," } else { "" }
        );
    }
    out.push_str("]}]}");
    for (k, v) in dimensions {
        let _ = write!(out, ",\"{k}\":{}", quoted(v));
    }
    for (name, v) in values {
        let _ = write!(out, ",\"{name}\":{v}");
    }
    out.push('}');
    out
}

/// The lines for one handled event: the totals, then one line per rule and
/// severity with its number of findings.
pub fn handled(outcome: &Outcome, now_ms: i64) -> Vec<String> {
    let reverts = outcome
        .results
        .iter()
        .filter(|r| r.step.reverts() && r.status == Status::Done)
        .count() as u64;
    let failures = outcome
        .results
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count() as u64;
    let skipped = u64::from(outcome.assessment.skipped.is_some());
    let mut lines = vec![document(
        now_ms,
        &[],
        &[
            ("EventsHandled", 1),
            ("Reverts", reverts),
            ("Failures", failures),
            ("Skipped", skipped),
        ],
    )];
    let mut by_rule: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for f in &outcome.assessment.judgement.findings {
        *by_rule
            .entry((f.rule.as_str(), f.severity.as_str()))
            .or_insert(0) += 1;
    }
    for ((rule, severity), n) in by_rule {
        lines.push(document(
            now_ms,
            &[("Rule", rule), ("Severity", severity)],
            &[("Findings", n)],
        ));
    }
    lines
}

/// The line for an invocation that failed before or while acting (a read,
/// the store, a step): one failure.
pub fn failed(now_ms: i64) -> String {
    document(now_ms, &[], &[("EventsHandled", 1), ("Failures", 1)])
}

/// The line for a scan of one account.
pub fn scanned(
    roles: usize,
    findings_by_severity: &BTreeMap<&str, usize>,
    now_ms: i64,
) -> Vec<String> {
    let mut lines = vec![document(now_ms, &[], &[("RolesScanned", roles as u64)])];
    for (severity, n) in findings_by_severity {
        lines.push(document(
            now_ms,
            &[("Rule", "scan"), ("Severity", severity)],
            &[("Findings", *n as u64)],
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let line = document(
            1_700_000_000_000,
            &[("Rule", "perm-full-admin"), ("Severity", "critical")],
            &[("Findings", 2)],
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(m["Namespace"], NAMESPACE);
        assert_eq!(m["Dimensions"], json!([["Rule", "Severity"]]));
        assert_eq!(m["Metrics"], json!([{"Name": "Findings", "Unit": "Count"}]));
        // Every dimension and metric named has its value at the top level.
        assert_eq!(
            (
                v["Rule"].as_str(),
                v["Severity"].as_str(),
                v["Findings"].as_u64()
            ),
            (Some("perm-full-admin"), Some("critical"), Some(2))
        );
        // A dimension value with a quote stays JSON.
        let odd: Value =
            serde_json::from_str(&document(1, &[("Rule", "a\"b")], &[("Findings", 1)])).unwrap();
        assert_eq!(odd["Rule"], "a\"b");
        let totals: Value = serde_json::from_str(&failed(1)).unwrap();
        assert_eq!(
            totals["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(
            (
                totals["EventsHandled"].as_u64(),
                totals["Failures"].as_u64()
            ),
            (Some(1), Some(1))
        );
    }
}
