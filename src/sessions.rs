//! The credentials a bad trust handed out. Restoring a trust policy stops new
//! sessions; the ones already issued stay valid until they expire (up to the
//! role's MaxSessionDuration, 1 to 12 hours). Two answers, both pure here:
//!
//! - the policy that revokes them: IAM's documented remedy, an inline Deny
//!   of everything to sessions whose `aws:TokenIssueTime` is before the
//!   revert, named `AWSRevokeOlderSessions` as the console names it;
//! - who obtained them: the `AssumeRole*` records CloudTrail holds for the
//!   window between the bad change and the revert, read into [`Assumption`]s
//!   and summed up in a [`Window`] the alert carries.
//!
//! The engine puts the policy and asks CloudTrail ([`crate::ports::Trail`]).

use crate::eval::condition::parse_date;
use serde::Serialize;
use serde_json::{json, Value};

/// The inline policy's name: the one the IAM console gives it ("Revoke
/// active sessions"), so that a responder finds it where they expect it.
pub const REVOKE_POLICY_NAME: &str = "AWSRevokeOlderSessions";

/// The calls that issue a role's credentials.
pub const ASSUME_CALLS: [&str; 3] = [
    "AssumeRole",
    "AssumeRoleWithWebIdentity",
    "AssumeRoleWithSAML",
];

/// The revoke policy: every action denied to sessions issued before
/// `issued_before` (ISO 8601, UTC). The shape the console writes.
pub fn revoke_document(issued_before: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}}
        }]
    })
}

/// The time a revoke policy revokes sessions before, in seconds since the
/// epoch: the latest `DateLessThan aws:TokenIssueTime` of a statement that
/// denies every action. `None` for any other document.
pub fn revoke_time(doc: &Value) -> Option<i64> {
    let statements = match doc.get("Statement")? {
        Value::Array(items) => items.iter().collect::<Vec<_>>(),
        one @ Value::Object(_) => vec![one],
        _ => return None,
    };
    let every = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s == "*",
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some("*")),
        _ => false,
    };
    statements
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Deny"))
        .filter(|s| every(s.get("Action")) && every(s.get("Resource")))
        .filter_map(|s| {
            let cond = s.get("Condition")?.get("DateLessThan")?;
            let t = cond.as_object()?.iter().find_map(|(k, v)| {
                k.eq_ignore_ascii_case("aws:TokenIssueTime")
                    .then(|| v.as_str())
                    .flatten()
            })?;
            parse_date(t).map(|s| s.floor() as i64)
        })
        .max()
}

