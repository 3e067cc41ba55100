//! The scheduled scan's results as people read them: one self-contained
//! HTML page, CSV, and Markdown for tickets. Pure (no I/O): [`parse`] reads
//! the results in every form they come in, [`Report::from_accounts`] keeps
//! the latest scan, and [`html`], [`csv`] and [`markdown`] render it.
//!
//! The results are read into this module's own tolerant structs, not the
//! engine's: every field may be missing and unknown fields are ignored, so
//! results written by an older or newer roleguard still render. Everything
//! in them (role names, documents, error messages) may come from an
//! attacker, and is escaped wherever it is written.

use crate::eval::condition::parse_date;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// One account's scan result: `roleguard scan --format json`, one account
/// of the scheduled scan's reply, or one stored line.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AccountScan {
    #[serde(deserialize_with = "or_default")]
    pub account: String,
    /// The scan this result belongs to (one id per scheduled scan).
    pub scan_id: Option<String>,
    /// When the account was scanned (RFC 3339).
    pub scanned_at: Option<String>,
    /// Why the account could not be scanned; then there are no results.
    pub error: Option<String>,
    /// How many roles the account has.
    pub roles: Option<u64>,
    #[serde(deserialize_with = "or_default")]
    pub dry_run: bool,
    #[serde(deserialize_with = "or_default")]
    pub remediate: bool,
    #[serde(deserialize_with = "or_default")]
    pub results: Vec<RoleResult>,
    /// False when a step failed.
    pub ok: Option<bool>,
}

/// One role's verdict and what was done about it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RoleResult {
    /// The role's ARN.
    #[serde(deserialize_with = "or_default")]
    pub path: String,
    #[serde(deserialize_with = "or_default")]
    pub findings: Vec<Finding>,
    #[serde(deserialize_with = "or_default")]
    pub notes: Vec<String>,
    /// The steps planned (carried out only with `remediate`).
    #[serde(deserialize_with = "or_default")]
    pub plan: Vec<Value>,
    pub skipped: Option<String>,
    pub error: Option<String>,
    /// The steps carried out, each with how it ended.
    #[serde(deserialize_with = "or_default")]
    pub results: Vec<StepRun>,
}

/// One finding on a role.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Finding {
    #[serde(deserialize_with = "or_default")]
    pub rule: String,
    #[serde(deserialize_with = "or_default")]
    pub severity: String,
    #[serde(deserialize_with = "or_default")]
    pub title: String,
    #[serde(deserialize_with = "or_default")]
    pub message: String,
    #[serde(deserialize_with = "or_default")]
    pub details: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub sources: Vec<String>,
}

/// One step carried out (a [`crate::plan::Step`] as JSON) and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StepRun {
    pub step: Value,
    #[serde(deserialize_with = "or_default")]
    pub status: String,
    #[serde(deserialize_with = "or_default")]
    pub detail: String,
}

/// `null` read as the field's default.
fn or_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Input that is not scan results: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The input as the user named it.
    pub input: String,
    /// The line (1-based), for JSON Lines.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}, line {l}: {}", self.input, self.message),
            None => write!(f, "{}: {}", self.input, self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Read scan results from `text` (named `input` in errors): one account's
/// result (`roleguard scan --format json`), a JSON array of them, the
/// scheduled scan's reply (`{"verdict": "scanned", "accounts": [...]}`), or
/// JSON Lines of any of these (how results are stored).
pub fn parse(input: &str, text: &str) -> Result<Vec<AccountScan>, ParseError> {
    let err = |line: Option<usize>, message: String| ParseError {
        input: input.to_string(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(err(None, "empty: no scan results".into()));
    }
    let whole = match serde_json::from_str::<Value>(text) {
        Ok(v) => return accounts_of(v).map_err(|m| err(None, m)),
        Err(e) => e,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    // JSON Lines: a first line that is a whole JSON value on its own. Else
    // one document that is not JSON: said with its line and column.
    let first_whole = lines
        .peek()
        .is_some_and(|(_, l)| serde_json::from_str::<Value>(l).is_ok());
    if !first_whole {
        return Err(err(
            Some(whole.line()),
            format!("not JSON: {}", without_position(&whole)),
        ));
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let v = serde_json::from_str::<Value>(line)
            .map_err(|e| err(Some(i + 1), format!("not JSON: {}", without_position(&e))))?;
        out.extend(accounts_of(v).map_err(|m| err(Some(i + 1), m))?);
    }
    Ok(out)
}

/// serde_json's message without its ` at line L column C`, and the column
/// where it helps.
fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match s.strip_suffix(&suffix) {
        Some(m) if e.column() > 0 => format!("{m} (column {})", e.column()),
        Some(m) => m.to_string(),
        None => s,
    }
}

/// The account results one JSON value holds.
pub fn accounts_of(v: Value) -> Result<Vec<AccountScan>, String> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| account_of(v).map_err(|e| format!("item {}: {e}", i + 1)))
            .collect(),
        Value::Object(mut m) if !m.contains_key("account") && m.contains_key("verdict") => {
            match m.remove("accounts") {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| account_of(v).map_err(|e| format!("accounts[{i}]: {e}")))
                    .collect(),
                Some(_) => Err("the scheduled scan's reply: `accounts` is not a list".into()),
                None => Err(format!(
                    "a Lambda reply with verdict {} carries no scan results",
                    m.get("verdict").map(Value::to_string).unwrap_or_default()
                )),
            }
        }
        v @ Value::Object(_) => account_of(v).map(|a| vec![a]),
        other => Err(format!(
            "expected a scan result (an object with `account`), a list of them or the scheduled scan's reply; found {}",
            kind_of(&other)
        )),
    }
}

/// The results stored for a scan (the audit table's `scan#latest`): every
/// account of its index, each with its result, or, while none is stored,
/// the reason it has none.
pub fn from_index(
    index: &crate::audit::ScanIndex,
    results: Vec<Value>,
) -> Result<Vec<AccountScan>, String> {
    let mut out: Vec<AccountScan> = results
        .into_iter()
        .map(|v| {
            account_of(v).map_err(|e| format!("a stored result of scan {}: {e}", index.scan_id))
        })
        .collect::<Result<_, _>>()?;
    for account in &index.accounts {
        if !out.iter().any(|a| &a.account == account) {
            out.push(AccountScan {
                account: account.clone(),
                scan_id: Some(index.scan_id.clone()),
                error: Some(
                    "no result stored yet: the account is still queued, or its scan was lost (see the scan's dead-letter queue)".into(),
                ),
                ..AccountScan::default()
            });
        }
    }
    Ok(out)
}

/// One account's result from its JSON object.
pub fn account_of(v: Value) -> Result<AccountScan, String> {
    let Value::Object(m) = &v else {
        return Err(format!(
            "expected an account's scan result (an object), found {}",
            kind_of(&v)
        ));
    };
    match m.get("account") {
        Some(Value::String(a)) if !a.trim().is_empty() => {}
        Some(other) => {
            return Err(format!(
                "not a scan result: `account` is {}, not an account id",
                kind_of(other)
            ))
        }
        None => {
            return Err(
                "not a scan result: no `account` (expected `roleguard scan --format json` output)"
                    .into(),
            )
        }
    }
    serde_path_to_error::deserialize::<_, AccountScan>(v).map_err(|e| {
        let path = e.path().to_string();
        format!("account result: {path}: {}", e.inner())
    })
}

use crate::policy::kind_of;

/// A scan the report leaves out: an earlier one.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherScan {
    pub scan_id: Option<String>,
    pub scanned_at: Option<String>,
    pub accounts: usize,
}

