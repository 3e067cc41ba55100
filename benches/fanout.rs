//! The scan's fan-out at organisation scale, on the in-memory adapters:
//! 1,000 accounts (the function's own and 999 members, 20 roles each, a
//! public trust in every tenth), the schedule putting one message per
//! account on the queue, and `C` event-source-mapping pollers taking
//! batches of 10 at once (Lambda's maximum concurrency for the queue). IAM
//! answers each page of an account's read after `IAM_PAGE_MS` (a model of
//! IAM's latency, not a measurement); everything else is roleguard's own
//! work, measured. Prints, per concurrency: messages, invocations, wall
//! time, billed GB-seconds, and the projected monthly cost of a daily scan.
//!
//! `cargo bench --bench fanout` (ROLEGUARD_FANOUT_ACCOUNTS, _ROLES to change the size).

// Tests and benchmarks report a failure by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use roleguard::adapters::memory::{
    sqs_event, ManualClock, MemoryAccounts, MemoryIam, MemoryOrganization, MemoryQueue, MemoryStore,
};
use roleguard::config::Config;
use roleguard::engine::{Engine, Mode, OrgCache};
use roleguard::lambda::{invoke, Fleet, Reply};
use roleguard::ports::NoChannels;
use roleguard::snapshot::RoleSnapshot;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const OWN: &str = "100000000000";
/// A model of IAM's latency per page of GetAccountAuthorizationDetails.
const IAM_PAGE_MS: u64 = 150;
/// Lambda on arm64 (us-east-1, 2026 list price): per GB-second and per request.
const LAMBDA_GB_S: f64 = 0.000_013_333_4;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
/// SQS standard queue, per request (a batch of up to 10 is one request).
const SQS_REQUEST: f64 = 0.40 / 1e6;
/// DynamoDB on demand, per write request unit (1 KB).
const DDB_WRU: f64 = 0.625 / 1e6;
const MEMORY_GB: f64 = 0.25;
const SCANS_PER_MONTH: f64 = 30.0;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n_accounts = env("ROLEGUARD_FANOUT_ACCOUNTS", 1000);
    let n_roles = env("ROLEGUARD_FANOUT_ROLES", 20);
    let ids: Vec<String> = std::iter::once(OWN.to_string())
        .chain((1..n_accounts).map(|i| format!("{:012}", 200_000_000_000u64 + i as u64)))
        .collect();
    let mut accounts: Option<MemoryAccounts> = None;
    for (i, id) in ids.iter().enumerate() {
        let iam = MemoryIam::new(id);
        for r in 0..n_roles {
            iam.put_lambda_role(&format!("app-{r}"), vec![]);
        }
        if i % 10 == 3 {
            iam.put_role(&RoleSnapshot {
                name: "open-door".into(),
                arn: format!("arn:aws:iam::{id}:role/open-door"),
                path: "/".into(),
                trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
                max_session_duration: 3600,
                permissions_boundary: None,
                attached: vec![],
                inline: vec![],
            });
        }
        iam.set_page_latency(Duration::from_millis(IAM_PAGE_MS));
        let iam = Arc::new(iam);
        accounts = Some(match accounts {
            None => MemoryAccounts::new(iam),
            Some(a) => a.with(iam),
        });
    }
    let accounts = accounts.expect("at least one account");
    let config = Config {
        organization_id: Some("o-a1b2c3d4e5".into()),
        ..Config::default()
    };
    println!(
        "fan-out of a daily scan: {n_accounts} accounts x {n_roles} roles (+1 public in every tenth), IAM modelled at {IAM_PAGE_MS} ms a page, 256 MB arm64"
    );
    println!(
        "{:>11} {:>8} {:>11} {:>10} {:>12} {:>11} {:>10} {:>13} {:>14}",
        "concurrency",
        "messages",
        "invocations",
        "wall s",
        "max invoke s",
        "GB-s/scan",
        "findings",
        "cpu ms/acct",
        "$/month (30)"
    );
    for concurrency in [5usize, 20, 100] {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        runtime.block_on(run(&accounts, &ids, &config, concurrency));
    }
}