/// Seconds since the epoch as ISO 8601 in UTC (`2026-11-28T02:29:20Z`).
pub fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An ISO 8601 time (CloudTrail's `eventTime`) as seconds since the epoch.
pub fn epoch(text: &str) -> Option<i64> {
    parse_date(text).map(|s| s.floor() as i64)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One call that asked for the role's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assumption {
    pub time: String,
    /// `AssumeRole`, `AssumeRoleWithWebIdentity` or `AssumeRoleWithSAML`.
    pub call: String,
    /// Who asked: an ARN; `account 444455556666 (AIDA...)` when CloudTrail
    /// gives the role's account only the caller's account; for a federation,
    /// the provider and the subject.
    pub caller: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The session the call issued (`arn:aws:sts::...:assumed-role/...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The access key id of the issued credentials: what to look for in
    /// the rest of the trail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Set when STS refused the call: no credentials were issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// Read one CloudTrail record (the JSON text `LookupEvents` returns as
/// `CloudTrailEvent`): `None` unless it is an `AssumeRole*` call on
/// `role_arn` (named in its request or its resources).
pub fn read_assumption(record: &str, role_arn: &str) -> Option<Assumption> {
    let v: Value = serde_json::from_str(record).ok()?;
    let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
    let call = text("/eventName")?;
    if !ASSUME_CALLS.contains(&call.as_str()) {
        return None;
    }
    let on_role = text("/requestParameters/roleArn").as_deref() == Some(role_arn)
        || v.get("resources")
            .and_then(Value::as_array)
            .is_some_and(|rs| {
                rs.iter()
                    .any(|r| r.get("ARN").and_then(Value::as_str) == Some(role_arn))
            });
    if !on_role {
        return None;
    }
    let kind = text("/userIdentity/type").unwrap_or_default();
    let caller = match kind.as_str() {
        "WebIdentityUser" | "SAMLUser" => format!(
            "{} subject {}",
            text("/userIdentity/identityProvider").unwrap_or_else(|| "an identity provider".into()),
            text("/userIdentity/userName")
                .or_else(|| text("/userIdentity/principalId"))
                .unwrap_or_else(|| "unknown".into())
        ),
        _ => match (
            text("/userIdentity/arn"),
            text("/userIdentity/accountId"),
            text("/userIdentity/principalId"),
        ) {
            (Some(arn), _, _) => arn,
            (None, Some(account), Some(principal)) => format!("account {account} ({principal})"),
            (None, Some(account), None) => format!("account {account}"),
            (None, None, Some(principal)) => principal,
            (None, None, None) => "unknown".into(),
        },
    };
    Some(Assumption {
        time: text("/eventTime").unwrap_or_default(),
        call,
        caller,
        source_ip: text("/sourceIPAddress"),
        user_agent: text("/userAgent"),
        session: text("/responseElements/assumedRoleUser/arn"),
        access_key_id: text("/responseElements/credentials/accessKeyId"),
        region: text("/awsRegion"),
        event_id: text("/eventID"),
        error_code: text("/errorCode"),
    })
}

/// A region whose records could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unread {
    pub region: String,
    pub reason: String,
}

/// What one region's lookup gave: the records' text, and whether the page
/// cap cut it short.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionRecords {
    pub records: Vec<String>,
    pub truncated: bool,
}

/// Who obtained the role's credentials between the bad change and the
/// revert: what the alert says about the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub role_arn: String,
    pub from: String,
    pub to: String,
    /// The window began earlier than `from`, beyond the configured bound
    /// (`session_lookup.max_hours`): earlier calls were not looked up.
    pub shortened: bool,
    /// The regions whose CloudTrail was asked (STS records a call in the
    /// region of the endpoint it went to).
    pub regions: Vec<String>,
    /// Credentials issued, oldest first.
    pub sessions: Vec<Assumption>,
    /// Calls STS refused (no credentials issued).
    pub refused: Vec<Assumption>,
    /// Regions where the page cap stopped the lookup: more calls may exist.
    pub truncated: Vec<String>,
    /// Regions that could not be read.
    pub unread: Vec<Unread>,
    /// The window in a few sentences, as every channel shows it.
    pub summary: String,
}

/// What was asked of CloudTrail, for [`Window::new`].
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub role_arn: &'a str,
    pub from: i64,
    pub to: i64,
    pub shortened: bool,
}

impl Window {
    /// The window from each region's answer (its records, or why it could
    /// not be read).
    pub fn new(span: Span<'_>, answers: Vec<(String, Result<RegionRecords, String>)>) -> Window {
        let mut w = Window {
            role_arn: span.role_arn.to_owned(),
            from: iso8601(span.from),
            to: iso8601(span.to),
            shortened: span.shortened,
            regions: answers.iter().map(|(r, _)| r.clone()).collect(),
            sessions: vec![],
            refused: vec![],
            truncated: vec![],
            unread: vec![],
            summary: String::new(),
        };
        let mut seen = std::collections::BTreeSet::new();
        for (region, answer) in answers {
            match answer {
                Err(reason) => w.unread.push(Unread { region, reason }),
                Ok(r) => {
                    if r.truncated {
                        w.truncated.push(region.clone());
                    }
                    for a in r
                        .records
                        .iter()
                        .filter_map(|t| read_assumption(t, span.role_arn))
                    {
                        // A record twice (pages that overlap) counts once.
                        if let Some(id) = &a.event_id {
                            if !seen.insert(id.clone()) {
                                continue;
                            }
                        }
                        let inside =
                            epoch(&a.time).is_none_or(|t| (span.from..=span.to).contains(&t));
                        if !inside {
                            continue;
                        }
                        if a.error_code.is_some() {
                            w.refused.push(a);
                        } else {
                            w.sessions.push(a);
                        }
                    }
                }
            }
        }
        w.sessions.sort_by(|a, b| a.time.cmp(&b.time));
        w.refused.sort_by(|a, b| a.time.cmp(&b.time));
        w.summary = w.describe();
        w
    }

    /// Could every region be read?
    pub fn complete(&self) -> bool {
        self.unread.is_empty() && self.truncated.is_empty()
    }

    fn describe(&self) -> String {
        const SHOWN: usize = 10;
        let role = self.role_arn.rsplit('/').next().unwrap_or(&self.role_arn);
        let read: Vec<&str> = self
            .regions
            .iter()
            .filter(|r| !self.unread.iter().any(|u| &u.region == *r))
            .map(String::as_str)
            .collect();
        let mut out = String::new();
        if read.is_empty() {
            out.push_str(&format!(
                "Who assumed {role} between {} and {} could not be read from CloudTrail.",
                self.from, self.to
            ));
        } else if self.sessions.is_empty() {
            out.push_str(&format!(
                "Nobody assumed {role} between {} and {} (CloudTrail in {}).",
                self.from,
                self.to,
                read.join(", ")
            ));
        } else {
            let n = self.sessions.len();
            out.push_str(&format!(
                "{n} session{} of {role} {} issued between {} and {} (CloudTrail in {}): ",
                if n == 1 { "" } else { "s" },
                if n == 1 { "was" } else { "were" },
                self.from,
                self.to,
                read.join(", ")
            ));
            let shown: Vec<String> = self
                .sessions
                .iter()
                .take(SHOWN)
                .map(|a| {
                    format!(
                        "{} from {} at {} ({}{})",
                        a.caller,
                        a.source_ip.as_deref().unwrap_or("an unknown address"),
                        a.time,
                        a.call,
                        a.access_key_id
                            .as_deref()
                            .map(|k| format!(", key {k}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            out.push_str(&shown.join("; "));
            if n > SHOWN {
                out.push_str(&format!("; and {} more", n - SHOWN));
            }
            out.push('.');
        }
        if !self.refused.is_empty() {
            let callers: std::collections::BTreeSet<&str> =
                self.refused.iter().map(|a| a.caller.as_str()).collect();
            out.push_str(&format!(
                " {} attempt{} refused by STS (by {}).",
                self.refused.len(),
                if self.refused.len() == 1 {
                    " was"
                } else {
                    "s were"
                },
                callers.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if !self.truncated.is_empty() {
            out.push_str(&format!(
                " The lookup stopped at its page cap in {}: there may be more.",
                self.truncated.join(", ")
            ));
        }
        for u in &self.unread {
            out.push_str(&format!(" {} could not be read: {}.", u.region, u.reason));
        }
        if self.shortened {
            out.push_str(" The window began earlier; only its last part was looked up.");
        }
        if !read.is_empty() {
            out.push_str(
                " CloudTrail shows calls up to about 15 minutes late, and each region's STS endpoint records in its own region.",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_go_both_ways() {
        for t in [
            "1970-01-01T00:00:00Z",
            "2026-11-28T02:29:20Z",
            "2000-02-29T23:59:59Z",
            "2100-03-01T00:00:00Z",
        ] {
            assert_eq!(iso8601(epoch(t).unwrap()), t);
        }
        assert_eq!(
            epoch("2026-11-28T02:29:20.123Z"),
            epoch("2026-11-28T02:29:20Z")
        );
    }

    #[test]
    fn a_revoke_policy_names_its_time() {
        let doc = revoke_document("2026-11-28T02:29:20Z");
        assert_eq!(revoke_time(&doc), epoch("2026-11-28T02:29:20Z"));
        // The console's own document: strings, not lists.
        let console = json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny",
            "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}}});
        assert_eq!(revoke_time(&console), epoch("2026-01-01T00:00:00Z"));
        // A Deny of some actions only is no revocation.
        let narrow = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}}]});
        assert_eq!(revoke_time(&narrow), None);
        assert!(Policy::parse(&doc.to_string()).is_ok());
    }

    use crate::policy::Policy;
}
