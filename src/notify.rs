//! Alerts: what a non-compliant change says to the channels security teams
//! watch. Pure: an [`Alert`] is built from the outcome and the event, then
//! rendered for each channel (SNS, Slack, Security Hub, EventBridge). The
//! channels' clients are the shell's.
//!
//! The SNS and EventBridge messages are the alert itself as JSON, schema
//! [`SCHEMA`]; the fields below are that schema's documentation.

use crate::event::Event;
use crate::outcome::{Outcome, Status};
use crate::rules::{self, Severity};
use serde::Serialize;
use serde_json::{json, Value};

/// The alert's JSON schema, versioned: a consumer checks it.
pub const SCHEMA: &str = "roleguard.alert/v1";

/// The EventBridge `source` and `detail-type` of an alert.
pub const EVENT_SOURCE: &str = "roleguard";
pub const EVENT_DETAIL_TYPE: &str = "roleguard alert";

/// What SNS and EventBridge carry at most (256 KiB, less room for the envelope).
pub const MESSAGE_LIMIT: usize = 250 * 1024;

/// Who made the change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actor {
    /// The role or user (for an assumed role: the role).
    pub arn: Option<String>,
    /// The session or user ARN as CloudTrail gives it.
    pub identity_arn: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Made in the AWS console.
    pub console: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertFinding {
    pub rule: rules::RuleId,
    pub severity: Severity,
    pub title: &'static str,
    pub message: String,
    /// How to fix it: the rule's remediation.
    pub advice: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertStep {
    /// The IAM call (or `notify`).
    pub action: String,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A document roleguard removed or replaced, kept with the alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptDocument {
    /// The step that removed or replaced it.
    pub action: String,
    /// `removed` or `replaced`.
    pub change: &'static str,
    pub document: Value,
}

/// One alert: one non-compliant change and what roleguard did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub schema: &'static str,
    pub severity: Severity,
    pub account: String,
    /// What the change is about: `role`, `user` or `group`.
    pub principal_type: &'static str,
    /// The role's name (for a `user` or `group`: the user's or group's).
    pub role_name: String,
    /// The role's ARN (for a `user` or `group`: the user's or group's).
    pub role_arn: String,
    /// The IAM call that made the change, and when.
    pub call: &'static str,
    pub event_id: Option<String>,
    pub event_time: Option<String>,
    pub actor: Actor,
    pub findings: Vec<AlertFinding>,
    /// In a word: `reverted`, `revert failed`, `tagged`, `notified`, or in a
    /// dry run `would revert` / `would tag`.
    pub action: &'static str,
    pub dry_run: bool,
    pub steps: Vec<AlertStep>,
    pub console_url: String,
    /// Every document removed or replaced: nothing roleguard takes away is lost.
    pub documents: Vec<KeptDocument>,
    /// After a trust revert: the role's sessions issued before this time
    /// are denied (the `revoke_sessions` step), in a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_revoked: Option<String>,
    /// After a trust revert: who assumed the role in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::sessions::Window>,
    /// Where the documents are kept when this message could not hold them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents_kept_in: Option<String>,
}

impl Alert {
    /// The alert for a handled event, or `None` when there is nothing to say
    /// (no findings, or the event was left alone).
    pub fn new(outcome: &Outcome, event: &Event) -> Option<Alert> {
        let a = &outcome.assessment;
        if a.skipped.is_some() || a.judgement.findings.is_empty() {
            return None;
        }
        let account = a.account.clone().unwrap_or_default();
        let (principal_type, role_name) = match (&a.role_name, &a.user_name, &a.group_name) {
            (Some(r), _, _) => ("role", r.clone()),
            (None, Some(u), _) => ("user", u.clone()),
            (None, None, Some(g)) => ("group", g.clone()),
            _ => ("role", String::new()),
        };
        let trail = &event.trail;
        let user_agent = trail.user_agent.clone();
        let console = trail.session_credential_from_console.as_deref() == Some("true")
            || user_agent
                .as_deref()
                .is_some_and(|u| u.contains("console.amazonaws.com") || u == "AWS Internal");
        let steps: Vec<AlertStep> = outcome
            .results
            .iter()
            .filter(|r| !matches!(r.step, crate::plan::Step::Notify { .. }))
            .map(|r| AlertStep {
                action: r.step.action().to_string(),
                status: r.status,
                detail: r.detail.clone(),
            })
            .collect();
        let documents = outcome
            .results
            .iter()
            .flat_map(|r| {
                r.step
                    .kept_documents()
                    .into_iter()
                    .map(|(change, document)| KeptDocument {
                        action: r.step.action().to_string(),
                        change,
                        document: document.clone(),
                    })
            })
            .collect();
        let reverting = outcome.results.iter().any(|r| r.step.reverts());
        let failed = outcome.results.iter().any(|r| r.status == Status::Failed);
        let tagging = outcome.results.iter().any(|r| {
            matches!(
                r.step,
                crate::plan::Step::TagRole { .. } | crate::plan::Step::TagUser { .. }
            )
        });
        let action = match (outcome.dry_run, reverting, failed, tagging) {
            (true, true, _, _) => "would revert",
            (true, false, _, true) => "would tag",
            (false, true, true, _) => "revert failed",
            (false, true, false, _) => "reverted",
            (false, false, _, true) => "tagged",
            _ => "notified",
        };
        Some(Alert {
            schema: SCHEMA,
            severity: a.judgement.max_severity().unwrap_or(Severity::Info),
            role_arn: format!("arn:aws:iam::{account}:{principal_type}/{role_name}"),
            console_url: format!(
                "https://us-east-1.console.aws.amazon.com/iam/home#/{principal_type}s/details/{role_name}"
            ),
            principal_type,
            account,
            role_name,
            call: a.call,
            event_id: a.event_id.clone(),
            event_time: event.time.clone(),
            actor: Actor {
                arn: a.actor.clone(),
                identity_arn: trail.user_identity.as_ref().and_then(|u| u.arn.clone()),
                source_ip: trail.source_ip_address.clone(),
                user_agent,
                console,
            },
            findings: a
                .judgement
                .findings
                .iter()
                .map(|f| AlertFinding {
                    rule: f.rule,
                    severity: f.severity,
                    title: f.title,
                    message: f.message.clone(),
                    advice: crate::rules::get(f.rule).remediation,
                })
                .collect(),
            action,
            dry_run: outcome.dry_run,
            steps,
            documents,
            sessions_revoked: sessions_revoked(outcome),
            window: outcome.window.clone(),
            documents_kept_in: None,
        })
    }

    /// What the alert says about the credentials already issued: the
    /// revoke, and who used the window. Empty when neither applies.
    pub fn credentials_text(&self) -> String {
        [
            self.sessions_revoked.clone(),
            self.window.as_ref().map(|w| w.summary.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// The alert as JSON within `limit` bytes: when the documents do not fit,
    /// they are left to the audit record (or the function's log) and the
    /// message says so.
    pub fn to_json_within(&self, limit: usize, kept_in: &str) -> String {
        let full = serde_json::to_string(self).unwrap_or_default();
        if full.len() <= limit {
            return full;
        }
        let mut slim = self.clone();
        slim.documents.clear();
        slim.documents_kept_in = Some(kept_in.to_string());
        // The alert is plain data (string keys only): serialising it cannot
        // fail; were it to, the message says so instead of being empty.
        serde_json::to_string(&slim).unwrap_or_else(|e| {
            format!("{{\"error\":\"the alert could not be written as JSON: {e}\"}}")
        })
    }

    /// One line: `CRITICAL reverted: AttachRolePolicy on app-lambda in 111122223333`.
    pub fn headline(&self) -> String {
        format!(
            "{} {}: {} on {} in {}",
            self.severity.as_str().to_uppercase(),
            self.action,
            self.call,
            self.role_name,
            self.account
        )
    }

    /// The rule ids, each once.
    pub fn rules(&self) -> Vec<&'static str> {
        let mut r: Vec<&'static str> = self.findings.iter().map(|f| f.rule.as_str()).collect();
        r.sort_unstable();
        r.dedup();
        r
    }
}

/// The revoke step's result in a sentence.
fn sessions_revoked(outcome: &Outcome) -> Option<String> {
    outcome.results.iter().find_map(|r| match &r.step {
        crate::plan::Step::RevokeSessions {
            issued_before,
            policy_name,
            ..
        } => {
            let before = issued_before.as_deref().unwrap_or("the revert");
            Some(match r.status {
                Status::Done | Status::Already => format!(
                    "Sessions of the role issued before {before} are revoked (inline policy {policy_name})."
                ),
                Status::WouldDo => format!(
                    "Would revoke the role's sessions issued before {before} (inline policy {policy_name})."
                ),
                Status::Failed => format!(
                    "Revoking the role's sessions FAILED ({}): credentials issued before the revert stay valid until they expire.",
                    r.detail
                ),
                Status::Superseded | Status::Skipped => return None,
            })
        }
        _ => None,
    })
}

/// An SNS message: a readable subject, the alert as JSON, and message
/// attributes for subscription filter policies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnsMessage {
    /// At most 100 characters, as SNS requires.
    pub subject: String,
    pub message: String,
    /// Name -> (data type, value): `severity`, `account`, `action` (String),
    /// `rules` (String.Array).
    pub attributes: Vec<(&'static str, &'static str, String)>,
}

pub fn sns(alert: &Alert, kept_in: &str) -> SnsMessage {
    let mut subject = format!("roleguard {}", alert.headline());
    if subject.len() > 100 {
        let mut end = 97;
        while !subject.is_char_boundary(end) {
            end -= 1;
        }
        subject = format!("{}...", &subject[..end]);
    }
    SnsMessage {
        subject,
        message: alert.to_json_within(MESSAGE_LIMIT, kept_in),
        attributes: vec![
            ("severity", "String", alert.severity.as_str().to_string()),
            ("account", "String", alert.account.clone()),
            ("action", "String", alert.action.to_string()),
            (
                "rules",
                "String.Array",
                serde_json::Value::from(alert.rules()).to_string(),
            ),
        ],
    }
}

/// The EventBridge entry's detail: the alert (source [`EVENT_SOURCE`],
/// detail-type [`EVENT_DETAIL_TYPE`]).
pub fn eventbridge_detail(alert: &Alert, kept_in: &str) -> String {
    alert.to_json_within(MESSAGE_LIMIT, kept_in)
}

fn emoji(s: Severity) -> &'static str {
    match s {
        Severity::Critical => ":red_circle:",
        Severity::High => ":large_orange_circle:",
        Severity::Medium => ":large_yellow_circle:",
        Severity::Low | Severity::Info => ":white_circle:",
    }
}

/// A Slack Block Kit message, to be read in two seconds: what, where, who,
/// what roleguard did; the findings; a link to the role. Documents stay out
/// of Slack (they are in the SNS message, the audit record and the log).
pub fn slack(alert: &Alert) -> Value {
    let who = alert.actor.arn.as_deref().unwrap_or("unknown");
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Account*\n{}", alert.account)}),
        json!({"type": "mrkdwn", "text": format!("*{}*\n<{}|{}>", match alert.principal_type { "user" => "User", "group" => "Group", _ => "Role" }, alert.console_url, alert.role_name)}),
        json!({"type": "mrkdwn", "text": format!("*Who*\n{who}{}", if alert.actor.console { " (console)" } else { "" })}),
        json!({"type": "mrkdwn", "text": format!("*From*\n{}", alert.actor.source_ip.as_deref().unwrap_or("unknown"))}),
    ];
    fields.truncate(10);
    let findings: Vec<String> = alert
        .findings
        .iter()
        .map(|f| format!("• *{}* `{}`: {}", f.severity.as_str(), f.rule, f.message))
        .collect();
    let mut findings_text = findings.join("\n");
    if findings_text.len() > 2900 {
        let mut end = 2900;
        while !findings_text.is_char_boundary(end) {
            end -= 1;
        }
        findings_text = format!("{}\n…", &findings_text[..end]);
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "emoji": true,
            "text": format!("{} {} · {}", emoji(alert.severity), alert.severity.as_str().to_uppercase(), alert.action)}}),
        json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*{}* on {} *{}*", alert.call, alert.principal_type, alert.role_name)},
         "fields": fields}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": findings_text}}),
    ];
    let credentials = alert.credentials_text();
    if !credentials.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": at_most(&format!("*Credentials already issued*\n{credentials}"), 2900)}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!(
        "event {} at {} · {}",
        alert.event_id.as_deref().unwrap_or("?"),
        alert.event_time.as_deref().unwrap_or("?"),
        alert.steps.iter().map(|s| format!("{} {}", s.action, serde_json::to_value(s.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())).collect::<Vec<_>>().join(", ")
    )}]}));
    json!({
        "text": format!("roleguard: {}", alert.headline()),
        "blocks": blocks
    })
}