/// The latest scan's results, ready to render.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub scan_id: Option<String>,
    /// The first and last time an account of the scan was scanned.
    pub scanned: Option<(String, String)>,
    /// One result per account, by account id.
    pub accounts: Vec<AccountScan>,
    /// The scans in the input that are not the latest, latest first.
    pub left_out: Vec<OtherScan>,
    /// Results of the latest scan replaced by a later one for the same
    /// account (a retried account).
    pub replaced: usize,
}

/// One finding with its role and account.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub account: &'a AccountScan,
    pub role: &'a RoleResult,
    pub finding: &'a Finding,
}

/// A time's sort key: seconds since the epoch; none sorts first.
fn time_key(t: Option<&str>) -> Option<f64> {
    t.and_then(parse_date)
}

fn later(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

impl Report {
    /// The report on the latest scan among `all` (by `scanned_at`; with no
    /// times, the scan that comes last), one result per account (the
    /// latest, when an account was scanned twice).
    pub fn from_accounts(all: Vec<AccountScan>) -> Report {
        // Scans in order of first appearance, each with its latest time and
        // its last position in the input.
        struct Scan {
            id: Option<String>,
            latest: Option<f64>,
            last: usize,
            members: Vec<(usize, AccountScan)>,
        }
        let mut scans: Vec<Scan> = Vec::new();
        for (i, a) in all.into_iter().enumerate() {
            let t = time_key(a.scanned_at.as_deref());
            let pos = match scans.iter().position(|s| s.id == a.scan_id) {
                Some(p) => p,
                None => {
                    scans.push(Scan {
                        id: a.scan_id.clone(),
                        latest: None,
                        last: i,
                        members: vec![],
                    });
                    scans.len() - 1
                }
            };
            if let Some(s) = scans.get_mut(pos) {
                if later(t, s.latest) {
                    s.latest = t;
                }
                s.last = i;
                s.members.push((i, a));
            }
        }
        // Latest first: by time, then by position.
        scans.sort_by(|a, b| {
            let by_time = match (a.latest, b.latest) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            by_time.then(b.last.cmp(&a.last))
        });
        let mut scans = scans.into_iter();
        let Some(latest) = scans.next() else {
            return Report::default();
        };
        let left_out = scans
            .map(|s| OtherScan {
                scanned_at: last_time(s.members.iter().map(|(_, a)| a)),
                scan_id: s.id,
                accounts: s
                    .members
                    .iter()
                    .map(|(_, a)| a.account.as_str())
                    .collect::<BTreeSet<_>>()
                    .len(),
            })
            .collect();
        // One result per account: the latest (by time, then position).
        let mut by_account: BTreeMap<String, (Option<f64>, usize, AccountScan)> = BTreeMap::new();
        let mut replaced = 0;
        for (i, a) in latest.members {
            let t = time_key(a.scanned_at.as_deref());
            // Members come in input order: on a tie, the later one stands.
            if let Some((pt, _, _)) = by_account.get(&a.account) {
                replaced += 1;
                if later(*pt, t) {
                    continue;
                }
            }
            by_account.insert(a.account.clone(), (t, i, a));
        }
        let accounts: Vec<AccountScan> = by_account.into_values().map(|(_, _, a)| a).collect();
        let times: Vec<(f64, &str)> = accounts
            .iter()
            .filter_map(|a| {
                let s = a.scanned_at.as_deref()?;
                Some((parse_date(s)?, s))
            })
            .collect();
        let first = times.iter().min_by(|a, b| a.0.total_cmp(&b.0));
        let last = times.iter().max_by(|a, b| a.0.total_cmp(&b.0));
        let scanned = first
            .zip(last)
            .map(|(f, l)| (f.1.to_string(), l.1.to_string()));
        Report {
            scan_id: latest.id,
            scanned,
            accounts,
            left_out,
            replaced,
        }
    }

    /// Every finding, most severe first, then by account, role and rule.
    pub fn rows(&self) -> Vec<Row<'_>> {
        let mut rows: Vec<Row<'_>> = self
            .accounts
            .iter()
            .flat_map(|account| {
                account.results.iter().flat_map(move |role| {
                    role.findings.iter().map(move |finding| Row {
                        account,
                        role,
                        finding,
                    })
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            rank(&b.finding.severity)
                .cmp(&rank(&a.finding.severity))
                .then_with(|| a.account.account.cmp(&b.account.account))
                .then_with(|| a.role.path.cmp(&b.role.path))
                .then_with(|| a.finding.rule.cmp(&b.finding.rule))
        });
        rows
    }

    /// Findings by severity over the whole report.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut c = BTreeMap::new();
        for a in &self.accounts {
            for (s, n) in account_counts(a) {
                *c.entry(s).or_insert(0) += n;
            }
        }
        c
    }

    /// The accounts that could not be scanned.
    pub fn errors(&self) -> usize {
        self.accounts.iter().filter(|a| a.error.is_some()).count()
    }

    /// The roles scanned, over every account that says.
    pub fn roles(&self) -> u64 {
        self.accounts.iter().filter_map(|a| a.roles).sum()
    }

    /// How the scan ran: enforce or dry run, remediating or reporting.
    pub fn mode(&self) -> String {
        let scanned: Vec<&AccountScan> =
            self.accounts.iter().filter(|a| a.error.is_none()).collect();
        let modes: BTreeSet<&str> = scanned
            .iter()
            .map(|a| match (a.remediate, a.dry_run) {
                (true, false) => "remediating in enforce mode",
                (true, true) => "remediating in dry run (nothing changed)",
                (false, _) => "reporting only (nothing changed)",
            })
            .collect();
        match modes.len() {
            0 => "no account scanned".into(),
            1 => modes.into_iter().collect(),
            _ => format!(
                "mixed: {}",
                modes.into_iter().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

fn last_time<'a>(accounts: impl Iterator<Item = &'a AccountScan>) -> Option<String> {
    accounts
        .filter_map(|a| {
            let s = a.scanned_at.as_deref()?;
            Some((parse_date(s)?, s))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s.to_string())
}

/// The severities a report shows, most severe first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// A severity's order: higher is worse; an unknown one sorts last.
fn rank(s: &str) -> u8 {
    match s {
        "critical" => 5,
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        "info" => 1,
        _ => 0,
    }
}

/// One account's findings by severity.
pub fn account_counts(a: &AccountScan) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    for f in a.results.iter().flat_map(|r| &r.findings) {
        *c.entry(f.severity.clone()).or_insert(0) += 1;
    }
    c
}

/// A role's name and path from its ARN (`arn:aws:iam::1:role/ci/deployer`
/// is `deployer` in `/ci/`); anything else is its own name.
pub fn role_name(arn: &str) -> (&str, String) {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let rest = resource.split_once('/').map_or(resource, |(_, rest)| rest);
    match rest.rsplit_once('/') {
        Some((path, name)) => (name, format!("/{path}/")),
        None => (rest, "/".into()),
    }
}

/// The role as the CSV and Markdown name it: its path and name.
fn role_label(arn: &str) -> String {
    let (name, path) = role_name(arn);
    format!("{}{name}", path.trim_start_matches('/'))
}

/// The steps worth showing: all but an alert that was not sent (no channel
/// is configured, or the channels send it themselves).
pub fn shown_steps(r: &RoleResult) -> impl Iterator<Item = &StepRun> {
    r.results
        .iter()
        .filter(|s| !(action_of(&s.step) == "notify" && s.status == "skipped"))
}

fn action_of(step: &Value) -> &str {
    step.get("action")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// What roleguard did about a role, in a word or two.
pub fn role_status(r: &RoleResult) -> &'static str {
    if r.error.is_some() {
        return "error";
    }
    if r.skipped.is_some() {
        return "skipped";
    }
    if !r.results.is_empty() {
        let has = |s: &str| r.results.iter().any(|x| x.status == s);
        let done = |tag: bool| {
            r.results.iter().any(|x| {
                let a = action_of(&x.step);
                x.status == "done" && a != "notify" && a.starts_with("tag_") == tag
            })
        };
        return if has("failed") {
            "failed"
        } else if has("would_do") {
            "dry run"
        } else if done(false) {
            "reverted"
        } else if done(true) {
            "tagged"
        } else {
            "nothing to change"
        };
    }
    let planned = r.plan.iter().any(|s| action_of(s) != "notify");
    if planned {
        "not remediated"
    } else {
        "reported"
    }
}

/// A step in one line: its action and main arguments (the role it is on
/// and its documents left out).
pub fn describe_step(step: &Value) -> String {
    let Value::Object(m) = step else {
        return step.to_string();
    };
    let mut out = m
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("(step)")
        .to_string();
    for (k, v) in m {
        if k == "action" || k == "role_name" || k.ends_with("document") || v.is_null() {
            continue;
        }
        let shown = match v {
            Value::String(s) => format!("{k}={s}"),
            // Tags: each as key=value.
            Value::Object(m) if m.values().all(Value::is_string) => m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(" "),
            other => format!("{k}={other}"),
        };
        let shown = if shown.chars().count() > 200 {
            format!("{}…", shown.chars().take(200).collect::<String>())
        } else {
            shown
        };
        let _ = write!(out, " {shown}");
    }
    out
}

/// The documents a step took away or put: label and document.
pub fn step_documents(step: &Value) -> Vec<(&'static str, &Value)> {
    let mut out = Vec::new();
    for (key, label) in [
        ("removed_document", "removed document"),
        ("replaced_document", "replaced document"),
        ("policy_document", "document put in its place"),
    ] {
        if let Some(d) = step.get(key).filter(|d| !d.is_null()) {
            out.push((label, d));
        }
    }
    out
}

/// What was done about a role, for the CSV and Markdown: each step carried
/// out with how it ended, or what was planned.
fn actions_text(r: &RoleResult) -> String {
    if !r.results.is_empty() {
        return shown_steps(r)
            .map(|s| format!("{} ({})", describe_step(&s.step), s.status))
            .collect::<Vec<_>>()
            .join("; ");
    }
    let planned: Vec<String> = r
        .plan
        .iter()
        .filter(|s| s.get("action").and_then(Value::as_str) != Some("notify"))
        .map(describe_step)
        .collect();
    if planned.is_empty() {
        "none".into()
    } else {
        format!("none (planned: {})", planned.join("; "))
    }
}

/// A rule's advice (`roleguard explain RULE`), when roleguard knows the rule.
fn advice(rule: &str) -> Option<&'static str> {
    crate::rules::rule(rule).map(|r| r.remediation)
}

// ---- HTML ------------------------------------------------------------------

/// Text for HTML, in an element or a quoted attribute.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON to embed in a `<script type="application/json">`: no `<`, `>` or
/// `&` (so no `</script>` or `<!--` can end or change the element), and no
/// line or paragraph separator.
pub fn script_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    // These characters only occur inside JSON strings, where the escapes
    // mean the same characters.
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A value for the URL's fragment (`#account=...`), percent-encoded as
/// `URLSearchParams` reads it.
fn fragment_value(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The data the page's script renders: roles, findings (in the order of
/// [`Report::rows`]) and the rules' advice.
fn page_data(report: &Report) -> Value {
    let mut roles: Vec<Value> = Vec::new();
    let mut role_index: BTreeMap<usize, usize> = BTreeMap::new();
    let mut findings: Vec<Value> = Vec::new();
    let mut rules: BTreeMap<&str, Value> = BTreeMap::new();
    for row in report.rows() {
        let (a, r, f) = (row.account, row.role, row.finding);
        // A role is written once, however many findings it has.
        let key = std::ptr::from_ref(r) as usize;
        let index = *role_index.entry(key).or_insert_with(|| {
            let (name, path) = role_name(&r.path);
            let steps: Vec<Value> = shown_steps(r)
                .map(|s| {
                    json!({
                        "do": describe_step(&s.step),
                        "status": s.status,
                        "detail": s.detail,
                        "documents": step_documents(&s.step)
                            .into_iter()
                            .map(|(label, d)| json!({"label": label, "document": d}))
                            .collect::<Vec<_>>(),
                    })
                })
                .collect();
            let planned: Vec<String> = if r.results.is_empty() {
                r.plan
                    .iter()
                    .filter(|s| s.get("action").and_then(Value::as_str) != Some("notify"))
                    .map(describe_step)
                    .collect()
            } else {
                vec![]
            };
            roles.push(json!({
                "account": a.account,
                "arn": r.path,
                "name": name,
                "path": path,
                "status": role_status(r),
                "steps": steps,
                "planned": planned,
            }));
            roles.len() - 1
        });
        if let Some(rule) = crate::rules::rule(&f.rule) {
            rules
                .entry(rule.id.as_str())
                .or_insert_with(|| json!({"title": rule.title, "advice": rule.remediation}));
        }
        findings.push(json!({
            "account": a.account,
            "role": index,
            "rule": f.rule,
            "severity": f.severity,
            "title": f.title,
            "message": f.message,
            "details": f.details,
        }));
    }
    json!({"roles": roles, "findings": findings, "rules": rules})
}

/// The report as one self-contained HTML page: inline style and script
/// only, nothing loaded from anywhere (a Content-Security-Policy says so to
/// the browser too), usable from a file offline.
pub fn html(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let counts = report.counts();
    let total: usize = counts.values().sum();
    let title = match &report.scan_id {
        Some(id) => format!("roleguard report: scan {id}"),
        None => "roleguard report".to_string(),
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"roleguard ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str("\">\n<link rel=\"icon\" href=\"data:,\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape_html(&title));
    out.push_str("<style>\n");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<header>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape_html(&title));
    // What the report covers.
    out.push_str("<p class=\"meta\">");
    match &report.scanned {
        Some((first, last)) if first == last => {
            let _ = write!(out, "Scanned at {}", escape_html(first));
        }
        Some((first, last)) => {
            let _ = write!(
                out,
                "Scanned from {} to {}",
                escape_html(first),
                escape_html(last)
            );
        }
        None => out.push_str("Scan time not recorded"),
    }
    let _ = writeln!(out, " · {}</p>", escape_html(&report.mode()));
    out.push_str("<div class=\"cards\">\n");
    let errors = report.errors();
    let _ = write!(
        out,
        "<div class=\"card\"><b id=\"n-accounts\">{}</b> accounts",
        report.accounts.len()
    );
    if errors > 0 {
        let _ = write!(
            out,
            "<br><span class=\"bad\">{errors} could not be scanned</span>"
        );
    }
    out.push_str("</div>\n");
    let _ = writeln!(
        out,
        "<div class=\"card\"><b>{}</b> roles</div>",
        report.roles()
    );
    let _ = writeln!(
        out,
        "<div class=\"card\"><b id=\"n-findings\">{total}</b> findings</div>"
    );
    for s in SEVERITIES {
        let n = counts.get(s).copied().unwrap_or(0);
        if s == "info" && n == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "<div class=\"card sev-{s}{}\"><b>{n}</b> {s}</div>",
            if n == 0 { " zero" } else { "" }
        );
    }
    out.push_str("</div>\n");
    if !report.left_out.is_empty() || report.replaced > 0 {
        out.push_str("<p class=\"note\">");
        if let Some(id) = &report.scan_id {
            let _ = write!(
                out,
                "This report covers the latest scan, <b>{}</b>. ",
                escape_html(id)
            );
        } else {
            out.push_str("This report covers the latest scan. ");
        }
        if !report.left_out.is_empty() {
            let _ = write!(
                out,
                "{} earlier {} in the input {} left out: ",
                report.left_out.len(),
                plural(report.left_out.len(), "scan", "scans"),
                plural(report.left_out.len(), "is", "are")
            );
            let list: Vec<String> = report
                .left_out
                .iter()
                .take(5)
                .map(|s| {
                    format!(
                        "{} ({} {}{})",
                        escape_html(s.scan_id.as_deref().unwrap_or("no scan id")),
                        s.accounts,
                        plural(s.accounts, "account", "accounts"),
                        s.scanned_at
                            .as_deref()
                            .map(|t| format!(", {}", escape_html(t)))
                            .unwrap_or_default()
                    )
                })
                .collect();
            out.push_str(&list.join("; "));
            if report.left_out.len() > 5 {
                out.push_str("; …");
            }
            out.push_str(". ");
        }
        if report.replaced > 0 {
            let _ = write!(
                out,
                "{} repeated {} for the same account: the latest of each is shown.",
                report.replaced,
                plural(report.replaced, "result", "results")
            );
        }
        out.push_str("</p>\n");
    }
    out.push_str("</header>\n<main>\n");
    matrix_html(&mut out, report);
    findings_html(&mut out, report);
    out.push_str("</main>\n<footer>Made by <code>roleguard report</code> ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(". Every finding's rule: <code>roleguard explain RULE</code>.</footer>\n");
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(&script_json(&page_data(report)));
    out.push_str("</script>\n<script>\n");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Accounts × severity: accounts that could not be scanned first, then the
/// worst.
fn matrix_html(out: &mut String, report: &Report) {
    let mut accounts: Vec<(&AccountScan, BTreeMap<String, usize>)> = report
        .accounts
        .iter()
        .map(|a| (a, account_counts(a)))
        .collect();
    let key = |c: &BTreeMap<String, usize>| -> Vec<usize> {
        SEVERITIES
            .iter()
            .map(|s| c.get(*s).copied().unwrap_or(0))
            .collect()
    };
    accounts.sort_by(|(a, ac), (b, bc)| {
        b.error
            .is_some()
            .cmp(&a.error.is_some())
            .then_with(|| key(bc).cmp(&key(ac)))
            .then_with(|| a.account.cmp(&b.account))
    });
    out.push_str("<section id=\"accounts\">\n<h2>Accounts</h2>\n");
    out.push_str("<table class=\"matrix\">\n<thead><tr><th>Account</th>");
    for s in &SEVERITIES[..4] {
        let _ = write!(out, "<th class=\"num\">{}</th>", capitalise(s));
    }
    out.push_str("<th class=\"num\">Roles</th><th>Status</th></tr></thead>\n<tbody>\n");
    let n = accounts.len();
    for (i, (a, c)) in accounts.into_iter().enumerate() {
        // Past the first rows (the worst), a click away: a browser lays out
        // thousands of rows slowly.
        let hidden = if i < MATRIX_ROWS { "" } else { " hidden" };
        let account = escape_html(&a.account);
        let link = format!(
            "<a href=\"#account={}\">{account}</a>",
            escape_html(&fragment_value(&a.account))
        );
        if let Some(e) = &a.error {
            let _ = writeln!(
                out,
                "<tr class=\"error\" data-account=\"{account}\"{hidden}><td>{account}</td><td colspan=\"5\" class=\"reason\"><b>Not scanned:</b> {}</td><td><span class=\"status error\">error</span></td></tr>",
                escape_html(e)
            );
            continue;
        }
        let _ = write!(
            out,
            "<tr data-account=\"{account}\"{hidden}><td>{link}</td>"
        );
        for s in &SEVERITIES[..4] {
            let n = c.get(*s).copied().unwrap_or(0);
            if n == 0 {
                out.push_str("<td class=\"num zero\">0</td>");
            } else {
                let _ = write!(out, "<td class=\"num sev-{s}\">{n}</td>");
            }
        }
        let roles = a.roles.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
        let (status, class) = if a.ok == Some(false) {
            ("steps failed", "failed")
        } else if c.is_empty() {
            ("clean", "ok")
        } else if a.remediate && !a.dry_run {
            ("enforced", "ok")
        } else if a.remediate {
            ("dry run", "info")
        } else {
            ("reported", "info")
        };
        let _ = writeln!(
            out,
            "<td class=\"num\">{roles}</td><td><span class=\"status {class}\">{status}</span></td></tr>"
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if n > MATRIX_ROWS {
        let _ = writeln!(
            out,
            "<p><button type=\"button\" id=\"all-accounts\">Show all {n} accounts</button></p>"
        );
    }
    out.push_str("</section>\n");
}

/// The accounts the matrix shows before "Show all".
const MATRIX_ROWS: usize = 100;

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The findings' filters and table; the script fills the rows from the
/// embedded data.
fn findings_html(out: &mut String, report: &Report) {
    let rows = report.rows();
    let mut accounts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    let mut severities: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *accounts.entry(&r.account.account).or_insert(0) += 1;
        *rules.entry(&r.finding.rule).or_insert(0) += 1;
        *severities.entry(&r.finding.severity).or_insert(0) += 1;
    }
    let mut severity_list: Vec<(&str, usize)> = severities.into_iter().collect();
    severity_list.sort_by_key(|(s, _)| std::cmp::Reverse(rank(s)));
    out.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n<form class=\"filters\" id=\"filters\" onsubmit=\"return false\">\n");
    let select = |out: &mut String, id: &str, label: &str, all: &str, items: &[(&str, usize)]| {
        let _ = write!(
            out,
            "<label>{label} <select id=\"f-{id}\" name=\"{id}\"><option value=\"\">{all}</option>"
        );
        for (v, n) in items {
            let v = escape_html(v);
            let _ = write!(out, "<option value=\"{v}\">{v} ({n})</option>");
        }
        out.push_str("</select></label>\n");
    };
    let accounts: Vec<(&str, usize)> = accounts.into_iter().collect();
    let rules: Vec<(&str, usize)> = rules.into_iter().collect();
    select(out, "account", "Account", "all accounts", &accounts);
    select(out, "rule", "Rule", "all rules", &rules);
    select(
        out,
        "severity",
        "Severity",
        "all severities",
        &severity_list,
    );
    out.push_str("<label>Search <input id=\"f-q\" name=\"q\" type=\"search\" placeholder=\"role, message…\"></label>\n");
    out.push_str("<button type=\"button\" id=\"f-clear\">Clear</button>\n");
    let _ = writeln!(
        out,
        "<span id=\"shown\" aria-live=\"polite\">{} findings</span>\n</form>",
        rows.len()
    );
    out.push_str("<noscript><p class=\"note\">The findings table needs JavaScript; <code>roleguard report --format markdown</code> or <code>--format csv</code> give them without.</p></noscript>\n");
    out.push_str("<table class=\"findings\" id=\"findings-table\">\n<thead><tr>");
    for (key, label) in [
        ("severity", "Severity"),
        ("account", "Account"),
        ("role", "Role"),
        ("rule", "Rule"),
    ] {
        let _ = write!(
            out,
            "<th><button type=\"button\" data-sort=\"{key}\">{label}</button></th>"
        );
    }
    out.push_str("<th>Finding and advice</th><th>What roleguard did</th></tr></thead>\n<tbody id=\"rows\"></tbody>\n</table>\n<p><button type=\"button\" id=\"more\" hidden>Show more</button></p>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"note\" id=\"no-findings\">No findings.</p>\n");
    }
    out.push_str("</section>\n");
}

const STYLE: &str = r#":root{--crit:#b3261e;--high:#d9480f;--med:#b7791f;--low:#1971c2;--info:#868e96;--bg:#fff;--fg:#1d2125;--dim:#6b7280;--line:#e5e7eb;--soft:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1400px;margin:0 auto;padding:0 20px}
h1{font-size:22px;margin:20px 0 4px}h2{font-size:18px;margin:28px 0 10px}
.meta,.dim,footer{color:var(--dim)}footer{margin:30px auto;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px;background:var(--soft)}
.card b{display:block;font-size:22px}
.card.sev-critical b{color:var(--crit)}.card.sev-high b{color:var(--high)}.card.sev-medium b{color:var(--med)}.card.sev-low b{color:var(--low)}.card.zero b{color:var(--dim)}
.bad{color:var(--crit);font-weight:600}
.note{background:#fff8e1;border:1px solid #f1d58a;border-radius:6px;padding:8px 12px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
thead th{background:var(--soft);position:sticky;top:0;z-index:1}
.num{text-align:right;font-variant-numeric:tabular-nums}
.matrix{width:auto}.matrix th,.matrix td{padding:6px 14px}
.matrix td.zero{color:#c4c8cc}
.matrix td.sev-critical{background:#fbe3e1;color:var(--crit);font-weight:700}
.matrix td.sev-high{background:#fde8dc;color:var(--high);font-weight:700}
.matrix td.sev-medium{background:#fdf3d8;color:var(--med);font-weight:700}
.matrix td.sev-low{background:#e3eefb;color:var(--low);font-weight:700}
.matrix tr.error td{background:#fdecea}.reason{color:var(--crit)}
.status{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:var(--soft);border:1px solid var(--line)}
.status.error,.status.failed{background:var(--crit);color:#fff;border-color:var(--crit)}
.status.ok,.status.reverted,.status.tagged{background:#e6f4ea;border-color:#a8d5b5}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:0 0 10px;position:sticky;top:0;background:var(--bg);padding:6px 0;z-index:2}
select,input,button{font:inherit;padding:3px 6px}
#shown{color:var(--dim)}
th button{border:0;background:none;font-weight:700;cursor:pointer;padding:0;white-space:nowrap}
th button::after{content:" ↕";color:var(--dim)}
th[aria-sort=ascending] button::after{content:" ↑"}th[aria-sort=descending] button::after{content:" ↓"}
.findings thead th{top:44px}
.sev{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px;font-weight:700;text-transform:uppercase}
.sev.critical{background:var(--crit)}.sev.high{background:var(--high)}.sev.medium{background:var(--med)}.sev.low{background:var(--low)}.sev.info,.sev.other{background:var(--info)}
.role{min-width:130px}.role b{overflow-wrap:anywhere}.path,.arn{color:var(--dim);font-size:12px;overflow-wrap:anywhere}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.title{font-weight:600}.advice{margin-top:4px;color:#2f4f2f;font-size:13px}
.details{margin:2px 0 0 16px;padding:0;font-size:12px;color:var(--dim)}
.steps{margin:0;padding:0;list-style:none}.steps li{margin-bottom:3px}
details summary{cursor:pointer;color:var(--low);font-size:12px}
pre{max-height:360px;overflow:auto;background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:6px;font-size:12px;margin:4px 0;white-space:pre}
tr[hidden]{display:none}
"#;

const SCRIPT: &str = r#"(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var RANK = {critical: 5, high: 4, medium: 3, low: 2, info: 1};
  var tbody = document.getElementById('rows');
  var shown = document.getElementById('shown');
  var total = data.findings.length;
  var controls = {
    account: document.getElementById('f-account'),
    rule: document.getElementById('f-rule'),
    severity: document.getElementById('f-severity'),
    q: document.getElementById('f-q')
  };
  var KEYS = ['account', 'rule', 'severity', 'q'];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function documentView(d) {
    var det = el('details');
    det.appendChild(el('summary', null, d.label));
    var pre = el('pre');
    det.appendChild(pre);
    det.addEventListener('toggle', function () {
      if (det.open && !pre.textContent) pre.textContent = JSON.stringify(d.document, null, 2);
    });
    return det;
  }

  function actionsCell(role) {
    var td = el('td');
    td.appendChild(el('span', 'status ' + role.status.replace(/[^a-z]/g, ''), role.status));
    if (role.steps.length) {
      var ul = el('ul', 'steps');
      role.steps.forEach(function (s) {
        var li = el('li');
        li.appendChild(el('code', null, s.do));
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('span', 'dim', s.status));
        if (s.detail) li.appendChild(el('div', 'dim', s.detail));
        s.documents.forEach(function (d) { li.appendChild(documentView(d)); });
        ul.appendChild(li);
      });
      td.appendChild(ul);
    } else if (role.planned.length) {
      td.appendChild(el('div', 'dim', 'planned: ' + role.planned.join('; ')));
    }
    return td;
  }

  // A row's element is made when it is first shown.
  function build(x) {
    var f = x.f, role = x.role;
    var tr = el('tr', 'finding');
    var sev = el('td');
    sev.appendChild(el('span', 'sev ' + (RANK[f.severity] ? f.severity : 'other'), f.severity));
    tr.appendChild(sev);
    tr.appendChild(el('td', null, f.account));
    var r = el('td', 'role');
    r.appendChild(el('b', null, role.name));
    r.appendChild(el('div', 'path', role.path));
    r.title = role.arn;
    tr.appendChild(r);
    var rule = el('td');
    rule.appendChild(el('code', null, f.rule));
    tr.appendChild(rule);
    var msg = el('td');
    if (x.title) msg.appendChild(el('div', 'title', x.title));
    msg.appendChild(el('div', null, f.message));
    if (f.details && f.details.length) {
      var ul = el('ul', 'details');
      f.details.forEach(function (d) { ul.appendChild(el('li', null, d)); });
      msg.appendChild(ul);
    }
    var advice = (data.rules[f.rule] || {}).advice;
    if (advice) msg.appendChild(el('div', 'advice', 'Advice: ' + advice));
    tr.appendChild(msg);
    tr.appendChild(actionsCell(role));
    return tr;
  }

  var rows = data.findings.map(function (f, i) {
    var role = data.roles[f.role];
    var title = f.title || (data.rules[f.rule] || {}).title || '';
    var hay = [f.account, role.arn, f.rule, f.severity, title, f.message].concat(f.details || []).join('\n').toLowerCase();
    return {f: f, role: role, title: title, hay: hay, i: i, tr: null};
  });

  // The rows made so far, in the order of `rows`.
  function place() {
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { if (r.tr) frag.appendChild(r.tr); });
    tbody.appendChild(frag);
  }

  function state() {
    var s = {};
    KEYS.forEach(function (k) { s[k] = controls[k].value; });
    return s;
  }

  // A large organisation has thousands of findings: the first PAGE that
  // match are shown, the rest a click away (the browser lays out only those).
  var PAGE = 500;
  var limit = PAGE;
  var more = document.getElementById('more');

  function apply() {
    var s = state();
    var q = s.q.trim().toLowerCase();
    var matched = 0, made = false;
    rows.forEach(function (r) {
      var ok = (!s.account || r.f.account === s.account) &&
        (!s.rule || r.f.rule === s.rule) &&
        (!s.severity || r.f.severity === s.severity) &&
        (!q || r.hay.indexOf(q) !== -1);
      if (ok) matched++;
      var show = ok && matched <= limit;
      if (show && !r.tr) {
        r.tr = build(r);
        made = true;
      }
      if (r.tr) r.tr.hidden = !show;
    });
    if (made) place();
    var n = Math.min(matched, limit);
    shown.textContent = n === total ? total + ' findings'
      : n === matched ? 'Showing ' + n + ' of ' + total + ' findings'
      : 'Showing the first ' + n + ' of ' + matched + (matched === total ? ' findings' : ' matching findings (' + total + ' in all)');
    more.hidden = matched <= limit;
    more.textContent = 'Show ' + Math.min(PAGE, matched - limit) + ' more';
  }

  function hashOf(s) {
    var p = new URLSearchParams();
    KEYS.forEach(function (k) { if (s[k]) p.set(k, s[k]); });
    return p.toString();
  }

  function fromHash() {
    limit = PAGE;
    var p = new URLSearchParams(location.hash.replace(/^#/, ''));
    KEYS.forEach(function (k) {
      var v = p.get(k) || '';
      var c = controls[k];
      if (c.tagName === 'SELECT' && v && !Array.prototype.some.call(c.options, function (o) { return o.value === v; })) {
        // A linked filter that matches nothing here still filters.
        var o = el('option', null, v + ' (0)');
        o.value = v;
        c.appendChild(o);
      }
      c.value = v;
    });
    apply();
  }

  function changed() {
    limit = PAGE;
    apply();
    var h = hashOf(state());
    if (location.hash.replace(/^#/, '') !== h) location.hash = h;
  }

  var sortKey = 'severity', sortDir = -1;
  function sortValue(r, key) {
    if (key === 'severity') return RANK[r.f.severity] || 0;
    if (key === 'role') return r.role.name.toLowerCase();
    return String(r.f[key]);
  }
  function sort() {
    rows.sort(function (a, b) {
      var x = sortValue(a, sortKey), y = sortValue(b, sortKey);
      var c = (x < y ? -1 : x > y ? 1 : 0) * sortDir;
      if (c === 0) c = (RANK[b.f.severity] || 0) - (RANK[a.f.severity] || 0);
      return c || a.i - b.i;
    });
    place();
    apply();
    Array.prototype.forEach.call(document.querySelectorAll('th button[data-sort]'), function (b) {
      var th = b.parentNode;
      if (b.getAttribute('data-sort') === sortKey) th.setAttribute('aria-sort', sortDir < 0 ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('th button[data-sort]'), function (b) {
    b.addEventListener('click', function () {
      var k = b.getAttribute('data-sort');
      if (k === sortKey) sortDir = -sortDir;
      else { sortKey = k; sortDir = k === 'severity' ? -1 : 1; }
      sort();
    });
  });

  ['account', 'rule', 'severity'].forEach(function (k) { controls[k].addEventListener('change', changed); });
  controls.q.addEventListener('input', changed);
  var allAccounts = document.getElementById('all-accounts');
  if (allAccounts) allAccounts.addEventListener('click', function () {
    Array.prototype.forEach.call(document.querySelectorAll('#accounts tbody tr[hidden]'), function (tr) { tr.hidden = false; });
    allAccounts.hidden = true;
  });
  more.addEventListener('click', function () {
    limit += PAGE;
    apply();
  });
  document.getElementById('f-clear').addEventListener('click', function () {
    KEYS.forEach(function (k) { controls[k].value = ''; });
    changed();
  });
  window.addEventListener('hashchange', function () {
    if (location.hash.replace(/^#/, '') !== hashOf(state())) fromHash();
  });

  sort();
  fromHash();
})();
"#;

// ---- CSV -------------------------------------------------------------------

/// One CSV cell: a cell that a spreadsheet would read as a formula (`=`,
/// `+`, `-`, `@`, tab, carriage return first) gets a `'` in front; quoted
/// as RFC 4180 says when it holds a comma, quote or line break.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One row per finding (most severe first), and one per account that
/// could not be scanned (status `not scanned`, the reason as its message).
/// RFC 4180: a header, CRLF line ends.
pub fn csv(report: &Report) -> String {
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(
        &mut out,
        &[
            "account",
            "role",
            "rule",
            "severity",
            "message",
            "action taken",
            "status",
        ],
    );
    for a in report.accounts.iter().filter(|a| a.error.is_some()) {
        let reason = format!(
            "could not be scanned: {}",
            a.error.as_deref().unwrap_or_default()
        );
        line(
            &mut out,
            &[&a.account, "", "", "", &reason, "", "not scanned"],
        );
    }
    for r in report.rows() {
        line(
            &mut out,
            &[
                &r.account.account,
                &role_label(&r.role.path),
                &r.finding.rule,
                &r.finding.severity,
                &r.finding.message,
                &actions_text(r.role),
                role_status(r.role),
            ],
        );
    }
    out
}

// ---- Markdown --------------------------------------------------------------

/// Text for Markdown, in a table cell or a list: the characters that mean
/// something there are backslash-escaped, line breaks become spaces.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// For a ticket: the summary, a table of the accounts with findings or
/// errors, and the findings by account.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let counts = report.counts();
    let total: usize = counts.values().sum();
    out.push_str("# roleguard scan report\n\n");
    let mut summary = String::new();
    if let Some(id) = &report.scan_id {
        let _ = write!(summary, "Scan {}", escape_markdown(id));
    } else {
        summary.push_str("Scan");
    }
    match &report.scanned {
        Some((f, l)) if f == l => {
            let _ = write!(summary, ", {}", escape_markdown(f));
        }
        Some((f, l)) => {
            let _ = write!(
                summary,
                ", {} to {}",
                escape_markdown(f),
                escape_markdown(l)
            );
        }
        None => {}
    }
    let _ = write!(
        summary,
        ", {}: {} {}",
        report.mode(),
        report.accounts.len(),
        plural(report.accounts.len(), "account", "accounts")
    );
    if report.errors() > 0 {
        let _ = write!(summary, " ({} could not be scanned)", report.errors());
    }
    let _ = write!(
        summary,
        ", {} roles, {total} {}",
        report.roles(),
        plural(total, "finding", "findings")
    );
    let by: Vec<String> = SEVERITIES
        .iter()
        .filter_map(|s| counts.get(*s).map(|n| format!("{n} {s}")))
        .collect();
    if !by.is_empty() {
        let _ = write!(summary, ": {}", by.join(", "));
    }
    out.push_str(&summary);
    out.push_str(".\n\n");
    if !report.left_out.is_empty() {
        let list: Vec<String> = report
            .left_out
            .iter()
            .map(|s| {
                format!(
                    "{} ({} {})",
                    escape_markdown(s.scan_id.as_deref().unwrap_or("no scan id")),
                    s.accounts,
                    plural(s.accounts, "account", "accounts")
                )
            })
            .collect();
        let _ = write!(
            out,
            "Only the latest scan is reported; left out: {}.\n\n",
            list.join(", ")
        );
    }
    out.push_str("## Accounts\n\n");
    let listed: Vec<&AccountScan> = report
        .accounts
        .iter()
        .filter(|a| a.error.is_some() || a.results.iter().any(|r| !r.findings.is_empty()))
        .collect();
    if listed.is_empty() {
        out.push_str("No account has findings.\n\n");
    } else {
        out.push_str("| Account | Critical | High | Medium | Low | Status |\n| --- | ---: | ---: | ---: | ---: | --- |\n");
        for a in &listed {
            let account = escape_markdown(&a.account);
            if let Some(e) = &a.error {
                let _ = writeln!(
                    out,
                    "| {account} | | | | | **not scanned**: {} |",
                    escape_markdown(e)
                );
                continue;
            }
            let c = account_counts(a);
            let n = |s: &str| c.get(s).copied().unwrap_or(0);
            let status = if a.ok == Some(false) {
                "steps failed"
            } else if a.remediate && !a.dry_run {
                "enforced"
            } else if a.remediate {
                "dry run"
            } else {
                "reported"
            };
            let _ = writeln!(
                out,
                "| {account} | {} | {} | {} | {} | {status} |",
                n("critical"),
                n("high"),
                n("medium"),
                n("low")
            );
        }
        let clean = report.accounts.len() - listed.len();
        if clean > 0 {
            let _ = write!(
                out,
                "\n{clean} other {} no findings.\n",
                plural(clean, "account has", "accounts have")
            );
        }
        out.push('\n');
    }
    out.push_str("## Findings\n");
    let rows = report.rows();
    if rows.is_empty() {
        out.push_str("\nNo findings.\n");
    }
    let mut by_account: BTreeMap<&str, Vec<Row<'_>>> = BTreeMap::new();
    for r in rows {
        by_account.entry(&r.account.account).or_default().push(r);
    }
    for (account, rows) in by_account {
        let _ = write!(out, "\n### Account {}\n\n", escape_markdown(account));
        for r in rows {
            let f = r.finding;
            let _ = writeln!(
                out,
                "- **{}** {} on role {}: {}",
                escape_markdown(&f.severity),
                escape_markdown(&f.rule),
                escape_markdown(&role_label(&r.role.path)),
                escape_markdown(&f.message)
            );
            if let Some(a) = advice(&f.rule) {
                let _ = writeln!(out, "  - Advice: {}", escape_markdown(a));
            }
            let _ = writeln!(
                out,
                "  - roleguard: {}: {}",
                role_status(r.role),
                escape_markdown(&actions_text(r.role))
            );
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn account(id: &str, scan: Option<&str>, at: Option<&str>) -> Value {
        let mut v = json!({
            "account": id, "roles": 2, "dry_run": false, "remediate": true,
            "read_requests": 3, "baselines_recorded": 1,
            "findings_by_severity": {"critical": 1},
            "results": [{
                "path": format!("arn:aws:iam::{id}:role/ci/open"), "kind": "role",
                "findings": [{"rule": "trust-any-principal", "severity": "critical",
                    "title": "Role can be assumed by any AWS principal",
                    "message": "any AWS account may assume the role", "details": ["*"]}],
                "plan": [{"action": "update_assume_role_policy", "role_name": "open",
                    "policy_document": {"Statement": []}, "replaced_document": {"Statement": [{"Principal": {"AWS": "*"}}]}}],
                "error": null,
                "results": [{"step": {"action": "update_assume_role_policy", "role_name": "open",
                    "policy_document": {"Statement": []}, "replaced_document": {"Statement": [{"Principal": {"AWS": "*"}}]}},
                    "status": "done"}]
            }],
            "ok": true
        });
        if let Some(s) = scan {
            v["scan_id"] = json!(s);
        }
        if let Some(t) = at {
            v["scanned_at"] = json!(t);
        }
        v
    }

    #[test]
    fn scan_report_reads_every_form() {
        let one = account("111122223333", None, None);
        let a = parse("one.json", &serde_json::to_string_pretty(&one).unwrap()).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].account, "111122223333");
        assert_eq!(a[0].results[0].findings[0].rule, "trust-any-principal");
        assert_eq!(a[0].results[0].results[0].status, "done");
        assert_eq!(a[0].roles, Some(2));

        let two = json!([one, account("444455556666", None, None)]);
        assert_eq!(parse("list.json", &two.to_string()).unwrap().len(), 2);

        let reply = json!({"verdict": "scanned", "accounts": two});
        let r = parse("reply.json", &reply.to_string()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].account, "444455556666");

        let lines = format!(
            "{}\n\n{}\r\n{}\n",
            account("1", Some("s1"), Some("2026-01-01T00:00:00Z")),
            account("2", Some("s1"), Some("2026-01-01T00:00:05Z")),
            json!({"account": "3", "scan_id": "s1", "scanned_at": "2026-01-01T00:00:07Z",
                "error": "cannot assume the remediation role in account 3: AccessDenied"})
        );
        let l = parse("results.jsonl", &lines).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(
            l[2].error.as_deref().map(|e| e.contains("AccessDenied")),
            Some(true)
        );
        assert!(l[2].results.is_empty());
        assert_eq!(l[1].scan_id.as_deref(), Some("s1"));

        // Unknown fields, nulls and missing fields are fine.
        let odd = r#"{"account":"5","results":null,"roles":null,"new_field":{"x":1},
            "dry_run":null}"#;
        let o = parse("odd.json", odd).unwrap();
        assert_eq!(o[0].results, vec![]);
        assert_eq!(o[0].roles, None);
    }

    #[test]
    fn scan_report_bad_input_is_named_with_its_line() {
        let e = parse("empty.jsonl", "  \n").unwrap_err();
        assert_eq!(e.to_string(), "empty.jsonl: empty: no scan results");
        let good = account("1", Some("s"), None).to_string();
        let e = parse(
            "r.jsonl",
            &format!("{good}\n{good}\n{{\"account\": \"2\", \n"),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(
            e.to_string().starts_with("r.jsonl, line 3: not JSON"),
            "{e}"
        );
        let e = parse("r.jsonl", &format!("{good}\n{{\"roles\": 3}}\n")).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("no `account`"), "{e}");
        let e = parse(
            "r.jsonl",
            &format!("{good}\n{{\"account\": \"2\", \"results\": 5}}\n"),
        )
        .unwrap_err();
        assert!(e.message.contains("results"), "{e}");
        assert_eq!(e.line, Some(2));
        let e = parse("x.json", "{\n  \"account\": \"1\",\n  oops\n}").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.starts_with("not JSON"), "{e}");
        let e = parse("x.json", "42").unwrap_err();
        assert!(e.message.contains("found a number"), "{e}");
        let e = parse("x.json", r#"{"verdict":"handled","plan":[]}"#).unwrap_err();
        assert!(e.message.contains("no scan results"), "{e}");
        let e = parse("x.json", r#"[{"account": 12}]"#).unwrap_err();
        assert!(e.message.starts_with("item 1: "), "{e}");
        let e = parse(
            "x.json",
            r#"{"account":"1","results":[{"findings":[{"rule":7}]}]}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("results[0].findings[0].rule"), "{e}");
    }

    #[test]
    fn scan_report_keeps_the_latest_scan() {
        let all = parse(
            "r.jsonl",
            &[
                account("1", Some("old"), Some("2026-01-01T00:00:00Z")),
                account("2", Some("old"), Some("2026-01-01T00:00:09Z")),
                account("1", Some("new"), Some("2026-01-02T00:00:00+01:00")),
                account("3", Some("new"), Some("2026-01-02T00:00:03+01:00")),
                // A retried account: the later result stands.
                json!({"account": "3", "scan_id": "new", "scanned_at": "2026-01-02T00:00:01+01:00",
                    "error": "Throttling"}),
                // An earlier scan that comes later in the input.
                account("4", Some("older"), Some("2025-12-31T00:00:00Z")),
            ]
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        )
        .unwrap();
        let r = Report::from_accounts(all);
        assert_eq!(r.scan_id.as_deref(), Some("new"));
        let ids: Vec<&str> = r.accounts.iter().map(|a| a.account.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
        assert_eq!(r.accounts[1].error, None, "the later result of account 3");
        assert_eq!(r.replaced, 1);
        assert_eq!(
            r.scanned,
            Some((
                "2026-01-02T00:00:00+01:00".into(),
                "2026-01-02T00:00:03+01:00".into()
            ))
        );
        let left: Vec<(Option<&str>, usize)> = r
            .left_out
            .iter()
            .map(|s| (s.scan_id.as_deref(), s.accounts))
            .collect();
        assert_eq!(left, [(Some("old"), 2), (Some("older"), 1)]);
        let page = html(&r);
        assert!(
            page.contains("2 earlier scans in the input are left out"),
            "{page}"
        );
        assert!(markdown(&r).contains("left out: old (2 accounts), older (1 account)"));

        // No times: the scan that comes last.
        let r = Report::from_accounts(vec![
            serde_json::from_value(account("1", Some("a"), None)).unwrap(),
            serde_json::from_value(account("1", Some("b"), None)).unwrap(),
        ]);
        assert_eq!(r.scan_id.as_deref(), Some("b"));
        assert_eq!(Report::from_accounts(vec![]), Report::default());
    }

    fn hostile() -> Report {
        let name = "</script><script>alert(1)</script>";
        let mut a = account("111122223333", Some("s<1>"), Some("2026-01-01T00:00:00Z"));
        a["results"][0]["path"] = json!(format!("arn:aws:iam::111122223333:role/{name}"));
        a["results"][0]["findings"][0]["message"] =
            json!("<img src=x onerror=alert(2)> & \u{2028}");
        a["results"][0]["results"][0]["step"]["replaced_document"] =
            json!({"Condition": {"StringEquals": {"aws:x": "</script><!--<script>"}}});
        let e = json!({"account": "<b>444455556666</b>", "error": "<script>alert(3)</script>",
            "scan_id": "s<1>", "scanned_at": "2026-01-01T00:00:01Z"});
        Report::from_accounts(accounts_of(json!([a, e])).unwrap())
    }

    #[test]
    fn scan_report_html_escapes_what_attackers_write() {
        let page = html(&hostile());
        // Only the page's own two scripts open and close.
        assert_eq!(page.matches("<script").count(), 2, "{page}");
        assert_eq!(page.matches("</script").count(), 2, "{page}");
        assert!(!page.contains("<img"));
        assert!(!page.contains("<!--"));
        assert!(!page.contains("<b>444455556666"));
        assert!(
            page.contains("&lt;script&gt;alert(3)&lt;/script&gt;"),
            "the error, escaped"
        );
        assert!(page.contains("&lt;b&gt;444455556666&lt;/b&gt;"));
        assert!(page.contains("scan s&lt;1&gt;"));
        // The data: the same strings, as JSON escapes, read back intact.
        let start = page.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let data: Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(
            data["roles"][0]["arn"],
            "arn:aws:iam::111122223333:role/</script><script>alert(1)</script>"
        );
        assert_eq!(
            data["roles"][0]["steps"][0]["documents"][0]["document"]["Condition"]["StringEquals"]
                ["aws:x"],
            "</script><!--<script>"
        );
        assert!(data["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains('\u{2028}'));
        assert!(!page[start..end].contains('\u{2028}'));
        // Nothing is loaded from anywhere.
        for attr in [
            "src=\"http",
            "href=\"http",
            "src='http",
            "href='http",
            "url(",
            "@import",
        ] {
            assert!(!page.contains(attr), "{attr}");
        }
        assert!(page.contains("Content-Security-Policy"));
    }

    #[test]
    fn scan_report_markdown_escapes_and_summarises() {
        let md = markdown(&hostile());
        assert!(md.contains("\\<b\\>444455556666\\</b\\>"), "{md}");
        assert!(
            md.contains("**not scanned**: \\<script\\>alert(3)\\</script\\>"),
            "{md}"
        );
        let mut r = hostile();
        r.accounts[0].results[0].findings[0].message = "a | b\nc".into();
        let md = markdown(&r);
        assert!(md.contains("a \\| b c"), "{md}");
        for line in md.lines().filter(|l| l.starts_with('|')) {
            // Every table row has the header's 7 unescaped bars.
            let bars = line
                .match_indices('|')
                .filter(|(i, _)| !line[..*i].ends_with('\\'))
                .count();
            assert_eq!(bars, 7, "{line}");
        }
        assert!(md.contains("1 finding: 1 critical"), "{md}");
        assert!(md.contains("Advice: Name the accounts"), "{md}");
        assert!(
            md.contains("  - roleguard: reverted: update\\_assume\\_role\\_policy (done)\n"),
            "{md}"
        );
    }

    #[test]
    fn scan_report_csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for c in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                csv_cell(c).trim_start_matches('"').starts_with('\''),
                "{c:?}"
            );
        }
        let mut r = hostile();
        r.accounts[0].results[0].findings[0].message = "=cmd|' /C calc'!A0, \"quoted\"".into();
        let text = csv(&r);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "account,role,rule,severity,message,action taken,status"
        );
        assert!(
            lines[1].starts_with("<b>444455556666</b>,,,,could not be scanned: <script>"),
            "{text}"
        );
        assert!(lines[1].ends_with(",not scanned"), "{text}");
        assert_eq!(
            lines[2],
            "111122223333,</script><script>alert(1)</script>,trust-any-principal,critical,\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\",update_assume_role_policy (done),reverted"
        );
        assert_eq!(lines[3], "", "a CRLF after the last row");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn scan_report_error_accounts_are_marked_with_their_reason() {
        let r = hostile();
        assert_eq!(r.errors(), 1);
        let page = html(&r);
        let row = page
            .lines()
            .find(|l| l.contains("class=\"error\""))
            .expect("the error row");
        assert!(row.contains("Not scanned:"), "{row}");
        assert!(page.contains("1 could not be scanned"));
        assert_eq!(r.counts().get("critical"), Some(&1));
        assert_eq!(r.rows().len(), 1);
    }

    #[test]
    fn scan_report_roles_and_steps_read_plainly() {
        assert_eq!(
            role_name("arn:aws:iam::1:role/ci/deploy/app"),
            ("app", "/ci/deploy/".into())
        );
        assert_eq!(role_name("arn:aws:iam::1:role/app"), ("app", "/".into()));
        assert_eq!(role_name("app"), ("app", "/".into()));
        assert_eq!(role_label("arn:aws:iam::1:role/ci/app"), "ci/app");
        let step = json!({"action": "detach_role_policy", "role_name": "x",
            "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"});
        assert_eq!(
            describe_step(&step),
            "detach_role_policy policy_arn=arn:aws:iam::aws:policy/AdministratorAccess"
        );
        let step = json!({"action": "delete_role_policy", "role_name": "x", "policy_name": "p",
            "removed_document": {"Statement": []}});
        assert_eq!(describe_step(&step), "delete_role_policy policy_name=p");
        assert_eq!(step_documents(&step)[0].0, "removed document");
        let mut role = RoleResult::default();
        assert_eq!(role_status(&role), "reported");
        role.plan = vec![step.clone()];
        assert_eq!(role_status(&role), "not remediated");
        assert_eq!(
            actions_text(&role),
            "none (planned: delete_role_policy policy_name=p)"
        );
        role.results = vec![StepRun {
            step,
            status: "would_do".into(),
            detail: String::new(),
        }];
        assert_eq!(role_status(&role), "dry run");
        role.results[0].status = "failed".into();
        assert_eq!(role_status(&role), "failed");
        role.results[0].status = "done".into();
        assert_eq!(role_status(&role), "reverted");

        // Tags read as key=value; an alert not sent is left out.
        let tag = json!({"action": "tag_role", "role_name": "x",
            "tags": {"roleguard:status": "non-compliant"}});
        assert_eq!(
            describe_step(&tag),
            "tag_role roleguard:status=non-compliant"
        );
        let tagged = RoleResult {
            results: vec![
                StepRun {
                    step: tag,
                    status: "done".into(),
                    detail: String::new(),
                },
                StepRun {
                    step: json!({"action": "notify", "severity": "high", "rules": []}),
                    status: "skipped".into(),
                    detail: "alert channels are not configured".into(),
                },
            ],
            ..RoleResult::default()
        };
        assert_eq!(role_status(&tagged), "tagged");
        assert_eq!(
            actions_text(&tagged),
            "tag_role roleguard:status=non-compliant (done)"
        );
    }
}
