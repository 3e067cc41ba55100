//! The organisation-scale scan, its pure part: which accounts a scan
//! covers (the organisation's active accounts, the configured ones, minus
//! the exclusions), the scan's id, the queue's messages and the results kept
//! for each account. The shell ([`crate::engine`], [`crate::lambda`]) reads
//! the organisation, puts the messages on the queue and scans.

use crate::config::Config;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One account of the organisation, as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED` or `PENDING_CLOSURE`.
    pub status: String,
}

impl OrgAccount {
    /// An account that can be scanned.
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// One account to scan: one queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanJob {
    pub scan_id: String,
    pub account: String,
}

/// Read a queue message's body. Not a job: an error naming the problem
/// (such a message can never succeed; it is dead-lettered at once).
pub fn parse_job(body: &str) -> Result<ScanJob, String> {
    let job: ScanJob = serde_json::from_str(body).map_err(|e| {
        format!("the message is not a scan job ({{\"scan_id\", \"account\"}}): {e}")
    })?;
    if !crate::policy::is_account_id(&job.account) {
        return Err(format!(
            "the message names {:?}, which is not a 12-digit account id",
            job.account
        ));
    }
    if job.scan_id.is_empty() || job.scan_id.len() > 64 {
        return Err("the message's scan_id is empty or longer than 64 characters".into());
    }
    Ok(job)
}

/// The accounts a scan covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Targets {
    /// To scan, in order: the function's own account first.
    pub accounts: Vec<String>,
    /// Left out by `organization.exclude_accounts`.
    pub excluded: Vec<String>,
    /// The organisation's accounts that are not active (suspended, closing).
    pub inactive: Vec<String>,
}

/// The accounts a scan covers: the function's own, the organisation's
/// active accounts (when read), `scan_accounts`; minus the exclusions; each once.
pub fn scan_targets(own: &str, org: Option<&[OrgAccount]>, config: &Config) -> Targets {
    let excluded_by = |a: &str| config.organization.exclude_accounts.iter().any(|x| x == a);
    let mut t = Targets::default();
    let mut seen = std::collections::BTreeSet::new();
    let org = org.unwrap_or_default();
    let candidates = std::iter::once(own)
        .chain(org.iter().filter(|a| a.is_active()).map(|a| a.id.as_str()))
        .chain(config.scan_accounts.iter().map(String::as_str));
    for a in candidates {
        if !seen.insert(a) {
            continue;
        }
        if excluded_by(a) {
            t.excluded.push(a.to_string());
        } else {
            t.accounts.push(a.to_string());
        }
    }
    t.inactive = org
        .iter()
        .filter(|a| !a.is_active() && !seen.contains(a.id.as_str()))
        .map(|a| format!("{} ({})", a.id, a.status))
        .collect();
    t
}

/// A scan's id: the scheduled event's time (so ids sort by time, and a
/// second delivery of the same event is the same scan), else `now`.
pub fn scan_id(event_time: Option<&str>, now: i64) -> String {
    let at = event_time.and_then(crate::sessions::epoch).unwrap_or(now);
    crate::sessions::iso8601(at)
}

/// The configuration with the organisation's accounts known: the trust
/// rules then tell an account of the organisation from a foreign one.
pub fn with_members(config: &Config, org: &[OrgAccount]) -> Config {
    let mut c = config.clone();
    c.organization_accounts = org.iter().map(|a| a.id.clone()).collect();
    c.organization_accounts.sort();
    c.organization_accounts.dedup();
    c
}

/// What is kept for an account that could not be scanned.
pub fn failed_result(job: &ScanJob, at: i64, attempts: u32, reason: &str) -> Value {
    json!({
        "scan_id": job.scan_id,
        "scanned_at": crate::sessions::iso8601(at),
        "account": job.account,
        "attempts": attempts,
        "error": reason,
        "ok": false,
    })
}

/// What is kept for a scanned account: its outcome (as `scan --format json`
/// prints it) with the scan's id and time.
pub fn scanned_result<T: Serialize>(scan_id: &str, at: i64, outcome: &T) -> Value {
    let mut v = serde_json::to_value(outcome).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    if let Some(o) = v.as_object_mut() {
        o.insert("scan_id".into(), json!(scan_id));
        o.insert("scanned_at".into(), json!(crate::sessions::iso8601(at)));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(id: &str, status: &str) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: id.into(),
            status: status.into(),
        }
    }

    #[test]
    fn targets_are_own_then_active_then_configured_minus_excluded() {
        let config = Config {
            scan_accounts: vec!["777788889999".into(), "444455556666".into()],
            organization: crate::config::Organization {
                exclude_accounts: vec!["555566667777".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let org = [
            acct("111122223333", "ACTIVE"),
            acct("444455556666", "ACTIVE"),
            acct("555566667777", "ACTIVE"),
            acct("666677778888", "SUSPENDED"),
        ];
        let t = scan_targets("111122223333", Some(&org), &config);
        assert_eq!(
            t.accounts,
            vec!["111122223333", "444455556666", "777788889999"]
        );
        assert_eq!(t.excluded, vec!["555566667777"]);
        assert_eq!(t.inactive, vec!["666677778888 (SUSPENDED)"]);
        // Without the organisation: the own account and the configured ones.
        let t = scan_targets("111122223333", None, &config);
        assert_eq!(
            t.accounts,
            vec!["111122223333", "777788889999", "444455556666"]
        );
    }

    #[test]
    fn a_job_is_checked() {
        assert_eq!(
            parse_job(r#"{"scan_id":"2026-11-28T06:00:00Z","account":"111122223333"}"#),
            Ok(ScanJob {
                scan_id: "2026-11-28T06:00:00Z".into(),
                account: "111122223333".into()
            })
        );
        let e = parse_job(r#"{"scan_id":"x","account":"1111"}"#).unwrap_err();
        assert!(e.contains("not a 12-digit account id"), "{e}");
        let e = parse_job("not json").unwrap_err();
        assert!(e.starts_with("the message is not a scan job"), "{e}");
        let e = parse_job(r#"{"scan_id":"x","account":"111122223333","more":1}"#).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn the_scan_id_is_the_scheduled_time() {
        assert_eq!(
            scan_id(Some("2026-11-28T06:00:00Z"), 5),
            "2026-11-28T06:00:00Z"
        );
        assert_eq!(scan_id(None, 0), "1970-01-01T00:00:00Z");
        assert_eq!(scan_id(Some("garbage"), 60), "1970-01-01T00:01:00Z");
    }

    #[test]
    fn members_are_the_organisation_accounts() {
        let c = with_members(
            &Config::default(),
            &[
                acct("444455556666", "ACTIVE"),
                acct("222233334444", "SUSPENDED"),
            ],
        );
        assert_eq!(
            c.organization_accounts,
            vec!["222233334444", "444455556666"]
        );
    }
}
