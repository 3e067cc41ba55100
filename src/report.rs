//! Render check results: text for people, JSON and SARIF for machines.

use crate::check::CheckResult;
use crate::plan::Step;
use crate::rules::{Severity, RULES};
use anstyle::{AnsiColor, Style};
use serde_json::{json, Value};
use std::fmt::Write;

fn severity_style(s: Severity) -> Style {
    let color = match s {
        Severity::Critical => AnsiColor::BrightRed,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Cyan,
        Severity::Info => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

/// One line per step: the action and its main arguments.
pub fn describe_step(step: &Step) -> String {
    let v = serde_json::to_value(step)
        .unwrap_or_else(|e| Value::String(format!("(not serialisable: {e})")));
    let mut out = step.action().to_string();
    if let Value::Object(map) = &v {
        for (k, val) in map {
            if k == "action" || k.ends_with("document") {
                continue;
            }
            let shown = match val {
                Value::String(s) => s.clone(),
                Value::Null if k == "issued_before" => "(the revert)".into(),
                Value::Null => "(previous)".into(),
                other => other.to_string(),
            };
            let _ = write!(out, " {k}={shown}");
        }
    }
    out
}

/// Text for people. ANSI styles are written; the caller's stream strips them
/// when the output is not a terminal.
pub fn text(results: &[CheckResult]) -> String {
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let mut out = String::new();
    for r in results {
        let kind = r.kind.map_or("?", |k| k.as_str());
        let _ = writeln!(out, "{bold}{}{bold:#} {dim}({kind}){dim:#}", r.path);
        if let Some(e) = &r.error {
            let st = severity_style(Severity::Critical);
            let _ = writeln!(out, "  {st}error{st:#}: {e}");
            continue;
        }
        if let Some(why) = &r.skipped {
            let _ = writeln!(out, "  skipped: {why}");
        }
        if r.findings.is_empty() && r.skipped.is_none() && r.records.is_none() {
            let _ = writeln!(out, "  no findings");
        }
        for f in &r.findings {
            let st = severity_style(f.severity);
            let sev = f.severity.as_str().to_uppercase();
            let _ = writeln!(
                out,
                "  {st}{sev:<8}{st:#} {} {dim}{}{dim:#}",
                f.rule, f.title
            );
            let _ = writeln!(out, "           {}", f.message);
        }
        for n in &r.notes {
            let _ = writeln!(out, "  {dim}note: {n}{dim:#}");
        }
        if let Some(plan) = &r.plan {
            if !plan.is_empty() {
                let _ = writeln!(out, "  plan:");
                for (i, step) in plan.iter().enumerate() {
                    let _ = writeln!(out, "    {}. {}", i + 1, describe_step(step));
                }
            }
        }
    }
    let _ = writeln!(out, "{}", summary(results));
    out
}

/// `3 inputs checked: 1 critical, 2 high; 1 error`.
pub fn summary(results: &[CheckResult]) -> String {
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = results
                .iter()
                .flat_map(|r| &r.findings)
                .filter(|f| f.severity == *s)
                .count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let findings = if counts.is_empty() {
        "no findings".to_string()
    } else {
        counts.join(", ")
    };
    let noun = if results.len() == 1 {
        "input"
    } else {
        "inputs"
    };
    let mut s = format!("{} {noun} checked: {findings}", results.len());
    if errors > 0 {
        let _ = write!(s, "; {errors} could not be checked");
    }
    s
}

/// Exactly one JSON document: `{"results": [...]}`.
pub fn json(results: &[CheckResult]) -> String {
    let parts: Vec<String> = results.iter().map(json_result).collect();
    json_join(&parts)
}

/// One result as it stands in [`json`]'s list (pretty-printed, indented
/// for it): what the CLI's workers serialise in parallel.
pub fn json_result(r: &CheckResult) -> String {
    // A result holds strings, numbers and lists only: serialising it cannot
    // fail; were it to, the result says so rather than vanish.
    let text = serde_json::to_string_pretty(r).unwrap_or_else(|e| {
        serde_json::json!({"path": r.path, "error": format!("cannot serialise this result: {e}")})
            .to_string()
    });
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // JSON strings escape their newlines: every line is the printer's.
        out.push_str("    ");
        out.push_str(line);
    }
    out
}

/// The document around [`json_result`]s, as `serde_json`'s pretty printer
/// writes `{"results": [...]}`.
pub fn json_join(parts: &[String]) -> String {
    if parts.is_empty() {
        return "{\n  \"results\": []\n}\n".to_string();
    }
    let size = parts.iter().map(|p| p.len() + 2).sum::<usize>() + 32;
    let mut s = String::with_capacity(size);
    s.push_str("{\n  \"results\": [\n");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(p);
    }
    s.push_str("\n  ]\n}\n");
    s
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning reads `security-severity` (0.0 to 10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// SARIF 2.1.0, for code-scanning views.
/// A finding's identity across commits, for code scanning to track one
/// alert instead of opening a new one on every push: the rule, the file, the
/// part of it, and what the finding is about (its details, and its message
/// with statement positions left out), never a line number. FNV-1a, 64 bits.
pub fn fingerprint(
    rule: &str,
    file: &str,
    part: Option<&str>,
    message: &str,
    details: &[String],
) -> String {
    // `Statement[3]` -> `Statement[]`: adding a statement above moves it.
    let mut stable = String::with_capacity(message.len());
    let mut in_index = false;
    for c in message.chars() {
        match c {
            '[' => {
                in_index = true;
                stable.push(c);
            }
            ']' => {
                in_index = false;
                stable.push(c);
            }
            d if in_index && d.is_ascii_digit() => {}
            c => {
                if in_index && !c.is_ascii_digit() {
                    in_index = false;
                }
                stable.push(c);
            }
        }
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for piece in [
        rule,
        file,
        part.unwrap_or(""),
        &stable,
        &details.join("\u{1f}"),
    ] {
        for b in piece.bytes().chain(std::iter::once(0x1e)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

pub fn sarif(results: &[CheckResult]) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.title,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.rationale},
                "help": {"text": format!("{}\n\n{}", r.remediation, r.references.join("\n")), "markdown": format!("{}\n\n{}", r.remediation, r.references.iter().map(|u| format!("- <{u}>")).collect::<Vec<_>>().join("\n"))},
                "helpUri": r.references.first().copied().unwrap_or_default(),
                "defaultConfiguration": {"level": sarif_level(r.severity)},
                "properties": {"security-severity": security_severity(r.severity), "tags": ["security", "iam", format!("{:?}", r.target).to_lowercase()]}
            })
        })
        .collect();
    let mut sarif_results = Vec::new();
    let mut notifications = Vec::new();
    for r in results {
        if let Some(e) = &r.error {
            notifications.push(json!({
                "level": "error",
                "message": {"text": format!("{}: {e}", r.path)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": r.path}}}]
            }));
        }
        // A part of a file (`FILE#PART`: a template's resource, a plan's
        // address, a bundle's role) is the file, with the part named as a
        // logical location.
        let (file, part) = match r.path.split_once('#') {
            Some((f, p)) => (f, Some(p)),
            None => (r.path.as_str(), None),
        };
        for f in &r.findings {
            let index = RULES.iter().position(|x| x.id == f.rule).unwrap_or(0);
            let mut location = json!({"artifactLocation": {"uri": file}});
            // Point at the part's line, or the first statement the finding
            // names, when it is known.
            let line = match part {
                Some(_) => r.statement_lines.first(),
                None => f.statements.first().and_then(|i| r.statement_lines.get(*i)),
            };
            if let (Some(line), Some(o)) = (line, location.as_object_mut()) {
                o.insert("region".into(), json!({"startLine": line}));
            }
            let mut loc = json!({"physicalLocation": location});
            if let (Some(p), Some(o)) = (part, loc.as_object_mut()) {
                o.insert(
                    "logicalLocations".into(),
                    json!([{"fullyQualifiedName": p, "kind": "resource"}]),
                );
            }
            sarif_results.push(json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "message": {"text": f.message},
                "locations": [loc],
                "partialFingerprints": {"roleguard/v1": fingerprint(f.rule.as_str(), file, part, &f.message, &f.details)},
                "properties": {"severity": f.severity, "security-severity": security_severity(f.severity), "statements": f.statements, "details": f.details}
            }));
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "roleguard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "invocations": [{"executionSuccessful": notifications.is_empty(), "toolExecutionNotifications": notifications}],
            "results": sarif_results
        }]
    });
    // A Value built here, with string keys: serialising cannot fail.
    let mut s = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"error\":\"SARIF could not be written: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces put together are byte for byte what `serde_json`'s pretty
    /// printer writes for the whole document.
    #[test]
    fn json_in_parts_is_the_pretty_printed_document() {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            results: &'a [CheckResult],
        }
        let config = crate::config::Config::default();
        let texts = [
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Sid":"a\nb \"q\""}}"#,
            "not json",
        ];
        let results: Vec<CheckResult> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| crate::check::check_text(&format!("p{i}.json"), t, None, &config, None))
            .collect();
        assert!(results.iter().any(|r| !r.findings.is_empty()));
        assert!(results.iter().any(|r| r.error.is_some()));
        for n in 0..=results.len() {
            let whole = serde_json::to_string_pretty(&Doc {
                results: &results[..n],
            })
            .unwrap()
                + "\n";
            assert_eq!(json(&results[..n]), whole, "{n} results");
        }
    }
}
