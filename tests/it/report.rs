//! `roleguard report` on real scan results: the engine scans five accounts
//! on the in-memory adapters (bad roles planted, reverted in enforce mode;
//! one account it cannot reach), the results are written as the scheduled
//! scan stores them (JSON Lines), the CLI renders them, and Debian's
//! chromium, driven by playwright-core (tests/browser), loads the page
//! offline and works its filters.

use roleguard::adapters::memory::{ManualClock, MemoryAccounts, MemoryIam};
use roleguard::config::Config;
use roleguard::engine::{Engine, Mode};
use roleguard::ports::{NoChannels, NoStore};
use roleguard::scan::RoleSnapshot;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// The scan the report must cover, and an earlier one it must leave out.
const LATEST: &str = "scan-20261128T0300Z";
const EARLIER: &str = "scan-20261127T0300Z";
/// 2026-11-28T03:00:00Z.
const T_LATEST: i64 = 1_795_834_800;
const DAY: i64 = 86_400;

const PROD: &str = "111122223333";
const STAGING: &str = "222233334444";
const DEV: &str = "333344445555";
const UNREACHABLE: &str = "444455556666";
const CLEAN: &str = "555566667777";

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn lambda_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
}

fn role(account: &str, path: &str, name: &str, trust: Value) -> RoleSnapshot {
    RoleSnapshot {
        name: name.into(),
        arn: format!("arn:aws:iam::{account}:role{path}{name}"),
        path: path.into(),
        trust_policy: trust,
        max_session_duration: 3600,
        permissions_boundary: None,
        attached: vec![],
        inline: vec![],
    }
}

fn scoped_read(account: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:Query"],
        "Resource": format!("arn:aws:dynamodb:us-east-1:{account}:table/orders")}]})
}

/// A good role every account has.
fn good(iam: &MemoryIam, account: &str, name: &str) {
    let mut r = role(account, "/service-role/", name, lambda_trust());
    r.inline = vec![("orders-read".into(), scoped_read(account))];
    iam.put_role(&r);
}

/// The accounts as the latest scan finds them.
fn latest_accounts() -> Vec<Arc<MemoryIam>> {
    // prod: a public trust, AdministratorAccess, PassRole on * with Lambda.
    let prod = MemoryIam::new(PROD);
    good(&prod, PROD, "orders-api");
    prod.put_role(&role(
        PROD,
        "/",
        "partner-access",
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
    ));
    let mut admin = role(PROD, "/ops/", "ops-admin", lambda_trust());
    admin.attached = vec![ADMIN.into()];
    prod.put_role(&admin);
    let mut deployer = role(PROD, "/ci/", "ci-deployer", lambda_trust());
    deployer.inline = vec![(
        "deploy".into(),
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
            {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}]}),
    )];
    prod.put_role(&deployer);

    // staging: an inline admin policy whose condition value is markup (an
    // attacker writes what they like there), a trust to a foreign account.
    let staging = MemoryIam::new(STAGING);
    good(&staging, STAGING, "reports-reader");
    let mut batch = role(STAGING, "/", "batch-jobs", lambda_trust());
    batch.inline = vec![(
        "everything".into(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
            "Resource": "*", "Condition": {"StringNotEquals": {
                "aws:RequestTag/note": "</script><script>alert('x')</script><!--"}}}]}),
    )];
    staging.put_role(&batch);
    staging.put_role(&role(
        STAGING,
        "/",
        "legacy-sync",
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]}),
    ));

    // dev: long sessions and a service wildcard.
    let dev = MemoryIam::new(DEV);
    good(&dev, DEV, "dev-api");
    let mut sandbox = role(DEV, "/", "dev-sandbox", lambda_trust());
    sandbox.max_session_duration = 43_200;
    sandbox.inline = vec![(
        "s3".into(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    )];
    dev.put_role(&sandbox);

    let clean = MemoryIam::new(CLEAN);
    good(&clean, CLEAN, "billing-export");
    good(&clean, CLEAN, "audit-reader");
    vec![prod, staging, dev, clean]
        .into_iter()
        .map(Arc::new)
        .collect()
}

/// The accounts as the earlier scan found them: only prod's public trust.
fn earlier_accounts() -> Vec<Arc<MemoryIam>> {
    let prod = MemoryIam::new(PROD);
    good(&prod, PROD, "orders-api");
    prod.put_role(&role(
        PROD,
        "/",
        "partner-access",
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
    ));
    let staging = MemoryIam::new(STAGING);
    good(&staging, STAGING, "reports-reader");
    vec![Arc::new(prod), Arc::new(staging)]
}