/// At most `limit` bytes of `text`, cut at a character boundary, with `...`
/// when cut.
pub fn at_most(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit.saturating_sub(4);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", text.get(..end).unwrap_or_default())
}

/// Slack's rate: at most this many messages a minute from one container;
/// past it, alerts are counted and summed up in the next message sent.
pub const SLACK_PER_MINUTE: usize = 5;

/// Alerts held back from a chat channel during a burst.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Suppressed {
    pub count: usize,
    /// Who made them, most first (at most 3).
    pub actors: Vec<(String, usize)>,
    pub max_severity: Option<Severity>,
}

/// Groups bursts for one chat channel: the first [`SLACK_PER_MINUTE`] alerts
/// of a minute go out one by one; the rest are counted, and the first message
/// after the minute says how many were held back and whose they were. SNS,
/// EventBridge and Security Hub still get every alert. Each Lambda container
/// keeps its own count.
pub struct Burst {
    per_window: usize,
    window_secs: i64,
    state: std::sync::Mutex<BurstState>,
}

#[derive(Default)]
struct BurstState {
    window_start: i64,
    sent: usize,
    held: Vec<(String, Severity)>,
}

/// What to do with one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Send it, with what was held back before it, if anything.
    Send(Option<Suppressed>),
    /// Hold it back (counted).
    Hold,
}

