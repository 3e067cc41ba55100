//! The roleguard Lambda function: CloudTrail events for IAM from EventBridge
//! in; tag, notify or revert out.
//!
//! Environment: `ROLEGUARD_MODE` (`enforce` or `dry-run`, the default),
//! `ROLEGUARD_CONFIG` (a configuration file; the embedded default otherwise),
//! `AWS_LAMBDA_LOG_FORMAT=JSON` for JSON logs, `RUST_LOG` for the level.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use roleguard::aws::AwsIam;
use roleguard::lambda::{config_from_env, handle_payload, Mode};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json")) {
        subscriber.json().init();
    } else {
        subscriber.with_ansi(false).init();
    }
    // Bad settings stop the function at start-up, naming the problem.
    let config = config_from_env(std::env::var("ROLEGUARD_CONFIG").ok().as_deref())?;
    let mode = Mode::from_env_value(std::env::var("ROLEGUARD_MODE").ok().as_deref())?;
    let iam = AwsIam::from_env().await;
    tracing::info!(mode = ?mode, "roleguard ready");
    let (config, iam) = (&config, &iam);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_payload(iam, event.payload, config, mode)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "invocation failed");
                Error::from(e.to_string())
            })
    }))
    .await
}
