//! `cargo bench --bench load`: 10,000 CloudTrail events through the real
//! handler on the in-memory adapters, a third of them non-compliant, with
//! IAM's request-rate behaviour simulated: IAM answers each call after a
//! latency, refuses calls above a rate ("Throttling: Rate exceeded"), and
//! each refused call is retried as the SDK's retry policy does (6 attempts,
//! exponential backoff with jitter from 200 ms, at most 10 s between). An
//! invocation that still fails is delivered again, as EventBridge does, and
//! 2% of the events are delivered twice (at-least-once delivery).
//!
//! It checks what must hold (every non-compliant change reverted, none
//! twice, every audit record completed) and reports time, throughput,
//! throttling and peak memory. A benchmark, not a test: the figures are
//! printed, never asserted.
//!
//! Options: `--events N` (10000), `--concurrency C` (10: the template's
//! reserved concurrency), `--rate R` (IAM calls per second, 100), `--burst B`
//! (R), `--latency-ms L` (IAM's answer time, 10).

// Tests and benchmarks report a failure by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable
)]

use futures_util::StreamExt;
use roleguard::adapters::memory::{throttling, MemoryIam, MemoryStore};
use roleguard::audit::RecordStatus;
use roleguard::config::Config;
use roleguard::engine::{Engine, Mode};
use roleguard::lambda::{handle_payload, Reply};
use roleguard::notify::Alert;
use roleguard::ports::{
    Accounts, Channels, Delivery, Entity, EntityPolicies, Iam, IamError, PolicyVersion, RoleState,
    SystemClock, UserState,
};
use roleguard::snapshot::AccountSnapshot;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "111122223333";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess";

struct Options {
    events: usize,
    concurrency: usize,
    rate: f64,
    burst: f64,
    latency: Duration,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let rate = get("--rate").unwrap_or(100.0);
    Options {
        events: get("--events").unwrap_or(10_000.0) as usize,
        concurrency: get("--concurrency").unwrap_or(10.0) as usize,
        rate,
        burst: get("--burst").unwrap_or(rate),
        latency: Duration::from_secs_f64(get("--latency-ms").unwrap_or(10.0) / 1000.0),
    }
}