impl Burst {
    pub fn new(per_window: usize, window_secs: i64) -> Burst {
        Burst {
            per_window,
            window_secs,
            state: std::sync::Mutex::new(BurstState::default()),
        }
    }

    pub fn admit(&self, alert: &Alert, now: i64) -> Gate {
        let Ok(mut s) = self.state.lock() else {
            return Gate::Send(None);
        };
        if now - s.window_start >= self.window_secs {
            s.window_start = now;
            s.sent = 0;
        }
        if s.sent >= self.per_window {
            let who = alert.actor.arn.clone().unwrap_or_else(|| "unknown".into());
            s.held.push((who, alert.severity));
            return Gate::Hold;
        }
        s.sent += 1;
        let held = std::mem::take(&mut s.held);
        if held.is_empty() {
            return Gate::Send(None);
        }
        let mut by_actor: Vec<(String, usize)> = Vec::new();
        for (who, _) in &held {
            match by_actor.iter_mut().find(|(w, _)| w == who) {
                Some((_, n)) => *n += 1,
                None => by_actor.push((who.clone(), 1)),
            }
        }
        by_actor.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_actor.truncate(3);
        Gate::Send(Some(Suppressed {
            count: held.len(),
            max_severity: held.iter().map(|(_, s)| *s).max(),
            actors: by_actor,
        }))
    }
}