async fn run(accounts: &MemoryAccounts, ids: &[String], config: &Config, concurrency: usize) {
    let store = MemoryStore::new();
    let clock = ManualClock::at(1_795_341_600);
    let org = OrgCache::new(MemoryOrganization::with_accounts(ids), 3600);
    let queue = MemoryQueue::new();
    let engine = Engine::new(config, &store, &NoChannels, &clock, Mode::DryRun);
    let fleet = Fleet {
        org: Some(&org),
        queue: Some(&queue),
    };
    let scheduled = json!({"version": "0", "id": "s", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": OWN, "time": "2026-11-28T03:00:00Z",
        "region": "us-east-1", "resources": [], "detail": {}});
    let start = Instant::now();
    let Ok(Reply::Enqueued {
        accounts: messages,
        requests: sends,
        ..
    }) = invoke(&engine, accounts, &fleet, scheduled).await
    else {
        panic!("the schedule enqueues")
    };
    let schedule_s = start.elapsed().as_secs_f64();
    // The pollers: each takes a batch, invokes, settles, until the queue is empty.
    let poll = || async {
        let mut durations = Vec::new();
        let mut findings = 0usize;
        let mut cpu = Duration::ZERO;
        loop {
            let batch = queue.receive(10);
            if batch.is_empty() {
                return (durations, findings, cpu);
            }
            let t = Instant::now();
            let reply = invoke(
                &engine,
                accounts,
                &fleet,
                sqs_event(&batch, "arn:aws:sqs:us-east-1:100000000000:scan"),
            )
            .await
            .expect("a batch");
            let took = t.elapsed();
            let Reply::ScanBatch(b) = reply else {
                panic!("a batch reply")
            };
            assert!(b.response.batch_item_failures.is_empty(), "{:?}", b.retried);
            findings += b.scanned.len();
            // What was not waiting on IAM (the batch's accounts are read
            // side by side: one page each here): roleguard's own work.
            cpu += took.saturating_sub(Duration::from_millis(IAM_PAGE_MS));
            queue.settle(&batch, &[]);
            durations.push(took.as_secs_f64());
        }
    };
    let results = futures_util::future::join_all((0..concurrency).map(|_| poll())).await;
    let wall = start.elapsed().as_secs_f64();
    let durations: Vec<f64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let invocations = durations.len() + 1;
    let scanned: usize = results.iter().map(|r| r.1).sum();
    assert_eq!(scanned, messages, "every account scanned");
    let cpu: Duration = results.iter().map(|r| r.2).sum();
    // Billed: each invocation's duration, rounded up to the millisecond.
    let gb_s: f64 = (durations
        .iter()
        .map(|d| (d * 1000.0).ceil() / 1000.0)
        .sum::<f64>()
        + schedule_s)
        * MEMORY_GB;
    let (_, stored) = roleguard::ports::Store::latest_scan(&store)
        .await
        .expect("the store")
        .expect("a scan");
    let with_findings = stored
        .iter()
        .filter(|r| {
            r["findings_by_severity"]
                .as_object()
                .is_some_and(|m| !m.is_empty())
        })
        .count();
    let wrus: f64 = stored
        .iter()
        .map(|r| {
            (serde_json::to_vec(r).map(|v| v.len()).unwrap_or(0) as f64 / 4.0 / 1024.0)
                .ceil()
                .max(1.0)
        })
        .sum::<f64>()
        + 2.0;
    // SQS: the sends, one receive and one delete batch per invocation.
    let sqs_requests = sends + 2 * (invocations - 1);
    let per_scan = gb_s * LAMBDA_GB_S
        + invocations as f64 * LAMBDA_REQUEST
        + sqs_requests as f64 * SQS_REQUEST
        + wrus * DDB_WRU;
    let max_invoke = durations.iter().copied().fold(0.0, f64::max);
    println!(
        "{:>11} {:>8} {:>11} {:>10.1} {:>12.2} {:>11.1} {:>10} {:>13.2} {:>14.4}",
        concurrency,
        messages,
        invocations,
        wall,
        max_invoke,
        gb_s,
        with_findings,
        cpu.as_secs_f64() * 1000.0 / messages as f64,
        per_scan * SCANS_PER_MONTH
    );
}