/// IAM's rate: a token bucket in real time. A call without a token is
/// refused as throttled.
struct Bucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    fn take(&self) -> bool {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        let tokens = (s.0 + now.duration_since(s.1).as_secs_f64() * self.rate).min(self.burst);
        *s = (tokens, now);
        if tokens >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The in-memory IAM behind IAM's latency and rate, with the SDK's retry.
struct Limited {
    inner: Arc<MemoryIam>,
    bucket: Bucket,
    latency: Duration,
    throttled: AtomicUsize,
    seed: AtomicUsize,
}

impl Limited {
    /// One call as the SDK makes it: up to 6 attempts, each refused attempt
    /// followed by a backoff of 200 ms x 2^n with full jitter, at most 10 s.
    async fn call<T, F: AsyncFn() -> Result<T, IamError>>(&self, f: F) -> Result<T, IamError> {
        for attempt in 0..6u32 {
            tokio::time::sleep(self.latency).await;
            if self.bucket.take() {
                return f().await;
            }
            self.throttled.fetch_add(1, Ordering::Relaxed);
            let cap = (0.2 * 2f64.powi(attempt as i32)).min(10.0);
            let x = self.seed.fetch_add(0x9E37_79B9, Ordering::Relaxed) as u64;
            let jitter = (x.wrapping_mul(6364136223846793005) >> 11) as f64 / (1u64 << 53) as f64;
            tokio::time::sleep(Duration::from_secs_f64(cap * jitter)).await;
        }
        Err(throttling())
    }
}

impl Iam for Limited {
    async fn get_role(&self, role: &str) -> Result<Option<RoleState>, IamError> {
        self.call(async || self.inner.get_role(role).await).await
    }
    async fn attached_role_policies(&self, role: &str) -> Result<Vec<String>, IamError> {
        self.call(async || self.inner.attached_role_policies(role).await)
            .await
    }
    async fn get_role_policy(&self, role: &str, name: &str) -> Result<Option<Value>, IamError> {
        self.call(async || self.inner.get_role_policy(role, name).await)
            .await
    }
    async fn role_policy_names(&self, role: &str) -> Result<Vec<String>, IamError> {
        self.call(async || self.inner.role_policy_names(role).await)
            .await
    }
    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), IamError> {
        self.call(async || self.inner.detach_role_policy(role, arn).await)
            .await
    }
    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), IamError> {
        self.call(async || self.inner.delete_role_policy(role, name).await)
            .await
    }
    async fn put_role_policy(&self, role: &str, name: &str, doc: &str) -> Result<(), IamError> {
        self.call(async || self.inner.put_role_policy(role, name, doc).await)
            .await
    }
    async fn update_assume_role_policy(&self, role: &str, doc: &str) -> Result<(), IamError> {
        self.call(async || self.inner.update_assume_role_policy(role, doc).await)
            .await
    }
    async fn update_max_session_duration(&self, role: &str, s: u32) -> Result<(), IamError> {
        self.call(async || self.inner.update_max_session_duration(role, s).await)
            .await
    }
    async fn put_role_permissions_boundary(&self, role: &str, arn: &str) -> Result<(), IamError> {
        self.call(async || self.inner.put_role_permissions_boundary(role, arn).await)
            .await
    }
    async fn tag_role(&self, role: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        self.call(async || self.inner.tag_role(role, tags).await)
            .await
    }
    async fn policy_versions(&self, arn: &str) -> Result<Option<Vec<PolicyVersion>>, IamError> {
        self.call(async || self.inner.policy_versions(arn).await)
            .await
    }
    async fn policy_document(
        &self,
        arn: &str,
        v: Option<&str>,
    ) -> Result<Option<String>, IamError> {
        self.call(async || self.inner.policy_document(arn, v).await)
            .await
    }
    async fn policy_holders(&self, arn: &str) -> Result<Vec<String>, IamError> {
        self.call(async || self.inner.policy_holders(arn).await)
            .await
    }
    async fn get_user(&self, user: &str) -> Result<Option<UserState>, IamError> {
        self.call(async || self.inner.get_user(user).await).await
    }
    async fn entity_policies(
        &self,
        entity: Entity,
        name: &str,
    ) -> Result<Option<EntityPolicies>, IamError> {
        self.call(async || self.inner.entity_policies(entity, name).await)
            .await
    }
    async fn detach_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        self.call(async || self.inner.detach_entity_policy(entity, name, arn).await)
            .await
    }
    async fn delete_entity_policy(
        &self,
        entity: Entity,
        name: &str,
        policy: &str,
    ) -> Result<(), IamError> {
        self.call(async || self.inner.delete_entity_policy(entity, name, policy).await)
            .await
    }
    async fn attach_policy(&self, entity: Entity, name: &str, arn: &str) -> Result<(), IamError> {
        self.call(async || self.inner.attach_policy(entity, name, arn).await)
            .await
    }
    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.call(async || self.inner.remove_user_from_group(user, group).await)
            .await
    }
    async fn put_user_permissions_boundary(&self, user: &str, arn: &str) -> Result<(), IamError> {
        self.call(async || self.inner.put_user_permissions_boundary(user, arn).await)
            .await
    }
    async fn tag_user(&self, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        self.call(async || self.inner.tag_user(user, tags).await)
            .await
    }
    async fn set_default_policy_version(&self, arn: &str, v: &str) -> Result<(), IamError> {
        self.call(async || self.inner.set_default_policy_version(arn, v).await)
            .await
    }
    async fn delete_policy_version(&self, arn: &str, v: &str) -> Result<(), IamError> {
        self.call(async || self.inner.delete_policy_version(arn, v).await)
            .await
    }
    async fn account_snapshot(&self) -> Result<AccountSnapshot, IamError> {
        self.call(async || self.inner.account_snapshot().await)
            .await
    }
}

/// The function's own account, reached through the limited IAM.
struct One(Arc<Limited>);

impl Accounts for One {
    type Iam = Arc<Limited>;
    type Trail = roleguard::ports::NoTrail;
    async fn iam(&self, _: Option<&str>) -> Result<Arc<Limited>, IamError> {
        Ok(self.0.clone())
    }
    async fn trail(&self, _: Option<&str>) -> Result<Self::Trail, IamError> {
        Ok(roleguard::ports::NoTrail)
    }
    async fn own_account(&self) -> Result<String, IamError> {
        Ok(ACCOUNT.into())
    }
}

/// Channels that count the alerts (keeping them would measure the bench).
#[derive(Default)]
struct Counted(AtomicUsize);

impl Channels for Counted {
    fn any(&self) -> bool {
        true
    }
    async fn deliver(&self, _: &Alert, _: &str) -> Vec<Delivery> {
        self.0.fetch_add(1, Ordering::Relaxed);
        vec![Delivery {
            channel: "counted",
            result: Ok(()),
        }]
    }
}

