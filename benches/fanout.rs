//! The scan's fan-out at organisation scale, on the in-memory adapters:
//! 1,000 accounts (the function's own and 999 members, 20 roles each, a
//! public trust in every tenth), the schedule putting one message per
//! account on the queue, and the queue taken in batches of 10 as Lambda's
//! event-source mapping takes it. IAM answers each page of an account's
//! read after `IAM_PAGE_MS` (a model of IAM's latency, not a measurement),
//! and Organizations and SQS likewise; everything else is roleguard's own
//! work, measured. Each batch's invocation is measured alone (as its own
//! container runs it); laid on `C` concurrent slots (the mapping's maximum
//! concurrency) they give the scan's wall time. Prints messages,
//! invocations, durations, billed GB-seconds, wall time per concurrency,
//! and the projected monthly cost of a daily scan.
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
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const OWN: &str = "100000000000";
/// A model of IAM's latency per page of GetAccountAuthorizationDetails,
/// and of Organizations' per page of ListAccounts.
const IAM_PAGE_MS: u64 = 150;
/// A model of SQS's latency per SendMessageBatch.
const SQS_MS: u64 = 20;
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
            iam.put_role_trusting(
                "open-door",
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
            );
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let m = runtime.block_on(measure(&accounts, &ids, &config));
    // Lambda runs each invocation in its own container: the measured
    // durations, laid on `concurrency` slots in order (each batch to the
    // slot that frees first), give the scan's wall time.
    let gb_s = (m
        .durations
        .iter()
        .map(|d| (d * 1000.0).ceil() / 1000.0)
        .sum::<f64>()
        + m.schedule_s)
        * MEMORY_GB;
    let invocations = m.durations.len() + 1;
    let sqs_requests = m.sends + 2 * m.durations.len();
    let per_scan = gb_s * LAMBDA_GB_S
        + invocations as f64 * LAMBDA_REQUEST
        + sqs_requests as f64 * SQS_REQUEST
        + m.wrus * DDB_WRU;
    let mut sorted = m.durations.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    println!(
        "messages {}, invocations {invocations} (1 schedule + {} batches of 10), accounts with findings {}",
        m.messages,
        m.durations.len(),
        m.with_findings
    );
    println!(
        "schedule (ListAccounts modelled at {} pages x {IAM_PAGE_MS} ms, {} SendMessageBatch x {SQS_MS} ms): {:.2} s",
        m.messages.div_ceil(20),
        m.sends,
        m.schedule_s
    );
    println!(
        "a batch's invocation: median {:.3} s, p99 {:.3} s; roleguard's own work {:.2} ms per account",
        pct(0.5),
        pct(0.99),
        m.own_ms_per_account
    );
    println!(
        "per scan: {gb_s:.1} GB-s, {sqs_requests} SQS requests, {:.0} DynamoDB write units; ${per_scan:.5}; a daily scan ${:.3}/month",
        m.wrus,
        per_scan * SCANS_PER_MONTH
    );
    println!("{:>11} {:>12}", "concurrency", "wall s");
    for concurrency in [5usize, 20, 100] {
        let mut slots = vec![m.schedule_s; concurrency];
        for d in &m.durations {
            let first = slots
                .iter_mut()
                .min_by(|a, b| a.total_cmp(b))
                .expect("a slot");
            *first += d;
        }
        let wall = slots.iter().copied().fold(0.0, f64::max);
        println!("{concurrency:>11} {wall:>12.1}");
    }
}

struct Measured {
    messages: usize,
    sends: usize,
    schedule_s: f64,
    durations: Vec<f64>,
    own_ms_per_account: f64,
    with_findings: usize,
    wrus: f64,
}

async fn measure(accounts: &MemoryAccounts, ids: &[String], config: &Config) -> Measured {
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
    // The in-memory queue and organisation answer at once; AWS would not.
    let modelled =
        (ids.len().div_ceil(20) as u64 * IAM_PAGE_MS + sends as u64 * SQS_MS) as f64 / 1000.0;
    let schedule_s = start.elapsed().as_secs_f64() + modelled;
    // One batch at a time, as one container sees it.
    let mut durations = Vec::new();
    let mut own = Duration::ZERO;
    loop {
        let batch = queue.receive(10);
        if batch.is_empty() {
            break;
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
        // The batch's accounts are read side by side (one page each here):
        // the rest is roleguard's own work.
        own += took.saturating_sub(Duration::from_millis(IAM_PAGE_MS));
        queue.settle(&batch, &[]);
        durations.push(took.as_secs_f64());
    }
    let (_, stored) = roleguard::ports::Store::latest_scan(&store)
        .await
        .expect("the store")
        .expect("a scan");
    assert_eq!(stored.len(), messages, "every account scanned");
    let with_findings = stored
        .iter()
        .filter(|r| {
            r["findings_by_severity"]
                .as_object()
                .is_some_and(|m| !m.is_empty())
        })
        .count();
    // Stored gzip'd; counted here as a quarter of the JSON, 1 KB a unit.
    let wrus: f64 = stored
        .iter()
        .map(|r| {
            (serde_json::to_vec(r).map(|v| v.len()).unwrap_or(0) as f64 / 4.0 / 1024.0)
                .ceil()
                .max(1.0)
        })
        .sum::<f64>()
        + 2.0;
    Measured {
        messages,
        sends,
        schedule_s,
        own_ms_per_account: own.as_secs_f64() * 1000.0 / messages as f64,
        durations,
        with_findings,
        wrus,
    }
}