/// The Slack message, with a line for the alerts held back before it.
pub fn slack_with(alert: &Alert, held: Option<&Suppressed>) -> Value {
    let mut v = slack(alert);
    if let (Some(h), Some(blocks)) = (held, v.get_mut("blocks").and_then(Value::as_array_mut)) {
        let who: Vec<String> = h.actors.iter().map(|(w, n)| format!("{w} ({n})")).collect();
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!(
            ":warning: {} more alerts in a burst were held back here (up to {}), by {}; SNS and Security Hub have every one.",
            h.count,
            h.max_severity.map_or("info", |s| s.as_str()),
            who.join(", ")
        )}]}));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(actor: &str) -> Alert {
        Alert {
            schema: SCHEMA,
            severity: Severity::High,
            account: "111122223333".into(),
            principal_type: "role",
            role_name: "r".into(),
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
            call: "AttachRolePolicy",
            event_id: None,
            event_time: None,
            actor: Actor {
                arn: Some(actor.into()),
                identity_arn: None,
                source_ip: None,
                user_agent: None,
                console: false,
            },
            findings: vec![],
            action: "reverted",
            dry_run: false,
            steps: vec![],
            console_url: String::new(),
            documents: vec![],
            sessions_revoked: None,
            window: None,
            documents_kept_in: None,
        }
    }

    #[test]
    fn a_burst_is_held_back_and_summed_up() {
        let b = Burst::new(2, 60);
        assert_eq!(b.admit(&alert("a"), 0), Gate::Send(None));
        assert_eq!(b.admit(&alert("a"), 1), Gate::Send(None));
        for t in 2..10 {
            assert_eq!(
                b.admit(&alert(if t % 4 == 0 { "b" } else { "a" }), t),
                Gate::Hold
            );
        }
        // The next minute: the first message carries the count.
        let Gate::Send(Some(s)) = b.admit(&alert("a"), 61) else {
            panic!("a summary expected")
        };
        assert_eq!(s.count, 8);
        assert_eq!(s.actors, [("a".to_string(), 6), ("b".to_string(), 2)]);
        assert_eq!(s.max_severity, Some(Severity::High));
        assert_eq!(b.admit(&alert("a"), 62), Gate::Send(None));
        let v = slack_with(&alert("a"), Some(&s));
        let last = v["blocks"].as_array().unwrap().last().unwrap();
        assert!(last["elements"][0]["text"]
            .as_str()
            .unwrap()
            .contains("8 more alerts in a burst were held back"));
    }
}