/// One scan of `accounts` (plus `extra`, which no remediation role
/// reaches) as the scheduled scan stores it: a JSON line per account with
/// the scan id and when it was scanned.
async fn scan(
    scan_id: &str,
    at: i64,
    accounts: Vec<Arc<MemoryIam>>,
    extra: &[&str],
    remediate: bool,
) -> Vec<Value> {
    let config = Config::default();
    let clock = ManualClock::at(at);
    let engine = Engine::new(&config, &NoStore, &NoChannels, &clock, Mode::Enforce);
    let mut all = MemoryAccounts::new(Arc::new(MemoryIam::new("999900000000")));
    let mut ids: Vec<String> = Vec::new();
    for a in accounts {
        ids.push(a.account().to_string());
        all = all.with(a);
    }
    ids.extend(extra.iter().map(|s| s.to_string()));
    ids.sort();
    let mut lines = Vec::new();
    for (i, account) in ids.iter().enumerate() {
        let at = at + 7 * i as i64;
        let mut line =
            match roleguard::lambda::scan_with(&engine, &all, Some(account), remediate).await {
                Ok(outcome) => serde_json::to_value(&outcome).unwrap(),
                Err(e) => json!({"account": account, "error": e.to_string()}),
            };
        line["scan_id"] = json!(scan_id);
        line["scanned_at"] = json!(roleguard::sessions::iso8601(at));
        lines.push(line);
    }
    lines
}