fn payload(template: &Value, i: usize) -> Value {
    let mut p = template.clone();
    let policy = if i % 3 == 0 { ADMIN } else { READ_ONLY };
    p["id"] = json!(format!("ev-{i}"));
    p["detail"]["eventID"] = json!(format!("ct-{i}"));
    p["detail"]["requestParameters"] = json!({"roleName": format!("app-{i}"), "policyArn": policy});
    p
}

/// Peak resident memory of this process, from /proc (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    // `cargo bench` passes --bench; any other harness flag is ignored.
    let o = options();
    let memory = Arc::new(MemoryIam::new(ACCOUNT));
    for i in 0..o.events {
        let policy = if i % 3 == 0 { ADMIN } else { READ_ONLY };
        memory.put_lambda_role(&format!("app-{i}"), vec![policy.into()]);
    }
    let limited = Arc::new(Limited {
        inner: memory.clone(),
        bucket: Bucket {
            rate: o.rate,
            burst: o.burst,
            state: Mutex::new((o.burst, Instant::now())),
        },
        latency: o.latency,
        throttled: AtomicUsize::new(0),
        seed: AtomicUsize::new(1),
    });
    let accounts = One(limited.clone());
    let (store, channels) = (MemoryStore::new(), Counted::default());
    let config = Config::default();
    let engine = Engine::new(&config, &store, &channels, &SystemClock, Mode::Enforce);
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/events/attach-admin.noncompliant.json"
        ))
        .unwrap(),
    )
    .unwrap();
    // At-least-once: every 50th event is delivered twice.
    let mut queue: Vec<usize> = (0..o.events).collect();
    queue.extend((0..o.events).step_by(50));
    let deliveries = AtomicUsize::new(0);
    let redeliveries = AtomicUsize::new(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    rt.block_on(
        futures_util::stream::iter(queue.iter().copied())
            .map(|i| {
                let (engine, accounts, template) = (&engine, &accounts, &template);
                let (deliveries, redeliveries) = (&deliveries, &redeliveries);
                async move {
                    // EventBridge's retries: again after a failure, with backoff.
                    for attempt in 0..20u32 {
                        deliveries.fetch_add(1, Ordering::Relaxed);
                        match handle_payload(engine, accounts, payload(template, i)).await {
                            Ok(Reply::Handled(o)) if o.ok => return,
                            Ok(other) => panic!("ev-{i}: {other:?}"),
                            Err(_) => {
                                redeliveries.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(100 << attempt.min(6)))
                                    .await;
                            }
                        }
                    }
                    panic!("ev-{i} never succeeded");
                }
            })
            .buffer_unordered(o.concurrency)
            .collect::<Vec<()>>(),
    );
    let wall = started.elapsed();
    // What must hold.
    let bad = (0..o.events).filter(|i| i % 3 == 0).count();
    for i in 0..o.events {
        let role = memory.role(&format!("app-{i}")).unwrap();
        let want: &[&str] = if i % 3 == 0 { &[] } else { &[READ_ONLY] };
        assert_eq!(role.attached, want, "app-{i}");
        assert_eq!(
            store.record(&format!("ev-{i}")).map(|r| r.status),
            Some(RecordStatus::Completed),
            "ev-{i}"
        );
    }
    let detached = memory
        .answered()
        .iter()
        .filter(|c| **c == "DetachRolePolicy")
        .count();
    assert_eq!(
        detached, bad,
        "each non-compliant change reverted exactly once"
    );
    let calls = memory.answered().len();
    let summary = json!({
        "events": o.events,
        "non_compliant": bad,
        "deliveries": deliveries.load(Ordering::Relaxed),
        "failed_invocations_redelivered": redeliveries.load(Ordering::Relaxed),
        "duplicate_deliveries": queue.len() - o.events,
        "reverted": detached,
        "alerts": channels.0.load(Ordering::Relaxed),
        "iam_calls_answered": calls,
        "iam_calls_throttled": limited.throttled.load(Ordering::Relaxed),
        "concurrency": o.concurrency,
        "iam_rate_per_s": o.rate,
        "iam_latency_ms": o.latency.as_secs_f64() * 1000.0,
        "wall_s": (wall.as_secs_f64() * 100.0).round() / 100.0,
        "events_per_s": (o.events as f64 / wall.as_secs_f64()).round(),
        "peak_rss_mib": peak_rss_kib().map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0),
    });
    println!("{}", serde_json::to_string_pretty(&summary).unwrap());
}
