//! `cargo bench --bench lambda`: the Lambda handler per event, without AWS
//! latency. Compliant events make no AWS call at all (the client points at a
//! closed port, so a call would fail the benchmark). The non-compliant event's
//! IAM calls are answered in-process by aws-smithy-mocks, so what is measured
//! is roleguard plus the SDK's own request and response handling.
//!
//! Start-up, RSS and whole-process figures: `benches/lambda_startup.py`.

// Tests and benchmarks report a failure by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable
)]

use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput;
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::tag_role::TagRoleOutput;
use aws_sdk_iam::types::{AttachedPolicy, Role};
use aws_sdk_iam::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use criterion::{criterion_group, criterion_main, Criterion};
use roleguard::adapters::iam::AwsIam;
use roleguard::config::Config;
use roleguard::engine::{Engine, Mode};
use roleguard::lambda::{handle_payload, Reply};
use serde_json::Value;

fn payload(name: &str) -> Value {
    let path = format!("{}/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unreachable_iam() -> AwsIam {
    use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(Credentials::new("x", "x", None, None, "bench"))
        .build();
    AwsIam::new(Client::from_conf(conf))
}

/// IAM answered in-process: the role has AdministratorAccess attached.
fn mocked_iam() -> AwsIam {
    let listed = mock!(Client::list_attached_role_policies).then_output(|| {
        ListAttachedRolePoliciesOutput::builder()
            .attached_policies(
                AttachedPolicy::builder()
                    .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
                    .build(),
            )
            .build()
    });
    let detach =
        mock!(Client::detach_role_policy).then_output(|| DetachRolePolicyOutput::builder().build());
    let get_role = mock!(Client::get_role).then_output(|| {
        GetRoleOutput::builder()
            .role(
                Role::builder()
                    .path("/")
                    .role_name("app-lambda")
                    .role_id("AROAEXAMPLE")
                    .arn("arn:aws:iam::111122223333:role/app-lambda")
                    .create_date(aws_sdk_iam::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let tag = mock!(Client::tag_role).then_output(|| TagRoleOutput::builder().build());
    AwsIam::new(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&listed, &detach, &get_role, &tag]
    ))
}

fn handler(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config::default();
    let mut g = c.benchmark_group("handler");
    let engine = Engine::stateless(&config, Mode::Enforce);
    let iam = unreachable_iam();
    for name in [
        "create-role-lambda.compliant",
        "attach-dynamodb-readonly.compliant",
        "update-trust-github-pinned.compliant",
    ] {
        let p = payload(name);
        g.bench_function(name, |b| {
            b.iter(|| {
                let reply = rt
                    .block_on(handle_payload(&engine, &iam, p.clone()))
                    .unwrap();
                assert!(matches!(reply, Reply::Handled(ref o) if o.results.is_empty()));
            })
        });
    }
    let iam = mocked_iam();
    let p = payload("attach-admin.noncompliant");
    g.bench_function("attach-admin.noncompliant (IAM mocked in-process)", |b| {
        b.iter(|| {
            let reply = rt
                .block_on(handle_payload(&engine, &iam, p.clone()))
                .unwrap();
            assert!(matches!(reply, Reply::Handled(ref o) if o.ok && o.results.len() == 3));
        })
    });
    g.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