/// The results file: the earlier scan (report only), then the latest
/// (enforce, remediating), one JSON line per account.
async fn results() -> Vec<Value> {
    let mut lines = scan(EARLIER, T_LATEST - DAY, earlier_accounts(), &[], false).await;
    lines.extend(scan(LATEST, T_LATEST, latest_accounts(), &[UNREACHABLE], true).await);
    lines
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

/// A finding as the test expects to see it: from the input, not the report.
#[derive(Debug, Clone)]
struct Expected {
    account: String,
    rule: String,
    severity: String,
    hay: String,
}

/// The latest scan's findings, read from the results.
fn expected(lines: &[Value]) -> Vec<Expected> {
    let mut out = Vec::new();
    for l in lines.iter().filter(|l| l["scan_id"] == LATEST) {
        let account = l["account"].as_str().unwrap();
        for r in l["results"].as_array().into_iter().flatten() {
            let arn = r["path"].as_str().unwrap();
            for f in r["findings"].as_array().unwrap() {
                let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                let mut hay = vec![
                    account.to_string(),
                    arn.to_string(),
                    s("rule"),
                    s("severity"),
                    s("title"),
                    s("message"),
                ];
                hay.extend(
                    f["details"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|d| d.as_str().unwrap().to_string()),
                );
                out.push(Expected {
                    account: account.into(),
                    rule: s("rule"),
                    severity: s("severity"),
                    hay: hay.join("\n").to_lowercase(),
                });
            }
        }
    }
    out
}

fn count_by(e: &[Expected], key: impl Fn(&Expected) -> &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for x in e {
        *m.entry(key(x).to_string()).or_insert(0) += 1;
    }
    m
}

/// A fresh directory for one test's files.
fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn roleguard(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn report_results_are_the_engines_own() {
    let lines = results().await;
    // Every account of both scans, the unreachable one with its reason.
    assert_eq!(lines.len(), 2 + 5);
    let latest: Vec<&Value> = lines.iter().filter(|l| l["scan_id"] == LATEST).collect();
    let err = latest.iter().find(|l| l["account"] == UNREACHABLE).unwrap();
    assert!(
        err["error"].as_str().unwrap().contains("remediation role"),
        "{err}"
    );
    // The planted roles are found and reverted, documents kept.
    let e = expected(&lines);
    let rules: BTreeSet<&str> = e.iter().map(|x| x.rule.as_str()).collect();
    for r in [
        "trust-any-principal",
        "perm-full-admin",
        "perm-passrole-unconstrained",
    ] {
        assert!(rules.contains(r), "{r} in {rules:?}");
    }
    let text = jsonl(&lines);
    assert!(text.contains("\"removed_document\""));
    assert!(text.contains("\"replaced_document\""));
    assert!(text.contains("\"status\":\"done\""));
    assert!(e
        .iter()
        .all(|x| x.account != CLEAN && x.account != UNREACHABLE));
    for a in [PROD, STAGING, DEV] {
        assert!(e.iter().any(|x| x.account == a), "findings in {a}");
    }
}

#[tokio::test]
async fn report_cli_renders_csv_and_markdown_from_a_file_and_stdin() {
    let lines = results().await;
    let e = expected(&lines);
    let dir = workdir("cli");
    let input = dir.join("results.jsonl");
    std::fs::write(&input, jsonl(&lines)).unwrap();
    let input = input.to_str().unwrap();

    let out = roleguard(&["report", "--format", "csv", input], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        rows[0],
        "account,role,rule,severity,message,action taken,status"
    );
    // One row per finding of the latest scan, and the unreachable account.
    assert_eq!(rows.len(), 1 + e.len() + 1, "{csv}");
    assert!(rows[1].starts_with(&format!("{UNREACHABLE},,,,could not be scanned: ")));
    assert!(
        rows.iter().any(|r| r
            .starts_with(&format!("{PROD},ops/ops-admin,perm-full-admin,critical,"))
            && r.contains(
                "detach_role_policy policy_arn=arn:aws:iam::aws:policy/AdministratorAccess (done)"
            )
            && r.ends_with(",reverted")),
        "{csv}"
    );

    // The same from standard input, as Markdown, to a file.
    let md_path = dir.join("report.md");
    let out = roleguard(
        &[
            "report",
            "--format",
            "markdown",
            "--output",
            md_path.to_str().unwrap(),
            "-",
        ],
        Some(&jsonl(&lines)),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(md.contains(&format!("Scan {LATEST}, ")), "{md}");
    assert!(
        md.contains(&format!("| {UNREACHABLE} | | | | | **not scanned**: ")),
        "{md}"
    );
    assert_eq!(md.matches("\n- **").count(), e.len(), "{md}");
    assert!(
        md.contains(&format!("left out: {EARLIER} (2 accounts)")),
        "{md}"
    );
}

#[tokio::test]
async fn report_cli_reads_the_scheduled_scans_reply() {
    // The Lambda's own reply to a scheduled event, over two accounts.
    let accounts = latest_accounts();
    let config = Config {
        scan_accounts: vec![STAGING.into()],
        ..Config::default()
    };
    let all = MemoryAccounts::new(accounts[0].clone()).with(accounts[1].clone());
    let scheduled = json!({
        "version": "0", "id": "sched-1", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": PROD, "time": "2026-11-28T03:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:111122223333:rule/roleguard-scan"],
        "detail": {}
    });
    let reply = crate::calls::handle_payload(&all, scheduled, &config, Mode::DryRun)
        .await
        .unwrap();
    let reply = serde_json::to_value(&reply).unwrap();
    assert_eq!(reply["verdict"], "scanned");
    let findings: usize = reply["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["results"].as_array().unwrap())
        .map(|r| r["findings"].as_array().unwrap().len())
        .sum();
    assert!(findings > 0);
    let out = roleguard(
        &["report", "--format", "csv", "-"],
        Some(&reply.to_string()),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        csv.split("\r\n").filter(|l| !l.is_empty()).count(),
        1 + findings
    );
    // Nothing was carried out: the scheduled scan reports unless told.
    assert!(csv.contains(",not remediated\r\n"), "{csv}");
}

#[test]
fn report_cli_says_what_is_wrong_with_bad_input() {
    let dir = workdir("bad");
    let good = json!({"account": PROD, "scan_id": LATEST, "results": []}).to_string();
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        format!("{good}\n{good}\n{{\"account\": \"1\", oops}}\n"),
    )
    .unwrap();
    let out = roleguard(&["report", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("roleguard: {}, line 3: not JSON", bad.display())),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = roleguard(
        &["report", "-"],
        Some("{\"verdict\": \"ignored\", \"call\": \"x\"}"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "standard input: a Lambda reply with verdict \"ignored\" carries no scan results"
        ),
        "{err}"
    );
    let out = roleguard(
        &["report", dir.join("missing.jsonl").to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

// ---- the page in a real browser ---------------------------------------------

/// What the browser needs, or a failure that says how to get it.
fn browser_setup() -> (PathBuf, String) {
    let dir = super::root().join("tests/browser");
    let chromium =
        std::env::var("ROLEGUARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "the report's browser test needs Debian's chromium at {chromium}: run scripts/test \
         (it installs it: apt-get install chromium), or set ROLEGUARD_CHROMIUM"
    );
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the report's browser test needs playwright-core in tests/browser/node_modules: run \
         scripts/test (it runs `cd tests/browser && npm ci`)"
    );
    (dir, chromium)
}

/// Every `src` and `href` value of a page.
fn links(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    for attr in ["src=", "href="] {
        for (i, _) in lower.match_indices(attr) {
            let rest = lower[i + attr.len()..].trim_start_matches(['"', '\'', ' ']);
            out.push(rest.chars().take(40).collect());
        }
    }
    out
}

#[tokio::test]
async fn report_page_works_offline_in_chromium() {
    let (browser_dir, chromium) = browser_setup();
    let lines = results().await;
    let e = expected(&lines);
    let dir = workdir("browser");
    let input = dir.join("results.jsonl");
    std::fs::write(&input, jsonl(&lines)).unwrap();
    let html_path = dir.join("report.html");
    let out = roleguard(
        &[
            "report",
            "--output",
            html_path.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    for l in links(&html) {
        assert!(
            !(l.starts_with("http:") || l.starts_with("https:") || l.starts_with("//")),
            "the page links outside: {l}"
        );
    }
    assert!(
        html.contains("alert('x')"),
        "the condition value is in the page"
    );
    assert!(!html.contains("<script>alert("), "and escaped");
    assert_eq!(
        html.matches("</script").count(),
        2,
        "only the page's own scripts end"
    );

    // What the filters must show, from the input.
    let by_account = count_by(&e, |x| &x.account);
    let by_rule = count_by(&e, |x| &x.rule);
    let by_severity = count_by(&e, |x| &x.severity);
    let staging_rule = e
        .iter()
        .find(|x| x.account == STAGING)
        .map(|x| x.rule.clone())
        .unwrap();
    let query = "CI-Deployer";
    let hashes = [
        "#severity=critical".to_string(),
        format!("#account={STAGING}&rule={staging_rule}"),
        format!("#q={}", query.to_lowercase()),
        format!("#account={CLEAN}"),
    ];
    let expect_hash = |h: &str| -> u64 {
        let p: BTreeMap<&str, &str> = h
            .trim_start_matches('#')
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        e.iter()
            .filter(|x| p.get("account").is_none_or(|a| x.account == *a))
            .filter(|x| p.get("rule").is_none_or(|r| x.rule == *r))
            .filter(|x| p.get("severity").is_none_or(|s| x.severity == *s))
            .filter(|x| p.get("q").is_none_or(|q| x.hay.contains(q)))
            .count() as u64
    };
    // A large organisation: the latest scan's accounts copied under 300
    // account ids.
    let latest: Vec<&Value> = lines.iter().filter(|l| l["scan_id"] == LATEST).collect();
    let big: Vec<Value> = (0..300)
        .map(|i| {
            let from = latest[i % latest.len()];
            let old = from["account"].as_str().unwrap();
            serde_json::from_str(
                &from
                    .to_string()
                    .replace(old, &format!("{:012}", 100_000_000_000u64 + i as u64)),
            )
            .unwrap()
        })
        .collect();
    let big_findings = expected(&big).len();
    assert!(big_findings > 500);
    let big_input = dir.join("big.jsonl");
    std::fs::write(&big_input, jsonl(&big)).unwrap();
    let big_page = dir.join("big.html");
    let out = roleguard(
        &[
            "report",
            "-o",
            big_page.to_str().unwrap(),
            big_input.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let config =
        json!({"hashes": hashes, "query": query, "linkAccount": PROD, "bigPage": big_page});

    let started = std::time::Instant::now();
    let run = Command::new("node")
        .arg(browser_dir.join("report.mjs"))
        .arg(&html_path)
        .arg(config.to_string())
        .env("ROLEGUARD_CHROMIUM", &chromium)
        .current_dir(&browser_dir)
        .output()
        .unwrap_or_else(|e| panic!("node cannot be run ({e}): run scripts/test"));
    let elapsed = started.elapsed();
    assert!(
        run.status.success(),
        "tests/browser/report.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stderr),
        String::from_utf8_lossy(&run.stdout)
    );
    let b: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&run.stdout)));
    eprintln!(
        "report browser test: {} ms in node, {} ms in all",
        b["ms"],
        elapsed.as_millis()
    );

    // It loads cleanly, asks for nothing, runs nothing it was handed.
    assert_eq!(b["consoleErrors"], json!([]), "console errors");
    assert_eq!(b["pageErrors"], json!([]), "page errors");
    assert_eq!(b["requests"], json!([]), "requests besides the page");
    assert_eq!(b["dialogs"], json!([]), "a script from the data ran");
    assert_eq!(b["title"], format!("roleguard report: scan {LATEST}"));

    // Every finding of the latest scan, no more.
    assert_eq!(b["rowsInDom"], e.len() as u64);
    assert_eq!(b["total"], e.len() as u64);
    assert_eq!(b["totalAfterReset"], e.len() as u64);

    // Each filter shows its subset, and every value has an option.
    let seen = |k: &str| -> BTreeMap<String, u64> {
        serde_json::from_value(b["filters"][k].clone()).unwrap()
    };
    assert_eq!(seen("account"), by_account);
    assert_eq!(seen("rule"), by_rule);
    assert_eq!(seen("severity"), by_severity);
    let first = |m: &BTreeMap<String, u64>| m.keys().next().unwrap().clone();
    assert_eq!(
        b["hashAfter"]["account"],
        format!("#account={}", first(&by_account))
    );
    assert_eq!(b["hashAfter"]["rule"], format!("#rule={}", first(&by_rule)));

    // The search box, the link from the matrix.
    let q = query.to_lowercase();
    assert_eq!(
        b["query"]["count"],
        e.iter().filter(|x| x.hay.contains(&q)).count() as u64
    );
    assert!(b["query"]["count"].as_u64().unwrap() > 0);
    assert_eq!(b["link"]["count"], by_account[PROD]);
    assert_eq!(b["link"]["state"]["hash"], format!("#account={PROD}"));

    // A page opened with filters in its hash shows them.
    for h in b["hashes"].as_array().unwrap() {
        let hash = h["hash"].as_str().unwrap();
        assert_eq!(h["count"], expect_hash(hash), "{h}");
        assert_eq!(h["state"]["hash"], hash, "{h}");
    }
    assert_eq!(b["hashes"][0]["state"]["severity"], "critical");
    assert_eq!(
        b["hashes"][3]["count"], 0,
        "the clean account has no findings"
    );

    // Most severe first; the header turns the order round.
    let rank = |s: &Value| match s.as_str().unwrap() {
        "critical" => 5,
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        _ => 1,
    };
    let order: Vec<i32> = b["severityOrder"]
        .as_array()
        .unwrap()
        .iter()
        .map(rank)
        .collect();
    assert!(order.windows(2).all(|w| w[0] >= w[1]), "{order:?}");
    let asc: Vec<i32> = b["severityOrderAscending"]
        .as_array()
        .unwrap()
        .iter()
        .map(rank)
        .collect();
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    assert!(order.first() > order.last(), "more than one severity");

    // The matrix: every account of the latest scan, the unreachable one
    // marked with its reason, counts as the input says.
    let matrix = b["matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), 5);
    let reason = lines
        .iter()
        .find(|l| l["scan_id"] == LATEST && l["account"] == UNREACHABLE)
        .unwrap()["error"]
        .as_str()
        .unwrap();
    let err_row = matrix.iter().find(|r| r["error"] == true).unwrap();
    assert_eq!(err_row["account"], UNREACHABLE);
    assert!(
        err_row["cells"][1].as_str().unwrap().contains(reason),
        "{err_row}"
    );
    for row in matrix.iter().filter(|r| r["error"] == false) {
        let account = row["account"].as_str().unwrap();
        for (i, s) in ["critical", "high", "medium", "low"]
            .into_iter()
            .enumerate()
        {
            let n = e
                .iter()
                .filter(|x| x.account == account && x.severity == s)
                .count();
            assert_eq!(row["cells"][1 + i], n.to_string(), "{account} {s}");
        }
    }

    // The documents roleguard took away, pretty-printed, once per role.
    let docs: Vec<&str> = b["documentTexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(!docs.is_empty());
    assert!(docs
        .iter()
        .all(|d| serde_json::from_str::<Value>(d).is_ok() && d.contains("\n  ")));
    assert!(
        docs.iter()
            .any(|d| d.contains("</script><script>alert('x')</script><!--")),
        "the markup in a removed document is shown as text"
    );
    assert!(
        docs.iter().any(|d| d.contains("\"AWS\": \"*\"")),
        "the replaced trust policy"
    );

    // The large page: 500 rows and 100 accounts first, then all.
    let big = &b["big"];
    assert_eq!(big["shown"], 500, "{big}");
    assert_eq!(
        big["text"],
        format!("Showing the first 500 of {big_findings} findings")
    );
    assert_eq!(big["afterMore"], big_findings as u64);
    assert_eq!(big["accounts"], 100);
    assert_eq!(big["allAccounts"], 300);
    eprintln!(
        "report browser test: the page of 300 accounts loaded in {} ms",
        big["loadMs"]
    );
}
